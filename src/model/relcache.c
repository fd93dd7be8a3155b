/*
 * relcache.c - the table model built from pgoutput Relation messages.
 *
 * Entries live in an open-addressing hash table keyed by relation oid, which
 * is looked up once per change event. A Relation message replaces the whole
 * entry; the version moves only when the column list (names, types, typmods,
 * key flags) differs from the cached one, so an encoder's per-relation cache
 * survives the Relation messages PostgreSQL resends after a reconnect.
 *
 * Key columns follow Debezium: the table's primary key. pgoutput's key flags
 * carry the replica identity, which is the primary key under DEFAULT but
 * every column under FULL and some unique index under INDEX, so for those two
 * the primary key is looked up through the pk callback when one is set.
 * message.key.columns, when it names columns of a table, replaces both.
 *
 * Types pgoutput names only by oid go through the type callback (the
 * catalog): its answers are asked afresh whenever a known relation is sent
 * again, so an enum that gained a label or a domain that was recreated is
 * seen after the DDL that touched the table.
 */
#include "pgcdc/relcache.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/config.h"
#include "pgcdc/error.h"
#include "pgcdc/filter.h"
#include "pgcdc/log.h"
#include "pgcdc/pgoutput.h"
#include "pgcdc/topic.h"

struct pgcdc_relcache {
    const struct pgcdc_config *cfg; /* filters, prefix, unknown types (borrowed) */
    struct pgcdc_rel **slots;       /* open addressing by relid; NULL = empty */
    size_t nslots;                  /* power of two */
    size_t count;                   /* entries in slots */
    pgcdc_relcache_pk_fn pk_fn;     /* primary key lookup, or NULL */
    void *pk_arg;                   /* its argument */
    pgcdc_relcache_type_fn type_fn; /* catalog type lookup, or NULL */
    void *type_arg;                 /* its argument */
    pgcdc_relcache_name_fn name_fn; /* current name of a relation, or NULL */
    void *name_arg;                 /* its argument */
    struct claim *claims;           /* topics of captured tables, one per relation */
    size_t nclaims;                 /* entries used in claims */
    size_t capclaims;               /* entries allocated in claims */
    size_t *by_topic;               /* open addressing on topic: claim index + 1, 0 = empty */
    size_t *by_relid;               /* the same on relid */
    size_t nindex;                  /* slots in each index: a power of two, > 2 * nclaims */
};

/* A captured table's topic. Claims are made at start-up for every captured
 * table and when a Relation message arrives; both indexes are rebuilt
 * whenever a claim goes or changes topic, which only DDL makes happen. */
struct claim {
    uint32_t relid; /* relation oid */
    char *nspname;  /* schema name when claimed */
    char *relname;  /* table name when claimed */
    char *topic;    /* its topic */
};

#define INITIAL_SLOTS 64

static size_t slot_of(uint32_t relid, size_t nslots)
{
    /* Fibonacci hashing spreads sequential oids. */
    return (size_t)((relid * 2654435769u) & (nslots - 1));
}

static void rel_free(struct pgcdc_rel *rel)
{
    if (rel == NULL)
        return;
    for (uint16_t i = 0; i < rel->ncols; i++) {
        free(rel->cols[i].name);
        free(rel->cols[i].labels);
    }
    free(rel->cols);
    free(rel->nspname);
    free(rel->relname);
    free(rel->topic);
    free(rel->counts);
    free(rel);
}

int pgcdc_relcache_new(struct pgcdc_relcache **out, const struct pgcdc_config *cfg, char *err,
                       size_t errlen)
{
    struct pgcdc_relcache *rc = calloc(1, sizeof(*rc));

    *out = NULL;
    if (rc == NULL || (rc->slots = calloc(INITIAL_SLOTS, sizeof(*rc->slots))) == NULL) {
        free(rc);
        snprintf(err, errlen, "out of memory for the relation cache");
        return -ENOMEM;
    }
    rc->nslots = INITIAL_SLOTS;
    rc->cfg = cfg;
    *out = rc;
    return 0;
}

void pgcdc_relcache_set_pk_lookup(struct pgcdc_relcache *rc, pgcdc_relcache_pk_fn fn, void *arg)
{
    rc->pk_fn = fn;
    rc->pk_arg = arg;
}

void pgcdc_relcache_set_type_lookup(struct pgcdc_relcache *rc, pgcdc_relcache_type_fn fn, void *arg)
{
    rc->type_fn = fn;
    rc->type_arg = arg;
}

void pgcdc_relcache_set_name_lookup(struct pgcdc_relcache *rc, pgcdc_relcache_name_fn fn, void *arg)
{
    rc->name_fn = fn;
    rc->name_arg = arg;
}

static void claim_clear(struct claim *c)
{
    free(c->nspname);
    free(c->relname);
    free(c->topic);
}

static void claim_drop(struct pgcdc_relcache *rc, size_t i)
{
    claim_clear(&rc->claims[i]);
    rc->claims[i] = rc->claims[--rc->nclaims];
}

static size_t topic_hash(const char *s)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (size_t)h;
}

static size_t relid_hash(uint32_t relid)
{
    return (size_t)(relid * 2654435769u);
}

static void index_put(size_t *tab, size_t n, size_t h, size_t i)
{
    size_t j = h & (n - 1);

    while (tab[j] != 0)
        j = (j + 1) & (n - 1);
    tab[j] = i + 1;
}

/* Rebuilds both indexes over the claims, with room for one more. */
static int index_rebuild(struct pgcdc_relcache *rc)
{
    size_t n = 128, *t, *r;

    while (n <= 2 * (rc->nclaims + 1))
        n *= 2;
    t = calloc(n, sizeof(*t));
    r = calloc(n, sizeof(*r));
    if (t == NULL || r == NULL) {
        free(t);
        free(r);
        return -ENOMEM;
    }
    for (size_t i = 0; i < rc->nclaims; i++) {
        index_put(t, n, topic_hash(rc->claims[i].topic), i);
        index_put(r, n, relid_hash(rc->claims[i].relid), i);
    }
    free(rc->by_topic);
    free(rc->by_relid);
    rc->by_topic = t;
    rc->by_relid = r;
    rc->nindex = n;
    return 0;
}

/* The index of relid's claim, or SIZE_MAX. */
static size_t find_relid(const struct pgcdc_relcache *rc, uint32_t relid)
{
    for (size_t j = relid_hash(relid) & (rc->nindex - 1); rc->by_relid[j] != 0;
         j = (j + 1) & (rc->nindex - 1))
        if (rc->claims[rc->by_relid[j] - 1].relid == relid)
            return rc->by_relid[j] - 1;
    return SIZE_MAX;
}

static int claim_set(struct claim *c, uint32_t relid, const char *nsp, const char *rel,
                     const char *topic)
{
    struct claim fresh = {relid, strdup(nsp), strdup(rel), strdup(topic)};

    if (fresh.nspname == NULL || fresh.relname == NULL || fresh.topic == NULL) {
        claim_clear(&fresh);
        return -ENOMEM;
    }
    claim_clear(c);
    *c = fresh;
    return 0;
}

/*
 * Whether the claim of another relation on the same topic still holds. The
 * cache may know a relation by an old name: renamed or dropped since its
 * last Relation message. A relation sent under the very name it claimed
 * under is such a leftover (two relations never share a name at one point of
 * the stream); otherwise the catalog says what the other relation is called
 * now, if it still exists.
 */
static int claim_holds(struct pgcdc_relcache *rc, struct claim *c, const char *nsp,
                       const char *rel, bool ask, char *err, size_t errlen)
{
    char cur_nsp[256], cur_rel[256];
    char *topic = NULL;
    int ret;

    if (strcmp(c->nspname, nsp) == 0 && strcmp(c->relname, rel) == 0)
        return 0;
    if (!ask || rc->name_fn == NULL)
        return 1;
    ret = rc->name_fn(rc->name_arg, c->relid, cur_nsp, sizeof(cur_nsp), cur_rel, sizeof(cur_rel),
                      err, errlen);
    if (ret == -ENOENT)
        return 0;
    if (ret < 0)
        return ret;
    if (pgcdc_topic_name(rc->cfg->topic_prefix, rc->cfg->topic_delimiter, cur_nsp, cur_rel,
                         &topic) < 0)
        return -ENOMEM;
    ret = strcmp(topic, c->topic) == 0;
    if (!ret)
        ret = claim_set(c, c->relid, cur_nsp, cur_rel, topic);
    free(topic);
    return ret;
}

/* Records that relid (schema nsp, table rel) writes to topic; ask: look
 * leftovers up in the catalog. -PGCDC_ECONFIG when another captured table
 * holds the topic. */
static int claim_topic(struct pgcdc_relcache *rc, uint32_t relid, const char *nsp, const char *rel,
                       const char *topic, bool ask, char *err, size_t errlen)
{
    size_t mine;
    int ret;

    if (rc->nindex == 0 && index_rebuild(rc) < 0)
        return -ENOMEM;
again:
    for (size_t j = topic_hash(topic) & (rc->nindex - 1); rc->by_topic[j] != 0;
         j = (j + 1) & (rc->nindex - 1)) {
        size_t i = rc->by_topic[j] - 1;
        struct claim *c = &rc->claims[i];

        if (c->relid == relid || strcmp(c->topic, topic) != 0)
            continue;
        ret = claim_holds(rc, c, nsp, rel, ask, err, errlen);
        if (ret < 0)
            return ret;
        if (ret == 1) {
            snprintf(err, errlen,
                     "tables '%s.%s' and '%s.%s' both map to topic '%s', where their events "
                     "could not be told apart: capture at most one of them "
                     "(table.include.list or table.exclude.list), or rename one",
                     c->nspname, c->relname, nsp, rel, topic);
            return -PGCDC_ECONFIG;
        }
        /* A leftover: gone, or now known by a name with another topic. */
        if (strcmp(c->topic, topic) == 0)
            claim_drop(rc, i);
        if (index_rebuild(rc) < 0)
            return -ENOMEM;
        goto again;
    }
    mine = find_relid(rc, relid);
    if (mine != SIZE_MAX) {
        bool moved = strcmp(rc->claims[mine].topic, topic) != 0;

        ret = claim_set(&rc->claims[mine], relid, nsp, rel, topic);
        return ret == 0 && moved ? index_rebuild(rc) : ret;
    }
    if (rc->nclaims == rc->capclaims) {
        size_t n = rc->capclaims ? rc->capclaims * 2 : 64;
        struct claim *grown = realloc(rc->claims, n * sizeof(*grown));

        if (grown == NULL)
            return -ENOMEM;
        rc->claims = grown;
        rc->capclaims = n;
    }
    memset(&rc->claims[rc->nclaims], 0, sizeof(rc->claims[0]));
    ret = claim_set(&rc->claims[rc->nclaims], relid, nsp, rel, topic);
    if (ret < 0)
        return ret;
    rc->nclaims++;
    if (2 * (rc->nclaims + 1) >= rc->nindex)
        return index_rebuild(rc);
    index_put(rc->by_topic, rc->nindex, topic_hash(topic), rc->nclaims - 1);
    index_put(rc->by_relid, rc->nindex, relid_hash(relid), rc->nclaims - 1);
    return 0;
}

/* Forgets the claim of relid (a table no longer captured). */
static int unclaim(struct pgcdc_relcache *rc, uint32_t relid)
{
    size_t i;

    if (rc->nindex == 0)
        return 0;
    i = find_relid(rc, relid);
    if (i == SIZE_MAX)
        return 0;
    claim_drop(rc, i);
    return index_rebuild(rc);
}

int pgcdc_relcache_claim_table(void *cache, uint32_t relid, const char *nspname,
                               const char *relname, char *err, size_t errlen)
{
    struct pgcdc_relcache *rc = cache;
    char *topic = NULL;
    int ret;

    ret = pgcdc_filter_table(rc->cfg, nspname, relname, err, errlen);
    if (ret <= 0)
        return ret == -E2BIG ? -PGCDC_ECONFIG : ret;
    if (pgcdc_topic_name(rc->cfg->topic_prefix, rc->cfg->topic_delimiter, nspname, relname,
                         &topic) < 0)
        ret = -ENOMEM;
    else
        ret = claim_topic(rc, relid, nspname, relname, topic, false, err, errlen);
    free(topic);
    if (ret == -ENOMEM)
        snprintf(err, errlen, "out of memory in the relation cache");
    return ret;
}

struct pgcdc_rel *pgcdc_relcache_get(const struct pgcdc_relcache *rc, uint32_t relid)
{
    size_t i = slot_of(relid, rc->nslots);

    while (rc->slots[i]) {
        if (rc->slots[i]->relid == relid)
            return rc->slots[i];
        i = (i + 1) & (rc->nslots - 1);
    }
    return NULL;
}

const struct pgcdc_rel *pgcdc_relcache_next(const struct pgcdc_relcache *rc, size_t *pos)
{
    while (*pos < rc->nslots) {
        const struct pgcdc_rel *rel = rc->slots[(*pos)++];

        if (rel)
            return rel;
    }
    return NULL;
}

static int grow(struct pgcdc_relcache *rc)
{
    size_t n = rc->nslots * 2;
    struct pgcdc_rel **slots = calloc(n, sizeof(*slots));

    if (slots == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < rc->nslots; i++) {
        struct pgcdc_rel *rel = rc->slots[i];
        size_t j;

        if (rel == NULL)
            continue;
        j = slot_of(rel->relid, n);
        while (slots[j])
            j = (j + 1) & (n - 1);
        slots[j] = rel;
    }
    free(rc->slots);
    rc->slots = slots;
    rc->nslots = n;
    return 0;
}

/* Puts rel in the table, replacing (and returning) an entry with its relid. */
static struct pgcdc_rel *put(struct pgcdc_relcache *rc, struct pgcdc_rel *rel)
{
    size_t i = slot_of(rel->relid, rc->nslots);

    while (rc->slots[i]) {
        if (rc->slots[i]->relid == rel->relid) {
            struct pgcdc_rel *old = rc->slots[i];

            rc->slots[i] = rel;
            return old;
        }
        i = (i + 1) & (rc->nslots - 1);
    }
    rc->slots[i] = rel;
    rc->count++;
    return NULL;
}

/* The same mapping: catalog-mapped types can change under one oid. */
static bool same_mapping(const struct pgcdc_relcol *x, const struct pgcdc_relcol *y)
{
    if (x->tm.conv != y->tm.conv || x->tm.elem_conv != y->tm.elem_conv ||
        x->tm.type_oid != y->tm.type_oid || x->tm.typmod != y->tm.typmod)
        return false;
    if (x->labels == NULL || y->labels == NULL)
        return x->labels == y->labels;
    return strcmp(x->labels, y->labels) == 0;
}

/* Same name, topic and filter verdict, and the same columns in the same
 * order with the same types and key flags. The name is part of the shape:
 * Debezium derives the topic, the subjects and the Avro names and
 * namespace from it, so a renamed table is a new version. */
static bool same_shape(const struct pgcdc_rel *a, const struct pgcdc_rel *b)
{
    if (strcmp(a->nspname, b->nspname) != 0 || strcmp(a->relname, b->relname) != 0 ||
        strcmp(a->topic, b->topic) != 0 || a->included != b->included)
        return false;
    if (a->ncols != b->ncols || a->nkeys != b->nkeys)
        return false;
    for (uint16_t i = 0; i < a->ncols; i++) {
        const struct pgcdc_relcol *x = &a->cols[i], *y = &b->cols[i];

        if (x->type_oid != y->type_oid || x->typmod != y->typmod || x->key != y->key ||
            x->included != y->included || strcmp(x->name, y->name) != 0 ||
            ((x->included || x->key) && !same_mapping(x, y)))
            return false;
    }
    return true;
}

/* Replaces the replica identity flags with the primary key, as Debezium keys
 * its events by the primary key. */
static int use_primary_key(struct pgcdc_relcache *rc, struct pgcdc_rel *rel, char *err,
                           size_t errlen)
{
    char *names[64];
    int n;

    n = rc->pk_fn(rc->pk_arg, rel->relid, names, 64, err, errlen);
    if (n < 0)
        return n;
    rel->nkeys = 0;
    for (uint16_t i = 0; i < rel->ncols; i++) {
        rel->cols[i].key = false;
        for (int k = 0; k < n; k++) {
            if (strcmp(names[k], rel->cols[i].name) == 0) {
                rel->cols[i].key = true;
                rel->nkeys++;
            }
        }
    }
    for (int k = 0; k < n; k++)
        free(names[k]);
    return 0;
}

/* message.key.columns, as Debezium applies it: when it names columns of
 * this table, they are the key instead of the primary key (for a table
 * without one, the only key it has). The key's fields keep the table's
 * column order. */
static int use_key_columns(struct pgcdc_relcache *rc, struct pgcdc_rel *rel, char *err,
                           size_t errlen)
{
    uint16_t n = 0;

    for (uint16_t i = 0; i < rel->ncols; i++) {
        int in = pgcdc_filter_key_column(rc->cfg, rel->nspname, rel->relname, rel->cols[i].name,
                                         err, errlen);

        if (in < 0)
            return in;
        n += in == 1;
    }
    if (n == 0)
        return 0;
    rel->nkeys = 0;
    for (uint16_t i = 0; i < rel->ncols; i++) {
        rel->cols[i].key = pgcdc_filter_key_column(rc->cfg, rel->nspname, rel->relname,
                                                   rel->cols[i].name, err, errlen) == 1;
        rel->nkeys += rel->cols[i].key;
    }
    return 0;
}

/* Maps col, through the catalog for types only it can describe. */
static int map_column(struct pgcdc_relcache *rc, struct pgcdc_relcol *col, bool refresh, char *terr,
                      size_t terrlen)
{
    struct pgcdc_types_modes modes = rc->cfg->type_modes;
    struct pgcdc_type_info ti;
    int ret;

    modes.include_unknown = rc->cfg->include_unknown_datatypes;
    if (rc->type_fn == NULL || col->type_oid < PGCDC_TYPES_FIRST_USER_OID)
        return pgcdc_types_map_modes(col->type_oid, col->typmod, &modes, &col->tm, terr, terrlen);
    memset(&ti, 0, sizeof(ti));
    ret = rc->type_fn(rc->type_arg, col->type_oid, refresh, &ti, terr, terrlen);
    if (ret < 0)
        return ret == -ENOTSUP ? -EIO : ret; /* -ENOTSUP means "left out" here */
    if (ti.labels) {
        col->labels = strdup(ti.labels);
        if (col->labels == NULL) {
            snprintf(terr, terrlen, "out of memory");
            return -ENOMEM;
        }
        ti.labels = col->labels;
    }
    return pgcdc_types_map_info_modes(&ti, col->typmod, &modes, &col->tm, terr, terrlen);
}

/* Logs the warnings of fill_columns() and frees them. */
static void flush_warnings(const struct pgcdc_rel *rel, char **warn, bool log)
{
    char table[256];

    snprintf(table, sizeof(table), "%s.%s", rel->nspname, rel->relname);
    for (uint16_t i = 0; warn && i < rel->ncols; i++) {
        if (warn[i] && log)
            pgcdc_log_with(PGCDC_LOG_WARN, PGCDC_LOG_FIELDS({"table", table}),
                           "table '%s': column '%s': %s", table, rel->cols[i].name, warn[i]);
        free(warn[i]);
    }
    free(warn);
}

/* Maps the columns of rel; warn[i] gets the reason column i is left out
 * (malloc'd), when it is. */
static int map_columns(struct pgcdc_relcache *rc, struct pgcdc_rel *rel,
                       const struct pgcdc_msg *msg, bool refresh, char **warn, char *err,
                       size_t errlen)
{
    rel->cols = calloc(rel->ncols ? rel->ncols : 1, sizeof(*rel->cols));
    if (rel->cols == NULL)
        return -ENOMEM;
    for (uint16_t i = 0; i < rel->ncols; i++) {
        const struct pgcdc_rel_col *src = &msg->u.relation.cols[i];
        struct pgcdc_relcol *col = &rel->cols[i];

        col->name = strdup(src->name);
        if (col->name == NULL)
            return -ENOMEM;
        col->type_oid = src->type_oid;
        col->typmod = src->typmod;
        col->key = src->key;
        if (col->key)
            rel->nkeys++;
    }
    if (rc->pk_fn && rel->included && (rel->replident == 'f' || rel->replident == 'i')) {
        int rc2 = use_primary_key(rc, rel, err, errlen);

        if (rc2 < 0)
            return rc2;
    }
    if (rel->included) {
        int rc2 = use_key_columns(rc, rel, err, errlen);

        if (rc2 < 0)
            return rc2;
    }
    for (uint16_t i = 0; i < rel->ncols; i++) {
        struct pgcdc_relcol *col = &rel->cols[i];
        char terr[512];
        int trc;

        if (rel->included) {
            int in = pgcdc_filter_column(rc->cfg, rel->nspname, rel->relname, col->name, err,
                                         errlen);

            if (in < 0)
                return in;
            col->included = in == 1;
        }
        /* Nothing of an excluded table is ever encoded: no mapping (and no
         * catalog query) for it. */
        if (!rel->included || (!col->included && !col->key))
            continue;
        trc = map_column(rc, col, refresh, terr, sizeof(terr));
        /* A type dropped after the change was made cannot be described any
         * more: the column is left out, as for a type pgcdc does not know. */
        if ((trc == -ENOTSUP || trc == -ENOENT) && !col->key) {
            if (rel->included && (warn[i] = strdup(terr)) == NULL)
                return -ENOMEM;
            col->included = false;
            continue;
        }
        if (trc < 0) {
            snprintf(err, errlen, "table '%s.%s': column '%s': %s", rel->nspname, rel->relname,
                     col->name, terr);
            return trc;
        }
    }
    return 0;
}

/* Fills the columns of rel. The warnings for columns left out are logged
 * only once every column is mapped: a lookup that has to wait
 * (-EINPROGRESS) makes the caller try the whole message again. */
static int fill_columns(struct pgcdc_relcache *rc, struct pgcdc_rel *rel,
                        const struct pgcdc_msg *msg, bool refresh, char *err, size_t errlen)
{
    char **warn;
    int ret;

    rel->ncols = msg->u.relation.ncols;
    warn = calloc(rel->ncols ? rel->ncols : 1, sizeof(*warn));
    if (warn == NULL)
        return -ENOMEM;
    ret = map_columns(rc, rel, msg, refresh, warn, err, errlen);
    flush_warnings(rel, warn, ret == 0);
    return ret;
}

int pgcdc_relcache_apply(struct pgcdc_relcache *rc, const struct pgcdc_msg *msg,
                         struct pgcdc_rel **relp, bool *changed, char *err, size_t errlen)
{
    struct pgcdc_rel *rel, *old;
    int ret = -ENOMEM;

    *relp = NULL;
    *changed = false;
    rel = calloc(1, sizeof(*rel));
    if (rel == NULL)
        goto nomem;
    rel->relid = msg->u.relation.relid;
    rel->replident = msg->u.relation.replident;
    /* pgoutput sends "" for pg_catalog. */
    rel->nspname = strdup(msg->u.relation.nspname[0] ? msg->u.relation.nspname : "pg_catalog");
    rel->relname = strdup(msg->u.relation.relname);
    if (rel->nspname == NULL || rel->relname == NULL)
        goto nomem;
    ret = pgcdc_filter_table(rc->cfg, rel->nspname, rel->relname, err, errlen);
    if (ret < 0) {
        rel_free(rel);
        return ret == -E2BIG ? -PGCDC_ECONFIG : ret;
    }
    rel->included = ret == 1;
    if (pgcdc_topic_name(rc->cfg->topic_prefix, rc->cfg->topic_delimiter, rel->nspname,
                         rel->relname, &rel->topic) < 0)
        goto nomem;
    if (rel->included)
        ret = claim_topic(rc, rel->relid, rel->nspname, rel->relname, rel->topic, true, err,
                          errlen);
    else
        ret = unclaim(rc, rel->relid);
    if (ret == 0)
        ret = fill_columns(rc, rel, msg, pgcdc_relcache_get(rc, rel->relid) != NULL, err, errlen);
    if (ret < 0) {
        if (ret == -ENOMEM)
            goto nomem;
        rel_free(rel);
        return ret == -E2BIG ? -PGCDC_ECONFIG : ret;
    }

    old = pgcdc_relcache_get(rc, rel->relid);
    if (old) {
        rel->filtered = old->filtered;
        rel->counts = old->counts;
        old->counts = NULL;
    } else {
        /* Without it the table's events are simply not counted. */
        rel->counts = calloc(1, sizeof(*rel->counts));
    }
    if (old && same_shape(old, rel)) {
        /* Unchanged (e.g. resent after a reconnect): keep the version, so
         * what encoders built for it stays valid. */
        rel->version = old->version;
    } else {
        rel->version = old ? old->version + 1 : 1;
        *changed = true;
        if (old && (strcmp(old->nspname, rel->nspname) != 0 ||
                    strcmp(old->relname, rel->relname) != 0))
            pgcdc_log_info("table '%s.%s' (relation %u) is now '%s.%s': version %u, topic '%s'%s",
                           old->nspname, old->relname, rel->relid, rel->nspname, rel->relname,
                           rel->version, rel->topic,
                           rel->included ? "" : " (outside the table filters from now on)");
    }
    if (old == NULL && rc->count * 2 >= rc->nslots && grow(rc) < 0)
        goto nomem;
    rel_free(put(rc, rel));
    *relp = rel;
    return 0;

nomem:
    rel_free(rel);
    snprintf(err, errlen, "out of memory in the relation cache");
    return -ENOMEM;
}

static void count_filtered(struct pgcdc_rel *rel)
{
    uint64_t n;

    if (rel == NULL || rel->included)
        return;
    n = ++rel->filtered;

    /* Visible, without a line per change: a table that should have been
     * captured (a partition named by its parent, a pattern missing a
     * character) shows up at once, and its count keeps growing. */
    while (n % 10 == 0)
        n /= 10;
    if (n == 1)
        pgcdc_log_debug("table '%s.%s': %" PRIu64 " change(s) dropped so far: outside the table "
                        "filters (table.include.list / table.exclude.list)",
                        rel->nspname, rel->relname, rel->filtered);
}

void pgcdc_relcache_count_filtered(struct pgcdc_relcache *rc, const struct pgcdc_msg *msg)
{
    switch (msg->type) {
    case PGCDC_MSG_INSERT:
    case PGCDC_MSG_UPDATE:
    case PGCDC_MSG_DELETE:
        count_filtered(pgcdc_relcache_get(rc, msg->u.change.relid));
        break;
    case PGCDC_MSG_TRUNCATE:
        for (uint32_t i = 0; i < msg->u.truncate.nrels; i++)
            count_filtered(pgcdc_relcache_get(rc, pgcdc_truncate_relid(msg, i)));
        break;
    default:
        break;
    }
}

void pgcdc_relcache_log_filtered(const struct pgcdc_relcache *rc)
{
    uint64_t total = 0;
    size_t tables = 0;

    for (size_t i = 0; i < rc->nslots; i++) {
        const struct pgcdc_rel *rel = rc->slots[i];

        if (rel == NULL || rel->filtered == 0)
            continue;
        pgcdc_log_debug("table '%s.%s': %" PRIu64 " change(s) dropped: outside the table filters",
                        rel->nspname, rel->relname, rel->filtered);
        total += rel->filtered;
        tables++;
    }
    if (total > 0)
        pgcdc_log_info("%" PRIu64 " change(s) of %zu table(s) outside the table filters were "
                       "dropped (log.level = debug names them)",
                       total, tables);
}

int pgcdc_relcache_apply_type(struct pgcdc_relcache *rc, const struct pgcdc_msg *msg, char *err,
                              size_t errlen)
{
    (void)rc;
    (void)err;
    (void)errlen;
    /* Type messages only name user-defined types; columns of such types are
     * mapped by oid through include.unknown.datatypes. Logged for operators
     * wondering why a column is missing. */
    pgcdc_log_debug("type %u is '%s.%s'", msg->u.type.oid, msg->u.type.nspname,
                    msg->u.type.typname);
    return 0;
}

void pgcdc_relcache_free(struct pgcdc_relcache **rcp)
{
    struct pgcdc_relcache *rc;

    if (rcp == NULL || *rcp == NULL)
        return;
    rc = *rcp;
    for (size_t i = 0; i < rc->nslots; i++)
        rel_free(rc->slots[i]);
    for (size_t i = 0; i < rc->nclaims; i++)
        claim_clear(&rc->claims[i]);
    free(rc->claims);
    free(rc->by_topic);
    free(rc->by_relid);
    free(rc->slots);
    free(rc);
    *rcp = NULL;
}
