/*
 * test_avro_schema.c - the Avro schema JSON of change events.
 *
 * Expected names, attribute values and field orders come from Debezium 3.x
 * events serialised by Confluent's AvroConverter (Envelope connect.version 2,
 * Source fields, the snapshot Enum, event.block, Decimal with scale,
 * precision and logicalType), not from the code under test. The canonical
 * form of the key schema was derived by hand from the Avro specification's
 * Parsing Canonical Form rules.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include <avro.h>

#include "avro_fixture.h"
#include "pgcdc/avro_canon.h"
#include "pgcdc/avro_schema.h"

static const struct fixture_col orders_cols[] = {
    {"id", OID_INT4, -1, true},
    {"qty", OID_INT2, -1, false},
    {"price", OID_NUMERIC, NUMERIC_TYPMOD(10, 2), false},
    {"ratio", OID_NUMERIC, -1, false},
    {"ratio2", OID_NUMERIC, -1, false},
    {"note", OID_TEXT, -1, false},
    {"tags", OID_TEXT_ARRAY, -1, false},
    {"created", OID_TIMESTAMP, -1, false},
    {"uid", OID_UUID, -1, false},
    {"amount", OID_MONEY, -1, false},
    {"Weird-Name", OID_TEXT, -1, false},
    {"1st", OID_INT8, -1, false},
    {"flag", OID_BOOL, -1, false},
};

#define NCOLS ((int)(sizeof(orders_cols) / sizeof(orders_cols[0])))

static struct pgcdc_rel *orders(void)
{
    return fixture_rel("shop.public.orders", "public", "orders", orders_cols, NCOLS);
}

static json_t *parse(const struct pgcdc_buf *b)
{
    json_error_t jerr;
    json_t *j = json_loadb(b->data, b->len, 0, &jerr);

    cr_assert_not_null(j, "schema is not JSON: %s: %s", jerr.text, b->data);
    return j;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    cr_assert(json_is_string(v), "attribute '%s' is not a string", key);
    return json_string_value(v);
}

static json_t *field_named(json_t *record, const char *name)
{
    json_t *fields = json_object_get(record, "fields");
    size_t i;
    json_t *f;

    json_array_foreach(fields, i, f)
    {
        if (strcmp(str(f, "name"), name) == 0)
            return f;
    }
    cr_assert_fail("no field '%s'", name);
    return NULL;
}

/* The non-null branch of a ["null", T] field that defaults to null. */
static json_t *nullable(json_t *f)
{
    json_t *t = json_object_get(f, "type");

    cr_assert(json_is_array(t) && json_array_size(t) == 2, "field '%s' is not a 2-way union",
              str(f, "name"));
    cr_assert_str_eq(json_string_value(json_array_get(t, 0)), "null");
    cr_assert(json_object_get(f, "default") != NULL && json_is_null(json_object_get(f, "default")),
              "field '%s' has no null default", str(f, "name"));
    return json_array_get(t, 1);
}

static void assert_field_names(json_t *record, const char *const *names, size_t n)
{
    json_t *fields = json_object_get(record, "fields");

    cr_assert_eq(json_array_size(fields), n, "record '%s' has %zu fields, want %zu",
                 str(record, "name"), json_array_size(fields), n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(str(json_array_get(fields, i), "name"), names[i], "field %zu", i);
}

static void assert_avro_c_parses(const struct pgcdc_buf *b)
{
    avro_schema_t s;

    cr_assert_eq(avro_schema_from_json_length(b->data, b->len, &s), 0, "avro-c: %s",
                 avro_strerror());
    avro_schema_decref(s);
}

Test(avro_schema, key_schema_names_and_required_fields)
{
    struct pgcdc_rel *rel = orders();
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char err[256] = "";
    json_t *j, *f;

    cr_assert_eq(pgcdc_avro_schema_key(rel, &b, err, sizeof(err)), 0, "%s", err);
    assert_avro_c_parses(&b);
    j = parse(&b);
    cr_assert_str_eq(str(j, "type"), "record");
    cr_assert_str_eq(str(j, "name"), "Key");
    cr_assert_str_eq(str(j, "namespace"), "shop.public.orders");
    cr_assert_str_eq(str(j, "connect.name"), "shop.public.orders.Key");
    cr_assert_eq(json_array_size(json_object_get(j, "fields")), 1);
    f = field_named(j, "id");
    /* Key columns are required: a plain "int", no union, no default. */
    cr_assert(json_is_string(json_object_get(f, "type")));
    cr_assert_str_eq(str(f, "type"), "int");
    cr_assert_null(json_object_get(f, "default"));
    json_decref(j);
    pgcdc_buf_free(&b);
    fixture_rel_free(rel);
}

Test(avro_schema, keyless_table_has_no_key_schema)
{
    static const struct fixture_col cols[] = {{"a", OID_TEXT, -1, false}};
    struct pgcdc_rel *rel = fixture_rel("shop.public.log", "public", "log", cols, 1);
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char err[256] = "";

    cr_assert_eq(pgcdc_avro_schema_key(rel, &b, err, sizeof(err)), 1);
    cr_assert_eq(b.len, 0);
    pgcdc_buf_free(&b);
    fixture_rel_free(rel);
}

Test(avro_schema, envelope_structure)
{
    static const char *const env_fields[] = {"before", "after", "source", "transaction",
                                             "op",     "ts_ms", "ts_us",  "ts_ns"};
    static const char *const block_fields[] = {"id", "total_order", "data_collection_order"};
    struct pgcdc_rel *rel = orders();
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char err[256] = "";
    json_t *j, *before, *after, *tx, *t;

    cr_assert_eq(pgcdc_avro_schema_value(rel, &b, err, sizeof(err)), 0, "%s", err);
    assert_avro_c_parses(&b);
    j = parse(&b);
    cr_assert_str_eq(str(j, "type"), "record");
    cr_assert_str_eq(str(j, "name"), "Envelope");
    cr_assert_str_eq(str(j, "namespace"), "shop.public.orders");
    cr_assert_str_eq(str(j, "connect.name"), "shop.public.orders.Envelope");
    cr_assert_eq(json_integer_value(json_object_get(j, "connect.version")), 2);
    assert_field_names(j, env_fields, 8);

    before = nullable(field_named(j, "before"));
    cr_assert_str_eq(str(before, "type"), "record");
    cr_assert_str_eq(str(before, "name"), "Value");
    /* Same namespace as the Envelope: inherited, not repeated. */
    cr_assert_null(json_object_get(before, "namespace"));
    cr_assert_str_eq(str(before, "connect.name"), "shop.public.orders.Value");
    after = nullable(field_named(j, "after"));
    cr_assert(json_is_string(after));
    cr_assert_str_eq(json_string_value(after), "Value");

    tx = nullable(field_named(j, "transaction"));
    cr_assert_str_eq(str(tx, "name"), "block");
    cr_assert_str_eq(str(tx, "namespace"), "event");
    cr_assert_str_eq(str(tx, "connect.name"), "event.block");
    cr_assert_eq(json_integer_value(json_object_get(tx, "connect.version")), 1);
    assert_field_names(tx, block_fields, 3);
    cr_assert_str_eq(str(json_array_get(json_object_get(tx, "fields"), 0), "type"), "string");
    cr_assert_str_eq(str(json_array_get(json_object_get(tx, "fields"), 1), "type"), "long");

    cr_assert_str_eq(str(field_named(j, "op"), "type"), "string");
    t = nullable(field_named(j, "ts_ms"));
    cr_assert_str_eq(json_string_value(t), "long");
    t = nullable(field_named(j, "ts_us"));
    cr_assert_str_eq(json_string_value(t), "long");
    t = nullable(field_named(j, "ts_ns"));
    cr_assert_str_eq(json_string_value(t), "long");
    json_decref(j);
    pgcdc_buf_free(&b);
    fixture_rel_free(rel);
}

Test(avro_schema, source_block)
{
    static const char *const src_fields[] = {
        "version", "connector", "name",  "ts_ms", "snapshot", "db",   "sequence", "ts_us",
        "ts_ns",   "schema",    "table", "txId",  "lsn",      "xmin", "origin",   "origin_lsn"};
    static const char *const required[] = {"version", "connector", "name", "db", "schema", "table"};
    static const char *const optional_long[] = {"ts_us", "ts_ns", "txId",
                                                "lsn",   "xmin",  "origin_lsn"};
    struct pgcdc_rel *rel = orders();
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char err[256] = "";
    json_t *j, *src, *snap, *snap_t, *params;

    cr_assert_eq(pgcdc_avro_schema_value(rel, &b, err, sizeof(err)), 0, "%s", err);
    j = parse(&b);
    src = json_object_get(field_named(j, "source"), "type");
    cr_assert_str_eq(str(src, "name"), "Source");
    cr_assert_str_eq(str(src, "namespace"), "io.debezium.connector.postgresql");
    cr_assert_str_eq(str(src, "connect.name"), "io.debezium.connector.postgresql.Source");
    assert_field_names(src, src_fields, 16);
    cr_assert_str_eq(json_string_value(nullable(field_named(src, "origin"))), "string");
    /* Debezium 3.7 versions its Source schema. */
    cr_assert_eq(json_integer_value(json_object_get(src, "connect.version")), 1);
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
        cr_assert_str_eq(str(field_named(src, required[i]), "type"), "string", "%s", required[i]);
    cr_assert_str_eq(str(field_named(src, "ts_ms"), "type"), "long");
    cr_assert_str_eq(json_string_value(nullable(field_named(src, "sequence"))), "string");
    for (size_t i = 0; i < sizeof(optional_long) / sizeof(optional_long[0]); i++)
        cr_assert_str_eq(json_string_value(nullable(field_named(src, optional_long[i]))), "long",
                         "%s", optional_long[i]);

    /* snapshot: an optional Enum string with a non-null default, so the
     * AvroConverter puts the string branch first and defaults to "false". */
    snap = field_named(src, "snapshot");
    cr_assert_str_eq(str(snap, "default"), "false");
    cr_assert_eq(json_array_size(json_object_get(snap, "type")), 2);
    snap_t = json_array_get(json_object_get(snap, "type"), 0);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(snap, "type"), 1)), "null");
    cr_assert_str_eq(str(snap_t, "type"), "string");
    cr_assert_str_eq(str(snap_t, "connect.name"), "io.debezium.data.Enum");
    cr_assert_str_eq(str(snap_t, "connect.default"), "false");
    cr_assert_eq(json_integer_value(json_object_get(snap_t, "connect.version")), 1);
    params = json_object_get(snap_t, "connect.parameters");
    cr_assert_str_eq(str(params, "allowed"),
                     "true,first,first_in_data_collection,last_in_data_collection,last,false,"
                     "incremental");
    json_decref(j);
    pgcdc_buf_free(&b);
    fixture_rel_free(rel);
}

Test(avro_schema, value_fields_types_and_connect_attributes)
{
    static const char *const names[] = {"id",         "qty",  "price",   "ratio", "ratio2",
                                        "note",       "tags", "created", "uid",   "amount",
                                        "Weird_Name", "_st",  "flag"};
    struct pgcdc_rel *rel = orders();
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char err[256] = "";
    json_t *j, *value, *t, *p, *fields;

    cr_assert_eq(pgcdc_avro_schema_value(rel, &b, err, sizeof(err)), 0, "%s", err);
    j = parse(&b);
    value = nullable(field_named(j, "before"));
    assert_field_names(value, names, NCOLS);
    /* Every value field is nullable with default null, key and NOT NULL
     * columns included (nullable() asserts it). */
    fields = json_object_get(value, "fields");
    for (size_t i = 0; i < json_array_size(fields); i++)
        nullable(json_array_get(fields, i));

    cr_assert_str_eq(json_string_value(nullable(field_named(value, "id"))), "int");

    t = nullable(field_named(value, "qty"));
    cr_assert_str_eq(str(t, "type"), "int");
    cr_assert_str_eq(str(t, "connect.type"), "int16");

    t = nullable(field_named(value, "price"));
    cr_assert_str_eq(str(t, "type"), "bytes");
    cr_assert_str_eq(str(t, "logicalType"), "decimal");
    cr_assert_eq(json_integer_value(json_object_get(t, "scale")), 2);
    cr_assert_eq(json_integer_value(json_object_get(t, "precision")), 10);
    cr_assert_str_eq(str(t, "connect.name"), "org.apache.kafka.connect.data.Decimal");
    cr_assert_eq(json_integer_value(json_object_get(t, "connect.version")), 1);
    p = json_object_get(t, "connect.parameters");
    cr_assert_eq(json_object_size(p), 2);
    cr_assert_str_eq(str(p, "scale"), "2");
    cr_assert_str_eq(str(p, "connect.decimal.precision"), "10");

    /* money: Decimal of scale 2 without a precision parameter; the Avro
     * decimal gets the converter's default precision 64. */
    t = nullable(field_named(value, "amount"));
    cr_assert_eq(json_integer_value(json_object_get(t, "precision")), 64);
    cr_assert_eq(json_integer_value(json_object_get(t, "scale")), 2);
    p = json_object_get(t, "connect.parameters");
    cr_assert_eq(json_object_size(p), 1);
    cr_assert_str_eq(str(p, "scale"), "2");

    /* VariableScaleDecimal: defined at its first use, named afterwards. */
    t = nullable(field_named(value, "ratio"));
    cr_assert_str_eq(str(t, "type"), "record");
    cr_assert_str_eq(str(t, "name"), "VariableScaleDecimal");
    cr_assert_str_eq(str(t, "namespace"), "io.debezium.data");
    cr_assert_str_eq(str(t, "doc"), "Variable scaled decimal");
    cr_assert_str_eq(str(t, "connect.doc"), "Variable scaled decimal");
    cr_assert_str_eq(str(t, "connect.name"), "io.debezium.data.VariableScaleDecimal");
    cr_assert_eq(json_integer_value(json_object_get(t, "connect.version")), 1);
    cr_assert_str_eq(str(field_named(t, "scale"), "type"), "int");
    cr_assert_str_eq(str(field_named(t, "value"), "type"), "bytes");
    t = nullable(field_named(value, "ratio2"));
    cr_assert_str_eq(json_string_value(t), "io.debezium.data.VariableScaleDecimal");

    cr_assert_str_eq(json_string_value(nullable(field_named(value, "note"))), "string");

    t = nullable(field_named(value, "tags"));
    cr_assert_str_eq(str(t, "type"), "array");
    cr_assert_eq(json_array_size(json_object_get(t, "items")), 2);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(t, "items"), 0)), "null");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(t, "items"), 1)), "string");

    t = nullable(field_named(value, "created"));
    cr_assert_str_eq(str(t, "type"), "long");
    cr_assert_str_eq(str(t, "connect.name"), "io.debezium.time.MicroTimestamp");
    cr_assert_eq(json_integer_value(json_object_get(t, "connect.version")), 1);
    cr_assert_null(json_object_get(t, "logicalType"));

    t = nullable(field_named(value, "uid"));
    cr_assert_str_eq(str(t, "type"), "string");
    cr_assert_str_eq(str(t, "connect.name"), "io.debezium.data.Uuid");

    cr_assert_str_eq(json_string_value(nullable(field_named(value, "_st"))), "long");
    cr_assert_str_eq(json_string_value(nullable(field_named(value, "flag"))), "boolean");
    json_decref(j);
    pgcdc_buf_free(&b);
    fixture_rel_free(rel);
}

Test(avro_schema, excluded_columns_are_left_out)
{
    struct pgcdc_rel *rel = orders();
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char err[256] = "";
    json_t *j, *value;

    rel->cols[5].included = false; /* note */
    cr_assert_eq(pgcdc_avro_schema_value(rel, &b, err, sizeof(err)), 0, "%s", err);
    j = parse(&b);
    value = nullable(field_named(j, "before"));
    cr_assert_eq(json_array_size(json_object_get(value, "fields")), NCOLS - 1);
    cr_assert_null(strstr(b.data, "\"note\""));
    json_decref(j);
    pgcdc_buf_free(&b);
    fixture_rel_free(rel);
}

Test(avro_schema, invalid_name_characters_are_replaced)
{
    static const struct fixture_col cols[] = {
        {"id", OID_INT4, -1, true},
        {"pre\xc3\xa7o", OID_TEXT, -1, false}, /* "preço": one '_' for the two-byte character */
    };
    struct pgcdc_rel *rel = fixture_rel("my-app.Sales Dept.2024", "Sales Dept", "2024", cols, 2);
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char err[256] = "";
    json_t *j;

    cr_assert_eq(pgcdc_avro_schema_value(rel, &b, err, sizeof(err)), 0, "%s", err);
    assert_avro_c_parses(&b);
    j = parse(&b);
    cr_assert_str_eq(str(j, "namespace"), "my_app.Sales_Dept._024");
    cr_assert_str_eq(str(j, "connect.name"), "my_app.Sales_Dept._024.Envelope");
    field_named(nullable(field_named(j, "before")), "pre_o");
    json_decref(j);
    pgcdc_buf_free(&b);
    fixture_rel_free(rel);
}

Test(avro_schema, colliding_names_are_an_error)
{
    static const struct fixture_col cols[] = {
        {"id", OID_INT4, -1, true},
        {"a-b", OID_TEXT, -1, false},
        {"a_b", OID_TEXT, -1, false},
    };
    struct pgcdc_rel *rel = fixture_rel("shop.public.t", "public", "t", cols, 3);
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char err[256] = "";

    cr_assert_eq(pgcdc_avro_schema_value(rel, &b, err, sizeof(err)), -EINVAL);
    cr_assert_not_null(strstr(err, "'public.t'"), "%s", err);
    cr_assert_not_null(strstr(err, "'a-b'"), "%s", err);
    cr_assert_not_null(strstr(err, "'a_b'"), "%s", err);
    pgcdc_buf_free(&b);
    fixture_rel_free(rel);
}

Test(avro_schema, canonical_form_and_fingerprint)
{
    static const char key_canonical[] = "{\"name\":\"shop.public.orders.Key\",\"type\":\"record\","
                                        "\"fields\":[{\"name\":\"id\",\"type\":\"int\"}]}";
    struct pgcdc_rel *rel = orders();
    struct pgcdc_avro_schemas s1 = {0}, s2 = {0};
    struct pgcdc_buf canon = PGCDC_BUF_INIT;
    char err[256] = "";

    cr_assert_eq(pgcdc_avro_schema_build(rel, &s1, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pgcdc_avro_canonical(s1.key.data, s1.key.len, &canon, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_str_eq(canon.data, key_canonical);
    cr_assert_eq(s1.key_fp, pgcdc_avro_fingerprint64(key_canonical, strlen(key_canonical)));
    cr_assert_neq(s1.value_fp, 0);
    cr_assert_neq(s1.value_fp, s1.key_fp);

    /* The same relation always gives the same text and fingerprints. */
    cr_assert_eq(pgcdc_avro_schema_build(rel, &s2, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(s1.value.len, s2.value.len);
    cr_assert_eq(memcmp(s1.value.data, s2.value.data, s1.value.len), 0);
    cr_assert_eq(s1.value_fp, s2.value_fp);

    /* A different column type changes the canonical form. */
    rel->cols[1].type_oid = OID_INT8;
    cr_assert_eq(pgcdc_types_map(OID_INT8, -1, false, &rel->cols[1].tm, err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_avro_schema_build(rel, &s2, err, sizeof(err)), 0, "%s", err);
    cr_assert_neq(s1.value_fp, s2.value_fp);
    cr_assert_eq(s1.key_fp, s2.key_fp);

    pgcdc_buf_free(&canon);
    pgcdc_avro_schemas_free(&s1);
    pgcdc_avro_schemas_free(&s2);
    fixture_rel_free(rel);
}

/* An added column is a backward-compatible change: a reader with the new
 * schema resolves data written with the old one. Old fields are unchanged
 * and in place; the new one is nullable with a null default. */
Test(avro_schema, added_column_is_backward_compatible)
{
    struct fixture_col more[NCOLS + 1];
    struct pgcdc_rel *old_rel = orders();
    struct pgcdc_rel *new_rel;
    struct pgcdc_buf ob = PGCDC_BUF_INIT, nb = PGCDC_BUF_INIT;
    char err[256] = "";
    json_t *oj, *nj, *ov, *nv, *added;

    memcpy(more, orders_cols, sizeof(orders_cols));
    more[NCOLS] = (struct fixture_col){"discount", OID_NUMERIC, NUMERIC_TYPMOD(5, 2), false};
    new_rel = fixture_rel("shop.public.orders", "public", "orders", more, NCOLS + 1);
    cr_assert_eq(pgcdc_avro_schema_value(old_rel, &ob, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pgcdc_avro_schema_value(new_rel, &nb, err, sizeof(err)), 0, "%s", err);
    oj = parse(&ob);
    nj = parse(&nb);
    ov = json_object_get(nullable(field_named(oj, "before")), "fields");
    nv = json_object_get(nullable(field_named(nj, "before")), "fields");
    cr_assert_eq(json_array_size(nv), json_array_size(ov) + 1);
    for (size_t i = 0; i < json_array_size(ov); i++)
        cr_assert(json_equal(json_array_get(ov, i), json_array_get(nv, i)), "field %zu changed", i);
    added = json_array_get(nv, json_array_size(ov));
    cr_assert_str_eq(str(added, "name"), "discount");
    nullable(added);
    /* Everything outside the Value record is identical. */
    cr_assert(json_equal(field_named(oj, "source"), field_named(nj, "source")));
    cr_assert(json_equal(field_named(oj, "transaction"), field_named(nj, "transaction")));
    json_decref(oj);
    json_decref(nj);
    pgcdc_buf_free(&ob);
    pgcdc_buf_free(&nb);
    fixture_rel_free(old_rel);
    fixture_rel_free(new_rel);
}

Test(avro_schema, message_schemas)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    static const char *const value_fields[] = {"op", "ts_ms", "source", "message"};
    json_t *j, *msg, *src;

    cr_assert_eq(pgcdc_avro_schema_message_key(&b), 0);
    assert_avro_c_parses(&b);
    j = parse(&b);
    cr_assert_str_eq(str(j, "name"), "MessageKey");
    cr_assert_str_eq(str(j, "namespace"), "io.debezium.connector.postgresql");
    cr_assert_str_eq(str(j, "connect.name"), "io.debezium.connector.postgresql.MessageKey");
    cr_assert_str_eq(json_string_value(nullable(field_named(j, "prefix"))), "string");
    json_decref(j);

    cr_assert_eq(pgcdc_avro_schema_message_value(&b), 0);
    assert_avro_c_parses(&b);
    j = parse(&b);
    cr_assert_str_eq(str(j, "name"), "MessageValue");
    cr_assert_str_eq(str(j, "connect.name"), "io.debezium.connector.postgresql.MessageValue");
    assert_field_names(j, value_fields, 4);
    cr_assert_str_eq(str(field_named(j, "op"), "type"), "string");
    src = json_object_get(field_named(j, "source"), "type");
    cr_assert_str_eq(str(src, "name"), "Source");
    cr_assert_eq(json_array_size(json_object_get(src, "fields")), 16);
    msg = json_object_get(field_named(j, "message"), "type");
    cr_assert_str_eq(str(msg, "name"), "Message");
    cr_assert_str_eq(str(msg, "connect.name"), "io.debezium.connector.postgresql.Message");
    cr_assert_str_eq(json_string_value(nullable(field_named(msg, "prefix"))), "string");
    cr_assert_str_eq(json_string_value(nullable(field_named(msg, "content"))), "bytes");
    json_decref(j);
    pgcdc_buf_free(&b);
}

/* Expected texts: Debezium 3.7's Connect schemas for these columns (the
 * conformance run's JsonConverter output) as the AvroConverter renders
 * structs (records named after connect.name, optional fields as
 * ["null", T] with default null) and string-keyed maps (Avro maps). */
Test(avro_schema, geometric_records_maps_and_enums)
{
    static const struct fixture_col cols[] = {
        {"id", OID_INT4, -1, true}, {"c", OID_CIRCLE, -1, false}, {"pt", OID_POINT, -1, false},
        {"bx", OID_BOX, -1, false}, {"pa", OID_PATH, -1, false},  {"m", 16805, -1, false},
        {"ma", 16804, -1, false},
    };
    struct pgcdc_type_info mood, moods;
    struct pgcdc_rel *rel = fixture_rel("shop.public.shapes", "public", "shapes", cols, 7);
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char err[256] = "";
    json_t *j, *value, *t, *point, *f;
    json_error_t jerr;

    memset(&mood, 0, sizeof(mood));
    mood.oid = mood.base_oid = 16805;
    mood.typtype = mood.base_typtype = 'e';
    mood.base_typmod = -1;
    snprintf(mood.name, sizeof(mood.name), "mood");
    snprintf(mood.nspname, sizeof(mood.nspname), "public");
    mood.labels = "sad,o\"k\\,happy"; /* labels with JSON's special characters */
    moods = mood;
    moods.oid = moods.base_oid = 16804;
    moods.typtype = moods.base_typtype = 'b';
    moods.elem_oid = 16805;
    moods.elem_typtype = 'e';
    cr_assert_eq(fixture_map_info(rel, 5, &mood), 0);
    cr_assert_eq(fixture_map_info(rel, 6, &moods), 0);
    cr_assert_eq(pgcdc_avro_schema_value(rel, &b, err, sizeof(err)), 0, "%s", err);
    assert_avro_c_parses(&b);
    j = parse(&b);
    value = nullable(field_named(j, "before"));

    /* Circle comes first, so Point is defined inside it... */
    t = nullable(field_named(value, "c"));
    cr_assert_str_eq(str(t, "name"), "Circle");
    cr_assert_str_eq(str(t, "namespace"), "io.debezium.data.geometry");
    cr_assert_str_eq(str(t, "doc"), "Geometry (CIRCLE)");
    cr_assert_str_eq(str(t, "connect.name"), "io.debezium.data.geometry.Circle");
    point = json_object_get(field_named(t, "center"), "type");
    cr_assert_str_eq(str(point, "name"), "Point");
    cr_assert_str_eq(json_string_value(json_object_get(field_named(t, "radius"), "type")),
                     "double");
    /* ...with required x, y and optional wkb, srid... */
    json_t *want = json_loads(
        "{\"type\":\"record\",\"name\":\"Point\",\"namespace\":\"io.debezium.data.geometry\","
        "\"doc\":\"Geometry (POINT)\",\"fields\":[{\"name\":\"x\",\"type\":\"double\"},"
        "{\"name\":\"y\",\"type\":\"double\"},{\"name\":\"wkb\",\"type\":[\"null\",\"bytes\"],"
        "\"default\":null},{\"name\":\"srid\",\"type\":[\"null\",\"int\"],\"default\":null}],"
        "\"connect.doc\":\"Geometry (POINT)\",\"connect.version\":1,"
        "\"connect.name\":\"io.debezium.data.geometry.Point\"}",
        0, &jerr);
    cr_assert_not_null(want, "%s", jerr.text);
    cr_assert(json_equal(point, want), "Point: %s", json_dumps(point, 0));
    json_decref(want);
    /* ...and referred to by name afterwards. */
    cr_assert_str_eq(json_string_value(nullable(field_named(value, "pt"))),
                     "io.debezium.data.geometry.Point");

    t = nullable(field_named(value, "bx"));
    cr_assert_str_eq(str(t, "name"), "Geometry");
    cr_assert_eq(json_integer_value(json_object_get(t, "connect.version")), 2);
    cr_assert_str_eq(json_string_value(json_object_get(field_named(t, "wkb"), "type")), "bytes");
    f = nullable(field_named(t, "extensions"));
    cr_assert_str_eq(str(f, "type"), "map");
    cr_assert_str_eq(str(f, "values"), "string");
    cr_assert_str_eq(json_string_value(nullable(field_named(value, "pa"))),
                     "io.debezium.data.geometry.Geometry");

    t = nullable(field_named(value, "m"));
    cr_assert_str_eq(str(t, "type"), "string");
    cr_assert_str_eq(str(t, "connect.name"), "io.debezium.data.Enum");
    cr_assert_eq(json_integer_value(json_object_get(t, "connect.version")), 1);
    cr_assert_str_eq(str(json_object_get(t, "connect.parameters"), "allowed"), "sad,o\"k\\,happy");
    t = nullable(field_named(value, "ma"));
    cr_assert_str_eq(str(t, "type"), "array");
    f = json_array_get(json_object_get(t, "items"), 1);
    cr_assert_str_eq(str(f, "connect.name"), "io.debezium.data.Enum");

    json_decref(j);
    pgcdc_buf_free(&b);
    fixture_rel_free(rel);
}

/* The exact Avro type text of a value column of oid/typmod under modes m. */
static char *field_text(uint32_t oid, int32_t typmod, const struct pgcdc_types_modes *m)
{
    static const struct fixture_col cols[] = {{"id", OID_INT4, -1, true}, {"c", OID_INT4, -1, false}};
    struct pgcdc_rel *rel = fixture_rel("t", "public", "t", cols, 2);
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char err[256] = "";
    const char *start, *end;
    char *out;

    rel->cols[1].type_oid = oid;
    rel->cols[1].typmod = typmod;
    cr_assert_eq(pgcdc_types_map_modes(oid, typmod, m, &rel->cols[1].tm, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(pgcdc_avro_schema_value(rel, &b, err, sizeof(err)), 0, "%s", err);
    start = strstr(b.data, "{\"name\":\"c\",\"type\":[\"null\",");
    cr_assert_not_null(start, "%s", b.data);
    start += strlen("{\"name\":\"c\",\"type\":[\"null\",");
    end = strstr(start, "],\"default\":null}");
    cr_assert_not_null(end);
    out = strndup(start, (size_t)(end - start));
    pgcdc_buf_free(&b);
    fixture_rel_free(rel);
    return out;
}

static void assert_field_text(uint32_t oid, int32_t typmod, const struct pgcdc_types_modes *m,
                              const char *want)
{
    char *got = field_text(oid, typmod, m);

    cr_assert_str_eq(got, want, "oid %u", oid);
    free(got);
}

Test(avro_schema, value_mapping_modes)
{
    struct pgcdc_types_modes m = PGCDC_TYPES_MODES_DEFAULT;

    m.decimal = PGCDC_DECIMAL_DOUBLE;
    assert_field_text(OID_NUMERIC, NUMERIC_TYPMOD(10, 2), &m, "\"double\"");
    assert_field_text(OID_NUMERIC, -1, &m, "\"double\"");
    assert_field_text(OID_MONEY, -1, &m, "\"double\"");
    m.decimal = PGCDC_DECIMAL_STRING;
    assert_field_text(OID_NUMERIC, NUMERIC_TYPMOD(10, 2), &m, "\"string\"");
    assert_field_text(OID_MONEY, -1, &m, "\"string\"");
    m.decimal = PGCDC_DECIMAL_PRECISE;
    m.money_digits = 4;
    assert_field_text(OID_MONEY, -1, &m,
                      "{\"type\":\"bytes\",\"scale\":4,\"precision\":64,\"connect.version\":1,"
                      "\"connect.parameters\":{\"scale\":\"4\"},\"connect.name\":"
                      "\"org.apache.kafka.connect.data.Decimal\",\"logicalType\":\"decimal\"}");

    m.time = PGCDC_TIME_CONNECT;
    assert_field_text(1082, -1, &m,
                      "{\"type\":\"int\",\"connect.version\":1,\"connect.name\":"
                      "\"org.apache.kafka.connect.data.Date\",\"logicalType\":\"date\"}");
    assert_field_text(1083, 6, &m,
                      "{\"type\":\"int\",\"connect.version\":1,\"connect.name\":"
                      "\"org.apache.kafka.connect.data.Time\",\"logicalType\":\"time-millis\"}");
    assert_field_text(OID_TIMESTAMP, 6, &m,
                      "{\"type\":\"long\",\"connect.version\":1,\"connect.name\":"
                      "\"org.apache.kafka.connect.data.Timestamp\",\"logicalType\":"
                      "\"timestamp-millis\"}");
    m.time = PGCDC_TIME_ADAPTIVE_TIME_MICROS;
    assert_field_text(1083, 0, &m,
                      "{\"type\":\"long\",\"connect.version\":1,\"connect.name\":"
                      "\"io.debezium.time.MicroTime\"}");
    /* Debezium's own time types get no Avro logical type. */
    m.time = PGCDC_TIME_ADAPTIVE;
    assert_field_text(1082, -1, &m,
                      "{\"type\":\"int\",\"connect.version\":1,\"connect.name\":"
                      "\"io.debezium.time.Date\"}");

    m.binary = PGCDC_BINARY_BASE64;
    assert_field_text(OID_BYTEA, -1, &m, "\"string\"");
    m.binary = PGCDC_BINARY_BYTES;
    assert_field_text(OID_BYTEA, -1, &m, "\"bytes\"");

    m.interval = PGCDC_INTERVAL_STRING;
    assert_field_text(1186, -1, &m,
                      "{\"type\":\"string\",\"connect.version\":1,\"connect.name\":"
                      "\"io.debezium.time.Interval\"}");
}

Test(avro_schema, transaction_metadata_schemas)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char err[256] = "";
    uint64_t fp = 0;
    json_t *j, *f;

    cr_assert_eq(pgcdc_avro_schema_txn_key(&b), 0);
    cr_assert_eq(pgcdc_avro_schema_fingerprint(b.data, b.len, &fp, err, sizeof(err)), 0, "%s",
                 err);
    j = parse(&b);
    cr_assert_str_eq(str(j, "name"), "TransactionMetadataKey");
    cr_assert_str_eq(str(j, "namespace"), "io.debezium.connector.common");
    cr_assert_str_eq(str(j, "connect.name"),
                     "io.debezium.connector.common.TransactionMetadataKey");
    json_decref(j);

    cr_assert_eq(pgcdc_avro_schema_txn_value(&b), 0);
    cr_assert_eq(pgcdc_avro_schema_fingerprint(b.data, b.len, &fp, err, sizeof(err)), 0, "%s",
                 err);
    j = parse(&b);
    cr_assert_str_eq(str(j, "connect.name"),
                     "io.debezium.connector.common.TransactionMetadataValue");
    f = json_object_get(j, "fields");
    cr_assert_eq(json_array_size(f), PGCDC_AVRO_TXN_TS_MS + 1);
    cr_assert_str_eq(str(json_array_get(f, PGCDC_AVRO_TXN_STATUS), "name"), "status");
    cr_assert_str_eq(str(json_array_get(f, PGCDC_AVRO_TXN_COLLECTIONS), "name"),
                     "data_collections");
    cr_assert_not_null(strstr(b.data, "\"name\":\"collection\",\"namespace\":\"event\""));
    cr_assert_not_null(strstr(b.data, "\"connect.name\":\"event.collection\""));
    json_decref(j);
    pgcdc_buf_free(&b);
}

Test(avro_schema, hstore_map_mode_is_a_map_of_optional_strings)
{
    struct pgcdc_types_modes m = PGCDC_TYPES_MODES_DEFAULT;
    struct pgcdc_type_info ti;
    static const struct fixture_col cols[] = {{"id", OID_INT4, -1, true}, {"h", OID_INT4, -1, false}};
    struct pgcdc_rel *rel = fixture_rel("t", "public", "t", cols, 2);
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char err[256] = "";

    memset(&ti, 0, sizeof(ti));
    ti.oid = ti.base_oid = 16387;
    ti.typtype = ti.base_typtype = 'b';
    snprintf(ti.name, sizeof(ti.name), "hstore");
    snprintf(ti.base_name, sizeof(ti.base_name), "hstore");
    ti.base_typmod = -1;
    m.hstore = PGCDC_HSTORE_MAP;
    cr_assert_eq(pgcdc_types_map_info_modes(&ti, -1, &m, &rel->cols[1].tm, err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(pgcdc_avro_schema_value(rel, &b, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(strstr(b.data, "{\"name\":\"h\",\"type\":[\"null\",{\"type\":\"map\","
                                      "\"values\":[\"null\",\"string\"]}],\"default\":null}"),
                       "%s", b.data);
    pgcdc_buf_free(&b);
    fixture_rel_free(rel);
}
