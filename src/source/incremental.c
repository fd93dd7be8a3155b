/*
 * incremental.c - reading tables again while the stream runs (incremental.h).
 *
 * States of the connection: none, connecting (pgcdc_pq_connect_start and
 * _poll, driven by the caller's poll), ready, describing a table, reading
 * a chunk. A chunk's results come in order: SET (several), BEGIN, the
 * SELECT of the watermarks, the COPY's rows and its end, COMMIT.
 */
#include "pgcdc/incremental.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pgcdc/buf.h"
#include "pgcdc/pq.h"

enum incr_state {
    INCR_NONE,       /* no connection */
    INCR_CONNECTING, /* under way */
    INCR_READY,      /* open, nothing sent */
    INCR_DESCRIBING, /* the table's description asked for */
    INCR_MAXKEY,     /* its greatest key asked for */
    INCR_CHUNK,      /* a chunk's query sent */
};

/* A queued table. */
struct incr_table {
    char *name;      /* "schema.table" */
    char *after_key; /* encoded key to read after, or NULL: from the start */
};

struct pgcdc_incr {
    struct pgcdc_incr_opts opts;  /* as given (conninfo borrowed) */
    PGconn *pg;                   /* the connection, or NULL */
    enum incr_state state;        /* see above */
    short events;                 /* what the socket is polled for while connecting */
    struct incr_table *queue;     /* tables to read, the current first */
    size_t nqueue;                /* entries in queue */
    bool described;               /* queue[0] is described */
    bool want;                    /* a chunk is asked for */
    bool stopping;                /* stop-snapshot: drop the queue once the chunk ends */
    bool copying;                 /* inside the chunk's COPY */
    struct pgcdc_msg *rel;        /* queue[0] as a Relation */
    char names[8192];             /* its column names, for rel */
    char *select;                 /* "SELECT cols FROM ONLY t", for chunks */
    char *order;                  /* "k1, k2": the key's columns, quoted */
    char *from;                   /* " FROM ONLY t" */
    char *order_desc;             /* "k1 DESC, k2 DESC" */
    char *max_key;                /* encoded greatest key when the table was described, or NULL */
    uint16_t key[32];             /* the key's column indexes, in key order */
    uint16_t nkey;                /* how many */
    struct pgcdc_snapshot_xids q; /* the chunk's snapshot (xip owned) */
    pgcdc_lsn high;               /* the chunk's high watermark */
    uint64_t rows;                /* rows of the chunk so far */
    const char **values;          /* a row's values */
    uint32_t *lens;               /* their lengths */
    char *line;                   /* the row being handed out (libpq's buffer) */
    char *last_key;               /* encoded key of the chunk's last row */
    bool chunk_read;              /* a chunk is read, not yet committed or rolled back */
    bool chunk_last;              /* ... and it was its table's last */
    struct pgcdc_buf state_text;  /* pgcdc_incr_state's answer */
};

char *pgcdc_incr_key_encode(const char *const *values, const uint32_t *lens, uint16_t n)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    int rc = pgcdc_buf_reserve(&b, 16);

    for (uint16_t i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = pgcdc_buf_append_char(&b, '\t');
        if (rc == 0 && values[i] == NULL) {
            rc = pgcdc_buf_append(&b, "\\N", 2);
            continue;
        }
        for (uint32_t k = 0; k < lens[i] && rc == 0; k++) {
            char c = values[i][k];

            if (c == '\\')
                rc = pgcdc_buf_append(&b, "\\\\", 2);
            else if (c == '\t')
                rc = pgcdc_buf_append(&b, "\\t", 2);
            else if (c == '\n')
                rc = pgcdc_buf_append(&b, "\\n", 2);
            else if (c == '\r')
                rc = pgcdc_buf_append(&b, "\\r", 2);
            else
                rc = pgcdc_buf_append_char(&b, c);
        }
    }
    if (rc < 0) {
        pgcdc_buf_free(&b);
        return NULL;
    }
    return b.data;
}

int pgcdc_incr_new(struct pgcdc_incr **out, const struct pgcdc_incr_opts *opts, char *err,
                   size_t errlen)
{
    struct pgcdc_incr *inc = calloc(1, sizeof(*inc));

    *out = NULL;
    if (inc == NULL || (inc->rel = calloc(1, sizeof(*inc->rel))) == NULL ||
        (inc->values = calloc(PGCDC_MAX_COLUMNS, sizeof(*inc->values))) == NULL ||
        (inc->lens = calloc(PGCDC_MAX_COLUMNS, sizeof(*inc->lens))) == NULL) {
        pgcdc_incr_free(&inc);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    inc->opts = *opts;
    *out = inc;
    return 0;
}

static void forget_table(struct pgcdc_incr *inc)
{
    if (inc->nqueue == 0)
        return;
    free(inc->queue[0].name);
    free(inc->queue[0].after_key);
    memmove(inc->queue, inc->queue + 1, (inc->nqueue - 1) * sizeof(*inc->queue));
    inc->nqueue--;
    inc->described = false;
    free(inc->select);
    inc->select = NULL;
    free(inc->order);
    inc->order = NULL;
    free(inc->from);
    inc->from = NULL;
    free(inc->order_desc);
    inc->order_desc = NULL;
    free(inc->max_key);
    inc->max_key = NULL;
}

void pgcdc_incr_free(struct pgcdc_incr **ip)
{
    struct pgcdc_incr *inc;

    if (ip == NULL || *ip == NULL)
        return;
    inc = *ip;
    while (inc->nqueue > 0)
        forget_table(inc);
    free(inc->queue);
    if (inc->pg)
        PQfinish(inc->pg);
    if (inc->line)
        PQfreemem(inc->line);
    free(inc->rel);
    free(inc->values);
    free(inc->lens);
    free(inc->q.xip);
    free(inc->last_key);
    pgcdc_buf_free(&inc->state_text);
    free(inc);
    *ip = NULL;
}

int pgcdc_incr_add(struct pgcdc_incr *inc, const char *table, const char *after_key)
{
    struct incr_table *q;

    for (size_t i = 0; i < inc->nqueue; i++)
        if (strcmp(inc->queue[i].name, table) == 0)
            return 0;
    q = realloc(inc->queue, (inc->nqueue + 1) * sizeof(*q));
    if (q == NULL)
        return -ENOMEM;
    inc->queue = q;
    q = &inc->queue[inc->nqueue];
    q->name = strdup(table);
    q->after_key = after_key && after_key[0] ? strdup(after_key) : NULL;
    if (q->name == NULL || (after_key && after_key[0] && q->after_key == NULL)) {
        free(q->name);
        free(q->after_key);
        return -ENOMEM;
    }
    inc->nqueue++;
    inc->stopping = false;
    return 0;
}

void pgcdc_incr_stop(struct pgcdc_incr *inc)
{
    if (inc->state == INCR_CHUNK || inc->chunk_read) {
        inc->stopping = true;
        return;
    }
    while (inc->nqueue > 0)
        forget_table(inc);
    inc->want = false;
}

bool pgcdc_incr_pending(const struct pgcdc_incr *inc)
{
    return inc->nqueue > 0;
}

void pgcdc_incr_want_chunk(struct pgcdc_incr *inc)
{
    if (inc->nqueue > 0)
        inc->want = true;
}

bool pgcdc_incr_reading(const struct pgcdc_incr *inc)
{
    return inc->state == INCR_CHUNK || (inc->want && inc->nqueue > 0);
}

const char *pgcdc_incr_state(struct pgcdc_incr *inc)
{
    pgcdc_buf_reset(&inc->state_text);
    for (size_t i = 0; i < inc->nqueue; i++)
        pgcdc_buf_appendf(&inc->state_text, "%s\t%s\n", inc->queue[i].name,
                          inc->queue[i].after_key ? inc->queue[i].after_key : "");
    return inc->state_text.data ? inc->state_text.data : "";
}

int pgcdc_incr_pollfd(struct pgcdc_incr *inc, struct pollfd *pfd)
{
    if (inc->pg == NULL || inc->state == INCR_READY)
        return 0;
    pfd->fd = PQsocket(inc->pg);
    pfd->events = inc->state == INCR_CONNECTING ? inc->events : POLLIN;
    pfd->revents = 0;
    return pfd->fd >= 0;
}

/* The settings the value converters rely on, as on the replication
 * connection: COPY's text is then what pgoutput sends. */
static const char *const incr_settings =
    "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; "
    "SET bytea_output = 'hex'; SET extra_float_digits = 3; SET lc_monetary = 'C'; ";

/* Columns as pgoutput sends them (key flags from the replica identity),
 * and each column's place in the primary key (0: not in it). */
static const char *const incr_describe =
    "SELECT c.oid, c.relreplident, c.relkind, a.attname, a.atttypid, a.atttypmod, "
    "CASE c.relreplident WHEN 'f' THEN true WHEN 'n' THEN false ELSE "
    "a.attnum = ANY (coalesce((SELECT i.indkey::int2[] FROM pg_catalog.pg_index i "
    "WHERE i.indrelid = c.oid AND CASE c.relreplident WHEN 'd' THEN i.indisprimary "
    "ELSE i.indisreplident END LIMIT 1), '{}'::int2[])) END, "
    "coalesce((SELECT k.n FROM pg_catalog.pg_index i, "
    "unnest(i.indkey::int2[]) WITH ORDINALITY AS k(att, n) "
    "WHERE i.indrelid = c.oid AND i.indisprimary AND k.att = a.attnum), 0), "
    "n.nspname, c.relname "
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
    "WHERE c.oid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
    "AND a.attgenerated = '' ORDER BY a.attnum";

/* "schema.table" quoted for to_regclass: each part as an identifier. */
static char *regclass_text(PGconn *pg, const char *table)
{
    const char *dot = strchr(table, '.');
    char *schema, *ns = NULL, *rel = NULL, *out = NULL;

    if (dot == NULL)
        return NULL;
    schema = strndup(table, (size_t)(dot - table));
    if (schema) {
        ns = PQescapeIdentifier(pg, schema, strlen(schema));
        rel = PQescapeIdentifier(pg, dot + 1, strlen(dot + 1));
    }
    if (ns && rel) {
        size_t n = strlen(ns) + strlen(rel) + 2;

        out = malloc(n);
        if (out)
            snprintf(out, n, "%s.%s", ns, rel);
    }
    free(schema);
    PQfreemem(ns);
    PQfreemem(rel);
    return out;
}

/* Appends "<word> (key) <op> (literals of encoded)" to sql; nothing when
 * encoded is NULL. 0, -EINVAL when encoded does not fit the key, -ENOMEM. */
static int append_bound(struct pgcdc_incr *inc, struct pgcdc_buf *sql, const char *word,
                        const char *op, const char *encoded)
{
    const char *vals[32];
    uint32_t lens[32];
    char *copy;
    int rc = 0;

    if (encoded == NULL)
        return 0;
    copy = strdup(encoded);
    if (copy == NULL)
        return -ENOMEM;
    if (pgcdc_snapshot_copy_split(copy, strlen(copy), inc->nkey, vals, lens) < 0) {
        free(copy);
        return -EINVAL;
    }
    pgcdc_buf_appendf(sql, "%s (%s) %s (", word, inc->order, op);
    for (uint16_t i = 0; i < inc->nkey && rc == 0; i++) {
        char *lit = vals[i] ? PQescapeLiteral(inc->pg, vals[i], lens[i]) : NULL;

        if (vals[i] && lit == NULL)
            rc = -ENOMEM;
        else
            pgcdc_buf_appendf(sql, "%s%s", i ? ", " : "", lit ? lit : "NULL");
        PQfreemem(lit);
    }
    pgcdc_buf_append_char(sql, ')');
    free(copy);
    return rc;
}

/* Sends the next thing to do when the connection is ready. */
static int incr_send(struct pgcdc_incr *inc, char *err, size_t errlen)
{
    const char *table = inc->queue[0].name;

    if (!inc->described) {
        char *name = regclass_text(inc->pg, table);
        const char *params[1] = {name};
        int ok;

        if (name == NULL) {
            snprintf(err, errlen, "incremental snapshot: '%s' is not a schema.table name", table);
            return -EINVAL;
        }
        ok = PQsendQueryParams(inc->pg, incr_describe, 1, NULL, params, NULL, NULL, 0);
        free(name);
        if (!ok)
            goto lost;
        inc->state = INCR_DESCRIBING;
        return 0;
    }
    if (!inc->want)
        return 0;
    {
        struct pgcdc_buf sql = PGCDC_BUF_INIT;
        int rc = 0, ok;

        pgcdc_buf_appendf(&sql,
                          "%sBEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                          "SELECT pg_catalog.pg_current_snapshot()::text, "
                          "pg_catalog.pg_current_wal_insert_lsn()::text; COPY (%s",
                          incr_settings, inc->select);
        rc = append_bound(inc, &sql, " WHERE", ">", inc->queue[0].after_key);
        if (rc == 0)
            rc = append_bound(inc, &sql, inc->queue[0].after_key ? " AND" : " WHERE", "<=",
                              inc->max_key);
        if (rc == -EINVAL) {
            pgcdc_buf_free(&sql);
            snprintf(err, errlen,
                     "incremental snapshot: table '%s': recorded key '%s' does not fit its key",
                     table, inc->queue[0].after_key ? inc->queue[0].after_key : "");
            return -EINVAL;
        }
        pgcdc_buf_appendf(&sql, " ORDER BY %s LIMIT %d) TO STDOUT; COMMIT", inc->order,
                          inc->opts.chunk_rows);
        if (rc < 0 || sql.data == NULL) {
            pgcdc_buf_free(&sql);
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        ok = PQsendQuery(inc->pg, sql.data);
        pgcdc_buf_free(&sql);
        if (!ok)
            goto lost;
        inc->state = INCR_CHUNK;
        inc->want = false;
        inc->rows = 0;
        inc->copying = false;
        free(inc->last_key);
        inc->last_key = NULL;
        return 0;
    }
lost:
    pgcdc_pq_conn_error(inc->pg, "incremental snapshot: cannot send a query", err, errlen);
    return -ECONNRESET;
}

/* Takes the description of queue[0]; 1 when it can be read, 0 when it
 * is skipped (text in err). */
static int incr_described(struct pgcdc_incr *inc, PGresult *res, char *err, size_t errlen)
{
    struct pgcdc_msg *m = inc->rel;
    const char *table = inc->queue[0].name;
    struct pgcdc_buf sel = PGCDC_BUF_INIT, order = PGCDC_BUF_INIT, from = PGCDC_BUF_INIT;
    struct pgcdc_buf desc = PGCDC_BUF_INIT;
    int n = PQntuples(res);
    size_t at = 0;
    uint16_t pk[32] = {0};
    int npk = 0;

    if (n == 0) {
        snprintf(err, errlen, "incremental snapshot: table '%s' does not exist", table);
        return 0;
    }
    if (n > PGCDC_MAX_COLUMNS) {
        snprintf(err, errlen, "incremental snapshot: table '%s' has too many columns", table);
        return 0;
    }
    m->u.relation.nspname = NULL;
    m->u.relation.relname = NULL;
    m->type = PGCDC_MSG_RELATION;
    m->has_xid = false;
    m->xid = 0;
    m->u.relation.relid = (uint32_t)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    m->u.relation.replident = PQgetvalue(res, 0, 1)[0];
    m->u.relation.ncols = (uint16_t)n;
    pgcdc_buf_appendf(&sel, "SELECT ");
    for (int i = 0; i < n; i++) {
        const char *name = PQgetvalue(res, i, 3);
        size_t len = strlen(name) + 1;
        char *q = PQescapeIdentifier(inc->pg, name, len - 1);
        int pos = atoi(PQgetvalue(res, i, 7));

        if (q == NULL || at + len > sizeof(inc->names)) {
            PQfreemem(q);
            pgcdc_buf_free(&sel);
            snprintf(err, errlen, "incremental snapshot: table '%s': column names too long",
                     table);
            return 0;
        }
        memcpy(inc->names + at, name, len);
        m->u.relation.cols[i].name = inc->names + at;
        at += len;
        m->u.relation.cols[i].type_oid = (uint32_t)strtoul(PQgetvalue(res, i, 4), NULL, 10);
        m->u.relation.cols[i].typmod = (int32_t)strtol(PQgetvalue(res, i, 5), NULL, 10);
        m->u.relation.cols[i].key = PQgetvalue(res, i, 6)[0] == 't';
        pgcdc_buf_appendf(&sel, "%s%s", i ? ", " : "", q);
        if (pos > 32) {
            PQfreemem(q);
            pgcdc_buf_free(&sel);
            snprintf(err, errlen, "incremental snapshot: table '%s': a key of over 32 columns",
                     table);
            return 0;
        }
        if (pos > 0) {
            pk[pos - 1] = (uint16_t)i;
            if (pos > npk)
                npk = pos;
        }
        PQfreemem(q);
    }
    if (npk == 0) {
        pgcdc_buf_free(&sel);
        snprintf(err, errlen,
                 "incremental snapshot: table '%s' has no primary key to read it in order by",
                 table);
        return 0;
    }
    {
        const char *ns = PQgetvalue(res, 0, 8), *rn = PQgetvalue(res, 0, 9);
        char *qns = PQescapeIdentifier(inc->pg, ns, strlen(ns));
        char *qrn = PQescapeIdentifier(inc->pg, rn, strlen(rn));

        /* The names go after the column names in the same storage. */
        if (qns && qrn && at + strlen(ns) + strlen(rn) + 2 <= sizeof(inc->names)) {
            m->u.relation.nspname = memcpy(inc->names + at, ns, strlen(ns) + 1);
            at += strlen(ns) + 1;
            m->u.relation.relname = memcpy(inc->names + at, rn, strlen(rn) + 1);
            pgcdc_buf_appendf(&from, " FROM %s%s.%s",
                              PQgetvalue(res, 0, 2)[0] == 'p' ? "" : "ONLY ", qns, qrn);
            if (from.data)
                pgcdc_buf_append(&sel, from.data, from.len);
        }
        PQfreemem(qns);
        PQfreemem(qrn);
    }
    for (int i = 0; i < npk; i++) {
        const char *name = m->u.relation.cols[pk[i]].name;
        char *q = PQescapeIdentifier(inc->pg, name, strlen(name));

        pgcdc_buf_appendf(&order, "%s%s", i ? ", " : "", q ? q : "");
        pgcdc_buf_appendf(&desc, "%s%s DESC", i ? ", " : "", q ? q : "");
        PQfreemem(q);
        inc->key[i] = pk[i];
    }
    inc->nkey = (uint16_t)npk;
    if (sel.data == NULL || order.data == NULL || from.data == NULL || desc.data == NULL ||
        m->u.relation.relname == NULL) {
        pgcdc_buf_free(&sel);
        pgcdc_buf_free(&order);
        pgcdc_buf_free(&from);
        pgcdc_buf_free(&desc);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    free(inc->select);
    free(inc->order);
    free(inc->from);
    inc->select = sel.data;
    inc->order = order.data;
    inc->from = from.data;
    free(inc->order_desc);
    inc->order_desc = desc.data;
    inc->described = true;
    return 1;
}

/* The end of a chunk: the table's last when it had fewer rows than asked. */
static void incr_chunk_end(struct pgcdc_incr *inc, struct pgcdc_incr_event *ev)
{
    ev->kind = PGCDC_INCR_CHUNK_END;
    ev->relid = inc->rel->u.relation.relid;
    ev->rows = inc->rows;
    ev->last = inc->rows < (uint64_t)inc->opts.chunk_rows || inc->stopping;
    ev->table = inc->queue[0].name;
    ev->last_key = inc->last_key;
    inc->chunk_last = ev->last;
    inc->chunk_read = true;
    inc->state = INCR_READY;
}

void pgcdc_incr_commit(struct pgcdc_incr *inc)
{
    if (!inc->chunk_read || inc->nqueue == 0)
        return;
    inc->chunk_read = false;
    if (inc->chunk_last) {
        forget_table(inc);
        return;
    }
    if (inc->last_key) {
        free(inc->queue[0].after_key);
        inc->queue[0].after_key = inc->last_key;
        inc->last_key = NULL;
    }
}

void pgcdc_incr_rollback(struct pgcdc_incr *inc)
{
    inc->chunk_read = false;
    inc->want = false;
    if (inc->pg && (inc->state == INCR_CHUNK || inc->state == INCR_DESCRIBING ||
                    inc->state == INCR_MAXKEY)) {
        /* What is under way is of no use now: start over on a new connection. */
        PQfinish(inc->pg);
        inc->pg = NULL;
        inc->state = INCR_NONE;
        inc->described = false;
    }
    inc->copying = false;
}

int pgcdc_incr_step(struct pgcdc_incr *inc, struct pgcdc_incr_event *ev, char *err, size_t errlen)
{
    int rc;

    memset(ev, 0, sizeof(*ev));
    if (inc->line) {
        PQfreemem(inc->line);
        inc->line = NULL;
    }
    if (inc->nqueue == 0 && inc->state != INCR_CHUNK && inc->state != INCR_DESCRIBING &&
        inc->state != INCR_MAXKEY)
        return 0;
    if (inc->state == INCR_NONE) {
        const char *const keys[] = {"dbname", "fallback_application_name", NULL};
        const char *const vals[] = {inc->opts.conninfo, "pgcdc", NULL};

        rc = pgcdc_pq_connect_start(&inc->pg, keys, vals,
                                    "incremental snapshot: cannot connect to PostgreSQL", err,
                                    errlen);
        if (rc < 0)
            return rc;
        inc->events = POLLOUT;
        inc->state = INCR_CONNECTING;
    }
    if (inc->state == INCR_CONNECTING) {
        rc = pgcdc_pq_connect_poll(inc->pg, &inc->events,
                                   "incremental snapshot: cannot connect to PostgreSQL", NULL,
                                   err, errlen);
        if (rc < 0) {
            PQfinish(inc->pg);
            inc->pg = NULL;
            inc->state = INCR_NONE;
            return rc;
        }
        if (rc > 0)
            return 0;
        if (PQsetnonblocking(inc->pg, 1) != 0) {
            pgcdc_pq_conn_error(inc->pg, "incremental snapshot: connection", err, errlen);
            return -EIO;
        }
        inc->state = INCR_READY;
    }
    if (inc->state == INCR_READY) {
        if (inc->chunk_read)
            return 0;
        if (inc->stopping) {
            inc->stopping = false;
            pgcdc_incr_stop(inc);
        }
        if (inc->nqueue == 0)
            return 0;
        rc = incr_send(inc, err, errlen);
        if (rc < 0)
            return rc;
        if (inc->state == INCR_READY)
            return 0;
    }
    if (PQflush(inc->pg) < 0 || !PQconsumeInput(inc->pg))
        goto lost;
    for (;;) {
        PGresult *res;

        if (inc->copying) {
            char *buf = NULL;
            int len = PQgetCopyData(inc->pg, &buf, 1);

            if (len == 0)
                return 0;
            if (len > 0) {
                inc->line = buf;
                if (pgcdc_snapshot_copy_split(buf, (size_t)len, inc->rel->u.relation.ncols,
                                              inc->values, inc->lens) < 0) {
                    snprintf(err, errlen,
                             "incremental snapshot: table '%s': a row of another shape",
                             inc->queue[0].name);
                    return -EPROTO;
                }
                inc->rows++;
                {
                    const char *kv[32];
                    uint32_t kl[32];

                    for (uint16_t i = 0; i < inc->nkey; i++) {
                        kv[i] = inc->values[inc->key[i]];
                        kl[i] = inc->lens[inc->key[i]];
                    }
                    free(inc->last_key);
                    inc->last_key = pgcdc_incr_key_encode(kv, kl, inc->nkey);
                    if (inc->last_key == NULL) {
                        snprintf(err, errlen, "out of memory");
                        return -ENOMEM;
                    }
                }
                ev->kind = PGCDC_INCR_ROW;
                ev->relid = inc->rel->u.relation.relid;
                ev->ncols = inc->rel->u.relation.ncols;
                ev->values = inc->values;
                ev->lens = inc->lens;
                ev->key = inc->key;
                ev->nkey = inc->nkey;
                return 0;
            }
            if (len == -2)
                goto lost;
            inc->copying = false;
        }
        if (PQisBusy(inc->pg))
            return 0;
        res = PQgetResult(inc->pg);
        if (res == NULL) {
            if (inc->state == INCR_DESCRIBING || inc->state == INCR_MAXKEY) {
                /* Handled on its result; a NULL here ends the query. */
                inc->state = INCR_READY;
                return pgcdc_incr_step(inc, ev, err, errlen);
            }
            incr_chunk_end(inc, ev);
            return 0;
        }
        switch (PQresultStatus(res)) {
        case PGRES_COMMAND_OK:
            break;
        case PGRES_COPY_OUT:
            inc->copying = true;
            break;
        case PGRES_TUPLES_OK:
            if (inc->state == INCR_DESCRIBING) {
                rc = incr_described(inc, res, err, errlen);
                PQclear(res);
                if (rc < 0)
                    return rc;
                /* Drain the query's end before the event goes out. */
                while ((res = PQgetResult(inc->pg)) != NULL)
                    PQclear(res);
                inc->state = INCR_READY;
                if (rc == 0) {
                    ev->kind = PGCDC_INCR_SKIPPED;
                    ev->table = NULL;
                    forget_table(inc);
                    return 0;
                }
                /* Rows inserted from now on come with the stream: the
                 * snapshot reads up to the greatest key there is now. */
                {
                    struct pgcdc_buf q = PGCDC_BUF_INIT;
                    int ok;

                    pgcdc_buf_appendf(&q, "SELECT %s%s ORDER BY %s LIMIT 1", inc->order,
                                      inc->from, inc->order_desc);
                    ok = q.data && PQsendQuery(inc->pg, q.data);
                    pgcdc_buf_free(&q);
                    if (!ok)
                        goto lost;
                    inc->state = INCR_MAXKEY;
                }
                break;
            }
            if (inc->state == INCR_MAXKEY) {
                free(inc->max_key);
                inc->max_key = NULL;
                if (PQntuples(res) == 1 && PQnfields(res) == inc->nkey) {
                    const char *kv[32];
                    uint32_t kl[32];

                    for (uint16_t i = 0; i < inc->nkey; i++) {
                        kv[i] = PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
                        kl[i] = (uint32_t)PQgetlength(res, 0, i);
                    }
                    inc->max_key = pgcdc_incr_key_encode(kv, kl, inc->nkey);
                    if (inc->max_key == NULL) {
                        PQclear(res);
                        snprintf(err, errlen, "out of memory");
                        return -ENOMEM;
                    }
                }
                PQclear(res);
                while ((res = PQgetResult(inc->pg)) != NULL)
                    PQclear(res);
                inc->state = INCR_READY;
                ev->kind = PGCDC_INCR_RELATION;
                ev->relation = inc->rel;
                ev->relid = inc->rel->u.relation.relid;
                ev->table = inc->queue[0].name;
                return 0;
            }
            if (PQntuples(res) == 1 && PQnfields(res) == 2) {
                struct pgcdc_snapshot_xids x;
                unsigned hi, lo;

                if (pgcdc_snapshot_xids_parse(PQgetvalue(res, 0, 0), &x) < 0 ||
                    sscanf(PQgetvalue(res, 0, 1), "%X/%X", &hi, &lo) != 2) {
                    PQclear(res);
                    snprintf(err, errlen, "incremental snapshot: unexpected watermarks");
                    return -EPROTO;
                }
                free(inc->q.xip);
                inc->q = x;
                inc->high = ((pgcdc_lsn)hi << 32) | lo;
                PQclear(res);
                ev->kind = PGCDC_INCR_CHUNK_BEGIN;
                ev->relid = inc->rel->u.relation.relid;
                ev->q = &inc->q;
                ev->high = inc->high;
                ev->key = inc->key;
                ev->nkey = inc->nkey;
                ev->table = inc->queue[0].name;
                return 0;
            }
            break;
        default:
            pgcdc_pq_result_error(inc->pg, res, "incremental snapshot: reading a table failed",
                                  err, errlen);
            rc = pgcdc_pq_result_errno(inc->pg, res);
            PQclear(res);
            while ((res = PQgetResult(inc->pg)) != NULL)
                PQclear(res);
            inc->state = INCR_READY;
            inc->copying = false;
            if (rc == -ECONNRESET)
                goto lost_keep_err;
            /* The table went away or cannot be read: skip it. */
            ev->kind = PGCDC_INCR_SKIPPED;
            forget_table(inc);
            return 0;
        }
        PQclear(res);
    }
lost:
    pgcdc_pq_conn_error(inc->pg, "incremental snapshot: the connection was lost", err, errlen);
lost_keep_err:
    PQfinish(inc->pg);
    inc->pg = NULL;
    inc->state = INCR_NONE;
    inc->copying = false;
    inc->want = true;
    return -ECONNRESET;
}
