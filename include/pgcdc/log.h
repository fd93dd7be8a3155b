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
 * The only global state is the level threshold; it is atomic, so any thread
 * may log. Messages must never contain secrets: pass DSNs through
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

/* Writes one line at the given level if the threshold lets it through. */
void pgcdc_log(enum pgcdc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* pgcdc_log() with a va_list, for wrappers and library log callbacks. */
void pgcdc_logv(enum pgcdc_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

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

/* The arguments are evaluated only when the level is enabled. */
/* When stderr is a terminal, shows text as a status line under the log
 * lines (each log line is written above it), or removes it (NULL or "").
 * Returns whether stderr is a terminal; elsewhere it does nothing. */
bool pgcdc_log_status(const char *text);

#define pgcdc_log_at_(level, ...)                                                                  \
    do {                                                                                           \
        if (pgcdc_log_enabled(level))                                                              \
            pgcdc_log((level), __VA_ARGS__);                                                       \
    } while (0)
#define pgcdc_log_error(...) pgcdc_log_at_(PGCDC_LOG_ERROR, __VA_ARGS__)
#define pgcdc_log_warn(...) pgcdc_log_at_(PGCDC_LOG_WARN, __VA_ARGS__)
#define pgcdc_log_info(...) pgcdc_log_at_(PGCDC_LOG_INFO, __VA_ARGS__)
#define pgcdc_log_debug(...) pgcdc_log_at_(PGCDC_LOG_DEBUG, __VA_ARGS__)

#endif
