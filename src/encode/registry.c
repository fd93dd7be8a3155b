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
 * Asynchronous registration (pgcdc_registry_register_async): the same easy
 * handle runs inside a curl multi handle that the caller's event loop drives
 * (pgcdc_registry_pollfds, pgcdc_registry_perform), so a registry that is
 * slow, hung or down never blocks the loop. One registration is pending at a
 * time: its cache key, subject and body are kept while it is in flight or
 * waiting out its backoff after a transient failure; a permanent failure is
 * kept until the caller asks for that registration again.
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
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "pgcdc/avro_canon.h"
#include "pgcdc/clock.h"

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
    CURLM *multi;                    /* runs curl for asynchronous requests, NULL until used */
    bool in_multi;                   /* curl is inside multi (a request in flight) */
    bool waiting;                    /* the pending registration waits for retry_at_ms */
    uint64_t retry_at_ms;            /* monotonic time of its next attempt */
    unsigned backoff_ms;             /* wait after its next transient failure */
    unsigned attempt;                /* attempts made at it */
    struct pgcdc_buf pending_key;    /* cache key of the pending registration, empty = none */
    char *pending_subject;           /* its subject */
    char *pending_body;              /* its request body (CURLOPT_POSTFIELDS points here) */
    char pending_what[512];          /* its subject and registry, for messages */
    int failed_rc;                   /* its permanent failure, 0 = none yet */
    char failed_err[768];            /* the message of that failure */
    struct pgcdc_registry_retry retry; /* backoff of asynchronous registrations */
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

    r->retry = opts->retry;
    r->retry.initial_ms = r->retry.initial_ms ? r->retry.initial_ms : 100;
    r->retry.max_ms = r->retry.max_ms ? r->retry.max_ms : 10000;
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
    /* A request in flight is abandoned: nothing waits for the server. */
    if (r->multi != NULL && r->in_multi)
        curl_multi_remove_handle(r->multi, r->curl);
    if (r->multi != NULL)
        curl_multi_cleanup(r->multi);
    if (r->curl != NULL)
        curl_easy_cleanup(r->curl);
    pgcdc_buf_free(&r->pending_key);
    free(r->pending_subject);
    free(r->pending_body);
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
/* Readies r->curl for a request to r->url. 0 or -EIO. */
static int prepare(struct pgcdc_registry *r, const char *what, char *err, size_t errlen)
{
    pgcdc_buf_reset(&r->reply);
    r->reply_too_large = false;
    r->curl_err[0] = '\0';
    if (curl_easy_setopt(r->curl, CURLOPT_URL, r->url.data) != CURLE_OK) {
        set_err(err, errlen, "%s: libcurl refused the url", what);
        return -EIO;
    }
    r->requests++;
    return 0;
}

/* The outcome of a finished transfer, as perform() returns it. */
static int transfer_result(struct pgcdc_registry *r, CURLcode code, const char *what,
                           long *status, char *err, size_t errlen)
{
    size_t n;

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

static int perform(struct pgcdc_registry *r, const char *what, long *status, char *err,
                   size_t errlen)
{
    int rc = prepare(r, what, err, errlen);

    if (rc < 0)
        return rc;
    return transfer_result(r, curl_easy_perform(r->curl), what, status, err, errlen);
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

/* GETs r->url (set by the caller); 0 once the registry answered 200. */
static int get_ok(struct pgcdc_registry *r, const char *what, char *err, size_t errlen)
{
    long status = 0;
    int rc;

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
    return 0;
}

/* Builds the cache key of (text, subject) in r->key. */
static int cache_key(struct pgcdc_registry *r, const char *subject, const char *text, size_t len)
{
    pgcdc_buf_reset(&r->key);
    return pgcdc_buf_appendf(&r->key, "%016" PRIx64 "%s", pgcdc_avro_fingerprint64(text, len),
                             subject);
}

/* Sets up r->curl and r->url for registering under subject; *body_out gets
 * the request body, which must outlive the request (free() it after). */
static int prepare_post(struct pgcdc_registry *r, const char *subject, const char *schema_json,
                        size_t len, const char *what, char **body_out /* OUT */, char *err,
                        size_t errlen)
{
    json_t *body;
    char *escaped = NULL, *text = NULL;
    int rc;

    *body_out = NULL;
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
    *body_out = text;
    text = NULL;
    rc = 0;
    goto out;

nomem:
    set_err(err, errlen, "schema registry: subject '%s': out of memory", subject);
    rc = -ENOMEM;
out:
    json_decref(body);
    free(text);
    curl_free(escaped);
    return rc;
}

/* Reads the id out of a registration's reply (HTTP status status) and
 * caches it under r->key, which must still hold its cache key. */
static int post_result(struct pgcdc_registry *r, long status, const char *what,
                       int32_t *id /* OUT */, char *err, size_t errlen)
{
    json_t *reply, *jid;
    json_int_t v;
    int rc;

    if (status != 200)
        return http_error(r, what, status, err, errlen);
    reply = reply_json(r);
    jid = json_object_get(reply, "id");
    v = json_integer_value(jid);
    if (!json_is_integer(jid) || v < 0 || v > INT32_MAX) {
        set_err(err, errlen, "%s: reply without a usable 'id' (an integer up to 2^31-1)", what);
        rc = -EPROTO;
        goto out;
    }
    if (json_object_set_new(r->cache, r->key.data, json_integer(v)) < 0) {
        set_err(err, errlen, "%s: out of memory", what);
        rc = -ENOMEM;
        goto out;
    }
    *id = (int32_t)v;
    rc = 0;
out:
    json_decref(reply);
    return rc;
}

/* The id cached for (subject, text): 1 with *id set, 0 when not cached (the
 * key is left in r->key), or -ENOMEM. */
static int cached_id(struct pgcdc_registry *r, const char *subject, const char *schema_json,
                     size_t len, int32_t *id)
{
    json_t *cached;

    if (cache_key(r, subject, schema_json, len) < 0)
        return -ENOMEM;
    cached = json_object_get(r->cache, r->key.data);
    if (cached == NULL)
        return 0;
    *id = (int32_t)json_integer_value(cached);
    return 1;
}

int pgcdc_registry_register(struct pgcdc_registry *r, const char *subject, const char *schema_json,
                            size_t len, int32_t *id, char *err, size_t errlen)
{
    char what[512];
    char *body = NULL;
    long status = 0;
    int rc;

    rc = cached_id(r, subject, schema_json, len, id);
    if (rc != 0) {
        if (rc < 0)
            set_err(err, errlen, "schema registry: subject '%s': out of memory", subject);
        return rc < 0 ? rc : 0;
    }
    snprintf(what, sizeof(what), "schema registry '%s': subject '%s'", r->shown, subject);
    rc = prepare_post(r, subject, schema_json, len, what, &body, err, errlen);
    if (rc < 0)
        return rc;
    rc = perform(r, what, &status, err, errlen);
    /* POSTFIELDS points at body, freed below: never let a later request see it. */
    curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, NULL);
    free(body);
    if (rc < 0)
        return rc;
    return post_result(r, status, what, id, err, errlen);
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
    uint64_t start = (uint64_t)pgcdc_mono_ms();
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
            uint64_t spent = (uint64_t)pgcdc_mono_ms() - start;
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
    int rc;

    pgcdc_buf_reset(out_schema);
    snprintf(what, sizeof(what), "schema registry '%s': schema id %" PRId32, r->shown, id);
    pgcdc_buf_reset(&r->url);
    rc = pgcdc_buf_appendf(&r->url, "%s/schemas/ids/%" PRId32, r->base, id);
    if (rc < 0) {
        set_err(err, errlen, "%s: out of memory", what);
        return rc;
    }
    rc = get_ok(r, what, err, errlen);
    if (rc < 0)
        return rc;
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

int pgcdc_registry_probe(struct pgcdc_registry *r, char *err, size_t errlen)
{
    char what[512];
    int rc;

    snprintf(what, sizeof(what), "schema registry '%s'", r->shown);
    pgcdc_buf_reset(&r->url);
    rc = pgcdc_buf_appendf(&r->url, "%s/subjects", r->base);
    if (rc < 0) {
        set_err(err, errlen, "%s: out of memory", what);
        return rc;
    }
    rc = get_ok(r, what, err, errlen);
    if (rc < 0)
        return rc;
    return 0;
}

/* ---- asynchronous registration ---- */

/* Forgets the pending registration. */
static void pending_clear(struct pgcdc_registry *r)
{
    pgcdc_buf_reset(&r->pending_key);
    free(r->pending_subject);
    r->pending_subject = NULL;
    free(r->pending_body);
    r->pending_body = NULL;
    r->waiting = false;
    r->failed_rc = 0;
    r->failed_err[0] = '\0';
}

/* Records a permanent failure of the pending registration. */
static void pending_fail(struct pgcdc_registry *r, int rc, const char *text)
{
    r->waiting = false;
    r->failed_rc = rc;
    snprintf(r->failed_err, sizeof(r->failed_err), "%s", text);
}

/* Starts one attempt at the pending registration inside the multi handle. */
static void pending_start(struct pgcdc_registry *r)
{
    char err[768];

    if (curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, r->post_headers) != CURLE_OK ||
        curl_easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(r->pending_body)) !=
            CURLE_OK ||
        curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, r->pending_body) != CURLE_OK) {
        pending_fail(r, -EIO, "schema registry: libcurl refused the request");
        return;
    }
    pgcdc_buf_reset(&r->url);
    {
        char *escaped = curl_easy_escape(r->curl, r->pending_subject, 0);
        int rc = escaped ? pgcdc_buf_appendf(&r->url, "%s/subjects/%s/versions", r->base, escaped)
                         : -ENOMEM;

        curl_free(escaped);
        if (rc < 0) {
            pending_fail(r, -ENOMEM, "schema registry: out of memory");
            return;
        }
    }
    if (prepare(r, r->pending_what, err, sizeof(err)) < 0) {
        pending_fail(r, -EIO, err);
        return;
    }
    if (curl_multi_add_handle(r->multi, r->curl) != CURLM_OK) {
        pending_fail(r, -EIO, "schema registry: libcurl refused to start a request");
        return;
    }
    r->in_multi = true;
    r->waiting = false;
    r->attempt++;
}

/* The pending registration's attempt ended with code. */
static void pending_finished(struct pgcdc_registry *r, CURLcode code)
{
    char err[768];
    long status = 0;
    int32_t id;
    int rc;

    curl_multi_remove_handle(r->multi, r->curl);
    r->in_multi = false;
    curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, NULL);
    rc = transfer_result(r, code, r->pending_what, &status, err, sizeof(err));
    if (rc == 0) {
        /* post_result caches under r->key. */
        pgcdc_buf_reset(&r->key);
        rc = pgcdc_buf_append(&r->key, r->pending_key.data, r->pending_key.len);
        if (rc == 0)
            rc = post_result(r, status, r->pending_what, &id, err, sizeof(err));
        else
            snprintf(err, sizeof(err), "%s: out of memory", r->pending_what);
    }
    if (rc == 0) {
        pending_clear(r);
        return;
    }
    if (rc != -EAGAIN) {
        pending_fail(r, rc, err);
        return;
    }
    if (r->retry.on_retry != NULL)
        r->retry.on_retry(r->retry.arg, r->pending_subject, r->attempt, r->backoff_ms, err);
    r->waiting = true;
    r->retry_at_ms = (uint64_t)pgcdc_mono_ms() + r->backoff_ms;
    r->backoff_ms = r->backoff_ms > r->retry.max_ms / 2 ? r->retry.max_ms : r->backoff_ms * 2;
}

int pgcdc_registry_register_async(struct pgcdc_registry *r, const char *subject,
                                  const char *schema_json, size_t len, int32_t *id, char *err,
                                  size_t errlen)
{
    char body_err[768];
    int rc = cached_id(r, subject, schema_json, len, id);

    if (rc != 0) {
        if (rc < 0)
            set_err(err, errlen, "schema registry: subject '%s': out of memory", subject);
        return rc < 0 ? rc : 0;
    }
    if (r->pending_key.len > 0) {
        bool same = r->pending_key.len == r->key.len &&
                    memcmp(r->pending_key.data, r->key.data, r->key.len) == 0;

        if (same && r->failed_rc != 0) {
            rc = r->failed_rc;
            set_err(err, errlen, "%s", r->failed_err);
            pending_clear(r);
            return rc;
        }
        if (same || r->failed_rc == 0) {
            set_err(err, errlen, "%s: waiting for the registry", r->pending_what);
            return -EINPROGRESS;
        }
        /* A failure nobody asked for again: forget it. */
        pending_clear(r);
    }
    if (r->multi == NULL) {
        r->multi = curl_multi_init();
        if (r->multi == NULL) {
            set_err(err, errlen, "schema registry: cannot initialise libcurl");
            return -EIO;
        }
    }
    snprintf(r->pending_what, sizeof(r->pending_what), "schema registry '%s': subject '%s'",
             r->shown, subject);
    rc = prepare_post(r, subject, schema_json, len, r->pending_what, &r->pending_body, body_err,
                      sizeof(body_err));
    if (rc == 0) {
        r->pending_subject = strdup(subject);
        rc = r->pending_subject ? pgcdc_buf_append(&r->pending_key, r->key.data, r->key.len)
                                : -ENOMEM;
        if (rc < 0)
            snprintf(body_err, sizeof(body_err), "%s: out of memory", r->pending_what);
    }
    if (rc < 0) {
        pending_clear(r);
        set_err(err, errlen, "%s", body_err);
        return rc;
    }
    r->attempt = 0;
    r->backoff_ms = r->retry.initial_ms < r->retry.max_ms ? r->retry.initial_ms : r->retry.max_ms;
    pending_start(r);
    set_err(err, errlen, "%s: waiting for the registry", r->pending_what);
    return -EINPROGRESS;
}

bool pgcdc_registry_busy(const struct pgcdc_registry *r)
{
    return r->pending_key.len > 0 && r->failed_rc == 0;
}

int pgcdc_registry_perform(struct pgcdc_registry *r)
{
    CURLMsg *msg;
    int running = 0, left = 0;

    if (r->waiting && (uint64_t)pgcdc_mono_ms() >= r->retry_at_ms)
        pending_start(r);
    if (!r->in_multi)
        return 0;
    if (curl_multi_perform(r->multi, &running) != CURLM_OK)
        return -EIO;
    while ((msg = curl_multi_info_read(r->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == r->curl)
            pending_finished(r, msg->data.result);
    return 0;
}

int pgcdc_registry_pollfds(struct pgcdc_registry *r, struct pollfd *fds, int max,
                           int *timeout_ms)
{
    fd_set rd, wr, ex;
    int maxfd = -1, n = 0;
    long t = -1;

    *timeout_ms = -1;
    if (r->waiting) {
        uint64_t now = (uint64_t)pgcdc_mono_ms();

        *timeout_ms = r->retry_at_ms > now ? (int)(r->retry_at_ms - now) : 0;
        return 0;
    }
    if (!r->in_multi)
        return 0;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_ZERO(&ex);
    if (curl_multi_fdset(r->multi, &rd, &wr, &ex, &maxfd) != CURLM_OK)
        maxfd = -1;
    for (int fd = 0; fd <= maxfd && n < max; fd++) {
        short ev = (short)((FD_ISSET(fd, &rd) ? POLLIN : 0) | (FD_ISSET(fd, &wr) ? POLLOUT : 0) |
                           (FD_ISSET(fd, &ex) ? POLLPRI : 0));

        if (ev) {
            fds[n].fd = fd;
            fds[n].events = ev;
            fds[n].revents = 0;
            n++;
        }
    }
    curl_multi_timeout(r->multi, &t);
    /* No socket yet (a name being resolved): look again soon. */
    if (n == 0 && (t < 0 || t > 50))
        t = 50;
    *timeout_ms = t < 0 ? -1 : (int)(t > 60000 ? 60000 : t);
    return n;
}
