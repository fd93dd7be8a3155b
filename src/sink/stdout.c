/*
 * stdout.c - events as JSON lines on a file descriptor.
 *
 * write(2) to a pipe whose reader is slow blocks, and the descriptor (fd 1)
 * is shared with whoever started pgcdc, so it is not made non-blocking.
 * Writing is left to a thread of the sink's own, with two buffers: produce()
 * appends a line to one and remembers the event's transaction handle (as
 * runs of equal handles, so memory follows the number of transactions
 * buffered, not events), while the writer writes the other. A buffer goes to
 * the writer as soon as it is free (from produce(), poll() or flush()); the
 * writer signals an eventfd when it is done, which is the sink's descriptor.
 * Reports come only from poll() and flush() (the contract of sink.h): they
 * report the events of the buffer written, in produce order, exactly once,
 * and hand over the next one. So the loop never waits for the reader: with
 * both buffers taken (the one being written, one of WRITE_LIMIT bytes or of
 * the whole window) produce() answers -EAGAIN, and memory stays within two
 * buffers of WRITE_LIMIT and a line each, whatever the window.
 *
 * A failed write (a closed pipe, a full disk) is fatal: nothing of the
 * buffer being written, nor anything after it, is reported delivered.
 * free() does not wait for a reader that does not read: a writer still in
 * write(2) is left to finish and frees the sink itself (at exit, or once
 * the reader reads or goes); none of its events is reported.
 */
#include "pgcdc/stdout_sink.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "pgcdc/buf.h"
#include "pgcdc/clock.h"

/* Events of one transaction buffered back to back. */
struct txn_run {
    uint64_t txn;  /* tracker handle */
    size_t events; /* events of it in the buffer */
};

/* Lines and the handles of their events. */
struct batch {
    struct pgcdc_buf out; /* lines */
    struct txn_run *runs; /* handles of its events, in order */
    size_t nruns;         /* runs in use */
    size_t capruns;       /* runs allocated */
    size_t events;        /* events in it */
};

struct stdout_sink {
    struct pgcdc_sink base; /* must be first */
    int fd;                 /* where lines go */
    size_t max_in_flight;   /* produce answers -EAGAIN beyond this */
    struct batch batch[2];  /* one filled by produce, one with the writer */
    struct batch *fill;     /* the one produce appends to */
    struct batch *sent;     /* the one handed to the writer until reported, or NULL */
    int failed;             /* a write failed: negative errno, sticky */
    int efd;                /* eventfd, readable while done is set */
    pthread_t writer;       /* writes what it is handed */
    bool started;           /* writer runs */
    pthread_mutex_t lock;   /* guards the fields below */
    pthread_cond_t wake;    /* todo or quit was set */
    struct batch *todo;     /* handed to the writer, not taken yet */
    bool writing;           /* the writer is in write(2) */
    bool done;              /* the writer is through with sent */
    int write_errno;        /* ... and its write failed with this, else 0 */
    bool quit;              /* free(): the writer ends */
    bool orphaned;          /* free() left the sink to the writer, which frees it */
};

/* A buffer goes to the writer while it is busy only up to this size. */
#define WRITE_LIMIT (1u << 20)

static void destroy(struct stdout_sink *s);

/* Writes all of b to fd: 0, or the errno of the failure. */
static int write_all(int fd, const struct batch *b)
{
    size_t done = 0;

    while (done < b->out.len) {
        ssize_t n = write(fd, b->out.data + done, b->out.len - done);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        done += (size_t)n;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    struct stdout_sink *s = arg;
    const uint64_t one = 1;

    pthread_mutex_lock(&s->lock);
    for (;;) {
        struct batch *b;
        int e;

        while (s->todo == NULL && !s->quit)
            pthread_cond_wait(&s->wake, &s->lock);
        if (s->quit)
            break;
        b = s->todo;
        s->todo = NULL;
        s->writing = true;
        pthread_mutex_unlock(&s->lock);
        e = write_all(s->fd, b);
        pthread_mutex_lock(&s->lock);
        s->writing = false;
        if (s->orphaned) {
            pthread_mutex_unlock(&s->lock);
            destroy(s);
            return NULL;
        }
        s->done = true;
        s->write_errno = e;
        /* Under the lock, so the descriptor is readable exactly while done
         * is set. Adding 1 to a counter that serve() resets cannot fail. */
        (void)!write(s->efd, &one, sizeof(one));
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* Gives the fill buffer to the writer, which must be free. */
static void hand_over(struct stdout_sink *s)
{
    pthread_mutex_lock(&s->lock);
    s->todo = s->fill;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    s->sent = s->fill;
    s->fill = s->fill == &s->batch[0] ? &s->batch[1] : &s->batch[0];
}

static int sticky_error(struct stdout_sink *s, char *err, size_t errlen)
{
    snprintf(err, errlen, "cannot write events to the output: %s%s", strerror(-s->failed),
             s->failed == -EPIPE ? " (the reader of pgcdc's output has gone)" : "");
    return s->failed;
}

/*
 * Hands the fill buffer to the writer if it is free; then waits for the
 * writer at most wait_ms (-1: no limit), and if it is through, reports the
 * events it wrote, in produce order, and hands over the next buffer. A
 * failed write is the sink's fatal error.
 */
static int serve(struct stdout_sink *s, int wait_ms, char *err, size_t errlen)
{
    struct batch *b = s->sent;
    bool done;
    int e = 0;

    if (s->failed)
        return sticky_error(s, err, errlen);
    if (b == NULL && s->fill->events > 0) {
        hand_over(s);
        b = s->sent;
    }
    if (b == NULL)
        return 0;
    if (wait_ms != 0) {
        struct pollfd pfd = {.fd = s->efd, .events = POLLIN};

        poll(&pfd, 1, wait_ms);
    }
    pthread_mutex_lock(&s->lock);
    done = s->done;
    if (done) {
        uint64_t n;

        e = s->write_errno;
        s->done = false;
        /* Resets the counter; done was set with it. */
        (void)!read(s->efd, &n, sizeof(n));
    }
    pthread_mutex_unlock(&s->lock);
    if (!done)
        return 0;
    if (e != 0) {
        s->failed = -e;
        return sticky_error(s, err, errlen);
    }
    s->sent = NULL;
    for (size_t i = 0; i < b->nruns; i++)
        for (size_t k = 0; k < b->runs[i].events; k++)
            s->base.on_delivery(s->base.on_delivery_arg, b->runs[i].txn, 0, NULL);
    pgcdc_buf_reset(&b->out);
    b->nruns = 0;
    b->events = 0;
    if (s->fill->events > 0)
        hand_over(s);
    return 0;
}

static int put_json_or_null(struct pgcdc_buf *b, const void *p, size_t n)
{
    if (p == NULL)
        return pgcdc_buf_append(b, "null", 4);
    return pgcdc_buf_append(b, p, n);
}

static size_t stdout_in_flight(const struct pgcdc_sink *base)
{
    const struct stdout_sink *s = (const struct stdout_sink *)base;

    return s->fill->events + (s->sent ? s->sent->events : 0);
}

static int stdout_produce(struct pgcdc_sink *base, const struct pgcdc_sink_msg *m, char *err,
                          size_t errlen)
{
    struct stdout_sink *s = (struct stdout_sink *)base;
    struct batch *b = s->fill;
    size_t mark = b->out.len;

    if (s->failed)
        return sticky_error(s, err, errlen);
    if (stdout_in_flight(base) >= s->max_in_flight ||
        (s->sent != NULL && b->out.len >= WRITE_LIMIT))
        return -EAGAIN;
    if (b->nruns == 0 || b->runs[b->nruns - 1].txn != m->txn) {
        if (b->nruns == b->capruns) {
            size_t cap = b->capruns ? b->capruns * 2 : 64;
            struct txn_run *r = realloc(b->runs, cap * sizeof(*r));

            if (r == NULL)
                goto nomem;
            b->runs = r;
            b->capruns = cap;
        }
        b->runs[b->nruns].txn = m->txn;
        b->runs[b->nruns].events = 0;
        b->nruns++;
    }
    /* The topic never needs escaping: it only holds [A-Za-z0-9._-]. */
    if (pgcdc_buf_append(&b->out, "{\"topic\":\"", 10) ||
        pgcdc_buf_append(&b->out, m->topic, strlen(m->topic)) ||
        pgcdc_buf_append(&b->out, "\",\"key\":", 8) ||
        put_json_or_null(&b->out, m->key, m->key_len) ||
        pgcdc_buf_append(&b->out, ",\"value\":", 9) ||
        put_json_or_null(&b->out, m->value, m->value_len) || pgcdc_buf_append(&b->out, "}\n", 2)) {
        b->out.len = mark;
        if (b->runs[b->nruns - 1].events == 0)
            b->nruns--;
        goto nomem;
    }
    b->runs[b->nruns - 1].events++;
    b->events++;
    /* Written at once when the writer is free; reported by a later poll. */
    if (s->sent == NULL)
        hand_over(s);
    return 0;
nomem:
    snprintf(err, errlen, "out of memory buffering an event for '%s'", m->topic);
    return -ENOMEM;
}

static int stdout_poll(struct pgcdc_sink *base, int timeout_ms, char *err, size_t errlen)
{
    return serve((struct stdout_sink *)base, timeout_ms, err, errlen);
}

static int stdout_flush(struct pgcdc_sink *base, int timeout_ms, char *err, size_t errlen)
{
    struct stdout_sink *s = (struct stdout_sink *)base;
    int64_t deadline = pgcdc_mono_ms() + timeout_ms;
    int rc;

    for (;;) {
        int wait = -1;

        if (timeout_ms >= 0) {
            int64_t left = deadline - pgcdc_mono_ms();

            wait = left > 0 ? (int)left : 0;
        }
        rc = serve(s, wait, err, errlen);
        if (rc < 0 || stdout_in_flight(base) == 0)
            return rc;
        if (wait == 0) {
            snprintf(err, errlen,
                     "%zu event(s) not written to the output yet: its reader does not keep up",
                     stdout_in_flight(base));
            return -ETIMEDOUT;
        }
    }
}

static int stdout_fd(const struct pgcdc_sink *base)
{
    return ((const struct stdout_sink *)base)->efd;
}

/* Frees what the sink holds; its writer has ended or is ending. */
static void destroy(struct stdout_sink *s)
{
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    if (s->efd >= 0)
        close(s->efd);
    for (int i = 0; i < 2; i++) {
        pgcdc_buf_free(&s->batch[i].out);
        free(s->batch[i].runs);
    }
    free(s);
}

static void stdout_free(struct pgcdc_sink *base)
{
    struct stdout_sink *s = (struct stdout_sink *)base;

    if (s->started) {
        pthread_mutex_lock(&s->lock);
        if (s->writing) {
            /* A reader that does not read would hold free() for good: the
             * writer frees the sink once its write returns. */
            s->orphaned = true;
            pthread_mutex_unlock(&s->lock);
            pthread_detach(s->writer);
            return;
        }
        s->quit = true;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->writer, NULL);
    }
    destroy(s);
}

static const struct pgcdc_sink_ops stdout_ops = {
    .produce = stdout_produce,
    .poll = stdout_poll,
    .flush = stdout_flush,
    .in_flight = stdout_in_flight,
    .fd = stdout_fd,
    .free = stdout_free,
};

int pgcdc_stdout_sink_new(struct pgcdc_sink **out, int fd, size_t max_in_flight,
                          pgcdc_sink_delivery_fn on_delivery, void *arg, char *err, size_t errlen)
{
    struct stdout_sink *s = calloc(1, sizeof(*s));
    sigset_t all, old;
    int rc;

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
    s->fill = &s->batch[0];
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s->efd < 0) {
        rc = -errno;
        snprintf(err, errlen, "stdout sink: cannot create an eventfd: %s", strerror(errno));
        stdout_free(&s->base);
        return rc;
    }
    /* Signals are for the loop's thread: the writer blocks them all (a
     * closed pipe is EPIPE from write, SIGPIPE being ignored or blocked). */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = -pthread_create(&s->writer, NULL, writer_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0) {
        snprintf(err, errlen, "stdout sink: cannot start its writer thread: %s", strerror(-rc));
        stdout_free(&s->base);
        return rc;
    }
    s->started = true;
    *out = &s->base;
    return 0;
}
