"""Compatibility tests for risk scoring: GET /summary, GET /{user_id}, POST /{user_id}/reset
(api.md 2.3-2.5) through Cloudflare's official Python SDK, fed by ztrisk's own event ingestion
(api.md 3.1, 3.2), against a real ztrisk server.

Events are not in the SDK: they are POSTed with ``httpx`` (a dependency of the SDK). Every
scenario runs on a fresh account (behaviors are all disabled on a new account), and every
timestamp is event time (detection never looks at the clock).
"""

from __future__ import annotations

import concurrent.futures
import re
import signal
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import cloudflare
import httpx
import pytest
from cloudflare import Cloudflare

from conftest import DedicatedServer, Env

LEVELS = ("low", "medium", "high")
NAMES = {
    "imp_travel": "Impossible Travel",
    "high_dlp": "High Number of DLP Policies Triggered",
    "failed_logins": "Multiple Failed Login Attempts",
    "sentinel_one": "SentinelOne Threat Detected on Machine",
    "crowdstrike_low_zta": "CrowdStrike Low ZTA Security Score",
    "crowdstrike_medium_zta": "CrowdStrike Medium ZTA Security Score",
    "malicious_file": "Interaction with Malicious File",
    "suspicious_security_domain": "Suspicious Security Domain Visited",
    "high_risk_domain": "High Risk Domain Visited",
}
ALL_PERMISSIONS = ["Zero Trust Read", "Zero Trust Write", "Zero Trust: PII Read", "Zero Trust Risk Events Write"]
BASE_TIME = datetime(2026, 11, 20, 10, 0, 0, tzinfo=timezone.utc)
LONDON = {"lat": 51.5074, "lon": -0.1278}
NEW_YORK = {"lat": 40.7128, "lon": -74.0060}
PARIS = {"lat": 48.8566, "lon": 2.3522}
UNKNOWN_USER = "5b0c6f0e-3a4e-4b7e-9d61-2f7c1e0a9b11"


# --------------------------------------------------------------------------------------------
# helpers


def ts(seconds: float = 0) -> str:
    """RFC 3339 event time, ``seconds`` after BASE_TIME."""
    t = BASE_TIME + timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{t.microsecond // 1000:03d}Z" if t.microsecond else "Z")


def at(seconds: float = 0) -> datetime:
    return BASE_TIME + timedelta(seconds=seconds)


def events_url(v4: str, account: str) -> str:
    return f"{v4}/accounts/{account}/zt_risk_scoring/events"


def post_events_raw(v4: str, account: str, token: str, events: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(
        events_url(v4, account), json=events, headers={"Authorization": f"Bearer {token}"}, timeout=30.0
    )


def post_events(v4: str, account: str, token: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    """POSTs a batch and returns ``result``: {accepted, duplicates, risk_events, rejected}."""
    resp = post_events_raw(v4, account, token, events)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["success"] is True and body["errors"] == [], body
    result = body["result"]
    assert set(result) >= {"accepted", "duplicates", "risk_events", "rejected"}, result
    return result


def login(email: str, seconds: float, location: dict[str, float] | None = None, *, success: bool = True,
          id: str | None = None, ip: str | None = None) -> dict[str, Any]:
    location = location or LONDON
    # One address per place: two logins from one IP are never travel (api.md 6.1).
    ip = ip or f"203.0.113.{int(abs(location['lat'] * 7 + location['lon'])) % 250 + 1}"
    event: dict[str, Any] = {"type": "access_login", "timestamp": ts(seconds), "user": {"email": email},
                             "success": success, "ip": ip, "location": location}
    if id is not None:
        event["id"] = id
    return event


def event(kind: str, email: str, seconds: float, id: str | None = None, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "timestamp": ts(seconds), "user": {"email": email}, **fields}
    if id is not None:
        out["id"] = id
    return out


def error_body(exc: cloudflare.APIStatusError) -> dict[str, Any]:
    body = exc.body
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r}"
    assert body.get("success") is False and body.get("result") is None, body
    assert isinstance(body.get("messages"), list), body
    assert isinstance(body.get("errors"), list) and body["errors"], body
    return body


def codes(exc: cloudflare.APIStatusError) -> list[int]:
    return [e["code"] for e in error_body(exc)["errors"]]


def is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


@dataclass
class Scoring:
    """A fresh account, a token with every permission on it, an SDK client, and helpers."""

    env: Env
    account: str
    token: str
    client: Cloudflare

    @property
    def rs(self) -> Any:
        return self.client.zero_trust.risk_scoring

    def enable(self, **behaviors: Any) -> None:
        """``enable(imp_travel="high", failed_logins={"enabled": True, ...})``."""
        body = {
            bid: (spec if isinstance(spec, dict) else {"enabled": True, "risk_level": spec})
            for bid, spec in behaviors.items()
        }
        self.rs.behaviours.update(account_id=self.account, behaviors=body)

    def send(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        return post_events(self.env.server.v4, self.account, self.token, events)

    def summary(self) -> dict[str, Any]:
        """``{email: user}`` of the summary."""
        result = self.rs.summary.get(account_id=self.account)
        assert result is not None
        by_email = {u.email: u for u in result.users}
        assert len(by_email) == len(result.users), "one summary entry per user"
        return by_email

    def user(self, email: str) -> Any:
        users = self.summary()
        assert email in users, f"{email} not in the summary: {sorted(users)}"
        got = self.rs.get(users[email].user_id, account_id=self.account)
        assert got is not None
        return got

    def only_event(self, email: str, behavior: str) -> Any:
        got = self.user(email)
        assert [e.name for e in got.events] == [NAMES.get(behavior, behavior)], got.events
        details = got.events[0].event_details
        assert isinstance(details, dict), details
        assert details["behavior"] == behavior, details
        assert isinstance(details["events"], list) and details["events"], details
        return got.events[0]


@pytest.fixture
def scoring(env: Env, request: pytest.FixtureRequest) -> Scoring:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:60]
    account = env.create_account(f"compat risk {name}")
    cred = env.create_token([account], ALL_PERMISSIONS, "--name", f"compat risk {name}")
    return Scoring(env=env, account=account, token=cred.token, client=env.client(cred.token))


def travel(email: str, seconds: float = 0, **kw: Any) -> list[dict[str, Any]]:
    """London, then New York one hour later: about 5570 km in 1 h."""
    return [login(email, seconds, LONDON, **kw), login(email, seconds + 3600, NEW_YORK, ip="198.51.100.9")]


# --------------------------------------------------------------------------------------------
# summary


def test_summary_of_new_account_is_empty(scoring: Scoring) -> None:
    resp = scoring.rs.summary.with_raw_response.get(account_id=scoring.account)
    body = resp.http_response.json()
    assert body["success"] is True and body["result"] == {"users": []}, body
    parsed = resp.parse()
    assert parsed is not None and parsed.users == []


def test_summary_before_any_behavior_is_enabled_stays_empty(scoring: Scoring) -> None:
    # every behavior is disabled on a new account: events are accepted, nothing is scored
    result = scoring.send(travel("quiet@example.com") + [
        event("gateway_file", "quiet@example.com", 10, verdict="malicious", action="block"),
    ])
    assert (result["accepted"], result["risk_events"], result["rejected"]) == (3, 0, [])
    assert scoring.summary() == {}


def test_summary_lists_scored_users_with_every_field(scoring: Scoring) -> None:
    scoring.enable(imp_travel="high", malicious_file="medium", high_risk_domain="low")
    given_id = str(uuid.uuid4())
    events = [
        # alice: travel (high) at +1h, and a malicious file (medium) at +2h
        *travel("alice@example.com"),
        event("gateway_file", "alice@example.com", 7200, verdict="malicious", action="allow"),
        # bob: one low event, with an id and a name of his own
        {**event("gateway_dns", "bob@example.com", 600, query="x.example", categories=["Violence"], action="allow"),
         "user": {"email": "bob@example.com", "id": given_id, "name": "Bob Builder"}},
        # carol: only harmless events, so she is not scored
        login("carol@example.com", 0, LONDON),
        event("gateway_dns", "carol@example.com", 5, query="docs.example", categories=["Technology"], action="allow"),
    ]
    result = scoring.send(events)
    assert (result["accepted"], result["duplicates"], result["risk_events"], result["rejected"]) == (6, 0, 3, [])

    resp = scoring.rs.summary.with_raw_response.get(account_id=scoring.account)
    wire = resp.http_response.json()["result"]["users"]
    for user in wire:
        assert set(user) == {"user_id", "name", "email", "event_count", "last_event", "max_risk_level"}, user
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", user["last_event"]), user

    users = scoring.summary()
    assert set(users) == {"alice@example.com", "bob@example.com"}
    alice, bob = users["alice@example.com"], users["bob@example.com"]
    assert is_uuid(alice.user_id)
    assert alice.name == "alice"  # defaults to the email's local part
    assert alice.event_count == 2
    assert alice.max_risk_level == "high"
    assert alice.last_event == at(7200)

    assert bob.user_id == given_id  # user.id is kept when given
    assert bob.name == "Bob Builder"
    assert (bob.event_count, bob.max_risk_level, bob.last_event) == (1, "low", at(600))

    # default order: max_risk_level desc
    assert [u["email"] for u in wire] == ["alice@example.com", "bob@example.com"]


def test_summary_default_order_is_level_then_last_event(scoring: Scoring) -> None:
    scoring.enable(sentinel_one="medium", malicious_file="high")
    events = [
        event("device_posture", "m-old@example.com", 100, provider="sentinel_one", device_id="d1", active_threats=1),
        event("device_posture", "m-new@example.com", 900, provider="sentinel_one", device_id="d2", active_threats=1),
        event("gateway_file", "h-old@example.com", 50, verdict="malicious", action="block"),
        event("gateway_file", "h-new@example.com", 500, verdict="malicious", action="block"),
    ]
    assert scoring.send(events)["risk_events"] == 4
    result = scoring.rs.summary.get(account_id=scoring.account)
    assert [u.email for u in result.users] == [
        "h-new@example.com", "h-old@example.com", "m-new@example.com", "m-old@example.com"
    ]


def test_summary_paging_and_order_parameters(scoring: Scoring) -> None:
    """Cloudflare's older optional parameters (api.md 2.3), sent with the SDK's ``extra_query``."""
    scoring.enable(malicious_file="high", sentinel_one="medium")
    events = [event("gateway_file", f"{c}@example.com", i * 100, verdict="malicious", action="allow")
              for i, c in enumerate("abcde")]
    events.append(event("device_posture", "a@example.com", 9000, provider="sentinel_one", device_id="x",
                        active_threats=1))
    assert scoring.send(events)["risk_events"] == 6
    path = f"/accounts/{scoring.account}/zt_risk_scoring/summary"

    def page(**query: Any) -> tuple[list[str], Any]:
        raw = scoring.client.get(path, options={"params": query}, cast_to=object)
        assert raw["success"] is True, raw
        return [u["email"] for u in raw["result"]["users"]], raw.get("result_info")

    # default order: level desc, then last_event desc
    everyone = ["a@example.com", "e@example.com", "d@example.com", "c@example.com", "b@example.com"]
    assert page() == (everyone, None)
    assert page(page=1, per_page=2) == (
        everyone[:2], {"page": 1, "per_page": 2, "count": 2, "total_count": 5, "total_pages": 3}
    )
    assert page(page=3, per_page=2) == (
        everyone[4:], {"page": 3, "per_page": 2, "count": 1, "total_count": 5, "total_pages": 3}
    )
    assert page(order_by="timestamp", direction="asc")[0] == ["b@example.com", "c@example.com", "d@example.com",
                                                              "e@example.com", "a@example.com"]
    assert page(order_by="event_count", direction="desc")[0][0] == "a@example.com"

    # through the typed method too
    typed = scoring.rs.summary.get(account_id=scoring.account, extra_query={"page": 2, "per_page": 2})
    assert [u.email for u in typed.users] == everyone[2:4]

    # total_count follows resets and returns
    a = scoring.summary()["a@example.com"].user_id
    scoring.rs.reset(a, account_id=scoring.account)
    assert page(page=1, per_page=10)[1]["total_count"] == 4
    scoring.rs.reset(a, account_id=scoring.account)  # idempotent: not counted twice
    assert page(page=1, per_page=10)[1]["total_count"] == 4
    scoring.send([event("gateway_file", "a@example.com", 20000, verdict="malicious", action="allow")])
    assert page(page=1, per_page=10)[1]["total_count"] == 5

    for bad, pointer in (({"per_page": 0}, "/per_page"), ({"per_page": 1001}, "/per_page"),
                         ({"page": 0}, "/page"), ({"order_by": "bogus"}, "/order_by"),
                         ({"direction": "up"}, "/direction")):
        with pytest.raises(cloudflare.BadRequestError) as excinfo:
            scoring.client.get(path, options={"params": bad}, cast_to=object)
        errors = error_body(excinfo.value)["errors"]
        assert [(e["code"], e["source"]["pointer"]) for e in errors] == [(1001, pointer)], bad


def test_user_events_paging_and_order(scoring: Scoring) -> None:
    scoring.enable(malicious_file="high", sentinel_one="medium", high_risk_domain="low")
    email = "pg@example.com"
    scoring.send([
        event("gateway_file", email, 0, verdict="malicious", action="allow"),
        event("device_posture", email, 100, provider="sentinel_one", device_id="x", active_threats=1),
        event("gateway_dns", email, 200, query="q.example", categories=["CIPA"], action="allow"),
    ])
    uid = scoring.summary()[email].user_id
    path = f"/accounts/{scoring.account}/zt_risk_scoring/{uid}"

    def get(**query: Any) -> tuple[list[str], Any]:
        raw = scoring.client.get(path, options={"params": query}, cast_to=object)
        return [e["risk_level"] for e in raw["result"]["events"]], raw.get("result_info")

    assert get() == (["low", "medium", "high"], None)  # newest first
    assert get(page=1, per_page=2) == (["low", "medium"],
                                       {"page": 1, "per_page": 2, "count": 2, "total_count": 3, "total_pages": 2})
    assert get(page=2, per_page=2)[0] == ["high"]
    assert get(order_by="risk_level", direction="desc")[0] == ["high", "medium", "low"]
    assert get(order_by="timestamp", direction="asc")[0] == ["high", "medium", "low"]
    typed = scoring.rs.get(uid, account_id=scoring.account, extra_query={"page": 1, "per_page": 1})
    assert [e.risk_level for e in typed.events] == ["low"]
    assert typed.risk_level == "high"  # the level is the user's, not the page's


# --------------------------------------------------------------------------------------------
# GET /{user_id}


def test_get_user_fields_and_events_newest_first(scoring: Scoring) -> None:
    scoring.enable(imp_travel="high", sentinel_one="medium", high_risk_domain="low")
    email = "dana@example.com"
    result = scoring.send([
        event("gateway_dns", email, -600, id="dns-1", query="bad.example", categories=["CIPA"], action="block"),
        *travel(email),
        event("device_posture", email, 7200, id="s1-1", provider="sentinel_one", device_id="laptop-7",
              active_threats=3),
    ])
    assert result["risk_events"] == 3, result

    user_id = scoring.summary()[email].user_id
    resp = scoring.rs.with_raw_response.get(user_id, account_id=scoring.account)
    wire = resp.http_response.json()["result"]
    assert set(wire) >= {"email", "name", "risk_level", "last_reset_time", "events"}, wire
    assert wire["last_reset_time"] is None
    for ev in wire["events"]:
        assert set(ev) == {"id", "name", "risk_level", "timestamp", "event_details"}, ev

    got = resp.parse()
    assert got is not None
    assert got.email == email
    assert got.name == "dana"
    assert got.risk_level == "high"  # the highest among the events
    assert got.last_reset_time is None
    assert [e.name for e in got.events] == [NAMES["sentinel_one"], NAMES["imp_travel"], NAMES["high_risk_domain"]]
    assert [e.risk_level for e in got.events] == ["medium", "high", "low"]
    assert [e.timestamp for e in got.events] == [at(7200), at(3600), at(-600)]
    assert all(is_uuid(e.id) for e in got.events)
    assert len({e.id for e in got.events}) == 3

    # the evidence names the behavior and carries the input events that triggered it
    s1, trip, dns = (e.event_details for e in got.events)
    assert s1["behavior"] == "sentinel_one" and s1["active_threats"] == 3
    assert [(e.get("id"), e["type"], e["device_id"]) for e in s1["events"]] == [("s1-1", "device_posture", "laptop-7")]
    assert trip["behavior"] == "imp_travel"
    assert dns["behavior"] == "high_risk_domain"
    assert dns["events"][0]["query"] == "bad.example" and dns["events"][0]["timestamp"] == ts(-600)

    # the summary agrees with the user's view
    summary = scoring.summary()[email]
    assert (summary.event_count, summary.max_risk_level, summary.last_event) == (3, "high", at(7200))


def test_get_unknown_user_is_404_1404(scoring: Scoring) -> None:
    with pytest.raises(cloudflare.NotFoundError) as excinfo:
        scoring.rs.get(UNKNOWN_USER, account_id=scoring.account)
    assert excinfo.value.status_code == 404
    assert codes(excinfo.value) == [1404]
    assert excinfo.value.response.headers.get("x-request-id")


def test_get_user_seen_but_never_scored(scoring: Scoring) -> None:
    """A user ztrisk has seen (events, no risk event) exists: level null, no events."""
    uid = str(uuid.uuid4())
    scoring.send([{**login("seen@example.com", 0), "user": {"email": "seen@example.com", "id": uid}}])
    got = scoring.rs.get(uid, account_id=scoring.account)
    assert got is not None
    assert (got.email, got.name, got.risk_level, got.last_reset_time, got.events) == (
        "seen@example.com", "seen", None, None, []
    )
    assert scoring.summary() == {}


def test_user_of_another_account_is_not_found(scoring: Scoring, env: Env) -> None:
    scoring.enable(malicious_file="high")
    scoring.send([event("gateway_file", "x@example.com", 0, verdict="malicious", action="allow")])
    user_id = scoring.summary()["x@example.com"].user_id
    other = env.create_account("compat risk other")
    cred = env.create_token([other], ALL_PERMISSIONS)
    client = env.client(cred.token)
    with pytest.raises(cloudflare.NotFoundError) as excinfo:
        client.zero_trust.risk_scoring.get(user_id, account_id=other)
    assert codes(excinfo.value) == [1404]
    with pytest.raises(cloudflare.NotFoundError) as excinfo:
        client.zero_trust.risk_scoring.reset(user_id, account_id=other)
    assert codes(excinfo.value) == [1404]
    assert client.zero_trust.risk_scoring.summary.get(account_id=other).users == []
    # and the token of the other account cannot read this one at all
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.get(user_id, account_id=scoring.account)
    assert excinfo.value.status_code == 403 and codes(excinfo.value) == [9109]


def test_malformed_user_id_is_not_a_route(scoring: Scoring) -> None:
    for bad in ("not-a-uuid", "12345", UNKNOWN_USER[:-1]):
        with pytest.raises(cloudflare.NotFoundError) as excinfo:
            scoring.rs.get(bad, account_id=scoring.account)
        assert codes(excinfo.value) == [7003, 7000], bad
        with pytest.raises(cloudflare.NotFoundError) as excinfo:
            scoring.rs.reset(bad, account_id=scoring.account)
        assert codes(excinfo.value) == [7003, 7000], bad


# --------------------------------------------------------------------------------------------
# reset


def test_reset_unscores_user_and_is_idempotent(scoring: Scoring) -> None:
    scoring.enable(imp_travel="high", malicious_file="medium")
    scoring.send(travel("eve@example.com") + travel("frank@example.com"))
    users = scoring.summary()
    assert set(users) == {"eve@example.com", "frank@example.com"}
    eve = users["eve@example.com"].user_id

    before = datetime.now(timezone.utc)
    resp = scoring.rs.with_raw_response.reset(eve, account_id=scoring.account)
    after = datetime.now(timezone.utc)
    body = resp.http_response.json()
    assert body["success"] is True and body["result"] == {}, body
    assert resp.parse() == {}

    # eve leaves the summary; frank stays
    assert set(scoring.summary()) == {"frank@example.com"}
    got = scoring.rs.get(eve, account_id=scoring.account)
    assert got is not None
    assert got.risk_level is None
    assert got.events == []
    assert got.email == "eve@example.com"
    assert got.last_reset_time is not None and got.last_reset_time.tzinfo is not None
    first_reset = got.last_reset_time
    assert before - timedelta(seconds=2) <= first_reset <= after + timedelta(seconds=2)

    # idempotent: a second reset succeeds and changes nothing visible but the time
    assert scoring.rs.reset(eve, account_id=scoring.account) == {}
    again = scoring.rs.get(eve, account_id=scoring.account)
    assert (again.risk_level, again.events) == (None, [])
    assert again.last_reset_time is not None and again.last_reset_time >= first_reset
    assert set(scoring.summary()) == {"frank@example.com"}

    # a new risk event brings her back, counting only what came after the reset
    result = scoring.send([event("gateway_file", "eve@example.com", 9000, verdict="malicious", action="block")])
    assert result["risk_events"] == 1
    back = scoring.summary()["eve@example.com"]
    assert (back.user_id, back.event_count, back.max_risk_level, back.last_event) == (eve, 1, "medium", at(9000))
    got = scoring.rs.get(eve, account_id=scoring.account)
    assert got.risk_level == "medium"
    assert [e.name for e in got.events] == [NAMES["malicious_file"]]
    assert got.last_reset_time is not None  # stays set after new events


def test_reset_unknown_user_is_404_1404(scoring: Scoring) -> None:
    with pytest.raises(cloudflare.NotFoundError) as excinfo:
        scoring.rs.reset(UNKNOWN_USER, account_id=scoring.account)
    assert excinfo.value.status_code == 404
    assert codes(excinfo.value) == [1404]


def test_reset_of_unscored_user_succeeds(scoring: Scoring) -> None:
    uid = str(uuid.uuid4())
    scoring.send([{**login("calm@example.com", 0), "user": {"email": "calm@example.com", "id": uid}}])
    assert scoring.rs.reset(uid, account_id=scoring.account) == {}
    got = scoring.rs.get(uid, account_id=scoring.account)
    assert got.risk_level is None and got.last_reset_time is not None and got.events == []


# --------------------------------------------------------------------------------------------
# one end-to-end scenario per behavior family


def test_impossible_travel(scoring: Scoring) -> None:
    scoring.enable(imp_travel="high")
    result = scoring.send([
        login("trav@example.com", 0, LONDON, id="t-1"),
        login("trav@example.com", 3600, NEW_YORK, id="t-2", ip="198.51.100.9"),
        # plausible: London, then Paris ten hours later (about 344 km)
        login("slow@example.com", 0, LONDON, id="s-1"),
        login("slow@example.com", 36000, PARIS, id="s-2"),
        # failed logins are not travel
        login("fail@example.com", 0, LONDON, success=False),
        login("fail@example.com", 3600, NEW_YORK, success=False),
    ])
    assert (result["accepted"], result["risk_events"], result["rejected"]) == (6, 1, [])
    assert set(scoring.summary()) == {"trav@example.com"}

    ev = scoring.only_event("trav@example.com", "imp_travel")
    assert ev.risk_level == "high"
    assert ev.timestamp == at(3600)  # the event that completed the detection
    d = ev.event_details
    assert 5500 < d["distance_km"] < 5650, d
    assert d["elapsed_seconds"] == 3600, d
    assert d["speed_kmh"] > 900 and abs(d["speed_kmh"] - d["distance_km"]) < 1, d
    assert (d["max_speed_kmh"], d["min_distance_km"]) == (900, 100), d
    assert [e["timestamp"] for e in d["events"]] == [ts(0), ts(3600)], d
    assert all(e["type"] == "access_login" for e in d["events"]), d
    newest = d["events"][-1]
    assert newest["id"] == "t-2" and newest["location"] == NEW_YORK, newest


def test_high_dlp_burst_gives_one_risk_event(scoring: Scoring) -> None:
    scoring.enable(high_dlp="medium")
    burst = [event("dlp_match", "leaky@example.com", 2 * i, id=f"dlp-{i}", profile="Credit Cards") for i in range(30)]
    below = [event("dlp_match", "careful@example.com", i, profile="SSN") for i in range(14)]
    result = scoring.send(burst + below)
    assert (result["accepted"], result["risk_events"], result["rejected"]) == (44, 1, [])
    assert set(scoring.summary()) == {"leaky@example.com"}

    ev = scoring.only_event("leaky@example.com", "high_dlp")
    assert ev.risk_level == "medium"
    d = ev.event_details
    assert (d["count"], d["threshold"], d["window_seconds"]) == (15, 15, 60), d
    assert d["first_timestamp"] == ts(0) and d["last_timestamp"] == ts(28), d
    assert d["span_seconds"] == 28, d
    assert d["timestamps"] == [ts(2 * i) for i in range(15)], d
    assert [e.get("id") for e in d["events"]] == ["dlp-14"], d
    assert ev.timestamp == at(28)

    # the same burst sent again is all duplicates and scores nothing new
    again = scoring.send(burst)
    assert (again["accepted"], again["duplicates"], again["risk_events"]) == (0, 30, 0)
    assert scoring.summary()["leaky@example.com"].event_count == 1


def test_concurrent_batches_score_a_burst_once(scoring: Scoring) -> None:
    """The DLP burst split over parallel requests (and each one sent twice) still gives exactly one
    risk event: ingestion per user is serialized and exactly-once."""
    scoring.enable(high_dlp="high")
    burst = [event("dlp_match", "par@example.com", 2 * i, id=f"par-{i}", profile="PII") for i in range(30)]
    batches = [burst[i:i + 3] for i in range(0, 30, 3)] * 2
    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(scoring.send, batches))
    assert sum(r["accepted"] for r in results) == 30
    assert sum(r["duplicates"] for r in results) == 30
    assert sum(r["risk_events"] for r in results) == 1
    users = scoring.summary()
    assert [(u.email, u.event_count, u.max_risk_level) for u in users.values()] == [("par@example.com", 1, "high")]


def test_sentinel_one(scoring: Scoring) -> None:
    scoring.enable(sentinel_one="high")
    result = scoring.send([
        event("device_posture", "infected@example.com", 0, provider="sentinel_one", device_id="mac-1", active_threats=2),
        event("device_posture", "clean@example.com", 0, provider="sentinel_one", device_id="mac-2", active_threats=0),
        # a CrowdStrike event is not a SentinelOne detection
        event("device_posture", "cs@example.com", 0, provider="crowdstrike", device_id="pc-1", zta_score=10),
    ])
    assert (result["accepted"], result["risk_events"]) == (3, 1)
    assert set(scoring.summary()) == {"infected@example.com"}
    ev = scoring.only_event("infected@example.com", "sentinel_one")
    assert ev.risk_level == "high"
    assert ev.event_details["active_threats"] == 2
    assert ev.event_details["events"][0]["device_id"] == "mac-1"


def test_crowdstrike_low_and_medium_zta(scoring: Scoring) -> None:
    scoring.enable(crowdstrike_low_zta="high", crowdstrike_medium_zta="medium")
    posture = lambda email, score: event(  # noqa: E731
        "device_posture", email, 0, provider="crowdstrike", device_id=f"dev-{email}", zta_score=score
    )
    result = scoring.send([
        posture("low@example.com", 30),
        posture("edge-low@example.com", 50),  # <= 50: low band
        posture("medium@example.com", 65),
        posture("edge-medium@example.com", 79),  # <= 79: medium band
        posture("good@example.com", 80),
        posture("great@example.com", 100),
    ])
    assert (result["accepted"], result["risk_events"]) == (6, 4)
    users = scoring.summary()
    assert set(users) == {"low@example.com", "edge-low@example.com", "medium@example.com", "edge-medium@example.com"}

    for email, score in (("low@example.com", 30), ("edge-low@example.com", 50)):
        ev = scoring.only_event(email, "crowdstrike_low_zta")
        assert ev.risk_level == "high"
        assert (ev.event_details["zta_score"], ev.event_details["max_score"]) == (score, 50)
    for email, score in (("medium@example.com", 65), ("edge-medium@example.com", 79)):
        ev = scoring.only_event(email, "crowdstrike_medium_zta")
        assert ev.risk_level == "medium"
        d = ev.event_details
        assert (d["zta_score"], d["max_score"], d["above_score"]) == (score, 79, 50), d


def test_malicious_file(scoring: Scoring) -> None:
    scoring.enable(malicious_file="high")
    result = scoring.send([
        event("gateway_file", "dl@example.com", 0, verdict="malicious", action="allow", file_name="invoice.exe",
              sha256="ab" * 32),
        event("gateway_file", "blocked@example.com", 0, verdict="malicious", action="block"),  # blocked counts too
        event("gateway_file", "fine@example.com", 0, verdict="clean", action="allow", file_name="report.pdf"),
    ])
    assert (result["accepted"], result["risk_events"]) == (3, 2)
    assert set(scoring.summary()) == {"dl@example.com", "blocked@example.com"}
    ev = scoring.only_event("dl@example.com", "malicious_file")
    assert ev.risk_level == "high"
    assert ev.event_details["verdict"] == "malicious"
    assert ev.event_details["events"][0]["file_name"] == "invoice.exe"
    assert scoring.only_event("blocked@example.com", "malicious_file").risk_level == "high"


def test_dns_categories(scoring: Scoring) -> None:
    scoring.enable(suspicious_security_domain="medium", high_risk_domain="low")
    dns = lambda email, query, cats, action="allow": event(  # noqa: E731
        "gateway_dns", email, 0, query=query, categories=cats, action=action
    )
    result = scoring.send([
        dns("sec@example.com", "c2.example", ["Security Threats"], "block"),
        dns("risk@example.com", "weird.example", ["Questionable Content"]),
        dns("both@example.com", "mixed.example", ["Security Risks", "Violence"]),
        dns("ok@example.com", "news.example", ["News", "Technology"]),
    ])
    assert (result["accepted"], result["risk_events"]) == (4, 4)
    users = scoring.summary()
    assert set(users) == {"sec@example.com", "risk@example.com", "both@example.com"}

    ev = scoring.only_event("sec@example.com", "suspicious_security_domain")
    assert ev.risk_level == "medium"
    assert ev.event_details["matched_categories"] == ["Security Threats"]
    assert ev.event_details["events"][0]["query"] == "c2.example"

    ev = scoring.only_event("risk@example.com", "high_risk_domain")
    assert ev.risk_level == "low"
    assert ev.event_details["matched_categories"] == ["Questionable Content"]

    both = scoring.user("both@example.com")
    assert sorted(e.name for e in both.events) == sorted([NAMES["suspicious_security_domain"], NAMES["high_risk_domain"]])
    assert both.risk_level == "medium"
    assert (users["both@example.com"].event_count, users["both@example.com"].max_risk_level) == (2, "medium")


def test_custom_behavior_signalled_by_event(scoring: Scoring) -> None:
    scoring.enable(vpn_anomaly="high", quiet_custom={"enabled": False, "risk_level": "high"})
    result = scoring.send([
        event("behavior", "ext@example.com", 0, behavior="vpn_anomaly", details={"source_ip": "192.0.2.1"}),
        event("behavior", "off@example.com", 0, behavior="quiet_custom"),  # configured, disabled
    ])
    assert result["risk_events"] == 1, result
    assert set(scoring.summary()) == {"ext@example.com"}
    ev = scoring.only_event("ext@example.com", "vpn_anomaly")  # a custom behavior's name is its id
    assert ev.risk_level == "high"


def test_level_change_applies_from_now_and_recorded_levels_stay(scoring: Scoring) -> None:
    scoring.enable(malicious_file="high")
    scoring.send([event("gateway_file", "lv@example.com", 0, verdict="malicious", action="allow")])
    scoring.enable(malicious_file="low")
    # two hours later in event time (beyond repeat suppression)
    scoring.send([event("gateway_file", "lv@example.com", 7200, verdict="malicious", action="allow")])
    got = scoring.user("lv@example.com")
    assert [(e.risk_level, e.timestamp) for e in got.events] == [("low", at(7200)), ("high", at(0))]
    assert got.risk_level == "high"
    # disabled: no new detection
    scoring.enable(malicious_file={"enabled": False, "risk_level": "low"})
    result = scoring.send([event("gateway_file", "lv@example.com", 20000, verdict="malicious", action="allow")])
    assert result["risk_events"] == 0
    assert scoring.summary()["lv@example.com"].event_count == 2


def test_ingestion_rejects_bad_events_alone(scoring: Scoring) -> None:
    scoring.enable(malicious_file="high")
    good = event("gateway_file", "ing@example.com", 0, id="good-1", verdict="malicious", action="allow")
    bad_type = {"id": "bad-1", "type": "bogus", "timestamp": ts(0), "user": {"email": "ing@example.com"}}
    no_time = event("gateway_file", "ing@example.com", 0, verdict="clean", action="allow")
    del no_time["timestamp"]
    result = scoring.send([good, bad_type, no_time, good])
    assert (result["accepted"], result["duplicates"], result["risk_events"]) == (1, 1, 1)
    rejected = {r["index"]: r["errors"] for r in result["rejected"]}
    assert set(rejected) == {1, 2}, result
    for index, errors in rejected.items():
        for err in errors:
            assert err["code"] == 1001 and err["message"], err
            assert err["source"]["pointer"].startswith(f"/{index}"), err
    assert "/1/type" in {e["source"]["pointer"] for e in rejected[1]}
    assert "/2/timestamp" in {e["source"]["pointer"] for e in rejected[2]}
    assert scoring.summary()["ing@example.com"].event_count == 1


# --------------------------------------------------------------------------------------------
# permissions


def test_summary_and_get_need_pii_read(scoring: Scoring, env: Env) -> None:
    scoring.enable(malicious_file="high")
    scoring.send([event("gateway_file", "pii@example.com", 0, verdict="malicious", action="allow")])
    user_id = scoring.summary()["pii@example.com"].user_id

    for perms in (["Zero Trust Read"], ["Zero Trust Write"], ["Zero Trust Read", "Zero Trust Write"],
                  ["Zero Trust Risk Events Write"]):
        client = env.client(env.create_token([scoring.account], perms).token)
        with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
            client.zero_trust.risk_scoring.summary.get(account_id=scoring.account)
        assert excinfo.value.status_code == 403 and codes(excinfo.value) == [9109], perms
        message = error_body(excinfo.value)["errors"][0]["message"]
        assert message.startswith("Unauthorized to access requested resource"), message
        assert "PII Read" in message, f"message should name the missing permission: {message}"
        with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
            client.zero_trust.risk_scoring.get(user_id, account_id=scoring.account)
        assert codes(excinfo.value) == [9109], perms
        # an unknown user is not revealed either: permissions are checked first
        with pytest.raises(cloudflare.PermissionDeniedError):
            client.zero_trust.risk_scoring.get(UNKNOWN_USER, account_id=scoring.account)

    pii = env.client(env.create_token([scoring.account], ["Zero Trust: PII Read"]).token)
    assert set(u.email for u in pii.zero_trust.risk_scoring.summary.get(account_id=scoring.account).users) == {
        "pii@example.com"
    }
    assert pii.zero_trust.risk_scoring.get(user_id, account_id=scoring.account).email == "pii@example.com"


def test_read_token_of_session_env_cannot_read_summary(env: Env) -> None:
    client = env.client(env.read_token_a.token)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.summary.get(account_id=env.account_a)
    assert codes(excinfo.value) == [9109]


def test_reset_needs_zero_trust_write(scoring: Scoring, env: Env) -> None:
    scoring.enable(malicious_file="high")
    scoring.send([event("gateway_file", "rw@example.com", 0, verdict="malicious", action="allow")])
    user_id = scoring.summary()["rw@example.com"].user_id

    for perms in (["Zero Trust Read"], ["Zero Trust: PII Read"], ["Zero Trust Risk Events Write"]):
        client = env.client(env.create_token([scoring.account], perms).token)
        with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
            client.zero_trust.risk_scoring.reset(user_id, account_id=scoring.account)
        assert excinfo.value.status_code == 403 and codes(excinfo.value) == [9109], perms
        assert "Zero Trust Write" in error_body(excinfo.value)["errors"][0]["message"]
    assert "rw@example.com" in scoring.summary()  # nothing was reset

    writer = env.client(env.create_token([scoring.account], ["Zero Trust Write"]).token)
    assert writer.zero_trust.risk_scoring.reset(user_id, account_id=scoring.account) == {}
    assert scoring.summary() == {}


def test_events_need_risk_events_write(scoring: Scoring, env: Env) -> None:
    batch = [event("gateway_file", "w@example.com", 0, verdict="clean", action="allow")]
    for perms in (["Zero Trust Write"], ["Zero Trust Read", "Zero Trust: PII Read"]):
        token = env.create_token([scoring.account], perms).token
        resp = post_events_raw(env.server.v4, scoring.account, token, batch)
        assert resp.status_code == 403, resp.text
        assert [e["code"] for e in resp.json()["errors"]] == [9109]
    token = env.create_token([scoring.account], ["Zero Trust Risk Events Write"]).token
    assert post_events(env.server.v4, scoring.account, token, batch)["accepted"] == 1
    # the bootstrap admin token (every permission) works on its own account only
    resp = post_events_raw(env.server.v4, scoring.account, env.admin_token, batch)
    assert resp.status_code == 403 and [e["code"] for e in resp.json()["errors"]] == [9109]


# --------------------------------------------------------------------------------------------
# durability across restarts (a dedicated server process on its own database)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_failed_logins_window_survives_restart(dedicated_server: DedicatedServer, stop_signal: int) -> None:
    srv = dedicated_server
    account, token = srv.account, srv.token
    client = srv.client()
    result = client.zero_trust.risk_scoring.behaviours.update(
        account_id=account,
        behaviors={"failed_logins": {"enabled": True, "risk_level": "high", "settings": {"threshold": 10}}},  # type: ignore[typeddict-unknown-key]
    )
    assert (result.behaviors["failed_logins"].enabled, result.behaviors["failed_logins"].risk_level) == (True, "high")
    raw = client.get(f"/accounts/{account}/zt_risk_scoring/behaviors", cast_to=object)
    assert raw["result"]["behaviors"]["failed_logins"]["settings"]["threshold"] == 10

    email = "brute@example.com"
    attempts = [login(email, 10 * i, success=False, id=f"fail-{i}", ip="192.0.2.66") for i in range(10)]

    first = post_events(srv.v4, account, token, attempts[:6])
    assert (first["accepted"], first["duplicates"], first["risk_events"], first["rejected"]) == (6, 0, 0, [])

    code = srv.stop(stop_signal)
    if stop_signal == signal.SIGTERM:
        assert code == 0, f"ztrisk exited {code} on SIGTERM\n{srv.server.diagnostics()}"
    srv.start()
    client = srv.client()

    # configuration survived
    got = client.zero_trust.risk_scoring.behaviours.get(account_id=account)
    assert (got.behaviors["failed_logins"].enabled, got.behaviors["failed_logins"].risk_level) == (True, "high")
    assert client.zero_trust.risk_scoring.summary.get(account_id=account).users == []

    # a log shipper that did not see the first answer sends everything again
    second = post_events(srv.v4, account, token, attempts)
    assert (second["accepted"], second["duplicates"], second["risk_events"], second["rejected"]) == (4, 6, 1, [])

    users = client.zero_trust.risk_scoring.summary.get(account_id=account).users
    assert [(u.email, u.event_count, u.max_risk_level) for u in users] == [(email, 1, "high")]
    detail = client.zero_trust.risk_scoring.get(users[0].user_id, account_id=account)
    assert [e.name for e in detail.events] == [NAMES["failed_logins"]]
    d = detail.events[0].event_details
    assert (d["behavior"], d["count"], d["threshold"], d["window_seconds"]) == ("failed_logins", 10, 10, 300), d
    assert d["timestamps"] == [ts(10 * i) for i in range(10)], d  # six of them from before the restart
    assert detail.events[0].timestamp == at(90)

    # and everything is still there after one more clean restart
    assert srv.stop(signal.SIGTERM) == 0
    srv.start()
    again = srv.client().zero_trust.risk_scoring.summary.get(account_id=account).users
    assert [(u.email, u.event_count) for u in again] == [(email, 1)]
    third = post_events(srv.v4, account, token, attempts)
    assert (third["accepted"], third["duplicates"], third["risk_events"]) == (0, 10, 0)
