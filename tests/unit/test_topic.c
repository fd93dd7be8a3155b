/*
 * test_topic.c - topic names as Debezium 3.x's SchemaTopicNamingStrategy
 * forms them, and finding two tables that share one.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/topic.h"

static void assert_topic(const char *prefix, const char *delim, const char *schema,
                         const char *table, const char *want)
{
    char *got = NULL;

    cr_assert_eq(pgcdc_topic_name(prefix, delim, schema, table, &got), 0);
    cr_assert_str_eq(got, want, "'%s' '%s' '%s'", prefix, schema, table);
    free(got);
}

Test(topic, prefix_schema_table_joined_by_the_delimiter)
{
    assert_topic("shop", ".", "public", "orders", "shop.public.orders");
    assert_topic("shop", "_", "public", "orders", "shop_public_orders");
    assert_topic("shop", "--", "public", "orders", "shop--public--orders");
    assert_topic("Shop-1", ".", "Public", "Order_Items", "Shop-1.Public.Order_Items");
}

Test(topic, invalid_characters_become_underscores_one_per_java_char)
{
    assert_topic("shop", ".", "public", "my table", "shop.public.my_table");
    assert_topic("shop", ".", "public", "a\"b$c", "shop.public.a_b_c");
    /* "Ünïcødé 表": nine characters, five of them invalid, each one '_' */
    assert_topic("shop", ".", "public", "\xc3\x9c" "n\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xe8\xa1\xa8",
                 "shop.public._n_c_d___");
    /* beyond U+FFFF a Java String holds two chars (a surrogate pair) */
    assert_topic("shop", ".", "public", "a\xf0\x9f\x98\x80" "b", "shop.public.a__b");
    /* a byte that is not UTF-8 counts as one character */
    assert_topic("shop", ".", "public", "a\xff" "b", "shop.public.a_b");
    /* dots inside names stay: Debezium does not escape them */
    assert_topic("shop", ".", "dot.s", "t.x", "shop.dot.s.t.x");
}

Test(topic, blank_parts_are_left_out)
{
    assert_topic("shop", ".", "", "orders", "shop.orders");
    assert_topic("shop", ".", " \t", "orders", "shop.orders");
    assert_topic("shop", ".", "public", " ", "shop.public");
    /* blank only when all of it is blank */
    assert_topic("shop", ".", " a", "b ", "shop._a.b_");
}

Test(topic, long_names_are_cut_to_kafkas_limit)
{
    char table[300], want[PGCDC_TOPIC_MAX_LEN + 1];
    char *got = NULL;

    memset(table, 't', sizeof(table) - 1);
    table[sizeof(table) - 1] = '\0';
    cr_assert_eq(pgcdc_topic_name("shop", ".", "public", table, &got), 0);
    cr_assert_eq(strlen(got), PGCDC_TOPIC_MAX_LEN);
    memcpy(want, "shop.public.", 12);
    memset(want + 12, 't', PGCDC_TOPIC_MAX_LEN - 12);
    want[PGCDC_TOPIC_MAX_LEN] = '\0';
    cr_assert_str_eq(got, want);
    free(got);
}

Test(topic, dot_and_dot_dot_are_replaced)
{
    assert_topic(".", ".", "", "", "_");
    assert_topic("..", ".", "", "", "__");
    assert_topic("..", ".", " ", "", "__");
    assert_topic("...", ".", "", "", "...");
}

Test(topic, clashes_are_found_with_both_indexes)
{
    const char *none[] = {"a.b", "a.c", "b.b"};
    const char *two[] = {"x.public.my_table", "x.public.other", "x.public.my_table"};
    const char *many[] = {"d", "c", "b", "a", "c"};
    size_t a = 99, b = 99;

    cr_assert_eq(pgcdc_topic_find_clash(none, 3, &a, &b), 0);
    cr_assert_eq(pgcdc_topic_find_clash(none, 0, &a, &b), 0);
    cr_assert_eq(pgcdc_topic_find_clash(two, 3, &a, &b), 1);
    cr_assert_eq(a, 0);
    cr_assert_eq(b, 2);
    cr_assert_eq(pgcdc_topic_find_clash(many, 5, &a, &b), 1);
    cr_assert_eq(a, 1);
    cr_assert_eq(b, 4);
}
