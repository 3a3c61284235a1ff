# /api/routers: CRUD, validation, the write-only password (sealed at rest,
# kept on an empty update), 409 on names in any case, roles, and 503
# not_configured without mikrobill_secret_key_file.
use lib '.';
use t::MikroBill;

my $PW = 'Rahasia-123';
my $NONE = '00000000-0000-4000-8000-000000000000';

sub reset_state {
    mb_psql("DELETE FROM login_failures");
    mb_psql("DELETE FROM routers WHERE name ILIKE 'ra-%'");
    mb_delete_users("username LIKE 'ra\\_%'");
}

sub api {
    my ($token, $method, $path, $body) = @_;
    return mb_http($method, $path,
                   $token ? { Authorization => "Bearer $token" } : {}, $body);
}

reset_state();
is(mb_create_user('ra_' . lc $_, $PW, $_), 0, "user $_")
    for qw(SUPERADMIN ADMIN TECHNICIAN USER);

ok(mb_secret_key_file(), 'a secret key file for the tests');
my ($m, $h, $c) = mb_default_config();
mb_start_nginx($m, $h . "    mikrobill_login_delay 1ms;\n"
                      . "    mikrobill_login_max_failures_addr 1000;\n", $c);
my %tok = map { $_ => scalar mb_login('ra_' . lc $_, $PW) }
    qw(SUPERADMIN ADMIN TECHNICIAN USER);
my $adm = $tok{ADMIN};

my $secret = 'Router-Pw with space ' . $$;
my $r = api($adm, 'POST', '/api/routers', {
    name => 'ra-Kantor', host => '192.168.88.1', username => 'admin',
    password => $secret,
});
is($r->{status}, 201, 'create: 201') or diag($r->{body});
my $rt = $r->{json};
is_deeply([sort keys %$rt],
          [sort qw(id name host port username tls tls_verify tls_ca_file
                   tls_allow_anon_dh enabled created_at updated_at
                   has_password)], 'router shape');
is($rt->{port}, 8728, 'port defaults to 8728');
ok(!$rt->{tls} && $rt->{enabled}, 'defaults: plain, enabled');
is($rt->{has_password}, JSON::PP::true(), 'has_password');
unlike($r->{body}, qr/\Q$secret\E|password_enc|"password"/, 'no password in the answer');

my $enc = mb_psql("SELECT password_enc FROM routers WHERE id = ?", $rt->{id});
ok($enc && $enc ne $secret && index($enc, $secret) < 0, 'sealed at rest');
like($enc, qr{^[A-Za-z0-9+/]+=*$}, 'sealed text is base64');

$r = api($adm, 'POST', '/api/routers', { name => 'ra-tls', host => 'router.example.net',
         username => 'api', password => 'x', tls => JSON::PP::true() });
is($r->{status}, 201, 'TLS router by host name: 201');
is($r->{json}{port}, 8729, 'TLS port defaults to 8729');
my $tls = $r->{json};

# 409 on the name in any case
$r = api($adm, 'POST', '/api/routers', { name => 'RA-KANTOR', host => '10.0.0.1',
         username => 'a', password => 'b' });
is($r->{status}, 409, 'name taken in another case: 409');
is($r->{json}{field}, 'name', '409 names the field');

# validation
for my $b ([{ host => '10.0.0.1', username => 'a', password => 'b' }, 'name'],
           [{ name => 'ra-v', username => 'a', password => 'b' }, 'host'],
           [{ name => 'ra-v', host => 'bad host', username => 'a', password => 'b' }, 'host'],
           [{ name => 'ra-v', host => '-x.com', username => 'a', password => 'b' }, 'host'],
           [{ name => 'ra-v', host => 'a' x 64 . '.com', username => 'a', password => 'b' }, 'host'],
           [{ name => 'ra-v', host => '10.0.0.1', port => 0, username => 'a', password => 'b' }, 'port'],
           [{ name => 'ra-v', host => '10.0.0.1', port => 65536, username => 'a', password => 'b' }, 'port'],
           [{ name => 'ra-v', host => '10.0.0.1', port => '80', username => 'a', password => 'b' }, 'port'],
           [{ name => 'ra-v', host => '10.0.0.1', password => 'b' }, 'username'],
           [{ name => 'ra-v', host => '10.0.0.1', username => 'a' }, 'password'],
           [{ name => 'ra-v', host => '10.0.0.1', username => 'a', password => '' }, 'password'],
           [{ name => 'ra-v', host => '10.0.0.1', username => 'a', password => 'b', tls => 'yes' }, 'tls'],
           [{ name => 'ra-v', host => '10.0.0.1', username => 'a', password => 'b', tls_verify => JSON::PP::true() }, 'tls_verify'],
           [{ name => 'ra-v', host => '10.0.0.1', username => 'a', password => 'b', tls_allow_anon_dh => JSON::PP::true() }, 'tls_allow_anon_dh'],
           [{ name => 'x' x 65, host => '10.0.0.1', username => 'a', password => 'b' }, 'name']) {
    $r = api($adm, 'POST', '/api/routers', $b->[0]);
    is($r->{status}, 400, "invalid $b->[1]: 400") or diag($r->{body});
    is($r->{json}{field}, $b->[1], "invalid $b->[1]: field") or diag($r->{body});
}
$r = api($adm, 'POST', '/api/routers', { name => 'ra-v6', host => 'fe80::1',
         username => 'a', password => 'b', port => 18728 });
is($r->{status}, 201, 'IPv6 host: 201');

# list, get
$r = api($tok{TECHNICIAN}, 'GET', '/api/routers');
is($r->{status}, 200, 'TECHNICIAN may list');
my @mine = grep { $_->{name} =~ /^ra-/ } @{ $r->{json}{data} };
is(scalar @mine, 3, 'list');
ok(defined $r->{json}{total}, 'list has total');
unlike($r->{body}, qr/password_enc|"password"/, 'no password in the list');
is(api($tok{TECHNICIAN}, 'GET', "/api/routers/$rt->{id}")->{json}{name},
   'ra-Kantor', 'TECHNICIAN may read one');
is(api($adm, 'GET', "/api/routers/$NONE")->{status}, 404, 'unknown: 404');
is(api($adm, 'GET', "/api/routers/x")->{status}, 400, 'bad id: 400');
is(api($tok{USER}, 'GET', '/api/routers')->{status}, 403, 'USER: 403');
is(api(undef, 'GET', '/api/routers')->{status}, 401, 'anonymous: 401');

# writes: roles
is(api($tok{TECHNICIAN}, 'POST', '/api/routers', { name => 'ra-t', host => '1.1.1.1',
       username => 'a', password => 'b' })->{status}, 403, 'TECHNICIAN cannot create');
is(api($tok{TECHNICIAN}, 'PATCH', "/api/routers/$rt->{id}", { name => 'ra-t' })->{status},
   403, 'TECHNICIAN cannot update');
is(api($tok{TECHNICIAN}, 'DELETE', "/api/routers/$rt->{id}")->{status}, 403,
   'TECHNICIAN cannot delete');

# update: an empty or absent password keeps the stored one
$r = api($adm, 'PATCH', "/api/routers/$rt->{id}", { host => '192.168.88.2', password => '' });
is($r->{status}, 200, 'PATCH: 200') or diag($r->{body});
is($r->{json}{host}, '192.168.88.2', 'PATCH host');
is($r->{json}{username}, 'admin', 'PATCH keeps the rest');
is(mb_psql("SELECT password_enc FROM routers WHERE id = ?", $rt->{id}), $enc,
   'empty password keeps the stored one');
$r = api($adm, 'PUT', "/api/routers/$rt->{id}", { name => 'ra-Kantor',
         host => '192.168.88.3', username => 'admin2', port => 8000 });
is($r->{status}, 200, 'PUT without password: 200') or diag($r->{body});
is($r->{json}{port}, 8000, 'PUT port');
is(mb_psql("SELECT password_enc FROM routers WHERE id = ?", $rt->{id}), $enc,
   'absent password keeps the stored one');
$r = api($adm, 'PATCH', "/api/routers/$rt->{id}", { password => 'new-pw' });
my $enc2 = mb_psql("SELECT password_enc FROM routers WHERE id = ?", $rt->{id});
ok($enc2 ne $enc && index($enc2, 'new-pw') < 0, 'a new password is sealed anew');
$r = api($adm, 'PATCH', "/api/routers/$rt->{id}", { name => 'RA-TLS' });
is($r->{status}, 409, 'rename onto a taken name: 409');
$r = api($adm, 'PATCH', "/api/routers/$tls->{id}", { tls => JSON::PP::false() });
is($r->{status}, 200, 'TLS off: 200');
$r = api($adm, 'PATCH', "/api/routers/$tls->{id}", { tls_allow_anon_dh => JSON::PP::true() });
is($r->{status}, 400, 'anon DH without TLS (from the stored row): 400');
$r = api($adm, 'PATCH', "/api/routers/$tls->{id}", { enabled => JSON::PP::false(),
         tls_ca_file => '/etc/ssl/ca.pem' });
ok(!$r->{json}{enabled}, 'disabled');
is($r->{json}{tls_ca_file}, '/etc/ssl/ca.pem', 'tls_ca_file');
$r = api($adm, 'PATCH', "/api/routers/$tls->{id}", { tls => JSON::PP::true(),
         tls_verify => JSON::PP::true() });
ok($r->{json}{tls_verify}, 'tls_verify with a CA file');
$r = api($adm, 'PUT', "/api/routers/$tls->{id}", { name => 'ra-tls',
         host => 'router.example.net', username => 'api' });
is($r->{status}, 200, 'PUT replaces the TLS settings') or diag($r->{body});
ok(!$r->{json}{tls} && !$r->{json}{tls_verify} && !defined $r->{json}{tls_ca_file}
   && $r->{json}{enabled}, 'PUT: absent flags take their defaults');
is(api($adm, 'PATCH', "/api/routers/$NONE", { name => 'ra-n' })->{status}, 404,
   'PATCH unknown: 404');

# a customer keeps living when its router goes
my $cid = mb_psql("INSERT INTO customers (name, username, router_id) VALUES"
                  . " ('ra cust', 'ra_cust', ?) RETURNING id", $tls->{id});
is(api($adm, 'DELETE', "/api/routers/$tls->{id}")->{status}, 200, 'DELETE: 200');
is(api($adm, 'DELETE', "/api/routers/$tls->{id}")->{status}, 404, 'again: 404');
is(mb_psql("SELECT router_id IS NULL FROM customers WHERE id = ?", $cid), 't',
   "the router's customers stay, without router");
mb_psql("DELETE FROM customers WHERE id = ?", $cid);

# without a key: writes of passwords answer 503 not_configured
mb_stop_nginx();
mb_start_nginx($m, join("\n", grep { !/secret_key_file/ } split /\n/, $h) . "\n", $c);
$adm = mb_login('ra_admin', $PW);
$r = api($adm, 'POST', '/api/routers', { name => 'ra-nokey', host => '10.0.0.9',
         username => 'a', password => 'b' });
is($r->{status}, 503, 'no key: 503');
is($r->{json}{error}, 'not_configured', 'no key: not_configured');
$r = api($adm, 'PATCH', "/api/routers/$rt->{id}", { host => '10.0.0.10' });
is($r->{status}, 200, 'no key: an update without a password works');

# a bad key file stops the start with a clear error
mb_stop_nginx();
my $bad = ($ENV{MIKROBILL_TEST_DIR} || 't') . "/ra-bad-$$.key";
open(my $fh, '>', $bad) or die; print $fh "not a key\n"; close $fh; chmod 0600, $bad;
my $h_nokey = join("\n", grep { !/secret_key_file/ } split /\n/, $h) . "\n";
eval { mb_start_nginx($m, $h_nokey . "    mikrobill_secret_key_file $bad;\n", $c) };
like($@, qr/secret key file/, 'a bad key file: nginx refuses to start');
unlink $bad;
# the refused start must not count as a running helper
eval { mb_stop_nginx() };

reset_state();
done_testing();
