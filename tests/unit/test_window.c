/*
 * test_window.c - the watermark window of an incremental snapshot: given a
 * chunk's rows and the stream's changes between the watermarks, which rows
 * survive; and, over a model of a table and its stream, that emitting the
 * survivors at the high watermark leaves a consumer with the table's final
 * state where emitting every row would not.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/window.h"

#define REL 16384

/* q: transactions below 110 are visible, 105 was in progress, 110 and
 * later are not. */
static uint64_t q_xip[] = {105};
static const struct pgcdc_snapshot_xids Q = {.xmin = 100, .xmax = 110, .xip = q_xip, .nxip = 1};

static struct pgcdc_window *open_window(void)
{
    struct pgcdc_window *w;
    char err[128];

    cr_assert_eq(pgcdc_window_new(&w, err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_window_open(w, REL, &Q, 0x5000), 0);
    return w;
}

/* Adds a row (id, name) keyed by id. */
static void add(struct pgcdc_window *w, const char *id, const char *name)
{
    const char *v[2] = {id, name};
    uint32_t l[2] = {(uint32_t)strlen(id), name ? (uint32_t)strlen(name) : 0};

    cr_assert_eq(pgcdc_window_add(w, v, l, 1, v, l, 2), 0);
}

static int change(struct pgcdc_window *w, uint32_t relid, uint32_t xid, const char *id)
{
    const char *k[1] = {id};
    uint32_t l[1] = {(uint32_t)strlen(id)};

    return pgcdc_window_change(w, relid, xid, k, l, 1);
}

/* The ids of the surviving rows, comma-separated. */
static void survivors(struct pgcdc_window *w, char *out, size_t outlen)
{
    struct pgcdc_window_row r;
    size_t c = 0, n = 0;

    out[0] = '\0';
    while (pgcdc_window_next(w, &c, &r)) {
        n += (size_t)snprintf(out + n, outlen - n, "%s%.*s", n ? "," : "", (int)r.lens[0],
                              r.values[0]);
        cr_assert_lt(n, outlen);
    }
}

Test(window, rows_survive_in_order_without_changes)
{
    struct pgcdc_window *w = open_window();
    struct pgcdc_window_row r;
    size_t c = 0;
    char s[256];

    add(w, "1", "a");
    add(w, "2", NULL);
    add(w, "3", "");
    survivors(w, s, sizeof(s));
    cr_assert_str_eq(s, "1,2,3");
    cr_assert(pgcdc_window_next(w, &c, &r));
    cr_assert(pgcdc_window_next(w, &c, &r));
    cr_assert_eq(r.ncols, 2);
    cr_assert_null(r.values[1], "SQL NULL stays NULL");
    cr_assert(pgcdc_window_next(w, &c, &r));
    cr_assert_not_null(r.values[1], "an empty text is not NULL");
    cr_assert_eq(r.lens[1], 0);
    cr_assert_eq(pgcdc_window_rows(w), 3);
    cr_assert_eq(pgcdc_window_dropped(w), 0);
    pgcdc_window_free(&w);
    cr_assert_null(w);
}

Test(window, a_change_q_does_not_see_drops_the_row)
{
    struct pgcdc_window *w = open_window();
    char s[256];

    add(w, "1", "a");
    add(w, "2", "b");
    add(w, "3", "c");
    cr_assert_eq(change(w, REL, 110, "2"), 1, "xid >= xmax: newer than the row");
    cr_assert_eq(change(w, REL, 105, "3"), 1, "xid in progress under q: newer");
    cr_assert_eq(change(w, REL, 110, "2"), 0, "already dropped");
    cr_assert_eq(change(w, REL, 110, "9"), 0, "no such row");
    survivors(w, s, sizeof(s));
    cr_assert_str_eq(s, "1");
    cr_assert_eq(pgcdc_window_dropped(w), 2);
    pgcdc_window_free(&w);
}

Test(window, a_change_q_sees_keeps_the_row)
{
    struct pgcdc_window *w = open_window();
    char s[256];

    add(w, "1", "a");
    add(w, "2", "b");
    cr_assert_eq(change(w, REL, 99, "1"), 0, "below xmin: in the row already");
    cr_assert_eq(change(w, REL, 107, "2"), 0, "committed before q");
    survivors(w, s, sizeof(s));
    cr_assert_str_eq(s, "1,2");
    pgcdc_window_free(&w);
}

Test(window, other_tables_and_a_closed_window_change_nothing)
{
    struct pgcdc_window *w = open_window();
    char s[256];

    add(w, "1", "a");
    add(w, "2", "b");
    cr_assert_eq(change(w, REL + 1, 200, "1"), 0);
    cr_assert_eq(pgcdc_window_truncate(w, REL + 1, 200), 0);
    pgcdc_window_close(w);
    cr_assert_not(pgcdc_window_is_open(w));
    cr_assert_eq(change(w, REL, 200, "2"), 0, "after the high watermark the rows are out");
    survivors(w, s, sizeof(s));
    cr_assert_str_eq(s, "1,2");
    cr_assert_eq(pgcdc_window_add(w, (const char *[]){"3"}, (uint32_t[]){1}, 1,
                                  (const char *[]){"3"}, (uint32_t[]){1}, 1),
                 -EINVAL);
    pgcdc_window_free(&w);
}

Test(window, truncate_by_a_newer_transaction_drops_every_row)
{
    struct pgcdc_window *w = open_window();
    char s[256];

    add(w, "1", "a");
    add(w, "2", "b");
    cr_assert_eq(pgcdc_window_truncate(w, REL, 50), 0, "a truncate q saw: rows are after it");
    cr_assert_eq(pgcdc_window_truncate(w, REL, 111), 2);
    survivors(w, s, sizeof(s));
    cr_assert_str_eq(s, "");
    pgcdc_window_free(&w);
}

Test(window, composite_keys_compare_whole)
{
    struct pgcdc_window *w = open_window();
    const char *a[2] = {"a", "bc"}, *b[2] = {"ab", "c"}, *c[2] = {"ab", NULL};
    const char *d[2] = {"ab", ""};
    uint32_t la[2] = {1, 2}, lb[2] = {2, 1}, lc[2] = {2, 0}, ld[2] = {2, 0};

    cr_assert_eq(pgcdc_window_add(w, a, la, 2, a, la, 2), 0);
    cr_assert_eq(pgcdc_window_add(w, b, lb, 2, b, lb, 2), 0);
    cr_assert_eq(pgcdc_window_add(w, c, lc, 2, c, lc, 2), 0);
    cr_assert_eq(pgcdc_window_change(w, REL, 120, d, ld, 2), 0, "'' is not NULL");
    cr_assert_eq(pgcdc_window_change(w, REL, 120, b, lb, 2), 1);
    cr_assert_eq(pgcdc_window_change(w, REL, 120, c, lc, 2), 1);
    cr_assert_eq(pgcdc_window_dropped(w), 2);
    cr_assert_eq(pgcdc_window_change(w, REL, 120, a, la, 2), 1);
    pgcdc_window_free(&w);
}

Test(window, a_streamed_transaction_q_does_not_see_is_found)
{
    uint32_t seen[3] = {99, 107, 108};
    uint32_t unseen[3] = {99, 105, 108};
    uint32_t later[2] = {50, 110};

    cr_assert(pgcdc_window_sees_all(&Q, seen, 3));
    cr_assert_not(pgcdc_window_sees_all(&Q, unseen, 3), "105 was in progress under q");
    cr_assert_not(pgcdc_window_sees_all(&Q, later, 2), "110 began after q");
    cr_assert(pgcdc_window_sees_all(&Q, NULL, 0));
}

Test(window, passed_at_the_high_watermark_only_while_open)
{
    struct pgcdc_window *w = open_window();

    cr_assert_not(pgcdc_window_passed(w, 0x4fff));
    cr_assert(pgcdc_window_passed(w, 0x5000));
    cr_assert(pgcdc_window_passed(w, 0x6000));
    pgcdc_window_close(w);
    cr_assert_not(pgcdc_window_passed(w, 0x6000));
    pgcdc_window_free(&w);
}

Test(window, many_rows_and_a_reopen_forgets_them)
{
    struct pgcdc_window *w = open_window();
    struct pgcdc_window_row r;
    char id[16];
    size_t c = 0, n = 0;

    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "%d", i);
        add(w, id, "x");
    }
    for (int i = 0; i < 10000; i += 3) {
        snprintf(id, sizeof(id), "%d", i);
        cr_assert_eq(change(w, REL, 200, id), 1, "key %s", id);
    }
    while (pgcdc_window_next(w, &c, &r)) {
        cr_assert_neq(atoi(r.values[0]) % 3, 0);
        n++;
    }
    cr_assert_eq(n, 10000 - 3334);
    cr_assert_eq(pgcdc_window_open(w, REL, &Q, 0x7000), 0);
    c = 0;
    cr_assert_not(pgcdc_window_next(w, &c, &r));
    cr_assert_eq(pgcdc_window_rows(w), 0);
    add(w, "1", "a");
    cr_assert_eq(change(w, REL, 200, "1"), 1);
    pgcdc_window_free(&w);
}

/* ---- the rule over a model of a table and its stream ----
 *
 * Keys 0..KEYS-1 hold a version (0: absent). Transactions 1..TXNS commit
 * in that order; transaction t writes one key (a new version, or a delete)
 * and has xid 1000 + t, except that one transaction is slow: its xid is
 * small (it began early) but it commits late, so q lists it in progress.
 * The chunk is read under q, taken after commit k; the stream had handled
 * transactions up to s <= k when the chunk was asked for (it is paused
 * until the rows are buffered); the high watermark lies after commit h >= k.
 * A consumer applies the events in the order emitted and must end with the
 * table's final state. */

#define KEYS 12
#define TXNS 60

struct txn {
    uint32_t xid; /* its transaction id */
    int key;      /* the key it writes */
    int version;  /* the key's new version, 0 for a delete */
};

static void make_txns(struct txn *t, unsigned seed)
{
    for (int i = 0; i < TXNS; i++) {
        seed = seed * 1103515245u + 12345u;
        t[i].xid = 1000 + (uint32_t)i;
        t[i].key = (int)((seed >> 16) % KEYS);
        t[i].version = (seed >> 8) % 4 == 0 ? 0 : i + 1;
    }
}

/* Plays the model; returns true when the consumer ends with the final
 * state. use_window false: every chunk row is emitted at the high mark. */
static bool play(const struct txn *t, int s, int k, int h, int slow, bool use_window)
{
    struct pgcdc_window *w;
    int table[KEYS] = {0}, consumer[KEYS] = {0}, final[KEYS] = {0};
    uint64_t xip[1];
    struct pgcdc_snapshot_xids q = {.xmin = 1000 + (uint64_t)k, .xmax = 1000 + (uint64_t)k,
                                    .xip = xip};
    char err[64];
    bool ok = true;

    /* The slow transaction began before every other but commits at
     * position slow: when that is after q, q lists it in progress. */
    if (slow >= k) {
        xip[0] = t[slow].xid;
        q.xmin = xip[0];
        q.nxip = 1;
    }
    cr_assert_eq(pgcdc_window_new(&w, err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_window_open(w, REL, &q, (pgcdc_lsn)h), 0);
    for (int i = 0; i < TXNS; i++) {
        if (i < k)
            table[t[i].key] = t[i].version;
        final[t[i].key] = t[i].version;
    }
    for (int key = 0; key < KEYS; key++) {
        char id[8], ver[8];

        if (table[key] == 0)
            continue;
        snprintf(id, sizeof(id), "%d", key);
        snprintf(ver, sizeof(ver), "%d", table[key]);
        add(w, id, ver);
    }
    for (int i = 0; i < TXNS; i++) {
        char id[8];

        /* The high watermark: the rows that survive go out before any
         * transaction committing past it. */
        if (i == h) {
            struct pgcdc_window_row r;
            size_t c = 0;

            pgcdc_window_close(w);
            while (use_window ? pgcdc_window_next(w, &c, &r) : false)
                consumer[atoi(r.values[0])] = atoi(r.values[1]);
            if (!use_window)
                for (int key = 0; key < KEYS; key++)
                    if (table[key] != 0)
                        consumer[key] = table[key];
        }
        consumer[t[i].key] = t[i].version;
        if (i >= s) {
            snprintf(id, sizeof(id), "%d", t[i].key);
            change(w, REL, t[i].xid, id);
        }
    }
    for (int key = 0; key < KEYS; key++)
        ok = ok && consumer[key] == final[key];
    pgcdc_window_free(&w);
    return ok;
}

Test(window, the_survivors_leave_the_final_state_where_every_row_would_not)
{
    struct txn t[TXNS];
    int stale = 0, runs = 0;

    for (unsigned seed = 1; seed <= 40; seed++) {
        make_txns(t, seed);
        for (int k = 5; k < TXNS - 10; k += 7) {
            for (int h = k; h < k + 8; h += 3) {
                for (int slow = -1; slow < TXNS; slow += 13) {
                    int s = k - (int)(seed % 4);
                    struct txn u[TXNS];

                    memcpy(u, t, sizeof(u));
                    if (slow >= 0)
                        u[slow].xid = 999;
                    cr_assert(play(u, s, k, h, slow, true), "seed %u k %d h %d slow %d", seed,
                              k, h, slow);
                    stale += !play(u, s, k, h, slow, false);
                    runs++;
                }
            }
        }
    }
    cr_assert_gt(runs, 100);
    cr_assert_gt(stale, 0, "emitting every row must go stale somewhere, or the model is too weak");
}
