/*
 * httpd.c - the HTTP endpoint (/metrics, /healthz, /readyz), served by
 * libmicrohttpd from pgcdc's own event loop.
 *
 * The daemon runs in libmicrohttpd's "external select" mode with epoll
 * (MHD_USE_EPOLL, without MHD_USE_INTERNAL_POLLING_THREAD): it starts no
 * thread, and gathers its listening socket and connections behind one
 * epoll descriptor, which the loop polls like any other. MHD_run() then
 * does what is ready without waiting, answering requests with the caller's
 * handler on the loop's thread. libmicrohttpd parses HTTP; this file only
 * maps a path to the handler's body and status.
 *
 * Requests are small and few (a scraper every few seconds), so each
 * answer's body is built whole and copied into the response.
 */
#include "pgcdc/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "pgcdc/config.h"

/* Connections at once, and how long an idle one is kept (seconds). */
#define MAX_CONNECTIONS 16
#define CONNECTION_TIMEOUT_S 10

struct pgcdc_httpd {
    struct MHD_Daemon *daemon; /* libmicrohttpd's server */
    int fd;                    /* its epoll descriptor */
    pgcdc_httpd_fn fn;         /* the handler */
    void *arg;                 /* its argument */
    struct pgcdc_buf body;     /* an answer's body, reused */
};

/* libmicrohttpd's request handler: one call per request once its headers
 * are in (nothing is uploaded to these paths). */
static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    struct pgcdc_httpd *h = cls;
    const char *type = "text/plain; charset=utf-8";
    struct MHD_Response *resp;
    unsigned status;
    enum MHD_Result ret;

    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    pgcdc_buf_reset(&h->body);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
        if (pgcdc_buf_appendf(&h->body, "only GET and HEAD\n") < 0)
            return MHD_NO;
    } else {
        status = h->fn(h->arg, url, &h->body, &type);
    }
    resp = MHD_create_response_from_buffer(h->body.len, h->body.len ? h->body.data : (void *)"",
                                           MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return MHD_NO;
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) == MHD_NO ||
        (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
         MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") == MHD_NO)) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

int pgcdc_httpd_new(struct pgcdc_httpd **out, const char *listen, pgcdc_httpd_fn fn, void *arg,
                    char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    struct pgcdc_httpd *h;
    const union MHD_DaemonInfo *info;
    char host[256], service[8];
    unsigned port, flags = MHD_USE_EPOLL;
    int rc;

    *out = NULL;
    rc = pgcdc_config_parse_listen(listen, host, sizeof(host), &port, err, errlen);
    if (rc < 0)
        return rc;
    snprintf(service, sizeof(service), "%u", port);
    rc = getaddrinfo(host[0] ? host : NULL, service, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "metrics.listen '%s': %s", listen, gai_strerror(rc));
        return -EINVAL;
    }
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        freeaddrinfo(ai);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    h->fn = fn;
    h->arg = arg;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, answer, h,
                                 MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
                                 (unsigned)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (h->daemon == NULL) {
        snprintf(err, errlen,
                 "metrics.listen '%s': cannot listen there (the address is in use, or not "
                 "one of this host's)",
                 listen);
        free(h);
        return -EADDRINUSE;
    }
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (info == NULL) {
        snprintf(err, errlen, "metrics.listen '%s': the HTTP server has no epoll descriptor",
                 listen);
        MHD_stop_daemon(h->daemon);
        free(h);
        return -ENOTSUP;
    }
    h->fd = info->epoll_fd;
    *out = h;
    return 0;
}

int pgcdc_httpd_pollfd(struct pgcdc_httpd *h, struct pollfd *pfd, int *timeout_ms)
{
    MHD_UNSIGNED_LONG_LONG t;

    *timeout_ms = -1;
    if (h == NULL)
        return 0;
    pfd->fd = h->fd;
    pfd->events = POLLIN;
    pfd->revents = 0;
    if (MHD_get_timeout(h->daemon, &t) == MHD_YES)
        *timeout_ms = t > INT_MAX ? INT_MAX : (int)t;
    return 1;
}

void pgcdc_httpd_perform(struct pgcdc_httpd *h)
{
    if (h)
        MHD_run(h->daemon);
}

void pgcdc_httpd_free(struct pgcdc_httpd **hp)
{
    if (hp == NULL || *hp == NULL)
        return;
    MHD_stop_daemon((*hp)->daemon);
    pgcdc_buf_free(&(*hp)->body);
    free(*hp);
    *hp = NULL;
}
