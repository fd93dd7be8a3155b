/*
 * types_hstore.c - hstore values as the JSON object text Debezium writes
 * (hstore.handling.mode=json): Jackson's output of the java.util.HashMap
 * pgjdbc parses, so keys come in Java HashMap iteration order.
 *
 * The other extension types Debezium maps by name (citext, ltree, isbn)
 * and tsvector are strings as PostgreSQL prints them: they need no parser.
 */
#include "types_impl.h"

#include <errno.h>
#include <string.h>

/* One key/value pair of hstore's text output, by offsets into the text. */
struct hs_pair {
    uint32_t koff, klen; /* key between its quotes, escapes included */
    uint32_t voff, vlen; /* value likewise; vlen UINT32_MAX for NULL */
    uint32_t hash;       /* Java's String.hashCode() of the unescaped key */
};

/* A quoted hstore string at *p (escapes kept); Java's hashCode of its
 * unescaped UTF-16 code units into *hash when hash is set. */
static bool hs_quoted(const char **p, const char *end, const char **s, size_t *n, uint32_t *hash)
{
    const char *q = *p;
    uint32_t h = 0;

    if (q >= end || *q != '"')
        return false;
    *s = ++q;
    while (q < end && *q != '"') {
        unsigned char c;
        uint32_t cp;
        int more;

        if (*q == '\\' && ++q >= end)
            return false;
        c = (unsigned char)*q++;
        if (hash == NULL)
            continue;
        /* Decode UTF-8 (the escape only ever precedes '"' or '\\'). */
        if (c < 0x80) {
            cp = c;
            more = 0;
        } else if ((c & 0xe0) == 0xc0) {
            cp = c & 0x1f;
            more = 1;
        } else if ((c & 0xf0) == 0xe0) {
            cp = c & 0x0f;
            more = 2;
        } else {
            cp = c & 0x07;
            more = 3;
        }
        while (more-- > 0 && q < end && ((unsigned char)*q & 0xc0) == 0x80)
            cp = cp << 6 | ((unsigned char)*q++ & 0x3f);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            h = 31 * h + (0xd800 + (cp >> 10));
            h = 31 * h + (0xdc00 + (cp & 0x3ff));
        } else {
            h = 31 * h + cp;
        }
    }
    if (q >= end)
        return false;
    *n = (size_t)(q - *s);
    *p = q + 1;
    if (hash)
        *hash = h;
    return true;
}

/* Appends an hstore string (escapes removed) as a JSON string, escaped the
 * way Jackson writes it. */
static int hs_put_json(struct pgcdc_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";

    if (pgcdc_buf_append_char(b, '"'))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6] = {'\\', 'u', '0', '0', 0, 0};
        int rc;

        if (c == '\\' && i + 1 < n)
            c = (unsigned char)s[++i];
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            rc = pgcdc_buf_append(b, esc, 2);
        } else if (c >= 0x20) {
            rc = pgcdc_buf_append_char(b, (char)c);
        } else if (c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r') {
            esc[1] = c == '\b' ? 'b' : c == '\t' ? 't' : c == '\n' ? 'n' : c == '\f' ? 'f' : 'r';
            rc = pgcdc_buf_append(b, esc, 2);
        } else {
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            rc = pgcdc_buf_append(b, esc, 6);
        }
        if (rc)
            return -ENOMEM;
    }
    return pgcdc_buf_append_char(b, '"') ? -ENOMEM : 0;
}

/* Appends an hstore string with its escapes removed, then a NUL. */
static int hs_put_raw(struct pgcdc_buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n)
            i++;
        if (pgcdc_buf_append_char(b, s[i]))
            return -ENOMEM;
    }
    return pgcdc_buf_append_char(b, '\0') ? -ENOMEM : 0;
}

/* hstore.handling.mode=map: the n entries in HashMap order (order_at) as
 * "key\0" then "v" "value\0" or "n" for NULL, which
 * pgcdc_types_map_entry_in() reads back. */
static int hs_put_map(const char *text, uint32_t n, size_t pairs_at, size_t order_at,
                      struct pgcdc_buf *scratch, struct pgcdc_datum *out)
{
    size_t start = scratch->len;

    for (uint32_t k = 0; k < n; k++) {
        struct hs_pair hp;
        uint32_t i;

        memcpy(&i, scratch->data + order_at + (size_t)k * sizeof(uint32_t), sizeof(i));
        memcpy(&hp, scratch->data + pairs_at + (size_t)i * sizeof(hp), sizeof(hp));
        if (hs_put_raw(scratch, text + hp.koff, hp.klen) ||
            (hp.vlen == UINT32_MAX ? pgcdc_buf_append_char(scratch, 'n')
                                   : pgcdc_buf_append_char(scratch, 'v') ||
                                         hs_put_raw(scratch, text + hp.voff, hp.vlen)))
            return -ENOMEM;
    }
    out->kind = PGCDC_DATUM_MAP;
    out->ptr = NULL;
    out->off = start;
    out->len = scratch->len - start;
    out->u.geo.count = n;
    out->u.geo.shape = SHAPE_NONE;
    return 0;
}

int pgcdc_types_map_entry_in(const struct pgcdc_datum *d, const struct pgcdc_buf *scratch,
                             uint32_t i, const char **key, const char **value)
{
    const char *p, *end;

    if (d->kind != PGCDC_DATUM_MAP || i >= d->u.geo.count)
        return -EINVAL;
    if (d->u.geo.shape != SHAPE_NONE)
        return pgcdc_types_map_entry(d, i, key, value);
    p = pgcdc_datum_ptr(d, scratch);
    end = p + d->len;
    for (uint32_t k = 0;; k++) {
        const char *k0 = p, *kz = memchr(p, '\0', (size_t)(end - p)), *v = NULL;

        if (kz == NULL || kz + 1 >= end)
            return -EINVAL;
        if (kz[1] == 'v') {
            v = kz + 2;
            p = memchr(v, '\0', (size_t)(end - v));
            if (p == NULL)
                return -EINVAL;
            p++;
        } else {
            p = kz + 2;
        }
        if (k == i) {
            *key = k0;
            *value = v;
            return 0;
        }
    }
}

/*
 * hstore's text output ("k"=>"v", "k2"=>NULL) as the JSON object Debezium
 * writes: pgjdbc parses it into a java.util.HashMap and Jackson writes the
 * entries in the map's iteration order, i.e. by bucket (hash ^ hash >>> 16
 * masked by the table size: 16, doubled while entries exceed 3/4 of it),
 * and in insertion order within a bucket. Pairs, bucket counts and the
 * order go to scratch ahead of the JSON text, which the datum points at.
 */
int pgcdc_types_conv_hstore(const char *text, size_t len, bool as_map, struct pgcdc_buf *scratch,
                            struct pgcdc_datum *out, char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    size_t pairs_at = scratch->len, counts_at, order_at;
    uint32_t n = 0, cap = 16;

    for (;;) {
        struct hs_pair hp;
        const char *s;
        size_t sn;

        while (p < end && (*p == ' ' || *p == ','))
            p++;
        if (p >= end)
            break;
        if (!hs_quoted(&p, end, &s, &sn, &hp.hash))
            goto bad;
        hp.koff = (uint32_t)(s - text);
        hp.klen = (uint32_t)sn;
        while (p < end && *p == ' ')
            p++;
        if (end - p < 2 || p[0] != '=' || p[1] != '>')
            goto bad;
        p += 2;
        while (p < end && *p == ' ')
            p++;
        if (end - p >= 4 && memcmp(p, "NULL", 4) == 0) {
            p += 4;
            hp.voff = 0;
            hp.vlen = UINT32_MAX;
        } else if (hs_quoted(&p, end, &s, &sn, NULL)) {
            hp.voff = (uint32_t)(s - text);
            hp.vlen = (uint32_t)sn;
        } else {
            goto bad;
        }
        if (pgcdc_buf_append(scratch, (const char *)&hp, sizeof(hp)))
            return -ENOMEM;
        n++;
    }
    while ((uint64_t)n * 4 > (uint64_t)cap * 3)
        cap *= 2;
    /* Counting sort by bucket; stable, so insertion order within a bucket.
     * The counters are read as uint32_t: align them. */
    while (scratch->len % sizeof(uint32_t) != 0)
        if (pgcdc_buf_append_char(scratch, 0))
            return -ENOMEM;
    counts_at = scratch->len;
    if (pgcdc_buf_reserve(scratch, (size_t)(cap + 1 + n) * sizeof(uint32_t)))
        return -ENOMEM;
    memset(scratch->data + counts_at, 0, (size_t)(cap + 1) * sizeof(uint32_t));
    order_at = counts_at + (size_t)(cap + 1) * sizeof(uint32_t);
    scratch->len = order_at + (size_t)n * sizeof(uint32_t);
    {
        uint32_t *counts = (uint32_t *)(void *)(scratch->data + counts_at);
        uint32_t *order = (uint32_t *)(void *)(scratch->data + order_at);
        const char *pairs = scratch->data + pairs_at;

        for (uint32_t i = 0; i < n; i++) {
            struct hs_pair hp;

            memcpy(&hp, pairs + (size_t)i * sizeof(hp), sizeof(hp));
            counts[((hp.hash ^ (hp.hash >> 16)) & (cap - 1)) + 1]++;
        }
        for (uint32_t b = 0; b < cap; b++)
            counts[b + 1] += counts[b];
        for (uint32_t i = 0; i < n; i++) {
            struct hs_pair hp;

            memcpy(&hp, pairs + (size_t)i * sizeof(hp), sizeof(hp));
            order[counts[(hp.hash ^ (hp.hash >> 16)) & (cap - 1)]++] = i;
        }
    }
    if (as_map)
        return hs_put_map(text, n, pairs_at, order_at, scratch, out);
    out->kind = PGCDC_DATUM_STRING;
    out->off = scratch->len;
    if (pgcdc_buf_append_char(scratch, '{'))
        return -ENOMEM;
    for (uint32_t k = 0; k < n; k++) {
        struct hs_pair hp;
        uint32_t i;

        /* scratch may move while the JSON grows: re-read through offsets. */
        memcpy(&i, scratch->data + order_at + (size_t)k * sizeof(uint32_t), sizeof(i));
        memcpy(&hp, scratch->data + pairs_at + (size_t)i * sizeof(hp), sizeof(hp));
        if ((k > 0 && pgcdc_buf_append_char(scratch, ',')) ||
            hs_put_json(scratch, text + hp.koff, hp.klen) || pgcdc_buf_append_char(scratch, ':') ||
            (hp.vlen == UINT32_MAX ? pgcdc_buf_append(scratch, "null", 4)
                                   : hs_put_json(scratch, text + hp.voff, hp.vlen)))
            return -ENOMEM;
    }
    if (pgcdc_buf_append_char(scratch, '}'))
        return -ENOMEM;
    out->len = scratch->len - out->off;
    return 0;
bad:
    return pgcdc_types_fail(-EINVAL, err, errlen, "invalid hstore", text, len);
}
