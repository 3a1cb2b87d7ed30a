#!/usr/bin/env python3
"""Latency from a level change to its delivery, with an idle queue: posts one event that
raises a new user to `high`, notes when ztrisk acknowledged it (the change is committed then),
and waits for the receiver to record the SET. The receiver stamps arrivals with the same
clock (one machine).

Usage: sharing_latency.py URL ACCOUNT TOKEN RECEIVER_URL [--samples N]
"""
import argparse
import http.client
import json
import statistics
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("account")
    ap.add_argument("token")
    ap.add_argument("receiver")
    ap.add_argument("--samples", type=int, default=200)
    args = ap.parse_args()
    api = urllib.parse.urlparse(args.url)
    rec = urllib.parse.urlparse(args.receiver)
    conn = http.client.HTTPConnection(api.hostname, api.port, timeout=30)
    rconn = http.client.HTTPConnection(rec.hostname, rec.port, timeout=30)
    path = f"{api.path.rstrip('/')}/accounts/{args.account}/zt_risk_scoring/events"
    headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/json"}

    def arrivals():
        rconn.request("GET", "/stats")
        return json.loads(rconn.getresponse().read())["arrivals_ms"]

    latencies = []
    for i in range(args.samples):
        before = len(arrivals())
        event = [{"type": "behavior", "behavior": "bench_signal", "id": f"lat-{i}",
                  "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "user": {"email": f"latency{i}@example.com"}}]
        conn.request("POST", path, body=json.dumps(event), headers=headers)
        response = conn.getresponse()
        response.read()
        acked_ms = time.time() * 1000
        assert response.status == 200, response.status
        deadline = time.monotonic() + 10
        while True:
            got = arrivals()
            if len(got) > before:
                latencies.append(max(got[before] - acked_ms, 0.0))
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"sample {i}: no delivery within 10 s")
            time.sleep(0.0005)
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"\nlatency, change acknowledged -> SET received ({len(latencies)} samples, idle queue): "
          f"median {p50:.1f} ms, p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms")


if __name__ == "__main__":
    main()
