// poll.js: timers that end with their page (the page's AbortSignal).

// Run fn now, then again `ms` after each run has finished (a slow daemon never gets
// overlapping refreshes), until signal aborts. fn reports its own errors.
// Returns now(): run it at once (e.g. after an action changed what it shows).
export function every(ms, fn, signal) {
  let timer = null;
  let running = false;
  let again = false; // now() came during a run: run once more right after it
  const tick = async () => {
    clearTimeout(timer);
    if (signal.aborted) return;
    if (running) { again = true; return; }
    running = true;
    do {
      again = false;
      try { await fn(); } catch { /* fn has shown it */ }
    } while (again && !signal.aborted);
    running = false;
    if (!signal.aborted) timer = setTimeout(tick, ms);
  };
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  tick();
  return tick;
}

// Wait ms, or reject at once with an AbortError when the page is left.
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) { reject(new DOMException('left the page', 'AbortError')); return; }
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new DOMException('left the page', 'AbortError'));
    }, { once: true });
  });
}
