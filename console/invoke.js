// invoke.js: the Invoke section: send a JSON payload, show status, duration, body and
// the call's own log tail (X-Impuls-Log-Type: Tail, docs/api.md "POST …/invoke").

import { call, errorMessage, fnPath, fromFunction } from './api.js';
import { h } from './dom.js';
import { clearError, reportError, showError } from './status.js';
import { decodeBase64Utf8, prettyBody } from './format.js';

// afterInvoke(): called once a call has answered, to refresh what it changed.
export function invokeSection(name, signal, afterInvoke = () => {}) {
  const payload = h('textarea', { id: 'payload', class: 'code', rows: 4, spellcheck: 'false', value: '{}' });
  const button = h('button', { id: 'invoke', type: 'submit', text: 'Invoke' });
  const status = h('span', { id: 'result-status' });
  const duration = h('span', { id: 'result-duration' });
  const body = h('pre', { id: 'result-body' });
  const log = h('pre', { id: 'result-log', class: 'log' });
  // data-state: idle → running → done, so a test (or a screen reader) can tell when it ended.
  const result = h('div', { id: 'result', class: 'result', hidden: true, dataset: { state: 'idle' } },
    h('p', null, 'Status ', h('strong', null, status), ' in ', duration),
    h('h4', { text: 'Response' }), body,
    h('h4', { text: 'Log of this call' }), log);
  const form = h('form', { id: 'invoke-form' },
    h('label', { for: 'payload', text: 'Payload (JSON event)' }), payload,
    h('div', { class: 'actions' }, button));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError();
    const text = payload.value;
    if (text.trim() !== '') { // an empty body is the event {} (docs/api.md)
      try { JSON.parse(text); } catch (err) {
        showError(`The payload is not valid JSON: ${err.message}`);
        return;
      }
    }
    button.disabled = true;
    result.dataset.state = 'running';
    for (const el of [status, duration, body, log]) el.textContent = '';
    try {
      const res = await call('POST', fnPath(name, '/invoke'), {
        body: text, raw: true, signal,
        headers: { 'Content-Type': 'application/json', 'X-Impuls-Log-Type': 'Tail' },
      });
      // A 403 is the token's scope, not the function's answer.
      if (res.status === 403 && !fromFunction(res)) { showError(await errorMessage(res)); result.dataset.state = 'idle'; return; }
      const answer = await res.text();
      status.textContent = String(res.status);
      status.className = res.ok ? 'ok' : 'bad';
      duration.textContent = `${res.headers.get('X-Impuls-Duration-Ms') ?? '?'} ms`;
      body.textContent = prettyBody(answer);
      const tail = res.headers.get('X-Impuls-Log-Result');
      try { log.textContent = tail ? decodeBase64Utf8(tail) : '(no log: the call did not reach the function)'; } catch {
        log.textContent = '(the log tail could not be decoded)';
      }
      result.hidden = false;
      result.dataset.state = 'done';
      afterInvoke();
    } catch (err) {
      result.dataset.state = 'idle';
      reportError(err, signal);
    } finally {
      button.disabled = false;
    }
  });

  return h('section', { class: 'panel', id: 'invoke-section' }, h('h3', { text: 'Invoke' }), form, result);
}
