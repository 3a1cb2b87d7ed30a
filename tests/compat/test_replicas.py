"""Several ztrisk replicas on one PostgreSQL schema, driven through Cloudflare's Python SDK.

Two ``ztrisk serve`` processes share one schema (the second is started after the first has
bootstrapped it, and must print no banner). Whatever a client does through one replica is what
the other serves next: behavior configuration, token revocation by the admin CLI, concurrent
configuration changes, and detection over events of one user that arrive through both.

PostgreSQL only (``ZTRISK_COMPAT_BACKEND=postgres``): a SQLite database belongs to one process.
Every test works on an account of its own, so the two replicas are shared by the module.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import cloudflare
import pytest
from cloudflare import Cloudflare

from conftest import BACKEND, NOTES, PgSchema, Server, run_cli, start_server, stop_server
from test_risk import (
    ALL_PERMISSIONS,
    LONDON,
    NAMES,
    NEW_YORK,
    at,
    event,
    login,
    post_events,
    ts,
)

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres",
    reason=(
        f"replica tests need ZTRISK_COMPAT_BACKEND=postgres (this run: {BACKEND}): they run two "
        "ztrisk serve processes on one PostgreSQL schema, and a SQLite database belongs to one process"
    ),
)

REVOCATION_DEADLINE_S = 1.0
POLL_INTERVAL_S = 0.05


# --------------------------------------------------------------------------------------------
# fixtures


@dataclass
class Replicas:
    """Replica ``a`` (started first, bootstrapped the schema) and replica ``b`` on one schema."""

    schema: PgSchema
    a: Server
    b: Server

    @property
    def database(self) -> str:
        return self.schema.url

    def both(self) -> tuple[Server, Server]:
        return self.a, self.b

    def cli(self, *args: str) -> Any:
        return run_cli(self.database, *args, "--json")

    def client(self, server: Server, token: str, **kwargs: Any) -> Cloudflare:
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 10.0)
        return Cloudflare(api_token=token, base_url=server.v4, **kwargs)

    def create_token(self, account: str, permissions: list[str], name: str) -> tuple[str, str]:
        args = ["tokens", "create", "--account", account, "--name", name]
        for permission in permissions:
            args += ["--permission", permission]
        out = self.cli(*args)
        assert isinstance(out.get("id"), str) and len(out.get("token", "")) == 40, out
        return out["id"], out["token"]

    def diagnostics(self) -> str:
        return f"=== replica A ===\n{self.a.diagnostics()}\n=== replica B ===\n{self.b.diagnostics()}"


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    workdir = tmp_path_factory.mktemp("ztrisk-replicas")
    schema = PgSchema.create()
    started: list[Server] = []
    try:
        a = start_server(workdir, schema.url, what="replica A", log_name="replica-a")
        started.append(a)
        # A has bootstrapped the schema (migrations, first account, admin token): B finds it
        # ready and must not print a banner of its own.
        b = start_server(workdir, schema.url, first_start=False, what="replica B", log_name="replica-b")
        started.append(b)
        yield Replicas(schema=schema, a=a, b=b)
    finally:
        for server in reversed(started):
            stop_server(server)
        schema.drop()


@pytest.fixture(autouse=True)
def _replicas_stay_up(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "replicas" not in request.fixturenames:
        return
    pair: Replicas = request.getfixturevalue("replicas")
    if any(s.process.poll() is not None for s in pair.both()):
        pytest.fail(f"a replica exited during the test\n{pair.diagnostics()}", pytrace=False)


@dataclass
class Shared:
    """A fresh account on the shared schema, a token with every permission, a client per replica."""

    replicas: Replicas
    account: str
    token: str
    ca: Cloudflare
    cb: Cloudflare

    def clients(self) -> tuple[Cloudflare, Cloudflare]:
        return self.ca, self.cb

    def on(self, i: int) -> Server:
        return self.replicas.both()[i % 2]

    def send(self, server: Server, events: list[dict[str, Any]]) -> dict[str, Any]:
        return post_events(server.v4, self.account, self.token, events)

    def enable(self, behaviors: dict[str, Any], via: int = 0) -> None:
        self.clients()[via % 2].zero_trust.risk_scoring.behaviours.update(
            account_id=self.account, behaviors=behaviors  # type: ignore[arg-type]
        )

    def summary(self, via: int = 0) -> dict[str, Any]:
        result = self.clients()[via % 2].zero_trust.risk_scoring.summary.get(account_id=self.account)
        assert result is not None
        by_email = {u.email: u for u in result.users}
        assert len(by_email) == len(result.users), "one summary entry per user"
        return by_email

    def user(self, user_id: str, via: int = 0) -> Any:
        got = self.clients()[via % 2].zero_trust.risk_scoring.get(user_id, account_id=self.account)
        assert got is not None
        return got


@pytest.fixture
def shared(replicas: Replicas, request: pytest.FixtureRequest) -> Shared:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:60]
    account = replicas.cli("accounts", "create", "--name", f"compat replicas {name}")["id"]
    _, token = replicas.create_token(account, ALL_PERMISSIONS, f"compat replicas {name}")
    return Shared(
        replicas=replicas, account=account, token=token,
        ca=replicas.client(replicas.a, token), cb=replicas.client(replicas.b, token),
    )


def state(result: Any) -> dict[str, tuple[bool, str]]:
    assert result is not None, "the SDK unwrapped a null result"
    return {bid: (b.enabled, b.risk_level) for bid, b in result.behaviors.items()}


def run_together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Runs every call on a thread of its own, released at the same moment; returns the results
    in order (re-raising the first exception)."""
    barrier = threading.Barrier(len(calls))

    def go(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=10)
        return call()

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(go, call) for call in calls]
        return [f.result(timeout=60) for f in futures]


# --------------------------------------------------------------------------------------------
# start-up


def test_second_replica_shares_the_bootstrapped_schema(replicas: Replicas) -> None:
    a, b = replicas.both()
    assert a.bootstrap_account and a.bootstrap_token, "replica A bootstrapped the empty schema"
    assert (b.bootstrap_account, b.bootstrap_token) == ("", ""), "replica B printed no banner"
    assert a.url != b.url
    # the admin token printed by A works on B, on the same account
    for server in (a, b):
        got = replicas.client(server, a.bootstrap_token).zero_trust.risk_scoring.behaviours.get(
            account_id=a.bootstrap_account
        )
        assert got is not None and "imp_travel" in got.behaviors
        verified = replicas.client(server, a.bootstrap_token).user.tokens.verify()
        assert verified is not None and verified.status == "active"


# --------------------------------------------------------------------------------------------
# configuration


def test_update_through_a_is_served_by_b_on_its_next_get(shared: Shared) -> None:
    rs_a, rs_b = (c.zero_trust.risk_scoring for c in shared.clients())
    # fill both replicas' caches with the defaults first
    assert state(rs_a.behaviours.get(account_id=shared.account)) == state(rs_b.behaviours.get(account_id=shared.account))

    levels = ("low", "medium", "high")
    for i in range(12):
        writer, reader = (rs_a, rs_b) if i % 2 == 0 else (rs_b, rs_a)
        body = {
            "imp_travel": {"enabled": i % 3 != 0, "risk_level": levels[i % 3]},
            "high_dlp": {"enabled": True, "risk_level": levels[(i + 1) % 3],
                         "settings": {"threshold": 15 + i}},
            f"round_{i}": {"enabled": True, "risk_level": levels[(i + 2) % 3]},
        }
        written = writer.behaviours.update(account_id=shared.account, behaviors=body)  # type: ignore[arg-type]
        read = reader.behaviours.get(account_id=shared.account)  # the very next request to the other one
        assert state(read) == state(written), f"round {i}: the other replica served a stale configuration"
        assert state(read)["imp_travel"] == (i % 3 != 0, levels[i % 3])
        assert state(read)[f"round_{i}"] == (True, levels[(i + 2) % 3])
        assert list(read.behaviors) == list(written.behaviors), "same keys in the same order"

    # the thresholds too (not in the SDK's model: read the raw body)
    for client in shared.clients():
        raw = client.get(f"/accounts/{shared.account}/zt_risk_scoring/behaviors", cast_to=object)
        assert raw["result"]["behaviors"]["high_dlp"]["settings"]["threshold"] == 15 + 11


def test_concurrent_updates_through_both_replicas_all_survive(shared: Shared) -> None:
    n = 40
    levels = ("low", "medium", "high")
    want = {f"concurrent_{i}": (i % 5 != 0, levels[i % 3]) for i in range(n)}

    def put(i: int) -> Callable[[], Any]:
        bid = f"concurrent_{i}"
        client = shared.replicas.client(shared.on(i), shared.token)  # alternating replicas

        def call() -> Any:
            enabled, level = want[bid]
            result = client.zero_trust.risk_scoring.behaviours.update(
                account_id=shared.account, behaviors={bid: {"enabled": enabled, "risk_level": level}}
            )
            # the answer is the configuration right after this update: it has this id
            assert state(result).get(bid) == want[bid], f"{bid}: answer without its own update"
            return result

        return call

    run_together([put(i) for i in range(n)])
    for side, client in zip("AB", shared.clients()):
        final = state(client.zero_trust.risk_scoring.behaviours.get(account_id=shared.account))
        lost = {bid: final.get(bid) for bid in want if final.get(bid) != want[bid]}
        assert not lost, f"replica {side} lost {len(lost)} of {n} concurrent updates: {lost}"


# --------------------------------------------------------------------------------------------
# credentials


def test_revoked_token_stops_working_on_both_replicas_within_one_second(replicas: Replicas) -> None:
    account = replicas.cli("accounts", "create", "--name", "compat replicas revocation")["id"]
    token_id, token = replicas.create_token(account, ["Zero Trust Read"], "compat replicas to revoke")
    clients = [replicas.client(server, token, timeout=2.0) for server in replicas.both()]
    # both replicas have checked (and may have cached) the token before it is revoked
    for _ in range(3):
        for client in clients:
            assert client.zero_trust.risk_scoring.behaviours.get(account_id=account) is not None

    revoked_at: list[float] = []  # monotonic time at which the CLI returned
    stop = threading.Event()
    observations: list[dict[str, Any]] = [{}, {}]

    def poll(side: int) -> None:
        client, obs = clients[side], observations[side]
        obs["ok_after_revoke"] = 0
        next_at = time.monotonic()
        while not stop.is_set():
            sent = time.monotonic()
            try:
                client.zero_trust.risk_scoring.behaviours.get(account_id=account)
            except cloudflare.PermissionDeniedError as exc:
                body = exc.body if isinstance(exc.body, dict) else {}
                obs["codes"] = [e.get("code") for e in body.get("errors", [])]
                obs["failed_sent"], obs["failed_received"] = sent, time.monotonic()
                return
            except cloudflare.APIError as exc:  # anything else is a failure of the test
                obs["error"] = repr(exc)
                return
            if revoked_at and sent > revoked_at[0]:
                obs["ok_after_revoke"] += 1
                obs["last_ok_sent"] = sent
            next_at += POLL_INTERVAL_S
            time.sleep(max(0.0, next_at - time.monotonic()))

    threads = [threading.Thread(target=poll, args=(side,), daemon=True) for side in (0, 1)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # both pollers are running and succeeding
    assert all("failed_sent" not in o and "error" not in o for o in observations), observations
    started = time.monotonic()
    run_cli(replicas.database, "tokens", "revoke", token_id, parse_json=False)
    revoked_at.append(time.monotonic())
    deadline = revoked_at[0] + 3.0  # poll longer than the limit, to report the delay anyway
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    stop.set()
    for t in threads:
        t.join(timeout=5)

    delays: dict[str, float | None] = {}
    for side, obs in zip("AB", observations):
        assert "error" not in obs, f"replica {side}: {obs['error']}"
        if "failed_received" in obs:
            assert obs["codes"] == [10000], f"replica {side}: a revoked token is 403 10000, got {obs['codes']}"
            delays[side] = obs["failed_received"] - revoked_at[0]
        else:
            delays[side] = None
    cli_ms = (revoked_at[0] - started) * 1000
    shown = ", ".join(
        f"replica {side}: " + (f"{d * 1000:.0f} ms" if d is not None else "still accepted after 3 s")
        + f" ({observations[i]['ok_after_revoke']} successful polls after the CLI returned)"
        for i, (side, d) in enumerate(delays.items())
    )
    NOTES.append(
        f"token revoked with the CLI (which took {cli_ms:.0f} ms) -> first 403 10000 after it returned, "
        f"polling every {POLL_INTERVAL_S * 1000:.0f} ms: {shown}"
    )
    late = {side: d for side, d in delays.items() if d is None or d > REVOCATION_DEADLINE_S}
    assert not late, f"the revoked token still worked after {REVOCATION_DEADLINE_S} s: {shown}"
    # and it stays revoked on both, for every kind of request
    for client in clients:
        for call in (
            lambda: client.zero_trust.risk_scoring.behaviours.get(account_id=account),
            lambda: client.user.tokens.verify(),
        ):
            with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
                call()
            assert [e["code"] for e in excinfo.value.body["errors"]] == [10000]


# --------------------------------------------------------------------------------------------
# detection over events that arrive through both replicas


def test_failed_logins_split_across_replicas_fire_once_per_user(shared: Shared) -> None:
    shared.enable({"failed_logins": {"enabled": True, "risk_level": "high", "settings": {"threshold": 10}}}, via=1)
    for client in shared.clients():
        raw = client.get(f"/accounts/{shared.account}/zt_risk_scoring/behaviors", cast_to=object)
        assert raw["result"]["behaviors"]["failed_logins"]["settings"]["threshold"] == 10

    users = [f"brute{k}@example.com" for k in range(6)]
    for k, email in enumerate(users):
        attempts = [login(email, 10 * i, success=False, id=f"{email}-fail-{i}", ip="192.0.2.66") for i in range(10)]
        if k % 2 == 0:
            # one batch of five through each replica, at the same moment
            halves = [attempts[:5], attempts[5:]] if k % 4 == 0 else [attempts[1::2], attempts[0::2]]
            calls = [lambda s=shared.on(side), e=half: shared.send(s, e) for side, half in enumerate(halves)]
        else:
            # ten single-event requests, alternating replicas, all at once
            calls = [lambda s=shared.on(i), e=[ev]: shared.send(s, e) for i, ev in enumerate(attempts)]
        results = run_together(calls)
        assert sum(r["accepted"] for r in results) == 10, (email, results)
        assert sum(r["duplicates"] for r in results) == 0, (email, results)
        assert all(r["rejected"] == [] for r in results), (email, results)
        assert sum(r["risk_events"] for r in results) == 1, f"{email}: {results}"

    for via in (0, 1):
        summary = shared.summary(via)
        assert set(summary) == set(users), summary
        for email in users:
            assert (summary[email].event_count, summary[email].max_risk_level) == (1, "high"), (email, via)
            got = shared.user(summary[email].user_id, via)
            assert [e.name for e in got.events] == [NAMES["failed_logins"]], (email, got.events)
            d = got.events[0].event_details
            assert (d["behavior"], d["count"], d["threshold"]) == ("failed_logins", 10, 10), d
            assert sorted(d["timestamps"]) == [ts(10 * i) for i in range(10)], d

    # sending everything again, through the other replica, is all duplicates
    for k, email in enumerate(users):
        attempts = [login(email, 10 * i, success=False, id=f"{email}-fail-{i}", ip="192.0.2.66") for i in range(10)]
        again = shared.send(shared.on(k + 1), attempts)
        assert (again["accepted"], again["duplicates"], again["risk_events"]) == (0, 10, 0), again


def test_impossible_travel_across_replicas_is_detected_once(shared: Shared) -> None:
    shared.enable({"imp_travel": {"enabled": True, "risk_level": "high"}})
    # sequential: London through A, then New York one hour later through B
    first = shared.send(shared.replicas.a, [login("seq@example.com", 0, LONDON, id="seq-1")])
    second = shared.send(shared.replicas.b, [login("seq@example.com", 3600, NEW_YORK, id="seq-2", ip="198.51.100.9")])
    assert (first["accepted"], first["risk_events"]) == (1, 0), first
    assert (second["accepted"], second["risk_events"]) == (1, 1), second

    # concurrent: both logins at the same moment, London through A and New York through B
    travellers = [f"trav{k}@example.com" for k in range(6)]
    for k, email in enumerate(travellers):
        results = run_together([
            lambda e=email: shared.send(shared.replicas.a, [login(e, 0, LONDON, id=f"{e}-1")]),
            lambda e=email: shared.send(
                shared.replicas.b, [login(e, 3600, NEW_YORK, id=f"{e}-2", ip="198.51.100.9")]
            ),
        ])
        assert sum(r["accepted"] for r in results) == 2, (email, results)
        assert sum(r["risk_events"] for r in results) == 1, f"{email}: {results}"

    for via in (0, 1):
        summary = shared.summary(via)
        assert set(summary) == {"seq@example.com", *travellers}, summary
        for email in ("seq@example.com", *travellers):
            assert (summary[email].event_count, summary[email].max_risk_level) == (1, "high"), (email, via)
            got = shared.user(summary[email].user_id, via)
            assert [e.name for e in got.events] == [NAMES["imp_travel"]], (email, got.events)
            d = got.events[0].event_details
            assert 5500 < d["distance_km"] < 5650 and d["elapsed_seconds"] == 3600, d
            assert sorted(e["timestamp"] for e in d["events"]) == [ts(0), ts(3600)], d
            # The risk event is stamped with the login that completed the detection in arrival
            # order; when New York arrived first that is London's time, exactly as on a single
            # server that receives the two in that order.
            if email == "seq@example.com":
                assert got.events[0].timestamp == at(3600), (email, got.events[0])
            else:
                assert got.events[0].timestamp in (at(0), at(3600)), (email, got.events[0])


def test_dlp_burst_split_across_replicas_gives_one_risk_event(shared: Shared) -> None:
    shared.enable({"high_dlp": {"enabled": True, "risk_level": "medium"}}, via=1)
    for k in range(3):
        email = f"leaky{k}@example.com"
        burst = [event("dlp_match", email, 2 * i, id=f"{email}-dlp-{i}", profile="Credit Cards") for i in range(30)]
        if k == 0:
            # 15 through each replica, at once
            parts = [(shared.replicas.a, burst[0::2]), (shared.replicas.b, burst[1::2])]
        else:
            # batches of three alternating replicas, and every batch sent twice (through both)
            batches = [burst[i:i + 3] for i in range(0, 30, 3)]
            parts = [(shared.on(j), b) for j, b in enumerate(batches)] + [
                (shared.on(j + 1), b) for j, b in enumerate(batches)
            ]
        results = run_together([lambda s=s, b=b: shared.send(s, b) for s, b in parts])
        assert sum(r["accepted"] for r in results) == 30, (email, results)
        assert sum(r["duplicates"] for r in results) == (0 if k == 0 else 30), (email, results)
        assert sum(r["risk_events"] for r in results) == 1, f"{email}: {results}"

    for via in (0, 1):
        summary = shared.summary(via)
        assert set(summary) == {f"leaky{k}@example.com" for k in range(3)}, summary
        for email, user in summary.items():
            assert (user.event_count, user.max_risk_level) == (1, "medium"), (email, via)
            got = shared.user(user.user_id, via)
            assert [e.name for e in got.events] == [NAMES["high_dlp"]], (email, got.events)
            d = got.events[0].event_details
            assert (d["behavior"], d["count"], d["threshold"]) == ("high_dlp", 15, 15), d
