// Download buttons for an execution's trace files (GET /executions/{id}/export). The file is
// fetched with the page's API key (a plain link could not send it) and saved from a blob URL.
import { describeError, get } from "./api.js";
import { h } from "./dom.js";
import { errorBox } from "./widgets.js";

const FORMATS = [
  { format: "chrome", label: "Chrome trace", title: "Trace Event Format: open in Perfetto or chrome://tracing" },
  { format: "speedscope", label: "speedscope", title: "speedscope's evented profile format" },
  { format: "json", label: "JSON", title: "runtree's steps with their times" },
];

/** The file name the server gives the same download (Content-Disposition). */
export function traceFileName(execution, format) {
  return `runtree-${execution.namespace}-${execution.name}-${execution.id.slice(0, 8)}.${format}.json`;
}

async function download(execution, format, button, status) {
  button.disabled = true;
  status.replaceChildren();
  try {
    const trace = await get(`/executions/${encodeURIComponent(execution.id)}/export?format=${format}`);
    const blob = new Blob([JSON.stringify(trace)], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const anchor = h("a", { href: url, download: traceFileName(execution, format), hidden: true });
    document.body.appendChild(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    status.appendChild(errorBox(describeError(error)));
  } finally {
    button.disabled = false;
  }
}

/** "Export" followed by one small button per format; errors are shown after them. */
export function traceExportButtons(execution) {
  const status = h("span", { class: "export-status" });
  const buttons = FORMATS.map(({ format, label, title }) => {
    const button = h("button", { class: "btn small", type: "button", text: label, title,
      dataset: { format } });
    button.addEventListener("click", () => download(execution, format, button, status));
    return button;
  });
  return h("span", { class: "trace-export", "aria-label": "Export as a trace file" }, "export ", ...buttons, status);
}
