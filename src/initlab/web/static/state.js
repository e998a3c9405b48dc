// initlab playground: the page's state as one table of fields. Each field is declared once in
// FIELDS, with its control and its query-string key; its type says how its text is read from
// and shown in the control and how it is written to and parsed from the URL. Reading the
// configuration, filling the controls and both directions of the URL loop over that table.

import { $, $$ } from "./dom.js";
import {
  addInitRow,
  ensureDatasetOption,
  fillSelect,
  initSpec,
  parseArgValue,
  readInit,
  refreshDatasetFields,
  show,
} from "./controls.js";

/** A value in a control that cannot be sent (its message names the field and the value). */
export class ClientError extends Error {}

function numberOrNull(raw) {
  const s = String(raw).trim();
  return s === "" ? null : Number(s);
}

function parseDataSeed(raw) {
  const s = String(raw).trim();
  if (s === "") return null;
  if (/^\d+$/.test(s)) return Number(s);
  return s;
}

function featureList(raw) {
  const names = String(raw).split(",").map((f) => f.trim()).filter(Boolean);
  return names.length ? names : null;
}

/** One initializer in the URL: `name` or `name:arg=value,arg=value` (null: `arg=`). */
function encodeInit(init) {
  const { name, ...args } = init;
  const parts = Object.entries(args).map(([k, v]) => `${k}=${v === null ? "" : v}`);
  return parts.length ? `${name}:${parts.join(",")}` : name;
}

function decodeInit(text) {
  const colon = text.indexOf(":");
  const name = colon < 0 ? text : text.slice(0, colon);
  const init = { name };
  if (colon < 0) return init;
  const spec = initSpec(name);
  for (const part of text.slice(colon + 1).split(",")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    const raw = eq < 0 ? "" : part.slice(eq + 1);
    const arg = spec?.args.find((a) => a.name === key);
    init[key] = parseArgValue(arg ?? { type: /^-?[\d.e+-]+$/.test(raw) ? "float" : "str" }, raw);
  }
  return init;
}

/**
 * The field types. read(control, field): the control's value; write(control, value): show a
 * value in it; encode(value): the value as the texts of its query key (a key may repeat);
 * decode(texts): the value those texts describe (lenient: the server checks the values).
 */
const choice = {
  read: (c) => c.value,
  write: (c, v) => {
    c.value = v;
  },
  encode: (v) => [String(v)],
  decode: (texts) => texts[0],
};

const number = {
  read: (c) => numberOrNull(c.value),
  write: (c, v) => {
    c.value = show(v);
  },
  encode: (v) => [show(v)],
  decode: (texts) => numberOrNull(texts[0]),
};

const TYPES = {
  /** One of the options of a select, as its text. */
  choice,
  /** A data set name, or "upload:<id>" for an uploaded one (the select gains its option). */
  dataset: {
    ...choice,
    write: (c, v) => {
      if (String(v).startsWith("upload:")) ensureDatasetOption(v);
      c.value = v;
    },
  },
  /** A number field; empty is null. int and float read alike: the server checks the values. */
  int: number,
  float: number,
  /** An integer ≥ 0, or a name such as "notebook"; empty is null. */
  intOrName: { ...number, read: (c) => parseDataSeed(c.value), decode: (t) => parseDataSeed(t[0]) },
  /** Integers separated by commas (spaces and semicolons accepted in the control). */
  list: {
    read: (c, f) => {
      const raw = c.value;
      const s = raw.trim();
      if (s === "") return [];
      const parts = s.split(/[\s,;]+/).filter(Boolean);
      if (!parts.every((p) => /^[+-]?\d+$/.test(p))) {
        throw new ClientError(
          `${f.name}: '${raw}' is not a comma-separated list of integer layer widths (e.g. 10,5)`,
        );
      }
      return parts.map(Number);
    },
    write: (c, v) => {
      c.value = (v ?? []).join(",");
    },
    encode: (v) => [v.join(",")],
    decode: (texts) => {
      const h = texts[0].trim();
      return h === "" ? [] : h.split(/[\s,]+/).filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
    },
  },
  /** The initializer rows, one run each; one query key per run (encodeInit). */
  inits: {
    read: (c) => $$(".init-row", c).map(readInit),
    write: (c, v) => {
      c.replaceChildren();
      for (const init of v?.length ? v : [{ name: "he" }]) addInitRow(init);
    },
    encode: (v) => v.map(encodeInit),
    decode: (texts) => texts.filter(Boolean).map(decodeInit),
  },
  /** A checkbox: on or off; "1" or "0" in the URL (any text but 0, false, no, off: on). */
  flag: {
    read: (c) => c.checked,
    write: (c, v) => {
      c.checked = Boolean(v);
    },
    encode: (v) => [v ? "1" : "0"],
    decode: (texts) => !["0", "false", "no", "off"].includes(texts[0].trim().toLowerCase()),
  },
  /** Input feature names separated by commas (inputs.js); empty is null: the raw inputs. */
  features: {
    read: (c) => featureList(c.value),
    write: (c, v) => {
      c.value = (v ?? []).join(",");
    },
    encode: (v) => [v.join(",")],
    decode: (texts) => featureList(texts[0]),
  },
  /** A whole number ≥ 0 with no control (bad text counts as 0). */
  count: {
    encode: (v) => [String(v)],
    decode: (texts) => Math.max(0, parseInt(texts[0], 10) || 0),
  },
};

/**
 * Every field, in the order of the configuration's keys and of the query string.
 * name: the configuration's key (docs/playground-api.md, "A configuration"), or for a `view`
 * field (not part of the configuration) its name in the view; key: the query-string key;
 * control: the element's id; type: a TYPES entry. A configuration field's default is the
 * server's (`defaults` in /api/options); a view field declares its own. Optional:
 * choices: the values allowed (others mean the default); omitNull: left out of the URL when
 * null; omitDefault: left out of the URL at its default; zeroIsNull: 0 in the control and the
 * URL stands for null (batch size 0: all samples). A view field with a control and no value
 * in the view given to toQuery is read from its control.
 */
export const FIELDS = [
  { name: "dataset", key: "dataset", control: "dataset", type: "dataset" },
  { name: "noise", key: "noise", control: "noise", type: "float", omitNull: true },
  { name: "points", key: "points", control: "points", type: "int" },
  { name: "test_fraction", key: "test", control: "test-fraction", type: "float" },
  { name: "data_seed", key: "dseed", control: "data-seed", type: "intOrName" },
  { name: "features", key: "feat", control: "features", type: "features", omitNull: true },
  { name: "hidden", key: "hidden", control: "hidden", type: "list" },
  { name: "activation", key: "act", control: "activation", type: "choice" },
  { name: "inits", key: "init", control: "inits", type: "inits" },
  { name: "optimizer", key: "opt", control: "optimizer", type: "choice" },
  { name: "learning_rate", key: "lr", control: "learning-rate", type: "float" },
  { name: "batch_size", key: "batch", control: "batch-size", type: "int", zeroIsNull: true },
  { name: "l2", key: "l2", control: "l2", type: "float" },
  { name: "l1", key: "l1", control: "l1", type: "float" },
  { name: "seed", key: "seed", control: "seed", type: "int" },
  // The default plays the course's 15,000 iterations in 300 frames: 5 s at the display's 60
  // frames/s, 10 s at 30, and within the 20 s the page aims for down to 15 frames/s (a busy
  // machine, 4 runs). The server's share of a frame is a few ms per run (one kernel call,
  // the frame's measures; benchmarks/bench_playground.py), so frames/s hardly depends on it.
  {
    name: "speed",
    key: "speed",
    control: "speed",
    type: "int",
    view: true,
    choices: [1, 5, 10, 25, 50, 100, 250, 500],
    default: 50,
  },
  // How the boundary is drawn (plots.js drawBoundary): the test points as rings, or not;
  // each cell in its class' colour (discretized) or shaded by the probability.
  { name: "show_test", key: "showtest", control: "show-test", type: "flag", view: true, default: true, omitDefault: true },
  { name: "discretize", key: "discrete", control: "discretize", type: "flag", view: true, default: false, omitDefault: true },
  { name: "iteration", key: "it", type: "count", view: true, default: 0 },
];

const CONFIG_FIELDS = FIELDS.filter((f) => !f.view);
const field = (name) => FIELDS.find((f) => f.name === name);
const SPEED = field("speed");

const control = (f) => $(`#${f.control}`);
const isNull = (v) => v === null || v === undefined;

/** A value as the field holds it: not an allowed choice → the default; 0 → null if zeroIsNull. */
function normalize(f, v) {
  if (f.choices && !f.choices.includes(v)) return f.default;
  return f.zeroIsNull && v === 0 ? null : v;
}

function readField(f) {
  return normalize(f, TYPES[f.type].read(control(f), f));
}

function writeField(f, v) {
  TYPES[f.type].write(control(f), f.zeroIsNull && isNull(v) ? 0 : v);
}

/** Give the controls of fields with declared choices (the speed) their options. */
export function fillChoices() {
  for (const f of FIELDS) if (f.choices) fillSelect(control(f), f.choices, f.default);
}

/** The configuration the controls describe (docs/playground-api.md, "A configuration");
 * throws ClientError for a value that cannot be sent. */
export function readConfig() {
  return Object.fromEntries(CONFIG_FIELDS.map((f) => [f.name, readField(f)]));
}

/** Show configuration `c` in the controls. */
export function writeControls(c) {
  for (const f of CONFIG_FIELDS) writeField(f, c[f.name]);
  refreshDatasetFields();
}

/** Iterations per play frame, as the speed control says. */
export function speed() {
  return readField(SPEED);
}

/** How the boundary is drawn, as its controls say: {showTest, discretize}. */
export function viewOptions() {
  if (!control(field("show_test"))) return { showTest: true, discretize: false };
  return { showTest: readField(field("show_test")), discretize: readField(field("discretize")) };
}

/** Show `view` (the speed) in the controls of its fields. */
export function writeView(view) {
  for (const f of FIELDS) if (f.view && f.control) writeField(f, view[f.name]);
}

/** The query string of configuration `config` and `view` ({speed, iteration}). */
export function toQuery(config, view) {
  const p = new URLSearchParams();
  for (const f of FIELDS) {
    let v = f.view ? view[f.name] : config[f.name];
    if (f.view && v === undefined && f.control && control(f)) v = readField(f);
    if (f.omitNull && isNull(v)) continue;
    if (f.omitDefault && v === f.default) continue;
    if (f.zeroIsNull) v ??= 0;
    for (const text of TYPES[f.type].encode(v)) p.append(f.key, text);
  }
  return p;
}

/**
 * What query string `p` describes: `config`, the configuration it names on top of the
 * server's `defaults`; `view`, its speed and iteration (or their defaults); `fromUrl`, whether
 * it names any configuration field at all.
 */
export function fromQuery(p, defaults) {
  const config = structuredClone(defaults);
  const view = {};
  for (const f of FIELDS) {
    const value = p.has(f.key) ? normalize(f, TYPES[f.type].decode(p.getAll(f.key))) : undefined;
    if (f.view) view[f.name] = value ?? f.default;
    else if (value !== undefined) config[f.name] = value;
  }
  return { config, view, fromUrl: CONFIG_FIELDS.some((f) => p.has(f.key)) };
}
