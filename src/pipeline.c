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
 *   4. wait for the socket, the sink's descriptor, the sockets of the schema
 *      registry's and the catalog's pending requests (a catalog connection
 *      being opened again included), or the next timer: the only place
 *      pgcdc waits while it streams.
 *
 * Nothing below the loop waits. When the sink cannot take an event now
 * (-EAGAIN: its window is full, a topic is being created), or an answer is
 * not in yet (-EINPROGRESS: the registry registers a schema, the catalog
 * looks up a primary key, a type or a relation's name for a Relation
 * message), the message that produced it is held: the loop stops reading
 * the replication stream, keeps serving reports and sending status updates,
 * and tries the message again once what it waits for may be there. A
 * message may make several events (a key change is a delete, a tombstone
 * and a create); the retry drops the ones already produced, so each is
 * produced once. The catalog keeps its answers for the held message until
 * it is handled, so each retry asks only the next question.
 *
 * The stored position is written before the server is told, so the file is
 * never behind the slot. Transactions whose commit LSN lies below the stored
 * position are dropped as already delivered (the server may resend them after
 * a crash, as confirmed_flush is not persisted on every update). The position
 * also records how many leading events of the oldest transaction in flight
 * are delivered (tracker.h): after a stop in the middle of a large
 * transaction, the restart drops exactly those and sends the rest.
 *
 * A lost connection is retried with exponential backoff, a timer of the
 * loop: meanwhile the sink is served, so delivery reports keep moving the
 * tracker and the stored position. Once everything produced is delivered
 * and the backoff is over, a fresh tracker starts from the safe LSN and the
 * delivered part of an interrupted transaction, which the server sends
 * again whole.
 *
 * A snapshot's rows come through the same loop: snapshot_run.c holds that
 * wiring (pipeline_internal.h is the state both share).
 *
 * What still waits outside the loop happens before streaming, bounded and
 * ended by a stop request: connecting (database.connect.timeout.ms; also
 * each attempt to reconnect, during which the sink is not served), and
 * the catalog's start-up queries (the slot claim, the table lists; bounded
 * by the same timeout). The start-up commands on the replication connection
 * itself (IDENTIFY_SYSTEM, the publication's DDL, CREATE_REPLICATION_SLOT)
 * wait for the server's answer as long as it takes, which may be long (a
 * lock on a table, running transactions), but not past a stop request.
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
#include "pgcdc/catalog.h"
#include "pgcdc/change.h"
#include "pgcdc/config.h"
#include "pgcdc/encoder.h"
#include "pgcdc/error.h"
#include "pgcdc/filter.h"
#include "pgcdc/httpd.h"
#include "pgcdc/kafka_sink.h"
#include "pgcdc/log.h"
#include "pgcdc/lsn.h"
#include "pgcdc/metrics.h"
#include "pgcdc/pgoutput.h"
#include "pgcdc/publication.h"
#include "pgcdc/registry.h"
#include "pgcdc/relcache.h"
#include "pgcdc/session.h"
#include "pgcdc/sink.h"
#include "pgcdc/snapshot.h"
#include "pgcdc/stdout_sink.h"
#include "pgcdc/store.h"
#include "pgcdc/stream.h"
#include "pgcdc/tracker.h"
#include "pgcdc/txmeta.h"
#include "pgcdc_config.h"
#include "pipeline_internal.h"

/* How long the first start waits for a slot held by another session before
 * giving up, and how often it looks again meanwhile. */
#define FIRST_BUSY_WAIT_MS 5000
#define BUSY_RETRY_MS 500

/* How long shutdown waits for the sink to deliver what it holds, at most. */
#define SHUTDOWN_FLUSH_MS 30000

/* Shutdown stops waiting for deliveries that make no progress for this long:
 * a stop is honoured within about a second even with the broker down (what
 * is not delivered is not confirmed, and is sent again after the restart). */
#define SHUTDOWN_STALL_MS 1000

/* The longest single wait: a stop signal that lands just before the wait
 * begins is still seen this soon. */
#define WAIT_MAX_MS 250

/* Sockets of the schema registry's pending request the loop polls, at most. */
#define WAIT_REGISTRY_FDS 4

/* The catalog connection's socket while a lookup waits for its answer. */
#define WAIT_CATALOG_FDS 1

/* The metrics endpoint's descriptor. */
#define WAIT_HTTPD_FDS 1

/* The longest the HTTP server goes unserved while the stream keeps the
 * loop busy. */
#define HTTPD_BUSY_MS 100

/* How often the slot's row is read for the metrics. */
#define SLOT_STATS_MS 10000

/* /readyz says stuck once the confirmed position has not moved for this
 * many status intervals while the server has WAL beyond it. */
#define READY_STALL_INTERVALS 30

/* The snapshot's connections (snapshot.max.threads at most). */
#define WAIT_SNAPSHOT_FDS 64

/* The sink's delivery report. A report the tracker refuses means its count
 * of what is in flight is wrong: from then on no position can be trusted, so
 * the loop stops and nothing further is persisted or confirmed. */
static void on_delivery(void *arg, uint64_t txn, int err, const char *errstr)
{
    struct pgcdc_pipeline *p = arg;
    int rc;

    if (p->tracker == NULL || p->broken)
        return;
    /* A record the broker refuses as too large is left out like one the
     * producer refuses, when the configuration says so. */
    if (err == -EMSGSIZE && p->cfg->failure_mode != PGCDC_CONFIG_FAILURE_FAIL) {
        p->failed_events++;
        if (p->cfg->failure_mode == PGCDC_CONFIG_FAILURE_WARN)
            pgcdc_log_warn("event left out (%" PRIu64 " so far): %s", p->failed_events,
                           errstr ? errstr : strerror(-err));
        err = 0;
    }
    /* A snapshot row: count it for its chunk. */
    if (err == 0) {
        pgcdc_snaprun_delivered(p, txn);
        pgcdc_incrun_delivered(p, txn);
    }
    if (err == 0)
        pgcdc_metrics_acked(&p->metrics, txn, pgcdc_wall_us());
    else
        p->metrics.delivery_errors++;
    rc = err == 0 ? pgcdc_tracker_acked(p->tracker, txn) : pgcdc_tracker_failed(p->tracker, txn);
    if (rc < 0) {
        p->broken = true;
        snprintf(p->broken_err, sizeof(p->broken_err),
                 "the sink reported a delivery the checkpoint tracker did not expect "
                 "(transaction handle %" PRIu64 ": %s); stopping without confirming anything "
                 "further",
                 txn, strerror(-rc));
        return;
    }
    if (err == 0)
        return;
    if (!p->delivery_failed) {
        p->delivery_failed = true;
        snprintf(p->delivery_err, sizeof(p->delivery_err), "an event was not delivered: %s",
                 errstr ? errstr : strerror(-err));
    }
}

/* The Kafka sink's options from the configuration. opts->props is
 * allocated: free it. */
static int kafka_opts(const struct pgcdc_config *cfg, struct pgcdc_kafka_opts *opts /* OUT */,
                      char *err, size_t errlen)
{
    const char **props = calloc(cfg->kafka_count * 2 + 1, sizeof(*props));

    memset(opts, 0, sizeof(*opts));
    if (props == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->kafka_count; i++) {
        props[2 * i] = cfg->kafka[i].name;
        props[2 * i + 1] = cfg->kafka[i].value;
    }
    opts->props = props;
    opts->nprops = cfg->kafka_count;
    opts->topic_partitions = cfg->topic_partitions;
    opts->topic_replication = cfg->topic_replication_factor;
    opts->topic_cleanup_policy =
        cfg->topic_cleanup == PGCDC_CONFIG_CLEANUP_COMPACT ? "compact" : "delete";
    opts->max_in_flight = (size_t)cfg->max_queue_size;
    return 0;
}

int pgcdc_pipeline_check_kafka(const struct pgcdc_config *cfg, char *err, size_t errlen)
{
    struct pgcdc_kafka_opts opts;
    int rc;

    if (cfg->kafka_count == 0)
        return 0;
    rc = kafka_opts(cfg, &opts, err, errlen);
    if (rc < 0)
        return rc;
    rc = pgcdc_kafka_sink_check_conf(&opts, err, errlen);
    free((void *)opts.props);
    return rc;
}

int pgcdc_pipeline_probe_kafka(const struct pgcdc_config *cfg, int timeout_ms, char *info,
                               size_t infolen, char *err, size_t errlen)
{
    struct pgcdc_kafka_opts opts;
    int rc = kafka_opts(cfg, &opts, err, errlen);

    if (rc < 0)
        return rc;
    rc = pgcdc_kafka_sink_probe(&opts, timeout_ms, info, infolen, err, errlen);
    free((void *)opts.props);
    return rc;
}

static int make_sink(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    const struct pgcdc_config *cfg = p->cfg;
    struct pgcdc_kafka_opts opts;
    int rc;

    if (cfg->sink == PGCDC_CONFIG_SINK_STDOUT)
        return pgcdc_stdout_sink_new(&p->sink, STDOUT_FILENO, (size_t)cfg->max_queue_size,
                                     on_delivery, p, err, errlen);
    rc = kafka_opts(cfg, &opts, err, errlen);
    if (rc < 0)
        return rc;
    rc = pgcdc_kafka_sink_new(&p->sink, &opts, on_delivery, p, err, errlen);
    free((void *)opts.props);
    return rc;
}

static void on_registry_retry(void *arg, const char *subject, unsigned attempt, unsigned wait_ms,
                              const char *error)
{
    struct pgcdc_pipeline *p = arg;

    p->metrics.registry_errors++;
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
        .retry =
            {
                .initial_ms = (unsigned)cfg->reconnect_backoff_initial_ms,
                .max_ms = (unsigned)cfg->reconnect_backoff_max_ms,
                .on_retry = on_registry_retry,
                .arg = p,
            },
    };
    struct pgcdc_avro_encoder_opts aopts = {
        .topic_prefix = cfg->topic_prefix,
        .placeholder = cfg->unavailable_value_placeholder,
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

/* Why the pipeline is not ready (/readyz), or NULL when it is: it must
 * stream (or read a snapshot) and not be stuck, that is, the server must
 * not have WAL beyond the confirmed position while that position has not
 * moved for READY_STALL_INTERVALS status intervals. */
static const char *not_ready(struct pgcdc_pipeline *p, char *why, size_t whylen)
{
    int64_t stall = (int64_t)READY_STALL_INTERVALS * p->cfg->status_interval_ms * 1000;
    int64_t stalled;

    if (p->broken || p->delivery_failed)
        return "failed: stopping";
    if (p->snap)
        return NULL;
    if (p->stream == NULL || p->reconnecting)
        return "not connected to the server";
    stalled = pgcdc_metrics_stalled_us(&p->metrics, p->confirmed, p->server_sent, pgcdc_mono_us());
    if (stalled < stall)
        return NULL;
    {
        char a[PGCDC_LSN_BUFLEN], b[PGCDC_LSN_BUFLEN];

        snprintf(why, whylen,
                 "stuck: the confirmed position %s has not moved for %" PRId64
                 " s while the server is at %s",
                 pgcdc_lsn_format(p->confirmed, a), stalled / 1000000,
                 pgcdc_lsn_format(p->server_sent, b));
    }
    return why;
}

/* The HTTP endpoint: /metrics, /healthz (the loop answers), /readyz. */
static unsigned serve_http(void *arg, const char *path, struct pgcdc_buf *body,
                           const char **content_type)
{
    struct pgcdc_pipeline *p = arg;
    char why[256];
    const char *reason = not_ready(p, why, sizeof(why));

    if (strcmp(path, "/metrics") == 0) {
        struct pgcdc_metrics_view v = {
            .version = PGCDC_VERSION,
            .slot = p->cfg->slot_name,
            .sink = p->cfg->sink == PGCDC_CONFIG_SINK_KAFKA ? "kafka" : "stdout",
            .connected = p->stream != NULL,
            .ready = reason == NULL,
            .stored = p->persisted,
            .confirmed = p->confirmed,
            .server = p->server_sent,
            .events = p->events,
            .in_flight = pgcdc_sink_in_flight(p->sink),
            .window = (size_t)p->cfg->max_queue_size,
            .registry_requests = p->registry ? pgcdc_registry_requests(p->registry) : 0,
            .rels = p->rels,
            .snap = p->snap,
        };

        *content_type = "text/plain; version=0.0.4; charset=utf-8";
        return pgcdc_metrics_render(&p->metrics, &v, body) < 0 ? 500 : 200;
    }
    if (strcmp(path, "/healthz") == 0)
        return pgcdc_buf_appendf(body, "ok\n") < 0 ? 500 : 200;
    if (strcmp(path, "/readyz") == 0) {
        if (pgcdc_buf_appendf(body, "%s\n", reason ? reason : "ready") < 0)
            return 500;
        return reason ? 503 : 200;
    }
    return pgcdc_buf_appendf(body, "not found: try /metrics, /healthz or /readyz\n") < 0 ? 500
                                                                                         : 404;
}

/* Lets the HTTP server answer when its descriptor is readable or its timer
 * is due, and at least every HTTPD_BUSY_MS while a busy stream keeps the
 * loop from waiting (a pass that read READ_BATCH messages does not poll). */
static void serve_http_now(struct pgcdc_pipeline *p)
{
    int64_t now;

    if (p->httpd == NULL)
        return;
    now = pgcdc_mono_us();
    if (!p->httpd_due && now - p->httpd_run_us < (int64_t)HTTPD_BUSY_MS * 1000)
        return;
    p->httpd_due = false;
    p->httpd_run_us = now;
    pgcdc_httpd_perform(p->httpd);
}

/* Reads the slot's row for /metrics every SLOT_STATS_MS over the catalog
 * connection, without waiting: the loop polls its socket meanwhile. */
static void read_slot_stats(struct pgcdc_pipeline *p)
{
    int64_t now;

    if (p->httpd == NULL)
        return;
    if (pgcdc_catalog_slot_stats(p->catalog, &p->metrics.slot))
        p->metrics.slot_read_us = pgcdc_wall_us();
    now = pgcdc_mono_us();
    if (p->stream == NULL || p->held || now < p->slot_stats_us)
        return;
    if (pgcdc_catalog_ask_slot_stats(p->catalog, p->cfg->slot_name) == 0)
        p->slot_stats_us = now + (int64_t)SLOT_STATS_MS * 1000;
}

/* The change model's view of the relation cache. */
static const struct pgcdc_rel *lookup_rel(void *arg, uint32_t relid)
{
    return pgcdc_relcache_get(arg, relid);
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
    n = strlen(cfg->offset_file) + sizeof(".snapshot");
    p->progress_path = malloc(n);
    if (p->progress_path == NULL)
        goto nomem;
    snprintf(p->progress_path, n, "%s.snapshot", cfg->offset_file);
    if (cfg->provide_txn_metadata) {
        n = strlen(cfg->topic_prefix) + strlen(cfg->topic_delimiter) +
            strlen(cfg->topic_transaction) + 1;
        p->txn_topic = malloc(n);
        if (p->txn_topic == NULL || pgcdc_txmeta_new(&p->txmeta) < 0)
            goto nomem;
        snprintf(p->txn_topic, n, "%s%s%s", cfg->topic_prefix, cfg->topic_delimiter,
                 cfg->topic_transaction);
    }

    rc = make_encoder(p, err, errlen);
    if (rc < 0)
        goto error;
    rc = pgcdc_relcache_new(&p->rels, cfg, err, errlen);
    if (rc < 0)
        goto error;
    rc = pgcdc_change_batch_new(&p->batch, cfg->tombstones_on_delete, lookup_rel, p->rels, err,
                                errlen);
    if (rc < 0)
        goto error;
    rc = pgcdc_catalog_new(&p->catalog, cfg->database_dsn, cfg->connect_timeout_ms, stop, err,
                           errlen);
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
    pgcdc_metrics_init(&p->metrics);
    p->httpd_slot = -1;
    if (cfg->metrics_listen[0]) {
        rc = pgcdc_httpd_new(&p->httpd, cfg->metrics_listen, serve_http, p, err, errlen);
        if (rc < 0)
            goto error;
        pgcdc_log_info("serving /metrics, /healthz and /readyz on %s", cfg->metrics_listen);
    }
    rc = pgcdc_incrun_new(p, err, errlen);
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

/* Hands one encoded event to the sink. Drops it when it is one of the
 * current transaction's events that were delivered before (a stored partial
 * transaction, or an earlier attempt at a held message). -EAGAIN when the
 * sink cannot take it now: nothing was queued, the caller holds the message. */
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

    if (p->txn_events < p->skip_below) {
        p->txn_events++;
        return 0;
    }
    /* Counted first, so that no report can come for an uncounted event. */
    rc = pgcdc_tracker_produced(p->tracker, p->txn);
    if (rc < 0) {
        snprintf(err, errlen, "checkpoint tracker refused an event for topic '%s': %s", topic,
                 strerror(-rc));
        return rc;
    }
    rc = pgcdc_sink_produce(p->sink, &m, err, errlen);
    if (rc < 0) {
        /* Refused: nothing was queued, so no report will come for it. */
        pgcdc_tracker_unproduced(p->tracker, p->txn);
        return rc;
    }
    p->txn_events++;
    p->events++;
    return 0;
}

/* Where the current transaction (or unit) starts: its events count from 0,
 * and those delivered before the start are dropped. */
static void txn_started(struct pgcdc_pipeline *p)
{
    p->txn_events = 0;
    p->skip_below = pgcdc_tracker_skip(p->tracker, p->txn);
    if (p->skip_below > 0) {
        char a[PGCDC_LSN_BUFLEN];
        pgcdc_lsn lsn = 0;
        uint64_t n = 0;

        pgcdc_tracker_partial(p->tracker, &lsn, &n);
        pgcdc_log_info("transaction committing at %s: its first %" PRIu64
                       " event(s) were delivered before the stop and are not sent again",
                       pgcdc_lsn_format(lsn, a), p->skip_below);
    }
}

/* Produces a BEGIN (end false) or END record of the current transaction
 * on the transaction topic: an event of the transaction like its changes,
 * so the tracker counts it and a crash can neither lose nor repeat it. */
static int emit_txn_record(struct pgcdc_pipeline *p, bool end, pgcdc_lsn lsn, char *err,
                           size_t errlen)
{
    struct pgcdc_txn_record r;
    int rc;

    if (end)
        rc = pgcdc_txmeta_end_record(p->txmeta, lsn, &r);
    else
        pgcdc_txmeta_begin_record(p->txmeta, &r), rc = 0;
    if (rc < 0) {
        snprintf(err, errlen, "out of memory counting a transaction's events");
        return rc;
    }
    rc = pgcdc_encoder_txn(p->enc, p->txn_topic, &r, &p->key, &p->value, err, errlen);
    if (rc < 0)
        return rc;
    return produce(p, p->txn_topic, true, false, err, errlen);
}

/* The transaction's BEGIN record, before its first event. It is always
 * event 0: a retried message produces it again, and it is dropped as
 * delivered like any other event. */
static int emit_begin_once(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    if (!p->txmeta_open || p->txn_events != 0)
        return 0;
    return emit_txn_record(p, false, 0, err, errlen);
}

/* Sets the source block's transaction block for a table's data event
 * (not a tombstone, not a logical message). */
static int count_event(struct pgcdc_pipeline *p, const struct pgcdc_rel *rel, char *err,
                       size_t errlen)
{
    int rc;

    p->src.txn = NULL;
    if (!p->txmeta_open || rel == NULL)
        return 0;
    rc = pgcdc_txmeta_event(p->txmeta, rel->nspname, rel->relname, p->src.lsn, p->txn_events,
                            &p->block);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory counting a transaction's events");
        return rc;
    }
    p->src.txn = &p->block;
    return 0;
}

/* An event that cannot be represented: a value the mapping refuses, a
 * record larger than the sink accepts. */
static bool unrepresentable(int rc)
{
    return rc == -ERANGE || rc == -ENOTSUP || rc == -EINVAL || rc == -EMSGSIZE;
}

/* "col=value,..." of a change's key, as text, cut to fit. */
static void key_text(const struct pgcdc_change *ch, char *out, size_t outlen)
{
    const struct pgcdc_rel *rel = pgcdc_change_rel(ch);
    uint16_t n = 0;
    const struct pgcdc_value *row = rel ? pgcdc_change_key(ch, &n) : NULL;
    size_t used = 0;

    snprintf(out, outlen, "(none)");
    for (uint16_t i = 0; row && i < n && i < rel->ncols && used + 1 < outlen; i++) {
        const struct pgcdc_value *v = &row[i];
        int w;

        if (!rel->cols[i].key)
            continue;
        if (v->kind == PGCDC_VALUE_TEXT)
            w = snprintf(out + used, outlen - used, "%s%s=%.*s", used ? "," : "",
                         rel->cols[i].name, (int)(v->len > 64 ? 64 : v->len), v->data);
        else
            w = snprintf(out + used, outlen - used, "%s%s=%s", used ? "," : "", rel->cols[i].name,
                         v->kind == PGCDC_VALUE_NULL ? "null" : "?");
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/* event.processing.failure.handling.mode: returns rc to stop (fail, or an
 * error that is not about the event), or 0 once the event is logged,
 * counted and left out. */
static int event_failed(struct pgcdc_pipeline *p, const struct pgcdc_change *ch, int rc,
                        char *err, size_t errlen)
{
    const struct pgcdc_rel *rel = pgcdc_change_rel(ch);
    char key[256], at[PGCDC_LSN_BUFLEN];

    if (!unrepresentable(rc))
        return rc;
    key_text(ch, key, sizeof(key));
    if (p->cfg->failure_mode == PGCDC_CONFIG_FAILURE_FAIL) {
        char cause[512];

        snprintf(cause, sizeof(cause), "%s", err);
        snprintf(err, errlen,
                 "%s (table '%s.%s', key %s, lsn %s; event.processing.failure.handling.mode = "
                 "warn or skip would leave the event out)",
                 cause, rel ? rel->nspname : "", rel ? rel->relname : "", key,
                 pgcdc_lsn_format(p->src.lsn, at));
        return rc;
    }
    p->failed_events++;
    if (p->txmeta_open)
        pgcdc_txmeta_forget(p->txmeta, p->txn_events);
    if (p->cfg->failure_mode == PGCDC_CONFIG_FAILURE_WARN)
        pgcdc_log_warn("event left out (%" PRIu64 " so far): table '%s.%s', key %s, lsn %s: %s",
                       p->failed_events, rel ? rel->nspname : "", rel ? rel->relname : "", key,
                       pgcdc_lsn_format(p->src.lsn, at), err);
    else
        pgcdc_log_debug("event skipped: table '%s.%s', key %s, lsn %s: %s",
                        rel ? rel->nspname : "", rel ? rel->relname : "", key,
                        pgcdc_lsn_format(p->src.lsn, at), err);
    return 0;
}

/* Counts a produced event for /metrics: by table and operation, bytes. */
static void count_metrics(struct pgcdc_pipeline *p, const struct pgcdc_rel *rel,
                          const struct pgcdc_change *ch, bool has_key)
{
    int op;

    p->metrics.bytes += p->value.len + (has_key ? p->key.len : 0);
    p->metrics.last_event_us = p->src.commit_time_us;
    if (rel == NULL || rel->counts == NULL)
        return;
    op = pgcdc_rel_op_index(pgcdc_change_op(ch));
    if (op >= 0)
        rel->counts->events[op]++;
}

/* Encodes and produces the events of one source record, in order; a
 * tombstone repeats the key of the event before it. */
int pgcdc_pipeline_emit(struct pgcdc_pipeline *p, const struct pgcdc_change_event *ev, int n,
                        char *err, size_t errlen)
{
    uint64_t before;
    int krc = 1, rc;

    rc = emit_begin_once(p, err, errlen);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++) {
        const struct pgcdc_rel *rel = pgcdc_change_rel(ev[i].change);
        const char *topic = rel ? rel->topic : p->message_topic;

        if (ev[i].tombstone) {
            if (krc == 0) {
                rc = produce(p, topic, true, true, err, errlen);
                if (rc < 0)
                    return rc;
            }
            continue;
        }
        rc = count_event(p, rel, err, errlen);
        if (rc < 0)
            return rc;
        krc = pgcdc_encoder_key(p->enc, ev[i].change, &p->key, err, errlen);
        rc = krc < 0 ? krc : pgcdc_encoder_value(p->enc, ev[i].change, &p->value, err, errlen);
        before = p->events;
        if (rc == 0)
            rc = produce(p, topic, krc == 0, false, err, errlen);
        if (rc < 0) {
            rc = event_failed(p, ev[i].change, rc, err, errlen);
            if (rc < 0)
                return rc;
            krc = 1; /* no tombstone for an event left out */
        }
        if (p->events != before)
            count_metrics(p, rel, ev[i].change, krc == 0);
    }
    return 0;
}

/* skipped.operations names the operation of the current message. */
static bool op_skipped(const struct pgcdc_pipeline *p)
{
    switch (p->msg->type) {
    case PGCDC_MSG_INSERT:
        return pgcdc_config_op_skipped(p->cfg, 'c');
    case PGCDC_MSG_UPDATE:
        return pgcdc_config_op_skipped(p->cfg, 'u');
    case PGCDC_MSG_DELETE:
        return pgcdc_config_op_skipped(p->cfg, 'd');
    case PGCDC_MSG_TRUNCATE:
        return pgcdc_config_op_skipped(p->cfg, 't');
    default:
        return false;
    }
}

/* Insert, Update, Delete or Truncate: the change model maps it. */
static int handle_change(struct pgcdc_pipeline *p, pgcdc_lsn lsn, char *err, size_t errlen)
{
    const struct pgcdc_change_event *ev;
    int n;

    /* An incremental snapshot's window learns of the change first. */
    pgcdc_incrun_change(p, p->msg, p->src.xid);
    if (p->skip_txn || op_skipped(p))
        return 0;
    p->src.lsn = lsn;
    pgcdc_change_batch_at(p->batch, p->txn_events);
    n = pgcdc_change_batch_pgoutput(p->batch, p->msg, &p->src, pgcdc_wall_us(), &ev,
                                    err, errlen);
    /* Counted once, not again when a held message is retried. */
    if (n >= 0 && !p->held)
        pgcdc_relcache_count_filtered(p->rels, p->msg);
    if (n <= 0)
        return n;
    if (!p->in_txn) {
        snprintf(err, errlen, "protocol error: a change outside a transaction");
        return -EPROTO;
    }
    return pgcdc_pipeline_emit(p, ev, n, err, errlen);
}

static int handle_message(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    const struct pgcdc_msg *m = p->msg;
    const struct pgcdc_change_event *ev;
    bool transactional = m->u.message.flags & 1;
    int n, rc;

    rc = pgcdc_filter_message(p->cfg, m->u.message.prefix, err, errlen);
    if (rc <= 0)
        return rc;

    /* Inside a transaction's output a message belongs to it whatever its
     * flag (the server sends non-transactional ones between transactions). */
    if (transactional || p->in_txn) {
        if (p->skip_txn)
            return 0;
        p->src.lsn = m->u.message.lsn;
        pgcdc_change_batch_at(p->batch, p->txn_events);
        n = pgcdc_change_batch_pgoutput(p->batch, p->msg, &p->src, pgcdc_wall_us(), &ev,
                                    err, errlen);
        return n < 0 ? n : pgcdc_pipeline_emit(p, ev, n, err, errlen);
    }
    /* A non-transactional message is its own unit, positioned at its LSN. */
    if (pgcdc_tracker_should_skip(p->tracker, m->u.message.lsn))
        return 0;
    /* Begun already when this is a retry of a held message. */
    if (p->txn == PGCDC_TRACKER_NO_TXN) {
        rc = pgcdc_tracker_begin(p->tracker, m->u.message.lsn, &p->txn);
        if (rc < 0)
            goto tracker_error;
        txn_started(p);
    }
    p->src.lsn = m->u.message.lsn;
    p->src.xid = 0;
    p->src.commit_time_us = pgcdc_wall_us();
    pgcdc_change_batch_at(p->batch, p->txn_events);
    n = pgcdc_change_batch_pgoutput(p->batch, p->msg, &p->src, pgcdc_wall_us(), &ev,
                                    err, errlen);
    rc = n < 0 ? n : pgcdc_pipeline_emit(p, ev, n, err, errlen);
    if (rc < 0)
        return rc;
    rc = pgcdc_tracker_commit(p->tracker, p->txn, m->u.message.lsn);
    if (rc < 0)
        goto tracker_error;
    p->txn = PGCDC_TRACKER_NO_TXN;
    return 0;
tracker_error:
    snprintf(err, errlen, "checkpoint tracker refused a logical message at %" PRIX64 ": %s",
             m->u.message.lsn, strerror(-rc));
    return rc;
}

/* A table's (new) shape, with the table and topic as structured fields. */
void pgcdc_pipeline_log_relation(const struct pgcdc_rel *rel)
{
    char table[256];

    if (!pgcdc_log_enabled(PGCDC_LOG_INFO))
        return;
    snprintf(table, sizeof(table), "%s.%s", rel->nspname, rel->relname);
    pgcdc_log_fields(PGCDC_LOG_INFO, PGCDC_LOG_FIELDS({"table", table}, {"topic", rel->topic}),
                     "table '%s' (version %u): %u column(s) -> topic '%s'", table, rel->version,
                     rel->ncols, rel->topic);
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
        p->skip_txn = pgcdc_tracker_should_skip(p->tracker, m->u.begin.final_lsn) ||
                      (p->filter_seen && pgcdc_snapshot_xid_visible(&p->seen, m->xid));
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
        pgcdc_metrics_txn_begin(&p->metrics, p->txn, p->src.commit_time_us);
        txn_started(p);
        if (p->txmeta) {
            pgcdc_txmeta_begin(p->txmeta, m->xid, f->start, p->src.commit_time_us);
            p->txmeta_open = true;
        }
        return 0;
    case PGCDC_MSG_COMMIT:
        if (!p->in_txn) {
            snprintf(err, errlen, "protocol error: Commit outside a transaction");
            return -EPROTO;
        }
        if (p->txmeta_open) {
            /* Before anything changes, so that a held Commit is retried whole. */
            rc = emit_begin_once(p, err, errlen);
            if (rc == 0)
                rc = emit_txn_record(p, true, f->start, err, errlen);
            if (rc < 0)
                return rc;
            p->txmeta_open = false;
        }
        p->in_txn = false;
        pgcdc_incrun_committed(p, p->src.xid);
        pgcdc_incrun_stream_at(p, m->u.commit.end_lsn);
        if (m->u.commit.end_lsn > p->received)
            p->received = m->u.commit.end_lsn;
        if (m->u.commit.end_lsn > p->server_sent)
            p->server_sent = m->u.commit.end_lsn;
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
        p->metrics.transactions++;
        return 0;
    case PGCDC_MSG_RELATION:
        rc = pgcdc_relcache_apply(p->rels, m, &rel, &changed, err, errlen);
        if (rc == 0 && changed && rel->included)
            pgcdc_pipeline_log_relation(rel);
        return rc;
    case PGCDC_MSG_TYPE:
        return pgcdc_relcache_apply_type(p->rels, m, err, errlen);
    case PGCDC_MSG_INSERT:
    case PGCDC_MSG_UPDATE:
    case PGCDC_MSG_DELETE:
    case PGCDC_MSG_TRUNCATE:
        return handle_change(p, f->start, err, errlen);
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

/* Handles one XLogData; when the sink (or the schema registry) cannot go on
 * now, holds it to be tried again by the loop: the events it already
 * produced are dropped on the next attempt. */
static int handle_or_hold(struct pgcdc_pipeline *p, const struct pgcdc_frame *f, char *err,
                          size_t errlen)
{
    uint64_t first = p->txn_events;
    int rc = handle_xlogdata(p, f, err, errlen);

    if (rc != -EAGAIN && rc != -EINPROGRESS) {
        p->held = false;
        pgcdc_catalog_done(p->catalog);
        return rc;
    }
    if (p->txn_events > p->skip_below)
        p->skip_below = p->txn_events;
    p->txn_events = first;
    if (!p->held) {
        p->held = true;
        p->held_frame = *f;
    }
    p->held_retry_us = pgcdc_mono_us() + HOLD_RETRY_MS * 1000;
    return 0;
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
    if (f.wal_end > p->server_sent)
        p->server_sent = f.wal_end;
    if (f.kind == PGCDC_FRAME_KEEPALIVE) {
        if (f.reply_requested)
            p->reply_requested = true;
        /* A walEnd inside an open transaction is never used (tracker.h). */
        if (!p->in_txn) {
            pgcdc_tracker_keepalive(p->tracker, f.wal_end);
            pgcdc_incrun_stream_at(p, f.wal_end);
        }
        return 0;
    }
    return handle_or_hold(p, &f, err, errlen);
}

/* Persists the safe LSN when it moved, then confirms it to the server. */
static int send_status(struct pgcdc_pipeline *p, bool force, char *err, size_t errlen)
{
    int64_t now = pgcdc_mono_us();
    struct pgcdc_position pos = {.end_lsn = pgcdc_tracker_safe_lsn(p->tracker)};
    bool due = now - p->last_status_us >= (int64_t)p->cfg->status_interval_ms * 1000;
    pgcdc_lsn flush, write;
    int rc;

    /* While a snapshot is read there is no position to record: it is
     * recorded once the whole snapshot is delivered. */
    if (p->broken || p->snap)
        return 0;
    pgcdc_tracker_partial(p->tracker, &pos.partial_commit_lsn, &pos.partial_events);
    if ((pos.end_lsn > p->persisted || pos.partial_commit_lsn != p->persisted_partial ||
         pos.partial_events != p->persisted_partial_n) &&
        (force || now - p->last_persist_us >= (int64_t)p->cfg->offset_flush_interval_ms * 1000)) {
        pos.timeline = p->timeline;
        memcpy(pos.system_id, p->system_id, sizeof(pos.system_id));
        rc = pgcdc_store_save(p->store, &pos, err, errlen);
        if (rc < 0)
            return rc;
        p->persisted = pos.end_lsn;
        p->persisted_partial = pos.partial_commit_lsn;
        p->persisted_partial_n = pos.partial_events;
        p->last_persist_us = now;
    }
    if (p->stream == NULL || !(force || due || p->reply_requested))
        return 0;
    /* Never confirm a position the server has not sent in this session: a
     * stored position from elsewhere (a restore, a replica behind) would
     * otherwise move the slot past WAL that was never read. */
    flush = p->persisted < p->server_sent ? p->persisted : p->server_sent;
    write = p->received > flush ? p->received : flush;
    if (write > p->server_sent)
        write = p->server_sent;
    rc = pgcdc_stream_send_status(p->stream, write, flush, false, err, errlen);
    if (rc < 0)
        return rc;
    if (flush != p->confirmed) {
        char a[PGCDC_LSN_BUFLEN];

        pgcdc_log_debug("confirmed %s", pgcdc_lsn_format(flush, a));
    }
    p->confirmed = flush;
    p->last_status_us = now;
    p->reply_requested = false;
    return 0;
}

/* Records the position as lsn (chosen by offset.mismatch.strategy) with the
 * server's identity, at once. A new lsn also means a fresh tracker from
 * there and no partial transaction; the same lsn keeps the stored partial
 * transaction. */
int pgcdc_pipeline_adopt_position(struct pgcdc_pipeline *p, pgcdc_lsn lsn, char *err,
                                  size_t errlen)
{
    struct pgcdc_position pos = {.end_lsn = lsn, .timeline = p->timeline};
    bool same = lsn == p->persisted;
    int rc;

    if (same) {
        pos.partial_commit_lsn = p->persisted_partial;
        pos.partial_events = p->persisted_partial_n;
    }
    memcpy(pos.system_id, p->system_id, sizeof(pos.system_id));
    rc = pgcdc_store_save(p->store, &pos, err, errlen);
    if (rc < 0 || same)
        return rc;
    pgcdc_tracker_free(p->tracker);
    p->tracker = NULL;
    p->persisted = lsn;
    p->persisted_partial = 0;
    p->persisted_partial_n = 0;
    return pgcdc_tracker_new(&p->tracker, lsn, 0, err, errlen);
}

/* The filters, for the publication's table and column lists: a table is
 * wanted when captured, a column when included or part of a key that
 * message.key.columns names. */
static int table_filter(void *arg, const char *schema, const char *table, const char *column,
                        char *err, size_t errlen)
{
    const struct pgcdc_pipeline *p = arg;
    int in;

    if (column == NULL)
        return pgcdc_filter_table(p->cfg, schema, table, err, errlen);
    in = pgcdc_filter_column(p->cfg, schema, table, column, err, errlen);
    if (in == 0)
        in = pgcdc_filter_key_column(p->cfg, schema, table, column, err, errlen);
    return in;
}

/* Starts streaming on p->stream from the position. */
int pgcdc_pipeline_start_streaming(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    const struct pgcdc_config *cfg = p->cfg;
    char a[PGCDC_LSN_BUFLEN];
    int rc;

    rc = pgcdc_stream_start(p->stream, cfg->slot_name, cfg->publication_name, p->persisted,
                            cfg->slot_stream_params, err, errlen);
    if (rc < 0)
        return rc;
    pgcdc_log_with(PGCDC_LOG_INFO,
                   PGCDC_LOG_FIELDS({"slot", cfg->slot_name},
                                    {"lsn", pgcdc_lsn_format(p->persisted, a)}),
                   "streaming from slot '%s', publication '%s', position %s", cfg->slot_name,
                   cfg->publication_name, pgcdc_lsn_format(p->persisted, a));
    p->server_sent = 0;
    p->last_status_us = pgcdc_mono_us();
    pgcdc_catalog_set_nonblocking(p->catalog, true);
    return 0;
}

/* Opens the replication session (session.h), records what it decided
 * about the position, and starts streaming, or, when snapshot.mode asks
 * for one on the first start, a snapshot. */
static int connect_and_start(struct pgcdc_pipeline *p, bool first, char *err, size_t errlen)
{
    const struct pgcdc_config *cfg = p->cfg;
    const struct pgcdc_server_info *info;
    enum pgcdc_config_snapshot mode = cfg->snapshot_mode;
    bool stored = p->persisted != 0;
    bool snap = first && !stored && mode != PGCDC_CONFIG_SNAPSHOT_NO_DATA &&
                mode != PGCDC_CONFIG_SNAPSHOT_NEVER;
    struct pgcdc_session_opts o = {
        .cfg = cfg,
        .catalog = p->catalog,
        .stop = p->stop,
        .first = first,
        .stored = p->persisted,
        .system_id = p->system_id,
        .timeline = p->timeline,
        .claim = pgcdc_relcache_claim_table,
        .claim_arg = p->rels,
        .filter = table_filter,
        .filter_arg = p,
    };
    struct pgcdc_session ses;
    int rc;

    p->snap_only = snap && mode == PGCDC_CONFIG_SNAPSHOT_INITIAL_ONLY;
    p->snap_keep = first && stored && mode == PGCDC_CONFIG_SNAPSHOT_ALWAYS;
    o.export_snapshot = snap && !p->snap_only;
    o.replace_slot = snap && !p->snap_only;
    o.no_slot = p->snap_only;
    /* always, like when_needed, starts afresh when the position is lost. */
    o.when_needed = first && stored &&
                    (mode == PGCDC_CONFIG_SNAPSHOT_WHEN_NEEDED ||
                     mode == PGCDC_CONFIG_SNAPSHOT_ALWAYS);
    /* Start-up queries wait for their answers (bounded, and not past a
     * stop); once streaming, lookups hand their waits to the loop. */
    pgcdc_catalog_set_nonblocking(p->catalog, false);
    rc = pgcdc_session_open(&ses, &o, err, errlen);
    p->stream = ses.stream;
    if (rc < 0)
        return rc;
    if (ses.resnapshot)
        p->snap_keep = false;
    info = pgcdc_stream_server(p->stream);
    snprintf(p->db, sizeof(p->db), "%s", info->dbname);
    if (strcmp(p->system_id, info->system_id) != 0 || p->timeline != info->timeline) {
        bool had = p->system_id[0] != '\0';

        snprintf(p->system_id, sizeof(p->system_id), "%s", info->system_id);
        p->timeline = info->timeline;
        /* Record the identity with the position at once when it changed
         * by choice, so the next start does not ask again. */
        if (had && !ses.adopt && !ses.resnapshot && p->persisted) {
            rc = pgcdc_pipeline_adopt_position(p, p->persisted, err, errlen);
            if (rc < 0)
                return rc;
        }
    }
    if (ses.adopt) {
        rc = pgcdc_pipeline_adopt_position(p, ses.adopt_lsn, err, errlen);
        if (rc < 0)
            return rc;
    }
    if (snap || ses.resnapshot || p->snap_keep) {
        struct pgcdc_stream *stream = p->stream;

        /* The exported snapshot lives until the replication connection's
         * next command: the snapshot's connections import it first. */
        p->stream = NULL;
        rc = pgcdc_snaprun_start(p, stream, ses.snapshot[0] ? ses.snapshot : NULL,
                            ses.slot_created ? ses.slot_lsn : 0, err, errlen);
        if (rc < 0)
            pgcdc_stream_free(&stream);
        return rc;
    }
    return pgcdc_pipeline_start_streaming(p, err, errlen);
}

/* Waits until the sink has reported every event produced. timeout_ms < 0:
 * as long as it takes, unless a stop is requested. Otherwise at most
 * timeout_ms, and no longer than SHUTDOWN_STALL_MS without a single report
 * (a broker that is down will not come back in time). A failed delivery is
 * an error. */
static int settle(struct pgcdc_pipeline *p, int timeout_ms, char *err, size_t errlen)
{
    int64_t start = pgcdc_mono_us(), progress = start;
    size_t left = pgcdc_sink_in_flight(p->sink);
    int rc;

    if (timeout_ms < 0) {
        /* No limit, but a stop request still ends the wait: what is not
         * delivered is simply not confirmed. */
        while ((rc = pgcdc_sink_flush(p->sink, 1000, err, errlen)) == -ETIMEDOUT && !*p->stop)
            ;
    } else {
        for (;;) {
            int64_t now;
            size_t n;

            rc = pgcdc_sink_flush(p->sink, 100, err, errlen);
            if (rc != -ETIMEDOUT)
                break;
            now = pgcdc_mono_us();
            n = pgcdc_sink_in_flight(p->sink);
            if (n < left) {
                left = n;
                progress = now;
            }
            if (now - start >= (int64_t)timeout_ms * 1000 ||
                now - progress >= (int64_t)SHUTDOWN_STALL_MS * 1000)
                break;
        }
    }
    if (p->broken) {
        snprintf(err, errlen, "%s", p->broken_err);
        return -EPROTO;
    }
    if (rc == 0 && p->delivery_failed) {
        snprintf(err, errlen, "%s", p->delivery_err);
        rc = -EIO;
    }
    return rc;
}

/* After settle(): a fresh tracker from the safe LSN. The server sends an
 * interrupted transaction again whole; the part of it already delivered is
 * handed to the new tracker, so it is dropped rather than sent twice. */
static int restart_tracker(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    pgcdc_lsn safe = pgcdc_tracker_safe_lsn(p->tracker);
    pgcdc_lsn partial = 0;
    uint64_t partial_n = 0;
    int rc;

    pgcdc_tracker_partial(p->tracker, &partial, &partial_n);
    pgcdc_tracker_free(p->tracker);
    p->tracker = NULL;
    p->in_txn = false;
    p->skip_txn = false;
    p->held = false;
    pgcdc_catalog_done(p->catalog);
    p->txn = PGCDC_TRACKER_NO_TXN;
    p->txn_events = 0;
    p->skip_below = 0;
    rc = pgcdc_tracker_new(&p->tracker, safe, 0, err, errlen);
    if (rc == 0)
        pgcdc_tracker_set_partial(p->tracker, partial, partial_n);
    return rc;
}

/* Milliseconds until the loop has something to do on a timer: the next
 * status update, the next store write when the position moved, the next try
 * of a held message, the next connection attempt; at most WAIT_MAX_MS. */
static int next_timeout_ms(struct pgcdc_pipeline *p, bool window_full)
{
    int64_t now = pgcdc_mono_us();
    int64_t cap = now + (int64_t)WAIT_MAX_MS * 1000;
    /* Without a connection there is no status to send. */
    int64_t wake = p->stream ? p->last_status_us + (int64_t)p->cfg->status_interval_ms * 1000
                             : cap;

    if (pgcdc_tracker_safe_lsn(p->tracker) > p->persisted) {
        int64_t t = p->last_persist_us + (int64_t)p->cfg->offset_flush_interval_ms * 1000;

        if (t < wake)
            wake = t;
    }
    /* A full window is left by a delivery report, which the sink's
     * descriptor announces; anything else is tried again on a timer. */
    if ((p->held || p->snap_held) && !window_full &&
        !(p->registry && pgcdc_registry_busy(p->registry)) &&
        !pgcdc_catalog_busy(p->catalog) && p->held_retry_us < wake)
        wake = p->held_retry_us;
    if (p->reconnecting && p->reconnect_us < wake)
        wake = p->reconnect_us;
    /* A sink without a descriptor is served on every pass. */
    if (pgcdc_sink_fd(p->sink) < 0 && pgcdc_sink_in_flight(p->sink) > 0)
        wake = now;
    if (p->reply_requested)
        wake = now;
    if (wake > cap)
        wake = cap;
    return wake <= now ? 0 : (int)((wake - now + 999) / 1000);
}

/* Serves the delivery reports that are in; a report that lost an event or
 * that the tracker refused is an error. */
static int serve_reports(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    int rc = pgcdc_sink_poll(p->sink, 0, err, errlen);

    if (rc < 0)
        return rc == -ECONNRESET ? -EIO : rc;
    if (p->broken) {
        snprintf(err, errlen, "%s", p->broken_err);
        return -EPROTO;
    }
    if (p->delivery_failed) {
        snprintf(err, errlen, "%s", p->delivery_err);
        return -EIO;
    }
    return 0;
}

/* Waits for the replication socket (unless reading is paused, or there is
 * no connection), the sink's descriptor, the sockets of the registry's and
 * the catalog's pending requests, or the next timer. */
static int wait_for_work(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    struct pollfd pfd[2 + WAIT_REGISTRY_FDS + WAIT_CATALOG_FDS + WAIT_HTTPD_FDS +
                      WAIT_SNAPSHOT_FDS + 1];
    nfds_t n = 1;
    bool window_full = pgcdc_sink_in_flight(p->sink) >= (size_t)p->cfg->max_queue_size;
    int timeout = next_timeout_ms(p, window_full);
    int k = 0, t, rc;

    if (p->registry) {
        k = pgcdc_registry_pollfds(p->registry, pfd + 2, WAIT_REGISTRY_FDS, &t);
        if (t >= 0 && t < timeout)
            timeout = t;
        if (k < 0)
            k = 0;
    }
    /* A catalog connection being opened gives up on a timer of its own. */
    k += pgcdc_catalog_pollfd(p->catalog, pfd + 2 + k, &t);
    if (t >= 0 && t < timeout)
        timeout = t;
    p->httpd_slot = p->httpd ? 2 + k : -1;
    k += pgcdc_httpd_pollfd(p->httpd, pfd + 2 + k, &t);
    if (t >= 0 && t < timeout)
        timeout = t;
    p->httpd_due = p->httpd && timeout == t;
    /* The snapshot's connections, unless their rows cannot be taken now. */
    k += pgcdc_snaprun_pollfds(p, window_full, pfd + 2 + k, WAIT_SNAPSHOT_FDS);
    /* The incremental snapshot's connection while it reads a chunk. */
    k += pgcdc_incrun_pollfd(p, pfd + 2 + k);
    /* Keep the registry's and the catalog's sockets right after the first two. */
    if (k > 0)
        n = 2 + (nfds_t)k;
    if (timeout == 0)
        return 0;
    pfd[0].fd = -1;
    pfd[0].events = 0;
    if (p->stream) {
        pfd[0].fd = pgcdc_stream_socket(p->stream);
        /* Backpressure or a held message: leave the socket alone; the
         * status timer keeps the server from timing us out meanwhile. */
        if (!p->held && !window_full && !pgcdc_incrun_blocks_stream(p))
            pfd[0].events |= POLLIN;
        rc = pgcdc_stream_flush_output(p->stream, err, errlen);
        if (rc < 0)
            return rc;
        if (rc > 0)
            pfd[0].events |= POLLOUT;
    }
    pfd[1].fd = pgcdc_sink_fd(p->sink);
    pfd[1].events = POLLIN;
    if (n == 1 && pfd[1].fd >= 0)
        n = 2;
    if (poll(pfd, n, timeout) < 0 && errno != EINTR) {
        rc = -errno;
        snprintf(err, errlen, "poll failed: %s", strerror(errno));
        return rc;
    }
    if (p->httpd_slot >= 0 && pfd[p->httpd_slot].revents)
        p->httpd_due = true;
    return 0;
}

/* One pass of the loop: read, deliver, confirm, wait. */
static int step(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    const uint8_t *buf;
    size_t len;
    int n = 0, rc;

    if (p->registry) {
        rc = pgcdc_registry_perform(p->registry);
        if (rc < 0) {
            snprintf(err, errlen, "schema registry: libcurl failed driving a request");
            return rc;
        }
    }
    pgcdc_catalog_perform(p->catalog);
    read_slot_stats(p);
    serve_http_now(p);
    /* A held message is tried again once what it waits for may be there:
     * room in the sink's window, the registry's or the catalog's answer. */
    if (p->held && p->stream && !*p->stop &&
        pgcdc_sink_in_flight(p->sink) < (size_t)p->cfg->max_queue_size &&
        !(p->registry && pgcdc_registry_busy(p->registry)) && !pgcdc_catalog_busy(p->catalog)) {
        rc = handle_or_hold(p, &p->held_frame, err, errlen);
        if (rc < 0)
            return rc == -ECONNRESET ? -EPROTO : rc;
    }
    if (p->snap) {
        rc = pgcdc_snaprun_step(p, &n, err, errlen);
        if (rc < 0)
            return rc;
    }
    rc = pgcdc_incrun_step(p, &n, err, errlen);
    if (rc < 0)
        return rc;
    while (p->stream && !p->held && !pgcdc_incrun_blocks_stream(p) && n < READ_BATCH &&
           pgcdc_sink_in_flight(p->sink) < (size_t)p->cfg->max_queue_size && !*p->stop) {
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
    rc = serve_reports(p, err, errlen);
    if (rc < 0)
        return rc;
    rc = send_status(p, false, err, errlen);
    if (rc < 0)
        return rc;
    if (n == READ_BATCH || *p->stop)
        return 0;
    return wait_for_work(p, err, errlen);
}

/* Errors worth a reconnect rather than a stop (classes of pq.h): the
 * connection was lost or refused for now, the server is restarting or full,
 * connecting timed out, or the slot is still held by our previous session. */
static bool retryable(int rc)
{
    return rc == -ECONNRESET || rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -EBUSY;
}

/* Errors that no retry or restart can cure: a person must act (exit 78).
 * -PGCDC_ECONFIG (error.h, which a position mismatch is too: the choice is
 * offset.mismatch.strategy), and the classes of pq.h and stream.h. */
static bool needs_person(int rc)
{
    return rc == -PGCDC_ECONFIG || rc == -EACCES || rc == -ENOENT || rc == -ENOTSUP ||
           rc == -ESTALE;
}

/* The stream ended with an error that names an object: say what it means. */
static void explain(struct pgcdc_pipeline *p, int rc, char *err, size_t errlen)
{
    size_t n = strlen(err);

    if (rc == -ENOENT && n < errlen)
        snprintf(err + n, errlen - n,
                 ": publication '%s' was dropped while pgcdc streamed from it, and the slot "
                 "cannot decode changes made before it exists again; recreate it, then drop "
                 "the slot '%s' and delete the position file '%s' to start afresh (changes in "
                 "between are lost)",
                 p->cfg->publication_name, p->cfg->slot_name, p->cfg->offset_file);
}

bool pgcdc_pipeline_needs_person(const struct pgcdc_pipeline *p)
{
    return p->must_act;
}

void pgcdc_pipeline_set_hup(struct pgcdc_pipeline *p, volatile sig_atomic_t *hup)
{
    p->hup = hup;
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

/*
 * While the connection is lost, called on every pass of the loop, which
 * meanwhile serves the sink: once everything produced is reported and the
 * backoff is over, starts a fresh tracker from the safe LSN, confirms it and
 * connects again. A failure worth a retry doubles the backoff (up to its
 * maximum) and waits again; any other is returned.
 */
/* errors.max.retries: one more retry after cause, or the error that ends
 * the run when the retries are used up. */
static int count_retry(struct pgcdc_pipeline *p, const char *cause, char *err, size_t errlen)
{
    int max = p->cfg->errors_max_retries;

    if (max >= 0 && p->retries >= max) {
        char c[512];

        snprintf(c, sizeof(c), "%s", cause);
        snprintf(err, errlen, "%s; giving up after %d retr%s (errors.max.retries = %d)", c,
                 p->retries, p->retries == 1 ? "y" : "ies", max);
        return -ECONNRESET;
    }
    p->retries++;
    return 0;
}

static int try_reconnect(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    char serr[512];
    int rc;

    if (pgcdc_mono_us() < p->reconnect_us || pgcdc_sink_in_flight(p->sink) > 0)
        return 0;
    /* What was delivered moves the position before the tracker restarts. */
    rc = serve_reports(p, err, errlen);
    if (rc < 0)
        return rc;
    pgcdc_incrun_reset(p);
    rc = restart_tracker(p, err, errlen);
    if (rc == 0)
        rc = send_status(p, true, err, errlen);
    if (rc < 0)
        return rc;
    rc = connect_and_start(p, false, serr, sizeof(serr));
    if (rc == 0) {
        p->reconnecting = false;
        p->retries = 0;
        return 0;
    }
    pgcdc_stream_free(&p->stream);
    if (rc == -EINTR && *p->stop)
        return 0;
    if (!retryable(rc)) {
        snprintf(err, errlen, "%s", serr);
        return rc;
    }
    rc = count_retry(p, serr, err, errlen);
    if (rc < 0)
        return rc;
    p->backoff_ms = p->backoff_ms * 2 > p->cfg->reconnect_backoff_max_ms
                        ? p->cfg->reconnect_backoff_max_ms
                        : p->backoff_ms * 2;
    pgcdc_log_warn("%s; retrying in %d ms", serr, p->backoff_ms);
    p->reconnect_us = pgcdc_mono_us() + (int64_t)p->backoff_ms * 1000;
    return 0;
}

/* slot.drop.on.stop, after an orderly stop with everything delivered and
 * confirmed: the slot goes (on a replication connection of its own, once
 * the streaming one has let go of it), and with it the position file, which
 * holds a position of that slot only; the next start begins afresh. */
static int drop_slot_on_stop(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    static volatile sig_atomic_t never;
    const struct pgcdc_config *cfg = p->cfg;
    struct pgcdc_stream *s = NULL;
    int rc;

    pgcdc_stream_free(&p->stream);
    pgcdc_stream_free(&p->pending);
    rc = pgcdc_stream_connect(&s, cfg->database_dsn, cfg->connect_timeout_ms, &never, err,
                              errlen);
    if (rc == 0)
        rc = pgcdc_stream_drop_slot(s, cfg->slot_name, err, errlen);
    pgcdc_stream_free(&s);
    if (rc < 0) {
        char cause[512];

        snprintf(cause, sizeof(cause), "%s", err);
        snprintf(err, errlen, "slot.drop.on.stop: cannot drop replication slot '%s': %s",
                 cfg->slot_name, cause);
        return rc;
    }
    if (unlink(cfg->offset_file) < 0 && errno != ENOENT)
        pgcdc_log_warn("slot.drop.on.stop: cannot delete the position file '%s': %s",
                       cfg->offset_file, strerror(errno));
    if (p->progress_path && unlink(p->progress_path) < 0 && errno != ENOENT)
        pgcdc_log_warn("slot.drop.on.stop: cannot delete '%s': %s", p->progress_path,
                       strerror(errno));
    pgcdc_log_info("dropped replication slot '%s' and its position file '%s' "
                   "(slot.drop.on.stop)",
                   cfg->slot_name, cfg->offset_file);
    return 0;
}

int pgcdc_pipeline_run(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    struct pgcdc_position pos;
    char a[PGCDC_LSN_BUFLEN];
    bool found;
    int rc;

    rc = pgcdc_store_load(p->store, &pos, &found, err, errlen);
    if (rc < 0)
        return rc;
    p->persisted = found ? pos.end_lsn : 0;
    memcpy(p->system_id, pos.system_id, sizeof(p->system_id));
    p->timeline = pos.timeline;
    p->persisted_partial = found ? pos.partial_commit_lsn : 0;
    p->persisted_partial_n = found ? pos.partial_events : 0;
    if (found && pos.partial_commit_lsn != 0) {
        char b[PGCDC_LSN_BUFLEN];

        pgcdc_log_info("resuming from stored position %s, where the transaction committing at "
                       "%s has %" PRIu64 " event(s) delivered",
                       pgcdc_lsn_format(pos.end_lsn, a),
                       pgcdc_lsn_format(pos.partial_commit_lsn, b), pos.partial_events);
    } else if (found) {
        pgcdc_log_info("resuming from stored position %s", pgcdc_lsn_format(pos.end_lsn, a));
    }
    if (p->persisted != 0 && p->cfg->snapshot_mode == PGCDC_CONFIG_SNAPSHOT_INITIAL_ONLY) {
        pgcdc_log_info("snapshot.mode initial_only: the snapshot was completed before (position "
                       "%s is stored); nothing to do",
                       pgcdc_lsn_format(p->persisted, a));
        return 0;
    }
    rc = pgcdc_tracker_new(&p->tracker, p->persisted, 0, err, errlen);
    if (rc < 0)
        return rc;
    pgcdc_tracker_set_partial(p->tracker, p->persisted_partial, p->persisted_partial_n);

    p->src.connector_version = PGCDC_VERSION;
    p->src.name = p->cfg->topic_prefix;
    p->src.db = p->db;
    p->src.snapshot = "false";

    /* The first connection must work: a bad DSN or a missing database is a
     * configuration error, not something to wait out. */
    rc = connect_and_start(p, true, err, errlen);
    /* The session of a pgcdc that has just stopped may hold the slot (or
     * its lock) for a moment longer: wait a little before calling it taken. */
    for (int waited = 0; rc == -EBUSY && waited < FIRST_BUSY_WAIT_MS && !*p->stop;
         waited += BUSY_RETRY_MS) {
        pgcdc_stream_free(&p->stream);
        sleep_ms_unless_stopped(p, BUSY_RETRY_MS);
        rc = connect_and_start(p, true, err, errlen);
    }
    if (rc == -EINTR && *p->stop)
        rc = 0; /* stopped while connecting: a clean stop */
    if (rc < 0)
        goto out;
    /* Incremental snapshots an earlier run left unfinished go on. */
    rc = pgcdc_incrun_resume(p, err, errlen);
    if (rc < 0)
        goto out;

    p->backoff_ms = p->cfg->reconnect_backoff_initial_ms;
    while (!*p->stop && !p->finished) {
        if (p->hup && *p->hup) {
            *p->hup = 0;
            pgcdc_log_info("SIGHUP ignored: pgcdc logs to stderr and reads its configuration "
                           "only at start (restart it to apply changes)");
        }
        if (p->reconnecting) {
            rc = try_reconnect(p, err, errlen);
            if (rc < 0)
                goto out;
        }
        rc = step(p, err, errlen);
        if ((rc == -EINTR || rc == -ECANCELED) && *p->stop)
            break;
        if (rc == 0) {
            if (p->stream)
                p->backoff_ms = p->cfg->reconnect_backoff_initial_ms;
            continue;
        }
        if (rc == -ENOENT)
            explain(p, rc, err, errlen);
        if (rc != -ECONNRESET || p->stream == NULL)
            goto out;
        {
            char cause[512];

            snprintf(cause, sizeof(cause), "%s", err);
            rc = count_retry(p, cause, err, errlen);
            if (rc < 0)
                goto out;
        }
        /* The connection dropped: the loop goes on serving the sink, and
         * connects again once all is delivered and the backoff is over. */
        pgcdc_log_warn("%s; reconnecting", err);
        pgcdc_stream_free(&p->stream);
        /* A held message pointed into the stream's buffer; the server sends
         * it again (restart_tracker() drops its delivered part). */
        p->held = false;
        pgcdc_catalog_done(p->catalog);
        p->reply_requested = false;
        p->reconnecting = true;
        p->metrics.reconnects++;
        p->reconnect_us = pgcdc_mono_us() + (int64_t)p->backoff_ms * 1000;
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
    if (rc == 0 && p->cfg->slot_drop_on_stop)
        rc = drop_slot_on_stop(p, err, errlen);
    pgcdc_snaprun_interrupted(p);
    /* The cause first, then the summary line. */
    if (rc < 0) {
        p->must_act = needs_person(rc);
        pgcdc_log_error("%s", err);
    }
    pgcdc_relcache_log_filtered(p->rels);
    if (p->failed_events > 0)
        pgcdc_log_warn("%" PRIu64 " event(s) could not be represented and were left out "
                       "(event.processing.failure.handling.mode)",
                       p->failed_events);
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
    pgcdc_httpd_free(&p->httpd);
    pgcdc_stream_free(&p->stream);
    pgcdc_snaprun_free(p);
    pgcdc_incrun_free(p);
    free(p->progress_path);
    pgcdc_sink_free(&p->sink);
    pgcdc_encoder_free(&p->enc);
    pgcdc_registry_free(p->registry);
    pgcdc_store_free(&p->store);
    pgcdc_tracker_free(p->tracker);
    pgcdc_change_batch_free(&p->batch);
    pgcdc_relcache_free(&p->rels);
    pgcdc_catalog_free(&p->catalog);
    pgcdc_buf_free(&p->key);
    pgcdc_buf_free(&p->value);
    free(p->message_topic);
    free(p->txn_topic);
    pgcdc_txmeta_free(&p->txmeta);
    free(p->msg);
    free(p);
    *pp = NULL;
}
