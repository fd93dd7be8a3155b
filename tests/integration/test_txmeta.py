"""provide.transaction.metadata: Debezium's BEGIN and END records on the
transaction topic and the transaction block of each change event, against
the real PostgreSQL (JSON through the stdout sink, Avro through Kafka)."""
import collections
import json
import signal

from conftest import sql
from kafka_util import REGISTRY, BOOTSTRAP, consume, schema_by_id


def multi_table_txn(db, table):
    a = table("id int PRIMARY KEY, v text")
    b = table("id int PRIMARY KEY, v text")
    return a, b


def run_txn(db, a, b):
    with db.transaction():
        sql(db, f"INSERT INTO {a} VALUES (1, 'x'), (2, 'y')")
        sql(db, f"INSERT INTO {b} VALUES (1, 'z')")
        sql(db, f"UPDATE {a} SET v = 'w' WHERE id = 1")
        sql(db, f"DELETE FROM {b} WHERE id = 1")  # and its tombstone, not counted
    return db.execute("SELECT txid_current()").fetchone()[0]


def check_stream(events, name, a, b):
    txn_topic = f"{name}.transaction"
    txn = [e for e in events if e["topic"] == txn_topic]
    data = [e for e in events if e["topic"] != txn_topic and e["value"] is not None]
    assert [t["value"]["status"] for t in txn] == ["BEGIN", "END"]
    begin, end = txn[0]["value"], txn[1]["value"]
    assert events[0]["topic"] == txn_topic and events[-1]["topic"] == txn_topic
    xid = begin["id"].split(":")[0]
    assert end["id"].split(":")[0] == xid
    assert txn[0]["key"] == {"id": begin["id"]} and txn[1]["key"] == {"id": end["id"]}
    assert begin["event_count"] is None and begin["data_collections"] is None
    # The END's counts are the events actually written, in all and per table.
    assert end["event_count"] == len(data) == 5
    per_table = collections.Counter(e["value"]["source"]["table"] for e in data)
    assert {c["data_collection"]: c["event_count"] for c in end["data_collections"]} == {
        f"public.{a}": per_table[a], f"public.{b}": per_table[b]}
    assert begin["ts_ms"] == end["ts_ms"] == data[0]["value"]["source"]["ts_ms"]
    # Each event's block: "<xid>:<its lsn>", its place in the transaction
    # and among its table's events.
    seen = collections.Counter()
    for i, e in enumerate(data, 1):
        blk = e["value"]["transaction"]
        src = e["value"]["source"]
        seen[src["table"]] += 1
        assert blk == {"id": f"{xid}:{src['lsn']}", "total_order": i,
                       "data_collection_order": seen[src["table"]]}, blk


def test_begin_end_and_blocks_as_json(db, pgcdc, table):
    a, b = multi_table_txn(db, table)
    p = pgcdc(table_include_list=f"public\\.({a}|{b})", provide_transaction_metadata="true")
    p.start()
    run_txn(db, a, b)
    # 2 records + 5 changes + 1 tombstone
    events = p.events(8)
    check_stream(events, p.name, a, b)
    assert str(events[0]["value"]["id"]).startswith(str(events[1]["value"]["source"]["txId"]) + ":")


def test_off_by_default(db, pgcdc, table):
    a, b = multi_table_txn(db, table)
    p = pgcdc(table_include_list=f"public\\.({a}|{b})")
    p.start()
    run_txn(db, a, b)
    events = p.events(6)
    assert all(e["value"] is None or e["value"]["transaction"] is None for e in events)
    assert not any(e["topic"].endswith(".transaction") for e in events)


def test_topic_transaction_names_the_topic(db, pgcdc, table):
    a, b = multi_table_txn(db, table)
    q = pgcdc(table_include_list=f"public\\.({a}|{b})", provide_transaction_metadata="true",
              topic_transaction="txns")
    q.start()
    sql(db, f"INSERT INTO {a} VALUES (9, 'q')")
    ev = q.events(3)
    assert [e["topic"] for e in ev] == [f"{q.name}.txns", f"{q.name}.public.{a}", f"{q.name}.txns"]


def test_begin_end_in_avro_through_kafka(db, pgcdc, table):
    a, b = multi_table_txn(db, table)
    p = pgcdc(table_include_list=f"public\\.({a}|{b})", provide_transaction_metadata="true")
    p.cfg.update({"sink": "kafka", "format": "avro", "schema.registry.url": REGISTRY,
                  "kafka.bootstrap.servers": BOOTSTRAP, "topic.creation.default.partitions": "1"})
    p.start()
    run_txn(db, a, b)
    txn = consume(f"{p.name}.transaction", 2)
    key_schema, _ = schema_by_id(txn[0]["key_id"])
    value_schema, _ = schema_by_id(txn[0]["value_id"])
    assert key_schema["connect.name"] == "io.debezium.connector.common.TransactionMetadataKey"
    assert value_schema["connect.name"] == "io.debezium.connector.common.TransactionMetadataValue"
    begin, end = txn[0]["value"], txn[1]["value"]
    assert begin["status"] == "BEGIN" and begin["event_count"] is None
    assert end["status"] == "END" and end["event_count"] == 5
    counts = {c["data_collection"]: c["event_count"] for c in end["data_collections"]}
    assert counts == {f"public.{a}": 3, f"public.{b}": 2}
    # Counted against what Kafka holds.
    ra = [r for r in consume(f"{p.name}.public.{a}", 3) if r["value"] is not None]
    rb = [r for r in consume(f"{p.name}.public.{b}", 3) if r["value"] is not None]
    assert len(ra) == 3 and len(rb) == 2
    orders = sorted(r["value"]["transaction"]["total_order"] for r in ra + rb)
    assert orders == [1, 2, 3, 4, 5]
    assert all(r["value"]["transaction"]["id"].startswith(begin["id"].split(":")[0] + ":")
               for r in ra + rb)


def test_stop_inside_a_transaction_loses_no_end_and_repeats_no_begin(db, pgcdc, table):
    """SIGTERM part way through a large transaction, then a restart: over both
    runs one BEGIN, one END counting every row, and every row once (BEGIN and
    END are events of the transaction, checkpointed like its changes)."""
    from test_delivery import lsn, run_piped, wait_confirmed

    rows = 100_000
    t = table("id int PRIMARY KEY, v text")
    p = pgcdc(table_include_list=f"public\\.{t}", provide_transaction_metadata="true")
    proc = run_piped(p)
    p.proc = proc
    p.wait_log("streaming from slot")
    sql(db, f"INSERT INTO {t} SELECT g, 'row ' || g FROM generate_series(0, {rows - 1}) g")
    first = []
    while len(first) < rows // 3:
        line = proc.stdout.readline()
        assert line, f"pgcdc ended early: {p.stderr()[-2000:]}"
        first.append(json.loads(line))
    proc.send_signal(signal.SIGTERM)
    for line in proc.stdout:
        first.append(json.loads(line))
    assert proc.wait(60) == 0, p.stderr()[-2000:]
    p.proc = None
    assert len(first) < rows, "the stop did not land inside the transaction"

    p.start()
    end = lsn(sql(db, "SELECT pg_current_wal_lsn()::text")[0][0])
    wait_confirmed(db, p, end)
    assert p.stop() == 0
    both = first + [json.loads(l) for l in open(p.out_path)]
    txn = [e["value"] for e in both if e["topic"] == f"{p.name}.transaction"]
    assert [v["status"] for v in txn] == ["BEGIN", "END"]
    assert txn[1]["event_count"] == rows
    assert txn[1]["data_collections"] == [{"data_collection": f"public.{t}", "event_count": rows}]
    data = [e for e in both if e["topic"] != f"{p.name}.transaction"]
    assert sorted(e["key"]["id"] for e in data) == list(range(rows))
    assert [e["value"]["transaction"]["total_order"] for e in data] == list(range(1, rows + 1))
