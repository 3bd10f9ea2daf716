// Rio Chat: the SwiReasoning trace chart, drawn on a canvas.
//
// This file is the body of a gr.HTML `js_on_load` (rio_app/trace_chart.py):
// it runs once per chart with `element`, `props` and `watch` in scope. The
// standalone HTML export (rio_app/visualize.py) runs the same code with a
// fixed `props.value` and a no-op `watch`.
// Value: [meta, chunk, chunk, ...]: `meta` is fixed while a run streams, each chunk is
// "t,H,ref,mode,switch,flags,mix,text\n..." (row format in rio_app/visualize.py; a list,
// not a dict, for the reason in rio_app/trace_chart.py). Chunks only grow while a run
// streams; they are ingested incrementally and
// drawn once per animation frame. The main panel shows the most recent
// `meta.window` steps in full; the overview below shows the whole run, as a
// line while it has fewer steps than pixels, then downsampled. Test hooks on
// `.rio-trace`: data-points, -switches, -draws, -overview ("line"|"bars"),
// -overview-marks (line segments or bar columns drawn), -view-start, -view-steps,
// -latent-spans, -computed (steps the calculator wrote).
// No global ids or state: several charts can share a page. Token text is
// only ever set with textContent.
const host = element.querySelector(".rio-trace") || element;
const PAD_L = 36, PAD_R = 10, MAIN_H = 150, GAP = 16, OVER_H = 40, STRIP_H = 12, TOP = 6;
const CSS_H = TOP + MAIN_H + GAP + OVER_H + 6 + STRIP_H + 4;
const FLAG_FORCED = 1, FLAG_INJECTED = 2, FLAG_COMPUTED = 8;

function el(tag, cls, parent) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (parent) parent.appendChild(node);
  return node;
}
host.textContent = "";
const head = el("div", "rio-trace-head", host);
const titleEl = el("span", "rio-trace-title", head);
const counterEl = el("span", "rio-trace-counter", head);
const canvas = el("canvas", "rio-trace-canvas", host);
canvas.style.height = CSS_H + "px";
const legendEl = el("div", "rio-trace-legend", host);
const tip = el("div", "rio-trace-tip", host);
tip.hidden = true;
const probe = el("span", "rio-trace-probe", host);
const ctx = canvas.getContext("2d");

const S = { run: null, chunks: 0, lastChunk: null, n: 0, t: [], H: [], R: [], M: [], W: [], F: [], X: [], MX: [], switches: 0, computed: 0, meta: {}, hover: -1, draws: 0 };
let pending = false;

function reset(meta) {
  Object.assign(S, { run: meta.run, chunks: 0, lastChunk: null, n: 0, t: [], H: [], R: [], M: [], W: [], F: [], X: [], MX: [], switches: 0, computed: 0, meta: meta, hover: -1 });
  buildLegend();
}
function num(x) { return x === "" ? NaN : +x; }
function unescapeText(s) {
  return s.indexOf("\\") < 0 ? s : s.replace(/\\(.)/g, (m, c) => (c === "n" ? "\n" : c === "r" ? "\r" : c));
}
function ingestChunk(chunk) {
  for (const line of chunk.split("\n")) {
    const f = [];
    let at = 0;
    for (let k = 0; k < 7; k++) { const next = line.indexOf(",", at); f.push(line.slice(at, next)); at = next + 1; }
    S.t.push(+f[0]); S.H.push(num(f[1])); S.R.push(num(f[2])); S.M.push(f[3] | 0);
    S.W.push(f[4] | 0); S.F.push(f[5] | 0); S.MX.push(f[6]); S.X.push(unescapeText(line.slice(at)));
    if ((f[4] | 0) === 1) S.switches++;
    if (f[5] & FLAG_COMPUTED && S.computed++ === 0) buildLegend();
  }
  S.n = S.t.length;
}
function ingest() {
  const v = Array.isArray(props.value) ? props.value : [];
  const meta = v[0] || {};
  const count = Math.max(0, v.length - 1);  // chunks v[1..]
  const same = meta.run === S.run && count >= S.chunks && (S.chunks === 0 || v[S.chunks] === S.lastChunk);
  if (!same || (S.meta !== meta && JSON.stringify(S.meta) !== JSON.stringify(meta))) reset(meta);
  for (let i = S.chunks; i < count; i++) if (v[i + 1]) ingestChunk(v[i + 1]);
  S.chunks = count;
  S.lastChunk = count ? v[count] : null;
}

// Before a run the chart has no meta: the table comes with the script
// (RIO_TRACE_STRINGS, rio_app/visualize.py) and the language from the
// browser, as the server reads it from Accept-Language.
function str(key) {
  const all = S.meta.strings || (typeof RIO_TRACE_STRINGS === "object" ? RIO_TRACE_STRINGS : {});
  const lang = S.meta.lang || ((navigator.language || "").toLowerCase().startsWith("pt") ? "pt-BR" : "en");
  const s = all[lang] || all.en || {};
  return s[key] || key;
}
function color(name) {
  probe.style.color = "var(--rio-" + name + ")";
  return getComputedStyle(probe).color;
}
function palette() {
  const c = {};
  for (const k of ["fg", "muted", "grid", "entropy", "reference", "latent", "to-explicit", "to-latent", "injected", "computed", "forced", "explicit-cell", "latent-cell", "cursor"]) c[k] = color(k);
  return c;
}

function buildLegend() {
  legendEl.textContent = "";
  const note = S.meta.note ? " (" + S.meta.note + ")" : "";
  const swir = S.meta.method === "swir";
  const items = [["entropy", S.meta.estimate ? str("entropy_estimate") : str("entropy")]];
  if (swir) items.push(["reference", str("reference")], ["latent", str("latent")], ["to-explicit", str("to_explicit") + note], ["to-latent", str("to_latent") + note], ["injected", str("injected")], ["forced", str("forced")]);
  if (S.computed) items.push(["computed", str("computed")]);
  for (const [key, label] of items) {
    const item = el("span", "rio-trace-key", legendEl);
    el("i", "rio-trace-swatch rio-trace-sw-" + key, item);
    el("span", "", item).textContent = label;
  }
  const name = S.meta.method_name || S.meta.method || "";
  titleEl.textContent = S.meta.title ? S.meta.title + " · " + name : name;
}
function updateCounter() {
  if (S.meta.method !== "swir") { counterEl.textContent = S.n + " " + str("tokens"); return; }
  const max = S.meta.max_switch == null ? str("off") : S.meta.max_switch;
  counterEl.textContent = str("switches") + " " + S.switches + " / " + max;
  counterEl.classList.toggle("rio-trace-at-max", S.meta.max_switch != null && S.switches >= S.meta.max_switch);
}

function yMax() {
  let m = 1;
  for (let i = 0; i < S.n; i++) { if (S.H[i] > m) m = S.H[i]; if (S.R[i] > m) m = S.R[i]; }
  return Math.ceil(m * 2) / 2;
}
function view(width) {
  const win = Math.max(8, S.meta.window || 400);
  const a = Math.max(0, S.n - win);
  const span = Math.max(S.n - a, Math.min(win, 32));
  const pw = width - PAD_L - PAD_R;
  return { a: a, span: span, pw: pw, x: (i) => PAD_L + ((i - a) / span) * pw };
}

function drawAxes(c, w, top, ymax) {
  ctx.strokeStyle = c.grid; ctx.fillStyle = c.muted; ctx.lineWidth = 1;
  ctx.font = "10px system-ui, sans-serif"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const f of [0, 0.5, 1]) {
    const y = Math.round(top + MAIN_H - f * MAIN_H) + 0.5;
    ctx.beginPath(); ctx.moveTo(PAD_L, y); ctx.lineTo(w - PAD_R, y); ctx.stroke();
    ctx.fillText((f * ymax).toFixed(1), PAD_L - 4, y);
  }
}
function shadeLatent(c, v, top, h) {
  ctx.fillStyle = c.latent;
  let start = -1;
  for (let i = v.a; i <= S.n; i++) {
    const lat = i < S.n && S.M[i] === 1;
    if (lat && start < 0) start = i;
    if (!lat && start >= 0) { ctx.fillRect(v.x(start), top, v.x(i) - v.x(start), h); start = -1; }
  }
}
// test hook: runs of latent steps in the whole trace (what the shading shows, view or not)
function latentSpans() {
  let spans = 0;
  for (let i = 0; i < S.n; i++) if (S.M[i] === 1 && (i === 0 || S.M[i - 1] !== 1)) spans++;
  return spans;
}
function drawSeries(c, v, top, ymax) {
  const y = (h) => top + MAIN_H - (h / ymax) * MAIN_H;
  const half = v.pw / v.span / 2;
  ctx.lineWidth = 1.5; ctx.strokeStyle = c.entropy; ctx.beginPath();
  let pen = false;
  for (let i = v.a; i < S.n; i++) {
    if (isNaN(S.H[i])) { pen = false; continue; }
    pen ? ctx.lineTo(v.x(i) + half, y(S.H[i])) : ctx.moveTo(v.x(i) + half, y(S.H[i]));
    pen = true;
  }
  ctx.stroke();
  ctx.lineWidth = 1; ctx.strokeStyle = c.reference; ctx.setLineDash([4, 3]); ctx.beginPath();
  for (let i = v.a; i < S.n; i++) {
    if (isNaN(S.R[i])) continue;
    ctx.moveTo(v.x(i), y(S.R[i])); ctx.lineTo(v.x(i + 1), y(S.R[i]));
    if (i + 1 < S.n && !isNaN(S.R[i + 1])) ctx.lineTo(v.x(i + 1), y(S.R[i + 1]));
  }
  ctx.stroke(); ctx.setLineDash([]);
}
function triangle(x, y, up, fill) {
  ctx.fillStyle = fill; ctx.beginPath();
  const d = up ? 1 : -1;
  ctx.moveTo(x, y - 5 * d); ctx.lineTo(x - 4.5, y + 4 * d); ctx.lineTo(x + 4.5, y + 4 * d); ctx.closePath(); ctx.fill();
}
function drawMarks(c, v, top, ymax) {
  const half = v.pw / v.span / 2, base = top + MAIN_H;
  for (let i = v.a; i < S.n; i++) {
    const x = v.x(i) + half;
    if (S.W[i]) {
      const h = isNaN(S.H[i]) ? 0 : S.H[i];
      triangle(x, base - (h / ymax) * MAIN_H, S.W[i] === 1, S.W[i] === 1 ? c["to-explicit"] : c["to-latent"]);
    }
    if (S.F[i] & FLAG_INJECTED) { ctx.fillStyle = c.injected; ctx.fillRect(x - 2, base - 5, 4, 4); }
    if (S.F[i] & FLAG_COMPUTED) { ctx.fillStyle = c.computed; ctx.fillRect(x - 2, base - 5, 4, 4); }
    if (S.F[i] & FLAG_FORCED) { ctx.fillStyle = c.forced; ctx.fillRect(x - 0.5, base - 11, 1.5, 5); }
  }
}
// The overview strip shows the whole run. A run with fewer steps than the strip
// has pixels is drawn as a line at full resolution (one point per step); a
// longer one is downsampled to one min/max bar per pixel column.
function overviewMode(n, cols) { return !n ? "none" : n <= cols ? "line" : "bars"; }
function drawOverviewLine(c, top, pw, ymax) {
  const n = S.n, cw = pw / n, x = (i) => PAD_L + i * cw, y = (h) => top + OVER_H - (h / ymax) * (OVER_H - 2) - 1;
  ctx.fillStyle = c.latent;
  for (let i = 0; i < n; i++) if (S.M[i] === 1) ctx.fillRect(x(i), top, cw + 0.5, OVER_H);
  ctx.lineWidth = 1; ctx.strokeStyle = c.entropy; ctx.beginPath();
  let pen = false, segs = 0;
  for (let i = 0; i < n; i++) {
    if (isNaN(S.H[i])) { pen = false; continue; }
    if (pen) { ctx.lineTo(x(i) + cw / 2, y(S.H[i])); segs++; } else ctx.moveTo(x(i) + cw / 2, y(S.H[i]));
    pen = true;
  }
  ctx.stroke();
  return segs;
}
function drawOverviewBars(c, top, pw, cols, ymax) {
  const n = S.n;
  for (let px = 0; px < cols; px++) {
    const i0 = Math.floor((px / cols) * n), i1 = Math.max(i0 + 1, Math.floor(((px + 1) / cols) * n));
    let lo = Infinity, hi = -Infinity, lat = 0;
    for (let i = Math.max(0, i0 - 1); i < i1 && i < n; i++) { if (S.H[i] < lo) lo = S.H[i]; if (S.H[i] > hi) hi = S.H[i]; lat += i >= i0 ? S.M[i] : 0; }
    const x = PAD_L + (px / cols) * pw;
    if (lat * 2 >= i1 - i0) { ctx.fillStyle = c.latent; ctx.fillRect(x, top, 1, OVER_H); }
    if (hi >= lo) { ctx.fillStyle = c.entropy; const yh = top + OVER_H - (hi / ymax) * OVER_H, yl = top + OVER_H - (lo / ymax) * OVER_H; ctx.fillRect(x, yh, 1, Math.max(1, yl - yh)); }
  }
  return cols;
}
function drawOverview(c, w, top, v, ymax) {
  const pw = w - PAD_L - PAD_R, cols = Math.max(1, Math.floor(pw)), n = S.n, mode = overviewMode(n, cols);
  ctx.strokeStyle = c.grid; ctx.lineWidth = 1; ctx.strokeRect(PAD_L + 0.5, top + 0.5, pw - 1, OVER_H - 1);
  host.dataset.overview = mode;
  host.dataset.overviewMarks = "0";
  if (!n) return;
  host.dataset.overviewMarks = String(mode === "line" ? drawOverviewLine(c, top, pw, ymax) : drawOverviewBars(c, top, pw, cols, ymax));
  for (let i = 0; i < n; i++) if (S.W[i]) { ctx.fillStyle = S.W[i] === 1 ? c["to-explicit"] : c["to-latent"]; ctx.fillRect(PAD_L + ((i + 0.5) / n) * pw - 0.75, top, 1.5, 6); }
  ctx.strokeStyle = c.cursor; ctx.strokeRect(PAD_L + (v.a / n) * pw + 0.5, top + 0.5, Math.max(2, ((n - v.a) / n) * pw) - 1, OVER_H - 1);
}
function drawStrip(c, v, top) {
  const cw = v.pw / v.span;
  for (let i = v.a; i < S.n; i++) {
    ctx.fillStyle = S.M[i] === 1 ? c["latent-cell"] : c["explicit-cell"];
    ctx.fillRect(v.x(i), top, Math.max(1, cw - (cw > 3 ? 1 : 0)), STRIP_H);
    if (S.F[i] & FLAG_INJECTED) { ctx.fillStyle = c.injected; ctx.fillRect(v.x(i), top, Math.max(1, cw), 3); }
    if (S.F[i] & FLAG_COMPUTED) { ctx.fillStyle = c.computed; ctx.fillRect(v.x(i), top, Math.max(1, cw), 3); }
  }
}
function drawCursor(c, v, top) {
  if (S.hover < v.a || S.hover >= S.n) return;
  ctx.fillStyle = c.cursor; ctx.globalAlpha = 0.25;
  ctx.fillRect(v.x(S.hover), top, Math.max(1, v.pw / v.span), CSS_H - top - 2);
  ctx.globalAlpha = 1;
}

// Step numbers under the main panel (first and last step shown) and the
// overview's caption, placed so that they never overlap.
function drawLabels(c, w, v) {
  ctx.fillStyle = c.muted; ctx.font = "10px system-ui, sans-serif"; ctx.textBaseline = "top"; ctx.textAlign = "left";
  const message = !S.n ? str("waiting") : S.H.every(isNaN) ? str("no_entropy") : "";
  if (message) ctx.fillText(message, PAD_L + 6, TOP + 6);
  host.dataset.message = message;  // test hook: what the canvas says
  if (!S.n) return;
  const y = TOP + MAIN_H + 3, left = str("step") + " " + S.t[v.a];
  const taken = [[PAD_L, PAD_L + ctx.measureText(left).width]];
  ctx.fillText(left, PAD_L, y);
  if (S.n - 1 > v.a) {
    const right = String(S.t[S.n - 1]), wr = ctx.measureText(right).width;
    const xr = Math.min(w - PAD_R, Math.max(v.x(S.n), taken[0][1] + 8 + wr));
    ctx.textAlign = "right"; ctx.fillText(right, xr, y); taken.push([xr - wr, xr]);
  }
  const cap = str("overview") + " ↓", wc = ctx.measureText(cap).width, free = (a, b) => taken.every(([l, r]) => b + 8 < l || a > r + 8);
  for (const xc of [PAD_L + v.pw / 2, w - PAD_R - wc / 2]) {
    if (free(xc - wc / 2, xc + wc / 2)) { ctx.textAlign = "center"; ctx.fillText(cap, xc, y); break; }
  }
}

function draw() {
  pending = false;
  ingest();
  const w = Math.max(120, canvas.clientWidth || host.clientWidth || 600), dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(CSS_H * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(CSS_H * dpr); }
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, CSS_H);
  const c = palette(), v = view(w), ymax = yMax(), overTop = TOP + MAIN_H + GAP;
  shadeLatent(c, v, TOP, MAIN_H);
  drawAxes(c, w, TOP, ymax);
  drawSeries(c, v, TOP, ymax);
  drawMarks(c, v, TOP, ymax);
  drawOverview(c, w, overTop, v, ymax);
  drawStrip(c, v, overTop + OVER_H + 6);
  drawCursor(c, v, TOP);
  drawLabels(c, w, v);
  updateCounter();
  S.draws++;
  host.dataset.points = String(S.n);
  host.dataset.switches = String(S.switches);
  host.dataset.latentSpans = String(latentSpans());
  host.dataset.computed = String(S.computed);
  host.dataset.draws = String(S.draws);
  host.dataset.viewStart = String(v.a);
  host.dataset.viewSteps = String(S.n - v.a);
}
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(draw);
}

function stepAt(ev) {
  const rect = canvas.getBoundingClientRect();
  const x = ev.clientX - rect.left, y = ev.clientY - rect.top, v = view(rect.width);
  if (!S.n || x < PAD_L || x > rect.width - PAD_R) return -1;
  const overTop = TOP + MAIN_H + GAP;
  const i = y >= overTop && y <= overTop + OVER_H
    ? Math.floor(((x - PAD_L) / v.pw) * S.n)
    : v.a + Math.floor(((x - PAD_L) / v.pw) * v.span);
  return i >= 0 && i < S.n ? i : -1;
}
function fmt(x) { return isNaN(x) ? "–" : x.toFixed(3); }
// A latent step's soft embedding: the top tokens of the distribution it mixed ("p:text;p:text").
function mixTable(field) {
  el("div", "rio-trace-tip-mixhead", tip).textContent = str("mixed");
  const table = el("table", "rio-trace-tip-mix", tip);
  for (const item of field.split(";")) {
    const at = item.indexOf(":"), p = +item.slice(0, at);
    let text;
    try { text = decodeURIComponent(item.slice(at + 1)); } catch (e) { text = item.slice(at + 1); }
    const row = el("tr", "", table);
    el("td", "rio-trace-tip-mixtok", row).textContent = JSON.stringify(text);
    el("td", "rio-trace-tip-p", row).textContent = (p * 100).toFixed(1) + "%";
  }
}
function showTip(i, ev) {
  tip.textContent = "";
  const f = S.F[i], flags = [];
  if (f & FLAG_FORCED) flags.push(str("forced"));
  if (f & FLAG_INJECTED) flags.push(str("injected"));
  if (f & FLAG_COMPUTED) flags.push(str("computed"));
  if (S.W[i]) flags.push(S.W[i] === 1 ? str("to_explicit") : str("to_latent"));
  el("div", "rio-trace-tip-token", tip).textContent = JSON.stringify(S.X[i]);
  el("div", "", tip).textContent = str("step") + " " + S.t[i] + " · " + (S.M[i] === 1 ? str("latent") : str("explicit"));
  el("div", "", tip).textContent = "H " + fmt(S.H[i]) + " · ref " + fmt(S.R[i]);
  if (flags.length) el("div", "", tip).textContent = flags.join(" · ");
  if (S.MX[i]) mixTable(S.MX[i]);
  const rect = host.getBoundingClientRect();
  const left = Math.min(ev.clientX - rect.left + 12, rect.width - 200);
  tip.style.left = Math.max(0, left) + "px";
  tip.style.top = ev.clientY - rect.top + 14 + "px";
  tip.hidden = false;
  tip.dataset.step = String(S.t[i]);
}
canvas.addEventListener("mousemove", (ev) => {
  const i = stepAt(ev);
  if (i !== S.hover) { S.hover = i; schedule(); }
  if (i < 0) tip.hidden = true; else showTip(i, ev);
});
canvas.addEventListener("mouseleave", () => { S.hover = -1; tip.hidden = true; schedule(); });
if (typeof ResizeObserver !== "undefined") new ResizeObserver(schedule).observe(host);
watch("value", schedule);
schedule();
