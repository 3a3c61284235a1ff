# The RouterOS client against the simulator, through the worker's
# router.test and router.exec commands (and $BUILD/ros-client-check for the
# word-length boundaries): both logins, login failures, refused, stalled,
# dropped and !fatal connections, !empty, 100 commands in flight, monitor
# streams and their cancel, reconnect after a simulator restart, TLS with
# and without verification, anonymous DH, the router lease between two
# workers, and no password in any log.  Needs the servers of `make test`.

use strict;
use warnings;

use Test::More;
use lib '.';
use t::Worker;
use IO::Socket::INET;
use JSON::PP qw(decode_json encode_json);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my $worker = $ENV{MIKROBILL_WORKER};
my $dir    = $ENV{MIKROBILL_TEST_DIR};
my $build  = $ENV{MIKROBILL_BUILD} || 'build/release';
my $sim    = $ENV{MIKROBILL_SIM} || "$build/mikrobill-ros-sim";
my $check  = "$build/ros-client-check";
my $rhost  = $ENV{TEST_NGINX_REDIS_HOST} // '127.0.0.1';
my $rport  = $ENV{TEST_NGINX_REDIS_PORT};
my $slow   = $ENV{MIKROBILL_SAN} ? 3 : 1;     # sanitizer builds are slower

plan skip_all => 'needs MIKROBILL_WORKER, MIKROBILL_TEST_DIR, '
    . 'TEST_NGINX_PG_CONNINFO, TEST_NGINX_REDIS_PORT (make test)'
    unless $worker && $dir && $rport && $ENV{TEST_NGINX_PG_CONNINFO};
# make test builds it: missing is a failure, never a quiet skip
BAIL_OUT("no simulator at $sim (make sim)") unless -x $sim;

my $stream  = "mikrobill:test:ros:$$";
my $rpass   = "Rtr-pass-$$-x";           # must never show in a log
my $spass   = "Cust-pass-$$-y";

# ------------------------------------------------------------------ helpers

t::Worker::setup(files => 'ros-', id => 'ros', stream => $stream,
                 consumer => sub { "t-ros-$_[0]-$$" }, rpass => $rpass,
                 slow => $slow, command_timeout => 15,
                 conf => [secret_key_file => "$dir/ros-secret-$$.key",
                          router_lease_ms => 2000, claim_idle_ms => 2000]);

my %routers;                # name => id, removed at the end

sub exec_op {
    my ($router, $op, %args) = @_;
    return command('router.exec',
                   { router_id => $routers{$router}, op => $op, %args },
                   $args{_timeout});
}

# --------------------------------------------------------------- the setup

unlink "$dir/ros-secret-$$.key";
is(system("$worker gen-key $dir/ros-secret-$$.key >/dev/null"), 0,
   'gen-key for this test');

my $A = start_sim('a', args => ['--ros-version', '7.12']);
my $B = start_sim('b', args => ['--ros-version', '6.40']);
my $C = start_sim('c', args => ['--ros-version', '7.18']);

$routers{"ros-a-$$"} = add_router("ros-a-$$", $A);
$routers{"ros-c-$$"} = add_router("ros-c-$$", $C);
ok($routers{"ros-a-$$"} && $routers{"ros-c-$$"}, 'routers registered');
my $ra = "ros-a-$$";
my $rc = "ros-c-$$";

my $w1 = start_worker('one');
ok(wait_for(sub { stats($A)->{'logged-in'} == 1 }, 15),
   'the worker connected to its router by itself')
    or diag(slurp($w1->{log}));

# ------------------------------------------------------------- router.test

my $r = command('router.test', { router_id => $routers{$ra} });
is($r->{ok}, JSON::PP::true, 'router.test by id: ok') or diag(explain $r);
is($r->{identity}, 'sim-a', 'router.test: identity');
like($r->{version}, qr/^7\.12/, 'router.test: version');
ok(defined $r->{board} && defined $r->{uptime}, 'router.test: board, uptime');
ok(defined $r->{rtt_ms} && $r->{rtt_ms} >= 0 && $r->{rtt_ms} < 1000,
   "router.test: rtt_ms ($r->{rtt_ms})");
is($r->{login}, 'plain', 'RouterOS 7: plain login');

$r = command('router.test', { host => '127.0.0.1', port => $B->{port},
                              username => 'admin', password => $rpass });
is($r->{ok}, JSON::PP::true, 'router.test form, RouterOS 6.40: ok');
is($r->{login}, 'md5', 'RouterOS 6.40: MD5 challenge login');
like($r->{version}, qr/^6\.40/, 'RouterOS 6.40: version');

$r = command('router.test', { router_id => $routers{$ra}, password => '',
                              port => $A->{port} });
is($r->{ok}, JSON::PP::true,
   'edit form with an empty password keeps the saved one');

for my $ros ([$A, 'plain'], [$B, 'md5']) {
    $r = command('router.test', { host => '127.0.0.1', port => $ros->[0]{port},
                                  username => 'admin', password => 'wrong' });
    is($r->{error}, 'login_failed', "wrong password ($ros->[1]): login_failed");
    like($r->{message}, qr/invalid user name or password|cannot log in/,
         "wrong password ($ros->[1]): RouterOS's text");
}

my $closed = free_port();
$r = command('router.test', { host => '127.0.0.1', port => $closed,
                              username => 'admin', password => 'x' });
is($r->{error}, 'refused', 'closed port: refused');
like($r->{message}, qr/refused/i, 'closed port: message');

$r = command('router.test', { host => '127.0.0.1', username => 'admin',
                              password => 'x', port => 70000 });
is($r->{error}, 'bad_request', 'port out of range: bad_request');
$r = command('router.test', { host => 'bad host!', username => 'a',
                              password => 'x' });
is($r->{error}, 'bad_request', 'bad host: bad_request');
$r = command('router.test', { router_id => '00000000-0000-4000-8000-000000000000' });
is($r->{error}, 'not_found', 'unknown router_id: not_found');

# ------------------------------------------------- word-length boundaries

{
    ok(-x $check, "$check is built") or BAIL_OUT("$check missing");
    my $out = `$check 127.0.0.1 $A->{port} admin $rpass 2>&1`;
    is($? >> 8, 0, 'ros-client-check: every length boundary over the wire')
        or diag($out);
    my $n = () = $out =~ /^ok /mg;
    is($n, 12, 'ros-client-check: 12 checks (0x7F..0x200000)');
}

# ------------------------------------------------------------- router.exec

my $cmds0 = stats($A)->{commands};
for my $bad (
    [ 'secret.add', name => "x\ny", password => 'p' ],
    [ 'secret.add', name => 'ok' ],
    [ 'secret.set', name => 'u', fields => { nosuch => 1 } ],
    [ 'secret.set', id => '1', fields => { profile => 'p' } ],
    [ 'address_list.add', list => 'l', address => '10.0.0.1;x' ],
    [ 'address_list.add', list => 'l', address => '10.0.0.1',
      timeout => 'soon' ],
    [ 'monitor.start', interface => '<pppoe-x>' ],
    [ 'no.such.op' ],
) {
    my ($op, %args) = @$bad;
    $r = exec_op($ra, $op, %args);
    is($r->{error}, 'bad_request', "bad input refused: $op "
       . encode_json(\%args)) or diag(explain $r);
}
is(stats($A)->{commands}, $cmds0, 'bad input never reached the router');

my $cust = "cust-$$";
$r = exec_op($ra, 'secret.add', name => $cust, password => $spass,
             profile => 'default', service => 'pppoe',
             comment => 'has = sign', 'remote_address' => '10.9.0.2');
is($r->{ok}, JSON::PP::true, 'secret.add: ok') or diag(explain $r);
like($r->{item_id}, qr/^\*[0-9A-F]+$/, 'secret.add: the new id');
my $sid = $r->{item_id};

$r = exec_op($ra, 'secret.add', name => $cust, password => 'x');
is($r->{error}, 'trap', 'duplicate secret: trap');
like($r->{message}, qr/already/, "duplicate secret: RouterOS's text");

$r = exec_op($ra, 'secret.print', name => $cust);
is($r->{count}, 1, 'secret.print by name: one');
is($r->{items}[0]{comment}, 'has = sign', 'a value holding "=" intact');
is($r->{items}[0]{id}, $sid, 'secret.print: id');
ok(!exists $r->{items}[0]{password}, 'secret.print: no password by default');

$r = exec_op($ra, 'secret.set', name => $cust,
             fields => { profile => 'default', disabled => JSON::PP::true,
                         comment => '' });
is($r->{ok}, JSON::PP::true, 'secret.set by name') or diag(explain $r);
$r = exec_op($ra, 'secret.print', name => $cust,
             proplist => ['name', 'disabled', 'comment', 'password']);
is($r->{items}[0]{disabled}, 'true', 'secret.set: disabled');
is($r->{items}[0]{password}, $spass, 'password when asked for in proplist');

$r = exec_op($ra, 'secret.set', name => 'nobody-here',
             fields => { comment => 'x' });
is($r->{error}, 'not_found', 'secret.set on an unknown name: not_found');
$r = exec_op($ra, 'secret.remove', id => '*FFFF');
is($r->{error}, 'trap', 'secret.remove on a bad id: trap');
like($r->{message}, qr/no such item/, 'bad id: "no such item"');

$r = exec_op($ra, 'profile.print');
ok($r->{ok} && grep({ $_->{name} eq 'default' } @{ $r->{items} }),
   'profile.print lists "default"');

$r = exec_op($ra, 'address_list.add', list => "iso-$$", address => '10.7.0.9',
             comment => 'overdue', timeout => '1d');
like($r->{item_id} // '', qr/^\*/, 'address_list.add: id') or diag(explain $r);
$r = exec_op($ra, 'address_list.add', list => "iso-$$", address => '10.7.0.9');
like($r->{message} // '', qr/already have such entry/,
     'address_list.add twice: "already have such entry"');
$r = exec_op($ra, 'address_list.remove', list => "iso-$$",
             address => '10.7.0.9');
is($r->{count}, 1, 'address_list.remove by list and address');

ctl($A, "login $cust 10.9.0.2");
$r = exec_op($ra, 'active.print', name => $cust);
is($r->{count}, 1, 'active.print: the session');
$r = exec_op($ra, 'active.remove', name => $cust);
is($r->{count}, 1, 'active.remove (kick) by name');
is(stats($A)->{active}, 0, 'the session is gone from the router');
$r = exec_op($ra, 'active.remove', name => $cust);
is_deeply([$r->{ok}, $r->{count}], [JSON::PP::true, 0],
          'kicking again is harmless');

$r = exec_op($rc, 'secret.print', name => 'nobody');
is_deeply([$r->{ok}, $r->{count}], [JSON::PP::true, 0],
          'RouterOS 7.18 !empty: no items') or diag(explain $r);

$r = exec_op($ra, 'secret.remove', name => $cust);
is($r->{count}, 1, 'secret.remove by name');

# ------------------------------------------------- 100 commands in flight

{
    my @keys;
    my $pipe = '';
    ctl($A, 'stall 1');
    for my $i (1 .. 100) {
        my $id = "ros-$$-flight-$i";
        push @keys, "mikrobill:test:reply:$id";
        $pipe .= "XADD $stream * type router.exec id $id reply_to"
            . " mikrobill:test:reply:$id payload "
            . quote(encode_json({ router_id => $routers{$ra},
                                  op => 'profile.print' })) . "\n";
    }
    open(my $fh, '|-', "redis-cli -h $rhost -p $rport >/dev/null") or die;
    print $fh $pipe;
    close $fh;
    my $okc = 0;
    for my $k (@keys) {
        my (undef, $json) = split /\n/, rcli('BLPOP', $k, 20), 2;
        $okc++ if $json && decode_json($json)->{ok};
    }
    is($okc, 100, '100 commands in flight: all answered ok');
    is(stats($A)->{'logged-in'}, 1, '... over one connection');
}

sub quote {
    my ($s) = @_;
    $s =~ s/(["\\])/\\$1/g;
    return "\"$s\"";
}

# --------------------------------------- a dropped link, !fatal, a stall

ctl($A, 'load 10000');
$r = exec_op($ra, 'active.print', proplist => ['.id', 'name', 'address']);
is($r->{count}, 10000, '10,000 sessions fetched with .proplist');

ctl($A, 'cut 300000');
$r = exec_op($ra, 'active.print');
is($r->{error}, 'connection_lost', 'cut in the middle of a reply: '
   . 'connection_lost') or diag(explain $r);

ok(wait_for(sub { stats($A)->{'logged-in'} == 1 }, 10),
   'the managed connection comes back by itself');

{
    ctl($A, 'stall 3');
    my $id = "ros-$$-drop";
    my $key = "mikrobill:test:reply:$id";
    rcli('XADD', $stream, '*', 'type', 'router.exec', 'id', $id,
         'reply_to', $key, 'payload',
         encode_json({ router_id => $routers{$ra}, op => 'active.print' }));
    sleep 0.5;
    ctl($A, 'drop');
    my (undef, $json) = split /\n/, rcli('BLPOP', $key, 10), 2;
    my $d = $json ? decode_json($json) : {};
    is($d->{error}, 'connection_lost', 'drop during a 10,000-session print: '
       . 'connection_lost') or diag(explain $d);
    ctl($A, 'stall 0');
}

ok(wait_for(sub { exec_op($ra, 'profile.print')->{ok} }, 15),
   'commands work again after the drop');

{
    ctl($A, 'stall 3');
    my $id = "ros-$$-fatal";
    my $key = "mikrobill:test:reply:$id";
    rcli('XADD', $stream, '*', 'type', 'router.exec', 'id', $id,
         'reply_to', $key, 'payload',
         encode_json({ router_id => $routers{$ra}, op => 'profile.print' }));
    sleep 0.5;
    ctl($A, 'fatal maintenance reboot');
    my (undef, $json) = split /\n/, rcli('BLPOP', $key, 10), 2;
    my $d = $json ? decode_json($json) : {};
    is($d->{error}, 'fatal', '!fatal: error fatal') or diag(explain $d);
    like($d->{message} // '', qr/maintenance reboot/, "!fatal: the router's text");
    ctl($A, 'stall 0');
}
ok(wait_for(sub { exec_op($ra, 'profile.print')->{ok} }, 15),
   'and again after !fatal');
ctl($A, 'clear sessions');

# ------------------------------------------------ monitor stream + cancel

my $iface = "<pppoe-$cust>";
my $mcid = sprintf('%08x-0000-4000-a000-%012d', $$, $$);
my $mon = { router_id => $routers{$ra}, customer_id => $mcid };
sub mon_meta {
    rcli('HSET', 'mikrobill:monitors', $mcid, encode_json({
        customer_id => $mcid, customer_name => 'Ros Client',
        username => $cust, service_type => 'pppoe', pppoe_username => $cust,
        interface => $iface, router_id => $routers{$ra}, gen => "g$_[0]" }));
}
sub mon_samples {
    my @e = split /\n/, rcli('XREVRANGE', 'mikrotik:traffic:customers', '+',
                             '-', 'COUNT', '1');
    my %s = @e[1 .. $#e];
    return ($s{customer_id} // '') eq $mcid ? \%s : {};
}
ctl($A, "secret-add $cust x");
ctl($A, "login $cust 10.9.0.3");
ctl($A, "rate $cust 1000000 3000000");
my $len0 = rcli('XLEN', 'mikrotik:traffic:customers') || 0;
mon_meta(1);
$r = command('monitor.start', $mon);
is($r->{started}, JSON::PP::true, 'monitor.start: started at the first sample')
    or diag(explain $r);
ok(wait_for(sub { rcli('XLEN', 'mikrotik:traffic:customers') > $len0 + 1 }, 5),
   'samples go to mikrotik:traffic:customers');
my %sample = %{ mon_samples() };
is($sample{interface}, $iface, 'sample: interface');
is($sample{tx_bits_per_second}, 3000000, 'sample: tx from the router');
is(command('monitor.start', $mon)->{started}, JSON::PP::false,
   'monitor.start twice: already running');
is(stats($A)->{streams}, 1, 'one stream on the router');
is(command('monitor.stop', { %$mon, gen => 'g1' })->{stopped},
   JSON::PP::true, 'monitor.stop');
ok(wait_for(sub { stats($A)->{streams} == 0 }, 5),
   '/cancel reached the router: no stream left');
ctl($A, "logout $cust");
mon_meta(2);
$r = command('monitor.start', $mon);
is($r->{error}, 'trap', 'monitor of an interface that is not there: trap');
ctl($A, "login $cust 10.9.0.3");

# ------------------------------------- reconnect after a simulator restart

mon_meta(3);
$r = command('monitor.start', $mon);
is($r->{ok}, JSON::PP::true, 'monitor started again');
stop_pid($A->{pid});
ok(!port_open($A->{port}), 'simulator killed');
sleep 1;
restart_sim($A);
ctl($A, "secret-add $cust x");
ctl($A, "login $cust 10.9.0.3");
ctl($A, "rate $cust 1000000 5000000");
ok(wait_for(sub { stats($A)->{'logged-in'} == 1 }, 20),
   'the managed connection is back after the restart')
    or diag(slurp($w1->{log}));
ok(wait_for(sub { (mon_samples()->{tx_bits_per_second} // 0) == 5000000 },
            15), 'the monitor stream resumed by itself');
is(command('monitor.stop', { %$mon, gen => 'g3' })->{stopped},
   JSON::PP::true, 'monitor.stop after the restart');
rcli('HDEL', 'mikrobill:monitors', $mcid);

# ------------------------------------------------------------------- TLS

SKIP: {
    skip 'openssl not found', 6 unless `openssl version 2>/dev/null`;
    my $t = "$dir/ros-tls-$$";
    mkdir $t;
    my $q = '>/dev/null 2>&1';
    system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ca"
           . " -keyout $t/ca.key -out $t/ca.pem $q");
    system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other"
           . " -keyout $t/other.key -out $t/other.pem $q");
    system("openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1"
           . " -keyout $t/srv.key -out $t/srv.csr $q");
    open(my $ext, '>', "$t/ext") or die;
    print $ext "subjectAltName=IP:127.0.0.1\n";
    close $ext;
    system("openssl x509 -req -in $t/srv.csr -CA $t/ca.pem -CAkey $t/ca.key"
           . " -CAcreateserial -days 2 -extfile $t/ext -out $t/srv.pem $q");
    ok(-s "$t/srv.pem", 'a throw-away CA and certificate');

    my $D = start_sim('d', tls => 1, args => ['--tls-cert', "$t/srv.pem",
                                              '--tls-key', "$t/srv.key"]);
    my %form = (host => '127.0.0.1', port => $D->{port}, username => 'admin',
                password => $rpass, tls => JSON::PP::true);
    $r = command('router.test', { %form, tls_ca_file => "$t/ca.pem" });
    is($r->{ok}, JSON::PP::true, 'TLS: verified against the CA')
        or diag(explain $r);
    $r = command('router.test', { %form, tls_ca_file => "$t/other.pem" });
    is($r->{error}, 'tls', 'TLS: another CA: tls error') or diag(explain $r);
    like($r->{message} // '', qr/certif|verif/i, 'TLS: says why');

    my $E = start_sim('e', tls => 1);
    %form = (%form, port => $E->{port});
    $r = command('router.test', \%form);
    is($r->{error}, 'tls', 'anonymous DH refused unless allowed')
        or diag(explain $r);
    $r = command('router.test', { %form, tls_allow_anon_dh => JSON::PP::true });
    is($r->{ok}, JSON::PP::true, 'anonymous DH when the operator opts in')
        or diag(explain $r);
    stop_pid($_->{pid}) for $D, $E;
}

# ------------------------------------------------------- a stalled router

{
    ctl($B, 'stall 30');
    my $t0 = time;
    $r = command('router.test', { host => '127.0.0.1', port => $B->{port},
                                  username => 'admin', password => $rpass },
                 20);
    my $took = time - $t0;
    is($r->{error}, 'timeout', 'a router that never answers: timeout')
        or diag(explain $r);
    ok($took < 11, sprintf('... answered within the bound (%.1f s)', $took));
    ctl($B, 'stall 0');
}

# ------------------------------------------------------------- the lease

my $w2 = start_worker('two');
sleep 3 * $slow;
is(stats($A)->{'logged-in'}, 1, 'two workers, one router: one connection');
my $owner = rcli('GET', "mikrobill:router:$routers{$ra}:owner");
is($owner, "t-ros-one-$$", 'the lease is the first worker\'s');

my $ok2 = 0;
$ok2 += (exec_op($ra, 'profile.print')->{ok} ? 1 : 0) for 1 .. 6;
is($ok2, 6, 'commands answered whichever worker reads them');
like(slurp($w2->{log}), qr/forwarded/, 'the second worker forwarded some');

is(stop_pid($w1->{pid}), 0, 'first worker stopped (exit 0)');
like(slurp($w1->{log}), qr/lease released/, 'it released its leases');
ok(wait_for(sub {
        rcli('GET', "mikrobill:router:$routers{$ra}:owner") eq "t-ros-two-$$"
    }, 5), 'the second worker took the router over');
ok(wait_for(sub { exec_op($ra, 'profile.print')->{ok} }, 10),
   'commands work through the new owner');
is(stats($A)->{'logged-in'}, 1, 'still one connection');

# a worker that dies leaves its lease to expire (router_lease_ms 2000)
my $w3 = start_worker('three');
sleep 1;
stop_pid($w2->{pid}, 'KILL');
ok(wait_for(sub {
        rcli('GET', "mikrobill:router:$routers{$ra}:owner") eq "t-ros-three-$$"
    }, 8), 'a killed owner\'s lease expires and is taken over');
ok(wait_for(sub { exec_op($ra, 'profile.print')->{ok} }, 10),
   'commands work after the take-over');

# --------------------------------------------------------------- cleanup

for my $name (keys %routers) {
    system("$worker router-del -c @{[write_conf('cli')]} --name $name"
           . " >/dev/null 2>&1");
}
ok(wait_for(sub { stats($A)->{'logged-in'} == 0 }, 10),
   'a deleted router is disconnected (NOTIFY)') or diag(slurp($w3->{log}));
is(rcli('EXISTS', "mikrobill:router:$routers{$ra}:owner"), 0,
   'and its lease released');

is(stop_pid($w3->{pid}), 0, 'last worker stopped (exit 0)');
stop_pid($_->{pid}) for $A, $B, $C;

my $all = join '', map { slurp($_) } spawned_logs();
unlike($all, qr/\Q$rpass\E/, 'no router password in any log');
unlike($all, qr/\Q$spass\E/, 'no customer password in any log');
unlike($all, qr/Sanitizer|runtime error/, 'no sanitizer report');

rcli('DEL', $stream, map {; "mikrobill:router:$_:commands" }
     values %routers);
unlink "$dir/ros-secret-$$.key";

done_testing();
