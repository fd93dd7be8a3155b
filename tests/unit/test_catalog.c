/*
 * test_catalog.c - the catalog reader while streaming: a connection that
 * has to be opened again is opened by the loop, never by a lookup that
 * waits, and connecting gives up on time with the connection's error.
 *
 * The server here is a listening socket that nobody accepts from: the
 * kernel completes the TCP handshake and the startup packet is never
 * answered, as with a server process that hangs.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "pgcdc/catalog.h"

/* Generous: a machine under load is slow, never this slow. */
#define BOUND_MS 60000

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A socket bound to a free port of 127.0.0.1, listening when listening;
 * *port gets the port. */
static int silent_server(int *port, bool listening)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    if (listening)
        cr_assert_eq(listen(fd, 8), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static struct pgcdc_catalog *streaming_catalog(int port, int timeout_ms)
{
    struct pgcdc_catalog *c;
    char dsn[160], err[256];

    snprintf(dsn, sizeof(dsn),
             "host=127.0.0.1 port=%d dbname=pgcdc user=pgcdc sslmode=disable "
             "gssencmode=disable",
             port);
    cr_assert_eq(pgcdc_catalog_new(&c, dsn, timeout_ms, NULL, err, sizeof(err)), 0, "%s", err);
    pgcdc_catalog_set_nonblocking(c, true);
    return c;
}

static int lookup(struct pgcdc_catalog *c, char *err, size_t errlen)
{
    char nsp[64], rel[64];

    return pgcdc_catalog_rel_name(c, 1259, nsp, sizeof(nsp), rel, sizeof(rel), err, errlen);
}

/* One pass of the loop: wait for the catalog as the loop would (at most
 * slice_ms), then let it move on. */
static void loop_pass(struct pgcdc_catalog *c, int slice_ms)
{
    struct pollfd pfd = {.fd = -1};
    int t = -1;

    if (pgcdc_catalog_pollfd(c, &pfd, &t) == 0)
        return;
    if (t >= 0 && t < slice_ms)
        slice_ms = t;
    poll(&pfd, 1, slice_ms);
    pgcdc_catalog_perform(c);
}

Test(catalog, a_lookup_does_not_wait_for_the_connection)
{
    int port, fd = silent_server(&port, true);
    /* Connecting may take ten minutes: a lookup that waited would hold
     * this test far beyond its bound. */
    struct pgcdc_catalog *c = streaming_catalog(port, 600000);
    struct pollfd pfd = {.fd = -1};
    char err[256] = "";
    int64_t t0 = now_ms();
    int t = -1;

    cr_assert_eq(lookup(c, err, sizeof(err)), -EINPROGRESS, "%s", err);
    cr_assert(pgcdc_catalog_busy(c));
    /* The loop gets the socket, what to wait for, and when to give up. */
    cr_assert_eq(pgcdc_catalog_pollfd(c, &pfd, &t), 1);
    cr_assert_geq(pfd.fd, 0);
    cr_assert(pfd.events & (POLLIN | POLLOUT));
    cr_assert(t > 0 && t <= 600000, "%d", t);
    for (int i = 0; i < 20; i++) {
        loop_pass(c, 10);
        cr_assert(pgcdc_catalog_busy(c));
        cr_assert_eq(lookup(c, err, sizeof(err)), -EINPROGRESS, "%s", err);
    }
    cr_assert_lt(now_ms() - t0, BOUND_MS);
    /* Given up (the message is dropped): nothing is asked any more once
     * the connection opens, and nothing waits meanwhile. */
    pgcdc_catalog_done(c);
    pgcdc_catalog_free(&c);
    cr_assert_null(c);
    close(fd);
}

Test(catalog, connecting_gives_up_after_the_connect_timeout)
{
    int port, fd = silent_server(&port, true);
    struct pgcdc_catalog *c = streaming_catalog(port, 300);
    char err[256] = "";
    int64_t t0 = now_ms();
    int rc;

    cr_assert_eq(lookup(c, err, sizeof(err)), -EINPROGRESS, "%s", err);
    /* The loop wakes for the deadline: no socket event comes. */
    while (pgcdc_catalog_busy(c) && now_ms() - t0 < BOUND_MS)
        loop_pass(c, BOUND_MS);
    cr_assert_not(pgcdc_catalog_busy(c));
    cr_assert_geq(now_ms() - t0, 300);
    rc = lookup(c, err, sizeof(err));
    cr_assert_eq(rc, -ETIMEDOUT, "%d: %s", rc, err);
    cr_assert_not_null(strstr(err, "cannot open the catalog connection: no answer within 300 ms"),
                       "%s", err);
    cr_assert_not_null(strstr(err, "database.connect.timeout.ms"), "%s", err);
    /* The error is handed over once; the next lookup tries again. */
    pgcdc_catalog_done(c);
    cr_assert_eq(lookup(c, err, sizeof(err)), -EINPROGRESS, "%s", err);
    pgcdc_catalog_free(&c);
    close(fd);
}

Test(catalog, a_refused_connection_keeps_its_class)
{
    int port, fd = silent_server(&port, false);
    struct pgcdc_catalog *c = streaming_catalog(port, 600000);
    char err[256] = "";
    int64_t t0 = now_ms();
    int rc;

    /* Bound but not listening: refused, at once or on the first pass. */
    rc = lookup(c, err, sizeof(err));
    while (rc == -EINPROGRESS && now_ms() - t0 < BOUND_MS) {
        loop_pass(c, 100);
        if (!pgcdc_catalog_busy(c))
            rc = lookup(c, err, sizeof(err));
    }
    cr_assert_eq(rc, -ECONNRESET, "%d: %s", rc, err);
    cr_assert_eq(strncmp(err, "cannot open the catalog connection: ", 36), 0, "%s", err);
    cr_assert_not(pgcdc_catalog_busy(c));
    pgcdc_catalog_free(&c);
    close(fd);
}
