/*
 * test_sink_contract.c - the contract of sink.h, run against every sink.
 *
 * Each case is written once against the sink interface and run for each
 * implementation: stdout (writing into a temporary file) and Kafka (on
 * librdkafka's mock cluster, with the topic created through the mock API
 * since the mock does not implement CreateTopics). A new sink joins by
 * adding a factory and one line per case at the bottom.
 *
 * What a user would notice if a sink broke the contract: a report that comes
 * from inside produce, before the pipeline counted the event, used to freeze
 * the confirmed position for good (the stdout sink did that once about
 * 1 MiB was buffered); a missing or doubled report does the same or confirms
 * an undelivered event.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "pgcdc/kafka_sink.h"
#include "pgcdc/sink.h"
#include "pgcdc/stdout_sink.h"

#define MAX_REPORTS 4096
#define TOPIC "pgcdc.public.contract"

/* ---- report recorder --------------------------------------------------- */

struct recorder {
    size_t n;                   /* reports received */
    uint64_t txn[MAX_REPORTS];  /* txn of each, in arrival order */
    int err[MAX_REPORTS];       /* err of each */
    bool inside_produce;        /* set around every produce call */
    size_t during_produce;      /* reports that came while inside produce */
};

static struct recorder rec;

static void record(void *arg, uint64_t txn, int err, const char *errstr)
{
    struct recorder *r = arg;
    (void)errstr;
    cr_assert_lt(r->n, MAX_REPORTS, "more reports than events");
    if (r->inside_produce)
        r->during_produce++;
    r->txn[r->n] = txn;
    r->err[r->n] = err;
    r->n++;
}

static size_t reports_for(uint64_t txn)
{
    size_t c = 0;
    for (size_t i = 0; i < rec.n; i++)
        c += rec.txn[i] == txn;
    return c;
}

/* ---- factories ---------------------------------------------------------- */

struct factory {
    const char *name;
    struct pgcdc_sink *(*make)(size_t max_in_flight);
};

static FILE *stdout_file; /* where the stdout sink writes */

static struct pgcdc_sink *make_stdout(size_t max_in_flight)
{
    struct pgcdc_sink *s = NULL;
    char err[256] = "";

    stdout_file = tmpfile();
    cr_assert_not_null(stdout_file);
    cr_assert_eq(pgcdc_stdout_sink_new(&s, fileno(stdout_file), max_in_flight, record, &rec, err,
                                       sizeof(err)),
                 0, "%s", err);
    return s;
}

static struct pgcdc_sink *make_kafka(size_t max_in_flight)
{
    static const char *const props[] = {"test.mock.num.brokers", "1", "linger.ms", "1"};
    struct pgcdc_kafka_opts o = {
        .props = props,
        .nprops = 2,
        .topic_partitions = 3,
        .topic_replication = -1,
        .max_in_flight = max_in_flight,
    };
    struct pgcdc_sink *s = NULL;
    char err[512] = "";

    cr_assert_eq(pgcdc_kafka_sink_new(&s, &o, record, &rec, err, sizeof(err)), 0, "%s", err);
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(pgcdc_kafka_sink_handle(s));
    cr_assert_not_null(mc);
    cr_assert_eq(rd_kafka_mock_topic_create(mc, TOPIC, 3, 1), 0);
    return s;
}

static const struct factory stdout_factory = {"stdout", make_stdout};
static const struct factory kafka_factory = {"kafka", make_kafka};

/* ---- helpers ------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Produces one event; returns what produce returned. */
static int produce(struct pgcdc_sink *s, const char *key, const void *value, size_t value_len,
                   uint64_t txn)
{
    struct pgcdc_sink_msg m = {
        .topic = TOPIC,
        .key = key,
        .key_len = key ? strlen(key) : 0,
        .value = value,
        .value_len = value_len,
        .txn = txn,
    };
    char err[512] = "";
    int rc;

    rec.inside_produce = true;
    rc = pgcdc_sink_produce(s, &m, err, sizeof(err));
    rec.inside_produce = false;
    return rc;
}

/* produce() as the loop does it: -EAGAIN (no room, or a topic not looked up
 * yet) is tried again after a poll, for at most 30 s. */
static int produce_wait(struct pgcdc_sink *s, const char *key, const void *value,
                        size_t value_len, uint64_t txn)
{
    int64_t deadline = now_ms() + 30000;
    int rc;

    while ((rc = produce(s, key, value, value_len, txn)) == -EAGAIN && now_ms() < deadline) {
        char err[512] = "";
        cr_assert_eq(pgcdc_sink_poll(s, 20, err, sizeof(err)), 0, "%s", err);
    }
    return rc;
}

static void produce_ok(struct pgcdc_sink *s, const char *key, const char *json, uint64_t txn)
{
    int rc = produce_wait(s, key, json, json ? strlen(json) : 0, txn);
    cr_assert_eq(rc, 0, "produce txn %" PRIu64 ": %d", txn, rc);
}

static void flush_ok(struct pgcdc_sink *s)
{
    char err[512] = "";
    int rc = pgcdc_sink_flush(s, 30000, err, sizeof(err));
    cr_assert_eq(rc, 0, "flush: %d %s", rc, err);
    cr_assert_eq(pgcdc_sink_in_flight(s), 0);
}

/* Polls until n reports arrived or 20 s passed. */
static void poll_until(struct pgcdc_sink *s, size_t n)
{
    char err[512] = "";
    int64_t deadline = now_ms() + 20000;
    while (rec.n < n && now_ms() < deadline)
        cr_assert_eq(pgcdc_sink_poll(s, 50, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(rec.n, n, "%zu reports, expected %zu", rec.n, n);
}

static void start(void)
{
    memset(&rec, 0, sizeof(rec));
    stdout_file = NULL;
}

static void finish(struct pgcdc_sink **s)
{
    pgcdc_sink_free(s);
    cr_assert_null(*s);
    if (stdout_file)
        fclose(stdout_file);
}

/* ---- the cases ---------------------------------------------------------- */

/* Each accepted event is reported once, with its txn, and only from poll or
 * flush: never from produce, also when the events are large enough that the
 * sink must write or send some of them before the next poll. */
static void case_reports_only_from_poll_and_flush(const struct factory *f)
{
    enum { N = 400, SIZE = 4096 };
    static char big[SIZE + 3];
    struct pgcdc_sink *s;

    start();
    s = f->make(100000);
    big[0] = '"';
    memset(big + 1, 'x', SIZE);
    big[SIZE + 1] = '"';
    for (uint64_t i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof(key), "{\"id\":%" PRIu64 "}", i);
        cr_assert_eq(produce_wait(s, key, big, sizeof(big) - 1, 1 + i / 100), 0);
    }
    cr_assert_eq(rec.during_produce, 0, "%s: %zu report(s) came from inside produce", f->name,
                 rec.during_produce);
    cr_assert_eq(rec.n + pgcdc_sink_in_flight(s), N, "%s: in_flight is not produced - reported",
                 f->name);
    flush_ok(s);
    cr_assert_eq(rec.n, N);
    for (uint64_t t = 1; t <= N / 100; t++)
        cr_assert_eq(reports_for(t), 100, "%s: txn %" PRIu64 " has %zu reports", f->name, t,
                     reports_for(t));
    for (size_t i = 0; i < rec.n; i++)
        cr_assert_eq(rec.err[i], 0);
    finish(&s);
}

/* in_flight counts accepted, unreported events; poll brings it to 0 in time. */
static void case_in_flight_and_poll(const struct factory *f)
{
    struct pgcdc_sink *s;

    start();
    s = f->make(100);
    produce_ok(s, "{\"id\":1}", "{\"a\":1}", 7);
    produce_ok(s, "{\"id\":1}", NULL, 7); /* a tombstone */
    produce_ok(s, NULL, "{\"keyless\":true}", 8);
    cr_assert_eq(pgcdc_sink_in_flight(s) + rec.n, 3);
    poll_until(s, 3);
    cr_assert_eq(pgcdc_sink_in_flight(s), 0);
    cr_assert_eq(reports_for(7), 2);
    cr_assert_eq(reports_for(8), 1);
    finish(&s);
}

/* A full window refuses with -EAGAIN, queues nothing, and reports nothing
 * for the refused event; after a poll there is room again. */
static void case_full_window_is_eagain(const struct factory *f)
{
    struct pgcdc_sink *s;

    start();
    s = f->make(5);
    for (uint64_t i = 0; i < 5; i++)
        produce_ok(s, "{\"id\":1}", "{}", 1);
    cr_assert_eq(produce(s, "{\"id\":2}", "{}", 2, 99), -EAGAIN, "%s", f->name);
    cr_assert_eq(pgcdc_sink_in_flight(s) + rec.n, 5, "%s: a refused event was queued", f->name);
    poll_until(s, 5);
    produce_ok(s, "{\"id\":2}", "{}", 2);
    flush_ok(s);
    cr_assert_eq(rec.n, 6);
    cr_assert_eq(reports_for(99), 0, "%s: the refused event was reported", f->name);
    cr_assert_eq(reports_for(2), 1);
    finish(&s);
}

/* flush with nothing in flight returns at once, and reports nothing. */
static void case_flush_when_idle(const struct factory *f)
{
    struct pgcdc_sink *s;
    int64_t t0;

    start();
    s = f->make(10);
    t0 = now_ms();
    flush_ok(s);
    cr_assert_lt(now_ms() - t0, 5000);
    cr_assert_eq(rec.n, 0);
    finish(&s);
}

/* The descriptor, when there is one, wakes a poll(2) once reports are
 * waiting, and the reports then come from the sink's poll. */
static void case_fd_announces_reports(const struct factory *f)
{
    struct pgcdc_sink *s;
    int fd;

    start();
    s = f->make(10);
    fd = pgcdc_sink_fd(s);
    if (fd < 0) {
        /* No descriptor: the loop polls the sink on every pass. */
        produce_ok(s, "{\"id\":1}", "{}", 1);
        poll_until(s, 1);
        finish(&s);
        return;
    }
    produce_ok(s, "{\"id\":1}", "{}", 1);
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    int64_t deadline = now_ms() + 20000;
    int ready = 0;
    while (ready == 0 && now_ms() < deadline)
        ready = poll(&pfd, 1, 100);
    cr_assert_eq(ready, 1, "%s: the descriptor never became readable", f->name);
    cr_assert_eq(rec.n, 0, "a report came outside poll and flush");
    poll_until(s, 1);
    /* Served: the descriptor is quiet again until the next report. */
    cr_assert_eq(poll(&pfd, 1, 0), 0, "%s: the descriptor stayed readable after poll", f->name);
    finish(&s);
}

/* free without flush reports nothing. */
static void case_free_reports_nothing(const struct factory *f)
{
    struct pgcdc_sink *s;

    start();
    s = f->make(10);
    produce_ok(s, "{\"id\":1}", "{}", 1);
    rec.inside_produce = true; /* anything reported now is out of contract */
    pgcdc_sink_free(&s);
    rec.inside_produce = false;
    cr_assert_eq(rec.during_produce, 0, "%s: free reported an event", f->name);
    finish(&s);
}

#define CONTRACT(fn)                                                                               \
    Test(sink_contract_stdout, fn, .timeout = 60) { case_##fn(&stdout_factory); }                  \
    Test(sink_contract_kafka, fn, .timeout = 60) { case_##fn(&kafka_factory); }

CONTRACT(reports_only_from_poll_and_flush)
CONTRACT(in_flight_and_poll)
CONTRACT(full_window_is_eagain)
CONTRACT(flush_when_idle)
CONTRACT(fd_announces_reports)
CONTRACT(free_reports_nothing)
