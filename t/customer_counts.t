# The totals of unsearched customer lists come from customer_counts, kept
# by the triggers of sql/008.  After every kind of write (API create,
# PATCH, DELETE, a sync-style bulk UPDATE, a router's deletion, concurrent
# writers) the kept counts must equal a count of the table, and
# the API's totals under every filter must equal count(*) with the same
# filter.
use lib '.';
use t::MikroBill;
use POSIX ();

my $PW = 'Rahasia-123';

sub reset_state {
    mb_psql("DELETE FROM customers WHERE username LIKE 'cc\\_%'");
    mb_psql("DELETE FROM routers WHERE name LIKE 'cc-%'");
    mb_delete_users("username LIKE 'cc\\_%'");
}

sub api {
    my ($token, $method, $path, $body) = @_;
    return mb_http($method, $path, { Authorization => "Bearer $token" }, $body);
}

# the kept counts against the table itself, group by group
sub counts_match {
    my ($what) = @_;
    my $diff = mb_psql(
        "SELECT count(*) FROM ("
        . " (SELECT router_id, service_type, status, conn_status, n"
        . "  FROM customer_counts"
        . "  EXCEPT SELECT router_id, service_type, status, conn_status,"
        . "  count(*) FROM customers GROUP BY 1, 2, 3, 4)"
        . " UNION ALL"
        . " (SELECT router_id, service_type, status, conn_status, count(*)"
        . "  FROM customers GROUP BY 1, 2, 3, 4"
        . "  EXCEPT SELECT router_id, service_type, status, conn_status, n"
        . "  FROM customer_counts)) d");
    is($diff, 0, "$what: kept counts equal the table");
    is(scalar mb_psql("SELECT count(*) FROM customer_counts WHERE n <= 0"), 0,
       "$what: no empty or negative groups");
}

my @ROUTERS;

# every filter the list takes, alone and together, against count(*)
sub totals_match {
    my ($token, $what) = @_;
    my @filters = ('', 'conn_status=online', 'conn_status=offline',
                   'conn_status=unknown', 'service_type=pppoe',
                   'service_type=static_ip', 'status=active',
                   'status=suspended',
                   'conn_status=online&status=active&service_type=pppoe');
    push @filters, map { ("router_id=$_", "router_id=$_&conn_status=online") }
        @ROUTERS;
    my $bad = 0;
    for my $f (@filters) {
        my %arg = map { split /=/, $_, 2 } grep { length } split /&/, $f;
        my $want = mb_psql("SELECT count(*) FROM customers WHERE"
            . " (?::text IS NULL OR conn_status = ?)"
            . " AND (?::text IS NULL OR service_type = ?)"
            . " AND (?::uuid IS NULL OR router_id = ?::uuid)"
            . " AND (?::text IS NULL OR status = ?)",
            map { ($arg{$_}, $arg{$_}) }
                qw(conn_status service_type router_id status));
        my $r = api($token, 'GET', "/api/customers?limit=1&$f");
        next if $r->{status} == 200 && $r->{json}{total} == $want;
        $bad++;
        diag("$f: API " . ($r->{json}{total} // $r->{body}) . ", table $want");
    }
    is($bad, 0, "$what: every filtered total equals count(*)");
}

reset_state();
is(mb_create_user('cc_admin', $PW, 'ADMIN'), 0, 'admin');
mb_start_nginx(mb_default_config());
my $tok = mb_login('cc_admin', $PW);
ok($tok, 'login');

for my $n (1 .. 2) {
    push @ROUTERS, scalar mb_psql(
        "INSERT INTO routers (name, host, port, username, password_enc)"
        . " VALUES (?, '10.0.0.$n', 8728, 'admin', 'x') RETURNING id",
        "cc-r$n");
}
is(scalar(grep { $_ } @ROUTERS), 2, 'two routers');
counts_match('start');

# ------------------------------------------------------------ API writes

my @ids;
for my $i (1 .. 20) {
    my $r = api($tok, 'POST', '/api/customers', {
        name => "Hitung $i", username => sprintf('cc_c%02d', $i),
        ($i % 5 == 0
            ? (service_type => 'static_ip', static_ip => "10.1.0.$i")
            : (pppoe_username => "cc$i")),
        router_id => $i % 4 == 0 ? undef : $ROUTERS[$i % 2],
        status => $i % 3 ? 'active' : 'suspended',
    });
    is($r->{status}, 201, "create $i") or diag($r->{body});
    push @ids, $r->{json}{id};
}
counts_match('after creates');
totals_match($tok, 'after creates');

is(api($tok, 'PATCH', "/api/customers/$ids[0]", { status => 'inactive' })
   ->{status}, 200, 'PATCH status');
is(api($tok, 'PATCH', "/api/customers/$ids[1]", { router_id => $ROUTERS[0] })
   ->{status}, 200, 'PATCH router');
is(api($tok, 'PATCH', "/api/customers/$ids[2]",
       { service_type => 'static_ip', static_ip => '10.2.0.3' })->{status},
   200, 'PATCH service type');
is(api($tok, 'DELETE', "/api/customers/$ids[3]")->{status}, 200, 'DELETE');
my $bad = api($tok, 'PATCH', "/api/customers/$ids[4]", { status => 'x' });
is($bad->{status}, 400, 'a refused write');
counts_match('after updates and a delete');
totals_match($tok, 'after updates and a delete');

# ------------------------------------------------------------ the sync

# as the sync writes: many rows of one router in one statement
mb_psql("UPDATE customers SET conn_status = 'online', last_seen_at = now()"
        . " WHERE router_id = ? AND service_type = 'pppoe'", $ROUTERS[1]);
counts_match('bulk online');
totals_match($tok, 'bulk online');
my $online = mb_psql("SELECT count(*) FROM customers WHERE conn_status ="
                     . " 'online'");
my $st = api($tok, 'GET', '/api/sync/status');
is($st->{json}{totals}{customers_online}, $online,
   'sync status: customers_online from the kept counts')
    or diag($st->{body});
is($st->{json}{totals}{customers},
   scalar mb_psql("SELECT count(*) FROM customers"),
   'sync status: customers from the kept counts');

# one statement moving rows between groups both ways
mb_psql("UPDATE customers SET conn_status = CASE conn_status"
        . " WHEN 'online' THEN 'offline' ELSE 'online' END"
        . " WHERE username LIKE 'cc\\_%' AND service_type = 'pppoe'");
counts_match('swap');

# ------------------------------------------------------------ a router goes

is(api($tok, 'DELETE', "/api/routers/$ROUTERS[0]")->{status}, 200,
   'router deleted');
is(scalar mb_psql("SELECT count(*) FROM customer_counts WHERE router_id = ?",
           $ROUTERS[0]), 0, 'its groups are gone');
counts_match('router deleted');
@ROUTERS = ($ROUTERS[1]);
totals_match($tok, 'router deleted');

# ------------------------------------------------------------ concurrency

# four writers on the same groups at once, each in its own transactions
sub writer {
    my ($w) = @_;
    for my $k (1 .. 10) {
        mb_psql("BEGIN;"
            . " INSERT INTO customers (name, username, router_id)"
            . " VALUES ('Paralel', 'cc_w${w}_$k', '$ROUTERS[0]');"
            . " UPDATE customers SET conn_status = 'online'"
            . " WHERE username = 'cc_w${w}_" . ($k - 1) . "';"
            . " COMMIT;");
    }
    mb_psql("DELETE FROM customers WHERE username LIKE 'cc\\_w${w}\\_%'"
            . " AND conn_status = 'online'");
}

my @pids;
for my $w (1 .. 4) {
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        my $ok = eval { writer($w); 1 };
        print STDERR $@ unless $ok;
        # not exit: the child must not run the harness's END blocks
        POSIX::_exit($ok ? 0 : 1);
    }
    push @pids, $pid;
}
my $failed = 0;
for (@pids) { waitpid($_, 0); $failed++ if $? }
is($failed, 0, 'four concurrent writers');
counts_match('concurrent writers');
totals_match($tok, 'concurrent writers');

# ------------------------------------------------------------ search

# a search still counts its own matches
my $r = api($tok, 'GET', '/api/customers?q=hitung&limit=1');
is($r->{json}{total},
   scalar mb_psql("SELECT count(*) FROM customers WHERE lower(name) LIKE"
           . " '%hitung%'"), 'q: counted from the matches');

mb_stop_nginx();
reset_state();
counts_match('cleaned up');

done_testing();
