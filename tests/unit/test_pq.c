/*
 * test_pq.c - errors sorted by SQLSTATE, and the wal_level check: what
 * decides between a retry, exit 1 and exit 78 without a server.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "pgcdc/pq.h"
#include "pgcdc/stream.h"

Test(pq, transient_errors_are_retried)
{
    /* connection failure, admin shutdown, crash, starting up, too many
     * connections */
    static const char *const codes[] = {"08006", "08001", "57P01", "57P02", "57P03", "53300"};

    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        cr_assert_eq(pgcdc_pq_sqlstate_errno(codes[i]), -ECONNRESET, "%s", codes[i]);
    cr_assert_eq(pgcdc_pq_sqlstate_errno("55006"), -EBUSY);
}

Test(pq, permanent_errors_need_a_person)
{
    cr_assert_eq(pgcdc_pq_sqlstate_errno("28P01"), -EACCES); /* wrong password */
    cr_assert_eq(pgcdc_pq_sqlstate_errno("28000"), -EACCES); /* no pg_hba entry */
    cr_assert_eq(pgcdc_pq_sqlstate_errno("42501"), -EACCES); /* privilege, REPLICATION */
    cr_assert_eq(pgcdc_pq_sqlstate_errno("42704"), -ENOENT); /* slot or publication gone */
    cr_assert_eq(pgcdc_pq_sqlstate_errno("3D000"), -ENOENT); /* no such database */
    cr_assert_eq(pgcdc_pq_sqlstate_errno("55000"), -ENOTSUP); /* wal_level below logical */
}

Test(pq, anything_else_is_an_ordinary_error)
{
    cr_assert_eq(pgcdc_pq_sqlstate_errno(NULL), -EIO);
    cr_assert_eq(pgcdc_pq_sqlstate_errno(""), -EIO);
    cr_assert_eq(pgcdc_pq_sqlstate_errno("XX000"), -EIO);
    cr_assert_eq(pgcdc_pq_sqlstate_errno("42P01x"), -EIO);
}

Test(pq, wal_level_below_logical_names_the_fix)
{
    char err[512] = "";

    cr_assert_eq(pgcdc_stream_check_wal_level("logical", err, sizeof(err)), 0);
    cr_assert_eq(pgcdc_stream_check_wal_level("replica", err, sizeof(err)), -ENOTSUP);
    cr_assert_not_null(strstr(err, "wal_level is 'replica'"), "%s", err);
    cr_assert_not_null(strstr(err, "wal_level = logical"), "%s", err);
    cr_assert_not_null(strstr(err, "restart"), "%s", err);
    cr_assert_eq(pgcdc_stream_check_wal_level("minimal", err, sizeof(err)), -ENOTSUP);
}

Test(pq, a_refused_connection_shows_its_sqlstate_once)
{
    PGconn *conn = NULL;
    const char *const keys[] = {"dbname", NULL};
    const char *const vals[] = {"host=127.0.0.1 port=1 connect_timeout=2", NULL};
    char err[512] = "", code[6] = "x";
    int rc = pgcdc_pq_connect(&conn, keys, vals, 5000, NULL, "cannot connect", code, err,
                              sizeof(err));

    /* Nothing listens on port 1: refused, no server answer, worth a retry. */
    cr_assert_eq(rc, -ECONNRESET, "%d: %s", rc, err);
    cr_assert_null(conn);
    cr_assert_str_eq(code, "");
    cr_assert_eq(strncmp(err, "cannot connect: ", 16), 0, "%s", err);
    cr_assert_null(strchr(err, '\n'), "%s", err);
}
