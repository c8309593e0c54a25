import { call, token, ApiError } from './api.js';
import { clear, message } from './dom.js';
import { views } from './views.js';

const form = document.getElementById('login-form');
const input = document.getElementById('token');
const loginMessage = document.getElementById('login-message');
const nav = document.getElementById('nav');
const view = document.getElementById('view');
let stop = () => {};

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  token.set(input.value);
  await enter();
});
document.getElementById('logout').addEventListener('click', () => logout(''));
nav.querySelectorAll('button[data-view]').forEach(b => b.addEventListener('click', () => show(b.dataset.view)));

/** Checks the token with a cheap call before showing anything. */
async function enter() {
  try {
    await call('status');
  } catch (e) {
    logout(e.message);
    return;
  }
  input.value = '';
  form.hidden = true;
  nav.hidden = false;
  message(loginMessage, '', 'error');
  show(location.hash.slice(1) in views ? location.hash.slice(1) : 'keys');
}

function logout(reason) {
  token.clear();
  stop();
  clear(view);
  nav.hidden = true;
  form.hidden = false;
  message(loginMessage, reason, 'error');
  input.focus();
  input.select();
}

/** An API failure in a view: a rejected token sends back to the login form, the rest is shown in place. */
function fail(error, where) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403) && /admin token/i.test(error.message)) {
    logout(error.message);
  } else {
    message(where, error.message, 'error');
  }
}

function show(name) {
  stop();
  clear(view);
  history.replaceState(null, '', '#' + name);
  nav.querySelectorAll('button[data-view]').forEach(b => b.dataset.view === name ? b.setAttribute('aria-current', 'page') : b.removeAttribute('aria-current'));
  stop = views[name](view, fail);
}

if (token.get()) enter(); else input.focus();
