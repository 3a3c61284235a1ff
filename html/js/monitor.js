// Monitor Trafik: live download/upload speed of chosen PPPoE customers
// (docs/monitor.md).  The REST API starts and stops a monitor
// (POST /api/monitor/start|stop?customer_id=), GET /api/monitor/status gives
// the running ones and the slots; the samples and the monitor events come
// over the WebSocket (MB.live, js/live.js), one subscription per card.
//
// monitor.html?customer=<id> (the "Monitor" button of the Pelanggan table)
// starts that customer's monitor.  Monitors already running are shown on
// load.  Each card: a Chart.js line chart of the last 60 s (Mbps), the
// current speeds as text, messages (offline, idle, router interrupted /
// resumed) and Stop.
//
// For tests and the console: MB.monitor.cards (Map customer id -> card),
// each card's .chart is its Chart.
'use strict';

(function (MB) {
  const el = MB.el;
  const $ = (id) => document.getElementById(id);

  const WINDOW_MS = 60000;           // the chart shows the last 60 s
  const STATUS_EVERY_MS = 10000;     // slots and the list of running monitors
  const COLORS = { download: '#0d6efd', upload: '#198754' };
  const LOG_LINES = 6;

  const cards = new Map();           // customer id -> card
  let status = null;                 // the last GET /api/monitor/status
  let statusSeq = 0;

  MB.monitor = { cards, refreshStatus: () => refreshStatus() };

  // ------------------------------------------------------------ helpers

  // bits per second as the server formats them (docs/monitor.md)
  function speed(bps) {
    const n = Number(bps) || 0;
    return n >= 1e6 ? (n / 1e6).toFixed(2) + ' Mbps' : (n / 1e3).toFixed(2) + ' Kbps';
  }

  function clock(ms) {
    const d = new Date(ms);
    const pad = (n) => String(n).padStart(2, '0');
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  function slotText() {
    if (!status) return 'Slot terpakai: – / –';
    return 'Slot terpakai: ' + (status.monitor_count || 0) + ' / ' + (status.max_concurrent || 0);
  }

  // the REST errors in the operator's words
  async function errorText(e) {
    switch (e.status) {
      case 400: return 'ID pelanggan tidak valid.';
      case 403: return 'Anda tidak memiliki akses untuk memonitor pelanggan.';
      case 404: return 'Pelanggan tidak ditemukan atau akunnya tidak aktif.';
      case 409: return 'Pelanggan sedang offline.';
      case 422:
        if (e.code === 'no_router') return 'Pelanggan belum terhubung ke router mana pun.';
        return 'Pelanggan tidak memiliki username PPPoE (nama interface tidak diketahui).';
      case 429: {
        await refreshStatus();
        return status
          ? 'Slot monitor penuh (' + (status.monitor_count || 0) + '/' + (status.max_concurrent || 0)
            + '). Hentikan monitor lain dulu.'
          : 'Slot monitor penuh.';
      }
      case 503:
        if (e.code === 'service_unavailable') {
          return 'Layanan sedang tidak tersedia (database atau Redis). Coba lagi nanti.';
        }
        return 'Router MikroTik tidak terhubung.';
      case 504: return 'Worker tidak menjawab. Coba lagi sebentar lagi.';
      default: return e.message || MB.statusText(e.status);
    }
  }

  // ------------------------------------------------------------- status

  async function refreshStatus() {
    const seq = ++statusSeq;
    const sentAt = Date.now();
    let s;
    try {
      s = await MB.api.get('/api/monitor/status');
    } catch (e) {
      if (seq === statusSeq) $('slot-info').textContent = 'Slot terpakai: ? / ?';
      return null;
    }
    if (seq !== statusSeq) return s;     // a newer answer wins
    status = s;
    const info = $('slot-info');
    info.textContent = slotText();
    info.dataset.used = String(s.monitor_count || 0);
    info.dataset.max = String(s.max_concurrent || 0);
    const full = (s.slots_available !== undefined ? s.slots_available : 1) <= 0;
    info.className = 'badge ' + (full ? 'text-bg-warning' : 'text-bg-light border');
    const running = new Map((s.monitors || []).map((m) => [m.customer_id, m]));
    for (const id of s.active_monitors || []) if (!running.has(id)) running.set(id, { customer_id: id });
    for (const card of cards.values()) {
      const m = running.get(card.id);
      if (m) {
        card.meta(m);
      } else if (card.running && !card.starting && card.confirmedAt && card.confirmedAt < sentAt) {
        // it ended and the event did not reach us (the socket was down)
        card.end('Monitor tidak berjalan lagi.', 'secondary', 'ended', true);
      }
    }
    renderResultsButtons();
    return s;
  }

  // -------------------------------------------------------------- cards

  function makeChart(canvas) {
    const now = Date.now();
    const line = (label, color) => ({
      label, data: [], borderColor: color, backgroundColor: color + '22',
      fill: true, tension: 0.25, pointRadius: 0, borderWidth: 2, spanGaps: false,
    });
    return new Chart(canvas, {
      type: 'line',
      data: { datasets: [line('Download', COLORS.download), line('Upload', COLORS.upload)] },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        responsive: true,
        maintainAspectRatio: true,
        aspectRatio: 2.6,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: {
            type: 'linear', min: now - WINDOW_MS, max: now,
            // a tick (and grid line) on every 10 s of the clock: they move
            // to the left with the data
            afterBuildTicks: (axis) => {
              const ticks = [];
              for (let v = Math.ceil(axis.min / 10000) * 10000; v <= axis.max; v += 10000) {
                ticks.push({ value: v });
              }
              axis.ticks = ticks;
            },
            ticks: { maxRotation: 0, autoSkip: false, callback: (v) => clock(v) },
          },
          y: {
            beginAtZero: true, suggestedMax: 1, grace: '5%',
            title: { display: true, text: 'Mbps' },
          },
        },
        plugins: {
          legend: { position: 'bottom' },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? clock(items[0].parsed.x) : ''),
              label: (c) => c.dataset.label + ': ' + (c.parsed.y || 0).toFixed(2) + ' Mbps',
            },
          },
        },
      },
    });
  }

  function createCard(m) {
    const id = m.customer_id;
    const name = el('strong', { class: 'monitor-name', text: m.customer_name || 'Pelanggan' });
    const iface = el('span', { class: 'small text-muted font-monospace monitor-interface',
                               text: m.interface || '' });
    const badge = el('span', { class: 'badge text-bg-secondary monitor-state', text: 'MEMULAI' });
    const stopBtn = el('button', { type: 'button', class: 'btn btn-outline-danger btn-sm monitor-stop',
                                   text: 'Stop' });
    const dl = el('strong', { class: 'monitor-download', text: '–' });
    const ul = el('strong', { class: 'monitor-upload', text: '–' });
    const speedLine = el('p', { class: 'monitor-speed fs-5 mb-2' },
      el('span', { class: 'text-primary' }, 'Download ', dl), ' / ',
      el('span', { class: 'text-success' }, 'Upload ', ul));
    const msg = el('div', { class: 'monitor-message' });
    const canvas = el('canvas', { class: 'monitor-chart', role: 'img',
                                  'aria-label': 'Grafik trafik ' + (m.customer_name || '') });
    const foot = el('div', { class: 'small text-muted monitor-foot', text: 'Menunggu data…' });
    const log = el('ul', { class: 'list-unstyled small text-muted mb-0 mt-2 monitor-log' });
    const root = el('div', { class: 'card shadow-sm monitor-card', dataset: { customerId: id, state: 'starting', samples: '0' } },
      el('div', { class: 'card-header d-flex flex-wrap align-items-center gap-2' },
        name, iface, badge, el('span', { class: 'ms-auto' }), stopBtn),
      el('div', { class: 'card-body' }, speedLine, msg, canvas, foot, log));
    const col = el('div', { class: 'col-12 col-xl-6 monitor-col' }, root);
    $('monitor-cards').append(col);

    const card = {
      id, root, col, chart: null, off: null,
      name: m.customer_name || '', startedAt: null, confirmedAt: null,
      running: true, starting: false, stopping: false, samples: 0, msgTimer: null,
    };

    card.meta = (x) => {
      if (x.customer_name) { card.name = x.customer_name; name.textContent = x.customer_name; }
      if (x.interface) iface.textContent = x.interface;
      if (x.started_at) {
        const t = Date.parse(x.started_at);
        if (!isNaN(t)) card.startedAt = t;
      }
    };
    card.state = (s) => {
      root.dataset.state = s;
      const [label, cls] = {
        starting: ['MEMULAI', 'text-bg-secondary'],
        waiting: ['MENUNGGU', 'text-bg-info'],
        live: ['LIVE', 'text-bg-success'],
        interrupted: ['TERPUTUS', 'text-bg-warning'],
        ended: ['BERHENTI', 'text-bg-dark'],
      }[s] || [s, 'text-bg-secondary'];
      badge.textContent = label;
      badge.className = 'badge monitor-state ' + cls;
    };
    card.message = (text, kind, fadeMs) => {
      clearTimeout(card.msgTimer);
      if (!text) { msg.replaceChildren(); return; }
      msg.replaceChildren(el('div', { class: 'alert alert-' + (kind || 'info') + ' py-1 px-2 mb-2 small',
                                      role: 'status', text }));
      if (fadeMs) card.msgTimer = setTimeout(() => msg.replaceChildren(), fadeMs);
    };
    card.log = (text) => {
      log.prepend(el('li', { text: clock(Date.now()) + '  ' + text }));
      while (log.children.length > LOG_LINES) log.lastChild.remove();
    };
    card.gap = () => {
      if (!card.chart) return;
      const x = Date.now();
      for (const ds of card.chart.data.datasets) ds.data.push({ x, y: null });
    };
    card.sample = (s) => {
      const tx = Number(s.tx_bits_per_second) || 0;      // to the customer: download
      const rx = Number(s.rx_bits_per_second) || 0;      // from the customer: upload
      dl.textContent = s.download_speed || speed(tx);
      ul.textContent = s.upload_speed || speed(rx);
      if (s.interface) iface.textContent = s.interface;
      card.samples++;
      root.dataset.samples = String(card.samples);
      root.dataset.download = String(tx);
      root.dataset.upload = String(rx);
      foot.textContent = 'Data terakhir ' + clock(Date.now());
      if (card.running && root.dataset.state !== 'live' && root.dataset.state !== 'interrupted') {
        card.state('live');
        if (!card.starting) card.message('');
      }
      if (card.chart) {
        const x = Date.now();
        card.chart.data.datasets[0].data.push({ x, y: tx / 1e6 });
        card.chart.data.datasets[1].data.push({ x, y: rx / 1e6 });
        tick(card, x);
      }
    };
    // fromStatus: the status no longer lists it; the event, when it comes
    // late, still replaces the message with the real reason
    card.end = (text, kind, state, fromStatus) => {
      if (!card.running && !card.endedByStatus) return;
      card.endedByStatus = !!fromStatus;
      card.running = false;
      card.gap();
      card.state(state || 'ended');
      card.message(text, kind);
      card.log(text);
      foot.textContent = 'Monitor berhenti ' + clock(Date.now());
      stopBtn.textContent = 'Tutup';
      stopBtn.className = 'btn btn-outline-secondary btn-sm monitor-close';
      stopBtn.disabled = false;
    };

    stopBtn.addEventListener('click', () => stop(card));
    card.chart = makeChart(canvas);
    card.off = MB.live.subscribe(id, (x) => onMessage(card, x));
    cards.set(id, card);
    card.meta(m);
    $('monitor-empty').classList.add('d-none');
    return card;
  }

  function removeCard(card) {
    if (cards.get(card.id) === card) cards.delete(card.id);
    clearTimeout(card.msgTimer);
    if (card.off) { card.off(); card.off = null; }
    if (card.chart) { card.chart.destroy(); card.chart = null; }
    card.col.remove();
    $('monitor-empty').classList.toggle('d-none', cards.size > 0);
    renderResultsButtons();
  }

  // the chart follows the clock: the last 60 s, older points dropped
  function tick(card, now) {
    const c = card.chart;
    if (!c) return;
    const from = now - WINDOW_MS;
    for (const ds of c.data.datasets) {
      // keep one point left of the window so the line enters at the edge
      let i = 0;
      while (i + 1 < ds.data.length && ds.data[i + 1].x < from) i++;
      if (i) ds.data.splice(0, i);
    }
    c.options.scales.x.min = from;
    c.options.scales.x.max = now;
    c.update('none');
  }

  function onMessage(card, m) {
    if (cards.get(card.id) !== card) return;
    if (!m.event) { if (card.running) card.sample(m); return; }
    switch (m.event) {
      case 'monitor_started':
        card.meta(m);
        // once per run: the REST answer may have said it first
        if (!card.startLogged) {
          card.startLogged = true;
          card.log('Monitor dimulai' + (m.interface ? ' (' + m.interface + ')' : ''));
        }
        break;
      case 'monitor_stopped': {
        // an older run's end (stopped, then started again at once)
        const t = Date.parse(m.timestamp || '');
        if (card.starting && m.reason === 'stopped') break;
        if (card.startedAt && !isNaN(t) && t < card.startedAt) break;
        if (card.stopping) break;        // our own Stop removes the card
        const kind = { offline: 'danger', idle: 'warning', error: 'danger' }[m.reason] || 'secondary';
        card.root.dataset.reason = m.reason || '';
        card.end(m.message || 'Monitor dihentikan', kind, 'ended');
        refreshStatus();
        break;
      }
      case 'monitor_interrupted':
        if (!card.running) break;
        card.gap();
        card.state('interrupted');
        card.message(m.message || 'Koneksi ke router terputus, menyambung ulang', 'warning');
        card.log(m.message || 'Koneksi ke router terputus');
        break;
      case 'monitor_resumed':
        if (!card.running) break;
        card.state('live');
        card.message(m.message || 'Monitor berjalan lagi', 'success', 8000);
        card.log(m.message || 'Monitor berjalan lagi');
        break;
      default:
        break;
    }
  }

  // ----------------------------------------------------- start and stop

  async function start(id, nameHint) {
    const have = cards.get(id);
    if (have && have.running) {
      have.root.scrollIntoView({ block: 'nearest' });
      return true;
    }
    if (have) removeCard(have);          // an ended card: a new run
    MB.notice('');
    // subscribe first: nothing published after the start is missed
    const card = createCard({ customer_id: id, customer_name: nameHint || '' });
    card.starting = true;
    card.state('starting');
    card.message('Memulai monitor…', 'info');
    let res;
    try {
      res = await MB.api.post('/api/monitor/start' + MB.query({ customer_id: id }));
    } catch (e) {
      removeCard(card);
      const who = card.name || nameHint;
      MB.notice('Gagal memulai monitor' + (who ? ' ' + who : '') + ': ' + await errorText(e));
      refreshStatus();
      return false;
    }
    if (cards.get(id) !== card) return false;     // closed meanwhile
    card.starting = false;
    card.confirmedAt = Date.now();
    if (card.running && card.root.dataset.state === 'starting') {
      card.state('waiting');
      card.message('Menunggu data dari router…', 'info');
    } else if (card.running) {
      card.message('');
    }
    if (res && res.already_running) {
      card.log('Monitor sudah berjalan');
    } else if (!card.startLogged) {
      card.startLogged = true;
      card.log('Monitor dimulai');
    }
    await refreshStatus();
    return true;
  }

  async function stop(card) {
    if (!card.running) { removeCard(card); refreshStatus(); return; }
    const btn = card.root.querySelector('.monitor-stop');
    if (btn) { btn.disabled = true; btn.textContent = 'Menghentikan…'; }
    card.stopping = true;
    try {
      await MB.api.post('/api/monitor/stop' + MB.query({ customer_id: card.id }));
    } catch (e) {
      if (e.status !== 404) {
        card.stopping = false;
        if (btn) { btn.disabled = false; btn.textContent = 'Stop'; }
        card.message('Gagal menghentikan monitor: ' + await errorText(e), 'danger');
        return;
      }
    }
    removeCard(card);
    await refreshStatus();
  }

  // ------------------------------------------------------------- chooser

  let results = [];
  let searchSeq = 0;

  function renderResultsButtons() {
    for (const b of document.querySelectorAll('#search-results .monitor-start')) {
      const c = cards.get(b.dataset.id);
      const on = !!(c && c.running);
      b.disabled = on || b.dataset.noPppoe === '1';
      b.textContent = on ? 'Sedang dimonitor' : 'Mulai Monitor';
    }
  }

  function renderResults(q) {
    const host = $('search-results');
    if (!q) { host.replaceChildren(); return; }
    if (!results.length) {
      host.replaceChildren(el('div', { class: 'list-group-item text-muted small',
                                       text: 'Tidak ada pelanggan PPPoE yang cocok.' }));
      return;
    }
    host.replaceChildren(...results.map((c) => {
      const btn = el('button', { type: 'button', class: 'btn btn-primary btn-sm monitor-start',
                                 dataset: { id: c.id, noPppoe: c.pppoe_username ? '0' : '1' },
                                 text: 'Mulai Monitor' });
      btn.addEventListener('click', async () => {
        btn.disabled = true;
        const ok = await start(c.id, c.name);
        if (ok) { $('m-search').value = ''; results = []; renderResults(''); }
        else renderResultsButtons();
      });
      return el('div', { class: 'list-group-item d-flex flex-wrap align-items-center gap-2 search-result',
                         dataset: { id: c.id } },
        el('div', { class: 'me-auto' },
          el('div', { class: 'fw-semibold', text: c.name }),
          el('div', { class: 'small text-muted font-monospace',
                      text: c.username + ' · ' + (c.pppoe_username || 'tanpa PPPoE')
                            + (c.router_name ? ' · ' + c.router_name : '') })),
        MB.statusBadge(c.conn_status), btn);
    }));
    renderResultsButtons();
  }

  async function search(q) {
    const seq = ++searchSeq;
    if (!q) { results = []; renderResults(''); return; }
    let r;
    try {
      r = await MB.api.get('/api/customers' + MB.query({ q, service_type: 'pppoe', limit: 10 }));
    } catch (e) {
      if (seq === searchSeq) MB.notice('Gagal mencari pelanggan: ' + e.message);
      return;
    }
    if (seq !== searchSeq) return;
    results = r.data || [];
    renderResults(q);
  }

  function bindChooser() {
    let typing = null;
    $('m-search').addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(() => search($('m-search').value.trim()), 300);
    });
    $('chooser').addEventListener('submit', (ev) => {
      ev.preventDefault();
      clearTimeout(typing);
      search($('m-search').value.trim());
    });
  }

  // --------------------------------------------------------- live state

  function liveState(up) {
    const b = $('live-state');
    b.dataset.state = up ? 'open' : 'closed';
    b.className = 'badge ' + (up ? 'text-bg-success' : 'text-bg-warning');
    b.textContent = up ? 'Live terhubung' : 'Live terputus, menyambung ulang…';
    if (up) refreshStatus();             // what ended while we were away
  }

  // ----------------------------------------------------------------- go

  MB.ready.then(async (user) => {
    if (!MB.canMonitor(user)) {
      $('chooser').classList.add('d-none');
      $('monitor-empty').classList.add('d-none');
      MB.notice('Anda tidak memiliki akses ke Monitor Trafik.', 'warning');
      return;
    }
    if (typeof window.Chart !== 'function') {
      MB.notice('Chart.js tidak dapat dimuat (/vendor/chart.js/chart.min.js).');
      return;
    }
    bindChooser();
    MB.live.onState(liveState);
    setInterval(() => {
      const now = Date.now();
      for (const c of cards.values()) if (c.running) tick(c, now);
    }, 1000);
    setInterval(() => { if (!document.hidden) refreshStatus(); }, STATUS_EVERY_MS);

    // the monitors already running
    const s = await refreshStatus();
    for (const m of (s && s.monitors) || []) {
      if (cards.has(m.customer_id)) continue;
      const card = createCard(m);
      card.confirmedAt = Date.now();
      card.state('waiting');
      card.log('Monitor sudah berjalan' + (m.started_at ? ' sejak ' + MB.clock(m.started_at) : ''));
    }

    // monitor.html?customer=<id>: start it (once; a reload shows it from status)
    const p = new URLSearchParams(location.search);
    const id = p.get('customer');
    if (id) {
      p.delete('customer');
      const rest = p.toString();
      history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
      let name = '';
      try {
        const r = await MB.api.get('/api/customers/' + encodeURIComponent(id));
        name = ((r && (r.data || r)) || {}).name || '';
      } catch (e) {
        if (e.status === 404 || e.status === 400) {
          MB.notice('Gagal memulai monitor: ' + await errorText(e));
          return;
        }
      }
      await start(id, name);
    }
    document.body.dataset.loadedAt = String(Date.now());
  }, () => {});
})(window.MB);
