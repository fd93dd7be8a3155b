/*
 * types_impl.h - what the files of the type mapping share (private to
 * src/model/types_*.c; the API is include/pgcdc/types.h).
 *
 * The mapping (types_map.c for built-in types, types_catalog.c for those
 * the catalog describes) chooses a converter id per column; the value
 * converters live by family: types_convert.c (the dispatcher, booleans,
 * integers, floats, strings, bytea, bit strings, unavailable values),
 * types_datetime.c, types_numeric.c, types_geometric.c (with PostGIS),
 * types_hstore.c and types_array.c.
 */
#ifndef PGCDC_TYPES_IMPL_H
#define PGCDC_TYPES_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pgcdc/buf.h"
#include "pgcdc/types.h"

/* Built-in pg_type oids (catalog/pg_type.dat). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_CHAR = 18,
    OID_NAME = 19,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_OID = 26,
    OID_JSON = 114,
    OID_XML = 142,
    OID_XML_ARRAY = 143,
    OID_JSON_ARRAY = 199,
    OID_POINT = 600,
    OID_LSEG = 601,
    OID_PATH = 602,
    OID_BOX = 603,
    OID_POLYGON = 604,
    OID_LINE = 628,
    OID_CIDR = 650,
    OID_CIDR_ARRAY = 651,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_CIRCLE = 718,
    OID_MACADDR8 = 774,
    OID_MACADDR8_ARRAY = 775,
    OID_MONEY = 790,
    OID_MONEY_ARRAY = 791,
    OID_MACADDR = 829,
    OID_INET = 869,
    OID_BOOL_ARRAY = 1000,
    OID_BYTEA_ARRAY = 1001,
    OID_CHAR_ARRAY = 1002,
    OID_NAME_ARRAY = 1003,
    OID_INT2_ARRAY = 1005,
    OID_INT4_ARRAY = 1007,
    OID_TEXT_ARRAY = 1009,
    OID_BPCHAR_ARRAY = 1014,
    OID_VARCHAR_ARRAY = 1015,
    OID_INT8_ARRAY = 1016,
    OID_POINT_ARRAY = 1017,
    OID_FLOAT4_ARRAY = 1021,
    OID_FLOAT8_ARRAY = 1022,
    OID_OID_ARRAY = 1028,
    OID_MACADDR_ARRAY = 1040,
    OID_INET_ARRAY = 1041,
    OID_BPCHAR = 1042,
    OID_VARCHAR = 1043,
    OID_DATE = 1082,
    OID_TIME = 1083,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMP_ARRAY = 1115,
    OID_DATE_ARRAY = 1182,
    OID_TIME_ARRAY = 1183,
    OID_TIMESTAMPTZ = 1184,
    OID_TIMESTAMPTZ_ARRAY = 1185,
    OID_INTERVAL = 1186,
    OID_INTERVAL_ARRAY = 1187,
    OID_NUMERIC_ARRAY = 1231,
    OID_TIMETZ = 1266,
    OID_TIMETZ_ARRAY = 1270,
    OID_BIT = 1560,
    OID_BIT_ARRAY = 1561,
    OID_VARBIT = 1562,
    OID_VARBIT_ARRAY = 1563,
    OID_NUMERIC = 1700,
    OID_REFCURSOR_ARRAY = 2201,
    OID_UUID = 2950,
    OID_UUID_ARRAY = 2951,
    OID_JSONB = 3802,
    OID_JSONB_ARRAY = 3807,
    OID_INT4RANGE = 3904,
    OID_INT4RANGE_ARRAY = 3905,
    OID_NUMRANGE = 3906,
    OID_NUMRANGE_ARRAY = 3907,
    OID_TSRANGE = 3908,
    OID_TSRANGE_ARRAY = 3909,
    OID_TSTZRANGE = 3910,
    OID_TSTZRANGE_ARRAY = 3911,
    OID_DATERANGE = 3912,
    OID_DATERANGE_ARRAY = 3913,
    OID_INT8RANGE = 3926,
    OID_INT8RANGE_ARRAY = 3927,
    OID_TSVECTOR = 3614,
};

/* Converter ids (struct pgcdc_typemap.conv). */
enum conv {
    CONV_NONE,
    CONV_BOOL,        /* 't' / 'f' */
    CONV_INT16,       /* int2 */
    CONV_INT32,       /* int4 */
    CONV_INT64,       /* int8 */
    CONV_OID,         /* unsigned 32-bit as INT64 */
    CONV_FLOAT32,     /* float4 */
    CONV_FLOAT64,     /* float8 */
    CONV_DECIMAL,     /* numeric(p,s) -> unscaled bytes at scale s */
    CONV_VSD,         /* numeric -> {scale, unscaled bytes} */
    CONV_MONEY,       /* money -> unscaled bytes at scale 2 */
    CONV_STRING,      /* text as is */
    CONV_BYTEA,       /* '\x..' hex -> bytes */
    CONV_RAW_BYTES,   /* unknown type: the text's bytes */
    CONV_DATE,        /* days since 1970-01-01 */
    CONV_TIME_MILLIS, /* ms past midnight */
    CONV_TIME_MICROS, /* us past midnight */
    CONV_TS_MILLIS,   /* ms since epoch */
    CONV_TS_MICROS,   /* us since epoch */
    CONV_TIMESTAMPTZ, /* ISO-8601 UTC string */
    CONV_TIMETZ,      /* ISO-8601 UTC time string */
    CONV_INTERVAL,    /* MicroDuration */
    CONV_BIT_BOOL,    /* bit(1) */
    CONV_BITS,        /* bit(n>1) / varbit -> little-endian bytes */
    CONV_ARRAY,       /* one-dimensional array */
    CONV_HSTORE,      /* hstore text -> JSON object text */
    CONV_POINT,       /* (x,y) -> Point struct */
    CONV_LINE,        /* {a,b,c} -> Line struct */
    CONV_CIRCLE,      /* <(x,y),r> -> Circle struct */
    CONV_BOX,         /* (x1,y1),(x2,y2) -> Geometry (Polygon WKB) */
    CONV_LSEG,        /* [(x1,y1),(x2,y2)] -> Geometry (LineString WKB) */
    CONV_PATH,        /* [(..),..] open or ((..),..) closed -> Geometry (LineString WKB) */
    CONV_POLYGON,     /* ((..),..) -> Geometry (Polygon WKB, ring closed) */
    CONV_EWKB,        /* PostGIS hex EWKB -> Geometry / Geography {EWKB, SRID} */
    CONV_DECIMAL_DOUBLE,   /* numeric -> double (decimal.handling.mode=double) */
    CONV_DECIMAL_STRING,   /* numeric -> plain text (decimal.handling.mode=string) */
    CONV_MONEY_DOUBLE,     /* money -> double */
    CONV_MONEY_STRING,     /* money -> plain text without symbol or separators */
    CONV_BYTEA_BASE64,     /* bytea -> base64 string (binary.handling.mode=base64) */
    CONV_BYTEA_BASE64_URL, /* bytea -> URL-safe base64 string */
    CONV_BYTEA_HEX,        /* bytea -> lower-case hex string */
    CONV_RAW_BASE64,       /* unknown type: its text's bytes as base64 */
    CONV_RAW_BASE64_URL,   /* ... as URL-safe base64 */
    CONV_RAW_HEX,          /* ... as hex */
    CONV_INTERVAL_STRING,  /* interval -> ISO 8601 "PnYnMnDTnHnMnS" */
    CONV_HSTORE_MAP,       /* hstore -> map (hstore.handling.mode=map) */
};

/* Geometric shapes (struct pgcdc_datum u.geo.shape). */
enum {
    SHAPE_NONE,
    SHAPE_POINT,
    SHAPE_LINE,
    SHAPE_CIRCLE,
    SHAPE_BOX,
    SHAPE_LSEG,
    SHAPE_PATH_OPEN,
    SHAPE_PATH_CLOSED,
    SHAPE_POLYGON,
    SHAPE_EWKB,     /* PostGIS geometry / geography without an SRID */
    SHAPE_EWKB_SRID /* PostGIS geometry / geography with u.geo.srid */
};

/* Which unavailable-value placeholder an array column gets. */
enum { PH_NONE, PH_TEXT, PH_INTS };

static inline bool pgcdc_types_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The len bytes at text are exactly the NUL-terminated lit. */
static inline bool pgcdc_types_eq_text(const char *text, size_t len, const char *lit)
{
    size_t n = strlen(lit);

    return len == n && memcmp(text, lit, n) == 0;
}

/* Writes "<what>: '<value>'" into err, with the value cut at 64 bytes and
 * anything unprintable shown as '?'. Returns rc. */
int pgcdc_types_fail(int rc, char *err, size_t errlen, const char *what, const char *text,
                     size_t len);

/* A decimal int64 with optional sign, all of text. */
bool pgcdc_types_parse_int64(const char *text, size_t len, int64_t *out /* OUT */);

/* Decodes len hex digits (an even number) from src into dst, which may
 * equal src: decoding only ever writes behind where it reads. Returns the
 * bytes written, or -1 for an odd length or a non-hex digit. */
long pgcdc_types_unhex(const char *src, size_t len, unsigned char *dst /* OUT */);

/* Decodes bytea's "\x<hex>" format from src into dst (same rules as
 * pgcdc_types_unhex). Returns bytes or -1. */
long pgcdc_types_decode_bytea_hex(const char *src, size_t len, unsigned char *dst /* OUT */);

/* Makes the n bytes written past scratch->len (room reserved by the caller)
 * out's data: out->ptr NULL, out->off and out->len set, scratch extended
 * and kept NUL-terminated. */
static inline void pgcdc_types_take_scratch(struct pgcdc_buf *scratch, size_t n,
                                            struct pgcdc_datum *out /* OUT */)
{
    out->ptr = NULL;
    out->off = scratch->len;
    out->len = n;
    scratch->len += n;
    scratch->data[scratch->len] = '\0';
}

/* Converts one value with converter conv (a column's or an array
 * element's, schema s) as pgcdc_types_convert does. */
int pgcdc_types_convert_with(const struct pgcdc_typemap *tm, int conv,
                             const struct pgcdc_schema *s, const char *text, size_t len,
                             struct pgcdc_buf *scratch, struct pgcdc_datum *out /* OUT */,
                             char *err, size_t errlen);

/* types_map.c: an empty schema of ctype, with no name. */
void pgcdc_types_schema_plain(struct pgcdc_schema *s /* OUT */, enum pgcdc_ctype ctype);

/* types_map.c: an empty schema of ctype named name, version 1. */
void pgcdc_types_schema_named(struct pgcdc_schema *s /* OUT */, enum pgcdc_ctype ctype,
                              const char *name);

/* types_map.c: io.debezium.data.geometry.Geometry and .Geography. */
extern const struct pgcdc_schema pgcdc_types_geometry_schema;
extern const struct pgcdc_schema pgcdc_types_geography_schema;

/* types_map.c: binary.handling.mode applied to a column mapped to
 * CONV_BYTEA or CONV_RAW_BYTES: bytes stay as they are, the other modes
 * make it a plain string with the matching converter. */
void pgcdc_types_binary_mode(enum pgcdc_binary_mode mode, struct pgcdc_schema *s /* IN/OUT */,
                             int *conv /* IN/OUT */);

/* types_map.c: a type Debezium does not know, named label in messages:
 * -ENOTSUP with a message, or with include_unknown its text as bytes (0). */
int pgcdc_types_map_unknown(bool include_unknown, const char *label,
                            struct pgcdc_typemap *out /* OUT */, char *err, size_t errlen);

/* types_map.c: the element type of the array types Debezium converts; 0
 * for an array type it has no schema for (*is_array set) and for a
 * non-array type (*is_array cleared). */
uint32_t pgcdc_types_array_element(uint32_t oid, bool *is_array /* OUT */);

/* types_datetime.c: CONV_DATE, CONV_TIME_*, CONV_TS_*, CONV_TIMESTAMPTZ,
 * CONV_TIMETZ and CONV_INTERVAL. */
int pgcdc_types_conv_datetime(const struct pgcdc_typemap *tm, int conv, const char *text,
                              size_t len, struct pgcdc_buf *scratch,
                              struct pgcdc_datum *out /* OUT */, char *err, size_t errlen);

/* types_numeric.c: numeric as Decimal (schema s) or, when variable, as
 * VariableScaleDecimal. */
int pgcdc_types_conv_decimal(const struct pgcdc_schema *s, bool variable, const char *text,
                             size_t len, struct pgcdc_buf *scratch,
                             struct pgcdc_datum *out /* OUT */, char *err, size_t errlen);

/* types_numeric.c: money as a Decimal of scale digits (extra digits
 * rounded half up). */
int pgcdc_types_conv_money(int digits, const char *text, size_t len, struct pgcdc_buf *scratch,
                           struct pgcdc_datum *out /* OUT */, char *err, size_t errlen);

/* types_numeric.c: numeric (CONV_DECIMAL_DOUBLE / _STRING) or money
 * (CONV_MONEY_DOUBLE / _STRING) as a double or as plain decimal text. */
int pgcdc_types_conv_decimal_text(int conv, const char *text, size_t len,
                                  struct pgcdc_buf *scratch, struct pgcdc_datum *out /* OUT */,
                                  char *err, size_t errlen);

/* types_convert.c: bytes as base64 (url: the URL-safe alphabet), padded,
 * or as lower-case hex (hex set), appended to scratch as a STRING datum. */
int pgcdc_types_encode_binary(const unsigned char *p, size_t n, int conv,
                              struct pgcdc_buf *scratch, struct pgcdc_datum *out /* OUT */);

/* types_numeric.c: field i of a VSD datum (scale, then value). Returns 0 or
 * -EINVAL. */
int pgcdc_types_vsd_field(const struct pgcdc_datum *d, int i, struct pgcdc_datum *out /* OUT */);

/* types_geometric.c: the built-in geometric types (CONV_POINT .. CONV_POLYGON). */
int pgcdc_types_conv_geometric(int conv, const char *text, size_t len, struct pgcdc_buf *scratch,
                               struct pgcdc_datum *out /* OUT */, char *err, size_t errlen);

/* types_geometric.c: PostGIS geometry / geography (hex EWKB). */
int pgcdc_types_conv_ewkb(const char *text, size_t len, struct pgcdc_buf *scratch,
                          struct pgcdc_datum *out /* OUT */, char *err, size_t errlen);

/* types_hstore.c: hstore as Debezium's JSON object text, or (as_map) as a
 * MAP datum whose entries pgcdc_types_map_entry_in() reads. */
int pgcdc_types_conv_hstore(const char *text, size_t len, bool as_map, struct pgcdc_buf *scratch,
                            struct pgcdc_datum *out /* OUT */, char *err, size_t errlen);

/* types_array.c: validates and counts a one-dimensional array literal of
 * a column mapped to CONV_ARRAY; elements are converted while iterating. */
int pgcdc_types_conv_array(const struct pgcdc_typemap *tm, const char *text, size_t len,
                           struct pgcdc_datum *out /* OUT */, char *err, size_t errlen);

#endif
