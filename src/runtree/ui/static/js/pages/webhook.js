// One webhook: where to POST and what it starts, its deliveries (received, verified or
// rejected with the reason, duplicates, the execution each started and its status) and the
// selected delivery: headers, body, replays, and a form to replay it against any version.
import { ApiError, describeError, get, poll, request } from "../api.js";
import { h, link, markNav, pageData, replace, setTitle } from "../dom.js";
import { FINISHED, ago, bytes, dateTime, ms, shortId } from "../format.js";
import { renderJSON } from "../json.js";
import { badge, errorBox, spinner } from "../widgets.js";

const PAGE_SIZE = 50;
const DELIVERY_STATUSES = ["accepted", "duplicate", "rejected"];
markNav("webhooks");

const app = document.getElementById("app");
const data = pageData();
const path = data.path;
setTitle(`Webhook ${path}`);

const headBox = h("div", { class: "card card-body exec-head" }, spinner());
const tbody = h("tbody");
const pager = h("div", { class: "pager" });
const statusSelect = h("select", { name: "status", "aria-label": "Delivery status" },
  h("option", { value: "", text: "Every delivery" }),
  DELIVERY_STATUSES.map((s) => h("option", { value: s, text: s })));
const detailBody = h("div", { class: "card-body", id: "delivery-detail", "aria-live": "polite" },
  h("p", { class: "muted", text: "Select a delivery to see its request, its execution and replay it." }));
let webhook = null;
let versions = [];
let selected = data.delivery || null;
let cursors = [null];
let lastPage = null;

replace(app,
  headBox,
  h("div", { class: "explorer" },
    h("section", { class: "card", "aria-label": "Deliveries" },
      h("div", { class: "filters" }, h("h2", { class: "grow", text: "Deliveries" }),
        h("label", null, "Status", statusSelect)),
      h("div", { class: "table-wrap" }, h("table", { class: "list", id: "deliveries" },
        h("thead", null, h("tr", null,
          h("th", { text: "Received" }), h("th", { text: "Delivery" }), h("th", { text: "Execution" }),
          h("th", { class: "hide-narrow", text: "Idempotency key" }), h("th", { class: "num hide-narrow", text: "Body" }))),
        tbody)),
      pager),
    h("aside", { class: "card detail", "aria-label": "Selected delivery" }, detailBody)));

statusSelect.addEventListener("change", () => { cursors = [null]; loadDeliveries(); });

function deliveryBadge(status) {
  return h("span", { class: ["badge", `d-${status}`], text: status });
}

function executionCell(d) {
  if (!d.execution) {
    return d.status === "rejected"
      ? h("span", { class: "faint", text: "nothing ran" })
      : h("span", { class: "faint", text: d.execution_id ? shortId(d.execution_id) : "–" });
  }
  const e = d.execution;
  return h("span", { class: "row-flex" },
    link(`/executions/${e.id}`, badge(e.status), { "aria-label": `execution ${e.status}` }),
    h("span", { class: "muted mono", text: `v${e.version} ${shortId(e.id)}` }));
}

function renderHead() {
  if (!webhook) return;
  replace(headBox,
    h("div", { class: "page-head" },
      h("h1", { class: "mono", text: webhook.url_path }),
      webhook.verify === "none"
        ? h("span", { class: "mark", text: "not verified", title: "anyone who knows the path can call it" })
        : h("span", { class: "tag", text: `verified: ${webhook.verify}` }),
      h("span", { class: "tag", text: webhook.mode })),
    h("div", { class: "exec-meta" },
      h("span", null, "starts ", link(`/functions/${webhook.namespace}/${webhook.name}`, webhook.function, { class: "mono" })),
      h("span", null, "version ", h("b", { text: webhook.version ? `v${webhook.version} (pinned)` : "the latest at each call" })),
      webhook.mode === "sync" ? h("span", null, "waits ", h("b", { text: `${webhook.sync_timeout_s} s` })) : null,
      h("span", null, "created ", h("b", { text: dateTime(webhook.created_at) }),
        webhook.created_by ? ` by ${webhook.created_by}` : "")));
}

async function loadWebhook() {
  try {
    webhook = await get(`/webhooks/${encodeURIComponent(path)}`);
    renderHead();
    const list = await get(`/functions/${webhook.namespace}/${webhook.name}/versions`);
    versions = list.versions.map((v) => v.number);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      replace(headBox, h("div", { class: "page-head" }, h("h1", { class: "mono", text: `/hooks/${path}` })),
        h("p", { class: "muted", text: "No webhook has this path (it may have been deleted). Its deliveries, if any, are kept below." }));
    } else {
      replace(headBox, errorBox(describeError(error)));
    }
  }
}

async function loadDeliveries() {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (statusSelect.value) query.set("status", statusSelect.value);
  const cursor = cursors[cursors.length - 1];
  if (cursor) query.set("cursor", cursor);
  try {
    lastPage = await get(`/webhooks/${encodeURIComponent(path)}/deliveries?${query}`);
  } catch (error) {
    replace(tbody, h("tr", null, h("td", { colspan: "5" }, errorBox(describeError(error)))));
    return;
  }
  const { deliveries } = lastPage;
  if (!deliveries.length) {
    replace(tbody, h("tr", null, h("td", { colspan: "5", class: "empty" },
      h("p", { text: cursors.length > 1 ? "No more deliveries." : "Nothing received yet." }),
      h("p", null, "Send a POST to ", h("code", { text: `${location.origin}/hooks/${path}` })))));
  } else {
    replace(tbody, deliveries.map((d) => h("tr", {
      class: ["clickable", d.id === selected && "selected-row"],
      dataset: { id: d.id, status: d.status, executionStatus: d.execution ? d.execution.status : "" },
      tabindex: "0",
      onclick: (event) => { if (!event.target.closest("a")) select(d.id); },
      onkeydown: (event) => { if (event.key === "Enter") select(d.id); },
    },
      h("td", { class: "nowrap", title: dateTime(d.received_at), text: ago(d.received_at) }),
      h("td", null, h("span", { class: "row-flex" }, deliveryBadge(d.status),
        d.status === "rejected" ? h("span", { class: "reason muted", text: d.reason || "" }) : null)),
      h("td", null, executionCell(d)),
      h("td", { class: "hide-narrow mono faint", text: d.idempotency_key || "" }),
      h("td", { class: "num hide-narrow", text: bytes(d.body_size) }))));
  }
  replace(pager,
    h("button", { class: "btn", type: "button", text: "← Newer", disabled: cursors.length < 2,
      onclick: () => { cursors.pop(); loadDeliveries(); } }),
    h("span", { class: "muted", text: `${deliveries.length} shown` }),
    h("button", { class: "btn", type: "button", text: "Older →", disabled: !lastPage.next_cursor,
      onclick: () => { cursors.push(lastPage.next_cursor); loadDeliveries(); } }));
}

function select(id) {
  selected = id;
  const url = new URL(location.href);
  url.searchParams.set("delivery", id);
  history.replaceState(null, "", url);
  for (const row of tbody.querySelectorAll("tr")) row.classList.toggle("selected-row", row.dataset.id === id);
  showDelivery(id);
}

async function showDelivery(id) {
  replace(detailBody, spinner());
  let d;
  try {
    d = await get(`/deliveries/${encodeURIComponent(id)}`);
  } catch (error) {
    replace(detailBody, errorBox(describeError(error)));
    return;
  }
  if (id !== selected) return;
  renderDelivery(d);
}

/** Whether the delivery's signature was checked: rejected ones say why, accepted ones were
 * verified by the webhook's scheme (or it checks nothing). */
function signatureText(d) {
  // Rejected after the signature check: the body did not fit, or the function was gone.
  const afterCheck = /^(invalid input|function )/.test(d.reason || "");
  if (d.status === "rejected" && !afterCheck) return "failed (see the reason)";
  if (!webhook) return "–";
  return webhook.verify === "none" ? "not checked: this webhook verifies nothing" : `verified (${webhook.verify})`;
}

function renderDelivery(d) {
  const facts = h("dl", { class: "facts" },
    h("dt", { text: "received" }), h("dd", { text: `${dateTime(d.received_at)} (${ago(d.received_at)})` }),
    h("dt", { text: "status" }), h("dd", null, deliveryBadge(d.status),
      d.status === "duplicate" ? h("span", { class: "muted", text: " its idempotency key was seen within 24 h: nothing new ran" }) : null),
    d.reason ? [h("dt", { text: "reason" }), h("dd", { class: "exec-error", text: d.reason })] : null,
    h("dt", { text: "signature" }), h("dd", { class: "signature", text: signatureText(d) }),
    h("dt", { text: "request" }), h("dd", { class: "mono", text: `${d.method} /hooks/${d.path}${d.query_string ? `?${d.query_string}` : ""}` }),
    d.idempotency_key ? [h("dt", { text: "idempotency key" }), h("dd", { class: "mono", text: d.idempotency_key })] : null,
    h("dt", { text: "body" }), h("dd", { text: `${bytes(d.body_size)}${d.body_truncated ? " (truncated: rejected deliveries keep 64 KiB)" : ""}` }));
  const parts = [
    h("div", { class: "detail-title" }, h("span", { class: "name", text: `Delivery ${shortId(d.id)}` }), deliveryBadge(d.status)),
    facts,
  ];
  if (d.execution) {
    const e = d.execution;
    parts.push(h("h3", { text: d.status === "duplicate" ? "Execution (of the first delivery)" : "Execution" }),
      h("div", { class: "row-flex started" },
        link(`/executions/${e.id}`, badge(e.status), { "aria-label": `execution ${e.status}` }),
        link(`/executions/${e.id}`, `${e.function} v${e.version}`, { class: "mono" }),
        h("span", { class: "muted", text: `${shortId(e.id)} · ${ms(e.duration_ms)}` })));
    parts.push(replayForm(d));
    if (d.replays.length) {
      parts.push(h("h3", { text: "Replays" }), h("ul", { class: "replays plain" }, d.replays.map((r) => h("li", { class: "row-flex", dataset: { id: r.id, status: r.status } },
        link(`/executions/${r.id}`, badge(r.status), { "aria-label": `replay ${r.status}` }),
        link(`/executions/${r.id}`, `v${r.version} ${shortId(r.id)}`, { class: "mono" }),
        h("span", { class: "muted", text: `${ago(r.queued_at)} · ${ms(r.duration_ms)}` })))));
    }
  } else if (d.status === "rejected") {
    parts.push(h("p", { class: "muted", text: "Nothing ran: a rejected delivery is never verified, so it cannot be replayed." }));
  }
  parts.push(h("h3", { text: "Headers" }),
    h("table", { class: "list headers" }, h("tbody", null, d.headers.map(([name, value]) => h("tr", null,
      h("td", { class: "mono nowrap", text: name }),
      h("td", { class: value === "[redacted]" ? "mono j-mark" : "mono", text: value }))))));
  parts.push(h("h3", { text: "Body" }), bodyView(d));
  replace(detailBody, parts);
  const unfinished = (d.execution && !FINISHED.has(d.execution.status)) || d.replays.some((r) => !FINISHED.has(r.status));
  if (unfinished) schedule(d.id);
}

let refreshTimer = 0;
function schedule(id) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    if (id !== selected) return;
    try { renderDelivery(await get(`/deliveries/${encodeURIComponent(id)}`)); } catch { schedule(id); }
  }, 1000);
}

function bodyView(d) {
  if (d.body === null) {
    return h("div", null, h("p", { class: "muted", text: "Not UTF-8 text; base64:" }),
      h("pre", { class: "stdout", text: d.body_base64 }));
  }
  try {
    const parsed = JSON.parse(d.body);
    if (parsed !== null && typeof parsed === "object") return h("div", { class: "value" }, renderJSON(parsed));
  } catch { /* not JSON: shown as text */ }
  return h("pre", { class: "stdout", text: d.body || "(empty)" });
}

function replayForm(d) {
  const ran = d.execution.version;
  const latest = versions.length ? Math.max(...versions) : ran;
  const choice = h("select", { name: "version", "aria-label": "Version to replay against" },
    (versions.length ? versions : [ran]).slice().reverse().map((n) => h("option", {
      value: String(n), selected: n === latest,
      text: `v${n}${n === ran ? " (ran it)" : ""}${n === latest && n !== ran ? " (latest)" : ""}`,
    })));
  const status = h("span", { class: "muted", "aria-live": "polite" });
  const button = h("button", { class: "btn primary", type: "submit", text: "Replay" });
  return h("form", { class: "replay-form row-flex", onsubmit: async (event) => {
    event.preventDefault();
    button.disabled = true;
    status.textContent = "starting…";
    const version = Number(choice.value);
    try {
      const { body } = await request(`/deliveries/${encodeURIComponent(d.id)}/replay`, {
        method: "POST", body: version === ran ? {} : { version } });
      status.textContent = "";
      status.appendChild(link(`/executions/${body.id}`, `replay started: ${shortId(body.id)}`));
      schedule(d.id);
    } catch (error) {
      status.textContent = describeError(error);
    } finally {
      button.disabled = false;
    }
  } },
    h("label", { class: "inline" }, "Replay against", choice), button, status);
}

await loadWebhook();
await loadDeliveries();
if (selected) showDelivery(selected);
app.setAttribute("aria-busy", "false");
// New deliveries appear on the first page; statuses of unfinished executions move on.
poll(async () => {
  if (cursors.length === 1) await loadDeliveries();
}, 3000);
