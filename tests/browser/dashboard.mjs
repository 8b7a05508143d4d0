// The dashboard in a real browser: Debian's chromium, headless, driven by
// playwright-core, against a devattest-server over TLS on loopback whose
// store holds reports it verified (tests/integration/test_dashboard_browser.c
// seeds them and runs this script).
//
// Environment (set by the C driver):
//   DA_BASE          https://127.0.0.1:PORT
//   DA_TOKEN         an auditor token (the page); DA_ADMIN_TOKEN an admin token
//                    (the test's own API call; NODE_EXTRA_CA_CERTS trusts the CA)
//   DA_SERVER_CERT   the server's TLS certificate (PEM); only its key is trusted
//   DA_POLICY        the policy file the server was given (for expected texts)
//   DA_ARTIFACTS     directory for screenshots
//   DA_OK_ID, DA_BAD_ID, DA_STALE_ID   agent ids; DA_BAD_REPORTS: reports of DA_BAD_ID
//   DA_BOOT_ID       a machine (vendor measured) with one boot change: its
//                    second report (DA_BOOT_REPORT) added a boot application
//                    to the state of its first (DA_BOOT_REF_REPORT);
//                    DA_BOOT_OLD, DA_BOOT_NEW: the boot applications of the
//                    two event logs as tpm2_eventlog reads them (JSON arrays)
//   DA_CSV_PARSER    a program printing a CSV file's rows as JSON (Python's csv
//                    module: a parser independent of the server)
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const base = env("DA_BASE");
const token = env("DA_TOKEN");
const artifacts = env("DA_ARTIFACTS");
const policy = JSON.parse(readFileSync(env("DA_POLICY"), "utf8"));
const ids = { ok: env("DA_OK_ID"), bad: env("DA_BAD_ID"), stale: env("DA_STALE_ID"), boot: env("DA_BOOT_ID") };
const badReports = Number(env("DA_BAD_REPORTS"));
mkdirSync(artifacts, { recursive: true });

// Trust exactly the server's key: Chromium's SPKI pin list, no blanket
// certificate-error bypass.
const cert = new X509Certificate(readFileSync(env("DA_SERVER_CERT")));
const spki = cert.publicKey.export({ type: "spki", format: "der" });
const pin = createHash("sha256").update(spki).digest("base64");

const failures = [];
const check = (cond, what) => {
  if (!cond) failures.push(what);
  console.log(`${cond ? "ok  " : "FAIL"} ${what}`);
};
const remediation = (id) => policy.checks.find((c) => c.id === id).remediation;

const browser = await chromium.launch({
  executablePath: process.env.DA_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  timeout: 60000,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--no-pings",
    `--ignore-certificate-errors-spki-list=${pin}`,
  ],
});

async function newPage(viewport) {
  const context = await browser.newContext({ viewport, serviceWorkers: "block" });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.consoleErrors = [];
  page.on("console", (m) => {
    if (m.type() === "error") page.consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => page.consoleErrors.push(String(e)));
  // nothing but our own origin is ever asked for
  page.foreign = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(base + "/")) page.foreign.push(r.url());
  });
  return { context, page };
}

// every form control has an accessible name (a label, aria-label or text)
const unlabelled = (page) => page.$$eval("input, select, button, textarea", (els) =>
  els.filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") &&
    !e.textContent.trim()).map((e) => e.outerHTML.slice(0, 80)));

// Click the page's CSV link, keep the download, read it with the independent
// parser: [header, ...rows] as objects keyed by the header.
async function downloadCsv(page, name) {
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("#csv-link")]);
  const file = join(artifacts, name);
  await dl.saveAs(file);
  check(dl.suggestedFilename() === "devattest-machines.csv", `the download is named devattest-machines.csv (${dl.suggestedFilename()})`);
  const rows = JSON.parse(execFileSync(env("DA_CSV_PARSER"), [file], { encoding: "utf8" }));
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head.map((k, i) => [k, r[i]])));
}

// The agent document as the API gives it to the page's token.
async function agentDoc(id) {
  const r = await fetch(`${base}/v1/agents/${id}`, { headers: { Authorization: "Bearer " + token } });
  return r.json();
}

const shot = (page, name) => page.screenshot({ path: join(artifacts, name), fullPage: true });

async function focused(page) {
  return page.evaluate(() => {
    const a = document.activeElement;
    if (!a || a === document.body) return "";
    return a.id ? "#" + a.id : `${a.tagName.toLowerCase()}:${(a.textContent || "").trim().slice(0, 40)}`;
  });
}

// Press Tab until want(focused) holds; the path taken is returned.
async function tabTo(page, want, max = 60) {
  const seen = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    seen.push(f);
    if (want(f)) return { found: true, seen };
  }
  return { found: false, seen };
}

try {
  const { context, page } = await newPage({ width: 1280, height: 800 });

  // --- the page and its headers ---
  const resp = await page.goto(base + "/");
  const hdr = resp.headers();
  check(resp.status() === 200, "GET / answers 200");
  check(/script-src 'self'/.test(hdr["content-security-policy"] || "") &&
        !/unsafe-inline/.test(hdr["content-security-policy"]), "strict CSP on the page");
  check(hdr["x-frame-options"] === "DENY" && hdr["x-content-type-options"] === "nosniff" &&
        hdr["referrer-policy"] === "no-referrer", "security headers on the page");

  // --- log in with the keyboard: the token field has focus ---
  await page.waitForSelector("#login-form");
  check((await focused(page)) === "#token", "the token field has focus at login");
  check(await page.evaluate(() => document.querySelector("label[for=token]") !== null),
    "the token field is labelled");
  await page.keyboard.type("not-a-token");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.getElementById("login-error").textContent.length > 0);
  check(/not accepted/.test(await page.textContent("#login-error")), "a wrong token is refused");
  check(await page.evaluate(() => sessionStorage.getItem("devattest.token") === null),
    "a refused token is not kept");
  // the browser logs the refused call (401) as a failed load; that one was wanted
  check(page.consoleErrors.length === 1 && /401/.test(page.consoleErrors[0]),
    `the refused login logged only its 401 (${page.consoleErrors.join(" | ")})`);
  page.consoleErrors.length = 0;
  await page.fill("#token", token);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#vendors");
  check(await page.evaluate((t) => sessionStorage.getItem("devattest.token") === t, token),
    "the token is kept in sessionStorage");
  check(await page.evaluate(() => localStorage.length === 0 && document.cookie === ""),
    "nothing in localStorage or cookies");

  // --- fleet: acme has one compliant and one stale machine, globex one failing ---
  const row = async (vendor) => page.$$eval("#vendors tbody tr", (rows, v) => {
    const r = rows.find((x) => x.cells[0].textContent.trim() === v);
    return r ? Array.from(r.cells).map((c) => c.textContent.trim()) : null;
  }, vendor);
  const acme = await row("acme");
  const globex = await row("globex");
  // columns: vendor, machines, compliant, non-compliant, stale, revoked
  check(acme && acme[1] === "2" && acme[2] === "1" && acme[3] === "0" && acme[4] === "1",
    `fleet: acme 2 machines, 1 compliant, 1 stale (${acme})`);
  check(globex && globex[1] === "1" && globex[3] === "1", `fleet: globex 1 non-compliant (${globex})`);
  const c831 = await page.$$eval("#controls tbody tr", (rows) =>
    rows.filter((r) => r.cells[0].textContent.includes("8.31")).map((r) => Array.from(r.cells).map((c) => c.textContent.trim()))[0]);
  check(c831 && c831[1] === "3" && c831[2] === "1", `control 8.31: 3 pass, 1 fail (${c831})`);
  const changes = await page.textContent("#changes");
  check(changes.includes("compliant → non_compliant") && changes.includes("disk.encrypted: pass → fail"),
    "the last 24 h show the compliance flip and the failing check");
  check((await unlabelled(page)).length === 0, `fleet: every control labelled (${await unlabelled(page)})`);
  await shot(page, "fleet-1280x800.png");

  // --- the CSV link: its rows are the fleet the page shows ---
  const fleetCsv = await downloadCsv(page, "fleet.csv");
  check(fleetCsv.length === 4 + 12 && [ids.ok, ids.bad, ids.stale, ids.boot].every((id) => fleetCsv.some((r) => r.agent_id === id)) &&
        fleetCsv.filter((r) => r.vendor === "paged").length === 12,
    `fleet CSV: one row per machine (${fleetCsv.map((r) => r.agent_id)})`);
  for (const vendor of ["acme", "globex", "measured", "paged"]) {
    const seen = await row(vendor);
    const rows = fleetCsv.filter((r) => r.vendor === vendor);
    const n = (s) => String(rows.filter((r) => r.status === s).length);
    check(seen && String(rows.length) === seen[1] && n("compliant") === seen[2] && n("non_compliant") === seen[3] &&
          n("stale") === seen[4] && n("revoked") === seen[5],
      `fleet CSV: ${vendor}'s rows by status match the page (${seen} / ${rows.map((r) => r.status)})`);
  }
  check(fleetCsv.every((r) => r.trust === "tpm" && "control_8.30" in r && "control_8.31" in r),
    "fleet CSV: trust and a column per control");

  // --- filters: status stale keeps only acme ---
  await page.selectOption("#f-status", "stale");
  await page.waitForFunction(() => document.querySelectorAll("#vendors tbody tr").length === 1);
  check((await row("acme")) !== null && (await row("globex")) === null, "status filter 'stale' keeps acme only");
  await page.selectOption("#f-status", "");
  await page.waitForFunction(() => document.querySelectorAll("#vendors tbody tr").length === 4);

  // --- control filter: only 8.31 and the checks mapped to it stay ---
  const checkRows = () => page.$$eval("#checks tbody tr", (rows) =>
    rows.map((r) => Array.from(r.cells).map((c) => c.textContent.trim())));
  const allChecks = await checkRows();
  const has831 = (r) => r[1].split(", ").includes("8.31");
  const want831 = allChecks.filter(has831).map((r) => r[0]);
  await page.selectOption("#f-control", "8.31");
  await page.waitForFunction(() => location.hash.includes("control=8.31"));
  await page.waitForFunction((n) => document.querySelectorAll("#checks tbody tr").length === n, want831.length);
  const ctl = await page.$$eval("#controls tbody tr", (rows) => rows.map((r) => r.cells[0].textContent.trim()));
  check(ctl.length === 1 && ctl[0].startsWith("8.31"), `control filter '8.31': the control table holds 8.31 only (${ctl})`);
  const kept = await checkRows();
  check(want831.length > 0 && want831.length < allChecks.length && kept.every(has831) &&
        JSON.stringify(kept.map((r) => r[0])) === JSON.stringify(want831),
    `control filter '8.31': only the ${want831.length} of ${allChecks.length} checks mapped to 8.31 stay (${kept.map((r) => r[0])})`);
  await page.selectOption("#f-control", "");
  await page.waitForFunction((n) => document.querySelectorAll("#checks tbody tr").length === n, allChecks.length);

  // --- keyboard: from the top, Tab reaches the main controls, Enter follows links ---
  // start at the top of the page: the first stop is the skip link
  await page.evaluate(() => document.querySelector("a.skip").focus());
  check((await focused(page)) === "a:Skip to content", "the skip link comes first");
  const nav = await tabTo(page, (f) => f === "a:globex");
  for (const want of ["#nav-fleet", "#auto-refresh", "#logout", "#f-vendor", "#f-status", "#f-control", "#f-check"])
    check(nav.seen.includes(want), `Tab reaches ${want}`);
  check(nav.found, `Tab reaches the vendor link globex (${nav.seen.join(" ")})`);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#machines");
  check((await page.textContent("h2")) === "Vendor globex", "Enter on the vendor link opens the vendor");
  const mrow = await page.$$eval("#machines tbody tr", (rows) => rows.map((r) => Array.from(r.cells).map((c) => c.textContent.trim())));
  check(mrow.length === 1 && mrow[0][1] === "non compliant" && mrow[0][3] === "TPM quote" &&
        mrow[0][5].includes("disk.encrypted") && mrow[0][2] !== "never",
    `vendor view: one machine, non-compliant, TPM, last report, failing disk.encrypted (${mrow})`);
  await shot(page, "vendor-globex.png");
  const vendorCsv = await downloadCsv(page, "vendor-globex.csv");
  const seenRow = mrow[0] || [];
  const vr = vendorCsv[0] || {};
  check(vendorCsv.length === 1 && vr.agent_id === ids.bad && seenRow[0].includes(vr.hostname) &&
        vr.status.replace("_", " ") === seenRow[1] && seenRow[2].startsWith(vr.last_report_at.replace("T", " ")) &&
        vr.failing_checks === "disk.encrypted (fail)" && seenRow[5].includes(vr.failing_checks) &&
        vr["control_8.31"] === "fail" && vr["control_8.30"] === "pass",
    `vendor CSV: the row the page shows (${JSON.stringify(vr)} / ${seenRow})`);
  const toMachine = await tabTo(page, (f) => f.startsWith("a:build-bad"));
  check(toMachine.found, "Tab reaches the machine link");
  await page.keyboard.press("Enter");

  // --- machine: failing check, remediation, history, identity, diff ---
  await page.waitForSelector("#check-verdicts");
  check((await page.textContent("h2")) === "Machine build-bad", "Enter on the machine link opens the machine");
  const bad = await page.$eval('tr.check-row[data-check="disk.encrypted"]', (r) =>
    ({ verdict: r.dataset.verdict, text: r.textContent }));
  check(bad.verdict === "fail", "disk.encrypted is shown failing");
  check(bad.text.includes(remediation("disk.encrypted")), "its remediation from the policy is shown");
  check(bad.text.includes("false") && bad.text.includes("reported"), "its observed value and provenance are shown");
  const tpm = await page.$eval('tr.check-row[data-check="attestation.tpm"]', (r) => r.textContent);
  check(tpm.includes("measured") && tpm.includes("pass"), "attestation.tpm passes, measured");
  const ident = await page.textContent("#identity");
  check(ident.includes(ids.bad) && ident.includes("Enrolled") && ident.includes("AK name"), "identity is shown");
  const badDoc = await agentDoc(ids.bad);
  const issuerShown = await page.textContent("#ek-issuer");
  check(badDoc.ek_issuer === env("DA_BAD_EK_ISSUER") && issuerShown === badDoc.ek_issuer,
    `identity: the EK issuer as the API states it (${issuerShown})`);
  check(vr.ek_issuer === badDoc.ek_issuer, "the vendor CSV carries the same EK issuer");
  check(badDoc.ek_serial && (await page.textContent("#ek-serial")) === badDoc.ek_serial &&
        badDoc.ek_root && (await page.textContent("#ek-root")) === badDoc.ek_root,
    "identity: the EK certificate's serial and root as the API states them");
  const pts = await page.$$eval("#history-chart circle", (c) => c.map((x) => x.getAttribute("class")));
  check(pts.length === badReports, `history chart: one point per report (${pts.length}/${badReports})`);
  check(pts.filter((c) => c === "pt-bad").length === badReports - 1 && pts[0] === "pt-ok",
    "history chart: the first report compliant, the later ones not");
  check(await page.$eval("#history-chart", (s) => s.getAttribute("role") === "img" && s.querySelector("title") !== null),
    "the chart has a role and a title");
  // compare the oldest and the newest report, submitted from the keyboard
  const options = await page.$$eval("#diff-from option", (o) => o.map((x) => x.value));
  await page.selectOption("#diff-from", options[options.length - 1]);
  await page.selectOption("#diff-to", options[0]);
  const toDiff = await tabTo(page, (f) => f === "#diff-submit");
  check(toDiff.found, "Tab reaches the Compare button");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#diff-fields");
  const fields = await page.$$eval("#diff-fields tbody tr", (rows) => rows.map((r) => Array.from(r.cells).map((c) => c.textContent.trim())));
  const enc = fields.find((f) => f[0] === "/disk/volumes/0/encrypted");
  check(enc && enc[1] === "changed" && enc[2] === "true" && enc[3] === "false",
    `diff: /disk/volumes/0/encrypted true → false (${JSON.stringify(fields)})`);
  check(fields.some((f) => f[0] === "/disk/volumes/0/scheme" && f[2] === "luks2" && f[3] === "none"),
    "diff: /disk/volumes/0/scheme luks2 → none");
  const dchecks = await page.textContent("#diff-checks");
  check(dchecks.includes("disk.encrypted") && dchecks.includes("pass") && dchecks.includes("fail"),
    "diff: disk.encrypted pass → fail");
  check((await unlabelled(page)).length === 0, `machine: every control labelled (${await unlabelled(page)})`);
  await shot(page, "machine-build-bad.png");

  // --- verdict filter on the machine: only the failing check stays ---
  await page.selectOption("#f-verdict", "fail");
  await page.waitForFunction(() => document.querySelectorAll("#check-verdicts tr.check-row").length === 1);
  check(await page.$eval("#check-verdicts tr.check-row", (r) => r.dataset.check === "disk.encrypted"),
    "verdict filter 'fail' keeps disk.encrypted only");

  // --- check filter on a vendor: acme's machines all pass disk.encrypted ---
  await page.goto(base + "/#/vendor/acme?check=disk.encrypted");
  await page.waitForSelector("#machines");
  check(await page.$$eval("#machines tbody tr", (rows) => rows.length === 1 && rows[0].textContent.includes("No machine matches")),
    "check filter: no acme machine fails disk.encrypted");
  await page.goto(base + "/#/vendor/globex?check=disk.encrypted");
  await page.waitForFunction(() => document.querySelector("h2") && document.querySelector("h2").textContent === "Vendor globex");
  await page.waitForSelector("#machines");
  check(await page.$$eval("#machines tbody tr", (rows) => rows.length === 1 && rows[0].textContent.includes("build-bad")),
    "check filter: globex's build-bad fails disk.encrypted");

  // --- the stale machine through the vendor filter ---
  await page.goto(base + "/#/vendor/acme?status=stale");
  // the globex view is still up until the hash change has rendered
  await page.waitForFunction(() => document.querySelector("h2") && document.querySelector("h2").textContent === "Vendor acme");
  await page.waitForSelector("#machines");
  const stale = await page.$$eval("#machines tbody tr", (rows) => rows.map((r) => r.textContent));
  check(stale.length === 1 && stale[0].includes("build-stale") && stale[0].includes("stale"),
    "acme filtered by stale: build-stale only");
  const staleCsv = await downloadCsv(page, "vendor-acme-stale.csv");
  check(staleCsv.length === 1 && staleCsv[0].agent_id === ids.stale && staleCsv[0].status === "stale" &&
        staleCsv[0].ek_issuer === "", `the filtered CSV holds build-stale only (${JSON.stringify(staleCsv)})`);
  // --- pages of 10: vendor paged has 12 machines ---
  const hosts = () => page.$$eval("#machines tbody tr a.machine-link", (a) => a.map((x) => x.textContent.trim()));
  const pagerText = () => page.textContent("nav.pager span");
  await page.goto(base + "/#/vendor/paged");
  await page.waitForFunction(() => document.querySelector("h2") && document.querySelector("h2").textContent === "Vendor paged");
  await page.waitForFunction(() => document.querySelectorAll("#machines tbody tr").length === 10);
  const page1 = await hosts();
  check(page1.length === 10 && (await pagerText()) === "Page 1 of 2 (12)" && await page.isDisabled("#page-prev") &&
        !(await page.isDisabled("#page-next")), `pager: page 1 shows 10 of 12 machines (${await pagerText()})`);
  const toNext = await tabTo(page, (f) => f === "#page-next");
  check(toNext.found, "Tab reaches the Next button");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => location.hash.includes("page=2"));
  await page.waitForFunction(() => document.querySelectorAll("#machines tbody tr").length === 2);
  const page2 = await hosts();
  const all = [...page1, ...page2].sort();
  const want = Array.from({ length: 12 }, (_, i) => `paged-${String(i + 1).padStart(2, "0")}`);
  check(page2.length === 2 && (await pagerText()) === "Page 2 of 2 (12)" && await page.isDisabled("#page-next") &&
        JSON.stringify(all) === JSON.stringify(want),
    `pager: Enter on Next shows the other 2, every machine once (${page2})`);
  await page.click("#page-prev");
  await page.waitForFunction(() => document.querySelectorAll("#machines tbody tr").length === 10);
  check(JSON.stringify(await hosts()) === JSON.stringify(page1) && (await pagerText()) === "Page 1 of 2 (12)",
    "pager: a click on Previous shows page 1 again");
  await page.click("#page-next");
  await page.waitForFunction(() => document.querySelectorAll("#machines tbody tr").length === 2);
  check(JSON.stringify(await hosts()) === JSON.stringify(page2), "pager: a click on Next shows page 2");
  // --- search by host name: typing into the field keeps build-ok only ---
  await page.goto(base + "/#/vendor/acme");
  await page.waitForFunction(() => document.querySelectorAll("#machines tbody tr").length === 2);
  await page.fill("#f-q", "");
  await page.type("#f-q", "build-ok");
  await page.waitForFunction(() => location.hash.includes("q=build-ok"));
  await page.waitForFunction(() => document.querySelectorAll("#machines tbody tr").length === 1);
  const found = await page.$$eval("#machines tbody tr", (rows) => rows.map((r) => r.textContent));
  check(found.length === 1 && found[0].includes("build-ok") && !found[0].includes("build-stale"),
    `search 'build-ok' on acme keeps build-ok only (${found})`);
  await page.goto(base + "/#/machine/" + ids.stale);
  await page.waitForSelector("#ek-issuer");
  check(/^not recorded/.test(await page.textContent("#ek-issuer")), "a machine without a kept EK issuer says it is not recorded");
  await page.goto(base + "/#/machine/" + ids.ok);
  await page.waitForFunction(() => document.querySelector("h2") && document.querySelector("h2").textContent === "Machine build-ok");
  check((await agentDoc(ids.ok)).ek_trust === "admin_approval" &&
        /^none: the TPM has no EK certificate/.test(await page.textContent("#ek-issuer")),
    "a machine enrolled without an EK certificate says so");
  // --- boot changes on the machine page: what, old → new, the report ---
  const seedOld = JSON.parse(env("DA_BOOT_OLD"));
  const seedNew = JSON.parse(env("DA_BOOT_NEW"));
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  const bootDoc = await agentDoc(ids.boot);
  const apiChange = (bootDoc.boot_changes || [])[0] || {};
  const bootList = await (await fetch(`${base}/v1/agents/${ids.boot}/boot-changes`,
    { headers: { Authorization: "Bearer " + token } })).json();
  // the API against the seed (tpm2_eventlog's reading of the two logs)
  check((bootDoc.boot_changes || []).length === 1 && apiChange.what === "boot_applications" &&
        apiChange.report_id === env("DA_BOOT_REPORT") && bootDoc.boot_reference &&
        bootDoc.boot_reference.report_id === env("DA_BOOT_REF_REPORT"),
    `API: one boot change, boot_applications, in the second report (${JSON.stringify(bootDoc.boot_changes)})`);
  check(same(apiChange.old, seedOld) && same(apiChange.new, seedNew) && seedNew.length === seedOld.length + 1,
    `API: old and new are the boot applications tpm2_eventlog reads in the two logs (${seedOld.length} → ${seedNew.length})`);
  check(same(bootList.changes, bootDoc.boot_changes), "API: the boot-changes list holds the same change");
  await page.goto(base + "/#/machine/" + ids.boot);
  await page.waitForFunction(() => document.querySelector("h2") && document.querySelector("h2").textContent === "Machine build-boot");
  await page.waitForSelector("#boot-changes li.boot-change");
  const shownBoot = await page.$$eval("#boot-changes > li.boot-change", (lis) => lis.map((li) => {
    const codes = (sel) => Array.from(li.querySelectorAll(sel + " code"));
    const link = li.querySelector("a.boot-report");
    return {
      what: li.dataset.what,
      whatText: li.querySelector(".boot-what").textContent,
      labels: Array.from(li.querySelectorAll("dl.boot-values dt")).map((d) => d.textContent),
      old: codes(".boot-old").map((c) => c.dataset.value),
      new: codes(".boot-new").map((c) => c.dataset.value),
      newShown: codes(".boot-new").map((c) => ({ text: c.textContent, title: c.title })),
      newText: li.querySelector(".boot-new").innerText,
      report: link ? link.dataset.report : null,
      linkText: link ? link.textContent : "",
    };
  }));
  const sb = shownBoot[0] || {};
  check(shownBoot.length === 1 && sb.what === apiChange.what && sb.whatText === apiChange.what &&
        same(sb.labels, ["Before", "After"]),
    `machine page: one boot change, ${apiChange.what}, Before and After (${JSON.stringify(shownBoot)})`);
  check(same(sb.old, apiChange.old) && same(sb.old, seedOld), `machine page: the old value as the API gives it (${sb.old})`);
  check(same(sb.new, apiChange.new) && same(sb.new, seedNew), `machine page: the new value as the API gives it (${sb.new})`);
  check((sb.newShown || []).length === seedNew.length && sb.newShown.every((c, i) =>
    c.title === seedNew[i] && c.text === seedNew[i].slice(0, 8) + "…" + seedNew[i].slice(-8)) &&
    !seedNew.some((d) => sb.newText.includes(d)),
    "machine page: digests shortened on screen, each whole in its title");
  check(sb.report === env("DA_BOOT_REPORT") && sb.linkText.includes(env("DA_BOOT_REPORT").slice(0, 12)),
    `machine page: the change links its report (${sb.report})`);
  const toBootReport = await tabTo(page, (f) => f.startsWith("a:report "));
  check(toBootReport.found, `Tab reaches the boot change's report link (${toBootReport.seen.join(" ")})`);
  await page.keyboard.press("Enter");
  await page.waitForSelector("#diff-fields");
  check((await page.inputValue("#diff-to")) === env("DA_BOOT_REPORT") &&
        (await page.inputValue("#diff-from")) === env("DA_BOOT_REF_REPORT"),
    "the report link compares that report with the boot reference report");
  check(await page.$$eval("#diff-fields tbody tr", (rows) => rows.some((r) => r.cells[0].textContent.trim() === "/host/uptime_s")),
    "the comparison shows the field the two reports differ in");
  await shot(page, "machine-build-boot.png");

  // --- auto-refresh: a revocation made through the API shows up unasked ---
  await page.goto(base + "/#/fleet");
  await page.waitForFunction(() => document.querySelector("h2") && document.querySelector("h2").textContent === "Fleet");
  await page.waitForSelector("#vendors");
  check((await row("acme"))[5] === "0", "acme has no revoked machine yet");
  const revoke = await fetch(`${base}/v1/agents/${ids.ok}/revoke`, {
    method: "POST",
    headers: { Authorization: "Bearer " + env("DA_ADMIN_TOKEN"), "Content-Type": "application/json" },
    body: JSON.stringify({ reason: "dashboard auto-refresh test" }),
  });
  check(revoke.status === 200, `revoked through the API (${revoke.status})`);
  const t0 = Date.now();
  await page.waitForFunction(() => {
    const r = Array.from(document.querySelectorAll("#vendors tbody tr")).find((x) => x.cells[0].textContent.trim() === "acme");
    return r && r.cells[5].textContent.trim() === "1";
  }, null, { timeout: 45000 });
  check(Date.now() - t0 <= 45000, `auto-refresh showed the revocation after ${Math.round((Date.now() - t0) / 1000)} s`);
  check((await page.textContent("#changes")).includes("status: revoked"), "the revocation is among the changes");

  check(page.consoleErrors.length === 0, `no console errors or CSP violations (${page.consoleErrors.join(" | ")})`);
  check(page.foreign.length === 0, `no request outside the server (${page.foreign.join(" ")})`);
  await context.close();

  // --- a narrow screen: the same machine, no sideways scrolling ---
  const narrow = await newPage({ width: 375, height: 740 });
  await narrow.page.goto(base + "/");
  await narrow.page.fill("#token", token);
  await narrow.page.keyboard.press("Enter");
  await narrow.page.waitForSelector("#vendors");
  await narrow.page.goto(base + "/#/machine/" + ids.bad);
  await narrow.page.waitForSelector("#check-verdicts");
  const overflow = await narrow.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `narrow screen: no horizontal overflow (${overflow}px)`);
  check(await narrow.page.isVisible('tr.check-row[data-check="disk.encrypted"]'), "narrow screen: the failing check is visible");
  check(await narrow.page.isVisible("#history-chart"), "narrow screen: the chart is visible");
  await shot(narrow.page, "machine-375x740.png");
  await narrow.page.click("#logout");
  await narrow.page.waitForSelector("#login-form");
  check(await narrow.page.evaluate(() => sessionStorage.getItem("devattest.token") === null), "log out forgets the token");
  check(narrow.page.consoleErrors.length === 0, `narrow: no console errors (${narrow.page.consoleErrors.join(" | ")})`);
  await narrow.context.close();
} catch (e) {
  failures.push(`exception: ${e.stack || e}`);
  console.log(`FAIL exception: ${e.stack || e}`);
} finally {
  await browser.close();
}

if (failures.length > 0) {
  console.error(`${failures.length} failure(s)`);
  process.exit(1);
}
console.log(`dashboard: every check passed; screenshots in ${artifacts}`);
