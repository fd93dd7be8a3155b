/*
 * avro_encode.c - change events as Confluent-framed Avro (see avro_encode.h).
 *
 * Wire format of every key and value:
 *
 *   byte 0      0x00 (Confluent magic)
 *   bytes 1-4   schema id, big-endian
 *   bytes 5-    Avro binary encoding of the Key / Envelope / MessageKey /
 *               MessageValue record (avro_schema.h gives the field order)
 *
 * Per relation version the encoder keeps the schema texts, the avro-c
 * schemas parsed from them, one generic value per record and the two
 * registered ids, in its own table keyed by relation oid and replaced when
 * the relation's version moves (the relation cache knows nothing of
 * encoders). Per event it resets the generic value, sets every field by
 * position, and writes it with one memory writer straight into the caller's
 * buffer after the 5-byte header, doubling the buffer when it is too small.
 *
 * Strings and bytes are handed to avro-c without copying (wrapped buffers
 * pointing at the input text or at the per-encoder scratch buffer), so a
 * row costs no allocation once the buffers have grown. Converted values sit
 * in scratch, which may move when it grows while a later column is
 * converted; the row is then built once more, and since the second pass
 * needs no more room than the first, it does not move again.
 *
 * Exception: avro-c frees an array's or a map's storage when a union leaves
 * that branch (before/after switching between null and a row), and copies
 * map keys, so tables with array or geometric columns may allocate per
 * event.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>

#include "pgcdc/avro_encode.h"
#include "pgcdc/avro_schema.h"
#include "pgcdc/relcache.h"
#include "pgcdc/types.h"

/* Largest encoded record accepted, far above any Kafka message limit. */
#define MAX_RECORD (256u * 1024 * 1024)

/* One registered record type and its reusable value. */
struct avro_part {
    avro_schema_t schema;      /* parsed from the registered text, or NULL */
    avro_value_iface_t *iface; /* generic class of schema, or NULL */
    avro_value_t val;          /* the reusable value (valid when iface is set) */
    int32_t id;                /* schema registry id */
};

/* Everything cached per relation version. */
struct avro_relstate {
    uint32_t relid;                    /* relation oid */
    uint32_t version;                  /* rel->version it was built for */
    bool has_key;                      /* the table has key columns */
    struct pgcdc_avro_schemas schemas; /* registered texts and fingerprints */
    struct avro_part key;              /* Key record (when has_key) */
    struct avro_part value;            /* Envelope record */
};

struct avro_encoder {
    struct pgcdc_encoder base;           /* must be first */
    char *placeholder;                   /* unavailable.value.placeholder */
    char *msg_topic;                     /* <topic.prefix>.message */
    struct pgcdc_registry *registry;     /* borrowed, or NULL */
    pgcdc_avro_id_fn id_fn;              /* ids without a registry, or NULL */
    void *id_arg;                        /* handed to id_fn */
    struct pgcdc_buf scratch;            /* converted values of the current row */
    struct avro_relstate **states;       /* per relation, open addressing by relid */
    size_t nstates;                      /* slots in states, a power of two (0 before use) */
    size_t used;                         /* occupied slots */
    struct avro_relstate *last;          /* state of the last relation looked up, or NULL */
    avro_writer_t writer;                /* memory writer, pointed at each output buffer */
    bool msg_ready;                      /* msg_key and msg_value are set up */
    struct avro_part msg_key;            /* MessageKey */
    struct avro_part msg_value;          /* MessageValue */
    bool txn_ready;                      /* txn_key and txn_value are set up */
    struct avro_part txn_key;            /* TransactionMetadataKey */
    struct avro_part txn_value;          /* TransactionMetadataValue */
    char seq[PGCDC_SOURCE_SEQUENCE_LEN]; /* source.sequence text of the current event */
    char op[2];                          /* envelope op text of the current event */
};

static const char *rel_label_ns(const struct pgcdc_rel *rel)
{
    return rel ? rel->nspname : "";
}

static const char *rel_label_rel(const struct pgcdc_rel *rel)
{
    return rel ? rel->relname : "";
}

/* ---------------------------------------------------------------------- */
/* schemas, values and registration                                        */

static void part_done(struct avro_part *p)
{
    if (p->iface) {
        avro_value_decref(&p->val);
        avro_value_iface_decref(p->iface);
    }
    if (p->schema)
        avro_schema_decref(p->schema);
    memset(p, 0, sizeof(*p));
}

/* Parses text and creates the reusable value. what names it in errors. */
static int part_init(struct avro_part *p, const struct pgcdc_buf *text, const char *what, char *err,
                     size_t errlen)
{
    memset(p, 0, sizeof(*p));
    if (avro_schema_from_json_length(text->data, text->len, &p->schema)) {
        snprintf(err, errlen, "%s: avro-c rejects the schema: %s", what, avro_strerror());
        p->schema = NULL;
        return -EINVAL;
    }
    p->iface = avro_generic_class_from_schema(p->schema);
    if (p->iface == NULL) {
        snprintf(err, errlen, "%s: %s", what, avro_strerror());
        part_done(p);
        return -ENOMEM;
    }
    if (avro_generic_value_new(p->iface, &p->val)) {
        snprintf(err, errlen, "%s: %s", what, avro_strerror());
        avro_value_iface_decref(p->iface);
        p->iface = NULL;
        part_done(p);
        return -ENOMEM;
    }
    return 0;
}

/* Registers text under "<topic>-<suffix>" and stores the id in *id. */
static int register_text(struct avro_encoder *e, const char *topic, const char *suffix,
                         const struct pgcdc_buf *text, const char *what, int32_t *id, char *err,
                         size_t errlen)
{
    char subject[512];
    char rerr[768];
    int rc = 0;

    rerr[0] = '\0';
    if ((size_t)snprintf(subject, sizeof(subject), "%s-%s", topic, suffix) >= sizeof(subject)) {
        snprintf(err, errlen, "%s: subject name too long", what);
        return -EINVAL;
    }
    *id = 0;
    if (e->registry)
        rc = pgcdc_registry_register_async(e->registry, subject, text->data, text->len, id, rerr,
                                           sizeof(rerr));
    else if (e->id_fn)
        rc = e->id_fn(e->id_arg, subject, text->data, text->len, id, rerr, sizeof(rerr));
    if (rc == -EINPROGRESS)
        snprintf(err, errlen, "%s: %s schema under subject '%s': waiting for the schema registry",
                 what, suffix, subject);
    else if (rc < 0)
        snprintf(err, errlen, "%s: cannot register the %s schema under subject '%s': %s%s", what,
                 suffix, subject, rerr,
                 rc == -EEXIST ? " (it is not compatible with the versions already registered "
                                 "under that subject; check the subject's compatibility level)"
                               : "");
    return rc;
}

static void relstate_free(struct avro_relstate *st)
{
    if (st == NULL)
        return;
    part_done(&st->key);
    part_done(&st->value);
    pgcdc_avro_schemas_free(&st->schemas);
    free(st);
}

/* Counts the columns the Value (keys false) or Key record holds. */
static size_t count_fields(const struct pgcdc_rel *rel, bool keys)
{
    size_t n = 0;

    for (uint16_t i = 0; i < rel->ncols; i++)
        if (keys ? rel->cols[i].key : rel->cols[i].included)
            n++;
    return n;
}

/* The Value record inside a parsed Envelope schema. */
static avro_schema_t value_record(avro_schema_t envelope)
{
    avro_schema_t before = avro_schema_record_field_get(envelope, "before");

    return before ? avro_schema_union_branch(before, 1) : NULL;
}

static int relstate_build(struct avro_encoder *e, const struct pgcdc_rel *rel,
                          struct avro_relstate **out, char *err, size_t errlen)
{
    struct avro_relstate *st = calloc(1, sizeof(*st));
    char what[300];
    int rc;

    *out = NULL;
    if (st == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    snprintf(what, sizeof(what), "table '%s.%s'", rel->nspname, rel->relname);
    st->relid = rel->relid;
    st->version = rel->version;
    rc = pgcdc_avro_schema_build(rel, &st->schemas, err, errlen);
    if (rc < 0)
        goto fail;
    st->has_key = st->schemas.key.len > 0;
    if (st->has_key) {
        rc = part_init(&st->key, &st->schemas.key, what, err, errlen);
        if (rc < 0)
            goto fail;
        if ((size_t)avro_schema_record_size(st->key.schema) != count_fields(rel, true)) {
            snprintf(err, errlen, "%s: internal error: key schema field count", what);
            rc = -EINVAL;
            goto fail;
        }
    }
    rc = part_init(&st->value, &st->schemas.value, what, err, errlen);
    if (rc < 0)
        goto fail;
    if (value_record(st->value.schema) == NULL ||
        (size_t)avro_schema_record_size(value_record(st->value.schema)) !=
            count_fields(rel, false)) {
        snprintf(err, errlen, "%s: internal error: value schema field count", what);
        rc = -EINVAL;
        goto fail;
    }
    if (st->has_key) {
        rc = register_text(e, rel->topic, "key", &st->schemas.key, what, &st->key.id, err, errlen);
        if (rc < 0)
            goto fail;
    }
    rc =
        register_text(e, rel->topic, "value", &st->schemas.value, what, &st->value.id, err, errlen);
    if (rc < 0)
        goto fail;
    *out = st;
    return 0;
fail:
    relstate_free(st);
    return rc;
}

/* Slot of relid in the state table: its own, or the empty one it would take. */
static size_t state_slot(const struct avro_encoder *e, uint32_t relid)
{
    /* Fibonacci hashing spreads sequential oids. */
    size_t i = (size_t)((relid * 2654435769u) & (e->nstates - 1));

    while (e->states[i] && e->states[i]->relid != relid)
        i = (i + 1) & (e->nstates - 1);
    return i;
}

/* Keeps the table at most half full. 0 or -ENOMEM. */
static int states_grow(struct avro_encoder *e)
{
    struct avro_relstate **old = e->states;
    size_t n = e->nstates;

    if (e->nstates && (e->used + 1) * 2 <= e->nstates)
        return 0;
    e->nstates = n ? n * 2 : 64;
    e->states = calloc(e->nstates, sizeof(*e->states));
    if (e->states == NULL) {
        e->states = old;
        e->nstates = n;
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if (old[i])
            e->states[state_slot(e, old[i]->relid)] = old[i];
    free(old);
    return 0;
}

/* The cached state of rel's current version, built (and its schemas
 * registered) on first use; the state of an older version is dropped. */
static int relstate_get(struct avro_encoder *e, const struct pgcdc_rel *rel,
                        struct avro_relstate **out, char *err, size_t errlen)
{
    struct avro_relstate *st = e->last;
    size_t slot;
    int rc;

    if (st && st->relid == rel->relid && st->version == rel->version) {
        *out = st;
        return 0;
    }
    if (states_grow(e) < 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    slot = state_slot(e, rel->relid);
    st = e->states[slot];
    if (st == NULL || st->version != rel->version) {
        rc = relstate_build(e, rel, &st, err, errlen);
        if (rc < 0)
            return rc;
        if (e->states[slot])
            relstate_free(e->states[slot]);
        else
            e->used++;
        e->states[slot] = st;
    }
    e->last = st;
    *out = st;
    return 0;
}

static int msg_setup(struct avro_encoder *e, char *err, size_t errlen)
{
    struct pgcdc_buf text = PGCDC_BUF_INIT;
    const char *what = "logical decoding messages";
    int rc;

    if (e->msg_ready)
        return 0;
    if (pgcdc_avro_schema_message_key(&text)) {
        snprintf(err, errlen, "%s: out of memory", what);
        rc = -ENOMEM;
        goto done;
    }
    rc = part_init(&e->msg_key, &text, what, err, errlen);
    if (rc == 0)
        rc = register_text(e, e->msg_topic, "key", &text, what, &e->msg_key.id, err, errlen);
    if (rc < 0)
        goto done;
    if (pgcdc_avro_schema_message_value(&text)) {
        snprintf(err, errlen, "%s: out of memory", what);
        rc = -ENOMEM;
        goto done;
    }
    rc = part_init(&e->msg_value, &text, what, err, errlen);
    if (rc == 0)
        rc = register_text(e, e->msg_topic, "value", &text, what, &e->msg_value.id, err, errlen);
done:
    pgcdc_buf_free(&text);
    if (rc < 0) {
        part_done(&e->msg_key);
        part_done(&e->msg_value);
        return rc;
    }
    e->msg_ready = true;
    return 0;
}

/* The transaction topic's schemas, registered under topic on first use. */
static int txn_setup(struct avro_encoder *e, const char *topic, char *err, size_t errlen)
{
    struct pgcdc_buf text = PGCDC_BUF_INIT;
    const char *what = "transaction metadata";
    int rc;

    if (e->txn_ready)
        return 0;
    if (pgcdc_avro_schema_txn_key(&text)) {
        snprintf(err, errlen, "%s: out of memory", what);
        rc = -ENOMEM;
        goto done;
    }
    rc = part_init(&e->txn_key, &text, what, err, errlen);
    if (rc == 0)
        rc = register_text(e, topic, "key", &text, what, &e->txn_key.id, err, errlen);
    if (rc < 0)
        goto done;
    if (pgcdc_avro_schema_txn_value(&text)) {
        snprintf(err, errlen, "%s: out of memory", what);
        rc = -ENOMEM;
        goto done;
    }
    rc = part_init(&e->txn_value, &text, what, err, errlen);
    if (rc == 0)
        rc = register_text(e, topic, "value", &text, what, &e->txn_value.id, err, errlen);
done:
    pgcdc_buf_free(&text);
    if (rc < 0) {
        part_done(&e->txn_key);
        part_done(&e->txn_value);
        return rc;
    }
    e->txn_ready = true;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* setting values                                                          */

static int avro_fail(char *err, size_t errlen, const char *what)
{
    snprintf(err, errlen, "avro: %s: %s", what, avro_strerror());
    return -EINVAL;
}

/* Hands len bytes at p to a string value without copying. p must stay
 * valid until the value is written. */
static int give_string(avro_value_t *v, const char *p, size_t len)
{
    avro_wrapped_buffer_t wb;

    /* The size counts a terminating NUL that avro-c never reads when writing. */
    avro_wrapped_buffer_new(&wb, p ? p : "", len + 1);
    return avro_value_give_string_len(v, &wb);
}

static int give_bytes(avro_value_t *v, const void *p, size_t len)
{
    avro_wrapped_buffer_t wb;

    avro_wrapped_buffer_new(&wb, p ? p : "", len);
    return avro_value_give_bytes(v, &wb);
}

static int give_cstr(avro_value_t *v, const char *s)
{
    return give_string(v, s ? s : "", s ? strlen(s) : 0);
}

/* Selects the null branch (0) of a ["null", T] union. */
static int set_null(avro_value_t *u)
{
    avro_value_t b;

    if (avro_value_set_branch(u, 0, &b))
        return EINVAL;
    return avro_value_set_null(&b);
}

/* Field idx of rec; on a union, the selected branch of it (-1: the field itself). */
static int field(avro_value_t *rec, size_t idx, int branch, avro_value_t *out)
{
    avro_value_t f;

    if (avro_value_get_by_index(rec, idx, &f, NULL))
        return EINVAL;
    if (branch < 0) {
        *out = f;
        return 0;
    }
    return avro_value_set_branch(&f, branch, out);
}

static int set_field_long(avro_value_t *rec, size_t idx, int branch, int64_t v)
{
    avro_value_t f;

    return field(rec, idx, branch, &f) || avro_value_set_long(&f, v);
}

static int set_field_str(avro_value_t *rec, size_t idx, int branch, const char *s)
{
    avro_value_t f;

    return field(rec, idx, branch, &f) || give_cstr(&f, s);
}

static int set_field_null(avro_value_t *rec, size_t idx)
{
    avro_value_t f;

    return avro_value_get_by_index(rec, idx, &f, NULL) || set_null(&f);
}

static int set_datum(struct avro_encoder *e, const struct pgcdc_typemap *tm,
                     const struct pgcdc_schema *schema, const struct pgcdc_datum *d,
                     avro_value_t *dst, bool nullable, char *err, size_t errlen);

static int set_array(struct avro_encoder *e, const struct pgcdc_typemap *tm,
                     const struct pgcdc_datum *d, avro_value_t *arr, char *err, size_t errlen)
{
    struct pgcdc_array_iter it;
    struct pgcdc_datum el;
    int rc;

    pgcdc_types_array_begin(d, &it);
    while ((rc = pgcdc_types_array_next(tm, &it, &e->scratch, &el, err, errlen)) > 0) {
        avro_value_t v;

        if (avro_value_append(arr, &v, NULL))
            return avro_fail(err, errlen, "array element");
        rc = set_datum(e, tm, &tm->elem, &el, &v, true, err, errlen);
        if (rc < 0)
            return rc;
    }
    return rc;
}

/* A struct datum (VariableScaleDecimal, geometric types) into record rec,
 * field by field as the schema lists them. */
static int set_struct(struct avro_encoder *e, const struct pgcdc_typemap *tm,
                      const struct pgcdc_schema *schema, const struct pgcdc_datum *d,
                      avro_value_t *rec, char *err, size_t errlen)
{
    for (int i = 0; i < schema->nfields; i++) {
        const struct pgcdc_field *f = &schema->fields[i];
        struct pgcdc_datum child;
        avro_value_t v;
        int rc;

        if (pgcdc_types_struct_field(d, i, &child) < 0) {
            snprintf(err, errlen, "internal error: no field '%s' in the value", f->name);
            return -EINVAL;
        }
        if (avro_value_get_by_index(rec, (size_t)i, &v, NULL))
            return avro_fail(err, errlen, "struct field");
        rc = set_datum(e, tm, f->schema, &child, &v, f->optional, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A map datum (string to string) into map. */
static int set_map(struct avro_encoder *e, const struct pgcdc_schema *schema,
                   const struct pgcdc_datum *d, avro_value_t *map, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < d->u.geo.count; i++) {
        const char *k, *val;
        avro_value_t v, b;

        if (pgcdc_types_map_entry_in(d, &e->scratch, i, &k, &val) < 0 ||
            avro_value_add(map, k, &v, NULL, NULL))
            return avro_fail(err, errlen, "map entry");
        if (!schema->optional_values) {
            if (give_cstr(&v, val))
                return avro_fail(err, errlen, "map entry");
        } else if (val == NULL) {
            if (set_null(&v))
                return avro_fail(err, errlen, "map entry");
        } else if (avro_value_set_branch(&v, 1, &b) || give_cstr(&b, val)) {
            return avro_fail(err, errlen, "map entry");
        }
    }
    return 0;
}

/* Writes datum d of Connect schema `schema` into dst, selecting the union
 * branch first when the field is nullable (["null", T]). */
static int set_datum(struct avro_encoder *e, const struct pgcdc_typemap *tm,
                     const struct pgcdc_schema *schema, const struct pgcdc_datum *d,
                     avro_value_t *dst, bool nullable, char *err, size_t errlen)
{
    avro_value_t v = *dst;
    int rc = 0;

    if (d->kind == PGCDC_DATUM_NULL) {
        if (!nullable) {
            snprintf(err, errlen, "null value in a required field");
            return -EINVAL;
        }
        return set_null(dst) ? avro_fail(err, errlen, "null") : 0;
    }
    if (nullable && avro_value_set_branch(dst, 1, &v))
        return avro_fail(err, errlen, "union");
    switch (d->kind) {
    case PGCDC_DATUM_BOOLEAN:
        rc = avro_value_set_boolean(&v, d->u.b);
        break;
    case PGCDC_DATUM_INT:
        if (schema->ctype == PGCDC_CTYPE_INT64)
            rc = avro_value_set_long(&v, d->u.i);
        else
            rc = avro_value_set_int(&v, (int32_t)d->u.i);
        break;
    case PGCDC_DATUM_FLOAT:
        if (schema->ctype == PGCDC_CTYPE_FLOAT32)
            rc = avro_value_set_float(&v, (float)d->u.f);
        else
            rc = avro_value_set_double(&v, d->u.f);
        break;
    case PGCDC_DATUM_STRING:
        rc = give_string(&v, pgcdc_datum_ptr(d, &e->scratch), d->len);
        break;
    case PGCDC_DATUM_BYTES:
        rc = give_bytes(&v, pgcdc_datum_ptr(d, &e->scratch), d->len);
        break;
    case PGCDC_DATUM_VSD:
    case PGCDC_DATUM_STRUCT:
        return set_struct(e, tm, schema, d, &v, err, errlen);
    case PGCDC_DATUM_MAP:
        return set_map(e, schema, d, &v, err, errlen);
    case PGCDC_DATUM_ARRAY:
        return set_array(e, tm, d, &v, err, errlen);
    default:
        snprintf(err, errlen, "internal error: datum kind %d", (int)d->kind);
        return -EINVAL;
    }
    return rc ? avro_fail(err, errlen, "value") : 0;
}

/* Converts column i of a row and writes it into dst. */
static int set_column(struct avro_encoder *e, const struct pgcdc_rel *rel, uint16_t i,
                      const struct pgcdc_value *col, avro_value_t *dst, bool nullable, char *err,
                      size_t errlen)
{
    const struct pgcdc_relcol *rc = &rel->cols[i];
    struct pgcdc_datum d;
    char cerr[256];
    int ret;

    ret = pgcdc_rel_column_datum(rel, i, col, e->placeholder, &e->scratch, &d, err, errlen);
    if (ret < 0)
        return ret;
    ret = set_datum(e, &rc->tm, &rc->tm.schema, &d, dst, nullable, cerr, sizeof(cerr));
    if (ret < 0) {
        if (ret == -ENOMEM)
            snprintf(err, errlen, "out of memory");
        else
            snprintf(err, errlen, "table '%s.%s': column '%s': %s", rel->nspname, rel->relname,
                     rc->name, cerr);
    }
    return ret;
}

/* Fills a Key (keys) or Value record from a row of ncols values; key_only:
 * only key columns carry values, the others are null (a delete's 'K' old
 * row). */
static int set_row(struct avro_encoder *e, const struct pgcdc_rel *rel,
                   const struct pgcdc_value *row, uint16_t ncols, avro_value_t *rec, bool keys,
                   bool key_only, char *err, size_t errlen)
{
    size_t idx = 0;

    if (ncols != rel->ncols) {
        snprintf(err, errlen, "table '%s.%s': a row has %u columns but its Relation message had %u",
                 rel->nspname, rel->relname, ncols, rel->ncols);
        return -EBADMSG;
    }
    for (uint16_t i = 0; i < rel->ncols; i++) {
        const struct pgcdc_relcol *c = &rel->cols[i];
        avro_value_t f;
        int rc;

        if (keys ? !c->key : !c->included)
            continue;
        if (avro_value_get_by_index(rec, idx++, &f, NULL))
            return avro_fail(err, errlen, "field");
        if (key_only && !c->key)
            rc = set_null(&f) ? avro_fail(err, errlen, "null") : 0;
        else
            rc = set_column(e, rel, i, &row[i], &f, !keys, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Fills a Source record as the JSON encoder writes it. */
static int set_source(struct avro_encoder *e, const struct pgcdc_change *ch, avro_value_t *src)
{
    const struct pgcdc_source *s = pgcdc_change_source(ch);
    int64_t us = s->commit_time_us;
    avro_value_t snap;

    pgcdc_source_sequence(s, e->seq);
    return set_field_str(src, PGCDC_AVRO_SRC_VERSION, -1, s->connector_version) ||
           set_field_str(src, PGCDC_AVRO_SRC_CONNECTOR, -1, "postgresql") ||
           set_field_str(src, PGCDC_AVRO_SRC_NAME, -1, s->name) ||
           set_field_long(src, PGCDC_AVRO_SRC_TS_MS, -1, us / 1000) ||
           field(src, PGCDC_AVRO_SRC_SNAPSHOT, 0, &snap) ||
           give_cstr(&snap, s->snapshot ? s->snapshot : "false") ||
           set_field_str(src, PGCDC_AVRO_SRC_DB, -1, s->db) ||
           set_field_str(src, PGCDC_AVRO_SRC_SEQUENCE, 1, e->seq) ||
           set_field_long(src, PGCDC_AVRO_SRC_TS_US, 1, us) ||
           set_field_long(src, PGCDC_AVRO_SRC_TS_NS, 1, us * 1000) ||
           set_field_str(src, PGCDC_AVRO_SRC_SCHEMA, -1, rel_label_ns(pgcdc_change_rel(ch))) ||
           set_field_str(src, PGCDC_AVRO_SRC_TABLE, -1, rel_label_rel(pgcdc_change_rel(ch))) ||
           set_field_long(src, PGCDC_AVRO_SRC_TXID, 1, s->xid) ||
           set_field_long(src, PGCDC_AVRO_SRC_LSN, 1, (int64_t)s->lsn) ||
           set_field_null(src, PGCDC_AVRO_SRC_XMIN) ||
           (s->origin ? set_field_str(src, PGCDC_AVRO_SRC_ORIGIN, 1, s->origin)
                      : set_field_null(src, PGCDC_AVRO_SRC_ORIGIN)) ||
           (s->origin_lsn
                ? set_field_long(src, PGCDC_AVRO_SRC_ORIGIN_LSN, 1, (int64_t)s->origin_lsn)
                : set_field_null(src, PGCDC_AVRO_SRC_ORIGIN_LSN));
}

/* ---------------------------------------------------------------------- */
/* writing                                                                 */

/* Writes val framed with id into out (replacing its content). */
static int write_framed(struct avro_encoder *e, avro_value_t *val, int32_t id,
                        struct pgcdc_buf *out, char *err, size_t errlen)
{
    size_t want = 256;

    pgcdc_buf_reset(out);
    /* Use all the room the buffer already has; grow only when it is short. */
    if (out->cap > want + 1)
        want = out->cap - 1;
    for (;;) {
        size_t room;
        int rc;

        if (pgcdc_buf_reserve(out, want)) {
            snprintf(err, errlen, "out of memory writing an avro record");
            return -ENOMEM;
        }
        room = out->cap - 1 - PGCDC_REGISTRY_FRAME_LEN;
        avro_writer_memory_set_dest(e->writer, out->data + PGCDC_REGISTRY_FRAME_LEN, (int64_t)room);
        rc = avro_value_write(e->writer, val);
        if (rc == 0) {
            pgcdc_registry_frame_header((uint8_t *)out->data, id);
            out->len = PGCDC_REGISTRY_FRAME_LEN + (size_t)avro_writer_tell(e->writer);
            out->data[out->len] = '\0';
            return 0;
        }
        if (rc != ENOSPC)
            return avro_fail(err, errlen, "write");
        if (out->cap >= MAX_RECORD) {
            snprintf(err, errlen, "avro record larger than %u bytes", MAX_RECORD);
            return -EMSGSIZE;
        }
        want = out->cap * 2;
    }
}

/* Runs fill until scratch no longer moves during it (see the top of the
 * file), then writes val. */
typedef int (*fill_fn)(struct avro_encoder *e, const struct pgcdc_change *ch, const void *arg,
                       avro_value_t *val, char *err, size_t errlen);

static int build_and_write(struct avro_encoder *e, const struct pgcdc_change *ch, fill_fn fill,
                           const void *arg, struct avro_part *part, struct pgcdc_buf *out,
                           char *err, size_t errlen)
{
    for (int attempt = 0;; attempt++) {
        const char *base;
        int rc;

        pgcdc_buf_reset(&e->scratch);
        base = e->scratch.data;
        avro_value_reset(&part->val);
        rc = fill(e, ch, arg, &part->val, err, errlen);
        if (rc < 0)
            return rc;
        if (e->scratch.data == base)
            break;
        if (attempt == 2) {
            snprintf(err, errlen, "internal error: conversion buffer keeps moving");
            return -EIO;
        }
    }
    return write_framed(e, &part->val, part->id, out, err, errlen);
}

static int fill_key(struct avro_encoder *e, const struct pgcdc_change *ch, const void *arg,
                    avro_value_t *val, char *err, size_t errlen)
{
    uint16_t n;
    const struct pgcdc_value *row = pgcdc_change_key(ch, &n);

    (void)arg;
    return set_row(e, pgcdc_change_rel(ch), row, n, val, true, false, err, errlen);
}

static int fill_msg_key(struct avro_encoder *e, const struct pgcdc_change *ch, const void *arg,
                        avro_value_t *val, char *err, size_t errlen)
{
    const char *content;
    size_t len;

    (void)e;
    (void)arg;
    if (set_field_str(val, 0, 1, pgcdc_change_message(ch, &content, &len)))
        return avro_fail(err, errlen, "message key");
    return 0;
}

static int fill_msg_value(struct avro_encoder *e, const struct pgcdc_change *ch, const void *arg,
                          avro_value_t *val, char *err, size_t errlen)
{
    avro_value_t src, msg, content;
    const char *body;
    size_t len;
    const char *prefix = pgcdc_change_message(ch, &body, &len);

    (void)arg;
    if (set_field_str(val, PGCDC_AVRO_MSG_OP, -1, "m") ||
        set_field_long(val, PGCDC_AVRO_MSG_TS_MS, 1, pgcdc_change_ts_us(ch) / 1000) ||
        field(val, PGCDC_AVRO_MSG_SOURCE, -1, &src) || set_source(e, ch, &src) ||
        field(val, PGCDC_AVRO_MSG_MESSAGE, -1, &msg) || set_field_str(&msg, 0, 1, prefix) ||
        field(&msg, 1, 1, &content) || give_bytes(&content, body, len))
        return avro_fail(err, errlen, "message value");
    return 0;
}

/* before / after: a row, or null. */
static int fill_image(struct avro_encoder *e, const struct pgcdc_change *ch, avro_value_t *env,
                      size_t idx, const struct pgcdc_value *row, uint16_t ncols, bool key_only,
                      char *err, size_t errlen)
{
    avro_value_t rec;

    if (row == NULL)
        return set_field_null(env, idx) ? avro_fail(err, errlen, "envelope") : 0;
    if (field(env, idx, 1, &rec))
        return avro_fail(err, errlen, "envelope");
    return set_row(e, pgcdc_change_rel(ch), row, ncols, &rec, false, key_only, err, errlen);
}

/* The envelope's transaction block, or null. */
static int set_block(avro_value_t *env, const struct pgcdc_txn_block *b)
{
    avro_value_t blk;

    if (b == NULL)
        return set_field_null(env, PGCDC_AVRO_ENV_TRANSACTION);
    return field(env, PGCDC_AVRO_ENV_TRANSACTION, 1, &blk) || set_field_str(&blk, 0, -1, b->id) ||
           set_field_long(&blk, 1, -1, b->total_order) ||
           set_field_long(&blk, 2, -1, b->data_collection_order);
}

static int fill_txn_key(struct avro_encoder *e, const struct pgcdc_change *ch, const void *arg,
                        avro_value_t *val, char *err, size_t errlen)
{
    const struct pgcdc_txn_record *r = arg;

    (void)e;
    (void)ch;
    if (set_field_str(val, 0, -1, r->id))
        return avro_fail(err, errlen, "transaction key");
    return 0;
}

static int fill_txn_value(struct avro_encoder *e, const struct pgcdc_change *ch, const void *arg,
                          avro_value_t *val, char *err, size_t errlen)
{
    const struct pgcdc_txn_record *r = arg;
    avro_value_t arr, item;

    (void)e;
    (void)ch;
    if (set_field_str(val, PGCDC_AVRO_TXN_STATUS, -1, r->end ? "END" : "BEGIN") ||
        set_field_str(val, PGCDC_AVRO_TXN_ID, -1, r->id) ||
        set_field_long(val, PGCDC_AVRO_TXN_TS_MS, -1, r->ts_ms))
        return avro_fail(err, errlen, "transaction value");
    if (!r->end) {
        if (set_field_null(val, PGCDC_AVRO_TXN_EVENT_COUNT) ||
            set_field_null(val, PGCDC_AVRO_TXN_COLLECTIONS))
            return avro_fail(err, errlen, "transaction value");
        return 0;
    }
    if (set_field_long(val, PGCDC_AVRO_TXN_EVENT_COUNT, 1, r->event_count) ||
        field(val, PGCDC_AVRO_TXN_COLLECTIONS, 1, &arr))
        return avro_fail(err, errlen, "transaction value");
    for (size_t i = 0; i < r->ncollections; i++)
        if (avro_value_append(&arr, &item, NULL) ||
            set_field_str(&item, 0, -1, r->collections[i].name) ||
            set_field_long(&item, 1, -1, r->collections[i].count))
            return avro_fail(err, errlen, "transaction data collections");
    return 0;
}

static int fill_envelope(struct avro_encoder *e, const struct pgcdc_change *ch, const void *arg,
                         avro_value_t *val, char *err, size_t errlen)
{
    avro_value_t src;
    int64_t ts = pgcdc_change_ts_us(ch);
    const struct pgcdc_value *row;
    uint16_t n;
    int rc;

    (void)arg;
    row = pgcdc_change_before(ch, &n);
    rc = fill_image(e, ch, val, PGCDC_AVRO_ENV_BEFORE, row, n, pgcdc_change_before_key_only(ch),
                    err, errlen);
    if (rc == 0) {
        row = pgcdc_change_after(ch, &n);
        rc = fill_image(e, ch, val, PGCDC_AVRO_ENV_AFTER, row, n, false, err, errlen);
    }
    if (rc < 0)
        return rc;
    /* Strings are not copied: op must outlive this call, so it lives in e. */
    e->op[0] = pgcdc_change_op(ch);
    e->op[1] = '\0';
    if (field(val, PGCDC_AVRO_ENV_SOURCE, -1, &src) || set_source(e, ch, &src) ||
        set_block(val, pgcdc_change_source(ch)->txn) ||
        set_field_str(val, PGCDC_AVRO_ENV_OP, -1, e->op) ||
        set_field_long(val, PGCDC_AVRO_ENV_TS_MS, 1, ts / 1000) ||
        set_field_long(val, PGCDC_AVRO_ENV_TS_US, 1, ts) ||
        set_field_long(val, PGCDC_AVRO_ENV_TS_NS, 1, ts * 1000))
        return avro_fail(err, errlen, "envelope");
    return 0;
}

/* ---------------------------------------------------------------------- */
/* encoder operations                                                      */

static int enc_key(struct pgcdc_encoder *base, const struct pgcdc_change *ch,
                   struct pgcdc_buf *out, char *err, size_t errlen)
{
    struct avro_encoder *e = (struct avro_encoder *)base;
    const struct pgcdc_rel *rel = pgcdc_change_rel(ch);
    char op = pgcdc_change_op(ch);
    struct avro_relstate *st;
    uint16_t n;
    int rc;

    pgcdc_buf_reset(out);
    if (op == 'm') {
        rc = msg_setup(e, err, errlen);
        if (rc < 0)
            return rc;
        return build_and_write(e, ch, fill_msg_key, NULL, &e->msg_key, out, err, errlen);
    }
    if (op == 't' || rel->nkeys == 0 || pgcdc_change_key(ch, &n) == NULL)
        return 1;
    rc = relstate_get(e, rel, &st, err, errlen);
    if (rc < 0)
        return rc;
    if (!st->has_key)
        return 1;
    return build_and_write(e, ch, fill_key, NULL, &st->key, out, err, errlen);
}

static int enc_value(struct pgcdc_encoder *base, const struct pgcdc_change *ch,
                     struct pgcdc_buf *out, char *err, size_t errlen)
{
    struct avro_encoder *e = (struct avro_encoder *)base;
    struct avro_relstate *st;
    int rc;

    pgcdc_buf_reset(out);
    if (pgcdc_change_op(ch) == 'm') {
        rc = msg_setup(e, err, errlen);
        if (rc < 0)
            return rc;
        return build_and_write(e, ch, fill_msg_value, NULL, &e->msg_value, out, err, errlen);
    }
    rc = relstate_get(e, pgcdc_change_rel(ch), &st, err, errlen);
    if (rc < 0)
        return rc;
    return build_and_write(e, ch, fill_envelope, NULL, &st->value, out, err, errlen);
}

static void enc_free(struct pgcdc_encoder *base)
{
    struct avro_encoder *e = (struct avro_encoder *)base;

    part_done(&e->msg_key);
    part_done(&e->msg_value);
    part_done(&e->txn_key);
    part_done(&e->txn_value);
    for (size_t i = 0; i < e->nstates; i++)
        relstate_free(e->states[i]);
    free(e->states);
    if (e->writer)
        avro_writer_free(e->writer);
    pgcdc_buf_free(&e->scratch);
    free(e->placeholder);
    free(e->msg_topic);
    free(e);
}

static int enc_txn(struct pgcdc_encoder *base, const char *topic, const struct pgcdc_txn_record *r,
                   struct pgcdc_buf *key, struct pgcdc_buf *value, char *err, size_t errlen)
{
    struct avro_encoder *e = (struct avro_encoder *)base;
    int rc = txn_setup(e, topic, err, errlen);

    if (rc < 0)
        return rc;
    rc = build_and_write(e, NULL, fill_txn_key, r, &e->txn_key, key, err, errlen);
    if (rc < 0)
        return rc;
    return build_and_write(e, NULL, fill_txn_value, r, &e->txn_value, value, err, errlen);
}

static const struct pgcdc_encoder_ops enc_ops = {
    .txn = enc_txn,
    .key = enc_key,
    .value = enc_value,
    .free = enc_free,
};

int pgcdc_avro_encoder_new(struct pgcdc_encoder **out, const struct pgcdc_avro_encoder_opts *opts,
                           char *err, size_t errlen)
{
    static char empty[1];
    struct avro_encoder *e;
    size_t n;

    *out = NULL;
    if (opts == NULL || opts->topic_prefix == NULL || opts->topic_prefix[0] == '\0') {
        snprintf(err, errlen, "avro encoder: no topic prefix");
        return -EINVAL;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        goto nomem;
    e->base.ops = &enc_ops;
    e->placeholder =
        strdup(opts->placeholder ? opts->placeholder : PGCDC_TYPES_DEFAULT_PLACEHOLDER);
    n = strlen(opts->topic_prefix) + sizeof(".message");
    e->msg_topic = malloc(n);
    /* The writer is pointed at each output buffer before use. */
    e->writer = avro_writer_memory(empty, 0);
    if (e->placeholder == NULL || e->msg_topic == NULL || e->writer == NULL)
        goto nomem;
    snprintf(e->msg_topic, n, "%s.message", opts->topic_prefix);
    e->registry = opts->registry;
    e->id_fn = opts->id_fn;
    e->id_arg = opts->id_arg;
    *out = &e->base;
    return 0;
nomem:
    if (e)
        enc_free(&e->base);
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}
