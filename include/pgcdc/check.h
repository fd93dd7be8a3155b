/*
 * check.h - `pgcdc check`: is this server, role, set of tables and Kafka
 * cluster ready for pgcdc, and if not, what command fixes it.
 *
 * Each check yields one line: OK, WARN (pgcdc runs, but something the user
 * should know about, such as a table whose changes will not be captured)
 * or FAIL (pgcdc cannot run, or it would break something), with the command
 * that fixes it on every line that is not OK. Nothing in the database is
 * changed: the session is read-only.
 *
 * The judging functions are pure: they take the facts read by inspect.h
 * and fill a line, so each message is tested without a server.
 */
#ifndef PGCDC_CHECK_H
#define PGCDC_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct pgcdc_config;
struct pgcdc_inspect_publication;
struct pgcdc_inspect_role;
struct pgcdc_inspect_server;
struct pgcdc_inspect_slot;
struct pgcdc_inspect_table;

enum pgcdc_check_status {
    PGCDC_CHECK_OK = 0,   /* ready */
    PGCDC_CHECK_WARN = 1, /* pgcdc runs; read the detail */
    PGCDC_CHECK_FAIL = 2, /* pgcdc cannot run, or would break something */
};

/* One line of the report. */
struct pgcdc_check_line {
    enum pgcdc_check_status status; /* the verdict */
    char what[160];                 /* what was checked, e.g. "wal_level" */
    char detail[768];               /* what was found */
    char fix[768];                  /* the command that fixes it; "" on an OK line */
};

/* Receives each line as it is made. */
typedef void (*pgcdc_check_report_fn)(void *arg, const struct pgcdc_check_line *line);

/* How long the Kafka and registry probes wait for an answer. */
#define PGCDC_CHECK_PROBE_TIMEOUT_MS 10000

/* Tables of one kind listed one per line before the rest are summed up. */
#define PGCDC_CHECK_MAX_TABLE_LINES 20

/* wal_level must be logical; changing it needs a restart. */
void pgcdc_check_wal_level(const char *wal_level, struct pgcdc_check_line *out /* OUT */);

/* A free replication slot, unless pgcdc's slot already exists. */
void pgcdc_check_slots(const struct pgcdc_inspect_server *s, bool slot_exists,
                       struct pgcdc_check_line *out /* OUT */);

/* A free WAL sender for pgcdc's replication connection. */
void pgcdc_check_senders(const struct pgcdc_inspect_server *s,
                         struct pgcdc_check_line *out /* OUT */);

/* The REPLICATION attribute, or a managed service's equivalent. */
void pgcdc_check_role(const struct pgcdc_inspect_role *r, struct pgcdc_check_line *out /* OUT */);

/* The slot's state: absent (created at the first start), usable, held by
 * another process, of the wrong kind, or invalidated. */
void pgcdc_check_slot(const struct pgcdc_inspect_slot *s, const char *slot_name,
                      struct pgcdc_check_line *out /* OUT */);

/* The WAL the slot retains, its wal_status and max_slot_wal_keep_size. */
void pgcdc_check_retained(const struct pgcdc_inspect_slot *s,
                          const struct pgcdc_inspect_server *srv,
                          struct pgcdc_check_line *out /* OUT */);

/* A captured table without a usable replica identity; published: whether a
 * publication publishes (or pgcdc will make it publish) its updates and
 * deletes. */
void pgcdc_check_table_identity(const struct pgcdc_inspect_table *t, const char *publication,
                                bool published, struct pgcdc_check_line *out /* OUT */);

/*
 * Runs every check against the servers cfg names and hands each line to
 * fn. Returns the number of FAIL lines (0: pgcdc can run), or a negative
 * errno (out of memory) with text in err.
 */
int pgcdc_check_run(const struct pgcdc_config *cfg, pgcdc_check_report_fn fn, void *arg,
                    char *err, size_t errlen);

/* Writes line as "STATUS  what: detail; fix: command" and a newline. */
void pgcdc_check_print(const struct pgcdc_check_line *line, FILE *out);

#endif
