/*
 * window.c - the watermark window of an incremental snapshot (window.h).
 *
 * The rows live in one byte arena, each as its key then its columns, every
 * value as a 4-byte length (UINT32_MAX for NULL) and its bytes; an entry per
 * row says where. A chained hash table over the key bytes finds a row for a
 * stream change; a dropped row is only marked, so the order of the rest is
 * the order they were read in.
 */
#include "pgcdc/window.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/buf.h"

#define WINDOW_NULL_LEN UINT32_MAX

struct window_entry {
    uint64_t hash;   /* of the key bytes */
    size_t key_off;  /* key bytes in the arena */
    size_t key_len;  /* their length */
    size_t row_off;  /* the columns, right after the key */
    uint16_t ncols;  /* columns of the row */
    bool dropped;    /* a stream change in the window made the row stale */
    size_t next;     /* next entry in the bucket, plus one; 0 ends */
};

struct pgcdc_window {
    bool open;                       /* between open and close */
    uint32_t relid;                  /* the chunk's table */
    struct pgcdc_snapshot_xids q;    /* what the chunk's rows include (xip owned) */
    pgcdc_lsn high;                  /* past this, q's transactions are all streamed */
    struct pgcdc_buf arena;          /* keys and rows */
    struct pgcdc_buf key;            /* a stream change's key, encoded, reused */
    struct window_entry *entries;    /* per row, in the order added */
    size_t nentries;                 /* rows added */
    size_t cap;                      /* entries allocated */
    size_t *buckets;                 /* first entry of each bucket, plus one; 0 empty */
    size_t nbuckets;                 /* a power of two, 0 before the first row */
    size_t dropped;                  /* rows dropped */
    const char **values;             /* the row pgcdc_window_next hands out */
    uint32_t *lens;                  /* its lengths */
    uint16_t maxcols;                /* entries in values and lens */
};

/* FNV-1a over the encoded key. */
static uint64_t window_hash(const char *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/* Appends values as length and bytes each. 0 or -ENOMEM. */
static int window_encode(struct pgcdc_buf *b, const char *const *v, const uint32_t *l, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++) {
        uint32_t len = v[i] ? l[i] : WINDOW_NULL_LEN;

        if (pgcdc_buf_append(b, &len, sizeof(len)) < 0 ||
            (v[i] && pgcdc_buf_append(b, v[i], l[i]) < 0))
            return -ENOMEM;
    }
    return 0;
}

int pgcdc_window_new(struct pgcdc_window **out, char *err, size_t errlen)
{
    *out = calloc(1, sizeof(**out));
    if (*out == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

void pgcdc_window_free(struct pgcdc_window **wp)
{
    struct pgcdc_window *w;

    if (wp == NULL || *wp == NULL)
        return;
    w = *wp;
    free(w->q.xip);
    pgcdc_buf_free(&w->arena);
    pgcdc_buf_free(&w->key);
    free(w->entries);
    free(w->buckets);
    free(w->values);
    free(w->lens);
    free(w);
    *wp = NULL;
}

int pgcdc_window_open(struct pgcdc_window *w, uint32_t relid, const struct pgcdc_snapshot_xids *q,
                      pgcdc_lsn high)
{
    uint64_t *xip = NULL;

    if (q->nxip > 0) {
        xip = malloc(q->nxip * sizeof(*xip));
        if (xip == NULL)
            return -ENOMEM;
        memcpy(xip, q->xip, q->nxip * sizeof(*xip));
    }
    free(w->q.xip);
    w->q = *q;
    w->q.xip = xip;
    w->relid = relid;
    w->high = high;
    w->open = true;
    pgcdc_buf_reset(&w->arena);
    w->nentries = 0;
    w->dropped = 0;
    if (w->nbuckets > 0)
        memset(w->buckets, 0, w->nbuckets * sizeof(*w->buckets));
    return 0;
}

bool pgcdc_window_is_open(const struct pgcdc_window *w)
{
    return w->open;
}

/* Doubles the buckets when the rows outgrow half of them. 0 or -ENOMEM. */
static int window_grow(struct pgcdc_window *w)
{
    size_t n = w->nbuckets ? w->nbuckets * 2 : 64;
    size_t *b;

    if (w->nentries * 2 < w->nbuckets)
        return 0;
    b = calloc(n, sizeof(*b));
    if (b == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < w->nentries; i++) {
        size_t k = w->entries[i].hash & (n - 1);

        w->entries[i].next = b[k];
        b[k] = i + 1;
    }
    free(w->buckets);
    w->buckets = b;
    w->nbuckets = n;
    return 0;
}

int pgcdc_window_add(struct pgcdc_window *w, const char *const *key, const uint32_t *klens,
                     uint16_t nkey, const char *const *values, const uint32_t *lens,
                     uint16_t ncols)
{
    struct window_entry *e;
    size_t start = w->arena.len;
    size_t k;

    if (!w->open)
        return -EINVAL;
    if (w->nentries == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        struct window_entry *n = realloc(w->entries, cap * sizeof(*n));

        if (n == NULL)
            return -ENOMEM;
        w->entries = n;
        w->cap = cap;
    }
    /* Room to hand the row out later, so that reading rows cannot fail. */
    if (ncols > w->maxcols) {
        const char **v = realloc(w->values, ncols * sizeof(*v));
        uint32_t *l;

        if (v == NULL)
            return -ENOMEM;
        w->values = v;
        l = realloc(w->lens, ncols * sizeof(*l));
        if (l == NULL)
            return -ENOMEM;
        w->lens = l;
        w->maxcols = ncols;
    }
    if (window_grow(w) < 0)
        return -ENOMEM;
    e = &w->entries[w->nentries];
    e->key_off = start;
    if (window_encode(&w->arena, key, klens, nkey) < 0)
        goto nomem;
    e->key_len = w->arena.len - start;
    e->row_off = w->arena.len;
    if (window_encode(&w->arena, values, lens, ncols) < 0)
        goto nomem;
    e->ncols = ncols;
    e->dropped = false;
    e->hash = window_hash(w->arena.data + e->key_off, e->key_len);
    k = e->hash & (w->nbuckets - 1);
    e->next = w->buckets[k];
    w->buckets[k] = ++w->nentries;
    return 0;

nomem:
    w->arena.len = start;
    return -ENOMEM;
}

int pgcdc_window_change(struct pgcdc_window *w, uint32_t relid, uint32_t xid,
                        const char *const *key, const uint32_t *klens, uint16_t nkey)
{
    uint64_t h;
    int n = 0;

    if (!w->open || relid != w->relid || w->nentries == 0 ||
        pgcdc_snapshot_xid_visible(&w->q, xid))
        return 0;
    pgcdc_buf_reset(&w->key);
    /* Without memory to compare keys, a change cannot clear the row:
     * never emit a row that may be stale, drop them all instead. */
    if (window_encode(&w->key, key, klens, nkey) < 0)
        return (int)pgcdc_window_truncate(w, relid, xid);
    h = window_hash(w->key.data, w->key.len);
    for (size_t i = w->buckets[h & (w->nbuckets - 1)]; i != 0; i = w->entries[i - 1].next) {
        struct window_entry *e = &w->entries[i - 1];

        if (e->dropped || e->hash != h || e->key_len != w->key.len ||
            memcmp(w->arena.data + e->key_off, w->key.data, e->key_len) != 0)
            continue;
        e->dropped = true;
        w->dropped++;
        n++;
    }
    return n;
}

size_t pgcdc_window_truncate(struct pgcdc_window *w, uint32_t relid, uint32_t xid)
{
    size_t n = 0;

    if (!w->open || relid != w->relid || pgcdc_snapshot_xid_visible(&w->q, xid))
        return 0;
    for (size_t i = 0; i < w->nentries; i++) {
        if (!w->entries[i].dropped) {
            w->entries[i].dropped = true;
            n++;
        }
    }
    w->dropped += n;
    return n;
}

bool pgcdc_window_passed(const struct pgcdc_window *w, pgcdc_lsn lsn)
{
    return w->open && lsn >= w->high;
}

void pgcdc_window_close(struct pgcdc_window *w)
{
    w->open = false;
}

bool pgcdc_window_next(struct pgcdc_window *w, size_t *cursor, struct pgcdc_window_row *row)
{
    const struct window_entry *e;
    const char *p;

    while (*cursor < w->nentries && w->entries[*cursor].dropped)
        (*cursor)++;
    if (*cursor >= w->nentries)
        return false;
    e = &w->entries[(*cursor)++];
    p = w->arena.data + e->row_off;
    for (uint16_t i = 0; i < e->ncols; i++) {
        uint32_t len;

        memcpy(&len, p, sizeof(len));
        p += sizeof(len);
        w->values[i] = len == WINDOW_NULL_LEN ? NULL : p;
        w->lens[i] = len == WINDOW_NULL_LEN ? 0 : len;
        if (len != WINDOW_NULL_LEN)
            p += len;
    }
    row->ncols = e->ncols;
    row->values = w->values;
    row->lens = w->lens;
    return true;
}

bool pgcdc_window_sees_all(const struct pgcdc_snapshot_xids *q, const uint32_t *xids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!pgcdc_snapshot_xid_visible(q, xids[i]))
            return false;
    return true;
}

size_t pgcdc_window_rows(const struct pgcdc_window *w)
{
    return w->nentries;
}

size_t pgcdc_window_dropped(const struct pgcdc_window *w)
{
    return w->dropped;
}
