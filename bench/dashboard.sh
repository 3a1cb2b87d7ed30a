#!/usr/bin/env bash
# Server time of the dashboard's users page (issue 14: "Server time to render the users page
# with 1,000,000 scored users: median under 50 ms"; see bench/README.md). One release ztrisk on
# a fresh database, USERS scored users loaded through the API, then bench/dashboard.py signs in
# like a browser and times, one request at a time on a keep-alive connection, four views of
# /dashboard/ACCOUNT/users and the baseline, the API's GET /summary?page=1&per_page=25, in the
# same run. Reported as medians, p95s and ratios to the baseline's median.
#
# Environment (all optional):
#   USERS=1000000       scored users in the account (at least 2,500: page 100 is measured)
#   SPREAD=1            spread them over the three levels and three days of the last 30 (a third
#                       each: see below); 0: one load, every user high, all events yesterday
#   N=200               measured requests per target (after WARMUP rounds of one request each)
#   WARMUP=20
#   BLOCK=20            requests of one target in a row; targets alternate block by block
#   LIMIT_MS=50         the default view's median must be under this (exit 1 otherwise)
#   EXTRA_VIEWS=""      more views to time, space separated paths under /dashboard/ACCOUNT/
#                       (e.g. "users?q=scored1 users?level=low&order=event_count&dir=desc")
#   ANALYZE=1           PostgreSQL: ANALYZE the schema after loading (what autovacuum would do
#                       soon after; the test instance may run with autovacuum off). 0: do not
#   QUIET_WAIT=30       wait up to this long for idle cores before measuring; 0 disables
#   HOLD=1              keep the server running after the measurement, until Ctrl-C (to EXPLAIN)
#   SERVER_CPU=0 CLIENT_CPU=1   cores (taskset) for the server and for the load and the client
#   SKIP_BUILD=1        use the existing target/release/ztrisk (warns when sources are newer)
#   BACKEND=sqlite      or postgres (a fresh schema in $ZTRISK_TEST_POSTGRES, dropped at the end)
#   BENCH_TMPDIR        where the temporary database goes
# Exit status: 0 when the default view's median is under LIMIT_MS; 1 when it is not; 2 when a
# check, a request or the load failed.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
USERS="${USERS:-1000000}"
SPREAD="${SPREAD:-1}"
N="${N:-200}"
WARMUP="${WARMUP:-20}"
BLOCK="${BLOCK:-20}"
LIMIT_MS="${LIMIT_MS:-50}"
EXTRA_VIEWS="${EXTRA_VIEWS:-}"
ANALYZE="${ANALYZE:-1}"
QUIET_WAIT="${QUIET_WAIT:-30}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
source "$BENCH_DIR/lib.sh"
die() { log "FAILED: $*"; exit 2; }

if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building the release binary"
    (cd "$ROOT" && cargo build --release -q -p ztrisk) || die "build failed"
fi
[[ -x "$ZTRISK" ]] || die "missing $ZTRISK (build it, or unset SKIP_BUILD)"
newer="$(find "$ROOT/crates" "$ROOT/dashboard" -newer "$ZTRISK" -type f \( -name '*.rs' -o -name '*.sql' -o -name '*.css' -o -name '*.svg' -o -name Cargo.toml \) -print -quit 2>/dev/null || true)"
[[ -z "$newer" ]] || log "WARNING: $ZTRISK is older than $newer: the figures are those of an older build"

start_ztrisk
[[ -n "$ACCOUNT" && -n "$TOKEN" ]] || die "ztrisk did not start: $(cat "$WORK/ztrisk.err")"
log "ztrisk $BACKEND, pid $PID, on core $SERVER_CPU"

# bench_signal is the custom behavior of `ingest_load.py --kind scored` (one event per user,
# users scored0..scored{n-1}, a millisecond apart from --t0-offset seconds before yesterday).
set_level() {
    curl -sf -X PUT "$URL/accounts/$ACCOUNT/zt_risk_scoring/behaviors" -H "Authorization: Bearer $TOKEN" \
        -H 'content-type: application/json' \
        -d "{\"behaviors\":{\"bench_signal\":{\"enabled\":true,\"risk_level\":\"$1\"}}}" >/dev/null ||
        die "could not set bench_signal to $1"
}
scored_load() { # events id-prefix days-before-yesterday
    local result
    result="$(load --events "$1" --kind scored --connections 2 --id-prefix "$2" --t0-offset="$((-$3 * 86400))")"
    python3 - "$result" "$1" <<'PY' || die "load $2: $result"
import json, sys
r, n = json.loads(sys.argv[1]), int(sys.argv[2])
assert r["errors"] == 0 and r["rejected"] == 0 and r["accepted"] == n and r["risk_events"] == n, r
print(f"    {n:,} events at {r['events_per_second']:,} events/s", file=sys.stderr)
PY
}

started=$SECONDS
if [[ "$SPREAD" == 1 ]]; then
    # Every user gets a low event 27 days ago; users 0..2/3 a medium one 14 days ago; users
    # 0..1/3 a high one yesterday. A user's level is their highest: a third of the users at each
    # level, with 1, 2 or 3 risk events, and the chart has bars on three days.
    log "loading $USERS scored users, a third at each level (low 27 days ago, medium 14, high yesterday)"
    set_level low;    scored_load "$USERS" low 26
    set_level medium; scored_load "$((USERS * 2 / 3))" medium 13
    set_level high;   scored_load "$((USERS / 3))" high 0
else
    log "loading $USERS scored users (one high risk event each, all yesterday)"
    scored_load "$USERS" scored 0
fi
log "loaded in $((SECONDS - started)) s"
if [[ "$BACKEND" == postgres && "$ANALYZE" == 1 ]]; then
    log "ANALYZE (schema $SCHEMA)"
    psql -q "$PG_BASE" -c "SET search_path TO $SCHEMA; ANALYZE" >/dev/null
fi
sleep 2

extra=()
pg_flag=""
[[ "$BACKEND" == postgres ]] && pg_flag=--postgres
for view in $EXTRA_VIEWS; do extra+=(--extra "$view"); done
status=0
taskset -c "$CLIENT_CPU" python3 "$BENCH_DIR/dashboard.py" "$URL" "$ACCOUNT" "$TOKEN" --pid "$PID" \
    --scored "$USERS" --requests "$N" --warmup "$WARMUP" --block "$BLOCK" --limit-ms "$LIMIT_MS" \
    --quiet-wait "$QUIET_WAIT" --label "$BACKEND" "${extra[@]}" ${pg_flag:+"$pg_flag"} || status=$?

if [[ -n "${HOLD:-}" ]]; then
    db="$WORK/ztrisk.db"
    [[ "$BACKEND" == postgres ]] && db="$PG_BASE (schema $SCHEMA)"
    log "holding: $URL account $ACCOUNT token $TOKEN database $db; Ctrl-C ends"
    while kill -0 "$PID" 2>/dev/null; do sleep 5; done
fi
exit "$status"
