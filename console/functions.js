// functions.js: #/functions, every function with its live figures, refreshed every 5 s.

import { get, ApiError } from './api.js';
import { h, dataTable, syncRows, toggleEmpty } from './dom.js';
import { every } from './poll.js';
import { clearError, reportError } from './status.js';
import { lastCallText, rateText, instancesText, dateTime } from './format.js';

// What a function missing from /api/v1/figures shows: nothing has happened to it.
const NO_FIGURES = {
  instances: { starting: 0, idle: 0, busy: 0 }, queued: 0, lastCall: null,
  lastMinute: { invocations: 0, errors: 0, throttles: 0 },
};

function row(fn, fig) {
  const f = fig || NO_FIGURES;
  const last = f.lastCall;
  return h('tr', { dataset: { fn: fn.name } },
    h('td', { class: 'name' }, h('a', { href: `#/fn/${encodeURIComponent(fn.name)}`, text: fn.name })),
    h('td', { class: 'runtime', text: fn.runtime }),
    h('td', { class: 'instances', text: instancesText(f.instances, f.queued) }),
    h('td', {
      class: last ? `last outcome-${last.outcome}` : 'last',
      text: lastCallText(last),
      title: last ? `${dateTime(last.at)}, ${last.durationMs} ms` : null,
    }),
    h('td', { class: f.lastMinute && f.lastMinute.errors ? 'rate has-errors' : 'rate', text: rateText(f.lastMinute) }));
}

export function functionsPage(root) {
  const ctl = new AbortController();
  const { signal } = ctl;
  const { wrap, tbody } = dataTable('functions', ['Name', 'Runtime', 'Instances', 'Last call', 'Last minute']);
  const empty = h('p', { id: 'no-functions', class: 'empty' },
    'No functions yet. ', h('a', { href: '#/new', text: 'Create one' }), '.');
  wrap.hidden = true; // until the first answer says whether there are any
  root.append(h('h2', { text: 'Functions' }), wrap);

  every(5000, async () => {
    try {
      // The figures are extras: if only they fail, the list still shows (with zeros).
      let figuresError = null;
      const [list, figures] = await Promise.all([
        get('/api/v1/functions', { signal }),
        get('/api/v1/figures', { signal }).catch((err) => {
          if (err.name === 'AbortError' || err.status === 401) throw err;
          figuresError = err;
          return { functions: [] };
        }),
      ]);
      const byName = new Map((figures.functions || []).map((f) => [f.name, f]));
      const fns = list.functions || [];
      syncRows(tbody, fns, (fn) => fn.name, (fn) => row(fn, byName.get(fn.name)));
      toggleEmpty(empty, wrap, fns.length === 0);
      if (figuresError) throw new ApiError(figuresError.status, `figures: ${figuresError.message}`);
      clearError('functions');
    } catch (err) {
      reportError(err, signal, 'functions');
    }
  }, signal);

  return () => ctl.abort();
}
