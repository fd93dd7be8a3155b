/*
 * progress.h - the record of a snapshot's delivered chunks.
 *
 * While a snapshot is read, the chunks whose every row is delivered are
 * written to a file next to the position file ("<position file>.snapshot"),
 * with the slot and the WAL position the snapshot belongs to, so that an
 * interrupted snapshot is known for what it had done. The file is replaced
 * atomically (written to "<path>.tmp", fsync'ed, renamed, directory
 * fsync'ed) and removed once the snapshot is delivered whole and the
 * position is stored.
 *
 * Format, one item per line:
 *
 *   pgcdc-snapshot-progress 1
 *   slot <slot name>
 *   lsn <X/Y>
 *   chunks <chunks planned>
 *   chunk <relid> <kind> <lo> <hi>     one per delivered chunk
 *
 * kind is 'a' (a whole table), 'k' (a range of its integer key) or 'c' (a
 * range of its pages); lo and hi bound the range (lo <= v < hi), '-' where
 * it is open.
 */
#ifndef PGCDC_PROGRESS_H
#define PGCDC_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/lsn.h"

/* One delivered chunk. */
struct pgcdc_progress_chunk {
    uint32_t relid; /* the table */
    char kind;      /* 'a', 'k' or 'c' */
    bool has_lo;    /* bounded below */
    bool has_hi;    /* bounded above */
    int64_t lo;     /* first value in it */
    int64_t hi;     /* first value after it */
};

/* What a progress file says. */
struct pgcdc_progress {
    char slot[64];                       /* slot the snapshot belongs to */
    pgcdc_lsn lsn;                       /* its WAL position */
    size_t planned;                      /* chunks planned */
    size_t ndone;                        /* chunks delivered, entries in done */
    struct pgcdc_progress_chunk *done;   /* malloc'd; free with pgcdc_progress_clear */
};

/* Replaces the file at path atomically. 0, or a negative errno with text
 * in err naming the path and the step that failed. */
int pgcdc_progress_save(const char *path, const struct pgcdc_progress *p, char *err,
                        size_t errlen);

/* Reads the file at path into *p (*found false, and p empty, when there is
 * none). 0, -EINVAL for a malformed file, or another negative errno, with
 * text in err. */
int pgcdc_progress_load(const char *path, struct pgcdc_progress *p /* OUT */,
                        bool *found /* OUT */, char *err, size_t errlen);

/* Removes the file at path; no file is fine. 0 or a negative errno. */
int pgcdc_progress_remove(const char *path, char *err, size_t errlen);

/* Frees p->done and empties p. */
void pgcdc_progress_clear(struct pgcdc_progress *p);

#endif
