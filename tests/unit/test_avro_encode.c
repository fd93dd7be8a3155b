/*
 * test_avro_encode.c - the Avro encoder.
 *
 * Every event is encoded from hand-built pgoutput tuples and decoded back
 * with avro-c's own reader (avro_value_read) under the schema text that was
 * handed to the (stub) registry, reading fields by name, so field order and
 * names are checked along with the values. Expected values were worked out
 * independently: Decimal bytes are the big-endian two's complement of the
 * unscaled value (1.50 at scale 2 is 150 = 00 96, -1.29 is -129 = ff 7f),
 * timestamps are the source times given below divided by hand.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>

#include "avro_fixture.h"
#include "pgcdc/avro_encode.h"
#include "pgcdc/avro_schema.h"
#include "pgcdc/change.h"

/* ---------------------------------------------------------------------- */
/* changes as the tests write them                                         */

/* A row the tests fill and change freely. */
struct test_row {
    uint16_t ncols;               /* columns present */
    struct pgcdc_value cols[128]; /* first ncols are valid */
};

/* A change as the tests set it up; turned into the model's change (change.h)
 * at each encoder call, so later edits of the rows count. */
struct test_change {
    char op;                        /* 'c' 'u' 'd' 'r' 't' or 'm' */
    struct pgcdc_rel *rel;          /* the table, NULL for 'm' */
    const struct test_row *before;  /* old row, or NULL */
    bool before_key_only;           /* before holds only key columns */
    const struct test_row *after;   /* new row, or NULL */
    const struct pgcdc_source *src; /* source block */
    int64_t ts_us;                  /* processing time */
    const char *msg_prefix;         /* 'm': prefix */
    const char *msg_content;        /* 'm': body */
    size_t msg_len;                 /* 'm': bytes at msg_content */
    struct pgcdc_change *model;     /* the model's change it is turned into */
};

static const struct pgcdc_change *model_change(const struct test_change *t,
                                               const struct test_row *key_row)
{
    struct pgcdc_change *ch = t->model;

    pgcdc_change_reset(ch, t->op, t->rel, t->src, t->ts_us);
    if (t->before)
        pgcdc_change_set_before(ch, t->before->cols, t->before->ncols, t->before_key_only);
    if (t->after)
        pgcdc_change_set_after(ch, t->after->cols, t->after->ncols);
    if (key_row)
        pgcdc_change_set_key(ch, key_row->cols, key_row->ncols);
    pgcdc_change_set_message(ch, t->msg_prefix, t->msg_content, t->msg_len);
    return ch;
}

static int encode_key(struct pgcdc_encoder *e, const struct test_change *t,
                      const struct test_row *key_row, struct pgcdc_buf *out, char *err,
                      size_t errlen)
{
    return pgcdc_encoder_key(e, model_change(t, key_row), out, err, errlen);
}

static int encode_value(struct pgcdc_encoder *e, const struct test_change *t,
                        struct pgcdc_buf *out, char *err, size_t errlen)
{
    return pgcdc_encoder_value(e, model_change(t, NULL), out, err, errlen);
}

/* ---------------------------------------------------------------------- */
/* a registry stand-in                                                     */

#define MAX_SUBJECTS 16

struct stub_registry {
    int calls;                            /* id_fn calls */
    char subjects[MAX_SUBJECTS][128];     /* subject of each call */
    struct pgcdc_buf texts[MAX_SUBJECTS]; /* schema text of each call */
    int fail_rc;                          /* when non-zero: fail with it */
    const char *fail_msg;                 /* and this message */
};

static int stub_id(void *arg, const char *subject, const char *json, size_t len, int32_t *id,
                   char *err, size_t errlen)
{
    struct stub_registry *r = arg;
    int i = r->calls;

    if (r->fail_rc) {
        snprintf(err, errlen, "%s", r->fail_msg);
        return r->fail_rc;
    }
    cr_assert_lt(i, MAX_SUBJECTS);
    r->calls++;
    snprintf(r->subjects[i], sizeof(r->subjects[i]), "%s", subject);
    pgcdc_buf_reset(&r->texts[i]);
    cr_assert_eq(pgcdc_buf_append(&r->texts[i], json, len), 0);
    *id = 100 + i;
    return 0;
}

static void stub_free(struct stub_registry *r)
{
    for (int i = 0; i < MAX_SUBJECTS; i++)
        pgcdc_buf_free(&r->texts[i]);
}

/* ---------------------------------------------------------------------- */
/* fixtures                                                                */

static const struct fixture_col cols[] = {
    {"id", OID_INT4, -1, true},                           /* 0 */
    {"name", OID_TEXT, -1, false},                        /* 1 */
    {"price", OID_NUMERIC, NUMERIC_TYPMOD(10, 2), false}, /* 2 */
    {"ratio", OID_NUMERIC, -1, false},                    /* 3 */
    {"tags", OID_TEXT_ARRAY, -1, false},                  /* 4 */
    {"nums", OID_INT4_ARRAY, -1, false},                  /* 5 */
    {"big", OID_INT8, -1, false},                         /* 6 */
    {"qty", OID_INT2, -1, false},                         /* 7 */
    {"f", OID_FLOAT4, -1, false},                         /* 8 */
    {"d", OID_FLOAT8, -1, false},                         /* 9 */
    {"flag", OID_BOOL, -1, false},                        /* 10 */
    {"body", OID_TEXT, -1, false},                        /* 11 */
    {"data", OID_BYTEA, -1, false},                       /* 12 */
    {"uid", OID_UUID, -1, false},                         /* 13 */
};

#define NCOLS ((int)(sizeof(cols) / sizeof(cols[0])))

struct ctx {
    struct stub_registry reg;
    struct pgcdc_encoder *enc;
    struct pgcdc_rel *rel;
    struct test_row *before;
    struct test_row *after;
    struct pgcdc_change *model;
    struct pgcdc_source src;
    struct pgcdc_buf key;
    struct pgcdc_buf value;
    char err[512];
};

static struct ctx *ctx_new(void)
{
    struct ctx *c = calloc(1, sizeof(*c));
    struct pgcdc_avro_encoder_opts opts = {0};

    opts.topic_prefix = "shop";
    opts.placeholder = "__debezium_unavailable_value";
    opts.id_fn = stub_id;
    opts.id_arg = &c->reg;
    cr_assert_eq(pgcdc_avro_encoder_new(&c->enc, &opts, c->err, sizeof(c->err)), 0, "%s", c->err);
    c->rel = fixture_rel("shop.public.orders", "public", "orders", cols, NCOLS);
    c->before = calloc(1, sizeof(*c->before));
    c->after = calloc(1, sizeof(*c->after));
    cr_assert_eq(pgcdc_change_new(&c->model, c->err, sizeof(c->err)), 0, "%s", c->err);
    c->src.connector_version = "0.1.0";
    c->src.name = "shop";
    c->src.db = "appdb";
    c->src.commit_time_us = INT64_C(1705314600123456);
    c->src.xid = 777;
    c->src.lsn = 23803720;
    c->src.last_commit_lsn = 23800000;
    c->src.snapshot = "false";
    return c;
}

static void ctx_free(struct ctx *c)
{
    pgcdc_encoder_free(&c->enc);
    fixture_rel_free(c->rel);
    free(c->before);
    free(c->after);
    pgcdc_change_free(&c->model);
    pgcdc_buf_free(&c->key);
    pgcdc_buf_free(&c->value);
    stub_free(&c->reg);
    free(c);
}

static void col_text(struct test_row *t, int i, const char *s)
{
    t->cols[i].kind = PGCDC_VALUE_TEXT;
    t->cols[i].data = s;
    t->cols[i].len = (uint32_t)strlen(s);
}

static void col_kind(struct test_row *t, int i, enum pgcdc_value_kind k)
{
    t->cols[i].kind = k;
    t->cols[i].data = NULL;
    t->cols[i].len = 0;
}

/* A full row: every column has a value. */
static void full_row(struct test_row *t, const char *id)
{
    t->ncols = NCOLS;
    col_text(t, 0, id);
    col_text(t, 1, "widget");
    col_text(t, 2, "-1.29");
    col_text(t, 3, "1.500");
    col_text(t, 4, "{a,NULL,\"b c\"}");
    col_text(t, 5, "{1,-2}");
    col_text(t, 6, "9223372036854775807");
    col_text(t, 7, "-32768");
    col_text(t, 8, "1.5");
    col_text(t, 9, "-2.25");
    col_text(t, 10, "t");
    col_text(t, 11, "long text");
    col_text(t, 12, "\\x0a1b");
    col_text(t, 13, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
}

static struct test_change change(struct ctx *c, char op)
{
    struct test_change ch = {0};

    ch.op = op;
    ch.rel = c->rel;
    ch.src = &c->src;
    ch.ts_us = INT64_C(1705314601987654);
    ch.model = c->model;
    return ch;
}

/* ---------------------------------------------------------------------- */
/* decoding                                                                */

struct decoded {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t v;
};

/* The schema text registered under id. */
static const struct pgcdc_buf *text_of(struct ctx *c, int32_t id)
{
    cr_assert(id >= 100 && id < 100 + c->reg.calls, "unknown schema id %" PRId32, id);
    return &c->reg.texts[id - 100];
}

static int32_t frame_id(const struct pgcdc_buf *b)
{
    const unsigned char *p = (const unsigned char *)b->data;

    cr_assert_geq(b->len, 5);
    cr_assert_eq(p[0], 0, "magic byte");
    return (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]);
}

/* Decodes a framed record with avro-c's reader; it must use every byte. */
static void decode(struct ctx *c, const struct pgcdc_buf *b, struct decoded *d)
{
    const struct pgcdc_buf *text = text_of(c, frame_id(b));
    avro_reader_t r;

    cr_assert_eq(avro_schema_from_json_length(text->data, text->len, &d->schema), 0, "%s",
                 avro_strerror());
    d->iface = avro_generic_class_from_schema(d->schema);
    cr_assert_not_null(d->iface);
    cr_assert_eq(avro_generic_value_new(d->iface, &d->v), 0);
    r = avro_reader_memory(b->data + 5, (int64_t)(b->len - 5));
    cr_assert_eq(avro_value_read(r, &d->v), 0, "avro read: %s", avro_strerror());
    {
        char extra;

        /* avro_reader_is_eof() only turns true after a failed read. */
        cr_assert_neq(avro_read(r, &extra, 1), 0, "bytes left after the record");
    }
    avro_reader_free(r);
}

static void decoded_free(struct decoded *d)
{
    avro_value_decref(&d->v);
    avro_value_iface_decref(d->iface);
    avro_schema_decref(d->schema);
}

/* Field `name` of record v; a ["null", T] or [T, "null"] union is resolved
 * to its branch, *is_null telling whether that is the null one. */
static avro_value_t get(avro_value_t *v, const char *name, bool *is_null)
{
    avro_value_t f, b;

    cr_assert_eq(avro_value_get_by_name(v, name, &f, NULL), 0, "no field '%s'", name);
    if (is_null)
        *is_null = false;
    if (avro_value_get_type(&f) != AVRO_UNION)
        return f;
    cr_assert_eq(avro_value_get_current_branch(&f, &b), 0);
    if (is_null)
        *is_null = avro_value_get_type(&b) == AVRO_NULL;
    return b;
}

static void expect_null(avro_value_t *v, const char *name)
{
    bool is_null;

    get(v, name, &is_null);
    cr_assert(is_null, "field '%s' is not null", name);
}

static avro_value_t get_set(avro_value_t *v, const char *name)
{
    bool is_null;
    avro_value_t f = get(v, name, &is_null);

    cr_assert_not(is_null, "field '%s' is null", name);
    return f;
}

static void expect_str(avro_value_t *v, const char *name, const char *want)
{
    avro_value_t f = get_set(v, name);
    const char *s;
    size_t n;

    cr_assert_eq(avro_value_get_string(&f, &s, &n), 0, "field '%s' is not a string", name);
    cr_assert_eq(n - 1, strlen(want), "field '%s': length %zu, want %zu", name, n - 1,
                 strlen(want));
    cr_assert_eq(memcmp(s, want, n - 1), 0, "field '%s': '%.*s', want '%s'", name, (int)(n - 1), s,
                 want);
}

static void expect_long(avro_value_t *v, const char *name, int64_t want)
{
    avro_value_t f = get_set(v, name);
    int64_t x;

    cr_assert_eq(avro_value_get_long(&f, &x), 0, "field '%s' is not a long", name);
    cr_assert_eq(x, want, "field '%s': %" PRId64 ", want %" PRId64, name, x, want);
}

static void expect_int(avro_value_t *v, const char *name, int32_t want)
{
    avro_value_t f = get_set(v, name);
    int32_t x;

    cr_assert_eq(avro_value_get_int(&f, &x), 0, "field '%s' is not an int", name);
    cr_assert_eq(x, want, "field '%s': %d, want %d", name, x, want);
}

static void expect_bytes(avro_value_t *v, const char *name, const void *want, size_t n)
{
    avro_value_t f = get_set(v, name);
    const void *p;
    size_t len;

    cr_assert_eq(avro_value_get_bytes(&f, &p, &len), 0, "field '%s' is not bytes", name);
    cr_assert_eq(len, n, "field '%s': %zu bytes, want %zu", name, len, n);
    cr_assert_eq(memcmp(p, want, n), 0, "field '%s': wrong bytes", name);
}

static void expect_source(avro_value_t *env, const char *schema, const char *table)
{
    avro_value_t src = get_set(env, "source");

    expect_str(&src, "version", "0.1.0");
    expect_str(&src, "connector", "postgresql");
    expect_str(&src, "name", "shop");
    expect_long(&src, "ts_ms", INT64_C(1705314600123));
    expect_str(&src, "snapshot", "false");
    expect_str(&src, "db", "appdb");
    expect_str(&src, "sequence", "[\"23800000\",\"23803720\"]");
    expect_long(&src, "ts_us", INT64_C(1705314600123456));
    expect_long(&src, "ts_ns", INT64_C(1705314600123456000));
    expect_str(&src, "schema", schema);
    expect_str(&src, "table", table);
    expect_long(&src, "txId", 777);
    expect_long(&src, "lsn", 23803720);
    expect_null(&src, "xmin");
    expect_null(&src, "origin");
    expect_null(&src, "origin_lsn");
}

static void expect_envelope_tail(avro_value_t *env, const char *op)
{
    expect_null(env, "transaction");
    expect_str(env, "op", op);
    expect_long(env, "ts_ms", INT64_C(1705314601987));
    expect_long(env, "ts_us", INT64_C(1705314601987654));
    expect_long(env, "ts_ns", INT64_C(1705314601987654000));
}

/* Checks a row written by full_row() (id given). */
static void expect_full_row(avro_value_t *row, int32_t id)
{
    static const unsigned char price[] = {0xff, 0x7f};
    static const unsigned char ratio[] = {0x0f};
    static const unsigned char data[] = {0x0a, 0x1b};
    avro_value_t f, el, b;
    size_t n;
    float fv;
    double dv;
    int bv;
    int32_t iv;

    expect_int(row, "id", id);
    expect_str(row, "name", "widget");
    expect_bytes(row, "price", price, sizeof(price));
    f = get_set(row, "ratio");
    expect_int(&f, "scale", 1);
    expect_bytes(&f, "value", ratio, sizeof(ratio));

    f = get_set(row, "tags");
    cr_assert_eq(avro_value_get_size(&f, &n), 0);
    cr_assert_eq(n, 3);
    avro_value_get_by_index(&f, 1, &el, NULL);
    avro_value_get_current_branch(&el, &b);
    cr_assert_eq(avro_value_get_type(&b), AVRO_NULL, "tags[1] is not null");
    avro_value_get_by_index(&f, 2, &el, NULL);
    avro_value_get_current_branch(&el, &b);
    {
        const char *s;
        size_t len;

        cr_assert_eq(avro_value_get_string(&b, &s, &len), 0);
        cr_assert_str_eq(s, "b c");
    }
    f = get_set(row, "nums");
    cr_assert_eq(avro_value_get_size(&f, &n), 0);
    cr_assert_eq(n, 2);
    avro_value_get_by_index(&f, 1, &el, NULL);
    avro_value_get_current_branch(&el, &b);
    cr_assert_eq(avro_value_get_int(&b, &iv), 0);
    cr_assert_eq(iv, -2);

    expect_long(row, "big", INT64_MAX);
    expect_int(row, "qty", -32768);
    f = get_set(row, "f");
    cr_assert_eq(avro_value_get_float(&f, &fv), 0);
    cr_assert(fv == 1.5f);
    f = get_set(row, "d");
    cr_assert_eq(avro_value_get_double(&f, &dv), 0);
    cr_assert(dv == -2.25);
    f = get_set(row, "flag");
    cr_assert_eq(avro_value_get_boolean(&f, &bv), 0);
    cr_assert(bv);
    expect_str(row, "body", "long text");
    expect_bytes(row, "data", data, sizeof(data));
    expect_str(row, "uid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
}

/* ---------------------------------------------------------------------- */
/* tests                                                                   */

Test(avro_encode, insert_key_and_envelope)
{
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 'c');
    struct decoded k, v;
    avro_value_t row;

    full_row(c->after, "42");
    ch.after = c->after;
    cr_assert_eq(encode_key(c->enc, &ch, c->after, &c->key, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);

    /* Subjects by TopicNameStrategy, key first. */
    cr_assert_eq(c->reg.calls, 2);
    cr_assert_str_eq(c->reg.subjects[0], "shop.public.orders-key");
    cr_assert_str_eq(c->reg.subjects[1], "shop.public.orders-value");
    cr_assert_eq(frame_id(&c->key), 100);
    cr_assert_eq(frame_id(&c->value), 101);

    decode(c, &c->key, &k);
    expect_int(&k.v, "id", 42);
    decoded_free(&k);

    decode(c, &c->value, &v);
    expect_null(&v.v, "before");
    row = get_set(&v.v, "after");
    expect_full_row(&row, 42);
    expect_source(&v.v, "public", "orders");
    expect_envelope_tail(&v.v, "c");
    decoded_free(&v);
    ctx_free(c);
}

Test(avro_encode, schemas_register_once_per_relation_version)
{
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 'c');

    full_row(c->after, "1");
    ch.after = c->after;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(encode_key(c->enc, &ch, c->after, &c->key, c->err, sizeof(c->err)), 0,
                     "%s", c->err);
        cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                     c->err);
    }
    cr_assert_eq(c->reg.calls, 2);
    /* A new relation version registers again. */
    c->rel->version++;
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    cr_assert_eq(c->reg.calls, 4);
    cr_assert_str_eq(c->reg.subjects[3], "shop.public.orders-value");
    cr_assert_eq(frame_id(&c->value), 103);
    ctx_free(c);
}

/* Memory stays flat: once the buffers have grown, encoding more events
 * does not grow them further. */
/* Counts registrations. */
static int count_id(void *arg, const char *subject, const char *json, size_t len, int32_t *id,
                    char *err, size_t errlen)
{
    int *n = arg;

    (void)subject;
    (void)json;
    (void)len;
    (void)err;
    (void)errlen;
    *id = ++*n;
    return 0;
}

Test(avro_encode, state_is_kept_per_relation_and_version)
{
    enum { NRELS = 100 };
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 'c');
    struct pgcdc_avro_encoder_opts opts = {0};
    struct pgcdc_encoder *enc;
    struct pgcdc_rel *rels[NRELS];
    int calls = 0;

    opts.topic_prefix = "shop";
    opts.id_fn = count_id;
    opts.id_arg = &calls;
    cr_assert_eq(pgcdc_avro_encoder_new(&enc, &opts, c->err, sizeof(c->err)), 0, "%s", c->err);
    full_row(c->after, "1");
    ch.after = c->after;
    /* Oids in runs and strides, so that some share a slot of the table. */
    for (int i = 0; i < NRELS; i++) {
        rels[i] = fixture_rel("shop.public.orders", "public", "orders", cols, NCOLS);
        rels[i]->relid = 16384u + (i % 2 ? (uint32_t)i : (uint32_t)i * 64u);
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < NRELS; i++) {
            ch.rel = rels[i];
            cr_assert_eq(encode_key(enc, &ch, c->after, &c->key, c->err, sizeof(c->err)), 0, "%s",
                         c->err);
            cr_assert_eq(encode_value(enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                         c->err);
        }
        /* Key and value once per relation, however often it is encoded. */
        cr_assert_eq(calls, 2 * NRELS, "round %d: %d registrations", round, calls);
    }
    /* A new version of one relation registers again; its neighbours do not. */
    rels[50]->version++;
    for (int i = 49; i <= 51; i++) {
        ch.rel = rels[i];
        cr_assert_eq(encode_value(enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s", c->err);
    }
    cr_assert_eq(calls, 2 * NRELS + 2);
    for (int i = 0; i < NRELS; i++)
        fixture_rel_free(rels[i]);
    pgcdc_encoder_free(&enc);
    ctx_free(c);
}

Test(avro_encode, buffers_stop_growing)
{
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 'u');
    size_t key_cap = 0, value_cap = 0;

    full_row(c->before, "1");
    full_row(c->after, "1");
    ch.after = c->after;
    for (int i = 0; i < 200; i++) {
        ch.before = (i & 1) ? c->before : NULL;
        cr_assert_eq(encode_key(c->enc, &ch, c->after, &c->key, c->err, sizeof(c->err)), 0,
                     "%s", c->err);
        cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                     c->err);
        if (i == 10) {
            key_cap = c->key.cap;
            value_cap = c->value.cap;
        }
    }
    cr_assert_eq(c->key.cap, key_cap);
    cr_assert_eq(c->value.cap, value_cap);
    ctx_free(c);
}

Test(avro_encode, update_with_unchanged_toast_placeholder)
{
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 'u');
    struct decoded v;
    avro_value_t row;

    full_row(c->before, "7");
    full_row(c->after, "7");
    col_kind(c->after, 11, PGCDC_VALUE_UNCHANGED);
    col_kind(c->after, 1, PGCDC_VALUE_NULL);
    ch.before = c->before;
    ch.after = c->after;
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    decode(c, &c->value, &v);
    row = get_set(&v.v, "before");
    expect_full_row(&row, 7);
    row = get_set(&v.v, "after");
    expect_str(&row, "body", "__debezium_unavailable_value");
    expect_null(&row, "name");
    expect_int(&row, "id", 7);
    expect_envelope_tail(&v.v, "u");
    decoded_free(&v);
    ctx_free(c);
}

Test(avro_encode, delete_with_key_only_before)
{
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 'd');
    struct decoded k, v;
    avro_value_t row;

    /* 'K': only the key column is sent, the others arrive as nulls. */
    c->before->ncols = NCOLS;
    for (int i = 0; i < NCOLS; i++)
        col_kind(c->before, i, PGCDC_VALUE_NULL);
    col_text(c->before, 0, "9");
    ch.before = c->before;
    ch.before_key_only = true;
    cr_assert_eq(encode_key(c->enc, &ch, c->before, &c->key, c->err, sizeof(c->err)), 0,
                 "%s", c->err);
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    decode(c, &c->key, &k);
    expect_int(&k.v, "id", 9);
    decoded_free(&k);
    decode(c, &c->value, &v);
    row = get_set(&v.v, "before");
    expect_int(&row, "id", 9);
    for (int i = 1; i < NCOLS; i++)
        expect_null(&row, cols[i].name);
    expect_null(&v.v, "after");
    expect_envelope_tail(&v.v, "d");
    decoded_free(&v);
    ctx_free(c);
}

Test(avro_encode, delete_key_only_ignores_non_key_values)
{
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 'd');
    struct decoded v;
    avro_value_t row;

    /* Even if the old row carries values, a key-only image shows only keys. */
    full_row(c->before, "5");
    ch.before = c->before;
    ch.before_key_only = true;
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    decode(c, &c->value, &v);
    row = get_set(&v.v, "before");
    expect_int(&row, "id", 5);
    expect_null(&row, "name");
    expect_null(&row, "price");
    decoded_free(&v);
    ctx_free(c);
}

Test(avro_encode, truncate_has_no_key_and_empty_images)
{
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 't');
    struct decoded v;

    cr_assert_eq(encode_key(c->enc, &ch, NULL, &c->key, c->err, sizeof(c->err)), 1);
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    decode(c, &c->value, &v);
    expect_null(&v.v, "before");
    expect_null(&v.v, "after");
    expect_source(&v.v, "public", "orders");
    expect_envelope_tail(&v.v, "t");
    decoded_free(&v);
    ctx_free(c);
}

Test(avro_encode, keyless_table_has_no_key)
{
    static const struct fixture_col lcols[] = {{"line", OID_TEXT, -1, false}};
    struct ctx *c = ctx_new();
    struct pgcdc_rel *log = fixture_rel("shop.public.log", "public", "log", lcols, 1);
    struct test_change ch = change(c, 'c');
    struct decoded v;
    avro_value_t row;

    c->after->ncols = 1;
    col_text(c->after, 0, "hello");
    ch.rel = log;
    ch.after = c->after;
    cr_assert_eq(encode_key(c->enc, &ch, c->after, &c->key, c->err, sizeof(c->err)), 1);
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    cr_assert_eq(c->reg.calls, 1);
    cr_assert_str_eq(c->reg.subjects[0], "shop.public.log-value");
    decode(c, &c->value, &v);
    row = get_set(&v.v, "after");
    expect_str(&row, "line", "hello");
    expect_source(&v.v, "public", "log");
    decoded_free(&v);
    fixture_rel_free(log);
    ctx_free(c);
}

Test(avro_encode, logical_message)
{
    static const char content[] = {'h', 'i', '\0', 'x'};
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 'm');
    struct decoded k, v;
    avro_value_t msg;

    ch.rel = NULL;
    ch.msg_prefix = "outbox";
    ch.msg_content = content;
    ch.msg_len = sizeof(content);
    cr_assert_eq(encode_key(c->enc, &ch, NULL, &c->key, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    cr_assert_eq(c->reg.calls, 2);
    cr_assert_str_eq(c->reg.subjects[0], "shop.message-key");
    cr_assert_str_eq(c->reg.subjects[1], "shop.message-value");
    decode(c, &c->key, &k);
    expect_str(&k.v, "prefix", "outbox");
    decoded_free(&k);
    decode(c, &c->value, &v);
    expect_str(&v.v, "op", "m");
    expect_long(&v.v, "ts_ms", INT64_C(1705314601987));
    expect_source(&v.v, "", "");
    msg = get_set(&v.v, "message");
    expect_str(&msg, "prefix", "outbox");
    expect_bytes(&msg, "content", content, sizeof(content));
    decoded_free(&v);
    ctx_free(c);
}

Test(avro_encode, first_event_without_last_commit_and_snapshot_flag)
{
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 'r');
    struct decoded v;
    avro_value_t src;

    c->src.last_commit_lsn = 0;
    c->src.snapshot = "last";
    full_row(c->after, "3");
    ch.after = c->after;
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    decode(c, &c->value, &v);
    src = get_set(&v.v, "source");
    expect_str(&src, "sequence", "[null,\"23803720\"]");
    expect_str(&src, "snapshot", "last");
    expect_str(&v.v, "op", "r");
    decoded_free(&v);
    ctx_free(c);
}

/* Values well beyond the first output and scratch sizes: the writer grows
 * the output buffer and scratch moves while the row is converted (each
 * bytea is decoded into scratch); every byte must still come out right. */
Test(avro_encode, large_values_survive_buffer_growth)
{
    enum { NBIG = 6, HEXLEN = 40000 };
    struct fixture_col bcols[NBIG + 1];
    char names[NBIG][8];
    char *hex[NBIG];
    unsigned char *want[NBIG];
    struct ctx *c = ctx_new();
    struct pgcdc_rel *rel;
    struct test_change ch = change(c, 'c');
    struct decoded v;
    avro_value_t row;

    bcols[0] = (struct fixture_col){"id", OID_INT4, -1, true};
    for (int i = 0; i < NBIG; i++) {
        snprintf(names[i], sizeof(names[i]), "b%d", i);
        bcols[i + 1] = (struct fixture_col){names[i], OID_BYTEA, -1, false};
    }
    rel = fixture_rel("shop.public.blobs", "public", "blobs", bcols, NBIG + 1);
    c->after->ncols = NBIG + 1;
    col_text(c->after, 0, "1");
    for (int i = 0; i < NBIG; i++) {
        hex[i] = malloc(2 + 2 * HEXLEN + 1);
        want[i] = malloc(HEXLEN);
        memcpy(hex[i], "\\x", 2);
        for (int j = 0; j < HEXLEN; j++) {
            want[i][j] = (unsigned char)(j * 7 + i);
            snprintf(hex[i] + 2 + 2 * j, 3, "%02x", want[i][j]);
        }
        col_text(c->after, i + 1, hex[i]);
    }
    ch.rel = rel;
    ch.after = c->after;
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    cr_assert_gt(c->value.len, (size_t)NBIG * HEXLEN);
    decode(c, &c->value, &v);
    row = get_set(&v.v, "after");
    for (int i = 0; i < NBIG; i++)
        expect_bytes(&row, names[i], want[i], HEXLEN);
    decoded_free(&v);
    for (int i = 0; i < NBIG; i++) {
        free(hex[i]);
        free(want[i]);
    }
    fixture_rel_free(rel);
    ctx_free(c);
}

Test(avro_encode, incompatible_schema_names_subject_table_and_reason)
{
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 'c');

    c->reg.fail_rc = -EEXIST;
    c->reg.fail_msg = "Schema being registered is incompatible with an earlier schema";
    full_row(c->after, "1");
    ch.after = c->after;
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), -EEXIST);
    cr_assert_not_null(strstr(c->err, "'public.orders'"), "%s", c->err);
    cr_assert_not_null(strstr(c->err, "'shop.public.orders-key'"), "%s", c->err);
    cr_assert_not_null(strstr(c->err, "incompatible with an earlier schema"), "%s", c->err);
    /* Nothing was cached: the next event tries again. */
    c->reg.fail_rc = 0;
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    ctx_free(c);
}

Test(avro_encode, bad_values_are_errors_naming_the_column)
{
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 'c');

    full_row(c->after, "1");
    col_text(c->after, 2, "1.234"); /* more fraction digits than numeric(10,2) */
    ch.after = c->after;
    cr_assert_lt(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0);
    cr_assert_not_null(strstr(c->err, "column 'price'"), "%s", c->err);

    full_row(c->after, "1");
    c->after->cols[1].kind = PGCDC_VALUE_BINARY;
    c->after->cols[1].data = "x";
    c->after->cols[1].len = 1;
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), -ENOTSUP);
    cr_assert_not_null(strstr(c->err, "column 'name'"), "%s", c->err);

    full_row(c->after, "1");
    col_kind(c->after, 0, PGCDC_VALUE_NULL);
    cr_assert_lt(encode_key(c->enc, &ch, c->after, &c->key, c->err, sizeof(c->err)), 0);
    cr_assert_not_null(strstr(c->err, "column 'id'"), "%s", c->err);

    full_row(c->after, "1");
    c->after->ncols = NCOLS - 1;
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), -EBADMSG);
    ctx_free(c);
}

Test(avro_encode, no_registry_and_no_id_fn_frames_with_id_zero)
{
    struct pgcdc_avro_encoder_opts opts = {0};
    struct pgcdc_encoder *enc;
    struct ctx *c = ctx_new();
    struct test_change ch = change(c, 'c');
    char err[256] = "";

    opts.topic_prefix = "shop";
    cr_assert_eq(pgcdc_avro_encoder_new(&enc, &opts, err, sizeof(err)), 0, "%s", err);
    full_row(c->after, "1");
    ch.after = c->after;
    cr_assert_eq(encode_value(enc, &ch, &c->value, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(frame_id(&c->value), 0);
    /* The relation's state belongs to enc now; c's encoder rebuilds its own. */
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(frame_id(&c->value), 101);
    pgcdc_encoder_free(&enc);
    cr_assert_null(enc);
    ctx_free(c);
}

Test(avro_encode, constructor_requires_topic_prefix)
{
    struct pgcdc_avro_encoder_opts opts = {0};
    struct pgcdc_encoder *enc = (struct pgcdc_encoder *)&opts;
    char err[256] = "";

    cr_assert_eq(pgcdc_avro_encoder_new(&enc, &opts, err, sizeof(err)), -EINVAL);
    cr_assert_null(enc);
    cr_assert_not_null(strstr(err, "topic prefix"), "%s", err);
}

/* ---------------------------------------------------------------------- */
/* structs, maps and catalog-mapped types                                  */

static struct pgcdc_type_info mood_info(void)
{
    struct pgcdc_type_info ti;

    memset(&ti, 0, sizeof(ti));
    ti.oid = 16805;
    ti.typtype = ti.base_typtype = 'e';
    snprintf(ti.name, sizeof(ti.name), "mood");
    snprintf(ti.base_name, sizeof(ti.base_name), "mood");
    snprintf(ti.nspname, sizeof(ti.nspname), "public");
    ti.base_oid = 16805;
    ti.base_typmod = -1;
    ti.labels = "sad,ok,happy";
    return ti;
}

static double get_double(avro_value_t *v, const char *name)
{
    avro_value_t f = get_set(v, name);
    double d;

    cr_assert_eq(avro_value_get_double(&f, &d), 0, "field '%s' is not a double", name);
    return d;
}

/* The string value of key k in the map field `name` of v. */
static void expect_map_entry(avro_value_t *v, const char *name, const char *k, const char *want)
{
    avro_value_t m = get_set(v, name), e;
    const char *s;
    size_t n;

    cr_assert_eq(avro_value_get_type(&m), AVRO_MAP, "field '%s' is not a map", name);
    cr_assert_eq(avro_value_get_by_name(&m, k, &e, NULL), 0, "map '%s' has no key '%s'", name, k);
    cr_assert_eq(avro_value_get_string(&e, &s, &n), 0);
    cr_assert_str_eq(s, want);
}

Test(avro_encode, geometric_structs_maps_and_enums)
{
    static const unsigned char point_wkb[] = {0x01, 0x01, 0x00, 0x00, 0x00, /* LE, Point */
                                              0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f,
                                              0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0};
    struct pgcdc_type_info mood = mood_info();
    const struct fixture_col gcols[] = {
        {"id", OID_INT4, -1, true}, {"pt", OID_POINT, -1, false},  {"c", OID_CIRCLE, -1, false},
        {"bx", OID_BOX, -1, false}, {"pa", OID_PATH, -1, false},   {"ln", OID_LINE, -1, false},
        {"m", 16805, -1, false},    {"pt2", OID_POINT, -1, false},
    };
    struct ctx *c = ctx_new();
    struct test_change ch;
    struct decoded d;
    avro_value_t after, f, center;
    size_t n;

    fixture_rel_free(c->rel);
    c->rel = fixture_rel("shop.public.shapes", "public", "shapes", gcols, 8);
    cr_assert_eq(fixture_map_info(c->rel, 6, &mood), 0);
    c->after->ncols = 8;
    col_text(c->after, 0, "1");
    col_text(c->after, 1, "(1.5,-2)");
    col_text(c->after, 2, "<(1,1),0.5>");
    col_text(c->after, 3, "(1,1),(0,0)");
    col_text(c->after, 4, "[(0,0),(1,1)]");
    col_text(c->after, 5, "{1,-1,0}");
    col_text(c->after, 6, "happy");
    col_kind(c->after, 7, PGCDC_VALUE_NULL);
    ch = change(c, 'c');
    ch.after = c->after;
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    decode(c, &c->value, &d);
    after = get_set(&d.v, "after");

    f = get_set(&after, "pt");
    cr_assert(get_double(&f, "x") == 1.5 && get_double(&f, "y") == -2.0);
    expect_bytes(&f, "wkb", point_wkb, sizeof(point_wkb));
    expect_null(&f, "srid");

    f = get_set(&after, "c");
    center = get_set(&f, "center");
    cr_assert(get_double(&center, "x") == 1.0 && get_double(&center, "y") == 1.0);
    cr_assert(get_double(&f, "radius") == 0.5);

    f = get_set(&after, "bx");
    {
        avro_value_t w = get_set(&f, "wkb");
        const void *p;

        cr_assert_eq(avro_value_get_bytes(&w, &p, &n), 0);
        cr_assert_eq(n, 93u, "box: a 5-point polygon ring is 93 bytes of WKB, not %zu", n);
    }
    expect_null(&f, "srid");
    expect_map_entry(&f, "extensions", "type", "box");

    f = get_set(&after, "pa");
    expect_map_entry(&f, "extensions", "type", "path");
    expect_map_entry(&f, "extensions", "closed", "false");
    {
        avro_value_t m = get_set(&f, "extensions");

        cr_assert_eq(avro_value_get_size(&m, &n), 0);
        cr_assert_eq(n, 2u);
    }

    f = get_set(&after, "ln");
    cr_assert(get_double(&f, "a") == 1.0 && get_double(&f, "b") == -1.0 &&
              get_double(&f, "c") == 0.0);
    expect_str(&after, "m", "happy");
    expect_null(&after, "pt2");
    decoded_free(&d);

    /* The same relation again with other values: the reused avro value must
     * not keep entries of the previous event's maps. */
    col_text(c->after, 4, "((0,0),(1,1),(2,0))");
    col_kind(c->after, 1, PGCDC_VALUE_NULL);
    cr_assert_eq(encode_value(c->enc, &ch, &c->value, c->err, sizeof(c->err)), 0, "%s",
                 c->err);
    decode(c, &c->value, &d);
    after = get_set(&d.v, "after");
    expect_null(&after, "pt");
    f = get_set(&after, "pa");
    expect_map_entry(&f, "extensions", "closed", "true");
    decoded_free(&d);
    ctx_free(c);
}
