/*
 * registry.h - client of a Confluent-compatible schema registry.
 *
 * Registers writer schemas under subjects (TopicNameStrategy: "<topic>-key",
 * "<topic>-value") and returns the ids that Confluent framing puts in front of
 * every Avro message. Speaks the Confluent REST API, which Confluent Schema
 * Registry, Apicurio's ccompat API and Karapace all serve:
 *
 *   POST {base}/subjects/{subject}/versions
 *        Content-Type: application/vnd.schemaregistry.v1+json
 *        {"schema": "<schema json text>"}            -> 200 {"id": N}
 *   GET  {base}/schemas/ids/{id}                      -> 200 {"schema": "<text>", ...}
 *   errors                                            -> {"error_code": N, "message": "..."}
 *
 * {base} may carry a path prefix (http://host:8080/apis/ccompat/v7).
 *
 * Ids are cached per (subject, exact schema text): registering the same text
 * again under the same subject costs a hash lookup and never touches the
 * network. The key is the CRC-64-AVRO of the text as given, deliberately not
 * of its Parsing Canonical Form: that form drops logicalType, decimal scale
 * and precision, defaults and connect.* attributes, so numeric(10,2) and
 * numeric(10,4) columns, or long and timestamp-micros, share one canonical
 * form while consumers must get different writer schemas for them.
 *
 * Return codes (negative errno; every error also leaves a message in err):
 *
 *   -EAGAIN   transient: connection refused or reset, DNS failure, timeout,
 *             HTTP 408, 429 or 5xx. Retry later (see
 *             pgcdc_registry_register_retry).
 *   -EEXIST   409: the schema is incompatible with the versions already
 *             under the subject (the subject's compatibility level). Permanent.
 *   -EINVAL   422: the registry refuses the schema as invalid; or the schema
 *             text is not valid UTF-8. Permanent.
 *   -EACCES   401/403: the credentials are refused. Permanent.
 *   -ENOENT   404: no such schema id (fetch), or the base URL is wrong.
 *   -EPROTO   any other HTTP status, or a reply that is not the expected
 *             JSON. Permanent.
 *   -EIO      a permanent transport failure: bad URL, TLS certificate or key
 *             problem, certificate verification failed.
 *   -ENOMEM
 *
 * Error messages name the registry by its URL with any user:password@ part
 * removed, name the subject, and quote the registry's "message" field. The
 * basic-auth password never appears in them.
 *
 * One CURL handle serves every request of a registry handle, so the
 * connection is kept alive between requests. A handle is not thread-safe.
 * libcurl's global state is initialised by the first pgcdc_registry_new
 * unless main() called curl_global_init() before.
 */
#ifndef PGCDC_REGISTRY_H
#define PGCDC_REGISTRY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pgcdc/buf.h"

struct pgcdc_registry;

/* How registrations wait between attempts after a transient failure (both
 * pgcdc_registry_register_retry and asynchronous registrations). Zeroed
 * fields take the defaults; asynchronous registrations use only initial_ms,
 * max_ms, on_retry and arg (the caller's loop decides when to give up). */
struct pgcdc_registry_retry {
    unsigned initial_ms;         /* first wait after a transient failure, 0 = 100 */
    unsigned max_ms;             /* longest single wait (waits double up to it), 0 = 10000 */
    unsigned total_ms;           /* give up once this much time has passed, 0 = never */
    volatile sig_atomic_t *stop; /* checked before each attempt and every 50 ms of a
                                    wait; non-zero gives up (e.g. on SIGTERM); may be NULL */
    void (*on_retry)(void *arg, const char *subject, unsigned attempt, unsigned wait_ms,
                     const char *error); /* told of each transient failure before its
                                            wait, e.g. to log it; may be NULL */
    void *arg;                           /* handed to on_retry */
};

struct pgcdc_registry_opts {
    const char *url;        /* base URL, http or https, may end in a path prefix; required */
    const char *basic_auth; /* "user:password" (Confluent's basic.auth.user.info), or NULL */
    const char *ca_file;    /* PEM bundle to verify the server with, NULL = system default */
    const char *cert_file;  /* PEM client certificate for mutual TLS, or NULL */
    const char *key_file;   /* PEM private key of cert_file, or NULL */
    long timeout_ms;        /* limit for one whole request, 0 = 30000 */
    struct pgcdc_registry_retry retry; /* backoff of asynchronous registrations (copied) */
};

/* Creates a registry client. Copies what it needs from opts. 0, -EINVAL
 * (no or malformed URL, basic_auth without ':'), -ENOMEM, or -EIO when
 * libcurl refuses an option. */
int pgcdc_registry_new(struct pgcdc_registry **out /* OUT */,
                       const struct pgcdc_registry_opts *opts, char *err, size_t errlen);

/* Releases the client and closes its connection. NULL-safe. */
void pgcdc_registry_free(struct pgcdc_registry *r);

/*
 * Registers the schema text (len bytes of JSON, sent exactly as given) under
 * subject, or finds the id it already has there. One attempt: returns at once
 * with one of the codes above. A success is cached, so the same
 * (subject, text) never goes to the network again for this handle.
 */
int pgcdc_registry_register(struct pgcdc_registry *r, const char *subject, const char *schema_json,
                            size_t len, int32_t *id /* OUT */, char *err, size_t errlen);


/*
 * pgcdc_registry_register, retrying transient failures (-EAGAIN) with
 * exponential backoff without jitter. Returns 0; a permanent error at once;
 * -ECANCELED when *stop was set; or -EAGAIN once total_ms has passed (err
 * then holds the last failure). With total_ms = 0 and no stop flag it
 * retries for as long as the registry stays unreachable. retry may be NULL
 * (all defaults).
 */
int pgcdc_registry_register_retry(struct pgcdc_registry *r, const char *subject,
                                  const char *schema_json, size_t len,
                                  const struct pgcdc_registry_retry *retry, int32_t *id /* OUT */,
                                  char *err, size_t errlen);

/*
 * The same as pgcdc_registry_register without ever waiting, for an event
 * loop: 0 with *id set when the id is known (cached); -EINPROGRESS when a
 * request was started or is still under way (this registration or another
 * one: one is pending at a time), or waits out its backoff after a transient
 * failure: drive it with pgcdc_registry_pollfds and pgcdc_registry_perform,
 * then call again; or, once the pending registration failed permanently,
 * that failure's code and message (once, then it is forgotten). Transient
 * failures are retried without limit, each reported to retry.on_retry.
 * Do not mix with the blocking calls while one is pending.
 */
int pgcdc_registry_register_async(struct pgcdc_registry *r, const char *subject,
                                  const char *schema_json, size_t len, int32_t *id /* OUT */,
                                  char *err, size_t errlen);

/* True while an asynchronous registration is in flight or waiting to be
 * tried again (false once it succeeded or failed for good). */
bool pgcdc_registry_busy(const struct pgcdc_registry *r);

struct pollfd;

/* The sockets to poll for the pending registration: fills at most max of
 * fds and returns how many, and sets *timeout_ms to when
 * pgcdc_registry_perform must run at the latest (-1: no limit; nothing is
 * pending). */
int pgcdc_registry_pollfds(struct pgcdc_registry *r, struct pollfd *fds /* OUT */, int max,
                           int *timeout_ms /* OUT */);

/* Moves the pending registration on without waiting: reads and writes what
 * its sockets allow, finishes it, or starts its next attempt once its backoff
 * is over. 0, or -EIO when libcurl fails. */
int pgcdc_registry_perform(struct pgcdc_registry *r);

/* Fetches the schema text registered under id into out_schema (replacing
 * its content; NUL-terminated). Not cached. 0, -ENOENT for an unknown id,
 * or another code above. */
int pgcdc_registry_fetch(struct pgcdc_registry *r, int32_t id,
                         struct pgcdc_buf *out_schema /* OUT */, char *err, size_t errlen);

/* HTTP requests this handle has sent (attempts, whatever their outcome). */
uint64_t pgcdc_registry_requests(const struct pgcdc_registry *r);

/* Asks the registry for its subjects (GET {base}/subjects), to learn
 * whether it answers at this URL with these credentials; one attempt,
 * bounded by opts.timeout_ms. 0 or a code above. */
int pgcdc_registry_probe(struct pgcdc_registry *r, char *err, size_t errlen);

/* Bytes in front of every Confluent-framed message. */
#define PGCDC_REGISTRY_FRAME_LEN 5

/* Writes the Confluent wire-format header: magic byte 0, then id as a
 * 4-byte big-endian integer. */
void pgcdc_registry_frame_header(uint8_t out[PGCDC_REGISTRY_FRAME_LEN] /* OUT */, int32_t id);

#endif
