/*
 * types_catalog.c - types that pgoutput only names by oid, mapped from what
 * the catalog says about them (struct pgcdc_type_info): domains as their
 * base type, enums as io.debezium.data.Enum, the extension types Debezium
 * knows by name (citext, isbn, ltree, hstore, PostGIS's geometry and
 * geography) and arrays of enums and of those types.
 */
#include "types_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void schema_param_text(struct pgcdc_schema *s, const char *key, const char *text)
{
    struct pgcdc_schema_param *p = &s->params[s->nparams++];

    p->key = key;
    p->value[0] = '\0';
    p->text = text;
}

/* Names the type of ti for messages: 'schema.name', with [] for arrays. */
static void info_label(const struct pgcdc_type_info *ti, char *out, size_t n)
{
    if (ti->elem_oid != 0 && ti->oid == ti->base_oid && ti->elem_name[0])
        snprintf(out, n, "%s.%s[]", ti->nspname, ti->elem_name);
    else
        snprintf(out, n, "%s.%s", ti->nspname, ti->name);
}

/* Extension types Debezium maps to schemas pgcdc has no converter for yet
 * (pgvector's). */
static bool debezium_only(const char *name)
{
    static const char *const names[] = {"vector", "halfvec", "sparsevec"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

static const struct pgcdc_schema s_map_string = {.ctype = PGCDC_CTYPE_STRING};

/* hstore.handling.mode=map: string keys, values that may be null. */
static const struct pgcdc_schema s_hstore_map = {
    .ctype = PGCDC_CTYPE_MAP,
    .values = &s_map_string,
    .optional_values = true,
};

/* Extension types Debezium maps by name: 0 with s and conv set, or 1. */
static int map_by_name(const char *name, const struct pgcdc_types_modes *m,
                       struct pgcdc_schema *s, int *conv)
{
    if (strcmp(name, "citext") == 0 || strcmp(name, "isbn") == 0) {
        pgcdc_types_schema_plain(s, PGCDC_CTYPE_STRING);
        *conv = CONV_STRING;
        return 0;
    }
    if (strcmp(name, "ltree") == 0) {
        pgcdc_types_schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.data.Ltree");
        *conv = CONV_STRING;
        return 0;
    }
    if (strcmp(name, "hstore") == 0) {
        if (m->hstore == PGCDC_HSTORE_MAP) {
            *s = s_hstore_map;
            *conv = CONV_HSTORE_MAP;
            return 0;
        }
        pgcdc_types_schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.data.Json");
        *conv = CONV_HSTORE;
        return 0;
    }
    if (strcmp(name, "geometry") == 0) {
        /* The same Geometry schema as the built-in geometric types. */
        *s = pgcdc_types_geometry_schema;
        *conv = CONV_EWKB;
        return 0;
    }
    if (strcmp(name, "geography") == 0) {
        *s = pgcdc_types_geography_schema;
        *conv = CONV_EWKB;
        return 0;
    }
    return 1;
}

/* The array separator of an element type: PostGIS's types declare ':'
 * (typdelim) because their text output may hold commas. */
static char elem_delim(const char *elem_name)
{
    return strcmp(elem_name, "geometry") == 0 || strcmp(elem_name, "geography") == 0 ? ':' : ',';
}

static void schema_enum(struct pgcdc_schema *s, const char *labels)
{
    pgcdc_types_schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.data.Enum");
    schema_param_text(s, "allowed", labels ? labels : "");
}

int pgcdc_types_map_info(const struct pgcdc_type_info *ti, int32_t typmod, bool include_unknown,
                         struct pgcdc_typemap *out, char *err, size_t errlen)
{
    struct pgcdc_types_modes m = PGCDC_TYPES_MODES_DEFAULT;

    m.include_unknown = include_unknown;
    return pgcdc_types_map_info_modes(ti, typmod, &m, out, err, errlen);
}

int pgcdc_types_map_info_modes(const struct pgcdc_type_info *ti, int32_t typmod,
                               const struct pgcdc_types_modes *m, struct pgcdc_typemap *out,
                               char *err, size_t errlen)
{
    bool include_unknown = m->include_unknown;
    uint32_t base = ti->base_oid ? ti->base_oid : ti->oid;
    /* A domain column's atttypmod is -1; Debezium then takes the domain's. */
    int32_t tmod = typmod >= 0 ? typmod : ti->base_typmod;
    char label[160];
    int rc;

    info_label(ti, label, sizeof(label));
    if (base < PGCDC_TYPES_FIRST_USER_OID) {
        /* A built-in type, or a domain over one: the built-in mapping. */
        rc = pgcdc_types_map_modes(base, tmod, m, out, err, errlen);
        out->type_oid = base;
        if (rc < 0 && base != ti->oid) {
            char inner[256];

            snprintf(inner, sizeof(inner), "%s", err);
            snprintf(err, errlen, "domain '%s': %s", label, inner);
        }
        return rc;
    }
    memset(out, 0, sizeof(*out));
    out->type_oid = base;
    out->typmod = tmod;
    if (ti->base_typtype == 'e') {
        schema_enum(&out->schema, ti->labels);
        out->conv = CONV_STRING;
        return 0;
    }
    if (ti->elem_oid == 0 && map_by_name(ti->base_name, m, &out->schema, &out->conv) == 0)
        return 0;
    if (ti->elem_oid != 0) {
        rc = 1;
        if (ti->elem_typtype == 'e') {
            schema_enum(&out->elem, ti->labels);
            out->elem_conv = CONV_STRING;
            rc = 0;
        } else if (strcmp(ti->elem_name, "hstore") != 0) {
            /* hstore[] elements would need unescaping before conversion. */
            rc = map_by_name(ti->elem_name, m, &out->elem, &out->elem_conv);
        }
        if (rc == 0) {
            pgcdc_types_schema_plain(&out->schema, PGCDC_CTYPE_ARRAY);
            out->conv = CONV_ARRAY;
            out->delim = elem_delim(ti->elem_name);
            return 0;
        }
        if (ti->elem_typtype == 'd') {
            /* Debezium has no element schema for domains: with unknown types
             * included it emits each element's text as bytes. */
            if (!include_unknown) {
                snprintf(err, errlen,
                         "type '%s' is an array of a domain, which Debezium leaves out of events, "
                         "so the column is left out (set include.unknown.datatypes = true to "
                         "emit its elements' text as bytes)",
                         label);
                return -ENOTSUP;
            }
            pgcdc_types_schema_plain(&out->elem, PGCDC_CTYPE_BYTES);
            out->elem_conv = CONV_RAW_BYTES;
            pgcdc_types_binary_mode(m->binary, &out->elem, &out->elem_conv);
            pgcdc_types_schema_plain(&out->schema, PGCDC_CTYPE_ARRAY);
            out->conv = CONV_ARRAY;
            return 0;
        }
    }
    if (debezium_only(ti->base_name) ||
        (ti->elem_oid != 0 &&
         (debezium_only(ti->elem_name) || strcmp(ti->elem_name, "hstore") == 0))) {
        snprintf(err, errlen,
                 "type '%s' is not supported by pgcdc yet (Debezium maps it), so the column is "
                 "left out of events",
                 label);
        return -ENOTSUP;
    }
    rc = pgcdc_types_map_unknown(include_unknown, label, out, err, errlen);
    if (rc == 0)
        pgcdc_types_binary_mode(m->binary, &out->schema, &out->conv);
    return rc;
}
