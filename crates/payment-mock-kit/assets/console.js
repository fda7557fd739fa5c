// The mock console: polls the control API once a second and draws what it answers. Every value
// shown comes from clients (ids, metadata, paths), so it is only ever set as text, never as markup.
"use strict";

const API = "/__mock__";
const KEEP_REQUESTS = 300;
const state = { lastSeq: 0, requests: [], open: new Set(), busy: false, listing: null };

const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function say(text, ok) {
  const m = $("message");
  m.textContent = text;
  m.className = ok ? "ok" : "error";
}

async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  const text = await response.text();
  let value = null;
  if (text) {
    try { value = JSON.parse(text); } catch (_) { value = text; }
  }
  if (!response.ok) {
    const message = value && value.error && value.error.message ? value.error.message : text || response.statusText;
    throw new Error(method + " " + path + ": " + response.status + " " + message);
  }
  return value;
}

function isoTime(unix) {
  if (typeof unix !== "number") return "";
  return new Date(unix * 1000).toISOString().replace(".000Z", "Z");
}

function statusCell(text) {
  const td = el("td", text);
  td.className = "status-" + String(text).replace(/[^A-Za-z_]/g, "");
  return td;
}

function objectRows(tbody, objects, kind) {
  tbody.replaceChildren();
  for (const o of objects) {
    const key = kind + ":" + o.id;
    const row = el("tr");
    row.dataset.id = o.id;
    const idCell = el("td", o.id, "id");
    idCell.title = o.client_id ? o.id + "\nclient id: " + o.client_id : o.id;
    if (o.client_id) idCell.append(el("div", o.client_id, "client-id"));
    row.append(idCell, statusCell(o.status), el("td", o.amount_display, "num amount"), el("td", o.currency));
    row.append(el("td", kind === "charge" ? o.reference || "" : o.charge || ""), el("td", isoTime(o.created)));
    const actions = el("td");
    if (kind === "charge" && o.completable) {
      const pay = el("button", "Payer pays", "pay");
      pay.type = "button";
      pay.addEventListener("click", () => payerPays(o.id));
      actions.append(pay);
    }
    if (kind === "charge" && o.authenticable) {
      for (const [label, result, cls] of [["Authenticate", "success", "pay"], ["Fail", "failure", "fail"], ["Abandon", "abandon", "abandon"]]) {
        const b = el("button", label, cls);
        b.type = "button";
        b.addEventListener("click", () => customerAuthenticates(o.id, result));
        actions.append(b);
      }
    }
    const json = el("button", state.open.has(key) ? "Hide" : "JSON", "json");
    json.type = "button";
    json.addEventListener("click", () => {
      if (state.open.has(key)) state.open.delete(key); else state.open.add(key);
      drawObjects(state.listing);
    });
    actions.append(json);
    row.append(actions);
    tbody.append(row);
    if (state.open.has(key)) {
      const detail = el("tr", null, "detail");
      const cell = el("td");
      cell.colSpan = 7;
      cell.append(el("pre", JSON.stringify(o.raw, null, 2)));
      detail.append(cell);
      tbody.append(detail);
    }
  }
}

function drawObjects(listing) {
  state.listing = listing;
  $("provider").textContent = listing.provider;
  document.title = listing.provider + " · payment mock console";
  objectRows($("charges").tBodies[0], listing.charges, "charge");
  objectRows($("refunds").tBodies[0], listing.refunds, "refund");
  $("charges-empty").hidden = listing.charges.length > 0;
  $("refunds-empty").hidden = listing.refunds.length > 0;
}

function drawState(s) {
  $("clock").textContent = isoTime(s.now);
  $("offset").textContent = s.offset_seconds ? "(+" + s.offset_seconds + " s)" : "";
  $("stats").textContent =
    s.stats.charges + " charges · " + s.stats.refunds + " refunds · " + s.stats.captures + " captures · " +
    s.requests_seen + " requests (" + s.requests_faulted + " faulted)";
  $("charges-count").textContent = "(" + s.stats.charges + " in all, newest first)";
  $("fault-plan").textContent = s.faults.rules.length ? JSON.stringify(s.faults, null, 2) : "none";
  // A reset (or the log's own limit) dropped requests we still show: forget them too.
  const oldest = s.oldest_logged;
  state.requests = state.requests.filter((r) => oldest !== null && r.seq >= oldest);
}

function drawRequests(fresh) {
  for (const r of fresh) {
    state.requests.push(r);
    state.lastSeq = Math.max(state.lastSeq, r.seq);
  }
  if (state.requests.length > KEEP_REQUESTS) state.requests.splice(0, state.requests.length - KEEP_REQUESTS);
  const tbody = $("requests").tBodies[0];
  tbody.replaceChildren();
  for (const r of state.requests.slice().reverse()) {
    const key = "request:" + r.seq;
    const row = el("tr");
    row.dataset.seq = r.seq;
    const status = r.status === null ? "no answer" : r.status;
    row.append(el("td", r.seq), el("td", isoTime(r.at)), el("td", r.method), el("td", r.path));
    row.append(el("td", status, r.status === null || r.status >= 400 ? "http-error" : ""));
    row.append(el("td", r.fault || "", "fault"), el("td", r.latency_ms, "num"));
    row.addEventListener("click", () => {
      if (state.open.has(key)) state.open.delete(key); else state.open.add(key);
      drawRequests([]);
    });
    tbody.append(row);
    if (state.open.has(key)) {
      const detail = el("tr", null, "detail");
      const cell = el("td");
      cell.colSpan = 7;
      const headers = Object.entries(r.headers).map(([k, v]) => k + ": " + v).join("\n");
      const key = r.headers["idempotency-key"];
      if (key) cell.append(el("p", "idempotency key " + key, "idempotency-key"));
      cell.append(el("h3", "request"), el("pre", headers + (r.body ? "\n\n" + r.body : "")));
      if (r.answer) cell.append(el("h3", "answer" + (r.status === null ? " (dropped before it reached the client)" : "")), el("pre", r.answer));
      detail.append(cell);
      tbody.append(detail);
    }
  }
  $("requests-empty").hidden = state.requests.length > 0;
  $("requests-count").textContent = state.requests.length ? "(newest first, last " + state.requests.length + ")" : "";
}

function drawWebhooks(deliveries) {
  const tbody = $("webhooks").tBodies[0];
  tbody.replaceChildren();
  for (const d of deliveries.slice().reverse()) {
    const row = el("tr");
    row.append(el("td", d.id), el("td", d.target), el("td", d.event_type), el("td", d.attempts, "num"));
    row.append(el("td", d.last_status === null ? "–" : d.last_status), statusCell(d.state));
    tbody.append(row);
  }
  $("webhooks-empty").hidden = deliveries.length > 0;
}

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  try {
    const [s, listing, fresh, hooks] = await Promise.all([
      call("GET", "/state"),
      call("GET", "/objects?limit=200"),
      call("GET", "/requests?since=" + state.lastSeq + "&limit=" + KEEP_REQUESTS),
      call("GET", "/webhooks"),
    ]);
    drawState(s);
    drawObjects(listing);
    drawRequests(fresh);
    drawWebhooks(hooks);
  } catch (e) {
    say("refresh failed: " + e.message);
  } finally {
    state.busy = false;
  }
}

async function act(what, work) {
  try {
    await work();
    say(what, true);
  } catch (e) {
    say(e.message);
  }
  await refresh();
}

function payerPays(id) {
  act("the payer paid " + id, () => call("POST", "/charges/" + encodeURIComponent(id) + "/complete"));
}

function customerAuthenticates(id, result) {
  act("the customer chose " + result + " on " + id, () =>
    call("POST", "/charges/" + encodeURIComponent(id) + "/authenticate", { result }));
}

function number(id) {
  const text = $(id).value.trim();
  if (text === "") return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new Error(id + " is not a number");
  return n;
}

function ruleFromForm() {
  const kind = $("fault-kind").value;
  const rule = { kind };
  if (kind === "status" || kind === "status_after_commit") rule.status = number("fault-status");
  if (kind === "status" && number("fault-retry-after") !== undefined) rule.retry_after = number("fault-retry-after");
  if (kind === "delay") rule.ms = number("fault-ms");
  const methods = $("fault-methods").value.split(",").map((m) => m.trim().toUpperCase()).filter(Boolean);
  if (methods.length) rule.methods = methods;
  const path = $("fault-path").value.trim();
  if (path) rule.path = path;
  if (number("fault-times") !== undefined) rule.times = number("fault-times");
  if (number("fault-probability") !== undefined) rule.probability = number("fault-probability");
  return rule;
}

function wire() {
  $("fault-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act("fault rule added", async () => {
      const rule = ruleFromForm();
      const plan = await call("GET", "/faults");
      plan.rules.push(rule);
      await call("POST", "/faults", plan);
    });
  });
  $("fault-clear").addEventListener("click", () => act("faults cleared", () => call("DELETE", "/faults")));
  $("fault-install-json").addEventListener("click", () =>
    act("fault plan installed", async () => {
      let plan;
      try { plan = JSON.parse($("fault-json").value); } catch (e) { throw new Error("the plan is not JSON: " + e.message); }
      await call("POST", "/faults", plan);
    }));
  $("advance").addEventListener("click", () =>
    act("clock advanced", () => call("POST", "/clock/advance", { seconds: number("advance-seconds") || 0 })));
  $("reset").addEventListener("click", () =>
    act("mock reset", async () => {
      await call("POST", "/reset");
      state.requests = [];
      state.open.clear();
    }));
  setInterval(() => { if ($("live").checked) refresh(); }, 1000);
  refresh();
}

document.addEventListener("DOMContentLoaded", wire);
