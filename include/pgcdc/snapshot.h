/*
 * snapshot.h - reading the rows already in the captured tables, under one
 * consistent snapshot, on several connections at once.
 *
 * Every connection runs one REPEATABLE READ transaction that imports the
 * same snapshot (SET TRANSACTION SNAPSHOT): the one a replication slot
 * exported when it was created, so that streaming from the slot's
 * consistent point continues the snapshot with no gap and no overlap; or,
 * without such a slot, one the first connection exports itself. Nothing is
 * locked beyond what SELECT takes.
 *
 * The tables are those the publication publishes (as pg_publication_tables
 * lists them under the snapshot: a partitioned table through its root when
 * the publication says so) that the caller's filter keeps. Each is split
 * into chunks: ranges of a single-column integer primary key, else ranges
 * of physical row positions (ctid, read with a TID range scan), so that
 * several connections share even one table; a partitioned table without
 * such a key, and a table read through a SELECT override, are one chunk.
 * A chunk is read with COPY (SELECT ...) TO STDOUT in text format, which is
 * the text pgoutput sends for the same values.
 *
 * Nothing here waits once pgcdc_snapshot_new() has returned: the caller's
 * loop polls the connections' sockets and takes rows with
 * pgcdc_snapshot_next() when it has room for them; a connection whose rows
 * are not taken fills its socket, and the server waits (backpressure), so
 * memory does not grow with the tables. Each row is marked as Debezium marks
 * snapshot records (source.snapshot): the first row of the snapshot
 * "first", the last "last", a table's first and last rows
 * "first_in_data_collection" and "last_in_data_collection", the others
 * "true"; to know which row is a table's last, one row per table is held
 * back until the next one of its table (or its end) comes.
 */
#ifndef PGCDC_SNAPSHOT_H
#define PGCDC_SNAPSHOT_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/lsn.h"
#include "pgcdc/pgoutput.h"

struct pgcdc_snapshot;

/* A chunk's range: lo <= value < hi, where has_lo / has_hi say whether
 * that end is bounded. */
struct pgcdc_snapshot_range {
    bool has_lo;  /* bounded below */
    bool has_hi;  /* bounded above */
    int64_t lo;   /* first value in the chunk */
    int64_t hi;   /* first value after it */
};

/* Whether schema.table is snapshotted: 1 yes, 0 no, or a negative errno
 * with text in err. */
typedef int (*pgcdc_snapshot_filter_fn)(void *arg, const char *schema, const char *table,
                                        char *err, size_t errlen);

/* The SELECT statement that replaces a table's full read, or NULL. */
typedef const char *(*pgcdc_snapshot_override_fn)(void *arg, const char *schema,
                                                  const char *table);

struct pgcdc_snapshot_opts {
    const char *conninfo;                /* libpq connection string */
    int connect_timeout_ms;              /* per connection and start-up query, 0 = no limit */
    volatile sig_atomic_t *stop;         /* ends the start-up waits */
    const char *publication;             /* whose tables are read */
    const char *import;                  /* exported snapshot to import, or NULL: export one */
    int threads;                         /* connections, at least 1 */
    int64_t chunk_rows;                  /* rows per chunk, about */
    pgcdc_snapshot_filter_fn filter;     /* snapshot.include.collection.list, or NULL: all */
    void *filter_arg;                    /* its argument */
    pgcdc_snapshot_override_fn override; /* snapshot.select.statement.overrides, or NULL */
    void *override_arg;                  /* its argument */
};

/* What the snapshot saw: which transactions its rows include. */
struct pgcdc_snapshot_xids {
    uint64_t xmin;  /* every transaction below is finished (visible if committed) */
    uint64_t xmax;  /* every transaction from here on is not visible */
    uint64_t *xip;  /* in progress in between, not visible; sorted */
    size_t nxip;    /* entries in xip */
};

/* Facts of the snapshot transaction, for the source block. */
struct pgcdc_snapshot_info {
    pgcdc_lsn wal_lsn;       /* pg_current_wal_lsn() inside it */
    uint64_t txid;           /* its transaction id (Debezium's txId of snapshot reads) */
    int64_t ts_us;           /* its CURRENT_TIMESTAMP, microseconds since 1970 */
    size_t tables;           /* tables to read */
    size_t chunks;           /* chunks planned over all of them */
};

/* One row: column i of the table is values[i] (lens[i] bytes, not
 * NUL-terminated) or NULL for SQL NULL. Valid until the next call of
 * pgcdc_snapshot_next() or pgcdc_snapshot_free(). */
struct pgcdc_snapshot_row {
    uint32_t relid;             /* the table (its Relation as pgcdc_snapshot_relation gives) */
    uint16_t ncols;             /* columns */
    const char *const *values;  /* texts */
    const uint32_t *lens;       /* their lengths */
    const char *marker;         /* source.snapshot: "first", "true", ... */
    size_t chunk;               /* the chunk it comes from (pgcdc_snapshot_chunk) */
};

/*
 * Connects opts->threads connections, starts the snapshot transaction on
 * each, lists and describes the tables and plans their chunks (waiting for
 * the server: at start-up, not past a stop, -EINTR). 0, or a negative errno
 * classed as pq.h says (-EINVAL for an override that is not a query), with
 * text in err.
 */
int pgcdc_snapshot_new(struct pgcdc_snapshot **out /* OUT */,
                       const struct pgcdc_snapshot_opts *opts, char *err, size_t errlen);

/* The snapshot transaction's facts. */
const struct pgcdc_snapshot_info *pgcdc_snapshot_info(const struct pgcdc_snapshot *s);

/* Which transactions the snapshot saw. */
const struct pgcdc_snapshot_xids *pgcdc_snapshot_xids(const struct pgcdc_snapshot *s);

/* The i-th table as a pgoutput Relation message (columns as pgoutput would
 * send them, key flags from the replica identity), for the relation cache;
 * NULL past the last. Valid until the next call. */
const struct pgcdc_msg *pgcdc_snapshot_relation(struct pgcdc_snapshot *s, size_t i);

/* Starts the reads; after this the connections do not wait. 0 or a
 * negative errno with text in err. */
int pgcdc_snapshot_start(struct pgcdc_snapshot *s, char *err, size_t errlen);

/* Fills pfd with the sockets of the connections that are reading (at most
 * max); returns how many. */
int pgcdc_snapshot_pollfds(struct pgcdc_snapshot *s, struct pollfd *pfd /* OUT */, int max);

/* Takes the next row without waiting: 1 with *row set, 0 when none is ready
 * (poll the sockets), or a negative errno (a read failed, text in err). */
int pgcdc_snapshot_next(struct pgcdc_snapshot *s, struct pgcdc_snapshot_row *row /* OUT */,
                        char *err, size_t errlen);

/* Progress of one table. */
struct pgcdc_snapshot_progress {
    const char *nspname; /* schema */
    const char *relname; /* table */
    uint64_t rows;       /* rows read */
    int64_t estimate;    /* rows expected (the planner's figure, or a count), -1 unknown */
    bool started;        /* a connection has started reading it */
    bool done;           /* every chunk read */
    int64_t elapsed_us;  /* since its first chunk was started (until its last was read) */
};

/* Fills *out for the i-th table; false past the last. */
bool pgcdc_snapshot_table_progress(const struct pgcdc_snapshot *s, size_t i,
                                   struct pgcdc_snapshot_progress *out /* OUT */);

/* A chunk: its table, how it is cut, and whether all its rows are taken. */
struct pgcdc_snapshot_chunk {
    uint32_t relid;                    /* the table */
    char kind;                         /* 'a' whole, 'k' integer key range, 'c' page range */
    struct pgcdc_snapshot_range range; /* the range (both ends open for 'a') */
    bool emitted;                      /* read, and every row of it taken */
};

/* Fills *out for chunk k (0 to pgcdc_snapshot_info()->chunks - 1); false
 * past the last. */
bool pgcdc_snapshot_chunk(const struct pgcdc_snapshot *s, size_t k,
                          struct pgcdc_snapshot_chunk *out /* OUT */);

/* Every chunk is read and every row taken. */
bool pgcdc_snapshot_done(const struct pgcdc_snapshot *s);

/* Rows taken so far, and chunks finished of those planned. */
uint64_t pgcdc_snapshot_rows(const struct pgcdc_snapshot *s);
size_t pgcdc_snapshot_chunks_done(const struct pgcdc_snapshot *s);

/* Ends the transactions, closes the connections and frees; sets *sp to
 * NULL. NULL-safe. */
void pgcdc_snapshot_free(struct pgcdc_snapshot **sp);

/* ---- pure parts, for tests ---- */

/* True when the transaction xid (32 bits, as pgoutput's Begin carries it)
 * committed before the snapshot was taken, so its changes are in the rows. */
bool pgcdc_snapshot_xid_visible(const struct pgcdc_snapshot_xids *x, uint32_t xid);

/* Parses pg_current_snapshot()'s text "xmin:xmax:xip,..." into x (xip
 * malloc'd, free it). 0 or -EINVAL / -ENOMEM. */
int pgcdc_snapshot_xids_parse(const char *text, struct pgcdc_snapshot_xids *x /* OUT */);


/* Splits the keys min..max (of about rows rows) into chunks of about
 * chunk_rows rows, at most max_chunks of them: the first is open below, the
 * last open above, so that together they cover every value. Returns the
 * count written to out (at least 1). */
size_t pgcdc_snapshot_plan_keys(int64_t min, int64_t max, int64_t rows, int64_t chunk_rows,
                                struct pgcdc_snapshot_range *out /* OUT */, size_t max_chunks);

/* One line about a table's progress: rows, share of the estimate, rows/s
 * and time left (or, done, rows and time taken). Returns its length. */
int pgcdc_snapshot_progress_format(const struct pgcdc_snapshot_progress *p, char *out /* OUT */,
                                   size_t outlen);

/* Unescapes one COPY text-format field in place (backslash escapes); its
 * new length. */
size_t pgcdc_snapshot_copy_unescape(char *field, size_t len);

/* Splits one COPY text-format line (without or with its final newline)
 * into ncols fields in place: values[i] NULL for \N. 0, or -EBADMSG when
 * the line has another number of fields. */
int pgcdc_snapshot_copy_split(char *line, size_t len, uint16_t ncols,
                              const char **values /* OUT */, uint32_t *lens /* OUT */);

#endif
