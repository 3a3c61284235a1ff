# Sessions: login, logout, /api/me, Bearer and cookie authentication, CSRF,
# failed-login slow-down and lockout, session expiry.
#
# Flows with dynamic tokens run through the t::MikroBill helpers (their own
# nginx), then the static blocks below __DATA__ run.
use lib '.';
use t::MikroBill;
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(time sleep);

my $PW = 'Rahasia-123';
my ($MAIN, $HTTP, $CONFIG) = mb_default_config();

sub reset_state {
    mb_psql("DELETE FROM login_failures");
    mb_delete_users("username LIKE 'auth\\_%'");
}

sub start {
    my ($extra) = @_;
    return mb_start_nginx($MAIN, $HTTP . ($extra // ''), $CONFIG);
}

sub cookie_of {
    my ($res, $name) = @_;
    for my $c (@{ $res->{set_cookies} }) {
        return $c if $c =~ /^\Q$name\E=/;
    }
    return '';
}

sub value_of {
    my ($cookie) = @_;
    return $cookie =~ /^[^=]+=([^;]*)/ ? $1 : '';
}

sub bearer { { Authorization => "Bearer $_[0]" } }

reset_state();
is(mb_create_user('auth_root', $PW, 'SUPERADMIN'), 0, 'create-admin auth_root');
is(mb_create_user('auth_tech', $PW, 'TECHNICIAN'), 0, 'create-admin auth_tech');
is(mb_create_user('auth_off', $PW, 'USER'), 0, 'create-admin auth_off');
mb_psql("UPDATE users SET active = false WHERE username = 'auth_off'");

# ------------------------------------------------------------ login, me

start(<<'EOC');
    mikrobill_login_max_failures 3;
    mikrobill_login_max_failures_addr 1000;
    mikrobill_login_lockout 2s;
    mikrobill_login_delay 200ms;
EOC

{
    my ($token, $res) = mb_login('auth_root', $PW);
    is($res->{status}, 200, 'login: 200');
    my $j = $res->{json} || {};
    like($token // '', qr/^[A-Za-z0-9_-]{43}$/, 'login: 32-byte base64url token');
    like($j->{csrf_token} // '', qr/^[A-Za-z0-9_-]{43}$/, 'login: csrf token');
    isnt($j->{csrf_token}, $token, 'login: csrf token differs from token');
    like($j->{expires_at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/,
         'login: expires_at');
    is($j->{user}{username}, 'auth_root', 'login: user.username');
    is($j->{user}{role}, 'SUPERADMIN', 'login: user.role');
    ok($j->{user}{active}, 'login: user.active');
    ok(exists $j->{user}{outlet_id} && exists $j->{user}{created_at}
       && exists $j->{user}{updated_at} && $j->{user}{id},
       'login: user has id, outlet_id, created_at, updated_at');
    unlike($res->{body}, qr/password|pbkdf2/i, 'login: no password hash');

    my $sc = cookie_of($res, 'mb_session');
    is(value_of($sc), $token, 'mb_session cookie carries the token');
    like($sc, qr/;\s*HttpOnly/i, 'mb_session is HttpOnly');
    like($sc, qr/;\s*SameSite=Strict/i, 'mb_session is SameSite=Strict');
    like($sc, qr/;\s*Path=\//, 'mb_session Path=/');
    like($sc, qr/;\s*Max-Age=43200\b/, 'mb_session Max-Age is the 12h ttl');
    unlike($sc, qr/Secure/, 'no Secure over plain HTTP by default');
    my $cc = cookie_of($res, 'mb_csrf');
    is(value_of($cc), $j->{csrf_token}, 'mb_csrf cookie carries csrf token');
    unlike($cc, qr/HttpOnly/i, 'mb_csrf is readable by scripts');
    like($cc, qr/SameSite=Strict/i, 'mb_csrf is SameSite=Strict');

    is(mb_psql("SELECT count(*) FROM sessions WHERE token_hash = ?",
               sha256_hex($token)), 1, 'session stored as SHA-256 of token');
    is(mb_psql("SELECT count(*) FROM sessions WHERE token_hash = ?"
               . " OR csrf_hash = ?", $token, $j->{csrf_token}), 0,
       'neither token is stored in clear');
    is(mb_psql("SELECT count(*) FROM sessions WHERE csrf_hash = ?",
               sha256_hex($j->{csrf_token})), 1, 'csrf stored hashed');

    my $me = mb_http('GET', '/api/me', bearer($token));
    is($me->{status}, 200, 'me with Bearer: 200');
    is($me->{json}{user}{username}, 'auth_root', 'me: the logged-in user');
    unlike($me->{body}, qr/password/i, 'me: no password hash');

    $me = mb_http('GET', '/api/me', { Cookie => "mb_session=$token" });
    is($me->{status}, 200, 'me with cookie: 200');

    $me = mb_http('GET', '/api/me',
                  { Cookie => "theme=dark; mb_session=$token; x=1" });
    is($me->{status}, 200, 'me with cookie among others: 200');

    $me = mb_http('GET', '/api/me', { Authorization => "bearer $token" });
    is($me->{status}, 200, 'Bearer scheme is case-insensitive');

    for my $bad ("Bearer x$token", "Bearer " . substr($token, 1),
                 "Basic YWRtaW46YWRtaW4=", "Bearer ",
                 "Bearer " . ('A' x 43))
    {
        $me = mb_http('GET', '/api/me', { Authorization => $bad });
        is($me->{status}, 401, "me with Authorization '$bad' ... : 401");
    }

    $me = mb_http('GET', '/api/me');
    is($me->{status}, 401, 'me without credentials: 401');
    $me = mb_http('GET', '/api/me', { Cookie => "mb_session=garbage" });
    is($me->{status}, 401, 'me with a garbage cookie: 401');
    $me = mb_http('GET', '/api/me', { Cookie => "mb_csrf=$token" });
    is($me->{status}, 401, 'the csrf cookie is no session');

    # ---------------------------------------------------------- CSRF
    my $csrf = $j->{csrf_token};
    my $ck = { Cookie => "mb_session=$token; mb_csrf=$csrf" };
    my $new = { username => 'auth_csrf1', password => $PW, role => 'USER' };

    my $r = mb_http('POST', '/api/users', { %$ck }, $new);
    is($r->{status}, 403, 'cookie write without X-CSRF-Token: 403');
    like($r->{body}, qr/"error"/, 'csrf 403 is a JSON error');
    $r = mb_http('POST', '/api/users',
                 { %$ck, 'X-CSRF-Token' => 'A' x 43 }, $new);
    is($r->{status}, 403, 'cookie write with a wrong X-CSRF-Token: 403');
    $r = mb_http('POST', '/api/users', { %$ck, 'X-CSRF-Token' => $token },
                 $new);
    is($r->{status}, 403, 'the session token is no CSRF token: 403');
    is(mb_psql("SELECT count(*) FROM users WHERE username = 'auth_csrf1'"),
       0, 'nothing was created by the refused writes');
    $r = mb_http('POST', '/api/users', { %$ck, 'X-CSRF-Token' => $csrf },
                 $new);
    is($r->{status}, 201, 'cookie write with the X-CSRF-Token: 201');
    $r = mb_http('POST', '/api/users', { %$ck, 'x-csrf-token' => $csrf },
                 { %$new, username => 'auth_csrf2' });
    is($r->{status}, 201, 'header name is case-insensitive');
    $r = mb_http('POST', '/api/users', bearer($token),
                 { %$new, username => 'auth_csrf3' });
    is($r->{status}, 201, 'Bearer write needs no CSRF token: 201');
    $r = mb_http('GET', '/api/users', { %$ck });
    is($r->{status}, 200, 'cookie read needs no CSRF token');

    # a second session, then logout of the first by cookie
    my $other = mb_login('auth_root', $PW);
    $r = mb_http('POST', '/api/auth/logout', { %$ck });
    is($r->{status}, 403, 'cookie logout without CSRF: 403');
    $r = mb_http('POST', '/api/auth/logout',
                 { %$ck, 'X-CSRF-Token' => $csrf });
    is($r->{status}, 200, 'logout: 200');
    is_deeply($r->{json}, { status => 'ok' }, 'logout: {"status":"ok"}');
    like(cookie_of($r, 'mb_session'), qr/^mb_session=;.*Max-Age=0/,
         'logout clears mb_session');
    like(cookie_of($r, 'mb_csrf'), qr/^mb_csrf=;.*Max-Age=0/,
         'logout clears mb_csrf');
    is(mb_http('GET', '/api/me', bearer($token))->{status}, 401,
       'the logged-out token is dead');
    is(mb_psql("SELECT count(*) FROM sessions WHERE token_hash = ?",
               sha256_hex($token)), 0, 'its session row is gone');
    is(mb_http('GET', '/api/me', bearer($other))->{status}, 200,
       'the other session lives on');

    $r = mb_http('POST', '/api/auth/logout', bearer($other));
    is($r->{status}, 200, 'logout with Bearer: 200');
    is(mb_http('GET', '/api/me', bearer($other))->{status}, 401,
       'the Bearer-logged-out token is dead');
}

# -------------------------------------------------- failures, validation

{
    my $r = mb_http('POST', '/api/auth/login', {},
                    { username => 'auth_root', password => 'wrong-pass' });
    is($r->{status}, 401, 'wrong password: 401');
    is($r->{json}{error}, 'invalid_credentials', 'wrong password: code');
    is($r->{json}{message}, 'Username atau password salah',
       'wrong password: message');
    is_deeply(\@{ $r->{set_cookies} }, [], 'failed login sets no cookie');

    my $u = mb_http('POST', '/api/auth/login', {},
                    { username => 'auth_nobody', password => 'wrong-pass' });
    is($u->{status}, 401, 'unknown user: 401');
    is($u->{body}, $r->{body}, 'unknown user: same body as wrong password');

    my $off = mb_http('POST', '/api/auth/login', {},
                      { username => 'auth_off', password => $PW });
    is($off->{status}, 401, 'inactive user with right password: 401');
    is($off->{body}, $r->{body}, 'inactive user: same body');

    my $case = mb_http('POST', '/api/auth/login', {},
                       { username => 'AUTH_ROOT', password => $PW });
    is($case->{status}, 200, 'username is case-insensitive at login');

    for my $body ({ username => 'auth_root' }, { password => $PW },
                  { username => 1, password => $PW },
                  { username => 'auth_root', password => undef },
                  { username => ['auth_root'], password => $PW },
                  { username => '', password => $PW },
                  { username => 'auth_root', password => '' })
    {
        my $b = JSON::PP->new->canonical->allow_nonref->encode($body);
        $r = mb_http('POST', '/api/auth/login', {}, $body);
        is($r->{status}, 400, "login $b: 400");
        like($r->{body}, qr/"error"\s*:\s*"[a-z_]+".*"message"/s,
             "login $b: JSON error");
    }

    $r = mb_http('POST', '/api/auth/login',
                 { 'Content-Type' => 'application/json' }, 'not json');
    is($r->{status}, 400, 'login with a non-JSON body: 400');

    $r = mb_http('POST', '/api/auth/login', {},
                 { username => "' OR 1=1 --", password => "' OR '1'='1" });
    is($r->{status}, 401, 'SQL injection as credentials: 401');
}

# ------------------------------------------------- slow-down and lockout

mb_psql("DELETE FROM login_failures");

{
    my @took;
    for my $i (1 .. 3) {
        my $t0 = time;
        my $r = mb_http('POST', '/api/auth/login', {},
                        { username => 'auth_tech', password => "wrong-$i" });
        push @took, time - $t0;
        is($r->{status}, 401, "failure $i: 401");
    }
    cmp_ok($took[0], '>=', 0.19, 'failure 1 delayed by 1 x 200ms');
    cmp_ok($took[1], '>=', 0.39, 'failure 2 delayed by 2 x 200ms');
    cmp_ok($took[2], '>=', 0.59, 'failure 3 delayed by 3 x 200ms');

    my $t0 = time;
    my $r = mb_http('POST', '/api/auth/login', {},
                    { username => 'auth_tech', password => $PW });
    is($r->{status}, 429, 'locked: right password still 429');
    cmp_ok(time - $t0, '<', 0.19, 'locked: answered at once, no verify');
    is($r->{json}{error}, 'too_many_requests', 'locked: error code');
    ok(length($r->{json}{message} // ''), 'locked: message');
    like($r->{headers}{'retry-after'} // '', qr/^[12]$/,
         'locked: Retry-After within the 2s lockout');
    is_deeply(\@{ $r->{set_cookies} }, [], 'locked: no cookie');

    $r = mb_http('POST', '/api/auth/login', {},
                 { username => 'AUTH_TECH', password => $PW });
    is($r->{status}, 429, 'the lock is on the lowercased username');

    $r = mb_http('POST', '/api/auth/login', {},
                 { username => 'auth_root', password => $PW });
    is($r->{status}, 200, 'another user is not locked');

    sleep 2.2;
    $r = mb_http('POST', '/api/auth/login', {},
                 { username => 'auth_tech', password => $PW });
    is($r->{status}, 200, 'after the lockout the right password works');
    is(mb_psql("SELECT count(*) FROM login_failures"
               . " WHERE scope = 'user' AND key = 'auth_tech'"), 0,
       'success clears the username counter');

    $r = mb_http('POST', '/api/auth/login', {},
                 { username => 'auth_tech', password => 'wrong-again' });
    is($r->{status}, 401, 'a new failure after success: 401, not 429');
    is(mb_psql("SELECT failures FROM login_failures"
               . " WHERE scope = 'user' AND key = 'auth_tech'"), 1,
       'counting starts over');
}

mb_stop_nginx();

# -------------------------------------------------- per-address lockout

mb_psql("DELETE FROM login_failures");
start(<<'EOC');
    mikrobill_login_max_failures 100;
    mikrobill_login_max_failures_addr 4;
    mikrobill_login_lockout 2s;
    mikrobill_login_delay 1ms;
EOC

{
    for my $i (1 .. 4) {
        my $r = mb_http('POST', '/api/auth/login', {},
                        { username => "auth_guess$i", password => 'x' });
        is($r->{status}, 401, "address failure $i: 401");
    }
    my $r = mb_http('POST', '/api/auth/login', {},
                    { username => 'auth_root', password => $PW });
    is($r->{status}, 429, 'address locked: any user gets 429');
    ok($r->{headers}{'retry-after'}, 'address locked: Retry-After');
    sleep 2.2;
    $r = mb_http('POST', '/api/auth/login', {},
                 { username => 'auth_root', password => $PW });
    is($r->{status}, 200, 'address lock ends after the lockout');
}

mb_stop_nginx();

# ------------------------------------------------------- session expiry

mb_psql("DELETE FROM login_failures");
start("    mikrobill_session_ttl 2s;\n    mikrobill_cookie_secure on;\n");

{
    my ($token, $res) = mb_login('auth_root', $PW);
    is($res->{status}, 200, 'short ttl: login');
    like(cookie_of($res, 'mb_session'), qr/Max-Age=2\b/, 'Max-Age follows ttl');
    like(cookie_of($res, 'mb_session'), qr/;\s*Secure/,
         'mikrobill_cookie_secure on: Secure');
    like(cookie_of($res, 'mb_csrf'), qr/;\s*Secure/, 'csrf cookie Secure');
    is(mb_http('GET', '/api/me', bearer($token))->{status}, 200,
       'short ttl: token works at first');
    sleep 2.5;
    is(mb_http('GET', '/api/me', bearer($token))->{status}, 401,
       'short ttl: token expired');
    is(mb_http('GET', '/api/me', { Cookie => "mb_session=$token" })
       ->{status}, 401, 'short ttl: cookie expired too');

    # a login sweeps expired sessions away (in the background)
    mb_login('auth_root', $PW);
    my $left;
    for (1 .. 20) {
        $left = mb_psql("SELECT count(*) FROM sessions"
                        . " WHERE token_hash = ?", sha256_hex($token));
        last if !$left;
        sleep 0.1;
    }
    is($left, 0, 'expired session deleted by a later login');
}

mb_stop_nginx();
mb_psql("DELETE FROM login_failures");

mb_use_defaults();
run_tests();
done_testing() unless Test::More->builder->has_plan;
reset_state();

__DATA__

=== TEST 1: /api/me without credentials
--- request
GET /api/me
--- error_code: 401
--- response_body_like chomp
"error"



=== TEST 2: login without a body
--- request
POST /api/auth/login
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like chomp
"error"



=== TEST 3: login with a password that is not a string
--- request
POST /api/auth/login
{"username":"auth_root","password":12345678}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body_like chomp
"error"\s*:\s*"validation_failed"



=== TEST 4: login of an unknown user
--- request
POST /api/auth/login
{"username":"auth_ghost","password":"whatever-123"}
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body_like chomp
^\{"error"\s*:\s*"invalid_credentials",\s*"message"\s*:\s*"Username atau password salah"\}
--- no_error_log
whatever-123



=== TEST 5: a garbage Bearer token
--- request
GET /api/me
--- more_headers
Authorization: Bearer not-a-token
--- error_code: 401
