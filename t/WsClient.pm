package t::WsClient;

# A small RFC 6455 client for the tests of /ws (docs/monitor.md).
# Debian perl only: IO::Socket::INET, Digest::SHA, MIME::Base64, JSON::PP.
#
#   use t::WsClient;
#
#   my $ws = t::WsClient->connect(
#       port    => $port,             # default: the mb_start_nginx port,
#                                     #   else $TEST_NGINX_SERVER_PORT
#       path    => '/ws',             # default '/ws'
#       token   => $token,            # "Authorization: Bearer $token"
#       query_token => $token,        # appended as ?token=$token
#       cookie  => $token,            # "Cookie: mb_session=$token"
#       origin  => 'http://x',        # Origin header (none by default)
#       key     => $base64,           # Sec-WebSocket-Key (default random)
#       version => 13,                # Sec-WebSocket-Version (undef: none)
#       method  => 'GET',
#       headers => { Name => 'v' },   # more headers; a value of undef
#                                     #   removes a default header
#       timeout => 5,
#       after   => $bytes,            # sent in the same write as the
#                                     #   handshake (e.g. t::WsClient::frame)
#   );
#   Always returns an object (dies only when it cannot connect):
#   $ws->status      HTTP status of the handshake ('' when none arrived)
#   $ws->ok          true when the status is 101
#   $ws->header($n)  a response header (name case-insensitive)
#   $ws->body        the response body of a refused handshake
#   $ws->json        that body decoded (undef when not JSON)
#   $ws->key         the Sec-WebSocket-Key sent
#   t::WsClient::accept_key($key)  the expected Sec-WebSocket-Accept
#
#   Sending (after a 101):
#   $ws->send_frame(opcode => 1, payload => '', mask => 1, fin => 1,
#                   rsv => 0, len => 'auto'|7|16|64)  one frame; len forces
#                   the length encoding; returns false when the write failed
#   $ws->send_text($s) / $ws->send_json($ref) / $ws->send_binary($s)
#   $ws->send_ping($payload) / $ws->send_pong($payload)
#   $ws->send_close($code, $reason)     (no code: empty close payload)
#   $ws->send_fragments($opcode, @parts)  first frame $opcode, then
#                   continuation frames, FIN on the last
#   $ws->send_raw($bytes)
#   t::WsClient::frame(%same_as_send_frame)  the bytes of a frame
#
#   Reading:
#   $ws->read_frame($timeout)   next frame as a hash: {opcode, fin, rsv,
#                   masked, payload, close_code, close_reason} (close_code
#                   for opcode 8); undef on timeout; {eof => 1} when the
#                   server closed the TCP connection
#   $ws->read_json(timeout => 5, until => sub { $_[0]{event} eq 'x' },
#                  pong => 1)
#                   next text message decoded (messages queued by
#                   subscribe() first); with until, skips others until one
#                   matches; answers pings when pong (default 1); undef on
#                   timeout, close or EOF ($ws->{closed} then holds the
#                   close frame hash or {eof => 1})
#   $ws->read_all_json($secs)   every text message arriving within $secs
#   $ws->subscribe($channel, $timeout)  sends {"subscribe":$channel} and
#                   waits for {"event":"subscribed","channel":$channel};
#                   returns that ack, or the error event, or undef; other
#                   messages meanwhile are queued for read_json
#   $ws->unsubscribe($channel, $timeout)  the same for "unsubscribed"
#   $ws->wait_close($timeout)   reads until a close frame (returned) or EOF
#                   ({eof => 1}) or timeout (undef), skipping data frames
#   $ws->closed_tcp($timeout)   true when the server closes the TCP
#                   connection within $timeout (frames are skipped)
#   $ws->close                  drops the TCP connection

use strict;
use warnings;

use Digest::SHA qw(sha1);
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time);

my $GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
my $JSON = JSON::PP->new->canonical;

sub accept_key {
    my ($key) = @_;
    return encode_base64(sha1($key . $GUID), '');
}

sub _port {
    no warnings 'once';
    return $t::MikroBill::Helper{pid} ? $t::MikroBill::Helper{port}
                                      : $ENV{TEST_NGINX_SERVER_PORT};
}

sub connect {
    my ($class, %o) = @_;
    my $port = $o{port} // _port();
    my $timeout = $o{timeout} // 5;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Proto => 'tcp',
                                     Timeout => $timeout)
        or die "t::WsClient: connect to 127.0.0.1:$port: $!\n";
    binmode $sock;
    my $self = bless { sock => $sock, buf => '', queue => [],
                       status => '', headers => {}, body => '' }, $class;

    my $key = $o{key} // encode_base64(join('', map { chr int rand 256 } 1 .. 16), '');
    $self->{key} = $key;
    my $path = $o{path} // '/ws';
    if (defined $o{query_token}) {
        $path .= ($path =~ /\?/ ? '&' : '?') . "token=$o{query_token}";
    }
    my @h = (
        [Host => 'localhost'],
        [Upgrade => 'websocket'],
        [Connection => 'Upgrade'],
        ['Sec-WebSocket-Key' => $key],
    );
    my $ver = exists $o{version} ? $o{version} : 13;
    push @h, ['Sec-WebSocket-Version' => $ver] if defined $ver;
    push @h, [Authorization => "Bearer $o{token}"] if defined $o{token};
    push @h, [Cookie => "mb_session=$o{cookie}"] if defined $o{cookie};
    push @h, [Origin => $o{origin}] if defined $o{origin};
    for my $name (sort keys %{ $o{headers} || {} }) {
        @h = grep { lc $_->[0] ne lc $name } @h;
        push @h, [$name => $o{headers}{$name}] if defined $o{headers}{$name};
    }
    my $req = ($o{method} // 'GET') . " $path HTTP/1.1\r\n"
        . join('', map { "$_->[0]: $_->[1]\r\n" } @h) . "\r\n";
    $self->send_raw($req . ($o{after} // ''));
    $self->_read_handshake($timeout);
    return $self;
}

sub _fill {
    my ($self, $deadline) = @_;
    my $left = $deadline - time;
    return 0 if $left <= 0;
    my $sel = IO::Select->new($self->{sock});
    return 0 unless $sel->can_read($left);
    my $n = sysread($self->{sock}, my $chunk, 65536);
    if (!$n) {
        $self->{eof} = 1;
        return 0;
    }
    $self->{buf} .= $chunk;
    return 1;
}

sub _read_handshake {
    my ($self, $timeout) = @_;
    my $deadline = time + $timeout;
    while ($self->{buf} !~ /\r\n\r\n/) {
        return unless $self->_fill($deadline);
    }
    my ($head, $rest) = split /\r\n\r\n/, $self->{buf}, 2;
    $self->{buf} = $rest;
    my @lines = split /\r\n/, $head;
    my $first = shift @lines;
    ($self->{status}) = $first =~ m{^HTTP/1\.\d (\d{3})};
    $self->{status} //= '';
    for my $l (@lines) {
        my ($k, $v) = split /:\s*/, $l, 2;
        $self->{headers}{lc $k} = $v;
    }
    return if $self->{status} eq '101';
    my $len = $self->{headers}{'content-length'};
    if (defined $len) {
        while (length $self->{buf} < $len) {
            last unless $self->_fill($deadline);
        }
        $self->{body} = substr($self->{buf}, 0, $len);
    } else {
        while ($self->_fill($deadline)) { }
        $self->{body} = $self->{buf};
    }
    $self->{buf} = '';
}

sub status { $_[0]{status} }
sub ok     { $_[0]{status} eq '101' }
sub header { $_[0]{headers}{lc $_[1]} }
sub body   { $_[0]{body} }
sub key    { $_[0]{key} }
sub json   { my $s = shift; eval { JSON::PP->new->decode($s->{body}) } }

sub send_raw {
    my ($self, $bytes) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $bytes) {
        my $n = syswrite($self->{sock}, $bytes, length($bytes) - $off, $off);
        return 0 unless defined $n;
        $off += $n;
    }
    return 1;
}

sub send_frame {
    my ($self, %o) = @_;
    return $self->send_raw(frame(%o));
}

sub frame {
    my (%o) = @_;
    my $payload = $o{payload} // '';
    my $op = $o{opcode} // 1;
    my $fin = exists $o{fin} ? ($o{fin} ? 1 : 0) : 1;
    my $mask = exists $o{mask} ? $o{mask} : 1;
    my $len = length $payload;
    my $enc = $o{len} // 'auto';
    $enc = $len < 126 ? 7 : $len < 65536 ? 16 : 64 if $enc eq 'auto';
    my $b0 = ($fin << 7) | (($o{rsv} // 0) << 4) | ($op & 0x0f);
    my $mbit = $mask ? 0x80 : 0;
    my $frame = chr($b0);
    if ($enc == 7) {
        $frame .= chr($mbit | $len);
    } elsif ($enc == 16) {
        $frame .= chr($mbit | 126) . pack('n', $len);
    } else {
        $frame .= chr($mbit | 127) . pack('NN', int($len / 2**32), $len % 2**32);
    }
    if ($mask) {
        my $m = join '', map { chr int rand 256 } 1 .. 4;
        my $rep = substr($m x (int($len / 4) + 1), 0, $len);
        $frame .= $m . ($payload ^ $rep);
    } else {
        $frame .= $payload;
    }
    return $frame;
}

sub send_text   { $_[0]->send_frame(opcode => 1, payload => $_[1]) }
sub send_binary { $_[0]->send_frame(opcode => 2, payload => $_[1]) }
sub send_json   { $_[0]->send_frame(opcode => 1, payload => $JSON->encode($_[1])) }
sub send_ping   { $_[0]->send_frame(opcode => 9, payload => $_[1] // '') }
sub send_pong   { $_[0]->send_frame(opcode => 10, payload => $_[1] // '') }

sub send_close {
    my ($self, $code, $reason) = @_;
    my $p = defined $code ? pack('n', $code) . ($reason // '') : '';
    return $self->send_frame(opcode => 8, payload => $p);
}

sub send_fragments {
    my ($self, $op, @parts) = @_;
    for my $i (0 .. $#parts) {
        $self->send_frame(opcode => $i == 0 ? $op : 0, payload => $parts[$i],
                          fin => $i == $#parts) or return 0;
    }
    return 1;
}

# one frame from the buffer, or undef when it is not complete yet
sub _parse_frame {
    my ($self) = @_;
    my $b = $self->{buf};
    return undef if length $b < 2;
    my ($b0, $b1) = unpack('CC', $b);
    my $len = $b1 & 0x7f;
    my $off = 2;
    if ($len == 126) {
        return undef if length $b < 4;
        $len = unpack('n', substr($b, 2, 2));
        $off = 4;
    } elsif ($len == 127) {
        return undef if length $b < 10;
        my ($hi, $lo) = unpack('NN', substr($b, 2, 8));
        $len = $hi * 2**32 + $lo;
        $off = 10;
    }
    my $masked = $b1 & 0x80;
    my $m;
    if ($masked) {
        return undef if length $b < $off + 4;
        $m = substr($b, $off, 4);
        $off += 4;
    }
    return undef if length $b < $off + $len;
    my $payload = substr($b, $off, $len);
    if ($masked) {
        $payload ^= substr($m x (int($len / 4) + 1), 0, $len);
    }
    substr($self->{buf}, 0, $off + $len, '');
    my %f = (opcode => $b0 & 0x0f, fin => ($b0 >> 7) & 1,
             rsv => ($b0 >> 4) & 7, masked => $masked ? 1 : 0,
             payload => $payload);
    if ($f{opcode} == 8 && $len >= 2) {
        $f{close_code} = unpack('n', substr($payload, 0, 2));
        $f{close_reason} = substr($payload, 2);
    }
    return \%f;
}

sub read_frame {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (1) {
        my $f = $self->_parse_frame;
        return $f if $f;
        return { eof => 1 } if $self->{eof};
        next if $self->_fill($deadline);
        return { eof => 1 } if $self->{eof};
        return undef;
    }
}

# the next text message (reassembling fragments), handling control frames
sub _next_text {
    my ($self, $deadline, $pong) = @_;
    my $msg;
    while (1) {
        my $f = $self->read_frame($deadline - time);
        return undef unless $f;
        if ($f->{eof} || $f->{opcode} == 8) {
            $self->{closed} = $f;
            return undef;
        }
        if ($f->{opcode} == 9) {
            $self->send_pong($f->{payload}) if $pong;
            next;
        }
        next if $f->{opcode} == 10;
        $msg = ($f->{opcode} == 0 ? ($msg // '') : '') . $f->{payload};
        return $msg if $f->{fin};
    }
}

sub read_json {
    my ($self, %o) = @_;
    my $until = $o{until};
    my $pong = $o{pong} // 1;
    while (@{ $self->{queue} }) {
        my $m = shift @{ $self->{queue} };
        return $m if !$until || $until->($m);
    }
    my $deadline = time + ($o{timeout} // 5);
    while (1) {
        my $text = $self->_next_text($deadline, $pong);
        return undef unless defined $text;
        my $m = eval { JSON::PP->new->decode($text) };
        next unless ref $m;
        return $m if !$until || $until->($m);
    }
}

sub read_all_json {
    my ($self, $secs) = @_;
    my @all = @{ $self->{queue} };
    $self->{queue} = [];
    my $deadline = time + $secs;
    while (time < $deadline) {
        my $text = $self->_next_text($deadline, 1);
        last unless defined $text;
        my $m = eval { JSON::PP->new->decode($text) };
        push @all, $m if ref $m;
    }
    return @all;
}

sub _request_ack {
    my ($self, $verb, $event, $channel, $timeout) = @_;
    $self->send_json({ $verb => $channel }) or return undef;
    my $deadline = time + ($timeout // 5);
    while (1) {
        my $text = $self->_next_text($deadline, 1);
        return undef unless defined $text;
        my $m = eval { JSON::PP->new->decode($text) };
        next unless ref $m;
        my $ev = $m->{event} // '';
        return $m if ($ev eq $event && lc($m->{channel} // '') eq lc $channel)
            || $ev eq 'error';
        push @{ $self->{queue} }, $m;
    }
}

sub subscribe {
    my ($self, $channel, $timeout) = @_;
    return $self->_request_ack('subscribe', 'subscribed', $channel, $timeout);
}

sub unsubscribe {
    my ($self, $channel, $timeout) = @_;
    return $self->_request_ack('unsubscribe', 'unsubscribed', $channel,
                               $timeout);
}

sub wait_close {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (1) {
        my $f = $self->read_frame($deadline - time);
        return undef unless $f;
        return $f if $f->{eof} || $f->{opcode} == 8;
    }
}

sub closed_tcp {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // 5);
    while (1) {
        my $f = $self->read_frame($deadline - time);
        return 0 unless $f;
        return 1 if $f->{eof};
    }
}

sub close {
    my ($self) = @_;
    close $self->{sock} if $self->{sock};
    delete $self->{sock};
}

1;
