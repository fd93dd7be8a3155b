/*
 * test_configref.c - "${provider:[path:]key}" references: the grammar, each
 * provider, Java properties files, what stays literal, and the errors, which
 * name the reference and never a resolved value.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgcdc/configref.h"

/* Writes len bytes of data to a fresh temporary file; path receives its name. */
static void write_temp(const char *data, size_t len, char path[64])
{
    int fd;

    snprintf(path, 64, "/tmp/pgcdc-ref-XXXXXX");
    fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* Expands value, expecting success; returns the result (value itself when
 * it held no reference), to be freed. */
static char *expand(const char *value)
{
    char err[512] = "";
    char *out = NULL;

    cr_assert_eq(pgcdc_configref_expand(value, &out, err, sizeof(err)), 0, "%s: %s", value, err);
    return out != NULL ? out : strdup(value);
}

static void assert_expands(const char *value, const char *want)
{
    char *got = expand(value);

    cr_assert_str_eq(got, want, "'%s' gave '%s', not '%s'", value, got, want);
    free(got);
}

static void assert_fails(const char *value, int want_rc, const char *want_err)
{
    char err[512] = "";
    char *out = NULL;

    cr_assert_eq(pgcdc_configref_expand(value, &out, err, sizeof(err)), want_rc,
                 "'%s': %s", value, err);
    cr_assert_null(out);
    cr_assert_str_eq(err, want_err);
}

static char *prop(const char *text, const char *key)
{
    char *out = NULL;
    int rc = pgcdc_configref_properties_get(text, strlen(text), key, &out);

    return rc == 0 ? out : NULL;
}

static void assert_prop(const char *text, const char *key, const char *want)
{
    char *got = prop(text, key);

    cr_assert_not_null(got, "no key '%s' in:\n%s", key, text);
    cr_assert_str_eq(got, want, "key '%s': '%s', not '%s'", key, got, want);
    free(got);
}

Test(configref, value_without_references_is_left_alone)
{
    const char *const cases[] = {
        "",
        "host=db password=plain",
        "${routedByValue}",             /* Debezium's outbox router placeholder */
        "outbox.${routedByValue}.x",    /* inside other text */
        "${unknown:provider:key}",      /* a provider pgcdc does not have */
        "${ENV:HOME}",                  /* provider names are case-sensitive, as in Kafka */
        "${env:HOME",                   /* never closed */
        "$ {env:HOME}",
        "{env:HOME}",
    };
    char err[64];
    char *out;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        out = (char *)1;
        cr_assert_eq(pgcdc_configref_expand(cases[i], &out, err, sizeof(err)), 0, "%s", cases[i]);
        cr_assert_null(out, "'%s' was changed to '%s'", cases[i], out);
    }
}

Test(configref, env_references)
{
    setenv("PGCDC_T_PW", "s3cr=t #x", 1);
    setenv("PGCDC_T_USER", "app", 1);
    setenv("PGCDC_T_EMPTY", "", 1);
    assert_expands("${env:PGCDC_T_PW}", "s3cr=t #x");
    assert_expands("${env::PGCDC_T_PW}", "s3cr=t #x"); /* empty path, as Kafka allows */
    assert_expands("user=${env:PGCDC_T_USER} password=${env:PGCDC_T_PW} host=db",
                   "user=app password=s3cr=t #x host=db");
    assert_expands("[${env:PGCDC_T_EMPTY}]", "[]");
    assert_expands("${env:PGCDC_T_EMPTY}", "");
    /* a literal placeholder next to a reference: each on its own */
    assert_expands("${routedByValue}-${env:PGCDC_T_USER}", "${routedByValue}-app");
    /* what a reference resolves to is not resolved again */
    setenv("PGCDC_T_NESTED", "${env:PGCDC_T_PW}", 1);
    assert_expands("${env:PGCDC_T_NESTED}", "${env:PGCDC_T_PW}");
}

Test(configref, env_errors_name_the_reference)
{
    unsetenv("PGCDC_T_UNSET");
    assert_fails("password=${env:PGCDC_T_UNSET}", -ENOENT,
                 "reference '${env:PGCDC_T_UNSET}': environment variable 'PGCDC_T_UNSET' is not "
                 "set");
    assert_fails("${env:some/path:PGCDC_T_PW}", -EINVAL,
                 "reference '${env:some/path:PGCDC_T_PW}': the env provider takes no path: write "
                 "'${env:PGCDC_T_PW}'");
    assert_fails("${env:}", -EINVAL, "reference '${env:}': no variable name");
}

Test(configref, whole_file_drops_trailing_line_breaks_only)
{
    char path[64], value[128];

    write_temp("  pa ss:word\r\n\n", 15, path);
    snprintf(value, sizeof(value), "${file:%s}", path);
    assert_expands(value, "  pa ss:word");
    snprintf(value, sizeof(value), "password=${file:%s} user=x", path);
    assert_expands(value, "password=  pa ss:word user=x");
    unlink(path);

    write_temp("", 0, path);
    snprintf(value, sizeof(value), "${file:%s}", path);
    assert_expands(value, "");
    unlink(path);
}

Test(configref, properties_file_key)
{
    char path[64], value[160];
    const char *text = "# secrets\n"
                       "db.password = hunter2\n"
                       "sasl.password: with spaces inside \n"
                       "registry=user:pw\n";

    write_temp(text, strlen(text), path);
    snprintf(value, sizeof(value), "${file:%s:db.password}", path);
    assert_expands(value, "hunter2");
    snprintf(value, sizeof(value), "${file:%s:sasl.password}", path);
    assert_expands(value, "with spaces inside ");
    /* the key is everything after the path's ':' */
    snprintf(value, sizeof(value), "${file:%s:registry}", path);
    assert_expands(value, "user:pw");
    unlink(path);
}

Test(configref, file_errors_name_the_reference_and_the_file)
{
    char path[64], value[160], want[400];
    const char *text = "a=1\n";

    assert_fails("${file:/nonexistent/pgcdc/pw}", -ENOENT,
                 "reference '${file:/nonexistent/pgcdc/pw}': cannot read '/nonexistent/pgcdc/pw': "
                 "No such file or directory");
    write_temp(text, strlen(text), path);
    snprintf(value, sizeof(value), "x ${file:%s:missing.key} y", path);
    snprintf(want, sizeof(want),
             "reference '${file:%s:missing.key}': no key 'missing.key' in properties file '%s'",
             path, path);
    assert_fails(value, -ENOENT, want);
    snprintf(value, sizeof(value), "${file:%s:}", path);
    snprintf(want, sizeof(want), "reference '${file:%s:}': no key after the file name", path);
    assert_fails(value, -EINVAL, want);
    unlink(path);

    write_temp("a\0b", 3, path);
    snprintf(value, sizeof(value), "${file:%s}", path);
    snprintf(want, sizeof(want), "reference '${file:%s}': '%s' holds a NUL byte: it must be text",
             path, path);
    assert_fails(value, -EINVAL, want);
    unlink(path);
}

Test(configref, unreadable_file_is_an_error)
{
    char path[64], value[128];
    char err[512] = "";
    char *out = NULL;

    if (geteuid() == 0)
        cr_skip_test("root reads any file");
    write_temp("x", 1, path);
    chmod(path, 0);
    snprintf(value, sizeof(value), "${file:%s}", path);
    cr_assert_eq(pgcdc_configref_expand(value, &out, err, sizeof(err)), -EACCES);
    cr_assert(strstr(err, "Permission denied") != NULL, "%s", err);
    unlink(path);
}

Test(configref, directory_provider)
{
    char dir[] = "/tmp/pgcdc-refdir-XXXXXX", file[96], value[160], want[400];
    FILE *f;

    cr_assert_not_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/db-password", dir);
    f = fopen(file, "w");
    cr_assert_not_null(f);
    fputs("k8s-secret", f);
    fclose(f);
    snprintf(value, sizeof(value), "${directory:%s:db-password}", dir);
    assert_expands(value, "k8s-secret");
    snprintf(value, sizeof(value), "${directory:%s:../etc/passwd}", dir);
    snprintf(want, sizeof(want),
             "reference '${directory:%s:../etc/passwd}': expected '${directory:DIR:NAME}', NAME "
             "a file directly in DIR",
             dir);
    assert_fails(value, -EINVAL, want);
    snprintf(file, sizeof(file), "%s/sub", dir);
    cr_assert_eq(mkdir(file, 0700), 0);
    snprintf(value, sizeof(value), "${directory:%s:sub}", dir);
    snprintf(want, sizeof(want), "reference '${directory:%s:sub}': '%s/sub' is not a regular file",
             dir, dir);
    assert_fails(value, -EINVAL, want);
    rmdir(file);
    snprintf(file, sizeof(file), "%s/db-password", dir);
    unlink(file);
    rmdir(dir);
}

Test(configref, java_properties_syntax)
{
    const char *text = "  # comment\n"
                       "! also a comment = x\n"
                       "\n"
                       "plain=1\n"
                       "colon:2\n"
                       "blank 3\n"
                       "  spaced   =   4  \n"
                       "empty=\n"
                       "noval\n"
                       "esc\\=key=5\n"
                       "esc\\ space=6\n"
                       "tabs=a\\tb\\nc\n"
                       "unicode=caf\\u00e9 \\ud83d\\ude00\n"
                       "cont=one \\\n"
                       "      two \\\n"
                       "   three\n"
                       "even=ends with a backslash\\\\\n"
                       "after.even=7\n"
                       "crlf=8\r\n"
                       "cr=9\r"
                       "twice=first\n"
                       "twice=second\n"
                       "last=no newline";

    assert_prop(text, "plain", "1");
    assert_prop(text, "colon", "2");
    assert_prop(text, "blank", "3");
    assert_prop(text, "spaced", "4  ");
    assert_prop(text, "empty", "");
    assert_prop(text, "noval", "");
    assert_prop(text, "esc=key", "5");
    assert_prop(text, "esc space", "6");
    assert_prop(text, "tabs", "a\tb\nc");
    assert_prop(text, "unicode", "caf\xc3\xa9 \xf0\x9f\x98\x80");
    assert_prop(text, "cont", "one two three");
    assert_prop(text, "even", "ends with a backslash\\");
    assert_prop(text, "after.even", "7");
    assert_prop(text, "crlf", "8");
    assert_prop(text, "cr", "9");
    assert_prop(text, "twice", "second");
    assert_prop(text, "last", "no newline");
    cr_assert_null(prop(text, "comment"));
    cr_assert_null(prop(text, "!"));
    cr_assert_null(prop(text, "also"));
    cr_assert_null(prop(text, "missing"));
}
