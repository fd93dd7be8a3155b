/*
 * txmeta.c - the counts of Debezium's transaction metadata (see txmeta.h).
 *
 * Per table of the current transaction one entry: its "schema.table" name,
 * its count and the Java String.hashCode() of the name, from which END's
 * order is derived: Debezium iterates a java.util.HashMap, i.e. by bucket
 * (the spread hash masked by the table size, 16 doubled whenever the
 * entries pass three quarters of it) and, within a bucket, in insertion
 * order.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/txmeta.h"

struct txmeta_table {
    char *name;     /* "schema.table" */
    int64_t count;  /* data events so far */
    uint32_t hash;  /* Java's hashCode of name */
};

struct pgcdc_txmeta {
    uint32_t xid;                  /* current transaction */
    pgcdc_lsn begin_lsn;           /* its Begin's LSN */
    int64_t commit_ms;             /* its commit time */
    int64_t total;                 /* data events counted */
    uint64_t upto;                 /* event indexes below this were counted */
    uint64_t last_index;           /* index of the last event counted */
    struct pgcdc_txn_block last;   /* its orders */
    size_t last_table;             /* its entry in tables */
    struct txmeta_table *tables;   /* tables of the transaction, in first-event order */
    size_t ntables;                /* entries used */
    size_t cap;                    /* entries allocated */
    struct pgcdc_txn_collection *out; /* END's entries, in Debezium's order */
    size_t out_cap;                /* entries allocated in out */
    char id[PGCDC_TXMETA_ID_LEN];  /* id text of the last record or block */
};

int pgcdc_txmeta_new(struct pgcdc_txmeta **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

void pgcdc_txmeta_free(struct pgcdc_txmeta **tp)
{
    struct pgcdc_txmeta *t = tp ? *tp : NULL;

    if (t == NULL)
        return;
    for (size_t i = 0; i < t->ntables; i++)
        free(t->tables[i].name);
    free(t->tables);
    free(t->out);
    free(t);
    *tp = NULL;
}

void pgcdc_txmeta_begin(struct pgcdc_txmeta *t, uint32_t xid, pgcdc_lsn lsn, int64_t commit_us)
{
    for (size_t i = 0; i < t->ntables; i++)
        free(t->tables[i].name);
    t->ntables = 0;
    t->xid = xid;
    t->begin_lsn = lsn;
    /* Instant.toEpochMilli(): towards the past. */
    t->commit_ms = commit_us >= 0 ? commit_us / 1000 : -((-commit_us + 999) / 1000);
    t->total = 0;
    t->upto = 0;
    t->last_index = UINT64_MAX;
    memset(&t->last, 0, sizeof(t->last));
}

static const char *format_id(struct pgcdc_txmeta *t, pgcdc_lsn lsn)
{
    snprintf(t->id, sizeof(t->id), "%" PRIu32 ":%" PRIu64, t->xid, (uint64_t)lsn);
    return t->id;
}

void pgcdc_txmeta_begin_record(struct pgcdc_txmeta *t, struct pgcdc_txn_record *r)
{
    memset(r, 0, sizeof(*r));
    r->id = format_id(t, t->begin_lsn);
    r->ts_ms = t->commit_ms;
}

/* Java's String.hashCode() of a UTF-8 string, over its UTF-16 code units. */
static uint32_t java_hash(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t h = 0;

    while (*p) {
        uint32_t cp = *p++;
        int more = cp < 0x80 ? 0 : (cp & 0xe0) == 0xc0 ? 1 : (cp & 0xf0) == 0xe0 ? 2 : 3;

        if (more)
            cp &= more == 1 ? 0x1f : more == 2 ? 0x0f : 0x07;
        while (more-- > 0 && (*p & 0xc0) == 0x80)
            cp = cp << 6 | (*p++ & 0x3f);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
    }
    return h;
}

static struct txmeta_table *table_of(struct pgcdc_txmeta *t, const char *nsp, const char *rel)
{
    size_t nl = strlen(nsp), rl = strlen(rel);
    struct txmeta_table *e;

    for (size_t i = t->ntables; i-- > 0;) {
        const char *n = t->tables[i].name;

        if (strncmp(n, nsp, nl) == 0 && n[nl] == '.' && strcmp(n + nl + 1, rel) == 0)
            return &t->tables[i];
    }
    if (t->ntables == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        struct txmeta_table *nt = realloc(t->tables, cap * sizeof(*nt));

        if (nt == NULL)
            return NULL;
        t->tables = nt;
        t->cap = cap;
    }
    e = &t->tables[t->ntables];
    e->name = malloc(nl + rl + 2);
    if (e->name == NULL)
        return NULL;
    memcpy(e->name, nsp, nl);
    e->name[nl] = '.';
    memcpy(e->name + nl + 1, rel, rl + 1);
    e->count = 0;
    e->hash = java_hash(e->name);
    t->ntables++;
    return e;
}

int pgcdc_txmeta_event(struct pgcdc_txmeta *t, const char *nspname, const char *relname,
                       pgcdc_lsn lsn, uint64_t index, struct pgcdc_txn_block *block)
{
    memset(block, 0, sizeof(*block));
    block->id = format_id(t, lsn);
    if (index < t->upto) {
        /* Counted before: the orders it got then (an event produced before
         * is dropped unsent, so only the last one counted matters). */
        if (index == t->last_index) {
            block->total_order = t->last.total_order;
            block->data_collection_order = t->last.data_collection_order;
        }
        return 0;
    }
    {
        struct txmeta_table *e = table_of(t, nspname, relname);

        if (e == NULL)
            return -ENOMEM;
        block->total_order = ++t->total;
        block->data_collection_order = ++e->count;
        t->last_table = (size_t)(e - t->tables);
    }
    t->upto = index + 1;
    t->last_index = index;
    t->last = *block;
    return 0;
}

void pgcdc_txmeta_forget(struct pgcdc_txmeta *t, uint64_t index)
{
    if (index != t->last_index || t->upto != index + 1)
        return;
    t->total--;
    t->tables[t->last_table].count--;
    t->upto = index;
    t->last_index = UINT64_MAX;
}

/* HashMap's bucket of hash h in a table of cap (a power of two) buckets. */
static size_t bucket(uint32_t h, size_t cap)
{
    return (size_t)((h ^ (h >> 16)) & (uint32_t)(cap - 1));
}

int pgcdc_txmeta_end_record(struct pgcdc_txmeta *t, pgcdc_lsn lsn, struct pgcdc_txn_record *r)
{
    size_t cap = 16, k = 0, live = 0;

    memset(r, 0, sizeof(*r));
    if (t->ntables > t->out_cap) {
        struct pgcdc_txn_collection *o = realloc(t->out, t->ntables * sizeof(*o));

        if (o == NULL)
            return -ENOMEM;
        t->out = o;
        t->out_cap = t->ntables;
    }
    for (size_t i = 0; i < t->ntables; i++)
        live += t->tables[i].count > 0;
    while (live > cap / 4 * 3)
        cap *= 2;
    /* By bucket, then in insertion order: a stable selection, as the
     * number of tables of one transaction is small. */
    for (size_t b = 0; k < live && b < cap; b++)
        for (size_t i = 0; i < t->ntables; i++)
            if (t->tables[i].count > 0 && bucket(t->tables[i].hash, cap) == b) {
                t->out[k].name = t->tables[i].name;
                t->out[k].count = t->tables[i].count;
                k++;
            }
    r->end = true;
    r->id = format_id(t, lsn);
    r->ts_ms = t->commit_ms;
    r->event_count = t->total;
    r->ncollections = k;
    r->collections = t->out;
    return 0;
}
