/*
 * pq.h - what pgcdc's two PostgreSQL connections share: connecting without
 * blocking the process, one way to copy libpq's error text, and errors
 * sorted by SQLSTATE into what pgcdc does about them.
 *
 * Errors come back as negative errnos with these meanings, so the pipeline
 * can decide without reading message text:
 *   -ECONNRESET  transient: the connection was lost, the server is starting,
 *                restarting or shutting down, or has no free connection
 *                slot; reconnect with backoff
 *   -ETIMEDOUT   connecting took longer than the connect timeout (transient)
 *   -EINTR       a stop was requested while connecting
 *   -EACCES      authentication failed, or a privilege or role attribute is
 *                missing: a person must fix it
 *   -ENOENT      an object pgcdc needs (slot, publication) does not exist
 *   -ENOTSUP     the server's setup does not allow logical decoding
 *   -EIO         anything else
 */
#ifndef PGCDC_PQ_H
#define PGCDC_PQ_H

#include <signal.h>
#include <stddef.h>

#include <libpq-fe.h>

/*
 * Opens a connection from libpq keyword/value arrays (expand_dbname on)
 * without blocking: PQconnectStartParams, then PQconnectPoll with poll().
 * Gives up after timeout_ms (0 = never; libpq's own connect_timeout in the
 * DSN applies too) with -ETIMEDOUT, and returns -EINTR as soon as *stop
 * becomes non-zero. The connection is returned in blocking mode. what names
 * the connection in err ("cannot connect to PostgreSQL"); sqlstate (6 bytes,
 * or NULL) gets the server's SQLSTATE when it refused us, else "".
 */
int pgcdc_pq_connect(PGconn **out /* OUT */, const char *const *keys, const char *const *vals,
                     int timeout_ms, volatile sig_atomic_t *stop, const char *what,
                     char *sqlstate /* OUT */, char *err, size_t errlen);

/* "what: <libpq's message>" without libpq's trailing newline and the lines
 * after the first one (DETAIL, HINT, LOCATION). */
void pgcdc_pq_conn_error(const PGconn *conn, const char *what, char *err, size_t errlen);

/* "what: <primary message> (SQLSTATE xxxxx)" of a failed result, or the
 * connection's message when res is NULL or carries no error. */
void pgcdc_pq_result_error(const PGconn *conn, const PGresult *res, const char *what, char *err,
                           size_t errlen);

/* The errno class of a SQLSTATE (see the file comment); NULL or an unknown
 * code is -EIO. */
int pgcdc_pq_sqlstate_errno(const char *sqlstate);

/* The errno class of a failed result on conn: its SQLSTATE, or -ECONNRESET
 * when the connection itself is gone. */
int pgcdc_pq_result_errno(const PGconn *conn, const PGresult *res);

#endif
