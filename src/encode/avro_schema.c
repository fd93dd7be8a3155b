/*
 * avro_schema.c - the Avro schema JSON of change events (see avro_schema.h).
 *
 * The text is written the way Confluent's AvroConverter serialises the
 * Connect schemas Debezium builds, attribute order included, e.g. for a
 * table public.orders under topic prefix "shop" with id int4 as key:
 *
 *   {"type":"record","name":"Key","namespace":"shop.public.orders",
 *    "fields":[{"name":"id","type":"int"}],"connect.name":"shop.public.orders.Key"}
 *
 *   {"type":"record","name":"Envelope","namespace":"shop.public.orders","fields":[
 *     {"name":"before","type":["null",{"type":"record","name":"Value","fields":[
 *        {"name":"id","type":["null","int"],"default":null},
 *        {"name":"total","type":["null",{"type":"bytes","scale":2,"precision":10,
 *          "connect.version":1,"connect.parameters":{"scale":"2",
 *          "connect.decimal.precision":"10"},"connect.name":
 *          "org.apache.kafka.connect.data.Decimal","logicalType":"decimal"}],
 *          "default":null}],"connect.name":"shop.public.orders.Value"}],"default":null},
 *     {"name":"after","type":["null","Value"],"default":null},
 *     {"name":"source","type":{"type":"record","name":"Source",...}},
 *     {"name":"transaction","type":["null",{"type":"record","name":"block",
 *        "namespace":"event",...}],"default":null},
 *     {"name":"op","type":"string"},
 *     {"name":"ts_ms","type":["null","long"],"default":null}, ts_us, ts_ns],
 *    "connect.version":2,"connect.name":"shop.public.orders.Envelope"}
 *
 * This text is what gets registered; avro-c only parses it to build writer
 * values. Nothing here runs per event.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pgcdc/avro_canon.h"
#include "pgcdc/avro_schema.h"

#define PG_NAMESPACE "io.debezium.connector.postgresql"

/* Source fields after the record's opening, shared by the Envelope and the
 * MessageValue (which differ only in whether the namespace is repeated). */
static const char source_fields[] =
    "\"fields\":["
    "{\"name\":\"version\",\"type\":\"string\"},"
    "{\"name\":\"connector\",\"type\":\"string\"},"
    "{\"name\":\"name\",\"type\":\"string\"},"
    "{\"name\":\"ts_ms\",\"type\":\"long\"},"
    "{\"name\":\"snapshot\",\"type\":[{\"type\":\"string\",\"connect.version\":1,"
    "\"connect.parameters\":{\"allowed\":"
    "\"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental\"},"
    "\"connect.default\":\"false\",\"connect.name\":\"io.debezium.data.Enum\"},\"null\"],"
    "\"default\":\"false\"},"
    "{\"name\":\"db\",\"type\":\"string\"},"
    "{\"name\":\"sequence\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"ts_us\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"ts_ns\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"schema\",\"type\":\"string\"},"
    "{\"name\":\"table\",\"type\":\"string\"},"
    "{\"name\":\"txId\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"lsn\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"xmin\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"origin\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"origin_lsn\",\"type\":[\"null\",\"long\"],\"default\":null}],"
    "\"connect.version\":1,\"connect.name\":\"" PG_NAMESPACE ".Source\"}}";

static const char envelope_tail[] =
    "{\"name\":\"transaction\",\"type\":[\"null\",{\"type\":\"record\",\"name\":\"block\","
    "\"namespace\":\"event\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},"
    "{\"name\":\"total_order\",\"type\":\"long\"},"
    "{\"name\":\"data_collection_order\",\"type\":\"long\"}],"
    "\"connect.version\":1,\"connect.name\":\"event.block\"}],\"default\":null},"
    "{\"name\":\"op\",\"type\":\"string\"},"
    "{\"name\":\"ts_ms\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"ts_us\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"ts_ns\",\"type\":[\"null\",\"long\"],\"default\":null}],"
    "\"connect.version\":2,\"connect.name\":\"";

static int put(struct pgcdc_buf *b, const char *s)
{
    return pgcdc_buf_append(b, s, strlen(s));
}

static bool name_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* Appends s (n bytes) as an Avro name: each character outside
 * [A-Za-z0-9_] (a whole UTF-8 sequence counting as one) and a leading digit
 * become '_'; an empty name becomes "_". */
static int put_name(struct pgcdc_buf *b, const char *s, size_t n)
{
    size_t start = b->len;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char o = (char)c;

        if ((c & 0xc0) == 0x80)
            continue; /* UTF-8 continuation: its lead byte was replaced already */
        if (b->len == start ? !name_start(c) : !name_char(c))
            o = '_';
        if (pgcdc_buf_append_char(b, o))
            return -ENOMEM;
    }
    if (b->len == start && pgcdc_buf_append_char(b, '_'))
        return -ENOMEM;
    return 0;
}

/* The namespace of a table's records: the topic name, each dot-separated
 * component made a valid Avro name. */
static int put_namespace(struct pgcdc_buf *b, const struct pgcdc_rel *rel)
{
    const char *p = rel->topic;

    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);

        if (put_name(b, p, n))
            return -ENOMEM;
        if (dot == NULL)
            return 0;
        if (pgcdc_buf_append_char(b, '.'))
            return -ENOMEM;
        p = dot + 1;
    }
}

/* A JSON string (quotes, backslashes and control characters escaped). */
static int put_json_str(struct pgcdc_buf *b, const char *s)
{
    if (pgcdc_buf_append_char(b, '"'))
        return -ENOMEM;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\') {
            if (pgcdc_buf_append_char(b, '\\') || pgcdc_buf_append_char(b, (char)c))
                return -ENOMEM;
        } else if (c < 0x20) {
            if (pgcdc_buf_appendf(b, "\\u%04x", c))
                return -ENOMEM;
        } else if (pgcdc_buf_append_char(b, (char)c)) {
            return -ENOMEM;
        }
    }
    return pgcdc_buf_append_char(b, '"') ? -ENOMEM : 0;
}

/* connect.doc, connect.version, connect.parameters, connect.name: the
 * AvroConverter's order. */
static int put_connect_props(struct pgcdc_buf *b, const struct pgcdc_schema *s)
{
    if (s->doc && pgcdc_buf_appendf(b, ",\"connect.doc\":\"%s\"", s->doc))
        return -ENOMEM;
    if (s->version > 0 && pgcdc_buf_appendf(b, ",\"connect.version\":%d", s->version))
        return -ENOMEM;
    if (s->nparams > 0) {
        if (put(b, ",\"connect.parameters\":{"))
            return -ENOMEM;
        for (int i = 0; i < s->nparams; i++) {
            const struct pgcdc_schema_param *p = &s->params[i];

            if ((i && pgcdc_buf_append_char(b, ',')) || pgcdc_buf_appendf(b, "\"%s\":", p->key) ||
                put_json_str(b, p->text ? p->text : p->value))
                return -ENOMEM;
        }
        if (pgcdc_buf_append_char(b, '}'))
            return -ENOMEM;
    }
    if (s->name && pgcdc_buf_appendf(b, ",\"connect.name\":\"%s\"", s->name))
        return -ENOMEM;
    return 0;
}

static const char *primitive(enum pgcdc_ctype t)
{
    switch (t) {
    case PGCDC_CTYPE_BOOLEAN:
        return "boolean";
    case PGCDC_CTYPE_INT16:
    case PGCDC_CTYPE_INT32:
        return "int";
    case PGCDC_CTYPE_INT64:
        return "long";
    case PGCDC_CTYPE_FLOAT32:
        return "float";
    case PGCDC_CTYPE_FLOAT64:
        return "double";
    case PGCDC_CTYPE_STRING:
        return "string";
    case PGCDC_CTYPE_BYTES:
        return "bytes";
    default:
        return NULL;
    }
}

static bool is_decimal(const struct pgcdc_schema *s)
{
    return s->ctype == PGCDC_CTYPE_BYTES && s->name &&
           strcmp(s->name, "org.apache.kafka.connect.data.Decimal") == 0;
}

/* The Avro logical type the AvroConverter gives Connect's own logical
 * types (Debezium's io.debezium.time.* types get none), or NULL. */
static const char *logical_type(const struct pgcdc_schema *s)
{
    static const struct {
        const char *name;    /* connect.name */
        const char *logical; /* Avro logicalType */
    } map[] = {
        {"org.apache.kafka.connect.data.Decimal", "decimal"},
        {"org.apache.kafka.connect.data.Date", "date"},
        {"org.apache.kafka.connect.data.Time", "time-millis"},
        {"org.apache.kafka.connect.data.Timestamp", "timestamp-millis"},
    };

    if (s->name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(s->name, map[i].name) == 0)
            return map[i].logical;
    return NULL;
}

/* Named types (records) already defined in one schema text: Avro defines
 * a name once and refers to it by its full name afterwards. */
#define MAX_NAMED 8

struct named {
    const char *names[MAX_NAMED]; /* connect.name of each record defined so far */
    int n;                        /* entries used */
};

/* Whether name was defined already; records it otherwise. */
static bool named_seen(struct named *nd, const char *name)
{
    for (int i = 0; i < nd->n; i++)
        if (strcmp(nd->names[i], name) == 0)
            return true;
    if (nd->n < MAX_NAMED)
        nd->names[nd->n++] = name;
    return false;
}

static int put_type(struct pgcdc_buf *b, const struct pgcdc_schema *s,
                    const struct pgcdc_schema *elem, struct named *nd);

/* A Connect struct as an Avro record named after its connect.name (the
 * last component of the name, the rest the namespace), with its doc. */
static int put_record(struct pgcdc_buf *b, const struct pgcdc_schema *s, struct named *nd)
{
    const char *dot = strrchr(s->name, '.');

    if (named_seen(nd, s->name))
        return pgcdc_buf_appendf(b, "\"%s\"", s->name) ? -ENOMEM : 0;
    if (put(b, "{\"type\":\"record\",\"name\":\"") || put(b, dot ? dot + 1 : s->name) ||
        pgcdc_buf_append_char(b, '"'))
        return -ENOMEM;
    if (dot &&
        (put(b, ",\"namespace\":\"") || pgcdc_buf_append(b, s->name, (size_t)(dot - s->name)) ||
         pgcdc_buf_append_char(b, '"')))
        return -ENOMEM;
    if (s->doc && (put(b, ",\"doc\":") || put_json_str(b, s->doc)))
        return -ENOMEM;
    if (put(b, ",\"fields\":["))
        return -ENOMEM;
    for (int i = 0; i < s->nfields; i++) {
        const struct pgcdc_field *f = &s->fields[i];
        int rc;

        if ((i && pgcdc_buf_append_char(b, ',')) || put(b, "{\"name\":\"") || put(b, f->name) ||
            put(b, "\",\"type\":") || (f->optional && put(b, "[\"null\",")))
            return -ENOMEM;
        rc = put_type(b, f->schema, NULL, nd);
        if (rc < 0)
            return rc;
        if (put(b, f->optional ? "],\"default\":null}" : "}"))
            return -ENOMEM;
    }
    if (pgcdc_buf_append_char(b, ']') || put_connect_props(b, s) || pgcdc_buf_append_char(b, '}'))
        return -ENOMEM;
    return 0;
}

/* Writes the Avro type of a Connect schema (without the null branch). */
static int put_type(struct pgcdc_buf *b, const struct pgcdc_schema *s,
                    const struct pgcdc_schema *elem, struct named *nd)
{
    const char *prim = primitive(s->ctype);

    if (s->ctype == PGCDC_CTYPE_STRUCT) {
        if (s->name == NULL || s->fields == NULL)
            return -EINVAL;
        return put_record(b, s, nd);
    }
    if (s->ctype == PGCDC_CTYPE_MAP) {
        /* String keys: an Avro map, as the AvroConverter writes it. */
        if (s->values == NULL || put(b, "{\"type\":\"map\",\"values\":") ||
            (s->optional_values && put(b, "[\"null\",")))
            return s->values == NULL ? -EINVAL : -ENOMEM;
        if (put_type(b, s->values, NULL, nd) < 0 || (s->optional_values && put(b, "]")) ||
            put_connect_props(b, s) || pgcdc_buf_append_char(b, '}'))
            return -ENOMEM;
        return 0;
    }
    if (s->ctype == PGCDC_CTYPE_ARRAY) {
        if (elem == NULL)
            return -EINVAL;
        if (put(b, "{\"type\":\"array\",\"items\":[\"null\",") || put_type(b, elem, NULL, nd) ||
            put(b, "]") || put_connect_props(b, s) || pgcdc_buf_append_char(b, '}'))
            return -ENOMEM;
        return 0;
    }
    if (prim == NULL)
        return -EINVAL;
    if (s->ctype != PGCDC_CTYPE_INT16 && s->name == NULL && s->version == 0 && s->nparams == 0 &&
        s->doc == NULL)
        return pgcdc_buf_appendf(b, "\"%s\"", prim);
    if (pgcdc_buf_appendf(b, "{\"type\":\"%s\"", prim))
        return -ENOMEM;
    if (s->ctype == PGCDC_CTYPE_INT16 && put(b, ",\"connect.type\":\"int16\""))
        return -ENOMEM;
    if (is_decimal(s) && pgcdc_buf_appendf(b, ",\"scale\":%d,\"precision\":%d", (int)s->scale,
                                           s->precision > 0 ? (int)s->precision : 64))
        return -ENOMEM;
    if (put_connect_props(b, s))
        return -ENOMEM;
    if (logical_type(s) && pgcdc_buf_appendf(b, ",\"logicalType\":\"%s\"", logical_type(s)))
        return -ENOMEM;
    return pgcdc_buf_append_char(b, '}') ? -ENOMEM : 0;
}

/* Fails when two selected columns get the same Avro name. */
static int check_names(const struct pgcdc_rel *rel, bool keys, char *err, size_t errlen)
{
    struct pgcdc_buf a = PGCDC_BUF_INIT, b = PGCDC_BUF_INIT;
    int rc = 0;

    for (uint16_t i = 0; i < rel->ncols && rc == 0; i++) {
        const struct pgcdc_relcol *ci = &rel->cols[i];

        if (keys ? !ci->key : !ci->included)
            continue;
        pgcdc_buf_reset(&a);
        if (put_name(&a, ci->name, strlen(ci->name))) {
            rc = -ENOMEM;
            break;
        }
        for (uint16_t j = 0; j < i; j++) {
            const struct pgcdc_relcol *cj = &rel->cols[j];

            if (keys ? !cj->key : !cj->included)
                continue;
            pgcdc_buf_reset(&b);
            if (put_name(&b, cj->name, strlen(cj->name))) {
                rc = -ENOMEM;
                break;
            }
            if (a.len == b.len && memcmp(a.data, b.data, a.len) == 0) {
                snprintf(err, errlen,
                         "table '%s.%s': columns '%s' and '%s' both become the Avro field "
                         "name '%s'",
                         rel->nspname, rel->relname, cj->name, ci->name, a.data);
                rc = -EINVAL;
                break;
            }
        }
    }
    pgcdc_buf_free(&a);
    pgcdc_buf_free(&b);
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory writing an avro schema");
    return rc;
}

/* The fields of the Key (keys) or Value record. */
static int put_fields(struct pgcdc_buf *b, const struct pgcdc_rel *rel, bool keys)
{
    struct named nd = {{NULL}, 0};
    bool first = true;

    if (put(b, "\"fields\":["))
        return -ENOMEM;
    for (uint16_t i = 0; i < rel->ncols; i++) {
        const struct pgcdc_relcol *c = &rel->cols[i];
        int rc;

        if (keys ? !c->key : !c->included)
            continue;
        if ((!first && pgcdc_buf_append_char(b, ',')) || put(b, "{\"name\":\"") ||
            put_name(b, c->name, strlen(c->name)) || put(b, "\",\"type\":"))
            return -ENOMEM;
        first = false;
        if (!keys && put(b, "[\"null\","))
            return -ENOMEM;
        rc = put_type(b, &c->tm.schema, &c->tm.elem, &nd);
        if (rc < 0)
            return rc;
        if (put(b, keys ? "}" : "],\"default\":null}"))
            return -ENOMEM;
    }
    return pgcdc_buf_append_char(b, ']') ? -ENOMEM : 0;
}

static int fail(int rc, const struct pgcdc_rel *rel, struct pgcdc_buf *out, char *err,
                size_t errlen)
{
    pgcdc_buf_reset(out);
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory writing an avro schema");
    else
        snprintf(err, errlen, "table '%s.%s': a column has no avro type", rel->nspname,
                 rel->relname);
    return rc;
}

/* Appends the text at [start, start+len) of b again (it may move as b grows,
 * so it is addressed by offset). */
static int repeat(struct pgcdc_buf *b, size_t start, size_t len)
{
    if (pgcdc_buf_reserve(b, len))
        return -ENOMEM;
    memmove(b->data + b->len, b->data + start, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int pgcdc_avro_schema_key(const struct pgcdc_rel *rel, struct pgcdc_buf *out, char *err,
                          size_t errlen)
{
    size_t ns_start, ns_len;
    int rc;

    pgcdc_buf_reset(out);
    if (rel->nkeys == 0)
        return 1;
    rc = check_names(rel, true, err, errlen);
    if (rc < 0)
        return rc;
    if (put(out, "{\"type\":\"record\",\"name\":\"Key\",\"namespace\":\""))
        return fail(-ENOMEM, rel, out, err, errlen);
    ns_start = out->len;
    if (put_namespace(out, rel))
        return fail(-ENOMEM, rel, out, err, errlen);
    ns_len = out->len - ns_start;
    if (put(out, "\","))
        return fail(-ENOMEM, rel, out, err, errlen);
    rc = put_fields(out, rel, true);
    if (rc < 0)
        return fail(rc, rel, out, err, errlen);
    if (put(out, ",\"connect.name\":\"") || repeat(out, ns_start, ns_len) || put(out, ".Key\"}"))
        return fail(-ENOMEM, rel, out, err, errlen);
    return 0;
}

int pgcdc_avro_schema_value(const struct pgcdc_rel *rel, struct pgcdc_buf *out, char *err,
                            size_t errlen)
{
    size_t ns_start, ns_len;
    int rc;

    pgcdc_buf_reset(out);
    rc = check_names(rel, false, err, errlen);
    if (rc < 0)
        return rc;
    if (put(out, "{\"type\":\"record\",\"name\":\"Envelope\",\"namespace\":\""))
        return fail(-ENOMEM, rel, out, err, errlen);
    ns_start = out->len;
    if (put_namespace(out, rel))
        return fail(-ENOMEM, rel, out, err, errlen);
    ns_len = out->len - ns_start;
    if (put(out, "\",\"fields\":[{\"name\":\"before\",\"type\":[\"null\",{\"type\":\"record\","
                 "\"name\":\"Value\","))
        return fail(-ENOMEM, rel, out, err, errlen);
    rc = put_fields(out, rel, false);
    if (rc < 0)
        return fail(rc, rel, out, err, errlen);
    if (put(out, ",\"connect.name\":\"") || repeat(out, ns_start, ns_len) ||
        put(out, ".Value\"}],\"default\":null},"
                 "{\"name\":\"after\",\"type\":[\"null\",\"Value\"],\"default\":null},"
                 "{\"name\":\"source\",\"type\":{\"type\":\"record\",\"name\":\"Source\","
                 "\"namespace\":\"" PG_NAMESPACE "\",") ||
        put(out, source_fields) || pgcdc_buf_append_char(out, ',') || put(out, envelope_tail) ||
        repeat(out, ns_start, ns_len) || put(out, ".Envelope\"}"))
        return fail(-ENOMEM, rel, out, err, errlen);
    return 0;
}

int pgcdc_avro_schema_message_key(struct pgcdc_buf *out)
{
    pgcdc_buf_reset(out);
    return put(out, "{\"type\":\"record\",\"name\":\"MessageKey\",\"namespace\":\"" PG_NAMESPACE
                    "\",\"fields\":[{\"name\":\"prefix\",\"type\":[\"null\",\"string\"],"
                    "\"default\":null}],\"connect.version\":1,\"connect.name\":\"" PG_NAMESPACE
                    ".MessageKey\"}");
}

int pgcdc_avro_schema_message_value(struct pgcdc_buf *out)
{
    pgcdc_buf_reset(out);
    if (put(out, "{\"type\":\"record\",\"name\":\"MessageValue\",\"namespace\":\"" PG_NAMESPACE
                 "\",\"fields\":[{\"name\":\"op\",\"type\":\"string\"},"
                 "{\"name\":\"ts_ms\",\"type\":[\"null\",\"long\"],\"default\":null},"
                 "{\"name\":\"source\",\"type\":{\"type\":\"record\",\"name\":\"Source\",") ||
        put(out, source_fields) ||
        put(out, ",{\"name\":\"message\",\"type\":{\"type\":\"record\",\"name\":\"Message\","
                 "\"fields\":[{\"name\":\"prefix\",\"type\":[\"null\",\"string\"],"
                 "\"default\":null},{\"name\":\"content\",\"type\":[\"null\",\"bytes\"],"
                 "\"default\":null}],\"connect.version\":1,\"connect.name\":\"" PG_NAMESPACE
                 ".Message\"}}],\"connect.version\":1,\"connect.name\":\"" PG_NAMESPACE
                 ".MessageValue\"}")) {
        pgcdc_buf_reset(out);
        return -ENOMEM;
    }
    return 0;
}

#define TXN_NAMESPACE "io.debezium.connector.common"

int pgcdc_avro_schema_txn_key(struct pgcdc_buf *out)
{
    pgcdc_buf_reset(out);
    return put(out, "{\"type\":\"record\",\"name\":\"TransactionMetadataKey\",\"namespace\":\"" TXN_NAMESPACE
                    "\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}],\"connect.version\":1,"
                    "\"connect.name\":\"" TXN_NAMESPACE ".TransactionMetadataKey\"}");
}

int pgcdc_avro_schema_txn_value(struct pgcdc_buf *out)
{
    pgcdc_buf_reset(out);
    return put(out,
               "{\"type\":\"record\",\"name\":\"TransactionMetadataValue\",\"namespace\":\"" TXN_NAMESPACE
               "\",\"fields\":[{\"name\":\"status\",\"type\":\"string\"},"
               "{\"name\":\"id\",\"type\":\"string\"},"
               "{\"name\":\"event_count\",\"type\":[\"null\",\"long\"],\"default\":null},"
               "{\"name\":\"data_collections\",\"type\":[\"null\",{\"type\":\"array\",\"items\":"
               "{\"type\":\"record\",\"name\":\"collection\",\"namespace\":\"event\",\"fields\":["
               "{\"name\":\"data_collection\",\"type\":\"string\"},"
               "{\"name\":\"event_count\",\"type\":\"long\"}],\"connect.version\":1,"
               "\"connect.name\":\"event.collection\"}}],\"default\":null},"
               "{\"name\":\"ts_ms\",\"type\":\"long\"}],\"connect.version\":1,"
               "\"connect.name\":\"" TXN_NAMESPACE ".TransactionMetadataValue\"}");
}

int pgcdc_avro_schema_fingerprint(const char *json, size_t len, uint64_t *fp, char *err,
                                  size_t errlen)
{
    struct pgcdc_buf canon = PGCDC_BUF_INIT;
    int rc = pgcdc_avro_canonical(json, len, &canon, err, errlen);

    if (rc == 0)
        *fp = pgcdc_avro_fingerprint64(canon.data, canon.len);
    pgcdc_buf_free(&canon);
    return rc;
}

int pgcdc_avro_schema_build(const struct pgcdc_rel *rel, struct pgcdc_avro_schemas *out, char *err,
                            size_t errlen)
{
    int rc;

    out->key_fp = 0;
    out->value_fp = 0;
    rc = pgcdc_avro_schema_key(rel, &out->key, err, errlen);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        rc = pgcdc_avro_schema_fingerprint(out->key.data, out->key.len, &out->key_fp, err, errlen);
        if (rc < 0)
            return rc;
    }
    rc = pgcdc_avro_schema_value(rel, &out->value, err, errlen);
    if (rc < 0)
        return rc;
    return pgcdc_avro_schema_fingerprint(out->value.data, out->value.len, &out->value_fp, err,
                                         errlen);
}

void pgcdc_avro_schemas_free(struct pgcdc_avro_schemas *s)
{
    if (s == NULL)
        return;
    pgcdc_buf_free(&s->key);
    pgcdc_buf_free(&s->value);
    s->key_fp = 0;
    s->value_fp = 0;
}
