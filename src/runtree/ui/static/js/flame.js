// Flame graphs drawn as SVG built node by node (createElementNS and text nodes: nothing is
// ever parsed as markup). An icicle: roots on top, each call path a box as wide as the own
// time of its subtree; click a box to zoom into it and see its numbers, "Reset zoom" to go
// back. The differential graph colours each path by the change of its own time per run.
import { h, replace } from "./dom.js";
import { ns, number } from "./format.js";
import { shortName } from "./tree.js";

const SVG = "http://www.w3.org/2000/svg";
const ROW = 18;
const CHAR = 6.6; // px per character at 11px monospace

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  for (const child of children) el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  return el;
}

function hash(text) {
  let x = 0;
  for (const c of String(text)) x = (x * 31 + c.codePointAt(0)) >>> 0;
  return x;
}

function warm(node) {
  const x = hash(node.function || node.name);
  return `hsl(${(x % 50) + 5}, ${70 + (x % 20)}%, ${62 + ((x >> 5) % 14)}%)`;
}

/** The colour of a change of own time: blue faster, red slower, grey on one side only. */
export function changeColour(change) {
  if (change === null || change === undefined) return "rgb(185, 190, 200)";
  const c = Math.max(-1, Math.min(1, change));
  const neutral = [233, 228, 220];
  const target = c >= 0 ? [224, 87, 79] : [79, 134, 224];
  const t = Math.abs(c);
  const mix = neutral.map((v, i) => Math.round(v + (target[i] - v) * t));
  return `rgb(${mix.join(", ")})`;
}

function percentChange(change) {
  if (change === null || change === undefined) return "on one side only";
  if (Math.abs(change) < 0.005) return "unchanged";
  return `${change > 0 ? "+" : "−"}${Math.round(Math.abs(change) * 100)}% of the larger`;
}

function describe(node, diff) {
  if (!diff) {
    return `${node.name}\nown ${ns(node.self_ns)} · subtree ${ns(node.value_ns)} · ${number(node.calls)} calls in ${number(node.runs)} runs`;
  }
  return `${node.name}\nown per run ${ns(node.old_self_ns)} → ${ns(node.new_self_ns)} (${percentChange(node.change)})`
    + `\ncalls per run ${node.old_calls.toFixed(1)} → ${node.new_calls.toFixed(1)} · runs ${node.old_runs} / ${node.new_runs}`;
}

/**
 * flameGraph(doc, {diff}) -> element: the graph of a /flame or /flame/diff document, with a
 * "Reset zoom" button and a details line for the box clicked last.
 */
export function flameGraph(doc, { diff = false } = {}) {
  const nodes = doc.nodes;
  const children = new Map();
  for (const node of nodes) {
    const key = node.parent === null ? -1 : node.parent;
    if (!children.has(key)) children.set(key, []);
    children.get(key).push(node);
  }
  const box = h("div", { class: "flame", role: "group", "aria-label": diff ? "Differential flame graph" : "Flame graph" });
  const details = h("div", { class: "flame-detail muted", "aria-live": "polite",
    text: nodes.length ? "Click a box to zoom into it and see its numbers." : "No runs to draw." });
  const reset = h("button", { class: "btn small", type: "button", text: "Reset zoom", disabled: true });
  let zoom = null;

  function draw() {
    const width = Math.max(300, box.clientWidth || 1000);
    const roots = zoom === null ? children.get(-1) || [] : [zoom];
    const total = roots.reduce((sum, node) => sum + node.value_ns, 0) || 1;
    let depth = 0;
    const items = [];
    const stack = roots.map((node, i) => [node, 0, roots.slice(0, i).reduce((s, n) => s + n.value_ns, 0)]);
    while (stack.length) {
      const [node, level, offset] = stack.pop();
      const x = (offset / total) * width;
      const w = (node.value_ns / total) * width;
      if (w < 0.5) continue;
      depth = Math.max(depth, level + 1);
      items.push([node, level, x, w]);
      let at = offset;
      for (const child of children.get(node.id) || []) {
        stack.push([child, level + 1, at]);
        at += child.value_ns;
      }
    }
    const graph = svg("svg", { viewBox: `0 0 ${width} ${Math.max(1, depth) * ROW}`, width: "100%",
      height: Math.max(1, depth) * ROW, role: "img", "aria-label": `${items.length} call paths` });
    for (const [node, level, x, w] of items) {
      const label = shortName(node.name).split(".").pop();
      const fits = Math.floor((w - 6) / CHAR);
      const g = svg("g", { class: "node", "data-id": node.id, "data-name": node.name, tabindex: "0" },
        svg("title", {}, describe(node, diff)),
        svg("rect", { x: x.toFixed(2), y: level * ROW, width: Math.max(0.5, w - 0.5).toFixed(2), height: ROW - 1,
          fill: diff ? changeColour(node.change) : warm(node) }));
      if (fits >= 3) {
        g.appendChild(svg("text", { x: (x + 3).toFixed(2), y: level * ROW + 12.5 },
          label.length > fits ? `${label.slice(0, fits - 1)}…` : label));
      }
      const choose = () => { zoom = node; reset.disabled = false; details.textContent = describe(node, diff).replaceAll("\n", " · "); draw(); };
      g.addEventListener("click", choose);
      g.addEventListener("keydown", (event) => { if (event.key === "Enter") choose(); });
      graph.appendChild(g);
    }
    replace(box, graph);
  }

  reset.addEventListener("click", () => { zoom = null; reset.disabled = true; draw(); });
  const wrapper = h("div", null, h("div", { class: "row-flex" }, reset, legend(diff, doc)), box, details);
  requestAnimationFrame(draw);
  return wrapper;
}

function legend(diff, doc) {
  if (!diff) {
    return h("span", { class: "flame-legend", text: `${number(doc.runs)} runs · ${ns(doc.total_ns)} in all`
      + `${doc.truncated ? " · the lightest paths are left out" : ""}` });
  }
  return h("span", { class: "flame-legend" },
    h("span", null, h("span", { class: "swatch slower" }), " slower"),
    h("span", null, h("span", { class: "swatch faster" }), " faster"),
    h("span", null, h("span", { class: "swatch equal" }), " unchanged"),
    h("span", null, h("span", { class: "swatch one-side" }), " one side only"),
    h("span", { text: `width: own time of the subtree per run (the larger side) · ${number(doc.old_runs)} → ${number(doc.new_runs)} runs` }));
}
