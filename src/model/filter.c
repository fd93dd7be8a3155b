/*
 * filter.c - table and column filters (see filter.h).
 *
 * Each pattern is compiled alone with PCRE2_ANCHORED | PCRE2_ENDANCHORED, so
 * it must match the whole name without being wrapped in "^(...)$": its own
 * group numbers (back-references) stay as written, and an unbalanced ')' is
 * a compile error rather than a way out of the anchors.
 *
 * Costs are bounded three ways, because a short pattern can otherwise take
 * the machine ("(((a{1,255}){1,255}){1,255}){1,255}" compiles to gigabytes
 * in an automaton-based engine): PCRE2 refuses compiled patterns beyond its
 * link size, every allocation made for a list goes through capped_malloc(),
 * and matching runs under a match limit and a heap limit. Hitting a limit
 * while matching is reported, not taken as "no match": a filter that quietly
 * dropped or kept a table would lose or leak data.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "pgcdc/filter.h"

#include <ctype.h>
#include <errno.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgcdc/config.h"

/* One compiled pattern. */
struct pattern {
    char *text;        /* the pattern as written (unescaped "\," and trimmed) */
    pcre2_code *code;  /* compiled, anchored at both ends */
};

struct pgcdc_patterns {
    char *key;                   /* configuration key, for messages */
    char *text;                  /* the list as set */
    size_t count;                /* patterns in items */
    struct pattern *items;       /* the patterns, in list order */
    pcre2_general_context *gctx; /* capped allocator for everything PCRE2 allocates */
    pcre2_compile_context *cctx; /* compile options and limits */
    pcre2_match_context *mctx;   /* match and heap limits */
    pcre2_match_data *md;        /* one pair: only "matched or not" is needed */
};

/* PCRE2's allocations, each refused beyond the heap limit. */
static void *capped_malloc(PCRE2_SIZE size, void *data)
{
    (void)data;
    if (size > PGCDC_FILTER_HEAP_LIMIT)
        return NULL;
    return malloc(size);
}

static void capped_free(void *p, void *data)
{
    (void)data;
    free(p);
}

size_t pgcdc_patterns_count(const struct pgcdc_patterns *p)
{
    return p ? p->count : 0;
}

const char *pgcdc_patterns_text(const struct pgcdc_patterns *p)
{
    return p ? p->text : "";
}

void pgcdc_patterns_free(struct pgcdc_patterns **pp)
{
    struct pgcdc_patterns *p;

    if (pp == NULL || *pp == NULL)
        return;
    p = *pp;
    for (size_t i = 0; i < p->count; i++) {
        free(p->items[i].text);
        pcre2_code_free(p->items[i].code);
    }
    free(p->items);
    pcre2_match_data_free(p->md);
    pcre2_match_context_free(p->mctx);
    pcre2_compile_context_free(p->cctx);
    pcre2_general_context_free(p->gctx);
    free(p->key);
    free(p->text);
    free(p);
    *pp = NULL;
}

/* Compiles one pattern (len bytes at pat) and appends it to p. */
static int add_pattern(struct pgcdc_patterns *p, const char *pat, size_t len, char *err,
                       size_t errlen)
{
    const uint32_t options = PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_CASELESS | PCRE2_UTF |
                             PCRE2_MATCH_INVALID_UTF;
    struct pattern *grown, *item;
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE at;
    int code;

    grown = realloc(p->items, (p->count + 1) * sizeof(*grown));
    if (grown == NULL)
        return -ENOMEM;
    p->items = grown;
    item = &p->items[p->count];
    item->text = strndup(pat, len);
    if (item->text == NULL)
        return -ENOMEM;
    item->code = pcre2_compile((PCRE2_SPTR)pat, len, options, &code, &at, p->cctx);
    if (item->code == NULL) {
        pcre2_get_error_message(code, msg, sizeof(msg));
        if (code == PCRE2_ERROR_PATTERN_TOO_LARGE || code == PCRE2_ERROR_HEAP_FAILED)
            snprintf(err, errlen,
                     "invalid value for '%s': pattern '%s' is too costly to compile (%s; the "
                     "limit is %u KiB): simplify it",
                     p->key, item->text, (const char *)msg, PGCDC_FILTER_HEAP_LIMIT / 1024);
        else
            snprintf(err, errlen,
                     "invalid value for '%s': pattern '%s' is not a valid regular expression: "
                     "%s at offset %zu",
                     p->key, item->text, (const char *)msg, (size_t)at);
        free(item->text);
        return -EINVAL;
    }
    p->count++;
    return 0;
}

/* Splits the list at commas not escaped as "\," and compiles each item. */
static int parse_list(struct pgcdc_patterns *p, const char *value, char *err, size_t errlen)
{
    size_t n = 0, start, end;
    char *piece = malloc(strlen(value) + 1);
    const char *s;
    int rc = 0;

    if (piece == NULL)
        return -ENOMEM;
    for (s = value;; s++) {
        if (*s == '\\' && s[1] == ',') {
            piece[n++] = ',';
            s++;
            continue;
        }
        if (*s == '\\' && s[1] != '\0') {
            piece[n++] = *s++;
            piece[n++] = *s;
            continue;
        }
        if (*s != ',' && *s != '\0') {
            piece[n++] = *s;
            continue;
        }
        start = 0;
        end = n;
        while (start < end && isspace((unsigned char)piece[start]))
            start++;
        while (end > start && isspace((unsigned char)piece[end - 1]))
            end--;
        if (end > start) {
            rc = add_pattern(p, piece + start, end - start, err, errlen);
            if (rc < 0)
                break;
        }
        n = 0;
        if (*s == '\0')
            break;
    }
    free(piece);
    return rc;
}

int pgcdc_patterns_compile(const char *key, const char *text, struct pgcdc_patterns **out,
                           char *err, size_t errlen)
{
    struct pgcdc_patterns *p = calloc(1, sizeof(*p));
    int rc = -ENOMEM;

    *out = NULL;
    if (p == NULL)
        goto nomem;
    p->key = strdup(key);
    p->text = strdup(text);
    p->gctx = pcre2_general_context_create(capped_malloc, capped_free, NULL);
    if (p->key == NULL || p->text == NULL || p->gctx == NULL)
        goto nomem;
    p->cctx = pcre2_compile_context_create(p->gctx);
    p->mctx = pcre2_match_context_create(p->gctx);
    p->md = pcre2_match_data_create(1, p->gctx);
    if (p->cctx == NULL || p->mctx == NULL || p->md == NULL)
        goto nomem;
    pcre2_set_match_limit(p->mctx, PGCDC_FILTER_MATCH_LIMIT);
    pcre2_set_depth_limit(p->mctx, PGCDC_FILTER_MATCH_LIMIT);
    pcre2_set_heap_limit(p->mctx, PGCDC_FILTER_HEAP_LIMIT / 1024);
    rc = parse_list(p, text, err, errlen);
    if (rc == -ENOMEM)
        goto nomem;
    if (rc < 0) {
        pgcdc_patterns_free(&p);
        return rc;
    }
    *out = p;
    return 0;

nomem:
    pgcdc_patterns_free(&p);
    snprintf(err, errlen, "out of memory compiling '%s'", key);
    return -ENOMEM;
}

int pgcdc_patterns_match(const struct pgcdc_patterns *p, const char *name, char *err,
                         size_t errlen)
{
    size_t len = strlen(name);

    for (size_t i = 0; p != NULL && i < p->count; i++) {
        int rc = pcre2_match(p->items[i].code, (PCRE2_SPTR)name, len, 0, 0, p->md, p->mctx);
        PCRE2_UCHAR msg[256];

        if (rc >= 0)
            return 1;
        if (rc == PCRE2_ERROR_NOMATCH)
            continue;
        pcre2_get_error_message(rc, msg, sizeof(msg));
        snprintf(err, errlen,
                 "'%s': pattern '%s' is too costly to match against '%s' (%s): simplify it",
                 p->key, p->items[i].text, name, (const char *)msg);
        return rc == PCRE2_ERROR_NOMEMORY ? -ENOMEM : -E2BIG;
    }
    return 0;
}

int pgcdc_key_columns_compile(const char *key, const char *text, struct pgcdc_patterns **out,
                              char *err, size_t errlen)
{
    size_t len = strlen(text);
    char *list = malloc(2 * len + 2), *entry = malloc(len + 1), *copy;
    const char *s = text;
    size_t n = 0;
    int rc;

    *out = NULL;
    if (list == NULL || entry == NULL) {
        free(list);
        free(entry);
        snprintf(err, errlen, "out of memory compiling '%s'", key);
        return -ENOMEM;
    }
    /* "table:col1,col2;table2:col3" becomes the pattern list
     * "table.col1,table.col2,table2.col3", matched against
     * schema.table.column as Debezium matches it; a comma in a table
     * pattern is escaped so that it stays part of it. */
    while (*s != '\0') {
        size_t elen = strcspn(s, ";"), start = 0, end = elen;
        const char *colon, *cols, *p;

        while (start < end && isspace((unsigned char)s[start]))
            start++;
        while (end > start && isspace((unsigned char)s[end - 1]))
            end--;
        memcpy(entry, s + start, end - start);
        entry[end - start] = '\0';
        s += elen + (s[elen] == ';');
        if (entry[0] == '\0')
            continue;
        colon = strchr(entry, ':');
        if (colon == NULL || colon == entry || colon[1] == '\0' || strchr(colon + 1, ':') ||
            strpbrk(entry, " \t\r\n") != NULL) {
            snprintf(err, errlen,
                     "invalid value for '%s': '%s' is not 'schema.table:column1,column2' (entries "
                     "separated by ';', no blanks inside an entry)",
                     key, entry);
            rc = -EINVAL;
            goto out;
        }
        cols = colon + 1;
        for (;;) {
            size_t clen = strcspn(cols, ",");

            if (clen == 0) {
                snprintf(err, errlen, "invalid value for '%s': '%s' has an empty column name",
                         key, entry);
                rc = -EINVAL;
                goto out;
            }
            if (n > 0)
                list[n++] = ',';
            for (p = entry; p < colon; p++) {
                if (*p == ',')
                    list[n++] = '\\';
                list[n++] = *p;
            }
            list[n++] = '.';
            memcpy(list + n, cols, clen);
            n += clen;
            if (cols[clen] == '\0')
                break;
            cols += clen + 1;
        }
    }
    list[n] = '\0';
    rc = pgcdc_patterns_compile(key, list, out, err, errlen);
    if (rc == 0) {
        /* Shown as the user wrote it. */
        copy = strdup(text);
        if (copy == NULL) {
            pgcdc_patterns_free(out);
            snprintf(err, errlen, "out of memory compiling '%s'", key);
            rc = -ENOMEM;
        } else {
            free((*out)->text);
            (*out)->text = copy;
        }
    }
out:
    free(list);
    free(entry);
    return rc;
}

/* Joins up to three names with '.' and asks include, else exclude. */
static int allows(const struct pgcdc_patterns *include, const struct pgcdc_patterns *exclude,
                  const char *a, const char *b, const char *c, char *err, size_t errlen)
{
    char stack[3 * 64 + 1];
    size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
    size_t need = la + 1 + lb + (c ? 1 + lc : 0) + 1;
    char *name = stack, *q;
    int rc;

    if (pgcdc_patterns_count(include) == 0 && pgcdc_patterns_count(exclude) == 0)
        return 1;
    if (need > sizeof(stack)) {
        name = malloc(need);
        if (name == NULL) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
    }
    q = name;
    memcpy(q, a, la);
    q += la;
    *q++ = '.';
    memcpy(q, b, lb);
    q += lb;
    if (c != NULL) {
        *q++ = '.';
        memcpy(q, c, lc);
        q += lc;
    }
    *q = '\0';
    if (pgcdc_patterns_count(include) > 0) {
        rc = pgcdc_patterns_match(include, name, err, errlen);
    } else {
        rc = pgcdc_patterns_match(exclude, name, err, errlen);
        if (rc >= 0)
            rc = !rc;
    }
    if (name != stack)
        free(name);
    return rc;
}

int pgcdc_filter_table(const struct pgcdc_config *cfg, const char *schema, const char *table,
                       char *err, size_t errlen)
{
    return allows(cfg->table_include, cfg->table_exclude, schema, table, NULL, err, errlen);
}

int pgcdc_filter_message(const struct pgcdc_config *cfg, const char *prefix, char *err,
                         size_t errlen)
{
    int rc;

    if (pgcdc_patterns_count(cfg->message_prefix_include) > 0)
        return pgcdc_patterns_match(cfg->message_prefix_include, prefix, err, errlen);
    if (pgcdc_patterns_count(cfg->message_prefix_exclude) == 0)
        return 1;
    rc = pgcdc_patterns_match(cfg->message_prefix_exclude, prefix, err, errlen);
    return rc < 0 ? rc : !rc;
}

int pgcdc_filter_column(const struct pgcdc_config *cfg, const char *schema, const char *table,
                        const char *column, char *err, size_t errlen)
{
    return allows(cfg->column_include, cfg->column_exclude, schema, table, column, err, errlen);
}

int pgcdc_filter_key_column(const struct pgcdc_config *cfg, const char *schema, const char *table,
                            const char *column, char *err, size_t errlen)
{
    if (pgcdc_patterns_count(cfg->message_key_columns) == 0)
        return 0;
    return allows(cfg->message_key_columns, NULL, schema, table, column, err, errlen);
}
