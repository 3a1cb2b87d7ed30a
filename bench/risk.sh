#!/usr/bin/env bash
# The risk engine's benchmarks (see bench/README.md):
#   1. detector core in process, one core          (cargo bench -p ztrisk-core --bench detect)
#   2. ingest over HTTP, NDJSON batches of 10,000, durable on SQLite, server on one core
#   3. GET /summary?per_page=50 with 1,000,000 scored users: latency
# Each HTTP figure is reported beside the bare axum endpoint measured in the same run.
#
# Environment (all optional):
#   EVENTS=1000000      events in the measured ingest run (after a warm-up of 200,000)
#   USERS=100000        distinct users in the ingest mix
#   SCORED=1000000      scored users built for the summary benchmark
#   CONNECTIONS=2       concurrent ingest connections
#   DURATION=10         seconds of each wrk latency run
#   SERVER_CPU=0 CLIENT_CPU=1   cores (taskset) for the server and the load generators
#   SKIP_BUILD=1        use the existing release binaries
#   SKIP_CORE=1 / SKIP_INGEST=1 / SKIP_SUMMARY=1   leave a part out
#   BACKEND=sqlite      or postgres: the server runs on a fresh schema in $ZTRISK_TEST_POSTGRES
#                       (default postgres://postgres@127.0.0.1:5432/test), dropped at the end
#   BENCH_TMPDIR        where the temporary database goes (a real disk, not tmpfs)
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
EVENTS="${EVENTS:-1000000}"
USERS="${USERS:-100000}"
SCORED="${SCORED:-1000000}"
CONNECTIONS="${CONNECTIONS:-2}"
DURATION="${DURATION:-10}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
source "$BENCH_DIR/lib.sh"

command -v wrk >/dev/null || { log "installing wrk"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release -q -p ztrisk && cargo build --release -q -p ztrisk-server --example bare)
fi

if [[ -z "${SKIP_CORE:-}" ]]; then
    log "detector core (one core)"
    (cd "$ROOT" && taskset -c "$SERVER_CPU" cargo bench -q -p ztrisk-core --bench detect 2>/dev/null) | tee "$WORK/core.txt"
fi

if [[ -z "${SKIP_INGEST:-}" ]]; then
    start_ztrisk
    log "ingest warm-up: 200,000 events over $USERS users"
    load --events 200000 --users "$USERS" --connections "$CONNECTIONS" --id-prefix warm >/dev/null
    log "ingest: $EVENTS events in NDJSON batches of 10,000, $CONNECTIONS connections"
    before=$(cpu_ticks "$PID")
    result=$(load --events "$EVENTS" --users "$USERS" --connections "$CONNECTIONS" --id-prefix run --t0-offset 3000)
    after=$(cpu_ticks "$PID")
    echo "$result"
    rate=$(field "$result" events_per_second)
    cpu_us=$(python3 -c "print(round(($after - $before) * 1e6 / $(getconf CLK_TCK) / $EVENTS, 2))")
    printf '\ningest: %s events/s (%.2fx the 100,000 target); server CPU %s us/event\n' \
        "$rate" "$(python3 -c "print($rate / 100000)")" "$cpu_us" | tee "$WORK/ingest.txt"
    kill "$PID"; wait "$PID" 2>/dev/null || true
fi

if [[ -z "${SKIP_SUMMARY:-}" ]]; then
    start_ztrisk
    log "building $SCORED scored users (one risk event each)"
    load --events "$SCORED" --kind scored --connections "$CONNECTIONS" --id-prefix scored >/dev/null
    start_bare
    latency() { # url -> "p50 p99 req/s" in ms
        taskset -c "$CLIENT_CPU" wrk -t1 -c1 -d"${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$1" |
            python3 -c '
import re, sys
text = sys.stdin.read()
def ms(label):
    m = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
print(round(ms("50%"), 3), round(ms("99%"), 3), re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))'
    }
    read -r bare50 bare99 _ <<<"$(latency "$BARE_URL/client/v4/accounts/$ACCOUNT/zt_risk_scoring/behaviors")"
    read -r sum50 sum99 sumrps <<<"$(latency "$URL/accounts/$ACCOUNT/zt_risk_scoring/summary?per_page=50")"
    read -r deep50 deep99 _ <<<"$(latency "$URL/accounts/$ACCOUNT/zt_risk_scoring/summary?per_page=50&page=1000&order_by=timestamp")"
    {
        printf '\nGET /summary?per_page=50 with %s scored users (one connection):\n' "$SCORED"
        printf '  summary page 1      p50 %s ms  p99 %s ms  (%s req/s)\n' "$sum50" "$sum99" "$sumrps"
        printf '  summary page 1000   p50 %s ms  p99 %s ms  (order_by=timestamp)\n' "$deep50" "$deep99"
        printf '  bare axum endpoint  p50 %s ms  p99 %s ms  (same run)\n' "$bare50" "$bare99"
        printf '  median vs the 10 ms target: %sx of the budget; vs bare: %sx\n' \
            "$(python3 -c "print(round($sum50 / 10, 3))")" "$(python3 -c "print(round($sum50 / max($bare50, 0.001), 1))")"
    } | tee "$WORK/summary.txt"
fi
