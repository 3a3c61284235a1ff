# shellcheck shell=bash
# Shared helpers for scripts/install-deps, test-run, run, stop and bench.
# Sourced, never executed.  Callers set `set -euo pipefail` themselves.

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
SAN=${SAN:-0}
if [[ $SAN == 1 ]]; then BUILD=${BUILD:-$TOP/build/san}
else BUILD=${BUILD:-$TOP/build/release}; fi
MODULE_SO=${MODULE_SO:-$BUILD/ngx_mikrobill_module.so}
WORKER=${WORKER:-$BUILD/mikrobill-worker}
SIM=${SIM:-$BUILD/mikrobill-ros-sim}
NGINX=${NGINX:-/usr/sbin/nginx}

log() { printf '%s %s\n' "[$(date +%H:%M:%S)]" "$*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [[ $(id -u) == 0 ]]; }

# seconds since the epoch with millis, for the durations we print
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# A loopback port free right now: let the kernel pick one (bind to port 0).
# The socket closes before the server binds it; the window is tiny and the
# kernel hands out ephemeral ports round-robin, so collisions are rare.
free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                      LocalPort => 0, ReuseAddr => 1)
            or die "bind: $!\n";
        print $s->sockport, "\n";'
}

# true when something listens on 127.0.0.1:$1
port_busy() {
    perl -MIO::Socket::INET -e '
        exit(IO::Socket::INET->new(PeerAddr => "127.0.0.1",
                                   PeerPort => $ARGV[0], Timeout => 1) ? 0 : 1)' "$1"
}

# wait up to $2 seconds (default 10) for a listener on 127.0.0.1:$1
wait_port() {
    local port=$1 tries=$(( ${2:-10} * 10 ))
    while (( tries-- > 0 )); do
        port_busy "$port" && return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- PostgreSQL

pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [[ -n $d ]] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
    echo "$d"
}

# PostgreSQL refuses to run as root: as root, run its tools as `postgres`.
as_pg() {
    if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Give the PostgreSQL user a directory (and make its parents traversable).
pg_own_dir() {
    local dir=$1
    mkdir -p "$dir"
    if is_root; then
        chown postgres:postgres "$dir"
        local p=$dir
        while p=$(dirname "$p"); [[ $p != / ]]; do
            # only add the search bit; never open up read access
            [[ $(stat -c %a "$p") =~ [0-7][0-7][1357]$ ]] || chmod o+x "$p"
        done
    fi
    chmod 0700 "$dir"
}

# pg_init DATA HOSTAUTH: create a cluster once (superuser `postgres`); local
# socket connections are trusted, TCP ones use HOSTAUTH (trust or scram).
pg_init() {
    local data=$1 hostauth=$2
    [[ -f $data/PG_VERSION ]] && return 0
    pg_own_dir "$data"
    as_pg "$(pg_bindir)/initdb" -D "$data" -U postgres -E UTF8 --no-locale \
        --auth-local=trust --auth-host="$hostauth" >"$data.initdb.log" 2>&1 \
        || { cat "$data.initdb.log" >&2; die "initdb failed"; }
}

# pg_start DATA PORT SOCKDIR LOGFILE [extra -c options...]
pg_start() {
    local data=$1 port=$2 sockdir=$3 logfile=$4; shift 4
    local opts="-p $port -k $sockdir -c listen_addresses=127.0.0.1 $*"
    pg_own_dir "$sockdir"
    touch "$logfile"; is_root && chown postgres "$logfile"
    as_pg "$(pg_bindir)/pg_ctl" -D "$data" -l "$logfile" -w -t 30 \
        -o "$opts" start >/dev/null \
        || { tail -20 "$logfile" >&2; die "PostgreSQL did not start"; }
}

pg_stop() {
    local data=$1 mode=${2:-fast}
    [[ -f $data/postmaster.pid ]] || return 0
    as_pg "$(pg_bindir)/pg_ctl" -D "$data" -m "$mode" -w stop >/dev/null 2>&1 || true
}

# psql as the superuser over the private socket: pg_psql SOCKDIR PORT args...
pg_psql() {
    local sockdir=$1 port=$2; shift 2
    as_pg psql -X -q -v ON_ERROR_STOP=1 -h "$sockdir" -p "$port" -U postgres "$@"
}

# pg_ensure_db SOCKDIR PORT [PASSWORD]: role and database `mikrobill`
pg_ensure_db() {
    local sockdir=$1 port=$2 password=${3:-}
    if [[ -z $(pg_psql "$sockdir" "$port" -d postgres -tAc \
                "SELECT 1 FROM pg_roles WHERE rolname = 'mikrobill'") ]]; then
        pg_psql "$sockdir" "$port" -d postgres -c "CREATE ROLE mikrobill LOGIN"
    fi
    if [[ -n $password ]]; then
        # psql's :'var' quoting keeps the password a literal
        pg_psql "$sockdir" "$port" -d postgres -v pw="$password" \
            <<<"ALTER ROLE mikrobill PASSWORD :'pw';"
    fi
    if [[ -z $(pg_psql "$sockdir" "$port" -d postgres -tAc \
                "SELECT 1 FROM pg_database WHERE datname = 'mikrobill'") ]]; then
        pg_psql "$sockdir" "$port" -d postgres -c \
            "CREATE DATABASE mikrobill OWNER mikrobill"
    fi
}

# -------------------------------------------------------------------- Redis

# redis_conf FILE PORT DIR PERSIST(0|1)
redis_conf() {
    local file=$1 port=$2 dir=$3 persist=$4
    mkdir -p "$dir"
    {
        echo "# written by scripts/lib.sh"
        echo "port $port"
        echo "bind 127.0.0.1"
        echo "protected-mode yes"
        echo "dir $dir"
        echo "daemonize yes"
        echo "pidfile $dir/redis.pid"
        echo "logfile $dir/redis.log"
        if [[ $persist == 1 ]]; then
            echo "save 60 1"
            echo "appendonly yes"
        else
            echo 'save ""'
            echo "appendonly no"
        fi
    } >"$file"
}

redis_start() {
    local conf=$1 port=$2
    redis-server "$conf" >/dev/null || die "redis-server did not start ($conf)"
    wait_port "$port" 10 || die "Redis did not listen on $port"
}

redis_stop() {
    local port=$1 mode=${2:-nosave}
    redis-cli -h 127.0.0.1 -p "$port" shutdown "$mode" >/dev/null 2>&1 || true
}

# ------------------------------------------------------------------- worker

# worker_conf FILE CONNINFO REDIS_PORT ITERATIONS [SECRET_KEY_FILE]
worker_conf() {
    local file=$1 conninfo=$2 redis_port=$3 iterations=$4 key=${5:-}
    # holds credentials: readable by its owner only
    (umask 077; cat >"$file") <<EOF
# mikrobill-worker configuration (written by scripts/lib.sh)
pg_conninfo = $conninfo
redis_host = 127.0.0.1
redis_port = $redis_port
log_level = info
password_iterations = $iterations
${key:+secret_key_file = $key}
EOF
}

migrate() {
    local conf=$1
    "$WORKER" migrate -c "$conf" --dir "$TOP/sql" || die "migrations failed"
}

# -------------------------------------------------------------------- nginx

# The nginx binary to run: under SAN=1 the module is built with ASan+UBSan,
# so the sanitizer runtimes must be loaded first; a wrapper preloads them.
#
# detect_leaks=0: nginx keeps the cycle's memory until exit on purpose (the
# master and workers exit without freeing pools they no longer need), which
# LeakSanitizer would report on every run.  Real errors (overflows, use after
# free, UB) still abort the worker and land in error.log.
nginx_binary() {
    if [[ $SAN != 1 ]]; then echo "$NGINX"; return; fi
    local wrapper=$BUILD/nginx-san
    mkdir -p "$BUILD"
    cat >"$wrapper" <<EOF
#!/bin/sh
# nginx with the gcc sanitizer runtimes preloaded (written by scripts/lib.sh)
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)\${LD_PRELOAD:+ \$LD_PRELOAD}"
ASAN_OPTIONS="\${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=0:halt_on_error=1}"
UBSAN_OPTIONS="\${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS
exec $NGINX "\$@"
EOF
    chmod 0755 "$wrapper"
    echo "$wrapper"
}

# require build outputs before starting anything
need_build() {
    [[ -f $MODULE_SO ]] || die "$MODULE_SO missing: run make build"
    [[ -x $WORKER ]] || die "$WORKER missing: run make build"
    [[ -x $SIM ]] || die "$SIM missing: run make build"
}

# ---------------------------------------------------- throw-away servers

# start_private_servers DIR: PostgreSQL (database `mikrobill`, trusted on
# loopback) and Redis (no persistence) on free loopback ports under DIR, for
# test-run and bench.  Sets PG_PORT, PG_DATA, PG_SOCKDIR, REDIS_PORT; the
# caller's EXIT trap calls stop_private_servers.
start_private_servers() {
    local dir=$1
    PG_PORT=$(free_port)
    REDIS_PORT=$(free_port)
    while [[ $REDIS_PORT == "$PG_PORT" ]]; do REDIS_PORT=$(free_port); done
    PG_DATA=$dir/pg/data
    PG_SOCKDIR=$dir/pg/run
    pg_init "$PG_DATA" trust
    # durability buys nothing in a throw-away cluster
    pg_start "$PG_DATA" "$PG_PORT" "$PG_SOCKDIR" "$dir/pg/postgresql.log" \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
        -c max_connections=200
    pg_ensure_db "$PG_SOCKDIR" "$PG_PORT"
    redis_conf "$dir/redis.conf" "$REDIS_PORT" "$dir/redis" 0
    redis_start "$dir/redis.conf" "$REDIS_PORT"
}

stop_private_servers() {
    [[ -n ${PG_DATA:-} ]] && pg_stop "$PG_DATA" immediate
    [[ -n ${REDIS_PORT:-} ]] && redis_stop "$REDIS_PORT" nosave
    return 0
}

# QUIT the nginx instances whose pid files lie under DIR and wait for them
stop_nginx_under() {
    local dir=$1 pidfile pid
    while IFS= read -r pidfile; do
        pid=$(cat "$pidfile" 2>/dev/null) || continue
        [[ $pid =~ ^[0-9]+$ ]] || continue
        kill -QUIT "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done < <(find "$dir" -name 'nginx*.pid' 2>/dev/null)
}

# ---- shared by the bench scripts

# one line to the simulator's control port PORT, its answer line
sim_ctl() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1",
                                      PeerPort => $ARGV[0], Timeout => 5)
            or die "control: $!\n";
        print $s "$ARGV[1]\n";
        my $l = <$s> // ""; print $l;' "$1" "$2"
}

# the value of KEY=VALUE in a line
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p"; }

# a session token of admin with PASSWORD from the nginx on PORT
login_token() {
    curl -fsS -H 'Content-Type: application/json' \
        -d "{\"username\":\"admin\",\"password\":\"$2\"}" \
        "http://127.0.0.1:$1/api/auth/login" \
        | perl -MJSON::PP -e 'print decode_json(join "", <STDIN>)->{token}'
}
