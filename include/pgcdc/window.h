/*
 * window.h - the watermark window of an incremental snapshot (DBLog): which
 * rows of a chunk, read while the stream runs, may still be emitted.
 *
 * A chunk of one table is read on an ordinary connection in a REPEATABLE
 * READ transaction that first takes pg_current_snapshot() (q: exactly the
 * transactions the chunk's rows include) and then pg_current_wal_insert_lsn()
 * (high: every transaction q sees has its commit record below it). Nothing
 * is written to the database: this is the read-only mode, and the signal
 * table, where there is one, only carries requests.
 *
 * The chunk's rows are buffered here by key (bounded by the chunk size)
 * while the stream goes on. A stream change of the table by a transaction
 * that q does not see is newer than the chunk's row of that key: the row is
 * dropped, and the stream (which delivers that change and every later one)
 * carries the key from there. A change by a transaction q sees is already
 * in the row (or older than it): the row stays, and is emitted after it.
 * Once the stream has passed high, every transaction q sees has been
 * streamed; the rows left are emitted then, and nothing older than them can
 * follow. Rows of keys that no stream change touched in the window are the
 * table's state as of q, which no later stream event contradicts unless it
 * comes after them.
 *
 * The window must be open before the stream can pass any transaction that
 * q does not see: the caller stops reading the stream from the moment it
 * asks for the chunk until the rows are buffered (the loop keeps answering
 * keepalives meanwhile). Every transaction streamed before that was
 * committed before the chunk's transaction began, so q sees it.
 *
 * Pure: no I/O, rows and keys in, surviving rows out.
 */
#ifndef PGCDC_WINDOW_H
#define PGCDC_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/lsn.h"
#include "pgcdc/snapshot.h"

struct pgcdc_window;

/* A buffered row: column i is values[i] (lens[i] bytes) or NULL for SQL
 * NULL. Valid until the next call on the window. */
struct pgcdc_window_row {
    uint16_t ncols;            /* columns */
    const char *const *values; /* texts, not NUL-terminated */
    const uint32_t *lens;      /* their lengths */
};

/* A new, closed window. 0 or -ENOMEM with text in err. */
int pgcdc_window_new(struct pgcdc_window **out /* OUT */, char *err, size_t errlen);

/* Frees the window and sets *wp to NULL. NULL-safe. */
void pgcdc_window_free(struct pgcdc_window **wp);

/* Opens the window for rows of relid read under q (copied) and closing
 * once the stream has passed high; forgets the rows of an earlier window.
 * 0 or -ENOMEM. */
int pgcdc_window_open(struct pgcdc_window *w, uint32_t relid, const struct pgcdc_snapshot_xids *q,
                      pgcdc_lsn high);

/* Whether a window is open (opened and not yet closed). */
bool pgcdc_window_is_open(const struct pgcdc_window *w);

/* Buffers one row of the chunk: its key columns' texts (key[i], klens[i];
 * NULL for SQL NULL) and all of its columns. 0, -ENOMEM, or -EINVAL when
 * the window is closed. */
int pgcdc_window_add(struct pgcdc_window *w, const char *const *key, const uint32_t *klens,
                     uint16_t nkey, const char *const *values, const uint32_t *lens,
                     uint16_t ncols);

/* A stream change (insert, update, delete) by transaction xid to the row
 * of relid with the given key (for an update that changes the key, call it
 * for the old key and the new). Returns the buffered rows it dropped (a
 * chunk's keys are distinct: 0 or 1, unless memory ran out to compare
 * keys, when every row is dropped rather than risk a stale one). */
int pgcdc_window_change(struct pgcdc_window *w, uint32_t relid, uint32_t xid,
                        const char *const *key, const uint32_t *klens, uint16_t nkey);

/* A stream TRUNCATE of relid by transaction xid: every row goes when q
 * does not see xid. Returns the rows dropped. */
size_t pgcdc_window_truncate(struct pgcdc_window *w, uint32_t relid, uint32_t xid);

/* Whether the stream, standing at lsn (a Begin's final LSN, a Commit's end
 * LSN, or a keepalive's walEnd outside a transaction), has passed the high
 * watermark: then the window may close. False when closed. */
bool pgcdc_window_passed(const struct pgcdc_window *w, pgcdc_lsn lsn);

/* Closes the window; its surviving rows stay readable until the next open. */
void pgcdc_window_close(struct pgcdc_window *w);

/* The next surviving row after *cursor (start with 0), in the order they
 * were added: true with *row set and *cursor moved, false past the last. */
bool pgcdc_window_next(struct pgcdc_window *w, size_t *cursor /* IN/OUT */,
                       struct pgcdc_window_row *row /* OUT */);

/* Whether q sees every transaction of xids (32-bit, as the stream carries
 * them). A transaction already streamed that q does not see (its commit
 * was sent before it became visible, as while a synchronous standby is
 * waited for) would make the chunk's rows older than events already out:
 * such a chunk is read again. */
bool pgcdc_window_sees_all(const struct pgcdc_snapshot_xids *q, const uint32_t *xids, size_t n);

/* Rows added, and rows dropped by stream changes, since the last open. */
size_t pgcdc_window_rows(const struct pgcdc_window *w);
size_t pgcdc_window_dropped(const struct pgcdc_window *w);

#endif
