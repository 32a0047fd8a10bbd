// Find: which executions, steps and functions handled a value (GET /find: keyed hashes of
// every scalar of every step's inputs and outputs, redacted ones included; never the value).
// The search is in the URL (?value=&key=&function=), so a result page can be shared; pages by
// cursor, newest first.
import { describeError, get } from "../api.js";
import { h, link, markNav, replace } from "../dom.js";
import { dateTime, ms, shortId } from "../format.js";
import { badge, errorBox, spinner } from "../widgets.js";

const PAGE_SIZE = 50;
const MAX_VALUE = 320;  // the API's limit; it says what it accepts past trimming

markNav("find");
const app = document.getElementById("app");
const params = new URLSearchParams(location.search);
const results = h("div", { class: "card", id: "find-results", "aria-live": "polite" });
const pager = h("div", { class: "pager" });

function form() {
  const value = h("input", { type: "search", name: "value", value: params.get("value") || "",
    maxlength: String(MAX_VALUE), required: true, autofocus: true,
    placeholder: "ada@example.com, 42, an order id…", "aria-label": "Value" });
  const key = h("input", { type: "text", name: "key", value: params.get("key") || "", maxlength: "200",
    placeholder: "any", "aria-label": "Found under (parameter or key)" });
  const fn = h("input", { type: "text", name: "function", value: params.get("function") || "",
    maxlength: "400", placeholder: "any", "aria-label": "Function (namespace/name)" });
  const box = h("form", { class: "card filters", role: "search", id: "find-form" },
    h("label", { class: "search" }, "Value", value),
    h("label", null, "Under key", key),
    h("label", null, "Function", fn),
    h("div", { class: "row-flex" }, h("button", { class: "btn primary", type: "submit", text: "Find" })));
  box.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    const data = new FormData(box);
    // "customer_id=42" in the value box means value 42 under key customer_id (when no key is given).
    let text = String(data.get("value") || "").trim();
    let under = String(data.get("key") || "").trim();
    const pair = /^([A-Za-z_][\w.-]{0,199})=(.+)$/.exec(text);
    if (pair && !under) { under = pair[1]; text = pair[2].trim(); }
    if (!text) return;
    next.set("value", text);
    if (under) next.set("key", under);
    const f = String(data.get("function") || "").trim();
    if (f) next.set("function", f);
    location.assign(`/find?${next}`);
  });
  return box;
}

function place(step, executionId) {
  const where = step.kind === "input" ? (step.key ? `input ${step.key}` : "input") : (step.key ? `output ${step.key}` : "output");
  if (step.step_id === 0) {
    return h("li", { dataset: { step: "0" } },
      link(`/executions/${encodeURIComponent(executionId)}`, "execution input"), ` · ${where}`);
  }
  const name = step.name ? ` ${step.name}` : "";
  const href = `/executions/${encodeURIComponent(executionId)}?step=${step.step_id}`;
  return h("li", { dataset: { step: String(step.step_id) } },
    link(href, `step ${step.step_id}${name}`, { class: "mono" }),
    // the deployed function it belongs to, when not the one its name says (a helper, a method)
    step.function && step.name && !step.function.endsWith(`/${step.name}`)
      ? h("span", { class: "muted", text: ` (${step.function})` }) : null,
    ` · ${where}`);
}

function render(page) {
  if (!page.results.length) {
    replace(results, h("div", { class: "empty" }, h("p", { text: params.get("cursor")
      ? "No more executions handled this value." : "No execution handled this value." })));
    return;
  }
  replace(results, h("div", { class: "table-wrap" }, h("table", { class: "list", id: "found" },
    h("thead", null, h("tr", null,
      h("th", { text: "Status" }), h("th", { text: "Execution" }), h("th", { text: "Function" }),
      h("th", { class: "hide-narrow", text: "Started" }), h("th", { class: "hide-narrow num", text: "Duration" }),
      h("th", { text: "Where" }))),
    h("tbody", null, page.results.map(({ execution: e, steps }) => h("tr", { dataset: { id: e.id } },
      h("td", null, badge(e.status)),
      h("td", null, link(`/executions/${encodeURIComponent(e.id)}`, shortId(e.id), { class: "mono", title: e.id })),
      h("td", null, link(`/functions/${e.namespace}/${e.name}`, `${e.function} v${e.version}`, { class: "mono" })),
      h("td", { class: "hide-narrow nowrap muted", text: dateTime(e.started_at || e.queued_at) }),
      h("td", { class: "hide-narrow num", text: e.duration_ms === null ? "" : ms(e.duration_ms) }),
      h("td", null, h("ul", { class: "found-steps" }, steps.map((s) => place(s, e.id))))))))));
  if (page.next_cursor) {
    const next = new URLSearchParams(params);
    next.set("cursor", page.next_cursor);
    replace(pager, link(`/find?${next}`, "Older executions →", { class: "btn", rel: "next" }));
  }
}

replace(app,
  h("div", { class: "page-head" }, h("h1", { text: "Find a value" }),
    h("span", { class: "sub", text: "every run that handled it, in any input or output at any depth, newest first; values are kept as keyed hashes, never in clear" })),
  form(), results, pager);

if (params.get("value")) {
  replace(results, spinner("Searching…"));
  const q = new URLSearchParams({ value: params.get("value"), limit: String(PAGE_SIZE) });
  for (const name of ["key", "function", "cursor"]) if (params.get(name)) q.set(name, params.get(name));
  try {
    render(await get(`/find?${q}`));
  } catch (error) {
    replace(results, errorBox(describeError(error)));
  }
} else {
  replace(results, h("div", { class: "empty" },
    h("p", { text: "Type a value (an email, an id, a number) to see every execution, step and function that handled it." }),
    h("p", { class: "muted", text: "customer_id=42 looks for 42 under customer_id only. Strings are matched trimmed and case-insensitively; 42 also finds 42.0 and \"42\"." })));
}
app.setAttribute("aria-busy", "false");
