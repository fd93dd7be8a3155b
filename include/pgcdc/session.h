/*
 * session.h - opening a replication session: everything pgcdc does on the
 * replication connection before START_REPLICATION.
 *
 * In order: connect; claim the slot (catalog.h), so that nothing is created
 * or altered by a second pgcdc; look the slot up; hold the stored position
 * against the server's identity, its WAL and the slot, settling a
 * disagreement as offset.mismatch.strategy says; on the first start, walk
 * the captured tables (each claims its topic); create or alter the
 * publication; create the slot when it is missing (pgoutput reads the
 * publication as of each change's WAL position, so the publication comes
 * first). The caller records what the session decided about the position,
 * then starts streaming.
 *
 * This module knows the stored position only as an LSN and an identity: the
 * store and the tracker belong to the caller.
 */
#ifndef PGCDC_SESSION_H
#define PGCDC_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "pgcdc/catalog.h"
#include "pgcdc/lsn.h"
#include "pgcdc/publication.h"

struct pgcdc_config;
struct pgcdc_stream;

struct pgcdc_session_opts {
    const struct pgcdc_config *cfg;     /* borrowed */
    struct pgcdc_catalog *catalog;      /* claims the slot, lists the tables */
    volatile sig_atomic_t *stop;        /* ends waits for the server */
    bool first;                         /* the first session of this run */
    pgcdc_lsn stored;                   /* stored position, 0 when none */
    const char *system_id;              /* server it was recorded on, "" when unknown */
    uint32_t timeline;                  /* timeline it was recorded on, 0 when unknown */
    pgcdc_catalog_table_fn claim;       /* first session: called for every captured table */
    void *claim_arg;                    /* its argument */
    pgcdc_publication_filter_fn filter; /* the table filters, for the publication */
    void *filter_arg;                   /* its argument */
    bool export_snapshot;               /* a slot created now exports its snapshot */
    bool replace_slot;                  /* nothing stored: an existing slot is dropped and
                                         * created anew, exporting its snapshot */
    bool when_needed;                   /* first session: a stored position that cannot be
                                         * resumed means a new slot and a new snapshot */
    bool no_slot;                       /* a missing slot is not created */
};

struct pgcdc_session {
    struct pgcdc_stream *stream; /* the replication connection (also set after a failure:
                                  * the caller frees it) */
    bool slot_existed;           /* the slot was there before this session */
    bool adopt;                  /* record adopt_lsn as the position (the slot won) */
    pgcdc_lsn adopt_lsn;         /* where the slot is */
    bool slot_created;           /* this session created the slot */
    pgcdc_lsn slot_lsn;          /* where the slot starts (its consistent point) */
    char snapshot[64];           /* the created slot's exported snapshot, "" when none */
    bool resnapshot;             /* when_needed decided: the slot is created anew */
};

/* Opens the session as described above (*out filled; its stream set once
 * connected). 0, or a negative errno with text in err: classed as pq.h and
 * stream.h say, -PGCDC_ECONFIG (error.h) for a position mismatch that
 * offset.mismatch.strategy does not settle, -ENOENT when the slot was dropped
 * after the first session. */
int pgcdc_session_open(struct pgcdc_session *out /* OUT */, const struct pgcdc_session_opts *o,
                       char *err, size_t errlen);

#endif
