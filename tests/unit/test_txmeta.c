/*
 * test_txmeta.c - the counts of Debezium's transaction metadata.
 *
 * The expected order of END's data_collections was worked out with a
 * separate model of java.util.HashMap (String.hashCode over UTF-16, the
 * spread hash, 16 buckets doubled past three quarters full).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "pgcdc/txmeta.h"

static struct pgcdc_txmeta *fresh(void)
{
    struct pgcdc_txmeta *t = NULL;

    cr_assert_eq(pgcdc_txmeta_new(&t), 0);
    /* xid 571, Begin at 0x3000, commit at 1.5 s after 1970 */
    pgcdc_txmeta_begin(t, 571, 0x3000, 1500999);
    return t;
}

static struct pgcdc_txn_block event(struct pgcdc_txmeta *t, const char *rel, pgcdc_lsn lsn,
                                    uint64_t index)
{
    struct pgcdc_txn_block b;

    cr_assert_eq(pgcdc_txmeta_event(t, "public", rel, lsn, index, &b), 0);
    return b;
}

Test(txmeta, ids_orders_and_counts_as_debezium)
{
    struct pgcdc_txmeta *t = fresh();
    struct pgcdc_txn_record r;
    struct pgcdc_txn_block b;

    pgcdc_txmeta_begin_record(t, &r);
    cr_assert_not(r.end);
    cr_assert_str_eq(r.id, "571:12288");
    cr_assert_eq(r.ts_ms, 1500);

    /* Index 0 is the BEGIN record; a tombstone (index 3) is not counted. */
    b = event(t, "orders", 0x3010, 1);
    cr_assert_str_eq(b.id, "571:12304");
    cr_assert_eq(b.total_order, 1);
    cr_assert_eq(b.data_collection_order, 1);
    b = event(t, "items", 0x3020, 2);
    cr_assert_eq(b.total_order, 2);
    cr_assert_eq(b.data_collection_order, 1);
    b = event(t, "orders", 0x3030, 4);
    cr_assert_eq(b.total_order, 3);
    cr_assert_eq(b.data_collection_order, 2);
    b = event(t, "customers", 0x3040, 5);
    cr_assert_eq(b.total_order, 4);

    cr_assert_eq(pgcdc_txmeta_end_record(t, 0x3050, &r), 0);
    cr_assert(r.end);
    cr_assert_str_eq(r.id, "571:12368");
    cr_assert_eq(r.ts_ms, 1500);
    cr_assert_eq(r.event_count, 4);
    cr_assert_eq(r.ncollections, 3);
    /* HashMap order, not first-seen order. */
    cr_assert_str_eq(r.collections[0].name, "public.items");
    cr_assert_eq(r.collections[0].count, 1);
    cr_assert_str_eq(r.collections[1].name, "public.orders");
    cr_assert_eq(r.collections[1].count, 2);
    cr_assert_str_eq(r.collections[2].name, "public.customers");
    cr_assert_eq(r.collections[2].count, 1);
    pgcdc_txmeta_free(&t);
    cr_assert_null(t);
}

Test(txmeta, an_event_tried_again_is_counted_once)
{
    struct pgcdc_txmeta *t = fresh();
    struct pgcdc_txn_record r;
    struct pgcdc_txn_block b;

    event(t, "orders", 0x3010, 1);
    b = event(t, "orders", 0x3020, 2);
    cr_assert_eq(b.total_order, 2);
    /* The sink was full for index 2: the message is handled again from
     * index 1 (dropped as delivered), then index 2 gets its orders again. */
    event(t, "orders", 0x3010, 1);
    b = event(t, "orders", 0x3020, 2);
    cr_assert_eq(b.total_order, 2);
    cr_assert_eq(b.data_collection_order, 2);
    b = event(t, "orders", 0x3030, 3);
    cr_assert_eq(b.total_order, 3);
    cr_assert_eq(pgcdc_txmeta_end_record(t, 0x3050, &r), 0);
    cr_assert_eq(r.event_count, 3);
    cr_assert_eq(r.collections[0].count, 3);
    pgcdc_txmeta_free(&t);
}

Test(txmeta, a_new_transaction_starts_from_zero)
{
    struct pgcdc_txmeta *t = fresh();
    struct pgcdc_txn_record r;

    event(t, "orders", 0x3010, 1);
    pgcdc_txmeta_begin(t, 572, 0x4000, -1);
    cr_assert_eq(pgcdc_txmeta_end_record(t, 0x4010, &r), 0);
    cr_assert_eq(r.event_count, 0);
    cr_assert_eq(r.ncollections, 0);
    cr_assert_str_eq(r.id, "572:16400");
    cr_assert_eq(r.ts_ms, -1); /* towards the past, as Instant.toEpochMilli() */
    pgcdc_txmeta_free(&t);
}

Test(txmeta, many_tables_in_a_resized_hashmap_order)
{
    static const char *const want[] = {"public.t12", "public.t13", "public.t8",  "public.t7",
                                       "public.t9",  "public.t4",  "public.t3",  "public.t6",
                                       "public.t5",  "public.t0",  "public.t10", "public.t11",
                                       "public.t2",  "public.t1"};
    struct pgcdc_txmeta *t = fresh();
    struct pgcdc_txn_record r;
    char name[16];

    for (int i = 0; i < 14; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        event(t, name, 0x3010 + (pgcdc_lsn)i, (uint64_t)i + 1);
    }
    cr_assert_eq(pgcdc_txmeta_end_record(t, 0x3050, &r), 0);
    cr_assert_eq(r.ncollections, 14);
    for (int i = 0; i < 14; i++)
        cr_assert_str_eq(r.collections[i].name, want[i], "entry %d", i);
    pgcdc_txmeta_free(&t);
}

Test(txmeta, non_ascii_names_hash_over_utf16)
{
    struct pgcdc_txmeta *t = NULL;
    struct pgcdc_txn_record r;
    struct pgcdc_txn_block b;

    cr_assert_eq(pgcdc_txmeta_new(&t), 0);
    pgcdc_txmeta_begin(t, 1, 1, 0);
    cr_assert_eq(pgcdc_txmeta_event(t, "s", "\xc3\xa4", 2, 1, &b), 0);
    cr_assert_eq(pgcdc_txmeta_event(t, "s", "b", 3, 2, &b), 0);
    cr_assert_eq(pgcdc_txmeta_end_record(t, 4, &r), 0);
    cr_assert_str_eq(r.collections[0].name, "s.b");
    cr_assert_str_eq(r.collections[1].name, "s.\xc3\xa4");
    pgcdc_txmeta_free(&t);
}
