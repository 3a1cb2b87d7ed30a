"""The dashboard (``/dashboard``) in a real browser: Debian's Chromium driven by Playwright,
scanned with axe-core, against a ztrisk of the module's own populated by the real
``ztrisk demo`` command.

One server, one demo population and one browser serve the whole module; every test opens
browser contexts of its own (a context is a fresh cookie jar). Tests that change state pick
users and settings no other test reads, except that the reset test resets the demo's
impossible-travel user after the evidence test has read that user's timeline (the file's
order).

Prerequisites, installed by ``scripts/test`` when missing:
  - ``/usr/bin/chromium`` (``apt-get install chromium``); Playwright's own browser downloads
    are never used (``playwright install`` is not run);
  - axe-core from npm, at ``$AXE_CORE_JS`` (default:
    ``target/npm/node_modules/axe-core/axe.min.js``);
  - ``playwright`` from tests/compat/requirements.txt.
Without them the module is skipped, or fails under ``CI=true`` (as PostgreSQL does).

The pages have a strict CSP (no script at all): axe is evaluated through the DevTools
protocol (``page.evaluate``), which the page's CSP does not govern, so the pages are scanned
exactly as they are served.

Screenshots of every page, light, dark and phone-sized, are written to
``target/dashboard-screenshots/<backend>/`` for review.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from conftest import (
    BACKEND,
    IN_CI,
    NOTES,
    REPO_ROOT,
    Server,
    new_database,
    start_server,
    stop_server,
    ztrisk_bin,
)

try:
    from playwright.sync_api import Browser, BrowserContext, Page, Response, sync_playwright
except ImportError as exc:  # reported by the prerequisites fixture (skip, or fail under CI)
    sync_playwright = None  # type: ignore[assignment]
    _PLAYWRIGHT_MISSING = str(exc)
    Browser = BrowserContext = Page = Response = Any  # type: ignore[misc,assignment]
else:
    _PLAYWRIGHT_MISSING = ""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = Path(os.environ.get("AXE_CORE_JS") or REPO_ROOT / "target/npm/node_modules/axe-core/axe.min.js")
SCREENSHOTS = REPO_ROOT / "target" / "dashboard-screenshots" / BACKEND
FAILING_IMPACTS = ("serious", "critical")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 15_000

ALL_PERMISSIONS = ["Zero Trust Read", "Zero Trust Write", "Zero Trust: PII Read", "Zero Trust Risk Events Write"]
READ_ONLY = ["Zero Trust Read", "Zero Trust: PII Read"]

# The users `ztrisk demo` (50 users, seed 1) plants incidents on (crates/ztrisk/src/demo.rs,
# plant_incidents): the first seven of "<first name>.<i>@example.com".
TRAVELLER = "ana.0@example.com"  # London, then Singapore 45 minutes later
DLP_BURST = "ben.1@example.com"  # forged and cross-site resets aim at this one
INFECTED = "chloe.2@example.com"  # the richest timeline: scanned and screenshotted
PLANTED = [
    TRAVELLER,
    DLP_BURST,
    INFECTED,
    "dev.3@example.com",
    "emma.4@example.com",
    "felix.5@example.com",
    "grace.6@example.com",
]


# --------------------------------------------------------------------------------------------
# prerequisites


def prerequisites_problem() -> str | None:
    if sync_playwright is None:
        return (
            f"playwright is not installed ({_PLAYWRIGHT_MISSING}): "
            "pip install -r tests/compat/requirements.txt (scripts/test does)"
        )
    if not os.access(CHROMIUM, os.X_OK):
        return f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium (scripts/test does)"
    if not AXE_JS.is_file():
        return (
            f"axe-core is missing at {AXE_JS} (AXE_CORE_JS): "
            "npm install --prefix target/npm axe-core@<version> (scripts/test does)"
        )
    return None


@pytest.fixture(scope="module")
def prerequisites() -> None:
    problem = prerequisites_problem()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true: {problem}", pytrace=False)
    pytest.skip(problem)


# --------------------------------------------------------------------------------------------
# the module's server, demo population and browser


@dataclass
class Visit:
    """A document the browser showed: where, and its HTML."""

    url: str
    html: str


@dataclass
class Dash:
    server: Server
    account: str
    token: str  # the bootstrap admin token: every permission; the demo populated with it
    token_id: str
    browser: Browser
    users: dict[str, str]  # email -> user id, of the demo's scored users
    secrets: set[str] = field(default_factory=set)  # every credential the module used
    urls: list[str] = field(default_factory=list)  # every request any context made
    contexts: list[BrowserContext] = field(default_factory=list)  # the running test's
    visits: list[Visit] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def path(self, page: str) -> str:
        return f"/dashboard/{self.account}/{page}"

    def user_path(self, email: str) -> str:
        return self.path(f"users/{self.users[email]}")

    # ---- the API, to check what the dashboard did

    def api(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        url = f"{self.server.v4}/accounts/{self.account}/zt_risk_scoring/{path}"
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.request(method, url, headers=headers, timeout=10.0, **kwargs)

    def api_result(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self.api(method, path, **kwargs)
        assert resp.status_code == 200, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json()["result"]

    def level(self, email: str) -> str | None:
        return self.api_result("GET", self.users[email])["risk_level"]

    def behavior(self, behavior_id: str) -> dict[str, Any]:
        return self.api_result("GET", "behaviors")["behaviors"][behavior_id]

    def create_token(self, permissions: list[str], name: str) -> tuple[str, str]:
        args = ["tokens", "create", "--account", self.account, "--name", name]
        for permission in permissions:
            args += ["--permission", permission]
        out = self.server.cli(*args)
        assert isinstance(out.get("token"), str) and len(out["token"]) == 40, out
        self.secrets.add(out["token"])
        return out["id"], out["token"]

    # ---- the browser

    def context(self, **kwargs: Any) -> BrowserContext:
        kwargs.setdefault("viewport", DESKTOP)
        context = self.browser.new_context(base_url=self.url, **kwargs)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("request", lambda request: self.urls.append(request.url))
        self.contexts.append(context)
        return context

    def record(self, page: Page, response: Response | None, *, status: int | None = 200) -> Response:
        """Checks a page the browser just showed (its status, that it is a dashboard page with
        the dashboard's headers) and keeps its URL and HTML for the secrets check."""
        assert response is not None, f"no response for {page.url}"
        html = page.content()
        self.visits.append(Visit(page.url, html))
        if status is not None:
            assert response.status == status, f"{page.url}: status {response.status}, wanted {status}\n{text_of(page)}"
        headers = response.all_headers()
        assert "default-src 'none'" in headers.get("content-security-policy", ""), (page.url, headers)
        assert headers.get("cache-control") == "no-store", (page.url, headers)
        self.assert_no_secret_seen()
        return response

    def goto(self, page: Page, path: str, *, status: int | None = 200) -> Response:
        return self.record(page, page.goto(path), status=status)

    def submit(self, page: Page, locator: Any, *, status: int | None = 200) -> Response:
        """Clicks a submit button (or link) and waits for the page it leads to."""
        with page.expect_navigation() as navigation:
            locator.click()
        return self.record(page, navigation.value, status=status)

    def sign_in(self, page: Page, token: str | None = None) -> None:
        self.goto(page, "/dashboard/sign-in")
        page.locator("#token").fill(token or self.token)
        self.submit(page, page.get_by_role("button", name="Sign in"))
        assert page.url == f"{self.url}{self.path('users')}", page.url

    def assert_no_secret_seen(self) -> None:
        for secret in self.secrets:
            for url in self.urls:
                assert secret not in url, f"a credential appeared in a URL the browser requested: {url}"
            for visit in self.visits:
                assert secret not in visit.html, f"a credential appeared in the HTML of {visit.url}"


def text_of(page: Page) -> str:
    try:
        return page.locator("body").inner_text(timeout=2000)[:3000]
    except Exception as exc:  # noqa: BLE001 - diagnostics only
        return f"<no text: {exc}>"


def session_cookie(context: BrowserContext) -> dict[str, Any] | None:
    found = [c for c in context.cookies() if c["name"] in ("ztrisk_session", "__Host-ztrisk_session")]
    assert len(found) <= 1, found
    return found[0] if found else None


def csrf_of(page: Page) -> str:
    """The session's form token, from the hidden field of the sign-out form."""
    value = page.locator('form[action="/dashboard/sign-out"] input[name="_csrf"]').get_attribute("value")
    assert value, "the sign-out form carries no _csrf"
    return value


@pytest.fixture(scope="module")
def dash(prerequisites: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dash]:
    workdir = tmp_path_factory.mktemp("ztrisk-dashboard")
    database, schema = new_database(workdir)
    server = None
    try:
        server = start_server(workdir, database, what="dashboard ztrisk", log_name="ztrisk-dashboard")
        account, token = server.bootstrap_account, server.bootstrap_token
        demo = subprocess.run(
            [str(ztrisk_bin()), "demo", "--token", token, "--account", account, "--base-url", server.v4],
            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE_", "ZTRISK_DATABASE"))},
        )
        assert demo.returncode == 0, f"ztrisk demo failed:\n{demo.stdout}\n{demo.stderr}"
        assert f"/dashboard/{account}/users" in demo.stdout, demo.stdout
        headers = {"Authorization": f"Bearer {token}"}
        summary = httpx.get(
            f"{server.v4}/accounts/{account}/zt_risk_scoring/summary", params={"per_page": 100},
            headers=headers, timeout=10.0,
        )
        assert summary.status_code == 200, summary.text
        users = {u["email"]: u["user_id"] for u in summary.json()["result"]["users"]}
        assert sorted(users) == sorted(PLANTED), f"the demo's scored users changed: {sorted(users)}"
        verified = httpx.get(f"{server.v4}/user/tokens/verify", headers=headers, timeout=10.0)
        assert verified.status_code == 200, verified.text

        assert sync_playwright is not None
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            try:
                yield Dash(
                    server=server, account=account, token=token, token_id=verified.json()["result"]["id"],
                    browser=browser, users=users, secrets={token},
                )
            finally:
                browser.close()
    finally:
        try:
            if server is not None:
                stop_server(server)
        finally:
            if schema is not None:
                schema.drop()


@pytest.fixture(autouse=True)
def _dashboard_server_must_stay_up(request: pytest.FixtureRequest) -> Iterator[None]:
    """Closes the browser contexts a test opened, and fails it (with the server's stderr) if
    the module's ztrisk died while it ran."""
    yield
    if "dash" in request.fixturenames:
        dash: Dash = request.getfixturevalue("dash")
        while dash.contexts:
            with contextlib.suppress(Exception):
                dash.contexts.pop().close()
        server = dash.server
        if server.process.poll() is not None:
            pytest.fail(f"the dashboard's ztrisk exited during the test\n{server.diagnostics()}", pytrace=False)


@pytest.fixture
def admin(dash: Dash) -> Iterator[Page]:
    """A page of a browser context signed in with the admin token."""
    context = dash.context()
    page = context.new_page()
    dash.sign_in(page)
    yield page
    context.close()


# --------------------------------------------------------------------------------------------
# 1-2: users at risk, the evidence, and a reset


def test_sign_in_shows_the_planted_users_and_the_impossible_travel_evidence(dash: Dash, admin: Page) -> None:
    """Signed in with the token the demo used, the browser lands on the users page with every
    planted user; the impossible-travel user's timeline says from where to where, how far, in
    how long, how fast and against which threshold."""
    page = admin
    # Signed in, the browser landed on the account's users page: every planted user is listed.
    assert page.locator("h1").inner_text() == "Users at risk"
    table = page.locator("table.users")
    rows = table.locator("tbody tr")
    assert rows.count() == len(PLANTED), table.inner_text()
    listed = " ".join(rows.all_inner_texts())
    for email in PLANTED:
        assert email in listed, f"{email} is not listed:\n{listed}"
    traveller_row = rows.filter(has_text=TRAVELLER)
    assert traveller_row.locator(".badge").inner_text() == "High"
    counts = page.locator("section.counts").inner_text()
    assert re.search(r"\b7\s+Scored users", counts), counts

    # The impossible-travel user's page explains the risk event.
    dash.submit(page, traveller_row.get_by_role("link"))
    assert page.url == f"{dash.url}{dash.user_path(TRAVELLER)}"
    assert page.locator("h1").inner_text() == "ana.0"
    assert page.locator(".user-head .level .badge").inner_text() == "High"
    entries = page.locator("ol.timeline > li").filter(
        has=page.locator("h3", has_text="Impossible Travel")
    ).filter(has_text="then Singapore, SG")
    assert entries.count() == 1, page.locator("ol.timeline").inner_text()
    entry = entries.first
    headline = entry.locator(".what > p").first.inner_text()
    # From the remembered London login (its coordinates) to Singapore, 45 minutes later.
    m = re.fullmatch(r"Logged in from (\d+\.\d\d)°N (\d+\.\d\d)°W, then Singapore, SG: ([\d,]+) km in 45 min", headline)
    assert m, headline
    lat, lon = float(m.group(1)), float(m.group(2))
    assert 51.40 <= lat <= 51.60 and 0.05 <= lon <= 0.20, f"not London: {headline}"
    facts = {
        dt.inner_text().strip(): dd.inner_text().strip()
        for dt, dd in zip(entry.locator("dl.evidence dt").all(), entry.locator("dl.evidence dd").all())
    }
    distance = int(facts["Distance"].removesuffix(" km").replace(",", ""))
    assert 10_700 <= distance <= 11_000, facts
    assert m.group(3) == facts["Distance"].removesuffix(" km"), (headline, facts)
    assert facts["Time between logins"] == "45 min", facts
    speed = int(facts["Speed needed"].removesuffix(" km/h").replace(",", ""))
    assert abs(speed - distance / 0.75) <= 0.01 * speed, facts  # distance over 45 minutes
    assert facts["Threshold"] == "faster than 900 km/h", facts
    # The raw evidence is there too, behind a disclosure.
    raw_evidence = entry.locator("details")
    assert not raw_evidence.locator("pre").is_visible()
    raw_evidence.locator("summary").click()
    raw = raw_evidence.locator("pre").inner_text()
    assert json.loads(raw)["behavior"] == "imp_travel", raw


def test_reset_through_the_confirmation(dash: Dash, admin: Page) -> None:
    """"Reset risk…", its confirmation, then "Reset risk": the page says so and shows the user
    unscored; the API agrees and the audit log has the reset, made with the signed-in token."""
    page = admin
    user_id = dash.users[TRAVELLER]
    assert dash.level(TRAVELLER) == "high"
    dash.goto(page, dash.user_path(TRAVELLER))

    dash.submit(page, page.get_by_role("link", name="Reset risk…"))
    assert page.url.endswith("?confirm=reset"), page.url
    confirm = page.locator("form.confirm")
    assert "Reset this user's risk?" in confirm.inner_text()
    assert dash.level(TRAVELLER) == "high", "opening the confirmation changed the level"

    dash.submit(page, confirm.get_by_role("button", name="Reset risk"))
    assert page.url.endswith(f"{dash.user_path(TRAVELLER)}?done=reset"), page.url
    notice = page.get_by_role("status")
    assert notice.inner_text().startswith("Risk reset"), notice.inner_text()
    assert page.locator(".user-head .level .badge").inner_text() == "Unscored"
    assert page.locator("ol.timeline").count() == 0

    # The API agrees, and the audit log has the reset, made with the admin token.
    user = dash.api_result("GET", user_id)
    assert user["risk_level"] is None, user
    assert user["last_reset_time"], user
    audit = dash.api_result("GET", "audit", params={"action": "user.reset"})
    mine = [e for e in audit if e["target"] == user_id]
    assert len(mine) == 1, audit
    assert mine[0]["actor"] == f"token:{dash.token_id}", mine
    # ...and the dashboard's audit page shows it.
    dash.goto(page, f"{dash.path('audit')}?action=user.reset")
    rows = page.locator("tbody tr").filter(has_text=user_id)
    assert rows.count() == 1, text_of(page)
    assert rows.locator("code").first.inner_text() == "user.reset"
    # The user has left the users at risk.
    dash.goto(page, dash.path("users"))
    assert TRAVELLER not in page.locator("table.users").inner_text()


# --------------------------------------------------------------------------------------------
# 3: behaviors


def open_settings(section: Any) -> None:
    """Settings may sit in a collapsed <details>: open it."""
    details = section.locator("details").filter(has=section.page.locator("input, textarea, select"))
    if details.count() and details.first.get_attribute("open") is None:
        details.first.locator("summary").click()


def test_behaviors_save_and_show_validation_errors_at_their_field(dash: Dash, admin: Page) -> None:
    """Unticking "Enabled" and saving disables the behavior (API); invalid settings come back
    with the API's message at the field (aria-invalid, aria-describedby) and change nothing."""
    page = admin
    before = dash.behavior("imp_travel")
    assert before["enabled"] is True and before["settings"]["max_speed_kmh"] == 900, before
    try:
        dash.goto(page, dash.path("behaviors"))
        section = page.locator("section#behavior-imp_travel")
        enabled = section.locator("#imp_travel-enabled")
        assert enabled.is_checked()
        enabled.uncheck()
        dash.submit(page, section.get_by_role("button", name=re.compile(r"^Save")))
        assert "saved=imp_travel" in page.url, page.url
        notice = page.get_by_role("status")
        assert "Saved" in notice.inner_text() and "Impossible Travel" in notice.inner_text(), notice.inner_text()
        after = dash.behavior("imp_travel")
        assert after["enabled"] is False, after
        assert after["risk_level"] == before["risk_level"] and after["settings"] == before["settings"], after
        section = page.locator("section#behavior-imp_travel")
        assert not section.locator("#imp_travel-enabled").is_checked()

        # Invalid values: the API's error is shown at the field, and nothing changes (not even
        # the "Enabled" ticked in the same form).
        for key, bad, expected in [
            ("max_speed_kmh", "0", "100000"),
            ("max_speed_kmh", "fast", "number"),
            ("trusted_networks", "10.0.0.0/8\n10.0.0.0/33", "10.0.0.0/33"),
        ]:
            section = page.locator("section#behavior-imp_travel")
            section.locator("#imp_travel-enabled").check()
            open_settings(section)
            section.locator(f"#imp_travel-{key}").fill(bad)
            dash.submit(page, section.get_by_role("button", name=re.compile(r"^Save")), status=400)
            section = page.locator("section#behavior-imp_travel")
            field_input = section.locator(f"#imp_travel-{key}")
            error = page.locator(f"#imp_travel-{key}-error")
            assert error.is_visible(), f"no visible error at {key}:\n{section.inner_text()}"
            assert expected in error.inner_text(), error.inner_text()
            assert field_input.get_attribute("aria-invalid") == "true"
            assert f"imp_travel-{key}-error" in (field_input.get_attribute("aria-describedby") or "").split()
            # The form shows what was submitted, to be corrected.
            assert field_input.input_value() == bad
            # Other fields are not marked.
            assert page.locator('[aria-invalid="true"]').count() == 1, page.locator('[aria-invalid="true"]').count()
            assert dash.behavior("imp_travel") == after, f"{key}={bad!r} changed the behavior"
            dash.goto(page, dash.path("behaviors"))
    finally:
        restore = {"behaviors": {"imp_travel": {k: before[k] for k in ("enabled", "risk_level", "settings")}}}
        assert dash.api("PUT", "behaviors", json=restore).status_code == 200


# --------------------------------------------------------------------------------------------
# 4-7: credentials, permissions, cross-site requests, sessions


def test_a_wrong_token_is_refused(dash: Dash) -> None:
    """A token the server does not know: the sign-in page again (401) with an alert, no cookie."""
    wrong = secrets.token_urlsafe(30)[:40]
    dash.secrets.add(wrong)
    context = dash.context()
    page = context.new_page()
    dash.goto(page, "/dashboard/sign-in")
    page.locator("#token").fill(wrong)
    dash.submit(page, page.get_by_role("button", name="Sign in"), status=401)
    assert page.url == f"{dash.url}/dashboard/sign-in", page.url
    alert = page.get_by_role("alert")
    assert "not accepted" in alert.inner_text(), alert.inner_text()
    assert page.locator("#token").get_attribute("aria-describedby") == alert.get_attribute("id")
    assert session_cookie(context) is None, context.cookies()
    # Nothing behind the sign-in page opens without a session.
    dash.goto(page, dash.path("users"))
    assert page.url == f"{dash.url}/dashboard/sign-in", page.url
    context.close()


def test_a_read_only_token_sees_but_cannot_change(dash: Dash) -> None:
    """Zero Trust Read + PII Read: users and the user page, but no reset or compromise control
    and no behavior form; a reset forged in its own session (valid cookie and form token) is
    refused with a 403 page and changes nothing."""
    _, token = dash.create_token(READ_ONLY, "dashboard read-only")
    before = dash.level(DLP_BURST)
    assert before == "medium"
    context = dash.context()
    page = context.new_page()
    dash.sign_in(page, token)
    listed = page.locator("table.users").inner_text()
    assert DLP_BURST in listed and INFECTED in listed, listed
    assert page.locator('nav[aria-label="Sections"] a', has_text="Behaviors").count() == 1

    dash.goto(page, dash.user_path(DLP_BURST))
    assert page.locator("h1").inner_text() == "ben.1"
    assert page.locator(".user-head .level .badge").inner_text() == "Medium"
    assert "DLP policy matches" in page.locator("ol.timeline").inner_text()
    assert page.get_by_role("link", name=re.compile("Reset risk")).count() == 0
    assert page.get_by_role("link", name=re.compile("Confirm compromised")).count() == 0
    # Even asked for, the confirmation is not offered.
    dash.goto(page, f"{dash.user_path(DLP_BURST)}?confirm=reset")
    assert page.locator('form[action$="/reset"]').count() == 0
    assert page.get_by_role("button", name=re.compile("Reset")).count() == 0

    dash.goto(page, dash.path("behaviors"))
    assert page.locator("section.behavior").count() >= 9
    assert page.get_by_role("button", name=re.compile("Save")).count() == 0
    assert page.locator("section.behavior form").count() == 0
    assert "Zero Trust Write" in page.locator("main").inner_text()

    # A reset forged in its own session, with its own valid form token, is refused.
    csrf = csrf_of(page)
    dash.goto(page, dash.user_path(DLP_BURST))
    with page.expect_navigation() as navigation:
        page.evaluate(
            """([action, csrf]) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = action;
                const field = document.createElement("input");
                field.type = "hidden"; field.name = "_csrf"; field.value = csrf;
                form.append(field);
                document.body.append(form);
                form.submit();
            }""",
            [f"{dash.url}{dash.user_path(DLP_BURST)}/reset", csrf],
        )
    dash.record(page, navigation.value, status=403)
    assert page.locator("h1").inner_text() == "Not allowed", text_of(page)
    assert "Zero Trust Write" in page.locator("main").inner_text()
    assert dash.level(DLP_BURST) == before
    # So is a behavior change.
    cookie = session_cookie(context)
    assert cookie is not None
    resp = httpx.post(
        f"{dash.url}{dash.path('behaviors')}/imp_travel",
        data={"_csrf": csrf, "risk_level": "low"},
        headers={"Cookie": f"{cookie['name']}={cookie['value']}", "Sec-Fetch-Site": "same-origin"},
        timeout=10.0,
    )
    assert resp.status_code == 403, resp.text
    assert dash.behavior("imp_travel")["enabled"] is True
    context.close()


class _AttackerPage(BaseHTTPRequestHandler):
    html = b""

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.html)))
        self.end_headers()
        self.wfile.write(self.html)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def attacker_site(host: str, html: str) -> Iterator[str]:
    handler = type("Handler", (_AttackerPage,), {"html": html.encode()})
    server = ThreadingHTTPServer((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_cross_site_forms_are_refused(dash: Dash, admin: Page) -> None:
    """A form on another origin posting to the reset URL, clicked in the signed-in browser, is
    refused; so are posts with the session cookie but no or a wrong form token."""
    page = admin
    before = dash.level(DLP_BURST)
    assert before == "medium"
    target = f"{dash.url}{dash.user_path(DLP_BURST)}/reset"
    csrf = csrf_of(page)  # even a form token that leaked does not help another site
    cookie = session_cookie(page.context)
    assert cookie is not None
    form = (
        f'<!doctype html><html lang="en"><title>Prize</title><form method="post" action="{target}">'
        f'<input type="hidden" name="_csrf" value="{csrf}"><button id="go">Claim your prize</button></form></html>'
    )
    # Another origin of the same site (another port: the cookie is sent, Sec-Fetch-Site says
    # same-site), and another site (127.0.0.2: the SameSite=Strict cookie is not sent).
    outcomes = {}
    for host in ("127.0.0.1", "127.0.0.2"):
        with attacker_site(host, form) as url:
            page.goto(url)
            with page.expect_navigation() as navigation:
                page.locator("#go").click()
            response = dash.record(page, navigation.value, status=None)
            outcomes[host] = (response.status, page.url, page.locator("h1").inner_text())
            refused = response.status == 403 and page.locator("h1").inner_text() == "Form refused"
            sent_to_sign_in = page.url == f"{dash.url}/dashboard/sign-in"
            assert refused or sent_to_sign_in, f"a form from {url} was not refused: {outcomes[host]}\n{text_of(page)}"
            assert "done=reset" not in page.url
            assert dash.level(DLP_BURST) == before, f"a form from {url} reset the user"
    NOTES.append(f"dashboard: cross-origin form posts answered with (status, url, h1): {outcomes}")

    # With the session cookie but without, or with a wrong, form token: refused.
    jar = {"Cookie": f"{cookie['name']}={cookie['value']}"}
    for data in ({}, {"_csrf": ""}, {"_csrf": "x" * 43}, {"_csrf": csrf[:-1] + ("A" if csrf[-1] != "A" else "B")}):
        resp = httpx.post(target, data=data, headers=jar, timeout=10.0)
        assert resp.status_code == 403, (data, resp.status_code, resp.text)
        assert "Form refused" in resp.text, resp.text
    # ...while the same request with the right token is accepted (the cookie was valid), on a
    # user nobody else looks at.
    other = "grace.6@example.com"
    resp = httpx.post(f"{dash.url}{dash.user_path(other)}/reset", data={"_csrf": csrf}, headers=jar, timeout=10.0)
    assert resp.status_code == 303 and resp.headers["location"].endswith("?done=reset"), (resp.status_code, resp.text)
    assert dash.level(other) is None
    assert dash.level(DLP_BURST) == before


def test_a_link_or_form_from_another_site_does_not_sign_out(dash: Dash) -> None:
    """A SameSite=Strict cookie is not sent on a navigation from another site, so such a request
    arrives without a session and is sent to the sign-in page: it must not delete the
    browser's session cookie as well (following a link from Slack or a ticket would sign the
    person out, and any site could sign a person out at will)."""
    context = dash.context()
    page = context.new_page()
    dash.sign_in(page)
    cookie = session_cookie(context)
    assert cookie is not None
    target = f"{dash.url}{dash.user_path(INFECTED)}"
    attacker = (
        f'<!doctype html><html lang="en"><title>Links</title><a id="link" href="{target}">chloe</a>'
        f'<form method="post" action="{target}/reset"><button id="post">post</button></form></html>'
    )
    seen = {}
    for what in ("link", "post"):
        with attacker_site("127.0.0.2", attacker) as url:
            page.goto(url)
            with page.expect_navigation() as navigation:
                page.locator(f"#{what}").click()
            response = dash.record(page, navigation.value, status=None)
        seen[what] = (response.status, page.url)
        after = session_cookie(context)
        assert after is not None and after["value"] == cookie["value"], (
            f"a {what} from another site ({url}) deleted the session cookie: it answered "
            f"{response.status} at {page.url}; cookies now: {context.cookies()}"
        )
        # Opened from this site (or typed), the same page shows with the session.
        dash.goto(page, dash.user_path(INFECTED))
        assert page.url == target, page.url
    assert dash.level(INFECTED) == "high"
    context.close()


def test_sign_out_and_token_revocation_end_sessions(dash: Dash) -> None:
    """After "Sign out" the old cookie opens nothing; revoking a token (CLI) ends its sessions."""
    # Sign out.
    context = dash.context()
    page = context.new_page()
    dash.sign_in(page)
    cookie = session_cookie(context)
    assert cookie is not None
    old = {"Cookie": f"{cookie['name']}={cookie['value']}"}
    users_url = f"{dash.url}{dash.path('users')}"
    assert httpx.get(users_url, headers=old, timeout=10.0).status_code == 200
    dash.submit(page, page.get_by_role("button", name="Sign out"))
    assert page.url == f"{dash.url}/dashboard/sign-in", page.url
    assert session_cookie(context) is None, context.cookies()
    resp = httpx.get(users_url, headers=old, timeout=10.0)
    assert resp.status_code == 303 and resp.headers["location"] == "/dashboard/sign-in", resp.status_code
    # Back in the browser, the old cookie opens nothing either.
    context.add_cookies([{k: cookie[k] for k in ("name", "value", "domain", "path", "httpOnly", "sameSite")}])
    dash.goto(page, dash.path("users"))
    assert page.url == f"{dash.url}/dashboard/sign-in", page.url
    context.close()

    # A revoked token ends the sessions opened with it.
    token_id, token = dash.create_token(ALL_PERMISSIONS, "dashboard to revoke")
    context = dash.context()
    page = context.new_page()
    dash.sign_in(page, token)
    dash.goto(page, dash.user_path(INFECTED))
    dash.server.cli_plain("tokens", "revoke", token_id)
    dash.record(page, page.reload())
    assert page.url == f"{dash.url}/dashboard/sign-in", page.url
    assert page.locator("#token").is_visible()
    assert session_cookie(context) is None, context.cookies()
    context.close()


# --------------------------------------------------------------------------------------------
# 8-9: every page scanned with axe-core, light and dark, and at phone width; screenshots


def axe_scan(page: Page, name: str) -> list[str]:
    """axe-core's violations on the page; those of FAILING_IMPACTS are returned (described),
    the others are noted."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    results = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    failing = []
    for check in results["incomplete"]:
        note_once(f"axe needs review (incomplete, not failing): {name.split(' (')[0]}: [{check['impact']}] {check['id']}: {check['help']}")
    for violation in results["violations"]:
        nodes = "; ".join(
            f"{','.join(map(str, n['target']))}: {n.get('failureSummary', '').replace(chr(10), ' ')}"
            for n in violation["nodes"][:5]
        )
        line = f"{name}: [{violation['impact']}] {violation['id']}: {violation['help']} ({len(violation['nodes'])} nodes: {nodes})"
        if violation["impact"] in FAILING_IMPACTS:
            failing.append(line)
        else:
            note_once(f"axe (not failing) {line}")
    return failing


_axe_source: list[str] = []


def axe_source() -> str:
    """axe.min.js, read once."""
    if not _axe_source:
        _axe_source.append(AXE_JS.read_text())
        version = re.search(r"axe v([\d.]+)", _axe_source[0][:200])
        NOTES.append(f"axe-core {version.group(1) if version else '?'} from {AXE_JS}")
    return _axe_source[0]


_noted: set[str] = set()


def note_once(line: str) -> None:
    if line not in _noted:
        _noted.add(line)
        NOTES.append(line)


def horizontal_overflow(page: Page) -> tuple[int, int]:
    return tuple(page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]"))  # type: ignore[return-value]


def walk_every_page(dash: Dash, page: Page, look: Any) -> list[str]:
    """Visits every page of the dashboard, calling ``look(name)`` on each; returns the names."""
    names = []

    def at(name: str) -> None:
        names.append(name)
        look(name)

    dash.goto(page, "/dashboard/sign-in")
    at("sign-in")
    page.locator("#token").fill("not a token")
    dash.submit(page, page.get_by_role("button", name="Sign in"), status=401)
    at("sign-in-refused")
    page.locator("#token").fill(dash.token)
    dash.submit(page, page.get_by_role("button", name="Sign in"))
    at("users")

    form = page.locator("form.filters")
    form.locator("#level").select_option("high")
    form.locator("#q").fill("chloe")
    dash.submit(page, form.get_by_role("button", name="Filter"))
    assert page.locator("table.users tbody tr").count() == 1, text_of(page)
    at("users-filtered")
    dash.goto(page, f"{dash.path('users')}?q=nobody")
    at("users-no-match")

    dash.goto(page, dash.user_path(INFECTED))
    assert page.locator("ol.timeline > li").count() >= 3, text_of(page)
    at("user")
    dash.goto(page, f"{dash.user_path(INFECTED)}?confirm=reset")
    assert page.locator("form.confirm").is_visible()
    at("user-confirm-reset")
    dash.goto(page, f"{dash.user_path(INFECTED)}?confirm=compromised")
    at("user-confirm-compromised")
    dash.goto(page, dash.user_path(TRAVELLER))  # reset by the reset test: an empty timeline
    at("user-traveller")

    dash.goto(page, dash.path("behaviors"))
    at("behaviors")
    section = page.locator("section#behavior-high_dlp")
    open_settings(section)
    section.locator("#high_dlp-threshold").fill("many")
    dash.submit(page, section.get_by_role("button", name=re.compile(r"^Save")), status=400)
    assert page.locator("#high_dlp-threshold-error").is_visible(), text_of(page)
    at("behaviors-error")

    dash.goto(page, dash.path("integrations"))
    at("integrations")
    details = page.locator("details", has=page.locator('form[action$="/webhooks"]'))
    details.locator("summary").click()
    details.locator("#webhook-url").fill(f"http://127.0.0.1:9/hook-{uuid.uuid4().hex[:8]}")
    dash.submit(page, details.get_by_role("button", name="Add webhook"))
    assert page.locator(".secret-value").inner_text().strip(), text_of(page)
    at("integrations-webhook-created")

    dash.goto(page, dash.path("audit"))
    assert page.locator("tbody tr").count() >= 1
    at("audit")
    dash.goto(page, f"{dash.path('users')}/{uuid.uuid4()}", status=404)
    at("not-found")
    return names


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe_and_is_screenshotted(dash: Dash, scheme: str) -> None:
    """Every page (and state: refused sign-in, filters, confirmations, a validation error, a
    webhook's secret shown once, 404), light and dark: no serious or critical axe violation."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = dash.context(color_scheme=scheme)
    page = context.new_page()
    violations: list[str] = []

    def look(name: str) -> None:
        assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
        violations.extend(axe_scan(page, f"{name} ({scheme})"))
        path = SCREENSHOTS / f"{name}-{scheme}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000

    names = walk_every_page(dash, page, look)
    context.close()
    assert len(names) == 15, names
    assert not violations, "axe-core found serious or critical violations:\n" + "\n".join(violations)


def test_phone_width(dash: Dash) -> None:
    """Every page at 390x844: nothing wider than the screen, no serious or critical axe
    violation."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    context = dash.context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = context.new_page()
    overflowing: dict[str, tuple[int, int]] = {}
    violations: list[str] = []

    def look(name: str) -> None:
        scroll_width, inner_width = horizontal_overflow(page)
        assert inner_width == PHONE["width"], inner_width
        if scroll_width > inner_width:
            overflowing[name] = (scroll_width, inner_width)
        violations.extend(axe_scan(page, f"{name} (phone)"))
        page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)

    walk_every_page(dash, page, look)
    context.close()
    assert "users" not in overflowing and "users-filtered" not in overflowing, (
        f"the users page is wider than a phone (scrollWidth, innerWidth): {overflowing}"
    )
    assert not overflowing, f"pages wider than a phone (scrollWidth, innerWidth): {overflowing}"
    assert not violations, "axe-core found serious or critical violations:\n" + "\n".join(violations)


# --------------------------------------------------------------------------------------------
# 10: keyboard


def test_keyboard_skip_link_and_visible_focus(dash: Dash, admin: Page) -> None:
    """The first Tab reaches "Skip to content", shown with a visible focus outline, as is the
    next link's; Enter on it moves focus to the main content."""
    page = admin
    dash.goto(page, dash.path("users"))
    focused = """() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        const box = el.getBoundingClientRect();
        return {tag: el.tagName, text: el.textContent.trim(), href: el.getAttribute("href"), id: el.id,
                outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
                visible: box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0
                         && box.right <= innerWidth && box.bottom <= innerHeight};
    }"""
    page.keyboard.press("Tab")
    skip = page.evaluate(focused)
    assert (skip["tag"], skip["text"], skip["href"]) == ("A", "Skip to content", "#main"), skip
    assert skip["outline"] != "none" and skip["outlineWidth"] > 0, f"no visible focus on the skip link: {skip}"
    assert skip["visible"], f"the focused skip link is off screen: {skip}"

    page.keyboard.press("Tab")
    link = page.evaluate(focused)
    assert link["tag"] == "A" and link["href"], link
    assert link["outline"] != "none" and link["outlineWidth"] > 0, f"no visible focus on a focused link: {link}"

    # The skip link moves focus past the navigation, to the main content.
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(focused)["text"] == "Skip to content"
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'main'")
    assert page.url.endswith("#main"), page.url
    # The next Tab goes into the page's content, not back to the header.
    page.keyboard.press("Tab")
    inside = page.evaluate("() => !!document.activeElement.closest('main')")
    assert inside, page.evaluate(focused)


# --------------------------------------------------------------------------------------------
# headers, cookie, secrets


def test_headers_cookie_and_no_credential_in_pages_or_urls(dash: Dash) -> None:
    """CSP (no script), no-store and DENY framing; an HttpOnly, SameSite=Strict session cookie;
    and no credential in any page or URL the module's browser saw."""
    context = dash.context()
    page = context.new_page()
    response = dash.goto(page, "/dashboard/sign-in")
    headers = response.all_headers()
    csp = headers["content-security-policy"]
    for directive in ("default-src 'none'", "frame-ancestors 'none'", "form-action 'self'"):
        assert directive in csp, csp
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in csp.split(";") if d.strip()}
    # No script may run: none is allowed by default, and no directive allows one.
    assert directives.get("script-src", "script-src 'none'") == "script-src 'none'", csp
    assert "unsafe" not in csp, csp
    assert headers["cache-control"] == "no-store"
    assert headers.get("x-frame-options") == "DENY"

    dash.sign_in(page)
    cookie = session_cookie(context)
    assert cookie is not None
    assert cookie["httpOnly"] is True, cookie
    assert cookie["sameSite"] == "Strict", cookie
    assert cookie["path"] == "/", cookie
    assert dash.token not in cookie["value"]
    # Scripts could not read it even if one ran.
    assert "ztrisk_session" not in page.evaluate("() => document.cookie")
    for path in (dash.path("users"), dash.user_path(INFECTED), dash.path("behaviors"), dash.path("integrations"), dash.path("audit")):
        dash.goto(page, path)
    context.close()

    # Over everything every test of the module showed and requested (this test's own pages at
    # least): no credential in any page's HTML or in any URL.
    assert dash.visits and dash.urls
    dash.assert_no_secret_seen()
    NOTES.append(
        f"dashboard: {len(dash.visits)} pages and {len(dash.urls)} requests checked for "
        f"{len(dash.secrets)} credentials; screenshots in {SCREENSHOTS.relative_to(REPO_ROOT)}"
    )
