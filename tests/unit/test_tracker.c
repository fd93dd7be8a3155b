/*
 * test_tracker.c - the checkpoint tracker: which LSN may be confirmed.
 *
 * The property that matters to a user: the safe LSN never passes a
 * transaction with an undelivered event (or the server would skip it after a
 * restart and the event would be lost), yet it moves as far as it can (or the
 * server retains WAL and resends what was already delivered). Hand-written
 * scenarios check the rules one by one; a randomised run compares the tracker
 * with a naive list-based model over many interleavings.
 */
#include <errno.h>
#include <stdlib.h>

#include <criterion/criterion.h>

#include "pgcdc/tracker.h"

static struct pgcdc_tracker *tracker_at(pgcdc_lsn start, size_t capacity)
{
    struct pgcdc_tracker *t = NULL;
    char err[256] = "";

    cr_assert_eq(pgcdc_tracker_new(&t, start, capacity, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(t);
    return t;
}

/* Begins a transaction and produces n events in it. */
static uint64_t txn_with(struct pgcdc_tracker *t, pgcdc_lsn commit_lsn, unsigned n)
{
    uint64_t h = PGCDC_TRACKER_NO_TXN;

    cr_assert_eq(pgcdc_tracker_begin(t, commit_lsn, &h), 0);
    cr_assert_neq(h, PGCDC_TRACKER_NO_TXN);
    for (unsigned i = 0; i < n; i++)
        cr_assert_eq(pgcdc_tracker_produced(t, h), 0);
    return h;
}

static void ack_n(struct pgcdc_tracker *t, uint64_t h, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        cr_assert_eq(pgcdc_tracker_acked(t, h), 0);
}

Test(tracker, starts_at_the_start_position)
{
    struct pgcdc_tracker *t = tracker_at(0x16B374D848, 0);

    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 0x16B374D848);
    cr_assert_eq(pgcdc_tracker_txns_in_flight(t), 0);
    cr_assert_eq(pgcdc_tracker_events_in_flight(t), 0);
    cr_assert_not(pgcdc_tracker_has_failed(t));
    pgcdc_tracker_free(t);
    pgcdc_tracker_free(NULL);
}

Test(tracker, one_transaction_is_safe_only_after_its_last_ack)
{
    struct pgcdc_tracker *t = tracker_at(100, 0);
    uint64_t h = txn_with(t, 200, 3);

    cr_assert_eq(pgcdc_tracker_commit(t, h, 210), 0);
    cr_assert_eq(pgcdc_tracker_txns_in_flight(t), 1);
    cr_assert_eq(pgcdc_tracker_events_in_flight(t), 3);
    ack_n(t, h, 2);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 100);
    cr_assert_eq(pgcdc_tracker_events_in_flight(t), 1);
    ack_n(t, h, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 210, "safe must be the commit's end_lsn");
    cr_assert_eq(pgcdc_tracker_txns_in_flight(t), 0);
    cr_assert_eq(pgcdc_tracker_events_in_flight(t), 0);
    pgcdc_tracker_free(t);
}

Test(tracker, out_of_order_acks_across_transactions)
{
    struct pgcdc_tracker *t = tracker_at(0, 0);
    uint64_t a = txn_with(t, 1000, 2);
    cr_assert_eq(pgcdc_tracker_commit(t, a, 1010), 0);
    uint64_t b = txn_with(t, 2000, 2);
    cr_assert_eq(pgcdc_tracker_commit(t, b, 2010), 0);
    uint64_t c = txn_with(t, 3000, 2);
    cr_assert_eq(pgcdc_tracker_commit(t, c, 3010), 0);

    /* The newest completes first: nothing before it is done. */
    ack_n(t, c, 2);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 0);
    ack_n(t, b, 1);
    ack_n(t, a, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 0);
    cr_assert_eq(pgcdc_tracker_txns_in_flight(t), 3);
    cr_assert_eq(pgcdc_tracker_events_in_flight(t), 2);

    ack_n(t, a, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 1010, "a done, b still waiting");
    cr_assert_eq(pgcdc_tracker_txns_in_flight(t), 2);

    ack_n(t, b, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 3010, "b done releases the already acked c");
    cr_assert_eq(pgcdc_tracker_txns_in_flight(t), 0);
    pgcdc_tracker_free(t);
}

Test(tracker, acks_before_commit_wait_for_the_commit)
{
    struct pgcdc_tracker *t = tracker_at(50, 0);
    uint64_t h = txn_with(t, 500, 2);

    ack_n(t, h, 2);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 50, "an open transaction is never safe");
    cr_assert_eq(pgcdc_tracker_events_in_flight(t), 0);
    cr_assert_eq(pgcdc_tracker_txns_in_flight(t), 1);
    /* More events may still come after early acks. */
    cr_assert_eq(pgcdc_tracker_produced(t, h), 0);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 520), 0);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 50);
    ack_n(t, h, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 520);
    pgcdc_tracker_free(t);
}

Test(tracker, zero_event_transaction_completes_at_commit)
{
    struct pgcdc_tracker *t = tracker_at(0, 0);
    uint64_t h = txn_with(t, 700, 0);

    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 0);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 710), 0);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 710);
    cr_assert_eq(pgcdc_tracker_txns_in_flight(t), 0);
    pgcdc_tracker_free(t);
}

Test(tracker, zero_event_transaction_waits_behind_an_unacked_one)
{
    struct pgcdc_tracker *t = tracker_at(0, 0);
    uint64_t a = txn_with(t, 100, 1);
    cr_assert_eq(pgcdc_tracker_commit(t, a, 110), 0);
    uint64_t empty = txn_with(t, 200, 0);
    cr_assert_eq(pgcdc_tracker_commit(t, empty, 210), 0);

    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 0, "must not jump over the unacked transaction");
    ack_n(t, a, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 210);
    pgcdc_tracker_free(t);
}

Test(tracker, idle_keepalive_advances)
{
    struct pgcdc_tracker *t = tracker_at(1000, 0);

    pgcdc_tracker_keepalive(t, 5000);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 5000);
    pgcdc_tracker_keepalive(t, 9000);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 9000);
    pgcdc_tracker_free(t);
}

Test(tracker, keepalive_while_a_transaction_is_open_is_never_used)
{
    struct pgcdc_tracker *t = tracker_at(1000, 0);
    uint64_t h = txn_with(t, 2000, 1);

    /* walEnd can lie beyond the open transaction's commit record. */
    pgcdc_tracker_keepalive(t, 2500);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 1000);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 2010), 0);
    ack_n(t, h, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 2010,
                 "the walEnd seen while open must not be confirmed later");
    pgcdc_tracker_free(t);
}

Test(tracker, keepalive_with_unacked_transactions_waits_until_they_are_acked)
{
    struct pgcdc_tracker *t = tracker_at(0, 0);
    uint64_t h = txn_with(t, 2000, 1);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 2010), 0);

    /* Nothing open, but something unacknowledged: not yet. */
    pgcdc_tracker_keepalive(t, 3000);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 0);
    ack_n(t, h, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 3000,
                 "once everything received is acked, the idle walEnd applies");
    pgcdc_tracker_free(t);
}

Test(tracker, keepalive_is_not_applied_while_a_later_transaction_is_in_flight)
{
    struct pgcdc_tracker *t = tracker_at(0, 0);
    uint64_t a = txn_with(t, 100, 1);
    cr_assert_eq(pgcdc_tracker_commit(t, a, 110), 0);
    pgcdc_tracker_keepalive(t, 150);
    uint64_t b = txn_with(t, 200, 1);

    ack_n(t, a, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 110, "a is done; the walEnd waits for b");
    pgcdc_tracker_keepalive(t, 400); /* b is open: ignored */
    cr_assert_eq(pgcdc_tracker_commit(t, b, 210), 0);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 110, "b is not acknowledged");
    ack_n(t, b, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 210, "400 was seen while b was open");
    pgcdc_tracker_keepalive(t, 450);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 450);
    pgcdc_tracker_free(t);
}

Test(tracker, never_goes_backwards)
{
    struct pgcdc_tracker *t = tracker_at(5000, 0);

    pgcdc_tracker_keepalive(t, 10); /* below the start */
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 5000);
    pgcdc_tracker_keepalive(t, 0);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 5000);

    pgcdc_tracker_keepalive(t, 8000);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 8000);
    /* Transactions ending below what is already safe change nothing, even
     * while another is still in flight. */
    uint64_t h = txn_with(t, 6000, 1);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 6010), 0);
    uint64_t g = txn_with(t, 7000, 1);
    cr_assert_eq(pgcdc_tracker_commit(t, g, 7010), 0);
    ack_n(t, h, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 8000);
    ack_n(t, g, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 8000);
    h = txn_with(t, 4000, 0);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 4010), 0);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 8000);
    pgcdc_tracker_keepalive(t, 7000);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 8000);
    pgcdc_tracker_free(t);
}

Test(tracker, should_skip_boundary)
{
    struct pgcdc_tracker *t = tracker_at(0x10000, 0);

    cr_assert(pgcdc_tracker_should_skip(t, 0));
    cr_assert(pgcdc_tracker_should_skip(t, 0xFFFF), "committed before the stored end: resent");
    cr_assert_not(pgcdc_tracker_should_skip(t, 0x10000),
                  "a commit at the stored end_lsn is the next transaction");
    cr_assert_not(pgcdc_tracker_should_skip(t, 0x10001));
    pgcdc_tracker_free(t);

    t = tracker_at(0, 0);
    cr_assert_not(pgcdc_tracker_should_skip(t, 0), "no position: nothing is skipped");
    pgcdc_tracker_free(t);
}

Test(tracker, failed_delivery_pins_the_safe_lsn)
{
    struct pgcdc_tracker *t = tracker_at(0, 0);
    uint64_t a = txn_with(t, 100, 1);
    cr_assert_eq(pgcdc_tracker_commit(t, a, 110), 0);
    uint64_t b = txn_with(t, 200, 2);
    cr_assert_eq(pgcdc_tracker_commit(t, b, 210), 0);
    uint64_t c = txn_with(t, 300, 1);
    cr_assert_eq(pgcdc_tracker_commit(t, c, 310), 0);

    ack_n(t, a, 1);
    cr_assert_eq(pgcdc_tracker_failed(t, b), 0);
    ack_n(t, b, 1);
    ack_n(t, c, 1);
    cr_assert(pgcdc_tracker_has_failed(t));
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 110, "must stop before the failed transaction");
    cr_assert_eq(pgcdc_tracker_events_in_flight(t), 0, "a failure is a report too");
    pgcdc_tracker_keepalive(t, 99999);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 110, "not even when idle");

    struct pgcdc_tracker_stats st;
    pgcdc_tracker_stats(t, &st);
    cr_assert_eq(st.events_failed, 1);
    cr_assert_eq(st.events_acked, 3);
    cr_assert_eq(st.txns_completed, 1);
    cr_assert_eq(st.txns_in_flight, 2);
    cr_assert_eq(st.last_wal_end, 99999);
    pgcdc_tracker_free(t);
}

Test(tracker, misuse_is_rejected_without_changing_state)
{
    struct pgcdc_tracker *t = tracker_at(0, 0);
    uint64_t h = txn_with(t, 100, 1);

    cr_assert_eq(pgcdc_tracker_acked(t, PGCDC_TRACKER_NO_TXN), -ENOENT);
    cr_assert_eq(pgcdc_tracker_acked(t, h + 1), -ENOENT);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 99), -EINVAL, "end_lsn below the commit");
    ack_n(t, h, 1);
    cr_assert_eq(pgcdc_tracker_acked(t, h), -EINVAL, "more acks than events");
    cr_assert_eq(pgcdc_tracker_failed(t, h), -EINVAL);
    cr_assert_eq(pgcdc_tracker_events_in_flight(t), 0);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 110), 0);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 110);
    /* Finished: the handle is gone. */
    cr_assert_eq(pgcdc_tracker_acked(t, h), -ENOENT);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 110), -ENOENT);

    uint64_t g = txn_with(t, 200, 1);
    cr_assert_eq(pgcdc_tracker_commit(t, g, 210), 0);
    cr_assert_eq(pgcdc_tracker_commit(t, g, 220), -EINVAL, "committed twice");
    cr_assert_eq(pgcdc_tracker_produced(t, g), -EINVAL, "event after commit");
    cr_assert_eq(pgcdc_tracker_events_in_flight(t), 1);
    ack_n(t, g, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 210);
    pgcdc_tracker_free(t);
}

Test(tracker, ring_grows_with_thousands_in_flight)
{
    enum { N = 10000 };
    struct pgcdc_tracker *t = tracker_at(1, 4);
    uint64_t *h = calloc(N, sizeof(*h));

    cr_assert_not_null(h);
    for (int i = 0; i < N; i++) {
        h[i] = txn_with(t, 1000 + 100 * (pgcdc_lsn)i, 2);
        cr_assert_eq(pgcdc_tracker_commit(t, h[i], 1000 + 100 * (pgcdc_lsn)i + 10), 0);
        /* Half the events acked early, so slots carry state across growth. */
        ack_n(t, h[i], 1);
    }
    cr_assert_eq(pgcdc_tracker_txns_in_flight(t), N);
    cr_assert_eq(pgcdc_tracker_events_in_flight(t), N);
    /* Newest first: nothing is safe until the oldest is done. */
    for (int i = N - 1; i >= 1; i--)
        ack_n(t, h[i], 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 1);
    cr_assert_eq(pgcdc_tracker_txns_in_flight(t), N);
    ack_n(t, h[0], 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 1000 + 100 * (pgcdc_lsn)(N - 1) + 10);
    cr_assert_eq(pgcdc_tracker_txns_in_flight(t), 0);

    /* Wrap-around of a grown ring keeps working. */
    for (int round = 0; round < 3 * N; round++) {
        pgcdc_lsn c = 10000000 + 100 * (pgcdc_lsn)round;
        uint64_t x = txn_with(t, c, 1);
        cr_assert_eq(pgcdc_tracker_commit(t, x, c + 10), 0);
        ack_n(t, x, 1);
        cr_assert_eq(pgcdc_tracker_safe_lsn(t), c + 10);
    }
    free(h);
    pgcdc_tracker_free(t);
}

/* ---- randomised comparison with a naive model ---- */

struct model_txn {
    uint64_t handle;      /* tracker handle */
    pgcdc_lsn commit_lsn; /* Begin.final_lsn */
    pgcdc_lsn end_lsn;    /* Commit.end_lsn (chosen at begin) */
    unsigned produced;    /* events produced */
    unsigned reported;    /* acked + failed */
    bool committed;       /* commit called */
    bool failed;          /* a failed report */
};

struct model {
    struct model_txn *txns; /* every transaction ever begun, in order */
    size_t ntxns;           /* used */
    pgcdc_lsn start;        /* start position */
    pgcdc_lsn safe;         /* running maximum of the candidates */
    pgcdc_lsn idle_w;       /* highest walEnd seen with no open transaction */
    bool open;              /* the last transaction is open */
};

static bool model_done(const struct model_txn *m)
{
    return m->committed && !m->failed && m->reported == m->produced;
}

/* Recomputes the model's safe LSN from scratch, by walking the whole list. */
static void model_update(struct model *m)
{
    size_t k = 0;
    pgcdc_lsn cand = m->start;

    while (k < m->ntxns && model_done(&m->txns[k])) {
        if (m->txns[k].end_lsn > cand)
            cand = m->txns[k].end_lsn;
        k++;
    }
    if (k == m->ntxns && m->idle_w > cand)
        cand = m->idle_w;
    if (cand > m->safe)
        m->safe = cand;
}

static uint64_t rng_state;

static uint64_t rnd(uint64_t n)
{
    /* xorshift64*: deterministic across platforms for a fixed seed */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (rng_state * 0x2545F4914F6CDD1DULL) % n;
}

/* Compares the tracker with the model and checks the safety property. */
static void check(const struct pgcdc_tracker *t, const struct model *m, int round, int step)
{
    uint64_t events = 0;
    size_t in_flight = 0;
    bool prefix = true;
    pgcdc_lsn safe = pgcdc_tracker_safe_lsn(t);

    cr_assert_eq(safe, m->safe, "round %d step %d: safe %llu, model %llu", round, step,
                 (unsigned long long)safe, (unsigned long long)m->safe);
    for (size_t i = 0; i < m->ntxns; i++) {
        const struct model_txn *x = &m->txns[i];

        events += x->produced - x->reported;
        if (!model_done(x)) {
            prefix = false;
            /* The one property that loses data when broken. */
            cr_assert_leq(safe, x->commit_lsn,
                          "round %d step %d: safe %llu passes incomplete commit %llu", round, step,
                          (unsigned long long)safe, (unsigned long long)x->commit_lsn);
        }
        if (!prefix)
            in_flight++;
    }
    cr_assert_eq(pgcdc_tracker_events_in_flight(t), events, "round %d step %d", round, step);
    cr_assert_eq(pgcdc_tracker_txns_in_flight(t), in_flight, "round %d step %d", round, step);
}

static void random_round(int round, bool with_failures)
{
    enum { STEPS = 3000, MAX_TXNS = 3000, MAX_EVENTS = 20000 };
    struct model m = {0};
    size_t *pending = calloc(MAX_EVENTS, sizeof(*pending)); /* txn index per unreported event */
    size_t npending = 0;
    pgcdc_lsn cur;
    struct pgcdc_tracker *t;

    m.txns = calloc(MAX_TXNS, sizeof(*m.txns));
    cr_assert(m.txns && pending);
    m.start = rnd(2) ? 0 : 1000 + rnd(100000);
    m.safe = m.start;
    cur = m.start;
    t = tracker_at(m.start, 1 + rnd(4));

    for (int step = 0; step < STEPS; step++) {
        uint64_t r = rnd(100);
        struct model_txn *open = m.open ? &m.txns[m.ntxns - 1] : NULL;

        if (!open && r < 20 && m.ntxns < MAX_TXNS) {
            /* Begin: commits at or after everything the server sent so far. */
            struct model_txn *x = &m.txns[m.ntxns];

            x->commit_lsn = cur + rnd(3) * rnd(200);
            x->end_lsn = x->commit_lsn + 1 + rnd(60);
            cur = x->end_lsn;
            cr_assert(!pgcdc_tracker_should_skip(t, x->commit_lsn));
            cr_assert_eq(pgcdc_tracker_begin(t, x->commit_lsn, &x->handle), 0);
            m.ntxns++;
            m.open = true;
        } else if (open && r < 45 && npending < MAX_EVENTS) {
            cr_assert_eq(pgcdc_tracker_produced(t, open->handle), 0);
            open->produced++;
            pending[npending++] = m.ntxns - 1;
        } else if (open && r < 55) {
            cr_assert_eq(pgcdc_tracker_commit(t, open->handle, open->end_lsn), 0);
            open->committed = true;
            m.open = false;
        } else if (r < 62) {
            /* A keepalive: while open it may be anywhere, even past the
             * commit; when idle it is at or past everything sent, or
             * (rarely) a stale value below the start. */
            pgcdc_lsn w;

            if (open)
                w = open->commit_lsn + rnd(2000) - (open->commit_lsn >= 50 ? 50 : 0);
            else if (rnd(10) == 0)
                w = rnd(m.start + 1);
            else {
                w = cur + rnd(300);
                cur = w;
            }
            pgcdc_tracker_keepalive(t, w);
            if (!open && w > m.idle_w)
                m.idle_w = w;
        } else if (npending > 0) {
            /* A delivery report for a random outstanding event. */
            size_t i = (size_t)rnd(npending);
            struct model_txn *x = &m.txns[pending[i]];
            bool fail = with_failures && rnd(400) == 0;

            if (fail) {
                cr_assert_eq(pgcdc_tracker_failed(t, x->handle), 0);
                x->failed = true;
            } else {
                cr_assert_eq(pgcdc_tracker_acked(t, x->handle), 0);
            }
            x->reported++;
            pending[i] = pending[--npending];
        }
        model_update(&m);
        check(t, &m, round, step);
    }

    /* Drain: commit the open one, deliver everything. */
    if (m.open) {
        struct model_txn *x = &m.txns[m.ntxns - 1];
        cr_assert_eq(pgcdc_tracker_commit(t, x->handle, x->end_lsn), 0);
        x->committed = true;
        m.open = false;
    }
    while (npending > 0) {
        struct model_txn *x = &m.txns[pending[--npending]];
        cr_assert_eq(pgcdc_tracker_acked(t, x->handle), 0);
        x->reported++;
    }
    model_update(&m);
    check(t, &m, round, STEPS);
    if (!pgcdc_tracker_has_failed(t)) {
        cr_assert_eq(pgcdc_tracker_txns_in_flight(t), 0);
        if (m.ntxns > 0)
            cr_assert_geq(pgcdc_tracker_safe_lsn(t), m.txns[m.ntxns - 1].end_lsn,
                          "round %d: everything delivered, safe must reach the last end", round);
    }
    pgcdc_tracker_free(t);
    free(m.txns);
    free(pending);
}

Test(tracker, random_interleavings_match_the_model)
{
    rng_state = 0x9E3779B97F4A7C15ULL;
    for (int round = 0; round < 150; round++)
        random_round(round, false);
}

Test(tracker, random_interleavings_with_failures_match_the_model)
{
    rng_state = 0xD1B54A32D192ED03ULL;
    for (int round = 0; round < 150; round++)
        random_round(round, true);
}

Test(tracker, unproduced_takes_back_a_refused_event)
{
    struct pgcdc_tracker *t = tracker_at(100, 0);
    uint64_t h = txn_with(t, 200, 2);

    cr_assert_eq(pgcdc_tracker_unproduced(t, h), 0);
    cr_assert_eq(pgcdc_tracker_events_in_flight(t), 1);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 210), 0);
    ack_n(t, h, 1);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 210, "the refused event must not be waited for");
    cr_assert_eq(pgcdc_tracker_unproduced(t, h), -ENOENT);
    h = txn_with(t, 300, 1);
    ack_n(t, h, 1);
    cr_assert_eq(pgcdc_tracker_unproduced(t, h), -EINVAL, "a reported event cannot be taken back");
    pgcdc_tracker_free(t);
}

Test(tracker, partial_is_the_delivered_prefix_of_the_oldest_transaction)
{
    struct pgcdc_tracker *t = tracker_at(100, 0);
    pgcdc_lsn lsn = 0;
    uint64_t n = 0;
    uint64_t h = txn_with(t, 200, 3);

    cr_assert_not(pgcdc_tracker_partial(t, &lsn, &n), "nothing delivered yet");
    ack_n(t, h, 2);
    cr_assert_not(pgcdc_tracker_partial(t, &lsn, &n),
                  "2 of 3 reported: which two is unknown, so no prefix is proven");
    ack_n(t, h, 1);
    cr_assert(pgcdc_tracker_partial(t, &lsn, &n));
    cr_assert_eq(lsn, 200);
    cr_assert_eq(n, 3);
    cr_assert_eq(pgcdc_tracker_produced(t, h), 0);
    cr_assert(pgcdc_tracker_partial(t, &lsn, &n));
    cr_assert_eq(n, 3, "an unreported event does not take the prefix back");
    cr_assert_eq(pgcdc_tracker_failed(t, h), 0);
    cr_assert(pgcdc_tracker_partial(t, &lsn, &n));
    cr_assert_eq(n, 3, "a failed event is never part of the prefix");
    pgcdc_tracker_free(t);

    /* Once the transaction completes the safe LSN says it all. */
    t = tracker_at(100, 0);
    h = txn_with(t, 200, 1);
    ack_n(t, h, 1);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 210), 0);
    cr_assert_not(pgcdc_tracker_partial(t, &lsn, &n));
    pgcdc_tracker_free(t);
}

Test(tracker, stored_partial_is_skipped_and_counted_on_restart)
{
    struct pgcdc_tracker *t = tracker_at(100, 0);
    pgcdc_lsn lsn = 0;
    uint64_t n = 0, h;

    pgcdc_tracker_set_partial(t, 300, 5);
    cr_assert(pgcdc_tracker_partial(t, &lsn, &n), "owed until the transaction comes");
    cr_assert_eq(lsn, 300);
    cr_assert_eq(n, 5);

    /* An earlier transaction comes first: it is not the partial one. */
    h = txn_with(t, 200, 1);
    cr_assert_eq(pgcdc_tracker_skip(t, h), 0);
    ack_n(t, h, 1);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 210), 0);
    cr_assert(pgcdc_tracker_partial(t, &lsn, &n));
    cr_assert_eq(lsn, 300);

    h = txn_with(t, 300, 0);
    cr_assert_eq(pgcdc_tracker_skip(t, h), 5);
    cr_assert(pgcdc_tracker_partial(t, &lsn, &n));
    cr_assert_eq(n, 5, "skipped events stay delivered");
    cr_assert_eq(pgcdc_tracker_produced(t, h), 0);
    ack_n(t, h, 1);
    cr_assert(pgcdc_tracker_partial(t, &lsn, &n));
    cr_assert_eq(n, 6);
    cr_assert_eq(pgcdc_tracker_commit(t, h, 310), 0);
    cr_assert_eq(pgcdc_tracker_safe_lsn(t), 310);
    cr_assert_not(pgcdc_tracker_partial(t, &lsn, &n));
    pgcdc_tracker_free(t);

    /* A stored partial the safe LSN has passed is dropped. */
    t = tracker_at(100, 0);
    pgcdc_tracker_set_partial(t, 300, 5);
    pgcdc_tracker_keepalive(t, 400);
    cr_assert_not(pgcdc_tracker_partial(t, &lsn, &n));
    pgcdc_tracker_free(t);
}
