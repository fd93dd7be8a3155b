/*
 * types_geometric.c - PostgreSQL's geometric types and PostGIS's geometry
 * and geography as Debezium's io.debezium.data.geometry structs.
 *
 *  - geometric types -> coordinates parsed into the datum, plus the
 *    little-endian WKB Debezium derives from them (point, and for box,
 *    lseg, path and polygon a Polygon or LineString) in scratch;
 *  - PostGIS geometry / geography -> their text output is hex-encoded EWKB
 *    (PostGIS's "extended" WKB: bit 0x20000000 of the geometry type says
 *    that a 4-byte SRID follows it); Debezium keeps the EWKB bytes as they
 *    are in `wkb` and puts that SRID, or null, in `srid`. Arrays of them
 *    separate elements with ':' (the types' typdelim), not ','.
 *
 * The datum's fields are read with pgcdc_types_struct_field() and a
 * Geometry's extensions with pgcdc_types_map_entry().
 */
#include "types_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Reads a float8 output ("1.5", "-2", "1e+300", "Infinity", "NaN") at *p,
 * ending at one of the delimiters. */
static bool read_coord(const char **p, const char *end, double *out)
{
    char tmp[64];
    const char *q = *p;
    size_t n;
    char *e;

    while (q < end && *q == ' ')
        q++;
    *p = q;
    while (q < end && *q != ',' && *q != ')' && *q != '}' && *q != '>' && *q != ']')
        q++;
    n = (size_t)(q - *p);
    if (n == 0 || n >= sizeof(tmp))
        return false;
    memcpy(tmp, *p, n);
    tmp[n] = '\0';
    *out = strtod(tmp, &e);
    while (e > tmp && e[-1] == ' ')
        e--;
    if (e != tmp + n && *e != ' ')
        return false;
    *p = q;
    return true;
}

static bool expect_char(const char **p, const char *end, char c)
{
    while (*p < end && **p == ' ')
        (*p)++;
    if (*p >= end || **p != c)
        return false;
    (*p)++;
    return true;
}

/* "(x,y)" at *p. */
static bool read_point(const char **p, const char *end, double *x, double *y)
{
    return expect_char(p, end, '(') && read_coord(p, end, x) && expect_char(p, end, ',') &&
           read_coord(p, end, y) && expect_char(p, end, ')');
}

static int put_u32le(struct pgcdc_buf *b, uint32_t v)
{
    char o[4] = {(char)(v & 0xff), (char)(v >> 8 & 0xff), (char)(v >> 16 & 0xff),
                 (char)(v >> 24 & 0xff)};

    return pgcdc_buf_append(b, o, 4);
}

static int put_f64le(struct pgcdc_buf *b, double d)
{
    uint64_t v;
    char o[8];

    memcpy(&v, &d, 8);
    for (int i = 0; i < 8; i++)
        o[i] = (char)(v >> (8 * i) & 0xff);
    return pgcdc_buf_append(b, o, 8);
}

static void patch_u32le(struct pgcdc_buf *b, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->data[off + (size_t)i] = (char)(v >> (8 * i) & 0xff);
}

/* WKB geometry types (little-endian byte order marker 1). */
enum { WKB_POINT = 1, WKB_LINESTRING = 2, WKB_POLYGON = 3 };

static int put_wkb_point(struct pgcdc_buf *b, double x, double y)
{
    return pgcdc_buf_append_char(b, 1) || put_u32le(b, WKB_POINT) || put_f64le(b, x) ||
                   put_f64le(b, y)
               ? -ENOMEM
               : 0;
}

/*
 * A list of points "(x,y),(x,y)..." up to the closing delimiter close,
 * appended as WKB coordinates; *n counts them, (*fx,*fy) / (*lx,*ly) are
 * the first and last.
 */
static int put_point_list(const char **p, const char *end, char close, struct pgcdc_buf *b,
                          uint32_t *n, double *fx, double *fy, double *lx, double *ly)
{
    *n = 0;
    for (;;) {
        double x, y;

        if (!read_point(p, end, &x, &y))
            return -EINVAL;
        if (put_f64le(b, x) || put_f64le(b, y))
            return -ENOMEM;
        if (*n == 0) {
            *fx = x;
            *fy = y;
        }
        *lx = x;
        *ly = y;
        (*n)++;
        if (expect_char(p, end, ','))
            continue;
        return expect_char(p, end, close) ? 0 : -EINVAL;
    }
}

/* Converts a geometric type's text output (see the CONV_ ids). */
int pgcdc_types_conv_geometric(int conv, const char *text, size_t len, struct pgcdc_buf *scratch,
                               struct pgcdc_datum *out, char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    double x1, y1, x2, y2, fx = 0, fy = 0, lx = 0, ly = 0;
    size_t count_at;
    uint32_t n;
    char close;
    int rc = 0;

    out->kind = PGCDC_DATUM_STRUCT;
    out->off = scratch->len;
    switch (conv) {
    case CONV_POINT:
        if (!read_point(&p, end, &x1, &y1))
            goto bad;
        out->u.geo.shape = SHAPE_POINT;
        out->u.geo.v[0] = x1;
        out->u.geo.v[1] = y1;
        rc = put_wkb_point(scratch, x1, y1);
        break;
    case CONV_LINE:
        if (!expect_char(&p, end, '{') || !read_coord(&p, end, &out->u.geo.v[0]) ||
            !expect_char(&p, end, ',') || !read_coord(&p, end, &out->u.geo.v[1]) ||
            !expect_char(&p, end, ',') || !read_coord(&p, end, &out->u.geo.v[2]) ||
            !expect_char(&p, end, '}'))
            goto bad;
        out->u.geo.shape = SHAPE_LINE;
        break;
    case CONV_CIRCLE:
        if (!expect_char(&p, end, '<') || !read_point(&p, end, &x1, &y1) ||
            !expect_char(&p, end, ',') || !read_coord(&p, end, &out->u.geo.v[2]) ||
            !expect_char(&p, end, '>'))
            goto bad;
        out->u.geo.shape = SHAPE_CIRCLE;
        out->u.geo.v[0] = x1;
        out->u.geo.v[1] = y1;
        rc = put_wkb_point(scratch, x1, y1); /* the centre's */
        break;
    case CONV_BOX:
        if (!read_point(&p, end, &x1, &y1) || !expect_char(&p, end, ',') ||
            !read_point(&p, end, &x2, &y2))
            goto bad;
        /* Debezium's ring: (x1,y1) (x1,y2) (x2,y2) (x2,y1) (x1,y1). */
        out->u.geo.shape = SHAPE_BOX;
        if (pgcdc_buf_append_char(scratch, 1) || put_u32le(scratch, WKB_POLYGON) ||
            put_u32le(scratch, 1) || put_u32le(scratch, 5) || put_f64le(scratch, x1) ||
            put_f64le(scratch, y1) || put_f64le(scratch, x1) || put_f64le(scratch, y2) ||
            put_f64le(scratch, x2) || put_f64le(scratch, y2) || put_f64le(scratch, x2) ||
            put_f64le(scratch, y1) || put_f64le(scratch, x1) || put_f64le(scratch, y1))
            rc = -ENOMEM;
        break;
    case CONV_LSEG:
    case CONV_PATH:
        if (expect_char(&p, end, '[')) {
            close = ']';
            out->u.geo.shape = conv == CONV_LSEG ? SHAPE_LSEG : SHAPE_PATH_OPEN;
        } else if (conv == CONV_PATH && expect_char(&p, end, '(')) {
            close = ')';
            out->u.geo.shape = SHAPE_PATH_CLOSED;
        } else {
            goto bad;
        }
        if (pgcdc_buf_append_char(scratch, 1) || put_u32le(scratch, WKB_LINESTRING))
            return -ENOMEM;
        count_at = scratch->len;
        if (put_u32le(scratch, 0))
            return -ENOMEM;
        rc = put_point_list(&p, end, close, scratch, &n, &fx, &fy, &lx, &ly);
        if (rc == -EINVAL || (conv == CONV_LSEG && n != 2))
            goto bad;
        if (rc == 0)
            patch_u32le(scratch, count_at, n);
        break;
    case CONV_POLYGON:
        if (!expect_char(&p, end, '('))
            goto bad;
        out->u.geo.shape = SHAPE_POLYGON;
        if (pgcdc_buf_append_char(scratch, 1) || put_u32le(scratch, WKB_POLYGON) ||
            put_u32le(scratch, 1))
            return -ENOMEM;
        count_at = scratch->len;
        if (put_u32le(scratch, 0))
            return -ENOMEM;
        rc = put_point_list(&p, end, ')', scratch, &n, &fx, &fy, &lx, &ly);
        if (rc == -EINVAL)
            goto bad;
        /* Debezium closes the ring unless it is closed already. */
        if (rc == 0 && n >= 2 && (fx != lx || fy != ly)) {
            if (put_f64le(scratch, fx) || put_f64le(scratch, fy))
                return -ENOMEM;
            n++;
        }
        if (rc == 0)
            patch_u32le(scratch, count_at, n);
        break;
    default:
        goto bad;
    }
    if (rc < 0)
        return rc;
    while (p < end && *p == ' ')
        p++;
    if (p != end)
        goto bad;
    out->len = scratch->len - out->off;
    if (out->u.geo.shape == SHAPE_PATH_OPEN || out->u.geo.shape == SHAPE_PATH_CLOSED)
        out->u.geo.count = 2;
    else
        out->u.geo.count = 1;
    return 0;
bad:
    return pgcdc_types_fail(-EINVAL, err, errlen, "invalid geometric value", text, len);
}

/* PostGIS's EWKB geometry type flag: a 4-byte SRID follows the type. */
#define EWKB_SRID_FLAG UINT32_C(0x20000000)

/* The 32-bit word at b in the byte order of an EWKB's first byte (0
 * big-endian, else little-endian). */
static uint32_t ewkb_u32(const unsigned char *b, unsigned char order)
{
    if (order != 0)
        return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
               (uint32_t)b[3] << 24;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/*
 * PostGIS geometry / geography text output (hex EWKB) -> the EWKB bytes in
 * scratch and the SRID, read as Debezium's PostgisGeometry does: byte 0 is
 * the byte order (0 big-endian, else little-endian), then the 32-bit type,
 * then the SRID when the type has EWKB_SRID_FLAG. Fewer than 9 bytes are
 * invalid (Debezium rejects them too).
 */
int pgcdc_types_conv_ewkb(const char *text, size_t len, struct pgcdc_buf *scratch,
                          struct pgcdc_datum *out, char *err, size_t errlen)
{
    unsigned char *dst;
    size_t n = len / 2;
    int rc;

    if (len % 2 != 0 || n < 9)
        return pgcdc_types_fail(-EINVAL, err, errlen, "invalid geometry (expected hex EWKB)",
                                text, len);
    rc = pgcdc_buf_reserve(scratch, n);
    if (rc < 0)
        return rc;
    dst = (unsigned char *)scratch->data + scratch->len;
    if (pgcdc_types_unhex(text, len, dst) < 0)
        return pgcdc_types_fail(-EINVAL, err, errlen, "invalid geometry (expected hex EWKB)",
                                text, len);
    out->kind = PGCDC_DATUM_STRUCT;
    out->u.geo.shape = SHAPE_EWKB;
    if (ewkb_u32(dst + 1, dst[0]) & EWKB_SRID_FLAG) {
        if (n < 9 + 4)
            return pgcdc_types_fail(-EINVAL, err, errlen,
                                    "invalid geometry (EWKB without its SRID)", text, len);
        out->u.geo.shape = SHAPE_EWKB_SRID;
        out->u.geo.srid = (int32_t)ewkb_u32(dst + 5, dst[0]);
    }
    pgcdc_types_take_scratch(scratch, n, out);
    return 0;
}

/* The WKB (or EWKB) bytes of a geometric datum d as a BYTES field. */
static void wkb_field(const struct pgcdc_datum *d, struct pgcdc_datum *out)
{
    out->kind = PGCDC_DATUM_BYTES;
    out->ptr = d->ptr;
    out->off = d->off;
    out->len = d->len;
}

int pgcdc_types_struct_field(const struct pgcdc_datum *d, int i, struct pgcdc_datum *out)
{
    int shape = d->u.geo.shape;

    if (d->kind == PGCDC_DATUM_VSD)
        return pgcdc_types_vsd_field(d, i, out);
    memset(out, 0, sizeof(*out));
    if (d->kind != PGCDC_DATUM_STRUCT)
        return -EINVAL;
    switch (shape) {
    case SHAPE_POINT:
        if (i < 0 || i > 3)
            return -EINVAL;
        if (i < 2) {
            out->kind = PGCDC_DATUM_FLOAT;
            out->u.f = d->u.geo.v[i];
        } else if (i == 2) {
            wkb_field(d, out);
        } /* srid: null */
        return 0;
    case SHAPE_LINE:
        if (i < 0 || i > 2)
            return -EINVAL;
        out->kind = PGCDC_DATUM_FLOAT;
        out->u.f = d->u.geo.v[i];
        return 0;
    case SHAPE_CIRCLE:
        if (i == 0) {
            *out = *d;
            out->u.geo.shape = SHAPE_POINT;
            return 0;
        }
        if (i != 1)
            return -EINVAL;
        out->kind = PGCDC_DATUM_FLOAT;
        out->u.f = d->u.geo.v[2];
        return 0;
    case SHAPE_BOX:
    case SHAPE_LSEG:
    case SHAPE_PATH_OPEN:
    case SHAPE_PATH_CLOSED:
    case SHAPE_POLYGON:
        if (i == 0) {
            wkb_field(d, out);
        } else if (i == 2) {
            out->kind = PGCDC_DATUM_MAP;
            out->u.geo.shape = shape;
            out->u.geo.count = d->u.geo.count;
        } else if (i != 1) {
            return -EINVAL;
        } /* srid: null */
        return 0;
    case SHAPE_EWKB:
    case SHAPE_EWKB_SRID:
        /* wkb, srid, and (Geometry only) extensions, which PostGIS values
         * leave null. */
        if (i == 0) {
            wkb_field(d, out);
        } else if (i == 1) {
            if (shape == SHAPE_EWKB_SRID) {
                out->kind = PGCDC_DATUM_INT;
                out->u.i = d->u.geo.srid;
            }
        } else if (i != 2) {
            return -EINVAL;
        }
        return 0;
    default:
        return -EINVAL;
    }
}

int pgcdc_types_map_entry(const struct pgcdc_datum *d, uint32_t i, const char **key,
                          const char **value)
{
    static const char *const type_names[] = {
        [SHAPE_BOX] = "box",          [SHAPE_LSEG] = "lseg",       [SHAPE_PATH_OPEN] = "path",
        [SHAPE_PATH_CLOSED] = "path", [SHAPE_POLYGON] = "polygon",
    };
    int shape = d->u.geo.shape;

    if (d->kind != PGCDC_DATUM_MAP || i >= d->u.geo.count || shape < SHAPE_BOX ||
        shape > SHAPE_POLYGON)
        return -EINVAL;
    /* Debezium's order: type, then closed (a LinkedHashMap for paths). */
    if (i == 0) {
        *key = "type";
        *value = type_names[shape];
    } else {
        *key = "closed";
        *value = shape == SHAPE_PATH_CLOSED ? "true" : "false";
    }
    return 0;
}

