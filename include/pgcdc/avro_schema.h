/*
 * avro_schema.h - Avro schema JSON of change events, as Debezium 3.x with
 * Confluent's AvroConverter (connect.meta.data=true) writes it.
 *
 * Every table topic carries two schemas:
 *
 *   key    record "Key" in namespace "<prefix>.<schema>.<table>": the key
 *          columns, required (not nullable), as Debezium declares primary
 *          key columns; no key schema for a table without key columns;
 *   value  record "Envelope" in the same namespace (connect.version 2):
 *            before       ["null", record "Value"]   default null
 *            after        ["null", "Value"]          default null
 *            source       io.debezium.connector.postgresql.Source
 *            transaction  ["null", event.block]      default null
 *            op           string
 *            ts_ms, ts_us, ts_ns  ["null", "long"]   default null
 *          "Value" holds the included columns, each ["null", T] with
 *          default null, NOT NULL columns too (unlike Debezium): adding or
 *          dropping a column is then always a backward-compatible change.
 *
 * Logical decoding messages use Debezium's fixed
 * io.debezium.connector.postgresql.MessageKey {prefix} and MessageValue
 * {op, ts_ms, source, message {prefix, content}}.
 *
 * Column types follow the Connect schemas of types.h the way the
 * AvroConverter renders them: INT16 as {"type":"int","connect.type":"int16"},
 * Decimal as bytes with "scale", "precision" (64 when the column has none)
 * and "logicalType":"decimal", VariableScaleDecimal as a record defined once
 * per schema and named afterwards, arrays with nullable items, and
 * connect.doc / connect.version / connect.parameters / connect.name wherever
 * the Connect schema has them.
 *
 * Avro names allow only [A-Za-z0-9_]: every other character of a column name
 * or a namespace component (one per UTF-8 sequence) becomes '_', and so does
 * a leading digit, as Debezium's avro name adjustment does. Two columns that
 * end up with one name are an error.
 *
 * The field positions below are what the encoder sets values by.
 */
#ifndef PGCDC_AVRO_SCHEMA_H
#define PGCDC_AVRO_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "pgcdc/buf.h"
#include "pgcdc/relcache.h"

/* Positions of the Envelope's fields. */
enum pgcdc_avro_env_field {
    PGCDC_AVRO_ENV_BEFORE,      /* ["null", Value] */
    PGCDC_AVRO_ENV_AFTER,       /* ["null", Value] */
    PGCDC_AVRO_ENV_SOURCE,      /* Source */
    PGCDC_AVRO_ENV_TRANSACTION, /* ["null", event.block] */
    PGCDC_AVRO_ENV_OP,          /* string */
    PGCDC_AVRO_ENV_TS_MS,       /* ["null", long] */
    PGCDC_AVRO_ENV_TS_US,       /* ["null", long] */
    PGCDC_AVRO_ENV_TS_NS,       /* ["null", long] */
};

/* Positions of the Source record's fields. */
enum pgcdc_avro_src_field {
    PGCDC_AVRO_SRC_VERSION,    /* string */
    PGCDC_AVRO_SRC_CONNECTOR,  /* string */
    PGCDC_AVRO_SRC_NAME,       /* string */
    PGCDC_AVRO_SRC_TS_MS,      /* long */
    PGCDC_AVRO_SRC_SNAPSHOT,   /* [string (io.debezium.data.Enum), "null"] default "false" */
    PGCDC_AVRO_SRC_DB,         /* string */
    PGCDC_AVRO_SRC_SEQUENCE,   /* ["null", string] */
    PGCDC_AVRO_SRC_TS_US,      /* ["null", long] */
    PGCDC_AVRO_SRC_TS_NS,      /* ["null", long] */
    PGCDC_AVRO_SRC_SCHEMA,     /* string */
    PGCDC_AVRO_SRC_TABLE,      /* string */
    PGCDC_AVRO_SRC_TXID,       /* ["null", long] */
    PGCDC_AVRO_SRC_LSN,        /* ["null", long] */
    PGCDC_AVRO_SRC_XMIN,       /* ["null", long] */
    PGCDC_AVRO_SRC_ORIGIN,     /* ["null", string] */
    PGCDC_AVRO_SRC_ORIGIN_LSN, /* ["null", long] */
};

/* Positions of the MessageValue record's fields. */
enum pgcdc_avro_msg_field {
    PGCDC_AVRO_MSG_OP,      /* string */
    PGCDC_AVRO_MSG_TS_MS,   /* ["null", long] */
    PGCDC_AVRO_MSG_SOURCE,  /* Source */
    PGCDC_AVRO_MSG_MESSAGE, /* Message {prefix ["null", string], content ["null", bytes]} */
};

/* Positions of the TransactionMetadataValue record's fields. */
enum pgcdc_avro_txn_field {
    PGCDC_AVRO_TXN_STATUS,      /* string */
    PGCDC_AVRO_TXN_ID,          /* string */
    PGCDC_AVRO_TXN_EVENT_COUNT, /* ["null", long] */
    PGCDC_AVRO_TXN_COLLECTIONS, /* ["null", array of event.collection {data_collection, event_count}] */
    PGCDC_AVRO_TXN_TS_MS,       /* long */
};

/* Both schemas of a table and their fingerprints. Zero-initialise it. */
struct pgcdc_avro_schemas {
    struct pgcdc_buf key;   /* Key record JSON; empty (len 0) when the table has no key */
    struct pgcdc_buf value; /* Envelope record JSON */
    uint64_t key_fp;        /* CRC-64-AVRO of the key's Parsing Canonical Form, 0 without key */
    uint64_t value_fp;      /* CRC-64-AVRO of the Envelope's Parsing Canonical Form */
};

/* Writes the key schema of rel into out (replacing its content). Returns 0,
 * 1 when the table has no key columns (out empty), -EINVAL for columns
 * whose Avro names collide, or -ENOMEM; a message in err. */
int pgcdc_avro_schema_key(const struct pgcdc_rel *rel, struct pgcdc_buf *out /* OUT */, char *err,
                          size_t errlen);

/* Writes the Envelope schema of rel into out (replacing its content).
 * 0, -EINVAL (colliding names) or -ENOMEM; a message in err. */
int pgcdc_avro_schema_value(const struct pgcdc_rel *rel, struct pgcdc_buf *out /* OUT */, char *err,
                            size_t errlen);

/* Writes io.debezium.connector.postgresql.MessageKey into out. 0 or -ENOMEM. */
int pgcdc_avro_schema_message_key(struct pgcdc_buf *out /* OUT */);

/* Writes io.debezium.connector.postgresql.MessageValue into out. 0 or -ENOMEM. */
int pgcdc_avro_schema_message_value(struct pgcdc_buf *out /* OUT */);

/* Writes io.debezium.connector.common.TransactionMetadataKey into out.
 * 0 or -ENOMEM. */
int pgcdc_avro_schema_txn_key(struct pgcdc_buf *out /* OUT */);

/* Writes io.debezium.connector.common.TransactionMetadataValue into out.
 * 0 or -ENOMEM. */
int pgcdc_avro_schema_txn_value(struct pgcdc_buf *out /* OUT */);

/* CRC-64-AVRO fingerprint of the Parsing Canonical Form of len bytes of
 * schema JSON. 0, -EINVAL (not a valid schema) or -ENOMEM; text in err. */
int pgcdc_avro_schema_fingerprint(const char *json, size_t len, uint64_t *fp /* OUT */, char *err,
                                  size_t errlen);

/* Both schemas of rel with their fingerprints, replacing out's content.
 * 0 or a negative errno as above. */
int pgcdc_avro_schema_build(const struct pgcdc_rel *rel, struct pgcdc_avro_schemas *out /* OUT */,
                            char *err, size_t errlen);

/* Frees the buffers of s and zeroes it. NULL-safe. */
void pgcdc_avro_schemas_free(struct pgcdc_avro_schemas *s);

#endif
