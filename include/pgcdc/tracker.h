/*
 * tracker.h - in-flight transactions and the safe LSN.
 *
 * The pipeline reads PostgreSQL transactions in commit order and hands their
 * events to a sink, whose delivery reports come back later, in any order
 * across transactions, possibly before the transaction's Commit has been read.
 * The tracker turns that into the one position that may be confirmed to the
 * server and persisted: the safe LSN.
 *
 * Calls, per transaction:
 *
 *   Begin     pgcdc_tracker_begin(t, final_lsn, &h)   h: the transaction handle
 *   change    pgcdc_tracker_produced(t, h)            once per event given to the sink
 *   Commit    pgcdc_tracker_commit(t, h, end_lsn)
 *   report    pgcdc_tracker_acked(t, h)               once per delivered event
 *             pgcdc_tracker_failed(t, h)              once per event that was not
 *
 * and pgcdc_tracker_keepalive(t, wal_end) for the walEnd of every keepalive
 * (and, if convenient, of every XLogData frame).
 *
 * The safe LSN is the Commit.end_lsn of the newest committed transaction whose
 * events are all acknowledged and which has no unacknowledged transaction
 * before it. Confirming it never makes the server skip an undelivered
 * transaction, because the server skips exactly the transactions whose commit
 * LSN is below the confirmed position. A transaction with no events completes
 * at its commit.
 *
 * Idle advance: a walEnd received while no transaction is open is a point
 * before which the server has already sent every committed transaction (it
 * sends in commit order, and its walEnd is how far it has decoded). Once
 * everything received so far is acknowledged (nothing open, nothing
 * unacknowledged) the safe LSN moves up to the highest such walEnd, so an idle
 * database does not retain WAL. A walEnd received while a transaction is open
 * may lie inside that transaction and is never used. This reasoning assumes
 * transactions arrive whole (no protocol 2 streaming of in-progress ones).
 *
 * A failed delivery pins the safe LSN below that transaction for the life of
 * the tracker: the caller is expected to stop and restart from the position.
 *
 * Part of a transaction: the oldest transaction in flight may have a prefix
 * of its events delivered (a stop in the middle of a large transaction).
 * The tracker remembers, per transaction, how many of its first events were
 * certainly delivered: the produced count at the last moment every event
 * produced so far had been reported delivered (reports may come in any
 * order, so only such moments prove a contiguous prefix). pgcdc_tracker_partial
 * gives it for the oldest transaction, to be stored with the safe LSN; after
 * a restart, pgcdc_tracker_set_partial hands the stored count back, and the
 * transaction's first that many events count as delivered without being
 * produced again (pgcdc_tracker_skip says how many to drop).
 *
 * The safe LSN never goes backwards and never falls below the start position.
 *
 * Handles are 64-bit sequence numbers (never 0), carried as the sink
 * message's txn (a Kafka message opaque on 64-bit platforms); lookups are O(1) in a ring of
 * in-flight transactions that doubles when full (the only allocation after pgcdc_tracker_new).
 * Nothing is allocated per event. Not thread-safe: call from the pipeline's thread.
 */
#ifndef PGCDC_TRACKER_H
#define PGCDC_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/lsn.h"

struct pgcdc_tracker;

/* Never a valid transaction handle. */
#define PGCDC_TRACKER_NO_TXN 0

/* Ring size used when pgcdc_tracker_new is given 0. */
#define PGCDC_TRACKER_DEFAULT_CAPACITY 256

/* Figures for metrics. */
struct pgcdc_tracker_stats {
    pgcdc_lsn safe_lsn;        /* what pgcdc_tracker_safe_lsn returns */
    pgcdc_lsn last_wal_end;    /* highest walEnd seen, open transaction or not */
    uint64_t txns_in_flight;   /* begun and not yet complete (open ones included) */
    uint64_t txns_open;        /* begun and not yet committed */
    uint64_t txns_completed;   /* committed with every event acknowledged */
    uint64_t events_in_flight; /* produced and not yet reported */
    uint64_t events_acked;     /* delivery reports of success */
    uint64_t events_failed;    /* delivery reports of failure */
};

/*
 * Creates a tracker whose safe LSN starts at start_lsn: the end_lsn of the
 * stored position (0 when there is none). initial_capacity is the number of
 * in-flight transactions held before the ring first grows (0 = default;
 * rounded up to a power of two). 0, or -ENOMEM/-EINVAL with text in err.
 */
int pgcdc_tracker_new(struct pgcdc_tracker **out /* OUT */, pgcdc_lsn start_lsn,
                      size_t initial_capacity, char *err, size_t errlen);

/* Frees the tracker. NULL-safe. */
void pgcdc_tracker_free(struct pgcdc_tracker *t);

/*
 * True when a transaction with this commit LSN (Begin.final_lsn) was already
 * delivered before the start position and must be dropped without calling
 * begin: commit_lsn < start_lsn. A transaction whose commit LSN equals the
 * start position is new (the previous one ended there).
 */
bool pgcdc_tracker_should_skip(const struct pgcdc_tracker *t, pgcdc_lsn commit_lsn);

/*
 * Starts tracking a transaction at its Begin; commit_lsn is Begin.final_lsn.
 * Sets *handle to its handle. 0, or -ENOMEM when the ring could not grow
 * (nothing changed).
 */
int pgcdc_tracker_begin(struct pgcdc_tracker *t, pgcdc_lsn commit_lsn, uint64_t *handle /* OUT */);

/*
 * Counts one event of an open transaction as handed to the sink: call it just
 * before the sink's produce, so that no report can ever come for an event not
 * counted; take it back with pgcdc_tracker_unproduced when the sink refuses it.
 * 0; -ENOENT for an unknown or finished handle; -EINVAL after its commit.
 */
int pgcdc_tracker_produced(struct pgcdc_tracker *t, uint64_t handle);

/*
 * Takes back the last pgcdc_tracker_produced of handle, for an event the sink
 * refused (nothing was queued, so no report will come for it). 0; -ENOENT for
 * an unknown handle; -EINVAL when it has no unreported event (nothing changed).
 */
int pgcdc_tracker_unproduced(struct pgcdc_tracker *t, uint64_t handle);

/*
 * The stored position said that the first events of the transaction
 * committing at commit_lsn were delivered before: when that transaction is
 * begun, its first events count as delivered (see pgcdc_tracker_skip).
 * Call it right after pgcdc_tracker_new; commit_lsn 0 (or events 0) = none.
 */
void pgcdc_tracker_set_partial(struct pgcdc_tracker *t, pgcdc_lsn commit_lsn, uint64_t events);

/* How many leading events of the transaction handle are already delivered
 * (set_partial) and must be dropped rather than produced: 0 for any other. */
uint64_t pgcdc_tracker_skip(const struct pgcdc_tracker *t, uint64_t handle);

/*
 * The part of the oldest transaction in flight known to be delivered: sets
 * *commit_lsn and *events (its first events, those skipped included) and
 * returns true when there is such a part; false when the safe LSN says it
 * all. A stored partial transaction not begun yet is still reported while the
 * safe LSN has not passed it.
 */
bool pgcdc_tracker_partial(const struct pgcdc_tracker *t, pgcdc_lsn *commit_lsn /* OUT */,
                           uint64_t *events /* OUT */);

/*
 * Marks the transaction committed at Commit.end_lsn (>= its commit LSN); it
 * completes as soon as its events are all acknowledged, at once if it has
 * none. 0; -ENOENT for an unknown handle; -EINVAL when already committed or
 * end_lsn is below the commit LSN (nothing changed).
 */
int pgcdc_tracker_commit(struct pgcdc_tracker *t, uint64_t handle, pgcdc_lsn end_lsn);

/*
 * Records one successful delivery report of an event of this transaction.
 * 0; -ENOENT for an unknown or finished handle; -EINVAL when the transaction
 * has no unreported event left (nothing changed).
 */
int pgcdc_tracker_acked(struct pgcdc_tracker *t, uint64_t handle);

/*
 * Records one failed delivery report: the event counts as reported, and the
 * safe LSN will never reach this transaction's end. Same returns as acked.
 */
int pgcdc_tracker_failed(struct pgcdc_tracker *t, uint64_t handle);

/*
 * Notes the server's walEnd from a keepalive (or an XLogData frame). Used for
 * the idle advance only when no transaction is open at this call; see the top
 * of this file.
 */
void pgcdc_tracker_keepalive(struct pgcdc_tracker *t, pgcdc_lsn wal_end);

/* The LSN that may be confirmed (standby status flush) and persisted. */
pgcdc_lsn pgcdc_tracker_safe_lsn(const struct pgcdc_tracker *t);

/* Transactions begun and not yet complete: the backpressure window. */
uint64_t pgcdc_tracker_txns_in_flight(const struct pgcdc_tracker *t);

/* Events produced and not yet reported (acked or failed). */
uint64_t pgcdc_tracker_events_in_flight(const struct pgcdc_tracker *t);

/* True once any delivery has failed. */
bool pgcdc_tracker_has_failed(const struct pgcdc_tracker *t);

/* Fills *out with the current figures. */
void pgcdc_tracker_stats(const struct pgcdc_tracker *t, struct pgcdc_tracker_stats *out /* OUT */);

#endif
