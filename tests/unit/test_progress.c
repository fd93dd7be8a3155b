/*
 * test_progress.c - the record of a snapshot's delivered chunks: written
 * and read back, no file, a malformed file, removal.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgcdc/progress.h"

static void temp_path(char *out, size_t len)
{
    char dir[] = "/tmp/pgcdc-progress-XXXXXX";

    cr_assert_not_null(mkdtemp(dir));
    snprintf(out, len, "%s/offsets.snapshot", dir);
}

Test(progress, saved_and_read_back)
{
    struct pgcdc_progress_chunk done[] = {
        {.relid = 16384, .kind = 'k', .has_lo = false, .has_hi = true, .lo = 0, .hi = 1001},
        {.relid = 16384, .kind = 'k', .has_lo = true, .has_hi = false, .lo = -5, .hi = 0},
        {.relid = 16390, .kind = 'a'},
    };
    struct pgcdc_progress p = {.lsn = 0x100000028, .planned = 7, .ndone = 3, .done = done};
    struct pgcdc_progress q;
    char path[128], err[256] = "";
    bool found = false;

    snprintf(p.slot, sizeof(p.slot), "shop");
    temp_path(path, sizeof(path));
    cr_assert_eq(pgcdc_progress_save(path, &p, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pgcdc_progress_load(path, &q, &found, err, sizeof(err)), 0, "%s", err);
    cr_assert(found);
    cr_assert_str_eq(q.slot, "shop");
    cr_assert_eq(q.lsn, 0x100000028);
    cr_assert_eq(q.planned, 7);
    cr_assert_eq(q.ndone, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(q.done[i].relid, done[i].relid);
        cr_assert_eq(q.done[i].kind, done[i].kind);
        cr_assert_eq(q.done[i].has_lo, done[i].has_lo);
        cr_assert_eq(q.done[i].has_hi, done[i].has_hi);
        cr_assert_eq(q.done[i].lo, done[i].lo, "chunk %zu", i);
        cr_assert_eq(q.done[i].hi, done[i].hi, "chunk %zu", i);
    }
    pgcdc_progress_clear(&q);
    cr_assert_eq(pgcdc_progress_remove(path, err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_progress_load(path, &q, &found, err, sizeof(err)), 0);
    cr_assert(!found);
    cr_assert_eq(pgcdc_progress_remove(path, err, sizeof(err)), 0, "no file is fine");
}

Test(progress, malformed_file_is_refused)
{
    struct pgcdc_progress q;
    char path[128], err[256] = "";
    bool found;
    FILE *f;

    temp_path(path, sizeof(path));
    f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("pgcdc-snapshot-progress 1\nslot s\nlsn 0/10\nchunk 1 k x 3\n", f);
    fclose(f);
    cr_assert_eq(pgcdc_progress_load(path, &q, &found, err, sizeof(err)), -EINVAL);
    cr_assert(strstr(err, "malformed at line 4") != NULL, "%s", err);
    cr_assert_null(q.done);
    f = fopen(path, "w");
    fputs("something else\n", f);
    fclose(f);
    cr_assert_eq(pgcdc_progress_load(path, &q, &found, err, sizeof(err)), -EINVAL);
    unlink(path);
}
