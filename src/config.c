/*
 * config.c - pgcdc's configuration (see config.h for the file format).
 *
 * Every known key is one row of key_table: its name, how its value is typed
 * (string, bool, int, enum, pattern list), where it lives in struct
 * pgcdc_config, its default as text and whether it is secret. Defaults are
 * applied through the same setter as user values, so a default is always a
 * value the key accepts; the unit tests check that conf/pgcdc.conf names
 * every key of the table and shows its real default.
 *
 * Pattern lists are compiled by the filter module (filter.h), which also
 * owns matching; the configuration only holds them.
 */
#include "pgcdc/config.h"
#include "pgcdc/configref.h"
#include "pgcdc/filter.h"
#include "pgcdc/hex.h"
#include "pgcdc/topic.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MASK "********"
#define NAME_MAX_BYTES 63 /* PostgreSQL's NAMEDATALEN - 1 */

enum key_kind {
    KIND_STRING,   /* char * */
    KIND_BOOL,     /* bool */
    KIND_INT,      /* int, range-checked */
    KIND_ENUM,     /* an enum stored as int; value = index in choices */
    KIND_PATTERNS, /* struct pgcdc_patterns * (filter.h) */
    KIND_KEYCOLS,  /* struct pgcdc_patterns * from message.key.columns' syntax (filter.h) */
};

enum key_secret {
    SECRET_NONE, /* printed as is */
    SECRET_ALL,  /* printed as MASK when set */
    SECRET_DSN,  /* libpq conninfo or URI: passwords masked */
    SECRET_URL,  /* URL list: user:password@ masked */
};

/* A string check: NULL when value is fine, else what is allowed. */
typedef const char *(*string_check_fn)(const char *value);

struct key_def {
    const char *name;           /* key as written in the file */
    enum key_kind kind;         /* value type */
    size_t offset;              /* field in struct pgcdc_config */
    const char *def;            /* default as text */
    const char *const *choices; /* KIND_ENUM: names by value, NULL-terminated */
    int min;                    /* KIND_INT: smallest value */
    int max;                    /* KIND_INT: largest value */
    bool no_zero;               /* KIND_INT: 0 is not allowed inside [min, max] */
    string_check_fn check;      /* KIND_STRING: value check, or NULL */
    enum key_secret secret;     /* how pgcdc_config_dump() prints it */
};

_Static_assert(sizeof(enum pgcdc_config_autocreate) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_config_keyless) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_config_sink) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_config_format) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_config_cleanup) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_config_snapshot) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_log_level) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_log_format) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_config_mismatch) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_decimal_mode) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_config_failure) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_time_mode) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_binary_mode) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_interval_mode) == sizeof(int), "enum stored as int");
_Static_assert(sizeof(enum pgcdc_hstore_mode) == sizeof(int), "enum stored as int");

static const char *const autocreate_names[] = {"all_tables", "filtered", "disabled", "no_tables",
                                               NULL};
static const char *const keyless_names[] = {"skip", "include", NULL};
static const char *const sink_names[] = {"stdout", "kafka", NULL};
static const char *const format_names[] = {"json", "avro", NULL};
static const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_format_names[] = {"text", "json", NULL};
static const char *const cleanup_names[] = {"delete", "compact", NULL};
static const char *const snapshot_names[] = {"no_data",     "initial", "initial_only",
                                              "when_needed", "always",  "never",
                                              NULL};
/* In the order of the enums of types.h. */
static const char *const decimal_names[] = {"precise", "double", "string", NULL};
static const char *const time_names[] = {"adaptive", "adaptive_time_microseconds", "connect",
                                         NULL};
static const char *const binary_names[] = {"bytes", "base64", "base64-url-safe", "hex", NULL};
static const char *const interval_names[] = {"numeric", "string", NULL};
static const char *const hstore_names[] = {"json", "map", NULL};
static const char *const failure_names[] = {"fail", "warn", "skip", NULL};
static const char *const mismatch_names[] = {"fail",       "no_validation",     "trust_offset",
                                             "trust_slot", "trust_greater_lsn", NULL};

static const char *check_topic_prefix(const char *v)
{
    const char *p;

    if (*v == '\0')
        return "a non-empty name of letters, digits, '.', '_' and '-'";
    for (p = v; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
            return "only letters, digits, '.', '_' and '-'";
    }
    return NULL;
}

static const char *check_topic_delimiter(const char *v)
{
    if (*v == '\0' || check_topic_prefix(v) != NULL)
        return "one or more letters, digits, '.', '_' and '-'";
    return NULL;
}

static const char *check_slot_name(const char *v)
{
    const char *p;

    if (*v == '\0' || strlen(v) > NAME_MAX_BYTES)
        return "1 to 63 characters from a-z, 0-9 and '_'";
    for (p = v; *p != '\0'; p++) {
        if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') && *p != '_')
            return "1 to 63 characters from a-z, 0-9 and '_'";
    }
    return NULL;
}

static const char *check_identifier(const char *v)
{
    if (*v == '\0' || strlen(v) > NAME_MAX_BYTES)
        return "a name of 1 to 63 bytes";
    return NULL;
}

static const char *check_non_empty(const char *v)
{
    return *v == '\0' ? "a non-empty value" : NULL;
}

/* skipped.operations: "none", or a comma-separated list of c, u, d, t. */
static const char *check_skipped_ops(const char *v)
{
    const char *p = v;
    const char *want = "'none' or a comma-separated list of c, u, d and t";

    while (*p == ' ')
        p++;
    if (strcasecmp(p, "none") == 0)
        return NULL;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p != 'c' && *p != 'u' && *p != 'd' && *p != 't')
            return want;
        p++;
        while (*p == ' ')
            p++;
        if (*p == '\0')
            return NULL;
        if (*p++ != ',')
            return want;
    }
}

/* slot.stream.params: "name=value;...", pgoutput's options that change what
 * pgcdc receives without breaking how it reads it. */
static const char *check_stream_params(const char *v)
{
    static const char *const want =
        "pgoutput options separated by ';': messages=true|false, origin=any|none";
    const char *p = v;

    while (*p) {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char item[64], *eq, *k, *val, *q;

        if (n >= sizeof(item))
            return want;
        memcpy(item, p, n);
        item[n] = '\0';
        p = end ? end + 1 : p + n;
        k = item;
        while (*k == ' ')
            k++;
        if (*k == '\0')
            continue;
        eq = strchr(k, '=');
        if (eq == NULL)
            return want;
        for (q = eq; q > k && q[-1] == ' '; q--)
            ;
        *q = '\0';
        val = eq + 1;
        while (*val == ' ')
            val++;
        for (q = val + strlen(val); q > val && q[-1] == ' '; q--)
            ;
        *q = '\0';
        if (strcasecmp(k, "messages") == 0 &&
            (strcasecmp(val, "true") == 0 || strcasecmp(val, "false") == 0))
            continue;
        if (strcasecmp(k, "origin") == 0 &&
            (strcasecmp(val, "any") == 0 || strcasecmp(val, "none") == 0))
            continue;
        if (strcasecmp(k, "streaming") == 0)
            return "no 'streaming': pgcdc decodes a transaction once it has committed";
        if (strcasecmp(k, "binary") == 0)
            return "no 'binary': pgcdc reads pgoutput's text format, which Debezium's values "
                   "are built from";
        if (strcasecmp(k, "proto_version") == 0 || strcasecmp(k, "publication_names") == 0)
            return "no 'proto_version' or 'publication_names': pgcdc sets them (see "
                   "publication.name)";
        return want;
    }
    return NULL;
}

bool pgcdc_config_op_skipped(const struct pgcdc_config *cfg, char op)
{
    const char *v = cfg->skipped_operations;

    for (const char *p = v; p && *p; p++)
        if (*p == op && (p == v || p[-1] == ',' || p[-1] == ' ') &&
            (p[1] == '\0' || p[1] == ',' || p[1] == ' '))
            return true;
    return false;
}

int pgcdc_config_parse_listen(const char *listen, char *host, size_t hostlen, unsigned *port,
                             char *err, size_t errlen)
{
    const char *colon, *h = listen;
    size_t n;
    char *end;
    unsigned long v;

    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');

        if (close == NULL || close[1] != ':')
            goto bad;
        h = listen + 1;
        n = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (colon == NULL)
            goto bad;
        n = (size_t)(colon - listen);
    }
    if (n >= hostlen)
        goto bad;
    memcpy(host, h, n);
    host[n] = '\0';
    errno = 0;
    v = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || v == 0 || v > 65535)
        goto bad;
    *port = (unsigned)v;
    return 0;

bad:
    snprintf(err, errlen, "'%s' is not host:port (e.g. 127.0.0.1:9187, [::1]:9187 or :9187)",
             listen);
    return -EINVAL;
}

/* metrics.listen: empty (off) or host:port. */
static const char *check_listen(const char *v)
{
    char host[256], err[128];
    unsigned port;

    if (*v == '\0' ||
        pgcdc_config_parse_listen(v, host, sizeof(host), &port, err, sizeof(err)) == 0)
        return NULL;
    return "host:port (e.g. 127.0.0.1:9187, [::1]:9187 or :9187), or empty for none";
}

#define OFF(field) offsetof(struct pgcdc_config, field)
#define KEY_STRING(n, f, d, chk, sec)                                                              \
    {                                                                                              \
        .name = n, .kind = KIND_STRING, .offset = OFF(f), .def = d, .check = chk, .secret = sec    \
    }
#define KEY_BOOL(n, f, d)                                                                          \
    {                                                                                              \
        .name = n, .kind = KIND_BOOL, .offset = OFF(f), .def = d                                   \
    }
#define KEY_INT(n, f, d, lo, hi, nz)                                                               \
    {                                                                                              \
        .name = n, .kind = KIND_INT, .offset = OFF(f), .def = d, .min = lo, .max = hi,             \
        .no_zero = nz                                                                              \
    }
#define KEY_ENUM(n, f, d, names)                                                                   \
    {                                                                                              \
        .name = n, .kind = KIND_ENUM, .offset = OFF(f), .def = d, .choices = names                 \
    }
#define KEY_PATTERNS(n, f)                                                                         \
    {                                                                                              \
        .name = n, .kind = KIND_PATTERNS, .offset = OFF(f), .def = ""                              \
    }

/* The order here is the order of pgcdc_config_dump() and pgcdc_config_key_name(). */
static const struct key_def key_table[] = {
    KEY_STRING("database.dsn", database_dsn, "", NULL, SECRET_DSN),
    KEY_STRING("topic.prefix", topic_prefix, "", check_topic_prefix, SECRET_NONE),
    KEY_STRING("topic.delimiter", topic_delimiter, ".", check_topic_delimiter, SECRET_NONE),
    KEY_BOOL("provide.transaction.metadata", provide_txn_metadata, "false"),
    KEY_STRING("topic.transaction", topic_transaction, "transaction", check_topic_delimiter,
               SECRET_NONE),
    KEY_STRING("slot.name", slot_name, "pgcdc", check_slot_name, SECRET_NONE),
    KEY_STRING("publication.name", publication_name, "pgcdc", check_identifier, SECRET_NONE),
    KEY_ENUM("publication.autocreate.mode", autocreate, "filtered", autocreate_names),
    KEY_ENUM("publication.keyless.tables", keyless_tables, "skip", keyless_names),
    KEY_BOOL("publication.column.lists", column_lists, "false"),
    KEY_PATTERNS("table.include.list", table_include),
    KEY_PATTERNS("table.exclude.list", table_exclude),
    KEY_PATTERNS("column.include.list", column_include),
    KEY_PATTERNS("column.exclude.list", column_exclude),
    {.name = "message.key.columns", .kind = KIND_KEYCOLS, .offset = OFF(message_key_columns),
     .def = ""},
    KEY_BOOL("tombstones.on.delete", tombstones_on_delete, "true"),
    KEY_STRING("unavailable.value.placeholder", unavailable_value_placeholder,
               "__debezium_unavailable_value", NULL, SECRET_NONE),
    KEY_BOOL("include.unknown.datatypes", include_unknown_datatypes, "false"),
    KEY_ENUM("decimal.handling.mode", type_modes.decimal, "precise", decimal_names),
    KEY_ENUM("time.precision.mode", type_modes.time, "adaptive", time_names),
    KEY_ENUM("binary.handling.mode", type_modes.binary, "bytes", binary_names),
    KEY_ENUM("interval.handling.mode", type_modes.interval, "numeric", interval_names),
    KEY_ENUM("hstore.handling.mode", type_modes.hstore, "json", hstore_names),
    KEY_INT("money.fraction.digits", type_modes.money_digits, "2", 0, 18, false),
    KEY_ENUM("sink", sink, "kafka", sink_names),
    KEY_ENUM("format", format, "avro", format_names),
    KEY_ENUM("log.level", log_level, "info", log_level_names),
    KEY_ENUM("log.format", log_format, "text", log_format_names),
    KEY_STRING("offset.storage.file.filename", offset_file, "pgcdc.offsets", check_non_empty,
               SECRET_NONE),
    KEY_INT("offset.flush.interval.ms", offset_flush_interval_ms, "1000", 0, INT_MAX, false),
    KEY_ENUM("offset.mismatch.strategy", offset_mismatch, "fail", mismatch_names),
    KEY_STRING("skipped.operations", skipped_operations, "t", check_skipped_ops, SECRET_NONE),
    KEY_STRING("slot.stream.params", slot_stream_params, "", check_stream_params, SECRET_NONE),
    KEY_BOOL("slot.drop.on.stop", slot_drop_on_stop, "false"),
    KEY_PATTERNS("message.prefix.include.list", message_prefix_include),
    KEY_PATTERNS("message.prefix.exclude.list", message_prefix_exclude),
    KEY_ENUM("event.processing.failure.handling.mode", failure_mode, "fail", failure_names),
    KEY_INT("errors.max.retries", errors_max_retries, "-1", -1, INT_MAX, false),
    KEY_INT("status.interval.ms", status_interval_ms, "1000", 1, INT_MAX, false),
    KEY_INT("reconnect.backoff.initial.ms", reconnect_backoff_initial_ms, "500", 1, INT_MAX, false),
    KEY_INT("reconnect.backoff.max.ms", reconnect_backoff_max_ms, "30000", 1, INT_MAX, false),
    KEY_INT("database.connect.timeout.ms", connect_timeout_ms, "30000", 0, INT_MAX, false),
    KEY_STRING("metrics.listen", metrics_listen, "", check_listen, SECRET_NONE),
    KEY_STRING("schema.registry.url", registry_url, "", NULL, SECRET_URL),
    KEY_STRING("schema.registry.basic.auth.user.info", registry_user_info, "", NULL, SECRET_ALL),
    KEY_STRING("schema.registry.ssl.ca.location", registry_ssl_ca, "", NULL, SECRET_NONE),
    KEY_STRING("schema.registry.ssl.certificate.location", registry_ssl_cert, "", NULL,
               SECRET_NONE),
    KEY_STRING("schema.registry.ssl.key.location", registry_ssl_key, "", NULL, SECRET_NONE),
    KEY_INT("topic.creation.default.partitions", topic_partitions, "1", 1, INT_MAX, false),
    KEY_INT("topic.creation.default.replication.factor", topic_replication_factor, "-1", -1, 32767,
            true),
    KEY_ENUM("topic.creation.default.cleanup.policy", topic_cleanup, "delete", cleanup_names),
    KEY_INT("max.queue.size", max_queue_size, "100000", 1, INT_MAX, false),
    KEY_ENUM("snapshot.mode", snapshot_mode, "initial", snapshot_names),
    KEY_PATTERNS("snapshot.include.collection.list", snapshot_include),
    KEY_INT("snapshot.max.threads", snapshot_max_threads, "1", 1, 64, false),
    KEY_INT("snapshot.chunk.rows", snapshot_chunk_rows, "100000", 1, INT_MAX, false),
    KEY_INT("incremental.snapshot.chunk.size", incremental_chunk_size, "1024", 1, 1000000, false),
    KEY_STRING("snapshot.select.statement.overrides", snapshot_overrides, "", NULL, SECRET_NONE),
};

#define KEY_COUNT (sizeof(key_table) / sizeof(key_table[0]))
#define KAFKA_PREFIX "kafka."
#define KAFKA_PREFIX_LEN (sizeof(KAFKA_PREFIX) - 1)
#define OVERRIDE_PREFIX "snapshot.select.statement.overrides."
#define OVERRIDE_PREFIX_LEN (sizeof(OVERRIDE_PREFIX) - 1)

/* Debezium keys that pgcdc spells differently, with the pgcdc way. */
static const struct {
    const char *name; /* key a Debezium user may write */
    const char *hint; /* what to write instead */
} key_hints[] = {
    {"database.hostname", "set host in 'database.dsn'"},
    {"database.port", "set port in 'database.dsn'"},
    {"database.user", "set user in 'database.dsn'"},
    {"database.password", "set password in 'database.dsn', as a reference such as "
                          "password=${file:/path} or literally, or use PGPASSWORD or a .pgpass "
                          "file"},
    {"database.dbname", "set dbname in 'database.dsn'"},
    {"table.whitelist", "use 'table.include.list'"},
    {"table.blacklist", "use 'table.exclude.list'"},
    {"column.whitelist", "use 'column.include.list'"},
    {"column.blacklist", "use 'column.exclude.list'"},
    {"plugin.name", "pgcdc always decodes with pgoutput, PostgreSQL's built-in plugin: remove "
                    "the key"},
    {"connector.class", "a Kafka Connect setting; pgcdc runs without Kafka Connect: remove the "
                        "key"},
    {"tasks.max", "a Kafka Connect setting; pgcdc runs without Kafka Connect: remove the key"},
    {"key.converter", "use 'format' (avro or json)"},
    {"value.converter", "use 'format' (avro or json)"},
    {"poll.interval.ms", "pgcdc produces each change as it arrives, without a polling "
                         "interval: remove the key"},
};

size_t pgcdc_config_key_count(void)
{
    return KEY_COUNT;
}

const char *pgcdc_config_key_name(size_t i)
{
    return i < KEY_COUNT ? key_table[i].name : NULL;
}

const char *pgcdc_config_key_default(size_t i)
{
    return i < KEY_COUNT ? key_table[i].def : NULL;
}

static const struct key_def *find_key(const char *name)
{
    size_t i;

    for (i = 0; i < KEY_COUNT; i++) {
        if (strcmp(key_table[i].name, name) == 0)
            return &key_table[i];
    }
    return NULL;
}

static void *field(struct pgcdc_config *cfg, const struct key_def *k)
{
    return (char *)cfg + k->offset;
}

static const void *cfield(const struct pgcdc_config *cfg, const struct key_def *k)
{
    return (const char *)cfg + k->offset;
}

/* ---- did-you-mean ---- */

#define SUGGEST_MAX_LEN 128

/* Edit distance of a and b (insertions, deletions, substitutions and swaps of
 * two neighbours each cost 1), b at most SUGGEST_MAX_LEN bytes. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t rows[3][SUGGEST_MAX_LEN + 1];
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2], *t;

    for (j = 0; j <= lb; j++)
        prev[j] = j;
    for (i = 1; i <= la; i++) {
        cur[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t best = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);

            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

static void unknown_key_error(const char *key, char *err, size_t errlen)
{
    size_t i, best = SIZE_MAX, limit, len = strlen(key);
    const char *best_name = NULL;
    const char *dot;

    for (i = 0; i < sizeof(key_hints) / sizeof(key_hints[0]); i++) {
        if (strcmp(key, key_hints[i].name) == 0) {
            snprintf(err, errlen, "unknown key '%s' (%s)", key, key_hints[i].hint);
            return;
        }
    }
    if (len <= SUGGEST_MAX_LEN) {
        for (i = 0; i < KEY_COUNT; i++) {
            size_t d;

            if (strlen(key_table[i].name) > SUGGEST_MAX_LEN)
                continue;
            d = edit_distance(key, key_table[i].name);
            if (d < best) {
                best = d;
                best_name = key_table[i].name;
            }
        }
        /* A typo costs about one edit per four characters; beyond that the
         * "suggestion" would be a different key. */
        limit = len / 4;
        if (limit < 1)
            limit = 1;
        if (limit > 3)
            limit = 3;
        if (best_name != NULL && best <= limit) {
            snprintf(err, errlen, "unknown key '%s' (did you mean '%s'?)", key, best_name);
            return;
        }
        /* "kafak.acks": a misspelt passthrough prefix. */
        dot = strchr(key, '.');
        if (dot != NULL && dot[1] != '\0' && (size_t)(dot - key) <= 8) {
            char head[9];

            memcpy(head, key, (size_t)(dot - key));
            head[dot - key] = '\0';
            if (edit_distance(head, "kafka") <= 1) {
                snprintf(err, errlen, "unknown key '%s' (did you mean 'kafka.%s'?)", key, dot + 1);
                return;
            }
        }
    }
    snprintf(err, errlen, "unknown key '%s'", key);
}

/* ---- value parsing ---- */

static int parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "on", "yes", "1"};
    static const char *const no[] = {"false", "off", "no", "0"};
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_int(const char *v, const struct key_def *k, int *out)
{
    const char *p = v;
    char *end;
    long long n;

    if (*p == '-' || *p == '+')
        p++;
    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (errno != 0 || *end != '\0' || n < k->min || n > k->max || (k->no_zero && n == 0))
        return -EINVAL;
    *out = (int)n;
    return 0;
}

static int parse_enum(const char *v, const struct key_def *k, int *out)
{
    int i;

    for (i = 0; k->choices[i] != NULL; i++) {
        if (strcasecmp(v, k->choices[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return -EINVAL;
}

/* ---- setting ---- */

/* The entry of list[0..count) named name, or NULL. */
static struct pgcdc_config_kv *kv_find(struct pgcdc_config_kv *list, size_t count,
                                       const char *name)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(list[i].name, name) == 0)
            return &list[i];
    }
    return NULL;
}

/* Sets name to value in a kv list: an existing entry keeps its place.
 * 0 or -ENOMEM (list unchanged). */
static int kv_put(struct pgcdc_config_kv **list, size_t *count, size_t *cap, const char *name,
                  const char *value)
{
    struct pgcdc_config_kv *kv = kv_find(*list, *count, name), *grown;
    char *v = strdup(value), *n;
    size_t newcap;

    if (v == NULL)
        return -ENOMEM;
    if (kv != NULL) {
        free(kv->value);
        kv->value = v;
        return 0;
    }
    if (*count == *cap) {
        newcap = *cap ? *cap * 2 : 8;
        grown = realloc(*list, newcap * sizeof(*grown));
        if (grown == NULL) {
            free(v);
            return -ENOMEM;
        }
        *list = grown;
        *cap = newcap;
    }
    n = strdup(name);
    if (n == NULL) {
        free(v);
        return -ENOMEM;
    }
    (*list)[*count].name = n;
    (*list)[*count].value = v;
    (*count)++;
    return 0;
}

/* Removes name from a kv list, keeping the order of the others. */
static void kv_remove(struct pgcdc_config_kv *list, size_t *count, const char *name)
{
    struct pgcdc_config_kv *kv = kv_find(list, *count, name);
    size_t i;

    if (kv == NULL)
        return;
    i = (size_t)(kv - list);
    free(kv->name);
    free(kv->value);
    memmove(&list[i], &list[i + 1], (*count - i - 1) * sizeof(*list));
    (*count)--;
}

static int set_kafka(struct pgcdc_config *cfg, const char *key, const char *value, char *err,
                     size_t errlen)
{
    const char *name = key + KAFKA_PREFIX_LEN;

    if (*name == '\0') {
        snprintf(err, errlen, "invalid key '%s': a librdkafka property name must follow 'kafka.'",
                 key);
        return -EINVAL;
    }
    if (kv_put(&cfg->kafka, &cfg->kafka_count, &cfg->kafka_cap, name, value) < 0) {
        snprintf(err, errlen, "out of memory setting '%s'", key);
        return -ENOMEM;
    }
    return 0;
}

/* Writes "a, b or c" for an enum's choices. */
static void choices_text(const struct key_def *k, char *out, size_t outlen)
{
    size_t used = 0, i, n = 0;

    while (k->choices[n] != NULL)
        n++;
    out[0] = '\0';
    for (i = 0; i < n && used < outlen; i++) {
        const char *sep = i == 0 ? "" : (i + 1 == n ? " or " : ", ");
        int m = snprintf(out + used, outlen - used, "%s%s", sep, k->choices[i]);

        if (m < 0)
            break;
        used += (size_t)m;
    }
}

/* Sets k to value; messages quote shown, which is value or, for a value
 * resolved from references, the text as written. */
static int set_known(struct pgcdc_config *cfg, const struct key_def *k, const char *value,
                     const char *shown, bool is_default, char *err, size_t errlen)
{
    char allowed[128];
    const char *why;
    int n;
    bool b;

    switch (k->kind) {
    case KIND_STRING: {
        char **slot = field(cfg, k);
        char *copy;

        if (k->check != NULL && !(is_default && *value == '\0')) {
            why = k->check(value);
            if (why != NULL) {
                snprintf(err, errlen, "invalid value '%s' for '%s': expected %s", shown, k->name,
                         why);
                return -EINVAL;
            }
        }
        copy = strdup(value);
        if (copy == NULL)
            goto nomem;
        free(*slot);
        *slot = copy;
        return 0;
    }
    case KIND_BOOL:
        if (parse_bool(value, &b) < 0) {
            snprintf(err, errlen,
                     "invalid value '%s' for '%s': expected true or false (also on/off, "
                     "yes/no, 1/0)",
                     shown, k->name);
            return -EINVAL;
        }
        memcpy(field(cfg, k), &b, sizeof(b));
        return 0;
    case KIND_INT:
        if (parse_int(value, k, &n) < 0) {
            if (k->no_zero)
                snprintf(err, errlen,
                         "invalid value '%s' for '%s': expected %d or an integer from 1 to %d",
                         shown, k->name, k->min, k->max);
            else
                snprintf(err, errlen,
                         "invalid value '%s' for '%s': expected an integer from %d to %d", shown,
                         k->name, k->min, k->max);
            return -EINVAL;
        }
        memcpy(field(cfg, k), &n, sizeof(n));
        return 0;
    case KIND_ENUM:
        if (parse_enum(value, k, &n) < 0) {
            choices_text(k, allowed, sizeof(allowed));
            snprintf(err, errlen, "invalid value '%s' for '%s': expected %s", shown, k->name,
                     allowed);
            return -EINVAL;
        }
        memcpy(field(cfg, k), &n, sizeof(n));
        return 0;
    case KIND_PATTERNS:
    case KIND_KEYCOLS: {
        struct pgcdc_patterns *fresh = NULL, **slot = field(cfg, k);
        int rc = k->kind == KIND_PATTERNS
                     ? pgcdc_patterns_compile(k->name, value, &fresh, err, errlen)
                     : pgcdc_key_columns_compile(k->name, value, &fresh, err, errlen);

        if (rc == -ENOMEM)
            goto nomem;
        if (rc < 0)
            return rc;
        pgcdc_patterns_free(slot);
        *slot = fresh;
        return 0;
    }
    }
    snprintf(err, errlen, "internal error: key '%s' has no type", k->name);
    return -EINVAL;

nomem:
    snprintf(err, errlen, "out of memory setting '%s'", k->name);
    return -ENOMEM;
}

/* snapshot.select.statement.overrides.<schema>.<table> = SELECT ... */
static int set_override(struct pgcdc_config *cfg, const char *key, const char *value, char *err,
                        size_t errlen)
{
    const char *name = key + OVERRIDE_PREFIX_LEN;
    struct pgcdc_config_kv *grown;
    char *v, *n;

    if (strchr(name, '.') == NULL || name[0] == '.' || name[strlen(name) - 1] == '.') {
        snprintf(err, errlen,
                 "invalid key '%s': a table as <schema>.<table> must follow "
                 "'" OVERRIDE_PREFIX "'",
                 key);
        return -EINVAL;
    }
    v = strdup(value);
    if (v == NULL)
        goto nomem;
    for (size_t i = 0; i < cfg->overrides_count; i++) {
        if (strcmp(cfg->overrides[i].name, name) == 0) {
            free(cfg->overrides[i].value);
            cfg->overrides[i].value = v;
            return 0;
        }
    }
    grown = realloc(cfg->overrides, (cfg->overrides_count + 1) * sizeof(*grown));
    n = strdup(name);
    if (grown == NULL || n == NULL) {
        if (grown != NULL)
            cfg->overrides = grown;
        free(v);
        free(n);
        goto nomem;
    }
    cfg->overrides = grown;
    cfg->overrides[cfg->overrides_count].name = n;
    cfg->overrides[cfg->overrides_count].value = v;
    cfg->overrides_count++;
    return 0;

nomem:
    snprintf(err, errlen, "out of memory setting '%s'", key);
    return -ENOMEM;
}

const char *pgcdc_config_snapshot_override(const struct pgcdc_config *cfg, const char *schema,
                                           const char *table)
{
    size_t ls = strlen(schema);

    for (size_t i = 0; i < cfg->overrides_count; i++) {
        const char *n = cfg->overrides[i].name;

        if (strncmp(n, schema, ls) == 0 && n[ls] == '.' && strcmp(n + ls + 1, table) == 0)
            return cfg->overrides[i].value;
    }
    return NULL;
}

/* Sets key to value (already resolved); shown as set_known(). */
static int set_resolved(struct pgcdc_config *cfg, const char *key, const char *value,
                        const char *shown, char *err, size_t errlen)
{
    const struct key_def *k;

    if (strncmp(key, KAFKA_PREFIX, KAFKA_PREFIX_LEN) == 0)
        return set_kafka(cfg, key, value, err, errlen);
    if (strncmp(key, OVERRIDE_PREFIX, OVERRIDE_PREFIX_LEN) == 0)
        return set_override(cfg, key, value, err, errlen);
    k = find_key(key);
    if (k == NULL) {
        unknown_key_error(key, err, errlen);
        return -EINVAL;
    }
    return set_known(cfg, k, value, shown, false, err, errlen);
}

int pgcdc_config_set(struct pgcdc_config *cfg, const char *key, const char *value, char *err,
                     size_t errlen)
{
    char msg[512];
    char *resolved = NULL;
    int rc;

    if (key == NULL || *key == '\0') {
        snprintf(err, errlen, "missing key before '='");
        return -EINVAL;
    }
    if (value == NULL)
        value = "";
    if (strncmp(key, KAFKA_PREFIX, KAFKA_PREFIX_LEN) != 0 &&
        strncmp(key, OVERRIDE_PREFIX, OVERRIDE_PREFIX_LEN) != 0 && find_key(key) == NULL) {
        unknown_key_error(key, err, errlen);
        return -EINVAL;
    }
    rc = pgcdc_configref_expand(value, &resolved, msg, sizeof(msg));
    if (rc < 0) {
        snprintf(err, errlen, "key '%s': %s", key, msg);
        return rc == -ENOMEM ? -ENOMEM : -EINVAL;
    }
    if (resolved == NULL) {
        rc = set_resolved(cfg, key, value, value, err, errlen);
        if (rc == 0)
            kv_remove(cfg->written, &cfg->written_count, key);
        return rc;
    }
    /* Remember the text as written, so that printing the configuration
     * shows the reference and never what it resolved to. */
    rc = set_resolved(cfg, key, resolved, value, err, errlen);
    if (rc == 0 && kv_put(&cfg->written, &cfg->written_count, &cfg->written_cap, key, value) < 0) {
        snprintf(err, errlen, "out of memory setting '%s'", key);
        rc = -ENOMEM;
    }
    explicit_bzero(resolved, strlen(resolved));
    free(resolved);
    return rc;
}

/* Trims blanks at both ends of s[0..*len) in place; returns the new start. */
static char *trim(char *s, size_t *len)
{
    size_t n = *len;

    while (n > 0 && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    s[n] = '\0';
    *len = n;
    return s;
}

/* Splits line (modified in place) at its first '=' and sets the pair. */
static int set_line(struct pgcdc_config *cfg, char *line, size_t len, char *err, size_t errlen)
{
    char *eq = memchr(line, '=', len);
    size_t klen, vlen;
    char *key, *value;

    if (eq == NULL) {
        snprintf(err, errlen, "missing '=' (expected 'key = value')");
        return -EINVAL;
    }
    klen = (size_t)(eq - line);
    vlen = len - klen - 1;
    key = trim(line, &klen);
    value = trim(eq + 1, &vlen);
    return pgcdc_config_set(cfg, key, value, err, errlen);
}

int pgcdc_config_set_option(struct pgcdc_config *cfg, const char *option, char *err, size_t errlen)
{
    size_t len = strlen(option);
    char *copy = malloc(len + 1);
    int rc;

    if (copy == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    memcpy(copy, option, len + 1);
    rc = set_line(cfg, copy, len, err, errlen);
    free(copy);
    return rc;
}

int pgcdc_config_load_file(struct pgcdc_config *cfg, const char *path, char *err, size_t errlen)
{
    char msg[512];
    char *line = NULL, *p;
    size_t cap = 0, len;
    unsigned long lineno = 0;
    ssize_t got;
    FILE *f;
    int rc = 0;

    f = fopen(path, "r");
    if (f == NULL) {
        rc = -errno;
        snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return rc;
    }
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        p = line;
        len = strnlen(line, (size_t)got);
        if (len < (size_t)got) {
            /* C strings would end the value there, silently. */
            snprintf(err, errlen, "%s:%lu: a NUL byte at column %zu: the file must be text", path,
                     lineno, len + 1);
            rc = -EINVAL;
            goto out;
        }
        if (lineno == 1 && len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
            p += 3; /* UTF-8 byte order mark */
            len -= 3;
        }
        p = trim(p, &len);
        if (len == 0 || p[0] == '#')
            continue;
        rc = set_line(cfg, p, len, msg, sizeof(msg));
        if (rc < 0) {
            snprintf(err, errlen, "%s:%lu: %s", path, lineno, msg);
            goto out;
        }
    }
    if (ferror(f)) {
        rc = -EIO;
        snprintf(err, errlen, "cannot read '%s'", path);
    }
out:
    free(line);
    fclose(f);
    return rc;
}

/* ---- lifetime ---- */

int pgcdc_config_new(struct pgcdc_config **out, char *err, size_t errlen)
{
    struct pgcdc_config *cfg;
    size_t i;
    int rc;

    *out = NULL;
    cfg = calloc(1, sizeof(*cfg));
    if (cfg == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (i = 0; i < KEY_COUNT; i++) {
        rc = set_known(cfg, &key_table[i], key_table[i].def, key_table[i].def, true, err,
                       errlen);
        if (rc < 0) {
            pgcdc_config_free(cfg);
            return rc;
        }
    }
    *out = cfg;
    return 0;
}

void pgcdc_config_free(struct pgcdc_config *cfg)
{
    size_t i;

    if (cfg == NULL)
        return;
    for (i = 0; i < KEY_COUNT; i++) {
        const struct key_def *k = &key_table[i];

        if (k->kind == KIND_STRING)
            free(*(char **)field(cfg, k));
        else if (k->kind == KIND_PATTERNS || k->kind == KIND_KEYCOLS)
            pgcdc_patterns_free(field(cfg, k));
    }
    for (i = 0; i < cfg->kafka_count; i++) {
        free(cfg->kafka[i].name);
        free(cfg->kafka[i].value);
    }
    free(cfg->kafka);
    for (i = 0; i < cfg->overrides_count; i++) {
        free(cfg->overrides[i].name);
        free(cfg->overrides[i].value);
    }
    free(cfg->overrides);
    for (i = 0; i < cfg->written_count; i++) {
        free(cfg->written[i].name);
        free(cfg->written[i].value);
    }
    free(cfg->written);
    free(cfg);
}

/* ---- validation ---- */

/* True when kafka.<name> was set. */
static bool has_kafka_key(const struct pgcdc_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->kafka_count; i++)
        if (strcmp(cfg->kafka[i].name, name) == 0)
            return true;
    return false;
}

/* The longest topic.prefix that leaves room in Kafka's topic name limit for
 * <prefix>.message and for a table topic with one-character names. */
static size_t max_prefix_len(const struct pgcdc_config *cfg)
{
    size_t table_part = 2 * strlen(cfg->topic_delimiter) + 2;
    size_t message_part = sizeof(".message") - 1;

    return PGCDC_TOPIC_MAX_LEN - (table_part > message_part ? table_part : message_part);
}

/* snapshot.select.statement.overrides names each table whose statement
 * key is set, and no other (Debezium's pairing of the two). */
static int check_overrides(const struct pgcdc_config *cfg, char *err, size_t errlen)
{
    const char *list = cfg->snapshot_overrides;

    for (size_t i = 0; i < cfg->overrides_count; i++) {
        const char *n = cfg->overrides[i].name;
        size_t ln = strlen(n);
        bool listed = false;

        for (const char *p = list; *p != '\0';) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            const char *a = p, *b = p + len;

            while (a < b && isspace((unsigned char)*a))
                a++;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            if ((size_t)(b - a) == ln && strncmp(a, n, ln) == 0)
                listed = true;
            p = end ? end + 1 : p + len;
        }
        if (!listed) {
            snprintf(err, errlen,
                     "'" OVERRIDE_PREFIX "%s' is set but 'snapshot.select.statement.overrides' "
                     "does not list '%s'",
                     n, n);
            return -EINVAL;
        }
    }
    for (const char *p = list; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *a = p, *b = p + len;
        bool found = false;

        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        for (size_t i = 0; i < cfg->overrides_count && b > a; i++) {
            const char *n = cfg->overrides[i].name;

            if (strlen(n) == (size_t)(b - a) && strncmp(a, n, (size_t)(b - a)) == 0)
                found = true;
        }
        if (b > a && !found) {
            snprintf(err, errlen,
                     "'snapshot.select.statement.overrides' lists '%.*s' but "
                     "'" OVERRIDE_PREFIX "%.*s' is not set",
                     (int)(b - a), a, (int)(b - a), a);
            return -EINVAL;
        }
        p = end ? end + 1 : p + len;
    }
    return 0;
}

/* The text key (prefix + name) was set to when it held a reference, else
 * NULL. */
static const char *written_text(const struct pgcdc_config *cfg, const char *prefix,
                                const char *name)
{
    size_t plen = strlen(prefix);

    for (size_t i = 0; i < cfg->written_count; i++) {
        const char *w = cfg->written[i].name;

        if (strncmp(w, prefix, plen) == 0 && strcmp(w + plen, name) == 0)
            return cfg->written[i].value;
    }
    return NULL;
}

/* database.dsn must parse as libpq parses it. libpq's message quotes the
 * part it stumbled on, which may be a piece of a password: it is passed on
 * only for a DSN written out in the file, never for one that references
 * resolved (a secret with a blank or a quote, spliced into the string). */
static int check_dsn(const struct pgcdc_config *cfg, char *err, size_t errlen)
{
    PQconninfoOption *opts;
    char *why = NULL;
    size_t n;

    if (cfg->database_dsn[0] == '\0')
        return 0;
    opts = PQconninfoParse(cfg->database_dsn, &why);
    if (opts != NULL) {
        PQconninfoFree(opts);
        return 0;
    }
    if (why == NULL) {
        snprintf(err, errlen, "out of memory checking 'database.dsn'");
        return -ENOMEM;
    }
    if (written_text(cfg, "", "database.dsn") != NULL) {
        snprintf(err, errlen,
                 "'database.dsn' is not a valid connection string once its references are "
                 "resolved: quote a referenced value that may hold blanks "
                 "(password='${file:/path}'), and write a quote or backslash in it as \\' or "
                 "\\\\");
    } else {
        n = strlen(why);
        while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == ' '))
            n--;
        snprintf(err, errlen, "'database.dsn' is not a valid connection string: %.*s", (int)n,
                 why);
    }
    PQfreemem(why);
    return -EINVAL;
}

int pgcdc_config_validate(const struct pgcdc_config *cfg, char *err, size_t errlen)
{
    int rc = check_dsn(cfg, err, errlen);

    if (rc < 0)
        return rc;
    if (cfg->topic_prefix[0] == '\0') {
        snprintf(err, errlen, "missing required key 'topic.prefix'");
        return -EINVAL;
    }
    if (strlen(cfg->topic_prefix) > max_prefix_len(cfg)) {
        snprintf(err, errlen,
                 "'topic.prefix' is %zu characters long: topics are '<topic.prefix>.message' and "
                 "'<topic.prefix>%s<schema>%s<table>', and Kafka allows %d characters in a topic "
                 "name, so it must be at most %zu",
                 strlen(cfg->topic_prefix), cfg->topic_delimiter, cfg->topic_delimiter,
                 PGCDC_TOPIC_MAX_LEN, max_prefix_len(cfg));
        return -EINVAL;
    }
    if (cfg->format == PGCDC_CONFIG_FORMAT_AVRO && cfg->sink == PGCDC_CONFIG_SINK_KAFKA &&
        cfg->registry_url[0] == '\0') {
        snprintf(err, errlen,
                 "'schema.registry.url' is required when format = avro and sink = kafka");
        return -EINVAL;
    }
    if (cfg->format == PGCDC_CONFIG_FORMAT_AVRO && cfg->sink == PGCDC_CONFIG_SINK_STDOUT) {
        snprintf(err, errlen, "sink = stdout writes JSON lines: set format = json");
        return -EINVAL;
    }
    if (cfg->sink == PGCDC_CONFIG_SINK_KAFKA && !has_kafka_key(cfg, "bootstrap.servers")) {
        snprintf(err, errlen, "'kafka.bootstrap.servers' is required when sink = kafka");
        return -EINVAL;
    }
    rc = check_overrides(cfg, err, errlen);
    if (rc < 0)
        return rc;
    if (pgcdc_patterns_text(cfg->table_include)[0] != '\0' &&
        pgcdc_patterns_text(cfg->table_exclude)[0] != '\0') {
        snprintf(err, errlen, "'table.include.list' and 'table.exclude.list' cannot both be set");
        return -EINVAL;
    }
    if (pgcdc_patterns_text(cfg->column_include)[0] != '\0' &&
        pgcdc_patterns_text(cfg->column_exclude)[0] != '\0') {
        snprintf(err, errlen, "'column.include.list' and 'column.exclude.list' cannot both be set");
        return -EINVAL;
    }
    if (pgcdc_patterns_text(cfg->message_prefix_include)[0] != '\0' &&
        pgcdc_patterns_text(cfg->message_prefix_exclude)[0] != '\0') {
        snprintf(err, errlen, "'message.prefix.include.list' and 'message.prefix.exclude.list' "
                              "cannot both be set");
        return -EINVAL;
    }
    if (cfg->reconnect_backoff_max_ms < cfg->reconnect_backoff_initial_ms) {
        snprintf(err, errlen,
                 "'reconnect.backoff.max.ms' (%d) must not be less than "
                 "'reconnect.backoff.initial.ms' (%d)",
                 cfg->reconnect_backoff_max_ms, cfg->reconnect_backoff_initial_ms);
        return -EINVAL;
    }
    return 0;
}

/* ---- redaction ---- */

/* Output that counts what it would need and never overruns. */
struct sink_buf {
    char *out;  /* destination, may be NULL when cap is 0 */
    size_t cap; /* bytes at out */
    size_t len; /* bytes wanted so far (may exceed cap) */
};

static void sb_add(struct sink_buf *b, const char *s, size_t n)
{
    if (b->len < b->cap) {
        size_t room = b->cap - b->len;

        memcpy(b->out + b->len, s, n < room ? n : room);
    }
    b->len += n;
}

static void sb_str(struct sink_buf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

/* NUL-terminates; true when everything fit. */
static bool sb_finish(struct sink_buf *b)
{
    if (b->cap == 0)
        return false;
    if (b->len < b->cap) {
        b->out[b->len] = '\0';
        return true;
    }
    b->out[b->cap - 1] = '\0';
    return false;
}

/* True when s[0..n) contains word (lower case) in any case. */
static bool contains_ci(const char *s, size_t n, const char *word)
{
    size_t wl = strlen(word), i, j;

    for (i = 0; i + wl <= n; i++) {
        for (j = 0; j < wl; j++) {
            if (tolower((unsigned char)s[i + j]) != word[j])
                break;
        }
        if (j == wl)
            return true;
    }
    return false;
}

/* True when the name s[0..n), percent-decoded as libpq does for URI
 * parameters, contains "password" in any case. A name too long to check is
 * treated as a password, to be safe. */
static bool names_password(const char *s, size_t n)
{
    char dec[256];
    size_t i, d = 0;

    if (n > sizeof(dec))
        return true;
    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && pgcdc_hex_value(s[i + 1]) >= 0 && pgcdc_hex_value(s[i + 2]) >= 0) {
            dec[d++] = (char)(pgcdc_hex_value(s[i + 1]) * 16 + pgcdc_hex_value(s[i + 2]));
            i += 2;
        } else {
            dec[d++] = s[i];
        }
    }
    return contains_ci(dec, d, "password");
}

/* Masks the query parameters named like a password in s (after the '?'). */
static void redact_query(struct sink_buf *b, const char *s)
{
    while (*s != '\0') {
        size_t n = strcspn(s, "&");
        const char *eq = memchr(s, '=', n);

        if (eq != NULL && names_password(s, (size_t)(eq - s))) {
            sb_add(b, s, (size_t)(eq - s) + 1);
            sb_str(b, MASK);
        } else {
            sb_add(b, s, n);
        }
        s += n;
        if (*s == '&')
            sb_add(b, s++, 1);
    }
}

/* postgresql://[user[:password]@][hosts][/db][?params], split as libpq does:
 * the user part ends at the first '@' before any '/'. */
static void redact_pg_uri(struct sink_buf *b, const char *s, size_t prefix)
{
    const char *p = s + prefix, *at, *colon, *q;
    size_t n = strcspn(p, "@/");

    sb_add(b, s, prefix);
    if (p[n] == '@') {
        at = p + n;
        colon = memchr(p, ':', n);
        if (colon != NULL) {
            sb_add(b, p, (size_t)(colon - p) + 1);
            sb_str(b, MASK);
        } else {
            sb_add(b, p, n);
        }
        sb_add(b, at, 1);
        p = at + 1;
    }
    q = strchr(p, '?');
    if (q == NULL) {
        sb_str(b, p);
        return;
    }
    sb_add(b, p, (size_t)(q - p) + 1);
    redact_query(b, q + 1);
}

/* key = value pairs exactly as libpq's conninfo_parse() reads them. */
static void redact_conninfo(struct sink_buf *b, const char *s)
{
    size_t i = 0, kstart, kend, vstart;

    while (s[i] != '\0') {
        if (isspace((unsigned char)s[i])) {
            sb_add(b, s + i++, 1);
            continue;
        }
        kstart = i;
        while (s[i] != '\0' && s[i] != '=' && !isspace((unsigned char)s[i]))
            i++;
        kend = i;
        while (isspace((unsigned char)s[i]))
            i++;
        if (s[i] != '=') {
            /* libpq rejects this; we cannot tell names from values any more */
            sb_add(b, s + kstart, kend - kstart);
            if (s[kend] != '\0') {
                sb_str(b, " ");
                sb_str(b, MASK);
            }
            return;
        }
        i++;
        while (isspace((unsigned char)s[i]))
            i++;
        sb_add(b, s + kstart, i - kstart);
        vstart = i;
        if (s[i] == '\'') {
            i++;
            while (s[i] != '\0') {
                if (s[i] == '\\') {
                    i++;
                    if (s[i] != '\0')
                        i++;
                    continue;
                }
                if (s[i++] == '\'')
                    break;
            }
        } else {
            while (s[i] != '\0' && !isspace((unsigned char)s[i])) {
                if (s[i] == '\\' && s[i + 1] != '\0')
                    i++;
                i++;
            }
        }
        if (names_password(s + kstart, kend - kstart))
            sb_str(b, MASK);
        else
            sb_add(b, s + vstart, i - vstart);
    }
}

static size_t uri_prefix(const char *s)
{
    if (strncasecmp(s, "postgresql://", 13) == 0)
        return 13;
    if (strncasecmp(s, "postgres://", 11) == 0)
        return 11;
    return 0;
}

static void redact_dsn(struct sink_buf *b, const char *dsn)
{
    size_t prefix = uri_prefix(dsn);

    if (prefix > 0)
        redact_pg_uri(b, dsn, prefix);
    else
        redact_conninfo(b, dsn);
}

int pgcdc_config_redact_dsn(const char *dsn, char *out, size_t outlen)
{
    struct sink_buf b = {out, outlen, 0};

    redact_dsn(&b, dsn);
    return sb_finish(&b) ? 0 : -ENOSPC;
}

/* Masks the password of every "scheme://user:password@" in a URL list. */
static void redact_urls(struct sink_buf *b, const char *s)
{
    const char *p;

    while ((p = strstr(s, "://")) != NULL) {
        size_t n;
        const char *colon;

        p += 3;
        sb_add(b, s, (size_t)(p - s));
        n = strcspn(p, "@/?#,");
        if (p[n] == '@') {
            colon = memchr(p, ':', n);
            if (colon != NULL) {
                sb_add(b, p, (size_t)(colon - p) + 1);
                sb_str(b, MASK);
                sb_add(b, p + n, 1);
                p += n + 1;
            }
        }
        s = p;
    }
    sb_str(b, s);
}

/* ---- dump ---- */

static bool kafka_secret(const char *name)
{
    size_t n = strlen(name);

    return contains_ci(name, n, "password") || contains_ci(name, n, "secret") ||
           strcmp(name, "ssl.key.pem") == 0 || strcmp(name, "sasl.oauthbearer.config") == 0;
}

static void dump_masked(FILE *out, const char *key, void (*redact)(struct sink_buf *, const char *),
                        const char *value)
{
    struct sink_buf b = {NULL, 0, 0};
    char *buf;

    redact(&b, value);
    buf = malloc(b.len + 1);
    if (buf == NULL) {
        fprintf(out, "%s = %s\n", key, MASK);
        return;
    }
    b.out = buf;
    b.cap = b.len + 1;
    b.len = 0;
    redact(&b, value);
    sb_finish(&b);
    fprintf(out, "%s = %s\n", key, buf);
    free(buf);
}

int pgcdc_config_dump(const struct pgcdc_config *cfg, FILE *out)
{
    size_t i;
    int n;
    bool b;

    for (i = 0; i < KEY_COUNT; i++) {
        const struct key_def *k = &key_table[i];
        const char *s, *written = written_text(cfg, "", k->name);

        switch (k->kind) {
        case KIND_STRING:
            s = written != NULL ? written : *(char *const *)cfield(cfg, k);
            if (*s == '\0')
                fprintf(out, "%s =\n", k->name);
            else if (k->secret == SECRET_ALL || strstr(k->name, "password") != NULL ||
                     strstr(k->name, "secret") != NULL)
                fprintf(out, "%s = %s\n", k->name, MASK);
            else if (k->secret == SECRET_DSN)
                dump_masked(out, k->name, redact_dsn, s);
            else if (k->secret == SECRET_URL)
                dump_masked(out, k->name, redact_urls, s);
            else
                fprintf(out, "%s = %s\n", k->name, s);
            break;
        case KIND_BOOL:
            memcpy(&b, cfield(cfg, k), sizeof(b));
            fprintf(out, "%s = %s\n", k->name, written != NULL ? written : b ? "true" : "false");
            break;
        case KIND_INT:
            memcpy(&n, cfield(cfg, k), sizeof(n));
            if (written != NULL)
                fprintf(out, "%s = %s\n", k->name, written);
            else
                fprintf(out, "%s = %d\n", k->name, n);
            break;
        case KIND_ENUM:
            memcpy(&n, cfield(cfg, k), sizeof(n));
            fprintf(out, "%s = %s\n", k->name, written != NULL ? written : k->choices[n]);
            break;
        case KIND_PATTERNS:
        case KIND_KEYCOLS: {
            const char *text = pgcdc_patterns_text(*(struct pgcdc_patterns *const *)cfield(cfg, k));

            if (written != NULL)
                text = written;
            if (text[0] == '\0')
                fprintf(out, "%s =\n", k->name);
            else
                fprintf(out, "%s = %s\n", k->name, text);
            break;
        }
        }
    }
    for (i = 0; i < cfg->kafka_count; i++) {
        const struct pgcdc_config_kv *kv = &cfg->kafka[i];
        const char *v = written_text(cfg, KAFKA_PREFIX, kv->name);

        if (v == NULL)
            v = kv->value;
        if (kafka_secret(kv->name) && v[0] != '\0')
            fprintf(out, "%s%s = %s\n", KAFKA_PREFIX, kv->name, MASK);
        else if (v[0] == '\0')
            fprintf(out, "%s%s =\n", KAFKA_PREFIX, kv->name);
        else
            fprintf(out, "%s%s = %s\n", KAFKA_PREFIX, kv->name, v);
    }
    for (i = 0; i < cfg->overrides_count; i++) {
        const char *v = written_text(cfg, OVERRIDE_PREFIX, cfg->overrides[i].name);

        fprintf(out, "%s%s = %s\n", OVERRIDE_PREFIX, cfg->overrides[i].name,
                v != NULL ? v : cfg->overrides[i].value);
    }
    return ferror(out) ? -EIO : 0;
}
