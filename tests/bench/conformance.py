#!/usr/bin/env python3
"""Format conformance: the same changes through pgcdc and Debezium, compared
column by column.

Run by tests/bench/conformance (which installs, builds and starts the harness);
needs the harness's exports and PGCDC_BIN in the environment.

A table conf_t has one column per type of Debezium's PostgreSQL type mapping
(plus an enum, domains, extension types and arrays), REPLICA IDENTITY FULL so
that updates and deletes carry a whole old row. Three rows are inserted
(typical values, all NULL, extreme values: NaN, infinities, BC and far-future
dates, unicode, empty arrays and NULL elements), one is updated, one deleted.
Two slots are created before the changes, so both connectors decode the same
WAL:
  - pgcdc, format json, stdout sink (its JSON is the JsonConverter's with
    schemas.enable=false: the payload itself);
  - Debezium 3.x on Kafka Connect standalone, JsonConverter with
    schemas.enable=true, so each value comes with its Connect schema.
Values: each event's key, op, and the before/after value of every column are
compared after a light normalisation (float32 values compared at float32
precision, JSON strings of json/jsonb columns compared as parsed JSON); the
table says identical / differs (how) / missing (in which).
Schemas: compared when pgcdc's Avro schema is available (format avro and a
registry); until then the table shows Debezium's schema and "not compared".
"""
import argparse
import base64
import json
import os
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

# (column, type, typical value, extreme value) as SQL literals; None = NULL
COLUMNS = [
    ("c_bool", "boolean", "true", "false"),
    ("c_bit1", "bit(1)", "B'1'", "B'0'"),
    ("c_bit12", "bit(12)", "B'101000000001'", "B'000000000000'"),
    ("c_varbit", "bit varying(20)", "B'10110'", "B'11111111111111111111'"),
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
    ("c_timetz", "timetz", "'10:15:30.5+02'", "'00:00:00-14:59'"),
    ("c_ts3", "timestamp(3)", "'2024-01-15 10:30:00.123'", "'-infinity'"),
    ("c_ts", "timestamp", "'2024-01-15 10:30:00.654321'", "'4713-01-01 00:00:00 BC'"),
    ("c_ts_far", "timestamp", "'1969-12-31 23:59:59.999999'", "'294276-12-31 23:59:59.999999'"),
    ("c_tstz", "timestamptz", "'2024-01-15 02:00:00+05:30'", "'infinity'"),
    ("c_tstz0", "timestamptz(0)", "'2024-01-15 02:00:00.4+00'", "'0044-03-15 12:00:00+00 BC'"),
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
    ("a_enum", "conf_mood[]", "'{happy,sad}'", "'{}'"),
    ("a_money", "money[]", "'{1.00}'", "'{}'"),
    ("a_interval", "interval[]", "'{\"1 day\"}'", "'{}'"),
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
        for slot in ("conf_pgcdc", "conf_debezium"):
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
        cur.execute("DELETE FROM conf_t WHERE id = 3")
    # 3 creates, 1 update, 1 delete + tombstone
    return 6


def run_pgcdc(work, n, timeout=60):
    """pgcdc, format json, stdout sink: the events as (key, value) dicts."""
    out_path = os.path.join(work, "pgcdc.jsonl")
    with open(out_path, "wb") as out, open(os.path.join(work, "pgcdc.log"), "wb") as err:
        p = subprocess.Popen([os.path.join(HERE, "contender-pgcdc"), os.path.join(work, "pgcdc"),
                              "conf_pgcdc", "conf_pub", "conf", "json", "-o", "sink=stdout",
                              "-o", "include.unknown.datatypes=false"],
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
    p = subprocess.Popen([os.path.join(HERE, "contender-debezium"), "run", os.path.join(work, "dbz"),
                          "conf_debezium", "conf_pub", "conf", "json-schemas"],
                         stdout=logf, stderr=logf, start_new_session=True)
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


# --- normalisation and comparison ------------------------------------------

def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def schema_desc(s):
    """Debezium's Connect schema of a field, in short: type, name, parameters."""
    if s is None:
        return "-"
    t = s.get("type")
    if t == "array":
        return f"array<{schema_desc(s.get('items'))}>"
    if t == "struct" and not s.get("name"):
        return "struct"
    d = t
    if s.get("name"):
        d += f" {s['name']}"
    params = s.get("parameters")
    if params:
        d += " (" + ", ".join(f"{k}={v}" for k, v in sorted(params.items())) + ")"
    return d


def norm(v, schema):
    """A value in a form where equal meanings compare equal."""
    if v is None or schema is None:
        return v
    t = schema.get("type")
    name = schema.get("name") or ""
    if t == "float" and isinstance(v, (int, float)):
        return f32(float(v))
    if t in ("float", "double") and isinstance(v, str):
        return v  # NaN / Infinity as strings
    if t == "array" and isinstance(v, list):
        return [norm(x, schema.get("items")) for x in v]
    if name == "io.debezium.data.Json" and isinstance(v, str):
        try:
            return ("json", json.dumps(json.loads(v), sort_keys=True))
        except ValueError:
            return v
    return v


def how(a, b):
    """Why a (pgcdc) and b (Debezium) differ, in a few words."""
    def short(x):
        s = json.dumps(x, ensure_ascii=False)
        return s if len(s) <= 60 else s[:57] + "..."
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return f"pgcdc {short(a)} ({type(a).__name__}) vs debezium {short(b)} ({type(b).__name__})"
    return f"pgcdc {short(a)} vs debezium {short(b)}"


def field_schemas(env_schema, part):
    for f in env_schema.get("fields", []):
        if f.get("field") == part:
            return {x["field"]: x for x in f.get("fields", [])}
    return {}


def compare(pg_events, dbz_events):
    """Per column: a list of (event label, outcome, detail); plus envelope notes."""
    per_col = {}
    notes = []
    dbz_schemas = {}
    for i, ((pk, pv), (dk, dv)) in enumerate(zip(pg_events, dbz_events)):
        dpay = dv["payload"] if dv else None
        dkey = dk["payload"] if dk and "payload" in dk else dk
        if pk != dkey:
            notes.append(f"event {i}: key differs: pgcdc {pk} vs debezium {dkey}")
        if (pv is None) != (dpay is None):
            notes.append(f"event {i}: tombstone in one only (pgcdc {pv is None}, debezium {dpay is None})")
            continue
        if pv is None:
            continue
        label = f"{dpay.get('op')}#{i}"
        if pv.get("op") != dpay.get("op"):
            notes.append(f"event {i}: op pgcdc {pv.get('op')} vs debezium {dpay.get('op')}")
        if set(pv) != set(dpay):
            notes.append(f"event {i}: envelope fields: only pgcdc {sorted(set(pv) - set(dpay))}, "
                         f"only debezium {sorted(set(dpay) - set(pv))}")
        ps, ds = pv.get("source") or {}, dpay.get("source") or {}
        if set(ps) != set(ds):
            notes.append(f"event {i}: source fields: only pgcdc {sorted(set(ps) - set(ds))}, "
                         f"only debezium {sorted(set(ds) - set(ps))}")
        for k in ("connector", "db", "schema", "table", "snapshot", "name"):
            if k in ps and k in ds and ps[k] != ds[k] and k != "name":
                notes.append(f"event {i}: source.{k}: pgcdc {ps[k]!r} vs debezium {ds[k]!r}")
        for part in ("before", "after"):
            fs = field_schemas(dv["schema"], part)
            for col, sch in fs.items():
                dbz_schemas.setdefault(col, sch)
            prow, drow = pv.get(part), dpay.get(part)
            if prow is None and drow is None:
                continue
            if (prow is None) != (drow is None):
                notes.append(f"event {i}: {part} is null in {'pgcdc' if prow is None else 'debezium'} only")
                continue
            for col in sorted(set(prow) | set(drow)):
                where = f"{label}.{part}"
                if col not in drow:
                    per_col.setdefault(col, []).append((where, "missing", "absent in debezium"))
                elif col not in prow:
                    per_col.setdefault(col, []).append((where, "missing", "absent in pgcdc"))
                else:
                    a, b = norm(prow[col], fs.get(col)), norm(drow[col], fs.get(col))
                    if a == b:
                        exact = prow[col] == drow[col]
                        per_col.setdefault(col, []).append(
                            (where, "identical", "" if exact else "after normalisation"))
                    else:
                        per_col.setdefault(col, []).append((where, "differs", how(prow[col], drow[col])))
    return per_col, notes, dbz_schemas


def verdict(results):
    kinds = {r[1] for r in results}
    if kinds == {"identical"}:
        norm_only = any(r[2] for r in results)
        return "identical" + (" (after normalisation)" if norm_only else "")
    if "missing" in kinds and kinds <= {"missing"}:
        return "missing: " + sorted({r[2] for r in results})[0]
    parts = []
    for where, kind, detail in results:
        if kind != "identical":
            parts.append(f"{where}: {detail}")
    return ("differs" if "differs" in kinds else "missing") + ": " + "; ".join(parts[:3]) + (
        f" (+{len(parts) - 3} more)" if len(parts) > 3 else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pgcdc-conformance-")
    with psycopg.connect(dsn(), autocommit=True) as conn:
        n = prepare(conn)
        log("changes made; running pgcdc")
        pg_events, pg_log = run_pgcdc(work, n)
        log(f"pgcdc: {len(pg_events)} events; running debezium")
        dbz_events, dbz_log = run_debezium(work, n)
        log(f"debezium: {len(dbz_events)} events")
        with conn.cursor() as cur:
            for slot in ("conf_pgcdc", "conf_debezium"):
                cur.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                            "WHERE slot_name = %s AND NOT active", (slot,))
    per_col, notes, dbz_schemas = compare(pg_events, dbz_events)
    pg_warn = [l.split(" WARN ", 1)[1] for l in pg_log.splitlines() if " WARN " in l]
    rows = []
    counts = {}
    for col, typ, _, _ in COLUMNS:
        res = per_col.get(col)
        if res is None:
            v = "left out by both"
        else:
            v = verdict(res)
        counts[v.split(":")[0].split(" (")[0]] = counts.get(v.split(":")[0].split(" (")[0], 0) + 1
        rows.append((col, typ, schema_desc(dbz_schemas.get(col)), v, "not compared"))
    md = ["# Format conformance: pgcdc vs Debezium", "",
          f"pgcdc (format json, stdout sink) and Debezium {debezium_version()} (JsonConverter, "
          "schemas.enable=true) decoded the same WAL: 3 inserts (typical values, all NULL, "
          "extreme values), an update of every column of row 1 to row 3's values, the delete "
          "of row 3 (REPLICA IDENTITY FULL, so before images are whole rows). Values are "
          "compared per column over every before/after image; float32 values at float32 "
          "precision and json/jsonb as parsed JSON (\"after normalisation\").", "",
          "Schemas: **not compared** yet (pgcdc's Avro schema is not available in this build); "
          "the Debezium column shows the Connect schema Debezium gave each column.", "",
          f"Events: pgcdc {len(pg_events)}, Debezium {len(dbz_events)} (expected {n}). "
          f"Columns: {len(COLUMNS)}; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ".",
          "", "| column | PostgreSQL type | Debezium schema | values | schema |", "|---|---|---|---|---|"]
    for r in rows:
        md.append("| " + " | ".join(str(x).replace("|", "\\|") for x in r) + " |")
    md += ["", "## Envelope and key", ""]
    md += [f"- {x}" for x in dict.fromkeys(notes)] or ["- identical keys, ops and envelope fields"]
    if pg_warn:
        md += ["", "## pgcdc warnings", ""] + [f"- `{w}`" for w in dict.fromkeys(pg_warn)]
    text = "\n".join(md) + "\n"
    os.makedirs(a.results, exist_ok=True)
    with open(os.path.join(a.results, "conformance.md"), "w") as f:
        f.write(text)
    with open(os.path.join(a.results, "conformance-events.json"), "w") as f:
        json.dump({"pgcdc": pg_events, "debezium": dbz_events}, f, indent=1, ensure_ascii=False)
    print(text)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if pg_events and dbz_events else 1


def debezium_version():
    import re
    with open(os.path.join(HERE, "pom.xml")) as f:
        return re.search(r"<debezium.version>(.*?)<", f.read()).group(1)


if __name__ == "__main__":
    sys.exit(main())
