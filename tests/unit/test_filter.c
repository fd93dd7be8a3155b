/*
 * test_filter.c - table and column filters: whole-name, case-insensitive
 * matching of Debezium's pattern lists, include and exclude, escaped commas,
 * long names, back-references, and the bounds on what a pattern may cost to
 * compile and to match.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pgcdc/config.h"
#include "pgcdc/filter.h"

static struct pgcdc_config *new_config(void)
{
    struct pgcdc_config *cfg = NULL;
    char err[256] = "";

    cr_assert_eq(pgcdc_config_new(&cfg, err, sizeof(err)), 0, "%s", err);
    return cfg;
}

/* pgcdc_filter_table(), failing the test on an error. */
static int table_in(const struct pgcdc_config *cfg, const char *schema, const char *tab)
{
    char err[512] = "";
    int rc = pgcdc_filter_table(cfg, schema, tab, err, sizeof(err));

    cr_assert_geq(rc, 0, "%s", err);
    return rc;
}

static int column_in(const struct pgcdc_config *cfg, const char *schema, const char *tab,
                  const char *col)
{
    char err[512] = "";
    int rc = pgcdc_filter_column(cfg, schema, tab, col, err, sizeof(err));

    cr_assert_geq(rc, 0, "%s", err);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


Test(filter, table_patterns_must_match_the_whole_name)
{
    struct pgcdc_config *cfg = new_config();
    char err[256] = "";

    cr_assert_eq(pgcdc_config_set(cfg, "table.include.list", "public\\.order, inventory\\..*", err,
                                  sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(pgcdc_patterns_count(cfg->table_include), 2);
    cr_assert_eq(table_in(cfg, "public", "order"), 1);
    cr_assert_eq(table_in(cfg, "public", "orders"), 0);
    cr_assert_eq(table_in(cfg, "xpublic", "order"), 0);
    cr_assert_eq(table_in(cfg, "inventory", "items"), 1);
    cr_assert_eq(table_in(cfg, "other", "items"), 0);

    /* alternation stays inside the anchors */
    cr_assert_eq(
        pgcdc_config_set(cfg, "table.include.list", "public\\.a|public\\.b", err, sizeof(err)), 0,
        "%s", err);
    cr_assert_eq(table_in(cfg, "public", "b"), 1);
    cr_assert_eq(table_in(cfg, "public", "bb"), 0);
    cr_assert_eq(table_in(cfg, "xpublic", "a"), 0);
    pgcdc_config_free(cfg);
}

Test(filter, table_patterns_are_case_insensitive_and_see_unquoted_names)
{
    struct pgcdc_config *cfg = new_config();
    char err[256] = "";

    cr_assert_eq(
        pgcdc_config_set(cfg, "table.include.list", "weird\\.name\\.order items", err, sizeof(err)),
        0, "%s", err);
    cr_assert_eq(table_in(cfg, "weird.name", "Order Items"), 1);
    cr_assert_eq(table_in(cfg, "WEIRD.NAME", "order items"), 1);
    cr_assert_eq(table_in(cfg, "weird.name", "Order Items2"), 0);
    pgcdc_config_free(cfg);
}

Test(filter, escaped_comma_stays_inside_one_pattern)
{
    struct pgcdc_config *cfg = new_config();
    char err[256] = "";

    cr_assert_eq(
        pgcdc_config_set(cfg, "table.include.list", "public\\.ta{1\\,2},,x\\.y,", err, sizeof(err)),
        0, "%s", err);
    cr_assert_eq(pgcdc_patterns_count(cfg->table_include), 2);
    cr_assert_eq(table_in(cfg, "public", "ta"), 1);
    cr_assert_eq(table_in(cfg, "public", "taa"), 1);
    cr_assert_eq(table_in(cfg, "public", "taaa"), 0);
    cr_assert_eq(table_in(cfg, "x", "y"), 1);
    pgcdc_config_free(cfg);
}

Test(filter, exclude_list_drops_matching_tables_only)
{
    struct pgcdc_config *cfg = new_config();
    char err[256] = "";

    cr_assert_eq(pgcdc_config_set(cfg, "table.exclude.list", "public\\.audit_.*", err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(table_in(cfg, "public", "audit_log"), 0);
    cr_assert_eq(table_in(cfg, "public", "orders"), 1);
    cr_assert_eq(table_in(cfg, "private", "audit_log"), 1);
    pgcdc_config_free(cfg);
}

Test(filter, column_patterns_match_schema_table_column)
{
    struct pgcdc_config *cfg = new_config();
    char err[256] = "";

    cr_assert_eq(pgcdc_config_set(cfg, "column.exclude.list", "public\\.users\\.(password|ssn)",
                                  err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(column_in(cfg, "public", "users", "password"), 0);
    cr_assert_eq(column_in(cfg, "public", "users", "ssn"), 0);
    cr_assert_eq(column_in(cfg, "public", "users", "password_hint"), 1);
    cr_assert_eq(column_in(cfg, "public", "users", "email"), 1);
    cr_assert_eq(column_in(cfg, "public", "admins", "password"), 1);

    cr_assert_eq(pgcdc_config_set_option(cfg, "column.exclude.list=", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "column.include.list", "public\\.users\\.(id|email)", err,
                                  sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(column_in(cfg, "public", "users", "id"), 1);
    cr_assert_eq(column_in(cfg, "public", "users", "name"), 0);
    pgcdc_config_free(cfg);
}

Test(filter, long_names_are_matched_in_full)
{
    struct pgcdc_config *cfg = new_config();
    char err[256] = "", schema[301], table[301];

    memset(schema, 's', 300);
    schema[300] = '\0';
    memset(table, 't', 300);
    table[300] = '\0';
    cr_assert_eq(pgcdc_config_set(cfg, "table.include.list", "s{300}\\.t{300}", err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(table_in(cfg, schema, table), 1);
    table[299] = '\0';
    cr_assert_eq(table_in(cfg, schema, table), 0);
    pgcdc_config_free(cfg);
}

Test(filter, bad_pattern_names_key_and_pattern)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "";

    cr_assert_eq(
        pgcdc_config_set(cfg, "table.include.list", "public\\.ok, public\\.bad(", err, sizeof(err)),
        -EINVAL);
    cr_assert_eq(strncmp(err,
                         "invalid value for 'table.include.list': pattern 'public\\.bad(' is not "
                         "a valid regular expression: ",
                         strlen("invalid value for 'table.include.list': pattern "
                                "'public\\.bad(' is not a valid regular expression: ")),
                 0, "%s", err);
    /* an unbalanced ')' must not break out of the anchors */
    cr_assert_eq(pgcdc_config_set(cfg, "table.include.list", "a)|(b", err, sizeof(err)), -EINVAL,
                 "accepted");
    cr_assert_not_null(strstr(err, "pattern 'a)|(b'"), "%s", err);
    pgcdc_config_free(cfg);
}

Test(filter, no_lists_let_everything_through)
{
    struct pgcdc_config *cfg = new_config();

    cr_assert_eq(table_in(cfg, "public", "orders"), 1);
    cr_assert_eq(column_in(cfg, "public", "orders", "id"), 1);
    pgcdc_config_free(cfg);
}

Test(filter, back_references_work)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "";

    /* POSIX ERE has none; Java's (and so Debezium's) patterns do */
    cr_assert_eq(pgcdc_config_set(cfg, "table.include.list", "public\\.(a|b)_\\1", err,
                                  sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(table_in(cfg, "public", "a_a"), 1);
    cr_assert_eq(table_in(cfg, "public", "b_b"), 1);
    cr_assert_eq(table_in(cfg, "public", "a_b"), 0);
    /* group numbers are the user's: nothing wraps the pattern in a group */
    cr_assert_eq(pgcdc_config_set(cfg, "table.include.list", "(public)\\.\\1", err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(table_in(cfg, "public", "public"), 1);
    cr_assert_eq(table_in(cfg, "public", "other"), 0);
    pgcdc_config_free(cfg);
}

Test(filter, alternation_is_anchored_as_a_whole)
{
    struct pgcdc_patterns *p = NULL;
    char err[512] = "";

    cr_assert_eq(pgcdc_patterns_compile("k", "a|bc", &p, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pgcdc_patterns_match(p, "a", err, sizeof(err)), 1);
    cr_assert_eq(pgcdc_patterns_match(p, "bc", err, sizeof(err)), 1);
    cr_assert_eq(pgcdc_patterns_match(p, "abc", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_patterns_match(p, "ab", err, sizeof(err)), 0);
    pgcdc_patterns_free(&p);
    cr_assert_null(p);
    pgcdc_patterns_free(&p);
}

Test(filter, non_ascii_names_match_per_character)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "";

    cr_assert_eq(pgcdc_config_set(cfg, "table.include.list", "public\\.caf.", err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_eq(table_in(cfg, "public", "caf\xc3\xa9"), 1); /* "café": '.' is one character */
    cr_assert_eq(table_in(cfg, "public", "cafe"), 1);
    /* bytes that are not UTF-8 never match a character class, but do not fail */
    cr_assert_eq(table_in(cfg, "public", "caf\xff\xfe"), 0);
    pgcdc_config_free(cfg);
}

Test(filter, empty_list_matches_nothing)
{
    struct pgcdc_patterns *p = NULL;
    char err[256] = "";

    cr_assert_eq(pgcdc_patterns_compile("k", " , ,", &p, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pgcdc_patterns_count(p), 0);
    cr_assert_str_eq(pgcdc_patterns_text(p), " , ,");
    cr_assert_eq(pgcdc_patterns_match(p, "x", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_patterns_match(NULL, "x", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_patterns_count(NULL), 0);
    cr_assert_str_eq(pgcdc_patterns_text(NULL), "");
    pgcdc_patterns_free(&p);
}

Test(filter, nested_repeats_are_refused_quickly_naming_key_and_pattern)
{
    const char *bomb = "(((a{1\\,255}){1\\,255}){1\\,255}){1\\,255}";
    struct pgcdc_config *cfg = new_config();
    char err[512] = "";
    double t0 = now_s();

    cr_assert_eq(pgcdc_config_set(cfg, "table.include.list", bomb, err, sizeof(err)), -EINVAL,
                 "accepted");
    /* a correct answer in bounded time; generous for a loaded machine */
    cr_assert_lt(now_s() - t0, 5.0);
    cr_assert_not_null(strstr(err, "'table.include.list'"), "%s", err);
    cr_assert_not_null(strstr(err, "pattern '(((a{1,255}){1,255}){1,255}){1,255}'"), "%s", err);
    cr_assert_not_null(strstr(err, "too costly"), "%s", err);
    cr_assert_eq(pgcdc_patterns_count(cfg->table_include), 0, "the old list stays");
    pgcdc_config_free(cfg);
}

Test(filter, catastrophic_backtracking_is_an_error_not_an_answer)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "", name[200];
    int rc;

    cr_assert_eq(pgcdc_config_set(cfg, "table.exclude.list", "public\\.(a|a?)+b", err,
                                  sizeof(err)),
                 0, "%s", err);
    memcpy(name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 63);
    name[63] = '\0';
    rc = pgcdc_filter_table(cfg, "public", name, err, sizeof(err));
    cr_assert_eq(rc, -E2BIG, "got %d: %s", rc, err);
    cr_assert_not_null(strstr(err, "'table.exclude.list': pattern 'public\\.(a|a?)+b'"), "%s",
                       err);
    cr_assert_not_null(strstr(err, "public.aaaa"), "%s", err);
    /* an ordinary name is still answered */
    cr_assert_eq(table_in(cfg, "public", "orders"), 1);
    pgcdc_config_free(cfg);
}

/* ---- message.key.columns ---- */

static int key_col(const struct pgcdc_config *cfg, const char *schema, const char *tab,
                   const char *col)
{
    char err[512] = "";
    int rc = pgcdc_filter_key_column(cfg, schema, tab, col, err, sizeof(err));

    cr_assert_geq(rc, 0, "%s", err);
    return rc;
}

Test(filter, key_columns_name_columns_per_table_as_debezium_does)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "";

    cr_assert_eq(key_col(cfg, "public", "t", "id"), 0); /* unset: nothing */
    cr_assert_eq(pgcdc_config_set(cfg, "message.key.columns",
                                  "public.audit_log:id ; (.*).purchaseorders:pk3,PK4", err,
                                  sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(key_col(cfg, "public", "audit_log", "id"), 1);
    cr_assert_eq(key_col(cfg, "public", "audit_log", "other"), 0);
    cr_assert_eq(key_col(cfg, "public", "audit_logs", "id"), 0); /* whole names only */
    cr_assert_eq(key_col(cfg, "shop", "purchaseorders", "pk3"), 1);
    cr_assert_eq(key_col(cfg, "shop", "PurchaseOrders", "pk4"), 1); /* case-insensitive */
    cr_assert_eq(key_col(cfg, "shop", "purchaseorders", "pk5"), 0);
    /* Shown as written. */
    cr_assert_str_eq(pgcdc_patterns_text(cfg->message_key_columns),
                     "public.audit_log:id ; (.*).purchaseorders:pk3,PK4");
    pgcdc_config_free(cfg);
}

Test(filter, key_columns_keep_a_comma_of_the_table_pattern)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "";

    cr_assert_eq(pgcdc_config_set(cfg, "message.key.columns", "public.t{1,2}:c", err,
                                  sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(key_col(cfg, "public", "tt", "c"), 1);
    cr_assert_eq(key_col(cfg, "public", "ttt", "c"), 0);
    pgcdc_config_free(cfg);
}

Test(filter, key_columns_refuse_what_debezium_refuses)
{
    static const char *const bad[] = {"public.t", "public.t:", ":id", "public.t:a:b",
                                      "public.t:a,,b", "public t:a"};
    struct pgcdc_config *cfg = new_config();

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[512] = "";

        cr_assert_eq(pgcdc_config_set(cfg, "message.key.columns", bad[i], err, sizeof(err)),
                     -EINVAL, "%s accepted", bad[i]);
        cr_assert(strstr(err, "message.key.columns") != NULL, "%s", err);
    }
    pgcdc_config_free(cfg);
}
