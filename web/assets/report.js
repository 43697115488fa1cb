"use strict";
// The incident report of `leaderhook replay --format html`: a lane per
// member with what it reported, the cluster as leaderhook derived it
// below, a lane per rule with its outcomes, on one time axis; a summary
// of the outages and of the members' blips that were none; a table of
// every outcome. Its data is in the page: it loads nothing.
const data = JSON.parse(document.querySelector("#report-data").textContent);
const deliveries = new Map(data.deliveries.map((d) => [d.id, d]));
const NOT_SENT = "not sent: a replay runs no action without --execute";
const noDelivery = data.executed ? "no attempt recorded" : NOT_SENT;

// memberSegments turns a member's reports into what it said over time.
function memberSegments(m) {
  return m.reports.map((r, i) => {
    const next = m.reports[i + 1];
    const seg = { start: r.time, stop: next ? next.time : data.to, state: null };
    if (r.down) return Object.assign(seg, { kind: "down", label: "presumed down", note: r.reason || "" });
    if (r.unknown) return Object.assign(seg, { kind: "unknown", label: "not answering", note: r.reason || "" });
    if (!r.follows) return Object.assign(seg, { kind: "leaderless", label: "no leader" });
    return Object.assign(seg, { kind: "follows", label: r.follows, leader: r.follows });
  });
}

function clusterSegs() {
  const segs = LH.clusterSegments(data.states);
  for (const s of segs) if (!s.stop) s.stop = data.to;
  return segs;
}

// leaderAt says whom the derived view had as leader at an instant.
function leaderAt(segs, t) {
  const s = segs.find((s) => LH.ms(s.start) <= t && t < LH.ms(s.stop));
  return s && s.kind === "leader" ? s.label : "";
}

// blips are the members' own outages while the cluster kept a leader: a
// restarting member's "no leader" is one vote, and the others, a
// majority, still followed the leader.
function blips(members, cluster) {
  const out = [];
  for (const m of members) {
    for (const s of m.segments) {
      if (s.kind !== "leaderless") continue;
      const a = LH.ms(s.start), b = LH.ms(s.stop);
      const leader = leaderAt(cluster, a);
      if (leader && leader === leaderAt(cluster, b - 1)) {
        s.note = `ignored: the others, a majority, followed ${leader}; the cluster kept its leader`;
        out.push({ member: m.id, start: a, stop: b, leader });
      }
    }
  }
  return out.sort((x, y) => x.start - y.start);
}

// splitBands are the cluster's split brains; one that lasts to the end
// of the recording ends there.
function splitBands() {
  const bands = LH.splitBands(data.splits);
  for (const b of bands) if (!b.stop) b.stop = data.to;
  return bands;
}

function lanes(cluster, members) {
  const out = members.map((m) => ({ id: `member:${m.id}`, label: m.id, sub: "what this member reported", cls: "member", segments: m.segments }));
  out.push({ id: "cluster", label: `${data.cluster} (derived)`, sub: `a majority follows a leader; a loss is announced after stabilize (${data.stabilize})`, cls: "cluster", segments: cluster, bands: splitBands(), markers: [] });
  for (const [rule, list] of LH.byRule(data.outcomes)) {
    out.push({ id: `rule:${rule}`, label: `rule ${rule}`, sub: `${list.length} outcomes`, cls: "rule", segments: [], markers: list.map(marker) });
  }
  return out;
}

function marker(o) {
  return { time: o.time, kind: o.outcome, label: () => LH.markerLabel(o, deliveries, noDelivery), attrs: { "data-rule": o.rule, "data-outcome": o.outcome }, tip: () => LH.outcomeTip(o, deliveries, noDelivery) };
}

function summary(cluster, ignored) {
  const items = [];
  for (const s of cluster.filter((s) => s.kind === "outage")) {
    const a = LH.ms(s.start), b = LH.ms(s.stop), st = s.state;
    const late = LH.ms(st.time) - a;
    const announced = late >= 1 ? `, announced at ${LH.clock(LH.ms(st.time))} after ${LH.duration(late)}` : ", announced at once";
    const end = s.stop === data.to && s === cluster[cluster.length - 1] ? "end of the recording" : `${LH.clock(b)}, leader ${leaderAt(cluster, b) || "?"}`;
    items.push(LH.el("li", { class: "outage", "data-start": s.start }, `No leader from ${LH.clock(a)} (true start${announced}) to ${end}: ${LH.duration(b - a)}.`));
  }
  for (const b of splitBands()) {
    const a = LH.ms(b.start), z = LH.ms(b.stop);
    items.push(LH.el("li", { class: "split", "data-start": b.start }, `Split brain from ${LH.clock(a)} to ${b.stop === data.to ? "the end of the recording" : LH.clock(z)} (${LH.duration(z - a)}): ${b.leaders.join(", ")} claimed the lead.`));
  }
  if (ignored.length) items.push(LH.el("li", null, "A member's own \"no leader\" (as it restarts, say) is one vote: the cluster has a leader while a majority follows one. So these were no outage:"));
  for (const b of ignored) {
    items.push(LH.el("li", { class: "blip" }, `${b.member} followed no leader ${LH.clock(b.start)}–${LH.clock(b.stop)} (${LH.duration(b.stop - b.start)}): the others, a majority, followed ${b.leader}.`));
  }
  const fired = data.outcomes.filter((o) => o.outcome === "fired").length;
  items.push(LH.el("li", null, `${data.states.length} state changes; ${fired} firings of ${new Set(data.outcomes.map((o) => o.rule)).size} rules.`));
  document.querySelector("#summary").replaceChildren(...items);
}

function outcomeTable() {
  const rows = data.outcomes.map((o) => LH.el("tr", { class: `outcome ${o.outcome}` },
    LH.el("td", null, LH.clock(LH.ms(o.time))), LH.el("td", null, o.rule), LH.el("td", null, o.outcome + (o.reason ? ` (${o.reason})` : "")),
    LH.el("td", null, LH.outcomeTip(o, deliveries, noDelivery).slice(1).filter(([k]) => !k.startsWith("→") && k !== "actions").map(([k, v]) => `${k}: ${v}`).join("; ")),
    LH.el("td", null, (o.actions || []).map((a, i) => `${a}: ${o.outcome === "suppressed" ? "not run" : LH.deliveryText(deliveries.get(o.delivery_ids[i]), noDelivery)}`).join("; "))));
  document.querySelector("#outcomes").tBodies[0].replaceChildren(...rows);
}

function controls(chart, fit) {
  const bar = document.querySelector("#controls");
  const button = (label, f) => {
    const b = LH.el("button", { type: "button" }, label);
    b.addEventListener("click", f);
    bar.append(b);
  };
  button("fit", fit);
  button("+", () => chart.zoomAt(1 / 2, (chart.from + chart.to) / 2));
  button("−", () => chart.zoomAt(2, (chart.from + chart.to) / 2));
  button("◀", () => chart.pan(-0.5));
  button("▶", () => chart.pan(0.5));
  bar.append(LH.el("span", { class: "hint" }, "ctrl+wheel zooms, drag pans; point at a marker or a bar for its details"));
}

function start() {
  const cluster = clusterSegs();
  const members = data.members.map((m) => ({ id: m.id, segments: memberSegments(m) }));
  const ignored = blips(members, cluster);
  const from = LH.ms(data.from), to = LH.ms(data.to), pad = Math.max((to - from) * 0.02, LH.SECOND);
  const chart = new Chart(document.querySelector("#timeline"), { minSpan: 5 * LH.SECOND, maxSpan: Math.max(to - from + 2 * pad, 10 * LH.SECOND), minWidth: 2 });
  const fit = () => chart.setView(from - pad, to + pad, to);
  chart.setLanes(lanes(cluster, members));
  fit();
  controls(chart, fit);
  summary(cluster, ignored);
  outcomeTable();
  window.addEventListener("beforeprint", () => chart.draw());
  document.body.dataset.ready = "1";
}

start();
