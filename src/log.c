/*
 * log.c - one-line diagnostic messages on stderr (see log.h).
 *
 * Each line is assembled in a stack buffer and handed to stderr with one
 * fwrite(); stderr is unbuffered, so that is one write(2) and concurrent
 * lines from other threads cannot interleave within it. The JSON format
 * escapes into a buffer of its own and always closes the object, cutting
 * the message when it would not fit.
 */
#include "pgcdc/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096
/* A JSON line: a message of LOG_LINE_MAX, escaped (up to 6 bytes each for
 * control characters), is cut to fit. */
#define LOG_JSON_MAX 8192
#define STATUS_MAX 512

/* The status line of pgcdc_log_status(), redrawn below each log line while
 * it is set; only on a terminal. */
static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;
static char status_text[STATUS_MAX];
static int status_tty = -1; /* -1: not asked yet */

static atomic_int log_threshold = PGCDC_LOG_INFO;
static atomic_int log_format = PGCDC_LOG_FORMAT_TEXT;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static const char *const level_tags[] = {"ERROR", "WARN", "INFO", "DEBUG"};
#define LEVEL_COUNT (sizeof(level_names) / sizeof(level_names[0]))

void pgcdc_log_set_level(enum pgcdc_log_level level)
{
    atomic_store_explicit(&log_threshold, (int)level, memory_order_relaxed);
}

enum pgcdc_log_level pgcdc_log_get_level(void)
{
    return (enum pgcdc_log_level)atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

bool pgcdc_log_enabled(enum pgcdc_log_level level)
{
    return (int)level <= atomic_load_explicit(&log_threshold, memory_order_relaxed);
}

int pgcdc_log_level_parse(const char *name, enum pgcdc_log_level *out)
{
    size_t i;

    if (name == NULL)
        return -EINVAL;
    for (i = 0; i < LEVEL_COUNT; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (enum pgcdc_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *pgcdc_log_level_name(enum pgcdc_log_level level)
{
    if ((unsigned)level >= LEVEL_COUNT)
        return "unknown";
    return level_names[level];
}

/* Writes "YYYY-MM-DDTHH:MM:SS.mmmZ" into out; returns its length. */
static size_t format_time(char *out, size_t outlen)
{
    struct timespec ts;
    struct tm tm;
    size_t n;
    int m;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || gmtime_r(&ts.tv_sec, &tm) == NULL) {
        m = snprintf(out, outlen, "0000-00-00T00:00:00.000Z");
        return m > 0 ? (size_t)m : 0;
    }
    n = strftime(out, outlen, "%Y-%m-%dT%H:%M:%S", &tm);
    m = snprintf(out + n, outlen - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
    return n + (m > 0 ? (size_t)m : 0);
}

/* Formats the message into msg: newlines become spaces, trailing blanks go,
 * and a message too long ends with "...". Returns its length. */
static size_t format_message(char *msg, size_t cap, const char *fmt, va_list ap)
{
    size_t len, i;
    int m;

    /* Keep 3 bytes for "..." and 1 for the NUL. */
    m = vsnprintf(msg, cap - 3, fmt, ap);
    if (m < 0)
        m = 0;
    len = (size_t)m;
    if (len > cap - 4) {
        len = cap - 4;
        memcpy(msg + len, "...", 3);
        len += 3;
    }
    for (i = 0; i < len; i++) {
        if (msg[i] == '\n' || msg[i] == '\r')
            msg[i] = ' ';
    }
    while (len > 0 && (msg[len - 1] == ' ' || msg[len - 1] == '\t'))
        len--;
    msg[len] = '\0';
    return len;
}

/* Output that never overruns: bytes past cap are counted, not written. */
struct line_buf {
    char *out;  /* destination */
    size_t cap; /* bytes at out, the last one kept for the NUL */
    size_t len; /* bytes written */
    bool full;  /* something did not fit */
};

static void lb_add(struct line_buf *b, const char *s, size_t n)
{
    if (b->full || n > b->cap - 1 - b->len) {
        b->full = true;
        return;
    }
    memcpy(b->out + b->len, s, n);
    b->len += n;
}

static void lb_str(struct line_buf *b, const char *s)
{
    lb_add(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
    size_t len, i;
    unsigned long cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        len = 2;
        cp = s[0] & 0x1F;
    } else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        len = 3;
        cp = s[0] & 0x0F;
    } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

/* Appends s[0..n) as a JSON string, quotes included. When it does not fit,
 * the string is cut at a character boundary and ends with "...". */
static void lb_json_string(struct line_buf *b, const char *s, size_t n, size_t reserve)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    lb_add(b, "\"", 1);
    while (i < n) {
        char esc[8];
        size_t k = 0, step = 1;
        unsigned char c = p[i];

        switch (c) {
        case '"':
            memcpy(esc, "\\\"", 2);
            k = 2;
            break;
        case '\\':
            memcpy(esc, "\\\\", 2);
            k = 2;
            break;
        case '\b':
            memcpy(esc, "\\b", 2);
            k = 2;
            break;
        case '\f':
            memcpy(esc, "\\f", 2);
            k = 2;
            break;
        case '\n':
            memcpy(esc, "\\n", 2);
            k = 2;
            break;
        case '\r':
            memcpy(esc, "\\r", 2);
            k = 2;
            break;
        case '\t':
            memcpy(esc, "\\t", 2);
            k = 2;
            break;
        default:
            if (c < 0x20 || c == 0x7F) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 0xF];
                k = 6;
            } else if (c >= 0x80) {
                step = utf8_valid(p + i, n - i);
                if (step == 0) {
                    memcpy(esc, "\xEF\xBF\xBD", 3); /* U+FFFD */
                    k = 3;
                    step = 1;
                }
            }
            break;
        }
        /* room for this piece, "...", the closing quote and what follows */
        if ((k ? k : step) + 5 + reserve > b->cap - 1 - b->len) {
            lb_add(b, "...", 3);
            break;
        }
        if (k)
            lb_add(b, esc, k);
        else
            lb_add(b, s + i, step);
        i += step;
    }
    lb_add(b, "\"", 1);
}

/* One JSON object: ts, level, pid, msg, then the fields. */
static size_t format_json(char *line, size_t cap, enum pgcdc_log_level level, const char *msg,
                          size_t msglen, const struct pgcdc_log_field *fields)
{
    struct line_buf b = {line, cap, 0, false};
    char head[96], ts[40];
    size_t fields_room = 0, i;
    int m;

    format_time(ts, sizeof(ts));
    m = snprintf(head, sizeof(head), "{\"ts\":\"%s\",\"level\":\"%s\",\"pid\":%ld,\"msg\":", ts,
                 level_names[level], (long)getpid());
    lb_add(&b, head, m > 0 ? (size_t)m : 0);
    /* Keep a quarter of the line for the fields, whose values are short. */
    if (fields != NULL && fields[0].key != NULL)
        fields_room = cap / 4;
    lb_json_string(&b, msg, msglen, fields_room + 2);
    for (i = 0; fields != NULL && fields[i].key != NULL; i++) {
        if (fields[i].value == NULL)
            continue;
        lb_add(&b, ",", 1);
        lb_json_string(&b, fields[i].key, strlen(fields[i].key), 64);
        lb_add(&b, ":", 1);
        lb_json_string(&b, fields[i].value, strlen(fields[i].value), 2);
    }
    lb_str(&b, "}\n");
    if (b.full) {
        /* fields longer than their quarter: never write half an object */
        b.len = 0;
        b.full = false;
        lb_add(&b, head, m > 0 ? (size_t)m : 0);
        lb_str(&b, "\"...\"}\n");
    }
    line[b.len] = '\0';
    return b.len;
}

static void emit(const char *line, size_t len)
{
    pthread_mutex_lock(&status_lock);
    if (status_text[0] != '\0') {
        /* Clear the status line, write the log line, draw it again. */
        char out[LOG_LINE_MAX + STATUS_MAX + 16];
        int k = snprintf(out, sizeof(out), "\r\033[K%s%s", line, status_text);

        if (k > 0)
            fwrite(out, 1, (size_t)k < sizeof(out) ? (size_t)k : sizeof(out) - 1, stderr);
    } else {
        fwrite(line, 1, len, stderr);
    }
    pthread_mutex_unlock(&status_lock);
}

void pgcdc_log_fieldsv(enum pgcdc_log_level level, const struct pgcdc_log_field *fields,
                       const char *fmt, va_list ap)
{
    char msg[LOG_LINE_MAX];
    size_t len, head;
    int m;

    if (!pgcdc_log_enabled(level))
        return;
    if ((unsigned)level >= LEVEL_COUNT)
        level = PGCDC_LOG_ERROR;

    if (pgcdc_log_get_format() == PGCDC_LOG_FORMAT_JSON) {
        char line[LOG_JSON_MAX];
        size_t msglen = format_message(msg, sizeof(msg), fmt, ap);

        len = format_json(line, sizeof(line), level, msg, msglen, fields);
        fwrite(line, 1, len, stderr);
        return;
    }
    head = format_time(msg, sizeof(msg));
    m = snprintf(msg + head, sizeof(msg) - head, " pgcdc[%ld] %s ", (long)getpid(),
                 level_tags[level]);
    if (m < 0)
        return;
    head += (size_t)m;
    /* one byte for the newline */
    len = head + format_message(msg + head, sizeof(msg) - head - 1, fmt, ap);
    msg[len++] = '\n';
    msg[len] = '\0';
    emit(msg, len);
}

void pgcdc_logv(enum pgcdc_log_level level, const char *fmt, va_list ap)
{
    pgcdc_log_fieldsv(level, NULL, fmt, ap);
}

void pgcdc_log_fields(enum pgcdc_log_level level, const struct pgcdc_log_field *fields,
                      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pgcdc_log_fieldsv(level, fields, fmt, ap);
    va_end(ap);
}

void pgcdc_log_set_format(enum pgcdc_log_format format)
{
    atomic_store_explicit(&log_format, (int)format, memory_order_relaxed);
}

enum pgcdc_log_format pgcdc_log_get_format(void)
{
    return (enum pgcdc_log_format)atomic_load_explicit(&log_format, memory_order_relaxed);
}

bool pgcdc_log_status(const char *text)
{
    bool tty;

    pthread_mutex_lock(&status_lock);
    if (status_tty < 0)
        status_tty = isatty(STDERR_FILENO) ? 1 : 0;
    /* a status line would break the one-object-per-line of JSON */
    tty = status_tty == 1 && pgcdc_log_get_format() == PGCDC_LOG_FORMAT_TEXT;
    if (tty) {
        if (text == NULL || text[0] == '\0') {
            if (status_text[0] != '\0')
                fputs("\r\033[K", stderr);
            status_text[0] = '\0';
        } else {
            snprintf(status_text, sizeof(status_text), "%s", text);
            fprintf(stderr, "\r\033[K%s", status_text);
        }
    }
    pthread_mutex_unlock(&status_lock);
    return tty;
}

void pgcdc_log(enum pgcdc_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    pgcdc_logv(level, fmt, ap);
    va_end(ap);
}
