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
#include "pgcdc/log.h"
#include "pgcdc/stream.h"

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

        if (!pgcdc_config_table_included(cfg, nsp, rel))
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

struct pgcdc_catalog {
    char *conninfo; /* as configured */
    PGconn *conn;   /* opened on first use, NULL before */
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

void pgcdc_catalog_free(struct pgcdc_catalog **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    PQfinish((*cp)->conn);
    free((*cp)->conninfo);
    free(*cp);
    *cp = NULL;
}
