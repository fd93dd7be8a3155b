/*
 * status.h - `pgcdc status`: a one-screen report for a person on the slot,
 * the stored and confirmed positions, the lag, the retained WAL, the last
 * event and the topics; read-only, whether pgcdc runs or not.
 */
#ifndef PGCDC_STATUS_H
#define PGCDC_STATUS_H

#include <stddef.h>
#include <stdio.h>

struct pgcdc_config;

/* Prints the report on out. 0, or a negative errno with text in err when
 * the database cannot be read (what was printed before stays). */
int pgcdc_status_print(const struct pgcdc_config *cfg, FILE *out, char *err, size_t errlen);

#endif
