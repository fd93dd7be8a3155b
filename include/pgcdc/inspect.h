/*
 * inspect.h - read-only facts about the server pgcdc is pointed at: its
 * settings, the role pgcdc connects as, the slot, the publication and the
 * tables, each read in one query on an ordinary connection.
 *
 * Nothing here changes the database. `pgcdc check` judges these facts and
 * `pgcdc drop` decides what it may remove from them; the pure helpers at
 * the end say what a fact means, so both read it the same way.
 */
#ifndef PGCDC_INSPECT_H
#define PGCDC_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* Server settings and how much of the slot and sender budget is used. */
struct pgcdc_inspect_server {
    int version_num;            /* server_version_num */
    char wal_level[16];         /* wal_level */
    int max_replication_slots;  /* max_replication_slots */
    int slots_used;             /* rows of pg_replication_slots */
    int max_wal_senders;        /* max_wal_senders */
    int senders_used;           /* walsender processes running now */
    long long keep_size_mb;     /* max_slot_wal_keep_size in MB, -1 unlimited or before 13 */
    bool in_recovery;           /* a standby */
};

/* The role of the connection. */
struct pgcdc_inspect_role {
    char name[64];        /* current_user */
    bool superuser;       /* rolsuper */
    bool replication;     /* rolreplication */
    bool rds_replication; /* member of rds_replication (Amazon RDS and Aurora) */
    bool create_on_db;    /* CREATE on the current database (to create a publication) */
};

/* The slot named in the configuration. */
struct pgcdc_inspect_slot {
    bool exists;               /* a row in pg_replication_slots */
    char slot_type[16];        /* "logical" or "physical" */
    char plugin[64];           /* output plugin, "" for a physical slot */
    char database[64];         /* its database, "" for a physical slot */
    char current_database[64]; /* the connection's database */
    bool active;               /* a process streams from it */
    int active_pid;            /* that process, 0 when none */
    char wal_status[16];       /* reserved, extended, unreserved, lost; "" before 13 */
    long long retained_bytes;  /* WAL kept for it (current LSN - restart_lsn), -1 unknown */
    long long safe_wal_bytes;  /* WAL it may still fall behind before it is lost, -1 unknown */
};

/* The publication named in the configuration. */
struct pgcdc_inspect_publication {
    bool exists;       /* a row in pg_publication */
    bool all_tables;   /* FOR ALL TABLES */
    bool via_root;     /* publish_via_partition_root (always true before 13: not needed) */
    bool inserts;      /* publishes INSERT */
    bool updates;      /* publishes UPDATE */
    bool deletes;      /* publishes DELETE */
    bool marked;       /* its comment carries pgcdc's mark (publication.h) */
    char owner[64];    /* its owner */
};

/* One ordinary or partitioned table outside the system schemas, not a
 * partition. */
struct pgcdc_inspect_table {
    uint32_t oid;          /* pg_class oid */
    char schema[64];       /* its schema */
    char name[64];         /* its name */
    char replident;        /* relreplident: 'd' default, 'n' nothing, 'f' full, 'i' index */
    bool has_pk;           /* a primary key */
    bool ident_index;      /* a valid index marked as its replica identity */
    bool partitioned;      /* relkind 'p' */
    bool can_select;       /* the role may SELECT from it */
    bool owned;            /* the role owns it (directly or through a role) */
    bool in_publication;   /* the publication publishes it now */
};

/* Reads the server's settings. 0, or a negative errno (pq.h's classes)
 * with text in err. */
int pgcdc_inspect_server(PGconn *conn, struct pgcdc_inspect_server *out /* OUT */, char *err,
                         size_t errlen);

/* Reads the connection's role. */
int pgcdc_inspect_role(PGconn *conn, struct pgcdc_inspect_role *out /* OUT */, char *err,
                       size_t errlen);

/* Reads slot (out->exists false when there is none). */
int pgcdc_inspect_slot(PGconn *conn, const char *slot, struct pgcdc_inspect_slot *out /* OUT */,
                       char *err, size_t errlen);

/* Reads publication (out->exists false when there is none). */
int pgcdc_inspect_publication(PGconn *conn, const char *publication,
                              struct pgcdc_inspect_publication *out /* OUT */, char *err,
                              size_t errlen);

/* Lists every table, in schema and name order, with in_publication set
 * from publication. *out is malloc'd (free() it), *count its entries. */
int pgcdc_inspect_tables(PGconn *conn, const char *publication,
                         struct pgcdc_inspect_table **out /* OUT */, size_t *count /* OUT */,
                         char *err, size_t errlen);

/* True when UPDATE and DELETE on t work while a publication publishes
 * them: REPLICA IDENTITY FULL, a primary key under DEFAULT, or a valid
 * index under USING INDEX. */
bool pgcdc_inspect_table_has_identity(const struct pgcdc_inspect_table *t);

/* "12.3 GB"-style text of bytes into out. */
void pgcdc_inspect_format_bytes(long long bytes, char *out /* OUT */, size_t outlen);

#endif
