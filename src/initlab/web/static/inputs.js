// initlab playground: the network's inputs and its regularisation, as TF Playground offers them.
//
// Input features (x₁, x₂, x₁², x₂², x₁x₂, sin x₁, sin x₂: /api/options' `features`) are
// toggled on the diagram's input column (diagram.js), which writes the "Input features" field;
// the regularisation choice (none / L1 / L2) shows the rate field it uses and moves the rate
// between the L1 and L2 fields; the upload's "real target" box says how the server reads an
// uploaded CSV (its label column as classes, or as a regression target). Like sliders.js these
// only write the fields: the fields stay the configuration's source (state.js reads them, the
// URL holds them), and the server checks every value.

import { $ } from "./dom.js";

/** TF Playground's features of a 2-D input, in its order (the server's list, when known). */
export function playgroundFeatures() {
  return window.initlab?.options?.features ?? ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
}

const SUBSCRIPT = "₀₁₂₃₄₅₆₇₈₉";
const sub = (digits) => digits.split("").map((d) => SUBSCRIPT[Number(d)]).join("");

/** A feature's name as the page shows it: "x1^2" → "x₁²", "x1*x2" → "x₁x₂", "sin(x2)" → "sin x₂". */
export function featureLabel(name) {
  const x = (i) => `x${sub(i)}`;
  let m = /^x(\d+)$/.exec(name);
  if (m) return x(m[1]);
  m = /^x(\d+)\^2$/.exec(name);
  if (m) return `${x(m[1])}²`;
  m = /^x(\d+)\*x(\d+)$/.exec(name);
  if (m) return `${x(m[1])}${x(m[2])}`;
  m = /^sin\(x(\d+)\)$/.exec(name);
  if (m) return `sin ${x(m[1])}`;
  return name;
}

/** The features after toggling `name` in `current` (TF Playground's order first, any other
 * kept after them), or null where that would leave none. */
export function toggledFeatures(current, name) {
  const on = new Set(current);
  if (on.has(name)) on.delete(name);
  else on.add(name);
  if (!on.size) return null;
  const known = playgroundFeatures();
  return [...known.filter((f) => on.has(f)), ...[...on].filter((f) => !known.includes(f))];
}

/** Write `features` into the "Input features" field and tell the page, as typing there does. */
export function setFeatures(features) {
  const field = document.getElementById("features");
  if (!field) return;
  field.value = features.join(",");
  field.dispatchEvent(new Event("input", { bubbles: true }));
}

/** How the server is to read the next uploaded CSV: "regression" when the box says its label
 * column is a real target, else "classification". */
export function uploadTask() {
  return document.getElementById("upload-regression")?.checked ? "regression" : "classification";
}

// --- regularisation: none / L1 / L2 -------------------------------------------------------------

const rate = (id) => {
  const v = Number(document.getElementById(id)?.value.trim() || "0");
  return Number.isFinite(v) ? v : 0;
};

/** The regularisation the rate fields describe: "l1", "l2", "both" or null (no rate set). */
function described() {
  const l1 = rate("l1") > 0;
  const l2 = rate("l2") > 0;
  if (l1 && l2) return "both";
  if (l1) return "l1";
  return l2 ? "l2" : null;
}

/** Show the rate field(s) of the choice: L1's for L1, L2's for L2 and none (its rate is 0
 * there, and choosing one switches to L2), both where both are set (from a link or the API). */
function showRates(choice) {
  const l1 = $("#l1-field");
  const l2 = $("#l2-field");
  if (l1) l1.hidden = !(choice === "l1" || choice === "both");
  if (l2) l2.hidden = choice === "l1";
}

/** The choice follows the rates; where both are 0 it stays what the user chose. */
function syncChoice() {
  const select = $("#regularization");
  if (!select) return;
  const now = described();
  const both = $('option[value="both"]', select);
  if (both) both.hidden = now !== "both";
  if (now) select.value = now;
  else if (select.value === "both") select.value = "none";
  showRates(select.value);
}

/** The user chose a regularisation: the rate moves to its field, the other becomes 0. */
function onChoice(select) {
  const l1 = document.getElementById("l1");
  const l2 = document.getElementById("l2");
  if (!l1 || !l2) return;
  if (select.value === "none") {
    l1.value = "0";
    l2.value = "0";
  } else if (select.value === "l1") {
    if (rate("l1") === 0 && rate("l2") > 0) l1.value = l2.value;
    l2.value = "0";
  } else if (select.value === "l2") {
    if (rate("l2") === 0 && rate("l1") > 0) l2.value = l1.value;
    l1.value = "0";
  }
  showRates(select.value);
}

let wired = false;

/** Wire the choice once (its change reaches the page's form after the fields were written),
 * then show the controls as the fields are: call it after the fields change. */
export function syncInputs() {
  const select = $("#regularization");
  if (!wired && select) {
    wired = true;
    select.addEventListener("change", () => onChoice(select));
    // Any other field's change (a rate typed or chosen) may change what the rates describe.
    const follow = (e) => {
      if (e.target !== select) syncChoice();
    };
    $("#controls")?.addEventListener("input", follow);
    $("#controls")?.addEventListener("change", follow);
  }
  syncChoice();
}
