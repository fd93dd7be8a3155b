/*
 * types.c - PostgreSQL text values to Debezium's Kafka Connect representation.
 *
 * Mapping (see docs/types.md for the table): pgcdc_types_map() chooses a
 * converter per column from its type oid and typmod, the same way Debezium's
 * PostgresValueConverter does with the precision and scale pgjdbc derives
 * from the typmod. pgcdc_types_convert() parses the type's text output
 * (pgoutput without the binary option) by hand:
 *
 *  - numeric text -> exact big integer (base 2^32 limbs, kept in scratch)
 *    -> minimal big-endian two's complement bytes, as Java's
 *    BigInteger.toByteArray() writes the unscaled value of a BigDecimal;
 *  - dates and timestamps -> proleptic Gregorian day numbers (BC years are
 *    1 - year), so any year PostgreSQL can print converts exactly;
 *  - timestamptz -> ISO-8601 in UTC the way java.time prints it;
 *  - interval -> Debezium's MicroDuration formula, in the same double
 *    arithmetic (30.4375-day months) so rounding matches bit for bit;
 *  - arrays -> the one-dimensional array literal is validated and counted
 *    at convert time and its elements converted on demand while iterating;
 *  - geometric types -> coordinates parsed into the datum, plus the
 *    little-endian WKB Debezium derives from them (point, and for box, lseg,
 *    path and polygon a Polygon or LineString) in scratch;
 *  - hstore -> the JSON object text Debezium writes with Jackson from
 *    pgjdbc's HashMap, so keys come in Java HashMap iteration order;
 *  - PostGIS geometry / geography -> their text output is hex-encoded EWKB
 *    (PostGIS's "extended" WKB: bit 0x20000000 of the geometry type says
 *    that a 4-byte SRID follows it); Debezium keeps the EWKB bytes as they
 *    are in `wkb` and puts that SRID, or null, in `srid`. Arrays of them
 *    separate elements with ':' (the types' typdelim), not ','.
 *
 * Types that only the catalog can name (enums, domains, extension types)
 * are mapped by pgcdc_types_map_info() from a struct pgcdc_type_info.
 */
#include "pgcdc/types.h"
#include "pgcdc/hex.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* PostgreSQL's +/-infinity timestamps as pgjdbc's PGStatement constants. */
#define PG_TS_POS_INFINITY_US INT64_C(9223372036825200000)
#define PG_TS_NEG_INFINITY_US INT64_C(-9223372036832400000)

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY INT64_C(86400000000)

/* ---------------------------------------------------------------------- */
/* names and errors                                                        */

static const struct {
    uint32_t oid;
    const char *name;
} pg_names[] = {
    {OID_BOOL, "bool"},
    {OID_BYTEA, "bytea"},
    {OID_CHAR, "char"},
    {OID_NAME, "name"},
    {OID_INT8, "int8"},
    {OID_INT2, "int2"},
    {OID_INT4, "int4"},
    {OID_TEXT, "text"},
    {OID_OID, "oid"},
    {OID_JSON, "json"},
    {OID_XML, "xml"},
    {OID_XML_ARRAY, "_xml"},
    {OID_JSON_ARRAY, "_json"},
    {OID_POINT, "point"},
    {OID_LSEG, "lseg"},
    {OID_PATH, "path"},
    {OID_BOX, "box"},
    {OID_POLYGON, "polygon"},
    {OID_LINE, "line"},
    {OID_CIDR, "cidr"},
    {OID_CIDR_ARRAY, "_cidr"},
    {OID_FLOAT4, "float4"},
    {OID_FLOAT8, "float8"},
    {OID_CIRCLE, "circle"},
    {OID_MACADDR8, "macaddr8"},
    {OID_MACADDR8_ARRAY, "_macaddr8"},
    {OID_MONEY, "money"},
    {OID_MONEY_ARRAY, "_money"},
    {OID_MACADDR, "macaddr"},
    {OID_INET, "inet"},
    {OID_BOOL_ARRAY, "_bool"},
    {OID_BYTEA_ARRAY, "_bytea"},
    {OID_CHAR_ARRAY, "_char"},
    {OID_NAME_ARRAY, "_name"},
    {OID_INT2_ARRAY, "_int2"},
    {OID_INT4_ARRAY, "_int4"},
    {OID_TEXT_ARRAY, "_text"},
    {OID_BPCHAR_ARRAY, "_bpchar"},
    {OID_VARCHAR_ARRAY, "_varchar"},
    {OID_INT8_ARRAY, "_int8"},
    {OID_POINT_ARRAY, "_point"},
    {OID_FLOAT4_ARRAY, "_float4"},
    {OID_FLOAT8_ARRAY, "_float8"},
    {OID_OID_ARRAY, "_oid"},
    {OID_MACADDR_ARRAY, "_macaddr"},
    {OID_INET_ARRAY, "_inet"},
    {OID_BPCHAR, "bpchar"},
    {OID_VARCHAR, "varchar"},
    {OID_DATE, "date"},
    {OID_TIME, "time"},
    {OID_TIMESTAMP, "timestamp"},
    {OID_TIMESTAMP_ARRAY, "_timestamp"},
    {OID_DATE_ARRAY, "_date"},
    {OID_TIME_ARRAY, "_time"},
    {OID_TIMESTAMPTZ, "timestamptz"},
    {OID_TIMESTAMPTZ_ARRAY, "_timestamptz"},
    {OID_INTERVAL, "interval"},
    {OID_INTERVAL_ARRAY, "_interval"},
    {OID_NUMERIC_ARRAY, "_numeric"},
    {OID_TIMETZ, "timetz"},
    {OID_TIMETZ_ARRAY, "_timetz"},
    {OID_BIT, "bit"},
    {OID_BIT_ARRAY, "_bit"},
    {OID_VARBIT, "varbit"},
    {OID_VARBIT_ARRAY, "_varbit"},
    {OID_NUMERIC, "numeric"},
    {OID_REFCURSOR_ARRAY, "_refcursor"},
    {OID_UUID, "uuid"},
    {OID_UUID_ARRAY, "_uuid"},
    {OID_JSONB, "jsonb"},
    {OID_JSONB_ARRAY, "_jsonb"},
    {OID_INT4RANGE, "int4range"},
    {OID_INT4RANGE_ARRAY, "_int4range"},
    {OID_NUMRANGE, "numrange"},
    {OID_NUMRANGE_ARRAY, "_numrange"},
    {OID_TSRANGE, "tsrange"},
    {OID_TSRANGE_ARRAY, "_tsrange"},
    {OID_TSTZRANGE, "tstzrange"},
    {OID_TSTZRANGE_ARRAY, "_tstzrange"},
    {OID_DATERANGE, "daterange"},
    {OID_DATERANGE_ARRAY, "_daterange"},
    {OID_INT8RANGE, "int8range"},
    {OID_INT8RANGE_ARRAY, "_int8range"},
    {OID_TSVECTOR, "tsvector"},
    {3220, "pg_lsn"},
    {3615, "tsquery"},
};

const char *pgcdc_types_pg_name(uint32_t type_oid)
{
    size_t i;

    for (i = 0; i < sizeof(pg_names) / sizeof(pg_names[0]); i++)
        if (pg_names[i].oid == type_oid)
            return pg_names[i].name;
    return NULL;
}

/* Writes "<what>: '<value>'" into err, with the value cut at 64 bytes and
 * anything unprintable shown as '?'. Returns rc. */
static int fail(int rc, char *err, size_t errlen, const char *what, const char *text, size_t len)
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

static const char *type_label(uint32_t oid)
{
    const char *n = pgcdc_types_pg_name(oid);

    return n != NULL ? n : "unknown type";
}

/* ---------------------------------------------------------------------- */
/* mapping                                                                 */

static void schema_plain(struct pgcdc_schema *s, enum pgcdc_ctype ctype)
{
    memset(s, 0, sizeof(*s));
    s->ctype = ctype;
}

static void schema_named(struct pgcdc_schema *s, enum pgcdc_ctype ctype, const char *name)
{
    schema_plain(s, ctype);
    s->name = name;
    s->version = 1;
}

static void schema_param(struct pgcdc_schema *s, const char *key, long long value)
{
    struct pgcdc_schema_param *p = &s->params[s->nparams++];

    p->key = key;
    snprintf(p->value, sizeof(p->value), "%lld", value);
}

static void schema_decimal(struct pgcdc_schema *s, int32_t scale, int32_t precision)
{
    schema_named(s, PGCDC_CTYPE_BYTES, "org.apache.kafka.connect.data.Decimal");
    s->scale = scale;
    s->precision = precision;
    schema_param(s, "scale", scale);
    if (precision > 0)
        schema_param(s, "connect.decimal.precision", precision);
}

static void schema_param_text(struct pgcdc_schema *s, const char *key, const char *text)
{
    struct pgcdc_schema_param *p = &s->params[s->nparams++];

    p->key = key;
    p->value[0] = '\0';
    p->text = text;
}

/* Static schemas of Debezium's structs (io.debezium.data.*). */
static const struct pgcdc_schema s_int32 = {.ctype = PGCDC_CTYPE_INT32};
static const struct pgcdc_schema s_double = {.ctype = PGCDC_CTYPE_FLOAT64};
static const struct pgcdc_schema s_bytes = {.ctype = PGCDC_CTYPE_BYTES};
static const struct pgcdc_schema s_string = {.ctype = PGCDC_CTYPE_STRING};
static const struct pgcdc_schema s_extensions = {.ctype = PGCDC_CTYPE_MAP, .values = &s_string};

static const struct pgcdc_field vsd_fields[] = {
    {"scale", &s_int32, false},
    {"value", &s_bytes, false},
};
static const struct pgcdc_schema s_vsd = {
    .ctype = PGCDC_CTYPE_STRUCT,
    .name = "io.debezium.data.VariableScaleDecimal",
    .version = 1,
    .doc = "Variable scaled decimal",
    .nfields = 2,
    .fields = vsd_fields,
};

static const struct pgcdc_field point_fields[] = {
    {"x", &s_double, false},
    {"y", &s_double, false},
    {"wkb", &s_bytes, true},
    {"srid", &s_int32, true},
};
static const struct pgcdc_schema s_point = {
    .ctype = PGCDC_CTYPE_STRUCT,
    .name = "io.debezium.data.geometry.Point",
    .version = 1,
    .doc = "Geometry (POINT)",
    .nfields = 4,
    .fields = point_fields,
};

static const struct pgcdc_field circle_fields[] = {
    {"center", &s_point, false},
    {"radius", &s_double, false},
};
static const struct pgcdc_schema s_circle = {
    .ctype = PGCDC_CTYPE_STRUCT,
    .name = "io.debezium.data.geometry.Circle",
    .version = 1,
    .doc = "Geometry (CIRCLE)",
    .nfields = 2,
    .fields = circle_fields,
};

static const struct pgcdc_field line_fields[] = {
    {"a", &s_double, false},
    {"b", &s_double, false},
    {"c", &s_double, false},
};
static const struct pgcdc_schema s_line = {
    .ctype = PGCDC_CTYPE_STRUCT,
    .name = "io.debezium.data.geometry.Line",
    .version = 1,
    .doc = "Geometry (LINE)",
    .nfields = 3,
    .fields = line_fields,
};

static const struct pgcdc_field geometry_fields[] = {
    {"wkb", &s_bytes, false},
    {"srid", &s_int32, true},
    {"extensions", &s_extensions, true},
};
static const struct pgcdc_schema s_geometry = {
    .ctype = PGCDC_CTYPE_STRUCT,
    .name = "io.debezium.data.geometry.Geometry",
    .version = 2,
    .doc = "Geometry",
    .nfields = 3,
    .fields = geometry_fields,
};

/* PostGIS geography: like Geometry but version 1 and no extensions. */
static const struct pgcdc_field geography_fields[] = {
    {"wkb", &s_bytes, false},
    {"srid", &s_int32, true},
};
static const struct pgcdc_schema s_geography = {
    .ctype = PGCDC_CTYPE_STRUCT,
    .name = "io.debezium.data.geometry.Geography",
    .version = 1,
    .doc = "Geography",
    .nfields = 2,
    .fields = geography_fields,
};

/* Fractional second digits of time/timestamp types: pgjdbc's getScale(). */
static int32_t time_precision(int32_t typmod)
{
    return typmod < 0 ? 6 : typmod;
}

/*
 * Maps a non-array type. Returns 0, or 1 for a type Debezium does not know
 * (left to include.unknown.datatypes).
 */
static int map_scalar(uint32_t oid, int32_t typmod, struct pgcdc_schema *s, int *conv,
                      int32_t *precision)
{
    int32_t p;

    *precision = 0;
    switch (oid) {
    case OID_BOOL:
        schema_plain(s, PGCDC_CTYPE_BOOLEAN);
        *conv = CONV_BOOL;
        return 0;
    case OID_INT2:
        schema_plain(s, PGCDC_CTYPE_INT16);
        *conv = CONV_INT16;
        return 0;
    case OID_INT4:
        schema_plain(s, PGCDC_CTYPE_INT32);
        *conv = CONV_INT32;
        return 0;
    case OID_INT8:
        schema_plain(s, PGCDC_CTYPE_INT64);
        *conv = CONV_INT64;
        return 0;
    case OID_OID:
        schema_plain(s, PGCDC_CTYPE_INT64);
        *conv = CONV_OID;
        return 0;
    case OID_FLOAT4:
        schema_plain(s, PGCDC_CTYPE_FLOAT32);
        *conv = CONV_FLOAT32;
        return 0;
    case OID_FLOAT8:
        schema_plain(s, PGCDC_CTYPE_FLOAT64);
        *conv = CONV_FLOAT64;
        return 0;
    case OID_NUMERIC:
        if (typmod < 4) {
            *s = s_vsd;
            *conv = CONV_VSD;
        } else {
            int32_t t = typmod - 4;
            int32_t prec = (t >> 16) & 0xffff;
            /* PostgreSQL 15+ stores the scale in 11 signed bits; a negative
             * scale only rounds to tens, hundreds...: values stay integers. */
            int32_t scale = ((t & 0x7ff) ^ 1024) - 1024;
            schema_decimal(s, scale < 0 ? 0 : scale, prec);
            *conv = CONV_DECIMAL;
        }
        return 0;
    case OID_MONEY:
        schema_decimal(s, 2, 0);
        *conv = CONV_MONEY;
        return 0;
    case OID_TEXT:
    case OID_VARCHAR:
    case OID_BPCHAR:
    case OID_CHAR:
    case OID_NAME:
    case OID_INET:
    case OID_CIDR:
    case OID_MACADDR:
    case OID_MACADDR8:
    case OID_INT4RANGE:
    case OID_INT8RANGE:
    case OID_NUMRANGE:
    case OID_TSRANGE:
    case OID_TSTZRANGE:
    case OID_DATERANGE:
        schema_plain(s, PGCDC_CTYPE_STRING);
        *conv = CONV_STRING;
        return 0;
    case OID_UUID:
        schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.data.Uuid");
        *conv = CONV_STRING;
        return 0;
    case OID_JSON:
    case OID_JSONB:
        schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.data.Json");
        *conv = CONV_STRING;
        return 0;
    case OID_XML:
        schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.data.Xml");
        *conv = CONV_STRING;
        return 0;
    case OID_BYTEA:
        schema_plain(s, PGCDC_CTYPE_BYTES);
        *conv = CONV_BYTEA;
        return 0;
    case OID_DATE:
        schema_named(s, PGCDC_CTYPE_INT32, "io.debezium.time.Date");
        *conv = CONV_DATE;
        return 0;
    case OID_TIME:
        p = time_precision(typmod);
        *precision = p;
        if (p <= 3) {
            schema_named(s, PGCDC_CTYPE_INT32, "io.debezium.time.Time");
            *conv = CONV_TIME_MILLIS;
        } else {
            schema_named(s, PGCDC_CTYPE_INT64, "io.debezium.time.MicroTime");
            *conv = CONV_TIME_MICROS;
        }
        return 0;
    case OID_TIMESTAMP:
        p = time_precision(typmod);
        *precision = p;
        if (p <= 3) {
            schema_named(s, PGCDC_CTYPE_INT64, "io.debezium.time.Timestamp");
            *conv = CONV_TS_MILLIS;
        } else {
            schema_named(s, PGCDC_CTYPE_INT64, "io.debezium.time.MicroTimestamp");
            *conv = CONV_TS_MICROS;
        }
        return 0;
    case OID_TIMESTAMPTZ:
        *precision = time_precision(typmod);
        schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.time.ZonedTimestamp");
        *conv = CONV_TIMESTAMPTZ;
        return 0;
    case OID_TIMETZ:
        *precision = time_precision(typmod);
        schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.time.ZonedTime");
        *conv = CONV_TIMETZ;
        return 0;
    case OID_INTERVAL:
        schema_named(s, PGCDC_CTYPE_INT64, "io.debezium.time.MicroDuration");
        *conv = CONV_INTERVAL;
        return 0;
    case OID_BIT:
    case OID_VARBIT: {
        /* pgjdbc: bit(n) and varbit(n) have length n, unconstrained varbit
         * Integer.MAX_VALUE, a bit without typmod -1. */
        long long length = typmod >= 0 ? typmod : (oid == OID_VARBIT ? 2147483647LL : -1);
        if (length > 1) {
            schema_named(s, PGCDC_CTYPE_BYTES, "io.debezium.data.Bits");
            schema_param(s, "length", length);
            *conv = CONV_BITS;
        } else {
            schema_plain(s, PGCDC_CTYPE_BOOLEAN);
            *conv = CONV_BIT_BOOL;
        }
        return 0;
    }
    case OID_TSVECTOR:
        schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.data.Tsvector");
        *conv = CONV_STRING;
        return 0;
    case OID_POINT:
        *s = s_point;
        *conv = CONV_POINT;
        return 0;
    case OID_LINE:
        *s = s_line;
        *conv = CONV_LINE;
        return 0;
    case OID_CIRCLE:
        *s = s_circle;
        *conv = CONV_CIRCLE;
        return 0;
    case OID_LSEG:
        *s = s_geometry;
        *conv = CONV_LSEG;
        return 0;
    case OID_PATH:
        *s = s_geometry;
        *conv = CONV_PATH;
        return 0;
    case OID_BOX:
        *s = s_geometry;
        *conv = CONV_BOX;
        return 0;
    case OID_POLYGON:
        *s = s_geometry;
        *conv = CONV_POLYGON;
        return 0;
    default:
        return 1;
    }
}

/* Element type of the array types Debezium converts; 0 for an array type it
 * has no schema for, and for a non-array type. */
static uint32_t array_element(uint32_t oid, bool *is_array)
{
    static const uint32_t pairs[][2] = {
        {OID_BOOL_ARRAY, OID_BOOL},
        {OID_BYTEA_ARRAY, OID_BYTEA},
        {OID_CHAR_ARRAY, OID_CHAR},
        {OID_INT2_ARRAY, OID_INT2},
        {OID_INT4_ARRAY, OID_INT4},
        {OID_INT8_ARRAY, OID_INT8},
        {OID_OID_ARRAY, OID_OID},
        {OID_TEXT_ARRAY, OID_TEXT},
        {OID_VARCHAR_ARRAY, OID_VARCHAR},
        {OID_BPCHAR_ARRAY, OID_BPCHAR},
        {OID_FLOAT4_ARRAY, OID_FLOAT4},
        {OID_FLOAT8_ARRAY, OID_FLOAT8},
        {OID_NUMERIC_ARRAY, OID_NUMERIC},
        {OID_DATE_ARRAY, OID_DATE},
        {OID_TIME_ARRAY, OID_TIME},
        {OID_TIMETZ_ARRAY, OID_TIMETZ},
        {OID_TIMESTAMP_ARRAY, OID_TIMESTAMP},
        {OID_TIMESTAMPTZ_ARRAY, OID_TIMESTAMPTZ},
        {OID_UUID_ARRAY, OID_UUID},
        {OID_JSON_ARRAY, OID_JSON},
        {OID_JSONB_ARRAY, OID_JSONB},
        {OID_INET_ARRAY, OID_INET},
        {OID_CIDR_ARRAY, OID_CIDR},
        {OID_MACADDR_ARRAY, OID_MACADDR},
        {OID_MACADDR8_ARRAY, OID_MACADDR8},
        {OID_INT4RANGE_ARRAY, OID_INT4RANGE},
        {OID_INT8RANGE_ARRAY, OID_INT8RANGE},
        {OID_NUMRANGE_ARRAY, OID_NUMRANGE},
        {OID_TSRANGE_ARRAY, OID_TSRANGE},
        {OID_TSTZRANGE_ARRAY, OID_TSTZRANGE},
        {OID_DATERANGE_ARRAY, OID_DATERANGE},
    };
    static const uint32_t unsupported[] = {
        OID_MONEY_ARRAY, OID_NAME_ARRAY,  OID_INTERVAL_ARRAY,  OID_VARBIT_ARRAY,
        OID_XML_ARRAY,   OID_POINT_ARRAY, OID_REFCURSOR_ARRAY, OID_BIT_ARRAY,
    };
    size_t i;

    *is_array = false;
    for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        if (pairs[i][0] == oid) {
            *is_array = true;
            return pairs[i][1];
        }
    for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        if (unsupported[i] == oid) {
            *is_array = true;
            return 0;
        }
    return 0;
}

/* A type Debezium does not know: left out, or its text as bytes. */
static int unknown_type(bool include_unknown, const char *label, struct pgcdc_typemap *out,
                        char *err, size_t errlen)
{
    if (!include_unknown) {
        snprintf(err, errlen,
                 "type '%s' is not in Debezium's type mapping, so the column is left out of events "
                 "(set include.unknown.datatypes = true to emit its text as bytes)",
                 label);
        return -ENOTSUP;
    }
    /* Debezium's include.unknown.datatypes: the text output's bytes. */
    schema_plain(&out->schema, PGCDC_CTYPE_BYTES);
    out->conv = CONV_RAW_BYTES;
    return 0;
}

int pgcdc_types_map(uint32_t type_oid, int32_t typmod, bool include_unknown,
                    struct pgcdc_typemap *out, char *err, size_t errlen)
{
    bool is_array;
    uint32_t elem_oid;
    int rc;

    memset(out, 0, sizeof(*out));
    out->type_oid = type_oid;
    out->typmod = typmod;

    elem_oid = array_element(type_oid, &is_array);
    if (is_array) {
        if (elem_oid == 0 ||
            map_scalar(elem_oid, typmod, &out->elem, &out->elem_conv, &out->precision) != 0) {
            snprintf(err, errlen,
                     "type '%s' has no schema in Debezium's type mapping, so the column is left "
                     "out of events",
                     type_label(type_oid));
            return -ENOTSUP;
        }
        schema_plain(&out->schema, PGCDC_CTYPE_ARRAY);
        out->conv = CONV_ARRAY;
        return 0;
    }

    rc = map_scalar(type_oid, typmod, &out->schema, &out->conv, &out->precision);
    if (rc == 0)
        return 0;
    if (pgcdc_types_pg_name(type_oid) != NULL)
        return unknown_type(include_unknown, pgcdc_types_pg_name(type_oid), out, err, errlen);
    {
        char label[32];

        snprintf(label, sizeof(label), "oid %u", (unsigned)type_oid);
        return unknown_type(include_unknown, label, out, err, errlen);
    }
}

/* Names the type of ti for messages: 'schema.name', with [] for arrays. */
static void info_label(const struct pgcdc_type_info *ti, char *out, size_t n)
{
    if (ti->elem_oid != 0 && ti->oid == ti->base_oid && ti->elem_name[0])
        snprintf(out, n, "%s.%s[]", ti->nspname, ti->elem_name);
    else
        snprintf(out, n, "%s.%s", ti->nspname, ti->name);
}

/* Extension types Debezium maps to schemas pgcdc has no converter for yet
 * (pgvector's). */
static bool debezium_only(const char *name)
{
    static const char *const names[] = {"vector", "halfvec", "sparsevec"};

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

/* Extension types Debezium maps by name: 0 with s and conv set, or 1. */
static int map_by_name(const char *name, struct pgcdc_schema *s, int *conv)
{
    if (strcmp(name, "citext") == 0 || strcmp(name, "isbn") == 0) {
        schema_plain(s, PGCDC_CTYPE_STRING);
        *conv = CONV_STRING;
        return 0;
    }
    if (strcmp(name, "ltree") == 0) {
        schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.data.Ltree");
        *conv = CONV_STRING;
        return 0;
    }
    if (strcmp(name, "hstore") == 0) {
        /* hstore.handling.mode=json */
        schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.data.Json");
        *conv = CONV_HSTORE;
        return 0;
    }
    if (strcmp(name, "geometry") == 0) {
        /* The same Geometry schema as the built-in geometric types. */
        *s = s_geometry;
        *conv = CONV_EWKB;
        return 0;
    }
    if (strcmp(name, "geography") == 0) {
        *s = s_geography;
        *conv = CONV_EWKB;
        return 0;
    }
    return 1;
}

/* The array separator of an element type: PostGIS's types declare ':'
 * (typdelim) because their text output may hold commas. */
static char elem_delim(const char *elem_name)
{
    return strcmp(elem_name, "geometry") == 0 || strcmp(elem_name, "geography") == 0 ? ':' : ',';
}

static void schema_enum(struct pgcdc_schema *s, const char *labels)
{
    schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.data.Enum");
    schema_param_text(s, "allowed", labels ? labels : "");
}

int pgcdc_types_map_info(const struct pgcdc_type_info *ti, int32_t typmod, bool include_unknown,
                         struct pgcdc_typemap *out, char *err, size_t errlen)
{
    uint32_t base = ti->base_oid ? ti->base_oid : ti->oid;
    /* A domain column's atttypmod is -1; Debezium then takes the domain's. */
    int32_t tmod = typmod >= 0 ? typmod : ti->base_typmod;
    char label[160];
    int rc;

    info_label(ti, label, sizeof(label));
    if (base < PGCDC_TYPES_FIRST_USER_OID) {
        /* A built-in type, or a domain over one: the built-in mapping. */
        rc = pgcdc_types_map(base, tmod, include_unknown, out, err, errlen);
        out->type_oid = base;
        if (rc < 0 && base != ti->oid) {
            char inner[256];

            snprintf(inner, sizeof(inner), "%s", err);
            snprintf(err, errlen, "domain '%s': %s", label, inner);
        }
        return rc;
    }
    memset(out, 0, sizeof(*out));
    out->type_oid = base;
    out->typmod = tmod;
    if (ti->base_typtype == 'e') {
        schema_enum(&out->schema, ti->labels);
        out->conv = CONV_STRING;
        return 0;
    }
    if (ti->elem_oid == 0 && map_by_name(ti->base_name, &out->schema, &out->conv) == 0)
        return 0;
    if (ti->elem_oid != 0) {
        rc = 1;
        if (ti->elem_typtype == 'e') {
            schema_enum(&out->elem, ti->labels);
            out->elem_conv = CONV_STRING;
            rc = 0;
        } else if (strcmp(ti->elem_name, "hstore") != 0) {
            /* hstore[] elements would need unescaping before conversion. */
            rc = map_by_name(ti->elem_name, &out->elem, &out->elem_conv);
        }
        if (rc == 0) {
            schema_plain(&out->schema, PGCDC_CTYPE_ARRAY);
            out->conv = CONV_ARRAY;
            out->delim = elem_delim(ti->elem_name);
            return 0;
        }
        if (ti->elem_typtype == 'd') {
            /* Debezium has no element schema for domains: with unknown types
             * included it emits each element's text as bytes. */
            if (!include_unknown) {
                snprintf(err, errlen,
                         "type '%s' is an array of a domain, which Debezium leaves out of events, "
                         "so the column is left out (set include.unknown.datatypes = true to "
                         "emit its elements' text as bytes)",
                         label);
                return -ENOTSUP;
            }
            schema_plain(&out->elem, PGCDC_CTYPE_BYTES);
            out->elem_conv = CONV_RAW_BYTES;
            schema_plain(&out->schema, PGCDC_CTYPE_ARRAY);
            out->conv = CONV_ARRAY;
            return 0;
        }
    }
    if (debezium_only(ti->base_name) ||
        (ti->elem_oid != 0 &&
         (debezium_only(ti->elem_name) || strcmp(ti->elem_name, "hstore") == 0))) {
        snprintf(err, errlen,
                 "type '%s' is not supported by pgcdc yet (Debezium maps it), so the column is "
                 "left out of events",
                 label);
        return -ENOTSUP;
    }
    return unknown_type(include_unknown, label, out, err, errlen);
}

/* ---------------------------------------------------------------------- */
/* small parsers                                                           */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads at least min and at most max digits at *p (max <= 18). */
static bool read_digits(const char **p, const char *end, int min, int max, int64_t *out)
{
    int64_t v = 0;
    int n = 0;

    while (*p < end && is_digit(**p) && n < max) {
        v = v * 10 + (**p - '0');
        (*p)++;
        n++;
    }
    if (n < min || (*p < end && is_digit(**p)))
        return false;
    *out = v;
    return true;
}

static bool eq_text(const char *text, size_t len, const char *lit)
{
    size_t n = strlen(lit);

    return len == n && memcmp(text, lit, n) == 0;
}

/* A decimal int64 with optional sign, all of text. */
static bool parse_int64(const char *text, size_t len, int64_t *out)
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
        if (!is_digit(*p))
            return false;
        d = (unsigned)(*p - '0');
        if (v > (limit - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* Days from 1970-01-01 to the proleptic Gregorian y-m-d. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* "YYYY-MM-DD" (4+ digit year) at *p; the era suffix is read by the caller. */
static bool read_date(const char **p, const char *end, int64_t *y, int64_t *m, int64_t *d)
{
    if (!read_digits(p, end, 4, 9, y) || *p >= end || **p != '-')
        return false;
    (*p)++;
    if (!read_digits(p, end, 2, 2, m) || *p >= end || **p != '-')
        return false;
    (*p)++;
    if (!read_digits(p, end, 2, 2, d))
        return false;
    return *m >= 1 && *m <= 12 && *d >= 1 && *d <= 31;
}

/* "HH:MM:SS[.ffffff]" at *p -> microseconds past midnight (24:00:00 allowed). */
static bool read_time(const char **p, const char *end, int64_t *us)
{
    int64_t h, mi, s, frac = 0;
    int n = 0;

    if (!read_digits(p, end, 2, 2, &h) || *p >= end || **p != ':')
        return false;
    (*p)++;
    if (!read_digits(p, end, 2, 2, &mi) || *p >= end || **p != ':')
        return false;
    (*p)++;
    if (!read_digits(p, end, 2, 2, &s))
        return false;
    if (*p < end && **p == '.') {
        (*p)++;
        while (*p < end && is_digit(**p)) {
            if (n < 6) {
                frac = frac * 10 + (**p - '0');
                n++;
            } else if (**p != '0') {
                return false; /* PostgreSQL never prints more than microseconds */
            }
            (*p)++;
        }
        if (n == 0)
            return false;
        for (; n < 6; n++)
            frac *= 10;
    }
    if (h > 24 || mi > 59 || s > 60 || (h == 24 && (mi || s || frac)))
        return false;
    *us = ((h * 60 + mi) * 60 + s) * US_PER_SEC + frac;
    return true;
}

/* "+HH[:MM[:SS]]" or "-..." at *p -> seconds east of UTC. */
static bool read_offset(const char **p, const char *end, int64_t *secs)
{
    int64_t h, m = 0, s = 0;
    int sign;

    if (*p >= end || (**p != '+' && **p != '-'))
        return false;
    sign = **p == '-' ? -1 : 1;
    (*p)++;
    if (!read_digits(p, end, 2, 2, &h))
        return false;
    if (*p < end && **p == ':') {
        (*p)++;
        if (!read_digits(p, end, 2, 2, &m))
            return false;
        if (*p < end && **p == ':') {
            (*p)++;
            if (!read_digits(p, end, 2, 2, &s))
                return false;
        }
    }
    if (m > 59 || s > 59)
        return false;
    *secs = sign * ((h * 60 + m) * 60 + s);
    return true;
}

/* Optional " BC" at *p: turns the year of era into a proleptic year. */
static bool read_era(const char **p, const char *end, int64_t *y)
{
    if (*p == end)
        return true;
    if (end - *p == 3 && memcmp(*p, " BC", 3) == 0) {
        *y = 1 - *y;
        *p = end;
        return true;
    }
    return false;
}

static int parse_date(const char *text, size_t len, int64_t *days)
{
    const char *p = text, *end = text + len;
    int64_t y, m, d;

    if (!read_date(&p, end, &y, &m, &d) || !read_era(&p, end, &y))
        return -EINVAL;
    *days = days_from_civil(y, m, d);
    return 0;
}

/* timestamp [with offset] text -> microseconds since epoch (UTC). */
static int parse_timestamp(const char *text, size_t len, bool with_offset, int64_t *us)
{
    const char *p = text, *end = text + len;
    int64_t y, m, d, tod, off = 0;

    if (!read_date(&p, end, &y, &m, &d) || p >= end || *p != ' ')
        return -EINVAL;
    p++;
    if (!read_time(&p, end, &tod))
        return -EINVAL;
    if (with_offset && !read_offset(&p, end, &off))
        return -EINVAL;
    if (!read_era(&p, end, &y))
        return -EINVAL;
    /* Past 294247-01-10 (PostgreSQL goes to 294276) the value does not fit
     * int64 microseconds and wraps around as docs/types.md says; the sum is
     * taken unsigned so that the wrap is defined, not an overflow. */
    *us = (int64_t)((uint64_t)days_from_civil(y, m, d) * (uint64_t)US_PER_DAY + (uint64_t)tod -
                    (uint64_t)off * (uint64_t)US_PER_SEC);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* formatting                                                              */

/* Appends the fraction of a second the way java.time does: width 0 prints
 * only the significant digits (none for a whole second), 1..9 exactly that
 * many digits. */
static int append_fraction(struct pgcdc_buf *b, int64_t frac_us, int width)
{
    int n = 6;

    if (width == 0) {
        if (frac_us == 0)
            return 0;
        while (frac_us % 10 == 0) {
            frac_us /= 10;
            n--;
        }
        return pgcdc_buf_append_char(b, '.') || pgcdc_buf_append_uint(b, (uint64_t)frac_us, n)
                   ? -ENOMEM
                   : 0;
    }
    if (pgcdc_buf_append_char(b, '.'))
        return -ENOMEM;
    for (; n > width; n--)
        frac_us /= 10;
    if (pgcdc_buf_append_uint(b, (uint64_t)frac_us, n))
        return -ENOMEM;
    for (; n < width; n++)
        if (pgcdc_buf_append_char(b, '0'))
            return -ENOMEM;
    return 0;
}

/* ISO-8601 UTC date-time of microseconds since epoch, as Debezium's
 * ZonedTimestamp: ISO_LOCAL_DATE years ("+10000", "-0043"), 'T', time,
 * fraction of width (0 = trimmed), 'Z'. */
static int append_zoned_timestamp(struct pgcdc_buf *b, int64_t us, int width)
{
    int64_t days = floor_div(us, US_PER_DAY);
    int64_t tod = us - days * US_PER_DAY;
    int64_t y, secs = tod / US_PER_SEC;
    int m, d, rc;

    civil_from_days(days, &y, &m, &d);
    if (y > 9999)
        rc = pgcdc_buf_appendf(b, "+%lld", (long long)y);
    else if (y < 0)
        rc = pgcdc_buf_appendf(b, "-%04lld", (long long)-y);
    else
        rc = pgcdc_buf_append_uint(b, (uint64_t)y, 4);
    if (rc == 0)
        rc = pgcdc_buf_append_char(b, '-') || pgcdc_buf_append_uint(b, (uint64_t)m, 2) ||
                     pgcdc_buf_append_char(b, '-') || pgcdc_buf_append_uint(b, (uint64_t)d, 2) ||
                     pgcdc_buf_append_char(b, 'T') ||
                     pgcdc_buf_append_uint(b, (uint64_t)(secs / 3600), 2) ||
                     pgcdc_buf_append_char(b, ':') ||
                     pgcdc_buf_append_uint(b, (uint64_t)(secs / 60 % 60), 2) ||
                     pgcdc_buf_append_char(b, ':') ||
                     pgcdc_buf_append_uint(b, (uint64_t)(secs % 60), 2)
                 ? -ENOMEM
                 : 0;
    if (rc == 0)
        rc = append_fraction(b, tod % US_PER_SEC, width);
    if (rc == 0)
        rc = pgcdc_buf_append_char(b, 'Z');
    return rc;
}

/* ---------------------------------------------------------------------- */
/* decimals                                                                */

/*
 * Writes the minimal big-endian two's complement of the integer whose
 * decimal digits are the concatenation of the segments (leading zeros
 * allowed), negated when neg, to the end of scratch. The base 2^32 limbs
 * live in scratch too, past the bytes being written, so any size works
 * without a separate allocation.
 */
struct digit_seg {
    const char *p; /* digits; NULL for n zeros */
    size_t n;      /* digit count */
};

static int append_twos_complement(struct pgcdc_buf *scratch, const struct digit_seg *segs,
                                  int nsegs, bool neg, size_t *off, size_t *outlen)
{
    size_t total = 0, maxlimbs, maxbytes, limb_at, nlimbs = 0, i, nb;
    uint32_t *limbs, chunk = 0, mul = 1;
    unsigned char *out;
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
                uint64_t carry = chunk;
                size_t k;
                for (k = 0; k < nlimbs; k++) {
                    uint64_t t = (uint64_t)limbs[k] * mul + carry;
                    limbs[k] = (uint32_t)t;
                    carry = t >> 32;
                }
                if (carry)
                    limbs[nlimbs++] = (uint32_t)carry;
                chunk = 0;
                mul = 1;
                inchunk = 0;
            }
        }
    }
    if (inchunk > 0) {
        uint64_t carry = chunk;
        size_t k;
        for (k = 0; k < nlimbs; k++) {
            uint64_t t = (uint64_t)limbs[k] * mul + carry;
            limbs[k] = (uint32_t)t;
            carry = t >> 32;
        }
        if (carry)
            limbs[nlimbs++] = (uint32_t)carry;
    }

    /* Magnitude, big-endian, one spare byte in front for the sign. */
    out = (unsigned char *)scratch->data + scratch->len;
    nb = nlimbs * 4;
    for (i = 0; i < nlimbs; i++) {
        uint32_t l = limbs[nlimbs - 1 - i];
        out[1 + i * 4] = (unsigned char)(l >> 24);
        out[2 + i * 4] = (unsigned char)(l >> 16);
        out[3 + i * 4] = (unsigned char)(l >> 8);
        out[4 + i * 4] = (unsigned char)l;
    }
    i = 1;
    while (nb > 0 && out[i] == 0) {
        i++;
        nb--;
    }
    if (nb == 0) {
        out[0] = 0; /* zero is one 0x00 byte, whatever the sign */
        *off = scratch->len;
        *outlen = 1;
        scratch->len += 1;
        scratch->data[scratch->len] = '\0';
        return 0;
    }
    /* out[i .. i+nb) is the minimal magnitude. */
    if (neg) {
        size_t k = i + nb;
        unsigned carry = 1;
        while (k-- > i) {
            unsigned v = (unsigned)(unsigned char)~out[k] + carry;
            out[k] = (unsigned char)v;
            carry = v >> 8;
        }
        if (!(out[i] & 0x80)) {
            out[--i] = 0xff;
            nb++;
        }
    } else if (out[i] & 0x80) {
        out[--i] = 0x00;
        nb++;
    }
    if (i > 0)
        memmove(out, out + i, nb);
    *off = scratch->len;
    *outlen = nb;
    scratch->len += nb;
    scratch->data[scratch->len] = '\0';
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
    while (p < end && is_digit(*p))
        p++;
    *in = (size_t)(p - *ip);
    *fp = p;
    *fn = 0;
    if (p < end && *p == '.') {
        p++;
        *fp = p;
        while (p < end && is_digit(*p))
            p++;
        *fn = (size_t)(p - *fp);
    }
    return p == end && *in + *fn > 0;
}

static bool is_numeric_special(const char *text, size_t len)
{
    return eq_text(text, len, "NaN") || eq_text(text, len, "Infinity") ||
           eq_text(text, len, "-Infinity");
}

static int conv_decimal(const struct pgcdc_schema *s, bool variable, const char *text, size_t len,
                        struct pgcdc_buf *scratch, struct pgcdc_datum *out, char *err,
                        size_t errlen)
{
    const char *ip, *fp;
    size_t in, fn, keep;
    bool neg;
    struct digit_seg segs[3];
    int rc;

    if (is_numeric_special(text, len))
        return fail(-ERANGE, err, errlen,
                    "numeric special value cannot be represented in decimal.handling.mode "
                    "precise",
                    text, len);
    if (!split_decimal(text, len, &neg, &ip, &in, &fp, &fn))
        return fail(-EINVAL, err, errlen, "invalid numeric", text, len);

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
                return fail(-ERANGE, err, errlen,
                            "numeric value has more fraction digits than "
                            "the column's scale",
                            text, len);
        segs[1].n = keep;
        segs[2].n = scale - keep;
        out->kind = PGCDC_DATUM_BYTES;
    }
    rc = append_twos_complement(scratch, segs, 3, neg, &out->off, &out->len);
    if (rc < 0)
        return rc;
    if (variable && out->len == 1 && scratch->data[out->off] == 0)
        out->u.vsd_scale = 0;
    out->ptr = NULL;
    return 0;
}

/* money in the C locale: "$1,234.56", "-$1,234.56"; parenthesised negatives
 * too. Scale 2, extra digits rounded half up as Debezium's setScale(2,
 * HALF_UP) (lc_monetary=C never prints any). */
static int conv_money(const char *text, size_t len, struct pgcdc_buf *scratch,
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
    while (p < end && !is_digit(*p))
        p++; /* currency symbol */
    for (; p < end; p++) {
        if (*p == ',' && !dot)
            continue;
        if (*p == '.' && !dot) {
            dot = true;
            continue;
        }
        if (!is_digit(*p))
            return fail(-EINVAL, err, errlen, "invalid money", text, len);
        if (dot && nfrac == 2) {
            if (dropped == 0)
                dropped = *p;
            continue;
        }
        if (nd >= sizeof(digits) - 3)
            return fail(-ERANGE, err, errlen, "money out of range", text, len);
        digits[nd++] = *p;
        if (dot)
            nfrac++;
    }
    if (nd == 1)
        return fail(-EINVAL, err, errlen, "invalid money", text, len);
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
    rc = append_twos_complement(scratch, &seg, 1, neg, &out->off, &out->len);
    if (rc < 0)
        return rc;
    out->kind = PGCDC_DATUM_BYTES;
    out->ptr = NULL;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* interval                                                                */

/* Java's (long) cast of a double: truncates, saturates, NaN -> 0. */
static int64_t java_double_to_long(double v)
{
    if (isnan(v))
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

/* Java's Math.round(double) for |v| < 2^52: nearest, ties towards +inf. */
static int64_t java_round(double v)
{
    double f = floor(v);

    return (int64_t)f + (v - f >= 0.5 ? 1 : 0);
}

/*
 * IntervalStyle=postgres text ("1 year 2 mons -3 days +04:05:06.5") read
 * the way pgjdbc's PGInterval does, then Debezium's
 * MicroDuration.durationMicros() with 365.25/12-day months.
 */
static int conv_interval(const char *text, size_t len, int64_t *out)
{
    const char *p = text, *end = text + len;
    int64_t years = 0, months = 0, days = 0, hours = 0, minutes = 0;
    double seconds = 0;
    const char *num = NULL;
    size_t numlen = 0;
    char tmp[48];

    while (p < end) {
        const char *tok;
        size_t tl;
        const char *colon;

        while (p < end && (*p == ' ' || *p == '+'))
            p++;
        if (p == end)
            break;
        tok = p;
        while (p < end && *p != ' ' && *p != '+')
            p++;
        tl = (size_t)(p - tok);
        colon = memchr(tok, ':', tl);
        if (num == NULL && colon != NULL) {
            /* [-]H+:MM[:SS[.f]] */
            const char *q = tok;
            bool negt = *q == '-';
            int64_t h;
            if (negt)
                q++;
            if (!parse_int64(q, (size_t)(colon - q), &h) || tok + tl - colon < 3)
                return -EINVAL;
            if (!is_digit(colon[1]) || !is_digit(colon[2]))
                return -EINVAL;
            hours = h;
            minutes = (colon[1] - '0') * 10 + (colon[2] - '0');
            seconds = 0;
            if (colon + 3 < tok + tl) {
                size_t sl = (size_t)(tok + tl - (colon + 4));
                char *e;
                if (colon[3] != ':' || sl == 0 || sl >= sizeof(tmp))
                    return -EINVAL;
                memcpy(tmp, colon + 4, sl);
                tmp[sl] = '\0';
                if (!is_digit(tmp[0]))
                    return -EINVAL;
                seconds = strtod(tmp, &e);
                if (*e != '\0')
                    return -EINVAL;
            }
            if (negt) {
                hours = -hours;
                minutes = -minutes;
                seconds = -seconds;
            }
        } else if (num == NULL) {
            num = tok;
            numlen = tl;
        } else {
            int64_t v;
            if (tl >= 3 && strncmp(tok, "sec", 3) == 0) {
                char *e;
                if (numlen == 0 || numlen >= sizeof(tmp))
                    return -EINVAL;
                memcpy(tmp, num, numlen);
                tmp[numlen] = '\0';
                seconds = strtod(tmp, &e);
                if (*e != '\0')
                    return -EINVAL;
            } else {
                if (!parse_int64(num, numlen, &v))
                    return -EINVAL;
                if (tl >= 4 && strncmp(tok, "year", 4) == 0)
                    years = v;
                else if (tl >= 3 && strncmp(tok, "mon", 3) == 0)
                    months = v;
                else if (tl >= 3 && strncmp(tok, "day", 3) == 0)
                    days = v;
                else if (tl >= 4 && strncmp(tok, "hour", 4) == 0)
                    hours = v;
                else if (tl >= 3 && strncmp(tok, "min", 3) == 0)
                    minutes = v;
                else
                    return -EINVAL;
            }
            num = NULL;
        }
    }
    if (num != NULL)
        return -EINVAL;

    {
        /* PGInterval keeps whole seconds and microseconds. */
        int64_t total_us = java_round(seconds * 1000000.0);
        int64_t whole = total_us / 1000000, micros = total_us % 1000000;
        double secs = (double)whole + (double)micros / 1000000.0;
        double n_days = (double)(years * 12 + months) * (365.25 / 12.0) + (double)days;
        double n_secs = ((n_days * 24.0 + (double)hours) * 60.0 + (double)minutes) * 60.0 + secs;
        volatile double us = n_secs * 1e6; /* no fused multiply-add: match Java */
        *out = java_double_to_long(us);
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* value converters                                                        */

/* Decodes "\x<hex>" from src into dst (which may equal src + 0: decoding
 * only ever writes behind where it reads). Returns bytes or -1. */
static long decode_bytea_hex(const char *src, size_t len, unsigned char *dst)
{
    size_t i, n = 0;

    if (len < 2 || src[0] != '\\' || src[1] != 'x' || (len - 2) % 2 != 0)
        return -1;
    for (i = 2; i < len; i += 2) {
        int hi = pgcdc_hex_value(src[i]), lo = pgcdc_hex_value(src[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        dst[n++] = (unsigned char)(hi << 4 | lo);
    }
    return (long)n;
}

static int conv_bytea(const char *text, size_t len, struct pgcdc_buf *scratch,
                      struct pgcdc_datum *out, char *err, size_t errlen)
{
    long n;
    int rc = pgcdc_buf_reserve(scratch, len / 2);

    if (rc < 0)
        return rc;
    n = decode_bytea_hex(text, len, (unsigned char *)scratch->data + scratch->len);
    if (n < 0)
        return fail(-EINVAL, err, errlen, "invalid bytea (expected hex format '\\x...')", text,
                    len);
    out->kind = PGCDC_DATUM_BYTES;
    out->ptr = NULL;
    out->off = scratch->len;
    out->len = (size_t)n;
    scratch->len += (size_t)n;
    scratch->data[scratch->len] = '\0';
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
            return fail(-EINVAL, err, errlen, "invalid bit string", text, len);
        if (i % 8 == 0)
            dst[i / 8] = 0;
        if (c == '1') {
            dst[i / 8] |= (unsigned char)(1u << (i % 8));
            nbytes = i / 8 + 1;
        }
    }
    out->kind = PGCDC_DATUM_BYTES;
    out->ptr = NULL;
    out->off = scratch->len;
    out->len = nbytes;
    scratch->len += nbytes;
    scratch->data[scratch->len] = '\0';
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

/* ---------------------------------------------------------------------- */
/* geometric types                                                         */

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
static int conv_geometric(int conv, const char *text, size_t len, struct pgcdc_buf *scratch,
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
    return fail(-EINVAL, err, errlen, "invalid geometric value", text, len);
}

/* PostGIS's EWKB geometry type flag: a 4-byte SRID follows the type. */
#define EWKB_SRID_FLAG UINT32_C(0x20000000)

/*
 * PostGIS geometry / geography text output (hex EWKB) -> the EWKB bytes in
 * scratch and the SRID, read as Debezium's PostgisGeometry does: byte 0 is
 * the byte order (0 big-endian, else little-endian), then the 32-bit type,
 * then the SRID when the type has EWKB_SRID_FLAG. Fewer than 9 bytes are
 * invalid (Debezium rejects them too).
 */
static int conv_ewkb(const char *text, size_t len, struct pgcdc_buf *scratch,
                     struct pgcdc_datum *out, char *err, size_t errlen)
{
    unsigned char *dst;
    uint32_t type;
    size_t i, n = len / 2;
    int rc;

    if (len % 2 != 0 || n < 9)
        return fail(-EINVAL, err, errlen, "invalid geometry (expected hex EWKB)", text, len);
    rc = pgcdc_buf_reserve(scratch, n);
    if (rc < 0)
        return rc;
    dst = (unsigned char *)scratch->data + scratch->len;
    for (i = 0; i < n; i++) {
        int hi = pgcdc_hex_value(text[2 * i]), lo = pgcdc_hex_value(text[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return fail(-EINVAL, err, errlen, "invalid geometry (expected hex EWKB)", text, len);
        dst[i] = (unsigned char)(hi << 4 | lo);
    }
    if (dst[0] != 0)
        type = (uint32_t)dst[1] | (uint32_t)dst[2] << 8 | (uint32_t)dst[3] << 16 |
               (uint32_t)dst[4] << 24;
    else
        type = (uint32_t)dst[1] << 24 | (uint32_t)dst[2] << 16 | (uint32_t)dst[3] << 8 |
               (uint32_t)dst[4];
    out->kind = PGCDC_DATUM_STRUCT;
    out->u.geo.shape = SHAPE_EWKB;
    if (type & EWKB_SRID_FLAG) {
        uint32_t srid;

        if (n < 9 + 4)
            return fail(-EINVAL, err, errlen, "invalid geometry (EWKB without its SRID)", text,
                        len);
        if (dst[0] != 0)
            srid = (uint32_t)dst[5] | (uint32_t)dst[6] << 8 | (uint32_t)dst[7] << 16 |
                   (uint32_t)dst[8] << 24;
        else
            srid = (uint32_t)dst[5] << 24 | (uint32_t)dst[6] << 16 | (uint32_t)dst[7] << 8 |
                   (uint32_t)dst[8];
        out->u.geo.shape = SHAPE_EWKB_SRID;
        out->u.geo.srid = (int32_t)srid;
    }
    out->ptr = NULL;
    out->off = scratch->len;
    out->len = n;
    scratch->len += n;
    scratch->data[scratch->len] = '\0';
    return 0;
}

int pgcdc_types_struct_field(const struct pgcdc_datum *d, int i, struct pgcdc_datum *out)
{
    int shape = d->u.geo.shape;

    memset(out, 0, sizeof(*out));
    if (d->kind == PGCDC_DATUM_VSD) {
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
            out->kind = PGCDC_DATUM_BYTES;
            out->ptr = d->ptr;
            out->off = d->off;
            out->len = d->len;
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
            out->kind = PGCDC_DATUM_BYTES;
            out->ptr = d->ptr;
            out->off = d->off;
            out->len = d->len;
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
            out->kind = PGCDC_DATUM_BYTES;
            out->ptr = d->ptr;
            out->off = d->off;
            out->len = d->len;
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

/* ---------------------------------------------------------------------- */
/* hstore                                                                  */

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

/*
 * hstore's text output ("k"=>"v", "k2"=>NULL) as the JSON object Debezium
 * writes: pgjdbc parses it into a java.util.HashMap and Jackson writes the
 * entries in the map's iteration order, i.e. by bucket (hash ^ hash >>> 16
 * masked by the table size: 16, doubled while entries exceed 3/4 of it),
 * and in insertion order within a bucket. Pairs, bucket counts and the
 * order go to scratch ahead of the JSON text, which the datum points at.
 */
static int conv_hstore(const char *text, size_t len, struct pgcdc_buf *scratch,
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
    return fail(-EINVAL, err, errlen, "invalid hstore", text, len);
}

/* Converts one value with converter conv (a column's or an element's). */
static int convert_with(const struct pgcdc_typemap *tm, int conv, const struct pgcdc_schema *s,
                        const char *text, size_t len, struct pgcdc_buf *scratch,
                        struct pgcdc_datum *out, char *err, size_t errlen);

static int array_scan(const char *text, size_t len, char delim, uint32_t *count, char *err,
                      size_t errlen);

/* The element separator of an ARRAY column. */
static char array_delim(const struct pgcdc_typemap *tm)
{
    return tm->delim ? tm->delim : ',';
}

static int convert_with(const struct pgcdc_typemap *tm, int conv, const struct pgcdc_schema *s,
                        const char *text, size_t len, struct pgcdc_buf *scratch,
                        struct pgcdc_datum *out, char *err, size_t errlen)
{
    int64_t v;
    int rc;

    memset(out, 0, sizeof(*out));
    switch (conv) {
    case CONV_BOOL:
        if (len != 1 || (text[0] != 't' && text[0] != 'f'))
            return fail(-EINVAL, err, errlen, "invalid bool", text, len);
        out->kind = PGCDC_DATUM_BOOLEAN;
        out->u.b = text[0] == 't';
        return 0;
    case CONV_INT16:
    case CONV_INT32:
    case CONV_INT64:
        if (!parse_int64(text, len, &v))
            return fail(-EINVAL, err, errlen, "invalid integer", text, len);
        if ((conv == CONV_INT16 && (v < INT16_MIN || v > INT16_MAX)) ||
            (conv == CONV_INT32 && (v < INT32_MIN || v > INT32_MAX)))
            return fail(-ERANGE, err, errlen, "integer out of range", text, len);
        out->kind = PGCDC_DATUM_INT;
        out->u.i = v;
        return 0;
    case CONV_OID:
        if (!parse_int64(text, len, &v) || v < 0 || v > (int64_t)UINT32_MAX)
            return fail(-EINVAL, err, errlen, "invalid oid", text, len);
        out->kind = PGCDC_DATUM_INT;
        out->u.i = v;
        return 0;
    case CONV_FLOAT32:
    case CONV_FLOAT64:
        if (conv_float(text, len, conv == CONV_FLOAT32, &out->u.f) < 0)
            return fail(-EINVAL, err, errlen, "invalid floating point value", text, len);
        out->kind = PGCDC_DATUM_FLOAT;
        return 0;
    case CONV_DECIMAL:
    case CONV_VSD:
        return conv_decimal(s, conv == CONV_VSD, text, len, scratch, out, err, errlen);
    case CONV_MONEY:
        return conv_money(text, len, scratch, out, err, errlen);
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
    case CONV_DATE:
        if (eq_text(text, len, "infinity") || eq_text(text, len, "-infinity")) {
            /* Debezium maps them to LocalDate +5877611-06-21 / -5877611-06-22
             * (checked against Debezium 3.7 in tests/bench/conformance). */
            v = text[0] == '-' ? days_from_civil(-5877611, 6, 22) : days_from_civil(5877611, 6, 21);
        } else if (parse_date(text, len, &v) < 0) {
            return fail(-EINVAL, err, errlen, "invalid date", text, len);
        }
        if (v < INT32_MIN || v > INT32_MAX)
            return fail(-ERANGE, err, errlen, "date out of range", text, len);
        out->kind = PGCDC_DATUM_INT;
        out->u.i = v;
        return 0;
    case CONV_TIME_MILLIS:
    case CONV_TIME_MICROS: {
        const char *p = text;
        if (!read_time(&p, text + len, &v) || p != text + len)
            return fail(-EINVAL, err, errlen, "invalid time", text, len);
        out->kind = PGCDC_DATUM_INT;
        out->u.i = conv == CONV_TIME_MILLIS ? v / 1000 : v;
        return 0;
    }
    case CONV_TS_MILLIS:
    case CONV_TS_MICROS:
        out->kind = PGCDC_DATUM_INT;
        /* Debezium emits pgjdbc's infinity constants as they are, in
         * Timestamp (ms) and MicroTimestamp (us) columns alike. */
        if (eq_text(text, len, "infinity")) {
            out->u.i = PG_TS_POS_INFINITY_US;
            return 0;
        }
        if (eq_text(text, len, "-infinity")) {
            out->u.i = PG_TS_NEG_INFINITY_US;
            return 0;
        }
        if (parse_timestamp(text, len, false, &v) < 0)
            return fail(-EINVAL, err, errlen, "invalid timestamp", text, len);
        out->u.i = conv == CONV_TS_MILLIS ? floor_div(v, 1000) : v;
        return 0;
    case CONV_TIMESTAMPTZ:
        if (eq_text(text, len, "infinity") || eq_text(text, len, "-infinity")) {
            /* Debezium passes these through as strings. */
            out->kind = PGCDC_DATUM_STRING;
            out->ptr = text;
            out->len = len;
            return 0;
        }
        if (parse_timestamp(text, len, true, &v) < 0)
            return fail(-EINVAL, err, errlen, "invalid timestamptz", text, len);
        out->kind = PGCDC_DATUM_STRING;
        out->off = scratch->len;
        rc = append_zoned_timestamp(scratch, v, tm->precision > 9 ? 0 : tm->precision);
        if (rc < 0)
            return rc;
        out->len = scratch->len - out->off;
        return 0;
    case CONV_TIMETZ: {
        const char *p = text, *end = text + len;
        int64_t off, tod;
        if (!read_time(&p, end, &tod) || !read_offset(&p, end, &off) || p != end)
            return fail(-EINVAL, err, errlen, "invalid timetz", text, len);
        tod -= off * US_PER_SEC;
        tod = tod - floor_div(tod, US_PER_DAY) * US_PER_DAY;
        out->kind = PGCDC_DATUM_STRING;
        out->off = scratch->len;
        v = tod / US_PER_SEC;
        rc = pgcdc_buf_appendf(scratch, "%02d:%02d:%02d", (int)(v / 3600), (int)(v / 60 % 60),
                               (int)(v % 60));
        if (rc == 0)
            rc = append_fraction(scratch, tod % US_PER_SEC, 0);
        if (rc == 0)
            rc = pgcdc_buf_append_char(scratch, 'Z');
        if (rc < 0)
            return rc;
        out->len = scratch->len - out->off;
        return 0;
    }
    case CONV_INTERVAL:
        if (conv_interval(text, len, &v) < 0)
            return fail(-EINVAL, err, errlen, "invalid interval (expected IntervalStyle postgres)",
                        text, len);
        out->kind = PGCDC_DATUM_INT;
        out->u.i = v;
        return 0;
    case CONV_BIT_BOOL:
        if (len != 1 || (text[0] != '0' && text[0] != '1'))
            return fail(-EINVAL, err, errlen, "invalid bit", text, len);
        out->kind = PGCDC_DATUM_BOOLEAN;
        out->u.b = text[0] == '1';
        return 0;
    case CONV_BITS:
        return conv_bits(text, len, scratch, out, err, errlen);
    case CONV_HSTORE:
        return conv_hstore(text, len, scratch, out, err, errlen);
    case CONV_POINT:
    case CONV_LINE:
    case CONV_CIRCLE:
    case CONV_BOX:
    case CONV_LSEG:
    case CONV_PATH:
    case CONV_POLYGON:
        return conv_geometric(conv, text, len, scratch, out, err, errlen);
    case CONV_EWKB:
        return conv_ewkb(text, len, scratch, out, err, errlen);
    case CONV_ARRAY:
        rc = array_scan(text, len, array_delim(tm), &out->u.arr.count, err, errlen);
        if (rc < 0)
            return rc;
        out->kind = PGCDC_DATUM_ARRAY;
        out->ptr = text;
        out->len = len;
        return 0;
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
    return convert_with(tm, tm->conv, &tm->schema, text, len, scratch, out, err, errlen);
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
/* arrays                                                                  */

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
        return fail(-EINVAL, err, errlen, "invalid array", text, len);
    for (;;) {
        rc = array_token(&p, end, delim, &tok, &toklen, &quoted, &escaped, &is_null, n == 0);
        if (rc == 0)
            break;
        if (rc == -ENOTSUP)
            return fail(-ENOTSUP, err, errlen, "multi-dimensional arrays are not supported", text,
                        len);
        if (rc < 0)
            return fail(-EINVAL, err, errlen, "invalid array", text, len);
        n++;
        if (p < end && *p == '}') {
            p++;
            break;
        }
    }
    if (p != end)
        return fail(-EINVAL, err, errlen, "invalid array", text, len);
    *count = n;
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
        rc = convert_with(tm, tm->elem_conv, &tm->elem, tok, toklen, scratch, out, err, errlen);
        return rc < 0 ? rc : 1;
    }

    /* Unescape into scratch. Only strings, bytea and unknown types' text
     * ever need escapes. */
    if (tm->elem_conv != CONV_STRING && tm->elem_conv != CONV_BYTEA &&
        tm->elem_conv != CONV_RAW_BYTES)
        return fail(-EINVAL, err, errlen, "unexpected escapes in array element", tok, toklen);
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
        long n = decode_bytea_hex(src, out->len, (unsigned char *)src);
        if (n < 0)
            return fail(-EINVAL, err, errlen, "invalid bytea array element", src, out->len);
        out->len = (size_t)n;
        scratch->len = out->off + (size_t)n;
        scratch->data[scratch->len] = '\0';
    }
    return 1;
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
        elem = array_element(tm->type_oid, &is_array);
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
