// What every browser test script needs besides TAP (tap.js): the
// simulator's control port, and Debian's Chromium launched headless with
// a throwaway profile (flags of design.md section 3).
'use strict';

const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

// one line to the simulator's control port, its one answer line back
function ctl(cmd) {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(process.env.MB_SIM_CONTROL), '127.0.0.1');
    let buf = '';
    s.setTimeout(10000, () => { s.destroy(); reject(new Error('control timeout: ' + cmd)); });
    s.on('connect', () => s.write(cmd + '\n'));
    s.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) { s.end('quit\n'); s.destroy(); resolve(buf.slice(0, i).replace(/\r$/, '')); }
    });
    s.on('error', reject);
  });
}

// { context, page, profile, artifacts }: close the context when done
async function launch() {
  const profile = fs.mkdtempSync(path.join(process.env.MB_TMPDIR || os.tmpdir(), 'mb-chromium-'));
  const artifacts = process.env.MB_ARTIFACTS || profile;
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--disable-quic'],
    viewport: { width: 1280, height: 900 },
    locale: 'id-ID',
    timezoneId: 'Asia/Jakarta',
  });
  context.setDefaultTimeout(15000);
  const page = context.pages()[0] || await context.newPage();
  return { context, page, profile, artifacts };
}

module.exports = { ctl, launch };
