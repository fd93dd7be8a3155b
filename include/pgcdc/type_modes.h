/*
 * type_modes.h - Debezium's value-mapping modes (decimal.handling.mode,
 * time.precision.mode, binary.handling.mode, interval.handling.mode,
 * money.fraction.digits).
 *
 * The configuration (config.h) reads them; the type mapping (types.h)
 * applies them once per column. They belong to neither, so that the
 * configuration does not depend on the model.
 */
#ifndef PGCDC_TYPE_MODES_H
#define PGCDC_TYPE_MODES_H

#include <stdbool.h>

/* decimal.handling.mode: numeric and money. */
enum pgcdc_decimal_mode {
    PGCDC_DECIMAL_PRECISE = 0, /* "precise": Decimal bytes, VariableScaleDecimal */
    PGCDC_DECIMAL_DOUBLE = 1,  /* "double": float64 */
    PGCDC_DECIMAL_STRING = 2,  /* "string": the plain decimal text */
};

/* time.precision.mode: date, time and timestamp (not the zoned types). */
enum pgcdc_time_mode {
    PGCDC_TIME_ADAPTIVE = 0,              /* "adaptive": ms up to 3 digits, else us */
    PGCDC_TIME_ADAPTIVE_TIME_MICROS = 1,  /* "adaptive_time_microseconds": time always us */
    PGCDC_TIME_CONNECT = 2,               /* "connect": Kafka Connect's ms logical types */
};

/* binary.handling.mode: bytea. */
enum pgcdc_binary_mode {
    PGCDC_BINARY_BYTES = 0,       /* "bytes" */
    PGCDC_BINARY_BASE64 = 1,      /* "base64": a string, standard alphabet, padded */
    PGCDC_BINARY_BASE64_URL = 2,  /* "base64-url-safe": a string, URL alphabet, padded */
    PGCDC_BINARY_HEX = 3,         /* "hex": a string of lower-case hex digits */
};

/* hstore.handling.mode. */
enum pgcdc_hstore_mode {
    PGCDC_HSTORE_JSON = 0, /* "json": io.debezium.data.Json text */
    PGCDC_HSTORE_MAP = 1,  /* "map": a map of string keys to optional string values */
};

/* interval.handling.mode. */
enum pgcdc_interval_mode {
    PGCDC_INTERVAL_NUMERIC = 0, /* "numeric": MicroDuration, approximate microseconds */
    PGCDC_INTERVAL_STRING = 1,  /* "string": io.debezium.time.Interval, ISO 8601 */
};

/* Debezium's value-mapping modes; all zero is Debezium's defaults but
 * money_digits, which is 2 there (PGCDC_TYPES_MODES_DEFAULT). */
struct pgcdc_types_modes {
    enum pgcdc_decimal_mode decimal;   /* decimal.handling.mode */
    enum pgcdc_time_mode time;         /* time.precision.mode */
    enum pgcdc_binary_mode binary;     /* binary.handling.mode */
    enum pgcdc_interval_mode interval; /* interval.handling.mode */
    enum pgcdc_hstore_mode hstore;     /* hstore.handling.mode */
    int money_digits;                  /* money.fraction.digits, 0..18 */
    bool include_unknown;              /* include.unknown.datatypes */
};

#define PGCDC_TYPES_MODES_DEFAULT {.money_digits = 2}

#endif
