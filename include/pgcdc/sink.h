/*
 * sink.h - where encoded change events go.
 *
 * A sink takes one encoded event at a time (topic, key bytes, value bytes or
 * NULL for a tombstone) and later reports, exactly once per event, whether it
 * was durably delivered. The report carries the caller's `txn` handle (the
 * checkpoint tracker's transaction handle) so the pipeline can move the safe
 * LSN. Reports are only ever delivered from inside pgcdc_sink_poll() or
 * pgcdc_sink_flush(), on the caller's thread.
 *
 * Implementations: stdout (one JSON line per event; delivered once written
 * and flushed) and kafka (librdkafka; delivered on the broker's ack).
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

/* Called once per produced event. err is 0 on durable delivery, else a
 * negative errno with errstr saying why (the event may be lost: the caller
 * must not move its position past txn). */
typedef void (*pgcdc_sink_delivery_fn)(void *arg, uint64_t txn, int err, const char *errstr);

struct pgcdc_sink_ops {
    /* Queues one event. 0; -EAGAIN when the queue is full (backpressure:
     * poll and try again, nothing was queued); another negative errno on a
     * fatal error, with text in err. */
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

/* Frees a sink of any kind and sets *sp to NULL. NULL-safe. */
static inline void pgcdc_sink_free(struct pgcdc_sink **sp)
{
    if (sp && *sp) {
        (*sp)->ops->free(*sp);
        *sp = NULL;
    }
}

#endif
