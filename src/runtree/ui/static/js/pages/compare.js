// Two executions compared by their trees: the merged tree (one row per aligned pair, marks
// for changed / only in a / only in b) and the selected pair side by side. Opens on the
// first divergence that matters; ?row=N selects a row. Keys: ↑ ↓ move, n / p next or
// previous difference.
import { describeError, get } from "../api.js";
import { h, link, markNav, pageData, replace, setTitle } from "../dom.js";
import { ms, ns, number, shortId } from "../format.js";
import { renderJSON } from "../json.js";
import { shortName } from "../tree.js";
import { badge, errorBox, spinner } from "../widgets.js";

markNav("executions");
const app = document.getElementById("app");
const { a, b } = pageData();
const MARKS = { same: " ", changed: "~", added: "+", removed: "−" };
const KIND_LABELS = { same: "same", changed: "changed", added: "only in b", removed: "only in a" };
const REASONS = {
  failure: "one run failed here and the other did not", inputs: "the inputs differ",
  added: "a step only in b", removed: "a step only in a", status: "the status differs",
  error: "the error differs", output: "the output differs", version: "another version ran",
  aggregates: "aggregated calls differ",
};

let doc = null;
let selected = 0;
const rowEls = [];
const headBox = h("div", { class: "card card-body" }, spinner("Comparing…"));
const rowsBox = h("div", { class: "compare-rows", role: "listbox", tabindex: "0", "aria-label": "Aligned steps" });
const detail = h("section", { class: "compare-detail card card-body", "aria-live": "polite" });
const onlyChanges = h("input", { type: "checkbox", id: "only-changes" });
replace(app, headBox, h("div", { class: "row-flex" },
  h("label", { class: "inline", for: "only-changes" }, onlyChanges, " Only differences and their callers")),
h("div", { class: "compare-body" }, h("div", { class: "card compare-tree" }, rowsBox), detail));

try {
  doc = await get(`/executions/${encodeURIComponent(a)}/compare/${encodeURIComponent(b)}`);
} catch (error) {
  replace(headBox, errorBox(describeError(error)));
  app.setAttribute("aria-busy", "false");
  throw error;
}
setTitle(`Compare ${shortId(a)} · ${shortId(b)}`);
renderHead();
renderRows();
const wanted = Number.parseInt(new URLSearchParams(location.search).get("row") || "", 10);
select(Number.isFinite(wanted) && doc.rows[wanted] ? wanted
  : doc.first_divergence ? doc.first_divergence.row : 0, true);
onlyChanges.addEventListener("change", () => { renderRows(); select(selected, true); });
rowsBox.addEventListener("keydown", onKey);
app.setAttribute("aria-busy", "false");

function run(label, r) {
  return h("div", { class: "compare-run" },
    h("b", { class: "mono", text: label }),
    link(`/executions/${r.id}`, shortId(r.id), { class: "mono" }),
    link(`/functions/${r.function}`, r.function), h("span", { class: "tag", text: `v${r.version}` }),
    badge(r.status), h("span", { class: "muted", text: ms(r.duration_ms) }));
}

function renderHead() {
  const c = doc.counts;
  const parts = [
    h("div", { class: "page-head" }, h("h1", { text: "Compare runs" }),
      link(`/compare/${b}/${a}`, "⇄ Swap", { class: "btn small" })),
    run("a", doc.a), run("b", doc.b),
    h("p", { class: "muted", text: `${number(doc.rows.length)} aligned rows: ${number(c.same)} same, `
      + `${number(c.changed)} changed, ${number(c.removed)} only in a, ${number(c.added)} only in b.` }),
  ];
  const first = doc.first_divergence;
  if (first) {
    parts.push(h("div", { class: ["divergence", first.reason === "failure" ? "failed" : ""], id: "first-divergence" },
      h("span", null, "First divergence: ", h("b", { text: REASONS[first.reason] || first.reason }), " at "),
      h("span", { class: "mono", text: first.path.map(shortName).join(" → ") }), " ",
      h("button", { class: "btn small", type: "button", text: "Go there", onclick: () => select(first.row, true) })));
  } else {
    parts.push(h("div", { class: "divergence same", id: "first-divergence",
      text: "No differences: the same calls with the same statuses, inputs and outputs." }));
  }
  replace(headBox, ...parts);
}

function visibleRows() {
  if (!onlyChanges.checked) return doc.rows;
  const keep = new Set();
  for (const row of doc.rows) {
    if (row.kind === "same") continue;
    for (let at = row.index; at !== null && !keep.has(at); at = doc.rows[at].parent) keep.add(at);
  }
  return doc.rows.filter((row) => keep.has(row.index));
}

function times(row) {
  if (!row.a || !row.b) return ns((row.a || row.b).duration_ns);
  const ratio = row.total_ratio === null ? "" : ` ×${row.total_ratio.toFixed(2)}`;
  return `${ns(row.a.duration_ns)} → ${ns(row.b.duration_ns)}${ratio}`;
}

function chips(row) {
  const out = [];
  if (row.status_changed) out.push("status");
  if (row.error) out.push(`error ${row.error}`);
  if (row.inputs.length) out.push(`inputs: ${row.inputs.map((c) => c.key).join(", ")}`);
  if (row.output_changed) out.push("output");
  if (row.version_changed) out.push(`v${row.a.version} → v${row.b.version}`);
  if (row.aggregates.length) out.push("aggregates");
  return out.map((text) => h("span", { class: "chip", text }));
}

function renderRows() {
  rowEls.length = 0;
  const target = doc.first_divergence ? doc.first_divergence.row : -1;
  const items = visibleRows().map((row) => {
    const el = h("div", { class: ["crow", `k-${row.kind}`, row.index === target ? "first" : ""], role: "option",
      id: `row-${row.index}`, dataset: { index: row.index }, "aria-selected": "false",
      onclick: () => select(row.index, false) },
    h("span", { class: "cmark", "aria-label": KIND_LABELS[row.kind], text: row.index === target ? "▶" : MARKS[row.kind] }),
    h("span", { class: "cname", style: { paddingLeft: `${row.depth * 1.1}em` }, text: shortName(row.name), title: row.name }),
    h("span", { class: "ctime", text: times(row) }), ...chips(row));
    rowEls[row.index] = el;
    return el;
  });
  replace(rowsBox, ...items);
}

function select(index, scroll) {
  const old = rowEls[selected];
  if (old) old.setAttribute("aria-selected", "false");
  selected = index;
  const el = rowEls[index];
  if (el) {
    el.setAttribute("aria-selected", "true");
    rowsBox.setAttribute("aria-activedescendant", el.id);
    if (scroll) el.scrollIntoView({ block: "center" });
    else el.scrollIntoView({ block: "nearest" });
  }
  const p = new URLSearchParams(location.search);
  p.set("row", String(index));
  history.replaceState(null, "", `${location.pathname}?${p}`);
  renderDetail(doc.rows[index]);
}

function onKey(event) {
  const visible = visibleRows().map((r) => r.index);
  const at = visible.indexOf(selected);
  let next = null;
  if (event.key === "ArrowDown") next = visible[Math.min(visible.length - 1, at + 1)];
  else if (event.key === "ArrowUp") next = visible[Math.max(0, at - 1)];
  else if (event.key === "Home") next = visible[0];
  else if (event.key === "End") next = visible[visible.length - 1];
  else if (event.key === "n" || event.key === "p") {
    const step = event.key === "n" ? 1 : -1;
    for (let i = at + step; i >= 0 && i < visible.length; i += step) {
      if (doc.rows[visible[i]].kind !== "same") { next = visible[i]; break; }
    }
  }
  if (next === null || next === undefined) return;
  event.preventDefault();
  select(next, false);
}

function sideCell(side, execution, fn) {
  if (!side) return h("td", { class: "muted", text: "—" });
  return h("td", null, fn(side, execution));
}

function renderDetail(row) {
  const path = [];
  for (let at = row.index; at !== null; at = doc.rows[at].parent) path.unshift(shortName(doc.rows[at].name));
  const lines = [
    ["step", (s, e) => link(`/executions/${e.id}?step=${s.id}`, `#${s.id} in ${shortId(e.id)}`)],
    ["status", (s) => badge(s.status)],
    ["version", (s) => `${s.function || ""} v${s.version ?? "?"}`],
    ["duration", (s) => ns(s.duration_ns)],
    ["own time", (s) => ns(s.self_ns)],
    ["error", (s) => (s.error ? h("span", { class: "err", text: s.error }) : h("span", { class: "muted", text: "none" }))],
  ];
  const table = h("table", { class: "list compare-sides" },
    h("thead", null, h("tr", null, h("th"), h("th", { text: "a" }), h("th", { text: "b" }))),
    h("tbody", null, lines.map(([label, fn]) => h("tr", null, h("th", { text: label }),
      sideCell(row.a, doc.a, fn), sideCell(row.b, doc.b, fn)))));
  const parts = [
    h("h2", { class: "mono", text: path.join(" → ") }),
    h("p", null, h("span", { class: ["chip", `k-${row.kind}`], text: KIND_LABELS[row.kind] }),
      row.total_ratio !== null ? h("span", { class: "muted", text: `  duration ×${row.total_ratio.toFixed(2)}` }) : null,
      row.self_ratio !== null ? h("span", { class: "muted", text: `  own time ×${row.self_ratio.toFixed(2)}` }) : null),
    table,
  ];
  if (row.inputs.length) {
    parts.push(h("h3", { text: "Inputs that differ" }), h("table", { class: "list", id: "input-changes" },
      h("thead", null, h("tr", null, ["input", "a", "b"].map((t) => h("th", { text: t })))),
      h("tbody", null, row.inputs.map((c) => h("tr", null,
        h("td", null, h("code", { text: c.key }), c.redacted ? h("span", { class: "mark redacted", text: "redacted",
          title: "redacted parts are never compared" }) : null),
        h("td", null, c.change === "added" ? h("span", { class: "muted", text: "absent" }) : renderJSON(c.a)),
        h("td", null, c.change === "removed" ? h("span", { class: "muted", text: "absent" }) : renderJSON(c.b)))))));
  } else if (row.a && row.b) {
    parts.push(h("p", { class: "muted", text: "Same inputs (as recorded)." }));
  }
  if (row.a && row.b) parts.push(h("p", { class: row.output_changed ? "" : "muted",
    text: row.output_changed ? "The output differs (open either step to see it)." : "Same output." }));
  if (row.aggregates.length) {
    parts.push(h("h3", { text: "Aggregated calls" }), h("ul", null, row.aggregates.map((g) =>
      h("li", null, h("code", { text: g.name }), ` ×${number(g.count_a)} → ×${number(g.count_b)}`,
        g.errors_a || g.errors_b ? ` (errors ${g.errors_a} → ${g.errors_b})` : ""))));
  }
  replace(detail, ...parts);
}
