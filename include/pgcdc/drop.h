/*
 * drop.h - `pgcdc drop`: removes what pgcdc created in the database, its
 * replication slot and its own publication, so that nothing keeps
 * retaining WAL once pgcdc is gone.
 *
 * Used in two steps so that the caller can ask a person in between:
 * pgcdc_drop_prepare() looks at the database and says what it would drop
 * (and what it leaves, and why), pgcdc_drop_execute() drops it. From
 * prepare on, pgcdc's claim on the slot (catalog.h) is held, so no pgcdc
 * can start on the slot until the handle is freed; a slot some client
 * streams from is refused at prepare.
 */
#ifndef PGCDC_DROP_H
#define PGCDC_DROP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct pgcdc_config;
struct pgcdc_drop;

/* Connects, claims the slot and reads the slot and the publication. Writes
 * to out one line per object: what will be dropped and what is left in
 * place. 0; -EBUSY when the slot is in use (a running pgcdc or another
 * client) or another pgcdc holds its claim; another negative errno (pq.h's
 * classes) when the database cannot be read. Text in err. */
int pgcdc_drop_prepare(struct pgcdc_drop **out /* OUT */, const struct pgcdc_config *cfg,
                       FILE *report, char *err, size_t errlen);

/* True when prepare found something to drop. */
bool pgcdc_drop_has_work(const struct pgcdc_drop *d);

/* Drops the slot, then the publication, writing a line to report for each
 * one dropped. 0, or a negative errno with text in err (what was dropped
 * before the error stays dropped, and was reported). */
int pgcdc_drop_execute(struct pgcdc_drop *d, FILE *report, char *err, size_t errlen);

/* Closes the connections (releasing the claim) and frees; sets *dp to NULL.
 * NULL-safe. */
void pgcdc_drop_free(struct pgcdc_drop **dp);

#endif
