/*
 * status.c - `pgcdc status`: one screen for a person about where pgcdc
 * stands, whether it runs or not.
 *
 * Everything is read, nothing written: the slot's row (the catalog's slot
 * query, catalog.h), the walsender's flush_lag when a process streams from
 * the slot, the position file (store.h), the tables the publication (or,
 * before it exists, the filters) capture and their topics, and, when
 * metrics.listen is set and pgcdc answers there, /metrics for what only
 * the running process knows (the time of its last event, what is in
 * flight, whether it is ready).
 */
#include "pgcdc/status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "pgcdc/buf.h"
#include "pgcdc/catalog.h"
#include "pgcdc/config.h"
#include "pgcdc/filter.h"
#include "pgcdc/inspect.h"
#include "pgcdc/lsn.h"
#include "pgcdc/pq.h"
#include "pgcdc/store.h"
#include "pgcdc/topic.h"

/* Topics listed by name, at most: the rest are counted. */
#define MAX_TOPICS 8

/* How long /metrics may take to answer. */
#define SCRAPE_TIMEOUT_MS 2000

/* What /metrics said, when it answered. */
struct scraped {
    bool ok;              /* it answered */
    double last_event;    /* pgcdc_last_event_timestamp_seconds */
    double in_flight;     /* pgcdc_sink_in_flight_events */
    double ready;         /* pgcdc_ready */
    double events;        /* pgcdc_produced_events_total */
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    return pgcdc_buf_append(arg, data, size * n) < 0 ? 0 : size * n;
}

/* The value of the unlabelled sample name in exposition text, or -1. */
static double sample(const char *text, const char *name)
{
    size_t n = strlen(name);

    const char *line = text;

    while (line && *line) {
        const char *end = strchr(line, '\n');

        if (strncmp(line, name, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        line = end ? end + 1 : NULL;
    }
    return -1;
}

/* Reads /metrics at metrics.listen (an address for every host is asked on
 * the loopback). */
static void scrape(const char *listen, struct scraped *out, char *url, size_t urllen)
{
    struct pgcdc_buf body = PGCDC_BUF_INIT;
    char host[256], err[128];
    unsigned port;
    long code = 0;
    CURL *c;

    memset(out, 0, sizeof(*out));
    url[0] = '\0';
    if (listen[0] == '\0' ||
        pgcdc_config_parse_listen(listen, host, sizeof(host), &port, err, sizeof(err)) < 0)
        return;
    if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    else if (strcmp(host, "::") == 0)
        snprintf(host, sizeof(host), "::1");
    snprintf(url, urllen, strchr(host, ':') ? "http://[%s]:%u/metrics" : "http://%s:%u/metrics",
             host, port);
    c = curl_easy_init();
    if (c == NULL)
        return;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)SCRAPE_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    if (curl_easy_perform(c) == CURLE_OK &&
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code == 200 &&
        body.data && strstr(body.data, "pgcdc_build_info")) {
        out->ok = true;
        out->last_event = sample(body.data, "pgcdc_last_event_timestamp_seconds");
        out->in_flight = sample(body.data, "pgcdc_sink_in_flight_events");
        out->ready = sample(body.data, "pgcdc_ready");
        out->events = sample(body.data, "pgcdc_produced_events_total");
    }
    curl_easy_cleanup(c);
    pgcdc_buf_free(&body);
}

/* The slot's row through the catalog's query. */
static int read_slot(PGconn *conn, const char *slot, struct pgcdc_slot_stats *s, char *err,
                     size_t errlen)
{
    const char *params[1] = {slot};
    PGresult *r = PQexecParams(conn, pgcdc_catalog_slot_stats_sql, 1, NULL, params, NULL, NULL, 0);

    memset(s, 0, sizeof(*s));
    s->retained_bytes = -1;
    s->safe_wal_size = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pgcdc_pq_result_error(conn, r, "cannot read the replication slot", err, errlen);
        PQclear(r);
        return -EIO;
    }
    if (PQntuples(r) == 1) {
        s->exists = true;
        s->active = PQgetvalue(r, 0, 0)[0] == 't';
        s->pid = atoi(PQgetvalue(r, 0, 1));
        snprintf(s->wal_status, sizeof(s->wal_status), "%s", PQgetvalue(r, 0, 2));
        s->retained_bytes = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
        s->safe_wal_size = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
        s->confirmed_lsn = strtoull(PQgetvalue(r, 0, 5), NULL, 10);
        s->server_lsn = strtoull(PQgetvalue(r, 0, 6), NULL, 10);
    }
    PQclear(r);
    return 0;
}

/* The flush lag the walsender of pid measures, in seconds; -1 when it has
 * none (nothing sent lately, or no such walsender). */
static double flush_lag(PGconn *conn, int pid)
{
    char text[16];
    const char *params[1] = {text};
    PGresult *r;
    double v = -1;

    snprintf(text, sizeof(text), "%d", pid);
    r = PQexecParams(conn,
                     "SELECT EXTRACT(epoch FROM flush_lag) FROM pg_catalog.pg_stat_replication "
                     "WHERE pid = $1::int",
                     1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        v = strtod(PQgetvalue(r, 0, 0), NULL);
    PQclear(r);
    return v;
}

/* The topics of the tables pgcdc captures. */
static void print_topics(FILE *out, const struct pgcdc_config *cfg, PGconn *conn, bool pub_exists)
{
    struct pgcdc_inspect_table *t = NULL;
    size_t n = 0, shown = 0, total = 0;
    char err[256];

    if (pgcdc_inspect_tables(conn, cfg->publication_name, &t, &n, err, sizeof(err)) < 0) {
        fprintf(out, "topics:             unknown (%s)\n", err);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *topic = NULL;

        if ((pub_exists && !t[i].in_publication) ||
            pgcdc_filter_table(cfg, t[i].schema, t[i].name, err, sizeof(err)) != 1)
            continue;
        total++;
        if (shown == MAX_TOPICS ||
            pgcdc_topic_name(cfg->topic_prefix, cfg->topic_delimiter, t[i].schema, t[i].name,
                             &topic) < 0)
            continue;
        fprintf(out, "%s%s", shown == 0 ? "topics:             " : "\n                    ",
                topic);
        free(topic);
        shown++;
    }
    if (total == 0)
        fprintf(out, "topics:             none (no table is captured%s)\n",
                pub_exists ? "" : " yet");
    else if (total > shown)
        fprintf(out, "\n                    ... and %zu more (%zu in all)\n", total - shown,
                total);
    else
        fputc('\n', out);
    free(t);
}

/* "0/16B3748" and, in brackets, how far it is behind the server's position. */
static void print_lsn(FILE *out, const char *label, pgcdc_lsn lsn, pgcdc_lsn server, bool known)
{
    char a[PGCDC_LSN_BUFLEN], behind[32];

    if (!known || lsn == 0) {
        fprintf(out, "%-20snone\n", label);
        return;
    }
    fprintf(out, "%-20s%s", label, pgcdc_lsn_format(lsn, a));
    if (server >= lsn) {
        pgcdc_inspect_format_bytes((long long)(server - lsn), behind, sizeof(behind));
        fprintf(out, " (%s behind the server)", behind);
    }
    fputc('\n', out);
}

int pgcdc_status_print(const struct pgcdc_config *cfg, FILE *out, char *err, size_t errlen)
{
    const char *const keys[] = {"dbname", "fallback_application_name", NULL};
    const char *const vals[] = {cfg->database_dsn, "pgcdc-status", NULL};
    struct pgcdc_inspect_publication pub;
    struct pgcdc_slot_stats s;
    struct pgcdc_position pos;
    struct pgcdc_store *store = NULL;
    struct scraped m;
    PGconn *conn = NULL;
    char a[PGCDC_LSN_BUFLEN], bytes[32], url[300], serr[256];
    bool found = false;
    int rc;

    rc = pgcdc_pq_connect(&conn, keys, vals, cfg->connect_timeout_ms, NULL,
                          "cannot connect to PostgreSQL", NULL, err, errlen);
    if (rc == 0)
        rc = read_slot(conn, cfg->slot_name, &s, err, errlen);
    if (rc == 0)
        rc = pgcdc_inspect_publication(conn, cfg->publication_name, &pub, err, errlen);
    if (rc < 0)
        goto out;

    if (!s.exists)
        fprintf(out, "slot:               '%s' does not exist (pgcdc creates it on its first "
                     "start)\n",
                cfg->slot_name);
    else if (s.active)
        fprintf(out, "slot:               '%s', active (streamed to by process %d)\n",
                cfg->slot_name, s.pid);
    else
        fprintf(out, "slot:               '%s', inactive (nobody streams from it)\n",
                cfg->slot_name);
    if (s.exists) {
        pgcdc_inspect_format_bytes(s.retained_bytes, bytes, sizeof(bytes));
        fprintf(out, "retained WAL:       %s\n", bytes);
        fprintf(out, "wal_status:         %s", s.wal_status[0] ? s.wal_status : "unknown");
        if (s.safe_wal_size >= 0) {
            pgcdc_inspect_format_bytes(s.safe_wal_size, bytes, sizeof(bytes));
            fprintf(out, " (%s more before the slot is at risk)", bytes);
        }
        fputc('\n', out);
    }
    fprintf(out, "server position:    %s\n", pgcdc_lsn_format(s.server_lsn, a));

    rc = pgcdc_store_file_open(&store, cfg->offset_file, cfg->slot_name, serr, sizeof(serr));
    if (rc == 0)
        rc = pgcdc_store_load(store, &pos, &found, serr, sizeof(serr));
    if (rc < 0)
        fprintf(out, "stored position:    unreadable: %s\n", serr);
    else if (!found)
        fprintf(out, "stored position:    none ('%s' does not exist yet)\n", cfg->offset_file);
    else
        print_lsn(out, "stored position:", pos.end_lsn, s.server_lsn, true);
    rc = 0;
    print_lsn(out, "confirmed position:", s.confirmed_lsn, s.server_lsn, s.exists);
    if (s.exists && s.active) {
        double lag = flush_lag(conn, s.pid);

        if (lag >= 0)
            fprintf(out, "lag:                %.3f s (the server's flush_lag for process %d)\n",
                    lag, s.pid);
        else
            fprintf(out, "lag:                none measured (nothing unconfirmed was sent "
                         "lately)\n");
    } else {
        fprintf(out, "lag:                unknown in seconds: nobody streams from the slot\n");
    }

    scrape(cfg->metrics_listen, &m, url, sizeof(url));
    if (m.ok) {
        if (m.last_event > 0) {
            time_t t = (time_t)m.last_event;
            struct tm tm;
            char when[64];

            gmtime_r(&t, &tm);
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
            fprintf(out, "last event:         committed %s\n", when);
        } else {
            fprintf(out, "last event:         none since pgcdc started\n");
        }
        fprintf(out, "pgcdc:              running, %s; %.0f event(s) produced, %.0f in flight "
                     "(%s)\n",
                m.ready == 1 ? "ready" : "not ready", m.events, m.in_flight, url);
    } else if (url[0]) {
        fprintf(out, "last event:         unknown (no answer from %s)\n", url);
    } else {
        fprintf(out, "last event:         unknown (metrics.listen is not set)\n");
    }
    print_topics(out, cfg, conn, pub.exists);

out:
    pgcdc_store_free(&store);
    PQfinish(conn);
    return rc;
}
