package t::MikroBill;

# Test harness for MikroBill: `use t::MikroBill;` in every t/*.t file
# (run with `prove -I. -r t/`, which `make test` does).
#
# When the real Test::Nginx::Socket (openresty/test-nginx) is installed it is
# used, so every .t file stays valid for it.  Otherwise (Debian has no
# package; CPAN is not reachable here) a small runner below, built on
# Debian's Test::Base, reads the same block format:
#
#   === TEST 1: name
#   --- main_config / --- http_config / --- config      (nginx.conf pieces)
#   --- init             Perl code run before this block's nginx starts
#   --- request          "METHOD /uri [HTTP/1.x]" then the body; `eval` may
#                        give an array: several requests in sequence, one
#                        nginx, each check section then an array as well
#   --- more_headers     "Name: value" lines
#   --- raw_request      sent as is
#   --- error_code, error_code_like, response_headers ("Name: value", "!Name"
#       for absent), response_headers_like, response_body, response_body_like,
#       response_body_unlike, error_log, no_error_log, timeout,
#       skip_nginx ("N: < 1.21"), skip_eval ("N: perl expr")
#
# Functions: plan, run_tests, repeat_each, no_shuffle, add_block_preprocessor,
# blocks, log_level, master_on, master_off, workers, env_to_nginx,
# no_long_string, no_root_location, plus Test::More's.
#
# $TEST_NGINX_* variables are expanded in the config sections, request,
# more_headers and raw_request (the real Test::Nginx expands them in the
# config sections only: in requests, `--- request eval` with $ENV{...} is
# the portable spelling).
#
# Test counts follow Test::Nginx so that `plan tests => ...` agrees with both:
# per request 1 (status) + 1 per response_headers line + 1 for a body check,
# and per request 1 per error_log / no_error_log pattern.  Beyond
# Test::Nginx, a block also FAILS when its error.log shows "[alert]",
# "[emerg]", "AddressSanitizer" or "runtime error:" (only failures are
# emitted, so the counts do not change when all is well).
#
# Helpers for flows that blocks cannot express, in both modes (they run their
# own nginx on a fresh free port, so they never meet the block runner's):
#   mb_start_nginx($main_config, $http_config, $config, %opts) -> port
#       opts: no_root_location => 1 (the config has its own `location /`)
#   mb_stop_nginx()
#   mb_http($method, $path, \%headers, $body) -> {status, headers (lower-
#       case names), set_cookies [..], body, json (decoded or undef)};
#       a ref $body is sent as JSON
#   mb_psql($sql, @params)   `?` placeholders become quoted literals;
#       list context: rows (array refs), scalar: first column of first row
#   mb_delete_users($where, @params)  test cleanup: DELETE FROM users WHERE
#       $where, with the last-SUPERADMIN guard (sql/005) off meanwhile
#   mb_redis(@args)          redis-cli; list context: output lines
#   mb_redis_stop(), mb_redis_start(), mb_pg_stop(), mb_pg_start()
#   mb_create_user($username, $password, $role) -> create-admin exit status
#   mb_login($username, $password) -> token (list: token, response)
#   mb_default_config() -> ($main_config, $http_config, $config)
#   mb_use_defaults()        fills blocks' missing config sections with those
#   mb_error_log()           text of the helper nginx's error.log

use strict;
use warnings;

use Cwd qw(getcwd);
use File::Path qw(make_path remove_tree);
use File::Spec;
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

our $REAL;
BEGIN {
    $REAL = (!$ENV{MIKROBILL_OWN_HARNESS}
             && eval { require Test::Nginx::Socket; 1 }) ? 1 : 0;
}

our @HELPERS = qw(
    mb_start_nginx mb_stop_nginx mb_http mb_psql mb_delete_users mb_redis
    mb_redis_stop mb_redis_start mb_pg_stop mb_pg_start
    mb_create_user mb_login mb_default_config mb_use_defaults mb_error_log
    mb_secret_key_file
);

our @RUNNER = qw(
    plan run_tests repeat_each no_shuffle add_block_preprocessor blocks
    log_level master_on master_off workers env_to_nginx no_long_string
    no_root_location
);

sub import {
    my $class = shift;
    my $caller = caller;
    no strict 'refs';
    no warnings 'redefine';
    *{"${caller}::$_"} = \&{"t::MikroBill::$_"} for @HELPERS;
    if ($REAL) {
        # Test::Base's import exports to its caller: keep the .t file there
        @_ = ('Test::Nginx::Socket', @_);
        goto &{ Test::Nginx::Socket->can('import') };
    }
    eval "package $caller; use Test::More; 1" or die $@;
    *{"${caller}::$_"} = \&{"t::MikroBill::Own::$_"} for @RUNNER;
    strict->import;
    warnings->import;
}

# ------------------------------------------------------------------ shared

sub _test_dir {
    return $ENV{MIKROBILL_TEST_DIR} || getcwd() . '/t';
}

sub _nginx_bin { $ENV{TEST_NGINX_BINARY} || 'nginx' }

sub _free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
        or die "cannot find a free port: $!\n";
    return $s->sockport;
}

sub _port_open {
    my ($port) = @_;
    return IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                 Timeout => 1) ? 1 : 0;
}

sub _expand_env {
    my ($text, $name) = @_;
    return $text unless defined $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        defined $ENV{$1} ? $ENV{$1}
            : Test::More::BAIL_OUT(($name // '') . " - No environment $1 defined.")
    }ge;
    return $text;
}

sub _slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    my $s = <$fh>;
    return defined $s ? $s : '';
}

sub _spew {
    my ($file, $text) = @_;
    open my $fh, '>', $file or die "cannot write $file: $!\n";
    print $fh $text;
    close $fh or die "cannot write $file: $!\n";
}

# nginx.conf in the shape Test::Nginx writes, pointing every path at root
sub _nginx_conf {
    my (%o) = @_;
    my $root = $o{root};
    my $user = $> == 0 ? "user root;\n" : '';
    my $master = $o{master} ? 'on' : 'off';
    my $env = join '', map { "env $_;\n" } @{ $o{env} || [] };
    my $root_loc = $o{no_root_location} ? '' : <<"EOL";
        location / {
            root $root/html;
            index index.html index.htm;
        }
EOL
    my $temp = join '', map { "    ${_}_temp_path $root/temp/$_;\n" }
        qw(client_body proxy fastcgi uwsgi scgi);
    return <<"EOC";
# written by t/MikroBill.pm
${user}daemon off;
master_process $master;
worker_processes $o{workers};
error_log $root/logs/error.log $o{log_level};
pid $root/logs/nginx.pid;
$env
$o{main_config}

events {
    accept_mutex off;
    worker_connections 1024;
}

http {
    access_log $root/logs/access.log;
    default_type text/plain;
    keepalive_timeout 68;
$temp
$o{http_config}

    server {
        listen 127.0.0.1:$o{port};
        server_name localhost;
        client_max_body_size 30M;

        # Begin test case config...
$o{config}
        # End test case config.

$root_loc    }
}
EOC
}

# Start nginx in the foreground as our child (daemon off): we know its pid,
# and its stderr (early errors, sanitizer output of the master) is kept.
sub _start_nginx {
    my (%o) = @_;
    my $root = $o{root} = File::Spec->rel2abs($o{root});
    remove_tree("$root/logs", "$root/conf");
    make_path(map { "$root/$_" } qw(conf logs html temp));
    _spew("$root/conf/nginx.conf", _nginx_conf(%o));
    # a previous nginx may still be releasing the port
    for (1 .. 50) { last unless _port_open($o{port}); sleep 0.1 }
    return (undef, "port $o{port} is taken by another process")
        if _port_open($o{port});

    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$root/logs/stderr.log";
        open STDERR, '>>', "$root/logs/stderr.log";
        exec _nginx_bin(), '-p', "$root/", '-e', "$root/logs/error.log",
            '-c', "$root/conf/nginx.conf";
        die "exec nginx: $!\n";
    }
    my $deadline = time + 15;
    while (time < $deadline) {
        if (waitpid($pid, WNOHANG) == $pid) {
            return (undef, "nginx exited at startup (status $?):\n"
                    . _slurp("$root/logs/stderr.log")
                    . _slurp("$root/logs/error.log"));
        }
        return ($pid, undef) if _port_open($o{port});
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    return (undef, "nginx did not listen on $o{port} within 15s:\n"
            . _slurp("$root/logs/error.log"));
}

# QUIT (graceful), then TERM and KILL if it takes too long
sub _stop_nginx {
    my ($pid) = @_;
    return unless $pid;
    my @steps = ([QUIT => 10], [TERM => 3], [KILL => 3]);
    for my $step (@steps) {
        my ($sig, $wait) = @$step;
        kill $sig, $pid;
        my $deadline = time + $wait;
        while (time < $deadline) {
            return if waitpid($pid, WNOHANG) == $pid;
            sleep 0.02;
        }
    }
}

# lines of error.log (and stderr.log) telling of a crash or sanitizer report
sub _bad_log_lines {
    my ($root) = @_;
    my @bad;
    for my $f ("$root/logs/error.log", "$root/logs/stderr.log") {
        for my $line (split /\n/, _slurp($f)) {
            push @bad, $line
                if $line =~ /\[(?:alert|emerg)\]|AddressSanitizer|LeakSanitizer|runtime error:/;
        }
    }
    return @bad;
}

# ----------------------------------------------------------------- HTTP I/O

# Send one raw request, read until the server closes; returns the raw
# response and whether it timed out.
sub _send_raw {
    my ($port, $raw, $timeout) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                     Proto => 'tcp', Timeout => $timeout)
        or return (undef, "connect to 127.0.0.1:$port failed: $!");
    binmode $sock;
    my $sel = IO::Select->new($sock);
    my $deadline = time + $timeout;
    my $off = 0;
    local $SIG{PIPE} = 'IGNORE';
    while ($off < length $raw) {
        my $left = $deadline - time;
        return (undef, 'timed out writing the request')
            if $left <= 0 || !$sel->can_write($left);
        my $n = syswrite($sock, $raw, length($raw) - $off, $off);
        last unless defined $n;    # server closed early: read its answer
        $off += $n;
    }
    my $resp = '';
    while (1) {
        my $left = $deadline - time;
        return ($resp, 'timed out reading the response')
            if $left <= 0 || !$sel->can_read($left);
        my $n = sysread($sock, my $buf, 65536);
        last if !$n;
        $resp .= $buf;
    }
    close $sock;
    return ($resp, undef);
}

# Parse a raw HTTP response: status, raw header text, headers (lowercase
# name -> values), body (de-chunked).
sub _parse_response {
    my ($raw, $head_req) = @_;
    my %r = (status => '', raw_headers => '', headers => {}, body => '');
    return \%r unless defined $raw && length $raw;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    $body = '' unless defined $body;
    my @lines = split /\r\n/, $head;
    my $status_line = shift(@lines) // '';
    ($r{status}) = $status_line =~ m{^HTTP/\d\.\d\s+(\d{3})};
    $r{status} //= '';
    $r{raw_headers} = join '', map { "$_\r\n" } $status_line, @lines;
    for my $l (@lines) {
        my ($k, $v) = split /:\s*/, $l, 2;
        push @{ $r{headers}{lc $k} }, $v // '';
    }
    my $te = $r{headers}{'transfer-encoding'};
    my $cl = $r{headers}{'content-length'};
    # after a 101 the bytes are the new protocol's (WebSocket frames)
    if ($head_req
        || ($r{status} =~ /^(?:1\d\d|204|304)$/ && $r{status} ne '101'))
    {
        $body = '';
    } elsif ($te && $te->[0] =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($body, 0, $n, '');
            $body =~ s/\A\r\n//;
        }
        $body = $out;
    } elsif ($cl && $cl->[0] =~ /^\d+$/ && length($body) > $cl->[0]) {
        $body = substr($body, 0, $cl->[0]);
    }
    $r{body} = $body;
    return \%r;
}

sub _header {
    my ($res, $name) = @_;
    my $v = $res->{headers}{lc $name};
    return defined $v ? join(', ', @$v) : undef;
}

# -------------------------------------------------------------- helpers

our %Helper;    # the nginx of mb_start_nginx: root, port, pid

# The key file of mikrobill_secret_key_file (router and PPPoE passwords):
# $TEST_NGINX_SECRET_KEY_FILE, or one made once with `mikrobill-worker
# gen-key` in the test directory (and exported under that name, so that
# workers started by tests can use the same key).  undef when neither works.
sub mb_secret_key_file {
    return $ENV{TEST_NGINX_SECRET_KEY_FILE}
        if $ENV{TEST_NGINX_SECRET_KEY_FILE};
    my $file = _test_dir() . "/mb-secret.key";
    if (!-s $file && $ENV{MIKROBILL_WORKER}) {
        _capture($ENV{MIKROBILL_WORKER}, 'gen-key', $file);
    }
    return undef unless -s $file;
    $ENV{TEST_NGINX_SECRET_KEY_FILE} = $file;
    return $file;
}

sub mb_default_config {
    my $main = "load_module \$TEST_NGINX_MODULE;\n";
    my $http = <<'EOH';
    mikrobill_pg "$TEST_NGINX_PG_CONNINFO";
    mikrobill_redis $TEST_NGINX_REDIS_HOST:$TEST_NGINX_REDIS_PORT;
    mikrobill_password_iterations 1000;
EOH
    $http .= "    mikrobill_secret_key_file \$TEST_NGINX_SECRET_KEY_FILE;\n"
        if mb_secret_key_file();
    my $config = <<'EOC';
        location /api/ {
            mikrobill_api;
            client_max_body_size 64k;
        }
        error_page 400 404 405 408 413 414 494 500 502 503 504 /_mikrobill_error;
        location = /_mikrobill_error {
            internal;
            mikrobill_error_page;
        }
EOC
    return ($main, $http, $config);
}

sub mb_use_defaults {
    my ($main, $http, $config) = mb_default_config();
    my $pre = sub {
        my $block = shift;
        $block->set_value(main_config => $main) unless defined $block->main_config;
        $block->set_value(http_config => $http) unless defined $block->http_config;
        $block->set_value(config => $config) unless defined $block->config;
    };
    if ($REAL) {
        Test::Nginx::Util::add_block_preprocessor($pre);
    } else {
        t::MikroBill::Own::add_block_preprocessor($pre);
    }
}

sub mb_start_nginx {
    my ($main, $http, $config, %opts) = @_;
    mb_stop_nginx() if $Helper{pid};
    my $root = _test_dir() . "/mb-nginx";
    my $port = _free_port();
    my ($pid, $err) = _start_nginx(
        root => $root, port => $port, workers => 1, master => 1,
        log_level => $ENV{MIKROBILL_LOG_LEVEL} || 'info',
        main_config => _expand_env($main // ''),
        http_config => _expand_env($http // ''),
        config => _expand_env($config // ''),
        no_root_location => $opts{no_root_location},
    );
    die "mb_start_nginx: $err" unless $pid;
    %Helper = (root => $root, port => $port, pid => $pid);
    return $port;
}

# Stop the helper nginx; a crash or sanitizer report in its log fails.
sub mb_stop_nginx {
    return unless $Helper{pid};
    _stop_nginx($Helper{pid});
    my @bad = _bad_log_lines($Helper{root});
    Test::More::fail("helper nginx log is clean: " . join("\n", @bad)) if @bad;
    delete $Helper{pid};
}

sub mb_error_log {
    return _slurp(($Helper{root} // _test_dir() . "/mb-nginx") . "/logs/error.log");
}

sub mb_http {
    my ($method, $path, $headers, $body) = @_;
    $headers = { %{ $headers || {} } };
    my $port = $Helper{pid} ? $Helper{port} : $ENV{TEST_NGINX_SERVER_PORT};
    if (ref $body) {
        $body = JSON::PP->new->canonical->encode($body);
        $headers->{'Content-Type'} //= 'application/json';
    }
    $headers->{Host} //= 'localhost';
    $headers->{Connection} //= 'close';
    $headers->{'Content-Length'} //= length $body if defined $body;
    my $raw = "$method $path HTTP/1.1\r\n"
        . join('', map { "$_: $headers->{$_}\r\n" } sort keys %$headers)
        . "\r\n" . ($body // '');
    my ($resp, $err) = _send_raw($port, $raw, $ENV{TEST_NGINX_TIMEOUT} || 10);
    my $res = _parse_response($resp, $method eq 'HEAD');
    $res->{error} = $err;
    $res->{set_cookies} = $res->{headers}{'set-cookie'} || [];
    my %flat = map { $_ => join(', ', @{ $res->{headers}{$_} }) }
        keys %{ $res->{headers} };
    $res->{headers} = \%flat;
    $res->{json} = eval { JSON::PP->new->decode($res->{body}) };
    return $res;
}

sub _sql_literal {
    my ($v) = @_;
    return 'NULL' unless defined $v;
    $v =~ s/'/''/g;    # standard_conforming_strings: backslashes are literal
    return "'$v'";
}

sub mb_psql {
    my ($sql, @params) = @_;
    if (@params) {
        my $i = 0;
        $sql =~ s/\?/$i < @params ? _sql_literal($params[$i++]) : '?'/ge;
    }
    my @cmd = ('psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
               '-F', "\x1f", '-R', "\x1e",
               '-h', $ENV{TEST_NGINX_PG_HOST} || '127.0.0.1',
               '-p', $ENV{TEST_NGINX_PG_PORT} || 5432,
               '-U', 'mikrobill', '-d', 'mikrobill', '-c', $sql);
    my $out = _capture(@cmd);
    die "mb_psql failed ($sql): $out\n" if $?;
    $out =~ s/\n\z//;
    my @rows = map { [split /\x1f/, $_, -1] } grep { length } split /\x1e/, $out;
    return wantarray ? @rows : (@rows ? $rows[0][0] : undef);
}

# A test's own accounts go, even when they are the only SUPERADMINs left;
# one transaction, so no other session ever sees the guard off.
sub mb_delete_users {
    my ($where, @params) = @_;
    return mb_psql("BEGIN;"
        . " ALTER TABLE users DISABLE TRIGGER users_keep_superadmin;"
        . " DELETE FROM users WHERE $where;"
        . " ALTER TABLE users ENABLE TRIGGER users_keep_superadmin;"
        . " COMMIT", @params);
}

# run a command, return stdout+stderr (no shell involved)
sub _capture {
    my (@cmd) = @_;
    my $pid = open(my $fh, '-|') // die "fork: $!\n";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        exec @cmd or die "exec $cmd[0]: $!\n";
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}

sub _redis_port { $ENV{TEST_NGINX_REDIS_PORT} || 6379 }

sub mb_redis {
    my (@args) = @_;
    my $out = _capture('redis-cli', '-h', $ENV{TEST_NGINX_REDIS_HOST} || '127.0.0.1',
                       '-p', _redis_port(), @args);
    chomp $out;
    return wantarray ? split(/\n/, $out) : $out;
}

sub _wait_port_state {
    my ($port, $open, $secs) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        return 1 if _port_open($port) == $open;
        sleep 0.05;
    }
    return 0;
}

sub mb_redis_stop {
    _capture('redis-cli', '-h', '127.0.0.1', '-p', _redis_port(), 'shutdown', 'nosave');
    _wait_port_state(_redis_port(), 0, 10) or die "Redis did not stop\n";
}

sub mb_redis_start {
    my $conf = $ENV{MIKROBILL_REDIS_CONF} or die "MIKROBILL_REDIS_CONF is not set\n";
    my $out = _capture('redis-server', $conf);
    die "redis-server failed: $out\n" if $?;
    _wait_port_state(_redis_port(), 1, 10) or die "Redis did not start\n";
}

# PostgreSQL refuses to run as root: run its tools as the data dir's owner
sub _as_pg {
    my (@cmd) = @_;
    return $> == 0 ? ('runuser', '-u', 'postgres', '--', @cmd) : @cmd;
}

sub _pg_ctl {
    my $bindir = $ENV{MIKROBILL_PG_BINDIR} or die "MIKROBILL_PG_BINDIR is not set\n";
    return "$bindir/pg_ctl";
}

sub mb_pg_stop {
    my $data = $ENV{MIKROBILL_PG_DATA} or die "MIKROBILL_PG_DATA is not set\n";
    my $out = _capture(_as_pg(_pg_ctl(), '-D', $data, '-m', 'fast', '-w', 'stop'));
    die "pg_ctl stop failed: $out\n" if $?;
}

# start with the options of the last start (kept in postmaster.opts)
sub mb_pg_start {
    my $data = $ENV{MIKROBILL_PG_DATA} or die "MIKROBILL_PG_DATA is not set\n";
    # the binary comes first, unquoted; the arguments follow in quotes
    my @args = _slurp("$data/postmaster.opts") =~ /"((?:[^"\\]|\\.)*)"/g;
    my @opts;
    while (@args) {
        my $a = shift @args;
        if ($a eq '-D') { shift @args; next }
        push @opts, $a;
    }
    my $log = ($ENV{MIKROBILL_TEST_DIR} // $data) . '/pg/postgresql.log';
    $log = "$data/../postgresql.log" unless -e $log;
    my $out = _capture(_as_pg(_pg_ctl(), '-D', $data, '-l', $log, '-w', '-t', '30',
                              '-o', join(' ', @opts), 'start'));
    die "pg_ctl start failed: $out\n" if $?;
}

# a worker config for create-admin when make test did not provide one
sub _worker_conf {
    return $ENV{MIKROBILL_WORKER_CONF} if $ENV{MIKROBILL_WORKER_CONF};
    my $file = _test_dir() . "/mb-worker.conf";
    _spew($file, "pg_conninfo = $ENV{TEST_NGINX_PG_CONNINFO}\n"
          . "redis_host = " . ($ENV{TEST_NGINX_REDIS_HOST} || '127.0.0.1') . "\n"
          . "redis_port = " . _redis_port() . "\n"
          . "log_level = info\npassword_iterations = 1000\n");
    return $file;
}

sub mb_create_user {
    my ($username, $password, $role) = @_;
    my $worker = $ENV{MIKROBILL_WORKER} or die "MIKROBILL_WORKER is not set\n";
    local $ENV{MIKROBILL_ADMIN_PASSWORD} = $password;
    my $out = _capture($worker, 'create-admin', '-c', _worker_conf(),
                       '--username', $username, '--role', $role || 'SUPERADMIN');
    my $rc = $? >> 8;
    Test::More::diag("create-admin $username: exit $rc: $out") if $rc && $rc != 2;
    return $rc;
}

sub mb_login {
    my ($username, $password) = @_;
    my $res = mb_http('POST', '/api/auth/login', {},
                      { username => $username, password => $password });
    my $token = $res->{json} ? $res->{json}{token} : undef;
    return wantarray ? ($token, $res) : $token;
}

# let END blocks stop our nginx when the test is interrupted
$SIG{INT} = $SIG{TERM} = sub { exit 130 };
$SIG{PIPE} = 'IGNORE';

END {
    _stop_nginx($Helper{pid}) if $Helper{pid};
}

# ====================================================== our own block runner

package t::MikroBill::Own;

use strict;
use warnings;
use Time::HiRes qw(sleep);
use Test::More ();

our $RepeatEach = 1;
our $LogLevel = 'info';
our $Master = 1;
our $Workers = 1;
our @EnvToNginx;
our $NoLongString = 0;
our $NoRootLocation = 0;
our @Preprocessors;
our $Timeout = $ENV{TEST_NGINX_TIMEOUT} || 3;
my $TB;     # Test::Base object holding the blocks of main::DATA
my $NginxPid;

sub _tb {
    return $TB if $TB;
    require Test::Base;
    # used as an object only: its import would take over the .t file
    $TB = Test::Base->new;
    return $TB;
}

sub plan { Test::More::plan(@_) }
sub repeat_each { $RepeatEach = shift if @_; $RepeatEach }
sub no_shuffle { }    # blocks always run in file order here
sub add_block_preprocessor { push @Preprocessors, @_ }
sub log_level { $LogLevel = shift if @_; $LogLevel }
sub master_on { $Master = 1 }
sub master_off { $Master = 0 }
sub workers { $Workers = shift if @_; $Workers }
sub env_to_nginx { push @EnvToNginx, @_ }
sub no_long_string { $NoLongString = 1 }
sub no_root_location { $NoRootLocation = 1 }

sub blocks {
    my $list = _tb()->block_list;
    return scalar @$list unless wantarray;
    for my $b (@$list) { $b->run_filters unless $b->is_filtered }
    return @$list;
}

sub run_tests {
    my $tb = Test::More->builder;
    for my $block (blocks()) {
        $_->($block) for @Preprocessors;
        run_block($block);
    }
    Test::More::done_testing() unless $tb->has_plan;
}

sub _bail { Test::More::BAIL_OUT(join '', @_) }

# Test::Nginx's get_indexed_value: with several requests every check section
# must be an array
sub _indexed {
    my ($name, $value, $idx, $need_array) = @_;
    if (ref $value eq 'ARRAY') {
        return $value->[$idx] if $need_array || $idx == 0;
    } elsif (!$need_array) {
        return $value;
    }
    _bail("$name - You asked for many requests, the expected results should be arrays as well.");
}

sub _skip_count {
    my ($block) = @_;
    if (defined(my $s = $block->skip_nginx)) {
        my ($n, $op, $ver) = $s =~ /^\s*(\d+)\s*:\s*([<>=!]+)\s*([\d.]+)/
            or _bail($block->name . " - bad skip_nginx: $s");
        my $have = `"${\ t::MikroBill::_nginx_bin()}" -v 2>&1` =~ m{nginx/([\d.]+)} ? $1 : '0';
        my $cmp = _vercmp($have, $ver);
        my %t = ('<' => $cmp < 0, '<=' => $cmp <= 0, '>' => $cmp > 0,
                 '>=' => $cmp >= 0, '=' => $cmp == 0, '==' => $cmp == 0,
                 '!=' => $cmp != 0);
        return ($n, "nginx $have $op $ver") if $t{$op};
    }
    if (defined(my $s = $block->skip_eval)) {
        my ($n, $code) = $s =~ /^\s*(\d+)\s*:\s*(.*)$/s
            or _bail($block->name . " - bad skip_eval: $s");
        my $r = eval "package main; $code";
        return ($n, "skip_eval: $code") if $r;
    }
    return;
}

sub _vercmp {
    my @a = split /\./, shift;
    my @b = split /\./, shift;
    while (@a || @b) {
        my $c = (shift(@a) // 0) <=> (shift(@b) // 0);
        return $c if $c;
    }
    return 0;
}

sub _server_root {
    return $ENV{TEST_NGINX_SERVROOT} if $ENV{TEST_NGINX_SERVROOT};
    return $ENV{MIKROBILL_TEST_DIR} ? "$ENV{MIKROBILL_TEST_DIR}/servroot"
                                    : Cwd::getcwd() . "/t/servroot";
}

sub run_block {
    my ($block) = @_;
    my $name = $block->name;

    if (my ($n, $why) = _skip_count($block)) {
        SKIP: { Test::More::skip("$name - $why", $n) }
        return;
    }
    if (defined(my $init = $block->init)) {
        eval "package main; $init; 1" or _bail("$name - init failed: $@");
    }

    my $root = _server_root();
    my $port = $ENV{TEST_NGINX_SERVER_PORT} || 1984;
    my ($pid, $err) = t::MikroBill::_start_nginx(
        root => $root, port => $port, workers => $Workers, master => $Master,
        log_level => $block->log_level // $LogLevel,
        env => \@EnvToNginx, no_root_location => $NoRootLocation,
        main_config => t::MikroBill::_expand_env($block->main_config // '', $name),
        http_config => t::MikroBill::_expand_env($block->http_config // '', $name),
        config => t::MikroBill::_expand_env($block->config // '', $name),
    );
    if (!$pid) {
        Test::More::fail("$name - nginx started");
        Test::More::diag($err);
        return;
    }
    $NginxPid = $pid;
    my $ok = eval { run_requests($block, $root, $port); 1 };
    my $died = $@;
    t::MikroBill::_stop_nginx($pid);
    undef $NginxPid;
    die $died unless $ok;

    # crashes and sanitizer reports fail the block, even at shutdown
    my @bad = t::MikroBill::_bad_log_lines($root);
    if (@bad) {
        Test::More::fail("$name - error.log has no alert, emerg or sanitizer report");
        Test::More::diag(join "\n", @bad[0 .. ($#bad < 30 ? $#bad : 30)]);
    }
}

sub _requests {
    my ($block) = @_;
    my $name = $block->name;
    my $expand = sub { t::MikroBill::_expand_env($_[0], $name) };
    if (defined(my $raw = $block->raw_request)) {
        my @packets = ref $raw eq 'ARRAY' ? @$raw : ($raw);
        return (join '', map { $expand->(ref $_ ? $_->{value} : $_) } @packets);
    }
    my $request = $block->request;
    return () unless defined $request;
    my @reqs = ref $request eq 'ARRAY' ? @$request : ($request);
    my ($more, $chunked) = _more_headers($expand->($block->more_headers // ''));
    return map {
        my $r = ref $_ eq 'ARRAY' ? join('', map { ref $_ ? $_->{value} : $_ } @$_) : $_;
        _build_request($name, $expand->($r), $more, $chunked);
    } @reqs;
}

sub _more_headers {
    my ($text) = @_;
    my ($out, $chunked) = ('', 0);
    for my $h (split /\n+/, $text) {
        next if $h =~ /^\s*#/ || $h !~ /\S/;
        my ($k, $v) = split /:\s*/, $h, 2;
        $chunked = 1 if lc $k eq 'transfer-encoding' && ($v // '') eq 'chunked';
        $out .= "$k: " . ($v // '') . "\r\n";
    }
    return ($out, $chunked);
}

# "METHOD /uri [HTTP/1.x]\nbody" -> raw request, as Test::Nginx builds it
sub _build_request {
    my ($name, $req, $more, $chunked) = @_;
    1 while $req =~ s/^\s*#[^\n]+\s+|^\s+//s;
    my ($first, $content) = split /\n/, $req, 2;
    $first //= '';
    my ($meth, $url, $ver) = split ' ', $first;
    _bail("$name - Request line should be non-empty") unless defined $meth;
    $url //= '/';
    $ver //= 'HTTP/1.1';
    $content //= '';
    my $len = '';
    if (!$chunked && $content ne '' && $more !~ /(?:^|\n)Content-Length:/i) {
        $content =~ s/^\s+|\s+$//gs;
        $len = "Content-Length: " . length($content) . "\r\n";
    }
    my $hdrs = '';
    $hdrs .= "Host: localhost\r\n" if $more !~ /(?:^|\n)Host:/i;
    $hdrs .= "Connection: close\r\n" if $more !~ /(?:^|\n)Connection/i;
    return "$meth $url $ver\r\n$hdrs$more$len\r\n$content";
}

sub run_requests {
    my ($block, $root, $port) = @_;
    my $name = $block->name;
    my @reqs = _requests($block);
    my $timeout = $block->timeout // $Timeout;
    $timeout = $1 / 1000 if $timeout =~ /^\s*(\d+)ms\s*$/;
    $timeout =~ s/s\s*$//;
    my $need_array = @reqs > 1;

    for my $rep (0 .. $RepeatEach - 1) {
        for my $idx (0 .. $#reqs) {
            my $raw = $reqs[$idx];
            my ($resp, $err) = t::MikroBill::_send_raw($port, $raw, $timeout);
            Test::More::fail("$name - $err (req $idx)") if $err;
            my $res = t::MikroBill::_parse_response($resp, $raw =~ /^\s*HEAD\s/);
            check_response($block, $res, $idx, $need_array);
            check_error_log($block, $root, $rep);
        }
    }
}

sub check_response {
    my ($block, $res, $idx, $need_array) = @_;
    my $name = $block->name;

    if (defined $block->error_code_like) {
        my $p = _indexed($name, $block->error_code_like, $idx, $need_array);
        Test::More::like($res->{status}, qr/$p/sm, "$name - status code ok");
    } else {
        my $want = defined $block->error_code
            ? _indexed($name, $block->error_code, $idx, $need_array) : 200;
        $want =~ s/^\s+|\s+$//g;
        Test::More::is($res->{status}, $want, "$name - status code ok")
            or Test::More::diag("response: " . substr($res->{raw_headers} . "\r\n" . $res->{body}, 0, 400));
    }

    if (defined $block->response_headers) {
        my $h = _parse_headers(_indexed($name, $block->response_headers, $idx, $need_array));
        for my $k (@$h) {
            my ($key, $val) = @$k;
            if (!defined $val) {
                Test::More::unlike($res->{raw_headers}, qr/^\s*\Q$key\E\s*:/msi,
                                   "$name - header $key not present in the raw headers");
                next;
            }
            Test::More::is(t::MikroBill::_header($res, $key) // '', $val,
                           "$name - header $key ok");
        }
    } elsif (defined $block->response_headers_like) {
        my $h = _parse_headers(_indexed($name, $block->response_headers_like, $idx, $need_array));
        for my $k (@$h) {
            my ($key, $val) = @$k;
            Test::More::like(t::MikroBill::_header($res, $key) // '', qr/^$val$/,
                             "$name - header $key like ok");
        }
    }

    if (defined $block->response_body) {
        my $want = _indexed($name, $block->response_body, $idx, $need_array);
        if (ref $want) {
            Test::More::like($res->{body}, $want, "$name - response_body - like (req $idx)");
        } else {
            Test::More::is($res->{body}, $want,
                           "$name - response_body - response is expected (req $idx)");
        }
    } elsif (defined $block->response_body_like) {
        my $p = _indexed($name, $block->response_body_like, $idx, $need_array);
        Test::More::like($res->{body}, qr/$p/s,
                         "$name - response_body_like - response is expected");
    } elsif (defined $block->response_body_unlike) {
        my $p = _indexed($name, $block->response_body_unlike, $idx, $need_array);
        Test::More::unlike($res->{body}, qr/$p/s,
                           "$name - response_body_unlike - response is expected");
    }
}

# "Name: value" lines, "!Name" for a header that must be absent; in order
sub _parse_headers {
    my ($text) = @_;
    my @out;
    for my $l (split /\n/, $text // '') {
        $l =~ s/^\s+|\s+$//g;
        next unless length $l;
        if ($l =~ s/^!\s*//) { push @out, [$l, undef]; next }
        my ($k, $v) = split /\s*:\s*/, $l, 2;
        push @out, [$k, $v // ''];
    }
    return \@out;
}

sub _patterns {
    my ($pats) = @_;
    return () unless defined $pats;
    return ($pats) if ref $pats eq 'Regexp';
    return grep { defined } @$pats if ref $pats eq 'ARRAY';
    chomp $pats;
    return split /\n+/, $pats;
}

sub check_error_log {
    my ($block, $root, $rep) = @_;
    my $name = $block->name;
    my @want = _patterns($block->error_log);
    my @not = _patterns($block->no_error_log);
    return unless @want || @not;
    sleep 0.1;    # nginx logs some lines after the response has gone out
    my @lines = split /\n/, t::MikroBill::_slurp("$root/logs/error.log");
    my $match = sub {
        my ($pat) = @_;
        return grep { ref $pat ? $_ =~ $pat : index($_, $pat) >= 0 } @lines;
    };
    for my $p (@want) {
        Test::More::ok(scalar($match->($p)),
                       "$name - pattern \"$p\" matches a line in error.log (req $rep)");
    }
    for my $p (@not) {
        my @hit = $match->($p);
        Test::More::ok(!@hit, "$name - pattern \"$p\" does not match a line in error.log (req $rep)")
            or Test::More::diag("matching line: $hit[0]");
    }
}

END {
    t::MikroBill::_stop_nginx($NginxPid) if $NginxPid;
}

1;
