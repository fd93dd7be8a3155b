/*
 * config.h - pgcdc's configuration: defaults, the file, -o overrides,
 * validation and secret redaction.
 *
 * File format (conf/pgcdc.conf documents every key):
 *
 *     # a comment: '#' as the first non-blank character of a line
 *     key = value
 *
 *  - one setting per line; whitespace around the key and the value is
 *    dropped; blank lines are ignored;
 *  - the value is everything after the first '=' and is taken literally: no
 *    quotes, no escapes, and no trailing comments, so a DSN, password or
 *    regular expression may contain '=', '#' and spaces
 *    ("database.dsn = host=db password=a#b" sets password a#b);
 *  - a key set twice keeps the later value; `-o key=value` overrides are
 *    applied after the file, in order, and so win;
 *  - "${env:NAME}", "${file:PATH[:KEY]}" and "${directory:DIR:NAME}"
 *    references in a value (configref.h) are resolved when it is set; the
 *    text as written is kept, and pgcdc_config_dump() prints that.
 *
 * Known keys are listed by pgcdc_config_key_count()/pgcdc_config_key_name().
 * Key names follow Debezium's where the meaning is the same. Every key
 * starting with "kafka." is handed to librdkafka as is (prefix stripped).
 * An unknown key, a bad value or a line without '=' is an error naming the
 * key (and the file and line); a misspelt key gets a suggestion.
 *
 * Table and column lists are comma-separated regular expressions (a literal
 * comma is written "\,"), compiled when set and matched by the filter module
 * (filter.h), as Debezium does: "public.order" matches 'public.orders' only
 * if the pattern covers the trailing 's'.
 *
 * Secrets (the password in database.dsn, schema.registry.basic.auth.user.info,
 * kafka.* passwords and secrets) are masked by pgcdc_config_dump(); use
 * pgcdc_config_redact_dsn() before logging a DSN.
 *
 * Ownership: every string in struct pgcdc_config is owned by it, never NULL
 * ("" when unset), and valid until the next pgcdc_config_set() of that key or
 * pgcdc_config_free(). Read the fields directly; change them only through
 * pgcdc_config_set().
 */
#ifndef PGCDC_CONFIG_H
#define PGCDC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "pgcdc/log.h"
#include "pgcdc/type_modes.h"

struct pgcdc_patterns; /* a compiled pattern list, filter.h */

/* publication.autocreate.mode */
enum pgcdc_config_autocreate {
    PGCDC_CONFIG_AUTOCREATE_ALL_TABLES = 0, /* "all_tables": FOR ALL TABLES */
    PGCDC_CONFIG_AUTOCREATE_FILTERED = 1,   /* "filtered": FOR TABLE the included tables */
    PGCDC_CONFIG_AUTOCREATE_DISABLED = 2,   /* "disabled": the publication must exist */
    PGCDC_CONFIG_AUTOCREATE_NO_TABLES = 3,  /* "no_tables": created without tables if missing,
                                             * then left to its owner */
};

/* publication.keyless.tables */
enum pgcdc_config_keyless {
    PGCDC_CONFIG_KEYLESS_SKIP = 0,    /* "skip": left out of a filtered publication */
    PGCDC_CONFIG_KEYLESS_INCLUDE = 1, /* "include": published; UPDATE and DELETE on it fail */
};

/* sink */
enum pgcdc_config_sink {
    PGCDC_CONFIG_SINK_STDOUT = 0, /* "stdout": one line per event */
    PGCDC_CONFIG_SINK_KAFKA = 1,  /* "kafka": librdkafka producer */
};

/* format */
enum pgcdc_config_format {
    PGCDC_CONFIG_FORMAT_JSON = 0, /* "json": Debezium JSON envelope */
    PGCDC_CONFIG_FORMAT_AVRO = 1, /* "avro": Confluent-framed Avro */
};

/* topic.creation.default.cleanup.policy */
enum pgcdc_config_cleanup {
    PGCDC_CONFIG_CLEANUP_DELETE = 0,  /* "delete" */
    PGCDC_CONFIG_CLEANUP_COMPACT = 1, /* "compact" */
};

/* snapshot.mode (Debezium's names; "never" is kept as an alias of no_data) */
enum pgcdc_config_snapshot {
    PGCDC_CONFIG_SNAPSHOT_NO_DATA = 0,      /* "no_data": stream changes only */
    PGCDC_CONFIG_SNAPSHOT_INITIAL = 1,      /* "initial": snapshot when no position is stored */
    PGCDC_CONFIG_SNAPSHOT_INITIAL_ONLY = 2, /* "initial_only": snapshot once, never stream */
    PGCDC_CONFIG_SNAPSHOT_WHEN_NEEDED = 3,  /* "when_needed": also when the position is lost */
    PGCDC_CONFIG_SNAPSHOT_ALWAYS = 4,       /* "always": snapshot at every start */
    PGCDC_CONFIG_SNAPSHOT_NEVER = 5,        /* "never": the same as no_data */
};

/* event.processing.failure.handling.mode: an event that cannot be
 * represented (a value the mapping refuses, a record too large). */
enum pgcdc_config_failure {
    PGCDC_CONFIG_FAILURE_FAIL = 0, /* "fail": stop, naming the event */
    PGCDC_CONFIG_FAILURE_WARN = 1, /* "warn": log it, count it, go on without it */
    PGCDC_CONFIG_FAILURE_SKIP = 2, /* "skip": count it, go on (logged at debug level) */
};

/* offset.mismatch.strategy: what to do when the stored position and the
 * server disagree (Debezium's names, plus the refusing default). */
enum pgcdc_config_mismatch {
    PGCDC_CONFIG_MISMATCH_FAIL = 0,          /* "fail": stop and let a person decide */
    PGCDC_CONFIG_MISMATCH_NO_VALIDATION = 1, /* "no_validation": stream from the stored one */
    PGCDC_CONFIG_MISMATCH_TRUST_OFFSET = 2,  /* "trust_offset": the stored position wins */
    PGCDC_CONFIG_MISMATCH_TRUST_SLOT = 3,    /* "trust_slot": the slot's position wins */
    PGCDC_CONFIG_MISMATCH_TRUST_GREATER = 4, /* "trust_greater_lsn": the greater one wins */
};

/* One kafka.* setting. */
struct pgcdc_config_kv {
    char *name;  /* librdkafka property, without "kafka." */
    char *value; /* its value, as written */
};

struct pgcdc_config {
    char *database_dsn;                          /* database.dsn: libpq conninfo or URI */
    char *topic_prefix;                          /* topic.prefix: required */
    char *topic_delimiter;                       /* topic.delimiter: between topic name parts */
    bool provide_txn_metadata;                   /* provide.transaction.metadata */
    char *topic_transaction;                     /* topic.transaction: after the prefix */
    char *slot_name;                             /* slot.name */
    char *publication_name;                      /* publication.name */
    enum pgcdc_config_autocreate autocreate;     /* publication.autocreate.mode */
    enum pgcdc_config_keyless keyless_tables;    /* publication.keyless.tables */
    bool column_lists;                           /* publication.column.lists */
    struct pgcdc_patterns *table_include;        /* table.include.list (never NULL) */
    struct pgcdc_patterns *table_exclude;        /* table.exclude.list (never NULL) */
    struct pgcdc_patterns *column_include;       /* column.include.list (never NULL) */
    struct pgcdc_patterns *column_exclude;       /* column.exclude.list (never NULL) */
    struct pgcdc_patterns *message_key_columns;  /* message.key.columns (never NULL) */
    bool tombstones_on_delete;                   /* tombstones.on.delete */
    char *unavailable_value_placeholder;         /* unavailable.value.placeholder */
    bool include_unknown_datatypes;              /* include.unknown.datatypes */
    struct pgcdc_types_modes type_modes; /* decimal/time/binary/interval modes, money digits */
    enum pgcdc_config_sink sink;                 /* sink */
    enum pgcdc_config_format format;             /* format */
    enum pgcdc_log_level log_level;              /* log.level */
    enum pgcdc_log_format log_format;            /* log.format */
    char *offset_file;                           /* offset.storage.file.filename */
    int offset_flush_interval_ms;                /* offset.flush.interval.ms */
    enum pgcdc_config_mismatch offset_mismatch;  /* offset.mismatch.strategy */
    char *skipped_operations;                    /* skipped.operations: "c,u,d,t" or "none" */
    char *slot_stream_params;                    /* slot.stream.params: pgoutput options */
    bool slot_drop_on_stop;                      /* slot.drop.on.stop */
    struct pgcdc_patterns *message_prefix_include; /* message.prefix.include.list */
    struct pgcdc_patterns *message_prefix_exclude; /* message.prefix.exclude.list */
    enum pgcdc_config_failure failure_mode;      /* event.processing.failure.handling.mode */
    int errors_max_retries;                      /* errors.max.retries, -1 = no limit */
    int status_interval_ms;                      /* status.interval.ms */
    int reconnect_backoff_initial_ms;            /* reconnect.backoff.initial.ms */
    int reconnect_backoff_max_ms;                /* reconnect.backoff.max.ms */
    int connect_timeout_ms;                      /* database.connect.timeout.ms, 0 = none */
    char *metrics_listen;                        /* metrics.listen: host:port, "" = off */
    char *registry_url;                          /* schema.registry.url */
    char *registry_user_info;                    /* schema.registry.basic.auth.user.info (secret) */
    char *registry_ssl_ca;                       /* schema.registry.ssl.ca.location */
    char *registry_ssl_cert;                     /* schema.registry.ssl.certificate.location */
    char *registry_ssl_key;                      /* schema.registry.ssl.key.location */
    int topic_partitions;                        /* topic.creation.default.partitions */
    int topic_replication_factor;                /* topic.creation.default.replication.factor */
    enum pgcdc_config_cleanup topic_cleanup;     /* topic.creation.default.cleanup.policy */
    int max_queue_size;                          /* max.queue.size */
    enum pgcdc_config_snapshot snapshot_mode;    /* snapshot.mode */
    struct pgcdc_patterns *snapshot_include;     /* snapshot.include.collection.list (never NULL) */
    int snapshot_max_threads;                    /* snapshot.max.threads: connections reading */
    int snapshot_chunk_rows;                     /* snapshot.chunk.rows: rows per chunk, about */
    int incremental_chunk_size;                  /* incremental.snapshot.chunk.size */
    char *snapshot_overrides;                    /* snapshot.select.statement.overrides: tables */
    struct pgcdc_config_kv *overrides;           /* snapshot.select.statement.overrides.<table> */
    size_t overrides_count;                      /* entries in overrides */
    struct pgcdc_config_kv *kafka;               /* kafka.* in order of first appearance */
    size_t kafka_count;                          /* entries in kafka */
    size_t kafka_cap;                            /* allocated entries in kafka */
    struct pgcdc_config_kv *written;             /* keys set through references: text as written */
    size_t written_count;                        /* entries in written */
    size_t written_cap;                          /* allocated entries in written */
};

/* Allocates a configuration holding every default. 0, or -ENOMEM with text
 * in err. Free with pgcdc_config_free(). */
int pgcdc_config_new(struct pgcdc_config **out /* OUT */, char *err, size_t errlen);

/* Frees cfg and everything it owns; NULL is allowed. */
void pgcdc_config_free(struct pgcdc_config *cfg);

/*
 * Sets one key. key and value are used as given (not trimmed). A kafka.* key
 * already present keeps its place and takes the new value.
 * 0; -EINVAL for an unknown key or a bad value (cfg unchanged, text in err
 * naming the key and value and what is allowed); -ENOMEM.
 */
int pgcdc_config_set(struct pgcdc_config *cfg, const char *key, const char *value, char *err,
                     size_t errlen);

/* Sets "key=value" as given to -o: split at the first '=', both sides
 * trimmed. Errors as pgcdc_config_set(), plus -EINVAL without '='. */
int pgcdc_config_set_option(struct pgcdc_config *cfg, const char *option, char *err, size_t errlen);

/* Reads a configuration file (format above) into cfg, stopping at the first
 * error. 0; -EINVAL with "FILE:LINE: ..." in err; -errno when the file cannot
 * be read; -ENOMEM. Settings before the bad line stay applied. */
int pgcdc_config_load_file(struct pgcdc_config *cfg, const char *path, char *err, size_t errlen);

/* Checks required keys and rules that involve several keys (topic.prefix set;
 * schema.registry.url set when format=avro and sink=kafka; include and exclude
 * lists not both set; backoff max >= initial). Call once, after the file and
 * overrides. 0 or -EINVAL with text in err. */
int pgcdc_config_validate(const struct pgcdc_config *cfg, char *err, size_t errlen);

/* Writes the effective configuration as "key = value" lines (every known key
 * in table order, then kafka.* in order), every secret masked. 0 or -EIO. */
int pgcdc_config_dump(const struct pgcdc_config *cfg, FILE *out);

/*
 * Copies a libpq connection string into out with every password masked:
 * "password"/"sslpassword" values of a key/value conninfo (quoted or not,
 * with escapes, exactly as libpq reads them) and, in a postgresql:// or
 * postgres:// URI, the password of "user:password@" and password query
 * parameters. out is always NUL-terminated (when outlen > 0) and never holds a
 * secret, even truncated. 0, or -ENOSPC when out was too small.
 */
int pgcdc_config_redact_dsn(const char *dsn, char *out /* OUT */, size_t outlen);

/* The SELECT statement snapshot.select.statement.overrides.<schema>.<table>
 * sets for a table, or NULL when none. */
const char *pgcdc_config_snapshot_override(const struct pgcdc_config *cfg, const char *schema,
                                           const char *table);

/* Number of known keys (kafka.* not counted). */
size_t pgcdc_config_key_count(void);

/* Name of known key i (i < pgcdc_config_key_count()), else NULL. */
const char *pgcdc_config_key_name(size_t i);

/* Default value of known key i as text ("" = unset), else NULL. */
const char *pgcdc_config_key_default(size_t i);

/* Whether skipped.operations names op ('c', 'u', 'd' or 't'). */
bool pgcdc_config_op_skipped(const struct pgcdc_config *cfg, char op);

/* Splits listen ("host:port", "[v6]:port" or ":port" for every address)
 * into host (cut to hostlen; "" for every address) and port: 0, or
 * -EINVAL with the reason in err. */
int pgcdc_config_parse_listen(const char *listen, char *host /* OUT */, size_t hostlen,
                              unsigned *port /* OUT */, char *err, size_t errlen);

#endif
