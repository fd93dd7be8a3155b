"""The loop is the only place pgcdc waits: a schema registry that hangs
(stopped with SIGSTOP) for longer than the server's wal_sender_timeout costs
neither the replication connection nor a prompt stop, and every event
arrives once the registry answers again. The same holds for the server
process that answers pgcdc's catalog queries."""
import json
import os
import signal
import subprocess
import time
import uuid

import psycopg
import pytest

from conftest import PGCDC_BIN, by_topic, dsn, sql
from kafka_util import BOOTSTRAP, REGISTRY, consume

WAL_SENDER_TIMEOUT_S = 3


def kafka_avro(p, **extra):
    p.cfg.update({
        "sink": "kafka",
        "format": "avro",
        "schema.registry.url": REGISTRY,
        "kafka.bootstrap.servers": BOOTSTRAP,
    })
    p.cfg.update({k.replace("_", "."): v for k, v in extra.items()})
    return p


def registry_pid():
    state = os.environ.get("PGCDC_HARNESS_DIR", "/tmp/pgcdc-harness")
    with open(os.path.join(state, "registry", "registry.pid")) as f:
        return int(f.read().strip())


@pytest.fixture
def short_wal_sender_timeout(db):
    sql(db, f"ALTER SYSTEM SET wal_sender_timeout = '{WAL_SENDER_TIMEOUT_S}s'")
    sql(db, "SELECT pg_reload_conf()")
    yield WAL_SENDER_TIMEOUT_S
    sql(db, "ALTER SYSTEM RESET wal_sender_timeout")
    sql(db, "SELECT pg_reload_conf()")


@pytest.fixture
def hung_registry():
    """Calls hang() to stop the registry process; it is always continued."""
    pid = registry_pid()
    stopped = []

    def hang():
        os.kill(pid, signal.SIGSTOP)
        stopped.append(pid)

    def resume():
        if stopped:
            os.kill(pid, signal.SIGCONT)
            stopped.clear()

    hang.resume = resume
    yield hang
    resume()


def sigterm(p):
    """Stops pgcdc with SIGTERM: its exit status and the seconds it took."""
    t0 = time.monotonic()
    p.proc.send_signal(signal.SIGTERM)
    rc = p.proc.wait(30)
    took = time.monotonic() - t0
    p.proc = None
    return rc, took


def walsender_pid(db, slot):
    return sql(db, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", slot)[0][0]


def hold_past_the_timeout(db, p, pid):
    """Waits three wal_sender_timeouts; the connection must stay the same."""
    deadline = time.time() + 3 * WAL_SENDER_TIMEOUT_S
    while time.time() < deadline:
        assert p.proc.poll() is None, p.stderr()[-3000:]
        assert walsender_pid(db, p.name) == pid, \
            f"the replication connection was dropped: {p.stderr()[-3000:]}"
        time.sleep(0.2)
    err = p.stderr()
    assert "reconnecting" not in err and "timeout" not in err.lower(), err[-3000:]


def test_hung_registry_keeps_the_connection_and_a_prompt_stop(db, pgcdc, table,
                                                              short_wal_sender_timeout,
                                                              hung_registry):
    a = table("id int PRIMARY KEY")
    b = table("id int PRIMARY KEY, v text")
    c = table("id int PRIMARY KEY, w int")
    p = kafka_avro(pgcdc(), table_include_list=f"public\\.({a}|{b}|{c})").start()
    sql(db, f"INSERT INTO {a} VALUES (1)")
    assert [r["key"]["id"] for r in consume(f"{p.name}.public.{a}", 1)] == [1]
    pid = walsender_pid(db, p.name)
    assert pid

    # A new table needs its schemas registered while the registry hangs.
    hung_registry()
    sql(db, f"INSERT INTO {b} SELECT g, 'v' || g FROM generate_series(1, 5) g")
    hold_past_the_timeout(db, p, pid)
    hung_registry.resume()
    recs = consume(f"{p.name}.public.{b}", 5, timeout=90)
    assert sorted(r["key"]["id"] for r in recs) == [1, 2, 3, 4, 5]
    assert walsender_pid(db, p.name) == pid

    # Hung again: a stop is honoured at once, and nothing is lost.
    hung_registry()
    sql(db, f"INSERT INTO {c} SELECT g, g FROM generate_series(1, 3) g")
    hold_past_the_timeout(db, p, pid)
    rc, took = sigterm(p)
    assert rc == 0, p.stderr()[-3000:]
    assert took < 1.5, f"SIGTERM took {took:.1f} s during a registry hang"
    hung_registry.resume()
    p.start()
    recs = consume(f"{p.name}.public.{c}", 3, timeout=90)
    assert sorted(r["key"]["id"] for r in recs) == [1, 2, 3]


def catalog_backend_pid(db, slot):
    """The server process of pgcdc's catalog connection: the one holding the
    slot's claim (an advisory lock keyed by the slot name's hash)."""
    rows = sql(db, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
               "AND classid = 1885823844 AND objid = hashtext(%s)::oid", slot)
    assert len(rows) == 1, rows
    return rows[0][0]


@pytest.fixture
def hung_catalog(db):
    """Calls hang(slot) to stop the server process that answers pgcdc's
    catalog queries, as a server process stuck on I/O or a lock would; it is
    always continued."""
    stopped = []

    def hang(slot):
        pid = catalog_backend_pid(db, slot)
        os.kill(pid, signal.SIGSTOP)
        stopped.append(pid)

    def resume():
        while stopped:
            os.kill(stopped.pop(), signal.SIGCONT)

    hang.resume = resume
    yield hang
    resume()


@pytest.fixture
def mood(db):
    name = "mood_" + uuid.uuid4().hex[:8]
    sql(db, f"CREATE TYPE {name} AS ENUM ('sad', 'ok', 'happy')")
    yield name
    sql(db, f"DROP TYPE IF EXISTS {name} CASCADE")


def test_hung_catalog_query_keeps_the_connection_and_a_prompt_stop(db, pgcdc, table, mood,
                                                                   short_wal_sender_timeout,
                                                                   hung_catalog):
    a = table("id int PRIMARY KEY")
    # Columns of a user-defined type, and a replica identity that does not
    # name the key: the Relation messages of these tables need the catalog.
    b = table(f"id int PRIMARY KEY, m {mood}")
    c = table(f"id int PRIMARY KEY, m {mood}")
    sql(db, f"ALTER TABLE {c} REPLICA IDENTITY FULL")
    p = pgcdc(table_include_list=f"public\\.({a}|{b}|{c})").start()
    sql(db, f"INSERT INTO {a} VALUES (1)")
    p.events(1)
    pid = walsender_pid(db, p.name)
    assert pid

    hung_catalog(p.name)
    sql(db, f"INSERT INTO {b} SELECT g, 'happy' FROM generate_series(1, 5) g")
    hold_past_the_timeout(db, p, pid)
    assert not by_topic(p.lines(), f"{p.name}.public.{b}")
    hung_catalog.resume()
    ev = by_topic(p.events(6), f"{p.name}.public.{b}")
    assert sorted(e["key"]["id"] for e in ev) == [1, 2, 3, 4, 5]
    assert {e["value"]["after"]["m"] for e in ev} == {"happy"}
    assert walsender_pid(db, p.name) == pid

    # Hung again: a stop is honoured at once, and nothing is lost.
    hung_catalog(p.name)
    sql(db, f"INSERT INTO {c} SELECT g, 'sad' FROM generate_series(1, 3) g")
    hold_past_the_timeout(db, p, pid)
    rc, took = sigterm(p)
    assert rc == 0, p.stderr()[-3000:]
    assert took < 1.5, f"SIGTERM took {took:.1f} s during a catalog query that hangs"
    hung_catalog.resume()
    p.start()
    ev = by_topic(p.events(9), f"{p.name}.public.{c}")
    assert sorted(e["key"]["id"] for e in ev) == [1, 2, 3]
    assert {e["value"]["after"]["m"] for e in ev} == {"sad"}


def test_stop_during_the_reconnect_backoff_is_prompt(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    # The backoff is a timer of the loop: a long one does not delay a stop.
    p = pgcdc(table_include_list=f"public\\.{t}", reconnect_backoff_initial_ms="60000",
              reconnect_backoff_max_ms="60000").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    killed = sql(db, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                 "WHERE slot_name = %s AND active_pid IS NOT NULL", p.name)
    assert killed == [(True,)]
    p.wait_log("reconnecting")
    sql(db, f"INSERT INTO {t} VALUES (2)")
    rc, took = sigterm(p)
    assert rc == 0, p.stderr()[-3000:]
    assert took < 1.5, f"SIGTERM took {took:.1f} s during the reconnect backoff"
    assert p.stderr().count("streaming from slot") == 1
    p.cfg["reconnect.backoff.initial.ms"] = "100"
    p.start()
    assert sorted(e["key"]["id"] for e in p.events(2)) == [1, 2]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_connection_lost_while_a_message_is_held_waits_idle(db, pgcdc, table, mood,
                                                            hung_catalog):
    t = table(f"id int PRIMARY KEY, m {mood}")
    p = pgcdc(table_include_list=f"public\\.{t}", reconnect_backoff_initial_ms="4000",
              reconnect_backoff_max_ms="4000").start()
    # The Relation message waits for the catalog, then the connection goes.
    hung_catalog(p.name)
    sql(db, f"INSERT INTO {t} VALUES (1, 'ok')")
    killed = sql(db, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                 "WHERE slot_name = %s AND active_pid IS NOT NULL", p.name)
    assert killed == [(True,)]
    p.wait_log("reconnecting")
    # The backoff is waited out idle, not by spinning over the lost message.
    before = cpu_seconds(p.proc.pid)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2:
        assert p.stderr().count("streaming from slot") == 1, p.stderr()[-3000:]
        time.sleep(0.1)
    used = cpu_seconds(p.proc.pid) - before
    assert used < 0.3, f"pgcdc used {used:.2f} s of CPU in 2 s of reconnect backoff"
    hung_catalog.resume()
    p.wait_log("streaming from slot", count=2)
    ev = p.events(1)
    assert [(e["key"]["id"], e["value"]["after"]["m"]) for e in ev] == [(1, "ok")]


def test_stop_while_the_publication_waits_for_a_lock(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}")
    with psycopg.connect(dsn()) as holder:
        # A session holds the table: creating the publication for it waits.
        sql(holder, f"LOCK TABLE {t} IN ACCESS EXCLUSIVE MODE")
        p.start(wait_streaming=False)
        deadline = time.time() + 30
        while time.time() < deadline and not sql(
                db, "SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgcdc' "
                "AND wait_event_type = 'Lock'"):
            assert p.proc.poll() is None, p.stderr()[-3000:]
            time.sleep(0.05)
        assert sql(db, "SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgcdc' "
                   "AND wait_event_type = 'Lock'"), p.stderr()[-3000:]
        t0 = time.monotonic()
        p.proc.send_signal(signal.SIGTERM)
        try:
            rc = p.proc.wait(30)
        finally:
            took = time.monotonic() - t0
            holder.rollback()
        p.proc = None
    assert rc == 0, p.stderr()[-3000:]
    assert took < 1.5, f"SIGTERM took {took:.1f} s while a command waited for a lock"


def test_catalog_connection_lost_mid_stream_is_reopened(db, pgcdc, table, mood):
    a = table("id int PRIMARY KEY")
    # A column of a user-defined type: its Relation message needs the catalog.
    b = table(f"id int PRIMARY KEY, m {mood}")
    p = pgcdc(table_include_list=f"public\\.({a}|{b})").start()
    sql(db, f"INSERT INTO {a} VALUES (1)")
    p.events(1)
    pid = walsender_pid(db, p.name)
    assert pid

    # The catalog connection goes while pgcdc streams; the next lookup opens
    # it again and the table first seen afterwards is not lost.
    cat = catalog_backend_pid(db, p.name)
    assert sql(db, "SELECT pg_terminate_backend(%s)", cat) == [(True,)]
    sql(db, f"INSERT INTO {b} SELECT g, 'ok' FROM generate_series(1, 5) g")
    sql(db, f"INSERT INTO {a} VALUES (2)")
    ev = p.events(7)
    assert sorted(e["key"]["id"] for e in by_topic(ev, f"{p.name}.public.{a}")) == [1, 2]
    got = by_topic(ev, f"{p.name}.public.{b}")
    assert sorted(e["key"]["id"] for e in got) == [1, 2, 3, 4, 5]
    assert {e["value"]["after"]["m"] for e in got} == {"ok"}
    assert len(p.lines()) == 7, p.lines()
    assert walsender_pid(db, p.name) == pid, p.stderr()[-3000:]
    assert sql(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
               "'pgcdc-catalog' AND pid <> %s", cat)[0][0] >= 1
    assert p.stop() == 0, p.stderr()[-3000:]


def test_stdout_reader_that_does_not_read_keeps_the_connection_and_a_stop(
        db, pgcdc, table, short_wal_sender_timeout):
    t = table("id int PRIMARY KEY, v text")
    p = pgcdc(table_include_list=f"public\\.{t}")
    p.write_config()
    # pgcdc's output is a pipe that nobody reads.
    with open(p.err_path, "ab") as err:
        p.proc = subprocess.Popen([PGCDC_BIN, "run", "-c", str(p.conf_path)],
                                  stdout=subprocess.PIPE, stderr=err)
    p.wait_log("streaming from slot")
    pid = walsender_pid(db, p.name)
    assert pid
    # Far more than a pipe holds.
    sql(db, f"INSERT INTO {t} SELECT g, repeat('x', 500) FROM generate_series(1, 2000) g")
    hold_past_the_timeout(db, p, pid)

    # A stop is honoured though the output is stuck; what was not written
    # is not confirmed.
    proc = p.proc
    rc, took = sigterm(p)
    out = proc.stdout.read().decode()
    proc.stdout.close()
    assert rc in (0, 1), p.stderr()[-3000:]
    assert took < 5, f"SIGTERM took {took:.1f} s with a stuck output"
    first = {json.loads(l)["key"]["id"] for l in out.split("\n")[:-1]}
    assert len(first) < 2000

    # Nothing is lost: the rest comes after a restart.
    p.start()
    deadline = time.time() + 60
    ids = set(first)
    while time.time() < deadline and len(ids) < 2000:
        ids = first | {e["key"]["id"] for e in p.lines()}
        time.sleep(0.1)
    assert ids == set(range(1, 2001)), f"{2000 - len(ids)} event(s) lost"
