# GET /api/health: PostgreSQL and Redis probed at once; 200 when both
# answer, 503 naming what is down, and recovery without restarting nginx.
#
# The outage flows stop and start the test's PostgreSQL and Redis under one
# running nginx, which blocks cannot express: they use the t::MikroBill
# helpers first, then the static blocks below __DATA__ run.
use lib '.';
use t::MikroBill;
use Time::HiRes qw(sleep time);

my ($MAIN, $HTTP, $CONFIG) = mb_default_config();

sub health { mb_http('GET', '/api/health') }

# poll until the answer has the status, at most $secs; the last answer
sub health_until {
    my ($status, $secs) = @_;
    my $deadline = time + $secs;
    my $res;
    while (1) {
        $res = health();
        last if $res->{status} == $status || time >= $deadline;
        sleep 0.1;
    }
    return $res;
}

sub is_up {
    my ($res, $what) = @_;
    my $j = $res->{json} || {};
    is($res->{status}, 200, "$what: 200");
    is_deeply([@$j{qw(status db redis)}], [qw(ok up up)],
              "$what: status ok, db up, redis up");
}

sub is_down {
    my ($res, $db, $redis, $message, $what) = @_;
    my $j = $res->{json} || {};
    is($res->{status}, 503, "$what: 503");
    is_deeply([@$j{qw(status db redis error message)}],
              ['error', $db, $redis, 'service_unavailable', $message],
              "$what: db $db, redis $redis, \"$message\"");
}

mb_start_nginx($MAIN, $HTTP . "    mikrobill_pg_pool_size 4;\n", $CONFIG);

is_up(health(), 'before any outage');

# ------------------------------------------------------------------ Redis

mb_redis_stop();
is_down(health(), 'up', 'down', 'Redis tidak tersedia', 'Redis stopped');
{
    my $t0 = time;
    my $res = health();
    ok(time - $t0 < 1, 'Redis stopped: the answer does not wait for a timeout');
}

mb_redis_start();
is_up(health_until(200, 6), 'Redis back (reconnect with backoff)');

# ------------------------------------------------------------- PostgreSQL

# several requests at once leave several idle pool connections to go stale
for (1 .. 3) { health() }

mb_pg_stop();
is_down(health(), 'down', 'up', 'PostgreSQL tidak tersedia',
        'PostgreSQL stopped');
is_down(health(), 'down', 'up', 'PostgreSQL tidak tersedia',
        'PostgreSQL still stopped');

mb_pg_start();
is_up(health(), 'PostgreSQL back: the next request');

# a restart while the pool holds idle connections: at most one 503
mb_pg_stop();
mb_pg_start();
{
    my @codes = map { health()->{status} } 1 .. 3;
    my $bad = grep { $_ != 200 } @codes;
    ok($bad <= 1 && $codes[-1] == 200,
       "PostgreSQL restarted: at most one 503, then 200 (@codes)");
}

# both down, then both back
mb_redis_stop();
mb_pg_stop();
is_down(health(), 'down', 'down', 'PostgreSQL dan Redis tidak tersedia',
        'both stopped');
mb_pg_start();
mb_redis_start();
is_up(health_until(200, 6), 'both back');

like(mb_error_log(), qr/mikrobill pg: .*lost/, 'the lost connections are logged');

mb_stop_nginx();

mb_use_defaults();
run_tests();
done_testing() unless Test::More->builder->has_plan;


__DATA__

=== TEST 1: healthy
--- request
GET /api/health
--- error_code: 200
--- response_headers
Content-Type: application/json; charset=utf-8
Cache-Control: no-store
--- response_body_like chomp
^\{"status":"ok","db":"up","redis":"up","version":"\d+\.\d+\.\d+","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}$



=== TEST 2: HEAD is answered as GET, without a body
--- request
HEAD /api/health
--- error_code: 200
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body chomp



=== TEST 3: Redis unreachable
--- http_config
    mikrobill_pg "$TEST_NGINX_PG_CONNINFO";
    mikrobill_redis 127.0.0.1:1;
--- request
GET /api/health
--- error_code: 503
--- response_body_like chomp
^\{"status":"error","db":"up","redis":"down",.*"error":"service_unavailable","message":"Redis tidak tersedia"\}$



=== TEST 4: PostgreSQL unreachable
--- http_config
    mikrobill_pg "host=127.0.0.1 port=1 dbname=none user=none";
    mikrobill_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
--- request
GET /api/health
--- error_code: 503
--- response_body_like chomp
^\{"status":"error","db":"down","redis":"up",.*"error":"service_unavailable","message":"PostgreSQL tidak tersedia"\}$



=== TEST 5: both unreachable
--- http_config
    mikrobill_pg "host=127.0.0.1 port=1 dbname=none user=none";
    mikrobill_redis 127.0.0.1:1;
--- request
GET /api/health
--- error_code: 503
--- response_body_like chomp
"db":"down","redis":"down",.*"message":"PostgreSQL dan Redis tidak tersedia"



=== TEST 6: health is only GET and HEAD
--- request
POST /api/health
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body_like chomp
^\{"error":"method_not_allowed","message":"[^"]+"\}$



=== TEST 7: many requests in a row share the pool
--- http_config
    mikrobill_pg "$TEST_NGINX_PG_CONNINFO";
    mikrobill_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    mikrobill_pg_pool_size 1;
--- request eval
[("GET /api/health") x 20]
--- error_code eval
[(200) x 20]
