/*
 * kafka.c - the Kafka sink: a librdkafka idempotent producer behind the sink
 * interface of sink.h.
 *
 * Each event is one record produced with rd_kafka_producev(): the key and
 * value are copied (the caller reuses its buffers), a NULL value is a
 * tombstone, and the caller's txn handle rides along as the message opaque.
 * librdkafka calls dr_msg_cb exactly once per record from rd_kafka_poll() or
 * rd_kafka_flush() on the caller's thread; it hands the txn back to
 * on_delivery with 0 or a negative errno and text naming the topic, the
 * partition, the error and whether the record may have been written anyway.
 *
 * Backpressure: produce returns -EAGAIN with nothing queued when the sink's
 * own window (max_in_flight, counted as produced minus reported) is full or
 * when librdkafka's queue is (RD_KAFKA_RESP_ERR__QUEUE_FULL). With the default
 * message.timeout.ms=0 librdkafka retries a record for as long as it takes, so
 * a broker that is down stops deliveries and fills the window instead of
 * failing events.
 *
 * Fatal errors (rd_kafka_fatal_error(), e.g. the idempotent producer losing
 * its sequence) reach error_cb during a poll; the sink remembers the text and
 * every later produce, poll and flush returns -EIO with it, so the pipeline
 * stops without confirming anything that was not delivered. Other errors that
 * error_cb sees (brokers down, connection refused) are transient: librdkafka
 * retries and reports each failed attempt, so the first error of an outage
 * is logged, the later ones counted, and the next delivery ends the outage
 * with a line that gives the count (librdkafka's own "FAIL" log lines, one
 * per attempt, go to debug level).
 *
 * The loop learns that reports are waiting from a descriptor: librdkafka
 * writes a byte into a pipe whenever its main queue (the one rd_kafka_poll
 * serves) goes from empty to not empty (rd_kafka_queue_io_event_enable);
 * poll empties the pipe before serving the queue, so no wake-up is lost.
 *
 * Topics: the first produce to a topic looks it up in the cluster metadata
 * and creates it through the Admin API if it is missing, then caches the
 * topic handle in an open-addressing hash set keyed by name, so later
 * produces to it allocate nothing and skip librdkafka's own lookup by name.
 * Looking up and creating take round trips to the cluster (seconds when it
 * is slow or down) and librdkafka 2.0 has no asynchronous metadata request,
 * so they run on a helper thread, one topic at a time: produce starts it and
 * answers -EAGAIN until it is done (the loop holds the event meanwhile), the
 * thread wakes the loop through the same pipe when it ends, and the loop's
 * thread alone touches the topic set. The thread only calls librdkafka's
 * thread-safe functions and notices free() within half a second.
 */
#include "pgcdc/kafka_sink.h"
#include "pgcdc/clock.h"
#include "pgcdc/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(uintptr_t) >= sizeof(uint64_t),
               "the txn handle travels as librdkafka's per-message void * opaque");

/* How long the helper thread tries each step of making sure a topic exists
 * (metadata, creation, seeing it created). */
#define KAFKA_TOPIC_TIMEOUT_MS 5000

/* The helper thread waits in slices this long, to notice free(). */
#define KAFKA_TOPIC_SLICE_MS 500

/* States of the topic helper thread (struct topic_job.state). */
enum { JOB_IDLE, JOB_RUNNING, JOB_DONE };

/* The lookup (and creation) of one topic on the helper thread. */
struct topic_job {
    pthread_t thread;     /* the helper, joinable unless state is JOB_IDLE */
    atomic_int state;     /* JOB_IDLE, JOB_RUNNING, or JOB_DONE (result below is set) */
    atomic_bool cancel;   /* set by free: give up as soon as possible */
    char *name;           /* the topic, owned */
    rd_kafka_topic_t *rkt; /* its handle, owned until taken */
    int rc;               /* outcome: 0, or a negative errno (-EAGAIN: try again later) */
    char err[512];        /* text of a failure */
};

/* Lower bound of queue.buffering.max.messages (librdkafka's default). */
#define KAFKA_MIN_QUEUE_MESSAGES 100000

/* Initial number of slots of the topic set (a power of two). */
#define KAFKA_TOPICS_INITIAL 16

struct kafka_topic {
    char *name;            /* topic name, owned; NULL = empty slot */
    uint64_t hash;         /* FNV-1a of name */
    rd_kafka_topic_t *rkt; /* librdkafka handle, owned */
};

struct kafka_sink {
    struct pgcdc_sink base;     /* common head, must be first */
    rd_kafka_t *rk;             /* the producer */
    rd_kafka_queue_t *mainq;    /* its main queue, with io events to wake_fd[1] */
    int wake_fd[2];             /* pipe: readable when mainq has reports, -1 = none */
    struct topic_job job;       /* the topic being looked up, if any */
    struct kafka_topic *topics; /* hash set of known topics */
    size_t topics_cap;          /* slots in topics, a power of two */
    size_t topics_len;          /* used slots */
    int topic_partitions;       /* partitions of a created topic, -1 = broker default */
    int topic_replication;      /* replication of a created topic, -1 = broker default */
    char *topic_cleanup_policy; /* cleanup.policy of a created topic, NULL = broker's */
    size_t max_in_flight;       /* produce gives -EAGAIN at this many, 0 = no limit */
    uint64_t produced;          /* records accepted by produce */
    uint64_t reported;          /* delivery reports handed to on_delivery */
    bool closing;               /* set by free: reports are dropped, not handed on */
    bool fatal;                 /* a fatal producer error happened; see fatal_text */
    char fatal_text[512];       /* why the producer is unusable */
    char report_text[512];      /* errstr of the failed delivery being reported */
    bool outage;                /* error_cb reported an error since the last delivery */
    uint64_t outage_errors;     /* errors error_cb reported during the outage */
    int64_t outage_since_ms;    /* when its first error came (CLOCK_MONOTONIC) */
};

static uint64_t topic_hash(const char *name)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3u;
    }
    return h;
}

/* The slot holding name, or the empty slot where it would go. */
static struct kafka_topic *topic_slot(struct kafka_topic *slots, size_t cap, const char *name,
                                      uint64_t hash)
{
    size_t i = (size_t)hash & (cap - 1);
    while (slots[i].name && (slots[i].hash != hash || strcmp(slots[i].name, name) != 0))
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Takes ownership of name and rkt. 0 or -ENOMEM (nothing taken). */
static int topic_add(struct kafka_sink *s, char *name, rd_kafka_topic_t *rkt)
{
    if ((s->topics_len + 1) * 2 > s->topics_cap) {
        size_t cap = s->topics_cap ? s->topics_cap * 2 : KAFKA_TOPICS_INITIAL;
        struct kafka_topic *slots = calloc(cap, sizeof(*slots));
        if (!slots)
            return -ENOMEM;
        for (size_t i = 0; i < s->topics_cap; i++) {
            if (s->topics[i].name)
                *topic_slot(slots, cap, s->topics[i].name, s->topics[i].hash) = s->topics[i];
        }
        free(s->topics);
        s->topics = slots;
        s->topics_cap = cap;
    }
    uint64_t hash = topic_hash(name);
    struct kafka_topic *t = topic_slot(s->topics, s->topics_cap, name, hash);
    t->name = name;
    t->hash = hash;
    t->rkt = rkt;
    s->topics_len++;
    return 0;
}

static rd_kafka_topic_t *topic_find(const struct kafka_sink *s, const char *name)
{
    if (!s->topics_len)
        return NULL;
    struct kafka_topic *t = topic_slot(s->topics, s->topics_cap, name, topic_hash(name));
    return t->name ? t->rkt : NULL;
}

/* Records librdkafka's fatal error, if there is one. True when there is. */
static bool check_fatal(struct kafka_sink *s)
{
    if (s->fatal)
        return true;
    char reason[384];
    rd_kafka_resp_err_t e = rd_kafka_fatal_error(s->rk, reason, sizeof(reason));
    if (!e)
        return false;
    snprintf(s->fatal_text, sizeof(s->fatal_text), "kafka producer fatal error: %s: %s",
             rd_kafka_err2name(e), reason);
    s->fatal = true;
    return true;
}

static int fatal_result(struct kafka_sink *s, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s", s->fatal_text);
    return -EIO;
}

/* librdkafka's error_cb, served by rd_kafka_poll() on the caller's thread.
 * Brokers down or unreachable: librdkafka retries on its own and reports
 * every failed attempt, so an outage is logged once, at its first error;
 * the later ones are counted (and logged at debug level) until a record is
 * delivered again, which on_delivery_report logs with the count. */
static void on_error(rd_kafka_t *rk, int e, const char *reason, void *opaque)
{
    struct kafka_sink *s = opaque;
    (void)rk;
    if (e == RD_KAFKA_RESP_ERR__FATAL && check_fatal(s)) {
        pgcdc_log_error("kafka: %s", s->fatal_text);
        return;
    }
    if (s->outage) {
        s->outage_errors++;
        pgcdc_log_debug("kafka: %s: %s", rd_kafka_err2str((rd_kafka_resp_err_t)e), reason);
        return;
    }
    s->outage = true;
    s->outage_errors = 1;
    s->outage_since_ms = pgcdc_mono_ms();
    pgcdc_log_warn("kafka: %s: %s (further errors are counted until Kafka accepts records again)",
                   rd_kafka_err2str((rd_kafka_resp_err_t)e), reason);
}

/* Ends an outage: logs how long it lasted and how many errors it had. */
static void outage_over(struct kafka_sink *s, bool delivered)
{
    char count[24];

    if (!s->outage)
        return;
    snprintf(count, sizeof(count), "%" PRIu64, s->outage_errors);
    pgcdc_log_with(delivered ? PGCDC_LOG_INFO : PGCDC_LOG_WARN,
                   PGCDC_LOG_FIELDS({"errors", count}),
                   delivered ? "kafka: records delivered again after %.1f s and %" PRIu64
                               " error(s)"
                             : "kafka: stopping with the brokers unreachable for %.1f s, after "
                               "%" PRIu64 " error(s)",
                   (double)(pgcdc_mono_ms() - s->outage_since_ms) / 1000.0, s->outage_errors);
    s->outage = false;
    s->outage_errors = 0;
}

/* True for a warning librdkafka logs while a healthy broker warms up: the
 * idempotent producer asks for its producer id before the broker has loaded
 * its transaction coordinator, is told to come back, and does so on its own.
 * Only that exact transient is meant; any other GETPID failure stays a
 * warning. */
static bool warmup_transient(const char *fac, const char *buf)
{
    return strcmp(fac, "GETPID") == 0 && strstr(buf, "Coordinator load in progress") != NULL;
}

/* librdkafka's own log lines (syslog levels), from any of its threads. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    enum pgcdc_log_level l = level <= 3   ? PGCDC_LOG_ERROR
                             : level == 4 ? PGCDC_LOG_WARN
                             : level <= 6 ? PGCDC_LOG_INFO
                                          : PGCDC_LOG_DEBUG;
    (void)rk;
    if (l == PGCDC_LOG_WARN && warmup_transient(fac, buf))
        l = PGCDC_LOG_INFO;
    /* A broker connection failing, once per attempt: error_cb reports the
     * same failures, and on_error logs each outage once. */
    if (strcmp(fac, "FAIL") == 0 && l < PGCDC_LOG_DEBUG)
        l = PGCDC_LOG_DEBUG;
    pgcdc_log(l, "kafka: %s: %s", fac, buf);
}

static int delivery_errno(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
        return -ETIMEDOUT;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        return -EMSGSIZE;
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
        return -ECANCELED;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        return -EACCES;
    default:
        return -EIO;
    }
}

static void on_delivery_report(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    struct kafka_sink *s = opaque;
    uint64_t txn = (uint64_t)(uintptr_t)m->_private;
    (void)rk;
    if (s->closing)
        return;
    s->reported++;
    if (!m->err) {
        outage_over(s, true);
        s->base.on_delivery(s->base.on_delivery_arg, txn, 0, "");
        return;
    }
    const char *status;
    switch (rd_kafka_message_status(m)) {
    case RD_KAFKA_MSG_STATUS_NOT_PERSISTED:
        status = "not written";
        break;
    case RD_KAFKA_MSG_STATUS_PERSISTED:
        status = "written";
        break;
    default:
        status = "possibly written";
        break;
    }
    snprintf(s->report_text, sizeof(s->report_text), "topic '%s' partition %d: %s (%s)",
             m->rkt ? rd_kafka_topic_name(m->rkt) : "?", (int)m->partition,
             rd_kafka_err2str(m->err), status);
    s->base.on_delivery(s->base.on_delivery_arg, txn, delivery_errno(m->err), s->report_text);
}

/* Asks the cluster about one topic. 1 = it exists, 0 = it does not, or a
 * negative errno (-EAGAIN: cluster unreachable, try later). */
static int topic_exists(struct kafka_sink *s, rd_kafka_topic_t *rkt, const char *topic, char *err,
                        size_t errlen)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(s->rk, 0, rkt, &md, KAFKA_TOPIC_SLICE_MS);
    if (e == RD_KAFKA_RESP_ERR__TRANSPORT || e == RD_KAFKA_RESP_ERR__TIMED_OUT) {
        snprintf(err, errlen, "topic '%s': cannot read metadata: %s", topic, rd_kafka_err2str(e));
        return -EAGAIN;
    }
    if (e) {
        snprintf(err, errlen, "topic '%s': cannot read metadata: %s", topic, rd_kafka_err2str(e));
        return -EIO;
    }
    int rc = -EIO;
    e = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    for (int i = 0; i < md->topic_cnt; i++) {
        if (strcmp(md->topics[i].topic, topic) != 0)
            continue;
        e = md->topics[i].err;
        if (!e && md->topics[i].partition_cnt > 0)
            rc = 1;
        else if (!e || e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE)
            rc = -EAGAIN; /* being created: not ready yet */
        else if (e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
            rc = 0;
        break;
    }
    if (rc == -EAGAIN)
        snprintf(err, errlen, "topic '%s': not ready yet: %s", topic,
                 e ? rd_kafka_err2str(e) : "no partitions");
    else if (rc < 0)
        snprintf(err, errlen, "topic '%s': %s", topic, rd_kafka_err2str(e));
    rd_kafka_metadata_destroy(md);
    return rc;
}

/* Creates topic with the configured options. 0 (also when it already
 * exists), -EAGAIN when the cluster did not answer in time, or another
 * negative errno. */
static int topic_create(struct kafka_sink *s, const char *topic, char *err, size_t errlen)
{
    char text[256];
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(topic, s->topic_partitions, s->topic_replication, text, sizeof(text));
    if (!nt) {
        snprintf(err, errlen, "topic '%s': cannot create: %s", topic, text);
        return -EINVAL;
    }
    if (s->topic_cleanup_policy) {
        rd_kafka_resp_err_t e =
            rd_kafka_NewTopic_set_config(nt, "cleanup.policy", s->topic_cleanup_policy);
        if (e) {
            rd_kafka_NewTopic_destroy(nt);
            snprintf(err, errlen, "topic '%s': cannot create: %s", topic, rd_kafka_err2str(e));
            return -EINVAL;
        }
    }
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(s->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(s->rk);
    int rc = -ENOMEM;
    rd_kafka_event_t *ev = NULL;
    if (!ao || !q) {
        snprintf(err, errlen, "topic '%s': cannot create: out of memory", topic);
        goto out;
    }
    /* The broker answers once the topic is created, or after this long. */
    if (rd_kafka_AdminOptions_set_operation_timeout(ao, KAFKA_TOPIC_TIMEOUT_MS, text,
                                                    sizeof(text)) ||
        rd_kafka_AdminOptions_set_request_timeout(ao, KAFKA_TOPIC_TIMEOUT_MS, text, sizeof(text))) {
        snprintf(err, errlen, "topic '%s': cannot create: %s", topic, text);
        rc = -EINVAL;
        goto out;
    }
    rd_kafka_CreateTopics(s->rk, &nt, 1, ao, q);
    for (int waited = 0; !ev && waited < 2 * KAFKA_TOPIC_TIMEOUT_MS + 1000 &&
                         !atomic_load(&s->job.cancel);
         waited += KAFKA_TOPIC_SLICE_MS)
        ev = rd_kafka_queue_poll(q, KAFKA_TOPIC_SLICE_MS);
    if (!ev) {
        snprintf(err, errlen, "topic '%s': cannot create: no answer from the cluster", topic);
        rc = -EAGAIN;
        goto out;
    }
    rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
    const char *why = rd_kafka_event_error_string(ev);
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    if (!e && res) {
        size_t n = 0;
        const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &n);
        e = n ? rd_kafka_topic_result_error(tr[0]) : RD_KAFKA_RESP_ERR__FAIL;
        why = n ? rd_kafka_topic_result_error_string(tr[0]) : "empty result";
    }
    if (!e || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        rc = 0;
    } else {
        snprintf(err, errlen, "topic '%s': cannot create: %s%s%s", topic, rd_kafka_err2str(e),
                 why && *why ? ": " : "", why && *why ? why : "");
        rc = e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__TRANSPORT ||
                     e == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT
                 ? -EAGAIN
                 : -EIO;
    }
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (q)
        rd_kafka_queue_destroy(q);
    if (ao)
        rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

/* Waits until the metadata shows a topic just created, which also moves
 * librdkafka's own view of it from "does not exist" to "exists". 1 when it
 * does, or a negative errno (-EAGAIN: not visible yet). Sleeps instead of
 * polling the producer: reports are only served by poll and flush. */
static int topic_wait_visible(struct kafka_sink *s, rd_kafka_topic_t *rkt, const char *topic,
                              char *err, size_t errlen)
{
    const struct timespec pause = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
    for (int waited = 0;; waited += 100) {
        int rc = topic_exists(s, rkt, topic, err, errlen);
        if (rc == 1 || (rc < 0 && rc != -EAGAIN))
            return rc;
        if (waited >= KAFKA_TOPIC_TIMEOUT_MS || atomic_load(&s->job.cancel)) {
            snprintf(err, errlen, "topic '%s': created but not visible yet", topic);
            return -EAGAIN;
        }
        nanosleep(&pause, NULL);
    }
}

/* The helper thread: makes sure job->name exists in the cluster. */
static void *topic_job_run(void *arg)
{
    struct kafka_sink *s = arg;
    struct topic_job *j = &s->job;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(s->rk, j->name, NULL);
    int rc;

    if (!rkt) {
        snprintf(j->err, sizeof(j->err), "topic '%s': %s", j->name,
                 rd_kafka_err2str(rd_kafka_last_error()));
        rc = -EINVAL;
    } else {
        /* Each look waits one slice: a slow answer is looked for again
         * until the step's time is up. */
        for (int waited = 0;; waited += KAFKA_TOPIC_SLICE_MS) {
            rc = topic_exists(s, rkt, j->name, j->err, sizeof(j->err));
            if (rc != -EAGAIN || waited >= KAFKA_TOPIC_TIMEOUT_MS || atomic_load(&j->cancel))
                break;
        }
        if (rc == 0) {
            rc = topic_create(s, j->name, j->err, sizeof(j->err));
            if (rc == 0)
                rc = topic_wait_visible(s, rkt, j->name, j->err, sizeof(j->err));
        }
        if (rc == 1) {
            rc = 0;
        } else {
            rd_kafka_topic_destroy(rkt);
            rkt = NULL;
        }
    }
    j->rkt = rkt;
    j->rc = rc;
    atomic_store(&j->state, JOB_DONE);
    /* Wake the loop: the event waiting for this topic can go now. */
    if (s->wake_fd[1] >= 0 && write(s->wake_fd[1], "t", 1) < 0) {
        /* Full pipe: the loop is awake already. */
    }
    return NULL;
}

/* Joins a finished helper and keeps its topic. Returns its outcome for
 * topic (0, or its error with text in err), or 1 when it was about another
 * topic (or topic is NULL) or there was none. */
static int topic_job_collect(struct kafka_sink *s, const char *topic, char *err, size_t errlen)
{
    struct topic_job *j = &s->job;
    bool mine;
    int rc;

    if (atomic_load(&j->state) != JOB_DONE)
        return 1;
    pthread_join(j->thread, NULL);
    atomic_store(&j->state, JOB_IDLE);
    mine = topic != NULL && strcmp(j->name, topic) == 0;
    rc = j->rc;
    if (rc == 0) {
        if (topic_add(s, j->name, j->rkt) == 0) {
            j->name = NULL; /* the set owns both now */
            j->rkt = NULL;
        } else {
            snprintf(j->err, sizeof(j->err), "topic '%s': out of memory", j->name);
            rc = -ENOMEM;
        }
    }
    if (mine && rc < 0)
        snprintf(err, errlen, "%s", j->err);
    if (j->rkt)
        rd_kafka_topic_destroy(j->rkt);
    j->rkt = NULL;
    free(j->name);
    j->name = NULL;
    return mine ? rc : 1;
}

/* Makes sure topic exists in the cluster, without waiting: 0 with *rktp set
 * once it does; -EAGAIN while the helper thread looks it up (or another
 * topic), or when the cluster could not be reached (the next call tries
 * again); another negative errno for a topic that cannot be created. */
static int topic_ensure(struct kafka_sink *s, const char *topic, rd_kafka_topic_t **rktp /* OUT */,
                        char *err, size_t errlen)
{
    struct topic_job *j = &s->job;
    int rc = topic_job_collect(s, topic, err, errlen);

    if (rc <= 0) {
        if (rc == 0)
            *rktp = topic_find(s, topic);
        return rc;
    }
    if (atomic_load(&j->state) == JOB_RUNNING) {
        snprintf(err, errlen, "topic '%s': waiting for the lookup of topic '%s'", topic, j->name);
        return -EAGAIN;
    }
    size_t len = strlen(topic);
    j->name = malloc(len + 1);
    if (!j->name) {
        snprintf(err, errlen, "topic '%s': out of memory", topic);
        return -ENOMEM;
    }
    memcpy(j->name, topic, len + 1);
    j->rkt = NULL;
    j->rc = 0;
    j->err[0] = '\0';
    atomic_store(&j->state, JOB_RUNNING);
    rc = pthread_create(&j->thread, NULL, topic_job_run, s);
    if (rc != 0) {
        atomic_store(&j->state, JOB_IDLE);
        free(j->name);
        j->name = NULL;
        snprintf(err, errlen, "topic '%s': cannot start a thread: %s", topic, strerror(rc));
        return -rc;
    }
    snprintf(err, errlen, "topic '%s': looking it up in the cluster", topic);
    return -EAGAIN;
}

static int kafka_produce(struct pgcdc_sink *base, const struct pgcdc_sink_msg *msg, char *err,
                         size_t errlen)
{
    struct kafka_sink *s = (struct kafka_sink *)base;
    if (s->fatal)
        return fatal_result(s, err, errlen);
    if (s->max_in_flight && s->produced - s->reported >= s->max_in_flight) {
        snprintf(err, errlen, "kafka: %zu events in flight, the most allowed", s->max_in_flight);
        return -EAGAIN;
    }
    rd_kafka_topic_t *rkt = topic_find(s, msg->topic);
    if (!rkt) {
        int rc = topic_ensure(s, msg->topic, &rkt, err, errlen);
        if (rc < 0)
            return rc;
    }
    rd_kafka_resp_err_t e = rd_kafka_producev(
        s->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_KEY(msg->key, msg->key ? msg->key_len : 0),
        RD_KAFKA_V_VALUE((void *)msg->value, msg->value ? msg->value_len : 0),
        RD_KAFKA_V_TIMESTAMP(msg->timestamp_ms), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)msg->txn),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    switch (e) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        s->produced++;
        return 0;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        snprintf(err, errlen, "topic '%s': %s", msg->topic, rd_kafka_err2str(e));
        return -EAGAIN;
    case RD_KAFKA_RESP_ERR__FATAL:
        check_fatal(s);
        return fatal_result(s, err, errlen);
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        snprintf(err, errlen, "topic '%s': event of %zu bytes: %s (see message.max.bytes)",
                 msg->topic, msg->key_len + msg->value_len, rd_kafka_err2str(e));
        return -EMSGSIZE;
    default:
        snprintf(err, errlen, "topic '%s': cannot produce: %s", msg->topic, rd_kafka_err2str(e));
        return -EIO;
    }
}

/* Empties the wake-up pipe; called before the queue is served. */
static void drain_wake(struct kafka_sink *s)
{
    char buf[256];
    while (s->wake_fd[0] >= 0 && read(s->wake_fd[0], buf, sizeof(buf)) > 0)
        ;
}

static int kafka_poll(struct pgcdc_sink *base, int timeout_ms, char *err, size_t errlen)
{
    struct kafka_sink *s = (struct kafka_sink *)base;
    drain_wake(s);
    /* A topic found or created: keep it (an error is told to the produce
     * that asks for it again). */
    if (atomic_load(&s->job.state) == JOB_DONE && s->job.rc == 0) {
        char text[512];
        topic_job_collect(s, NULL, text, sizeof(text));
    }
    /* Empty the pipe, then serve without blocking, and wait on the pipe
     * itself: waiting inside rd_kafka_poll would leave the byte of an event
     * it served behind, a wake-up with nothing to do. */
    int64_t deadline = pgcdc_mono_ms() + timeout_ms;
    while (!s->fatal && rd_kafka_poll(s->rk, 0) == 0 && timeout_ms > 0) {
        int64_t left = deadline - pgcdc_mono_ms();
        if (left <= 0)
            break;
        struct pollfd pfd = {.fd = s->wake_fd[0], .events = POLLIN};
        if (poll(&pfd, 1, (int)left) <= 0)
            break;
        drain_wake(s);
    }
    if (s->fatal || check_fatal(s))
        return fatal_result(s, err, errlen);
    return 0;
}

static int kafka_flush(struct pgcdc_sink *base, int timeout_ms, char *err, size_t errlen)
{
    struct kafka_sink *s = (struct kafka_sink *)base;
    drain_wake(s);
    if (!s->fatal)
        rd_kafka_flush(s->rk, timeout_ms);
    if (s->fatal || check_fatal(s))
        return fatal_result(s, err, errlen);
    uint64_t left = s->produced - s->reported;
    if (left) {
        snprintf(err, errlen, "kafka: %llu events not delivered after %d ms",
                 (unsigned long long)left, timeout_ms);
        return -ETIMEDOUT;
    }
    return 0;
}

static size_t kafka_in_flight(const struct pgcdc_sink *base)
{
    const struct kafka_sink *s = (const struct kafka_sink *)base;
    return (size_t)(s->produced - s->reported);
}

static int kafka_fd(const struct pgcdc_sink *base)
{
    return ((const struct kafka_sink *)base)->wake_fd[0];
}

static void kafka_free(struct pgcdc_sink *base)
{
    struct kafka_sink *s = (struct kafka_sink *)base;
    if (!s)
        return;
    if (atomic_load(&s->job.state) != JOB_IDLE) {
        /* The helper notices within a slice; its result is dropped. */
        atomic_store(&s->job.cancel, true);
        pthread_join(s->job.thread, NULL);
        if (s->job.rkt)
            rd_kafka_topic_destroy(s->job.rkt);
        free(s->job.name);
    }
    if (s->mainq) {
        rd_kafka_queue_io_event_enable(s->mainq, -1, NULL, 0);
        rd_kafka_queue_destroy(s->mainq);
    }
    outage_over(s, false);
    if (s->rk) {
        /* Undelivered records get no report: drop them now so that destroy
         * does not wait for a broker that may be down. */
        s->closing = true;
        rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT |
                                  RD_KAFKA_PURGE_F_NON_BLOCKING);
    }
    for (size_t i = 0; i < s->topics_cap; i++) {
        if (s->topics[i].name) {
            rd_kafka_topic_destroy(s->topics[i].rkt);
            free(s->topics[i].name);
        }
    }
    free(s->topics);
    if (s->rk)
        rd_kafka_destroy_flags(s->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    for (int i = 0; i < 2; i++)
        if (s->wake_fd[i] >= 0)
            close(s->wake_fd[i]);
    free(s->topic_cleanup_policy);
    free(s);
}

static const struct pgcdc_sink_ops kafka_ops = {
    .produce = kafka_produce,
    .poll = kafka_poll,
    .flush = kafka_flush,
    .in_flight = kafka_in_flight,
    .fd = kafka_fd,
    .free = kafka_free,
};

/* Sets one property. 0, or -EINVAL with text naming it. */
static int conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
                    size_t errlen)
{
    char text[256];
    if (!name || !value) {
        snprintf(err, errlen, "kafka property '%s': no value", name ? name : "(null)");
        return -EINVAL;
    }
    rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, name, value, text, sizeof(text));
    if (r != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka property '%s': %s", name, text);
        return -EINVAL;
    }
    return 0;
}

static int build_conf(rd_kafka_conf_t *conf, const struct pgcdc_kafka_opts *opts, char *err,
                      size_t errlen)
{
    size_t queue = opts->max_in_flight;
    if (queue < KAFKA_MIN_QUEUE_MESSAGES)
        queue = KAFKA_MIN_QUEUE_MESSAGES;
    if (queue > INT32_MAX)
        queue = INT32_MAX;
    char queue_text[32];
    snprintf(queue_text, sizeof(queue_text), "%zu", queue);

    const char *defaults[][2] = {
        {"client.id", "pgcdc"},
        {"enable.idempotence", "true"},
        {"partitioner", "murmur2_random"},
        {"message.timeout.ms", "0"},
        {"compression.type", "lz4"},
        {"linger.ms", "5"},
        {"queue.buffering.max.messages", queue_text},
        {"allow.auto.create.topics", "false"},
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        int rc = conf_set(conf, defaults[i][0], defaults[i][1], err, errlen);
        if (rc < 0)
            return rc;
    }
    if (opts->nprops && !opts->props) {
        snprintf(err, errlen, "kafka: %zu properties but no list", opts->nprops);
        return -EINVAL;
    }
    for (size_t i = 0; i < opts->nprops; i++) {
        const char *name = opts->props[2 * i];
        if (name && strcmp(name, "transactional.id") == 0) {
            snprintf(err, errlen,
                     "kafka property 'transactional.id': not supported by this sink "
                     "(it produces outside transactions)");
            return -EINVAL;
        }
        int rc = conf_set(conf, name, opts->props[2 * i + 1], err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* O_NONBLOCK and FD_CLOEXEC on fd. 0 or -1 with errno set. */
static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* The scratch producer of a check warns that it knows no broker: not news. */
static void quiet_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    (void)level;
    (void)fac;
    (void)buf;
}

int pgcdc_kafka_sink_check_conf(const struct pgcdc_kafka_opts *opts, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc;

    if (conf == NULL) {
        snprintf(err, errlen, "kafka: out of memory");
        return -ENOMEM;
    }
    rc = build_conf(conf, opts, err, errlen);
    /* Some conflicts (acks against enable.idempotence) show only when a
     * producer is made; with no brokers to know of it connects nowhere. */
    if (rc == 0)
        rc = conf_set(conf, "bootstrap.servers", "", err, errlen);
    if (rc == 0) {
        char text[512];
        rd_kafka_t *rk;

        rd_kafka_conf_set_log_cb(conf, quiet_log);
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, text, sizeof(text));

        if (rk != NULL) {
            rd_kafka_destroy(rk); /* it owned conf */
            return 0;
        }
        snprintf(err, errlen, "kafka: %s", text);
        rc = -EINVAL;
    }
    rd_kafka_conf_destroy(conf);
    return rc;
}

int pgcdc_kafka_sink_probe(const struct pgcdc_kafka_opts *opts, int timeout_ms, char *info,
                           size_t infolen, char *err, size_t errlen)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e;
    char text[512];
    rd_kafka_t *rk;
    int rc;

    if (conf == NULL) {
        snprintf(err, errlen, "kafka: out of memory");
        return -ENOMEM;
    }
    rc = build_conf(conf, opts, err, errlen);
    if (rc < 0) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    /* Connection errors come back from the metadata request; the log
     * would only repeat them. */
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, text, sizeof(text));
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        snprintf(err, errlen, "kafka: %s", text);
        return -EINVAL;
    }
    e = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "kafka: no metadata from the cluster within %d ms: %s", timeout_ms,
                 rd_kafka_err2str(e));
        rc = e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__TRANSPORT ? -ETIMEDOUT
                                                                                   : -EIO;
    } else {
        snprintf(info, infolen, "reachable: %d broker(s), %d topic(s) visible", md->broker_cnt,
                 md->topic_cnt);
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_destroy(rk);
    return rc;
}

int pgcdc_kafka_sink_new(struct pgcdc_sink **out, const struct pgcdc_kafka_opts *opts,
                         pgcdc_sink_delivery_fn on_delivery, void *arg, char *err, size_t errlen)
{
    *out = NULL;
    if (!on_delivery) {
        snprintf(err, errlen, "kafka: no delivery callback");
        return -EINVAL;
    }
    const char *policy = opts->topic_cleanup_policy;
    if (policy && strcmp(policy, "delete") != 0 && strcmp(policy, "compact") != 0 &&
        strcmp(policy, "compact,delete") != 0 && strcmp(policy, "delete,compact") != 0) {
        snprintf(err, errlen,
                 "topic cleanup policy '%s': must be 'delete', 'compact' or 'compact,delete'",
                 policy);
        return -EINVAL;
    }
    if (opts->topic_replication == 0 || opts->topic_replication < -1) {
        snprintf(err, errlen, "topic replication factor %d: must be -1 (broker default) or >= 1",
                 opts->topic_replication);
        return -EINVAL;
    }

    struct kafka_sink *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "kafka: out of memory");
        return -ENOMEM;
    }
    s->base.ops = &kafka_ops;
    s->base.on_delivery = on_delivery;
    s->base.on_delivery_arg = arg;
    s->wake_fd[0] = s->wake_fd[1] = -1;
    s->topic_partitions = opts->topic_partitions > 0 ? opts->topic_partitions : -1;
    s->topic_replication = opts->topic_replication;
    s->max_in_flight = opts->max_in_flight;
    if (policy) {
        size_t len = strlen(policy);
        s->topic_cleanup_policy = malloc(len + 1);
        if (!s->topic_cleanup_policy) {
            free(s);
            snprintf(err, errlen, "kafka: out of memory");
            return -ENOMEM;
        }
        memcpy(s->topic_cleanup_policy, policy, len + 1);
    }

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = build_conf(conf, opts, err, errlen);
    if (rc < 0) {
        rd_kafka_conf_destroy(conf);
        kafka_free(&s->base);
        return rc;
    }
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery_report);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);

    char text[512];
    s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, text, sizeof(text));
    if (!s->rk) {
        /* conf is still ours when rd_kafka_new fails */
        rd_kafka_conf_destroy(conf);
        kafka_free(&s->base);
        snprintf(err, errlen, "kafka: cannot create producer: %s", text);
        return -EINVAL;
    }
    /* Both ends non-blocking: librdkafka's threads must never wait on it. */
    if (pipe(s->wake_fd) < 0 || set_nonblocking(s->wake_fd[0]) < 0 ||
        set_nonblocking(s->wake_fd[1]) < 0) {
        rc = -errno;
        snprintf(err, errlen, "kafka: cannot create a pipe: %s", strerror(errno));
        kafka_free(&s->base);
        return rc;
    }
    s->mainq = rd_kafka_queue_get_main(s->rk);
    rd_kafka_queue_io_event_enable(s->mainq, s->wake_fd[1], "1", 1);
    *out = &s->base;
    return 0;
}

rd_kafka_t *pgcdc_kafka_sink_handle(struct pgcdc_sink *s)
{
    return s && s->ops == &kafka_ops ? ((struct kafka_sink *)s)->rk : NULL;
}
