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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "pgcdc/lsn.h"

struct pgcdc_stream {
    PGconn *conn;                  /* the replication connection */
    struct pgcdc_server_info info; /* what connect learned */
    char *copybuf;                 /* last CopyData from PQgetCopyData, freed on next read */
    bool streaming;                /* inside CopyBoth */
};

/* Copies libpq's error text without its trailing newline. */
static void conn_error(const PGconn *conn, const char *what, char *err, size_t errlen)
{
    const char *msg = PQerrorMessage(conn);
    size_t n = strlen(msg);

    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    snprintf(err, errlen, "%s: %.*s", what, (int)n, msg);
}

/* Copies a result's error text, first line of the primary message only. */
static void result_error(const PGresult *res, const char *what, char *err, size_t errlen)
{
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    if (primary == NULL)
        primary = PQresultErrorMessage(res);
    snprintf(err, errlen, "%s: %s%s%s%s", what, primary, code ? " (SQLSTATE " : "",
             code ? code : "", code ? ")" : "");
}

int64_t pgcdc_stream_now_pg(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - PGCDC_PG_EPOCH_UNIX_US;
}

int pgcdc_stream_query(struct pgcdc_stream *s, const char *sql, void **res, char *err,
                       size_t errlen)
{
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = PQresultStatus(r);

    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        if (r)
            result_error(r, "query failed", err, errlen);
        else
            conn_error(s->conn, "query failed", err, errlen);
        PQclear(r);
        return -EIO;
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

int pgcdc_stream_connect(struct pgcdc_stream **out, const char *conninfo, char *err, size_t errlen)
{
    const char *keys[] = {"dbname", "replication", "fallback_application_name", NULL};
    const char *vals[] = {conninfo, "database", "pgcdc", NULL};
    struct pgcdc_stream *s;
    int rc;

    *out = NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    /* expand_dbname: conninfo (key=value or URI) fills the other keys; the
     * replication key after it always wins. */
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (s->conn == NULL) {
        free(s);
        return -ENOMEM;
    }
    if (PQstatus(s->conn) != CONNECTION_OK) {
        conn_error(s->conn, "cannot connect to PostgreSQL", err, errlen);
        rc = -ECONNREFUSED;
        goto error;
    }
    rc = identify(s, err, errlen);
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

int pgcdc_stream_ensure_slot(struct pgcdc_stream *s, const char *slot, bool *created,
                             pgcdc_lsn *confirmed_flush, char *err, size_t errlen)
{
    char lit[256], ident[256], sql[768];
    void *resv = NULL;
    PGresult *res;
    int rc;

    *created = false;
    *confirmed_flush = 0;
    if (pgcdc_stream_quote_literal(s, slot, lit, sizeof(lit)) < 0 ||
        pgcdc_stream_quote_ident(s, slot, ident, sizeof(ident)) < 0) {
        snprintf(err, errlen, "slot name '%s' cannot be quoted", slot);
        return -EINVAL;
    }
    snprintf(sql, sizeof(sql),
             "SELECT slot_type, plugin, database, confirmed_flush_lsn "
             "FROM pg_catalog.pg_replication_slots WHERE slot_name = %s",
             lit);
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
        if (!PQgetisnull(res, 0, 3))
            pgcdc_lsn_parse(PQgetvalue(res, 0, 3), confirmed_flush);
        PQclear(res);
        return 0;
    }
    PQclear(res);

    if (s->info.version_num >= 150000)
        snprintf(sql, sizeof(sql),
                 "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput (SNAPSHOT 'nothing')", ident);
    else
        snprintf(sql, sizeof(sql), "CREATE_REPLICATION_SLOT %s LOGICAL pgoutput NOEXPORT_SNAPSHOT",
                 ident);
    rc = pgcdc_stream_query(s, sql, &resv, err, errlen);
    if (rc < 0)
        return rc;
    res = resv;
    if (PQntuples(res) == 1 && PQnfields(res) >= 2)
        pgcdc_lsn_parse(PQgetvalue(res, 0, 1), confirmed_flush);
    PQclear(res);
    *created = true;
    return 0;
}

int pgcdc_stream_start(struct pgcdc_stream *s, const char *slot, const char *publication,
                       pgcdc_lsn start, char *err, size_t errlen)
{
    char ident[256], pubident[256], publit[300], sql[1024];
    PGresult *res;

    if (pgcdc_stream_quote_ident(s, slot, ident, sizeof(ident)) < 0 ||
        pgcdc_stream_quote_ident(s, publication, pubident, sizeof(pubident)) < 0 ||
        pgcdc_stream_quote_literal(s, pubident, publit, sizeof(publit)) < 0) {
        snprintf(err, errlen, "slot '%s' or publication '%s' cannot be quoted", slot, publication);
        return -EINVAL;
    }
    snprintf(sql, sizeof(sql),
             "START_REPLICATION SLOT %s LOGICAL %X/%X (proto_version '%d', "
             "publication_names %s%s)",
             ident, (unsigned int)(start >> 32), (unsigned int)start, s->info.proto_version, publit,
             s->info.version_num >= 140000 ? ", messages 'true'" : "");
    res = PQexec(s->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_BOTH) {
        if (res)
            result_error(res, "cannot start replication", err, errlen);
        else
            conn_error(s->conn, "cannot start replication", err, errlen);
        PQclear(res);
        return -EIO;
    }
    PQclear(res);
    if (PQsetnonblocking(s->conn, 1) != 0) {
        conn_error(s->conn, "cannot make the connection non-blocking", err, errlen);
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
            conn_error(s->conn, "replication connection lost", err, errlen);
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

        s->streaming = false;
        if (res && PQresultStatus(res) != PGRES_COMMAND_OK)
            result_error(res, "replication stream ended by the server", err, errlen);
        else
            snprintf(err, errlen, "replication stream ended by the server");
        PQclear(res);
        return -ECONNRESET;
    }
    conn_error(s->conn, "replication stream failed", err, errlen);
    return -ECONNRESET;
}

int pgcdc_stream_flush_output(struct pgcdc_stream *s, char *err, size_t errlen)
{
    int rc = PQflush(s->conn);

    if (rc < 0) {
        conn_error(s->conn, "cannot send to PostgreSQL", err, errlen);
        return -ECONNRESET;
    }
    return rc;
}

int pgcdc_stream_send_status(struct pgcdc_stream *s, pgcdc_lsn written, pgcdc_lsn flushed,
                             bool reply_requested, char *err, size_t errlen)
{
    uint8_t msg[PGCDC_STATUS_UPDATE_LEN];

    pgcdc_status_update_build(msg, written, flushed, flushed, pgcdc_stream_now_pg(),
                              reply_requested);
    if (PQputCopyData(s->conn, (const char *)msg, (int)sizeof(msg)) <= 0) {
        conn_error(s->conn, "cannot send a status update", err, errlen);
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
