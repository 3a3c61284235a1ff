// Pengaturan: the MikroTik routers.  A list on the left, the form of the
// selected router ("Simpan Konfigurasi", "Test Koneksi", "Sync Sekarang"),
// and the panel "Status Koneksi / Identity / Versi RouterOS / Auto-sync /
// Last Sync" from GET /api/sync/status (polled every 5 s); the identity and
// version come from the router, so they only ever go in as text.  The
// password is write-only: the API says has_password, the field stays empty
// with the placeholder "(tersimpan)", and an empty field on save keeps the
// stored password.
'use strict';

(function (MB) {
  const el = MB.el;
  const $ = (id) => document.getElementById(id);

  let routers = [];
  let current = null;        // the router shown in the form (null: a new one)
  let lastStatus = null;
  let dirty = false;
  let watch = null;

  const FIELD_IDS = {
    name: 'r-name', host: 'r-host', port: 'r-port', username: 'r-username',
    password: 'r-password', tls: 'r-tls', tls_verify: 'r-tls-verify',
    tls_ca_file: 'r-tls-ca', tls_allow_anon_dh: 'r-tls-anon', enabled: 'r-enabled',
  };

  function clearErrors() {
    for (const id of Object.values(FIELD_IDS)) $(id).classList.remove('is-invalid');
    for (const f of document.querySelectorAll('#router-form .invalid-feedback')) f.textContent = '';
    MB.notice('', null, 'form-alert');
  }

  function showError(e) {
    const id = e.field && FIELD_IDS[e.field];
    if (id) {
      $(id).classList.add('is-invalid');
      const fb = document.querySelector('#router-form .invalid-feedback[data-for="' + e.field + '"]');
      if (fb) fb.textContent = e.message;
      $(id).focus();
    }
    MB.notice(e.message, 'danger', 'form-alert');
  }

  function tlsOptions() {
    $('tls-options').classList.toggle('d-none', !$('r-tls').checked);
    $('r-port').placeholder = $('r-tls').checked ? '8729' : '8728';
  }

  function fill(r) {
    current = r;
    clearErrors();
    $('test-result').replaceChildren();
    $('router-form-title').textContent = r ? 'Konfigurasi MikroTik: ' + r.name
                                           : 'Router MikroTik baru';
    $('r-name').value = r ? r.name : '';
    $('r-host').value = r ? r.host : '';
    $('r-port').value = r && r.port ? r.port : '';
    $('r-username').value = r ? r.username : '';
    $('r-password').value = '';
    $('r-password').placeholder = r && r.has_password ? '(tersimpan)' : '';
    $('r-password-help').classList.toggle('d-none', !(r && r.has_password));
    $('r-tls').checked = !!(r && r.tls);
    $('r-tls-verify').checked = !!(r && r.tls_verify);
    $('r-tls-ca').value = r && r.tls_ca_file ? r.tls_ca_file : '';
    $('r-tls-anon').checked = !!(r && r.tls_allow_anon_dh);
    $('r-enabled').checked = r ? r.enabled !== false : true;
    $('router-delete').classList.toggle('d-none', !r || !MB.canWrite(MB.me));
    $('sync-now').disabled = !r;
    tlsOptions();
    dirty = false;
    renderList();
    renderStatus();
    const u = new URL(location.href);
    if (r) u.searchParams.set('router', r.id); else u.searchParams.delete('router');
    history.replaceState(null, '', u.pathname + u.search);
  }

  function renderList() {
    const list = $('router-list');
    if (!routers.length) {
      list.replaceChildren(el('div', { class: 'list-group-item text-muted small',
                                       text: 'Belum ada router. Isi formulir untuk menambah.' }));
      return;
    }
    list.replaceChildren(...routers.map((r) => {
      const st = lastStatus && (lastStatus.routers || []).find((x) => x.router_id === r.id);
      const dot = !r.enabled ? ['text-bg-secondary', 'Nonaktif']
        : st && st.connected ? ['text-bg-success', 'Terhubung'] : ['text-bg-danger', 'Terputus'];
      return el('button', {
        type: 'button', dataset: { id: r.id },
        class: 'list-group-item list-group-item-action d-flex align-items-center router-item'
               + (current && current.id === r.id ? ' active' : ''),
        onclick: () => { if (!dirty || confirm('Buang perubahan yang belum disimpan?')) fill(r); },
      },
      el('span', { class: 'me-auto' }, el('div', { class: 'fw-semibold', text: r.name }),
         el('div', { class: 'small opacity-75', text: r.host + ':' + (r.port || '') + (r.tls ? ' (TLS)' : '') })),
      el('span', { class: 'badge ' + dot[0], text: dot[1] }));
    }));
  }

  function renderStatus() {
    const st = current && lastStatus
      && (lastStatus.routers || []).find((x) => x.router_id === current.id);
    const conn = $('status-connection');
    if (!current) {
      conn.replaceChildren('—');
      for (const id of ['status-identity', 'status-version', 'status-interval', 'status-last-sync',
                        'status-active', 'status-online', 'status-error']) $(id).textContent = '—';
      return;
    }
    if (!st) {
      conn.replaceChildren(el('span', { class: 'text-muted', text: 'Belum ada data' }));
    } else if (st.connected) {
      conn.replaceChildren(el('span', { class: 'text-success fw-semibold', text: '✓ Terhubung' }));
    } else {
      conn.replaceChildren(el('span', { class: 'text-danger fw-semibold',
                                        text: current.enabled === false ? '✗ Nonaktif' : '✗ Terputus' }));
    }
    // known after the worker's first login to the router; kept while it is down
    $('status-identity').textContent = st && st.identity ? st.identity : '—';
    $('status-version').textContent = st && st.version ? st.version : '—';
    $('status-interval').textContent = st ? MB.every(st.interval_seconds) : '—';
    $('status-last-sync').textContent = st && st.last_sync_at
      ? MB.clock(st.last_sync_at) + ' (' + MB.ago(st.last_sync_at) + ')' : 'Belum pernah';
    $('status-active').textContent = st ? String(st.active_connections ?? 0) : '—';
    $('status-online').textContent = st ? String(st.customers_online ?? 0) : '—';
    $('status-error').textContent = st && st.last_error ? st.last_error : '—';
  }

  function formBody() {
    const port = $('r-port').value.trim();
    const body = {
      name: $('r-name').value.trim(),
      host: $('r-host').value.trim(),
      port: port === '' ? null : Number(port),
      username: $('r-username').value.trim(),
      tls: $('r-tls').checked,
      tls_verify: $('r-tls').checked && $('r-tls-verify').checked,
      tls_ca_file: $('r-tls').checked && $('r-tls-ca').value.trim() ? $('r-tls-ca').value.trim() : null,
      tls_allow_anon_dh: $('r-tls').checked && $('r-tls-anon').checked,
      enabled: $('r-enabled').checked,
    };
    // write-only: empty keeps the stored password, so it is not sent at all
    if ($('r-password').value !== '') body.password = $('r-password').value;
    return body;
  }

  function localCheck(b) {
    if (!b.name) return { field: 'name', message: 'Nama router wajib diisi' };
    if (!b.host) return { field: 'host', message: 'Host wajib diisi' };
    if (b.port !== null && !(Number.isInteger(b.port) && b.port >= 1 && b.port <= 65535)) {
      return { field: 'port', message: 'Port harus angka 1-65535' };
    }
    if (!b.username) return { field: 'username', message: 'Username wajib diisi' };
    if (!current && !b.password) return { field: 'password', message: 'Password wajib diisi untuk router baru' };
    return null;
  }

  async function save(ev) {
    ev.preventDefault();
    clearErrors();
    const body = formBody();
    const bad = localCheck(body);
    if (bad) { showError(bad); return; }
    const btn = $('save-config');
    btn.disabled = true;
    try {
      const r = current
        ? await MB.api.put('/api/routers/' + encodeURIComponent(current.id), body)
        : await MB.api.post('/api/routers', body);
      const saved = (r && (r.data || r.router || r)) || {};
      await loadRouters(saved.id || (current && current.id));
      MB.notice('Konfigurasi tersimpan.', 'success', 'form-alert');
    } catch (e) {
      showError(e);
    } finally {
      btn.disabled = false;
    }
  }

  // Test Koneksi: the saved router as it is, or (a new router, or unsaved
  // changes) the form's values through POST /api/routers/test, where an
  // empty password means the stored one
  async function testConnection() {
    const box = $('test-result');
    const btn = $('test-connection');
    const useForm = !current || dirty;
    let body;
    if (useForm) {
      const f = formBody();
      if (!f.host) { showError({ field: 'host', message: 'Host wajib diisi' }); return; }
      body = { host: f.host, port: f.port, username: f.username, password: f.password || '',
               tls: f.tls, tls_ca_file: f.tls_ca_file, tls_allow_anon_dh: f.tls_allow_anon_dh };
      if (f.port === null) delete body.port;
      if (current) body.router_id = current.id;
    }
    btn.disabled = true;
    clearErrors();
    box.replaceChildren(el('div', { class: 'alert alert-secondary py-2', id: 'test-running' },
      el('span', { class: 'spinner-border spinner-border-sm me-2', 'aria-hidden': 'true' }),
      'Menguji koneksi ke ' + (useForm ? body.host : current.host) + '…'
      + (useForm && current ? ' (nilai formulir, belum disimpan)' : '')));
    try {
      const r = useForm
        ? await MB.api.post('/api/routers/test', body)
        : await MB.api.post('/api/routers/' + encodeURIComponent(current.id) + '/test');
      if (r && r.ok) {
        box.replaceChildren(el('div', { class: 'alert alert-success', id: 'test-ok', role: 'status' },
          el('div', { class: 'fw-semibold', text: '✓ Koneksi berhasil' }),
          el('dl', { class: 'row mb-0 small mt-2' },
            el('dt', { class: 'col-4', text: 'Identity' }), el('dd', { class: 'col-8 mb-0', text: r.identity || '—' }),
            el('dt', { class: 'col-4', text: 'Versi RouterOS' }), el('dd', { class: 'col-8 mb-0', text: r.version || '—' }),
            el('dt', { class: 'col-4', text: 'Board' }), el('dd', { class: 'col-8 mb-0', text: r.board || '—' }),
            el('dt', { class: 'col-4', text: 'Uptime' }), el('dd', { class: 'col-8 mb-0', text: r.uptime || '—' }),
            el('dt', { class: 'col-4', text: 'Round-trip' }),
            el('dd', { class: 'col-8 mb-0', text: r.rtt_ms !== undefined ? r.rtt_ms + ' ms' : '—' }))));
      } else {
        testFailed((r && r.message) || 'Koneksi gagal', r && r.error);
      }
    } catch (e) {
      if (e.field && FIELD_IDS[e.field]) showError(e);
      testFailed(e.status === 504
        ? 'Worker tidak menjawab dalam batas waktu. Pastikan mikrobill-worker berjalan.'
        : e.message, e.code);
    } finally {
      btn.disabled = false;
    }
  }

  function testFailed(message, code) {
    $('test-result').replaceChildren(el('div', { class: 'alert alert-danger', id: 'test-error', role: 'alert' },
      el('div', { class: 'fw-semibold', text: '✗ Koneksi gagal' }),
      el('div', { class: 'test-error-message', text: message }),
      code ? el('div', { class: 'small text-muted font-monospace', text: code }) : null));
  }

  async function syncNow() {
    if (!current) return;
    const btn = $('sync-now');
    btn.disabled = true;
    try {
      await MB.api.post('/api/sync' + MB.query({ router_id: current.id }));
      MB.notice('Sinkronisasi dimulai…', 'info', 'form-alert');
      setTimeout(() => watch && watch.now(), 700);
    } catch (e) {
      MB.notice('Sync gagal: ' + e.message, 'danger', 'form-alert');
    } finally {
      setTimeout(() => { btn.disabled = false; }, 1500);
    }
  }

  async function remove() {
    if (!current) return;
    if (!confirm('Hapus router "' + current.name + '"? Pelanggannya tetap ada tanpa router.')) return;
    try {
      await MB.api.del('/api/routers/' + encodeURIComponent(current.id));
      await loadRouters();
      MB.notice('Router dihapus.', 'success', 'form-alert');
    } catch (e) {
      MB.notice(e.message, 'danger', 'form-alert');
    }
  }

  async function loadRouters(selectId) {
    const r = await MB.api.get('/api/routers');
    routers = (r && (r.data || r)) || [];
    if (!Array.isArray(routers)) routers = [];
    const pick = routers.find((x) => x.id === selectId) || (selectId === null ? null : routers[0]) || null;
    fill(pick);
  }

  MB.ready.then(async (user) => {
    if (!MB.canWrite(user)) {
      for (const id of ['save-config', 'sync-now', 'router-delete', 'router-new']) {
        $(id).classList.add('d-none');
      }
      for (const f of document.querySelectorAll('#router-form input')) f.disabled = true;
      MB.notice('Hanya SUPERADMIN dan ADMIN yang dapat mengubah konfigurasi router.', 'info', 'form-alert');
    }
    $('router-form').addEventListener('submit', save);
    $('router-form').addEventListener('input', () => { dirty = true; });
    $('r-tls').addEventListener('change', tlsOptions);
    $('test-connection').addEventListener('click', testConnection);
    $('sync-now').addEventListener('click', syncNow);
    $('router-delete').addEventListener('click', remove);
    $('router-new').addEventListener('click', () => fill(null));
    try {
      await loadRouters(new URLSearchParams(location.search).get('router') || undefined);
    } catch (e) {
      MB.notice('Gagal memuat router: ' + e.message);
    }
    watch = MB.watchSync({
      onStatus(s) { lastStatus = s; renderList(); renderStatus(); MB.unreachableBanner(s); },
      onSync(s) { lastStatus = s; renderStatus(); },
    });
  }, () => {});
})(window.MB);
