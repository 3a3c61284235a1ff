# POST /api/sync (sync.now on the command stream), GET /api/sync/status,
# and "Test Koneksi" (POST /api/routers/{id}/test, POST /api/routers/test)
# through the command helper, a real worker and the RouterOS simulator:
# success, the wrong-password text, and 504 when no worker answers; the
# router's identity and RouterOS version in the status once the worker
# has logged in, and again after the identity changes and it reconnects.
use lib '.';
use t::MikroBill;
use t::RosSim;
use JSON::PP ();
use POSIX ();
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my $PW = 'Rahasia-123';
my $NONE = '00000000-0000-4000-8000-000000000000';
my $STREAM = 'mikrobill:commands';
my $dir = $ENV{MIKROBILL_TEST_DIR} || 't';

sub reset_state {
    mb_psql("DELETE FROM login_failures");
    mb_psql("DELETE FROM routers WHERE name LIKE 'sy-%'");
    mb_delete_users("username LIKE 'sy\\_%'");
}

sub api {
    my ($token, $method, $path, $body) = @_;
    return mb_http($method, $path,
                   $token ? { Authorization => "Bearer $token" } : {}, $body);
}

sub slurp {
    open(my $fh, '<', $_[0]) or return '';
    local $/;
    return <$fh> // '';
}

# the last entry of the stream as { field => value }
sub last_entry {
    my @l = mb_redis('XREVRANGE', $STREAM, '+', '-', 'COUNT', 1);
    shift @l;                       # the entry id
    my %f = @l;
    return \%f;
}

reset_state();
is(mb_create_user('sy_' . lc $_, $PW, $_), 0, "user $_")
    for qw(ADMIN TECHNICIAN USER);

my $key = mb_secret_key_file();
ok($key, 'a secret key file for the tests');
my ($m, $h, $c) = mb_default_config();
mb_start_nginx($m, $h . "    mikrobill_login_delay 1ms;\n"
                      . "    mikrobill_login_max_failures_addr 1000;\n"
                      . "    mikrobill_command_timeout 3s;\n", $c);
my %tok = map { $_ => scalar mb_login('sy_' . lc $_, $PW) }
    qw(ADMIN TECHNICIAN USER);
my $adm = $tok{ADMIN};

# ------------------------------------------------------------ POST /api/sync

my $r = api($adm, 'POST', '/api/sync');
is($r->{status}, 202, 'sync all: 202');
is_deeply($r->{json}, { status => 'accepted', router_id => undef }, 'sync all: body');
my $e = last_entry();
is($e->{type}, 'sync.now', 'stream entry: type sync.now');
is_deeply(JSON::PP::decode_json($e->{payload}), {}, 'stream entry: payload {}');
ok($e->{id}, 'stream entry: id');
ok(!exists $e->{reply_to}, 'fire and forget: no reply_to');

my $rid = api($adm, 'POST', '/api/routers', { name => 'sy-sim', host => '127.0.0.1',
              port => 1, username => 'admin', password => 'secret' })->{json}{id};
ok($rid, 'a router');
$r = api($adm, 'POST', "/api/sync?router_id=$rid");
is($r->{status}, 202, 'sync one router: 202');
is($r->{json}{router_id}, $rid, 'sync one router: router_id');
is_deeply(JSON::PP::decode_json(last_entry()->{payload}), { router_id => $rid },
          'stream entry: payload {router_id}');
is(api($adm, 'POST', "/api/sync?router_id=$NONE")->{status}, 404, 'unknown router: 404');
is(api($adm, 'POST', "/api/sync?router_id=x'--")->{status}, 400, 'bad router_id: 400');
is(api($tok{TECHNICIAN}, 'POST', '/api/sync')->{status}, 403, 'TECHNICIAN: 403');
is(api(undef, 'POST', '/api/sync')->{status}, 401, 'anonymous: 401');

# ------------------------------------------------------------ status

mb_psql("INSERT INTO router_status (router_id, connected, last_error,"
        . " last_attempt_at, last_sync_at, active_connections,"
        . " customers_online, interval_seconds)"
        . " VALUES (?, true, NULL, now(), now(), 7, 3, 120)", $rid);
$r = api($tok{USER}, 'GET', '/api/sync/status');
is($r->{status}, 200, 'status: 200 for any role');
is_deeply([sort keys %{ $r->{json} }], [qw(routers totals)], 'status shape');
my ($st) = grep { $_->{router_id} eq $rid } @{ $r->{json}{routers} };
is_deeply([sort keys %$st],
          [sort qw(router_id name enabled connected last_error interval_seconds
                   last_sync_at last_attempt_at active_connections
                   customers_online identity version)], 'per-router shape');
ok(!defined $st->{identity} && !defined $st->{version},
   'identity and version null until the worker has read them');
is($st->{name}, 'sy-sim', 'name');
ok($st->{connected}, 'connected');
is($st->{active_connections}, 7, 'active_connections');
is($st->{customers_online}, 3, 'customers_online');
is($st->{interval_seconds}, 120, 'interval_seconds');
like($st->{last_sync_at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'last_sync_at');
is_deeply([sort keys %{ $r->{json}{totals} }],
          [sort qw(routers connected active_connections customers_online
                   customers last_sync_at)], 'totals shape');
ok($r->{json}{totals}{routers} >= 1, 'totals: routers');
ok($r->{json}{totals}{active_connections} >= 7, 'totals: active_connections');
mb_psql("DELETE FROM router_status WHERE router_id = ?", $rid);
($st) = grep { $_->{router_id} eq $rid }
    @{ api($adm, 'GET', '/api/sync/status')->{json}{routers} };
ok(!$st->{connected} && !defined $st->{last_sync_at},
   'a router never synced: not connected, no last_sync_at');

# ------------------------------------------------------------ no worker: 504

# a client that gives up while its request waits for the worker
{
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $t::MikroBill::Helper{port});
    print $s "POST /api/routers/$rid/test HTTP/1.1\r\nHost: x\r\n"
        . "Authorization: Bearer $adm\r\nContent-Length: 0\r\n\r\n";
    sleep 0.3;
    close $s;
}

my $t0 = time;
$r = api($adm, 'POST', "/api/routers/$rid/test");
is($r->{status}, 504, 'no worker: 504');
is($r->{json}{error}, 'worker_timeout', 'no worker: error code');
ok(time - $t0 < 6, 'no worker: within the command timeout');

# ------------------------------------------------------------ Test Koneksi

my $sim = t::RosSim->start(users => ['admin:secret'],
                           args => ['--identity', 'sy-tower-1']);
$r = api($adm, 'PATCH', "/api/routers/$rid", { port => $sim->{port} });
is($r->{status}, 200, 'router points at the simulator');

my $wconf = "$dir/sy-worker-$$.conf";
my $base = slurp($ENV{MIKROBILL_WORKER_CONF});
$base =~ s/^\s*(?:secret_key_file|consumer_name)\s*=.*\n//mg;
open(my $fh, '>', $wconf) or die;
print $fh $base, "secret_key_file = $key\nconsumer_name = sync-api-$$\n";
close $fh;
my $wlog = "$dir/sy-worker-$$.log";
my $wpid = fork // die;
if ($wpid == 0) {
    open(STDOUT, '>>', $wlog);
    open(STDERR, '>>', $wlog);
    exec($ENV{MIKROBILL_WORKER}, 'run', '-c', $wconf) or POSIX::_exit(127);
}
END { if ($wpid) { kill 'TERM', $wpid; waitpid($wpid, 0) } }

# the first answer may wait for the worker to come up
my $ok;
for (1 .. 20) {
    $r = api($adm, 'POST', "/api/routers/$rid/test");
    $ok = $r->{status} == 200;
    last if $ok;
    sleep 0.25;
}
ok($ok, 'Test Koneksi: 200') or diag($r->{body}, slurp($wlog));
is($r->{json}{ok}, JSON::PP::true(), 'Test Koneksi: ok') or diag($r->{body});
is_deeply([sort keys %{ $r->{json} }],
          [sort qw(ok identity version board uptime rtt_ms)], 'success shape');
like($r->{json}{version}, qr/^7\./, 'version');
ok(length $r->{json}{identity}, 'identity');
ok($r->{json}{rtt_ms} >= 0, 'rtt_ms');

# ------------------------------------------------- identity and version

# this router's entry of /api/sync/status once it passes $want, or the last
sub status_until {
    my ($want, $secs) = @_;
    my ($one, $end) = (undef, time + $secs);
    while (1) {
        ($one) = grep { $_->{router_id} eq $rid }
            @{ api($adm, 'GET', '/api/sync/status')->{json}{routers} || [] };
        return $one if ($one && $want->($one)) || time > $end;
        sleep 0.1;
    }
}

$st = status_until(sub { defined $_[0]{identity} }, 10);
is($st->{identity}, 'sy-tower-1', "status: the simulator's identity")
    or diag(explain($st), slurp($wlog));
is($st->{version}, '7.12 (stable)', 'status: its RouterOS version');
ok($st->{connected}, 'status: connected');

like($sim->ctl('identity sy-tower-2'), qr/^OK/, 'the identity changes');
like($sim->ctl('drop'), qr/^OK/, 'the connection drops');
$st = status_until(sub { ($_[0]{identity} // '') eq 'sy-tower-2' }, 15);
is($st->{identity}, 'sy-tower-2', 'after the reconnect: the new identity')
    or diag(explain($st), slurp($wlog));
is($st->{version}, '7.12 (stable)', 'after the reconnect: the version');

is(api($tok{TECHNICIAN}, 'POST', "/api/routers/$rid/test")->{json}{ok},
   JSON::PP::true(), 'TECHNICIAN may test a saved router');
is(api($tok{USER}, 'POST', "/api/routers/$rid/test")->{status}, 403, 'USER: 403');

# the unsaved form
$r = api($adm, 'POST', '/api/routers/test', { host => '127.0.0.1',
         port => $sim->{port}, username => 'admin', password => 'wrong' });
is($r->{status}, 200, 'wrong password: 200');
is($r->{json}{ok}, JSON::PP::false(), 'wrong password: ok false');
is($r->{json}{error}, 'login_failed', 'wrong password: login_failed');
like($r->{json}{message}, qr/invalid user name or password/,
     "wrong password: RouterOS's own text") or diag($r->{body});
is_deeply([sort keys %{ $r->{json} }], [qw(error message ok)], 'failure shape');

$r = api($adm, 'POST', '/api/routers/test', { host => '127.0.0.1',
         port => $sim->{port}, username => 'admin', password => 'secret' });
is($r->{json}{ok}, JSON::PP::true(), 'form with the right password: ok');
$r = api($adm, 'POST', '/api/routers/test', { router_id => $rid, password => '' });
is($r->{json}{ok}, JSON::PP::true(), 'form of a saved router, empty password: ok');
is(api($tok{TECHNICIAN}, 'POST', '/api/routers/test', { host => '127.0.0.1' })->{status},
   403, 'TECHNICIAN cannot test a form');
is(api($adm, 'POST', '/api/routers/test', { port => 1 })->{status}, 400,
   'form without host or router_id: 400');

# a saved wrong password: the exact failure, within 10 s
api($adm, 'PATCH', "/api/routers/$rid", { password => 'not-it' });
$t0 = time;
$r = api($adm, 'POST', "/api/routers/$rid/test");
is($r->{json}{error}, 'login_failed', 'saved wrong password: login_failed')
    or diag($r->{body});
ok(time - $t0 < 10, 'within 10 s');

# a closed port: an error, not a hang
$r = api($adm, 'POST', '/api/routers/test', { host => '127.0.0.1',
         port => t::RosSim::free_port(), username => 'admin', password => 'x' });
is($r->{json}{ok}, JSON::PP::false(), 'closed port: ok false');
ok($r->{json}{error}, "closed port: $r->{json}{error}");

$sim->stop;

# Redis down: the command cannot be queued
mb_redis_stop();
$r = api($adm, 'POST', '/api/sync');
is($r->{status}, 503, 'Redis down: sync 503');
is($r->{json}{error}, 'service_unavailable', 'Redis down: error code');
$r = api($adm, 'POST', "/api/routers/$rid/test");
is($r->{status}, 503, 'Redis down: Test Koneksi 503');
mb_redis_start();
my $back;
for (1 .. 40) {
    $back = api($adm, 'POST', '/api/sync')->{status} == 202 and last;
    sleep 0.25;
}
ok($back, 'Redis back: sync accepted again');

mb_stop_nginx();
reset_state();
done_testing();
