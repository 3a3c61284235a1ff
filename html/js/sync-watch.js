// Live status: polls GET /api/sync/status every 5 s and calls the page back
// when a sync has finished since the last poll (totals.last_sync_at or any
// router's last_sync_at changed), then logs, as the spec asks,
//   Status updated: N active connections, M customers online
// Used by Pelanggan, Peta and Pengaturan:
//   MB.watchSync({ onStatus(status), onSync(status) })
// onStatus runs on every poll (banners, panels), onSync only after a sync.
'use strict';

(function (MB) {
  const INTERVAL_MS = 5000;

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

    async function poll() {
      timer = null;
      let s;
      try {
        s = await MB.api.get('/api/sync/status');
      } catch (e) {
        if (handlers.onError) handlers.onError(e);
        schedule();
        return;
      }
      try {
        if (handlers.onStatus) handlers.onStatus(s);
        const key = syncKey(s);
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
      schedule();
    }

    function schedule() {
      if (!stopped && !timer) timer = setTimeout(poll, INTERVAL_MS);
    }

    // a hidden tab polls on its next visible moment instead
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && timer) { clearTimeout(timer); timer = null; poll(); }
    });

    poll();
    return {
      // poll now (after "Sync Sekarang"), then every 5 s again
      now() { if (timer) { clearTimeout(timer); timer = null; } poll(); },
      stop() { stopped = true; if (timer) clearTimeout(timer); },
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
