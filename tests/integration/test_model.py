"""The table model against the real servers: what a table's name, the
filters and the configuration checks decide about topics and schemas."""
import subprocess
import uuid

import requests

from conftest import PGCDC_BIN, sql
from kafka_util import BOOTSTRAP, REGISTRY, consume, schema_by_id


def kafka_cfg(**extra):
    cfg = {
        "sink": "kafka",
        "format": "avro",
        "schema.registry.url": REGISTRY,
        "kafka.bootstrap.servers": BOOTSTRAP,
    }
    cfg.update({k.replace("_", "."): v for k, v in extra.items()})
    return cfg


def subject_schema(subject):
    r = requests.get(f"{REGISTRY}/subjects/{subject}/versions/latest", timeout=10)
    r.raise_for_status()
    return r.json()


def test_rename_moves_topic_schema_names_and_subjects(db, pgcdc, table):
    t = table("id int PRIMARY KEY, a text")
    p = pgcdc()
    p.cfg.update(kafka_cfg(table_include_list=f"public\\.{t}(_renamed)?"))
    p.start()
    sql(db, f"INSERT INTO {t} VALUES (1, 'x')")
    old_topic = f"{p.name}.public.{t}"
    first = consume(old_topic, 1)
    sql(db, f"ALTER TABLE {t} RENAME TO {t}_renamed")
    try:
        sql(db, f"INSERT INTO {t}_renamed VALUES (2, 'y')")
        new_topic = f"{p.name}.public.{t}_renamed"
        recs = consume(new_topic, 1)
        rec = recs[0]
        assert rec["key"] == {"id": 2}
        assert rec["value"]["after"] == {"id": 2, "a": "y"}
        assert rec["value"]["source"]["table"] == f"{t}_renamed"
        value_schema, _ = schema_by_id(rec["value_id"])
        key_schema, _ = schema_by_id(rec["key_id"])
        assert value_schema["name"] == "Envelope"
        assert value_schema["namespace"] == new_topic
        assert value_schema["connect.name"] == f"{new_topic}.Envelope"
        assert key_schema["name"] == "Key" and key_schema["namespace"] == new_topic
        assert rec["value_id"] != first[0]["value_id"]
        # registered under the new subjects
        assert subject_schema(f"{new_topic}-value")["id"] == rec["value_id"]
        assert subject_schema(f"{new_topic}-key")["id"] == rec["key_id"]
        # the old topic got nothing more
        assert len(consume(old_topic, 1, timeout=5)) == 1
        p.wait_log(f"is now 'public.{t}_renamed'")
    finally:
        sql(db, f"DROP TABLE IF EXISTS {t}_renamed")


def run_config(tmp_path, text, cmd="config", timeout=30):
    conf = tmp_path / "check.conf"
    conf.write_bytes(text if isinstance(text, bytes) else text.encode())
    return subprocess.run([PGCDC_BIN, cmd, "-c", str(conf)], capture_output=True, text=True,
                          timeout=timeout)


def test_unicode_names_are_replaced_per_character_in_topics(db, pgcdc, table):
    base = uuid.uuid4().hex[:6]
    t = table("id int PRIMARY KEY", name=f"Ünïcødé 表{base}")
    p = pgcdc(table_include_list=f"public\\.Ünïcødé.表{base}").start()
    sql(db, f'INSERT INTO "{t}" VALUES (1)')
    ev = p.events(1)
    assert ev[0]["topic"] == f"{p.name}.public._n_c_d___{base}"


def test_two_tables_on_one_topic_stop_at_start_naming_both(db, pgcdc, table):
    base = "tab_" + uuid.uuid4().hex[:8]
    table("id int PRIMARY KEY", name=f"{base} x")
    table("id int PRIMARY KEY", name=f"{base}_x")
    p = pgcdc(table_include_list=f"public\\.{base}.x")
    p.start(wait_streaming=False)
    rc = p.proc.wait(60)
    p.proc = None
    assert rc == 78, p.stderr()
    err = p.stderr()
    assert f"'public.{base} x'" in err and f"'public.{base}_x'" in err, err
    assert f"topic '{p.name}.public.{base}_x'" in err, err
    assert "streaming from slot" not in err
    # Refused before anything was created: no publication, no slot.
    assert sql(db, "SELECT count(*) FROM pg_publication WHERE pubname = %s", p.name) == [(0,)]
    assert sql(db, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s",
               p.name) == [(0,)]


def test_a_rename_onto_another_tables_topic_stops_naming_both(db, pgcdc, table):
    base = "tab_" + uuid.uuid4().hex[:8]
    table("id int PRIMARY KEY", name=f"{base} x")
    other = table("id int PRIMARY KEY", name=f"{base}_other")
    p = pgcdc(table_include_list=f"public\\.{base}.(x|other)").start()
    sql(db, f'INSERT INTO "{base} x" VALUES (1)')
    p.events(1)
    sql(db, f'ALTER TABLE "{other}" RENAME TO "{base}_x"')
    try:
        sql(db, f'INSERT INTO "{base}_x" VALUES (2)')
        rc = p.proc.wait(60)
        p.proc = None
        assert rc == 78, p.stderr()
        err = p.stderr()
        assert f"'public.{base} x'" in err and f"'public.{base}_x'" in err, err
        assert len(p.lines()) == 1  # nothing went to the shared topic
    finally:
        sql(db, f'DROP TABLE IF EXISTS "{base}_x"')


def test_a_table_recreated_under_its_old_name_is_no_clash(db, pgcdc, table):
    t = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{t}(_old)?",
              publication_autocreate_mode="all_tables").start()
    sql(db, f"INSERT INTO {t} VALUES (1)")
    p.events(1)
    sql(db, f"ALTER TABLE {t} RENAME TO {t}_old")
    try:
        sql(db, f"CREATE TABLE {t} (id int PRIMARY KEY)")
        sql(db, f"INSERT INTO {t} VALUES (2)")
        sql(db, f"INSERT INTO {t}_old VALUES (3)")
        ev = p.events(3)
        topics = sorted((e["topic"], e["value"]["after"]["id"]) for e in ev)
        assert topics == [(f"{p.name}.public.{t}", 1), (f"{p.name}.public.{t}", 2),
                          (f"{p.name}.public.{t}_old", 3)]
        assert p.proc.poll() is None
    finally:
        sql(db, f"DROP TABLE IF EXISTS {t}_old")


def test_a_pattern_bomb_is_refused_by_config_and_run(tmp_path):
    text = ("topic.prefix = x\nsink = stdout\nformat = json\n"
            "table.include.list = (((a{1\\,255}){1\\,255}){1\\,255}){1\\,255}\n")
    for cmd in ("config", "run"):
        r = run_config(tmp_path, text, cmd)
        assert r.returncode == 78, r.stderr
        assert "'table.include.list'" in r.stderr, r.stderr
        assert "(((a{1,255}){1,255}){1,255}){1,255}" in r.stderr, r.stderr


def test_back_references_in_patterns_work(db, pgcdc, table):
    base = "tab_" + uuid.uuid4().hex[:8]
    table("id int PRIMARY KEY", name=f"{base}_aa")
    table("id int PRIMARY KEY", name=f"{base}_ab")
    p = pgcdc(table_include_list=f"public\\.{base}_(a)\\1").start()
    sql(db, f"INSERT INTO {base}_ab VALUES (1)")
    sql(db, f"INSERT INTO {base}_aa VALUES (2)")
    p.events(1)
    p.wait_log("confirmed")
    assert [(e["topic"], e["value"]["after"]["id"]) for e in p.lines()] == [
        (f"{p.name}.public.{base}_aa", 2)]


def test_configuration_problems_are_found_by_config_and_run(tmp_path):
    base = "sink = stdout\nformat = json\n"
    cases = [
        # a prefix with no room left for table topics in Kafka's 249 characters
        (f"topic.prefix = {'p' * 242}\n" + base, "'topic.prefix' is 242 characters long"),
        # a NUL byte would silently cut the value
        (b"topic.prefix = x\nsink = stdout\nformat = json\ndatabase.dsn = host=a\0b\n",
         "check.conf:4: a NUL byte at column 22"),
        ("topic.prefix = x\n" + base + "kafka.no.such.property = 1\n", "'no.such.property'"),
        ("topic.prefix = x\n" + base + "kafka.linger.ms = soon\n", "'linger.ms'"),
        ("topic.prefix = x\n" + base + "kafka.enable.idempotence = true\nkafka.acks = 0\n",
         "acks"),
    ]
    for text, want in cases:
        for cmd in ("config", "run"):
            r = run_config(tmp_path, text, cmd)
            assert r.returncode == 78, (cmd, want, r.stderr)
            assert want in r.stderr, (cmd, r.stderr)


def test_a_type_dropped_before_its_changes_are_read_leaves_the_column_out(db, pgcdc, table):
    typ = "mood_" + uuid.uuid4().hex[:8]
    sql(db, f"CREATE TYPE {typ} AS ENUM ('happy', 'sad')")
    try:
        t = table(f"id int PRIMARY KEY, m {typ}, note text")
        p = pgcdc(table_include_list=f"public\\.{t}", include_unknown_datatypes="true").start()
        assert p.stop() == 0
        sql(db, f"INSERT INTO {t} VALUES (1, 'happy', 'x')")
        sql(db, f"ALTER TABLE {t} DROP COLUMN m")
        sql(db, f"DROP TYPE {typ}")
        sql(db, f"INSERT INTO {t} VALUES (2, 'y')")
        p.start()
        ev = p.events(2)
        assert [e["value"]["after"] for e in ev] == [{"id": 1, "note": "x"},
                                                     {"id": 2, "note": "y"}]
        p.wait_log("column 'm'")
        assert "no longer in pg_type" in p.stderr()
        assert p.proc.poll() is None
    finally:
        sql(db, f"DROP TYPE IF EXISTS {typ} CASCADE")


def test_changes_filtered_out_at_run_time_are_counted_and_logged(db, pgcdc, table):
    kept = table("id int PRIMARY KEY")
    dropped = table("id int PRIMARY KEY")
    p = pgcdc(table_include_list=f"public\\.{kept}",
              publication_autocreate_mode="all_tables").start()
    sql(db, f"INSERT INTO {dropped} VALUES (1)")
    sql(db, f"INSERT INTO {dropped} VALUES (2)")
    sql(db, f"UPDATE {dropped} SET id = 3 WHERE id = 2")
    sql(db, f"INSERT INTO {kept} VALUES (1)")
    assert [e["value"]["after"]["id"] for e in p.events(1)] == [1]
    p.wait_log(f"table 'public.{dropped}': 1 change(s) dropped so far: outside the table filters")
    assert p.stop() == 0
    err = p.stderr()
    assert f"table 'public.{dropped}': 3 change(s) dropped: outside the table filters" in err, err
    assert "change(s) of 1 table(s) outside the table filters were dropped" in err, err
    assert len(p.lines()) == 1


def test_a_pattern_too_costly_to_match_stops_at_start_naming_it(db, pgcdc, table):
    t = table("id int PRIMARY KEY", name="a" * 63)
    p = pgcdc(table_exclude_list="public\\.(a|a?)+b")
    p.start(wait_streaming=False)
    rc = p.proc.wait(60)
    p.proc = None
    assert rc == 78, p.stderr()
    err = p.stderr()
    assert "'table.exclude.list': pattern 'public\\.(a|a?)+b' is too costly" in err, err
    assert f"'public.{t}'" in err, err
