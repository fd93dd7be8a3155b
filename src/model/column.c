/*
 * column.c - one column of a decoded row as a neutral value.
 *
 * The step every encoder shares between pgoutput's tuple columns and its own
 * output: null, the placeholder for an unchanged TOASTed value, or the text
 * value through the column's type mapping. Kept apart from the relation
 * cache so encoders link without the configuration.
 */
#include <errno.h>
#include <stdio.h>

#include "pgcdc/relcache.h"

int pgcdc_rel_column_datum(const struct pgcdc_rel *rel, uint16_t i,
                           const struct pgcdc_value *col, const char *placeholder,
                           struct pgcdc_buf *scratch,
                           struct pgcdc_datum *out, char *err, size_t errlen)
{
    const struct pgcdc_relcol *rc = &rel->cols[i];
    char cerr[256];
    int ret;

    switch (col->kind) {
    case PGCDC_VALUE_NULL:
        out->kind = PGCDC_DATUM_NULL;
        return 0;
    case PGCDC_VALUE_UNCHANGED:
        ret = pgcdc_types_unavailable(&rc->tm, placeholder, out);
        if (ret < 0)
            snprintf(err, errlen, "table '%s.%s': column '%s': no placeholder for this type",
                     rel->nspname, rel->relname, rc->name);
        return ret;
    case PGCDC_VALUE_TEXT:
        ret = pgcdc_types_convert(&rc->tm, col->data, col->len, scratch, out, cerr, sizeof(cerr));
        if (ret < 0)
            snprintf(err, errlen, "table '%s.%s': column '%s': %s", rel->nspname, rel->relname,
                     rc->name, cerr);
        return ret;
    default:
        snprintf(err, errlen,
                 "table '%s.%s': column '%s': binary values are not supported (do not set "
                 "the pgoutput 'binary' option)",
                 rel->nspname, rel->relname, rc->name);
        return -ENOTSUP;
    }
}
