"""The HTTP endpoint of metrics.listen: /metrics scraped during a load and
checked against the database, the slot's retained WAL while pgcdc is stopped
and after it catches up, and /healthz and /readyz through a broker outage."""
import re
import socket
import subprocess
import threading
import time

import psycopg
import requests

from conftest import dsn, sql
from kafka_util import BOOTSTRAP, REGISTRY, consume, count_records

HARNESS = __import__("pathlib").Path(__file__).resolve().parents[1] / "harness"

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse(text):
    """The exposition text as {(name, ((label, value), ...)): float}, after
    checking that every sample's family has HELP and TYPE lines first."""
    samples, typed, helped = {}, set(), set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split()[2])
            continue
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.groups()
        family = re.sub(r'_(bucket|sum|count)$', "", name) if name not in typed else name
        assert family in typed and family in helped, f"{name} has no HELP/TYPE before it"
        key = tuple(sorted((k, unescape(v)) for k, v in LABEL.findall(labels or "")))
        samples[(name, key)] = float(value)
    return samples


def scrape(port):
    r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(r.text)


def value(m, name, **labels):
    return m.get((name, tuple(sorted(labels.items()))))


def wait_metrics(port, cond, what, timeout=90, every=None):
    deadline = time.time() + timeout
    m = None
    while time.time() < deadline:
        if every:
            every()
        m = scrape(port)
        if cond(m):
            return m
        time.sleep(0.5)
    raise AssertionError(f"metrics never showed {what}: {m}")


def test_events_by_table_and_op_match_the_rows_changed(db, pgcdc, table):
    t1 = table("id int PRIMARY KEY, v text")
    t2 = table("id int PRIMARY KEY, v text")
    port = free_port()
    p = pgcdc(metrics_listen=f"127.0.0.1:{port}",
              table_include_list=f"public\\.({t1}|{t2})").start()
    expect = {}
    done = threading.Event()

    def changed(t, op, n):
        expect[(t, op)] = expect.get((t, op), 0) + n

    def load():
        try:
            run_load()
        finally:
            done.set()

    def run_load():
        with psycopg.connect(dsn(), autocommit=True) as conn:
            for i in range(20):
                with conn.cursor() as cur:
                    cur.execute(f"INSERT INTO {t1} SELECT g, 'a' FROM generate_series(%s::int, %s::int) g",
                                (i * 100, i * 100 + 49))
                    changed(t1, "c", cur.rowcount)
                    cur.execute(f"INSERT INTO {t2} SELECT g, 'b' FROM generate_series(%s::int, %s::int) g",
                                (i * 100, i * 100 + 29))
                    changed(t2, "c", cur.rowcount)
                    cur.execute(f"UPDATE {t1} SET v = 'u' WHERE id % 7 = 0 AND v = 'a'")
                    changed(t1, "u", cur.rowcount)
                    cur.execute(f"DELETE FROM {t2} WHERE id % 3 = 0")
                    changed(t2, "d", cur.rowcount)

    th = threading.Thread(target=load)
    th.start()
    last = {}
    try:
        # Scraped during the load: counters never go back.
        while not done.is_set():
            m = scrape(port)
            for k, v in m.items():
                if k[0].endswith("_total") and k in last:
                    assert v >= last[k], f"{k} went from {last[k]} to {v}"
            last = m
            time.sleep(0.2)
    finally:
        th.join()
    rows = sum(expect.values())
    deletes = sum(n for (_, op), n in expect.items() if op == "d")
    m = wait_metrics(port, lambda m: value(m, "pgcdc_produced_events_total") == rows + deletes,
                     f"{rows} events and {deletes} tombstones")
    for (t, op), n in expect.items():
        assert value(m, "pgcdc_events_total", schema="public", table=t, op=op) == n, (t, op)
    counted = {(dict(k[1])["table"], dict(k[1])["op"]): v for k, v in m.items()
               if k[0] == "pgcdc_events_total"}
    assert counted == expect
    # The database agrees with what the counts add up to.
    left = sql(db, f"SELECT count(*) FROM {t2}")[0][0]
    assert expect[(t2, "c")] - expect[(t2, "d")] == left
    # every event is acknowledged, and its lag observed
    m = wait_metrics(port, lambda m: value(m, "pgcdc_commit_to_ack_lag_seconds_count") ==
                     rows + deletes, "the lag of every event")
    assert value(m, "pgcdc_commit_to_ack_lag_seconds_bucket", le="+Inf") == rows + deletes
    assert value(m, "pgcdc_transactions_total") >= 20
    assert value(m, "pgcdc_produced_bytes_total") > 0
    assert value(m, "pgcdc_sink_in_flight_events") == 0
    assert value(m, "pgcdc_up") == 1 and value(m, "pgcdc_ready") == 1
    # The confirmed position is the slot's, once both are read at rest.
    def same_lsn(m):
        confirmed = sql(db, "SELECT (confirmed_flush_lsn - '0/0')::bigint FROM "
                        "pg_replication_slots WHERE slot_name = %s", p.name)[0][0]
        return value(m, "pgcdc_confirmed_lsn") == confirmed and \
            value(m, "pgcdc_stored_lsn") >= confirmed
    wait_metrics(port, same_lsn, "the slot's confirmed_flush_lsn")
    assert p.stop() == 0


def retained_in_db(db, slot):
    return sql(db, "SELECT (pg_current_wal_lsn() - restart_lsn)::bigint, wal_status "
               "FROM pg_replication_slots WHERE slot_name = %s", slot)[0]


def test_retained_wal_grows_while_stopped_and_shrinks_after_catch_up(db, pgcdc, table):
    t = table("id int PRIMARY KEY, v text")
    port = free_port()
    p = pgcdc(metrics_listen=f"127.0.0.1:{port}", table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (0, 'x')")
    p.events(1)
    m = wait_metrics(port, lambda m: value(m, "pgcdc_slot_read_timestamp_seconds") > 0,
                     "the slot read")
    before = value(m, "pgcdc_slot_retained_wal_bytes")
    assert 0 <= before < 16 << 20
    assert value(m, "pgcdc_slot_wal_status", slot=p.name, status="reserved") == 1
    assert value(m, "pgcdc_slot_active") == 1
    assert p.stop() == 0
    sql(db, f"INSERT INTO {t} SELECT g, repeat('x', 1000) FROM generate_series(1, 20000) g")
    grown, _ = retained_in_db(db, p.name)
    assert grown > before + (16 << 20)
    restarted = time.time()
    p.start(wait_streaming=False)
    p.wait_log("streaming from slot", count=2)
    # The first read after the restart shows what the stop held back.
    m = wait_metrics(port, lambda m: value(m, "pgcdc_slot_read_timestamp_seconds") > restarted,
                     "a slot read after the restart")
    assert value(m, "pgcdc_slot_retained_wal_bytes") >= grown - (1 << 20)
    p.events(20001, timeout=120)
    # Caught up, the slot lets go of the WAL (a checkpoint logs the running
    # transactions that let the server move the slot's restart_lsn).
    m = wait_metrics(port, lambda m: 0 <= value(m, "pgcdc_slot_retained_wal_bytes") < grown / 4,
                     "the retained WAL shrink", timeout=180,
                     every=lambda: sql(db, "CHECKPOINT"))
    assert retained_in_db(db, p.name)[0] < grown
    assert p.stop() == 0


def readyz(port):
    r = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    return r.status_code, r.text


def healthz(port):
    return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code


def test_health_endpoints_through_a_broker_outage(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    port = free_port()
    p = pgcdc(metrics_listen=f"127.0.0.1:{port}", table_include_list=f"public\\.{t}",
              sink="kafka", format="avro", schema_registry_url=REGISTRY,
              kafka_bootstrap_servers=BOOTSTRAP).start()
    topic = f"{p.name}.public.{t}"
    sql(db, f"INSERT INTO {t} VALUES (0)")
    consume(topic, 1)
    assert healthz(port) == 200
    assert readyz(port) == (200, "ready\n")
    subprocess.run([str(HARNESS / "kafka-stop")], check=True)
    n = 1
    try:
        # status.interval.ms is 200: stuck after 30 intervals without progress
        deadline = time.time() + 120
        while time.time() < deadline:
            sql(db, f"INSERT INTO {t} VALUES ({n})")
            n += 1
            assert healthz(port) == 200, "the loop stopped answering during the outage"
            status, text = readyz(port)
            if status == 503:
                break
            time.sleep(0.5)
        assert status == 503, text
        assert text.startswith("stuck: the confirmed position"), text
        m = scrape(port)
        assert value(m, "pgcdc_ready") == 0
        assert value(m, "pgcdc_sink_in_flight_events") > 0
        assert p.proc.poll() is None
    finally:
        subprocess.run([str(HARNESS / "kafka-start")], check=True)
    deadline = time.time() + 180
    while time.time() < deadline and readyz(port)[0] != 200:
        time.sleep(0.5)
    assert readyz(port) == (200, "ready\n")
    assert healthz(port) == 200
    deadline = time.time() + 60
    while time.time() < deadline and count_records(topic) < n:
        time.sleep(1)
    assert sorted(r["key"]["id"] for r in consume(topic, n)) == list(range(n))
    assert p.stop() == 0
