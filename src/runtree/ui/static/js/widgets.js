// Small shared pieces: status badges, captured values with their marks, errors.
import { h } from "./dom.js";
import { bytes, number, statusLabel } from "./format.js";
import { renderJSON } from "./json.js";
import { describeError } from "./api.js";

export function badge(status) {
  return h("span", { class: ["badge", `s-${status}`], text: statusLabel(status) });
}

/** A captured value: its preview as pretty JSON, and every mark the capture left on it. */
export function capturedValue(label, captured) {
  const head = h("div", { class: "value-head" });
  if (label) head.appendChild(h("span", { class: "pname", text: label }));
  if (!captured) {
    head.appendChild(h("span", { class: "muted", text: "no value" }));
    return h("div", { class: "value" }, head);
  }
  head.appendChild(h("span", { class: "faint value-kind", text: valueKind(captured),
    title: "the original value's type, its length, and its size serialized" }));
  if (captured.truncated) {
    // Capture knows the exact size of a cut string or bytes; of anything else, only the bytes
    // serialized when it stopped (a lower bound; its warning says "more than").
    const lowerBound = captured.type ? !EXACT_WHEN_CUT.has(captured.type)
      : !captured.sha256 && (captured.warning || "").startsWith("more than");
    head.appendChild(h("span", { class: "mark", text: `truncated · ${lowerBound ? "more than" : "original"} ${bytes(captured.size)}`,
      title: captured.sha256 ? `sha256 ${captured.sha256}` : "the original was larger than the capture budget" }));
    if (captured.sha256) head.appendChild(h("code", { class: "faint", text: `sha256 ${captured.sha256.slice(0, 12)}…`,
      title: captured.sha256 }));
  }
  if (captured.redacted) head.appendChild(h("span", { class: "mark redacted", text: "redacted",
    title: "secrets were replaced before anything was stored" }));
  const box = h("div", { class: "value" }, head, renderJSON(captured.preview));
  if (captured.warning) box.appendChild(h("div", { class: "value-head" }, h("span", { class: "mark", text: "warning" }),
    h("span", { text: captured.warning })));
  return box;
}

const EXACT_WHEN_CUT = new Set(["str", "bytes", "bytearray", "memoryview"]);
const UNITS = { str: "chars", bytes: "bytes", bytearray: "bytes", dict: "keys" };

/** "list, 3 items, 120 B": the original's type and len() when known, then its serialized size
 * (never how it was serialized). Values recorded before types were kept show the size only. */
export function valueKind(captured) {
  const parts = [];
  if (captured.type) parts.push(captured.type);
  if (captured.length !== null && captured.length !== undefined) {
    const unit = UNITS[captured.type] || "items";
    parts.push(`${number(captured.length)} ${captured.length === 1 ? unit.replace(/s$/, "") : unit}`);
  }
  if (captured.size && !captured.truncated) parts.push(bytes(captured.size));  // else: the mark says
  return parts.join(", ");
}

export function errorTitle(error) {
  return `${error.type || "Error"}${error.message ? `: ${error.message}` : ""}`;
}

export function spinner(text = "Loading…") {
  return h("div", { class: "spinner", role: "status", text });
}

export function errorBox(text) {
  return h("div", { class: "error-box", role: "alert", text });
}

/** What a page shows when the API refused it: for a 403, who may see it and how to get in. */
export function refusedBox(error, what) {
  if (error && error.status === 403) {
    return h("div", { class: "notice forbidden", role: "alert" },
      h("p", null, h("strong", { text: `${what} are for admins.` })),
      h("p", { class: "muted", text: `The server said: ${error.message}.` }),
      h("p", { class: "muted" }, "Sign out and sign in with an admin key (the one ",
        h("code", { text: "runtree serve" }), " printed on its first start, saved next to the database), or ask an admin."));
  }
  return errorBox(describeError(error));
}
