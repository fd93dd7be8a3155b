"""Types pgoutput only names by oid (enums, domains, extension types) and
the geometric types, against the real PostgreSQL: values through the stdout
sink as JSON, schemas through Kafka and the registry as Avro. Expected
values are Debezium 3.7's for the same inputs (tests/bench/conformance)."""
import base64
import uuid
from decimal import Decimal

import psycopg
import pytest

from conftest import by_topic, sql
from kafka_util import REGISTRY, BOOTSTRAP, consume, consume_until, schema_by_id


def extension_available(db, name):
    """Creates the extension when the server has it; False when it cannot."""
    try:
        sql(db, f"CREATE EXTENSION IF NOT EXISTS {name}")
        return True
    except psycopg.Error:
        return False


@pytest.fixture
def types(db):
    """Creates an enum and two domains with unique names; drops them after."""
    suffix = uuid.uuid4().hex[:8]
    names = {"mood": f"mood_{suffix}", "price": f"price_{suffix}", "email": f"email_{suffix}"}
    sql(db, f"CREATE TYPE {names['mood']} AS ENUM ('sad', 'ok', 'happy')")
    sql(db, f"CREATE DOMAIN {names['price']} AS numeric(8,2) CHECK (VALUE >= 0)")
    sql(db, f"CREATE DOMAIN {names['email']} AS text CHECK (VALUE LIKE '%@%')")
    yield names
    for kind, n in (("DOMAIN", names["price"]), ("DOMAIN", names["email"]),
                    ("TYPE", names["mood"])):
        sql(db, f"DROP {kind} IF EXISTS {n} CASCADE")


def columns(db, types):
    """The column list of the test table, and which extension columns exist."""
    has = {ext: extension_available(db, ext) for ext in ("citext", "hstore")}
    cols = [f"id int PRIMARY KEY", f"e {types['mood']}", f"ea {types['mood']}[]",
            f"dn {types['price']}", f"dt {types['email']}", "pt point", "ci_circle circle",
            "bx box", "pa path", "lsn pg_lsn"]
    if has["citext"]:
        cols.append("ci citext")
    if has["hstore"]:
        cols.append("hs hstore")
    return ", ".join(cols), has


INSERT = ("INSERT INTO {t} (id, e, ea, dn, dt, pt, ci_circle, bx, pa, lsn{extra}) VALUES "
          "(1, 'happy', '{{happy,sad}}', 12.5, 'a@b.c', '(1.5,-2)', '<(1,1),0.5>', "
          "'((0,0),(1,1))', '((0,0),(1,1),(2,0))', '0/16B3748'{extra_vals})")


# hstore 'b=>1, q=>2, n=>NULL, "x\"y"=>"a\\b"' as Debezium writes it: keys in
# java.util.HashMap order ("q" hashes to bucket 1, "b" to 2, "n" and "x\"y"
# to 14, in insertion order), Jackson's escapes.
HSTORE_JSON = r'{"q":"2","b":"1","n":null,"x\"y":"a\\b"}'


def insert_row(db, t, has):
    extra, vals = "", ""
    if has["citext"]:
        extra += ", ci"
        vals += ", 'MiXeD'"
    if has["hstore"]:
        extra += ", hs"
        vals += r""", 'b=>1, q=>2, n=>NULL, "x\"y"=>"a\\b"'"""
    sql(db, INSERT.format(t=t, extra=extra, extra_vals=vals))


def test_catalog_types_values_as_json(db, pgcdc, table, types):
    body, has = columns(db, types)
    t = table(body)
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    insert_row(db, t, has)
    sql(db, f"UPDATE {t} SET e = 'sad', ea = '{{}}', dn = NULL WHERE id = 1")
    ev = by_topic(p.events(2), f"{p.name}.public.{t}")
    a = ev[0]["value"]["after"]

    assert a["e"] == "happy"
    assert a["ea"] == ["happy", "sad"]
    raw = base64.b64decode(a["dn"])  # Decimal of the domain's numeric(8,2)
    assert Decimal(int.from_bytes(raw, "big", signed=True)).scaleb(-2) == Decimal("12.50")
    assert a["dt"] == "a@b.c"
    assert a["pt"] == {"x": 1.5, "y": -2.0, "wkb": "AQEAAAAAAAAAAAD4PwAAAAAAAADA", "srid": None}
    assert a["ci_circle"] == {"center": {"x": 1.0, "y": 1.0, "wkb": "AQEAAAAAAAAAAADwPwAAAAAAAPA/",
                                         "srid": None}, "radius": 0.5}
    assert a["bx"] == {
        "wkb": "AQMAAAABAAAABQAAAAAAAAAAAPA/AAAAAAAA8D8AAAAAAADwPwAAAAAAAAAAAAAAAAAAAAAA"
               "AAAAAAAAAAAAAAAAAAAAAAAAAAAA8D8AAAAAAADwPwAAAAAAAPA/",
        "srid": None, "extensions": {"type": "box"}}
    assert a["pa"] == {
        "wkb": "AQIAAAADAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAPA/AAAAAAAA8D8AAAAAAAAAQAAAAAAAAAAA",
        "srid": None, "extensions": {"type": "path", "closed": "true"}}
    assert "lsn" not in a  # pg_lsn: not in Debezium's mapping, left out
    if has["citext"]:
        assert a["ci"] == "MiXeD"
    if has["hstore"]:
        # Java HashMap order: "q" (bucket 1) before "b" (bucket 2) before "n"
        # (bucket 14) before "x\"y"; the JSON text itself, not just its content.
        assert a["hs"] == HSTORE_JSON
    u = ev[1]["value"]["after"]
    assert u["e"] == "sad" and u["ea"] == [] and u["dn"] is None

    # One warning, one sentence, for the column left out.
    warn = [l for l in p.stderr().splitlines() if "column 'lsn'" in l]
    assert len(warn) == 1, warn
    assert warn[0].count("left out") == 1
    assert "type 'pg_lsn' is not in Debezium's type mapping" in warn[0]
    assert "include.unknown.datatypes = true" in warn[0]
    if not has["citext"] or not has["hstore"]:
        pytest.skip(f"extensions not available in this PostgreSQL: {has}")


def field_type(record, name):
    """The Avro type of field name of a record schema, without the null branch."""
    f = next(f for f in record["fields"] if f["name"] == name)
    t = f["type"]
    assert isinstance(t, list) and t[0] == "null" and f["default"] is None, f
    return t[1]


def kafka_cfg():
    return {"sink": "kafka", "format": "avro", "schema.registry.url": REGISTRY,
            "kafka.bootstrap.servers": BOOTSTRAP, "topic.creation.default.partitions": "1"}


def test_catalog_types_avro_schemas_and_values(db, pgcdc, table, types):
    body, has = columns(db, types)
    t = table(body)
    p = pgcdc(table_include_list=f"public\\.{t}")
    p.cfg.update(kafka_cfg())
    p.start()
    insert_row(db, t, has)
    topic = f"{p.name}.public.{t}"
    rec = consume(topic, 1)[0]
    schema, _ = schema_by_id(rec["value_id"])
    value = field_type(schema, "before")
    assert value["name"] == "Value"

    enum = {"type": "string", "connect.version": 1,
            "connect.parameters": {"allowed": "sad,ok,happy"},
            "connect.name": "io.debezium.data.Enum"}
    assert field_type(value, "e") == enum
    assert field_type(value, "ea") == {"type": "array", "items": ["null", enum]}
    dn = field_type(value, "dn")
    assert dn["connect.name"] == "org.apache.kafka.connect.data.Decimal"
    assert dn["connect.parameters"] == {"scale": "2", "connect.decimal.precision": "8"}
    assert dn["logicalType"] == "decimal" and dn["scale"] == 2 and dn["precision"] == 8
    assert field_type(value, "dt") == "string"
    point = field_type(value, "pt")
    assert point == {
        "type": "record", "name": "Point", "namespace": "io.debezium.data.geometry",
        "doc": "Geometry (POINT)",
        "fields": [{"name": "x", "type": "double"}, {"name": "y", "type": "double"},
                   {"name": "wkb", "type": ["null", "bytes"], "default": None},
                   {"name": "srid", "type": ["null", "int"], "default": None}],
        "connect.doc": "Geometry (POINT)", "connect.version": 1,
        "connect.name": "io.debezium.data.geometry.Point"}
    circle = field_type(value, "ci_circle")
    assert circle["connect.name"] == "io.debezium.data.geometry.Circle"
    # Point is defined once in the schema and referred to by name after.
    assert circle["fields"][0] == {"name": "center", "type": "io.debezium.data.geometry.Point"}
    box = field_type(value, "bx")
    assert box["connect.name"] == "io.debezium.data.geometry.Geometry"
    assert box["connect.version"] == 2
    assert box["fields"][2] == {"name": "extensions",
                                "type": ["null", {"type": "map", "values": "string"}],
                                "default": None}
    assert field_type(value, "pa") == "io.debezium.data.geometry.Geometry"
    names = [f["name"] for f in value["fields"]]
    assert "lsn" not in names
    if has["citext"]:
        assert field_type(value, "ci") == "string"
    if has["hstore"]:
        assert field_type(value, "hs") == {"type": "string", "connect.version": 1,
                                           "connect.name": "io.debezium.data.Json"}

    a = rec["value"]["after"]
    assert a["e"] == "happy" and a["ea"] == ["happy", "sad"]
    assert a["dn"] == Decimal("12.50") and a["dt"] == "a@b.c"
    assert a["pt"] == {"x": 1.5, "y": -2.0,
                       "wkb": base64.b64decode("AQEAAAAAAAAAAAD4PwAAAAAAAADA"), "srid": None}
    assert a["ci_circle"]["radius"] == 0.5 and a["ci_circle"]["center"]["x"] == 1.0
    assert a["bx"]["extensions"] == {"type": "box"} and a["bx"]["srid"] is None
    assert a["pa"]["extensions"] == {"type": "path", "closed": "true"}
    if has["citext"]:
        assert a["ci"] == "MiXeD"
    if has["hstore"]:
        assert a["hs"] == HSTORE_JSON

    # A label added to the enum shows in the schema once the table's next
    # Relation message (after DDL on it) makes pgcdc read the catalog again.
    sql(db, f"ALTER TYPE {types['mood']} ADD VALUE 'ecstatic'")
    sql(db, f"ALTER TABLE {t} ADD COLUMN extra int")
    sql(db, f"INSERT INTO {t} (id, e) VALUES (2, 'ecstatic')")
    recs = consume_until(topic, lambda rs: any(r["key"] == {"id": 2} for r in rs))
    r2 = next(r for r in recs if r["key"] == {"id": 2})
    assert r2["value"]["after"]["e"] == "ecstatic"
    schema2, _ = schema_by_id(r2["value_id"])
    enum2 = field_type(field_type(schema2, "before"), "e")
    assert enum2["connect.parameters"] == {"allowed": "sad,ok,happy,ecstatic"}
    if not has["citext"] or not has["hstore"]:
        pytest.skip(f"extensions not available in this PostgreSQL: {has}")


# PostGIS: geometry and geography as Debezium 3.7 maps them. wkb is the
# EWKB exactly as PostGIS stores it (SRID flag and SRID included), srid the
# SRID from it or null; the expected bytes come from the server itself
# (geometry::bytea is the EWKB).
POSTGIS_VALUES = {
    "g": "POINT(1 2)",
    "gs": "SRID=4326;POLYGON((0 0,1 0,1 1,0 0))",
    "gz": "SRID=3857;POINT(1 2 3)",
    "gg": "POINT(-71.06 42.36)",
    "gn": None,
}


def postgis_table(db, table):
    if not extension_available(db, "postgis"):
        pytest.skip("PostGIS is not installed in this PostgreSQL "
                    "(CREATE EXTENSION postgis failed; Debian: postgresql-15-postgis-3)")
    return table("id int PRIMARY KEY, g geometry, gs geometry(Polygon,4326), gz geometry, "
                 "gg geography, gn geometry, ga geometry[]")


def insert_postgis_row(db, t):
    sql(db, f"INSERT INTO {t} (id, g, gs, gz, gg, gn, ga) VALUES "
        "(1, %s, %s, %s, %s, %s, ARRAY['POINT(1 1)'::geometry, NULL, "
        "'SRID=4326;POINT(2 2)'::geometry])",
        *POSTGIS_VALUES.values())


def expected_postgis(db, t):
    """{column: (EWKB bytes, SRID or None)} as the server has them."""
    row = sql(db, f"SELECT g::bytea, ST_SRID(g), gs::bytea, ST_SRID(gs), gz::bytea, ST_SRID(gz), "
              f"gg::geometry::bytea, ST_SRID(gg), ga[1]::bytea, ga[3]::bytea FROM {t}")[0]
    srid = lambda s: s or None
    return {"g": (bytes(row[0]), srid(row[1])), "gs": (bytes(row[2]), srid(row[3])),
            "gz": (bytes(row[4]), srid(row[5])), "gg": (bytes(row[6]), srid(row[7])),
            "ga1": (bytes(row[8]), None), "ga3": (bytes(row[9]), 4326)}


def test_postgis_values_as_json(db, pgcdc, table):
    t = postgis_table(db, table)
    p = pgcdc(table_include_list=f"public\\.{t}").start()
    insert_postgis_row(db, t)
    want = expected_postgis(db, t)
    a = by_topic(p.events(1), f"{p.name}.public.{t}")[0]["value"]["after"]

    def geo(wkb, srid, extensions=True):
        v = {"wkb": base64.b64encode(wkb).decode(), "srid": srid}
        if extensions:
            v["extensions"] = None
        return v

    assert want["g"][1] is None and want["gs"][1] == 4326 and want["gg"][1] == 4326
    for col in ("g", "gs", "gz"):
        assert a[col] == geo(*want[col]), col
    # the SRID stays inside the bytes: EWKB, not plain WKB
    assert base64.b64decode(a["gs"]["wkb"])[1:5] == bytes.fromhex("03000020")
    assert a["gz"]["srid"] == 3857
    assert a["gg"] == geo(*want["gg"], extensions=False)  # Geography has no extensions
    assert a["gn"] is None
    assert a["ga"] == [geo(*want["ga1"]), None, geo(*want["ga3"])]
    assert "left out" not in p.stderr()


def test_postgis_avro_schemas_and_values(db, pgcdc, table):
    t = postgis_table(db, table)
    p = pgcdc(table_include_list=f"public\\.{t}")
    p.cfg.update(kafka_cfg())
    p.start()
    insert_postgis_row(db, t)
    want = expected_postgis(db, t)
    rec = consume(f"{p.name}.public.{t}", 1)[0]
    schema, _ = schema_by_id(rec["value_id"])
    value = field_type(schema, "before")

    geometry = field_type(value, "g")
    assert geometry == {
        "type": "record", "name": "Geometry", "namespace": "io.debezium.data.geometry",
        "doc": "Geometry",
        "fields": [{"name": "wkb", "type": "bytes"},
                   {"name": "srid", "type": ["null", "int"], "default": None},
                   {"name": "extensions", "type": ["null", {"type": "map", "values": "string"}],
                    "default": None}],
        "connect.doc": "Geometry", "connect.version": 2,
        "connect.name": "io.debezium.data.geometry.Geometry"}
    assert field_type(value, "gs") == "io.debezium.data.geometry.Geometry"
    assert field_type(value, "gg") == {
        "type": "record", "name": "Geography", "namespace": "io.debezium.data.geometry",
        "doc": "Geography",
        "fields": [{"name": "wkb", "type": "bytes"},
                   {"name": "srid", "type": ["null", "int"], "default": None}],
        "connect.doc": "Geography", "connect.version": 1,
        "connect.name": "io.debezium.data.geometry.Geography"}
    assert field_type(value, "ga") == {"type": "array",
                                       "items": ["null", "io.debezium.data.geometry.Geometry"]}

    a = rec["value"]["after"]
    for col in ("g", "gs", "gz"):
        assert a[col] == {"wkb": want[col][0], "srid": want[col][1], "extensions": None}, col
    assert a["gg"] == {"wkb": want["gg"][0], "srid": 4326}
    assert a["gn"] is None
    assert [x and x["srid"] for x in a["ga"]] == [None, None, 4326]
    assert a["ga"][0]["wkb"] == want["ga1"][0]
