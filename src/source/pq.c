/*
 * pq.c - connecting without blocking, libpq error text, errors by SQLSTATE.
 *
 * PQconnectdb blocks until the server answers, and a peer that accepts TCP
 * but never speaks PostgreSQL would hold pgcdc there forever, deaf to
 * SIGTERM. Connecting here is PQconnectStartParams and PQconnectPoll driven
 * by poll() in slices of at most 100 ms, so a stop request or the timeout
 * ends it at once. The same steps serve a caller whose own loop waits
 * (the catalog connection, reopened while pgcdc streams).
 *
 * libpq keeps no result for an error sent while connecting (a wrong
 * password, a missing REPLICATION attribute), only its text. With verbose
 * errors that text carries the SQLSTATE after the severity ("FATAL:  28P01:
 * ..."), which is read from there; nothing is classified by message text.
 */
#include "pgcdc/pq.h"
#include "pgcdc/clock.h"
#include "pgcdc/log.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Longest single wait, so a stop request is seen quickly. */
#define POLL_SLICE_MS 100

/* Length of the first line of msg, trailing blanks left out. */
static size_t first_line(const char *msg)
{
    size_t n = strcspn(msg, "\n");

    while (n > 0 && (msg[n - 1] == ' ' || msg[n - 1] == '\r'))
        n--;
    return n;
}

static bool is_sqlstate(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    return s[5] == ':' && s[6] == ' ';
}

/* Finds "SEVERITY:  XXXXX: " in a verbose libpq message: *code gets the
 * SQLSTATE (6 bytes with NUL) and the return value points at the code in
 * msg, or NULL when there is none. */
static const char *find_sqlstate(const char *msg, char code[6])
{
    static const char *const severities[] = {"FATAL:  ", "ERROR:  ", "PANIC:  "};

    for (size_t i = 0; i < sizeof(severities) / sizeof(severities[0]); i++) {
        const char *at = strstr(msg, severities[i]);

        if (at && is_sqlstate(at + strlen(severities[i]))) {
            at += strlen(severities[i]);
            memcpy(code, at, 5);
            code[5] = '\0';
            return at;
        }
    }
    return NULL;
}

void pgcdc_pq_conn_error(const PGconn *conn, const char *what, char *err, size_t errlen)
{
    const char *msg = conn ? PQerrorMessage(conn) : "out of memory";
    char code[6];
    const char *at = find_sqlstate(msg, code);
    size_t n = first_line(msg);

    if (at && (size_t)(at - msg) + 7 <= n) {
        /* Move the code from after the severity to the end, as result errors
         * show it. */
        size_t head = (size_t)(at - msg);

        snprintf(err, errlen, "%s: %.*s%.*s (SQLSTATE %s)", what, (int)head, msg,
                 (int)(n - head - 7), at + 7, code);
        return;
    }
    snprintf(err, errlen, "%s: %.*s", what, (int)n, msg);
}

void pgcdc_pq_result_error(const PGconn *conn, const PGresult *res, const char *what, char *err,
                           size_t errlen)
{
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    if (primary == NULL) {
        pgcdc_pq_conn_error(conn, what, err, errlen);
        return;
    }
    snprintf(err, errlen, "%s: %.*s%s%s%s", what, (int)first_line(primary), primary,
             code ? " (SQLSTATE " : "", code ? code : "", code ? ")" : "");
}

int pgcdc_pq_sqlstate_errno(const char *s)
{
    if (s == NULL || strlen(s) != 5)
        return -EIO;
    /* Class 08: connection exception; 53: insufficient resources (too many
     * connections); 57P01-57P03: terminated, crashed, cannot connect now
     * (starting up or shutting down). All go away by themselves. */
    if (strncmp(s, "08", 2) == 0 || strncmp(s, "53", 2) == 0 || strcmp(s, "57P01") == 0 ||
        strcmp(s, "57P02") == 0 || strcmp(s, "57P03") == 0)
        return -ECONNRESET;
    /* 55006 object_in_use: the slot is still held, typically by this
     * pgcdc's previous walsender that the server has not reaped yet. */
    if (strcmp(s, "55006") == 0)
        return -EBUSY;
    /* Class 28: invalid authorization; 42501: insufficient privilege. */
    if (strncmp(s, "28", 2) == 0 || strcmp(s, "42501") == 0)
        return -EACCES;
    /* 42704 undefined_object (slot, publication); 3D000 no such database. */
    if (strcmp(s, "42704") == 0 || strcmp(s, "3D000") == 0)
        return -ENOENT;
    /* 55000 object_not_in_prerequisite_state: wal_level below logical, or
     * a slot that cannot be read any more. */
    if (strcmp(s, "55000") == 0)
        return -ENOTSUP;
    return -EIO;
}

int pgcdc_pq_result_errno(const PGconn *conn, const PGresult *res)
{
    const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int e = pgcdc_pq_sqlstate_errno(code);

    /* A result without a known code on a dead connection: the loss itself. */
    if (e == -EIO && PQstatus(conn) != CONNECTION_OK)
        return -ECONNRESET;
    return e;
}

/* The errno class of a failed connection attempt. */
static int connect_errno(const PGconn *conn)
{
    char code[6];
    int e;

    if (conn == NULL)
        return -ENOMEM;
    /* No server answer at all (refused, unreachable, name not resolved) or
     * an unclassified one: worth another try. */
    if (find_sqlstate(PQerrorMessage(conn), code) == NULL)
        return -ECONNRESET;
    e = pgcdc_pq_sqlstate_errno(code);
    return e == -EIO ? -ECONNRESET : e;
}

/* The server's NOTICE and WARNING messages go to pgcdc's log (libpq would
 * print them on stderr as they are, outside its format). */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    pgcdc_log(strncmp(message, "WARNING", 7) == 0 ? PGCDC_LOG_WARN : PGCDC_LOG_INFO, "server: %s",
              message);
}

int pgcdc_pq_connect_start(PGconn **out, const char *const *keys, const char *const *vals,
                           const char *what, char *err, size_t errlen)
{
    PGconn *conn = PQconnectStartParams(keys, vals, 1);
    int rc;

    *out = NULL;
    if (conn == NULL) {
        snprintf(err, errlen, "%s: out of memory", what);
        return -ENOMEM;
    }
    if (PQstatus(conn) == CONNECTION_BAD) {
        pgcdc_pq_conn_error(conn, what, err, errlen);
        rc = connect_errno(conn);
        PQfinish(conn);
        return rc;
    }
    /* The SQLSTATE of a refusal is read from the message text. */
    PQsetErrorVerbosity(conn, PQERRORS_VERBOSE);
    PQsetNoticeProcessor(conn, on_notice, NULL);
    *out = conn;
    return 0;
}

int pgcdc_pq_connect_poll(PGconn *conn, short *events, const char *what, char *sqlstate,
                          char *err, size_t errlen)
{
    struct pollfd pfd = {.fd = PQsocket(conn), .events = *events};
    PostgresPollingStatusType st;

    if (sqlstate)
        sqlstate[0] = '\0';
    /* PQconnectPoll may be called only once the socket is ready for what
     * it asked: it would take a connect still under way for a finished one. */
    if (poll(&pfd, 1, 0) == 0)
        return 1;
    st = PQconnectPoll(conn);
    if (st == PGRES_POLLING_OK) {
        PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);
        return 0;
    }
    if (st == PGRES_POLLING_FAILED) {
        pgcdc_pq_conn_error(conn, what, err, errlen);
        if (sqlstate && find_sqlstate(PQerrorMessage(conn), sqlstate) == NULL)
            sqlstate[0] = '\0';
        return connect_errno(conn);
    }
    *events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    return 1;
}

int pgcdc_pq_connect_timeout(const char *what, int timeout_ms, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "%s: no answer within %d ms (is it PostgreSQL? database.connect.timeout.ms sets "
             "the limit)",
             what, timeout_ms);
    return -ETIMEDOUT;
}

int pgcdc_pq_connect(PGconn **out, const char *const *keys, const char *const *vals,
                     int timeout_ms, volatile sig_atomic_t *stop, const char *what, char *sqlstate,
                     char *err, size_t errlen)
{
    PGconn *conn;
    short events = POLLOUT;
    int64_t deadline = timeout_ms > 0 ? pgcdc_mono_ms() + timeout_ms : 0;
    int rc;

    *out = NULL;
    if (sqlstate)
        sqlstate[0] = '\0';
    rc = pgcdc_pq_connect_start(&conn, keys, vals, what, err, errlen);
    if (rc < 0)
        return rc;
    for (;;) {
        struct pollfd pfd = {.fd = PQsocket(conn), .events = events};
        int slice = POLL_SLICE_MS;

        if (stop && *stop) {
            snprintf(err, errlen, "%s: stopped while connecting", what);
            rc = -EINTR;
            break;
        }
        if (deadline) {
            int64_t left = deadline - pgcdc_mono_ms();

            if (left <= 0) {
                rc = pgcdc_pq_connect_timeout(what, timeout_ms, err, errlen);
                break;
            }
            if (left < slice)
                slice = (int)left;
        }
        rc = poll(&pfd, 1, slice);
        if (rc < 0 && errno != EINTR) {
            rc = -errno;
            snprintf(err, errlen, "%s: poll failed: %s", what, strerror(-rc));
            break;
        }
        if (rc <= 0)
            continue;
        rc = pgcdc_pq_connect_poll(conn, &events, what, sqlstate, err, errlen);
        if (rc == 0) {
            *out = conn;
            return 0;
        }
        if (rc < 0)
            break;
    }
    PQfinish(conn);
    return rc;
}
