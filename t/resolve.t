# Host names of PostgreSQL and Redis.  nginx resolves those of mikrobill_pg
# and mikrobill_redis once, when it reads its configuration (a name it
# cannot resolve stops it); the worker looks them up with uv_getaddrinfo
# before each connect and keeps retrying, logging a failure once.  Neither
# lets hiredis or libpq call a blocking getaddrinfo() in its event loop.
use lib '.';
use t::MikroBill;
use t::Worker;
use POSIX qw(WNOHANG);
use Socket qw(getaddrinfo getnameinfo NI_NUMERICHOST SOCK_STREAM);
use Time::HiRes qw(sleep);

my $conninfo = $ENV{TEST_NGINX_PG_CONNINFO};
my $rport    = $ENV{TEST_NGINX_REDIS_PORT};

plan skip_all => 'needs TEST_NGINX_PG_CONNINFO, TEST_NGINX_REDIS_PORT, '
    . 'MIKROBILL_WORKER, MIKROBILL_TEST_DIR (make test)'
    unless $conninfo && $rport && $ENV{MIKROBILL_WORKER}
        && $ENV{MIKROBILL_TEST_DIR};

# the servers listen on 127.0.0.1 only: "localhost" must lead there
{
    my ($err, @ai) = getaddrinfo('localhost', '', { socktype => SOCK_STREAM });
    my @ips = map { (getnameinfo($_->{addr}, NI_NUMERICHOST))[1] } @ai;
    plan skip_all => "localhost does not resolve to 127.0.0.1 here (@ips)"
        if $err || !grep { $_ eq '127.0.0.1' } @ips;
}

my $slow = $ENV{MIKROBILL_SAN} ? 3 : 1;
my $bad  = 'nosuchhost.invalid';            # RFC 2606: never resolves

# the test's connection string with other hosts (undef: no host at all)
sub pg_with_host {
    my ($host) = @_;
    my $c = $conninfo;
    $c =~ s/\bhost=\S+\s*// or die "no host= in $conninfo\n";
    return defined $host ? "host=$host $c" : $c;
}

my ($MAIN, $HTTP, $CONFIG) = mb_default_config();

# the default http_config with mikrobill_pg and mikrobill_redis replaced
sub http_config {
    my ($pg, $redis) = @_;
    my $http = $HTTP;
    $http =~ s/^\s*mikrobill_pg .*$/    mikrobill_pg "$pg";/m or die;
    $http =~ s/^\s*mikrobill_redis .*$/    mikrobill_redis $redis;/m or die;
    return $http;
}

# nginx with these, then /api/health; undef and the reason when it fails
sub start_with {
    my ($pg, $redis) = @_;
    my $port = eval { mb_start_nginx($MAIN, http_config($pg, $redis),
                                     $CONFIG) };
    return (undef, $@) unless $port;
    my $res = mb_http('GET', '/api/health');
    for (1 .. 20 * $slow) {
        last if $res->{status} == 200;
        sleep 0.1;
        $res = mb_http('GET', '/api/health');
    }
    mb_stop_nginx();
    return ($res, '');
}

sub health_ok {
    my ($pg, $redis, $what) = @_;
    my ($res, $err) = start_with($pg, $redis);
    ok($res, "$what: nginx starts") or diag($err);
    $res ||= { json => {} };
    is($res->{status}, 200, "$what: /api/health 200");
    is_deeply([@{ $res->{json} || {} }{qw(db redis)}], [qw(up up)],
              "$what: db up, redis up");
}

# nginx must not start; the reason must name the host
sub refused {
    my ($pg, $redis, $re, $what) = @_;
    my ($res, $err) = start_with($pg, $redis);
    ok(!$res, "$what: nginx does not start");
    like($err, $re, "$what: the reason is given");
    return $err;
}

my $redis_local = "localhost:$rport";
my $redis_ip    = "127.0.0.1:$rport";

# --- nginx: names resolved when the configuration is read -------------------

health_ok(pg_with_host('localhost'), $redis_local,
          'host=localhost, mikrobill_redis localhost');

# the hostaddr list keeps its place for a Unix socket that is tried first
health_ok(pg_with_host('/nonexistent-socket-dir,localhost'), $redis_ip,
          'host=/nonexistent-socket-dir,localhost');

# without host= in the string libpq takes PGHOST, which nginx workers do
# not inherit: the resolved host must be passed on explicitly
{
    local $ENV{PGHOST} = 'localhost';
    health_ok(pg_with_host(undef), $redis_ip, 'PGHOST=localhost');
}

refused(pg_with_host('localhost'), "$bad:$rport",
        qr/\[emerg\].*mikrobill_redis: cannot resolve host "\Q$bad\E"/,
        'mikrobill_redis with an unknown name');

# `nginx -t` says the same
{
    my $root = "$ENV{MIKROBILL_TEST_DIR}/mb-nginx";
    my $cmd = "$ENV{TEST_NGINX_BINARY} -t -p $root/ -e $root/logs/error.log"
        . " -c $root/conf/nginx.conf 2>&1";
    my $out = `$cmd`;
    isnt($? >> 8, 0, 'nginx -t fails on it');
    like($out, qr/cannot resolve host "\Q$bad\E".*test failed/s,
         'nginx -t names the host');
}

{
    my $err = refused(pg_with_host($bad) . ' password=sekrit-pw', $redis_ip,
                      qr/mikrobill_pg: cannot resolve host "\Q$bad\E"/,
                      'mikrobill_pg with an unknown host');
    unlike($err, qr/sekrit-pw|dbname=/, 'the connection string is not shown');
}

refused(pg_with_host("localhost,$bad"), $redis_ip,
        qr/mikrobill_pg: cannot resolve host "\Q$bad\E"/,
        'an unknown name in a host list');

{
    local $ENV{PGHOST} = $bad;
    refused(pg_with_host(undef), $redis_ip,
            qr/mikrobill_pg \(PGHOST\): cannot resolve host "\Q$bad\E"/,
            'PGHOST with an unknown name');
}

# an explicit hostaddr means no lookup at all, even of a bad host name
health_ok(pg_with_host($bad) . ' hostaddr=127.0.0.1', $redis_ip,
          'host with hostaddr given');

refused(pg_with_host('localhost') . ' bogus', $redis_ip,
        qr/mikrobill_pg: invalid connection string/,
        'a malformed connection string');

# --- worker: names looked up before each connect ----------------------------

t::Worker::setup(files => 'resolve-', id => 'resolve',
                 stream => "mikrobill:test:resolve:$$", slow => $slow);

# a worker whose config has these hosts
sub worker_with {
    my ($name, $pg, $redis_host) = @_;
    local $ENV{TEST_NGINX_PG_CONNINFO} = $pg;
    local $t::Worker::Opt{rhost} = $redis_host;
    return start_worker($name);
}

sub ping_until {
    my ($cond, $timeout) = @_;
    return wait_for(sub {
        my $r = request('ping', 1);
        return $r && $cond->($r) ? $r : undef;
    }, $timeout);
}

sub alive { waitpid($_[0]{pid}, WNOHANG) == 0 }

{
    my $w = worker_with('names', pg_with_host('localhost'), 'localhost');
    my $pong = ping_until(sub { $_[0]{db} eq 'up' }, 15);
    ok($pong, 'worker with localhost hosts: ping answered, db up')
        or diag(slurp($w->{log}));
    my $log = slurp($w->{log});
    like($log, qr/debug redis control: localhost resolved to 127\.0\.0\.1/,
         'worker: the Redis host was looked up by the worker');
    like($log, qr/debug postgres: localhost resolved to 127\.0\.0\.1/,
         'worker: the PostgreSQL host was looked up by the worker');
    is(stop_pid($w->{pid}), 0, 'worker with localhost hosts: exit 0');
}

# warnings, by connection, about $bad in the log of $w
sub resolve_warnings {
    my ($w, $re) = @_;
    my ($log, %n) = (slurp($w->{log}));
    $n{$1}++ while $log =~ /$re/g;
    return \%n;
}

{
    my $w = worker_with('bad-redis', pg_with_host('localhost'), $bad);
    my $re = qr/^\S+ warn  redis (\w+): cannot resolve \Q$bad\E: /m;
    wait_for(sub { resolve_warnings($w, $re)->{control} }, 5);
    sleep 3 * $slow;                # several retries with the backoff
    ok(alive($w), 'unknown Redis host: the worker keeps running');
    my $log = slurp($w->{log});
    my $warned = resolve_warnings($w, $re);
    is($warned->{control}, 1, 'unknown Redis host: one warning (control)')
        or diag($log);
    is($warned->{reader}, 1, 'unknown Redis host: one warning (reader)');
    my $retries = () = $log =~ /debug redis control: cannot resolve \Q$bad\E/g;
    cmp_ok($retries, '>=', 2, "unknown Redis host: retried ($retries more)");
    is(stop_pid($w->{pid}), 0, 'unknown Redis host: stops with exit 0');
}

{
    my $w = worker_with('bad-pg', pg_with_host($bad), '127.0.0.1');
    my $pong = ping_until(sub { 1 }, 15);
    ok($pong, 'unknown PostgreSQL host: ping still answered')
        or diag(slurp($w->{log}));
    is($pong && $pong->{db}, 'down', 'unknown PostgreSQL host: db down');
    sleep 2 * $slow;
    ok(alive($w), 'unknown PostgreSQL host: the worker keeps running');
    my $log = slurp($w->{log});
    my $warned = () = $log =~
        /^\S+ warn  postgres cannot resolve \Q$bad\E: .*\(retry in \d+ ms\)$/mg;
    is($warned, 1, 'unknown PostgreSQL host: one warning') or diag($log);
    my $retries = () = $log =~ /debug postgres cannot resolve \Q$bad\E/g;
    cmp_ok($retries, '>=', 2,
           "unknown PostgreSQL host: retried ($retries more)");
    is(stop_pid($w->{pid}), 0, 'unknown PostgreSQL host: stops with exit 0');
}

done_testing();
