// chambers.js: #/chambers, impulse's chambers (GET /chambers, every 5 s) with a
// destroy button per row (DELETE /chambers/{id}); docs/api.md "Chambers (impulse)".

import { get, del } from './api.js';
import { h, dataTable, syncRows, toggleEmpty } from './dom.js';
import { every } from './poll.js';
import { clearError, reportError, showNotice } from './status.js';
import { dateTime } from './format.js';

function specText(spec) {
  if (!spec) return '';
  return `${spec.app} ${spec.version}` + (spec.runtime ? ` on ${spec.runtime}` : '');
}

export function chambersPage(root) {
  const ctl = new AbortController();
  const { signal } = ctl;
  const { wrap, tbody } = dataTable('chambers', ['Id', 'Status', 'Created', 'Port', 'Spec', '']);
  const empty = h('p', { id: 'no-chambers', class: 'empty' },
    'No chambers. Start one with ', h('code', { text: 'impuls chambers start APP VERSION' }),
    ' or POST /chambers.');
  wrap.hidden = true;
  root.append(h('h2', { text: 'Chambers' }),
    h('p', { class: 'help', text: 'A chamber is one long-lived instance of a function version, serving HTTP on its own port of 127.0.0.1.' }),
    wrap);

  async function refresh() {
    try {
      const list = await get('/chambers', { signal });
      const chambers = Array.isArray(list) ? list : [];
      syncRows(tbody, chambers, (c) => c.id, row);
      toggleEmpty(empty, wrap, chambers.length === 0);
      clearError('chambers');
    } catch (err) {
      reportError(err, signal, 'chambers');
    }
  }

  async function destroy(id, button) {
    if (!window.confirm(`Destroy chamber ${id}?`)) return;
    clearError();
    button.disabled = true;
    try {
      await del(`/chambers/${encodeURIComponent(id)}`, { signal });
      showNotice(`Destroyed ${id}.`);
      await refresh();
    } catch (err) {
      reportError(err, signal);
      button.disabled = false;
    }
  }

  function row(c) {
    const button = h('button', { type: 'button', class: 'destroy danger', text: 'Destroy' });
    button.addEventListener('click', () => destroy(c.id, button));
    return h('tr', { dataset: { chamber: c.id } },
      h('td', { class: 'id', text: c.id }),
      h('td', { class: `status status-${String(c.status).toLowerCase()}`, text: c.status + (c.reason ? ` (${c.reason})` : '') }),
      h('td', { class: 'created', text: dateTime(c.createdTimeMillis) }),
      h('td', { class: 'port', text: String(c.port) }),
      h('td', { class: 'spec', text: specText(c.spec) }),
      h('td', { class: 'actions' }, button));
  }

  every(5000, refresh, signal);
  return () => ctl.abort();
}
