# The traffic monitor REST API (docs/monitor.md) without a worker: the
# checks nginx makes itself (uuid, customer, interface, router, online),
# the slot count in mikrobill:monitors (reserve once, 429 when full, status
# shape), stop, roles, 504 when no worker answers (the slot is given back)
# and 503 while Redis is down.  The worker's side is in t/monitor.t.
use lib '.';
use t::MikroBill;
use JSON::PP ();
use Time::HiRes qw(time sleep);

my $PW = 'Rahasia-123';
my $NONE = '00000000-0000-4000-8000-000000000000';
my $KEY = 'mikrobill:monitors';

sub api {
    my ($token, $method, $path, $body) = @_;
    return mb_http($method, $path,
                   $token ? { Authorization => "Bearer $token" } : {}, $body);
}

sub customer {
    my (%c) = @_;
    my @cols = sort keys %c;
    return scalar mb_psql('INSERT INTO customers (' . join(', ', @cols) . ') VALUES ('
                   . join(', ', map { '?' } @cols) . ') RETURNING id',
                   map { $c{$_} } @cols);
}

sub running { return { mb_redis('HGETALL', $KEY) } }

mb_psql("DELETE FROM login_failures");
mb_psql("DELETE FROM customers WHERE username LIKE 'mo-%'");
mb_psql("DELETE FROM routers WHERE name LIKE 'mo-%'");
mb_delete_users("username LIKE 'mo\\_%'");
mb_redis('DEL', $KEY);
is(mb_create_user('mo_' . lc $_, $PW, $_), 0, "user $_")
    for qw(ADMIN TECHNICIAN USER);

my ($m, $h, $c) = mb_default_config();
mb_start_nginx($m, $h . "    mikrobill_login_delay 1ms;\n"
                      . "    mikrobill_login_max_failures_addr 1000;\n"
                      . "    mikrobill_command_timeout 1500ms;\n"
                      . "    mikrobill_monitor_max 3;\n", $c);
my %tok = map { $_ => scalar mb_login('mo_' . lc $_, $PW) }
    qw(ADMIN TECHNICIAN USER);
my $adm = $tok{ADMIN};

my $rid = scalar mb_psql("INSERT INTO routers (name, host, port, username,"
                  . " password_enc) VALUES ('mo-r1', '127.0.0.1', 1, 'admin',"
                  . " 'x') RETURNING id");
my $off = scalar mb_psql("INSERT INTO routers (name, host, port, username,"
                  . " password_enc, enabled) VALUES ('mo-off', '127.0.0.1', 1,"
                  . " 'admin', 'x', false) RETURNING id");
ok($rid && $off, 'two routers, one disabled');

my %cust = (
    online   => customer(name => 'Budi Online', username => 'mo-budi',
                         pppoe_username => 'budi01', router_id => $rid,
                         conn_status => 'online'),
    offline  => customer(name => 'Sari', username => 'mo-sari',
                         pppoe_username => 'sari01', router_id => $rid),
    nopppoe  => customer(name => 'Tanpa PPPoE', username => 'mo-none',
                         router_id => $rid, conn_status => 'online'),
    hotspot  => customer(name => 'Hotspot', username => 'mo-hs',
                         service_type => 'hotspot', pppoe_username => 'hs1',
                         router_id => $rid, conn_status => 'online'),
    norouter => customer(name => 'Tanpa Router', username => 'mo-norouter',
                         pppoe_username => 'nr01', conn_status => 'online'),
    disabled => customer(name => 'Router Mati', username => 'mo-dis',
                         pppoe_username => 'dis01', router_id => $off,
                         conn_status => 'online'),
    suspended => customer(name => 'Ditangguhkan', username => 'mo-susp',
                          pppoe_username => 'susp01', router_id => $rid,
                          conn_status => 'online', status => 'suspended'),
);
ok(!grep({ !$_ } values %cust), 'customers');

# ------------------------------------------------------------ refusals

my @cases = (
    [ 'no customer_id', '', 400, 'validation_failed' ],
    [ 'bad uuid', '?customer_id=123', 400, 'validation_failed' ],
    [ 'injection', "?customer_id=x'--", 400, 'validation_failed' ],
    [ 'unknown customer', "?customer_id=$NONE", 404, 'not_found' ],
    [ 'suspended customer', "?customer_id=$cust{suspended}", 404, 'not_found' ],
    [ 'no pppoe username', "?customer_id=$cust{nopppoe}", 422, 'no_interface' ],
    [ 'hotspot customer', "?customer_id=$cust{hotspot}", 422, 'no_interface' ],
    [ 'no router', "?customer_id=$cust{norouter}", 422, 'no_router' ],
    [ 'disabled router', "?customer_id=$cust{disabled}", 503,
      'router_not_connected' ],
    [ 'offline customer', "?customer_id=$cust{offline}", 409,
      'customer_offline' ],
);
for my $case (@cases) {
    my ($name, $q, $status, $code) = @$case;
    my $r = api($adm, 'POST', "/api/monitor/start$q");
    is($r->{status}, $status, "$name: $status");
    is($r->{json}{error}, $code, "$name: error $code") or diag($r->{body});
    ok(length($r->{json}{message} // ''), "$name: a message");
}
is(api($adm, 'POST', "/api/monitor/start?customer_id=$cust{offline}")
   ->{json}{message}, 'Pelanggan sedang offline (tidak ada sesi PPPoE)',
   'offline: the message');
is_deeply(running(), {}, 'nothing reserved by a refusal');

# ------------------------------------------------------------ roles

is(api(undef, 'POST', "/api/monitor/start?customer_id=$cust{online}")
   ->{status}, 401, 'anonymous start: 401');
is(api(undef, 'GET', '/api/monitor/status')->{status}, 401,
   'anonymous status: 401');
is(api($tok{USER}, 'POST', "/api/monitor/start?customer_id=$cust{online}")
   ->{status}, 403, 'USER start: 403');
is(api($tok{USER}, 'GET', '/api/monitor/status')->{status}, 403,
   'USER status: 403');
is(api($adm, 'GET', "/api/monitor/start?customer_id=$cust{online}")
   ->{status}, 405, 'GET start: 405');

# ------------------------------------------------------------ no worker

my $t0 = time;
my $r = api($tok{TECHNICIAN}, 'POST',
            "/api/monitor/start?customer_id=$cust{online}");
is($r->{status}, 504, 'no worker: 504') or diag($r->{body});
is($r->{json}{error}, 'worker_timeout', 'no worker: worker_timeout');
ok(time - $t0 < 5, 'no worker: within the command timeout');
my @cmd = mb_redis('XREVRANGE', 'mikrobill:commands', '+', '-', 'COUNT', 1);
shift @cmd;
my %cmd = @cmd;
is($cmd{type}, 'monitor.start', 'stream entry: monitor.start');
is_deeply(JSON::PP::decode_json($cmd{payload} // '{}'),
          { customer_id => $cust{online}, router_id => $rid },
          'stream entry: payload');
ok($cmd{reply_to}, 'stream entry: waits for a reply');
sleep 0.2;
is_deeply(running(), {}, 'no worker: the slot is given back');

# ------------------------------------------------------------ slots

# a run the worker has started: the entry nginx would have written
my %meta = (customer_id => $cust{online}, router_id => $rid,
            gen => 'aaaaaaaaaaaaaaaa', customer_name => 'Budi Online',
            interface => '<pppoe-budi01>', started_at => '2026-11-21T06:00:00Z');
my $meta = JSON::PP->new->canonical->encode(\%meta);
mb_redis('HSET', $KEY, $cust{online}, $meta);

$r = api($adm, 'POST', "/api/monitor/start?customer_id=$cust{online}");
is($r->{status}, 200, 'already running: 200');
is_deeply($r->{json}, { status => 'success', message => 'Monitoring started',
                        customer_id => $cust{online},
                        already_running => JSON::PP::true() },
          'already running: the spec shape, nothing started twice');
is(running()->{$cust{online}}, $meta, 'already running: entry unchanged');

$r = api($tok{TECHNICIAN}, 'GET', '/api/monitor/status');
is($r->{status}, 200, 'status: 200');
is_deeply([sort keys %{ $r->{json} }],
          [sort qw(status active_monitors monitor_count max_concurrent
                   slots_available monitors)], 'status: shape');
is($r->{json}{status}, 'ok', 'status: ok');
is_deeply($r->{json}{active_monitors}, [ $cust{online} ], 'active_monitors');
is($r->{json}{monitor_count}, 1, 'monitor_count');
is($r->{json}{max_concurrent}, 3, 'max_concurrent from mikrobill_monitor_max');
is($r->{json}{slots_available}, 2, 'slots_available');
is($r->{json}{monitors}[0]{customer_name}, 'Budi Online', 'monitors: name');
ok(!exists $r->{json}{monitors}[0]{gen}, 'monitors: no gen');

mb_redis('HSET', $KEY, "fill-$_", '{}') for 1 .. 2;
mb_psql("UPDATE customers SET conn_status = 'online' WHERE id = ?",
        $cust{offline});
$r = api($adm, 'POST', "/api/monitor/start?customer_id=$cust{offline}");
is($r->{status}, 429, 'slots full: 429');
is($r->{json}{error}, 'no_slot', 'slots full: no_slot');
is($r->{json}{message}, 'Slot monitor penuh: 3 dari 3 sedang dipakai',
   'slots full: the message');
ok(!exists running()->{$cust{offline}}, 'slots full: not reserved');
$r = api($adm, 'GET', '/api/monitor/status')->{json};
is($r->{slots_available}, 0, 'status: no slot available');
is($r->{monitor_count}, 3, 'status: 3 running');
mb_redis('HDEL', $KEY, "fill-$_") for 1 .. 2;

# ------------------------------------------------------------ stop

$r = api($adm, 'POST', "/api/monitor/stop?customer_id=$cust{online}");
is($r->{status}, 200, 'stop: 200 (even when no worker answers)');
is_deeply($r->{json}, { status => 'success', message => 'Monitoring stopped',
                        customer_id => $cust{online},
                        was_running => JSON::PP::true() }, 'stop: shape');
ok(!exists running()->{$cust{online}}, 'stop: the slot is free at once');
@cmd = mb_redis('XREVRANGE', 'mikrobill:commands', '+', '-', 'COUNT', 1);
shift @cmd;
%cmd = @cmd;
is($cmd{type}, 'monitor.stop', 'stream entry: monitor.stop');
is_deeply(JSON::PP::decode_json($cmd{payload} // '{}'),
          { customer_id => $cust{online}, router_id => $rid,
            gen => 'aaaaaaaaaaaaaaaa' }, 'stream entry: stop payload');

$r = api($adm, 'POST', "/api/monitor/stop?customer_id=$cust{online}");
is($r->{status}, 200, 'stop again: 200');
is($r->{json}{was_running}, JSON::PP::false(), 'stop again: was not running');
is(api($adm, 'POST', '/api/monitor/stop?customer_id=nope')->{status}, 400,
   'stop: bad uuid 400');
is(api($tok{USER}, 'POST', "/api/monitor/stop?customer_id=$cust{online}")
   ->{status}, 403, 'USER stop: 403');

# ------------------------------------------------------------ Redis down

mb_redis_stop();
$r = api($adm, 'GET', '/api/monitor/status');
is($r->{status}, 503, 'Redis down: status 503');
is($r->{json}{error}, 'service_unavailable', 'Redis down: error code');
$r = api($adm, 'POST', "/api/monitor/start?customer_id=$cust{online}");
is($r->{status}, 503, 'Redis down: start 503');
mb_redis_start();
my $back;
for (1 .. 50) {
    $back = api($adm, 'GET', '/api/monitor/status')->{status} == 200;
    last if $back;
    sleep 0.2;
}
ok($back, 'Redis back: status 200 again');

mb_redis('DEL', $KEY);
mb_stop_nginx();
done_testing();
