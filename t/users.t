# /api/users: each role against each endpoint, ADMIN vs SUPERADMIN rules,
# self-protection, validation, duplicates, SQL injection strings, sessions
# killed by password changes, deactivation and deletion.
#
# Flows with dynamic tokens and ids run through the t::MikroBill helpers
# (their own nginx), then the static blocks below __DATA__ run.
use lib '.';
use t::MikroBill;
use POSIX ();

my $PW = 'Rahasia-123';
my $NONE = '00000000-0000-4000-8000-000000000000';

sub reset_state {
    mb_psql("DELETE FROM login_failures");
    # every account: the SUPERADMIN rules here count all of them, and other
    # test files leave theirs behind
    mb_delete_users("true");
}

sub auth { { Authorization => "Bearer $_[0]" } }

sub api {
    my ($token, $method, $path, $body) = @_;
    return mb_http($method, $path, $token ? auth($token) : {}, $body);
}

sub create {
    my ($token, %u) = @_;
    my $r = api($token, 'POST', '/api/users',
                { password => $PW, role => 'USER', %u });
    return $r;
}

sub login_ok {
    my ($name, $pw) = @_;
    my $t = mb_login($name, $pw // $PW);
    ok($t, "login $name");
    return $t;
}

reset_state();
is(mb_create_user('usr_root', $PW, 'SUPERADMIN'), 0, 'create-admin usr_root');

my ($m, $h, $c) = mb_default_config();
mb_start_nginx($m, $h . "    mikrobill_login_delay 1ms;\n"
                      . "    mikrobill_login_max_failures_addr 1000;\n", $c);

my $root = login_ok('usr_root');
my $root_id = api($root, 'GET', '/api/me')->{json}{user}{id};

my %id;
for my $role (qw(ADMIN TECHNICIAN USER)) {
    my $name = 'usr_' . lc $role;
    my $r = create($root, username => $name, role => $role,
                   full_name => "usr-test $role");
    is($r->{status}, 201, "SUPERADMIN creates $role: 201");
    $id{$role} = $r->{json}{id};
}
$id{SUPERADMIN} = $root_id;
my %tok = (SUPERADMIN => $root);
$tok{$_} = login_ok('usr_' . lc $_) for qw(ADMIN TECHNICIAN USER);

# --------------------------------------------------- shape of a user

{
    my $r = api($root, 'GET', "/api/users/$id{USER}");
    is($r->{status}, 200, 'GET one: 200');
    my $u = $r->{json};
    is_deeply([sort keys %$u],
              [sort qw(id username full_name role active outlet_id
                       created_at updated_at)], 'GET one: exactly the fields');
    is($u->{username}, 'usr_user', 'GET one: username');
    is($u->{full_name}, 'usr-test USER', 'GET one: full_name');
    ok($u->{active} && JSON::PP::is_bool($u->{active}), 'active is boolean');
    ok(!defined $u->{outlet_id}, 'outlet_id null');
}

# ------------------------------------------------ role x endpoint matrix

for my $role (qw(TECHNICIAN USER)) {
    my $t = $tok{$role};
    my %expect = (
        "GET /api/users" => [ 'GET', '/api/users' ],
        "GET /api/users/{id}" => [ 'GET', "/api/users/$id{USER}" ],
        "POST /api/users" => [ 'POST', '/api/users',
                               { username => 'usr_x', password => $PW,
                                 role => 'USER' } ],
        "PUT /api/users/{id}" => [ 'PUT', "/api/users/$id{USER}",
                                   { username => 'usr_user', role => 'USER' } ],
        "PATCH /api/users/{id}" => [ 'PATCH', "/api/users/$id{USER}",
                                     { full_name => 'x' } ],
        "DELETE /api/users/{id}" => [ 'DELETE', "/api/users/$id{USER}" ],
    );
    for my $k (sort keys %expect) {
        my $r = api($t, @{ $expect{$k} });
        is($r->{status}, 403, "$role $k: 403");
        like($r->{body}, qr/"error".*"message"/s, "$role $k: JSON error");
    }
}

for my $k ([ 'GET', '/api/users' ], [ 'GET', "/api/users/$id{USER}" ],
           [ 'POST', '/api/users', { username => 'usr_x' } ],
           [ 'PUT', "/api/users/$id{USER}", {} ],
           [ 'PATCH', "/api/users/$id{USER}", {} ],
           [ 'DELETE', "/api/users/$id{USER}" ])
{
    is(api(undef, @$k)->{status}, 401, "anonymous $k->[0] $k->[1]: 401");
}
is(mb_psql("SELECT full_name FROM users WHERE id = ?", $id{USER}),
   'usr-test USER', 'refused calls changed nothing');

# ADMIN: everything on non-SUPERADMINs, nothing on SUPERADMINs
{
    my $a = $tok{ADMIN};
    is(api($a, 'GET', '/api/users')->{status}, 200, 'ADMIN list: 200');
    is(api($a, 'GET', "/api/users/$root_id")->{status}, 200,
       'ADMIN may read a SUPERADMIN');
    my $r = create($a, username => 'usr_by_admin', role => 'TECHNICIAN');
    is($r->{status}, 201, 'ADMIN creates TECHNICIAN: 201');
    my $by_admin = $r->{json}{id};
    $r = create($a, username => 'usr_admin2', role => 'ADMIN');
    is($r->{status}, 201, 'ADMIN creates ADMIN: 201');
    $r = create($a, username => 'usr_sa_by_admin', role => 'SUPERADMIN');
    is($r->{status}, 403, 'ADMIN creates SUPERADMIN: 403');
    is(mb_psql("SELECT count(*) FROM users WHERE username = 'usr_sa_by_admin'"),
       0, '... and nothing was created');
    $r = api($a, 'PATCH', "/api/users/$by_admin", { role => 'SUPERADMIN' });
    is($r->{status}, 403, 'ADMIN promotes to SUPERADMIN: 403');
    $r = api($a, 'PATCH', "/api/users/$root_id", { full_name => 'hacked' });
    is($r->{status}, 403, 'ADMIN PATCH on SUPERADMIN: 403');
    $r = api($a, 'PUT', "/api/users/$root_id",
             { username => 'usr_root', role => 'SUPERADMIN' });
    is($r->{status}, 403, 'ADMIN PUT on SUPERADMIN: 403');
    $r = api($a, 'PATCH', "/api/users/$root_id", { password => 'Owned-12345' });
    is($r->{status}, 403, 'ADMIN resets a SUPERADMIN password: 403');
    $r = api($a, 'DELETE', "/api/users/$root_id");
    is($r->{status}, 403, 'ADMIN DELETE of SUPERADMIN: 403');
    isnt(mb_psql("SELECT full_name FROM users WHERE id = ?", $root_id),
         'hacked', 'SUPERADMIN untouched');
    ok(login_ok('usr_root'), 'SUPERADMIN password untouched');
    $r = api($a, 'PATCH', "/api/users/$by_admin", { full_name => 'Teknisi' });
    is($r->{status}, 200, 'ADMIN PATCH on TECHNICIAN: 200');
    is($r->{json}{full_name}, 'Teknisi', '... applied');
    $r = api($a, 'DELETE', "/api/users/$by_admin");
    ok($r->{status} == 200 || $r->{status} == 204, 'ADMIN DELETE: 200/204');
    is($r->{json}{status}, 'deleted', '{"status":"deleted"}')
        if $r->{status} == 200;
    is(api($a, 'GET', "/api/users/$by_admin")->{status}, 404,
       'deleted user: 404');
}

# ---------------------------------------------- self and SUPERADMIN rules

{
    my $r = api($root, 'PATCH', "/api/users/$root_id", { active => JSON::PP::false });
    is($r->{status}, 409, 'deactivate self: 409');
    like($r->{json}{message} // '', qr/sendiri/, 'deactivate self: message');
    $r = api($root, 'PATCH', "/api/users/$root_id", { role => 'ADMIN' });
    is($r->{status}, 409, 'demote self: 409');
    $r = api($root, 'PUT', "/api/users/$root_id",
             { username => 'usr_root', role => 'ADMIN' });
    is($r->{status}, 409, 'demote self by PUT: 409');
    $r = api($root, 'DELETE', "/api/users/$root_id");
    is($r->{status}, 409, 'delete self: 409');
    is(mb_psql("SELECT role || active::text FROM users WHERE id = ?",
               $root_id), 'SUPERADMINtrue', 'self still an active SUPERADMIN');

    my $a = $tok{ADMIN};
    $r = api($a, 'PATCH', "/api/users/$id{ADMIN}", { role => 'TECHNICIAN' });
    is($r->{status}, 409, 'ADMIN demotes self: 409');
    $r = api($a, 'DELETE', "/api/users/$id{ADMIN}");
    is($r->{status}, 409, 'ADMIN deletes self: 409');
    $r = api($a, 'PATCH', "/api/users/$id{ADMIN}", { full_name => 'Saya' });
    is($r->{status}, 200, 'ADMIN edits own full_name: 200');

    # two SUPERADMINs demoting each other at once: one must remain
    $r = create($root, username => 'usr_sa2', role => 'SUPERADMIN');
    is($r->{status}, 201, 'second SUPERADMIN: 201');
    my $sa2 = $r->{json}{id};
    my $sa2_tok = login_ok('usr_sa2');
    my @st = race([ $root, 'PATCH', "/api/users/$sa2", { role => 'ADMIN' } ],
                  [ $sa2_tok, 'PATCH', "/api/users/$root_id",
                    { role => 'ADMIN' } ]);
    is(scalar(grep { $_ == 200 } @st), 1,
       "concurrent mutual demotion: exactly one succeeds (@st)");
    ok(!grep({ $_ != 200 && $_ != 403 && $_ != 409 } @st),
       'the other gets 403 or 409');
    cmp_ok(mb_psql("SELECT count(*) FROM users"
                   . " WHERE role = 'SUPERADMIN' AND active"), '>=', 1,
           'an active SUPERADMIN remains');
    # restore: the remaining SUPERADMIN promotes the other back
    my ($win) = mb_psql("SELECT username FROM users WHERE id IN (?, ?)"
                        . " AND role = 'SUPERADMIN'", $root_id, $sa2);
    my $wt = $win->[0] eq 'usr_root' ? $root : $sa2_tok;
    my $loser = $win->[0] eq 'usr_root' ? $sa2 : $root_id;
    is(api($wt, 'PATCH', "/api/users/$loser", { role => 'SUPERADMIN' })
       ->{status}, 200, 'promote back: 200');
    $root = login_ok('usr_root');
    is(api($root, 'DELETE', "/api/users/$sa2")->{status}, 200,
       'SUPERADMIN deletes another SUPERADMIN: 200');
    is(api($sa2_tok, 'GET', '/api/me')->{status}, 401,
       'deleted user\'s session is gone');
}

# two requests sent together, answered in any order: their statuses
sub race {
    my (@reqs) = @_;
    my @pipes;
    for my $req (@reqs) {
        pipe(my $rd, my $wr) or die "pipe: $!";
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            close $rd;
            my $r = api(@$req);
            print $wr $r->{status};
            close $wr;
            POSIX::_exit(0);
        }
        close $wr;
        push @pipes, [ $pid, $rd ];
    }
    my @st;
    for my $p (@pipes) {
        my $fh = $p->[1];
        local $/;
        push @st, scalar(<$fh>) // 0;
        waitpid $p->[0], 0;
    }
    return @st;
}

# ------------------------------------------------------------ validation

{
    my @cases = (
        [ username => 'ab' ], [ username => 'a' x 33 ], [ username => 'a b c' ],
        [ username => "usr_\xc3\xbc" ], [ username => 'usr/x' ],
        [ username => "usr_x'--" ], [ username => 123 ], [ username => undef ],
        [ password => 'short7!' ], [ password => 'p' x 257 ],
        [ password => 12345678 ], [ password => undef ],
        [ role => 'ROOT' ], [ role => 'admin' ], [ role => undef ],
        [ role => "ADMIN' OR '1'='1" ],
        [ full_name => 'n' x 101 ], [ full_name => 5 ],
        [ outlet_id => 'nope' ], [ outlet_id => 42 ],
        [ outlet_id => "1' OR '1'='1" ],
        [ active => 'yes' ], [ active => 1 ],
    );
    my $n = 0;
    for my $case (@cases) {
        my ($field, $value) = @$case;
        $n++;
        my %body = (username => "usr_valid$n", password => $PW,
                    role => 'USER', $field => $value);
        delete $body{$field} if !defined $value;
        my $shown = defined $value ? substr("$value", 0, 20) : '(missing)';
        my $r = api($root, 'POST', '/api/users', \%body);
        is($r->{status}, 400, "create with $field=$shown: 400");
        is($r->{json}{error}, 'validation_failed', "... error code");
        ok(length($r->{json}{message} // ''), '... message');
        is($r->{json}{field}, $field, "... field $field");
    }
    is(mb_psql("SELECT count(*) FROM users WHERE username LIKE 'usr\\_valid%'"),
       0, 'no invalid user was created');

    my $r = create($root, username => 'usr_nul', full_name => "usr-test\x00");
    is($r->{status}, 400, 'NUL in a string: 400');
    $r = api($root, 'POST', '/api/users', 'not json');
    is($r->{status}, 400, 'non-JSON body: 400');
    $r = api($root, 'POST', '/api/users', [1, 2]);
    is($r->{status}, 400, 'JSON array body: 400');

    # boundaries
    $r = create($root, username => 'usr_' . ('b' x 28),
                full_name => "usr-test " . ("\xc3\xa9" x 91),
                password => 'p' x 8);
    is($r->{status}, 201, '32-char username, 100-char UTF-8 name, 8-char pw');
    is($r->{json}{full_name}, "usr-test " . ("\xc3\xa9" x 91),
       'UTF-8 full_name round trip');
    $r = create($root, username => 'usr_p256', password => 'p' x 256,
                outlet_id => '3F2504E0-4F89-41D3-9A0C-0305E82C3301',
                active => JSON::PP::false);
    is($r->{status}, 201, '256-char password, outlet uuid, inactive');
    is(lc($r->{json}{outlet_id} // ''), '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
       'outlet_id stored');
    ok(!$r->{json}{active}, 'created inactive');
    $r = create($root, username => 'usr._-ok');
    is($r->{status}, 201, 'dot, underscore and hyphen allowed');
    is($r->{json}{full_name}, '', 'full_name defaults to empty');
    ok($r->{json}{active}, 'active defaults to true');

    # duplicates, case-insensitive
    $r = create($root, username => 'USR_USER');
    is($r->{status}, 409, 'duplicate username (other case): 409');
    like($r->{body}, qr/"error".*"message"/s, '409 is a JSON error');
    $r = api($root, 'PATCH', "/api/users/$id{TECHNICIAN}",
             { username => 'usr_User' });
    is($r->{status}, 409, 'rename onto an existing username: 409');

    # ids in the path
    for my $bad ('not-a-uuid', '123', "$id{USER}x", "1'%20OR%20'1'='1",
                 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz')
    {
        for my $method (qw(GET PATCH PUT DELETE)) {
            my $r = api($root, $method, "/api/users/$bad",
                        $method =~ /^P/ ? { full_name => 'x' } : undef);
            ok($r->{status} == 400 || $r->{status} == 404,
               "$method bad id '$bad': 400/404 ($r->{status})");
        }
    }
    for my $method (qw(GET PATCH PUT DELETE)) {
        my $r = api($root, $method, "/api/users/$NONE",
                    $method eq 'PUT' ? { username => 'usr_none', role => 'USER' }
                    : $method eq 'PATCH' ? { full_name => 'x' } : undef);
        is($r->{status}, 404, "$method unknown id: 404");
    }
    unlike(mb_error_log(), qr/invalid input syntax for type uuid/,
           'no uuid cast error reached PostgreSQL');
}

# ------------------------------------------------------------ PUT / PATCH

{
    my $r = create($root, username => 'usr_edit', full_name => 'usr-test E',
                   outlet_id => $NONE);
    my $eid = $r->{json}{id};
    my $before = $r->{json}{updated_at};
    select undef, undef, undef, 0.05;

    $r = api($root, 'PATCH', "/api/users/$eid", { full_name => 'usr-test F' });
    is($r->{status}, 200, 'PATCH: 200');
    is($r->{json}{full_name}, 'usr-test F', 'PATCH: changed field');
    is($r->{json}{outlet_id}, $NONE, 'PATCH: other fields kept');
    isnt($r->{json}{updated_at}, $before, 'PATCH: updated_at moves');
    $r = api($root, 'PATCH', "/api/users/$eid", { outlet_id => undef });
    ok(!defined $r->{json}{outlet_id}, 'PATCH outlet_id null clears it');

    $r = api($root, 'PUT', "/api/users/$eid",
             { username => 'usr_edit2', role => 'TECHNICIAN' });
    is($r->{status}, 200, 'PUT: 200');
    is($r->{json}{username}, 'usr_edit2', 'PUT: username');
    is($r->{json}{role}, 'TECHNICIAN', 'PUT: role');
    is($r->{json}{full_name}, '', 'PUT: omitted full_name reset');
    ok($r->{json}{active}, 'PUT: omitted active is true');
    ok(login_ok('usr_edit2'), 'PUT without password keeps the password');
    $r = api($root, 'PUT', "/api/users/$eid", { full_name => 'x' });
    is($r->{status}, 400, 'PUT without username/role: 400');
}

# ------------------------------------- sessions follow account changes

{
    my $r = create($root, username => 'usr_sess');
    my $sid = $r->{json}{id};
    my $t1 = login_ok('usr_sess');
    $r = api($root, 'PATCH', "/api/users/$sid", { password => 'Baru-54321' });
    is($r->{status}, 200, 'password change: 200');
    unlike($r->{body}, qr/password|pbkdf2/i, 'no hash in the answer');
    is(api($t1, 'GET', '/api/me')->{status}, 401,
       'password change kills the user\'s sessions');
    is(mb_http('POST', '/api/auth/login', {},
               { username => 'usr_sess', password => $PW })->{status}, 401,
       'old password refused');
    my $t2 = login_ok('usr_sess', 'Baru-54321');

    $r = api($root, 'PATCH', "/api/users/$sid", { active => JSON::PP::false });
    is($r->{status}, 200, 'deactivate: 200');
    is(api($t2, 'GET', '/api/me')->{status}, 401,
       'deactivation kills the sessions');
    is(mb_http('POST', '/api/auth/login', {},
               { username => 'usr_sess', password => 'Baru-54321' })
       ->{status}, 401, 'inactive user cannot log in');

    # own password change keeps the current session, ends the others
    my $a1 = $tok{ADMIN};
    my $a2 = login_ok('usr_admin');
    $r = api($a1, 'PATCH', "/api/users/$id{ADMIN}",
             { password => 'Admin-Baru-1' });
    is($r->{status}, 200, 'own password change: 200');
    is(api($a1, 'GET', '/api/me')->{status}, 200, 'current session kept');
    is(api($a2, 'GET', '/api/me')->{status}, 401, 'other session ended');
}

# ------------------------------------------------------- list and search

{
    create($root, username => 'usr_pct', full_name => 'usr-test 100% real');
    create($root, username => 'usr_under', full_name => 'usr-test a_b');
    create($root, username => 'usr_plain', full_name => 'usr-test axb');

    my $r = api($root, 'GET', '/api/users?limit=200');
    is($r->{status}, 200, 'list: 200');
    is(ref $r->{json}{data}, 'ARRAY', 'list: data array');
    my @names = map { $_->{username} } @{ $r->{json}{data} };
    is_deeply(\@names, [ sort { lc $a cmp lc $b } @names ],
              'list: ordered by username');
    is($r->{json}{total}, scalar @names, 'list: total');
    is($r->{json}{limit}, 200, 'list: limit echoed');
    is($r->{json}{offset}, 0, 'list: offset echoed');
    unlike($r->{body}, qr/password|pbkdf2/i, 'list: no password hash');

    $r = api($root, 'GET', '/api/users');
    is($r->{json}{limit}, 50, 'list: default limit 50');

    $r = api($root, 'GET', '/api/users?limit=2&offset=1');
    is(scalar @{ $r->{json}{data} }, 2, 'limit=2: two rows');
    is($r->{json}{data}[0]{username}, $names[1], 'offset=1 skips one');
    is($r->{json}{total}, scalar @names, 'total ignores paging');

    $r = api($root, 'GET', '/api/users?offset=100000');
    is_deeply($r->{json}{data}, [], 'offset past the end: empty page');
    is($r->{json}{total}, scalar @names, '... with the total');

    for my $q ('limit=0', 'limit=201', 'limit=abc', 'limit=-1',
               'offset=-1', 'offset=x')
    {
        is(api($root, 'GET', "/api/users?$q")->{status}, 400, "?$q: 400");
    }

    $r = api($root, 'GET', '/api/users?q=%25');
    is_deeply([ map { $_->{username} } @{ $r->{json}{data} } ], ['usr_pct'],
              'q=% matches a literal percent only');
    $r = api($root, 'GET', '/api/users?q=a_b');
    is_deeply([ map { $_->{username} } @{ $r->{json}{data} } ],
              ['usr_under'], 'q=a_b: underscore is literal');
    $r = api($root, 'GET', '/api/users?q=USR_PL');
    is_deeply([ map { $_->{username} } @{ $r->{json}{data} } ],
              ['usr_plain'], 'q is case-insensitive, matches username');
    $r = api($root, 'GET', '/api/users?q=100%25+real');
    is_deeply([ map { $_->{username} } @{ $r->{json}{data} } ],
              ['usr_pct'], 'q matches full_name, + is a space');
    $r = api($root, 'GET', "/api/users?q=%27%20OR%201%3D1%20--");
    is($r->{status}, 200, 'q with SQL: 200');
    is($r->{json}{total}, 0, 'q with SQL matches nothing');
    $r = api($root, 'GET', '/api/users?q=%FF%FE');
    is($r->{status}, 400, 'q not UTF-8: 400');
}

# ------------------------------------------------------- SQL injection

{
    my @evil = (
        "usr-test Robert'); DROP TABLE users;--",
        "usr-test ' OR '1'='1",
        "usr-test \"; DELETE FROM sessions; --",
        "usr-test \\'; TRUNCATE users; --",
        "usr-test \$\$; DROP TABLE login_failures; \$\$",
        "usr-test 1; UPDATE users SET role='SUPERADMIN'",
    );
    my $i = 0;
    for my $name (@evil) {
        $i++;
        my $r = create($root, username => "usr_evil$i", full_name => $name,
                       password => "pw'); DROP TABLE users;-- $i");
        is($r->{status}, 201, "injection in full_name/password $i: 201");
        is($r->{json}{full_name}, $name, "... full_name verbatim in answer");
        my $g = api($root, 'GET', "/api/users/$r->{json}{id}");
        is($g->{json}{full_name}, $name, '... verbatim on GET');
        is(mb_psql("SELECT full_name FROM users WHERE username = ?",
                   "usr_evil$i"), $name, '... verbatim in the table');
        is($g->{json}{role}, 'USER', '... role untouched');
        ok(login_ok("usr_evil$i", "pw'); DROP TABLE users;-- $i"),
           '... the password with SQL logs in');
        $r = api($root, 'PATCH', "/api/users/$r->{json}{id}",
                 { full_name => "$name (2)" });
        is($r->{json}{full_name}, "$name (2)", '... PATCH verbatim');
    }
    for my $t (qw(users sessions login_failures)) {
        ok(mb_psql("SELECT to_regclass(?) IS NOT NULL", $t) eq 't',
           "table $t still exists");
    }
    cmp_ok(mb_psql("SELECT count(*) FROM sessions"), '>', 0,
           'sessions were not deleted');
    is(mb_psql("SELECT count(*) FROM users WHERE role = 'SUPERADMIN'"
               . " AND username LIKE 'usr\\_evil%'"), 0, 'nobody promoted');
}

mb_stop_nginx();

mb_use_defaults();
run_tests();
done_testing() unless Test::More->builder->has_plan;
reset_state();

__DATA__

=== TEST 1: list without credentials
--- request
GET /api/users
--- error_code: 401
--- response_body_like chomp
"error"



=== TEST 2: create without credentials
--- request
POST /api/users
{"username":"usr_anon","password":"Rahasia-123","role":"SUPERADMIN"}
--- more_headers
Content-Type: application/json
--- error_code: 401



=== TEST 3: delete without credentials
--- request
DELETE /api/users/00000000-0000-4000-8000-000000000000
--- error_code: 401
