/*
 * snapshot.c - reading the rows already in the tables (snapshot.h).
 *
 * Start-up, on the connections in blocking use but never past a stop:
 * connect each, BEGIN ISOLATION LEVEL REPEATABLE READ, import the snapshot
 * (the first connection exports one when none is given, and the others
 * import it while it stays open), then on the first connection list the
 * tables, describe their columns and plan their chunks, all under the
 * snapshot. After pgcdc_snapshot_start() every connection is non-blocking:
 * a connection without work takes the next chunk and sends its COPY, and
 * pgcdc_snapshot_next() reads whatever rows have arrived
 * (PQgetCopyData(..., async)), one at a time, round robin over the
 * connections so none starves.
 *
 * COPY text format: fields separated by a tab, a line ends with a newline,
 * \N is NULL, and a backslash escapes b f n r t v, a backslash, up to three
 * octal digits, or x and one or two hex digits.
 */
#include "pgcdc/snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "pgcdc/clock.h"
#include "pgcdc/hex.h"
#include "pgcdc/log.h"
#include "pgcdc/pq.h"

/* A table is cut into this many chunks at most. */
#define MAX_CHUNKS_PER_TABLE 4096

/* How long one wait for a start-up answer lasts before the stop flag is
 * looked at again. */
#define STARTUP_POLL_MS 250

enum chunk_kind {
    CHUNK_ALL,  /* the whole table (or its override) */
    CHUNK_KEY,  /* a range of the integer key */
    CHUNK_CTID, /* a range of block numbers */
};

struct chunk {
    size_t table;                      /* index in tables */
    enum chunk_kind kind;              /* what range is */
    struct pgcdc_snapshot_range range; /* the range, unless CHUNK_ALL */
    bool read;                         /* its COPY is done */
    bool holds;                        /* a row of it is held back, not taken yet */
};

struct table {
    uint32_t relid;        /* relation oid */
    char replident;        /* relreplident */
    uint16_t ncols;        /* columns in cols */
    struct pgcdc_rel_col *cols; /* as a Relation message has them (names point into names) */
    char *nspname;         /* schema name (rel points here) */
    char *relname;         /* table name (rel points here) */
    char *names;           /* column names, NUL-separated (rel points here) */
    char *select;          /* SELECT <columns> FROM <table>, without WHERE */
    char *key;             /* quoted integer key column used for chunks, or NULL */
    size_t chunks;         /* chunks planned */
    size_t chunks_sent;    /* chunks a connection has started reading */
    size_t chunks_done;    /* chunks read */
    int64_t estimate;      /* rows expected, -1 when unknown (a SELECT override) */
    uint64_t rows;         /* rows read (taken, or held back) */
    int64_t start_us;      /* when its first chunk was sent (monotonic) */
    int64_t end_us;        /* when its last chunk was read */
    bool emitted;          /* a row of it was taken */
    char *held;            /* its newest row, not taken yet (PQgetCopyData buffer), or NULL */
    int held_len;          /* its length */
    size_t held_chunk;     /* the chunk it comes from */
};

struct conn {
    PGconn *pg;            /* the connection */
    bool busy;             /* a chunk's COPY is running */
    bool copying;          /* the server has started sending its rows */
    bool copy_done;        /* its rows are read; its result is awaited */
    size_t chunk;          /* the chunk it reads */
    size_t chunks_read;    /* chunks it has read */
};

struct pgcdc_snapshot {
    struct pgcdc_snapshot_opts opts;  /* as given (strings borrowed) */
    struct conn *conns;               /* opts.threads connections */
    int nconns;                       /* connections open */
    struct table **tables;            /* tables to read */
    size_t ntables;                   /* entries in tables */
    struct chunk *chunks;             /* every chunk, table by table */
    size_t nchunks;                   /* entries in chunks */
    size_t next_chunk;                /* the next chunk no connection has taken */
    size_t chunks_done;               /* chunks read */
    size_t tables_left;               /* tables with chunks not read */
    int rr;                           /* the connection looked at first next time */
    bool any_emitted;                 /* a row was taken */
    char *done_held;                  /* last row of a finished table, not taken yet */
    int done_held_len;                /* its length */
    size_t done_held_table;           /* its table */
    size_t done_held_chunk;           /* its chunk */
    char *taken;                      /* the row buffer handed out last, freed on the next call */
    const char **values;              /* field pointers of the row handed out */
    uint32_t *lens;                   /* their lengths */
    uint16_t maxcols;                 /* entries in values and lens */
    uint64_t rows;                    /* rows taken */
    struct pgcdc_snapshot_info info;  /* the transaction's facts */
    struct pgcdc_snapshot_xids xids;  /* what it saw */
    struct pgcdc_msg *rel;            /* the Relation pgcdc_snapshot_relation() built last */
    bool logged;                      /* the connections' shares are logged */
};

/* ---- pure parts ---- */

bool pgcdc_snapshot_xid_visible(const struct pgcdc_snapshot_xids *x, uint32_t xid)
{
    /* Widen xid to 64 bits with the epoch of xmax: the xid lies within
     * 2^31 of it, as every transaction still in the stream does. */
    uint64_t full = (x->xmax & ~UINT64_C(0xffffffff)) | xid;
    size_t lo = 0, hi = x->nxip;

    if (full > x->xmax && full - x->xmax > UINT64_C(0x80000000))
        full -= UINT64_C(0x100000000);
    else if (full < x->xmax && x->xmax - full > UINT64_C(0x80000000))
        full += UINT64_C(0x100000000);
    if (full < x->xmin)
        return true;
    if (full >= x->xmax)
        return false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (x->xip[mid] == full)
            return false;
        if (x->xip[mid] < full)
            lo = mid + 1;
        else
            hi = mid;
    }
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

int pgcdc_snapshot_xids_parse(const char *text, struct pgcdc_snapshot_xids *x)
{
    const char *p = text;
    char *end;
    size_t n = 0;

    memset(x, 0, sizeof(*x));
    x->xmin = strtoull(p, &end, 10);
    if (end == p || *end != ':')
        return -EINVAL;
    p = end + 1;
    x->xmax = strtoull(p, &end, 10);
    if (end == p || *end != ':' || x->xmax < x->xmin)
        return -EINVAL;
    p = end + 1;
    for (const char *q = p; *q; q++)
        n += *q == ',';
    if (*p != '\0') {
        x->xip = calloc(n + 1, sizeof(*x->xip));
        if (x->xip == NULL)
            return -ENOMEM;
        for (;;) {
            uint64_t v = strtoull(p, &end, 10);

            if (end == p || (*end != ',' && *end != '\0')) {
                free(x->xip);
                memset(x, 0, sizeof(*x));
                return -EINVAL;
            }
            x->xip[x->nxip++] = v;
            if (*end == '\0')
                break;
            p = end + 1;
        }
        qsort(x->xip, x->nxip, sizeof(*x->xip), cmp_u64);
    }
    return 0;
}

size_t pgcdc_snapshot_plan_keys(int64_t min, int64_t max, int64_t rows, int64_t chunk_rows,
                                struct pgcdc_snapshot_range *out, size_t max_chunks)
{
    uint64_t span, step, n;

    if (max_chunks == 0)
        return 0;
    n = rows > 0 && chunk_rows > 0 ? ((uint64_t)rows + (uint64_t)chunk_rows - 1) /
                                         (uint64_t)chunk_rows
                                   : 1;
    span = max >= min ? (uint64_t)max - (uint64_t)min + 1 : 1; /* wraps only for the full range */
    if (span == 0)
        span = UINT64_MAX;
    if (n > span)
        n = span;
    if (n > max_chunks)
        n = max_chunks;
    if (n < 1)
        n = 1;
    step = span / n + (span % n != 0);
    for (uint64_t i = 0; i < n; i++) {
        out[i].has_lo = i > 0;
        out[i].has_hi = i + 1 < n;
        out[i].lo = (int64_t)((uint64_t)min + i * step);
        out[i].hi = (int64_t)((uint64_t)min + (i + 1) * step);
    }
    return (size_t)n;
}

size_t pgcdc_snapshot_copy_unescape(char *f, size_t len)
{
    size_t r = 0, w = 0;

    while (r < len) {
        char c = f[r++];

        if (c != '\\' || r == len) {
            f[w++] = c;
            continue;
        }
        c = f[r++];
        switch (c) {
        case 'b':
            f[w++] = '\b';
            break;
        case 'f':
            f[w++] = '\f';
            break;
        case 'n':
            f[w++] = '\n';
            break;
        case 'r':
            f[w++] = '\r';
            break;
        case 't':
            f[w++] = '\t';
            break;
        case 'v':
            f[w++] = '\v';
            break;
        case 'x': {
            int v = 0, k = 0;

            while (k < 2 && r < len && pgcdc_hex_value(f[r]) >= 0) {
                v = v * 16 + pgcdc_hex_value(f[r++]);
                k++;
            }
            if (k == 0)
                f[w++] = 'x';
            else
                f[w++] = (char)v;
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                int v = c - '0', k = 1;

                while (k < 3 && r < len && f[r] >= '0' && f[r] <= '7') {
                    v = v * 8 + (f[r++] - '0');
                    k++;
                }
                f[w++] = (char)v;
            } else {
                f[w++] = c;
            }
        }
    }
    return w;
}

int pgcdc_snapshot_copy_split(char *line, size_t len, uint16_t ncols, const char **values,
                              uint32_t *lens)
{
    size_t start = 0;
    uint16_t i = 0;

    if (len > 0 && line[len - 1] == '\n')
        len--;
    /* A table without columns sends an empty line. */
    if (ncols == 0)
        return len == 0 ? 0 : -EBADMSG;
    for (size_t k = 0; k <= len; k++) {
        if (k < len && line[k] != '\t')
            continue;
        if (i == ncols)
            return -EBADMSG;
        if (k - start == 2 && line[start] == '\\' && line[start + 1] == 'N') {
            values[i] = NULL;
            lens[i] = 0;
        } else {
            values[i] = line + start;
            lens[i] = (uint32_t)pgcdc_snapshot_copy_unescape(line + start, k - start);
        }
        i++;
        start = k + 1;
    }
    return i == ncols ? 0 : -EBADMSG;
}

/* source.snapshot of a row, as Debezium resolves its flags. */
static const char *marker(bool first, bool last, bool first_in_table, bool last_in_table)
{
    if (last)
        return "last";
    if (first)
        return "first";
    if (last_in_table)
        return "last_in_data_collection";
    if (first_in_table)
        return "first_in_data_collection";
    return "true";
}

/* ---- start-up: blocking use, bounded, ended by a stop ---- */

/* Waits for the answer to what was sent on pg and returns its last result
 * (NULL when none) in *out. */
static int wait_answer(struct pgcdc_snapshot *s, PGconn *pg, const char *what, PGresult **out,
                       char *err, size_t errlen)
{
    int64_t deadline = s->opts.connect_timeout_ms > 0 ? pgcdc_mono_ms() + s->opts.connect_timeout_ms
                                                      : INT64_MAX;
    PGresult *last = NULL, *res;

    *out = NULL;
    for (;;) {
        while (PQisBusy(pg)) {
            struct pollfd pfd = {.fd = PQsocket(pg), .events = POLLIN};

            if (*s->opts.stop) {
                snprintf(err, errlen, "%s: stopped", what);
                PQclear(last);
                return -EINTR;
            }
            if (pgcdc_mono_ms() > deadline) {
                snprintf(err, errlen, "%s: no answer within %d ms (database.connect.timeout.ms)",
                         what, s->opts.connect_timeout_ms);
                PQclear(last);
                return -ETIMEDOUT;
            }
            if (poll(&pfd, 1, STARTUP_POLL_MS) < 0 && errno != EINTR) {
                snprintf(err, errlen, "%s: poll failed: %s", what, strerror(errno));
                PQclear(last);
                return -EIO;
            }
            if (!PQconsumeInput(pg)) {
                pgcdc_pq_conn_error(pg, what, err, errlen);
                PQclear(last);
                return -ECONNRESET;
            }
        }
        res = PQgetResult(pg);
        if (res == NULL)
            break;
        if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
            int rc = pgcdc_pq_result_errno(pg, res);

            pgcdc_pq_result_error(pg, res, what, err, errlen);
            PQclear(res);
            PQclear(last);
            while ((res = PQgetResult(pg)) != NULL)
                PQclear(res);
            return rc;
        }
        PQclear(last);
        last = res;
    }
    *out = last;
    return 0;
}

/* Runs sql (one or more statements; with params, exactly one) on pg. */
static int run(struct pgcdc_snapshot *s, PGconn *pg, const char *sql, int nparams,
               const char *const *params, const char *what, PGresult **out, char *err,
               size_t errlen)
{
    PGresult *res = NULL;
    int ok, rc;

    ok = nparams > 0 ? PQsendQueryParams(pg, sql, nparams, NULL, params, NULL, NULL, 0)
                     : PQsendQuery(pg, sql);
    if (!ok) {
        pgcdc_pq_conn_error(pg, what, err, errlen);
        return -ECONNRESET;
    }
    rc = wait_answer(s, pg, what, &res, err, errlen);
    if (out)
        *out = res;
    else
        PQclear(res);
    return rc;
}

/* The settings the value converters rely on, as on the replication
 * connection: COPY's text is then what pgoutput sends. */
static const char *const session_settings =
    "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; "
    "SET bytea_output = 'hex'; SET extra_float_digits = 3; SET lc_monetary = 'C'; "
    "BEGIN ISOLATION LEVEL REPEATABLE READ";

/* Opens connection i and starts its transaction under the snapshot named
 * snap (or, for the first without one, exports it into snap). */
static int open_conn(struct pgcdc_snapshot *s, int i, char *snap, size_t snaplen, char *err,
                     size_t errlen)
{
    const char *const keys[] = {"dbname", "fallback_application_name", NULL};
    const char *const vals[] = {s->opts.conninfo, "pgcdc", NULL};
    char sql[256];
    PGresult *res = NULL;
    int rc;

    rc = pgcdc_pq_connect(&s->conns[i].pg, keys, vals, s->opts.connect_timeout_ms, s->opts.stop,
                          "snapshot: cannot connect to PostgreSQL", NULL, err, errlen);
    if (rc < 0)
        return rc;
    s->nconns = i + 1;
    rc = run(s, s->conns[i].pg, session_settings, 0, NULL, "snapshot: cannot start a transaction",
             NULL, err, errlen);
    if (rc < 0)
        return rc;
    if (snap[0] == '\0') {
        rc = run(s, s->conns[i].pg, "SELECT pg_catalog.pg_export_snapshot()", 0, NULL,
                 "snapshot: cannot export a snapshot", &res, err, errlen);
        if (rc < 0)
            return rc;
        if (res == NULL || PQntuples(res) != 1 || strlen(PQgetvalue(res, 0, 0)) >= snaplen) {
            PQclear(res);
            snprintf(err, errlen, "snapshot: pg_export_snapshot() returned no usable name");
            return -EPROTO;
        }
        snprintf(snap, snaplen, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return 0;
    }
    /* The name comes from the server: letters, digits and '-' only. */
    for (const char *p = snap; *p; p++) {
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F') || (*p >= 'a' && *p <= 'f') ||
              *p == '-')) {
            snprintf(err, errlen, "snapshot: unexpected snapshot name '%s'", snap);
            return -EPROTO;
        }
    }
    snprintf(sql, sizeof(sql), "SET TRANSACTION SNAPSHOT '%s'", snap);
    return run(s, s->conns[i].pg, sql, 0, NULL, "snapshot: cannot import the snapshot", NULL, err,
               errlen);
}

/* The transaction's facts: WAL position, id, time and what it sees. */
static int read_info(struct pgcdc_snapshot *s, char *err, size_t errlen)
{
    PGresult *res = NULL;
    int rc;

    rc = run(s, s->conns[0].pg,
             "SELECT pg_catalog.pg_current_wal_lsn()::text, "
             "pg_catalog.pg_current_xact_id()::text, "
             "(extract(epoch FROM pg_catalog.transaction_timestamp()) * 1000000)::int8, "
             "pg_catalog.pg_current_snapshot()::text",
             0, NULL, "snapshot: cannot read the transaction's position", &res, err, errlen);
    if (rc < 0)
        return rc;
    if (res == NULL || PQntuples(res) != 1 ||
        pgcdc_lsn_parse(PQgetvalue(res, 0, 0), &s->info.wal_lsn) < 0 ||
        pgcdc_snapshot_xids_parse(PQgetvalue(res, 0, 3), &s->xids) < 0) {
        PQclear(res);
        snprintf(err, errlen, "snapshot: unexpected answer about the transaction");
        return -EPROTO;
    }
    s->info.txid = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    s->info.ts_us = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    PQclear(res);
    return 0;
}

/* Quotes an identifier into a new string, or NULL. */
static char *quote_ident(PGconn *pg, const char *name)
{
    char *q = PQescapeIdentifier(pg, name, strlen(name));
    char *copy = q ? strdup(q) : NULL;

    PQfreemem(q);
    return copy;
}

static void table_free(struct table *t)
{
    if (t == NULL)
        return;
    free(t->nspname);
    free(t->relname);
    free(t->names);
    free(t->cols);
    free(t->select);
    free(t->key);
    if (t->held)
        PQfreemem(t->held);
    free(t);
}

/* Describes table t's columns as pgoutput would (replica identity key
 * flags, no dropped or generated columns, only the publication's column
 * list), and builds its SELECT. */
static int describe(struct pgcdc_snapshot *s, struct table *t, const char *relid,
                    const char *relkind, const char *replident, const char *pubcols, char *err,
                    size_t errlen)
{
    const char *params[2] = {relid, pubcols};
    PGconn *pg = s->conns[0].pg;
    PGresult *res = NULL;
    char *qns = NULL, *qrel = NULL;
    size_t names_len = 0, sel_len, off;
    const char *override;
    int rc, n;

    rc = run(s, pg,
             "SELECT a.attname, a.atttypid, a.atttypmod, "
             "CASE c.relreplident WHEN 'f' THEN true WHEN 'n' THEN false ELSE "
             "a.attnum = ANY (coalesce((SELECT i.indkey::int2[] FROM pg_catalog.pg_index i "
             "WHERE i.indrelid = c.oid AND CASE c.relreplident WHEN 'd' THEN i.indisprimary "
             "ELSE i.indisreplident END LIMIT 1), '{}'::int2[])) END "
             "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
             "WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped "
             "AND a.attgenerated = '' AND ($2::text[] IS NULL OR a.attname = ANY ($2::text[])) "
             "ORDER BY a.attnum",
             2, params, "snapshot: cannot read a table's columns", &res, err, errlen);
    if (rc < 0)
        return rc;
    n = PQntuples(res);
    if (n > PGCDC_MAX_COLUMNS) {
        PQclear(res);
        snprintf(err, errlen, "snapshot: table '%s.%s' has too many columns", t->nspname,
                 t->relname);
        return -EINVAL;
    }
    for (int i = 0; i < n; i++)
        names_len += strlen(PQgetvalue(res, i, 0)) + 1;
    t->names = malloc(names_len + 1);
    t->cols = calloc((size_t)n + 1, sizeof(*t->cols));
    qns = quote_ident(pg, t->nspname);
    qrel = quote_ident(pg, t->relname);
    /* Every quoted name is at most twice as long plus its quotes. */
    sel_len = 64 + 2 * names_len + 3 * (size_t)n + (qns ? strlen(qns) : 0) +
              (qrel ? strlen(qrel) : 0);
    override = s->opts.override ? s->opts.override(s->opts.override_arg, t->nspname, t->relname)
                                : NULL;
    if (override)
        sel_len += strlen(override);
    t->select = malloc(sel_len);
    if (t->names == NULL || t->cols == NULL || qns == NULL || qrel == NULL || t->select == NULL) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    t->relid = (uint32_t)strtoul(relid, NULL, 10);
    t->replident = replident[0];
    t->ncols = (uint16_t)n;
    off = (size_t)snprintf(t->select, sel_len, "SELECT ");
    for (int i = 0, at = 0; i < n; i++) {
        struct pgcdc_rel_col *col = &t->cols[i];
        const char *name = PQgetvalue(res, i, 0);
        char *q = quote_ident(pg, name);

        if (q == NULL) {
            rc = -ENOMEM;
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        memcpy(t->names + at, name, strlen(name) + 1);
        col->name = t->names + at;
        at += (int)strlen(name) + 1;
        col->type_oid = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
        col->typmod = (int32_t)strtol(PQgetvalue(res, i, 2), NULL, 10);
        col->key = PQgetvalue(res, i, 3)[0] == 't';
        off += (size_t)snprintf(t->select + off, sel_len - off, "%s%s", i ? ", " : "", q);
        free(q);
    }
    if (override)
        snprintf(t->select + off, sel_len - off, " FROM (%s) AS pgcdc_override", override);
    else
        snprintf(t->select + off, sel_len - off, " FROM %s%s.%s",
                 relkind[0] == 'p' ? "" : "ONLY ", qns, qrel);
    rc = 0;
out:
    PQclear(res);
    free(qns);
    free(qrel);
    return rc;
}

/* About how many rows t holds: the planner's figure when the table (every
 * partition) was analyzed, else a count under the snapshot. */
static int count_rows(struct pgcdc_snapshot *s, struct table *t, const char *relid,
                      int64_t *rows, char *err, size_t errlen)
{
    const char *params[1] = {relid};
    PGresult *res = NULL;
    char *sql;
    size_t len;
    int rc;

    rc = run(s, s->conns[0].pg,
             "SELECT CASE WHEN bool_and(c.reltuples >= 0) THEN sum(c.reltuples)::int8 END "
             "FROM pg_catalog.pg_partition_tree($1::oid) p "
             "JOIN pg_catalog.pg_class c ON c.oid = p.relid WHERE p.isleaf",
             1, params, "snapshot: cannot estimate a table's size", &res, err, errlen);
    if (rc < 0)
        return rc;
    if (res && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        *rows = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return 0;
    }
    PQclear(res);
    len = strlen(t->select) + 64;
    sql = malloc(len);
    if (sql == NULL)
        return -ENOMEM;
    snprintf(sql, len, "SELECT count(*) FROM (%s) AS pgcdc_count", t->select);
    rc = run(s, s->conns[0].pg, sql, 0, NULL, "snapshot: cannot count a table's rows", &res, err,
             errlen);
    free(sql);
    if (rc < 0)
        return rc;
    *rows = res && PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return 0;
}

static int add_chunks(struct pgcdc_snapshot *s, size_t table, enum chunk_kind kind,
                      const struct pgcdc_snapshot_range *r, size_t n)
{
    struct chunk *grown = realloc(s->chunks, (s->nchunks + n) * sizeof(*grown));

    if (grown == NULL)
        return -ENOMEM;
    s->chunks = grown;
    memset(s->chunks + s->nchunks, 0, n * sizeof(*grown));
    for (size_t i = 0; i < n; i++) {
        s->chunks[s->nchunks + i].table = table;
        s->chunks[s->nchunks + i].kind = kind;
        if (r)
            s->chunks[s->nchunks + i].range = r[i];
    }
    s->nchunks += n;
    s->tables[table]->chunks = n;
    return 0;
}

/* Plans the chunks of table index ti: key ranges of a single-column
 * integer primary key, block ranges of an ordinary table, else one. */
static int plan(struct pgcdc_snapshot *s, size_t ti, const char *relid, const char *relkind,
                bool overridden, char *err, size_t errlen)
{
    struct table *t = s->tables[ti];
    const char *params[1] = {relid};
    struct pgcdc_snapshot_range *r;
    PGresult *res = NULL;
    int64_t rows = 0, min, max;
    size_t n, len;
    char *sql;
    int rc;

    t->estimate = -1;
    if (overridden)
        return add_chunks(s, ti, CHUNK_ALL, NULL, 1);
    rc = count_rows(s, t, relid, &rows, err, errlen);
    if (rc < 0)
        return rc;
    t->estimate = rows;
    if (rows <= s->opts.chunk_rows)
        return add_chunks(s, ti, CHUNK_ALL, NULL, 1);
    rc = run(s, s->conns[0].pg,
             "SELECT a.attname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a "
             "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
             "WHERE i.indrelid = $1::oid AND i.indisprimary AND i.indnkeyatts = 1 "
             "AND a.atttypid IN (20, 21, 23)",
             1, params, "snapshot: cannot read a table's primary key", &res, err, errlen);
    if (rc < 0)
        return rc;
    if (res && PQntuples(res) == 1)
        t->key = quote_ident(s->conns[0].pg, PQgetvalue(res, 0, 0));
    PQclear(res);
    res = NULL;
    r = calloc(MAX_CHUNKS_PER_TABLE, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    if (t->key) {
        len = strlen(t->select) + 2 * strlen(t->key) + 64;
        sql = malloc(len);
        if (sql == NULL) {
            free(r);
            return -ENOMEM;
        }
        /* The SELECT's FROM clause, with min and max of the key instead. */
        snprintf(sql, len, "SELECT min(%s)::int8, max(%s)::int8 %s", t->key, t->key,
                 strstr(t->select, " FROM "));
        rc = run(s, s->conns[0].pg, sql, 0, NULL, "snapshot: cannot read a table's key range",
                 &res, err, errlen);
        free(sql);
        if (rc < 0) {
            free(r);
            return rc;
        }
        if (res == NULL || PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
            PQclear(res);
            free(r);
            return add_chunks(s, ti, CHUNK_ALL, NULL, 1);
        }
        min = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        max = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        PQclear(res);
        n = pgcdc_snapshot_plan_keys(min, max, rows, s->opts.chunk_rows, r, MAX_CHUNKS_PER_TABLE);
        rc = add_chunks(s, ti, CHUNK_KEY, r, n);
    } else if (relkind[0] == 'r') {
        rc = run(s, s->conns[0].pg,
                 "SELECT pg_catalog.pg_relation_size($1::oid) / "
                 "pg_catalog.current_setting('block_size')::int8",
                 1, params, "snapshot: cannot read a table's size", &res, err, errlen);
        if (rc < 0) {
            free(r);
            return rc;
        }
        max = res && PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
        PQclear(res);
        if (max < 1) {
            free(r);
            return add_chunks(s, ti, CHUNK_ALL, NULL, 1);
        }
        n = pgcdc_snapshot_plan_keys(0, max - 1, rows, s->opts.chunk_rows, r,
                                     MAX_CHUNKS_PER_TABLE);
        rc = add_chunks(s, ti, CHUNK_CTID, r, n);
    } else {
        rc = add_chunks(s, ti, CHUNK_ALL, NULL, 1);
    }
    free(r);
    if (rc < 0)
        snprintf(err, errlen, "out of memory");
    return rc;
}

/* Lists the publication's tables, keeps those the filter lets through,
 * describes them and plans their chunks. */
static int list_tables(struct pgcdc_snapshot *s, char *err, size_t errlen)
{
    const char *params[1] = {s->opts.publication};
    bool has_attnames = PQserverVersion(s->conns[0].pg) >= 150000;
    PGresult *res = NULL;
    char sql[1024];
    int rc, n;

    snprintf(sql, sizeof(sql),
             "SELECT c.oid::text, n.nspname, c.relname, c.relkind::text, c.relreplident::text, %s "
             "FROM pg_catalog.pg_publication_tables p "
             "JOIN pg_catalog.pg_namespace n ON n.nspname = p.schemaname "
             "JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = p.tablename "
             "WHERE p.pubname = $1 ORDER BY n.nspname, c.relname",
             has_attnames ? "p.attnames::text" : "NULL::text");
    rc = run(s, s->conns[0].pg, sql, 1, params, "snapshot: cannot list the publication's tables",
             &res, err, errlen);
    if (rc < 0)
        return rc;
    n = res ? PQntuples(res) : 0;
    s->tables = calloc((size_t)n + 1, sizeof(*s->tables));
    if (s->tables == NULL) {
        PQclear(res);
        return -ENOMEM;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        const char *relid = PQgetvalue(res, i, 0), *nsp = PQgetvalue(res, i, 1);
        const char *rel = PQgetvalue(res, i, 2), *kind = PQgetvalue(res, i, 3);
        const char *ident = PQgetvalue(res, i, 4);
        const char *cols = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
        struct table *t;

        if (s->opts.filter) {
            rc = s->opts.filter(s->opts.filter_arg, nsp, rel, err, errlen);
            if (rc <= 0)
                continue;
        }
        t = calloc(1, sizeof(*t));
        if (t == NULL || (t->nspname = strdup(nsp)) == NULL ||
            (t->relname = strdup(rel)) == NULL) {
            table_free(t);
            rc = -ENOMEM;
            snprintf(err, errlen, "out of memory");
            break;
        }
        s->tables[s->ntables++] = t;
        rc = describe(s, t, relid, kind, ident, cols, err, errlen);
        if (rc == 0)
            rc = plan(s, s->ntables - 1, relid, kind,
                      s->opts.override &&
                          s->opts.override(s->opts.override_arg, nsp, rel) != NULL,
                      err, errlen);
        if (t->ncols > s->maxcols)
            s->maxcols = t->ncols;
    }
    PQclear(res);
    if (rc < 0)
        return rc;
    s->tables_left = s->ntables;
    s->info.tables = s->ntables;
    s->info.chunks = s->nchunks;
    s->values = calloc((size_t)s->maxcols + 1, sizeof(*s->values));
    s->lens = calloc((size_t)s->maxcols + 1, sizeof(*s->lens));
    if (s->values == NULL || s->lens == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

int pgcdc_snapshot_new(struct pgcdc_snapshot **out, const struct pgcdc_snapshot_opts *opts,
                       char *err, size_t errlen)
{
    struct pgcdc_snapshot *s = calloc(1, sizeof(*s));
    char snap[128] = "";
    int rc = -ENOMEM;

    *out = NULL;
    if (s == NULL)
        goto nomem;
    s->opts = *opts;
    if (s->opts.threads < 1)
        s->opts.threads = 1;
    if (s->opts.chunk_rows < 1)
        s->opts.chunk_rows = 1;
    s->conns = calloc((size_t)s->opts.threads, sizeof(*s->conns));
    s->rel = malloc(sizeof(*s->rel));
    if (s->conns == NULL || s->rel == NULL)
        goto nomem;
    if (opts->import)
        snprintf(snap, sizeof(snap), "%s", opts->import);
    /* The first connection imports or exports; while it stays open, the
     * others import the same snapshot. */
    for (int i = 0; i < s->opts.threads; i++) {
        rc = open_conn(s, i, snap, sizeof(snap), err, errlen);
        if (rc < 0)
            goto error;
    }
    rc = read_info(s, err, errlen);
    if (rc < 0)
        goto error;
    rc = list_tables(s, err, errlen);
    if (rc < 0)
        goto error;
    *out = s;
    return 0;

nomem:
    snprintf(err, errlen, "out of memory");
error:
    pgcdc_snapshot_free(&s);
    return rc;
}

const struct pgcdc_snapshot_info *pgcdc_snapshot_info(const struct pgcdc_snapshot *s)
{
    return &s->info;
}

const struct pgcdc_snapshot_xids *pgcdc_snapshot_xids(const struct pgcdc_snapshot *s)
{
    return &s->xids;
}

const struct pgcdc_msg *pgcdc_snapshot_relation(struct pgcdc_snapshot *s, size_t i)
{
    const struct table *t;
    struct pgcdc_msg *m = s->rel;

    if (i >= s->ntables || m == NULL)
        return NULL;
    t = s->tables[i];
    m->type = PGCDC_MSG_RELATION;
    m->has_xid = false;
    m->xid = 0;
    m->u.relation.relid = t->relid;
    m->u.relation.nspname = t->nspname;
    m->u.relation.relname = t->relname;
    m->u.relation.replident = t->replident;
    m->u.relation.ncols = t->ncols;
    memcpy(m->u.relation.cols, t->cols, t->ncols * sizeof(*t->cols));
    return m;
}

int pgcdc_snapshot_start(struct pgcdc_snapshot *s, char *err, size_t errlen)
{
    for (int i = 0; i < s->nconns; i++) {
        if (PQsetnonblocking(s->conns[i].pg, 1) != 0) {
            pgcdc_pq_conn_error(s->conns[i].pg, "snapshot: cannot make a connection non-blocking",
                                err, errlen);
            return -EIO;
        }
    }
    return 0;
}

/* ---- reading: nothing waits ---- */

/* Sends the COPY of the next chunk on c. */
static int send_chunk(struct pgcdc_snapshot *s, struct conn *c, char *err, size_t errlen)
{
    const struct chunk *ch = &s->chunks[s->next_chunk];
    const struct table *t = s->tables[ch->table];
    size_t len = strlen(t->select) + (t->key ? 2 * strlen(t->key) : 0) + 160;
    char *sql = malloc(len), lo[64] = "", hi[64] = "";
    const char *col = ch->kind == CHUNK_KEY ? t->key : "ctid";
    int ok;

    if (sql == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    if (ch->kind == CHUNK_KEY) {
        snprintf(lo, sizeof(lo), "%" PRId64, ch->range.lo);
        snprintf(hi, sizeof(hi), "%" PRId64, ch->range.hi);
    } else if (ch->kind == CHUNK_CTID) {
        snprintf(lo, sizeof(lo), "'(%" PRId64 ",0)'::tid", ch->range.lo);
        snprintf(hi, sizeof(hi), "'(%" PRId64 ",0)'::tid", ch->range.hi);
    }
    if (ch->kind == CHUNK_ALL || (!ch->range.has_lo && !ch->range.has_hi))
        snprintf(sql, len, "COPY (%s) TO STDOUT", t->select);
    else if (!ch->range.has_lo)
        snprintf(sql, len, "COPY (%s WHERE %s < %s) TO STDOUT", t->select, col, hi);
    else if (!ch->range.has_hi)
        snprintf(sql, len, "COPY (%s WHERE %s >= %s) TO STDOUT", t->select, col, lo);
    else
        snprintf(sql, len, "COPY (%s WHERE %s >= %s AND %s < %s) TO STDOUT", t->select, col, lo,
                 col, hi);
    ok = PQsendQuery(c->pg, sql);
    free(sql);
    if (!ok) {
        pgcdc_pq_conn_error(c->pg, "snapshot: cannot start reading a table", err, errlen);
        return -ECONNRESET;
    }
    c->busy = true;
    c->copying = false;
    c->copy_done = false;
    c->chunk = s->next_chunk++;
    if (s->tables[ch->table]->chunks_sent++ == 0)
        s->tables[ch->table]->start_us = pgcdc_mono_us();
    return 0;
}

/* Hands out buf (a row of table ti) with its marker. */
static int take(struct pgcdc_snapshot *s, size_t ti, size_t chunk, char *buf, int len,
                bool last_in_table, bool last, struct pgcdc_snapshot_row *row, char *err,
                size_t errlen)
{
    struct table *t = s->tables[ti];
    uint16_t ncols = t->ncols;

    s->taken = buf;
    s->chunks[chunk].holds = false;
    row->chunk = chunk;
    if (pgcdc_snapshot_copy_split(buf, (size_t)len, ncols, s->values, s->lens) < 0) {
        snprintf(err, errlen, "snapshot: table '%s.%s': a row does not have %u columns",
                 t->nspname, t->relname, ncols);
        return -EBADMSG;
    }
    row->relid = t->relid;
    row->ncols = ncols;
    row->values = s->values;
    row->lens = s->lens;
    row->marker = marker(!s->any_emitted, last, !t->emitted, last_in_table);
    s->any_emitted = true;
    t->emitted = true;
    s->rows++;
    return 1;
}

/* Chunk of c is read: a table whose chunks are all read moves its held
 * row to done_held, and the row held there before is its table's last. */
static int chunk_finished(struct pgcdc_snapshot *s, struct conn *c,
                          struct pgcdc_snapshot_row *row, char *err, size_t errlen)
{
    struct table *t = s->tables[s->chunks[c->chunk].table];
    size_t ti = s->chunks[c->chunk].table;
    char *prev = s->done_held;
    int prev_len = s->done_held_len;
    size_t prev_table = s->done_held_table, prev_chunk = s->done_held_chunk;

    c->busy = false;
    s->chunks[c->chunk].read = true;
    c->chunks_read++;
    s->chunks_done++;
    if (++t->chunks_done < t->chunks)
        return 0;
    s->tables_left--;
    t->end_us = pgcdc_mono_us();
    if (t->held == NULL)
        return 0;
    s->done_held = t->held;
    s->done_held_len = t->held_len;
    s->done_held_table = ti;
    s->done_held_chunk = t->held_chunk;
    t->held = NULL;
    if (prev == NULL)
        return 0;
    return take(s, prev_table, prev_chunk, prev, prev_len, true, false, row, err, errlen);
}

/* Sends what libpq still holds of the query and reads what the socket has. */
static int more_input(struct conn *c, char *err, size_t errlen)
{
    if (PQflush(c->pg) < 0 || !PQconsumeInput(c->pg)) {
        pgcdc_pq_conn_error(c->pg, "snapshot: reading a table failed", err, errlen);
        return -ECONNRESET;
    }
    return 0;
}

/* Moves connection c on as far as it can without waiting: 1 with a row,
 * 0 when it must wait or has nothing to do. */
static int drive(struct pgcdc_snapshot *s, struct conn *c, struct pgcdc_snapshot_row *row,
                 char *err, size_t errlen)
{
    for (;;) {
        char *buf = NULL;
        int len, rc;

        if (!c->busy) {
            if (s->next_chunk >= s->nchunks)
                return 0;
            rc = send_chunk(s, c, err, errlen);
            if (rc < 0)
                return rc;
        }
        if (!c->copying) {
            PGresult *res;

            if (PQisBusy(c->pg)) {
                rc = more_input(c, err, errlen);
                if (rc < 0)
                    return rc;
                if (PQisBusy(c->pg))
                    return 0;
            }
            res = PQgetResult(c->pg);
            if (PQresultStatus(res) != PGRES_COPY_OUT) {
                const struct table *t = s->tables[s->chunks[c->chunk].table];
                char what[512];

                rc = pgcdc_pq_result_errno(c->pg, res);
                snprintf(what, sizeof(what), "snapshot: cannot read table '%s.%s'", t->nspname,
                         t->relname);
                pgcdc_pq_result_error(c->pg, res, what, err, errlen);
                PQclear(res);
                return rc;
            }
            PQclear(res);
            c->copying = true;
        }
        if (!c->copy_done) {
            len = PQgetCopyData(c->pg, &buf, 1);
            if (len == 0) {
                /* Only now read the socket: libpq moves what its buffer
                 * holds on every read, so reading per row costs the buffer. */
                rc = more_input(c, err, errlen);
                if (rc < 0)
                    return rc;
                len = PQgetCopyData(c->pg, &buf, 1);
                if (len == 0)
                    return 0;
            }
            if (len > 0) {
                struct table *t = s->tables[s->chunks[c->chunk].table];
                char *prev = t->held;
                int prev_len = t->held_len;
                size_t prev_chunk = t->held_chunk;

                t->held = buf;
                t->held_len = len;
                t->held_chunk = c->chunk;
                t->rows++;
                if (prev) {
                    rc = take(s, s->chunks[c->chunk].table, prev_chunk, prev, prev_len, false,
                              false, row, err, errlen);
                    s->chunks[c->chunk].holds = true;
                    return rc;
                }
                s->chunks[c->chunk].holds = true;
                continue;
            }
            if (len == -2) {
                pgcdc_pq_conn_error(c->pg, "snapshot: reading a table failed", err, errlen);
                return -EIO;
            }
            c->copy_done = true;
        }
        /* The COPY's rows are in; its result says whether it succeeded. */
        if (PQisBusy(c->pg)) {
            rc = more_input(c, err, errlen);
            if (rc < 0)
                return rc;
        }
        while (!PQisBusy(c->pg)) {
            PGresult *res = PQgetResult(c->pg);

            if (res == NULL) {
                rc = chunk_finished(s, c, row, err, errlen);
                if (rc != 0)
                    return rc;
                break;
            }
            if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                const struct table *t = s->tables[s->chunks[c->chunk].table];
                char what[512];

                rc = pgcdc_pq_result_errno(c->pg, res);
                snprintf(what, sizeof(what), "snapshot: cannot read table '%s.%s'", t->nspname,
                         t->relname);
                pgcdc_pq_result_error(c->pg, res, what, err, errlen);
                PQclear(res);
                return rc;
            }
            PQclear(res);
        }
        if (c->busy)
            return 0; /* the result is not in yet */
    }
}

int pgcdc_snapshot_next(struct pgcdc_snapshot *s, struct pgcdc_snapshot_row *row, char *err,
                        size_t errlen)
{
    if (s->taken) {
        PQfreemem(s->taken);
        s->taken = NULL;
    }
    for (int k = 0; k < s->nconns; k++) {
        int i = (s->rr + k) % s->nconns;
        int rc = drive(s, &s->conns[i], row, err, errlen);

        if (rc != 0) {
            s->rr = (i + 1) % s->nconns;
            return rc;
        }
    }
    if (s->tables_left == 0 && !s->logged) {
        s->logged = true;
        for (int i = 0; i < s->nconns; i++)
            pgcdc_log_info("snapshot connection %d read %zu chunk(s)", i + 1,
                           s->conns[i].chunks_read);
    }
    if (s->tables_left == 0 && s->done_held) {
        char *buf = s->done_held;

        s->done_held = NULL;
        return take(s, s->done_held_table, s->done_held_chunk, buf, s->done_held_len, true, true,
                    row, err, errlen);
    }
    return 0;
}

int pgcdc_snapshot_pollfds(struct pgcdc_snapshot *s, struct pollfd *pfd, int max)
{
    int n = 0;

    for (int i = 0; i < s->nconns && n < max; i++) {
        if (!s->conns[i].busy)
            continue;
        pfd[n].fd = PQsocket(s->conns[i].pg);
        pfd[n].events = POLLIN;
        pfd[n].revents = 0;
        n++;
    }
    return n;
}

bool pgcdc_snapshot_table_progress(const struct pgcdc_snapshot *s, size_t i,
                                    struct pgcdc_snapshot_progress *out)
{
    const struct table *t;

    if (i >= s->ntables)
        return false;
    t = s->tables[i];
    out->nspname = t->nspname;
    out->relname = t->relname;
    out->rows = t->rows;
    out->estimate = t->estimate;
    out->started = t->chunks_sent > 0;
    out->done = t->chunks_done == t->chunks;
    out->elapsed_us = !out->started ? 0 : (out->done ? t->end_us : pgcdc_mono_us()) - t->start_us;
    return true;
}

bool pgcdc_snapshot_chunk(const struct pgcdc_snapshot *s, size_t k,
                          struct pgcdc_snapshot_chunk *out)
{
    const struct chunk *c;

    if (k >= s->nchunks)
        return false;
    c = &s->chunks[k];
    out->relid = s->tables[c->table]->relid;
    out->kind = c->kind == CHUNK_KEY ? 'k' : c->kind == CHUNK_CTID ? 'c' : 'a';
    out->range = c->range;
    if (c->kind == CHUNK_ALL)
        out->range.has_lo = out->range.has_hi = false;
    out->emitted = c->read && !c->holds;
    return true;
}

bool pgcdc_snapshot_done(const struct pgcdc_snapshot *s)
{
    return s->tables_left == 0 && s->done_held == NULL && s->next_chunk >= s->nchunks;
}

uint64_t pgcdc_snapshot_rows(const struct pgcdc_snapshot *s)
{
    return s->rows;
}

size_t pgcdc_snapshot_chunks_done(const struct pgcdc_snapshot *s)
{
    return s->chunks_done;
}

void pgcdc_snapshot_free(struct pgcdc_snapshot **sp)
{
    struct pgcdc_snapshot *s;

    if (sp == NULL || *sp == NULL)
        return;
    s = *sp;
    for (int i = 0; i < s->nconns; i++)
        PQfinish(s->conns[i].pg);
    free(s->conns);
    for (size_t i = 0; i < s->ntables; i++)
        table_free(s->tables[i]);
    free(s->tables);
    free(s->chunks);
    if (s->done_held)
        PQfreemem(s->done_held);
    if (s->taken)
        PQfreemem(s->taken);
    free(s->values);
    free(s->lens);
    free(s->xids.xip);
    free(s->rel);
    free(s);
    *sp = NULL;
}

int pgcdc_snapshot_progress_format(const struct pgcdc_snapshot_progress *p, char *out,
                                   size_t outlen)
{
    double secs = (double)p->elapsed_us / 1e6;
    double rate = secs > 0 ? (double)p->rows / secs : 0;
    int n;

    if (p->done) {
        n = snprintf(out, outlen, "table '%s.%s': %" PRIu64 " row(s) in %.1f s", p->nspname,
                     p->relname, p->rows, secs);
    } else if (p->estimate > 0) {
        /* The estimate may be below the truth: never more than 99% or a
         * negative time left before the table is done. */
        uint64_t est = (uint64_t)p->estimate;
        double pct = 100.0 * (double)p->rows / (double)est;
        double left = rate > 0 && est > p->rows ? (double)(est - p->rows) / rate : 0;

        n = snprintf(out, outlen,
                     "table '%s.%s': %" PRIu64 " of about %" PRIu64 " row(s) (%.0f%%), %.0f "
                     "row(s)/s, about %.0f s left",
                     p->nspname, p->relname, p->rows, est, pct > 99 ? 99.0 : pct, rate, left);
    } else {
        n = snprintf(out, outlen, "table '%s.%s': %" PRIu64 " row(s), %.0f row(s)/s", p->nspname,
                     p->relname, p->rows, rate);
    }
    return n < 0 ? 0 : n;
}
