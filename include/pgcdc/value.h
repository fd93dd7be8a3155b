/*
 * value.h - one column value as a source delivers it, before any type
 * conversion.
 *
 * The vocabulary shared by the stages: the pgoutput decoder fills arrays of
 * these straight from the wire, a snapshot fills them from COPY text, the
 * change model (change.h) hands them to encoders. It belongs to no stage, so
 * that each can use it without depending on another.
 */
#ifndef PGCDC_VALUE_H
#define PGCDC_VALUE_H

#include <stdint.h>

/* The four states of a column value; the letters are pgoutput's. */
enum pgcdc_value_kind {
    PGCDC_VALUE_NULL = 'n',      /* SQL NULL */
    PGCDC_VALUE_UNCHANGED = 'u', /* unchanged TOASTed value, not sent */
    PGCDC_VALUE_TEXT = 't',      /* text output format */
    PGCDC_VALUE_BINARY = 'b',    /* binary send format */
};

struct pgcdc_value {
    enum pgcdc_value_kind kind; /* which of the four */
    uint32_t len;               /* bytes at data (text and binary only) */
    const char *data;           /* value, not NUL-terminated; NULL for null and unchanged */
};

#endif
