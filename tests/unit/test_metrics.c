/*
 * test_metrics.c - Prometheus' text exposition format as /metrics writes
 * it: escaping of help texts and label values, histogram buckets, the
 * commit-to-acknowledgement lag, readiness's stall clock, and
 * metrics.listen's parsing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "pgcdc/config.h"
#include "pgcdc/metrics.h"

Test(metrics, label_values_escape_backslash_quote_and_newline)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    const char *labels[] = {"table", "a\\b\"c\nd", "op", "c", NULL};

    cr_assert_eq(pgcdc_expo_sample_uint(&b, "pgcdc_events_total", labels, 42), 0);
    cr_assert_str_eq(b.data, "pgcdc_events_total{table=\"a\\\\b\\\"c\\nd\",op=\"c\"} 42\n");
    pgcdc_buf_free(&b);
}

Test(metrics, help_escapes_backslash_and_newline_but_not_quotes)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;

    cr_assert_eq(pgcdc_expo_family(&b, "x_total", "counter", "a \"b\" c\\d\ne"), 0);
    cr_assert_str_eq(b.data, "# HELP x_total a \"b\" c\\\\d\\ne\n# TYPE x_total counter\n");
    pgcdc_buf_free(&b);
}

Test(metrics, sample_without_labels_and_special_floats)
{
    struct pgcdc_buf b = PGCDC_BUF_INIT;

    cr_assert_eq(pgcdc_expo_sample_double(&b, "g", NULL, 0.5), 0);
    cr_assert_eq(pgcdc_expo_sample_double(&b, "g", NULL, -1), 0);
    cr_assert_eq(pgcdc_expo_sample_double(&b, "g", NULL, 1.0 / 0.0), 0);
    cr_assert_str_eq(b.data, "g 0.5\ng -1\ng +Inf\n");
    pgcdc_buf_free(&b);
}

Test(metrics, histogram_buckets_are_cumulative_with_le_and_inf)
{
    static const double bounds[] = {0.1, 1, 2.5};
    struct pgcdc_hist h = {.bounds = bounds, .nbounds = 3};
    struct pgcdc_buf b = PGCDC_BUF_INIT;

    pgcdc_hist_observe(&h, 0.05);
    pgcdc_hist_observe(&h, 0.1); /* on the bound: in le="0.1" */
    pgcdc_hist_observe(&h, 2);
    pgcdc_hist_observe(&h, 7);
    cr_assert_eq(pgcdc_expo_histogram(&b, "lag_seconds", "Lag", &h), 0);
    cr_assert_str_eq(b.data, "# HELP lag_seconds Lag\n"
                             "# TYPE lag_seconds histogram\n"
                             "lag_seconds_bucket{le=\"0.1\"} 2\n"
                             "lag_seconds_bucket{le=\"1\"} 2\n"
                             "lag_seconds_bucket{le=\"2.5\"} 3\n"
                             "lag_seconds_bucket{le=\"+Inf\"} 4\n"
                             "lag_seconds_sum 9.1500000000000004\n"
                             "lag_seconds_count 4\n");
    pgcdc_buf_free(&b);
}

Test(metrics, lag_is_observed_for_known_transactions_only)
{
    static struct pgcdc_metrics m;

    pgcdc_metrics_init(&m);
    pgcdc_metrics_txn_begin(&m, 7, 1000000);
    pgcdc_metrics_acked(&m, 7, 1250000);
    pgcdc_metrics_acked(&m, 8, 1250000); /* never began: not observed */
    /* A handle that reuses the ring's slot replaces the older one. */
    pgcdc_metrics_acked(&m, 7 + PGCDC_METRICS_TXN_RING, 1250000);
    cr_assert_eq(m.lag.count, 1);
    cr_assert_float_eq(m.lag.sum, 0.25, 1e-9);
}

Test(metrics, stall_clock_runs_only_while_the_server_is_ahead_and_nothing_moves)
{
    static struct pgcdc_metrics m;

    pgcdc_metrics_init(&m);
    cr_assert_eq(pgcdc_metrics_stalled_us(&m, 100, 100, 1000), 0);
    /* Caught up: no stall however long. */
    cr_assert_eq(pgcdc_metrics_stalled_us(&m, 100, 100, 9000), 0);
    /* The server moved on; the clock starts at the last progress. */
    cr_assert_eq(pgcdc_metrics_stalled_us(&m, 100, 200, 10000), 1000);
    cr_assert_eq(pgcdc_metrics_stalled_us(&m, 100, 300, 20000), 11000);
    /* The confirmed position moved: progress. */
    cr_assert_eq(pgcdc_metrics_stalled_us(&m, 150, 300, 21000), 0);
    cr_assert_eq(pgcdc_metrics_stalled_us(&m, 150, 300, 25000), 4000);
}

Test(metrics, render_names_every_family_once_with_help_and_type)
{
    static struct pgcdc_metrics m;
    struct pgcdc_metrics_view v = {.version = "1.2", .slot = "s\"1", .sink = "kafka",
                                   .connected = true, .confirmed = 16, .window = 5};
    struct pgcdc_buf b = PGCDC_BUF_INIT;
    const char *families[] = {"pgcdc_events_total", "pgcdc_transactions_total",
                              "pgcdc_commit_to_ack_lag_seconds", "pgcdc_slot_retained_wal_bytes",
                              "pgcdc_slot_wal_status", "pgcdc_snapshot_rows_total",
                              "pgcdc_confirmed_lsn", "pgcdc_registry_errors_total"};

    pgcdc_metrics_init(&m);
    cr_assert_eq(pgcdc_metrics_render(&m, &v, &b), 0);
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        char help[128], type[128];

        snprintf(help, sizeof(help), "# HELP %s ", families[i]);
        snprintf(type, sizeof(type), "# TYPE %s ", families[i]);
        cr_assert_not_null(strstr(b.data, help), "%s", families[i]);
        cr_assert_null(strstr(strstr(b.data, help) + 1, help), "%s twice", families[i]);
        cr_assert_not_null(strstr(b.data, type), "%s", families[i]);
    }
    cr_assert_not_null(strstr(b.data, "pgcdc_build_info{version=\"1.2\",slot=\"s\\\"1\","
                                      "sink=\"kafka\"} 1\n"));
    cr_assert_not_null(strstr(b.data, "\npgcdc_confirmed_lsn 16\n"));
    cr_assert_not_null(strstr(b.data, "\npgcdc_sink_window_events 5\n"));
    cr_assert_not_null(strstr(b.data, "\npgcdc_slot_retained_wal_bytes -1\n"));
    cr_assert_eq(b.data[b.len - 1], '\n');
    pgcdc_buf_free(&b);
}

Test(metrics, listen_address_forms)
{
    char host[64], err[256];
    unsigned port = 0;

    cr_assert_eq(pgcdc_config_parse_listen("127.0.0.1:9187", host, sizeof(host), &port, err,
                                           sizeof(err)),
                 0);
    cr_assert_str_eq(host, "127.0.0.1");
    cr_assert_eq(port, 9187);
    cr_assert_eq(pgcdc_config_parse_listen("[::1]:80", host, sizeof(host), &port, err,
                                           sizeof(err)),
                 0);
    cr_assert_str_eq(host, "::1");
    cr_assert_eq(port, 80);
    cr_assert_eq(pgcdc_config_parse_listen(":9187", host, sizeof(host), &port, err, sizeof(err)),
                 0);
    cr_assert_str_eq(host, "");
    cr_assert_eq(pgcdc_config_parse_listen("localhost", host, sizeof(host), &port, err,
                                           sizeof(err)),
                 -EINVAL);
    cr_assert_eq(pgcdc_config_parse_listen("h:0", host, sizeof(host), &port, err, sizeof(err)),
                 -EINVAL);
    cr_assert_eq(pgcdc_config_parse_listen("h:65536", host, sizeof(host), &port, err,
                                           sizeof(err)),
                 -EINVAL);
    cr_assert_eq(pgcdc_config_parse_listen("h:9x", host, sizeof(host), &port, err, sizeof(err)),
                 -EINVAL);
    cr_assert_not_null(strstr(err, "'h:9x' is not host:port"));
}
