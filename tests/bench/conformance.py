#!/usr/bin/env python3
"""Format conformance: the same changes through pgcdc and Debezium, compared
column by column, values and schemas.

Run by tests/bench/conformance (which installs, builds and starts the harness);
needs the harness's exports and PGCDC_BIN in the environment.

A table conf_t has one column per type of Debezium's PostgreSQL type mapping
(plus an enum, domains, extension types and arrays), REPLICA IDENTITY FULL so
that updates and deletes carry a whole old row. Three rows are inserted
(typical values, all NULL, extreme values: NaN, infinities, BC and far-future
dates, unicode, empty arrays and NULL elements), one is updated (every
column), then updated again leaving its TOASTed values unchanged, one deleted.
Three slots are created before the changes, so every run decodes the same WAL:
  - pgcdc, format avro, Kafka sink, schema registry: the records are read back
    from Kafka, the Confluent framing stripped and the Avro decoded with
    fastavro; the key and value schemas are fetched from the registry;
  - pgcdc, format json, stdout sink (its JSON is the JsonConverter's with
    schemas.enable=false: the payload itself);
  - Debezium 3.x on Kafka Connect standalone, JsonConverter with
    schemas.enable=true, so each value comes with its Connect schema.

Schemas: pgcdc's Avro schemas are turned into Kafka Connect schemas the way
Confluent's AvroConverter (AvroData.toConnectSchema, default settings) reads
them back, and compared with Debezium's Connect schemas per column (type,
name, version, parameters, doc, default, nested fields and array elements),
plus the envelope, source, transaction and key schemas. Optionality is
reported apart: pgcdc makes every non-key column optional on purpose.

Values: both sides are decoded to Connect values with their own schema (Avro
binary, or JSON with base64 bytes), then compared: bytes as bytes, Decimal as
(unscaled, scale), VariableScaleDecimal as {scale, unscaled}, floats as
IEEE values (float32 columns rounded to float32, NaN and infinities as
tokens), json/jsonb strings as parsed JSON. The Avro run and the JSON run are
each compared with Debezium.

--events FILE compares the raw events of an earlier run (its
conformance-events.json) without running anything.
"""
import argparse
import base64
import copy
import decimal
import io
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import uuid

import psycopg
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

HERE = os.path.dirname(os.path.abspath(__file__))
TOPIC = "conf.public.conf_t"
SLOTS = ("conf_pgcdc", "conf_pgcdc_avro", "conf_debezium")

# incompressible text of 32 * (hi - lo + 1) hex digits, aggregated by AGG over m
MD5S = "(SELECT {2} FROM (SELECT md5(i::text) AS m FROM generate_series({0}, {1}) i) t)"

# (column, type, typical value, extreme value) as SQL literals; None = NULL
COLUMNS = [
    ("c_bool", "boolean", "true", "false"),
    ("c_bit1", "bit(1)", "B'1'", "B'0'"),
    ("c_bit12", "bit(12)", "B'101000000001'", "B'000000000000'"),
    ("c_varbit", "bit varying(20)", "B'10110'", "B'11111111111111111111'"),
    ("c_varbit_any", "bit varying", "B'1'", "B'0000000000000000000000000000000000000001'"),
    ("c_int2", "smallint", "-12", "-32768"),
    ("c_int4", "integer", "42", "2147483647"),
    ("c_int8", "bigint", "-9000000000", "-9223372036854775808"),
    ("c_oid", "oid", "1234", "4294967295"),
    ("c_float4", "real", "1.1", "'NaN'"),
    ("c_float4_inf", "real", "-2.5e-10", "'-Infinity'"),
    ("c_float8", "double precision", "3.141592653589793", "'Infinity'"),
    ("c_float8_small", "double precision", "-1.5e-300", "'NaN'"),
    ("c_numeric", "numeric(12,2)", "1234.5", "-9999999999.99"),
    ("c_numeric_var", "numeric", "1.500", "123456789012345678901234567890.123456789"),
    ("c_numeric_neg", "numeric(10,0)", "-7", "9999999999"),
    ("c_numeric_frac", "numeric(5,5)", "0.12345", "-0.99999"),
    ("c_money", "money", "'1234.56'", "'-92233720368547758.08'"),
    ("c_char", "char(5)", "'ab'", "'ü'"),
    ("c_varchar", "varchar(40)", "'hello'", "'héllo wörld – 日本語 🎉'"),
    ("c_text", "text", "'plain text'", "E'tab\\there \"quoted\" \\\\ newline\\n 🎉 \\u00e9'"),
    ("c_qchar", '"char"', "'x'", "'Z'"),
    ("c_name", "name", "'a_name'", "'ñame'"),
    ("c_bytea", "bytea", "'\\x0a1b2c'", "''"),
    ("c_json", "json", "'{\"a\": 1, \"b\": [true, null]}'", "'\"\\u00e9 unicode\"'"),
    ("c_jsonb", "jsonb", "'{\"a\": 1, \"b\": [true, null]}'", "'[]'"),
    ("c_xml", "xml", "'<a b=\"1\">x</a>'", "'<ü/>'"),
    ("c_uuid", "uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "'00000000-0000-0000-0000-000000000000'"),
    ("c_date", "date", "'2024-02-29'", "'4713-01-01 BC'"),
    ("c_date_inf", "date", "'1970-01-01'", "'infinity'"),
    ("c_date_far", "date", "'1900-01-01'", "'5874897-12-31'"),
    ("c_time3", "time(3)", "'10:15:30.123'", "'23:59:59.999'"),
    ("c_time", "time", "'10:15:30.123456'", "'24:00:00'"),
    ("c_time0", "time(0)", "'10:15:30'", "'23:59:59'"),
    ("c_timetz", "timetz", "'10:15:30.5+02'", "'00:00:00-14:59'"),
    ("c_timetz3", "timetz(3)", "'10:15:30.123+02'", "'23:59:59.999-01:30'"),
    ("c_ts0", "timestamp(0)", "'2024-01-15 10:30:01'", "'1900-01-01 00:00:00'"),
    ("c_ts3", "timestamp(3)", "'2024-01-15 10:30:00.123'", "'-infinity'"),
    ("c_ts", "timestamp", "'2024-01-15 10:30:00.654321'", "'4713-01-01 00:00:00 BC'"),
    ("c_ts_far", "timestamp", "'1969-12-31 23:59:59.999999'", "'294276-12-31 23:59:59.999999'"),
    ("c_tstz", "timestamptz", "'2024-01-15 02:00:00+05:30'", "'infinity'"),
    ("c_tstz0", "timestamptz(0)", "'2024-01-15 02:00:00.4+00'", "'0044-03-15 12:00:00+00 BC'"),
    ("c_tstz3", "timestamptz(3)", "'2024-01-15 02:00:00.123+05:30'", "'-infinity'"),
    ("c_interval", "interval", "'1 year 2 mons 3 days 04:05:06.789'", "'-178000000 years'"),
    ("c_inet", "inet", "'192.168.0.1/24'", "'::1'"),
    ("c_cidr", "cidr", "'10.0.0.0/8'", "'2001:db8::/32'"),
    ("c_macaddr", "macaddr", "'08:00:2b:01:02:03'", "'ff:ff:ff:ff:ff:ff'"),
    ("c_macaddr8", "macaddr8", "'08:00:2b:01:02:03:04:05'", "'00:00:00:00:00:00:00:00'"),
    ("c_int4range", "int4range", "'[1,10)'", "'empty'"),
    ("c_int8range", "int8range", "'(,100]'", "'(,)'"),
    ("c_numrange", "numrange", "'[1.5,2.5]'", "'empty'"),
    ("c_tsrange", "tsrange", "'[2024-01-01,2024-02-01)'", "'(,)'"),
    ("c_tstzrange", "tstzrange", "'[2024-01-01 00:00+00,infinity)'", "'empty'"),
    ("c_daterange", "daterange", "'[2024-01-01,2024-01-31]'", "'(,infinity)'"),
    ("c_point", "point", "'(1.5,-2)'", "'(0,0)'"),
    ("c_box", "box", "'((0,0),(1,1))'", "'((-1,-1),(1,1))'"),
    ("c_circle", "circle", "'<(0,0),2>'", "'<(1,1),0.5>'"),
    ("c_line", "line", "'{1,-1,0}'", "'{0,1,2}'"),
    ("c_lseg", "lseg", "'[(0,0),(1,1)]'", "'[(1,1),(2,2)]'"),
    ("c_path", "path", "'((0,0),(1,1),(2,0))'", "'[(0,0),(1,1)]'"),
    ("c_polygon", "polygon", "'((0,0),(1,1),(1,0))'", "'((0,0),(0,1),(1,1),(1,0))'"),
    ("c_enum", "conf_mood", "'happy'", "'sad'"),
    ("c_domain_int", "conf_posint", "7", "2147483647"),
    ("c_domain_text", "conf_email", "'a@b.c'", "'ü@ü.ü'"),
    ("c_hstore", "hstore", "'a=>1, b=>NULL'", "''"),
    ("c_citext", "citext", "'MiXeD'", "'Ünïcode'"),
    ("c_ltree", "ltree", "'top.science.astronomy'", "''"),
    ("c_tsvector", "tsvector", "'a fat cat'", "''"),
    ("c_pg_lsn", "pg_lsn", "'0/16B3748'", "'FFFFFFFF/FFFFFFFF'"),
    # PostGIS: hex EWKB in pgoutput; with and without an SRID, 2D and 3D
    ("c_geometry", "geometry", "'POINT(1 2)'", "'SRID=4326;POLYGON((0 0,1 0,1 1,0 0))'"),
    ("c_geometry_srid", "geometry(PointZ,3857)", "'SRID=3857;POINT(1 2 3)'",
     "'SRID=3857;POINT(-1.5 0 1e300)'"),
    ("c_geography", "geography", "'POINT(-71.06 42.36)'", "'SRID=4326;LINESTRING(0 0,1 1)'"),
    ("c_geography_srid", "geography(Point,4269)", "'SRID=4269;POINT(1 2)'", "'SRID=4269;POINT EMPTY'"),
    # values stored out of line (TOAST): a last update leaves them unchanged, so
    # pgoutput sends them as 'u' and both connectors emit their placeholder
    ("c_toast_text", "text", MD5S.format(1, 100, "string_agg(m, '')"),
     MD5S.format(101, 200, "string_agg(m, '')")),
    ("c_toast_bytea", "bytea", MD5S.format(1, 100, "decode(string_agg(m, ''), 'hex')"),
     MD5S.format(101, 200, "decode(string_agg(m, ''), 'hex')")),
    ("c_toast_jsonb", "jsonb", MD5S.format(1, 100, "jsonb_agg(m)"), MD5S.format(101, 200, "jsonb_agg(m)")),
    ("a_toast_int4", "integer[]", "(SELECT array_agg(hashint4(i)) FROM generate_series(1, 1000) i)",
     "(SELECT array_agg(hashint4(i)) FROM generate_series(1001, 2000) i)"),
    # a NOT NULL column (required in Debezium's schema) and columns with defaults
    ("c_notnull", "integer NOT NULL DEFAULT 0", "1", "2"),
    ("c_int_default", "integer DEFAULT 5", "6", "-1"),
    ("c_text_default", "text DEFAULT 'dflt'", "'t'", "''"),
    ("a_bool", "boolean[]", "'{t,f,NULL}'", "'{}'"),
    ("a_int2", "smallint[]", "'{1,-2}'", "'{}'"),
    ("a_int4", "integer[]", "'{1,NULL,3}'", "'[0:1]={7,8}'"),
    ("a_int8", "bigint[]", "'{9223372036854775807}'", "'{}'"),
    ("a_float4", "real[]", "'{1.5,NaN}'", "'{Infinity}'"),
    ("a_float8", "double precision[]", "'{-0.5,Infinity}'", "'{}'"),
    ("a_numeric", "numeric(6,2)[]", "'{1.5,NULL}'", "'{}'"),
    ("a_numeric_var", "numeric[]", "'{1.5,100}'", "'{}'"),
    ("a_text", "text[]", "'{\"a b\",NULL,\"c,d\",\"🎉\"}'", "'{}'"),
    ("a_varchar", "varchar(10)[]", "'{x,y}'", "'{\"\"}'"),
    ("a_char", "char(3)[]", "'{ab,c}'", "'{}'"),
    ("a_bytea", "bytea[]", "'{\"\\\\x00ff\"}'", "'{}'"),
    ("a_date", "date[]", "'{2024-01-01,NULL}'", "'{infinity}'"),
    ("a_time", "time[]", "'{10:00:00}'", "'{}'"),
    ("a_timetz", "timetz[]", "'{10:00:00+02}'", "'{}'"),
    ("a_ts", "timestamp[]", "'{\"2024-01-01 10:00:00\"}'", "'{}'"),
    ("a_tstz", "timestamptz[]", "'{\"2024-01-01 10:00:00+00\"}'", "'{}'"),
    ("a_uuid", "uuid[]", "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'", "'{}'"),
    ("a_json", "json[]", "ARRAY['{\"a\":1}'::json]", "'{}'"),
    ("a_jsonb", "jsonb[]", "ARRAY['{\"a\":1}'::jsonb]", "'{}'"),
    ("a_inet", "inet[]", "'{10.0.0.1}'", "'{}'"),
    ("a_cidr", "cidr[]", "'{10.0.0.0/8}'", "'{}'"),
    ("a_macaddr", "macaddr[]", "'{08:00:2b:01:02:03}'", "'{}'"),
    ("a_int4range", "int4range[]", "'{\"[1,2)\"}'", "'{}'"),
    ("a_oid", "oid[]", "'{1,4294967295}'", "'{}'"),
    ("a_qchar", '"char"[]', "'{a,b}'", "'{}'"),
    ("a_macaddr8", "macaddr8[]", "'{08:00:2b:01:02:03:04:05}'", "'{}'"),
    ("a_numrange", "numrange[]", "'{\"[1.5,2.5]\"}'", "'{}'"),
    ("a_daterange", "daterange[]", "'{\"[2024-01-01,2024-01-31]\"}'", "'{}'"),
    ("a_name", "name[]", "'{a,b}'", "'{}'"),
    ("a_xml", "xml[]", "ARRAY['<a/>'::xml]", "'{}'"),
    ("a_varbit", "bit varying[]", "'{101}'", "'{}'"),
    ("a_enum", "conf_mood[]", "'{happy,sad}'", "'{}'"),
    ("a_money", "money[]", "'{1.00}'", "'{}'"),
    ("a_interval", "interval[]", "'{\"1 day\"}'", "'{}'"),
    ("a_geometry", "geometry[]",
     "ARRAY['POINT(1 1)'::geometry, NULL, 'SRID=4326;POINT(2 2)'::geometry]", "'{}'"),
    ("a_geography", "geography[]", "ARRAY['POINT(1 1)'::geography]", "'{}'"),
]

SETUP = """
DROP PUBLICATION IF EXISTS conf_pub;
DROP TABLE IF EXISTS conf_t;
DROP TYPE IF EXISTS conf_mood;
DROP DOMAIN IF EXISTS conf_posint;
DROP DOMAIN IF EXISTS conf_email;
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS ltree;
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TYPE conf_mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN conf_posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN conf_email AS varchar(64) CHECK (VALUE LIKE '%@%');
"""


def log(msg):
    print(f"conformance: {msg}", file=sys.stderr, flush=True)


def dsn():
    return (f"host={os.environ['PGHOST']} port={os.environ['PGPORT']} "
            f"user={os.environ['PGUSER']} dbname={os.environ['PGDATABASE']}")


def prepare(conn):
    """Creates the table, publication and two slots, then makes the changes;
    returns the number of events each connector should emit."""
    with conn.cursor() as cur:
        for (slot,) in cur.execute("SELECT slot_name FROM pg_replication_slots "
                                   "WHERE slot_name LIKE 'conf%' AND NOT active").fetchall():
            cur.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
        cur.execute(SETUP)
        cols = ",\n".join(f"{c} {t}" for c, t, _, _ in COLUMNS)
        cur.execute(f"CREATE TABLE conf_t (id integer PRIMARY KEY,\n{cols})")
        cur.execute("ALTER TABLE conf_t REPLICA IDENTITY FULL")
        cur.execute("CREATE PUBLICATION conf_pub FOR TABLE conf_t")
        for slot in SLOTS:
            cur.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
        names = ", ".join(c for c, _, _, _ in COLUMNS)
        cur.execute(f"INSERT INTO conf_t (id, {names}) VALUES "
                    f"(1, {', '.join(v for _, _, v, _ in COLUMNS)})")
        cur.execute("INSERT INTO conf_t (id) VALUES (2)")
        cur.execute(f"INSERT INTO conf_t (id, {names}) VALUES "
                    f"(3, {', '.join(v for _, _, _, v in COLUMNS)})")
        # an update of every column: row 1 takes row 3's values
        sets = ", ".join(f"{c} = {v}" for c, _, _, v in COLUMNS)
        cur.execute(f"UPDATE conf_t SET {sets} WHERE id = 1")
        # an update that leaves the TOASTed values unchanged
        cur.execute("UPDATE conf_t SET c_int4 = 7 WHERE id = 1")
        cur.execute("DELETE FROM conf_t WHERE id = 3")
    # 3 creates, 2 updates, 1 delete + tombstone
    return 7


# Connector settings given with --mode, the same for both sides ("key=value").
MODES = []


def mode_opts():
    """pgcdc's -o options for the --mode settings."""
    return [x for m in MODES for x in ("-o", m)]


def run_pgcdc(work, n, timeout=60):
    """pgcdc, format json, stdout sink: the events as (key, value) dicts."""
    out_path = os.path.join(work, "pgcdc.jsonl")
    with open(out_path, "wb") as out, open(os.path.join(work, "pgcdc.log"), "wb") as err:
        p = subprocess.Popen([os.path.join(HERE, "contender-pgcdc"), os.path.join(work, "pgcdc"),
                              "conf_pgcdc", "conf_pub", "conf", "json", "-o", "sink=stdout",
                              "-o", "include.unknown.datatypes=false"] + mode_opts(),
                             stdout=out, stderr=err)
        deadline = time.time() + timeout
        lines = []
        try:
            while time.time() < deadline and p.poll() is None:
                with open(out_path) as f:
                    lines = [l for l in f.read().split("\n")[:-1] if l]
                if len(lines) >= n:
                    break
                time.sleep(0.2)
        finally:
            p.terminate()
            p.wait(30)
    with open(os.path.join(work, "pgcdc.log"), errors="replace") as f:
        errlog = f.read()
    evs = [json.loads(l) for l in lines]
    if len(evs) < n:
        log(f"pgcdc delivered {len(evs)} of {n} events; its log:\n{errlog[-3000:]}")
    return [(e.get("key"), e.get("value")) for e in evs], errlog


def run_debezium(work, n, timeout=240):
    """Debezium with JsonConverter schemas.enable=true: (key, value) envelopes
    {schema, payload}."""
    bootstrap = os.environ["KAFKA_BOOTSTRAP"]
    topic = "conf.public.conf_t"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.delete_topics([topic]).values():
        try:
            f.result(30)
        except Exception:
            pass
    time.sleep(1)
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    logf = open(os.path.join(work, "debezium.log"), "wb")
    env = dict(os.environ)
    if MODES:
        env["DEBEZIUM_CONNECTOR_EXTRA"] = "\n".join(
            x for x in [env.get("DEBEZIUM_CONNECTOR_EXTRA", "")] + MODES if x)
    p = subprocess.Popen([os.path.join(HERE, "contender-debezium"), "run", os.path.join(work, "dbz"),
                          "conf_debezium", "conf_pub", "conf", "json-schemas"],
                         stdout=logf, stderr=logf, start_new_session=True, env=env)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "conf-" + uuid.uuid4().hex,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    out = []
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        deadline = time.time() + timeout
        while len(out) < n and time.time() < deadline and p.poll() is None:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            out.append((json.loads(m.key()) if m.key() else None,
                        json.loads(m.value()) if m.value() else None))
    finally:
        c.close()
        p.terminate()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.wait()
        logf.close()
    with open(os.path.join(work, "debezium.log"), errors="replace") as f:
        errlog = f.read()
    if len(out) < n:
        log(f"debezium delivered {len(out)} of {n} events; its log:\n{errlog[-5000:]}")
    return out, errlog




def reset_topic(topic):
    """Deletes topic (if any) and waits until the broker has forgotten it."""
    admin = AdminClient({"bootstrap.servers": os.environ["KAFKA_BOOTSTRAP"]})
    for f in admin.delete_topics([topic]).values():
        try:
            f.result(30)
        except Exception:
            pass
    deadline = time.time() + 30
    while time.time() < deadline and topic in admin.list_topics(timeout=10).topics:
        time.sleep(0.2)
    return admin


def registry(method, path):
    import requests
    r = requests.request(method, os.environ["SCHEMA_REGISTRY_URL"] + path, timeout=10)
    return r


def run_pgcdc_avro(work, n, timeout=60):
    """pgcdc, format avro, Kafka sink: the raw records (Confluent framing) and
    the key and value schemas registered for the topic."""
    reset_topic(TOPIC)
    for kind in ("key", "value"):
        registry("DELETE", f"/subjects/{TOPIC}-{kind}")
        registry("DELETE", f"/subjects/{TOPIC}-{kind}?permanent=true")
    logf = open(os.path.join(work, "pgcdc-avro.log"), "wb")
    p = subprocess.Popen([os.path.join(HERE, "contender-pgcdc"), os.path.join(work, "pgcdc-avro"),
                          "conf_pgcdc_avro", "conf_pub", "conf", "avro",
                          "-o", "include.unknown.datatypes=false"] + mode_opts(),
                         stdout=logf, stderr=logf)
    c = Consumer({"bootstrap.servers": os.environ["KAFKA_BOOTSTRAP"],
                  "group.id": "conf-" + uuid.uuid4().hex, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False, "isolation.level": "read_committed"})
    records = []
    try:
        c.subscribe([TOPIC])
        deadline = time.time() + timeout
        while len(records) < n and time.time() < deadline and p.poll() is None:
            for m in c.consume(100, 0.5):
                if m.error():
                    continue
                records.append({"key": b64(m.key()), "value": b64(m.value())})
    finally:
        c.close()
        p.terminate()
        p.wait(30)
        logf.close()
    with open(os.path.join(work, "pgcdc-avro.log"), errors="replace") as f:
        errlog = f.read()
    if len(records) < n:
        log(f"pgcdc (avro) delivered {len(records)} of {n} events; its log:\n{errlog[-3000:]}")
    schemas = {}
    for kind in ("key", "value"):
        r = registry("GET", f"/subjects/{TOPIC}-{kind}/versions/latest")
        if r.status_code == 200:
            schemas[kind] = {"id": r.json().get("id"), "schema": r.json()["schema"]}
        else:
            log(f"registry: {TOPIC}-{kind}: HTTP {r.status_code} {r.text[:200]}")
    # every schema id the records use, in case one differs from the latest
    by_id = {}
    for rec in records:
        for part in ("key", "value"):
            raw = unb64(rec[part])
            if raw and len(raw) >= 5 and raw[0] == 0:
                sid = struct.unpack(">i", raw[1:5])[0]
                if str(sid) not in by_id:
                    r = registry("GET", f"/schemas/ids/{sid}")
                    if r.status_code == 200:
                        by_id[str(sid)] = r.json()["schema"]
    return {"records": records, "latest": schemas, "by_id": by_id}, errlog


def b64(raw):
    return None if raw is None else base64.b64encode(raw).decode()


def unb64(text):
    return None if text is None else base64.b64decode(text)


# --- Connect schemas ----------------------------------------------------------
#
# A schema descriptor is a dict: type (Connect's type as the JsonConverter
# spells it: boolean, int8..int64, float, double, string, bytes, array, map,
# struct), optional, name, version, doc, parameters (dict), default, and
# fields [(name, descriptor)] / items / keys / values.

DECIMAL = "org.apache.kafka.connect.data.Decimal"
AVRO_NS = "io.confluent.connect.avro"
AVRO_DECIMAL_PRECISION_DEFAULT = 64   # AvroData: precision left out when it is this
PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


class SchemaError(Exception):
    """The AvroConverter would refuse this schema (it throws DataException)."""


def desc(type_, optional=False, name=None, version=None, doc=None, parameters=None,
         default=None):
    return {"type": type_, "optional": optional, "name": name, "version": version, "doc": doc,
            "parameters": dict(parameters or {}), "default": default}


def from_json_schema(s):
    """Debezium's Connect schema as the JsonConverter wrote it -> descriptor."""
    if s is None:
        return None
    d = desc(s.get("type"), bool(s.get("optional", False)), s.get("name"), s.get("version"),
             s.get("doc"), s.get("parameters"), s.get("default"))
    if d["type"] == "struct":
        d["fields"] = [(f["field"], from_json_schema(f)) for f in s.get("fields", [])]
    elif d["type"] == "array":
        d["items"] = from_json_schema(s.get("items"))
    elif d["type"] == "map":
        d["keys"], d["values"] = from_json_schema(s.get("keys")), from_json_schema(s.get("values"))
    return d


def avro_names(s, ns, named):
    """Registers every named Avro type (record, enum, fixed) under its full name."""
    if isinstance(s, list):
        for m in s:
            avro_names(m, ns, named)
        return
    if not isinstance(s, dict):
        return
    t = s.get("type")
    if isinstance(t, (dict, list)):
        avro_names(t, ns, named)
        return
    if t in ("record", "enum", "fixed", "error"):
        name = s["name"]
        here = s.get("namespace", ns) if "." not in name else name.rsplit(".", 1)[0]
        full = name if "." in name else (f"{here}.{name}" if here else name)
        named[full] = s
        ns = here
    for f in s.get("fields", []) if t in ("record", "error") else []:
        avro_names(f["type"], ns, named)
    if t == "array":
        avro_names(s.get("items"), ns, named)
    if t == "map":
        avro_names(s.get("values"), ns, named)


def avro_full_name(s, ns):
    name = s["name"]
    if "." in name:
        return name, name.rsplit(".", 1)[0]
    here = s.get("namespace", ns)
    return (f"{here}.{name}" if here else name), here


NO_DEFAULT = object()


def to_connect(s, named, ns="", force_optional=False, field_default=NO_DEFAULT):
    """An Avro schema -> the Connect schema Confluent's AvroConverter reads back
    (AvroData.toConnectSchema with default settings; its own bookkeeping
    parameters io.confluent.connect.avro.* are not produced). Raises
    SchemaError where AvroData would throw."""
    if isinstance(s, str):
        if s in PRIMITIVES:
            s = {"type": s}
        else:
            full = s if "." in s else (f"{ns}.{s}" if ns else s)
            if full not in named:
                raise SchemaError(f"unknown Avro type name '{s}'")
            s = named[full]
    if isinstance(s, list):
        members = [m for m in s if m != "null" and m != {"type": "null"}]
        if len(s) == 2 and len(members) == 1:
            # ["null", T]: an optional T; the field's default is not passed on
            return to_connect(members[0], named, ns, True, NO_DEFAULT)
        d = desc("struct", len(members) < len(s), f"{AVRO_NS}.Union")
        d["fields"] = [(m if isinstance(m, str) else m.get("name", m.get("type")),
                        to_connect(m, named, ns, True)) for m in members]
        return d
    t = s.get("type")
    if isinstance(t, (dict, list)):
        return to_connect(t, named, ns, force_optional, field_default)
    lt = s.get("logicalType")
    ctype = s.get("connect.type")
    full, here = (avro_full_name(s, ns) if t in ("record", "enum", "fixed", "error") else (None, ns))
    if t == "boolean":
        d = desc("boolean")
    elif t in ("bytes", "fixed"):
        if isinstance(lt, str) and lt.lower() == "decimal":
            scale = s.get("scale", 0)
            if not isinstance(scale, int):
                scale = 0
            d = desc("bytes", name=DECIMAL, version=1, parameters={"scale": str(scale)})
            precision = s.get("precision")
            if precision is not None:
                if not isinstance(precision, int):
                    raise SchemaError("decimal precision is not an integer")
                if precision != AVRO_DECIMAL_PRECISION_DEFAULT:
                    d["parameters"]["connect.decimal.precision"] = str(precision)
            # connect.parameters (applied below) win in the AvroConverter, but a
            # plain Avro reader uses the logical type's own attributes: they
            # must say the same
            d["avro_decimal"] = (scale, precision)
        else:
            d = desc("bytes")
        if t == "fixed":
            d["parameters"]["connect.fixed.size"] = str(s.get("size"))
    elif t == "double":
        d = desc("double")
    elif t == "float":
        d = desc("float")
    elif t == "int":
        if ctype is None and lt is None:
            d = desc("int32")
        elif lt is not None:
            if str(lt).lower() == "date":
                d = desc("int32", name="org.apache.kafka.connect.data.Date", version=1)
            elif str(lt).lower() == "time-millis":
                d = desc("int32", name="org.apache.kafka.connect.data.Time", version=1)
            else:
                d = desc("int32")
        elif ctype in ("int8", "int16"):
            d = desc(ctype)
        else:
            raise SchemaError(f"connect.type '{ctype}' on an Avro int")
    elif t == "long":
        if isinstance(lt, str) and lt.lower() == "timestamp-millis":
            d = desc("int64", name="org.apache.kafka.connect.data.Timestamp", version=1)
        else:
            d = desc("int64")
    elif t == "string":
        d = desc("string")
    elif t == "array":
        items = s.get("items")
        item = named.get(items) if isinstance(items, str) else items
        if (isinstance(item, dict) and item.get("type") == "record"
                and avro_full_name(item, ns)[0] == f"{AVRO_NS}.MapEntry"):
            fields = {f["name"]: f["type"] for f in item.get("fields", [])}
            d = desc("map")
            d["keys"] = to_connect(fields.get("key"), named, ns)
            d["values"] = to_connect(fields.get("value"), named, ns)
        else:
            d = desc("array")
            d["items"] = to_connect(items, named, ns)
    elif t == "map":
        d = desc("map")
        d["keys"] = desc("string")
        d["values"] = to_connect(s.get("values"), named, ns)
    elif t in ("record", "error"):
        d = desc("struct")
        d["fields"] = [(f["name"], to_connect(f["type"], named, here, False,
                                              f.get("default", NO_DEFAULT)))
                       for f in s.get("fields", [])]
        # the record's doc is Debezium's struct doc (AvroData keeps it in a
        # parameter of its own; the JsonConverter has it as the doc)
        if s.get("doc") is not None:
            d["doc"] = s["doc"]
    elif t == "enum":
        d = desc("string", parameters={f"{AVRO_NS}.Enum": full})
        for sym in s.get("symbols", []):
            d["parameters"][f"{AVRO_NS}.Enum.{sym}"] = sym
    elif t == "null":
        raise SchemaError("a standalone null schema")
    else:
        raise SchemaError(f"unsupported Avro type '{t}'")

    if s.get("connect.doc") is not None:
        d["doc"] = s["connect.doc"]
    version = s.get("connect.version")
    if version is not None:
        if not isinstance(version, int) or isinstance(version, bool):
            raise SchemaError(f"connect.version {version!r} is not an integer")
        if d["version"] is not None and d["version"] != version:
            raise SchemaError(f"mismatched versions: {d['version']} from the logical type, "
                              f"connect.version {version}")
        d["version"] = version
    params = s.get("connect.parameters")
    if params is not None:
        if not isinstance(params, dict) or any(not isinstance(v, str) for v in params.values()):
            raise SchemaError(f"connect.parameters {params!r} is not an object of strings")
        d["parameters"].update(params)
    for k, v in s.items():
        if k.startswith("avro"):
            d["parameters"][k] = v if isinstance(v, str) else json.dumps(v)
    default = field_default
    if default is NO_DEFAULT or default is None:
        default = s.get("connect.default")
    d["default"] = default
    name = s.get("connect.name")
    if name is not None and not isinstance(name, str):
        raise SchemaError(f"connect.name {name!r} is not a string")
    if name is None and t in ("record", "enum", "fixed", "error"):
        name = full
    if name is not None and not name.startswith(f"{AVRO_NS}.ConnectDefault"):
        if d["name"] is not None and d["name"] != name:
            raise SchemaError(f"mismatched names: '{d['name']}' from the logical type, "
                              f"connect.name '{name}'")
        d["name"] = name
    d["optional"] = force_optional
    if "avro_decimal" in d:
        scale, precision = d.pop("avro_decimal")
        p = d["parameters"]
        if str(scale) != p.get("scale"):
            d["notes"] = [f"Avro decimal scale {scale} vs its Connect scale {p.get('scale')}"]
        want = p.get("connect.decimal.precision", str(AVRO_DECIMAL_PRECISION_DEFAULT))
        if precision is None or str(precision) != want:
            d.setdefault("notes", []).append(
                f"Avro decimal precision {precision} vs its connect.decimal.precision {want}")
    return d


def avro_to_connect(text):
    """Registered schema text -> (descriptor, None) or (None, error text)."""
    try:
        s = json.loads(text)
        named = {}
        avro_names(s, "", named)
        return to_connect(s, named), None
    except (SchemaError, ValueError, KeyError, TypeError) as e:
        return None, f"the AvroConverter would reject it: {e}"


def struct_fields(d):
    return dict(d.get("fields", [])) if d and d.get("type") == "struct" else {}


def schema_diffs(pg, dbz, path="", top=True):
    """Differences between two descriptors: a list of (kind, text) with kind
    'optional' (the field's own optionality, top level only) or 'differs'."""
    out = []
    where = f"{path}: " if path else ""
    if pg is None or dbz is None:
        return [("differs", f"{where}{'pgcdc' if pg is None else 'debezium'} has no schema")]
    out += [("differs", f"{where}{n}") for n in pg.get("notes", [])]
    for attr in ("type", "name", "version", "doc"):
        if pg.get(attr) != dbz.get(attr):
            out.append(("differs", f"{where}{attr} {fmt(pg.get(attr))} vs {fmt(dbz.get(attr))}"))
    if pg["optional"] != dbz["optional"]:
        # Enum array items: Debezium declares them required, pgcdc keeps
        # them nullable since a PostgreSQL array may hold NULL (docs/types.md).
        enum_items = (path.endswith("[]") and pg["optional"]
                      and dbz.get("name") == "io.debezium.data.Enum")
        kind = "optional" if top or enum_items else "differs"
        out.append((kind, f"{where}{'optional' if pg['optional'] else 'required'} vs "
                          f"{'optional' if dbz['optional'] else 'required'}"))
    pp, dp = pg.get("parameters") or {}, dbz.get("parameters") or {}
    for k in sorted(set(pp) | set(dp)):
        if pp.get(k) != dp.get(k):
            out.append(("differs", f"{where}parameter {k} {fmt(pp.get(k))} vs {fmt(dp.get(k))}"))
    if norm_default(pg.get("default")) != norm_default(dbz.get("default")):
        # A column's own default: pgoutput does not carry it and pgcdc's
        # fields all default to null (docs/types.md), so only that exact
        # difference at the top level is deliberate.
        kind = "default" if top and pg.get("default") is None else "differs"
        out.append((kind, f"{where}default {fmt(pg.get('default'))} vs {fmt(dbz.get('default'))}"))
    if pg.get("type") == dbz.get("type") == "struct":
        pn = [n for n, _ in pg.get("fields", [])]
        dn = [n for n, _ in dbz.get("fields", [])]
        if pn != dn:
            only_p = [n for n in pn if n not in dn]
            only_d = [n for n in dn if n not in pn]
            if only_p or only_d:
                out.append(("differs", f"{where}fields only in pgcdc {only_p}, only in debezium {only_d}"))
            if [n for n in pn if n in dn] != [n for n in dn if n in pn]:
                out.append(("differs", f"{where}field order {pn} vs {dn}"))
        pf, df = struct_fields(pg), struct_fields(dbz)
        for n in dn:
            if n in pf:
                out += schema_diffs(pf[n], df[n], f"{path}.{n}" if path else n, False)
    if pg.get("type") == dbz.get("type") == "array":
        out += schema_diffs(pg.get("items"), dbz.get("items"), f"{path}[]", False)
    if pg.get("type") == dbz.get("type") == "map":
        out += schema_diffs(pg.get("keys"), dbz.get("keys"), f"{path}{{key}}", False)
        out += schema_diffs(pg.get("values"), dbz.get("values"), f"{path}{{value}}", False)
    return out


def norm_default(v):
    return json.dumps(v, sort_keys=True)


def fmt(v):
    if v is None:
        return "none"
    s = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else repr(v)
    return s if len(s) <= 70 else s[:67] + "..."


def schema_desc(d):
    """A descriptor in short: type, name, parameters."""
    if d is None:
        return "-"
    t = d["type"]
    if t == "array":
        return f"array<{schema_desc(d.get('items'))}>"
    if t == "map":
        return f"map<{schema_desc(d.get('keys'))}, {schema_desc(d.get('values'))}>"
    s = t
    if d.get("name"):
        s += f" {d['name']}"
    if d.get("parameters"):
        s += " (" + ", ".join(f"{k}={v}" for k, v in sorted(d["parameters"].items())) + ")"
    return s


# --- values -------------------------------------------------------------------

def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


FLOAT_TOKENS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def canon(v, d, rep, loose):
    """A decoded value -> a comparable form, driven by its Connect schema d.
    rep: 'json' (JsonConverter: bytes as base64, NaN/Infinity as strings) or
    'avro' (fastavro's decoding, logical types left undecoded). loose: also
    round float32 values to float32 and parse json/jsonb text (the two
    normalisations; without them the comparison is exact)."""
    if v is None:
        return None
    if d is None:
        return ("no schema", v)
    t, name = d["type"], d.get("name")
    if t == "struct":
        if not isinstance(v, dict):
            return ("not a struct", v)
        out = {n: canon(v.get(n), fd, rep, loose) for n, fd in d.get("fields", [])}
        for extra in sorted(set(v) - set(out)):
            out[extra] = ("not in schema", v[extra])
        return out
    if t == "array":
        if not isinstance(v, list):
            return ("not an array", v)
        return [canon(x, d.get("items"), rep, loose) for x in v]
    if t == "map":
        if not isinstance(v, dict):
            return ("not a map", v)
        return {k: canon(x, d.get("values"), rep, loose) for k, x in v.items()}
    if t == "bytes":
        raw = v
        if rep == "json" and isinstance(v, str):
            try:
                raw = base64.b64decode(v, validate=True)
            except ValueError:
                return ("not base64", v)
        if not isinstance(raw, (bytes, bytearray)):
            return ("not bytes", v)
        if name == DECIMAL:
            # the unscaled two's complement at the schema's own scale
            scale = int((d.get("parameters") or {}).get("scale", "0"))
            unscaled = int.from_bytes(raw, "big", signed=True) if raw else 0
            return ("decimal", str(decimal.Decimal(unscaled).scaleb(-scale)))
        return ("bytes", raw.hex())
    if t in ("float", "double"):
        x = v
        if isinstance(v, str) and v in FLOAT_TOKENS:
            x = FLOAT_TOKENS[v]
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            return ("not a number", v)
        x = float(x)
        if math.isnan(x):
            return ("float", "NaN")
        if math.isinf(x):
            return ("float", "Infinity" if x > 0 else "-Infinity")
        return ("float", f32(x) if (t == "float" and loose) else x)
    if t in ("int8", "int16", "int32", "int64"):
        if isinstance(v, bool) or not isinstance(v, int):
            return ("not an integer", v)
        return v
    if t == "boolean":
        return v if isinstance(v, bool) else ("not a boolean", v)
    if t == "string":
        if not isinstance(v, str):
            return ("not a string", v)
        if loose and name == "io.debezium.data.Json":
            try:
                return ("json", json.dumps(json.loads(v), sort_keys=True))
            except ValueError:
                return v
        return v
    return ("unknown type", v)


def show(x):
    """A canonical value in a few characters."""
    def plain(y):
        if isinstance(y, tuple) and len(y) == 2 and y[0] in ("decimal", "bytes", "float", "json"):
            return {"decimal": lambda z: f"Decimal({z})", "bytes": lambda z: f"0x{z}",
                    "float": lambda z: z, "json": lambda z: f"json {z}"}[y[0]](y[1])
        if isinstance(y, tuple):
            return f"<{y[0]}: {y[1]!r}>"
        if isinstance(y, list):
            return [plain(z) for z in y]
        if isinstance(y, dict):
            return {k: plain(z) for k, z in y.items()}
        return y
    s = json.dumps(plain(x), ensure_ascii=False, default=str)
    return s if len(s) <= 60 else s[:57] + "..."


# Value differences docs/types.md lists as deliberate: column -> (test on the
# canonical pgcdc and Debezium values, reason). The test must hold for the
# difference to be called deliberate; any other difference in the column
# stays a difference.
def _date_array_artefact(p, d):
    return (isinstance(p, list) and isinstance(d, list) and len(p) == len(d)
            and all(x == y or y == -622191234 for x, y in zip(p, d)))


def _int64_wrap(p, d):
    """Both sides wrapped a timestamp beyond int64 microseconds."""
    return (isinstance(p, int) and isinstance(d, int) and p != d
            and abs(p) > 9 * 10**18 and abs(d) > 9 * 10**18)


DELIBERATE_VALUES = {
    "c_ts_far": (_int64_wrap,
                 "`timestamp` beyond 294247-01-10 does not fit int64 microseconds: both "
                 "connectors wrap around, Debezium after capping the seconds, pgcdc "
                 "exactly; neither value means anything"),
    "c_name": (lambda p, d: d is None and isinstance(p, str),
               "`name`: Debezium's streaming path reads a `name` column only when unknown "
               "types are included and otherwise emits null; pgcdc emits the string"),
    "a_date": (_date_array_artefact,
               "`date[]` with `infinity`: Debezium's element value is an overflow artefact "
               "(-622191234); pgcdc emits the same value as for a scalar `date` column"),
}

# Columns docs/types.md says pgcdc leaves out on purpose (not "not yet").
DELIBERATE_MISSING = {
    "c_tsvector": "`tsvector` is treated as an unknown type (left out unless "
                  "include.unknown.datatypes = true)",
}


def field_descs(env, part):
    for n, d in (env or {}).get("fields", []):
        if n == part:
            return struct_fields(d), d
    return {}, None


def compare_values(rep, pg_events, pg_key_d, pg_env_d, dbz_events, dbz_key_d, dbz_env_d):
    """Per column: a list of (event label, outcome, detail); plus envelope and
    key notes. rep: how pgcdc's events are represented ('avro' or 'json');
    pg_*_d are pgcdc's descriptors (Debezium's for the JSON run, which has none)."""
    per_col, notes = {}, []
    if len(pg_events) != len(dbz_events):
        notes.append(f"events: pgcdc {len(pg_events)} vs debezium {len(dbz_events)}")
    for i, ((pk, pv), (dk, dv)) in enumerate(zip(pg_events, dbz_events)):
        a, b = canon(pk, pg_key_d, rep, True), canon(dk, dbz_key_d, "json", True)
        if a != b:
            notes.append(f"event {i}: key pgcdc {show(a)} vs debezium {show(b)}")
        if (pv is None) != (dv is None):
            notes.append(f"event {i}: tombstone in one only (pgcdc {pv is None}, debezium {dv is None})")
            continue
        if pv is None:
            continue
        label = f"{dv.get('op')}#{i}"
        if pv.get("op") != dv.get("op"):
            notes.append(f"event {i}: op pgcdc {pv.get('op')} vs debezium {dv.get('op')}")
        if set(pv) != set(dv):
            notes.append(f"event {i}: envelope fields: only pgcdc {sorted(set(pv) - set(dv))}, "
                         f"only debezium {sorted(set(dv) - set(pv))}")
        ps, ds = pv.get("source") or {}, dv.get("source") or {}
        if set(ps) != set(ds):
            notes.append(f"event {i}: source fields: only pgcdc {sorted(set(ps) - set(ds))}, "
                         f"only debezium {sorted(set(ds) - set(ps))}")
        # the same WAL: every source field but the connector's version agrees
        for k in sorted(set(ps) & set(ds) - {"version"}):
            if ps[k] != ds[k]:
                notes.append(f"event {i}: source.{k}: pgcdc {ps[k]!r} vs debezium {ds[k]!r}")
        for part in ("before", "after"):
            pfs, _ = field_descs(pg_env_d, part)
            dfs, _ = field_descs(dbz_env_d, part)
            prow, drow = pv.get(part), dv.get(part)
            if prow is None and drow is None:
                continue
            if (prow is None) != (drow is None):
                notes.append(f"event {i}: {part} is null in {'pgcdc' if prow is None else 'debezium'} only")
                continue
            for col in sorted(set(prow) | set(drow)):
                where = f"{label}.{part}"
                r = per_col.setdefault(col, [])
                if col not in drow:
                    r.append((where, "missing", "absent in debezium"))
                elif col not in prow:
                    r.append((where, "missing", "absent in pgcdc"))
                else:
                    pd_, dd_ = pfs.get(col), dfs.get(col)
                    x, y = canon(prow[col], pd_, rep, True), canon(drow[col], dd_, "json", True)
                    if x == y:
                        exact = canon(prow[col], pd_, rep, False) == canon(drow[col], dd_, "json", False)
                        r.append((where, "identical", "" if exact else "after normalisation"))
                    else:
                        test = DELIBERATE_VALUES.get(col)
                        kind = "deliberate" if test and test[0](x, y) else "differs"
                        r.append((where, kind, f"pgcdc {show(x)} vs debezium {show(y)}"))
    return per_col, notes


def value_verdict(results):
    if results is None:
        return "left out by both"
    kinds = {r[1] for r in results}
    if kinds == {"identical"}:
        return "identical" + (" (after normalisation)" if any(r[2] for r in results) else "")
    if kinds == {"missing"}:
        return "missing: " + "; ".join(sorted({r[2] for r in results}))
    parts = [f"{w}: {d}" for w, k, d in results if k != "identical"]
    head = "differs" if "differs" in kinds else ("missing" if "missing" in kinds else "differs (deliberate)")
    return head + ": " + "; ".join(parts[:2]) + (f" (+{len(parts) - 2} more)" if len(parts) > 2 else "")


# --- the run ------------------------------------------------------------------

def decode_avro_run(run):
    """Raw Avro records -> [(key, value)] decoded by fastavro with the writer
    schema of each record's id (logical types left undecoded: canon() reads
    Decimal bytes itself, from the Connect schema), and notes."""
    import fastavro
    notes, parsed = [], {}

    def schema(sid):
        if sid not in parsed:
            s = json.loads(run["by_id"][str(sid)])
            strip_logical(s)
            parsed[sid] = fastavro.parse_schema(s)
        return parsed[sid]

    latest = {k: v.get("id") for k, v in run.get("latest", {}).items()}
    events = []
    for i, rec in enumerate(run["records"]):
        pair = []
        for part in ("key", "value"):
            raw = unb64(rec[part])
            if raw is None:
                pair.append(None)
                continue
            if len(raw) < 5 or raw[0] != 0:
                notes.append(f"event {i}: {part} is not in Confluent framing")
                pair.append(None)
                continue
            sid = struct.unpack(">i", raw[1:5])[0]
            if latest.get(part) is not None and sid != latest[part]:
                notes.append(f"event {i}: {part} schema id {sid}, latest is {latest[part]}")
            body = io.BytesIO(raw[5:])
            try:
                pair.append(fastavro.schemaless_reader(body, schema(sid)))
            except Exception as e:  # noqa: BLE001 - any decoding failure is a finding
                notes.append(f"event {i}: {part}: fastavro cannot decode it with schema {sid}: {e}")
                pair.append(None)
                continue
            if body.read():
                notes.append(f"event {i}: {part}: bytes left over after the Avro record")
        events.append(tuple(pair))
    return events, notes


def strip_logical(s):
    if isinstance(s, dict):
        s.pop("logicalType", None)
        for v in s.values():
            strip_logical(v)
    elif isinstance(s, list):
        for v in s:
            strip_logical(v)


def dbz_descriptors(dbz_events):
    key_d = env_d = None
    for k, v in dbz_events:
        if key_d is None and k and "schema" in k:
            key_d = from_json_schema(k["schema"])
        if env_d is None and v and "schema" in v:
            env_d = from_json_schema(v["schema"])
    return key_d, env_d


def column_schemas(env_d):
    fs, _ = field_descs(env_d, "after")
    return fs or field_descs(env_d, "before")[0]


def without_columns(env_d):
    """The envelope with before/after reduced to their own attributes."""
    if env_d is None:
        return None
    e = copy.deepcopy(env_d)
    for n, d in e.get("fields", []):
        if n in ("before", "after") and d and d.get("type") == "struct":
            d["fields"] = []
    return e


def schema_verdict(col, pg_d, dbz_d):
    if pg_d is None and dbz_d is None:
        return "left out by both"
    if pg_d is None:
        why = DELIBERATE_MISSING.get(col)
        return "missing in pgcdc" + (" (deliberate)" if why else "")
    if dbz_d is None:
        return "missing in debezium"
    diffs = schema_diffs(pg_d, dbz_d)
    real = [t for k, t in diffs if k == "differs"]
    opt = [t for k, t in diffs if k in ("optional", "default")]
    if any(not pg_d["optional"] for _ in opt):      # required in pgcdc, optional in Debezium
        real += opt
        opt = []
    if real:
        real = real[:3] + ([f"+{len(real) - 3} more"] if len(real) > 3 else [])
        return "differs: " + "; ".join(real + [f"{t} (deliberate)" for t in opt])
    if opt and all(k == "optional" for k, _ in diffs):
        return "identical but optional (deliberate)"
    if opt:
        return "differs (deliberate): " + "; ".join(opt)
    return "identical"


def merged_value_verdict(avro_v, json_v):
    if avro_v == json_v:
        return avro_v
    return f"avro: {avro_v} / json: {json_v}"


# summary categories, worst first
VALUE_CATEGORIES = ["differs", "missing", "differs (deliberate)", "identical (after normalisation)",
                    "identical", "left out by both"]


def category(v):
    """The summary category of a verdict (the head before its details)."""
    return v.split(":")[0].strip()


def value_category(avro_v, json_v):
    cats = {category(avro_v), category(json_v)}
    return min(cats, key=lambda c: VALUE_CATEGORIES.index(c) if c in VALUE_CATEGORIES else -1)


def run_all(work):
    with psycopg.connect(dsn(), autocommit=True) as conn:
        n = prepare(conn)
        log("changes made; running pgcdc (avro, kafka sink)")
        avro_run, avro_log = run_pgcdc_avro(work, n)
        log(f"pgcdc (avro): {len(avro_run['records'])} records; running pgcdc (json, stdout sink)")
        json_events, json_log = run_pgcdc(work, n)
        log(f"pgcdc (json): {len(json_events)} events; running debezium")
        dbz_events, _ = run_debezium(work, n)
        log(f"debezium: {len(dbz_events)} events")
        with conn.cursor() as cur:
            for slot in SLOTS:
                cur.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                            "WHERE slot_name = %s AND NOT active", (slot,))
    warn = []
    for text in (avro_log, json_log):
        warn += [l.split(" WARN ", 1)[1] for l in text.splitlines() if " WARN " in l]
    return {"expected": n, "pgcdc_avro": avro_run, "pgcdc_json": json_events,
            "debezium": dbz_events, "pgcdc_warnings": list(dict.fromkeys(warn))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--events", help="compare the raw events of an earlier run instead of running")
    ap.add_argument("--mode", action="append", default=[], metavar="KEY=VALUE",
                    help="a connector setting for both sides, e.g. decimal.handling.mode=string "
                         "(repeatable); results go to conformance-<settings>.md")
    a = ap.parse_args()
    MODES[:] = a.mode
    suffix = ("-" + "-".join(re.sub(r"[^A-Za-z0-9]+", "_", m) for m in MODES)) if MODES else ""
    if a.events:
        with open(a.events) as f:
            raw = json.load(f)
    else:
        work = tempfile.mkdtemp(prefix="pgcdc-conformance-")
        raw = run_all(work)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(a.results, exist_ok=True)
        with open(os.path.join(a.results, f"conformance-events{suffix}.json"), "w") as f:
            json.dump(raw, f, ensure_ascii=False)
    n = raw["expected"]
    dbz_events = [(k, v["payload"] if v else None) for k, v in raw["debezium"]]
    dbz_events = [(k["payload"] if k and "payload" in k else k, v) for k, v in dbz_events]
    dbz_key_d, dbz_env_d = dbz_descriptors(raw["debezium"])
    avro_events, avro_notes = decode_avro_run(raw["pgcdc_avro"])
    latest = raw["pgcdc_avro"].get("latest", {})
    pg_key_d, key_err = avro_to_connect(latest["key"]["schema"]) if "key" in latest else (None, "no key schema registered")
    pg_env_d, env_err = avro_to_connect(latest["value"]["schema"]) if "value" in latest else (None, "no value schema registered")
    json_events = [(k, v) for k, v in raw["pgcdc_json"]]

    avro_cols, avro_env_notes = compare_values("avro", avro_events, pg_key_d, pg_env_d,
                                               dbz_events, dbz_key_d, dbz_env_d)
    json_cols, json_env_notes = compare_values("json", json_events, dbz_key_d, dbz_env_d,
                                               dbz_events, dbz_key_d, dbz_env_d)
    pg_cols, dbz_cols = column_schemas(pg_env_d), column_schemas(dbz_env_d)

    rows, vcount, scount = [], {}, {}
    for col, typ, _, _ in COLUMNS:
        v = merged_value_verdict(value_verdict(avro_cols.get(col)), value_verdict(json_cols.get(col)))
        s = schema_verdict(col, pg_cols.get(col), dbz_cols.get(col))
        vc = value_category(value_verdict(avro_cols.get(col)), value_verdict(json_cols.get(col)))
        vcount[vc] = vcount.get(vc, 0) + 1
        scount[category(s)] = scount.get(category(s), 0) + 1
        rows.append((col, typ, schema_desc(dbz_cols.get(col)), v, s))
    extra = [c for c in list(pg_cols) + list(dbz_cols) if c != "id" and c not in {x[0] for x in COLUMNS}]

    # envelope, source, transaction and key schemas
    env_notes = []
    for err in (key_err, env_err):
        if err:
            env_notes.append(err)
    if pg_env_d and dbz_env_d:
        for kind, t in schema_diffs(without_columns(pg_env_d), without_columns(dbz_env_d), "envelope"):
            env_notes.append(t)
        pn = [c for c in pg_cols if c in dbz_cols]
        dn = [c for c in dbz_cols if c in pg_cols]
        if pn != dn:
            env_notes.append(f"column order differs: pgcdc {pn} vs debezium {dn}")
        id_p, id_d = pg_cols.get("id"), dbz_cols.get("id")
        for kind, t in schema_diffs(id_p, id_d, "value column id") if id_p and id_d else []:
            env_notes.append(t + (" (deliberate)" if kind == "optional" and id_p["optional"] else ""))
    if pg_key_d and dbz_key_d:
        env_notes += [t for _, t in schema_diffs(pg_key_d, dbz_key_d, "key")]

    avro_n = len(raw["pgcdc_avro"]["records"])
    summary = (f"Events: pgcdc avro {avro_n}, pgcdc json {len(json_events)}, Debezium "
               f"{len(dbz_events)} (expected {n}). Columns: {len(COLUMNS)}. Values: "
               + ", ".join(f"{k} {v}" for k, v in sorted(vcount.items())) + ". Schemas: "
               + ", ".join(f"{k} {v}" for k, v in sorted(scount.items())) + ".")
    md = ["# Format conformance: pgcdc vs Debezium", "",
          f"pgcdc (format avro, Kafka sink, schema registry; and format json, stdout sink) and "
          f"Debezium {debezium_version()} (JsonConverter, schemas.enable=true) decoded the same "
          "WAL: 3 inserts (typical values, all NULL, extreme values), an update of every column "
          "of row 1 to row 3's values, an update of one column of row 1 (its TOASTed values "
          "unchanged), the delete of row 3 (REPLICA IDENTITY FULL, so before images are whole "
          "rows). Written by `tests/bench/conformance`; "
          "[README](../README.md#conformance) says how values and schemas are compared.", "",
          (f"Settings on both sides: {', '.join(MODES)}." if MODES else
           "Default settings on both sides."), "",
          summary, "",
          "| column | PostgreSQL type | Debezium schema | value result | schema result |",
          "|---|---|---|---|---|"]
    for r in rows:
        md.append("| " + " | ".join(str(x).replace("|", "\\|") for x in r) + " |")
    if extra:
        md += ["", f"Columns outside the list: {extra}"]
    md += ["", "## Envelope, source and key schemas", ""]
    md += [f"- {x}" for x in dict.fromkeys(env_notes)] or ["- identical"]
    md += ["", "## Keys, ops and source values", ""]
    ev = [f"avro: {x}" for x in avro_notes + avro_env_notes] + [f"json: {x}" for x in json_env_notes]
    md += [f"- {x}" for x in dict.fromkeys(ev)] or ["- identical"]
    md += ["", "## Deliberate differences", "",
           "Marked \"deliberate\" above only when the difference is exactly the one described "
           "here (as in docs/types.md):", "",
           "- Optionality: every non-key column of pgcdc's value schema is optional (a nullable "
           "union with default null), so adding or dropping a column is a backward-compatible "
           "change in the registry; Debezium makes a column required when it is NOT NULL.",
           "- Column defaults: Debezium reads a column's DEFAULT from the catalog into the "
           "field's schema default; pgoutput does not carry defaults and every pgcdc field "
           "defaults to null, so schema evolution never depends on a default.",
           "- Enum array items: Debezium declares them required; pgcdc keeps them nullable, "
           "as a PostgreSQL array may hold NULL elements."]
    applied = {c for c, res in list(avro_cols.items()) + list(json_cols.items())
               if any(r[1] == "deliberate" for r in res)}
    applied |= {c for c in DELIBERATE_MISSING if c not in pg_cols and c in dbz_cols}
    md += [f"- {why}." for c, (_, why) in DELIBERATE_VALUES.items() if c in applied]
    md += [f"- {why}." for c, why in DELIBERATE_MISSING.items() if c in applied]
    md += ["- numeric NaN is not in the table: both connectors stop on it (precise decimal "
           "handling cannot represent it)."]
    if raw.get("pgcdc_warnings"):
        md += ["", "## pgcdc warnings", ""] + [f"- `{w}`" for w in raw["pgcdc_warnings"]]
    text = "\n".join(md) + "\n"
    os.makedirs(a.results, exist_ok=True)
    with open(os.path.join(a.results, f"conformance{suffix}.md"), "w") as f:
        f.write(text)
    print(text)
    return 0 if avro_events and json_events and dbz_events else 1


def debezium_version():
    with open(os.path.join(HERE, "pom.xml")) as f:
        return re.search(r"<debezium.version>(.*?)<", f.read()).group(1)


if __name__ == "__main__":
    sys.exit(main())
