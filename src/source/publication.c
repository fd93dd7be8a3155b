/*
 * publication.c - the publication pgcdc streams from, and catalog lookups.
 *
 * publication.autocreate.mode, as in Debezium:
 *   all_tables  create it FOR ALL TABLES when missing; leave an existing one;
 *   filtered    create it, or set its table list, to exactly the tables that
 *               pass table.include.list / table.exclude.list now;
 *   disabled    it must exist; pgcdc never changes it.
 * Tables outside the filters are dropped client-side in every mode, so a
 * publication wider than the filters only costs bandwidth.
 *
 * The catalog reader keeps its own ordinary connection, opened when first
 * needed: a replication connection cannot run queries while it streams.
 * It answers what pgoutput's messages leave out: primary keys, and what a
 * type only named by oid is (pg_type, pg_enum, pg_depend for extensions),
 * cached per oid and read again when the relation cache asks for a refresh.
 */
#include "pgcdc/publication.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pgcdc/buf.h"
#include "pgcdc/config.h"
#include "pgcdc/error.h"
#include "pgcdc/filter.h"
#include "pgcdc/log.h"
#include "pgcdc/stream.h"
#include "pgcdc/types.h"

/* "schema"."table", quoted for the connection, appended to b. */
static int append_qualified(struct pgcdc_stream *s, struct pgcdc_buf *b, const char *nsp,
                            const char *rel)
{
    char q[512];

    if (pgcdc_stream_quote_ident(s, nsp, q, sizeof(q)) < 0 || pgcdc_buf_append(b, q, strlen(q)) ||
        pgcdc_buf_append_char(b, '.') || pgcdc_stream_quote_ident(s, rel, q, sizeof(q)) < 0 ||
        pgcdc_buf_append(b, q, strlen(q)))
        return -ENOMEM;
    return 0;
}

/* The comma-separated, quoted list of tables that pass the filters, and how
 * many there are. */
static int filtered_tables(struct pgcdc_stream *s, const struct pgcdc_config *cfg,
                           struct pgcdc_buf *list, int *count, char *err, size_t errlen)
{
    void *resv = NULL;
    PGresult *res;
    int rc;

    *count = 0;
    rc = pgcdc_stream_query(s,
                            "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
                            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                            "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
                            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                            "AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1, 2",
                            &resv, err, errlen);
    if (rc < 0)
        return rc;
    res = resv;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *nsp = PQgetvalue(res, i, 0), *rel = PQgetvalue(res, i, 1);
        int in = pgcdc_filter_table(cfg, nsp, rel, err, errlen);

        if (in < 0) {
            PQclear(res);
            return in == -E2BIG ? -PGCDC_ECONFIG : in;
        }
        if (in == 0)
            continue;
        if ((*count > 0 && pgcdc_buf_append(list, ", ", 2)) ||
            append_qualified(s, list, nsp, rel) < 0) {
            PQclear(res);
            snprintf(err, errlen, "table name too long or out of memory");
            return -ENOMEM;
        }
        (*count)++;
    }
    PQclear(res);
    return 0;
}

/* The publication's current tables in the same form, or *exists = false. */
static int current_tables(struct pgcdc_stream *s, const char *publit, bool *exists,
                          bool *all_tables, struct pgcdc_buf *list, char *err, size_t errlen)
{
    char sql[1024];
    void *resv = NULL;
    PGresult *res;
    int rc;

    snprintf(sql, sizeof(sql),
             "SELECT puballtables FROM pg_catalog.pg_publication WHERE pubname = %s", publit);
    rc = pgcdc_stream_query(s, sql, &resv, err, errlen);
    if (rc < 0)
        return rc;
    res = resv;
    *exists = PQntuples(res) == 1;
    *all_tables = *exists && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!*exists || *all_tables)
        return 0;

    snprintf(sql, sizeof(sql),
             "SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables "
             "WHERE pubname = %s ORDER BY 1, 2",
             publit);
    rc = pgcdc_stream_query(s, sql, &resv, err, errlen);
    if (rc < 0)
        return rc;
    res = resv;
    for (int i = 0; i < PQntuples(res); i++) {
        if ((i > 0 && pgcdc_buf_append(list, ", ", 2)) ||
            append_qualified(s, list, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)) < 0) {
            PQclear(res);
            return -ENOMEM;
        }
    }
    PQclear(res);
    return 0;
}

int pgcdc_publication_ensure(struct pgcdc_stream *s, const struct pgcdc_config *cfg, char *err,
                             size_t errlen)
{
    struct pgcdc_buf want = PGCDC_BUF_INIT, have = PGCDC_BUF_INIT, sql = PGCDC_BUF_INIT;
    char ident[256], lit[300];
    bool exists, all_tables;
    int count = 0, rc;

    if (pgcdc_stream_quote_ident(s, cfg->publication_name, ident, sizeof(ident)) < 0 ||
        pgcdc_stream_quote_literal(s, cfg->publication_name, lit, sizeof(lit)) < 0) {
        snprintf(err, errlen, "publication name '%s' cannot be quoted", cfg->publication_name);
        return -EINVAL;
    }
    rc = current_tables(s, lit, &exists, &all_tables, &have, err, errlen);
    if (rc < 0)
        goto out;

    switch (cfg->autocreate) {
    case PGCDC_CONFIG_AUTOCREATE_DISABLED:
        if (!exists) {
            snprintf(err, errlen,
                     "publication '%s' does not exist and publication.autocreate.mode is "
                     "'disabled': create it (CREATE PUBLICATION) or change the mode",
                     cfg->publication_name);
            rc = -ENOENT;
        }
        goto out;
    case PGCDC_CONFIG_AUTOCREATE_ALL_TABLES:
        if (!exists) {
            rc = pgcdc_buf_appendf(&sql, "CREATE PUBLICATION %s FOR ALL TABLES", ident);
            if (rc == 0)
                rc = pgcdc_stream_exec(s, sql.data, err, errlen);
            if (rc == 0)
                pgcdc_log_info("created publication '%s' for all tables", cfg->publication_name);
        }
        goto out;
    case PGCDC_CONFIG_AUTOCREATE_FILTERED:
        break;
    }

    if (exists && all_tables) {
        pgcdc_log_info("publication '%s' publishes all tables; the table filters apply in pgcdc",
                       cfg->publication_name);
        goto out;
    }
    rc = filtered_tables(s, cfg, &want, &count, err, errlen);
    if (rc < 0)
        goto out;
    if (count == 0) {
        pgcdc_log_warn("no table matches the table filters; publication '%s' %s",
                       cfg->publication_name, exists ? "is left as it is" : "is created empty");
        if (!exists)
            rc = pgcdc_buf_appendf(&sql, "CREATE PUBLICATION %s", ident);
    } else if (!exists) {
        rc = pgcdc_buf_appendf(&sql, "CREATE PUBLICATION %s FOR TABLE %s", ident, want.data);
    } else if (have.len != want.len || memcmp(have.data, want.data, want.len) != 0) {
        rc = pgcdc_buf_appendf(&sql, "ALTER PUBLICATION %s SET TABLE %s", ident, want.data);
    }
    if (rc == 0 && sql.len > 0) {
        rc = pgcdc_stream_exec(s, sql.data, err, errlen);
        if (rc == 0)
            pgcdc_log_info("%s publication '%s' for %d table(s)", exists ? "updated" : "created",
                           cfg->publication_name, count);
    }

out:
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory while preparing publication '%s'",
                 cfg->publication_name);
    pgcdc_buf_free(&want);
    pgcdc_buf_free(&have);
    pgcdc_buf_free(&sql);
    return rc;
}

/* One described type. */
struct type_entry {
    struct pgcdc_type_info info; /* labels points at labels below */
    char *labels;                /* enum labels, or NULL */
};

struct pgcdc_catalog {
    char *conninfo;           /* as configured */
    PGconn *conn;             /* opened on first use, NULL before */
    struct type_entry *types; /* described types, by oid (linear: there are few) */
    size_t ntypes;            /* entries used */
    size_t captypes;          /* entries allocated */
};

int pgcdc_catalog_new(struct pgcdc_catalog **out, const char *conninfo, char *err, size_t errlen)
{
    struct pgcdc_catalog *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (c == NULL || (c->conninfo = strdup(conninfo ? conninfo : "")) == NULL) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    *out = c;
    return 0;
}

static int catalog_connect(struct pgcdc_catalog *c, char *err, size_t errlen)
{
    const char *keys[] = {"dbname", "fallback_application_name", NULL};
    const char *vals[] = {c->conninfo, "pgcdc-catalog", NULL};

    if (c->conn && PQstatus(c->conn) == CONNECTION_OK)
        return 0;
    PQfinish(c->conn);
    c->conn = PQconnectdbParams(keys, vals, 1);
    if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK) {
        const char *m = c->conn ? PQerrorMessage(c->conn) : "out of memory";
        size_t n = strlen(m);

        while (n > 0 && m[n - 1] == '\n')
            n--;
        snprintf(err, errlen, "cannot open the catalog connection: %.*s", (int)n, m);
        PQfinish(c->conn);
        c->conn = NULL;
        return -ECONNREFUSED;
    }
    return 0;
}

/* The primary message of a failed result, or the connection's. */
static const char *result_error(PGconn *conn, PGresult *res)
{
    const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    return m ? m : PQerrorMessage(conn);
}

int pgcdc_catalog_publication_tables(void *catalog, const char *pubname,
                                     pgcdc_catalog_table_fn fn, void *arg, char *err,
                                     size_t errlen)
{
    struct pgcdc_catalog *c = catalog;
    const char *params[1] = {pubname};
    PGresult *res;
    int rc;

    rc = catalog_connect(c, err, errlen);
    if (rc < 0)
        return rc;
    res = PQexecParams(c->conn,
                       "SELECT c.oid, n.nspname, c.relname "
                       "FROM pg_catalog.pg_publication_tables pt "
                       "JOIN pg_catalog.pg_namespace n ON n.nspname = pt.schemaname "
                       "JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid "
                       "AND c.relname = pt.tablename "
                       "WHERE pt.pubname = $1 ORDER BY 2, 3",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "cannot list the tables of publication '%s': %s", pubname,
                 result_error(c->conn, res));
        PQclear(res);
        return -EIO;
    }
    for (int i = 0; i < PQntuples(res) && rc == 0; i++)
        rc = fn(arg, (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10), PQgetvalue(res, i, 1),
                PQgetvalue(res, i, 2), err, errlen);
    PQclear(res);
    return rc;
}

int pgcdc_catalog_rel_name(void *catalog, uint32_t relid, char *nspname, size_t nsplen,
                           char *relname, size_t rellen, char *err, size_t errlen)
{
    struct pgcdc_catalog *c = catalog;
    char oid[16];
    const char *params[1] = {oid};
    PGresult *res;
    int rc;

    rc = catalog_connect(c, err, errlen);
    if (rc < 0)
        return rc;
    snprintf(oid, sizeof(oid), "%u", relid);
    res = PQexecParams(c->conn,
                       "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
                       "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE c.oid = $1::pg_catalog.oid",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "cannot read the name of relation %u: %s", relid,
                 result_error(c->conn, res));
        PQclear(res);
        return -EIO;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return -ENOENT;
    }
    snprintf(nspname, nsplen, "%s", PQgetvalue(res, 0, 0));
    snprintf(relname, rellen, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

int pgcdc_catalog_pk_columns(void *catalog, uint32_t relid, char **names, int max, char *err,
                             size_t errlen)
{
    struct pgcdc_catalog *c = catalog;
    char oid[16];
    const char *params[1] = {oid};
    PGresult *res;
    int n, rc;

    rc = catalog_connect(c, err, errlen);
    if (rc < 0)
        return rc;
    snprintf(oid, sizeof(oid), "%u", relid);
    res = PQexecParams(c->conn,
                       "SELECT a.attname FROM pg_catalog.pg_index i "
                       "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid "
                       "AND a.attnum = ANY (i.indkey) "
                       "WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY a.attnum",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "cannot read the primary key of relation %u: %s", relid,
                 PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                     ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                     : PQerrorMessage(c->conn));
        PQclear(res);
        return -EIO;
    }
    n = PQntuples(res);
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++) {
        names[i] = strdup(PQgetvalue(res, i, 0));
        if (names[i] == NULL) {
            while (i-- > 0)
                free(names[i]);
            PQclear(res);
            return -ENOMEM;
        }
    }
    PQclear(res);
    return n;
}


/* One pg_type row. */
struct type_row {
    char typtype;       /* pg_type.typtype */
    char name[64];      /* typname */
    char nspname[64];   /* schema */
    uint32_t basetype;  /* typbasetype (domains), else 0 */
    int32_t typtypmod;  /* typtypmod (domains), else -1 */
    uint32_t elem;      /* typelem of an array type (varlena with an element), else 0 */
    char extension[64]; /* owning extension, "" when none */
};

static void copy_field(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src);
}

static int query_type(struct pgcdc_catalog *c, uint32_t oid, struct type_row *row, char *err,
                      size_t errlen)
{
    char text[16];
    const char *params[1] = {text};
    PGresult *res;

    snprintf(text, sizeof(text), "%u", oid);
    res = PQexecParams(
        c->conn,
        "SELECT t.typtype, t.typname, n.nspname, t.typbasetype, t.typtypmod, "
        "CASE WHEN t.typlen = -1 THEN t.typelem ELSE 0 END, "
        "COALESCE((SELECT e.extname FROM pg_catalog.pg_depend d "
        "JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid "
        "WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.objid = t.oid "
        "AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass "
        "AND d.deptype = 'e' LIMIT 1), '') "
        "FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
        "WHERE t.oid = $1::pg_catalog.oid",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        if (PQresultStatus(res) == PGRES_TUPLES_OK)
            snprintf(err, errlen, "type oid %u is not in pg_type", oid);
        else
            snprintf(err, errlen, "cannot read type %u from the catalog: %s", oid,
                     result_error(c->conn, res));
        PQclear(res);
        return -EIO;
    }
    row->typtype = PQgetvalue(res, 0, 0)[0];
    copy_field(row->name, sizeof(row->name), PQgetvalue(res, 0, 1));
    copy_field(row->nspname, sizeof(row->nspname), PQgetvalue(res, 0, 2));
    row->basetype = (uint32_t)strtoul(PQgetvalue(res, 0, 3), NULL, 10);
    row->typtypmod = (int32_t)strtol(PQgetvalue(res, 0, 4), NULL, 10);
    row->elem = (uint32_t)strtoul(PQgetvalue(res, 0, 5), NULL, 10);
    copy_field(row->extension, sizeof(row->extension), PQgetvalue(res, 0, 6));
    PQclear(res);
    return 0;
}

/* The labels of enum oid, comma-joined in enumsortorder (malloc'd). */
static int query_labels(struct pgcdc_catalog *c, uint32_t oid, char **out, char *err, size_t errlen)
{
    char text[16];
    const char *params[1] = {text};
    PGresult *res;

    snprintf(text, sizeof(text), "%u", oid);
    res = PQexecParams(c->conn,
                       "SELECT COALESCE(pg_catalog.string_agg(enumlabel, ',' ORDER BY "
                       "enumsortorder), '') FROM pg_catalog.pg_enum "
                       "WHERE enumtypid = $1::pg_catalog.oid",
                       1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        snprintf(err, errlen, "cannot read the labels of enum type %u: %s", oid,
                 result_error(c->conn, res));
        PQclear(res);
        return -EIO;
    }
    *out = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (*out == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

/* Describes oid from the catalog into e (labels malloc'd). */
static int describe_type(struct pgcdc_catalog *c, uint32_t oid, struct type_entry *e, char *err,
                         size_t errlen)
{
    struct pgcdc_type_info *ti = &e->info;
    struct type_row row;
    int32_t typmod = -1;
    int rc, depth;

    memset(e, 0, sizeof(*e));
    rc = query_type(c, oid, &row, err, errlen);
    if (rc < 0)
        return rc;
    ti->oid = oid;
    ti->typtype = row.typtype;
    copy_field(ti->name, sizeof(ti->name), row.name);
    copy_field(ti->nspname, sizeof(ti->nspname), row.nspname);
    ti->base_oid = oid;
    /* Follow domains to the base; the outermost typmod wins, as in
     * PostgreSQL's getBaseTypeAndTypmod(). */
    for (depth = 0; row.typtype == 'd'; depth++) {
        if (depth == 32 || row.basetype == 0) {
            snprintf(err, errlen, "type %u: cannot resolve the base type of its domain", oid);
            return -EIO;
        }
        if (typmod == -1)
            typmod = row.typtypmod;
        ti->base_oid = row.basetype;
        rc = query_type(c, row.basetype, &row, err, errlen);
        if (rc < 0)
            return rc;
    }
    ti->base_typmod = typmod;
    ti->base_typtype = row.typtype;
    copy_field(ti->base_name, sizeof(ti->base_name), row.name);
    copy_field(ti->base_extension, sizeof(ti->base_extension), row.extension);
    if (row.typtype == 'e') {
        rc = query_labels(c, ti->base_oid, &e->labels, err, errlen);
    } else if (row.elem != 0) {
        ti->elem_oid = row.elem;
        rc = query_type(c, row.elem, &row, err, errlen);
        if (rc == 0) {
            ti->elem_typtype = row.typtype;
            copy_field(ti->elem_name, sizeof(ti->elem_name), row.name);
            if (row.typtype == 'e')
                rc = query_labels(c, ti->elem_oid, &e->labels, err, errlen);
        }
    }
    ti->labels = e->labels;
    if (rc < 0) {
        free(e->labels);
        e->labels = NULL;
    }
    return rc;
}

int pgcdc_catalog_type_info(void *catalog, uint32_t oid, bool refresh, struct pgcdc_type_info *out,
                            char *err, size_t errlen)
{
    struct pgcdc_catalog *c = catalog;
    struct type_entry fresh, *slot = NULL;
    int rc;

    for (size_t i = 0; i < c->ntypes; i++)
        if (c->types[i].info.oid == oid)
            slot = &c->types[i];
    if (slot && !refresh) {
        *out = slot->info;
        return 0;
    }
    rc = catalog_connect(c, err, errlen);
    if (rc < 0)
        return rc;
    rc = describe_type(c, oid, &fresh, err, errlen);
    if (rc < 0)
        return rc;
    if (slot == NULL) {
        if (c->ntypes == c->captypes) {
            size_t n = c->captypes ? c->captypes * 2 : 16;
            struct type_entry *t = realloc(c->types, n * sizeof(*t));

            if (t == NULL) {
                free(fresh.labels);
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
            }
            c->types = t;
            c->captypes = n;
        }
        slot = &c->types[c->ntypes++];
    } else {
        free(slot->labels);
    }
    *slot = fresh;
    *out = slot->info;
    return 0;
}

void pgcdc_catalog_free(struct pgcdc_catalog **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    for (size_t i = 0; i < (*cp)->ntypes; i++)
        free((*cp)->types[i].labels);
    free((*cp)->types);
    PQfinish((*cp)->conn);
    free((*cp)->conninfo);
    free(*cp);
    *cp = NULL;
}
