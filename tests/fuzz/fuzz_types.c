/*
 * fuzz_types.c - the text value converters under arbitrary input.
 *
 * Input layout: byte 0 picks a type (built-in, or one the catalog would
 * describe: PostGIS, hstore, an enum and arrays of them), byte 1 a typmod
 * variant, the rest is the value text as pgoutput would send it. Every successful
 * conversion is walked completely (array elements, struct fields, map
 * entries) and every byte it points at is read, so a pointer outside the
 * input or the scratch buffer shows up under the sanitizers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/buf.h"
#include "pgcdc/types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint32_t oids[] = {
    16,   17,   18,   19,   20,   21,   23,   25,   26,   114,  142,  143,  199,  600,  601,  602,
    603,  604,  628,  650,  651,  700,  701,  718,  774,  775,  790,  791,  829,  869,  1000, 1001,
    1002, 1003, 1005, 1007, 1009, 1014, 1015, 1016, 1017, 1021, 1022, 1028, 1040, 1041, 1042, 1043,
    1082, 1083, 1114, 1115, 1182, 1183, 1184, 1185, 1186, 1187, 1231, 1266, 1270, 1560, 1561, 1562,
    1563, 1700, 2950, 2951, 3614, 3802, 3807, 3904, 3905, 3906, 3907, 3908, 3910, 3912, 3926,
};

/* Types the catalog describes: base name, element name for arrays. */
static const struct {
    const char *name;      /* typname */
    const char *elem;      /* element typname for arrays, else NULL */
    char elem_typtype;     /* element typtype */
    const char *extension; /* extension the base type belongs to */
} user_types[] = {
    {"geometry", NULL, 0, "postgis"},
    {"geography", NULL, 0, "postgis"},
    {"_geometry", "geometry", 'b', "postgis"},
    {"_geography", "geography", 'b', "postgis"},
    {"hstore", NULL, 0, "hstore"},
    {"citext", NULL, 0, "citext"},
    {"ltree", NULL, 0, "ltree"},
    {"mood", NULL, 'e', ""},
    {"_mood", "mood", 'e', ""},
};

/* Maps user type i the way the relation cache does with catalog facts. */
static int map_user_type(size_t i, int32_t typmod, struct pgcdc_typemap *tm, char *err,
                         size_t errlen)
{
    struct pgcdc_type_info ti;

    memset(&ti, 0, sizeof(ti));
    ti.oid = (uint32_t)(20000 + i);
    ti.typtype = user_types[i].elem_typtype == 'e' && !user_types[i].elem ? 'e' : 'b';
    snprintf(ti.name, sizeof(ti.name), "%s", user_types[i].name);
    snprintf(ti.nspname, sizeof(ti.nspname), "public");
    ti.base_oid = ti.oid;
    ti.base_typmod = -1;
    ti.base_typtype = ti.typtype;
    snprintf(ti.base_name, sizeof(ti.base_name), "%s", user_types[i].name);
    snprintf(ti.base_extension, sizeof(ti.base_extension), "%s", user_types[i].extension);
    if (user_types[i].elem) {
        ti.elem_oid = ti.oid + 100;
        ti.elem_typtype = user_types[i].elem_typtype;
        snprintf(ti.elem_name, sizeof(ti.elem_name), "%s", user_types[i].elem);
    }
    if (user_types[i].elem_typtype == 'e')
        ti.labels = "sad,ok,happy";
    return pgcdc_types_map_info(&ti, typmod, true, tm, err, errlen);
}

/* Typmods: none, small, a numeric(12,2), a time precision, a bit length. */
static const int32_t typmods[] = {-1, 0, 3, (12 << 16 | 2) + 4, 6, 12};

static volatile unsigned char sink;

static void touch(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        sink ^= (unsigned char)p[i];
}

static void walk(const struct pgcdc_typemap *tm, const struct pgcdc_datum *d,
                 struct pgcdc_buf *scratch, int depth);

/* Every field of a STRUCT (or VSD) datum. */
static void walk_fields(const struct pgcdc_typemap *tm, const struct pgcdc_datum *d,
                        struct pgcdc_buf *scratch, int depth)
{
    struct pgcdc_datum f;

    for (int i = 0; pgcdc_types_struct_field(d, i, &f) == 0; i++)
        walk(tm, &f, scratch, depth + 1);
}

static void walk(const struct pgcdc_typemap *tm, const struct pgcdc_datum *d,
                 struct pgcdc_buf *scratch, int depth)
{
    char err[128];

    if (depth > 4)
        return;
    switch (d->kind) {
    case PGCDC_DATUM_STRING:
    case PGCDC_DATUM_BYTES:
    case PGCDC_DATUM_VSD:
        touch(pgcdc_datum_ptr(d, scratch), d->len);
        if (d->kind == PGCDC_DATUM_VSD)
            walk_fields(tm, d, scratch, depth);
        break;
    case PGCDC_DATUM_STRUCT:
        walk_fields(tm, d, scratch, depth);
        break;
    case PGCDC_DATUM_MAP:
        for (uint32_t i = 0; i < d->u.geo.count; i++) {
            const char *k, *v;

            if (pgcdc_types_map_entry(d, i, &k, &v) == 0) {
                touch(k, 1);
                touch(v, 1);
            }
        }
        break;
    case PGCDC_DATUM_ARRAY: {
        struct pgcdc_array_iter it;
        struct pgcdc_datum el;

        pgcdc_types_array_begin(d, &it);
        while (pgcdc_types_array_next(tm, &it, scratch, &el, err, sizeof(err)) > 0)
            walk(tm, &el, scratch, depth + 1);
        break;
    }
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pgcdc_buf scratch = PGCDC_BUF_INIT;
    size_t noids = sizeof(oids) / sizeof(oids[0]), pick;
    struct pgcdc_typemap tm;
    struct pgcdc_datum d;
    int32_t typmod;
    char err[256];
    char *text;
    int rc;

    if (size < 2)
        return 0;
    pick = data[0] % (noids + sizeof(user_types) / sizeof(user_types[0]));
    typmod = typmods[data[1] % (sizeof(typmods) / sizeof(typmods[0]))];
    if (pick < noids)
        rc = pgcdc_types_map(oids[pick], typmod, true, &tm, err, sizeof(err));
    else
        rc = map_user_type(pick - noids, typmod, &tm, err, sizeof(err));
    if (rc < 0)
        return 0;
    /* An exact-size copy, so reading past the value is caught. */
    text = malloc(size - 2 ? size - 2 : 1);
    if (text == NULL)
        return 0;
    for (size_t i = 2; i < size; i++)
        text[i - 2] = (char)data[i];
    if (pgcdc_types_convert(&tm, text, size - 2, &scratch, &d, err, sizeof(err)) == 0)
        walk(&tm, &d, &scratch, 0);
    if (pgcdc_types_unavailable(&tm, "__debezium_unavailable_value", &d) == 0)
        walk(&tm, &d, &scratch, 0);
    free(text);
    pgcdc_buf_free(&scratch);
    return 0;
}
