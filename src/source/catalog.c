/*
 * catalog.c - catalog lookups over an ordinary connection, and the slot claim.
 *
 * The catalog reader keeps its own connection, opened when first needed: a
 * replication connection cannot run queries while it streams. It answers
 * what pgoutput's messages leave out: primary keys, and what a type only
 * named by oid is (pg_type, pg_enum, pg_depend for extensions), cached per
 * oid and read again when the relation cache asks for a refresh.
 *
 * Once pgcdc streams, the lookups do not wait (pgcdc_catalog_set_nonblocking):
 * a lookup that needs the server sends its query and returns -EINPROGRESS,
 * the event loop polls the connection's socket (pgcdc_catalog_pollfd) and
 * reads the answer (pgcdc_catalog_perform), and the message that asked is
 * handled again. Answers are kept, by query and parameter, until that
 * message is done (pgcdc_catalog_done), so the retry finds every answer its
 * earlier attempts asked for and asks the next question, if any. Before
 * streaming, queries wait for their answer, but no longer than
 * connect_timeout_ms and not after a stop request.
 *
 * A connection lost while streaming is opened again the same way: the
 * lookup starts a non-blocking connect (pq.h) and returns -EINPROGRESS,
 * the loop polls its socket for what libpq asks and wakes for its
 * deadline (connect_timeout_ms), and the query goes out once it is open.
 * A loss is mostly seen only by the next query (a session ended while
 * idle, a server restart): such a query is asked again, once, on a new
 * connection. Connecting errors reach the lookup that asked, classed as
 * pq.h says.
 *
 * The same connection holds the claim on the slot: a session advisory lock
 * keyed by the slot name's hash under a class of pgcdc's own. Publication
 * and slot are set up only once it is held, so a second pgcdc started on
 * the same slot by mistake stops before it changes the publication the
 * first one streams from. The lock goes with the connection, whether pgcdc
 * exits or dies.
 */
#include "pgcdc/catalog.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "pgcdc/clock.h"
#include "pgcdc/pq.h"
#include "pgcdc/type_info.h"

/* First key of pgcdc's advisory locks ('pgcd'), so they do not collide with
 * an application's single-key locks; SQL text, as it is only used there. */
#define CLAIM_CLASS "1885823844"

/* Longest single wait of a query before streaming, so a stop request is
 * seen quickly. */
#define WAIT_SLICE_MS 100

/* The queries, by index. */
enum query {
    Q_CLAIM,       /* the slot's advisory lock and who holds the slot */
    Q_PUB_TABLES,  /* the tables of a publication */
    Q_USER_TABLES, /* the tables a managed publication could publish */
    Q_REL_NAME,    /* schema and name of a relation */
    Q_PK,          /* primary key columns of a relation */
    Q_TYPE,        /* one pg_type row */
    Q_LABELS,      /* an enum's labels */
    Q_SLOT_STATS,  /* the slot's row (a background query, no message waits for it) */
};

const char pgcdc_catalog_slot_stats_sql[] =
    "SELECT s.active, COALESCE(s.active_pid, 0), COALESCE(s.wal_status, ''), "
    "COALESCE((w.lsn - s.restart_lsn)::pg_catalog.int8, -1), "
    "COALESCE(s.safe_wal_size, -1), "
    "COALESCE((s.confirmed_flush_lsn - '0/0')::pg_catalog.int8, 0), "
    "(w.lsn - '0/0')::pg_catalog.int8 "
    "FROM pg_catalog.pg_replication_slots s, "
    "(SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_receive_lsn() "
    "ELSE pg_catalog.pg_current_wal_lsn() END AS lsn) w "
    "WHERE s.slot_name = $1";

static const char *const query_sql[] = {
    [Q_CLAIM] =
        "SELECT pg_catalog.pg_try_advisory_lock(" CLAIM_CLASS ", pg_catalog.hashtext($1)), "
        "(SELECT pg_catalog.string_agg(l.pid::text, ', ') "
        "FROM pg_catalog.pg_locks l WHERE l.locktype = 'advisory' "
        "AND l.database = (SELECT oid FROM pg_catalog.pg_database "
        "WHERE datname = pg_catalog.current_database()) "
        "AND l.classid = (" CLAIM_CLASS ")::pg_catalog.oid "
        "AND l.objid = (pg_catalog.hashtext($1))::pg_catalog.oid "
        "AND l.objsubid = 2 AND l.granted AND l.pid <> pg_catalog.pg_backend_pid()), "
        "(SELECT s.active_pid FROM pg_catalog.pg_replication_slots s "
        "WHERE s.slot_name = $1 AND s.active)",
    [Q_PUB_TABLES] = "SELECT c.oid, n.nspname, c.relname "
                     "FROM pg_catalog.pg_publication_tables pt "
                     "JOIN pg_catalog.pg_namespace n ON n.nspname = pt.schemaname "
                     "JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid "
                     "AND c.relname = pt.tablename "
                     "WHERE pt.pubname = $1 ORDER BY 2, 3",
    [Q_USER_TABLES] = "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c "
                      "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
                      "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
                      "AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 2, 3",
    [Q_REL_NAME] = "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
                   "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                   "WHERE c.oid = $1::pg_catalog.oid",
    [Q_PK] = "SELECT a.attname FROM pg_catalog.pg_index i "
             "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid "
             "AND a.attnum = ANY (i.indkey) "
             "WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY a.attnum",
    [Q_TYPE] =
        "SELECT t.typtype, t.typname, n.nspname, t.typbasetype, t.typtypmod, "
        "CASE WHEN t.typlen = -1 THEN t.typelem ELSE 0 END, "
        "COALESCE((SELECT e.extname FROM pg_catalog.pg_depend d "
        "JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid "
        "WHERE d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND d.objid = t.oid "
        "AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass "
        "AND d.deptype = 'e' LIMIT 1), '') "
        "FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
        "WHERE t.oid = $1::pg_catalog.oid",
    [Q_LABELS] = "SELECT COALESCE(pg_catalog.string_agg(enumlabel, ',' ORDER BY "
                 "enumsortorder), '') FROM pg_catalog.pg_enum "
                 "WHERE enumtypid = $1::pg_catalog.oid",
    [Q_SLOT_STATS] = pgcdc_catalog_slot_stats_sql,
};

/* The answer to one query of the message being handled. */
struct answer {
    enum query q;   /* which query */
    char param[64]; /* its parameter ("" for none) */
    PGresult *res;  /* its result; NULL when the connection failed */
};

/* One described type. */
struct type_entry {
    struct pgcdc_type_info info; /* labels points at labels below */
    char *labels;                /* enum labels, or NULL */
};

struct pgcdc_catalog {
    char *conninfo;                /* as configured */
    int connect_timeout_ms;        /* limit on connecting and start-up queries, 0 = none */
    volatile sig_atomic_t *stop;   /* ends a connection attempt or a start-up query */
    PGconn *conn;                  /* opened on first use, NULL before */
    bool claimed;                  /* conn holds the slot's advisory lock */
    bool connecting;               /* conn is being opened by the loop (streaming) */
    short connect_events;          /* ... its socket is waited for these */
    int64_t connect_deadline;      /* ... and it is given up then (ms), 0 = never */
    bool fresh;                    /* conn has answered no query yet */
    struct type_entry *types; /* described types, by oid (linear: there are few) */
    size_t ntypes;            /* entries used */
    size_t captypes;          /* entries allocated */
    bool nonblocking;         /* streaming: a lookup that must ask returns -EINPROGRESS */
    bool pending;             /* a query is asked and its answer is not all in */
    bool unsent;              /* ... and it waits for conn to open */
    bool flushing;            /* ... and not all of it is sent yet */
    bool on_fresh;            /* ... on a connection opened for it: a loss is not retried */
    bool discard;             /* ... and its message is no longer handled */
    enum query pending_q;     /* the query asked */
    char pending_param[64];   /* its parameter */
    bool pending_has_param;   /* false: it takes none */
    PGresult *pending_res;    /* its first result, once in */
    int failed_rc;            /* the connection for it could not be opened (negative errno) */
    char failed_err[256];     /* ... and why, for the lookup's next call */
    struct answer *answers;   /* answers for the message being handled */
    size_t nanswers;          /* entries used */
    size_t capanswers;        /* entries allocated */
    PGresult *slot_res;       /* answer to Q_SLOT_STATS not taken yet, or NULL */
};

/* What names the catalog connection in connection errors, and to the server. */
#define CONNECT_WHAT "cannot open the catalog connection"
#define APPLICATION_NAME "pgcdc-catalog"

static const char *const connect_keys[] = {"dbname", "fallback_application_name", NULL};

int pgcdc_catalog_new(struct pgcdc_catalog **out, const char *conninfo, int connect_timeout_ms,
                      volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    struct pgcdc_catalog *c = calloc(1, sizeof(*c));

    *out = NULL;
    if (c == NULL || (c->conninfo = strdup(conninfo ? conninfo : "")) == NULL) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    c->connect_timeout_ms = connect_timeout_ms;
    c->stop = stop;
    *out = c;
    return 0;
}

/* Closes the connection; the claim goes with it and is taken again on the
 * next start. A pending query stays asked. */
static void drop_conn(struct pgcdc_catalog *c)
{
    PQfinish(c->conn);
    c->conn = NULL;
    c->claimed = false;
    c->connecting = false;
    c->flushing = false;
}

/* Nothing is asked any more. */
static void end_pending(struct pgcdc_catalog *c)
{
    c->pending = false;
    c->unsent = false;
    c->flushing = false;
    c->discard = false;
    PQclear(c->pending_res);
    c->pending_res = NULL;
}

/* conn has just opened. */
static int opened(struct pgcdc_catalog *c, char *err, size_t errlen)
{
    c->connecting = false;
    c->fresh = true;
    /* Sending a query never waits for the socket either. */
    if (PQsetnonblocking(c->conn, 1) != 0) {
        pgcdc_pq_conn_error(c->conn, "cannot make the catalog connection non-blocking", err,
                            errlen);
        return -EIO;
    }
    return 0;
}

/* Opens the connection unless it is open, waiting for it (before
 * streaming); a query still asked is dropped. */
static int catalog_connect(struct pgcdc_catalog *c, char *err, size_t errlen)
{
    const char *const vals[] = {c->conninfo, APPLICATION_NAME, NULL};
    int rc;

    if (c->conn && !c->connecting && PQstatus(c->conn) == CONNECTION_OK)
        return 0;
    drop_conn(c);
    end_pending(c);
    rc = pgcdc_pq_connect(&c->conn, connect_keys, vals, c->connect_timeout_ms, c->stop,
                          CONNECT_WHAT, NULL, err, errlen);
    if (rc < 0)
        return rc;
    return opened(c, err, errlen);
}

/* Starts opening a new connection without waiting; the loop moves it on
 * (progress()) and the pending query goes out once it is open. */
static int start_connect(struct pgcdc_catalog *c, char *err, size_t errlen)
{
    const char *const vals[] = {c->conninfo, APPLICATION_NAME, NULL};
    int rc;

    drop_conn(c);
    rc = pgcdc_pq_connect_start(&c->conn, connect_keys, vals, CONNECT_WHAT, err, errlen);
    if (rc < 0)
        return rc;
    c->connecting = true;
    c->connect_events = POLLOUT;
    c->connect_deadline = c->connect_timeout_ms > 0 ? pgcdc_mono_ms() + c->connect_timeout_ms : 0;
    c->unsent = c->pending;
    return 0;
}

/* One step of start_connect()'s connection without waiting: 1 while under
 * way, 0 once open, or the failure (a timeout included) with text in err. */
static int advance_connect(struct pgcdc_catalog *c, char *err, size_t errlen)
{
    int rc = pgcdc_pq_connect_poll(c->conn, &c->connect_events, CONNECT_WHAT, NULL, err, errlen);

    if (rc == 0)
        return opened(c, err, errlen);
    if (rc > 0 && c->connect_deadline && pgcdc_mono_ms() >= c->connect_deadline)
        return pgcdc_pq_connect_timeout(CONNECT_WHAT, c->connect_timeout_ms, err, errlen);
    return rc;
}

/* Asks query q with param (NULL: none): pending, not sent yet. */
static void ask(struct pgcdc_catalog *c, enum query q, const char *param)
{
    end_pending(c);
    c->pending = true;
    c->unsent = true;
    c->pending_q = q;
    c->pending_has_param = param != NULL;
    snprintf(c->pending_param, sizeof(c->pending_param), "%s", param ? param : "");
}

/* Sends the pending query; not all of it may be on its way yet (flushing). */
static int send_pending(struct pgcdc_catalog *c, char *err, size_t errlen)
{
    const char *params[1] = {c->pending_param};
    int n = c->pending_has_param ? 1 : 0;
    int f;

    if (!PQsendQueryParams(c->conn, query_sql[c->pending_q], n, NULL, n ? params : NULL, NULL,
                           NULL, 0) ||
        (f = PQflush(c->conn)) < 0) {
        pgcdc_pq_conn_error(c->conn, "cannot send a query on the catalog connection", err,
                            errlen);
        return pgcdc_pq_result_errno(c->conn, NULL);
    }
    c->unsent = false;
    c->flushing = f == 1;
    c->on_fresh = c->fresh;
    return 0;
}

/* Keeps an answer for the message being handled (a NULL res: the
 * connection failed). */
static void keep_answer(struct pgcdc_catalog *c, enum query q, const char *param, PGresult *res)
{
    if (c->nanswers == c->capanswers) {
        size_t n = c->capanswers ? c->capanswers * 2 : 8;
        struct answer *a = realloc(c->answers, n * sizeof(*a));

        if (a == NULL) {
            /* Asked again on the retry. */
            PQclear(res);
            return;
        }
        c->answers = a;
        c->capanswers = n;
    }
    c->answers[c->nanswers].q = q;
    snprintf(c->answers[c->nanswers].param, sizeof(c->answers[0].param), "%s", param);
    c->answers[c->nanswers].res = res;
    c->nanswers++;
}

/* The pending query could not be sent: its connection did not open, or
 * timed out. The connection is closed, and the error kept for the lookup's
 * next call unless its message is gone. */
static void fail_pending(struct pgcdc_catalog *c, int rc)
{
    drop_conn(c);
    if (!c->discard && c->pending_q != Q_SLOT_STATS)
        c->failed_rc = rc;
    end_pending(c);
}

/* The pending query's answer says that the connection is gone. */
static bool answer_lost(const struct pgcdc_catalog *c)
{
    ExecStatusType st = c->pending_res ? PQresultStatus(c->pending_res) : PGRES_FATAL_ERROR;

    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return false;
    return pgcdc_pq_result_errno(c->conn, c->pending_res) == -ECONNRESET;
}

/* Reads what the server sent for the pending query, without waiting. true
 * once it is all in (or the connection failed): the answer is then kept
 * unless its message is gone, and nothing is pending any more. A query
 * that found its connection gone (the session was ended while idle, the
 * server restarted) is asked again once, on a new connection. */
static bool collect(struct pgcdc_catalog *c)
{
    bool failed = false, done = false;
    int rc;

    if (c->flushing) {
        int f = PQflush(c->conn);

        failed = f < 0;
        c->flushing = f == 1;
    }
    if (!failed && !PQconsumeInput(c->conn))
        failed = true;
    while (!failed && !PQisBusy(c->conn)) {
        PGresult *r = PQgetResult(c->conn);

        if (r == NULL) {
            done = true;
            break;
        }
        if (c->pending_res == NULL)
            c->pending_res = r;
        else
            PQclear(r);
    }
    if (failed) {
        PQclear(c->pending_res);
        c->pending_res = NULL;
    }
    if (!failed && !done)
        return false;
    if (c->pending_q == Q_SLOT_STATS) {
        /* No message waits for it: kept apart, and not asked again when
         * the connection is gone (the next lookup opens a new one). */
        PQclear(c->slot_res);
        c->slot_res = c->pending_res;
        c->pending_res = NULL;
        if (failed)
            drop_conn(c);
        else
            c->fresh = false;
        end_pending(c);
        return true;
    }
    if (!c->discard && !c->on_fresh && answer_lost(c)) {
        PQclear(c->pending_res);
        c->pending_res = NULL;
        rc = start_connect(c, c->failed_err, sizeof(c->failed_err));
        if (rc == 0)
            return false;
        fail_pending(c, rc);
        return true;
    }
    c->fresh = false;
    if (!c->discard)
        keep_answer(c, c->pending_q, c->pending_param, c->pending_res);
    else
        PQclear(c->pending_res);
    c->pending_res = NULL;
    end_pending(c);
    return true;
}

/* Moves the pending query on without waiting: opening its connection,
 * sending it, reading its answer. true once it is over: its answer kept
 * (collect()), or the connection's failure (fail_pending()). */
static bool progress(struct pgcdc_catalog *c)
{
    int rc;

    if (c->connecting) {
        rc = advance_connect(c, c->failed_err, sizeof(c->failed_err));
        if (rc > 0)
            return false;
        if (rc == 0 && c->discard) {
            /* Its message is gone: nothing to send. */
            end_pending(c);
            return true;
        }
        if (rc == 0)
            rc = send_pending(c, c->failed_err, sizeof(c->failed_err));
        if (rc < 0) {
            fail_pending(c, rc);
            return true;
        }
    }
    return collect(c);
}

/* Where the loop waits for the pending query: 1 with *pfd filled and
 * *timeout_ms the time left to connect (-1: no limit), or 0. */
static int pending_pollfd(const struct pgcdc_catalog *c, struct pollfd *pfd, int *timeout_ms)
{
    *timeout_ms = -1;
    if (!c->pending || c->conn == NULL)
        return 0;
    pfd->fd = PQsocket(c->conn);
    pfd->revents = 0;
    if (!c->connecting) {
        pfd->events = (short)(POLLIN | (c->flushing ? POLLOUT : 0));
        return 1;
    }
    pfd->events = c->connect_events;
    if (c->connect_deadline) {
        int64_t left = c->connect_deadline - pgcdc_mono_ms();

        *timeout_ms = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
    }
    return 1;
}

/* Hands over the error kept by fail_pending(). */
static int take_failure(struct pgcdc_catalog *c, char *err, size_t errlen)
{
    int rc = c->failed_rc;

    snprintf(err, errlen, "%s", c->failed_err);
    c->failed_rc = 0;
    return rc;
}

/* Waits for the pending query's answer, as long as connecting may take
 * and no longer than a stop request. */
static int wait_pending(struct pgcdc_catalog *c, char *err, size_t errlen)
{
    int64_t deadline = pgcdc_mono_ms() + c->connect_timeout_ms;

    while (!progress(c)) {
        struct pollfd pfd = {.fd = -1, .events = 0};
        int slice = WAIT_SLICE_MS, t;

        if (c->stop && *c->stop) {
            snprintf(err, errlen, "catalog query: stopped while waiting for the server");
            return -EINTR;
        }
        if (c->connect_timeout_ms > 0) {
            int64_t left = deadline - pgcdc_mono_ms();

            if (left <= 0) {
                snprintf(err, errlen,
                         "catalog query: no answer from the server within %d ms "
                         "(database.connect.timeout.ms)",
                         c->connect_timeout_ms);
                /* Closing is the one way to be sure the query ends. */
                drop_conn(c);
                end_pending(c);
                return -ETIMEDOUT;
            }
            if (left < slice)
                slice = (int)left;
        }
        if (pending_pollfd(c, &pfd, &t) && t >= 0 && t < slice)
            slice = t;
        if (poll(&pfd, 1, slice) < 0 && errno != EINTR) {
            int e = errno;

            snprintf(err, errlen, "catalog query: poll failed: %s", strerror(e));
            return -e;
        }
    }
    if (c->failed_rc < 0)
        return take_failure(c, err, errlen);
    return 0;
}

/* Drops the answers kept for a message. */
static void clear_answers(struct pgcdc_catalog *c)
{
    for (size_t i = 0; i < c->nanswers; i++)
        PQclear(c->answers[i].res);
    c->nanswers = 0;
}

/* The kept answer to query q with param, if any. */
static bool find_answer(struct pgcdc_catalog *c, enum query q, const char *param, PGresult **res)
{
    const char *key = param ? param : "";

    for (size_t i = 0; i < c->nanswers; i++) {
        if (c->answers[i].q == q && strcmp(c->answers[i].param, key) == 0) {
            *res = c->answers[i].res;
            return true;
        }
    }
    return false;
}

/*
 * Non-blocking run(): the kept answer, or -EINPROGRESS once query q is
 * asked. It goes out on the open connection, or, when there is none (or it
 * turns out to be gone), once a new one is open, which the loop drives.
 */
static int run_nonblocking(struct pgcdc_catalog *c, enum query q, const char *param,
                           PGresult **res, char *err, size_t errlen)
{
    int rc;

    /* Answers first: one that says the connection failed is read from the
     * failed connection, not from a new one. */
    if (find_answer(c, q, param, res))
        return 0;
    if (c->failed_rc < 0)
        return take_failure(c, err, errlen);
    if (c->pending && !progress(c))
        return -EINPROGRESS;
    if (find_answer(c, q, param, res))
        return 0;
    if (c->failed_rc < 0)
        return take_failure(c, err, errlen);
    ask(c, q, param);
    if (c->conn && !c->connecting && PQstatus(c->conn) == CONNECTION_OK) {
        rc = send_pending(c, err, errlen);
        if (rc == 0)
            return -EINPROGRESS;
        if (c->fresh) {
            end_pending(c);
            return rc;
        }
        /* Gone while idle: a new connection. */
    }
    rc = start_connect(c, err, errlen);
    if (rc < 0) {
        end_pending(c);
        return rc;
    }
    return -EINPROGRESS;
}

/*
 * Runs query q with param (NULL: none) and points *res at its result, which
 * belongs to the catalog (release it with release()); a NULL *res means the
 * connection failed (PQresultStatus and pgcdc_pq_result_error handle it).
 * Non-blocking, see run_nonblocking(); otherwise it waits (wait_pending).
 */
static int run(struct pgcdc_catalog *c, enum query q, const char *param, PGresult **res,
               char *err, size_t errlen)
{
    int rc;

    *res = NULL;
    if (c->nonblocking)
        return run_nonblocking(c, q, param, res, err, errlen);
    rc = catalog_connect(c, err, errlen);
    if (rc < 0)
        return rc;
    if (c->pending) {
        /* Left by a message that was given up: its answer is not needed. */
        c->discard = true;
        rc = wait_pending(c, err, errlen);
        if (rc < 0)
            return rc;
    }
    clear_answers(c);
    c->failed_rc = 0;
    ask(c, q, param);
    rc = send_pending(c, err, errlen);
    if (rc < 0) {
        end_pending(c);
        return rc;
    }
    rc = wait_pending(c, err, errlen);
    if (rc < 0)
        return rc;
    if (c->nanswers == 0) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    *res = c->answers[--c->nanswers].res;
    return 0;
}

/* Gives back a result of run(): answers of a non-blocking lookup stay until
 * pgcdc_catalog_done(). */
static void release(struct pgcdc_catalog *c, PGresult *res)
{
    if (!c->nonblocking)
        PQclear(res);
}

/*
 * run(), then the check every lookup makes of its result: rows (exactly
 * rows of them when rows >= 0). Otherwise the result is released and the
 * error's class returned (pq.h), with "<what>: <the server's message>" in
 * err, what formatted from what_fmt and ap.
 */
static int run_checked_v(struct pgcdc_catalog *c, enum query q, const char *param, int rows,
                         PGresult **res, char *err, size_t errlen, const char *what_fmt,
                         va_list ap) __attribute__((format(printf, 8, 0)));

static int run_checked_v(struct pgcdc_catalog *c, enum query q, const char *param, int rows,
                         PGresult **res, char *err, size_t errlen, const char *what_fmt,
                         va_list ap)
{
    char what[192];
    int rc = run(c, q, param, res, err, errlen);

    if (rc < 0)
        return rc;
    if (PQresultStatus(*res) == PGRES_TUPLES_OK && (rows < 0 || PQntuples(*res) == rows))
        return 0;
    vsnprintf(what, sizeof(what), what_fmt, ap);
    pgcdc_pq_result_error(c->conn, *res, what, err, errlen);
    rc = pgcdc_pq_result_errno(c->conn, *res);
    /* To a name lookup -ENOENT means "no such relation", not a lost object. */
    if (q == Q_REL_NAME && rc == -ENOENT)
        rc = -EIO;
    release(c, *res);
    *res = NULL;
    return rc;
}

/* run_checked_v() with the arguments of what_fmt. */
static int run_checked(struct pgcdc_catalog *c, enum query q, const char *param, int rows,
                       PGresult **res, char *err, size_t errlen, const char *what_fmt, ...)
    __attribute__((format(printf, 8, 9)));

static int run_checked(struct pgcdc_catalog *c, enum query q, const char *param, int rows,
                       PGresult **res, char *err, size_t errlen, const char *what_fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, what_fmt);
    rc = run_checked_v(c, q, param, rows, res, err, errlen, what_fmt, ap);
    va_end(ap);
    return rc;
}

/* run_checked() of a query whose parameter is oid. */
static int run_checked_oid(struct pgcdc_catalog *c, enum query q, uint32_t oid, int rows,
                           PGresult **res, char *err, size_t errlen, const char *what_fmt, ...)
    __attribute__((format(printf, 8, 9)));

static int run_checked_oid(struct pgcdc_catalog *c, enum query q, uint32_t oid, int rows,
                           PGresult **res, char *err, size_t errlen, const char *what_fmt, ...)
{
    char text[16];
    va_list ap;
    int rc;

    snprintf(text, sizeof(text), "%u", oid);
    va_start(ap, what_fmt);
    rc = run_checked_v(c, q, text, rows, res, err, errlen, what_fmt, ap);
    va_end(ap);
    return rc;
}

void pgcdc_catalog_set_nonblocking(struct pgcdc_catalog *c, bool on)
{
    c->nonblocking = on;
    if (!on)
        pgcdc_catalog_done(c);
}

bool pgcdc_catalog_busy(struct pgcdc_catalog *c)
{
    return c->pending;
}

int pgcdc_catalog_pollfd(struct pgcdc_catalog *c, struct pollfd *pfd, int *timeout_ms)
{
    return pending_pollfd(c, pfd, timeout_ms);
}

void pgcdc_catalog_perform(struct pgcdc_catalog *c)
{
    if (c->pending)
        progress(c);
}

void pgcdc_catalog_done(struct pgcdc_catalog *c)
{
    if (c->nanswers > 0)
        clear_answers(c);
    c->failed_rc = 0;
    if (c->pending && c->pending_q != Q_SLOT_STATS)
        c->discard = true;
}

int pgcdc_catalog_ask_slot_stats(struct pgcdc_catalog *c, const char *slot)
{
    char err[256];

    if (!c->nonblocking || c->pending || c->failed_rc < 0 || c->conn == NULL || c->connecting ||
        PQstatus(c->conn) != CONNECTION_OK)
        return -EBUSY;
    ask(c, Q_SLOT_STATS, slot);
    if (send_pending(c, err, sizeof(err)) < 0) {
        end_pending(c);
        drop_conn(c);
        return -EIO;
    }
    return 0;
}

/* Column i of row 0 of res as an integer. */
static int64_t slot_int(PGresult *res, int i)
{
    return strtoll(PQgetvalue(res, 0, i), NULL, 10);
}

bool pgcdc_catalog_slot_stats(struct pgcdc_catalog *c, struct pgcdc_slot_stats *out)
{
    PGresult *res = c->slot_res;
    bool ok = res && PQresultStatus(res) == PGRES_TUPLES_OK && PQnfields(res) == 7;

    c->slot_res = NULL;
    if (ok) {
        memset(out, 0, sizeof(*out));
        out->retained_bytes = -1;
        out->safe_wal_size = -1;
        out->exists = PQntuples(res) == 1;
        if (out->exists) {
            out->active = PQgetvalue(res, 0, 0)[0] == 't';
            out->pid = (int)slot_int(res, 1);
            snprintf(out->wal_status, sizeof(out->wal_status), "%s", PQgetvalue(res, 0, 2));
            out->retained_bytes = slot_int(res, 3);
            out->safe_wal_size = slot_int(res, 4);
            out->confirmed_lsn = (uint64_t)slot_int(res, 5);
            out->server_lsn = (uint64_t)slot_int(res, 6);
        }
    }
    PQclear(res);
    return ok;
}

int pgcdc_catalog_claim_slot(struct pgcdc_catalog *c, const char *slot, char *err, size_t errlen)
{
    PGresult *res;
    int rc;

    rc = catalog_connect(c, err, errlen);
    if (rc < 0)
        return rc;
    if (c->claimed)
        return 0;
    rc = run_checked(c, Q_CLAIM, slot, 1, &res, err, errlen,
                     "replication slot '%s': cannot take pgcdc's lock on it", slot);
    if (rc < 0)
        return rc;
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        snprintf(err, errlen,
                 "replication slot '%s' is in use by another pgcdc (server process %s): stop "
                 "it first, or give this one its own 'slot.name' and 'publication.name'; "
                 "nothing was changed",
                 slot, PQgetisnull(res, 0, 1) ? "unknown" : PQgetvalue(res, 0, 1));
        release(c, res);
        return -EBUSY;
    }
    c->claimed = true;
    if (!PQgetisnull(res, 0, 2)) {
        snprintf(err, errlen,
                 "replication slot '%s' is in use by server process %s: stop the client "
                 "streaming from it first; nothing was changed",
                 slot, PQgetvalue(res, 0, 2));
        release(c, res);
        return -EBUSY;
    }
    release(c, res);
    return 0;
}

/* Runs a query whose rows are (oid, schema, table) and calls fn on each;
 * what names the list for an error message. */
static int walk_tables(struct pgcdc_catalog *c, enum query q, const char *param,
                       const char *what, pgcdc_catalog_table_fn fn, void *arg, char *err,
                       size_t errlen)
{
    PGresult *res;
    int rc;

    rc = run_checked(c, q, param, -1, &res, err, errlen, "%s", what);
    if (rc < 0)
        return rc;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++)
        rc = fn(arg, (uint32_t)strtoul(PQgetvalue(res, i, 0), NULL, 10), PQgetvalue(res, i, 1),
                PQgetvalue(res, i, 2), err, errlen);
    release(c, res);
    return rc;
}

int pgcdc_catalog_publication_tables(void *catalog, const char *pubname,
                                     pgcdc_catalog_table_fn fn, void *arg, char *err,
                                     size_t errlen)
{
    char what[160];

    snprintf(what, sizeof(what), "cannot list the tables of publication '%s'", pubname);
    return walk_tables(catalog, Q_PUB_TABLES, pubname, what, fn, arg, err, errlen);
}

int pgcdc_catalog_user_tables(void *catalog, pgcdc_catalog_table_fn fn, void *arg, char *err,
                              size_t errlen)
{
    return walk_tables(catalog, Q_USER_TABLES,
                       NULL, "cannot list the database's tables", fn, arg, err, errlen);
}

int pgcdc_catalog_rel_name(void *catalog, uint32_t relid, char *nspname, size_t nsplen,
                           char *relname, size_t rellen, char *err, size_t errlen)
{
    struct pgcdc_catalog *c = catalog;
    PGresult *res;
    int rc;

    rc = run_checked_oid(c, Q_REL_NAME, relid, -1, &res, err, errlen,
                         "cannot read the name of relation %u", relid);
    if (rc < 0)
        return rc;
    if (PQntuples(res) != 1) {
        release(c, res);
        return -ENOENT;
    }
    snprintf(nspname, nsplen, "%s", PQgetvalue(res, 0, 0));
    snprintf(relname, rellen, "%s", PQgetvalue(res, 0, 1));
    release(c, res);
    return 0;
}

int pgcdc_catalog_pk_columns(void *catalog, uint32_t relid, char **names, int max, char *err,
                             size_t errlen)
{
    struct pgcdc_catalog *c = catalog;
    PGresult *res;
    int n, rc;

    rc = run_checked_oid(c, Q_PK, relid, -1, &res, err, errlen,
                         "cannot read the primary key of relation %u", relid);
    if (rc < 0)
        return rc;
    n = PQntuples(res);
    if (n > max)
        n = max;
    for (int i = 0; i < n; i++) {
        names[i] = strdup(PQgetvalue(res, i, 0));
        if (names[i] == NULL) {
            while (i-- > 0)
                free(names[i]);
            release(c, res);
            return -ENOMEM;
        }
    }
    release(c, res);
    return n;
}

/* One pg_type row. */
struct type_row {
    char typtype;       /* pg_type.typtype */
    char name[64];      /* typname */
    char nspname[64];   /* schema */
    uint32_t basetype;  /* typbasetype (domains), else 0 */
    int32_t typtypmod;  /* typtypmod (domains), else -1 */
    uint32_t elem;      /* typelem of an array type (varlena with an element), else 0 */
    char extension[64]; /* owning extension, "" when none */
};

static void copy_field(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src);
}

static int query_type(struct pgcdc_catalog *c, uint32_t oid, struct type_row *row, char *err,
                      size_t errlen)
{
    PGresult *res;
    int rc;

    rc = run_checked_oid(c, Q_TYPE, oid, -1, &res, err, errlen,
                         "cannot read type %u from the catalog", oid);
    if (rc < 0)
        return rc;
    if (PQntuples(res) != 1) {
        /* Dropped since the change being decoded was made: the stream is
         * behind the catalog. */
        snprintf(err, errlen,
                 "type oid %u is no longer in pg_type (dropped after the change was made)", oid);
        release(c, res);
        return -ENOENT;
    }
    row->typtype = PQgetvalue(res, 0, 0)[0];
    copy_field(row->name, sizeof(row->name), PQgetvalue(res, 0, 1));
    copy_field(row->nspname, sizeof(row->nspname), PQgetvalue(res, 0, 2));
    row->basetype = (uint32_t)strtoul(PQgetvalue(res, 0, 3), NULL, 10);
    row->typtypmod = (int32_t)strtol(PQgetvalue(res, 0, 4), NULL, 10);
    row->elem = (uint32_t)strtoul(PQgetvalue(res, 0, 5), NULL, 10);
    copy_field(row->extension, sizeof(row->extension), PQgetvalue(res, 0, 6));
    release(c, res);
    return 0;
}

/* The labels of enum oid, comma-joined in enumsortorder (malloc'd). */
static int query_labels(struct pgcdc_catalog *c, uint32_t oid, char **out, char *err, size_t errlen)
{
    PGresult *res;
    int rc;

    rc = run_checked_oid(c, Q_LABELS, oid, 1, &res, err, errlen,
                         "cannot read the labels of enum type %u", oid);
    if (rc < 0)
        return rc;
    *out = strdup(PQgetvalue(res, 0, 0));
    release(c, res);
    if (*out == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

/* Describes oid from the catalog into e (labels malloc'd). */
static int describe_type(struct pgcdc_catalog *c, uint32_t oid, struct type_entry *e, char *err,
                         size_t errlen)
{
    struct pgcdc_type_info *ti = &e->info;
    struct type_row row;
    int32_t typmod = -1;
    int rc, depth;

    memset(e, 0, sizeof(*e));
    rc = query_type(c, oid, &row, err, errlen);
    if (rc < 0)
        return rc;
    ti->oid = oid;
    ti->typtype = row.typtype;
    copy_field(ti->name, sizeof(ti->name), row.name);
    copy_field(ti->nspname, sizeof(ti->nspname), row.nspname);
    ti->base_oid = oid;
    /* Follow domains to the base; the outermost typmod wins, as in
     * PostgreSQL's getBaseTypeAndTypmod(). */
    for (depth = 0; row.typtype == 'd'; depth++) {
        if (depth == 32 || row.basetype == 0) {
            snprintf(err, errlen, "type %u: cannot resolve the base type of its domain", oid);
            return -EIO;
        }
        if (typmod == -1)
            typmod = row.typtypmod;
        ti->base_oid = row.basetype;
        rc = query_type(c, row.basetype, &row, err, errlen);
        if (rc < 0)
            return rc;
    }
    ti->base_typmod = typmod;
    ti->base_typtype = row.typtype;
    copy_field(ti->base_name, sizeof(ti->base_name), row.name);
    copy_field(ti->base_extension, sizeof(ti->base_extension), row.extension);
    if (row.typtype == 'e') {
        rc = query_labels(c, ti->base_oid, &e->labels, err, errlen);
    } else if (row.elem != 0) {
        ti->elem_oid = row.elem;
        rc = query_type(c, row.elem, &row, err, errlen);
        if (rc == 0) {
            ti->elem_typtype = row.typtype;
            copy_field(ti->elem_name, sizeof(ti->elem_name), row.name);
            if (row.typtype == 'e')
                rc = query_labels(c, ti->elem_oid, &e->labels, err, errlen);
        }
    }
    ti->labels = e->labels;
    if (rc < 0) {
        free(e->labels);
        e->labels = NULL;
    }
    return rc;
}

int pgcdc_catalog_type_info(void *catalog, uint32_t oid, bool refresh, struct pgcdc_type_info *out,
                            char *err, size_t errlen)
{
    struct pgcdc_catalog *c = catalog;
    struct type_entry fresh, *slot = NULL;
    int rc;

    for (size_t i = 0; i < c->ntypes; i++)
        if (c->types[i].info.oid == oid)
            slot = &c->types[i];
    if (slot && !refresh) {
        *out = slot->info;
        return 0;
    }
    rc = describe_type(c, oid, &fresh, err, errlen);
    if (rc < 0)
        return rc;
    if (slot == NULL) {
        if (c->ntypes == c->captypes) {
            size_t n = c->captypes ? c->captypes * 2 : 16;
            struct type_entry *t = realloc(c->types, n * sizeof(*t));

            if (t == NULL) {
                free(fresh.labels);
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
            }
            c->types = t;
            c->captypes = n;
        }
        slot = &c->types[c->ntypes++];
    } else {
        free(slot->labels);
    }
    *slot = fresh;
    *out = slot->info;
    return 0;
}

void pgcdc_catalog_free(struct pgcdc_catalog **cp)
{
    if (cp == NULL || *cp == NULL)
        return;
    for (size_t i = 0; i < (*cp)->ntypes; i++)
        free((*cp)->types[i].labels);
    free((*cp)->types);
    clear_answers(*cp);
    free((*cp)->answers);
    PQclear((*cp)->pending_res);
    PQclear((*cp)->slot_res);
    PQfinish((*cp)->conn);
    free((*cp)->conninfo);
    free(*cp);
    *cp = NULL;
}
