/*
 * session.c - opening a replication session (session.h).
 *
 * The stored position is held against the server before anything is
 * created or altered: a position recorded on another system or timeline,
 * one ahead of the server's WAL, a slot that is missing while a position
 * says changes were delivered from it, or a slot already past the position,
 * each mean WAL was lost on one side. By default that stops pgcdc
 * (-PGCDC_ECONFIG) so a person decides; offset.mismatch.strategy can decide
 * instead.
 */
#include "pgcdc/session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pgcdc/config.h"
#include "pgcdc/error.h"
#include "pgcdc/log.h"
#include "pgcdc/stream.h"

/* The text naming the choices offset.mismatch.strategy offers. */
#define MISMATCH_CHOICES                                                                           \
    "pgcdc stopped and confirmed nothing; set offset.mismatch.strategy to trust_slot (resume "     \
    "from the slot; what lies between is sent again or skipped), trust_offset (keep the stored "   \
    "position; the server's changes up to it are skipped) or trust_greater_lsn (the greater of "  \
    "the two), or put back the position file that belongs to this server; with "                   \
    "snapshot.mode = when_needed pgcdc would instead take a new slot and snapshot"

/*
 * Holds the stored position against the server (its WAL end and identity)
 * and the slot, and settles a disagreement as offset.mismatch.strategy
 * says. *use_slot: start from the slot (set once it exists). With probe
 * (probelen > 0), only says whether they disagree: 1 with why in probe.
 */
static int reconcile_or_probe(const struct pgcdc_session_opts *o,
                              const struct pgcdc_server_info *info, bool slot_exists,
                              pgcdc_lsn slot_flush, bool *use_slot, char *probe, size_t probelen,
                              char *err, size_t errlen)
{
    const struct pgcdc_config *cfg = o->cfg;
    enum pgcdc_config_mismatch strategy = cfg->offset_mismatch;
    char a[PGCDC_LSN_BUFLEN], b[PGCDC_LSN_BUFLEN], c[PGCDC_LSN_BUFLEN];
    char why[512];
    bool behind_slot = false;

    *use_slot = false;
    why[0] = '\0';
    if (o->stored == 0)
        return 0; /* nothing stored: the slot's position is the start */
    if (o->system_id[0] && strcmp(o->system_id, info->system_id) != 0)
        snprintf(why, sizeof(why),
                 "the stored position %s was recorded on database system %s, but the server is "
                 "system %s",
                 pgcdc_lsn_format(o->stored, a), o->system_id, info->system_id);
    else if (o->timeline && o->timeline != info->timeline)
        snprintf(why, sizeof(why),
                 "the stored position %s was recorded on timeline %u, but the server is on "
                 "timeline %u (a failover or a restore happened)",
                 pgcdc_lsn_format(o->stored, a), o->timeline, info->timeline);
    else if (o->stored > info->xlogpos)
        snprintf(why, sizeof(why),
                 "the stored position %s is ahead of the server's WAL at %s (a restore to an "
                 "earlier point, a failover to a replica that is behind, or another server's "
                 "position file)",
                 pgcdc_lsn_format(o->stored, a), pgcdc_lsn_format(info->xlogpos, b));
    else if (!slot_exists)
        snprintf(why, sizeof(why),
                 "replication slot '%s' does not exist, but the stored position says changes "
                 "up to %s were delivered from it (the slot was dropped: changes made since "
                 "are lost to it)",
                 cfg->slot_name, pgcdc_lsn_format(o->stored, a));
    else if (slot_flush > o->stored) {
        behind_slot = true;
        snprintf(why, sizeof(why),
                 "replication slot '%s' is at %s, past the stored position %s (the slot was "
                 "advanced or recreated: the changes in between would be skipped)",
                 cfg->slot_name, pgcdc_lsn_format(slot_flush, a), pgcdc_lsn_format(o->stored, b));
    }
    if (why[0] == '\0')
        return 0;
    if (probelen > 0) {
        snprintf(probe, probelen, "%s", why);
        return 1;
    }

    switch (strategy) {
    case PGCDC_CONFIG_MISMATCH_FAIL:
        snprintf(err, errlen, "%s; the slot is at %s; " MISMATCH_CHOICES, why,
                 slot_exists ? pgcdc_lsn_format(slot_flush, c) : "(none)");
        return -PGCDC_ECONFIG;
    case PGCDC_CONFIG_MISMATCH_TRUST_OFFSET:
        if (behind_slot) {
            snprintf(err, errlen,
                     "%s; offset.mismatch.strategy is trust_offset, which cannot go back before "
                     "the slot: use trust_slot or trust_greater_lsn to resume from the slot",
                     why);
            return -PGCDC_ECONFIG;
        }
        pgcdc_log_warn("%s; offset.mismatch.strategy trust_offset: keeping the stored position",
                       why);
        return 0;
    case PGCDC_CONFIG_MISMATCH_NO_VALIDATION:
        pgcdc_log_warn("%s; offset.mismatch.strategy no_validation: streaming as requested", why);
        return 0;
    case PGCDC_CONFIG_MISMATCH_TRUST_GREATER:
        if (!behind_slot && slot_exists) {
            pgcdc_log_warn("%s; offset.mismatch.strategy trust_greater_lsn: keeping the stored "
                           "position",
                           why);
            return 0;
        }
        break;
    case PGCDC_CONFIG_MISMATCH_TRUST_SLOT:
        break;
    }
    pgcdc_log_warn("%s; offset.mismatch.strategy %s: resuming from the slot", why,
                   strategy == PGCDC_CONFIG_MISMATCH_TRUST_SLOT ? "trust_slot"
                                                                : "trust_greater_lsn");
    *use_slot = true;
    return 0;
}

/* snapshot.mode's name, for the log. */
static const char *mode_name(const struct pgcdc_config *cfg)
{
    return cfg->snapshot_mode == PGCDC_CONFIG_SNAPSHOT_ALWAYS ? "always" : "when_needed";
}

static int reconcile(const struct pgcdc_session_opts *o, const struct pgcdc_server_info *info,
                     bool slot_exists, pgcdc_lsn slot_flush, bool *use_slot, char *err,
                     size_t errlen)
{
    return reconcile_or_probe(o, info, slot_exists, slot_flush, use_slot, NULL, 0, err, errlen);
}

int pgcdc_session_open(struct pgcdc_session *out, const struct pgcdc_session_opts *o, char *err,
                       size_t errlen)
{
    const struct pgcdc_config *cfg = o->cfg;
    const struct pgcdc_server_info *info;
    pgcdc_lsn slot_flush;
    char a[PGCDC_LSN_BUFLEN];
    bool exists, use_slot, replace = false;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = pgcdc_stream_connect(&out->stream, cfg->database_dsn, cfg->connect_timeout_ms, o->stop,
                              err, errlen);
    if (rc < 0)
        return rc;
    info = pgcdc_stream_server(out->stream);
    if (o->first)
        pgcdc_log_info("connected to PostgreSQL %d.%d, database '%s', system %s, pgoutput "
                       "protocol %d",
                       info->version_num / 10000, info->version_num % 100, info->dbname,
                       info->system_id, info->proto_version);
    /* Nothing is created or altered before this. */
    rc = pgcdc_catalog_claim_slot(o->catalog, cfg->slot_name, err, errlen);
    if (rc < 0)
        return rc;
    rc = pgcdc_stream_slot_info(out->stream, cfg->slot_name, &exists, &slot_flush, err, errlen);
    if (rc == -ESTALE && o->when_needed && o->first) {
        /* Invalidated: its position is gone, which a new snapshot cures. */
        pgcdc_log_warn("%s; snapshot.mode %s: the slot is created anew and the tables are "
                       "snapshotted again",
                       err, mode_name(cfg));
        exists = true;
        replace = true;
        rc = 0;
    }
    if (rc < 0)
        return rc;
    out->slot_existed = exists;
    if (!exists && !o->first) {
        snprintf(err, errlen,
                 "replication slot '%s' was dropped while pgcdc streamed from it: the changes "
                 "since %s are lost to it; to start again, delete the position file '%s' and "
                 "restart pgcdc (it creates the slot anew)",
                 cfg->slot_name, pgcdc_lsn_format(o->stored, a), cfg->offset_file);
        return -ENOENT;
    }
    use_slot = false;
    if (!replace && o->when_needed && o->first && o->stored != 0) {
        char why[512];

        rc = reconcile_or_probe(o, info, exists, slot_flush, &use_slot, why, sizeof(why), err,
                                errlen);
        if (rc > 0) {
            pgcdc_log_warn("%s; snapshot.mode %s: the stored position cannot be resumed, "
                           "so the slot is created anew and the tables are snapshotted again",
                           why, mode_name(cfg));
            replace = true;
        }
    }
    if (replace) {
        out->resnapshot = true;
    } else if (exists && o->stored == 0 && o->replace_slot) {
        pgcdc_log_warn("replication slot '%s' exists but no position is stored: an earlier "
                       "snapshot did not finish (or another program made the slot); the snapshot "
                       "starts again from scratch, with the slot created anew",
                       cfg->slot_name);
        replace = true;
    } else {
        rc = reconcile(o, info, exists, slot_flush, &use_slot, err, errlen);
        if (rc < 0)
            return rc;
    }
    /* Two captured tables on one topic is refused before the publication is
     * created or altered; tables that appear later are checked as their
     * Relation messages come. A publication pgcdc does not manage captures
     * what it publishes; one it manages, whatever table passes the filters. */
    if (o->first && o->claim) {
        if (cfg->autocreate == PGCDC_CONFIG_AUTOCREATE_DISABLED ||
            cfg->autocreate == PGCDC_CONFIG_AUTOCREATE_NO_TABLES)
            rc = pgcdc_catalog_publication_tables(o->catalog, cfg->publication_name, o->claim,
                                                  o->claim_arg, err, errlen);
        else
            rc = pgcdc_catalog_user_tables(o->catalog, o->claim, o->claim_arg, err, errlen);
        if (rc < 0)
            return rc;
    }
    rc = pgcdc_publication_ensure(out->stream, cfg, o->filter, o->filter_arg, err, errlen);
    if (rc < 0)
        return rc;
    if (exists && replace) {
        rc = pgcdc_stream_drop_slot(out->stream, cfg->slot_name, err, errlen);
        if (rc < 0)
            return rc;
        pgcdc_log_info("dropped replication slot '%s' (at %s) to create it anew",
                       cfg->slot_name, pgcdc_lsn_format(slot_flush, a));
        exists = false;
    }
    if (!exists && !o->no_slot) {
        rc = pgcdc_stream_create_slot(out->stream, cfg->slot_name, o->export_snapshot || replace,
                                      out->snapshot, sizeof(out->snapshot), &slot_flush, err,
                                      errlen);
        if (rc < 0)
            return rc;
        out->slot_created = true;
        out->slot_lsn = slot_flush;
        pgcdc_log_info("created replication slot '%s' at %s%s%s", cfg->slot_name,
                       pgcdc_lsn_format(slot_flush, a),
                       out->snapshot[0] ? " with exported snapshot " : "", out->snapshot);
    }
    if (use_slot) {
        out->adopt = true;
        out->adopt_lsn = slot_flush;
    }
    return 0;
}
