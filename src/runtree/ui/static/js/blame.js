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
  async function load() {
    replace(controls,
      h("label", { class: "inline" }, "From", select(versions, from, "Blame from version", (x) => { from = x; load(); })),
      h("label", { class: "inline" }, "To", select(versions, to, "Blame to version", (x) => { to = x; load(); })));
    replace(out, spinner("Testing every call path…"));
    let doc;
    try { doc = await get(`${base}/blame?from=${from}&to=${to}`); } catch (error) { replace(out, errorBox(describeError(error))); return; }
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

/** The Flame tab: one version's graph, or the differential graph of two versions. */
export function flamePanel(base, versions, selected, params, setParams) {
  const mode = params.get("flame") === "diff" ? "diff" : "one";
  const numbers = versions.map((v) => v.number);
  const pick = (key, fallback) => {
    const n = Number.parseInt(params.get(key) || "", 10);
    return numbers.includes(n) ? n : fallback;
  };
  let version = pick("version", selected);
  let to = pick("to", selected);
  let from = pick("from", older(numbers, to));
  const runsInput = h("input", { type: "number", min: "1", max: "200", value: params.get("runs") || "50",
    "aria-label": "Runs", class: "narrow" });
  const out = h("div", { class: "card card-body" }, spinner("Summing runs…"));
  const modeSelect = h("select", { "aria-label": "Flame graph kind" },
    h("option", { value: "one", selected: mode === "one", text: "One version" }),
    h("option", { value: "diff", selected: mode === "diff", text: "Two versions (differential)" }));
  const panel = h("div", null);
  function controls() {
    const parts = [h("label", { class: "inline" }, "Show", modeSelect)];
    if (modeSelect.value === "one") {
      parts.push(h("label", { class: "inline" }, "Version", select(versions, version, "Flame version", (x) => { version = x; load(); })));
    } else {
      parts.push(h("label", { class: "inline" }, "From", select(versions, from, "Flame from version", (x) => { from = x; load(); })),
        h("label", { class: "inline" }, "To", select(versions, to, "Flame to version", (x) => { to = x; load(); })));
    }
    parts.push(h("label", { class: "inline" }, "Runs", runsInput));
    return h("div", { class: "flame-controls" }, ...parts);
  }
  async function load() {
    const diff = modeSelect.value === "diff";
    const n = Math.max(1, Math.min(200, Number.parseInt(runsInput.value, 10) || 50));
    setParams(diff ? { flame: "diff", from, to, runs: n } : { flame: null, version, runs: n });
    replace(panel, controls(), out);
    replace(out, spinner("Summing runs…"));
    try {
      const doc = diff ? await get(`${base}/flame/diff?from=${from}&to=${to}&runs=${n}`)
        : await get(`${base}/flame?version=${version}&runs=${n}`);
      replace(out, h("p", { class: "muted", text: diff
        ? `Own time per run by call path, v${from} (${doc.old_runs} runs) → v${to} (${doc.new_runs} runs): red got slower, blue faster.`
        : `Own time by call path over the newest ${doc.runs} finished runs of v${version}: each box is as wide as the own time of everything under it.` }),
      flameGraph(doc, { diff }));
    } catch (error) {
      replace(out, errorBox(describeError(error)));
    }
  }
  modeSelect.addEventListener("change", load);
  runsInput.addEventListener("change", load);
  load();
  return panel;
}
