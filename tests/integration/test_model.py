"""The table model against the real servers: what a table's name, the
filters and the configuration checks decide about topics and schemas."""
import json
import subprocess

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
