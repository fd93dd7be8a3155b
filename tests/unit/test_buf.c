/*
 * test_buf.c - the growable byte buffer: appends, growth, reset, formatting.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pgcdc/buf.h"

Test(buf, empty_buffer_is_zero_initialised)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;

    cr_assert_null(b.data);
    cr_assert_eq(b.len, 0);
    pgcdc_buf_free(&b);
    pgcdc_buf_free(NULL);
}

Test(buf, append_keeps_bytes_and_nul_terminates)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;

    cr_assert_eq(pgcdc_buf_append(&b, "abc", 3), 0);
    cr_assert_eq(pgcdc_buf_append_char(&b, '\0'), 0);
    cr_assert_eq(pgcdc_buf_append(&b, "de", 2), 0);
    cr_assert_eq(b.len, 6);
    cr_assert_eq(memcmp(b.data, "abc\0de", 6), 0);
    cr_assert_eq(b.data[6], '\0');
    pgcdc_buf_free(&b);
}

Test(buf, grows_past_initial_capacity)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    size_t i;

    for (i = 0; i < 10000; i++)
        cr_assert_eq(pgcdc_buf_append_char(&b, (char)('a' + i % 26)), 0);
    cr_assert_eq(b.len, 10000);
    cr_assert_gt(b.cap, b.len);
    for (i = 0; i < 10000; i++)
        cr_assert_eq(b.data[i], (char)('a' + i % 26));
    pgcdc_buf_free(&b);
}

Test(buf, reset_keeps_memory)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char *before;
    size_t cap;

    cr_assert_eq(pgcdc_buf_reserve(&b, 1000), 0);
    before = b.data;
    cap = b.cap;
    cr_assert_geq(cap, 1001);
    cr_assert_eq(pgcdc_buf_append(&b, "xyz", 3), 0);
    pgcdc_buf_reset(&b);
    cr_assert_eq(b.len, 0);
    cr_assert_eq(b.cap, cap);
    cr_assert_eq(b.data, before);
    cr_assert_str_eq(b.data, "");
    pgcdc_buf_free(&b);
}

Test(buf, appendf_formats_short_and_long_text)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char big[500];

    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cr_assert_eq(pgcdc_buf_appendf(&b, "%d-%s", 42, "x"), 0);
    cr_assert_str_eq(b.data, "42-x");
    cr_assert_eq(pgcdc_buf_appendf(&b, "[%s]", big), 0);
    cr_assert_eq(b.len, 4 + 2 + 499);
    cr_assert_eq(strncmp(b.data, "42-x[qqq", 8), 0);
    cr_assert_eq(b.data[b.len - 1], ']');
    cr_assert_eq(b.data[b.len], '\0');
    pgcdc_buf_free(&b);
}

Test(buf, reserve_refuses_overflowing_size)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;

    cr_assert_eq(pgcdc_buf_append(&b, "a", 1), 0);
    cr_assert_eq(pgcdc_buf_reserve(&b, (size_t)-1), -ENOMEM);
    cr_assert_eq(b.len, 1);
    cr_assert_str_eq(b.data, "a");
    pgcdc_buf_free(&b);
}

Test(buf, integers_match_printf)
{
    static const int64_t values[] = {0, 1, -1, 9, 10, -10, 123456789, INT64_MAX, INT64_MIN,
                                     INT32_MIN, 1000000000000LL};
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    char expect[64];

    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        pgcdc_buf_reset(&b);
        cr_assert_eq(pgcdc_buf_append_int(&b, values[i]), 0);
        snprintf(expect, sizeof(expect), "%" PRId64, values[i]);
        cr_assert_str_eq(b.data, expect);
    }
    pgcdc_buf_reset(&b);
    cr_assert_eq(pgcdc_buf_append_uint(&b, 7, 4), 0);
    cr_assert_eq(pgcdc_buf_append_uint(&b, UINT64_MAX, 0), 0);
    cr_assert_eq(pgcdc_buf_append_uint(&b, 123, 2), 0);
    snprintf(expect, sizeof(expect), "0007%" PRIu64 "123", UINT64_MAX);
    cr_assert_str_eq(b.data, expect);
    pgcdc_buf_free(&b);
}
