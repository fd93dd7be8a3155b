/*
 * avro_canon.c - Avro Parsing Canonical Form and CRC-64-AVRO fingerprints.
 *
 * The schema text is parsed with jansson (which already decodes \uXXXX
 * escapes: the STRINGS rule) and written back in canonical form in one
 * depth-first, left-to-right walk, the order in which the specification says
 * names are defined. The walk keeps the set of full names defined so far, so
 * a reference is resolved against the definitions before it, and a record's
 * own name is defined before its fields so that it may refer to itself.
 *
 * Canonical form of each kind of schema (n = full name, T = canonical type):
 *
 *   primitive   "int"
 *   reference   "n"
 *   record      {"name":"n","type":"record","fields":[{"name":"f","type":T},...]}
 *   enum        {"name":"n","type":"enum","symbols":["A",...]}
 *   fixed       {"name":"n","type":"fixed","size":16}
 *   array       {"type":"array","items":T}
 *   map         {"type":"map","values":T}
 *   union       [T,...]
 *
 * The fingerprint table is the specification's: entry i is i shifted right
 * eight times, xoring in the empty fingerprint whenever a one bit falls off.
 */
#include "pgcdc/avro_canon.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

/* Deeper nesting than this is refused rather than risking the stack. */
#define CANON_MAX_DEPTH 200

/* Longest "where" text kept for error messages. */
#define CANON_WHERE_LEN 256

/* Longest namespace accepted. */
#define CANON_NS_LEN 512

struct canon {
    struct pgcdc_buf *out; /* canonical text being written */
    struct pgcdc_buf tmp;  /* scratch for composing full names */
    json_t *names;         /* full names defined so far (object used as a set) */
    int depth;             /* current nesting of schemas */
    char *err;             /* caller's error buffer */
    size_t errlen;         /* its size */
};

static const char *const primitives[] = {
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
};

static bool is_primitive(const char *s)
{
    for (size_t i = 0; i < sizeof(primitives) / sizeof(primitives[0]); i++)
        if (strcmp(s, primitives[i]) == 0)
            return true;
    return false;
}

/* [A-Za-z_][A-Za-z0-9_]* over n bytes. */
static bool valid_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || ch == '_';
        if (!alpha && (i == 0 || ch < '0' || ch > '9'))
            return false;
    }
    return true;
}

/* One or more valid names joined by dots. */
static bool valid_dotted(const char *s)
{
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (!valid_name(s, n))
            return false;
        if (dot == NULL)
            return true;
        s = dot + 1;
    }
}

static int fail(struct canon *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct canon *c, const char *fmt, ...)
{
    va_list ap;

    if (c->errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static int put(struct canon *c, const char *s)
{
    return pgcdc_buf_append(c->out, s, strlen(s));
}

/* A string whose characters were validated as needing no escape. */
static int put_str(struct canon *c, const char *s)
{
    int rc = pgcdc_buf_append_char(c->out, '"');

    if (rc == 0)
        rc = put(c, s);
    if (rc == 0)
        rc = pgcdc_buf_append_char(c->out, '"');
    return rc;
}

/* Composes ns "." name (or name alone for the null namespace) in c->tmp. */
static int compose(struct canon *c, const char *ns, const char *name)
{
    pgcdc_buf_reset(&c->tmp);
    if (ns[0] != '\0')
        return pgcdc_buf_appendf(&c->tmp, "%s.%s", ns, name);
    return pgcdc_buf_append(&c->tmp, name, strlen(name));
}

static bool defined(struct canon *c, const char *full)
{
    return json_object_get(c->names, full) != NULL;
}

/* Writes a reference to a named type as its full name. */
static int put_reference(struct canon *c, const char *ref, const char *ns, const char *where)
{
    int rc;

    if (strchr(ref, '.') != NULL) {
        if (!defined(c, ref))
            return fail(c, "%s: undefined name '%s'", where, ref);
        return put_str(c, ref);
    }
    rc = compose(c, ns, ref);
    if (rc < 0)
        return rc;
    if (defined(c, c->tmp.data))
        return put_str(c, c->tmp.data);
    /* Java's parser falls back to the null namespace; so do we. */
    if (defined(c, ref))
        return put_str(c, ref);
    if (ns[0] != '\0')
        return fail(c, "%s: undefined name '%s' (nor '%s')", where, ref, c->tmp.data);
    return fail(c, "%s: undefined name '%s'", where, ref);
}

static int canon_schema(struct canon *c, json_t *node, const char *ns, const char *where);

/*
 * Defines the named type node (record, enum or fixed): computes its full name
 * and namespace, records the definition and writes {"name":"n","type":"kind".
 * On success *full_out points at the stored name (valid while c->names
 * lives) and ns_out holds the namespace its children inherit.
 */
static int define_named(struct canon *c, json_t *node, const char *kind, const char *ns,
                        const char *where, const char **full_out, char *ns_out, size_t ns_len)
{
    json_t *jname = json_object_get(node, "name");
    json_t *jns = json_object_get(node, "namespace");
    const char *name, *space, *full, *dot;
    void *iter;
    size_t nslen;
    int rc;

    if (!json_is_string(jname))
        return fail(c, "%s: %s without a string 'name'", where, kind);
    name = json_string_value(jname);
    dot = strrchr(name, '.');
    if (dot != NULL) {
        /* A dotted name is a full name; any namespace attribute is ignored. */
        pgcdc_buf_reset(&c->tmp);
        rc = pgcdc_buf_append(&c->tmp, name, strlen(name));
        if (rc < 0)
            return rc;
        nslen = (size_t)(dot - name);
        space = name;
    } else {
        if (jns != NULL && !json_is_null(jns) && !json_is_string(jns))
            return fail(c, "%s: %s '%s': 'namespace' is not a string", where, kind, name);
        space = json_is_string(jns) ? json_string_value(jns) : ns;
        if (space[0] != '\0' && !valid_dotted(space))
            return fail(c, "%s: %s '%s': invalid namespace '%s'", where, kind, name, space);
        nslen = strlen(space);
        rc = compose(c, space, name);
        if (rc < 0)
            return rc;
    }
    full = c->tmp.data;
    if (!valid_dotted(full))
        return fail(c, "%s: invalid %s name '%s'", where, kind, full);
    if (is_primitive(full))
        return fail(c, "%s: %s may not be named after primitive type '%s'", where, kind, full);
    if (defined(c, full))
        return fail(c, "%s: %s '%s' is defined twice", where, kind, full);
    if (nslen >= ns_len)
        return fail(c, "%s: %s '%s': namespace too long", where, kind, full);
    memcpy(ns_out, space, nslen);
    ns_out[nslen] = '\0';
    if (json_object_set_new(c->names, full, json_true()) < 0)
        return -ENOMEM;
    /* Hand out the set's own copy of the key: c->tmp is reused below. */
    iter = json_object_iter_at(c->names, full);
    *full_out = json_object_iter_key(iter);

    rc = put(c, "{\"name\":");
    if (rc == 0)
        rc = put_str(c, *full_out);
    if (rc == 0)
        rc = put(c, ",\"type\":");
    if (rc == 0)
        rc = put_str(c, kind);
    return rc;
}

static int canon_record(struct canon *c, json_t *node, const char *kind, const char *ns,
                        const char *where)
{
    char inner_ns[CANON_NS_LEN], fwhere[CANON_WHERE_LEN];
    const char *full;
    json_t *fields, *seen = NULL;
    size_t i;
    json_t *field;
    int rc;

    rc = define_named(c, node, kind, ns, where, &full, inner_ns, sizeof(inner_ns));
    if (rc < 0)
        return rc;
    fields = json_object_get(node, "fields");
    if (!json_is_array(fields))
        return fail(c, "record '%s': 'fields' is missing or not an array", full);
    seen = json_object();
    if (seen == NULL)
        return -ENOMEM;
    rc = put(c, ",\"fields\":[");
    json_array_foreach(fields, i, field)
    {
        json_t *fname = json_object_get(field, "name");
        const char *name;

        if (rc < 0)
            break;
        if (!json_is_string(fname)) {
            rc = fail(c, "record '%s': field %zu has no string 'name'", full, i + 1);
            break;
        }
        name = json_string_value(fname);
        if (!valid_name(name, strlen(name))) {
            rc = fail(c, "record '%s': invalid field name '%s'", full, name);
            break;
        }
        if (json_object_get(seen, name) != NULL) {
            rc = fail(c, "record '%s': field '%s' appears twice", full, name);
            break;
        }
        if (json_object_set_new(seen, name, json_true()) < 0) {
            rc = -ENOMEM;
            break;
        }
        if (json_object_get(field, "type") == NULL) {
            rc = fail(c, "record '%s': field '%s' has no 'type'", full, name);
            break;
        }
        snprintf(fwhere, sizeof(fwhere), "record '%s' field '%s'", full, name);
        rc = put(c, i > 0 ? ",{\"name\":" : "{\"name\":");
        if (rc == 0)
            rc = put_str(c, name);
        if (rc == 0)
            rc = put(c, ",\"type\":");
        if (rc == 0)
            rc = canon_schema(c, json_object_get(field, "type"), inner_ns, fwhere);
        if (rc == 0)
            rc = pgcdc_buf_append_char(c->out, '}');
    }
    json_decref(seen);
    if (rc == 0)
        rc = put(c, "]}");
    return rc;
}

static int canon_enum(struct canon *c, json_t *node, const char *ns, const char *where)
{
    char inner_ns[CANON_NS_LEN];
    const char *full;
    json_t *symbols, *sym, *seen;
    size_t i;
    int rc;

    rc = define_named(c, node, "enum", ns, where, &full, inner_ns, sizeof(inner_ns));
    if (rc < 0)
        return rc;
    symbols = json_object_get(node, "symbols");
    if (!json_is_array(symbols))
        return fail(c, "enum '%s': 'symbols' is missing or not an array", full);
    seen = json_object();
    if (seen == NULL)
        return -ENOMEM;
    rc = put(c, ",\"symbols\":[");
    json_array_foreach(symbols, i, sym)
    {
        const char *s = json_string_value(sym);

        if (rc < 0)
            break;
        if (s == NULL || !valid_name(s, strlen(s))) {
            rc = s ? fail(c, "enum '%s': invalid symbol '%s'", full, s)
                   : fail(c, "enum '%s': symbol %zu is not a string", full, i + 1);
            break;
        }
        if (json_object_get(seen, s) != NULL) {
            rc = fail(c, "enum '%s': symbol '%s' appears twice", full, s);
            break;
        }
        if (json_object_set_new(seen, s, json_true()) < 0) {
            rc = -ENOMEM;
            break;
        }
        if (i > 0)
            rc = pgcdc_buf_append_char(c->out, ',');
        if (rc == 0)
            rc = put_str(c, s);
    }
    json_decref(seen);
    if (rc == 0)
        rc = put(c, "]}");
    return rc;
}

/* Reads a fixed's size: a JSON integer, or (INTEGERS rule) a quoted one. */
static int fixed_size(json_t *jsize, long long *out)
{
    if (json_is_integer(jsize)) {
        *out = json_integer_value(jsize);
        return *out >= 0 && *out <= INT32_MAX ? 0 : -1;
    }
    if (json_is_string(jsize)) {
        const char *s = json_string_value(jsize);
        long long v = 0;

        if (*s == '\0')
            return -1;
        for (; *s != '\0'; s++) {
            if (*s < '0' || *s > '9')
                return -1;
            v = v * 10 + (*s - '0');
            if (v > INT32_MAX)
                return -1;
        }
        *out = v;
        return 0;
    }
    return -1;
}

static int canon_fixed(struct canon *c, json_t *node, const char *ns, const char *where)
{
    char inner_ns[CANON_NS_LEN];
    const char *full;
    long long size;
    int rc;

    rc = define_named(c, node, "fixed", ns, where, &full, inner_ns, sizeof(inner_ns));
    if (rc < 0)
        return rc;
    if (fixed_size(json_object_get(node, "size"), &size) < 0)
        return fail(c, "fixed '%s': 'size' is missing or not a non-negative integer", full);
    return pgcdc_buf_appendf(c->out, ",\"size\":%lld}", size);
}

/*
 * The identity of a union branch from its canonical text at p: the quoted
 * name for primitives and references, the full name for a named definition,
 * "array" or "map" otherwise. A union may not hold two branches alike.
 */
static void branch_key(const char *p, const char **key, size_t *n)
{
    const char *start, *end;

    if (p[0] == '"') {
        start = p + 1;
    } else if (strncmp(p, "{\"name\":\"", 9) == 0) {
        start = p + 9;
    } else {
        start = p + 9; /* {"type":"array" or {"type":"map" */
    }
    end = strchr(start, '"');
    *key = start;
    *n = end ? (size_t)(end - start) : strlen(start);
}

static int canon_union(struct canon *c, json_t *node, const char *ns, const char *where)
{
    size_t i, j, n = json_array_size(node);
    size_t starts[64];
    json_t *branch;
    int rc;

    if (n > sizeof(starts) / sizeof(starts[0]))
        return fail(c, "%s: union of %zu branches (at most %zu supported)", where, n,
                    sizeof(starts) / sizeof(starts[0]));
    rc = pgcdc_buf_append_char(c->out, '[');
    json_array_foreach(node, i, branch)
    {
        if (rc < 0)
            return rc;
        if (json_is_array(branch))
            return fail(c, "%s: union directly inside a union", where);
        if (i > 0)
            rc = pgcdc_buf_append_char(c->out, ',');
        starts[i] = c->out->len;
        if (rc == 0)
            rc = canon_schema(c, branch, ns, where);
    }
    if (rc < 0)
        return rc;
    for (i = 1; i < n; i++) {
        const char *ki, *kj;
        size_t ni, nj;

        branch_key(c->out->data + starts[i], &ki, &ni);
        for (j = 0; j < i; j++) {
            branch_key(c->out->data + starts[j], &kj, &nj);
            if (ni == nj && memcmp(ki, kj, ni) == 0)
                return fail(c, "%s: union holds '%.*s' twice", where, (int)ni, ki);
        }
    }
    return pgcdc_buf_append_char(c->out, ']');
}

static int canon_object(struct canon *c, json_t *node, const char *ns, const char *where)
{
    json_t *jtype = json_object_get(node, "type");
    const char *type;
    int rc;

    if (jtype == NULL)
        return fail(c, "%s: schema object without 'type'", where);
    if (!json_is_string(jtype))
        return fail(c, "%s: 'type' is not a string", where);
    type = json_string_value(jtype);
    if (is_primitive(type))
        return put_str(c, type);
    if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0)
        return canon_record(c, node, type, ns, where);
    if (strcmp(type, "enum") == 0)
        return canon_enum(c, node, ns, where);
    if (strcmp(type, "fixed") == 0)
        return canon_fixed(c, node, ns, where);
    if (strcmp(type, "array") == 0) {
        if (json_object_get(node, "items") == NULL)
            return fail(c, "%s: array without 'items'", where);
        rc = put(c, "{\"type\":\"array\",\"items\":");
        if (rc == 0)
            rc = canon_schema(c, json_object_get(node, "items"), ns, where);
        return rc == 0 ? pgcdc_buf_append_char(c->out, '}') : rc;
    }
    if (strcmp(type, "map") == 0) {
        if (json_object_get(node, "values") == NULL)
            return fail(c, "%s: map without 'values'", where);
        rc = put(c, "{\"type\":\"map\",\"values\":");
        if (rc == 0)
            rc = canon_schema(c, json_object_get(node, "values"), ns, where);
        return rc == 0 ? pgcdc_buf_append_char(c->out, '}') : rc;
    }
    /* {"type": "SomeName"} refers to a named type, as in Java's parser. */
    return put_reference(c, type, ns, where);
}

static int canon_schema(struct canon *c, json_t *node, const char *ns, const char *where)
{
    int rc;

    if (++c->depth > CANON_MAX_DEPTH) {
        rc = fail(c, "%s: schema nested more than %d levels deep", where, CANON_MAX_DEPTH);
    } else if (json_is_string(node)) {
        const char *s = json_string_value(node);
        rc = is_primitive(s) ? put_str(c, s) : put_reference(c, s, ns, where);
    } else if (json_is_object(node)) {
        rc = canon_object(c, node, ns, where);
    } else if (json_is_array(node)) {
        rc = canon_union(c, node, ns, where);
    } else {
        rc = fail(c, "%s: a schema must be a string, an object or an array", where);
    }
    c->depth--;
    return rc;
}

int pgcdc_avro_canonical(const char *schema_json, size_t len, struct pgcdc_buf *out, char *err,
                         size_t errlen)
{
    struct canon c = {.out = out, .err = err, .errlen = errlen};
    json_error_t jerr;
    json_t *root;
    int rc;

    pgcdc_buf_reset(out);
    root = json_loadb(schema_json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(err, errlen, "schema is not valid json: line %d column %d: %s", jerr.line,
                 jerr.column, jerr.text);
        return -EINVAL;
    }
    c.names = json_object();
    rc = c.names ? canon_schema(&c, root, "", "schema") : -ENOMEM;
    /* An empty result still gives a usable C string. */
    if (rc == 0)
        rc = pgcdc_buf_append(out, "", 0);
    if (rc < 0) {
        if (rc == -ENOMEM)
            snprintf(err, errlen, "out of memory");
        pgcdc_buf_reset(out);
    }
    json_decref(c.names);
    json_decref(root);
    pgcdc_buf_free(&c.tmp);
    return rc;
}

static uint64_t fp_table[256];
static pthread_once_t fp_once = PTHREAD_ONCE_INIT;

static void fp_init(void)
{
    for (int i = 0; i < 256; i++) {
        uint64_t fp = (uint64_t)i;
        for (int j = 0; j < 8; j++)
            fp = (fp >> 1) ^ (PGCDC_AVRO_FP_EMPTY & (0 - (fp & 1)));
        fp_table[i] = fp;
    }
}

uint64_t pgcdc_avro_fingerprint64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t fp = PGCDC_AVRO_FP_EMPTY;

    pthread_once(&fp_once, fp_init);
    for (size_t i = 0; i < len; i++)
        fp = (fp >> 8) ^ fp_table[(fp ^ p[i]) & 0xff];
    return fp;
}
