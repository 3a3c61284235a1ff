# The live status sync through the real worker and the simulator: the
# spec's scenarios 1-4 (no PPPoE -> OFFLINE, not logged in -> OFFLINE,
# login + sync.now -> ONLINE, logout -> OFFLINE), mixed-case names, a
# stalled router that changes nobody, the same username on two routers,
# static_ip left unknown, hotspot sessions, the pub/sub event, only
# changed rows written, and the periodic sync by itself.  Needs the
# servers of `make test`.

use strict;
use warnings;

use t::MikroBill;
use t::Worker;
use IO::Socket::INET;
use JSON::PP qw(decode_json encode_json);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my $worker = $ENV{MIKROBILL_WORKER};
my $dir    = $ENV{MIKROBILL_TEST_DIR};
my $build  = $ENV{MIKROBILL_BUILD} || 'build/release';
my $sim    = $ENV{MIKROBILL_SIM} || "$build/mikrobill-ros-sim";
my $rhost  = $ENV{TEST_NGINX_REDIS_HOST} // '127.0.0.1';
my $rport  = $ENV{TEST_NGINX_REDIS_PORT};
my $slow   = $ENV{MIKROBILL_SAN} ? 3 : 1;

unless ($worker && $dir && $rport && $ENV{TEST_NGINX_PG_CONNINFO}) {
    plan(skip_all => 'needs the servers of make test');
}
BAIL_OUT("no simulator at $sim (make sim)") unless -x $sim;

my $stream = "mikrobill:test:sync:$$";
my $rpass  = "Rtr-pass-$$-s";
my %routers;

# ------------------------------------------------------------------ helpers

t::Worker::setup(files => 'sync-', id => 'sync', stream => $stream,
                 consumer => sub { "t-sync-$_[0]-$$" }, rpass => $rpass,
                 slow => $slow,
                 conf => [secret_key_file => "$dir/sync-secret-$$.key",
                          router_lease_ms => 2000, claim_idle_ms => 2000,
                          sync_interval_s => 3600,
                          sync_timeout_ms => 1500 * $slow]);

sub last_run {
    my ($router) = @_;
    return mb_psql('SELECT coalesce(max(id), 0) FROM sync_runs'
                   . ' WHERE router_id = ?', $routers{$router});
}

# sync.now for one router; waits for its run to be recorded; the run's row
sub sync_now {
    my ($router) = @_;
    my $before = last_run($router);
    my $r = command('sync.now', { router_id => $routers{$router} });
    is_deeply([$r && $r->{ok} ? 1 : 0, $r && $r->{queued}], [1, 1],
              "sync.now $router: queued 1") or diag(explain $r);
    wait_for(sub { last_run($router) > $before }, 10)
        or diag("no run for $router");
    my ($row) = mb_psql('SELECT trigger, active_connections, customers_online,'
        . ' changed, coalesce(error, \'\') FROM sync_runs WHERE router_id = ?'
        . ' ORDER BY id DESC LIMIT 1', $routers{$router});
    return { trigger => $row->[0], active => $row->[1], online => $row->[2],
             changed => $row->[3], error => $row->[4] };
}

sub cust {
    my ($name) = @_;
    my ($row) = mb_psql('SELECT conn_status, coalesce(host(session_address),'
        . ' \'\'), coalesce(uptime, \'\'), coalesce(caller_id, \'\'),'
        . ' coalesce(status_changed_at::text, \'\'), updated_at::text,'
        . ' coalesce(last_seen_at::text, \'\')'
        . ' FROM customers WHERE username = ?', $name);
    return {} unless $row;
    return { status => $row->[0], address => $row->[1], uptime => $row->[2],
             caller => $row->[3], changed_at => $row->[4],
             updated_at => $row->[5], seen => $row->[6] };
}

sub add_customer {
    my (%c) = @_;
    mb_psql('INSERT INTO customers (name, username, service_type,'
        . ' pppoe_username, static_ip, router_id, conn_status)'
        . ' VALUES (?, ?, ?, ?, ?::inet, ?::uuid, ?)',
        $c{name}, $c{username}, $c{type} || 'pppoe', $c{pppoe},
        $c{ip}, $routers{ $c{router} }, $c{status} || 'offline');
}

sub status_row {
    my ($router) = @_;
    my ($row) = mb_psql('SELECT connected, coalesce(last_error, \'\'),'
        . ' coalesce(last_sync_at::text, \'\'), active_connections,'
        . ' customers_online, interval_seconds,'
        . ' coalesce(last_attempt_at::text, \'\')'
        . ' FROM router_status WHERE router_id = ?', $routers{$router});
    return {} unless $row;
    return { connected => $row->[0], error => $row->[1],
             sync_at => $row->[2], active => $row->[3],
             online => $row->[4], interval => $row->[5],
             attempt_at => $row->[6] };
}

# ---------------------------------------------------------------- the setup

unlink "$dir/sync-secret-$$.key";
is(system("$worker gen-key $dir/sync-secret-$$.key >/dev/null"), 0,
   'gen-key');

my $A = start_sim('a');
my $B = start_sim('b');
my ($ra, $rb) = ("sync-a-$$", "sync-b-$$");
$routers{$ra} = add_router($ra, $A);
$routers{$rb} = add_router($rb, $B);
ok($routers{$ra} && $routers{$rb}, 'two routers registered');

my $u = "s$$";                  # unique customer usernames for this run
add_customer(name => 'Tanpa PPPOE', username => "$u-nopppoe",
             router => $ra);
add_customer(name => 'Egi Setiawan Sempu', username => "$u-egi",
             pppoe => 'egisetiawansempu', router => $ra);
add_customer(name => 'Budi', username => "$u-budi", pppoe => 'BudiSantoso',
             router => $ra);
add_customer(name => 'Shared A', username => "$u-shared-a",
             pppoe => 'shared', router => $ra);
add_customer(name => 'Shared B', username => "$u-shared-b",
             pppoe => 'shared', router => $rb);
add_customer(name => 'Static', username => "$u-static", type => 'static_ip',
             ip => '192.0.2.7', router => $ra, status => 'unknown');
add_customer(name => 'Voucher', username => "$u-voucher", type => 'hotspot',
             pppoe => 'v-100', router => $ra);
add_customer(name => 'Hotspot name only', username => "$u-hsppp",
             type => 'hotspot', pppoe => 'pppname', router => $ra);
my $static0 = cust("$u-static");

# the pub/sub events, from before the worker starts
my $events = "$dir/sync-events-$$.log";
my $sub = spawn($events, 'redis-cli', '-h', $rhost, '-p', $rport, '--raw',
                'SUBSCRIBE', 'mikrobill:events:sync');

my $w = start_worker('one');

ok(wait_for(sub { (status_row($ra)->{connected} // '') eq 't'
                  && (status_row($rb)->{connected} // '') eq 't'
                  && status_row($ra)->{sync_at} ne '' }, 15),
   'the worker connected to both routers and synced them at once')
    or diag(slurp($w->{log}));
is(status_row($ra)->{interval}, 3600, 'router_status: interval_seconds');

# read once per login, beside the sync (worker/mb_router_info.c)
sub router_info {
    my ($router) = @_;
    my ($row) = mb_psql('SELECT coalesce(identity, \'\'),'
        . ' coalesce(version, \'\') FROM router_status WHERE router_id = ?',
        $routers{$router});
    return $row ? "$row->[0] / $row->[1]" : '';
}
ok(wait_for(sub { !grep { router_info($_) =~ m{^(?: / )?$} } $ra, $rb },
            10), 'router_status: identity and version read');
is(router_info($ra), 'sim-a / 7.12 (stable)', 'router A: identity, version');
is(router_info($rb), 'sim-b / 7.12 (stable)', 'router B: identity, version');

# --------------------------------------------------- the spec's scenarios

my $run = sync_now($ra);
is($run->{trigger}, 'manual', 'sync.now: a manual run');
is($run->{error}, '', 'sync.now: no error');
is(cust("$u-nopppoe")->{status}, 'offline', 'test 1: no PPPoE -> OFFLINE');
is(cust("$u-egi")->{status}, 'offline',
   'test 2: PPPoE not logged in -> OFFLINE');
is(cust("$u-static")->{status}, 'unknown', 'static_ip stays unknown');

like(ctl($A, 'login egisetiawansempu 10.10.0.5 AA:BB:CC:00:00:01'),
     qr/^OK/, 'the simulator: egisetiawansempu logs in');
$run = sync_now($ra);
my $egi = cust("$u-egi");
is($egi->{status}, 'online', 'test 3: login + Sync Sekarang -> ONLINE');
is($egi->{address}, '10.10.0.5', 'test 3: session address');
is($egi->{caller}, 'AA:BB:CC:00:00:01', 'test 3: caller-id');
like($egi->{uptime}, qr/^\d+s$|^\d+m\d+s$/, "test 3: uptime ($egi->{uptime})");
ok($egi->{changed_at} ne '' && $egi->{seen} ne '',
   'test 3: status_changed_at and last_seen_at set');
is($run->{changed}, 1, 'test 3: one row changed');
is($run->{active}, 1, 'test 3: active_connections 1');
is($run->{online}, 1, 'test 3: customers_online 1');
is(status_row($ra)->{active}, 1, 'router_status: active_connections');
is(status_row($ra)->{online}, 1, 'router_status: customers_online');

# nothing changes: no row is written, the uptime grows unwritten
sleep 1.2;
$run = sync_now($ra);
is($run->{changed}, 0, 'steady state: no row written');
is(cust("$u-egi")->{updated_at}, $egi->{updated_at},
   'steady state: the online row untouched');
is(cust("$u-nopppoe")->{status}, 'offline', 'no PPPoE still OFFLINE');
is_deeply(cust("$u-static"), $static0, 'static_ip row never written');

# mixed case, both ways
like(ctl($A, 'login budisantoso'), qr/^OK/, 'login budisantoso');
like(ctl($A, 'login SHARED'), qr/^OK/, 'login SHARED on router A only');
$run = sync_now($ra);
is(cust("$u-budi")->{status}, 'online',
   'BudiSantoso (database) matches budisantoso (router)');
is(cust("$u-shared-a")->{status}, 'online',
   'shared (database) matches SHARED (router)');
$run = sync_now($rb);
is(cust("$u-shared-b")->{status}, 'offline',
   'the same username on router B stays OFFLINE');
is($run->{active}, 0, 'router B: no sessions');

# hotspot
like(ctl($A, 'hotspot-login v-100 10.5.0.10 02:00:00:00:01:00'), qr/^OK/,
     'hotspot login v-100');
like(ctl($A, 'login pppname'), qr/^OK/,
     'a PPP session with a hotspot customer\'s name');
$run = sync_now($ra);
my $v = cust("$u-voucher");
is($v->{status}, 'online', 'hotspot customer matched via /ip/hotspot/active');
is($v->{address}, '10.5.0.10', 'hotspot: address');
is($v->{caller}, '02:00:00:00:01:00', 'hotspot: MAC as caller_id');
is(cust("$u-hsppp")->{status}, 'offline',
   'a hotspot customer is not matched by a PPP session');
is($run->{active}, 5, 'active_connections counts PPP and hotspot');
is($run->{online}, 4, 'customers_online 4');

# test 4: logout
$egi = cust("$u-egi");
like(ctl($A, 'logout egisetiawansempu'), qr/^OK/, 'egisetiawansempu logs out');
$run = sync_now($ra);
my $gone = cust("$u-egi");
is($gone->{status}, 'offline', 'test 4: logout + Sync Sekarang -> OFFLINE');
is($gone->{address}, '', 'test 4: session address cleared');
isnt($gone->{changed_at}, $egi->{changed_at},
     'test 4: status_changed_at moved');
is($run->{changed}, 1, 'test 4: one row changed');

# same session again later: login anew is a change
like(ctl($A, 'login egisetiawansempu 10.10.0.6'), qr/^OK/, 'login again');
sync_now($ra);
is(cust("$u-egi")->{address}, '10.10.0.6', 'new session: new address');

# ------------------------------------------------- a router that times out

my $before = { map { ($_ => cust("$u-$_")) } qw(egi budi shared-a voucher
                                                 nopppoe) };
my $good = status_row($ra);
like(ctl($A, 'logout budisantoso'), qr/^OK/, 'budisantoso logs out');
like(ctl($A, 'stall 30'), qr/^OK/, 'router A stalls');
$run = sync_now($ra);
like($run->{error}, qr/timeout/, "stalled: the run records the error "
     . "($run->{error})");
is_deeply({ map { ($_ => cust("$u-$_")) } keys %$before }, $before,
          'stalled: no customer changed (budi stays ONLINE, last known)');
my $bad = status_row($ra);
is($bad->{connected}, 'f', 'stalled: router_status connected = false');
like($bad->{error}, qr/timeout/, "stalled: last_error ($bad->{error})");
is($bad->{sync_at}, $good->{sync_at}, 'stalled: last_sync_at kept');
isnt($bad->{attempt_at}, $good->{attempt_at}, 'stalled: last_attempt_at');
is($bad->{online}, $good->{online}, 'stalled: customers_online kept');
like(ctl($A, 'stall 0'), qr/^OK/, 'the stall ends');
ok(wait_for(sub {
        my $r = sync_now($ra);
        return $r->{error} eq '';
    }, 20), 'router A syncs again after the stall');
is(cust("$u-budi")->{status}, 'offline', 'and budi is OFFLINE now');
is(status_row($ra)->{connected}, 't', 'router_status connected again');
is(status_row($ra)->{error}, '', 'last_error cleared');

# ------------------------------------ dropped in the middle of the reply

$before = { map { ($_ => cust("$u-$_")) } qw(budi shared-a voucher) };
like(ctl($A, 'logout SHARED'), qr/^OK/, 'SHARED logs out');
like(ctl($A, 'cut 60'), qr/^OK/, 'the next reply is cut after 60 bytes');
$run = sync_now($ra);
like($run->{error}, qr/^lost|^protocol/,
     "dropped mid-reply: the run fails ($run->{error})");
is_deeply({ map { ($_ => cust("$u-$_")) } keys %$before }, $before,
          'dropped mid-reply: no customer changed');
ok(wait_for(sub { sync_now($ra)->{error} eq '' }, 20),
   'the next run, on a new connection, succeeds');
is(cust("$u-shared-a")->{status}, 'offline', 'and SHARED is OFFLINE now');

# ------------------------------------------------------ a login failure

my $rc = "sync-c-$$";
$routers{$rc} = add_router($rc, $B, password => 'wrong-password');
add_customer(name => 'Was online', username => "$u-wasonline",
             pppoe => 'shared', router => $rc, status => 'online');
ok(wait_for(sub { (status_row($rc)->{error} // '') =~ /invalid user name/ },
            15), 'wrong password: router_status.last_error says so')
    or diag(explain status_row($rc));
is(status_row($rc)->{connected}, 'f', 'wrong password: connected = false');
$run = sync_now($rc);
like($run->{error}, qr/invalid user name|timeout/,
     "wrong password: the run fails ($run->{error})");
is(cust("$u-wasonline")->{status}, 'online',
   'wrong password: no customer changed (last known status kept)');
is(status_row($rc)->{sync_at}, '', 'wrong password: never synced');

# ------------------------------------------------------------------- events

ok(wait_for(sub { slurp($events) =~ /"router":"\Q$ra\E"/ }, 5),
   'an event on mikrobill:events:sync') or diag(slurp($events));
my @ev = map { decode_json($_) } grep { /^\{/ && /\Q$ra\E/ }
         split /\n/, slurp($events);
ok((grep { /^\{"event":"sync","router":"\Q$ra\E"/ } split /\n/,
    slurp($events)), 'event: "event":"sync" is the first key');
is(scalar(grep { ($_->{event} // '') ne 'sync' } @ev), 0,
   'every sync event says "event":"sync"');
my ($ok) = grep { $_->{ok} && $_->{active_connections} == 4 } @ev;
ok($ok, 'an ok event with active_connections') or diag(explain \@ev);
ok($ok && defined $ok->{customers_online} && defined $ok->{changed}
   && $ok->{at} && $ok->{router_id} eq $routers{$ra},
   'event: router, router_id, customers_online, changed, at');
my ($err) = grep { !$_->{ok} } @ev;
ok($err && $err->{error} =~ /timeout/, 'the failed run has an error event');

# ------------------------------------------------------ sync.now, all, bad

my $r = command('sync.now');
ok($r && $r->{ok} && $r->{queued} >= 2, 'sync.now without router_id: all')
    or diag(explain $r);
$r = command('sync.now', { router_id => 'nope' });
is($r->{error}, 'bad_request', 'sync.now: bad router_id');
$r = command('sync.now',
             { router_id => '00000000-0000-4000-8000-000000000000' });
is($r->{error}, 'not_found', 'sync.now: unknown router');

# ---------------------------------------------------------- periodic sync

is(stop_pid($w->{pid}), 0, 'worker stopped');
$w = start_worker('two', sync_interval_s => 2);
like(ctl($B, 'login shared'), qr/^OK/, 'shared logs in on router B');
ok(wait_for(sub { cust("$u-shared-b")->{status} eq 'online' }, 10),
   'periodic sync (2 s) sets it ONLINE by itself') or diag(slurp($w->{log}));
my $n0 = mb_psql('SELECT count(*) FROM sync_runs WHERE router_id = ?'
                 . " AND trigger = 'schedule'", $routers{$rb});
sleep 4.5;
my $n1 = mb_psql('SELECT count(*) FROM sync_runs WHERE router_id = ?'
                 . " AND trigger = 'schedule'", $routers{$rb});
ok($n1 - $n0 >= 2, "scheduled runs every 2 s (+" . ($n1 - $n0) . " in 4.5 s)");
my $logged = 'sync ' . quotemeta($rb) . ': \d+ active, \d+ online,'
    . ' \d+ changed .*fetch [\d.]+ ms, apply [\d.]+ ms';
like(slurp($w->{log}), qr/$logged/,
     'the run is logged with its phase times');
is(stop_pid($w->{pid}), 0, 'worker stopped');

# ----------------------------------------------------------------- cleanup

stop_pid($sub);
for my $name (keys %routers) {
    system("$worker router-del -c @{[write_conf('cli')]} --name $name"
           . " >/dev/null 2>&1");
}
mb_psql("DELETE FROM customers WHERE username LIKE ?", "$u-%");
stop_pid($A->{pid});
stop_pid($B->{pid});
unlike(slurp($_), qr/AddressSanitizer|runtime error:|LeakSanitizer/,
       "no sanitizer report in $_")
    for grep { -e } map { "$dir/sync-worker-$_-$$.log" } qw(one two);

done_testing();
