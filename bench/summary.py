#!/usr/bin/env python3
"""Prints bench/behaviors.sh's summary table from its results file.

Each line of the results file (tab-separated):
  target  connections  round  rps  p50_us  p90_us  p99_us  max_us  non2xx  socket_errors
  srv_cpu  cli_cpu  steal
where target is one of: bare, get, put_full, put_normal.

Figures are the median over rounds (rounds interleave the targets, so on a noisy machine the
noise is spread over all of them alike). Exit status: 0 when every target is met, 2 when a
throughput target is missed, 3 when any request failed (non-200 or socket error).
"""

import statistics
import sys

GET_RATIO_TARGET = 0.50
PUT_TARGET = 5000.0

LABELS = {
    "bare": "bare axum JSON endpoint",
    "get": "GET /behaviors (auth)",
    "put_full": "PUT /behaviors, --sync full",
    "put_normal": "PUT /behaviors, --sync normal",
}


def ms(us):
    return f"{us / 1000:.2f} ms"


def main(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            t, c, r, rps, p50, p90, p99, mx, non2xx, sock, srv, cli, steal = (
                line.rstrip("\n").split("\t"))
            rows.append(
                dict(target=t, conns=int(c), round=int(r), rps=float(rps), p50=int(p50),
                     p90=int(p90), p99=int(p99), max=int(mx), non2xx=int(non2xx),
                     sock=int(sock), srv=int(srv), cli=int(cli), steal=int(steal))
            )
    status = 0
    for conns in sorted({r["conns"] for r in rows}):
        at = [r for r in rows if r["conns"] == conns]
        rounds = sorted({r["round"] for r in at})
        med = {}
        print()
        print(f"connections={conns}, median of {len(rounds)} round(s)")
        print(f"  {'':32} {'req/s':>10} {'p50':>10} {'p99':>10} {'srv cpu':>8} {'wrk cpu':>8}"
              "   per round req/s")
        for target in ("bare", "get", "put_full", "put_normal"):
            runs = [r for r in at if r["target"] == target]
            if not runs:
                continue
            m = {k: statistics.median(r[k] for r in runs)
                 for k in ("rps", "p50", "p99", "srv", "cli")}
            med[target] = m
            per_round = " ".join(f"{r['rps']:,.0f}" for r in sorted(runs, key=lambda r: r["round"]))
            print(f"  {LABELS[target]:32} {m['rps']:>10,.0f} {ms(m['p50']):>10} "
                  f"{ms(m['p99']):>10} {m['srv']:>7.0f}% {m['cli']:>7.0f}%   {per_round}")
            failed = sum(r["non2xx"] + r["sock"] for r in runs)
            if failed:
                print(f"  !! {target}: {failed} requests failed (non-200 or socket errors)")
                status = max(status, 3)
        print()
        if "bare" in med and "get" in med:
            ratio = med["get"]["rps"] / med["bare"]["rps"]
            paired = [
                g["rps"] / b["rps"]
                for g in at if g["target"] == "get"
                for b in at if b["target"] == "bare" and b["round"] == g["round"]
            ]
            ok = ratio >= GET_RATIO_TARGET
            status = status if ok else max(status, 2)
            print(f"  {'GET / bare':17} = {ratio:6.1%}   target >= {GET_RATIO_TARGET:.0%}   "
                  f"{'PASS' if ok else 'FAIL'}   (per round: "
                  f"{', '.join(f'{p:.0%}' for p in paired)})")
        for target in ("put_full", "put_normal"):
            if target not in med:
                continue
            ratio = med[target]["rps"] / PUT_TARGET
            name = "PUT (sync " + target.removeprefix("put_") + ")"
            line = f"  {name:17} = {ratio:5.2f}x the {PUT_TARGET:,.0f} req/s target"
            if target == "put_full":
                ok = ratio >= 1.0
                status = status if ok else max(status, 2)
                line += f"  {'PASS' if ok else 'FAIL'}"
            else:
                line += "  (informational)"
            print(line)
        steal = max(r["steal"] for r in at)
        if steal:
            print(f"  (hypervisor steal time up to {steal}% during a run: a noisy neighbour)")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
