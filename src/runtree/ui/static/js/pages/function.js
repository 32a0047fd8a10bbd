// One function: its source (any version, with line numbers), a run form generated from the
// entry point's signature, statistics per version, the versions, and a diff between any two.
// The tab is the URL's hash; ?version=N picks the version, ?line=L a source line,
// ?from=A&to=B the diff.
import { ApiError, describeError, get, request } from "../api.js";
import { blameSection, flamePanel } from "../blame.js";
import { renderDiff, renderSource, scrollToLine } from "../code.js";
import { h, link, markNav, pageData, replace, setTitle } from "../dom.js";
import { dateTime, ms, ns, number, percent } from "../format.js";
import { buildRunForm } from "../runform.js";
import { shortName } from "../tree.js";
import { badge, errorBox, spinner } from "../widgets.js";

markNav("functions");
const app = document.getElementById("app");
const { namespace, name } = pageData();
const base = `/functions/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
const TABS = [["source", "Source"], ["run", "Run"], ["stats", "Stats"], ["flame", "Flame graph"], ["versions", "Versions"], ["diff", "Diff"], ["shadow", "Shadow"]];
const versionCache = new Map();
let fn = null;
let versions = [];

function params() { return new URLSearchParams(location.search); }

function setParams(changes, hash) {
  const p = params();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === undefined || v === "") p.delete(k); else p.set(k, String(v));
  }
  const url = `${location.pathname}${p.toString() ? `?${p}` : ""}${hash ? `#${hash}` : location.hash}`;
  history.replaceState(null, "", url);
}

function selectedVersion() {
  const n = Number.parseInt(params().get("version") || "", 10);
  return versions.some((v) => v.number === n) ? n : fn.current_version;
}

function versionDetail(n) {
  if (!versionCache.has(n)) versionCache.set(n, get(`${base}/versions/${n}`));
  return versionCache.get(n);
}

function versionSelect(current, onChange, label = "Version") {
  const select = h("select", { "aria-label": label },
    [...versions].reverse().map((v) => h("option", { value: String(v.number), selected: v.number === current,
      text: `v${v.number}${v.number === fn.current_version ? " (current)" : ""} · ${dateTime(v.created_at)}` })));
  select.addEventListener("change", () => onChange(Number(select.value)));
  return select;
}

// --- page -------------------------------------------------------------------------------

const head = h("div", { class: "card card-body" }, spinner());
const tabBar = h("div", { class: "tabs", role: "tablist", "aria-label": "Function" });
const panel = h("section", { class: "tab-panel", role: "tabpanel", id: "tab-panel" });
replace(app, head, h("div", null, tabBar, panel));

try {
  fn = await get(base);
  versions = (await get(`${base}/versions`)).versions;
} catch (error) {
  replace(head, errorBox(describeError(error)));
  app.setAttribute("aria-busy", "false");
  throw error;
}
if (fn.version) versionCache.set(fn.version.number, Promise.resolve(fn.version));
setTitle(fn.function);
replace(head,
  h("div", { class: "page-head" }, h("h1", { class: "mono", text: fn.function }),
    fn.current_version ? h("span", { class: "tag", text: `v${fn.current_version}` }) : null,
    fn.latest_version > fn.current_version
      ? link(`${location.pathname}#shadow`, `v${fn.latest_version} not current`, { class: "tag", title: "stored by a shadow deploy: see its report" })
      : null,
    fn.last_status ? link(`/executions/${fn.last_execution_id}`, badge(fn.last_status), { "aria-label": "last run" }) : null,
    h("span", { class: "muted" }, link(`/?function=${encodeURIComponent(fn.function)}`, `${number(fn.run_count)} runs`))),
  fn.description ? h("p", { class: "muted", text: fn.description }) : null);
for (const [id, label] of TABS) {
  tabBar.appendChild(h("button", { type: "button", role: "tab", id: `tab-${id}`, "aria-controls": "tab-panel",
    dataset: { tab: id }, text: label, onclick: () => { location.hash = id; } }));
}
tabBar.addEventListener("keydown", (event) => {
  const ids = TABS.map(([id]) => id);
  const at = ids.indexOf(currentTab());
  if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
    const next = ids[(at + (event.key === "ArrowRight" ? 1 : ids.length - 1)) % ids.length];
    location.hash = next;
    document.getElementById(`tab-${next}`).focus();
    event.preventDefault();
  }
});
window.addEventListener("hashchange", show);
show();
app.setAttribute("aria-busy", "false");

function currentTab() {
  const hash = location.hash.slice(1);
  return TABS.some(([id]) => id === hash) ? hash : "source";
}

function show() {
  const tab = currentTab();
  for (const button of tabBar.querySelectorAll("[role=tab]")) {
    const on = button.dataset.tab === tab;
    button.setAttribute("aria-selected", String(on));
    button.tabIndex = on ? 0 : -1;
  }
  panel.setAttribute("aria-labelledby", `tab-${tab}`);
  ({ source: showSource, run: showRun, stats: showStats, flame: showFlame, versions: showVersions, diff: showDiff, shadow: showShadow })[tab]();
}

// --- source ------------------------------------------------------------------------------

async function showSource() {
  const n = selectedVersion();
  replace(panel, spinner());
  let v;
  try { v = await versionDetail(n); } catch (error) { replace(panel, errorBox(describeError(error))); return; }
  const line = Number.parseInt(params().get("line") || "", 10);
  const marks = new Map();
  const notes = new Map();
  for (const w of v.warnings || []) { marks.set(w.lineno, "warned"); notes.set(w.lineno, `⚠ ${w.message}`); }
  if (Number.isFinite(line)) marks.set(line, "hl");
  const listing = renderSource(v.source, { highlight: marks, notes, ids: true, className: "tall",
    target: Number.isFinite(line) ? line : undefined, label: `${fn.function} v${n} source` });
  const s = v.settings || {};
  replace(panel,
    h("div", { class: "row-flex" },
      h("label", { class: "inline" }, "Version", versionSelect(n, (x) => { setParams({ version: x, line: null }); showSource(); })),
      h("span", { class: "muted", text: `created ${dateTime(v.created_at)}${v.created_by ? ` by ${v.created_by}` : ""}` }),
      h("code", { class: "faint", title: v.sha256, text: `sha256 ${v.sha256.slice(0, 12)}…` }),
      h("span", { class: "grow" }),
      link(`/?function=${encodeURIComponent(fn.function)}&version=${n}`, "Runs of this version", { class: "btn" }),
      h("button", { class: "btn", type: "button", text: "Run this version",
        onclick: () => { setParams({ version: n }, "run"); show(); } })),
    h("div", { class: "row-flex muted" },
      h("span", { text: `timeout ${s.timeout_s}s` }), h("span", { text: `memory ${s.memory_mb} MB` }),
      h("span", { text: `tracking ${s.tracking ? "on" : "off"}` }),
      v.dependencies && v.dependencies.length ? h("span", { text: `uses ${v.dependencies.join(", ")}` }) : null,
      v.warnings && v.warnings.length ? h("span", { class: "mark", text: `${v.warnings.length} warning${v.warnings.length === 1 ? "" : "s"}` }) : null),
    listing);
  if (Number.isFinite(line)) requestAnimationFrame(() => scrollToLine(listing, line));
}

// --- run ---------------------------------------------------------------------------------

async function showRun() {
  const n = selectedVersion();
  replace(panel, spinner());
  let v;
  try { v = await versionDetail(n); } catch (error) { replace(panel, errorBox(describeError(error))); return; }
  const signature = v.signature || { name, parameters: [] };
  const runForm = buildRunForm(signature, async (input) => {
    runForm.setBusy(true);
    try {
      const { body } = await request(`${base}/executions`, { method: "POST", body: { input, version: n, wait: false } });
      location.href = `/executions/${encodeURIComponent(body.id)}`;
    } catch (error) {
      runForm.setBusy(false);
      if (error instanceof ApiError && Array.isArray(error.problem.errors)) {
        runForm.setProblems(error.problem.errors.map((e) => ({ parameter: e.parameter || e.field, message: e.message })));
      } else {
        runForm.setProblems([], describeError(error));
      }
    }
  });
  replace(panel,
    h("div", { class: "row-flex" },
      h("label", { class: "inline" }, "Version", versionSelect(n, (x) => { setParams({ version: x }); showRun(); })),
      h("code", { class: "muted", text: `${signature.is_async ? "async " : ""}def ${signature.name}(${(signature.parameters || [])
        .map((p) => `${p.kind === "var_positional" ? "*" : p.kind === "var_keyword" ? "**" : ""}${p.name}`
          + `${p.annotation ? `: ${p.annotation}` : ""}${p.has_default ? ` = ${p.default_source ?? JSON.stringify(p.default)}` : ""}`)
        .join(", ")})` })),
    h("div", { class: "card card-body" }, runForm.form));
}

// --- stats -------------------------------------------------------------------------------

async function showStats() {
  const n = selectedVersion();
  replace(panel, spinner("Working out statistics…"));
  let stats;
  try { stats = await get(`${base}/stats?version=${n}`); } catch (error) { replace(panel, errorBox(describeError(error))); return; }
  const selected = stats.versions.find((v) => v.version === n);
  const rows = stats.versions.filter((v) => v.runs > 0 || v.version === n);
  const table = h("table", { class: "list", id: "version-stats" },
    h("thead", null, h("tr", null, ["Version", "Runs", "Succeeded", "Failed", "Error rate", "p50", "p95", "p99"]
      .map((t, i) => h("th", { class: i ? "num" : "", text: t })))),
    h("tbody", null, rows.map((v) => h("tr", { class: v.version === n ? "clickable selected-row" : "clickable",
      onclick: () => { setParams({ version: v.version }); showStats(); } },
    h("td", null, h("b", { text: `v${v.version}` }), v.version === n ? " ◂" : ""),
    h("td", { class: "num", text: number(v.runs) }),
    h("td", { class: "num", text: number(v.statuses.succeeded || 0) }),
    h("td", { class: "num", text: number((v.statuses.failed || 0) + (v.statuses.timed_out || 0) + (v.statuses.crashed || 0)) }),
    h("td", { class: "num", text: percent(v.error_rate) }),
    h("td", { class: "num", text: ms(v.p50_ms) }), h("td", { class: "num", text: ms(v.p95_ms) }),
    h("td", { class: "num", text: ms(v.p99_ms) })))));
  const parts = [h("h2", { text: "Runs per version" }),
    h("p", { class: "muted", text: "Error rate: failed, timed out and crashed runs among finished ones (cancelled runs are left out). "
      + "Durations over the newest 1,000 finished runs of each version." }),
    h("div", { class: "card table-wrap" }, table)];
  parts.push(h("h2", { text: `Slowest steps of v${n}, by own time` }));
  const slow = (selected && selected.slowest_steps) || [];
  if (!slow.length) {
    parts.push(h("p", { class: "muted", text: "No finished runs of this version yet." }));
  } else {
    parts.push(h("p", { class: "muted", text: `Across its newest ${selected.recent_runs} finished run${selected.recent_runs === 1 ? "" : "s"}. `
      + "Own time is a step's duration minus the time its recorded children took." }));
    parts.push(h("div", { class: "card table-wrap" }, h("table", { class: "list", id: "slowest-steps" },
      h("thead", null, h("tr", null, ["Step", "Calls", "Runs", "Total own", "Mean own", "Slowest"].map((t, i) =>
        h("th", { class: i ? "num" : "", text: t })))),
      h("tbody", null, slow.map((s) => h("tr", null,
        h("td", null, h("span", { class: "mono", text: shortName(s.name), title: s.name }),
          s.function && s.function !== fn.function ? h("span", { class: "faint", text: ` (${s.function})` }) : null),
        h("td", { class: "num", text: number(s.calls) }), h("td", { class: "num", text: number(s.runs) }),
        h("td", { class: "num", text: ns(s.total_self_ns) }), h("td", { class: "num", text: ns(s.mean_self_ns) }),
        h("td", { class: "num" }, link(`/executions/${s.slowest_execution_id}?step=${s.slowest_step_id}`, ns(s.max_self_ns),
          { title: "open the slowest one" }))))))));
  }
  parts.push(blameSection(base, versions, n));
  replace(panel, ...parts);
}

// --- flame graphs ------------------------------------------------------------------------

function showFlame() {
  replace(panel, flamePanel(base, versions, selectedVersion(), params(), (changes) => setParams(changes)));
}

// --- versions ----------------------------------------------------------------------------

function showVersions() {
  replace(panel, h("div", { class: "card table-wrap" }, h("table", { class: "list", id: "versions" },
    h("thead", null, h("tr", null, ["Version", "Created", "By", "sha256", "Settings", "Warnings", ""].map((t) => h("th", { text: t })))),
    h("tbody", null, [...versions].reverse().map((v) => h("tr", null,
      h("td", null, h("b", { text: `v${v.number}` }), v.number === fn.current_version ? h("span", { class: "faint", text: " current" }) : null),
      h("td", { class: "nowrap", text: dateTime(v.created_at) }),
      h("td", { class: "muted", text: v.created_by || "–" }),
      h("td", null, h("code", { title: v.sha256, text: v.sha256.slice(0, 12) })),
      h("td", { class: "muted nowrap", text: `${v.settings.timeout_s}s · ${v.settings.memory_mb} MB${v.settings.tracking ? "" : " · no tracking"}` }),
      h("td", { class: "num", text: number((v.warnings || []).length) }),
      h("td", { class: "nowrap" },
        h("a", { class: "btn small", href: `?version=${v.number}#source`, text: "Source" }), " ",
        v.number > 1 ? h("a", { class: "btn small", href: `?from=${v.number - 1}&to=${v.number}#diff`, text: `Diff v${v.number - 1}` }) : null, " ",
        h("a", { class: "btn small", href: `/?function=${encodeURIComponent(fn.function)}&version=${v.number}`, text: "Runs" }))))))));
}

// --- diff --------------------------------------------------------------------------------

async function showDiff() {
  const p = params();
  const last = fn.current_version;
  let to = Number.parseInt(p.get("to") || "", 10);
  let from = Number.parseInt(p.get("from") || "", 10);
  if (!versions.some((v) => v.number === to)) to = last;
  if (!versions.some((v) => v.number === from)) from = Math.max(1, to - 1);
  const out = h("div", null, spinner());
  const fromSelect = versionSelect(from, (x) => { setParams({ from: x }); showDiff(); }, "From version");
  const toSelect = versionSelect(to, (x) => { setParams({ to: x }); showDiff(); }, "To version");
  replace(panel,
    h("div", { class: "row-flex" },
      h("label", { class: "inline" }, "From", fromSelect),
      h("label", { class: "inline" }, "To", toSelect),
      h("button", { class: "btn", type: "button", text: "⇄ Swap",
        onclick: () => { setParams({ from: to, to: from }); showDiff(); } })),
    out);
  if (versions.length < 2) { replace(out, h("p", { class: "muted", text: "Only one version so far: nothing to compare." })); return; }
  try {
    const diff = await get(`${base}/diff?from=${from}&to=${to}`);
    const changes = Object.entries(diff.settings || {});
    replace(out,
      changes.length ? h("div", { class: "card card-body" }, h("h2", { text: "Settings" }),
        h("ul", null, changes.map(([key, c]) => h("li", null, h("code", { text: key }), ": ",
          h("span", { class: "muted", text: JSON.stringify(c.old) }), " → ", h("b", { text: JSON.stringify(c.new) }))))) : null,
      renderDiff(diff.diff));
  } catch (error) {
    replace(out, errorBox(describeError(error)));
  }
}

// --- shadow reports ----------------------------------------------------------------------

const VERDICTS = {
  same: "same", different_output: "different output", new_error: "new error", fixed_error: "fixed error",
  different_error: "different error", different_tree: "different tree", slower: "slower", cancelled: "cancelled", pending: "pending",
};

function preview(value) {
  const text = JSON.stringify(value);
  return text === undefined ? "" : text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function callTime(value) { return value === null || value === undefined ? "–" : ns(value * 1e6); }

function verdictDetail(run) {
  const r = run.recorded, s = run.shadow;
  switch (run.verdict) {
    case "new_error": return `${r.status} → ${s.status}: ${s.error}`;
    case "fixed_error": return `${r.error} → output ${preview(s.output)}`;
    case "different_error": return `${r.error} → ${s.error}`;
    case "different_output": return `output ${preview(r.output)} → ${preview(s.output)}`;
    case "different_tree": {
      const t = run.tree || {};
      const first = t.first_divergence ? `; first at ${t.first_divergence.path.join(" → ")} (${t.first_divergence.reason})` : "";
      return `steps: ${t.changed} changed, ${t.added} added, ${t.removed} removed${first}`;
    }
    case "slower": return `×${run.time_ratio.toFixed(1)} (${callTime(r.call_ms)} → ${callTime(s.call_ms)})`;
    case "pending": return s.status;
    default: return `${callTime(r.call_ms)} → ${callTime(s.call_ms)}`;
  }
}

function promoteButton(report) {
  const label = report.clean ? `Promote v${report.version}` : `Promote v${report.version} anyway`;
  const note = h("span", { class: "muted" });
  const button = h("button", { class: "btn", type: "button", text: label, onclick: async () => {
    button.disabled = true;
    try {
      await request(`${base}/versions/${report.version}/promote`, { method: "POST", body: { require_clean: report.clean } });
      location.reload();
    } catch (error) {
      button.disabled = false;
      replace(note, describeError(error));
    }
  } });
  return h("span", null, button, " ", note);
}

function reportCard(report) {
  const counts = Object.entries(report.counts).filter(([, n]) => n).map(([v, n]) => `${n} ${VERDICTS[v] || v}`).join(", ");
  const skipped = report.skipped.length
    ? `; ${report.skipped.length} skipped (${[...new Set(report.skipped.map((s) => s.why || s.reason))].join("; ")})` : "";
  const state = report.status !== "finished" ? h("span", { class: "tag", text: "running" })
    : report.clean ? h("span", { class: "tag", text: "clean" }) : h("span", { class: "tag mark", text: "not clean" });
  const current = report.current_version === report.version;
  return h("div", { class: "card card-body shadow-report", dataset: { report: report.id } },
    h("div", { class: "row-flex" },
      h("h2", { text: `v${report.version} against v${report.baseline_version}` }), state,
      current ? h("span", { class: "faint", text: "promoted: current" }) : null,
      h("span", { class: "grow" }),
      h("span", { class: "muted", text: `${dateTime(report.created_at)}${report.created_by ? ` by ${report.created_by}` : ""}` }),
      !current && report.status === "finished" ? promoteButton(report) : null),
    h("p", { class: "muted", text: `${report.replayed} input${report.replayed === 1 ? "" : "s"} replayed, network off${counts ? `: ${counts}` : ""}${skipped}. `
      + `Slower: at least ×${report.slower_rule.ratio} and +${report.slower_rule.min_ms} ms on the root call.` }),
    report.runs.length ? h("div", { class: "table-wrap" }, h("table", { class: "list" },
      h("thead", null, h("tr", null, ["Verdict", "Run", "Input", "What changed", ""].map((t) => h("th", { text: t })))),
      h("tbody", null, report.runs.map((run) => h("tr", null,
        h("td", null, h("b", { text: VERDICTS[run.verdict] || run.verdict })),
        h("td", { class: "mono", text: `${run.recorded.function} v${run.recorded.version}` }),
        h("td", null, h("code", { text: preview(run.input) })),
        h("td", { text: verdictDetail(run) }),
        h("td", { class: "nowrap" },
          link(`/executions/${run.recorded.id}`, "recorded", { class: "btn small" }), " ",
          link(`/executions/${run.shadow.id}`, "shadow", { class: "btn small" }), " ",
          run.verdict !== "pending" ? link(`/compare/${run.recorded.id}/${run.shadow.id}`, "compare", { class: "btn small" }) : null)))))) : null);
}

async function showShadow() {
  replace(panel, spinner());
  let reports;
  try { reports = (await get(`${base}/shadow-reports?limit=10`)).reports; } catch (error) { replace(panel, errorBox(describeError(error))); return; }
  if (!reports.length) {
    replace(panel, h("p", { class: "muted", text: "No shadow reports: `runtree deploy PATH --shadow` stores a new version without making it current "
      + "and replays recorded inputs against it first." }));
    return;
  }
  replace(panel, ...reports.map(reportCard));
  if (reports.some((r) => r.status !== "finished") && currentTab() === "shadow") setTimeout(() => { if (currentTab() === "shadow") showShadow(); }, 2000);
}
