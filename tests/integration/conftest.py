"""Shared fixtures of pgcdc's integration tests.

The tests talk to the real servers started by tests/harness/up (its exports
must be in the environment) and run the real pgcdc binary (PGCDC_BIN).
Every test gets its own slot, publication, topic prefix and offsets file, so
tests do not see each other's events.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import psycopg
import pytest

PGCDC_BIN = os.environ.get("PGCDC_BIN", "")

# A pgcdc built with AddressSanitizer or UndefinedBehaviorSanitizer (tests/run's
# sanitize setup) writes each report into a file here as well as failing, so
# that the test fails on it even where pgcdc's exit status or stderr is not
# looked at (a stop by signal, a process that a test only reads events of).
# Every pgcdc a test starts inherits these options.
SANITIZER_DIR = tempfile.mkdtemp(prefix="pgcdc-sanitizer-")
for _var, _name in (("ASAN_OPTIONS", "asan"), ("UBSAN_OPTIONS", "ubsan")):
    os.environ[_var] = ":".join(filter(None, [
        os.environ.get(_var, ""), f"log_path={SANITIZER_DIR}/{_name}", "exitcode=86"]))


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("PGHOST"):
        raise pytest.UsageError(
            "PGHOST is not set: start the servers with eval \"$(tests/harness/up)\"")
    if not os.path.exists(PGCDC_BIN):
        raise pytest.UsageError("PGCDC_BIN does not name the pgcdc binary")


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SANITIZER_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def no_sanitizer_report():
    """Fails the test when a pgcdc it ran wrote a sanitizer report (checked
    after the other fixtures have stopped their pgcdc processes)."""
    yield
    reports = []
    for name in sorted(os.listdir(SANITIZER_DIR)):
        path = os.path.join(SANITIZER_DIR, name)
        with open(path, errors="replace") as f:
            reports.append(f"--- {name}\n{f.read()}")
        os.remove(path)
    if reports:
        pytest.fail("pgcdc wrote a sanitizer report:\n" + "\n".join(reports), pytrace=False)


def dsn(**extra):
    parts = {
        "host": os.environ["PGHOST"],
        "port": os.environ["PGPORT"],
        "user": os.environ.get("PGUSER", "pgcdc"),
        "dbname": os.environ.get("PGDATABASE", "pgcdc"),
    }
    parts.update(extra)
    return " ".join(f"{k}={v}" for k, v in parts.items())


@pytest.fixture
def db():
    with psycopg.connect(dsn(), autocommit=True) as conn:
        yield conn


def sql(conn, text, *args):
    with conn.cursor() as cur:
        cur.execute(text, args or None)
        if cur.description:
            return cur.fetchall()
    return None


class Pgcdc:
    """One pgcdc process with its own config, output and offsets files."""

    def __init__(self, tmp_path, name, **cfg):
        self.dir = tmp_path
        self.name = name
        self.out_path = tmp_path / "events.jsonl"
        self.err_path = tmp_path / "stderr.log"
        self.cfg = {
            "database.dsn": dsn(),
            "topic.prefix": name,
            "slot.name": name,
            "publication.name": name,
            "sink": "stdout",
            "format": "json",
            "offset.storage.file.filename": str(tmp_path / "offsets"),
            "status.interval.ms": "200",
            "offset.flush.interval.ms": "200",
            "log.level": "debug",
            # These tests watch the stream; those of snapshots ask for one.
            "snapshot.mode": "no_data",
        }
        self.cfg.update({k.replace("_", "."): v for k, v in cfg.items()})
        self.proc = None
        self.conf_path = tmp_path / "pgcdc.conf"

    def write_config(self):
        with open(self.conf_path, "w") as f:
            for k, v in self.cfg.items():
                f.write(f"{k} = {v}\n")

    def start(self, wait_streaming=True):
        self.write_config()
        out = open(self.out_path, "ab")
        err = open(self.err_path, "ab")
        self.proc = subprocess.Popen([PGCDC_BIN, "run", "-c", str(self.conf_path)],
                                     stdout=out, stderr=err)
        out.close()
        err.close()
        if wait_streaming:
            self.wait_log("streaming from slot")
        return self

    def wait_log(self, text, timeout=30, count=1):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.stderr().count(text) >= count:
                return
            if self.proc and self.proc.poll() is not None:
                raise AssertionError(f"pgcdc exited {self.proc.returncode}: {self.stderr()}")
            time.sleep(0.05)
        raise AssertionError(f"pgcdc never logged {text!r}: {self.stderr()}")

    def stderr(self):
        try:
            return self.err_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def lines(self):
        """Every complete event line written so far."""
        if not self.out_path.exists():
            return []
        data = self.out_path.read_text()
        return [json.loads(l) for l in data.split("\n")[:-1] if l]

    def events(self, n, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            ev = self.lines()
            if len(ev) >= n:
                return ev
            if self.proc and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(
            f"expected {n} events, got {len(self.lines())}: {self.lines()}\n{self.stderr()}")

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        self.proc = None
        return rc

    def cleanup(self, conn):
        if self.proc is not None:
            self.stop(signal.SIGKILL)
        for _ in range(50):
            try:
                sql(conn, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    "WHERE slot_name = %s", self.name)
                break
            except psycopg.errors.ObjectInUse:
                time.sleep(0.1)
        sql(conn, f'DROP PUBLICATION IF EXISTS "{self.name}"')


@pytest.fixture
def pgcdc(tmp_path, db):
    made = []

    def make(**cfg):
        name = "t" + uuid.uuid4().hex[:12]
        p = Pgcdc(tmp_path, name, **cfg)
        made.append(p)
        return p

    yield make
    for p in made:
        p.cleanup(db)


@pytest.fixture
def table(db):
    """Creates uniquely named tables and drops them afterwards."""
    made = []

    def make(ddl_body, name=None, schema="public"):
        name = name or "tab_" + uuid.uuid4().hex[:8]
        sql(db, f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        sql(db, f'CREATE TABLE "{schema}"."{name}" ({ddl_body})')
        made.append((schema, name))
        return name

    yield make
    for schema, name in made:
        sql(db, f'DROP TABLE IF EXISTS "{schema}"."{name}" CASCADE')


def by_topic(events, topic):
    return [e for e in events if e["topic"] == topic]
