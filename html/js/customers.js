// Pelanggan: the customers table with paging, search, filters and sorting,
// live ONLINE/OFFLINE badges.  After each sync (MB.watchSync) the visible
// page is reloaded in place, without a page reload.  Filters, sort and page
// live in the address bar (?q=&conn_status=&...&offset=) so a reload or a
// shared link shows the same rows.
'use strict';

(function (MB) {
  const el = MB.el;
  const $ = (id) => document.getElementById(id);

  const SERVICE = { pppoe: 'PPPoE', hotspot: 'Hotspot', static_ip: 'IP Statis' };
  const ACCOUNT = {
    active: ['Aktif', 'text-bg-light border'],
    suspended: ['Ditangguhkan', 'text-bg-warning'],
    inactive: ['Nonaktif', 'text-bg-secondary'],
  };
  const FILTERS = ['q', 'conn_status', 'service_type', 'router_id', 'status'];

  const state = {
    q: '', conn_status: '', service_type: '', router_id: '', status: '',
    sort: 'name', order: 'asc', limit: 50, offset: 0,
  };
  let total = 0;
  let loading = null;       // the request in flight; a newer one wins
  let rows = [];            // the page shown (for the last-seen ages)

  function readUrl() {
    const p = new URLSearchParams(location.search);
    for (const k of FILTERS) state[k] = p.get(k) || '';
    if (p.get('sort')) state.sort = p.get('sort');
    if (p.get('order') === 'desc') state.order = 'desc';
    const limit = parseInt(p.get('limit'), 10);
    if ([25, 50, 100].includes(limit)) state.limit = limit;
    state.offset = Math.max(0, parseInt(p.get('offset'), 10) || 0);
  }

  function writeUrl() {
    const q = MB.query({
      q: state.q, conn_status: state.conn_status, service_type: state.service_type,
      router_id: state.router_id, status: state.status,
      sort: state.sort === 'name' ? '' : state.sort,
      order: state.order === 'asc' ? '' : state.order,
      limit: state.limit === 50 ? '' : state.limit,
      offset: state.offset || '',
    });
    history.replaceState(null, '', location.pathname + q);
  }

  function syncControls() {
    $('q').value = state.q;
    $('f-conn').value = state.conn_status;
    $('f-service').value = state.service_type;
    $('f-router').value = state.router_id;
    $('f-status').value = state.status;
    $('page-size').value = String(state.limit);
    for (const b of document.querySelectorAll('button.sort')) {
      const on = b.dataset.sort === state.sort;
      b.classList.toggle('fw-bold', on);
      b.dataset.order = on ? state.order : '';
    }
  }

  function target(c) {
    if (c.service_type === 'static_ip') return c.static_ip || '—';
    return c.pppoe_username || el('span', { class: 'text-muted fst-italic', text: 'tanpa PPPoE' });
  }

  function lastSeen(c) {
    if (c.conn_status === 'online') {
      return el('span', { class: 'small', title: c.uptime ? 'uptime ' + c.uptime : null },
                'sekarang', c.uptime ? ' · ' + c.uptime : '');
    }
    return el('span', { class: 'small last-seen', dataset: { at: c.last_seen_at || '' },
                        title: c.last_seen_at ? MB.clock(c.last_seen_at) : null,
                        text: c.last_seen_at ? MB.ago(c.last_seen_at) : 'belum pernah' });
  }

  function row(c) {
    const acct = ACCOUNT[c.status] || [c.status || '—', 'text-bg-light border'];
    return el('tr', { dataset: { id: c.id, pppoe: (c.pppoe_username || '').toLowerCase() },
                      class: 'customer-row' },
      el('td', {}, el('a', { href: '/pelanggan-form.html?id=' + encodeURIComponent(c.id),
                             class: 'customer-name', text: c.name }),
         el('div', { class: 'small text-muted', text: c.username })),
      el('td', { class: 'font-monospace small' }, target(c)),
      // service, profile and session address only where the screen is
      // wide enough for all eleven columns (Bootstrap xxl, 1400 px): the
      // actions must stay in view on a 1280 px laptop
      el('td', { class: 'small d-none d-xxl-table-cell',
                 text: SERVICE[c.service_type] || c.service_type }),
      el('td', { class: 'small', text: c.router_name || '—' }),
      el('td', { class: 'small d-none d-xxl-table-cell', text: c.profile || '—' }),
      el('td', { class: 'status-cell' }, MB.statusBadge(c.conn_status)),
      el('td', {}, lastSeen(c)),
      el('td', { class: 'font-monospace small d-none d-xxl-table-cell',
                 text: c.session_address || '—' }),
      el('td', { class: 'small' }, c.phone
        ? el('a', { href: 'https://wa.me/' + c.phone, target: '_blank', rel: 'noopener',
                    text: '+' + c.phone })
        : '—'),
      el('td', {}, el('span', { class: 'badge ' + acct[1], text: acct[0] })),
      el('td', { class: 'text-end text-nowrap' },
        // the traffic monitor (monitor.html starts it): PPPoE customers only
        c.service_type === 'pppoe' && c.pppoe_username && MB.canMonitor(MB.me)
          ? el('a', { class: 'btn btn-outline-primary btn-sm me-1 monitor-link',
                      href: '/monitor.html?customer=' + encodeURIComponent(c.id),
                      title: 'Monitor trafik ' + c.name, text: 'Monitor' })
          : null,
        el('a', { class: 'btn btn-outline-secondary btn-sm',
                  href: '/pelanggan-form.html?id=' + encodeURIComponent(c.id), text: 'Ubah' })));
  }

  function render() {
    const body = $('customers-body');
    if (!rows.length) {
      const filtered = FILTERS.some((k) => state[k]);
      body.replaceChildren(el('tr', {}, el('td', {
        colspan: 11, class: 'text-center text-muted py-4',
        text: filtered ? 'Tidak ada pelanggan yang cocok dengan filter.'
                       : 'Belum ada pelanggan. Klik "+ Tambah Pelanggan".' })));
    } else {
      body.replaceChildren(...rows.map(row));
    }
    const from = total ? state.offset + 1 : 0;
    const to = Math.min(state.offset + rows.length, total);
    $('page-info').textContent = 'Menampilkan ' + from + '–' + to + ' dari ' + total + ' pelanggan';
    $('prev-page').disabled = state.offset === 0;
    $('next-page').disabled = state.offset + state.limit >= total;
  }

  async function load() {
    const url = '/api/customers' + MB.query({
      limit: state.limit, offset: state.offset, q: state.q,
      conn_status: state.conn_status, service_type: state.service_type,
      router_id: state.router_id, status: state.status,
      sort: state.sort, order: state.order,
    });
    const mine = loading = MB.api.get(url);
    let r;
    try {
      r = await mine;
    } catch (e) {
      if (mine === loading) MB.notice('Gagal memuat pelanggan: ' + e.message);
      return;
    }
    if (mine !== loading) return;        // a newer request replaced this one
    MB.notice('');
    rows = r.data || [];
    total = r.total || 0;
    // past the end (rows deleted, filter narrowed): back to the last page
    if (!rows.length && total && state.offset >= total) {
      state.offset = Math.max(0, Math.floor((total - 1) / state.limit) * state.limit);
      writeUrl();
      return load();
    }
    render();
    document.body.dataset.loadedAt = String(Date.now());
  }

  function changed() {
    state.offset = 0;
    writeUrl();
    load();
  }

  async function loadRouters() {
    try {
      const r = await MB.api.get('/api/routers');
      const sel = $('f-router');
      for (const rt of r.data || r || []) {
        sel.append(el('option', { value: rt.id, text: rt.name }));
      }
      sel.value = state.router_id;
    } catch (e) { /* the filter just stays "Semua" */ }
  }

  function summary(s) {
    const t = s.totals || {};
    $('sync-summary').textContent = (t.customers_online || 0) + ' online dari '
      + (t.customers || 0) + ' pelanggan · ' + (t.active_connections || 0)
      + ' sesi aktif · sinkron terakhir ' + MB.clock(t.last_sync_at);
  }

  function bind(watch) {
    let typing = null;
    $('q').addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(() => { state.q = $('q').value.trim(); changed(); }, 300);
    });
    $('filters').addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearTimeout(typing);
      state.q = $('q').value.trim();
      changed();
    });
    const selects = { 'f-conn': 'conn_status', 'f-service': 'service_type',
                      'f-router': 'router_id', 'f-status': 'status' };
    for (const [id, key] of Object.entries(selects)) {
      $(id).addEventListener('change', () => { state[key] = $(id).value; changed(); });
    }
    $('page-size').addEventListener('change', () => {
      state.limit = parseInt($('page-size').value, 10) || 50;
      changed();
    });
    $('prev-page').addEventListener('click', () => {
      state.offset = Math.max(0, state.offset - state.limit);
      writeUrl(); load();
    });
    $('next-page').addEventListener('click', () => {
      if (state.offset + state.limit < total) state.offset += state.limit;
      writeUrl(); load();
    });
    for (const b of document.querySelectorAll('button.sort')) {
      b.addEventListener('click', () => {
        if (state.sort === b.dataset.sort) {
          state.order = state.order === 'asc' ? 'desc' : 'asc';
        } else {
          state.sort = b.dataset.sort;
          state.order = b.dataset.sort === 'last_seen_at' ? 'desc' : 'asc';
        }
        syncControls();
        changed();
      });
    }
    $('sync-now').addEventListener('click', async () => {
      const b = $('sync-now');
      b.disabled = true;
      try {
        await MB.api.post('/api/sync');
        MB.notice('Sinkronisasi dimulai. Tabel diperbarui otomatis setelah selesai.', 'info');
        setTimeout(() => watch.now(), 700);
      } catch (e) {
        MB.notice('Sync gagal: ' + e.message);
      } finally {
        setTimeout(() => { b.disabled = false; }, 1500);
      }
    });
    // the ages of "last seen" move on between syncs
    setInterval(() => {
      for (const s of document.querySelectorAll('.last-seen[data-at]')) {
        if (s.dataset.at) s.textContent = MB.ago(s.dataset.at);
      }
    }, 30000);
  }

  MB.ready.then((user) => {
    if (!MB.canWrite(user)) {
      $('sync-now').classList.add('d-none');
      $('add-customer').classList.add('d-none');
    }
    readUrl();
    syncControls();
    const watch = MB.watchSync({
      onStatus(s) { summary(s); MB.unreachableBanner(s); },
      onSync() { return load(); },
    });
    bind(watch);
    loadRouters();
    load();
  }, () => {});
})(window.MB);
