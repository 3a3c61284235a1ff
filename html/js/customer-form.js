// Customer create/edit form (pelanggan-form.html, ?id= to edit).  The API
// validates (pppoe username charset and uniqueness per router, phone 08... or
// 62..., coordinates in range); its {"error","message","field"} answers are
// shown under the field they name.  Secrets are never shown: the PPPoE
// password field stays empty and an empty field keeps the stored one.
'use strict';

(function (MB) {
  const el = MB.el;
  const $ = (id) => document.getElementById(id);
  const id = new URLSearchParams(location.search).get('id');
  let customer = null;

  const FIELDS = {
    name: 'c-name', username: 'c-username', service_type: 'c-service',
    router_id: 'c-router', profile: 'c-profile', pppoe_username: 'c-pppoe',
    pppoe_password: 'c-pppoe-password', static_ip: 'c-static-ip', phone: 'c-phone',
    status: 'c-status', address: 'c-address', latitude: 'c-lat', longitude: 'c-lng',
  };

  function clearErrors() {
    for (const f of Object.values(FIELDS)) $(f).classList.remove('is-invalid');
    for (const f of document.querySelectorAll('#customer-form .invalid-feedback')) f.textContent = '';
    MB.notice('');
  }

  function fieldError(field, message) {
    const fid = FIELDS[field];
    if (!fid) return false;
    $(fid).classList.add('is-invalid');
    const fb = document.querySelector('#customer-form .invalid-feedback[data-for="' + field + '"]');
    if (fb) fb.textContent = message;
    return true;
  }

  function showError(e) {
    if (e.field && fieldError(e.field, e.message)) {
      $(FIELDS[e.field]).focus();
      MB.notice('Periksa kembali isian: ' + e.message);
    } else {
      MB.notice(e.message);
    }
  }

  function serviceFields() {
    const s = $('c-service').value;
    for (const n of document.querySelectorAll('.svc-pppoe')) n.classList.toggle('d-none', s === 'static_ip');
    for (const n of document.querySelectorAll('.svc-static')) n.classList.toggle('d-none', s !== 'static_ip');
    $('c-pppoe-label').textContent = s === 'hotspot' ? 'Username hotspot' : 'Username PPPoE';
  }

  function num(v) {
    v = v.trim().replace(',', '.');
    return v === '' ? null : Number(v);
  }

  function body() {
    const b = {
      name: $('c-name').value.trim(),
      username: $('c-username').value.trim(),
      service_type: $('c-service').value,
      router_id: $('c-router').value || null,
      profile: $('c-profile').value.trim() || null,
      pppoe_username: $('c-service').value === 'static_ip' ? null : ($('c-pppoe').value.trim() || null),
      static_ip: $('c-service').value === 'static_ip' ? ($('c-static-ip').value.trim() || null) : null,
      // the API normalizes (+62..., 08... -> 628..., blanks and - ignored)
      phone: $('c-phone').value.trim() || null,
      status: $('c-status').value,
      address: $('c-address').value.trim(),
      latitude: num($('c-lat').value),
      longitude: num($('c-lng').value),
    };
    if ($('c-pppoe-password').value !== '') b.pppoe_password = $('c-pppoe-password').value;
    return b;
  }

  // the checks a browser can do at once; the API's word is final
  function localErrors(b) {
    const errs = [];
    if (!b.name) errs.push(['name', 'Nama wajib diisi']);
    if (!/^[A-Za-z0-9._@-]{3,64}$/.test(b.username)) {
      errs.push(['username', 'Username 3-64 karakter: huruf, angka, . _ @ -']);
    }
    if (b.pppoe_username && !/^[A-Za-z0-9._@-]{1,64}$/.test(b.pppoe_username)) {
      errs.push(['pppoe_username', 'Username PPPoE hanya boleh huruf, angka, . _ @ - (maks. 64)']);
    }
    if ((b.latitude === null) !== (b.longitude === null)) {
      errs.push([b.latitude === null ? 'latitude' : 'longitude', 'Isi latitude dan longitude bersama-sama']);
    }
    if (b.latitude !== null && !(b.latitude >= -90 && b.latitude <= 90)) {
      errs.push(['latitude', 'Latitude harus antara -90 dan 90']);
    }
    if (b.longitude !== null && !(b.longitude >= -180 && b.longitude <= 180)) {
      errs.push(['longitude', 'Longitude harus antara -180 dan 180']);
    }
    if (b.phone && !/^\+?[0-9][0-9\s.()-]{6,24}$/.test(b.phone)) {
      errs.push(['phone', 'Nomor WhatsApp tidak valid (contoh 08123456789 atau 628123456789)']);
    }
    return errs;
  }

  function fill(c) {
    customer = c;
    $('form-title').textContent = 'Ubah Pelanggan: ' + c.name;
    $('crumb').textContent = c.name;
    document.title = c.name + ' · MikroBill';
    $('c-name').value = c.name || '';
    $('c-username').value = c.username || '';
    $('c-service').value = c.service_type || 'pppoe';
    $('c-router').value = c.router_id || '';
    $('c-profile').value = c.profile || '';
    $('c-pppoe').value = c.pppoe_username || '';
    $('c-pppoe-password').placeholder = c.has_pppoe_password ? '(tersimpan)' : '';
    $('c-pppoe-password-help').classList.toggle('d-none', !c.has_pppoe_password);
    $('c-static-ip').value = c.static_ip || '';
    $('c-phone').value = c.phone || '';
    $('c-status').value = c.status || 'active';
    $('c-address').value = c.address || '';
    $('c-lat').value = c.latitude ?? '';
    $('c-lng').value = c.longitude ?? '';
    $('customer-delete').classList.toggle('d-none', !MB.canWrite(MB.me));
    serviceFields();
    $('live-card').classList.remove('d-none');
    $('live-badge').replaceChildren(MB.statusBadge(c.conn_status));
    $('live-last-seen').textContent = c.last_seen_at ? MB.clock(c.last_seen_at) + ' (' + MB.ago(c.last_seen_at) + ')' : '—';
    $('live-address').textContent = c.session_address || '—';
    $('live-uptime').textContent = c.uptime || '—';
    $('live-caller').textContent = c.caller_id || '—';
    $('live-changed').textContent = c.status_changed_at ? MB.clock(c.status_changed_at) : '—';
  }

  async function save(ev) {
    ev.preventDefault();
    clearErrors();
    const b = body();
    const errs = localErrors(b);
    if (errs.length) {
      for (const [f, m] of errs) fieldError(f, m);
      $(FIELDS[errs[0][0]]).focus();
      MB.notice('Periksa kembali isian yang ditandai merah.');
      return;
    }
    const btn = $('customer-save');
    btn.disabled = true;
    try {
      if (customer) {
        await MB.api.put('/api/customers/' + encodeURIComponent(customer.id), b);
      } else {
        await MB.api.post('/api/customers', b);
      }
      location.href = '/pelanggan.html';
    } catch (e) {
      showError(e);
    } finally {
      btn.disabled = false;
    }
  }

  async function remove() {
    if (!customer || !confirm('Hapus pelanggan "' + customer.name + '"?')) return;
    try {
      await MB.api.del('/api/customers/' + encodeURIComponent(customer.id));
      location.href = '/pelanggan.html';
    } catch (e) {
      showError(e);
    }
  }

  MB.ready.then(async (user) => {
    if (!MB.canWrite(user)) {
      $('customer-save').classList.add('d-none');
      $('customer-delete').classList.add('d-none');
      MB.notice('Hanya SUPERADMIN dan ADMIN yang dapat mengubah data pelanggan.', 'info');
    }
    $('customer-form').addEventListener('submit', save);
    $('c-service').addEventListener('change', serviceFields);
    $('customer-delete').addEventListener('click', remove);
    serviceFields();
    try {
      const r = await MB.api.get('/api/routers');
      const list = (r && (r.data || r)) || [];
      for (const rt of Array.isArray(list) ? list : []) {
        $('c-router').append(el('option', { value: rt.id, text: rt.name }));
      }
      if (!id && list.length === 1) $('c-router').value = list[0].id;
    } catch (e) { /* the select keeps "(tanpa router)" */ }
    if (id) {
      try {
        const r = await MB.api.get('/api/customers/' + encodeURIComponent(id));
        fill((r && (r.data || r)) || {});
      } catch (e) {
        MB.notice('Gagal memuat pelanggan: ' + e.message);
        $('customer-save').disabled = true;
      }
    }
  }, () => {});
})(window.MB);
