/*
 * encoder.h - change events to key and value bytes.
 *
 * An encoder turns one change (a relation, an operation, the old and new
 * tuples as pgoutput sent them, and the source position) into the bytes of a
 * Kafka record's key and value, following Debezium's event structure. JSON
 * and Avro encoders implement the same operations; the pipeline does not
 * know which one it drives.
 */
#ifndef PGCDC_ENCODER_H
#define PGCDC_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/buf.h"
#include "pgcdc/pgoutput.h"
#include "pgcdc/relcache.h"

/* Where an event comes from: Debezium's `source` block. */
struct pgcdc_source {
    const char *connector_version; /* pgcdc's version */
    const char *name;              /* topic.prefix, Debezium's logical server name */
    const char *db;                /* database name */
    int64_t commit_time_us;        /* commit time, microseconds since 1970-01-01 */
    uint32_t xid;                  /* transaction id */
    pgcdc_lsn lsn;                 /* LSN of the change record, 0 when unknown */
    pgcdc_lsn last_commit_lsn;     /* commit LSN of the transaction before, 0 when none */
    const char *snapshot;          /* "false", "true", "first", "last", ... */
    const char *origin;            /* replication origin of the transaction, NULL when none */
    pgcdc_lsn origin_lsn;          /* its commit LSN on the origin server, 0 when none */
};

/* Bytes of the longest sequence text and its NUL. */
#define PGCDC_SOURCE_SEQUENCE_LEN 48

/* Writes Debezium's source.sequence, ["<last commit lsn>","<lsn>"] (null
 * for no last commit), into out as a NUL-terminated string. Formatted for
 * every event, so without printf. */
void pgcdc_source_sequence(const struct pgcdc_source *s,
                           char out[PGCDC_SOURCE_SEQUENCE_LEN] /* OUT */);

/* One change. Tuples are as decoded; columns are matched to rel by index. */
struct pgcdc_change {
    char op;               /* 'c' 'u' 'd' 'r' 't' or 'm' */
    struct pgcdc_rel *rel; /* the table (encoders cache per-version state in it); NULL for 'm' */
    const struct pgcdc_tuple *before; /* old row, NULL when not sent */
    bool before_key_only;             /* before holds only key columns ('K') */
    const struct pgcdc_tuple *after;  /* new row, NULL for 'd' and 't' */
    const struct pgcdc_source *src;   /* where it comes from */
    int64_t ts_us;                    /* processing time, microseconds since 1970-01-01 */
    const char *msg_prefix;           /* 'm': logical message prefix */
    const char *msg_content;          /* 'm': message body */
    size_t msg_len;                   /* 'm': bytes at msg_content */
};

struct pgcdc_encoder;

struct pgcdc_encoder_ops {
    /* Writes the key of the change into out (after resetting it). Returns 1
     * when the event has no key (keyless table, truncate), 0 when written,
     * or a negative errno with text in err. key_row selects the tuple the
     * key comes from. */
    int (*key)(struct pgcdc_encoder *e, const struct pgcdc_change *ch,
               const struct pgcdc_tuple *key_row, struct pgcdc_buf *out, char *err, size_t errlen);
    /* Writes the value (the envelope) into out (after resetting it). */
    int (*value)(struct pgcdc_encoder *e, const struct pgcdc_change *ch, struct pgcdc_buf *out,
                 char *err, size_t errlen);
    /* Releases everything. */
    void (*free)(struct pgcdc_encoder *e);
};

/* Common head of every encoder; implementations embed it first. */
struct pgcdc_encoder {
    const struct pgcdc_encoder_ops *ops; /* the implementation */
};

static inline int pgcdc_encoder_key(struct pgcdc_encoder *e, const struct pgcdc_change *ch,
                                    const struct pgcdc_tuple *key_row, struct pgcdc_buf *out,
                                    char *err, size_t errlen)
{
    return e->ops->key(e, ch, key_row, out, err, errlen);
}

static inline int pgcdc_encoder_value(struct pgcdc_encoder *e, const struct pgcdc_change *ch,
                                      struct pgcdc_buf *out, char *err, size_t errlen)
{
    return e->ops->value(e, ch, out, err, errlen);
}

/* Frees an encoder of any kind and sets *ep to NULL. NULL-safe. */
static inline void pgcdc_encoder_free(struct pgcdc_encoder **ep)
{
    if (ep && *ep) {
        (*ep)->ops->free(*ep);
        *ep = NULL;
    }
}

/* The JSON encoder: Debezium's JsonConverter with schemas.enable=false.
 * placeholder: unavailable.value.placeholder (copied). */
int pgcdc_json_encoder_new(struct pgcdc_encoder **out /* OUT */, const char *placeholder, char *err,
                           size_t errlen);

#endif
