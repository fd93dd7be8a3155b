/*
 * pipeline_internal.h - what the loop (pipeline.c) and the snapshot's
 * wiring (snapshot_run.c) share: the pipeline's state and the few steps of
 * the loop that a snapshot takes too. Not a public header: only the
 * top-level wiring includes it.
 */
#ifndef PGCDC_PIPELINE_INTERNAL_H
#define PGCDC_PIPELINE_INTERNAL_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/buf.h"
#include "pgcdc/change.h"
#include "pgcdc/clock.h"
#include "pgcdc/incremental.h"
#include "pgcdc/config.h"
#include "pgcdc/lsn.h"
#include "pgcdc/metrics.h"
#include "pgcdc/pgoutput.h"
#include "pgcdc/relcache.h"
#include "pgcdc/snapshot.h"
#include "pgcdc/stream.h"
#include "pgcdc/txmeta.h"
#include "pgcdc/window.h"

/* CopyData messages (or snapshot rows) handled before the loop looks at
 * timers and reports. */
#define READ_BATCH 2000

/* A held message whose sink refused it for another reason than a full
 * window (a queue of bytes full, a topic not ready) is tried again after
 * this long, unless a delivery report comes first. */
#define HOLD_RETRY_MS 20

/* Transactions streamed that a chunk's snapshot must see (a ring). */
#define INCR_RECENT 1024

/* Where an incremental snapshot's chunk stands (incremental_run.c). */
enum pgcdc_incr_phase {
    INCR_IDLE,     /* no chunk: the next is asked for when a table waits */
    INCR_READING,  /* the chunk is read; the stream waits */
    INCR_OPEN,     /* its rows are buffered; the stream runs until the high watermark */
    INCR_EMITTING, /* the rows left go out; the stream waits */
    INCR_DELIVER,  /* waiting for their delivery, then recording */
};

/* The delivery of one snapshot chunk's rows: a unit of the tracker of its
 * own, so that reports say which chunk they are for. */
struct snap_unit {
    uint64_t handle;   /* its tracker handle, once its first row is produced */
    uint64_t produced; /* rows produced */
    uint64_t acked;    /* rows reported delivered */
    bool committed;    /* every row is produced: committed in the tracker */
    bool delivered;    /* every row is delivered (recorded in the progress file) */
};

struct pgcdc_pipeline {
    const struct pgcdc_config *cfg;  /* borrowed */
    volatile sig_atomic_t *stop;     /* set by the signal handler */
    struct pgcdc_stream *stream;     /* replication connection, NULL while disconnected */
    struct pgcdc_relcache *rels;     /* table model */
    struct pgcdc_catalog *catalog;   /* primary key, type and name lookups */
    struct pgcdc_tracker *tracker;   /* in-flight transactions, NULL before run */
    struct pgcdc_store *store;       /* persisted position */
    struct pgcdc_sink *sink;         /* where events go */
    struct pgcdc_encoder *enc;       /* key/value encoder */
    struct pgcdc_registry *registry; /* schema registry client (format avro), or NULL */
    struct pgcdc_msg *msg;           /* decoded message, reused */
    struct pgcdc_change_batch *batch; /* events of the current message, reused */
    struct pgcdc_buf key;            /* encoded key, reused */
    struct pgcdc_buf value;          /* encoded value, reused */
    struct pgcdc_source src;         /* source block of the current transaction */
    char *message_topic;             /* <prefix>.message for logical messages */
    struct pgcdc_txmeta *txmeta;     /* provide.transaction.metadata: the counts, else NULL */
    char *txn_topic;                 /* ... <prefix><delimiter><topic.transaction> */
    bool txmeta_open;                /* the current transaction gets BEGIN and END records */
    struct pgcdc_txn_block block;    /* transaction block of the event being encoded */
    uint64_t failed_events;          /* events left out under event.processing.failure... */
    int retries;                     /* reconnections in a row without streaming again */
    char db[64];                     /* database name */
    char origin[64];                 /* origin name of the current transaction */
    bool in_txn;                     /* between Begin and Commit */
    bool skip_txn;                   /* the current transaction was delivered before */
    uint64_t txn;                    /* tracker handle of the current transaction */
    pgcdc_lsn received;              /* highest end LSN received */
    pgcdc_lsn server_sent;           /* highest position the server sent in this session
                                      * (walEnd, commit end): nothing beyond is confirmed */
    char system_id[32];              /* server identity recorded with the position */
    uint32_t timeline;               /* server timeline recorded with the position */
    volatile sig_atomic_t *hup;      /* set on SIGHUP, or NULL */
    bool must_act;                   /* the last error needs a person (exit 78) */
    pgcdc_lsn persisted;             /* last position written to the store */
    pgcdc_lsn confirmed;             /* last flush LSN sent to the server */
    int64_t last_status_us;          /* monotonic time of the last status update */
    int64_t last_persist_us;         /* monotonic time of the last store write */
    pgcdc_lsn persisted_partial;     /* partial_commit_lsn last written to the store */
    uint64_t persisted_partial_n;    /* partial_events last written to the store */
    bool reply_requested;            /* the server asked for a status update */
    bool delivery_failed;            /* a delivery report said an event was lost */
    char delivery_err[512];          /* why */
    bool broken;                     /* the tracker refused a report: confirm nothing more */
    char broken_err[512];            /* why */
    uint64_t txn_events;             /* index of the next event of the current transaction */
    uint64_t skip_below;             /* its events below this index are not produced */
    bool held;                       /* held_frame waits for the sink (or the registry) */
    struct pgcdc_frame held_frame;   /* the held XLogData, pointing into the stream's buffer */
    int64_t held_retry_us;           /* monotonic time to try the held message again */
    uint64_t events;                 /* events produced in this run */
    bool reconnecting;               /* the connection was lost: deliver, then connect again */
    int64_t reconnect_us;            /* monotonic time of the next connection attempt */
    int backoff_ms;                  /* wait before the next connection attempt */
    struct pgcdc_snapshot *snap;     /* the snapshot being read, or NULL */
    struct pgcdc_stream *pending;    /* replication connection waiting for the snapshot */
    pgcdc_lsn snap_lsn;              /* where the snapshot stands in the WAL */
    bool snap_keep;                  /* the slot and the stored position are kept (always) */
    bool snap_only;                  /* initial_only: stop once the snapshot is delivered */
    bool snap_produced;              /* every row is produced: waiting for deliveries */
    bool snap_held;                  /* snap_row waits for the sink (or the registry) */
    struct pgcdc_snapshot_row snap_row; /* the held row */
    struct pgcdc_source snap_src;    /* source block of snapshot rows */
    struct pgcdc_snapshot_xids seen; /* keep: the transactions the snapshot saw */
    bool filter_seen;                /* drop stream transactions in seen */
    bool finished;                   /* initial_only is done: the loop ends */
    bool *snap_reported;             /* per snapshot table: its end was logged */
    int64_t snap_start_us;           /* when the snapshot's reads started (monotonic) */
    int64_t snap_log_us;             /* next progress lines in the log */
    int64_t snap_status_us;          /* next redraw of the terminal's status line */
    struct snap_unit *units;         /* per snapshot chunk */
    size_t nunits;                   /* entries in units */
    size_t *unit_chunk;              /* chunk of the tracker handle snap_txn + 1 + i */
    size_t units_begun;              /* entries in unit_chunk */
    uint64_t snap_txn;               /* the tracker unit that ends the snapshot */
    size_t chunks_delivered;         /* chunks in the progress file */
    bool progress_dirty;             /* more chunks are delivered than the file says */
    int64_t progress_us;             /* next look at the chunks' delivery */
    char *progress_path;             /* <offset file>.snapshot */
    struct pgcdc_httpd *httpd;       /* metrics.listen's server, or NULL */
    int httpd_slot;                  /* its index in wait_for_work's descriptors, -1 none */
    bool httpd_due;                  /* it is readable or its timer is due */
    int64_t httpd_run_us;            /* monotonic time it last worked */
    int64_t slot_stats_us;           /* monotonic time to read the slot's row again */
    struct pgcdc_metrics metrics;    /* counters for /metrics */
    struct pgcdc_incr *incr;         /* incremental snapshots' reader */
    struct pgcdc_window *win;        /* the chunk's watermark window */
    enum pgcdc_incr_phase incr_phase; /* where the current chunk stands */
    bool incr_paused;                /* pause-snapshot: no new chunk */
    uint32_t incr_relid;             /* the chunk's table */
    uint16_t incr_key[32];           /* its key's column indexes */
    uint16_t incr_nkey;              /* how many */
    size_t incr_cursor;              /* next window row to produce */
    pgcdc_lsn incr_lsn;              /* where the window closed: the rows' position */
    pgcdc_lsn incr_high;             /* the chunk's high watermark */
    uint64_t incr_handle;            /* tracker unit of the chunk's rows, 0 none */
    uint64_t incr_produced;          /* its events produced */
    uint64_t incr_acked;             /* ... and delivered */
    struct pgcdc_source incr_src;    /* source block of incremental rows */
    int64_t incr_ping_us;            /* next keepalive request while the window waits */
    int64_t incr_signal_us;          /* next look for a request file */
    char *incr_signal_path;          /* <offset file>.signal */
    char *incr_progress_path;        /* <offset file>.incremental */
    bool incr_table_done;            /* the chunk was its table's last */
    char incr_table[256];            /* its table, for the log */
    uint64_t incr_rows;              /* rows of the table emitted so far */
    uint64_t incr_chunks;            /* chunks of the table read so far */
    uint32_t incr_recent[INCR_RECENT]; /* xids of the last transactions streamed (a ring) */
    size_t incr_nrecent;             /* how many were ever put in it */
    bool incr_unseen;                /* the chunk's snapshot misses one of them: read again */
};

/* Logs a table's (new) shape. */
void pgcdc_pipeline_log_relation(const struct pgcdc_rel *rel);

/* Encodes and produces the events of one source record in p->txn, in
 * order; -EAGAIN (or -EINPROGRESS) when it must be tried again. */
int pgcdc_pipeline_emit(struct pgcdc_pipeline *p, const struct pgcdc_change_event *ev, int n,
                        char *err, size_t errlen);

/* Records lsn as the position at once (a new one: with a fresh tracker). */
int pgcdc_pipeline_adopt_position(struct pgcdc_pipeline *p, pgcdc_lsn lsn, char *err,
                                  size_t errlen);

/* Starts streaming on p->stream from the position. */
int pgcdc_pipeline_start_streaming(struct pgcdc_pipeline *p, char *err, size_t errlen);

/* snapshot_run.c: the snapshot's part of the loop. */

/* Starts reading a snapshot under the slot's exported snapshot (import),
 * or one of its own. On success stream waits in p->pending (p owns it)
 * until the rows are delivered; on failure it stays the caller's. */
int pgcdc_snaprun_start(struct pgcdc_pipeline *p, struct pgcdc_stream *stream,
                        const char *import, pgcdc_lsn slot_lsn, char *err, size_t errlen);

/* The snapshot's part of a pass of the loop; *count: rows taken so far in
 * this pass (IN/OUT). */
int pgcdc_snaprun_step(struct pgcdc_pipeline *p, int *count, char *err, size_t errlen);

/* A delivery report for tracker handle txn, which may be a snapshot
 * chunk's: counted for the chunk. */
void pgcdc_snaprun_delivered(struct pgcdc_pipeline *p, uint64_t txn);

/* The snapshot's connections to poll (when their rows can be taken now),
 * into pfd; returns how many. */
int pgcdc_snaprun_pollfds(struct pgcdc_pipeline *p, bool window_full, struct pollfd *pfd,
                          int max);

/* At a stop with the snapshot unfinished: records what was delivered and
 * says what the next start does. */
void pgcdc_snaprun_interrupted(struct pgcdc_pipeline *p);

/* Frees the snapshot's state in p. */
void pgcdc_snaprun_free(struct pgcdc_pipeline *p);

/* incremental_run.c: incremental snapshots' part of the loop. */

/* Makes the reader and the window. 0 or a negative errno with text in err. */
int pgcdc_incrun_new(struct pgcdc_pipeline *p, char *err, size_t errlen);

/* Queues what <offset file>.incremental records. */
int pgcdc_incrun_resume(struct pgcdc_pipeline *p, char *err, size_t errlen);

/* The incremental snapshot's part of a pass of the loop (requests, the
 * chunk, its rows); *count: rows taken so far in this pass (IN/OUT). */
int pgcdc_incrun_step(struct pgcdc_pipeline *p, int *count, char *err, size_t errlen);

/* Whether the stream must not be read now (a chunk being read or its rows
 * going out). */
bool pgcdc_incrun_blocks_stream(const struct pgcdc_pipeline *p);

/* A change (or truncate) m of the stream by transaction xid: the window
 * drops the rows it makes stale. */
void pgcdc_incrun_change(struct pgcdc_pipeline *p, const struct pgcdc_msg *m, uint32_t xid);

/* The stream stands at lsn between transactions (a Commit's end, a
 * keepalive's walEnd): the window closes once that is past its high mark. */
void pgcdc_incrun_stream_at(struct pgcdc_pipeline *p, pgcdc_lsn lsn);

/* A transaction xid of the stream committed (streamed whole). */
void pgcdc_incrun_committed(struct pgcdc_pipeline *p, uint32_t xid);

/* A delivery report for tracker handle txn. */
void pgcdc_incrun_delivered(struct pgcdc_pipeline *p, uint64_t txn);

/* The reader's socket while a chunk is read: 1 with *pfd set, else 0. */
int pgcdc_incrun_pollfd(struct pgcdc_pipeline *p, struct pollfd *pfd);

/* The connection was lost: the chunk under way is read again later. */
void pgcdc_incrun_reset(struct pgcdc_pipeline *p);

/* Frees the incremental snapshot's state in p. */
void pgcdc_incrun_free(struct pgcdc_pipeline *p);

#endif
