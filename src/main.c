/*
 * main.c - pgcdc's command line: options, signals, wiring.
 *
 *   pgcdc run -c FILE [-o key=value]... [--log-format text|json]
 *   pgcdc config -c FILE [-o key=value]... [--log-format text|json]
 *   pgcdc check -c FILE [-o key=value]... [--log-format text|json]
 *   pgcdc drop -c FILE [-o key=value]... [--yes] [--log-format text|json]
 *   pgcdc status -c FILE [-o key=value]... [--log-format text|json]
 *   pgcdc snapshot -c FILE [-o key=value]... TABLE|stop-snapshot|pause-snapshot|resume-snapshot...
 *   pgcdc --version | --help
 *
 * The only file that exits. SIGINT and SIGTERM set a flag; the pipeline then
 * delivers what it has received, confirms that position and returns, and
 * pgcdc exits 0. SIGHUP is logged and otherwise ignored, as daemons do: the
 * log goes to stderr, so there is nothing to reopen. A fatal error prints
 * one line on stderr (a JSON log line with log.format = json) and exits 1; a usage error exits 2, and a configuration
 * error, or any error a person must fix (privileges, wal_level, a dropped
 * slot or publication, a position that does not match the server) 78
 * (EX_CONFIG), which the systemd unit does not restart. Signal handlers only
 * set flags.
 *
 * check prints its report on stdout and exits 1 when a line says FAIL. drop
 * asks on the terminal before it drops anything; without one it needs --yes
 * (exit 2 otherwise), and exits 1 when declined, refused or failed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgcdc/check.h"
#include "pgcdc/config.h"
#include "pgcdc/drop.h"
#include "pgcdc/error.h"
#include "pgcdc/log.h"
#include "pgcdc/pipeline.h"
#include "pgcdc/status.h"
#include "pgcdc_config.h"

/* sysexits.h's EX_CONFIG: the configuration is wrong. */
#define EXIT_CONFIG 78

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t hup_received;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        hup_received = 1;
    else
        stop_requested = 1;
}

/* Prints a fatal error: "pgcdc: ..." on stderr, or a JSON log line when
 * the log format is json, so that every line a collector reads parses. */
static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (pgcdc_log_get_format() == PGCDC_LOG_FORMAT_JSON) {
        pgcdc_logv(PGCDC_LOG_ERROR, fmt, ap);
    } else {
        fputs("pgcdc: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
    }
    va_end(ap);
}

static void usage(FILE *out)
{
    fprintf(out,
            "pgcdc %s - PostgreSQL change data capture to Kafka\n"
            "\n"
            "Usage:\n"
            "  pgcdc run -c FILE [-o key=value]...   stream changes as the configuration says\n"
            "  pgcdc config -c FILE [-o key=value]... print the effective configuration\n"
            "  pgcdc check -c FILE [-o key=value]...  check that the database, the role, the\n"
            "                                        tables and Kafka are ready (changes nothing)\n"
            "  pgcdc drop -c FILE [-o key=value]... [--yes]\n"
            "                                        drop pgcdc's replication slot and the\n"
            "                                        publication it created, after a confirmation\n"
            "  pgcdc status -c FILE [-o key=value]... report the slot, the positions, the lag,\n"
            "                                        the retained WAL and the topics (read-only,\n"
            "                                        whether pgcdc runs or not)\n"
            "  pgcdc snapshot -c FILE TABLE...       ask the running pgcdc to read tables again\n"
            "                                        while it streams (incremental snapshot);\n"
            "                                        or stop-snapshot, pause-snapshot,\n"
            "                                        resume-snapshot\n"
            "  pgcdc -V, --version                   print the version\n"
            "  pgcdc -h, --help                      print this help\n"
            "\n"
            "Options:\n"
            "  -c, --config FILE      configuration file (key = value lines)\n"
            "  -o, --option KEY=VALUE set a key, overriding the file (repeatable)\n"
            "  -y, --yes              drop: do not ask for a confirmation\n"
            "      --log-format FMT   text or json (one object per line); overrides log.format\n"
            "\n"
            "Every key is documented in pgcdc.conf and in pgcdc(1). SIGINT or SIGTERM stop pgcdc\n"
            "after it has delivered and confirmed what it received; SIGHUP is logged and\n"
            "ignored.\n"
            "Exit status: 0 after a stop, 1 on an error a restart may cure, 2 on a usage\n"
            "error, 78 when a person must act (configuration, privileges, server setup,\n"
            "a dropped slot or publication, a stored position the server does not match).\n"
            "pgcdc check exits 0 when no line says FAIL, 1 when one does; pgcdc drop exits 0\n"
            "once it dropped what it found (or found nothing), 1 when it was declined,\n"
            "refused or failed, 2 when it cannot ask (no terminal and no --yes); pgcdc status\n"
            "exits 0 once it has read the database, 1 when it cannot.\n",
            PGCDC_VERSION);
}

static int install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGHUP, &sa, NULL) != 0)
        return -errno;
    /* A closed stdout shows up as a write error, not a silent death. */
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return -errno;
    return 0;
}

/* Reads -c, -o and --log-format into cfg, and --yes into *yes when the
 * command takes it (yes not NULL). Returns 0, or an exit code after printing
 * the problem. */
static int load_config(struct pgcdc_config *cfg, int argc, char **argv, bool *yes, int *rest)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"option", required_argument, NULL, 'o'},
        {"yes", no_argument, NULL, 'y'},
        {"log-format", required_argument, NULL, 'L'},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL, *log_format = NULL;
    char err[1024];
    int c;

    /* Files first, then overrides, then --log-format: scan twice so the
     * order on the command line does not matter. */
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:y", longopts, NULL)) != -1) {
        if (c == 'c')
            file = optarg;
        else if (c == 'y' && yes != NULL)
            *yes = true;
        else if (c == 'L')
            log_format = optarg;
        else if (c != 'o') {
            usage(stderr);
            return 2;
        }
    }
    if (log_format != NULL) {
        if (strcmp(log_format, "json") == 0) {
            /* at once, so that the errors below are JSON too */
            pgcdc_log_set_format(PGCDC_LOG_FORMAT_JSON);
        } else if (strcmp(log_format, "text") != 0) {
            fail("--log-format: expected text or json, not '%s'", log_format);
            return 2;
        }
    }
    if (rest != NULL)
        *rest = optind;
    else if (optind < argc) {
        fail("unexpected argument '%s'", argv[optind]);
        return 2;
    }
    if (file == NULL) {
        fail("no configuration file: use -c FILE");
        return 2;
    }
    if (pgcdc_config_load_file(cfg, file, err, sizeof(err)) < 0) {
        fail("%s", err);
        return EXIT_CONFIG;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:y", longopts, NULL)) != -1) {
        if (c == 'o' && pgcdc_config_set_option(cfg, optarg, err, sizeof(err)) < 0) {
            fail("-o %s: %s", optarg, err);
            return EXIT_CONFIG;
        }
    }
    if (log_format != NULL && pgcdc_config_set(cfg, "log.format", log_format, err, sizeof(err)) < 0) {
        fail("--log-format: %s", err);
        return 2;
    }
    pgcdc_log_set_format(cfg->log_format);
    if (pgcdc_config_validate(cfg, err, sizeof(err)) < 0 ||
        pgcdc_pipeline_check_kafka(cfg, err, sizeof(err)) < 0) {
        fail("%s: %s", file, err);
        return EXIT_CONFIG;
    }
    return 0;
}

static int cmd_run(struct pgcdc_config *cfg)
{
    struct pgcdc_pipeline *p = NULL;
    char err[1024];
    int rc;

    pgcdc_log_set_level(cfg->log_level);
    if (install_signals() < 0) {
        fail("cannot install signal handlers: %s", strerror(errno));
        return 1;
    }
    rc = pgcdc_pipeline_new(&p, cfg, &stop_requested, err, sizeof(err));
    if (rc < 0) {
        pgcdc_log_error("%s", err);
        return rc == -PGCDC_ECONFIG ? EXIT_CONFIG : 1;
    }
    pgcdc_log_info("pgcdc %s starting: topic prefix '%s', sink %s, format %s", PGCDC_VERSION,
                   cfg->topic_prefix, cfg->sink == PGCDC_CONFIG_SINK_KAFKA ? "kafka" : "stdout",
                   cfg->format == PGCDC_CONFIG_FORMAT_AVRO ? "avro" : "json");
    pgcdc_pipeline_set_hup(p, &hup_received);
    /* The pipeline logs its own fatal error, before its summary line. */
    rc = pgcdc_pipeline_run(p, err, sizeof(err));
    if (rc < 0)
        rc = pgcdc_pipeline_needs_person(p) ? EXIT_CONFIG : 1;
    pgcdc_pipeline_free(&p);
    return rc;
}

static void print_line(void *arg, const struct pgcdc_check_line *line)
{
    int *counts = arg;

    counts[line->status]++;
    pgcdc_check_print(line, stdout);
    fflush(stdout);
}

static int cmd_check(const struct pgcdc_config *cfg)
{
    int counts[3] = {0, 0, 0};
    char err[256];
    int rc;

    pgcdc_log_set_level(PGCDC_LOG_ERROR);
    rc = pgcdc_check_run(cfg, print_line, counts, err, sizeof(err));
    if (rc < 0) {
        fail("check: %s", err);
        return 1;
    }
    printf("%d OK, %d WARN, %d FAIL\n", counts[PGCDC_CHECK_OK], counts[PGCDC_CHECK_WARN],
           counts[PGCDC_CHECK_FAIL]);
    return rc > 0 ? 1 : 0;
}

static int cmd_status(const struct pgcdc_config *cfg)
{
    char err[1024];

    pgcdc_log_set_level(PGCDC_LOG_ERROR);
    if (pgcdc_status_print(cfg, stdout, err, sizeof(err)) < 0) {
        fflush(stdout);
        fail("status: %s", err);
        return 1;
    }
    return 0;
}

/* Asks on the terminal; true for an answer starting with y or Y. */
static bool confirm(const char *question)
{
    char answer[16];

    printf("%s [y/N] ", question);
    fflush(stdout);
    if (fgets(answer, sizeof(answer), stdin) == NULL)
        return false;
    return answer[0] == 'y' || answer[0] == 'Y';
}

static int cmd_drop(const struct pgcdc_config *cfg, bool yes)
{
    struct pgcdc_drop *d = NULL;
    char err[1024];
    int rc;

    if (!yes && !isatty(STDIN_FILENO)) {
        fail("drop: standard input is not a terminal, so nobody can confirm: "
             "run it on a terminal, or add --yes; nothing was dropped");
        return 2;
    }
    pgcdc_log_set_level(PGCDC_LOG_ERROR);
    rc = pgcdc_drop_prepare(&d, cfg, stdout, err, sizeof(err));
    if (rc < 0) {
        fail("drop: %s", err);
        return rc == -EACCES ? EXIT_CONFIG : 1;
    }
    if (!pgcdc_drop_has_work(d)) {
        printf("nothing to drop\n");
        pgcdc_drop_free(&d);
        return 0;
    }
    if (!yes && !confirm("Drop what is listed above?")) {
        printf("nothing was dropped\n");
        pgcdc_drop_free(&d);
        return 1;
    }
    rc = pgcdc_drop_execute(d, stdout, err, sizeof(err));
    pgcdc_drop_free(&d);
    if (rc < 0) {
        fail("drop: %s", err);
        return 1;
    }
    return 0;
}

/* Asks the running pgcdc to read tables again (incremental snapshots). */
static int cmd_snapshot(const struct pgcdc_config *cfg, int n, const char *const *args)
{
    char err[1024];

    if (n == 0) {
        fail("snapshot: name the tables to read again (schema.table)");
        return 2;
    }
    if (pgcdc_pipeline_request(cfg, args, n, 30000, err, sizeof(err)) < 0) {
        fail("snapshot: %s", err);
        return 1;
    }
    printf("requested; the running pgcdc logs the snapshot's progress\n");
    return 0;
}

int main(int argc, char **argv)
{
    struct pgcdc_config *cfg = NULL;
    bool yes = false;
    int rest = 0;
    char err[256];
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("pgcdc %s\n", PGCDC_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "config") != 0 &&
        strcmp(argv[1], "check") != 0 && strcmp(argv[1], "drop") != 0 &&
        strcmp(argv[1], "status") != 0 && strcmp(argv[1], "snapshot") != 0) {
        fail("unknown command '%s' (try 'pgcdc --help')", argv[1]);
        return 2;
    }
    if (pgcdc_config_new(&cfg, err, sizeof(err)) < 0) {
        fail("%s", err);
        return 1;
    }
    rc = load_config(cfg, argc - 1, argv + 1, strcmp(argv[1], "drop") == 0 ? &yes : NULL,
                     strcmp(argv[1], "snapshot") == 0 ? &rest : NULL);
    if (rc == 0) {
        if (strcmp(argv[1], "config") == 0)
            rc = pgcdc_config_dump(cfg, stdout) < 0 ? 1 : 0;
        else if (strcmp(argv[1], "check") == 0)
            rc = cmd_check(cfg);
        else if (strcmp(argv[1], "drop") == 0)
            rc = cmd_drop(cfg, yes);
        else if (strcmp(argv[1], "status") == 0)
            rc = cmd_status(cfg);
        else if (strcmp(argv[1], "snapshot") == 0)
            rc = cmd_snapshot(cfg, argc - 1 - rest, (const char *const *)argv + 1 + rest);
        else
            rc = cmd_run(cfg);
    }
    pgcdc_config_free(cfg);
    return rc;
}
