# /api/customers: CRUD, validation (phone normalization, PPPoE names,
# static IP, coordinates), uniqueness per router, filters, search, sort,
# paging, the map, role checks, SQL injection strings stored verbatim,
# PPPoE passwords sealed and never returned.
use lib '.';
use t::MikroBill;

my $PW = 'Rahasia-123';
my $NONE = '00000000-0000-4000-8000-000000000000';

sub reset_state {
    mb_psql("DELETE FROM login_failures");
    mb_psql("DELETE FROM customers WHERE username LIKE 'ct\\_%'");
    mb_psql("DELETE FROM routers WHERE name LIKE 'ct-%'");
    mb_delete_users("username LIKE 'ct\\_%'");
}

sub api {
    my ($token, $method, $path, $body) = @_;
    return mb_http($method, $path,
                   $token ? { Authorization => "Bearer $token" } : {}, $body);
}

reset_state();
for my $role (qw(SUPERADMIN ADMIN TECHNICIAN USER)) {
    is(mb_create_user('ct_' . lc $role, $PW, $role), 0, "user $role");
}

ok(mb_secret_key_file(), 'a secret key file for the tests');
my ($m, $h, $c) = mb_default_config();
mb_start_nginx($m, $h . "    mikrobill_login_delay 1ms;\n"
                      . "    mikrobill_login_max_failures_addr 1000;\n", $c);

my %tok = map { $_ => scalar mb_login('ct_' . lc $_, $PW) }
    qw(SUPERADMIN ADMIN TECHNICIAN USER);
ok($tok{$_}, "login $_") for sort keys %tok;
my $adm = $tok{ADMIN};

# two routers, straight into the table (the routers API has its own test)
my $r1 = mb_psql("INSERT INTO routers (name, host, port, username, password_enc)"
                 . " VALUES ('ct-r1', '10.0.0.1', 8728, 'admin', 'x') RETURNING id");
my $r2 = mb_psql("INSERT INTO routers (name, host, port, username, password_enc)"
                 . " VALUES ('ct-r2', '10.0.0.2', 8728, 'admin', 'x') RETURNING id");
ok($r1 && $r2, 'routers');

# ------------------------------------------------------------ create

my $r = api($adm, 'POST', '/api/customers', {
    name => 'Budi Santoso', username => 'ct_budi', service_type => 'pppoe',
    pppoe_username => 'Budi01', pppoe_password => 'ppp-Secret-1',
    router_id => $r1, profile => '10M', phone => '0812-3456-7890',
    address => 'Jl. Merdeka 1', latitude => -6.2087634, longitude => 106.845599,
});
is($r->{status}, 201, 'create: 201') or diag($r->{body});
my $budi = $r->{json};
is_deeply([sort keys %$budi],
          [sort qw(id name username service_type pppoe_username static_ip
                   router_id router_name profile phone address latitude
                   longitude status conn_status last_seen_at session_address
                   uptime caller_id status_changed_at created_at updated_at
                   has_pppoe_password)], 'customer shape');
is($budi->{phone}, '6281234567890', '08... normalized to 62...');
is($budi->{router_name}, 'ct-r1', 'router_name');
is($budi->{conn_status}, 'offline', 'new PPPoE customer: offline');
is($budi->{status}, 'active', 'status defaults to active');
is($budi->{latitude}, -6.2087634, 'latitude kept exactly');
is($budi->{longitude}, 106.845599, 'longitude kept exactly');
ok($budi->{has_pppoe_password}, 'has_pppoe_password');
unlike($r->{body}, qr/ppp-Secret-1|"pppoe_password"/, 'no password in the answer');
my $enc = mb_psql("SELECT pppoe_password_enc FROM customers WHERE id = ?",
                  $budi->{id});
ok($enc && $enc ne 'ppp-Secret-1' && $enc !~ /ppp-Secret/,
   'PPPoE password sealed at rest');

$r = api($adm, 'POST', '/api/customers', {
    name => 'Static Sari', username => 'ct_sari', service_type => 'static_ip',
    static_ip => '192.168.10.5', router_id => $r1, phone => '+62 811 111 222',
});
is($r->{status}, 201, 'static_ip customer: 201') or diag($r->{body});
my $sari = $r->{json};
is($sari->{conn_status}, 'unknown', 'static_ip customer: unknown');
is($sari->{phone}, '62811111222', 'E.164 kept as digits');
is($sari->{static_ip}, '192.168.10.5', 'static_ip');
is($sari->{latitude}, undef, 'no coordinates: null');

$r = api($adm, 'POST', '/api/customers',
         { name => 'Tanpa PPPoE', username => 'ct_nopppoe' });
is($r->{status}, 201, 'minimal customer: 201');
is($r->{json}{conn_status}, 'offline', 'without pppoe_username: offline');
is($r->{json}{service_type}, 'pppoe', 'service_type defaults to pppoe');
ok(!$r->{json}{has_pppoe_password}, 'no PPPoE password');
my $nop = $r->{json};

# same PPPoE name on another router is fine, on the same one (any case) not
$r = api($adm, 'POST', '/api/customers', { name => 'Budi Dua',
         username => 'ct_budi2', pppoe_username => 'budi01', router_id => $r2 });
is($r->{status}, 201, 'same PPPoE name on another router: 201');
my $budi2 = $r->{json};
$r = api($adm, 'POST', '/api/customers', { name => 'Budi Tiga',
         username => 'ct_budi3', pppoe_username => 'BUDI01', router_id => $r1 });
is($r->{status}, 409, 'same PPPoE name on the same router: 409');
is($r->{json}{field}, 'pppoe_username', '409 names pppoe_username');
$r = api($adm, 'POST', '/api/customers', { name => 'X', username => 'CT_BUDI' });
is($r->{status}, 409, 'username taken in another case: 409');
is($r->{json}{field}, 'username', '409 names username');

# ------------------------------------------------------------ validation

my @bad = (
    [{ username => 'ct_v1' }, 'name'],
    [{ name => 'V', username => 'x' }, 'username'],
    [{ name => 'V', username => 'ct_v1', service_type => 'fiber' }, 'service_type'],
    [{ name => 'V', username => 'ct_v1', pppoe_username => 'has space' }, 'pppoe_username'],
    [{ name => 'V', username => 'ct_v1', pppoe_username => 'x' x 65 }, 'pppoe_username'],
    [{ name => 'V', username => 'ct_v1', pppoe_username => "bad'quote" }, 'pppoe_username'],
    [{ name => 'V', username => 'ct_v1', service_type => 'static_ip' }, 'static_ip'],
    [{ name => 'V', username => 'ct_v1', static_ip => '300.1.1.1' }, 'static_ip'],
    [{ name => 'V', username => 'ct_v1', static_ip => '10.0.0.0/24' }, 'static_ip'],
    [{ name => 'V', username => 'ct_v1', router_id => 'abc' }, 'router_id'],
    [{ name => 'V', username => 'ct_v1', phone => '12345' }, 'phone'],
    [{ name => 'V', username => 'ct_v1', phone => '0712345678' }, 'phone'],
    [{ name => 'V', username => 'ct_v1', phone => '+0812345678' }, 'phone'],
    [{ name => 'V', username => 'ct_v1', phone => '0812abc4567' }, 'phone'],
    [{ name => 'V', username => 'ct_v1', latitude => 91, longitude => 0 }, 'latitude'],
    [{ name => 'V', username => 'ct_v1', latitude => 0, longitude => -181 }, 'longitude'],
    [{ name => 'V', username => 'ct_v1', latitude => 1 }, 'longitude'],
    [{ name => 'V', username => 'ct_v1', longitude => 1 }, 'latitude'],
    [{ name => 'V', username => 'ct_v1', latitude => '1', longitude => 1 }, 'latitude'],
    [{ name => 'V', username => 'ct_v1', status => 'deleted' }, 'status'],
    [{ name => 'V', username => 'ct_v1', address => 'a' x 501 }, 'address'],
);
for my $b (@bad) {
    $r = api($adm, 'POST', '/api/customers', $b->[0]);
    is($r->{status}, 400, "invalid $b->[1]: 400") or diag($r->{body});
    is($r->{json}{field}, $b->[1], "invalid $b->[1]: field")
        or diag($r->{body});
    like($r->{json}{message} // '', qr/\S/, "invalid $b->[1]: message");
}
$r = api($adm, 'POST', '/api/customers',
         { name => 'V', username => 'ct_v1', router_id => $NONE });
ok($r->{status} == 422 || $r->{status} == 400, 'unknown router: 422');
is($r->{json}{field}, 'router_id', 'unknown router: field');

# SQL injection strings are data
my $evil = "Robert'); DROP TABLE customers; --";
$r = api($adm, 'POST', '/api/customers',
         { name => $evil, username => 'ct_evil', address => "' OR 1=1 --" });
is($r->{status}, 201, 'injection string accepted as data');
is($r->{json}{name}, $evil, 'stored verbatim');
is(mb_psql("SELECT address FROM customers WHERE username = 'ct_evil'"),
   "' OR 1=1 --", 'stored verbatim in the table');
$r = api($adm, 'GET', '/api/customers?q=' . "%27%29%3B%20DROP");
is($r->{status}, 200, 'injection in q: 200');
is($r->{json}{total}, 1, 'injection in q: found as text');

# ------------------------------------------------------------ get, update

$r = api($tok{USER}, 'GET', "/api/customers/$budi->{id}");
is($r->{status}, 200, 'USER may read a customer');
is($r->{json}{name}, 'Budi Santoso', 'GET one');
is(api($adm, 'GET', "/api/customers/$NONE")->{status}, 404, 'unknown id: 404');
is(api($adm, 'GET', "/api/customers/nope")->{status}, 400, 'bad id: 400');

# the sync marked Budi online; an edit of the name keeps it
mb_psql("UPDATE customers SET conn_status = 'online', session_address = '10.9.0.2',"
        . " uptime = '1h', last_seen_at = now() WHERE id = ?", $budi->{id});
$r = api($adm, 'PATCH', "/api/customers/$budi->{id}",
         { name => 'Budi S.', phone => '+6281200001111' });
is($r->{status}, 200, 'PATCH: 200') or diag($r->{body});
is($r->{json}{name}, 'Budi S.', 'PATCH name');
is($r->{json}{pppoe_username}, 'Budi01', 'PATCH keeps the rest');
is($r->{json}{phone}, '6281200001111', 'PATCH phone');
is($r->{json}{conn_status}, 'online', 'live status kept when unrelated');
is($r->{json}{latitude}, -6.2087634, 'coordinates kept');
ok($r->{json}{has_pppoe_password}, 'absent password keeps the stored one');
is(mb_psql("SELECT pppoe_password_enc FROM customers WHERE id = ?", $budi->{id}),
   $enc, 'sealed password unchanged');
$r = api($adm, 'PATCH', "/api/customers/$budi->{id}", { pppoe_password => '' });
is(mb_psql("SELECT pppoe_password_enc FROM customers WHERE id = ?", $budi->{id}),
   $enc, 'empty password keeps the stored one');

# changing the PPPoE name resets the live status
$r = api($adm, 'PATCH', "/api/customers/$budi->{id}", { pppoe_username => 'budi-baru' });
is($r->{json}{conn_status}, 'offline', 'new PPPoE name: offline until the sync');
is($r->{json}{session_address}, undef, 'session cleared');
ok($r->{json}{status_changed_at}, 'status_changed_at set');

# to static_ip and back
$r = api($adm, 'PATCH', "/api/customers/$budi->{id}", { service_type => 'static_ip' });
is($r->{status}, 400, 'static_ip without an address: 400');
is($r->{json}{field}, 'static_ip', '... names static_ip');
$r = api($adm, 'PATCH', "/api/customers/$budi->{id}",
         { service_type => 'static_ip', static_ip => '10.1.1.1' });
is($r->{json}{conn_status}, 'unknown', 'changed to static_ip: unknown');
$r = api($adm, 'PATCH', "/api/customers/$budi->{id}", { service_type => 'pppoe' });
is($r->{json}{conn_status}, 'offline', 'back to pppoe: offline');
$r = api($adm, 'PATCH', "/api/customers/$budi->{id}", { latitude => undef });
is($r->{status}, 400, 'PATCH one coordinate away: 400');
$r = api($adm, 'PATCH', "/api/customers/$budi->{id}",
         { latitude => undef, longitude => undef });
is($r->{json}{latitude}, undef, 'both coordinates removed');
$r = api($adm, 'PATCH', "/api/customers/$budi->{id}",
         { latitude => -6.3, longitude => 106.9 });

# PPPoE rename into a taken name on the same router
$r = api($adm, 'PATCH', "/api/customers/$budi2->{id}", { router_id => $r1,
         pppoe_username => 'BUDI-BARU' });
is($r->{status}, 409, 'PATCH into a taken PPPoE name: 409');

# PUT replaces: absent optional fields become empty
$r = api($adm, 'PUT', "/api/customers/$budi2->{id}",
         { name => 'Budi Dua', username => 'ct_budi2', status => 'suspended' });
is($r->{status}, 200, 'PUT: 200') or diag($r->{body});
is($r->{json}{router_id}, undef, 'PUT without router_id: null');
is($r->{json}{status}, 'suspended', 'PUT status');
is($r->{json}{conn_status}, 'offline', 'PUT without PPPoE: offline');
is(api($adm, 'PUT', "/api/customers/$NONE",
       { name => 'N', username => 'ct_none' })->{status}, 404, 'PUT unknown: 404');

# ------------------------------------------------------------ roles

for my $role (qw(TECHNICIAN USER)) {
    is(api($tok{$role}, 'POST', '/api/customers',
           { name => 'R', username => 'ct_role' })->{status}, 403,
       "$role cannot create");
    is(api($tok{$role}, 'PATCH', "/api/customers/$nop->{id}",
           { name => 'R' })->{status}, 403, "$role cannot update");
    is(api($tok{$role}, 'DELETE', "/api/customers/$nop->{id}")->{status}, 403,
       "$role cannot delete");
    is(api($tok{$role}, 'GET', '/api/customers')->{status}, 200,
       "$role may list");
}
is(api(undef, 'GET', '/api/customers')->{status}, 401, 'anonymous: 401');
is(api(undef, 'GET', '/api/customers/map')->{status}, 401, 'anonymous map: 401');

# ------------------------------------------------------------ list

for my $i (1 .. 12) {
    my $n = sprintf('%02d', $i);
    $r = api($tok{SUPERADMIN}, 'POST', '/api/customers', {
        name => "Pelanggan $n", username => "ct_p$n",
        pppoe_username => "p$n", router_id => $i % 2 ? $r1 : $r2,
        status => $i % 3 ? 'active' : 'inactive',
        ($i <= 4 ? (latitude => -7 - $i / 100, longitude => 110 + $i / 100) : ()),
    });
    is($r->{status}, 201, "bulk $n") or diag($r->{body});
}
mb_psql("UPDATE customers SET conn_status = 'online', last_seen_at = now()"
        . " - (substring(username from 5)::int || ' min')::interval"
        . " WHERE username IN ('ct_p01', 'ct_p02', 'ct_p03')");

$r = api($adm, 'GET', '/api/customers?limit=5&offset=0&q=pelanggan');
is($r->{status}, 200, 'list: 200');
is_deeply([sort keys %{ $r->{json} }], [qw(data limit offset total)], 'page shape');
is($r->{json}{total}, 12, 'q: total');
is($r->{json}{limit}, 5, 'limit');
is(scalar @{ $r->{json}{data} }, 5, 'a page of 5');
is($r->{json}{data}[0]{name}, 'Pelanggan 01', 'sorted by name');
unlike($r->{body}, qr/"pppoe_password"|password_enc/, 'no secrets in the list');
$r = api($adm, 'GET', '/api/customers?limit=5&offset=10&q=pelanggan');
is(scalar @{ $r->{json}{data} }, 2, 'last page');
is($r->{json}{data}[1]{name}, 'Pelanggan 12', 'last page order');
$r = api($adm, 'GET', '/api/customers?limit=5&offset=100&q=pelanggan');
is_deeply($r->{json}{data}, [], 'beyond the end: empty');
is($r->{json}{total}, 12, 'beyond the end: total');

$r = api($adm, 'GET', '/api/customers?q=pelanggan&sort=name&order=desc&limit=1');
is($r->{json}{data}[0]{name}, 'Pelanggan 12', 'order=desc');
$r = api($adm, 'GET', '/api/customers?q=pelanggan&conn_status=online&sort=last_seen_at&order=desc');
is($r->{json}{total}, 3, 'conn_status=online');
is($r->{json}{data}[0]{username}, 'ct_p01', 'sort=last_seen_at desc');
$r = api($adm, 'GET', "/api/customers?q=pelanggan&router_id=$r2");
is($r->{json}{total}, 6, 'router_id filter');
$r = api($adm, 'GET', '/api/customers?q=pelanggan&status=inactive');
is($r->{json}{total}, 4, 'status filter');
$r = api($adm, 'GET', '/api/customers?service_type=static_ip&q=ct_');
is($r->{json}{total}, 1, 'service_type filter');
$r = api($adm, 'GET', '/api/customers?q=P07');
is($r->{json}{total}, 1, 'search on pppoe_username, any case');
$r = api($adm, 'GET', '/api/customers?q=ct_p1');
is($r->{json}{total}, 3, 'search on username');
$r = api($adm, 'GET', '/api/customers?q=%25');
is($r->{json}{total}, 0, 'a % in q is a literal percent sign');
$r = api($adm, 'GET', '/api/customers?q=ct%5Fp0&limit=200');
is($r->{json}{total}, 9, 'an _ in q is a literal underscore');
for my $q ('limit=0', 'limit=201', 'offset=-1', 'sort=password',
           'sort=name;DROP', 'order=up', 'conn_status=x', 'status=x',
           'service_type=x', 'router_id=1') {
    is(api($adm, 'GET', "/api/customers?$q")->{status}, 400, "$q: 400");
}

# ------------------------------------------------------------ map

$r = api($tok{USER}, 'GET', '/api/customers/map');
is($r->{status}, 200, 'map: 200');
my @mine = grep { $_->[1] =~ /^Pelanggan 0[1-4]$/ } @{ $r->{json}{data} };
is(scalar @mine, 4, 'map: every customer with coordinates');
my ($p1) = grep { $_->[1] eq 'Pelanggan 01' } @mine;
is(scalar @$p1, 5, 'map entry: [id, name, lat, lng, conn_status]');
is($p1->[4], 'online', 'map: conn_status');
is($p1->[2], -7.01, 'map: lat');
is($p1->[3], 110.01, 'map: lng');
ok(!grep({ $_->[1] =~ /^Pelanggan 0[5-9]$/ } @{ $r->{json}{data} }),
   'no coordinates, not on the map');
like($r->{body}, qr/^\{"data":\[\[/, 'compact arrays');

# ------------------------------------------------------------ live uptime

# the sync stores when a session started (sql/004); the API counts from it
mb_psql("UPDATE customers SET conn_status = 'online', uptime = '0s',"
        . " session_started_at = now() - interval '1 hour 2 minutes'"
        . " WHERE id = ?", $budi->{id});
$r = api($adm, 'GET', "/api/customers/$budi->{id}");
like($r->{json}{uptime}, qr/^1h2m\d*s?$/, "uptime counted from the start: "
     . ($r->{json}{uptime} // 'undef'));
mb_psql("UPDATE customers SET conn_status = 'offline',"
        . " session_started_at = NULL WHERE id = ?", $budi->{id});

# ------------------------------------------------------------ delete

is(api($adm, 'DELETE', "/api/customers/$nop->{id}")->{status}, 200, 'DELETE: 200');
is(api($adm, 'DELETE', "/api/customers/$nop->{id}")->{status}, 404, 'again: 404');
is(api($adm, 'GET', "/api/customers/$nop->{id}")->{status}, 404, 'gone');

# without a key, PPPoE passwords cannot be written
mb_stop_nginx();
mb_start_nginx($m, join("\n", grep { !/secret_key_file/ } split /\n/, $h) . "\n", $c);
$tok{ADMIN} = mb_login('ct_admin', $PW);
$r = api($tok{ADMIN}, 'POST', '/api/customers',
         { name => 'K', username => 'ct_key', pppoe_password => 'x' });
is($r->{status}, 503, 'no key: 503');
is($r->{json}{error}, 'not_configured', 'no key: not_configured');
$r = api($tok{ADMIN}, 'POST', '/api/customers', { name => 'K', username => 'ct_key' });
is($r->{status}, 201, 'no key: writes without a password still work');

mb_stop_nginx();
reset_state();

done_testing();
