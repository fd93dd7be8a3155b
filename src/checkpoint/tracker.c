/*
 * tracker.c - in-flight transactions and the safe LSN.
 *
 * Transactions get consecutive sequence numbers, which are their handles.
 * The ones between head (oldest not yet complete) and next (the next to be
 * begun) live in a power-of-two ring at index seq & mask, so a handle is
 * checked and found with one comparison and one mask. A transaction leaves
 * the ring only from the head, once it is committed and all its events are
 * acknowledged; that is the moment the safe LSN moves to its end_lsn. Each
 * transaction is popped once, so advancing costs O(1) amortised per call.
 *
 * Only counts are kept per transaction, never events, so memory depends on
 * how many transactions are in flight, not on their size. The ring doubles
 * when full and never shrinks.
 *
 * Idle advance: idle_wal_end is the highest walEnd noted while no
 * transaction was open. Everything committed below it had been received when
 * it arrived, and everything received after it commits at or above it, so it
 * is safe to confirm as soon as the ring is empty. See tracker.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "pgcdc/tracker.h"

struct txn_slot {
    pgcdc_lsn commit_lsn; /* Begin.final_lsn */
    pgcdc_lsn end_lsn;    /* Commit.end_lsn, once committed */
    uint64_t produced;    /* events handed to the sink */
    uint64_t reported;    /* delivery reports received, good or bad */
    uint64_t skipped;     /* leading events delivered before the start (set_partial) */
    uint64_t prefix;      /* produced count when all produced were last delivered */
    bool committed;       /* Commit seen */
    bool failed;          /* some delivery failed: never completes */
};

struct pgcdc_tracker {
    struct txn_slot *ring;    /* in-flight transactions, at seq & mask */
    uint64_t mask;            /* ring size - 1; the size is a power of two */
    uint64_t head;            /* seq of the oldest in-flight transaction */
    uint64_t next;            /* seq the next begin gets */
    uint64_t open;            /* transactions begun and not committed */
    pgcdc_lsn start_lsn;      /* position the tracker was created at */
    pgcdc_lsn safe_lsn;       /* monotonic result */
    pgcdc_lsn idle_wal_end;   /* highest walEnd seen with no transaction open */
    pgcdc_lsn last_wal_end;   /* highest walEnd seen at all (metrics) */
    pgcdc_lsn partial_lsn;    /* commit LSN of the stored partial transaction, 0 = none */
    uint64_t partial_events;  /* its events delivered before the start */
    uint64_t events_produced; /* total produced */
    uint64_t events_acked;    /* total acknowledged */
    uint64_t events_failed;   /* total failed */
    uint64_t txns_completed;  /* total popped from the ring */
};

int pgcdc_tracker_new(struct pgcdc_tracker **out, pgcdc_lsn start_lsn, size_t initial_capacity,
                      char *err, size_t errlen)
{
    struct pgcdc_tracker *t;
    size_t cap = 1;
    size_t want = initial_capacity ? initial_capacity : PGCDC_TRACKER_DEFAULT_CAPACITY;

    *out = NULL;
    if (want > ((size_t)1 << 30)) {
        snprintf(err, errlen, "tracker: initial capacity %zu is too large", want);
        return -EINVAL;
    }
    while (cap < want)
        cap <<= 1;

    t = calloc(1, sizeof(*t));
    if (!t)
        goto nomem;
    t->ring = calloc(cap, sizeof(*t->ring));
    if (!t->ring)
        goto nomem;
    t->mask = cap - 1;
    t->head = 1; /* handle 0 stays invalid */
    t->next = 1;
    t->start_lsn = start_lsn;
    t->safe_lsn = start_lsn;
    *out = t;
    return 0;

nomem:
    free(t);
    snprintf(err, errlen, "tracker: out of memory");
    return -ENOMEM;
}

void pgcdc_tracker_free(struct pgcdc_tracker *t)
{
    if (!t)
        return;
    free(t->ring);
    free(t);
}

bool pgcdc_tracker_should_skip(const struct pgcdc_tracker *t, pgcdc_lsn commit_lsn)
{
    return commit_lsn < t->start_lsn;
}

/* The live slot of handle, or NULL when it is not in flight. */
static struct txn_slot *lookup(struct pgcdc_tracker *t, uint64_t handle)
{
    if (handle < t->head || handle >= t->next)
        return NULL;
    return &t->ring[handle & t->mask];
}

static void raise_safe(struct pgcdc_tracker *t, pgcdc_lsn lsn)
{
    if (lsn > t->safe_lsn)
        t->safe_lsn = lsn;
}

/* Pops every complete transaction at the head, then applies the idle walEnd
 * when nothing is left in flight. */
static void advance(struct pgcdc_tracker *t)
{
    while (t->head < t->next) {
        const struct txn_slot *s = &t->ring[t->head & t->mask];

        if (!s->committed || s->failed || s->reported < s->produced)
            break;
        raise_safe(t, s->end_lsn);
        t->head++;
        t->txns_completed++;
    }
    if (t->head == t->next)
        raise_safe(t, t->idle_wal_end);
}

/* Doubles the ring, keeping every in-flight slot at its seq's new index. */
static int grow(struct pgcdc_tracker *t)
{
    uint64_t old_cap = t->mask + 1;
    uint64_t new_cap = old_cap * 2;
    struct txn_slot *ring;

    if (new_cap > SIZE_MAX / sizeof(*ring))
        return -ENOMEM;
    ring = calloc((size_t)new_cap, sizeof(*ring));
    if (!ring)
        return -ENOMEM;
    for (uint64_t seq = t->head; seq < t->next; seq++)
        ring[seq & (new_cap - 1)] = t->ring[seq & t->mask];
    free(t->ring);
    t->ring = ring;
    t->mask = new_cap - 1;
    return 0;
}

int pgcdc_tracker_begin(struct pgcdc_tracker *t, pgcdc_lsn commit_lsn, uint64_t *handle)
{
    struct txn_slot *s;

    if (t->next - t->head > t->mask) {
        int rc = grow(t);

        if (rc < 0)
            return rc;
    }
    s = &t->ring[t->next & t->mask];
    *s = (struct txn_slot){.commit_lsn = commit_lsn};
    if (t->partial_lsn != 0 && commit_lsn == t->partial_lsn)
        s->skipped = t->partial_events;
    *handle = t->next;
    t->next++;
    t->open++;
    return 0;
}

int pgcdc_tracker_produced(struct pgcdc_tracker *t, uint64_t handle)
{
    struct txn_slot *s = lookup(t, handle);

    if (!s)
        return -ENOENT;
    if (s->committed)
        return -EINVAL;
    s->produced++;
    t->events_produced++;
    return 0;
}

int pgcdc_tracker_unproduced(struct pgcdc_tracker *t, uint64_t handle)
{
    struct txn_slot *s = lookup(t, handle);

    if (!s)
        return -ENOENT;
    if (s->reported >= s->produced)
        return -EINVAL;
    s->produced--;
    t->events_produced--;
    if (!s->failed && s->reported == s->produced)
        s->prefix = s->produced;
    advance(t);
    return 0;
}

void pgcdc_tracker_set_partial(struct pgcdc_tracker *t, pgcdc_lsn commit_lsn, uint64_t events)
{
    t->partial_lsn = events ? commit_lsn : 0;
    t->partial_events = commit_lsn ? events : 0;
}

uint64_t pgcdc_tracker_skip(const struct pgcdc_tracker *t, uint64_t handle)
{
    if (handle < t->head || handle >= t->next)
        return 0;
    return t->ring[handle & t->mask].skipped;
}

bool pgcdc_tracker_partial(const struct pgcdc_tracker *t, pgcdc_lsn *commit_lsn,
                           uint64_t *events)
{
    if (t->head < t->next) {
        const struct txn_slot *s = &t->ring[t->head & t->mask];
        uint64_t n = s->skipped + s->prefix;

        if (n == 0)
            return false;
        *commit_lsn = s->commit_lsn;
        *events = n;
        return true;
    }
    /* Not begun in this run: still owed to the restart after this one,
     * unless the safe LSN has moved past it. */
    if (t->partial_lsn == 0 || t->partial_lsn < t->safe_lsn)
        return false;
    *commit_lsn = t->partial_lsn;
    *events = t->partial_events;
    return true;
}

int pgcdc_tracker_commit(struct pgcdc_tracker *t, uint64_t handle, pgcdc_lsn end_lsn)
{
    struct txn_slot *s = lookup(t, handle);

    if (!s)
        return -ENOENT;
    if (s->committed || end_lsn < s->commit_lsn)
        return -EINVAL;
    s->committed = true;
    s->end_lsn = end_lsn;
    t->open--;
    advance(t);
    return 0;
}

/* One delivery report for handle; failed says which kind. */
static int report(struct pgcdc_tracker *t, uint64_t handle, bool failed)
{
    struct txn_slot *s = lookup(t, handle);

    if (!s)
        return -ENOENT;
    if (s->reported >= s->produced)
        return -EINVAL;
    s->reported++;
    if (failed) {
        s->failed = true;
        t->events_failed++;
    } else {
        t->events_acked++;
    }
    /* Every event produced so far is reported, none failed: a prefix of
     * the transaction that is certainly delivered. */
    if (!s->failed && s->reported == s->produced)
        s->prefix = s->produced;
    advance(t);
    return 0;
}

int pgcdc_tracker_acked(struct pgcdc_tracker *t, uint64_t handle)
{
    return report(t, handle, false);
}

int pgcdc_tracker_failed(struct pgcdc_tracker *t, uint64_t handle)
{
    return report(t, handle, true);
}

void pgcdc_tracker_keepalive(struct pgcdc_tracker *t, pgcdc_lsn wal_end)
{
    if (wal_end > t->last_wal_end)
        t->last_wal_end = wal_end;
    if (t->open > 0)
        return;
    if (wal_end > t->idle_wal_end)
        t->idle_wal_end = wal_end;
    advance(t);
}

pgcdc_lsn pgcdc_tracker_safe_lsn(const struct pgcdc_tracker *t)
{
    return t->safe_lsn;
}

uint64_t pgcdc_tracker_txns_in_flight(const struct pgcdc_tracker *t)
{
    return t->next - t->head;
}

uint64_t pgcdc_tracker_events_in_flight(const struct pgcdc_tracker *t)
{
    return t->events_produced - t->events_acked - t->events_failed;
}

bool pgcdc_tracker_has_failed(const struct pgcdc_tracker *t)
{
    return t->events_failed > 0;
}

void pgcdc_tracker_stats(const struct pgcdc_tracker *t, struct pgcdc_tracker_stats *out)
{
    out->safe_lsn = t->safe_lsn;
    out->last_wal_end = t->last_wal_end;
    out->txns_in_flight = t->next - t->head;
    out->txns_open = t->open;
    out->txns_completed = t->txns_completed;
    out->events_in_flight = pgcdc_tracker_events_in_flight(t);
    out->events_acked = t->events_acked;
    out->events_failed = t->events_failed;
}
