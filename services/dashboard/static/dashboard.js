// Trifecta dashboard: load /api/snapshot, then apply versioned incremental messages from /ws.
"use strict";
const MAX_ROWS = 50;
let lastSeq = 0;
const positions = new Map();
const policies = new Map();
const health = new Map();

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}
function row(values, cls) {
  const tr = document.createElement("tr");
  values.forEach((v, i) => tr.appendChild(cell(v, cls && cls[i])));
  return tr;
}
function prepend(tableId, tr) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.insertBefore(tr, body.firstChild);
  while (body.children.length > MAX_ROWS) body.removeChild(body.lastChild);
}
function fillKeyed(tableId, map, toRow) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren(...[...map.values()].map(toRow));
}

const opportunityRow = (o) => {
  const tr = row([o.engine, o.strategy, o.instrument, o.net_edge_bps, o.notional, o.age_ms,
                  o.opportunity_id]);
  tr.dataset.id = o.opportunity_id;
  return tr;
};
const decisionRow = (d) => row([d.engine, d.approved ? "APPROVED" : "DENIED", d.reason,
                                d.detail]);
const fillRow = (f) => row([f.instrument_id, f.side, f.price, f.quantity, f.fee, f.status]);
const positionRow = (p) => row([p.position_key, p.quantity, p.avg_price, p.realized_pnl,
                                p.unrealized_pnl]);
const policyRow = (p) => row([p.key, p.version, p.enabled, p.size_multiplier, p.reason]);
const healthRow = (h) => row([h.service, h.status, h.lag, h.reason], [null, h.status]);
const dlqRow = (d) => row([d.stream, d.group, d.reason]);

function setMode(mode) {
  const el = document.getElementById("mode");
  el.textContent = mode; el.className = mode;
}
function setKill(state) {
  const el = document.getElementById("kill-state");
  el.textContent = state; el.className = state;
}
function setCounts(approved, counts) {
  const parts = Object.entries(counts || {}).map(([k, v]) => `${k} ${v}`);
  document.getElementById("decision-counts").textContent =
    `(approved ${approved}; denied: ${parts.join(", ") || "none"})`;
}

const handlers = {
  opportunity: (d) => prepend("opportunities", opportunityRow(d)),
  decision: (d) => { prepend("decisions", decisionRow(d)); setCounts(d.approved_total,
                                                                     d.denial_counts); },
  fill: (d) => prepend("fills", fillRow(d)),
  position: (d) => { if (d.open) positions.set(d.position_key, d);
                     else positions.delete(d.position_key);
                     fillKeyed("positions", positions, positionRow); },
  policy: (d) => { policies.set(d.key, d); fillKeyed("policies", policies, policyRow); },
  health: (d) => { health.set(d.service, d); fillKeyed("health", health, healthRow); },
  dlq: (d) => prepend("dlq", dlqRow(d)),
  kill_switch: (d) => setKill(d.state),
  hello: (d) => setMode(d.mode),
};

function applySnapshot(s) {
  lastSeq = s.seq;
  setMode(s.mode); setKill(s.kill_switch); setCounts(s.approved_total, s.denial_counts);
  const opps = Object.values(s.opportunities).flat().sort((a, b) => b.ts_event - a.ts_event);
  document.querySelector("#opportunities tbody").replaceChildren(...opps.map(opportunityRow));
  document.querySelector("#decisions tbody").replaceChildren(...s.decisions.map(decisionRow));
  document.querySelector("#fills tbody").replaceChildren(...s.fills.map(fillRow));
  document.querySelector("#dlq tbody").replaceChildren(...s.dlq.map(dlqRow));
  positions.clear(); s.positions.forEach((p) => positions.set(p.position_key, p));
  policies.clear(); s.policies.forEach((p) => policies.set(p.key, p));
  health.clear(); s.health.forEach((h) => health.set(h.service, h));
  fillKeyed("positions", positions, positionRow);
  fillKeyed("policies", policies, policyRow);
  fillKeyed("health", health, healthRow);
}

function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/ws`);
  const conn = document.getElementById("conn");
  let pending = [];  // messages that arrive before the snapshot is in
  const apply = (msg) => {
    if (msg.type !== "hello" && msg.seq <= lastSeq) return;  // already in the snapshot
    if (msg.type !== "hello") lastSeq = msg.seq;
    const handle = handlers[msg.type];
    if (handle) handle(msg.data);
  };
  ws.onopen = async () => {
    conn.textContent = "live";
    applySnapshot(await (await fetch("/api/snapshot")).json());
    pending.forEach(apply);
    pending = null;
    document.body.dataset.ready = "1";
  };
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.v !== 1) { conn.textContent = `unsupported message version ${msg.v}`; return; }
    if (pending) pending.push(msg); else apply(msg);
  };
  ws.onclose = () => { conn.textContent = "disconnected; retrying…";
                       document.body.dataset.ready = "";
                       setTimeout(connect, 1000); };
}

async function setKillSwitch(state) {
  const out = document.getElementById("control-result");
  const token = document.getElementById("token").value;
  const resp = await fetch("/api/kill", {
    method: "POST",
    headers: {"Content-Type": "application/json", "Authorization": `Bearer ${token}`},
    body: JSON.stringify({state}),
  });
  const doc = await resp.json();
  out.textContent = resp.ok ? `sent ${doc.state} (${doc.event_id})` : `refused: ${doc.error}`;
  out.dataset.status = String(resp.status);
}

document.querySelectorAll(".controls button").forEach((b) =>
  b.addEventListener("click", () => setKillSwitch(b.dataset.state)));
connect();
