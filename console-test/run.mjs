// The mock console in a real browser: starts `payment mock --provider all`, creates charges with
// the CLI, and drives every provider's console in headless Chromium (Debian's /usr/bin/chromium).
// Usage: node console-test/run.mjs [PAYMENT_BIN] — screenshots go to target/console-test/.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const bin = resolve(process.argv[2] || join(repo, "target/debug/payment"));
const shots = join(repo, "target/console-test");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const work = mkdtempSync(join(tmpdir(), "payment-console-"));
const keys = join(work, "keys");
mkdirSync(shots, { recursive: true });

// The page shows what clients sent; a value that ran as markup would set one of these.
const HOSTILE_REFERENCE = "<script>window.__pwned = 'reference'</script>";
const HOSTILE_NOTE = "<img src=x onerror=\"window.__pwned = 'metadata'\">";

function fail(message) {
  throw new Error(message);
}

/** An app's webhook endpoint: answers 200 to every POST and keeps what came. */
function startReceiver() {
  const received = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      received.push({ path: request.url, body });
      response.writeHead(200).end();
    });
  });
  return new Promise((done) => server.listen(0, "127.0.0.1", () => done({ server, received, port: server.address().port })));
}

/** Starts the mocks; resolves to the process and its `NAME URL` lines once `console URL` is printed. */
function startMocks(webhookPort) {
  const webhooks = `http://127.0.0.1:${webhookPort}/webhooks`;
  const child = spawn(bin, ["--provider", "all", "mock", "--addr", "127.0.0.1:0", "--keys-dir", keys, "--webhook-url", webhooks], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((done, failed) => {
    const urls = {};
    const timer = setTimeout(() => failed(new Error("payment mock printed no `console URL` in 30 s")), 30_000);
    child.on("exit", (code) => failed(new Error(`payment mock exited with ${code} before listening`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const [name, url] = line.trim().split(" ");
      urls[name] = url;
      if (name === "console") {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        done({ child, urls });
      }
    });
  });
}

/** Each provider's client settings, from the environment as an app would set them. */
function envFor(provider) {
  const gsp = "PAYMENT_GOOGLE_STANDARD_PAYMENTS_";
  const settings = {
    payjp: { PAYMENT_PAYJP_SECRET_KEY: "sk_test_console", PAYMENT_PAYJP_PUBLIC_KEY: "pk_test_console" },
    "payjp-v2": { PAYMENT_PAYJP_V2_SECRET_KEY: "sk_test_console" },
    pingpp: {
      PAYMENT_PINGPP_SECRET_KEY: "sk_test_console",
      PAYMENT_PINGPP_APP_ID: "app_MockMockMock0001",
      PAYMENT_PINGPP_PRIVATE_KEY_PATH: join(keys, "pingpp_merchant_private.pem"),
    },
    justap: {
      PAYMENT_JUSTAP_API_KEY: "sk_test_console",
      PAYMENT_JUSTAP_APP_ID: "app_console",
      PAYMENT_JUSTAP_PRIVATE_KEY_PATH: join(keys, "justap_merchant_private.pem"),
    },
    worldpay: { PAYMENT_WORLDPAY_USERNAME: "console", PAYMENT_WORLDPAY_PASSWORD: "secret", PAYMENT_WORLDPAY_ENTITY: "default" },
    "google-standard-payments": {
      [gsp + "PAYMENT_INTEGRATOR_ACCOUNT_ID"]: "MockProcessor_Account",
      [gsp + "PRIVATE_KEY_PATH"]: join(keys, "google-standard-payments_merchant_private.pem"),
      [gsp + "INTEGRATOR_PUBLIC_KEY_PATH"]: join(keys, "google-standard-payments_platform_public.pem"),
    },
  }[provider];
  const env = { ...process.env, ...settings };
  delete env.PAYMENT_PROVIDER;
  return env;
}

/** Runs `payment --provider P --base-url URL --json ARGS…` and parses its one JSON record. */
function cli(urls, provider, args) {
  try {
    const out = execFileSync(bin, ["--provider", provider, "--base-url", urls[provider], "--json", ...args], {
      env: envFor(provider),
      encoding: "utf8",
    });
    return JSON.parse(out);
  } catch (e) {
    fail(`payment ${provider} ${args.join(" ")} failed: ${e.stderr || e.message}`);
  }
}

const CARD = "4242424242424242,12/2030,123";

/** What each console must list: the CLI's arguments and the amount the page must show. */
const CHARGES = [
  {
    provider: "payjp",
    args: ["--amount", "1000", "--currency", "JPY", "--card", CARD, "--reference", HOSTILE_REFERENCE,
      "--metadata", `note=${HOSTILE_NOTE}`],
    shown: "1000", currency: "JPY",
  },
  {
    provider: "payjp-v2",
    args: ["--amount", "1500", "--currency", "JPY", "--channel", "paypay", "--payer-ip", "127.0.0.1", "--reference", "console0005"],
    shown: "1500", currency: "JPY",
  },
  {
    provider: "pingpp",
    args: ["--amount", "1234", "--currency", "CNY", "--channel", "alipay", "--payer-ip", "127.0.0.1", "--reference", "console0001"],
    shown: "12.34", currency: "CNY",
  },
  {
    provider: "justap",
    args: ["--amount", "1999", "--currency", "CNY", "--channel", "AlipayQR", "--payer-ip", "127.0.0.1", "--reference", "console0002"],
    shown: "19.99", currency: "CNY",
  },
  {
    provider: "worldpay",
    args: ["--amount", "12345", "--currency", "KWD", "--card", CARD, "--reference", "console-0003"],
    shown: "12.345", currency: "KWD",
  },
  {
    provider: "google-standard-payments",
    args: ["--amount", "72800", "--currency", "INR", "--source", "ZXhhbXBsZQ"],
    shown: "728.00", currency: "INR",
  },
];

/** Waits until `predicate(arg)` holds in the page (the console redraws once a second). */
async function until(page, what, predicate, arg, timeout = 15_000) {
  try {
    await page.waitForFunction(predicate, arg, { timeout, polling: 200 });
  } catch (e) {
    fail(`${what}: not seen within ${timeout} ms`);
  }
}

/** The text of every cell of the charges table, row by row. */
const chargeRows = (page) =>
  page.$$eval("#charges tbody tr[data-id]", (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));

async function checkListing(page, urls, charge) {
  await page.goto(`${urls[charge.provider]}/__mock__/console`);
  await until(page, `${charge.provider}: the provider's name`, (name) => document.getElementById("provider").textContent === name, charge.provider);
  await until(page, `${charge.provider}: the charge of ${charge.shown} ${charge.currency}`, ([shown, currency]) =>
    [...document.querySelectorAll("#charges tbody tr[data-id]")].some((r) => r.cells[2].textContent === shown && r.cells[3].textContent === currency),
    [charge.shown, charge.currency]);
  const rows = await chargeRows(page);
  if (rows.length !== 1) fail(`${charge.provider}: expected one charge, the console lists ${rows.length}`);
  await until(page, `${charge.provider}: the CLI's request in the log`, () =>
    [...document.querySelectorAll("#requests tbody tr[data-seq]")].some((r) => r.cells[2].textContent === "POST"));
}

async function checkEscaping(page) {
  const [row] = await chargeRows(page);
  if (row[4] !== HOSTILE_REFERENCE) fail(`the reference shows as ${JSON.stringify(row[4])}, not as the text sent`);
  await page.click("#charges tbody tr[data-id] button.json");
  // JSON.stringify escapes the quotes: look for the markup up to the first one.
  const note = HOSTILE_NOTE.slice(0, HOSTILE_NOTE.indexOf('"'));
  await until(page, "the charge's JSON", (text) => [...document.querySelectorAll("#charges pre")].some((p) => p.textContent.includes(text)), note);
  const planted = await page.evaluate(() => ({
    pwned: window.__pwned,
    scripts: document.querySelectorAll("main script, main img").length,
  }));
  if (planted.pwned !== undefined || planted.scripts !== 0) fail(`client text ran as markup: ${JSON.stringify(planted)}`);
}

async function payerPays(page, urls) {
  const [row] = await chargeRows(page);
  if (row[1] !== "pending") fail(`the Ping++ charge is ${row[1]} before the payer pays`);
  await page.click("#charges tbody tr[data-id] button.pay");
  await until(page, "the Ping++ charge turning succeeded", () => document.querySelector("#charges tbody tr[data-id]").cells[1].textContent === "succeeded");
  const id = await page.getAttribute("#charges tbody tr[data-id]", "data-id");
  const read = cli(urls, "pingpp", ["charge", "get", id]);
  if (read.status !== "succeeded") fail(`the client reads the paid charge as ${read.status}`);
  if ((await page.$$("#charges button.pay")).length !== 0) fail("a paid charge still offers 'Payer pays'");
  await until(page, "the charge.succeeded webhook delivered to the app", () =>
    [...document.querySelectorAll("#webhooks tbody tr")].some((r) =>
      r.cells[1].textContent.endsWith("/webhooks/pingpp") && r.cells[2].textContent === "charge.succeeded" &&
      r.cells[3].textContent === "1" && r.cells[4].textContent === "200" && r.cells[5].textContent === "delivered"));
  await page.screenshot({ path: join(shots, "pingpp-paid.png"), fullPage: true });
}

/** PAY.JP v2's PayPay: the flow waits for its payer; "Payer pays" is PayPay confirming the payment. */
async function paypayPays(page, urls) {
  const [row] = await chargeRows(page);
  if (row[1] !== "requires_action") fail(`the PayPay flow is ${row[1]} before the payer pays`);
  await page.click("#charges tbody tr[data-id] button.pay");
  await until(page, "the PayPay flow turning succeeded", () => document.querySelector("#charges tbody tr[data-id]").cells[1].textContent === "succeeded");
  const id = await page.getAttribute("#charges tbody tr[data-id]", "data-id");
  const read = cli(urls, "payjp-v2", ["charge", "get", id]);
  if (read.status !== "succeeded") fail(`the client reads the paid PayPay flow as ${read.status}`);
  await page.screenshot({ path: join(shots, "payjp-v2-paypay-paid.png"), fullPage: true });
}

async function faultFromTheForm(page, urls) {
  await page.selectOption("#fault-kind", "status");
  await page.fill("#fault-status", "503");
  await page.fill("#fault-methods", "POST");
  await page.fill("#fault-path", "/v1/charges");
  await page.fill("#fault-times", "2");
  await page.click("#fault-add");
  await until(page, "the 503 rule in force", () => document.getElementById("fault-plan").textContent.includes("503"));
  const before = await page.$$eval("#requests tbody tr[data-seq]", (rows) => Math.max(0, ...rows.map((r) => Number(r.dataset.seq))));
  const charge = cli(urls, "payjp", ["charge", "create", "--amount", "500", "--currency", "JPY", "--card", CARD, "--reference", "after-503"]);
  if (charge.status !== "succeeded") fail(`the charge after two 503s is ${charge.status}`);
  await until(page, "the two 503s and the retry that succeeded in the request log", (after) => {
    const rows = [...document.querySelectorAll("#requests tbody tr[data-seq]")]
      .filter((r) => Number(r.dataset.seq) > after && r.cells[3].textContent === "/v1/charges")
      .map((r) => [r.cells[4].textContent, r.cells[5].textContent])
      .reverse();
    return rows.length === 3 && rows[0][0] === "503" && rows[0][1] === "status 503" && rows[1][0] === "503" && rows[2][0] === "200" && rows[2][1] === "";
  }, before);
  await until(page, "the spent rule gone from the plan in force", () => document.getElementById("fault-plan").textContent === "none");
  // A request row opens on its idempotency key, the request (secrets redacted) and the answer.
  const retried = "#requests tbody tr[data-seq]";
  await page.click(`${retried} >> nth=0`);
  await until(page, "the request's detail with its key and answer", () => {
    const d = document.querySelector("#requests tbody tr.detail");
    return d && d.querySelector(".idempotency-key") && d.textContent.includes("answer") && d.textContent.includes('"paid"');
  });
  const detail = await page.$eval("#requests tbody tr.detail", (d) => d.textContent);
  if (detail.includes("sk_test_console") || detail.includes("4242424242424242")) fail(`a secret in the request detail: ${detail}`);
  await page.screenshot({ path: join(shots, "payjp-retries.png"), fullPage: true });
}

/** 3-D Secure as a customer meets it: the next action's URL in the browser, Authenticate, back on
 * the shop's page, then completed with the CLI; and the console's own three buttons. */
async function threeDSecure(page, urls, receiverPort) {
  const back = `http://127.0.0.1:${receiverPort}/checkout/done`;
  const create = () => cli(urls, "payjp", ["charge", "create", "--amount", "1500", "--currency", "JPY", "--card", CARD,
    "--three-d-secure", "--return-url", back, "--customer-email", "buyer@example.com"]);
  const created = create();
  const action = created.next_action || {};
  if (created.status !== "requires_action" || action.kind !== "redirect" || action.method !== "GET" || !action.url) {
    fail(`the 3-D Secure charge came back ${JSON.stringify(created)}`);
  }
  await page.goto(action.url);
  await page.screenshot({ path: join(shots, "payjp-3ds-page.png"), fullPage: true });
  await page.click("#authenticate");
  try {
    await page.waitForURL((u) => u.toString() === back, { timeout: 15_000 });
  } catch (e) {
    fail(`Authenticate did not land on the return URL ${back}: the browser is at ${page.url()}`);
  }
  const done = cli(urls, "payjp", ["charge", "complete", created.id]);
  if (done.status !== "succeeded") fail(`the completed charge is ${done.status}`);

  const second = create();
  await page.goto(`${urls.payjp}/__mock__/console`);
  const row = `#charges tbody tr[data-id="${second.id}"]`;
  await until(page, "the awaiting charge's three buttons", (r) =>
    ["pay", "fail", "abandon"].every((c) => document.querySelector(`${r} button.${c}`)), row);
  await page.click(`${row} button.fail`);
  await until(page, "the charge's authentication failed after 'Fail'", (r) =>
    document.querySelector(r)?.cells[1].textContent === "authentication_failed", row);
  if ((await page.$$(`${row} button.fail`)).length !== 0) fail("a failed charge still offers the authentication buttons");
  await page.screenshot({ path: join(shots, "payjp-3ds-console.png"), fullPage: true });
}

/** Worldpay's two steps as a shop's page meets them: the device-data form posted into a hidden
 * frame, whose page posts the session id back; the CLI completes with it; then the challenge
 * form posted at the top, Authenticate, back on the shop's page, and the CLI completes. */
async function worldpayThreeDSecure(page, urls, receiverPort) {
  const back = `http://127.0.0.1:${receiverPort}/checkout/worldpay`;
  const created = cli(urls, "worldpay", ["charge", "create", "--amount", "1000", "--currency", "GBP", "--card",
    "4444333322221111,05/2030,123,Bob", "--three-d-secure", "--return-url", back]);
  const collect = created.next_action || {};
  if (created.status !== "requires_action" || collect.kind !== "device_data" || collect.method !== "POST") {
    fail(`the Worldpay 3-D Secure charge came back ${JSON.stringify(created)}`);
  }
  const form = (action, target, fields) =>
    `<form id=step method=post action="${action}" target="${target}">` +
    Object.entries(fields).map(([k, v]) => `<input type=hidden name="${k}" value="${v}">`).join("") + "</form>";
  // The shop's own page, on the loopback like the mock (Chromium blocks a public page's
  // requests to a local address); a document written over the console would keep its CSP.
  const shop = `http://127.0.0.1:${receiverPort}/shop`;
  await page.goto(shop);
  await page.setContent(
    `<!doctype html><script>window.addEventListener("message", (e) => { window.__ddc = e.data; });</script>` +
      `<iframe name=ddc style="display:none"></iframe>` + form(collect.url, "ddc", collect.fields));
  await page.evaluate(() => document.getElementById("step").submit());
  await page.waitForFunction(() => window.__ddc, null, { timeout: 15_000 });
  const message = JSON.parse(await page.evaluate(() => window.__ddc));
  if (message.MessageType !== "profile.completed" || !message.SessionId) fail(`the collection page said ${JSON.stringify(message)}`);
  const challenged = cli(urls, "worldpay", ["charge", "complete", created.id, "--data",
    JSON.stringify({ collectionReference: message.SessionId })]);
  const challenge = challenged.next_action || {};
  if (challenge.kind !== "challenge" || !challenge.url) fail(`after device data the charge is ${JSON.stringify(challenged)}`);
  await page.goto(shop);
  await page.setContent(`<!doctype html>${form(challenge.url, "_self", challenge.fields)}`);
  await Promise.all([page.waitForNavigation(), page.evaluate(() => document.getElementById("step").submit())]);
  await page.screenshot({ path: join(shots, "worldpay-3ds-challenge.png"), fullPage: true });
  await page.click("#success");
  try {
    await page.waitForURL((u) => u.toString() === back, { timeout: 15_000 });
  } catch (e) {
    fail(`Authenticate did not land on the return URL ${back}: the browser is at ${page.url()}`);
  }
  const done = cli(urls, "worldpay", ["charge", "complete", created.id]);
  if (done.status !== "succeeded") fail(`the completed Worldpay charge is ${done.status}`);
}

async function clockAndReset(page, urls) {
  await page.goto(`${urls.justap}/__mock__/console`);
  await until(page, "Justap's pending charge", () => document.querySelector("#charges tbody tr[data-id]")?.cells[1].textContent === "pending");
  await page.fill("#advance-seconds", "7300");
  await page.click("#advance");
  await until(page, "Justap's charge closed after its two-hour ttl", () => document.querySelector("#charges tbody tr[data-id]")?.cells[1].textContent === "closed");
  if ((await page.$$("#charges button.pay")).length !== 0) fail("a closed charge still offers 'Payer pays'");
  await page.fill("#fault-json", "{not json");
  await page.click("#fault-install-json");
  await until(page, "a plan that is not JSON refused with a message", () =>
    document.getElementById("message").className === "error" && document.getElementById("message").textContent.includes("not JSON"));
  await page.fill("#fault-json", '{"seed": 7, "rules": [{"kind": "delay", "ms": 1, "methods": ["GET"]}]}');
  await page.click("#fault-install-json");
  await until(page, "the JSON plan in force", () => document.getElementById("fault-plan").textContent.includes('"delay"'));
  await page.click("#reset");
  await until(page, "an empty console after the reset", () =>
    document.querySelectorAll("#charges tbody tr").length === 0 && !document.getElementById("charges-empty").hidden &&
    document.querySelectorAll("#requests tbody tr").length === 0 && document.getElementById("offset").textContent === "" &&
    document.getElementById("fault-plan").textContent === "none");
}

async function main() {
  const receiver = await startReceiver();
  const { child, urls } = await startMocks(receiver.port);
  let context;
  let page;
  try {
    for (const charge of CHARGES) charge.id = cli(urls, charge.provider, ["charge", "create", ...charge.args]).id;
    context = await chromium.launchPersistentContext(mkdtempSync(join(work, "profile-")), {
      executablePath: chromiumPath,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"],
    });
    page = context.pages()[0] || (await context.newPage());
    const problems = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));

    await page.goto(urls.console);
    const links = await page.$$eval("#mocks a", (as) => as.map((a) => [a.textContent, a.href]));
    for (const { provider } of CHARGES) {
      if (!links.some(([name, href]) => name === provider && href === `${urls[provider]}/__mock__/console`)) {
        fail(`the index does not link ${provider}'s console: ${JSON.stringify(links)}`);
      }
    }
    const counts = await page.$$eval("#mocks li", (items) => items.map((li) => li.textContent));
    for (const { provider } of CHARGES) {
      if (!counts.some((text) => text.startsWith(provider + " ") && text.includes("1 charges"))) {
        fail(`the index does not count ${provider}'s one charge: ${JSON.stringify(counts)}`);
      }
    }
    await page.screenshot({ path: join(shots, "index.png") });
    for (const charge of CHARGES) {
      await checkListing(page, urls, charge);
      console.log(`ok   ${charge.provider}: lists ${charge.shown} ${charge.currency}`);
      if (charge.provider === "payjp") {
        await checkEscaping(page);
        console.log("ok   payjp: a reference and metadata holding markup render as text");
        await faultFromTheForm(page, urls);
        console.log("ok   payjp: a 503 rule from the form, then the CLI's two retries in the request log");
      }
      if (charge.provider === "worldpay") {
        const shown = await page.$eval("#charges tbody tr[data-id] td.id .client-id", (d) => d.textContent);
        if (shown !== charge.id) fail(`the console shows ${shown} beside Worldpay's own id, not the CLI's ${charge.id}`);
        console.log("ok   worldpay: the id the CLI printed shows beside Worldpay's own");
      }
      if (charge.provider === "payjp-v2") {
        await paypayPays(page, urls);
        console.log("ok   payjp-v2: a PayPay flow waits for its payer; 'Payer pays' turns it succeeded, as the client reads it");
      }
      if (charge.provider === "pingpp") {
        await payerPays(page, urls);
        console.log("ok   pingpp: 'Payer pays' turns the charge succeeded; its webhook shows as delivered");
      }
    }
    await threeDSecure(page, urls, receiver.port);
    console.log("ok   payjp: 3-D Secure in the browser (Authenticate, back on the shop's page), completed by the CLI; Fail from the console");
    await worldpayThreeDSecure(page, urls, receiver.port);
    console.log("ok   worldpay: 3-D Secure device data in a hidden frame, then the challenge in the browser, each completed by the CLI");
    await clockAndReset(page, urls);
    console.log("ok   justap: the clock closes an unpaid charge; a JSON plan goes in (bad JSON is refused); a reset empties the console");
    if (problems.length) fail(problems.join("\n"));
    console.log(`console test passed; screenshots in ${shots}`);
  } catch (e) {
    if (page) await page.screenshot({ path: join(shots, "failure.png"), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    if (context) await context.close();
    child.kill();
    receiver.server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`console test FAILED: ${e.message}`);
  process.exit(1);
});
