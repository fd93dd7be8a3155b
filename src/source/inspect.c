/*
 * inspect.c - read-only facts about the server (see inspect.h).
 *
 * Every query reads catalogs and views that any role may read
 * (pg_settings, pg_roles, pg_replication_slots, pg_publication,
 * pg_class), with parameters passed out of line, so a name is never
 * spliced into SQL. Columns that older servers lack are replaced by
 * constants in the text sent to them.
 */
#include "pgcdc/inspect.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/pq.h"
#include "pgcdc/publication.h"

/* Runs sql with up to one parameter; *res holds rows on success. */
static int query(PGconn *conn, const char *sql, const char *param, const char *what,
                 PGresult **res, char *err, size_t errlen)
{
    const char *params[1] = {param};
    PGresult *r = PQexecParams(conn, sql, param ? 1 : 0, NULL, param ? params : NULL, NULL,
                               NULL, 0);

    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int rc = pgcdc_pq_result_errno(conn, r);

        pgcdc_pq_result_error(conn, r, what, err, errlen);
        PQclear(r);
        return rc;
    }
    *res = r;
    return 0;
}

static bool is_true(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && strcmp(PQgetvalue(r, row, col), "t") == 0;
}

static long long as_ll(const PGresult *r, int row, int col, long long null_value)
{
    return PQgetisnull(r, row, col) ? null_value : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void copy_text(char *dst, size_t n, const PGresult *r, int row, int col)
{
    snprintf(dst, n, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

int pgcdc_inspect_server(PGconn *conn, struct pgcdc_inspect_server *out, char *err,
                         size_t errlen)
{
    static const char sql[] =
        "SELECT pg_catalog.current_setting('wal_level'), "
        "pg_catalog.current_setting('max_replication_slots')::int, "
        "(SELECT count(*) FROM pg_catalog.pg_replication_slots), "
        "pg_catalog.current_setting('max_wal_senders')::int, "
        "(SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'walsender'), "
        "(SELECT setting FROM pg_catalog.pg_settings WHERE name = 'max_slot_wal_keep_size'), "
        "pg_catalog.pg_is_in_recovery()";
    PGresult *r;
    int rc;

    memset(out, 0, sizeof(*out));
    out->version_num = PQserverVersion(conn);
    rc = query(conn, sql, NULL, "cannot read the server's settings", &r, err, errlen);
    if (rc < 0)
        return rc;
    copy_text(out->wal_level, sizeof(out->wal_level), r, 0, 0);
    out->max_replication_slots = (int)as_ll(r, 0, 1, 0);
    out->slots_used = (int)as_ll(r, 0, 2, 0);
    out->max_wal_senders = (int)as_ll(r, 0, 3, 0);
    out->senders_used = (int)as_ll(r, 0, 4, 0);
    out->keep_size_mb = as_ll(r, 0, 5, -1);
    out->in_recovery = is_true(r, 0, 6);
    PQclear(r);
    return 0;
}

int pgcdc_inspect_role(PGconn *conn, struct pgcdc_inspect_role *out, char *err, size_t errlen)
{
    static const char sql[] =
        "SELECT r.rolname, r.rolsuper, r.rolreplication, "
        "COALESCE((SELECT pg_catalog.pg_has_role(r.oid, m.oid, 'MEMBER') "
        "FROM pg_catalog.pg_roles m WHERE m.rolname = 'rds_replication'), false), "
        "pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE') "
        "FROM pg_catalog.pg_roles r WHERE r.rolname = current_user";
    PGresult *r;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = query(conn, sql, NULL, "cannot read the role's attributes", &r, err, errlen);
    if (rc < 0)
        return rc;
    if (PQntuples(r) == 1) {
        copy_text(out->name, sizeof(out->name), r, 0, 0);
        out->superuser = is_true(r, 0, 1);
        out->replication = is_true(r, 0, 2);
        out->rds_replication = is_true(r, 0, 3);
        out->create_on_db = is_true(r, 0, 4);
    }
    PQclear(r);
    return 0;
}

int pgcdc_inspect_slot(PGconn *conn, const char *slot, struct pgcdc_inspect_slot *out,
                       char *err, size_t errlen)
{
    char sql[1024];
    bool v13 = PQserverVersion(conn) >= 130000;
    PGresult *r;
    int rc;

    memset(out, 0, sizeof(*out));
    out->retained_bytes = -1;
    out->safe_wal_bytes = -1;
    snprintf(sql, sizeof(sql),
             "SELECT s.slot_type, s.plugin, s.database, s.active, s.active_pid, %s, "
             "pg_catalog.pg_wal_lsn_diff(CASE WHEN pg_catalog.pg_is_in_recovery() "
             "THEN pg_catalog.pg_last_wal_replay_lsn() ELSE pg_catalog.pg_current_wal_lsn() "
             "END, s.restart_lsn)::bigint, %s, pg_catalog.current_database() "
             "FROM (SELECT 1) one LEFT JOIN pg_catalog.pg_replication_slots s "
             "ON s.slot_name = $1",
             v13 ? "s.wal_status" : "NULL::text", v13 ? "s.safe_wal_size" : "NULL::bigint");
    rc = query(conn, sql, slot, "cannot read the replication slots", &r, err, errlen);
    if (rc < 0)
        return rc;
    copy_text(out->current_database, sizeof(out->current_database), r, 0, 8);
    if (!PQgetisnull(r, 0, 0)) {
        out->exists = true;
        copy_text(out->slot_type, sizeof(out->slot_type), r, 0, 0);
        copy_text(out->plugin, sizeof(out->plugin), r, 0, 1);
        copy_text(out->database, sizeof(out->database), r, 0, 2);
        out->active = is_true(r, 0, 3);
        out->active_pid = (int)as_ll(r, 0, 4, 0);
        copy_text(out->wal_status, sizeof(out->wal_status), r, 0, 5);
        out->retained_bytes = as_ll(r, 0, 6, -1);
        out->safe_wal_bytes = as_ll(r, 0, 7, -1);
    }
    PQclear(r);
    return 0;
}

int pgcdc_inspect_publication(PGconn *conn, const char *publication,
                              struct pgcdc_inspect_publication *out, char *err, size_t errlen)
{
    char sql[768];
    PGresult *r;
    int rc;

    memset(out, 0, sizeof(*out));
    snprintf(sql, sizeof(sql),
             "SELECT p.puballtables, %s, p.pubinsert, p.pubupdate, p.pubdelete, "
             "pg_catalog.pg_get_userbyid(p.pubowner), "
             "pg_catalog.obj_description(p.oid, 'pg_publication') "
             "FROM pg_catalog.pg_publication p WHERE p.pubname = $1",
             PQserverVersion(conn) >= 130000 ? "p.pubviaroot" : "true");
    rc = query(conn, sql, publication, "cannot read the publications", &r, err, errlen);
    if (rc < 0)
        return rc;
    if (PQntuples(r) == 1) {
        out->exists = true;
        out->all_tables = is_true(r, 0, 0);
        out->via_root = is_true(r, 0, 1);
        out->inserts = is_true(r, 0, 2);
        out->updates = is_true(r, 0, 3);
        out->deletes = is_true(r, 0, 4);
        copy_text(out->owner, sizeof(out->owner), r, 0, 5);
        out->marked = !PQgetisnull(r, 0, 6) && pgcdc_publication_is_marked(PQgetvalue(r, 0, 6));
    }
    PQclear(r);
    return 0;
}

int pgcdc_inspect_tables(PGconn *conn, const char *publication,
                         struct pgcdc_inspect_table **out, size_t *count, char *err,
                         size_t errlen)
{
    static const char sql[] =
        "SELECT c.oid, n.nspname, c.relname, c.relreplident, "
        "EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid "
        "AND i.indisprimary), "
        "EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid "
        "AND i.indisreplident AND i.indisvalid), "
        "c.relkind = 'p', "
        "pg_catalog.has_table_privilege(c.oid, 'SELECT'), "
        "pg_catalog.pg_has_role(c.relowner, 'USAGE'), "
        "EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables pt WHERE pt.pubname = $1 "
        "AND pt.schemaname = n.nspname AND pt.tablename = c.relname) "
        "FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 2, 3";
    struct pgcdc_inspect_table *t;
    PGresult *r;
    int rc, n;

    *out = NULL;
    *count = 0;
    rc = query(conn, sql, publication, "cannot list the tables", &r, err, errlen);
    if (rc < 0)
        return rc;
    n = PQntuples(r);
    t = calloc(n > 0 ? (size_t)n : 1, sizeof(*t));
    if (t == NULL) {
        PQclear(r);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        t[i].oid = (uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10);
        copy_text(t[i].schema, sizeof(t[i].schema), r, i, 1);
        copy_text(t[i].name, sizeof(t[i].name), r, i, 2);
        t[i].replident = PQgetvalue(r, i, 3)[0];
        t[i].has_pk = is_true(r, i, 4);
        t[i].ident_index = is_true(r, i, 5);
        t[i].partitioned = is_true(r, i, 6);
        t[i].can_select = is_true(r, i, 7);
        t[i].owned = is_true(r, i, 8);
        t[i].in_publication = is_true(r, i, 9);
    }
    PQclear(r);
    *out = t;
    *count = (size_t)n;
    return 0;
}

bool pgcdc_inspect_table_has_identity(const struct pgcdc_inspect_table *t)
{
    switch (t->replident) {
    case 'f':
        return true;
    case 'd':
        return t->has_pk;
    case 'i':
        return t->ident_index;
    default:
        return false;
    }
}

void pgcdc_inspect_format_bytes(long long bytes, char *out, size_t outlen)
{
    static const char *const units[] = {"bytes", "kB", "MB", "GB", "TB", "PB"};
    double v = (double)bytes;
    size_t u = 0;

    if (bytes < 0) {
        snprintf(out, outlen, "unknown");
        return;
    }
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(out, outlen, "%lld bytes", bytes);
    else
        snprintf(out, outlen, "%.1f %s", v, units[u]);
}
