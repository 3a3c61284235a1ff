// mikrobill-ros-sim checked by node-routeros, a RouterOS client nobody here
// wrote (t/ros_node.t starts the simulators and runs this).  Prints TAP.
//
// Environment: ROS_PORT (a 6.49 simulator), ROS_CONTROL (its control port),
// ROS_USER, ROS_PASSWORD; optional ROS_OLD_PORT (6.40: MD5 challenge
// login), ROS_TLS_PORT (API-SSL with a certificate), ROS_ANON_PORT
// (API-SSL without a certificate: anonymous DH).
'use strict';

const net = require('net');
const { RouterOSAPI } = require('node-routeros');

const env = process.env;
const USER = env.ROS_USER;
const PASSWORD = env.ROS_PASSWORD;
let count = 0;
let failed = 0;

function ok(cond, name, diag) {
    count++;
    console.log(`${cond ? '' : 'not '}ok ${count} - ${name}`);
    if (!cond) {
        failed++;
        if (diag !== undefined) {
            console.log('# ' + JSON.stringify(diag));
        }
    }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// one line to the simulator's control interface, its answer
function control(line) {
    return new Promise((resolve, reject) => {
        const s = net.connect(+env.ROS_CONTROL, '127.0.0.1');
        let buf = '';
        s.on('data', (d) => {
            buf += d;
            if (buf.includes('\n')) {
                s.end();
                resolve(buf.split('\n')[0]);
            }
        });
        s.on('error', reject);
        s.write(line + '\n');
    });
}

function api(port, extra) {
    return new RouterOSAPI(Object.assign({
        host: '127.0.0.1', port: port, user: USER, password: PASSWORD,
        timeout: 5,
    }, extra || {}));
}

async function rejects(promise) {
    try {
        await promise;
        return null;
    } catch (e) {
        return e;
    }
}

async function secrets(conn) {
    const id = await conn.write('/system/identity/print');
    ok(id.length === 1 && id[0].name === 'node-check', 'identity print',
       id);

    const added = await conn.write('/ppp/secret/add', [
        '=name=node-user', '=password=p=q', '=profile=default',
        '=comment=',
    ]);
    const ret = added.length === 1 ? added[0].ret : undefined;
    ok(/^\*[0-9A-F]+$/.test(ret || ''), 'add returns =ret=*ID', added);

    let rows = await conn.write('/ppp/secret/print', ['?name=node-user']);
    ok(rows.length === 1 && rows[0]['.id'] === ret
       && rows[0].password === 'p=q' && rows[0].comment === '',
       'print with a query: the value keeps its "=", an empty value stays',
       rows);

    await conn.write('/ppp/secret/set', [`=.id=${ret}`, '=comment=via node']);
    rows = await conn.write('/ppp/secret/print', [
        '?name=node-user', '=.proplist=.id,name,comment',
    ]);
    ok(rows.length === 1 && rows[0].comment === 'via node'
       && rows[0].password === undefined,
       'set by id, then print with .proplist', rows);

    const dup = await rejects(conn.write('/ppp/secret/add',
                                         ['=name=node-user']));
    ok(dup && dup.message ===
       'failure: secret with the same name already exists',
       'a duplicate add is a !trap, which becomes an error',
       dup && dup.message);

    const bad = await rejects(conn.write('/ppp/secret/remove',
                                         ['=.id=*7777']));
    ok(bad && bad.message === 'no such item', 'a bad id traps no such item',
       bad && bad.message);

    const unknown = await rejects(conn.write('/ppp/secret/frobnicate'));
    ok(unknown && unknown.message === 'no such command',
       'an unknown command traps', unknown && unknown.message);

    await conn.write('/ppp/secret/remove', [`=.id=${ret}`]);
    rows = await conn.write('/ppp/secret/print', ['?name=node-user']);
    ok(rows.length === 0, 'remove; the print finds nothing', rows);
}

async function concurrent(conn) {
    const [res, ids, prof] = await Promise.all([
        conn.write('/system/resource/print'),
        conn.write('/system/identity/print'),
        conn.write('/ppp/profile/print', ['?name=default']),
    ]);
    ok(res.length === 1 && /^6\.49/.test(res[0].version)
       && res[0]['board-name'] && res[0]['total-memory'],
       'three tagged commands at once: resource', res);
    ok(ids.length === 1 && ids[0].name === 'node-check',
       'three tagged commands at once: identity', ids);
    ok(prof.length === 1 && prof[0]['.id'] === '*0',
       'three tagged commands at once: profile', prof);
}

async function stream(conn) {
    ok(/^OK/.test(await control('login node-cust')), 'control login');
    ok(/^OK/.test(await control('rate node-cust 1500000 12000000')),
       'control rate');

    const got = [];
    let errors = 0;
    const st = conn.stream('/interface/monitor-traffic',
                           ['=interface=<pppoe-node-cust>', '=interval=1'],
                           (err, packet) => {
                               if (err) {
                                   errors++;
                               } else if (packet && packet.name) {
                                   got.push(packet);
                               }
                           });
    for (let i = 0; i < 60 && got.length < 3; i++) {
        await sleep(100);
    }
    ok(got.length >= 3, 'monitor-traffic streams !re', got.length);
    ok(got.length > 0 && got[0]['tx-bits-per-second'] === '12000000'
       && got[0]['rx-bits-per-second'] === '1500000',
       'the stream reports the rate set through control', got[0]);

    await st.stop();
    const seen = got.length;
    await sleep(1500);
    ok(got.length === seen && errors === 0,
       'stream.stop() (/cancel) ends it cleanly, nothing after',
       { seen, now: got.length, errors });

    // the connection is still good after a cancel
    const rows = await conn.write('/ppp/active/print',
                                  ['?name=node-cust']);
    ok(rows.length === 1 && rows[0].address, 'active session printed',
       rows);

    // a kick ends the stream of that interface with a !trap
    let trapped = null;
    conn.stream('/interface/monitor-traffic',
                ['=interface=<pppoe-node-cust>'], (err) => {
                    if (err) {
                        trapped = err;
                    }
                });
    await sleep(300);
    await conn.write('/ppp/active/remove', [`=.id=${rows[0]['.id']}`]);
    for (let i = 0; i < 30 && !trapped; i++) {
        await sleep(100);
    }
    ok(trapped !== null, 'a kicked session ends its stream with an error',
       trapped && trapped.message);
}

async function wrongPassword(port) {
    const conn = api(port, { password: 'not-the-password' });
    const err = await rejects(conn.connect());
    ok(err && err.errno === 'CANTLOGIN',
       `wrong password fails to log in (port ${port})`, err && err.message);
}

async function loginOnly(port, name, extra) {
    const conn = api(port, extra);
    try {
        await conn.connect();
        const id = await conn.write('/system/identity/print');
        ok(id.length === 1, name, id);
        await conn.close();
    } catch (e) {
        ok(false, name, e && (e.message || e.errno || String(e)));
    }
}

async function main() {
    const conn = api(+env.ROS_PORT);
    await conn.connect();
    ok(true, 'logs in (6.49, plain login)');
    await secrets(conn);
    await concurrent(conn);
    await stream(conn);
    await conn.close();
    await wrongPassword(+env.ROS_PORT);

    if (env.ROS_OLD_PORT) {
        await loginOnly(+env.ROS_OLD_PORT,
                        'logs in to 6.40 (MD5 challenge) and prints');
        await wrongPassword(+env.ROS_OLD_PORT);
    }
    if (env.ROS_TLS_PORT) {
        await loginOnly(+env.ROS_TLS_PORT, 'API-SSL with a certificate',
                        { tls: { rejectUnauthorized: false } });
    }
    if (env.ROS_ANON_PORT) {
        await loginOnly(+env.ROS_ANON_PORT,
                        'API-SSL without a certificate (anonymous DH)',
                        { tls: { rejectUnauthorized: false,
                                 ciphers: 'aNULL:@SECLEVEL=0',
                                 maxVersion: 'TLSv1.2' } });
    }
    console.log(`1..${count}`);
    process.exit(failed ? 1 : 0);
}

main().catch((e) => {
    ok(false, 'no exception', e && (e.stack || e.message || e));
    console.log(`1..${count}`);
    process.exit(1);
});
