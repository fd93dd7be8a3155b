/*
 * source.c - the parts of Debezium's `source` block that every encoder
 * formats the same way.
 */
#include <string.h>

#include "pgcdc/encoder.h"

void pgcdc_source_sequence(const struct pgcdc_source *s, char out[PGCDC_SOURCE_SEQUENCE_LEN])
{
    size_t n = 0;

    out[n++] = '[';
    if (s->last_commit_lsn) {
        out[n++] = '"';
        n += pgcdc_fmt_uint(out + n, s->last_commit_lsn);
        out[n++] = '"';
    } else {
        memcpy(out + n, "null", 4);
        n += 4;
    }
    out[n++] = ',';
    out[n++] = '"';
    n += pgcdc_fmt_uint(out + n, s->lsn);
    out[n++] = '"';
    out[n++] = ']';
    out[n] = '\0';
}
