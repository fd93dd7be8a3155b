/*
 * metrics.c - the loop's counters rendered in Prometheus' text exposition
 * format (version 0.0.4).
 *
 * The format, as this file writes it: for each metric family a
 * "# HELP <name> <text>" line (backslash and line feed escaped) and a
 * "# TYPE <name> <counter|gauge|histogram>" line, then one sample per line,
 * "<name>{<label>="<value>",...} <number>", label values with backslash,
 * double quote and line feed escaped. A histogram is its cumulative
 * "<name>_bucket{le="<bound>"}" lines ending with le="+Inf", then
 * "<name>_sum" and "<name>_count". Every line ends with a line feed.
 */
#include "pgcdc/metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pgcdc/relcache.h"
#include "pgcdc/snapshot.h"

/* Seconds from commit to acknowledgement: from a millisecond to minutes. */
static const double lag_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                    0.25,  0.5,    1,     2.5,  5,     10,   30, 60, 300};

static const char *const op_names[PGCDC_REL_OPS] = {"c", "u", "d", "t", "r"};

void pgcdc_hist_observe(struct pgcdc_hist *h, double v)
{
    size_t i = 0;

    while (i < h->nbounds && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

void pgcdc_metrics_init(struct pgcdc_metrics *m)
{
    m->lag.bounds = lag_bounds;
    m->lag.nbounds = sizeof(lag_bounds) / sizeof(lag_bounds[0]);
    m->slot.retained_bytes = -1;
    m->slot.safe_wal_size = -1;
}

void pgcdc_metrics_acked(struct pgcdc_metrics *m, uint64_t txn, int64_t now_us)
{
    size_t i = txn % PGCDC_METRICS_TXN_RING;

    if (m->ring_txn[i] != txn || m->ring_us[i] == 0)
        return;
    pgcdc_hist_observe(&m->lag, now_us > m->ring_us[i] ? (double)(now_us - m->ring_us[i]) / 1e6
                                                         : 0.0);
}

int64_t pgcdc_metrics_stalled_us(struct pgcdc_metrics *m, pgcdc_lsn confirmed, pgcdc_lsn server,
                                 int64_t now_us)
{
    if (confirmed != m->progress_lsn || server <= confirmed || m->progress_us == 0) {
        m->progress_lsn = confirmed;
        m->progress_us = now_us;
    }
    return now_us - m->progress_us;
}

/* Appends s, escaping backslash, line feed and, in a label value, the
 * double quote. */
static int escape(struct pgcdc_buf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        int rc;

        if (*s == '\\')
            rc = pgcdc_buf_append(b, "\\\\", 2);
        else if (*s == '\n')
            rc = pgcdc_buf_append(b, "\\n", 2);
        else if (*s == '"' && quote)
            rc = pgcdc_buf_append(b, "\\\"", 2);
        else
            rc = pgcdc_buf_append_char(b, *s);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int pgcdc_expo_label_value(struct pgcdc_buf *b, const char *s)
{
    return escape(b, s, true);
}

int pgcdc_expo_family(struct pgcdc_buf *b, const char *name, const char *type, const char *help)
{
    if (pgcdc_buf_appendf(b, "# HELP %s ", name) < 0 || escape(b, help, false) < 0 ||
        pgcdc_buf_appendf(b, "\n# TYPE %s %s\n", name, type) < 0)
        return -ENOMEM;
    return 0;
}

/* "name{labels}" and the space before the value. */
static int sample_head(struct pgcdc_buf *b, const char *name, const char *const *labels)
{
    if (pgcdc_buf_append(b, name, strlen(name)) < 0)
        return -ENOMEM;
    if (labels && labels[0]) {
        for (size_t i = 0; labels[i]; i += 2) {
            if (pgcdc_buf_appendf(b, "%s%s=\"", i ? "," : "{", labels[i]) < 0 ||
                pgcdc_expo_label_value(b, labels[i + 1] ? labels[i + 1] : "") < 0 ||
                pgcdc_buf_append_char(b, '"') < 0)
                return -ENOMEM;
        }
        if (pgcdc_buf_append_char(b, '}') < 0)
            return -ENOMEM;
    }
    return pgcdc_buf_append_char(b, ' ');
}

int pgcdc_expo_sample_uint(struct pgcdc_buf *b, const char *name, const char *const *labels,
                           uint64_t v)
{
    if (sample_head(b, name, labels) < 0 || pgcdc_buf_append_uint(b, v, 0) < 0 ||
        pgcdc_buf_append_char(b, '\n') < 0)
        return -ENOMEM;
    return 0;
}

/* A float as the format spells it. */
static int append_double(struct pgcdc_buf *b, double v)
{
    if (isnan(v))
        return pgcdc_buf_append(b, "NaN", 3);
    if (isinf(v))
        return v > 0 ? pgcdc_buf_append(b, "+Inf", 4) : pgcdc_buf_append(b, "-Inf", 4);
    return pgcdc_buf_appendf(b, "%.17g", v);
}

int pgcdc_expo_sample_double(struct pgcdc_buf *b, const char *name, const char *const *labels,
                             double v)
{
    if (sample_head(b, name, labels) < 0 || append_double(b, v) < 0 ||
        pgcdc_buf_append_char(b, '\n') < 0)
        return -ENOMEM;
    return 0;
}

int pgcdc_expo_histogram(struct pgcdc_buf *b, const char *name, const char *help,
                         const struct pgcdc_hist *h)
{
    char series[128], le[32];
    const char *labels[] = {"le", le, NULL};
    uint64_t cum = 0;

    if (pgcdc_expo_family(b, name, "histogram", help) < 0)
        return -ENOMEM;
    snprintf(series, sizeof(series), "%s_bucket", name);
    for (size_t i = 0; i <= h->nbounds; i++) {
        cum += h->counts[i];
        if (i < h->nbounds)
            snprintf(le, sizeof(le), "%g", h->bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        if (pgcdc_expo_sample_uint(b, series, labels, cum) < 0)
            return -ENOMEM;
    }
    snprintf(series, sizeof(series), "%s_sum", name);
    if (pgcdc_expo_sample_double(b, series, NULL, h->sum) < 0)
        return -ENOMEM;
    snprintf(series, sizeof(series), "%s_count", name);
    return pgcdc_expo_sample_uint(b, series, NULL, h->count);
}

/* A family of one unlabelled sample. */
static int one_uint(struct pgcdc_buf *b, const char *name, const char *type, const char *help,
                    uint64_t v)
{
    if (pgcdc_expo_family(b, name, type, help) < 0)
        return -ENOMEM;
    return pgcdc_expo_sample_uint(b, name, NULL, v);
}

static int one_double(struct pgcdc_buf *b, const char *name, const char *type, const char *help,
                      double v)
{
    if (pgcdc_expo_family(b, name, type, help) < 0)
        return -ENOMEM;
    return pgcdc_expo_sample_double(b, name, NULL, v);
}

/* Events by table and operation, for every table with one. */
static int render_tables(struct pgcdc_buf *b, const struct pgcdc_relcache *rels)
{
    size_t pos = 0;
    const struct pgcdc_rel *rel;

    if (pgcdc_expo_family(b, "pgcdc_events_total", "counter",
                          "Change events produced, by table and operation (Debezium's op: c "
                          "create, u update, d delete, t truncate, r snapshot read)") < 0)
        return -ENOMEM;
    while (rels && (rel = pgcdc_relcache_next(rels, &pos)) != NULL) {
        if (rel->counts == NULL)
            continue;
        for (int op = 0; op < PGCDC_REL_OPS; op++) {
            const char *labels[] = {"schema", rel->nspname, "table", rel->relname,
                                    "op",     op_names[op], NULL};

            if (rel->counts->events[op] == 0)
                continue;
            if (pgcdc_expo_sample_uint(b, "pgcdc_events_total", labels,
                                       rel->counts->events[op]) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* Rows read and expected per table of the snapshot being read. */
static int render_snapshot(struct pgcdc_buf *b, const struct pgcdc_snapshot *snap)
{
    struct pgcdc_snapshot_progress pr;

    if (pgcdc_expo_family(b, "pgcdc_snapshot_rows_total", "counter",
                          "Rows read by the snapshot being read, by table") < 0)
        return -ENOMEM;
    for (size_t i = 0; snap && pgcdc_snapshot_table_progress(snap, i, &pr); i++) {
        const char *labels[] = {"schema", pr.nspname, "table", pr.relname, NULL};

        if (pgcdc_expo_sample_uint(b, "pgcdc_snapshot_rows_total", labels, pr.rows) < 0)
            return -ENOMEM;
    }
    if (pgcdc_expo_family(b, "pgcdc_snapshot_rows_estimate", "gauge",
                          "Rows the snapshot being read expects, by table (the planner's "
                          "estimate; -1 when unknown)") < 0)
        return -ENOMEM;
    for (size_t i = 0; snap && pgcdc_snapshot_table_progress(snap, i, &pr); i++) {
        const char *labels[] = {"schema", pr.nspname, "table", pr.relname, NULL};

        if (pgcdc_expo_sample_double(b, "pgcdc_snapshot_rows_estimate", labels,
                                     (double)pr.estimate) < 0)
            return -ENOMEM;
    }
    if (pgcdc_expo_family(b, "pgcdc_snapshot_table_done", "gauge",
                          "1 once every chunk of the table is read by the snapshot") < 0)
        return -ENOMEM;
    for (size_t i = 0; snap && pgcdc_snapshot_table_progress(snap, i, &pr); i++) {
        const char *labels[] = {"schema", pr.nspname, "table", pr.relname, NULL};

        if (pgcdc_expo_sample_uint(b, "pgcdc_snapshot_table_done", labels, pr.done) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* The slot as last read over the catalog connection. */
static int render_slot(struct pgcdc_buf *b, const struct pgcdc_metrics *m,
                       const struct pgcdc_metrics_view *v)
{
    static const char *const statuses[] = {"reserved", "extended", "unreserved", "lost"};
    const struct pgcdc_slot_stats *s = &m->slot;

    if (one_double(b, "pgcdc_slot_retained_wal_bytes", "gauge",
                   "WAL the slot holds back on the server: its restart_lsn to the server's "
                   "position (-1 until read; read every 10 s)",
                   (double)(m->slot_read_us && s->exists ? s->retained_bytes : -1)) < 0 ||
        one_double(b, "pgcdc_slot_safe_wal_size_bytes", "gauge",
                   "WAL that may still be written before the slot is at risk of losing WAL "
                   "(max_slot_wal_keep_size); -1 when unlimited or unknown",
                   (double)(m->slot_read_us && s->exists ? s->safe_wal_size : -1)) < 0 ||
        one_uint(b, "pgcdc_slot_active", "gauge", "1 when a process streams from the slot",
                 m->slot_read_us && s->active) < 0 ||
        one_double(b, "pgcdc_slot_read_timestamp_seconds", "gauge",
                   "When the slot's figures were last read (Unix time; 0 = never)",
                   (double)m->slot_read_us / 1e6) < 0)
        return -ENOMEM;
    if (pgcdc_expo_family(b, "pgcdc_slot_wal_status", "gauge",
                          "The slot's wal_status: 1 for the current one") < 0)
        return -ENOMEM;
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        const char *labels[] = {"slot", v->slot, "status", statuses[i], NULL};

        if (pgcdc_expo_sample_uint(b, "pgcdc_slot_wal_status", labels,
                                   m->slot_read_us && strcmp(s->wal_status, statuses[i]) == 0) <
            0)
            return -ENOMEM;
    }
    return 0;
}

int pgcdc_metrics_render(const struct pgcdc_metrics *m, const struct pgcdc_metrics_view *v,
                         struct pgcdc_buf *b)
{
    const char *build[] = {"version", v->version, "slot", v->slot, "sink", v->sink, NULL};

    if (pgcdc_expo_family(b, "pgcdc_build_info", "gauge",
                          "pgcdc's version, slot and sink (always 1)") < 0 ||
        pgcdc_expo_sample_uint(b, "pgcdc_build_info", build, 1) < 0 ||
        one_uint(b, "pgcdc_up", "gauge", "1 while the replication connection is open",
                 v->connected) < 0 ||
        one_uint(b, "pgcdc_ready", "gauge", "1 when /readyz answers ready", v->ready) < 0 ||
        render_tables(b, v->rels) < 0 ||
        one_uint(b, "pgcdc_produced_events_total", "counter",
                 "Events handed to the sink (tombstones and logical messages included)",
                 v->events) < 0 ||
        one_uint(b, "pgcdc_transactions_total", "counter",
                 "Transactions whose events were all produced", m->transactions) < 0 ||
        one_uint(b, "pgcdc_produced_bytes_total", "counter",
                 "Key and value bytes handed to the sink", m->bytes) < 0 ||
        pgcdc_expo_histogram(b, "pgcdc_commit_to_ack_lag_seconds",
                             "Seconds from a transaction's commit on the server to the sink's "
                             "acknowledgement of each of its events",
                             &m->lag) < 0 ||
        one_double(b, "pgcdc_last_event_timestamp_seconds", "gauge",
                   "Commit time of the transaction of the last event produced (Unix time; "
                   "0 = none yet)",
                   (double)m->last_event_us / 1e6) < 0 ||
        one_double(b, "pgcdc_stored_lsn", "gauge",
                   "The position in the position file, as a number", (double)v->stored) < 0 ||
        one_double(b, "pgcdc_confirmed_lsn", "gauge",
                   "The last position confirmed to the server (flush), as a number",
                   (double)v->confirmed) < 0 ||
        one_double(b, "pgcdc_server_lsn", "gauge",
                   "The highest WAL position the server has sent (walEnd), as a number",
                   (double)v->server) < 0 ||
        render_slot(b, m, v) < 0 ||
        one_uint(b, "pgcdc_sink_in_flight_events", "gauge",
                 "Events the sink holds that are not yet acknowledged", v->in_flight) < 0 ||
        one_uint(b, "pgcdc_sink_window_events", "gauge",
                 "In-flight events at most before reading pauses (max.queue.size)",
                 v->window) < 0 ||
        one_uint(b, "pgcdc_delivery_errors_total", "counter",
                 "Events the sink reported as not delivered", m->delivery_errors) < 0 ||
        one_uint(b, "pgcdc_registry_requests_total", "counter",
                 "Requests to the schema registry", v->registry_requests) < 0 ||
        one_uint(b, "pgcdc_registry_errors_total", "counter",
                 "Schema registry requests that failed (each is retried)",
                 m->registry_errors) < 0 ||
        one_uint(b, "pgcdc_reconnects_total", "counter",
                 "Replication connections lost and opened again", m->reconnects) < 0 ||
        render_snapshot(b, v->snap) < 0)
        return -ENOMEM;
    return 0;
}
