// The audit log (admins): who deployed, ran, cancelled and replayed, and every key, webhook
// and schedule change -- newest first, filtered by action and namespace, a page at a time.
import { get } from "../api.js";
import { h, markNav, replace } from "../dom.js";
import { dateTime } from "../format.js";
import { refusedBox, spinner } from "../widgets.js";

const PAGE_SIZE = 50;
markNav("audit");
const app = document.getElementById("app");
const params = new URLSearchParams(location.search);
const action = h("input", { type: "text", name: "action", value: params.get("action") || "", placeholder: "execution.replay …", maxlength: "50" });
const namespace = h("input", { type: "text", name: "namespace", value: params.get("namespace") || "", placeholder: "every namespace", maxlength: "100" });
const body = h("div", { class: "card" }, spinner());
const form = h("form", { class: "card filters", onsubmit: (event) => {
  event.preventDefault();
  const next = new URLSearchParams();
  if (action.value.trim()) next.set("action", action.value.trim());
  if (namespace.value.trim()) next.set("namespace", namespace.value.trim());
  location.search = next.toString();
} }, h("label", null, "Action", action), h("label", null, "Namespace", namespace),
  h("button", { class: "btn primary", type: "submit", text: "Apply" }));
replace(app, h("div", { class: "page-head" }, h("h1", { text: "Audit log" }),
  h("span", { class: "sub", text: "who did what, when" })), body);

const cursors = [null];

function details(entry) {
  const keys = Object.keys(entry.details || {});
  if (!keys.length) return "";
  return keys.map((k) => `${k}=${typeof entry.details[k] === "string" ? entry.details[k] : JSON.stringify(entry.details[k])}`).join(" ");
}

async function load() {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (action.value.trim()) query.set("action", action.value.trim());
  if (namespace.value.trim()) query.set("namespace", namespace.value.trim());
  const cursor = cursors[cursors.length - 1];
  if (cursor) query.set("cursor", String(cursor));
  let page;
  try {
    page = await get(`/audit?${query}`);
  } catch (error) {
    replace(body, refusedBox(error, "The audit log's entries"));
    form.hidden = true;
    return;
  }
  form.hidden = false;
  replace(body,
    page.entries.length ? h("div", { class: "table-wrap" }, h("table", { class: "list", id: "audit" },
      h("thead", null, h("tr", null, h("th", { text: "When" }), h("th", { text: "Who" }), h("th", { text: "Action" }),
        h("th", { text: "Target" }), h("th", { class: "hide-narrow", text: "Namespace" }), h("th", { class: "hide-narrow", text: "Details" }))),
      h("tbody", null, page.entries.map((e) => h("tr", { dataset: { action: e.action } },
        h("td", { class: "nowrap muted", text: dateTime(e.at) }),
        h("td", { class: "mono nowrap", text: e.actor }),
        h("td", null, h("span", { class: "tag", text: e.action })),
        h("td", { class: "mono", text: e.target }),
        h("td", { class: "hide-narrow", text: e.namespace || "" }),
        h("td", { class: "hide-narrow input-cell mono", title: details(e), text: details(e) }))))))
      : h("div", { class: "empty", text: "No entries." }),
    h("div", { class: "pager" },
      h("button", { class: "btn", type: "button", text: "← Newer", disabled: cursors.length < 2,
        onclick: () => { cursors.pop(); load(); } }),
      h("span", { class: "muted", text: `${page.entries.length} shown` }),
      h("button", { class: "btn", type: "button", text: "Older →", disabled: !page.next_cursor,
        onclick: () => { cursors.push(page.next_cursor); load(); } })));
}

app.insertBefore(form, body);
form.hidden = true;
await load();
app.setAttribute("aria-busy", "false");
