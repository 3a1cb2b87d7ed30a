#!/usr/bin/env python3
"""Load generator for POST /events: pre-builds NDJSON batches of realistic events, then posts
them over a few keep-alive connections and reports events/s.

Usage: ingest_load.py URL ACCOUNT TOKEN [--events N] [--batch B] [--users U] [--connections C]
                      [--kind mix|scored] [--id-prefix P]
`--kind scored` sends one custom-behavior event per user (every user ends up scored), for
building a large summary.
"""
import argparse
import http.client
import json
import random
import threading
import time
import urllib.parse

CITIES = [(51.5074, -0.1278), (48.8566, 2.3522), (40.7128, -74.0060), (35.6762, 139.6503),
          (-33.8688, 151.2093), (52.52, 13.405), (37.7749, -122.4194), (1.3521, 103.8198)]


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % int((ts % 1) * 1000)


def mixed_event(rng, i, prefix, users, t0):
    user = rng.randrange(users)
    email = f"user{user}@example.com"
    ts = t0 + i * 0.01
    base = {"id": f"{prefix}-{i}", "timestamp": iso(ts), "user": {"email": email}}
    r = rng.random()
    if r < 0.35:
        lat, lon = CITIES[user % len(CITIES)] if rng.random() < 0.98 else rng.choice(CITIES)
        # One address per city: two logins from one IP are never travel (spec 6.1).
        base.update(type="access_login", success=rng.random() > 0.1, ip="198.51.100.%d" % (CITIES.index((lat, lon)) + 1),
                    location={"lat": lat, "lon": lon}, app="Jira")
    elif r < 0.6:
        base.update(type="gateway_dns", query=f"site{rng.randrange(1000)}.example",
                    categories=["Technology"] if rng.random() > 0.01 else ["Security Threats"], action="allow")
    elif r < 0.75:
        base.update(type="gateway_file", verdict="clean" if rng.random() > 0.002 else "malicious",
                    action="allow", file_name="report.pdf")
    elif r < 0.9:
        base.update(type="dlp_match", profile="Financial Information", policy="Block uploads")
    else:
        if rng.random() < 0.5:
            base.update(type="device_posture", provider="sentinel_one", device_id=f"d{user}",
                        active_threats=0 if rng.random() > 0.01 else 1)
        else:
            base.update(type="device_posture", provider="crowdstrike", device_id=f"d{user}",
                        zta_score=rng.randrange(40, 101))
    return base


def scored_event(i, prefix, t0):
    return {"id": f"{prefix}-{i}", "type": "behavior", "behavior": "bench_signal",
            "timestamp": iso(t0 + i * 0.001), "user": {"email": f"scored{i}@example.com"}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("account")
    ap.add_argument("token")
    ap.add_argument("--events", type=int, default=500_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--kind", choices=["mix", "scored"], default="mix")
    ap.add_argument("--id-prefix", default="bench")
    ap.add_argument("--t0-offset", type=float, default=0.0,
                    help="seconds added to the event clock, so a later run continues in time")
    args = ap.parse_args()

    rng = random.Random(42)
    t0 = time.time() - 86400 + args.t0_offset
    batches = []
    for start in range(0, args.events, args.batch):
        lines = []
        for i in range(start, min(start + args.batch, args.events)):
            event = scored_event(i, args.id_prefix, t0) if args.kind == "scored" else mixed_event(rng, i, args.id_prefix, args.users, t0)
            lines.append(json.dumps(event, separators=(",", ":")))
        batches.append(("\n".join(lines) + "\n").encode())

    url = urllib.parse.urlparse(args.url)
    path = f"{url.path.rstrip('/')}/accounts/{args.account}/zt_risk_scoring/events"
    headers = {"Authorization": f"Bearer {args.token}", "Content-Type": "application/x-ndjson"}
    lock = threading.Lock()
    queue = list(reversed(batches))
    totals = {"accepted": 0, "duplicates": 0, "risk_events": 0, "rejected": 0, "errors": 0}
    latencies = []

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
        while True:
            with lock:
                if not queue:
                    break
                body = queue.pop()
            started = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status != 200:
                    totals["errors"] += 1
                    print("HTTP", response.status, data[:300])
                    continue
                result = json.loads(data)["result"]
                for key in ("accepted", "duplicates", "risk_events"):
                    totals[key] += result[key]
                totals["rejected"] += len(result["rejected"])
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    out = dict(totals, events=args.events, seconds=round(elapsed, 3),
               events_per_second=round(args.events / elapsed),
               batch_p50_ms=round(latencies[len(latencies) // 2] * 1000, 1),
               batch_max_ms=round(latencies[-1] * 1000, 1))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
