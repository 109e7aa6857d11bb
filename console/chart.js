// chart.js: the last hour of a function (GET …/figures) as an SVG, redrawn every 10 s:
// calls per minute as bars (errors over them in red) on the left scale, p50 and p99
// duration as two lines on the right scale. Built with createElementNS; no library.

import { get, fnPath } from './api.js';
import { h, s } from './dom.js';
import { every } from './poll.js';
import { clearError, reportError } from './status.js';
import { hhmm, lastCallText, rateText } from './format.js';

const W = 600, H = 220;
const PAD = { left: 34, right: 52, top: 30, bottom: 22 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;
const COLOURS = { bar: '#7da2f0', err: '#d33f3f', p50: '#1f8a4c', p99: '#c77700', axis: '#888' };

// The scale's top: 1, 2 or 5 times a power of ten, at least v (and at least 1).
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v - 1e-9) return Math.max(1, m * p);
  return 10 * p;
}

const ms = (v) => (v === null || v === undefined ? '–' : `${Number(v).toFixed(1)} ms`);

function text(x, y, content, anchor = 'start', cls = 'label') {
  return s('text', { x, y, 'text-anchor': anchor, class: cls, 'font-size': 11, fill: '#555' }, content);
}

// Draw figures.minutes (oldest first) into svg, replacing what was there.
export function drawChart(svg, minutes) {
  const n = Math.max(1, minutes.length);
  const slot = PLOT_W / n;
  const barW = Math.max(1, slot * 0.7);
  const maxCount = niceCeil(Math.max(0, ...minutes.map((m) => Math.max(m.invocations || 0, m.errors || 0))));
  const maxMs = niceCeil(Math.max(0, ...minutes.flatMap((m) => [m.p50Ms || 0, m.p99Ms || 0])));
  const baseY = PAD.top + PLOT_H;
  const yCount = (c) => baseY - (c / maxCount) * PLOT_H;
  const yMs = (v) => baseY - (v / maxMs) * PLOT_H;
  const xMid = (i) => PAD.left + i * slot + slot / 2;

  const parts = [
    s('title', null, 'Calls per minute and p50/p99 duration, last 60 minutes'),
    // Axes: counts on the left, milliseconds on the right.
    s('line', { x1: PAD.left, y1: baseY, x2: W - PAD.right, y2: baseY, stroke: COLOURS.axis, 'stroke-width': 1 }),
    s('line', { x1: PAD.left, y1: PAD.top, x2: W - PAD.right, y2: PAD.top, stroke: '#ddd', 'stroke-width': 1, 'stroke-dasharray': '3 3' }),
    text(PAD.left - 4, PAD.top + 4, `${maxCount}/min`, 'end', 'label max-count'),
    text(PAD.left - 4, baseY, '0', 'end'),
    text(W - PAD.right + 4, PAD.top + 4, `${maxMs} ms`, 'start', 'label max-ms'),
    text(W - PAD.right + 4, baseY, '0 ms'),
  ];
  if (minutes.length) {
    parts.push(text(PAD.left, H - 6, hhmm(minutes[0].start)),
      text(W - PAD.right, H - 6, `${hhmm(minutes[minutes.length - 1].start)} (now)`, 'end'));
  }

  // One group per minute: a transparent full-height target so even an empty minute has hover text.
  minutes.forEach((m, i) => {
    const x = PAD.left + i * slot + (slot - barW) / 2;
    const calls = m.invocations || 0;
    const errors = m.errors || 0;
    const hCalls = (calls / maxCount) * PLOT_H;
    const hErr = (errors / maxCount) * PLOT_H;
    parts.push(s('g', { class: 'minute' },
      s('title', null, `${hhmm(m.start)}: ${calls} calls, ${errors} errors, ${m.throttles || 0} throttled; p50 ${ms(m.p50Ms)}, p99 ${ms(m.p99Ms)}`),
      s('rect', { class: 'hit', x: PAD.left + i * slot, y: PAD.top, width: slot, height: PLOT_H, fill: 'transparent' }),
      s('rect', { class: 'bar', x, y: baseY - hCalls, width: barW, height: hCalls, fill: COLOURS.bar }),
      errors ? s('rect', { class: 'err', x, y: baseY - hErr, width: barW, height: hErr, fill: COLOURS.err }) : null));
  });

  // The lines skip minutes with no call (null): they join the minutes that had some,
  // and each such minute gets a dot (a lone minute would be a line of one point: nothing).
  for (const key of ['p50', 'p99']) {
    const xy = minutes
      .map((m, i) => (m[`${key}Ms`] === null || m[`${key}Ms`] === undefined ? null : [xMid(i), yMs(m[`${key}Ms`])]))
      .filter(Boolean);
    const points = xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
    parts.push(s('polyline', { class: key, points, fill: 'none', stroke: COLOURS[key], 'stroke-width': key === 'p99' ? 1.5 : 2, 'stroke-linejoin': 'round' }));
    for (const [x, y] of xy) parts.push(s('circle', { class: `dot ${key}`, cx: x.toFixed(1), cy: y.toFixed(1), r: 3, fill: COLOURS[key] }));
  }

  // Legend along the top.
  const legend = [['bar', 'calls'], ['err', 'errors'], ['p50', 'p50'], ['p99', 'p99']];
  legend.forEach(([key, label], i) => {
    const x = PAD.left + i * 78;
    parts.push(s('g', { class: `legend legend-${key}` },
      key === 'p50' || key === 'p99'
        ? s('line', { x1: x, y1: 12, x2: x + 14, y2: 12, stroke: COLOURS[key], 'stroke-width': 2 })
        : s('rect', { x, y: 7, width: 10, height: 10, fill: COLOURS[key] }),
      text(x + 18, 16, label)));
  });

  svg.replaceChildren(...parts);
}

// → {el, refresh}: refresh() redraws at once (the page calls it after an invoke).
export function chartSection(name, signal) {
  const svg = s('svg', { id: 'chart', viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-label': `Calls and durations of ${name}, last 60 minutes` });
  const summary = h('p', { id: 'fn-last', class: 'help' });

  const refresh = every(10000, async () => {
    try {
      const fig = await get(fnPath(name, '/figures'), { signal });
      drawChart(svg, fig.minutes || []);
      const last = fig.lastCall;
      summary.textContent = `Last call: ${lastCallText(last)}${last ? ` (${ms(last.durationMs)})` : ''}. Last minute: ${rateText(fig.lastMinute)}.`;
      clearError('chart');
    } catch (err) {
      reportError(err, signal, 'chart');
    }
  }, signal);

  const el = h('section', { class: 'panel', id: 'chart-section' },
    h('h3', { text: 'Last hour' }), svg, summary);
  return { el, refresh };
}
