#!/usr/bin/env python3
"""Server time of the dashboard's users page (bench/dashboard.sh; see bench/README.md).

Signs in like a browser (POST /dashboard/sign-in, the session cookie), checks the users page,
then times, one request at a time on one keep-alive connection, each view of the users page
and the baseline, the API's own paged summary (GET /summary?page=1&per_page=25 with the Bearer
token), interleaved in blocks so that a drift of the machine affects every target alike. Prints
a markdown table: median and p95 (ms, client side, to the full body), the ratio of each median
to the baseline's, and the server's CPU time per request (from /proc/PID/task/*/schedstat).

Usage: dashboard.py URL ACCOUNT TOKEN --pid PID --scored N [--requests 200] [--warmup 20]
                    [--block 20] [--limit-ms 50] [--extra PATH]... [--json FILE]
URL is the API base as bench/lib.sh sets it (http://127.0.0.1:PORT/client/v4). `--extra`
adds a view (a path under /dashboard/ACCOUNT/, e.g. 'users?q=scored1' or 'behaviors')
measured like the others but not checked against the target.
Exit status: 0 when the default view's median is under --limit-ms, 1 when it is not, 2 when a
check or a request failed.
"""
import argparse
import http.client
import json
import math
import os
import re
import statistics
import sys
import time
import urllib.parse


def die(message):
    print(f"dashboard.py: FAILED: {message}", file=sys.stderr)
    sys.exit(2)


def thousands(n):
    return f"{n:,}"


def server_cpu_ns(pid):
    """CPU time (ns) all the server's threads have used so far."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended since the listing
    return total


def postgres_cpu_ns():
    """CPU time (ns) all processes named postgres (the server, its backends) have used so far."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
            with open(f"/proc/{pid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def core_ticks():
    """{core: (busy, total)} jiffies from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            parts = line.split()
            if parts[0].startswith("cpu") and parts[0] != "cpu":
                values = [int(v) for v in parts[1:]]
                total = sum(values)
                out[int(parts[0][3:])] = (total - values[3] - values[4], total)
    return out


def wait_quiet(seconds, busy_limit=0.10):
    """Waits (at most `seconds`) until every core has been under `busy_limit` for a second."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        a = core_ticks()
        time.sleep(1)
        b = core_ticks()
        busy = max((b[c][0] - a[c][0]) / max(1, b[c][1] - a[c][1]) for c in b)
        if busy < busy_limit:
            return True
    return False


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects only if the server closed it."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.conn = None

    def request(self, method, path, headers, body=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                started = time.perf_counter()
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - started
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
                continue
            if response.will_close:
                self.conn.close()
                self.conn = None
            return response, data, elapsed
        raise AssertionError("unreachable")


def sign_in(client, token):
    body = urllib.parse.urlencode({"token": token})
    response, data, _ = client.request("POST", "/dashboard/sign-in", {
        "Content-Type": "application/x-www-form-urlencoded",
        "Sec-Fetch-Site": "same-origin",
        "Accept": "text/html",
    }, body)
    if response.status not in (302, 303):
        die(f"sign-in answered {response.status}, not a redirect: {data[:300]!r}")
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            m = re.match(r"\s*((?:__Host-)?ztrisk_session)=([^;]+)", value)
            if m:
                return f"{m.group(1)}={m.group(2)}"
    die(f"sign-in set no ztrisk_session cookie: {response.getheaders()}")


def counts_of(html):
    """The users page's counters: {'High': n, 'Medium': n, 'Low': n, 'Scored users': n}."""
    found = re.findall(r'<span class="n">([0-9,]+)</span>\s*<span class="label">([A-Za-z ]+?)(?: risk)?</span>', html)
    return {label: int(n.replace(",", "")) for n, label in found}


def check_page(name, response, data, checks):
    if response.status != 200:
        die(f"{name}: HTTP {response.status}: {data[:300]!r}")
    ctype = response.getheader("Content-Type", "")
    if not ctype.startswith("text/html"):
        die(f"{name}: Content-Type {ctype!r}, expected text/html")
    html = data.decode("utf-8", "replace")
    for needle in checks:
        if needle not in html:
            die(f"{name}: the page lacks {needle!r} ({len(data)} bytes; first 500: {html[:500]!r})")
    return html


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("account")
    ap.add_argument("token")
    ap.add_argument("--pid", type=int, required=True, help="the server's pid (for its CPU time)")
    ap.add_argument("--scored", type=int, required=True, help="scored users the page must count")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--block", type=int, default=20, help="requests of one target in a row")
    ap.add_argument("--limit-ms", type=float, default=50.0)
    ap.add_argument("--quiet-wait", type=float, default=30.0)
    ap.add_argument("--extra", action="append", default=[])
    ap.add_argument("--postgres", action="store_true",
                    help="also report the CPU time of the local PostgreSQL's processes")
    ap.add_argument("--label", default="")
    ap.add_argument("--json")
    args = ap.parse_args()

    base = urllib.parse.urlparse(args.url)
    api = base.path.rstrip("/")
    client = Client(base.hostname, base.port)
    cookie = sign_in(client, args.token)
    page = f"/dashboard/{args.account}/users"
    browser = {"Cookie": cookie, "Accept": "text/html"}
    bearer = {"Authorization": f"Bearer {args.token}", "Accept": "application/json"}
    per_page = 25
    targets = [
        # (key, label, path, headers, checks)
        ("default", "users page, default view", page, browser, ['<table class="users"']),
        ("level", "users page, `?level=high`", page + "?level=high", browser, ['<table class="users"']),
        ("count", "users page, `?order=event_count&dir=desc`", page + "?order=event_count&dir=desc",
         browser, ['<table class="users"']),
        ("page100", "users page, `?page=100`", page + "?page=100", browser,
         ['<table class="users"', f"{thousands(99 * per_page + 1)}–{thousands(100 * per_page)} of "]),
    ]
    for i, extra in enumerate(args.extra):
        targets.append((f"extra{i}", f"extra: `{extra}`", f"/dashboard/{args.account}/{extra.lstrip('/')}",
                        browser, []))
    summary_path = f"{api}/accounts/{args.account}/zt_risk_scoring/summary?page=1&per_page={per_page}"
    targets.append(("baseline", "baseline: API `GET /summary?page=1&per_page=25`", summary_path, bearer, []))

    # The checks: what a person would see, on every target once.
    response, data, _ = client.request("GET", page, browser)
    html = check_page("users page", response, data, ['<table class="users"'])
    counts = counts_of(html)
    if counts.get("Scored users") != args.scored:
        die(f"the users page counts {counts.get('Scored users')} scored users "
            f"(expected {thousands(args.scored)}; counters found: {counts})")
    if thousands(args.scored) not in html:
        die(f"the users page does not show {thousands(args.scored)!r}")
    table = html[html.index('<table class="users"'):]
    rows = table[:table.index("</table>")].count("<tr>") - 1
    if rows != per_page:
        die(f"the users page has {rows} rows, expected {per_page}")
    print(f"checked: users page 200 text/html, {len(data):,} bytes, {rows} rows; counters {counts}",
          file=sys.stderr)
    for key, label, path, headers, checks in targets:
        response, data, _ = client.request("GET", path, headers)
        if key == "baseline":
            if response.status != 200:
                die(f"{label}: HTTP {response.status}: {data[:300]!r}")
            body = json.loads(data)
            total = body.get("result_info", {}).get("total_count")
            users = body["result"]["users"]
            if len(users) != per_page or total != args.scored:
                die(f"{label}: {len(users)} users, total_count {total}")
        else:
            check_page(label, response, data, checks)

    for _ in range(args.warmup):
        for key, label, path, headers, _checks in targets:
            client.request("GET", path, headers)

    quiet = wait_quiet(args.quiet_wait) if args.quiet_wait > 0 else True
    if not quiet:
        print(f"the machine stayed busy for {args.quiet_wait:.0f} s: measuring anyway", file=sys.stderr)

    times = {t[0]: [] for t in targets}
    cpu = {t[0]: 0 for t in targets}
    pg_cpu = {t[0]: 0 for t in targets}
    pg_now = postgres_cpu_ns if args.postgres else (lambda: 0)
    size = {}
    ticks_before, client_before = core_ticks(), time.process_time()
    server_before, pg_before = server_cpu_ns(args.pid), pg_now()
    wall_before = time.monotonic()
    done = 0
    while done < args.requests:
        n = min(args.block, args.requests - done)
        for key, label, path, headers, _checks in targets:
            c0, p0 = server_cpu_ns(args.pid), pg_now()
            for _ in range(n):
                response, data, elapsed = client.request("GET", path, headers)
                if response.status != 200:
                    die(f"{label}: HTTP {response.status} during the measurement: {data[:300]!r}")
                times[key].append(elapsed)
                size[key] = len(data)
            cpu[key] += server_cpu_ns(args.pid) - c0
            pg_cpu[key] += pg_now() - p0
        done += n
    wall = time.monotonic() - wall_before
    server_total = (server_cpu_ns(args.pid) - server_before) / 1e9
    client_total = time.process_time() - client_before
    pg_total = (pg_now() - pg_before) / 1e9
    ticks_after = core_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    busy = sum(ticks_after[c][0] - ticks_before[c][0] for c in ticks_after) / hz
    others = max(0.0, busy - server_total - client_total - pg_total) / wall

    def ms(seconds):
        return seconds * 1000

    def pct(values, p):
        ordered = sorted(values)
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    result = {"label": args.label, "requests": args.requests, "scored": args.scored, "counts": counts,
              "others_cores": round(others, 3), "targets": {}}
    base_median = statistics.median(times["baseline"])
    for key, label, *_ in targets:
        median = statistics.median(times[key])
        result["targets"][key] = {
            "label": label,
            "median_ms": round(ms(median), 3),
            "p95_ms": round(ms(pct(times[key], 95)), 3),
            "ratio": round(median / base_median, 2),
            "server_cpu_ms": round(cpu[key] / 1e6 / len(times[key]), 3),
            "bytes": size[key],
        }
        if args.postgres:
            result["targets"][key]["postgres_cpu_ms"] = round(pg_cpu[key] / 1e6 / len(times[key]), 3)

    title = f"{args.label}: " if args.label else ""
    print(f"\n{title}{thousands(args.scored)} scored users, {args.requests} requests per target "
          f"(after {args.warmup} warm-up), one keep-alive connection, interleaved in blocks of {args.block}\n")
    pg_head = (" PostgreSQL CPU per request |", "---:|") if args.postgres else ("", "")
    print(f"| request | median | p95 | median / baseline | ztrisk CPU per request |{pg_head[0]} body |")
    print(f"|---|---:|---:|---:|---:|{pg_head[1]}---:|")
    for key, r in result["targets"].items():
        ratio = "1.00" if key == "baseline" else f"{r['ratio']:.2f}"
        pg = f" {r['postgres_cpu_ms']:.2f} ms |" if args.postgres else ""
        print(f"| {r['label']} | {r['median_ms']:.2f} ms | {r['p95_ms']:.2f} ms | {ratio} | "
              f"{r['server_cpu_ms']:.2f} ms |{pg} {r['bytes']:,} B |")
    flag = "  (disturbed: over 0.15)" if others > 0.15 else ""
    besides = "ztrisk, PostgreSQL and the client" if args.postgres else "ztrisk and the client"
    print(f"\nCPU of other processes than {besides} during the measurement: {others:.2f} of a core{flag}")
    default = result["targets"]["default"]["median_ms"]
    verdict = "PASS" if default < args.limit_ms else "FAIL"
    print(f"default view median {default:.2f} ms: target < {args.limit_ms:g} ms: {verdict} "
          f"({default / args.limit_ms:.2f} of the limit)")
    result["pass"] = verdict == "PASS"
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    sys.exit(0 if result["pass"] else 1)


if __name__ == "__main__":
    main()
