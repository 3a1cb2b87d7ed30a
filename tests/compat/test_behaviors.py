"""Compatibility tests for GET/PUT /accounts/{account_id}/zt_risk_scoring/behaviors and the
authentication rules around them (api.md sections 1, 2.1, 2.2), driven through Cloudflare's
official Python SDK against a real ztrisk server.

Raw ``httpx`` is used only where the SDK cannot express the request (malformed JSON, a
non-JSON Content-Type, endpoints the SDK does not know).
"""

from __future__ import annotations

import concurrent.futures
import re
import secrets
import time
from typing import Any

import cloudflare
import httpx
import pytest
from cloudflare import Cloudflare, Omit

from conftest import Env, Tenant

# id -> (display name, default risk level); api.md 3.2. All disabled by default.
PREDEFINED: dict[str, tuple[str, str]] = {
    "imp_travel": ("Impossible Travel", "high"),
    "high_dlp": ("High Number of DLP Policies Triggered", "medium"),
    "failed_logins": ("Multiple Failed Login Attempts", "medium"),
    "sentinel_one": ("SentinelOne Threat Detected on Machine", "high"),
    "crowdstrike_low_zta": ("CrowdStrike Low ZTA Security Score", "high"),
    "crowdstrike_medium_zta": ("CrowdStrike Medium ZTA Security Score", "medium"),
    "malicious_file": ("Interaction with Malicious File", "high"),
    "suspicious_security_domain": ("Suspicious Security Domain Visited", "medium"),
    "high_risk_domain": ("High Risk Domain Visited", "low"),
}
LEVELS = ("low", "medium", "high")
MADE_UP_ACCOUNT = "0123456789abcdef0123456789abcdef"


# --------------------------------------------------------------------------------------------
# helpers


def behaviors_path(account_id: str) -> str:
    return f"/accounts/{account_id}/zt_risk_scoring/behaviors"


def state(result: Any) -> dict[str, tuple[bool, str]]:
    """``{id: (enabled, risk_level)}`` from an SDK behaviors response."""
    assert result is not None, "the SDK unwrapped a null result"
    return {bid: (b.enabled, b.risk_level) for bid, b in result.behaviors.items()}


def error_body(exc: cloudflare.APIStatusError) -> dict[str, Any]:
    """The failure envelope of an SDK error, checked against api.md 1.2."""
    body = exc.body
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r}"
    assert body.get("success") is False, body
    assert "result" in body and body["result"] is None, body
    assert isinstance(body.get("messages"), list), body
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    for err in errors:
        assert isinstance(err.get("code"), int) and err["code"] >= 1000, err
        assert isinstance(err.get("message"), str) and err["message"], err
    assert exc.response.headers.get("x-request-id"), "error responses carry x-request-id"
    return body


def codes(exc: cloudflare.APIStatusError) -> list[int]:
    return [e["code"] for e in error_body(exc)["errors"]]


def pointers(exc: cloudflare.APIStatusError) -> dict[str, dict[str, Any]]:
    """``{source.pointer: error}`` of a 1001 validation failure; every error must be 1001 with a pointer."""
    out: dict[str, dict[str, Any]] = {}
    for err in error_body(exc)["errors"]:
        assert err["code"] == 1001, err
        pointer = (err.get("source") or {}).get("pointer")
        assert isinstance(pointer, str) and pointer.startswith("/"), f"no source.pointer in {err}"
        out[pointer] = err
    return out


def assert_single_error(exc: cloudflare.APIStatusError, status: int, code: int) -> dict[str, Any]:
    assert exc.status_code == status, error_body(exc)
    assert codes(exc) == [code], error_body(exc)
    return error_body(exc)["errors"][0]


def raw(env: Env, method: str, path: str, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=env.server.v4, timeout=10.0) as http:
        return http.request(method, path, **kwargs)


# --------------------------------------------------------------------------------------------
# the seed page and GET / PUT semantics


def test_seed_example_verbatim(env: Env) -> None:
    client = env.client(env.admin_token)
    result = client.zero_trust.risk_scoring.behaviours.update(
        account_id=env.account_a,
        behaviors={"foo": {"enabled": True, "risk_level": "low"}},
    )
    assert result is not None
    assert result.behaviors["foo"].enabled is True
    assert result.behaviors["foo"].risk_level == "low"
    # the PUT result is the full configuration: every predefined behavior is in it too
    assert set(PREDEFINED) <= set(result.behaviors)

    later = client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)
    assert later is not None
    assert later.behaviors["foo"].enabled is True
    assert later.behaviors["foo"].risk_level == "low"


def test_get_new_account_has_predefined_defaults(tenant: Tenant) -> None:
    result = tenant.client.zero_trust.risk_scoring.behaviours.get(account_id=tenant.account)
    assert result is not None
    assert set(result.behaviors) == set(PREDEFINED)
    for bid, (name, level) in PREDEFINED.items():
        b = result.behaviors[bid]
        assert b.name == name, bid
        assert b.description, f"{bid} has an empty description"
        assert b.enabled is False, bid
        assert b.risk_level == level, bid


def test_get_keys_in_stable_order(tenant: Tenant) -> None:
    api = tenant.client.zero_trust.risk_scoring.behaviours
    put = api.update(
        account_id=tenant.account,
        behaviors={
            "zz_custom": {"enabled": True, "risk_level": "high"},
            "aa_custom": {"enabled": False, "risk_level": "low"},
            "high_dlp": {"enabled": True, "risk_level": "low"},
        },
    )
    orders = [list(put.behaviors)] + [list(api.get(account_id=tenant.account).behaviors) for _ in range(3)]
    assert all(o == orders[0] for o in orders), orders
    assert set(orders[0]) == set(PREDEFINED) | {"zz_custom", "aa_custom"}


def test_update_then_get_all_nine_predefined(tenant: Tenant) -> None:
    api = tenant.client.zero_trust.risk_scoring.behaviours
    # a non-default setting for every id: alternate enabled, rotate away from the default level
    wanted: dict[str, tuple[bool, str]] = {}
    for i, (bid, (_, default)) in enumerate(PREDEFINED.items()):
        level = LEVELS[(LEVELS.index(default) + 1 + i % 2) % 3]
        assert level != default
        wanted[bid] = (i % 2 == 0, level)

    result = api.update(
        account_id=tenant.account,
        behaviors={bid: {"enabled": en, "risk_level": lvl} for bid, (en, lvl) in wanted.items()},
    )
    assert state(result) == wanted
    for bid, (name, _) in PREDEFINED.items():
        assert result.behaviors[bid].name == name  # name/description survive an update

    got = api.get(account_id=tenant.account)
    assert state(got) == wanted
    for bid, (name, _) in PREDEFINED.items():
        assert got.behaviors[bid].name == name
        assert got.behaviors[bid].description


def test_partial_update_merges(tenant: Tenant) -> None:
    api = tenant.client.zero_trust.risk_scoring.behaviours
    api.update(
        account_id=tenant.account,
        behaviors={
            "imp_travel": {"enabled": True, "risk_level": "low"},
            "high_dlp": {"enabled": True, "risk_level": "high"},
            "merge_custom": {"enabled": True, "risk_level": "medium"},
        },
    )
    result = api.update(
        account_id=tenant.account,
        behaviors={"high_dlp": {"enabled": False, "risk_level": "medium"}},
    )
    expected = {bid: (False, level) for bid, (_, level) in PREDEFINED.items()}
    expected.update(
        imp_travel=(True, "low"),  # left out: kept
        high_dlp=(False, "medium"),  # in the body: set
        merge_custom=(True, "medium"),  # custom, left out: kept
    )
    assert state(result) == expected
    assert state(api.get(account_id=tenant.account)) == expected


def test_empty_behaviors_object_is_a_noop(tenant: Tenant) -> None:
    api = tenant.client.zero_trust.risk_scoring.behaviours
    api.update(account_id=tenant.account, behaviors={"sentinel_one": {"enabled": True, "risk_level": "low"}})
    before = state(api.get(account_id=tenant.account))
    result = api.update(account_id=tenant.account, behaviors={})
    assert state(result) == before
    assert state(api.get(account_id=tenant.account)) == before


def test_custom_behavior_is_created_with_id_as_name(tenant: Tenant) -> None:
    api = tenant.client.zero_trust.risk_scoring.behaviours
    result = api.update(
        account_id=tenant.account, behaviors={"vpn_anomaly_2": {"enabled": True, "risk_level": "high"}}
    )
    custom = result.behaviors["vpn_anomaly_2"]
    assert (custom.enabled, custom.risk_level) == (True, "high")
    assert custom.name == "vpn_anomaly_2"
    assert "event" in custom.description.lower(), custom.description

    # updating it again changes it in place
    result = api.update(
        account_id=tenant.account, behaviors={"vpn_anomaly_2": {"enabled": False, "risk_level": "low"}}
    )
    assert state(result)["vpn_anomaly_2"] == (False, "low")
    assert state(api.get(account_id=tenant.account))["vpn_anomaly_2"] == (False, "low")


def test_custom_behavior_id_pattern_limits(tenant: Tenant) -> None:
    api = tenant.client.zero_trust.risk_scoring.behaviours
    longest = "a" + "b1_" * 21  # 64 characters: the maximum
    assert len(longest) == 64
    result = api.update(account_id=tenant.account, behaviors={longest: {"enabled": True, "risk_level": "low"}})
    assert state(result)[longest] == (True, "low")

    too_long = longest + "x"
    for bad in ("Foo", "1abc", "has-dash", "", too_long):
        with pytest.raises(cloudflare.BadRequestError) as excinfo:
            api.update(account_id=tenant.account, behaviors={bad: {"enabled": True, "risk_level": "low"}})
        assert excinfo.value.status_code == 400
        assert list(pointers(excinfo.value)) == [f"/behaviors/{bad}"], bad
    assert set(state(api.get(account_id=tenant.account))) == set(PREDEFINED) | {longest}


# --------------------------------------------------------------------------------------------
# validation (1001 with source.pointer, atomic)


def test_invalid_risk_level_is_400_and_atomic(tenant: Tenant) -> None:
    api = tenant.client.zero_trust.risk_scoring.behaviours
    before = state(api.get(account_id=tenant.account))
    with pytest.raises(cloudflare.BadRequestError) as excinfo:
        api.update(
            account_id=tenant.account,
            behaviors={
                "imp_travel": {"enabled": True, "risk_level": "low"},  # valid, must not be applied
                "high_dlp": {"enabled": True, "risk_level": "critical"},  # type: ignore[typeddict-item]
            },
        )
    exc = excinfo.value
    assert exc.status_code == 400
    assert codes(exc) == [1001]
    err = pointers(exc)["/behaviors/high_dlp/risk_level"]
    assert re.search(r"low|medium|high", err["message"]), f"message should say what was expected: {err}"
    assert state(api.get(account_id=tenant.account)) == before


def test_every_problem_is_reported_and_nothing_changes(tenant: Tenant) -> None:
    api = tenant.client.zero_trust.risk_scoring.behaviours
    before = state(api.get(account_id=tenant.account))
    with pytest.raises(cloudflare.BadRequestError) as excinfo:
        api.update(
            account_id=tenant.account,
            behaviors={
                "imp_travel": {"enabled": "yes", "risk_level": "low"},  # type: ignore[typeddict-item]
                "failed_logins": {"enabled": True},  # type: ignore[typeddict-item]
                "malicious_file": {"risk_level": "high"},  # type: ignore[typeddict-item]
                "new_custom": {"enabled": True, "risk_level": "HIGH"},  # type: ignore[typeddict-item]
                "sentinel_one": {"enabled": True, "risk_level": "medium"},  # valid
            },
        )
    assert excinfo.value.status_code == 400
    assert set(pointers(excinfo.value)) == {
        "/behaviors/imp_travel/enabled",
        "/behaviors/failed_logins/risk_level",
        "/behaviors/malicious_file/enabled",
        "/behaviors/new_custom/risk_level",
    }
    after = state(api.get(account_id=tenant.account))
    assert after == before
    assert "new_custom" not in after


def test_missing_behaviors_field_is_400(env: Env, tenant: Tenant) -> None:
    # The typed method always sends `behaviors`; the SDK's generic put() sends any body.
    with pytest.raises(cloudflare.BadRequestError) as excinfo:
        tenant.client.put(behaviors_path(tenant.account), body={"something": "else"}, cast_to=object)
    assert excinfo.value.status_code == 400
    assert list(pointers(excinfo.value)) == ["/behaviors"]

    with pytest.raises(cloudflare.BadRequestError) as excinfo:
        tenant.client.put(behaviors_path(tenant.account), body={"behaviors": ["imp_travel"]}, cast_to=object)
    assert list(pointers(excinfo.value)) == ["/behaviors"]


def test_entry_and_top_level_shape_errors(tenant: Tenant) -> None:
    cases = [
        ({"behaviors": None}, ["/behaviors"]),
        ({"behaviors": {"foo": None}}, ["/behaviors/foo"]),
        ({"behaviors": {"foo": {"enabled": None, "risk_level": "low"}}}, ["/behaviors/foo/enabled"]),
        ({"behaviors": {"foo": {"enabled": True, "risk_level": 2}}}, ["/behaviors/foo/risk_level"]),
        # JSON pointer escaping (RFC 6901): "/" -> "~1", "~" -> "~0"
        ({"behaviors": {"a/b~c": {"enabled": True, "risk_level": "low"}}}, ["/behaviors/a~1b~0c"]),
    ]
    for body, expected in cases:
        with pytest.raises(cloudflare.BadRequestError) as excinfo:
            tenant.client.put(behaviors_path(tenant.account), body=body, cast_to=object)
        assert excinfo.value.status_code == 400, body
        assert list(pointers(excinfo.value)) == expected, body
    got = state(tenant.client.zero_trust.risk_scoring.behaviours.get(account_id=tenant.account))
    assert got == {bid: (False, level) for bid, (_, level) in PREDEFINED.items()}


def test_settings_are_updated_merged_and_validated(tenant: Tenant) -> None:
    """ztrisk's optional per-entry ``settings`` (api.md 2.2 / 3.2), sent through the SDK's
    typed method: unknown keys in the TypedDict are passed through as they are."""
    api = tenant.client.zero_trust.risk_scoring.behaviours
    default = tenant.client.get(behaviors_path(tenant.account), cast_to=object)["result"]["behaviors"]
    # Every behavior has the controls of api.md 6.1; impossible travel also its networks.
    controls = {"exclude_users": [], "monitor_only": False, "expire_after_days": 0}
    assert default["high_dlp"]["settings"] == {"threshold": 15, "window_seconds": 60, **controls}
    assert default["imp_travel"]["settings"] == {
        "max_speed_kmh": 900, "min_distance_km": 100, "trusted_networks": [], "same_ip_is_same_place": True, **controls}
    assert default["failed_logins"]["settings"] == {"threshold": 10, "window_seconds": 300, **controls}
    assert default["crowdstrike_low_zta"]["settings"] == {"max_score": 50, **controls}
    assert default["crowdstrike_medium_zta"]["settings"] == {"max_score": 79, **controls}
    assert default["sentinel_one"]["settings"] == controls

    result = api.update(
        account_id=tenant.account,
        behaviors={"high_dlp": {"enabled": True, "risk_level": "high", "settings": {"threshold": 3}}},  # type: ignore[typeddict-unknown-key]
    )
    assert state(result)["high_dlp"] == (True, "high")
    got = tenant.client.get(behaviors_path(tenant.account), cast_to=object)["result"]["behaviors"]["high_dlp"]
    # keys left out of `settings` keep their value
    assert got["settings"] == {"threshold": 3, "window_seconds": 60, **controls}

    # an update without `settings` leaves them as they are
    api.update(account_id=tenant.account, behaviors={"high_dlp": {"enabled": False, "risk_level": "low"}})
    got = tenant.client.get(behaviors_path(tenant.account), cast_to=object)["result"]["behaviors"]["high_dlp"]
    assert (got["enabled"], got["risk_level"], got["settings"]) == (False, "low", {"threshold": 3, "window_seconds": 60, **controls})

    before = tenant.client.get(behaviors_path(tenant.account), cast_to=object)["result"]
    with pytest.raises(cloudflare.BadRequestError) as excinfo:
        api.update(
            account_id=tenant.account,
            behaviors={
                "high_dlp": {"enabled": True, "risk_level": "low", "settings": {"bogus": 1, "window_seconds": -5}},  # type: ignore[typeddict-unknown-key]
                "sentinel_one": {"enabled": True, "risk_level": "low", "settings": {"threshold": 1}},  # type: ignore[typeddict-unknown-key]
                "imp_travel": {"enabled": True, "risk_level": "low"},  # valid: must not be applied
            },
        )
    assert set(pointers(excinfo.value)) == {
        "/behaviors/high_dlp/settings/bogus",
        "/behaviors/high_dlp/settings/window_seconds",
        "/behaviors/sentinel_one/settings/threshold",
    }
    assert tenant.client.get(behaviors_path(tenant.account), cast_to=object)["result"] == before


def test_oversized_body_is_413(env: Env, tenant: Tenant) -> None:
    entry = '"c{}":{{"enabled":true,"risk_level":"low"}}'
    payload = ('{"behaviors":{' + ",".join(entry.format(i) for i in range(420_000)) + "}}").encode()
    assert len(payload) > 17 * 1024 * 1024
    resp = raw(
        env,
        "PUT",
        behaviors_path(tenant.account),
        headers={"Authorization": f"Bearer {tenant.token.token}", "Content-Type": "application/json"},
        content=payload,
    )
    assert resp.status_code == 413, resp.text[:500]
    assert [e["code"] for e in resp.json()["errors"]] == [1413], resp.text[:500]
    got = state(tenant.client.zero_trust.risk_scoring.behaviours.get(account_id=tenant.account))
    assert set(got) == set(PREDEFINED)


def test_unknown_fields_are_ignored(tenant: Tenant) -> None:
    body = {
        "behaviors": {"high_risk_domain": {"enabled": True, "risk_level": "high", "name": "ignored"}},
        "extra": 1,
    }
    out = tenant.client.put(behaviors_path(tenant.account), body=body, cast_to=object)
    assert isinstance(out, dict) and out["success"] is True, out
    assert out["result"]["behaviors"]["high_risk_domain"]["enabled"] is True
    assert out["result"]["behaviors"]["high_risk_domain"]["risk_level"] == "high"
    assert out["result"]["behaviors"]["high_risk_domain"]["name"] == "High Risk Domain Visited"


def test_malformed_json_is_6007(env: Env, tenant: Tenant) -> None:
    before = state(tenant.client.zero_trust.risk_scoring.behaviours.get(account_id=tenant.account))
    resp = raw(
        env,
        "PUT",
        behaviors_path(tenant.account),
        headers={"Authorization": f"Bearer {tenant.token.token}", "Content-Type": "application/json"},
        content=b'{"behaviors": {"imp_travel": {"enabled": true,',
    )
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["success"] is False and body["result"] is None
    assert [e["code"] for e in body["errors"]] == [6007], body
    assert state(tenant.client.zero_trust.risk_scoring.behaviours.get(account_id=tenant.account)) == before


def test_non_json_content_type_is_9207_and_missing_one_is_accepted(env: Env, tenant: Tenant) -> None:
    payload = b'{"behaviors": {"malicious_file": {"enabled": true, "risk_level": "low"}}}'
    auth = {"Authorization": f"Bearer {tenant.token.token}"}
    resp = raw(env, "PUT", behaviors_path(tenant.account), headers={**auth, "Content-Type": "text/plain"}, content=payload)
    assert resp.status_code == 400, resp.text
    assert [e["code"] for e in resp.json()["errors"]] == [9207], resp.text

    resp = raw(env, "PUT", behaviors_path(tenant.account), headers=auth, content=payload)
    assert "content-type" not in {k.lower() for k in resp.request.headers}
    assert resp.status_code == 200, resp.text
    assert resp.json()["result"]["behaviors"]["malicious_file"]["enabled"] is True


def test_wrong_method_is_405_with_allow(env: Env) -> None:
    client = env.client(env.admin_token)
    with pytest.raises(cloudflare.APIStatusError) as excinfo:
        client.post(behaviors_path(env.account_a), body={}, cast_to=object)
    exc = excinfo.value
    assert exc.status_code == 405
    assert codes(exc) == [10405]
    allow = {m.strip().upper() for m in exc.response.headers.get("allow", "").split(",")}
    assert {"GET", "PUT"} <= allow, exc.response.headers


def test_malformed_account_id_is_not_a_route(env: Env) -> None:
    client = env.client(env.admin_token)
    for bad in ("not-an-account", MADE_UP_ACCOUNT.upper(), MADE_UP_ACCOUNT[:-1]):
        with pytest.raises(cloudflare.NotFoundError) as excinfo:
            client.zero_trust.risk_scoring.behaviours.get(account_id=bad)
        assert excinfo.value.status_code == 404
        assert codes(excinfo.value) == [7003, 7000], bad


def test_concurrent_puts_all_apply(tenant: Tenant, env: Env) -> None:
    ids = [f"concurrent_{i}" for i in range(8)]

    def put(bid: str) -> None:
        client = env.client(tenant.token.token)
        client.zero_trust.risk_scoring.behaviours.update(
            account_id=tenant.account, behaviors={bid: {"enabled": True, "risk_level": "medium"}}
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, ids))
    final = state(tenant.client.zero_trust.risk_scoring.behaviours.get(account_id=tenant.account))
    for bid in ids:
        assert final.get(bid) == (True, "medium"), f"lost update for {bid}: {final}"


# --------------------------------------------------------------------------------------------
# authentication and permissions


def test_no_credentials_is_9106(env: Env) -> None:
    # A client with no credentials at all; Omit() tells the SDK that leaving out
    # Authorization is deliberate, so the request still goes through its HTTP stack.
    client = Cloudflare(base_url=env.server.v4, max_retries=0, timeout=10.0)
    with pytest.raises(cloudflare.BadRequestError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.get(
            account_id=env.account_a, extra_headers={"Authorization": Omit()}
        )
    exc = excinfo.value
    sent = {k.lower() for k in exc.response.request.headers}
    assert not sent & {"authorization", "x-auth-key", "x-auth-email"}, sent
    err = assert_single_error(exc, 400, 9106)
    assert err["message"] == "Missing X-Auth-Key, X-Auth-Email or Authorization headers"

    with pytest.raises(cloudflare.BadRequestError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.update(
            account_id=env.account_a,
            behaviors={"imp_travel": {"enabled": True, "risk_level": "low"}},
            extra_headers={"Authorization": Omit()},
        )
    assert_single_error(excinfo.value, 400, 9106)


def test_malformed_authorization_header_is_6003(env: Env) -> None:
    client = env.client(env.admin_token)
    for value in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer short"):
        with pytest.raises(cloudflare.BadRequestError) as excinfo:
            client.zero_trust.risk_scoring.behaviours.get(
                account_id=env.account_a, extra_headers={"Authorization": value}
            )
        err = assert_single_error(excinfo.value, 400, 6003)
        chain = err.get("error_chain")
        assert isinstance(chain, list) and [c["code"] for c in chain] == [6111], (value, err)


def test_unknown_token_is_10000(env: Env) -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    unknown = "".join(secrets.choice(alphabet) for _ in range(40))
    client = env.client(unknown)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)
    err = assert_single_error(excinfo.value, 403, 10000)
    assert err["message"] == "Authentication error"


@pytest.mark.parametrize("target", ["existing_account_b", "made_up_account"])
def test_token_for_another_account_is_9109(env: Env, target: str) -> None:
    account = env.account_b if target == "existing_account_b" else MADE_UP_ACCOUNT
    client = env.client(env.admin_token)  # every permission, but on account A only
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.get(account_id=account)
    get_err = assert_single_error(excinfo.value, 403, 9109)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.update(
            account_id=account, behaviors={"imp_travel": {"enabled": True, "risk_level": "low"}}
        )
    put_err = assert_single_error(excinfo.value, 403, 9109)
    for err in (get_err, put_err):
        assert err["message"].startswith("Unauthorized to access requested resource"), err


def test_other_account_answer_does_not_reveal_existence(env: Env) -> None:
    client = env.client(env.admin_token)
    bodies = []
    for account in (env.account_b, MADE_UP_ACCOUNT):
        with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
            client.zero_trust.risk_scoring.behaviours.get(account_id=account)
        body = error_body(excinfo.value)
        bodies.append((excinfo.value.status_code, [(e["code"], e["message"].replace(account, "<acct>")) for e in body["errors"]]))
    assert bodies[0] == bodies[1]


def test_token_b_cannot_touch_account_a(env: Env) -> None:
    client_b = env.client(env.token_b.token)
    # it works on its own account
    result = client_b.zero_trust.risk_scoring.behaviours.update(
        account_id=env.account_b, behaviors={"failed_logins": {"enabled": True, "risk_level": "high"}}
    )
    assert state(result)["failed_logins"] == (True, "high")
    before_a = state(env.client(env.admin_token).zero_trust.risk_scoring.behaviours.get(account_id=env.account_a))
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client_b.zero_trust.risk_scoring.behaviours.update(
            account_id=env.account_a, behaviors={"failed_logins": {"enabled": True, "risk_level": "high"}}
        )
    assert_single_error(excinfo.value, 403, 9109)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client_b.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)
    assert_single_error(excinfo.value, 403, 9109)
    after_a = state(env.client(env.admin_token).zero_trust.risk_scoring.behaviours.get(account_id=env.account_a))
    assert after_a == before_a


def test_read_only_token_can_get_but_not_put(env: Env) -> None:
    client = env.client(env.read_token_a.token)
    got = client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)
    assert set(PREDEFINED) <= set(got.behaviors)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.update(
            account_id=env.account_a, behaviors={"imp_travel": {"enabled": True, "risk_level": "medium"}}
        )
    err = assert_single_error(excinfo.value, 403, 9109)
    assert "Zero Trust Write" in err["message"], f"message should name the missing permission: {err}"
    assert state(client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)) == state(got)


@pytest.mark.parametrize("permission", ["Zero Trust: PII Read", "Zero Trust Risk Events Write"])
def test_unrelated_permissions_cannot_get_behaviors(env: Env, permission: str) -> None:
    cred = env.create_token([env.account_a], [permission])
    client = env.client(cred.token)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)
    assert_single_error(excinfo.value, 403, 9109)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.update(
            account_id=env.account_a, behaviors={"imp_travel": {"enabled": True, "risk_level": "medium"}}
        )
    assert_single_error(excinfo.value, 403, 9109)


def test_token_for_two_accounts_works_on_both(env: Env) -> None:
    cred = env.create_token([env.account_a, env.account_b], ["Zero Trust Read"])
    client = env.client(cred.token)
    for account in (env.account_a, env.account_b):
        assert set(PREDEFINED) <= set(client.zero_trust.risk_scoring.behaviours.get(account_id=account).behaviors)


def test_email_and_key_auth_get_and_put(env: Env) -> None:
    client = env.key_client(env.key_a.email, env.key_a.key)
    got = client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)
    assert set(PREDEFINED) <= set(got.behaviors)
    result = client.zero_trust.risk_scoring.behaviours.update(
        account_id=env.account_a, behaviors={"key_auth_probe": {"enabled": True, "risk_level": "high"}}
    )
    assert state(result)["key_auth_probe"] == (True, "high")
    assert state(client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a))["key_auth_probe"] == (
        True,
        "high",
    )
    # the key acts only on the accounts its user belongs to
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_b)
    assert_single_error(excinfo.value, 403, 9109)


def test_wrong_global_key_is_10000(env: Env) -> None:
    # well-formed (same shape as the real key) but wrong
    key = env.key_a.key
    wrong = "".join(secrets.choice("0123456789abcdef") for _ in key)
    assert wrong != key
    client = env.key_client(env.key_a.email, wrong)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)
    assert_single_error(excinfo.value, 403, 10000)

    # the right key under another email is just as wrong
    client = env.key_client("someone-else@example.com", key)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.update(
            account_id=env.account_a, behaviors={"imp_travel": {"enabled": True, "risk_level": "low"}}
        )
    assert_single_error(excinfo.value, 403, 10000)


def test_authorization_header_decides_over_x_auth(env: Env) -> None:
    # good token + bad key: the token decides, so it works
    client = env.key_client(env.key_a.email, "0" * len(env.key_a.key))
    got = client.zero_trust.risk_scoring.behaviours.get(
        account_id=env.account_a, extra_headers={"Authorization": f"Bearer {env.read_token_a.token}"}
    )
    assert set(PREDEFINED) <= set(got.behaviors)
    # and the read-only token's permissions apply, not the key's
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        env.key_client(env.key_a.email, env.key_a.key).zero_trust.risk_scoring.behaviours.update(
            account_id=env.account_a,
            behaviors={"imp_travel": {"enabled": True, "risk_level": "low"}},
            extra_headers={"Authorization": f"Bearer {env.read_token_a.token}"},
        )
    assert_single_error(excinfo.value, 403, 9109)


def test_root_base_url_works(env: Env) -> None:
    client = env.client(env.admin_token, root=True)
    assert str(client.base_url).rstrip("/") == env.url
    result = client.zero_trust.risk_scoring.behaviours.update(
        account_id=env.account_a, behaviors={"root_probe": {"enabled": True, "risk_level": "medium"}}
    )
    assert state(result)["root_probe"] == (True, "medium")
    got = client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)
    assert state(got)["root_probe"] == (True, "medium")
    # the same data as seen through /client/v4
    v4 = env.client(env.admin_token).zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)
    assert state(v4) == state(got)

    # key auth and errors work at the root too
    key_client = env.key_client(env.key_a.email, env.key_a.key, root=True)
    assert state(key_client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)) == state(got)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_b)
    assert_single_error(excinfo.value, 403, 9109)


def test_revoked_token_is_10000(env: Env) -> None:
    cred = env.create_token([env.account_a], ["Zero Trust Write"], "--name", "compat to revoke")
    client = env.client(cred.token)
    assert client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a) is not None
    env.revoke_token(cred.id)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)
    assert_single_error(excinfo.value, 403, 10000)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.update(
            account_id=env.account_a, behaviors={"imp_travel": {"enabled": True, "risk_level": "low"}}
        )
    assert_single_error(excinfo.value, 403, 10000)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.user.tokens.verify()
    assert_single_error(excinfo.value, 403, 10000)


def test_expired_token_is_10000(env: Env) -> None:
    cred = env.create_token([env.account_a], ["Zero Trust Read"], "--expires-in", "1s")
    client = env.client(cred.token)
    time.sleep(2.1)
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        client.zero_trust.risk_scoring.behaviours.get(account_id=env.account_a)
    assert_single_error(excinfo.value, 403, 10000)


def test_verify_token(env: Env) -> None:
    verified = env.client(env.read_token_a.token).user.tokens.verify()
    assert verified is not None
    assert verified.status == "active"
    assert verified.id == env.read_token_a.id
    assert verified.expires_on is None

    verified = env.client(env.admin_token, root=True).user.tokens.verify()
    assert verified is not None and verified.status == "active" and verified.id

    cred = env.create_token([env.account_b], ["Zero Trust Read"], "--expires-in", "30d")
    verified = env.client(cred.token).user.tokens.verify()
    assert verified is not None and verified.status == "active" and verified.id == cred.id
    assert verified.expires_on is not None
    remaining = verified.expires_on.timestamp() - time.time()
    assert 29 * 86400 < remaining <= 30 * 86400 + 60, verified.expires_on


def test_success_envelope_and_request_id(env: Env) -> None:
    client = env.client(env.admin_token)
    resp = client.zero_trust.risk_scoring.behaviours.with_raw_response.get(account_id=env.account_a)
    assert resp.status_code == 200
    assert resp.headers.get("x-request-id")
    body = resp.http_response.json()
    assert body["success"] is True
    assert body["errors"] == [] and body["messages"] == []
    for bid, b in body["result"]["behaviors"].items():
        assert {"name", "description", "enabled", "risk_level"} <= set(b), bid
    # the parsed value the SDK returns from the same raw response
    assert set(resp.parse().behaviors) == set(body["result"]["behaviors"])


def test_health_endpoints_need_no_credentials(env: Env) -> None:
    with httpx.Client(base_url=env.url, timeout=10.0) as http:
        for path in ("/healthz", "/readyz"):
            resp = http.get(path)
            assert resp.status_code == 200, (path, resp.text)
            assert resp.json()["success"] is True
