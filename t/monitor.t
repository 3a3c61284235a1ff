# The traffic monitor end to end (spec 001, docs/monitor.md): REST on
# nginx, the real worker, the RouterOS simulator, and the samples arriving
# over the module's own WebSocket.  Start -> a sample each second in the
# spec's format with the simulator's rates; a second start starts nothing;
# the rate changes -> the numbers follow; "*" sees every customer; slots
# full -> 429; stop -> monitor_stopped and the samples cease; the session
# drops -> monitor_stopped "offline" and the slot is free; worker restart
# -> the monitor resumes by itself; nobody watching -> idle stop; router
# down -> 503; a sync run reaches the socket as a "sync" event; the router
# disabled -> its monitors end with an "error" event and free their slots.

use strict;
use warnings;

use lib '.';
use t::MikroBill;
use t::Worker;
use t::WsClient;
use JSON::PP qw(decode_json);
use Time::HiRes qw(sleep time);

my ($worker, $dir, $rport) =
    needs_env(qw(MIKROBILL_WORKER MIKROBILL_TEST_DIR TEST_NGINX_REDIS_PORT));
my $slow  = $ENV{MIKROBILL_SAN} ? 3 : 1;
my $PW    = 'Rahasia-123';
my $rpass = "Rtr-pass-$$-m";
my $KEY   = 'mikrobill:monitors';
my $IDLE  = 4;

t::Worker::setup(files => 'mon-', id => 'mon', stream => 'mikrobill:commands',
                 consumer => sub { "t-mon-$_[0]-$$" }, rpass => $rpass,
                 slow => $slow,
                 conf => [secret_key_file => "$dir/mon-secret-$$.key",
                          router_lease_ms => 2000, claim_idle_ms => 2000,
                          sync_interval_s => 3600, monitor_idle_s => $IDLE]);

sub api {
    my ($token, $method, $path) = @_;
    return mb_http($method, $path, { Authorization => "Bearer $token" });
}

sub customer {
    my ($name, $user, $pppoe, $router) = @_;
    return scalar mb_psql('INSERT INTO customers (name, username,'
        . ' pppoe_username, router_id, conn_status) VALUES (?, ?, ?, ?,'
        . " 'online') RETURNING id", $name, $user, $pppoe, $router);
}

# samples (no "event" key) of customer $id within $secs (longer under the
# sanitizers, unless $exact: a rate is counted in real seconds)
sub samples {
    my ($ws, $id, $secs, $exact) = @_;
    return grep { !exists $_->{event} && ($_->{customer_id} // '') eq $id }
        $ws->read_all_json($exact ? $secs : $secs * $slow);
}

sub event {
    my ($ws, $name, $id, $secs) = @_;
    return $ws->read_json(timeout => $secs * $slow, until => sub {
        ($_[0]{event} // '') eq $name
            && (!defined $id || ($_[0]{customer_id} // '') eq $id) });
}

sub start_mon {
    my ($token, $id) = @_;
    return api($token, 'POST', "/api/monitor/start?customer_id=$id");
}

sub running { return { mb_redis('HGETALL', $KEY) } }

# ------------------------------------------------------------------ setup

mb_psql("DELETE FROM login_failures");
mb_delete_users("username LIKE 'mt\\_%'");
mb_redis('DEL', $KEY);
is(mb_create_user('mt_' . lc $_, $PW, $_), 0, "user $_") for qw(ADMIN TECHNICIAN);

unlink "$dir/mon-secret-$$.key";
is(system("$worker gen-key $dir/mon-secret-$$.key >/dev/null"), 0, 'gen-key');
my $sim = start_sim('a');
my $rid = add_router("mon-a-$$", $sim);
ok($rid, 'a router on the simulator');

my %c = (
    budi => customer('Budi Santoso', "mt-budi-$$", 'budi01', $rid),
    sari => customer('Sari', "mt-sari-$$", 'sari01', $rid),
    tono => customer('Tono', "mt-tono-$$", 'tono01', $rid),
    # stored in capitals, logged in in lower case on the router
    dewi => customer('Dewi', "mt-dewi-$$", 'DEWI01', $rid),
);
for my $u (qw(budi01 sari01 tono01 dewi01)) {
    like(ctl($sim, "login $u"), qr/^OK/, "$u logged in on the router");
}
is(ctl($sim, 'rate budi01 850000 5234567'), 'OK', 'budi01: rx 850k tx 5.2M');

my ($m, $h, $cf) = mb_default_config();
mb_start_nginx($m, $h . "    mikrobill_login_delay 1ms;\n"
                      . "    mikrobill_login_max_failures_addr 1000;\n"
                      . "    mikrobill_command_timeout " . 8 * $slow . "s;\n"
                      . "    mikrobill_monitor_max 2;\n",
               $cf . "        location = /ws { mikrobill_websocket; }\n");
my $adm = mb_login('mt_admin', $PW);
my $tech = mb_login('mt_technician', $PW);
ok($adm && $tech, 'logged in');

my $w = start_worker('one');
ok(wait_for(sub { rcli('GET', "mikrobill:router:$rid:owner") }, 10),
   'the worker owns the router');

my $ws = t::WsClient->connect(query_token => $tech);
ok($ws->ok, 'a technician on /ws') or diag($ws->status, $ws->body);
is(($ws->subscribe($c{budi}) || {})->{event}, 'subscribed', 'subscribed to Budi');
is(($ws->subscribe($c{sari}) || {})->{event}, 'subscribed', 'subscribed to Sari');
my $all = t::WsClient->connect(query_token => $adm);
is(($all->subscribe('*') || {})->{event}, 'subscribed', 'an admin on "*"');

# ------------------------------------------------------------------ start

my $r = start_mon($tech, $c{budi});
is($r->{status}, 200, 'start: 200') or diag($r->{body}, slurp($w->{log}));
is_deeply($r->{json}, { status => 'success', message => 'Monitoring started',
                        customer_id => $c{budi},
                        already_running => JSON::PP::false() },
          'start: the spec shape');

ok(wait_for(sub { scalar samples($ws, $c{budi}, 1, 1) }, 5),
   'the first sample');
my @s = samples($ws, $c{budi}, 3.6, 1);
ok(@s >= 2 && @s <= 5, 'about one sample a second') or diag(scalar @s);
my $one = $s[-1] || {};
is_deeply([sort keys %$one],
          [sort qw(customer_id customer_name username service_type interface
                   rx_bits_per_second tx_bits_per_second download_speed
                   upload_speed timestamp)], 'sample: the spec keys');
is($one->{customer_name}, 'Budi Santoso', 'sample: customer_name');
is($one->{username}, "mt-budi-$$", 'sample: username');
is($one->{service_type}, 'pppoe', 'sample: service_type');
is($one->{interface}, '<pppoe-budi01>', 'sample: interface');
is($one->{rx_bits_per_second}, '850000', 'sample: rx as a string');
is($one->{tx_bits_per_second}, '5234567', 'sample: tx as a string');
is($one->{download_speed}, '5.23 Mbps', 'sample: download from tx');
is($one->{upload_speed}, '850.00 Kbps', 'sample: upload from rx, in Kbps');
like($one->{timestamp}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'sample: RFC 3339 UTC');
my %ts = map { $_->{timestamp} => 1 } @s;
ok(keys %ts >= @s - 1, 'samples: a new timestamp each');

my @x = mb_redis('XREVRANGE', 'mikrotik:traffic:customers', '+', '-',
                 'COUNT', 1);
shift @x;
my %x = @x;
is($x{customer_id}, $c{budi}, 'stream mikrotik:traffic:customers: the sample');
is($x{download_speed}, '5.23 Mbps', 'stream: flat fields');
ok(scalar mb_redis('XLEN', 'mikrotik:traffic:customers') >= 2, 'stream grows');

ok(grep({ ($_->{customer_id} // '') eq $c{budi} && !exists $_->{event} }
        $all->read_all_json(1.5 * $slow)), '"*" sees Budi too');

# ------------------------------------------------------------------ twice

my $streams = stats($sim)->{streams};
$r = start_mon($adm, $c{budi});
is($r->{status}, 200, 'start again: 200');
is($r->{json}{already_running}, JSON::PP::true(), 'start again: already');
sleep 0.5;
is(stats($sim)->{streams}, $streams, 'start again: no second stream');

is(ctl($sim, 'rate budi01 2000000 300000'), 'OK', 'rate changes');
ok(wait_for(sub { grep { $_->{download_speed} eq '300.00 Kbps'
                         && $_->{upload_speed} eq '2.00 Mbps' }
                       samples($ws, $c{budi}, 1) }, 5),
   'the samples follow the rate');

# ------------------------------------------------------------------ slots

$r = start_mon($tech, $c{sari});
is($r->{status}, 200, 'second monitor: 200');
$r = start_mon($tech, $c{tono});
is($r->{status}, 429, 'third with 2 slots: 429');
is($r->{json}{error}, 'no_slot', '429: no_slot');
$r = api($tech, 'GET', '/api/monitor/status')->{json};
is_deeply([sort @{ $r->{active_monitors} }], [sort $c{budi}, $c{sari}],
          'status: both running');
is($r->{slots_available}, 0, 'status: no slot left');

# ------------------------------------------------------------------ stop

$r = api($tech, 'POST', "/api/monitor/stop?customer_id=$c{budi}");
is($r->{status}, 200, 'stop: 200');
my $ev = event($ws, 'monitor_stopped', $c{budi}, 5);
is($ev && $ev->{reason}, 'stopped', 'stop: monitor_stopped, reason stopped');
is($ev && $ev->{message}, 'Monitor dihentikan', 'stop: its message');
samples($ws, $c{budi}, 1.2);                 # what was already on its way
is(scalar samples($ws, $c{budi}, 2.5), 0, 'stop: the samples cease');

# ------------------------------------------------------------------ drop

ok(scalar(samples($ws, $c{sari}, 2)) >= 1, 'Sari is sampled');
is(ctl($sim, 'logout sari01'), 'OK', 'Sari\'s session drops');
$ev = event($ws, 'monitor_stopped', $c{sari}, 5);
is($ev && $ev->{reason}, 'offline', 'drop: monitor_stopped, reason offline');
like($ev && $ev->{message}, qr/^Pelanggan Sari offline/, 'drop: its message');
ok(wait_for(sub { !exists running()->{$c{sari}} }, 5), 'drop: slot free');
is(api($tech, 'GET', '/api/monitor/status')->{json}{monitor_count}, 0,
   'status: nothing running');
is(start_mon($tech, $c{sari})->{status}, 409,
   'start while the session is gone: 409') or diag(slurp($w->{log}));

# ------------------------------------------------------------------ restart

is(start_mon($tech, $c{budi})->{status}, 200, 'Budi again');
ok(scalar(samples($ws, $c{budi}, 2)) >= 1, 'sampled');
is(stop_pid($w->{pid}), 0, 'worker stopped (SIGTERM)');
ok(exists running()->{$c{budi}}, 'the run survives the worker');
samples($ws, $c{budi}, 1);
is(scalar samples($ws, $c{budi}, 2), 0, 'no worker: no samples');
$w = start_worker('two');
ok(wait_for(sub { scalar samples($ws, $c{budi}, 1) }, 15),
   'a new worker: the monitor resumes by itself')
    or diag(slurp($w->{log}));

# ------------------------------------------------------------------ sync event

$r = mb_http('POST', "/api/sync?router_id=$rid",
             { Authorization => "Bearer $adm" });
is($r->{status}, 202, 'sync now');
$ev = event($ws, 'sync', undef, 10);
ok($ev, 'the sync run reaches the socket') or diag(slurp($w->{log}));
is($ev && $ev->{router_id}, $rid, 'sync event: router_id');
ok($ev && defined $ev->{active_connections}, 'sync event: active_connections');

# the sync keeps the router's spelling: the interface is <pppoe-dewi01>
is(scalar mb_psql('SELECT session_name FROM customers WHERE id = ?', $c{dewi}),
   'dewi01', 'the session name as the router spells it');
is(($ws->subscribe($c{dewi}) || {})->{event}, 'subscribed', 'watching Dewi');
$r = start_mon($tech, $c{dewi});
is($r->{status}, 200, 'DEWI01 stored, dewi01 on the router: 200')
    or diag($r->{body});
my ($d) = samples($ws, $c{dewi}, 3);
is($d && $d->{interface}, '<pppoe-dewi01>', 'monitored on the router\'s name');
is(api($tech, 'POST', "/api/monitor/stop?customer_id=$c{dewi}")->{status},
   200, 'Dewi stopped');

# ------------------------------------------------------------------ idle

$ws->close;
$all->close;
ok(wait_for(sub { !exists running()->{$c{budi}} }, 2 * $IDLE + 10),
   "nobody watching for ${IDLE}s: the monitor ends")
    or diag(slurp($w->{log}));

# ------------------------------------------------------------------ router down

stop_pid($sim->{pid});
sleep 1;
$r = start_mon($tech, $c{tono});
is($r->{status}, 503, 'router down: 503') or diag($r->{body});
is($r->{json}{error}, 'router_not_connected', 'router down: the error');
ok(!exists running()->{$c{tono}}, 'router down: no slot held');

# ------------------------------------------------------------------ router gone

my $late = t::WsClient->connect(query_token => $tech);
is(($late->subscribe($c{tono}) || {})->{event}, 'subscribed', 'watching Tono');
mb_redis('HSET', $KEY, $c{tono}, JSON::PP->new->canonical->encode({
    customer_id => $c{tono}, customer_name => 'Tono', router_id => $rid,
    interface => '<pppoe-tono01>', gen => 'bbbbbbbbbbbbbbbb' }));
mb_redis('HSET', $KEY, 'other', '{"router_id":"another"}');
mb_psql('UPDATE routers SET enabled = false WHERE id = ?', $rid);
$ev = event($late, 'monitor_stopped', $c{tono}, 10);
is($ev && $ev->{reason}, 'error', 'router disabled: monitor_stopped, error')
    or diag(slurp($w->{log}));
like($ev && $ev->{message}, qr/^Monitor berhenti: router/,
     'router disabled: its message');
ok(!exists running()->{$c{tono}}, 'router disabled: its slots are free');
ok(exists running()->{other}, 'other routers\' entries stay');
$late->close;

is(stop_pid($w->{pid}), 0, 'worker stopped');
mb_redis('DEL', $KEY);
mb_stop_nginx();
done_testing();
