"""Crash test (spec 3.1 durability and idempotency, 4.2 durable outbox): ``kill -9`` in the
middle of sustained ingest and webhook deliveries, restart on the same database, and prove with
event ids and counts that nothing acknowledged is lost and nothing is counted twice.

Every event is of a custom behavior (``crash_low``, ``crash_medium``, ``crash_high``) and each
fires exactly once: the events of one user are an hour of event time apart, more than the
behaviors' repeat suppression, so a user's risk events are exactly the user's stored events, and
their evidence names the input event's id. Each thread owns its users and sends each user three
batches in turn (low, then medium, then high), so level changes, and webhook deliveries, go on
until the kill. The webhook receiver refuses the first attempt of every third delivery (503),
so some deliveries are waiting for a retry when the server dies.

After the restart the client does what a log shipper does: it sends again every batch it got
no answer for, then every acknowledged event once more. Then:

- every acknowledged batch was stored before the kill (all its events are duplicates now), and
  a batch without an answer was stored whole or not at all;
- each user's risk events name each event the client sent exactly once (no id lost, none
  twice), the summary counts them, and the user's level is the highest level sent;
- every delivery the outbox holds (those queued before the kill included) ends ``delivered``
  or ``superseded``, each delivered one reached the receiver (at least once: a retry resends the
  same webhook-id with the same bytes), nothing reached it that the outbox does not list, and
  each user's changes chain from unscored to the user's final level, the newest delivered.
"""

from __future__ import annotations

import collections
import json
import signal
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from conftest import BACKEND, NOTES, DedicatedServer

LEVELS = ("low", "medium", "high")
BEHAVIORS = {level: f"crash_{level}" for level in LEVELS}
RANK = {None: 0, "low": 1, "medium": 2, "high": 3}
THREADS = 4
BATCH = 8  # events per batch: one user, one level
LOAD_S = 2.0  # sustained load before the kill
MAX_BATCHES = 5000  # per thread: the load loop is bounded in count as well as in time
SETTLE_S = 30.0  # deliveries claimed by the killed process are released after their lease
# (SQLite: at once on restart; PostgreSQL: 15 s)
BASE = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=60)


# --------------------------------------------------------------------------------------------
# a webhook receiver on loopback


class Receiver:
    """Records every POST. The first attempt of every third webhook-id gets a 503 (retried
    later); everything else a 200 after a short delay, so deliveries are in flight."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        self.seen: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                wid = headers.get("webhook-id", "")
                with receiver.lock:
                    first = wid not in receiver.seen
                    receiver.seen[wid] = receiver.seen.get(wid, 0) + 1
                    refuse = first and len(receiver.seen) % 3 == 0
                    status = 503 if refuse else 200
                    receiver.received.append({"id": wid, "headers": headers, "body": body, "status": status})
                if not refuse:
                    time.sleep(0.005)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            # The delivery worker opens up to 128 connections at once; socketserver's default
            # backlog of 5 would drop SYNs and turn them into timeouts.
            request_queue_size = 256

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, name="crash-receiver", daemon=True).start()

    def accepted(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.received if r["status"] == 200]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.close()


# --------------------------------------------------------------------------------------------
# the client side: batches, who sent what, what was acknowledged


@dataclass
class User:
    email: str
    id: str


@dataclass
class Batch:
    key: str
    user: User
    level: str
    events: list[dict[str, Any]]

    @property
    def ids(self) -> list[str]:
        return [e["id"] for e in self.events]


@dataclass
class Load:
    """What the sending threads did, shared under ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: list[Batch] = field(default_factory=list)  # every batch that was POSTed (at least tried)
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)  # batch key -> the 200's result
    unanswered: list[Batch] = field(default_factory=list)  # no response: the connection failed
    refused: list[str] = field(default_factory=list)  # any other answer (a bug under load)


def make_batch(thread: int, j: int) -> Batch:
    """Thread ``thread``'s ``j``-th batch: user ``j // 3`` of the thread, at level ``j % 3``."""
    n, step = divmod(j, 3)
    email = f"crash-t{thread}-u{n}@example.com"
    user = User(email=email, id=str(uuid.uuid5(uuid.NAMESPACE_URL, email)))
    level = LEVELS[step]
    events = []
    for i in range(BATCH):
        hour = step * BATCH + i  # distinct per user: every event fires once
        events.append({
            "id": f"crash-t{thread}-b{j}-e{i}",
            "type": "behavior",
            "behavior": BEHAVIORS[level],
            "timestamp": (BASE + timedelta(hours=hour)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "user": {"email": email, "id": user.id},
            "details": {"batch": j, "thread": thread},
        })
    return Batch(key=f"t{thread}-b{j}", user=user, level=level, events=events)


def events_url(v4: str, account: str) -> str:
    return f"{v4}/accounts/{account}/zt_risk_scoring/events"


def sender(thread: int, url: str, token: str, load: Load, stop: threading.Event) -> None:
    deadline = time.monotonic() + LOAD_S + 10.0
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=10.0) as client:
        for j in range(MAX_BATCHES):
            if stop.is_set() or time.monotonic() > deadline:
                return
            batch = make_batch(thread, j)
            with load.lock:
                load.sent.append(batch)
            try:
                resp = client.post(url, json=batch.events)
            except httpx.TransportError:
                with load.lock:
                    load.unanswered.append(batch)
                return  # the server is gone
            with load.lock:
                if resp.status_code == 200:
                    load.acked[batch.key] = resp.json()["result"]
                else:
                    load.refused.append(f"{batch.key}: HTTP {resp.status_code} {resp.text[:300]}")
                    return


# --------------------------------------------------------------------------------------------
# API helpers


def call(v4: str, account: str, token: str, method: str, rest: str, body: Any = None) -> Any:
    resp = httpx.request(
        method, f"{v4}/accounts/{account}/zt_risk_scoring{rest}", json=body,
        headers={"Authorization": f"Bearer {token}"}, timeout=30.0,
    )
    assert resp.status_code == 200, f"{method} {rest}: HTTP {resp.status_code} {resp.text[:500]}"
    return resp.json()


def post(v4: str, account: str, token: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    result = call(v4, account, token, "POST", "/events", events)["result"]
    assert result["rejected"] == [], result
    return result


def deliveries(v4: str, account: str, token: str, webhook: str) -> list[dict[str, Any]]:
    """Every delivery of the webhook, all pages (while changes are still being queued, a row
    may move to the next page between two reads: the first read of an id is kept)."""
    rows: dict[str, dict[str, Any]] = {}
    page = 1
    while True:
        body = call(v4, account, token, "GET", f"/webhooks/{webhook}/deliveries?per_page=1000&page={page}")
        for d in body["result"]:
            rows.setdefault(d["id"], d)
        if page * 1000 >= body["result_info"]["total_count"]:
            return list(rows.values())
        page += 1


# --------------------------------------------------------------------------------------------
# the test


def test_kill_9_during_ingest_and_deliveries_loses_nothing_and_counts_nothing_twice(
    dedicated_server: DedicatedServer, receiver: Receiver
) -> None:
    srv = dedicated_server
    account, token = srv.account, srv.token

    client = srv.client()
    client.zero_trust.risk_scoring.behaviours.update(
        account_id=account,
        behaviors={b: {"enabled": True, "risk_level": level} for level, b in BEHAVIORS.items()},  # type: ignore[misc]
    )
    hook = call(srv.v4, account, token, "POST", "/webhooks",
                {"url": receiver.url, "format": "standard", "min_level": "low"})["result"]
    webhook, secret = hook["id"], hook["secret"]

    # ---- sustained load, then kill -9 in the middle of it
    load = Load()
    stop = threading.Event()
    threads = [
        threading.Thread(target=sender, args=(t, events_url(srv.v4, account), token, load, stop),
                         name=f"crash-sender-{t}", daemon=True)
        for t in range(THREADS)
    ]
    for t in threads:
        t.start()
    load_started = time.monotonic()
    time.sleep(LOAD_S)
    before_kill = deliveries(srv.v4, account, token, webhook)
    with load.lock:
        acked_before_kill = len(load.acked)
    assert srv.stop(signal.SIGKILL) == -signal.SIGKILL
    stop.set()
    for t in threads:
        t.join(timeout=15)
        assert not t.is_alive(), f"{t.name} did not stop"
    load_s = time.monotonic() - load_started

    assert not load.refused, f"batches refused under load (not a crash): {load.refused[:5]}"
    assert acked_before_kill >= THREADS * 3, (
        f"only {acked_before_kill} batches acknowledged in {LOAD_S} s: too little load to test anything")
    pending_at_kill = [d for d in before_kill if d["status"] == "pending"]
    assert pending_at_kill, (
        "no delivery was pending when the server was killed, so the test proves nothing about the "
        f"outbox; deliveries then: {collections.Counter(d['status'] for d in before_kill)}")
    by_key = {b.key: b for b in load.sent}
    for key, result in load.acked.items():
        n = len(by_key[key].events)
        assert (result["accepted"], result["duplicates"], result["risk_events"]) == (n, 0, n), (
            f"batch {key} of fresh events, before the kill: {result}")

    # ---- restart on the same database; send again what got no answer, then everything
    srv.start()
    restarted = time.monotonic()
    stored_at_kill = []
    for batch in load.unanswered:
        result = post(srv.v4, account, token, batch.events)
        n = len(batch.events)
        assert (result["accepted"], result["duplicates"]) in ((n, 0), (0, n)), (
            f"batch {batch.key} sent without an answer was stored in part: {result}")
        assert result["risk_events"] == result["accepted"], (
            f"batch {batch.key} sent again after the restart: {result}; each new event fires once, so "
            "accepted events without their risk event were already stored: counted twice")
        stored_at_kill.append(result["duplicates"] == n)
    acked_events = [e for key in load.acked for e in by_key[key].events]
    for i in range(0, len(acked_events), 500):
        chunk = acked_events[i:i + 500]
        result = post(srv.v4, account, token, chunk)
        assert (result["accepted"], result["duplicates"], result["risk_events"]) == (0, len(chunk), 0), (
            f"acknowledged events sent again were not all duplicates: {result}; "
            f"an acknowledged event was lost (accepted > 0) or the retry counted (risk_events > 0)")
    for batch in load.unanswered:  # a second retry of those never counts either
        result = post(srv.v4, account, token, batch.events)
        assert (result["accepted"], result["duplicates"], result["risk_events"]) == (0, len(batch.events), 0), (
            batch.key, result)

    # ---- every event sent is stored exactly once; counts and levels follow from the events
    expected: dict[str, dict[str, Any]] = {}
    for batch in [by_key[key] for key in load.acked] + load.unanswered:
        u = expected.setdefault(batch.user.email, {"id": batch.user.id, "ids": [], "level": None})
        u["ids"] += batch.ids
        if RANK[batch.level] > RANK[u["level"]]:
            u["level"] = batch.level
    summary = client_summary(srv, account)
    assert set(summary) == set(expected), (
        f"users in the summary that were never sent: {sorted(set(summary) - set(expected))[:5]}; "
        f"users sent but missing: {sorted(set(expected) - set(summary))[:5]}")
    for email, want in expected.items():
        got = summary[email]
        assert got["user_id"] == want["id"], (email, got)
        assert (got["event_count"], got["max_risk_level"]) == (len(want["ids"]), want["level"]), (
            f"{email}: summary says {got['event_count']} risk events at {got['max_risk_level']}, "
            f"the events sent imply {len(want['ids'])} at {want['level']}")
        user = call(srv.v4, account, token, "GET", f"/{want['id']}?per_page=1000")["result"]
        assert user["risk_level"] == want["level"], (email, user["risk_level"], want["level"])
        stored = collections.Counter(
            e["event_details"]["events"][0]["id"] for e in user["events"])
        twice = sorted(i for i, n in stored.items() if n > 1)
        lost = sorted(set(want["ids"]) - set(stored))
        invented = sorted(set(stored) - set(want["ids"]))
        assert not (twice or lost or invented), (
            f"{email}: counted twice {twice[:5]}, lost {lost[:5]}, never sent {invented[:5]}")

    # ---- every queued change is delivered (or superseded by a newer one that is)
    deadline = time.monotonic() + SETTLE_S
    while True:
        listed = deliveries(srv.v4, account, token, webhook)
        if all(d["status"] != "pending" for d in listed) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    time.sleep(0.3)  # a resend racing the last settle would arrive by now
    statuses = collections.Counter(d["status"] for d in listed)
    assert set(statuses) <= {"delivered", "superseded"}, (
        f"deliveries not settled {SETTLE_S:.0f} s after the restart: {dict(statuses)}; "
        f"e.g. {[d for d in listed if d['status'] not in ('delivered', 'superseded')][:3]}")
    listed_ids = {d["id"] for d in listed}
    lost_rows = [d for d in before_kill if d["id"] not in listed_ids]
    assert not lost_rows, f"deliveries listed before the kill are gone after it: {lost_rows[:3]}"

    accepted = receiver.accepted()
    verifier = Webhook(secret)
    bodies: dict[str, bytes] = {}
    for r in accepted:
        verifier.verify(r["body"], r["headers"])  # raises if the signature is wrong
        first = bodies.setdefault(r["id"], r["body"])
        assert first == r["body"], f"webhook-id {r['id']} was sent again with other bytes"
    delivered = {d["id"] for d in listed if d["status"] == "delivered"}
    assert set(bodies) - listed_ids == set(), (
        f"the receiver got webhook-ids the outbox does not list: {sorted(set(bodies) - listed_ids)[:5]}")
    assert delivered - set(bodies) == set(), (
        f"deliveries marked delivered never reached the receiver: {sorted(delivered - set(bodies))[:5]}")
    # Received but not marked delivered: a delivery in flight when it was overtaken (at the kill,
    # the receiver answered and the process died before recording it) that a newer change of
    # the same user then superseded; the newer one is delivered (checked below).
    status_of = {d["id"]: d["status"] for d in listed}
    unrecorded = {i: status_of[i] for i in set(bodies) - delivered}
    assert set(unrecorded.values()) <= {"superseded"}, (
        f"received but neither delivered nor superseded: {list(unrecorded.items())[:5]}")

    # Each user's changes chain from unscored up to the final level, none twice, and the newest
    # is the one delivered (an older one may be superseded, never the newest).
    changes: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for d in listed:
        changes[d["email"]].append(d)
    assert set(changes) == set(expected), (
        f"users with changes {len(changes)} != users sent {len(expected)}: "
        f"missing {sorted(set(expected) - set(changes))[:5]}")
    for email, rows in changes.items():
        rows.sort(key=lambda d: RANK[d["current_level"]])
        chain = [(d["previous_level"], d["current_level"]) for d in rows]
        levels = [None] + [d["current_level"] for d in rows]
        assert chain == list(zip(levels, levels[1:])), f"{email}: changes do not chain: {chain}"
        assert levels[-1] == expected[email]["level"], (email, chain, expected[email]["level"])
        assert rows[-1]["status"] == "delivered", f"{email}: the newest change was not delivered: {rows[-1]}"
    row_of = {d["id"]: d for d in listed}
    for wid, body in bodies.items():
        data = json.loads(body)["data"]
        row = row_of[wid]
        assert (data["email"], data["previous_level"], data["current_level"]) == (
            row["email"], row["previous_level"], row["current_level"]), (wid, data, row)

    # The deliveries pending at the kill, one by one: each went out after the restart, or was
    # superseded by a newer change that did.
    sent_after = 0
    for d in pending_at_kill:
        now = row_of[d["id"]]
        assert now["status"] in ("delivered", "superseded"), (d, now)
        sent_after += now["status"] == "delivered"

    resent = len(accepted) - len(bodies)
    NOTES.append(
        f"crash test ({BACKEND}): {len(load.acked)} batches of {BATCH} events acknowledged in "
        f"{load_s:.1f} s by {THREADS} threads, {len(load.unanswered)} unanswered at the kill "
        f"({sum(stored_at_kill)} of them had been stored); {len(pending_at_kill)} deliveries pending "
        f"at the kill, {sent_after} of them delivered after the restart, the others superseded; "
        f"in all {dict(statuses)}, {resent} sent twice, {len(unrecorded)} received then superseded; "
        f"checked {time.monotonic() - restarted:.1f} s after the restart")


def client_summary(srv: DedicatedServer, account: str) -> dict[str, dict[str, Any]]:
    """GET /summary through the official SDK: email -> the user's row."""
    users = srv.client().zero_trust.risk_scoring.summary.get(account_id=account).users
    return {
        u.email: {"user_id": u.user_id, "event_count": u.event_count, "max_risk_level": u.max_risk_level}
        for u in users
    }
