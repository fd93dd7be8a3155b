/*
 * stream.h - the replication connection to PostgreSQL.
 *
 * One libpq connection opened with replication=database. Before streaming it
 * runs plain SQL (simple query protocol only) to check the server, manage the
 * publication and the slot; then START_REPLICATION switches it to CopyBoth,
 * from which pgcdc_stream_read() returns one CopyData message at a time
 * without blocking, and pgcdc_stream_send_status() writes standby status
 * updates.
 */
#ifndef PGCDC_STREAM_H
#define PGCDC_STREAM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/pgoutput.h"

struct pgcdc_stream;

/* What the server told us about itself. */
struct pgcdc_server_info {
    int version_num;    /* server_version_num, e.g. 150004 */
    char system_id[32]; /* IDENTIFY_SYSTEM systemid */
    uint32_t timeline;  /* IDENTIFY_SYSTEM timeline */
    pgcdc_lsn xlogpos;  /* IDENTIFY_SYSTEM current WAL flush position */
    char dbname[64];    /* database the connection is bound to */
    int proto_version;  /* highest pgoutput protocol version to request */
};

/* Opens the replication connection: conninfo plus replication=database, and
 * the session settings the value converters rely on (ISO dates, UTC, hex
 * bytea). Runs IDENTIFY_SYSTEM and checks wal_level. Connecting gives up
 * after timeout_ms (0 = no limit) or as soon as *stop is set. 0, or a
 * negative errno classed as pq.h says, with text in err (the password is
 * never part of it). */
int pgcdc_stream_connect(struct pgcdc_stream **out /* OUT */, const char *conninfo,
                         int timeout_ms, volatile sig_atomic_t *stop, char *err, size_t errlen);

/* 0 when wal_level allows logical decoding, else -ENOTSUP with the fix in
 * err. */
int pgcdc_stream_check_wal_level(const char *wal_level, char *err, size_t errlen);

/* Server facts gathered by connect. */
const struct pgcdc_server_info *pgcdc_stream_server(const struct pgcdc_stream *s);

/* Runs one SQL statement that returns no rows or rows that are ignored.
 * This and pgcdc_stream_query() wait for the server as long as it takes,
 * but return -EINTR once the stop flag given to connect is set. */
int pgcdc_stream_exec(struct pgcdc_stream *s, const char *sql, char *err, size_t errlen);

/* Runs one SQL query; returns the libpq result (PGresult *, as void * to keep
 * libpq out of this header) in *res, to be freed with PQclear. */
int pgcdc_stream_query(struct pgcdc_stream *s, const char *sql, void **res /* OUT */, char *err,
                       size_t errlen);

/* Quotes an identifier or a literal for this connection into out; a string
 * that does not fit is an error. */
int pgcdc_stream_quote_ident(struct pgcdc_stream *s, const char *ident, char *out, size_t outlen);
int pgcdc_stream_quote_literal(struct pgcdc_stream *s, const char *lit, char *out, size_t outlen);

/* Looks slot up: *exists, and its confirmed_flush_lsn. An existing slot
 * must be logical, use pgoutput and belong to this database (-EINVAL), and
 * must not have been invalidated (-ESTALE, wal_status 'lost'). */
int pgcdc_stream_slot_info(struct pgcdc_stream *s, const char *slot, bool *exists /* OUT */,
                           pgcdc_lsn *confirmed_flush /* OUT */, char *err, size_t errlen);

/* Creates the logical slot with pgoutput; *confirmed_flush is where it
 * starts (its consistent point). export_snapshot: the slot exports the
 * snapshot of that point, named in snapshot (snaplen bytes), which other
 * connections can import (SET TRANSACTION SNAPSHOT) until this connection
 * runs its next command. */
int pgcdc_stream_create_slot(struct pgcdc_stream *s, const char *slot, bool export_snapshot,
                             char *snapshot /* OUT */, size_t snaplen,
                             pgcdc_lsn *confirmed_flush /* OUT */, char *err, size_t errlen);

/* Drops the slot, waiting while another session still holds it. */
int pgcdc_stream_drop_slot(struct pgcdc_stream *s, const char *slot, char *err, size_t errlen);

/* START_REPLICATION from start (0/0 = the slot's confirmed_flush). params
 * holds pgoutput options as "name=value;..." (slot.stream.params, checked
 * by the configuration): messages=true|false, origin=any|none; "" or NULL
 * for none. */
int pgcdc_stream_start(struct pgcdc_stream *s, const char *slot, const char *publication,
                       pgcdc_lsn start, const char *params, char *err, size_t errlen);

/*
 * Reads one CopyData message without blocking. Returns 1 with *buf and *len set
 * (valid until the next read or free), 0 when nothing is ready (wait for the
 * socket), or a negative errno when the stream ended or failed (text in err).
 */
int pgcdc_stream_read(struct pgcdc_stream *s, const uint8_t **buf /* OUT */, size_t *len /* OUT */,
                      char *err, size_t errlen);

/* Sends a standby status update and flushes it. */
int pgcdc_stream_send_status(struct pgcdc_stream *s, pgcdc_lsn written, pgcdc_lsn flushed,
                             bool reply_requested, char *err, size_t errlen);

/* Flushes libpq's output buffer without blocking; 1 while data remains. */
int pgcdc_stream_flush_output(struct pgcdc_stream *s, char *err, size_t errlen);

/* The socket to poll for input. */
int pgcdc_stream_socket(const struct pgcdc_stream *s);

/* Ends the copy cleanly (CopyDone) when streaming, then closes. NULL-safe;
 * sets *sp to NULL. */
void pgcdc_stream_free(struct pgcdc_stream **sp);

/* Microseconds since 2000-01-01 (PostgreSQL's epoch) from the wall clock. */
int64_t pgcdc_stream_now_pg(void);

#endif
