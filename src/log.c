/*
 * log.c - one-line diagnostic messages on stderr (see log.h).
 *
 * Each line is assembled in a stack buffer and handed to stderr with one
 * fwrite(); stderr is unbuffered, so that is one write(2) and concurrent
 * lines from other threads cannot interleave within it.
 */
#include "pgcdc/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096
#define STATUS_MAX 512

/* The status line of pgcdc_log_status(), redrawn below each log line while
 * it is set; only on a terminal. */
static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;
static char status_text[STATUS_MAX];
static int status_tty = -1; /* -1: not asked yet */

static atomic_int log_threshold = PGCDC_LOG_INFO;

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

void pgcdc_logv(enum pgcdc_log_level level, const char *fmt, va_list ap)
{
    char line[LOG_LINE_MAX];
    size_t head, len, i;
    int m;

    if (!pgcdc_log_enabled(level))
        return;
    if ((unsigned)level >= LEVEL_COUNT)
        level = PGCDC_LOG_ERROR;

    head = format_time(line, sizeof(line));
    m = snprintf(line + head, sizeof(line) - head, " pgcdc[%ld] %s ", (long)getpid(),
                 level_tags[level]);
    if (m < 0)
        return;
    head += (size_t)m;

    /* Keep 4 bytes for "...\n" and 1 for the NUL. */
    m = vsnprintf(line + head, sizeof(line) - head - 4, fmt, ap);
    if (m < 0)
        m = 0;
    len = head + (size_t)m;
    if (len > sizeof(line) - 5) {
        len = sizeof(line) - 5;
        memcpy(line + len, "...", 3);
        len += 3;
    }
    for (i = head; i < len; i++) {
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    }
    while (len > head && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    line[len++] = '\n';
    line[len] = '\0';
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

bool pgcdc_log_status(const char *text)
{
    bool tty;

    pthread_mutex_lock(&status_lock);
    if (status_tty < 0)
        status_tty = isatty(STDERR_FILENO) ? 1 : 0;
    tty = status_tty == 1;
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
