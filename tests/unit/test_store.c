/*
 * test_store.c - the position file and the LSN notation.
 *
 * What a user relies on: a saved position comes back exactly after a
 * restart; a failed save never damages the previous position; a damaged or
 * foreign file stops pgcdc with a message naming the file and the line,
 * instead of silently starting over; LSNs read and print the way PostgreSQL
 * shows them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "pgcdc/lsn.h"
#include "pgcdc/store.h"

/* ---- helpers ---- */

struct scratch {
    char dir[256];  /* a fresh temporary directory */
    char path[320]; /* dir/position */
    char tmp[330];  /* dir/position.tmp */
};

static bool scratch_try_make(struct scratch *s)
{
    const char *base = getenv("TMPDIR");

    snprintf(s->dir, sizeof(s->dir), "%s/pgcdc-store-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(s->dir))
        return false;
    snprintf(s->path, sizeof(s->path), "%s/position", s->dir);
    snprintf(s->tmp, sizeof(s->tmp), "%s/position.tmp", s->dir);
    return true;
}

static void scratch_make(struct scratch *s)
{
    cr_assert(scratch_try_make(s), "mkdtemp '%s': %s", s->dir, strerror(errno));
}

/* Removes the scratch directory and what the tests put in it (one level of
 * subdirectories at most). */
static void scratch_remove(struct scratch *s)
{
    DIR *d;
    struct dirent *e;
    char p[600];

    chmod(s->dir, 0700);
    d = opendir(s->dir);
    if (!d)
        return;
    for (e = readdir(d); e; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", s->dir, e->d_name);
        if (unlink(p) < 0)
            rmdir(p);
    }
    closedir(d);
    rmdir(s->dir);
}

static void write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");

    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(text, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* Reads the whole file into buf; returns its length. */
static size_t read_text(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n;

    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
    return n;
}

static struct pgcdc_store *open_store(const char *path, const char *slot)
{
    struct pgcdc_store *st = NULL;
    char err[512] = "";

    cr_assert_eq(pgcdc_store_file_open(&st, path, slot, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(st);
    return st;
}

static void save_ok(struct pgcdc_store *st, pgcdc_lsn end, pgcdc_lsn partial, uint64_t events)
{
    struct pgcdc_position pos = {
        .end_lsn = end, .partial_commit_lsn = partial, .partial_events = events};
    char err[512] = "";

    cr_assert_eq(pgcdc_store_save(st, &pos, err, sizeof(err)), 0, "%s", err);
}

/* ---- LSN notation ---- */

Test(store, lsn_format_matches_postgresql)
{
    char buf[PGCDC_LSN_BUFLEN];

    cr_assert_str_eq(pgcdc_lsn_format(0x16B374D848, buf), "16/B374D848");
    cr_assert_str_eq(pgcdc_lsn_format(0, buf), "0/0");
    cr_assert_str_eq(pgcdc_lsn_format(0x100000000, buf), "1/0");
    cr_assert_str_eq(pgcdc_lsn_format(0xA, buf), "0/A");
    cr_assert_str_eq(pgcdc_lsn_format(UINT64_MAX, buf), "FFFFFFFF/FFFFFFFF");
}

Test(store, lsn_parse_accepts_postgresql_notation)
{
    pgcdc_lsn v = 1;

    cr_assert_eq(pgcdc_lsn_parse("16/B374D848", &v), 0);
    cr_assert_eq(v, 0x16B374D848);
    cr_assert_eq(pgcdc_lsn_parse("16/b374d848", &v), 0, "lower case hex is accepted");
    cr_assert_eq(v, 0x16B374D848);
    cr_assert_eq(pgcdc_lsn_parse("0/0", &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(pgcdc_lsn_parse("00000001/00000002", &v), 0, "leading zeros are accepted");
    cr_assert_eq(v, 0x100000002);
    cr_assert_eq(pgcdc_lsn_parse("FFFFFFFF/FFFFFFFF", &v), 0);
    cr_assert_eq(v, UINT64_MAX);
}

Test(store, lsn_parse_rejects_anything_else)
{
    static const char *const bad[] = {
        "",      "16",          "16/",         "/B374D848",   "16/B374D848 ", " 16/1",
        "16//1", "1/2/3",       "123456789/0", "0/123456789", "-1/0",         "0x16/1",
        "+1/0",  "16/B374D84G", "16:B374D848", "1/2\n",
    };
    pgcdc_lsn v = 77;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(pgcdc_lsn_parse(bad[i], &v), -EINVAL, "accepted '%s'", bad[i]);
    cr_assert_eq(v, 77, "a rejected text leaves the output alone");
    cr_assert_eq(pgcdc_lsn_parse(NULL, &v), -EINVAL);
}

Test(store, lsn_round_trip)
{
    char buf[PGCDC_LSN_BUFLEN];
    uint64_t x = 0x243F6A8885A308D3ULL;

    for (int i = 0; i < 10000; i++) {
        pgcdc_lsn back = 0;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pgcdc_lsn v = (i % 3 == 0) ? (x & 0xFFFFFFFF) : x;
        cr_assert_eq(pgcdc_lsn_parse(pgcdc_lsn_format(v, buf), &back), 0, "%s", buf);
        cr_assert_eq(back, v, "%s", buf);
    }
}

/* ---- the position file ---- */

Test(store, missing_file_is_not_found)
{
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos = {.end_lsn = 1, .partial_commit_lsn = 2, .partial_events = 3};
    bool found = true;
    char err[512] = "";

    scratch_make(&s);
    st = open_store(s.path, "orders_slot");
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), 0, "%s", err);
    cr_assert_not(found);
    cr_assert_eq(pos.end_lsn, 0);
    cr_assert_eq(pos.partial_commit_lsn, 0);
    cr_assert_eq(pos.partial_events, 0);
    pgcdc_store_free(&st);
    cr_assert_null(st);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, round_trip_through_a_new_store)
{
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos;
    bool found = false;
    char err[512] = "";
    char text[1024];

    scratch_make(&s);
    st = open_store(s.path, "orders_slot");
    save_ok(st, 0x16B374D848, 0x16B3750000, 42);
    pgcdc_store_free(&st);

    /* Operators read the file: PostgreSQL's notation, the slot's name. */
    read_text(s.path, text, sizeof(text));
    cr_assert_not_null(strstr(text, "\nslot=orders_slot\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\nend_lsn=16/B374D848\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\npartial_commit_lsn=16/B3750000\n"), "%s", text);
    cr_assert_not_null(strstr(text, "\npartial_events=42\n"), "%s", text);
    cr_assert_eq(access(s.tmp, F_OK), -1, "no temporary file is left behind");

    st = open_store(s.path, "orders_slot");
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), 0, "%s", err);
    cr_assert(found);
    cr_assert_eq(pos.end_lsn, 0x16B374D848);
    cr_assert_eq(pos.partial_commit_lsn, 0x16B3750000);
    cr_assert_eq(pos.partial_events, 42);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, extreme_values_round_trip)
{
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos;
    bool found = false;
    char err[512] = "";

    scratch_make(&s);
    st = open_store(s.path, "s");
    save_ok(st, UINT64_MAX - 1, UINT64_MAX, UINT64_MAX);
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), 0, "%s", err);
    cr_assert(found);
    cr_assert_eq(pos.end_lsn, UINT64_MAX - 1);
    cr_assert_eq(pos.partial_commit_lsn, UINT64_MAX);
    cr_assert_eq(pos.partial_events, UINT64_MAX);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, save_replaces_the_previous_position)
{
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos;
    bool found = false;
    char err[512] = "";

    scratch_make(&s);
    st = open_store(s.path, "orders_slot");
    save_ok(st, 0x1000, 0x2000, 5);
    save_ok(st, 0x3000, 0, 0);
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), 0, "%s", err);
    cr_assert(found);
    cr_assert_eq(pos.end_lsn, 0x3000);
    cr_assert_eq(pos.partial_commit_lsn, 0);
    cr_assert_eq(pos.partial_events, 0);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, relative_path_in_the_current_directory)
{
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos;
    bool found = false;
    char err[512] = "";
    char cwd[1024];

    scratch_make(&s);
    cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
    cr_assert_eq(chdir(s.dir), 0);
    st = open_store("position", "orders_slot");
    save_ok(st, 0x77, 0, 0);
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), 0, "%s", err);
    cr_assert(found);
    cr_assert_eq(pos.end_lsn, 0x77);
    pgcdc_store_free(&st);
    cr_assert_eq(chdir(cwd), 0);
    cr_assert_eq(access(s.path, F_OK), 0);
    scratch_remove(&s);
}

/* The old file must come back byte for byte after a failed save. */
static void expect_failed_save_keeps_old(struct scratch *s, struct pgcdc_store *st, int want_rc)
{
    char before[1024];
    char after[1024];
    char err[512] = "";
    struct pgcdc_position next = {.end_lsn = 0x9999, .partial_commit_lsn = 0, .partial_events = 0};
    struct pgcdc_position pos;
    bool found = false;
    int rc;

    read_text(s->path, before, sizeof(before));
    rc = pgcdc_store_save(st, &next, err, sizeof(err));
    cr_assert_lt(rc, 0, "save should have failed");
    if (want_rc)
        cr_assert_eq(rc, want_rc, "rc %d: %s", rc, err);
    cr_assert_not_null(strstr(err, s->path), "error names the file: %s", err);
    read_text(s->path, after, sizeof(after));
    cr_assert_str_eq(after, before, "the old position was damaged");
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), 0, "%s", err);
    cr_assert(found);
    cr_assert_eq(pos.end_lsn, 0x1234);
}

Test(store, failed_temp_write_keeps_the_old_file)
{
    struct scratch s;
    struct pgcdc_store *st;

    scratch_make(&s);
    st = open_store(s.path, "orders_slot");
    save_ok(st, 0x1234, 0, 0);
    /* A directory where the temporary file should go: creating it fails
     * whoever runs the test, root included. */
    cr_assert_eq(mkdir(s.tmp, 0700), 0);
    expect_failed_save_keeps_old(&s, st, -EISDIR);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, read_only_directory_keeps_the_old_file)
{
    struct scratch s;
    struct pgcdc_store *st;

    /* Permissions do not bind root: run this test as an ordinary user.
     * Each Criterion test is its own process, so this changes nothing else. */
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        cr_skip_test("cannot drop root privileges");
    if (!scratch_try_make(&s))
        cr_skip_test("no temporary directory writable by an ordinary user");
    st = open_store(s.path, "orders_slot");
    save_ok(st, 0x1234, 0, 0);
    cr_assert_eq(chmod(s.dir, 0500), 0);
    expect_failed_save_keeps_old(&s, st, -EACCES);
    cr_assert_eq(chmod(s.dir, 0700), 0);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, save_into_a_missing_directory_fails)
{
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos = {.end_lsn = 0x10, .partial_commit_lsn = 0, .partial_events = 0};
    char path[400];
    char err[512] = "";

    scratch_make(&s);
    snprintf(path, sizeof(path), "%s/no/such/dir/position", s.dir);
    st = open_store(path, "orders_slot");
    cr_assert_eq(pgcdc_store_save(st, &pos, err, sizeof(err)), -ENOENT, "%s", err);
    cr_assert_not_null(strstr(err, path), "%s", err);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, inconsistent_position_is_not_saved)
{
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position no_txn = {.end_lsn = 0x100, .partial_commit_lsn = 0, .partial_events = 3};
    struct pgcdc_position below = {
        .end_lsn = 0x100, .partial_commit_lsn = 0x50, .partial_events = 3};
    char err[512] = "";

    scratch_make(&s);
    st = open_store(s.path, "orders_slot");
    save_ok(st, 0x1234, 0, 0);
    cr_assert_eq(pgcdc_store_save(st, &no_txn, err, sizeof(err)), -EINVAL);
    cr_assert_not_null(strstr(err, "partial_events"), "%s", err);
    cr_assert_eq(pgcdc_store_save(st, &below, err, sizeof(err)), -EINVAL);
    cr_assert_not_null(strstr(err, "partial_commit_lsn 0/50 is below end_lsn 0/100"), "%s", err);

    struct pgcdc_position pos;
    bool found = false;
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pos.end_lsn, 0x1234);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, file_of_another_slot_is_refused)
{
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos = {.end_lsn = 7, .partial_commit_lsn = 7, .partial_events = 7};
    bool found = true;
    char err[512] = "";

    scratch_make(&s);
    st = open_store(s.path, "orders_slot");
    save_ok(st, 0x1234, 0, 0);
    pgcdc_store_free(&st);

    st = open_store(s.path, "billing_slot");
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), -EINVAL);
    cr_assert_not(found);
    cr_assert_eq(pos.end_lsn, 0, "no position may leak out of a refused file");
    cr_assert_not_null(strstr(err, s.path), "names the file: %s", err);
    cr_assert_not_null(strstr(err, "line 3"), "names the line: %s", err);
    cr_assert_not_null(strstr(err, "'orders_slot'"), "names the file's slot: %s", err);
    cr_assert_not_null(strstr(err, "'billing_slot'"), "names the configured slot: %s", err);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

struct corrupt_case {
    const char *text; /* file content */
    const char *want; /* must appear in the error, with the path */
};

Test(store, corrupt_files_are_refused_with_file_and_line)
{
    static const struct corrupt_case cases[] = {
        {"format=1\nslot=s\nend_lsn=zz\npartial_commit_lsn=0/0\npartial_events=0\n",
         "line 3: bad end_lsn 'zz'"},
        {"format=1\nslot=s\nend_lsn=1/2\npartial_commit_lsn=0/0\npartial_events=0",
         "line 5: no newline"},
        {"format=1\nslot=s\nend_lsn=1/2\npartial_commit_lsn=0/0\npartial_events=-1\n",
         "line 5: bad partial_events '-1'"},
        {"format=1\nslot=s\nend_lsn=1/2\npartial_commit_lsn=0/0\npartial_events="
         "18446744073709551616\n",
         "line 5: bad partial_events"},
        {"format=1\nslot=s\nend_lsn=1/2\nend_lsn=1/3\npartial_commit_lsn=0/0\npartial_events=0\n",
         "line 4: 'end_lsn' given twice"},
        {"format=1\nslot=s\nstart_lsn=1/2\n", "line 3: unknown key 'start_lsn'"},
        {"format=2\nslot=s\nend_lsn=1/2\npartial_commit_lsn=0/0\npartial_events=0\n",
         "line 1: unsupported format '2'"},
        {"# comment\n\nformat=1\nslot=s\nend_lsn = 1/2\n", "line 5: unknown key 'end_lsn '"},
        {"format=1\nslot=s\n\n#\nhello\n", "line 5: expected key=value"},
        {"format=1\nslot=s\npartial_commit_lsn=0/0\npartial_events=0\n", "no 'end_lsn' line"},
        {"", "no 'format' line"},
        {"format=1\nslot=s\nend_lsn=0/100\npartial_commit_lsn=0/0\npartial_events=4\n",
         "partial_events is 4 but partial_commit_lsn is 0/0"},
        {"format=1\nslot=s\nend_lsn=0/100\npartial_commit_lsn=0/99\npartial_events=4\n",
         "partial_commit_lsn 0/99 is below end_lsn 0/100"},
    };
    struct scratch s;
    struct pgcdc_store *st;
    char err[512];

    scratch_make(&s);
    st = open_store(s.path, "s");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct pgcdc_position pos = {.end_lsn = 9, .partial_commit_lsn = 9, .partial_events = 9};
        bool found = true;

        write_text(s.path, cases[i].text, strlen(cases[i].text));
        err[0] = '\0';
        cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), -EBADMSG,
                     "case %zu accepted", i);
        cr_assert_not(found, "case %zu", i);
        cr_assert_eq(pos.end_lsn, 0, "case %zu: no position may leak out", i);
        cr_assert_not_null(strstr(err, s.path), "case %zu: %s", i, err);
        cr_assert_not_null(strstr(err, cases[i].want), "case %zu: want '%s', got: %s", i,
                           cases[i].want, err);
    }
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, binary_and_oversized_files_are_refused)
{
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos;
    bool found;
    char err[512];
    static char big[10000];

    scratch_make(&s);
    st = open_store(s.path, "s");
    write_text(s.path, "format=1\n\0slot=s\n", 17);
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), -EBADMSG);
    cr_assert_not_null(strstr(err, "NUL"), "%s", err);

    memset(big, '#', sizeof(big));
    big[sizeof(big) - 1] = '\n';
    write_text(s.path, big, sizeof(big));
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), -EBADMSG);
    cr_assert_not_null(strstr(err, "larger than"), "%s", err);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, hand_written_file_with_comments_loads)
{
    static const char text[] = "# restored by hand from a backup\n"
                               "\n"
                               "partial_events=0\n"
                               "slot=orders_slot\n"
                               "format=1\n"
                               "end_lsn=2a/ff00\n"
                               "partial_commit_lsn=0/0\n";
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos;
    bool found = false;
    char err[512] = "";

    scratch_make(&s);
    write_text(s.path, text, sizeof(text) - 1);
    st = open_store(s.path, "orders_slot");
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), 0, "%s", err);
    cr_assert(found);
    cr_assert_eq(pos.end_lsn, 0x2A0000FF00);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, unreadable_path_is_an_error_not_a_missing_file)
{
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos;
    bool found = true;
    char err[512] = "";

    scratch_make(&s);
    cr_assert_eq(mkdir(s.path, 0700), 0); /* a directory where the file should be */
    st = open_store(s.path, "orders_slot");
    cr_assert_lt(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), 0);
    cr_assert_not(found);
    cr_assert_not_null(strstr(err, s.path), "%s", err);
    pgcdc_store_free(&st);

    /* A path through a regular file: open fails, but not with ENOENT. */
    char path[400];
    write_text(s.tmp, "x", 1);
    snprintf(path, sizeof(path), "%s/position", s.tmp);
    st = open_store(path, "orders_slot");
    found = true;
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), -ENOTDIR, "%s", err);
    cr_assert_not(found);
    cr_assert_not_null(strstr(err, path), "%s", err);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, slot_names_are_validated)
{
    static const char *const bad[] = {
        "",
        "Orders",
        "orders-slot",
        "orders slot",
        "orders\nslot",
        "a234567890123456789012345678901234567890123456789012345678901234",
    };
    struct pgcdc_store *st = NULL;
    char err[512];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        cr_assert_eq(pgcdc_store_file_open(&st, "position", bad[i], err, sizeof(err)), -EINVAL,
                     "accepted '%s'", bad[i]);
        cr_assert_null(st);
        cr_assert_not_null(strstr(err, "slot name"), "%s", err);
    }
    /* 63 characters is PostgreSQL's limit, and allowed. */
    cr_assert_eq(
        pgcdc_store_file_open(&st, "position",
                              "a23456789012345678901234567890123456789012345678901234567890123",
                              err, sizeof(err)),
        0, "%s", err);
    pgcdc_store_free(&st);
    cr_assert_eq(pgcdc_store_file_open(&st, "", "s", err, sizeof(err)), -EINVAL);
    cr_assert_eq(pgcdc_store_file_open(&st, "dir/", "s", err, sizeof(err)), -EINVAL);
}

Test(store, events_to_skip_only_for_the_partial_transaction)
{
    struct pgcdc_position none = {.end_lsn = 0x100, .partial_commit_lsn = 0, .partial_events = 0};
    struct pgcdc_position partial = {
        .end_lsn = 0x100, .partial_commit_lsn = 0x180, .partial_events = 25};

    cr_assert_eq(pgcdc_store_events_to_skip(&none, 0x180), 0);
    cr_assert_eq(pgcdc_store_events_to_skip(&none, 0), 0);
    cr_assert_eq(pgcdc_store_events_to_skip(&partial, 0x180), 25);
    cr_assert_eq(pgcdc_store_events_to_skip(&partial, 0x17F), 0);
    cr_assert_eq(pgcdc_store_events_to_skip(&partial, 0x200), 0);
}

/* ---- server identity ---- */

Test(store, server_identity_round_trips)
{
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos = {.end_lsn = 0x42, .system_id = "7301234567890123456",
                                 .timeline = 3};
    struct pgcdc_position back;
    bool found = false;
    char err[512] = "";

    scratch_make(&s);
    st = open_store(s.path, "s");
    cr_assert_eq(pgcdc_store_save(st, &pos, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pgcdc_store_load(st, &back, &found, err, sizeof(err)), 0, "%s", err);
    cr_assert(found);
    cr_assert_eq(back.end_lsn, 0x42);
    cr_assert_str_eq(back.system_id, "7301234567890123456");
    cr_assert_eq(back.timeline, 3);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, file_without_server_identity_still_loads)
{
    static const char old[] = "format=1\nslot=s\nend_lsn=1/2\npartial_commit_lsn=0/0\n"
                              "partial_events=0\n";
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos;
    bool found = false;
    char err[512] = "";

    scratch_make(&s);
    st = open_store(s.path, "s");
    write_text(s.path, old, strlen(old));
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), 0, "%s", err);
    cr_assert(found);
    cr_assert_eq(pos.end_lsn, ((pgcdc_lsn)1 << 32) | 2);
    cr_assert_str_eq(pos.system_id, "");
    cr_assert_eq(pos.timeline, 0);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}

Test(store, bad_timeline_is_refused)
{
    static const char bad[] = "format=1\nslot=s\nend_lsn=1/2\npartial_commit_lsn=0/0\n"
                              "partial_events=0\ntimeline=x1\n";
    struct scratch s;
    struct pgcdc_store *st;
    struct pgcdc_position pos;
    bool found = false;
    char err[512] = "";

    scratch_make(&s);
    st = open_store(s.path, "s");
    write_text(s.path, bad, strlen(bad));
    cr_assert_eq(pgcdc_store_load(st, &pos, &found, err, sizeof(err)), -EBADMSG);
    cr_assert_not_null(strstr(err, "bad timeline 'x1'"), "%s", err);
    pgcdc_store_free(&st);
    scratch_remove(&s);
}
