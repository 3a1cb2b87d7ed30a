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
            before=$(cpu_ticks "$PID")
            result=$(adapters_load --path "$path" --dataset "$dataset" --id-prefix "r$round-$path" --t0-offset "$offset")
            after=$(cpu_ticks "$PID")
            cpu_us=$(python3 -c "print(round(($after - $before) * 1e6 / $(getconf CLK_TCK) / $RECORDS, 2))")
            log "round $round $dataset $path: $(field "$result" records_per_second) records/s, server CPU $cpu_us us/record"
            python3 -c "import json,sys; r=json.loads(sys.argv[1]); r['cpu_us']=float(sys.argv[2]); print(json.dumps(r))" \
                "$result" "$cpu_us" >>"$WORK/runs.jsonl"
        done
    done
done

python3 - "$WORK/runs.jsonl" "${STRICT:-}" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
strict = sys.argv[2] == "1"
missed = False
print()
print("| dataset | native /events records/s | Logpush gzip records/s | ratio | target | server CPU per record, native / Logpush | CPU ratio |")
print("|---|---|---|---|---|---|---|")
for dataset in dict.fromkeys(r["dataset"] for r in runs):
    def median(key, path):
        return statistics.median(r[key] for r in runs if r["dataset"] == dataset and r["path"] == path)
    rate = {p: median("records_per_second", p) for p in ("native", "logpush")}
    cpu = {p: median("cpu_us", p) for p in ("native", "logpush")}
    ratio = rate["logpush"] / rate["native"]
    missed |= ratio < 0.9
    print(f"| {dataset} | {rate['native']:,.0f} | {rate['logpush']:,.0f} | {ratio:.2f} | >= 0.90 {'ok' if ratio >= 0.9 else 'MISSED'} "
          f"| {cpu['native']:.1f} / {cpu['logpush']:.1f} us | {cpu['native'] / cpu['logpush']:.2f} |")
sys.exit(2 if strict and missed else 0)
PY
