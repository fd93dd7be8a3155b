/*
 * publication.h - the publication pgcdc streams from, managed per
 * publication.autocreate.mode.
 */
#ifndef PGCDC_PUBLICATION_H
#define PGCDC_PUBLICATION_H

#include <stdbool.h>
#include <stddef.h>

struct pgcdc_config;
struct pgcdc_stream;

/* The comment pgcdc puts on a publication it creates starts with this: pgcdc
 * alters, and `pgcdc drop` removes, only a publication that carries it. */
#define PGCDC_PUBLICATION_MARK "managed by pgcdc"

/* True when comment (a publication's, may be NULL) carries the mark. */
bool pgcdc_publication_is_marked(const char *comment);

/* Whether schema.table is captured (column NULL), or whether pgcdc needs
 * its column (column filters, key columns): 1 yes, 0 no, or a negative
 * errno with text in err. The caller supplies the filters (filter.h), which
 * belong to the model, so that this source module does not depend on it. */
typedef int (*pgcdc_publication_filter_fn)(void *arg, const char *schema, const char *table,
                                           const char *column, char *err, size_t errlen);

/* Creates or alters the publication as cfg says, on the replication
 * connection before streaming starts; in filtered mode its tables are those
 * filter (called with arg) captures, and with publication.column.lists on
 * PostgreSQL 15+ each table's column list holds the columns filter wants
 * plus its replica identity. Every identifier is quoted. */
int pgcdc_publication_ensure(struct pgcdc_stream *s, const struct pgcdc_config *cfg,
                             pgcdc_publication_filter_fn filter, void *arg, char *err,
                             size_t errlen);

#endif
