/*
 * configref.c - "${provider:[path:]key}" references in configuration values
 * (see configref.h for the syntax and the providers).
 *
 * Files are read whole, at most 1 MiB, once per reference; a configuration
 * holds a handful of them, so nothing is cached. Buffers that held a file's
 * content are wiped before they are freed, as they may hold other secrets
 * than the one asked for.
 */
#include "pgcdc/configref.h"
#include "pgcdc/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_MAX (1024 * 1024)

/* Frees a buffer that may hold secrets, wiping it first. */
static void wipe_free(char *p, size_t len)
{
    if (p == NULL)
        return;
    explicit_bzero(p, len);
    free(p);
}

/* ---- Java properties ---- */

static bool prop_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f';
}

static bool prop_eol(char c)
{
    return c == '\n' || c == '\r';
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads \uXXXX at s (s[0] == 'u'); returns the code unit or -1. */
static long utf16_unit(const char *s, size_t n)
{
    long v = 0;

    if (n < 5)
        return -1;
    for (size_t i = 1; i <= 4; i++) {
        int d = hex_digit(s[i]);

        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Unescapes s[0..n) into out (room for n bytes: no escape grows); returns
 * the length written. */
static size_t prop_unescape(const char *s, size_t n, char *out)
{
    size_t i = 0, o = 0;

    while (i < n) {
        if (s[i] != '\\') {
            out[o++] = s[i++];
            continue;
        }
        i++;
        if (i == n)
            break; /* a lone backslash at the very end is dropped */
        switch (s[i]) {
        case 't':
            out[o++] = '\t';
            i++;
            break;
        case 'n':
            out[o++] = '\n';
            i++;
            break;
        case 'r':
            out[o++] = '\r';
            i++;
            break;
        case 'f':
            out[o++] = '\f';
            i++;
            break;
        case 'u': {
            long hi = utf16_unit(s + i, n - i), lo;
            unsigned long cp;

            if (hi < 0) { /* Java refuses the file; keep the text */
                out[o++] = s[i++];
                break;
            }
            i += 5;
            cp = (unsigned long)hi;
            if (hi >= 0xD800 && hi <= 0xDBFF && i + 1 < n && s[i] == '\\') {
                lo = utf16_unit(s + i + 1, n - i - 1);
                if (lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + (((unsigned long)hi - 0xD800) << 10) +
                         ((unsigned long)lo - 0xDC00);
                    i += 6;
                }
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = 0xFFFD; /* an unpaired surrogate */
            /* 6 or 12 bytes of escape make at most 3 or 4 bytes of UTF-8 */
            o += put_utf8(out + o, cp);
            break;
        }
        default:
            out[o++] = s[i++];
            break;
        }
    }
    return o;
}

int pgcdc_configref_properties_get(const char *text, size_t len, const char *key, char **out)
{
    char *line = malloc(len + 1), *k = malloc(len + 1), *found = NULL;
    size_t i = 0, keylen = strlen(key);
    int rc = -ENOENT;

    *out = NULL;
    if (line == NULL || k == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    while (i < len) {
        size_t n = 0, kend, vstart, kn;

        while (i < len && prop_blank(text[i]))
            i++;
        if (i < len && (text[i] == '#' || text[i] == '!' || prop_eol(text[i]))) {
            while (i < len && !prop_eol(text[i]))
                i++;
            i++; /* the line break; "\r\n" leaves an empty line, skipped next */
            continue;
        }
        /* One logical line: natural lines joined while one ends with an odd
         * number of backslashes, the next one's leading blanks dropped. */
        for (;;) {
            size_t start = i, slashes = 0;

            while (i < len && !prop_eol(text[i]))
                i++;
            memcpy(line + n, text + start, i - start);
            n += i - start;
            while (slashes < n && line[n - 1 - slashes] == '\\')
                slashes++;
            if (i < len && text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
                i++;
            if (i < len)
                i++;
            if (slashes % 2 == 0 || i >= len)
                break;
            n--; /* the continuation backslash */
            while (i < len && prop_blank(text[i]))
                i++;
        }
        for (kend = 0; kend < n; kend++) {
            if (line[kend] == '\\') {
                kend++;
                continue;
            }
            if (line[kend] == '=' || line[kend] == ':' || prop_blank(line[kend]))
                break;
        }
        if (kend > n)
            kend = n;
        vstart = kend;
        while (vstart < n && prop_blank(line[vstart]))
            vstart++;
        if (vstart < n && (line[vstart] == '=' || line[vstart] == ':')) {
            vstart++;
            while (vstart < n && prop_blank(line[vstart]))
                vstart++;
        }
        kn = prop_unescape(line, kend, k);
        if (kn == keylen && memcmp(k, key, kn) == 0) {
            char *v = malloc(n - vstart + 1);
            size_t vn;

            if (v == NULL) {
                rc = -ENOMEM;
                goto out;
            }
            vn = prop_unescape(line + vstart, n - vstart, v);
            v[vn] = '\0';
            if (found != NULL)
                wipe_free(found, strlen(found));
            found = v;
        }
    }
    if (found != NULL) {
        *out = found;
        found = NULL;
        rc = 0;
    }
out:
    wipe_free(line, len + 1);
    wipe_free(k, len + 1);
    return rc;
}

/* ---- providers ---- */

/* Reads the file at path whole into *out (NUL-terminated, *len without it). */
static int read_whole(const char *path, char **out, size_t *len, const char *ref, char *err,
                      size_t errlen)
{
    char *data = NULL;
    size_t used = 0;
    int fd, rc = 0;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "reference '%s': cannot read '%s': %s", ref, path, strerror(errno));
        return rc;
    }
    data = malloc(FILE_MAX + 1);
    if (data == NULL) {
        rc = -ENOMEM;
        snprintf(err, errlen, "reference '%s': out of memory", ref);
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, data + used, FILE_MAX + 1 - used);

        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = -errno;
            snprintf(err, errlen, "reference '%s': cannot read '%s': %s", ref, path,
                     strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        used += (size_t)got;
        if (used > FILE_MAX) {
            rc = -EINVAL;
            snprintf(err, errlen, "reference '%s': '%s' is larger than 1 MiB", ref, path);
            goto out;
        }
    }
    data[used] = '\0';
    *out = data;
    *len = used;
    data = NULL;
out:
    wipe_free(data, FILE_MAX + 1);
    close(fd);
    return rc;
}

/* A value is C text: a NUL byte would silently end it. */
static int check_no_nul(const char *data, size_t len, const char *path, const char *ref,
                        char *err, size_t errlen)
{
    if (memchr(data, '\0', len) != NULL) {
        snprintf(err, errlen, "reference '%s': '%s' holds a NUL byte: it must be text", ref, path);
        return -EINVAL;
    }
    return 0;
}

static int resolve_env(const char *path, const char *key, struct pgcdc_buf *b, const char *ref,
                       char *err, size_t errlen)
{
    const char *v;

    if (*path != '\0') {
        snprintf(err, errlen, "reference '%s': the env provider takes no path: write '${env:%s}'",
                 ref, key);
        return -EINVAL;
    }
    if (*key == '\0') {
        snprintf(err, errlen, "reference '%s': no variable name", ref);
        return -EINVAL;
    }
    v = getenv(key);
    if (v == NULL) {
        snprintf(err, errlen, "reference '%s': environment variable '%s' is not set", ref, key);
        return -ENOENT;
    }
    return pgcdc_buf_append(b, v, strlen(v));
}

static int resolve_file(const char *path, const char *key, struct pgcdc_buf *b, const char *ref,
                        char *err, size_t errlen)
{
    char *data = NULL, *v = NULL;
    size_t len = 0;
    int rc;

    /* "${file:PATH}": the path is what Kafka's grammar calls the key. */
    const char *file = *path != '\0' ? path : key;

    if (*file == '\0') {
        snprintf(err, errlen, "reference '%s': no file name", ref);
        return -EINVAL;
    }
    if (*path != '\0' && *key == '\0') {
        snprintf(err, errlen, "reference '%s': no key after the file name", ref);
        return -EINVAL;
    }
    rc = read_whole(file, &data, &len, ref, err, errlen);
    if (rc < 0)
        return rc;
    rc = check_no_nul(data, len, file, ref, err, errlen);
    if (rc < 0)
        goto out;
    if (*path == '\0') {
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
            len--;
        rc = pgcdc_buf_append(b, data, len);
        goto out;
    }
    rc = pgcdc_configref_properties_get(data, len, key, &v);
    if (rc == -ENOENT)
        snprintf(err, errlen, "reference '%s': no key '%s' in properties file '%s'", ref, key,
                 file);
    else if (rc == 0)
        rc = pgcdc_buf_append(b, v, strlen(v));
out:
    if (v != NULL)
        wipe_free(v, strlen(v));
    wipe_free(data, len);
    return rc;
}

static int resolve_directory(const char *path, const char *key, struct pgcdc_buf *b,
                             const char *ref, char *err, size_t errlen)
{
    struct pgcdc_buf full = PGCDC_BUF_INIT;
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (*path == '\0' || *key == '\0' || strchr(key, '/') != NULL || strcmp(key, ".") == 0 ||
        strcmp(key, "..") == 0) {
        snprintf(err, errlen,
                 "reference '%s': expected '${directory:DIR:NAME}', NAME a file directly in DIR",
                 ref);
        return -EINVAL;
    }
    if (pgcdc_buf_appendf(&full, "%s/%s", path, key) < 0)
        return -ENOMEM;
    if (stat(full.data, &st) != 0) {
        rc = -errno;
        snprintf(err, errlen, "reference '%s': cannot read '%s': %s", ref, full.data,
                 strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        snprintf(err, errlen, "reference '%s': '%s' is not a regular file", ref, full.data);
        goto out;
    }
    rc = read_whole(full.data, &data, &len, ref, err, errlen);
    if (rc == 0)
        rc = check_no_nul(data, len, full.data, ref, err, errlen);
    if (rc == 0)
        rc = pgcdc_buf_append(b, data, len);
out:
    wipe_free(data, len);
    pgcdc_buf_free(&full);
    return rc;
}

/* ---- expansion ---- */

typedef int (*provider_fn)(const char *path, const char *key, struct pgcdc_buf *b,
                           const char *ref, char *err, size_t errlen);

static const struct {
    const char *name; /* as written before the first ':' */
    provider_fn fn;   /* resolves path and key, appending to b */
} providers[] = {
    {"env", resolve_env},
    {"file", resolve_file},
    {"directory", resolve_directory},
};

static provider_fn find_provider(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
        if (strlen(providers[i].name) == n && memcmp(providers[i].name, name, n) == 0)
            return providers[i].fn;
    }
    return NULL;
}

int pgcdc_configref_expand(const char *value, char **out, char *err, size_t errlen)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    const char *p = value, *open;
    bool any = false;
    int rc = 0;

    *out = NULL;
    while ((open = strstr(p, "${")) != NULL) {
        const char *close = strchr(open + 2, '}'), *colon;
        char *ref = NULL, *path, *key, *sep;
        provider_fn fn;
        size_t reflen;

        if (close == NULL)
            break; /* no reference can end: the rest is literal */
        colon = memchr(open + 2, ':', (size_t)(close - open - 2));
        fn = colon == NULL ? NULL : find_provider(open + 2, (size_t)(colon - open - 2));
        if (fn == NULL) {
            /* "${routedByValue}" or an unknown provider: as written */
            rc = pgcdc_buf_append(&b, p, (size_t)(close + 1 - p));
            if (rc < 0)
                goto nomem;
            p = close + 1;
            continue;
        }
        reflen = (size_t)(close + 1 - open);
        ref = malloc(reflen + 1);
        if (ref == NULL)
            goto nomem;
        memcpy(ref, open, reflen);
        ref[reflen] = '\0';
        /* ref: "${provider:rest}"; split rest into [path:]key in place */
        path = ref + (colon - open) + 1;
        ref[reflen - 1] = '\0';
        sep = strchr(path, ':');
        if (sep != NULL) {
            key = sep + 1;
            *sep = '\0';
        } else {
            key = path;
            path = ref + reflen - 1; /* "" */
        }
        rc = pgcdc_buf_append(&b, p, (size_t)(open - p));
        if (rc == 0) {
            char shown[512];

            /* The message shows the reference as written. */
            snprintf(shown, sizeof(shown), "%.*s", (int)reflen, open);
            rc = fn(path, key, &b, shown, err, errlen);
            if (rc == -ENOMEM)
                snprintf(err, errlen, "reference '%s': out of memory", shown);
        }
        free(ref);
        if (rc < 0)
            goto fail;
        any = true;
        p = close + 1;
    }
    if (!any) {
        pgcdc_buf_free(&b);
        return 0;
    }
    /* always allocates, so a value that resolved to "" is not NULL */
    rc = pgcdc_buf_append(&b, p, strlen(p));
    if (rc < 0)
        goto nomem;
    *out = b.data;
    return 0;

nomem:
    snprintf(err, errlen, "out of memory resolving references");
    rc = -ENOMEM;
fail:
    if (b.data != NULL)
        explicit_bzero(b.data, b.len);
    pgcdc_buf_free(&b);
    return rc;
}
