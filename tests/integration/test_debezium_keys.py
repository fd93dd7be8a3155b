"""Debezium keys users set: skipped.operations, message.prefix.include.list /
message.prefix.exclude.list, event.processing.failure.handling.mode and
errors.max.retries, against the real PostgreSQL through the stdout sink."""
import time

from conftest import by_topic, sql


def test_skipped_operations_default_skips_truncates(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    sql(db, f"TRUNCATE {t}")
    sql(db, f"INSERT INTO {t} VALUES (2)")
    ev = by_topic(p.events(2), f"{p.name}.public.{t}")
    assert [e["value"]["op"] for e in ev] == ["c", "c"]


def test_skipped_operations_updates_and_deletes(db, pgcdc, table):
    t = table("id int PRIMARY KEY, v int")
    p = pgcdc(table_include_list=f"public\\.{t}", skipped_operations="u, d").start()
    sql(db, f"INSERT INTO {t} VALUES (1, 1)")
    sql(db, f"UPDATE {t} SET v = 2")
    sql(db, f"UPDATE {t} SET id = 5")  # a key change is an update: left out whole
    sql(db, f"DELETE FROM {t}")        # with its tombstone
    sql(db, f"TRUNCATE {t}")           # not named: emitted
    sql(db, f"INSERT INTO {t} VALUES (3, 3)")
    ev = by_topic(p.events(3), f"{p.name}.public.{t}")
    assert [(e["value"]["op"] if e["value"] else None) for e in ev] == ["c", "t", "c"]


def test_skipped_operations_refuses_unknown_letters(pgcdc, tmp_path):
    p = pgcdc(skipped_operations="c,x")
    p.write_config()
    import subprocess
    from conftest import PGCDC_BIN
    r = subprocess.run([PGCDC_BIN, "config", "-c", str(p.conf_path)], capture_output=True,
                       text=True)
    assert r.returncode != 0
    assert "skipped.operations" in r.stderr and "c, u, d and t" in r.stderr


def test_message_prefix_include_and_exclude_lists(db, pgcdc, table):
    p = pgcdc(message_prefix_include_list="audit\\..*").start()
    sql(db, "SELECT pg_logical_emit_message(true, 'other', 'x')")
    sql(db, "SELECT pg_logical_emit_message(false, 'audit.login', 'y')")
    sql(db, "SELECT pg_logical_emit_message(true, 'audit', 'z')")  # matched whole: no
    sql(db, "SELECT pg_logical_emit_message(false, 'audit.logout', 'w')")
    ev = by_topic(p.events(2), f"{p.name}.message")
    time.sleep(1)
    ev = by_topic(p.lines(), f"{p.name}.message")
    assert [e["key"]["prefix"] for e in ev] == ["audit.login", "audit.logout"]


def test_message_prefix_exclude_list(db, pgcdc):
    p = pgcdc(message_prefix_exclude_list="noise.*").start()
    sql(db, "SELECT pg_logical_emit_message(false, 'noise1', 'x')")
    sql(db, "SELECT pg_logical_emit_message(false, 'kept', 'y')")
    ev = by_topic(p.events(1), f"{p.name}.message")
    assert [e["key"]["prefix"] for e in ev] == ["kept"]


def test_unrepresentable_event_fails_by_default_naming_table_key_and_lsn(db, pgcdc, table):
    t = table("id int PRIMARY KEY, n numeric")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (7, 'NaN')")
    deadline = time.time() + 30
    while p.proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert p.proc.poll() not in (None, 0)
    err = p.stderr()
    assert f"table 'public.{t}', key id=7, lsn " in err, err[-2000:]
    assert "event.processing.failure.handling.mode" in err


def test_unrepresentable_events_are_left_out_under_warn(db, pgcdc, table):
    t = table("id int PRIMARY KEY, n numeric, a int[]")
    p = pgcdc(table_include_list=f"public\\.{t}", event_processing_failure_handling_mode="warn",
              provide_transaction_metadata="true").start()
    with db.transaction():
        sql(db, f"INSERT INTO {t} VALUES (1, 1.5, '{{1}}')")
        sql(db, f"INSERT INTO {t} VALUES (2, 'NaN', '{{1}}')")          # NaN under precise
        sql(db, f"INSERT INTO {t} VALUES (3, 2, '{{{{1,2}},{{3,4}}}}')")  # two dimensions
        sql(db, f"INSERT INTO {t} VALUES (4, 3, '{{2}}')")
    ev = p.events(4)  # BEGIN, 2 rows, END
    rows = by_topic(ev, f"{p.name}.public.{t}")
    assert [e["key"]["id"] for e in rows] == [1, 4]
    end = by_topic(ev, f"{p.name}.transaction")[-1]["value"]
    assert end["status"] == "END" and end["event_count"] == 2
    assert [e["value"]["transaction"]["total_order"] for e in rows] == [1, 2]
    assert p.proc.poll() is None
    err = p.stderr()
    assert f"event left out (1 so far): table 'public.{t}', key id=2, lsn " in err
    assert f"event left out (2 so far): table 'public.{t}', key id=3, lsn " in err
    assert p.stop() == 0
    assert "2 event(s) could not be represented" in p.stderr()


def test_errors_max_retries_gives_up(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}", errors_max_retries="0").start()
    sql(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_replication "
        "WHERE application_name = %s OR pid IN (SELECT active_pid FROM pg_replication_slots "
        "WHERE slot_name = %s)", p.name, p.name)
    deadline = time.time() + 30
    while p.proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert p.proc.poll() not in (None, 0)
    assert "giving up after 0 retries (errors.max.retries = 0)" in p.stderr()


def test_slot_stream_params_messages_false(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}", slot_stream_params="messages=false").start()
    sql(db, "SELECT pg_logical_emit_message(true, 'audit', 'x')")
    sql(db, f"INSERT INTO {t} VALUES (1)")
    ev = p.events(1)
    time.sleep(1)
    assert [e["topic"] for e in p.lines()] == [f"{p.name}.public.{t}"]


def test_slot_stream_params_refuses_what_breaks_decoding(pgcdc):
    import subprocess
    from conftest import PGCDC_BIN
    p = pgcdc(slot_stream_params="messages=true; streaming=on")
    p.write_config()
    r = subprocess.run([PGCDC_BIN, "config", "-c", str(p.conf_path)], capture_output=True,
                       text=True)
    assert r.returncode != 0
    assert "slot.stream.params" in r.stderr
    assert "pgcdc decodes a transaction once it has committed" in r.stderr


def test_publication_autocreate_no_tables(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}", publication_autocreate_mode="no_tables").start()
    rows = sql(db, "SELECT count(*) FROM pg_publication_tables WHERE pubname = %s", p.name)
    assert rows[0][0] == 0
    assert sql(db, "SELECT puballtables FROM pg_publication WHERE pubname = %s",
               p.name) == [(False,)]
    sql(db, f"INSERT INTO {t} VALUES (1)")  # not published yet
    sql(db, f'ALTER PUBLICATION "{p.name}" ADD TABLE {t}')
    sql(db, f"INSERT INTO {t} VALUES (2)")
    ev = by_topic(p.events(1), f"{p.name}.public.{t}")
    assert [e["key"]["id"] for e in ev] == [2]
    assert p.stop() == 0
    # Left as its owner made it at the next start.
    p.start()
    assert sql(db, "SELECT count(*) FROM pg_publication_tables WHERE pubname = %s",
               p.name)[0][0] == 1


def test_slot_drop_on_stop(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}", slot_drop_on_stop="true").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    assert sql(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s",
               p.name)[0][0] == 1
    assert p.stop() == 0, p.stderr()[-2000:]
    assert sql(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s",
               p.name)[0][0] == 0
    assert not (p.dir / "offsets").exists()
    assert f"dropped replication slot '{p.name}'" in p.stderr()
    # The next start begins afresh on a new slot (the log holds the first
    # run's lines too: wait for the new slot to stream).
    p.start(wait_streaming=False)
    deadline = time.time() + 30
    while time.time() < deadline and not sql(
            db, "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s AND active", p.name):
        time.sleep(0.1)
    sql(db, f"INSERT INTO {t} VALUES (2)")
    ev = by_topic(p.events(2), f"{p.name}.public.{t}")
    assert [e["key"]["id"] for e in ev] == [1, 2]


def test_slot_kept_on_stop_by_default(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    assert p.stop() == 0
    assert sql(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s",
               p.name)[0][0] == 1
