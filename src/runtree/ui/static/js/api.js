// The JSON API client. With auth enabled on the server, a 401 opens a small form asking for
// an API key; the key is kept in sessionStorage (this tab only) and sent as a Bearer token.
import { h } from "./dom.js";

export const API = "/api/v1";
const KEY = "runtree.apiKey";

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export function apiKey() {
  try { return sessionStorage.getItem(KEY); } catch { return null; }
}

function setKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY, key);
    else sessionStorage.removeItem(KEY);
  } catch { /* storage disabled: the key lives until the page is left */ }
  memoryKey = key || null;
  renderAccount();
}

let memoryKey = null;
let pendingLogin = null;

/**
 * Call the API: request(path, {method, body, signal}) -> {status, body}.
 * Throws ApiError with the problem document for 4xx/5xx answers.
 */
export async function request(path, { method = "GET", body, signal } = {}) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const headers = { Accept: "application/json" };
    const key = apiKey() || memoryKey;
    if (key) headers.Authorization = `Bearer ${key}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(API + path, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401) {
      await login(key ? "That key was not accepted. Enter another API key." : null);
      continue;
    }
    let data = null;
    const type = response.headers.get("content-type") || "";
    if (type.includes("json")) data = await response.json();
    else data = await response.text();
    if (!response.ok) throw new ApiError(response.status, typeof data === "object" ? data : { detail: data });
    return { status: response.status, body: data };
  }
  throw new ApiError(401, { detail: "not signed in" });
}

export async function get(path, options) {
  return (await request(path, options)).body;
}

/** Ask for an API key (once, however many requests are waiting for it). */
function login(message) {
  if (!pendingLogin) {
    pendingLogin = new Promise((resolve) => {
      const input = h("input", { type: "password", name: "key", autocomplete: "current-password",
        required: true, placeholder: "rtk_…", "aria-label": "API key" });
      const note = h("p", { class: "muted", text: message ||
        "This server requires an API key. It is kept for this browser tab only." });
      const dialog = h("dialog", { class: "login", "aria-labelledby": "login-title" },
        h("form", { method: "dialog" },
          h("h2", { id: "login-title", text: "Sign in to runtree" }),
          note,
          h("label", null, "API key", input),
          keyHelp(),
          h("div", { class: "row-flex" },
            h("button", { class: "btn primary", type: "submit", text: "Sign in" }))));
      dialog.addEventListener("cancel", (event) => event.preventDefault());
      dialog.querySelector("form").addEventListener("submit", () => {
        setKey(input.value.trim());
        dialog.remove();
        pendingLogin = null;
        resolve();
      });
      document.body.appendChild(dialog);
      dialog.showModal();
      input.focus();
    });
  }
  return pendingLogin;
}

/** Where to find a key: the admin key the server saved on its first start, or a new one. */
function keyHelp() {
  const main = document.getElementById("main");
  const file = main ? main.dataset.adminKeyFile : "";
  return h("div", { class: "key-help muted" },
    file ? h("p", null, "The admin key ", h("code", { text: "runtree serve" }),
      " (or ", h("code", { text: "make run" }), ") printed on its first start is saved next to its database: ",
      h("code", { class: "key-file", text: `cat ${file}` }), ".") : null,
    h("p", null, file ? "Or create a key for someone: " : "Create a key with: ",
      h("code", { text: "runtree keys create --role viewer" }), "."));
}

function renderAccount() {
  const box = document.getElementById("account");
  if (!box) return;
  while (box.firstChild) box.removeChild(box.firstChild);
  if (apiKey() || memoryKey) {
    box.appendChild(h("span", { text: "signed in with an API key" }));
    box.appendChild(h("button", { class: "btn small", type: "button", text: "Sign out",
      onclick: () => { setKey(null); location.reload(); } }));
  }
}

renderAccount();

/** A message for an error from request(), for people. */
export function describeError(error) {
  if (error instanceof ApiError) {
    if (error.status === 403) return `Not allowed: ${error.message}`;
    if (error.status === 404) return `Not found: ${error.message}`;
    return error.message;
  }
  return `Could not reach the server (${error.message || error}).`;
}

/** Run `tick` every `ms` while the tab is visible, until it returns false. */
export function poll(tick, ms) {
  let timer = null;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(async () => {
      if (document.hidden) { schedule(); return; }
      let again = true;
      try { again = (await tick()) !== false; } catch { again = true; }
      if (again) schedule();
    }, ms);
  };
  schedule();
  return () => { stopped = true; clearTimeout(timer); };
}
