/*
 * store.c - the persisted replication position, and its file implementation.
 *
 * The position file is small text, one key=value per line, every line ended
 * by a newline; blank lines and lines starting with '#' are ignored:
 *
 *   # pgcdc replication position; replaced atomically, do not edit while pgcdc runs
 *   format=1
 *   slot=orders_slot
 *   end_lsn=16/B374D848
 *   partial_commit_lsn=0/0
 *   partial_events=0
 *   system_id=7301234567890123456
 *   timeline=1
 *
 * Every key must appear exactly once, no other key may appear, LSNs use
 * PostgreSQL's X/Y notation and partial_events is a decimal count. The
 * server identity (system_id and timeline, from IDENTIFY_SYSTEM) says where
 * the position was taken; files written before it was recorded lack both
 * lines and still load, with the identity unknown. The slot
 * line ties the file to one replication slot: starting a connector on another
 * slot with the same file is an error, not a restart from the wrong place.
 *
 * Saving never leaves a half-written file at the path: the new content goes
 * to "<path>.tmp" in the same directory, is fsync'ed, renamed over the path
 * (atomic on POSIX file systems), and the directory is fsync'ed so that the
 * rename itself survives a crash. If any step before the rename fails, the
 * old file is untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgcdc/lsn.h"
#include "pgcdc/store.h"

/* Longest slot name PostgreSQL accepts (NAMEDATALEN - 1). */
#define SLOT_NAME_MAX 63

/* A position file is a few hundred bytes; anything much larger is not one. */
#define FILE_MAX 4096

#define FORMAT_VERSION "1"

struct file_store {
    struct pgcdc_store base;      /* must be first */
    char *path;                   /* the position file */
    char *tmp_path;               /* path + ".tmp", written then renamed */
    char *dir_path;               /* directory holding both, fsync'ed after rename */
    char slot[SLOT_NAME_MAX + 1]; /* slot the file belongs to */
};

int pgcdc_store_position_check(const struct pgcdc_position *pos, char *err, size_t errlen)
{
    char a[PGCDC_LSN_BUFLEN];
    char b[PGCDC_LSN_BUFLEN];

    if (pos->partial_commit_lsn == 0 && pos->partial_events != 0) {
        snprintf(err, errlen, "partial_events is %" PRIu64 " but partial_commit_lsn is 0/0",
                 pos->partial_events);
        return -EINVAL;
    }
    if (pos->partial_commit_lsn != 0 && pos->partial_commit_lsn < pos->end_lsn) {
        snprintf(err, errlen, "partial_commit_lsn %s is below end_lsn %s",
                 pgcdc_lsn_format(pos->partial_commit_lsn, a), pgcdc_lsn_format(pos->end_lsn, b));
        return -EINVAL;
    }
    return 0;
}

uint64_t pgcdc_store_events_to_skip(const struct pgcdc_position *pos, pgcdc_lsn commit_lsn)
{
    if (pos->partial_commit_lsn != 0 && commit_lsn == pos->partial_commit_lsn)
        return pos->partial_events;
    return 0;
}

/* ---- reading ---- */

/* Parses a decimal uint64 with nothing around it. */
static int parse_u64(const char *text, uint64_t *out /* OUT */)
{
    uint64_t v = 0;

    if (*text == '\0')
        return -EINVAL;
    for (const char *p = text; *p; p++) {
        unsigned d;

        if (*p < '0' || *p > '9')
            return -EINVAL;
        d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

enum file_key {
    KEY_FORMAT,
    KEY_SLOT,
    KEY_END_LSN,
    KEY_PARTIAL_LSN,
    KEY_PARTIAL_EVENTS,
    KEY_SYSTEM_ID, /* optional, like every key from here on */
    KEY_TIMELINE,
    KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {
    "format", "slot", "end_lsn", "partial_commit_lsn", "partial_events", "system_id", "timeline",
};

/* Reads at most FILE_MAX bytes of fd into buf (FILE_MAX + 1 bytes), NUL-
 * terminated; -EFBIG when the file is larger. */
static int read_all(int fd, char *buf, size_t *len /* OUT */)
{
    size_t n = 0;

    for (;;) {
        ssize_t r = read(fd, buf + n, FILE_MAX + 1 - n);

        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > FILE_MAX)
            return -EFBIG;
    }
    buf[n] = '\0';
    *len = n;
    return 0;
}

/* Parses the file text in buf (modified in place). */
static int parse_file(struct file_store *fs, char *buf, size_t len,
                      struct pgcdc_position *pos /* OUT */, char *err, size_t errlen)
{
    bool seen[KEY_COUNT] = {false};
    struct pgcdc_position p = {0};
    char *line = buf;
    char *end = buf + len;
    int lineno = 0;
    char check_err[160];

    if (memchr(buf, '\0', len)) {
        snprintf(err, errlen, "position file '%s': contains a NUL byte: not a position file",
                 fs->path);
        return -EBADMSG;
    }
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *eq;
        const char *value;
        int key;

        lineno++;
        if (!nl) {
            snprintf(err, errlen, "position file '%s': line %d: no newline at the end (truncated?)",
                     fs->path, lineno);
            return -EBADMSG;
        }
        *nl = '\0';
        if (line[0] == '\0' || line[0] == '#') {
            line = nl + 1;
            continue;
        }
        eq = strchr(line, '=');
        if (!eq) {
            snprintf(err, errlen, "position file '%s': line %d: expected key=value, got '%.40s'",
                     fs->path, lineno, line);
            return -EBADMSG;
        }
        *eq = '\0';
        value = eq + 1;
        for (key = 0; key < KEY_COUNT; key++)
            if (strcmp(line, key_names[key]) == 0)
                break;
        if (key == KEY_COUNT) {
            snprintf(err, errlen, "position file '%s': line %d: unknown key '%.40s'", fs->path,
                     lineno, line);
            return -EBADMSG;
        }
        if (seen[key]) {
            snprintf(err, errlen, "position file '%s': line %d: '%s' given twice", fs->path, lineno,
                     key_names[key]);
            return -EBADMSG;
        }
        seen[key] = true;

        switch (key) {
        case KEY_FORMAT:
            if (strcmp(value, FORMAT_VERSION) != 0) {
                snprintf(err, errlen,
                         "position file '%s': line %d: unsupported format '%.40s' (this pgcdc "
                         "reads format " FORMAT_VERSION ")",
                         fs->path, lineno, value);
                return -EBADMSG;
            }
            break;
        case KEY_SLOT:
            if (strcmp(value, fs->slot) != 0) {
                snprintf(err, errlen,
                         "position file '%s': line %d: written for slot '%.64s', not '%s': "
                         "point this connector at its own position file",
                         fs->path, lineno, value, fs->slot);
                return -EINVAL;
            }
            break;
        case KEY_END_LSN:
        case KEY_PARTIAL_LSN:
            if (pgcdc_lsn_parse(value, key == KEY_END_LSN ? &p.end_lsn : &p.partial_commit_lsn) <
                0) {
                snprintf(err, errlen,
                         "position file '%s': line %d: bad %s '%.40s' (expected an LSN such as "
                         "16/B374D848)",
                         fs->path, lineno, key_names[key], value);
                return -EBADMSG;
            }
            break;
        case KEY_SYSTEM_ID:
        case KEY_TIMELINE: {
            uint64_t v;

            if (parse_u64(value, &v) < 0 || (key == KEY_TIMELINE && v > UINT32_MAX) ||
                strlen(value) >= sizeof(p.system_id)) {
                snprintf(err, errlen, "position file '%s': line %d: bad %s '%.40s' (expected a "
                         "number)",
                         fs->path, lineno, key_names[key], value);
                return -EBADMSG;
            }
            if (key == KEY_TIMELINE)
                p.timeline = (uint32_t)v;
            else
                memcpy(p.system_id, value, strlen(value) + 1);
            break;
        }
        case KEY_PARTIAL_EVENTS:
            if (parse_u64(value, &p.partial_events) < 0) {
                snprintf(err, errlen,
                         "position file '%s': line %d: bad partial_events '%.40s' (expected a "
                         "count)",
                         fs->path, lineno, value);
                return -EBADMSG;
            }
            break;
        default:
            break;
        }
        line = nl + 1;
    }
    for (int key = 0; key < KEY_SYSTEM_ID; key++) {
        if (!seen[key]) {
            snprintf(err, errlen,
                     "position file '%s': no '%s' line (truncated or not a position "
                     "file?)",
                     fs->path, key_names[key]);
            return -EBADMSG;
        }
    }
    if (pgcdc_store_position_check(&p, check_err, sizeof(check_err)) < 0) {
        snprintf(err, errlen, "position file '%s': %s", fs->path, check_err);
        return -EBADMSG;
    }
    *pos = p;
    return 0;
}

static int file_load(struct pgcdc_store *s, struct pgcdc_position *pos, bool *found, char *err,
                     size_t errlen)
{
    struct file_store *fs = (struct file_store *)s;
    char buf[FILE_MAX + 1];
    size_t len = 0;
    int fd;
    int rc;

    *pos = (struct pgcdc_position){0};
    *found = false;
    fd = open(fs->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        rc = -errno;
        snprintf(err, errlen, "position file '%s': cannot open: %s", fs->path, strerror(-rc));
        return rc;
    }
    rc = read_all(fd, buf, &len);
    close(fd);
    if (rc == -EFBIG) {
        snprintf(err, errlen, "position file '%s': larger than %d bytes: not a position file",
                 fs->path, FILE_MAX);
        return -EBADMSG;
    }
    if (rc < 0) {
        snprintf(err, errlen, "position file '%s': cannot read: %s", fs->path, strerror(-rc));
        return rc;
    }
    rc = parse_file(fs, buf, len, pos, err, errlen);
    if (rc < 0)
        return rc;
    *found = true;
    return 0;
}

/* ---- writing ---- */

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

static int file_save(struct pgcdc_store *s, const struct pgcdc_position *pos, char *err,
                     size_t errlen)
{
    struct file_store *fs = (struct file_store *)s;
    char text[512];
    char end_lsn[PGCDC_LSN_BUFLEN];
    char partial_lsn[PGCDC_LSN_BUFLEN];
    char check_err[160];
    const char *step;
    int n;
    int fd;
    int rc;

    if (pgcdc_store_position_check(pos, check_err, sizeof(check_err)) < 0) {
        snprintf(err, errlen, "position file '%s': refusing to save: %s", fs->path, check_err);
        return -EINVAL;
    }
    n = snprintf(text, sizeof(text),
                 "# pgcdc replication position; replaced atomically, do not edit while pgcdc "
                 "runs\n"
                 "format=" FORMAT_VERSION "\n"
                 "slot=%s\n"
                 "end_lsn=%s\n"
                 "partial_commit_lsn=%s\n"
                 "partial_events=%" PRIu64 "\n"
                 "%s%s%s",
                 fs->slot, pgcdc_lsn_format(pos->end_lsn, end_lsn),
                 pgcdc_lsn_format(pos->partial_commit_lsn, partial_lsn), pos->partial_events,
                 pos->system_id[0] ? "system_id=" : "", pos->system_id,
                 pos->system_id[0] ? "\n" : "");
    if (n > 0 && (size_t)n < sizeof(text) && pos->timeline != 0)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "timeline=%" PRIu32 "\n",
                      pos->timeline);
    if (n < 0 || (size_t)n >= sizeof(text)) {
        snprintf(err, errlen, "position file '%s': position text too long", fs->path);
        return -EOVERFLOW;
    }

    step = "create";
    fd = open(fs->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        goto error;
    }
    step = "write";
    rc = write_all(fd, text, (size_t)n);
    if (rc == 0) {
        step = "fsync";
        if (fsync(fd) < 0)
            rc = -errno;
    }
    if (close(fd) < 0 && rc == 0) {
        step = "close";
        rc = -errno;
    }
    if (rc < 0)
        goto error_unlink;
    step = "rename";
    if (rename(fs->tmp_path, fs->path) < 0) {
        rc = -errno;
        goto error_unlink;
    }
    rc = fsync_dir(fs->dir_path);
    if (rc < 0) {
        snprintf(err, errlen, "position file '%s': saved, but cannot fsync its directory '%s': %s",
                 fs->path, fs->dir_path, strerror(-rc));
        return rc;
    }
    return 0;

error_unlink:
    unlink(fs->tmp_path);
error:
    snprintf(err, errlen, "position file '%s': cannot %s '%s': %s", fs->path, step, fs->tmp_path,
             strerror(-rc));
    return rc;
}

/* ---- lifetime ---- */

static void file_free(struct pgcdc_store *s)
{
    struct file_store *fs = (struct file_store *)s;

    free(fs->path);
    free(fs->tmp_path);
    free(fs->dir_path);
    free(fs);
}

static const struct pgcdc_store_ops file_ops = {
    .load = file_load,
    .save = file_save,
    .free = file_free,
};

/* Copies len bytes of s and a NUL into a new string, or NULL. */
static char *dup_len(const char *s, size_t len)
{
    char *d = malloc(len + 1);

    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static int check_slot_name(const char *slot, char *err, size_t errlen)
{
    size_t len = strlen(slot);

    if (len == 0 || len > SLOT_NAME_MAX) {
        snprintf(err, errlen, "slot name '%.80s': must be 1 to %d characters", slot, SLOT_NAME_MAX);
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        char c = slot[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            snprintf(err, errlen,
                     "slot name '%s': only lower case letters, digits and underscores are "
                     "allowed",
                     slot);
            return -EINVAL;
        }
    }
    return 0;
}

int pgcdc_store_file_open(struct pgcdc_store **out, const char *path, const char *slot_name,
                          char *err, size_t errlen)
{
    struct file_store *fs;
    const char *slash;
    size_t path_len;
    int rc;

    *out = NULL;
    if (!path || path[0] == '\0') {
        snprintf(err, errlen, "position file: empty path");
        return -EINVAL;
    }
    path_len = strlen(path);
    if (path[path_len - 1] == '/') {
        snprintf(err, errlen, "position file '%s': is a directory name, expected a file", path);
        return -EINVAL;
    }
    if (path_len + sizeof(".tmp") > 4096) {
        snprintf(err, errlen, "position file '%.80s...': path too long", path);
        return -ENAMETOOLONG;
    }
    rc = check_slot_name(slot_name, err, errlen);
    if (rc < 0)
        return rc;

    fs = calloc(1, sizeof(*fs));
    if (!fs)
        goto nomem;
    fs->base.ops = &file_ops;
    memcpy(fs->slot, slot_name, strlen(slot_name) + 1);
    fs->path = dup_len(path, path_len);
    fs->tmp_path = malloc(path_len + sizeof(".tmp"));
    slash = strrchr(path, '/');
    if (!slash)
        fs->dir_path = dup_len(".", 1);
    else if (slash == path)
        fs->dir_path = dup_len("/", 1);
    else
        fs->dir_path = dup_len(path, (size_t)(slash - path));
    if (!fs->path || !fs->tmp_path || !fs->dir_path)
        goto nomem;
    memcpy(fs->tmp_path, path, path_len);
    memcpy(fs->tmp_path + path_len, ".tmp", sizeof(".tmp"));
    *out = &fs->base;
    return 0;

nomem:
    if (fs)
        file_free(&fs->base);
    snprintf(err, errlen, "position file '%s': out of memory", path);
    return -ENOMEM;
}
