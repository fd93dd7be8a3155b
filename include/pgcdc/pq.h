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

/*
 * The same in steps, for a caller that waits in its own loop. _start begins
 * connecting (0, or a negative errno as above with text in err); *out is
 * then under way, and its socket (PQsocket, which may change between
 * steps) is to be polled for *events, POLLOUT at first. _poll takes one
 * step without waiting, if the socket is ready for *events: 1 while under
 * way (with *events updated), 0 once open (in blocking mode), or the
 * failure's negative errno with text in err and sqlstate as above; the
 * caller PQfinish()es *out after a failure or when it gives up. _timeout
 * writes the timeout's message and returns -ETIMEDOUT.
 */
int pgcdc_pq_connect_start(PGconn **out /* OUT */, const char *const *keys,
                           const char *const *vals, const char *what, char *err, size_t errlen);
int pgcdc_pq_connect_poll(PGconn *conn, short *events /* IN/OUT */, const char *what,
                          char *sqlstate /* OUT */, char *err, size_t errlen);
int pgcdc_pq_connect_timeout(const char *what, int timeout_ms, char *err, size_t errlen);

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
