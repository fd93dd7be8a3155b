/*
 * registry.c - Confluent-compatible schema registry client, the part of
 * Confluent's Avro serializer that turns a schema into an id (see registry.h
 * for the REST calls, the cache and the meaning of each return code).
 *
 * libcurl does the HTTP (one easy handle, reused, so the connection stays
 * open between requests), jansson builds the request body, so the schema text
 * is escaped correctly inside {"schema": "..."}, and reads the replies.
 *
 * The cache is a jansson object used as a hash table: the key is the
 * 16-hex-digit CRC-64-AVRO of the schema text followed by the subject (fixed
 * width first, so no two (text, subject) pairs collide on the key), the value
 * the id.
 *
 * Classification of failures: the registry answers with an HTTP status and a
 * JSON body {"error_code": N, "message": "..."}; the status decides the class.
 * Transport failures that a later attempt may not meet (refused, reset,
 * timed out, name not resolved) are transient; configuration problems (bad
 * URL, certificates) are not.
 */
#include "pgcdc/registry.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "pgcdc/avro_canon.h"

/* Replies larger than this are refused: a registry reply is a few KB. */
#define REGISTRY_MAX_REPLY (16u << 20)

/* Longest part of a non-JSON error reply quoted in a message. */
#define REGISTRY_QUOTE_LEN 200

/* Waits are cut into slices this long to notice the stop flag. */
#define REGISTRY_STOP_POLL_MS 50u

#define CONTENT_TYPE "application/vnd.schemaregistry.v1+json"
#define ACCEPT "Accept: " CONTENT_TYPE ", application/vnd.schemaregistry+json, application/json"

struct pgcdc_registry {
    CURL *curl;                      /* the one handle: keeps the connection alive */
    char *base;                      /* base URL without trailing '/' */
    char *shown;                     /* base URL without user:password@, for messages */
    struct curl_slist *post_headers; /* Content-Type and Accept */
    struct curl_slist *get_headers;  /* Accept */
    struct pgcdc_buf url;            /* URL of the request being made */
    struct pgcdc_buf reply;          /* body of the last reply */
    struct pgcdc_buf key;            /* cache key being looked up */
    json_t *cache;                   /* key -> id, see the top of this file */
    uint64_t requests;               /* HTTP requests sent */
    bool reply_too_large;            /* the write callback refused the reply */
    char curl_err[CURL_ERROR_SIZE];  /* libcurl's detail for the last failure */
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct pgcdc_registry *r = arg;
    size_t n = size * nmemb;

    if (r->reply.len + n > REGISTRY_MAX_REPLY) {
        r->reply_too_large = true;
        return 0;
    }
    if (pgcdc_buf_append(&r->reply, data, n) < 0)
        return 0;
    return n;
}

/* The URL with any "user:password@" after the scheme removed. */
static char *strip_userinfo(const char *url)
{
    const char *host = strstr(url, "://");
    const char *at, *end;
    size_t n = strlen(url), skip;
    char *out;

    if (host != NULL) {
        host += 3;
        end = host + strcspn(host, "/?#");
        at = memchr(host, '@', (size_t)(end - host));
        /* the last '@' before the path ends the userinfo */
        while (at != NULL) {
            const char *next = memchr(at + 1, '@', (size_t)(end - at - 1));
            if (next == NULL)
                break;
            at = next;
        }
        if (at != NULL) {
            skip = (size_t)(at + 1 - host);
            out = malloc(n - skip + 1);
            if (out == NULL)
                return NULL;
            memcpy(out, url, (size_t)(host - url));
            memcpy(out + (host - url), at + 1, n - (size_t)(at + 1 - url) + 1);
            return out;
        }
    }
    return strdup(url);
}

#define SETOPT(opt, val)                                                                           \
    do {                                                                                           \
        if (curl_easy_setopt(r->curl, opt, val) != CURLE_OK) {                                     \
            set_err(err, errlen, "schema registry: libcurl refused option " #opt);                 \
            rc = -EIO;                                                                             \
            goto error;                                                                            \
        }                                                                                          \
    } while (0)

int pgcdc_registry_new(struct pgcdc_registry **out, const struct pgcdc_registry_opts *opts,
                       char *err, size_t errlen)
{
    struct pgcdc_registry *r;
    long timeout;
    size_t n;
    int rc = -ENOMEM;

    *out = NULL;
    if (opts == NULL || opts->url == NULL ||
        (strncmp(opts->url, "http://", 7) != 0 && strncmp(opts->url, "https://", 8) != 0)) {
        set_err(err, errlen, "schema registry: url must start with http:// or https://");
        return -EINVAL;
    }
    if (opts->basic_auth != NULL && strchr(opts->basic_auth, ':') == NULL) {
        /* Say nothing of the value: it may be the password itself. */
        set_err(err, errlen, "schema registry: basic auth must be 'user:password'");
        return -EINVAL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        goto nomem;
    r->base = strdup(opts->url);
    if (r->base == NULL)
        goto nomem;
    n = strlen(r->base);
    while (n > 0 && r->base[n - 1] == '/')
        r->base[--n] = '\0';
    r->shown = strip_userinfo(r->base);
    r->cache = json_object();
    r->post_headers = curl_slist_append(NULL, "Content-Type: " CONTENT_TYPE);
    if (r->shown == NULL || r->cache == NULL || r->post_headers == NULL)
        goto nomem;
    {
        struct curl_slist *l = curl_slist_append(r->post_headers, ACCEPT);
        if (l == NULL)
            goto nomem;
        r->post_headers = l;
    }
    r->get_headers = curl_slist_append(NULL, ACCEPT);
    if (r->get_headers == NULL)
        goto nomem;
    r->curl = curl_easy_init();
    if (r->curl == NULL) {
        set_err(err, errlen, "schema registry: cannot initialise libcurl");
        rc = -EIO;
        goto error;
    }

    timeout = opts->timeout_ms > 0 ? opts->timeout_ms : 30000;
    SETOPT(CURLOPT_ERRORBUFFER, r->curl_err);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_TIMEOUT_MS, timeout);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS, timeout < 10000 ? timeout : 10000L);
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(CURLOPT_WRITEFUNCTION, on_write);
    SETOPT(CURLOPT_WRITEDATA, r);
    SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(CURLOPT_USERAGENT, "pgcdc");
    if (opts->basic_auth != NULL) {
        const char *colon = strchr(opts->basic_auth, ':');
        char *user = strndup(opts->basic_auth, (size_t)(colon - opts->basic_auth));

        if (user == NULL)
            goto nomem;
        /* libcurl keeps its own copies of both strings. */
        rc = curl_easy_setopt(r->curl, CURLOPT_USERNAME, user) == CURLE_OK &&
                     curl_easy_setopt(r->curl, CURLOPT_PASSWORD, colon + 1) == CURLE_OK &&
                     curl_easy_setopt(r->curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) == CURLE_OK
                 ? 0
                 : -EIO;
        free(user);
        if (rc < 0) {
            set_err(err, errlen, "schema registry: libcurl refused the basic auth settings");
            goto error;
        }
    }
    if (opts->ca_file != NULL)
        SETOPT(CURLOPT_CAINFO, opts->ca_file);
    if (opts->cert_file != NULL)
        SETOPT(CURLOPT_SSLCERT, opts->cert_file);
    if (opts->key_file != NULL)
        SETOPT(CURLOPT_SSLKEY, opts->key_file);
    *out = r;
    return 0;

nomem:
    rc = -ENOMEM;
    set_err(err, errlen, "schema registry: out of memory");
error:
    pgcdc_registry_free(r);
    return rc;
}

#undef SETOPT

void pgcdc_registry_free(struct pgcdc_registry *r)
{
    if (r == NULL)
        return;
    if (r->curl != NULL)
        curl_easy_cleanup(r->curl);
    curl_slist_free_all(r->post_headers);
    curl_slist_free_all(r->get_headers);
    json_decref(r->cache);
    pgcdc_buf_free(&r->url);
    pgcdc_buf_free(&r->reply);
    pgcdc_buf_free(&r->key);
    free(r->base);
    free(r->shown);
    free(r);
}

uint64_t pgcdc_registry_requests(const struct pgcdc_registry *r)
{
    return r->requests;
}

void pgcdc_registry_frame_header(uint8_t out[PGCDC_REGISTRY_FRAME_LEN], int32_t id)
{
    uint32_t u = (uint32_t)id;

    out[0] = 0;
    out[1] = (uint8_t)(u >> 24);
    out[2] = (uint8_t)(u >> 16);
    out[3] = (uint8_t)(u >> 8);
    out[4] = (uint8_t)u;
}

static bool transient_curl_error(CURLcode code)
{
    switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

/* An upper-case letter followed by lower-case letters only, up to a non-letter. */
static bool capitalised_word(const char *s)
{
    if (!isupper((unsigned char)s[0]))
        return false;
    for (s++; isalpha((unsigned char)*s); s++)
        if (!islower((unsigned char)*s))
            return false;
    return true;
}

/*
 * Performs the request prepared on r->curl against r->url. Returns 0 with
 * *status set when an HTTP reply arrived (whatever its status), else a
 * transport error code with a message that starts with what.
 */
static int perform(struct pgcdc_registry *r, const char *what, long *status, char *err,
                   size_t errlen)
{
    CURLcode code;
    size_t n;

    pgcdc_buf_reset(&r->reply);
    r->reply_too_large = false;
    r->curl_err[0] = '\0';
    if (curl_easy_setopt(r->curl, CURLOPT_URL, r->url.data) != CURLE_OK) {
        set_err(err, errlen, "%s: libcurl refused the url", what);
        return -EIO;
    }
    r->requests++;
    code = curl_easy_perform(r->curl);
    if (code == CURLE_OK) {
        curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, status);
        return 0;
    }
    if (r->reply_too_large) {
        set_err(err, errlen, "%s: reply larger than %u bytes", what, REGISTRY_MAX_REPLY);
        return -EPROTO;
    }
    if (code == CURLE_WRITE_ERROR) {
        set_err(err, errlen, "%s: out of memory reading the reply", what);
        return -ENOMEM;
    }
    /* libcurl's detail line, lower-cased at the start and without its newline. */
    n = strlen(r->curl_err);
    while (n > 0 && (r->curl_err[n - 1] == '\n' || r->curl_err[n - 1] == '.'))
        r->curl_err[--n] = '\0';
    if (n > 0 && capitalised_word(r->curl_err)) /* "Failed", not "OpenSSL" */
        r->curl_err[0] = (char)tolower((unsigned char)r->curl_err[0]);
    set_err(err, errlen, "%s: %s", what, n > 0 ? r->curl_err : curl_easy_strerror(code));
    return transient_curl_error(code) ? -EAGAIN : -EIO;
}

/* The reply body parsed as a JSON object, or NULL. */
static json_t *reply_json(struct pgcdc_registry *r)
{
    json_t *j = json_loadb(r->reply.data ? r->reply.data : "", r->reply.len, 0, NULL);

    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* Maps an HTTP error status to a code and a message quoting the registry. */
static int http_error(struct pgcdc_registry *r, const char *what, long status, char *err,
                      size_t errlen)
{
    char quote[REGISTRY_QUOTE_LEN + 1];
    const char *msg = NULL, *kind;
    json_t *j = reply_json(r);
    int rc;

    if (j != NULL) {
        msg = json_string_value(json_object_get(j, "message"));
        if (msg == NULL) /* RFC 7807 problem details, as Apicurio sends for bad paths */
            msg = json_string_value(json_object_get(j, "detail"));
    }
    if (msg == NULL) {
        /* Not the registry's JSON (a proxy's page?): quote its start, printable only. */
        size_t n = r->reply.len < REGISTRY_QUOTE_LEN ? r->reply.len : REGISTRY_QUOTE_LEN;
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)r->reply.data[i];
            quote[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
        }
        quote[n] = '\0';
        msg = n > 0 ? quote : "no message";
    }
    if (status == 409) {
        kind = "schema is incompatible with the subject's registered versions";
        rc = -EEXIST;
    } else if (status == 422) {
        kind = "schema is invalid";
        rc = -EINVAL;
    } else if (status == 401 || status == 403) {
        kind = "access denied (check the basic auth credentials)";
        rc = -EACCES;
    } else if (status == 404) {
        kind = "not found";
        rc = -ENOENT;
    } else if (status == 408 || status == 429 || status >= 500) {
        kind = "registry unavailable";
        rc = -EAGAIN;
    } else {
        kind = "unexpected reply";
        rc = -EPROTO;
    }
    set_err(err, errlen, "%s: %s (http %ld): %s", what, kind, status, msg);
    json_decref(j);
    return rc;
}

/* Builds the cache key of (text, subject) in r->key. */
static int cache_key(struct pgcdc_registry *r, const char *subject, const char *text, size_t len)
{
    pgcdc_buf_reset(&r->key);
    return pgcdc_buf_appendf(&r->key, "%016" PRIx64 "%s", pgcdc_avro_fingerprint64(text, len),
                             subject);
}

int pgcdc_registry_register(struct pgcdc_registry *r, const char *subject, const char *schema_json,
                            size_t len, int32_t *id, char *err, size_t errlen)
{
    char what[512];
    json_t *cached, *body = NULL, *reply = NULL, *jid;
    char *escaped = NULL, *text = NULL;
    long status = 0;
    json_int_t v;
    int rc;

    rc = cache_key(r, subject, schema_json, len);
    if (rc < 0)
        goto nomem;
    cached = json_object_get(r->cache, r->key.data);
    if (cached != NULL) {
        *id = (int32_t)json_integer_value(cached);
        return 0;
    }

    snprintf(what, sizeof(what), "schema registry '%s': subject '%s'", r->shown, subject);
    body = json_object();
    if (body == NULL)
        goto nomem;
    {
        json_t *s = json_stringn(schema_json, len);
        if (s == NULL) {
            set_err(err, errlen, "%s: schema text is not valid utf-8", what);
            rc = -EINVAL;
            goto out;
        }
        if (json_object_set_new(body, "schema", s) < 0)
            goto nomem;
    }
    text = json_dumps(body, JSON_COMPACT);
    escaped = curl_easy_escape(r->curl, subject, 0);
    if (text == NULL || escaped == NULL)
        goto nomem;
    pgcdc_buf_reset(&r->url);
    rc = pgcdc_buf_appendf(&r->url, "%s/subjects/%s/versions", r->base, escaped);
    if (rc < 0)
        goto nomem;
    if (curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, r->post_headers) != CURLE_OK ||
        curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text)) != CURLE_OK ||
        curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, text) != CURLE_OK) {
        set_err(err, errlen, "%s: libcurl refused the request", what);
        rc = -EIO;
        goto out;
    }
    rc = perform(r, what, &status, err, errlen);
    /* POSTFIELDS points at text, freed below: never let a later request see it. */
    curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, NULL);
    if (rc < 0)
        goto out;
    if (status != 200) {
        rc = http_error(r, what, status, err, errlen);
        goto out;
    }
    reply = reply_json(r);
    jid = json_object_get(reply, "id");
    v = json_integer_value(jid);
    if (!json_is_integer(jid) || v < 0 || v > INT32_MAX) {
        set_err(err, errlen, "%s: reply without a usable 'id' (an integer up to 2^31-1)", what);
        rc = -EPROTO;
        goto out;
    }
    if (json_object_set_new(r->cache, r->key.data, json_integer(v)) < 0)
        goto nomem;
    *id = (int32_t)v;
    rc = 0;
    goto out;

nomem:
    set_err(err, errlen, "schema registry: subject '%s': out of memory", subject);
    rc = -ENOMEM;
out:
    json_decref(body);
    json_decref(reply);
    free(text);
    curl_free(escaped);
    return rc;
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool stopping(const struct pgcdc_registry_retry *p)
{
    return p->stop != NULL && *p->stop != 0;
}

/* Sleeps ms milliseconds, waking early when the stop flag is set. */
static void wait_ms(const struct pgcdc_registry_retry *p, unsigned ms)
{
    while (ms > 0 && !stopping(p)) {
        unsigned slice = ms < REGISTRY_STOP_POLL_MS ? ms : REGISTRY_STOP_POLL_MS;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)slice * 1000000L};

        nanosleep(&ts, NULL); /* an interruption (signal) only ends the slice early */
        ms -= slice;
    }
}

int pgcdc_registry_register_retry(struct pgcdc_registry *r, const char *subject,
                                  const char *schema_json, size_t len,
                                  const struct pgcdc_registry_retry *retry, int32_t *id, char *err,
                                  size_t errlen)
{
    static const struct pgcdc_registry_retry defaults;
    const struct pgcdc_registry_retry *p = retry ? retry : &defaults;
    unsigned initial = p->initial_ms ? p->initial_ms : 100;
    unsigned cap = p->max_ms ? p->max_ms : 10000;
    unsigned backoff = initial < cap ? initial : cap;
    uint64_t start = now_ms();
    char last[512];
    int rc;

    for (unsigned attempt = 1;; attempt++) {
        unsigned wait = backoff;

        if (stopping(p)) {
            set_err(err, errlen,
                    "schema registry: subject '%s': registration abandoned at shutdown", subject);
            return -ECANCELED;
        }
        rc = pgcdc_registry_register(r, subject, schema_json, len, id, err, errlen);
        if (rc != -EAGAIN)
            return rc;
        if (p->total_ms != 0) {
            uint64_t spent = now_ms() - start;
            if (spent >= p->total_ms) {
                snprintf(last, sizeof(last), "%s", errlen > 0 ? err : "");
                set_err(err, errlen, "%s (gave up after %u attempts in %" PRIu64 " ms)", last,
                        attempt, spent);
                return -EAGAIN;
            }
            if (wait > p->total_ms - spent)
                wait = (unsigned)(p->total_ms - spent);
        }
        if (p->on_retry != NULL)
            p->on_retry(p->arg, subject, attempt, wait, errlen > 0 ? err : "");
        wait_ms(p, wait);
        backoff = backoff > cap / 2 ? cap : backoff * 2;
    }
}

int pgcdc_registry_fetch(struct pgcdc_registry *r, int32_t id, struct pgcdc_buf *out_schema,
                         char *err, size_t errlen)
{
    char what[512];
    json_t *reply = NULL;
    const char *text;
    long status = 0;
    int rc;

    pgcdc_buf_reset(out_schema);
    snprintf(what, sizeof(what), "schema registry '%s': schema id %" PRId32, r->shown, id);
    pgcdc_buf_reset(&r->url);
    rc = pgcdc_buf_appendf(&r->url, "%s/schemas/ids/%" PRId32, r->base, id);
    if (rc < 0) {
        set_err(err, errlen, "%s: out of memory", what);
        return rc;
    }
    if (curl_easy_setopt(r->curl, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
        curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, r->get_headers) != CURLE_OK) {
        set_err(err, errlen, "%s: libcurl refused the request", what);
        return -EIO;
    }
    rc = perform(r, what, &status, err, errlen);
    if (rc < 0)
        return rc;
    if (status != 200)
        return http_error(r, what, status, err, errlen);
    reply = reply_json(r);
    text = json_string_value(json_object_get(reply, "schema"));
    if (text == NULL) {
        set_err(err, errlen, "%s: reply without a 'schema' string", what);
        rc = -EPROTO;
    } else {
        rc = pgcdc_buf_append(out_schema, text,
                              json_string_length(json_object_get(reply, "schema")));
        if (rc < 0)
            set_err(err, errlen, "%s: out of memory", what);
    }
    json_decref(reply);
    return rc;
}
