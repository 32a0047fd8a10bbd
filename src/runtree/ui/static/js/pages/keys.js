// API keys (admins): every key by its public prefix, role and namespace; create one (the key
// itself is shown once, here, and never again); revoke one (it stops working at once).
import { describeError, get, request } from "../api.js";
import { h, markNav, replace } from "../dom.js";
import { dateTime } from "../format.js";
import { errorBox, refusedBox, spinner } from "../widgets.js";

const ROLES = ["viewer", "runner", "developer", "admin"];
markNav("keys");
const app = document.getElementById("app");
const body = h("div", { class: "card" }, spinner());
const created = h("div", { "aria-live": "polite" });
const showRevoked = h("input", { type: "checkbox", name: "revoked" });
replace(app, h("div", { class: "page-head" }, h("h1", { text: "API keys" }),
  h("span", { class: "sub", text: "stored hashed: only the prefix is ever shown again" })), created, body);

function createForm() {
  const role = h("select", { name: "role", "aria-label": "Role" },
    ROLES.map((r) => h("option", { value: r, text: r, selected: r === "viewer" })));
  const namespace = h("input", { type: "text", name: "namespace", placeholder: "every namespace", maxlength: "100" });
  const name = h("input", { type: "text", name: "name", placeholder: "ci, alice …", maxlength: "200" });
  const problem = h("span", { class: "exec-error", role: "alert" });
  return h("form", { class: "card filters", id: "create-key", onsubmit: async (event) => {
    event.preventDefault();
    problem.textContent = "";
    try {
      const { body: key } = await request("/keys", { method: "POST", body: {
        role: role.value, namespace: namespace.value.trim() || null, name: name.value.trim() || null } });
      const secret = h("input", { type: "text", readonly: true, value: key.key, class: "mono secret", "aria-label": "the new key", size: "60" });
      replace(created, h("div", { class: "notice key-created", role: "status" },
        h("p", null, h("strong", { text: `Key ${key.prefix} created (${key.role}${key.namespace ? ` in ${key.namespace}` : ""}).` }),
          " Copy it now: it is shown this once and cannot be recovered."),
        h("div", { class: "row-flex" }, secret,
          h("button", { class: "btn small", type: "button", text: "Copy", onclick: async () => {
            secret.select();
            try { await navigator.clipboard.writeText(key.key); } catch { /* selected for a manual copy */ }
          } }),
          h("button", { class: "btn small", type: "button", text: "Done", onclick: () => replace(created) }))));
      name.value = "";
      await load();
    } catch (error) {
      problem.textContent = describeError(error);
    }
  } },
    h("label", null, "Role", role), h("label", null, "Namespace", namespace), h("label", null, "Name", name),
    h("button", { class: "btn primary", type: "submit", text: "Create key" }), problem);
}

async function load() {
  let keys;
  try {
    ({ keys } = await get(`/keys?include_revoked=${showRevoked.checked}`));
  } catch (error) {
    replace(body, refusedBox(error, "API keys"));
    return false;
  }
  replace(body, h("div", { class: "filters" }, h("h2", { class: "grow", text: `${keys.length} key${keys.length === 1 ? "" : "s"}` }),
    h("label", { class: "inline" }, showRevoked, "show revoked")),
  h("div", { class: "table-wrap" }, h("table", { class: "list", id: "keys" },
    h("thead", null, h("tr", null, h("th", { text: "Prefix" }), h("th", { text: "Name" }), h("th", { text: "Role" }),
      h("th", { text: "Namespace" }), h("th", { class: "hide-narrow", text: "Created" }), h("th", { text: "" }))),
    h("tbody", null, keys.map((k) => h("tr", { dataset: { prefix: k.prefix }, class: k.revoked_at ? "faint" : null },
      h("td", { class: "mono", text: k.prefix }),
      h("td", { text: k.name || "" }),
      h("td", null, h("span", { class: "tag", text: k.role })),
      h("td", { text: k.namespace || "every namespace" }),
      h("td", { class: "hide-narrow nowrap muted", text: `${dateTime(k.created_at)}${k.created_by ? ` · ${k.created_by}` : ""}` }),
      h("td", { class: "right" }, k.revoked_at
        ? h("span", { class: "muted", text: `revoked ${dateTime(k.revoked_at)}` })
        : h("button", { class: "btn small", type: "button", text: "Revoke", "aria-label": `Revoke ${k.prefix}`, onclick: async (event) => {
          if (!confirm(`Revoke ${k.prefix}${k.name ? ` (${k.name})` : ""}? It stops working at once.`)) return;
          event.target.disabled = true;
          try {
            await request(`/keys/${encodeURIComponent(k.prefix)}`, { method: "DELETE" });
            await load();
          } catch (error) {
            replace(event.target.parentElement, errorBox(describeError(error)));
          }
        } }))))))));
  return true;
}

showRevoked.addEventListener("change", load);
if (await load()) app.insertBefore(createForm(), body);
app.setAttribute("aria-busy", "false");
