/*
 * progress.c - the record of a snapshot's delivered chunks (progress.h).
 */
#include "pgcdc/progress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAGIC "pgcdc-snapshot-progress 1"

void pgcdc_progress_clear(struct pgcdc_progress *p)
{
    free(p->done);
    memset(p, 0, sizeof(*p));
}

/* Appends fmt to *buf (grown as needed); -ENOMEM. */
static int appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    int n;

    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -EINVAL;
        if ((size_t)n < *cap - *len) {
            *len += (size_t)n;
            return 0;
        }
        {
            size_t cap2 = (*cap + (size_t)n + 1) * 2;
            char *grown = realloc(*buf, cap2);

            if (grown == NULL)
                return -ENOMEM;
            *buf = grown;
            *cap = cap2;
        }
    }
}

static void bound(char *out, size_t outlen, bool has, int64_t v)
{
    if (has)
        snprintf(out, outlen, "%" PRId64, v);
    else
        snprintf(out, outlen, "-");
}

int pgcdc_progress_save(const char *path, const struct pgcdc_progress *p, char *err,
                        size_t errlen)
{
    size_t len = 0, cap = 256, plen = strlen(path);
    char *buf = malloc(cap), *tmp = malloc(plen + 5), *dircopy = strdup(path);
    char lsn[PGCDC_LSN_BUFLEN];
    const char *step = "write";
    int fd = -1, rc = -ENOMEM;

    if (buf == NULL || tmp == NULL || dircopy == NULL)
        goto nomem;
    snprintf(tmp, plen + 5, "%s.tmp", path);
    rc = appendf(&buf, &len, &cap, MAGIC "\nslot %s\nlsn %s\nchunks %zu\n", p->slot,
                 pgcdc_lsn_format(p->lsn, lsn), p->planned);
    for (size_t i = 0; rc == 0 && i < p->ndone; i++) {
        const struct pgcdc_progress_chunk *c = &p->done[i];
        char lo[24], hi[24];

        bound(lo, sizeof(lo), c->has_lo, c->lo);
        bound(hi, sizeof(hi), c->has_hi, c->hi);
        rc = appendf(&buf, &len, &cap, "chunk %" PRIu32 " %c %s %s\n", c->relid, c->kind, lo, hi);
    }
    if (rc < 0)
        goto nomem;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        step = "open";
        goto fail;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, buf + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            goto fail;
        off += (size_t)w;
    }
    step = "fsync";
    if (fsync(fd) < 0)
        goto fail;
    close(fd);
    fd = -1;
    step = "rename";
    if (rename(tmp, path) < 0)
        goto fail;
    fd = open(dirname(dircopy), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(buf);
    free(tmp);
    free(dircopy);
    return 0;

fail:
    rc = -errno;
    snprintf(err, errlen, "snapshot progress file '%s': cannot %s: %s", path, step,
             strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(buf);
    free(tmp);
    free(dircopy);
    return rc;
nomem:
    snprintf(err, errlen, "out of memory");
    free(buf);
    free(tmp);
    free(dircopy);
    return -ENOMEM;
}

/* lo or hi of a chunk line: '-' (open) or an integer. */
static int parse_bound(const char *text, bool *has, int64_t *v)
{
    char *end;

    if (strcmp(text, "-") == 0) {
        *has = false;
        *v = 0;
        return 0;
    }
    errno = 0;
    *v = strtoll(text, &end, 10);
    *has = true;
    return errno != 0 || end == text || *end != '\0' ? -EINVAL : 0;
}

int pgcdc_progress_load(const char *path, struct pgcdc_progress *p, bool *found, char *err,
                        size_t errlen)
{
    FILE *f = fopen(path, "re");
    char line[512], a[64], b[64], lsn[64];
    size_t cap = 0, lineno = 0;
    int rc = 0;

    memset(p, 0, sizeof(*p));
    *found = false;
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        rc = -errno;
        snprintf(err, errlen, "snapshot progress file '%s': cannot open: %s", path,
                 strerror(errno));
        return rc;
    }
    *found = true;
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        unsigned long relid;
        char kind;

        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (lineno == 1) {
            rc = strcmp(line, MAGIC) == 0 ? 0 : -EINVAL;
        } else if (sscanf(line, "slot %63s", p->slot) == 1) {
        } else if (sscanf(line, "lsn %63s", lsn) == 1) {
            rc = pgcdc_lsn_parse(lsn, &p->lsn) < 0 ? -EINVAL : 0;
        } else if (sscanf(line, "chunks %zu", &p->planned) == 1) {
        } else if (sscanf(line, "chunk %lu %c %63s %63s", &relid, &kind, a, b) == 4) {
            struct pgcdc_progress_chunk *c;

            if (p->ndone == cap) {
                struct pgcdc_progress_chunk *grown =
                    realloc(p->done, (cap ? cap * 2 : 16) * sizeof(*grown));

                if (grown == NULL) {
                    rc = -ENOMEM;
                    break;
                }
                p->done = grown;
                cap = cap ? cap * 2 : 16;
            }
            c = &p->done[p->ndone++];
            c->relid = (uint32_t)relid;
            c->kind = kind;
            if (parse_bound(a, &c->has_lo, &c->lo) < 0 || parse_bound(b, &c->has_hi, &c->hi) < 0)
                rc = -EINVAL;
        } else {
            rc = -EINVAL;
        }
    }
    fclose(f);
    if (rc == 0 && lineno == 0)
        rc = -EINVAL;
    if (rc < 0) {
        snprintf(err, errlen, "snapshot progress file '%s': %s at line %zu", path,
                 rc == -ENOMEM ? "out of memory" : "malformed", lineno);
        pgcdc_progress_clear(p);
    }
    return rc;
}

int pgcdc_progress_remove(const char *path, char *err, size_t errlen)
{
    int rc;

    if (unlink(path) == 0 || errno == ENOENT)
        return 0;
    rc = -errno;
    snprintf(err, errlen, "snapshot progress file '%s': cannot remove: %s", path,
             strerror(errno));
    return rc;
}
