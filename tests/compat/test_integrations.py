"""Compatibility tests for /accounts/{account_id}/zt_risk_scoring/integrations (api.md 2.6)
through every method of Cloudflare's official Python SDK
(``client.zero_trust.risk_scoring.integrations`` and ``.references``), against a real ztrisk.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import cloudflare
import pytest

from conftest import Env, Tenant

UNKNOWN_ID = "7d3c1a52-9f1e-4c55-8b0e-3c2b6f5a9e10"
FIELDS = {"id", "account_tag", "active", "created_at", "integration_type", "reference_id", "tenant_url", "well_known_url"}


def error_body(exc: cloudflare.APIStatusError) -> dict[str, Any]:
    body = exc.body
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r}"
    assert body.get("success") is False and body.get("result") is None, body
    assert isinstance(body.get("messages"), list), body
    assert isinstance(body.get("errors"), list) and body["errors"], body
    for err in body["errors"]:
        assert isinstance(err.get("code"), int) and err["code"] >= 1000, err
        assert isinstance(err.get("message"), str) and err["message"], err
    assert exc.response.headers.get("x-request-id")
    return body


def codes(exc: cloudflare.APIStatusError) -> list[int]:
    return [e["code"] for e in error_body(exc)["errors"]]


def pointers(exc: cloudflare.APIStatusError) -> set[str]:
    out = set()
    for err in error_body(exc)["errors"]:
        assert err["code"] == 1001, err
        out.add(err["source"]["pointer"])
    return out


def as_tuple(obj: Any) -> tuple:
    return tuple(getattr(obj, f) for f in sorted(FIELDS))


def check(obj: Any, env: Env, account: str, *, tenant_url: str, reference_id: str = "", active: bool = True) -> None:
    """Every field of an integration object as the SDK parsed it."""
    assert obj is not None
    assert set(obj.model_fields_set) >= FIELDS, obj
    parsed = uuid.UUID(obj.id)
    assert str(parsed) == obj.id, f"id is not a lowercase hyphenated UUID: {obj.id}"
    assert parsed.version == 4, f"id should be a UUIDv4 (as the SDK documents): {obj.id}"
    assert obj.account_tag == account
    assert obj.active is active
    assert isinstance(obj.created_at, datetime) and obj.created_at.tzinfo is not None
    now = datetime.now(timezone.utc)
    assert now - timedelta(minutes=5) <= obj.created_at <= now + timedelta(seconds=5), obj.created_at
    assert obj.integration_type == "Okta"
    assert obj.reference_id == reference_id
    assert obj.tenant_url == tenant_url
    assert obj.well_known_url == f"{env.url}/.well-known/sse-configuration/{obj.id}/"
    assert obj.well_known_url.endswith(f"/.well-known/sse-configuration/{obj.id}/")


def integrations_path(account: str) -> str:
    return f"/accounts/{account}/zt_risk_scoring/integrations"


# --------------------------------------------------------------------------------------------
# CRUD


def test_new_account_has_no_integrations(tenant: Tenant) -> None:
    api = tenant.client.zero_trust.risk_scoring.integrations
    page = api.list(account_id=tenant.account)
    assert list(page) == []
    raw = tenant.client.get(integrations_path(tenant.account), cast_to=object)
    assert raw["success"] is True and raw["result"] == []  # a bare array


def test_create_get_list_update_delete(tenant: Tenant, env: Env) -> None:
    api = tenant.client.zero_trust.risk_scoring.integrations
    ref = str(uuid.uuid4())

    created = api.create(
        account_id=tenant.account, integration_type="Okta", tenant_url="https://example.okta.com", reference_id=ref
    )
    check(created, env, tenant.account, tenant_url="https://example.okta.com", reference_id=ref)

    # the wire object has exactly the documented fields
    resp = api.with_raw_response.get(created.id, account_id=tenant.account)
    wire = resp.http_response.json()
    assert wire["success"] is True and resp.status_code == 200
    assert set(wire["result"]) == FIELDS, wire["result"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", wire["result"]["created_at"])
    got = resp.parse()
    check(got, env, tenant.account, tenant_url="https://example.okta.com", reference_id=ref)
    assert as_tuple(got) == as_tuple(created)

    by_ref = api.references.get(ref, account_id=tenant.account)
    assert as_tuple(by_ref) == as_tuple(created)

    listed = list(api.list(account_id=tenant.account))
    assert [as_tuple(i) for i in listed] == [as_tuple(created)]

    # update overwrites active, tenant_url and reference_id; the rest stays
    ref2 = str(uuid.uuid4())
    updated = api.update(
        created.id, account_id=tenant.account, active=False, tenant_url="https://other.okta.com", reference_id=ref2
    )
    check(updated, env, tenant.account, tenant_url="https://other.okta.com", reference_id=ref2, active=False)
    assert (updated.id, updated.created_at, updated.well_known_url, updated.account_tag) == (
        created.id, created.created_at, created.well_known_url, created.account_tag
    )
    assert as_tuple(api.get(created.id, account_id=tenant.account)) == as_tuple(updated)
    assert as_tuple(api.references.get(ref2, account_id=tenant.account)) == as_tuple(updated)
    with pytest.raises(cloudflare.NotFoundError) as excinfo:
        api.references.get(ref, account_id=tenant.account)  # the old reference is gone
    assert codes(excinfo.value) == [1404]

    # re-activate
    again = api.update(created.id, account_id=tenant.account, active=True, tenant_url="https://other.okta.com",
                       reference_id=ref2)
    assert again.active is True

    # delete: result {} and it is gone everywhere
    resp = api.with_raw_response.delete(created.id, account_id=tenant.account)
    body = resp.http_response.json()
    assert resp.status_code == 200 and body["success"] is True and body["result"] == {}, body
    assert resp.parse() == {}
    assert list(api.list(account_id=tenant.account)) == []
    for call in (
        lambda: api.get(created.id, account_id=tenant.account),
        lambda: api.delete(created.id, account_id=tenant.account),
        lambda: api.update(created.id, account_id=tenant.account, active=True, tenant_url="https://x.okta.com"),
        lambda: api.references.get(ref2, account_id=tenant.account),
    ):
        with pytest.raises(cloudflare.NotFoundError) as excinfo:
            call()
        assert excinfo.value.status_code == 404 and codes(excinfo.value) == [1404]


def test_reference_id_defaults_to_empty(tenant: Tenant, env: Env) -> None:
    api = tenant.client.zero_trust.risk_scoring.integrations
    omitted = api.create(account_id=tenant.account, integration_type="Okta", tenant_url="https://a.okta.com")
    check(omitted, env, tenant.account, tenant_url="https://a.okta.com", reference_id="")
    null = api.create(
        account_id=tenant.account, integration_type="Okta", tenant_url="https://b.okta.com", reference_id=None
    )
    check(null, env, tenant.account, tenant_url="https://b.okta.com", reference_id="")
    assert omitted.id != null.id  # several empty reference ids are not a conflict

    # update: an omitted or null reference_id becomes ""
    with_ref = api.create(
        account_id=tenant.account, integration_type="Okta", tenant_url="https://c.okta.com", reference_id="idp-c"
    )
    cleared = api.update(with_ref.id, account_id=tenant.account, active=True, tenant_url="https://c.okta.com")
    assert cleared.reference_id == ""
    with_ref = api.update(with_ref.id, account_id=tenant.account, active=True, tenant_url="https://c.okta.com",
                          reference_id="idp-c")
    assert with_ref.reference_id == "idp-c"
    cleared = api.update(with_ref.id, account_id=tenant.account, active=True, tenant_url="https://c.okta.com",
                         reference_id=None)
    assert cleared.reference_id == ""
    assert api.get(with_ref.id, account_id=tenant.account).reference_id == ""


def test_list_holds_every_integration_of_the_account(tenant: Tenant, env: Env) -> None:
    api = tenant.client.zero_trust.risk_scoring.integrations
    made = {
        api.create(account_id=tenant.account, integration_type="Okta", tenant_url=f"https://t{i}.okta.com",
                   reference_id=f"ref-{i}").id: i
        for i in range(3)
    }
    listed = list(api.list(account_id=tenant.account))
    assert {i.id for i in listed} == set(made)
    for item in listed:
        n = made[item.id]
        check(item, env, tenant.account, tenant_url=f"https://t{n}.okta.com", reference_id=f"ref-{n}")
    # another account's list does not show them
    other = env.client(env.token_b.token).zero_trust.risk_scoring.integrations.list(account_id=env.account_b)
    assert not {i.id for i in other} & set(made)


@pytest.mark.parametrize("ref", ["idp with space", "a/b", "\u00fc-ref", "a%2Fb", "x?y#z", "reference_id"])
def test_reference_lookup_with_special_characters(tenant: Tenant, ref: str) -> None:
    """The SDK percent-encodes the reference id into one path segment; the server decodes it."""
    api = tenant.client.zero_trust.risk_scoring.integrations
    created = api.create(account_id=tenant.account, integration_type="Okta", tenant_url="https://s.okta.com",
                         reference_id=ref)
    assert created.reference_id == ref
    assert as_tuple(api.references.get(ref, account_id=tenant.account)) == as_tuple(created)


def test_update_ignores_extra_fields(tenant: Tenant) -> None:
    """Clients send extras such as ``integration_type`` on update (api.md 1.2)."""
    api = tenant.client.zero_trust.risk_scoring.integrations
    created = api.create(account_id=tenant.account, integration_type="Okta", tenant_url="https://e.okta.com")
    updated = api.update(
        created.id, account_id=tenant.account, active=False, tenant_url="https://e.okta.com",
        extra_body={"integration_type": "Okta", "something": 1},
    )
    assert updated.active is False and updated.integration_type == "Okta"


def test_root_base_url(env: Env, tenant: Tenant) -> None:
    client = env.client(tenant.token.token, root=True)
    api = client.zero_trust.risk_scoring.integrations
    created = api.create(account_id=tenant.account, integration_type="Okta", tenant_url="https://root.okta.com",
                         reference_id="root-ref")
    check(created, env, tenant.account, tenant_url="https://root.okta.com", reference_id="root-ref")
    assert as_tuple(api.references.get("root-ref", account_id=tenant.account)) == as_tuple(created)
    v4 = tenant.client.zero_trust.risk_scoring.integrations.get(created.id, account_id=tenant.account)
    assert as_tuple(v4) == as_tuple(created)
    assert api.delete(created.id, account_id=tenant.account) == {}


# --------------------------------------------------------------------------------------------
# conflicts, validation, not found


def test_duplicate_reference_id_is_409(tenant: Tenant, env: Env) -> None:
    api = tenant.client.zero_trust.risk_scoring.integrations
    first = api.create(account_id=tenant.account, integration_type="Okta", tenant_url="https://d.okta.com",
                       reference_id="dup")
    with pytest.raises(cloudflare.ConflictError) as excinfo:
        api.create(account_id=tenant.account, integration_type="Okta", tenant_url="https://d2.okta.com",
                   reference_id="dup")
    assert excinfo.value.status_code == 409
    assert codes(excinfo.value) == [1409]
    assert [i.id for i in api.list(account_id=tenant.account)] == [first.id]

    # update into another integration's reference id conflicts too; its own is fine
    second = api.create(account_id=tenant.account, integration_type="Okta", tenant_url="https://d2.okta.com",
                        reference_id="other")
    with pytest.raises(cloudflare.ConflictError) as excinfo:
        api.update(second.id, account_id=tenant.account, active=True, tenant_url="https://d2.okta.com",
                   reference_id="dup")
    assert codes(excinfo.value) == [1409]
    assert api.get(second.id, account_id=tenant.account).reference_id == "other"
    same = api.update(first.id, account_id=tenant.account, active=False, tenant_url="https://d.okta.com",
                      reference_id="dup")
    assert (same.reference_id, same.active) == ("dup", False)

    # unique per account: another account may use it
    b = env.client(env.token_b.token).zero_trust.risk_scoring.integrations
    other = b.create(account_id=env.account_b, integration_type="Okta", tenant_url="https://d.okta.com",
                     reference_id="dup")
    assert other.account_tag == env.account_b and other.reference_id == "dup"
    assert api.references.get("dup", account_id=tenant.account).id == first.id
    assert b.references.get("dup", account_id=env.account_b).id == other.id
    b.delete(other.id, account_id=env.account_b)

    # after a delete the reference id is free again
    api.delete(first.id, account_id=tenant.account)
    reused = api.create(account_id=tenant.account, integration_type="Okta", tenant_url="https://d3.okta.com",
                        reference_id="dup")
    assert reused.id != first.id and reused.reference_id == "dup"


@pytest.mark.parametrize(
    "url",
    ["http://example.okta.com", "http://localhost.evil.com", "example.okta.com", "not a url", "ftp://example.okta.com", "", "/relative/path",
     "https://"],
)
def test_invalid_tenant_url_is_400(tenant: Tenant, url: str) -> None:
    api = tenant.client.zero_trust.risk_scoring.integrations
    with pytest.raises(cloudflare.BadRequestError) as excinfo:
        api.create(account_id=tenant.account, integration_type="Okta", tenant_url=url)
    assert excinfo.value.status_code == 400
    assert pointers(excinfo.value) == {"/tenant_url"}
    assert list(api.list(account_id=tenant.account)) == []


def test_invalid_tenant_url_on_update_changes_nothing(tenant: Tenant) -> None:
    api = tenant.client.zero_trust.risk_scoring.integrations
    created = api.create(account_id=tenant.account, integration_type="Okta", tenant_url="https://u.okta.com",
                         reference_id="keep")
    with pytest.raises(cloudflare.BadRequestError) as excinfo:
        api.update(created.id, account_id=tenant.account, active=False, tenant_url="http://u.okta.com",
                   reference_id="changed")
    assert pointers(excinfo.value) == {"/tenant_url"}
    assert as_tuple(api.get(created.id, account_id=tenant.account)) == as_tuple(created)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://[::1]:9000/okta", "http://localhost:3000"])
def test_http_is_allowed_for_loopback(tenant: Tenant, url: str) -> None:
    created = tenant.client.zero_trust.risk_scoring.integrations.create(
        account_id=tenant.account, integration_type="Okta", tenant_url=url
    )
    assert created.tenant_url == url


def test_body_validation_errors(tenant: Tenant) -> None:
    path = integrations_path(tenant.account)
    cases = [
        ({"integration_type": "Azure", "tenant_url": "https://x.okta.com"}, {"/integration_type"}),
        ({"tenant_url": "https://x.okta.com"}, {"/integration_type"}),
        ({"integration_type": "Okta"}, {"/tenant_url"}),
        ({"integration_type": "Okta", "tenant_url": 5}, {"/tenant_url"}),
        ({"integration_type": "Okta", "tenant_url": "https://x.okta.com", "reference_id": 7}, {"/reference_id"}),
        ({}, {"/integration_type", "/tenant_url"}),
    ]
    for body, expected in cases:
        with pytest.raises(cloudflare.BadRequestError) as excinfo:
            tenant.client.post(path, body=body, cast_to=object)
        assert excinfo.value.status_code == 400, body
        assert pointers(excinfo.value) == expected, body

    api = tenant.client.zero_trust.risk_scoring.integrations
    created = api.create(account_id=tenant.account, integration_type="Okta", tenant_url="https://v.okta.com")
    for body, expected in [
        ({"tenant_url": "https://v.okta.com"}, {"/active"}),
        ({"active": "yes", "tenant_url": "https://v.okta.com"}, {"/active"}),
        ({"active": True}, {"/tenant_url"}),
    ]:
        with pytest.raises(cloudflare.BadRequestError) as excinfo:
            tenant.client.put(f"{path}/{created.id}", body=body, cast_to=object)
        assert pointers(excinfo.value) == expected, body
    assert as_tuple(api.get(created.id, account_id=tenant.account)) == as_tuple(created)
    assert len(list(api.list(account_id=tenant.account))) == 1


def test_unknown_integration_is_404_1404(tenant: Tenant) -> None:
    api = tenant.client.zero_trust.risk_scoring.integrations
    calls = {
        "get": lambda: api.get(UNKNOWN_ID, account_id=tenant.account),
        "update": lambda: api.update(UNKNOWN_ID, account_id=tenant.account, active=True,
                                     tenant_url="https://x.okta.com"),
        "delete": lambda: api.delete(UNKNOWN_ID, account_id=tenant.account),
        "reference": lambda: api.references.get("no-such-reference", account_id=tenant.account),
    }
    for name, call in calls.items():
        with pytest.raises(cloudflare.NotFoundError) as excinfo:
            call()
        assert excinfo.value.status_code == 404, name
        assert codes(excinfo.value) == [1404], name


def test_malformed_integration_id_is_not_a_route(tenant: Tenant) -> None:
    api = tenant.client.zero_trust.risk_scoring.integrations
    for bad in ("not-a-uuid", UNKNOWN_ID[:-1]):
        with pytest.raises(cloudflare.NotFoundError) as excinfo:
            api.get(bad, account_id=tenant.account)
        assert codes(excinfo.value) == [7003, 7000], bad


def test_integration_of_another_account_is_not_found(tenant: Tenant, env: Env) -> None:
    b = env.client(env.token_b.token).zero_trust.risk_scoring.integrations
    theirs = b.create(account_id=env.account_b, integration_type="Okta", tenant_url="https://b.okta.com",
                      reference_id="b-only-ref")
    try:
        api = tenant.client.zero_trust.risk_scoring.integrations
        for call in (
            lambda: api.get(theirs.id, account_id=tenant.account),
            lambda: api.delete(theirs.id, account_id=tenant.account),
            lambda: api.update(theirs.id, account_id=tenant.account, active=False, tenant_url="https://h.okta.com"),
            lambda: api.references.get("b-only-ref", account_id=tenant.account),
        ):
            with pytest.raises(cloudflare.NotFoundError) as excinfo:
                call()
            assert codes(excinfo.value) == [1404]
        # and the tenant's token cannot address account B at all
        with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
            api.get(theirs.id, account_id=env.account_b)
        assert codes(excinfo.value) == [9109]
        assert as_tuple(b.get(theirs.id, account_id=env.account_b)) == as_tuple(theirs)
    finally:
        b.delete(theirs.id, account_id=env.account_b)


# --------------------------------------------------------------------------------------------
# permissions


def test_read_token_can_list_and_get_but_not_write(tenant: Tenant, env: Env) -> None:
    api = tenant.client.zero_trust.risk_scoring.integrations
    created = api.create(account_id=tenant.account, integration_type="Okta", tenant_url="https://p.okta.com",
                         reference_id="perm-ref")
    reader = env.client(env.create_token([tenant.account], ["Zero Trust Read"]).token)
    ro = reader.zero_trust.risk_scoring.integrations
    assert [i.id for i in ro.list(account_id=tenant.account)] == [created.id]
    assert as_tuple(ro.get(created.id, account_id=tenant.account)) == as_tuple(created)
    assert ro.references.get("perm-ref", account_id=tenant.account).id == created.id

    for name, call in {
        "create": lambda: ro.create(account_id=tenant.account, integration_type="Okta",
                                    tenant_url="https://q.okta.com"),
        "update": lambda: ro.update(created.id, account_id=tenant.account, active=False,
                                    tenant_url="https://p.okta.com"),
        "delete": lambda: ro.delete(created.id, account_id=tenant.account),
    }.items():
        with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
            call()
        assert excinfo.value.status_code == 403 and codes(excinfo.value) == [9109], name
        assert "Zero Trust Write" in error_body(excinfo.value)["errors"][0]["message"], name
    assert [as_tuple(i) for i in api.list(account_id=tenant.account)] == [as_tuple(created)]

    # a Write-only token can do both (Write implies reading integrations)
    writer = env.client(env.create_token([tenant.account], ["Zero Trust Write"]).token)
    wi = writer.zero_trust.risk_scoring.integrations
    assert [i.id for i in wi.list(account_id=tenant.account)] == [created.id]
    assert wi.delete(created.id, account_id=tenant.account) == {}


@pytest.mark.parametrize("permission", ["Zero Trust: PII Read", "Zero Trust Risk Events Write"])
def test_unrelated_permissions_cannot_touch_integrations(tenant: Tenant, env: Env, permission: str) -> None:
    client = env.client(env.create_token([tenant.account], [permission]).token)
    api = client.zero_trust.risk_scoring.integrations
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        api.list(account_id=tenant.account)
    assert codes(excinfo.value) == [9109]
    with pytest.raises(cloudflare.PermissionDeniedError) as excinfo:
        api.create(account_id=tenant.account, integration_type="Okta", tenant_url="https://z.okta.com")
    assert codes(excinfo.value) == [9109]
