// Executions: newest first, filters and input search in the URL, pages by cursor, live
// updates while anything shown is queued or running (and for new runs on the first page).
import { describeError, get, poll } from "../api.js";
import { clear, h, link, markNav, replace } from "../dom.js";
import { FINISHED, ago, dateTime, elapsedMs, ms, shortId } from "../format.js";
import { badge, errorBox, spinner } from "../widgets.js";

const STATUSES = ["queued", "running", "succeeded", "failed", "timed_out", "cancelled", "crashed"];
const TRIGGERS = ["cli", "api", "webhook", "schedule", "replay", "shadow"];
const PAGE_SIZE = 50;
const FILTERS = ["function", "status", "trigger", "since", "until", "q", "version"];
// A new search from the form looks at this many recent days unless a start is given (the
// From field shows it; clear it and apply again to search everything).
const SEARCH_WINDOW_DAYS = 30;

markNav("executions");
const app = document.getElementById("app");
const tbody = h("tbody");
const pager = h("div", { class: "pager" });
const summary = h("span", { class: "muted", "aria-live": "polite" });
const functionSelect = h("select", { name: "function", "aria-label": "Function" },
  h("option", { value: "", text: "All functions" }));
let lastPage = null;

function params() {
  return new URLSearchParams(location.search);
}

function localInput(iso) {
  // An ISO time (UTC) as the value of a datetime-local input (local time).
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const off = d.getTimezoneOffset() * 60000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}

function buildFilters() {
  const p = params();
  const status = h("select", { name: "status", "aria-label": "Status" },
    h("option", { value: "", text: "Any status" }),
    STATUSES.map((s) => h("option", { value: s, text: s.replace("_", " "), selected: p.get("status") === s })));
  const trigger = h("select", { name: "trigger", "aria-label": "Trigger" },
    h("option", { value: "", text: "Any trigger" }),
    TRIGGERS.map((t) => h("option", { value: t, text: t, selected: p.get("trigger") === t })));
  const since = h("input", { type: "datetime-local", name: "since", value: localInput(p.get("since")) });
  const until = h("input", { type: "datetime-local", name: "until", value: localInput(p.get("until")) });
  const q = h("input", { type: "search", name: "q", value: p.get("q") || "", maxlength: "200",
    placeholder: "a value in the input, or key=value", "aria-label": "Search inputs" });
  const form = h("form", { class: "card filters", role: "search" },
    h("label", null, "Function", functionSelect),
    h("label", null, "Status", status),
    h("label", null, "Trigger", trigger),
    h("label", null, "From", since),
    h("label", null, "Until", until),
    h("label", { class: "search" }, "Search inputs", q),
    p.get("version") ? h("span", { class: "tag", title: "only this version of the function" },
      `version ${p.get("version")} `,
      h("button", { class: "btn small", type: "button", "aria-label": "any version", text: "×",
        onclick: () => { const next = params(); next.delete("version"); navigate(next); } })) : null,
    h("div", { class: "row-flex" },
      h("button", { class: "btn primary", type: "submit", text: "Apply" }),
      h("button", { class: "btn", type: "button", text: "Reset", onclick: () => navigate(new URLSearchParams()) })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    const data = new FormData(form);
    for (const key of ["function", "status", "trigger", "q"]) {
      const value = String(data.get(key) || "").trim();
      if (value) next.set(key, value);
    }
    for (const key of ["since", "until"]) {
      const value = String(data.get(key) || "");
      if (value) next.set(key, new Date(value).toISOString());
    }
    if (next.get("q") && !p.get("q") && !next.get("since")) {
      next.set("since", new Date(Date.now() - SEARCH_WINDOW_DAYS * 86400000).toISOString());
    }
    if (p.get("version") && next.get("function") === p.get("function")) next.set("version", p.get("version"));
    navigate(next);
  });
  for (const select of [functionSelect, status, trigger]) {
    select.addEventListener("change", () => form.requestSubmit());
  }
  return form;
}

async function loadFunctions() {
  try {
    const { functions } = await get("/functions");
    const current = params().get("function") || "";
    for (const f of functions) {
      functionSelect.appendChild(h("option", { value: f.function, text: f.function, selected: f.function === current }));
    }
    if (current && !functions.some((f) => f.function === current)) {
      functionSelect.appendChild(h("option", { value: current, text: current, selected: true }));
    }
  } catch { /* the list still works without the menu */ }
}

function navigate(next) {
  location.assign(next.toString() ? `/?${next}` : "/");
}

function query() {
  const p = params();
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const key of [...FILTERS, "cursor"]) if (p.get(key)) q.set(key, p.get(key));
  return q;
}

async function load() {
  try {
    const page = await get(`/executions?${query()}`);
    lastPage = page;
    render(page);
  } catch (error) {
    replace(tbody, h("tr", null, h("td", { colspan: "8" }, errorBox(describeError(error)))));
  } finally {
    app.setAttribute("aria-busy", "false");
  }
}

function render(page) {
  clear(tbody);
  const now = Date.now();
  for (const e of page.executions) {
    const href = `/executions/${encodeURIComponent(e.id)}`;
    const row = h("tr", { class: "clickable", dataset: { id: e.id, status: e.status } },
      h("td", null, badge(e.status)),
      h("td", null, link(`/functions/${e.namespace}/${e.name}`, e.function)),
      h("td", { class: "num" }, link(`/functions/${e.namespace}/${e.name}?version=${e.version}#source`, `v${e.version}`)),
      h("td", { class: "hide-narrow" }, h("span", { class: "tag", text: e.trigger })),
      h("td", { class: "hide-narrow input-cell mono", title: compact(e.input, 2000), text: compact(e.input, 60) }),
      h("td", { class: "nowrap", title: dateTime(e.started_at || e.queued_at) }, ago(e.started_at || e.queued_at, now)),
      h("td", { class: "num nowrap" }, ms(elapsedMs(e, now)), FINISHED.has(e.status) ? "" : "…"),
      h("td", { class: "hide-narrow" }, link(href, shortId(e.id), { class: "mono", title: e.id })));
    row.addEventListener("click", (event) => {
      if (event.target.closest("a")) return;
      if (event.ctrlKey || event.metaKey) window.open(href, "_blank");
      else location.href = href;
    });
    tbody.appendChild(row);
  }
  if (page.executions.length === 0) {
    const filtered = FILTERS.some((key) => params().get(key));
    tbody.appendChild(h("tr", null, h("td", { colspan: "8", class: "empty" }, filtered
      ? "No executions match these filters."
      : [h("p", { text: "No executions yet. Deploy the example and run it:" }),
        h("p", null, h("code", { text: "runtree deploy examples/orders/" })),
        h("p", null, h("code", { text: "runtree run calculate_order_total -a customer_id=42" }))])));
  }
  const p = params();
  const cursorStack = JSON.parse(sessionStorage.getItem("runtree.cursors") || "[]");
  const onFirst = !p.get("cursor");
  summary.textContent = `${page.executions.length} shown${onFirst ? ", newest first" : ""}`;
  replace(pager,
    h("button", { class: "btn", type: "button", text: "← Newer", disabled: onFirst, onclick: () => {
      const next = params();
      const previous = cursorStack.pop();
      sessionStorage.setItem("runtree.cursors", JSON.stringify(cursorStack));
      if (previous) next.set("cursor", previous); else next.delete("cursor");
      navigate(next);
    } }),
    summary,
    h("button", { class: "btn", type: "button", text: "Older →", disabled: !page.next_cursor, onclick: () => {
      const next = params();
      if (next.get("cursor")) cursorStack.push(next.get("cursor"));
      sessionStorage.setItem("runtree.cursors", JSON.stringify(cursorStack));
      next.set("cursor", page.next_cursor);
      navigate(next);
    } }));
  if (onFirst) sessionStorage.setItem("runtree.cursors", "[]");
}

/** A value as one line of JSON, cut to `max` characters. */
function compact(value, max) {
  let text;
  try { text = JSON.stringify(value); } catch { text = String(value); }
  if (text === undefined) text = "";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function shouldRefresh() {
  if (!lastPage) return true;
  if (!params().get("cursor")) return true; // new executions appear on the first page
  return lastPage.executions.some((e) => !FINISHED.has(e.status));
}

replace(app,
  h("div", { class: "page-head" }, h("h1", { text: "Executions" }),
    h("span", { class: "sub", text: "every run of every function, newest first" })),
  buildFilters(),
  h("div", { class: "card" },
    h("div", { class: "table-wrap" },
      h("table", { class: "list", id: "executions" },
        h("thead", null, h("tr", null,
          h("th", { text: "Status" }), h("th", { text: "Function" }), h("th", { class: "num", text: "Version" }),
          h("th", { class: "hide-narrow", text: "Trigger" }), h("th", { class: "hide-narrow", text: "Input" }),
          h("th", { text: "Started" }),
          h("th", { class: "num", text: "Duration" }), h("th", { class: "hide-narrow", text: "ID" }))),
        tbody)),
    pager));
tbody.appendChild(h("tr", null, h("td", { colspan: "8" }, spinner())));
loadFunctions();
load();
poll(async () => { if (shouldRefresh()) await load(); }, 2000);
