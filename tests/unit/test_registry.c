/*
 * test_registry.c - the schema registry client against a real registry.
 *
 * Tests that talk to a registry use SCHEMA_REGISTRY_URL (exported by
 * tests/harness/up) and are skipped when it is unset. Subjects are unique per
 * run (pid and time), so reruns against the same registry do not collide.
 * Transport failures are provoked on this machine only: a port nobody listens
 * on (refused) and a socket that listens but never answers (timeout).
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "pgcdc/avro_canon.h"
#include "pgcdc/registry.h"

static const char schema_v1[] = "{\"type\":\"record\",\"name\":\"Value\",\"namespace\":"
                                "\"pgcdc.test\",\"fields\":[{\"name\":\"id\",\"type\":\"int\"},"
                                "{\"name\":\"name\",\"type\":[\"null\",\"string\"],"
                                "\"default\":null}]}";

/* v1 plus a field without a default: not BACKWARD compatible. */
static const char schema_v2_bad[] =
    "{\"type\":\"record\",\"name\":\"Value\",\"namespace\":\"pgcdc.test\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"int\"},{\"name\":\"name\",\"type\":[\"null\",\"string\"],"
    "\"default\":null},{\"name\":\"total\",\"type\":\"long\"}]}";

/* v1 plus a nullable field with a default: BACKWARD compatible. */
static const char schema_v2_good[] =
    "{\"type\":\"record\",\"name\":\"Value\",\"namespace\":\"pgcdc.test\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"int\"},{\"name\":\"name\",\"type\":[\"null\",\"string\"],"
    "\"default\":null},{\"name\":\"total\",\"type\":[\"null\",\"long\"],\"default\":null}]}";

static const char *registry_url(void)
{
    const char *url = getenv("SCHEMA_REGISTRY_URL");

    if (url == NULL || url[0] == '\0')
        cr_skip_test("SCHEMA_REGISTRY_URL is not set: start the test servers with "
                     "eval \"$(tests/harness/up)\" to run the registry tests");
    return url;
}

static void unique_subject(char *out, size_t n, const char *what)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, n, "pgcdc-test-%ld-%ld%09ld-%s", (long)getpid(), (long)ts.tv_sec,
             (long)ts.tv_nsec, what);
}

static struct pgcdc_registry *connect_to(const char *url)
{
    struct pgcdc_registry_opts opts = {.url = url, .timeout_ms = 10000};
    struct pgcdc_registry *r = NULL;
    char err[512];

    cr_assert_eq(pgcdc_registry_new(&r, &opts, err, sizeof(err)), 0, "%s", err);
    return r;
}

static size_t discard(char *p, size_t size, size_t nmemb, void *arg)
{
    (void)p;
    (void)arg;
    return size * nmemb;
}

/* Sets a subject's compatibility level with a plain HTTP PUT (not part of
 * the client under test). */
static void set_compatibility(const char *base, const char *subject, const char *level)
{
    char url[1024], body[128];
    struct curl_slist *h;
    CURL *c = curl_easy_init();
    char *esc;
    long status = 0;

    cr_assert_not_null(c);
    esc = curl_easy_escape(c, subject, 0);
    snprintf(url, sizeof(url), "%s/config/%s", base, esc);
    snprintf(body, sizeof(body), "{\"compatibility\":\"%s\"}", level);
    h = curl_slist_append(NULL, "Content-Type: application/vnd.schemaregistry.v1+json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK, "PUT %s failed", url);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    cr_assert_eq(status, 200, "PUT %s: http %ld", url, status);
    curl_slist_free_all(h);
    curl_free(esc);
    curl_easy_cleanup(c);
}

/* A loopback port with nothing listening on it. */
static int closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

Test(registry, same_schema_twice_is_one_request_and_one_id)
{
    const char *url = registry_url();
    struct pgcdc_registry *r = connect_to(url), *fresh;
    char a[128], b[128], err[512];
    int32_t id1 = -1, id1_again = -1, id_b = -1, id_fresh = -1;

    unique_subject(a, sizeof(a), "a-value");
    unique_subject(b, sizeof(b), "b-value");
    cr_assert_eq(pgcdc_registry_requests(r), 0);

    cr_assert_eq(
        pgcdc_registry_register(r, a, schema_v1, strlen(schema_v1), &id1, err, sizeof(err)), 0,
        "%s", err);
    cr_assert_geq(id1, 0);
    cr_assert_eq(pgcdc_registry_requests(r), 1);

    /* The cache answers: same id, no request. */
    cr_assert_eq(
        pgcdc_registry_register(r, a, schema_v1, strlen(schema_v1), &id1_again, err, sizeof(err)),
        0, "%s", err);
    cr_assert_eq(id1_again, id1);
    cr_assert_eq(pgcdc_registry_requests(r), 1, "a cached registration went to the network");

    /* Another subject is another registration. */
    cr_assert_eq(
        pgcdc_registry_register(r, b, schema_v1, strlen(schema_v1), &id_b, err, sizeof(err)), 0,
        "%s", err);
    cr_assert_geq(id_b, 0);
    cr_assert_eq(pgcdc_registry_requests(r), 2);

    /* A handle without the cache gets the same id from the registry itself,
     * so what the cache returned is what the registry says. */
    fresh = connect_to(url);
    cr_assert_eq(pgcdc_registry_register(fresh, a, schema_v1, strlen(schema_v1), &id_fresh, err,
                                         sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(id_fresh, id1);
    cr_assert_eq(pgcdc_registry_requests(fresh), 1);
    pgcdc_registry_free(fresh);
    pgcdc_registry_free(r);
}

Test(registry, base_url_with_trailing_slash_works)
{
    const char *url = registry_url();
    char withslash[1024], subject[128], err[512];
    struct pgcdc_registry *r;
    int32_t id = -1;

    snprintf(withslash, sizeof(withslash), "%s/", url);
    r = connect_to(withslash);
    unique_subject(subject, sizeof(subject), "slash-value");
    cr_assert_eq(
        pgcdc_registry_register(r, subject, schema_v1, strlen(schema_v1), &id, err, sizeof(err)), 0,
        "%s", err);
    cr_assert_geq(id, 0);
    pgcdc_registry_free(r);
}

Test(registry, fetch_by_id_returns_an_equivalent_schema)
{
    struct pgcdc_registry *r = connect_to(registry_url());
    struct pgcdc_buf fetched = PGCDC_BUF_INIT, c1 = PGCDC_BUF_INIT, c2 = PGCDC_BUF_INIT;
    char subject[128], err[512];
    int32_t id = -1;

    unique_subject(subject, sizeof(subject), "fetch-value");
    cr_assert_eq(pgcdc_registry_register(r, subject, schema_v2_good, strlen(schema_v2_good), &id,
                                         err, sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(pgcdc_registry_fetch(r, id, &fetched, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(pgcdc_registry_requests(r), 2, "fetch must go to the registry");
    cr_assert_eq(pgcdc_avro_canonical(fetched.data, fetched.len, &c1, err, sizeof(err)), 0,
                 "fetched text: %s", err);
    cr_assert_eq(
        pgcdc_avro_canonical(schema_v2_good, strlen(schema_v2_good), &c2, err, sizeof(err)), 0,
        "%s", err);
    cr_assert_str_eq(c1.data, c2.data);
    /* The registry keeps the attributes the canonical form drops. */
    cr_assert_not_null(strstr(fetched.data, "default"), "%s", fetched.data);

    pgcdc_buf_free(&fetched);
    pgcdc_buf_free(&c1);
    pgcdc_buf_free(&c2);
    pgcdc_registry_free(r);
}

Test(registry, fetch_of_an_unknown_id_is_not_found)
{
    struct pgcdc_registry *r = connect_to(registry_url());
    struct pgcdc_buf out = PGCDC_BUF_INIT;
    char err[512];

    cr_assert_eq(pgcdc_buf_append(&out, "old", 3), 0);
    cr_assert_eq(pgcdc_registry_fetch(r, INT32_MAX, &out, err, sizeof(err)), -ENOENT, "%s", err);
    cr_assert_not_null(strstr(err, "schema id 2147483647"), "%s", err);
    cr_assert_not_null(strstr(err, "404"), "%s", err);
    cr_assert_eq(out.len, 0);
    pgcdc_buf_free(&out);
    pgcdc_registry_free(r);
}

Test(registry, incompatible_change_is_a_permanent_error_naming_the_subject)
{
    const char *url = registry_url();
    struct pgcdc_registry *r = connect_to(url);
    char subject[128], err[1024];
    int32_t id1 = -1, id2 = -1, unchanged = 1234;

    unique_subject(subject, sizeof(subject), "compat-value");
    set_compatibility(url, subject, "BACKWARD");
    cr_assert_eq(
        pgcdc_registry_register(r, subject, schema_v1, strlen(schema_v1), &id1, err, sizeof(err)),
        0, "%s", err);

    cr_assert_eq(pgcdc_registry_register(r, subject, schema_v2_bad, strlen(schema_v2_bad),
                                         &unchanged, err, sizeof(err)),
                 -EEXIST, "%s", err);
    cr_assert_eq(unchanged, 1234, "no id on failure");
    cr_assert_not_null(strstr(err, subject), "%s", err);
    cr_assert_not_null(strstr(err, "incompatible"), "%s", err);
    cr_assert_not_null(strstr(err, "409"), "%s", err);

    /* A failure is not cached: the same text fails again, on the network. */
    cr_assert_eq(pgcdc_registry_register(r, subject, schema_v2_bad, strlen(schema_v2_bad),
                                         &unchanged, err, sizeof(err)),
                 -EEXIST, "%s", err);
    cr_assert_eq(pgcdc_registry_requests(r), 3);

    /* The compatible evolution goes through and gets a new id. */
    cr_assert_eq(pgcdc_registry_register(r, subject, schema_v2_good, strlen(schema_v2_good), &id2,
                                         err, sizeof(err)),
                 0, "%s", err);
    cr_assert_neq(id2, id1);
    pgcdc_registry_free(r);
}

Test(registry, invalid_schema_is_a_permanent_error_naming_the_subject)
{
    static const char bad[] = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\","
                              "\"type\":\"no_such_type\"}]}";
    struct pgcdc_registry *r = connect_to(registry_url());
    char subject[128], err[1024];
    int32_t id = -1;

    unique_subject(subject, sizeof(subject), "invalid-value");
    cr_assert_eq(pgcdc_registry_register(r, subject, bad, strlen(bad), &id, err, sizeof(err)),
                 -EINVAL, "%s", err);
    cr_assert_not_null(strstr(err, subject), "%s", err);
    cr_assert_not_null(strstr(err, "invalid"), "%s", err);
    cr_assert_not_null(strstr(err, "422"), "%s", err);

    /* Not retried: one request, the same answer. */
    cr_assert_eq(
        pgcdc_registry_register_retry(r, subject, bad, strlen(bad), NULL, &id, err, sizeof(err)),
        -EINVAL, "%s", err);
    cr_assert_eq(pgcdc_registry_requests(r), 2);
    pgcdc_registry_free(r);
}

Test(registry, subjects_are_url_escaped)
{
    const char *url = registry_url();
    struct pgcdc_registry *r = connect_to(url);
    char plus[128], space[128], err[1024];
    int32_t id1 = -1, id2 = -1;

    /* "x+y" and "x y" are two subjects. A raw space is not a valid URL;
     * form-style escaping (space as '+') would make the second registration
     * an incompatible version of the first. */
    unique_subject(plus, sizeof(plus), "x+y-value");
    memcpy(space, plus, sizeof(plus));
    *strchr(space, '+') = ' ';
    set_compatibility(url, plus, "BACKWARD");
    set_compatibility(url, space, "BACKWARD");
    cr_assert_eq(
        pgcdc_registry_register(r, plus, schema_v1, strlen(schema_v1), &id1, err, sizeof(err)), 0,
        "%s", err);
    cr_assert_eq(pgcdc_registry_register(r, space, schema_v2_bad, strlen(schema_v2_bad), &id2, err,
                                         sizeof(err)),
                 0, "%s", err);
    cr_assert_neq(id1, id2);
    pgcdc_registry_free(r);
}

Test(registry, basic_auth_is_sent_without_breaking_requests)
{
    struct pgcdc_registry_opts opts = {.url = registry_url(), .basic_auth = "pgcdc:secret"};
    struct pgcdc_registry *r = NULL;
    char subject[128], err[512];
    int32_t id = -1;

    /* The harness registry does not check credentials; this shows that
     * setting them leaves requests well-formed. */
    cr_assert_eq(pgcdc_registry_new(&r, &opts, err, sizeof(err)), 0, "%s", err);
    unique_subject(subject, sizeof(subject), "auth-value");
    cr_assert_eq(
        pgcdc_registry_register(r, subject, schema_v1, strlen(schema_v1), &id, err, sizeof(err)), 0,
        "%s", err);
    pgcdc_registry_free(r);
}

Test(registry, connection_refused_is_transient_and_quick)
{
    char url[128], err[512];
    struct pgcdc_registry *r;
    struct timespec t0;
    int32_t id = 77;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/apis/ccompat/v7", closed_port());
    r = connect_to(url);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(pgcdc_registry_register(r, "orders-value", schema_v1, strlen(schema_v1), &id, err,
                                         sizeof(err)),
                 -EAGAIN, "%s", err);
    /* no retry inside one call: well under the 5 s of a retried request,
     * with room for a loaded machine or memcheck */
    cr_assert_lt(seconds_since(&t0), 5.0);
    cr_assert_eq(id, 77);
    cr_assert_not_null(strstr(err, "'orders-value'"), "%s", err);
    cr_assert_not_null(strstr(err, "127.0.0.1"), "%s", err);
    pgcdc_registry_free(r);
}

Test(registry, a_silent_server_times_out_as_transient)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct pgcdc_registry_opts opts = {.timeout_ms = 300};
    socklen_t alen = sizeof(a);
    struct pgcdc_registry *r = NULL;
    char url[128], err[512];
    struct timespec t0;
    int32_t id;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    double took;

    /* Listens (the kernel completes the handshake) but never reads. */
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, 4), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    opts.url = url;
    cr_assert_eq(pgcdc_registry_new(&r, &opts, err, sizeof(err)), 0, "%s", err);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(
        pgcdc_registry_register(r, "t-value", schema_v1, strlen(schema_v1), &id, err, sizeof(err)),
        -EAGAIN, "%s", err);
    took = seconds_since(&t0);
    cr_assert(took >= 0.25 && took < 10.0, "took %.3f s", took);
    pgcdc_registry_free(r);
    close(fd);
}

struct retry_log {
    unsigned calls;              /* on_retry calls */
    unsigned last_attempt;       /* attempt number of the last call */
    unsigned waits[16];          /* wait_ms of the first calls */
    volatile sig_atomic_t *stop; /* set on the call numbered stop_at */
    unsigned stop_at;            /* 0 = never */
    char subject[64];            /* subject of the last call */
};

static void on_retry(void *arg, const char *subject, unsigned attempt, unsigned wait_ms,
                     const char *error)
{
    struct retry_log *log = arg;

    cr_assert_not_null(strstr(error, "127.0.0.1"), "%s", error);
    if (log->calls < 16)
        log->waits[log->calls] = wait_ms;
    log->calls++;
    log->last_attempt = attempt;
    snprintf(log->subject, sizeof(log->subject), "%s", subject);
}

Test(registry, retry_backs_off_exponentially_and_gives_up_after_the_budget)
{
    struct retry_log log = {0};
    /* The budget leaves room for four attempts even when each takes a few
     * hundred milliseconds (a loaded machine, memcheck). */
    struct pgcdc_registry_retry retry = {
        .initial_ms = 20, .max_ms = 80, .total_ms = 3000, .on_retry = on_retry, .arg = &log};
    char url[128], err[512];
    struct pgcdc_registry *r;
    struct timespec t0;
    int32_t id;
    double took;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    r = connect_to(url);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(pgcdc_registry_register_retry(r, "s-value", schema_v1, strlen(schema_v1), &retry,
                                               &id, err, sizeof(err)),
                 -EAGAIN, "%s", err);
    took = seconds_since(&t0);
    cr_assert(took >= 2.99 && took < 13.0, "took %.3f s", took);
    cr_assert_geq(log.calls, 4);
    cr_assert_eq(log.waits[0], 20);
    cr_assert_eq(log.waits[1], 40);
    cr_assert_eq(log.waits[2], 80);
    cr_assert_leq(log.waits[3], 80, "waits stop growing at max_ms");
    cr_assert_str_eq(log.subject, "s-value");
    cr_assert_eq(pgcdc_registry_requests(r), log.calls + 1);
    cr_assert_not_null(strstr(err, "gave up after"), "%s", err);
    pgcdc_registry_free(r);
}

static volatile sig_atomic_t stop_flag;

static void on_alarm(int sig)
{
    (void)sig;
    stop_flag = 1;
}

Test(registry, retry_stops_when_the_stop_flag_is_set)
{
    struct retry_log log = {0};
    struct pgcdc_registry_retry retry = {
        .initial_ms = 5000, .stop = &stop_flag, .on_retry = on_retry, .arg = &log};
    struct itimerval in_150ms = {.it_value = {.tv_sec = 0, .tv_usec = 150000}};
    struct sigaction sa = {.sa_handler = on_alarm};
    char url[128], err[512];
    struct pgcdc_registry *r;
    struct timespec t0;
    int32_t id;
    double took;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", closed_port());
    r = connect_to(url);

    /* Already set: no attempt at all. */
    stop_flag = 1;
    cr_assert_eq(pgcdc_registry_register_retry(r, "s-value", schema_v1, strlen(schema_v1), &retry,
                                               &id, err, sizeof(err)),
                 -ECANCELED, "%s", err);
    cr_assert_eq(pgcdc_registry_requests(r), 0);
    cr_assert_not_null(strstr(err, "'s-value'"), "%s", err);

    /* Set by a signal handler during the first 5 s wait, as pgcdc's SIGTERM
     * handler would: noticed within one poll slice. There is no total_ms, so
     * only the flag can end it. */
    stop_flag = 0;
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(setitimer(ITIMER_REAL, &in_150ms, NULL), 0);
    cr_assert_eq(pgcdc_registry_register_retry(r, "s-value", schema_v1, strlen(schema_v1), &retry,
                                               &id, err, sizeof(err)),
                 -ECANCELED, "%s", err);
    took = seconds_since(&t0);
    cr_assert(took >= 0.14 && took < 3.0, "took %.3f s (the wait is 5 s)", took);
    cr_assert_eq(log.calls, 1);
    cr_assert_eq(log.waits[0], 5000);
    pgcdc_registry_free(r);
}

Test(registry, passwords_never_appear_in_errors)
{
    struct pgcdc_registry_opts opts = {.basic_auth = "alice:s3cr3t-pw"};
    struct pgcdc_registry *r = NULL;
    char url[128], err[512];
    int32_t id;

    snprintf(url, sizeof(url), "http://bob:hunter2@127.0.0.1:%d/prefix", closed_port());
    opts.url = url;
    cr_assert_eq(pgcdc_registry_new(&r, &opts, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(
        pgcdc_registry_register(r, "p-value", schema_v1, strlen(schema_v1), &id, err, sizeof(err)),
        -EAGAIN, "%s", err);
    cr_assert_null(strstr(err, "s3cr3t"), "%s", err);
    cr_assert_null(strstr(err, "hunter2"), "%s", err);
    cr_assert_not_null(strstr(err, "'http://127.0.0.1:"), "%s", err);
    cr_assert_eq(pgcdc_registry_fetch(r, 1, &(struct pgcdc_buf)PGCDC_BUF_INIT, err, sizeof(err)),
                 -EAGAIN, "%s", err);
    cr_assert_null(strstr(err, "hunter2"), "%s", err);
    pgcdc_registry_free(r);

    opts.basic_auth = "no-colon-s3cr3t";
    cr_assert_eq(pgcdc_registry_new(&r, &opts, err, sizeof(err)), -EINVAL);
    cr_assert_null(r);
    cr_assert_null(strstr(err, "s3cr3t"), "%s", err);
}

Test(registry, bad_urls_are_refused)
{
    struct pgcdc_registry_opts opts = {.url = "ftp://127.0.0.1/"};
    struct pgcdc_registry *r = (struct pgcdc_registry *)&opts;
    char err[256];

    cr_assert_eq(pgcdc_registry_new(&r, &opts, err, sizeof(err)), -EINVAL);
    cr_assert_null(r);
    cr_assert_not_null(strstr(err, "http://"), "%s", err);
    opts.url = NULL;
    cr_assert_eq(pgcdc_registry_new(&r, &opts, err, sizeof(err)), -EINVAL);
    pgcdc_registry_free(NULL);
}

Test(registry, frame_header_is_magic_zero_and_big_endian_id)
{
    uint8_t h[PGCDC_REGISTRY_FRAME_LEN];
    static const uint8_t one[] = {0, 0, 0, 0, 1};
    static const uint8_t mixed[] = {0, 0x01, 0x02, 0x03, 0x04};
    static const uint8_t max[] = {0, 0x7f, 0xff, 0xff, 0xff};

    cr_assert_eq(PGCDC_REGISTRY_FRAME_LEN, 5);
    memset(h, 0xaa, sizeof(h));
    pgcdc_registry_frame_header(h, 1);
    cr_assert_arr_eq(h, one, 5);
    pgcdc_registry_frame_header(h, 0x01020304);
    cr_assert_arr_eq(h, mixed, 5);
    pgcdc_registry_frame_header(h, INT32_MAX);
    cr_assert_arr_eq(h, max, 5);
}

/* ---- asynchronous registration ---- */

/* Drives r the way the pipeline's loop does until register_async answers
 * something other than -EINPROGRESS, or limit_s passes. Every call must
 * return at once: the longest one is reported in *longest_s. */
static int drive_async(struct pgcdc_registry *r, const char *subject, const char *schema,
                       int32_t *id, char *err, size_t errlen, double limit_s, double *longest_s)
{
    struct timespec t0, c0;
    int rc;

    *longest_s = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd fds[4];
        int timeout, n;
        double took;

        clock_gettime(CLOCK_MONOTONIC, &c0);
        rc = pgcdc_registry_register_async(r, subject, schema, strlen(schema), id, err, errlen);
        took = seconds_since(&c0);
        if (took > *longest_s)
            *longest_s = took;
        if (rc != -EINPROGRESS || seconds_since(&t0) > limit_s)
            return rc;
        cr_assert(pgcdc_registry_busy(r));
        n = pgcdc_registry_pollfds(r, fds, 4, &timeout);
        if (timeout < 0 || timeout > 100)
            timeout = 100;
        poll(fds, (nfds_t)n, timeout);
        clock_gettime(CLOCK_MONOTONIC, &c0);
        cr_assert_eq(pgcdc_registry_perform(r), 0);
        took = seconds_since(&c0);
        if (took > *longest_s)
            *longest_s = took;
    }
}

Test(registry, async_registration_gets_the_same_id_without_waiting)
{
    struct pgcdc_registry *r = connect_to(registry_url());
    char subject[128], err[512];
    int32_t id = -1, id2 = -1;
    double longest;

    unique_subject(subject, sizeof(subject), "async-value");
    cr_assert_not(pgcdc_registry_busy(r));
    cr_assert_eq(drive_async(r, subject, schema_v1, &id, err, sizeof(err), 20, &longest), 0, "%s",
                 err);
    cr_assert_geq(id, 0);
    cr_assert_lt(longest, 0.5, "a call took %.3f s", longest);
    cr_assert_not(pgcdc_registry_busy(r));
    /* Cached now: answered at once, and the blocking call agrees. */
    cr_assert_eq(pgcdc_registry_register_async(r, subject, schema_v1, strlen(schema_v1), &id2, err,
                                               sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(id2, id);
    cr_assert_eq(pgcdc_registry_register(r, subject, schema_v1, strlen(schema_v1), &id2, err,
                                         sizeof(err)),
                 0, "%s", err);
    cr_assert_eq(id2, id);
    pgcdc_registry_free(r);
}

Test(registry, async_permanent_failure_is_reported_once)
{
    struct pgcdc_registry *r = connect_to(registry_url());
    static const char bad[] = "{\"type\":\"record\",\"name\":\"X\",\"fields\":[{\"name\":\"a\"}]}";
    char subject[128], err[512];
    int32_t id = -1;
    double longest;

    unique_subject(subject, sizeof(subject), "async-bad");
    int rc = drive_async(r, subject, bad, &id, err, sizeof(err), 20, &longest);
    cr_assert(rc == -EINVAL || rc == -EPROTO, "%d %s", rc, err);
    cr_assert_not_null(strstr(err, subject), "%s", err);
    cr_assert_not(pgcdc_registry_busy(r));
    pgcdc_registry_free(r);
}

Test(registry, async_silent_server_never_blocks_and_retries)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct retry_log log = {0};
    /* A blocking call would take the whole 1 s timeout; a non-blocking one
     * takes far less even on a loaded machine or under memcheck. */
    struct pgcdc_registry_opts opts = {
        .timeout_ms = 1000,
        .retry = {.initial_ms = 50, .max_ms = 100, .on_retry = on_retry, .arg = &log},
    };
    socklen_t alen = sizeof(a);
    struct pgcdc_registry *r = NULL;
    char url[128], err[512];
    int32_t id;
    double longest;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* Listens (the kernel completes the handshake) but never answers: a
     * registry stopped with SIGSTOP looks like this. */
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(listen(fd, 16), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    opts.url = url;
    cr_assert_eq(pgcdc_registry_new(&r, &opts, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(drive_async(r, "t-value", schema_v1, &id, err, sizeof(err), 5.0, &longest),
                 -EINPROGRESS, "%s", err);
    cr_assert_lt(longest, 0.5, "a call took %.3f s", longest);
    cr_assert_geq(log.calls, 2, "transient failures are retried: %u", log.calls);
    cr_assert_str_eq(log.subject, "t-value");
    cr_assert(pgcdc_registry_busy(r));
    pgcdc_registry_free(r); /* abandons the request in flight */
    close(fd);
}
