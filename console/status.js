// status.js: the shared #error and #notice boxes at the top of every page.

const errorBox = () => document.getElementById('error');
const noticeBox = () => document.getElementById('notice');

// Which part of the page put the error up: a periodic refresh that succeeds clears only
// its own error, never one the user's last action caused.
let errorSource = null;

export function showError(message, source = null) {
  const box = errorBox();
  box.textContent = message;
  box.hidden = false;
  errorSource = source;
}

// clearError(): clear whatever is shown (a user action succeeded, or navigation);
// clearError('logs'): clear it only if 'logs' put it there.
export function clearError(source = null) {
  if (source !== null && source !== errorSource) return;
  const box = errorBox();
  box.textContent = '';
  box.hidden = true;
  errorSource = null;
}

export function showNotice(message) {
  const box = noticeBox();
  box.textContent = message;
  box.hidden = false;
}

export function clearNotice() {
  const box = noticeBox();
  box.textContent = '';
  box.hidden = true;
}

// A notice to show on the next page (navigation clears the boxes first).
let pending = null;
export function flash(message) { pending = message; }
export function takeFlash() { const m = pending; pending = null; return m; }

// The common catch: nothing after the page was left, nothing for a 401 (the token form
// is up and says why), the errorMessage for everything else (a 403 included).
export function reportError(err, signal, source = null) {
  if ((signal && signal.aborted) || err.name === 'AbortError') return;
  if (err.status === 401) return;
  showError(err.message || String(err), source);
}
