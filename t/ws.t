# WebSocket /ws inside ngx_mikrobill (docs/monitor.md, "WebSocket /ws"):
# handshake and its refusals, the frame parser's protocol errors, ping and
# close, subscribe/unsubscribe through the per-worker Redis subscriber,
# "*" for admins, the sync channel to everyone, the send limit for slow
# readers, server pings, reload, and a Redis restart.
use lib '.';
use t::MikroBill;
use t::WsClient;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

my $PW = 'Rahasia-123';

sub reset_state {
    mb_psql("DELETE FROM login_failures");
    mb_delete_users("username LIKE 'ws\\_%'");
}

sub uuid {
    my $h = join '', map { sprintf '%04x', int rand 65536 } 1 .. 8;
    return sprintf('%s-%s-4%s-a%s-%s', substr($h, 0, 8), substr($h, 8, 4),
                   substr($h, 12, 3), substr($h, 15, 3), substr($h, 18, 12));
}

# many PUBLISH at once on one Redis connection (redis-cli per message is
# too slow); returns the number of replies read
sub publish_many {
    my ($channel, $payload, $n) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $ENV{TEST_NGINX_REDIS_HOST} || '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_REDIS_PORT} || 6379)
        or die "redis: $!\n";
    binmode $s;
    my $cmd = sprintf("*3\r\n\$7\r\nPUBLISH\r\n\$%d\r\n%s\r\n\$%d\r\n%s\r\n",
                      length $channel, $channel, length $payload, $payload);
    my $got = 0;
    my $buf = '';
    for my $i (1 .. $n) {
        print $s $cmd;
    }
    while ($got < $n) {
        my $r = sysread($s, my $chunk, 65536);
        last unless $r;
        $buf .= $chunk;
        $got++ while $buf =~ s/^:\d+\r\n//;
    }
    close $s;
    return $got;
}

sub numsub {
    my ($channel) = @_;
    my @l = mb_redis('PUBSUB', 'NUMSUB', $channel);
    return $l[1] // -1;
}

sub wait_numsub {
    my ($channel, $want) = @_;
    for (1 .. 50) {
        return 1 if numsub($channel) == $want;
        sleep 0.1;
    }
    return 0;
}

sub connect_ws { t::WsClient->connect(@_) }

reset_state();
is(mb_create_user('ws_' . lc $_, $PW, $_), 0, "user $_") for qw(ADMIN TECHNICIAN);

my ($m, $h, $c) = mb_default_config();
my $port = mb_start_nginx($m, $h . "    mikrobill_login_delay 1ms;\n"
                               . "    mikrobill_login_max_failures_addr 1000;\n",
                          $c . <<'EOC');
        location = /ws {
            mikrobill_websocket;
            mikrobill_ws_max_message 1k;
        }
        location = /ws-origin {
            mikrobill_websocket;
            mikrobill_ws_origin https://dash.example http://other.example;
        }
        location = /ws-slow {
            mikrobill_websocket;
            mikrobill_ws_send_limit 64k;
        }
        location = /ws-ping {
            mikrobill_websocket;
            mikrobill_ws_ping_interval 1s;
        }
        location = /ws-recheck {
            mikrobill_websocket;
            mikrobill_ws_session_check 500ms;
        }
EOC
my $adm = mb_login('ws_admin', $PW);
my $tech = mb_login('ws_technician', $PW);
ok($adm && $tech, 'logged in');

# ---------------------------------------------------------------- handshake

my $ws = connect_ws(token => $adm, key => 'dGhlIHNhbXBsZSBub25jZQ==');
is($ws->status, 101, 'handshake: 101');
is($ws->header('Sec-WebSocket-Accept'), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
   'accept key of the RFC 6455 example');
is(t::WsClient::accept_key('dGhlIHNhbXBsZSBub25jZQ=='),
   's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'the client computes the same');
like($ws->header('Upgrade') // '', qr/^websocket$/i, 'Upgrade: websocket');
like($ws->header('Connection') // '', qr/upgrade/i, 'Connection: upgrade');
ok(!defined $ws->header('Content-Length') && !defined $ws->header('Transfer-Encoding'),
   'no body framing on a 101');
$ws->close;

$ws = connect_ws();
is($ws->status, 401, 'no credentials: 401');
is($ws->json && $ws->json->{error}, 'unauthorized', 'no credentials: JSON error');
ok(!$ws->header('Sec-WebSocket-Accept'), 'no credentials: no upgrade');

$ws = connect_ws(token => 'x' x 43);
is($ws->status, 401, 'unknown token: 401');

$ws = connect_ws(query_token => $adm);
is($ws->status, 101, '?token= accepted');
$ws->close;

$ws = connect_ws(cookie => $adm);
is($ws->status, 101, 'session cookie accepted');
$ws->close;

$ws = connect_ws(token => $adm, origin => 'http://evil.example');
is($ws->status, 403, 'foreign Origin: 403');
ok($ws->json && $ws->json->{error}, 'foreign Origin: JSON error');

$ws = connect_ws(token => $adm, origin => 'http://localhost');
is($ws->status, 101, 'own Origin (scheme://Host) accepted');
$ws->close;

$ws = connect_ws(path => '/ws-origin', token => $adm, origin => 'https://dash.example');
is($ws->status, 101, 'mikrobill_ws_origin: listed origin accepted');
$ws->close;
$ws = connect_ws(path => '/ws-origin', token => $adm, origin => 'http://localhost');
is($ws->status, 403, 'mikrobill_ws_origin: other origin refused');

$ws = connect_ws(token => $adm, version => 12);
is($ws->status, 400, 'version 12: 400');
is($ws->header('Sec-WebSocket-Version'), '13', 'version 12: we speak 13');
ok($ws->json && $ws->json->{error}, 'version 12: JSON error');
is(connect_ws(token => $adm, headers => { 'Sec-WebSocket-Key' => undef })->status,
   400, 'no key: 400');
is(connect_ws(token => $adm, key => 'c2hvcnQ=')->status, 400, 'key not 16 bytes: 400');
is(connect_ws(token => $adm, method => 'POST',
              headers => { 'Content-Length' => 0 })->status, 400, 'POST: 400');
is(connect_ws(token => $adm, headers => { Upgrade => undef })->status, 400,
   'no Upgrade header: 400');
is(connect_ws(token => $adm, version => undef)->status, 400, 'no version: 400');

# ------------------------------------------------------ subscribe / messages

my $cid = uuid();
my $chan = "mikrobill:traffic:$cid";
$ws = connect_ws(token => $tech);
my $ack = $ws->subscribe($cid);
is_deeply($ack, { event => 'subscribed', channel => $cid }, 'subscribe: ack');
is(numsub($chan), 1, 'subscribe: one Redis subscription for the channel');

my $sample = '{"customer_id":"' . $cid . '","rx_bits_per_second":"5234567"}';
mb_redis('PUBLISH', $chan, $sample);
my $msg = $ws->read_json(timeout => 5);
is($msg && $msg->{rx_bits_per_second}, '5234567', 'published sample arrives');

my $ws2 = connect_ws(token => $adm);
is_deeply($ws2->subscribe(uc $cid), { event => 'subscribed', channel => $cid },
          'second client, uppercase id: ack names the lowercase channel');
is(numsub($chan), 1, 'still one Redis subscription for two local clients');
mb_redis('PUBLISH', $chan, '{"n":2}');
is($ws->read_json->{n}, 2, 'first client gets it');
is($ws2->read_json->{n}, 2, 'second client gets it');

is_deeply($ws->subscribe($cid), { event => 'subscribed', channel => $cid },
          'subscribing again: acked again');
mb_redis('PUBLISH', $chan, '{"n":3}');
my @got = $ws->read_all_json(1);
is(scalar(grep { ($_->{n} // 0) == 3 } @got), 1, 'subscribed twice: one copy');
is($ws2->read_json->{n}, 3, 'the other client gets it too');

is_deeply($ws->unsubscribe($cid), { event => 'unsubscribed', channel => $cid },
          'unsubscribe: ack');
mb_redis('PUBLISH', $chan, '{"n":4}');
@got = $ws->read_all_json(1);
is(scalar(grep { ($_->{n} // 0) == 4 } @got), 0, 'unsubscribed: no more messages');
is($ws2->read_json->{n}, 4, 'the other client still gets them');
is(numsub($chan), 1, 'Redis subscription kept while a local subscriber is left');
$ws2->unsubscribe($cid);
ok(wait_numsub($chan, 0), 'last local subscriber gone: UNSUBSCRIBE on Redis');

is_deeply($ws->subscribe($cid), { event => 'subscribed', channel => $cid },
          'subscribe after the channel was dropped');
ok(wait_numsub($chan, 1), 'subscribed on Redis again');
mb_redis('PUBLISH', $chan, '{"n":5}');
is($ws->read_json->{n}, 5, 'messages flow again');

# bad requests keep the socket open
for my $bad ('{"subscribe":"nope"}', '{"subscribe":5}', '[1]', 'not json',
             '{"subscribe":"' . $cid . '","x":1}', '{"hello":"x"}')
{
    $ws->send_text($bad);
    my $e = $ws->read_json(until => sub { ($_[0]{event} // '') eq 'error' });
    is($e && $e->{error}, 'bad_request', "bad request $bad: error event");
}
is_deeply($ws->unsubscribe($cid), { event => 'unsubscribed', channel => $cid },
          'socket still usable after bad requests');

# ------------------------------------------------------------------ "*"

my $e = $ws->subscribe('*');
is($e && $e->{event}, 'error', 'TECHNICIAN on "*": error event');
is($e && $e->{error}, 'forbidden', 'TECHNICIAN on "*": forbidden');

my $star = connect_ws(token => $adm);
is_deeply($star->subscribe('*'), { event => 'subscribed', channel => '*' },
          'ADMIN on "*": ack');
my @pat = mb_redis('PUBSUB', 'NUMPAT');
is($pat[0], 1, 'one PSUBSCRIBE on Redis');
my $other = uuid();
mb_redis('PUBLISH', "mikrobill:traffic:$other", '{"n":6}');
is($star->read_json->{n}, 6, '"*" gets any customer');
is_deeply($star->subscribe($other), { event => 'subscribed', channel => $other },
          'ADMIN also on one customer');
mb_redis('PUBLISH', "mikrobill:traffic:$other", '{"n":7}');
@got = $star->read_all_json(1);
is(scalar(grep { ($_->{n} // 0) == 7 } @got), 1, '"*" and the customer: no duplicate');
$star->unsubscribe('*');
mb_redis('PUBLISH', "mikrobill:traffic:$other", '{"n":8}');
@got = $star->read_all_json(1);
is(scalar(grep { ($_->{n} // 0) == 8 } @got), 1, 'left "*": still gets its customer');
@pat = mb_redis('PUBSUB', 'NUMPAT');
for (1 .. 30) { last if $pat[0] == 0; sleep 0.1; @pat = mb_redis('PUBSUB', 'NUMPAT') }
is($pat[0], 0, 'PUNSUBSCRIBE when the last "*" left');

# ----------------------------------------------------------- sync channel

mb_redis('PUBLISH', 'mikrobill:events:sync', '{"event":"sync","router":"r1"}');
for my $pair ([$ws, 'technician'], [$star, 'admin']) {
    my $s = $pair->[0]->read_json(until => sub { ($_[0]{event} // '') eq 'sync' });
    is($s && $s->{router}, 'r1', "sync event reaches the $pair->[1] client");
}
my $quiet = connect_ws(token => $tech);
sleep 0.2;
mb_redis('PUBLISH', 'mikrobill:events:sync', '{"event":"sync","router":"r2"}');
my $s = $quiet->read_json(until => sub { ($_[0]{event} // '') eq 'sync' });
is($s && $s->{router}, 'r2', 'sync event reaches a client without subscriptions');
$quiet->close;
for my $w ($ws, $star) {
    $s = $w->read_json(until => sub { ($_[0]{event} // '') eq 'sync' });
    is($s && $s->{router}, 'r2', 'and every other client');
}

# ----------------------------------------------------- lengths, fragments

my $big = uuid();
$ws->subscribe($big);
my $p16 = '{"n":' . ('1' x 1000) . '}';
mb_redis('PUBLISH', "mikrobill:traffic:$big", $p16);
my $f = $ws->read_frame(5);
ok($f && $f->{opcode} == 1 && $f->{payload} eq $p16 && !$f->{masked},
   'server frame with a 16-bit length, unmasked');
my $p64 = '{"pad":"' . ('x' x 70000) . '"}';
publish_many("mikrobill:traffic:$big", $p64, 1);
$f = $ws->read_frame(5);
ok($f && $f->{opcode} == 1 && $f->{payload} eq $p64, 'server frame with a 64-bit length');

my $c16 = uuid();
my $padded = '{"subscribe":"' . $c16 . '"' . (' ' x 300) . '}';
$ws->send_frame(opcode => 1, payload => $padded);
is_deeply($ws->read_json, { event => 'subscribed', channel => $c16 },
          'client frame with a 16-bit length');
my $c64 = uuid();
$ws->send_frame(opcode => 1, payload => qq({"subscribe":"$c64"}), len => 64);
is_deeply($ws->read_json, { event => 'subscribed', channel => $c64 },
          'client frame with a 64-bit length');
my $c7 = uuid();
$ws->send_frame(opcode => 1, payload => qq({"subscribe":"$c7"}), len => 16);
is_deeply($ws->read_json, { event => 'subscribed', channel => $c7 },
          'short payload in a 16-bit length');

my $cf = uuid();
$ws->send_frame(opcode => 1, payload => '{"subscr', fin => 0);
$ws->send_ping('in-between');
$ws->send_frame(opcode => 0, payload => 'ibe":"', fin => 0);
$ws->send_frame(opcode => 0, payload => qq($cf"}), fin => 1);
$f = $ws->read_frame(5);
ok($f && $f->{opcode} == 10 && $f->{payload} eq 'in-between',
   'ping between fragments answered');
is_deeply($ws->read_json, { event => 'subscribed', channel => $cf },
          'fragmented message reassembled');

$ws->send_ping('hello ping');
$f = $ws->read_frame(5);
ok($f && $f->{opcode} == 10 && $f->{payload} eq 'hello ping', 'pong echoes the ping payload');
$ws->send_pong('unsolicited');
$ws->send_json({ unsubscribe => $cf });
is_deeply($ws->read_json, { event => 'unsubscribed', channel => $cf },
          'unsolicited pong ignored');

# subscriptions per client are capped
{
    my $lim = connect_ws(token => $adm);
    my @ids = map { uuid() } 1 .. 1001;
    my $all = '';
    $lim->send_json({ subscribe => $_ }) for @ids;
    my ($acks, $err) = (0, undef);
    # the refusal comes at once, the acks when Redis confirms
    while (my $m = $lim->read_json(timeout => 10)) {
        if (($m->{event} // '') eq 'subscribed') { $acks++ }
        elsif (($m->{event} // '') eq 'error') { $err = $m }
        last if $acks == 1000 && $err;
    }
    is($acks, 1000, '1000 subscriptions acked');
    is($err && $err->{error}, 'limit', 'the 1001st: error limit');
    $lim->send_close(1000);
    my $cl = $lim->wait_close(5);
    is($cl && $cl->{close_code}, 1000, 'closed with its subscriptions');
    ok(wait_numsub("mikrobill:traffic:$ids[0]", 0), 'its channels unsubscribed on Redis');
}

# ----------------------------------------------------------- close codes

$ws->send_close(4000, 'bye');
$f = $ws->wait_close(5);
is($f && $f->{close_code}, 4000, 'close echoed with its code');
ok($ws->closed_tcp(5), 'then the connection is closed');
ok(wait_numsub("mikrobill:traffic:$big", 0), 'closed client: its channels dropped');

sub protocol_case {
    my ($name, $code, $send) = @_;
    my $w = connect_ws(token => $tech);
    $send->($w);
    my $cf = $w->wait_close(5);
    is($cf && $cf->{close_code}, $code, "$name: close $code");
    ok($w->closed_tcp(5), "$name: connection closed");
}

protocol_case('unmasked frame', 1002,
              sub { $_[0]->send_frame(opcode => 1, payload => '{}', mask => 0) });
protocol_case('opcode 3', 1002, sub { $_[0]->send_frame(opcode => 3, payload => 'x') });
protocol_case('opcode 11', 1002, sub { $_[0]->send_frame(opcode => 11, payload => '') });
protocol_case('RSV1 set', 1002,
              sub { $_[0]->send_frame(opcode => 1, payload => '{}', rsv => 4) });
protocol_case('continuation first', 1002,
              sub { $_[0]->send_frame(opcode => 0, payload => 'x') });
protocol_case('text inside a fragmented message', 1002, sub {
    $_[0]->send_frame(opcode => 1, payload => '{', fin => 0);
    $_[0]->send_frame(opcode => 1, payload => '}');
});
protocol_case('fragmented ping', 1002,
              sub { $_[0]->send_frame(opcode => 9, payload => 'x', fin => 0) });
protocol_case('ping over 125 bytes', 1002,
              sub { $_[0]->send_frame(opcode => 9, payload => 'x' x 126) });
protocol_case('close with 1 byte', 1002,
              sub { $_[0]->send_frame(opcode => 8, payload => 'x') });
protocol_case('binary frame', 1003, sub { $_[0]->send_binary("\x00\x01") });
protocol_case('invalid UTF-8', 1007, sub { $_[0]->send_text("\xff\xfe") });
protocol_case('overlong UTF-8', 1007, sub { $_[0]->send_text("\xc0\xaf") });
protocol_case('surrogate in UTF-8', 1007, sub { $_[0]->send_text("\xed\xa0\x80") });
protocol_case('UTF-8 split over fragments stays valid', 1000, sub {
    $_[0]->send_frame(opcode => 1, payload => "\"\xc3", fin => 0);
    $_[0]->send_frame(opcode => 0, payload => "\xa9\"");
    my $e = $_[0]->read_json;
    Test::More::is($e && $e->{error}, 'bad_request', 'split UTF-8: a message, not a close');
    $_[0]->send_close(1000);
});
protocol_case('message over mikrobill_ws_max_message', 1009,
              sub { $_[0]->send_text('x' x 1025) });
protocol_case('fragments over mikrobill_ws_max_message', 1009, sub {
    $_[0]->send_frame(opcode => 1, payload => 'x' x 600, fin => 0);
    $_[0]->send_frame(opcode => 0, payload => 'x' x 600);
});
protocol_case('64-bit length with the top bit', 1002, sub {
    $_[0]->send_raw("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x01" . "abcd");
});

{
    my $w = connect_ws(token => $tech);
    ok($w->send_text('x' x 1024), 'exactly mikrobill_ws_max_message');
    my $e = $w->read_json;
    is($e && $e->{error}, 'bad_request', 'max-size message accepted (and answered)');
    $w->send_close();
    my $cf = $w->wait_close(5);
    ok($cf && $cf->{opcode} == 8 && !defined $cf->{close_code}, 'empty close echoed empty');
}

# a client that sends frames right behind its handshake, in one packet
{
    my $id = uuid();
    my $w = t::WsClient->connect(token => $tech, timeout => 5,
        after => t::WsClient::frame(payload => qq({"subscribe":"$id"})));
    is($w->status, 101, 'handshake with a frame behind it');
    is_deeply($w->read_json, { event => 'subscribed', channel => $id }, 'first frame right away');
    $w->close;
}

# ---------------------------------------------------------- slow reader

{
    my $slow = connect_ws(path => '/ws-slow', token => $tech);
    my $id = uuid();
    is_deeply($slow->subscribe($id), { event => 'subscribed', channel => $id },
              'slow reader subscribed');
    my $fast = connect_ws(token => $tech);
    $fast->subscribe($id);
    # about 25 MB: more than the socket buffers hold, the reader reads nothing
    my $payload = '{"pad":"' . ('y' x 50000) . '"}';
    my $n = 0;
    my $fast_got = 0;
    for (1 .. 100) {
        $n += publish_many("mikrobill:traffic:$id", $payload, 5);
        while ($fast_got < $n) {
            my $fm = $fast->read_frame(5);
            last if !$fm || $fm->{eof};
            $fast_got++ if $fm->{opcode} == 1;
        }
    }
    is($n, 500, '500 big messages published');
    ok($slow->closed_tcp(20), 'the reader that never read was closed');
    like(mb_error_log(), qr/client output over 65536 bytes/, 'closed for its send limit');
    is($fast_got, 500, 'a reading client on the same channel got them all');
    ok(wait_numsub("mikrobill:traffic:$id", 1), 'the Redis subscription stays for the other');
    $fast->close;
}

# --------------------------------------------------------- server pings

{
    my $t0 = time;
    my $dead = connect_ws(path => '/ws-ping', token => $tech);
    my $live = connect_ws(path => '/ws-ping', token => $tech);
    my ($pinged, $closed_at, $live_pings) = (0, undef, 0);
    # both at once: $live answers its pings, $dead never does
    while (time - $t0 < 4) {
        if (!defined $closed_at) {
            my $f = $dead->read_frame(0.05);
            if ($f && $f->{eof}) { $closed_at = time - $t0 }
            elsif ($f && $f->{opcode} == 9) { $pinged++ }
        }
        my $l = $live->read_frame(0.05);
        if ($l && !$l->{eof} && $l->{opcode} == 9) {
            $live_pings++;
            $live->send_pong($l->{payload});
        }
    }
    is($pinged, 1, 'a silent client is pinged');
    ok(defined $closed_at, 'no answer: closed');
    ok(defined $closed_at && $closed_at >= 1.5 && $closed_at < 3.5,
       sprintf('closed after about two intervals (%.1fs)', $closed_at // -1));
    like(mb_error_log(), qr/no answer to ping/, 'logged');
    ok($live_pings >= 2, "the answering client was pinged too ($live_pings)");
    $live->send_ping('still');
    my $pf = $live->read_frame(2);
    $pf = $live->read_frame(2) while $pf && !$pf->{eof} && $pf->{opcode} == 9;
    ok($pf && ($pf->{opcode} // 0) == 10 && $pf->{payload} eq 'still',
       'a client answering pings stays');
    $live->close;
}

# ------------------------------------------------- the session ends

{
    my $own = mb_login('ws_technician', $PW);
    my $gone = connect_ws(path => '/ws-recheck', query_token => $own);
    my $stays = connect_ws(path => '/ws-recheck', token => $tech);
    ok($gone->ok && $stays->ok, 'two sockets with session checks');
    is(($gone->subscribe(uuid()) || {})->{event}, 'subscribed',
       'subscribed before the logout');
    sleep 1.2;                                  # a few checks pass
    ok(!$gone->closed_tcp(0.1), 'a valid session keeps its socket');
    is(mb_http('POST', '/api/auth/logout',
               { Authorization => "Bearer $own" })->{status}, 200, 'logout');
    my $e = $gone->read_json(timeout => 3,
                             until => sub { ($_[0]{event} // '') eq 'error' });
    is($e && $e->{error}, 'session_ended', 'logged out: told so');
    my $cf = $gone->wait_close(3);
    is($cf && $cf->{close_code}, 1008, 'logged out: closed with 1008');
    $stays->send_ping('ok');
    my $pf = $stays->read_frame(2);
    ok($pf && ($pf->{opcode} // 0) == 10, 'the other session stays');
    $stays->close;
}

# --------------------------------------------------------------- reload

{
    my $w = connect_ws(token => $tech);
    my $id = uuid();
    $w->subscribe($id);
    kill 'HUP', $t::MikroBill::Helper{pid};
    my $cf = $w->wait_close(10);
    is($cf && $cf->{close_code}, 1001,
       'reload: the old worker says it is going away (1001)');
    ok($w->closed_tcp(10), 'reload: the old worker closes its WebSockets');
    my $w2;
    for (1 .. 50) {
        $w2 = connect_ws(token => $tech);
        last if $w2->ok;
        sleep 0.1;
    }
    is_deeply($w2->subscribe($id), { event => 'subscribed', channel => $id },
              'reload: the new worker serves subscriptions');
    mb_redis('PUBLISH', "mikrobill:traffic:$id", '{"n":9}');
    my $r = $w2->read_json;
    is($r && $r->{n}, 9, 'reload: messages arrive');
    $w2->close;
}

# --------------------------------------------------------- Redis restart

SKIP: {
    skip 'MIKROBILL_REDIS_CONF is not set', 6 unless $ENV{MIKROBILL_REDIS_CONF};
    my $w = connect_ws(token => $tech);
    my $id = uuid();
    is_deeply($w->subscribe($id), { event => 'subscribed', channel => $id },
              'subscribed before the restart');
    mb_redis_stop();
    sleep 0.3;
    my $e = $w->subscribe(uuid());
    is($e && $e->{error}, 'unavailable', 'Redis down: subscribe answered unavailable');
    mb_redis_start();
    my $back = 0;
    for (1 .. 100) {
        if (numsub("mikrobill:traffic:$id") == 1) { $back = 1; last }
        sleep 0.1;
    }
    ok($back, 'Redis back: subscribed again by itself');
    mb_redis('PUBLISH', "mikrobill:traffic:$id", '{"n":10}');
    my $r = $w->read_json(until => sub { ($_[0]{n} // 0) == 10 });
    is($r && $r->{n}, 10, 'Redis back: messages arrive on the old subscription');
    my $id2 = uuid();
    is_deeply($w->subscribe($id2), { event => 'subscribed', channel => $id2 },
              'Redis back: new subscriptions work');
    mb_redis('PUBLISH', 'mikrobill:events:sync', '{"event":"sync","router":"r3"}');
    $r = $w->read_json(until => sub { ($_[0]{event} // '') eq 'sync' });
    is($r && $r->{router}, 'r3', 'Redis back: sync events again');
    $w->close;
}

# ------------------------------------------------------ Redis not answering

SKIP: {
    my ($pid) = join("\n", mb_redis('INFO', 'server')) =~ /process_id:(\d+)/;
    skip 'no Redis pid', 4 unless $pid;
    my $w = connect_ws(token => $tech);
    my $id = uuid();
    $w->subscribe($id);
    kill 'STOP', $pid;
    my $t0 = time;
    my $e = $w->subscribe(uuid(), 8);
    my $took = time - $t0;
    kill 'CONT', $pid;
    is($e && $e->{error}, 'unavailable', 'Redis silent: the subscribe is answered unavailable');
    ok($took >= 1.5 && $took < 6,
       sprintf('after mikrobill_redis_timeout (%.1fs)', $took));
    like(mb_error_log(), qr/confirmed no subscription/, 'logged');
    my $back = 0;
    for (1 .. 100) {
        if (numsub("mikrobill:traffic:$id") == 1) { $back = 1; last }
        sleep 0.1;
    }
    ok($back, 'Redis answering again: the old subscription is back');
    $w->close;
}

$ws = connect_ws(token => $adm);
$ws->close;
mb_stop_nginx();
reset_state();
done_testing();
