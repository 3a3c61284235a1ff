// Minimal TAP producer for the browser tests (t/browser.t parses it).
'use strict';

let n = 0;
let failed = 0;

function line(s) { process.stdout.write(s + '\n'); }

function ok(cond, name, detail) {
  n++;
  if (!cond) failed++;
  line((cond ? 'ok ' : 'not ok ') + n + ' - ' + String(name).replace(/\n/g, ' '));
  if (!cond && detail !== undefined) diag(detail);
  return !!cond;
}

function is(got, want, name) {
  return ok(got === want, name, 'got: ' + JSON.stringify(got) + '\nexpected: ' + JSON.stringify(want));
}

function like(got, re, name) {
  return ok(typeof got === 'string' && re.test(got), name,
            'got: ' + JSON.stringify(got) + '\nexpected to match: ' + re);
}

function diag(text) {
  for (const l of String(text).split('\n')) line('# ' + l);
}

// run an async step; an exception is one failed test, not the end of the run
async function step(name, fn) {
  try {
    await fn();
  } catch (e) {
    ok(false, name + ': ' + (e && e.message ? e.message.split('\n')[0] : e), e && e.stack);
  }
}

function done() {
  line('1..' + n);
  return failed;
}

module.exports = { ok, is, like, diag, step, done };
