"""Delivery and positions through the stdout sink against a real PostgreSQL.

A large transaction must be confirmed once it is written (the slot's
confirmed_flush_lsn moves past it, or the server keeps WAL forever), and a
clean stop in the middle of one must not send its delivered part again.
"""
import json
import os
import signal
import subprocess
import threading
import time

from conftest import PGCDC_BIN, sql


def lsn(text):
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def confirmed(db, slot):
    rows = sql(db, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots "
               "WHERE slot_name = %s", slot)
    return lsn(rows[0][0]) if rows and rows[0][0] else 0


def wait_confirmed(db, p, target, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if confirmed(db, p.name) >= target:
            return
        if p.proc and p.proc.poll() is not None:
            raise AssertionError(f"pgcdc exited {p.proc.returncode}: {p.stderr()}")
        time.sleep(0.1)
    raise AssertionError(f"slot confirmed {confirmed(db, p.name):X}, never reached {target:X}\n"
                         f"{p.stderr()[-3000:]}")


def count_lines(path):
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def test_large_transactions_through_stdout_are_confirmed(db, pgcdc, table):
    """400 events of 4 KB (the case that froze the position), then one of
    about 50 MB: after each commit the slot is confirmed past it."""
    t = table("id int PRIMARY KEY, body text")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    total = 0
    for rows, size in ((400, 4096), (6000, 8192)):
        sql(db, f"INSERT INTO {t} SELECT g, repeat(md5(g::text), {size // 32}) "
            f"FROM generate_series({total}, {total + rows - 1}) g")
        total += rows
        after = lsn(sql(db, "SELECT pg_current_wal_lsn()::text")[0][0])
        wait_confirmed(db, p, after)
    assert p.stop() == 0
    assert count_lines(p.out_path) == total
    ids = set()
    with open(p.out_path) as f:
        for line in f:
            ev = json.loads(line)
            ids.add(ev["key"]["id"])
            assert len(ev["value"]["after"]["body"]) >= 4096
    assert ids == set(range(total))


def run_piped(p):
    """Starts pgcdc with its events on a pipe that the test reads."""
    p.write_config()
    err = open(p.err_path, "ab")
    proc = subprocess.Popen([PGCDC_BIN, "run", "-c", str(p.conf_path)],
                            stdout=subprocess.PIPE, stderr=err)
    err.close()
    return proc


def test_clean_stop_inside_a_transaction_sends_nothing_twice(db, pgcdc, table):
    """SIGTERM after about a third of a 300,000-row transaction, then a
    restart: every row arrives exactly once over both runs."""
    rows = 300_000
    t = table("id int PRIMARY KEY, v text")
    p = pgcdc(table_include_list=f"public\\.{t}")
    proc = run_piped(p)
    p.proc = proc
    p.wait_log("streaming from slot")
    sql(db, f"INSERT INTO {t} SELECT g, 'row ' || g FROM generate_series(0, {rows - 1}) g")

    # pgcdc blocks writing to the pipe while the test does not read: it is
    # stopped for certain inside the transaction.
    first = []
    while len(first) < rows // 3:
        line = proc.stdout.readline()
        assert line, f"pgcdc ended early: {p.stderr()[-2000:]}"
        first.append(json.loads(line)["key"]["id"])
    proc.send_signal(signal.SIGTERM)
    # Keep reading until it exits: the stop delivers what it holds.
    for line in proc.stdout:
        first.append(json.loads(line)["key"]["id"])
    assert proc.wait(60) == 0, p.stderr()[-2000:]
    p.proc = None
    assert rows // 3 <= len(first) < rows, \
        f"the stop did not land inside the transaction ({len(first)} events)"
    assert "event(s) delivered" not in p.stderr()

    p.start()
    p.events(rows - len(first), timeout=120)
    # Once the slot is past the transaction, everything it will send is out.
    end = lsn(sql(db, "SELECT pg_current_wal_lsn()::text")[0][0])
    wait_confirmed(db, p, end)
    assert p.stop() == 0
    second = [json.loads(l)["key"]["id"] for l in open(p.out_path)]
    both = first + second
    assert len(both) == rows, f"{len(first)} + {len(second)} events for {rows} rows"
    assert sorted(both) == list(range(rows))
    assert f"its first {len(first)} event(s) were delivered before the stop" in p.stderr()


def test_clean_stop_inside_a_transaction_on_kafka_sends_nothing_twice(db, pgcdc, table):
    """The same through the Kafka sink, whose delivery reports come in any
    order across partitions: a small window and a long linger keep the
    transaction going for seconds, the stop lands inside it, and after the
    restart the topic holds every row exactly once."""
    from kafka_util import BOOTSTRAP, consume, count_records

    rows = 300_000
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}", sink="kafka", format="json",
              kafka_bootstrap_servers=BOOTSTRAP, max_queue_size="500")
    p.cfg["kafka.linger.ms"] = "50"
    p.cfg["topic.creation.default.partitions"] = "3"
    p.start()
    topic = f"{p.name}.public.{t}"
    sql(db, f"INSERT INTO {t} SELECT generate_series(0, {rows - 1})")
    deadline = time.time() + 120
    n = 0
    while time.time() < deadline:
        try:
            n = count_records(topic)
        except Exception:
            n = 0
        if n >= rows // 10:
            break
        time.sleep(0.2)
    assert p.stop() == 0, p.stderr()[-2000:]
    first = count_records(topic)
    assert rows // 10 <= first < rows, f"the stop did not land inside the transaction ({first})"

    p.start()
    deadline = time.time() + 240
    while time.time() < deadline and count_records(topic) < rows:
        time.sleep(0.5)
    end = lsn(sql(db, "SELECT pg_current_wal_lsn()::text")[0][0])
    wait_confirmed(db, p, end)
    assert p.stop() == 0
    assert count_records(topic) == rows, f"{count_records(topic)} records for {rows} rows"
    recs = consume(topic, rows, timeout=120, json_values=True)
    assert sorted(r["key"]["id"] for r in recs) == list(range(rows))


def test_dropped_connection_inside_a_transaction_sends_nothing_twice(db, pgcdc, table):
    """The replication connection is cut after about a third of a
    300,000-row transaction: pgcdc delivers what it holds, reconnects, the
    server sends the transaction again whole, and pgcdc goes on after the
    part already delivered: every row once, in one run."""
    rows = 300_000
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}", reconnect_backoff_initial_ms="100")
    proc = run_piped(p)
    p.proc = proc
    p.wait_log("streaming from slot")
    ids = []
    paused = threading.Event()
    go = threading.Event()

    def reader():
        for line in proc.stdout:
            ids.append(json.loads(line)["key"]["id"])
            if len(ids) == rows // 3:
                paused.set()
                go.wait(60)

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    sql(db, f"INSERT INTO {t} SELECT generate_series(0, {rows - 1})")
    assert paused.wait(60), p.stderr()[-2000:]
    # pgcdc is blocked writing to the pipe, inside the transaction.
    assert sql(db, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
               "WHERE slot_name = %s", p.name)[0][0]
    go.set()
    p.wait_log("reconnecting", timeout=60)
    deadline = time.time() + 120
    while len(ids) < rows and time.time() < deadline:
        time.sleep(0.1)
    end = lsn(sql(db, "SELECT pg_current_wal_lsn()::text")[0][0])
    wait_confirmed(db, p, end)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0, p.stderr()[-2000:]
    p.proc = None
    th.join(10)
    assert len(ids) == rows, f"{len(ids)} events for {rows} rows"
    assert sorted(ids) == list(range(rows))
