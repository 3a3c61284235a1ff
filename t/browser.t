# The dashboard in a real browser (issue 4, "Browser tests"): Debian's
# headless Chromium driven by playwright-core (t/browser/package-lock.json,
# installed by `npm ci` when t/browser/node_modules is missing) against the
# whole system: nginx with the module serving html/ and /vendor/ exactly as
# conf.d/mikrobill.conf does (its CSP included), the worker (sync, router
# tests), a simulated router and customers in the database.  The scenarios
# are t/browser/dashboard.js and t/browser/monitor.js (Monitor Trafik over
# the WebSocket, docs/monitor.md), which print TAP; each of their tests
# becomes one test here.
use strict;
use warnings;
use lib '.';

use t::MikroBill;
use t::RosSim;
use Test::More;
use TAP::Parser;
use JSON::PP ();
use File::Temp qw(tempdir);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my $worker = $ENV{MIKROBILL_WORKER};
my $dir = $ENV{MIKROBILL_TEST_DIR};
my $browser_dir = 't/browser';
my $chromium = $ENV{CHROMIUM} || '/usr/bin/chromium';

# make test provides all of these; missing is a failure, not a skip
BAIL_OUT('needs MIKROBILL_WORKER, MIKROBILL_TEST_DIR, TEST_NGINX_* (make test)')
    unless $worker && $dir && $ENV{TEST_NGINX_PG_CONNINFO} && $ENV{TEST_NGINX_HTML_DIR};
BAIL_OUT("$chromium is missing (scripts/install-deps installs chromium)")
    unless -x $chromium;
BAIL_OUT('node is not installed (scripts/install-deps)')
    unless `node --version 2>/dev/null`;
if (!-d "$browser_dir/node_modules/playwright-core") {
    my $out = `cd $browser_dir && npm ci --no-audit --no-fund 2>&1`;
    BAIL_OUT("npm ci in $browser_dir failed:\n$out") if $?;
}
ok(-d "$browser_dir/node_modules/playwright-core", 'playwright-core is installed');

sub slurp {
    open(my $fh, '<', $_[0]) or return '';
    local $/;
    return <$fh> // '';
}

sub spew {
    my ($file, $text) = @_;
    open(my $fh, '>', $file) or die "$file: $!";
    print $fh $text;
    close $fh;
}

# ------------------------------------------------------------ secret key

# the key of nginx's mikrobill_secret_key_file, shared with our worker
my $key = mb_secret_key_file() or BAIL_OUT('no secret key file (gen-key failed)');
my $wconf = "$dir/browser-worker-$$.conf";
my $base = $ENV{MIKROBILL_WORKER_CONF} ? slurp($ENV{MIKROBILL_WORKER_CONF}) : '';
$base = "pg_conninfo = $ENV{TEST_NGINX_PG_CONNINFO}\n"
    . "redis_host = $ENV{TEST_NGINX_REDIS_HOST}\n"
    . "redis_port = $ENV{TEST_NGINX_REDIS_PORT}\n"
    . "password_iterations = 1000\n" unless $base;
$base =~ s/^\s*(?:secret_key_file|consumer_name)\s*=.*\n//mg;
spew($wconf, $base . "secret_key_file = $key\nconsumer_name = browser-$$\n");
chmod 0600, $wconf;

# ------------------------------------------------------------- the site

# conf.d/mikrobill.conf as make run renders it: its http-level directives
# and the body of its server block (without listen/server_name: the helper
# nginx has its own)
my $site = slurp('conf.d/mikrobill.conf');
my %vars = (
    PG_CONNINFO => $ENV{TEST_NGINX_PG_CONNINFO},
    REDIS_HOST => $ENV{TEST_NGINX_REDIS_HOST} || '127.0.0.1',
    REDIS_PORT => $ENV{TEST_NGINX_REDIS_PORT},
    HTML_DIR => $ENV{TEST_NGINX_HTML_DIR},
    SECRET_KEY_FILE => $key,
    MONITOR_MAX => $ENV{MAX_CONCURRENT_MONITORS} || 50,
    PORT => 0,
);
$site =~ s/^\s*#.*\n//mg;
$site =~ s/\@([A-Z_]+)\@/defined $vars{$1} ? $vars{$1} : BAIL_OUT("conf.d: unknown \@$1\@")/ge;
my ($http, $server) = $site =~ /\A(.*?)^server\s*\{\n(.*)^\}\s*\z/ms
    or BAIL_OUT('conf.d/mikrobill.conf: no server block');
$server =~ s/^\s*(?:listen|server_name)\s[^;]*;\n//mg;
$http .= "mikrobill_password_iterations 1000;\n";
$http .= "mikrobill_secret_key_file $key;\n" unless $http =~ /mikrobill_secret_key_file/;
# the helper's nginx.conf has no MIME types; the pages need them (nosniff)
$http = "include /etc/nginx/mime.types;\n" . $http;
my $port = mb_start_nginx("load_module \$TEST_NGINX_MODULE;\n", $http, $server,
                          no_root_location => 1);
ok($port, "nginx serves the site on $port");

# ---------------------------------------------------------------- router

my $router_pw = "Rahasia-$$";
my $identity = "mb-browser-$$";
my $sim = t::RosSim->start(version => '7.12', users => ["api:$router_pw"],
                           args => ['--identity', $identity]);
# sessions that match no customer: N active connections > M online
like($sim->ctl("login usertest 10.10.10.3 AA:BB:CC:DD:EE:FF"), qr/^OK/, 'a session of nobody');
like($sim->ctl("login tamu 10.10.10.4"), qr/^OK/, 'another one');

my $rname = "browser-$$";
{
    local $ENV{MIKROBILL_ROUTER_PASSWORD} = $router_pw;
    my $out = `$worker router-add -c $wconf --name $rname --host 127.0.0.1 --port $sim->{port} --username api 2>&1`;
    is($? >> 8, 0, 'router-add') or diag($out);
}
my $router_id = mb_psql('SELECT id FROM routers WHERE name = ?', $rname);
ok($router_id, "the router is registered ($router_id)");

# ------------------------------------------------------------- customers

my %cust;
sub add_customer {
    my ($key, %c) = @_;
    my @cols = sort keys %c;
    my $id = mb_psql('INSERT INTO customers (router_id, ' . join(', ', @cols)
                     . ') VALUES (?' . (', ?' x @cols) . ') RETURNING id',
                     $router_id, map { $c{$_} } @cols);
    $cust{$key} = { id => $id, pppoe => lc($c{pppoe_username} // '') } if $key;
    return $id;
}
mb_psql("DELETE FROM customers WHERE username LIKE 'bt-%' OR username IN ('egisetiawansempu', 'pelangganuji')");
# no monitor left over from an earlier run: the slot count starts from 0
mb_redis('DEL', 'mikrobill:monitors');
add_customer(egi => name => 'Egi Setiawan Sempu', username => 'egisetiawansempu',
             pppoe_username => 'egisetiawansempu', phone => '6281234500001',
             latitude => -7.4245, longitude => 109.2302, profile => 'home-10M');
add_customer(mixed => name => 'Budi Santoso', username => 'bt-budi',
             pppoe_username => 'Budi.Santoso', latitude => -7.4250, longitude => 109.2310);
$cust{mixed}{router_name} = 'budi.santoso';
add_customer(nopppoe => name => 'Slamet Tanpa PPPoE', username => 'bt-slamet',
             latitude => -7.4260, longitude => 109.2290);
# the traffic monitor's customer (t/browser/monitor.js)
add_customer(mon => name => 'Monitor Uji', username => 'bt-monitor',
             pppoe_username => 'monitoruji', latitude => -7.4280, longitude => 109.2270);
add_customer(static => name => 'Toko Statis', username => 'bt-toko', service_type => 'static_ip',
             static_ip => '10.20.30.40', conn_status => 'unknown',
             latitude => -7.4270, longitude => 109.2280);
for my $i (1 .. 8) {
    add_customer(undef, name => "Pelanggan Contoh $i", username => "bt-contoh$i",
                 pppoe_username => "contoh$i",
                 $i % 2 ? (latitude => -7.42 - $i / 1000, longitude => 109.23 + $i / 1000) : ());
}
$cust{total_with_coords} = 0 + mb_psql("SELECT count(*) FROM customers WHERE latitude IS NOT NULL");

my $user = 'operator';
my $pass = "Kata-Sandi-$$";
is(mb_create_user($user, $pass, 'SUPERADMIN'), 0, 'a dashboard user');
my $tech = 'teknisi';
my $tech_pass = "Teknisi-$$";
is(mb_create_user($tech, $tech_pass, 'TECHNICIAN'), 0, 'a technician');
my $viewer = 'pelihat';
my $viewer_pass = "Pelihat-$$";
is(mb_create_user($viewer, $viewer_pass, 'USER'), 0, 'a USER (no traffic monitor)');

# ---------------------------------------------------------------- worker

my $wlog = "$dir/browser-worker-$$.log";
my $wpid = fork // die "fork: $!";
if ($wpid == 0) {
    open(STDOUT, '>>', $wlog);
    open(STDERR, '>>', $wlog);
    exec($worker, 'run', '-c', $wconf) or POSIX::_exit(127);
}
END { if ($wpid) { kill 'TERM', $wpid; waitpid($wpid, 0) } }

# the first sync: the router connected and statuses written
my $deadline = time + 30;
my $connected;
while (time < $deadline) {
    $connected = eval { mb_psql('SELECT connected FROM router_status WHERE router_id = ?', $router_id) };
    last if ($connected // '') eq 't';
    last if waitpid($wpid, WNOHANG) == $wpid;
    sleep 0.2;
}
is($connected, 't', 'the worker connected the router and synced')
    or diag(slurp($wlog));

# --------------------------------------------------------------- browser

my $json = JSON::PP->new->canonical->encode(\%cust);
local $ENV{MB_BASE_URL} = "http://127.0.0.1:$port";
local $ENV{MB_USER} = $user;
local $ENV{MB_PASSWORD} = $pass;
local $ENV{MB_TECH_USER} = $tech;
local $ENV{MB_TECH_PASSWORD} = $tech_pass;
local $ENV{MB_VIEW_USER} = $viewer;
local $ENV{MB_VIEW_PASSWORD} = $viewer_pass;
local $ENV{MB_SIM_CONTROL} = $sim->{control};
local $ENV{MB_ROUTER_ID} = $router_id;
local $ENV{MB_ROUTER_NAME} = $rname;
local $ENV{MB_ROUTER_PASSWORD} = $router_pw;
local $ENV{MB_ROUTER_IDENTITY} = $identity;
local $ENV{MB_CUSTOMERS} = $json;
local $ENV{MB_TMPDIR} = $dir;
local $ENV{MB_ARTIFACTS} = $dir;
local $ENV{CHROMIUM} = $chromium;

# one scenario: its TAP tests become tests here
sub run_browser {
    my ($script, $min) = @_;
    my $parser = TAP::Parser->new({
        exec => ['timeout', '600', 'node', "$browser_dir/$script"], merge => 1,
    });
    my $tests = 0;
    while (my $r = $parser->next) {
        if ($r->is_test) {
            $tests++;
            (my $d = $r->description) =~ s/^-\s*//;
            ok($r->is_ok, "$script: $d");
        } elsif ($r->is_comment || $r->is_unknown) {
            diag($r->as_string);
        }
    }
    ok($tests >= $min, "$script ran its checks ($tests)");
    is($parser->exit, 0, "$script exited 0") or diag("worker log:\n" . slurp($wlog));
}

run_browser('dashboard.js', 60);
run_browser('monitor.js', 50);

ok(waitpid($wpid, WNOHANG) == 0, 'the worker is still running');
kill 'TERM', $wpid;
waitpid($wpid, 0);
is($?, 0, 'the worker exits cleanly');
$wpid = 0;
ok($sim->alive, 'the simulator survived');
is($sim->stop, 0, 'the simulator exits cleanly');
mb_stop_nginx();
mb_psql('DELETE FROM customers WHERE router_id = ?', $router_id);
mb_psql('DELETE FROM routers WHERE id = ?', $router_id);

done_testing();
