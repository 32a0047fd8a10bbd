// One execution: header, the call tree with its waterfall, and the selected step's details.
// The tree comes from the outline endpoint (every step, no payloads) in one request; a
// step's inputs, output, printed output and traceback are fetched when it is selected.
import { comparePicker } from "../compare_picker.js";
import { describeError, get, request } from "../api.js";
import { renderSource, scrollToLine } from "../code.js";
import { h, link, markNav, pageData, replace, setTitle } from "../dom.js";
import { FINISHED, ago, dateTime, elapsedMs, ms, ns, number, shortId } from "../format.js";
import { renderJSON } from "../json.js";
import { stepTestButton } from "../step_test.js";
import { traceExportButtons } from "../trace_export.js";
import { CallTree, shortName } from "../tree.js";
import { badge, capturedValue, errorBox, errorTitle, spinner } from "../widgets.js";

const EXPAND_ALL_UP_TO = 400; // steps; larger trees open along the failing and critical paths
markNav("executions");

const app = document.getElementById("app");
const data = pageData();
const executionId = data.executionId;

const headBox = h("div", { class: "card card-body exec-head" });
const detailBody = h("div", { class: "card-body", id: "step-detail", "aria-live": "polite" });
const detail = h("aside", { class: "card detail", "aria-label": "Selected step" }, detailBody);
const footer = h("div", { class: "tree-foot" });
let execution = null;
let delivery; // the webhook delivery that started it: undefined until asked, null if none
let replayReport; // a deterministic replay's report: undefined until asked, null if none
let outline = null;
let detailFor = null;
let detailTimer = 0;
const stepCache = new Map();
const known = new Set(); // step ids seen so far
const sourceCache = new Map();

const tree = new CallTree({
  onSelect: (node) => {
    const url = new URL(location.href);
    if (node.step) url.searchParams.set("step", String(node.step.id));
    else url.searchParams.delete("step");
    history.replaceState(null, "", url);
    clearTimeout(detailTimer);
    detailTimer = setTimeout(() => showDetail(node), 60);
  },
  onActivate: (node) => { clearTimeout(detailTimer); showDetail(node); },
});

const criticalButton = h("button", { class: "btn", type: "button", "aria-pressed": "false",
  title: "The chain of steps that decided the total duration", text: "Critical path",
  onclick: () => {
    const on = criticalButton.getAttribute("aria-pressed") !== "true";
    criticalButton.setAttribute("aria-pressed", String(on));
    tree.setCritical(on);
    if (on) tree.showPath(outline.critical_path.map((id) => `s${id}`));
  } });
const failingButton = h("button", { class: "btn", type: "button", text: "Go to failure", hidden: true,
  onclick: () => { const path = outline.failing_path; if (path.length) tree.select(`s${path[path.length - 1]}`); } });

replace(app,
  headBox,
  h("div", { class: "toolbar" },
    h("button", { class: "btn", type: "button", text: "Expand all", onclick: () => tree.expandAll() }),
    h("button", { class: "btn", type: "button", text: "Collapse all", onclick: () => tree.collapseAll() }),
    criticalButton, failingButton,
    h("div", { class: "legend", "aria-hidden": "true" },
      h("span", { style: { "--c": "var(--ok)" }, text: "completed" }),
      h("span", { style: { "--c": "var(--fail)" }, text: "failed" }),
      h("span", { style: { "--c": "var(--warn)" }, text: "interrupted" }),
      h("span", { style: { "--c": "var(--run)" }, text: "running" }),
      h("span", { style: { "--c": "var(--critical)" }, text: "critical path" }))),
  h("div", { class: "explorer" },
    h("section", { class: "card tree-card", "aria-label": "Call tree" }, tree.header, tree.scroller, footer),
    detail));
replace(headBox, spinner("Loading execution…"));
replace(detailBody, h("p", { class: "muted", text: "Select a step to see its inputs, output, printed output and error." }));

async function load(first) {
  let fresh;
  try {
    fresh = await get(`/executions/${encodeURIComponent(executionId)}/outline`);
  } catch (error) {
    if (first) replace(headBox, errorBox(describeError(error)));
    return !first;
  }
  outline = fresh;
  execution = fresh.execution;
  renderHead();
  const running = !FINISHED.has(execution.status);
  const nowNs = running && fresh.steps.length ? Date.now() * 1e6 : null;
  if (first) {
    chooseExpansion(fresh);
    tree.setSteps(fresh.steps, { failingPath: fresh.failing_path, criticalPath: fresh.critical_path, now: nowNs });
    const wanted = Number.parseInt(data.step || new URLSearchParams(location.search).get("step") || "", 10);
    const path = fresh.failing_path;
    let key = null;
    if (Number.isFinite(wanted) && tree.stepNode(wanted)) key = `s${wanted}`;
    else if (path.length) key = `s${path[path.length - 1]}`;
    else if (tree.roots.length) key = tree.roots[0].key;
    if (key) {
      tree.select(key, { notify: false });
      tree.scrollTo(tree.index.get(key), true);
      showDetail(tree.node(key));
    }
    const took = performance.now(); // since navigation start
    document.documentElement.dataset.treeReadyMs = took.toFixed(0);
    app.setAttribute("aria-busy", "false");
  } else {
    for (const step of fresh.steps) {
      if (step.status === "running") stepCache.delete(step.id);
      // small trees stay fully open as they grow; steps the user folded stay folded
      if (!known.has(step.id) && fresh.steps.length <= EXPAND_ALL_UP_TO) tree.expanded.add(`s${step.id}`);
    }
    const wasRunning = detailFor && detailFor.step && detailFor.step.status === "running";
    tree.setSteps(fresh.steps, { failingPath: fresh.failing_path, criticalPath: fresh.critical_path, now: nowNs });
    if (tree.selected && wasRunning) showDetail(tree.node(tree.selected));
  }
  for (const step of fresh.steps) known.add(step.id);
  failingButton.hidden = fresh.failing_path.length === 0;
  renderFooter();
  return running;
}

function chooseExpansion(fresh) {
  if (fresh.steps.length <= EXPAND_ALL_UP_TO) {
    for (const step of fresh.steps) tree.expanded.add(`s${step.id}`);
    return;
  }
  for (const step of fresh.steps) if (step.parent_id === null) tree.expanded.add(`s${step.id}`);
  for (const id of [...fresh.failing_path, ...fresh.critical_path.slice(0, -1)]) tree.expanded.add(`s${id}`);
}

function renderHead() {
  const e = execution;
  setTitle(`${e.function} ${shortId(e.id)}`);
  const parts = [
    h("div", { class: "page-head" },
      h("h1", null, link(`/functions/${e.namespace}/${e.name}`, e.function)),
      link(`/functions/${e.namespace}/${e.name}?version=${e.version}#source`, `v${e.version}`, { class: "tag" }),
      badge(e.status),
      h("span", { class: "mono muted", title: "execution id", text: e.id })),
    h("div", { class: "exec-meta" },
      h("span", null, "trigger ", h("b", { text: e.trigger })),
      h("span", { title: dateTime(e.started_at || e.queued_at) }, "started ", h("b", { text: dateTime(e.started_at || e.queued_at) }),
        ` (${ago(e.started_at || e.queued_at)})`),
      h("span", null, "duration ", h("b", { text: ms(elapsedMs(e)) }), FINISHED.has(e.status) ? "" : " so far"),
      h("span", null, "steps ", h("b", { text: number(outline.steps.length) })),
      e.replay_of ? h("span", null, "replay of ", link(`/executions/${e.replay_of}`, shortId(e.replay_of))) : null,
      delivery ? h("span", null, "delivery ", link(`/webhooks/${encodeURIComponent(delivery.path)}?delivery=${delivery.id}`,
        `${shortId(delivery.id)} on /hooks/${delivery.path}`, { class: "delivery-link" })) : null,
      replayReport ? h("span", { class: "replay-report" }, "deterministic: ",
        h("b", { text: `${replayReport.http.played} of ${replayReport.http.recorded} HTTP answers played` }),
        replayReport.divergence
          ? h("span", { class: "mark", text: ` first divergence: ${replayReport.divergence.request} (${replayReport.divergence.reason})` })
          : null) : null,
      FINISHED.has(e.status) ? comparePicker(e) : null,
      FINISHED.has(e.status) ? deterministicReplayButton(e) : null,
      traceExportButtons(e),
      e.cancel_requested && !FINISHED.has(e.status) ? h("span", { class: "mark", text: "cancel requested" }) : null,
      !FINISHED.has(e.status) && !e.cancel_requested ? h("button", { class: "btn small", type: "button", text: "Cancel run",
        onclick: async (event) => {
          event.target.disabled = true;
          try { await request(`/executions/${encodeURIComponent(e.id)}/cancel`, { method: "POST" }); await load(false); }
          catch (error) { headBox.appendChild(errorBox(describeError(error))); }
        } }) : null),
  ];
  if (e.error) parts.push(h("div", { class: "exec-error", text: errorTitle(e.error) }));
  const open = new Set([...headBox.querySelectorAll("details[open]")].map((d) => d.dataset.part));
  const io = h("div", { class: "io" });
  io.appendChild(h("details", { dataset: { part: "input" }, open: open.has("input") },
    h("summary", { text: "Input" }), renderJSON(e.input)));
  if (e.output !== null && e.output !== undefined) {
    io.appendChild(h("details", { dataset: { part: "output" }, open: open.has("output") },
      h("summary", { text: "Output" }), renderJSON(e.output)));
  }
  parts.push(io);
  replace(headBox, ...parts);
}

/** Replay with the recorded outside world (HTTP answers, clock, randomness); opens the replay. */
function deterministicReplayButton(e) {
  return h("button", { class: "btn small", type: "button", text: "Replay deterministically",
    title: "Run it again with the HTTP answers, clock reads and random values it got (network off)",
    onclick: async (event) => {
      event.target.disabled = true;
      try {
        const { body } = await request(`/executions/${encodeURIComponent(e.id)}/replay`, {
          method: "POST", body: { deterministic: true } });
        window.location.assign(`/executions/${encodeURIComponent(body.id)}`);
      } catch (error) {
        event.target.disabled = false;
        headBox.appendChild(errorBox(describeError(error)));
      }
    } });
}

function renderFooter() {
  const total = outline.steps.length;
  const aggregated = outline.steps.reduce((n, s) => n + s.aggregates.reduce((m, a) => m + a.count, 0), 0);
  replace(footer,
    h("span", { text: `${number(total)} steps recorded` }),
    aggregated ? h("span", { text: `${number(aggregated)} more calls counted, not recorded` }) : null,
    h("span", { class: "grow" }),
    h("span", { class: "keys" }, h("kbd", { text: "↑" }), h("kbd", { text: "↓" }), " move ", h("kbd", { text: "←" }), h("kbd", { text: "→" }),
      " fold ", h("kbd", { text: "Enter" }), " open"));
}

// --- the selected step ----------------------------------------------------------------

async function showDetail(node) {
  detailFor = node;
  if (!node) return;
  if (node.aggregate) { renderAggregate(node); return; }
  const summary = node.step;
  let step = stepCache.get(summary.id);
  if (!step) {
    replace(detailBody, stepTitle(summary), spinner("Loading step…"));
    try {
      step = await get(`/executions/${encodeURIComponent(executionId)}/steps/${summary.id}`);
    } catch (error) {
      if (detailFor === node) replace(detailBody, stepTitle(summary), errorBox(describeError(error)));
      return;
    }
    if (step.status !== "running") stepCache.set(summary.id, step);
  }
  if (detailFor !== node) return;
  renderStep(step);
}

function stepTitle(step) {
  return h("div", { class: "detail-title" },
    h("span", { class: "name", text: shortName(step.name), title: step.name }),
    badge(step.status),
    h("span", { class: "faint", text: `step ${step.id}` }));
}

function functionParts(qualified) {
  const [namespace, name] = String(qualified || "").split("/");
  return namespace && name ? { namespace, name } : null;
}

function renderStep(step) {
  const parts = [stepTitle(step)];
  const fn = functionParts(step.function);
  const facts = h("dl", { class: "facts" });
  const fact = (label, ...value) => { facts.appendChild(h("dt", { text: label })); facts.appendChild(h("dd", null, ...value)); };
  if (fn) {
    fact("Function", link(`/functions/${fn.namespace}/${fn.name}`, step.function), " ",
      step.version ? link(`/functions/${fn.namespace}/${fn.name}?version=${step.version}&line=${step.lineno || ""}#source`,
        `v${step.version}`, { class: "tag" }) : null);
  }
  if (step.kind === "io" && step.io) {
    fact("Request", h("code", { text: `${step.io.method} ${step.io.url}` }));
    fact("Status", step.io.status === null ? "no answer" : String(step.io.status));
  }
  if (step.filename) {
    fact(step.kind === "io" ? "Called at" : "Defined at", h("code", { text: `${step.filename}:${step.lineno ?? "?"}` }));
  }
  fact("Started", `+${ns(step.started_at_ns - tree.t0)}`);
  fact("Duration", step.duration_ns === null ? "still running" : ns(step.duration_ns));
  if (step.self_ns !== null) {
    const total = Math.max(1, step.duration_ns || 1);
    fact("Own time", `${ns(step.self_ns)} (${Math.round((step.self_ns / total) * 100)}%)`);
    fact("Children", `${ns(step.children_ns)} in ${number(step.children)} recorded call${step.children === 1 ? "" : "s"}`);
    facts.appendChild(h("dt", { class: "faint", text: "" }));
    facts.appendChild(h("dd", null, h("div", { class: "split", title: "own time vs children" },
      h("div", { class: "own", style: { width: `${(step.self_ns / total) * 100}%` } }),
      h("div", { class: "kids", style: { width: `${(step.children_ns / total) * 100}%` } }))));
  }
  if (step.generator) fact("Generator", `yielded ${number(step.generator.yielded)} value${step.generator.yielded === 1 ? "" : "s"}`);
  parts.push(facts);
  const testButton = stepTestButton(executionId, step);
  if (testButton) parts.push(testButton);

  if (step.aggregates && step.aggregates.length) {
    parts.push(h("h3", { text: "Calls not recorded (past the step budget)" }), aggregatesTable(step.aggregates));
  }
  if (step.error) parts.push(h("h3", { text: "Error" }), errorBlock(step.error));

  parts.push(h("h3", { text: "Inputs" }));
  const names = Object.keys(step.inputs || {});
  if (!names.length) parts.push(h("p", { class: "muted", text: "No arguments." }));
  for (const name of names) parts.push(capturedValue(name, step.inputs[name]));

  if (step.generator && step.generator.first) {
    parts.push(h("h3", { text: "First yielded value" }), capturedValue(null, step.generator.first));
  }
  if (step.status === "completed") {
    parts.push(h("h3", { text: "Output" }), capturedValue(null, step.output));
  }
  if (step.stdout || step.stdout_truncated) {
    parts.push(h("h3", { text: "Printed output" }), h("pre", { class: "stdout", text: step.stdout }));
    if (step.stdout_truncated) parts.push(h("span", { class: "mark", text: "printed output truncated" }));
  }
  if (step.warnings && step.warnings.length) {
    parts.push(h("h3", { text: "Tracking warnings" }), h("ul", null, step.warnings.map((w) => h("li", { text: w }))));
  }
  const sourceBox = h("div", { class: "source-slot" });
  parts.push(h("h3", { text: "Source" }), sourceBox);
  replace(detailBody, ...parts);
  renderStepSource(step, sourceBox);
}

function aggregatesTable(aggregates) {
  return h("table", { class: "list" },
    h("thead", null, h("tr", null, h("th", { text: "Function" }), h("th", { class: "num", text: "Calls" }),
      h("th", { class: "num", text: "Total" }), h("th", { class: "num", text: "Errors" }))),
    h("tbody", null, aggregates.map((a) => h("tr", null,
      h("td", { class: "mono", text: shortName(a.name) }), h("td", { class: "num", text: number(a.count) }),
      h("td", { class: "num", text: ns(a.total_ns) }), h("td", { class: "num", text: number(a.errors) })))));
}

function renderAggregate(node) {
  const agg = node.aggregate;
  const parent = node.parent.step;
  replace(detailBody,
    h("div", { class: "detail-title" }, h("span", { class: "name", text: `${shortName(agg.name)} ×${number(agg.count)}` }),
      h("span", { class: "tag", text: "aggregated" })),
    h("p", { class: "muted", text: "Calls past the recording's step budget are counted and timed per function "
      + "under their nearest recorded step instead of being recorded one by one." }),
    h("dl", { class: "facts" },
      h("dt", { text: "Calls" }), h("dd", { text: number(agg.count) }),
      h("dt", { text: "Total time" }), h("dd", { text: ns(agg.total_ns) }),
      h("dt", { text: "Errors" }), h("dd", { text: number(agg.errors) }),
      h("dt", { text: "Counted under" }), h("dd", null, h("a", { href: `?step=${parent.id}`, text: shortName(parent.name),
        onclick: (event) => { event.preventDefault(); tree.select(`s${parent.id}`); } }))));
}

/** Version of the function a traceback frame's file belongs to ("ns/name.py"). */
function frameVersion(filename, step) {
  const match = /^(\w+)\/(\w+)\.py$/.exec(filename || "");
  if (!match) return null;
  const [, namespace, name] = match;
  const qualified = `${namespace}/${name}`;
  if (step.function === qualified && step.version) return { namespace, name, version: step.version };
  if (namespace === execution.namespace && execution.versions[name]) return { namespace, name, version: execution.versions[name] };
  return null;
}

function sourceOf(ref) {
  const key = `${ref.namespace}/${ref.name}@${ref.version}`;
  if (!sourceCache.has(key)) {
    sourceCache.set(key, get(`/functions/${ref.namespace}/${ref.name}/versions/${ref.version}`)
      .then((v) => v.source).catch(() => null));
  }
  return sourceCache.get(key);
}

function errorBlock(error) {
  const frames = h("ol", { class: "frames" });
  const step = detailFor && detailFor.step ? detailFor.step : {};
  for (const frame of error.traceback || []) {
    const ref = frameVersion(frame.filename, step);
    const where = h("div", { class: "frame-where" },
      ref ? link(`/functions/${ref.namespace}/${ref.name}?version=${ref.version}&line=${frame.lineno}#source`,
        `${frame.filename}:${frame.lineno}`) : h("code", { text: `${frame.filename}:${frame.lineno}` }),
      " in ", h("span", { class: "fn", text: frame.name || "?" }));
    const item = h("li", { class: "frame" }, where);
    const context = h("div");
    if (frame.line) context.appendChild(renderSource(frame.line, { highlight: new Map([[1, "hl-error"]]) }));
    item.appendChild(context);
    if (ref && frame.lineno) {
      sourceOf(ref).then((source) => {
        if (!source) return;
        const lines = new Map([[frame.lineno, "hl-error"]]);
        replace(context, renderSource(source, { from: frame.lineno - 2, to: frame.lineno + 2, highlight: lines,
          label: `${frame.filename} around line ${frame.lineno}` }));
      });
    }
    frames.appendChild(item);
  }
  return h("div", { class: "error-block" }, h("div", { class: "error-title", text: errorTitle(error) }), frames);
}

async function renderStepSource(step, box) {
  const fn = functionParts(step.function);
  if (!fn || !step.version) { replace(box, h("p", { class: "muted", text: "No source recorded for this step." })); return; }
  replace(box, spinner("Loading source…"));
  const source = await sourceOf({ ...fn, version: step.version });
  if (!source) { replace(box, h("p", { class: "muted", text: "Source not available." })); return; }
  const marks = new Map();
  if (step.lineno) marks.set(step.lineno, "hl");
  let focus = step.lineno;
  for (const frame of (step.error && step.error.traceback) || []) {
    if (frame.filename === step.filename && frame.lineno) { marks.set(frame.lineno, "hl-error"); focus = frame.lineno; }
  }
  const listing = renderSource(source, { highlight: marks, className: "box", target: focus,
    label: `${step.function} v${step.version}` });
  replace(box, listing);
  requestAnimationFrame(() => scrollToLine(listing, focus || 1));
}

// While it runs, refresh about every second (less often when the outline is slow to
// fetch: a big tree's outline is not fetched back to back).
async function follow() {
  for (;;) {
    const begun = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    while (document.hidden) await new Promise((resolve) => setTimeout(resolve, 1000));
    const still = await load(false);
    if (!still) return;
    const took = performance.now() - begun - 1000;
    if (took > 300) await new Promise((resolve) => setTimeout(resolve, 2 * took));
  }
}
load(true).then((running) => { if (running) follow(); loadDelivery(); loadReplayReport(running); });

/** For a deterministic replay: how it used its recording and its first divergence. */
async function loadReplayReport(running) {
  if (!execution || execution.trigger !== "replay" || replayReport !== undefined) return;
  while (running && !FINISHED.has(execution.status)) await new Promise((resolve) => setTimeout(resolve, 1000));
  replayReport = null;
  let world;
  try { world = await get(`/executions/${encodeURIComponent(executionId)}/world`); } catch { return; }
  if (world.mode !== "replay" || !world.report) return;
  replayReport = world.report;
  renderHead();
}

/** For a run a webhook started: the delivery it came from, linked in the header. */
async function loadDelivery() {
  if (!execution || execution.trigger !== "webhook" || delivery !== undefined) return;
  delivery = null;
  try { delivery = await get(`/executions/${encodeURIComponent(executionId)}/delivery`); } catch { return; }
  renderHead();
}
