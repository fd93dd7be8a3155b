/*
 * types_map.c - the mapping table: PostgreSQL types to Debezium's Kafka
 * Connect schemas, and the converter each column gets.
 *
 * pgcdc_types_map() chooses a converter per column from its type oid and
 * typmod, the same way Debezium's PostgresValueConverter does with the
 * precision and scale pgjdbc derives from the typmod (see docs/types.md for
 * the table). Built-in scalar types are rows of scalar_map[]; the few whose
 * schema depends on the typmod (numeric, money, time types, bit strings)
 * name a rule that adjusts their row. Arrays map to their element's row.
 *
 * Types that only the catalog can name (enums, domains, extension types)
 * are mapped by pgcdc_types_map_info() in types_catalog.c.
 */
#include "types_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* names                                                                   */

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

static const char *type_label(uint32_t oid)
{
    const char *n = pgcdc_types_pg_name(oid);

    return n != NULL ? n : "unknown type";
}

/* ---------------------------------------------------------------------- */
/* schemas                                                                 */

void pgcdc_types_schema_plain(struct pgcdc_schema *s, enum pgcdc_ctype ctype)
{
    memset(s, 0, sizeof(*s));
    s->ctype = ctype;
}

void pgcdc_types_schema_named(struct pgcdc_schema *s, enum pgcdc_ctype ctype,
                              const char *name)
{
    pgcdc_types_schema_plain(s, ctype);
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
    pgcdc_types_schema_named(s, PGCDC_CTYPE_BYTES, "org.apache.kafka.connect.data.Decimal");
    s->scale = scale;
    s->precision = precision;
    schema_param(s, "scale", scale);
    if (precision > 0)
        schema_param(s, "connect.decimal.precision", precision);
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
const struct pgcdc_schema pgcdc_types_geometry_schema = {
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
const struct pgcdc_schema pgcdc_types_geography_schema = {
    .ctype = PGCDC_CTYPE_STRUCT,
    .name = "io.debezium.data.geometry.Geography",
    .version = 1,
    .doc = "Geography",
    .nfields = 2,
    .fields = geography_fields,
};


/* ---------------------------------------------------------------------- */
/* built-in scalar types                                                   */

/* How a row's typmod changes its mapping. */
enum typmod_rule {
    TM_NONE,      /* the row is the whole mapping */
    TM_NUMERIC,   /* with a typmod, a Decimal of its precision and scale */
    TM_MONEY,     /* a Decimal of scale 2 (money.fraction.digits) */
    TM_PRECISION, /* fractional second digits from the typmod; above 3, the micro variant */
    TM_BITS,      /* more than one bit: Bits of the typmod's length */
    TM_DATE,      /* time.precision.mode=connect: Connect's Date */
    TM_BINARY,    /* binary.handling.mode other than bytes: a string */
    TM_INTERVAL,  /* interval.handling.mode=string: io.debezium.time.Interval */
};

/* One built-in scalar type. */
struct scalar_row {
    uint32_t oid;                      /* pg_type oid */
    enum pgcdc_ctype ctype;            /* Connect type */
    const char *name;                  /* connect.name (version 1), NULL for a plain type */
    int conv;                          /* converter id */
    const struct pgcdc_schema *schema; /* a static struct schema instead of ctype/name, or NULL */
    enum typmod_rule rule;             /* how the typmod changes the above */
    enum pgcdc_ctype micro_ctype;      /* TM_PRECISION above 3 digits: Connect type */
    const char *micro_name;            /* ... its connect.name, NULL when the row has no variant */
    int micro_conv;                    /* ... its converter id */
};

#define PLAIN(oid, ctype, conv) {oid, PGCDC_CTYPE_##ctype, NULL, conv, NULL, TM_NONE, 0, NULL, 0}
#define NAMED(oid, ctype, name, conv)                                                             \
    {oid, PGCDC_CTYPE_##ctype, name, conv, NULL, TM_NONE, 0, NULL, 0}
#define STRUCT(oid, schema, conv) {oid, PGCDC_CTYPE_STRUCT, NULL, conv, schema, TM_NONE, 0, NULL, 0}

static const struct scalar_row scalar_map[] = {
    PLAIN(OID_BOOL, BOOLEAN, CONV_BOOL),
    PLAIN(OID_INT2, INT16, CONV_INT16),
    PLAIN(OID_INT4, INT32, CONV_INT32),
    PLAIN(OID_INT8, INT64, CONV_INT64),
    PLAIN(OID_OID, INT64, CONV_OID),
    PLAIN(OID_FLOAT4, FLOAT32, CONV_FLOAT32),
    PLAIN(OID_FLOAT8, FLOAT64, CONV_FLOAT64),
    /* Without a typmod numeric has no fixed scale: VariableScaleDecimal. */
    {OID_NUMERIC, PGCDC_CTYPE_STRUCT, NULL, CONV_VSD, &s_vsd, TM_NUMERIC, 0, NULL, 0},
    {OID_MONEY, PGCDC_CTYPE_BYTES, NULL, CONV_MONEY, NULL, TM_MONEY, 0, NULL, 0},
    PLAIN(OID_TEXT, STRING, CONV_STRING),
    PLAIN(OID_VARCHAR, STRING, CONV_STRING),
    PLAIN(OID_BPCHAR, STRING, CONV_STRING),
    PLAIN(OID_CHAR, STRING, CONV_STRING),
    PLAIN(OID_NAME, STRING, CONV_STRING),
    PLAIN(OID_INET, STRING, CONV_STRING),
    PLAIN(OID_CIDR, STRING, CONV_STRING),
    PLAIN(OID_MACADDR, STRING, CONV_STRING),
    PLAIN(OID_MACADDR8, STRING, CONV_STRING),
    PLAIN(OID_INT4RANGE, STRING, CONV_STRING),
    PLAIN(OID_INT8RANGE, STRING, CONV_STRING),
    PLAIN(OID_NUMRANGE, STRING, CONV_STRING),
    PLAIN(OID_TSRANGE, STRING, CONV_STRING),
    PLAIN(OID_TSTZRANGE, STRING, CONV_STRING),
    PLAIN(OID_DATERANGE, STRING, CONV_STRING),
    NAMED(OID_UUID, STRING, "io.debezium.data.Uuid", CONV_STRING),
    NAMED(OID_JSON, STRING, "io.debezium.data.Json", CONV_STRING),
    NAMED(OID_JSONB, STRING, "io.debezium.data.Json", CONV_STRING),
    NAMED(OID_XML, STRING, "io.debezium.data.Xml", CONV_STRING),
    NAMED(OID_TSVECTOR, STRING, "io.debezium.data.Tsvector", CONV_STRING),
    {OID_BYTEA, PGCDC_CTYPE_BYTES, NULL, CONV_BYTEA, NULL, TM_BINARY, 0, NULL, 0},
    {OID_DATE, PGCDC_CTYPE_INT32, "io.debezium.time.Date", CONV_DATE, NULL, TM_DATE, 0, NULL, 0},
    /* time.precision.mode=adaptive: milliseconds up to 3 digits, else micro. */
    {OID_TIME, PGCDC_CTYPE_INT32, "io.debezium.time.Time", CONV_TIME_MILLIS, NULL, TM_PRECISION,
     PGCDC_CTYPE_INT64, "io.debezium.time.MicroTime", CONV_TIME_MICROS},
    {OID_TIMESTAMP, PGCDC_CTYPE_INT64, "io.debezium.time.Timestamp", CONV_TS_MILLIS, NULL,
     TM_PRECISION, PGCDC_CTYPE_INT64, "io.debezium.time.MicroTimestamp", CONV_TS_MICROS},
    {OID_TIMESTAMPTZ, PGCDC_CTYPE_STRING, "io.debezium.time.ZonedTimestamp", CONV_TIMESTAMPTZ,
     NULL, TM_PRECISION, 0, NULL, 0},
    {OID_TIMETZ, PGCDC_CTYPE_STRING, "io.debezium.time.ZonedTime", CONV_TIMETZ, NULL,
     TM_PRECISION, 0, NULL, 0},
    {OID_INTERVAL, PGCDC_CTYPE_INT64, "io.debezium.time.MicroDuration", CONV_INTERVAL, NULL,
     TM_INTERVAL, 0, NULL, 0},
    {OID_BIT, PGCDC_CTYPE_BOOLEAN, NULL, CONV_BIT_BOOL, NULL, TM_BITS, 0, NULL, 0},
    {OID_VARBIT, PGCDC_CTYPE_BOOLEAN, NULL, CONV_BIT_BOOL, NULL, TM_BITS, 0, NULL, 0},
    STRUCT(OID_POINT, &s_point, CONV_POINT),
    STRUCT(OID_LINE, &s_line, CONV_LINE),
    STRUCT(OID_CIRCLE, &s_circle, CONV_CIRCLE),
    STRUCT(OID_LSEG, &pgcdc_types_geometry_schema, CONV_LSEG),
    STRUCT(OID_PATH, &pgcdc_types_geometry_schema, CONV_PATH),
    STRUCT(OID_BOX, &pgcdc_types_geometry_schema, CONV_BOX),
    STRUCT(OID_POLYGON, &pgcdc_types_geometry_schema, CONV_POLYGON),
};

#undef PLAIN
#undef NAMED
#undef STRUCT

/* Fractional second digits of time/timestamp types: pgjdbc's getScale(). */
static int32_t time_precision(int32_t typmod)
{
    return typmod < 0 ? 6 : typmod;
}

/* Kafka Connect's own logical types (time.precision.mode=connect). */
#define CONNECT_DATE "org.apache.kafka.connect.data.Date"
#define CONNECT_TIME "org.apache.kafka.connect.data.Time"
#define CONNECT_TIMESTAMP "org.apache.kafka.connect.data.Timestamp"

/* numeric with a typmod: a Decimal of its precision and scale, or the
 * plain type decimal.handling.mode asks for (without a typmod, precise
 * keeps the row's VariableScaleDecimal). */
static void map_numeric(const struct pgcdc_types_modes *m, int32_t typmod,
                        struct pgcdc_schema *s, int *conv)
{
    switch (m->decimal) {
    case PGCDC_DECIMAL_DOUBLE:
        pgcdc_types_schema_plain(s, PGCDC_CTYPE_FLOAT64);
        *conv = CONV_DECIMAL_DOUBLE;
        return;
    case PGCDC_DECIMAL_STRING:
        pgcdc_types_schema_plain(s, PGCDC_CTYPE_STRING);
        *conv = CONV_DECIMAL_STRING;
        return;
    case PGCDC_DECIMAL_PRECISE:
        break;
    }
    if (typmod >= 4) {
        int32_t t = typmod - 4;
        int32_t prec = (t >> 16) & 0xffff;
        /* PostgreSQL 15+ stores the scale in 11 signed bits; a negative
         * scale only rounds to tens, hundreds...: values stay integers. */
        int32_t scale = ((t & 0x7ff) ^ 1024) - 1024;
        schema_decimal(s, scale < 0 ? 0 : scale, prec);
        *conv = CONV_DECIMAL;
    }
}

/* money: a Decimal of money.fraction.digits, or double or string. */
static void map_money(const struct pgcdc_types_modes *m, struct pgcdc_schema *s, int *conv)
{
    switch (m->decimal) {
    case PGCDC_DECIMAL_DOUBLE:
        pgcdc_types_schema_plain(s, PGCDC_CTYPE_FLOAT64);
        *conv = CONV_MONEY_DOUBLE;
        break;
    case PGCDC_DECIMAL_STRING:
        pgcdc_types_schema_plain(s, PGCDC_CTYPE_STRING);
        *conv = CONV_MONEY_STRING;
        break;
    case PGCDC_DECIMAL_PRECISE:
        /* Debezium's money Decimal has no precision parameter. */
        schema_decimal(s, m->money_digits, 0);
        *conv = CONV_MONEY;
        break;
    }
}

/* time and timestamp under time.precision.mode (the zoned types keep
 * their strings in every mode). */
static void map_temporal(const struct scalar_row *row, const struct pgcdc_types_modes *m,
                         int32_t precision, struct pgcdc_schema *s, int *conv)
{
    if (row->micro_name == NULL)
        return;
    if (m->time == PGCDC_TIME_CONNECT) {
        /* Milliseconds whatever the column's precision: finer digits are cut. */
        if (row->oid == OID_TIME)
            pgcdc_types_schema_named(s, PGCDC_CTYPE_INT32, CONNECT_TIME);
        else
            pgcdc_types_schema_named(s, PGCDC_CTYPE_INT64, CONNECT_TIMESTAMP);
        *conv = row->conv;
        return;
    }
    if (precision > 3 || (m->time == PGCDC_TIME_ADAPTIVE_TIME_MICROS && row->oid == OID_TIME)) {
        pgcdc_types_schema_named(s, row->micro_ctype, row->micro_name);
        *conv = row->micro_conv;
    }
}

/* Applies a row's rule (its typmod, the modes) to the schema and
 * converter it gave. */
static void apply_typmod(const struct scalar_row *row, const struct pgcdc_types_modes *m,
                         int32_t typmod, struct pgcdc_schema *s, int *conv, int32_t *precision)
{
    switch (row->rule) {
    case TM_NONE:
        break;
    case TM_NUMERIC:
        map_numeric(m, typmod, s, conv);
        break;
    case TM_MONEY:
        map_money(m, s, conv);
        break;
    case TM_PRECISION:
        *precision = time_precision(typmod);
        map_temporal(row, m, *precision, s, conv);
        break;
    case TM_DATE:
        if (m->time == PGCDC_TIME_CONNECT)
            pgcdc_types_schema_named(s, PGCDC_CTYPE_INT32, CONNECT_DATE);
        break;
    case TM_BINARY:
        pgcdc_types_binary_mode(m->binary, s, conv);
        break;
    case TM_INTERVAL:
        if (m->interval == PGCDC_INTERVAL_STRING) {
            pgcdc_types_schema_named(s, PGCDC_CTYPE_STRING, "io.debezium.time.Interval");
            *conv = CONV_INTERVAL_STRING;
        }
        break;
    case TM_BITS: {
        /* pgjdbc: bit(n) and varbit(n) have length n, unconstrained varbit
         * Integer.MAX_VALUE, a bit without typmod -1. */
        long long length = typmod >= 0 ? typmod : (row->oid == OID_VARBIT ? 2147483647LL : -1);
        if (length > 1) {
            pgcdc_types_schema_named(s, PGCDC_CTYPE_BYTES, "io.debezium.data.Bits");
            schema_param(s, "length", length);
            *conv = CONV_BITS;
        }
        break;
    }
    }
}

void pgcdc_types_binary_mode(enum pgcdc_binary_mode mode, struct pgcdc_schema *s, int *conv)
{
    switch (mode) {
    case PGCDC_BINARY_BYTES:
        return;
    case PGCDC_BINARY_BASE64:
        *conv = *conv == CONV_RAW_BYTES ? CONV_RAW_BASE64 : CONV_BYTEA_BASE64;
        break;
    case PGCDC_BINARY_BASE64_URL:
        *conv = *conv == CONV_RAW_BYTES ? CONV_RAW_BASE64_URL : CONV_BYTEA_BASE64_URL;
        break;
    case PGCDC_BINARY_HEX:
        *conv = *conv == CONV_RAW_BYTES ? CONV_RAW_HEX : CONV_BYTEA_HEX;
        break;
    }
    pgcdc_types_schema_plain(s, PGCDC_CTYPE_STRING);
}

/*
 * Maps a non-array type. Returns 0, or 1 for a type Debezium does not know
 * (left to include.unknown.datatypes).
 */
static int map_scalar(uint32_t oid, int32_t typmod, const struct pgcdc_types_modes *m,
                      struct pgcdc_schema *s, int *conv, int32_t *precision)
{
    const struct scalar_row *row = NULL;

    *precision = 0;
    for (size_t i = 0; i < sizeof(scalar_map) / sizeof(scalar_map[0]); i++)
        if (scalar_map[i].oid == oid) {
            row = &scalar_map[i];
            break;
        }
    if (row == NULL)
        return 1;
    if (row->schema != NULL)
        *s = *row->schema;
    else if (row->name != NULL)
        pgcdc_types_schema_named(s, row->ctype, row->name);
    else
        pgcdc_types_schema_plain(s, row->ctype);
    *conv = row->conv;
    apply_typmod(row, m, typmod, s, conv, precision);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* arrays and unknown types                                                */

/* Arrays Debezium converts, by element type, and those it has no schema for. */
uint32_t pgcdc_types_array_element(uint32_t oid, bool *is_array)
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
int pgcdc_types_map_unknown(bool include_unknown, const char *label, struct pgcdc_typemap *out,
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
    pgcdc_types_schema_plain(&out->schema, PGCDC_CTYPE_BYTES);
    out->conv = CONV_RAW_BYTES;
    return 0;
}

int pgcdc_types_map(uint32_t type_oid, int32_t typmod, bool include_unknown,
                    struct pgcdc_typemap *out, char *err, size_t errlen)
{
    struct pgcdc_types_modes m = PGCDC_TYPES_MODES_DEFAULT;

    m.include_unknown = include_unknown;
    return pgcdc_types_map_modes(type_oid, typmod, &m, out, err, errlen);
}

int pgcdc_types_map_modes(uint32_t type_oid, int32_t typmod, const struct pgcdc_types_modes *m,
                          struct pgcdc_typemap *out, char *err, size_t errlen)
{
    bool is_array;
    uint32_t elem_oid;
    int rc;

    memset(out, 0, sizeof(*out));
    out->type_oid = type_oid;
    out->typmod = typmod;

    elem_oid = pgcdc_types_array_element(type_oid, &is_array);
    if (is_array) {
        if (elem_oid == 0 ||
            map_scalar(elem_oid, typmod, m, &out->elem, &out->elem_conv, &out->precision) != 0) {
            snprintf(err, errlen,
                     "type '%s' has no schema in Debezium's type mapping, so the column is left "
                     "out of events",
                     type_label(type_oid));
            return -ENOTSUP;
        }
        pgcdc_types_schema_plain(&out->schema, PGCDC_CTYPE_ARRAY);
        out->conv = CONV_ARRAY;
        return 0;
    }

    rc = map_scalar(type_oid, typmod, m, &out->schema, &out->conv, &out->precision);
    if (rc == 0)
        return 0;
    {
        char label[32];
        const char *name = pgcdc_types_pg_name(type_oid);

        snprintf(label, sizeof(label), "oid %u", (unsigned)type_oid);
        rc = pgcdc_types_map_unknown(m->include_unknown, name != NULL ? name : label, out, err,
                                     errlen);
        if (rc == 0)
            pgcdc_types_binary_mode(m->binary, &out->schema, &out->conv);
        return rc;
    }
}
