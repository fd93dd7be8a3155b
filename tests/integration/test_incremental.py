"""Incremental snapshots: tables read again while the stream runs.

pgcdc streams (snapshot.mode = no_data) and `pgcdc snapshot -c FILE TABLE`
asks it to read a table in chunks, each between watermarks, without any
write to the database. A consumer that compacts the events by key must end
with exactly the table's final state, whatever a concurrent workload did to
the rows while they were read; a pgcdc killed half way goes on after the
last chunk it recorded, and reads no finished chunk again.
"""
import random
import re
import signal
import subprocess
import threading

import psycopg

from conftest import PGCDC_BIN, dsn, sql
from test_snapshot import compact, only, topic_of, value, wait_for


def run_workload(stop, tab, n):
    """Deletes and updates many random rows of 1..n per transaction, and
    inserts one: whichever commit closes a chunk's window changes some of
    its rows, and a row deleted there and emitted anyway would stay."""
    rnd = random.Random(8)
    with psycopg.connect(dsn(), autocommit=True) as conn:
        nxt = n + 1
        while not stop.is_set():
            with conn.transaction():
                sql(conn, f"DELETE FROM {tab} WHERE id = ANY(%s)",
                    [rnd.randint(1, n) for _ in range(8)])
                sql(conn, f"UPDATE {tab} SET v = v + 1 WHERE id = ANY(%s)",
                    [rnd.randint(1, n) for _ in range(8)])
                sql(conn, f"INSERT INTO {tab} (id, v) VALUES (%s, 0)", nxt)
            nxt += 1


def request(p, *args):
    """pgcdc snapshot -c FILE ARGS..."""
    out = subprocess.run([PGCDC_BIN, "snapshot", "-c", str(p.conf_path), *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def incremental_reads(events, topic):
    return [value(e)["after"]["id"] for e in events
            if e["topic"] == topic and e.get("value") and value(e)["op"] == "r"
            and value(e)["source"]["snapshot"] == "incremental"]


def caught_up(p, tab):
    """Inserts a last row and waits for it: the stream has caught up."""
    sql_db = psycopg.connect(dsn(), autocommit=True)
    try:
        sql(sql_db, f"INSERT INTO {tab} (id, v) VALUES (-1, -1)")
    finally:
        sql_db.close()
    wait_for(lambda: any(e["topic"] == topic_of(p, tab) and e.get("value")
                         and (value(e).get("after") or {}).get("id") == -1
                         for e in p.lines()), 120, "the stream to catch up")


def assert_final_state(db, p, tab):
    evs = [e for e in p.lines() if e["topic"] == topic_of(p, tab) and e.get("value")]
    final = {r[0]: r[1] for r in sql(db, f"SELECT id, v FROM {tab}")}
    state = compact(evs)
    assert {k: v["v"] for k, v in state.items()} == final


def test_incremental_snapshot_under_a_workload_ends_in_the_final_state(db, table, pgcdc):
    n = 20000
    tab = table("id int PRIMARY KEY, v int NOT NULL, pad text")
    sql(db, f"INSERT INTO {tab} SELECT g, 0, repeat('x', 100) FROM generate_series(1, %s) g", n)
    p = pgcdc(incremental_snapshot_chunk_size="2000", **only(tab)).start()
    stop = threading.Event()
    worker = threading.Thread(target=run_workload, args=(stop, tab, n))
    worker.start()
    try:
        # Read three times over: each window closes on a commit of the
        # workload, whose change to a row of the chunk must win over it.
        for k in range(1, 3):
            request(p, f"public.{tab}")
            p.wait_log(f"incremental snapshot of 'public.{tab}' done", timeout=180, count=k)
    finally:
        stop.set()
        worker.join()
    caught_up(p, tab)
    assert_final_state(db, p, tab)
    reads = incremental_reads(p.lines(), topic_of(p, tab))
    assert len(reads) > n // 2
    chunks = len(re.findall(rf"incremental snapshot of 'public\.{tab}': chunk of", p.stderr()))
    assert chunks >= 2 * 5


def test_incremental_snapshot_killed_half_way_goes_on_after_its_last_chunk(db, table, pgcdc):
    n = 3000
    tab = table("id int PRIMARY KEY, v int NOT NULL, pad text")
    sql(db, f"INSERT INTO {tab} SELECT g, 0, repeat('x', 100) FROM generate_series(1, %s) g", n)
    p = pgcdc(incremental_snapshot_chunk_size="50", **only(tab)).start()
    request(p, f"public.{tab}")
    progress = p.dir / "offsets.incremental"

    def recorded_key():
        try:
            line = progress.read_text().strip()
        except FileNotFoundError:
            return 0
        parts = line.split("\t")
        return int(parts[1]) if len(parts) > 1 and parts[1] else 0

    wait_for(lambda: recorded_key() >= 500, 120, "some chunks recorded")
    p.stop(signal.SIGKILL)
    key = recorded_key()
    first = incremental_reads(p.lines(), topic_of(p, tab))
    assert key < n, "killed before the end"
    # Every chunk up to the recorded key was delivered before the kill.
    assert set(range(1, key + 1)) <= set(first)
    before = len(p.lines())
    p.start()
    p.wait_log(f"continues after key '{key}'")
    p.wait_log(f"incremental snapshot of 'public.{tab}' done", timeout=180)
    again = incremental_reads(p.lines()[before:], topic_of(p, tab))
    # Finished chunks are not read again: the restart reads only what lies
    # after the recorded key.
    assert again and min(again) > key
    assert set(first) | set(again) == set(range(1, n + 1))
    assert not progress.exists()
    caught_up(p, tab)
    assert_final_state(db, p, tab)


def test_pause_resume_and_stop_requests(db, table, pgcdc):
    n = 2000
    tab = table("id int PRIMARY KEY, v int NOT NULL")
    sql(db, f"INSERT INTO {tab} SELECT g, 0 FROM generate_series(1, %s) g", n)
    p = pgcdc(incremental_snapshot_chunk_size="10", **only(tab)).start()
    # Queued and paused in one request: nothing is read until resumed.
    request(p, "pause-snapshot", f"public.{tab}")
    p.wait_log("incremental snapshot: paused")
    p.wait_log(f"incremental snapshot of 'public.{tab}' requested")
    sql(db, f"INSERT INTO {tab} (id, v) VALUES (-2, -2)")
    wait_for(lambda: any((value(e).get("after") or {}).get("id") == -2
                         for e in p.lines() if e.get("value")), 60, "a streamed row")
    assert incremental_reads(p.lines(), topic_of(p, tab)) == []
    request(p, "resume-snapshot")
    wait_for(lambda: len(incremental_reads(p.lines(), topic_of(p, tab))) >= 100, 60,
             "reads after the resume")
    request(p, "stop-snapshot")
    p.wait_log("incremental snapshot: stop requested")
    count = len(incremental_reads(p.lines(), topic_of(p, tab)))
    # The chunk under way may finish; nothing after it is read.
    sql(db, f"INSERT INTO {tab} (id, v) VALUES (-3, -3)")
    wait_for(lambda: any((value(e).get("after") or {}).get("id") == -3
                         for e in p.lines() if e.get("value")), 60, "a streamed row")
    stopped = len(incremental_reads(p.lines(), topic_of(p, tab)))
    assert stopped < n
    assert stopped - count <= 10
    assert not (p.dir / "offsets.incremental").exists()
