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
#define _GNU_SOURCE /* F_SETPIPE_SZ */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
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
    /* Served: the descriptor is quiet again until the next report. The
     * sink's library may queue an event of its own at any moment (an error
     * while the idempotent producer starts, say), which makes it readable
     * again for good reason; a poll serves that one too. A descriptor that
     * stays readable however often it is served would make the loop spin. */
    for (int round = 0; poll(&pfd, 1, 0) == 1; round++) {
        char err[512] = "";

        cr_assert_lt(round, 50, "%s: the descriptor stays readable after poll", f->name);
        cr_assert_eq(pgcdc_sink_poll(s, 0, err, sizeof(err)), 0, "%s", err);
    }
    cr_assert_eq(rec.n, 1, "%s: %zu reports for one event", f->name, rec.n);
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

/* ---- the stdout sink and its reader ------------------------------------ */

/* A stdout sink writing into a pipe; fds[0] is the (non-blocking) read end. */
static struct pgcdc_sink *make_stdout_pipe(size_t max_in_flight, int fds[2])
{
    struct pgcdc_sink *s = NULL;
    char err[256] = "";

    start();
    cr_assert_eq(pipe(fds), 0);
    cr_assert_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    /* As small as a pipe gets, so little fills it (64 KiB if refused). */
    (void)fcntl(fds[1], F_SETPIPE_SZ, 4096);
    cr_assert_eq(pgcdc_stdout_sink_new(&s, fds[1], max_in_flight, record, &rec, err, sizeof(err)),
                 0, "%s", err);
    return s;
}

/* Reads what is in the pipe; returns the lines (newlines) read. */
static size_t drain(int fd)
{
    char buf[65536];
    size_t lines = 0;
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
    return lines;
}

/* A value of about size bytes, as JSON text. */
static const char *json_value(size_t size)
{
    static char v[8192];

    cr_assert_lt(size + 3, sizeof(v));
    v[0] = '"';
    memset(v + 1, 'x', size);
    v[size + 1] = '"';
    v[size + 2] = '\0';
    return v;
}

/* A reader that does not read holds up nothing: produce fills the window
 * and then answers -EAGAIN, poll(0) returns at once, and once the reader
 * reads, every event arrives and is reported once. (Writing from the loop,
 * the sink used to block in poll there, and the loop with it: no status
 * updates, no SIGTERM.) */
Test(sink_contract_stdout, a_reader_that_does_not_read_holds_up_nothing, .timeout = 60)
{
    enum { WINDOW = 200 };
    const char *v = json_value(1000);
    char err[512] = "";
    size_t produced = 0, lines = 0;
    int64_t deadline = now_ms() + 30000;
    int fds[2], rc = 0;
    struct pgcdc_sink *s = make_stdout_pipe(WINDOW, fds);

    while (now_ms() < deadline) {
        rc = produce(s, "{\"id\":1}", v, strlen(v), 1 + produced / 50);
        if (rc == -EAGAIN)
            break;
        cr_assert_eq(rc, 0, "%d", rc);
        produced++;
        if (produced % 20 == 0)
            cr_assert_eq(pgcdc_sink_poll(s, 0, err, sizeof(err)), 0, "%s", err);
    }
    /* 200 lines of 1 KB do not fit in the pipe: the window is full. */
    cr_assert_eq(rc, -EAGAIN);
    cr_assert_eq(pgcdc_sink_in_flight(s), WINDOW);
    cr_assert_eq(pgcdc_sink_in_flight(s) + rec.n, produced);
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(pgcdc_sink_poll(s, 0, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(produce(s, "{\"id\":2}", "{}", 2, 99), -EAGAIN);
    }
    cr_assert_eq(pgcdc_sink_flush(s, 50, err, sizeof(err)), -ETIMEDOUT);
    cr_assert_eq(rec.during_produce, 0);
    cr_assert_lt(rec.n, 10, "%zu events reported that the pipe cannot hold", rec.n);

    /* The reader reads: everything arrives, reported once and in order. */
    deadline = now_ms() + 30000;
    while (rec.n < produced && now_ms() < deadline) {
        lines += drain(fds[0]);
        cr_assert_eq(pgcdc_sink_poll(s, 10, err, sizeof(err)), 0, "%s", err);
    }
    lines += drain(fds[0]);
    cr_assert_eq(rec.n, produced);
    cr_assert_eq(lines, produced, "%zu lines for %zu events", lines, produced);
    for (size_t i = 1; i < rec.n; i++)
        cr_assert_leq(rec.txn[i - 1], rec.txn[i], "reports out of produce order");
    cr_assert_eq(reports_for(99), 0);
    pgcdc_sink_free(&s);
    close(fds[0]);
    close(fds[1]);
}

/* A slow reader does not make pgcdc buffer the whole window in memory: the
 * sink takes events only while its buffers are within bounds. */
Test(sink_contract_stdout, a_slow_reader_bounds_the_buffered_bytes, .timeout = 60)
{
    const char *v = json_value(4000);
    char err[512] = "";
    size_t produced = 0;
    int64_t deadline = now_ms() + 30000;
    int fds[2], rc = 0;
    struct pgcdc_sink *s = make_stdout_pipe(100000, fds);

    while (now_ms() < deadline && produced < 100000) {
        rc = produce(s, "{\"id\":1}", v, strlen(v), 1);
        if (rc == -EAGAIN)
            break;
        cr_assert_eq(rc, 0, "%d", rc);
        produced++;
        cr_assert_eq(pgcdc_sink_poll(s, 0, err, sizeof(err)), 0, "%s", err);
    }
    cr_assert_eq(rc, -EAGAIN);
    /* Two buffers of about 1 MiB; far from the window's 400 MB. */
    cr_assert_lt(pgcdc_sink_in_flight(s) * 4000, 3u << 20, "%zu events buffered",
                 pgcdc_sink_in_flight(s));
    /* Freed while its writer waits for the reader: free does not wait. */
    pgcdc_sink_free(&s);
    close(fds[0]);
    close(fds[1]);
}

/* Helper for the write errors: produces, and serves until the error shows. */
static int produce_until_error(struct pgcdc_sink *s, char *err, size_t errlen)
{
    int64_t deadline = now_ms() + 30000;
    int rc;

    rc = produce(s, "{\"id\":1}", "{}", 2, 1);
    cr_assert_eq(rc, 0, "%d", rc);
    while ((rc = pgcdc_sink_poll(s, 10, err, errlen)) == 0 && now_ms() < deadline)
        ;
    return rc;
}

/* A reader that went away is fatal, says so, and nothing unwritten is
 * reported delivered; the error stays. */
Test(sink_contract_stdout, a_closed_pipe_is_fatal, .timeout = 60)
{
    char err[512] = "";
    int fds[2], rc;
    struct pgcdc_sink *s;
    struct sigaction ign = {.sa_handler = SIG_IGN};

    /* As main does: a closed output is a write error, not a death. */
    sigaction(SIGPIPE, &ign, NULL);
    s = make_stdout_pipe(10, fds);
    close(fds[0]);
    rc = produce_until_error(s, err, sizeof(err));
    cr_assert_eq(rc, -EPIPE, "%d %s", rc, err);
    cr_assert_not_null(strstr(err, "cannot write events to the output: "), "%s", err);
    cr_assert_not_null(strstr(err, "reader"), "%s", err);
    cr_assert_eq(rec.n, 0, "an event that was not written was reported");
    cr_assert_eq(produce(s, "{\"id\":2}", "{}", 2, 2), -EPIPE);
    cr_assert_eq(pgcdc_sink_flush(s, 1000, err, sizeof(err)), -EPIPE);
    cr_assert_eq(rec.n, 0);
    pgcdc_sink_free(&s);
    close(fds[1]);
}

/* A full disk likewise. */
Test(sink_contract_stdout, a_full_disk_is_fatal, .timeout = 60)
{
    struct pgcdc_sink *s = NULL;
    char err[512] = "";
    int fd = open("/dev/full", O_WRONLY | O_CLOEXEC), rc;

    cr_assert_geq(fd, 0);
    start();
    cr_assert_eq(pgcdc_stdout_sink_new(&s, fd, 10, record, &rec, err, sizeof(err)), 0, "%s", err);
    rc = produce_until_error(s, err, sizeof(err));
    cr_assert_eq(rc, -ENOSPC, "%d %s", rc, err);
    cr_assert_not_null(strstr(err, "cannot write events to the output: "), "%s", err);
    cr_assert_eq(rec.n, 0, "an event that was not written was reported");
    pgcdc_sink_free(&s);
    close(fd);
}
