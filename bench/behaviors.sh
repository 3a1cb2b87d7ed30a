#!/usr/bin/env bash
# Throughput of authenticated GET and PUT /behaviors, beside a bare axum JSON endpoint, and a
# kill -9 durability check of acknowledged PUTs. See bench/README.md.
#
# Environment (all optional):
#   DURATION=10        seconds of each measured wrk run
#   WARMUP=3           seconds of the warm-up run of each target (not counted)
#   ROUNDS=3           rounds; each round runs bare, GET, PUT (full), PUT (normal) in turn and
#                      the summary reports the median over the rounds no other process disturbed
#   CONNECTIONS=32     wrk connections, the same for every target; a list ("16 32 64") runs the
#                      whole set once per value (a sweep)
#   WRK_THREADS=1      wrk threads (wrk has one core to itself)
#   SERVER_CPU=0       core the servers are pinned to (taskset -c)
#   CLIENT_CPU=1       core wrk and the durability load generator are pinned to
#   SYNC_MODES="full normal"   --sync modes PUT is measured with; "full" (the default of
#                      ztrisk) is the headline figure
#   QUIET_WAIT=60      before each measured run, wait up to this many seconds for both cores to
#                      be idle (other processes); 0 disables. Runs disturbed anyway are flagged
#   KILL_AFTER=3       seconds of PUT load before the server gets kill -9
#   DURABILITY_SYNC=full   --sync mode of the server in the kill -9 check
#   ACK_THREADS=8      threads (connections) of the durability load generator
#   SKIP_BUILD=1       use the existing release binaries
#   SKIP_THROUGHPUT=1 / SKIP_DURABILITY=1   run only one half
#   STRICT=1           also exit non-zero when a throughput target is missed
#   BACKEND=sqlite     or postgres: every server then gets a fresh schema of its own in
#                      $ZTRISK_TEST_POSTGRES (default postgres://postgres@127.0.0.1:5432/test),
#                      dropped at the end; PUT is measured once (PostgreSQL's own durability)
#   BENCH_TMPDIR       where the temporary databases go (default: $TMPDIR or /tmp); must be a
#                      real disk, not tmpfs, or fsync costs nothing
#
# Exit status: 0 on success; 1 when an acknowledged PUT was lost, a request failed or something
# broke; 2 when STRICT=1 and a throughput target was missed.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"

DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-3}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
WRK_THREADS="${WRK_THREADS:-1}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
SYNC_MODES="${SYNC_MODES:-full normal}"
KILL_AFTER="${KILL_AFTER:-3}"
ACK_THREADS="${ACK_THREADS:-8}"
QUIET_WAIT="${QUIET_WAIT:-60}"
DURABILITY_SYNC="${DURABILITY_SYNC:-full}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
ZTRISK="$TARGET_DIR/release/ztrisk"
BARE="$TARGET_DIR/release/examples/bare"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Processes and temporary files: everything started here is killed by pid on exit.
WORK="$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/ztrisk-bench.XXXXXX")"
PIDS=()
BACKEND="${BACKEND:-sqlite}"
PG_BASE="${ZTRISK_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
SCHEMAS=()
[[ "$BACKEND" == postgres ]] && SYNC_MODES="full"

# fresh_db NAME: a new, empty database for one server: a file, or a PostgreSQL schema.
fresh_db() {
    if [[ "$BACKEND" == postgres ]]; then
        local schema="ztrisk_bench_$1_$$"
        schema="${schema//-/_}"
        psql -q "$PG_BASE" -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
        SCHEMAS+=("$schema")
        local sep='?'
        [[ "$PG_BASE" == *\?* ]] && sep='&'
        echo "${PG_BASE}${sep}options=-c%20search_path%3D${schema}"
    else
        echo "$WORK/$1.db"
    fi
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    for schema in "${SCHEMAS[@]}"; do
        psql -q "$PG_BASE" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget_pid() {
    local gone="$1" kept=() pid
    for pid in "${PIDS[@]}"; do
        [[ "$pid" == "$gone" ]] || kept+=("$pid")
    done
    PIDS=("${kept[@]}")
}

# wait_for_line FILE REGEX PID: waits (10 s at most) for a line of FILE to match REGEX.
wait_for_line() {
    local file="$1" regex="$2" pid="$3" i
    for ((i = 0; i < 200; i++)); do
        if grep -Eq "$regex" "$file" 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "process $pid exited early; its output: $(cat "$file" "$file.err" 2>/dev/null)"
        sleep 0.05
    done
    die "timed out waiting for /$regex/ in $file"
}

# start_ztrisk NAME DB SYNC: starts ztrisk pinned to SERVER_CPU; sets PID, PORT (and ACCOUNT,
# TOKEN when the database was empty and the banner was printed).
start_ztrisk() {
    local name="$1" db="$2" sync="$3" out="$WORK/$1.out"
    # The per-credential rate limit (default 6000/min) would turn a benchmark into a stream of
    # 429s: disable it (through the environment, harmless for a build without the limit).
    ZTRISK_RATE_LIMIT=0 RUST_LOG=warn taskset -c "$SERVER_CPU" \
        "$ZTRISK" --database "$db" serve --listen 127.0.0.1:0 --sync "$sync" \
        >"$out" 2>"$out.err" &
    PID=$!
    PIDS+=("$PID")
    wait_for_line "$out" '^ztrisk listening on http://' "$PID"
    PORT="$(sed -n 's|^ztrisk listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$out" | tail -n1)"
    if grep -q 'account id:' "$out"; then
        ACCOUNT="$(awk '/^  account id:/ {print $3}' "$out")"
        TOKEN="$(awk '/^  API token:/ {print $3}' "$out")"
    fi
    [[ -n "$PORT" ]] || die "could not read the port of $name"
}

behaviors_url() { echo "http://127.0.0.1:$1/client/v4/accounts/$ACCOUNT/zt_risk_scoring/behaviors"; }

# cpu_ticks CPU: "busy steal total" jiffies of one core, from /proc/stat.
cpu_ticks() {
    awk -v cpu="cpu$1" '$1 == cpu {
        total = 0; for (i = 2; i <= NF; i++) total += $i
        print total - $5 - $6, $9, total }' /proc/stat
}

# wait_quiet: on a shared machine, waits (QUIET_WAIT seconds at most) until both cores have
# been nearly idle (under 10% busy) for a second, so a neighbour's build does not land in a run.
wait_quiet() {
    local deadline=$((SECONDS + QUIET_WAIT)) a b busy
    ((QUIET_WAIT > 0)) || return 0
    while ((SECONDS < deadline)); do
        a="$(cpu_ticks "$SERVER_CPU") $(cpu_ticks "$CLIENT_CPU")"
        sleep 1
        b="$(cpu_ticks "$SERVER_CPU") $(cpu_ticks "$CLIENT_CPU")"
        busy="$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
            s = (y[1] - x[1]) / (y[3] - x[3] + 1e-9); c = (y[4] - x[4]) / (y[6] - x[6] + 1e-9)
            printf "%d", 100 * (s > c ? s : c) }')"
        ((busy >= 10)) || return 0
    done
    log "the machine stayed busy for ${QUIET_WAIT}s: measuring anyway (the run will be flagged)"
}

# proc_ticks PID: CPU time (user + system, all threads) the process has used, in jiffies.
proc_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# pct PART WHOLE: PART as a rounded percentage of WHOLE.
pct() { awk -v p="$1" -v w="$2" 'BEGIN { if (w <= 0) w = 1; printf "%d", 100 * p / w + 0.5 }'; }

# run_wrk LUA URL SECONDS CONNS SERVER_PID: prints wrk's "BENCH ..." line, extended with the
# CPU accounting of the run, in % of one core:
#   srv_own   the server process            srv_other  everything else on the server's core
#   cli_own   wrk                           cli_other  everything else on the client's core
#   steal     hypervisor steal time on both cores
# srv_own near 100 means the server was the bottleneck; a large *_other means a neighbour (a
# build, another benchmark) disturbed the run.
run_wrk() {
    local lua="$1" url="$2" seconds="$3" conns="$4" server="$5" raw="$WORK/wrk.out"
    local srv0 cli0 own0 srv1 cli1 own1 wrk_ticks line srv_busy cli_busy
    read -r -a srv0 <<<"$(cpu_ticks "$SERVER_CPU")"
    read -r -a cli0 <<<"$(cpu_ticks "$CLIENT_CPU")"
    own0="$(proc_ticks "$server")"
    # The subshell's cutime/cstime, once wrk (its only child) has been waited for, is wrk's CPU.
    wrk_ticks="$(
        ZTRISK_TOKEN="${TOKEN:-}" taskset -c "$CLIENT_CPU" \
            wrk -t"$WRK_THREADS" -c"$conns" -d"${seconds}s" --timeout 10s -s "$lua" "$url" \
            >"$raw" 2>&1 || exit 1
        self="$BASHPID"
        sed 's/.*) //' "/proc/$self/stat" | awk '{print $14 + $15}'
    )" || die "wrk failed: $(cat "$raw")"
    read -r -a srv1 <<<"$(cpu_ticks "$SERVER_CPU")"
    read -r -a cli1 <<<"$(cpu_ticks "$CLIENT_CPU")"
    own1="$(proc_ticks "$server")"
    line="$(grep '^BENCH ' "$raw")" || die "wrk printed no BENCH line: $(cat "$raw")"
    local srv_total=$((srv1[2] - srv0[2])) cli_total=$((cli1[2] - cli0[2]))
    local srv_own cli_own
    srv_own="$(pct $((own1 - own0)) "$srv_total")"
    cli_own="$(pct "$wrk_ticks" "$cli_total")"
    srv_busy="$(pct $((srv1[0] - srv0[0])) "$srv_total")"
    cli_busy="$(pct $((cli1[0] - cli0[0])) "$cli_total")"
    echo "$line srv_own=$srv_own srv_other=$((srv_busy > srv_own ? srv_busy - srv_own : 0))" \
        "cli_own=$cli_own cli_other=$((cli_busy > cli_own ? cli_busy - cli_own : 0))" \
        "steal=$(pct $((srv1[1] - srv0[1] + cli1[1] - cli0[1])) $((srv_total + cli_total)))"
}

field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" $2"; }

# ---------------------------------------------------------------------------------------------
log "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"
(($(nproc) >= 2)) || log "warning: fewer than 2 cores; server and wrk will share one"
fs="$(stat -f -c %T "$WORK")"
log "temporary databases in $WORK ($fs)"
[[ "$fs" != tmpfs ]] || log "warning: $WORK is tmpfs, fsync costs nothing there: set BENCH_TMPDIR"

if ! command -v wrk >/dev/null; then
    log "wrk is missing: installing it from Debian"
    sudo=""
    [[ "$(id -u)" == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk >/dev/null \
        || die "could not install wrk (apt-get install wrk)"
fi
command -v taskset >/dev/null || die "taskset is missing (util-linux)"
command -v python3 >/dev/null || die "python3 is missing"

if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release --quiet -p ztrisk &&
        cargo build --release --quiet -p ztrisk-server --example bare) || die "build failed"
fi
[[ -x "$ZTRISK" && -x "$BARE" ]] || die "missing $ZTRISK or $BARE (build them, or unset SKIP_BUILD)"

STATUS=0

# ---------------------------------------------------------------------------------------------
# Throughput.
if [[ -z "${SKIP_THROUGHPUT:-}" ]]; then
    RESULTS="$WORK/results.tsv"
    : >"$RESULTS"

    taskset -c "$SERVER_CPU" "$BARE" 127.0.0.1:0 >"$WORK/bare.out" 2>"$WORK/bare.out.err" &
    BARE_PID=$!
    PIDS+=("$BARE_PID")
    wait_for_line "$WORK/bare.out" '^bare listening on http://' "$BARE_PID"
    BARE_PORT="$(sed -n 's|^bare listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$WORK/bare.out")"

    declare -A URL TOKEN_OF ACCOUNT_OF PID_OF
    for sync in $SYNC_MODES; do
        # A fresh database per mode: each has its own account and admin token. The GET runs
        # against the first one.
        start_ztrisk "ztrisk-$sync" "$(fresh_db "bench-$sync")" "$sync"
        URL[put_$sync]="$(behaviors_url "$PORT")"
        PID_OF[put_$sync]="$PID"
        TOKEN_OF[put_$sync]="$TOKEN"
        ACCOUNT_OF[put_$sync]="$ACCOUNT"
        if [[ -z "${URL[get]:-}" ]]; then
            URL[get]="${URL[put_$sync]}"
            PID_OF[get]="$PID"
            TOKEN_OF[get]="$TOKEN"
            ACCOUNT_OF[get]="$ACCOUNT"
        fi
        log "ztrisk --sync $sync on port $PORT (pid $PID)"
    done
    URL[bare]="http://127.0.0.1:$BARE_PORT/client/v4/accounts/${ACCOUNT_OF[get]}/zt_risk_scoring/behaviors"
    TOKEN_OF[bare]="${TOKEN_OF[get]}"
    PID_OF[bare]="$BARE_PID"
    log "bare axum on port $BARE_PORT (pid $BARE_PID)"

    TARGETS=(bare get)
    for sync in $SYNC_MODES; do TARGETS+=("put_$sync"); done
    lua_of() { case "$1" in put_*) echo "$BENCH_DIR/put.lua" ;; *) echo "$BENCH_DIR/get.lua" ;; esac; }

    # The response must be what we think it is before anything is measured.
    for t in "${TARGETS[@]}"; do
        TOKEN="${TOKEN_OF[$t]}"
        code="$(curl -s -o "$WORK/probe.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "${URL[$t]}")"
        [[ "$code" == 200 ]] || die "GET ${URL[$t]} answered HTTP $code: $(head -c 300 "$WORK/probe.json")"
        log "$t: GET answers 200 with $(wc -c <"$WORK/probe.json") bytes"
    done

    for conns in $CONNECTIONS; do
        log "warm-up: ${WARMUP}s per target, $conns connections"
        for t in "${TARGETS[@]}"; do
            TOKEN="${TOKEN_OF[$t]}"
            run_wrk "$(lua_of "$t")" "${URL[$t]}" "$WARMUP" "$conns" "${PID_OF[$t]}" >/dev/null
        done
        for ((round = 1; round <= ROUNDS; round++)); do
            for t in "${TARGETS[@]}"; do
                TOKEN="${TOKEN_OF[$t]}"
                wait_quiet
                line="$(run_wrk "$(lua_of "$t")" "${URL[$t]}" "$DURATION" "$conns" "${PID_OF[$t]}")"
                log "c=$conns round $round/$ROUNDS $t: $line"
                {
                    printf '%s\t%s\t%s' "$t" "$conns" "$round"
                    for f in rps p50_us p90_us p99_us max_us non2xx socket_errors srv_own srv_other cli_own cli_other steal; do
                        printf '\t%s' "$(field "$f" "$line")"
                    done
                    printf '\n'
                } >>"$RESULTS"
            done
        done
    done

    echo
    echo "ztrisk behaviors benchmark: $(nproc) cores, servers on cpu $SERVER_CPU, wrk ($WRK_THREADS thread) on cpu $CLIENT_CPU, ${DURATION}s per run"
    summary_status=0
    python3 "$BENCH_DIR/summary.py" "$RESULTS" || summary_status=$?
    case "$summary_status" in
        0) ;;
        2) [[ -z "${STRICT:-}" ]] || STATUS=2 ;;
        *) STATUS=1 ;;
    esac

    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    PIDS=()
fi

# ---------------------------------------------------------------------------------------------
# Durability: kill -9 the server under PUT load; every acknowledged PUT must be there after.
if [[ -z "${SKIP_DURABILITY:-}" ]]; then
    echo
    echo "kill -9 durability check (--sync $DURABILITY_SYNC, $ACK_THREADS connections, kill after ${KILL_AFTER}s)"
    DB="$(fresh_db durability)"
    ACCOUNT="" TOKEN=""
    start_ztrisk ztrisk-durability "$DB" "$DURABILITY_SYNC"
    [[ -n "$TOKEN" ]] || die "no admin token in the banner of the fresh database"
    URL_D="$(behaviors_url "$PORT")"
    VICTIM="$PID"

    wait_quiet
    taskset -c "$CLIENT_CPU" python3 "$BENCH_DIR/put_ack_check.py" load \
        --url "$URL_D" --token "$TOKEN" --threads "$ACK_THREADS" --acked "$WORK/acked.txt" &
    LOAD_PID=$!
    PIDS+=("$LOAD_PID")
    sleep "$KILL_AFTER"
    kill -0 "$LOAD_PID" 2>/dev/null || die "the load generator ended before the kill"
    kill -9 "$VICTIM"
    wait "$VICTIM" 2>/dev/null || true
    forget_pid "$VICTIM"
    echo "kill -9 sent to ztrisk (pid $VICTIM) during the load"
    load_status=0
    wait "$LOAD_PID" || load_status=$?
    forget_pid "$LOAD_PID"

    start_ztrisk ztrisk-restarted "$DB" "$DURABILITY_SYNC"
    echo "restarted ztrisk on the same database (port $PORT)"
    verify_status=0
    python3 "$BENCH_DIR/put_ack_check.py" verify \
        --url "$(behaviors_url "$PORT")" --token "$TOKEN" --acked "$WORK/acked.txt" \
        || verify_status=$?
    if ((load_status == 0 && verify_status == 0)); then
        echo "durability: PASS"
    else
        echo "durability: FAIL"
        STATUS=1
    fi
fi

exit "$STATUS"
