// function.js: #/fn/NAME, one function: its configuration, then the sections
// (invoke, chart, logs, instances, edit, delete), each in a module of its own.

import { get, del, fnPath } from './api.js';
import { h } from './dom.js';
import { clearError, flash, reportError } from './status.js';
import { bytes, dateTime } from './format.js';
import { invokeSection } from './invoke.js';
import { chartSection } from './chart.js';
import { logsSection } from './logs.js';
import { instancesSection } from './instances.js';
import { editSection } from './edit.js';

// v(x, f): f(x), or undefined (the row is left out) when the daemon did not send x.
const v = (x, f = String) => (x === undefined || x === null ? undefined : f(x));

// The function object's fields (docs/api.md "Response fields"), as [key, label, text].
function configRows(fn) {
  return [
    ['runtime', 'Runtime', v(fn.runtime)],
    ['handler', 'Handler', v(fn.handler)],
    ['memory_mb', 'Memory', v(fn.memory_mb, (x) => `${x} MB`)],
    ['timeout_s', 'Timeout', v(fn.timeout_s, (x) => `${x} s`)],
    ['concurrency', 'Concurrency', v(fn.concurrency)],
    ['idle_timeout_s', 'Idle timeout', v(fn.idle_timeout_s, (x) => `${x} s`)],
    ['isolation', 'Isolation', v(fn.isolation)],
    ['network', 'Network', v(fn.network, (x) => x + (fn.egress_allow && fn.egress_allow.length ? ` (also ${fn.egress_allow.join(', ')})` : ''))],
    ['mode', 'Mode', v(fn.mode, (x) => x + (fn.command ? `: ${fn.command.join(' ')}` : ''))],
    ['style', 'Style', v(fn.style)],
    ['reuse', 'Reuse instances', v(fn.reuse, (x) => (x ? 'yes' : 'no (a fresh instance per call)'))],
    ['auth', 'Router URL auth', v(fn.auth)],
    ['env', 'Environment', v(fn.env, (x) => Object.keys(x).join(', ') || 'none')],
    ['code', 'Code', v(fn.code_kind, (x) => `${x}, ${bytes(fn.code_size)}, sha256 ${fn.code_sha256}`)],
    ['version', 'Version', v(fn.version, (x) => String(x) + (fn.version_label ? ` (${fn.version_label})` : ''))],
    ['events', 'Event invocations', v(fn.events, (x) => `${x.queued} queued, ${x.dead_letters} dead letters`)],
    ['created_at', 'Created', v(fn.created_at, dateTime)],
    ['updated_at', 'Updated', v(fn.updated_at, dateTime)],
  ].filter((r) => r[2] !== undefined);
}

function fillConfig(dl, fn) {
  dl.replaceChildren(...configRows(fn).flatMap(([key, label, text]) => [
    h('dt', { text: label }),
    h('dd', { dataset: { key }, text }),
  ]));
}

export function functionPage(root, name) {
  const ctl = new AbortController();
  const { signal } = ctl;
  const config = h('dl', { id: 'fn-config', class: 'config' });
  root.append(h('h2', { id: 'fn-name', text: name }), config);

  const reload = async () => {
    const fn = await get(fnPath(name, '?code=true'), { signal });
    fillConfig(config, fn);
    return fn;
  };

  // The sections appear once the function is known to exist (a 404 shows only #error).
  reload().then((fn) => {
    clearError();
    const remove = h('button', { id: 'delete', type: 'button', class: 'danger', text: 'Delete function' });
    remove.addEventListener('click', async () => {
      if (!window.confirm(`Delete function ${name}?`)) return;
      clearError();
      remove.disabled = true;
      try {
        await del(fnPath(name), { signal });
        flash(`Deleted ${name}.`);
        location.hash = '#/functions';
      } catch (err) {
        reportError(err, signal);
        remove.disabled = false;
      }
    });
    const chart = chartSection(name, signal);
    const instances = instancesSection(name, signal);
    // A call changes the instances and the chart: show that now, not at the next tick.
    const afterInvoke = () => { instances.refresh(); chart.refresh(); };
    root.append(
      invokeSection(name, signal, afterInvoke),
      chart.el,
      logsSection(name, signal),
      instances.el,
      editSection(name, fn, reload, signal),
      h('section', { class: 'panel danger-zone' },
        h('h3', { text: 'Delete' }),
        h('p', { class: 'help', text: 'Deletes the function, its versions, its log and its instances.' }),
        remove));
  }).catch((err) => reportError(err, signal));

  return () => ctl.abort();
}
