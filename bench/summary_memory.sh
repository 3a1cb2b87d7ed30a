#!/usr/bin/env bash
# Bounded memory of unpaged reads (issue 13, item 6; see bench/README.md): the server's
# resident memory while CONCURRENT clients each read GET /summary without paging (what the
# official SDKs send) from an account of SCORED scored users, against the idle server's, as a
# ratio. Each answer is streamed from the database (one chunk per request in memory).
#
# Environment (all optional):
#   SCORED=1000000      scored users in the account
#   CONCURRENT=4        unpaged summaries at once
#   SERVER_CPU=0 CLIENT_CPU=1   cores (taskset) for the server and the load
#   SKIP_BUILD=1        use the existing release binary
#   BACKEND=sqlite      or postgres (a fresh schema in $ZTRISK_TEST_POSTGRES)
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
SCORED="${SCORED:-1000000}"
CONCURRENT="${CONCURRENT:-4}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
source "$BENCH_DIR/lib.sh"

if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building the release binary"
    (cd "$ROOT" && cargo build --release -q -p ztrisk)
fi
start_ztrisk
log "building $SCORED scored users (one risk event each)"
load --events "$SCORED" --kind scored --connections 2 --id-prefix scored >/dev/null
sleep 2
log "$CONCURRENT concurrent unpaged GET /summary"
result="$(taskset -c "$CLIENT_CPU" python3 "$BENCH_DIR/summary_memory.py" "$URL" "$ACCOUNT" "$TOKEN" "$PID" "$CONCURRENT")"
python3 - "$result" "$SCORED" "$CONCURRENT" "$BACKEND" <<'PY'
import json, sys
r, scored, concurrent, backend = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
mb = lambda b: f"{b / 1e6:.0f} MB"
assert not r["errors"], r["errors"]
assert all(u == scored for u in r["users"]), r["users"]
print(f"backend {backend}, {scored:,} scored users, {concurrent} concurrent unpaged summaries")
print(f"  answers: {', '.join(mb(s) for s in r['sizes'])} in {r['seconds']} s")
print(f"  resident memory: idle {mb(r['idle'])}, peak {mb(r['peak'])}, after {mb(r['after'])}")
print(f"  peak / idle: {r['peak'] / r['idle']:.2f}")
PY
