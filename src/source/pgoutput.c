/*
 * pgoutput.c - decoder of PostgreSQL's logical replication wire messages.
 *
 * Pure functions: bytes in, a caller's struct out, no allocation, no I/O.
 * Every decoded pointer points into the caller's buffer.
 *
 * Streaming replication frame (one CopyData message from the walsender):
 *
 *   'w' XLogData     Int64 start, Int64 walEnd, Int64 sendTime, payload...
 *   'k' keepalive    Int64 walEnd, Int64 sendTime, Int8 replyRequested
 *   'r' status (out) Int64 write, Int64 flush, Int64 apply, Int64 sendTime,
 *                    Int8 replyRequested
 *
 * pgoutput messages (the XLogData payload; big-endian; String = bytes up to
 * a NUL; [xid] = Int32 xid present only inside a streamed block):
 *
 *   'B' Begin        Int64 final_lsn, Int64 commit_time, Int32 xid
 *   'C' Commit       Int8 flags, Int64 commit_lsn, Int64 end_lsn,
 *                    Int64 commit_time
 *   'O' Origin       Int64 lsn, String name
 *   'R' Relation     [xid] Int32 relid, String nspname, String relname,
 *                    Int8 replident, Int16 ncols,
 *                    ncols x (Int8 flags, String name, Int32 type, Int32 typmod)
 *   'Y' Type         [xid] Int32 oid, String nspname, String typname
 *   'I' Insert       [xid] Int32 relid, 'N' TupleData
 *   'U' Update       [xid] Int32 relid, ['K' or 'O' TupleData], 'N' TupleData
 *   'D' Delete       [xid] Int32 relid, 'K' or 'O' TupleData
 *   'T' Truncate     [xid] Int32 nrels, Int8 options, nrels x Int32 relid
 *   'M' Message      [xid] Int8 flags, Int64 lsn, String prefix, Int32 len,
 *                    len bytes
 *   'S' Stream Start Int32 xid, Int8 first_segment
 *   'E' Stream Stop  (nothing)
 *   'c' Stream Commit Int32 xid, Int8 flags, Int64 commit_lsn, Int64 end_lsn,
 *                    Int64 commit_time
 *   'A' Stream Abort Int32 xid, Int32 subxid
 *
 *   TupleData        Int16 ncols, ncols x ('n' | 'u' | 't' Int32 len bytes |
 *                    'b' Int32 len bytes)
 *
 * All reads go through a cursor that checks the remaining length first; a
 * message must be consumed exactly (trailing bytes are an error), so a strict
 * prefix of a valid message never decodes.
 */
#include "pgcdc/pgoutput.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Read position in one message, plus what to name in an error. */
struct cursor {
    const uint8_t *buf; /* message start */
    size_t len;         /* message length */
    size_t pos;         /* next byte to read */
    const char *what;   /* message name for errors, e.g. "pgoutput 'Insert'" */
    const char *part;   /* tuple being read ("new tuple"), or NULL */
    long col;           /* column being read, or -1 */
    char *err;          /* caller's error buffer */
    size_t errlen;      /* its size */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Error about the field being read at the cursor; always returns -EBADMSG. */
static int cur_fail(const struct cursor *c, const char *problem, const char *field)
{
    if (c->part != NULL && c->col >= 0)
        set_err(c->err, c->errlen, "%s: %s at byte %zu reading the %s column %ld %s", c->what,
                problem, c->pos, c->part, c->col, field);
    else if (c->part != NULL)
        set_err(c->err, c->errlen, "%s: %s at byte %zu reading the %s %s", c->what, problem, c->pos,
                c->part, field);
    else if (c->col >= 0)
        set_err(c->err, c->errlen, "%s: %s at byte %zu reading column %ld %s", c->what, problem,
                c->pos, c->col, field);
    else
        set_err(c->err, c->errlen, "%s: %s at byte %zu reading the %s", c->what, problem, c->pos,
                field);
    return -EBADMSG;
}

/* Error about a byte value not allowed at this point (problem says which); shown as a
 * character too when printable. */
static int cur_bad_byte(const struct cursor *c, size_t at, uint8_t byte, const char *field)
{
    char shown[8] = "";

    if (byte >= 0x20 && byte < 0x7f)
        snprintf(shown, sizeof(shown), "'%c' ", (char)byte);
    if (c->part != NULL && c->col >= 0)
        set_err(c->err, c->errlen, "%s: %s %s(0x%02x) at byte %zu in the %s column %ld", c->what,
                field, shown, byte, at, c->part, c->col);
    else if (c->col >= 0)
        set_err(c->err, c->errlen, "%s: %s %s(0x%02x) at byte %zu in column %ld", c->what, field,
                shown, byte, at, c->col);
    else
        set_err(c->err, c->errlen, "%s: %s %s(0x%02x) at byte %zu", c->what, field, shown, byte,
                at);
    return -EBADMSG;
}

static int rd_u8(struct cursor *c, const char *field, uint8_t *out /* OUT */)
{
    if (c->len - c->pos < 1)
        return cur_fail(c, "truncated", field);
    *out = c->buf[c->pos];
    c->pos += 1;
    return 0;
}

static int rd_u16(struct cursor *c, const char *field, uint16_t *out /* OUT */)
{
    const uint8_t *p;

    if (c->len - c->pos < 2)
        return cur_fail(c, "truncated", field);
    p = c->buf + c->pos;
    *out = (uint16_t)((unsigned)p[0] << 8 | (unsigned)p[1]);
    c->pos += 2;
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | (uint64_t)be32(p + 4);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

/* Two's complement reinterpretation without implementation-defined conversion. */
static int64_t as_i64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return (int64_t)v;
    return -(int64_t)(~v) - 1;
}

static int rd_u32(struct cursor *c, const char *field, uint32_t *out /* OUT */)
{
    if (c->len - c->pos < 4)
        return cur_fail(c, "truncated", field);
    *out = be32(c->buf + c->pos);
    c->pos += 4;
    return 0;
}

static int rd_i32(struct cursor *c, const char *field, int32_t *out /* OUT */)
{
    uint32_t v = 0;

    if (rd_u32(c, field, &v) != 0)
        return -EBADMSG;
    *out = v <= (uint32_t)INT32_MAX ? (int32_t)v : -(int32_t)(~v) - 1;
    return 0;
}

static int rd_u64(struct cursor *c, const char *field, uint64_t *out /* OUT */)
{
    if (c->len - c->pos < 8)
        return cur_fail(c, "truncated", field);
    *out = be64(c->buf + c->pos);
    c->pos += 8;
    return 0;
}

static int rd_i64(struct cursor *c, const char *field, int64_t *out /* OUT */)
{
    uint64_t v = 0;

    if (rd_u64(c, field, &v) != 0)
        return -EBADMSG;
    *out = as_i64(v);
    return 0;
}

/* A NUL-terminated string that lies wholly inside the message. */
static int rd_str(struct cursor *c, const char *field, const char **out /* OUT */)
{
    const uint8_t *nul;

    if (c->len - c->pos < 1)
        return cur_fail(c, "truncated", field);
    nul = memchr(c->buf + c->pos, '\0', c->len - c->pos);
    if (nul == NULL)
        return cur_fail(c, "unterminated string", field);
    *out = (const char *)(c->buf + c->pos);
    c->pos = (size_t)(nul - c->buf) + 1;
    return 0;
}

/* n raw bytes. */
static int rd_bytes(struct cursor *c, const char *field, size_t n, const uint8_t **out /* OUT */)
{
    if (c->len - c->pos < n)
        return cur_fail(c, "truncated", field);
    *out = c->buf + c->pos;
    c->pos += n;
    return 0;
}

static int cur_finish(const struct cursor *c)
{
    if (c->pos != c->len) {
        set_err(c->err, c->errlen, "%s: %zu trailing bytes after the message at byte %zu", c->what,
                c->len - c->pos, c->pos);
        return -EBADMSG;
    }
    return 0;
}

/* ---- frames ---- */

int pgcdc_frame_parse(const uint8_t *buf, size_t len, struct pgcdc_frame *out /* OUT */, char *err,
                      size_t errlen)
{
    struct cursor c = {buf, len, 0, NULL, NULL, -1, err, errlen};
    uint8_t kind;
    uint64_t v = 0;

    if (len == 0 || buf == NULL) {
        set_err(err, errlen, "replication frame: empty message");
        return -EBADMSG;
    }
    kind = buf[0];
    c.pos = 1;
    if (kind == 'w') {
        c.what = "replication frame 'w' XLogData";
        out->kind = PGCDC_FRAME_XLOGDATA;
        if (rd_u64(&c, "start lsn", &out->start) != 0 ||
            rd_u64(&c, "wal end", &out->wal_end) != 0 || rd_u64(&c, "send time", &v) != 0)
            return -EBADMSG;
        out->send_time = as_i64(v);
        out->reply_requested = false;
        out->payload = buf + c.pos;
        out->payload_len = len - c.pos;
        return 0;
    }
    if (kind == 'k') {
        uint8_t reply = 0;

        c.what = "replication frame 'k' keepalive";
        out->kind = PGCDC_FRAME_KEEPALIVE;
        if (rd_u64(&c, "wal end", &out->wal_end) != 0 || rd_u64(&c, "send time", &v) != 0 ||
            rd_u8(&c, "reply requested flag", &reply) != 0)
            return -EBADMSG;
        if (cur_finish(&c) != 0)
            return -EBADMSG;
        out->start = 0;
        out->send_time = as_i64(v);
        out->reply_requested = reply != 0;
        out->payload = NULL;
        out->payload_len = 0;
        return 0;
    }
    c.what = "replication frame";
    c.pos = 0;
    return cur_bad_byte(&c, 0, kind, "unknown type");
}

void pgcdc_status_update_build(uint8_t out[PGCDC_STATUS_UPDATE_LEN] /* OUT */, pgcdc_lsn write,
                               pgcdc_lsn flush, pgcdc_lsn apply, int64_t now_us,
                               bool reply_requested)
{
    out[0] = 'r';
    put_be64(out + 1, write);
    put_be64(out + 9, flush);
    put_be64(out + 17, apply);
    put_be64(out + 25, (uint64_t)now_us);
    out[33] = reply_requested ? 1 : 0;
}

/* ---- pgoutput messages ---- */

static int rd_tuple(struct cursor *c, const char *part, struct pgcdc_tuple *t /* OUT */)
{
    uint16_t ncols = 0;

    c->part = part;
    c->col = -1;
    if (rd_u16(c, "column count", &ncols) != 0)
        return -EBADMSG;
    if (ncols > PGCDC_MAX_COLUMNS) {
        set_err(c->err, c->errlen, "%s: %s has %u columns, more than the maximum %d", c->what, part,
                (unsigned)ncols, PGCDC_MAX_COLUMNS);
        return -EBADMSG;
    }
    for (uint16_t i = 0; i < ncols; i++) {
        struct pgcdc_value *col = &t->cols[i];
        const uint8_t *data = NULL;
        size_t at = c->pos;
        uint8_t kind = 0;

        c->col = i;
        if (rd_u8(c, "kind", &kind) != 0)
            return -EBADMSG;
        switch (kind) {
        case 'n':
        case 'u':
            col->kind = (enum pgcdc_value_kind)kind;
            col->len = 0;
            col->data = NULL;
            break;
        case 't':
        case 'b':
            col->kind = (enum pgcdc_value_kind)kind;
            if (rd_u32(c, "length", &col->len) != 0 || rd_bytes(c, "value", col->len, &data) != 0)
                return -EBADMSG;
            col->data = (const char *)data;
            break;
        default:
            return cur_bad_byte(c, at, kind, "unknown tuple kind");
        }
    }
    t->ncols = ncols;
    c->part = NULL;
    c->col = -1;
    return 0;
}

/* The byte before a TupleData: one of allowed ('K' key, 'O' old row, 'N' new row). */
static int rd_marker(struct cursor *c, const char *allowed, uint8_t *out /* OUT */)
{
    size_t at = c->pos;

    if (rd_u8(c, "tuple marker", out) != 0)
        return -EBADMSG;
    if (*out == 0 || strchr(allowed, *out) == NULL)
        return cur_bad_byte(c, at, *out, "unexpected tuple marker");
    return 0;
}

static int dec_relation(struct cursor *c, struct pgcdc_msg *m)
{
    size_t at;
    uint8_t ri = 0;
    uint16_t ncols = 0;

    if (rd_u32(c, "relation id", &m->u.relation.relid) != 0 ||
        rd_str(c, "namespace", &m->u.relation.nspname) != 0 ||
        rd_str(c, "relation name", &m->u.relation.relname) != 0)
        return -EBADMSG;
    at = c->pos;
    if (rd_u8(c, "replica identity", &ri) != 0)
        return -EBADMSG;
    if (ri != 'd' && ri != 'n' && ri != 'f' && ri != 'i')
        return cur_bad_byte(c, at, ri, "unknown replica identity");
    m->u.relation.replident = (char)ri;
    if (rd_u16(c, "column count", &ncols) != 0)
        return -EBADMSG;
    if (ncols > PGCDC_MAX_COLUMNS) {
        set_err(c->err, c->errlen, "%s: %u columns, more than the maximum %d", c->what,
                (unsigned)ncols, PGCDC_MAX_COLUMNS);
        return -EBADMSG;
    }
    for (uint16_t i = 0; i < ncols; i++) {
        struct pgcdc_rel_col *col = &m->u.relation.cols[i];
        uint8_t flags = 0;

        c->col = i;
        if (rd_u8(c, "flags", &flags) != 0 || rd_str(c, "name", &col->name) != 0 ||
            rd_u32(c, "type oid", &col->type_oid) != 0 ||
            rd_i32(c, "type modifier", &col->typmod) != 0)
            return -EBADMSG;
        col->key = (flags & 1) != 0;
    }
    c->col = -1;
    m->u.relation.ncols = ncols;
    return 0;
}

static int dec_change(struct cursor *c, struct pgcdc_msg *m)
{
    uint8_t marker = 0;

    m->u.change.old_kind = 0;
    m->u.change.old.ncols = 0;
    m->u.change.new_.ncols = 0;
    if (rd_u32(c, "relation id", &m->u.change.relid) != 0)
        return -EBADMSG;
    switch (m->type) {
    case PGCDC_MSG_INSERT:
        if (rd_marker(c, "N", &marker) != 0)
            return -EBADMSG;
        return rd_tuple(c, "new tuple", &m->u.change.new_);
    case PGCDC_MSG_UPDATE:
        if (rd_marker(c, "KON", &marker) != 0)
            return -EBADMSG;
        if (marker != 'N') {
            m->u.change.old_kind = (char)marker;
            if (rd_tuple(c, "old tuple", &m->u.change.old) != 0 || rd_marker(c, "N", &marker) != 0)
                return -EBADMSG;
        }
        return rd_tuple(c, "new tuple", &m->u.change.new_);
    default: /* delete */
        if (rd_marker(c, "KO", &marker) != 0)
            return -EBADMSG;
        m->u.change.old_kind = (char)marker;
        return rd_tuple(c, "old tuple", &m->u.change.old);
    }
}

static int dec_truncate(struct cursor *c, struct pgcdc_msg *m)
{
    uint32_t nrels = 0;
    const uint8_t *relids = NULL;

    if (rd_u32(c, "relation count", &nrels) != 0 ||
        rd_u8(c, "options", &m->u.truncate.options) != 0)
        return -EBADMSG;
    if (nrels > (c->len - c->pos) / 4)
        return cur_fail(c, "truncated", "relation ids");
    if (rd_bytes(c, "relation ids", (size_t)nrels * 4, &relids) != 0)
        return -EBADMSG;
    m->u.truncate.nrels = nrels;
    m->u.truncate.relids = relids;
    return 0;
}

static int dec_message(struct cursor *c, struct pgcdc_msg *m)
{
    const uint8_t *content = NULL;

    if (rd_u8(c, "flags", &m->u.message.flags) != 0 || rd_u64(c, "lsn", &m->u.message.lsn) != 0 ||
        rd_str(c, "prefix", &m->u.message.prefix) != 0 ||
        rd_u32(c, "content length", &m->u.message.len) != 0 ||
        rd_bytes(c, "content", m->u.message.len, &content) != 0)
        return -EBADMSG;
    m->u.message.content = (const char *)content;
    return 0;
}

static int dec_begin(struct cursor *c, struct pgcdc_msg *m)
{
    if (rd_u64(c, "final lsn", &m->u.begin.final_lsn) != 0 ||
        rd_i64(c, "commit time", &m->u.begin.commit_time) != 0 || rd_u32(c, "xid", &m->xid) != 0)
        return -EBADMSG;
    m->has_xid = true;
    return 0;
}

static int dec_commit(struct cursor *c, struct pgcdc_msg *m)
{
    if (rd_u8(c, "flags", &m->u.commit.flags) != 0 ||
        rd_u64(c, "commit lsn", &m->u.commit.commit_lsn) != 0 ||
        rd_u64(c, "end lsn", &m->u.commit.end_lsn) != 0 ||
        rd_i64(c, "commit time", &m->u.commit.commit_time) != 0)
        return -EBADMSG;
    return 0;
}

static int dec_origin(struct cursor *c, struct pgcdc_msg *m)
{
    if (rd_u64(c, "origin lsn", &m->u.origin.lsn) != 0 ||
        rd_str(c, "origin name", &m->u.origin.name) != 0)
        return -EBADMSG;
    return 0;
}

static int dec_type(struct cursor *c, struct pgcdc_msg *m)
{
    if (rd_u32(c, "type oid", &m->u.type.oid) != 0 ||
        rd_str(c, "namespace", &m->u.type.nspname) != 0 ||
        rd_str(c, "type name", &m->u.type.typname) != 0)
        return -EBADMSG;
    return 0;
}

static int dec_stream_start(struct cursor *c, struct pgcdc_msg *m)
{
    if (rd_u32(c, "xid", &m->xid) != 0 ||
        rd_u8(c, "first segment flag", &m->u.stream_start.first_segment) != 0)
        return -EBADMSG;
    m->has_xid = true;
    return 0;
}

static int dec_stream_commit(struct cursor *c, struct pgcdc_msg *m)
{
    if (rd_u32(c, "xid", &m->xid) != 0 || rd_u8(c, "flags", &m->u.stream_commit.flags) != 0 ||
        rd_u64(c, "commit lsn", &m->u.stream_commit.commit_lsn) != 0 ||
        rd_u64(c, "end lsn", &m->u.stream_commit.end_lsn) != 0 ||
        rd_i64(c, "commit time", &m->u.stream_commit.commit_time) != 0)
        return -EBADMSG;
    m->has_xid = true;
    return 0;
}

/* Protocol 4 (PG 16 parallel apply) appends an abort LSN and time; not requested here. */
static int dec_stream_abort(struct cursor *c, struct pgcdc_msg *m)
{
    if (rd_u32(c, "xid", &m->xid) != 0 ||
        rd_u32(c, "subtransaction xid", &m->u.stream_abort.sub_xid) != 0)
        return -EBADMSG;
    m->has_xid = true;
    return 0;
}

static int dec_body(struct cursor *c, struct pgcdc_msg *m)
{
    switch (m->type) {
    case PGCDC_MSG_BEGIN:
        return dec_begin(c, m);
    case PGCDC_MSG_COMMIT:
        return dec_commit(c, m);
    case PGCDC_MSG_ORIGIN:
        return dec_origin(c, m);
    case PGCDC_MSG_RELATION:
        return dec_relation(c, m);
    case PGCDC_MSG_TYPE:
        return dec_type(c, m);
    case PGCDC_MSG_INSERT:
    case PGCDC_MSG_UPDATE:
    case PGCDC_MSG_DELETE:
        return dec_change(c, m);
    case PGCDC_MSG_TRUNCATE:
        return dec_truncate(c, m);
    case PGCDC_MSG_MESSAGE:
        return dec_message(c, m);
    case PGCDC_MSG_STREAM_START:
        return dec_stream_start(c, m);
    case PGCDC_MSG_STREAM_STOP:
        return 0;
    case PGCDC_MSG_STREAM_COMMIT:
        return dec_stream_commit(c, m);
    case PGCDC_MSG_STREAM_ABORT:
        return dec_stream_abort(c, m);
    }
    return -EBADMSG; /* not reached: the caller checked the type */
}

/* Name of a message type for errors, or NULL when the type is unknown. */
static const char *msg_what(uint8_t type)
{
    switch (type) {
    case 'B':
        return "pgoutput 'Begin'";
    case 'C':
        return "pgoutput 'Commit'";
    case 'O':
        return "pgoutput 'Origin'";
    case 'R':
        return "pgoutput 'Relation'";
    case 'Y':
        return "pgoutput 'Type'";
    case 'I':
        return "pgoutput 'Insert'";
    case 'U':
        return "pgoutput 'Update'";
    case 'D':
        return "pgoutput 'Delete'";
    case 'T':
        return "pgoutput 'Truncate'";
    case 'M':
        return "pgoutput 'Message'";
    case 'S':
        return "pgoutput 'Stream Start'";
    case 'E':
        return "pgoutput 'Stream Stop'";
    case 'c':
        return "pgoutput 'Stream Commit'";
    case 'A':
        return "pgoutput 'Stream Abort'";
    default:
        return NULL;
    }
}

/* Messages that carry a leading xid inside a streamed block. */
static bool has_stream_xid(uint8_t type)
{
    return type == 'R' || type == 'Y' || type == 'I' || type == 'U' || type == 'D' || type == 'T' ||
           type == 'M';
}

int pgcdc_pgoutput_decode(const uint8_t *buf, size_t len, bool in_stream,
                          struct pgcdc_msg *out /* OUT */, char *err, size_t errlen)
{
    struct cursor c = {buf, len, 1, NULL, NULL, -1, err, errlen};
    uint8_t type;

    if (len == 0 || buf == NULL) {
        set_err(err, errlen, "pgoutput: empty message");
        return -EBADMSG;
    }
    type = buf[0];
    c.what = msg_what(type);
    if (c.what == NULL) {
        c.what = "pgoutput";
        return cur_bad_byte(&c, 0, type, "unknown message type");
    }
    out->type = (enum pgcdc_msg_type)type;
    out->has_xid = false;
    out->xid = 0;
    if (in_stream && has_stream_xid(type)) {
        if (rd_u32(&c, "streamed transaction xid", &out->xid) != 0)
            return -EBADMSG;
        out->has_xid = true;
    }
    if (dec_body(&c, out) != 0)
        return -EBADMSG;
    return cur_finish(&c);
}

uint32_t pgcdc_truncate_relid(const struct pgcdc_msg *msg, uint32_t i)
{
    return be32(msg->u.truncate.relids + (size_t)i * 4);
}
