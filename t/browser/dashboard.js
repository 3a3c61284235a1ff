// The dashboard end to end in Debian's headless Chromium, driven by
// playwright-core (t/browser.t starts nginx with the module, the worker, a
// simulated router and the customers, then runs this; it prints TAP).
//
// Environment (from t/browser.t):
//   MB_BASE_URL      http://127.0.0.1:PORT
//   MB_USER, MB_PASSWORD          a SUPERADMIN of the dashboard
//   MB_SIM_CONTROL   the simulator's control port
//   MB_ROUTER_ID, MB_ROUTER_PASSWORD, MB_ROUTER_IDENTITY
//   MB_CUSTOMERS     JSON: {egi: {id, pppoe}, mixed: {...}, nopppoe: {...},
//                    static: {...}, total_with_coords: N}
//   CHROMIUM         default /usr/bin/chromium
//   MB_ARTIFACTS     directory for screenshots of failures (optional)
'use strict';

const fs = require('fs');
const path = require('path');
const t = require('./tap');
const { ctl, launch } = require('./common');

const BASE = process.env.MB_BASE_URL;
const CUST = JSON.parse(process.env.MB_CUSTOMERS || '{}');
const ROUTER_ID = process.env.MB_ROUTER_ID;
const SYNC_WAIT = 30000;     // a sync plus the page's 5 s poll, with room

async function main() {
  const { context, page, profile, artifacts } = await launch();

  const consoleLines = [];
  const problems = [];     // uncaught exceptions and CSP violations
  page.on('console', (m) => {
    const text = m.text();
    consoleLines.push(text);
    if (/Content Security Policy|Refused to (load|execute|apply)/i.test(text)) problems.push('console: ' + text);
  });
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));

  const shot = async (name) => {
    try { await page.screenshot({ path: path.join(artifacts, name + '.png'), fullPage: true }); }
    catch (e) { /* the page may be gone */ }
  };
  const badge = (pppoe) => page.locator('tr[data-pppoe="' + pppoe.toLowerCase() + '"] .status-badge');
  const waitStatus = (pppoe, status) => page.waitForSelector(
    'tr[data-pppoe="' + pppoe.toLowerCase() + '"] .status-badge[data-status="' + status + '"]',
    { timeout: SYNC_WAIT });
  const statusLines = () => consoleLines.filter((l) => l.startsWith('Status updated: '));

  // ------------------------------------------------------------ login
  await t.step('login', async () => {
    // only this test's router: other tests may have left customers behind
    await page.goto(BASE + '/pelanggan.html?router_id=' + ROUTER_ID);
    await page.waitForURL(/\/index\.html\?next=/);
    t.ok(true, 'without a session the dashboard sends the browser to the login page');
    // no map tiles from the internet in tests
    await page.evaluate(() => localStorage.setItem('mikrobill.tileUrl', 'none'));
    await page.fill('#username', process.env.MB_USER);
    await page.fill('#password', 'salah-' + process.env.MB_PASSWORD);
    await page.click('#login-button');
    await page.waitForSelector('#login-error:not(.d-none)');
    t.like(await page.textContent('#login-error'), /salah/, 'a wrong password says so in Indonesian');
    await page.fill('#username', process.env.MB_USER);
    await page.fill('#password', process.env.MB_PASSWORD);
    await page.click('#login-button');
    await page.waitForURL(/\/pelanggan\.html\?router_id=/);
    t.ok(true, 'login goes on to the page asked for');
    await page.waitForSelector('#me-username');
    t.is(await page.textContent('#me-username'), process.env.MB_USER, 'the user menu shows who is signed in');
    for (const label of ['Pelanggan', 'Peta', 'Pengaturan']) {
      t.ok(await page.locator('nav .nav-link', { hasText: label }).count() === 1, 'navigation has ' + label);
    }
  });

  // ----------------------------------------------------- customers table
  await t.step('customers table', async () => {
    await page.waitForSelector('tr.customer-row');
    const rows = await page.locator('tr.customer-row').count();
    t.ok(rows >= 4, 'the customers table shows the customers (' + rows + ' rows)');
    t.like(await page.textContent('#page-info'), /dari \d+ pelanggan/, 'paging information');
    t.is(await badge(CUST.egi.pppoe).getAttribute('data-status'), 'offline',
         'Test 2: PPPoE customer not logged in: OFFLINE');
    t.is((await badge(CUST.egi.pppoe).textContent()).trim(), 'OFFLINE', 'the badge says OFFLINE');
    t.ok(await badge(CUST.egi.pppoe).evaluate((e) => e.classList.contains('text-bg-danger')),
         'OFFLINE is red');
    const np = page.locator('tr[data-id="' + CUST.nopppoe.id + '"] .status-badge');
    t.is(await np.getAttribute('data-status'), 'offline', 'Test 1: customer without PPPoE: OFFLINE');
    const st = page.locator('tr[data-id="' + CUST.static.id + '"] .status-badge');
    t.is(await st.getAttribute('data-status'), 'unknown', 'static IP customer: UNKNOWN (grey)');

    // search and filter
    await page.fill('#q', 'egisetiawan');
    await page.waitForFunction(() => document.querySelectorAll('tr.customer-row').length === 1);
    t.ok(await page.locator('tr[data-pppoe="' + CUST.egi.pppoe + '"]').count() === 1, 'search finds the customer');
    t.like(page.url(), /q=egisetiawan/, 'the search is kept in the address bar');
    await page.fill('#q', '');
    await page.waitForFunction((n) => document.querySelectorAll('tr.customer-row').length === n, rows);
    await page.selectOption('#f-service', 'static_ip');
    await page.waitForFunction(() => document.querySelectorAll('tr.customer-row').length === 1);
    t.ok(await page.locator('tr[data-id="' + CUST.static.id + '"]').count() === 1, 'filter by service type');
    await page.selectOption('#f-service', '');
    await page.waitForFunction((n) => document.querySelectorAll('tr.customer-row').length === n, rows);
  });

  // ------------------------------------------- login + Sync Sekarang -> ONLINE
  await t.step('Test 3: login -> ONLINE', async () => {
    t.like(await ctl('login ' + CUST.egi.pppoe + ' 10.10.10.2 00:11:22:33:44:55'), /^OK/, 'simulator: egisetiawansempu logs in');
    t.like(await ctl('login ' + CUST.mixed.router_name), /^OK/, 'simulator: ' + CUST.mixed.router_name + ' logs in (other case)');
    const before = statusLines().length;
    await page.click('#sync-now');
    await waitStatus(CUST.egi.pppoe, 'online');
    t.ok(true, 'after Sync Sekarang the badge turns ONLINE without a reload');
    const b = badge(CUST.egi.pppoe);
    t.is((await b.textContent()).trim(), 'ONLINE', 'the badge says ONLINE');
    t.ok(await b.evaluate((e) => e.classList.contains('text-bg-success')), 'ONLINE is green');
    t.ok(await b.evaluate((e) => {
      const dot = e.querySelector('.status-dot.blink');
      return !!dot && getComputedStyle(dot).animationName === 'mb-blink'
        && getComputedStyle(dot).animationIterationCount === 'infinite';
    }), 'ONLINE has a blinking icon');
    await waitStatus(CUST.mixed.pppoe, 'online');
    t.ok(true, 'a PPPoE name stored in another case matches too');
    const row = page.locator('tr[data-pppoe="' + CUST.egi.pppoe + '"]');
    t.like(await row.textContent(), /10\.10\.10\.2/, 'the row shows the session address');
    const lines = statusLines();
    t.ok(lines.length > before, 'the console logged a status update', lines.join('\n'));
    const last = lines[lines.length - 1] || '';
    t.like(last, /^Status updated: \d+ active connections, \d+ customers online$/,
           'console: "Status updated: N active connections, M customers online"');
    const m = last.match(/(\d+) active connections, (\d+) customers online/) || [];
    const stats = await ctl('stats');
    const active = Number((stats.match(/ active=(\d+)/) || [])[1]);
    const status = await page.evaluate(() => MB.api.get('/api/sync/status'));
    const mine = status.routers.find((r) => r.router_id === ROUTER_ID) || {};
    t.is(mine.active_connections, active, 'the router\'s active connections are the simulator\'s sessions (' + active + ')');
    t.is(mine.customers_online, 2, 'and 2 of its customers are online');
    t.is(Number(m[1]), status.totals.active_connections, 'N is the total of active connections');
    t.is(Number(m[2]), status.totals.customers_online, 'M is the total of customers online');
  });

  // ---------------------------------------- logout + sync -> OFFLINE
  await t.step('Test 4: logout -> OFFLINE', async () => {
    t.like(await ctl('logout ' + CUST.egi.pppoe), /^OK/, 'simulator: egisetiawansempu logs out');
    const before = statusLines().length;
    await page.click('#sync-now');
    await waitStatus(CUST.egi.pppoe, 'offline');
    t.ok(true, 'after Sync Sekarang the badge turns OFFLINE again');
    t.ok(await badge(CUST.egi.pppoe).evaluate((e) => e.classList.contains('text-bg-danger')
                                                  && !e.querySelector('.status-dot')),
         'OFFLINE is red, without the blinking icon');
    t.ok(statusLines().length > before, 'the console logged another status update');
    t.like(await page.textContent('tr[data-pppoe="' + CUST.egi.pppoe + '"]'), /lalu|detik|menit/,
           'the row shows when the customer was last seen');
  });

  // ---------------------------------------------------------------- Peta
  await t.step('Peta', async () => {
    await page.click('#nav-peta');
    await page.waitForURL(/\/peta\.html/);
    await page.waitForFunction(() => window.MB && MB.mapMarkers && MB.mapMarkers.size > 0);
    const sizes = await page.evaluate(async () => [MB.mapMarkers.size,
      (await MB.api.get('/api/customers/map')).data.length]);
    t.ok(sizes[0] === sizes[1] && sizes[0] >= CUST.total_with_coords,
         'the map has one marker per customer with coordinates (' + sizes[0] + ')', JSON.stringify(sizes));
    t.ok(await page.evaluate(() => document.querySelectorAll('.leaflet-overlay-pane canvas').length >= 1
                                 && document.querySelectorAll('.leaflet-overlay-pane svg').length === 0),
         'markers are drawn on a canvas');
    const color = (id) => page.evaluate((i) => {
      const m = MB.mapMarkers.get(i);
      return m ? m.options.fillColor : null;
    }, id);
    t.is(await color(CUST.egi.id), '#dc3545', 'the offline customer\'s marker is red');
    t.is(await color(CUST.mixed.id), '#198754', 'an online customer\'s marker is green');
    t.is(await color(CUST.static.id), '#6c757d', 'an unknown customer\'s marker is grey');
    t.like(await ctl('login ' + CUST.egi.pppoe), /^OK/, 'simulator: egisetiawansempu logs in again');
    await page.evaluate(() => MB.api.post('/api/sync'));
    await page.waitForFunction((i) => MB.mapMarkers.get(i).options.fillColor === '#198754',
                               CUST.egi.id, { timeout: SYNC_WAIT });
    t.ok(true, 'after a sync the marker turns green without a reload');
    t.is(await page.textContent('#count-online'),
         String(await page.evaluate(() => [...MB.mapMarkers.values()].filter((m) => m.mbStatus === 'online').length)),
         'the legend counts the online markers');
    // the popup: name and status
    await page.evaluate((i) => MB.mapMarkers.get(i).openPopup(), CUST.egi.id);
    await page.waitForSelector('.leaflet-popup-content .status-badge');
    t.like(await page.textContent('.leaflet-popup-content'), /Egi Setiawan Sempu[\s\S]*ONLINE/,
           'the popup shows the name and the status');
  });

  // ---------------------------------------------------------- Pengaturan
  await t.step('Pengaturan', async () => {
    await page.click('#nav-pengaturan');
    await page.waitForURL(/\/pengaturan\.html/);
    await page.waitForSelector('.router-item');
    // this test's router (other tests may have left theirs)
    await page.click('.router-item[data-id="' + ROUTER_ID + '"]');
    await page.waitForSelector('.router-item.active[data-id="' + ROUTER_ID + '"]');
    t.is(await page.inputValue('#r-host'), '127.0.0.1', 'the form shows the router');
    t.is(await page.getAttribute('#r-password', 'type'), 'password', 'the password field is masked');
    t.is(await page.inputValue('#r-password'), '', 'the stored password is not shown');
    t.is(await page.getAttribute('#r-password', 'placeholder'), '(tersimpan)', 'it says a password is stored');
    await page.waitForFunction(() => /Terhubung/.test(document.getElementById('status-connection').textContent),
                               null, { timeout: SYNC_WAIT });
    t.ok(true, 'Status Koneksi: Terhubung');
    t.is(await page.textContent('#status-interval'), 'Setiap 2 menit', 'Auto-sync: Setiap 2 menit');
    t.like(await page.textContent('#status-last-sync'), /\d\d:\d\d:\d\d/, 'Last Sync shows a time');
    // read by the worker at its login, shown at the next poll
    await page.waitForFunction((id) => document.getElementById('status-identity').textContent === id,
                               process.env.MB_ROUTER_IDENTITY, { timeout: SYNC_WAIT })
      .catch(() => {});
    t.is(await page.textContent('#status-identity'), process.env.MB_ROUTER_IDENTITY,
         'Status Koneksi shows the router identity');
    t.is(await page.textContent('#status-version'), '7.12 (stable)', 'and its RouterOS version');

    await page.click('#test-connection');
    await page.waitForSelector('#test-ok, #test-error', { timeout: 20000 });
    const okText = (await page.locator('#test-result').innerText()).replace(/\s+/g, ' ');
    t.ok(await page.locator('#test-ok').count() === 1, 'Test Koneksi succeeds', okText);
    t.like(okText, new RegExp(process.env.MB_ROUTER_IDENTITY), 'it shows the identity');
    t.like(okText, /7\.12/, 'it shows the RouterOS version');
    t.like(okText, /\d+ ms/, 'it shows the round-trip time');

    // a wrong password: saved, then Test Koneksi says exactly what failed
    await page.fill('#r-password', 'salah-sekali');
    await page.click('#save-config');
    await page.waitForSelector('#form-alert .alert-success');
    t.ok(true, 'Simpan Konfigurasi stores the new password');
    t.is(await page.inputValue('#r-password'), '', 'the password field is empty again after saving');
    await page.click('#test-connection');
    await page.waitForSelector('#test-ok, #test-error', { timeout: 20000 });
    const errText = (await page.locator('#test-result').innerText()).replace(/\s+/g, ' ');
    t.ok(await page.locator('#test-error').count() === 1, 'Test Koneksi with a wrong password fails', errText);
    t.like(errText, /invalid user name or password|password/i, 'and says why: ' + errText.trim());

    // the right password again: the router is usable afterwards
    await page.fill('#r-password', process.env.MB_ROUTER_PASSWORD);
    await page.click('#save-config');
    await page.waitForSelector('#form-alert .alert-success');
    await page.click('#test-connection');
    await page.waitForSelector('#test-ok, #test-error', { timeout: 20000 });
    t.ok(await page.locator('#test-ok').count() === 1, 'Test Koneksi succeeds again with the right password');

    // unsaved form values are tested as they are (POST /api/routers/test)
    await page.fill('#r-password', 'belum-disimpan');
    await page.click('#test-connection');
    await page.waitForSelector('#test-ok, #test-error', { timeout: 20000 });
    t.ok(await page.locator('#test-error').count() === 1,
         'Test Koneksi tests an unsaved wrong password from the form');
    await page.fill('#r-password', '');
    await page.click('#test-connection');
    await page.waitForSelector('#test-ok, #test-error', { timeout: 20000 });
    t.ok(await page.locator('#test-ok').count() === 1,
         'an empty password field tests with the stored password');

    // validation message from the API under the field
    await page.fill('#r-port', '70000');
    await page.click('#save-config');
    await page.waitForSelector('#r-port.is-invalid');
    t.ok(true, 'a bad port is marked under the field');
    await page.fill('#r-port', '');
  });

  // ---------------------------------------------------- customer form
  await t.step('customer form', async () => {
    await page.goto(BASE + '/pelanggan-form.html');
    await page.waitForSelector('#customer-form');
    await page.fill('#c-name', 'Pelanggan Uji');
    await page.fill('#c-username', 'pelangganuji');
    await page.selectOption('#c-router', ROUTER_ID);
    await page.fill('#c-pppoe', CUST.egi.pppoe.toUpperCase());    // taken on this router
    await page.fill('#c-phone', '081234567890');
    await page.click('#customer-save');
    await page.waitForSelector('#c-pppoe.is-invalid');
    const msg = await page.textContent('.invalid-feedback[data-for="pppoe_username"]');
    t.ok(msg.trim().length > 0, 'the API\'s error for a taken PPPoE name shows under the field: ' + msg.trim());
    await page.fill('#c-pppoe', 'pelangganuji');
    await page.fill('#c-lat', '-7.43');
    await page.fill('#c-lng', '');
    await page.click('#customer-save');
    await page.waitForSelector('#c-lng.is-invalid');
    t.ok(true, 'latitude without longitude is refused');
    await page.fill('#c-lng', '109.24');
    await page.click('#customer-save');
    await page.waitForURL(/\/pelanggan\.html/);
    await page.fill('#q', 'pelangganuji');
    await page.waitForSelector('tr[data-pppoe="pelangganuji"]');
    await page.waitForFunction(() => document.querySelectorAll('tr.customer-row').length === 1);
    t.ok(true, 'a new customer is saved and listed');
    t.like(await page.textContent('tr[data-pppoe="pelangganuji"]'), /\+6281234567890/,
           'the phone 0812... is stored as 62812...');
    await page.click('tr[data-pppoe="pelangganuji"] a.customer-name');
    await page.waitForFunction(() => document.getElementById('c-name').value === 'Pelanggan Uji');
    t.ok(true, 'the edit form loads the customer');
    await page.fill('#c-name', 'Pelanggan Uji Diubah');
    await page.click('#customer-save');
    await page.waitForURL(/\/pelanggan\.html/);
    await page.fill('#q', 'pelangganuji');
    await page.waitForFunction(() => /Pelanggan Uji Diubah/.test(document.getElementById('customers-body').textContent));
    t.ok(true, 'an edit is saved');
  });

  // ------------------------------------------ router unreachable banner
  await t.step('unreachable router', async () => {
    t.like(await ctl('drop'), /^OK/, 'simulator: connections dropped');
    t.like(await ctl('stall 60'), /^OK/, 'simulator: stops answering');
    await page.goto(BASE + '/pelanggan.html?router_id=' + ROUTER_ID);
    await page.waitForSelector('tr.customer-row');
    await page.evaluate((id) => MB.api.post('/api/sync?router_id=' + id), ROUTER_ID);
    await page.waitForFunction((name) => {
      const b = document.getElementById('router-unreachable');
      return b && b.textContent.includes('Router ' + name + ' tidak dapat dihubungi');
    }, process.env.MB_ROUTER_NAME, { timeout: 40000 });
    const banner = (await page.locator('#router-unreachable').innerText()).replace(/\s+/g, ' ');
    t.ok(true, 'a banner says the router cannot be reached: ' + banner);
    t.like(banner, /sinkronisasi terakhir \(\d+ (detik|menit) lalu/, 'with the age of the statuses shown');
    t.is(await badge(CUST.egi.pppoe).getAttribute('data-status'), 'online',
         'the statuses keep their last known values');
    t.like(await ctl('stall 0'), /^OK/, 'simulator: answers again');
  });

  // -------------------------------------------------------------- logout
  await t.step('logout', async () => {
    await page.click('#logout-button');
    await page.waitForURL(/\/index\.html/);
    // only this test's router: other tests may have left customers behind
    await page.goto(BASE + '/pelanggan.html?router_id=' + ROUTER_ID);
    await page.waitForURL(/\/index\.html\?next=/);
    t.ok(true, 'Keluar ends the session');
  });

  // ------------------------------------------------ a TECHNICIAN reads only
  await t.step('technician', async () => {
    await page.fill('#username', process.env.MB_TECH_USER);
    await page.fill('#password', process.env.MB_TECH_PASSWORD);
    await page.click('#login-button');
    await page.waitForURL(/\/pelanggan\.html/);
    await page.waitForSelector('tr.customer-row');
    t.ok(await page.locator('#sync-now').isHidden() && await page.locator('#add-customer').isHidden(),
         'a TECHNICIAN sees no Sync Sekarang and no Tambah Pelanggan');
    await page.goto(BASE + '/pengaturan.html?router=' + ROUTER_ID);
    await page.waitForSelector('.router-item.active[data-id="' + ROUTER_ID + '"]');
    t.ok(await page.locator('#save-config').isHidden() && await page.locator('#r-host').isDisabled(),
         'nor Simpan Konfigurasi (the form is read-only)');
    await page.click('#test-connection');
    await page.waitForSelector('#test-ok, #test-error', { timeout: 20000 });
    t.ok(await page.locator('#test-ok').count() === 1, 'but may run Test Koneksi');
    await page.click('#logout-button');
    await page.waitForURL(/\/index\.html/);
  });

  t.ok(problems.length === 0, 'no script errors and no Content-Security-Policy violations',
       problems.join('\n'));
  if (t.done()) await shot('failure');
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}

main().catch((e) => {
  t.ok(false, 'browser test crashed: ' + e.message, e.stack);
  t.done();
  process.exit(1);
});
