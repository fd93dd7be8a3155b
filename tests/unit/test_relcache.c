/*
 * test_relcache.c - the relation cache's notion of a table's shape: a
 * rename is a new version with a new topic; two captured tables may not
 * share a topic, at start-up or later, while a relation the cache knows by
 * an old name does not count as a clash; filtered-out changes are counted.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/config.h"
#include "pgcdc/error.h"
#include "pgcdc/pgoutput.h"
#include "pgcdc/relcache.h"

#define INT4_OID 23

static struct pgcdc_config *cfg;
static struct pgcdc_relcache *rc;
static struct pgcdc_msg *msg;

static void setup(void)
{
    char err[256] = "";

    cr_assert_eq(pgcdc_config_new(&cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pgcdc_config_set(cfg, "topic.prefix", "shop", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pgcdc_relcache_new(&rc, cfg, err, sizeof(err)), 0, "%s", err);
    msg = calloc(1, sizeof(*msg));
    cr_assert_not_null(msg);
}

static void teardown(void)
{
    pgcdc_relcache_free(&rc);
    pgcdc_config_free(cfg);
    free(msg);
}

/* Applies a Relation message for relid nsp.rel with one int4 key column "id". */
static int apply(uint32_t relid, const char *nsp, const char *rel, struct pgcdc_rel **out,
                 bool *changed, char *err, size_t errlen)
{
    memset(msg, 0, sizeof(*msg));
    msg->type = PGCDC_MSG_RELATION;
    msg->u.relation.relid = relid;
    msg->u.relation.nspname = nsp;
    msg->u.relation.relname = rel;
    msg->u.relation.replident = 'd';
    msg->u.relation.ncols = 1;
    msg->u.relation.cols[0].key = true;
    msg->u.relation.cols[0].name = "id";
    msg->u.relation.cols[0].type_oid = INT4_OID;
    msg->u.relation.cols[0].typmod = -1;
    return pgcdc_relcache_apply(rc, msg, out, changed, err, errlen);
}

static struct pgcdc_rel *apply_ok(uint32_t relid, const char *nsp, const char *rel, bool *changed)
{
    struct pgcdc_rel *r = NULL;
    char err[512] = "";

    cr_assert_eq(apply(relid, nsp, rel, &r, changed, err, sizeof(err)), 0, "%s", err);
    return r;
}

TestSuite(relcache, .init = setup, .fini = teardown);

Test(relcache, a_rename_is_a_new_version_with_a_new_topic)
{
    struct pgcdc_rel *r;
    bool changed;

    r = apply_ok(100, "public", "ddl2", &changed);
    cr_assert(changed);
    cr_assert_eq(r->version, 1);
    cr_assert_str_eq(r->topic, "shop.public.ddl2");
    /* resent unchanged (a reconnect): same version */
    r = apply_ok(100, "public", "ddl2", &changed);
    cr_assert_not(changed);
    cr_assert_eq(r->version, 1);
    /* same columns, new name */
    r = apply_ok(100, "public", "ddl2_renamed", &changed);
    cr_assert(changed);
    cr_assert_eq(r->version, 2);
    cr_assert_str_eq(r->relname, "ddl2_renamed");
    cr_assert_str_eq(r->topic, "shop.public.ddl2_renamed");
    /* a move to another schema too */
    r = apply_ok(100, "archive", "ddl2_renamed", &changed);
    cr_assert(changed);
    cr_assert_eq(r->version, 3);
    cr_assert_str_eq(r->topic, "shop.archive.ddl2_renamed");
}

Test(relcache, two_tables_on_one_topic_are_refused_naming_both)
{
    struct pgcdc_rel *r = NULL;
    bool changed;
    char err[512] = "";

    apply_ok(100, "public", "my table", &changed);
    cr_assert_eq(apply(101, "public", "my_table", &r, &changed, err, sizeof(err)), -PGCDC_ECONFIG);
    cr_assert_not_null(strstr(err, "'public.my table'"), "%s", err);
    cr_assert_not_null(strstr(err, "'public.my_table'"), "%s", err);
    cr_assert_not_null(strstr(err, "topic 'shop.public.my_table'"), "%s", err);
}

Test(relcache, a_table_outside_the_filters_claims_no_topic)
{
    bool changed;
    char err[512] = "";

    cr_assert_eq(pgcdc_config_set(cfg, "table.exclude.list", "public\\.my table", err, sizeof(err)),
                 0, "%s", err);
    cr_assert_not(apply_ok(100, "public", "my table", &changed)->included);
    cr_assert(apply_ok(101, "public", "my_table", &changed)->included);
}

Test(relcache, a_relation_recreated_under_its_name_is_no_clash)
{
    struct pgcdc_rel *r;
    bool changed;

    apply_ok(100, "public", "t", &changed);
    /* dropped and created again: a new oid under the same name */
    r = apply_ok(101, "public", "t", &changed);
    cr_assert_str_eq(r->topic, "shop.public.t");
}

/* The catalog, as the name lookup sees it. */
static const char *now_named;

static int name_lookup(void *arg, uint32_t relid, char *nsp, size_t nsplen, char *rel,
                       size_t rellen, char *err, size_t errlen)
{
    (void)arg;
    (void)relid;
    (void)err;
    (void)errlen;
    if (now_named == NULL)
        return -ENOENT;
    snprintf(nsp, nsplen, "public");
    snprintf(rel, rellen, "%s", now_named);
    return 0;
}

Test(relcache, a_relation_known_by_an_old_name_is_asked_for_its_name_now)
{
    struct pgcdc_rel *r = NULL;
    bool changed;
    char err[512] = "";

    pgcdc_relcache_set_name_lookup(rc, name_lookup, NULL);
    apply_ok(100, "public", "a b", &changed);
    /* 100 was renamed to "x" since: "a_b" may have the topic */
    now_named = "x";
    r = apply_ok(101, "public", "a_b", &changed);
    cr_assert_str_eq(r->topic, "shop.public.a_b");
    /* 102 "a?b" clashes with 101, which the catalog says is still "a_b" */
    now_named = "a_b";
    cr_assert_eq(apply(102, "public", "a?b", &r, &changed, err, sizeof(err)), -PGCDC_ECONFIG);
    cr_assert_not_null(strstr(err, "'public.a_b'"), "%s", err);
    /* once 101 is gone, 102 may take the topic */
    now_named = NULL;
    r = apply_ok(102, "public", "a?b", &changed);
    cr_assert_str_eq(r->topic, "shop.public.a_b");
}

Test(relcache, start_up_claims_refuse_a_shared_topic)
{
    char err[512] = "";
    bool changed;

    cr_assert_eq(pgcdc_relcache_claim_table(rc, 1, "public", "orders", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_relcache_claim_table(rc, 2, "public", "my table", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_relcache_claim_table(rc, 3, "public", "my_table", err, sizeof(err)),
                 -PGCDC_ECONFIG);
    cr_assert_not_null(strstr(err, "'public.my table'"), "%s", err);
    /* the claims hold for Relation messages too */
    cr_assert_eq(apply_ok(1, "public", "orders", &changed)->version, 1);
}

Test(relcache, changes_of_filtered_tables_are_counted)
{
    struct pgcdc_rel *out, *in;
    bool changed;
    char err[512] = "";

    cr_assert_eq(pgcdc_config_set(cfg, "table.include.list", "public\\.in", err, sizeof(err)), 0,
                 "%s", err);
    out = apply_ok(100, "public", "out", &changed);
    in = apply_ok(101, "public", "in", &changed);
    memset(msg, 0, sizeof(*msg));
    msg->type = PGCDC_MSG_INSERT;
    msg->u.change.relid = 100;
    pgcdc_relcache_count_filtered(rc, msg);
    pgcdc_relcache_count_filtered(rc, msg);
    msg->u.change.relid = 101;
    pgcdc_relcache_count_filtered(rc, msg);
    cr_assert_eq(out->filtered, 2);
    cr_assert_eq(in->filtered, 0);
    /* the count survives a new version of the relation */
    out = apply_ok(100, "public", "out", &changed);
    cr_assert_eq(out->filtered, 2);
}

Test(relcache, many_claims_stay_indexed_through_growth_renames_and_leftovers)
{
    char name[32], err[512] = "";
    struct pgcdc_rel *r = NULL;
    bool changed;

    for (uint32_t i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "a_%u", i);
        cr_assert_eq(pgcdc_relcache_claim_table(rc, 1000 + i, "public", name, err, sizeof(err)),
                     0, "%s", err);
    }
    /* every one is still found */
    snprintf(name, sizeof(name), "a %u", 4321);
    cr_assert_eq(pgcdc_relcache_claim_table(rc, 9999, "public", name, err, sizeof(err)),
                 -PGCDC_ECONFIG);
    cr_assert_not_null(strstr(err, "'public.a_4321'"), "%s", err);
    /* a rename frees the old topic and takes the new one */
    apply_ok(1000 + 17, "public", "renamed_17", &changed);
    r = apply_ok(8000, "public", "a 17", &changed);
    cr_assert_str_eq(r->topic, "shop.public.a_17");
    cr_assert_eq(apply(8001, "public", "renamed 17", &r, &changed, err, sizeof(err)),
                 -PGCDC_ECONFIG);
    cr_assert_not_null(strstr(err, "'public.renamed_17'"), "%s", err);
}
