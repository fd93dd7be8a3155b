/*
 * kafka_sink.h - the Kafka implementation of the sink interface (sink.h).
 *
 * One librdkafka idempotent producer. Every event becomes one Kafka record
 * (topic, key, value or a tombstone, timestamp); its delivery report is
 * handed to the caller's on_delivery exactly once, from inside
 * pgcdc_sink_poll() or pgcdc_sink_flush(), with the caller's txn handle.
 *
 * Defaults, applied before the caller's properties (which may override any):
 *
 *   enable.idempotence=true        acks=all, unlimited retries, per-partition
 *                                  order without duplicates
 *   partitioner=murmur2_random     keyed records land on the partition the
 *                                  Java client (and so Debezium) would pick
 *   message.timeout.ms=0           a record is never given up locally: a
 *                                  broker that is down means backpressure and
 *                                  catching up later, never a lost event
 *   compression.type=lz4           change events are repetitive text or Avro
 *                                  and shrink well; lz4 is the cheapest codec
 *                                  in CPU and runs on librdkafka's threads
 *   linger.ms=5                    small batches for low latency
 *   queue.buffering.max.messages   at least max_in_flight (min 100000), so the
 *                                  sink's own window is the usual limit
 *   allow.auto.create.topics=false topics are created by the sink with the
 *                                  configured partitions, replication and
 *                                  cleanup policy, not by a metadata request
 *
 * A failed delivery is reported with a negative errno (-EIO, -EMSGSIZE,
 * -EACCES, -ETIMEDOUT when message.timeout.ms is set) and text naming the
 * topic and partition, librdkafka's reason and whether the record may have
 * been written anyway: "(not written)", "(possibly written)" or "(written)".
 * A fatal producer error makes every later produce, poll and flush return
 * -EIO with librdkafka's text. Logs go through log.h.
 *
 * The first time a topic is produced to, the sink asks the cluster for its
 * metadata and, if the topic does not exist, creates it through the Admin API
 * (an existing topic is left as it is). Both steps wait a bounded time on the
 * caller's thread; if the cluster cannot be reached the produce returns
 * -EAGAIN and the next produce tries again. Known topics are cached: producing
 * to one allocates nothing.
 */
#ifndef PGCDC_KAFKA_SINK_H
#define PGCDC_KAFKA_SINK_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "pgcdc/sink.h"

struct pgcdc_kafka_opts {
    const char *const *props; /* librdkafka name/value pairs: props[2i], props[2i+1] */
    size_t nprops;            /* number of pairs (props holds 2 * nprops strings) */
    int topic_partitions;     /* partitions of a created topic; <= 0 = broker default */
    int topic_replication;    /* replication factor of a created topic; -1 = broker default */
    const char *topic_cleanup_policy; /* "delete", "compact", "compact,delete" or NULL = broker's */
    size_t max_in_flight;             /* produce returns -EAGAIN at this many; 0 = no own limit */
};

/* Creates a Kafka sink; its reports go to on_delivery(arg, ...). Every
 * property is applied after pgcdc's defaults; a bad name or value fails with
 * -EINVAL and text naming the property. 0 or a negative errno. Does not
 * connect: the first produce does. */
int pgcdc_kafka_sink_new(struct pgcdc_sink **out /* OUT */, const struct pgcdc_kafka_opts *opts,
                         pgcdc_sink_delivery_fn on_delivery, void *arg, char *err, size_t errlen);

/* Sets pgcdc's defaults and every property of opts on a scratch librdkafka
 * configuration, as pgcdc_kafka_sink_new() would, and makes a producer of it
 * that knows no broker (so it connects nowhere): 0, or -EINVAL with text
 * naming the first unknown or invalid property, or the conflict. For
 * checking a configuration before it is run. */
int pgcdc_kafka_sink_check_conf(const struct pgcdc_kafka_opts *opts, char *err, size_t errlen);

/* Asks the cluster for its metadata with the producer pgcdc_kafka_sink_new()
 * would make, waiting at most timeout_ms: 0 with "reachable: ..." in info,
 * or a negative errno (-ETIMEDOUT when no broker answered) with
 * librdkafka's reason in err. Produces nothing, creates no topic. */
int pgcdc_kafka_sink_probe(const struct pgcdc_kafka_opts *opts, int timeout_ms,
                           char *info /* OUT */, size_t infolen, char *err, size_t errlen);

/* The librdkafka handle of a sink made by pgcdc_kafka_sink_new, for
 * statistics and tests; it stays owned by the sink. */
rd_kafka_t *pgcdc_kafka_sink_handle(struct pgcdc_sink *s);

#endif
