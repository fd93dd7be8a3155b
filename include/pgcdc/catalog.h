/*
 * catalog.h - lookups that pgoutput's messages do not carry (primary keys
 * under REPLICA IDENTITY FULL/INDEX, what a type only named by oid is), and
 * the claim on a slot that keeps a second pgcdc from changing anything
 * before it could stream.
 */
#ifndef PGCDC_CATALOG_H
#define PGCDC_CATALOG_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pgcdc_catalog;
struct pgcdc_type_info;

/* A catalog reader over its own (non-replication) connection, opened on
 * first use with conninfo (copied); connecting gives up after
 * connect_timeout_ms (0 = no limit) or when *stop is set. */
int pgcdc_catalog_new(struct pgcdc_catalog **out /* OUT */, const char *conninfo,
                      int connect_timeout_ms, volatile sig_atomic_t *stop, char *err,
                      size_t errlen);

/*
 * Claims slot for this process before anything is created or altered: a
 * session advisory lock derived from the slot name, held by the catalog
 * connection for as long as it lives, then a check that no process streams
 * from the slot. Another pgcdc on the same slot is -EBUSY, with the holder
 * named in err; so is a slot some other client streams from. Claiming
 * again on the same connection does nothing.
 */
int pgcdc_catalog_claim_slot(struct pgcdc_catalog *c, const char *slot, char *err,
                             size_t errlen);

/* Called once per table by the table walks below; a negative
 * return stops the walk and is returned. */
typedef int (*pgcdc_catalog_table_fn)(void *arg, uint32_t relid, const char *nspname,
                                      const char *relname, char *err, size_t errlen);

/* Calls fn for every table publication pubname publishes now (as
 * pg_publication_tables lists them), in name order. 0, the first negative
 * return of fn, or a negative errno classed as pq.h says, with text in
 * err. */
int pgcdc_catalog_publication_tables(void *catalog, const char *pubname,
                                     pgcdc_catalog_table_fn fn, void *arg, char *err,
                                     size_t errlen);

/* Calls fn for every table a publication pgcdc creates or sets could
 * publish (ordinary and partitioned tables outside the system schemas, not
 * partitions, which publish through their root), in name order. Returns as
 * pgcdc_catalog_publication_tables() does. */
int pgcdc_catalog_user_tables(void *catalog, pgcdc_catalog_table_fn fn, void *arg, char *err,
                              size_t errlen);

/* The current schema and table name of relid (copied, cut to fit). 0,
 * -ENOENT when no such relation exists any more, or another negative errno
 * with text in err. Matches pgcdc_relcache_name_fn with arg = the catalog. */
int pgcdc_catalog_rel_name(void *catalog, uint32_t relid, char *nspname /* OUT */, size_t nsplen,
                           char *relname /* OUT */, size_t rellen, char *err, size_t errlen);

/* The primary key column names of relid (malloc'd, caller frees), at most
 * max; returns the count (0: no primary key) or a negative errno. Matches
 * pgcdc_relcache_pk_fn with arg = the catalog. */
int pgcdc_catalog_pk_columns(void *catalog, uint32_t relid, char **names /* OUT */, int max,
                             char *err, size_t errlen);

/*
 * Describes type oid (struct pgcdc_type_info of types.h): domains followed
 * to their base type, an enum's labels, an array's element type, the
 * extension a type belongs to. Answers are cached per oid; refresh reads
 * the catalog again. out->labels is owned by the catalog and stays valid
 * until the next call for the same oid. Matches pgcdc_relcache_type_fn
 * with arg = the catalog. Returns 0, -ENOENT when the type no longer
 * exists (dropped after the change being decoded), -ECONNRESET, -EIO or
 * -ENOMEM with text in err.
 */
int pgcdc_catalog_type_info(void *catalog, uint32_t oid, bool refresh,
                            struct pgcdc_type_info *out /* OUT */, char *err, size_t errlen);

/*
 * Streaming (on): a lookup above whose answer is not in asks its query and
 * returns -EINPROGRESS instead of waiting; the caller holds its message and
 * handles it again once pgcdc_catalog_busy() is false, then calls
 * pgcdc_catalog_done(). A connection that is lost is opened again the same
 * way, driven by the loop: the lookup's next call after that gets the
 * connection's error (pq.h's classes; -ETIMEDOUT after connect_timeout_ms).
 * Off (the default, for the start-up queries): every query waits for its
 * answer, at most connect_timeout_ms (then -ETIMEDOUT, and the connection
 * is closed) and not after *stop is set (-EINTR).
 */
void pgcdc_catalog_set_nonblocking(struct pgcdc_catalog *c, bool on);

/* A query asked by a non-blocking lookup is not answered yet (its
 * connection may still be opening). */
bool pgcdc_catalog_busy(struct pgcdc_catalog *c);

/* Fills *pfd with the catalog connection's socket and the events to wait
 * for while a query is pending: 1, or 0 when there is nothing to wait for.
 * *timeout_ms gets the time left until connecting gives up, which
 * pgcdc_catalog_perform() must then be called for, or -1 for none. */
int pgcdc_catalog_pollfd(struct pgcdc_catalog *c, struct pollfd *pfd /* OUT */,
                         int *timeout_ms /* OUT */);

/* Moves the pending query on without waiting (opening its connection,
 * sending it, reading the answer); its answer (or the connection's
 * failure) is kept for the lookup's retry. */
void pgcdc_catalog_perform(struct pgcdc_catalog *c);

/* The message whose lookups were answered is handled (or given up): the
 * answers kept for it are dropped, as is that of a query still pending. */
void pgcdc_catalog_done(struct pgcdc_catalog *c);

/* The replication slot as pg_replication_slots shows it. */
struct pgcdc_slot_stats {
    bool exists;             /* the slot exists */
    bool active;             /* a process streams from it */
    int pid;                 /* that process, 0 = none */
    char wal_status[16];     /* reserved, extended, unreserved or lost; "" when unknown */
    int64_t retained_bytes;  /* WAL from its restart_lsn to the server's position, -1 unknown */
    int64_t safe_wal_size;   /* bytes until max_slot_wal_keep_size, -1 unlimited or unknown */
    uint64_t confirmed_lsn;  /* its confirmed_flush_lsn, 0 unknown */
    uint64_t server_lsn;     /* the server's current WAL position */
};

/*
 * Asks, without waiting, for slot's row (a background query: no message
 * waits for it, and pgcdc_catalog_done() leaves it alone). Only while
 * lookups are non-blocking and nothing else is asked: otherwise -EBUSY and
 * nothing is asked. Its answer is taken with pgcdc_catalog_slot_stats().
 */
int pgcdc_catalog_ask_slot_stats(struct pgcdc_catalog *c, const char *slot);

/* The answer to pgcdc_catalog_ask_slot_stats(), once in: true with *out
 * filled (exists false when there is no such slot), or false when none has
 * come since the last call (or the query failed). */
bool pgcdc_catalog_slot_stats(struct pgcdc_catalog *c, struct pgcdc_slot_stats *out /* OUT */);

/* The query that reads a slot's row ($1: the slot's name): active,
 * active_pid, wal_status, retained bytes, safe_wal_size, confirmed_flush_lsn
 * and the server's position as numbers; no row when there is no slot. */
extern const char pgcdc_catalog_slot_stats_sql[];

/* Closes the connection (releasing the claim) and frees; sets *cp to NULL.
 * NULL-safe. */
void pgcdc_catalog_free(struct pgcdc_catalog **cp);

#endif
