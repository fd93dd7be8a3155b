/*
 * encoder.h - change events to key and value bytes.
 *
 * An encoder turns one change (change.h: an operation, a table, the old and
 * new rows, the source block) into the bytes of a Kafka record's key and
 * value, following Debezium's event structure. It reads the change only
 * through the model's accessors, whatever source produced it. JSON
 * and Avro encoders implement the same operations; the pipeline does not
 * know which one it drives.
 */
#ifndef PGCDC_ENCODER_H
#define PGCDC_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/buf.h"
#include "pgcdc/change.h"
#include "pgcdc/txmeta.h"

/* Bytes of the longest sequence text and its NUL. */
#define PGCDC_SOURCE_SEQUENCE_LEN 48

/* Writes Debezium's source.sequence, ["<last commit lsn>","<lsn>"] (null
 * for no last commit), into out as a NUL-terminated string. Formatted for
 * every event, so without printf. */
void pgcdc_source_sequence(const struct pgcdc_source *s,
                           char out[PGCDC_SOURCE_SEQUENCE_LEN] /* OUT */);

struct pgcdc_encoder;

struct pgcdc_encoder_ops {
    /* Writes the key of the change (from its key row) into out (after
     * resetting it). Returns 1 when the event has no key (keyless table,
     * truncate), 0 when written, or a negative errno with text in err. */
    int (*key)(struct pgcdc_encoder *e, const struct pgcdc_change *ch, struct pgcdc_buf *out,
               char *err, size_t errlen);
    /* Writes the value (the envelope) into out (after resetting it). */
    int (*value)(struct pgcdc_encoder *e, const struct pgcdc_change *ch, struct pgcdc_buf *out,
                 char *err, size_t errlen);
    /* Writes the key ({id}) and value of a BEGIN or END record of the
     * transaction topic named topic into key and value (after resetting
     * them). Returns 0 or a negative errno with text in err. */
    int (*txn)(struct pgcdc_encoder *e, const char *topic, const struct pgcdc_txn_record *r,
               struct pgcdc_buf *key, struct pgcdc_buf *value, char *err, size_t errlen);
    /* Releases everything. */
    void (*free)(struct pgcdc_encoder *e);
};

/* Common head of every encoder; implementations embed it first. */
struct pgcdc_encoder {
    const struct pgcdc_encoder_ops *ops; /* the implementation */
};

static inline int pgcdc_encoder_key(struct pgcdc_encoder *e, const struct pgcdc_change *ch,
                                    struct pgcdc_buf *out, char *err, size_t errlen)
{
    return e->ops->key(e, ch, out, err, errlen);
}

static inline int pgcdc_encoder_value(struct pgcdc_encoder *e, const struct pgcdc_change *ch,
                                      struct pgcdc_buf *out, char *err, size_t errlen)
{
    return e->ops->value(e, ch, out, err, errlen);
}

static inline int pgcdc_encoder_txn(struct pgcdc_encoder *e, const char *topic,
                                    const struct pgcdc_txn_record *r, struct pgcdc_buf *key,
                                    struct pgcdc_buf *value, char *err, size_t errlen)
{
    return e->ops->txn(e, topic, r, key, value, err, errlen);
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
