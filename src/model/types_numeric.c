/*
 * types_numeric.c - numeric and money as Kafka Connect decimals.
 *
 * numeric text -> exact big integer (base 2^32 limbs, kept in scratch) ->
 * minimal big-endian two's complement bytes, as Java's
 * BigInteger.toByteArray() writes the unscaled value of a BigDecimal: a
 * Decimal at the column's scale, or a VariableScaleDecimal {scale, value}
 * for numeric without a typmod. money (lc_monetary=C) is a Decimal of
 * scale 2.
 */
#include "types_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Writes the minimal big-endian two's complement of the integer whose
 * decimal digits are the concatenation of the segments (leading zeros
 * allowed), negated when neg, to the end of scratch and makes them out's
 * bytes. The base 2^32 limbs live in scratch too, past the bytes being
 * written, so any size works without a separate allocation.
 */
struct digit_seg {
    const char *p; /* digits; NULL for n zeros */
    size_t n;      /* digit count */
};

/* limbs = limbs * mul + add, growing *nlimbs on a carry out. */
static void limbs_mul_add(uint32_t *limbs, size_t *nlimbs, uint32_t mul, uint32_t add)
{
    uint64_t carry = add;
    size_t k;

    for (k = 0; k < *nlimbs; k++) {
        uint64_t t = (uint64_t)limbs[k] * mul + carry;
        limbs[k] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry)
        limbs[(*nlimbs)++] = (uint32_t)carry;
}

static int append_twos_complement(struct pgcdc_buf *scratch, const struct digit_seg *segs,
                                  int nsegs, bool neg, struct pgcdc_datum *out)
{
    size_t total = 0, maxlimbs, maxbytes, limb_at, nlimbs = 0, i, nb;
    uint32_t *limbs, chunk = 0, mul = 1;
    unsigned char *bytes;
    int s, rc, inchunk = 0;
    bool first_digit_seen = false;

    for (s = 0; s < nsegs; s++)
        total += segs[s].n;
    maxlimbs = total / 9 + 2;
    maxbytes = maxlimbs * 4 + 1;
    /* Layout past scratch->len: [maxbytes output][pad][limbs]. */
    rc = pgcdc_buf_reserve(scratch, maxbytes + 8 + maxlimbs * sizeof(uint32_t));
    if (rc < 0)
        return rc;
    limb_at = (scratch->len + maxbytes + 7) & ~(size_t)7;
    limbs = (uint32_t *)(void *)(scratch->data + limb_at);

    for (s = 0; s < nsegs; s++) {
        for (i = 0; i < segs[s].n; i++) {
            uint32_t dgt = segs[s].p != NULL ? (uint32_t)(segs[s].p[i] - '0') : 0;
            if (!first_digit_seen && dgt == 0)
                continue;
            first_digit_seen = true;
            chunk = chunk * 10 + dgt;
            mul *= 10;
            if (++inchunk == 9) {
                limbs_mul_add(limbs, &nlimbs, mul, chunk);
                chunk = 0;
                mul = 1;
                inchunk = 0;
            }
        }
    }
    if (inchunk > 0)
        limbs_mul_add(limbs, &nlimbs, mul, chunk);

    /* Magnitude, big-endian, one spare byte in front for the sign. */
    bytes = (unsigned char *)scratch->data + scratch->len;
    nb = nlimbs * 4;
    for (i = 0; i < nlimbs; i++) {
        uint32_t l = limbs[nlimbs - 1 - i];
        bytes[1 + i * 4] = (unsigned char)(l >> 24);
        bytes[2 + i * 4] = (unsigned char)(l >> 16);
        bytes[3 + i * 4] = (unsigned char)(l >> 8);
        bytes[4 + i * 4] = (unsigned char)l;
    }
    i = 1;
    while (nb > 0 && bytes[i] == 0) {
        i++;
        nb--;
    }
    if (nb == 0) {
        bytes[0] = 0; /* zero is one 0x00 byte, whatever the sign */
        pgcdc_types_take_scratch(scratch, 1, out);
        return 0;
    }
    /* bytes[i .. i+nb) is the minimal magnitude. */
    if (neg) {
        size_t k = i + nb;
        unsigned carry = 1;
        while (k-- > i) {
            unsigned v = (unsigned)(unsigned char)~bytes[k] + carry;
            bytes[k] = (unsigned char)v;
            carry = v >> 8;
        }
        if (!(bytes[i] & 0x80)) {
            bytes[--i] = 0xff;
            nb++;
        }
    } else if (bytes[i] & 0x80) {
        bytes[--i] = 0x00;
        nb++;
    }
    if (i > 0)
        memmove(bytes, bytes + i, nb);
    pgcdc_types_take_scratch(scratch, nb, out);
    return 0;
}

/* Splits decimal text into sign, integer digits and fraction digits. */
static bool split_decimal(const char *text, size_t len, bool *neg, const char **ip, size_t *in,
                          const char **fp, size_t *fn)
{
    const char *p = text, *end = text + len;

    *neg = false;
    if (p < end && (*p == '-' || *p == '+')) {
        *neg = *p == '-';
        p++;
    }
    *ip = p;
    while (p < end && pgcdc_types_is_digit(*p))
        p++;
    *in = (size_t)(p - *ip);
    *fp = p;
    *fn = 0;
    if (p < end && *p == '.') {
        p++;
        *fp = p;
        while (p < end && pgcdc_types_is_digit(*p))
            p++;
        *fn = (size_t)(p - *fp);
    }
    return p == end && *in + *fn > 0;
}

static bool is_numeric_special(const char *text, size_t len)
{
    return pgcdc_types_eq_text(text, len, "NaN") || pgcdc_types_eq_text(text, len, "Infinity") ||
           pgcdc_types_eq_text(text, len, "-Infinity");
}

int pgcdc_types_conv_decimal(const struct pgcdc_schema *s, bool variable, const char *text,
                             size_t len, struct pgcdc_buf *scratch, struct pgcdc_datum *out,
                             char *err, size_t errlen)
{
    const char *ip, *fp;
    size_t in, fn, keep;
    bool neg;
    struct digit_seg segs[3];
    int rc;

    if (is_numeric_special(text, len))
        return pgcdc_types_fail(-ERANGE, err, errlen,
                                "numeric special value cannot be represented in "
                                "decimal.handling.mode precise",
                                text, len);
    if (!split_decimal(text, len, &neg, &ip, &in, &fp, &fn))
        return pgcdc_types_fail(-EINVAL, err, errlen, "invalid numeric", text, len);

    segs[0].p = ip;
    segs[0].n = in;
    segs[1].p = fp;
    segs[2].p = NULL;
    segs[2].n = 0;
    if (variable) {
        /* BigDecimal.stripTrailingZeros(), but never a negative scale. */
        keep = fn;
        while (keep > 0 && fp[keep - 1] == '0')
            keep--;
        segs[1].n = keep;
        out->u.vsd_scale = (int32_t)keep;
        out->kind = PGCDC_DATUM_VSD;
    } else {
        size_t scale = (size_t)s->scale;
        keep = fn < scale ? fn : scale;
        for (size_t k = keep; k < fn; k++)
            if (fp[k] != '0')
                return pgcdc_types_fail(-ERANGE, err, errlen,
                                        "numeric value has more fraction digits than "
                                        "the column's scale",
                                        text, len);
        segs[1].n = keep;
        segs[2].n = scale - keep;
        out->kind = PGCDC_DATUM_BYTES;
    }
    rc = append_twos_complement(scratch, segs, 3, neg, out);
    if (rc < 0)
        return rc;
    if (variable && out->len == 1 && scratch->data[out->off] == 0)
        out->u.vsd_scale = 0;
    return 0;
}

/* money in the C locale ("$1,234.56", "-$1,234.56", parenthesised
 * negatives too) as PostgresMoney reads it: sign, integer digits and
 * fraction digits with symbol and separators gone. Returns false for
 * anything else or more than fit. */
struct money_text {
    bool neg;         /* a minus sign or parentheses */
    char digits[48];  /* integer then fraction digits */
    size_t nint;      /* integer digits at digits */
    size_t nfrac;     /* fraction digits after them */
};

static bool money_parse(const char *text, size_t len, struct money_text *mt)
{
    const char *p = text, *end = text + len;
    bool dot = false;
    size_t nd = 0;

    memset(mt, 0, sizeof(*mt));
    if (p < end && *p == '-') {
        mt->neg = true;
        p++;
    }
    if (p < end && *p == '(') {
        mt->neg = true;
        p++;
        if (end > p && end[-1] == ')')
            end--;
    }
    while (p < end && !pgcdc_types_is_digit(*p) && *p != '.')
        p++; /* currency symbol */
    for (; p < end; p++) {
        if (*p == ',' && !dot)
            continue;
        if (*p == '.' && !dot) {
            dot = true;
            continue;
        }
        if (!pgcdc_types_is_digit(*p) || nd >= sizeof(mt->digits) - 1)
            return false;
        mt->digits[nd++] = *p;
        if (dot)
            mt->nfrac++;
        else
            mt->nint++;
    }
    return nd > 0;
}

/* The plain text of a parsed money value: Java's BigDecimal.toPlainString()
 * of it, so a zero has no sign. */
static size_t money_plain(const struct money_text *mt, char *buf /* OUT, 64 bytes */)
{
    size_t n = 0, nd = mt->nint + mt->nfrac;
    bool zero = true;

    for (size_t k = 0; k < nd; k++)
        zero = zero && mt->digits[k] == '0';
    if (mt->neg && !zero)
        buf[n++] = '-';
    if (mt->nint == 0)
        buf[n++] = '0';
    memcpy(buf + n, mt->digits, mt->nint);
    n += mt->nint;
    if (mt->nfrac > 0) {
        buf[n++] = '.';
        memcpy(buf + n, mt->digits + mt->nint, mt->nfrac);
        n += mt->nfrac;
    }
    buf[n] = '\0';
    return n;
}

/* Debezium's setScale(digits, HALF_UP) of the money value. */
int pgcdc_types_conv_money(int digits, const char *text, size_t len, struct pgcdc_buf *scratch,
                           struct pgcdc_datum *out, char *err, size_t errlen)
{
    struct money_text mt;
    char d[72];
    size_t nd = 1, k, keep;
    struct digit_seg seg;
    int rc;

    if (!money_parse(text, len, &mt) || digits < 0 || digits > 18)
        return pgcdc_types_fail(-EINVAL, err, errlen, "invalid money", text, len);
    d[0] = '0'; /* room for a carry out of the rounding */
    memcpy(d + nd, mt.digits, mt.nint);
    nd += mt.nint;
    keep = mt.nfrac < (size_t)digits ? mt.nfrac : (size_t)digits;
    memcpy(d + nd, mt.digits + mt.nint, keep);
    nd += keep;
    for (k = keep; k < (size_t)digits; k++)
        d[nd++] = '0';
    if (mt.nfrac > (size_t)digits && mt.digits[mt.nint + (size_t)digits] >= '5') {
        for (k = nd; k-- > 0;) {
            if (d[k] != '9') {
                d[k]++;
                break;
            }
            d[k] = '0';
        }
    }
    seg.p = d;
    seg.n = nd;
    rc = append_twos_complement(scratch, &seg, 1, mt.neg, out);
    if (rc < 0)
        return rc;
    out->kind = PGCDC_DATUM_BYTES;
    return 0;
}

/* Java's name of a special numeric value, as SpecialValueDecimal prints it
 * under decimal.handling.mode=string. */
static const char *special_name(const char *text, size_t len)
{
    if (pgcdc_types_eq_text(text, len, "NaN"))
        return "NAN";
    return text[0] == '-' ? "NEGATIVE_INFINITY" : "POSITIVE_INFINITY";
}

int pgcdc_types_conv_decimal_text(int conv, const char *text, size_t len,
                                  struct pgcdc_buf *scratch, struct pgcdc_datum *out, char *err,
                                  size_t errlen)
{
    char plain[72];
    const char *src = text;
    size_t n = len;
    char *e;

    if (conv == CONV_MONEY_DOUBLE || conv == CONV_MONEY_STRING) {
        struct money_text mt;

        if (!money_parse(text, len, &mt))
            return pgcdc_types_fail(-EINVAL, err, errlen, "invalid money", text, len);
        n = money_plain(&mt, plain);
        src = plain;
    } else if (is_numeric_special(text, len)) {
        if (conv == CONV_DECIMAL_STRING) {
            out->kind = PGCDC_DATUM_STRING;
            out->ptr = special_name(text, len);
            out->len = strlen(out->ptr);
            return 0;
        }
    } else {
        const char *ip, *fp;
        size_t in, fn;
        bool neg;

        if (!split_decimal(text, len, &neg, &ip, &in, &fp, &fn))
            return pgcdc_types_fail(-EINVAL, err, errlen, "invalid numeric", text, len);
    }
    if (conv == CONV_DECIMAL_STRING || conv == CONV_MONEY_STRING) {
        /* numeric prints as BigDecimal.toPlainString() would (at the
         * column's scale for numeric(p,s)); money's text is rebuilt. */
        int rc;

        if (src == text) {
            out->kind = PGCDC_DATUM_STRING;
            out->ptr = text;
            out->len = len;
            return 0;
        }
        out->kind = PGCDC_DATUM_STRING;
        out->off = scratch->len;
        rc = pgcdc_buf_append(scratch, src, n);
        if (rc < 0)
            return rc;
        out->len = n;
        return 0;
    }
    /* BigDecimal.doubleValue() rounds correctly, as strtod does. */
    if (src == text) {
        if (len >= sizeof(plain)) {
            /* Longer than any double needs: strtod still rounds right from
             * a NUL-terminated copy in scratch. */
            size_t off = scratch->len;
            int rc = pgcdc_buf_append(scratch, text, len);

            if (rc < 0)
                return rc;
            out->u.f = strtod(scratch->data + off, &e);
            scratch->len = off;
            scratch->data[off] = '\0';
            out->kind = PGCDC_DATUM_FLOAT;
            return 0;
        }
        memcpy(plain, text, len);
        plain[len] = '\0';
    }
    out->u.f = strtod(plain, &e);
    if (*e != '\0')
        return pgcdc_types_fail(-EINVAL, err, errlen, "invalid numeric", text, len);
    out->kind = PGCDC_DATUM_FLOAT;
    return 0;
}

int pgcdc_types_vsd_field(const struct pgcdc_datum *d, int i, struct pgcdc_datum *out)
{
    memset(out, 0, sizeof(*out));
    if (i == 0) {
        out->kind = PGCDC_DATUM_INT;
        out->u.i = d->u.vsd_scale;
        return 0;
    }
    if (i != 1)
        return -EINVAL;
    *out = *d;
    out->kind = PGCDC_DATUM_BYTES;
    return 0;
}
