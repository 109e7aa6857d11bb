// instances.js: the Instances section, GET …/instances every 5 s
// (docs/api.md "GET /api/v1/functions/{name}/instances").

import { get, fnPath } from './api.js';
import { h, dataTable, syncRows, toggleEmpty } from './dom.js';
import { every } from './poll.js';
import { clearError, reportError } from './status.js';
import { dateTime } from './format.js';

function row(inst) {
  const extras = [inst.premade && 'premade', inst.zygote && 'zygote'].filter(Boolean);
  return h('tr', { dataset: { instance: String(inst.id) } },
    h('td', { class: 'id', text: String(inst.id) }),
    h('td', { class: `state state-${inst.state}`, text: inst.state }),
    h('td', { class: 'version', text: String(inst.version) }),
    h('td', { class: 'isolation', text: inst.isolation + (extras.length ? ` (${extras.join(', ')})` : '') }),
    h('td', { class: 'pid', text: String(inst.pid) }),
    h('td', { class: 'created', text: dateTime(inst.created_at) }));
}

function eventsText(ev) {
  if (!ev) return '';
  const oldest = ev.oldest_age_ms === null || ev.oldest_age_ms === undefined ? '' : ` (oldest waiting ${(ev.oldest_age_ms / 1000).toFixed(1)} s)`;
  return `Event invocations: ${ev.queued} queued${oldest}, ${ev.dead_letters} dead letters, ${ev.dropped} dropped.`;
}

// → {el, refresh}: refresh() reloads at once (the page calls it after an invoke).
export function instancesSection(name, signal) {
  const { wrap, tbody } = dataTable('instances', ['Id', 'State', 'Version', 'Isolation', 'PID', 'Started']);
  const empty = h('p', { id: 'no-instances', class: 'empty', text: 'No instances: the next call starts one (a cold start).' });
  const events = h('p', { id: 'fn-events', class: 'help' });

  const refresh = every(5000, async () => {
    try {
      const answer = await get(fnPath(name, '/instances'), { signal });
      const list = answer.instances || [];
      syncRows(tbody, list, (i) => i.id, row);
      toggleEmpty(empty, wrap, list.length === 0);
      events.textContent = eventsText(answer.events);
      clearError('instances');
    } catch (err) {
      reportError(err, signal, 'instances');
    }
  }, signal);

  const el = h('section', { class: 'panel', id: 'instances-section' },
    h('h3', { text: 'Instances' }), wrap, events);
  return { el, refresh };
}
