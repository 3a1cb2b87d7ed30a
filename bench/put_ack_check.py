#!/usr/bin/env python3
"""Durability check for PUT /behaviors: every acknowledged PUT must survive `kill -9`.

Two steps, driven by bench/behaviors.sh:

  load    Several threads, each with its own keep-alive http.client connection, send PUTs
          that each create a distinct custom behavior (ack_<thread>_<n>). Every id whose PUT
          was answered HTTP 200 is recorded as acknowledged. The threads run until the server
          goes away (behaviors.sh sends it SIGKILL mid-load) or --max-seconds pass; then the
          acknowledged ids are written to --acked, one per line.

  verify  After the server was restarted on the same database: GET /behaviors once and check
          that every acknowledged id is present. Prints the counts and exits 1 if any is
          missing.

Plain Python 3 standard library only.
"""

import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse


def split_url(url):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        sys.exit(f"put_ack_check: expected http://host:port/path, got {url!r}")
    return parts.hostname, parts.port, parts.path


class Worker(threading.Thread):
    def __init__(self, index, host, port, path, token, deadline):
        super().__init__(name=f"put-{index}", daemon=True)
        self.index = index
        self.host, self.port, self.path = host, port, path
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        self.deadline = deadline
        self.acked = []
        self.sent = 0
        self.rejected = []  # (id, status, first bytes of the body): answered, but not 200
        self.stopped_by = None  # the exception that ended the thread, if any
        self.stopped_at = None

    def run(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        n = 0
        try:
            while time.monotonic() < self.deadline:
                behavior = f"ack_{self.index}_{n}"
                n += 1
                body = json.dumps(
                    {"behaviors": {behavior: {"enabled": True, "risk_level": "high"}}}
                )
                self.sent += 1
                conn.request("PUT", self.path, body=body, headers=self.headers)
                response = conn.getresponse()
                payload = response.read()
                if response.status == 200:
                    self.acked.append(behavior)
                else:
                    self.rejected.append((behavior, response.status, payload[:200]))
        except (OSError, http.client.HTTPException) as e:
            # Expected once the server is killed: the request in flight is not acknowledged.
            self.stopped_by = f"{type(e).__name__}: {e}"
            self.stopped_at = time.monotonic()
        finally:
            conn.close()


def load(args):
    host, port, path = split_url(args.url)
    started = time.monotonic()
    deadline = started + args.max_seconds
    workers = [
        Worker(i, host, port, path, args.token, deadline) for i in range(args.threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started

    acked = [b for w in workers for b in w.acked]
    with open(args.acked, "w", encoding="utf-8") as f:
        for behavior in acked:
            f.write(behavior + "\n")
    sent = sum(w.sent for w in workers)
    rejected = [r for w in workers for r in w.rejected]
    interrupted = [w for w in workers if w.stopped_by is not None]
    print(
        f"load: {args.threads} threads, {sent} PUTs sent in {elapsed:.1f} s, "
        f"{len(acked)} acknowledged (HTTP 200), {len(rejected)} answered with another status, "
        f"{len(interrupted)} connections cut by the kill"
    )
    for behavior, status, payload in rejected[:5]:
        print(f"load: {behavior}: HTTP {status}: {payload!r}", file=sys.stderr)
    if interrupted:
        print(f"load: e.g. {interrupted[0].stopped_by}")
    if rejected:
        return 1
    if not interrupted:
        print("load: no connection was cut: the server was not killed during the load")
        return 1
    return 0


def verify(args):
    host, port, path = split_url(args.url)
    with open(args.acked, encoding="utf-8") as f:
        acked = [line.strip() for line in f if line.strip()]
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("GET", path, headers={"Authorization": f"Bearer {args.token}"})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    if response.status != 200:
        print(f"verify: GET {path}: HTTP {response.status}: {payload[:300]!r}")
        return 1
    present_ids = set(json.loads(payload)["result"]["behaviors"])
    stored = {b for b in present_ids if b.startswith("ack_")}
    missing = [b for b in acked if b not in present_ids]
    present = len(acked) - len(missing)
    unacked = len(stored - set(acked))
    print(
        f"verify: acknowledged={len(acked)} present={present} missing={len(missing)} "
        f"(and {unacked} stored whose acknowledgement was lost with the connection)"
    )
    if missing:
        print(f"verify: first missing: {', '.join(missing[:10])}")
        return 1
    if len(acked) < args.min_acked:
        print(f"verify: only {len(acked)} acknowledged PUTs, fewer than {args.min_acked}: "
              "the check proves too little")
        return 1
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("load", "verify"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True, help="http://127.0.0.1:PORT/.../behaviors")
        p.add_argument("--token", required=True)
        p.add_argument("--acked", required=True, help="file of acknowledged ids")
    sub.choices["load"].add_argument("--threads", type=int, default=8)
    sub.choices["load"].add_argument(
        "--max-seconds", type=float, default=60.0, help="stop even if nobody kills the server"
    )
    sub.choices["verify"].add_argument(
        "--min-acked", type=int, default=100, help="fail when fewer PUTs were acknowledged"
    )
    args = parser.parse_args()
    return load(args) if args.command == "load" else verify(args)


if __name__ == "__main__":
    sys.exit(main())
