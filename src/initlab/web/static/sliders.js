// initlab playground: sliders and choices beside the exact-value fields, as TF Playground
// offers them. Noise, test fraction and batch size get a slider over a ladder of values;
// learning rate, L2 and L1 a list of the usual values. They only write the fields: the fields
// stay the configuration's source (state.js reads them, the URL holds them), so a value typed
// there is kept exactly and the slider moves to the nearest rung.

import { $, el } from "./dom.js";

const range = (lo, hi, step) =>
  Array.from({ length: Math.round((hi - lo) / step) + 1 }, (_, i) => Number((lo + i * step).toFixed(4)));

/** Sliders: field id, its values low to high, how a value reads. */
const SLIDERS = [
  { field: "noise", name: "Noise", values: [0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5] },
  { field: "test-fraction", name: "Test fraction", values: range(0.1, 0.9, 0.05) },
  { field: "batch-size", name: "Batch size", values: [0, 1, 2, 4, 8, 16, 32, 64, 128, 256], all: true },
];

/** Choices: field id and the values offered (TF Playground's learning and L2 rates). */
const CHOICES = [
  { field: "learning-rate", name: "Learning rate", values: [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10] },
  { field: "l2", name: "L2", values: [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10] },
  { field: "l1", name: "L1", values: [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10] },
];

const built = [];

/** The field's number, or its placeholder's (the data set's default noise) when empty. */
function fieldValue(field) {
  const text = field.value.trim() || field.placeholder.trim();
  const v = Number(text);
  return text === "" || !Number.isFinite(v) ? null : v;
}

function nearest(values, v) {
  let best = 0;
  values.forEach((x, i) => {
    if (Math.abs(x - v) < Math.abs(values[best] - v)) best = i;
  });
  return best;
}

function addSlider(spec) {
  const field = document.getElementById(spec.field);
  if (!field) return;
  const input = el("input", { type: "range", class: "slider", min: "0", max: String(spec.values.length - 1), step: "1", "data-for": spec.field });
  const shown = el("span", { class: "slider-value" });
  const label = el("label", { class: "slider-row" }, el("span", { class: "sr-only", text: `${spec.name} slider` }), input, shown);
  field.after(label);
  const text = (v) => (spec.all && v === 0 ? "all" : String(v));
  input.addEventListener("input", () => {
    const v = spec.values[Number(input.value)];
    field.value = String(v); // the input event goes on to the page's form, which applies it
    shown.textContent = text(v);
  });
  built.push(() => {
    input.disabled = field.disabled;
    const v = fieldValue(field);
    if (v === null) return;
    const i = String(nearest(spec.values, v));
    if (input.value !== i) input.value = i;
    const t = text(v);
    if (shown.textContent !== t) shown.textContent = t;
  });
}

function addChoice(spec) {
  const field = document.getElementById(spec.field);
  if (!field) return;
  const select = el(
    "select",
    { class: "choice", "data-for": spec.field },
    el("option", { value: "", text: "other", disabled: true }),
    ...spec.values.map((v) => el("option", { value: String(v), text: String(v) })),
  );
  const label = el("label", { class: "choice-row" }, el("span", { class: "sr-only", text: `${spec.name} choices` }), select);
  field.after(label);
  select.addEventListener("change", () => {
    if (select.value !== "") field.value = select.value; // applied by the page's form
  });
  built.push(() => {
    const v = fieldValue(field);
    const match = spec.values.find((x) => x === v);
    const want = match === undefined ? "" : String(match);
    if (select.value !== want) select.value = want;
  });
}

/** Build the sliders and choices once, then put them where their fields are. */
export function syncSliders() {
  if (!built.length && $("#controls")) {
    SLIDERS.forEach(addSlider);
    CHOICES.forEach(addChoice);
    $("#controls").addEventListener("input", () => built.forEach((sync) => sync()));
  }
  built.forEach((sync) => sync());
}
