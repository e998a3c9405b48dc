// initlab playground: the page. The session life cycle, the play loop, the buttons and the
// drawing of each frame. Every number drawn comes from the server (docs/playground-api.md,
// talked to through api.js); the controls are built in controls.js and mapped to the
// configuration and the URL by the table in state.js; the run panels are drawn by panels.js.

import * as api from "./api.js";
import { $, $$, el, setText } from "./dom.js";
import {
  addInitRow,
  buildControls,
  ensureDatasetOption,
  initSpec,
  initSpecs,
  onDatasetChosen,
  refreshInitRows,
  rememberUpload,
  renderArgs,
} from "./controls.js";
import { makePanel, renderPanel, renderSummary, updateBadges } from "./panels.js";
import { syncInputs, uploadTask } from "./inputs.js";
import { syncSliders } from "./sliders.js";
import {
  ClientError,
  fillChoices,
  fromQuery,
  readConfig,
  speed,
  toQuery,
  writeControls,
  writeView,
} from "./state.js";

const DEBOUNCE_MS = 250;
const URL_EVERY_MS = 500;
const MAX_CURVE_POINTS = 4000;
const HISTORY_KEYS = ["iteration", "train_cost", "test_cost", "train_accuracy", "test_accuracy", "train_r2", "test_r2"];

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

// --- the session ------------------------------------------------------------------------------

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

/**
 * Run fn() (which talks to the current session); if the session expired (404), create a new
 * one with the current configuration, fast-forward it to the current iteration and retry once.
 * Call it inside exclusive().
 */
async function withSession(fn) {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof api.ApiError) || e.status !== 404 || !S.config) throw e;
    const target = S.frame ? S.frame.iteration : 0;
    adopt(await api.createSession(S.config));
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
  const frame = await withSession(() => api.step(S.session, iterations, sinceIteration()));
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
    const frame = await api.step(S.session, n, sinceIteration());
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

// --- the URL ----------------------------------------------------------------------------------

/** Write the configuration, speed and iteration into the address bar (no history entry). */
function writeUrl() {
  if (!S.config) return;
  S.lastUrlWrite = performance.now();
  const view = { speed: speed(), iteration: S.frame ? S.frame.iteration : 0 };
  const url = `${location.pathname}?${toQuery(S.config, view)}`;
  if (url !== `${location.pathname}${location.search}`) history.replaceState(null, "", url);
}

// --- drawing ----------------------------------------------------------------------------------

function render() {
  const f = S.frame;
  if (!f) return;
  const start = performance.now();
  const runs = $("#runs");
  while (runs.children.length > f.runs.length) runs.lastElementChild.remove();
  while (runs.children.length < f.runs.length) runs.append(makePanel(runs.children.length));
  runs.dataset.count = String(f.runs.length);
  f.runs.forEach((run, i) =>
    renderPanel(runs.children[i], run, i, S.histories[i] ?? emptyHistory(), S.data),
  );
  updateBadges(runs, f, S.playing);
  setText($("#iteration"), String(f.iteration));
  renderSummary(S.data, f, S.config);
  syncSliders();
  syncInputs();
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
  updateBadges($("#runs"), S.frame, on);
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
    const res = await withSession(() => api.reset(S.session, seed));
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
      res = await api.update(S.session, config);
    } catch (e) {
      if (!(e instanceof api.ApiError) || e.status !== 404) throw e;
      res = await api.createSession(config);
    }
    S.config = config;
    adopt(res);
  });
}

async function upload(input) {
  const file = input.files?.[0];
  if (!file) return;
  try {
    const res = await exclusive(() => api.upload(file, uploadTask()));
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
    const blob = await exclusive(() => withSession(() => api.exportBlob(S.session, kind)));
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
  $("#view-options").addEventListener("change", () => {
    render();
    writeUrl();
  });
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
      S.options = await exclusive(() => api.options());
    } catch (e) {
      showError(e.message);
      setStatus("offline");
      return;
    }
    S.limits = S.options.limits;
    buildControls(S.options);
    fillChoices();
    const defaults = S.options.defaults;
    const { config: wanted, view, fromUrl } = fromQuery(new URLSearchParams(location.search), defaults);
    writeView(view);
    writeControls(wanted);
    const target = view.iteration;
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
          res = await api.createSession(config);
        } catch (e) {
          if (!(e instanceof api.ApiError) || e.status >= 500 || e.status === 429 || !fromUrl) throw e;
          // The link's configuration is not (or no longer) valid here: say so, use the defaults.
          showError(e.message);
          writeControls(defaults);
          config = readConfig();
          res = await api.createSession(config);
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
