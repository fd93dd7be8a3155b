/*
 * types_convert.c - PostgreSQL text values to Debezium's Kafka Connect
 * values: the converter dispatch, the simple scalar converters (booleans,
 * integers, floats, strings, bytea, bit strings) and the values Debezium
 * emits for unchanged TOASTed columns.
 *
 * pgcdc_types_convert() parses the type's text output (pgoutput without
 * the binary option) by hand; the converters of the larger families are in
 * types_datetime.c, types_numeric.c, types_geometric.c, types_hstore.c and
 * types_array.c.
 */
#include "types_impl.h"
#include "pgcdc/hex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pgcdc_types_fail(int rc, char *err, size_t errlen, const char *what, const char *text,
                     size_t len)
{
    char shown[72];
    size_t i, n = len > 64 ? 64 : len;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        shown[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    shown[n] = '\0';
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s: '%s'%s", what, shown, len > n ? "..." : "");
    return rc;
}

bool pgcdc_types_parse_int64(const char *text, size_t len, int64_t *out)
{
    const char *p = text, *end = text + len;
    bool neg = false;
    uint64_t v = 0, limit;

    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    if (p == end)
        return false;
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; p < end; p++) {
        unsigned d;
        if (!pgcdc_types_is_digit(*p))
            return false;
        d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

long pgcdc_types_unhex(const char *src, size_t len, unsigned char *dst)
{
    size_t i, n = 0;

    if (len % 2 != 0)
        return -1;
    for (i = 0; i < len; i += 2) {
        int hi = pgcdc_hex_value(src[i]), lo = pgcdc_hex_value(src[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        dst[n++] = (unsigned char)(hi << 4 | lo);
    }
    return (long)n;
}

long pgcdc_types_decode_bytea_hex(const char *src, size_t len, unsigned char *dst)
{
    if (len < 2 || src[0] != '\\' || src[1] != 'x')
        return -1;
    return pgcdc_types_unhex(src + 2, len - 2, dst);
}

int pgcdc_types_encode_binary(const unsigned char *p, size_t n, int conv,
                              struct pgcdc_buf *scratch, struct pgcdc_datum *out)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    static const char hexdig[] = "0123456789abcdef";
    bool hex = conv == CONV_BYTEA_HEX || conv == CONV_RAW_HEX;
    const char *alpha = conv == CONV_BYTEA_BASE64_URL || conv == CONV_RAW_BASE64_URL ? url : std;
    size_t need = hex ? n * 2 : (n + 2) / 3 * 4;
    char *o;
    size_t i, k = 0;
    int rc = pgcdc_buf_reserve(scratch, need);

    if (rc < 0)
        return rc;
    o = scratch->data + scratch->len;
    if (hex) {
        for (i = 0; i < n; i++) {
            o[k++] = hexdig[p[i] >> 4];
            o[k++] = hexdig[p[i] & 0x0f];
        }
    } else {
        /* Java's Base64 encoders, padding included. */
        for (i = 0; i + 2 < n; i += 3) {
            uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
            o[k++] = alpha[v >> 18];
            o[k++] = alpha[(v >> 12) & 63];
            o[k++] = alpha[(v >> 6) & 63];
            o[k++] = alpha[v & 63];
        }
        if (i < n) {
            uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
            o[k++] = alpha[v >> 18];
            o[k++] = alpha[(v >> 12) & 63];
            o[k++] = i + 1 < n ? alpha[(v >> 6) & 63] : '=';
            o[k++] = '=';
        }
    }
    out->kind = PGCDC_DATUM_STRING;
    pgcdc_types_take_scratch(scratch, k, out);
    return 0;
}

/* bytea under binary.handling.mode other than bytes: decoded into scratch,
 * then encoded behind it; the decoded bytes are dropped again. */
static int conv_bytea_text(int conv, const char *text, size_t len, struct pgcdc_buf *scratch,
                           struct pgcdc_datum *out, char *err, size_t errlen)
{
    size_t start = scratch->len;
    long n;
    int rc = pgcdc_buf_reserve(scratch, len / 2 + 1);

    if (rc < 0)
        return rc;
    n = pgcdc_types_decode_bytea_hex(text, len, (unsigned char *)scratch->data + start);
    if (n < 0)
        return pgcdc_types_fail(-EINVAL, err, errlen,
                                "invalid bytea (expected hex format '\\x...')", text, len);
    scratch->len = start + (size_t)n;
    /* Encoded bytes follow the decoded ones; a reserve may move the buffer,
     * so the source is read through its offset. */
    rc = pgcdc_buf_reserve(scratch, (size_t)n * 2 + 4);
    if (rc < 0)
        return rc;
    rc = pgcdc_types_encode_binary((const unsigned char *)scratch->data + start, (size_t)n, conv,
                                   scratch, out);
    if (rc < 0)
        return rc;
    /* Move the encoding down over the decoded bytes. */
    memmove(scratch->data + start, scratch->data + out->off, out->len);
    out->off = start;
    scratch->len = start + out->len;
    scratch->data[scratch->len] = '\0';
    return 0;
}

static int conv_bytea(const char *text, size_t len, struct pgcdc_buf *scratch,
                      struct pgcdc_datum *out, char *err, size_t errlen)
{
    long n;
    int rc = pgcdc_buf_reserve(scratch, len / 2);

    if (rc < 0)
        return rc;
    n = pgcdc_types_decode_bytea_hex(text, len, (unsigned char *)scratch->data + scratch->len);
    if (n < 0)
        return pgcdc_types_fail(-EINVAL, err, errlen,
                                "invalid bytea (expected hex format '\\x...')", text, len);
    out->kind = PGCDC_DATUM_BYTES;
    pgcdc_types_take_scratch(scratch, (size_t)n, out);
    return 0;
}

/* Bit string "0101..." -> Debezium's Bits: bit i counted from the right is
 * bit i%8 of byte i/8, as many bytes as the highest set bit needs. */
static int conv_bits(const char *text, size_t len, struct pgcdc_buf *scratch,
                     struct pgcdc_datum *out, char *err, size_t errlen)
{
    size_t i, nbytes = 0;
    unsigned char *dst;
    int rc = pgcdc_buf_reserve(scratch, len / 8 + 1);

    if (rc < 0)
        return rc;
    dst = (unsigned char *)scratch->data + scratch->len;
    for (i = 0; i < len; i++) {
        char c = text[len - 1 - i];
        if (c != '0' && c != '1')
            return pgcdc_types_fail(-EINVAL, err, errlen, "invalid bit string", text, len);
        if (i % 8 == 0)
            dst[i / 8] = 0;
        if (c == '1') {
            dst[i / 8] |= (unsigned char)(1u << (i % 8));
            nbytes = i / 8 + 1;
        }
    }
    out->kind = PGCDC_DATUM_BYTES;
    pgcdc_types_take_scratch(scratch, nbytes, out);
    return 0;
}

static int conv_float(const char *text, size_t len, bool single, double *out)
{
    char tmp[64];
    char *e;

    if (len == 0 || len >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, text, len);
    tmp[len] = '\0';
    if (single)
        *out = (double)strtof(tmp, &e);
    else
        *out = strtod(tmp, &e);
    return *e == '\0' ? 0 : -EINVAL;
}

int pgcdc_types_convert_with(const struct pgcdc_typemap *tm, int conv,
                             const struct pgcdc_schema *s, const char *text, size_t len,
                             struct pgcdc_buf *scratch, struct pgcdc_datum *out, char *err,
                             size_t errlen)
{
    int64_t v;

    memset(out, 0, sizeof(*out));
    switch (conv) {
    case CONV_BOOL:
        if (len != 1 || (text[0] != 't' && text[0] != 'f'))
            return pgcdc_types_fail(-EINVAL, err, errlen, "invalid bool", text, len);
        out->kind = PGCDC_DATUM_BOOLEAN;
        out->u.b = text[0] == 't';
        return 0;
    case CONV_INT16:
    case CONV_INT32:
    case CONV_INT64:
        if (!pgcdc_types_parse_int64(text, len, &v))
            return pgcdc_types_fail(-EINVAL, err, errlen, "invalid integer", text, len);
        if ((conv == CONV_INT16 && (v < INT16_MIN || v > INT16_MAX)) ||
            (conv == CONV_INT32 && (v < INT32_MIN || v > INT32_MAX)))
            return pgcdc_types_fail(-ERANGE, err, errlen, "integer out of range", text, len);
        out->kind = PGCDC_DATUM_INT;
        out->u.i = v;
        return 0;
    case CONV_OID:
        if (!pgcdc_types_parse_int64(text, len, &v) || v < 0 || v > (int64_t)UINT32_MAX)
            return pgcdc_types_fail(-EINVAL, err, errlen, "invalid oid", text, len);
        out->kind = PGCDC_DATUM_INT;
        out->u.i = v;
        return 0;
    case CONV_FLOAT32:
    case CONV_FLOAT64:
        if (conv_float(text, len, conv == CONV_FLOAT32, &out->u.f) < 0)
            return pgcdc_types_fail(-EINVAL, err, errlen, "invalid floating point value", text,
                                    len);
        out->kind = PGCDC_DATUM_FLOAT;
        return 0;
    case CONV_DECIMAL:
    case CONV_VSD:
        return pgcdc_types_conv_decimal(s, conv == CONV_VSD, text, len, scratch, out, err,
                                        errlen);
    case CONV_MONEY:
        return pgcdc_types_conv_money((int)s->scale, text, len, scratch, out, err, errlen);
    case CONV_STRING:
        out->kind = PGCDC_DATUM_STRING;
        out->ptr = text;
        out->len = len;
        return 0;
    case CONV_RAW_BYTES:
        out->kind = PGCDC_DATUM_BYTES;
        out->ptr = text;
        out->len = len;
        return 0;
    case CONV_BYTEA:
        return conv_bytea(text, len, scratch, out, err, errlen);
    case CONV_BYTEA_BASE64:
    case CONV_BYTEA_BASE64_URL:
    case CONV_BYTEA_HEX:
        return conv_bytea_text(conv, text, len, scratch, out, err, errlen);
    case CONV_RAW_BASE64:
    case CONV_RAW_BASE64_URL:
    case CONV_RAW_HEX:
        return pgcdc_types_encode_binary((const unsigned char *)text, len, conv, scratch, out);
    case CONV_DECIMAL_DOUBLE:
    case CONV_DECIMAL_STRING:
    case CONV_MONEY_DOUBLE:
    case CONV_MONEY_STRING:
        return pgcdc_types_conv_decimal_text(conv, text, len, scratch, out, err, errlen);
    case CONV_DATE:
    case CONV_TIME_MILLIS:
    case CONV_TIME_MICROS:
    case CONV_TS_MILLIS:
    case CONV_TS_MICROS:
    case CONV_TIMESTAMPTZ:
    case CONV_TIMETZ:
    case CONV_INTERVAL:
    case CONV_INTERVAL_STRING:
        return pgcdc_types_conv_datetime(tm, conv, text, len, scratch, out, err, errlen);
    case CONV_BIT_BOOL:
        if (len != 1 || (text[0] != '0' && text[0] != '1'))
            return pgcdc_types_fail(-EINVAL, err, errlen, "invalid bit", text, len);
        out->kind = PGCDC_DATUM_BOOLEAN;
        out->u.b = text[0] == '1';
        return 0;
    case CONV_BITS:
        return conv_bits(text, len, scratch, out, err, errlen);
    case CONV_HSTORE:
    case CONV_HSTORE_MAP:
        return pgcdc_types_conv_hstore(text, len, conv == CONV_HSTORE_MAP, scratch, out, err,
                                       errlen);
    case CONV_POINT:
    case CONV_LINE:
    case CONV_CIRCLE:
    case CONV_BOX:
    case CONV_LSEG:
    case CONV_PATH:
    case CONV_POLYGON:
        return pgcdc_types_conv_geometric(conv, text, len, scratch, out, err, errlen);
    case CONV_EWKB:
        return pgcdc_types_conv_ewkb(text, len, scratch, out, err, errlen);
    case CONV_ARRAY:
        return pgcdc_types_conv_array(tm, text, len, out, err, errlen);
    default:
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "column type was not mapped");
        return -EINVAL;
    }
}

int pgcdc_types_convert(const struct pgcdc_typemap *tm, const char *text, size_t len,
                        struct pgcdc_buf *scratch, struct pgcdc_datum *out, char *err,
                        size_t errlen)
{
    return pgcdc_types_convert_with(tm, tm->conv, &tm->schema, text, len, scratch, out, err,
                                    errlen);
}

const char *pgcdc_datum_ptr(const struct pgcdc_datum *d, const struct pgcdc_buf *scratch)
{
    if (d->ptr != NULL)
        return d->ptr;
    if (d->len == 0 && (scratch == NULL || scratch->data == NULL))
        return "";
    return scratch->data + d->off;
}

/* ---------------------------------------------------------------------- */
/* unavailable values                                                      */

int pgcdc_types_unavailable(const struct pgcdc_typemap *tm, const char *placeholder,
                            struct pgcdc_datum *out)
{
    size_t len = strlen(placeholder);
    uint32_t elem;
    bool is_array;

    memset(out, 0, sizeof(*out));
    switch (tm->conv) {
    case CONV_STRING:
    case CONV_HSTORE:
    case CONV_TIMESTAMPTZ:
    case CONV_TIMETZ:
    case CONV_DECIMAL_STRING:
    case CONV_MONEY_STRING:
    case CONV_BYTEA_BASE64:
    case CONV_BYTEA_BASE64_URL:
    case CONV_BYTEA_HEX:
    case CONV_RAW_BASE64:
    case CONV_RAW_BASE64_URL:
    case CONV_RAW_HEX:
    case CONV_INTERVAL_STRING:
        out->kind = PGCDC_DATUM_STRING;
        break;
    case CONV_BYTEA:
    case CONV_RAW_BYTES:
    case CONV_DECIMAL:
    case CONV_BITS:
        out->kind = PGCDC_DATUM_BYTES;
        break;
    case CONV_VSD:
        out->kind = PGCDC_DATUM_VSD;
        out->u.vsd_scale = 0;
        break;
    case CONV_ARRAY:
        elem = pgcdc_types_array_element(tm->type_oid, &is_array);
        if (elem == OID_TEXT || elem == OID_VARCHAR || elem == OID_JSON || elem == OID_JSONB) {
            out->kind = PGCDC_DATUM_ARRAY;
            out->u.arr.count = 1;
            out->u.arr.placeholder = PH_TEXT;
        } else if (elem == OID_INT4 || elem == OID_DATE || elem == OID_INT8) {
            out->kind = PGCDC_DATUM_ARRAY;
            out->u.arr.count = (uint32_t)len;
            out->u.arr.placeholder = PH_INTS;
        } else {
            out->kind = PGCDC_DATUM_NULL;
            return 0;
        }
        break;
    default:
        out->kind = PGCDC_DATUM_NULL;
        return 0;
    }
    out->ptr = placeholder;
    out->len = len;
    return 0;
}
