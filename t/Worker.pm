package t::Worker;

# Helpers for tests that run mikrobill-worker (and mikrobill-ros-sim) on
# the servers of `make test`: redis-cli, polling, child processes killed
# if the test dies half-way, worker config files, the command stream with
# its reply lists, router-add.  Each test names its own files, stream and
# request ids through setup(), so that tests running side by side never
# share a consumer group or a log.
#
#   use lib '.'; use t::Worker;
#   t::Worker::setup(files => 'ros-', id => 'ros', stream => $stream);
#   my $w = start_worker('one', router_lease_ms => 2000);
#   my $r = command('router.test', { router_id => $id });
#   is(stop_pid($w->{pid}), 0, 'worker stopped');

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use JSON::PP qw(decode_json encode_json);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our @EXPORT = qw(needs_env rcli wait_for free_port port_open slurp spawn
                 stop_pid run_worker write_conf start_worker request command
                 add_router start_sim restart_sim ctl stats spawned_logs);

my $dir   = $ENV{MIKROBILL_TEST_DIR};
my $build = $ENV{MIKROBILL_BUILD} || 'build/release';

# files: prefix of config, log and key names; id: prefix of request ids;
# consumer: the consumer name of a worker; conf: config keys of every
# worker; rpass: the simulators' admin password; slow: factor on every wait
# (sanitizer builds are slower); poll: seconds between two tries;
# command_timeout: seconds command() waits for a reply
our %Opt = (
    worker   => $ENV{MIKROBILL_WORKER},
    sim      => $ENV{MIKROBILL_SIM} || "$build/mikrobill-ros-sim",
    rhost    => $ENV{TEST_NGINX_REDIS_HOST} // '127.0.0.1',
    rport    => $ENV{TEST_NGINX_REDIS_PORT},
    files    => '',
    id       => 'req',
    stream   => "mikrobill:test:worker:$$",
    consumer => sub { "t-$_[0]" },
    rpass    => undef,
    conf     => [],
    slow     => 1,
    poll     => 0.1,
    command_timeout => undef,
);

my $seq = 0;
my (%running, @logs);

END {
    kill 'KILL', keys %running;
}

sub setup {
    my (%o) = @_;
    %Opt = (%Opt, %o);
}

# the values of the environment variables @names; skips the whole test,
# naming them, unless every one is set (make test sets them)
sub needs_env {
    my (@names) = @_;
    Test::More::plan(skip_all => 'needs ' . join(', ', @names)
                                 . ' (make test)')
        if grep { !$ENV{$_} } @names;
    return @ENV{@names};
}

sub rcli {
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open(STDERR, '>', '/dev/null');     # "connection refused" while down
        exec('redis-cli', '-h', $Opt{rhost}, '-p', $Opt{rport}, '--raw', @_)
            or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    $out =~ s/\s+\z//;
    return $out;
}

sub wait_for {
    my ($cond, $timeout) = @_;
    my $end = time + $timeout * $Opt{slow};
    while (time < $end) {
        my $v = $cond->();
        return $v if $v;
        sleep $Opt{poll};
    }
    return undef;
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    return $s->sockport;
}

sub port_open {
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                 PeerPort => $_[0], Timeout => 1) ? 1 : 0;
}

sub slurp {
    open(my $fh, '<', $_[0]) or return '';
    local $/;
    return <$fh> // '';
}

# every log spawn() has written to, for the checks at the end of a test
sub spawned_logs { return @logs }

sub spawn {
    my ($log, @cmd) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open(STDIN, '<', '/dev/null');
        open(STDOUT, '>>', $log) or die;
        open(STDERR, '>>', $log) or die;
        exec(@cmd) or die "exec $cmd[0]: $!";
    }
    $running{$pid} = 1;
    push @logs, $log;
    return $pid;
}

# `mikrobill-worker @args`, $stdin (unless undef) on its standard input;
# (exit code, stdout, stderr)
sub run_worker {
    my ($stdin, @args) = @_;
    my $out = "$dir/$Opt{files}run-$$.out";
    my $err = "$dir/$Opt{files}run-$$.err";
    my $pid = open(my $in, '|-') // die "fork: $!";
    if ($pid == 0) {
        open(STDOUT, '>', $out) or die;
        open(STDERR, '>', $err) or die;
        exec($Opt{worker}, @args) or POSIX::_exit(127);
    }
    print $in $stdin if defined $stdin;
    close $in;
    my $rc = $? >> 8;
    return ($rc, slurp($out), slurp($err));
}

# a signal (TERM unless told), then the exit status; -1 after a KILL
sub stop_pid {
    my ($pid, $sig) = @_;
    delete $running{$pid};
    kill $sig || 'TERM', $pid;
    my $status;
    wait_for(sub {
        my $got = waitpid($pid, WNOHANG);
        $status = $? if $got == $pid;
        return $got == $pid;
    }, 15);
    unless (defined $status) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
        return -1;
    }
    return $status;
}

# a config file for the worker $name: the common keys, setup's conf
# (key => value, in file order), then @extra, whose keys win over conf's
sub write_conf {
    my ($name, @extra) = @_;
    my %over = @extra;
    my @conf = @{ $Opt{conf} };
    for (my $i = 0; $i < @conf; $i += 2) {
        $conf[$i + 1] = delete $over{$conf[$i]} if exists $over{$conf[$i]};
    }
    push @conf, map { exists $over{$_} ? ($_, $over{$_}) : () }
        @extra[grep { $_ % 2 == 0 } 0 .. $#extra];
    my $file = "$dir/$Opt{files}worker-$name-$$.conf";
    open(my $fh, '>', $file) or die "$file: $!";
    print $fh "pg_conninfo = $ENV{TEST_NGINX_PG_CONNINFO}\n",
        "redis_host = $Opt{rhost}\nredis_port = $Opt{rport}\n",
        "stream = $Opt{stream}\n",
        "consumer_name = ", $Opt{consumer}->($name), "\n",
        "log_level = debug\n";
    while (my ($k, $v) = splice(@conf, 0, 2)) {
        print $fh "$k = $v\n";
    }
    close $fh;
    return $file;
}

# `mikrobill-worker run` on write_conf($name, @extra)
sub start_worker {
    my ($name, @extra) = @_;
    my $log = "$dir/$Opt{files}worker-$name-$$.log";
    my $pid = spawn($log, $Opt{worker}, 'run', '-c',
                    write_conf($name, @extra));
    return { pid => $pid, log => $log, name => $Opt{consumer}->($name) };
}

# adds a command with @fields to the stream, waits up to $timeout s for
# its reply (decoded) or undef
sub request {
    my ($type, $timeout, @fields) = @_;
    my $id = "$Opt{id}-$$-" . ++$seq;
    my $key = "mikrobill:test:reply:$id";
    rcli('XADD', $Opt{stream}, '*', 'type', $type, 'id', $id,
         'reply_to', $key, @fields);
    my (undef, $json) = split /\n/, rcli('BLPOP', $key, $timeout), 2;
    return $json && $json =~ /^\{/ ? decode_json($json) : undef;
}

# request() with a JSON payload (none when undef)
sub command {
    my ($type, $payload, $timeout) = @_;
    $timeout ||= $Opt{command_timeout} || 15 * $Opt{slow};
    return request($type, $timeout,
                   defined $payload ? ('payload', encode_json($payload))
                                    : ());
}

# router-add with the worker config "cli"; the new router's id or undef
sub add_router {
    my ($name, $s, %o) = @_;
    local $ENV{MIKROBILL_ROUTER_PASSWORD} = $o{password} // $Opt{rpass};
    my $cmd = "$Opt{worker} router-add -c " . write_conf('cli')
        . " --name $name --host 127.0.0.1 --port $s->{port} --username admin"
        . join('', map { " $_" } @{ $o{args} || [] }) . " 2>&1";
    my $out = `$cmd`;
    my ($id) = $out =~ /id ([0-9a-f-]{36})/;
    return $id;
}

# a simulator with the user admin:rpass: { pid, port, ctl, log, args }
sub start_sim {
    my ($name, %o) = @_;
    my $s = { port => $o{port} || free_port(), ctl => $o{ctl} || free_port(),
              log => "$dir/$Opt{files}sim-$name-$$.log", name => $name };
    my @args = ('--control', "127.0.0.1:$s->{ctl}",
                '--user', "admin:$Opt{rpass}", '--identity', "sim-$name",
                @{ $o{args} || [] });
    push @args, $o{tls} ? ('--tls-listen', "127.0.0.1:$s->{port}")
                        : ('--listen', "127.0.0.1:$s->{port}");
    $s->{args} = \@args;
    $s->{pid} = spawn($s->{log}, $Opt{sim}, @args);
    wait_for(sub { port_open($s->{port}) && port_open($s->{ctl}) }, 10)
        or Test::More::BAIL_OUT("simulator $name did not start: "
                                . slurp($s->{log}));
    return $s;
}

sub restart_sim {
    my ($s) = @_;
    $s->{pid} = spawn($s->{log}, $Opt{sim}, @{ $s->{args} });
    wait_for(sub { port_open($s->{port}) && port_open($s->{ctl}) }, 10)
        or Test::More::BAIL_OUT("simulator $s->{name} did not restart");
}

# one control line to a simulator, its answer line
sub ctl {
    my ($s, $line) = @_;
    my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $s->{ctl}, Timeout => 5)
        or return "ERR connect: $!";
    print $c "$line\n";
    my $answer = <$c> // '';
    close $c;
    $answer =~ s/\s+\z//;
    return $answer;
}

sub stats {
    my ($s) = @_;
    my %st = ctl($s, 'stats') =~ /([a-z-]+)=(\d+)/g;
    return \%st;
}

1;
