// create.js: #/new, the form that creates a function (POST /api/v1/functions).

import { get, post } from './api.js';
import { h } from './dom.js';
import { clearError, flash, reportError } from './status.js';
import { exampleFor } from './examples.js';

// What the user typed, kept across a re-render (a token prompt re-renders the page),
// and dropped once the function is created.
let draft = null;

function field(label, control, help) {
  return h('div', { class: 'field' },
    h('label', { for: control.id, text: label }), control,
    help ? h('small', { class: 'help', text: help }) : null);
}

export function createPage(root) {
  const ctl = new AbortController();
  const { signal } = ctl;

  const name = h('input', { id: 'f-name', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'hello-world' });
  const runtime = h('select', { id: 'f-runtime' }, h('option', { value: '', text: 'loading runtimes…' }));
  const handler = h('input', { id: 'f-handler', type: 'text', value: 'index.handler', autocomplete: 'off', spellcheck: 'false' });
  const code = h('textarea', { id: 'f-code', class: 'code', rows: 12, spellcheck: 'false', autocomplete: 'off' });
  const memory = h('input', { id: 'f-memory', type: 'number', min: 64, max: 10240, step: 1, placeholder: '128' });
  const timeout = h('input', { id: 'f-timeout', type: 'number', min: 1, max: 900, step: 1, placeholder: '30' });
  const hint = h('p', { id: 'f-hint', class: 'help', hidden: true });
  const submit = h('button', { id: 'f-submit', type: 'submit', text: 'Create function' });

  const form = h('form', { id: 'create-form', class: 'panel', novalidate: true },
    field('Name', name, 'Letters, digits, - and _; up to 64 characters.'),
    field('Runtime', runtime),
    field('Handler', handler, 'module.function: index.handler runs the code below as index.js / index.py.'),
    field('Code', code),
    hint,
    h('div', { class: 'row' },
      field('Memory (MB)', memory, 'optional, 64–10240'),
      field('Timeout (s)', timeout, 'optional, 1–900')),
    h('div', { class: 'actions' }, submit));
  root.append(h('h2', { text: 'New function' }), form);

  // The languages of the runtimes, to pick the example that fits.
  const languageOf = new Map();
  let example = exampleFor('nodejs');
  code.value = example.code;

  // A new runtime brings its example, but only over what the user has not edited.
  function applyExample() {
    const next = exampleFor(languageOf.get(runtime.value));
    if (handler.value === example.handler || handler.value === '') handler.value = next.handler;
    if (code.value === example.code || code.value === '') code.value = next.code;
    hint.textContent = next.hint || '';
    hint.hidden = !next.hint;
    example = next;
  }

  const save = () => {
    draft = { name: name.value, runtime: runtime.value, handler: handler.value, code: code.value, memory: memory.value, timeout: timeout.value };
  };
  form.addEventListener('input', save);
  runtime.addEventListener('change', () => { applyExample(); save(); });

  get('/api/v1/runtimes', { signal }).then((answer) => {
    const list = answer.runtimes || [];
    runtime.replaceChildren(...list.map((r) => {
      languageOf.set(r.name, r.language);
      return h('option', { value: r.name, disabled: !r.available, text: r.available ? `${r.name} (${r.language})` : `${r.name} (not installed)` });
    }));
    const first = list.find((r) => r.available);
    if (first) runtime.value = first.name;
    applyExample();
    if (draft) {
      name.value = draft.name;
      if (languageOf.has(draft.runtime)) runtime.value = draft.runtime;
      applyExample();
      handler.value = draft.handler;
      code.value = draft.code;
      memory.value = draft.memory;
      timeout.value = draft.timeout;
    }
  }).catch((err) => reportError(err, signal));

  form.addEventListener('submit', async (event) => {
    event.preventDefault(); // form-action 'none': the request is ours
    clearError();
    // docs/api.md "Request fields": optional ones are left out so the daemon's defaults apply.
    const body = { name: name.value.trim(), runtime: runtime.value, code: code.value };
    if (handler.value.trim() !== '') body.handler = handler.value.trim();
    if (memory.value !== '') body.memory_mb = Number(memory.value);
    if (timeout.value !== '') body.timeout_s = Number(timeout.value);
    submit.disabled = true;
    try {
      const fn = await post('/api/v1/functions', body, { signal });
      draft = null;
      flash(`Created ${fn.name}.`);
      location.hash = `#/fn/${encodeURIComponent(fn.name)}`;
    } catch (err) {
      reportError(err, signal); // the form keeps what was typed
    } finally {
      submit.disabled = false;
    }
  });

  return () => ctl.abort();
}
