// Pretty JSON as DOM nodes (text nodes in coloured spans; never HTML). The capture's own
// marks inside previews stand out: "[redacted]", "… N more", "… [N chars]", {"__type__": ...}.
import { h } from "./dom.js";

const MARK = /^(\[redacted\]|… \d+ more)$|… \[\d+ chars\]$/;
const MAX_NODES = 20000;

export function renderJSON(value) {
  const pre = h("pre", { class: "json" });
  const state = { nodes: 0, out: [] };
  write(value, 0, state);
  if (state.nodes > MAX_NODES) state.out.push(h("span", { class: "j-mark", text: "\n… (display cut short)" }));
  for (const part of state.out) pre.appendChild(part);
  return pre;
}

function text(state, s) {
  state.out.push(document.createTextNode(s));
}

function span(state, cls, s) {
  state.out.push(h("span", { class: cls, text: s }));
}

function write(value, indent, state) {
  if (++state.nodes > MAX_NODES) return;
  const pad = "  ".repeat(indent);
  if (value === null) return span(state, "j-lit", "null");
  if (typeof value === "boolean") return span(state, "j-lit", String(value));
  if (typeof value === "number") return span(state, "j-num", String(value));
  if (typeof value === "string") {
    return span(state, MARK.test(value) ? "j-str j-mark" : "j-str", JSON.stringify(value));
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return text(state, "[]");
    text(state, "[\n");
    value.forEach((item, i) => {
      text(state, pad + "  ");
      write(item, indent + 1, state);
      text(state, i < value.length - 1 ? ",\n" : "\n");
    });
    return text(state, pad + "]");
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return text(state, "{}");
  text(state, "{\n");
  keys.forEach((key, i) => {
    text(state, pad + "  ");
    const special = key === "__type__" || key === "…";
    span(state, special ? "j-key j-type" : "j-key", JSON.stringify(key));
    text(state, ": ");
    write(value[key], indent + 1, state);
    text(state, i < keys.length - 1 ? ",\n" : "\n");
  });
  text(state, pad + "}");
}
