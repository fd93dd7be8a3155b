/*
 * types.h - PostgreSQL column types and values to Debezium's Kafka Connect
 * representation.
 *
 * Mirrors Debezium 3.x's PostgreSQL connector. pgcdc_types_map() uses its
 * default settings: decimal.handling.mode=precise, time.precision.mode=
 * adaptive, binary.handling.mode=bytes, interval.handling.mode=numeric,
 * money.fraction.digits=2; pgcdc_types_map_modes() takes the others
 * (struct pgcdc_types_modes). The mode is part of the mapping: it picks the
 * schema and the converter once per column, never per value.
 * unavailable.value.placeholder is given by the caller. The full table, with examples, is in docs/types.md.
 *
 * Two steps:
 *
 *  - pgcdc_types_map(): once per relation column (type oid + typmod from the
 *    pgoutput Relation message) -> struct pgcdc_typemap: the Connect schema of
 *    the field (type, connect.name, connect.version, connect.doc,
 *    connect.parameters, decimal scale/precision, array element schema) plus
 *    an internal converter id;
 *  - pgcdc_types_convert(): per value, the column's text output (what
 *    pgoutput sends without the binary option) -> struct pgcdc_datum, a
 *    neutral value (null, boolean, integer, double, string, bytes, struct,
 *    map, array) that the JSON and Avro encoders write out.
 *
 * Types pgoutput only names by oid (enums, domains, extension types such as
 * hstore, citext or PostGIS's geometry and geography) are mapped by pgcdc_types_map_info() from
 * what the catalog says about them (struct pgcdc_type_info of type_info.h, filled by the
 * catalog reader of catalog.h, or by hand in tests).
 *
 * Structs (VariableScaleDecimal, the geometric and PostGIS types) have
 * static schemas:
 * encoders walk schema->fields and read each field's value with
 * pgcdc_types_struct_field(); maps (a Geometry's extensions) are read with
 * pgcdc_types_map_entry(). Neither allocates.
 *
 * The server side must use the output formats Debezium parses: DateStyle=ISO,
 * IntervalStyle=postgres, bytea_output=hex, and lc_monetary=C for money;
 * TimeZone=UTC is expected but explicit offsets are honoured.
 *
 * Storage of datum bytes: a datum either points into the caller's input text
 * (strings that need no change: text, varchar, json, uuid, ...) or holds an
 * offset into the caller's scratch buffer (decoded bytea, decimal bytes,
 * formatted timestamps, unescaped array elements). Read a datum's bytes only
 * through pgcdc_datum_ptr(d, scratch): it stays valid however much scratch
 * grows afterwards, until the caller resets scratch (once per row). Several
 * datums of one row can therefore share one scratch buffer.
 *
 * Nothing here allocates except scratch growth; the mapping is pure.
 */
#ifndef PGCDC_TYPES_H
#define PGCDC_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/buf.h"
#include "pgcdc/type_info.h"
#include "pgcdc/type_modes.h"

/* Debezium's default unavailable.value.placeholder. */
#define PGCDC_TYPES_DEFAULT_PLACEHOLDER "__debezium_unavailable_value"

/* Kafka Connect schema types used by the mapping. */
enum pgcdc_ctype {
    PGCDC_CTYPE_BOOLEAN, /* boolean */
    PGCDC_CTYPE_INT16,   /* int (Avro int) */
    PGCDC_CTYPE_INT32,   /* int */
    PGCDC_CTYPE_INT64,   /* long */
    PGCDC_CTYPE_FLOAT32, /* float */
    PGCDC_CTYPE_FLOAT64, /* double */
    PGCDC_CTYPE_STRING,  /* string */
    PGCDC_CTYPE_BYTES,   /* bytes */
    PGCDC_CTYPE_STRUCT,  /* record of schema->fields (VariableScaleDecimal, geometric types) */
    PGCDC_CTYPE_ARRAY,   /* array of the element schema, elements optional (nullable) */
    PGCDC_CTYPE_MAP,     /* string keys -> schema->values (a Geometry's extensions) */
};

#define PGCDC_TYPES_MAX_PARAMS 2

/* One entry of connect.parameters. */
struct pgcdc_schema_param {
    const char *key;  /* e.g. "scale", "connect.decimal.precision", "length", "allowed" */
    char value[24];   /* decimal text, NUL-terminated (when text is NULL) */
    const char *text; /* a longer value (an enum's labels; borrowed), or NULL */
};

struct pgcdc_schema;

/* One field of a STRUCT schema. */
struct pgcdc_field {
    const char *name;                  /* field name */
    const struct pgcdc_schema *schema; /* its schema (static) */
    bool optional;                     /* may be null (Avro ["null", T] with default null) */
};

/* The Connect schema of a field or of an array's elements. */
struct pgcdc_schema {
    enum pgcdc_ctype ctype; /* Connect type */
    const char *name;       /* connect.name (logical name), NULL for a plain type */
    int version;            /* connect.version, 0 when the schema has none */
    const char *doc;        /* connect.doc, NULL when none */
    int32_t scale;          /* Decimal: scale (also params[0]) */
    int32_t precision;      /* Decimal: connect.decimal.precision, 0 when absent (money) */
    int nparams;            /* entries used in params */
    struct pgcdc_schema_param params[PGCDC_TYPES_MAX_PARAMS]; /* connect.parameters, in order */
    int nfields;                                              /* STRUCT: entries in fields */
    const struct pgcdc_field *fields;  /* STRUCT: the fields in order (static), else NULL */
    const struct pgcdc_schema *values; /* MAP: schema of the values (keys are strings) */
    bool optional_values;              /* MAP: values may be null (Avro ["null", T]) */
};

/* How one column maps; filled once per relation column. */
struct pgcdc_typemap {
    struct pgcdc_schema schema; /* the field's schema */
    struct pgcdc_schema elem;   /* ARRAY only: the element schema (optional elements) */
    uint32_t type_oid;          /* the column's pg_type oid */
    int32_t typmod;             /* the column's typmod, -1 when none */
    int conv;                   /* internal converter id */
    int elem_conv;              /* ARRAY only: internal converter id of the elements */
    int32_t precision;          /* internal: time/timestamp fractional digits */
    char delim;                 /* ARRAY only: the element separator (',' or PostGIS's ':') */
};

/* A converted value. */
enum pgcdc_datum_kind {
    PGCDC_DATUM_NULL,    /* null */
    PGCDC_DATUM_BOOLEAN, /* u.b */
    PGCDC_DATUM_INT,     /* u.i, for INT16 / INT32 / INT64 */
    PGCDC_DATUM_FLOAT,   /* u.f, for FLOAT32 (already rounded to float) / FLOAT64 */
    PGCDC_DATUM_STRING,  /* bytes via pgcdc_datum_ptr(), UTF-8, not NUL-terminated */
    PGCDC_DATUM_BYTES,   /* bytes via pgcdc_datum_ptr() */
    PGCDC_DATUM_VSD,     /* VariableScaleDecimal: u.vsd_scale + bytes via pgcdc_datum_ptr() */
    PGCDC_DATUM_ARRAY,   /* u.arr.count elements, read them with pgcdc_types_array_next() */
    PGCDC_DATUM_STRUCT,  /* fields read with pgcdc_types_struct_field() */
    PGCDC_DATUM_MAP,     /* u.geo.count entries read with pgcdc_types_map_entry() */
};

struct pgcdc_datum {
    enum pgcdc_datum_kind kind; /* which value */
    const char *ptr; /* STRING/BYTES/VSD/ARRAY: data in the input, NULL when in scratch */
    size_t off;      /* data offset in scratch when ptr is NULL */
    size_t len;      /* bytes of data */
    union {
        bool b;            /* BOOLEAN */
        int64_t i;         /* INT */
        double f;          /* FLOAT */
        int32_t vsd_scale; /* VSD: scale of the unscaled value in the bytes */
        struct {
            uint32_t count;  /* number of elements */
            int placeholder; /* internal: unavailable-value array, 0 for a real one */
        } arr;               /* ARRAY */
        struct {
            double v[3];    /* point x y; circle centre x y, radius; line a b c */
            int shape;      /* internal: which geometric type */
            uint32_t count; /* MAP: number of entries */
            int32_t srid;   /* PostGIS: the EWKB's SRID, when it carries one */
        } geo;              /* STRUCT of a geometric type (WKB in the bytes), MAP */
    } u;
};

/* Iteration state over an ARRAY datum. */
struct pgcdc_array_iter {
    const char *p;           /* next unread byte of the array text */
    const char *end;         /* end of the array text */
    uint32_t left;           /* elements not yet returned */
    const char *placeholder; /* unavailable-value arrays: the placeholder */
    size_t placeholder_len;  /* bytes at placeholder */
    size_t pos;              /* unavailable-value arrays: next placeholder byte */
    int mode;                /* internal */
};

/* pg_type oids below this are built in (PostgreSQL's FirstNormalObjectId). */
#define PGCDC_TYPES_FIRST_USER_OID 16384u

/*
 * Maps a column of type type_oid with typmod (-1 when none) to its Connect
 * schema. include_unknown is Debezium's include.unknown.datatypes.
 * Returns 0; -ENOTSUP with a message in err when Debezium leaves the column
 * out of its events (unknown type without include_unknown, or a type it has
 * no schema for, e.g. interval[]): the caller drops the column and warns.
 * The message is a whole clause ("type 'x' ... left out of events ...").
 */
int pgcdc_types_map(uint32_t type_oid, int32_t typmod, bool include_unknown,
                    struct pgcdc_typemap *out /* OUT */, char *err, size_t errlen);

/* pgcdc_types_map() under the value-mapping modes m (include_unknown
 * taken from m). */
int pgcdc_types_map_modes(uint32_t type_oid, int32_t typmod, const struct pgcdc_types_modes *m,
                          struct pgcdc_typemap *out /* OUT */, char *err, size_t errlen);

/*
 * Maps a column whose type the catalog described in ti, as Debezium does:
 * a domain as its base type (with the domain's typmod when the column has
 * none), an enum as io.debezium.data.Enum with its labels, citext, ltree,
 * hstore, isbn, geometry and geography (PostGIS) by name, arrays of enums
 * and of those types but hstore as arrays.
 * The typemap borrows ti->labels (out's parameters point at it): keep it
 * alive as long as out. Returns 0 or -ENOTSUP as pgcdc_types_map.
 */
int pgcdc_types_map_info(const struct pgcdc_type_info *ti, int32_t typmod, bool include_unknown,
                         struct pgcdc_typemap *out /* OUT */, char *err, size_t errlen);

/* pgcdc_types_map_info() under the value-mapping modes m. */
int pgcdc_types_map_info_modes(const struct pgcdc_type_info *ti, int32_t typmod,
                               const struct pgcdc_types_modes *m,
                               struct pgcdc_typemap *out /* OUT */, char *err, size_t errlen);

/*
 * Converts one text value (len bytes, need not be NUL-terminated) of a
 * column mapped by tm. Scratch-backed results are appended to scratch (see
 * the top of this file); input-backed ones point into text, which must
 * outlive the datum.
 * Returns 0; -EINVAL for text that is not a valid output of the type,
 * -ERANGE for a value Debezium cannot represent either (numeric NaN or
 * Infinity in precise mode, more fraction digits than the column's scale,
 * an integer out of range), -ENOMEM; a message naming the value in err.
 */
int pgcdc_types_convert(const struct pgcdc_typemap *tm, const char *text, size_t len,
                        struct pgcdc_buf *scratch, struct pgcdc_datum *out /* OUT */, char *err,
                        size_t errlen);

/*
 * The value Debezium emits for an unchanged TOASTed column ('u' in pgoutput)
 * with unavailable.value.placeholder = placeholder (NUL-terminated; it must
 * outlive the datum): the placeholder as a STRING for string-like types, its
 * bytes for BYTES and Decimal, {scale 0, its bytes} for VariableScaleDecimal,
 * ["placeholder"] for text[]/varchar[]/json[]/jsonb[], one element per
 * placeholder byte for int4[]/date[]/int8[], and NULL for the other types
 * (fixed-width types are never TOASTed). Returns 0.
 */
int pgcdc_types_unavailable(const struct pgcdc_typemap *tm, const char *placeholder,
                            struct pgcdc_datum *out /* OUT */);

/* The bytes of a STRING, BYTES or VSD datum, resolved against the scratch
 * buffer passed to the convert call that produced it. */
const char *pgcdc_datum_ptr(const struct pgcdc_datum *d, const struct pgcdc_buf *scratch);

/* Starts iterating over the elements of an ARRAY datum. */
void pgcdc_types_array_begin(const struct pgcdc_datum *arr, struct pgcdc_array_iter *it /* OUT */);

/*
 * Converts the next element of an ARRAY datum of a column mapped by tm,
 * with the element schema tm->elem. Element bytes may be appended to scratch
 * (same rules as pgcdc_types_convert). Returns 1 with an element in out, 0
 * at the end, or a negative errno as pgcdc_types_convert.
 */
int pgcdc_types_array_next(const struct pgcdc_typemap *tm, struct pgcdc_array_iter *it,
                           struct pgcdc_buf *scratch, struct pgcdc_datum *out /* OUT */, char *err,
                           size_t errlen);

/*
 * Field i of a STRUCT or VSD datum d (in the order of its schema's fields)
 * into out; bytes stay where d's are. Returns 0, -EINVAL when there is no
 * such field.
 */
int pgcdc_types_struct_field(const struct pgcdc_datum *d, int i, struct pgcdc_datum *out /* OUT */);

/* Entry i (< d->u.geo.count) of a MAP datum: NUL-terminated, static key
 * and value. Returns 0, -EINVAL when there is no such entry. */
int pgcdc_types_map_entry(const struct pgcdc_datum *d, uint32_t i, const char **key /* OUT */,
                          const char **value /* OUT */);

/* Entry i (< d->u.geo.count) of any MAP datum, a Geometry's extensions or
 * an hstore under hstore.handling.mode=map, whose entries are in the
 * scratch buffer passed to the convert call that produced d: NUL-terminated
 * key and value, *value NULL for an hstore NULL. Valid as the datum's
 * bytes are. Returns 0, -EINVAL when there is no such entry. */
int pgcdc_types_map_entry_in(const struct pgcdc_datum *d, const struct pgcdc_buf *scratch,
                             uint32_t i, const char **key /* OUT */, const char **value /* OUT */);

/* PostgreSQL's name of a built-in type oid ("int4", "_text", ...), or NULL. */
const char *pgcdc_types_pg_name(uint32_t type_oid);

#endif
