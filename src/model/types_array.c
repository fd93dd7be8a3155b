/*
 * types_array.c - one-dimensional arrays.
 *
 * The array literal is validated and its elements counted at convert time;
 * the elements are converted on demand, with the element's converter,
 * while the encoder iterates. Unchanged TOASTed arrays iterate over
 * Debezium's placeholder instead (pgcdc_types_unavailable()).
 */
#include "types_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The element separator of an ARRAY column. */
static char array_delim(const struct pgcdc_typemap *tm)
{
    return tm->delim ? tm->delim : ',';
}

/*
 * One element of a one-dimensional array literal at *p: returns 1 with the
 * element (quoted: between the quotes, *escaped set when it holds
 * backslashes), 0 at the closing brace, -EINVAL on malformed text.
 */
static int array_token(const char **p, const char *end, char delim, const char **tok,
                       size_t *toklen, bool *quoted, bool *escaped, bool *is_null, bool first)
{
    const char *q = *p;

    if (q >= end)
        return -EINVAL;
    if (*q == '}') {
        if (!first)
            return -EINVAL;
        *p = q + 1;
        return 0;
    }
    if (*q == '{')
        return -ENOTSUP;
    *quoted = *escaped = *is_null = false;
    if (*q == '"') {
        q++;
        *tok = q;
        while (q < end && *q != '"') {
            if (*q == '\\') {
                *escaped = true;
                q++;
                if (q >= end)
                    return -EINVAL;
            }
            q++;
        }
        if (q >= end)
            return -EINVAL;
        *toklen = (size_t)(q - *tok);
        *quoted = true;
        q++;
    } else {
        *tok = q;
        while (q < end && *q != delim && *q != '}') {
            if (*q == '"' || *q == '{' || *q == '\\')
                return -EINVAL;
            q++;
        }
        *toklen = (size_t)(q - *tok);
        if (*toklen == 0)
            return -EINVAL;
        *is_null = *toklen == 4 && (strncmp(*tok, "NULL", 4) == 0 || strncmp(*tok, "null", 4) == 0);
    }
    if (q >= end)
        return -EINVAL;
    if (*q == delim)
        q++;
    else if (*q != '}')
        return -EINVAL;
    *p = q;
    return 1;
}

/* Skips an optional "[lo:hi]=" dimension prefix and the opening brace. */
static const char *array_start(const char *text, const char *end)
{
    const char *p = text;

    if (p < end && *p == '[') {
        while (p < end && *p != '=')
            p++;
        if (p == end)
            return NULL;
        p++;
    }
    if (p >= end || *p != '{')
        return NULL;
    return p + 1;
}

static int array_scan(const char *text, size_t len, char delim, uint32_t *count, char *err,
                      size_t errlen)
{
    const char *end = text + len, *p = array_start(text, end), *tok;
    size_t toklen;
    bool quoted, escaped, is_null;
    uint32_t n = 0;
    int rc;

    if (p == NULL)
        return pgcdc_types_fail(-EINVAL, err, errlen, "invalid array", text, len);
    for (;;) {
        rc = array_token(&p, end, delim, &tok, &toklen, &quoted, &escaped, &is_null, n == 0);
        if (rc == 0)
            break;
        if (rc == -ENOTSUP)
            return pgcdc_types_fail(-ENOTSUP, err, errlen,
                                    "multi-dimensional arrays are not supported", text, len);
        if (rc < 0)
            return pgcdc_types_fail(-EINVAL, err, errlen, "invalid array", text, len);
        n++;
        if (p < end && *p == '}') {
            p++;
            break;
        }
    }
    if (p != end)
        return pgcdc_types_fail(-EINVAL, err, errlen, "invalid array", text, len);
    *count = n;
    return 0;
}

int pgcdc_types_conv_array(const struct pgcdc_typemap *tm, const char *text, size_t len,
                           struct pgcdc_datum *out, char *err, size_t errlen)
{
    int rc = array_scan(text, len, array_delim(tm), &out->u.arr.count, err, errlen);

    if (rc < 0)
        return rc;
    out->kind = PGCDC_DATUM_ARRAY;
    out->ptr = text;
    out->len = len;
    return 0;
}

void pgcdc_types_array_begin(const struct pgcdc_datum *arr, struct pgcdc_array_iter *it)
{
    memset(it, 0, sizeof(*it));
    it->left = arr->u.arr.count;
    it->mode = arr->u.arr.placeholder;
    if (it->mode != PH_NONE) {
        it->placeholder = arr->ptr;
        it->placeholder_len = arr->len;
        return;
    }
    it->end = arr->ptr + arr->len;
    it->p = array_start(arr->ptr, it->end);
}

int pgcdc_types_array_next(const struct pgcdc_typemap *tm, struct pgcdc_array_iter *it,
                           struct pgcdc_buf *scratch, struct pgcdc_datum *out, char *err,
                           size_t errlen)
{
    const char *tok;
    size_t toklen, i;
    bool quoted, escaped, is_null;
    int rc;

    memset(out, 0, sizeof(*out));
    if (it->left == 0)
        return 0;
    it->left--;
    if (it->mode == PH_TEXT) {
        out->kind = PGCDC_DATUM_STRING;
        out->ptr = it->placeholder;
        out->len = it->placeholder_len;
        return 1;
    }
    if (it->mode == PH_INTS) {
        /* Debezium's list of the placeholder's bytes as Java (signed) bytes. */
        out->kind = PGCDC_DATUM_INT;
        out->u.i = (signed char)it->placeholder[it->pos++];
        return 1;
    }
    if (it->p == NULL)
        return -EINVAL;
    rc = array_token(&it->p, it->end, array_delim(tm), &tok, &toklen, &quoted, &escaped, &is_null,
                     false);
    if (rc <= 0) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "invalid array element");
        return -EINVAL;
    }
    if (is_null) {
        out->kind = PGCDC_DATUM_NULL;
        return 1;
    }
    if (!escaped) {
        rc = pgcdc_types_convert_with(tm, tm->elem_conv, &tm->elem, tok, toklen, scratch, out,
                                      err, errlen);
        return rc < 0 ? rc : 1;
    }

    /* Unescape into scratch. Only strings, bytea and unknown types' text
     * ever need escapes. */
    if (tm->elem_conv != CONV_STRING && tm->elem_conv != CONV_BYTEA &&
        tm->elem_conv != CONV_RAW_BYTES && tm->elem_conv != CONV_BYTEA_BASE64 &&
        tm->elem_conv != CONV_BYTEA_BASE64_URL && tm->elem_conv != CONV_BYTEA_HEX &&
        tm->elem_conv != CONV_RAW_BASE64 && tm->elem_conv != CONV_RAW_BASE64_URL &&
        tm->elem_conv != CONV_RAW_HEX)
        return pgcdc_types_fail(-EINVAL, err, errlen, "unexpected escapes in array element", tok,
                                toklen);
    rc = pgcdc_buf_reserve(scratch, toklen);
    if (rc < 0)
        return rc;
    out->off = scratch->len;
    for (i = 0; i < toklen; i++) {
        if (tok[i] == '\\')
            i++;
        scratch->data[scratch->len++] = tok[i];
    }
    scratch->data[scratch->len] = '\0';
    out->len = scratch->len - out->off;
    out->ptr = NULL;
    out->kind = tm->elem_conv == CONV_STRING ? PGCDC_DATUM_STRING : PGCDC_DATUM_BYTES;
    if (tm->elem_conv == CONV_BYTEA) {
        /* Decode the hex in place, over the unescaped text. */
        char *src = scratch->data + out->off;
        long n = pgcdc_types_decode_bytea_hex(src, out->len, (unsigned char *)src);
        if (n < 0)
            return pgcdc_types_fail(-EINVAL, err, errlen, "invalid bytea array element", src,
                                    out->len);
        out->len = (size_t)n;
        scratch->len = out->off + (size_t)n;
        scratch->data[scratch->len] = '\0';
    } else if (tm->elem_conv != CONV_STRING && tm->elem_conv != CONV_RAW_BYTES) {
        /* binary.handling.mode as text: the bytes (bytea's decoded in
         * place), then their encoding behind them, moved down over them. */
        size_t start = out->off, n = out->len;
        int conv = tm->elem_conv;

        if (conv == CONV_BYTEA_BASE64 || conv == CONV_BYTEA_BASE64_URL || conv == CONV_BYTEA_HEX) {
            char *src = scratch->data + start;
            long m = pgcdc_types_decode_bytea_hex(src, n, (unsigned char *)src);

            if (m < 0)
                return pgcdc_types_fail(-EINVAL, err, errlen, "invalid bytea array element", src,
                                        n);
            n = (size_t)m;
            scratch->len = start + n;
        }
        rc = pgcdc_buf_reserve(scratch, n * 2 + 4);
        if (rc < 0)
            return rc;
        rc = pgcdc_types_encode_binary((const unsigned char *)scratch->data + start, n, conv,
                                       scratch, out);
        if (rc < 0)
            return rc;
        memmove(scratch->data + start, scratch->data + out->off, out->len);
        out->off = start;
        scratch->len = start + out->len;
        scratch->data[scratch->len] = '\0';
    }
    return 1;
}
