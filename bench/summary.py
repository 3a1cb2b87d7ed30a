#!/usr/bin/env python3
"""Prints bench/behaviors.sh's summary table from its results file.

Each line of the results file is tab-separated:
  target connections round rps p50_us p90_us p99_us max_us non2xx socket_errors
  srv_own srv_other cli_own cli_other steal
where target is one of bare, get, put_full, put_normal, and the last five are % of one core
(see run_wrk in behaviors.sh).

A run is "disturbed" when something other than the server and wrk took more than
DISTURBED_PCT of either core (or the hypervisor stole it): on a shared machine a concurrent
build halves a figure. Figures are medians over the undisturbed rounds when there are any,
otherwise over all rounds (and the table says so). Rounds interleave the targets, so slower
drifts in the machine's speed hit every target alike.

Exit status: 0 when every target is met, 2 when a throughput target is missed, 3 when a
request failed (non-200 or socket error).
"""

import statistics
import sys

GET_RATIO_TARGET = 0.50
PUT_TARGET = 5000.0
DISTURBED_PCT = 15

LABELS = {
    "bare": "bare axum JSON endpoint",
    "get": "GET /behaviors (auth)",
    "put_full": "PUT /behaviors, --sync full",
    "put_normal": "PUT /behaviors, --sync normal",
}
COLUMNS = ("target conns round rps p50 p90 p99 max non2xx sock "
           "srv_own srv_other cli_own cli_other steal").split()


def ms(us):
    return f"{us / 1000:.2f} ms"


def disturbed(r):
    return max(r["srv_other"] + r["steal"], r["cli_other"]) > DISTURBED_PCT


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                values = line.rstrip("\n").split("\t")
                row = dict(zip(COLUMNS, values, strict=True))
                for k in COLUMNS[1:]:
                    row[k] = float(row[k])
                # Server CPU time per request: unlike req/s, barely moved by a busy neighbour.
                row["cost"] = row["srv_own"] / 100 * 1e6 / row["rps"] if row["rps"] else 0.0
                rows.append(row)
    return rows


def main(path):
    rows = load(path)
    status = 0
    for conns in sorted({r["conns"] for r in rows}):
        at = [r for r in rows if r["conns"] == conns]
        n_rounds = len({r["round"] for r in at})
        med = {}
        print()
        print(f"connections={conns:.0f}, {n_rounds} round(s); median of the undisturbed rounds "
              f"(* = disturbed: >{DISTURBED_PCT}% of a core taken by other processes)")
        print(f"  {'':31} {'req/s':>8} {'p50':>9} {'p99':>9} {'server':>7} {'wrk':>5}"
              f" {'CPU/req':>8}   req/s per round")
        for target in ("bare", "get", "put_full", "put_normal"):
            runs = sorted((r for r in at if r["target"] == target), key=lambda r: r["round"])
            if not runs:
                continue
            clean = [r for r in runs if not disturbed(r)]
            used = clean or runs
            m = {k: statistics.median(r[k] for r in used)
                 for k in ("rps", "p50", "p99", "srv_own", "cli_own", "cost")}
            med[target] = (m, used)
            per_round = " ".join(
                f"{r['rps']:,.0f}{'*' if disturbed(r) else ''}" for r in runs)
            note = "" if clean else "  (all rounds disturbed)"
            print(f"  {LABELS[target]:31} {m['rps']:>8,.0f} {ms(m['p50']):>9} {ms(m['p99']):>9} "
                  f"{m['srv_own']:>6.0f}% {m['cli_own']:>4.0f}% {m['cost']:>5.1f} us"
                  f"   {per_round}{note}")
            failed = sum(r["non2xx"] + r["sock"] for r in runs)
            if failed:
                print(f"  !! {target}: {failed:.0f} requests failed (non-200 or socket errors)")
                status = max(status, 3)
        print("  (server, wrk: CPU used by the server process and by wrk, in % of their core;"
              " CPU/req: server CPU time per request)")
        print()
        if "bare" in med and "get" in med:
            ratio = med["get"][0]["rps"] / med["bare"][0]["rps"]
            bare_by_round = {r["round"]: r for r in med["bare"][1]}
            paired = [g["rps"] / bare_by_round[g["round"]]["rps"]
                      for g in med["get"][1] if g["round"] in bare_by_round]
            ok = ratio >= GET_RATIO_TARGET
            status = status if ok else max(status, 2)
            print(f"  {'GET / bare':17} = {ratio:6.1%}   target >= {GET_RATIO_TARGET:.0%}   "
                  f"{'PASS' if ok else 'FAIL'}   (same-round pairs: "
                  f"{', '.join(f'{p:.0%}' for p in paired) or 'none'})")
            cost = med["bare"][0]["cost"] / med["get"][0]["cost"]
            print(f"  {'':17}   {cost:6.1%}   by server CPU time per request (less sensitive"
                  " to a busy neighbour)")
        for target in ("put_full", "put_normal"):
            if target not in med:
                continue
            ratio = med[target][0]["rps"] / PUT_TARGET
            name = "PUT (sync " + target.removeprefix("put_") + ")"
            line = f"  {name:17} = {ratio:5.2f}x the {PUT_TARGET:,.0f} req/s target"
            if target == "put_full":
                ok = ratio >= 1.0
                status = status if ok else max(status, 2)
                line += f"    {'PASS' if ok else 'FAIL'}"
            else:
                line += "    (informational)"
            print(line)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
