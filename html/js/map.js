// Peta: one marker per customer with coordinates, green/red/grey by
// conn_status, from GET /api/customers/map ([id, name, lat, lng, status]).
// Canvas rendering (preferCanvas + circleMarker): 50,000 markers stay
// usable.  After each sync the statuses are fetched again and only markers
// whose status changed are restyled; new customers are added, deleted ones
// removed.  Tiles: html/config.js, overridable per browser in localStorage.
'use strict';

(function (MB) {
  const $ = (id) => document.getElementById(id);
  const cfg = window.MB_CONFIG || {};
  const markers = new Map();     // id -> circleMarker (with .mbStatus, .mbName)
  let map, layer, first = true;

  function style(status) {
    const color = MB.statusColor[status] || MB.statusColor.unknown;
    return { radius: 6, stroke: false, fillColor: color, fillOpacity: 0.9 };
  }

  function popup(m) {
    const box = MB.el('div', { class: 'map-popup' },
      MB.el('div', { class: 'fw-semibold mb-1', text: m.mbName }),
      MB.statusBadge(m.mbStatus), ' ',
      MB.el('a', { href: '/pelanggan-form.html?id=' + encodeURIComponent(m.mbId),
                   class: 'small ms-1', text: 'Detail' }));
    return box;
  }

  function tileUrl() {
    let u = null;
    try { u = localStorage.getItem('mikrobill.tileUrl'); } catch (e) { /* private mode */ }
    if (u === null || u === '') u = cfg.tileUrl;
    return u && u !== 'none' ? u : null;
  }

  function init() {
    map = L.map('map', { preferCanvas: true, zoomControl: true })
      .setView(cfg.mapCenter || [-2.5, 118], cfg.mapZoom || 5);
    const url = tileUrl();
    if (url) {
      L.tileLayer(url, { maxZoom: cfg.tileMaxZoom || 19,
                         attribution: cfg.tileAttribution || '' }).addTo(map);
    }
    layer = L.featureGroup([], {}).addTo(map);
    // canvas renderer shared by all markers
    map.mbRenderer = L.canvas({ padding: 0.5 });
    // test and debugging hook: the status of every marker
    MB.mapMarkers = markers;
    MB.map = map;
  }

  function counts() {
    const c = { online: 0, offline: 0, unknown: 0 };
    for (const m of markers.values()) c[m.mbStatus in c ? m.mbStatus : 'unknown']++;
    $('count-online').textContent = c.online;
    $('count-offline').textContent = c.offline;
    $('count-unknown').textContent = c.unknown;
    $('map-info').textContent = markers.size + ' pelanggan di peta';
  }

  async function load() {
    let r;
    try {
      r = await MB.api.get('/api/customers/map');
    } catch (e) {
      MB.notice('Gagal memuat peta: ' + e.message);
      return;
    }
    MB.notice('');
    const seen = new Set();
    let changed = 0;
    for (const [id, name, lat, lng, status] of r.data || []) {
      if (lat === null || lng === null || lat === undefined) continue;
      seen.add(id);
      let m = markers.get(id);
      if (!m) {
        m = L.circleMarker([lat, lng], Object.assign({ renderer: map.mbRenderer }, style(status)));
        m.mbId = id;
        m.bindPopup(() => popup(m));
        m.bindTooltip(() => MB.el('span', { text: m.mbName }), { direction: 'top', offset: [0, -4] });
        layer.addLayer(m);
        markers.set(id, m);
      } else {
        const ll = m.getLatLng();
        if (ll.lat !== lat || ll.lng !== lng) m.setLatLng([lat, lng]);
        if (m.mbStatus !== status) { m.setStyle(style(status)); changed++; }
      }
      m.mbName = name;
      m.mbStatus = status;
      if (m.isPopupOpen()) m.setPopupContent(popup(m));
    }
    for (const [id, m] of markers) {
      if (!seen.has(id)) { layer.removeLayer(m); markers.delete(id); }
    }
    if (first && markers.size) {
      map.fitBounds(layer.getBounds(), { padding: [30, 30], maxZoom: 16 });
    }
    first = false;
    counts();
    document.body.dataset.loadedAt = String(Date.now());
    return changed;
  }

  MB.ready.then(async () => {
    init();
    await load();
    MB.watchSync({
      onStatus(s) { MB.unreachableBanner(s); },
      onSync() { return load(); },
    });
  }, () => {});
})(window.MB);
