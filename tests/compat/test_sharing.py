"""Risk sharing checked by libraries nobody here wrote (spec 4).

An Okta integration created with Cloudflare's official SDK makes ztrisk POST a Security Event
Token to the tenant for each change of a user's level; PyJWT verifies it against the JWKS ztrisk
publishes. Webhooks are verified with ``standardwebhooks``, the Standard Webhooks reference
library. The receivers are small HTTP servers on loopback that record what they get.

Also: deliveries survive ``kill -9`` (pending ones go out after the restart, none invented,
none twice), and on PostgreSQL two replicas deliver each SET once.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import httpx
import jwt
import pytest
from standardwebhooks.webhooks import Webhook

from conftest import BACKEND, DedicatedServer, Env, PgSchema, Server, start_server, stop_server
from test_risk import ALL_PERMISSIONS, NEW_YORK, PARIS, login, post_events

OKTA_EVENT = "https://schemas.okta.com/secevent/okta/event-type/user-risk-change"
OKTA_PATH = "/security/api/v1/security-events"
WAIT_S = 15.0


class Receiver:
    """A loopback HTTP receiver: records every POST; answers the statuses in ``script`` first,
    then ``default``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        self.script: list[int] = []
        self.default = 202
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    status = receiver.script.pop(0) if receiver.script else receiver.default
                    receiver.received.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                         "body": body, "status": status}
                    )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, name="receiver", daemon=True).start()

    def accepted(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.received if 200 <= r["status"] < 300]

    def wait_for(self, count: int, timeout: float = WAIT_S) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.accepted()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        return self.accepted()

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


def api(server_v4: str, account: str, token: str, method: str, rest: str, body: Any = None) -> dict[str, Any]:
    resp = httpx.request(
        method, f"{server_v4}/accounts/{account}/zt_risk_scoring{rest}", json=body,
        headers={"Authorization": f"Bearer {token}"}, timeout=30.0,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["result"]


def impossible_travel(email: str, offset: int = 0) -> list[dict[str, Any]]:
    return [login(email, offset, PARIS), login(email, offset + 600, NEW_YORK)]


def test_okta_sets_verify_with_pyjwt_against_the_published_jwks(env: Env, receiver: Receiver) -> None:
    account = env.create_account("compat sharing okta")
    token = env.create_token([account], ALL_PERMISSIONS).token
    client = env.client(token)
    integration = client.zero_trust.risk_scoring.integrations.create(
        account_id=account, integration_type="Okta", tenant_url=receiver.url
    )
    assert integration is not None
    client.zero_trust.risk_scoring.behaviours.update(
        account_id=account, behaviors={"imp_travel": {"enabled": True, "risk_level": "high"}}  # type: ignore[arg-type]
    )
    post_events(env.server.v4, account, token, impossible_travel("jane@example.com"))
    got = receiver.wait_for(1)
    assert len(got) == 1, got
    push = got[0]
    assert push["path"] == OKTA_PATH
    assert push["headers"]["content-type"] == "application/secevent+jwt"
    assert "authorization" not in push["headers"]

    # Discovery as a receiver does it: the well-known URL names the issuer and the JWKS.
    config = httpx.get(integration.well_known_url, timeout=10.0)
    assert config.status_code == 200, config.text
    issuer = config.json()["issuer"]
    assert issuer == f"{env.server.url}/{integration.id}"
    jwks = jwt.PyJWKClient(config.json()["jwks_uri"])
    raw = push["body"].decode()
    header = jwt.get_unverified_header(raw)
    assert header["alg"] == "RS256" and header["typ"] == "secevent+jwt", header
    key = jwks.get_signing_key_from_jwt(raw)
    claims = jwt.decode(
        raw, key.key, algorithms=["RS256"], audience=receiver.url, issuer=issuer,
        options={"require": ["iss", "aud", "iat", "jti"]},
    )
    assert "sub" not in claims and "exp" not in claims, claims
    assert len(claims["jti"]) == 32
    event = claims["events"][OKTA_EVENT]
    assert event["subject"] == {"user": {"format": "email", "email": "jane@example.com"}}
    assert (event["previous_level"], event["current_level"]) == ("low", "high")
    assert event["initiating_entity"] == "policy"
    assert event["reason_admin"] == {"en": "Impossible Travel"}
    assert isinstance(event["event_timestamp"], int)

    # A tampered token does not verify.
    head, payload, signature = raw.split(".")
    forged = json.loads(jwt.utils.base64url_decode(payload))
    forged["events"][OKTA_EVENT]["current_level"] = "low"
    forged_payload = jwt.utils.base64url_encode(json.dumps(forged).encode()).decode()
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(f"{head}.{forged_payload}.{signature}", key.key, algorithms=["RS256"],
                   audience=receiver.url, issuer=issuer)

    # The reset: high -> low, by an administrator; the deliveries API lists both.
    user = next(u for u in client.zero_trust.risk_scoring.summary.get(account_id=account).users
                if u.email == "jane@example.com")
    client.zero_trust.risk_scoring.reset(user.user_id, account_id=account)
    got = receiver.wait_for(2)
    claims = jwt.decode(got[1]["body"].decode(), jwks.get_signing_key_from_jwt(got[1]["body"].decode()).key,
                        algorithms=["RS256"], audience=receiver.url, issuer=issuer)
    event = claims["events"][OKTA_EVENT]
    assert (event["previous_level"], event["current_level"], event["initiating_entity"]) == ("high", "low", "admin")
    listed = api(env.server.v4, account, token, "GET", f"/integrations/{integration.id}/deliveries")
    assert [d["status"] for d in listed] == ["delivered", "delivered"], listed
    assert {d["id"] for d in listed} == {jwt.decode(r["body"].decode(), options={"verify_signature": False})["jti"]
                                         for r in got}


def test_webhooks_verify_with_the_standard_webhooks_library(env: Env, receiver: Receiver) -> None:
    account = env.create_account("compat sharing webhooks")
    token = env.create_token([account], ALL_PERMISSIONS).token
    created = api(env.server.v4, account, token, "POST", "/webhooks", {"url": f"{receiver.url}/hooks/risk"})
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["min_level"] == "low", created
    # Shown once: never again, in any answer.
    assert "secret" not in api(env.server.v4, account, token, "GET", f"/webhooks/{created['id']}")
    assert secret not in json.dumps(api(env.server.v4, account, token, "GET", "/webhooks"))

    tested = api(env.server.v4, account, token, "POST", f"/webhooks/{created['id']}/test")
    assert tested["delivered"] is True, tested
    api(env.server.v4, account, token, "PUT", "/behaviors",
        {"behaviors": {"imp_travel": {"enabled": True, "risk_level": "high"}}})
    post_events(env.server.v4, account, token, impossible_travel("wendy@example.com"))
    got = receiver.wait_for(2)
    assert len(got) == 2, got
    verifier = Webhook(secret)
    test_message = verifier.verify(got[0]["body"], got[0]["headers"])
    assert test_message["type"] == "webhook.test"
    change = verifier.verify(got[1]["body"], got[1]["headers"])
    assert change["type"] == "user.risk_level.changed"
    data = change["data"]
    assert (data["email"], data["previous_level"], data["current_level"]) == ("wendy@example.com", None, "high")
    assert (data["reason"], data["initiating_entity"], data["account_id"]) == ("imp_travel", "policy", account)
    # Another secret does not verify it.
    with pytest.raises(Exception):
        Webhook("whsec_" + "QUJD" * 8).verify(got[1]["body"], got[1]["headers"])


def _jtis(pushes: list[dict[str, Any]]) -> list[str]:
    return [jwt.decode(p["body"].decode(), options={"verify_signature": False})["jti"] for p in pushes]


def test_pending_deliveries_survive_kill_9(dedicated_server: DedicatedServer, receiver: Receiver) -> None:
    server = dedicated_server
    account, token = server.account, server.token
    client = server.client()
    integration = client.zero_trust.risk_scoring.integrations.create(
        account_id=account, integration_type="Okta", tenant_url=receiver.url
    )
    assert integration is not None
    client.zero_trust.risk_scoring.behaviours.update(
        account_id=account, behaviors={"imp_travel": {"enabled": True, "risk_level": "high"}}  # type: ignore[arg-type]
    )
    # The receiver is down: every attempt fails and deliveries stay pending.
    receiver.default = 503
    users = [f"crash{i}@example.com" for i in range(20)]
    events = [e for i, email in enumerate(users) for e in impossible_travel(email, i)]
    result = post_events(server.v4, account, token, events)
    assert result["risk_events"] == len(users), result
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and len(receiver.received) < len(users):
        time.sleep(0.05)
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL

    receiver.default = 202
    server.start()
    got = receiver.wait_for(len(users), timeout=30.0)
    jtis = _jtis(got)
    assert len(jtis) == len(users), f"{len(jtis)} of {len(users)} delivered"
    assert len(set(jtis)) == len(jtis), "a SET was accepted twice"
    listed = api(server.v4, account, token, "GET", f"/integrations/{integration.id}/deliveries?per_page=100")
    assert {d["id"] for d in listed} == set(jtis), "none invented, none lost"
    assert all(d["status"] == "delivered" for d in listed), listed
    # Retries resent the same bytes: every refused SET is one of the delivered ones.
    refused = {bytes(r["body"]) for r in receiver.received if r["status"] == 503}
    assert refused <= {bytes(r["body"]) for r in got}


@pytest.mark.skipif(BACKEND != "postgres", reason="two replicas need PostgreSQL (a SQLite file belongs to one process)")
def test_two_replicas_deliver_each_set_once(tmp_path_factory: pytest.TempPathFactory, receiver: Receiver) -> None:
    workdir = tmp_path_factory.mktemp("ztrisk-sharing-replicas")
    schema = PgSchema.create()
    started: list[Server] = []
    try:
        a = start_server(workdir, schema.url, what="replica A", log_name="sharing-a")
        started.append(a)
        b = start_server(workdir, schema.url, first_start=False, what="replica B", log_name="sharing-b")
        started.append(b)
        account, token = a.bootstrap_account, a.bootstrap_token
        integration = api(a.v4, account, token, "POST", "/integrations",
                          {"integration_type": "Okta", "tenant_url": receiver.url})
        api(b.v4, account, token, "PUT", "/behaviors",
            {"behaviors": {"imp_travel": {"enabled": True, "risk_level": "high"}}})
        users = [f"rep{i}@example.com" for i in range(40)]
        # Half the changes happen through each replica; both workers run.
        for i, email in enumerate(users):
            post_events((a, b)[i % 2].v4, account, token, impossible_travel(email, i))
        got = receiver.wait_for(len(users), timeout=30.0)
        time.sleep(1.5)  # anything sent twice would arrive by now
        jtis = _jtis(receiver.accepted())
        assert len(jtis) == len(users), f"{len(jtis)} SETs for {len(users)} changes"
        assert len(set(jtis)) == len(users), "a SET was delivered twice"
        listed = api(a.v4, account, token, "GET", f"/integrations/{integration['id']}/deliveries?per_page=100")
        assert {d["id"] for d in listed} == set(jtis)
        # The keys are shared: one JWKS, whichever replica answers.
        assert httpx.get(f"{a.url}/.well-known/jwks.json").json() == httpx.get(f"{b.url}/.well-known/jwks.json").json()
        del got
    finally:
        for server in reversed(started):
            stop_server(server)
        schema.drop()


def test_database_file_is_owner_only(dedicated_server: DedicatedServer) -> None:
    if BACKEND != "sqlite":
        pytest.skip("a SQLite file only")
    import os
    import stat

    mode = stat.S_IMODE(os.stat(dedicated_server.database).st_mode)
    assert mode == 0o600, oct(mode)
    wal = dedicated_server.database + "-wal"
    if os.path.exists(wal):
        assert stat.S_IMODE(os.stat(wal).st_mode) == 0o600
