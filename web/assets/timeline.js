"use strict";
// What the live page and the incident report share: times in words, the
// lanes of a timeline built from history, and their drawing in SVG. Text
// from events goes into the page only as text (textContent), never as
// markup: an id may hold anything.
const LH = (() => {
  const SVGNS = "http://www.w3.org/2000/svg";
  const SECOND = 1000, MINUTE = 60 * SECOND, HOUR = 60 * MINUTE, DAY = 24 * HOUR;

  // el makes an HTML element with attributes and children (strings are text).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    for (const c of children.flat()) {
      if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    setAttrs(e, attrs);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function setAttrs(e, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : String(v));
    }
  }

  const ms = (iso) => (iso ? Date.parse(iso) : NaN);
  const pad = (n, w = 2) => String(n).padStart(w, "0");

  // clock is a time of day in UTC, to the millisecond.
  function clock(t) {
    const d = new Date(t);
    return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
  }

  function day(t) {
    const d = new Date(t);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  }

  const dateTime = (t) => `${day(t)} ${clock(t)} UTC`;

  // duration says a span of time briefly: 850ms, 4.5s, 2m 05s, 3h 12m, 2d 4h.
  function duration(d) {
    if (!isFinite(d)) return "";
    d = Math.max(0, d);
    if (d < SECOND) return `${Math.round(d)}ms`;
    if (d < MINUTE) return `${(d / SECOND).toFixed(1)}s`;
    if (d < HOUR) return `${Math.floor(d / MINUTE)}m ${pad(Math.floor((d % MINUTE) / SECOND))}s`;
    if (d < DAY) return `${Math.floor(d / HOUR)}h ${pad(Math.floor((d % HOUR) / MINUTE))}m`;
    return `${Math.floor(d / DAY)}d ${Math.floor((d % DAY) / HOUR)}h`;
  }

  // groupBy groups history entries by one of their fields, keeping their
  // order.
  function groupBy(items, field) {
    const m = new Map();
    for (const it of items) {
      if (!m.has(it[field])) m.set(it[field], []);
      m.get(it[field]).push(it);
    }
    return m;
  }
  const byCluster = (items) => groupBy(items, "cluster");
  const byRule = (items) => groupBy(items, "rule");

  // clusterSegments turns one cluster's state changes into its leaders'
  // tenures and its outages. An outage runs from its true start (since),
  // which is before it was announced; the tenure before it ends there.
  // A segment still open has stop null: it runs to now.
  function clusterSegments(states) {
    const segs = [];
    states.forEach((st, i) => {
      const next = states[i + 1];
      const leader = st.type === "state.has_leader";
      const start = leader ? st.time : st.since || st.time;
      let stop = null;
      if (next) stop = next.type === "state.has_leader" ? next.time : next.since || next.time;
      const seg = { kind: leader ? "leader" : "outage", start, stop, label: leader ? st.leader_id : "no leader", state: st };
      if (segs.length && ms(segs[segs.length - 1].stop) > ms(start)) segs[segs.length - 1].stop = start;
      segs.push(seg);
    });
    return segs;
  }

  // spanSegment is the segment of a span of an overview: a tenure, an
  // outage (from its true start), or changes merged at its scale.
  function spanSegment(sp) {
    const label = sp.kind === "leader" ? sp.leader_id : sp.kind === "outage" ? "no leader" : `${sp.changes} changes`;
    const state = { time: sp.announced || sp.start, since: sp.start, previous_leader_id: sp.previous_leader_id };
    return { kind: sp.kind, start: sp.start, stop: sp.stop || null, label, state, note: sp.kind === "busy" ? "zoom in to see them" : "" };
  }

  // joinSegments continues the segments of an overview with those of the
  // states that came after it: the one still open then ends.
  function joinSegments(head, tail) {
    const last = head[head.length - 1];
    if (last && !last.stop && tail.length) last.stop = tail[0].start;
    return head.concat(tail);
  }

  // segmentTip says what a segment of a lane was.
  function segmentTip(seg, now) {
    const start = ms(seg.start), stop = seg.stop ? ms(seg.stop) : now;
    const head = seg.kind === "outage" ? "no leader" : seg.kind === "leader" ? `leader ${seg.label}` : seg.label;
    const lines = [[head, `${clock(start)} → ${seg.stop ? clock(stop) : "now"} (${duration(stop - start)})`]];
    const st = seg.state;
    if (seg.kind === "outage" && st && st.since && st.since !== st.time) {
      lines.push(["true start", `${clock(start)}, announced ${clock(ms(st.time))} (after ${duration(ms(st.time) - start)})`]);
    }
    if (st && st.previous_leader_id) lines.push(["before", `leader ${st.previous_leader_id}`]);
    if (seg.note) lines.push(["", seg.note]);
    return lines;
  }

  // splitBands turns one cluster's split brains, starts and ends in order,
  // into bands: from a split's true start to its end (stop null while it
  // lasts). An end whose start the window does not hold is left out.
  function splitBands(splits) {
    const bands = [];
    for (const sp of splits) {
      const open = bands.length && !bands[bands.length - 1].stop ? bands[bands.length - 1] : null;
      if (sp.type === "state.split_brain" && !open) bands.push({ start: sp.since || sp.time, stop: null, leaders: sp.leaders || [], announced: sp.time });
      else if (sp.type !== "state.split_brain" && open) open.stop = sp.time;
    }
    return bands;
  }

  // splitTip says who claimed the lead, and when.
  function splitTip(band, now) {
    const start = ms(band.start), stop = band.stop ? ms(band.stop) : now, announced = ms(band.announced);
    const lines = [["split brain", `${band.leaders.join(", ")} claim the lead`], ["", `${clock(start)} → ${band.stop ? clock(stop) : "now"} (${duration(stop - start)})`]];
    if (announced > start) lines.push(["announced", `${clock(announced)}, after ${duration(announced - start)}`]);
    return lines;
  }

  // outcomeTip details a rule outcome and its deliveries.
  function outcomeTip(o, deliveries, noDelivery) {
    const lines = [[`rule ${o.rule}`, `${o.outcome}${o.reason ? " (" + o.reason + ")" : ""} at ${clock(ms(o.time))}`]];
    if (o.leaderless_for_ms) lines.push(["without a leader for", duration(o.leaderless_for_ms)]);
    if (o.leader_id || o.previous_leader_id) lines.push(["leader", `${o.leader_id || "none"}${o.previous_leader_id ? " (was " + o.previous_leader_id + ")" : ""}`]);
    if (o.trigger && o.trigger !== "event") lines.push(["trigger", o.trigger]);
    if (o.outcome === "suppressed") {
      lines.push(["actions", `${(o.actions || []).join(", ") || "none"}: not run`]);
      return lines;
    }
    if (!(o.actions || []).length) lines.push(["actions", "none"]);
    (o.actions || []).forEach((a, i) => lines.push([`→ ${a}`, deliveryText(deliveries.get((o.delivery_ids || [])[i]), noDelivery)]));
    return lines;
  }

  function deliveryText(d, noDelivery) {
    if (!d) return noDelivery;
    let s = `${d.state}, ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}`;
    if (d.http_status) s += `, HTTP ${d.http_status}`;
    if (d.exit_code !== undefined && d.exit_code !== null) s += `, exit ${d.exit_code}`;
    if (d.last_error) s += `; last error: ${d.last_error}`;
    if (d.next_attempt) s += `; next attempt ${clock(ms(d.next_attempt))}`;
    return s;
  }

  // markerLabel sums an outcome up in one line, for its aria-label.
  function markerLabel(o, deliveries, noDelivery) {
    const acts = (o.actions || []).map((a, i) => `${a}: ${deliveryText(deliveries.get((o.delivery_ids || [])[i]), noDelivery)}`);
    return `${o.rule} ${o.outcome}${o.reason ? " (" + o.reason + ")" : ""} at ${clock(ms(o.time))}${acts.length && o.outcome !== "suppressed" ? "; " + acts.join("; ") : ""}`;
  }

  return { el, svg, ms, clock, day, dateTime, duration, byCluster, byRule, clusterSegments, spanSegment, joinSegments, segmentTip, splitBands, splitTip, outcomeTip, deliveryText, markerLabel, SECOND, MINUTE, HOUR, DAY };
})();
