/*
 * test_check.c - what `pgcdc check` says about the facts it read: each
 * verdict (OK, WARN, FAIL), and on every line that is not OK the command
 * that fixes it, so a person can act without looking anything up. Also
 * the helpers check and drop share: whether a table has a usable replica
 * identity, whether a publication carries pgcdc's mark.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "pgcdc/check.h"
#include "pgcdc/inspect.h"
#include "pgcdc/publication.h"

#define cr_assert_has(hay, needle)                                                                 \
    cr_assert(strstr((hay), (needle)) != NULL, "'%s' not in '%s'", (needle), (hay))

Test(check, wal_level_logical_is_ok)
{
    struct pgcdc_check_line l;

    pgcdc_check_wal_level("logical", &l);
    cr_assert_eq(l.status, PGCDC_CHECK_OK);
    cr_assert_str_empty(l.fix);
}

Test(check, wal_level_replica_fails_with_the_fix_and_the_restart)
{
    struct pgcdc_check_line l;

    pgcdc_check_wal_level("replica", &l);
    cr_assert_eq(l.status, PGCDC_CHECK_FAIL);
    cr_assert_has(l.detail, "'replica'");
    cr_assert_has(l.detail, "restart");
    cr_assert_has(l.fix, "ALTER SYSTEM SET wal_level = logical");
    cr_assert_has(l.fix, "restart PostgreSQL");
    cr_assert_has(l.fix, "rds.logical_replication");
    cr_assert_has(l.fix, "cloudsql.logical_decoding");
}

Test(check, no_free_slot_fails_unless_pgcdc_has_its_own)
{
    struct pgcdc_inspect_server s = {.max_replication_slots = 4, .slots_used = 4};
    struct pgcdc_check_line l;

    pgcdc_check_slots(&s, false, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_FAIL);
    cr_assert_has(l.fix, "max_replication_slots = 5");
    cr_assert_has(l.detail, "restart");
    pgcdc_check_slots(&s, true, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_OK);
    s.slots_used = 3;
    pgcdc_check_slots(&s, false, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_OK);
}

Test(check, no_free_wal_sender_fails)
{
    struct pgcdc_inspect_server s = {.max_wal_senders = 2, .senders_used = 2};
    struct pgcdc_check_line l;

    pgcdc_check_senders(&s, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_FAIL);
    cr_assert_has(l.fix, "max_wal_senders = 3");
    s.senders_used = 1;
    pgcdc_check_senders(&s, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_OK);
}

Test(check, role_needs_replication_or_a_managed_equivalent)
{
    struct pgcdc_inspect_role r = {.name = "app"};
    struct pgcdc_check_line l;

    pgcdc_check_role(&r, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_FAIL);
    cr_assert_has(l.fix, "ALTER ROLE \"app\" REPLICATION");
    cr_assert_has(l.fix, "GRANT rds_replication TO \"app\"");
    r.rds_replication = true;
    pgcdc_check_role(&r, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_OK);
    cr_assert_has(l.detail, "rds_replication");
    r.rds_replication = false;
    r.replication = true;
    pgcdc_check_role(&r, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_OK);
    r.replication = false;
    r.superuser = true;
    pgcdc_check_role(&r, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_OK);
}

static struct pgcdc_inspect_slot usable_slot(void)
{
    struct pgcdc_inspect_slot s = {.exists = true,
                                   .slot_type = "logical",
                                   .plugin = "pgoutput",
                                   .database = "shop",
                                   .current_database = "shop",
                                   .wal_status = "reserved",
                                   .retained_bytes = 3 * 1024 * 1024,
                                   .safe_wal_bytes = -1};

    return s;
}

Test(check, slot_states)
{
    struct pgcdc_inspect_slot s = {.exists = false};
    struct pgcdc_check_line l;

    pgcdc_check_slot(&s, "pgcdc", &l);
    cr_assert_eq(l.status, PGCDC_CHECK_OK);
    cr_assert_has(l.detail, "creates it");

    s = usable_slot();
    pgcdc_check_slot(&s, "pgcdc", &l);
    cr_assert_eq(l.status, PGCDC_CHECK_OK);

    s.active = true;
    s.active_pid = 4242;
    pgcdc_check_slot(&s, "pgcdc", &l);
    cr_assert_eq(l.status, PGCDC_CHECK_WARN);
    cr_assert_has(l.detail, "4242");
    cr_assert_has(l.fix, "pg_terminate_backend(4242)");

    s = usable_slot();
    strcpy(s.plugin, "wal2json");
    pgcdc_check_slot(&s, "pgcdc", &l);
    cr_assert_eq(l.status, PGCDC_CHECK_FAIL);
    cr_assert_has(l.detail, "wal2json");
    cr_assert_has(l.fix, "slot.name");

    s = usable_slot();
    strcpy(s.database, "other");
    pgcdc_check_slot(&s, "pgcdc", &l);
    cr_assert_eq(l.status, PGCDC_CHECK_FAIL);
    cr_assert_has(l.detail, "'other'");

    s = usable_slot();
    strcpy(s.wal_status, "lost");
    pgcdc_check_slot(&s, "pgcdc", &l);
    cr_assert_eq(l.status, PGCDC_CHECK_FAIL);
    cr_assert_has(l.detail, "invalidated");
    cr_assert_has(l.fix, "pgcdc drop");
}

Test(check, retained_wal)
{
    struct pgcdc_inspect_server srv = {.keep_size_mb = 1024};
    struct pgcdc_inspect_slot s = usable_slot();
    struct pgcdc_check_line l;

    pgcdc_check_retained(&s, &srv, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_OK);
    cr_assert_has(l.detail, "3.0 MB");
    cr_assert_has(l.detail, "1024 MB");

    strcpy(s.wal_status, "unreserved");
    s.safe_wal_bytes = 512 * 1024;
    pgcdc_check_retained(&s, &srv, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_WARN);
    cr_assert_has(l.detail, "512.0 kB");
    cr_assert_has(l.fix, "max_slot_wal_keep_size");
}

Test(check, table_without_identity)
{
    struct pgcdc_inspect_table t = {.schema = "public", .name = "log", .replident = 'd'};
    struct pgcdc_check_line l;

    pgcdc_check_table_identity(&t, "pgcdc", false, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_WARN);
    cr_assert_str_eq(l.what, "table public.log");
    cr_assert_has(l.detail, "leaves it out");
    cr_assert_has(l.fix, "ALTER TABLE \"public\".\"log\" REPLICA IDENTITY FULL");
    cr_assert_has(l.fix, "ADD PRIMARY KEY");
    pgcdc_check_table_identity(&t, "pgcdc", true, &l);
    cr_assert_eq(l.status, PGCDC_CHECK_FAIL);
    cr_assert_has(l.detail, "UPDATE and DELETE on it fail");
}

Test(check, usable_replica_identity)
{
    struct pgcdc_inspect_table t = {.replident = 'd'};

    cr_assert_not(pgcdc_inspect_table_has_identity(&t));
    t.has_pk = true;
    cr_assert(pgcdc_inspect_table_has_identity(&t));
    t.replident = 'n';
    cr_assert_not(pgcdc_inspect_table_has_identity(&t));
    t.replident = 'f';
    t.has_pk = false;
    cr_assert(pgcdc_inspect_table_has_identity(&t));
    t.replident = 'i';
    cr_assert_not(pgcdc_inspect_table_has_identity(&t)); /* its index was dropped */
    t.ident_index = true;
    cr_assert(pgcdc_inspect_table_has_identity(&t));
}

Test(check, publication_mark)
{
    cr_assert(pgcdc_publication_is_marked("managed by pgcdc"));
    cr_assert(pgcdc_publication_is_marked("managed by pgcdc for slot 'x': ..."));
    cr_assert_not(pgcdc_publication_is_marked(NULL));
    cr_assert_not(pgcdc_publication_is_marked(""));
    cr_assert_not(pgcdc_publication_is_marked("created by the app team"));
}

Test(check, printed_line)
{
    struct pgcdc_check_line l;
    char buf[2048] = "";
    FILE *f = fmemopen(buf, sizeof(buf), "w");

    cr_assert_not_null(f);
    pgcdc_check_wal_level("minimal", &l);
    pgcdc_check_print(&l, f);
    pgcdc_check_wal_level("logical", &l);
    pgcdc_check_print(&l, f);
    fclose(f);
    cr_assert(strncmp(buf, "FAIL  wal_level: 'minimal'", 26) == 0, "%s", buf);
    cr_assert_has(buf, "; fix: ALTER SYSTEM SET wal_level = logical");
    cr_assert_has(buf, "\nOK    wal_level: logical\n");
}

Test(check, bytes)
{
    char b[32];

    pgcdc_inspect_format_bytes(176, b, sizeof(b));
    cr_assert_str_eq(b, "176 bytes");
    pgcdc_inspect_format_bytes(5LL * 1024 * 1024 * 1024, b, sizeof(b));
    cr_assert_str_eq(b, "5.0 GB");
    pgcdc_inspect_format_bytes(-1, b, sizeof(b));
    cr_assert_str_eq(b, "unknown");
}
