// logs.js: the Logs section: the last 100 lines, then a long-poll follow
// (docs/api.md "Following"): each answer's X-Impuls-Log-Offset is where the next goes on.

import { call, errorMessage, fnPath } from './api.js';
import { h } from './dom.js';
import { sleep } from './poll.js';

const KEEP = 200 * 1024;  // characters kept on screen; older ones go first
const RETRY_MS = 2000;

export function logsSection(name, signal) {
  const pre = h('pre', { id: 'logs', class: 'log scroll' });
  const state = h('span', { id: 'logs-state', class: 'state', text: 'starting' });
  follow(name, pre, state, signal).catch((err) => { state.textContent = `stopped: ${err.message}`; });
  return h('section', { class: 'panel', id: 'logs-section' },
    h('h3', null, 'Logs ', state), pre);
}

async function follow(name, pre, state, signal) {
  let text = '';
  let offset = null; // null: not started; then the byte offset to follow from
  // One decoder for the whole stream: an answer may end inside a UTF-8 character.
  const decoder = new TextDecoder('utf-8');

  const show = (chunk) => {
    if (chunk === '') return;
    const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
    text += chunk;
    if (text.length > KEEP) {
      const cut = text.length - KEEP;
      const nl = text.indexOf('\n', cut);
      text = text.slice(nl >= 0 && nl - cut < 4096 ? nl + 1 : cut); // whole lines when possible
    }
    pre.textContent = text;
    if (atBottom) pre.scrollTop = pre.scrollHeight; // keep following unless the user scrolled up
  };

  while (!signal.aborted) {
    try {
      const path = offset === null
        ? fnPath(name, '/logs?tail=100')
        : fnPath(name, `/logs?follow=1&offset=${offset}`);
      const res = await call('GET', path, { signal, raw: true });
      if (!res.ok) {
        const message = await errorMessage(res);
        if (res.status < 500) { state.textContent = `stopped: ${message}`; return; }
        throw new Error(message); // 5xx (e.g. draining): try again
      }
      const next = res.headers.get('X-Impuls-Log-Offset');
      if (!/^\d+$/.test(next || '')) { state.textContent = 'stopped: the answer had no X-Impuls-Log-Offset'; return; }
      show(decoder.decode(await res.arrayBuffer(), { stream: true }));
      offset = next; // an empty answer (25 s, nothing new) just asks again from here
      state.textContent = 'following';
    } catch (err) {
      if (signal.aborted) return;
      if (err.status === 401) { state.textContent = 'stopped: an API token is needed'; return; }
      state.textContent = `stopped: ${err.message}; retrying in ${RETRY_MS / 1000} s`;
      try { await sleep(RETRY_MS, signal); } catch { return; }
    }
  }
}
