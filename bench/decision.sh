#!/usr/bin/env bash
# The decision endpoint's benchmark (spec 6.3, see bench/README.md): GET /decision for a
# scored user, with 100,000 scored users in the database, beside the bare axum endpoint measured
# in the same run. wrk and the server are pinned to different cores. Target: at least 50% of
# the bare endpoint's req/s.
#
# Environment (all optional):
#   SCORED=100000       scored users in the database
#   DURATION=10         seconds of each measured wrk run
#   ROUNDS=3            rounds of (bare, decision allow, decision deny); medians reported
#   CONNECTIONS=32      wrk connections
#   SERVER_CPU=0 CLIENT_CPU=1   cores (taskset) for the servers and wrk
#   SKIP_BUILD=1        use the existing release binaries
#   BACKEND=sqlite      or postgres (a fresh schema in $ZTRISK_TEST_POSTGRES)
#   STRICT=1            exit 2 when the target is missed
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
SCORED="${SCORED:-100000}"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-3}"
CONNECTIONS="${CONNECTIONS:-32}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
source "$BENCH_DIR/lib.sh"

command -v wrk >/dev/null || { log "installing wrk"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [[ -z "${SKIP_BUILD:-}" ]]; then
    log "building release binaries"
    (cd "$ROOT" && cargo build --release -q -p ztrisk && cargo build --release -q -p ztrisk-server --example bare)
fi

start_ztrisk
log "building $SCORED scored users (one risk event each, level high)"
load --events "$SCORED" --kind scored --connections 2 --id-prefix scored >/dev/null
start_bare

rps() { # url -> req/s (non-2xx answers are part of the policy here: 403 is a decision)
    ZTRISK_TOKEN="$TOKEN" taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
        -s "$BENCH_DIR/get.lua" "$1" | sed -n 's/^BENCH rps=\([0-9.]*\).*/\1/p'
}
decision="$URL/accounts/$ACCOUNT/zt_risk_scoring/decision"
for round in $(seq "$ROUNDS"); do
    bare=$(rps "$BARE_URL/client/v4/accounts/$ACCOUNT/zt_risk_scoring/behaviors")
    # scored7 is high: denied by the default policy, allowed with deny=unscored.
    allow=$(rps "$decision?email=scored7@example.com&deny=unscored")
    deny=$(rps "$decision?email=scored7@example.com")
    log "round $round: bare $bare, decision allow $allow, deny $deny req/s"
    echo "$bare $allow $deny" >>"$WORK/rounds.txt"
done
python3 - "$WORK/rounds.txt" "${STRICT:-}" <<'PY'
import statistics, sys
rows = [list(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
bare, allow, deny = (statistics.median(col) for col in zip(*rows))
print()
print("| endpoint | req/s (median) | vs bare, same run | target |")
print("|---|---|---|---|")
print(f"| bare axum JSON | {bare:,.0f} | 1.00 | |")
print(f"| GET /decision, allowed (200) | {allow:,.0f} | {allow / bare:.2f} | >= 0.50 {'ok' if allow >= bare / 2 else 'MISSED'} |")
print(f"| GET /decision, denied (403) | {deny:,.0f} | {deny / bare:.2f} | >= 0.50 {'ok' if deny >= bare / 2 else 'MISSED'} |")
sys.exit(2 if sys.argv[2] == "1" and min(allow, deny) < bare / 2 else 0)
PY
