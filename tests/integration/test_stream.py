"""pgcdc run against a real PostgreSQL: every committed change, field by field."""
import base64
import signal
import subprocess
import time
import uuid
from decimal import Decimal

from conftest import PGCDC_BIN, by_topic, dsn, sql


def unscaled(b64, scale):
    """Debezium's Decimal: base64 of a big-endian two's-complement integer."""
    raw = base64.b64decode(b64)
    return Decimal(int.from_bytes(raw, "big", signed=True)).scaleb(-scale)


def test_insert_update_delete_field_by_field(db, pgcdc, table):
    t = table("id bigint PRIMARY KEY, name text, qty int, price numeric(12,2), "
              "flag bool, created timestamptz, note varchar(20)")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (1, 'apple', 3, 1.5, true, "
        "'2024-01-15 10:30:00.123456+00', NULL)")
    sql(db, f"UPDATE {t} SET qty = 4, price = -2.25 WHERE id = 1")
    sql(db, f"DELETE FROM {t} WHERE id = 1")
    ev = by_topic(p.events(4), f"{p.name}.public.{t}")
    assert [e["value"] and e["value"]["op"] for e in ev] == ["c", "u", "d", None]

    ins = ev[0]
    assert ins["key"] == {"id": 1}
    after = ins["value"]["after"]
    assert after["id"] == 1 and after["name"] == "apple" and after["qty"] == 3
    assert unscaled(after["price"], 2) == Decimal("1.50")
    assert after["flag"] is True
    assert after["created"] == "2024-01-15T10:30:00.123456Z"
    assert after["note"] is None
    assert ins["value"]["before"] is None
    src = ins["value"]["source"]
    assert src["connector"] == "postgresql" and src["name"] == p.name
    assert src["db"] == "pgcdc" and src["schema"] == "public" and src["table"] == t
    assert src["snapshot"] == "false" and src["txId"] > 0 and src["lsn"] > 0

    upd = ev[1]["value"]
    assert upd["before"] is None  # REPLICA IDENTITY DEFAULT sends no old row
    assert upd["after"]["qty"] == 4
    assert unscaled(upd["after"]["price"], 2) == Decimal("-2.25")
    assert upd["source"]["lsn"] > src["lsn"]

    dele = ev[2]
    assert dele["key"] == {"id": 1}
    assert dele["value"]["after"] is None
    # Only the key is known for a delete under REPLICA IDENTITY DEFAULT.
    assert dele["value"]["before"]["id"] == 1
    assert dele["value"]["before"]["name"] is None
    assert ev[3] == {"topic": f"{p.name}.public.{t}", "key": {"id": 1}, "value": None}


def test_replica_identity_full_sends_before(db, pgcdc, table):
    t = table("id int PRIMARY KEY, name text")
    sql(db, f"ALTER TABLE {t} REPLICA IDENTITY FULL")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (7, 'old')")
    sql(db, f"UPDATE {t} SET name = 'new' WHERE id = 7")
    sql(db, f"DELETE FROM {t}")
    ev = p.events(4)
    upd = ev[1]["value"]
    assert upd["op"] == "u"
    assert upd["before"] == {"id": 7, "name": "old"}
    assert upd["after"] == {"id": 7, "name": "new"}
    # The key is the primary key, not every column as the replica identity says.
    assert ev[1]["key"] == {"id": 7}
    assert ev[2]["value"]["before"] == {"id": 7, "name": "new"}
    assert ev[2]["key"] == {"id": 7}


def test_primary_key_change_is_delete_then_create(db, pgcdc, table):
    t = table("id int PRIMARY KEY, name text")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (1, 'a')")
    sql(db, f"UPDATE {t} SET id = 2 WHERE id = 1")
    ev = p.events(4)
    assert [(e["key"], e["value"] and e["value"]["op"]) for e in ev] == [
        ({"id": 1}, "c"), ({"id": 1}, "d"), ({"id": 1}, None), ({"id": 2}, "c")]
    assert ev[3]["value"]["after"] == {"id": 2, "name": "a"}


def test_truncate_and_keyless_table(db, pgcdc, table):
    keyed = table("id int PRIMARY KEY")
    keyless = table("a int, b text")
    sql(db, f"ALTER TABLE {keyless} REPLICA IDENTITY FULL")
    # Truncates are events only when skipped.operations lets them through
    # (Debezium's default skips them).
    p = pgcdc(table_include_list=f"public\\.({keyed}|{keyless})", skipped_operations="none").start()
    sql(db, f"INSERT INTO {keyless} VALUES (1, 'x')")
    sql(db, f"DELETE FROM {keyless}")
    sql(db, f"INSERT INTO {keyed} VALUES (1)")
    sql(db, f"TRUNCATE {keyed}, {keyless}")
    ev = p.events(5)
    kl = by_topic(ev, f"{p.name}.public.{keyless}")
    assert kl[0]["key"] is None and kl[0]["value"]["after"] == {"a": 1, "b": "x"}
    # No key: no tombstone after the delete.
    assert kl[1]["key"] is None and kl[1]["value"]["op"] == "d"
    assert kl[1]["value"]["before"] == {"a": 1, "b": "x"}
    truncs = [e for e in ev if e["value"] and e["value"]["op"] == "t"]
    assert sorted(e["topic"] for e in truncs) == sorted(
        [f"{p.name}.public.{keyed}", f"{p.name}.public.{keyless}"])
    for e in truncs:
        assert e["key"] is None
        assert e["value"]["before"] is None and e["value"]["after"] is None
    assert len(ev) == 5


def test_truncate_of_many_tables_in_one_statement(db, pgcdc, table):
    # More relations than the change model's first event array holds.
    prefix = "trunc_" + uuid.uuid4().hex[:6]
    names = [table("id int PRIMARY KEY", name=f"{prefix}_{i}") for i in range(7)]
    p = pgcdc(table_include_list=f"public\\.{prefix}_.*", skipped_operations="none").start()
    for n in names:
        sql(db, f"INSERT INTO {n} VALUES (1)")
    sql(db, "TRUNCATE " + ", ".join(names))
    sql(db, f"INSERT INTO {names[0]} VALUES (2)")
    ev = p.events(len(names) * 2 + 1)
    creates = [e["topic"] for e in ev[:len(names)]]
    assert creates == [f"{p.name}.public.{n}" for n in names]
    truncs = ev[len(names):2 * len(names)]
    assert sorted(e["topic"] for e in truncs) == sorted(creates)
    for e in truncs:
        assert e["key"] is None and e["value"]["op"] == "t"
    assert ev[-1]["key"] == {"id": 2} and ev[-1]["value"]["op"] == "c"
    assert len(p.lines()) == len(names) * 2 + 1


def test_filters_exclude_tables_and_columns(db, pgcdc, table):
    kept = table("id int PRIMARY KEY, secret text, visible text")
    dropped = table("id int PRIMARY KEY")
    p = pgcdc(table_exclude_list=f"public\\.{dropped}",
              column_exclude_list=f"public\\.{kept}\\.secret",
              publication_autocreate_mode="all_tables").start()
    sql(db, f"INSERT INTO {dropped} VALUES (1)")
    sql(db, f"INSERT INTO {kept} VALUES (1, 'pw', 'hello')")
    ev = [e for e in p.events(1) if e["topic"].startswith(p.name)]
    time.sleep(0.5)
    ev = [e for e in p.lines() if e["topic"] in (f"{p.name}.public.{kept}",
                                                  f"{p.name}.public.{dropped}")]
    assert len(ev) == 1
    assert ev[0]["topic"] == f"{p.name}.public.{kept}"
    assert ev[0]["value"]["after"] == {"id": 1, "visible": "hello"}


def test_filtered_publication_lists_only_included_tables(db, pgcdc, table):
    a = table("id int PRIMARY KEY")
    b = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{a}").start()
    rows = sql(db, "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s",
               p.name)
    assert rows == [("public", a)]
    sql(db, f"INSERT INTO {b} VALUES (1)")
    sql(db, f"INSERT INTO {a} VALUES (1)")
    ev = p.events(1)
    time.sleep(0.3)
    assert [e["topic"] for e in p.lines()] == [f"{p.name}.public.{a}"]


def test_nulls_unicode_and_quoted_identifiers(db, pgcdc, table):
    t = table('"Id" int PRIMARY KEY, "the value" text, "Ünï" text', name="Order Items",
              schema="weird.name")
    p = pgcdc(table_include_list="weird\\.name\\.Order Items").start()
    sql(db, 'INSERT INTO "weird.name"."Order Items" VALUES (1, NULL, %s)', "日本語 ✓ \"q\" \\ \n")
    ev = p.events(1)
    assert ev[0]["topic"] == f"{p.name}.weird.name.Order_Items"
    assert ev[0]["key"] == {"Id": 1}
    assert ev[0]["value"]["after"] == {"Id": 1, "the value": None, "Ünï": "日本語 ✓ \"q\" \\ \n"}
    assert ev[0]["value"]["source"]["schema"] == "weird.name"
    assert ev[0]["value"]["source"]["table"] == t


def test_unchanged_toast_gets_placeholder(db, pgcdc, table):
    t = table("id int PRIMARY KEY, big text, n int")
    sql(db, f"ALTER TABLE {t} ALTER COLUMN big SET STORAGE EXTERNAL")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    big = "x" * 100000
    sql(db, f"INSERT INTO {t} VALUES (1, %s, 1)", big)
    sql(db, f"UPDATE {t} SET n = 2 WHERE id = 1")
    ev = p.events(2)
    assert ev[0]["value"]["after"]["big"] == big
    assert ev[1]["value"]["after"] == {"id": 1, "big": "__debezium_unavailable_value", "n": 2}


def test_unchanged_toast_under_replica_identity_full_takes_the_old_value(db, pgcdc, table):
    t = table("id int PRIMARY KEY, big text, n int")
    sql(db, f"ALTER TABLE {t} ALTER COLUMN big SET STORAGE EXTERNAL")
    sql(db, f"ALTER TABLE {t} REPLICA IDENTITY FULL")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    big = "y" * 50000
    sql(db, f"INSERT INTO {t} VALUES (1, %s, 1)", big)
    sql(db, f"UPDATE {t} SET n = 2 WHERE id = 1")
    ev = p.events(2)
    assert ev[1]["value"]["before"] == {"id": 1, "big": big, "n": 1}
    assert ev[1]["value"]["after"] == {"id": 1, "big": big, "n": 2}


def test_alter_table_add_column_mid_stream(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    sql(db, f"ALTER TABLE {t} ADD COLUMN extra text DEFAULT 'd'")
    sql(db, f"INSERT INTO {t} VALUES (2, 'e')")
    ev = p.events(2)
    assert ev[0]["value"]["after"] == {"id": 1}
    assert ev[1]["value"]["after"] == {"id": 2, "extra": "e"}
    p.wait_log("(version 2)")


def test_logical_message(db, pgcdc, table):
    table("id int PRIMARY KEY")
    p = pgcdc().start()
    sql(db, "SELECT pg_logical_emit_message(true, 'audit', 'hello')")
    ev = p.events(1)
    assert ev[0]["topic"] == f"{p.name}.message"
    assert ev[0]["key"] == {"prefix": "audit"}
    v = ev[0]["value"]
    assert v["op"] == "m"
    assert v["message"]["prefix"] == "audit"
    assert base64.b64decode(v["message"]["content"]) == b"hello"


def test_sigterm_restart_emits_nothing_twice(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    for i in range(50):
        sql(db, f"INSERT INTO {t} VALUES ({i})")
    p.events(50)
    assert p.stop() == 0
    for i in range(50, 80):
        sql(db, f"INSERT INTO {t} VALUES ({i})")
    p.start()
    ev = p.events(80)
    time.sleep(1)
    ids = [e["key"]["id"] for e in p.lines()]
    assert ids == list(range(80))
    assert p.stop() == 0
    # The server ends the walsender once it sees the connection close, which
    # may come a moment after pgcdc has exited.
    deadline = time.time() + 30
    while time.time() < deadline and sql(db, "SELECT active FROM pg_replication_slots "
                                         "WHERE slot_name = %s", p.name)[0][0]:
        time.sleep(0.05)
    # The slot was told everything: nothing is pending for it.
    pending = sql(db, "SELECT count(*) FROM pg_logical_slot_peek_binary_changes(%s, NULL, NULL, "
                  "'proto_version', '1', 'publication_names', %s)", p.name, p.name)
    assert pending[0][0] == 0


def test_sigkill_loses_nothing_and_slot_never_passes_unwritten(db, pgcdc, table):
    t = table("id int PRIMARY KEY, pad text")
    p = pgcdc(table_include_list=f"public\\.{t}", status_interval_ms="50",
              offset_flush_interval_ms="50").start()
    committed_at = {}
    killed = False
    for i in range(3000):
        with db.transaction():
            sql(db, f"INSERT INTO {t} VALUES ({i}, repeat('p', 200))")
        committed_at[i] = sql(db, "SELECT pg_current_wal_insert_lsn()::text")[0][0]
        if i == 1500:
            time.sleep(0.3)
            p.proc.send_signal(signal.SIGKILL)
            p.proc.wait()
            p.proc = None
            killed = True
    assert killed
    flushed = sql(db, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots "
                  "WHERE slot_name = %s", p.name)[0][0]
    written = {e["key"]["id"] for e in p.lines()}

    def lsn(s):
        hi, lo = s.split("/")
        return (int(hi, 16) << 32) | int(lo, 16)

    # Every row whose commit lies wholly before the confirmed position was written.
    for i, at in committed_at.items():
        if lsn(at) < lsn(flushed):
            assert i in written, f"row {i} confirmed at {flushed} but never written"
    assert len(written) > 0
    p.start()
    # Unconfirmed transactions come again (at-least-once), so count ids.
    deadline = time.time() + 60
    while time.time() < deadline and len({e["key"]["id"] for e in p.lines()}) < 3000:
        time.sleep(0.1)
    assert {e["key"]["id"] for e in p.lines()} == set(range(3000))


def test_bad_config_and_unreachable_server(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("topic.prefx = x\n")
    r = subprocess.run([PGCDC_BIN, "run", "-c", str(conf)], capture_output=True, text=True)
    assert r.returncode == 78  # EX_CONFIG
    assert "topic.prefx" in r.stderr and "topic.prefix" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1

    conf.write_text("topic.prefix = x\nsink = stdout\nformat = json\n"
                    "database.dsn = host=127.0.0.1 port=1 dbname=nothing password=hunter2secret "
                    "connect_timeout=2\n"
                    f"offset.storage.file.filename = {tmp_path}/off\n")
    r = subprocess.run([PGCDC_BIN, "run", "-c", str(conf)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1
    assert "cannot connect to PostgreSQL" in r.stderr
    assert "hunter2secret" not in r.stderr


def test_password_never_logged(db, pgcdc, table, tmp_path):
    sql(db, "ALTER ROLE pgcdc PASSWORD 'pgcdc-secret'")
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}",
              database_dsn=dsn(password="pgcdc-secret"), log_level="debug").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    r = subprocess.run([PGCDC_BIN, "config", "-c", str(p.conf_path)], capture_output=True,
                       text=True)
    assert r.returncode == 0
    assert p.stop() == 0
    assert "pgcdc-secret" not in p.stderr()
    assert "pgcdc-secret" not in r.stdout + r.stderr
    assert "database.dsn" in r.stdout


def test_replication_origin_in_source(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    origin = "up_" + p.name
    sql(db, "SELECT pg_replication_origin_create(%s)", origin)
    try:
        with db.transaction():
            sql(db, "SELECT pg_replication_origin_session_setup(%s)", origin)
            sql(db, "SELECT pg_replication_origin_xact_setup('0/12345678', now())")
            sql(db, f"INSERT INTO {t} VALUES (1)")
        sql(db, "SELECT pg_replication_origin_session_reset()")
        sql(db, f"INSERT INTO {t} VALUES (2)")
        ev = p.events(2)
        assert ev[0]["value"]["source"]["origin"] == origin
        assert ev[0]["value"]["source"]["origin_lsn"] == 0x12345678
        assert ev[1]["value"]["source"]["origin"] is None
        assert ev[1]["value"]["source"]["origin_lsn"] is None
    finally:
        sql(db, "SELECT pg_replication_origin_drop(%s)", origin)


def test_reconnects_when_the_connection_drops(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}", reconnect_backoff_initial_ms="100").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    killed = sql(db, "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                 "WHERE slot_name = %s AND active_pid IS NOT NULL", p.name)
    assert killed == [(True,)]
    sql(db, f"INSERT INTO {t} VALUES (2)")
    p.wait_log("reconnecting")
    p.wait_log("streaming from slot", count=2)
    sql(db, f"INSERT INTO {t} VALUES (3)")
    deadline = time.time() + 30
    while time.time() < deadline and {e["key"]["id"] for e in p.lines()} != {1, 2, 3}:
        time.sleep(0.1)
    assert {e["key"]["id"] for e in p.lines()} == {1, 2, 3}
    assert p.proc.poll() is None
    assert p.stop() == 0
