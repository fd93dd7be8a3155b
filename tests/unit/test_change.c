/*
 * test_change.c - the change model and its Debezium mapping: which events
 * one decoded pgoutput message (or one snapshot row) becomes, with which
 * rows, keys and tombstones.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/change.h"
#include "pgcdc/pgoutput.h"
#include "pgcdc/relcache.h"

/* ---------------------------------------------------------------------- */
/* fixtures                                                                */

#define ORDERS 100 /* relid of public.orders: id (key), name, body */
#define LOG 101    /* relid of public.log: keyless, msg */
#define HIDDEN 102 /* relid of public.hidden: excluded by the table filter */

static struct pgcdc_relcol orders_cols[] = {
    {.name = "id", .type_oid = 23, .key = true, .included = true},
    {.name = "name", .type_oid = 25, .included = true},
    {.name = "body", .type_oid = 25, .included = true},
};
static struct pgcdc_relcol log_cols[] = {
    {.name = "msg", .type_oid = 25, .included = true},
};

static struct pgcdc_rel orders = {
    .relid = ORDERS,
    .nspname = "public",
    .relname = "orders",
    .replident = 'd',
    .ncols = 3,
    .cols = orders_cols,
    .nkeys = 1,
    .version = 1,
    .included = true,
    .topic = "shop.public.orders",
};
static struct pgcdc_rel logrel = {
    .relid = LOG,
    .nspname = "public",
    .relname = "log",
    .replident = 'f',
    .ncols = 1,
    .cols = log_cols,
    .version = 1,
    .included = true,
    .topic = "shop.public.log",
};
static struct pgcdc_rel hidden = {
    .relid = HIDDEN,
    .nspname = "public",
    .relname = "hidden",
    .replident = 'd',
    .ncols = 3,
    .cols = orders_cols,
    .nkeys = 1,
    .version = 1,
    .included = false,
    .topic = "shop.public.hidden",
};

static const struct pgcdc_rel *lookup(void *arg, uint32_t relid)
{
    (void)arg;
    switch (relid) {
    case ORDERS:
        return &orders;
    case LOG:
        return &logrel;
    case HIDDEN:
        return &hidden;
    }
    return NULL;
}

static const struct pgcdc_source src = {.name = "shop", .db = "appdb", .xid = 7, .lsn = 0x100};

static struct pgcdc_change_batch *batch;
static struct pgcdc_msg *msg;
static char err[256];

/* Runs after the suite's setup when a test asks for other options. */
static void setup(bool tombstones)
{
    pgcdc_change_batch_free(&batch);
    free(msg);
    cr_assert_eq(pgcdc_change_batch_new(&batch, tombstones, lookup, NULL, err, sizeof(err)), 0);
    msg = calloc(1, sizeof(*msg));
    cr_assert_not_null(msg);
}

static void setup_tombstones(void)
{
    setup(true);
}

static void setup_no_tombstones(void)
{
    setup(false);
}

static void teardown(void)
{
    pgcdc_change_batch_free(&batch);
    cr_assert_null(batch);
    free(msg);
}

static void set_text(struct pgcdc_tuple *t, int i, const char *s)
{
    t->cols[i].kind = PGCDC_VALUE_TEXT;
    t->cols[i].data = s;
    t->cols[i].len = (uint32_t)strlen(s);
}

static void set_kind(struct pgcdc_tuple *t, int i, enum pgcdc_value_kind k)
{
    t->cols[i].kind = k;
    t->cols[i].data = NULL;
    t->cols[i].len = 0;
}

/* An orders row: id, name, body (NULL: unchanged TOASTed value). */
static void orders_row(struct pgcdc_tuple *t, const char *id, const char *name, const char *body)
{
    t->ncols = 3;
    set_text(t, 0, id);
    set_text(t, 1, name);
    if (body)
        set_text(t, 2, body);
    else
        set_kind(t, 2, PGCDC_VALUE_UNCHANGED);
}

/* Only the key column of an orders row, as REPLICA IDENTITY DEFAULT sends it. */
static void orders_key(struct pgcdc_tuple *t, const char *id)
{
    t->ncols = 3;
    set_text(t, 0, id);
    set_kind(t, 1, PGCDC_VALUE_NULL);
    set_kind(t, 2, PGCDC_VALUE_NULL);
}

static int map(const struct pgcdc_change_event **ev)
{
    return pgcdc_change_batch_pgoutput(batch, msg, &src, 1234, ev, err, sizeof(err));
}

/* Column i of row is the text want. */
static void expect_text(const struct pgcdc_value *row, uint16_t n, int i, const char *want)
{
    cr_assert_not_null(row);
    cr_assert_lt(i, n);
    cr_assert_eq(row[i].kind, PGCDC_VALUE_TEXT, "column %d kind '%c'", i, row[i].kind);
    cr_assert_eq(row[i].len, strlen(want));
    cr_assert_eq(memcmp(row[i].data, want, row[i].len), 0);
}

/* Column i of the new (old) row of ch is the text want. */
static void expect_after(const struct pgcdc_change *ch, int i, const char *want)
{
    uint16_t n;
    const struct pgcdc_value *row = pgcdc_change_after(ch, &n);

    expect_text(row, n, i, want);
}

static void expect_before(const struct pgcdc_change *ch, int i, const char *want)
{
    uint16_t n;
    const struct pgcdc_value *row = pgcdc_change_before(ch, &n);

    expect_text(row, n, i, want);
}

/* The key row of ch has key want in column 0. */
static void expect_key(const struct pgcdc_change *ch, const char *want)
{
    uint16_t n;
    const struct pgcdc_value *k = pgcdc_change_key(ch, &n);

    expect_text(k, n, 0, want);
}

static void expect_no_before(const struct pgcdc_change *ch)
{
    uint16_t n;

    cr_assert_null(pgcdc_change_before(ch, &n));
    cr_assert_eq(n, 0);
}

static void expect_no_after(const struct pgcdc_change *ch)
{
    uint16_t n;

    cr_assert_null(pgcdc_change_after(ch, &n));
    cr_assert_eq(n, 0);
}

/* ---------------------------------------------------------------------- */
/* inserts, updates, deletes                                               */

TestSuite(change, .init = setup_tombstones, .fini = teardown);

Test(change, insert_is_a_create_keyed_by_the_new_row)
{
    const struct pgcdc_change_event *ev;
    uint16_t n;

    msg->type = PGCDC_MSG_INSERT;
    msg->u.change.relid = ORDERS;
    orders_row(&msg->u.change.new_, "1", "widget", "long");
    cr_assert_eq(map(&ev), 1, "%s", err);
    cr_assert_not(ev[0].tombstone);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 'c');
    cr_assert_eq(pgcdc_change_rel(ev[0].change), &orders);
    cr_assert_eq(pgcdc_change_source(ev[0].change), &src);
    cr_assert_eq(pgcdc_change_ts_us(ev[0].change), 1234);
    expect_no_before(ev[0].change);
    expect_after(ev[0].change, 1, "widget");
    cr_assert_not_null(pgcdc_change_after(ev[0].change, &n));
    cr_assert_eq(n, 3);
    expect_key(ev[0].change, "1");
    /* Columns by accessor: the table's names and types. */
    cr_assert_str_eq(pgcdc_change_column_name(ev[0].change, 2), "body");
    cr_assert_eq(pgcdc_change_column_type(ev[0].change, 0), 23);
    cr_assert_null(pgcdc_change_column_name(ev[0].change, 3));
}

Test(change, update_without_old_row_has_no_before)
{
    const struct pgcdc_change_event *ev;
    uint16_t n;

    msg->type = PGCDC_MSG_UPDATE;
    msg->u.change.relid = ORDERS;
    orders_row(&msg->u.change.new_, "1", "gadget", NULL);
    cr_assert_eq(map(&ev), 1, "%s", err);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 'u');
    expect_no_before(ev[0].change);
    expect_after(ev[0].change, 1, "gadget");
    /* Without the old row, an unchanged TOASTed value stays unchanged (the
     * encoders write the placeholder). */
    cr_assert_eq(pgcdc_change_after(ev[0].change, &n)[2].kind, PGCDC_VALUE_UNCHANGED);
    expect_key(ev[0].change, "1");
}

Test(change, update_under_full_identity_has_before_and_takes_toast_from_it)
{
    const struct pgcdc_change_event *ev;
    const struct pgcdc_value *before, *after;
    uint16_t nb, na;

    msg->type = PGCDC_MSG_UPDATE;
    msg->u.change.relid = ORDERS;
    msg->u.change.old_kind = 'O';
    orders_row(&msg->u.change.old, "1", "widget", "a long TOASTed text");
    orders_row(&msg->u.change.new_, "1", "gadget", NULL);
    cr_assert_eq(map(&ev), 1, "%s", err);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 'u');
    before = pgcdc_change_before(ev[0].change, &nb);
    after = pgcdc_change_after(ev[0].change, &na);
    cr_assert_not(pgcdc_change_before_key_only(ev[0].change));
    expect_text(before, nb, 1, "widget");
    expect_text(after, na, 1, "gadget");
    expect_text(after, na, 2, "a long TOASTed text");
}

Test(change, toast_is_taken_only_from_a_text_value_of_the_old_row)
{
    const struct pgcdc_change_event *ev;
    uint16_t n;

    msg->type = PGCDC_MSG_UPDATE;
    msg->u.change.relid = ORDERS;
    msg->u.change.old_kind = 'O';
    orders_row(&msg->u.change.old, "1", "widget", "x");
    set_kind(&msg->u.change.old, 2, PGCDC_VALUE_NULL);
    orders_row(&msg->u.change.new_, "1", "gadget", NULL);
    cr_assert_eq(map(&ev), 1, "%s", err);
    cr_assert_eq(pgcdc_change_after(ev[0].change, &n)[2].kind, PGCDC_VALUE_UNCHANGED);
}

Test(change, key_change_is_delete_tombstone_create)
{
    const struct pgcdc_change_event *ev;

    msg->type = PGCDC_MSG_UPDATE;
    msg->u.change.relid = ORDERS;
    msg->u.change.old_kind = 'K';
    orders_key(&msg->u.change.old, "1");
    orders_row(&msg->u.change.new_, "2", "widget", "x");
    cr_assert_eq(map(&ev), 3, "%s", err);

    cr_assert_eq(pgcdc_change_op(ev[0].change), 'd');
    cr_assert_not(ev[0].tombstone);
    cr_assert(pgcdc_change_before_key_only(ev[0].change));
    expect_before(ev[0].change, 0, "1");
    expect_no_after(ev[0].change);
    expect_key(ev[0].change, "1");

    cr_assert(ev[1].tombstone);
    cr_assert_eq(ev[1].change, ev[0].change, "the tombstone repeats the delete's key");

    cr_assert_eq(pgcdc_change_op(ev[2].change), 'c');
    cr_assert_not(ev[2].tombstone);
    expect_no_before(ev[2].change);
    expect_after(ev[2].change, 0, "2");
    expect_key(ev[2].change, "2");
    /* Positions in the transaction: the tombstone counts. */
    cr_assert_eq(pgcdc_change_txn_index(ev[0].change), 0);
    cr_assert_eq(pgcdc_change_txn_index(ev[2].change), 2);
}

Test(change, key_change_under_full_identity_deletes_the_whole_old_row)
{
    const struct pgcdc_change_event *ev;

    msg->type = PGCDC_MSG_UPDATE;
    msg->u.change.relid = ORDERS;
    msg->u.change.old_kind = 'O';
    orders_row(&msg->u.change.old, "1", "widget", "x");
    orders_row(&msg->u.change.new_, "2", "widget", NULL);
    cr_assert_eq(map(&ev), 3, "%s", err);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 'd');
    cr_assert_not(pgcdc_change_before_key_only(ev[0].change));
    expect_before(ev[0].change, 1, "widget");
    /* The create carries the TOASTed value the old row had. */
    expect_after(ev[2].change, 2, "x");
}

Test(change, unchanged_key_value_is_no_key_change)
{
    const struct pgcdc_change_event *ev;

    msg->type = PGCDC_MSG_UPDATE;
    msg->u.change.relid = ORDERS;
    msg->u.change.old_kind = 'K';
    orders_key(&msg->u.change.old, "1");
    orders_row(&msg->u.change.new_, "1", "widget", "x");
    set_kind(&msg->u.change.new_, 0, PGCDC_VALUE_UNCHANGED);
    cr_assert_eq(map(&ev), 1, "%s", err);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 'u');
    /* Only a whole old row becomes before. */
    expect_no_before(ev[0].change);
}

Test(change, keyless_table_never_has_a_key_change)
{
    const struct pgcdc_change_event *ev;
    uint16_t n;

    msg->type = PGCDC_MSG_UPDATE;
    msg->u.change.relid = LOG;
    msg->u.change.old_kind = 'O';
    msg->u.change.old.ncols = 1;
    set_text(&msg->u.change.old, 0, "a");
    msg->u.change.new_.ncols = 1;
    set_text(&msg->u.change.new_, 0, "b");
    cr_assert_eq(map(&ev), 1, "%s", err);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 'u');
    cr_assert_null(pgcdc_change_key(ev[0].change, &n));
}

Test(change, delete_is_followed_by_a_tombstone)
{
    const struct pgcdc_change_event *ev;

    msg->type = PGCDC_MSG_DELETE;
    msg->u.change.relid = ORDERS;
    msg->u.change.old_kind = 'K';
    orders_key(&msg->u.change.old, "9");
    cr_assert_eq(map(&ev), 2, "%s", err);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 'd');
    cr_assert(pgcdc_change_before_key_only(ev[0].change));
    expect_before(ev[0].change, 0, "9");
    expect_no_after(ev[0].change);
    expect_key(ev[0].change, "9");
    cr_assert(ev[1].tombstone);
    cr_assert_eq(ev[1].change, ev[0].change);
}

Test(change, delete_of_a_keyless_row_has_no_tombstone)
{
    const struct pgcdc_change_event *ev;
    uint16_t n;

    msg->type = PGCDC_MSG_DELETE;
    msg->u.change.relid = LOG;
    msg->u.change.old_kind = 'O';
    msg->u.change.old.ncols = 1;
    set_text(&msg->u.change.old, 0, "a");
    cr_assert_eq(map(&ev), 1, "%s", err);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 'd');
    cr_assert_not(pgcdc_change_before_key_only(ev[0].change));
    cr_assert_null(pgcdc_change_key(ev[0].change, &n));
}

Test(change, no_tombstones_when_they_are_off, .init = setup_no_tombstones)
{
    const struct pgcdc_change_event *ev;

    msg->type = PGCDC_MSG_DELETE;
    msg->u.change.relid = ORDERS;
    msg->u.change.old_kind = 'K';
    orders_key(&msg->u.change.old, "9");
    cr_assert_eq(map(&ev), 1, "%s", err);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 'd');

    msg->type = PGCDC_MSG_UPDATE;
    orders_row(&msg->u.change.new_, "10", "widget", "x");
    cr_assert_eq(map(&ev), 2, "%s", err);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 'd');
    cr_assert_eq(pgcdc_change_op(ev[1].change), 'c');
}

Test(change, excluded_table_gives_no_event)
{
    const struct pgcdc_change_event *ev;

    msg->type = PGCDC_MSG_INSERT;
    msg->u.change.relid = HIDDEN;
    orders_row(&msg->u.change.new_, "1", "widget", "x");
    cr_assert_eq(map(&ev), 0, "%s", err);
}

Test(change, change_before_its_relation_is_a_protocol_error)
{
    const struct pgcdc_change_event *ev;

    msg->type = PGCDC_MSG_INSERT;
    msg->u.change.relid = 4242;
    orders_row(&msg->u.change.new_, "1", "widget", "x");
    cr_assert_eq(map(&ev), -EPROTO);
    cr_assert(strstr(err, "relation 4242") != NULL, "%s", err);

    msg->type = PGCDC_MSG_BEGIN;
    cr_assert_eq(map(&ev), -EPROTO);
}

/* ---------------------------------------------------------------------- */
/* truncates, messages, snapshot rows                                      */

Test(change, truncate_is_one_event_per_included_relation)
{
    static const uint8_t relids[] = {0, 0, 0, ORDERS, 0, 0, 0, HIDDEN, 0, 0, 0, LOG};
    const struct pgcdc_change_event *ev;
    uint16_t n;

    msg->type = PGCDC_MSG_TRUNCATE;
    msg->u.truncate.nrels = 3;
    msg->u.truncate.relids = relids;
    cr_assert_eq(map(&ev), 2, "%s", err);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 't');
    cr_assert_eq(pgcdc_change_rel(ev[0].change), &orders);
    cr_assert_eq(pgcdc_change_op(ev[1].change), 't');
    cr_assert_eq(pgcdc_change_rel(ev[1].change), &logrel);
    for (int i = 0; i < 2; i++) {
        cr_assert_not(ev[i].tombstone);
        cr_assert_null(pgcdc_change_key(ev[i].change, &n));
        expect_no_before(ev[i].change);
        expect_no_after(ev[i].change);
    }
}

Test(change, truncate_of_many_relations)
{
    enum { NRELS = 200 };
    static uint8_t relids[NRELS * 4];
    const struct pgcdc_change_event *ev;

    /* More relations than the batch has room for at first: its arrays grow. */
    for (int i = 0; i < NRELS; i++)
        relids[4 * i + 3] = i % 2 ? ORDERS : LOG;
    msg->type = PGCDC_MSG_TRUNCATE;
    msg->u.truncate.nrels = NRELS;
    msg->u.truncate.relids = relids;
    cr_assert_eq(map(&ev), NRELS, "%s", err);
    for (int i = 0; i < NRELS; i++) {
        cr_assert_not(ev[i].tombstone);
        cr_assert_eq(pgcdc_change_op(ev[i].change), 't');
        cr_assert_eq(pgcdc_change_rel(ev[i].change), i % 2 ? &orders : &logrel);
        cr_assert_eq(pgcdc_change_txn_index(ev[i].change), (uint64_t)i);
    }
}

Test(change, truncate_of_an_unknown_relation_is_a_protocol_error)
{
    static const uint8_t relids[] = {0, 0, 0, ORDERS, 0, 0, 0x10, 0};
    const struct pgcdc_change_event *ev;

    msg->type = PGCDC_MSG_TRUNCATE;
    msg->u.truncate.nrels = 2;
    msg->u.truncate.relids = relids;
    cr_assert_eq(map(&ev), -EPROTO);
    cr_assert(strstr(err, "relation 4096") != NULL, "%s", err);
}

Test(change, logical_message_is_one_event_without_table)
{
    const struct pgcdc_change_event *ev;
    const char *content;
    size_t len;
    uint16_t n;

    msg->type = PGCDC_MSG_MESSAGE;
    msg->u.message.prefix = "outbox";
    msg->u.message.content = "hello";
    msg->u.message.len = 5;
    cr_assert_eq(map(&ev), 1, "%s", err);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 'm');
    cr_assert_null(pgcdc_change_rel(ev[0].change));
    cr_assert_str_eq(pgcdc_change_message(ev[0].change, &content, &len), "outbox");
    cr_assert_eq(len, 5);
    cr_assert_eq(memcmp(content, "hello", 5), 0);
    cr_assert_null(pgcdc_change_key(ev[0].change, &n));
    cr_assert_null(pgcdc_change_column_name(ev[0].change, 0));
}

Test(change, snapshot_row_from_text_is_a_read)
{
    const char *values[] = {"5", NULL, "body text"};
    const uint32_t lens[] = {1, 0, 4};
    const struct pgcdc_change_event *ev;
    const struct pgcdc_value *after;
    uint16_t n;

    cr_assert_eq(pgcdc_change_batch_text_row(batch, &orders, values, NULL, 3, &src, 99, &ev, err,
                                             sizeof(err)),
                 1, "%s", err);
    cr_assert_eq(pgcdc_change_op(ev[0].change), 'r');
    cr_assert_not(ev[0].tombstone);
    expect_no_before(ev[0].change);
    after = pgcdc_change_after(ev[0].change, &n);
    cr_assert_eq(n, 3);
    expect_text(after, n, 0, "5");
    cr_assert_eq(after[1].kind, PGCDC_VALUE_NULL);
    expect_text(after, n, 2, "body text");
    expect_key(ev[0].change, "5");
    cr_assert_eq(pgcdc_change_ts_us(ev[0].change), 99);

    /* Explicit lengths: the texts need not be NUL-terminated. */
    cr_assert_eq(pgcdc_change_batch_text_row(batch, &orders, values, lens, 3, &src, 99, &ev, err,
                                             sizeof(err)),
                 1, "%s", err);
    after = pgcdc_change_after(ev[0].change, &n);
    expect_text(after, n, 2, "body");

    /* A keyless table's row has no key; an excluded table's none at all. */
    cr_assert_eq(pgcdc_change_batch_text_row(batch, &logrel, values, NULL, 1, &src, 99, &ev, err,
                                             sizeof(err)),
                 1, "%s", err);
    cr_assert_null(pgcdc_change_key(ev[0].change, &n));
    cr_assert_eq(pgcdc_change_batch_text_row(batch, &hidden, values, NULL, 3, &src, 99, &ev, err,
                                             sizeof(err)),
                 0, "%s", err);
    /* A row that does not fit the table is refused. */
    cr_assert_eq(pgcdc_change_batch_text_row(batch, &orders, values, NULL, 2, &src, 99, &ev, err,
                                             sizeof(err)),
                 -EINVAL);
    cr_assert(strstr(err, "public.orders") != NULL, "%s", err);
}

Test(change, positions_count_from_where_the_caller_says)
{
    const struct pgcdc_change_event *ev;

    msg->type = PGCDC_MSG_DELETE;
    msg->u.change.relid = ORDERS;
    msg->u.change.old_kind = 'K';
    orders_key(&msg->u.change.old, "9");
    cr_assert_eq(map(&ev), 2, "%s", err);
    cr_assert_eq(map(&ev), 2, "%s", err);
    cr_assert_eq(pgcdc_change_txn_index(ev[0].change), 2);
    /* A new transaction; then the same record mapped again. */
    pgcdc_change_batch_at(batch, 0);
    cr_assert_eq(map(&ev), 2, "%s", err);
    cr_assert_eq(pgcdc_change_txn_index(ev[0].change), 0);
    pgcdc_change_batch_at(batch, 0);
    cr_assert_eq(map(&ev), 2, "%s", err);
    cr_assert_eq(pgcdc_change_txn_index(ev[0].change), 0);
    pgcdc_change_batch_at(batch, 41);
    msg->type = PGCDC_MSG_UPDATE;
    orders_row(&msg->u.change.new_, "10", "widget", "x");
    cr_assert_eq(map(&ev), 3, "%s", err);
    cr_assert_eq(pgcdc_change_txn_index(ev[0].change), 41);
    cr_assert_eq(pgcdc_change_txn_index(ev[2].change), 43);
}

/* ---------------------------------------------------------------------- */
/* a change built by hand                                                  */

Test(change, built_by_hand)
{
    struct pgcdc_change *ch;
    struct pgcdc_value row[3] = {
        {PGCDC_VALUE_TEXT, 1, "7"},
        {PGCDC_VALUE_NULL, 0, NULL},
        {PGCDC_VALUE_UNCHANGED, 0, NULL},
    };
    uint16_t n;

    cr_assert_eq(pgcdc_change_new(&ch, err, sizeof(err)), 0);
    pgcdc_change_reset(ch, 'd', &orders, &src, 5);
    pgcdc_change_set_before(ch, row, 3, true);
    pgcdc_change_set_key(ch, row, 3);
    cr_assert_eq(pgcdc_change_op(ch), 'd');
    cr_assert_eq(pgcdc_change_before(ch, &n), row);
    cr_assert_eq(n, 3);
    cr_assert(pgcdc_change_before_key_only(ch));
    expect_key(ch, "7");
    pgcdc_change_set_before(ch, NULL, 3, true);
    expect_no_before(ch);
    cr_assert_not(pgcdc_change_before_key_only(ch));
    /* A reset forgets the rows. */
    pgcdc_change_reset(ch, 'c', &orders, &src, 5);
    cr_assert_null(pgcdc_change_key(ch, &n));
    pgcdc_change_free(&ch);
    cr_assert_null(ch);
    pgcdc_change_free(&ch);
}
