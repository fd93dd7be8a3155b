/*
 * publication.h - the publication pgcdc streams from, managed per
 * publication.autocreate.mode.
 */
#ifndef PGCDC_PUBLICATION_H
#define PGCDC_PUBLICATION_H

#include <stddef.h>

struct pgcdc_config;
struct pgcdc_stream;

/* Creates or alters the publication as cfg says, on the replication
 * connection before streaming starts. Every identifier is quoted. */
int pgcdc_publication_ensure(struct pgcdc_stream *s, const struct pgcdc_config *cfg, char *err,
                             size_t errlen);

#endif
