// Performance blame on a function's Stats tab, and its flame graphs tab: both read the
// analyses across runs (/blame, /flame, /flame/diff) and build everything from text nodes.
import { describeError, get } from "./api.js";
import { renderDiff } from "./code.js";
import { h, replace } from "./dom.js";
import { ns, number } from "./format.js";
import { flameGraph } from "./flame.js";
import { shortName } from "./tree.js";
import { errorBox, spinner } from "./widgets.js";

function pathText(path) {
  return path.map((name) => shortName(name).split(".").pop()).join(" → ");
}

function dist(item, key) {
  const one = (side, which) => (side ? ns(side[`${key}_${which}_ns`]) : "–");
  return `${one(item.old, "p50")} → ${one(item.new, "p50")} (p95 ${one(item.old, "p95")} → ${one(item.new, "p95")})`;
}

function runs(item) {
  return `${item.old ? item.old.runs : 0} / ${item.new ? item.new.runs : 0}`;
}

/** The newest version number below `to` (else `to` itself). */
function older(numbers, to) {
  const below = numbers.filter((n) => n < to);
  return below.length ? Math.max(...below) : to;
}

function select(versions, current, label, onChange) {
  const el = h("select", { "aria-label": label }, [...versions].reverse().map((v) =>
    h("option", { value: String(v.number), selected: v.number === current, text: `v${v.number}` })));
  el.addEventListener("change", () => onChange(Number(el.value)));
  return el;
}

function flagCard(item) {
  const verdict = item.verdict || "errors";
  const head = item.verdict
    ? `${item.verdict === "slower" ? "Slower" : "Faster"}: ${pathText(item.path)} · own time ×${item.ratio === null ? "∞" : item.ratio.toFixed(2)}`
    : `New errors: ${pathText(item.path)}`;
  const parts = [h("h3", { text: head }),
    h("p", { class: "muted", text: `own ${dist(item, "self")} · total ${dist(item, "total")} · runs ${runs(item)}`
      + (item.p_value === null ? "" : ` · p = ${item.p_value.toPrecision(2)}`) })];
  if (item.errors) parts.push(h("p", { class: "err", text: item.errors.message }));
  for (const hunk of item.hunks) {
    parts.push(h("p", null, h("b", { class: "mono", text: `${hunk.function} v${hunk.from_version} → v${hunk.to_version}` }),
      hunk.touches.length ? h("span", { class: "muted", text: ` touches ${hunk.touches.map(shortName).join(", ")}` }) : null));
    parts.push(renderDiff([hunk.header, ...hunk.lines].join("\n")));
  }
  return h("div", { class: ["card", "card-body", "blame-flag", verdict] }, ...parts);
}

/** The blame section of the Stats tab: from/to pickers and the report. */
export function blameSection(base, versions, selected) {
  const out = h("div", null);
  const numbers = versions.map((v) => v.number);
  let to = selected;
  let from = older(numbers, to);
  const controls = h("div", { class: "row-flex" });
  const section = h("section", { id: "blame" }, h("h2", { text: "Blame: which call paths changed" }), controls, out);
  let generation = 0; // a newer request wins over an older one that answers later
  async function load() {
    const mine = ++generation;
    replace(controls,
      h("label", { class: "inline" }, "From", select(versions, from, "Blame from version", (x) => { from = x; load(); })),
      h("label", { class: "inline" }, "To", select(versions, to, "Blame to version", (x) => { to = x; load(); })));
    replace(out, spinner("Testing every call path…"));
    let doc;
    try { doc = await get(`${base}/blame?from=${from}&to=${to}`); } catch (error) {
      if (mine === generation) replace(out, errorBox(describeError(error)));
      return;
    }
    if (mine !== generation) return;
    const r = doc.rules;
    const flagged = doc.paths.filter((p) => p.verdict || p.errors);
    replace(out,
      h("p", { class: "muted", text: `v${doc.from_version}: ${number(doc.old_runs)} runs · v${doc.to_version}: ${number(doc.new_runs)} runs. `
        + `Own time per run and call path, Mann-Whitney U with Benjamini-Hochberg adjustment; flagged with at least ${r.min_runs} runs `
        + `on each side, p < ${r.alpha}, a change of ×${r.min_ratio} and at least ${ns(r.min_delta_ns)}. New errors: a path that `
        + "raises in the new version's runs and never did (or does significantly more often)." }),
      flagged.length ? flagged.map(flagCard) : h("p", { class: "flag-none", text: "Nothing flagged between these versions." }),
      h("div", { class: "card table-wrap" }, h("table", { class: "list", id: "blame-paths" },
        h("thead", null, h("tr", null, ["Call path", "Runs", "Own p50 (p95)", "Total p50 (p95)", "p", "Verdict"]
          .map((t, i) => h("th", { class: i === 1 || i === 4 ? "num" : "", text: t })))),
        h("tbody", null, doc.paths.map((p) => h("tr", { class: p.verdict ? `flag-${p.verdict}` : "" },
          h("td", { class: "mono", text: pathText(p.path), title: p.path.join(" → ") }),
          h("td", { class: "num", text: runs(p) }),
          h("td", { class: "nowrap", text: dist(p, "self") }), h("td", { class: "nowrap", text: dist(p, "total") }),
          h("td", { class: "num", text: p.p_value === null ? "–" : p.p_value.toPrecision(2) }),
          h("td", { text: p.verdict || (p.errors ? "errors" : p.tested ? "" : "untested") })))))));
  }
  load();
  return section;
}

const MODES = [["one", "One version"], ["range", "A time range (any version)"],
  ["diff", "Two versions (differential)"], ["ranges", "Two time ranges (differential)"]];

/** A datetime-local input's value as an ISO instant (UTC), or "" when empty. */
function instant(input) {
  if (!input.value) return "";
  const moment = new Date(input.value);
  return Number.isNaN(moment.getTime()) ? "" : moment.toISOString();
}

function rangeInputs(params, prefix, label) {
  const local = (iso) => {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  };
  const since = h("input", { type: "datetime-local", value: local(params.get(`${prefix}since`)),
    "aria-label": `${label} since` });
  const until = h("input", { type: "datetime-local", value: local(params.get(`${prefix}until`)),
    "aria-label": `${label} until` });
  return { since, until };
}

/** The Flame tab: one version's graph (or a time range's), or the differential graph of two
 * versions (or two time ranges). */
export function flamePanel(base, versions, selected, params, setParams) {
  const wanted = params.get("flame");
  const mode = MODES.some(([id]) => id === wanted) ? wanted : "one";
  const numbers = versions.map((v) => v.number);
  const pick = (key, fallback) => {
    const n = Number.parseInt(params.get(key) || "", 10);
    return numbers.includes(n) ? n : fallback;
  };
  let version = pick("version", selected);
  let to = pick("to", selected);
  let from = pick("from", older(numbers, to));
  const one = rangeInputs(params, "", "Runs");
  const old = rangeInputs(params, "from_", "Old runs");
  const recent = rangeInputs(params, "to_", "New runs");
  const runsInput = h("input", { type: "number", min: "1", max: "200", value: params.get("runs") || "50",
    "aria-label": "Runs", class: "narrow" });
  const out = h("div", { class: "card card-body" }, spinner("Summing runs…"));
  const modeSelect = h("select", { "aria-label": "Flame graph kind" },
    MODES.map(([id, text]) => h("option", { value: id, selected: mode === id, text })));
  const panel = h("div", null);
  for (const input of [one.since, one.until, old.since, old.until, recent.since, recent.until, runsInput]) {
    input.addEventListener("change", () => load());
  }
  const range = (label, pair) => [h("label", { class: "inline" }, `${label} from`, pair.since),
    h("label", { class: "inline" }, "until", pair.until)];
  function controls() {
    const kind = modeSelect.value;
    const parts = [h("label", { class: "inline" }, "Show", modeSelect)];
    if (kind === "one") {
      parts.push(h("label", { class: "inline" }, "Version", select(versions, version, "Flame version", (x) => { version = x; load(); })));
    } else if (kind === "range") {
      parts.push(...range("Runs", one));
    } else if (kind === "diff") {
      parts.push(h("label", { class: "inline" }, "From", select(versions, from, "Flame from version", (x) => { from = x; load(); })),
        h("label", { class: "inline" }, "To", select(versions, to, "Flame to version", (x) => { to = x; load(); })));
    } else {
      parts.push(...range("Old runs", old), ...range("New runs", recent));
    }
    parts.push(h("label", { class: "inline" }, "Runs", runsInput));
    return h("div", { class: "flame-controls" }, ...parts);
  }
  function request(kind, n) {
    const q = new URLSearchParams({ runs: String(n) });
    const put = (key, value) => { if (value) q.set(key, value); };
    if (kind === "one") put("version", version);
    if (kind === "range") { put("since", instant(one.since)); put("until", instant(one.until)); }
    if (kind === "diff") { put("from", from); put("to", to); }
    if (kind === "ranges") {
      put("from_since", instant(old.since)); put("from_until", instant(old.until));
      put("to_since", instant(recent.since)); put("to_until", instant(recent.until));
    }
    const path = kind === "diff" || kind === "ranges" ? "/flame/diff" : "/flame";
    return [`${base}${path}?${q}`, q];
  }
  function caption(kind, doc) {
    if (kind === "one") return `Own time by call path over the newest ${doc.runs} finished runs of v${version}: each box is as wide as the own time of everything under it.`;
    if (kind === "range") return `Own time by call path over the newest ${doc.runs} finished runs in the time range, any version.`;
    const sides = kind === "diff" ? [`v${from}`, `v${to}`] : ["the old range", "the new range"];
    return `Own time per run by call path, ${sides[0]} (${doc.old_runs} runs) → ${sides[1]} (${doc.new_runs} runs): red got slower, blue faster.`;
  }
  let generation = 0; // a newer request wins over an older one that answers later
  async function load() {
    const mine = ++generation;
    const kind = modeSelect.value;
    const n = Math.max(1, Math.min(200, Number.parseInt(runsInput.value, 10) || 50));
    const [url, query] = request(kind, n);
    const state = { flame: kind === "one" ? null : kind, from: null, to: null, since: null, until: null,
      from_since: null, from_until: null, to_since: null, to_until: null, runs: n };
    for (const [key, value] of query) state[key] = value;
    if (kind === "one") state.version = version;
    setParams(state);
    replace(panel, controls(), out);
    replace(out, spinner("Summing runs…"));
    try {
      const doc = await get(url);
      if (mine !== generation) return;
      const diff = kind === "diff" || kind === "ranges";
      replace(out, h("p", { class: "muted", text: caption(kind, doc) }), flameGraph(doc, { diff }));
    } catch (error) {
      if (mine === generation) replace(out, errorBox(describeError(error)));
    }
  }
  modeSelect.addEventListener("change", load);
  load();
  return panel;
}
