// Site settings for the dashboard, edited by the operator (no build step).
//
// Map tiles: OpenStreetMap by default.  To use another tile server put its
// URL template here ({s} {z} {x} {y}) and add its host to img-src in the
// Content-Security-Policy of conf.d/mikrobill.conf.  A browser can override
// it for itself with localStorage (developer console):
//   localStorage.setItem('mikrobill.tileUrl', 'https://example/{z}/{x}/{y}.png')
//   localStorage.setItem('mikrobill.tileUrl', 'none')     // no tiles at all
//   localStorage.removeItem('mikrobill.tileUrl')          // back to this file
'use strict';

window.MB_CONFIG = {
  tileUrl: 'https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png',
  tileAttribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
  tileMaxZoom: 19,
  // where the map opens when no customer has coordinates (Purwokerto)
  mapCenter: [-7.4245, 109.2302],
  mapZoom: 13,
};
