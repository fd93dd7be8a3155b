/*
 * pipeline.c - the single event loop that drives pgcdc.
 *
 * One thread, one loop (librdkafka keeps its own I/O threads):
 *
 *   1. read every CopyData message that is ready, unless the sink is full
 *      (backpressure): decode, look up the relation, filter, encode, produce;
 *   2. serve the sink's delivery reports, which feed the tracker;
 *   3. on the status timer, or at once when the server asks: persist the
 *      tracker's safe LSN, then confirm it in a standby status update;
 *   4. wait for the socket or the next timer.
 *
 * The stored position is written before the server is told, so the file is
 * never behind the slot. Transactions whose commit LSN lies below the stored
 * position are dropped as already delivered (the server may resend them after
 * a crash, as confirmed_flush is not persisted on every update).
 *
 * A lost connection is retried with exponential backoff: first everything
 * produced is delivered, then a fresh tracker starts from the safe LSN, so a
 * transaction cut in half is simply received again (at-least-once).
 */
#include "pgcdc/pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgcdc/avro_encode.h"
#include "pgcdc/buf.h"
#include "pgcdc/config.h"
#include "pgcdc/encoder.h"
#include "pgcdc/kafka_sink.h"
#include "pgcdc/log.h"
#include "pgcdc/lsn.h"
#include "pgcdc/pgoutput.h"
#include "pgcdc/publication.h"
#include "pgcdc/registry.h"
#include "pgcdc/relcache.h"
#include "pgcdc/sink.h"
#include "pgcdc/stdout_sink.h"
#include "pgcdc/store.h"
#include "pgcdc/stream.h"
#include "pgcdc/tracker.h"
#include "pgcdc_config.h"

/* CopyData messages handled before the loop looks at timers and reports. */
#define READ_BATCH 2000

/* How long shutdown waits for the sink to deliver what it holds. */
#define SHUTDOWN_FLUSH_MS 30000

struct pgcdc_pipeline {
    const struct pgcdc_config *cfg;  /* borrowed */
    volatile sig_atomic_t *stop;     /* set by the signal handler */
    struct pgcdc_stream *stream;     /* replication connection, NULL while disconnected */
    struct pgcdc_relcache *rels;     /* table model */
    struct pgcdc_catalog *catalog;   /* primary key lookups */
    struct pgcdc_tracker *tracker;   /* in-flight transactions, NULL before run */
    struct pgcdc_store *store;       /* persisted position */
    struct pgcdc_sink *sink;         /* where events go */
    struct pgcdc_encoder *enc;       /* key/value encoder */
    struct pgcdc_registry *registry; /* schema registry client (format avro), or NULL */
    struct pgcdc_msg *msg;           /* decoded message, reused */
    struct pgcdc_buf key;            /* encoded key, reused */
    struct pgcdc_buf value;          /* encoded value, reused */
    struct pgcdc_source src;         /* source block of the current transaction */
    char *message_topic;             /* <prefix>.message for logical messages */
    char db[64];                     /* database name */
    char origin[64];                 /* origin name of the current transaction */
    bool in_txn;                     /* between Begin and Commit */
    bool skip_txn;                   /* the current transaction was delivered before */
    uint64_t txn;                    /* tracker handle of the current transaction */
    pgcdc_lsn received;              /* highest end LSN received */
    pgcdc_lsn persisted;             /* last position written to the store */
    pgcdc_lsn confirmed;             /* last flush LSN sent to the server */
    int64_t last_status_us;          /* monotonic time of the last status update */
    int64_t last_persist_us;         /* monotonic time of the last store write */
    bool reply_requested;            /* the server asked for a status update */
    bool delivery_failed;            /* a delivery report said an event was lost */
    char delivery_err[512];          /* why */
    uint64_t events;                 /* events produced in this run */
};

static int64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_delivery(void *arg, uint64_t txn, int err, const char *errstr)
{
    struct pgcdc_pipeline *p = arg;

    if (p->tracker == NULL)
        return;
    if (err == 0) {
        pgcdc_tracker_acked(p->tracker, txn);
        return;
    }
    pgcdc_tracker_failed(p->tracker, txn);
    if (!p->delivery_failed) {
        p->delivery_failed = true;
        snprintf(p->delivery_err, sizeof(p->delivery_err), "an event was not delivered: %s",
                 errstr ? errstr : strerror(-err));
    }
}

static int make_sink(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    const struct pgcdc_config *cfg = p->cfg;
    struct pgcdc_kafka_opts opts;
    const char **props;
    int rc;

    if (cfg->sink == PGCDC_CONFIG_SINK_STDOUT)
        return pgcdc_stdout_sink_new(&p->sink, STDOUT_FILENO, (size_t)cfg->max_queue_size,
                                     on_delivery, p, err, errlen);
    props = calloc(cfg->kafka_count * 2 + 1, sizeof(*props));
    if (props == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        props[2 * i] = cfg->kafka[i].name;
        props[2 * i + 1] = cfg->kafka[i].value;
    }
    memset(&opts, 0, sizeof(opts));
    opts.props = props;
    opts.nprops = cfg->kafka_count;
    opts.topic_partitions = cfg->topic_partitions;
    opts.topic_replication = cfg->topic_replication_factor;
    opts.topic_cleanup_policy =
        cfg->topic_cleanup == PGCDC_CONFIG_CLEANUP_COMPACT ? "compact" : "delete";
    opts.max_in_flight = (size_t)cfg->max_queue_size;
    rc = pgcdc_kafka_sink_new(&p->sink, &opts, on_delivery, p, err, errlen);
    free(props);
    return rc;
}

static void on_registry_retry(void *arg, const char *subject, unsigned attempt, unsigned wait_ms,
                              const char *error)
{
    (void)arg;
    pgcdc_log_warn("schema registry: subject '%s': %s; attempt %u, retrying in %u ms", subject,
                   error, attempt, wait_ms);
}

static int make_encoder(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    const struct pgcdc_config *cfg = p->cfg;
    struct pgcdc_registry_opts ropts = {
        .url = cfg->registry_url,
        .basic_auth = cfg->registry_user_info[0] ? cfg->registry_user_info : NULL,
        .ca_file = cfg->registry_ssl_ca[0] ? cfg->registry_ssl_ca : NULL,
        .cert_file = cfg->registry_ssl_cert[0] ? cfg->registry_ssl_cert : NULL,
        .key_file = cfg->registry_ssl_key[0] ? cfg->registry_ssl_key : NULL,
    };
    struct pgcdc_avro_encoder_opts aopts = {
        .topic_prefix = cfg->topic_prefix,
        .placeholder = cfg->unavailable_value_placeholder,
        .retry =
            {
                .initial_ms = (unsigned)cfg->reconnect_backoff_initial_ms,
                .max_ms = (unsigned)cfg->reconnect_backoff_max_ms,
                .stop = p->stop,
                .on_retry = on_registry_retry,
            },
    };
    int rc;

    if (cfg->format == PGCDC_CONFIG_FORMAT_JSON)
        return pgcdc_json_encoder_new(&p->enc, cfg->unavailable_value_placeholder, err, errlen);
    rc = pgcdc_registry_new(&p->registry, &ropts, err, errlen);
    if (rc < 0)
        return rc;
    aopts.registry = p->registry;
    return pgcdc_avro_encoder_new(&p->enc, &aopts, err, errlen);
}

int pgcdc_pipeline_new(struct pgcdc_pipeline **out, const struct pgcdc_config *cfg,
                       volatile sig_atomic_t *stop, char *err, size_t errlen)
{
    struct pgcdc_pipeline *p = calloc(1, sizeof(*p));
    size_t n;
    int rc = -ENOMEM;

    *out = NULL;
    if (p == NULL)
        goto nomem;
    p->cfg = cfg;
    p->stop = stop;
    p->msg = malloc(sizeof(*p->msg));
    n = strlen(cfg->topic_prefix) + sizeof(".message");
    p->message_topic = malloc(n);
    if (p->msg == NULL || p->message_topic == NULL)
        goto nomem;
    snprintf(p->message_topic, n, "%s.message", cfg->topic_prefix);

    rc = make_encoder(p, err, errlen);
    if (rc < 0)
        goto error;
    rc = pgcdc_relcache_new(&p->rels, cfg, err, errlen);
    if (rc < 0)
        goto error;
    rc = pgcdc_catalog_new(&p->catalog, cfg->database_dsn, err, errlen);
    if (rc < 0)
        goto error;
    pgcdc_relcache_set_pk_lookup(p->rels, pgcdc_catalog_pk_columns, p->catalog);
    pgcdc_relcache_set_type_lookup(p->rels, pgcdc_catalog_type_info, p->catalog);
    pgcdc_relcache_set_name_lookup(p->rels, pgcdc_catalog_rel_name, p->catalog);
    rc = pgcdc_store_file_open(&p->store, cfg->offset_file, cfg->slot_name, err, errlen);
    if (rc < 0)
        goto error;
    rc = make_sink(p, err, errlen);
    if (rc < 0)
        goto error;
    *out = p;
    return 0;

nomem:
    snprintf(err, errlen, "out of memory");
    rc = -ENOMEM;
error:
    pgcdc_pipeline_free(&p);
    return rc;
}

static int send_status(struct pgcdc_pipeline *p, bool force, char *err, size_t errlen);

/* Hands one encoded event to the sink, waiting out backpressure. */
static int produce(struct pgcdc_pipeline *p, const char *topic, bool has_key, bool tombstone,
                   char *err, size_t errlen)
{
    struct pgcdc_sink_msg m = {
        .topic = topic,
        .key = has_key ? p->key.data : NULL,
        .key_len = has_key ? p->key.len : 0,
        .value = tombstone ? NULL : p->value.data,
        .value_len = tombstone ? 0 : p->value.len,
        .txn = p->txn,
    };
    int rc;

    while ((rc = pgcdc_sink_produce(p->sink, &m, err, errlen)) == -EAGAIN) {
        /* Full: let deliveries drain. Stopping here loses nothing: the
         * transaction is not complete, so its LSN is never confirmed. */
        if (*p->stop)
            return -EINTR;
        rc = pgcdc_sink_poll(p->sink, 10, err, errlen);
        if (rc < 0)
            return rc;
        /* The socket is not read meanwhile; a status update on the timer
         * keeps the server from dropping an idle-looking client. */
        rc = send_status(p, false, err, errlen);
        if (rc < 0)
            return rc;
    }
    if (rc < 0)
        return rc;
    p->events++;
    return pgcdc_tracker_produced(p->tracker, p->txn);
}

/* Encodes and produces one change event (plus a tombstone after deletes). */
static int emit(struct pgcdc_pipeline *p, const struct pgcdc_change *ch,
                const struct pgcdc_tuple *key_row, char *err, size_t errlen)
{
    const char *topic = ch->op == 'm' ? p->message_topic : ch->rel->topic;
    int krc, rc;

    krc = pgcdc_encoder_key(p->enc, ch, key_row, &p->key, err, errlen);
    if (krc < 0)
        return krc;
    rc = pgcdc_encoder_value(p->enc, ch, &p->value, err, errlen);
    if (rc < 0)
        return rc;
    rc = produce(p, topic, krc == 0, false, err, errlen);
    if (rc < 0)
        return rc;
    if (ch->op == 'd' && krc == 0 && p->cfg->tombstones_on_delete)
        rc = produce(p, topic, true, true, err, errlen);
    return rc;
}

/* True when a key column differs between the old and the new row. */
static bool key_changed(const struct pgcdc_rel *rel, const struct pgcdc_tuple *old,
                        const struct pgcdc_tuple *new_)
{
    for (uint16_t i = 0; i < rel->ncols && i < old->ncols && i < new_->ncols; i++) {
        const struct pgcdc_col *a = &old->cols[i], *b = &new_->cols[i];

        if (!rel->cols[i].key || b->kind == PGCDC_COL_UNCHANGED)
            continue;
        if (a->kind != b->kind || a->len != b->len ||
            (a->len && memcmp(a->data, b->data, a->len) != 0))
            return true;
    }
    return false;
}

/* Under REPLICA IDENTITY FULL the old row carries the values of unchanged
 * TOASTed columns that the new row leaves out: take them from there, as
 * Debezium does, rather than emitting the placeholder. */
static void fill_unchanged(struct pgcdc_tuple *new_, const struct pgcdc_tuple *old)
{
    for (uint16_t i = 0; i < new_->ncols && i < old->ncols; i++)
        if (new_->cols[i].kind == PGCDC_COL_UNCHANGED && old->cols[i].kind == PGCDC_COL_TEXT)
            new_->cols[i] = old->cols[i];
}

static int handle_change(struct pgcdc_pipeline *p, pgcdc_lsn lsn, char *err, size_t errlen)
{
    const struct pgcdc_msg *m = p->msg;
    struct pgcdc_rel *rel = pgcdc_relcache_get(p->rels, m->u.change.relid);
    struct pgcdc_change ch = {.src = &p->src, .ts_us = wall_us()};
    const struct pgcdc_tuple *old = m->u.change.old_kind ? &m->u.change.old : NULL;
    int rc;

    if (rel == NULL) {
        snprintf(err, errlen,
                 "protocol error: a change for relation %u came before its Relation message",
                 m->u.change.relid);
        return -EPROTO;
    }
    if (p->skip_txn || !rel->included)
        return 0;
    if (!p->in_txn) {
        snprintf(err, errlen, "protocol error: a change outside a transaction");
        return -EPROTO;
    }
    ch.rel = rel;
    p->src.lsn = lsn;
    switch (m->type) {
    case PGCDC_MSG_INSERT:
        ch.op = 'c';
        ch.after = &m->u.change.new_;
        return emit(p, &ch, ch.after, err, errlen);
    case PGCDC_MSG_UPDATE:
        if (m->u.change.old_kind == 'O')
            fill_unchanged(&p->msg->u.change.new_, old);
        if (old && rel->nkeys > 0 && key_changed(rel, old, &m->u.change.new_)) {
            /* A primary key change: Debezium emits a delete of the old key
             * (and its tombstone), then a create of the new one. */
            ch.op = 'd';
            ch.before = old;
            ch.before_key_only = m->u.change.old_kind == 'K';
            rc = emit(p, &ch, old, err, errlen);
            if (rc < 0)
                return rc;
            ch.op = 'c';
            ch.before = NULL;
            ch.before_key_only = false;
            ch.after = &m->u.change.new_;
            return emit(p, &ch, ch.after, err, errlen);
        }
        ch.op = 'u';
        ch.before = m->u.change.old_kind == 'O' ? old : NULL;
        ch.after = &m->u.change.new_;
        return emit(p, &ch, ch.after, err, errlen);
    case PGCDC_MSG_DELETE:
        ch.op = 'd';
        ch.before = old;
        ch.before_key_only = m->u.change.old_kind == 'K';
        return emit(p, &ch, old, err, errlen);
    default:
        break;
    }
    return 0;
}

static int handle_truncate(struct pgcdc_pipeline *p, pgcdc_lsn lsn, char *err, size_t errlen)
{
    struct pgcdc_change ch = {.op = 't', .src = &p->src, .ts_us = wall_us()};
    int rc;

    if (p->skip_txn)
        return 0;
    p->src.lsn = lsn;
    for (uint32_t i = 0; i < p->msg->u.truncate.nrels; i++) {
        struct pgcdc_rel *rel = pgcdc_relcache_get(p->rels, pgcdc_truncate_relid(p->msg, i));

        if (rel == NULL) {
            snprintf(err, errlen,
                     "protocol error: a truncate of relation %u came before its Relation message",
                     pgcdc_truncate_relid(p->msg, i));
            return -EPROTO;
        }
        if (!rel->included)
            continue;
        ch.rel = rel;
        rc = emit(p, &ch, NULL, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int handle_message(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    const struct pgcdc_msg *m = p->msg;
    struct pgcdc_change ch = {.op = 'm', .src = &p->src, .ts_us = wall_us()};
    bool transactional = m->u.message.flags & 1;
    int rc;

    ch.msg_prefix = m->u.message.prefix;
    ch.msg_content = m->u.message.content;
    ch.msg_len = m->u.message.len;
    /* Inside a transaction's output a message belongs to it whatever its
     * flag (the server sends non-transactional ones between transactions). */
    if (transactional || p->in_txn) {
        if (p->skip_txn)
            return 0;
        p->src.lsn = m->u.message.lsn;
        return emit(p, &ch, NULL, err, errlen);
    }
    /* A non-transactional message is its own unit, positioned at its LSN. */
    if (pgcdc_tracker_should_skip(p->tracker, m->u.message.lsn))
        return 0;
    rc = pgcdc_tracker_begin(p->tracker, m->u.message.lsn, &p->txn);
    if (rc < 0)
        goto tracker_error;
    p->src.lsn = m->u.message.lsn;
    p->src.xid = 0;
    p->src.commit_time_us = wall_us();
    rc = emit(p, &ch, NULL, err, errlen);
    if (rc < 0)
        return rc;
    rc = pgcdc_tracker_commit(p->tracker, p->txn, m->u.message.lsn);
    if (rc < 0)
        goto tracker_error;
    return 0;
tracker_error:
    snprintf(err, errlen, "checkpoint tracker refused a logical message at %" PRIX64 ": %s",
             m->u.message.lsn, strerror(-rc));
    return rc;
}

/* One pgoutput message from an XLogData frame. */
static int handle_xlogdata(struct pgcdc_pipeline *p, const struct pgcdc_frame *f, char *err,
                           size_t errlen)
{
    struct pgcdc_msg *m = p->msg;
    struct pgcdc_rel *rel;
    bool changed;
    char derr[256];
    int rc;

    rc = pgcdc_pgoutput_decode(f->payload, f->payload_len, false, m, derr, sizeof(derr));
    if (rc < 0) {
        char at[PGCDC_LSN_BUFLEN];

        snprintf(err, errlen, "cannot decode the replication stream at %s: %s",
                 pgcdc_lsn_format(f->start, at), derr);
        return rc;
    }
    switch (m->type) {
    case PGCDC_MSG_BEGIN:
        if (p->in_txn) {
            snprintf(err, errlen, "protocol error: Begin inside a transaction");
            return -EPROTO;
        }
        p->in_txn = true;
        p->skip_txn = pgcdc_tracker_should_skip(p->tracker, m->u.begin.final_lsn);
        p->src.xid = m->xid;
        p->src.commit_time_us = m->u.begin.commit_time + PGCDC_PG_EPOCH_UNIX_US;
        p->src.origin = NULL;
        p->src.origin_lsn = 0;
        if (p->skip_txn)
            return 0;
        rc = pgcdc_tracker_begin(p->tracker, m->u.begin.final_lsn, &p->txn);
        if (rc < 0) {
            snprintf(err, errlen, "checkpoint tracker refused a transaction: %s", strerror(-rc));
            return rc;
        }
        return 0;
    case PGCDC_MSG_COMMIT:
        if (!p->in_txn) {
            snprintf(err, errlen, "protocol error: Commit outside a transaction");
            return -EPROTO;
        }
        p->in_txn = false;
        if (m->u.commit.end_lsn > p->received)
            p->received = m->u.commit.end_lsn;
        /* Debezium's lastCommitLsn is where the commit record ends. */
        p->src.last_commit_lsn = m->u.commit.end_lsn;
        if (p->skip_txn) {
            p->skip_txn = false;
            return 0;
        }
        rc = pgcdc_tracker_commit(p->tracker, p->txn, m->u.commit.end_lsn);
        if (rc < 0) {
            snprintf(err, errlen, "checkpoint tracker refused a commit: %s", strerror(-rc));
            return rc;
        }
        p->txn = PGCDC_TRACKER_NO_TXN;
        return 0;
    case PGCDC_MSG_RELATION:
        rc = pgcdc_relcache_apply(p->rels, m, &rel, &changed, err, errlen);
        if (rc == 0 && changed && rel->included)
            pgcdc_log_info("table '%s.%s' (version %u): %u column(s) -> topic '%s'", rel->nspname,
                           rel->relname, rel->version, rel->ncols, rel->topic);
        return rc;
    case PGCDC_MSG_TYPE:
        return pgcdc_relcache_apply_type(p->rels, m, err, errlen);
    case PGCDC_MSG_INSERT:
    case PGCDC_MSG_UPDATE:
    case PGCDC_MSG_DELETE:
        return handle_change(p, f->start, err, errlen);
    case PGCDC_MSG_TRUNCATE:
        return handle_truncate(p, f->start, err, errlen);
    case PGCDC_MSG_MESSAGE:
        return handle_message(p, err, errlen);
    case PGCDC_MSG_ORIGIN:
        /* Sent after Begin for a transaction replicated from elsewhere. */
        snprintf(p->origin, sizeof(p->origin), "%s", m->u.origin.name);
        p->src.origin = p->origin;
        p->src.origin_lsn = m->u.origin.lsn;
        return 0;
    default:
        snprintf(err, errlen,
                 "protocol error: unexpected pgoutput message '%c' (streaming was "
                 "not requested)",
                 (char)m->type);
        return -EPROTO;
    }
}

static int handle_copydata(struct pgcdc_pipeline *p, const uint8_t *buf, size_t len, char *err,
                           size_t errlen)
{
    struct pgcdc_frame f;
    char ferr[256];

    if (pgcdc_frame_parse(buf, len, &f, ferr, sizeof(ferr)) < 0) {
        snprintf(err, errlen, "cannot decode the replication stream: %s", ferr);
        return -EBADMSG;
    }
    if (f.kind == PGCDC_FRAME_KEEPALIVE) {
        if (f.reply_requested)
            p->reply_requested = true;
        /* A walEnd inside an open transaction is never used (tracker.h). */
        if (!p->in_txn)
            pgcdc_tracker_keepalive(p->tracker, f.wal_end);
        return 0;
    }
    return handle_xlogdata(p, &f, err, errlen);
}

/* Persists the safe LSN when it moved, then confirms it to the server. */
static int send_status(struct pgcdc_pipeline *p, bool force, char *err, size_t errlen)
{
    int64_t now = mono_us();
    pgcdc_lsn safe = pgcdc_tracker_safe_lsn(p->tracker);
    bool due = now - p->last_status_us >= (int64_t)p->cfg->status_interval_ms * 1000;
    int rc;

    if (safe > p->persisted &&
        (force || now - p->last_persist_us >= (int64_t)p->cfg->offset_flush_interval_ms * 1000)) {
        struct pgcdc_position pos = {.end_lsn = safe};

        rc = pgcdc_store_save(p->store, &pos, err, errlen);
        if (rc < 0)
            return rc;
        p->persisted = safe;
        p->last_persist_us = now;
    }
    if (p->stream == NULL || !(force || due || p->reply_requested))
        return 0;
    rc =
        pgcdc_stream_send_status(p->stream, p->received > p->persisted ? p->received : p->persisted,
                                 p->persisted, false, err, errlen);
    if (rc < 0)
        return rc;
    if (p->persisted != p->confirmed) {
        char a[PGCDC_LSN_BUFLEN];

        pgcdc_log_debug("confirmed %s", pgcdc_lsn_format(p->persisted, a));
    }
    p->confirmed = p->persisted;
    p->last_status_us = now;
    p->reply_requested = false;
    return 0;
}

/* Connects and starts streaming from the stored position. */
static int connect_and_start(struct pgcdc_pipeline *p, bool first, char *err, size_t errlen)
{
    const struct pgcdc_config *cfg = p->cfg;
    const struct pgcdc_server_info *info;
    pgcdc_lsn slot_flush;
    char a[PGCDC_LSN_BUFLEN], b[PGCDC_LSN_BUFLEN];
    bool created;
    int rc;

    rc = pgcdc_stream_connect(&p->stream, cfg->database_dsn, err, errlen);
    if (rc < 0)
        return rc;
    info = pgcdc_stream_server(p->stream);
    snprintf(p->db, sizeof(p->db), "%s", info->dbname);
    if (first)
        pgcdc_log_info("connected to PostgreSQL %d.%d, database '%s', system %s, pgoutput "
                       "protocol %d",
                       info->version_num / 10000, info->version_num % 100, info->dbname,
                       info->system_id, info->proto_version);
    rc = pgcdc_publication_ensure(p->stream, cfg, err, errlen);
    if (rc < 0)
        return rc;
    /* Two captured tables on one topic is refused before anything streams;
     * tables that appear later are checked as their Relation messages come. */
    if (first) {
        rc = pgcdc_catalog_publication_tables(p->catalog, cfg->publication_name,
                                              pgcdc_relcache_claim_table, p->rels, err, errlen);
        if (rc < 0)
            return rc;
    }
    rc = pgcdc_stream_ensure_slot(p->stream, cfg->slot_name, &created, &slot_flush, err, errlen);
    if (rc < 0)
        return rc;
    if (created)
        pgcdc_log_info("created replication slot '%s' at %s", cfg->slot_name,
                       pgcdc_lsn_format(slot_flush, a));
    if (p->persisted && slot_flush > p->persisted)
        pgcdc_log_warn("slot '%s' is at %s, past the stored position %s: the server starts at "
                       "the slot",
                       cfg->slot_name, pgcdc_lsn_format(slot_flush, a),
                       pgcdc_lsn_format(p->persisted, b));
    rc = pgcdc_stream_start(p->stream, cfg->slot_name, cfg->publication_name, p->persisted, err,
                            errlen);
    if (rc < 0)
        return rc;
    pgcdc_log_info("streaming from slot '%s', publication '%s', position %s", cfg->slot_name,
                   cfg->publication_name, pgcdc_lsn_format(p->persisted, a));
    p->last_status_us = mono_us();
    return 0;
}

/* Waits until the sink has reported every event produced (timeout_ms < 0:
 * as long as it takes, unless a stop is requested); a failed delivery is an
 * error. */
static int settle(struct pgcdc_pipeline *p, int timeout_ms, char *err, size_t errlen)
{
    int rc;

    if (timeout_ms < 0) {
        /* No limit, but a stop request still ends the wait: what is not
         * delivered is simply not confirmed. */
        while ((rc = pgcdc_sink_flush(p->sink, 1000, err, errlen)) == -ETIMEDOUT && !*p->stop)
            ;
    } else {
        rc = pgcdc_sink_flush(p->sink, timeout_ms, err, errlen);
    }
    if (rc == 0 && p->delivery_failed) {
        snprintf(err, errlen, "%s", p->delivery_err);
        rc = -EIO;
    }
    return rc;
}

/* After settle(): a fresh tracker from the safe LSN, so that a transaction
 * cut off by a lost connection is received again whole. */
static int restart_tracker(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    pgcdc_lsn safe = pgcdc_tracker_safe_lsn(p->tracker);

    pgcdc_tracker_free(p->tracker);
    p->tracker = NULL;
    p->in_txn = false;
    p->skip_txn = false;
    p->txn = PGCDC_TRACKER_NO_TXN;
    return pgcdc_tracker_new(&p->tracker, safe, 0, err, errlen);
}

/* One pass of the loop: read, deliver, confirm, wait. */
static int step(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    const uint8_t *buf;
    size_t len;
    int n = 0, rc, timeout;
    struct pollfd pfd;

    while (n < READ_BATCH && pgcdc_sink_in_flight(p->sink) < (size_t)p->cfg->max_queue_size &&
           !*p->stop) {
        rc = pgcdc_stream_read(p->stream, &buf, &len, err, errlen);
        if (rc == 0)
            break;
        if (rc < 0)
            return rc;
        rc = handle_copydata(p, buf, len, err, errlen);
        if (rc < 0)
            return rc == -ECONNRESET ? -EPROTO : rc;
        n++;
    }
    rc = pgcdc_sink_poll(p->sink, 0, err, errlen);
    if (rc < 0)
        return rc == -ECONNRESET ? -EIO : rc;
    if (p->delivery_failed) {
        snprintf(err, errlen, "%s", p->delivery_err);
        return -EIO;
    }
    rc = send_status(p, false, err, errlen);
    if (rc < 0)
        return rc;
    if (n == READ_BATCH || *p->stop)
        return 0;

    /* Wait for the socket, or briefly for delivery reports while any are due. */
    timeout = pgcdc_sink_in_flight(p->sink) > 0 ? 5 : 100;
    pfd.fd = pgcdc_stream_socket(p->stream);
    pfd.events = POLLIN;
    if (pgcdc_stream_flush_output(p->stream, err, errlen) > 0)
        pfd.events |= POLLOUT;
    if (pgcdc_sink_in_flight(p->sink) >= (size_t)p->cfg->max_queue_size) {
        /* Backpressure: leave the socket alone, but the status timer keeps
         * the server from timing us out. */
        return pgcdc_sink_poll(p->sink, timeout, err, errlen);
    }
    if (poll(&pfd, 1, timeout) < 0 && errno != EINTR) {
        snprintf(err, errlen, "poll failed: %s", strerror(errno));
        return -errno;
    }
    return 0;
}

/* Errors worth a reconnect rather than a stop. */
static bool retryable(int rc)
{
    return rc == -ECONNRESET || rc == -ECONNREFUSED || rc == -EIO;
}

static void sleep_ms_unless_stopped(struct pgcdc_pipeline *p, int ms)
{
    while (ms > 0 && !*p->stop) {
        int slice = ms < 100 ? ms : 100;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)slice * 1000000L};

        nanosleep(&ts, NULL);
        ms -= slice;
    }
}

int pgcdc_pipeline_run(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    struct pgcdc_position pos;
    char a[PGCDC_LSN_BUFLEN];
    bool found;
    int rc, backoff = p->cfg->reconnect_backoff_initial_ms;

    rc = pgcdc_store_load(p->store, &pos, &found, err, errlen);
    if (rc < 0)
        return rc;
    p->persisted = found ? pos.end_lsn : 0;
    if (found)
        pgcdc_log_info("resuming from stored position %s", pgcdc_lsn_format(pos.end_lsn, a));
    rc = pgcdc_tracker_new(&p->tracker, p->persisted, 0, err, errlen);
    if (rc < 0)
        return rc;

    p->src.connector_version = PGCDC_VERSION;
    p->src.name = p->cfg->topic_prefix;
    p->src.db = p->db;
    p->src.snapshot = "false";

    /* The first connection must work: a bad DSN or a missing database is a
     * configuration error, not something to wait out. */
    rc = connect_and_start(p, true, err, errlen);
    if (rc < 0)
        goto out;

    while (!*p->stop) {
        char serr[512];

        rc = step(p, err, errlen);
        if ((rc == -EINTR || rc == -ECANCELED) && *p->stop)
            break;
        if (rc == 0) {
            backoff = p->cfg->reconnect_backoff_initial_ms;
            continue;
        }
        if (rc != -ECONNRESET)
            goto out;
        /* The connection dropped: deliver what we have, then reconnect. */
        pgcdc_log_warn("%s; reconnecting", err);
        pgcdc_stream_free(&p->stream);
        rc = settle(p, -1, err, errlen);
        if (rc < 0)
            goto out;
        rc = restart_tracker(p, err, errlen);
        if (rc < 0)
            goto out;
        rc = send_status(p, true, err, errlen);
        if (rc < 0)
            goto out;
        for (;;) {
            sleep_ms_unless_stopped(p, backoff);
            if (*p->stop)
                break;
            rc = connect_and_start(p, false, serr, sizeof(serr));
            if (rc == 0)
                break;
            pgcdc_stream_free(&p->stream);
            if (!retryable(rc)) {
                snprintf(err, errlen, "%s", serr);
                goto out;
            }
            pgcdc_log_warn("%s; retrying in %d ms", serr, backoff);
            backoff = backoff * 2 > p->cfg->reconnect_backoff_max_ms
                          ? p->cfg->reconnect_backoff_max_ms
                          : backoff * 2;
        }
    }
    rc = 0;

out:
    /* Whatever happened, deliver what was produced and confirm it: that
     * loses nothing and saves the work of sending it again. */
    {
        char ferr[512];
        int frc = settle(p, SHUTDOWN_FLUSH_MS, ferr, sizeof(ferr));

        if (frc == 0) {
            frc = send_status(p, true, ferr, sizeof(ferr));
        }
        if (frc < 0 && rc == 0) {
            snprintf(err, errlen, "%s", ferr);
            rc = frc;
        } else if (frc < 0) {
            pgcdc_log_warn("at shutdown: %s", ferr);
        }
    }
    pgcdc_log_info("stopped after %" PRIu64 " event(s); position %s", p->events,
                   pgcdc_lsn_format(p->persisted, a));
    return rc;
}

void pgcdc_pipeline_free(struct pgcdc_pipeline **pp)
{
    struct pgcdc_pipeline *p;

    if (pp == NULL || *pp == NULL)
        return;
    p = *pp;
    pgcdc_stream_free(&p->stream);
    pgcdc_sink_free(&p->sink);
    pgcdc_encoder_free(&p->enc);
    pgcdc_registry_free(p->registry);
    pgcdc_store_free(&p->store);
    pgcdc_tracker_free(p->tracker);
    pgcdc_relcache_free(&p->rels);
    pgcdc_catalog_free(&p->catalog);
    pgcdc_buf_free(&p->key);
    pgcdc_buf_free(&p->value);
    free(p->message_topic);
    free(p->msg);
    free(p);
    *pp = NULL;
}
