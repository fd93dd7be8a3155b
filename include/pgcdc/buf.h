/*
 * buf.h - a growable byte buffer.
 *
 * One contiguous block of len bytes at data, with room for cap bytes. The
 * buffer keeps one spare byte past len and writes a NUL there, so data is a
 * usable C string whenever only text was appended (data is NULL until the
 * first append or reserve). Growth doubles the capacity, so a buffer reused
 * with pgcdc_buf_reset() stops allocating once it has seen its largest
 * content. Growing may move data: pointers into it are only valid until the
 * next append or reserve; keep offsets across appends.
 *
 * A zero-initialised struct (PGCDC_BUF_INIT) is an empty buffer.
 */
#ifndef PGCDC_BUF_H
#define PGCDC_BUF_H

#include <stddef.h>
#include <stdint.h>

struct pgcdc_buf {
    char *data; /* contents, NUL-terminated after len once allocated; NULL when empty */
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated at data */
};

#define PGCDC_BUF_INIT                                                                             \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Makes room for at least extra more bytes past len (plus the NUL).
 * 0, or -ENOMEM (buffer unchanged). */
int pgcdc_buf_reserve(struct pgcdc_buf *b, size_t extra);

/* Appends len bytes from p. 0, or -ENOMEM (buffer unchanged). */
int pgcdc_buf_append(struct pgcdc_buf *b, const void *p, size_t len);

/* Appends one byte. 0, or -ENOMEM (buffer unchanged). */
int pgcdc_buf_append_char(struct pgcdc_buf *b, char c);

/* Appends printf-style formatted text. 0, -ENOMEM, or -EINVAL on a format
 * error (buffer unchanged on failure). */
int pgcdc_buf_appendf(struct pgcdc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Longest decimal form of a uint64_t. */
#define PGCDC_UINT_DIGITS 20

/* Writes v in decimal at out (no NUL) and returns the digits written. */
size_t pgcdc_fmt_uint(char out[PGCDC_UINT_DIGITS] /* OUT */, uint64_t v);

/* Appends v in decimal, zero-padded to at least min_digits digits (0..20),
 * without printf's cost (hot paths format numbers per event). 0 or -ENOMEM. */
int pgcdc_buf_append_uint(struct pgcdc_buf *b, uint64_t v, int min_digits);

/* Appends v in decimal ("-" then the digits for negatives). 0 or -ENOMEM. */
int pgcdc_buf_append_int(struct pgcdc_buf *b, int64_t v);

/* Empties the buffer (len = 0) and keeps its memory for reuse. */
void pgcdc_buf_reset(struct pgcdc_buf *b);

/* Frees the memory and leaves an empty buffer. NULL-safe. */
void pgcdc_buf_free(struct pgcdc_buf *b);

#endif
