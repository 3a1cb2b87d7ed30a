#!/usr/bin/env bash
# Risk sharing benchmarks (issue 9; see bench/README.md), every figure beside a baseline of the
# same run:
#   1. ingest with an active Okta integration and a webhook on the account, against the same
#      ingest without them (the bench/risk.sh workload), rounds alternating;
#   2. delivery throughput: signed SETs/s to a loopback receiver, server on one core;
#   3. latency from a change (its ingest acknowledged) to its delivery, with an idle queue.
#
# Environment (all optional):
#   EVENTS=1000000 USERS=100000 CONNECTIONS=2   the ingest workload (as bench/risk.sh)
#   ROUNDS=3            ingest rounds per variant (alternating; medians reported)
#   SETS=20000          changes queued for the throughput run
#   SAMPLES=200         changes timed one by one for the latency run
#   SERVER_CPU=0 CLIENT_CPU=1   cores for ztrisk, and for the load generator and receiver
#   SKIP_BUILD=1        use the existing release binaries
#   SKIP_INGEST=1 / SKIP_THROUGHPUT=1 / SKIP_LATENCY=1
#   BACKEND=sqlite      or postgres (a fresh schema in $ZTRISK_TEST_POSTGRES)
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
EVENTS="${EVENTS:-1000000}"
USERS="${USERS:-100000}"
CONNECTIONS="${CONNECTIONS:-2}"
ROUNDS="${ROUNDS:-3}"
SETS="${SETS:-20000}"
SAMPLES="${SAMPLES:-200}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
source "$BENCH_DIR/lib.sh"

if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release -q -p ztrisk &&
        cargo build --release -q -p ztrisk-server --example bare --example receiver)
fi

taskset -c "$CLIENT_CPU" "$RECEIVER" 127.0.0.1:0 >"$WORK/receiver.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q "listening on" "$WORK/receiver.out" 2>/dev/null && break; sleep 0.1; done
RECEIVER_URL="$(sed -n 's/^receiver listening on \(http:[^ ]*\).*/\1/p' "$WORK/receiver.out")"

api() { # method rest [json]
    curl -sf -X "$1" "$URL/accounts/$ACCOUNT/zt_risk_scoring$2" -H "Authorization: Bearer $TOKEN" \
        -H 'content-type: application/json' ${3:+-d "$3"}
}
share() { # an active Okta integration, and a webhook unless told "okta-only", to the receiver
    api POST /integrations "{\"integration_type\":\"Okta\",\"tenant_url\":\"$RECEIVER_URL\"}" >/dev/null
    [[ "${1:-}" == okta-only ]] || api POST /webhooks "{\"url\":\"$RECEIVER_URL/hook\"}" >/dev/null
}
received() { curl -sf "$RECEIVER_URL/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }
median() { python3 -c 'import statistics,sys; print(round(statistics.median(float(x) for x in sys.argv[1:])))' "$@"; }

if [[ -z "${SKIP_INGEST:-}" ]]; then
    # plain: no destinations; shared: an Okta integration and a webhook, delivered by the
    # server's worker as the run goes; queued: the same destinations with the worker off
    # (--no-deliveries), which isolates what queuing costs ingest from what sending costs.
    plain=() shared=() queued=() received_counts=()
    for round in $(seq "$ROUNDS"); do
        for variant in plain shared queued; do
            SERVE_ARGS=""
            [[ "$variant" == queued ]] && SERVE_ARGS="--no-deliveries"
            start_ztrisk
            [[ "$variant" != plain ]] && share
            curl -sf -X DELETE "$RECEIVER_URL/stats" >/dev/null
            load --events 200000 --users "$USERS" --connections "$CONNECTIONS" --id-prefix warm >/dev/null
            result=$(load --events "$EVENTS" --users "$USERS" --connections "$CONNECTIONS" --id-prefix run --t0-offset 3000)
            rate=$(field "$result" events_per_second)
            log "round $round, $variant: $rate events/s ($(received) deliveries received so far)"
            case "$variant" in
                plain) plain+=("$rate") ;;
                shared) shared+=("$rate"); received_counts+=("$(received)") ;;
                queued) queued+=("$rate") ;;
            esac
            kill "$PID"; wait "$PID" 2>/dev/null || true
        done
    done
    SERVE_ARGS=""
    p=$(median "${plain[@]}"); s=$(median "${shared[@]}"); q=$(median "${queued[@]}")
    {
        printf '\ningest, %s events over %s users, medians of %s rounds (alternating):\n' "$EVENTS" "$USERS" "$ROUNDS"
        printf '  without destinations                       %s events/s\n' "$p"
        printf '  Okta integration + webhook, delivering     %s events/s = %s of the baseline (target >= 0.90)\n' \
            "$s" "$(python3 -c "print(round($s / $p, 3))")"
        printf '  the same, queued only (--no-deliveries)    %s events/s = %s of the baseline\n' \
            "$q" "$(python3 -c "print(round($q / $p, 3))")"
        printf '  (deliveries received during the delivering rounds: %s)\n' "${received_counts[*]}"
    } | tee "$WORK/ingest.txt"
fi

if [[ -z "${SKIP_THROUGHPUT:-}" ]]; then
    start_ztrisk
    # Only the integration: every change is one signed SET.
    share okta-only
    curl -sf -X DELETE "$RECEIVER_URL/stats" >/dev/null
    log "throughput: $SETS changes (one new user each), delivered as signed SETs"
    load --events "$SETS" --kind scored --connections "$CONNECTIONS" --id-prefix sets >/dev/null
    for _ in $(seq 600); do [[ "$(received)" -ge "$SETS" ]] && break; sleep 0.1; done
    curl -sf "$RECEIVER_URL/stats" | python3 -c '
import json, sys
s = json.load(sys.stdin)
a = sorted(s["arrivals_ms"])
n = s["count"]
span = max(a[-1] - a[0], 1) / 1000
print()
print("throughput: %d signed SETs in %.2f s = %.0f SETs/s (target >= 1,000 on one core: %.2fx)"
      % (n, span, n / span, n / span / 1000))' | tee "$WORK/throughput.txt"
    kill "$PID"; wait "$PID" 2>/dev/null || true
fi

if [[ -z "${SKIP_LATENCY:-}" ]]; then
    start_ztrisk
    share okta-only
    curl -sf -X DELETE "$RECEIVER_URL/stats" >/dev/null
    log "latency: $SAMPLES changes one at a time, idle queue"
    taskset -c "$CLIENT_CPU" python3 "$BENCH_DIR/sharing_latency.py" --samples "$SAMPLES" -- \
        "$URL" "$ACCOUNT" "$TOKEN" "$RECEIVER_URL" | tee "$WORK/latency.txt"
    kill "$PID"; wait "$PID" 2>/dev/null || true
fi
