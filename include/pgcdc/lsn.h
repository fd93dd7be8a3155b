/*
 * lsn.h - WAL positions in PostgreSQL's text notation.
 *
 * PostgreSQL writes an LSN as two hexadecimal numbers, the high and the low
 * 32 bits, separated by a slash: "16/B374D848" is 0x16B374D848. Each half has
 * one to eight digits. This is the notation of pg_lsn, pg_replication_slots,
 * pg_recvlogical and the server's log, so it is what pgcdc shows operators and
 * writes in its position file.
 *
 * The type lives here, apart from the protocol decoder, so that code which
 * only stores or compares positions (the checkpoint tracker and store)
 * depends on nothing else.
 */
#ifndef PGCDC_LSN_H
#define PGCDC_LSN_H

#include <stdint.h>

typedef uint64_t pgcdc_lsn; /* WAL position; 0 = invalid */

/* Bytes needed for the longest formatted LSN, "FFFFFFFF/FFFFFFFF", and its NUL
 * (with room to spare). */
#define PGCDC_LSN_BUFLEN 24

/* Writes lsn as "%X/%X" (upper case, no leading zeros) into buf and returns
 * buf, so it can be used as a printf argument. */
const char *pgcdc_lsn_format(pgcdc_lsn lsn, char buf[PGCDC_LSN_BUFLEN] /* OUT */);

/* Parses "X/Y" exactly as PostgreSQL's pg_lsn input does: one to eight hex
 * digits (either case) on each side of one slash, nothing else around them.
 * 0, or -EINVAL (out unchanged). */
int pgcdc_lsn_parse(const char *text, pgcdc_lsn *out /* OUT */);

#endif
