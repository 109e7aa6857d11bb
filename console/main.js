// main.js: the hash router. Each page is render(root, arg) → cleanup; the router calls
// the cleanup before the next page, so no timer or log follower outlives its page.

import { setupToken } from './token.js';
import { clearError, clearNotice, showError, showNotice, takeFlash } from './status.js';
import { functionsPage } from './functions.js';
import { createPage } from './create.js';
import { functionPage } from './function.js';
import { chambersPage } from './chambers.js';

const ROUTES = [
  { re: /^#\/functions$/, page: functionsPage, nav: '#/functions' },
  { re: /^#\/new$/, page: createPage, nav: '#/new' },
  // (a function's name as the daemon allows it: never '.' or '..', which a URL would fold away)
  { re: /^#\/fn\/([A-Za-z0-9][A-Za-z0-9_-]{0,63})$/, page: functionPage, nav: '#/functions' },
  { re: /^#\/chambers$/, page: chambersPage, nav: '#/chambers' },
];

let cleanup = null;

function markNav(current) {
  for (const a of document.querySelectorAll('header nav a')) {
    if (a.getAttribute('href') === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function render() {
  if (cleanup) { cleanup(); cleanup = null; }
  clearError();
  clearNotice();
  const hash = location.hash;
  if (hash === '' || hash === '#' || hash === '#/') {
    location.replace('#/functions'); // fires hashchange, which renders
    return;
  }
  const root = document.getElementById('page');
  root.replaceChildren();
  for (const route of ROUTES) {
    const m = route.re.exec(hash);
    if (!m) continue;
    let arg;
    try { arg = m[1] === undefined ? undefined : decodeURIComponent(m[1]); } catch {
      showError(`The address ${hash} is not well encoded.`);
      return;
    }
    markNav(route.nav);
    cleanup = route.page(root, arg) || null;
    const note = takeFlash();
    if (note) showNotice(note);
    return;
  }
  markNav(null);
  showError(`There is no page at ${hash}; see Functions.`);
}

setupToken(render);
window.addEventListener('hashchange', render);
render();
