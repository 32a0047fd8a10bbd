// Functions: every function with its current version, its last run, how often it ran as an
// entry point and how often as a step of a run, and its description (the docstring's first
// paragraph unless one was given at deploy).
import { describeError, get } from "../api.js";
import { h, link, markNav, replace } from "../dom.js";
import { dateTime, number } from "../format.js";
import { badge, errorBox, spinner } from "../widgets.js";

const STEP_COUNT_CAP = 10000; // the server stops counting calls as a step there
markNav("functions");
const app = document.getElementById("app");
const body = h("div", { class: "card" }, spinner());
replace(app, h("div", { class: "page-head" }, h("h1", { text: "Functions" }),
  h("span", { class: "sub", text: "each deployed module's entry point, with its versions and runs" })), body);

try {
  const { functions } = await get("/functions");
  if (!functions.length) {
    replace(body, h("div", { class: "empty" },
      h("p", { text: "Nothing deployed yet. Each .py file is one function named after it:" }),
      h("p", null, h("code", { text: "runtree deploy examples/orders/" }))));
  } else {
    replace(body, h("div", { class: "table-wrap" }, h("table", { class: "list", id: "functions" },
      h("thead", null, h("tr", null,
        h("th", { text: "Function" }), h("th", { class: "num", text: "Version" }),
        h("th", { text: "Last run" }),
        h("th", { class: "num", text: "Runs", title: "executions with this function as the entry point" }),
        h("th", { class: "num nowrap", text: "As a step", title: "recorded calls as a step of a run (of another function, or its own recursion)" }),
        h("th", { class: "hide-narrow", text: "Description" }), h("th", { class: "hide-narrow", text: "Created" }))),
      h("tbody", null, functions.map((f) => h("tr", null,
        h("td", null, link(`/functions/${f.namespace}/${f.name}`, f.function, { class: "mono" })),
        h("td", { class: "num" }, f.current_version ? `v${f.current_version}` : "–"),
        h("td", null, f.last_execution_id
          ? h("a", { href: `/executions/${f.last_execution_id}`, "aria-label": `last run: ${f.last_status}` }, badge(f.last_status))
          : h("span", { class: "faint", text: f.step_count ? "only as a step" : "never run" })),
        h("td", { class: "num runs" }, f.run_count
          ? link(`/?function=${encodeURIComponent(f.function)}`, number(f.run_count)) : "0"),
        h("td", { class: "num step-calls" }, f.step_count >= STEP_COUNT_CAP ? `${number(STEP_COUNT_CAP)}+` : number(f.step_count || 0)),
        h("td", { class: "hide-narrow muted", text: f.description || "" }),
        h("td", { class: "hide-narrow nowrap muted", text: dateTime(f.created_at) })))))));
  }
} catch (error) {
  replace(body, errorBox(describeError(error)));
}
app.setAttribute("aria-busy", "false");
