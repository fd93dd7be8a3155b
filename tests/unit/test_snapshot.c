/*
 * test_snapshot.c - the snapshot's pure parts: chunk planning over a key or
 * block range, which transactions a snapshot saw, and COPY text rows.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/snapshot.h"

/* Every value of min..max falls in exactly one chunk. */
static void assert_cover(const struct pgcdc_snapshot_range *r, size_t n, int64_t min, int64_t max)
{
    cr_assert(n >= 1);
    cr_assert(!r[0].has_lo, "the first chunk is open below");
    cr_assert(!r[n - 1].has_hi, "the last chunk is open above");
    for (size_t i = 0; i + 1 < n; i++) {
        cr_assert(r[i].has_hi && r[i + 1].has_lo);
        cr_assert_eq(r[i].hi, r[i + 1].lo, "chunk %zu ends where %zu starts", i, i + 1);
        cr_assert_lt(r[i].lo, r[i].hi);
    }
    if (n > 1) {
        cr_assert_gt(r[0].hi, min);
        cr_assert_leq(r[n - 1].lo, max);
    }
}

Test(snapshot, plan_splits_a_key_range_by_rows)
{
    struct pgcdc_snapshot_range r[64];
    size_t n = pgcdc_snapshot_plan_keys(1, 10000, 10000, 1000, r, 64);

    cr_assert_eq(n, 10);
    assert_cover(r, n, 1, 10000);
    cr_assert_eq(r[1].lo, 1001);
    cr_assert_eq(r[9].lo, 9001);
}

Test(snapshot, plan_small_table_is_one_chunk)
{
    struct pgcdc_snapshot_range r[8];
    size_t n = pgcdc_snapshot_plan_keys(5, 7, 3, 1000, r, 8);

    cr_assert_eq(n, 1);
    assert_cover(r, n, 5, 7);
}

Test(snapshot, plan_never_more_chunks_than_keys_or_the_cap)
{
    struct pgcdc_snapshot_range r[16];
    size_t n = pgcdc_snapshot_plan_keys(1, 4, 1000000, 10, r, 16);

    cr_assert_eq(n, 4);
    assert_cover(r, n, 1, 4);
    n = pgcdc_snapshot_plan_keys(0, 1000000, 1000000, 1, r, 16);
    cr_assert_eq(n, 16);
    assert_cover(r, n, 0, 1000000);
}

Test(snapshot, plan_the_whole_int64_range_without_overflow)
{
    struct pgcdc_snapshot_range r[8];
    size_t n = pgcdc_snapshot_plan_keys(INT64_MIN, INT64_MAX, 8000, 1000, r, 8);

    cr_assert_eq(n, 8);
    assert_cover(r, n, INT64_MIN, INT64_MAX);
    n = pgcdc_snapshot_plan_keys(-100, 100, 400, 100, r, 8);
    cr_assert_eq(n, 4);
    assert_cover(r, n, -100, 100);
    cr_assert_lt(r[1].lo, 0);
}

Test(snapshot, plan_unknown_size_is_one_chunk)
{
    struct pgcdc_snapshot_range r[4];

    cr_assert_eq(pgcdc_snapshot_plan_keys(1, 100, 0, 10, r, 4), 1);
    cr_assert_eq(pgcdc_snapshot_plan_keys(1, 100, 100, 10, r, 0), 0);
}

Test(snapshot, xids_parse_and_visibility)
{
    struct pgcdc_snapshot_xids x;

    cr_assert_eq(pgcdc_snapshot_xids_parse("100:110:107,103", &x), 0);
    cr_assert_eq(x.xmin, 100);
    cr_assert_eq(x.xmax, 110);
    cr_assert_eq(x.nxip, 2);
    cr_assert_eq(x.xip[0], 103, "sorted");
    cr_assert(pgcdc_snapshot_xid_visible(&x, 99), "finished before xmin");
    cr_assert(pgcdc_snapshot_xid_visible(&x, 100), "xmin itself committed (not in xip)");
    cr_assert(!pgcdc_snapshot_xid_visible(&x, 103), "in progress");
    cr_assert(pgcdc_snapshot_xid_visible(&x, 105));
    cr_assert(!pgcdc_snapshot_xid_visible(&x, 107), "in progress");
    cr_assert(!pgcdc_snapshot_xid_visible(&x, 110), "from xmax on");
    cr_assert(!pgcdc_snapshot_xid_visible(&x, 5000));
    free(x.xip);
    cr_assert_eq(pgcdc_snapshot_xids_parse("7:7:", &x), 0);
    cr_assert_eq(x.nxip, 0);
    cr_assert(pgcdc_snapshot_xid_visible(&x, 6));
    cr_assert(!pgcdc_snapshot_xid_visible(&x, 7));
    cr_assert_eq(pgcdc_snapshot_xids_parse("7", &x), -EINVAL);
    cr_assert_eq(pgcdc_snapshot_xids_parse("9:7:", &x), -EINVAL);
    cr_assert_eq(pgcdc_snapshot_xids_parse("1:9:3,x", &x), -EINVAL);
}

Test(snapshot, xid_visibility_across_the_epoch)
{
    /* xmax in epoch 1 just past the wrap: 32-bit xids from before the
     * wrap are older (visible), those after it newer. */
    struct pgcdc_snapshot_xids x = {.xmin = (UINT64_C(1) << 32) + 10,
                                    .xmax = (UINT64_C(1) << 32) + 20};

    cr_assert(pgcdc_snapshot_xid_visible(&x, 0xfffffff0u));
    cr_assert(pgcdc_snapshot_xid_visible(&x, 12));
    cr_assert(!pgcdc_snapshot_xid_visible(&x, 25));
}

Test(snapshot, copy_text_fields_are_split_and_unescaped)
{
    char line[] = "1\t\\N\ta\\tb\\\\c\\nd\t\\101\\x42\t\n";
    const char *v[5];
    uint32_t len[5];

    cr_assert_eq(pgcdc_snapshot_copy_split(line, strlen(line), 5, v, len), 0);
    cr_assert_eq(len[0], 1);
    cr_assert_eq(memcmp(v[0], "1", 1), 0);
    cr_assert_null(v[1], "\\N is NULL");
    cr_assert_eq(len[2], 7);
    cr_assert_eq(memcmp(v[2], "a\tb\\c\nd", 7), 0);
    cr_assert_eq(len[3], 2);
    cr_assert_eq(memcmp(v[3], "AB", 2), 0);
    cr_assert_not_null(v[4], "an empty string is not NULL");
    cr_assert_eq(len[4], 0);
}

Test(snapshot, copy_row_with_the_wrong_column_count_is_refused)
{
    char a[] = "1\t2\n", b[] = "1\t2\t3\n", c[] = "\n";
    const char *v[2];
    uint32_t len[2];

    cr_assert_eq(pgcdc_snapshot_copy_split(a, strlen(a), 2, v, len), 0);
    cr_assert_eq(pgcdc_snapshot_copy_split(b, strlen(b), 2, v, len), -EBADMSG);
    cr_assert_eq(pgcdc_snapshot_copy_split(c, strlen(c), 0, v, len), 0);
    cr_assert_eq(pgcdc_snapshot_copy_split(c, strlen(c), 1, v, len), 0);
    cr_assert_eq(len[0], 0);
}

Test(snapshot, progress_lines)
{
    struct pgcdc_snapshot_progress p = {.nspname = "public",
                                        .relname = "orders",
                                        .rows = 250,
                                        .estimate = 1000,
                                        .started = true,
                                        .elapsed_us = 5000000};
    char line[256];

    pgcdc_snapshot_progress_format(&p, line, sizeof(line));
    cr_assert_str_eq(line, "table 'public.orders': 250 of about 1000 row(s) (25%), 50 row(s)/s, "
                           "about 15 s left");
    /* More rows than the estimate: never 100% or less than nothing left. */
    p.rows = 1500;
    pgcdc_snapshot_progress_format(&p, line, sizeof(line));
    cr_assert_str_eq(line, "table 'public.orders': 1500 of about 1000 row(s) (99%), 300 row(s)/s, "
                           "about 0 s left");
    p.estimate = -1;
    pgcdc_snapshot_progress_format(&p, line, sizeof(line));
    cr_assert_str_eq(line, "table 'public.orders': 1500 row(s), 300 row(s)/s");
    p.done = true;
    pgcdc_snapshot_progress_format(&p, line, sizeof(line));
    cr_assert_str_eq(line, "table 'public.orders': 1500 row(s) in 5.0 s");
}
