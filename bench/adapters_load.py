#!/usr/bin/env python3
"""Load generator for the ingest adapters: the same records as Cloudflare Logpush sends them
(gzip NDJSON to .../ingest/cloudflare/<dataset>) or as the equivalent native events (NDJSON to
.../events). Batches are built before the clock starts; every answer is checked (all records
accepted, none rejected).

Usage: adapters_load.py [--dataset gateway_dns|access_requests] [--path logpush|native]
                        [--records N] [--batch B] [--users U] [--connections C]
                        [--id-prefix P] [--t0-offset S] -- URL ACCOUNT TOKEN
Prints one JSON line: {"path", "dataset", "records", "seconds", "records_per_second",
"body_bytes"}.
"""
import argparse
import csv
import gzip
import http.client
import json
import os
import random
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
CENTROIDS = os.path.join(HERE, "..", "crates", "ztrisk-ingest", "src", "country_centroids.csv")
COUNTRIES = ["US", "GB", "DE", "FR", "JP", "AU", "BR", "IN", "SG", "CA"]


def centroids():
    with open(CENTROIDS, newline="") as f:
        return {row["iso2"]: (float(row["lat"]), float(row["lon"])) for row in csv.DictReader(f)}


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".%03dZ" % int(round((ts % 1) * 1000) % 1000)


def access_pair(rng, i, prefix, users, t0, places):
    """One Access login record and the native event it means."""
    user = rng.randrange(users)
    email = f"user{user}@example.com"
    country = COUNTRIES[user % len(COUNTRIES)] if rng.random() < 0.98 else rng.choice(COUNTRIES)
    allowed = rng.random() > 0.1
    ms = int((t0 + i * 0.01) * 1000)
    ray = f"{prefix}-{i}"
    record = {"Action": "login", "Allowed": allowed, "AppDomain": "wiki.example.com",
              "AppUUID": "123e4567-e89b-12d3-a456-426614174000", "Connection": "okta",
              "Country": country.lower(), "CreatedAt": ms * 1_000_000, "Email": email,
              "IPAddress": "198.51.100.%d" % (user % 250 + 1), "RayID": ray,
              "UserUID": "166befbb-00e3-5e20-bd6e-27245333949f"}
    lat, lon = places[country]
    native = {"id": ray, "type": "access_login", "timestamp": iso(ms / 1000), "user": {
        "email": email, "id": "166befbb-00e3-5e20-bd6e-27245333949f"},
        "success": allowed, "ip": record["IPAddress"],
        "location": {"lat": lat, "lon": lon, "country": country}, "app": "wiki.example.com"}
    return record, native


def dns_pair(rng, i, prefix, users, t0, _places):
    """One Gateway DNS record in a scored category and the native event it means."""
    user = rng.randrange(users)
    email = f"user{user}@example.com"
    ms = int((t0 + i * 0.01) * 1000)
    qid = f"{prefix}-{i}"
    names = ["Technology", "Technology", "New Domains"]
    query = f"site{rng.randrange(1000)}.example"
    record = {"ColoCode": "SJC", "Datetime": ms * 1_000_000, "DeviceID": "083a8354-d56c-11ed-9771-6a842b100cff",
              "Email": email, "Location": "Office", "PolicyID": "", "QueryCategoryIDs": [26, 155, 169],
              "QueryCategoryNames": names, "QueryID": qid, "QueryName": query, "QueryType": 1,
              "QueryTypeName": "A", "RCode": 0, "ResolverDecision": "allowedOnNoPolicyMatch",
              "SrcIP": "198.51.100.7"}
    native = {"id": qid, "type": "gateway_dns", "timestamp": iso(ms / 1000), "user": {"email": email},
              "query": query, "categories": names, "action": "allowedOnNoPolicyMatch"}
    return record, native


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", choices=["gateway_dns", "access_requests"], default="gateway_dns")
    ap.add_argument("--path", choices=["logpush", "native"], default="logpush")
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--id-prefix", default="run")
    ap.add_argument("--t0-offset", type=float, default=0, help="seconds added to the first event time")
    ap.add_argument("url")
    ap.add_argument("account")
    ap.add_argument("token")
    args = ap.parse_args()

    rng = random.Random(7)
    places = centroids()
    t0 = time.time() - 20 * 86400 + args.t0_offset
    pair = dns_pair if args.dataset == "gateway_dns" else access_pair
    bodies = []
    for start in range(0, args.records, args.batch):
        n = min(args.batch, args.records - start)
        pairs = [pair(rng, start + k, args.id_prefix, args.users, t0, places) for k in range(n)]
        if args.path == "logpush":
            text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r, _ in pairs)
            bodies.append((gzip.compress(text.encode(), compresslevel=6), n))
        else:
            text = "".join(json.dumps(e, separators=(",", ":")) + "\n" for _, e in pairs)
            bodies.append((text.encode(), n))

    url = urllib.parse.urlparse(args.url)
    base = f"{url.path}/accounts/{args.account}/zt_risk_scoring"
    if args.path == "logpush":
        target = f"{base}/ingest/cloudflare/{args.dataset}"
        headers = {"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8"}
    else:
        target = f"{base}/events"
        headers = {"Content-Type": "application/x-ndjson"}
    headers["Authorization"] = f"Bearer {args.token}"

    queue = list(reversed(bodies))
    lock = threading.Lock()
    failures = []

    def worker():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=300)
        while True:
            with lock:
                if not queue or failures:
                    break
                body, n = queue.pop()
            conn.request("POST", target, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            if response.status != 200:
                failures.append(f"HTTP {response.status}: {payload[:300]!r}")
                break
            result = json.loads(payload)["result"]
            stored = result["accepted"] + result["duplicates"]
            if stored != n or result["rejected"] or result.get("skipped", 0):
                failures.append(f"batch of {n}: {json.dumps(result)[:300]}")
                break
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    if failures:
        raise SystemExit("\n".join(failures))
    print(json.dumps({"path": args.path, "dataset": args.dataset, "records": args.records,
                      "seconds": round(seconds, 3), "records_per_second": round(args.records / seconds),
                      "body_bytes": sum(len(b) for b, _ in bodies)}))


if __name__ == "__main__":
    main()
