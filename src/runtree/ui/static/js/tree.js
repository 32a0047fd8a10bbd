// The call tree with its waterfall: a virtualized list (only the rows in view exist in the
// DOM), so ten thousand steps open at once and scroll smoothly. Rows are the steps in call
// order under their parents; aggregated calls (past the step budget) are extra rows under
// the step they were counted in.
import { h } from "./dom.js";
import { ns, number } from "./format.js";

const ROW_H = 26;
const INDENT_PX = 16;
const MAX_INDENT = 12; // levels; deeper rows show their depth as a number
const DEPTH_MARK_PX = 34; // the number's width (CSS .depth-mark) and the gap after it
const OVERSCAN = 12;

export class CallTree {
  /**
   * @param {object} options  onSelect(node), onActivate(node)
   */
  constructor(options) {
    this.options = options;
    this.nodes = new Map(); // id -> node
    this.roots = [];
    this.expanded = new Set();
    this.rows = []; // the visible nodes, in order
    this.index = new Map(); // node key -> row index
    this.selected = null; // node key
    this.failing = new Set();
    this.critical = new Set();
    this.showCritical = false;
    this.t0 = 0;
    this.span = 1;
    this.rendered = new Map(); // row index -> element

    this.spacer = h("div", { class: "tree-spacer" });
    this.scroller = h("div", { class: "tree-scroll", role: "tree", tabindex: "0",
      "aria-label": "Call tree", "aria-multiselectable": "false" }, this.spacer);
    this.axis = h("div", { class: "axis" });
    this.header = h("div", { class: "tree-header", "aria-hidden": "true" },
      h("div", { text: "Step" }), h("div", { class: "right", text: "Time" }), this.axis);
    this.scroller.addEventListener("scroll", () => this.schedule());
    this.scroller.addEventListener("keydown", (event) => this.onKey(event));
    this.scroller.addEventListener("click", (event) => this.onClick(event));
    this.scroller.addEventListener("dblclick", (event) => {
      const key = this.keyAt(event);
      if (key) this.toggle(key);
    });
    this.frame = 0;
    new ResizeObserver(() => this.schedule()).observe(this.scroller);
  }

  /** Load (or reload, keeping expansion and selection) the outline's steps. */
  setSteps(steps, { failingPath = [], criticalPath = [], now = null } = {}) {
    const nodes = new Map();
    const roots = [];
    let t0 = Infinity;
    let end = -Infinity;
    for (const step of steps) {
      const node = { key: `s${step.id}`, id: step.id, step, children: [], parent: null, depth: 0, aggregate: null };
      nodes.set(node.key, node);
      t0 = Math.min(t0, step.started_at_ns);
      end = Math.max(end, step.started_at_ns + (step.duration_ns || 0));
    }
    for (const step of steps) {
      const node = nodes.get(`s${step.id}`);
      const parent = step.parent_id === null ? null : nodes.get(`s${step.parent_id}`);
      if (parent) { node.parent = parent; parent.children.push(node); } else roots.push(node);
    }
    for (const node of [...nodes.values()]) {
      (node.step.aggregates || []).forEach((agg, i) => {
        const child = { key: `a${node.id}.${i}`, id: null, step: null, aggregate: agg, children: [], parent: node, depth: 0 };
        node.children.push(child);
        nodes.set(child.key, child);
      });
    }
    const stack = roots.map((r) => [r, 0]);
    while (stack.length) {
      const [node, depth] = stack.pop();
      node.depth = depth;
      for (const child of node.children) stack.push([child, depth + 1]);
    }
    if (now !== null) end = Math.max(end, now);
    this.nodes = nodes;
    this.roots = roots;
    this.t0 = Number.isFinite(t0) ? t0 : 0;
    this.span = Math.max(1, (Number.isFinite(end) ? end : 0) - this.t0);
    this.failing = new Set(failingPath.map((id) => `s${id}`));
    this.critical = new Set(criticalPath.map((id) => `s${id}`));
    this.renderAxis();
    this.refresh();
  }

  node(key) { return this.nodes.get(key); }
  stepNode(id) { return this.nodes.get(`s${id}`); }

  /** Expand every ancestor of a node, so it is in the list. */
  reveal(key) {
    let node = this.nodes.get(key);
    for (node = node && node.parent; node; node = node.parent) this.expanded.add(node.key);
  }

  expandAll() {
    for (const node of this.nodes.values()) if (node.children.length) this.expanded.add(node.key);
    this.refresh();
  }

  collapseAll() {
    this.expanded.clear();
    for (const root of this.roots) this.expanded.add(root.key);
    this.refresh();
    if (this.selected && !this.index.has(this.selected)) this.select(this.roots[0] && this.roots[0].key);
  }

  toggle(key, open) {
    const node = this.nodes.get(key);
    if (!node || !node.children.length) return;
    const want = open === undefined ? !this.expanded.has(key) : open;
    if (want) this.expanded.add(key); else this.expanded.delete(key);
    this.refresh();
  }

  setCritical(on) {
    this.showCritical = on;
    this.redraw();
  }

  /** Recompute the visible rows (after expanding, collapsing or new data). */
  refresh() {
    const rows = [];
    const index = new Map();
    const stack = [...this.roots].reverse();
    while (stack.length) {
      const node = stack.pop();
      index.set(node.key, rows.length);
      rows.push(node);
      if (node.children.length && this.expanded.has(node.key)) {
        for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]);
      }
    }
    this.rows = rows;
    this.index = index;
    this.spacer.style.height = `${rows.length * ROW_H}px`;
    this.redraw();
  }

  redraw() {
    for (const el of this.rendered.values()) el.remove();
    this.rendered.clear();
    this.render();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
  }

  render() {
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const last = Math.min(this.rows.length - 1, Math.ceil((top + height) / ROW_H) + OVERSCAN);
    for (const [i, el] of this.rendered) {
      if (i < first || i > last) { el.remove(); this.rendered.delete(i); }
    }
    for (let i = first; i <= last; i++) {
      if (this.rendered.has(i)) continue;
      const el = this.row(this.rows[i], i);
      this.rendered.set(i, el);
      this.spacer.appendChild(el);
    }
    if (this.selected && this.index.has(this.selected)) {
      this.scroller.setAttribute("aria-activedescendant", rowId(this.selected));
    } else {
      this.scroller.removeAttribute("aria-activedescendant");
    }
  }

  row(node, i) {
    const step = node.step;
    const open = this.expanded.has(node.key);
    const hasKids = node.children.length > 0;
    const classes = ["tree-row"];
    if (node.key === this.selected) classes.push("selected");
    if (this.failing.has(node.key)) classes.push("failing");
    if (this.showCritical && this.critical.has(node.key)) classes.push("critical");
    if (node.aggregate) classes.push("aggregate");
    const el = h("div", {
      class: classes, role: "treeitem", id: rowId(node.key),
      "aria-level": String(node.depth + 1), "aria-selected": String(node.key === this.selected),
      "aria-expanded": hasKids ? String(open) : undefined,
      dataset: { key: node.key, stepId: step ? String(step.id) : "" },
      style: { top: `${i * ROW_H}px` },
    });
    const twisty = h("span", { class: ["twisty", hasKids ? "" : "leaf"], "data-role": "twisty",
      "aria-hidden": "true", text: open ? "▾" : "▸" });
    // Indentation stops at MAX_INDENT levels so deep recursion keeps its names readable;
    // deeper rows carry their depth instead.
    const deep = node.depth > MAX_INDENT;
    const indent = 6 + Math.min(node.depth, MAX_INDENT) * INDENT_PX - (deep ? DEPTH_MARK_PX : 0);
    const nameCell = h("div", { class: "name-cell", style: { paddingLeft: `${indent}px` } },
      deep ? h("span", { class: "depth-mark", text: `${node.depth}`, title: `depth ${node.depth}` }) : null,
      twisty);
    let start;
    let duration;
    let barClass;
    let label;
    if (step) {
      nameCell.appendChild(h("span", { class: ["dot", `s-${step.status}`], title: step.status, style: { background: "currentColor" } }));
      if (step.kind === "io") nameCell.appendChild(h("span", { class: "tag", text: "HTTP", title: "an outbound request" }));
      nameCell.appendChild(h("span", { class: "name", text: shortName(step.name), title: step.name }));
      if (step.io && step.io.status !== null) nameCell.appendChild(h("span", { class: "count", text: String(step.io.status) }));
      if (step.error) nameCell.appendChild(h("span", { class: "count", text: step.error.type }));
      if (step.aggregates && step.aggregates.length) {
        const calls = step.aggregates.reduce((n, a) => n + a.count, 0);
        nameCell.appendChild(h("span", { class: "count", text: `+${number(calls)} not recorded` }));
      }
      start = step.started_at_ns;
      duration = step.duration_ns;
      barClass = `b-${step.status}`;
      label = duration === null ? "running" : ns(duration);
    } else {
      const agg = node.aggregate;
      nameCell.appendChild(h("span", { class: "dot", style: { color: "var(--idle)" } }));
      nameCell.appendChild(h("span", { class: "name", text: `${shortName(agg.name)} ×${number(agg.count)}`, title: agg.name }));
      nameCell.appendChild(h("span", { class: "count", text: `${ns(agg.total_ns)} total${agg.errors ? `, ${number(agg.errors)} errors` : ""}` }));
      const parent = node.parent.step;
      start = parent.started_at_ns;
      duration = Math.min(agg.total_ns, parent.duration_ns || agg.total_ns);
      barClass = "b-aggregate";
      label = ns(agg.total_ns);
    }
    el.appendChild(nameCell);
    el.appendChild(h("div", { class: "dur-cell", text: label }));
    const left = ((start - this.t0) / this.span) * 100;
    const width = duration === null || duration === undefined
      ? Math.max(0, 100 - left) : (duration / this.span) * 100;
    el.appendChild(h("div", { class: "bar-cell" },
      h("div", { class: ["bar", barClass], style: { left: `${clamp(left)}%`, width: `${clamp(width, 0, 100 - clamp(left))}%` } })));
    return el;
  }

  renderAxis() {
    while (this.axis.firstChild) this.axis.removeChild(this.axis.firstChild);
    for (const f of [0, 0.25, 0.5, 0.75, 1]) {
      this.axis.appendChild(h("span", { style: { left: `${f * 100}%` }, text: f === 0 ? "0" : ns(this.span * f) }));
    }
  }

  keyAt(event) {
    const row = event.target.closest(".tree-row");
    return row ? row.dataset.key : null;
  }

  onClick(event) {
    const key = this.keyAt(event);
    if (!key) return;
    if (event.target.closest("[data-role=twisty]")) this.toggle(key);
    this.select(key);
    this.scroller.focus({ preventScroll: true });
  }

  /** Select a node (expanding its ancestors) and scroll it into view. */
  select(key, { scroll = true, notify = true } = {}) {
    if (!key || !this.nodes.has(key)) return;
    if (!this.index.has(key)) { this.reveal(key); this.refresh(); }
    this.selected = key;
    if (scroll) this.scrollTo(this.index.get(key));
    this.redraw();
    if (notify && this.options.onSelect) this.options.onSelect(this.nodes.get(key));
  }

  /** Scroll so the end of a path (a list of node keys from the root) is in view, with as
   * many of its ancestors above it as fit. */
  showPath(keys) {
    if (!keys.length) return;
    for (const key of keys) this.reveal(key);
    this.refresh();
    const view = Math.max(1, Math.floor((this.scroller.clientHeight || 600) / ROW_H) - 2);
    const last = this.index.get(keys[keys.length - 1]);
    let top = last;
    for (let i = keys.length - 2; i >= 0; i--) {
      const at = this.index.get(keys[i]);
      if (last - at >= view) break;
      top = at;
    }
    this.scroller.scrollTop = Math.max(0, (top - 1) * ROW_H);
    this.render();
  }

  scrollTo(i, center = false) {
    const top = i * ROW_H;
    const view = this.scroller.clientHeight || 600;
    if (center) this.scroller.scrollTop = Math.max(0, top - view / 2);
    else if (top < this.scroller.scrollTop) this.scroller.scrollTop = top;
    else if (top + ROW_H > this.scroller.scrollTop + view) this.scroller.scrollTop = top + ROW_H - view;
  }

  onKey(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const at = this.selected && this.index.has(this.selected) ? this.index.get(this.selected) : -1;
    const node = at >= 0 ? this.rows[at] : null;
    const page = Math.max(1, Math.floor((this.scroller.clientHeight || 600) / ROW_H) - 1);
    let handled = true;
    switch (event.key) {
      case "ArrowDown": this.moveTo(at + 1); break;
      case "ArrowUp": this.moveTo(Math.max(0, at - 1)); break;
      case "PageDown": this.moveTo(at + page); break;
      case "PageUp": this.moveTo(Math.max(0, at - page)); break;
      case "Home": this.moveTo(0); break;
      case "End": this.moveTo(this.rows.length - 1); break;
      case "ArrowRight":
        if (!node) this.moveTo(0);
        else if (node.children.length && !this.expanded.has(node.key)) this.toggle(node.key, true);
        else if (node.children.length) this.moveTo(at + 1);
        break;
      case "ArrowLeft":
        if (node && node.children.length && this.expanded.has(node.key)) this.toggle(node.key, false);
        else if (node && node.parent) this.select(node.parent.key);
        break;
      case "Enter":
      case " ":
        if (node) {
          if (node.children.length) this.toggle(node.key);
          if (this.options.onActivate) this.options.onActivate(node);
        }
        break;
      case "*":
        if (node) { for (const child of walk(node)) if (child.children.length) this.expanded.add(child.key); this.refresh(); }
        break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  }

  moveTo(i) {
    if (!this.rows.length) return;
    const target = Math.min(this.rows.length - 1, Math.max(0, i));
    this.select(this.rows[target].key);
  }
}

function* walk(node) {
  const stack = [node];
  while (stack.length) {
    const n = stack.pop();
    yield n;
    stack.push(...n.children);
  }
}

function rowId(key) {
  return `row-${key.replace(/[^a-z0-9]/gi, "-")}`;
}

function clamp(x, lo = 0, hi = 100) {
  return Math.min(hi, Math.max(lo, x));
}

/** "calculate_order_total.<locals>.apply" -> "apply" with its owners dimmed via title. */
export function shortName(name) {
  return String(name).replaceAll(".<locals>.", ".");
}
