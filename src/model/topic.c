/*
 * topic.c - Debezium's topic names for tables (see topic.h).
 *
 * Debezium builds the name in Java, where a String is UTF-16: it joins the
 * non-blank parts with the delimiter, then replaces each invalid UTF-16 code
 * unit with '_'. Names arrive here as UTF-8, so each UTF-8 sequence stands
 * for one code unit, or two for code points beyond U+FFFF (a surrogate pair).
 * A byte that does not start a valid sequence counts as one character.
 */
#include "pgcdc/topic.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool valid_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* Java's String.trim().isEmpty(): every character at most U+0020. */
static bool blank(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s > 0x20)
            return false;
    return true;
}

/* Length of the UTF-8 sequence at s and the UTF-16 units it stands for;
 * an invalid sequence is one byte and one unit. */
static size_t utf8_seq(const unsigned char *s, unsigned *units)
{
    size_t n, i;
    uint32_t cp;

    *units = 1;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 1;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 1;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 1;
    if (cp >= 0x10000)
        *units = 2;
    return n;
}

int pgcdc_topic_name(const char *prefix, const char *delimiter, const char *schema,
                     const char *table, char **out)
{
    const char *parts[3] = {prefix, schema, table};
    size_t cap = strlen(prefix) + strlen(schema) + strlen(table) + 2 * strlen(delimiter) + 1;
    size_t len = 0;
    bool first = true;
    char *t;

    *out = NULL;
    /* Each input byte yields at most one output byte, except a 4-byte
     * sequence, which yields two: never more than the input. */
    t = malloc(cap);
    if (t == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < 3; i++) {
        const unsigned char *s = (const unsigned char *)parts[i];

        if (blank(parts[i]))
            continue;
        if (!first) {
            for (const unsigned char *d = (const unsigned char *)delimiter; *d; d++)
                t[len++] = valid_char(*d) ? (char)*d : '_';
        }
        first = false;
        while (*s != '\0') {
            unsigned units;
            size_t n;

            if (valid_char(*s)) {
                t[len++] = (char)*s++;
                continue;
            }
            n = utf8_seq(s, &units);
            while (units-- > 0)
                t[len++] = '_';
            s += n;
        }
    }
    t[len] = '\0';
    if (len > PGCDC_TOPIC_MAX_LEN)
        t[PGCDC_TOPIC_MAX_LEN] = '\0';
    else if (strcmp(t, ".") == 0)
        t[0] = '_';
    else if (strcmp(t, "..") == 0)
        t[0] = t[1] = '_';
    *out = t;
    return 0;
}

/* One topic with its place in the caller's array. */
struct entry {
    const char *topic; /* the name */
    size_t i;          /* its index */
};

static int by_topic(const void *x, const void *y)
{
    const struct entry *a = x, *b = y;
    int c = strcmp(a->topic, b->topic);

    if (c != 0)
        return c;
    return a->i < b->i ? -1 : a->i > b->i;
}

int pgcdc_topic_find_clash(const char *const *topics, size_t n, size_t *a, size_t *b)
{
    struct entry *e;
    int found = 0;

    if (n < 2)
        return 0;
    e = malloc(n * sizeof(*e));
    if (e == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        e[i].topic = topics[i];
        e[i].i = i;
    }
    qsort(e, n, sizeof(*e), by_topic);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(e[i - 1].topic, e[i].topic) == 0) {
            *a = e[i - 1].i; /* sorted by index among equals */
            *b = e[i].i;
            found = 1;
            break;
        }
    }
    free(e);
    return found;
}
