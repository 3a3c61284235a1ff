// Live status: GET /api/sync/status, and the page is called back when a sync
// has finished since the last look (totals.last_sync_at or any router's
// last_sync_at changed); then it logs, as the spec asks,
//   Status updated: N active connections, M customers online
// Used by Pelanggan, Peta and Pengaturan:
//   MB.watchSync({ onStatus(status), onSync(status) })
// onStatus runs on every poll (banners, panels), onSync only after a sync.
//
// A `sync` event on the WebSocket (MB.live, js/live.js, which the page
// loads first) makes it look at once.  Polling stays as the
// fallback: every 5 s while the socket is down, every 15 s while it is up
// (the banner and panels still move with connection changes that are no
// sync).
'use strict';

(function (MB) {
  const INTERVAL_MS = 5000;          // socket down (or never up)
  const INTERVAL_LIVE_MS = 15000;    // socket up: the events say when
  const RECHECK_MS = 700;            // an event came but the status had not moved yet

  function syncKey(s) {
    const parts = [(s.totals && s.totals.last_sync_at) || ''];
    for (const r of s.routers || []) {
      parts.push(r.router_id + '=' + (r.last_sync_at || ''));
    }
    return parts.join('|');
  }

  MB.watchSync = function (handlers) {
    let lastKey = null;
    let timer = null;
    let stopped = false;
    let polling = false;
    let again = false;       // a sync event came during a poll
    let recheck = 0;         // polls left after an event that changed nothing yet
    let live = null;
    const offs = [];         // MB.live handlers to drop on stop()

    async function poll() {
      timer = null;
      if (polling) { again = true; return; }
      polling = true;
      try { await pollOnce(); } finally { polling = false; }
      if (again) { again = false; now(); return; }
      schedule();
    }

    async function pollOnce() {
      let s;
      try {
        s = await MB.api.get('/api/sync/status');
      } catch (e) {
        if (handlers.onError) handlers.onError(e);
        return;
      }
      try {
        if (handlers.onStatus) handlers.onStatus(s);
        const key = syncKey(s);
        if (lastKey !== null && key === lastKey && recheck > 0) recheck--;
        else recheck = 0;
        if (lastKey !== null && key !== lastKey) {
          const t = s.totals || {};
          console.log('Status updated: ' + (t.active_connections || 0)
                      + ' active connections, ' + (t.customers_online || 0)
                      + ' customers online');
          if (handlers.onSync) await handlers.onSync(s);
        }
        lastKey = key;
      } catch (e) {
        console.error('MikroBill: status update failed', e);
      }
    }

    function schedule() {
      if (stopped || timer) return;
      let ms = live && live.connected ? INTERVAL_LIVE_MS : INTERVAL_MS;
      if (recheck > 0) ms = RECHECK_MS;
      timer = setTimeout(poll, ms);
    }

    function now() {
      if (stopped) return;
      if (timer) { clearTimeout(timer); timer = null; }
      poll();
    }

    if (MB.live) {
      const l = MB.live;
      live = l;
      // a sync finished: look now (and a few times more shortly if the
      // status does not show it yet)
      offs.push(l.onSync(() => { recheck = 3; now(); }));
      // the socket went down: back to the short interval at once
      offs.push(l.onState((up) => {
        if (!up && timer) { clearTimeout(timer); timer = null; schedule(); }
      }));
    }

    // a hidden tab polls on its next visible moment instead
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && timer) { clearTimeout(timer); timer = null; poll(); }
    });

    poll();
    return {
      // poll now (after "Sync Sekarang"), then on the usual interval again
      now,
      stop() {
        stopped = true;
        if (timer) clearTimeout(timer);
        for (const off of offs.splice(0)) off();
      },
    };
  };

  // routers that the last attempt could not reach: a banner with the error
  // and the age of the statuses shown
  MB.unreachableBanner = function (s, hostId) {
    const host = document.getElementById(hostId || 'sync-banner');
    if (!host) return;
    const down = (s.routers || []).filter((r) => r.enabled !== false && !r.connected);
    if (!down.length) { host.replaceChildren(); return; }
    const box = MB.el('div', { class: 'alert alert-warning py-2', role: 'alert',
                               id: 'router-unreachable' });
    for (const r of down) {
      box.append(MB.el('div', {},
        MB.el('strong', { text: 'Router ' + r.name + ' tidak dapat dihubungi' }),
        r.last_error ? ': ' + r.last_error : '',
        '. Status pelanggan dari sinkronisasi terakhir ',
        r.last_sync_at ? '(' + MB.ago(r.last_sync_at) + ', ' + MB.clock(r.last_sync_at) + ')'
                       : '(belum pernah berhasil)',
        '.'));
    }
    host.replaceChildren(box);
  };
})(window.MB);
