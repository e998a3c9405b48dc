// initlab report explorer: sort and filter the summary table, and draw the cost curves and
// decision boundaries of the configurations ticked in it. Inline in the report, no network:
// the data is the JSON element #explorer-data (built by initlab/report/explore.py).
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("explorer-data").textContent);
  const table = document.getElementById("summary-table");
  const tbody = table.tBodies[0];
  const rows = Array.from(tbody.rows);
  const heads = Array.from(table.tHead.rows[0].cells);
  const SVG = "http://www.w3.org/2000/svg";

  // --- the table: search text and numbers of every row ------------------------------------

  const keys = heads.map((th) => th.dataset.key || "");
  const words = heads.map((th) => th.textContent.trim().toLowerCase().split(/\s+/));
  const index = rows.map((tr) => {
    const cells = Array.from(tr.cells);
    const numbers = cells.map((td) => {
      const s = td.dataset.sort;
      return s === undefined || s === "" ? NaN : Number(s);
    });
    const text = cells
      .map((td, i) => (keys[i] ? keys[i] + "=" + td.textContent.trim() : ""))
      .join(" ")
      .toLowerCase();
    return { tr, cells, numbers, text };
  });

  /** The columns a filter name means: "scale" is init.scale, "test" test_accuracy. */
  function columnsNamed(name) {
    const found = [];
    keys.forEach((key, i) => {
      if (!key) return;
      const k = key.toLowerCase();
      if (k === name || k.endsWith("." + name) || k.startsWith(name + "_") || words[i].includes(name)) {
        found.push(i);
      }
    });
    return found;
  }

  const COMPARE = /^([^<>=]+?)(<=|>=|<|>|=)(-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i;
  const TESTS = {
    "<": (a, b) => a < b,
    "<=": (a, b) => a <= b,
    ">": (a, b) => a > b,
    ">=": (a, b) => a >= b,
    "=": (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)),
  };

  /** A predicate for one typed word: a comparison with a number, else a substring. */
  function term(word) {
    const m = COMPARE.exec(word);
    if (m) {
      const columns = columnsNamed(m[1]);
      if (columns.length) {
        const test = TESTS[m[2]];
        const bound = Number(m[3]);
        return (row) => columns.some((i) => !Number.isNaN(row.numbers[i]) && test(row.numbers[i], bound));
      }
    }
    return (row) => row.text.includes(word);
  }

  function applyFilter() {
    const typed = document.getElementById("filter").value.trim().toLowerCase();
    const terms = typed ? typed.split(/\s+/).map(term) : [];
    let visible = 0;
    for (const row of index) {
      const keep = terms.every((t) => t(row));
      row.tr.hidden = !keep;
      visible += keep;
    }
    const total = index.length;
    document.getElementById("count").textContent =
      visible === total ? `${total} configurations` : `${visible} of ${total} configurations`;
    document.body.dataset.filter = typed;
  }

  function sortBy(column) {
    const th = heads[column];
    const ascending = th.getAttribute("aria-sort") !== "ascending";
    heads.forEach((h) => h.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const numeric = index.every((r) => {
      const s = r.cells[column].dataset.sort;
      return s === undefined || s === "" || !Number.isNaN(Number(s));
    });
    const sign = ascending ? 1 : -1;
    const sorted = index.slice().sort((a, b) => {
      const x = a.cells[column].dataset.sort || "";
      const y = b.cells[column].dataset.sort || "";
      if (x === "" || y === "") return (x === "") - (y === ""); // empty cells last, always
      return sign * (numeric ? Number(x) - Number(y) : x.localeCompare(y, undefined, { numeric: true }));
    });
    const fragment = document.createDocumentFragment();
    sorted.forEach((r) => fragment.appendChild(r.tr));
    tbody.appendChild(fragment);
    draw();
  }

  heads.forEach((th, i) => {
    if (th.dataset.type === "pick") return;
    th.classList.add("sortable");
    th.tabIndex = 0;
    th.addEventListener("click", () => sortBy(i));
    th.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        sortBy(i);
      }
    });
  });

  // --- the selection ---------------------------------------------------------------------

  function ticked() {
    return Array.from(tbody.rows)
      .map((tr) => tr.querySelector("input[data-config]"))
      .filter((box) => box.checked)
      .map((box) => Number(box.dataset.config));
  }

  function tick(predicate) {
    let n = 0;
    for (const tr of tbody.rows) {
      const box = tr.querySelector("input[data-config]");
      box.checked = predicate(tr) && n < DATA.maxShown;
      n += box.checked;
    }
    draw();
  }

  let timer = null;
  document.getElementById("filter").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(applyFilter, 120);
  });
  document.getElementById("show-filtered").addEventListener("click", () => tick((tr) => !tr.hidden));
  document.getElementById("show-none").addEventListener("click", () => tick(() => false));
  tbody.addEventListener("change", (e) => {
    if (e.target.matches("input[data-config]")) draw();
  });

  // --- drawing -------------------------------------------------------------------------------

  function el(tag, attrs, parent) {
    const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function panel(view, i) {
    const div = el("div", { class: "panel", "data-config": String(i) }, view);
    const title = el("div", { class: "title" }, div);
    title.textContent = DATA.configs[i].label;
    return div;
  }

  function fmt(x) {
    return Number(x.toPrecision(2)).toString();
  }

  /** One log range for every curve drawn, cut at clip × the constant-prediction loss. */
  function curveRange(shown) {
    let low = Infinity;
    let high = 0;
    let base = Infinity;
    let maxBase = 0;
    for (const i of shown) {
      const c = DATA.configs[i];
      for (const v of c.lo) if (v !== null) low = Math.min(low, v);
      for (const v of c.hi) if (v !== null) high = Math.max(high, v);
      if (c.base) {
        base = Math.min(base, c.base);
        maxBase = Math.max(maxBase, c.base);
      }
    }
    if (!Number.isFinite(low)) return null;
    if (Number.isFinite(base)) low = Math.min(low, base / 3);
    const top = Math.min(Math.max(high, maxBase) * 1.5, DATA.clip * (maxBase || high));
    return [low / 1.2, Math.max(top, low * 2)];
  }

  const W = 260, H = 180, L = 44, R = 14, T = 8, B = 24;

  function curvePanel(view, i, range) {
    const c = DATA.configs[i];
    const div = panel(view, i);
    if (c.diverged) {
      const sub = el("div", { class: "bad" }, div);
      sub.textContent = `${c.diverged}/${c.n} diverged`;
    }
    const svg = el("svg:svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img" }, div);
    const its = DATA.grids[c.it];
    if (!range || !its.length) {
      const t = el("svg:text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "bad" }, svg);
      t.textContent = "no finite cost recorded";
      return;
    }
    const last = Math.max(1, its[its.length - 1]);
    const [lo, hi] = range.map(Math.log10);
    const x = (v) => L + ((W - L - R) * v) / last;
    const y = (v) => T + ((H - T - B) * (hi - Math.log10(Math.max(v, 1e-300)))) / (hi - lo);
    const clipId = `clip-${view.id}-${i}`;
    const defs = el("svg:defs", {}, svg);
    el("svg:rect", { x: L, y: T, width: W - L - R, height: H - T - B }, el("svg:clipPath", { id: clipId }, defs));
    el("svg:rect", { x: L, y: T, width: W - L - R, height: H - T - B, class: "frame" }, svg);
    axes(svg, range, last, x, y);
    const plot = el("svg:g", { "clip-path": `url(#${clipId})` }, svg);
    const pts = (values) => its.map((it, k) => (values[k] === null ? null : `${x(it).toFixed(1)},${y(values[k]).toFixed(1)}`)).filter(Boolean);
    const band = pts(c.hi).concat(pts(c.lo).reverse());
    el("svg:polygon", { points: band.join(" "), class: "band" }, plot);
    el("svg:polyline", { points: pts(c.mean).join(" "), class: "mean" }, plot);
    if (c.base) el("svg:line", { x1: L, x2: W - R, y1: y(c.base), y2: y(c.base), class: "base" }, plot);
    const top = Math.max(...c.hi.filter((v) => v !== null));
    if (top > range[1]) {
      const t = el("svg:text", { x: W - R - 2, y: T + 12, "text-anchor": "end", class: "up" }, svg);
      t.textContent = `↑ up to ${fmt(top)}`;
    }
  }

  function axes(svg, range, last, x, y) {
    const ticks = [];
    for (let e = Math.floor(Math.log10(range[0])); e <= Math.ceil(Math.log10(range[1])); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e;
        if (v >= range[0] && v <= range[1]) ticks.push(v);
      }
    }
    for (const v of ticks) {
      el("svg:line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }, svg);
      const t = el("svg:text", { x: L - 4, y: y(v) + 4, "text-anchor": "end" }, svg);
      t.textContent = fmt(v);
    }
    for (const v of [0, last / 2, last]) {
      const anchor = v === last ? "end" : v === 0 ? "start" : "middle";
      const t = el("svg:text", { x: x(v) + (v === last ? R - 2 : 0), y: H - 8, "text-anchor": anchor }, svg);
      t.textContent = Number.isInteger(v) ? v.toLocaleString("en") : v.toFixed(1);
    }
  }

  function boundaryPanel(view, i) {
    const c = DATA.configs[i];
    const div = panel(view, i);
    if (c.boundary === null) {
      const why = el("div", { class: "note" }, div);
      why.textContent = `No boundary: ${c.why}`;
      return;
    }
    const b = DATA.boundaries[c.boundary];
    const d = DATA.data[b.data];
    const size = 220;
    const canvas = el("canvas", { width: size, height: size }, div);
    const ctx = canvas.getContext("2d");
    const [x0, x1, y0, y1] = d.extent;
    const rgb = d.colors.map((h) => [1, 3, 5].map((k) => parseInt(h.slice(k, k + 2), 16)));
    if (b.cells) {
      const n = DATA.cells;
      const labels = atob(b.cells);
      const image = new ImageData(n, n);
      for (let r = 0; r < n; r++) {
        for (let col = 0; col < n; col++) {
          const [red, green, blue] = rgb[labels.charCodeAt(r * n + col)] || [200, 200, 200];
          const p = ((n - 1 - r) * n + col) * 4; // row 0 of the grid is the bottom
          image.data.set([red, green, blue, 150], p);
        }
      }
      const small = document.createElement("canvas");
      small.width = small.height = n;
      small.getContext("2d").putImageData(image, 0, 0);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(small, 0, 0, size, size);
    }
    for (let k = 0; k < d.x.length; k++) {
      ctx.beginPath();
      ctx.arc(((d.x[k] - x0) / (x1 - x0)) * size, size - ((d.y[k] - y0) / (y1 - y0)) * size, 2.2, 0, 2 * Math.PI);
      ctx.fillStyle = d.colors[d.label[k]] || "#888";
      ctx.fill();
      ctx.lineWidth = 0.4;
      ctx.strokeStyle = "#000";
      ctx.stroke();
    }
    const sub = el("div", { class: b.cells ? "sub" : "sub bad" }, div);
    sub.textContent = b.cells
      ? `seed ${b.seed} · train ${d.range ? "R² " : ""}${b.accuracy === null ? "—" : b.accuracy.toFixed(3)}` +
        (d.range ? ` · colour: ${d.range[0]} (blue) to ${d.range[1]} (red)` : "")
      : `seed ${b.seed} · diverged at iteration ${b.diverged_at}`;
  }

  function draw() {
    const all = ticked();
    const shown = all.slice(0, DATA.maxShown);
    const range = curveRange(shown);
    for (const name of ["curves", "boundaries"]) {
      const view = document.getElementById(`${name}-view`);
      view.replaceChildren();
      for (const i of shown) (name === "curves" ? curvePanel(view, i, range) : boundaryPanel(view, i));
      const note = document.getElementById(`${name}-note`);
      note.textContent = !all.length
        ? "No configuration is ticked: tick show in the summary table."
        : all.length > shown.length
          ? `Showing the first ${shown.length} of the ${all.length} ticked configurations, in the table's order.`
          : `Showing ${shown.length} configuration${shown.length === 1 ? "" : "s"}, in the table's order.`;
    }
    for (const row of index) row.tr.classList.toggle("shown", row.tr.querySelector("input").checked);
  }

  applyFilter();
  draw();
  document.body.dataset.ready = "true";
})();
