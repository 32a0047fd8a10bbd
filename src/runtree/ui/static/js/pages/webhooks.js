// Webhooks: every webhook with where to POST, the function it starts, how it is verified.
import { describeError, get } from "../api.js";
import { h, link, markNav, replace } from "../dom.js";
import { dateTime } from "../format.js";
import { errorBox, spinner } from "../widgets.js";

markNav("webhooks");
const app = document.getElementById("app");
const body = h("div", { class: "card" }, spinner());
replace(app, h("div", { class: "page-head" }, h("h1", { text: "Webhooks" }),
  h("span", { class: "sub", text: "POST /hooks/{path} starts the function; open one to see its deliveries" })), body);

try {
  const { webhooks } = await get("/webhooks");
  if (!webhooks.length) {
    replace(body, h("div", { class: "empty" },
      h("p", { text: "No webhooks yet. Create one for a deployed function:" }),
      h("p", null, h("code", { text: "runtree webhooks create NS/NAME --path on-push --verify github" }))));
  } else {
    replace(body, h("div", { class: "table-wrap" }, h("table", { class: "list", id: "webhooks" },
      h("thead", null, h("tr", null,
        h("th", { text: "Path" }), h("th", { text: "Function" }), h("th", { text: "Version" }),
        h("th", { text: "Verified by" }), h("th", { text: "Mode" }),
        h("th", { class: "hide-narrow", text: "Created" }))),
      h("tbody", null, webhooks.map((w) => h("tr", { dataset: { path: w.path } },
        h("td", null, link(`/webhooks/${encodeURIComponent(w.path)}`, w.url_path, { class: "mono" })),
        h("td", null, link(`/functions/${w.namespace}/${w.name}`, w.function, { class: "mono" })),
        h("td", { text: w.version ? `v${w.version} (pinned)` : "latest" }),
        h("td", null, w.verify === "none"
          ? h("span", { class: "mark", text: "none", title: "anyone who knows the path can call it" })
          : h("span", { class: "tag", text: w.verify })),
        h("td", { text: w.mode === "sync" ? `sync (${w.sync_timeout_s} s)` : "async" }),
        h("td", { class: "hide-narrow nowrap muted", text: `${dateTime(w.created_at)}${w.created_by ? ` · ${w.created_by}` : ""}` })))))));
  }
} catch (error) {
  replace(body, errorBox(describeError(error)));
}
app.setAttribute("aria-busy", "false");
