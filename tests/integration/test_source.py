"""The source side under hostile operations: positions the server never sent,
a second instance on the same slot, partitioned tables, connections that hang,
signals, and errors that no retry can cure."""
import os
import re
import signal
import socket
import subprocess
import threading
import time

import psycopg
import pytest

from conftest import PGCDC_BIN, Pgcdc, by_topic, dsn, sql


def lsn(s):
    hi, lo = s.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def slot_flush(db, name):
    rows = sql(db, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots "
               "WHERE slot_name = %s", name)
    return rows[0][0] if rows else None


def wait_exit(p, timeout=30):
    try:
        return p.proc.wait(timeout)
    finally:
        p.proc = None if p.proc is None or p.proc.poll() is not None else p.proc


def set_end_lsn(path, value):
    text = path.read_text()
    path.write_text(re.sub(r"(?m)^end_lsn=.*$", f"end_lsn={value}", text))


def last_lines(p):
    return [l for l in p.stderr().splitlines() if l.strip()]


def assert_error_then_summary(p, needle):
    lines = last_lines(p)
    err = [i for i, l in enumerate(lines) if needle in l]
    assert err, p.stderr()
    assert "stopped after" in lines[-1], p.stderr()
    assert err[-1] < len(lines) - 1
    assert "cannot send a status update" not in p.stderr()


# ---- issue: a position the server never sent must not be confirmed ----

def test_stored_position_ahead_of_server_is_refused_and_slot_untouched(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    assert p.stop() == 0
    offsets = p.dir / "offsets"
    good = offsets.read_text()
    assert "system_id=" in good and "timeline=" in good
    before = slot_flush(db, p.name)

    set_end_lsn(offsets, "FFFFFFFF/FFFFFFFF")
    p.start(wait_streaming=False)
    assert wait_exit(p) == 78
    err = p.stderr()
    assert "FFFFFFFF/FFFFFFFF" in err and "ahead of the server's WAL" in err
    assert "offset.mismatch.strategy" in err and "trust_slot" in err
    assert_error_then_summary(p, "ahead of the server's WAL")
    assert slot_flush(db, p.name) == before

    offsets.write_text(good)
    p.start(wait_streaming=False)
    p.wait_log("streaming from slot", count=2)
    sql(db, f"INSERT INTO {t} VALUES (2)")
    ev = p.events(2)
    assert [e["key"]["id"] for e in by_topic(ev, f"{p.name}.public.{t}")] == [1, 2]
    assert p.stop() == 0


def test_position_never_sent_is_never_confirmed(db, pgcdc, table):
    """Even told not to check, pgcdc confirms only what the server sent."""
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    assert p.stop() == 0
    good = (p.dir / "offsets").read_text()
    set_end_lsn(p.dir / "offsets", "FFFFFFFF/FFFFFFFF")
    p.cfg["offset.mismatch.strategy"] = "no_validation"
    p.start(wait_streaming=False)
    p.wait_log("streaming from slot", count=2)
    sql(db, f"INSERT INTO {t} VALUES (2)")  # below the stored position: skipped
    n = p.stderr().count("confirmed ")
    p.wait_log("confirmed ", count=n + 1)
    assert p.stop() == 0
    current = sql(db, "SELECT pg_current_wal_lsn()::text")[0][0]
    assert lsn(slot_flush(db, p.name)) <= lsn(current)

    # trust_slot resumes from the slot, and changes flow again.
    (p.dir / "offsets").write_text(good)
    set_end_lsn(p.dir / "offsets", "FFFFFFFF/FFFFFFFF")
    p.cfg["offset.mismatch.strategy"] = "trust_slot"
    p.start(wait_streaming=False)
    p.wait_log("streaming from slot", count=3)
    assert "trust_slot: resuming from the slot" in p.stderr()
    sql(db, f"INSERT INTO {t} VALUES (3)")
    deadline = time.time() + 30
    while time.time() < deadline and 3 not in [e["key"]["id"] for e in p.lines()]:
        time.sleep(0.05)
    assert 3 in [e["key"]["id"] for e in p.lines()]
    assert p.stop() == 0
    assert "FFFFFFFF" not in (p.dir / "offsets").read_text()


def test_slot_dropped_while_stopped_is_refused(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    assert p.stop() == 0
    sql(db, "SELECT pg_drop_replication_slot(%s)", p.name)
    p.start(wait_streaming=False)
    assert wait_exit(p) == 78
    assert "does not exist" in p.stderr() and "offset.mismatch.strategy" in p.stderr()
    assert slot_flush(db, p.name) is None


# ---- issue: nothing is altered before pgcdc holds its slot ----

def test_second_instance_on_the_same_slot_changes_nothing(db, pgcdc, table, tmp_path):
    tx3 = table("id int PRIMARY KEY")
    ddl3 = table("id int PRIMARY KEY")
    a = pgcdc(table_include_list=f"public\\.({tx3}|{ddl3})").start()
    pub_before = sorted(r[0] for r in sql(
        db, "SELECT tablename FROM pg_publication_tables WHERE pubname = %s", a.name))
    assert pub_before == sorted([tx3, ddl3])

    (tmp_path / "b").mkdir()
    b = Pgcdc(tmp_path / "b", a.name, table_include_list=f"public\\.{tx3}")
    b.start(wait_streaming=False)
    rc = wait_exit(b)
    assert rc != 0
    assert "in use by another pgcdc" in b.stderr(), b.stderr()
    assert "publication" not in b.stderr().split("in use by another pgcdc")[0].split("\n")[-1]
    assert "updated publication" not in b.stderr()
    pub_after = sorted(r[0] for r in sql(
        db, "SELECT tablename FROM pg_publication_tables WHERE pubname = %s", a.name))
    assert pub_after == pub_before

    sql(db, f"INSERT INTO {ddl3} VALUES (1)")
    assert by_topic(a.events(1), f"{a.name}.public.{ddl3}")
    assert a.stop() == 0
    a.start(wait_streaming=False)
    a.wait_log("streaming from slot", count=2)
    sql(db, f"INSERT INTO {ddl3} VALUES (2)")
    deadline = time.time() + 30
    while time.time() < deadline and len(by_topic(a.lines(), f"{a.name}.public.{ddl3}")) < 2:
        time.sleep(0.05)
    assert [e["key"]["id"] for e in by_topic(a.lines(), f"{a.name}.public.{ddl3}")] == [1, 2]
    assert a.stop() == 0


# ---- issue: a partitioned table named by its parent ----

def test_partitioned_table_arrives_as_its_parent(db, pgcdc, table):
    m = table("id int, at date, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at")
    sql(db, f"CREATE TABLE {m}_p1 PARTITION OF {m} FOR VALUES FROM ('2024-01-01') "
        "TO ('2024-07-01')")
    sql(db, f"CREATE TABLE {m}_p2 PARTITION OF {m} FOR VALUES FROM ('2024-07-01') "
        "TO ('2025-01-01')")
    p = pgcdc(table_include_list=f"public\\.{m}")
    # A publication of pgcdc's (marked) without publish_via_partition_root
    # is updated.
    sql(db, f'CREATE PUBLICATION "{p.name}" FOR TABLE {m}')
    sql(db, f"COMMENT ON PUBLICATION \"{p.name}\" IS 'managed by pgcdc'")
    p.start()
    assert sql(db, "SELECT pubviaroot FROM pg_publication WHERE pubname = %s",
               p.name) == [(True,)]
    sql(db, f"INSERT INTO {m} VALUES (1, '2024-02-01', 'a'), (2, '2024-08-01', 'b')")
    sql(db, f"UPDATE {m} SET v = 'c' WHERE id = 2")
    ev = by_topic(p.events(3), f"{p.name}.public.{m}")
    assert [(e["value"]["op"], e["key"]["id"]) for e in ev] == [("c", 1), ("c", 2), ("u", 2)]
    assert all(e["value"]["source"]["table"] == m for e in ev)
    assert p.stop() == 0


# ---- issue: connecting is bounded and a stop signal ends it ----

class SilentServer:
    """Accepts TCP connections and never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = threading.Event()
        self.conns = []
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted.set()

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def silent():
    s = SilentServer()
    yield s
    s.close()


def silent_config(tmp_path, port, **extra):
    conf = tmp_path / "silent.conf"
    lines = {"topic.prefix": "x", "sink": "stdout", "format": "json",
             "database.dsn": f"host=127.0.0.1 port={port} dbname=x sslmode=disable",
             "offset.storage.file.filename": str(tmp_path / "off")}
    lines.update(extra)
    conf.write_text("".join(f"{k} = {v}\n" for k, v in lines.items()))
    return conf


def test_silent_server_times_out(tmp_path, silent):
    conf = silent_config(tmp_path, silent.port, **{"database.connect.timeout.ms": "1500"})
    start = time.monotonic()
    r = subprocess.run([PGCDC_BIN, "run", "-c", str(conf)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1, r.stderr
    assert "no answer within 1500 ms" in r.stderr
    assert time.monotonic() - start < 30
    assert silent.accepted.is_set()


def test_sigterm_ends_a_hanging_connect(tmp_path, silent):
    conf = silent_config(tmp_path, silent.port, **{"database.connect.timeout.ms": "0"})
    proc = subprocess.Popen([PGCDC_BIN, "run", "-c", str(conf)], stderr=subprocess.PIPE,
                            text=True)
    try:
        assert silent.accepted.wait(30)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 0, proc.stderr.read()


# ---- issue: SIGHUP must not kill pgcdc ----

def test_sighup_is_logged_and_ignored(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    p.proc.send_signal(signal.SIGHUP)
    p.wait_log("SIGHUP ignored")
    assert p.proc.poll() is None
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    assert p.stop() == 0


# ---- issue: errors by class ----

def test_publication_dropped_while_running_stops_with_78(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    sql(db, f'DROP PUBLICATION "{p.name}"')
    sql(db, f"INSERT INTO {t} VALUES (2)")
    assert wait_exit(p) == 78
    err = p.stderr()
    assert "SQLSTATE 42704" in err and f"publication '{p.name}' was dropped" in err
    assert "retrying" not in err
    assert_error_then_summary(p, "was dropped")


def test_slot_dropped_while_running_stops_with_78(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}", reconnect_backoff_initial_ms="3000").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    deadline = time.time() + 30
    while time.time() < deadline:
        sql(db, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
            "WHERE slot_name = %s AND active", p.name)
        try:
            sql(db, "SELECT pg_drop_replication_slot(%s)", p.name)
            break
        except psycopg.errors.ObjectInUse:
            time.sleep(0.05)
    assert wait_exit(p) == 78
    err = p.stderr()
    assert f"replication slot '{p.name}' was dropped while pgcdc streamed" in err
    assert_error_then_summary(p, "was dropped")
    assert slot_flush(db, p.name) is None  # not silently recreated


def test_invalidated_slot_stops_with_78(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    assert p.stop() == 0
    try:
        # Let the server drop the WAL the stopped slot still needs.
        sql(db, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'")
        sql(db, "SELECT pg_reload_conf()")
        deadline = time.time() + 30
        while time.time() < deadline and sql(
                db, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = %s",
                p.name) != [("lost",)]:
            sql(db, f"INSERT INTO {t} VALUES (2) ON CONFLICT DO NOTHING")
            sql(db, "SELECT pg_switch_wal()")
            sql(db, "CHECKPOINT")
    finally:
        sql(db, "ALTER SYSTEM RESET max_slot_wal_keep_size")
        sql(db, "SELECT pg_reload_conf()")
    assert sql(db, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = %s",
               p.name) == [("lost",)]
    p.start(wait_streaming=False)
    assert wait_exit(p) == 78
    err = p.stderr()
    assert f"replication slot '{p.name}' was invalidated" in err and "wal_status 'lost'" in err
    assert_error_then_summary(p, "was invalidated")


@pytest.fixture
def role(db):
    made = []

    def make(name, attrs):
        sql(db, f"DROP ROLE IF EXISTS {name}")
        sql(db, f"CREATE ROLE {name} {attrs}")
        made.append(name)
        return name

    yield make
    for name in made:
        sql(db, f"DROP OWNED BY {name}")
        sql(db, f"DROP ROLE IF EXISTS {name}")


def test_refused_login_stops_with_78(db, pgcdc, role):
    r = role("pgcdc_nologin", "NOLOGIN REPLICATION")
    p = pgcdc(database_dsn=dsn(user=r))
    p.start(wait_streaming=False)
    assert wait_exit(p) == 78
    err = p.stderr()
    assert "SQLSTATE 28000" in err and "check the user and password" in err
    assert_error_then_summary(p, "SQLSTATE 28000")


def test_missing_replication_attribute_stops_with_78(db, pgcdc, role):
    r = role("pgcdc_norepl", "LOGIN")
    p = pgcdc(database_dsn=dsn(user=r))
    p.start(wait_streaming=False)
    assert wait_exit(p) == 78
    err = p.stderr()
    assert "SQLSTATE 42501" in err and "REPLICATION attribute" in err


def test_user_without_table_ownership_gets_the_statement_and_fix(db, pgcdc, table, role):
    t = table("id int PRIMARY KEY")
    r = role("pgcdc_notowner", "LOGIN REPLICATION")
    sql(db, f"GRANT CREATE ON DATABASE {os.environ.get('PGDATABASE', 'pgcdc')} TO {r}")
    p = pgcdc(database_dsn=dsn(user=r), table_include_list=f"public\\.{t}")
    p.start(wait_streaming=False)
    assert wait_exit(p) == 78
    err = p.stderr()
    assert f"must be owner of table {t}" in err and "SQLSTATE 42501" in err
    assert "CREATE PUBLICATION" in err and "publication.autocreate.mode = disabled" in err
    assert_error_then_summary(p, "must be owner")
    sql(db, f"REVOKE CREATE ON DATABASE {os.environ.get('PGDATABASE', 'pgcdc')} FROM {r}")
