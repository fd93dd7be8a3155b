/*
 * check.c - `pgcdc check`: a preflight report (see check.h).
 *
 * Order of the report: the connection, the server's settings, the role,
 * the replication connection, the publication, the slot and the WAL it
 * retains, the captured tables, then Kafka and the schema registry. A step
 * that cannot be reached (no connection) is reported once and the steps
 * that need it are left out; the others still run, so one run shows
 * everything a person has to fix.
 *
 * The session is made read-only before the first query, and every query
 * only reads catalogs and views: running check changes nothing.
 *
 * Which tables are captured, and which a publication pgcdc manages would
 * publish, is decided as publication.c decides it: the table filters, and
 * in filtered mode only tables with a usable replica identity unless
 * publication.keyless.tables = include.
 */
#include "pgcdc/check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pgcdc/config.h"
#include "pgcdc/filter.h"
#include "pgcdc/inspect.h"
#include "pgcdc/pipeline.h"
#include "pgcdc/pq.h"
#include "pgcdc/publication.h"
#include "pgcdc/registry.h"

/* Fills a line; fix may be NULL. */
static void line_set(struct pgcdc_check_line *l, enum pgcdc_check_status st, const char *what,
                     const char *fix, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void line_set(struct pgcdc_check_line *l, enum pgcdc_check_status st, const char *what,
                     const char *fix, const char *fmt, ...)
{
    va_list ap;

    l->status = st;
    snprintf(l->what, sizeof(l->what), "%s", what);
    va_start(ap, fmt);
    vsnprintf(l->detail, sizeof(l->detail), fmt, ap);
    va_end(ap);
    snprintf(l->fix, sizeof(l->fix), "%s", fix ? fix : "");
}

void pgcdc_check_print(const struct pgcdc_check_line *l, FILE *out)
{
    static const char *const names[] = {"OK", "WARN", "FAIL"};

    fprintf(out, "%-4s  %s: %s", names[l->status], l->what, l->detail);
    if (l->fix[0] != '\0')
        fprintf(out, "; fix: %s", l->fix);
    fputc('\n', out);
}

/* ---- judging facts (pure) ---- */

void pgcdc_check_wal_level(const char *wal_level, struct pgcdc_check_line *out)
{
    if (strcmp(wal_level, "logical") == 0) {
        line_set(out, PGCDC_CHECK_OK, "wal_level", NULL, "logical");
        return;
    }
    line_set(out, PGCDC_CHECK_FAIL, "wal_level",
             "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL (a reload is not "
             "enough). Amazon RDS and Aurora: set rds.logical_replication = 1 in the parameter "
             "group and reboot; Cloud SQL: set the flag cloudsql.logical_decoding = on; Azure: "
             "set the server parameter wal_level = logical and restart",
             "'%s', and logical decoding needs 'logical'; changing it needs a server restart",
             wal_level);
}

void pgcdc_check_slots(const struct pgcdc_inspect_server *s, bool slot_exists,
                       struct pgcdc_check_line *out)
{
    char fix[256];
    int free_slots = s->max_replication_slots - s->slots_used;

    if (slot_exists) {
        line_set(out, PGCDC_CHECK_OK, "max_replication_slots", NULL,
                 "%d of %d in use, pgcdc's slot among them", s->slots_used,
                 s->max_replication_slots);
        return;
    }
    if (free_slots > 0) {
        line_set(out, PGCDC_CHECK_OK, "max_replication_slots", NULL,
                 "%d of %d in use: pgcdc's slot fits", s->slots_used, s->max_replication_slots);
        return;
    }
    snprintf(fix, sizeof(fix),
             "ALTER SYSTEM SET max_replication_slots = %d; then restart PostgreSQL (or drop an "
             "unused slot: SELECT pg_drop_replication_slot('name'))",
             s->slots_used + 1 > s->max_replication_slots + 1 ? s->slots_used + 1
                                                              : s->max_replication_slots + 1);
    line_set(out, PGCDC_CHECK_FAIL, "max_replication_slots", fix,
             "%d of %d in use: no slot is free for pgcdc's; changing it needs a server restart",
             s->slots_used, s->max_replication_slots);
}

void pgcdc_check_senders(const struct pgcdc_inspect_server *s, struct pgcdc_check_line *out)
{
    char fix[192];

    if (s->max_wal_senders - s->senders_used > 0) {
        line_set(out, PGCDC_CHECK_OK, "max_wal_senders", NULL,
                 "%d of %d in use: pgcdc's replication connection fits", s->senders_used,
                 s->max_wal_senders);
        return;
    }
    snprintf(fix, sizeof(fix), "ALTER SYSTEM SET max_wal_senders = %d; then restart PostgreSQL",
             s->senders_used + 1 > s->max_wal_senders + 1 ? s->senders_used + 1
                                                          : s->max_wal_senders + 1);
    line_set(out, PGCDC_CHECK_FAIL, "max_wal_senders", fix,
             "%d of %d in use: no WAL sender is free for pgcdc's replication connection; "
             "changing it needs a server restart",
             s->senders_used, s->max_wal_senders);
}

void pgcdc_check_role(const struct pgcdc_inspect_role *r, struct pgcdc_check_line *out)
{
    char fix[512];

    if (r->superuser) {
        line_set(out, PGCDC_CHECK_OK, "role", NULL, "'%s' is a superuser", r->name);
        return;
    }
    if (r->replication) {
        line_set(out, PGCDC_CHECK_OK, "role", NULL, "'%s' has the REPLICATION attribute",
                 r->name);
        return;
    }
    if (r->rds_replication) {
        line_set(out, PGCDC_CHECK_OK, "role", NULL,
                 "'%s' is a member of rds_replication (Amazon RDS and Aurora's equivalent of "
                 "the REPLICATION attribute)",
                 r->name);
        return;
    }
    snprintf(fix, sizeof(fix),
             "ALTER ROLE \"%s\" REPLICATION (as a superuser). Amazon RDS and Aurora: GRANT "
             "rds_replication TO \"%s\"; Cloud SQL, AlloyDB and Azure: ALTER ROLE \"%s\" "
             "REPLICATION as the service's admin user",
             r->name, r->name, r->name);
    line_set(out, PGCDC_CHECK_FAIL, "role", fix,
             "'%s' has neither the REPLICATION attribute nor a managed service's equivalent: "
             "it cannot open a replication connection",
             r->name);
}

void pgcdc_check_slot(const struct pgcdc_inspect_slot *s, const char *slot_name,
                      struct pgcdc_check_line *out)
{
    char fix[384];

    if (!s->exists) {
        line_set(out, PGCDC_CHECK_OK, "slot", NULL,
                 "'%s' does not exist yet: pgcdc creates it at its first start", slot_name);
        return;
    }
    snprintf(fix, sizeof(fix),
             "set another 'slot.name', or drop this slot if nothing uses it: SELECT "
             "pg_drop_replication_slot('%s')",
             slot_name);
    if (strcmp(s->slot_type, "logical") != 0 || strcmp(s->plugin, "pgoutput") != 0) {
        line_set(out, PGCDC_CHECK_FAIL, "slot", fix,
                 "'%s' is a %s slot with plugin '%s', and pgcdc needs a logical slot using "
                 "'pgoutput'",
                 slot_name, s->slot_type, s->plugin[0] ? s->plugin : "none");
        return;
    }
    if (strcmp(s->database, s->current_database) != 0) {
        line_set(out, PGCDC_CHECK_FAIL, "slot", fix,
                 "'%s' belongs to database '%s', not to '%s'", slot_name, s->database,
                 s->current_database);
        return;
    }
    if (strcmp(s->wal_status, "lost") == 0) {
        line_set(out, PGCDC_CHECK_FAIL, "slot",
                 "pgcdc drop -c FILE, delete the position file (offset.storage.file.filename), "
                 "then start pgcdc again: it creates a new slot",
                 "'%s' was invalidated (wal_status 'lost'): the WAL it needed was removed, "
                 "and changes since pgcdc last ran are lost",
                 slot_name);
        return;
    }
    if (s->active) {
        snprintf(fix, sizeof(fix),
                 "if no pgcdc should be running on this slot, stop the client of server "
                 "process %d (SELECT pg_terminate_backend(%d))",
                 s->active_pid, s->active_pid);
        line_set(out, PGCDC_CHECK_WARN, "slot", fix,
                 "'%s' is in use by server process %d: a second pgcdc on it would not start",
                 slot_name, s->active_pid);
        return;
    }
    line_set(out, PGCDC_CHECK_OK, "slot", NULL, "'%s' exists, logical, pgoutput, not in use",
             slot_name);
}

void pgcdc_check_retained(const struct pgcdc_inspect_slot *s,
                          const struct pgcdc_inspect_server *srv, struct pgcdc_check_line *out)
{
    char kept[32], safe[32], limit[64], detail[256];

    pgcdc_inspect_format_bytes(s->retained_bytes, kept, sizeof(kept));
    if (srv->keep_size_mb < 0)
        snprintf(limit, sizeof(limit), "max_slot_wal_keep_size unlimited");
    else
        snprintf(limit, sizeof(limit), "max_slot_wal_keep_size %lld MB", srv->keep_size_mb);
    snprintf(detail, sizeof(detail), "the slot retains %s of WAL (wal_status '%s', %s)", kept,
             s->wal_status[0] ? s->wal_status : "unknown", limit);
    if (strcmp(s->wal_status, "unreserved") == 0) {
        pgcdc_inspect_format_bytes(s->safe_wal_bytes, safe, sizeof(safe));
        line_set(out, PGCDC_CHECK_WARN, "retained WAL",
                 "start pgcdc so that it catches up and confirms its position; or raise "
                 "max_slot_wal_keep_size (ALTER SYSTEM SET max_slot_wal_keep_size = '...'; "
                 "SELECT pg_reload_conf())",
                 "%s: the server will invalidate the slot once it falls %s further behind", detail,
                 safe);
        return;
    }
    if (strcmp(s->wal_status, "extended") == 0) {
        line_set(out, PGCDC_CHECK_WARN, "retained WAL",
                 "start pgcdc so that it catches up and confirms its position",
                 "%s: beyond max_wal_size", detail);
        return;
    }
    line_set(out, PGCDC_CHECK_OK, "retained WAL", NULL, "%s", detail);
}

void pgcdc_check_table_identity(const struct pgcdc_inspect_table *t, const char *publication,
                                bool published, struct pgcdc_check_line *out)
{
    char fix[640], what[160];

    snprintf(what, sizeof(what), "table %s.%s", t->schema, t->name);
    snprintf(fix, sizeof(fix),
             "ALTER TABLE \"%s\".\"%s\" REPLICA IDENTITY FULL (or give it a primary key: ALTER "
             "TABLE \"%s\".\"%s\" ADD PRIMARY KEY (...), or REPLICA IDENTITY USING INDEX on a "
             "unique index of NOT NULL columns)",
             t->schema, t->name, t->schema, t->name);
    if (published)
        line_set(out, PGCDC_CHECK_FAIL, what, fix,
                 "no primary key or replica identity, and publication '%s' publishes it: the "
                 "application's UPDATE and DELETE on it fail (\"cannot update table ... because "
                 "it does not have a replica identity\")",
                 publication);
    else
        line_set(out, PGCDC_CHECK_WARN, what, fix,
                 "no primary key or replica identity: pgcdc leaves it out of publication '%s' "
                 "(UPDATE and DELETE on a published table without one fail), so its changes "
                 "are not captured (publication.keyless.tables = include publishes it anyway)",
                 publication);
}

/* ---- running the checks ---- */

/* A run: where lines go and how many failed. */
struct run {
    const struct pgcdc_config *cfg; /* what is checked */
    pgcdc_check_report_fn fn;       /* receives the lines */
    void *arg;                      /* fn's argument */
    int fails;                      /* FAIL lines so far */
};

static void emit(struct run *r, const struct pgcdc_check_line *l)
{
    if (l->status == PGCDC_CHECK_FAIL)
        r->fails++;
    r->fn(r->arg, l);
}

static void report(struct run *r, enum pgcdc_check_status st, const char *what, const char *fix,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void report(struct run *r, enum pgcdc_check_status st, const char *what, const char *fix,
                   const char *fmt, ...)
{
    struct pgcdc_check_line l;
    va_list ap;

    l.status = st;
    snprintf(l.what, sizeof(l.what), "%s", what);
    va_start(ap, fmt);
    vsnprintf(l.detail, sizeof(l.detail), fmt, ap);
    va_end(ap);
    snprintf(l.fix, sizeof(l.fix), "%s", fix ? fix : "");
    emit(r, &l);
}

/* Opens an ordinary connection (replication: a replication one) the way
 * pgcdc does; *sqlstate gets the server's refusal code, if any. */
static int open_conn(const struct pgcdc_config *cfg, bool replication, PGconn **conn,
                     char sqlstate[6], char *err, size_t errlen)
{
    const char *const keys[] = {"dbname", "fallback_application_name",
                                replication ? "replication" : NULL, NULL};
    const char *const vals[] = {cfg->database_dsn, "pgcdc-check", "database", NULL};

    return pgcdc_pq_connect(conn, keys, vals, cfg->connect_timeout_ms, NULL,
                            replication ? "cannot open a replication connection"
                                        : "cannot connect to PostgreSQL",
                            sqlstate, err, errlen);
}

/* The fix for a refused connection, by SQLSTATE. */
static const char *connect_fix(const char *sqlstate, bool replication)
{
    if (strcmp(sqlstate, "42501") == 0)
        return "give the role the REPLICATION attribute (see the role line)";
    if (strncmp(sqlstate, "28", 2) == 0)
        return replication ? "allow replication connections for this user in pg_hba.conf (a "
                             "line 'host replication USER ADDRESS METHOD'), then SELECT "
                             "pg_reload_conf(); and check the password"
                           : "check the user and password in 'database.dsn' (or PGPASSWORD, "
                             "the pgpass file) and pg_hba.conf";
    if (strcmp(sqlstate, "3D000") == 0)
        return "set dbname in 'database.dsn' to an existing database";
    return "check host, port and dbname in 'database.dsn' and that the server is up";
}

static void check_replication_conn(struct run *r)
{
    char err[512], sqlstate[6] = "";
    PGconn *conn = NULL;

    if (open_conn(r->cfg, true, &conn, sqlstate, err, sizeof(err)) < 0) {
        report(r, PGCDC_CHECK_FAIL, "replication connection", connect_fix(sqlstate, true), "%s",
               err);
        return;
    }
    PQfinish(conn);
    report(r, PGCDC_CHECK_OK, "replication connection", NULL, "accepted");
}

/* What pgcdc does with the publication, from its state and the mode. */
struct pub_plan {
    bool managed;       /* pgcdc creates or sets its tables (filtered mode, created by pgcdc) */
    bool all_tables;    /* it publishes, or will publish, every table */
    bool creates;       /* pgcdc will create it */
};

static struct pub_plan plan_publication(const struct pgcdc_config *cfg,
                                        const struct pgcdc_inspect_publication *p)
{
    struct pub_plan plan = {0};

    if (!p->exists) {
        plan.creates = cfg->autocreate != PGCDC_CONFIG_AUTOCREATE_DISABLED;
        plan.managed = cfg->autocreate == PGCDC_CONFIG_AUTOCREATE_FILTERED;
        plan.all_tables = cfg->autocreate == PGCDC_CONFIG_AUTOCREATE_ALL_TABLES;
        return plan;
    }
    plan.all_tables = p->all_tables;
    plan.managed = !p->all_tables && p->marked && cfg->autocreate == PGCDC_CONFIG_AUTOCREATE_FILTERED;
    return plan;
}

/* Appends "schema.table" to list (comma-separated), up to its size. */
static void list_add(char *list, size_t len, const struct pgcdc_inspect_table *t)
{
    size_t n = strlen(list);

    if (n + 1 >= len)
        return;
    snprintf(list + n, len - n, "%s\"%s\".\"%s\"", n ? ", " : "", t->schema, t->name);
}

static void check_publication(struct run *r, const struct pgcdc_inspect_role *role,
                              const struct pgcdc_inspect_publication *p,
                              const struct pub_plan *plan,
                              const struct pgcdc_inspect_table *tables, const bool *captured,
                              size_t ntables, const char *dbname)
{
    const struct pgcdc_config *cfg = r->cfg;
    const char *name = cfg->publication_name;
    char fix[768], list[512] = "";
    size_t missing = 0, partitioned = 0;

    for (size_t i = 0; i < ntables; i++) {
        if (!captured[i])
            continue;
        if (tables[i].partitioned)
            partitioned++;
        if (p->exists && !p->all_tables && !tables[i].in_publication &&
            pgcdc_inspect_table_has_identity(&tables[i])) {
            missing++;
            list_add(list, sizeof(list), &tables[i]);
        }
    }
    if (!p->exists) {
        if (cfg->autocreate == PGCDC_CONFIG_AUTOCREATE_DISABLED) {
            snprintf(fix, sizeof(fix),
                     "as the tables' owner or a superuser: CREATE PUBLICATION \"%s\" FOR TABLE "
                     "<the tables to capture> WITH (publish_via_partition_root = true); or set "
                     "publication.autocreate.mode = filtered",
                     name);
            report(r, PGCDC_CHECK_FAIL, "publication", fix,
                   "'%s' does not exist, and publication.autocreate.mode = disabled", name);
        } else if (plan->all_tables && !role->superuser) {
            snprintf(fix, sizeof(fix),
                     "have a superuser run CREATE PUBLICATION \"%s\" FOR ALL TABLES WITH "
                     "(publish_via_partition_root = true), or set publication.autocreate.mode "
                     "= filtered",
                     name);
            report(r, PGCDC_CHECK_FAIL, "publication", fix,
                   "'%s' does not exist, and creating it FOR ALL TABLES needs a superuser",
                   name);
        } else if (!role->create_on_db && !role->superuser) {
            snprintf(fix, sizeof(fix), "GRANT CREATE ON DATABASE \"%s\" TO \"%s\"", dbname,
                     role->name);
            report(r, PGCDC_CHECK_FAIL, "publication", fix,
                   "'%s' does not exist, and '%s' may not create it (no CREATE privilege on "
                   "database '%s')",
                   name, role->name, dbname);
        } else {
            report(r, PGCDC_CHECK_OK, "publication", NULL,
                   "'%s' does not exist yet: pgcdc creates it at its first start (%s)", name,
                   plan->all_tables ? "for all tables" : "for the tables the filters capture");
        }
        return;
    }
    if (plan->managed) {
        bool include_keyless = cfg->keyless_tables == PGCDC_CONFIG_KEYLESS_INCLUDE;
        size_t add = 0, drop = 0;

        for (size_t i = 0; i < ntables; i++) {
            bool want = captured[i] &&
                        (include_keyless || pgcdc_inspect_table_has_identity(&tables[i]));

            add += want && !tables[i].in_publication;
            drop += !want && tables[i].in_publication;
        }
        report(r, PGCDC_CHECK_OK, "publication", NULL,
               "'%s' was created by pgcdc, which sets its tables from the filters at each "
               "start: %zu to add and %zu to remove at the next one",
               name, add, drop);
    } else if (p->all_tables) {
        report(r, PGCDC_CHECK_OK, "publication", NULL,
               "'%s' publishes all tables; the table filters apply in pgcdc", name);
    } else if (missing > 0) {
        snprintf(fix, sizeof(fix),
                 "as the tables' owner: ALTER PUBLICATION \"%s\" ADD TABLE %s; or let pgcdc "
                 "manage the publication: COMMENT ON PUBLICATION \"%s\" IS '" PGCDC_PUBLICATION_MARK
                 "'",
                 name, list, name);
        report(r, PGCDC_CHECK_WARN, "publication", fix,
               "'%s' was not created by pgcdc, which never changes it, and it does not "
               "publish %zu table(s) the filters capture, whose changes are not captured: %s",
               name, missing, list);
    } else {
        report(r, PGCDC_CHECK_OK, "publication", NULL,
               "'%s' was not created by pgcdc, which streams from it as it is and never "
               "changes it; it publishes every table the filters capture",
               name);
    }
    if (!p->via_root && partitioned > 0) {
        snprintf(fix, sizeof(fix),
                 "ALTER PUBLICATION \"%s\" SET (publish_via_partition_root = true)", name);
        report(r, plan->managed ? PGCDC_CHECK_OK : PGCDC_CHECK_WARN, "publication partitions",
               plan->managed ? NULL : fix,
               "'%s' publishes partitions' changes under their own names, which the table "
               "filters do not name%s",
               name, plan->managed ? "; pgcdc sets publish_via_partition_root at its start" : "");
    }
    if (!p->updates || !p->deletes || !p->inserts) {
        snprintf(fix, sizeof(fix),
                 "ALTER PUBLICATION \"%s\" SET (publish = 'insert, update, delete, truncate')",
                 name);
        report(r, PGCDC_CHECK_WARN, "publication operations", fix,
               "'%s' does not publish every INSERT, UPDATE and DELETE (insert %s, update %s, "
               "delete %s): the others are not captured",
               name, p->inserts ? "on" : "off", p->updates ? "on" : "off",
               p->deletes ? "on" : "off");
    }
}

/* Per-table lines: replica identity, SELECT, ownership where pgcdc adds
 * the table to its publication. */
static void check_tables(struct run *r, const struct pgcdc_inspect_role *role,
                         const struct pgcdc_inspect_publication *p, const struct pub_plan *plan,
                         const struct pgcdc_inspect_table *tables, const bool *captured,
                         size_t ntables)
{
    const struct pgcdc_config *cfg = r->cfg;
    bool include_keyless = cfg->keyless_tables == PGCDC_CONFIG_KEYLESS_INCLUDE;
    bool snapshots = cfg->snapshot_mode != PGCDC_CONFIG_SNAPSHOT_NEVER;
    size_t ncaptured = 0, nkeyless = 0, nselect = 0, nowner = 0, shown = 0;
    char fix[512], what[160];

    for (size_t i = 0; i < ntables; i++) {
        const struct pgcdc_inspect_table *t = &tables[i];
        bool identity = pgcdc_inspect_table_has_identity(t);
        bool published, adds;

        if (!captured[i])
            continue;
        ncaptured++;
        /* Published now, or once pgcdc has set up the publication. */
        published = plan->all_tables || (p->exists && !plan->managed && t->in_publication) ||
                    (plan->managed && (identity || include_keyless));
        adds = plan->managed && !t->in_publication && (identity || include_keyless);
        snprintf(what, sizeof(what), "table %s.%s", t->schema, t->name);
        if (!identity) {
            nkeyless++;
            if (shown++ < PGCDC_CHECK_MAX_TABLE_LINES) {
                struct pgcdc_check_line l;

                pgcdc_check_table_identity(t, cfg->publication_name,
                                           published && (!p->exists || p->updates || p->deletes),
                                           &l);
                /* Published by the user's choice: the user was told. */
                if (plan->managed && include_keyless)
                    l.status = PGCDC_CHECK_WARN;
                emit(r, &l);
            }
        }
        if (!t->can_select) {
            nselect++;
            if (shown++ < PGCDC_CHECK_MAX_TABLE_LINES) {
                snprintf(fix, sizeof(fix), "GRANT SELECT ON \"%s\".\"%s\" TO \"%s\"", t->schema,
                         t->name, role->name);
                report(r, snapshots ? PGCDC_CHECK_FAIL : PGCDC_CHECK_WARN, what, fix,
                       "'%s' may not SELECT from it, which snapshots need", role->name);
            }
        }
        if (adds && !t->owned && !role->superuser) {
            nowner++;
            if (shown++ < PGCDC_CHECK_MAX_TABLE_LINES) {
                snprintf(fix, sizeof(fix),
                         "ALTER TABLE \"%s\".\"%s\" OWNER TO \"%s\"; or have the owner (or a "
                         "superuser) create publication '%s' and set "
                         "publication.autocreate.mode = disabled",
                         t->schema, t->name, role->name, cfg->publication_name);
                report(r, PGCDC_CHECK_FAIL, what, fix,
                       "'%s' does not own it, and only the owner may add it to publication '%s'",
                       role->name, cfg->publication_name);
            }
        }
    }
    if (shown > PGCDC_CHECK_MAX_TABLE_LINES)
        report(r, PGCDC_CHECK_WARN, "tables", "run pgcdc check again once the above are fixed",
               "%zu more table line(s) not shown", shown - PGCDC_CHECK_MAX_TABLE_LINES);
    if (ncaptured == 0)
        report(r, PGCDC_CHECK_WARN, "tables",
               "check table.include.list and table.exclude.list (and the publication's tables)",
               "none of the %zu table(s) is captured", ntables);
    else if (nkeyless + nselect + nowner == 0)
        report(r, PGCDC_CHECK_OK, "tables", NULL,
               "%zu of %zu pass the filters, each with a primary key or replica identity, and readable",
               ncaptured, ntables);
    else
        report(r, PGCDC_CHECK_OK, "tables", NULL,
               "%zu of %zu pass the filters; %zu without a replica identity, %zu not readable, %zu not "
               "owned where pgcdc must publish them (see above)",
               ncaptured, ntables, nkeyless, nselect, nowner);
}

/* Everything read from the database, the tables by the filters. */
static int check_database(struct run *r, char *err, size_t errlen)
{
    const struct pgcdc_config *cfg = r->cfg;
    struct pgcdc_inspect_server srv;
    struct pgcdc_inspect_role role;
    struct pgcdc_inspect_slot slot;
    struct pgcdc_inspect_publication pub;
    struct pgcdc_inspect_table *tables = NULL;
    struct pgcdc_check_line l;
    struct pub_plan plan;
    size_t ntables = 0;
    bool *captured = NULL;
    char why[512], sqlstate[6] = "";
    PGconn *conn = NULL;
    PGresult *res;
    int rc = 0;

    if (open_conn(cfg, false, &conn, sqlstate, why, sizeof(why)) < 0) {
        report(r, PGCDC_CHECK_FAIL, "connection", connect_fix(sqlstate, false), "%s", why);
        return 0;
    }
    /* Nothing below may change the database, whatever it runs. */
    res = PQexec(conn, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pgcdc_pq_result_error(conn, res, "cannot make the session read-only", why, sizeof(why));
        PQclear(res);
        report(r, PGCDC_CHECK_FAIL, "connection", NULL, "%s", why);
        goto out;
    }
    PQclear(res);
    if (pgcdc_inspect_server(conn, &srv, why, sizeof(why)) < 0 ||
        pgcdc_inspect_role(conn, &role, why, sizeof(why)) < 0 ||
        pgcdc_inspect_slot(conn, cfg->slot_name, &slot, why, sizeof(why)) < 0 ||
        pgcdc_inspect_publication(conn, cfg->publication_name, &pub, why, sizeof(why)) < 0 ||
        pgcdc_inspect_tables(conn, cfg->publication_name, &tables, &ntables, why,
                             sizeof(why)) < 0) {
        report(r, PGCDC_CHECK_FAIL, "connection", NULL, "%s", why);
        goto out;
    }
    if (srv.version_num < 100000) {
        report(r, PGCDC_CHECK_FAIL, "server", "upgrade PostgreSQL to version 10 or later",
               "PostgreSQL %d is too old", srv.version_num);
        goto out;
    }
    report(r, PGCDC_CHECK_OK, "server", NULL, "PostgreSQL %d.%d%s, database '%s'",
           srv.version_num / 10000, srv.version_num % 100,
           srv.in_recovery ? " (a standby)" : "", slot.current_database);
    pgcdc_check_wal_level(srv.wal_level, &l);
    emit(r, &l);
    pgcdc_check_slots(&srv, slot.exists, &l);
    emit(r, &l);
    pgcdc_check_senders(&srv, &l);
    emit(r, &l);
    if (srv.keep_size_mb < 0)
        report(r, PGCDC_CHECK_OK, "max_slot_wal_keep_size", NULL,
               "unlimited: while pgcdc is stopped its slot keeps every WAL segment, bounded only "
               "by the disk (a limit protects the disk, at the price of a slot invalidated "
               "when pgcdc stays away too long)");
    else
        report(r, PGCDC_CHECK_OK, "max_slot_wal_keep_size", NULL,
               "%lld MB: a slot further behind is invalidated, and pgcdc must then start over",
               srv.keep_size_mb);
    pgcdc_check_role(&role, &l);
    emit(r, &l);
    check_replication_conn(r);

    captured = calloc(ntables > 0 ? ntables : 1, sizeof(*captured));
    if (captured == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = -ENOMEM;
        goto out;
    }
    plan = plan_publication(cfg, &pub);
    for (size_t i = 0; i < ntables; i++) {
        int in = pgcdc_filter_table(cfg, tables[i].schema, tables[i].name, why, sizeof(why));

        if (in < 0) {
            report(r, PGCDC_CHECK_FAIL, "table filters", "simplify the pattern", "%s", why);
            goto out;
        }
        /* A publication pgcdc does not manage captures what it publishes. */
        if (pub.exists && !plan.managed && !plan.all_tables)
            in = in && tables[i].in_publication;
        captured[i] = in == 1;
    }
    check_publication(r, &role, &pub, &plan, tables, captured, ntables, slot.current_database);
    if (cfg->column_lists && srv.version_num < 150000)
        report(r, PGCDC_CHECK_WARN, "publication.column.lists",
               "upgrade to PostgreSQL 15 or later, or set publication.column.lists = false",
               "PostgreSQL %d has no publication column lists: the column filters apply in "
               "pgcdc only, and the columns they leave out still leave the server",
               srv.version_num / 10000);
    else if (cfg->column_lists && !plan.managed)
        report(r, PGCDC_CHECK_WARN, "publication.column.lists",
               "set publication.autocreate.mode = filtered (with a publication pgcdc created)",
               "pgcdc sets column lists only on a publication it manages in filtered mode");
    pgcdc_check_slot(&slot, cfg->slot_name, &l);
    emit(r, &l);
    if (slot.exists && strcmp(slot.slot_type, "logical") == 0) {
        pgcdc_check_retained(&slot, &srv, &l);
        emit(r, &l);
    }
    check_tables(r, &role, &pub, &plan, tables, captured, ntables);

out:
    free(captured);
    free(tables);
    PQfinish(conn);
    return rc;
}

static void check_kafka(struct run *r)
{
    char info[256], why[512], fix[256];

    if (r->cfg->sink != PGCDC_CONFIG_SINK_KAFKA)
        return;
    if (pgcdc_pipeline_probe_kafka(r->cfg, PGCDC_CHECK_PROBE_TIMEOUT_MS, info, sizeof(info), why,
                                   sizeof(why)) < 0) {
        snprintf(fix, sizeof(fix),
                 "check kafka.bootstrap.servers, the kafka.security.protocol and kafka.sasl.* "
                 "settings, and that the brokers are up and reachable from here");
        report(r, PGCDC_CHECK_FAIL, "kafka", fix, "%s", why);
        return;
    }
    report(r, PGCDC_CHECK_OK, "kafka", NULL, "%s", info);
}

static void check_registry(struct run *r)
{
    const struct pgcdc_config *cfg = r->cfg;
    struct pgcdc_registry_opts opts = {
        .url = cfg->registry_url,
        .basic_auth = cfg->registry_user_info[0] ? cfg->registry_user_info : NULL,
        .ca_file = cfg->registry_ssl_ca[0] ? cfg->registry_ssl_ca : NULL,
        .cert_file = cfg->registry_ssl_cert[0] ? cfg->registry_ssl_cert : NULL,
        .key_file = cfg->registry_ssl_key[0] ? cfg->registry_ssl_key : NULL,
        .timeout_ms = PGCDC_CHECK_PROBE_TIMEOUT_MS,
    };
    struct pgcdc_registry *reg = NULL;
    char why[512];
    int rc;

    if (cfg->format != PGCDC_CONFIG_FORMAT_AVRO || cfg->registry_url[0] == '\0')
        return;
    rc = pgcdc_registry_new(&reg, &opts, why, sizeof(why));
    if (rc == 0)
        rc = pgcdc_registry_probe(reg, why, sizeof(why));
    pgcdc_registry_free(reg);
    if (rc < 0)
        report(r, PGCDC_CHECK_FAIL, "schema registry",
               rc == -EACCES ? "check schema.registry.basic.auth.user.info"
                             : "check schema.registry.url (with its path prefix, e.g. "
                               "/apis/ccompat/v7 for Apicurio) and that the registry is up",
               "%s", why);
    else
        report(r, PGCDC_CHECK_OK, "schema registry", NULL, "answers");
}

int pgcdc_check_run(const struct pgcdc_config *cfg, pgcdc_check_report_fn fn, void *arg,
                    char *err, size_t errlen)
{
    struct run r = {.cfg = cfg, .fn = fn, .arg = arg, .fails = 0};
    int rc = check_database(&r, err, errlen);

    if (rc < 0)
        return rc;
    check_kafka(&r);
    check_registry(&r);
    return r.fails;
}
