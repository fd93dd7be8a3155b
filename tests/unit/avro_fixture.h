/*
 * avro_fixture.h - hand-built relations for the Avro schema and encoder
 * tests: a struct pgcdc_rel as the relation cache would fill it, with each
 * column's conversion taken from pgcdc_types_map(); fixture_map_info()
 * remaps a column from catalog information, as the relation cache does.
 */
#ifndef PGCDC_TEST_AVRO_FIXTURE_H
#define PGCDC_TEST_AVRO_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/relcache.h"
#include "pgcdc/types.h"

/* pg_type oids used by the tests. */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_MONEY = 790,
    OID_INT4_ARRAY = 1007,
    OID_TEXT_ARRAY = 1009,
    OID_TIMESTAMP = 1114,
    OID_NUMERIC = 1700,
    OID_UUID = 2950,
    OID_JSONB = 3802,
    OID_POINT = 600,
    OID_LSEG = 601,
    OID_PATH = 602,
    OID_BOX = 603,
    OID_POLYGON = 604,
    OID_LINE = 628,
    OID_CIRCLE = 718,
};

/* numeric(p,s) typmod as pgoutput sends it. */
#define NUMERIC_TYPMOD(p, s) ((((p) << 16) | (s)) + 4)

struct fixture_col {
    const char *name; /* column name */
    uint32_t oid;     /* pg_type oid */
    int32_t typmod;   /* typmod, -1 when none */
    bool key;         /* part of the key */
};

/* A relation schema.table under topic, with n columns. */
static inline struct pgcdc_rel *fixture_rel(const char *topic, const char *nsp, const char *name,
                                            const struct fixture_col *cols, int n)
{
    struct pgcdc_rel *r = calloc(1, sizeof(*r));
    char err[256];

    r->relid = 16384;
    r->nspname = strdup(nsp);
    r->relname = strdup(name);
    r->topic = strdup(topic);
    r->replident = 'd';
    r->included = true;
    r->version = 1;
    r->ncols = (uint16_t)n;
    r->cols = calloc((size_t)n, sizeof(*r->cols));
    for (int i = 0; i < n; i++) {
        struct pgcdc_relcol *c = &r->cols[i];

        c->name = strdup(cols[i].name);
        c->type_oid = cols[i].oid;
        c->typmod = cols[i].typmod;
        c->key = cols[i].key;
        c->included = pgcdc_types_map(c->type_oid, c->typmod, false, &c->tm, err, sizeof(err)) == 0;
        if (c->key)
            r->nkeys++;
    }
    return r;
}

/* Maps column i of r from catalog information ti (kept alive by the caller). */
static inline int fixture_map_info(struct pgcdc_rel *r, int i, const struct pgcdc_type_info *ti)
{
    char err[512];
    int rc = pgcdc_types_map_info(ti, r->cols[i].typmod, false, &r->cols[i].tm, err, sizeof(err));

    r->cols[i].included = rc == 0;
    return rc;
}

static inline void fixture_rel_free(struct pgcdc_rel *r)
{
    if (r == NULL)
        return;
    for (uint16_t i = 0; i < r->ncols; i++)
        free(r->cols[i].name);
    free(r->cols);
    free(r->nspname);
    free(r->relname);
    free(r->topic);
    free(r);
}

#endif
