/*
 * incremental.h - reading tables again while the stream runs (incremental
 * snapshots, DBLog), one chunk at a time, without writing to the database.
 *
 * One ordinary connection, opened without blocking when the first table is
 * asked for. A table is described once (its columns as pgoutput sends them,
 * and its primary key, in whose order it is read); then each chunk is one
 * query string:
 *
 *   BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
 *   SELECT pg_current_snapshot(), pg_current_wal_insert_lsn();
 *   COPY (SELECT ... WHERE (key) > (last key read) ORDER BY key LIMIT n) TO STDOUT;
 *   COMMIT
 *
 * The SELECT takes the transaction's snapshot, so it names exactly the
 * transactions whose changes the chunk's rows include (the window's q), and
 * reads the WAL insert position after that (the high watermark: every
 * transaction q sees has its commit record below it). window.h says how the
 * rows and the stream meet. A chunk that returns fewer than n rows is the
 * table's last.
 *
 * Nothing here waits: the caller polls the socket and calls
 * pgcdc_incr_step(), which hands out one event at a time.
 */
#ifndef PGCDC_INCREMENTAL_H
#define PGCDC_INCREMENTAL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/lsn.h"
#include "pgcdc/pgoutput.h"
#include "pgcdc/snapshot.h"

struct pgcdc_incr;

struct pgcdc_incr_opts {
    const char *conninfo;   /* libpq connection string */
    int connect_timeout_ms; /* connecting gives up after this long, 0 = never */
    int chunk_rows;         /* rows per chunk (incremental.snapshot.chunk.size) */
};

enum pgcdc_incr_kind {
    PGCDC_INCR_NONE = 0,    /* nothing now: poll the socket, or ask for a chunk */
    PGCDC_INCR_RELATION,    /* a table was described: relation (put it in the cache) */
    PGCDC_INCR_CHUNK_BEGIN, /* a chunk's snapshot: q and high (open the window) */
    PGCDC_INCR_ROW,         /* a row of the chunk */
    PGCDC_INCR_CHUNK_END,   /* every row of the chunk is read; last: the table's last */
    PGCDC_INCR_SKIPPED,     /* a table that cannot be read (gone, no key): text in err */
};

/* One event; pointers valid until the next call. */
struct pgcdc_incr_event {
    enum pgcdc_incr_kind kind;             /* what happened */
    const struct pgcdc_msg *relation;      /* RELATION: the table as a Relation message */
    uint32_t relid;                        /* the table of the chunk or row */
    const struct pgcdc_snapshot_xids *q;   /* CHUNK_BEGIN: what the rows include */
    pgcdc_lsn high;                        /* CHUNK_BEGIN: the high watermark */
    uint16_t ncols;                        /* ROW: columns */
    const char *const *values;             /* ROW: texts, NULL for SQL NULL */
    const uint32_t *lens;                  /* ROW: their lengths */
    const uint16_t *key;                   /* ROW, CHUNK_BEGIN: key column indexes */
    uint16_t nkey;                         /* ... how many */
    uint64_t rows;                         /* CHUNK_END: rows in the chunk */
    bool last;                             /* CHUNK_END: the table is done */
    const char *table;                     /* "schema.table" of the current table */
    const char *last_key;                  /* CHUNK_END: the key read up to, encoded */
};

/* A reader with nothing to read yet. 0 or -ENOMEM with text in err. */
int pgcdc_incr_new(struct pgcdc_incr **out /* OUT */, const struct pgcdc_incr_opts *opts,
                   char *err, size_t errlen);

/* Closes the connection and frees; sets *ip to NULL. NULL-safe. */
void pgcdc_incr_free(struct pgcdc_incr **ip);

/* Queues schema.table ("schema.table", unquoted) to be read from after the
 * key after_key (as a CHUNK_END's last_key gives it), or from the start
 * when NULL. A table already queued or being read is not queued again.
 * 0 or -ENOMEM. */
int pgcdc_incr_add(struct pgcdc_incr *inc, const char *table, const char *after_key);

/* Drops every queued table and the one being read (stop-snapshot) once
 * the chunk under way, if any, ends. */
void pgcdc_incr_stop(struct pgcdc_incr *inc);

/* After a CHUNK_END: the chunk's rows are delivered, so the table goes on
 * after its last key (or, its last chunk, leaves the queue). */
void pgcdc_incr_commit(struct pgcdc_incr *inc);

/* After a CHUNK_END: the chunk's rows were not delivered; the next chunk
 * asked for is the same one again. */
void pgcdc_incr_rollback(struct pgcdc_incr *inc);

/* Whether a table is queued or being read. */
bool pgcdc_incr_pending(const struct pgcdc_incr *inc);

/* Asks for the next chunk: the reader sends it once the table is
 * described. The caller asks after the previous chunk's window closed. */
void pgcdc_incr_want_chunk(struct pgcdc_incr *inc);

/* Whether a chunk is asked for or being read (the stream waits meanwhile). */
bool pgcdc_incr_reading(const struct pgcdc_incr *inc);

/* The tables queued and the one being read, with the key read up to as
 * committed, one "table<TAB>key" line each (key empty: from the start);
 * for the progress file. Owned by inc; valid until the next call. */
const char *pgcdc_incr_state(struct pgcdc_incr *inc);

/* The socket to poll (and its events) while connecting or reading; 0 when
 * there is none now, 1 with *pfd set. */
int pgcdc_incr_pollfd(struct pgcdc_incr *inc, struct pollfd *pfd /* OUT */);

/* Moves on without waiting: 0 with *ev set (kind NONE: nothing now), or a
 * negative errno with text in err (-ECONNRESET: the connection was lost;
 * the chunk under way is asked for again). */
int pgcdc_incr_step(struct pgcdc_incr *inc, struct pgcdc_incr_event *ev /* OUT */, char *err,
                    size_t errlen);

/* ---- pure parts, for tests ---- */

/* Encodes key texts (NULL for SQL NULL) as one string: each value as its
 * escaped text and a tab ("\N" for NULL; backslash, tab and newline
 * escaped as COPY does). Returns a malloc'd string, or NULL. */
char *pgcdc_incr_key_encode(const char *const *values, const uint32_t *lens, uint16_t n);

#endif
