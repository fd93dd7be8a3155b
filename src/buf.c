/*
 * buf.c - a growable byte buffer (see buf.h).
 *
 * Capacity doubles from 64 bytes; one byte beyond len is always kept for a
 * terminating NUL so text appended with pgcdc_buf_appendf() can be used as a
 * C string without copying.
 */
#include "pgcdc/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pgcdc_buf_reserve(struct pgcdc_buf *b, size_t extra)
{
    size_t need, cap;
    char *p;

    if (extra > SIZE_MAX - b->len - 1)
        return -ENOMEM;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    p = realloc(b->data, cap);
    if (p == NULL)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int pgcdc_buf_append(struct pgcdc_buf *b, const void *p, size_t len)
{
    int rc = pgcdc_buf_reserve(b, len);

    if (rc < 0)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int pgcdc_buf_append_char(struct pgcdc_buf *b, char c)
{
    return pgcdc_buf_append(b, &c, 1);
}

int pgcdc_buf_appendf(struct pgcdc_buf *b, const char *fmt, ...)
{
    va_list ap;
    size_t avail;
    int n, rc;

    /* First try in the space already there; most calls fit. */
    avail = b->cap > b->len ? b->cap - b->len : 0;
    va_start(ap, fmt);
    n = vsnprintf(avail ? b->data + b->len : NULL, avail, fmt, ap);
    va_end(ap);
    if (n < 0)
        goto bad_format;
    if ((size_t)n < avail) {
        b->len += (size_t)n;
        return 0;
    }
    rc = pgcdc_buf_reserve(b, (size_t)n);
    if (rc < 0)
        goto restore;
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        goto bad_format;
    b->len += (size_t)n;
    return 0;

bad_format:
    rc = -EINVAL;
restore:
    if (b->data != NULL)
        b->data[b->len] = '\0';
    return rc;
}

void pgcdc_buf_reset(struct pgcdc_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void pgcdc_buf_free(struct pgcdc_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

size_t pgcdc_fmt_uint(char out[PGCDC_UINT_DIGITS], uint64_t v)
{
    char tmp[PGCDC_UINT_DIGITS];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

int pgcdc_buf_append_uint(struct pgcdc_buf *b, uint64_t v, int min_digits)
{
    char digits[PGCDC_UINT_DIGITS];
    size_t n = pgcdc_fmt_uint(digits, v);
    size_t pad = min_digits > (int)n ? (size_t)min_digits - n : 0;

    if (pad > PGCDC_UINT_DIGITS - n)
        pad = PGCDC_UINT_DIGITS - n;
    if (pgcdc_buf_reserve(b, pad + n))
        return -ENOMEM;
    memset(b->data + b->len, '0', pad);
    memcpy(b->data + b->len + pad, digits, n);
    b->len += pad + n;
    b->data[b->len] = '\0';
    return 0;
}

int pgcdc_buf_append_int(struct pgcdc_buf *b, int64_t v)
{
    if (v < 0) {
        if (pgcdc_buf_append_char(b, '-'))
            return -ENOMEM;
        /* -(v + 1) + 1 avoids overflowing on INT64_MIN. */
        return pgcdc_buf_append_uint(b, (uint64_t)(-(v + 1)) + 1, 1);
    }
    return pgcdc_buf_append_uint(b, (uint64_t)v, 1);
}
