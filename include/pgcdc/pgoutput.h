/*
 * pgoutput.h - decoding of PostgreSQL's logical replication wire messages.
 *
 * Two layers, both pure (bytes in, structs out, no allocation, no I/O):
 *
 *  - the streaming replication frame carried in each CopyData message from
 *    the walsender: 'w' XLogData (start LSN, end LSN, send time, payload) and
 *    'k' primary keepalive (end LSN, send time, reply requested); plus the
 *    client's 'r' standby status update;
 *  - the pgoutput plugin message inside an XLogData payload: Begin, Commit,
 *    Origin, Relation, Type, Insert, Update, Delete, Truncate, Message and the
 *    protocol 2 streaming markers.
 *
 * Every pointer in a decoded struct points into the caller's input buffer,
 * which must outlive the struct. Strings are NUL-terminated in the input, so
 * name pointers are usable C strings; tuple values are not (use len).
 * Every read is bounds-checked: malformed input gives -EBADMSG and a message
 * in the caller's buffer that names the message type and the field.
 */
#ifndef PGCDC_PGOUTPUT_H
#define PGCDC_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/lsn.h"
#include "pgcdc/value.h"

/* PostgreSQL's MaxTupleAttributeNumber: no relation or tuple has more. */
#define PGCDC_MAX_COLUMNS 1664

/* PostgreSQL's epoch, 2000-01-01, in microseconds since the Unix epoch:
 * add it to a protocol timestamp to get Unix microseconds. */
#define PGCDC_PG_EPOCH_UNIX_US INT64_C(946684800000000)

/* Frame of one CopyData message from the walsender. */
enum pgcdc_frame_kind {
    PGCDC_FRAME_XLOGDATA = 'w',  /* carries a pgoutput message */
    PGCDC_FRAME_KEEPALIVE = 'k', /* primary keepalive */
};

struct pgcdc_frame {
    enum pgcdc_frame_kind kind; /* which frame */
    pgcdc_lsn start;            /* XLogData: WAL start of the payload (0 for some messages) */
    pgcdc_lsn wal_end;          /* server's current end of WAL */
    int64_t send_time;          /* server clock, microseconds since 2000-01-01 */
    bool reply_requested;       /* keepalive: answer at once */
    const uint8_t *payload;     /* XLogData: the pgoutput message; NULL for keepalive */
    size_t payload_len;         /* bytes at payload */
};

/* Parses one CopyData message. 0, or -EBADMSG with a message in err. */
int pgcdc_frame_parse(const uint8_t *buf, size_t len, struct pgcdc_frame *out /* OUT */, char *err,
                      size_t errlen);

/* Size of a standby status update message. */
#define PGCDC_STATUS_UPDATE_LEN 34

/* Writes a standby status update ('r', write, flush, apply, send time, reply
 * requested) into out, which holds PGCDC_STATUS_UPDATE_LEN bytes. */
void pgcdc_status_update_build(uint8_t out[PGCDC_STATUS_UPDATE_LEN] /* OUT */, pgcdc_lsn write,
                               pgcdc_lsn flush, pgcdc_lsn apply, int64_t now_us,
                               bool reply_requested);

enum pgcdc_msg_type {
    PGCDC_MSG_BEGIN = 'B',
    PGCDC_MSG_COMMIT = 'C',
    PGCDC_MSG_ORIGIN = 'O',
    PGCDC_MSG_RELATION = 'R',
    PGCDC_MSG_TYPE = 'Y',
    PGCDC_MSG_INSERT = 'I',
    PGCDC_MSG_UPDATE = 'U',
    PGCDC_MSG_DELETE = 'D',
    PGCDC_MSG_TRUNCATE = 'T',
    PGCDC_MSG_MESSAGE = 'M',
    PGCDC_MSG_STREAM_START = 'S',
    PGCDC_MSG_STREAM_STOP = 'E',
    PGCDC_MSG_STREAM_COMMIT = 'c',
    PGCDC_MSG_STREAM_ABORT = 'A',
};

/* A TupleData: its column values (value.h). */
struct pgcdc_tuple {
    uint16_t ncols;                             /* columns present */
    struct pgcdc_value cols[PGCDC_MAX_COLUMNS]; /* first ncols are valid */
};

struct pgcdc_rel_col {
    bool key;          /* flag 1: part of the replica identity */
    const char *name;  /* column name */
    uint32_t type_oid; /* pg_type oid */
    int32_t typmod;    /* atttypmod, -1 when none */
};

/*
 * A decoded pgoutput message. Only the member matching type is valid. The
 * struct is large (two full tuples): allocate it once and reuse it.
 */
struct pgcdc_msg {
    enum pgcdc_msg_type type; /* which message */
    bool has_xid;             /* xid is set: Begin, S, c, A, or a streamed-block prefix */
    uint32_t xid;             /* transaction id; 0 when has_xid is false */
    union {
        struct {
            pgcdc_lsn final_lsn; /* the commit record's LSN */
            int64_t commit_time; /* microseconds since 2000-01-01 */
        } begin;
        struct {
            uint8_t flags;        /* unused by the server, always 0 */
            pgcdc_lsn commit_lsn; /* the commit record's LSN */
            pgcdc_lsn end_lsn;    /* the position just after the commit */
            int64_t commit_time;  /* microseconds since 2000-01-01 */
        } commit;
        struct {
            pgcdc_lsn lsn;    /* commit LSN on the origin server */
            const char *name; /* origin name */
        } origin;
        struct {
            uint32_t relid;      /* relation oid */
            const char *nspname; /* namespace; "" means pg_catalog */
            const char *relname; /* relation name */
            char replident;      /* 'd' default, 'n' nothing, 'f' full, 'i' index */
            uint16_t ncols;      /* columns in cols */
            struct pgcdc_rel_col cols[PGCDC_MAX_COLUMNS]; /* first ncols are valid */
        } relation;
        struct {
            uint32_t oid;        /* type oid */
            const char *nspname; /* namespace */
            const char *typname; /* type name */
        } type;
        struct {
            uint32_t relid;          /* relation oid */
            char old_kind;           /* update/delete: 'K' key only, 'O' whole old row, 0 none */
            struct pgcdc_tuple old;  /* valid when old_kind != 0 */
            struct pgcdc_tuple new_; /* insert/update: the new row */
        } change;                    /* Insert, Update, Delete */
        struct {
            uint32_t nrels;        /* relations truncated */
            uint8_t options;       /* 1 CASCADE, 2 RESTART IDENTITY */
            const uint8_t *relids; /* nrels big-endian Int32; see pgcdc_truncate_relid */
        } truncate;
        struct {
            uint8_t flags;       /* 1 = transactional */
            pgcdc_lsn lsn;       /* LSN of the message */
            const char *prefix;  /* message prefix */
            uint32_t len;        /* bytes at content */
            const char *content; /* message body, not NUL-terminated */
        } message;
        struct {
            uint8_t first_segment; /* Stream Start: 1 on the first block of this xid */
        } stream_start;
        struct {
            uint8_t flags;        /* unused */
            pgcdc_lsn commit_lsn; /* the commit record's LSN */
            pgcdc_lsn end_lsn;    /* the position just after the commit */
            int64_t commit_time;  /* microseconds since 2000-01-01 */
        } stream_commit;
        struct {
            uint32_t sub_xid; /* the (sub)transaction aborted */
        } stream_abort;
    } u;
};

/*
 * Decodes one pgoutput message (the payload of one XLogData).
 * in_stream: true between Stream Start and Stream Stop, where change and
 * relation messages carry a leading xid.
 * Returns 0, or -EBADMSG (truncated, trailing bytes, bad kind byte, too many
 * columns, unterminated string) with a message in err.
 */
int pgcdc_pgoutput_decode(const uint8_t *buf, size_t len, bool in_stream,
                          struct pgcdc_msg *out /* OUT */, char *err, size_t errlen);

/* The i-th relation oid of a decoded Truncate (i < nrels). */
uint32_t pgcdc_truncate_relid(const struct pgcdc_msg *msg, uint32_t i);

#endif
