"use strict";
// Chart draws lanes of segments (leaders' tenures, outages, members'
// reports) and markers (rule outcomes) on one time axis, in SVG. It draws
// only the lanes in view, so that a thousand clusters stay quick. It zooms
// (buttons, ctrl+wheel) and pans (drag, buttons), and shows the details of
// what is under the pointer, or clicked, in a tooltip.
class Chart {
  constructor(root, opts) {
    this.opts = Object.assign({ laneHeight: 30, labelWidth: 170, minSpan: 15 * LH.MINUTE, maxSpan: 7 * LH.DAY, onView: null, showNow: false }, opts);
    this.root = root;
    this.lanes = [];
    this.from = 0;
    this.to = 1;
    this.now = Date.now();
    this.tips = [];
    this.build();
  }

  build() {
    this.axis = LH.svg("svg", { class: "axis", height: 28 });
    this.lanesSvg = LH.svg("svg", { class: "lanes" });
    this.spacer = LH.el("div", { class: "spacer" }, this.lanesSvg);
    this.scroller = LH.el("div", { class: "scroller" }, this.spacer);
    this.tip = document.querySelector("#tip") || document.body.appendChild(LH.el("div", { id: "tip", role: "tooltip", hidden: true }));
    this.root.append(this.axis, this.scroller, hatch());
    this.scroller.addEventListener("scroll", () => this.schedule());
    window.addEventListener("resize", () => this.schedule());
    this.listenZoom();
    this.listenTips();
  }

  setLanes(lanes) {
    this.lanes = lanes;
    this.schedule();
  }

  // setView shows [from, to], within the span limits; now is the end of
  // segments still open.
  setView(from, to, now) {
    const span = Math.min(Math.max(to - from, this.opts.minSpan), this.opts.maxSpan);
    const mid = (from + to) / 2;
    [this.from, this.to] = to - from === span ? [from, to] : [mid - span / 2, mid + span / 2];
    if (now !== undefined) this.now = now;
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  // draw is synchronous, for printing: it draws every lane when all are
  // shown at once.
  draw() {
    const width = Math.max(this.root.clientWidth, 400);
    this.width = width;
    this.plot = { x: this.opts.labelWidth, w: width - this.opts.labelWidth - 12 };
    this.tips = [];
    this.drawAxis(width);
    this.drawLanes(width);
    this.root.dataset.from = new Date(this.from).toISOString();
    this.root.dataset.to = new Date(this.to).toISOString();
    this.root.dataset.plotX = this.plot.x;
    this.root.dataset.plotWidth = this.plot.w;
    this.root.dataset.drawn = String((Number(this.root.dataset.drawn) || 0) + 1);
  }

  x(t) {
    return this.plot.x + ((t - this.from) / (this.to - this.from)) * this.plot.w;
  }

  // pixel is the time one pixel of the plot spans, drawn or not yet.
  pixel() {
    const w = this.plot ? this.plot.w : Math.max(this.root.clientWidth, 400) - this.opts.labelWidth - 12;
    return (this.to - this.from) / w;
  }

  drawAxis(width) {
    const a = this.axis;
    a.replaceChildren();
    a.setAttribute("width", width);
    a.setAttribute("viewBox", `0 0 ${width} 28`); // scales to the paper when printed
    const step = tickStep(this.to - this.from, this.plot.w);
    const first = Math.ceil(this.from / step) * step;
    for (let t = first; t <= this.to; t += step) {
      const x = this.x(t);
      a.append(LH.svg("line", { x1: x, x2: x, y1: 18, y2: 28, class: "tick" }));
      const label = step < LH.SECOND ? LH.clock(t) : step < LH.DAY ? LH.clock(t).slice(0, step < LH.MINUTE ? 8 : 5) : LH.day(t);
      a.append(LH.svg("text", { x, y: 13, class: "tick-label" }, label));
    }
    a.append(LH.svg("text", { x: 4, y: 13, class: "axis-day" }, `${LH.day(this.from)} UTC`));
  }

  drawLanes(width) {
    const h = this.opts.laneHeight;
    const total = this.lanes.length * h;
    this.spacer.style.height = `${total}px`;
    const top = this.scroller.scrollTop;
    const visible = this.scroller.clientHeight || total;
    const first = Math.max(0, Math.floor(top / h) - 5);
    const last = Math.min(this.lanes.length, Math.ceil((top + visible) / h) + 5);
    const g = this.lanesSvg;
    g.replaceChildren();
    g.setAttribute("width", width);
    g.setAttribute("height", Math.max(0, (last - first) * h));
    g.setAttribute("viewBox", `0 0 ${width} ${Math.max(0, (last - first) * h)}`);
    this.lanesSvg.style.top = `${first * h}px`;
    for (let i = first; i < last; i++) g.append(this.drawLane(this.lanes[i], (i - first) * h, i));
    if (this.opts.showNow && this.now >= this.from && this.now <= this.to) {
      const x = this.x(this.now);
      g.append(LH.svg("line", { x1: x, x2: x, y1: 0, y2: (last - first) * h, class: "now" }));
    }
  }

  drawLane(lane, y, i) {
    const h = this.opts.laneHeight;
    const g = LH.svg("g", { class: `lane ${lane.cls || ""}`, "data-lane": lane.id, transform: `translate(0 ${y})` });
    g.append(LH.svg("rect", { x: 0, y: 0, width: this.width, height: h, class: i % 2 ? "band odd" : "band" }));
    const label = LH.svg("text", { x: 6, y: h / 2 + 4, class: "lane-label", "data-tip": this.addTip(() => [[lane.label, lane.sub || ""]]) });
    label.textContent = fit(lane.label, this.opts.labelWidth - 12);
    g.append(label);
    for (const r of this.layout(lane.segments || [])) g.append(...this.drawSegment(r, h));
    for (const band of lane.bands || []) {
      const b = this.drawBand(band, h);
      if (b) g.append(b);
    }
    for (const m of lane.markers || []) {
      const t = LH.ms(m.time);
      if (t >= this.from && t <= this.to) g.append(this.drawMarker(m, this.x(t)));
    }
    return g;
  }

  // layout places segments in the plot, merging those too thin to see.
  layout(segments) {
    const rects = [];
    for (const seg of segments) {
      const start = LH.ms(seg.start), stop = seg.stop ? LH.ms(seg.stop) : this.now;
      if (stop < this.from || start > this.to) continue;
      const x1 = this.x(Math.max(start, this.from)), x2 = this.x(Math.min(stop, this.to));
      const prev = rects[rects.length - 1];
      if (x2 - x1 < 1 && prev && prev.x2 - prev.x1 < 1 && x1 - prev.x2 < 1) {
        prev.x2 = Math.max(prev.x2, x2);
        prev.merged = true;
        continue;
      }
      rects.push({ seg, x1, x2 });
    }
    return rects;
  }

  drawSegment(r, h) {
    const seg = r.seg, thin = seg.kind === "leader" || seg.kind === "follows" ? 1 : this.opts.minWidth || 1;
    const w = Math.max(r.x2 - r.x1, thin);
    const kind = r.merged ? "busy" : seg.kind;
    const attrs = {
      x: r.x1, y: 12, width: w, height: h - 15, class: `seg ${kind}`, "data-kind": kind,
      "data-start": seg.start, "data-stop": seg.stop || "", "data-label": seg.label,
      fill: kind === "leader" || kind === "follows" ? color(seg.leader || seg.label) : null,
      "data-tip": r.merged ? this.addTip(() => [["many changes", "zoom in to see them"]]) : this.addTip(() => LH.segmentTip(seg, this.now)),
    };
    const out = [LH.svg("rect", attrs)];
    const st = seg.state;
    if (seg.kind === "outage" && st && st.since && st.since !== st.time) {
      const x = this.x(LH.ms(st.time));
      if (x > r.x1 && x < r.x2) out.push(LH.svg("line", { x1: x, x2: x, y1: 10, y2: h - 1, class: "announced" }));
    }
    if (!r.merged && w > textWidth(seg.label) + 8) out.push(LH.svg("text", { x: r.x1 + 4, y: h - 7, class: `seg-label ${kind}` }, seg.label));
    return out;
  }

  // drawBand draws a split brain over the lane's bar, at least two pixels
  // wide so that a short one is seen at any scale.
  drawBand(band, h) {
    const start = LH.ms(band.start), stop = band.stop ? LH.ms(band.stop) : this.now;
    if (stop < this.from || start > this.to) return null;
    const x1 = this.x(Math.max(start, this.from)), x2 = this.x(Math.min(stop, this.to));
    const leaders = band.leaders.join(", ");
    return LH.svg("rect", {
      x: x1, y: 10, width: Math.max(x2 - x1, 2), height: h - 11, class: "split", "data-kind": "split_brain",
      "data-start": band.start, "data-stop": band.stop || "", "data-leaders": leaders, "aria-label": `split brain: ${leaders} claim the lead`,
      "data-tip": this.addTip(() => LH.splitTip(band, this.now)),
    });
  }

  drawMarker(m, x) {
    const shapes = { fired: `M${x - 5} 1 L${x + 5} 1 L${x} 10 Z`, suppressed: `M${x} 1 L${x + 4.5} 5.5 L${x} 10 L${x - 4.5} 5.5 Z` };
    const label = typeof m.label === "function" ? m.label() : m.label; // made when drawn: most are not
    const attrs = Object.assign({ class: `marker ${m.kind}`, tabindex: 0, role: "button", "aria-label": label, "data-time": m.time, "data-tip": this.addTip(m.tip) }, m.attrs);
    if (m.kind === "resolved") return LH.svg("circle", Object.assign(attrs, { cx: x, cy: 5.5, r: 4.5 }));
    return LH.svg("path", Object.assign(attrs, { d: shapes[m.kind] || shapes.fired }));
  }

  addTip(f) {
    this.tips.push(f);
    return this.tips.length - 1;
  }

  // listenTips shows a tip on hover, focus or click. A tip may be a
  // promise of its lines (details read from the daemon): it says so until
  // they come, unless another tip was shown or the tip hidden meanwhile.
  listenTips() {
    const show = (target, pin) => {
      const i = target.closest && target.closest("[data-tip]");
      if (!i || !this.root.contains(i)) return false;
      const tip = this.tips[Number(i.dataset.tip)];
      if (!tip) return false;
      const lines = tip(), box = i.getBoundingClientRect();
      this.tipShown = lines;
      if (lines instanceof Promise) {
        showTip(this.tip, [["", "reading the details…"]], box, pin);
        lines.then((l) => this.tipShown === lines && !this.tip.hidden && showTip(this.tip, l, box, pin));
      } else {
        showTip(this.tip, lines, box, pin);
      }
      return true;
    };
    this.root.addEventListener("mouseover", (e) => !this.tip.dataset.pinned && show(e.target, false));
    this.root.addEventListener("mouseout", () => !this.tip.dataset.pinned && (this.tip.hidden = true));
    this.root.addEventListener("focusin", (e) => show(e.target, false));
    document.addEventListener("click", (e) => {
      if (this.tip.contains(e.target)) return;
      delete this.tip.dataset.pinned;
      this.tip.hidden = !show(e.target, true);
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        delete this.tip.dataset.pinned;
        this.tip.hidden = true;
      }
    });
  }

  listenZoom() {
    this.scroller.addEventListener("wheel", (e) => {
      if (!e.ctrlKey) return;
      e.preventDefault();
      this.zoomAt(e.deltaY > 0 ? 1.5 : 1 / 1.5, this.timeAt(e.clientX));
    }, { passive: false });
    let drag = null;
    this.scroller.addEventListener("pointerdown", (e) => {
      if (e.button === 0 && !e.target.closest("[data-tip].marker")) drag = { x: e.clientX, from: this.from, to: this.to, moved: false };
    });
    window.addEventListener("pointermove", (e) => {
      if (!drag || Math.abs(e.clientX - drag.x) < 4) return;
      const dt = ((e.clientX - drag.x) / this.plot.w) * (drag.to - drag.from);
      drag.moved = true;
      this.from = drag.from - dt;
      this.to = drag.to - dt;
      this.schedule();
    });
    window.addEventListener("pointerup", () => {
      if (drag && drag.moved) this.changed();
      drag = null;
    });
  }

  timeAt(clientX) {
    const left = this.root.getBoundingClientRect().left;
    return this.from + ((clientX - left - this.plot.x) / this.plot.w) * (this.to - this.from);
  }

  // zoomAt scales the span by factor around the instant at.
  zoomAt(factor, at) {
    const span = Math.min(Math.max((this.to - this.from) * factor, this.opts.minSpan), this.opts.maxSpan);
    const share = (at - this.from) / (this.to - this.from);
    this.from = at - share * span;
    this.to = this.from + span;
    this.schedule();
    this.changed();
  }

  pan(share) {
    const d = (this.to - this.from) * share;
    this.from += d;
    this.to += d;
    this.schedule();
    this.changed();
  }

  changed() {
    if (this.opts.onView) this.opts.onView(this.from, this.to);
  }
}

// hatch defines the pattern of a split brain's band, once per chart.
function hatch() {
  const p = LH.svg("pattern", { id: "split-hatch", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
  p.append(LH.svg("rect", { width: 6, height: 6, class: "split-bg" }), LH.svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "split-line" }));
  const defs = LH.svg("defs");
  defs.append(p);
  const s = LH.svg("svg", { width: 0, height: 0, class: "defs", "aria-hidden": "true" });
  s.append(defs);
  return s;
}

// tickStep picks the step of the axis' ticks: about one per 110 pixels.
function tickStep(span, width) {
  const steps = [100, 250, 500, 1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5, 216e5, 432e5, 864e5];
  const want = span / Math.max(width / 110, 1);
  return steps.find((s) => s >= want) || steps[steps.length - 1];
}

// color gives each leader its own muted hue, the same on every draw.
function color(id) {
  let h = 0;
  for (const c of String(id)) h = (h * 31 + c.codePointAt(0)) % 360;
  return `hsl(${(h * 47) % 360} 45% 72%)`;
}

const textWidth = (s) => String(s || "").length * 6.6;

function fit(s, width) {
  const n = Math.floor(width / 6.6);
  return s.length > n ? s.slice(0, Math.max(n - 1, 1)) + "…" : s;
}

// showTip fills the tooltip with lines of [label, value] and places it
// by the element it explains.
function showTip(tip, lines, box, pin) {
  tip.replaceChildren(LH.el("table", null, lines.map(([k, v]) => LH.el("tr", null, LH.el("th", null, k), LH.el("td", null, v)))));
  if (pin) tip.dataset.pinned = "1";
  tip.hidden = false;
  const w = tip.offsetWidth, h = tip.offsetHeight;
  const left = Math.min(Math.max(box.left, 4), window.innerWidth - w - 8);
  const top = box.bottom + h + 8 < window.innerHeight ? box.bottom + 6 : Math.max(box.top - h - 6, 4);
  tip.style.left = `${left + window.scrollX}px`;
  tip.style.top = `${top + window.scrollY}px`;
}
