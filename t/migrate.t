# mikrobill-worker migrate and create-admin, on a scratch schema of the
# test database so that the real tables of the run are left alone.

use strict;
use warnings;

use Test::More;
use lib '.';
use t::Worker qw(needs_env run_worker slurp);
use Digest::SHA qw(hmac_sha256);
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use FindBin;
use MIME::Base64 qw(decode_base64);
use POSIX ();

my ($worker, $conninfo, $dir) = needs_env(qw(MIKROBILL_WORKER
    TEST_NGINX_PG_CONNINFO MIKROBILL_TEST_DIR));
t::Worker::setup(files => 'migrate-');

# runs the worker; returns (exit code, stdout, stderr)
sub run { return run_worker(@_) }

my $sqldir = "$FindBin::Bin/../sql";
my $schema = "mt_$$";

# the same database, with our schema first on the search_path; public
# stays after it for the extensions (pg_trgm's operator classes, 003)
my $scoped = $conninfo =~ m{^postgres(?:ql)?://}
    ? $conninfo . ($conninfo =~ /\?/ ? '&' : '?')
        . "options=-c%20search_path%3D$schema%2Cpublic"
    : "$conninfo options='-c search_path=$schema,public'";

sub psql {
    my ($sql, $ci) = @_;
    open(my $fh, '-|', 'psql', '-X', '-q', '-A', '-t', '-v',
         'ON_ERROR_STOP=1', '-c', $sql, $ci // $scoped)
        or die "psql: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    $out =~ s/\s+\z//;
    return $? == 0 ? $out : undef;
}

defined psql("CREATE SCHEMA $schema", $conninfo)
    or plan skip_all => "cannot create schema $schema";

my $conf = "$dir/migrate-$$.conf";
open(my $cf, '>', $conf) or die "$conf: $!";
print $cf "pg_conninfo = $scoped\npassword_iterations = 1000\n";
close $cf;


# --- migrate -----------------------------------------------------------------

my @files = sort grep { /^\d+_.*\.sql$/ } map { s{.*/}{}r } glob("$sqldir/*");

my ($rc, $out, $err) = run(undef, 'migrate', '-c', $conf, '--dir', $sqldir);
is($rc, 0, 'migrate: exit 0') or diag($err);
is($out, join('', map { "applied $_\n" } @files),
   'migrate: one line per migration, in order');
is(psql('SELECT count(*) FROM schema_migrations'), scalar @files,
   'migrate: every migration recorded');
is(psql("SELECT name FROM schema_migrations WHERE version = 1"),
   'users_sessions', 'migrate: name recorded without number and .sql');

($rc, $out) = run(undef, 'migrate', '-c', $conf, '--dir', $sqldir);
is($rc, 0, 'migrate again: exit 0');
is($out, '', 'migrate again: nothing applied');

{
    my $tmp = tempdir(CLEANUP => 1);
    copy("$sqldir/$_", "$tmp/$_") for @files;
    open(my $fh, '>', "$tmp/900_t.sql") or die;
    print $fh "CREATE TABLE t900 (a int);\nINSERT INTO t900 VALUES (1);\n";
    close $fh;
    open($fh, '>', "$tmp/901_bad.sql") or die;
    print $fh "CREATE TABLE t901 (a int);\nSELECT no_such_function();\n";
    close $fh;

    ($rc, $out, $err) = run(undef, 'migrate', '-c', $conf, '--dir', $tmp);
    is($rc, 1, 'failing migration: exit 1');
    is($out, "applied 900_t.sql\n", 'failing migration: earlier ones kept');
    like($err, qr/901_bad\.sql.*no_such_function/, 'failing migration: why');
    is(psql("SELECT count(*) FROM schema_migrations WHERE version = 901"),
       0, 'failing migration: not recorded');
    is(psql("SELECT to_regclass('$schema.t901') IS NULL"), 't',
       'failing migration: rolled back as a whole');
}


# --- create-admin ------------------------------------------------------------

my $user = "admin_$$";
my $pass = "correct horse $$";

{
    local $ENV{MIKROBILL_ADMIN_PASSWORD} = $pass;
    ($rc, $out, $err) = run(undef, 'create-admin', '-c', $conf,
                            '--username', $user, '--full-name', 'Test Admin');
}
is($rc, 0, 'create-admin: exit 0') or diag($err);
like($out, qr/created user \Q$user\E \(SUPERADMIN\)/, 'create-admin: says so');
unlike($out . $err, qr/\Q$pass\E/, 'create-admin: password never printed');

my $row = psql("SELECT role || '|' || full_name || '|' || active || '|'"
               . " || password_hash FROM users WHERE username = '$user'");
my ($role, $full, $active, $hash) = split /\|/, $row // '';
is($role, 'SUPERADMIN', 'create-admin: default role');
is($full, 'Test Admin', 'create-admin: full name');
is($active, 'true', 'create-admin: active');
like($hash, qr/^\$pbkdf2-sha256\$1000\$[A-Za-z0-9+\/]+\$[A-Za-z0-9+\/]+$/,
     'create-admin: hash format, iterations from the config');
ok(pbkdf2_verify($pass, $hash), 'create-admin: hash verifies');
ok(!pbkdf2_verify("$pass!", $hash), 'create-admin: wrong password fails');

{
    local $ENV{MIKROBILL_ADMIN_PASSWORD} = 'another password';
    ($rc, $out, $err) = run(undef, 'create-admin', '-c', $conf,
                            '--username', uc $user);
}
is($rc, 2, 'create-admin again (other case): exit 2');
like($err, qr/already exists/, 'create-admin again: message');
is(psql("SELECT count(*) FROM users WHERE lower(username) = '$user'"), 1,
   'create-admin again: still one user');

delete local $ENV{MIKROBILL_ADMIN_PASSWORD};

($rc, $out, $err) = run("short\n", 'create-admin', '-c', $conf,
                        '--username', "tech_$$");
is($rc, 1, 'short password: exit 1');
like($err, qr/too short/, 'short password: message');
is(psql("SELECT count(*) FROM users WHERE username = 'tech_$$'"), 0,
   'short password: no user');

($rc, $out, $err) = run("stdin password\nignored\n", 'create-admin',
                        '-c', $conf, '--username', "tech_$$",
                        '--role', 'technician');
is($rc, 0, 'password from stdin: exit 0') or diag($err);
$hash = psql("SELECT password_hash FROM users WHERE username = 'tech_$$'");
ok(pbkdf2_verify('stdin password', $hash),
   'password from stdin: first line only, hash verifies');
is(psql("SELECT role FROM users WHERE username = 'tech_$$'"), 'TECHNICIAN',
   'role given in any case');

($rc, $out, $err) = run("whatever123\n", 'create-admin', '-c', $conf,
                        '--role', 'GOD');
is($rc, 1, 'bad role: exit 1');

# --- the last active SUPERADMIN (sql/005) ----------------------------------

# a clean slate of exactly two SUPERADMINs (the guard is off while clearing)
psql("ALTER TABLE users DISABLE TRIGGER users_keep_superadmin;"
     . " DELETE FROM users;"
     . " ALTER TABLE users ENABLE TRIGGER users_keep_superadmin;"
     . " INSERT INTO users (username, password_hash, role) VALUES"
     . " ('g1', 'x', 'SUPERADMIN'), ('g2', 'x', 'SUPERADMIN')");

# A demotes g1 and holds its transaction open; B demotes g2 meanwhile.
# Each sees the other SUPERADMIN still there; the guard makes B wait for
# A and then refuse.
my $apid = fork // die "fork: $!";
if ($apid == 0) {
    psql("BEGIN; UPDATE users SET role = 'ADMIN' WHERE username = 'g1';"
         . " SELECT pg_sleep(1.5); COMMIT;");
    POSIX::_exit(0);
}
select(undef, undef, undef, 0.5);
my $b = psql("UPDATE users SET role = 'ADMIN' WHERE username = 'g2'");
waitpid($apid, 0);
ok(!defined $b, 'concurrent demotion of the other SUPERADMIN is refused');
is(psql("SELECT string_agg(username, ',' ORDER BY username) FROM users"
        . " WHERE role = 'SUPERADMIN' AND active"), 'g2',
   'one active SUPERADMIN remains');
ok(!defined psql("UPDATE users SET active = false WHERE username = 'g2'"),
   'deactivating the last SUPERADMIN is refused');
ok(!defined psql("DELETE FROM users WHERE username = 'g2'"),
   'deleting the last SUPERADMIN is refused');
is(psql("SELECT count(*) FROM users WHERE role = 'SUPERADMIN'"), 1,
   'still there');
ok(defined psql("UPDATE users SET role = 'SUPERADMIN' WHERE username = 'g1'"),
   'promoting is always allowed');
ok(defined psql("DELETE FROM users WHERE username = 'g2'"),
   'with another SUPERADMIN, deleting one is allowed');

psql("SET client_min_messages = warning; DROP SCHEMA $schema CASCADE",
     $conninfo);
unlink $conf, "$dir/migrate-$$.out", "$dir/migrate-$$.err";

done_testing();


# PBKDF2-HMAC-SHA256 with Digest::SHA, independent of the C code
sub pbkdf2_verify {
    my ($password, $encoded) = @_;
    my (undef, $alg, $iter, $salt64, $key64) = split /\$/, $encoded // '';
    return 0 unless $alg && $alg eq 'pbkdf2-sha256' && $key64;
    my $pad = sub { my $s = shift; $s . '=' x ((4 - length($s) % 4) % 4) };
    my $salt = decode_base64($pad->($salt64));
    my $want = decode_base64($pad->($key64));
    my $u = hmac_sha256($salt . pack('N', 1), $password);
    my $t = $u;
    for (2 .. $iter) {
        $u = hmac_sha256($u, $password);
        $t ^= $u;
    }
    return substr($t, 0, length $want) eq $want;
}
