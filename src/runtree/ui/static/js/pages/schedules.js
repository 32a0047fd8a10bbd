// Schedules: what runs when -- the next fire times in each schedule's own time zone -- and
// how the last runs went: their status, and fire times that ran late or were missed.
import { describeError, get } from "../api.js";
import { h, link, markNav, replace } from "../dom.js";
import { dateTime, dateTimeIn, shortId } from "../format.js";
import { badge, errorBox, spinner } from "../widgets.js";

const RECENT_FIRES = 5;
markNav("schedules");
const app = document.getElementById("app");
const body = h("div", { class: "card" }, spinner());
replace(app, h("div", { class: "page-head" }, h("h1", { text: "Schedules" }),
  h("span", { class: "sub", text: "cron in the schedule's time zone; times below are in that zone" })), body);

function nextFires(s) {
  if (s.paused) return h("span", { class: "mark", text: "paused", title: "resuming skips the times missed meanwhile" });
  return h("ol", { class: "fires plain" }, s.upcoming.map((t, i) => h("li", {
    class: i ? "faint" : null, title: `${dateTime(t)} in this browser's time zone`,
  }, dateTimeIn(t, s.timezone), i === 0 ? h("span", { class: "muted", text: ` · in ${until(t)}` }) : null)));
}

function until(iso) {
  const s = Math.max(0, Math.round((new Date(iso).getTime() - Date.now()) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

function lastRuns(detail) {
  if (!detail) return h("span", { class: "faint", text: "–" });
  if (detail.error) return h("span", { class: "exec-error", text: detail.error });
  if (!detail.fires.length) return h("span", { class: "faint", text: "not fired yet" });
  return h("ul", { class: "fires plain" }, detail.fires.map((f) => h("li", { class: "row-flex", dataset: { fireTime: f.fire_time } },
    f.execution ? link(`/executions/${f.execution.id}`, badge(f.execution.status), { "aria-label": `run ${f.execution.status}` })
      : h("span", { class: "faint", text: f.execution_id ? shortId(f.execution_id) : "no execution" }),
    h("span", { title: `fired ${dateTime(f.fired_at)}`, text: dateTimeIn(f.fire_time, detail.timezone) }),
    f.late ? h("span", { class: "mark late", text: "late", title: `due ${dateTime(f.fire_time)}, ran ${dateTime(f.fired_at)} (the server was down)` }) : null,
    f.missed ? h("span", { class: "mark missed", text: `${f.missed} missed`, title: "earlier fire times skipped for this one while the server was down" }) : null)));
}

try {
  const { schedules } = await get("/schedules");
  if (!schedules.length) {
    replace(body, h("div", { class: "empty" },
      h("p", { text: "No schedules yet. Run a deployed function on a cron schedule:" }),
      h("p", null, h("code", { text: "runtree schedules create NS/NAME --cron '0 3 * * *' --timezone Europe/Amsterdam" }))));
  } else {
    const details = await Promise.all(schedules.map((s) =>
      get(`/schedules/${s.id}?fires=${RECENT_FIRES}`).catch((error) => ({ error: describeError(error), fires: [] }))));
    replace(body, h("div", { class: "table-wrap" }, h("table", { class: "list", id: "schedules" },
      h("thead", null, h("tr", null,
        h("th", { text: "Function" }), h("th", { text: "When" }), h("th", { text: "Next fire times" }),
        h("th", { text: "Last runs" }), h("th", { class: "hide-narrow", text: "Input" }))),
      h("tbody", null, schedules.map((s, i) => h("tr", { dataset: { id: String(s.id) } },
        h("td", null, link(`/functions/${s.namespace}/${s.name}`, s.function, { class: "mono" }),
          h("div", { class: "faint", text: `#${s.id}${s.version ? ` · v${s.version} pinned` : ""}` })),
        h("td", null, h("div", { text: s.description }),
          h("div", { class: "faint" }, h("code", { text: s.cron }), ` · ${s.timezone}`)),
        h("td", null, nextFires(s)),
        h("td", null, lastRuns(details[i])),
        h("td", { class: "hide-narrow input-cell mono", title: JSON.stringify(s.input), text: JSON.stringify(s.input) })))))));
  }
} catch (error) {
  replace(body, errorBox(describeError(error)));
}
app.setAttribute("aria-busy", "false");
