// Source listings with line numbers and highlighted lines, and unified diffs.
import { h } from "./dom.js";

/**
 * renderSource(source, {highlight: Map<line, cls>|Set<line>, notes: Map<line, text>,
 *   from, to, target}) -> <div class="code">. Line numbers are CSS (not copied).
 */
export function renderSource(source, options = {}) {
  const lines = String(source).replace(/\n$/, "").split("\n");
  const from = Math.max(1, options.from || 1);
  const to = Math.min(lines.length, options.to || lines.length);
  const box = h("div", { class: ["code", options.className], role: "region",
    "aria-label": options.label || "source", tabindex: "0" });
  for (let n = from; n <= to; n++) {
    const classes = ["line"];
    const hl = options.highlight;
    if (hl instanceof Map && hl.has(n)) classes.push(hl.get(n));
    else if (hl instanceof Set && hl.has(n)) classes.push("hl");
    if (options.target === n) classes.push("target");
    const row = h("div", { class: classes, "data-n": String(n), id: options.ids ? `L${n}` : undefined },
      lines[n - 1] || " ");
    const note = options.notes && options.notes.get(n);
    if (note) row.appendChild(h("span", { class: "note", text: note }));
    box.appendChild(row);
  }
  return box;
}

/** Scroll a listing so line n is in view (near the top third). */
export function scrollToLine(box, n) {
  const row = box.querySelector(`.line[data-n="${Number(n)}"]`);
  if (!row) return;
  box.scrollTop = Math.max(0, row.offsetTop - box.clientHeight / 3);
}

export function renderDiff(diff) {
  const box = h("div", { class: "code diff tall", role: "region", "aria-label": "diff", tabindex: "0" });
  if (!diff) {
    box.appendChild(h("div", { class: "line", "data-n": "", text: "The sources are identical." }));
    return box;
  }
  for (const line of diff.replace(/\n$/, "").split("\n")) {
    let cls = "line";
    if (line.startsWith("+++") || line.startsWith("---")) cls += " file";
    else if (line.startsWith("@@")) cls += " hunk";
    else if (line.startsWith("+")) cls += " add";
    else if (line.startsWith("-")) cls += " del";
    box.appendChild(h("div", { class: cls, "data-n": "" }, line || " "));
  }
  return box;
}
