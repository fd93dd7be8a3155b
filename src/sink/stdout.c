/*
 * stdout.c - events as JSON lines on a file descriptor.
 *
 * produce() appends a line to a buffer and remembers the event's transaction
 * handle (as runs of equal handles, so memory follows the number of
 * transactions buffered, not events). Once about 1 MiB is buffered, produce
 * writes it out, so a big transaction is written in large pieces without
 * holding it in memory; but it reports nothing: reports come only from
 * poll() and flush() (the contract of sink.h), which write what is left and
 * then report every event written, in produce order, exactly once. A failed
 * write (a closed pipe, a full disk) is fatal and nothing of what was
 * buffered since the last report is reported delivered.
 */
#include "pgcdc/stdout_sink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgcdc/buf.h"

/* Events of one transaction buffered back to back. */
struct txn_run {
    uint64_t txn;  /* tracker handle */
    size_t events; /* events of it in the buffer */
};

struct stdout_sink {
    struct pgcdc_sink base; /* must be first */
    int fd;                 /* where lines go */
    size_t max_in_flight;   /* produce answers -EAGAIN beyond this */
    struct pgcdc_buf out;   /* lines not yet written */
    struct txn_run *runs;   /* handles of the unreported events, in order */
    size_t nruns;           /* runs in use */
    size_t capruns;         /* runs allocated */
    size_t buffered;        /* events produced and not yet reported */
    int failed;             /* a write failed: negative errno, sticky */
};

/* Lines are written once this much is buffered, even before a poll. */
#define WRITE_THRESHOLD (1u << 20)

/* Writes the buffered lines. Reports nothing. */
static int write_out(struct stdout_sink *s, char *err, size_t errlen)
{
    size_t done = 0;

    if (s->failed) {
        snprintf(err, errlen, "cannot write events to the output: %s", strerror(-s->failed));
        return s->failed;
    }
    while (done < s->out.len) {
        ssize_t n = write(s->fd, s->out.data + done, s->out.len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            s->failed = -errno;
            snprintf(err, errlen, "cannot write events to the output: %s", strerror(errno));
            return s->failed;
        }
        done += (size_t)n;
    }
    pgcdc_buf_reset(&s->out);
    return 0;
}

/* Writes what is buffered, then reports every event produced so far. */
static int write_and_report(struct stdout_sink *s, char *err, size_t errlen)
{
    int rc = write_out(s, err, errlen);

    if (rc < 0)
        return rc;
    /* Everything produced is written now: report it, in produce order. */
    for (size_t i = 0; i < s->nruns; i++)
        for (size_t k = 0; k < s->runs[i].events; k++)
            s->base.on_delivery(s->base.on_delivery_arg, s->runs[i].txn, 0, NULL);
    s->nruns = 0;
    s->buffered = 0;
    return 0;
}

static int put_json_or_null(struct pgcdc_buf *b, const void *p, size_t n)
{
    if (p == NULL)
        return pgcdc_buf_append(b, "null", 4);
    return pgcdc_buf_append(b, p, n);
}

static int stdout_produce(struct pgcdc_sink *base, const struct pgcdc_sink_msg *m, char *err,
                          size_t errlen)
{
    struct stdout_sink *s = (struct stdout_sink *)base;
    size_t mark = s->out.len;

    if (s->failed)
        return write_out(s, err, errlen);
    if (s->buffered >= s->max_in_flight)
        return -EAGAIN;
    if (s->nruns == 0 || s->runs[s->nruns - 1].txn != m->txn) {
        if (s->nruns == s->capruns) {
            size_t cap = s->capruns ? s->capruns * 2 : 64;
            struct txn_run *r = realloc(s->runs, cap * sizeof(*r));

            if (r == NULL)
                goto nomem;
            s->runs = r;
            s->capruns = cap;
        }
        s->runs[s->nruns].txn = m->txn;
        s->runs[s->nruns].events = 0;
        s->nruns++;
    }
    /* The topic never needs escaping: it only holds [A-Za-z0-9._-]. */
    if (pgcdc_buf_append(&s->out, "{\"topic\":\"", 10) ||
        pgcdc_buf_append(&s->out, m->topic, strlen(m->topic)) ||
        pgcdc_buf_append(&s->out, "\",\"key\":", 8) ||
        put_json_or_null(&s->out, m->key, m->key_len) ||
        pgcdc_buf_append(&s->out, ",\"value\":", 9) ||
        put_json_or_null(&s->out, m->value, m->value_len) || pgcdc_buf_append(&s->out, "}\n", 2)) {
        s->out.len = mark;
        goto nomem;
    }
    s->runs[s->nruns - 1].events++;
    s->buffered++;
    if (s->out.len >= WRITE_THRESHOLD)
        return write_out(s, err, errlen);
    return 0;
nomem:
    snprintf(err, errlen, "out of memory buffering an event for '%s'", m->topic);
    return -ENOMEM;
}

static int stdout_poll(struct pgcdc_sink *base, int timeout_ms, char *err, size_t errlen)
{
    (void)timeout_ms;
    return write_and_report((struct stdout_sink *)base, err, errlen);
}

static size_t stdout_in_flight(const struct pgcdc_sink *base)
{
    return ((const struct stdout_sink *)base)->buffered;
}

static void stdout_free(struct pgcdc_sink *base)
{
    struct stdout_sink *s = (struct stdout_sink *)base;

    pgcdc_buf_free(&s->out);
    free(s->runs);
    free(s);
}

static const struct pgcdc_sink_ops stdout_ops = {
    .produce = stdout_produce,
    .poll = stdout_poll,
    .flush = stdout_poll,
    .in_flight = stdout_in_flight,
    .free = stdout_free,
};

int pgcdc_stdout_sink_new(struct pgcdc_sink **out, int fd, size_t max_in_flight,
                          pgcdc_sink_delivery_fn on_delivery, void *arg, char *err, size_t errlen)
{
    struct stdout_sink *s = calloc(1, sizeof(*s));

    *out = NULL;
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    s->base.ops = &stdout_ops;
    s->base.on_delivery = on_delivery;
    s->base.on_delivery_arg = arg;
    s->fd = fd;
    s->max_in_flight = max_in_flight ? max_in_flight : 1;
    *out = &s->base;
    return 0;
}
