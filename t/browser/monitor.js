// Monitor Trafik end to end in Debian's headless Chromium (docs/monitor.md,
// docs/dashboard.md): run by t/browser.t after dashboard.js, with the same
// nginx, worker, simulated router and customers; prints TAP.
//
// A customer logs in on the simulator with a known rate; the operator opens
// Monitor Trafik from the customer's row in Pelanggan; the chart gets points
// and the speed text is the simulator's rate; the rate changes and so do the
// text and the chart; a reload shows the running monitor again; a dropped
// router connection is reported and resumes; the session ends on the router
// and the card says the customer went offline; starting an offline customer
// says so; the monitor started again from the chooser stops with Stop and
// the slot is free again.
//
// Environment: as dashboard.js (MB_BASE_URL, MB_USER, MB_PASSWORD,
// MB_SIM_CONTROL, MB_ROUTER_ID, MB_CUSTOMERS with `mon` = {id, pppoe} and
// `nopppoe`, CHROMIUM, MB_ARTIFACTS, MB_TMPDIR).
'use strict';

const fs = require('fs');
const path = require('path');
const t = require('./tap');
const { ctl, launch } = require('./common');

const BASE = process.env.MB_BASE_URL;
const CUST = JSON.parse(process.env.MB_CUSTOMERS || '{}');
const ROUTER_ID = process.env.MB_ROUTER_ID;
const MON = CUST.mon || {};
const SYNC_WAIT = 30000;
const LIVE_WAIT = 20000;     // a sample or an event over the WebSocket

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const { context, page, profile, artifacts } = await launch();

  const problems = [];
  const statusLines = [];  // [time, "Status updated: ..."]
  const statusRequests = [];
  page.on('request', (r) => { if (r.url().includes('/api/sync/status')) statusRequests.push(Date.now()); });
  page.on('console', (m) => {
    const text = m.text();
    if (text.startsWith('Status updated: ')) statusLines.push([Date.now(), text]);
    if (/Content Security Policy|Refused to (load|execute|apply|connect)/i.test(text)) problems.push('console: ' + text);
  });
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));

  const shot = async (name) => {
    try { await page.screenshot({ path: path.join(artifacts, name + '.png'), fullPage: true }); }
    catch (e) { /* the page may be gone */ }
  };
  const cardSel = '.monitor-card[data-customer-id="' + MON.id + '"]';
  const api = (method, p) => page.evaluate(([m, u]) => MB.api.request(m, u).catch((e) => ({
    error: true, status: e.status, message: e.message })), [method, p]);
  const monitorStatus = () => api('GET', '/api/monitor/status');
  const speedText = () => page.evaluate((sel) => {
    const e = document.querySelector(sel + ' .monitor-speed');
    return e ? e.textContent.replace(/\s+/g, ' ').trim() : null;
  }, cardSel);
  // the chart's points (no gaps) of a dataset: 0 download, 1 upload
  const points = (ds) => page.evaluate(([id, i]) => {
    const c = MB.monitor.cards.get(id);
    return c && c.chart ? c.chart.data.datasets[i].data.filter((p) => p.y !== null) : [];
  }, [MON.id, ds]);
  const near = (a, b) => typeof a === 'number' && Math.abs(a - b) < 1e-6;
  const waitOnline = async (want) => {
    // the customer's stored status after a sync
    await page.evaluate(async ([id, w, ms]) => {
      const end = Date.now() + ms;
      await MB.api.post('/api/sync');
      for (;;) {
        const r = await MB.api.get('/api/customers/' + id);
        if ((r.data || r).conn_status === w) return;
        if (Date.now() > end) throw new Error('customer not ' + w + ' after a sync');
        await new Promise((res) => setTimeout(res, 300));
      }
    }, [MON.id, want, SYNC_WAIT]);
  };

  // a failed step says what the page showed
  const step = (name, fn) => t.step(name, async () => {
    try {
      await fn();
    } catch (e) {
      try {
        const state = await page.evaluate(() => JSON.stringify({
          url: location.href,
          alert: (document.getElementById('page-alert') || {}).textContent,
          slots: (document.getElementById('slot-info') || {}).textContent,
          live: (document.getElementById('live-state') || {}).textContent,
          cards: [...document.querySelectorAll('.monitor-card')].map((c) => ({
            id: c.dataset.customerId, state: c.dataset.state, samples: c.dataset.samples,
            text: c.innerText.replace(/\s+/g, ' ').slice(0, 400) })),
        }));
        t.diag('page: ' + state);
      } catch (e2) { /* the page is gone */ }
      throw e;
    }
  });

  let before = 0;       // monitors running before this test
  let max = 0;

  // ------------------------------------------------------------ login
  await step('login', async () => {
    t.ok(!!MON.id && MON.pppoe === 'monitoruji', 'the monitor customer exists', JSON.stringify(MON));
    await page.goto(BASE + '/pelanggan.html?router_id=' + ROUTER_ID);
    await page.waitForURL(/\/index\.html\?next=/);
    await page.fill('#username', process.env.MB_USER);
    await page.fill('#password', process.env.MB_PASSWORD);
    await page.click('#login-button');
    await page.waitForURL(/\/pelanggan\.html\?router_id=/);
    await page.waitForSelector('tr.customer-row');
    t.ok(await page.locator('nav .nav-link', { hasText: 'Monitor Trafik' }).count() === 1,
         'navigation has Monitor Trafik');
    // the router is back from dashboard.js's stall
    await page.waitForFunction(async (rid) => {
      const s = await MB.api.get('/api/sync/status');
      const r = s.routers.find((x) => x.router_id === rid);
      return r && r.connected;
    }, ROUTER_ID, { timeout: SYNC_WAIT, polling: 1000 });

    // Pelanggan refreshes on the WebSocket's sync event, not on its next poll
    await page.waitForFunction(() => MB.live && MB.live.connected, null, { timeout: 15000 });
    t.ok(true, 'Pelanggan has the live WebSocket open');
    await page.evaluate(() => {
      window.mbSyncEvents = [];
      MB.live.onSync((m) => window.mbSyncEvents.push([Date.now(), m]));
    });
    const lines0 = statusLines.length;
    await page.evaluate(() => MB.api.post('/api/sync'));
    await page.waitForFunction(() => window.mbSyncEvents.length > 0, null, { timeout: SYNC_WAIT });
    const [evAt, ev] = await page.evaluate(() => window.mbSyncEvents[0]);
    t.ok(ev.event === 'sync' && ev.router_id === ROUTER_ID && typeof ev.active_connections === 'number',
         'a sync event arrives over the WebSocket', JSON.stringify(ev));
    await sleep(3000);
    const next = statusRequests.find((x) => x >= evAt - 50);
    t.ok(next !== undefined && next - evAt < 1000,
         'the page asks for /api/sync/status at once (' + (next === undefined ? 'never' : (next - evAt) + ' ms') + ')');
    const line = statusLines.slice(lines0).find(([at]) => at >= evAt - 50);
    t.ok(line && line[0] - evAt < 2500, 'and logs ' + (line ? '"' + line[1] + '"' : 'no status line')
         + (line ? ' ' + (line[0] - evAt) + ' ms after the event' : ''));

    const s = await monitorStatus();
    t.ok(s && s.status === 'ok' && Array.isArray(s.active_monitors),
         'GET /api/monitor/status answers', JSON.stringify(s));
    before = s.monitor_count || 0;
    max = s.max_concurrent || 0;
    t.ok(max > before, 'a slot is free (' + before + ' / ' + max + ')');
  });

  // ---------------------------------------------- Monitor button -> card
  await step('start from Pelanggan', async () => {
    t.like(await ctl('login ' + MON.pppoe + ' 10.10.10.9'), /^OK/, 'simulator: monitoruji logs in');
    // 1.23 Mbps from the customer (rx, upload), 5.23 Mbps to it (tx, download)
    t.like(await ctl('rate ' + MON.pppoe + ' 1234567 5234567'), /^OK/, 'simulator: rate rx 1234567 tx 5234567');
    await waitOnline('online');
    await page.reload();
    const row = 'tr[data-id="' + MON.id + '"]';
    await page.waitForSelector(row + ' .status-badge[data-status="online"]', { timeout: SYNC_WAIT });
    t.ok(await page.locator(row + ' a.monitor-link').count() === 1, 'the PPPoE customer\'s row has a Monitor button');
    if (CUST.nopppoe) {
      t.ok(await page.locator('tr[data-id="' + CUST.nopppoe.id + '"] a.monitor-link').count() === 0,
           'a customer without a PPPoE name has none');
    }
    if (CUST.static) {
      t.ok(await page.locator('tr[data-id="' + CUST.static.id + '"] a.monitor-link').count() === 0,
           'a static IP customer has none');
    }
    await page.click(row + ' a.monitor-link');
    await page.waitForURL(/\/monitor\.html/);
    t.ok(await page.locator('#nav-monitor.active').count() === 1, 'Monitor Trafik is the active page');
    await page.waitForSelector(cardSel);
    t.ok(true, 'the monitor page shows a card for the customer');
    await page.waitForFunction((sel) => Number(document.querySelector(sel).dataset.samples) >= 3,
                               cardSel, { timeout: LIVE_WAIT });
    t.ok(true, 'samples arrive over the WebSocket');
    t.is(await speedText(), 'Download 5.23 Mbps / Upload 1.23 Mbps',
         'the speed text is the simulator\'s rate (download = tx, upload = rx)');
    const dl = await points(0);
    const ul = await points(1);
    t.ok(dl.length >= 3 && ul.length >= 3, 'the chart has points (' + dl.length + ')');
    t.ok(near(dl[dl.length - 1].y, 5.234567), 'the chart\'s download is 5.234567 Mbps',
         JSON.stringify(dl.slice(-2)));
    t.ok(near(ul[ul.length - 1].y, 1.234567), 'the chart\'s upload is 1.234567 Mbps',
         JSON.stringify(ul.slice(-2)));
    t.like(await page.textContent(cardSel + ' .monitor-name'), /^Monitor Uji$/, 'the card names the customer');
    await page.waitForFunction((sel) => document.querySelector(sel + ' .monitor-interface').textContent !== '',
                               cardSel);
    t.is(await page.textContent(cardSel + ' .monitor-interface'), '<pppoe-monitoruji>', 'and the interface');
    t.is(await page.getAttribute('#live-state', 'data-state'), 'open', 'the live connection is open');
    await page.waitForFunction((want) => document.getElementById('slot-info').textContent === want,
                               'Slot terpakai: ' + (before + 1) + ' / ' + max);
    t.ok(true, 'Slot terpakai: ' + (before + 1) + ' / ' + max);
    t.ok(!/customer=/.test(page.url()), 'the address no longer starts it again on reload');
    const s = await monitorStatus();
    t.ok(s.active_monitors.includes(MON.id), 'the API lists the monitor');
  });

  // ------------------------------------------------------- rate changes
  await step('rate change', async () => {
    const xmax0 = await page.evaluate((id) => MB.monitor.cards.get(id).chart.scales.x.max, MON.id);
    await sleep(2100);
    const xmax1 = await page.evaluate((id) => MB.monitor.cards.get(id).chart.scales.x.max, MON.id);
    t.ok(xmax1 - xmax0 >= 1500, 'the chart scrolls with the clock (' + (xmax1 - xmax0) + ' ms)');
    const img0 = await page.evaluate((sel) => document.querySelector(sel + ' canvas').toDataURL(), cardSel);
    t.like(await ctl('rate ' + MON.pppoe + ' 850000 20000000'), /^OK/, 'simulator: rate rx 850000 tx 20000000');
    await page.waitForFunction(([sel, want]) => {
      const e = document.querySelector(sel + ' .monitor-speed');
      return e && e.textContent.replace(/\s+/g, ' ').trim() === want;
    }, [cardSel, 'Download 20.00 Mbps / Upload 850.00 Kbps'], { timeout: LIVE_WAIT });
    t.ok(true, 'the text follows: Download 20.00 Mbps / Upload 850.00 Kbps');
    const dl = await points(0);
    const ul = await points(1);
    t.ok(near(dl[dl.length - 1].y, 20), 'the chart\'s download is now 20 Mbps', JSON.stringify(dl.slice(-2)));
    t.ok(near(ul[ul.length - 1].y, 0.85), 'the chart\'s upload is now 0.85 Mbps', JSON.stringify(ul.slice(-2)));
    t.ok(dl.some((p) => near(p.y, 5.234567)), 'the earlier rate is still in the last 60 s');
    const ymax = await page.evaluate((id) => MB.monitor.cards.get(id).chart.scales.y.max, MON.id);
    t.ok(ymax >= 20, 'the y axis grew to the new rate (' + ymax + ')');
    const img1 = await page.evaluate((sel) => document.querySelector(sel + ' canvas').toDataURL(), cardSel);
    t.ok(img0 !== img1, 'the chart was redrawn');
  });

  // ----------------------------------------------- running monitors on load
  await step('reload', async () => {
    await page.reload();
    await page.waitForSelector(cardSel);
    t.ok(true, 'a reload shows the running monitor (from /api/monitor/status)');
    t.is(await page.locator('.monitor-card').count(), before + 1, 'once');
    await page.waitForFunction((sel) => Number(document.querySelector(sel).dataset.samples) >= 2,
                               cardSel, { timeout: LIVE_WAIT });
    t.is(await speedText(), 'Download 20.00 Mbps / Upload 850.00 Kbps', 'and its samples come again');
  });

  // ------------------------------------------ router connection dropped
  await step('router interrupted', async () => {
    t.like(await ctl('drop'), /^OK/, 'simulator: every API connection dropped');
    await page.waitForFunction((sel) => /terputus/i.test(document.querySelector(sel + ' .monitor-log').textContent),
                               cardSel, { timeout: LIVE_WAIT });
    t.ok(true, 'the card says the router connection was lost');
    await page.waitForFunction((sel) => /berjalan lagi/i.test(document.querySelector(sel + ' .monitor-log').textContent),
                               cardSel, { timeout: SYNC_WAIT });
    t.ok(true, 'and that the monitor runs again');
    const n = Number(await page.getAttribute(cardSel, 'data-samples'));
    await page.waitForFunction(([sel, k]) => Number(document.querySelector(sel).dataset.samples) > k,
                               [cardSel, n], { timeout: LIVE_WAIT });
    t.is(await page.getAttribute(cardSel, 'data-state'), 'live', 'samples flow again');
  });

  // ------------------------------------------------ the session ends
  await step('customer offline', async () => {
    t.like(await ctl('logout ' + MON.pppoe), /^OK/, 'simulator: monitoruji logs out');
    await page.waitForFunction((sel) => {
      const e = document.querySelector(sel + ' .monitor-message');
      return e && /offline/.test(e.textContent);
    }, cardSel, { timeout: LIVE_WAIT });
    t.is((await page.textContent(cardSel + ' .monitor-message')).trim(),
         'Pelanggan Monitor Uji offline: sesi PPPoE berakhir, monitor dihentikan',
         'the card shows the offline message');
    t.is(await page.getAttribute(cardSel, 'data-state'), 'ended', 'the card is marked stopped');
    t.is(await page.getAttribute(cardSel, 'data-reason'), 'offline', 'reason offline');
    await page.waitForFunction((want) => document.getElementById('slot-info').textContent === want,
                               'Slot terpakai: ' + before + ' / ' + max, { timeout: 15000 });
    t.ok(true, 'the slot is free again: Slot terpakai: ' + before + ' / ' + max);
    const n = await page.getAttribute(cardSel, 'data-samples');
    await sleep(2000);
    t.is(await page.getAttribute(cardSel, 'data-samples'), n, 'no samples after the end');
    await page.click(cardSel + ' .monitor-close');
    await page.waitForSelector(cardSel, { state: 'detached' });
    t.ok(true, 'Tutup removes the card');
  });

  // ------------------------------------------ errors in the operator's words
  await step('start errors', async () => {
    await page.fill('#m-search', 'Monitor Uji');
    const res = '.search-result[data-id="' + MON.id + '"] .monitor-start';
    await page.waitForSelector(res);
    t.ok(true, 'the chooser finds the customer');
    await page.click(res);
    await page.waitForFunction(() => /Pelanggan sedang offline/.test(document.getElementById('page-alert').textContent),
                               null, { timeout: LIVE_WAIT });
    t.like(await page.textContent('#page-alert'), /Gagal memulai monitor Monitor Uji: Pelanggan sedang offline/,
           'starting an offline customer: "Pelanggan sedang offline"');
    t.is(await page.locator(cardSel).count(), 0, 'and no card stays');
    if (CUST.nopppoe) {
      await page.goto(BASE + '/monitor.html?customer=' + CUST.nopppoe.id);
      await page.waitForFunction(() => /username PPPoE/.test(document.getElementById('page-alert').textContent),
                                 null, { timeout: LIVE_WAIT });
      t.ok(true, 'a customer without a PPPoE name: ' + (await page.textContent('#page-alert')).trim());
      t.is(await page.locator('.monitor-card').count(), before, 'no card for it');
    }
    await page.goto(BASE + '/monitor.html?customer=00000000-0000-4000-8000-000000000000');
    await page.waitForFunction(() => /tidak ditemukan/.test(document.getElementById('page-alert').textContent),
                               null, { timeout: LIVE_WAIT });
    t.ok(true, 'an unknown customer: ' + (await page.textContent('#page-alert')).trim());

    // answers the simulator cannot provoke here, faked in the browser: the
    // texts the operator gets
    const fake = [
      [429, 'no_slot', /Slot monitor penuh \(\d+\/\d+\)/],
      [503, 'router_not_connected', /Router MikroTik tidak terhubung/],
      [504, 'worker_timeout', /Worker tidak menjawab/],
    ];
    for (const [code, error, re] of fake) {
      await page.route('**/api/monitor/start*', (route) => route.fulfill({
        status: code, contentType: 'application/json',
        body: JSON.stringify({ error, message: 'x' }) }));
      await page.goto(BASE + '/monitor.html?customer=' + MON.id);
      await page.waitForFunction((src) => new RegExp(src).test(document.getElementById('page-alert').textContent),
                                 re.source, { timeout: LIVE_WAIT });
      t.ok(true, code + ': ' + (await page.textContent('#page-alert')).trim());
      t.is(await page.locator(cardSel).count(), 0, 'no card stays after a ' + code);
      await page.unroute('**/api/monitor/start*');
    }
  });

  // ------------------------------------------- from the chooser, then Stop
  await step('start and stop', async () => {
    t.like(await ctl('login ' + MON.pppoe + ' 10.10.10.9'), /^OK/, 'simulator: monitoruji logs in again');
    t.like(await ctl('rate ' + MON.pppoe + ' 2000000 3000000'), /^OK/, 'simulator: rate rx 2000000 tx 3000000');
    await waitOnline('online');
    await page.goto(BASE + '/monitor.html');
    await page.fill('#m-search', 'monitoruji');
    const res = '.search-result[data-id="' + MON.id + '"] .monitor-start';
    await page.waitForSelector(res + ':not([disabled])');
    await page.click(res);
    await page.waitForSelector(cardSel);
    await page.waitForFunction(([sel, want]) => {
      const e = document.querySelector(sel + ' .monitor-speed');
      return e && e.textContent.replace(/\s+/g, ' ').trim() === want;
    }, [cardSel, 'Download 3.00 Mbps / Upload 2.00 Mbps'], { timeout: LIVE_WAIT });
    t.ok(true, 'started from the chooser: Download 3.00 Mbps / Upload 2.00 Mbps');
    await page.waitForFunction((want) => document.getElementById('slot-info').textContent === want,
                               'Slot terpakai: ' + (before + 1) + ' / ' + max);
    t.ok(true, 'one slot in use again');
    await page.click(cardSel + ' .monitor-stop');
    await page.waitForSelector(cardSel, { state: 'detached' });
    t.ok(true, 'Stop removes the card');
    await page.waitForFunction((want) => document.getElementById('slot-info').textContent === want,
                               'Slot terpakai: ' + before + ' / ' + max);
    t.ok(true, 'and the slot count is back: Slot terpakai: ' + before + ' / ' + max);
    const s = await monitorStatus();
    t.ok(!s.active_monitors.includes(MON.id), 'the API no longer lists the monitor');
    t.ok(await page.locator('#page-alert .alert').count() === 0, 'no error shown',
         await page.textContent('#page-alert'));
    t.like(await ctl('logout ' + MON.pppoe), /^OK/, 'simulator: monitoruji logs out (clean up)');
  });

  // ------------------------------------------------ a USER may not monitor
  await step('USER role', async () => {
    await page.click('#logout-button');
    await page.waitForURL(/\/index\.html/);
    await page.goto(BASE + '/pelanggan.html?router_id=' + ROUTER_ID);
    await page.waitForURL(/\/index\.html\?next=/);
    await page.fill('#username', process.env.MB_VIEW_USER);
    await page.fill('#password', process.env.MB_VIEW_PASSWORD);
    await page.click('#login-button');
    await page.waitForURL(/\/pelanggan\.html/);
    await page.waitForSelector('tr.customer-row');
    t.ok(await page.locator('#nav-monitor').count() === 0, 'a USER has no Monitor Trafik in the navigation');
    t.ok(await page.locator('a.monitor-link').count() === 0, 'nor Monitor buttons in Pelanggan');
    await page.goto(BASE + '/monitor.html?customer=' + MON.id);
    await page.waitForFunction(() => /tidak memiliki akses/.test(document.getElementById('page-alert').textContent));
    t.ok(await page.locator('.monitor-card').count() === 0 && await page.locator('#chooser').isHidden(),
         'monitor.html tells a USER it is not for them');
    const r = await api('POST', '/api/monitor/start?customer_id=' + MON.id);
    t.is(r && r.status, 403, 'and the API refuses a start (403)');
    await page.click('#logout-button');
    await page.waitForURL(/\/index\.html/);
  });

  t.ok(problems.length === 0, 'no script errors and no Content-Security-Policy violations',
       problems.join('\n'));
  if (t.done()) {
    await shot('failure-monitor');
    process.exitCode = 1;
  }
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}

main().catch((e) => {
  t.ok(false, 'browser test crashed: ' + e.message, e.stack);
  t.done();
  process.exit(1);
});
