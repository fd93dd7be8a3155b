/*
 * stream.c - the replication connection to PostgreSQL.
 *
 * The connection is opened with replication=database, which lets it run
 * plain SQL through the simple query protocol until START_REPLICATION turns
 * it into a CopyBoth stream. Settings that change how the walsender prints
 * values (DateStyle, TimeZone, IntervalStyle, bytea_output,
 * extra_float_digits) are fixed here, because pgoutput sends every value as
 * the text of its type's output function evaluated in this session: the
 * value converters parse exactly those formats.
 *
 * While streaming, CopyData messages are read with the asynchronous
 * PQgetCopyData so the pipeline's loop never blocks on PostgreSQL; standby
 * status updates go the other way with PQputCopyData.
 */
#include "pgcdc/stream.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpq-fe.h>

#include "pgcdc/error.h"
#include "pgcdc/lsn.h"
#include "pgcdc/pq.h"

struct pgcdc_stream {
    PGconn *conn;                  /* the replication connection */
    struct pgcdc_server_info info; /* what connect learned */
    char *copybuf;                 /* last CopyData from PQgetCopyData, freed on next read */
    bool streaming;                /* inside CopyBoth */
    volatile sig_atomic_t *stop;   /* ends the wait for a command's answer, or NULL */
};

/* Longest single wait for a command's answer, so a stop request is seen
 * quickly. */
#define QUERY_SLICE_MS 100

int64_t pgcdc_stream_now_pg(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - PGCDC_PG_EPOCH_UNIX_US;
}

/*
 * PQexec that a stop request ends: a command may wait long for the server
 * (creating a slot waits for running transactions, the publication's DDL for
 * a lock on a table). NULL with *stopped set when stopped; the connection is
 * then closed with the stream.
 */
static PGresult *exec_unless_stopped(struct pgcdc_stream *s, const char *sql, bool *stopped)
{
    PGresult *last = NULL;

    *stopped = false;
    if (!PQsendQuery(s->conn, sql))
        return NULL;
    for (;;) {
        PGresult *r;
        ExecStatusType st;

        while (PQisBusy(s->conn)) {
            struct pollfd pfd = {.fd = PQsocket(s->conn), .events = POLLIN};

            if (s->stop && *s->stop) {
                *stopped = true;
                PQclear(last);
                return NULL;
            }
            if ((poll(&pfd, 1, QUERY_SLICE_MS) < 0 && errno != EINTR) ||
                !PQconsumeInput(s->conn))
                break; /* PQgetResult reports it */
        }
        r = PQgetResult(s->conn);
        if (r == NULL)
            return last;
        st = PQresultStatus(r);
        /* As PQexec: the last result, but an error wins. */
        if (last && PQresultStatus(last) == PGRES_FATAL_ERROR) {
            PQclear(r);
        } else {
            PQclear(last);
            last = r;
        }
        if (st == PGRES_COPY_BOTH || st == PGRES_COPY_IN || st == PGRES_COPY_OUT ||
            PQstatus(s->conn) == CONNECTION_BAD)
            return last;
    }
}

int pgcdc_stream_query(struct pgcdc_stream *s, const char *sql, void **res, char *err,
                       size_t errlen)
{
    bool stopped;
    PGresult *r = exec_unless_stopped(s, sql, &stopped);
    ExecStatusType st = PQresultStatus(r);

    if (stopped) {
        snprintf(err, errlen, "stopped while waiting for PostgreSQL to answer a command");
        return -EINTR;
    }

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        int rc = pgcdc_pq_result_errno(s->conn, r);

        pgcdc_pq_result_error(s->conn, r, "query failed", err, errlen);
        PQclear(r);
        return rc;
    }
    *res = r;
    return 0;
}

int pgcdc_stream_exec(struct pgcdc_stream *s, const char *sql, char *err, size_t errlen)
{
    void *res = NULL;
    int rc = pgcdc_stream_query(s, sql, &res, err, errlen);

    PQclear(res);
    return rc;
}

static int quote_with(char *(*fn)(PGconn *, const char *, size_t), struct pgcdc_stream *s,
                      const char *in, char *out, size_t outlen)
{
    char *q = fn(s->conn, in, strlen(in));
    size_t n;

    if (q == NULL)
        return -EINVAL;
    n = strlen(q);
    if (n + 1 > outlen) {
        PQfreemem(q);
        return -ENAMETOOLONG;
    }
    memcpy(out, q, n + 1);
    PQfreemem(q);
    return 0;
}

int pgcdc_stream_quote_ident(struct pgcdc_stream *s, const char *ident, char *out, size_t outlen)
{
    return quote_with(PQescapeIdentifier, s, ident, out, outlen);
}

int pgcdc_stream_quote_literal(struct pgcdc_stream *s, const char *lit, char *out, size_t outlen)
{
    return quote_with(PQescapeLiteral, s, lit, out, outlen);
}

/* The settings value converters depend on; see the file comment. */
static const char *const session_settings =
    "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres'; "
    "SET bytea_output = 'hex'; SET extra_float_digits = 3; SET lc_monetary = 'C'";

static int identify(struct pgcdc_stream *s, char *err, size_t errlen)
{
    void *resv = NULL;
    PGresult *res;
    const char *v;
    int rc;

    s->info.version_num = PQserverVersion(s->conn);
    if (s->info.version_num < 100000) {
        snprintf(err, errlen, "server version %d is too old: pgcdc needs PostgreSQL 10 or later",
                 s->info.version_num);
        return -ENOTSUP;
    }
    /* Protocol 1 is PG 10+, 2 is 14+, 3 is 15+, 4 is 16+. */
    s->info.proto_version = s->info.version_num >= 160000   ? 4
                            : s->info.version_num >= 150000 ? 3
                            : s->info.version_num >= 140000 ? 2
                                                            : 1;

    rc = pgcdc_stream_query(s, "IDENTIFY_SYSTEM", &resv, err, errlen);
    if (rc < 0)
        return rc;
    res = resv;
    if (PQntuples(res) != 1 || PQnfields(res) < 4) {
        snprintf(err, errlen, "IDENTIFY_SYSTEM returned %d rows of %d fields", PQntuples(res),
                 PQnfields(res));
        PQclear(res);
        return -EPROTO;
    }
    snprintf(s->info.system_id, sizeof(s->info.system_id), "%s", PQgetvalue(res, 0, 0));
    s->info.timeline = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
    if (pgcdc_lsn_parse(PQgetvalue(res, 0, 2), &s->info.xlogpos) < 0) {
        snprintf(err, errlen, "IDENTIFY_SYSTEM returned a bad xlogpos '%s'", PQgetvalue(res, 0, 2));
        PQclear(res);
        return -EPROTO;
    }
    v = PQgetisnull(res, 0, 3) ? NULL : PQgetvalue(res, 0, 3);
    if (v == NULL || *v == '\0') {
        PQclear(res);
        snprintf(err, errlen,
                 "the connection is not bound to a database: set dbname in 'database.dsn'");
        return -EINVAL;
    }
    snprintf(s->info.dbname, sizeof(s->info.dbname), "%s", v);
    PQclear(res);
    return 0;
}

int pgcdc_stream_check_wal_level(const char *wal_level, char *err, size_t errlen)
{
    if (strcmp(wal_level, "logical") == 0)
        return 0;
    snprintf(err, errlen,
             "the server's wal_level is '%s', and logical decoding needs 'logical': run "
             "ALTER SYSTEM SET wal_level = logical (or set it in postgresql.conf) and restart "
             "PostgreSQL",
             wal_level);
    return -ENOTSUP;
}

static int check_wal_level(struct pgcdc_stream *s, char *err, size_t errlen)
{
    void *resv = NULL;
    int rc = pgcdc_stream_query(s, "SHOW wal_level", &resv, err, errlen);

    if (rc < 0)
        return rc;
    if (PQntuples(resv) == 1)
        rc = pgcdc_stream_check_wal_level(PQgetvalue(resv, 0, 0), err, errlen);
    PQclear(resv);
    return rc;
}

/* Appends what to do about a refused connection to err. */
static void connect_advice(const char *sqlstate, char *err, size_t errlen)
{
    const char *advice = NULL;
    size_t n = strlen(err);

    if (strcmp(sqlstate, "42501") == 0)
        advice = ": the user in 'database.dsn' needs the REPLICATION attribute (ALTER ROLE "
                 "... REPLICATION) or must be a superuser";
    else if (strncmp(sqlstate, "28", 2) == 0)
        advice = ": check the user and password of 'database.dsn' (or PGPASSWORD, the pgpass "
                 "file) and pg_hba.conf, which must allow replication connections for this user";
    else if (strcmp(sqlstate, "3D000") == 0)
        advice = ": set dbname in 'database.dsn' to an existing database";
    if (advice && n < errlen)
        snprintf(err + n, errlen - n, "%s", advice);
}

int pgcdc_stream_connect(struct pgcdc_stream **out, const char *conninfo, int timeout_ms,
                         volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    const char *const keys[] = {"dbname", "replication", "fallback_application_name", NULL};
    const char *const vals[] = {conninfo, "database", "pgcdc", NULL};
    struct pgcdc_stream *s;
    char sqlstate[6];
    int rc;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->stop = stop;
    /* expand_dbname: conninfo (key=value or URI) fills the other keys; the
     * replication key after it always wins. */
    rc = pgcdc_pq_connect(&s->conn, keys, vals, timeout_ms, stop, "cannot connect to PostgreSQL",
                          sqlstate, err, errlen);
    if (rc < 0) {
        connect_advice(sqlstate, err, errlen);
        free(s);
        return rc;
    }
    rc = identify(s, err, errlen);
    if (rc < 0)
        goto error;
    rc = check_wal_level(s, err, errlen);
    if (rc < 0)
        goto error;
    rc = pgcdc_stream_exec(s, session_settings, err, errlen);
    if (rc < 0)
        goto error;
    *out = s;
    return 0;

error:
    PQfinish(s->conn);
    free(s);
    return rc;
}

const struct pgcdc_server_info *pgcdc_stream_server(const struct pgcdc_stream *s)
{
    return &s->info;
}

int pgcdc_stream_slot_info(struct pgcdc_stream *s, const char *slot, bool *exists,
                           pgcdc_lsn *confirmed_flush, char *err, size_t errlen)
{
    char lit[256], sql[768];
    void *resv = NULL;
    PGresult *res;
    int rc;

    *exists = false;
    *confirmed_flush = 0;
    if (pgcdc_stream_quote_literal(s, slot, lit, sizeof(lit)) < 0) {
        snprintf(err, errlen, "slot name '%s' cannot be quoted", slot);
        return -EINVAL;
    }
    /* wal_status exists from PostgreSQL 13 on. */
    snprintf(sql, sizeof(sql),
             "SELECT slot_type, plugin, database, confirmed_flush_lsn, %s "
             "FROM pg_catalog.pg_replication_slots WHERE slot_name = %s",
             s->info.version_num >= 130000 ? "wal_status" : "NULL::text", lit);
    rc = pgcdc_stream_query(s, sql, &resv, err, errlen);
    if (rc < 0)
        return rc;
    res = resv;
    if (PQntuples(res) == 1) {
        const char *type = PQgetvalue(res, 0, 0);
        const char *plugin = PQgetvalue(res, 0, 1);
        const char *db = PQgetvalue(res, 0, 2);

        if (strcmp(type, "logical") != 0 || strcmp(plugin, "pgoutput") != 0) {
            snprintf(err, errlen,
                     "replication slot '%s' exists but is a %s slot with plugin '%s': "
                     "pgcdc needs a logical slot using 'pgoutput' (choose another 'slot.name')",
                     slot, type, plugin);
            PQclear(res);
            return -EINVAL;
        }
        if (strcmp(db, s->info.dbname) != 0) {
            snprintf(err, errlen,
                     "replication slot '%s' belongs to database '%s', not '%s' "
                     "(choose another 'slot.name')",
                     slot, db, s->info.dbname);
            PQclear(res);
            return -EINVAL;
        }
        if (!PQgetisnull(res, 0, 4) && strcmp(PQgetvalue(res, 0, 4), "lost") == 0) {
            snprintf(err, errlen,
                     "replication slot '%s' was invalidated by the server (wal_status 'lost': "
                     "the WAL it needed was removed, see max_slot_wal_keep_size): changes were "
                     "lost; drop the slot and the position file and start again, with a new "
                     "snapshot of the tables (snapshot.mode = when_needed does that by itself)",
                     slot);
            PQclear(res);
            return -ESTALE;
        }
        if (!PQgetisnull(res, 0, 3))
            pgcdc_lsn_parse(PQgetvalue(res, 0, 3), confirmed_flush);
        *exists = true;
    }
    PQclear(res);
    return 0;
}

int pgcdc_stream_create_slot(struct pgcdc_stream *s, const char *slot, bool export_snapshot,
                             char *snapshot, size_t snaplen, pgcdc_lsn *confirmed_flush,
                             char *err, size_t errlen)
{
    char ident[256], sql[768];
    void *resv = NULL;
    PGresult *res;
    int rc;

    *confirmed_flush = 0;
    if (snaplen > 0)
        snapshot[0] = '\0';
    if (pgcdc_stream_quote_ident(s, slot, ident, sizeof(ident)) < 0) {
        snprintf(err, errlen, "slot name '%s' cannot be quoted", slot);
        return -EINVAL;
    }
    if (s->info.version_num >= 150000)
        snprintf(sql, sizeof(sql), "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput (SNAPSHOT '%s')",
                 ident, export_snapshot ? "export" : "nothing");
    else
        snprintf(sql, sizeof(sql), "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput %s", ident,
                 export_snapshot ? "EXPORT_SNAPSHOT" : "NOEXPORT_SNAPSHOT");
    rc = pgcdc_stream_query(s, sql, &resv, err, errlen);
    if (rc < 0)
        return rc;
    res = resv;
    if (PQntuples(res) == 1 && PQnfields(res) >= 2)
        pgcdc_lsn_parse(PQgetvalue(res, 0, 1), confirmed_flush);
    if (export_snapshot) {
        if (PQntuples(res) != 1 || PQnfields(res) < 3 || PQgetisnull(res, 0, 2) ||
            strlen(PQgetvalue(res, 0, 2)) >= snaplen) {
            snprintf(err, errlen, "replication slot '%s' was created without the snapshot asked "
                     "for", slot);
            PQclear(res);
            return -EPROTO;
        }
        snprintf(snapshot, snaplen, "%s", PQgetvalue(res, 0, 2));
    }
    PQclear(res);
    return 0;
}

int pgcdc_stream_drop_slot(struct pgcdc_stream *s, const char *slot, char *err, size_t errlen)
{
    char ident[256], sql[512];

    if (pgcdc_stream_quote_ident(s, slot, ident, sizeof(ident)) < 0) {
        snprintf(err, errlen, "slot name '%s' cannot be quoted", slot);
        return -EINVAL;
    }
    snprintf(sql, sizeof(sql), "DROP_REPLICATION_SLOT %s WAIT", ident);
    return pgcdc_stream_exec(s, sql, err, errlen);
}

/* The value of option name in "name=value;..." params (blanks around
 * names and values allowed) into out; false when it is not there. */
static bool stream_param(const char *params, const char *name, char *out, size_t outlen)
{
    const char *p = params;
    size_t nl = strlen(name);

    while (p && *p) {
        const char *end = strchr(p, ';'), *eq;
        size_t n = end ? (size_t)(end - p) : strlen(p);

        while (n > 0 && *p == ' ')
            p++, n--;
        eq = memchr(p, '=', n);
        if (eq) {
            const char *k_end = eq, *v = eq + 1, *v_end = p + n;

            while (k_end > p && k_end[-1] == ' ')
                k_end--;
            while (v < v_end && *v == ' ')
                v++;
            while (v_end > v && v_end[-1] == ' ')
                v_end--;
            if ((size_t)(k_end - p) == nl && strncasecmp(p, name, nl) == 0) {
                snprintf(out, outlen, "%.*s", (int)(v_end - v), v);
                return true;
            }
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

int pgcdc_stream_start(struct pgcdc_stream *s, const char *slot, const char *publication,
                       pgcdc_lsn start, const char *params, char *err, size_t errlen)
{
    char ident[256], pubident[256], publit[300], sql[1024], messages[16], origin[16];
    char extra[64] = "";
    PGresult *res;

    if (pgcdc_stream_quote_ident(s, slot, ident, sizeof(ident)) < 0 ||
        pgcdc_stream_quote_ident(s, publication, pubident, sizeof(pubident)) < 0 ||
        pgcdc_stream_quote_literal(s, pubident, publit, sizeof(publit)) < 0) {
        snprintf(err, errlen, "slot '%s' or publication '%s' cannot be quoted", slot, publication);
        return -EINVAL;
    }
    /* Logical decoding messages are asked for by default (PostgreSQL 14+). */
    if (!stream_param(params, "messages", messages, sizeof(messages)))
        snprintf(messages, sizeof(messages), "true");
    if (s->info.version_num >= 140000)
        snprintf(extra, sizeof(extra), ", messages '%s'",
                 strcasecmp(messages, "false") == 0 ? "false" : "true");
    if (stream_param(params, "origin", origin, sizeof(origin))) {
        if (s->info.version_num < 160000) {
            snprintf(err, errlen,
                     "slot.stream.params: origin needs PostgreSQL 16 or later (the server is %d)",
                     s->info.version_num);
            return -PGCDC_ECONFIG;
        }
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ", origin '%s'",
                 strcasecmp(origin, "none") == 0 ? "none" : "any");
    }
    snprintf(sql, sizeof(sql),
             "START_REPLICATION SLOT %s LOGICAL %X/%X (proto_version '%d', "
             "publication_names %s%s)",
             ident, (unsigned int)(start >> 32), (unsigned int)start, s->info.proto_version, publit,
             extra);
    res = PQexec(s->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_BOTH) {
        int rc = pgcdc_pq_result_errno(s->conn, res);

        pgcdc_pq_result_error(s->conn, res, "cannot start replication", err, errlen);
        PQclear(res);
        return rc;
    }
    PQclear(res);
    if (PQsetnonblocking(s->conn, 1) != 0) {
        pgcdc_pq_conn_error(s->conn, "cannot make the connection non-blocking", err, errlen);
        return -EIO;
    }
    s->streaming = true;
    return 0;
}

int pgcdc_stream_read(struct pgcdc_stream *s, const uint8_t **buf, size_t *len, char *err,
                      size_t errlen)
{
    int n;

    if (s->copybuf) {
        PQfreemem(s->copybuf);
        s->copybuf = NULL;
    }
    n = PQgetCopyData(s->conn, &s->copybuf, 1);
    if (n == 0) {
        /* Nothing buffered: take what the socket has, then try once more. */
        if (PQconsumeInput(s->conn) == 0) {
            pgcdc_pq_conn_error(s->conn, "replication connection lost", err, errlen);
            return -ECONNRESET;
        }
        n = PQgetCopyData(s->conn, &s->copybuf, 1);
        if (n == 0)
            return 0;
    }
    if (n > 0) {
        *buf = (const uint8_t *)s->copybuf;
        *len = (size_t)n;
        return 1;
    }
    if (n == -1) {
        /* The server ended the copy; fetch the final result for its reason. */
        PGresult *res = PQgetResult(s->conn);
        int rc = -ECONNRESET;

        s->streaming = false;
        if (res && PQresultStatus(res) != PGRES_COMMAND_OK) {
            pgcdc_pq_result_error(s->conn, res, "replication stream ended by the server", err,
                                  errlen);
            /* The server says why: a dropped publication (42704) is not
             * worth a reconnect, a shutdown (57P01) is. */
            rc = pgcdc_pq_result_errno(s->conn, res);
            if (rc == -EIO)
                rc = -ECONNRESET;
        } else {
            snprintf(err, errlen, "replication stream ended by the server");
        }
        PQclear(res);
        return rc;
    }
    pgcdc_pq_conn_error(s->conn, "replication stream failed", err, errlen);
    return -ECONNRESET;
}

int pgcdc_stream_flush_output(struct pgcdc_stream *s, char *err, size_t errlen)
{
    int rc = PQflush(s->conn);

    if (rc < 0) {
        pgcdc_pq_conn_error(s->conn, "cannot send to PostgreSQL", err, errlen);
        return -ECONNRESET;
    }
    return rc;
}

int pgcdc_stream_send_status(struct pgcdc_stream *s, pgcdc_lsn written, pgcdc_lsn flushed,
                             bool reply_requested, char *err, size_t errlen)
{
    uint8_t msg[PGCDC_STATUS_UPDATE_LEN];

    /* Outside a live copy there is nobody to tell: the stream ended or was
     * never started; the stored position speaks at the next start. */
    if (!s->streaming || PQstatus(s->conn) != CONNECTION_OK)
        return 0;
    pgcdc_status_update_build(msg, written, flushed, flushed, pgcdc_stream_now_pg(),
                              reply_requested);
    if (PQputCopyData(s->conn, (const char *)msg, (int)sizeof(msg)) <= 0) {
        pgcdc_pq_conn_error(s->conn, "cannot send a status update", err, errlen);
        return -ECONNRESET;
    }
    return pgcdc_stream_flush_output(s, err, errlen) < 0 ? -ECONNRESET : 0;
}

int pgcdc_stream_socket(const struct pgcdc_stream *s)
{
    return PQsocket(s->conn);
}

void pgcdc_stream_free(struct pgcdc_stream **sp)
{
    struct pgcdc_stream *s;

    if (sp == NULL || *sp == NULL)
        return;
    s = *sp;
    if (s->copybuf)
        PQfreemem(s->copybuf);
    if (s->streaming && PQstatus(s->conn) == CONNECTION_OK) {
        /* A clean CopyDone; the server's answer is not waited for long. */
        PQsetnonblocking(s->conn, 0);
        if (PQputCopyEnd(s->conn, NULL) == 1)
            PQflush(s->conn);
    }
    PQfinish(s->conn);
    free(s);
    *sp = NULL;
}
