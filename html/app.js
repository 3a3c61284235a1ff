// MikroBill login page.  Plain JS, no build step.  Once signed in it goes
// on to ?next= (a path of this site) or to Pelanggan; the pages themselves
// share html/js/api.js and html/js/shell.js.
//
// The session lives in the HttpOnly mb_session cookie set by
// POST /api/auth/login; nothing sensitive is kept in localStorage.  Writes
// carry the CSRF token from the (script-readable) mb_csrf cookie in the
// X-CSRF-Token header.
'use strict';

const $ = (id) => document.getElementById(id);

function cookie(name) {
  const m = document.cookie.match(new RegExp('(?:^|; )' + name + '=([^;]*)'));
  return m ? decodeURIComponent(m[1]) : '';
}

async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (method !== 'GET') {
    headers['X-CSRF-Token'] = cookie('mb_csrf');
  }
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let json = null;
  try { json = await res.json(); } catch (e) { /* empty or not JSON */ }
  return { status: res.status, json, res };
}

// where to go after login: ?next= when it is a path on this site
function nextPage() {
  const next = new URLSearchParams(location.search).get('next') || '';
  return /^\/(?!\/)[^\\]*$/.test(next) && !next.startsWith('/index.html')
    ? next : '/pelanggan.html';
}

function show(view) {
  $('login-view').classList.toggle('d-none', view !== 'login');
}

function loginError(text) {
  const el = $('login-error');
  el.textContent = text;
  el.classList.toggle('d-none', !text);
}

function loginFailureText(r) {
  if (r.status === 401) {
    return 'Username atau password salah';
  }
  if (r.status === 429) {
    const wait = r.res.headers.get('Retry-After');
    return 'Terlalu banyak percobaan login gagal. Akun dikunci sementara'
      + (wait ? ', coba lagi dalam ' + wait + ' detik.' : ', coba lagi nanti.');
  }
  if (r.status === 400 || r.status === 422) {
    return 'Username dan password wajib diisi';
  }
  return 'Server sedang bermasalah (' + r.status + '). Coba lagi nanti.';
}

async function onLogin(ev) {
  ev.preventDefault();
  loginError('');
  const button = $('login-button');
  button.disabled = true;
  try {
    const r = await api('POST', '/api/auth/login', {
      username: $('username').value.trim(),
      password: $('password').value,
    });
    $('password').value = '';
    if (r.status === 200) {
      await showApp();
    } else {
      loginError(loginFailureText(r));
    }
  } catch (e) {
    loginError('Tidak dapat menghubungi server');
  } finally {
    button.disabled = false;
  }
}

async function showApp() {
  const r = await api('GET', '/api/me');
  if (r.status !== 200 || !r.json || !r.json.user) {
    show('login');
    $('username').focus();
    return;
  }
  location.replace(nextPage());
}

$('login-form').addEventListener('submit', onLogin);
showApp().catch(() => show('login'));
