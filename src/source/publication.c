/*
 * publication.c - the publication pgcdc streams from.
 *
 * publication.autocreate.mode, as in Debezium:
 *   all_tables  create it FOR ALL TABLES when missing; leave an existing one;
 *   filtered    create it, or set its table list, to exactly the tables that
 *               pass table.include.list / table.exclude.list now;
 *   disabled    it must exist; pgcdc never changes it.
 * Tables outside the filters are dropped client-side in every mode, so a
 * publication wider than the filters only costs bandwidth.
 *
 * Nothing here runs before the slot is claimed (catalog.h), so a second
 * pgcdc on the same slot never rewrites this one's table list.
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
static int filtered_tables(struct pgcdc_stream *s, pgcdc_publication_filter_fn filter, void *arg,
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
        int in = filter(arg, nsp, rel, err, errlen);

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

/* A partitioned table's changes arrive under its own name only when the
 * publication publishes via the partition root (PostgreSQL 13+); otherwise
 * they come as each partition's, which the table filters do not name. */
static bool via_root_supported(struct pgcdc_stream *s)
{
    return pgcdc_stream_server(s)->version_num >= 130000;
}

/* Runs a statement that creates or alters the publication; a refusal for
 * want of privileges names the statement and the fix. */
static int run_ddl(struct pgcdc_stream *s, const struct pgcdc_config *cfg, const char *sql,
                   char *err, size_t errlen)
{
    char why[512];
    int rc = pgcdc_stream_exec(s, sql, why, sizeof(why));

    if (rc == 0)
        return 0;
    if (rc == -EACCES)
        snprintf(err, errlen,
                 "%.200s: %s: the user in 'database.dsn' must own the captured tables (and "
                 "have CREATE on the database; FOR ALL TABLES needs a superuser), or a user "
                 "who does creates publication '%s' and pgcdc runs with "
                 "publication.autocreate.mode = disabled",
                 sql, why, cfg->publication_name);
    else
        snprintf(err, errlen, "%.200s: %s", sql, why);
    return rc;
}

/* The publication's current tables in the same form, or *exists = false. */
static int current_tables(struct pgcdc_stream *s, const char *publit, bool *exists,
                          bool *all_tables, bool *via_root, struct pgcdc_buf *list, char *err,
                          size_t errlen)
{
    char sql[1024];
    void *resv = NULL;
    PGresult *res;
    int rc;

    /* pubviaroot exists from PostgreSQL 13 on. */
    snprintf(sql, sizeof(sql),
             "SELECT puballtables, %s FROM pg_catalog.pg_publication WHERE pubname = %s",
             via_root_supported(s) ? "pubviaroot" : "true", publit);
    rc = pgcdc_stream_query(s, sql, &resv, err, errlen);
    if (rc < 0)
        return rc;
    res = resv;
    *exists = PQntuples(res) == 1;
    *all_tables = *exists && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    *via_root = *exists && strcmp(PQgetvalue(res, 0, 1), "t") == 0;
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

int pgcdc_publication_ensure(struct pgcdc_stream *s, const struct pgcdc_config *cfg,
                             pgcdc_publication_filter_fn filter, void *arg, char *err,
                             size_t errlen)
{
    struct pgcdc_buf want = PGCDC_BUF_INIT, have = PGCDC_BUF_INIT, sql = PGCDC_BUF_INIT;
    char ident[256], lit[300];
    const char *with = via_root_supported(s) ? " WITH (publish_via_partition_root = true)" : "";
    bool exists, all_tables, via_root;
    int count = 0, rc;

    if (pgcdc_stream_quote_ident(s, cfg->publication_name, ident, sizeof(ident)) < 0 ||
        pgcdc_stream_quote_literal(s, cfg->publication_name, lit, sizeof(lit)) < 0) {
        snprintf(err, errlen, "publication name '%s' cannot be quoted", cfg->publication_name);
        return -EINVAL;
    }
    rc = current_tables(s, lit, &exists, &all_tables, &via_root, &have, err, errlen);
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
            rc = pgcdc_buf_appendf(&sql, "CREATE PUBLICATION %s FOR ALL TABLES%s", ident, with);
            if (rc == 0)
                rc = run_ddl(s, cfg, sql.data, err, errlen);
            if (rc == 0)
                pgcdc_log_info("created publication '%s' for all tables", cfg->publication_name);
        }
        goto out;
    case PGCDC_CONFIG_AUTOCREATE_FILTERED:
        break;
    }

    if (exists && !via_root) {
        rc = pgcdc_buf_appendf(&sql, "ALTER PUBLICATION %s SET (publish_via_partition_root = true)",
                               ident);
        if (rc == 0)
            rc = run_ddl(s, cfg, sql.data, err, errlen);
        if (rc < 0)
            goto out;
        pgcdc_log_info("publication '%s' now publishes partitions' changes as their root table's",
                       cfg->publication_name);
        pgcdc_buf_reset(&sql);
    }
    if (exists && all_tables) {
        pgcdc_log_info("publication '%s' publishes all tables; the table filters apply in pgcdc",
                       cfg->publication_name);
        goto out;
    }
    rc = filtered_tables(s, filter, arg, &want, &count, err, errlen);
    if (rc < 0)
        goto out;
    if (count == 0) {
        pgcdc_log_warn("no table matches the table filters; publication '%s' %s",
                       cfg->publication_name, exists ? "is left as it is" : "is created empty");
        if (!exists)
            rc = pgcdc_buf_appendf(&sql, "CREATE PUBLICATION %s%s", ident, with);
    } else if (!exists) {
        rc = pgcdc_buf_appendf(&sql, "CREATE PUBLICATION %s FOR TABLE %s%s", ident, want.data,
                               with);
    } else if (have.len != want.len || memcmp(have.data, want.data, want.len) != 0) {
        rc = pgcdc_buf_appendf(&sql, "ALTER PUBLICATION %s SET TABLE %s", ident, want.data);
    }
    if (rc == 0 && sql.len > 0) {
        rc = run_ddl(s, cfg, sql.data, err, errlen);
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
