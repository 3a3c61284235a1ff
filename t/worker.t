# mikrobill-worker run: command stream, ping, errors, reconnects, claims,
# shutdown.  Needs the servers of `make test` (see docs/development.md).

use strict;
use warnings;

use Test::More;
use lib '.';
use t::Worker;
use JSON::PP qw(decode_json);
use POSIX qw(WNOHANG setsid);
use Time::HiRes qw(sleep time);

my $worker = $ENV{MIKROBILL_WORKER};
my $dir    = $ENV{MIKROBILL_TEST_DIR};
my $rhost  = $ENV{TEST_NGINX_REDIS_HOST} // '127.0.0.1';
my $rport  = $ENV{TEST_NGINX_REDIS_PORT};

plan skip_all => 'needs MIKROBILL_WORKER, MIKROBILL_TEST_DIR, '
    . 'TEST_NGINX_PG_CONNINFO, TEST_NGINX_REDIS_PORT (make test)'
    unless $worker && $dir && $rport && $ENV{TEST_NGINX_PG_CONNINFO};

# a stream of our own: nothing else running in the test reads it
my $stream = "mikrobill:test:worker:$$";

t::Worker::setup(stream => $stream, poll => 0.2);

# number of entries pending in the group
sub pending {
    return (split /\n/, rcli('XPENDING', $stream, 'workers'))[0] // '';
}

# until the worker has (re)created its group, an XADD may go unseen
sub ping_until {
    my ($cond, $timeout) = @_;
    return wait_for(sub {
        my $r = request('ping', 1);
        return $r && $cond->($r) ? $r : undef;
    }, $timeout);
}

sub stop_worker {
    my ($w) = @_;
    return stop_pid($w->{pid});
}

sub spawn_detached {
    my @cmd = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        setsid();
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>', '/dev/null');
        open(STDERR, '>', '/dev/null');
        exec(@cmd) or POSIX::_exit(127);
    }
    return $pid;
}

# pg_ctl as the owner of the data directory (initdb refuses root)
sub pg_ctl {
    my @args = @_;
    my $data = $ENV{MIKROBILL_PG_DATA};
    my @cmd = ("$ENV{MIKROBILL_PG_BINDIR}/pg_ctl", '-D', $data, @args);
    my $owner = (stat $data)[4];
    if ($> == 0 && $owner != 0) {
        unshift @cmd, 'runuser', '-u', scalar getpwuid($owner), '--';
    }
    return system(join(' ', map { quotemeta } @cmd) . ' >/dev/null 2>&1');
}

# the server's own command line, so that a plain start keeps its port etc.
sub pg_opts {
    my $opts = slurp("$ENV{MIKROBILL_PG_DATA}/postmaster.opts");
    chomp $opts;
    $opts =~ s/^\S+\s*//;                       # the postgres binary
    $opts =~ s/"-D"\s+"[^"]*"\s*//;             # pg_ctl passes -D itself
    return $opts;
}


# --- configuration errors -------------------------------------------------

{
    my $bad = "$dir/worker-bad-$$.conf";
    open(my $fh, '>', $bad) or die;
    print $fh "pg_conninfo = x\n# comment\nredis_prot = 1\n";
    close $fh;
    my $out = `$worker run -c $bad 2>&1`;
    is($? >> 8, 1, 'unknown config key: exit 1');
    like($out, qr/\Q$bad\E:3: unknown key "redis_prot"/,
         'unknown config key: file:line in the message');
}


# --- ping and errors ---------------------------------------------------------

my $w = start_worker('a');

my $pong = ping_until(sub { 1 }, 15);
ok($pong, 'ping answered') or diag(slurp($w->{log}));
is($pong->{ok}, JSON::PP::true, 'ping: ok true');
is($pong->{type}, 'pong', 'ping: type pong');
is($pong->{worker}, 't-a', 'ping: worker is the consumer name');
is($pong->{db}, 'up', 'ping: db up');
is($pong->{redis}, 'up', 'ping: redis up');
like($pong->{id}, qr/^req-$$-\d+$/, 'ping: id echoed');
like($pong->{time}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
     'ping: time is RFC 3339');

my $r = request('no.such.command', 5, 'payload', '{"x":1}');
is($r->{ok}, JSON::PP::false, 'unknown command: ok false');
is($r->{error}, 'unknown_command', 'unknown command: error code');
like($r->{message}, qr/no\.such\.command/, 'unknown command: message');
like($r->{id}, qr/^req-$$-\d+$/, 'unknown command: id echoed');

my $ttl = do {
    my $key = "mikrobill:test:reply:ttl-$$";
    rcli('XADD', $stream, '*', 'type', 'ping', 'id', "ttl-$$",
         'reply_to', $key);
    wait_for(sub { rcli('EXISTS', $key) }, 5);
    rcli('TTL', $key);
};
ok($ttl > 0 && $ttl <= 60, "reply key expires ($ttl s)");

ok(wait_for(sub { pending() eq '0' }, 5),
   'answered entries are acknowledged');


# --- Redis restart -----------------------------------------------------------

SKIP: {
    skip 'MIKROBILL_REDIS_CONF not set', 2 unless $ENV{MIKROBILL_REDIS_CONF};

    rcli('SHUTDOWN', 'NOSAVE');
    ok(wait_for(sub { rcli('PING') ne 'PONG' }, 10), 'redis stopped');
    spawn_detached('redis-server', $ENV{MIKROBILL_REDIS_CONF});
    wait_for(sub { rcli('PING') eq 'PONG' }, 10);

    my $p = ping_until(sub { 1 }, 30);
    ok($p && $p->{ok}, 'ping answered after a Redis restart')
        or diag(slurp($w->{log}));
}


# --- PostgreSQL restart ------------------------------------------------------

SKIP: {
    skip 'MIKROBILL_PG_BINDIR/MIKROBILL_PG_DATA not set', 3
        unless $ENV{MIKROBILL_PG_BINDIR} && $ENV{MIKROBILL_PG_DATA};

    my $opts = pg_opts();
    is(pg_ctl('-m', 'fast', '-w', 'stop'), 0, 'postgres stopped');

    ok(ping_until(sub { $_[0]{db} eq 'down' }, 15),
       'ping says db down while PostgreSQL is stopped');

    pg_ctl('-w', '-o', $opts, 'start');
    ok(ping_until(sub { $_[0]{db} eq 'up' }, 30),
       'ping says db up after PostgreSQL is back')
        or diag(slurp($w->{log}));
}


# --- shutdown ----------------------------------------------------------------

is(stop_worker($w), 0, 'SIGTERM: exit status 0');
like(slurp($w->{log}), qr/ info  stopped$/m, 'SIGTERM: "stopped" logged');
unlike(slurp($w->{log}), qr/Sanitizer|runtime error/, 'no sanitizer report');


# --- a dead consumer's pending entry is claimed -----------------------------

{
    my $id = "claim-$$";
    my $key = "mikrobill:test:reply:$id";
    rcli('XADD', $stream, '*', 'type', 'ping', 'id', $id, 'reply_to', $key);
    my $got = rcli('XREADGROUP', 'GROUP', 'workers', 't-dead', 'COUNT', '1',
                   'STREAMS', $stream, '>');
    like($got, qr/\Q$id\E/, 'a fake consumer took the entry, no ack');

    my $w2 = start_worker('b', claim_idle_ms => 300);
    my $out = rcli('BLPOP', $key, 15);
    my (undef, $json) = split /\n/, $out // '', 2;
    my $reply = $json ? decode_json($json) : {};
    is($reply->{id}, $id, 'claimed entry answered');
    is($reply->{worker}, 't-b', 'by the new worker');

    ok(wait_for(sub { pending() eq '0' }, 5), 'claimed entry acknowledged');

    is(stop_worker($w2), 0, 'second worker: exit status 0');
    like(slurp($w2->{log}), qr/claimed 1 idle entry/, 'claim logged');
    like(slurp($w2->{log}), qr/ info  stopped$/m, 'second worker stopped');
}

rcli('DEL', $stream);

done_testing();
