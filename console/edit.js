// edit.js: the Edit section: PUT /api/v1/functions/NAME with only the fields changed
// (the update is partial; an unchanged code field is not sent again).

import { put, fnPath } from './api.js';
import { h } from './dom.js';
import { clearError, reportError, showNotice } from './status.js';

function field(label, control) {
  return h('div', { class: 'field' }, h('label', { for: control.id, text: label }), control);
}

// fn: the function as loaded with ?code=true; reload(): fetch and show it again → fn.
export function editSection(name, fn, reload, signal) {
  const handler = h('input', { id: 'e-handler', type: 'text', autocomplete: 'off', spellcheck: 'false' });
  const code = h('textarea', { id: 'e-code', class: 'code', rows: 12, spellcheck: 'false' });
  const memory = h('input', { id: 'e-memory', type: 'number', min: 64, max: 10240, step: 1 });
  const timeout = h('input', { id: 'e-timeout', type: 'number', min: 1, max: 900, step: 1 });
  const submit = h('button', { id: 'e-submit', type: 'submit', text: 'Save changes' });

  let current = fn;
  function fill(f) {
    current = f;
    handler.value = f.handler;
    // Only inline code comes back with ?code=true; a zip cannot be edited here.
    const inline = typeof f.code === 'string';
    code.value = inline ? f.code : '';
    code.disabled = !inline;
    code.placeholder = inline ? '' : `This function's code is a ${f.code_kind}; replace it with the CLI or the API.`;
    memory.value = String(f.memory_mb);
    timeout.value = String(f.timeout_s);
  }
  fill(fn);

  const form = h('form', { id: 'edit-form', novalidate: true },
    field('Handler', handler), field('Code', code),
    h('div', { class: 'row' }, field('Memory (MB)', memory), field('Timeout (s)', timeout)),
    h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError();
    const changes = {};
    if (handler.value.trim() !== '' && handler.value.trim() !== current.handler) changes.handler = handler.value.trim();
    // (a textarea gives CRLF back as LF: code stored with CRLF is not a change)
    if (!code.disabled && code.value !== (current.code || '').replace(/\r\n?/g, '\n')) changes.code = code.value;
    if (memory.value !== '' && Number(memory.value) !== current.memory_mb) changes.memory_mb = Number(memory.value);
    if (timeout.value !== '' && Number(timeout.value) !== current.timeout_s) changes.timeout_s = Number(timeout.value);
    if (Object.keys(changes).length === 0) { showNotice('Nothing changed.'); return; }
    submit.disabled = true;
    try {
      await put(fnPath(name), changes, { signal });
      fill(await reload());
      clearError();
      showNotice(`Saved ${Object.keys(changes).join(', ')}: now version ${current.version}.`);
    } catch (err) {
      reportError(err, signal); // the form keeps the user's edits
    } finally {
      submit.disabled = false;
    }
  });

  return h('section', { class: 'panel', id: 'edit-section' }, h('h3', { text: 'Edit' }), form);
}
