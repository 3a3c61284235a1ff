package t::RosSim;

# Helpers for tests that need mikrobill-ros-sim (docs/simulator.md):
# start it on free loopback ports, drive its control interface, and speak
# the RouterOS API wire format from Perl (raw words, both login styles).
#
#   use lib '.'; use t::RosSim;
#   my $sim = t::RosSim->start(version => '7.12', users => ['admin:pw']);
#   $sim->ctl('login budi');                   # "OK *81000001"
#   my $api = $sim->api;                       # t::RosSim::Api, not logged in
#   $api->login('admin', 'pw');                # plain or MD5 challenge
#   my @r = $api->cmd('/ppp/active/print');    # [ '!re', '=name=budi', ...]
#   $sim->stop;

use strict;
use warnings;

use Digest::MD5 qw(md5);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our @RUNNING;

END { kill 'KILL', map { $_->{pid} } grep { $_->{pid} } @RUNNING }

sub binary {
    return $ENV{SIM} if $ENV{SIM} && -x $ENV{SIM};
    my $build = $ENV{MIKROBILL_BUILD}
        || ($ENV{MIKROBILL_SAN} ? 'build/san' : 'build/release');
    return "$build/mikrobill-ros-sim";
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
        or die "no free port: $!\n";
    return $s->sockport;
}

# start(version => '7.12', users => ['admin:pw'], args => [...], tls => 1)
sub start {
    my ($class, %o) = @_;
    my $dir = $ENV{MIKROBILL_TEST_DIR} || tempdir(CLEANUP => 1);
    my $self = bless {
        port => free_port(), control => free_port(), dir => $dir,
        log => "$dir/ros-sim-$$-" . scalar(@RUNNING) . ".log",
    }, $class;
    my @args = ('--listen', "127.0.0.1:$self->{port}",
                '--control', "127.0.0.1:$self->{control}",
                '--ros-version', $o{version} // '7.12',
                map({ ('--user', $_) } @{ $o{users} // ['admin:secret'] }),
                @{ $o{args} // [] });
    if ($o{tls}) {
        $self->{tls_port} = free_port();
        push @args, '--tls-listen', "127.0.0.1:$self->{tls_port}";
    }
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open(STDOUT, '>>', $self->{log});
        open(STDERR, '>>', $self->{log});
        exec(binary(), @args) or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    push @RUNNING, $self;
    my $end = time + ($ENV{MIKROBILL_SAN} ? 20 : 10);
    while (time < $end) {
        my $r = eval { $self->ctl('ping') };
        return $self if defined $r && $r eq 'OK pong';
        last if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    delete $self->{pid};
    die "simulator did not start:\n" . $self->log_text;
}

sub log_text {
    my ($self) = @_;
    open(my $fh, '<', $self->{log}) or return '';
    local $/;
    return <$fh> // '';
}

sub alive {
    my ($self) = @_;
    return $self->{pid} && waitpid($self->{pid}, WNOHANG) == 0;
}

# SIGTERM, then the exit status (0 = clean, including sanitizer checks)
sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return undef;
    close $self->{ctl} if $self->{ctl};
    delete $self->{ctl};
    kill 'TERM', $pid;
    my $end = time + 10;
    while (time < $end) {
        return $? if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    return -1;
}

# one control command, its one answer line ("OK ..." / "ERR ...")
sub ctl {
    my ($self, $line) = @_;
    $self->{ctl} //= IO::Socket::INET->new(
        PeerAddr => '127.0.0.1', PeerPort => $self->{control}, Timeout => 2)
        or die "control connect: $!\n";
    my $s = $self->{ctl};
    print $s "$line\n";
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $end = time + 30;
    while ($buf !~ /\n/ && time < $end) {
        $sel->can_read(0.5) or next;
        my $n = sysread($s, $buf, 4096, length $buf);
        last unless $n;
    }
    delete $self->{ctl} unless $buf =~ /\n/;
    $buf =~ s/\r?\n.*//s;
    return $buf;
}

sub api {
    my ($self, %o) = @_;
    return t::RosSim::Api->connect($self->{port}, %o);
}


package t::RosSim::Api;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);
use Digest::MD5 qw(md5);

sub connect {
    my ($class, $port, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 2)
        or die "api connect :$port: $!\n";
    binmode $s;
    return bless { s => $s, buf => '', timeout => $o{timeout} // 5 }, $class;
}

sub enc_len {
    my ($n) = @_;
    return pack('C', $n) if $n < 0x80;
    return pack('n', $n | 0x8000) if $n < 0x4000;
    return substr(pack('N', $n | 0xC00000), 1) if $n < 0x200000;
    return pack('N', $n | 0xE0000000) if $n < 0x10000000;
    return "\xF0" . pack('N', $n);
}

sub encode {
    my (@words) = @_;
    return join('', map { enc_len(length $_) . $_ } @words) . "\0";
}

sub send_raw {
    my ($self, $bytes) = @_;
    my $s = $self->{s};
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $bytes) {
        my $n = syswrite($s, $bytes, length($bytes) - $off, $off);
        return undef unless defined $n;
        $off += $n;
    }
    return 1;
}

sub send { my ($self, @w) = @_; return $self->send_raw(encode(@w)) }

# at least $n bytes buffered, or undef on timeout / EOF
sub _fill {
    my ($self, $n, $timeout) = @_;
    my $end = time + $timeout;
    my $sel = IO::Select->new($self->{s});
    while (length($self->{buf}) < $n) {
        my $left = $end - time;
        return undef if $left <= 0;
        $sel->can_read($left) or next;
        my $r = sysread($self->{s}, $self->{buf}, 1 << 20, length $self->{buf});
        if (!$r) {
            $self->{eof} = 1;
            return undef;
        }
    }
    return 1;
}

sub _take {
    my ($self, $n, $timeout) = @_;
    $self->_fill($n, $timeout) or return undef;
    return substr($self->{buf}, 0, $n, '');
}

sub _word {
    my ($self, $timeout) = @_;
    my $b = $self->_take(1, $timeout) // return undef;
    my $c = ord $b;
    my $len;
    my $more = sub { $self->_take($_[0], $timeout) };
    if ($c < 0x80) {
        $len = $c;
    } elsif ($c < 0xC0) {
        my $b1 = $more->(1) // return undef;
        $len = (($c & 0x3F) << 8) + ord $b1;
    } elsif ($c < 0xE0) {
        my $b2 = $more->(2) // return undef;
        $len = (($c & 0x1F) << 16) + unpack('n', $b2);
    } elsif ($c < 0xF0) {
        my $b3 = $more->(3) // return undef;
        $len = (($c & 0x0F) << 24) + unpack('N', "\0$b3");
    } elsif ($c == 0xF0) {
        my $b4 = $more->(4) // return undef;
        $len = unpack('N', $b4);
    } else {
        die sprintf("control byte 0x%02X from the simulator\n", $c);
    }
    return '' if $len == 0;
    return $self->_take($len, $timeout);
}

# one sentence as an array ref of words, undef on timeout or EOF
sub read_sentence {
    my ($self, $timeout) = @_;
    $timeout //= $self->{timeout};
    my @w;
    while (1) {
        my $w = $self->_word($timeout);
        return undef unless defined $w;
        last if $w eq '' && @w;
        next if $w eq '';
        push @w, $w;
    }
    return \@w;
}

# sentences up to and including the !done (or !fatal)
sub replies {
    my ($self, $timeout) = @_;
    my @r;
    while (my $s = $self->read_sentence($timeout)) {
        push @r, $s;
        last if $s->[0] eq '!done' || $s->[0] eq '!fatal';
    }
    return @r;
}

sub cmd {
    my ($self, @words) = @_;
    $self->send(@words) or return;
    return $self->replies;
}

# "=name=value" words of a sentence as a hash
sub attrs {
    my ($s) = @_;
    my %h;
    for my $w (@$s[1 .. $#$s]) {
        $h{$1} = $2 if $w =~ /^=([^=]+)=(.*)\z/s;
        $h{".tag"} = $1 if $w =~ /^\.tag=(.*)\z/s;
    }
    return \%h;
}

sub trap_message {
    my (@r) = @_;
    for my $s (@r) {
        return attrs($s)->{message} if $s->[0] eq '!trap';
    }
    return undef;
}

# plain login; with an MD5 step when !done carries =ret= (RouterOS < 6.43)
sub login {
    my ($self, $user, $pass) = @_;
    my @r = $self->cmd('/login', "=name=$user", "=password=$pass");
    return (0, trap_message(@r)) if trap_message(@r);
    my $ret = @r ? attrs($r[-1])->{ret} : undef;
    return (1) unless defined $ret;
    my $resp = '00' . unpack('H*', md5("\0" . $pass . pack('H*', $ret)));
    @r = $self->cmd('/login', "=name=$user", "=response=$resp");
    my $m = trap_message(@r);
    return $m ? (0, $m) : (1);
}

sub close { my ($self) = @_; close $self->{s} }

1;
