/*
 * metrics.h - counters of the event loop, and Prometheus' text exposition
 * format (version 0.0.4) to publish them.
 *
 * The counters are plain integers that only the loop's thread updates, so
 * counting costs an increment: no lock, no atomic, no lookup. What is
 * counted per table lives with the table (struct pgcdc_rel_counts in
 * relcache.h, held by the relation cache's entry). The loop renders them into a buffer when
 * /metrics is asked for, on the same thread.
 */
#ifndef PGCDC_METRICS_H
#define PGCDC_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/buf.h"
#include "pgcdc/catalog.h"
#include "pgcdc/lsn.h"
#include "pgcdc/relcache.h"

struct pgcdc_snapshot;

/* Buckets of a histogram, upper bounds ascending (+Inf is implied). */
#define PGCDC_HIST_MAX 16

struct pgcdc_hist {
    const double *bounds;             /* upper bounds, ascending; borrowed */
    size_t nbounds;                   /* entries in bounds (at most PGCDC_HIST_MAX) */
    uint64_t counts[PGCDC_HIST_MAX + 1]; /* observations per bucket (not cumulative); last: +Inf */
    uint64_t count;                   /* observations */
    double sum;                       /* their sum */
};

/* Records one observation v. */
void pgcdc_hist_observe(struct pgcdc_hist *h, double v);

/* Transactions whose commit time is kept for the lag histogram, at most
 * (in flight at once; older ones are not observed). */
#define PGCDC_METRICS_TXN_RING 4096

/* What the loop counts. Zero-initialised, then pgcdc_metrics_init(). */
struct pgcdc_metrics {
    uint64_t transactions;      /* transactions whose events were all produced (committed) */
    uint64_t bytes;             /* key and value bytes handed to the sink */
    uint64_t delivery_errors;   /* events the sink reported not delivered */
    uint64_t reconnects;        /* replication connections lost and opened again */
    uint64_t registry_errors;   /* failed schema registry requests (each retry) */
    int64_t last_event_us;      /* wall time of the last event produced, 0 = none */
    struct pgcdc_hist lag;      /* seconds from commit to the sink's acknowledgement */
    uint64_t ring_txn[PGCDC_METRICS_TXN_RING]; /* tracker handle of the commit time below */
    int64_t ring_us[PGCDC_METRICS_TXN_RING];   /* commit time (wall, microseconds) */
    struct pgcdc_slot_stats slot; /* the slot as last read from the catalog */
    int64_t slot_read_us;       /* wall time it was read, 0 = never */
    pgcdc_lsn progress_lsn;     /* confirmed position when progress was last seen */
    int64_t progress_us;        /* monotonic time progress was last seen */
};

/* Sets the histogram's buckets. */
void pgcdc_metrics_init(struct pgcdc_metrics *m);

/* Transaction txn (a tracker handle) committed at commit_us (wall time). */
static inline void pgcdc_metrics_txn_begin(struct pgcdc_metrics *m, uint64_t txn, int64_t commit_us)
{
    m->ring_txn[txn % PGCDC_METRICS_TXN_RING] = txn;
    m->ring_us[txn % PGCDC_METRICS_TXN_RING] = commit_us;
}

/* An event of transaction txn was acknowledged at now_us (wall time). */
void pgcdc_metrics_acked(struct pgcdc_metrics *m, uint64_t txn, int64_t now_us);

/*
 * Readiness: the confirmed position is confirmed, the server has sent up
 * to server. Progress is seen when confirmed moved, or when nothing the
 * server sent is left to confirm. Returns how long (microseconds) the
 * loop has gone without progress at now_us (monotonic).
 */
int64_t pgcdc_metrics_stalled_us(struct pgcdc_metrics *m, pgcdc_lsn confirmed, pgcdc_lsn server,
                                 int64_t now_us);

/* What the rendering reads besides the counters: the loop's state now. */
struct pgcdc_metrics_view {
    const char *version;              /* pgcdc's version */
    const char *slot;                 /* slot.name */
    const char *sink;                 /* sink name */
    bool connected;                   /* the replication connection is open */
    bool ready;                       /* what /readyz answers */
    pgcdc_lsn stored;                 /* position in the store */
    pgcdc_lsn confirmed;              /* last flush position sent to the server */
    pgcdc_lsn server;                 /* highest position the server sent */
    uint64_t events;                  /* events produced in this run */
    size_t in_flight;                 /* events the sink holds, not yet reported */
    size_t window;                    /* in-flight events at most (max.queue.size) */
    uint64_t registry_requests;       /* schema registry requests made */
    const struct pgcdc_relcache *rels; /* per-table counts */
    const struct pgcdc_snapshot *snap; /* the snapshot being read, or NULL */
};

/* Appends the exposition of every metric to out: 0 or -ENOMEM. */
int pgcdc_metrics_render(const struct pgcdc_metrics *m, const struct pgcdc_metrics_view *v,
                         struct pgcdc_buf *out);

/* The exposition format's pieces, usable on their own. */

/* "# HELP name help" (help escaped) and "# TYPE name type". */
int pgcdc_expo_family(struct pgcdc_buf *b, const char *name, const char *type, const char *help);

/* A label value with backslash, double quote and line feed escaped. */
int pgcdc_expo_label_value(struct pgcdc_buf *b, const char *s);

/* "name{l1="v1",...} value": labels holds name/value pairs, NULL-ended
 * (labels itself may be NULL). The value as an integer, or a float. */
int pgcdc_expo_sample_uint(struct pgcdc_buf *b, const char *name, const char *const *labels,
                           uint64_t v);
int pgcdc_expo_sample_double(struct pgcdc_buf *b, const char *name, const char *const *labels,
                             double v);

/* A histogram's _bucket (cumulative, with le, +Inf last), _sum and _count
 * lines, after its HELP and TYPE. */
int pgcdc_expo_histogram(struct pgcdc_buf *b, const char *name, const char *help,
                         const struct pgcdc_hist *h);

#endif
