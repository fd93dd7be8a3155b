/*
 * change.h - the change: what every source produces and every later stage
 * reads.
 *
 * A change is one Debezium event: an operation ('c' create, 'u' update,
 * 'd' delete, 'r' read by a snapshot, 't' truncate, 'm' logical message),
 * the table it belongs to (a relation cache entry, whose version names the
 * table's shape), its rows (before, after, and the row its key comes from)
 * as arrays of column values, the source block, and its position in its
 * transaction. Column i of a row is column i of the table.
 *
 * struct pgcdc_change is opaque: consumers read it through the accessors
 * below, so that its inside can change (and it can become the interface of
 * transform plugins) without touching them. Rows are borrowed: a change
 * points at the values its source decoded and copies nothing, so it is valid
 * only until that source reuses its buffers (for pgoutput, until the next
 * message is decoded).
 *
 * A change batch turns one source record into the events Debezium emits for
 * it, and holds them until the next record. This is the Debezium mapping, as
 * pure code (no I/O, no allocation once its arrays have grown):
 *
 *  - Insert -> 'c' (after, key from after).
 *  - Update -> 'u' (before only when the server sent the whole old row,
 *    i.e. REPLICA IDENTITY FULL). Under FULL, unchanged TOASTed values of the
 *    new row are taken from the old row, which carries them.
 *  - Update that changes a key column -> 'd' of the old key (plus its
 *    tombstone), then 'c' of the new row.
 *  - Delete -> 'd' (before: the old row, or only its key columns when the
 *    server sent just the key), then a tombstone (same key, null value) when
 *    tombstones are on and the table has a key.
 *  - Truncate -> one 't' per included relation, without key.
 *  - Logical message -> one 'm'.
 *  - A row read by a snapshot (COPY text) -> 'r' (after, key from after).
 *
 * Tables the table filter excludes give no events.
 */
#ifndef PGCDC_CHANGE_H
#define PGCDC_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/lsn.h"
#include "pgcdc/value.h"

struct pgcdc_rel; /* relcache.h */
struct pgcdc_msg; /* pgoutput.h: a decoded pgoutput message */

/* Where an event comes from: Debezium's `source` block. */
/* Debezium's transaction block of an event (provide.transaction.metadata). */
struct pgcdc_txn_block {
    const char *id;                /* "<xid>:<lsn>" */
    int64_t total_order;           /* the event's place among the transaction's data events */
    int64_t data_collection_order; /* ... among those of its table */
};

struct pgcdc_source {
    const char *connector_version; /* pgcdc's version */
    const char *name;              /* topic.prefix, Debezium's logical server name */
    const char *db;                /* database name */
    int64_t commit_time_us;        /* commit time, microseconds since 1970-01-01 */
    uint32_t xid;                  /* transaction id */
    pgcdc_lsn lsn;                 /* LSN of the change record, 0 when unknown */
    pgcdc_lsn last_commit_lsn;     /* commit LSN of the transaction before, 0 when none */
    const char *snapshot;          /* "false", "true", "first", "last", ... */
    const char *origin;            /* replication origin of the transaction, NULL when none */
    pgcdc_lsn origin_lsn;          /* its commit LSN on the origin server, 0 when none */
    const struct pgcdc_txn_block *txn; /* the event's transaction block, NULL for none */
};

struct pgcdc_change;

/* ---------------------------------------------------------------------- */
/* reading a change                                                        */

/* 'c' 'u' 'd' 'r' 't' or 'm'. */
char pgcdc_change_op(const struct pgcdc_change *ch);

/* The table; NULL for a logical message. */
const struct pgcdc_rel *pgcdc_change_rel(const struct pgcdc_change *ch);

/* The old row and its column count, or NULL when there is none. */
const struct pgcdc_value *pgcdc_change_before(const struct pgcdc_change *ch,
                                              uint16_t *ncols /* OUT */);

/* True when before holds only the key columns (the others are not known). */
bool pgcdc_change_before_key_only(const struct pgcdc_change *ch);

/* The new row and its column count, or NULL when there is none. */
const struct pgcdc_value *pgcdc_change_after(const struct pgcdc_change *ch,
                                             uint16_t *ncols /* OUT */);

/* The row the event key comes from (its key columns), or NULL for an event
 * without key (keyless table, truncate, message). */
const struct pgcdc_value *pgcdc_change_key(const struct pgcdc_change *ch,
                                           uint16_t *ncols /* OUT */);

/* Column i of the change's table: its name and pg_type oid (i < the
 * table's column count; a logical message has no columns). */
const char *pgcdc_change_column_name(const struct pgcdc_change *ch, uint16_t i);
uint32_t pgcdc_change_column_type(const struct pgcdc_change *ch, uint16_t i);

/* The source block. */
const struct pgcdc_source *pgcdc_change_source(const struct pgcdc_change *ch);

/* Processing time, microseconds since 1970-01-01. */
int64_t pgcdc_change_ts_us(const struct pgcdc_change *ch);

/* Position in the transaction: how many events (tombstones included) its
 * transaction had before this one. */
uint64_t pgcdc_change_txn_index(const struct pgcdc_change *ch);

/* A logical message's prefix (NUL-terminated), and its body in *content
 * (*len bytes); NULL for other changes. */
const char *pgcdc_change_message(const struct pgcdc_change *ch, const char **content /* OUT */,
                                 size_t *len /* OUT */);

/* ---------------------------------------------------------------------- */
/* building a change by hand                                               */

/* Creates an empty change. 0 or -ENOMEM with text in err. */
int pgcdc_change_new(struct pgcdc_change **out /* OUT */, char *err, size_t errlen);

/* Frees ch and sets *chp to NULL. NULL-safe. */
void pgcdc_change_free(struct pgcdc_change **chp);

/* Starts ch afresh: op, table, source (borrowed), time; no rows. */
void pgcdc_change_reset(struct pgcdc_change *ch, char op, const struct pgcdc_rel *rel,
                        const struct pgcdc_source *src, int64_t ts_us);

/* Sets a row (borrowed: vals must outlive the change's use). NULL clears it. */
void pgcdc_change_set_before(struct pgcdc_change *ch, const struct pgcdc_value *vals,
                             uint16_t ncols, bool key_only);
void pgcdc_change_set_after(struct pgcdc_change *ch, const struct pgcdc_value *vals,
                            uint16_t ncols);
void pgcdc_change_set_key(struct pgcdc_change *ch, const struct pgcdc_value *vals, uint16_t ncols);

/* Sets a logical message's prefix and body (borrowed). */
void pgcdc_change_set_message(struct pgcdc_change *ch, const char *prefix, const char *content,
                              size_t len);

/* ---------------------------------------------------------------------- */
/* the Debezium mapping                                                    */

/* One record to produce: the change, or (tombstone) its key with a null
 * value. A tombstone follows the change it repeats the key of. */
struct pgcdc_change_event {
    const struct pgcdc_change *change; /* what to encode */
    bool tombstone;                    /* the key of change, no value */
};

struct pgcdc_change_batch;

/* The relation cache entry for relid, or NULL when there is none. */
typedef const struct pgcdc_rel *(*pgcdc_change_rel_fn)(void *arg, uint32_t relid);

/* Creates a batch. tombstones: Debezium's tombstones.on.delete. rels/arg
 * resolve relation oids (borrowed). 0 or -ENOMEM with text in err. */
int pgcdc_change_batch_new(struct pgcdc_change_batch **out /* OUT */, bool tombstones,
                           pgcdc_change_rel_fn rels, void *arg, char *err, size_t errlen);

/* Frees b and sets *bp to NULL. NULL-safe. */
void pgcdc_change_batch_free(struct pgcdc_change_batch **bp);

/* The next event mapped is the index-th of its transaction (0 at its
 * start); each event mapped moves it on by one. The caller owns the count,
 * so that a record mapped again (after the sink refused it) gets the same
 * positions. */
void pgcdc_change_batch_at(struct pgcdc_change_batch *b, uint64_t index);

/*
 * Maps a decoded Insert, Update, Delete, Truncate or Message (src borrowed,
 * ts_us the processing time). The new row of an Update may be completed in
 * place from the old one (TOAST, see above). *events points at the events
 * (valid until the next call); returns their count (0 for an excluded
 * table), or -EPROTO (a relation without its Relation message, another
 * message type) or -ENOMEM, with text in err.
 */
int pgcdc_change_batch_pgoutput(struct pgcdc_change_batch *b, struct pgcdc_msg *msg,
                                const struct pgcdc_source *src, int64_t ts_us,
                                const struct pgcdc_change_event **events /* OUT */, char *err,
                                size_t errlen);

/*
 * Maps a row that a snapshot read with COPY (text format) into an 'r'
 * event: values[i] is column i's text (lens[i] bytes, or NUL-terminated when
 * lens is NULL), NULL for SQL NULL; the texts are borrowed. Returns the
 * count (1, or 0 for an excluded table), or -EINVAL (ncols is not the
 * table's column count) or -ENOMEM, with text in err.
 */
int pgcdc_change_batch_text_row(struct pgcdc_change_batch *b, const struct pgcdc_rel *rel,
                                const char *const *values, const uint32_t *lens, uint16_t ncols,
                                const struct pgcdc_source *src, int64_t ts_us,
                                const struct pgcdc_change_event **events /* OUT */, char *err,
                                size_t errlen);

#endif
