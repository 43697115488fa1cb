"use strict";
// The live page of `leaderhook run`: every two seconds it reads GET
// /v1/state and what GET /v1/history added since, and redraws. When the
// daemon does not answer, or leaves a request unanswered (hung, or a
// network that drops packets), it says so and keeps trying; when a restarted
// daemon answers (its history has another boot), it loads its window
// again. It reads nothing but those two endpoints. A window longer than
// RAW_SPAN loads as an overview at the scale of the view (spans and marks,
// history/overview.go), and a mark's details are read when shown.
const POLL_MS = 2000;
const MAX_CARDS = 60;
const MAX_ROWS = 200;
const MAX_DETAILS = 10;
const RAW_SPAN = 12 * LH.HOUR;
// MAX_WINDOW is the longest window GET /v1/history answers (31 days): a
// view panned back further loads what it can, not a refusal that stops
// every update.
const MAX_WINDOW = 31 * LH.DAY;
// STALE_MS without an update, the page says that what it shows is old;
// a request unanswered for TIMEOUT_MS is given up and made again.
const STALE_MS = 10 * LH.SECOND;
const TIMEOUT_MS = 30 * LH.SECOND;
const SPANS = [["15m", 15 * LH.MINUTE], ["1h", LH.HOUR], ["6h", 6 * LH.HOUR], ["24h", LH.DAY], ["7d", 7 * LH.DAY]];

const live = {
  state: null, boot: "", lastSeq: 0, lastOk: 0, loadedFrom: Infinity, step: 0, skew: 0, polls: 0,
  states: [], splits: [], outcomes: [], spans: [], marks: [], deliveries: new Map(), unfinished: [], details: new Map(),
  follow: true, span: 6 * LH.HOUR, filter: "", lanesDirty: true, lanes: [],
};

let chart;

async function getJSON(url) {
  const r = await fetch(url, { cache: "no-store", signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!r.ok) {
    const why = await r.json().then((b) => `: ${b.error}`, () => "");
    throw new Error(`${url.split("?")[0]}: HTTP ${r.status}${why}`);
  }
  return r.json();
}

const serverNow = () => Date.now() + live.skew;

let pollTimer, polling = false;

// poll reads the state and the history, redraws, and comes again in two
// seconds; one poll at a time.
async function poll() {
  if (polling) return;
  polling = true;
  clearTimeout(pollTimer);
  try {
    const st = await getJSON("/v1/state");
    live.skew = LH.ms(st.time) - Date.now();
    live.state = st;
    // The clusters as they are now are shown whatever becomes of their
    // history: a history that does not read must not hide them.
    const stale = await syncHistory().then(() => null, (err) => err);
    live.polls++;
    live.lastOk = Date.now();
    setStatus(true, stale);
    render();
  } catch (err) {
    setStatus(false, err);
  } finally {
    polling = false;
    pollTimer = setTimeout(poll, POLL_MS);
  }
}

// pollSoon polls now, unless a poll is under way.
function pollSoon() {
  if (!polling) poll();
}

// syncHistory loads the window shown, or only what is new in it.
async function syncHistory() {
  if (needsLoading()) return loadWindow(wanted());
  const w = await getJSON(`/v1/history?after=${live.lastSeq}`);
  if (w.boot !== live.boot || w.reset) return loadWindow({ from: live.loadedFrom, step: live.step });
  if (w.last_seq !== live.lastSeq) {
    live.states.push(...w.states);
    live.splits.push(...w.splits);
    live.outcomes.push(...w.outcomes);
    live.lanesDirty = true;
  }
  live.unfinished = w.unfinished;
  mergeDeliveries(w.unfinished);
  mergeDeliveries(w.deliveries);
  live.lastSeq = w.last_seq;
}

// wanted is the window the view needs: from its start to now, every
// entry when that is short, else an overview a little finer than a pixel
// (a step of a power of two seconds, so that a small zoom loads nothing).
function wanted() {
  const from = Math.max(Math.min(chart.from, serverNow() - live.span), earliest());
  if (serverNow() - from <= RAW_SPAN) return { from, step: 0 };
  return { from, step: LH.SECOND * 2 ** Math.max(0, Math.floor(Math.log2(chart.pixel() / LH.SECOND))) };
}

// needsLoading: the view begins before the window loaded, or is finer;
// or the window loaded begins a span before the view: a page left open
// following now would otherwise keep every entry since it opened.
function needsLoading() {
  const want = wanted();
  const outgrown = want.from - live.loadedFrom > Math.max(serverNow() - want.from, LH.HOUR);
  return !live.boot || want.from < live.loadedFrom || want.step < live.step || outgrown;
}

// earliest is the oldest from a window to now (and the minute after it
// that loadWindow asks for) may have.
const earliest = () => serverNow() + 2 * LH.MINUTE - MAX_WINDOW;

async function loadWindow({ from, step }) {
  from = Math.max(from, earliest());
  const q = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(serverNow() + LH.MINUTE).toISOString() });
  if (step) q.set("step", `${step}ms`);
  const w = await getJSON(`/v1/history?${q}`);
  Object.assign(live, { boot: w.boot, lastSeq: w.last_seq, loadedFrom: from, step, states: w.states, splits: w.splits, outcomes: w.outcomes, spans: w.spans, marks: w.marks, unfinished: w.unfinished, lanesDirty: true });
  live.deliveries = new Map();
  live.details = new Map();
  mergeDeliveries(w.unfinished);
  mergeDeliveries(w.deliveries);
}

// mergeDeliveries takes newer summaries of deliveries (those under way,
// those ended): later ones win, attempts only grow.
function mergeDeliveries(list) {
  for (const d of list) {
    const old = live.deliveries.get(d.id);
    if (!old) {
      live.deliveries.set(d.id, d);
      continue;
    }
    const merged = Object.assign({}, old, d, { first: old.first, attempts: Math.max(old.attempts, d.attempts), last_error: d.last_error || old.last_error });
    if (["delivered", "failed", "dropped", "cancelled"].includes(d.state)) delete merged.next_attempt;
    live.deliveries.set(d.id, merged);
  }
  if (list.length) {
    live.lanesDirty = true;
    live.details.clear(); // they may tell of these deliveries
  }
}

// watch says so when a poll has waited STALE_MS for its answer: such a
// request does not fail, and the page would go on saying "live".
function watch() {
  const quiet = Date.now() - live.lastOk;
  if (polling && live.lastOk && quiet > STALE_MS) setStatus(false, new Error(`no answer for ${LH.duration(quiet)}`));
}

function setStatus(ok, err) {
  const s = document.querySelector("#status");
  s.className = ok ? "ok" : "down";
  const shown = live.lastOk ? `; what is shown is as of ${LH.clock(live.lastOk + live.skew)} UTC` : "";
  const timeline = ok && err ? `; timeline not updated (${err.message})` : "";
  s.textContent = ok ? `live · updated ${LH.clock(serverNow())} UTC${timeline}` : `leaderhook does not answer (${err.message})${shown}; retrying every ${POLL_MS / 1000}s`;
  document.body.dataset.connected = ok ? "1" : "0";
}

const shown = (name) => !live.filter || name.toLowerCase().includes(live.filter);

function render() {
  const started = performance.now();
  const now = serverNow();
  const clusters = sortClusters(live.state.clusters.filter((c) => shown(c.name)));
  renderCards(clusters, now);
  renderTimeline(clusters, now);
  renderRules(clusters, now);
  renderDeliveries(now);
  document.body.dataset.ready = "1";
  document.body.dataset.seq = String(live.lastSeq);
  document.body.dataset.polls = String(live.polls);
  document.body.dataset.loadedFrom = isFinite(live.loadedFrom) ? new Date(live.loadedFrom).toISOString() : "";
  document.body.dataset.renderMs = (performance.now() - started).toFixed(1);
}

// trouble: the cluster has no leader, or its lead is claimed twice.
const trouble = (c) => c.known && (!c.has_leader || c.split_brain);

// sortClusters puts the clusters in trouble first.
function sortClusters(clusters) {
  const rank = (c) => (trouble(c) ? 0 : !c.known ? 1 : 2);
  return clusters.slice().sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

function renderCards(clusters, now) {
  const box = document.querySelector("#clusters");
  const cards = clusters.slice(0, MAX_CARDS).map((c) => clusterCard(c, now));
  const rest = clusters.length - cards.length;
  const more = rest > 0 && LH.el("p", { class: "more" }, `${rest} more clusters: type a name in the filter to see them.`);
  box.replaceChildren(...cards, more || "");
  const all = live.state.clusters;
  document.querySelector("#cluster-count").textContent = `${all.length} clusters, ${all.filter((c) => c.known && !c.has_leader).length} without a leader, ${all.filter((c) => c.split_brain).length} in split brain`;
}

function clusterCard(c, now) {
  const leader = !c.known
    ? LH.el("p", { class: "leader unknown" }, "state not known yet")
    : c.has_leader
      ? LH.el("p", { class: "leader" }, "leader ", LH.el("b", null, c.leader_id), c.since ? ` for ${LH.duration(now - LH.ms(c.since))}` : "")
      : LH.el("p", { class: "leader none" }, `no leader since ${LH.clock(LH.ms(c.since))} UTC (${LH.duration(now - LH.ms(c.since))})`, c.previous_leader_id ? `, was ${c.previous_leader_id}` : "");
  const split = c.split_brain && LH.el("p", { class: "leader split" }, `split brain since ${LH.clock(LH.ms(c.split_brain_since))} UTC (${LH.duration(now - LH.ms(c.split_brain_since))}): ${(c.leaders || []).join(", ")} claim the lead`);
  const meta = c.quorum_margin == null ? "no member known yet" : `${c.members_up}/${c.members_total} members up · quorum margin ${c.quorum_margin}`;
  return LH.el("section", { class: `card ${trouble(c) ? "bad" : ""}`, "data-cluster": c.name },
    LH.el("h3", null, c.name), leader, split,
    LH.el("p", { class: "meta" }, meta, c.watcher_isolated ? LH.el("span", { class: "warn" }, " · leaderhook reaches too few members to judge") : ""),
    LH.el("table", { class: "members" }, c.members.map((m) => memberRow(m, now))));
}

function memberRow(m, now) {
  // Never heard from: counted as up, but no one has seen it.
  const health = m.down ? "presumed down" : m.unknown ? "not answering" : m.last_report ? "up" : "presumed up";
  const follows = m.follows ? `follows ${m.follows}` : "follows no leader";
  const age = m.last_report ? `${LH.duration(now - LH.ms(m.last_report))} ago` : "not heard from";
  return LH.el("tr", { class: m.down || m.unknown ? "member bad" : "member", "data-member": m.id },
    LH.el("td", null, m.id), LH.el("td", null, follows), LH.el("td", null, age),
    LH.el("td", { class: "health", title: m.reason || "" }, health, m.reason ? LH.el("small", null, ` (${m.reason})`) : ""));
}

function renderTimeline(clusters, now) {
  // The lanes are built again when the clusters change, not only their
  // number: a reload may replace one with another and bring no history.
  const ids = clusters.map((c) => c.name).join("\n");
  if (live.lanesDirty || live.lanesOf !== ids) {
    live.lanes = buildLanes(clusters);
    live.lanesDirty = false;
    live.lanesOf = ids;
  }
  if (live.follow) [chart.from, chart.to] = [now - live.span * 0.98, now + live.span * 0.02];
  chart.now = now;
  chart.lanes = live.lanes;
  chart.draw(); // now: the time of a render is all of it
}

// buildLanes makes one lane per cluster: tenures, outages, split brains
// over them, and outcomes, those of an overview followed by those that
// came after it.
function buildLanes(clusters) {
  const states = LH.byCluster(live.states), outcomes = LH.byCluster(live.outcomes), splits = LH.byCluster(live.splits);
  const spans = LH.byCluster(live.spans), marks = LH.byCluster(live.marks);
  return clusters.map((c) => {
    let segs = LH.joinSegments((spans.get(c.name) || []).map(LH.spanSegment), LH.clusterSegments(states.get(c.name) || []));
    if (!segs.length && c.known) segs = LH.clusterSegments([{ type: c.has_leader ? "state.has_leader" : "state.is_leaderless", time: c.since, since: c.since, leader_id: c.leader_id }]);
    const markers = [...(marks.get(c.name) || []).flatMap(markMarkers), ...(outcomes.get(c.name) || []).map(outcomeMarker)];
    return { id: c.name, label: c.name, sub: (c.has_leader ? `leader ${c.leader_id}` : "no leader") + (c.split_brain ? `, split brain: ${(c.leaders || []).join(", ")} claim the lead` : ""), cls: "cluster", segments: segs, bands: LH.splitBands(splits.get(c.name) || []), markers };
  });
}

function outcomeMarker(o) {
  const none = "not recorded yet";
  return {
    time: o.time, kind: o.outcome, label: () => LH.markerLabel(o, live.deliveries, none),
    attrs: { "data-rule": o.rule, "data-outcome": o.outcome }, tip: () => LH.outcomeTip(o, live.deliveries, none),
  };
}

// markMarkers are the markers of a mark of an overview, the outcomes of a
// step: one per kind, as those outcomes would be drawn at that scale.
// Their details are read when shown.
function markMarkers(m) {
  const count = Object.values(m.outcomes).reduce((a, b) => a + b, 0);
  const when = () => (count === 1 ? `at ${LH.clock(LH.ms(m.first))}` : `from ${LH.clock(LH.ms(m.first))} to ${LH.clock(LH.ms(m.last))}`);
  const summary = () => Object.entries(m.outcomes).map(([kind, n]) => `${n} ${kind}`).join(", ");
  return Object.entries(m.outcomes).map(([kind, n]) => ({
    time: m.first, kind, label: () => `${summary()} (${m.rules.join(", ")}) ${when()}`, tip: () => markDetails(m, count),
    attrs: { "data-rule": m.rules.length === 1 ? m.rules[0] : null, "data-outcome": kind, "data-count": n },
  }));
}

// markDetails reads a mark's outcomes and their deliveries from its
// cluster's history, once until deliveries change.
function markDetails(m, count) {
  const key = `${m.cluster} ${m.first}`;
  if (!live.details.has(key)) {
    live.details.set(key, readDetails(m, count).catch((err) => {
      live.details.delete(key);
      return [["details", `not read: ${err.message}`]];
    }));
  }
  return live.details.get(key);
}

async function readDetails(m, count) {
  const q = new URLSearchParams({ cluster: m.cluster, from: m.first, to: new Date(serverNow() + LH.MINUTE).toISOString() });
  const w = await getJSON(`/v1/history?${q}`);
  const deliveries = new Map([...w.deliveries, ...w.unfinished].map((d) => [d.id, d]));
  const outcomes = w.outcomes.filter((o) => LH.ms(o.time) <= LH.ms(m.last)).slice(0, count);
  const lines = count > 1 ? [[`${count} outcomes`, `${LH.clock(LH.ms(m.first))} → ${LH.clock(LH.ms(m.last))}`]] : [];
  for (const o of outcomes.slice(0, MAX_DETAILS)) lines.push(...LH.outcomeTip(o, deliveries, "not recorded"));
  if (count > MAX_DETAILS) lines.push(["", `${count - MAX_DETAILS} more: zoom in to see them`]);
  return lines;
}

function renderRules(clusters, now) {
  const rows = [];
  for (const c of clusters) for (const r of c.rules) rows.push({ c, r, rank: r.firing ? 0 : r.held_until ? 1 : r.active ? 2 : 3 });
  rows.sort((a, b) => a.rank - b.rank);
  const body = rows.slice(0, MAX_ROWS).map(({ c, r }) => LH.el("tr", { class: `rule ${r.firing ? "firing" : ""}`, "data-rule": r.name, "data-cluster": c.name },
    LH.el("td", null, c.name), LH.el("td", null, r.name), LH.el("td", { class: "rule-state" }, ruleState(r, now)),
    LH.el("td", null, r.last_fired ? `${LH.dateTime(LH.ms(r.last_fired))} (${LH.duration(now - LH.ms(r.last_fired))} ago)` : "never")));
  fillTable("#rules", body, rows.length);
}

// ruleState says where a rule stands for a cluster, in words.
function ruleState(r, now) {
  if (!r.active) return "ok";
  const until = r.held_until ? `${LH.clock(LH.ms(r.held_until))} UTC (in ${LH.duration(LH.ms(r.held_until) - now)})` : "";
  if (r.held_by === "cooldown") return `${r.firing ? "firing, " : ""}in cooldown until ${until}`;
  if (r.held_by === "muted") return `${r.firing ? "firing, " : ""}muted until ${until}`;
  const since = `since ${LH.clock(LH.ms(r.since))} UTC`;
  return r.firing ? `firing ${since}` : `condition holds ${since}, not fired yet`;
}

function renderDeliveries(now) {
  const failed = [...live.deliveries.values()].filter((d) => d.state === "failed" && LH.ms(d.last) >= chart.from);
  const list = [...live.unfinished, ...failed.reverse()].filter((d) => shown(d.cluster));
  const body = list.slice(0, MAX_ROWS).map((d) => LH.el("tr", { class: `delivery ${d.state}`, "data-delivery": d.id },
    LH.el("td", null, LH.dateTime(LH.ms(d.first))), LH.el("td", null, d.cluster), LH.el("td", null, `${d.rule} (${d.status})`),
    LH.el("td", null, d.action + (d.fallback ? " (fallback)" : "")), LH.el("td", { class: "delivery-state" }, d.state), LH.el("td", null, d.attempts),
    LH.el("td", { class: "error" }, d.last_error || ""),
    LH.el("td", null, d.next_attempt ? `${LH.clock(LH.ms(d.next_attempt))} UTC (in ${LH.duration(LH.ms(d.next_attempt) - now)})` : "")));
  fillTable("#deliveries", body, list.length);
}

function fillTable(sel, rows, total) {
  const table = document.querySelector(sel);
  table.tBodies[0].replaceChildren(...rows);
  const note = table.nextElementSibling;
  note.textContent = total === 0 ? "none" : total > rows.length ? `${total - rows.length} more: use the filter` : "";
}

// setSpan shows the last span of time, following now; a click on the
// span shown already draws nothing again.
function setSpan(span) {
  const changed = live.span !== span || !live.follow;
  live.span = span;
  live.follow = true;
  if (live.state && changed) render();
  pollSoon(); // loads the history of a wider window
}

function controls() {
  const bar = document.querySelector("#controls");
  for (const [name, span] of SPANS) bar.append(LH.el("button", { type: "button", "data-span": name }, name));
  bar.append(LH.el("button", { type: "button", "data-pan": "-0.5", title: "earlier" }, "◀"), LH.el("button", { type: "button", "data-pan": "0.5", title: "later" }, "▶"),
    LH.el("button", { type: "button", "data-now": "1" }, "now"), LH.el("span", { class: "hint" }, "ctrl+wheel zooms, drag pans"));
  bar.addEventListener("click", (e) => {
    const b = e.target.closest("button");
    if (!b) return;
    if (b.dataset.span) setSpan(SPANS.find(([n]) => n === b.dataset.span)[1]);
    if (b.dataset.pan) chart.pan(Number(b.dataset.pan));
    if (b.dataset.now) setSpan(live.span);
  });
  document.querySelector("#filter").addEventListener("input", (e) => {
    live.filter = e.target.value.trim().toLowerCase();
    if (live.state) render();
  });
}

// onView follows a zoom or pan: the view no longer follows now, and a
// view earlier or finer than what is loaded loads its history now.
function onView(from, to) {
  live.follow = false;
  live.span = to - from;
  if (live.state) renderDeliveries(serverNow());
  if (needsLoading()) pollSoon();
}

function start() {
  chart = new Chart(document.querySelector("#timeline"), { showNow: true, onView });
  chart.setView(Date.now() - live.span, Date.now());
  controls();
  poll();
  setInterval(watch, LH.SECOND);
}

start();
