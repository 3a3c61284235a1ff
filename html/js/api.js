// MikroBill API client: fetch wrapper shared by every page.  Plain JS, no
// build step; defines window.MB.
//
// The session is the HttpOnly mb_session cookie; writes carry the CSRF token
// from the script-readable mb_csrf cookie in X-CSRF-Token.  Every failure
// becomes an MB.ApiError whose .message is Indonesian text for the operator
// (the API's own Indonesian "message" when it sent one) and whose .field
// names the form field a validation error belongs to.
'use strict';

window.MB = window.MB || {};

(function (MB) {
  class ApiError extends Error {
    constructor(status, code, message, field, body) {
      super(message);
      this.name = 'ApiError';
      this.status = status;      // HTTP status, 0 when the server was not reached
      this.code = code;          // the API's "error" code, e.g. "validation"
      this.field = field || null;
      this.body = body || null;
    }
  }
  MB.ApiError = ApiError;

  function cookie(name) {
    const m = document.cookie.match(new RegExp('(?:^|; )' + name + '=([^;]*)'));
    return m ? decodeURIComponent(m[1]) : '';
  }
  MB.cookie = cookie;

  // Indonesian text for a status when the API sent no message of its own
  function statusText(status) {
    switch (status) {
      case 0: return 'Tidak dapat menghubungi server. Periksa koneksi jaringan.';
      case 400: return 'Permintaan tidak valid.';
      case 401: return 'Sesi berakhir. Silakan masuk kembali.';
      case 403: return 'Anda tidak memiliki akses untuk tindakan ini.';
      case 404: return 'Data tidak ditemukan.';
      case 409: return 'Data bentrok dengan data lain (sudah ada).';
      case 413: return 'Data yang dikirim terlalu besar.';
      case 422: return 'Data tidak valid.';
      case 429: return 'Terlalu banyak permintaan. Coba lagi sebentar lagi.';
      case 502: case 503: case 504:
        return 'Server sedang sibuk atau tidak tersedia (' + status + '). Coba lagi nanti.';
      default:
        return status >= 500
          ? 'Terjadi kesalahan di server (' + status + ').'
          : 'Permintaan gagal (' + status + ').';
    }
  }
  MB.statusText = statusText;

  // request(method, path, body?) -> parsed JSON (or null for an empty body);
  // throws ApiError.  A 401 on anything but the auth calls sends the page to
  // the login screen (MB.onUnauthorized, set by shell.js).
  async function request(method, path, body, opts) {
    opts = opts || {};
    const headers = { 'Accept': 'application/json' };
    if (method !== 'GET' && method !== 'HEAD') {
      headers['X-CSRF-Token'] = cookie('mb_csrf');
    }
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
    }
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        credentials: 'same-origin',
        cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, 'network', statusText(0));
    }
    let json = null;
    const text = await res.text();
    if (text) {
      try { json = JSON.parse(text); } catch (e) { json = null; }
    }
    if (res.ok) {
      return json;
    }
    if (res.status === 401 && !opts.noRedirect && MB.onUnauthorized) {
      MB.onUnauthorized();
    }
    const msg = (json && typeof json.message === 'string' && json.message)
      || statusText(res.status);
    const err = new ApiError(res.status, json && json.error, msg,
                             json && json.field, json);
    err.retryAfter = res.headers.get('Retry-After');
    throw err;
  }

  MB.api = {
    request,
    get: (path, opts) => request('GET', path, undefined, opts),
    post: (path, body, opts) => request('POST', path, body, opts),
    put: (path, body, opts) => request('PUT', path, body, opts),
    patch: (path, body, opts) => request('PATCH', path, body, opts),
    del: (path, opts) => request('DELETE', path, undefined, opts),
  };

  // query string from an object, leaving out empty values
  MB.query = function (params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
    }
    const s = q.toString();
    return s ? '?' + s : '';
  };

  // ---- small formatting helpers shared by the pages

  // "5 detik lalu", "3 menit lalu", "2 jam lalu", "4 hari lalu"
  MB.ago = function (iso, now) {
    if (!iso) return '—';
    const t = Date.parse(iso);
    if (isNaN(t)) return '—';
    let s = Math.max(0, Math.round(((now || Date.now()) - t) / 1000));
    if (s < 60) return s + ' detik lalu';
    if (s < 3600) return Math.floor(s / 60) + ' menit lalu';
    if (s < 86400) return Math.floor(s / 3600) + ' jam lalu';
    return Math.floor(s / 86400) + ' hari lalu';
  };

  // local wall-clock time, 14:30:45 (with the date when not today)
  MB.clock = function (iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (isNaN(d.getTime())) return '—';
    const pad = (n) => String(n).padStart(2, '0');
    const time = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    const today = new Date();
    if (d.toDateString() === today.toDateString()) return time;
    return pad(d.getDate()) + '/' + pad(d.getMonth() + 1) + '/' + d.getFullYear() + ' ' + time;
  };

  // "Setiap 2 menit" from interval_seconds
  MB.every = function (seconds) {
    if (!seconds) return '—';
    if (seconds % 3600 === 0) return 'Setiap ' + seconds / 3600 + ' jam';
    if (seconds % 60 === 0) return 'Setiap ' + seconds / 60 + ' menit';
    return 'Setiap ' + seconds + ' detik';
  };

  // element builder: el('td', {class: 'x', text: 'y'}, child...)
  MB.el = function (tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else if (k === 'dataset') Object.assign(e.dataset, v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  };

  // the connection-status badge: green ONLINE with a blinking dot, red
  // OFFLINE, grey UNKNOWN
  MB.statusBadge = function (connStatus) {
    const s = connStatus === 'online' || connStatus === 'offline' ? connStatus : 'unknown';
    const label = s.toUpperCase();
    const cls = { online: 'text-bg-success', offline: 'text-bg-danger',
                  unknown: 'text-bg-secondary' }[s];
    const badge = MB.el('span', { class: 'badge status-badge status-' + s + ' ' + cls,
                                  dataset: { status: s } });
    if (s === 'online') {
      badge.append(MB.el('span', { class: 'status-dot blink', 'aria-hidden': 'true' }));
    }
    badge.append(label);
    return badge;
  };

  // roles that may write routers, customers and start a sync (docs/api.md)
  MB.canWrite = function (user) {
    return !!user && (user.role === 'SUPERADMIN' || user.role === 'ADMIN');
  };

  MB.statusColor = { online: '#198754', offline: '#dc3545', unknown: '#6c757d' };
})(window.MB);
