# The /ws upgrade as raw requests (Test::Nginx blocks): the accept key of
# RFC 6455's own example, the credentials (Bearer, cookie, ?token=) checked
# before the 101, the refusals as JSON, and frames written right behind the
# handshake (ping, close, an unmasked frame, an oversized message) with
# the server's frames read back after the 101.  The session is made here
# with a known token, so the blocks can name it.
use lib '.';
use t::MikroBill;
use Digest::SHA qw(sha256_hex);

our $TOKEN = 'hRyMh3KeQ2-cuRLqixKXSn2TY3_U3dxZpjOqeI9nA_2';
our $KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

mb_delete_users("username = 'wsh_admin'");
mb_create_user('wsh_admin', 'Rahasia-123', 'ADMIN') == 0
    or die "cannot create wsh_admin";
mb_psql("INSERT INTO sessions (token_hash, user_id, csrf_hash, expires_at)"
        . " SELECT ?, id, ?, now() + interval '1 hour' FROM users"
        . " WHERE username = 'wsh_admin'", sha256_hex($TOKEN), sha256_hex('c'));

# a masked frame (mask key 0: the payload is sent as is)
sub frame {
    my ($op, $payload, $masked) = @_;
    $masked //= 1;
    return chr(0x80 | $op) . chr(($masked ? 0x80 : 0) | length $payload)
        . ($masked ? "\0\0\0\0" : '') . $payload;
}

# the upgrade request with $extra header lines, then $frames
sub upgrade {
    my ($extra, $frames, $path) = @_;
    return "GET " . ($path // '/ws') . " HTTP/1.1\r\nHost: localhost\r\n"
        . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        . "Sec-WebSocket-Version: 13\r\n" . ($extra // '') . "\r\n"
        . ($frames // '');
}

# the same for an upgrade that is refused: the answer ends the connection
sub refused {
    my $r = upgrade(@_);
    $r =~ s/Connection: Upgrade/Connection: Upgrade, close/;
    return $r;
}

our $CLOSE = frame(8, "\x03\xe8");

my ($main, $http, $config) = mb_default_config();
$config .= <<'EOC';
        location = /ws {
            mikrobill_websocket;
            mikrobill_ws_max_message 16;
        }
EOC
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(config => $config) unless defined $block->config;
});
mb_use_defaults();
run_tests();
done_testing() unless Test::More->builder->has_plan;


__DATA__

=== TEST 1: the handshake: RFC 6455's example key, then a close echoed
--- raw_request eval
main::upgrade("Sec-WebSocket-Key: $main::KEY\r\nAuthorization: Bearer $main::TOKEN\r\n", $main::CLOSE)
--- error_code: 101
--- response_headers
Upgrade: websocket
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
--- response_body eval
"\x88\x02\x03\xe8"



=== TEST 2: the token as a query parameter (browsers cannot set headers)
--- raw_request eval
main::upgrade("Sec-WebSocket-Key: $main::KEY\r\n", $main::CLOSE, "/ws?token=$main::TOKEN")
--- error_code: 101
--- response_headers
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=



=== TEST 3: the session cookie
--- raw_request eval
main::upgrade("Sec-WebSocket-Key: $main::KEY\r\nCookie: mb_session=$main::TOKEN\r\n", $main::CLOSE)
--- error_code: 101



=== TEST 4: a ping is answered with its payload, before the close
--- raw_request eval
main::upgrade("Sec-WebSocket-Key: $main::KEY\r\nAuthorization: Bearer $main::TOKEN\r\n",
              main::frame(9, "hai") . $main::CLOSE)
--- error_code: 101
--- response_body eval
"\x8a\x03hai\x88\x02\x03\xe8"



=== TEST 5: an unmasked client frame closes with 1002
--- raw_request eval
main::upgrade("Sec-WebSocket-Key: $main::KEY\r\nAuthorization: Bearer $main::TOKEN\r\n",
              main::frame(1, '{}', 0))
--- error_code: 101
--- response_body eval
"\x88\x02\x03\xea"



=== TEST 6: a message over mikrobill_ws_max_message closes with 1009
--- raw_request eval
main::upgrade("Sec-WebSocket-Key: $main::KEY\r\nAuthorization: Bearer $main::TOKEN\r\n",
              main::frame(1, 'x' x 17))
--- error_code: 101
--- response_body eval
"\x88\x02\x03\xf1"



=== TEST 7: no credentials: 401 before any upgrade
--- raw_request eval
main::refused("Sec-WebSocket-Key: $main::KEY\r\n")
--- error_code: 401
--- response_headers
Upgrade:
Sec-WebSocket-Accept:
--- response_body_like chomp
^\{"error":"unauthorized","message":



=== TEST 8: a token that is no session: 401
--- raw_request eval
main::refused("Sec-WebSocket-Key: $main::KEY\r\n", '', '/ws?token=' . ('x' x 43))
--- error_code: 401



=== TEST 9: another protocol version: 400 naming ours
--- raw_request eval
my $r = main::refused("Sec-WebSocket-Key: $main::KEY\r\nAuthorization: Bearer $main::TOKEN\r\n");
$r =~ s/Version: 13/Version: 8/;
$r
--- error_code: 400
--- response_headers
Sec-WebSocket-Version: 13



=== TEST 10: no Sec-WebSocket-Key: 400
--- raw_request eval
main::refused("Authorization: Bearer $main::TOKEN\r\n")
--- error_code: 400
--- response_body_like chomp
^\{"error":"bad_request"



=== TEST 11: a foreign Origin: 403
--- raw_request eval
main::refused("Sec-WebSocket-Key: $main::KEY\r\nAuthorization: Bearer $main::TOKEN\r\nOrigin: http://evil.example\r\n")
--- error_code: 403
--- response_body_like chomp
^\{"error":"forbidden"



=== TEST 12: the site's own Origin is welcome
--- raw_request eval
main::upgrade("Sec-WebSocket-Key: $main::KEY\r\nAuthorization: Bearer $main::TOKEN\r\nOrigin: http://localhost\r\n", $main::CLOSE)
--- error_code: 101
