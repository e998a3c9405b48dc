// DOM shorthands shared by the playground's modules: find nodes, build them, set their text.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** A new element: `class` and `text` attributes set className and textContent; a non-string
 * value sets the property of that name (`hidden: true`, `disabled: false`). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k in node && typeof v !== "string") node[k] = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children);
  return node;
}

/** Set a node's text, touching the DOM only when it changes. */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
