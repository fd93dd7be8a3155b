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

/* money in the C locale: "$1,234.56", "-$1,234.56"; parenthesised negatives
 * too. Scale 2, extra digits rounded half up as Debezium's setScale(2,
 * HALF_UP) (lc_monetary=C never prints any). */
int pgcdc_types_conv_money(const char *text, size_t len, struct pgcdc_buf *scratch,
                           struct pgcdc_datum *out, char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    char digits[40];
    size_t nd = 1, nfrac = 0, k;
    bool neg = false, dot = false;
    char dropped = 0;
    struct digit_seg seg;
    int rc;

    digits[0] = '0'; /* room for a carry out of the rounding */
    if (p < end && *p == '-') {
        neg = true;
        p++;
    }
    if (p < end && *p == '(') {
        neg = true;
        p++;
        if (end > p && end[-1] == ')')
            end--;
    }
    while (p < end && !pgcdc_types_is_digit(*p))
        p++; /* currency symbol */
    for (; p < end; p++) {
        if (*p == ',' && !dot)
            continue;
        if (*p == '.' && !dot) {
            dot = true;
            continue;
        }
        if (!pgcdc_types_is_digit(*p))
            return pgcdc_types_fail(-EINVAL, err, errlen, "invalid money", text, len);
        if (dot && nfrac == 2) {
            if (dropped == 0)
                dropped = *p;
            continue;
        }
        if (nd >= sizeof(digits) - 3)
            return pgcdc_types_fail(-ERANGE, err, errlen, "money out of range", text, len);
        digits[nd++] = *p;
        if (dot)
            nfrac++;
    }
    if (nd == 1)
        return pgcdc_types_fail(-EINVAL, err, errlen, "invalid money", text, len);
    for (; nfrac < 2; nfrac++)
        digits[nd++] = '0';
    if (dropped >= '5') {
        for (k = nd; k-- > 0;) {
            if (digits[k] != '9') {
                digits[k]++;
                break;
            }
            digits[k] = '0';
        }
    }
    seg.p = digits;
    seg.n = nd;
    rc = append_twos_complement(scratch, &seg, 1, neg, out);
    if (rc < 0)
        return rc;
    out->kind = PGCDC_DATUM_BYTES;
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
