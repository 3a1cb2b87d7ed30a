#!/usr/bin/env bash
# The ingest adapters' benchmark (see bench/README.md): the same records posted as Cloudflare
# Logpush sends them (gzip NDJSON to /ingest/cloudflare/<dataset>) and as the equivalent native
# events (NDJSON to /events), interleaved on one server, durable on SQLite, server on one core.
# The target: the Logpush rate is at least 90% of the native rate for each dataset.
#
# Environment (all optional):
#   RECORDS=200000      records per measured run
#   ROUNDS=3            rounds of (native, logpush) per dataset; the figures are medians
#   DATASETS="gateway_dns access_requests"
#   USERS=100000        distinct users
#   CONNECTIONS=2       concurrent connections of the load generator
#   SERVER_CPU=0 CLIENT_CPU=1   cores (taskset) for the server and the load generator
#   SKIP_BUILD=1        use the existing release binary
#   STRICT=1            exit 2 when a dataset misses the 90% target
#   BACKEND=sqlite      or postgres (a fresh schema in $ZTRISK_TEST_POSTGRES)
#   BENCH_TMPDIR        where the temporary database goes (a real disk, not tmpfs)
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
RECORDS="${RECORDS:-200000}"
ROUNDS="${ROUNDS:-3}"
DATASETS="${DATASETS:-gateway_dns access_requests}"
USERS="${USERS:-100000}"
CONNECTIONS="${CONNECTIONS:-2}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
source "$BENCH_DIR/lib.sh"

if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building the release binary"
    (cd "$ROOT" && cargo build --release -q -p ztrisk)
fi

adapters_load() {
    taskset -c "$CLIENT_CPU" python3 "$BENCH_DIR/adapters_load.py" --records "$RECORDS" \
        --users "$USERS" --connections "$CONNECTIONS" "$@" -- "$URL" "$ACCOUNT" "$TOKEN"
}

start_ztrisk
log "warm-up: $RECORDS native gateway_dns events"
adapters_load --path native --dataset gateway_dns --id-prefix warm >/dev/null

offset=0
for round in $(seq "$ROUNDS"); do
    for dataset in $DATASETS; do
        for path in native logpush; do
            offset=$((offset + RECORDS / 100 + 60))
            result=$(adapters_load --path "$path" --dataset "$dataset" --id-prefix "r$round-$path" --t0-offset "$offset")
            log "round $round $dataset $path: $(field "$result" records_per_second) records/s"
            echo "$result" >>"$WORK/runs.jsonl"
        done
    done
done

python3 - "$WORK/runs.jsonl" "${STRICT:-}" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
strict = sys.argv[2] == "1"
missed = False
print()
print("| dataset | native /events records/s | Logpush gzip records/s | ratio | target |")
print("|---|---|---|---|---|")
for dataset in dict.fromkeys(r["dataset"] for r in runs):
    rate = {p: statistics.median(r["records_per_second"] for r in runs
                                 if r["dataset"] == dataset and r["path"] == p)
            for p in ("native", "logpush")}
    ratio = rate["logpush"] / rate["native"]
    missed |= ratio < 0.9
    print(f"| {dataset} | {rate['native']:,.0f} | {rate['logpush']:,.0f} | {ratio:.2f} | >= 0.90 {'ok' if ratio >= 0.9 else 'MISSED'} |")
sys.exit(2 if strict and missed else 0)
PY
