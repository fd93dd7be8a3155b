/*
 * topic.h - Kafka topic names of tables, formed as Debezium 3.x's default
 * for PostgreSQL (SchemaTopicNamingStrategy) forms them.
 *
 *   <topic.prefix><topic.delimiter><schema><topic.delimiter><table>
 *
 * Parts that are empty or blank are left out. Every character Kafka does
 * not allow in a topic name (anything but a-z, A-Z, 0-9, '.', '_', '-')
 * becomes '_', per character as Java counts them (UTF-16 code units): "é"
 * and "表" are one '_' each, a character beyond U+FFFF (an emoji) two. A name
 * longer than Kafka's 249 characters is cut to 249; "." and ".." become "_"
 * and "__".
 *
 * So different tables can share a topic ("my table" and "my_table";
 * "a.b"."c" and "a"."b.c"), which Debezium does not notice; pgcdc refuses it
 * (pgcdc_topic_find_clash at start-up, the relation cache at run time).
 */
#ifndef PGCDC_TOPIC_H
#define PGCDC_TOPIC_H

#include <stddef.h>

/* Kafka's limit on a topic name's length. */
#define PGCDC_TOPIC_MAX_LEN 249

/* Writes the topic of schema.table into *out (malloc'd, caller frees).
 * 0 or -ENOMEM. */
int pgcdc_topic_name(const char *prefix, const char *delimiter, const char *schema,
                     const char *table, char **out /* OUT */);

/*
 * Finds two entries of topics[0..n) that are equal: 0 when all differ, 1
 * with their indexes in *a < *b when two are the same, -ENOMEM. Sorts a copy
 * of the index, not topics.
 */
int pgcdc_topic_find_clash(const char *const *topics, size_t n, size_t *a /* OUT */,
                           size_t *b /* OUT */);

#endif
