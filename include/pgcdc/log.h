/*
 * log.h - pgcdc's diagnostic log on stderr.
 *
 * One line per call, written with a single write so that lines from
 * librdkafka's threads never interleave:
 *
 *     2026-11-26T10:00:00.123Z pgcdc[4242] INFO connected to 'db1'
 *
 * (UTC time with milliseconds, process id, level in capitals, message).
 * Newlines and carriage returns inside a message become spaces and trailing
 * whitespace is dropped, so a multi-line PQerrorMessage() stays on one line;
 * a message longer than about 4 KB is cut and ends with "...".
 *
 * With the JSON format (log.format = json) each line is one JSON object
 * instead, with these members, in this order:
 *
 *     {"ts":"2026-11-26T10:00:00.123Z","level":"info","pid":4242,
 *      "msg":"connected to 'db1'","table":"public.orders"}
 *
 * ts, level ("error", "warn", "info" or "debug"), pid and msg always; then
 * the structured fields of pgcdc_log_fields(), strings under their own
 * names (table, lsn, slot, ...), which the text format leaves out since the
 * message says the same. Strings are valid UTF-8 (a byte that is not becomes
 * U+FFFD) with JSON's escapes.
 *
 * The only global state is the level threshold and the format; both are
 * atomic, so any thread may log. Messages must never contain secrets: pass DSNs through
 * pgcdc_config_redact_dsn() first.
 */
#ifndef PGCDC_LOG_H
#define PGCDC_LOG_H

#include <stdarg.h>
#include <stdbool.h>

/* Severity, most severe first; a threshold lets through itself and above. */
enum pgcdc_log_level {
    PGCDC_LOG_ERROR = 0, /* an operation failed */
    PGCDC_LOG_WARN = 1,  /* something an operator should look at */
    PGCDC_LOG_INFO = 2,  /* start-up, connections, progress (default) */
    PGCDC_LOG_DEBUG = 3, /* detail for developers; may be voluminous */
};

/* log.format */
enum pgcdc_log_format {
    PGCDC_LOG_FORMAT_TEXT = 0, /* "text": time pgcdc[pid] LEVEL message */
    PGCDC_LOG_FORMAT_JSON = 1, /* "json": one object per line */
};

/* A structured field of a log line: JSON member key (stable, lower case,
 * '_' between words) with a string value. */
struct pgcdc_log_field {
    const char *key;   /* member name; NULL ends a list of fields */
    const char *value; /* its value; NULL leaves the member out */
};

/* Writes one line at the given level if the threshold lets it through. */
void pgcdc_log(enum pgcdc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* pgcdc_log() with a va_list, for wrappers and library log callbacks. */
void pgcdc_logv(enum pgcdc_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* pgcdc_log() with structured fields (a list ended by a NULL key) that the
 * JSON format adds as members after msg and the text format leaves out. */
void pgcdc_log_fields(enum pgcdc_log_level level, const struct pgcdc_log_field *fields,
                      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* pgcdc_log_fields() with a va_list. */
void pgcdc_log_fieldsv(enum pgcdc_log_level level, const struct pgcdc_log_field *fields,
                       const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* Sets the line format (default PGCDC_LOG_FORMAT_TEXT). */
void pgcdc_log_set_format(enum pgcdc_log_format format);

/* The current line format. */
enum pgcdc_log_format pgcdc_log_get_format(void);

/* Sets the threshold (default PGCDC_LOG_INFO). */
void pgcdc_log_set_level(enum pgcdc_log_level level);

/* The current threshold. */
enum pgcdc_log_level pgcdc_log_get_level(void);

/* True when a message at level would be written; lets callers skip building
 * expensive arguments. */
bool pgcdc_log_enabled(enum pgcdc_log_level level);

/* Parses "error", "warn", "info" or "debug" (any case). 0, or -EINVAL when
 * name is none of them (out untouched). */
int pgcdc_log_level_parse(const char *name, enum pgcdc_log_level *out /* OUT */);

/* "error", "warn", "info" or "debug"; "unknown" for anything else. */
const char *pgcdc_log_level_name(enum pgcdc_log_level level);

/* When stderr is a terminal and the format is text, shows text as a status
 * line under the log lines (each log line is written above it), or removes
 * it (NULL or ""). Returns whether it does; elsewhere it does nothing. */
bool pgcdc_log_status(const char *text);

/* The arguments are evaluated only when the level is enabled. */

#define pgcdc_log_at_(level, ...)                                                                  \
    do {                                                                                           \
        if (pgcdc_log_enabled(level))                                                              \
            pgcdc_log((level), __VA_ARGS__);                                                       \
    } while (0)
#define pgcdc_log_error(...) pgcdc_log_at_(PGCDC_LOG_ERROR, __VA_ARGS__)
#define pgcdc_log_warn(...) pgcdc_log_at_(PGCDC_LOG_WARN, __VA_ARGS__)
#define pgcdc_log_info(...) pgcdc_log_at_(PGCDC_LOG_INFO, __VA_ARGS__)
#define pgcdc_log_debug(...) pgcdc_log_at_(PGCDC_LOG_DEBUG, __VA_ARGS__)

/* pgcdc_log_fields() with fields written in place:
 *   pgcdc_log_with(PGCDC_LOG_INFO, PGCDC_LOG_FIELDS({"table", name}), "...", ...); */
#define PGCDC_LOG_FIELDS(...)                                                                      \
    ((const struct pgcdc_log_field[]){__VA_ARGS__, {NULL, NULL}})
#define pgcdc_log_with(level, fields, ...)                                                         \
    do {                                                                                           \
        if (pgcdc_log_enabled(level))                                                              \
            pgcdc_log_fields((level), (fields), __VA_ARGS__);                                      \
    } while (0)

#endif
