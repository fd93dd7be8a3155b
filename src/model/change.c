/*
 * change.c - the change model and the Debezium mapping (see change.h).
 *
 * Pure code: decoded messages or snapshot rows in, events out. A batch owns
 * a few change structs and an event array that grow to the largest record
 * seen (a Truncate of many relations) and are reused, so mapping allocates
 * nothing in the steady state. Rows are never copied: a change points at
 * the decoder's value arrays, or at the batch's own array for text rows.
 */
#include "pgcdc/change.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/pgoutput.h"
#include "pgcdc/relcache.h"

struct pgcdc_change {
    char op;                          /* 'c' 'u' 'd' 'r' 't' or 'm' */
    bool before_key_only;             /* before holds only key columns */
    uint16_t nbefore;                 /* columns in before */
    uint16_t nafter;                  /* columns in after */
    uint16_t nkey;                    /* columns in key */
    const struct pgcdc_rel *rel;      /* the table, NULL for 'm' */
    const struct pgcdc_value *before; /* old row, or NULL */
    const struct pgcdc_value *after;  /* new row, or NULL */
    const struct pgcdc_value *key;    /* row the key comes from, or NULL */
    const struct pgcdc_source *src;   /* source block */
    int64_t ts_us;                    /* processing time */
    uint64_t txn_index;               /* events of the transaction before this one */
    const char *msg_prefix;           /* 'm': prefix */
    const char *msg_content;          /* 'm': body */
    size_t msg_len;                   /* 'm': bytes at msg_content */
};

struct pgcdc_change_batch {
    bool tombstones;                   /* tombstones.on.delete */
    pgcdc_change_rel_fn rels;          /* relation lookup */
    void *rels_arg;                    /* handed to rels */
    struct pgcdc_change *changes;      /* change structs, reused */
    size_t nchanges;                   /* allocated in changes */
    struct pgcdc_change_event *events; /* the current record's events */
    size_t nevents;                    /* allocated in events */
    size_t count;                      /* events of the current record */
    uint64_t txn_events;               /* position of the next event in its transaction */
    struct pgcdc_value *text;          /* values of the current text row */
    uint16_t ntext;                    /* allocated in text */
};

/* ---------------------------------------------------------------------- */
/* reading                                                                 */

char pgcdc_change_op(const struct pgcdc_change *ch)
{
    return ch->op;
}

const struct pgcdc_rel *pgcdc_change_rel(const struct pgcdc_change *ch)
{
    return ch->rel;
}

const struct pgcdc_value *pgcdc_change_before(const struct pgcdc_change *ch, uint16_t *ncols)
{
    *ncols = ch->nbefore;
    return ch->before;
}

bool pgcdc_change_before_key_only(const struct pgcdc_change *ch)
{
    return ch->before_key_only;
}

const struct pgcdc_value *pgcdc_change_after(const struct pgcdc_change *ch, uint16_t *ncols)
{
    *ncols = ch->nafter;
    return ch->after;
}

const struct pgcdc_value *pgcdc_change_key(const struct pgcdc_change *ch, uint16_t *ncols)
{
    *ncols = ch->nkey;
    return ch->key;
}

const char *pgcdc_change_column_name(const struct pgcdc_change *ch, uint16_t i)
{
    return ch->rel && i < ch->rel->ncols ? ch->rel->cols[i].name : NULL;
}

uint32_t pgcdc_change_column_type(const struct pgcdc_change *ch, uint16_t i)
{
    return ch->rel && i < ch->rel->ncols ? ch->rel->cols[i].type_oid : 0;
}

const struct pgcdc_source *pgcdc_change_source(const struct pgcdc_change *ch)
{
    return ch->src;
}

int64_t pgcdc_change_ts_us(const struct pgcdc_change *ch)
{
    return ch->ts_us;
}

uint64_t pgcdc_change_txn_index(const struct pgcdc_change *ch)
{
    return ch->txn_index;
}

const char *pgcdc_change_message(const struct pgcdc_change *ch, const char **content, size_t *len)
{
    *content = ch->msg_content;
    *len = ch->msg_len;
    return ch->msg_prefix;
}

/* ---------------------------------------------------------------------- */
/* building                                                                */

int pgcdc_change_new(struct pgcdc_change **out, char *err, size_t errlen)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

void pgcdc_change_free(struct pgcdc_change **chp)
{
    if (chp == NULL)
        return;
    free(*chp);
    *chp = NULL;
}

void pgcdc_change_reset(struct pgcdc_change *ch, char op, const struct pgcdc_rel *rel,
                        const struct pgcdc_source *src, int64_t ts_us)
{
    memset(ch, 0, sizeof(*ch));
    ch->op = op;
    ch->rel = rel;
    ch->src = src;
    ch->ts_us = ts_us;
}

void pgcdc_change_set_before(struct pgcdc_change *ch, const struct pgcdc_value *vals,
                             uint16_t ncols, bool key_only)
{
    ch->before = vals;
    ch->nbefore = vals ? ncols : 0;
    ch->before_key_only = vals && key_only;
}

void pgcdc_change_set_after(struct pgcdc_change *ch, const struct pgcdc_value *vals,
                            uint16_t ncols)
{
    ch->after = vals;
    ch->nafter = vals ? ncols : 0;
}

void pgcdc_change_set_key(struct pgcdc_change *ch, const struct pgcdc_value *vals, uint16_t ncols)
{
    ch->key = vals;
    ch->nkey = vals ? ncols : 0;
}

void pgcdc_change_set_message(struct pgcdc_change *ch, const char *prefix, const char *content,
                              size_t len)
{
    ch->msg_prefix = prefix;
    ch->msg_content = content;
    ch->msg_len = len;
}

/* ---------------------------------------------------------------------- */
/* the batch                                                               */

int pgcdc_change_batch_new(struct pgcdc_change_batch **out, bool tombstones,
                           pgcdc_change_rel_fn rels, void *arg, char *err, size_t errlen)
{
    struct pgcdc_change_batch *b = calloc(1, sizeof(*b));

    *out = NULL;
    /* Room for the largest row mapping (delete, tombstone, create) up front. */
    if (b == NULL || (b->changes = calloc(2, sizeof(*b->changes))) == NULL ||
        (b->events = calloc(3, sizeof(*b->events))) == NULL) {
        pgcdc_change_batch_free(&b);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    b->nchanges = 2;
    b->nevents = 3;
    b->tombstones = tombstones;
    b->rels = rels;
    b->rels_arg = arg;
    *out = b;
    return 0;
}

void pgcdc_change_batch_free(struct pgcdc_change_batch **bp)
{
    struct pgcdc_change_batch *b;

    if (bp == NULL || *bp == NULL)
        return;
    b = *bp;
    free(b->changes);
    free(b->events);
    free(b->text);
    free(b);
    *bp = NULL;
}

void pgcdc_change_batch_at(struct pgcdc_change_batch *b, uint64_t index)
{
    b->txn_events = index;
}

/* Makes room for n changes and n events (Truncate: one per relation). */
static int reserve(struct pgcdc_change_batch *b, size_t n, char *err, size_t errlen)
{
    if (n > b->nchanges) {
        struct pgcdc_change *c = realloc(b->changes, n * sizeof(*c));

        if (c == NULL)
            goto nomem;
        b->changes = c;
        b->nchanges = n;
    }
    if (n > b->nevents) {
        struct pgcdc_change_event *e = realloc(b->events, n * sizeof(*e));

        if (e == NULL)
            goto nomem;
        b->events = e;
        b->nevents = n;
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory mapping a change");
    return -ENOMEM;
}

/* Appends an event for ch (its position in the transaction is set here). */
static void add(struct pgcdc_change_batch *b, struct pgcdc_change *ch, bool tombstone)
{
    if (!tombstone)
        ch->txn_index = b->txn_events;
    b->events[b->count].change = ch;
    b->events[b->count].tombstone = tombstone;
    b->count++;
    b->txn_events++;
}

/* Appends ch, then a tombstone after a delete with a key when they are on. */
static void add_with_tombstone(struct pgcdc_change_batch *b, struct pgcdc_change *ch)
{
    add(b, ch, false);
    if (ch->op == 'd' && ch->key && b->tombstones)
        add(b, ch, true);
}

/* Sets the key row of ch to t when the table has a key. */
static void set_key_from(struct pgcdc_change *ch, const struct pgcdc_tuple *t)
{
    if (t && ch->rel->nkeys > 0)
        pgcdc_change_set_key(ch, t->cols, t->ncols);
}

/* True when a key column differs between the old and the new row (an
 * unchanged TOASTed key value in the new row counts as equal). */
static bool key_changed(const struct pgcdc_rel *rel, const struct pgcdc_tuple *old,
                        const struct pgcdc_tuple *new_)
{
    for (uint16_t i = 0; i < rel->ncols && i < old->ncols && i < new_->ncols; i++) {
        const struct pgcdc_value *a = &old->cols[i], *b = &new_->cols[i];

        if (!rel->cols[i].key || b->kind == PGCDC_VALUE_UNCHANGED)
            continue;
        if (a->kind != b->kind || a->len != b->len ||
            (a->len && memcmp(a->data, b->data, a->len) != 0))
            return true;
    }
    return false;
}

/* Under REPLICA IDENTITY FULL the old row carries the values of unchanged
 * TOASTed columns that the new row leaves out: take them from there, as
 * Debezium does, rather than emitting the placeholder. */
static void fill_unchanged(struct pgcdc_tuple *new_, const struct pgcdc_tuple *old)
{
    for (uint16_t i = 0; i < new_->ncols && i < old->ncols; i++)
        if (new_->cols[i].kind == PGCDC_VALUE_UNCHANGED && old->cols[i].kind == PGCDC_VALUE_TEXT)
            new_->cols[i] = old->cols[i];
}

/* Insert, Update or Delete of an included relation. */
static void map_row(struct pgcdc_change_batch *b, const struct pgcdc_rel *rel,
                    struct pgcdc_msg *msg, const struct pgcdc_source *src, int64_t ts_us)
{
    struct pgcdc_change *ch = &b->changes[0];
    char old_kind = msg->u.change.old_kind;
    const struct pgcdc_tuple *old = old_kind ? &msg->u.change.old : NULL;
    struct pgcdc_tuple *new_ = &msg->u.change.new_;

    switch (msg->type) {
    case PGCDC_MSG_INSERT:
        pgcdc_change_reset(ch, 'c', rel, src, ts_us);
        pgcdc_change_set_after(ch, new_->cols, new_->ncols);
        set_key_from(ch, new_);
        add(b, ch, false);
        return;
    case PGCDC_MSG_UPDATE:
        if (old_kind == 'O')
            fill_unchanged(new_, old);
        if (old && rel->nkeys > 0 && key_changed(rel, old, new_)) {
            /* A primary key change: Debezium emits a delete of the old key
             * (and its tombstone), then a create of the new one. */
            pgcdc_change_reset(ch, 'd', rel, src, ts_us);
            pgcdc_change_set_before(ch, old->cols, old->ncols, old_kind == 'K');
            set_key_from(ch, old);
            add_with_tombstone(b, ch);
            ch = &b->changes[1];
            pgcdc_change_reset(ch, 'c', rel, src, ts_us);
            pgcdc_change_set_after(ch, new_->cols, new_->ncols);
            set_key_from(ch, new_);
            add(b, ch, false);
            return;
        }
        pgcdc_change_reset(ch, 'u', rel, src, ts_us);
        if (old_kind == 'O')
            pgcdc_change_set_before(ch, old->cols, old->ncols, false);
        pgcdc_change_set_after(ch, new_->cols, new_->ncols);
        set_key_from(ch, new_);
        add(b, ch, false);
        return;
    default: /* PGCDC_MSG_DELETE */
        pgcdc_change_reset(ch, 'd', rel, src, ts_us);
        if (old) {
            pgcdc_change_set_before(ch, old->cols, old->ncols, old_kind == 'K');
            set_key_from(ch, old);
        }
        add_with_tombstone(b, ch);
        return;
    }
}

static int map_truncate(struct pgcdc_change_batch *b, const struct pgcdc_msg *msg,
                        const struct pgcdc_source *src, int64_t ts_us, char *err, size_t errlen)
{
    int rc = reserve(b, msg->u.truncate.nrels, err, errlen);

    if (rc < 0)
        return rc;
    for (uint32_t i = 0; i < msg->u.truncate.nrels; i++) {
        uint32_t relid = pgcdc_truncate_relid(msg, i);
        const struct pgcdc_rel *rel = b->rels(b->rels_arg, relid);
        struct pgcdc_change *ch = &b->changes[b->count];

        if (rel == NULL) {
            snprintf(err, errlen,
                     "protocol error: a truncate of relation %u came before its Relation message",
                     relid);
            return -EPROTO;
        }
        if (!rel->included)
            continue;
        pgcdc_change_reset(ch, 't', rel, src, ts_us);
        add(b, ch, false);
    }
    return 0;
}

int pgcdc_change_batch_pgoutput(struct pgcdc_change_batch *b, struct pgcdc_msg *msg,
                                const struct pgcdc_source *src, int64_t ts_us,
                                const struct pgcdc_change_event **events, char *err,
                                size_t errlen)
{
    const struct pgcdc_rel *rel;
    int rc = 0;

    b->count = 0;
    *events = b->events;
    switch (msg->type) {
    case PGCDC_MSG_INSERT:
    case PGCDC_MSG_UPDATE:
    case PGCDC_MSG_DELETE:
        rel = b->rels(b->rels_arg, msg->u.change.relid);
        if (rel == NULL) {
            snprintf(err, errlen,
                     "protocol error: a change for relation %u came before its Relation message",
                     msg->u.change.relid);
            return -EPROTO;
        }
        if (rel->included)
            map_row(b, rel, msg, src, ts_us);
        break;
    case PGCDC_MSG_TRUNCATE:
        rc = map_truncate(b, msg, src, ts_us, err, errlen);
        break;
    case PGCDC_MSG_MESSAGE:
        pgcdc_change_reset(&b->changes[0], 'm', NULL, src, ts_us);
        pgcdc_change_set_message(&b->changes[0], msg->u.message.prefix, msg->u.message.content,
                                 msg->u.message.len);
        add(b, &b->changes[0], false);
        break;
    default:
        snprintf(err, errlen, "internal error: pgoutput message '%c' is not a change",
                 (char)msg->type);
        return -EPROTO;
    }
    /* Only now: a Truncate may have moved the event array. */
    *events = b->events;
    if (rc < 0) {
        b->txn_events -= b->count;
        b->count = 0;
        return rc;
    }
    return (int)b->count;
}

int pgcdc_change_batch_text_row(struct pgcdc_change_batch *b, const struct pgcdc_rel *rel,
                                const char *const *values, const uint32_t *lens, uint16_t ncols,
                                const struct pgcdc_source *src, int64_t ts_us,
                                const struct pgcdc_change_event **events, char *err,
                                size_t errlen)
{
    struct pgcdc_change *ch = &b->changes[0];

    b->count = 0;
    *events = b->events;
    if (ncols != rel->ncols) {
        snprintf(err, errlen, "table '%s.%s': a row has %u columns but the table has %u",
                 rel->nspname, rel->relname, ncols, rel->ncols);
        return -EINVAL;
    }
    if (!rel->included)
        return 0;
    if (ncols > b->ntext) {
        struct pgcdc_value *v = realloc(b->text, ncols * sizeof(*v));

        if (v == NULL) {
            snprintf(err, errlen, "out of memory mapping a change");
            return -ENOMEM;
        }
        b->text = v;
        b->ntext = ncols;
    }
    for (uint16_t i = 0; i < ncols; i++) {
        struct pgcdc_value *v = &b->text[i];

        if (values[i] == NULL) {
            v->kind = PGCDC_VALUE_NULL;
            v->len = 0;
            v->data = NULL;
        } else {
            v->kind = PGCDC_VALUE_TEXT;
            v->len = lens ? lens[i] : (uint32_t)strlen(values[i]);
            v->data = values[i];
        }
    }
    pgcdc_change_reset(ch, 'r', rel, src, ts_us);
    pgcdc_change_set_after(ch, b->text, ncols);
    if (rel->nkeys > 0)
        pgcdc_change_set_key(ch, b->text, ncols);
    add(b, ch, false);
    return 1;
}
