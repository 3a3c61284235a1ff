# Customer traffic monitors through the real worker and the simulator
# (docs/monitor.md): monitor.start/monitor.stop on the command stream with
# the meta in mikrobill:monitors as nginx writes it, samples once a second
# on the channel and in mikrotik:traffic:customers in the contract's exact
# formats, started:false without a second stream, the error codes
# (unavailable, trap, not_found) with the entry removed, stop, session
# drop (offline), idle timeout, a subscriber keeping a monitor alive, a
# lost stop, router reconnect (interrupted/resumed), worker restart
# (resume from the hash) and a second worker forwarding to the owner.
# Needs the servers of `make test`.

use strict;
use warnings;

use Test::More;
use lib '.';
use t::Worker;
use JSON::PP qw(decode_json encode_json);
use Time::HiRes qw(sleep time);

my $worker = $ENV{MIKROBILL_WORKER};
my $dir    = $ENV{MIKROBILL_TEST_DIR};
my $build  = $ENV{MIKROBILL_BUILD} || 'build/release';
my $sim    = $ENV{MIKROBILL_SIM} || "$build/mikrobill-ros-sim";
my $rhost  = $ENV{TEST_NGINX_REDIS_HOST} // '127.0.0.1';
my $rport  = $ENV{TEST_NGINX_REDIS_PORT};
my $slow   = $ENV{MIKROBILL_SAN} ? 3 : 1;

plan skip_all => 'needs the servers of make test'
    unless $worker && $dir && $rport && $ENV{TEST_NGINX_PG_CONNINFO};
BAIL_OUT("no simulator at $sim (make sim)") unless -x $sim;

my $stream = "mikrobill:test:mon:$$";
my $rpass  = "Rtr-pass-$$-m";
my $hash   = 'mikrobill:monitors';
my $tstream = 'mikrotik:traffic:customers';
my %routers;

t::Worker::setup(files => 'mon-', id => 'mon', stream => $stream,
                 consumer => sub { "t-mon-$_[0]-$$" }, rpass => $rpass,
                 slow => $slow, command_timeout => 15 * $slow,
                 conf => [secret_key_file => "$dir/mon-secret-$$.key",
                          router_lease_ms => 2000, claim_idle_ms => 2000,
                          sync_interval_s => 3600, monitor_idle_s => 3]);

# ------------------------------------------------------------------ helpers

sub uuid {
    return sprintf('%08x-%04x-4%03x-a%03x-%04x%08x', rand(2**32),
                   rand(2**16), rand(2**12), rand(2**12), rand(2**16),
                   rand(2**32));
}

# a customer with a PPPoE user on the simulator
sub customer {
    my ($user, $name) = @_;
    return { id => uuid(), name => $name, username => "acct-$user",
             pppoe => $user, iface => "<pppoe-$user>" };
}

# the entry nginx writes when it reserves the slot; a new gen each run
sub put_meta {
    my ($c, $router) = @_;
    $c->{gen} = sprintf('%08x%08x', rand(2**32), rand(2**32));
    $c->{meta} = encode_json({
        customer_id => $c->{id}, customer_name => $c->{name},
        username => $c->{username}, service_type => 'pppoe',
        pppoe_username => $c->{pppoe}, interface => $c->{iface},
        router_id => $routers{$router}, gen => $c->{gen},
        started_at => '2026-11-21T06:00:00Z' });
    rcli('HSET', $hash, $c->{id}, $c->{meta});
}

sub mstart {
    my ($c, $router) = @_;
    return command('monitor.start', { customer_id => $c->{id},
                                      router_id => $routers{$router} });
}

sub mstop {
    my ($c, $router) = @_;
    return command('monitor.stop', { customer_id => $c->{id},
                                     router_id => $routers{$router},
                                     gen => $c->{gen} });
}

sub has_entry { return rcli('HEXISTS', $hash, $_[0]->{id}) eq '1' }

# entries of mikrotik:traffic:customers since $from (ms) for customer $c:
# [ [ id, [name, value, ...] ], ... ]
sub samples {
    my ($c, $from) = @_;
    my @l = split /\n/, rcli('XRANGE', $tstream, $from, '+');
    my (@all, $cur);
    for my $line (@l) {
        if ($line =~ /^\d+-\d+$/ && (!$cur || @{ $cur->[1] } % 2 == 0)) {
            push @all, $cur = [ $line, [] ];
        } elsif ($cur) {
            push @{ $cur->[1] }, $line;
        }
    }
    return [ grep { my %f = @{ $_->[1] };
                    ($f{customer_id} // '') eq $c->{id} } @all ];
}

sub now_ms { return int(time * 1000) }

# messages PUBLISHed on a customer's channel, from `redis-cli MONITOR`
# (which is no subscriber, so it does not count as a viewer)
my $mon_log = "$dir/mon-redis-monitor-$$.log";
sub published {
    my ($c) = @_;
    my @out;
    for (split /\n/, slurp($mon_log)) {
        next unless /"PUBLISH" "mikrobill:traffic:\Q$c->{id}\E" "(.*)"$/;
        (my $t = $1) =~ s/\\(x[0-9a-f]{2}|.)/
            length($1) == 3 ? chr(hex(substr($1, 1))) :
            $1 eq 'n' ? "\n" : $1/ge;
        push @out, $t;
    }
    return @out;
}

sub events {
    my ($c, $event) = @_;
    return grep { ($_->{event} // '') eq $event }
           map { decode_json($_) } grep { /^\{"event"/ } published($c);
}

# a SUBSCRIBE child: a viewer of $c; its raw output in a file
sub viewer {
    my ($c) = @_;
    my $log = "$dir/mon-sub-$c->{pppoe}-$$.log";
    my $pid = spawn($log, 'redis-cli', '-h', $rhost, '-p', $rport, '--raw',
                    'SUBSCRIBE', "mikrobill:traffic:$c->{id}");
    wait_for(sub { (split /\n/, rcli('PUBSUB', 'NUMSUB',
                                      "mikrobill:traffic:$c->{id}"))[1]
                   // 0 }, 5)
        or diag('the subscriber did not show up');
    return { pid => $pid, log => $log };
}

sub viewer_lines {
    my ($v) = @_;
    return grep { /^\{/ } split /\n/, slurp($v->{log});
}

# ---------------------------------------------------------------- the setup

unlink "$dir/mon-secret-$$.key";
is(system("$worker gen-key $dir/mon-secret-$$.key >/dev/null"), 0,
   'gen-key');

my $monpid = spawn($mon_log, 'redis-cli', '-h', $rhost, '-p', $rport,
                   'MONITOR');

my $A = start_sim('a', args => ['--ros-version', '7.12']);
my ($ra, $rb) = ("mon-a-$$", "mon-b-$$");
$routers{$ra} = add_router($ra, $A);
# a router nothing listens for: never connected
$routers{$rb} = add_router($rb, { port => free_port() });
ok($routers{$ra} && $routers{$rb}, 'two routers registered');

my $w = start_worker('one');
ok(wait_for(sub { stats($A)->{'logged-in'} == 1 }, 15),
   'the worker connected to the router') or diag(slurp($w->{log}));

my $u = "m$$";
my $c1 = customer("$u-one", 'Test Customer');
my $c2 = customer("$u-two", 'Dua');
my $c3 = customer("$u-idle", 'Tiga Idle');
my $c4 = customer("$u-nosession", 'Empat');
my $c5 = customer("$u-watched", 'Lima');
for my $c ($c1, $c3, $c5) {
    is(ctl($A, "login $c->{pppoe}") =~ /^OK/ ? 1 : 0, 1,
       "session $c->{pppoe} up");
}
is(ctl($A, "rate $c1->{pppoe} 1234567 5234567"), 'OK',
   'rate: rx 1234567 (upload), tx 5234567 (download)');

# ------------------------------------------------- start, samples, formats

my $v1 = viewer($c1);
put_meta($c1, $ra);
my $t0 = now_ms();
my $r = mstart($c1, $ra);
is_deeply([ @{$r}{qw(ok started interface)} ],
          [ JSON::PP::true, JSON::PP::true, $c1->{iface} ],
          'monitor.start: started true at the first sample, interface')
    or diag(explain $r);

ok(wait_for(sub { @{ samples($c1, $t0) } >= 4 }, 6),
   'samples go to mikrotik:traffic:customers');
my $s = samples($c1, $t0);
my @names = map { $s->[-1][1][ 2 * $_ ] } 0 .. 9;
is_deeply(\@names, [qw(customer_id customer_name username service_type
                       interface rx_bits_per_second tx_bits_per_second
                       download_speed upload_speed timestamp)],
          'stream entry: the sample fields, flat, in order');
my %f = @{ $s->[-1][1] };
is_deeply({ %f{qw(customer_id customer_name username service_type interface
                  rx_bits_per_second tx_bits_per_second download_speed
                  upload_speed)} },
          { customer_id => $c1->{id}, customer_name => 'Test Customer',
            username => $c1->{username}, service_type => 'pppoe',
            interface => $c1->{iface}, rx_bits_per_second => '1234567',
            tx_bits_per_second => '5234567', download_speed => '5.23 Mbps',
            upload_speed => '1.23 Mbps' },
          'sample: the simulator\'s rates; download from tx, upload from rx')
    or diag(explain \%f);
like($f{timestamp}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
     'sample: RFC 3339 UTC timestamp, seconds');

# once a second: count over a measured window
my $n0 = @{ samples($c1, $t0) };
my $w0 = time;
sleep 3;
my $rate = (@{ samples($c1, $t0) } - $n0) / (time - $w0);
ok($rate > 0.6 && $rate < 1.5, sprintf('about one sample a second (%.2f/s)',
                                       $rate));

my @lines = viewer_lines($v1);
like($lines[0] // '', qr/^\{"event":"monitor_started","customer_id":"\Q$c1->{id}\E","customer_name":"Test Customer","interface":"\Q$c1->{iface}\E","timestamp":"[^"]+Z"\}$/,
     'channel: monitor_started first, exact keys');
like($lines[1] // '', qr/^\{"customer_id":"\Q$c1->{id}\E","customer_name":"Test Customer","username":"\Q$c1->{username}\E","service_type":"pppoe","interface":"\Q$c1->{iface}\E","rx_bits_per_second":"1234567","tx_bits_per_second":"5234567","download_speed":"5.23 Mbps","upload_speed":"1.23 Mbps","timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}$/,
     'channel: the sample JSON, exact keys and order');
ok(!grep({ /"event"/ } @lines[1 .. $#lines]), 'samples carry no "event"');

is(ctl($A, "rate $c1->{pppoe} 850000 0"), 'OK', 'rate changed');
ok(wait_for(sub {
        my %l = @{ samples($c1, $t0)->[-1][1] };
        ($l{upload_speed} // '') eq '850.00 Kbps'
            && $l{download_speed} eq '0.00 Kbps';
    }, 4), 'the new rate: 850.00 Kbps up, 0.00 Kbps down');

# ------------------------------------------------------------ start again

is(stats($A)->{streams}, 1, 'one stream on the router');
$r = mstart($c1, $ra);
is_deeply([ @{$r}{qw(ok started interface)} ],
          [ JSON::PP::true, JSON::PP::false, $c1->{iface} ],
          'monitor.start again: started false') or diag(explain $r);
is(stats($A)->{streams}, 1, 'and no second stream');

# ---------------------------------------------------------------- errors

put_meta($c2, $rb);
ok(wait_for(sub { rcli('GET', "mikrobill:router:$routers{$rb}:owner")
                  eq $w->{name} }, 10), 'the worker holds the dead router');
$r = mstart($c2, $rb);
is($r->{error}, 'unavailable', 'a router without a connection: unavailable')
    or diag(explain $r);
ok(!has_entry($c2), 'and the entry removed');

$r = command('monitor.start', { customer_id => uuid(),
                                router_id => $routers{$ra} });
is($r->{error}, 'not_found', 'no entry: not_found') or diag(explain $r);

put_meta($c4, $ra);
$r = mstart($c4, $ra);
is($r->{error}, 'trap', 'no such session: trap') or diag(explain $r);
like($r->{message} // '', qr/interface/, "trap: the router's text");
ok(!has_entry($c4), 'and the entry removed');

$r = command('monitor.start', { customer_id => 'x', router_id => 'y' });
is($r->{error}, 'bad_request', 'bad payload: bad_request');

# ----------------------------------------------------------------- stop

$r = command('monitor.stop', { customer_id => $c1->{id},
                               router_id => $routers{$ra},
                               gen => 'another-run' });
is($r->{stopped}, JSON::PP::false, 'monitor.stop of another gen: false');
is(stats($A)->{streams}, 1, 'and the run goes on');
$r = mstop($c1, $ra);
is_deeply([ @{$r}{qw(ok stopped)} ], [ JSON::PP::true, JSON::PP::true ],
          'monitor.stop: stopped true') or diag(explain $r);
ok(wait_for(sub { grep { /"event":"monitor_stopped"/ } viewer_lines($v1) },
            3), 'monitor_stopped on the channel');
my ($ev) = map { decode_json($_) } grep { /monitor_stopped/ }
           viewer_lines($v1);
is_deeply([ @{$ev}{qw(reason message customer_name)} ],
          [ 'stopped', 'Monitor dihentikan', 'Test Customer' ],
          'monitor_stopped: reason stopped, its message');
ok(wait_for(sub { stats($A)->{streams} == 0 }, 3),
   '/cancel reached the router: no stream left');
my $n1 = @{ samples($c1, $t0) };
sleep 2;
is(scalar @{ samples($c1, $t0) }, $n1, 'samples ceased');
is(mstop($c1, $ra)->{stopped}, JSON::PP::false,
   'monitor.stop again: stopped false');

# ------------------------------------------------------- session dropped

put_meta($c1, $ra);
is(mstart($c1, $ra)->{started}, JSON::PP::true, 'started again');
is(ctl($A, "logout $c1->{pppoe}"), 'OK', 'the PPPoE session ends');
ok(wait_for(sub { events($c1, 'monitor_stopped') >= 2 }, 5),
   'a second monitor_stopped');
($ev) = (events($c1, 'monitor_stopped'))[-1];
is_deeply([ @{$ev}{qw(reason message)} ],
          [ 'offline', 'Pelanggan Test Customer offline: sesi PPPoE '
                       . 'berakhir, monitor dihentikan' ],
          'monitor_stopped: reason offline, its message')
    or diag(explain $ev);
ok(wait_for(sub { !has_entry($c1) }, 3), 'and the entry removed');

# ------------------------------------------ idle, and a viewer keeping one

my $v5 = viewer($c5);
put_meta($c3, $ra);
put_meta($c5, $ra);
my $t3 = now_ms();
is(mstart($c3, $ra)->{started}, JSON::PP::true, 'unwatched monitor started');
is(mstart($c5, $ra)->{started}, JSON::PP::true, 'watched monitor started');
ok(wait_for(sub { events($c3, 'monitor_stopped') }, 8),
   'the unwatched one stops by itself (monitor_idle_s = 3)');
my $idle_after = (now_ms() - $t3) / 1000;
($ev) = events($c3, 'monitor_stopped');
is_deeply([ @{$ev}{qw(reason message)} ],
          [ 'idle', 'Monitor dihentikan: tidak ada yang menonton selama '
                    . '0.05 menit' ], 'reason idle, its message')
    or diag(explain $ev);
ok($idle_after >= 2.5, sprintf('not before the timeout (%.1f s)',
                               $idle_after));
ok(!has_entry($c3), 'the idle one\'s entry removed');
my $n5 = @{ samples($c5, $t3) };
sleep 2;
ok(@{ samples($c5, $t3) } > $n5 && has_entry($c5)
   && !events($c5, 'monitor_stopped'),
   'the watched one goes on after the timeout');

# a stop whose command was lost: the entry goes, the check ends the run
rcli('HDEL', $hash, $c5->{id});
ok(wait_for(sub { events($c5, 'monitor_stopped') }, 5),
   'an entry removed behind its back: the run ends');
is((events($c5, 'monitor_stopped'))[0]{reason}, 'stopped',
   'with reason stopped');
stop_pid($v5->{pid});

# ----------------------------------- simulator: load N with a rate

my $c6 = customer('load-00001', 'Enam');
like(ctl($A, 'load 1 4000000 9000000'), qr/^OK 1 loaded/,
     'simulator: load 1 session with a rate');
put_meta($c6, $ra);
my $t6 = now_ms();
is(mstart($c6, $ra)->{started}, JSON::PP::true, 'a loaded session monitored');
ok(wait_for(sub { @{ samples($c6, $t6) } >= 1 }, 3), 'its sample');
%f = @{ (samples($c6, $t6)->[-1] // [0, []])->[1] };
is_deeply([ @f{qw(rx_bits_per_second download_speed upload_speed)} ],
          [ '4000000', '9.00 Mbps', '4.00 Mbps' ], 'with the loaded rate');
is(mstop($c6, $ra)->{stopped}, JSON::PP::true, 'stopped');

# ---------------------------------------------- reconnect, worker restart

ctl($A, "login $c1->{pppoe}");
ctl($A, "rate $c1->{pppoe} 3000000 7000000");
put_meta($c1, $ra);
is(mstart($c1, $ra)->{started}, JSON::PP::true, 'c1 monitored again');

like(ctl($A, 'drop'), qr/^OK [1-9]/, 'the router drops its connections');
ok(wait_for(sub { events($c1, 'monitor_resumed') }, 10),
   'after the reconnect: monitor_resumed') or diag(slurp($w->{log}));
ok(scalar(events($c1, 'monitor_interrupted')),
   'and monitor_interrupted before it');
is((events($c1, 'monitor_interrupted'))[0]{message},
   'Koneksi ke router terputus, menyambung ulang', 'interrupted: message');
is((events($c1, 'monitor_resumed'))[0]{message}, 'Monitor berjalan lagi',
   'resumed: message');

is(stop_pid($w->{pid}), 0, 'worker stopped (TERM, exit 0)');
ok(has_entry($c1), 'the entry stays for the next owner');
ok(events($c1, 'monitor_interrupted') >= 2,
   'stopping the worker: monitor_interrupted');
ok(wait_for(sub { stats($A)->{streams} == 0 }, 5), 'no stream left');
my $t4 = now_ms();
sleep 1;
is(scalar @{ samples($c1, $t4) }, 0, 'no samples while no worker runs');
$w = start_worker('one');
ok(wait_for(sub { @{ samples($c1, $t4) } >= 2 }, 15),
   'the restarted worker resumes the monitor from the hash')
    or diag(slurp($w->{log}));
ok(events($c1, 'monitor_resumed') >= 2, 'and says monitor_resumed');
my %l = @{ samples($c1, $t4)->[-1][1] };
is($l{download_speed}, '7.00 Mbps', 'with the router\'s rate');
is(stats($A)->{streams}, 1, 'one stream');

# --------------------------------------------------- a second worker

my $w2 = start_worker('two');
my $fwd = 0;
for my $i (1 .. 12) {
    $r = mstart($c1, $ra);
    last unless $r && $r->{ok} && $r->{started} == JSON::PP::false;
    if (slurp($w2->{log}) =~ /router \Q$routers{$ra}\E is not ours/) {
        $fwd = 1;
        last;
    }
}
ok($r && $r->{ok} && !$r->{started}, 'through either worker: started false')
    or diag(explain $r);
ok($fwd, 'the second worker forwarded a monitor.start to the owner')
    or diag(slurp($w2->{log}));
$r = mstop($c1, $ra);
is($r->{stopped}, JSON::PP::true, 'monitor.stop through either worker');
ok(wait_for(sub { stats($A)->{streams} == 0 }, 5), 'stream cancelled');

# --------------------------------------------------------------- cleanup

is(stop_pid($w2->{pid}), 0, 'second worker stopped');
is(stop_pid($w->{pid}), 0, 'worker stopped');
for my $name (keys %routers) {
    system("$worker router-del -c @{[t::Worker::write_conf('cli')]} "
           . "--name $name >/dev/null 2>&1");
}
stop_pid($_) for $v1->{pid}, $monpid;
stop_pid($A->{pid});

my $all = join '', map { slurp($_) } grep { !/redis-monitor/ }
          spawned_logs();
unlike($all, qr/\Q$rpass\E/, 'no router password in any log');
unlike($all, qr/Sanitizer|runtime error/, 'no sanitizer report');

rcli('HDEL', $hash, map { $_->{id} } $c1, $c2, $c3, $c4, $c5, $c6);
rcli('DEL', $stream, map {; "mikrobill:router:$_:commands" }
     values %routers);
unlink "$dir/mon-secret-$$.key", $mon_log;

done_testing();
