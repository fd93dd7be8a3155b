/*
 * store.h - the persisted replication position.
 *
 * pgcdc keeps its own position rather than trusting the slot's
 * confirmed_flush_lsn, which the server does not write to disk at every
 * update: after a crash the server may resend transactions, and pgcdc drops
 * every one whose commit LSN is below the stored end_lsn. In exactly-once
 * mode a huge transaction can be split over several Kafka transactions; the
 * position then also says how many events of the interrupted transaction were
 * already published.
 *
 * A store is an interface (like the sink) so that the position can live in a
 * file or, for exactly-once, in Kafka. The file implementation is
 * pgcdc_store_file_open(); its format is described in store.c.
 */
#ifndef PGCDC_STORE_H
#define PGCDC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/lsn.h"

/* Where to resume. A zeroed struct means "from the slot's position". */
struct pgcdc_position {
    pgcdc_lsn end_lsn;            /* end of the last fully delivered transaction */
    pgcdc_lsn partial_commit_lsn; /* commit LSN of a transaction delivered part way, 0 = none */
    uint64_t partial_events;      /* events of that transaction already published */
    char system_id[32];           /* server's system identifier when saved, "" = unknown */
    uint32_t timeline;            /* server's timeline when saved, 0 = unknown */
};

/*
 * Checks the invariants of a position: no partial events without a partial
 * transaction, and a partial transaction never below end_lsn. 0, or -EINVAL
 * with text in err.
 */
int pgcdc_store_position_check(const struct pgcdc_position *pos, char *err, size_t errlen);

/*
 * How many leading events of the transaction committing at commit_lsn were
 * already published and must be dropped: partial_events for the partial
 * transaction, 0 for any other.
 */
uint64_t pgcdc_store_events_to_skip(const struct pgcdc_position *pos, pgcdc_lsn commit_lsn);

struct pgcdc_store;

struct pgcdc_store_ops {
    /* Reads the stored position. *found is false (and *pos zeroed) when
     * nothing was ever stored. 0, or a negative errno with text in err. */
    int (*load)(struct pgcdc_store *s, struct pgcdc_position *pos, bool *found, char *err,
                size_t errlen);
    /* Replaces the stored position durably: once it returns 0 the new
     * position survives a crash, and a failure leaves the old one intact. */
    int (*save)(struct pgcdc_store *s, const struct pgcdc_position *pos, char *err, size_t errlen);
    /* Releases everything. */
    void (*free)(struct pgcdc_store *s);
};

/* Common head of every store; implementations embed it first. */
struct pgcdc_store {
    const struct pgcdc_store_ops *ops; /* the implementation */
};

/*
 * Opens a file store at path for the replication slot slot_name (a valid
 * PostgreSQL slot name: 1 to 63 of a-z, 0-9 and _). Nothing is read or
 * written yet; the file's directory must exist by the first save. 0, or
 * -EINVAL/-ENAMETOOLONG/-ENOMEM with text in err.
 */
int pgcdc_store_file_open(struct pgcdc_store **out /* OUT */, const char *path,
                          const char *slot_name, char *err, size_t errlen);

/*
 * Reads the position. A missing file is *found = false and returns 0. A file
 * that cannot be parsed (-EBADMSG) or that was written for another slot
 * (-EINVAL) is an error naming the file and line: never silently treated as
 * no position.
 */
static inline int pgcdc_store_load(struct pgcdc_store *s, struct pgcdc_position *pos /* OUT */,
                                   bool *found /* OUT */, char *err, size_t errlen)
{
    return s->ops->load(s, pos, found, err, errlen);
}

/* Saves pos atomically and durably (see pgcdc_store_ops.save). -EINVAL when
 * pos fails pgcdc_store_position_check. */
static inline int pgcdc_store_save(struct pgcdc_store *s, const struct pgcdc_position *pos,
                                   char *err, size_t errlen)
{
    return s->ops->save(s, pos, err, errlen);
}

/* Frees a store of any kind and sets *sp to NULL. NULL-safe. */
static inline void pgcdc_store_free(struct pgcdc_store **sp)
{
    if (sp && *sp) {
        (*sp)->ops->free(*sp);
        *sp = NULL;
    }
}

#endif
