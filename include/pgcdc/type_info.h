/*
 * type_info.h - what the catalog says about a type that pgoutput only names
 * by oid (enums, domains, extension types such as hstore, citext or
 * PostGIS's geometry).
 *
 * The catalog reader (catalog.h) fills it; the type mapping (types.h) maps
 * it. It belongs to neither, so that the source reads the catalog without
 * depending on the model.
 */
#ifndef PGCDC_TYPE_INFO_H
#define PGCDC_TYPE_INFO_H

#include <stdint.h>

/* What the catalog says about a type pgoutput only names by oid. */
struct pgcdc_type_info {
    uint32_t oid;        /* the column's type */
    char typtype;        /* its pg_type.typtype: 'b' base, 'd' domain, 'e' enum, 'c', 'r', ... */
    char name[64];       /* its typname */
    char nspname[64];    /* its schema */
    uint32_t base_oid;   /* domains: the base type, nested domains followed; else oid */
    int32_t base_typmod; /* domains: the typmod they put on the base type, -1 when none */
    char base_typtype;   /* typtype of base_oid */
    char base_name[64];  /* typname of base_oid ("hstore", "citext", ...) */
    char base_extension[64]; /* the extension base_oid belongs to, "" when none */
    uint32_t elem_oid;       /* base_oid is an array type: its element type (typelem), else 0 */
    char elem_typtype;       /* typtype of elem_oid */
    char elem_name[64];      /* typname of elem_oid */
    const char *labels; /* enum base or element: labels in enumsortorder joined by ',', else NULL */
};

#endif
