// initlab playground: controls, the session life cycle, the URL and the play loop.
// Every number drawn comes from the server (docs/playground-api.md); this file only moves
// JSON between the controls, the API and the canvases.

import * as plots from "./plots.js";

const SPEEDS = [1, 5, 10, 25, 50, 100, 250, 500];
const DEFAULT_SPEED = 25;
const DEBOUNCE_MS = 250;
const URL_EVERY_MS = 500;
const MAX_CURVE_POINTS = 4000;
const HISTORY_KEYS = ["iteration", "train_cost", "test_cost", "train_accuracy", "test_accuracy"];
const UPLOAD_NAMES_KEY = "initlab-upload-names";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Everything the page knows; window.initlab exposes a read-only view of it. */
const S = {
  options: null,
  limits: null,
  config: null, // the last configuration the server accepted
  session: null,
  data: null,
  frame: null,
  histories: [], // per run: the history accumulated across frames
  playing: false,
  loopToken: 0,
  fps: 0,
  frameTimes: [],
  timing: { requestMs: 0, renderMs: 0 }, // the last play frame: server round trip, drawing
  drawn: false,
  inFlight: 0, // requests queued or running
  tasks: 0, // multi-request operations (boot, fast-forward) in progress
  debounce: null, // a pending configuration change
  error: null,
  lastUrlWrite: 0,
};

window.initlab = {
  get options() { return S.options; },
  get config() { return S.config; },
  get session() { return S.session; },
  get data() { return S.data; },
  get frame() { return S.frame; },
  get histories() { return S.histories; },
  get fps() { return S.fps; },
  get timing() { return { ...S.timing }; },
  get playing() { return S.playing; },
  get error() { return S.error; },
  get ready() {
    return S.drawn && S.inFlight === 0 && S.tasks === 0 && S.debounce === null && !drawQueued;
  },
};

// --- talking to the server ---------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, { json, body, raw = false } = {}) {
  const init = { method, headers: {} };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    init.body = body;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, `cannot reach the initlab server (${e.message})`);
  }
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const j = await res.json();
      if (j && typeof j.error === "string") message = j.error;
      else if (j && j.detail !== undefined) {
        message = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail);
      }
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(res.status, message);
  }
  if (raw) return res;
  if (res.status === 204) return null;
  return res.json();
}

// Never more than one request in flight: every server call runs through this queue.
let queue = Promise.resolve();
function exclusive(fn) {
  S.inFlight++;
  const run = async () => {
    try {
      return await fn();
    } finally {
      S.inFlight--;
    }
  };
  const p = queue.then(run);
  queue = p.catch(() => {});
  return p;
}

async function task(fn) {
  S.tasks++;
  try {
    return await fn();
  } finally {
    S.tasks--;
  }
}

const sessionPath = (suffix = "") => `/api/sessions/${encodeURIComponent(S.session)}${suffix}`;

/**
 * Run fn() (which talks to the current session); if the session expired (404), create a new
 * one with the current configuration, fast-forward it to the current iteration and retry once.
 * Call it inside exclusive().
 */
async function withSession(fn) {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404 || !S.config) throw e;
    const target = S.frame ? S.frame.iteration : 0;
    adopt(await api("POST", "/api/sessions", { json: S.config }));
    await fastForward(target);
    return await fn();
  }
}

function sinceIteration() {
  let last = -1;
  for (const h of S.histories) {
    if (h.iteration.length) last = Math.max(last, h.iteration[h.iteration.length - 1]);
  }
  return last;
}

function emptyHistory() {
  return Object.fromEntries(HISTORY_KEYS.map((k) => [k, []]));
}

/** A {session, data, frame} answer: a session at iteration 0, curves start afresh. */
function adopt(res) {
  S.session = res.session;
  S.data = res.data;
  S.histories = [];
  ingest(res.frame);
}

/** Take a frame and append its history points past what each run's curve already holds. */
function ingest(frame) {
  S.frame = frame;
  if (frame.session) S.session = frame.session;
  S.histories.length = Math.min(S.histories.length, frame.runs.length);
  frame.runs.forEach((run, i) => {
    const h = (S.histories[i] ??= emptyHistory());
    const src = run.history;
    if (!src || !src.iteration) return;
    let last = h.iteration.length ? h.iteration[h.iteration.length - 1] : -Infinity;
    src.iteration.forEach((it, j) => {
      if (it <= last) return;
      for (const k of HISTORY_KEYS) h[k].push(src[k] ? src[k][j] : null);
      last = it;
    });
    if (h.iteration.length > MAX_CURVE_POINTS) thin(h);
  });
}

/** Keep long curves drawable: drop every other point but the last. */
function thin(h) {
  const n = h.iteration.length;
  const keep = (_, i) => i % 2 === 0 || i === n - 1;
  for (const k of HISTORY_KEYS) h[k] = h[k].filter(keep);
}

async function stepRequest(iterations) {
  const start = performance.now();
  const frame = await withSession(() =>
    api("POST", sessionPath("/step"), { json: { iterations, since: sinceIteration() } }),
  );
  S.timing.requestMs = performance.now() - start;
  ingest(frame);
}

/**
 * Step (inside exclusive()) until `target` iterations are reached or training is done, in
 * requests of at most max_step. The server puts curve points at fixed iterations whatever the
 * steps, and training is deterministic, so the view is the one that was left.
 */
async function fastForward(target) {
  const chunk = S.limits?.max_step ?? 5000;
  while (S.frame && S.frame.iteration < target && !S.frame.done) {
    const before = S.frame.iteration;
    const n = Math.min(chunk, target - before);
    setStatus(`fast-forwarding to ${target}…`);
    const frame = await api("POST", sessionPath("/step"), {
      json: { iterations: n, since: sinceIteration() },
    });
    ingest(frame);
    if (S.frame.iteration <= before) break;
  }
}

// --- errors and status -------------------------------------------------------------------------

function showError(message) {
  S.error = message;
  const el = $("#error");
  el.textContent = message;
  el.hidden = false;
}

function clearError() {
  S.error = null;
  const el = $("#error");
  el.textContent = "";
  el.hidden = true;
}

function setStatus(text) {
  $("#status").textContent = text;
}

function idleStatus() {
  if (S.frame?.done) return "done";
  if (!S.frame || S.frame.iteration === 0) return "ready";
  return "paused";
}

// --- controls ---------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
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

function fillSelect(select, values, current) {
  select.replaceChildren(
    ...values.map((v) => {
      const item = typeof v === "object" ? v : { value: v, text: String(v) };
      return el("option", { value: item.value, title: item.title, text: item.text });
    }),
  );
  if (current !== undefined) select.value = String(current);
}

function datasetInfo(name) {
  return S.options.datasets.find((d) => d.name === name) ?? null;
}

const initSpecs = () => S.options.initializers;
const initSpec = (name) => initSpecs().find((i) => i.name === name) ?? null;

function uploadNames() {
  try {
    return JSON.parse(localStorage.getItem(UPLOAD_NAMES_KEY) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

function rememberUpload(id, name) {
  try {
    const names = uploadNames();
    names[id] = name;
    localStorage.setItem(UPLOAD_NAMES_KEY, JSON.stringify(names));
  } catch {
    // storage unavailable: names are a nicety
  }
}

/** Make sure #dataset offers `value`, an uploaded data set being shown by its file name. */
function ensureDatasetOption(value, name) {
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

function buildControls() {
  const o = S.options;
  fillSelect(
    $("#dataset"),
    o.datasets.map((d) => ({ value: d.name, text: d.name, title: d.description })),
  );
  fillSelect($("#activation"), o.activations);
  fillSelect($("#optimizer"), o.optimizers);
  fillSelect($("#speed"), SPEEDS, DEFAULT_SPEED);
  $("#points").max = String(o.limits.max_points);
}

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

function renderArgs(row, name, values = {}) {
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

function addInitRow(init = { name: "he" }, { focus = false } = {}) {
  const uid = String(++rowUid);
  const { name, ...args } = init;
  const selectId = `init-name-${uid}`;
  const select = el("select", { id: selectId, class: "init-name" });
  const options = initSpecs().map((i) => ({ value: i.name, text: i.name, title: i.description }));
  if (!initSpec(name)) options.push({ value: name, text: name, title: "unknown initializer" });
  fillSelect(select, options, name);
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

function refreshInitRows() {
  const rows = $$("#inits .init-row");
  rows.forEach((row, i) => {
    $(".run-name", row).textContent = `run ${i + 1}`;
    $(".remove-init", row).disabled = rows.length <= 1;
  });
  $("#add-init").disabled = rows.length >= (S.limits?.max_runs ?? 4);
}

function parseArgValue(arg, raw) {
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

function readInit(row) {
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

class ClientError extends Error {}

function numberOrNull(raw) {
  const s = String(raw).trim();
  return s === "" ? null : Number(s);
}

function parseHidden(raw) {
  const s = raw.trim();
  if (s === "") return [];
  const parts = s.split(/[\s,;]+/).filter(Boolean);
  if (!parts.every((p) => /^[+-]?\d+$/.test(p))) {
    throw new ClientError(
      `hidden: '${raw}' is not a comma-separated list of integer layer widths (e.g. 10,5)`,
    );
  }
  return parts.map(Number);
}

function parseDataSeed(raw) {
  const s = String(raw).trim();
  if (s === "") return null;
  if (/^\d+$/.test(s)) return Number(s);
  return s;
}

/** The configuration the controls describe (docs/playground-api.md, "A configuration"). */
function readConfig() {
  const batch = numberOrNull($("#batch-size").value);
  return {
    dataset: $("#dataset").value,
    noise: numberOrNull($("#noise").value),
    points: numberOrNull($("#points").value),
    test_fraction: numberOrNull($("#test-fraction").value),
    data_seed: parseDataSeed($("#data-seed").value),
    hidden: parseHidden($("#hidden").value),
    activation: $("#activation").value,
    inits: $$("#inits .init-row").map(readInit),
    optimizer: $("#optimizer").value,
    learning_rate: numberOrNull($("#learning-rate").value),
    batch_size: batch === 0 ? null : batch,
    l2: numberOrNull($("#l2").value),
    seed: numberOrNull($("#seed").value),
  };
}

const show = (v) => (v === null || v === undefined ? "" : String(v));

function writeControls(c) {
  if (String(c.dataset).startsWith("upload:")) ensureDatasetOption(c.dataset);
  $("#dataset").value = c.dataset;
  $("#noise").value = show(c.noise);
  $("#points").value = show(c.points);
  $("#test-fraction").value = show(c.test_fraction);
  $("#data-seed").value = show(c.data_seed);
  $("#hidden").value = (c.hidden ?? []).join(",");
  $("#activation").value = c.activation;
  $("#optimizer").value = c.optimizer;
  $("#learning-rate").value = show(c.learning_rate);
  $("#batch-size").value = c.batch_size === null || c.batch_size === undefined ? "0" : show(c.batch_size);
  $("#l2").value = show(c.l2);
  $("#seed").value = show(c.seed);
  $("#inits").replaceChildren();
  for (const init of c.inits?.length ? c.inits : [{ name: "he" }]) addInitRow(init);
  refreshDatasetFields();
}

/** Placeholders and disabled states that follow the chosen data set. */
function refreshDatasetFields() {
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
function onDatasetChosen() {
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
  refreshDatasetFields();
}

function speed() {
  const v = Number($("#speed").value);
  return SPEEDS.includes(v) ? v : DEFAULT_SPEED;
}

// --- the URL ----------------------------------------------------------------------------------

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

function stateParams() {
  const c = S.config;
  const p = new URLSearchParams();
  p.set("dataset", c.dataset);
  if (c.noise !== null && c.noise !== undefined) p.set("noise", c.noise);
  p.set("points", show(c.points));
  p.set("test", show(c.test_fraction));
  p.set("dseed", show(c.data_seed));
  p.set("hidden", c.hidden.join(","));
  p.set("act", c.activation);
  for (const init of c.inits) p.append("init", encodeInit(init));
  p.set("opt", c.optimizer);
  p.set("lr", show(c.learning_rate));
  p.set("batch", c.batch_size ?? 0);
  p.set("l2", show(c.l2));
  p.set("seed", show(c.seed));
  p.set("speed", speed());
  p.set("it", S.frame ? S.frame.iteration : 0);
  return p;
}

function writeUrl() {
  if (!S.config) return;
  S.lastUrlWrite = performance.now();
  const url = `${location.pathname}?${stateParams()}`;
  if (url !== `${location.pathname}${location.search}`) history.replaceState(null, "", url);
}

/** The configuration a query string describes, on top of the server's defaults. */
function configFromParams(p, defaults) {
  const c = structuredClone(defaults);
  const num = (key, field) => {
    if (p.has(key)) c[field] = numberOrNull(p.get(key));
  };
  if (p.has("dataset")) c.dataset = p.get("dataset");
  num("noise", "noise");
  num("points", "points");
  num("test", "test_fraction");
  if (p.has("dseed")) c.data_seed = parseDataSeed(p.get("dseed"));
  if (p.has("hidden")) {
    const h = p.get("hidden").trim();
    c.hidden = h === "" ? [] : h.split(/[\s,]+/).filter(Boolean).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
  }
  if (p.has("act")) c.activation = p.get("act");
  if (p.has("init")) c.inits = p.getAll("init").filter(Boolean).map(decodeInit);
  if (p.has("opt")) c.optimizer = p.get("opt");
  num("lr", "learning_rate");
  num("batch", "batch_size");
  if (c.batch_size === 0) c.batch_size = null;
  num("l2", "l2");
  num("seed", "seed");
  return c;
}

const URL_KEYS = ["dataset", "noise", "points", "test", "dseed", "hidden", "act", "init", "opt", "lr", "batch", "l2", "seed"];

// --- drawing ----------------------------------------------------------------------------------

function pct(v) {
  return v === null || v === undefined || !Number.isFinite(v) ? "—" : `${(v * 100).toFixed(1)}%`;
}

function costText(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

/** The verdict's colour: the severity the server gives its first finding. */
function verdictClass(findings) {
  const severity = findings?.[0]?.severity;
  if (!severity) return "verdict-none";
  return { ok: "verdict-good", warning: "verdict-warn", severe: "verdict-bad" }[severity];
}

function metric(cls, label) {
  return el("div", { class: "metric" }, el("span", { class: "metric-label", text: label }), el("span", { class: `metric-value ${cls}`, text: "—" }));
}

function makePanel(index) {
  return el(
    "section",
    { class: "run", "data-run": String(index) },
    el(
      "header",
      { class: "run-head" },
      el("h2", { class: "run-label" }),
      el("span", { class: "status" }),
    ),
    el(
      "div",
      { class: "metrics" },
      metric("train-accuracy", "train acc"),
      metric("test-accuracy", "test acc"),
      metric("train-cost", "train cost"),
      metric("test-cost", "test cost"),
    ),
    el("div", { class: "diagnosis" }, el("p", { class: "verdict" }), el("ul", { class: "findings" })),
    el(
      "div",
      { class: "run-body" },
      el(
        "figure",
        { class: "fig fig-boundary" },
        el("canvas", { class: "boundary", role: "img", "aria-label": "decision boundary with the data" }),
        el("p", { class: "boundary-note", hidden: true, text: "decision boundary needs 2 features" }),
      ),
      el(
        "div",
        { class: "fig fig-curves" },
        el("canvas", { class: "cost", role: "img", "aria-label": "train and test cost by iteration" }),
        el("canvas", { class: "accuracy", role: "img", "aria-label": "train and test accuracy by iteration" }),
      ),
      el(
        "figure",
        { class: "fig fig-histograms" },
        el("canvas", { class: "histograms", role: "img", "aria-label": "per-layer activation and gradient histograms" }),
      ),
      el(
        "figure",
        { class: "fig fig-theory" },
        el("canvas", { class: "theory", role: "img", "aria-label": "mean-field theory against the measured variance per layer" }),
        el("figcaption", { class: "theory-note" }),
      ),
    ),
  );
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function renderPanel(sec, run, i) {
  setText($(".run-label", sec), run.label ?? run.init?.name ?? `run ${i + 1}`);
  const status = run.status === "diverged" && run.diverged_at !== null && run.diverged_at !== undefined
    ? `diverged at ${run.diverged_at}`
    : run.status ?? "";
  const st = $(".status", sec);
  setText(st, status);
  st.dataset.state = run.status ?? "";
  setText($(".train-accuracy", sec), pct(run.train_accuracy));
  setText($(".test-accuracy", sec), pct(run.test_accuracy));
  setText($(".train-cost", sec), costText(run.train_cost));
  setText($(".test-cost", sec), costText(run.test_cost));

  const verdict = $(".verdict", sec);
  setText(verdict, run.verdict ?? "");
  verdict.className = `verdict ${verdictClass(run.findings)}`;
  const list = $(".findings", sec);
  const key = JSON.stringify(run.findings ?? []);
  const findings = run.findings ?? [];
  list.classList.toggle("same-as-verdict", findings.length === 1 && findings[0].message === run.verdict);
  if (list.dataset.key !== key) {
    list.dataset.key = key;
    list.replaceChildren(
      ...(run.findings ?? []).map((f) =>
        el("li", { class: `finding finding-${f.kind}`, "data-kind": f.kind, text: f.message }),
      ),
    );
  }

  const note = $(".boundary-note", sec);
  note.hidden = Boolean(run.boundary);
  $(".fig-boundary", sec).classList.toggle("no-boundary", !run.boundary);
  plots.drawBoundary($("canvas.boundary", sec), run.boundary, S.data);
  const hist = S.histories[i] ?? emptyHistory();
  plots.drawCost($("canvas.cost", sec), hist);
  plots.drawAccuracy($("canvas.accuracy", sec), hist);
  plots.drawHistograms($("canvas.histograms", sec), run.layers);
  plots.drawTheory($("canvas.theory", sec), run.layers, run.theory);
  const th = run.theory;
  let caption = "";
  if (th && !th.available) caption = th.note ?? "theory unavailable";
  else if (th) {
    const chi = (th.chi1 ?? []).filter((v) => v !== null && Number.isFinite(v));
    const chiText = chi.length ? ` · χ₁ ${chi.map((v) => v.toFixed(2)).join(", ")}` : "";
    caption = `mean-field theory at initialization${th.phase ? `: ${th.phase} phase` : ""}${chiText}`;
    if (th.note) caption += ` · ${th.note}`;
  }
  setText($(".theory-note", sec), caption);
}

function renderSummary() {
  const d = S.data;
  const f = S.frame;
  const c = S.config;
  if (!d || !f || !c) return;
  const widths = [d.n_features, ...(f.runs[0]?.layers ?? []).map((l) => l.width)];
  const name = c.dataset.startsWith("upload:") ? uploadNames()[c.dataset] ?? d.name : d.name;
  const parts = [
    `${name} · ${d.train.y.length} train / ${d.test.y.length} test`,
    `[${widths.join(", ")}] ${c.activation}`,
    `${c.optimizer} · lr ${c.learning_rate}${c.batch_size ? ` · batch ${c.batch_size}` : ""}${c.l2 ? ` · l2 ${c.l2}` : ""}`,
    `seed ${c.seed}`,
  ];
  setText($("#summary"), parts.join("   ·   "));
}

function render() {
  const f = S.frame;
  if (!f) return;
  const start = performance.now();
  const runs = $("#runs");
  while (runs.children.length > f.runs.length) runs.lastElementChild.remove();
  while (runs.children.length < f.runs.length) runs.append(makePanel(runs.children.length));
  runs.dataset.count = String(f.runs.length);
  f.runs.forEach((run, i) => renderPanel(runs.children[i], run, i));
  setText($("#iteration"), String(f.iteration));
  renderSummary();
  S.drawn = true;
  S.timing.renderMs = performance.now() - start;
}

let resizeQueued = false;
function onResize() {
  if (resizeQueued || !S.frame) return;
  resizeQueued = true;
  requestAnimationFrame(() => {
    resizeQueued = false;
    render();
  });
}

// --- actions ----------------------------------------------------------------------------------

function setPlaying(on) {
  S.playing = on;
  const btn = $("#play");
  btn.textContent = on ? "Pause" : "Play";
  btn.classList.toggle("playing", on);
  btn.setAttribute("aria-pressed", on ? "true" : "false");
  document.body.classList.toggle("is-playing", on);
  if (!on) {
    S.fps = 0;
    S.frameTimes = [];
  }
}

function pause() {
  if (!S.playing) return;
  setPlaying(false);
  S.loopToken++;
  setStatus(idleStatus());
  writeUrl();
}

/**
 * Draw the latest frame at the next animation frame (at most once per display refresh; a
 * 100 ms timer stands in where animation frames do not fire). While playing, this runs
 * while the next step request is already on its way, so drawing and the server's work
 * overlap; `fps` counts the frames drawn.
 */
let drawQueued = false;
function scheduleRender() {
  if (drawQueued) return;
  drawQueued = true;
  const draw = () => {
    if (!drawQueued) return;
    drawQueued = false;
    clearTimeout(timer);
    render();
    if (S.playing) countFrame();
  };
  const timer = setTimeout(draw, 100);
  requestAnimationFrame(draw);
}

function countFrame() {
  const now = performance.now();
  S.frameTimes.push(now);
  while (S.frameTimes.length && now - S.frameTimes[0] > 1000) S.frameTimes.shift();
  S.fps = S.frameTimes.length;
}

function play() {
  if (S.playing || !S.session || !S.drawn) return;
  if (S.frame?.done) {
    setStatus("done");
    return;
  }
  setPlaying(true);
  setStatus("training…");
  loop(++S.loopToken);
}

async function loop(token) {
  const live = () => S.playing && token === S.loopToken;
  while (live()) {
    try {
      await exclusive(async () => {
        if (!live()) return;
        await stepRequest(speed());
        clearError();
        if (live()) {
          scheduleRender(); // drawn while the next step is computed
        } else {
          // Paused while this step was in flight: the view, URL and status follow it.
          render();
          setStatus(idleStatus());
          writeUrl();
        }
      });
    } catch (e) {
      if (token === S.loopToken) {
        showError(e.message);
        pause();
      }
      return;
    }
    if (token !== S.loopToken) return;
    if (S.frame.done) {
      render();
      setPlaying(false);
      S.loopToken++;
      setStatus("done");
      writeUrl();
      return;
    }
    if (live()) setStatus(`training… ${S.fps} frames/s`);
    if (performance.now() - S.lastUrlWrite >= URL_EVERY_MS) writeUrl();
  }
}

function togglePlay() {
  if (S.playing) pause();
  else play();
}

async function step() {
  pause();
  if (!S.session) return;
  await update(() => stepRequest(speed()));
}

async function reset(seed = null) {
  pause();
  if (!S.session) return;
  await update(async () => {
    const res = await withSession(() => api("POST", sessionPath("/reset"), { json: { seed } }));
    if (seed !== null) S.config = { ...S.config, seed };
    adopt(res);
  });
}

/**
 * Run `action` (inside exclusive()), which takes in the server's answer, then draw; on an
 * error show the server's message, the state left as it was.
 */
async function update(action) {
  try {
    await exclusive(async () => {
      await action();
      clearError();
      render();
    });
    setStatus(idleStatus());
    writeUrl();
  } catch (e) {
    showError(e.message);
  }
}

function newSeed() {
  const seed = Math.floor(Math.random() * 2 ** 31);
  $("#seed").value = String(seed);
  return reset(seed);
}

function scheduleApply() {
  clearTimeout(S.debounce);
  S.debounce = setTimeout(applyConfig, DEBOUNCE_MS);
}

function sameConfig(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function applyConfig() {
  clearTimeout(S.debounce);
  S.debounce = null;
  let config;
  try {
    config = readConfig();
  } catch (e) {
    if (!(e instanceof ClientError)) throw e;
    showError(e.message);
    return;
  }
  if (sameConfig(config, S.config)) {
    clearError();
    return;
  }
  pause();
  await update(async () => {
    let res;
    try {
      res = await api("PUT", sessionPath(), { json: config });
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
      res = await api("POST", "/api/sessions", { json: config });
    }
    S.config = config;
    adopt(res);
  });
}

async function upload(input) {
  const file = input.files?.[0];
  if (!file) return;
  try {
    const res = await exclusive(() =>
      api("POST", `/api/uploads?name=${encodeURIComponent(file.name)}`, { body: file }),
    );
    const name = res.name ?? file.name;
    rememberUpload(res.dataset, name);
    ensureDatasetOption(res.dataset, name);
    $("#dataset").value = res.dataset;
    onDatasetChosen();
    clearError();
    await applyConfig();
  } catch (e) {
    showError(e.message);
  } finally {
    input.value = "";
  }
}

async function exportFile(kind, filename) {
  if (!S.session) return;
  try {
    const blob = await exclusive(() =>
      withSession(async () => (await api("GET", sessionPath(`/export/${kind}`), { raw: true })).blob()),
    );
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: filename, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 2000);
  } catch (e) {
    showError(e.message);
  }
}

// --- wiring -----------------------------------------------------------------------------------

function isTyping(target) {
  if (!(target instanceof Element)) return false;
  return Boolean(target.closest("input, select, textarea, button, [contenteditable]"));
}

function wire() {
  const controls = $("#controls");
  const configChange = (e) => {
    const t = e.target;
    if (!(t instanceof Element) || t.id === "upload" || t.id === "speed") return;
    if (t.id === "dataset" && e.type === "change") onDatasetChosen();
    if (t.matches("select.init-name") && e.type === "change") {
      renderArgs(t.closest(".init-row"), t.value);
    }
    scheduleApply();
  };
  controls.addEventListener("input", configChange);
  controls.addEventListener("change", configChange);
  $("#speed").addEventListener("change", () => writeUrl());
  $("#upload").addEventListener("change", (e) => upload(e.target));
  $("#inits").addEventListener("click", (e) => {
    const btn = e.target.closest?.(".remove-init");
    if (!btn || btn.disabled) return;
    btn.closest(".init-row").remove();
    refreshInitRows();
    scheduleApply();
  });
  $("#add-init").addEventListener("click", () => {
    if (!S.options || $$("#inits .init-row").length >= S.limits.max_runs) return;
    const last = $$("#inits .init-row").at(-1);
    const used = new Set($$("#inits select.init-name").map((s) => s.value));
    const next = ["zeros", "random", "he", "glorot_uniform", "lecun_normal"].find((n) => !used.has(n) && initSpec(n))
      ?? (last ? $("select.init-name", last).value : initSpecs()[0].name);
    addInitRow({ name: next }, { focus: true });
    scheduleApply();
  });
  $("#play").addEventListener("click", togglePlay);
  $("#step").addEventListener("click", step);
  $("#reset").addEventListener("click", () => reset(null));
  $("#new-seed").addEventListener("click", newSeed);
  $("#export-spec").addEventListener("click", () => exportFile("spec", "initlab-playground.toml"));
  $("#export-results").addEventListener("click", () =>
    exportFile("results", "initlab-playground-results.json"),
  );
  document.addEventListener("keydown", (e) => {
    if (e.code !== "Space" && e.key !== " ") return;
    if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
    e.preventDefault();
    togglePlay();
  });
  new ResizeObserver(onResize).observe($("#runs"));
}

async function boot() {
  wire();
  await task(async () => {
    try {
      S.options = await exclusive(() => api("GET", "/api/options"));
    } catch (e) {
      showError(e.message);
      setStatus("offline");
      return;
    }
    S.limits = S.options.limits;
    buildControls();
    const params = new URLSearchParams(location.search);
    const fromUrl = URL_KEYS.some((k) => params.has(k));
    const defaults = S.options.defaults;
    const wanted = fromUrl ? configFromParams(params, defaults) : structuredClone(defaults);
    if (params.has("speed") && SPEEDS.includes(Number(params.get("speed")))) {
      $("#speed").value = params.get("speed");
    }
    writeControls(wanted);
    const target = Math.max(0, parseInt(params.get("it") ?? "0", 10) || 0);
    let config;
    try {
      config = readConfig();
    } catch (e) {
      showError(e.message);
      writeControls(defaults);
      config = readConfig();
    }
    try {
      await exclusive(async () => {
        let res;
        try {
          res = await api("POST", "/api/sessions", { json: config });
        } catch (e) {
          if (!(e instanceof ApiError) || e.status >= 500 || e.status === 429 || !fromUrl) throw e;
          // The link's configuration is not (or no longer) valid here: say so, use the defaults.
          showError(e.message);
          writeControls(defaults);
          config = readConfig();
          res = await api("POST", "/api/sessions", { json: config });
        }
        S.config = config;
        adopt(res);
        if (target > 0) await fastForward(target);
        render();
      });
    } catch (e) {
      showError(e.message);
      setStatus("error");
      return;
    }
    setStatus(idleStatus());
    writeUrl();
  });
}

boot();
