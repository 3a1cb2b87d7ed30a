"""Fixtures for the compatibility suite: a real ztrisk server driven by Cloudflare's Python SDK.

One server is started per test session on an empty database: a SQLite file in a temporary
directory, or a fresh PostgreSQL schema. The bootstrap banner gives account A and its admin
token; the admin CLI (which works on the database while the server runs) creates everything
else.

Environment:
    ZTRISK_BIN              path to the ztrisk binary (default: target/debug/ztrisk under the repo root)
    ZTRISK_COMPAT_BACKEND   ``sqlite`` (default) or ``postgres``
    ZTRISK_TEST_POSTGRES    PostgreSQL URL for the postgres backend
                            (default: postgres://postgres@127.0.0.1:5432/test). Every server the
                            suite starts gets a schema of its own, ``ztrisk_compat_<random>``,
                            created with ``psql`` and dropped (CASCADE) when it is done.
    CI                      ``true``: an unreachable PostgreSQL fails the run instead of skipping it
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from cloudflare import Cloudflare

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 20.0
SHUTDOWN_TIMEOUT_S = 10.0

# Credentials in the environment would silently be picked up by the SDK and change what is
# sent; the suite must control every header itself.
_SDK_ENV_VARS = (
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_API_KEY",
    "CLOUDFLARE_EMAIL",
    "CLOUDFLARE_API_USER_SERVICE_KEY",
    "CLOUDFLARE_BASE_URL",
    "CLOUDFLARE_CUSTOM_HEADERS",
)
for _var in _SDK_ENV_VARS:
    os.environ.pop(_var, None)

BACKENDS = ("sqlite", "postgres")
BACKEND = os.environ.get("ZTRISK_COMPAT_BACKEND", "").strip().lower() or "sqlite"
if BACKEND not in BACKENDS:
    raise pytest.UsageError(f"ZTRISK_COMPAT_BACKEND must be one of {', '.join(BACKENDS)}, not {BACKEND!r}")
POSTGRES_URL = os.environ.get("ZTRISK_TEST_POSTGRES", "").strip() or "postgres://postgres@127.0.0.1:5432/test"
PG_START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
IN_CI = os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")

_ACCOUNT_RE = re.compile(r"^\s*account id:\s+([0-9a-f]{32})\s*$")
_TOKEN_RE = re.compile(r"^\s*API token:\s+([A-Za-z0-9_-]{40})\s*$")
_LISTEN_RE = re.compile(r"^ztrisk listening on (http://\S+?)/?\s*$")


# --------------------------------------------------------------------------------------------
# databases: a SQLite file, or a PostgreSQL schema of its own per server


def _redact(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _psql(sql: str, *, timeout: float = 30.0) -> subprocess.CompletedProcess:
    psql = shutil.which("psql")
    if psql is None:
        raise RuntimeError(
            "psql is not installed; the postgres backend of the compat suite creates and drops its "
            "schemas with it (apt-get install postgresql-client)"
        )
    env = dict(os.environ)
    env.setdefault("PGCONNECT_TIMEOUT", "5")
    for var in ("PGOPTIONS", "PGDATABASE", "PGSERVICE"):  # the URL says everything
        env.pop(var, None)
    return subprocess.run(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", POSTGRES_URL, "-c", sql],
        capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL,
    )


def postgres_problem() -> str | None:
    """Why the PostgreSQL server of ``ZTRISK_TEST_POSTGRES`` cannot be used, or None."""
    try:
        proc = _psql("SELECT 1", timeout=15)
    except RuntimeError as exc:  # no psql: starting PostgreSQL would not help
        return str(exc)
    except (OSError, subprocess.TimeoutExpired) as exc:
        why = str(exc)
    else:
        if proc.returncode == 0:
            return None
        why = (proc.stderr or proc.stdout).strip() or f"psql exited {proc.returncode}"
    return (
        f"PostgreSQL is not reachable at {_redact(POSTGRES_URL)} (ZTRISK_TEST_POSTGRES): {why}\n"
        f"Start it with:  {PG_START_HINT}\n"
        "or point ZTRISK_TEST_POSTGRES at another server, or run with ZTRISK_COMPAT_BACKEND=sqlite."
    )


def _with_search_path(url: str, schema: str) -> str:
    """``url`` with ``options=-c search_path=<schema>`` added to its query."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    options = " ".join([v for k, v in query if k == "options"] + [f"-c search_path={schema}"])
    query = [(k, v) for k, v in query if k != "options"] + [("options", options)]
    encoded = urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="")
    return urllib.parse.urlunsplit(parts._replace(query=encoded))


@dataclass
class PgSchema:
    """A PostgreSQL schema of the suite's own; ``url`` is what ``--database`` gets."""

    name: str
    url: str

    @classmethod
    def create(cls) -> "PgSchema":
        name = f"ztrisk_compat_{secrets.token_hex(6)}"
        proc = _psql(f"CREATE SCHEMA {name}")
        if proc.returncode != 0:
            pytest.fail(f"could not create the schema {name}: {proc.stderr.strip()}", pytrace=False)
        return cls(name=name, url=_with_search_path(POSTGRES_URL, name))

    def drop(self) -> None:
        proc = _psql(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
        if proc.returncode != 0:
            pytest.fail(f"could not drop the schema {self.name}: {proc.stderr.strip()}", pytrace=False)


def new_database(workdir: Path) -> "tuple[str, PgSchema | None]":
    """A fresh, empty database for one server: (``--database`` value, schema to drop or None)."""
    if BACKEND == "postgres":
        schema = PgSchema.create()
        return schema.url, schema
    return str(workdir / "ztrisk.db"), None


def pytest_report_header(config: pytest.Config) -> str:
    where = f" ({_redact(POSTGRES_URL)}, a schema per server)" if BACKEND == "postgres" else ""
    return f"ztrisk compat backend: {BACKEND}{where}; binary: {ztrisk_bin()}"


# Measurements a test wants the person running the suite to see (e.g. the revocation delay
# across replicas); printed in a section of their own at the end of the run.
NOTES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if NOTES:
        terminalreporter.section(f"ztrisk compat notes ({BACKEND})")
        for line in NOTES:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the postgres backend, checks once that PostgreSQL answers: if it does not, the run
    fails under CI=true and every test that needs a server is skipped otherwise."""
    if BACKEND != "postgres" or not items:
        return
    problem = postgres_problem()
    if problem is None:
        return
    if IN_CI:
        pytest.exit(f"ZTRISK_COMPAT_BACKEND=postgres, CI=true: {problem}", returncode=pytest.ExitCode.TESTS_FAILED)
    marker = pytest.mark.skip(reason=problem.replace("\n", " "))
    for item in items:
        item.add_marker(marker)


def ztrisk_bin() -> Path:
    raw = os.environ.get("ZTRISK_BIN") or "target/debug/ztrisk"
    path = Path(raw)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


@dataclass
class Credential:
    """An API token created through the CLI (``id`` is the token's id, ``token`` the secret)."""

    id: str
    token: str


@dataclass
class GlobalKey:
    email: str
    key: str


@dataclass
class Server:
    url: str  # e.g. http://127.0.0.1:PORT (no trailing slash)
    database: str  # what --database gets: a SQLite file path or a PostgreSQL URL
    process: subprocess.Popen
    stderr_path: Path
    stdout_lines: list[str] = field(default_factory=list)
    bootstrap_account: str = ""  # from the first-start banner
    bootstrap_token: str = ""

    @property
    def v4(self) -> str:
        return f"{self.url}/client/v4"

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError as exc:  # pragma: no cover - diagnostics only
            return f"<could not read server stderr: {exc}>"

    def diagnostics(self) -> str:
        return (
            f"ztrisk exit code: {self.process.poll()}\n"
            f"--- stdout ---\n{''.join(self.stdout_lines)}\n"
            f"--- stderr (last 8000 chars) ---\n{self.stderr()[-8000:]}"
        )

    def cli(self, *args: str) -> Any:
        """Runs ``ztrisk --database DB <args> --json`` and returns the parsed JSON output."""
        return run_cli(self.database, *args, "--json")

    def cli_plain(self, *args: str) -> str:
        return run_cli(self.database, *args, parse_json=False)


def run_cli(database: str, *args: str, parse_json: bool = True) -> Any:
    cmd = [str(ztrisk_bin()), "--database", str(database), *args]
    env = dict(os.environ)
    env.pop("ZTRISK_DATABASE", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        pytest.fail(
            f"ztrisk CLI failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}",
            pytrace=False,
        )
    if not parse_json:
        return proc.stdout
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"ztrisk CLI did not print JSON: {' '.join(cmd)}\n{proc.stdout}", pytrace=False)


@dataclass
class Env:
    """Everything the tests need: the server, accounts and credentials."""

    server: Server
    account_a: str
    account_b: str
    admin_token: str  # bootstrap token: every permission on account A
    token_b: Credential  # "Zero Trust Write" on account B only
    read_token_a: Credential  # "Zero Trust Read" on account A only
    key_a: GlobalKey  # global API key of a user on account A

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, api_token: str | None = None, *, root: bool = False, **kwargs: Any) -> Cloudflare:
        """An SDK client pointed at the server (``/client/v4`` unless ``root``), never retrying."""
        base = self.server.url if root else self.server.v4
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 10.0)
        return Cloudflare(api_token=api_token, base_url=base, **kwargs)

    def key_client(self, email: str, key: str, *, root: bool = False) -> Cloudflare:
        base = self.server.url if root else self.server.v4
        return Cloudflare(api_email=email, api_key=key, base_url=base, max_retries=0, timeout=10.0)

    def create_account(self, name: str) -> str:
        return self.server.cli("accounts", "create", "--name", name)["id"]

    def create_token(self, accounts: list[str], permissions: list[str], *extra: str) -> Credential:
        args = ["tokens", "create"]
        for account in accounts:
            args += ["--account", account]
        for permission in permissions:
            args += ["--permission", permission]
        out = self.server.cli(*args, *extra)
        assert isinstance(out.get("id"), str) and out["id"], out
        assert isinstance(out.get("token"), str) and len(out["token"]) == 40, out
        return Credential(id=out["id"], token=out["token"])

    def revoke_token(self, token_id: str) -> None:
        self.server.cli_plain("tokens", "revoke", token_id)

    def create_key(self, email: str, account: str) -> GlobalKey:
        out = self.server.cli("keys", "create", "--email", email, "--account", account)
        assert out["email"] == email, out
        return GlobalKey(email=out["email"], key=out["key"])


def _start_server(
    workdir: Path, database: str, *, log_name: str = "ztrisk"
) -> "tuple[Server, queue.Queue[str | None]]":
    binary = ztrisk_bin()
    if not binary.is_file():
        pytest.exit(
            f"ztrisk binary not found at {binary}; build it (cargo build -p ztrisk) or set ZTRISK_BIN",
            returncode=2,
        )
    stderr_path = workdir / f"{log_name}.stderr.log"
    stderr_file = open(stderr_path, "ab")  # appended to: a restarted server keeps one log
    env = dict(os.environ)
    # Server settings from the caller's environment would change what the suite checks (the
    # public URL in well_known_url, the rate limit); the command line sets the rest.
    for var in ("ZTRISK_DATABASE", "ZTRISK_PUBLIC_URL", "ZTRISK_RATE_LIMIT"):
        env.pop(var, None)
    process = subprocess.Popen(
        [str(binary), "--database", database, "serve", "--listen", "127.0.0.1:0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        env=env,
        cwd=workdir,
        text=True,
        bufsize=1,
    )
    stderr_file.close()  # the child holds its own descriptor
    server = Server(url="", database=database, process=process, stderr_path=stderr_path)

    # Read stdout on a thread (keeps draining it after start-up so the pipe never fills).
    lines: "queue.Queue[str | None]" = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            server.stdout_lines.append(line)
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name="ztrisk-stdout", daemon=True).start()
    return server, lines


def _wait_for_banner(
    server: Server, lines: "queue.Queue[str | None]", *, first_start: bool = True
) -> tuple[str, str]:
    """Waits for the "listening on" line. On a first start (empty database) the banner's account
    id and token must have been printed before it; on a restart they are not, and ``("", "")``
    is returned."""
    account = token = None
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeError(f"ztrisk did not start within {STARTUP_TIMEOUT_S:.0f} s")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            raise RuntimeError("ztrisk closed stdout (exited?) before it was listening")
        if m := _ACCOUNT_RE.match(line):
            account = m.group(1)
        elif m := _TOKEN_RE.match(line):
            token = m.group(1)
        elif m := _LISTEN_RE.match(line):
            server.url = m.group(1).rstrip("/")
            break
    if not first_start:
        if account is not None or token is not None:
            raise RuntimeError("ztrisk printed a first-start banner on a database that already existed")
        return "", ""
    if account is None or token is None:
        raise RuntimeError("ztrisk started on an empty database without printing account id and API token")
    return account, token


def stop_server(server: Server) -> None:
    process = server.process
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
        pytest.fail(
            f"ztrisk did not stop within {SHUTDOWN_TIMEOUT_S:.0f} s of SIGTERM\n{server.diagnostics()}",
            pytrace=False,
        )


def start_server(
    workdir: Path, database: str, *, first_start: bool = True, what: str = "ztrisk", log_name: str = "ztrisk"
) -> Server:
    """Starts ``ztrisk serve`` on ``database`` and waits until it listens; fails the test (with
    the server's output) if it does not. On a first start the banner is read into
    ``bootstrap_account``/``bootstrap_token``; otherwise there must be no banner."""
    server, lines = _start_server(workdir, database, log_name=log_name)
    try:
        account, token = _wait_for_banner(server, lines, first_start=first_start)
        problem = None
    except RuntimeError as exc:
        problem = str(exc)
    if problem is not None:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(timeout=5)
        time.sleep(0.1)  # let the pump thread collect the last lines
        pytest.fail(f"{what}: {problem}\n{server.diagnostics()}", pytrace=False)
    server.bootstrap_account = account
    server.bootstrap_token = token
    return server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("ztrisk")
    database, schema = new_database(workdir)
    try:
        server = start_server(workdir, database)
        try:
            yield server
        finally:
            stop_server(server)
    finally:
        if schema is not None:
            schema.drop()


@pytest.fixture(scope="session")
def env(server: Server) -> Env:
    account_a = server.bootstrap_account
    admin_token = server.bootstrap_token
    account_b = server.cli("accounts", "create", "--name", "compat account B")["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", account_b), account_b
    assert account_b != account_a

    partial = Env(
        server=server,
        account_a=account_a,
        account_b=account_b,
        admin_token=admin_token,
        token_b=Credential("", ""),
        read_token_a=Credential("", ""),
        key_a=GlobalKey("", ""),
    )
    partial.token_b = partial.create_token([account_b], ["Zero Trust Write"], "--name", "compat B write")
    partial.read_token_a = partial.create_token([account_a], ["Zero Trust Read"], "--name", "compat A read")
    partial.key_a = partial.create_key("compat-a@example.com", account_a)
    return partial


@pytest.fixture(autouse=True)
def _server_must_stay_up(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the test (with the server's stderr) if ztrisk died while it ran."""
    yield
    if "server" not in request.fixturenames:
        return
    server: Server = request.getfixturevalue("server")
    if server.process.poll() is not None:
        pytest.fail(f"ztrisk exited during the test\n{server.diagnostics()}", pytrace=False)


@dataclass
class Tenant:
    """A fresh account with its own all-permission token, so a test can change state in
    isolation (the behaviors of a new account are exactly the defaults)."""

    account: str
    token: Credential
    client: Cloudflare


@pytest.fixture
def tenant(env: Env, request: pytest.FixtureRequest) -> Tenant:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:60]
    account = env.create_account(f"compat {name}")
    token = env.create_token(
        [account], ["Zero Trust Read", "Zero Trust Write"], "--name", f"compat {name}"
    )
    return Tenant(account=account, token=token, client=env.client(token.token))


@pytest.fixture
def make_client(env: Env) -> Callable[..., Cloudflare]:
    """``make_client(api_token, root=False, **kwargs)`` -> a ``Cloudflare`` client for the server."""
    return env.client


class DedicatedServer:
    """A ztrisk process of one test's own, on its own database, that the test may stop (with
    any signal) and start again on the same database. The session ``server`` is never touched."""

    def __init__(self, workdir: Path, database: str) -> None:
        self.workdir = workdir
        self.database = database  # a SQLite file path or a PostgreSQL URL (its own schema)
        self.server: Server | None = None
        self.account = ""  # from the first start's banner
        self.token = ""  # the bootstrap admin token: every permission on ``account``
        self.starts = 0

    @property
    def url(self) -> str:
        assert self.server is not None and self.server.process.poll() is None, "not running"
        return self.server.url

    @property
    def v4(self) -> str:
        return f"{self.url}/client/v4"

    def start(self) -> Server:
        assert self.server is None or self.server.process.poll() is not None, "already running"
        first = self.starts == 0
        self.starts += 1
        server = start_server(
            self.workdir, self.database, first_start=first, what=f"dedicated ztrisk (start #{self.starts})"
        )
        self.server = server
        if first:
            self.account, self.token = server.bootstrap_account, server.bootstrap_token
        return server

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Sends ``sig`` and returns the exit code (negative: killed by that signal)."""
        assert self.server is not None
        process = self.server.process
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
                pytest.fail(
                    f"dedicated ztrisk did not stop within {SHUTDOWN_TIMEOUT_S:.0f} s of signal {sig}\n"
                    f"{self.server.diagnostics()}",
                    pytrace=False,
                )
        return process.returncode

    def client(self, api_token: str | None = None, **kwargs: Any) -> Cloudflare:
        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("timeout", 10.0)
        return Cloudflare(api_token=api_token or self.token, base_url=self.v4, **kwargs)


@pytest.fixture
def dedicated_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DedicatedServer]:
    """A started :class:`DedicatedServer` (first start done, banner read); stopped at teardown."""
    workdir = tmp_path_factory.mktemp("ztrisk-dedicated")
    database, schema = new_database(workdir)
    try:
        handle = DedicatedServer(workdir, database)
        try:
            handle.start()
            yield handle
        finally:
            if handle.server is not None:
                stop_server(handle.server)
    finally:
        if schema is not None:
            schema.drop()
