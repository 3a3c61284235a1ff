# mikrobill-worker gen-key, router-add, router-list, router-del, and the
# routers table's constraints and triggers.  Needs the servers of
# `make test`.

use strict;
use warnings;

use Test::More;
use lib '.';
use t::Worker qw(needs_env run_worker slurp);
use POSIX ();

my ($worker, $conninfo, $dir) = needs_env(qw(MIKROBILL_WORKER
    TEST_NGINX_PG_CONNINFO MIKROBILL_TEST_DIR));
t::Worker::setup(files => 'cli-');

# runs the worker: (exit code, stdout, stderr)
sub run { return run_worker(@_) }

my $key  = "$dir/cli-secret-$$.key";
my $conf = "$dir/cli-worker-$$.conf";
my $pw   = "Router-pw-$$ with space";
my $n    = "cli-$$";

sub psql {
    my ($sql) = @_;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open(STDERR, '>', '/dev/null');     # the refusals we provoke
        exec('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
             '-c', $sql, $conninfo) or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    $out =~ s/\s+\z//;
    return $? == 0 ? $out : undef;
}

sub write_conf {
    my ($keyfile) = @_;
    open(my $fh, '>', $conf) or die;
    print $fh "pg_conninfo = $conninfo\n",
        defined $keyfile ? "secret_key_file = $keyfile\n" : '';
    close $fh;
}

# ------------------------------------------------------------------ gen-key

unlink $key;
my ($rc, $out, $err) = run(undef, 'gen-key', $key);
is($rc, 0, 'gen-key: exit 0');
like($out, qr/created key file/, 'gen-key: says so');
is((stat $key)[2] & 07777, 0600, 'gen-key: mode 0600');
like(slurp($key), qr/^[0-9a-f]{64}\n\z/, 'gen-key: 64 hex digits');
my $before = slurp($key);
($rc, undef, $err) = run(undef, 'gen-key', $key);
is($rc, 1, 'gen-key refuses to overwrite');
like($err, qr/not overwriting/, 'gen-key: says why');
is(slurp($key), $before, 'the key is unchanged');

# -------------------------------------------------------------- router-add

write_conf(undef);
{
    local $ENV{MIKROBILL_ROUTER_PASSWORD} = $pw;
    ($rc, undef, $err) = run(undef, 'router-add', '-c', $conf, '--name', $n,
                             '--host', '127.0.0.1', '--username', 'api');
    is($rc, 1, 'no secret_key_file: refused');
    like($err, qr/secret_key_file is not set/, '... says so');

    write_conf($key);
    chmod 0644, $key;
    ($rc, undef, $err) = run(undef, 'router-add', '-c', $conf, '--name', $n,
                             '--host', '127.0.0.1', '--username', 'api');
    is($rc, 1, 'world-readable key file: refused');
    like($err, qr/other users/, '... with a clear error');
    chmod 0600, $key;

    ($rc, $out, $err) = run(undef, 'router-add', '-c', $conf, '--name', $n,
                            '--host', '127.0.0.1', '--username', 'api');
    is($rc, 0, 'router-add (password from the environment)') or diag($err);
    like($out, qr/created router \Q$n\E \(127\.0\.0\.1:8728\) id [0-9a-f-]{36}/,
         'router-add: default port 8728');

    ($rc, undef, $err) = run(undef, 'router-add', '-c', $conf, '--name',
                             uc $n, '--host', '10.0.0.1', '--username', 'x');
    is($rc, 2, 'the same name in another case: exit 2');
    like($err, qr/already exists/, '... says so');
}

($rc, $out) = run("$pw\n", 'router-add', '-c', $conf, '--name', "$n-tls",
                  '--host', 'router.example.net', '--username', 'api',
                  '--tls-ca', '/etc/ssl/ca.pem', '--disabled');
is($rc, 0, 'router-add with the password on stdin, TLS, disabled');
like($out, qr/:8729 tls\)/, 'TLS: default port 8729');

($rc, $out) = run("$pw\n", 'router-add', '-c', $conf, '--name', "$n-anon",
                  '--host', '192.0.2.1', '--port', '18729', '--username',
                  'api', '--tls-allow-anon-dh');
is($rc, 0, 'router-add --tls-allow-anon-dh --port');

for my $bad (['--host', 'bad host'], ['--port', '0'], ['--port', '65536'],
             ['--name', ''], ['--username', ''])
{
    my %a = ('--name' => "$n-bad", '--host' => 'h', '--username' => 'u',
             @$bad);
    ($rc, undef, $err) = run("$pw\n", 'router-add', '-c', $conf, %a);
    is($rc, 1, "router-add refuses @$bad") or diag($err);
}

my $enc = psql("SELECT password_enc FROM routers WHERE name = '$n'");
unlike($enc, qr/\Q$pw\E/, 'the stored password is not the password');
like($enc, qr{^[A-Za-z0-9+/]+=*$}, 'stored as base64');
is(psql("SELECT port, tls, tls_verify, enabled FROM routers"
        . " WHERE name = '$n-tls'"), '8729|t|t|f',
   'TLS row: port, tls, tls_verify, disabled');

# -------------------------------------------------------------- router-list

($rc, $out) = run(undef, 'router-list', '-c', $conf);
is($rc, 0, 'router-list: exit 0');
like($out, qr/\Q$n\E\s+127\.0\.0\.1:8728\s+api\s+plain\s+enabled/,
     'router-list: the plain router');
like($out, qr/\Q$n-tls\E\s+router\.example\.net:8729\s+api\s+tls-verify\s+disabled/,
     'router-list: the TLS router');
like($out, qr/\Q$n-anon\E\s+192\.0\.2\.1:18729\s+api\s+tls-anon-dh/,
     'router-list: the anonymous-DH router');
unlike($out, qr/\Q$pw\E|\Q$enc\E/, 'router-list never shows a password');

# ------------------------------------------------------------ the table

is(psql("INSERT INTO routers (name, host, username, password_enc)"
        . " VALUES ('$n-x', '', 'u', 'e')"), undef, 'empty host refused');
is(psql("INSERT INTO routers (name, host, port, username, password_enc)"
        . " VALUES ('$n-x', 'h', 70000, 'u', 'e')"), undef,
   'port out of range refused');
is(psql("INSERT INTO routers (name, host, username, password_enc,"
        . " tls_verify) VALUES ('$n-x', 'h', 'u', 'e', true)"), undef,
   'tls_verify without TLS and a CA file refused');
my $t0 = psql("SELECT updated_at FROM routers WHERE name = '$n'");
psql("UPDATE routers SET host = '127.0.0.2' WHERE name = '$n'");
isnt(psql("SELECT updated_at FROM routers WHERE name = '$n'"), $t0,
     'updated_at follows changes');

# --------------------------------------------------------------- router-del

($rc, $out) = run(undef, 'router-del', '-c', $conf, '--name', uc $n);
is($rc, 0, 'router-del (any case)');
like($out, qr/deleted router \Q$n\E/, 'router-del: says so');
($rc, undef, $err) = run(undef, 'router-del', '-c', $conf, '--name', $n);
is($rc, 1, 'router-del of an unknown name: exit 1');
like($err, qr/no router named/, '... says so');
run(undef, 'router-del', '-c', $conf, '--name', $_) for "$n-tls", "$n-anon";
is(psql("SELECT count(*) FROM routers WHERE name LIKE 'cli-$$%'"), 0,
   'all test routers gone');

unlink $key, $conf;
done_testing();
