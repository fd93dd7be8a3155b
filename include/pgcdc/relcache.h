/*
 * relcache.h - the table model built from pgoutput Relation messages.
 *
 * The server sends a Relation message before a relation's first change in
 * each session and again after any DDL on it. Each one replaces the cached
 * entry (never merged); when the columns changed, the entry's version is
 * bumped, so that consumers which keep state per table shape (encoders,
 * keyed by relid and version) know to rebuild it.
 *
 * An entry also carries what is decided once per version rather than per
 * event: whether the table passes the table filter, which columns pass the
 * column filter and have a supported type, which columns form the event key,
 * the value conversion of each column, and the Kafka topic name.
 *
 * Columns of types pgoutput only names by oid (enums, domains, extension
 * types: every oid from PGCDC_TYPES_FIRST_USER_OID on) are mapped from the
 * catalog through the type callback when one is set; without it they are
 * unknown types (include.unknown.datatypes).
 */
#ifndef PGCDC_RELCACHE_H
#define PGCDC_RELCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/types.h"
#include "pgcdc/value.h"

struct pgcdc_config;
struct pgcdc_msg; /* pgoutput.h: Relation and Type messages */
struct pgcdc_relcache;

struct pgcdc_relcol {
    char *name;              /* column name */
    uint32_t type_oid;       /* pg_type oid */
    int32_t typmod;          /* atttypmod, -1 when none */
    bool key;                /* part of the event key */
    bool included;           /* emitted: passes the column filter and the type is supported */
    struct pgcdc_typemap tm; /* value conversion (valid when included or key) */
    char *labels;            /* enum labels tm's connect.parameters point at, or NULL */
};

/* Operations counted per table: Debezium's op codes c u d t r. */
#define PGCDC_REL_OPS 5

/* Events produced for one table, by operation; shared by every version of
 * the table's relation cache entry. */
struct pgcdc_rel_counts {
    uint64_t events[PGCDC_REL_OPS]; /* by pgcdc_rel_op_index() */
};

/* The index of op in struct pgcdc_rel_counts, or -1 for one not counted. */
static inline int pgcdc_rel_op_index(char op)
{
    switch (op) {
    case 'c':
        return 0;
    case 'u':
        return 1;
    case 'd':
        return 2;
    case 't':
        return 3;
    case 'r':
        return 4;
    default:
        return -1;
    }
}

struct pgcdc_rel {
    uint32_t relid;            /* relation oid */
    char *nspname;             /* schema name */
    char *relname;             /* table name */
    char replident;            /* 'd' default, 'n' nothing, 'f' full, 'i' index */
    uint16_t ncols;            /* columns in cols, in the order of the tuples */
    struct pgcdc_relcol *cols; /* the columns */
    uint16_t nkeys;            /* columns with key set */
    uint32_t version;          /* bumped whenever the columns change */
    bool included;             /* the table passes the table filter */
    char *topic;               /* Kafka topic, as topic.h names it */
    uint64_t filtered;         /* changes dropped as outside the table filters, all versions */
    struct pgcdc_rel_counts *counts; /* events produced, shared by all versions;
                                      * writable through a const entry, NULL without memory */
};

/*
 * Looks up the primary key column names of a table, for tables whose replica
 * identity does not name it (FULL marks every column, INDEX a unique index).
 * Fills names (up to max) and returns the count, 0 for a table without a
 * primary key, or a negative errno with text in err.
 */
typedef int (*pgcdc_relcache_pk_fn)(void *arg, uint32_t relid, char **names, int max, char *err,
                                    size_t errlen);

/*
 * Describes type oid from the catalog (see struct pgcdc_type_info; its
 * labels need only stay valid until the next call). refresh asks for fresh
 * catalog rows rather than cached ones: the cache sets it when a relation
 * it knew is sent again (after DDL or a reconnect). Returns 0, -ENOENT
 * when the type no longer exists (its column is then left out, with a
 * warning), or another negative errno with text in err.
 */
typedef int (*pgcdc_relcache_type_fn)(void *arg, uint32_t oid, bool refresh,
                                      struct pgcdc_type_info *out, char *err, size_t errlen);

/*
 * Writes the current schema and table name of relation relid (cut to fit
 * nsplen / rellen): 0, -ENOENT when it no longer exists, or another negative
 * errno with text in err. Used to tell a real topic clash from a relation
 * the cache knows by an old name.
 */
typedef int (*pgcdc_relcache_name_fn)(void *arg, uint32_t relid, char *nspname, size_t nsplen,
                                      char *relname, size_t rellen, char *err, size_t errlen);

/* Creates an empty cache. cfg (borrowed, must outlive the cache) supplies the
 * filters, topic.prefix and include.unknown.datatypes. */
int pgcdc_relcache_new(struct pgcdc_relcache **out /* OUT */, const struct pgcdc_config *cfg,
                       char *err, size_t errlen);

/* Sets the primary key lookup used for FULL and INDEX replica identities. */
void pgcdc_relcache_set_pk_lookup(struct pgcdc_relcache *rc, pgcdc_relcache_pk_fn fn, void *arg);

/* Sets the type lookup used for user-defined and extension types. */
void pgcdc_relcache_set_type_lookup(struct pgcdc_relcache *rc, pgcdc_relcache_type_fn fn,
                                    void *arg);

/* Sets the current-name lookup used when two relations claim one topic. */
void pgcdc_relcache_set_name_lookup(struct pgcdc_relcache *rc, pgcdc_relcache_name_fn fn,
                                    void *arg);

/*
 * Start-up check, called once per table the publication publishes (a
 * pgcdc_catalog_table_fn with cache = the cache): a table that passes the
 * table filters claims its topic. 0; -PGCDC_ECONFIG (error.h) with both
 * tables named in err when another captured table already maps to the same
 * topic, or when a filter pattern is too costly; -ENOMEM.
 */
int pgcdc_relcache_claim_table(void *cache, uint32_t relid, const char *nspname,
                               const char *relname, char *err, size_t errlen);

/* Replaces the entry for a decoded Relation message. *rel points at the
 * entry (owned by the cache); *changed says whether the version moved.
 * A captured table whose topic another captured table holds is refused
 * with -PGCDC_ECONFIG, as in pgcdc_relcache_claim_table(). */
int pgcdc_relcache_apply(struct pgcdc_relcache *rc, const struct pgcdc_msg *msg,
                         struct pgcdc_rel **rel /* OUT */, bool *changed /* OUT */, char *err,
                         size_t errlen);

/* Counts the changes of a decoded Insert, Update, Delete or Truncate that
 * are dropped because their table is outside the table filters, and says so
 * at debug level at a table's 1st, 10th, 100th, ... */
void pgcdc_relcache_count_filtered(struct pgcdc_relcache *rc, const struct pgcdc_msg *msg);

/* Logs each table's count of filtered-out changes at debug level and their
 * total at info level (when there were any): for the stop. */
void pgcdc_relcache_log_filtered(const struct pgcdc_relcache *rc);

/* Records a decoded Type message (user-defined type names, for messages). */
int pgcdc_relcache_apply_type(struct pgcdc_relcache *rc, const struct pgcdc_msg *msg, char *err,
                              size_t errlen);

/* The entry for relid, or NULL when no Relation message was seen for it. */
/* The entry after *pos (start from 0), or NULL past the last. */
const struct pgcdc_rel *pgcdc_relcache_next(const struct pgcdc_relcache *rc, size_t *pos);

struct pgcdc_rel *pgcdc_relcache_get(const struct pgcdc_relcache *rc, uint32_t relid);

/*
 * Converts column i of a row of rel into out, as every encoder needs
 * it: NULL stays null, an unchanged TOASTed value becomes the placeholder,
 * text goes through the column's type mapping (scratch as in
 * pgcdc_types_convert). 0, or a negative errno with a message naming the
 * table and the column.
 */
int pgcdc_rel_column_datum(const struct pgcdc_rel *rel, uint16_t i,
                           const struct pgcdc_value *col, const char *placeholder,
                           struct pgcdc_buf *scratch,
                           struct pgcdc_datum *out /* OUT */, char *err, size_t errlen);

/* Frees the cache and every entry; sets *rcp to NULL. NULL-safe. */
void pgcdc_relcache_free(struct pgcdc_relcache **rcp);

#endif
