/*
 * incremental_run.c - incremental snapshots wired into the loop
 * (incremental.h reads the chunks, window.h decides which rows go out).
 *
 * A chunk goes through four phases:
 *
 *   READING   the chunk is asked for and read; the stream is not read
 *             meanwhile (status updates go on), so that no transaction the
 *             chunk's snapshot does not see is streamed before its rows
 *             are buffered (window.h);
 *   OPEN      the rows are buffered; the stream runs, and each change of
 *             the table by a transaction the chunk's snapshot does not see
 *             drops the row of its key; the window closes at the first
 *             Commit, or keepalive outside a transaction, at or past the
 *             high watermark (while it waits, a status update asks the
 *             server for a keepalive every INCR_PING_MS, so an idle
 *             database closes it too);
 *   EMITTING  the stream waits again while the rows left go out, op 'r'
 *             with source.snapshot "incremental", as one unit of the
 *             tracker at the stream's position;
 *   DELIVER   once they are all delivered, the tables still to read and
 *             the key read up to are written to <offset file>.incremental
 *             (write, fsync, rename), and the next chunk is asked for.
 *
 * A restart reads that file and goes on after the recorded key: a chunk is
 * never read again once recorded; one read but not recorded is read again
 * (its rows are state, so a repeat is harmless).
 *
 * Requests come in a file, <offset file>.signal, that `pgcdc snapshot`
 * writes (a new file each time: the request is linked into place only when
 * no other waits) and the loop picks up every INCR_SIGNAL_MS; this needs no
 * write access to the database. Lines: "execute-snapshot<TAB>schema.table",
 * "stop-snapshot", "pause-snapshot", "resume-snapshot".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pgcdc/buf.h"
#include "pgcdc/catalog.h"
#include "pgcdc/change.h"
#include "pgcdc/config.h"
#include "pgcdc/incremental.h"
#include "pgcdc/log.h"
#include "pgcdc/pipeline.h"
#include "pgcdc/lsn.h"
#include "pgcdc/registry.h"
#include "pgcdc/relcache.h"
#include "pgcdc/sink.h"
#include "pgcdc/stream.h"
#include "pgcdc/tracker.h"
#include "pgcdc/window.h"
#include "pipeline_internal.h"

/* How often the loop looks for a request file. */
#define INCR_SIGNAL_MS 500

/* While a window waits for the stream to pass its high watermark, how
 * often the server is asked for a keepalive. */
#define INCR_PING_MS 200

/* Path of the request file and of the progress file for offset_file. */
static char *incr_path(const char *offset_file, const char *suffix)
{
    size_t n = strlen(offset_file) + strlen(suffix) + 1;
    char *s = malloc(n);

    if (s)
        snprintf(s, n, "%s%s", offset_file, suffix);
    return s;
}

/* Writes text to path atomically: a temporary file, fsync, rename. */
static int write_atomic(const char *path, const char *text, char *err, size_t errlen)
{
    size_t n = strlen(path) + 5, len = strlen(text);
    char *tmp = malloc(n);
    int fd, rc = 0;

    if (tmp == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    snprintf(tmp, n, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot write '%s': %s", tmp, strerror(errno));
    }
    if (fd >= 0)
        close(fd);
    if (rc == 0 && rename(tmp, path) < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
    }
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* The whole of a small file, NUL-terminated; NULL with *missing when it
 * does not exist. */
static char *read_all(const char *path, bool *missing)
{
    FILE *f = fopen(path, "re");
    char *buf = NULL;
    size_t len = 0, cap = 0;

    *missing = f == NULL && errno == ENOENT;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            char *b = realloc(buf, cap + 8192);

            if (b == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
            cap += 8192;
        }
        size_t n = fread(buf + len, 1, 4096, f);

        len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* Records the tables still to read and the keys read up to; nothing left:
 * no file. */
static int record(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    const char *state = pgcdc_incr_state(p->incr);

    if (state[0] == '\0') {
        if (unlink(p->incr_progress_path) < 0 && errno != ENOENT) {
            snprintf(err, errlen, "cannot remove '%s': %s", p->incr_progress_path,
                     strerror(errno));
            return -errno;
        }
        return 0;
    }
    return write_atomic(p->incr_progress_path, state, err, errlen);
}

void pgcdc_incrun_reset(struct pgcdc_pipeline *p)
{
    if (p->incr == NULL)
        return;
    pgcdc_incr_rollback(p->incr);
    pgcdc_window_close(p->win);
    p->incr_phase = INCR_IDLE;
    p->incr_handle = 0;
}

int pgcdc_pipeline_request(const struct pgcdc_config *cfg, const char *const *args, int n,
                           int timeout_ms, char *err, size_t errlen)
{
    static const char *const signals[] = {"stop-snapshot", "pause-snapshot", "resume-snapshot"};
    struct pgcdc_buf text = PGCDC_BUF_INIT;
    char *path = incr_path(cfg->offset_file, ".signal");
    char tmp[4096];
    int rc = 0;

    for (int i = 0; i < n && rc == 0; i++) {
        bool sig = false;

        for (size_t k = 0; k < sizeof(signals) / sizeof(*signals); k++)
            sig = sig || strcmp(args[i], signals[k]) == 0;
        if (sig) {
            rc = pgcdc_buf_appendf(&text, "%s\n", args[i]);
        } else if (strchr(args[i], '.') == NULL || strpbrk(args[i], "\t\n")) {
            snprintf(err, errlen, "'%s': expected schema.table, stop-snapshot, pause-snapshot "
                     "or resume-snapshot", args[i]);
            rc = -EINVAL;
        } else {
            rc = pgcdc_buf_appendf(&text, "execute-snapshot\t%s\n", args[i]);
        }
    }
    if (rc == 0 && (path == NULL || text.data == NULL)) {
        snprintf(err, errlen, n == 0 ? "no table named" : "out of memory");
        rc = n == 0 ? -EINVAL : -ENOMEM;
    }
    if (rc == 0) {
        snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
        rc = write_atomic(tmp, text.data, err, errlen);
    }
    /* A request still waiting for the running pgcdc is not overwritten:
     * this one goes into place once that one is taken. */
    for (int waited = 0; rc == 0; waited += 100) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 100000000L};

        if (link(tmp, path) == 0)
            break;
        if (errno != EEXIST) {
            rc = -errno;
            snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
            break;
        }
        if (waited >= timeout_ms) {
            rc = -ETIMEDOUT;
            snprintf(err, errlen, "'%s': an earlier request was not taken (is pgcdc running?)",
                     path);
            break;
        }
        nanosleep(&ts, NULL);
    }
    if (path != NULL && text.data != NULL)
        unlink(tmp);
    pgcdc_buf_free(&text);
    free(path);
    return rc;
}

int pgcdc_incrun_new(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    const struct pgcdc_config *cfg = p->cfg;
    struct pgcdc_incr_opts o = {
        .conninfo = cfg->database_dsn,
        .connect_timeout_ms = cfg->connect_timeout_ms,
        .chunk_rows = cfg->incremental_chunk_size,
    };
    int rc;

    p->incr_signal_path = incr_path(cfg->offset_file, ".signal");
    p->incr_progress_path = incr_path(cfg->offset_file, ".incremental");
    if (p->incr_signal_path == NULL || p->incr_progress_path == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    rc = pgcdc_incr_new(&p->incr, &o, err, errlen);
    if (rc == 0)
        rc = pgcdc_window_new(&p->win, err, errlen);
    return rc;
}

void pgcdc_incrun_free(struct pgcdc_pipeline *p)
{
    pgcdc_incr_free(&p->incr);
    pgcdc_window_free(&p->win);
    free(p->incr_signal_path);
    free(p->incr_progress_path);
}

/* The next line of text at *cursor, NUL-terminated in place; NULL at the
 * end. */
static char *next_line(char **cursor)
{
    char *line = *cursor, *nl;

    if (line == NULL || *line == '\0')
        return NULL;
    nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *cursor = nl + 1;
    } else {
        *cursor = NULL;
    }
    return line;
}

/* Queues the tables of a "table<TAB>key" text (the progress file). */
static int queue_lines(struct pgcdc_pipeline *p, char *text)
{
    char *cursor = text;

    for (char *line = next_line(&cursor); line; line = next_line(&cursor)) {
        char *tab = strchr(line, '\t');

        if (tab)
            *tab++ = '\0';
        if (line[0] == '\0')
            continue;
        if (pgcdc_incr_add(p->incr, line, tab) < 0)
            return -ENOMEM;
        pgcdc_log_info("incremental snapshot of '%s' %s%s%s", line,
                       tab && tab[0] ? "continues after key '" : "queued",
                       tab && tab[0] ? tab : "", tab && tab[0] ? "'" : "");
    }
    return 0;
}

int pgcdc_incrun_resume(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    bool missing;
    char *text = read_all(p->incr_progress_path, &missing);
    int rc;

    if (text == NULL && missing)
        return 0;
    if (text == NULL) {
        snprintf(err, errlen, "cannot read '%s': %s", p->incr_progress_path, strerror(errno));
        return -EIO;
    }
    rc = queue_lines(p, text);
    free(text);
    if (rc < 0)
        snprintf(err, errlen, "out of memory");
    return rc;
}

/* Takes a request file, if one is there. */
static int take_signals(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    bool missing;
    char *text, *cursor;
    int rc = 0;

    p->incr_signal_us = pgcdc_mono_us() + (int64_t)INCR_SIGNAL_MS * 1000;
    text = read_all(p->incr_signal_path, &missing);
    if (text == NULL)
        return 0;
    unlink(p->incr_signal_path);
    cursor = text;
    for (char *line = next_line(&cursor); line && rc == 0; line = next_line(&cursor)) {
        char *arg = strchr(line, '\t');

        if (arg)
            *arg++ = '\0';
        if (strcmp(line, "execute-snapshot") == 0 && arg && arg[0]) {
            rc = pgcdc_incr_add(p->incr, arg, NULL);
            pgcdc_log_info("incremental snapshot of '%s' requested", arg);
        } else if (strcmp(line, "stop-snapshot") == 0) {
            pgcdc_incr_stop(p->incr);
            pgcdc_log_info("incremental snapshot: stop requested");
        } else if (strcmp(line, "pause-snapshot") == 0) {
            p->incr_paused = true;
            pgcdc_log_info("incremental snapshot: paused");
        } else if (strcmp(line, "resume-snapshot") == 0) {
            p->incr_paused = false;
            pgcdc_log_info("incremental snapshot: resumed");
        } else {
            pgcdc_log_warn("'%s': unknown request '%s' ignored", p->incr_signal_path, line);
        }
    }
    free(text);
    if (rc < 0) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    return record(p, err, errlen);
}

bool pgcdc_incrun_blocks_stream(const struct pgcdc_pipeline *p)
{
    return p->incr_phase == INCR_READING || p->incr_phase == INCR_EMITTING;
}

/* The window's rows may go out: the stream passed the high watermark. */
static void window_passed(struct pgcdc_pipeline *p, pgcdc_lsn lsn)
{
    char a[PGCDC_LSN_BUFLEN], b[PGCDC_LSN_BUFLEN];

    pgcdc_window_close(p->win);
    p->incr_phase = INCR_EMITTING;
    p->incr_cursor = 0;
    p->incr_lsn = lsn;
    pgcdc_log_debug("incremental snapshot: window closed at %s (high watermark %s), %zu of %zu "
                    "row(s) left",
                    pgcdc_lsn_format(lsn, a), pgcdc_lsn_format(p->incr_high, b),
                    pgcdc_window_rows(p->win) - pgcdc_window_dropped(p->win),
                    pgcdc_window_rows(p->win));
}

void pgcdc_incrun_stream_at(struct pgcdc_pipeline *p, pgcdc_lsn lsn)
{
    if (p->incr_phase == INCR_OPEN && pgcdc_window_passed(p->win, lsn))
        window_passed(p, lsn);
}

/* The key texts of a pgoutput tuple, by the chunk's key columns; false
 * when one is missing (an unchanged TOASTed key: never for a primary key). */
static bool tuple_key(const struct pgcdc_pipeline *p, const struct pgcdc_tuple *t,
                      const char **kv, uint32_t *kl)
{
    for (uint16_t i = 0; i < p->incr_nkey; i++) {
        uint16_t c = p->incr_key[i];

        if (c >= t->ncols || t->cols[c].kind == PGCDC_VALUE_UNCHANGED)
            return false;
        kv[i] = t->cols[c].kind == PGCDC_VALUE_NULL ? NULL : t->cols[c].data;
        kl[i] = t->cols[c].len;
    }
    return true;
}

void pgcdc_incrun_change(struct pgcdc_pipeline *p, const struct pgcdc_msg *m, uint32_t xid)
{
    const char *kv[32];
    uint32_t kl[32];

    if (p->incr_phase != INCR_OPEN)
        return;
    switch (m->type) {
    case PGCDC_MSG_INSERT:
    case PGCDC_MSG_UPDATE:
    case PGCDC_MSG_DELETE:
        if (m->u.change.relid != p->incr_relid)
            return;
        if (m->u.change.old_kind != 0) {
            if (tuple_key(p, &m->u.change.old, kv, kl))
                pgcdc_window_change(p->win, p->incr_relid, xid, kv, kl, p->incr_nkey);
            else
                pgcdc_window_truncate(p->win, p->incr_relid, xid);
        }
        if (m->type != PGCDC_MSG_DELETE) {
            if (tuple_key(p, &m->u.change.new_, kv, kl))
                pgcdc_window_change(p->win, p->incr_relid, xid, kv, kl, p->incr_nkey);
            else
                pgcdc_window_truncate(p->win, p->incr_relid, xid);
        }
        return;
    case PGCDC_MSG_TRUNCATE:
        for (uint32_t i = 0; i < m->u.truncate.nrels; i++)
            pgcdc_window_truncate(p->win, pgcdc_truncate_relid(m, i), xid);
        return;
    default:
        return;
    }
}

void pgcdc_incrun_committed(struct pgcdc_pipeline *p, uint32_t xid)
{
    p->incr_recent[p->incr_nrecent++ % INCR_RECENT] = xid;
}

void pgcdc_incrun_delivered(struct pgcdc_pipeline *p, uint64_t txn)
{
    if (p->incr_handle != 0 && txn == p->incr_handle)
        p->incr_acked++;
}

int pgcdc_incrun_pollfd(struct pgcdc_pipeline *p, struct pollfd *pfd)
{
    if (p->incr == NULL || p->incr_phase != INCR_READING)
        return 0;
    return pgcdc_incr_pollfd(p->incr, pfd);
}

/* Produces the window's rows from the cursor on; -EAGAIN or -EINPROGRESS
 * when the sink or the registry must be waited for. */
static int emit_rows(struct pgcdc_pipeline *p, int *count, char *err, size_t errlen)
{
    const struct pgcdc_rel *rel = pgcdc_relcache_get(p->rels, p->incr_relid);
    struct pgcdc_window_row r;
    int rc;

    if (p->incr_handle == 0) {
        rc = pgcdc_tracker_begin(p->tracker, p->incr_lsn, &p->incr_handle);
        if (rc < 0) {
            snprintf(err, errlen, "checkpoint tracker refused an incremental chunk: %s",
                     strerror(-rc));
            return rc;
        }
        p->incr_produced = 0;
        p->incr_acked = 0;
    }
    if (rel == NULL) {
        snprintf(err, errlen, "incremental snapshot: relation %u is not described",
                 p->incr_relid);
        return -EPROTO;
    }
    p->incr_src = p->src;
    p->incr_src.snapshot = "incremental";
    p->incr_src.txn = NULL;
    p->incr_src.lsn = p->incr_lsn;
    p->incr_src.xid = 0;
    p->incr_src.commit_time_us = pgcdc_wall_us();
    p->incr_src.origin = NULL;
    p->incr_src.origin_lsn = 0;
    for (;;) {
        const struct pgcdc_change_event *ev;
        size_t at = p->incr_cursor;
        int n;

        if (*count >= READ_BATCH ||
            pgcdc_sink_in_flight(p->sink) >= (size_t)p->cfg->max_queue_size)
            return 0;
        if (!pgcdc_window_next(p->win, &p->incr_cursor, &r))
            break;
        p->txn = p->incr_handle;
        p->txn_events = p->incr_produced;
        p->skip_below = 0;
        pgcdc_change_batch_at(p->batch, p->txn_events);
        n = pgcdc_change_batch_text_row(p->batch, rel, r.values, r.lens, r.ncols, &p->incr_src,
                                        pgcdc_wall_us(), &ev, err, errlen);
        rc = n <= 0 ? n : pgcdc_pipeline_emit(p, ev, n, err, errlen);
        p->incr_produced = p->txn_events;
        p->txn = PGCDC_TRACKER_NO_TXN;
        if (rc == -EAGAIN || rc == -EINPROGRESS) {
            p->incr_cursor = at;
            return rc;
        }
        pgcdc_catalog_done(p->catalog);
        if (rc < 0)
            return rc;
        (*count)++;
    }
    rc = pgcdc_tracker_commit(p->tracker, p->incr_handle, p->incr_lsn);
    if (rc < 0) {
        snprintf(err, errlen, "checkpoint tracker refused an incremental chunk's end: %s",
                 strerror(-rc));
        return rc;
    }
    p->incr_rows += pgcdc_window_rows(p->win) - pgcdc_window_dropped(p->win);
    p->incr_phase = INCR_DELIVER;
    return 0;
}

/* Takes the reader's events while the chunk is read. */
static int read_chunk(struct pgcdc_pipeline *p, char *err, size_t errlen)
{
    for (;;) {
        struct pgcdc_incr_event ev;
        struct pgcdc_rel *rel;
        bool changed;
        int rc = pgcdc_incr_step(p->incr, &ev, err, errlen);

        if (rc == -ECONNRESET) {
            /* The chunk is asked for again on a new connection. */
            pgcdc_log_warn("%s; reading the chunk again", err);
            pgcdc_window_close(p->win);
            return 0;
        }
        if (rc < 0)
            return rc;
        switch (ev.kind) {
        case PGCDC_INCR_NONE:
            if (pgcdc_incr_reading(p->incr) || p->incr_phase != INCR_READING)
                return 0;
            /* Nothing to read after all (a stop emptied the queue). */
            p->incr_phase = INCR_IDLE;
            return record(p, err, errlen);
        case PGCDC_INCR_SKIPPED:
            pgcdc_log_warn("%s; skipped", err);
            pgcdc_window_close(p->win);
            p->incr_phase = INCR_IDLE;
            return record(p, err, errlen);
        case PGCDC_INCR_RELATION:
            rc = pgcdc_relcache_apply(p->rels, ev.relation, &rel, &changed, err, errlen);
            if (rc < 0)
                return rc;
            if (changed && rel->included)
                pgcdc_pipeline_log_relation(rel);
            pgcdc_log_info("incremental snapshot of '%s': reading it in chunks of %d row(s)",
                           ev.table, p->cfg->incremental_chunk_size);
            pgcdc_incr_want_chunk(p->incr);
            break;
        case PGCDC_INCR_CHUNK_BEGIN:
            rc = pgcdc_window_open(p->win, ev.relid, ev.q, ev.high);
            if (rc < 0) {
                snprintf(err, errlen, "out of memory");
                return rc;
            }
            p->incr_relid = ev.relid;
            p->incr_high = ev.high;
            /* Every transaction streamed before the chunk was asked for
             * must be in its rows (window.h); one that is not yet visible
             * (its commit sent before it was visible) makes the chunk be
             * read again. */
            p->incr_unseen = !pgcdc_window_sees_all(
                ev.q, p->incr_recent,
                p->incr_nrecent < INCR_RECENT ? p->incr_nrecent : INCR_RECENT);
            p->incr_nkey = ev.nkey;
            memcpy(p->incr_key, ev.key, ev.nkey * sizeof(*ev.key));
            break;
        case PGCDC_INCR_ROW: {
            const char *kv[32];
            uint32_t kl[32];

            for (uint16_t i = 0; i < ev.nkey; i++) {
                kv[i] = ev.values[ev.key[i]];
                kl[i] = ev.lens[ev.key[i]];
            }
            rc = pgcdc_window_add(p->win, kv, kl, ev.nkey, ev.values, ev.lens, ev.ncols);
            if (rc < 0) {
                snprintf(err, errlen, "incremental snapshot: cannot buffer a row: %s",
                         strerror(-rc));
                return rc;
            }
            break;
        }
        case PGCDC_INCR_CHUNK_END:
            if (p->incr_unseen) {
                pgcdc_log_info("incremental snapshot of '%s': a transaction already streamed "
                               "was not visible to the chunk's snapshot; reading it again",
                               ev.table);
                pgcdc_incr_rollback(p->incr);
                pgcdc_window_close(p->win);
                p->incr_phase = INCR_IDLE;
                return 0;
            }
            p->incr_chunks++;
            p->incr_table_done = ev.last;
            snprintf(p->incr_table, sizeof(p->incr_table), "%s", ev.table ? ev.table : "");
            pgcdc_log_info("incremental snapshot of '%s': chunk of %" PRIu64 " row(s) read%s",
                           ev.table, ev.rows, ev.last ? " (its last)" : "");
            p->incr_phase = INCR_OPEN;
            p->incr_ping_us = 0;
            /* The stream may be past the high watermark already. */
            if (!p->in_txn)
                pgcdc_incrun_stream_at(p, p->received > p->server_sent ? p->received
                                                                       : p->server_sent);
            return 0;
        }
    }
}

int pgcdc_incrun_step(struct pgcdc_pipeline *p, int *count, char *err, size_t errlen)
{
    int64_t now = pgcdc_mono_us();
    int rc;

    if (p->incr == NULL || p->stream == NULL)
        return 0;
    if (now >= p->incr_signal_us) {
        rc = take_signals(p, err, errlen);
        if (rc < 0)
            return rc;
    }
    switch (p->incr_phase) {
    case INCR_IDLE:
        if (p->incr_paused || !pgcdc_incr_pending(p->incr) || p->held || p->in_txn)
            return 0;
        pgcdc_incr_want_chunk(p->incr);
        p->incr_phase = INCR_READING;
        return read_chunk(p, err, errlen);
    case INCR_READING:
        return read_chunk(p, err, errlen);
    case INCR_OPEN:
        /* An idle database sends no Commit: ask for a keepalive. */
        if (now >= p->incr_ping_us && !p->in_txn) {
            p->incr_ping_us = now + (int64_t)INCR_PING_MS * 1000;
            rc = pgcdc_stream_send_status(p->stream, p->confirmed, p->confirmed, true, err,
                                          errlen);
            if (rc < 0)
                return rc;
        }
        return 0;
    case INCR_EMITTING:
        if (p->registry && pgcdc_registry_busy(p->registry))
            return 0;
        if (pgcdc_catalog_busy(p->catalog))
            return 0;
        rc = emit_rows(p, count, err, errlen);
        if (rc == -EAGAIN || rc == -EINPROGRESS)
            return 0;
        return rc;
    case INCR_DELIVER:
        if (p->incr_acked < p->incr_produced)
            return 0;
        pgcdc_incr_commit(p->incr);
        rc = record(p, err, errlen);
        if (rc < 0)
            return rc;
        p->incr_handle = 0;
        if (p->incr_table_done)
            pgcdc_log_info("incremental snapshot of '%s' done: %" PRIu64
                           " row(s) in %" PRIu64 " chunk(s)",
                           p->incr_table, p->incr_rows, p->incr_chunks);
        if (p->incr_table_done) {
            p->incr_rows = 0;
            p->incr_chunks = 0;
        }
        p->incr_phase = INCR_IDLE;
        return 0;
    }
    return 0;
}
