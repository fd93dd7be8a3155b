/*
 * pipeline.h - the single event loop that drives pgcdc.
 *
 * Replication stream -> decoder -> relation cache and filters -> encoder ->
 * sink, with delivery reports feeding the checkpoint tracker, and the safe
 * LSN persisted and confirmed to the server on a timer.
 */
#ifndef PGCDC_PIPELINE_H
#define PGCDC_PIPELINE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct pgcdc_config;
struct pgcdc_pipeline;

/* Builds every stage from cfg (borrowed; must outlive the pipeline). The
 * loop returns once *stop becomes non-zero. No connection is made yet. */
int pgcdc_pipeline_new(struct pgcdc_pipeline **out /* OUT */, const struct pgcdc_config *cfg,
                       volatile sig_atomic_t *stop, char *err, size_t errlen);

/* Connects, prepares the publication and the slot, and streams until *stop
 * is set (then delivers what was received, confirms it and returns 0) or a
 * fatal error (negative errno, text in err, already logged before the final
 * summary line; nothing undelivered confirmed). A lost connection is retried
 * with backoff. */
int pgcdc_pipeline_run(struct pgcdc_pipeline *p, char *err, size_t errlen);

/* Sets every kafka.* property of cfg on a scratch librdkafka configuration,
 * so that a misspelt or invalid one is a configuration error before anything
 * runs. 0, or a negative errno with text in err. */
int pgcdc_pipeline_check_kafka(const struct pgcdc_config *cfg, char *err, size_t errlen);

/* Asks the pgcdc running with cfg to read tables again as incremental
 * snapshots: args are schema.table names, or stop-snapshot,
 * pause-snapshot, resume-snapshot. The request goes into
 * <offset file>.signal, which the running pgcdc takes within a second;
 * one still waiting there is waited for, timeout_ms at most. 0 or a
 * negative errno with text in err. */
int pgcdc_pipeline_request(const struct pgcdc_config *cfg, const char *const *args, int n,
                           int timeout_ms, char *err, size_t errlen);

/* Asks the Kafka cluster of cfg's kafka.* settings for its metadata, at
 * most timeout_ms: 0 with what answered in info, or a negative errno with
 * the reason in err (pgcdc_kafka_sink_probe). */
int pgcdc_pipeline_probe_kafka(const struct pgcdc_config *cfg, int timeout_ms,
                               char *info /* OUT */, size_t infolen, char *err, size_t errlen);

/* After a failed run: true when no retry can cure the error (a setup
 * problem, a dropped or invalidated slot or publication, refused
 * credentials, a position mismatch), so a person must act. */
bool pgcdc_pipeline_needs_person(const struct pgcdc_pipeline *p);

/* *hup is set by a SIGHUP handler; the loop logs it and clears it. */
void pgcdc_pipeline_set_hup(struct pgcdc_pipeline *p, volatile sig_atomic_t *hup);

/* Frees everything; sets *pp to NULL. NULL-safe. */
void pgcdc_pipeline_free(struct pgcdc_pipeline **pp);

#endif
