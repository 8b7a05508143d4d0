// The API document and the server's answers, checked against each other.
//
//   node check-contract.mjs OPENAPI.yaml [CAPTURES.jsonl CODES.txt]
//
// 1. OPENAPI.yaml must be a valid OpenAPI 3.0 document
//    (@seriousme/openapi-schema-validator, the OpenAPI Initiative's schema).
// 2. Every operation has a security requirement (public ones `security: []`,
//    the others the document's default) and
//    every response that carries JSON has a schema.
// With captures (one JSON object per line: method, path, status,
// content_type, body, as the server answered over TLS):
// 3. each answer's status is documented for its operation (or is a 404/405
//    for a path or method the document does not have) and its body
//    validates against the documented schema (ajv, with formats);
// 4. every operation of the document was called and answered with 2xx;
// 5. the error code enum equals the codes the server can answer (CODES.txt,
//    printed from the server's error table).
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import YAML from "yaml";

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];
const failures = [];
const fail = (msg) => failures.push(msg);

const [docPath, capturePath, codesPath] = process.argv.slice(2);
if (!docPath) {
  console.error("usage: check-contract.mjs OPENAPI.yaml [CAPTURES.jsonl CODES.txt]");
  process.exit(2);
}
const doc = YAML.parse(readFileSync(docPath, "utf8"), { uniqueKeys: true });

const validator = new Validator();
const res = await validator.validate(doc);
if (!res.valid) {
  console.error(JSON.stringify(res.errors, null, 2));
  console.error(`${docPath}: not a valid OpenAPI document`);
  process.exit(1);
}
if (validator.version !== "3.0") fail(`OpenAPI version ${validator.version}, want 3.0`);
const api = validator.resolveRefs();

const operations = [];
for (const [path, item] of Object.entries(api.paths)) {
  for (const m of METHODS) {
    const op = item[m];
    if (!op) continue;
    operations.push({ path, method: m.toUpperCase(), op });
    if (!Array.isArray(op.security ?? api.security))
      fail(`${m.toUpperCase()} ${path}: no security stated`);
    for (const [status, r] of Object.entries(op.responses)) {
      for (const [ctype, media] of Object.entries(r.content ?? {})) {
        if (ctype.startsWith("application/json") && !media.schema)
          fail(`${m.toUpperCase()} ${path} ${status}: JSON answer without a schema`);
      }
    }
  }
}

if (capturePath) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const compiled = new Map();
  const check = (schema, value) => {
    let v = compiled.get(schema);
    if (!v) {
      v = ajv.compile(schema);
      compiled.set(schema, v);
    }
    return v(value) ? null : ajv.errorsText(v.errors);
  };
  const templates = operations.map((o) => ({
    ...o,
    re: new RegExp("^" + o.path.replace(/\{[^}]+\}/g, "[^/]+") + "$"),
  }));
  const called = new Set();
  const errorSchema = api.components.schemas.Error;
  const lines = readFileSync(capturePath, "utf8").split("\n").filter((l) => l.length > 0);
  let n = 0;

  for (const line of lines) {
    const c = JSON.parse(line);
    const path = c.path.split("?")[0];
    const where = `${c.method} ${c.path} -> ${c.status}`;
    const ctype = (c.content_type || "").split(";")[0].trim();
    const onPath = templates.filter((t) => t.re.test(path));
    const t = onPath.find((x) => x.method === c.method);
    n++;
    if (!t) {
      // a route the server does not have: 404, or 405 for another method
      const want = onPath.length > 0 ? 405 : 404;
      if (c.status !== want && c.status !== 400 && c.status !== 404)
        fail(`${where}: undocumented route answered ${c.status}, want ${want}`);
      else if (ctype === "application/json") {
        const e = check(errorSchema, JSON.parse(c.body));
        if (e) fail(`${where}: ${e}`);
      }
      continue;
    }
    const r = t.op.responses[String(c.status)];
    if (!r) {
      fail(`${where}: status not documented for ${t.method} ${t.path}`);
      continue;
    }
    if (c.status >= 200 && c.status < 300) called.add(`${t.method} ${t.path}`);
    if (!r.content) {
      if (c.body.length > 0) fail(`${where}: body where the document has none`);
      continue;
    }
    const media = r.content[ctype];
    if (!media) {
      fail(`${where}: content type '${ctype}' not documented`);
      continue;
    }
    if (ctype === "application/json") {
      let body;
      try {
        body = JSON.parse(c.body);
      } catch (e) {
        fail(`${where}: body is not JSON`);
        continue;
      }
      const e = check(media.schema, body);
      if (e) fail(`${where}: ${e}\n  body: ${c.body.slice(0, 400)}`);
    } else if (media.schema && media.schema.type === "string" && typeof c.body !== "string") {
      fail(`${where}: body is not text`);
    }
  }
  for (const o of operations) {
    if (!called.has(`${o.method} ${o.path}`)) fail(`${o.method} ${o.path}: never answered 2xx`);
  }
  if (codesPath) {
    const want = new Set(readFileSync(codesPath, "utf8").split("\n").filter((l) => l));
    const got = new Set(errorSchema.properties.error.properties.code.enum ?? []);
    for (const c of want) if (!got.has(c)) fail(`error code '${c}' missing from the Error enum`);
    for (const c of got) if (!want.has(c)) fail(`error code '${c}' in the Error enum is not the server's`);
  }
  console.log(`${n} answers checked against ${operations.length} operations`);
}

if (failures.length > 0) {
  for (const f of failures) console.error(f);
  console.error(`${failures.length} contract failure(s)`);
  process.exit(1);
}
console.log(`${docPath}: valid OpenAPI ${validator.version}, ${operations.length} operations`);
