# mikrobill-ros-sim against node-routeros, a third-party RouterOS client
# (issue 3, "Checked against a client nobody here wrote").  Where the two
# disagree, the simulator is wrong.  Runs t/node/routeros_check.js, which
# prints TAP; node-routeros comes from t/node/package-lock.json (npm ci).
use strict;
use warnings;
use lib '.';

use Test::More;
use TAP::Parser;
use File::Temp qw(tempdir);
use t::RosSim;

my $node_dir = 't/node';

# make test installs Node.js (scripts/install-deps): missing is a failure
BAIL_OUT('node is not installed (scripts/install-deps)')
    unless `node --version 2>/dev/null`;

if (!-d "$node_dir/node_modules/node-routeros") {
    my $out = `cd $node_dir && npm ci --no-audit --no-fund 2>&1`;
    BAIL_OUT("npm ci in $node_dir failed:\n$out") if $?;
}
ok(-d "$node_dir/node_modules/node-routeros", 'node-routeros is installed');

my $dir = tempdir(CLEANUP => 1);
system("openssl req -x509 -newkey rsa:2048 -nodes -days 1"
       . " -keyout $dir/key.pem -out $dir/cert.pem"
       . " -subj /CN=mikrobill-ros-sim >$dir/openssl.log 2>&1") == 0
    or BAIL_OUT('openssl req failed');

my @user = (users => ['node:s3cret=x']);
my $sim = t::RosSim->start(version => '6.49', @user,
                           args => ['--identity', 'node-check']);
my $old = t::RosSim->start(version => '6.40', @user, tls => 1,
                           args => ['--tls-cert', "$dir/cert.pem",
                                    '--tls-key', "$dir/key.pem"]);
my $anon = t::RosSim->start(version => '6.49', @user, tls => 1);

local $ENV{ROS_PORT} = $sim->{port};
local $ENV{ROS_CONTROL} = $sim->{control};
local $ENV{ROS_USER} = 'node';
local $ENV{ROS_PASSWORD} = 's3cret=x';
local $ENV{ROS_OLD_PORT} = $old->{port};
local $ENV{ROS_TLS_PORT} = $old->{tls_port};
local $ENV{ROS_ANON_PORT} = $anon->{tls_port};

my $parser = TAP::Parser->new({
    exec => ['node', "$node_dir/routeros_check.js"], merge => 1,
});
my $tests = 0;
while (my $r = $parser->next) {
    if ($r->is_test) {
        $tests++;
        ok($r->is_ok, 'node-routeros: ' . $r->description);
    } elsif ($r->is_comment || $r->is_unknown) {
        diag($r->as_string);
    }
}
ok($tests >= 20, "node-routeros ran its checks ($tests)");
is($parser->exit, 0, 'routeros_check.js exited 0');

for my $s ($sim, $old, $anon) {
    ok($s->alive, 'the simulator survived');
    is($s->stop, 0, 'the simulator exits cleanly')
        or diag($s->log_text);
}

done_testing();
