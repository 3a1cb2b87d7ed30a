# Shared by the benchmark scripts (risk.sh, sharing.sh): the binaries, a work directory and
# cleanup of everything started, and starting servers and load. Source it after setting
# ROOT, BENCH_DIR, SERVER_CPU, CLIENT_CPU (and optionally BACKEND).

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
ZTRISK="$TARGET_DIR/release/ztrisk"
BARE="$TARGET_DIR/release/examples/bare"

log() { printf '==> %s\n' "$*" >&2; }
WORK="$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/ztrisk-bench.XXXXXX")"
PIDS=()
BACKEND="${BACKEND:-sqlite}"
PG_BASE="${ZTRISK_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
SCHEMA="ztrisk_riskbench_$$"
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    [[ "$BACKEND" == postgres ]] && psql -q "$PG_BASE" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

RECEIVER="$TARGET_DIR/release/examples/receiver"

# Starts ztrisk on a fresh database, enables every behavior; sets URL ACCOUNT TOKEN PID.
start_ztrisk() {
    local db="$WORK/ztrisk.db"
    rm -f "$db" "$db-wal" "$db-shm"
    if [[ "$BACKEND" == postgres ]]; then
        psql -q "$PG_BASE" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE; CREATE SCHEMA $SCHEMA" >/dev/null
        local sep='?'
        [[ "$PG_BASE" == *\?* ]] && sep='&'
        db="${PG_BASE}${sep}options=-c%20search_path%3D${SCHEMA}"
    fi
    taskset -c "$SERVER_CPU" "$ZTRISK" --database "$db" serve --listen 127.0.0.1:0 --rate-limit 0 ${SERVE_ARGS:-} \
        >"$WORK/ztrisk.out" 2>"$WORK/ztrisk.err" &
    PID=$!
    PIDS+=("$PID")
    for _ in $(seq 100); do grep -q "listening on" "$WORK/ztrisk.out" 2>/dev/null && break; sleep 0.1; done
    URL="$(sed -n 's/^ztrisk listening on \(http:[^ ]*\).*/\1/p' "$WORK/ztrisk.out")/client/v4"
    ACCOUNT="$(awk '/account id:/ {print $3}' "$WORK/ztrisk.out")"
    TOKEN="$(awk '/API token:/ {print $3}' "$WORK/ztrisk.out")"
    local all='{"behaviors":{"bench_signal":{"enabled":true,"risk_level":"high"}'
    for id in imp_travel high_dlp failed_logins sentinel_one crowdstrike_low_zta crowdstrike_medium_zta malicious_file suspicious_security_domain high_risk_domain; do
        all+=",\"$id\":{\"enabled\":true,\"risk_level\":\"medium\"}"
    done
    curl -sf -X PUT "$URL/accounts/$ACCOUNT/zt_risk_scoring/behaviors" -H "Authorization: Bearer $TOKEN" \
        -H 'content-type: application/json' -d "$all}}" >/dev/null
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_bare() {
    taskset -c "$SERVER_CPU" "$BARE" 127.0.0.1:0 >"$WORK/bare.out" 2>&1 &
    BARE_PID=$!
    PIDS+=("$BARE_PID")
    for _ in $(seq 50); do grep -q "listening on" "$WORK/bare.out" 2>/dev/null && break; sleep 0.1; done
    BARE_URL="$(sed -n 's/^bare listening on \(http:[^ ]*\).*/\1/p' "$WORK/bare.out")"
}

# Options first, then `--`: a token may begin with "-".
load() { taskset -c "$CLIENT_CPU" python3 "$BENCH_DIR/ingest_load.py" "$@" -- "$URL" "$ACCOUNT" "$TOKEN"; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

