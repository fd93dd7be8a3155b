/*
 * error.h - error classes that cross stages.
 *
 * Functions return 0 or a negative errno. Most errnos say what failed; the
 * codes here say what the caller should do about it, whatever stage found
 * the problem.
 */
#ifndef PGCDC_ERROR_H
#define PGCDC_ERROR_H

#include <errno.h>

/* A problem a person must fix in pgcdc's configuration (or in what it
 * captures), which retrying cannot cure: two captured tables that map to one
 * topic, a pattern too costly to match. main.c exits 78 (EX_CONFIG), which
 * the systemd unit does not restart. Returned negated, as -PGCDC_ECONFIG. */
#define PGCDC_ECONFIG EKEYREJECTED

#endif
