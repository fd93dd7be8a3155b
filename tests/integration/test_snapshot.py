"""Snapshots: snapshot.mode, consistency with the stream, chunks and threads.

Every test reads pgcdc's stdout sink (JSON lines) and checks what a consumer
would see: the rows already in the tables as op = r events marked in
source.snapshot as Debezium marks them, then the stream, with no gap and no
overlap between the two.
"""
import os
import pty
import re
import select
import subprocess
import threading
import time

import psycopg

from conftest import PGCDC_BIN, dsn, sql


def topic_of(p, table, schema="public"):
    return f"{p.name}.{schema}.{table}"


def value(e):
    return e["value"]


def ops(events):
    return [value(e)["op"] for e in events if e.get("value")]


def snapshot_events(events):
    return [e for e in events if e.get("value") and value(e)["op"] == "r"]


def compact(events, ident="id"):
    """The table a consumer rebuilds from the events, by the ident column."""
    state = {}
    for e in events:
        v = e.get("value")
        if v is None:
            continue
        if v["op"] in ("r", "c", "u"):
            if v["op"] == "u" and v.get("before"):
                state.pop(v["before"][ident], None)
            state[v["after"][ident]] = v["after"]
        elif v["op"] == "d":
            state.pop(v["before"][ident], None)
    return state


def only(*tables):
    """table.include.list naming just these tables of schema public (the
    database holds other tests' tables, and extensions' ones)."""
    return {"table.include.list": "|".join(rf"public\.{t}" for t in tables)}


def wait_for(pred, timeout=60, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def slot_exists(db, name):
    return bool(sql(db, "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", name))


def test_initial_snapshot_then_stream(db, table, pgcdc):
    t = table("id int PRIMARY KEY, name text")
    u = table("id int PRIMARY KEY, qty int")
    sql(db, f"INSERT INTO {t} SELECT g, 'n' || g FROM generate_series(1, 20) g")
    sql(db, f"INSERT INTO {u} SELECT g, g FROM generate_series(1, 5) g")
    p = pgcdc(snapshot_mode="initial", **only(t, u)).start()
    ev = p.events(25)
    snap = snapshot_events(ev)
    assert len(snap) == 25
    marks = [value(e)["source"]["snapshot"] for e in snap]
    assert marks[0] == "first" and marks[-1] == "last"
    for tab, n in ((t, 20), (u, 5)):
        rows = [e for e in snap if e["topic"] == topic_of(p, tab)]
        assert sorted(value(e)["after"]["id"] for e in rows) == list(range(1, n + 1))
        inner = [value(e)["source"]["snapshot"] for e in rows]
        # Each table's first and last rows are marked (unless they are the
        # snapshot's first or last), every other one is "true".
        assert inner[0] in ("first", "first_in_data_collection")
        assert inner[-1] in ("last", "last_in_data_collection")
        assert set(inner[1:-1]) <= {"true"}
    # source.lsn of every snapshot read is the slot's consistent point.
    created = re.search(r"created replication slot '\w+' at ([0-9A-F]+/[0-9A-F]+)", p.stderr())
    assert created
    hi, lo = created.group(1).split("/")
    assert {value(e)["source"]["lsn"] for e in snap} == {(int(hi, 16) << 32) | int(lo, 16)}
    assert all(e["key"] == {"id": value(e)["after"]["id"]} for e in snap)
    # Each table's end is logged with its row count.
    assert f"snapshot: table 'public.{t}': 20 row(s) in" in p.stderr()
    assert f"snapshot: table 'public.{u}': 5 row(s) in" in p.stderr()
    sql(db, f"INSERT INTO {t} VALUES (21, 'new')")
    ev = p.events(26)
    assert ops(ev)[-1] == "c" and value(ev[-1])["after"]["id"] == 21
    assert value(ev[-1])["source"]["snapshot"] == "false"
    assert p.stop() == 0
    # Restarted with a stored position: no second snapshot.
    sql(db, f"INSERT INTO {t} VALUES (22, 'again')")
    p.start()
    ev = p.events(27)
    assert len(snapshot_events(ev)) == 25
    assert value(ev[-1])["after"]["id"] == 22


def run_workload(stop, tables, first_new):
    """Updates, deletes and inserts into every table until stop is set."""
    with psycopg.connect(dsn(), autocommit=True) as conn:
        i = 0
        nxt = first_new
        while not stop.is_set():
            for tab in tables:
                with conn.transaction():
                    sql(conn, f"UPDATE {tab} SET v = v + 1 WHERE id = %s", (i * 7) % first_new + 1)
                    sql(conn, f"DELETE FROM {tab} WHERE id = %s", (i * 13 + 5) % first_new + 1)
                    sql(conn, f"INSERT INTO {tab} (id, v) VALUES (%s, 0)", nxt)
            nxt += 1
            i += 1


def test_snapshot_under_concurrent_writes_matches_final_state(db, table, pgcdc):
    n = 4000
    keyed = table("id int PRIMARY KEY, v int NOT NULL, pad text")
    keyless = table("id int NOT NULL, v int NOT NULL, pad text")
    sql(db, f"ALTER TABLE {keyless} REPLICA IDENTITY FULL")
    for tab in (keyed, keyless):
        sql(db, f"INSERT INTO {tab} SELECT g, 0, repeat('x', 200) FROM generate_series(1, %s) g",
            n)
        sql(db, f"ANALYZE {tab}")
    stop = threading.Event()
    worker = threading.Thread(target=run_workload, args=(stop, [keyed, keyless], n + 1))
    worker.start()
    try:
        p = pgcdc(snapshot_mode="initial", snapshot_max_threads="2", **only(keyed, keyless),
                  snapshot_chunk_rows="500").start(wait_streaming=False)
        p.wait_log("streaming from slot", timeout=120)
        time.sleep(1)
    finally:
        stop.set()
        worker.join()
    chunks = int(re.search(r"in (\d+) chunk\(s\) on 2 connection", p.stderr()).group(1))
    assert chunks >= 4
    # A last change after the workload tells when the stream has caught up.
    sql(db, f"INSERT INTO {keyed} (id, v) VALUES (-1, -1)")
    sql(db, f"INSERT INTO {keyless} (id, v) VALUES (-1, -1)")

    def caught_up():
        got = {e["topic"] for e in p.lines()
               if e.get("value") and (value(e).get("after") or {}).get("id") == -1}
        return got == {topic_of(p, keyed), topic_of(p, keyless)}

    wait_for(caught_up, 120, "the stream to catch up")
    events = p.lines()
    for tab in (keyed, keyless):
        evs = [e for e in events if e["topic"] == topic_of(p, tab) and e.get("value")]
        final = {r[0]: r[1] for r in sql(db, f"SELECT id, v FROM {tab}")}
        state = compact(evs)
        assert {k: v["v"] for k, v in state.items()} == final, tab
        # Nothing doubled: a row is read by the snapshot at most once, and a
        # row the stream inserted was not also read by the snapshot.
        read = [value(e)["after"]["id"] for e in evs if value(e)["op"] == "r"]
        assert len(read) == len(set(read))
        created = {value(e)["after"]["id"] for e in evs if value(e)["op"] == "c"}
        assert not created & set(read)
        # The snapshot's rows all come before the stream's events.
        first_stream = min(i for i, e in enumerate(evs) if value(e)["op"] != "r")
        assert all(value(e)["op"] != "r" for e in evs[first_stream:])


def test_no_data_and_never_stream_only(db, table, pgcdc):
    for mode in ("no_data", "never"):
        t = table("id int PRIMARY KEY")
        sql(db, f"INSERT INTO {t} SELECT generate_series(1, 10)")
        p = pgcdc(snapshot_mode=mode, **only(t)).start()
        sql(db, f"INSERT INTO {t} VALUES (11)")
        ev = p.events(1)
        assert ops(ev) == ["c"] and value(ev[0])["after"]["id"] == 11
        assert "snapshot of" not in p.stderr()
        p.stop()


def test_initial_only_snapshots_then_stops(db, table, pgcdc):
    t = table("id int PRIMARY KEY")
    sql(db, f"INSERT INTO {t} SELECT generate_series(1, 30)")
    p = pgcdc(snapshot_mode="initial_only", **only(t)).start(wait_streaming=False)
    assert p.proc.wait(60) == 0
    p.proc = None
    ev = p.lines()
    assert ops(ev) == ["r"] * 30
    assert "not streaming" in p.stderr()
    assert not slot_exists(db, p.name)
    # Done once: the next start reads nothing.
    sql(db, f"INSERT INTO {t} VALUES (31)")
    p.start(wait_streaming=False)
    assert p.proc.wait(60) == 0
    p.proc = None
    assert len(p.lines()) == 30
    assert "nothing to do" in p.stderr()


def test_when_needed_snapshots_again_once_the_slot_is_gone(db, table, pgcdc):
    t = table("id int PRIMARY KEY")
    sql(db, f"INSERT INTO {t} SELECT generate_series(1, 10)")
    p = pgcdc(snapshot_mode="when_needed", **only(t)).start()
    assert len(snapshot_events(p.events(10))) == 10
    assert p.stop() == 0
    # The stored position can be resumed: no second snapshot.
    sql(db, f"INSERT INTO {t} VALUES (11)")
    p.start()
    ev = p.events(11)
    assert ops(ev[10:]) == ["c"]
    assert p.stop() == 0
    # The slot is gone: the position cannot be resumed, so snapshot again.
    # (The walsender of the stopped pgcdc may hold it for a moment.)
    def dropped():
        try:
            sql(db, "SELECT pg_drop_replication_slot(%s)", p.name)
            return True
        except psycopg.errors.ObjectInUse:
            return False

    wait_for(dropped, 30, "the slot to be dropped")
    sql(db, f"INSERT INTO {t} VALUES (12)")
    p.start()
    ev = p.events(23)
    assert sorted(value(e)["after"]["id"] for e in snapshot_events(ev[11:])) == list(range(1, 13))
    assert "snapshot.mode when_needed" in p.stderr()
    sql(db, f"INSERT INTO {t} VALUES (13)")
    ev = p.events(24)
    assert ops(ev[23:]) == ["c"]


def test_always_snapshots_at_every_start_without_doubles(db, table, pgcdc):
    t = table("id int PRIMARY KEY, v int")
    sql(db, f"INSERT INTO {t} SELECT g, 0 FROM generate_series(1, 10) g")
    p = pgcdc(snapshot_mode="always", **only(t)).start()
    assert len(snapshot_events(p.events(10))) == 10
    assert p.stop() == 0
    # Changes while pgcdc is stopped are in the next snapshot; the stream,
    # resumed from the stored position, does not send them again.
    sql(db, f"UPDATE {t} SET v = 1 WHERE id = 3")
    sql(db, f"INSERT INTO {t} VALUES (11, 0)")
    p.start()
    ev = p.events(21)
    second = ev[10:]
    assert ops(second) == ["r"] * 11
    assert {value(e)["after"]["id"]: value(e)["after"]["v"] for e in second}[3] == 1
    sql(db, f"INSERT INTO {t} VALUES (12, 0)")
    ev = p.events(22)
    assert ops(ev[21:]) == ["c"] and value(ev[21])["after"]["id"] == 12
    time.sleep(1)
    assert len(p.lines()) == 22


def test_include_list_and_select_override(db, table, pgcdc):
    t = table("id int PRIMARY KEY, name text")
    other = table("id int PRIMARY KEY")
    sql(db, f"INSERT INTO {t} SELECT g, 'n' || g FROM generate_series(1, 10) g")
    sql(db, f"INSERT INTO {other} SELECT generate_series(1, 10)")
    p = pgcdc(**only(t, other))
    p.cfg.update({"snapshot.mode": "initial",
                  "snapshot.include.collection.list": rf"public\.{t}",
                  "snapshot.select.statement.overrides": f"public.{t}",
                  f"snapshot.select.statement.overrides.public.{t}":
                      f"SELECT * FROM public.{t} WHERE id > 5"})
    p.start()
    ev = p.events(5)
    assert [e["topic"] for e in ev] == [topic_of(p, t)] * 5
    assert sorted(value(e)["after"]["id"] for e in ev) == [6, 7, 8, 9, 10]
    assert value(ev[0])["after"]["name"] == "n" + str(value(ev[0])["after"]["id"])
    # The table left out of the snapshot is still streamed.
    sql(db, f"INSERT INTO {other} VALUES (11)")
    ev = p.events(6)
    assert ev[5]["topic"] == topic_of(p, other) and ops(ev[5:]) == ["c"]


def test_partitioned_table_through_its_root(db, table, pgcdc):
    root = "part_" + str(int(time.time() * 1000) % 100000000)
    sql(db, f"CREATE TABLE {root} (id int PRIMARY KEY, v text) PARTITION BY RANGE (id)")
    try:
        sql(db, f"CREATE TABLE {root}_a PARTITION OF {root} FOR VALUES FROM (1) TO (1000)")
        sql(db, f"CREATE TABLE {root}_b PARTITION OF {root} FOR VALUES FROM (1000) TO (3000)")
        sql(db, f"INSERT INTO {root} SELECT g, 'v' || g FROM generate_series(1, 2500) g")
        p = pgcdc(**{"snapshot.mode": "initial", "snapshot.max.threads": "2",
                     "snapshot.chunk.rows": "400",
                     "publication.autocreate.mode": "disabled"})
        sql(db, f'CREATE PUBLICATION "{p.name}" FOR TABLE {root} '
                "WITH (publish_via_partition_root = true)")
        p.start(wait_streaming=False)
        p.wait_log("streaming from slot", timeout=60)
        ev = p.events(2500)
        assert {e["topic"] for e in ev} == {topic_of(p, root)}
        assert sorted(value(e)["after"]["id"] for e in ev) == list(range(1, 2501))
        assert re.search(r"in ([2-9]|\d\d+) chunk\(s\)", p.stderr())
        sql(db, f"INSERT INTO {root} VALUES (2501, 'new')")
        ev = p.events(2501)
        assert ev[-1]["topic"] == topic_of(p, root) and ops(ev[-1:]) == ["c"]
    finally:
        sql(db, f"DROP TABLE IF EXISTS {root}")


def test_two_threads_share_one_table(db, table, pgcdc):
    t = table("id bigint PRIMARY KEY, pad text")
    sql(db, f"INSERT INTO {t} SELECT g, repeat('p', 100) FROM generate_series(1, 6000) g")
    p = pgcdc(**{"snapshot.mode": "initial", "snapshot.max.threads": "2",
                 "snapshot.chunk.rows": "500"}, **only(t)).start(wait_streaming=False)
    p.wait_log("streaming from slot", timeout=120)
    ev = p.events(6000)
    ids = [value(e)["after"]["id"] for e in ev]
    assert sorted(ids) == list(range(1, 6001))
    # Both connections read chunks of the one table.
    read = [int(n) for n in re.findall(r"snapshot connection \d+ read (\d+) chunk", p.stderr())]
    assert len(read) == 2 and all(n > 0 for n in read) and sum(read) >= 12


def test_interrupted_snapshot_starts_again_from_scratch(db, table, pgcdc):
    t = table("id int PRIMARY KEY, pad text")
    slow = "slow_" + t
    sql(db, f"CREATE FUNCTION {slow}() RETURNS bool LANGUAGE plpgsql VOLATILE AS "
            "$$BEGIN PERFORM pg_sleep(0.01); RETURN true; END$$")
    try:
        # Wide rows: the server sends a COPY's rows in 8 kB messages.
        sql(db, f"INSERT INTO {t} SELECT g, repeat('p', 200) FROM generate_series(1, 1000) g")
        p = pgcdc(**only(t))
        p.cfg.update({"snapshot.mode": "initial",
                      "snapshot.select.statement.overrides": f"public.{t}",
                      f"snapshot.select.statement.overrides.public.{t}":
                          f"SELECT * FROM public.{t} WHERE {slow}()"})
        p.start(wait_streaming=False)
        p.events(5, timeout=60)
        # Every few seconds the log says how far the table is.
        p.wait_log(f"snapshot: table 'public.{t}': ", timeout=60)
        assert re.search(rf"snapshot: table 'public\.{t}': \d+ row\(s\), \d+ row\(s\)/s",
                         p.stderr())
        assert p.stop() == 0
        assert "snapshot was interrupted" in p.stderr()
        first = len(p.lines())
        assert first < 1000
        assert not (p.dir / "offsets").exists() or (p.dir / "offsets").read_text() == ""
        del p.cfg["snapshot.select.statement.overrides"]
        del p.cfg[f"snapshot.select.statement.overrides.public.{t}"]
        p.start(wait_streaming=False)
        p.wait_log("streaming from slot", timeout=60)
        assert "starts again from scratch" in p.stderr()
        ev = p.events(first + 1000)
        assert sorted(value(e)["after"]["id"] for e in ev[first:]) == list(range(1, 1001))
    finally:
        sql(db, f"DROP FUNCTION IF EXISTS {slow}()")


def test_progress_on_a_terminal(db, table, pgcdc):
    t = table("id int PRIMARY KEY, pad text")
    sql(db, f"INSERT INTO {t} SELECT g, repeat('p', 100) FROM generate_series(1, 3000) g")
    p = pgcdc(snapshot_mode="initial_only", **only(t))
    p.write_config()
    master, slave = pty.openpty()
    out = open(p.out_path, "ab")
    proc = subprocess.Popen([PGCDC_BIN, "run", "-c", str(p.conf_path)], stdout=out,
                            stderr=slave)
    os.close(slave)
    out.close()
    seen = b""
    deadline = time.time() + 60
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(60) == 0
    # A status line, redrawn in place, says how far the snapshot is.
    assert b"\r\x1b[Ksnapshot: 0 of 1 table(s) done" in seen or b"\x1b[Ksnapshot: " in seen
    assert re.search(rb"\x1b\[Ksnapshot: \d+ of 1 table\(s\) done, \d+ of about \d+ row", seen)
    assert b"snapshot done: 3000 row(s) delivered" in seen


def test_snapshot_into_kafka_as_avro(db, table, pgcdc):
    """Through the schema registry and topic creation, whose waits hold a
    snapshot row as they hold a streamed one."""
    from kafka_util import BOOTSTRAP, REGISTRY, consume

    t = table("id bigint PRIMARY KEY, amount numeric(10,2), at timestamptz, tags text[]")
    u = table("id int PRIMARY KEY, name text")
    sql(db, f"INSERT INTO {t} SELECT g, g / 100.0, '2026-01-01'::timestamptz + g * "
            "interval '1 minute', ARRAY['a', g::text] FROM generate_series(1, 3000) g")
    sql(db, f"INSERT INTO {u} SELECT g, 'n' || g FROM generate_series(1, 10) g")
    p = pgcdc(**only(t, u))
    p.cfg.update({"snapshot.mode": "initial", "snapshot.max.threads": "2",
                  "snapshot.chunk.rows": "500", "sink": "kafka", "format": "avro",
                  "schema.registry.url": REGISTRY, "kafka.bootstrap.servers": BOOTSTRAP,
                  "max.queue.size": "100"})
    p.start(wait_streaming=False)
    p.wait_log("streaming from slot", timeout=120)
    sql(db, f"INSERT INTO {t} VALUES (3001, 1.5, now(), '{{}}')")
    recs = consume(topic_of(p, t), 3001, timeout=120)
    vals = [r["value"] for r in recs]
    assert sorted(v["after"]["id"] for v in vals if v["op"] == "r") == list(range(1, 3001))
    assert [v["op"] for v in vals if v["op"] != "r"] == ["c"]
    by_id = {v["after"]["id"]: v for v in vals}
    assert by_id[150]["after"]["tags"] == ["a", "150"]
    assert by_id[150]["source"]["snapshot"] in ("true", "first", "first_in_data_collection",
                                               "last_in_data_collection", "last")
    # The Debezium markers: one first and one last over the whole snapshot.
    other = [r["value"] for r in consume(topic_of(p, u), 10, timeout=60)]
    marks = [v["source"]["snapshot"] for v in vals + other if v["op"] == "r"]
    assert marks.count("first") == 1 and marks.count("last") == 1
    assert marks.count("last_in_data_collection") == 1
    assert all(r["key"] == {"id": r["value"]["after"]["id"]} for r in recs)


def test_interrupted_snapshot_records_its_delivered_chunks(db, table, pgcdc):
    """A table whose read waits for an advisory lock another session holds
    keeps its COPY back while the other table's chunks are delivered and
    recorded; a stop then leaves the record, which the next start reports
    before it reads everything again."""
    a = table("id int PRIMARY KEY, pad text", name="snap_a_" + str(os.getpid()))
    b = table("id int PRIMARY KEY", name="snap_b_" + str(os.getpid()))
    key = 424200 + os.getpid() % 1000
    sql(db, f"INSERT INTO {a} SELECT g, repeat('a', 50) FROM generate_series(1, 4000) g")
    sql(db, f"INSERT INTO {b} SELECT generate_series(1, 10)")
    sql(db, f"ANALYZE {a}")
    p = pgcdc(**only(a, b))
    wait = (f"SELECT * FROM public.{b} WHERE (SELECT count(*) FROM "
            f"(SELECT pg_advisory_lock_shared({key})) l) = 1")
    p.cfg.update({"snapshot.mode": "initial", "snapshot.chunk.rows": "500",
                  "offset.flush.interval.ms": "100",
                  "snapshot.select.statement.overrides": f"public.{b}",
                  f"snapshot.select.statement.overrides.public.{b}": wait})
    record = p.dir / "offsets.snapshot"
    with psycopg.connect(dsn(), autocommit=True) as locker:
        sql(locker, "SELECT pg_advisory_lock(%s)", key)
        p.start(wait_streaming=False)
        p.wait_log("snapshot of 2 table(s) in 9 chunk(s)", timeout=60)
        p.wait_log(f"snapshot: table 'public.{a}': 4000 row(s) in", timeout=60)
        # 7 of the first table's 8 chunks: its last row, held back until it
        # is known whether it is the snapshot's last ("last") or only its
        # table's, keeps the last chunk open.
        wait_for(lambda: record.exists() and record.read_text().count("\nchunk ") == 7, 60,
                 "the first table's chunks to be recorded")
        assert p.stop() == 0
        text = record.read_text()
        assert text.startswith(f"pgcdc-snapshot-progress 1\nslot {p.name}\n")
        assert "\nchunks 9\n" in text
        assert "7 delivered" in p.stderr()
        sql(locker, "SELECT pg_advisory_unlock(%s)", key)
    first = len(p.lines())
    assert first == 3999
    p.start(wait_streaming=False)
    p.wait_log("streaming from slot", timeout=60)
    assert "had delivered 7 of 9 chunk(s)" in p.stderr()
    ev = p.events(first + 4010)
    assert len(snapshot_events(ev[first:])) == 4010
    assert not record.exists()


def test_when_needed_snapshots_again_after_the_slot_was_invalidated(db, table, pgcdc):
    t = table("id int PRIMARY KEY")
    sql(db, f"INSERT INTO {t} SELECT generate_series(1, 5)")
    p = pgcdc(snapshot_mode="when_needed", **only(t)).start()
    assert len(snapshot_events(p.events(5))) == 5
    assert p.stop() == 0
    try:
        # Let the server drop the WAL the stopped slot still needs.
        sql(db, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'")
        sql(db, "SELECT pg_reload_conf()")
        deadline = time.time() + 30
        while time.time() < deadline and sql(
                db, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = %s",
                p.name) != [("lost",)]:
            sql(db, f"INSERT INTO {t} VALUES (6) ON CONFLICT DO NOTHING")
            sql(db, "SELECT pg_switch_wal()")
            sql(db, "CHECKPOINT")
    finally:
        sql(db, "ALTER SYSTEM RESET max_slot_wal_keep_size")
        sql(db, "SELECT pg_reload_conf()")
    assert sql(db, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = %s",
               p.name) == [("lost",)]
    p.start(wait_streaming=False)
    p.wait_log("streaming from slot", timeout=60, count=2)
    assert "was invalidated" in p.stderr() and "snapshot.mode when_needed" in p.stderr()
    ev = p.events(11)
    assert sorted(value(e)["after"]["id"] for e in snapshot_events(ev[5:])) == list(range(1, 7))
    assert sql(db, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = %s",
               p.name) != [("lost",)]
    sql(db, f"INSERT INTO {t} VALUES (7)")
    ev = p.events(12)
    assert ops(ev[11:]) == ["c"]
