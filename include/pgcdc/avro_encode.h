/*
 * avro_encode.h - the Avro encoder: change events as Confluent-framed Avro,
 * byte-compatible with Debezium 3.x and Confluent's AvroConverter.
 *
 * Each key and value is magic byte 0, the schema id as a 4-byte big-endian
 * integer, then the Avro binary encoding of the record under the schemas of
 * avro_schema.h. Ids come from a Confluent schema registry, subjects named
 * by TopicNameStrategy: "<topic>-key" and "<topic>-value" for a table
 * (topic from the relation cache), "<topic.prefix>.message-key" and
 * "-value" for logical decoding messages. Schemas are registered once per
 * relation version, when its first event is encoded; the registry client
 * caches ids, so registering the same text again costs nothing.
 *
 * The event content mirrors the JSON encoder exactly: the key columns as the
 * key, no key for keyless tables and truncates, a delete's key-only old row
 * with its non-key columns null, unchanged TOASTed values as
 * unavailable.value.placeholder, and the same source block.
 *
 * The encoder implements encoder.h; create it with pgcdc_avro_encoder_new()
 * and release it with pgcdc_encoder_free().
 */
#ifndef PGCDC_AVRO_ENCODE_H
#define PGCDC_AVRO_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "pgcdc/encoder.h"
#include "pgcdc/registry.h"

/*
 * Supplies the schema id of schema_json (len bytes) under subject when no
 * registry is used (tests, tools). Returns 0 with *id set, or a negative
 * errno with text in err, as pgcdc_registry_register does.
 */
typedef int (*pgcdc_avro_id_fn)(void *arg, const char *subject, const char *schema_json, size_t len,
                                int32_t *id, char *err, size_t errlen);

struct pgcdc_avro_encoder_opts {
    const char *topic_prefix;          /* topic.prefix; messages go to <prefix>.message (copied) */
    const char *placeholder;           /* unavailable.value.placeholder (copied), NULL = default */
    struct pgcdc_registry *registry;   /* schema registry (borrowed, must outlive the encoder) */
    pgcdc_avro_id_fn id_fn;            /* without a registry: supplies ids; NULL = every id 0 */
    void *id_arg;                      /* handed to id_fn */
};

/*
 * Creates an Avro encoder. opts->registry, when set, is used for every
 * schema (id_fn is then ignored). Returns 0, -EINVAL (no topic prefix) or
 * -ENOMEM, with a message in err.
 *
 * The encoder's key() and value() return, besides the codes of encoder.h:
 * the registry's codes (-EEXIST for a schema the subject's compatibility
 * level rejects, -EINVAL, -EACCES, -EPROTO, -EIO), with a message naming the
 * table and the subject; -EINPROGRESS while a schema of the relation is
 * being registered (pgcdc_registry_register_async: the encoder never waits
 * for the registry; drive the registry and encode the same change again); -ENOTSUP for binary-format columns; and the
 * conversion errors of pgcdc_types_convert naming the table and column.
 */
int pgcdc_avro_encoder_new(struct pgcdc_encoder **out /* OUT */,
                           const struct pgcdc_avro_encoder_opts *opts, char *err, size_t errlen);

#endif
