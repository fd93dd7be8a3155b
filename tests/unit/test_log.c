/*
 * test_log.c - the JSON log format: one object per line that a JSON parser
 * (jansson) reads back to the very message, whatever bytes it holds; the
 * stable members and their order; structured fields; cut messages; and that
 * the text format leaves the fields out.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgcdc/log.h"

static FILE *captured;
static int saved_stderr = -1;

static void capture(void)
{
    captured = tmpfile();
    cr_assert_not_null(captured);
    saved_stderr = dup(STDERR_FILENO);
    cr_assert_geq(dup2(fileno(captured), STDERR_FILENO), 0);
    pgcdc_log_set_level(PGCDC_LOG_DEBUG);
}

/* Everything logged since capture(), stderr given back. */
static char *release(void)
{
    long end;
    char *text;

    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    end = lseek(fileno(captured), 0, SEEK_END);
    text = calloc(1, (size_t)end + 1);
    cr_assert_not_null(text);
    cr_assert_eq(pread(fileno(captured), text, (size_t)end, 0), end);
    fclose(captured);
    pgcdc_log_set_format(PGCDC_LOG_FORMAT_TEXT);
    return text;
}

/* The lines of text, each parsed as one JSON object. */
static size_t parse_lines(char *text, json_t **out, size_t max)
{
    size_t n = 0;
    char *save = NULL;

    for (char *line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        json_error_t e;

        cr_assert_lt(n, max);
        out[n] = json_loads(line, JSON_REJECT_DUPLICATES, &e);
        cr_assert_not_null(out[n], "not JSON (%s): %s", e.text, line);
        cr_assert(json_is_object(out[n]), "%s", line);
        n++;
    }
    return n;
}

static const char *member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    cr_assert(json_is_string(v), "member '%s' missing or not a string", key);
    return json_string_value(v);
}

Test(log, json_lines_read_back_to_the_message)
{
    static const char *const messages[] = {
        "plain",
        "quote \" backslash \\ slash /",
        "tab\there bell\a escape\x1b del\x7f end",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    };
    json_t *lines[8];
    char *text;
    size_t n;

    capture();
    pgcdc_log_set_format(PGCDC_LOG_FORMAT_JSON);
    for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++)
        pgcdc_log(PGCDC_LOG_INFO, "%s", messages[i]);
    text = release();
    n = parse_lines(text, lines, 8);
    cr_assert_eq(n, sizeof(messages) / sizeof(messages[0]));
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(member(lines[i], "msg"), messages[i]);
        json_decref(lines[i]);
    }
    free(text);
}

Test(log, json_members_and_their_order)
{
    regex_t ts;
    json_t *lines[8];
    char *text, *copy;
    char expect[64];

    cr_assert_eq(regcomp(&ts, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$",
                         REG_EXTENDED | REG_NOSUB),
                 0);
    capture();
    pgcdc_log_set_format(PGCDC_LOG_FORMAT_JSON);
    pgcdc_log_error("an error");
    pgcdc_log_warn("a warning");
    pgcdc_log_with(PGCDC_LOG_INFO,
                   PGCDC_LOG_FIELDS({"table", "public.orders"}, {"lsn", "0/16B3748"},
                                    {"absent", NULL}),
                   "table '%s' streamed", "public.orders");
    pgcdc_log_debug("detail");
    text = release();
    copy = strdup(text);
    cr_assert_eq(parse_lines(copy, lines, 8), 4, "%s", text);

    snprintf(expect, sizeof(expect), "\"pid\":%ld,\"msg\":", (long)getpid());
    cr_assert_eq(strncmp(text, "{\"ts\":\"", 7), 0, "%s", text);
    cr_assert_not_null(strstr(text, "\",\"level\":\"error\","), "%s", text);
    cr_assert_not_null(strstr(text, expect), "%s", text);
    cr_assert_not_null(
        strstr(text, "\"msg\":\"table 'public.orders' streamed\",\"table\":\"public.orders\","
                     "\"lsn\":\"0/16B3748\"}\n"),
        "%s", text);
    const char *levels[] = {"error", "warn", "info", "debug"};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(regexec(&ts, member(lines[i], "ts"), 0, NULL, 0), 0, "ts '%s'",
                     member(lines[i], "ts"));
        cr_assert_str_eq(member(lines[i], "level"), levels[i]);
        cr_assert_eq(json_integer_value(json_object_get(lines[i], "pid")), getpid());
        json_decref(lines[i]);
    }
    cr_assert_null(strstr(text, "absent"));
    regfree(&ts);
    free(copy);
    free(text);
}

Test(log, json_replaces_invalid_utf8_and_folds_line_breaks)
{
    json_t *lines[4];
    char *text;

    capture();
    pgcdc_log_set_format(PGCDC_LOG_FORMAT_JSON);
    /* a lone continuation byte, a cut sequence, an overlong '/', a surrogate */
    pgcdc_log_info("a\x80z \xc3 \xc0\xaf \xed\xa0\x80!");
    pgcdc_log_info("first line\nsecond line\r\n");
    text = release();
    cr_assert_eq(parse_lines(text, lines, 4), 2);
    cr_assert_str_eq(member(lines[0], "msg"), "a\xef\xbf\xbdz \xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
                                              "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!");
    cr_assert_str_eq(member(lines[1], "msg"), "first line second line");
    json_decref(lines[0]);
    json_decref(lines[1]);
    free(text);
}

Test(log, json_long_message_is_cut_and_stays_one_object)
{
    static char big[20000];
    json_t *lines[2];
    char *text;
    const char *msg;

    /* control characters take 6 bytes escaped: the worst case */
    memset(big, '\x01', sizeof(big) - 1);
    capture();
    pgcdc_log_set_format(PGCDC_LOG_FORMAT_JSON);
    pgcdc_log_with(PGCDC_LOG_WARN, PGCDC_LOG_FIELDS({"table", "s.t"}), "%s", big);
    text = release();
    cr_assert_eq(parse_lines(text, lines, 2), 1);
    msg = member(lines[0], "msg");
    cr_assert_gt(strlen(msg), 500);
    cr_assert_eq(strcmp(msg + strlen(msg) - 3, "..."), 0);
    cr_assert_str_eq(member(lines[0], "table"), "s.t");
    json_decref(lines[0]);
    free(text);
}

Test(log, text_format_leaves_fields_out)
{
    char *text;
    char want[128];

    capture();
    pgcdc_log_with(PGCDC_LOG_INFO, PGCDC_LOG_FIELDS({"table", "public.orders"}), "hello %d", 42);
    text = release();
    snprintf(want, sizeof(want), " pgcdc[%ld] INFO hello 42\n", (long)getpid());
    cr_assert_not_null(strstr(text, want), "%s", text);
    cr_assert_null(strstr(text, "public.orders"), "%s", text);
    free(text);
}

Test(log, no_status_line_in_json)
{
    pgcdc_log_set_format(PGCDC_LOG_FORMAT_JSON);
    cr_assert_not(pgcdc_log_status("50% done"));
    pgcdc_log_set_format(PGCDC_LOG_FORMAT_TEXT);
}
