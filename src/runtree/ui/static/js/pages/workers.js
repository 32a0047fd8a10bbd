// Workers: the processes that run executions -- live, stopping or lost (no heartbeat) --
// their slots, what each runs now, their last heartbeat, and how deep each queue is.
// Refreshed every few seconds.
import { describeError, get } from "../api.js";
import { h, link, markNav, replace } from "../dom.js";
import { ago, dateTime, shortId } from "../format.js";
import { errorBox, spinner } from "../widgets.js";

const REFRESH_MS = 3000;
markNav("workers");
const app = document.getElementById("app");
const queuesBox = h("div", { class: "card" }, spinner());
const workersBox = h("div", { class: "card" });
replace(app, h("div", { class: "page-head" }, h("h1", { text: "Workers" }),
  h("span", { class: "sub", text: "processes that run executions, and the queues they take from" })),
  queuesBox, workersBox);

function queuesTable(queues) {
  return h("div", { class: "table-wrap" }, h("table", { class: "list", id: "queues" },
    h("thead", null, h("tr", null, h("th", { text: "Queue" }), h("th", { text: "Waiting" }), h("th", { text: "Running" }))),
    h("tbody", null, queues.map((q) => h("tr", { dataset: { queue: q.queue } },
      h("td", { class: "mono", text: q.queue }),
      h("td", { class: "num", text: String(q.waiting) }),
      h("td", { class: "num", text: String(q.running) }))))));
}

function workersTable(workers, heartbeat) {
  if (!workers.length) {
    return h("div", { class: "empty" },
      h("p", { text: "No worker has reported yet. On PostgreSQL, start one on any machine that reaches the database:" }),
      h("p", null, h("code", { text: "runtree worker --database postgresql://… --slots 4" })),
      h("p", { class: "faint", text: "With SQLite, runtree serve runs executions itself." }));
  }
  return h("div", { class: "table-wrap" }, h("table", { class: "list", id: "workers" },
    h("thead", null, h("tr", null, h("th", { text: "Worker" }), h("th", { text: "State" }), h("th", { text: "Slots" }),
      h("th", { text: "Queues" }), h("th", { text: "Running" }), h("th", { text: "Heartbeat" }))),
    h("tbody", null, workers.map((w) => h("tr", { dataset: { id: w.id, state: w.state } },
      h("td", null, h("div", { class: "mono", text: w.id }),
        h("div", { class: "faint", text: `${w.kind} · started ${dateTime(w.started_at)}` })),
      h("td", null, h("span", {
        class: `mark state-${w.state}`, text: w.state,
        title: w.state === "lost" ? `no heartbeat for over ${4 * heartbeat} s: its executions were ended crashed or retried` : null,
      })),
      h("td", { class: "num", text: `${w.running.length}/${w.slots}` }),
      h("td", { class: "mono", text: w.queues.join(", ") }),
      h("td", null, w.running.length
        ? h("ul", { class: "plain" }, w.running.map((id) => h("li", null, link(`/executions/${id}`, shortId(id), { class: "mono" }))))
        : h("span", { class: "faint", text: "idle" })),
      h("td", { title: dateTime(w.heartbeat_at), text: ago(w.heartbeat_at) }))))));
}

async function refresh() {
  try {
    const { workers, queues, heartbeat_s } = await get("/workers");
    replace(queuesBox, queuesTable(queues));
    replace(workersBox, workersTable(workers, heartbeat_s));
  } catch (error) {
    replace(workersBox, errorBox(describeError(error)));
  }
  app.setAttribute("aria-busy", "false");
}

await refresh();
setInterval(refresh, REFRESH_MS);
