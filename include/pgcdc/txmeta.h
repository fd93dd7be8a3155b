/*
 * txmeta.h - Debezium's transaction metadata (provide.transaction.metadata):
 * the counts behind each event's transaction block and the BEGIN and END
 * records of the transaction topic.
 *
 * Debezium's PostgreSQL connector names a transaction "<xid>:<lsn>", where
 * the LSN is that of the message being handled: the Begin's for BEGIN,
 * each change's own for its block, the Commit's for END. total_order counts
 * the transaction's data events (not tombstones, not logical messages) from
 * 1, data_collection_order those of one table; END carries the totals, one
 * entry per table in the iteration order of the java.util.HashMap Debezium
 * keeps them in.
 *
 * The counts are pure state, fed by the pipeline. An event is counted once
 * whatever the number of attempts to produce it: the pipeline hands each
 * event's index in its transaction, and an index seen before gets the
 * orders it got then (only the last one counted can be asked again).
 * Memory grows with the number of tables in a transaction, never with its
 * events.
 */
#ifndef PGCDC_TXMETA_H
#define PGCDC_TXMETA_H

#include <stddef.h>
#include <stdint.h>

#include "pgcdc/change.h"
#include "pgcdc/lsn.h"

/* Room for "<xid>:<lsn>" in decimal, and its NUL. */
#define PGCDC_TXMETA_ID_LEN 32

/* One table's count in an END record. */
struct pgcdc_txn_collection {
    const char *name; /* "schema.table" */
    int64_t count;    /* its data events in the transaction */
};

/* A BEGIN or END record of the transaction topic. */
struct pgcdc_txn_record {
    bool end;                                        /* END, else BEGIN */
    const char *id;                                  /* "<xid>:<lsn>" */
    int64_t ts_ms;                                   /* commit time, ms since 1970 */
    int64_t event_count;                             /* END: data events */
    size_t ncollections;                             /* END: entries in collections */
    const struct pgcdc_txn_collection *collections;  /* END: per table, Debezium's order */
};

struct pgcdc_txmeta;

/* Returns 0 or -ENOMEM. */
int pgcdc_txmeta_new(struct pgcdc_txmeta **out /* OUT */);

/* NULL-safe; sets *tp to NULL. */
void pgcdc_txmeta_free(struct pgcdc_txmeta **tp);

/* A transaction starts: xid, the Begin's LSN, its commit time (us since
 * 1970). Forgets the counts of the one before. */
void pgcdc_txmeta_begin(struct pgcdc_txmeta *t, uint32_t xid, pgcdc_lsn lsn, int64_t commit_us);

/* The BEGIN record of the current transaction; valid until the next call. */
void pgcdc_txmeta_begin_record(struct pgcdc_txmeta *t, struct pgcdc_txn_record *r /* OUT */);

/*
 * A data event of table nspname.relname at lsn, the index-th event the
 * pipeline produces in the transaction: fills *block (its id text lives in
 * t until the next call). Returns 0 or -ENOMEM.
 */
int pgcdc_txmeta_event(struct pgcdc_txmeta *t, const char *nspname, const char *relname,
                       pgcdc_lsn lsn, uint64_t index, struct pgcdc_txn_block *block /* OUT */);

/* Takes back the count of the event at index, the last one counted, when
 * it was not produced after all (a failure the configuration skips).
 * Another index is ignored. */
void pgcdc_txmeta_forget(struct pgcdc_txmeta *t, uint64_t index);

/* The END record for a Commit at lsn; valid until the next call that
 * changes t. Returns 0 or -ENOMEM. */
int pgcdc_txmeta_end_record(struct pgcdc_txmeta *t, pgcdc_lsn lsn,
                            struct pgcdc_txn_record *r /* OUT */);

#endif
