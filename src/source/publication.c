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
 * pgcdc changes only a publication it created: it marks one when it creates
 * it (a comment starting with PGCDC_PUBLICATION_MARK, set in the same
 * transaction). A publication it finds without the mark may be shared with
 * other consumers, so whatever the mode it is used as it is, and where it
 * differs from the filters (tables they capture that it does not publish,
 * partitions published under their own names) pgcdc says so in the log.
 *
 * A table without a usable replica identity (no primary key under REPLICA
 * IDENTITY DEFAULT, NOTHING, or a missing index) makes PostgreSQL refuse
 * every UPDATE and DELETE on it once a publication that publishes them
 * holds it: filtered mode leaves such tables out, with a warning that says
 * how to give them an identity, unless publication.keyless.tables =
 * include. FOR ALL TABLES cannot leave anything out: pgcdc warns instead.
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
#include "pgcdc/inspect.h"
#include "pgcdc/log.h"
#include "pgcdc/stream.h"

bool pgcdc_publication_is_marked(const char *comment)
{
    return comment != NULL &&
           strncmp(comment, PGCDC_PUBLICATION_MARK, sizeof(PGCDC_PUBLICATION_MARK) - 1) == 0;
}

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

/* Quoted "schema"."table" names, in the order they were added. */
struct name_list {
    char **v;   /* the names, malloc'd */
    size_t n;   /* names in v */
    size_t cap; /* room in v */
};


/* Appends name (malloc'd; owned by the list on success). */
static int names_add_owned(struct name_list *l, char *name)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof(*v));

        if (v == NULL)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = name;
    return 0;
}

static bool names_has(const struct name_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], name) == 0)
            return true;
    return false;
}

/* Appends a copy of every name of from to to. */
static int names_copy(const struct name_list *from, struct name_list *to)
{
    for (size_t i = 0; i < from->n; i++) {
        char *copy = strdup(from->v[i]);

        if (copy == NULL || names_add_owned(to, copy) < 0) {
            free(copy);
            return -ENOMEM;
        }
    }
    return 0;
}

/* True when a and b hold the same names, in any order. */
static bool same_names(const struct name_list *a, const struct name_list *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!names_has(b, a->v[i]))
            return false;
    return true;
}

/* Appends the quoted "nsp"."rel". */
static int names_add(struct pgcdc_stream *s, struct name_list *l, const char *nsp,
                     const char *rel)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;

    /* A NUL-terminated string from here on: the list owns the bytes. */
    if (append_qualified(s, &b, nsp, rel) < 0 || names_add_owned(l, b.data) < 0) {
        pgcdc_buf_free(&b);
        return -ENOMEM;
    }
    return 0;
}

static void names_free(struct name_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* The names of l (or of those of l missing from other, when other is not
 * NULL) joined by ", " into out. */
static int names_join(const struct name_list *l, const struct name_list *other,
                      struct pgcdc_buf *out)
{
    size_t k = 0;

    for (size_t i = 0; i < l->n; i++) {
        if (other != NULL && names_has(other, l->v[i]))
            continue;
        if ((k++ > 0 && pgcdc_buf_append(out, ", ", 2)) ||
            pgcdc_buf_append(out, l->v[i], strlen(l->v[i])))
            return -ENOMEM;
    }
    return pgcdc_buf_append_char(out, '\0') ? -ENOMEM : (int)k;
}

/* The tables that pass the filters (want), and of those the ones without a
 * usable replica identity (keyless), which UPDATE and DELETE would fail on
 * once published. */
static int filtered_tables(struct pgcdc_stream *s, pgcdc_publication_filter_fn filter, void *arg,
                           struct name_list *want, struct name_list *keyless, char *err,
                           size_t errlen)
{
    void *resv = NULL;
    PGresult *res;
    int rc;

    rc = pgcdc_stream_query(s,
                            "SELECT n.nspname, c.relname, c.relreplident, "
                            "EXISTS (SELECT 1 FROM pg_catalog.pg_index i "
                            "WHERE i.indrelid = c.oid AND i.indisprimary), "
                            "EXISTS (SELECT 1 FROM pg_catalog.pg_index i "
                            "WHERE i.indrelid = c.oid AND i.indisreplident AND i.indisvalid) "
                            "FROM pg_catalog.pg_class c "
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
        struct pgcdc_inspect_table t = {
            .replident = PQgetvalue(res, i, 2)[0],
            .has_pk = strcmp(PQgetvalue(res, i, 3), "t") == 0,
            .ident_index = strcmp(PQgetvalue(res, i, 4), "t") == 0,
        };
        int in = filter(arg, nsp, rel, NULL, err, errlen);

        if (in < 0) {
            PQclear(res);
            return in == -E2BIG ? -PGCDC_ECONFIG : in;
        }
        if (in == 0)
            continue;
        if (names_add(s, want, nsp, rel) < 0 ||
            (!pgcdc_inspect_table_has_identity(&t) && names_add(s, keyless, nsp, rel) < 0)) {
            PQclear(res);
            snprintf(err, errlen, "table name too long or out of memory");
            return -ENOMEM;
        }
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

/* What the publication is now. */
struct pub_state {
    bool exists;     /* it exists */
    bool all_tables; /* FOR ALL TABLES */
    bool via_root;   /* publish_via_partition_root */
    bool marked;     /* created by pgcdc (its comment carries the mark) */
    bool partitions; /* it publishes a partition under the partition's own name */
};

/* The publication's state and current tables (quoted as filtered_tables
 * quotes them). */
static int current_tables(struct pgcdc_stream *s, const char *publit, struct pub_state *st,
                          struct name_list *have, char *err, size_t errlen)
{
    char sql[1536];
    void *resv = NULL;
    PGresult *res;
    int rc;

    /* pubviaroot exists from PostgreSQL 13 on. pg_publication_tables lists
     * the partitions themselves when their changes go out under their own
     * names. */
    snprintf(sql, sizeof(sql),
             "SELECT p.puballtables, %s, pg_catalog.obj_description(p.oid, 'pg_publication'), "
             "EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables pt "
             "JOIN pg_catalog.pg_namespace n ON n.nspname = pt.schemaname "
             "JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename "
             "WHERE pt.pubname = p.pubname AND c.relispartition) "
             "FROM pg_catalog.pg_publication p WHERE p.pubname = %s",
             via_root_supported(s) ? "p.pubviaroot" : "true", publit);
    rc = pgcdc_stream_query(s, sql, &resv, err, errlen);
    if (rc < 0)
        return rc;
    res = resv;
    memset(st, 0, sizeof(*st));
    st->exists = PQntuples(res) == 1;
    if (st->exists) {
        st->all_tables = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        st->via_root = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        st->marked = !PQgetisnull(res, 0, 2) && pgcdc_publication_is_marked(PQgetvalue(res, 0, 2));
        st->partitions = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    }
    PQclear(res);
    if (!st->exists || st->all_tables)
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
        if (names_add(s, have, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)) < 0) {
            PQclear(res);
            return -ENOMEM;
        }
    }
    PQclear(res);
    return 0;
}

/* Column lists are part of a publication from PostgreSQL 15 on. */
static bool column_lists_supported(struct pgcdc_stream *s)
{
    return pgcdc_stream_server(s)->version_num >= 150000;
}

/* A table being gathered into an entry "schema"."table" ("a", "b"). */
struct cols_entry {
    struct pgcdc_buf cols; /* the quoted columns of the list, ", "-joined */
    bool all;              /* every column is in it: no list needed */
    bool forced;           /* columns the filters leave out stay in for the identity */
};

/* Appends the entry for one table to out: its quoted name, and its column
 * list unless it holds every column. */
static int cols_entry_finish(struct pgcdc_stream *s, struct name_list *out, const char *nsp,
                             const char *rel, struct cols_entry *e)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;

    if (append_qualified(s, &b, nsp, rel) < 0 ||
        (!e->all && e->cols.len > 0 &&
         (pgcdc_buf_append(&b, " (", 2) || pgcdc_buf_append(&b, e->cols.data, e->cols.len) ||
          pgcdc_buf_append_char(&b, ')'))) ||
        names_add_owned(out, b.data) < 0) {
        pgcdc_buf_free(&b);
        return -ENOMEM;
    }
    return 0;
}

/*
 * The entries of the tables in publish, each with the column list the
 * filters call for: the columns filter wants, plus the replica identity's,
 * which PostgreSQL requires in a list of a publication that publishes
 * updates and deletes. A table whose every column is needed (REPLICA
 * IDENTITY FULL needs them all) gets no list: its column filters apply in
 * pgcdc only. Generated columns are never published, nor listed.
 */
static int wanted_with_columns(struct pgcdc_stream *s, pgcdc_publication_filter_fn filter,
                               void *arg,
                               const struct name_list *publish, struct name_list *out,
                               char *err, size_t errlen)
{
    struct cols_entry e = {PGCDC_BUF_INIT, true, false};
    struct pgcdc_buf name = PGCDC_BUF_INIT;
    char cur_nsp[128] = "", cur_rel[128] = "", q[256];
    bool cur_wanted = false, have_cur = false;
    void *resv = NULL;
    PGresult *res;
    int rc;

    rc = pgcdc_stream_query(
        s,
        "SELECT n.nspname, c.relname, a.attname, CASE c.relreplident WHEN 'f' THEN true "
        "WHEN 'd' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid "
        "AND i.indisprimary AND a.attnum = ANY (i.indkey)) "
        "WHEN 'i' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid "
        "AND i.indisreplident AND a.attnum = ANY (i.indkey)) ELSE false END, "
        "a.attgenerated <> '' "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 "
        "AND NOT a.attisdropped AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg\\_%' ORDER BY n.nspname, c.relname, a.attnum",
        &resv, err, errlen);
    if (rc < 0)
        return rc;
    res = resv;
    for (int i = 0; i <= PQntuples(res) && rc == 0; i++) {
        bool last = i == PQntuples(res);
        const char *nsp = last ? "" : PQgetvalue(res, i, 0);
        const char *rel = last ? "" : PQgetvalue(res, i, 1);
        const char *col;
        int in;

        if (last || !have_cur || strcmp(nsp, cur_nsp) != 0 || strcmp(rel, cur_rel) != 0) {
            /* The previous table is complete. */
            if (have_cur && cur_wanted) {
                if (e.all && e.forced)
                    pgcdc_log_info("table '%s.%s': no publication column list, as its replica "
                                   "identity needs every column the column filters leave out; "
                                   "they apply in pgcdc",
                                   cur_nsp, cur_rel);
                else if (!e.all && e.forced)
                    pgcdc_log_info("table '%s.%s': publication column list holds the "
                                   "columns pgcdc captures and the replica identity's",
                                   cur_nsp, cur_rel);
                else if (!e.all)
                    pgcdc_log_info("table '%s.%s': publication column list holds only the "
                                   "columns pgcdc captures",
                                   cur_nsp, cur_rel);
                rc = cols_entry_finish(s, out, cur_nsp, cur_rel, &e);
                if (rc < 0)
                    break;
            }
            if (last)
                break;
            snprintf(cur_nsp, sizeof(cur_nsp), "%s", nsp);
            snprintf(cur_rel, sizeof(cur_rel), "%s", rel);
            have_cur = true;
            pgcdc_buf_reset(&e.cols);
            e.all = true;
            e.forced = false;
            pgcdc_buf_reset(&name);
            rc = append_qualified(s, &name, nsp, rel);
            cur_wanted = rc == 0 && names_has(publish, name.data);
        }
        if (rc < 0 || !cur_wanted)
            continue;
        col = PQgetvalue(res, i, 2);
        if (strcmp(PQgetvalue(res, i, 4), "t") == 0)
            continue; /* generated: never sent, never listed */
        in = filter(arg, nsp, rel, col, err, errlen);
        if (in < 0) {
            rc = in == -E2BIG ? -PGCDC_ECONFIG : in;
            break;
        }
        if (in == 0 && strcmp(PQgetvalue(res, i, 3), "t") == 0) {
            in = 1;
            e.forced = true;
        }
        if (in == 0) {
            e.all = false;
            continue;
        }
        if (pgcdc_stream_quote_ident(s, col, q, sizeof(q)) < 0 ||
            (e.cols.len > 0 && pgcdc_buf_append(&e.cols, ", ", 2)) ||
            pgcdc_buf_append(&e.cols, q, strlen(q)))
            rc = -ENOMEM;
    }
    PQclear(res);
    /* A table without a single column is published whole. */
    for (size_t i = 0; i < publish->n && rc == 0; i++) {
        size_t n = strlen(publish->v[i]);
        bool found = false;

        for (size_t j = 0; j < out->n && !found; j++)
            found = strncmp(out->v[j], publish->v[i], n) == 0 &&
                    (out->v[j][n] == '\0' || out->v[j][n] == ' ');
        if (!found) {
            char *copy = strdup(publish->v[i]);

            if (copy == NULL || names_add_owned(out, copy) < 0) {
                free(copy);
                rc = -ENOMEM;
            }
        }
    }
    pgcdc_buf_free(&e.cols);
    pgcdc_buf_free(&name);
    return rc;
}

/* The publication's tables as entries with their column lists (from
 * pg_publication_rel, so a table without a list has none), as
 * wanted_with_columns() writes them. */
static int current_with_columns(struct pgcdc_stream *s, const char *publit,
                                struct name_list *out, char *err, size_t errlen)
{
    struct cols_entry e = {PGCDC_BUF_INIT, true, false};
    char sql[1024], cur_nsp[128] = "", cur_rel[128] = "", q[256];
    bool have_cur = false;
    void *resv = NULL;
    PGresult *res;
    int rc;

    snprintf(sql, sizeof(sql),
             "SELECT n.nspname, c.relname, a.attname FROM pg_catalog.pg_publication_rel pr "
             "JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid "
             "JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid "
             "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
             "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
             "AND a.attnum = ANY (pr.prattrs) "
             "WHERE p.pubname = %s ORDER BY n.nspname, c.relname, a.attnum",
             publit);
    rc = pgcdc_stream_query(s, sql, &resv, err, errlen);
    if (rc < 0)
        return rc;
    res = resv;
    for (int i = 0; i <= PQntuples(res) && rc == 0; i++) {
        bool last = i == PQntuples(res);
        const char *nsp = last ? "" : PQgetvalue(res, i, 0);
        const char *rel = last ? "" : PQgetvalue(res, i, 1);

        if (last || !have_cur || strcmp(nsp, cur_nsp) != 0 || strcmp(rel, cur_rel) != 0) {
            if (have_cur) {
                e.all = e.cols.len == 0;
                rc = cols_entry_finish(s, out, cur_nsp, cur_rel, &e);
                if (rc < 0)
                    break;
            }
            if (last)
                break;
            snprintf(cur_nsp, sizeof(cur_nsp), "%s", nsp);
            snprintf(cur_rel, sizeof(cur_rel), "%s", rel);
            have_cur = true;
            pgcdc_buf_reset(&e.cols);
        }
        if (PQgetisnull(res, i, 2))
            continue;
        if (pgcdc_stream_quote_ident(s, PQgetvalue(res, i, 2), q, sizeof(q)) < 0 ||
            (e.cols.len > 0 && pgcdc_buf_append(&e.cols, ", ", 2)) ||
            pgcdc_buf_append(&e.cols, q, strlen(q)))
            rc = -ENOMEM;
    }
    PQclear(res);
    pgcdc_buf_free(&e.cols);
    return rc;
}

/* Appends the statement that marks the publication as pgcdc's to sql. */
static int append_mark(struct pgcdc_stream *s, struct pgcdc_buf *sql, const char *ident,
                       const struct pgcdc_config *cfg)
{
    char text[512], lit[600];

    snprintf(text, sizeof(text),
             PGCDC_PUBLICATION_MARK " for slot '%s': pgcdc sets its tables from its table "
             "filters at each start, and 'pgcdc drop' removes it",
             cfg->slot_name);
    if (pgcdc_stream_quote_literal(s, text, lit, sizeof(lit)) < 0)
        return -ENOMEM;
    return pgcdc_buf_appendf(sql, "; COMMENT ON PUBLICATION %s IS %s", ident, lit);
}

/* Tells the user about tables left out for want of a replica identity. */
static void warn_keyless(const struct pgcdc_config *cfg, const struct name_list *keyless)
{
    for (size_t i = 0; i < keyless->n; i++)
        pgcdc_log_warn("table %s has no primary key or replica identity: it is left out of "
                       "publication '%s', because the application's UPDATE and DELETE on a "
                       "published table without one fail; to capture it, give it one (ALTER "
                       "TABLE %s REPLICA IDENTITY FULL, or a primary key) and restart pgcdc, or "
                       "set publication.keyless.tables = include",
                       keyless->v[i], cfg->publication_name, keyless->v[i]);
}

/* A publication pgcdc did not create is used as it is: says where it
 * differs from the filters. */
static int report_foreign(struct pgcdc_stream *s, const struct pgcdc_config *cfg,
                          const struct pub_state *st, pgcdc_publication_filter_fn filter,
                          void *arg, char *err, size_t errlen)
{
    struct name_list want = {0}, keyless = {0}, have = {0};
    struct pgcdc_buf missing = PGCDC_BUF_INIT;
    char lit[300];
    int rc, n;

    if (!st->via_root && st->partitions)
        pgcdc_log_warn("publication '%s' was not created by pgcdc, which leaves it as it is: it "
                       "publishes partitions' changes under the partitions' names, which the "
                       "table filters do not name (ALTER PUBLICATION ... SET "
                       "(publish_via_partition_root = true) fixes that)",
                       cfg->publication_name);
    if (st->all_tables) {
        pgcdc_log_info("publication '%s' publishes all tables; the table filters apply in pgcdc",
                       cfg->publication_name);
        return 0;
    }
    if (pgcdc_stream_quote_literal(s, cfg->publication_name, lit, sizeof(lit)) < 0)
        return -ENOMEM;
    rc = current_tables(s, lit, &(struct pub_state){0}, &have, err, errlen);
    if (rc == 0)
        rc = filtered_tables(s, filter, arg, &want, &keyless, err, errlen);
    if (rc < 0)
        goto out;
    n = names_join(&want, &have, &missing);
    if (n < 0) {
        rc = n;
        goto out;
    }
    if (n > 0)
        pgcdc_log_warn("publication '%s' was not created by pgcdc, which never changes it, and "
                       "it does not publish %d table(s) that the table filters capture, whose "
                       "changes are not captured: %s. Add them as their owner (ALTER "
                       "PUBLICATION ... ADD TABLE), or let pgcdc manage the publication "
                       "(COMMENT ON PUBLICATION ... IS '" PGCDC_PUBLICATION_MARK "')",
                       cfg->publication_name, n, missing.data);
    else
        pgcdc_log_info("publication '%s' was not created by pgcdc, which uses it as it is; it "
                       "publishes every table the filters capture",
                       cfg->publication_name);
out:
    names_free(&want);
    names_free(&keyless);
    names_free(&have);
    pgcdc_buf_free(&missing);
    return rc;
}

int pgcdc_publication_ensure(struct pgcdc_stream *s, const struct pgcdc_config *cfg,
                             pgcdc_publication_filter_fn filter, void *arg, char *err,
                             size_t errlen)
{
    struct name_list want = {0}, keyless = {0}, have = {0}, *publish = &want;
    struct name_list published = {0}, publish_cols = {0}, have_cols = {0}, *compare_have = &have;
    struct pgcdc_buf list = PGCDC_BUF_INIT, sql = PGCDC_BUF_INIT;
    char ident[256], lit[300];
    const char *with = via_root_supported(s) ? " WITH (publish_via_partition_root = true)" : "";
    bool include_keyless = cfg->keyless_tables == PGCDC_CONFIG_KEYLESS_INCLUDE;
    struct pub_state st;
    int count = 0, rc;

    if (pgcdc_stream_quote_ident(s, cfg->publication_name, ident, sizeof(ident)) < 0 ||
        pgcdc_stream_quote_literal(s, cfg->publication_name, lit, sizeof(lit)) < 0) {
        snprintf(err, errlen, "publication name '%s' cannot be quoted", cfg->publication_name);
        return -EINVAL;
    }
    rc = current_tables(s, lit, &st, &have, err, errlen);
    if (rc < 0)
        goto out;

    if (st.exists && !st.marked) {
        /* Someone else's: other consumers may share it. */
        rc = report_foreign(s, cfg, &st, filter, arg, err, errlen);
        goto out;
    }
    switch (cfg->autocreate) {
    case PGCDC_CONFIG_AUTOCREATE_DISABLED:
        if (!st.exists) {
            snprintf(err, errlen,
                     "publication '%s' does not exist and publication.autocreate.mode is "
                     "'disabled': create it (CREATE PUBLICATION) or change the mode",
                     cfg->publication_name);
            rc = -ENOENT;
        }
        goto out;
    case PGCDC_CONFIG_AUTOCREATE_NO_TABLES:
        /* Debezium's no_tables: a publication without tables, which its
         * owner fills (ALTER PUBLICATION ... ADD TABLE); pgcdc does not
         * mark it, so it never changes it afterwards. */
        if (!st.exists) {
            rc = pgcdc_buf_appendf(&sql, "CREATE PUBLICATION %s%s", ident, with);
            if (rc == 0)
                rc = run_ddl(s, cfg, sql.data, err, errlen);
            if (rc < 0)
                goto out;
            pgcdc_log_info("created publication '%s' without tables: add the tables to capture "
                           "with ALTER PUBLICATION %s ADD TABLE ...",
                           cfg->publication_name, ident);
        }
        goto out;
    case PGCDC_CONFIG_AUTOCREATE_ALL_TABLES:
        if (!st.exists) {
            rc = filtered_tables(s, filter, arg, &want, &keyless, err, errlen);
            if (rc == 0)
                rc = pgcdc_buf_appendf(&sql, "CREATE PUBLICATION %s FOR ALL TABLES%s", ident,
                                       with);
            if (rc == 0)
                rc = append_mark(s, &sql, ident, cfg);
            if (rc == 0)
                rc = run_ddl(s, cfg, sql.data, err, errlen);
            if (rc < 0)
                goto out;
            pgcdc_log_info("created publication '%s' for all tables", cfg->publication_name);
            for (size_t i = 0; i < keyless.n; i++)
                pgcdc_log_warn("table %s has no primary key or replica identity, and publication "
                               "'%s' publishes all tables: the application's UPDATE and DELETE "
                               "on it now fail; give it one (ALTER TABLE %s REPLICA IDENTITY "
                               "FULL, or a primary key), or use publication.autocreate.mode = "
                               "filtered, which leaves such tables out",
                               keyless.v[i], cfg->publication_name, keyless.v[i]);
        }
        goto out;
    case PGCDC_CONFIG_AUTOCREATE_FILTERED:
        break;
    }

    if (st.exists && !st.via_root) {
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
    if (st.exists && st.all_tables) {
        pgcdc_log_info("publication '%s' publishes all tables; the table filters apply in pgcdc",
                       cfg->publication_name);
        goto out;
    }
    rc = filtered_tables(s, filter, arg, &want, &keyless, err, errlen);
    if (rc < 0)
        goto out;
    if (!include_keyless && keyless.n > 0) {
        /* The tables to publish: those with a replica identity. */
        for (size_t i = 0; i < want.n && rc == 0; i++)
            if (!names_has(&keyless, want.v[i])) {
                char *copy = strdup(want.v[i]);

                if (copy == NULL || names_add_owned(&published, copy) < 0) {
                    free(copy);
                    rc = -ENOMEM;
                }
            }
        if (rc < 0)
            goto out;
        publish = &published;
        warn_keyless(cfg, &keyless);
    }
    count = (int)publish->n;
    if (column_lists_supported(s)) {
        /* Compared with the column lists, so that lists appear, change
         * and go as publication.column.lists and the filters say. */
        if (cfg->column_lists)
            rc = wanted_with_columns(s, filter, arg, publish, &publish_cols, err, errlen);
        else
            rc = names_copy(publish, &publish_cols);
        if (rc == 0 && st.exists)
            rc = current_with_columns(s, lit, &have_cols, err, errlen);
        if (rc < 0)
            goto out;
        publish = &publish_cols;
        compare_have = &have_cols;
    } else if (cfg->column_lists) {
        pgcdc_log_info("publication.column.lists: PostgreSQL %d has no column lists (15 and "
                       "later do); the column filters apply in pgcdc",
                       pgcdc_stream_server(s)->version_num / 10000);
    }
    rc = names_join(publish, NULL, &list);
    if (rc < 0)
        goto out;
    rc = 0;
    if (count == 0) {
        pgcdc_log_warn("no table to publish passes the table filters; publication '%s' %s",
                       cfg->publication_name,
                       !st.exists ? "is created empty" : have.n > 0 ? "is emptied" : "stays empty");
        if (!st.exists) {
            rc = pgcdc_buf_appendf(&sql, "CREATE PUBLICATION %s%s", ident, with);
        } else if (have.n > 0) {
            pgcdc_buf_reset(&list);
            rc = names_join(&have, NULL, &list);
            if (rc >= 0)
                rc = pgcdc_buf_appendf(&sql, "ALTER PUBLICATION %s DROP TABLE %s", ident,
                                       list.data);
        }
    } else if (!st.exists) {
        rc = pgcdc_buf_appendf(&sql, "CREATE PUBLICATION %s FOR TABLE %s%s", ident, list.data,
                               with);
    } else if (!same_names(compare_have, publish)) {
        rc = pgcdc_buf_appendf(&sql, "ALTER PUBLICATION %s SET TABLE %s", ident, list.data);
    }
    if (rc == 0 && !st.exists)
        rc = append_mark(s, &sql, ident, cfg);
    if (rc == 0 && sql.len > 0) {
        rc = run_ddl(s, cfg, sql.data, err, errlen);
        if (rc == 0)
            pgcdc_log_info("%s publication '%s' for %d table(s)", st.exists ? "updated" : "created",
                           cfg->publication_name, count);
    }

out:
    if (rc == -ENOMEM)
        snprintf(err, errlen, "out of memory while preparing publication '%s'",
                 cfg->publication_name);
    names_free(&want);
    names_free(&keyless);
    names_free(&have);
    names_free(&published);
    names_free(&publish_cols);
    names_free(&have_cols);
    pgcdc_buf_free(&list);
    pgcdc_buf_free(&sql);
    return rc;
}
