// initlab playground: the control widgets. Fills the selects from the server's options, builds
// and reads the initializer rows, and keeps the data fields in step with the chosen data set.
// Which control holds which configuration field is declared in state.js.

import { $, $$, el } from "./dom.js";

const UPLOAD_NAMES_KEY = "initlab-upload-names";

let options = null; // the server's /api/options, given to buildControls

/** A value as a control's text: null and undefined are an empty field. */
export const show = (v) => (v === null || v === undefined ? "" : String(v));

export function fillSelect(select, values, current) {
  select.replaceChildren(
    ...values.map((v) => {
      const item = typeof v === "object" ? v : { value: v, text: String(v) };
      return el("option", { value: item.value, title: item.title, text: item.text });
    }),
  );
  if (current !== undefined) select.value = String(current);
}

function datasetInfo(name) {
  return options.datasets.find((d) => d.name === name) ?? null;
}

export const initSpecs = () => options.initializers;
export const initSpec = (name) => initSpecs().find((i) => i.name === name) ?? null;

export function uploadNames() {
  try {
    return JSON.parse(localStorage.getItem(UPLOAD_NAMES_KEY) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

export function rememberUpload(id, name) {
  try {
    const names = uploadNames();
    names[id] = name;
    localStorage.setItem(UPLOAD_NAMES_KEY, JSON.stringify(names));
  } catch {
    // storage unavailable: names are a nicety
  }
}

/** Make sure #dataset offers `value`, an uploaded data set being shown by its file name. */
export function ensureDatasetOption(value, name) {
  const select = $("#dataset");
  let opt = [...select.options].find((o) => o.value === value);
  if (!opt) {
    const label = name ?? uploadNames()[value] ?? `uploaded (${value.slice(7, 15)}…)`;
    let group = $("optgroup.uploads", select);
    if (!group) {
      group = el("optgroup", { class: "uploads", label: "Uploaded" });
      select.append(group);
    }
    opt = el("option", { value, text: label, title: value });
    group.append(opt);
  } else if (name) {
    opt.textContent = name;
  }
  return opt;
}

/** Take the server's options and offer its data sets, activations and optimizers. */
export function buildControls(o) {
  options = o;
  fillSelect(
    $("#dataset"),
    o.datasets.map((d) => ({ value: d.name, text: d.task === "regression" ? `${d.name} (regression)` : d.name, title: d.description })),
  );
  fillSelect($("#activation"), o.activations);
  fillSelect($("#optimizer"), o.optimizers);
  $("#points").max = String(o.limits.max_points);
}

// --- the initializer rows (one run each) ------------------------------------------------------

let rowUid = 0;

function argInput(arg, id, value) {
  const common = { id, "data-arg": arg.name, title: arg.type };
  if (arg.type === "choice" || arg.type === "optional_choice") {
    const choices = arg.type === "optional_choice" ? [{ value: "", text: "—" }] : [];
    for (const c of arg.choices ?? []) choices.push({ value: c, text: c });
    const select = el("select", common);
    fillSelect(select, choices, value ?? "");
    return select;
  }
  if (arg.type === "float" || arg.type === "int") {
    return el("input", {
      ...common,
      type: "number",
      step: arg.type === "int" ? "1" : "any",
      value: value === null || value === undefined ? "" : String(value),
      placeholder: arg.default === null ? "—" : null,
    });
  }
  return el("input", {
    ...common,
    type: "text",
    spellcheck: "false",
    value: value ?? "",
    placeholder: arg.default === null ? "—" : null,
  });
}

/** The argument fields of initializer `name` in `row`, holding `values` or the defaults. */
export function renderArgs(row, name, values = {}) {
  const box = $(".init-args", row);
  const spec = initSpec(name);
  const uid = row.dataset.uid;
  box.replaceChildren();
  for (const arg of spec?.args ?? []) {
    const id = `init-${uid}-${arg.name}`;
    const value = Object.hasOwn(values, arg.name) ? values[arg.name] : arg.default;
    box.append(
      el("div", { class: "arg" }, el("label", { for: id, text: arg.name }), argInput(arg, id, value)),
    );
  }
  const select = $("select.init-name", row);
  select.title = spec?.description ?? "";
}

export function addInitRow(init = { name: "he" }, { focus = false } = {}) {
  const uid = String(++rowUid);
  const { name, ...args } = init;
  const selectId = `init-name-${uid}`;
  const select = el("select", { id: selectId, class: "init-name" });
  const choices = initSpecs().map((i) => ({ value: i.name, text: i.name, title: i.description }));
  if (!initSpec(name)) choices.push({ value: name, text: name, title: "unknown initializer" });
  fillSelect(select, choices, name);
  const row = el(
    "div",
    { class: "init-row", "data-uid": uid },
    el(
      "div",
      { class: "init-head" },
      el("span", { class: "run-swatch", "aria-hidden": "true" }),
      el("label", { for: selectId, class: "run-name", text: "run" }),
      select,
      el("button", {
        type: "button",
        class: "remove-init",
        title: "Remove this run",
        "aria-label": "Remove this run",
        text: "×",
      }),
    ),
    el("div", { class: "init-args" }),
  );
  $("#inits").append(row);
  renderArgs(row, name, args);
  refreshInitRows();
  if (focus) select.focus();
  return row;
}

/** Number the rows; the last one cannot be removed, and no more than max_runs added. */
export function refreshInitRows() {
  const rows = $$("#inits .init-row");
  rows.forEach((row, i) => {
    $(".run-name", row).textContent = `run ${i + 1}`;
    $(".remove-init", row).disabled = rows.length <= 1;
  });
  $("#add-init").disabled = rows.length >= (options?.limits?.max_runs ?? 4);
}

/** An initializer argument's text as its value, by the argument's type. */
export function parseArgValue(arg, raw) {
  switch (arg?.type) {
    case "float":
    case "int":
      return raw === "" ? null : Number(raw);
    case "optional_choice":
      return raw === "" ? null : raw;
    default:
      return raw;
  }
}

/** The initializer a row describes: {name, ...the arguments that differ from the default}. */
export function readInit(row) {
  const name = $("select.init-name", row).value;
  const spec = initSpec(name);
  const init = { name };
  for (const input of $$("[data-arg]", row)) {
    const arg = spec?.args.find((a) => a.name === input.dataset.arg);
    const value = parseArgValue(arg, input.value);
    // Only what differs from the default travels (an argument without a default, null,
    // travels once it is given: left empty, the server says that it is missing).
    if (arg ? value !== arg.default : value !== "") init[input.dataset.arg] = value;
  }
  return init;
}

// --- the data fields --------------------------------------------------------------------------

/** Placeholders and disabled states that follow the chosen data set. */
export function refreshDatasetFields() {
  const name = $("#dataset").value;
  const upload = name.startsWith("upload:");
  const info = datasetInfo(name);
  $("#noise").disabled = upload;
  $("#points").disabled = upload;
  $("#noise").placeholder = info?.noise !== undefined && info?.noise !== null ? String(info.noise) : "";
  $("#noise").title = upload ? "ignored for uploaded data" : info?.noise_help ?? "";
  $("#points").title = upload ? "ignored for uploaded data" : "";
}

/** A new data set picked by the user: its own defaults for noise, points and data seed. */
export function onDatasetChosen() {
  const name = $("#dataset").value;
  const info = datasetInfo(name);
  if (info) {
    $("#noise").value = "";
    if (info.points !== undefined) $("#points").value = show(info.points);
    if (info.test_fraction !== undefined) $("#test-fraction").value = show(info.test_fraction);
    if (info.data_seed !== undefined) $("#data-seed").value = show(info.data_seed);
  } else if (name.startsWith("upload:") && $("#data-seed").value.trim() === "notebook") {
    $("#data-seed").value = "0";
  }
  // An upload starts from its own columns (its features may be more, or fewer, than 2).
  if (name.startsWith("upload:") && $("#features")) $("#features").value = "";
  refreshDatasetFields();
}
