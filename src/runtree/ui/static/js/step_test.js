// "Download test" on the step panel: the pytest file GET /executions/{id}/test writes from the
// selected step (see the README, "A recorded step becomes a test"). Fetched with the page's
// API key (a plain link could not send it) and saved from a blob URL. When the step cannot be
// tested exactly (a value only has a preview) the reason is shown, with a button to download
// the test marked xfail instead.
import { ApiError, describeError, request } from "./api.js";
import { h } from "./dom.js";
import { errorBox } from "./widgets.js";

/** The file name the server gives the same download (Content-Disposition). */
export function stepTestFileName(executionId, step) {
  const name = String(step.name).replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "") || "step";
  return `test_${name}_${executionId.slice(0, 8)}_step${step.id}.py`;
}

function save(text, fileName) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/x-python" }));
  const anchor = h("a", { href: url, download: fileName, hidden: true });
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function download(executionId, step, { xfail }, button, status) {
  button.disabled = true;
  status.replaceChildren();
  try {
    const query = `step=${step.id}${xfail ? "&xfail=true" : ""}`;
    const { body } = await request(`/executions/${encodeURIComponent(executionId)}/test?${query}`);
    save(body, stepTestFileName(executionId, step));
  } catch (error) {
    status.appendChild(errorBox(describeError(error)));
    const untestable = error instanceof ApiError && /untestable-step$/.test(error.problem.type || "");
    if (untestable && !xfail && /preview/.test(error.message)) {
      const again = h("button", { class: "btn small", type: "button", text: "Download marked xfail",
        title: "The test with the previews in place, marked as an expected failure, to complete by hand" });
      again.addEventListener("click", () => download(executionId, step, { xfail: true }, again, status));
      status.appendChild(again);
    }
  } finally {
    button.disabled = false;
  }
}

/** The "Download test" button of a finished step, with room for its errors. */
export function stepTestButton(executionId, step) {
  if (step.status !== "completed" && step.status !== "failed") return null;
  const status = h("div", { class: "step-test-status" });
  const button = h("button", { class: "btn small", type: "button", text: "Download test",
    title: "A pytest file that replays this call: its inputs, its recorded output or error, "
      + "and stubs answering its calls into other functions" });
  button.addEventListener("click", () => download(executionId, step, { xfail: false }, button, status));
  return h("div", { class: "step-test" }, button, status);
}
