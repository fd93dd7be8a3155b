/*
 * publication.h - the publication pgcdc streams from, managed per
 * publication.autocreate.mode, and the catalog lookups that pgoutput's
 * messages do not carry (primary keys under REPLICA IDENTITY FULL/INDEX).
 */
#ifndef PGCDC_PUBLICATION_H
#define PGCDC_PUBLICATION_H

#include <stddef.h>
#include <stdint.h>

struct pgcdc_config;
struct pgcdc_stream;
struct pgcdc_catalog;

/* Creates or alters the publication as cfg says, on the replication
 * connection before streaming starts. Every identifier is quoted. */
int pgcdc_publication_ensure(struct pgcdc_stream *s, const struct pgcdc_config *cfg, char *err,
                             size_t errlen);

/* A catalog reader over its own (non-replication) connection, opened on
 * first use with conninfo (copied). */
int pgcdc_catalog_new(struct pgcdc_catalog **out /* OUT */, const char *conninfo, char *err,
                      size_t errlen);

/* The primary key column names of relid (malloc'd, caller frees), at most
 * max; returns the count (0: no primary key) or a negative errno. Matches
 * pgcdc_relcache_pk_fn with arg = the catalog. */
int pgcdc_catalog_pk_columns(void *catalog, uint32_t relid, char **names /* OUT */, int max,
                             char *err, size_t errlen);

/* Closes the connection and frees; sets *cp to NULL. NULL-safe. */
void pgcdc_catalog_free(struct pgcdc_catalog **cp);

#endif
