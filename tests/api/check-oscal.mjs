// An OSCAL document checked against a published OSCAL JSON schema.
//
//   node check-oscal.mjs SCHEMA.json DOCUMENT.json
//
// Exit 0 when DOCUMENT validates, 1 with the validator's errors when it
// does not, 2 on a usage or read error. ajv (pinned in package-lock.json)
// compiles the schema as draft-07 with formats (ajv-formats) and Unicode
// regular expressions: the OSCAL token pattern uses \p{L} and \p{N}, which
// only a validator with the "u" flag reads as letter and number classes.
import { readFileSync } from "node:fs";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const [schemaPath, docPath] = process.argv.slice(2);
if (!schemaPath || !docPath) {
  console.error("usage: check-oscal.mjs SCHEMA.json DOCUMENT.json");
  process.exit(2);
}
let schema, doc;
try {
  schema = JSON.parse(readFileSync(schemaPath, "utf8"));
  doc = JSON.parse(readFileSync(docPath, "utf8"));
} catch (e) {
  console.error(`check-oscal: ${e.message}`);
  process.exit(2);
}
const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: true });
addFormats(ajv);
const validate = ajv.compile(schema);
if (!validate(doc)) {
  for (const e of validate.errors.slice(0, 20))
    console.error(`${docPath}${e.instancePath}: ${e.message} (${e.schemaPath})`);
  process.exit(1);
}
console.log(`${docPath}: valid against ${schema.$id}`);
