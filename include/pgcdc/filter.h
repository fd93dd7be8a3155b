/*
 * filter.h - table and column filters: Debezium's table.include.list,
 * table.exclude.list, column.include.list and column.exclude.list.
 *
 * A list is a comma-separated list of regular expressions (a literal comma is
 * written "\,"; blanks around each item and empty items are dropped). Each
 * pattern must match the whole name, case-insensitively, as Java's
 * Pattern.matcher().matches() with CASE_INSENSITIVE does in Debezium: table
 * lists see "schema.table", column lists "schema.table.column", unquoted.
 * Patterns are PCRE2 (Perl-compatible, close to Java's syntax, back-references
 * included) in UTF-8 mode.
 *
 * Cost is bounded: a pattern whose compiled form would exceed PCRE2's size
 * limit, or that needs more memory than PGCDC_FILTER_HEAP_LIMIT while it is
 * compiled, is refused when set; a match that exceeds the match or memory
 * limits (catastrophic backtracking) is an error naming the key, the pattern
 * and the name, never a silent answer.
 *
 * Filters are asked once per relation version (relcache) and once per table
 * at start-up (publication), never per event.
 */
#ifndef PGCDC_FILTER_H
#define PGCDC_FILTER_H

#include <stdbool.h>
#include <stddef.h>

struct pgcdc_config;
struct pgcdc_patterns; /* one compiled list */

/* Bytes a pattern may use while compiled or matched (PCRE2's heap). */
#define PGCDC_FILTER_HEAP_LIMIT (4u * 1024u * 1024u)

/* Backtracking steps one match may take (PCRE2's match limit). */
#define PGCDC_FILTER_MATCH_LIMIT 1000000u

/*
 * Compiles text, the value of key (named in messages), into *out (free with
 * pgcdc_patterns_free). "" gives an empty list, which matches nothing.
 * 0; -EINVAL with "invalid value for 'KEY': pattern 'P' ..." in err for a
 * pattern that is not valid or too costly; -ENOMEM.
 */
int pgcdc_patterns_compile(const char *key, const char *text,
                           struct pgcdc_patterns **out /* OUT */, char *err, size_t errlen);

/* Patterns in the list; 0 for NULL or an empty list. */
size_t pgcdc_patterns_count(const struct pgcdc_patterns *p);

/* The list as set; "" for NULL. */
const char *pgcdc_patterns_text(const struct pgcdc_patterns *p);

/*
 * 1 when a pattern of p matches the whole of name, 0 when none does (or p is
 * NULL or empty); -E2BIG when matching exceeded a limit, -ENOMEM, each with
 * text in err naming the key, the pattern and the name.
 */
int pgcdc_patterns_match(const struct pgcdc_patterns *p, const char *name, char *err,
                         size_t errlen);

/* Frees *pp and sets it to NULL. NULL-safe. */
void pgcdc_patterns_free(struct pgcdc_patterns **pp);

/*
 * Whether schema.table passes cfg's table.include.list / table.exclude.list:
 * 1 captured, 0 filtered out, or a negative errno (as pgcdc_patterns_match)
 * with text in err.
 */
int pgcdc_filter_table(const struct pgcdc_config *cfg, const char *schema, const char *table,
                       char *err, size_t errlen);

/* Whether a logical decoding message with prefix passes
 * message.prefix.include.list / message.prefix.exclude.list: 1, 0, or a
 * negative errno as pgcdc_patterns_match. */
int pgcdc_filter_message(const struct pgcdc_config *cfg, const char *prefix, char *err,
                         size_t errlen);

/* The same for schema.table.column and column.include.list /
 * column.exclude.list. */
int pgcdc_filter_column(const struct pgcdc_config *cfg, const char *schema, const char *table,
                        const char *column, char *err, size_t errlen);

/*
 * Compiles message.key.columns, Debezium's "schema.table:col1,col2;..."
 * (the table part a regular expression on "schema.table", each column one
 * on the column's name, all matched whole and case-insensitively, as one
 * pattern "table.column" against "schema.table.column"), into a pattern
 * list whose text is the value as written. 0; -EINVAL with text naming the
 * key and the bad entry; -ENOMEM.
 */
int pgcdc_key_columns_compile(const char *key, const char *text,
                              struct pgcdc_patterns **out /* OUT */, char *err, size_t errlen);

/* Whether message.key.columns names schema.table.column as a key column: 1
 * yes, 0 no (also when the key is unset), or a negative errno as
 * pgcdc_patterns_match. */
int pgcdc_filter_key_column(const struct pgcdc_config *cfg, const char *schema, const char *table,
                            const char *column, char *err, size_t errlen);

#endif
