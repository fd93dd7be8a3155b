/*
 * lsn.c - WAL positions in PostgreSQL's "X/Y" text notation.
 *
 * The halves are the high and low 32 bits in hexadecimal, one to eight digits
 * each; no sign, no "0x", no spaces. Parsing is strict so that a damaged
 * position file is noticed rather than read as a different position.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "pgcdc/lsn.h"
#include "pgcdc/hex.h"

const char *pgcdc_lsn_format(pgcdc_lsn lsn, char buf[PGCDC_LSN_BUFLEN])
{
    snprintf(buf, PGCDC_LSN_BUFLEN, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
    return buf;
}

/* Reads one to eight hex digits at *p into *half and moves *p past them. */
static int parse_half(const char **p, uint32_t *half /* OUT */)
{
    uint32_t v = 0;
    int n = 0;

    for (int d = pgcdc_hex_value(**p); d >= 0; d = pgcdc_hex_value(**p)) {
        if (n == 8)
            return -EINVAL;
        v = (v << 4) | (uint32_t)d;
        n++;
        (*p)++;
    }
    if (n == 0)
        return -EINVAL;
    *half = v;
    return 0;
}

int pgcdc_lsn_parse(const char *text, pgcdc_lsn *out)
{
    const char *p = text;
    uint32_t hi;
    uint32_t lo;

    if (!text)
        return -EINVAL;
    if (parse_half(&p, &hi) < 0 || *p != '/')
        return -EINVAL;
    p++;
    if (parse_half(&p, &lo) < 0 || *p != '\0')
        return -EINVAL;
    *out = ((pgcdc_lsn)hi << 32) | lo;
    return 0;
}
