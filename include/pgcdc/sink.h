/*
 * sink.h - where encoded change events go.
 *
 * A sink takes one encoded event at a time (topic, key bytes, value bytes or
 * NULL for a tombstone) and later reports whether it was durably delivered.
 * The report carries the caller's `txn` handle (the checkpoint tracker's
 * transaction handle) so the pipeline can move the safe LSN.
 *
 * The contract every sink keeps (tests/unit/test_sink_contract.c runs the
 * same cases against each implementation):
 *
 *  1. Exactly one report per event that produce accepted (returned 0), with
 *     that event's txn; none for an event it refused (any negative return:
 *     nothing was queued).
 *  2. Reports are delivered only from inside poll() or flush(), on the
 *     caller's thread, never from produce() or free(): the caller counts an
 *     event in the tracker before producing it and may rely on no report
 *     arriving before produce returns.
 *  3. in_flight() is the number of accepted events not yet reported.
 *  4. produce() never waits: when the sink cannot take the event now (its
 *     window of max_in_flight events is full, a queue is full, a topic is
 *     still being looked up or created) it returns -EAGAIN and the caller
 *     tries again after a poll. Any other negative return is fatal.
 *  5. flush() returns 0 only once every accepted event is reported;
 *     -ETIMEDOUT when timeout_ms passed first (the rest stays in flight).
 *  6. A fatal error is sticky: every later produce, poll and flush returns
 *     it, and nothing that was not delivered is reported as delivered.
 *  7. fd() is -1 or a descriptor that becomes readable when poll() has
 *     reports to serve, so the loop can wait in one poll(2) for it and the
 *     replication socket; poll() clears it.
 *
 * The caller (the pipeline) treats a report its tracker does not expect as
 * a broken contract: it stops and confirms nothing further.
 *
 * Implementations: stdout (one JSON line per event; delivered once written)
 * and kafka (librdkafka; delivered on the broker's ack).
 */
#ifndef PGCDC_SINK_H
#define PGCDC_SINK_H

#include <stddef.h>
#include <stdint.h>

struct pgcdc_config;
struct pgcdc_sink;

/* One event to publish. The sink copies what it keeps; the caller's buffers
 * may be reused as soon as produce returns. */
struct pgcdc_sink_msg {
    const char *topic;    /* Kafka topic name */
    const void *key;      /* key bytes, NULL for a keyless table */
    size_t key_len;       /* bytes at key */
    const void *value;    /* value bytes, NULL for a tombstone */
    size_t value_len;     /* bytes at value */
    int64_t timestamp_ms; /* event time for the record, 0 = now */
    uint64_t txn;         /* tracker handle, handed back in the delivery report */
};

/* Called once per produced event, from poll or flush. err is 0 on durable
 * delivery, else a negative errno with errstr saying why (the event may be
 * lost: the caller must not move its position past txn). */
typedef void (*pgcdc_sink_delivery_fn)(void *arg, uint64_t txn, int err, const char *errstr);

struct pgcdc_sink_ops {
    /* Queues one event without waiting and without reporting anything. 0;
     * -EAGAIN when it cannot be taken now (backpressure: poll and try again,
     * nothing was queued); another negative errno on a fatal error, with
     * text in err. */
    int (*produce)(struct pgcdc_sink *s, const struct pgcdc_sink_msg *msg, char *err,
                   size_t errlen);
    /* Serves delivery reports, waiting at most timeout_ms. Returns 0, or a
     * negative errno on a fatal sink error with text in err. */
    int (*poll)(struct pgcdc_sink *s, int timeout_ms, char *err, size_t errlen);
    /* Waits until every queued event has a delivery report, at most
     * timeout_ms (-1 = no limit). 0, -ETIMEDOUT, or another negative errno. */
    int (*flush)(struct pgcdc_sink *s, int timeout_ms, char *err, size_t errlen);
    /* Events queued and not yet reported. */
    size_t (*in_flight)(const struct pgcdc_sink *s);
    /* A descriptor that becomes readable when poll has reports to serve,
     * for the loop's poll(2); -1 when the sink has none (the loop then
     * polls the sink on every pass while events are in flight). */
    int (*fd)(const struct pgcdc_sink *s);
    /* Releases everything; undelivered events get no report. */
    void (*free)(struct pgcdc_sink *s);
};

/* Common head of every sink; implementations embed it first. */
struct pgcdc_sink {
    const struct pgcdc_sink_ops *ops;   /* the implementation */
    pgcdc_sink_delivery_fn on_delivery; /* delivery report callback */
    void *on_delivery_arg;              /* its argument */
};

static inline int pgcdc_sink_produce(struct pgcdc_sink *s, const struct pgcdc_sink_msg *msg,
                                     char *err, size_t errlen)
{
    return s->ops->produce(s, msg, err, errlen);
}

static inline int pgcdc_sink_poll(struct pgcdc_sink *s, int timeout_ms, char *err, size_t errlen)
{
    return s->ops->poll(s, timeout_ms, err, errlen);
}

static inline int pgcdc_sink_flush(struct pgcdc_sink *s, int timeout_ms, char *err, size_t errlen)
{
    return s->ops->flush(s, timeout_ms, err, errlen);
}

static inline size_t pgcdc_sink_in_flight(const struct pgcdc_sink *s)
{
    return s->ops->in_flight(s);
}

static inline int pgcdc_sink_fd(const struct pgcdc_sink *s)
{
    return s->ops->fd ? s->ops->fd(s) : -1;
}

/* Frees a sink of any kind and sets *sp to NULL. NULL-safe. */
static inline void pgcdc_sink_free(struct pgcdc_sink **sp)
{
    if (sp && *sp) {
        (*sp)->ops->free(*sp);
        *sp = NULL;
    }
}

#endif
