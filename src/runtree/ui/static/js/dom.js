// Building DOM without HTML parsing: every string becomes a text node or an attribute value,
// so recorded data (inputs, outputs, printed output, names) can never turn into markup.

/**
 * h("div", {class: "x", text: "hi", onclick: fn, dataset: {id: 1}}, child, "text", [more])
 * Attribute values are set with setAttribute (never parsed); `text` sets textContent.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") el.textContent = String(value);
      else if (key === "class") el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key === "style") {
        for (const [prop, v] of Object.entries(value)) {
          if (prop.startsWith("--")) el.style.setProperty(prop, v);
          else el.style[prop] = v;
        }
      }
      else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
      else if (key === "value") el.value = value;
      else if (key === "checked" || key === "selected" || key === "disabled" || key === "hidden") el[key] = Boolean(value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

export function link(href, text, attrs = {}) {
  return h("a", { href, ...attrs }, text);
}

/** The <main> element's data-* attributes (set by the server-rendered shell). */
export function pageData() {
  return document.getElementById("main").dataset;
}

/** Mark the current page's link in the top bar. */
export function markNav(name) {
  for (const a of document.querySelectorAll(".topbar nav a[data-nav]")) {
    if (a.dataset.nav === name) a.setAttribute("aria-current", "page");
  }
}

export function setTitle(text) {
  document.title = `${text} · runtree`;
}
