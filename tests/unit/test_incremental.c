/*
 * test_incremental.c - the incremental snapshot reader's pure part: the
 * key it records is the key's texts as COPY escapes them, and reads back
 * (the way the next chunk's bound is made) into the same texts.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/incremental.h"
#include "pgcdc/snapshot.h"

Test(incremental, key_encoding_reads_back)
{
    const char *v[4] = {"42", "a\tb\\c\nd", NULL, ""};
    uint32_t l[4] = {2, 7, 0, 0};
    const char *back[4];
    uint32_t bl[4];
    char *k = pgcdc_incr_key_encode(v, l, 4);

    cr_assert_not_null(k);
    cr_assert_str_eq(k, "42\ta\\tb\\\\c\\nd\t\\N\t");
    cr_assert_eq(pgcdc_snapshot_copy_split(k, strlen(k), 4, back, bl), 0);
    cr_assert_eq(bl[0], 2);
    cr_assert_eq(memcmp(back[0], "42", 2), 0);
    cr_assert_eq(bl[1], 7);
    cr_assert_eq(memcmp(back[1], "a\tb\\c\nd", 7), 0);
    cr_assert_null(back[2], "NULL stays NULL");
    cr_assert_not_null(back[3], "an empty text is not NULL");
    cr_assert_eq(bl[3], 0);
    free(k);
}

Test(incremental, a_recorded_key_of_another_width_does_not_fit)
{
    const char *v[2] = {"1", "2"};
    uint32_t l[2] = {1, 1};
    const char *back[1];
    uint32_t bl[1];
    char *k = pgcdc_incr_key_encode(v, l, 2);

    cr_assert_lt(pgcdc_snapshot_copy_split(k, strlen(k), 1, back, bl), 0);
    free(k);
}
