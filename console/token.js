// token.js: the token prompt (#token-form) and the header's #token-forget button.
// Static files are public; only API calls carry the token (api.js adds it).

import { token, saveToken, forgetToken, onUnauthorized, onTokenChanged } from './api.js';

// What an Authorization header can carry (fetch refuses other bytes).
const PRINTABLE = /^[\x21-\x7e]+$/;

export function setupToken(rerender) {
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const why = document.getElementById('token-why');
  const forget = document.getElementById('token-forget');

  const sync = () => { forget.hidden = !token(); };
  onTokenChanged(sync);
  sync();

  // Any 401: ask. Several requests may fail at once; focus only on the first.
  onUnauthorized((message, hadToken) => {
    why.textContent = hadToken
      ? `The token was refused (${message}). Enter another API token:`
      : `This daemon needs an API token (${message}).`;
    if (form.hidden) {
      form.hidden = false;
      input.focus();
    }
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault(); // form-action 'none': never a native submit
    const value = input.value.trim();
    if (!PRINTABLE.test(value)) {
      why.textContent = 'A token is one word of printable characters (impuls_…).';
      return;
    }
    saveToken(value);
    input.value = '';
    form.hidden = true;
    rerender(); // the page asks again, now with the token
  });

  forget.addEventListener('click', () => {
    forgetToken();
    rerender();
  });
}
