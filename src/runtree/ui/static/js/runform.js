// A run form generated from the entry point's signature (as read from the source at
// deploy): one field per parameter, typed after its annotation where that is simple
// (int, float, str, bool, Literal[...], Optional[...]); anything else is a JSON field.
import { h } from "./dom.js";

/** What kind of field an annotation's source text asks for. */
export function parseAnnotation(text) {
  if (!text) return { kind: "any", optional: false };
  let t = text.trim();
  if ((t.startsWith("'") && t.endsWith("'")) || (t.startsWith('"') && t.endsWith('"'))) t = t.slice(1, -1).trim();
  let optional = false;
  const optionalMatch = /^(?:typing\.)?Optional\[(.*)\]$/s.exec(t);
  if (optionalMatch) { optional = true; t = optionalMatch[1].trim(); }
  const unionMatch = /^(?:typing\.)?Union\[(.*)\]$/s.exec(t);
  let parts = unionMatch ? splitTop(unionMatch[1], ",") : splitTop(t, "|");
  if (parts.some((p) => p === "None")) { optional = true; parts = parts.filter((p) => p !== "None"); }
  if (parts.length !== 1) return { kind: "json", optional };
  t = parts[0];
  const literal = /^(?:typing\.)?Literal\[(.*)\]$/s.exec(t);
  if (literal) {
    const options = splitTop(literal[1], ",").map(pyLiteral);
    if (options.every((o) => o !== undefined)) return { kind: "literal", optional, options };
    return { kind: "json", optional };
  }
  if (["int", "float", "str", "bool"].includes(t)) return { kind: t, optional };
  if (t === "Any" || t === "object" || t === "typing.Any") return { kind: "any", optional };
  return { kind: "json", optional };
}

function splitTop(text, sep) {
  const parts = [];
  let depth = 0;
  let quote = null;
  let current = "";
  for (const ch of text) {
    if (quote) { if (ch === quote) quote = null; current += ch; continue; }
    if (ch === "'" || ch === '"') { quote = ch; current += ch; continue; }
    if (ch === "[" || ch === "(") depth++;
    if (ch === "]" || ch === ")") depth--;
    if (ch === sep && depth === 0) { parts.push(current.trim()); current = ""; continue; }
    current += ch;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

function pyLiteral(text) {
  const t = text.trim();
  if ((t.startsWith("'") && t.endsWith("'")) || (t.startsWith('"') && t.endsWith('"'))) return t.slice(1, -1);
  if (t === "True") return true;
  if (t === "False") return false;
  if (t === "None") return null;
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return undefined;
}

const HINTS = {
  int: "a whole number",
  float: "a number",
  str: "text",
  bool: "true or false",
  literal: "one of the listed values",
  json: "JSON",
  any: "JSON, or plain text",
};

/**
 * buildRunForm(signature, onSubmit) -> {form, setProblems(list), setBusy(bool)}.
 * onSubmit(input) is called with the input object when every field is valid.
 */
export function buildRunForm(signature, onSubmit) {
  const fields = [];
  const preview = h("pre", { class: "json", "aria-label": "input that will be sent" });
  const general = h("div", { class: "problem", role: "alert" });
  const submit = h("button", { class: "btn primary", type: "submit", text: "Run" });
  const form = h("form", { class: "run-form", novalidate: true, "aria-label": `Run ${signature.name}` });
  if (signature.docstring) form.appendChild(h("pre", { class: "docstring", text: signature.docstring }));
  const params = signature.parameters || [];
  if (!params.length) form.appendChild(h("p", { class: "muted", text: "This function takes no arguments." }));
  for (const param of params) fields.push(field(param));
  for (const f of fields) form.appendChild(f.box);
  form.appendChild(h("details", null, h("summary", { text: "Input as JSON" }), preview));
  form.appendChild(general);
  form.appendChild(h("div", { class: "row-flex" }, submit,
    h("span", { class: "muted", text: "The run starts at once; its page updates while it runs." })));

  const collect = (report) => {
    const input = {};
    let ok = true;
    for (const f of fields) {
      const result = f.read();
      if (report) f.setProblem(result.problem || "");
      if (result.problem) { ok = false; continue; }
      if (result.omit) continue;
      if (f.param.kind === "var_keyword") Object.assign(input, result.value);
      else input[f.param.name] = result.value;
    }
    return { ok, input };
  };
  const refresh = () => { preview.textContent = JSON.stringify(collect().input, null, 2); };
  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    general.textContent = "";
    const { ok, input } = collect(true);
    refresh();
    if (ok) onSubmit(input);
    else { const bad = form.querySelector(".field.invalid input, .field.invalid textarea, .field.invalid select"); if (bad) bad.focus(); }
  });
  refresh();

  return {
    form,
    setBusy(busy) { submit.disabled = busy; submit.textContent = busy ? "Starting…" : "Run"; },
    setProblems(problems, message) {
      let shown = false;
      for (const p of problems || []) {
        const f = fields.find((x) => x.param.name === p.parameter);
        if (f) { f.setProblem(p.message); shown = true; }
      }
      general.textContent = shown && !message ? "" : (message || "");
      if (!shown && problems && problems.length) general.textContent = problems.map((p) => `${p.parameter}: ${p.message}`).join("; ");
    },
  };
}

function field(param) {
  const id = `param-${param.name}`;
  const info = param.kind === "var_positional" ? { kind: "json", optional: true, list: true }
    : param.kind === "var_keyword" ? { kind: "json", optional: true, object: true }
      : parseAnnotation(param.annotation);
  const required = !param.has_default && !["var_positional", "var_keyword"].includes(param.kind);
  let control;
  if (info.kind === "bool") {
    control = h("select", { id, name: param.name },
      required ? null : h("option", { value: "", text: "(default)" }),
      h("option", { value: "true", text: "true" }), h("option", { value: "false", text: "false" }));
  } else if (info.kind === "literal") {
    control = h("select", { id, name: param.name },
      required ? null : h("option", { value: "", text: "(default)" }),
      info.options.map((o, i) => h("option", { value: String(i), text: JSON.stringify(o) })));
  } else if (info.kind === "json" || info.kind === "any") {
    control = h("textarea", { id, name: param.name, rows: "2", spellcheck: "false",
      placeholder: info.list ? "[1, 2, 3]" : info.object ? '{"key": "value"}'
        : param.has_default ? `default: ${param.default_source ?? JSON.stringify(param.default)}` : "" });
  } else {
    control = h("input", { id, name: param.name, autocomplete: "off",
      type: info.kind === "str" ? "text" : "number", step: info.kind === "int" ? "1" : info.kind === "float" ? "any" : undefined,
      placeholder: param.has_default ? `default: ${param.default_source ?? JSON.stringify(param.default)}` : "" });
  }
  const prefix = param.kind === "var_positional" ? "*" : param.kind === "var_keyword" ? "**" : "";
  const problem = h("div", { class: "problem", role: "alert" });
  const hint = info.list ? "a JSON list of extra positional arguments"
    : info.object ? "a JSON object of extra keyword arguments" : HINTS[info.kind];
  const box = h("div", { class: "field" },
    h("label", { class: "field-label", for: id },
      h("b", { class: "mono", text: prefix + param.name }),
      param.annotation ? h("code", { text: param.annotation }) : null,
      required ? h("span", { class: "tag", text: "required" }) : h("span", { class: "faint", text: "optional" })),
    control,
    h("div", { class: "hint", text: `${hint}${info.optional && required ? "; empty means None" : ""}` }),
    problem);

  const read = () => {
    const raw = control.value;
    if (raw.trim() === "") {
      if (!required) return { omit: true };
      if (info.optional) return { value: null };
      if (info.kind === "str") return { value: "" };
      return { problem: "required" };
    }
    switch (info.kind) {
      case "int": {
        const n = Number(raw);
        return Number.isInteger(n) ? { value: n } : { problem: "must be a whole number" };
      }
      case "float": {
        const n = Number(raw);
        return Number.isFinite(n) ? { value: n } : { problem: "must be a number" };
      }
      case "str": return { value: raw };
      case "bool": return { value: raw === "true" };
      case "literal": return { value: info.options[Number(raw)] };
      default: {
        try {
          const value = JSON.parse(raw);
          if (info.list && !Array.isArray(value)) return { problem: "must be a JSON list" };
          if (info.object && (value === null || typeof value !== "object" || Array.isArray(value))) {
            return { problem: "must be a JSON object" };
          }
          return { value };
        } catch {
          if (info.kind === "any") return { value: raw }; // unannotated: plain text is a string
          return { problem: "is not valid JSON" };
        }
      }
    }
  };
  const setProblem = (text) => {
    problem.textContent = text;
    box.classList.toggle("invalid", Boolean(text));
    if (text) control.setAttribute("aria-invalid", "true"); else control.removeAttribute("aria-invalid");
  };
  control.addEventListener("input", () => setProblem(""));
  return { param, box, read, setProblem };
}
