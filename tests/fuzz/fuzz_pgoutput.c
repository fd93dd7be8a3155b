/*
 * fuzz_pgoutput.c - libFuzzer target for the replication frame parser and the
 * pgoutput decoder.
 *
 * The input is tried as a CopyData frame and as a pgoutput message, outside
 * and inside a streamed block. Whenever a decode succeeds, every pointer and
 * length in the result is read back byte by byte, so that a sanitizer reports
 * any pointer that strays outside the input. Decoded changes then go through
 * the change model's Debezium mapping (change.h), whose events must point
 * only into the input too. The corpus (corpus/pgoutput) is seeded with
 * messages captured from a real server.
 */
#include "pgcdc/pgoutput.h"

#include "pgcdc/change.h"
#include "pgcdc/relcache.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink; /* keeps the reads below from being optimised away */

static void touch(const void *p, size_t n)
{
    const volatile uint8_t *b = p;
    unsigned acc = 0;

    for (size_t i = 0; i < n; i++)
        acc += b[i];
    sink += acc;
}

/* A decoded C string: must be NUL-terminated inside [buf, buf + len). */
static void touch_str(const char *s, const uint8_t *buf, size_t len)
{
    const uint8_t *p = (const uint8_t *)s;

    if (p < buf || p >= buf + len)
        abort();
    if (memchr(p, '\0', (size_t)(buf + len - p)) == NULL)
        abort();
    touch(s, strlen(s) + 1);
}

/* A decoded byte range: must lie inside [buf, buf + len). */
static void touch_range(const void *s, size_t n, const uint8_t *buf, size_t len)
{
    const uint8_t *p = s;

    if (n == 0)
        return;
    if (p < buf || p > buf + len || n > (size_t)(buf + len - p))
        abort();
    touch(p, n);
}

static void touch_tuple(const struct pgcdc_tuple *t, const uint8_t *buf, size_t len)
{
    if (t->ncols > PGCDC_MAX_COLUMNS)
        abort();
    for (unsigned i = 0; i < t->ncols; i++) {
        const struct pgcdc_value *c = &t->cols[i];

        switch (c->kind) {
        case PGCDC_VALUE_NULL:
        case PGCDC_VALUE_UNCHANGED:
            if (c->data != NULL)
                abort();
            break;
        case PGCDC_VALUE_TEXT:
        case PGCDC_VALUE_BINARY:
            touch_range(c->data, c->len, buf, len);
            break;
        default:
            abort();
        }
    }
}

static void touch_msg(const struct pgcdc_msg *m, const uint8_t *buf, size_t len)
{
    switch (m->type) {
    case PGCDC_MSG_ORIGIN:
        touch_str(m->u.origin.name, buf, len);
        break;
    case PGCDC_MSG_RELATION:
        touch_str(m->u.relation.nspname, buf, len);
        touch_str(m->u.relation.relname, buf, len);
        if (m->u.relation.ncols > PGCDC_MAX_COLUMNS)
            abort();
        for (unsigned i = 0; i < m->u.relation.ncols; i++)
            touch_str(m->u.relation.cols[i].name, buf, len);
        break;
    case PGCDC_MSG_TYPE:
        touch_str(m->u.type.nspname, buf, len);
        touch_str(m->u.type.typname, buf, len);
        break;
    case PGCDC_MSG_INSERT:
    case PGCDC_MSG_UPDATE:
    case PGCDC_MSG_DELETE:
        if (m->u.change.old_kind != 0)
            touch_tuple(&m->u.change.old, buf, len);
        touch_tuple(&m->u.change.new_, buf, len);
        break;
    case PGCDC_MSG_TRUNCATE:
        touch_range(m->u.truncate.relids, (size_t)m->u.truncate.nrels * 4, buf, len);
        for (uint32_t i = 0; i < m->u.truncate.nrels; i++)
            sink += pgcdc_truncate_relid(m, i);
        break;
    case PGCDC_MSG_MESSAGE:
        touch_str(m->u.message.prefix, buf, len);
        touch_range(m->u.message.content, m->u.message.len, buf, len);
        break;
    default:
        break;
    }
}

/* Relations for the mapping: oids divisible by 3 are excluded by the filter,
 * odd ones are keyless, every other has a two-column key. */
static struct pgcdc_relcol fuzz_cols[4] = {
    {.name = "a", .key = true, .included = true},
    {.name = "b", .included = true},
    {.name = "c", .key = true, .included = true},
    {.name = "d", .included = true},
};
static struct pgcdc_rel fuzz_rel;

static const struct pgcdc_rel *fuzz_lookup(void *arg, uint32_t relid)
{
    (void)arg;
    fuzz_rel.relid = relid;
    fuzz_rel.ncols = 4;
    fuzz_rel.cols = fuzz_cols;
    fuzz_rel.nkeys = relid % 2 ? 0 : 2;
    fuzz_rel.included = relid % 3 != 0;
    return &fuzz_rel;
}

/* A row of an event: every value inside the input. */
static void touch_row(const struct pgcdc_value *row, uint16_t n, const uint8_t *buf, size_t len)
{
    if (row == NULL) {
        if (n != 0)
            abort();
        return;
    }
    for (uint16_t i = 0; i < n; i++)
        if (row[i].kind == PGCDC_VALUE_TEXT || row[i].kind == PGCDC_VALUE_BINARY)
            touch_range(row[i].data, row[i].len, buf, len);
}

static void map_msg(struct pgcdc_msg *m, const uint8_t *buf, size_t len)
{
    static struct pgcdc_change_batch *b;
    static const struct pgcdc_source src;
    const struct pgcdc_change_event *ev;
    char err[128];
    uint16_t n;
    int count;

    if (b == NULL && pgcdc_change_batch_new(&b, true, fuzz_lookup, NULL, err, sizeof(err)) < 0)
        abort();
    pgcdc_change_batch_at(b, 0);
    count = pgcdc_change_batch_pgoutput(b, m, &src, 0, &ev, err, sizeof(err));
    if (count < 0)
        return;
    for (int i = 0; i < count; i++) {
        const struct pgcdc_change *ch = ev[i].change;
        const struct pgcdc_value *row;

        if (ev[i].tombstone &&
            (i == 0 || ev[i - 1].change != ch || pgcdc_change_op(ch) != 'd' ||
             pgcdc_change_key(ch, &n) == NULL))
            abort(); /* a tombstone follows the delete whose key it repeats */
        if (pgcdc_change_txn_index(ch) > (uint64_t)i)
            abort();
        row = pgcdc_change_before(ch, &n);
        touch_row(row, n, buf, len);
        row = pgcdc_change_after(ch, &n);
        touch_row(row, n, buf, len);
        row = pgcdc_change_key(ch, &n);
        touch_row(row, n, buf, len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pgcdc_msg *msg;
    struct pgcdc_frame frame;
    uint8_t status[PGCDC_STATUS_UPDATE_LEN];
    char err[128];

    if (msg == NULL) {
        msg = malloc(sizeof(*msg));
        if (msg == NULL)
            abort();
    }

    if (pgcdc_frame_parse(data, size, &frame, err, sizeof(err)) == 0) {
        if (frame.kind == PGCDC_FRAME_XLOGDATA) {
            touch_range(frame.payload, frame.payload_len, data, size);
            if (pgcdc_pgoutput_decode(frame.payload, frame.payload_len, false, msg, err,
                                      sizeof(err)) == 0) {
                touch_msg(msg, frame.payload, frame.payload_len);
                map_msg(msg, frame.payload, frame.payload_len);
            }
        }
        pgcdc_status_update_build(status, frame.wal_end, frame.wal_end, frame.wal_end,
                                  frame.send_time, frame.reply_requested);
        touch(status, sizeof(status));
    } else if (err[0] == '\0') {
        abort();
    }

    for (int in_stream = 0; in_stream < 2; in_stream++) {
        err[0] = '\0';
        if (pgcdc_pgoutput_decode(data, size, in_stream != 0, msg, err, sizeof(err)) == 0) {
            touch_msg(msg, data, size);
            map_msg(msg, data, size);
        } else if (err[0] == '\0')
            abort(); /* every failure must say why */
    }
    return 0;
}
