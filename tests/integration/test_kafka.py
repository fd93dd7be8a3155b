"""pgcdc with the Kafka sink and Avro: what lands in the real broker and
registry, read back with an independent decoder."""
import datetime
import re
import signal
import subprocess
import threading
import time
import uuid
from decimal import Decimal

import pytest
import requests

from conftest import sql
from kafka_util import (BOOTSTRAP, REGISTRY, consume, consume_until, count_records,
                        java_partition, partitions_of)

HARNESS = __import__("pathlib").Path(__file__).resolve().parents[1] / "harness"


def kafka_cfg(**extra):
    cfg = {
        "sink": "kafka",
        "format": "avro",
        "schema.registry.url": REGISTRY,
        "kafka.bootstrap.servers": BOOTSTRAP,
        "topic.creation.default.partitions": "3",
    }
    cfg.update({k.replace("_", "."): v for k, v in extra.items()})
    return cfg


def start(pgcdc, **extra):
    p = pgcdc()
    p.cfg.update(kafka_cfg(**extra))
    return p.start()


def test_every_operation_and_type_round_trips(db, pgcdc, table):
    t = table("id bigint PRIMARY KEY, i2 smallint, i4 int, f4 real, f8 double precision, "
              "b bool, n numeric(12,2), nv numeric, t text, vc varchar(10), c char(3), "
              "by bytea, d date, tm time, ts timestamp, tsz timestamptz, u uuid, j json, "
              "jb jsonb, arr int[]")
    p = start(pgcdc, table_include_list=f"public\\.{t}")
    sql(db, f"""INSERT INTO {t} VALUES (1, -2, 3, 1.5, 2.25, true, 1234.5, -0.001, 'héllo',
        'vc', 'ab', '\\x00ff', '2024-02-29', '13:14:15.123456', '2024-01-02 03:04:05.678901',
        '2024-01-02 03:04:05.678901+02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{{"a": 1}}',
        '{{"b": [1, 2]}}', '{{1,NULL,3}}')""")
    sql(db, f"INSERT INTO {t} (id) VALUES (2)")
    sql(db, f"UPDATE {t} SET t = 'changed' WHERE id = 1")
    sql(db, f"DELETE FROM {t} WHERE id = 2")
    topic = f"{p.name}.public.{t}"
    recs = consume(topic, 5)
    ops = [(r["key"], r["value"] and r["value"]["op"]) for r in recs]
    assert sorted(ops, key=str) == sorted([({"id": 1}, "c"), ({"id": 2}, "c"), ({"id": 1}, "u"),
                                           ({"id": 2}, "d"), ({"id": 2}, None)], key=str)
    # Per key, order is kept (one partition per key).
    by_key = {}
    for r in recs:
        by_key.setdefault(r["key"]["id"], []).append(r["value"] and r["value"]["op"])
    assert by_key == {1: ["c", "u"], 2: ["c", "d", None]}

    a = next(r for r in recs if r["key"] == {"id": 1} and r["value"]["op"] == "c")["value"]["after"]
    assert a["id"] == 1 and a["i2"] == -2 and a["i4"] == 3
    assert a["f4"] == 1.5 and a["f8"] == 2.25 and a["b"] is True
    assert a["n"] == Decimal("1234.50")
    assert a["nv"]["scale"] == 3 and int.from_bytes(a["nv"]["value"], "big", signed=True) == -1
    assert a["t"] == "héllo" and a["vc"] == "vc" and a["c"] == "ab "
    assert a["by"] == b"\x00\xff"
    assert a["d"] == (datetime.date(2024, 2, 29) - datetime.date(1970, 1, 1)).days
    assert a["tm"] == ((13 * 60 + 14) * 60 + 15) * 1000000 + 123456
    ts = datetime.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.timezone.utc)
    assert a["ts"] == int(ts.timestamp()) * 1000000 + 678901
    assert a["tsz"] == "2024-01-02T01:04:05.678901Z"
    assert a["u"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert a["j"] == '{"a": 1}' and a["jb"] == '{"b": [1, 2]}'
    assert a["arr"] == [1, None, 3]
    src = recs[0]["value"]["source"]
    assert src["connector"] == "postgresql" and src["table"] == t and src["db"] == "pgcdc"

    empty = next(r for r in recs if r["key"] == {"id": 2} and r["value"]
                 and r["value"]["op"] == "c")["value"]["after"]
    assert empty == {k: (2 if k == "id" else None) for k in a}

    # Keys decode to the primary key; partitions are the Java client's choice.
    parts = partitions_of(topic)
    assert parts == 3
    for r in recs:
        assert r["partition"] == java_partition(r["raw_key"], parts)

    # The schema registered under <topic>-value is the one the records name.
    latest = requests.get(f"{REGISTRY}/subjects/{topic}-value/versions/latest", timeout=10).json()
    assert latest["id"] == recs[0]["value_id"]
    key_latest = requests.get(f"{REGISTRY}/subjects/{topic}-key/versions/latest", timeout=10).json()
    assert key_latest["id"] == recs[0]["key_id"]


def test_add_column_registers_a_compatible_version(db, pgcdc, table):
    t = table("id int PRIMARY KEY, a text")
    p = start(pgcdc, table_include_list=f"public\\.{t}")
    topic = f"{p.name}.public.{t}"
    sql(db, f"INSERT INTO {t} VALUES (1, 'x')")
    first = consume(topic, 1)
    sql(db, f"ALTER TABLE {t} ADD COLUMN extra int")
    sql(db, f"INSERT INTO {t} VALUES (2, 'y', 42)")
    recs = consume(topic, 2)
    second = next(r for r in recs if r["key"] == {"id": 2})
    assert second["value"]["after"] == {"id": 2, "a": "y", "extra": 42}
    assert second["value_id"] != first[0]["value_id"]
    versions = requests.get(f"{REGISTRY}/subjects/{topic}-value/versions", timeout=10).json()
    assert len(versions) == 2
    # The old record still decodes with its own schema, without the column.
    assert first[0]["value"]["after"] == {"id": 1, "a": "x"}


def test_json_format_on_kafka(db, pgcdc, table):
    t = table("id int PRIMARY KEY, a text")
    p = start(pgcdc, table_include_list=f"public\\.{t}", format="json")
    sql(db, f"INSERT INTO {t} VALUES (1, 'x')")
    sql(db, f"DELETE FROM {t}")
    recs = consume(f"{p.name}.public.{t}", 3, json_values=True)
    assert [r["key"] for r in recs] == [{"id": 1}] * 3
    assert recs[0]["value"]["after"] == {"id": 1, "a": "x"}
    assert recs[1]["value"]["op"] == "d"
    assert recs[2]["value"] is None


def lsn(s):
    hi, lo = s.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def test_sigkill_during_load_loses_nothing(db, pgcdc, table):
    t = table("id int PRIMARY KEY, pad text")
    p = start(pgcdc, table_include_list=f"public\\.{t}", status_interval_ms="100",
              offset_flush_interval_ms="100")
    topic = f"{p.name}.public.{t}"
    rows, batch = 100000, 1000
    commits = []

    def load():
        with __import__("psycopg").connect(db.info.dsn, autocommit=True) as conn:
            for start_id in range(0, rows, batch):
                with conn.transaction():
                    sql(conn, f"INSERT INTO {t} SELECT g, repeat('p', 50) FROM "
                        f"generate_series({start_id}, {start_id + batch - 1}) g")
                commits.append((start_id, sql(conn, "SELECT pg_current_wal_insert_lsn()::text")[0][0]))

    loader = threading.Thread(target=load)
    loader.start()
    while len(commits) < 40:
        time.sleep(0.05)
    p.proc.send_signal(signal.SIGKILL)
    p.proc.wait()
    p.proc = None
    loader.join()
    flushed = sql(db, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots "
                  "WHERE slot_name = %s", p.name)[0][0]
    in_kafka = count_records(topic)
    # Every transaction committed wholly before the confirmed position is in Kafka.
    acked_batches = [s for s, at in commits if lsn(at) < lsn(flushed)]
    assert in_kafka >= len(acked_batches) * batch
    p.start()
    # Unconfirmed transactions come again (at-least-once): wait for every id.
    recs = consume_until(topic, lambda rs: len({r["key"]["id"] for r in rs}) >= rows,
                         timeout=180)
    assert {r["key"]["id"] for r in recs} == set(range(rows))


def test_sigterm_restart_no_duplicates(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = start(pgcdc, table_include_list=f"public\\.{t}")
    topic = f"{p.name}.public.{t}"
    sql(db, f"INSERT INTO {t} SELECT generate_series(1, 500)")
    consume(topic, 500)
    assert p.stop() == 0
    sql(db, f"INSERT INTO {t} SELECT generate_series(501, 700)")
    p.start()
    recs = consume(topic, 700)
    time.sleep(1)
    assert count_records(topic) == 700
    assert sorted(r["key"]["id"] for r in recs) == list(range(1, 701))


def test_broker_down_30s_then_catches_up(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = start(pgcdc, table_include_list=f"public\\.{t}")
    topic = f"{p.name}.public.{t}"
    sql(db, f"INSERT INTO {t} VALUES (0)")
    consume(topic, 1)
    subprocess.run([str(HARNESS / "kafka-stop")], check=True)
    try:
        for i in range(1, 301):
            sql(db, f"INSERT INTO {t} VALUES ({i})")
            if i % 10 == 0:
                time.sleep(1)
        assert p.proc.poll() is None, "pgcdc died while the broker was down"
    finally:
        subprocess.run([str(HARNESS / "kafka-start")], check=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if count_records(topic) >= 301:
                break
        except Exception:
            pass
        time.sleep(1)
    recs = consume(topic, 301, timeout=60)
    assert sorted(r["key"]["id"] for r in recs) == list(range(301))
    assert p.proc.poll() is None
    # librdkafka reports every failed attempt to reach the broker; pgcdc
    # logs the outage once, and its end with the count
    p.wait_log("records delivered again after")
    assert p.stop() == 0
    lines = p.stderr().splitlines()
    transport = [l for l in lines if (" WARN " in l or " ERROR " in l) and re.search(
        r"transport failure|Connection refused|broker connections are down|Disconnected", l)]
    assert len(transport) == 1, "\n".join(transport)
    assert "further errors are counted" in transport[0]
    ended = [l for l in lines if "records delivered again after" in l]
    assert len(ended) == 1, "\n".join(ended)
    assert int(re.search(r"and (\d+) error", ended[0]).group(1)) >= 1


def test_truncate_and_logical_message_in_avro(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = start(pgcdc, table_include_list=f"public\\.{t}", skipped_operations="none")
    sql(db, f"INSERT INTO {t} VALUES (1)")
    sql(db, f"TRUNCATE {t}")
    sql(db, "SELECT pg_logical_emit_message(true, 'audit', 'payload')")
    recs = consume(f"{p.name}.public.{t}", 2)
    # Three partitions: a keyless truncate may land before the insert.
    trunc = [r for r in recs if r["value"]["op"] == "t"]
    assert len(trunc) == 1 and trunc[0]["raw_key"] is None
    assert trunc[0]["value"]["before"] is None and trunc[0]["value"]["after"] is None
    assert [r["key"] for r in recs if r["value"]["op"] == "c"] == [{"id": 1}]
    msg = consume(f"{p.name}.message", 1)[0]
    assert msg["key"] == {"prefix": "audit"}
    assert msg["value"]["op"] == "m"
    assert msg["value"]["message"] == {"prefix": "audit", "content": b"payload"}


def test_registry_down_is_waited_out_and_nothing_confirmed(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc()
    p.cfg.update(kafka_cfg(table_include_list=f"public\\.{t}",
                           schema_registry_url="http://127.0.0.1:1/apis/ccompat/v7",
                           reconnect_backoff_initial_ms="100", reconnect_backoff_max_ms="500"))
    p.start()
    sql(db, f"INSERT INTO {t} SELECT generate_series(1, 10)")
    p.wait_log("retrying in", count=3)
    assert p.proc.poll() is None
    assert p.stop() == 0
    # Nothing was delivered, so nothing was confirmed: the rows come again.
    p.cfg["schema.registry.url"] = REGISTRY
    p.start()
    recs = consume(f"{p.name}.public.{t}", 10)
    assert sorted(r["key"]["id"] for r in recs) == list(range(1, 11))


def test_incompatible_schema_stops_with_the_registry_message(db, pgcdc, table):
    t = table("id int PRIMARY KEY, a text")
    p = pgcdc()
    p.cfg.update(kafka_cfg(table_include_list=f"public\\.{t}"))
    subject = f"{p.name}.public.{t}-value"
    r = requests.post(f"{REGISTRY}/subjects/{subject}/versions",
                      headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
                      json={"schema": '{"type":"record","name":"Other","fields":'
                                      '[{"name":"x","type":"int"}]}'}, timeout=10)
    assert r.status_code == 200, r.text
    p.start()
    sql(db, f"INSERT INTO {t} VALUES (1, 'a')")
    assert p.proc.wait(30) == 1
    err = p.stderr()
    assert subject in err and f"public.{t}" in err
    assert "409" in err or "incompatible" in err.lower()
    p.proc = None
