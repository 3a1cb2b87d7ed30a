#!/usr/bin/env python3
"""Peak resident memory of a ztrisk process during concurrent unpaged GET /summary calls.

Usage: summary_memory.py URL ACCOUNT TOKEN PID CONCURRENT
Prints one line of JSON: idle and peak VmRSS (bytes), the answers' sizes, users, seconds.
Each call reads its answer as it arrives and keeps only its size and a parse of its last
bytes (so the client's own memory does not matter)."""

import json
import sys
import threading
import time
import urllib.request


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main() -> None:
    url, account, token, pid, concurrent = sys.argv[1:6]
    pid, concurrent = int(pid), int(concurrent)
    idle = min(rss(pid) for _ in range(5) if time.sleep(0.1) is None)
    sizes, users, errors = [], [], []
    go = threading.Event()

    def call() -> None:
        request = urllib.request.Request(
            f"{url}/accounts/{account}/zt_risk_scoring/summary",
            headers={"Authorization": f"Bearer {token}"},
        )
        go.wait()
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                size, count, tail = 0, 0, b""
                marker = b'"user_id"'
                while chunk := response.read(1 << 16):
                    size += len(chunk)
                    # The carried bytes are shorter than the marker: a marker cut by a chunk
                    # boundary is counted once, none twice.
                    window = tail[-(len(marker) - 1):] + chunk
                    count += window.count(marker)
                    tail = (tail + chunk)[-64:]
                assert tail.endswith(b"]}}"), tail
                sizes.append(size)
                users.append(count)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=call) for _ in range(concurrent)]
    for t in threads:
        t.start()
    peak = idle
    began = time.monotonic()
    go.set()
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss(pid))
        time.sleep(0.02)
    seconds = time.monotonic() - began
    after = rss(pid)
    print(json.dumps({"idle": idle, "peak": peak, "after": after, "sizes": sizes,
                      "users": users, "seconds": round(seconds, 2), "errors": errors}))


if __name__ == "__main__":
    main()
