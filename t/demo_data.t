# scripts/demo-customers.sql, the demo customers `make run` loads when it
# creates the demo router: valid for the schema, idempotent, nothing without
# the router, and their PPPoE names are the simulator's --demo customers.
use strict;
use warnings;
use lib '.';

use t::MikroBill;
use t::RosSim;
use Test::More;

my $worker = $ENV{MIKROBILL_WORKER};
BAIL_OUT('needs MIKROBILL_WORKER, TEST_NGINX_PG_CONNINFO, MIKROBILL_TEST_DIR (make test)')
    unless $worker && $ENV{TEST_NGINX_PG_CONNINFO} && $ENV{MIKROBILL_TEST_DIR};

open(my $fh, '<', 'scripts/demo-customers.sql') or die "scripts/demo-customers.sql: $!";
my $sql = do { local $/; <$fh> };
close $fh;

my $count = "SELECT count(*) FROM customers c JOIN routers r ON r.id = c.router_id"
    . " WHERE r.name = 'demo-router'";

# a database that has a demo router from before is not ours to touch
BAIL_OUT('a router named demo-router exists already')
    if mb_psql("SELECT count(*) FROM routers WHERE name = 'demo-router'");

mb_psql($sql);
is(mb_psql("SELECT count(*) FROM customers WHERE username IN ('agus', 'egisetiawansempu')"), 0,
   'without the demo router nothing is loaded');

# the customers and the router go, even when a check dies
my $ours = 0;
sub cleanup {
    return unless $ours;
    $ours = 0;
    mb_psql("DELETE FROM customers WHERE router_id = (SELECT id FROM routers WHERE name = 'demo-router')");
    mb_psql("DELETE FROM routers WHERE name = 'demo-router'");
}
END { eval { cleanup() } }

# the demo router as make run registers it
my $sim = t::RosSim->start(users => ['admin:demo-pw'], args => ['--demo']);
my $dir = $ENV{MIKROBILL_TEST_DIR};
my $key = mb_secret_key_file() or BAIL_OUT('no secret key file');
my $conf = "$dir/demo-worker-$$.conf";
open(my $c, '>', $conf) or die;
print $c "pg_conninfo = $ENV{TEST_NGINX_PG_CONNINFO}\nsecret_key_file = $key\n";
close $c;
{
    local $ENV{MIKROBILL_ROUTER_PASSWORD} = 'demo-pw';
    my $out = `$worker router-add -c $conf --name demo-router --host 127.0.0.1 --port $sim->{port} --username admin 2>&1`;
    is($? >> 8, 0, 'router-add demo-router') or diag($out);
    $ours = 1;
}

mb_psql($sql);
is(mb_psql($count), 40, '40 demo customers on demo-router');
mb_psql($sql);
is(mb_psql($count), 40, 'loading again changes nothing (idempotent)');

# every customer of the simulator's demo mode has a customer here
my $api = $sim->api;
ok(($api->login('admin', 'demo-pw'))[0], 'API login to the simulator');
my @names = map { t::RosSim::Api::attrs($_)->{name} }
    grep { $_->[0] eq '!re' } $api->cmd('/ppp/secret/print', '=.proplist=name');
is(scalar @names, 36, 'the simulator has 36 demo customers');
my %pppoe = map { lc($_->[0]) => 1 }
    mb_psql("SELECT pppoe_username FROM customers c JOIN routers r ON r.id = c.router_id"
            . " WHERE r.name = 'demo-router' AND pppoe_username IS NOT NULL");
my @missing = grep { !$pppoe{lc $_} } @names;
is("@missing", '', 'each demo PPPoE secret belongs to a customer (case-insensitively)');

my @bad = mb_psql("SELECT c.username FROM customers c JOIN routers r ON r.id = c.router_id"
                  . " WHERE r.name = 'demo-router' AND (phone !~ '^62'"
                  . " OR latitude NOT BETWEEN -7.6 AND -7.3 OR longitude NOT BETWEEN 109.1 AND 109.4)");
is(scalar @bad, 0, 'phones 62..., coordinates around Purwokerto') or diag(join ' ', map { $_->[0] } @bad);
is(mb_psql("SELECT conn_status FROM customers WHERE username = 'tokoberkah'"), 'unknown',
   'the static-IP customer starts UNKNOWN');
is(mb_psql("SELECT count(*) FROM customers WHERE username = 'slamet' AND pppoe_username IS NULL"), 1,
   'a customer without PPPoE (always OFFLINE)');
is(mb_psql("SELECT pppoe_username FROM customers WHERE username = 'egisetiawansempu'"),
   'egisetiawansempu', 'the spec\'s Egi Setiawan Sempu');

cleanup();
is($sim->stop, 0, 'the simulator exits cleanly');

done_testing();
