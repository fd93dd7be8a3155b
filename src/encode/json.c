/*
 * json.c - change events as Debezium JSON (JsonConverter, schemas.enable=false).
 *
 * Key:   {"id":1}                      the key columns, or no key at all
 * Value: {"before":{..},"after":{..},"source":{..},"transaction":null,
 *         "op":"c","ts_ms":..,"ts_us":..,"ts_ns":..}
 *
 * Values follow the Connect types of the type mapping (types.h): integers
 * as numbers, bytes and Decimal as base64 of their bytes, VariableScaleDecimal
 * as {"scale":..,"value":..}, geometric types as their structs ({"x":..,
 * "y":..,"wkb":..,"srid":null}, ...), NaN and infinities as the strings Jackson
 * writes for them. Column values are converted straight into the output, so
 * one scratch buffer per encoder serves every row.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/encoder.h"
#include "pgcdc/relcache.h"
#include "pgcdc/types.h"

struct json_encoder {
    struct pgcdc_encoder base; /* must be first */
    char *placeholder;         /* unavailable.value.placeholder */
    struct pgcdc_buf scratch;  /* converted values of the current row */
};

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int put_base64(struct pgcdc_buf *out, const unsigned char *p, size_t n)
{
    char *o;

    if (pgcdc_buf_reserve(out, (n + 2) / 3 * 4 + 2))
        return -ENOMEM;
    o = out->data + out->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;

        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        *o++ = b64chars[(v >> 18) & 63];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? b64chars[v & 63] : '=';
    }
    *o++ = '"';
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
    return 0;
}

/* A JSON string: quotes, backslash and control characters escaped; other
 * bytes (UTF-8 from the server) copied as they are. */
static int put_string(struct pgcdc_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;

    if (pgcdc_buf_append_char(out, '"'))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        size_t elen = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (pgcdc_buf_append(out, s + start, i - start))
            return -ENOMEM;
        esc[0] = '\\';
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        if (pgcdc_buf_append(out, esc, elen))
            return -ENOMEM;
        start = i + 1;
    }
    if (pgcdc_buf_append(out, s + start, n - start) || pgcdc_buf_append_char(out, '"'))
        return -ENOMEM;
    return 0;
}

static int put_cstr(struct pgcdc_buf *out, const char *s)
{
    return put_string(out, s, strlen(s));
}

/* The shortest %g form that reads back as the same value, as Java prints. */
static int put_float(struct pgcdc_buf *out, double v, bool single)
{
    char tmp[40];

    if (isnan(v))
        return put_cstr(out, "NaN");
    if (isinf(v))
        return put_cstr(out, v > 0 ? "Infinity" : "-Infinity");
    for (int prec = single ? 6 : 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (single ? (float)strtod(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
            break;
    }
    /* Keep it a JSON number with a decimal point, as Jackson writes doubles. */
    if (strpbrk(tmp, ".eEn") == NULL && strlen(tmp) + 2 < sizeof(tmp))
        memcpy(tmp + strlen(tmp), ".0", 3);
    return pgcdc_buf_append(out, tmp, strlen(tmp));
}

static int put_datum(struct json_encoder *e, struct pgcdc_buf *out, const struct pgcdc_typemap *tm,
                     const struct pgcdc_schema *schema, const struct pgcdc_datum *d, char *err,
                     size_t errlen);

static int put_array(struct json_encoder *e, struct pgcdc_buf *out, const struct pgcdc_typemap *tm,
                     const struct pgcdc_datum *d, char *err, size_t errlen)
{
    struct pgcdc_array_iter it;
    struct pgcdc_datum el;
    int rc;

    if (pgcdc_buf_append_char(out, '['))
        return -ENOMEM;
    pgcdc_types_array_begin(d, &it);
    for (uint32_t i = 0; (rc = pgcdc_types_array_next(tm, &it, &e->scratch, &el, err, errlen)) > 0;
         i++) {
        if (i > 0 && pgcdc_buf_append_char(out, ','))
            return -ENOMEM;
        rc = put_datum(e, out, tm, &tm->elem, &el, err, errlen);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    return pgcdc_buf_append_char(out, ']') ? -ENOMEM : 0;
}

/* {"field":value,...} of a struct datum, in its schema's field order. */
static int put_struct(struct json_encoder *e, struct pgcdc_buf *out, const struct pgcdc_typemap *tm,
                      const struct pgcdc_schema *schema, const struct pgcdc_datum *d, char *err,
                      size_t errlen)
{
    if (pgcdc_buf_append_char(out, '{'))
        return -ENOMEM;
    for (int i = 0; i < schema->nfields; i++) {
        const struct pgcdc_field *f = &schema->fields[i];
        struct pgcdc_datum child;
        int rc;

        if (pgcdc_types_struct_field(d, i, &child) < 0) {
            snprintf(err, errlen, "internal error: no field '%s' in the value", f->name);
            return -EINVAL;
        }
        if ((i > 0 && pgcdc_buf_append_char(out, ',')) || put_cstr(out, f->name) ||
            pgcdc_buf_append_char(out, ':'))
            return -ENOMEM;
        rc = put_datum(e, out, tm, f->schema, &child, err, errlen);
        if (rc < 0)
            return rc;
    }
    return pgcdc_buf_append_char(out, '}') ? -ENOMEM : 0;
}

/* {"key":"value",...} of a map datum. */
static int put_map(struct json_encoder *e, struct pgcdc_buf *out, const struct pgcdc_datum *d,
                   char *err, size_t errlen)
{
    if (pgcdc_buf_append_char(out, '{'))
        return -ENOMEM;
    for (uint32_t i = 0; i < d->u.geo.count; i++) {
        const char *k, *v;

        if (pgcdc_types_map_entry_in(d, &e->scratch, i, &k, &v) < 0) {
            snprintf(err, errlen, "internal error: map entry %u", (unsigned)i);
            return -EINVAL;
        }
        if ((i > 0 && pgcdc_buf_append_char(out, ',')) || put_cstr(out, k) ||
            pgcdc_buf_append_char(out, ':') ||
            (v ? put_cstr(out, v) : pgcdc_buf_append(out, "null", 4)))
            return -ENOMEM;
    }
    return pgcdc_buf_append_char(out, '}') ? -ENOMEM : 0;
}

static int put_datum(struct json_encoder *e, struct pgcdc_buf *out, const struct pgcdc_typemap *tm,
                     const struct pgcdc_schema *schema, const struct pgcdc_datum *d, char *err,
                     size_t errlen)
{
    const char *p;

    switch (d->kind) {
    case PGCDC_DATUM_NULL:
        return pgcdc_buf_append(out, "null", 4);
    case PGCDC_DATUM_BOOLEAN:
        return d->u.b ? pgcdc_buf_append(out, "true", 4) : pgcdc_buf_append(out, "false", 5);
    case PGCDC_DATUM_INT:
        return pgcdc_buf_append_int(out, d->u.i);
    case PGCDC_DATUM_FLOAT:
        return put_float(out, d->u.f, schema->ctype == PGCDC_CTYPE_FLOAT32);
    case PGCDC_DATUM_STRING:
        p = pgcdc_datum_ptr(d, &e->scratch);
        return put_string(out, p, d->len);
    case PGCDC_DATUM_BYTES:
        p = pgcdc_datum_ptr(d, &e->scratch);
        return put_base64(out, (const unsigned char *)p, d->len);
    case PGCDC_DATUM_VSD:
    case PGCDC_DATUM_STRUCT:
        return put_struct(e, out, tm, schema, d, err, errlen);
    case PGCDC_DATUM_MAP:
        return put_map(e, out, d, err, errlen);
    case PGCDC_DATUM_ARRAY:
        return put_array(e, out, tm, d, err, errlen);
    }
    snprintf(err, errlen, "internal error: datum kind %d", (int)d->kind);
    return -EINVAL;
}

/* Writes one column's JSON value. */
static int put_column(struct json_encoder *e, struct pgcdc_buf *out, const struct pgcdc_rel *rel,
                      uint16_t i, const struct pgcdc_value *col, char *err, size_t errlen)
{
    struct pgcdc_datum d;
    int ret;

    if (col->kind == PGCDC_VALUE_NULL)
        return pgcdc_buf_append(out, "null", 4);
    ret = pgcdc_rel_column_datum(rel, i, col, e->placeholder, &e->scratch, &d, err, errlen);
    if (ret < 0)
        return ret;
    return put_datum(e, out, &rel->cols[i].tm, &rel->cols[i].tm.schema, &d, err, errlen);
}

static int check_row(const struct pgcdc_rel *rel, uint16_t ncols, char *err, size_t errlen)
{
    if (ncols != rel->ncols) {
        snprintf(err, errlen, "table '%s.%s': a row has %u columns but its Relation message had %u",
                 rel->nspname, rel->relname, ncols, rel->ncols);
        return -EBADMSG;
    }
    return 0;
}

/* {"col":value,...} over the included columns (key_only: only key columns
 * carry values, the others are null, as Debezium fills a delete's before). */
static int put_row(struct json_encoder *e, struct pgcdc_buf *out, const struct pgcdc_rel *rel,
                   const struct pgcdc_value *row, uint16_t ncols, bool keys, bool key_only,
                   char *err, size_t errlen)
{
    bool first = true;
    int rc = check_row(rel, ncols, err, errlen);

    if (rc < 0)
        return rc;
    if (pgcdc_buf_append_char(out, '{'))
        return -ENOMEM;
    for (uint16_t i = 0; i < rel->ncols; i++) {
        const struct pgcdc_relcol *c = &rel->cols[i];

        if (keys ? !c->key : !c->included)
            continue;
        if ((!first && pgcdc_buf_append_char(out, ',')) || put_cstr(out, c->name) ||
            pgcdc_buf_append_char(out, ':'))
            return -ENOMEM;
        first = false;
        if (key_only && !c->key)
            rc = pgcdc_buf_append(out, "null", 4);
        else
            rc = put_column(e, out, rel, i, &row[i], err, errlen);
        if (rc < 0)
            return rc;
    }
    return pgcdc_buf_append_char(out, '}') ? -ENOMEM : 0;
}

static int json_key(struct pgcdc_encoder *base, const struct pgcdc_change *ch,
                    struct pgcdc_buf *out, char *err, size_t errlen)
{
    struct json_encoder *e = (struct json_encoder *)base;
    const struct pgcdc_rel *rel = pgcdc_change_rel(ch);
    char op = pgcdc_change_op(ch);
    const struct pgcdc_value *key_row;
    uint16_t n;
    int rc;

    pgcdc_buf_reset(out);
    pgcdc_buf_reset(&e->scratch);
    if (op == 'm') {
        const char *content;
        size_t len;

        if (pgcdc_buf_append(out, "{\"prefix\":", 10) ||
            put_cstr(out, pgcdc_change_message(ch, &content, &len)) ||
            pgcdc_buf_append_char(out, '}'))
            goto nomem;
        return 0;
    }
    key_row = pgcdc_change_key(ch, &n);
    if (op == 't' || rel->nkeys == 0 || key_row == NULL)
        return 1;
    rc = put_row(e, out, rel, key_row, n, true, false, err, errlen);
    if (rc == -ENOMEM)
        goto nomem;
    return rc;
nomem:
    snprintf(err, errlen, "out of memory encoding a key");
    return -ENOMEM;
}

/* Appends a string literal. */
#define put_lit(out, lit) pgcdc_buf_append((out), (lit), sizeof(lit) - 1)

static int put_source(struct pgcdc_buf *out, const struct pgcdc_change *ch)
{
    const struct pgcdc_source *s = pgcdc_change_source(ch);
    const struct pgcdc_rel *rel = pgcdc_change_rel(ch);
    int64_t us = s->commit_time_us;
    char seq[PGCDC_SOURCE_SEQUENCE_LEN];

    pgcdc_source_sequence(s, seq);
    if (put_lit(out, "{\"version\":") || put_cstr(out, s->connector_version) ||
        put_lit(out, ",\"connector\":\"postgresql\",\"name\":") || put_cstr(out, s->name) ||
        put_lit(out, ",\"ts_ms\":") || pgcdc_buf_append_int(out, us / 1000) ||
        put_lit(out, ",\"snapshot\":") || put_cstr(out, s->snapshot) || put_lit(out, ",\"db\":") ||
        put_cstr(out, s->db) || put_lit(out, ",\"sequence\":") || put_cstr(out, seq) ||
        put_lit(out, ",\"ts_us\":") || pgcdc_buf_append_int(out, us) ||
        put_lit(out, ",\"ts_ns\":") || pgcdc_buf_append_int(out, us * 1000) ||
        put_lit(out, ",\"schema\":") || put_cstr(out, rel ? rel->nspname : "") ||
        put_lit(out, ",\"table\":") || put_cstr(out, rel ? rel->relname : "") ||
        put_lit(out, ",\"txId\":") || pgcdc_buf_append_uint(out, s->xid, 1) ||
        put_lit(out, ",\"lsn\":") || pgcdc_buf_append_uint(out, s->lsn, 1) ||
        put_lit(out, ",\"xmin\":null,\"origin\":"))
        return -ENOMEM;
    if ((s->origin ? put_cstr(out, s->origin) : put_lit(out, "null")) ||
        put_lit(out, ",\"origin_lsn\":") ||
        (s->origin_lsn ? pgcdc_buf_append_uint(out, s->origin_lsn, 1) : put_lit(out, "null")) ||
        pgcdc_buf_append_char(out, '}'))
        return -ENOMEM;
    return 0;
}

/* The transaction block, or null. */
static int put_block(struct pgcdc_buf *out, const struct pgcdc_txn_block *b)
{
    if (b == NULL)
        return put_lit(out, "null");
    if (put_lit(out, "{\"id\":") || put_cstr(out, b->id) || put_lit(out, ",\"total_order\":") ||
        pgcdc_buf_append_int(out, b->total_order) ||
        put_lit(out, ",\"data_collection_order\":") ||
        pgcdc_buf_append_int(out, b->data_collection_order) || pgcdc_buf_append_char(out, '}'))
        return -ENOMEM;
    return 0;
}

static int json_value(struct pgcdc_encoder *base, const struct pgcdc_change *ch,
                      struct pgcdc_buf *out, char *err, size_t errlen)
{
    struct json_encoder *e = (struct json_encoder *)base;
    const struct pgcdc_rel *rel = pgcdc_change_rel(ch);
    int64_t ts = pgcdc_change_ts_us(ch);
    char op[2] = {pgcdc_change_op(ch), '\0'};
    const struct pgcdc_value *row;
    uint16_t n;
    int rc = 0;

    pgcdc_buf_reset(out);
    pgcdc_buf_reset(&e->scratch);
    if (op[0] == 'm') {
        const char *content;
        size_t len;
        const char *prefix = pgcdc_change_message(ch, &content, &len);

        if (pgcdc_buf_append(out, "{\"op\":\"m\",\"ts_ms\":", 18) ||
            pgcdc_buf_append_int(out, ts / 1000) || put_lit(out, ",\"source\":") ||
            put_source(out, ch) || pgcdc_buf_append(out, ",\"message\":{\"prefix\":", 21) ||
            put_cstr(out, prefix) || pgcdc_buf_append(out, ",\"content\":", 11) ||
            put_base64(out, (const unsigned char *)content, len) ||
            pgcdc_buf_append(out, "}}", 2))
            goto nomem;
        return 0;
    }
    if (pgcdc_buf_append(out, "{\"before\":", 10))
        goto nomem;
    row = pgcdc_change_before(ch, &n);
    if (row)
        rc = put_row(e, out, rel, row, n, false, pgcdc_change_before_key_only(ch), err, errlen);
    else
        rc = pgcdc_buf_append(out, "null", 4);
    if (rc < 0)
        goto fail;
    if (pgcdc_buf_append(out, ",\"after\":", 9))
        goto nomem;
    row = pgcdc_change_after(ch, &n);
    if (row)
        rc = put_row(e, out, rel, row, n, false, false, err, errlen);
    else
        rc = pgcdc_buf_append(out, "null", 4);
    if (rc < 0)
        goto fail;
    if (pgcdc_buf_append(out, ",\"source\":", 10) || put_source(out, ch) ||
        put_lit(out, ",\"transaction\":") || put_block(out, pgcdc_change_source(ch)->txn) ||
        put_lit(out, ",\"op\":") || put_cstr(out, op) ||
        put_lit(out, ",\"ts_ms\":") || pgcdc_buf_append_int(out, ts / 1000) ||
        put_lit(out, ",\"ts_us\":") || pgcdc_buf_append_int(out, ts) ||
        put_lit(out, ",\"ts_ns\":") || pgcdc_buf_append_int(out, ts * 1000) ||
        pgcdc_buf_append_char(out, '}'))
        goto nomem;
    return 0;
fail:
    if (rc != -ENOMEM)
        return rc;
nomem:
    snprintf(err, errlen, "out of memory encoding a value");
    return -ENOMEM;
}

static void json_free(struct pgcdc_encoder *base)
{
    struct json_encoder *e = (struct json_encoder *)base;

    pgcdc_buf_free(&e->scratch);
    free(e->placeholder);
    free(e);
}

/* {"id":..} and {"status":..,"id":..,"event_count":..,"data_collections":[..],"ts_ms":..}:
 * Debezium's TransactionMetadataKey and TransactionMetadataValue. */
static int json_txn(struct pgcdc_encoder *base, const char *topic, const struct pgcdc_txn_record *r,
                    struct pgcdc_buf *key, struct pgcdc_buf *value, char *err, size_t errlen)
{
    (void)base;
    (void)topic;
    pgcdc_buf_reset(key);
    pgcdc_buf_reset(value);
    if (put_lit(key, "{\"id\":") || put_cstr(key, r->id) || pgcdc_buf_append_char(key, '}'))
        goto nomem;
    if (put_lit(value, "{\"status\":") || put_cstr(value, r->end ? "END" : "BEGIN") ||
        put_lit(value, ",\"id\":") || put_cstr(value, r->id) || put_lit(value, ",\"event_count\":"))
        goto nomem;
    if (!r->end) {
        if (put_lit(value, "null,\"data_collections\":null"))
            goto nomem;
    } else {
        if (pgcdc_buf_append_int(value, r->event_count) || put_lit(value, ",\"data_collections\":["))
            goto nomem;
        for (size_t i = 0; i < r->ncollections; i++)
            if ((i > 0 && pgcdc_buf_append_char(value, ',')) ||
                put_lit(value, "{\"data_collection\":") ||
                put_cstr(value, r->collections[i].name) || put_lit(value, ",\"event_count\":") ||
                pgcdc_buf_append_int(value, r->collections[i].count) ||
                pgcdc_buf_append_char(value, '}'))
                goto nomem;
        if (pgcdc_buf_append_char(value, ']'))
            goto nomem;
    }
    if (put_lit(value, ",\"ts_ms\":") || pgcdc_buf_append_int(value, r->ts_ms) ||
        pgcdc_buf_append_char(value, '}'))
        goto nomem;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory encoding a transaction record");
    return -ENOMEM;
}

static const struct pgcdc_encoder_ops json_ops = {
    .txn = json_txn,
    .key = json_key,
    .value = json_value,
    .free = json_free,
};

int pgcdc_json_encoder_new(struct pgcdc_encoder **out, const char *placeholder, char *err,
                           size_t errlen)
{
    struct json_encoder *e = calloc(1, sizeof(*e));

    *out = NULL;
    if (e == NULL || (e->placeholder = strdup(placeholder)) == NULL) {
        free(e);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    e->base.ops = &json_ops;
    *out = &e->base;
    return 0;
}
