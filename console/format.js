// format.js: how numbers and times read on screen. Times are the browser's local time,
// 24-hour, written out by hand so every locale shows the same shape.

const pad = (n) => String(n).padStart(2, '0');

function toDate(t) {
  const d = t instanceof Date ? t : new Date(t);
  return Number.isNaN(d.getTime()) ? null : d;
}

// 04:01:02
export function clock(t) {
  const d = toDate(t);
  return d ? `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` : '?';
}

// 04:01
export function hhmm(t) {
  const d = toDate(t);
  return d ? `${pad(d.getHours())}:${pad(d.getMinutes())}` : '?';
}

// 2026-12-06 04:01:02
export function dateTime(t) {
  const d = toDate(t);
  if (!d) return '?';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(d)}`;
}

// figures' lastCall → "ok 04:01:02", or "never"
export function lastCallText(last) {
  return last ? `${last.outcome} ${clock(last.at)}` : 'never';
}

// figures' lastMinute → "3/min, 1 errors" (", 2 throttled" only when there were some)
export function rateText(minute) {
  const m = minute || {};
  let text = `${m.invocations || 0}/min, ${m.errors || 0} errors`;
  if (m.throttles) text += `, ${m.throttles} throttled`;
  return text;
}

// figures' instances → "1 idle, 0 busy" (starting and queued only when non-zero)
export function instancesText(inst, queued) {
  const i = inst || {};
  const parts = [];
  if (i.starting) parts.push(`${i.starting} starting`);
  parts.push(`${i.idle || 0} idle`, `${i.busy || 0} busy`);
  if (queued) parts.push(`${queued} queued`);
  return parts.join(', ');
}

// 1536 → "1.5 KiB"
export function bytes(n) {
  if (typeof n !== 'number') return '?';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// A body as text, indented when it is JSON.
export function prettyBody(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

// Lambda's X-…-Log-Result: base64 of UTF-8 bytes (atob alone would give Latin-1).
export function decodeBase64Utf8(b64) {
  const bin = atob(b64);
  const bytesArr = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8').decode(bytesArr);
}
