// "Compare with…" on an execution's page: pick another run (the function's recent runs, or
// any id) and open the two side by side at /compare/{a}/{b}.
import { describeError, get } from "./api.js";
import { h, replace } from "./dom.js";
import { ago, ms, shortId } from "./format.js";
import { badge, errorBox, spinner } from "./widgets.js";

export function comparePicker(execution) {
  const list = h("div", { class: "picker-list" }, spinner());
  const input = h("input", { type: "text", name: "other", placeholder: "another execution id",
    "aria-label": "Execution id to compare with", pattern: "[0-9a-fA-F-]{32,36}", size: 34 });
  const form = h("form", { class: "row-flex" }, input,
    h("button", { class: "btn small", type: "submit", text: "Compare" }));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const other = input.value.trim().toLowerCase().replaceAll("-", "");
    if (/^[0-9a-f]{32}$/.test(other)) location.href = `/compare/${execution.id}/${other}`;
  });
  const box = h("details", { class: "compare-picker", dataset: { part: "compare" } },
    h("summary", { class: "btn small", text: "Compare with…" }),
    h("div", { class: "card card-body picker-body" },
      h("p", { class: "muted", text: `Recent runs of ${execution.function}:` }), list, form));
  let loaded = false;
  box.addEventListener("toggle", async () => {
    if (!box.open || loaded) return;
    loaded = true;
    try {
      const page = await get(`/executions?function=${encodeURIComponent(execution.function)}&limit=20`);
      const others = page.executions.filter((e) => e.id !== execution.id);
      if (!others.length) { replace(list, h("p", { class: "muted", text: "No other runs yet." })); return; }
      replace(list, h("ul", { class: "picker" }, others.map((e) => h("li", null,
        h("a", { href: `/compare/${execution.id}/${e.id}`, class: "mono" }, shortId(e.id)), " ",
        badge(e.status), h("span", { class: "tag", text: `v${e.version}` }),
        h("span", { class: "muted", text: ` ${ago(e.started_at || e.queued_at)} · ${ms(e.duration_ms)}` })))));
    } catch (error) {
      replace(list, errorBox(describeError(error)));
    }
  });
  return box;
}
