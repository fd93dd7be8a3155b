/*
 * publication.h - the publication pgcdc streams from, managed per
 * publication.autocreate.mode, and the catalog lookups that pgoutput's
 * messages do not carry (primary keys under REPLICA IDENTITY FULL/INDEX,
 * what a type only named by oid is).
 */
#ifndef PGCDC_PUBLICATION_H
#define PGCDC_PUBLICATION_H

#include <stdbool.h>
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

/* Called once per table by pgcdc_catalog_publication_tables(); a negative
 * return stops the walk and is returned. */
typedef int (*pgcdc_catalog_table_fn)(void *arg, uint32_t relid, const char *nspname,
                                      const char *relname, char *err, size_t errlen);

/* Calls fn for every table publication pubname publishes now (as
 * pg_publication_tables lists them), in name order. 0, the first negative
 * return of fn, or -ECONNREFUSED / -EIO with text in err. */
int pgcdc_catalog_publication_tables(void *catalog, const char *pubname,
                                     pgcdc_catalog_table_fn fn, void *arg, char *err,
                                     size_t errlen);

/* The current schema and table name of relid (copied, cut to fit). 0,
 * -ENOENT when no such relation exists any more, -ECONNREFUSED or -EIO with
 * text in err. Matches pgcdc_relcache_name_fn with arg = the catalog. */
int pgcdc_catalog_rel_name(void *catalog, uint32_t relid, char *nspname /* OUT */, size_t nsplen,
                           char *relname /* OUT */, size_t rellen, char *err, size_t errlen);

struct pgcdc_type_info;

/*
 * Describes type oid (struct pgcdc_type_info of types.h): domains followed
 * to their base type, an enum's labels, an array's element type, the
 * extension a type belongs to. Answers are cached per oid; refresh reads
 * the catalog again. out->labels is owned by the catalog and stays valid
 * until the next call for the same oid. Matches pgcdc_relcache_type_fn
 * with arg = the catalog. Returns 0, -ECONNREFUSED, -EIO or -ENOMEM with
 * text in err.
 */
int pgcdc_catalog_type_info(void *catalog, uint32_t oid, bool refresh,
                            struct pgcdc_type_info *out /* OUT */, char *err, size_t errlen);

/* Closes the connection and frees; sets *cp to NULL. NULL-safe. */
void pgcdc_catalog_free(struct pgcdc_catalog **cp);

#endif
