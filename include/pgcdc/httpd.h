/*
 * httpd.h - a small HTTP server (libmicrohttpd) driven by the event loop:
 * no thread of its own. The loop polls one descriptor (pgcdc_httpd_pollfd)
 * and lets the server work (pgcdc_httpd_perform) when it is readable or its
 * timer is due; every request is answered there, on the loop's thread, by
 * the caller's handler.
 */
#ifndef PGCDC_HTTPD_H
#define PGCDC_HTTPD_H

#include <poll.h>
#include <stddef.h>

#include "pgcdc/buf.h"

struct pgcdc_httpd;

/* Answers a GET (or HEAD) of path: appends the body to *body and returns
 * the HTTP status; *content_type may be set (text/plain otherwise). */
typedef unsigned (*pgcdc_httpd_fn)(void *arg, const char *path, struct pgcdc_buf *body /* OUT */,
                                   const char **content_type /* OUT */);

/* Listens on listen (see pgcdc_config_parse_listen) and answers with fn. */
int pgcdc_httpd_new(struct pgcdc_httpd **out /* OUT */, const char *listen, pgcdc_httpd_fn fn,
                    void *arg, char *err, size_t errlen);

/* Fills *pfd with the descriptor to poll for reading: 1 (0 for a NULL h);
 * *timeout_ms gets the longest the loop may wait before calling
 * pgcdc_httpd_perform() anyway, or -1 for no limit. */
int pgcdc_httpd_pollfd(struct pgcdc_httpd *h, struct pollfd *pfd /* OUT */,
                       int *timeout_ms /* OUT */);

/* Accepts, reads and answers what is ready, without waiting. NULL-safe. */
void pgcdc_httpd_perform(struct pgcdc_httpd *h);

/* Stops listening, closes every connection and frees; sets *hp to NULL.
 * NULL-safe. */
void pgcdc_httpd_free(struct pgcdc_httpd **hp);

#endif
