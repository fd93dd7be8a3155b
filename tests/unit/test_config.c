/*
 * test_config.c - configuration: defaults, the file format, -o overrides,
 * value and cross-key validation with their messages, did-you-mean, pattern
 * lists held as set, kafka.* passthrough, secret redaction and the dump; that
 * conf/pgcdc.conf parses and documents every key; and the log line format.
 *
 * Runs from the project root (meson's workdir), where conf/pgcdc.conf lives.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgcdc/config.h"
#include "pgcdc/filter.h"
#include "pgcdc/log.h"

#define EXAMPLE_CONF "conf/pgcdc.conf"

static struct pgcdc_config *new_config(void)
{
    struct pgcdc_config *cfg = NULL;
    char err[256] = "";

    cr_assert_eq(pgcdc_config_new(&cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(cfg);
    return cfg;
}

/* Writes text to a fresh temporary file; path receives its name. */
static void write_temp(const char *text, char path[64])
{
    int fd;
    size_t len = strlen(text);

    snprintf(path, 64, "/tmp/pgcdc-test-XXXXXX");
    fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* Loads text as a file; returns load_file's result with its message in err. */
static int load_text(struct pgcdc_config *cfg, const char *text, char path[64], char *err,
                     size_t errlen)
{
    int rc;

    write_temp(text, path);
    rc = pgcdc_config_load_file(cfg, path, err, errlen);
    unlink(path);
    return rc;
}

/* pgcdc_config_dump() into a heap string. */
static char *dump(const struct pgcdc_config *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    cr_assert_not_null(f);
    cr_assert_eq(pgcdc_config_dump(cfg, f), 0);
    fclose(f);
    return text;
}

static void assert_set_fails(const char *key, const char *value, const char *want)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "";

    cr_assert_eq(pgcdc_config_set(cfg, key, value, err, sizeof(err)), -EINVAL,
                 "'%s' = '%s' was accepted", key, value);
    cr_assert_str_eq(err, want);
    pgcdc_config_free(cfg);
}

/* ---- defaults ---- */

Test(config, defaults)
{
    struct pgcdc_config *cfg = new_config();
    char err[256] = "";

    cr_assert_str_eq(cfg->database_dsn, "");
    cr_assert_str_eq(cfg->topic_prefix, "");
    cr_assert_str_eq(cfg->slot_name, "pgcdc");
    cr_assert_str_eq(cfg->publication_name, "pgcdc");
    cr_assert_eq(cfg->autocreate, PGCDC_CONFIG_AUTOCREATE_FILTERED);
    cr_assert_eq(pgcdc_patterns_count(cfg->table_include), 0);
    cr_assert_eq(pgcdc_patterns_count(cfg->table_exclude), 0);
    cr_assert(cfg->tombstones_on_delete);
    cr_assert_str_eq(cfg->unavailable_value_placeholder, "__debezium_unavailable_value");
    cr_assert_not(cfg->include_unknown_datatypes);
    cr_assert_eq(cfg->sink, PGCDC_CONFIG_SINK_KAFKA);
    cr_assert_eq(cfg->format, PGCDC_CONFIG_FORMAT_AVRO);
    cr_assert_eq(cfg->log_level, PGCDC_LOG_INFO);
    cr_assert_str_eq(cfg->offset_file, "pgcdc.offsets");
    cr_assert_eq(cfg->offset_flush_interval_ms, 1000);
    cr_assert_eq(cfg->status_interval_ms, 1000);
    cr_assert_eq(cfg->reconnect_backoff_initial_ms, 500);
    cr_assert_eq(cfg->reconnect_backoff_max_ms, 30000);
    cr_assert_str_eq(cfg->registry_url, "");
    cr_assert_str_eq(cfg->registry_user_info, "");
    cr_assert_eq(cfg->topic_partitions, 1);
    cr_assert_eq(cfg->topic_replication_factor, -1);
    cr_assert_eq(cfg->topic_cleanup, PGCDC_CONFIG_CLEANUP_DELETE);
    cr_assert_eq(cfg->max_queue_size, 100000);
    cr_assert_eq(cfg->snapshot_mode, PGCDC_CONFIG_SNAPSHOT_INITIAL);
    cr_assert_eq(cfg->snapshot_max_threads, 1);
    cr_assert_eq(cfg->overrides_count, 0);
    cr_assert_eq(cfg->kafka_count, 0);
    cr_assert_eq(pgcdc_filter_table(cfg, "public", "orders", err, sizeof(err)), 1);
    cr_assert_eq(pgcdc_filter_column(cfg, "public", "orders", "id", err, sizeof(err)), 1);
    pgcdc_config_free(cfg);
    pgcdc_config_free(NULL);
}

Test(config, every_default_is_a_value_the_key_accepts)
{
    struct pgcdc_config *cfg = new_config();
    char err[512];
    size_t i;

    for (i = 0; i < pgcdc_config_key_count(); i++) {
        const char *def = pgcdc_config_key_default(i);

        if (strcmp(pgcdc_config_key_name(i), "topic.prefix") == 0)
            continue; /* required: no default */
        cr_assert_eq(pgcdc_config_set(cfg, pgcdc_config_key_name(i), def, err, sizeof(err)), 0,
                     "%s", err);
    }
    cr_assert_null(pgcdc_config_key_name(pgcdc_config_key_count()));
    pgcdc_config_free(cfg);
}

/* ---- the file ---- */

Test(config, file_comments_whitespace_and_special_characters_in_values)
{
    struct pgcdc_config *cfg = new_config();
    char path[64], err[512] = "";

    cr_assert_eq(load_text(cfg,
                           "# leading comment\n"
                           "\n"
                           "   # indented comment\n"
                           "\t topic.prefix\t=   shop.v1  \n"
                           "database.dsn = host=db port=5433 password=a#b=c\n"
                           "unavailable.value.placeholder= # not a comment\n"
                           "slot.name=s1\r\n"
                           "tombstones.on.delete = OFF\n"
                           "publication.autocreate.mode = All_Tables\n"
                           "status.interval.ms = 250\n"
                           "   \t  \n"
                           "kafka.bootstrap.servers = k1:9092,k2:9092\n",
                           path, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_str_eq(cfg->topic_prefix, "shop.v1");
    cr_assert_str_eq(cfg->database_dsn, "host=db port=5433 password=a#b=c");
    cr_assert_str_eq(cfg->unavailable_value_placeholder, "# not a comment");
    cr_assert_str_eq(cfg->slot_name, "s1");
    cr_assert_not(cfg->tombstones_on_delete);
    cr_assert_eq(cfg->autocreate, PGCDC_CONFIG_AUTOCREATE_ALL_TABLES);
    cr_assert_eq(cfg->status_interval_ms, 250);
    cr_assert_eq(cfg->kafka_count, 1);
    cr_assert_str_eq(cfg->kafka[0].value, "k1:9092,k2:9092");
    pgcdc_config_free(cfg);
}

Test(config, bool_spellings)
{
    static const struct {
        const char *text;
        bool value;
    } cases[] = {{"true", true}, {"FALSE", false}, {"on", true}, {"Off", false},
                 {"yes", true},  {"NO", false},    {"1", true},  {"0", false}};
    struct pgcdc_config *cfg = new_config();
    char err[256];
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cr_assert_eq(
            pgcdc_config_set(cfg, "include.unknown.datatypes", cases[i].text, err, sizeof(err)), 0,
            "%s", err);
        cr_assert_eq(cfg->include_unknown_datatypes, cases[i].value, "'%s'", cases[i].text);
    }
    pgcdc_config_free(cfg);
}

Test(config, line_without_equals_names_file_and_line)
{
    struct pgcdc_config *cfg = new_config();
    char path[64], err[512] = "", want[600];

    cr_assert_eq(load_text(cfg, "# ok\ntopic.prefix = a\nslot.name\n", path, err, sizeof(err)),
                 -EINVAL);
    snprintf(want, sizeof(want), "%s:3: missing '=' (expected 'key = value')", path);
    cr_assert_str_eq(err, want);
    pgcdc_config_free(cfg);
}

Test(config, bad_value_in_file_names_file_line_key_and_value)
{
    struct pgcdc_config *cfg = new_config();
    char path[64], err[512] = "", want[600];

    cr_assert_eq(load_text(cfg, "\n\nmax.queue.size = lots\n", path, err, sizeof(err)), -EINVAL);
    snprintf(want, sizeof(want),
             "%s:3: invalid value 'lots' for 'max.queue.size': expected an integer from 1 to "
             "2147483647",
             path);
    cr_assert_str_eq(err, want);
    cr_assert_eq(load_text(cfg, "topic.prefx = x\n", path, err, sizeof(err)), -EINVAL);
    snprintf(want, sizeof(want), "%s:1: unknown key 'topic.prefx' (did you mean 'topic.prefix'?)",
             path);
    cr_assert_str_eq(err, want);
    pgcdc_config_free(cfg);
}

Test(config, nul_byte_in_file_is_an_error_naming_the_line)
{
    static const char text[] = "topic.prefix = a\ndatabase.dsn = host=db\0 password=x\n";
    struct pgcdc_config *cfg = new_config();
    char path[64] = "/tmp/pgcdc-test-XXXXXX", err[512] = "", want[600];
    int fd = mkstemp(path);

    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    cr_assert_eq(pgcdc_config_load_file(cfg, path, err, sizeof(err)), -EINVAL);
    unlink(path);
    snprintf(want, sizeof(want), "%s:2: a NUL byte at column 23: the file must be text", path);
    cr_assert_str_eq(err, want);
    /* nothing of the line was applied, not even the part before the NUL */
    cr_assert_str_eq(cfg->database_dsn, "");
    pgcdc_config_free(cfg);
}

Test(config, missing_file_is_an_error_naming_it)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "";

    cr_assert_eq(pgcdc_config_load_file(cfg, "/nonexistent/pgcdc.conf", err, sizeof(err)), -ENOENT);
    cr_assert_not_null(strstr(err, "'/nonexistent/pgcdc.conf'"), "%s", err);
    pgcdc_config_free(cfg);
}

Test(config, overrides_apply_after_the_file_and_later_wins)
{
    struct pgcdc_config *cfg = new_config();
    char path[64], err[512] = "";

    cr_assert_eq(load_text(cfg, "slot.name = from_file\nslot.name = file_again\nformat = avro\n",
                           path, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_str_eq(cfg->slot_name, "file_again");
    cr_assert_eq(pgcdc_config_set_option(cfg, "slot.name=first", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pgcdc_config_set_option(cfg, " slot.name = second ", err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(pgcdc_config_set_option(cfg, "format=json", err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pgcdc_config_set_option(cfg, "database.dsn=host=x user=y", err, sizeof(err)), 0,
                 "%s", err);
    cr_assert_str_eq(cfg->slot_name, "second");
    cr_assert_eq(cfg->format, PGCDC_CONFIG_FORMAT_JSON);
    cr_assert_str_eq(cfg->database_dsn, "host=x user=y");
    cr_assert_eq(pgcdc_config_set_option(cfg, "slot.name", err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "missing '=' (expected 'key = value')");
    cr_assert_eq(pgcdc_config_set_option(cfg, " = x", err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "missing key before '='");
    pgcdc_config_free(cfg);
}

/* ---- value validation ---- */

Test(config, bad_values_name_key_value_and_what_is_allowed)
{
    assert_set_fails("tombstones.on.delete", "maybe",
                     "invalid value 'maybe' for 'tombstones.on.delete': expected true or false "
                     "(also on/off, yes/no, 1/0)");
    assert_set_fails("status.interval.ms", "12x",
                     "invalid value '12x' for 'status.interval.ms': expected an integer from 1 "
                     "to 2147483647");
    assert_set_fails("status.interval.ms", "0",
                     "invalid value '0' for 'status.interval.ms': expected an integer from 1 to "
                     "2147483647");
    assert_set_fails("offset.flush.interval.ms", "99999999999",
                     "invalid value '99999999999' for 'offset.flush.interval.ms': expected an "
                     "integer from 0 to 2147483647");
    assert_set_fails("max.queue.size", " 5",
                     "invalid value ' 5' for 'max.queue.size': expected an integer from 1 to "
                     "2147483647");
    assert_set_fails("topic.creation.default.partitions", "0",
                     "invalid value '0' for 'topic.creation.default.partitions': expected an "
                     "integer from 1 to 2147483647");
    assert_set_fails("topic.creation.default.replication.factor", "0",
                     "invalid value '0' for 'topic.creation.default.replication.factor': "
                     "expected -1 or an integer from 1 to 32767");
    assert_set_fails("format", "xml", "invalid value 'xml' for 'format': expected json or avro");
    assert_set_fails("publication.autocreate.mode", "some",
                     "invalid value 'some' for 'publication.autocreate.mode': expected "
                     "all_tables, filtered, disabled or no_tables");
    assert_set_fails("log.level", "verbose",
                     "invalid value 'verbose' for 'log.level': expected error, warn, info or "
                     "debug");
    assert_set_fails("sink", "file", "invalid value 'file' for 'sink': expected stdout or kafka");
    assert_set_fails("snapshot.mode", "schema_only",
                     "invalid value 'schema_only' for 'snapshot.mode': expected no_data, initial, "
                     "initial_only, when_needed, always or never");
    assert_set_fails("snapshot.max.threads", "0",
                     "invalid value '0' for 'snapshot.max.threads': expected an integer from 1 "
                     "to 64");
    assert_set_fails("topic.creation.default.cleanup.policy", "compact,delete",
                     "invalid value 'compact,delete' for 'topic.creation.default.cleanup.policy': "
                     "expected delete or compact");
    assert_set_fails("topic.prefix", "shop/v1",
                     "invalid value 'shop/v1' for 'topic.prefix': expected only letters, digits, "
                     "'.', '_' and '-'");
    assert_set_fails("topic.prefix", "",
                     "invalid value '' for 'topic.prefix': expected a non-empty name of letters, "
                     "digits, '.', '_' and '-'");
    assert_set_fails("slot.name", "My-Slot",
                     "invalid value 'My-Slot' for 'slot.name': expected 1 to 63 characters from "
                     "a-z, 0-9 and '_'");
    assert_set_fails("slot.name",
                     "a234567890123456789012345678901234567890123456789012345678901234",
                     "invalid value "
                     "'a234567890123456789012345678901234567890123456789012345678901234' for "
                     "'slot.name': expected 1 to 63 characters from a-z, 0-9 and '_'");
    assert_set_fails("offset.storage.file.filename", "",
                     "invalid value '' for 'offset.storage.file.filename': expected a non-empty "
                     "value");
}

Test(config, accepted_edge_values)
{
    struct pgcdc_config *cfg = new_config();
    char err[256];

    cr_assert_eq(pgcdc_config_set(cfg, "slot.name",
                                  "a23456789012345678901234567890123456789"
                                  "012345678901234567890123",
                                  err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(
        pgcdc_config_set(cfg, "topic.creation.default.replication.factor", "3", err, sizeof(err)),
        0, "%s", err);
    cr_assert_eq(cfg->topic_replication_factor, 3);
    cr_assert_eq(pgcdc_config_set(cfg, "offset.flush.interval.ms", "0", err, sizeof(err)), 0);
    cr_assert_eq(cfg->offset_flush_interval_ms, 0);
    cr_assert_eq(pgcdc_config_set(cfg, "log.level", "DEBUG", err, sizeof(err)), 0);
    cr_assert_eq(cfg->log_level, PGCDC_LOG_DEBUG);
    cr_assert_eq(pgcdc_config_set(cfg, "topic.prefix", "Shop_v1.prod-eu", err, sizeof(err)), 0);
    pgcdc_config_free(cfg);
}

Test(config, failed_set_leaves_the_previous_value)
{
    struct pgcdc_config *cfg = new_config();
    char err[256];

    cr_assert_eq(pgcdc_config_set(cfg, "status.interval.ms", "750", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "status.interval.ms", "-5", err, sizeof(err)), -EINVAL);
    cr_assert_eq(cfg->status_interval_ms, 750);
    cr_assert_eq(pgcdc_config_set(cfg, "slot.name", "good", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "slot.name", "Bad", err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(cfg->slot_name, "good");
    cr_assert_eq(pgcdc_config_set(cfg, "table.include.list", "public\\.a", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "table.include.list", "public\\.b,(", err, sizeof(err)),
                 -EINVAL);
    cr_assert_str_eq(pgcdc_patterns_text(cfg->table_include), "public\\.a");
    cr_assert_eq(pgcdc_filter_table(cfg, "public", "a", err, sizeof(err)), 1);
    cr_assert_eq(pgcdc_filter_table(cfg, "public", "b", err, sizeof(err)), 0);
    pgcdc_config_free(cfg);
}

/* ---- unknown keys ---- */

Test(config, unknown_key_suggests_the_closest_known_key)
{
    assert_set_fails("topic.prefx", "x",
                     "unknown key 'topic.prefx' (did you mean 'topic.prefix'?)");
    assert_set_fails("slot_name", "x", "unknown key 'slot_name' (did you mean 'slot.name'?)");
    assert_set_fails("tombstone.on.delete", "x",
                     "unknown key 'tombstone.on.delete' (did you mean 'tombstones.on.delete'?)");
    assert_set_fails("kafak.acks", "all", "unknown key 'kafak.acks' (did you mean 'kafka.acks'?)");
    assert_set_fails("database.hostname", "db",
                     "unknown key 'database.hostname' (set host in 'database.dsn')");
    assert_set_fails("plugin.name", "pgoutput",
                     "unknown key 'plugin.name' (pgcdc always decodes with pgoutput, "
                     "PostgreSQL's built-in plugin: remove the key)");
    assert_set_fails("value.converter", "x",
                     "unknown key 'value.converter' (use 'format' (avro or json))");
    assert_set_fails("table.whitelist", "a",
                     "unknown key 'table.whitelist' (use 'table.include.list')");
}

Test(config, unknown_key_far_from_every_key_gets_no_suggestion)
{
    assert_set_fails("banana", "x", "unknown key 'banana'");
    assert_set_fails("snapshot.locking.mode", "none", "unknown key 'snapshot.locking.mode'");
    assert_set_fails("kafka.", "x",
                     "invalid key 'kafka.': a librdkafka property name must follow 'kafka.'");
}

/* ---- cross-key validation ---- */

Test(config, validate_requires_topic_prefix_and_registry_for_avro_on_kafka)
{
    struct pgcdc_config *cfg = new_config();
    char err[256] = "";

    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "missing required key 'topic.prefix'");
    cr_assert_eq(pgcdc_config_set(cfg, "topic.prefix", "shop", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "'schema.registry.url' is required when format = avro and sink = kafka");
    cr_assert_eq(pgcdc_config_set(cfg, "format", "json", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "'kafka.bootstrap.servers' is required when sink = kafka");
    cr_assert_eq(pgcdc_config_set(cfg, "kafka.bootstrap.servers", "k:9092", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), 0, "%s", err);
    /* stdout writes JSON lines only */
    cr_assert_eq(pgcdc_config_set(cfg, "format", "avro", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "sink", "stdout", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "sink = stdout writes JSON lines: set format = json");
    cr_assert_eq(pgcdc_config_set(cfg, "sink", "kafka", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "schema.registry.url", "http://sr:8081", err, sizeof(err)),
                 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), 0, "%s", err);
    pgcdc_config_free(cfg);
}

Test(config, topic_prefix_must_leave_room_in_kafkas_topic_limit)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "", prefix[300];

    cr_assert_eq(pgcdc_config_set(cfg, "format", "json", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "sink", "stdout", err, sizeof(err)), 0);
    /* '<prefix>.message' must fit in 249 characters */
    memset(prefix, 'p', 241);
    prefix[241] = '\0';
    cr_assert_eq(pgcdc_config_set(cfg, "topic.prefix", prefix, err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), 0, "%s", err);
    prefix[241] = 'p';
    prefix[242] = '\0';
    cr_assert_eq(pgcdc_config_set(cfg, "topic.prefix", prefix, err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_not_null(strstr(err, "'topic.prefix' is 242 characters long"), "%s", err);
    cr_assert_not_null(strstr(err, "must be at most 241"), "%s", err);
    /* a long delimiter takes room too: <prefix>DD<s>DD<t> */
    memset(prefix, 'p', 238);
    prefix[238] = '\0';
    cr_assert_eq(pgcdc_config_set(cfg, "topic.prefix", prefix, err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "topic.delimiter", "-----", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_not_null(strstr(err, "must be at most 237"), "%s", err);
    pgcdc_config_free(cfg);
}

Test(config, topic_delimiter_takes_topic_characters_only)
{
    assert_set_fails("topic.delimiter", "",
                     "invalid value '' for 'topic.delimiter': expected one or more letters, "
                     "digits, '.', '_' and '-'");
    assert_set_fails("topic.delimiter", "/",
                     "invalid value '/' for 'topic.delimiter': expected one or more letters, "
                     "digits, '.', '_' and '-'");
}

Test(config, include_and_exclude_lists_conflict)
{
    struct pgcdc_config *cfg = new_config();
    char err[256] = "";

    cr_assert_eq(pgcdc_config_set(cfg, "topic.prefix", "shop", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "format", "json", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "sink", "stdout", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "table.include.list", "public\\..*", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "table.exclude.list", "public\\.tmp", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "'table.include.list' and 'table.exclude.list' cannot both be set");
    /* an override can clear one of them */
    cr_assert_eq(pgcdc_config_set_option(cfg, "table.include.list=", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), 0, "%s", err);

    cr_assert_eq(pgcdc_config_set(cfg, "column.include.list", "public\\.t\\.a", err, sizeof(err)),
                 0);
    cr_assert_eq(pgcdc_config_set(cfg, "column.exclude.list", "public\\.t\\.b", err, sizeof(err)),
                 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "'column.include.list' and 'column.exclude.list' cannot both be set");
    pgcdc_config_free(cfg);
}

Test(config, snapshot_modes_and_overrides)
{
    static const struct {
        const char *name;
        enum pgcdc_config_snapshot mode;
    } modes[] = {
        {"no_data", PGCDC_CONFIG_SNAPSHOT_NO_DATA},
        {"initial", PGCDC_CONFIG_SNAPSHOT_INITIAL},
        {"initial_only", PGCDC_CONFIG_SNAPSHOT_INITIAL_ONLY},
        {"when_needed", PGCDC_CONFIG_SNAPSHOT_WHEN_NEEDED},
        {"always", PGCDC_CONFIG_SNAPSHOT_ALWAYS},
        {"never", PGCDC_CONFIG_SNAPSHOT_NEVER},
    };
    struct pgcdc_config *cfg = new_config();
    char err[256] = "";

    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        cr_assert_eq(pgcdc_config_set(cfg, "snapshot.mode", modes[i].name, err, sizeof(err)), 0);
        cr_assert_eq(cfg->snapshot_mode, modes[i].mode);
    }
    cr_assert_eq(pgcdc_config_set(cfg, "topic.prefix", "shop", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "sink", "stdout", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "format", "json", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "snapshot.select.statement.overrides.public.orders",
                                  "SELECT * FROM public.orders WHERE id > 10", err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "'snapshot.select.statement.overrides.public.orders' is set but "
                          "'snapshot.select.statement.overrides' does not list 'public.orders'");
    cr_assert_eq(pgcdc_config_set(cfg, "snapshot.select.statement.overrides",
                                  "public.orders, public.items", err, sizeof(err)),
                 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "'snapshot.select.statement.overrides' lists 'public.items' but "
                          "'snapshot.select.statement.overrides.public.items' is not set");
    cr_assert_eq(pgcdc_config_set(cfg, "snapshot.select.statement.overrides", "public.orders",
                                  err, sizeof(err)),
                 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(pgcdc_config_snapshot_override(cfg, "public", "orders"),
                     "SELECT * FROM public.orders WHERE id > 10");
    cr_assert_null(pgcdc_config_snapshot_override(cfg, "public", "order"));
    cr_assert_null(pgcdc_config_snapshot_override(cfg, "publi", "c.orders"));
    assert_set_fails("snapshot.select.statement.overrides.orders", "SELECT 1",
                     "invalid key 'snapshot.select.statement.overrides.orders': a table as "
                     "<schema>.<table> must follow 'snapshot.select.statement.overrides.'");
    pgcdc_config_free(cfg);
}

Test(config, backoff_max_below_initial_is_rejected)
{
    struct pgcdc_config *cfg = new_config();
    char err[256] = "";

    cr_assert_eq(pgcdc_config_set(cfg, "topic.prefix", "shop", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "sink", "stdout", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "format", "json", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "reconnect.backoff.max.ms", "100", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "'reconnect.backoff.max.ms' (100) must not be less than "
                          "'reconnect.backoff.initial.ms' (500)");
    pgcdc_config_free(cfg);
}

/* ---- kafka.* ---- */

Test(config, kafka_keys_pass_through_in_order)
{
    struct pgcdc_config *cfg = new_config();
    char path[64], err[256] = "";

    cr_assert_eq(load_text(cfg,
                           "kafka.bootstrap.servers = k1:9092\n"
                           "kafka.linger.ms = 5\n"
                           "topic.prefix = shop\n"
                           "kafka.compression.type = zstd\n",
                           path, err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(pgcdc_config_set_option(cfg, "kafka.linger.ms=20", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set_option(cfg, "kafka.acks=all", err, sizeof(err)), 0);
    cr_assert_eq(cfg->kafka_count, 4);
    cr_assert_str_eq(cfg->kafka[0].name, "bootstrap.servers");
    cr_assert_str_eq(cfg->kafka[0].value, "k1:9092");
    cr_assert_str_eq(cfg->kafka[1].name, "linger.ms");
    cr_assert_str_eq(cfg->kafka[1].value, "20");
    cr_assert_str_eq(cfg->kafka[2].name, "compression.type");
    cr_assert_str_eq(cfg->kafka[2].value, "zstd");
    cr_assert_str_eq(cfg->kafka[3].name, "acks");
    cr_assert_str_eq(cfg->kafka[3].value, "all");
    pgcdc_config_free(cfg);
}

Test(config, many_kafka_keys)
{
    struct pgcdc_config *cfg = new_config();
    char err[256] = "", key[32], value[32];
    int i;

    for (i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "kafka.p%d", i);
        snprintf(value, sizeof(value), "v%d", i);
        cr_assert_eq(pgcdc_config_set(cfg, key, value, err, sizeof(err)), 0);
    }
    cr_assert_eq(cfg->kafka_count, 100);
    cr_assert_str_eq(cfg->kafka[57].name, "p57");
    cr_assert_str_eq(cfg->kafka[57].value, "v57");
    pgcdc_config_free(cfg);
}

/* ---- redaction ---- */

static void assert_redacted(const char *dsn, const char *want)
{
    char out[512];

    cr_assert_eq(pgcdc_config_redact_dsn(dsn, out, sizeof(out)), 0);
    cr_assert_str_eq(out, want, "from [%s]", dsn);
}

Test(config, redact_conninfo)
{
    assert_redacted("host=db password=hunter2 user=app", "host=db password=******** user=app");
    assert_redacted("password = hunter2", "password = ********");
    assert_redacted("host=db password='my secret pass' dbname=app",
                    "host=db password=******** dbname=app");
    assert_redacted("password='it\\'s a secret' user=bob", "password=******** user=bob");
    assert_redacted("password=a\\ b user=bob", "password=******** user=bob");
    assert_redacted("sslpassword=keypass sslmode=verify-full",
                    "sslpassword=******** sslmode=verify-full");
    /* libpq skips blanks after '=', so the value here is "host=x" */
    assert_redacted("password= host=x port=1", "password= ******** port=1");
    assert_redacted("host=db user=app dbname=shop", "host=db user=app dbname=shop");
    assert_redacted("", "");
    assert_redacted("password='unterminated secret", "password=********");
}

Test(config, redact_uri)
{
    assert_redacted("postgresql://bob:hunter2@db.example:5432/app?sslmode=require",
                    "postgresql://bob:********@db.example:5432/app?sslmode=require");
    assert_redacted("postgres://bob:p%40ss?#word@h1,h2/app", "postgres://bob:********@h1,h2/app");
    assert_redacted("postgresql://bob@db/app?password=hunter2&application_name=x",
                    "postgresql://bob@db/app?password=********&application_name=x");
    assert_redacted("postgresql://db/app?pass%77ord=hunter2",
                    "postgresql://db/app?pass%77ord=********");
    assert_redacted("postgresql:///app", "postgresql:///app");
}

Test(config, redact_truncates_without_leaking)
{
    char out[24];

    memset(out, 'x', sizeof(out));
    cr_assert_eq(pgcdc_config_redact_dsn("host=averyveryverylonghostname password=hunter2", out,
                                         sizeof(out)),
                 -ENOSPC);
    cr_assert_eq(strlen(out), sizeof(out) - 1);
    cr_assert_null(strstr(out, "hunter2"));
    cr_assert_eq(pgcdc_config_redact_dsn("password=hunter2", out, 14), -ENOSPC);
    cr_assert_str_eq(out, "password=****");
}

/* ---- dump ---- */

Test(config, dump_masks_every_secret)
{
    static const char *const secrets[] = {"hunter2",  "bob:sr-secret", "s4sl",  "k3y",
                                          "oauth-cs", "regpass",       "jks-pw"};
    struct pgcdc_config *cfg = new_config();
    char err[256] = "";
    char *text;
    size_t i;

    cr_assert_eq(pgcdc_config_set(cfg, "database.dsn", "host=db password='hunter2' user=app", err,
                                  sizeof(err)),
                 0);
    cr_assert_eq(pgcdc_config_set(cfg, "schema.registry.basic.auth.user.info", "bob:sr-secret", err,
                                  sizeof(err)),
                 0);
    cr_assert_eq(pgcdc_config_set(cfg, "schema.registry.url", "https://reg:regpass@sr1:8081", err,
                                  sizeof(err)),
                 0);
    cr_assert_eq(pgcdc_config_set(cfg, "kafka.bootstrap.servers", "k1:9092", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "kafka.sasl.password", "s4sl", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "kafka.ssl.key.password", "k3y", err, sizeof(err)), 0);
    cr_assert_eq(
        pgcdc_config_set(cfg, "kafka.sasl.oauthbearer.client.secret", "oauth-cs", err, sizeof(err)),
        0);
    cr_assert_eq(pgcdc_config_set(cfg, "kafka.ssl.keystore.password", "jks-pw", err, sizeof(err)),
                 0);
    text = dump(cfg);
    for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        cr_assert_null(strstr(text, secrets[i]), "'%s' leaked:\n%s", secrets[i], text);
    cr_assert_not_null(strstr(text, "database.dsn = host=db password=******** user=app\n"), "%s",
                       text);
    cr_assert_not_null(strstr(text, "schema.registry.basic.auth.user.info = ********\n"), "%s",
                       text);
    cr_assert_not_null(strstr(text, "schema.registry.url = https://reg:********@sr1:8081\n"), "%s",
                       text);
    cr_assert_not_null(strstr(text, "kafka.bootstrap.servers = k1:9092\n"), "%s", text);
    cr_assert_not_null(strstr(text, "kafka.sasl.password = ********\n"), "%s", text);
    free(text);
    pgcdc_config_free(cfg);
}

Test(config, dump_reloads_to_the_same_configuration)
{
    struct pgcdc_config *a = new_config(), *b = new_config();
    char path[64], err[512] = "";
    char *first, *second;

    cr_assert_eq(load_text(a,
                           "topic.prefix = shop\n"
                           "table.include.list = public\\.a\\,b, x\\..*\n"
                           "tombstones.on.delete = no\n"
                           "format = json\n"
                           "max.queue.size = 77\n"
                           "kafka.acks = all\n",
                           path, err, sizeof(err)),
                 0, "%s", err);
    first = dump(a);
    cr_assert_eq(load_text(b, first, path, err, sizeof(err)), 0, "%s", err);
    second = dump(b);
    cr_assert_str_eq(first, second);
    cr_assert_not_null(strstr(first, "\ntombstones.on.delete = false\n"), "%s", first);
    cr_assert_not_null(strstr(first, "\nmax.queue.size = 77\n"), "%s", first);
    cr_assert_eq(pgcdc_filter_table(b, "public", "a,b", err, sizeof(err)), 1);
    free(first);
    free(second);
    pgcdc_config_free(a);
    pgcdc_config_free(b);
}

/* ---- references ---- */

Test(config, references_resolve_in_any_value_and_print_as_written)
{
    static const char *const secrets[] = {"pg-Secret-1", "sasl-Secret-2", "shopv1", "77"};
    struct pgcdc_config *cfg = new_config();
    char path[64], prop[64], line[256], err[512] = "";
    char *text;
    size_t i;

    setenv("PGCDC_T_PREFIX", "shopv1", 1);
    setenv("PGCDC_T_QUEUE", "77", 1);
    write_temp("pg-Secret-1\n", path);
    write_temp("sasl.password = sasl-Secret-2\n", prop);
    snprintf(line, sizeof(line), "host=db user=app password=${file:%s}", path);
    cr_assert_eq(pgcdc_config_set(cfg, "database.dsn", line, err, sizeof(err)), 0, "%s", err);
    snprintf(line, sizeof(line), "${file:%s:sasl.password}", prop);
    cr_assert_eq(pgcdc_config_set(cfg, "kafka.sasl.password", line, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(pgcdc_config_set(cfg, "topic.prefix", "${env:PGCDC_T_PREFIX}", err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(pgcdc_config_set(cfg, "max.queue.size", "${env:PGCDC_T_QUEUE}", err, sizeof(err)),
                 0, "%s", err);
    /* Debezium's own placeholders stay as written */
    cr_assert_eq(pgcdc_config_set(cfg, "unavailable.value.placeholder", "${routedByValue}", err,
                                  sizeof(err)),
                 0, "%s", err);

    cr_assert_str_eq(cfg->database_dsn, "host=db user=app password=pg-Secret-1");
    cr_assert_str_eq(cfg->kafka[0].value, "sasl-Secret-2");
    cr_assert_str_eq(cfg->topic_prefix, "shopv1");
    cr_assert_eq(cfg->max_queue_size, 77);
    cr_assert_str_eq(cfg->unavailable_value_placeholder, "${routedByValue}");

    text = dump(cfg);
    for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        cr_assert_null(strstr(text, secrets[i]), "'%s' leaked:\n%s", secrets[i], text);
    snprintf(line, sizeof(line), "database.dsn = host=db user=app password=********\n");
    cr_assert_not_null(strstr(text, line), "%s", text);
    cr_assert_not_null(strstr(text, "\ntopic.prefix = ${env:PGCDC_T_PREFIX}\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nmax.queue.size = ${env:PGCDC_T_QUEUE}\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nkafka.sasl.password = ********\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nunavailable.value.placeholder = ${routedByValue}\n"), "%s",
                       text);
    free(text);

    /* set again without a reference: printed as the plain value */
    cr_assert_eq(pgcdc_config_set(cfg, "topic.prefix", "plain", err, sizeof(err)), 0, "%s", err);
    text = dump(cfg);
    cr_assert_not_null(strstr(text, "\ntopic.prefix = plain\n"), "%s", text);
    free(text);
    unlink(path);
    unlink(prop);
    pgcdc_config_free(cfg);
}

Test(config, reference_errors_name_file_line_key_and_reference)
{
    struct pgcdc_config *cfg = new_config();
    char path[64], want[256], err[512] = "";

    unsetenv("PGCDC_T_UNSET");
    cr_assert_eq(load_text(cfg, "topic.prefix = shop\nkafka.sasl.password = ${env:PGCDC_T_UNSET}\n",
                           path, err, sizeof(err)),
                 -EINVAL);
    snprintf(want, sizeof(want),
             "%s:2: key 'kafka.sasl.password': reference '${env:PGCDC_T_UNSET}': environment "
             "variable 'PGCDC_T_UNSET' is not set",
             path);
    cr_assert_str_eq(err, want);
    cr_assert_eq(pgcdc_config_set_option(cfg, "database.dsn=password=${file:/nonexistent/pw}", err,
                                         sizeof(err)),
                 -EINVAL);
    cr_assert_str_eq(err, "key 'database.dsn': reference '${file:/nonexistent/pw}': cannot read "
                          "'/nonexistent/pw': No such file or directory");
    pgcdc_config_free(cfg);
}

Test(config, dsn_that_does_not_parse_never_quotes_a_referenced_secret)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "";

    cr_assert_eq(pgcdc_config_set(cfg, "topic.prefix", "shop", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "sink", "stdout", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_set(cfg, "format", "json", err, sizeof(err)), 0);
    setenv("PGCDC_T_BLANK", "two words", 1);
    /* libpq would say: missing "=" after "words" */
    cr_assert_eq(pgcdc_config_set(cfg, "database.dsn", "host=db password=${env:PGCDC_T_BLANK}",
                                  err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_null(strstr(err, "words"), "%s", err);
    cr_assert_not_null(strstr(err, "'database.dsn' is not a valid connection string once its "
                                   "references are resolved: quote"),
                       "%s", err);
    /* quoted, as the message says */
    cr_assert_eq(pgcdc_config_set(cfg, "database.dsn", "host=db password='${env:PGCDC_T_BLANK}'",
                                  err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), 0, "%s", err);
    /* written out in the file: libpq's own words */
    cr_assert_eq(pgcdc_config_set(cfg, "database.dsn", "host=db hots=x", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), -EINVAL);
    cr_assert_str_eq(err, "'database.dsn' is not a valid connection string: invalid connection "
                          "option \"hots\"");
    pgcdc_config_free(cfg);
}

Test(config, invalid_value_from_a_reference_is_quoted_as_written)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "";

    setenv("PGCDC_T_BAD", "Not-A-Slot", 1);
    cr_assert_eq(pgcdc_config_set(cfg, "slot.name", "${env:PGCDC_T_BAD}", err, sizeof(err)),
                 -EINVAL);
    cr_assert_null(strstr(err, "Not-A-Slot"), "%s", err);
    cr_assert_str_eq(err, "invalid value '${env:PGCDC_T_BAD}' for 'slot.name': expected 1 to 63 "
                          "characters from a-z, 0-9 and '_'");
    pgcdc_config_free(cfg);
}

/* ---- conf/pgcdc.conf ---- */

Test(config, example_conf_parses_and_validates)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "";

    cr_assert_eq(pgcdc_config_load_file(cfg, EXAMPLE_CONF, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pgcdc_config_validate(cfg, err, sizeof(err)), 0, "%s", err);
    cr_assert_neq(cfg->topic_prefix[0], '\0');
    pgcdc_config_free(cfg);
}

/* Finds "key =" at the start of a line of text, optionally after "#" and
 * blanks; returns the value text after "=" (to the end of line), or NULL. */
static const char *find_documented(const char *text, const char *key, char *value, size_t vlen)
{
    const char *line = text;
    size_t klen = strlen(key);

    while (line != NULL && *line != '\0') {
        const char *p = line, *eol = strchr(line, '\n');
        size_t n;

        if (eol == NULL)
            eol = line + strlen(line);
        while (*p == ' ' || *p == '\t' || *p == '#')
            p++;
        if (strncmp(p, key, klen) == 0) {
            const char *q = p + klen;

            while (*q == ' ' || *q == '\t')
                q++;
            if (*q == '=') {
                q++;
                while (*q == ' ' || *q == '\t')
                    q++;
                n = (size_t)(eol - q);
                while (n > 0 && (q[n - 1] == ' ' || q[n - 1] == '\r'))
                    n--;
                if (n >= vlen)
                    n = vlen - 1;
                memcpy(value, q, n);
                value[n] = '\0';
                return value;
            }
        }
        line = *eol ? eol + 1 : NULL;
    }
    return NULL;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text;
    long len;

    cr_assert_not_null(f, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = calloc(1, (size_t)len + 1);
    cr_assert_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    return text;
}

Test(config, example_conf_documents_every_key_with_its_default)
{
    char *text = read_all(EXAMPLE_CONF);
    char value[512];
    size_t i;

    cr_assert_gt(pgcdc_config_key_count(), 20);
    for (i = 0; i < pgcdc_config_key_count(); i++) {
        const char *key = pgcdc_config_key_name(i);

        cr_assert_not_null(find_documented(text, key, value, sizeof(value)),
                           "'%s' is not documented in " EXAMPLE_CONF, key);
    }
    free(text);
}

Test(config, example_conf_commented_defaults_are_the_real_defaults)
{
    char *text = read_all(EXAMPLE_CONF);
    const char *line;
    size_t i, checked = 0;

    /* Every "#key = value" line (no blank after '#') shows a default. */
    for (line = text; line != NULL && *line != '\0';) {
        const char *eol = strchr(line, '\n');

        if (line[0] == '#' && line[1] != ' ' && line[1] != '#' && line[1] != '\n') {
            for (i = 0; i < pgcdc_config_key_count(); i++) {
                const char *key = pgcdc_config_key_name(i);
                size_t klen = strlen(key);
                const char *q = line + 1 + klen;
                char value[512];
                size_t n;

                if (strncmp(line + 1, key, klen) != 0 || (*q != ' ' && *q != '='))
                    continue;
                while (*q == ' ')
                    q++;
                cr_assert_eq(*q, '=', "bad line for '%s'", key);
                q++;
                while (*q == ' ')
                    q++;
                n = eol ? (size_t)(eol - q) : strlen(q);
                cr_assert_lt(n, sizeof(value));
                memcpy(value, q, n);
                value[n] = '\0';
                cr_assert_str_eq(value, pgcdc_config_key_default(i),
                                 "'%s': documented default '%s', real default '%s'", key, value,
                                 pgcdc_config_key_default(i));
                checked++;
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    cr_assert_gt(checked, 15, "only %zu commented defaults found", checked);
    free(text);
}

/* ---- log ---- */

static void read_line(FILE *f, char *buf, size_t len)
{
    cr_assert_not_null(fgets(buf, (int)len, f));
}

Test(config, log_line_format_and_threshold, .init = cr_redirect_stderr)
{
    char line[512];
    regex_t re;
    FILE *f;

    pgcdc_log_set_level(PGCDC_LOG_INFO);
    pgcdc_log_debug("hidden %d", 1);
    pgcdc_log_info("connected to '%s'\nDETAIL: two lines\n", "db1");
    pgcdc_log_set_level(PGCDC_LOG_DEBUG);
    pgcdc_log_debug("shown %d", 2);
    pgcdc_log_set_level(PGCDC_LOG_ERROR);
    pgcdc_log_warn("hidden too");
    pgcdc_log_error("failed");
    fflush(stderr);
    fclose(stderr);

    f = cr_get_redirected_stderr();
    cr_assert_eq(regcomp(&re,
                         "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                         "pgcdc\\[[0-9]+\\] INFO connected to 'db1' DETAIL: two lines\n$",
                         REG_EXTENDED | REG_NOSUB),
                 0);
    read_line(f, line, sizeof(line));
    cr_assert_eq(regexec(&re, line, 0, NULL, 0), 0, "got [%s]", line);
    regfree(&re);
    read_line(f, line, sizeof(line));
    cr_assert_not_null(strstr(line, "] DEBUG shown 2\n"), "got [%s]", line);
    read_line(f, line, sizeof(line));
    cr_assert_not_null(strstr(line, "] ERROR failed\n"), "got [%s]", line);
    cr_assert_null(fgets(line, sizeof(line), f), "extra line [%s]", line);
}

Test(config, log_long_message_is_cut_on_one_line, .init = cr_redirect_stderr)
{
    static char big[10000];
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;

    memset(big, 'x', sizeof(big) - 1);
    pgcdc_log(PGCDC_LOG_ERROR, "%s", big);
    fflush(stderr);
    fclose(stderr);
    n = getline(&line, &cap, cr_get_redirected_stderr());
    cr_assert_gt(n, 1000);
    cr_assert_lt(n, 4096);
    cr_assert_str_eq(line + n - 4, "...\n");
    free(line);
}

Test(config, log_level_names)
{
    enum pgcdc_log_level l = PGCDC_LOG_INFO;

    cr_assert_eq(pgcdc_log_level_parse("Warn", &l), 0);
    cr_assert_eq(l, PGCDC_LOG_WARN);
    cr_assert_eq(pgcdc_log_level_parse("debug", &l), 0);
    cr_assert_eq(l, PGCDC_LOG_DEBUG);
    cr_assert_eq(pgcdc_log_level_parse("trace", &l), -EINVAL);
    cr_assert_eq(l, PGCDC_LOG_DEBUG);
    cr_assert_str_eq(pgcdc_log_level_name(PGCDC_LOG_ERROR), "error");
}

Test(config, value_mapping_modes_with_debezium_names_and_defaults)
{
    struct pgcdc_config *cfg = new_config();
    char err[512] = "";

    cr_assert_eq(cfg->type_modes.decimal, PGCDC_DECIMAL_PRECISE);
    cr_assert_eq(cfg->type_modes.time, PGCDC_TIME_ADAPTIVE);
    cr_assert_eq(cfg->type_modes.binary, PGCDC_BINARY_BYTES);
    cr_assert_eq(cfg->type_modes.interval, PGCDC_INTERVAL_NUMERIC);
    cr_assert_eq(cfg->type_modes.money_digits, 2);
    cr_assert_eq(pgcdc_config_set(cfg, "decimal.handling.mode", "string", err, sizeof(err)), 0);
    cr_assert_eq(cfg->type_modes.decimal, PGCDC_DECIMAL_STRING);
    cr_assert_eq(pgcdc_config_set(cfg, "time.precision.mode", "connect", err, sizeof(err)), 0);
    cr_assert_eq(cfg->type_modes.time, PGCDC_TIME_CONNECT);
    cr_assert_eq(pgcdc_config_set(cfg, "time.precision.mode", "adaptive_time_microseconds", err,
                                  sizeof(err)),
                 0);
    cr_assert_eq(cfg->type_modes.time, PGCDC_TIME_ADAPTIVE_TIME_MICROS);
    cr_assert_eq(
        pgcdc_config_set(cfg, "binary.handling.mode", "base64-url-safe", err, sizeof(err)), 0);
    cr_assert_eq(cfg->type_modes.binary, PGCDC_BINARY_BASE64_URL);
    cr_assert_eq(pgcdc_config_set(cfg, "interval.handling.mode", "string", err, sizeof(err)), 0);
    cr_assert_eq(cfg->type_modes.interval, PGCDC_INTERVAL_STRING);
    cr_assert_eq(pgcdc_config_set(cfg, "money.fraction.digits", "4", err, sizeof(err)), 0);
    cr_assert_eq(cfg->type_modes.money_digits, 4);
    cr_assert_lt(pgcdc_config_set(cfg, "money.fraction.digits", "19", err, sizeof(err)), 0);
    cr_assert_lt(pgcdc_config_set(cfg, "decimal.handling.mode", "float", err, sizeof(err)), 0);
    cr_assert_not_null(strstr(err, "decimal.handling.mode"), "%s", err);
    pgcdc_config_free(cfg);
}
