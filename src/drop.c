/*
 * drop.c - `pgcdc drop` (see drop.h).
 *
 * What counts as pgcdc's: the slot named by slot.name when it is a logical
 * pgoutput slot of this database (anything else by that name was not made
 * by pgcdc and is left alone), and the publication named by
 * publication.name only when it carries pgcdc's mark (publication.h): a
 * publication someone else made may be shared with other consumers.
 *
 * The slot's claim is taken first, on the catalog connection, exactly as
 * pgcdc run takes it: while drop runs, no pgcdc can start on the slot and
 * re-create what is being dropped. The drops themselves run on a second,
 * ordinary connection.
 */
#include "pgcdc/drop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pgcdc/catalog.h"
#include "pgcdc/config.h"
#include "pgcdc/inspect.h"
#include "pgcdc/pq.h"
#include "pgcdc/publication.h"

struct pgcdc_drop {
    const struct pgcdc_config *cfg;      /* borrowed */
    struct pgcdc_catalog *claim;         /* holds the slot's claim */
    PGconn *conn;                        /* runs the drops */
    bool drop_slot;                      /* the slot is pgcdc's and exists */
    bool drop_publication;               /* the publication is pgcdc's and exists */
};

bool pgcdc_drop_has_work(const struct pgcdc_drop *d)
{
    return d->drop_slot || d->drop_publication;
}

int pgcdc_drop_prepare(struct pgcdc_drop **out, const struct pgcdc_config *cfg, FILE *report,
                       char *err, size_t errlen)
{
    const char *const keys[] = {"dbname", "fallback_application_name", NULL};
    const char *const vals[] = {cfg->database_dsn, "pgcdc-drop", NULL};
    struct pgcdc_inspect_slot slot;
    struct pgcdc_inspect_publication pub;
    struct pgcdc_drop *d;
    char kept[32], why[512];
    int rc;

    *out = NULL;
    d = calloc(1, sizeof(*d));
    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    d->cfg = cfg;
    rc = pgcdc_pq_connect(&d->conn, keys, vals, cfg->connect_timeout_ms, NULL,
                          "cannot connect to PostgreSQL", NULL, err, errlen);
    if (rc == 0)
        rc = pgcdc_inspect_slot(d->conn, cfg->slot_name, &slot, err, errlen);
    if (rc == 0 && slot.active) {
        snprintf(err, errlen,
                 "replication slot '%s' is in use by server process %d (a running pgcdc, or "
                 "another client): stop it first, then run pgcdc drop again; nothing was "
                 "dropped",
                 cfg->slot_name, slot.active_pid);
        rc = -EBUSY;
    }
    if (rc == 0)
        rc = pgcdc_catalog_new(&d->claim, cfg->database_dsn, cfg->connect_timeout_ms, NULL, err,
                               errlen);
    /* Held until the handle is freed: no pgcdc starts on the slot meanwhile. */
    if (rc == 0) {
        rc = pgcdc_catalog_claim_slot(d->claim, cfg->slot_name, why, sizeof(why));
        if (rc == -EBUSY)
            snprintf(err, errlen,
                     "another pgcdc holds replication slot '%s': stop it first, then run pgcdc "
                     "drop again; nothing was dropped",
                     cfg->slot_name);
        else if (rc < 0)
            snprintf(err, errlen, "%s", why);
    }
    if (rc == 0)
        rc = pgcdc_inspect_slot(d->conn, cfg->slot_name, &slot, err, errlen);
    if (rc == 0)
        rc = pgcdc_inspect_publication(d->conn, cfg->publication_name, &pub, err, errlen);
    if (rc < 0) {
        pgcdc_drop_free(&d);
        return rc;
    }

    if (!slot.exists) {
        fprintf(report, "replication slot '%s': does not exist\n", cfg->slot_name);
    } else if (strcmp(slot.slot_type, "logical") != 0 || strcmp(slot.plugin, "pgoutput") != 0 ||
               strcmp(slot.database, slot.current_database) != 0) {
        fprintf(report,
                "replication slot '%s': left in place: a %s slot with plugin '%s' of database "
                "'%s' was not made by pgcdc for this database\n",
                cfg->slot_name, slot.slot_type, slot.plugin[0] ? slot.plugin : "none",
                slot.database[0] ? slot.database : "none");
    } else {
        pgcdc_inspect_format_bytes(slot.retained_bytes, kept, sizeof(kept));
        fprintf(report, "replication slot '%s': will be dropped (it retains %s of WAL)\n",
                cfg->slot_name, kept);
        d->drop_slot = true;
    }
    if (!pub.exists)
        fprintf(report, "publication '%s': does not exist\n", cfg->publication_name);
    else if (!pub.marked)
        fprintf(report,
                "publication '%s': left in place: pgcdc did not create it (its comment "
                "lacks '%s'), and other consumers may use it; drop it yourself if nothing "
                "does: DROP PUBLICATION \"%s\"\n",
                cfg->publication_name, PGCDC_PUBLICATION_MARK, cfg->publication_name);
    else {
        fprintf(report, "publication '%s': will be dropped (created by pgcdc)\n",
                cfg->publication_name);
        d->drop_publication = true;
    }
    *out = d;
    return 0;
}

/* Runs sql with up to one parameter, for its effect. */
static int run(struct pgcdc_drop *d, const char *sql, const char *param, const char *what,
               char *err, size_t errlen)
{
    const char *params[1] = {param};
    PGresult *r = PQexecParams(d->conn, sql, param ? 1 : 0, NULL, param ? params : NULL, NULL,
                               NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    int rc = 0;

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rc = pgcdc_pq_result_errno(d->conn, r);
        pgcdc_pq_result_error(d->conn, r, what, err, errlen);
    }
    PQclear(r);
    return rc;
}

int pgcdc_drop_execute(struct pgcdc_drop *d, FILE *report, char *err, size_t errlen)
{
    const struct pgcdc_config *cfg = d->cfg;
    char what[160], sql[256];
    char *ident;
    int rc;

    if (d->drop_slot) {
        snprintf(what, sizeof(what), "cannot drop replication slot '%s'", cfg->slot_name);
        rc = run(d, "SELECT pg_catalog.pg_drop_replication_slot($1)", cfg->slot_name, what, err,
                 errlen);
        if (rc < 0)
            return rc;
        fprintf(report, "dropped replication slot '%s'\n", cfg->slot_name);
        if (access(cfg->offset_file, F_OK) == 0)
            fprintf(report,
                    "the position file '%s' holds a position of the slot that is gone: delete "
                    "it before pgcdc runs again\n",
                    cfg->offset_file);
        d->drop_slot = false;
    }
    if (d->drop_publication) {
        ident = PQescapeIdentifier(d->conn, cfg->publication_name, strlen(cfg->publication_name));
        if (ident == NULL) {
            pgcdc_pq_conn_error(d->conn, "cannot quote the publication's name", err, errlen);
            return -EIO;
        }
        snprintf(sql, sizeof(sql), "DROP PUBLICATION %s", ident);
        PQfreemem(ident);
        snprintf(what, sizeof(what), "cannot drop publication '%s'", cfg->publication_name);
        rc = run(d, sql, NULL, what, err, errlen);
        if (rc < 0)
            return rc;
        fprintf(report, "dropped publication '%s'\n", cfg->publication_name);
        d->drop_publication = false;
    }
    return 0;
}

void pgcdc_drop_free(struct pgcdc_drop **dp)
{
    if (dp == NULL || *dp == NULL)
        return;
    PQfinish((*dp)->conn);
    pgcdc_catalog_free(&(*dp)->claim);
    free(*dp);
    *dp = NULL;
}
