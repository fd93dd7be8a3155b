/*
 * snapshot_run.c - the snapshot's wiring into the loop (pipeline.c).
 *
 * A snapshot (source/snapshot.c) reads rows with COPY on connections of its
 * own; the loop takes them here, one pass at a time, while the sink has
 * room. Each chunk's rows are a unit of the tracker of their own, begun
 * after the unit that ends the snapshot, so that a delivery report says
 * which chunk it is for; a chunk whose rows are all delivered is recorded
 * in <offset file>.snapshot. The replication connection waits in
 * p->pending until every row is delivered; then the position is recorded
 * and streaming starts (or, initial_only, the loop ends).
 *
 * A row the sink cannot take now is held (p->snap_held) and tried again by
 * the loop, like a held stream message: the events it already produced are
 * dropped on the next attempt.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/catalog.h"
#include "pgcdc/change.h"
#include "pgcdc/config.h"
#include "pgcdc/filter.h"
#include "pgcdc/log.h"
#include "pgcdc/lsn.h"
#include "pgcdc/progress.h"
#include "pgcdc/registry.h"
#include "pgcdc/relcache.h"
#include "pgcdc/sink.h"
#include "pgcdc/snapshot.h"
#include "pgcdc/stream.h"
#include "pgcdc/tracker.h"
#include "pipeline_internal.h"

/* How often a snapshot's progress is logged, and redrawn on a terminal. */
#define PROGRESS_LOG_MS 5000
#define PROGRESS_STATUS_MS 1000

/* snapshot.include.collection.list over the table filters' choice (a
 * publication pgcdc does not manage may publish tables they leave out). */
static int snapshot_filter(void *arg, const char *schema, const char *table, char *err,
                           size_t errlen)
{
    const struct pgcdc_pipeline *p = arg;
    char name[256];
    int rc = pgcdc_filter_table(p->cfg, schema, table, err, errlen);

    if (rc <= 0 || pgcdc_patterns_text(p->cfg->snapshot_include)[0] == '\0')
        return rc;
    snprintf(name, sizeof(name), "%s.%s", schema, table);
    return pgcdc_patterns_match(p->cfg->snapshot_include, name, err, errlen);
}

static const char *snapshot_override(void *arg, const char *schema, const char *table)
{
    const struct pgcdc_pipeline *p = arg;

    return pgcdc_config_snapshot_override(p->cfg, schema, table);
}

/* A snapshot that an earlier run did not finish left its delivered chunks
 * in the progress file: say what it had done, and start afresh (resuming
 * it needs a snapshot that interleaves with the stream, which pgcdc does
 * not do yet). */
static int forget_earlier_snapshot(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    struct pgcdc_progress rec;
    char a[PGCDC_LSN_BUFLEN];
    bool found;
    int rc = pgcdc_progress_load(p->progress_path, &rec, &found, err, errlen);

    if (rc == -EINVAL) {
        pgcdc_log_warn("%s; ignoring it", err);
        return pgcdc_progress_remove(p->progress_path, err, errlen);
    }
    if (rc < 0 || !found)
        return rc;
    pgcdc_log_warn("an earlier snapshot (slot '%s', at %s) had delivered %zu of %zu chunk(s), "
                   "as '%s' records, when it stopped; resuming it is not supported yet, so the "
                   "snapshot is read again from scratch",
                   rec.slot, pgcdc_lsn_format(rec.lsn, a), rec.ndone, rec.planned,
                   p->progress_path);
    pgcdc_progress_clear(&rec);
    return pgcdc_progress_remove(p->progress_path, err, errlen);
}

/*
 * Starts reading a snapshot (snapshot.h) under the slot's exported snapshot
 * (import), or one of its own: the tables go into the relation cache, the
 * rows into one unit of the tracker at the snapshot's position, and the
 * replication connection waits in p->pending until they are delivered.
 */
int pgcdc_snaprun_start(struct pgcdc_pipeline *p, struct pgcdc_stream *stream,
                        const char *import, pgcdc_lsn slot_lsn, char *err, size_t errlen)
{
    const struct pgcdc_config *cfg = p->cfg;
    struct pgcdc_snapshot_opts o = {
        .conninfo = cfg->database_dsn,
        .connect_timeout_ms = cfg->connect_timeout_ms,
        .stop = p->stop,
        .publication = cfg->publication_name,
        .import = import,
        .threads = cfg->snapshot_max_threads,
        .chunk_rows = cfg->snapshot_chunk_rows,
        .filter = snapshot_filter,
        .filter_arg = p,
        .override = snapshot_override,
        .override_arg = p,
    };
    const struct pgcdc_snapshot_info *info;
    const struct pgcdc_msg *m;
    char a[PGCDC_LSN_BUFLEN];
    int rc;

    rc = forget_earlier_snapshot(p, err, errlen);
    if (rc < 0)
        return rc;
    rc = pgcdc_snapshot_new(&p->snap, &o, err, errlen);
    if (rc < 0)
        return rc;
    info = pgcdc_snapshot_info(p->snap);
    for (size_t i = 0; (m = pgcdc_snapshot_relation(p->snap, i)) != NULL; i++) {
        struct pgcdc_rel *rel;
        bool changed;

        rc = pgcdc_relcache_apply(p->rels, m, &rel, &changed, err, errlen);
        if (rc < 0)
            return rc;
        if (changed && rel->included)
            pgcdc_pipeline_log_relation(rel);
    }
    /* Where the rows stand: the slot's consistent point; else (no new
     * slot) the kept position, or the WAL position inside the snapshot. */
    p->snap_lsn = slot_lsn ? slot_lsn : p->snap_keep ? p->persisted : info->wal_lsn;
    if (p->snap_keep) {
        const struct pgcdc_snapshot_xids *x = pgcdc_snapshot_xids(p->snap);

        p->seen = *x;
        p->seen.xip = NULL;
        if (x->nxip > 0) {
            p->seen.xip = malloc(x->nxip * sizeof(*x->xip));
            if (p->seen.xip == NULL) {
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
            }
            memcpy(p->seen.xip, x->xip, x->nxip * sizeof(*x->xip));
        }
        p->filter_seen = true;
    }
    p->snap_src = p->src;
    /* Debezium's source.lsn of a snapshot read: the slot's start, else the
     * WAL position read inside the snapshot. */
    p->snap_src.lsn = slot_lsn ? slot_lsn : info->wal_lsn;
    p->snap_src.xid = (uint32_t)info->txid;
    p->snap_src.commit_time_us = info->ts_us;
    p->snap_src.last_commit_lsn = 0;
    /* The snapshot's rows are one unit of a fresh tracker; the tracker for
     * streaming is made once they are delivered. */
    pgcdc_tracker_free(p->tracker);
    p->tracker = NULL;
    rc = pgcdc_tracker_new(&p->tracker, 0, 0, err, errlen);
    if (rc == 0)
        rc = pgcdc_tracker_begin(p->tracker, p->snap_lsn, &p->snap_txn);
    if (rc < 0) {
        snprintf(err, errlen, "checkpoint tracker refused the snapshot: %s", strerror(-rc));
        return rc;
    }
    /* Each chunk's rows are a unit begun after snap_txn, so that their
     * handles map to chunks; snap_txn, committed last, ends the snapshot. */
    p->txn = p->snap_txn;
    p->nunits = info->chunks;
    p->units = calloc(p->nunits + 1, sizeof(*p->units));
    p->unit_chunk = calloc(p->nunits + 1, sizeof(*p->unit_chunk));
    if (p->units == NULL || p->unit_chunk == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    p->progress_us = pgcdc_mono_us();
    p->txn_events = 0;
    p->skip_below = 0;
    rc = pgcdc_snapshot_start(p->snap, err, errlen);
    if (rc < 0)
        return rc;
    p->snap_reported = calloc(info->tables + 1, sizeof(*p->snap_reported));
    if (p->snap_reported == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    p->snap_start_us = pgcdc_mono_us();
    p->snap_log_us = p->snap_start_us + (int64_t)PROGRESS_LOG_MS * 1000;
    p->snap_status_us = p->snap_start_us;
    p->pending = stream;
    pgcdc_log_info("snapshot of %zu table(s) in %zu chunk(s) on %d connection(s), at %s",
                   info->tables, info->chunks, cfg->snapshot_max_threads,
                   pgcdc_lsn_format(p->snap_lsn, a));
    /* Lookups for the rows' types wait no more than those of the stream. */
    pgcdc_catalog_set_nonblocking(p->catalog, true);
    return 0;
}

/*
 * The snapshot's progress: each table's end once, and every
 * PROGRESS_LOG_MS the tables being read (rows, rows/s, time left from the
 * estimates) in the log; on a terminal, a status line redrawn every
 * PROGRESS_STATUS_MS.
 */
static void snapshot_progress(struct pgcdc_pipeline *p)
{
    int64_t now = pgcdc_mono_us();
    bool periodic = now >= p->snap_log_us;
    struct pgcdc_snapshot_progress t;
    uint64_t rows = 0, expected = 0;
    size_t done = 0, n = 0;
    char line[512];

    for (size_t i = 0; pgcdc_snapshot_table_progress(p->snap, i, &t); i++, n++) {
        rows += t.rows;
        expected += t.done ? t.rows : t.estimate > 0 ? (uint64_t)t.estimate : t.rows;
        done += t.done;
        if ((t.done && !p->snap_reported[i]) || (periodic && t.started && !t.done)) {
            pgcdc_snapshot_progress_format(&t, line, sizeof(line));
            pgcdc_log_info("snapshot: %s", line);
            p->snap_reported[i] = t.done;
        }
    }
    if (periodic)
        p->snap_log_us = now + (int64_t)PROGRESS_LOG_MS * 1000;
    if (now >= p->snap_status_us) {
        double secs = (double)(now - p->snap_start_us) / 1e6;
        double rate = secs > 0 ? (double)rows / secs : 0;
        double left = rate > 0 && expected > rows ? (double)(expected - rows) / rate : 0;

        snprintf(line, sizeof(line),
                 "snapshot: %zu of %zu table(s) done, %" PRIu64 " of about %" PRIu64
                 " row(s), %.0f row(s)/s, about %.0f s left",
                 done, n, rows, expected, rate, left);
        pgcdc_log_status(line);
        p->snap_status_us = now + (int64_t)PROGRESS_STATUS_MS * 1000;
    }
}

/* The snapshot's rows are all delivered: record the position, then stream
 * (or, initial_only, stop). */
static int finish_snapshot(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    uint64_t rows = pgcdc_snapshot_rows(p->snap);
    char a[PGCDC_LSN_BUFLEN];
    int rc;

    p->snap_log_us = 0;
    snapshot_progress(p);
    pgcdc_log_status(NULL);
    pgcdc_snapshot_free(&p->snap);
    pgcdc_log_info("snapshot done: %" PRIu64 " row(s) delivered in %.1f s", rows,
                   (double)(pgcdc_mono_us() - p->snap_start_us) / 1e6);
    pgcdc_tracker_free(p->tracker);
    p->tracker = NULL;
    if (p->snap_keep) {
        rc = pgcdc_tracker_new(&p->tracker, p->persisted, 0, err, errlen);
        if (rc < 0)
            return rc;
        pgcdc_tracker_set_partial(p->tracker, p->persisted_partial, p->persisted_partial_n);
    } else {
        p->persisted = 0;
        rc = pgcdc_pipeline_adopt_position(p, p->snap_lsn, err, errlen);
        if (rc < 0)
            return rc;
    }
    p->txn = PGCDC_TRACKER_NO_TXN;
    rc = pgcdc_progress_remove(p->progress_path, err, errlen);
    if (rc < 0)
        return rc;
    if (p->snap_only) {
        pgcdc_log_info("snapshot.mode initial_only: position %s recorded; not streaming",
                       pgcdc_lsn_format(p->persisted, a));
        p->finished = true;
        return 0;
    }
    p->stream = p->pending;
    p->pending = NULL;
    return pgcdc_pipeline_start_streaming(p, err, errlen);
}

/* Maps and produces the snapshot row p->snap_row; -EAGAIN or -EINPROGRESS
 * when it must be tried again. */
static int emit_snapshot_row(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    const struct pgcdc_snapshot_row *r = &p->snap_row;
    const struct pgcdc_rel *rel = pgcdc_relcache_get(p->rels, r->relid);
    const struct pgcdc_change_event *ev;
    struct snap_unit *u;
    int n, rc;

    if (rel == NULL) {
        snprintf(err, errlen, "snapshot: a row of relation %u, which the snapshot did not describe",
                 r->relid);
        return -EPROTO;
    }
    u = &p->units[r->chunk];
    if (u->handle == 0) {
        rc = pgcdc_tracker_begin(p->tracker, p->snap_lsn, &u->handle);
        if (rc < 0) {
            snprintf(err, errlen, "checkpoint tracker refused a snapshot chunk: %s",
                     strerror(-rc));
            return rc;
        }
        p->unit_chunk[p->units_begun++] = r->chunk;
    }
    p->txn = u->handle;
    p->txn_events = u->produced;
    p->skip_below = 0;
    p->snap_src.snapshot = r->marker;
    pgcdc_change_batch_at(p->batch, p->txn_events);
    n = pgcdc_change_batch_text_row(p->batch, rel, r->values, r->lens, r->ncols, &p->snap_src,
                                    pgcdc_wall_us(), &ev, err, errlen);
    rc = n <= 0 ? n : pgcdc_pipeline_emit(p, ev, n, err, errlen);
    u->produced = p->txn_events;
    return rc;
}

/*
 * Looks at the snapshot's chunks: one whose rows are all produced is
 * committed in the tracker (all: every one, at the snapshot's end), one
 * whose rows are all delivered is recorded in the progress file, written
 * at most every offset.flush.interval.ms.
 */
static int snapshot_chunks(struct pgcdc_pipeline *p, bool all, char *err, size_t errlen)
{
    struct pgcdc_snapshot_chunk c;
    struct pgcdc_progress rec = {.lsn = p->snap_lsn, .planned = p->nunits};
    int rc;

    for (size_t k = 0; pgcdc_snapshot_chunk(p->snap, k, &c); k++) {
        struct snap_unit *u = &p->units[k];

        /* Taken from the snapshot, but held here for the sink: not done. */
        if ((!c.emitted || (p->snap_held && p->snap_row.chunk == k)) && !all)
            continue;
        if (u->handle != 0 && !u->committed) {
            rc = pgcdc_tracker_commit(p->tracker, u->handle, p->snap_lsn);
            if (rc < 0)
                return rc;
            u->committed = true;
        }
        if (c.emitted && !u->delivered && u->acked == u->produced) {
            u->delivered = true;
            p->chunks_delivered++;
            p->progress_dirty = true;
        }
    }
    p->progress_us = pgcdc_mono_us() + (int64_t)p->cfg->offset_flush_interval_ms * 1000;
    if (!p->progress_dirty || all)
        return 0;
    rec.done = calloc(p->chunks_delivered + 1, sizeof(*rec.done));
    if (rec.done == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    snprintf(rec.slot, sizeof(rec.slot), "%s", p->cfg->slot_name);
    for (size_t k = 0; pgcdc_snapshot_chunk(p->snap, k, &c); k++) {
        if (!p->units[k].delivered)
            continue;
        rec.done[rec.ndone++] = (struct pgcdc_progress_chunk){
            .relid = c.relid,
            .kind = c.kind,
            .has_lo = c.range.has_lo,
            .has_hi = c.range.has_hi,
            .lo = c.range.lo,
            .hi = c.range.hi,
        };
    }
    rc = pgcdc_progress_save(p->progress_path, &rec, err, errlen);
    pgcdc_progress_clear(&rec);
    if (rc == 0)
        p->progress_dirty = false;
    return rc;
}

/* The snapshot's part of a pass of the loop: takes the rows that are in,
 * while the sink has room; then, once every row is delivered, moves on. */
int pgcdc_snaprun_step(struct pgcdc_pipeline *p, int *count, char *err, size_t errlen)
{
    int rc;

    while (!p->snap_produced && !*p->stop && *count < READ_BATCH &&
           pgcdc_sink_in_flight(p->sink) < (size_t)p->cfg->max_queue_size &&
           !(p->registry && pgcdc_registry_busy(p->registry)) && !pgcdc_catalog_busy(p->catalog)) {
        if (!p->snap_held) {
            rc = pgcdc_snapshot_next(p->snap, &p->snap_row, err, errlen);
            if (rc < 0)
                return rc == -ECONNRESET ? -EIO : rc;
            if (rc == 0) {
                if (!pgcdc_snapshot_done(p->snap))
                    break;
                rc = snapshot_chunks(p, true, err, errlen);
                if (rc == 0)
                    rc = pgcdc_tracker_commit(p->tracker, p->snap_txn, p->snap_lsn);
                if (rc < 0) {
                    snprintf(err, errlen, "checkpoint tracker refused the snapshot's end: %s",
                             strerror(-rc));
                    return rc;
                }
                p->snap_produced = true;
                pgcdc_log_info("snapshot read: %" PRIu64 " row(s); waiting for their delivery",
                               pgcdc_snapshot_rows(p->snap));
                break;
            }
        }
        rc = emit_snapshot_row(p, err, errlen);
        if (rc == -EAGAIN || rc == -EINPROGRESS) {
            p->snap_held = true;
            p->held_retry_us = pgcdc_mono_us() + HOLD_RETRY_MS * 1000;
            break;
        }
        pgcdc_catalog_done(p->catalog);
        p->snap_held = false;
        if (rc < 0)
            return rc == -ECONNRESET ? -EIO : rc;
        (*count)++;
    }
    snapshot_progress(p);
    if (pgcdc_mono_us() >= p->progress_us) {
        rc = snapshot_chunks(p, false, err, errlen);
        if (rc < 0)
            return rc;
    }
    if (p->snap_produced && pgcdc_sink_in_flight(p->sink) == 0 &&
        pgcdc_tracker_safe_lsn(p->tracker) >= p->snap_lsn)
        return finish_snapshot(p, err, errlen);
    return 0;
}

void pgcdc_snaprun_delivered(struct pgcdc_pipeline *p, uint64_t txn)
{
    if (p->snap && txn > p->snap_txn && txn - p->snap_txn - 1 < p->units_begun)
        p->units[p->unit_chunk[txn - p->snap_txn - 1]].acked++;
}

int pgcdc_snaprun_pollfds(struct pgcdc_pipeline *p, bool window_full, struct pollfd *pfd,
                          int max)
{
    if (p->snap == NULL || p->snap_produced || p->snap_held || window_full)
        return 0;
    return pgcdc_snapshot_pollfds(p->snap, pfd, max);
}

void pgcdc_snaprun_interrupted(struct pgcdc_pipeline *p)
{
    char perr[512];

    if (p->snap == NULL)
        return;
    pgcdc_log_status(NULL);
    /* Record what the stop let through (the loop records it on a timer). */
    if (!p->broken && snapshot_chunks(p, false, perr, sizeof(perr)) < 0)
        pgcdc_log_warn("%s", perr);
    pgcdc_log_warn("the snapshot was interrupted after %" PRIu64 " row(s) (%zu of %zu "
                   "chunk(s) read, %zu delivered, as '%s' records); no position is recorded "
                   "before a snapshot is delivered whole, so the next start reads it again "
                   "from scratch",
                   pgcdc_snapshot_rows(p->snap), pgcdc_snapshot_chunks_done(p->snap),
                   pgcdc_snapshot_info(p->snap)->chunks, p->chunks_delivered, p->progress_path);
}

void pgcdc_snaprun_free(struct pgcdc_pipeline *p)
{
    pgcdc_stream_free(&p->pending);
    pgcdc_snapshot_free(&p->snap);
    free(p->seen.xip);
    p->seen.xip = NULL;
    free(p->snap_reported);
    p->snap_reported = NULL;
    free(p->units);
    p->units = NULL;
    free(p->unit_chunk);
    p->unit_chunk = NULL;
}
