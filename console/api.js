// api.js: every request to the daemon goes through call(): it adds the token, turns an
// error answer into an ApiError carrying its errorMessage, and reports a 401.

const TOKEN_KEY = 'impuls-token';

// sessionStorage: the token lives as long as this tab, never in a cookie or on disk for long.
// Where the browser refuses storage (cookies blocked), it lives in this page only.
let unstored = '';
export function token() {
  try { return sessionStorage.getItem(TOKEN_KEY) || unstored; } catch { return unstored; }
}

const hooks = { unauthorized: () => {}, tokenChanged: () => {} };
export function onUnauthorized(fn) { hooks.unauthorized = fn; }
export function onTokenChanged(fn) { hooks.tokenChanged = fn; }

export function saveToken(value) {
  unstored = value;
  try { sessionStorage.setItem(TOKEN_KEY, value); } catch { /* kept in unstored */ }
  hooks.tokenChanged();
}

export function forgetToken() {
  unstored = '';
  try { sessionStorage.removeItem(TOKEN_KEY); } catch { /* nothing was stored */ }
  hooks.tokenChanged();
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status; // 0: the daemon could not be reached
  }
}

// The errorMessage of an error answer (docs/api.md "Conventions"), else its text.
export async function errorMessage(res) {
  const text = await res.text();
  try {
    const body = JSON.parse(text);
    if (body && typeof body.errorMessage === 'string') return body.errorMessage;
  } catch { /* not JSON: e.g. the HTTP layer's HTML 413 */ }
  return text.trim().slice(0, 500) || `HTTP ${res.status} ${res.statusText}`;
}

// call('GET', path, {signal}) → parsed JSON, text, or null for 204.
// body: an object is sent as JSON, a string as it is.
// raw: true hands back the Response whatever its status (invoke, logs), except a 401.
export async function call(method, path, { body, headers = {}, signal, raw = false } = {}) {
  const sent = token();
  const hdrs = { ...headers };
  if (sent) hdrs.Authorization = `Bearer ${sent}`;
  let payload = body;
  if (body !== undefined && typeof body !== 'string') {
    payload = JSON.stringify(body);
    hdrs['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, { method, headers: hdrs, body: payload, signal, cache: 'no-store' });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, `cannot reach the daemon (${err.message})`);
  }
  // A function's own answer (an invoke's) may be a 401 too: the daemon marks every answer
  // of a call with X-Impuls-Duration-Ms, and a function cannot set X-Impuls-* headers.
  if (res.status === 401 && !fromFunction(res)) {
    const message = await errorMessage(res);
    // Only if the token sent is still the one stored: a 401 for a request made before a
    // new token was entered is stale, and must neither forget it nor ask again.
    if (sent === token()) {
      if (sent) forgetToken(); // a refused token is of no further use
      hooks.unauthorized(message, Boolean(sent));
    }
    throw new ApiError(401, message);
  }
  if (raw) return res;
  if (!res.ok) throw new ApiError(res.status, await errorMessage(res));
  if (res.status === 204) return null;
  const type = res.headers.get('Content-Type') || '';
  return type.includes('application/json') ? res.json() : res.text();
}

// Is res a function's answer (its call was accepted), not the daemon's own?
export const fromFunction = (res) => res.headers.has('X-Impuls-Duration-Ms');

export const get = (path, opts) => call('GET', path, opts);
export const post = (path, body, opts) => call('POST', path, { ...opts, body });
export const put = (path, body, opts) => call('PUT', path, { ...opts, body });
export const del = (path, opts) => call('DELETE', path, opts);

// A function's path; names always encoded, though the daemon's names need it only for safety.
export function fnPath(name, rest = '') {
  return `/api/v1/functions/${encodeURIComponent(name)}${rest}`;
}
