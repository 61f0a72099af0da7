/*
 * main.c: the strom-bench command.
 *
 *   strom-bench run --system S --workload W --row memory|disk [--server HOST:PORT]
 *                   [--label NAME] [--workloads FILE] [--quick] [--setup-timeout-s N] [--check]
 *       runs one workload against one system and prints its bench.run record and a summary;
 *       --label names the system in the results (default: the driver's name; "strom-kafka" for
 *       the Kafka driver pointed at strom); --check exits 1 unless every message was
 *       acknowledged and delivered exactly as sent.
 *   strom-bench list [--workloads FILE]
 *       prints "name row" for each workload, in file order (for scripts).
 *   strom-bench report [--plots DIR] FILE...
 *       reads bench.run records and prints bench.result lines and the side-by-side tables.
 *   strom-bench free-port
 *       prints a TCP port that is free on 127.0.0.1 now (for scripts starting servers).
 *   strom-bench systems
 *       prints the name of each driver compiled in, one per line.
 *
 * Exit status: 0 on success; 1 when a run could not be carried or failed its check; 2 on a
 * usage or input error.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/assert.h"
#include "harness.h"

enum {
    MAIN_SETUP_TIMEOUT_S_DEFAULT = 20,
    MAIN_DRAIN_S = 5,       /* drain time of a run */
    MAIN_QUICK_DRAIN_S = 1, /* drain time under --quick */
    MAIN_SETUP_TIMEOUT_S_MAX = 3600,
    MAIN_REPORT_FILES_MAX = 64,
};

static const char usage[] =
    "usage: strom-bench run --system strom|kafka|nats|redis --workload NAME --row memory|disk\n"
    "                       [--server HOST:PORT] [--label NAME] [--workloads FILE] [--quick]\n"
    "                       [--setup-timeout-s N] [--check]\n"
    "       strom-bench list [--workloads FILE]\n"
    "       strom-bench report [--plots DIR] FILE...\n"
    "       strom-bench free-port\n"
    "       strom-bench systems\n";

/* The options of `run`. */
struct main_run_args {
    const char *system;
    const char *workload;
    const char *row;
    const char *server;
    const char *workloads_path;
    const char *label;
    bool quick;
    bool check;
    uint64_t setup_timeout_s;
};

static int fail_usage(const char *why) {
    fprintf(stderr, "strom-bench: %s\n%s", why, usage);
    return 2;
}

/* Splits "host:port" into plan->host and plan->port. */
static bool parse_server(const char *server, struct bench_plan *plan) {
    const char *colon = strrchr(server, ':');
    if (colon == NULL || colon == server || (size_t)(colon - server) >= sizeof plan->host) {
        return false;
    }
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port == 0 || port > 65535) {
        return false;
    }
    memcpy(plan->host, server, (size_t)(colon - server));
    plan->host[colon - server] = '\0';
    plan->port = (uint16_t)port;
    return true;
}

static int parse_run_args(int argc, char **argv, struct main_run_args *a) {
    a->workloads_path = "bench/workloads.ssim";
    a->setup_timeout_s = MAIN_SETUP_TIMEOUT_S_DEFAULT;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(arg, "--quick") == 0) {
            a->quick = true;
        } else if (strcmp(arg, "--check") == 0) {
            a->check = true;
        } else if (next == NULL) {
            return fail_usage("an option lacks its value, or is unknown");
        } else if (strcmp(arg, "--system") == 0) {
            a->system = argv[++i];
        } else if (strcmp(arg, "--workload") == 0) {
            a->workload = argv[++i];
        } else if (strcmp(arg, "--label") == 0) {
            a->label = argv[++i];
        } else if (strcmp(arg, "--row") == 0) {
            a->row = argv[++i];
        } else if (strcmp(arg, "--server") == 0) {
            a->server = argv[++i];
        } else if (strcmp(arg, "--workloads") == 0) {
            a->workloads_path = argv[++i];
        } else if (strcmp(arg, "--setup-timeout-s") == 0) {
            a->setup_timeout_s = strtoull(argv[++i], NULL, 10);
            if (a->setup_timeout_s == 0 || a->setup_timeout_s > MAIN_SETUP_TIMEOUT_S_MAX) {
                return fail_usage("--setup-timeout-s must be 1..3600");
            }
        } else {
            return fail_usage("unknown option");
        }
    }
    if (a->system == NULL || a->workload == NULL || a->row == NULL) {
        return fail_usage("run needs --system, --workload and --row");
    }
    return 0;
}

/* True when every message sent was acknowledged and delivered once to each of its readers. */
static bool run_checks_out(const struct bench_result *r) {
    return r->ok && r->sent_count > 0 && r->acked_count == r->sent_count && r->refused_count == 0 &&
           r->delivered_count == r->expected_count && r->bad_payload_count == 0 &&
           r->order_error_count == 0;
}

static int cmd_run(int argc, char **argv) {
    struct main_run_args a = {0};
    int rc = parse_run_args(argc, argv, &a);
    if (rc != 0) {
        return rc;
    }
    const struct bench_driver *driver = bench_driver_find(a.system);
    if (driver == NULL) {
        return fail_usage("unknown --system");
    }
    if (strcmp(a.row, "memory") != 0 && strcmp(a.row, "disk") != 0) {
        return fail_usage("--row must be memory or disk");
    }
    static struct bench_workload_set set;
    struct bench_diag diag = {{0}};
    if (bench_workloads_load(a.workloads_path, &set, &diag) != STROM_OK) {
        fprintf(stderr, "strom-bench: %s\n", diag.text);
        return 2;
    }
    const struct bench_workload *w = bench_workload_find(
        &set, a.workload,
        strcmp(a.row, "disk") == 0 ? BENCH_DURABILITY_DISK : BENCH_DURABILITY_MEMORY);
    if (w == NULL) {
        fprintf(stderr, "strom-bench: no workload %s in the %s row of %s\n", a.workload, a.row,
                a.workloads_path);
        return 2;
    }
    struct bench_plan plan = {.workload = w};
    snprintf(plan.system, sizeof plan.system, "%s", driver->system);
    snprintf(plan.label, sizeof plan.label, "%s", a.label ? a.label : driver->system);
    snprintf(plan.host, sizeof plan.host, "127.0.0.1");
    plan.port = driver->default_port;
    if (a.server != NULL && !parse_server(a.server, &plan)) {
        return fail_usage("--server must be HOST:PORT");
    }
    /* Stream names unique to this run, so that runs against one server never share a stream. */
    snprintf(plan.prefix, sizeof plan.prefix, "sb-%s-%x", w->name,
             (unsigned)(bench_now_ns() / 1000000u) ^ (unsigned)getpid());
    plan.duration_ns = a.quick ? w->quick_duration_ns : w->duration_ns;
    plan.warmup_ns = a.quick ? w->quick_warmup_ns : w->warmup_ns;
    plan.setup_timeout_ns = a.setup_timeout_s * 1000000000u;
    plan.drain_ns = (a.quick ? MAIN_QUICK_DRAIN_S : MAIN_DRAIN_S) * 1000000000ull;

    struct bench_result *res = calloc(1, sizeof *res);
    if (res == NULL || bench_run(driver, &plan, res) != STROM_OK) {
        fprintf(stderr, "strom-bench: the harness could not run (memory or fork)\n");
        free(res);
        return 2;
    }
    bench_result_print_ssim(res, stdout);
    bench_result_print_line(res, stdout);
    rc = res->ok ? 0 : 1;
    if (a.check && !run_checks_out(res)) {
        printf("strom-bench: check failed: sent %llu acked %llu refused %llu expected %llu "
               "delivered %llu bad %llu order errors %llu\n",
               (unsigned long long)res->sent_count, (unsigned long long)res->acked_count,
               (unsigned long long)res->refused_count, (unsigned long long)res->expected_count,
               (unsigned long long)res->delivered_count, (unsigned long long)res->bad_payload_count,
               (unsigned long long)res->order_error_count);
        rc = 1;
    }
    free(res);
    return rc;
}

static int cmd_list(int argc, char **argv) {
    const char *path = "bench/workloads.ssim";
    if (argc == 4 && strcmp(argv[2], "--workloads") == 0) {
        path = argv[3];
    } else if (argc != 2) {
        return fail_usage("list takes only --workloads FILE");
    }
    static struct bench_workload_set set;
    struct bench_diag diag = {{0}};
    if (bench_workloads_load(path, &set, &diag) != STROM_OK) {
        fprintf(stderr, "strom-bench: %s\n", diag.text);
        return 2;
    }
    for (uint32_t i = 0; i < set.count; i++) {
        printf("%s %s\n", set.items[i].name, bench_durability_name(set.items[i].durability));
    }
    return 0;
}

static int cmd_report(int argc, char **argv) {
    const char *plots = NULL;
    const char *files[MAIN_REPORT_FILES_MAX];
    uint32_t count = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--plots") == 0 && i + 1 < argc) {
            plots = argv[++i];
        } else if (count < MAIN_REPORT_FILES_MAX) {
            files[count++] = argv[i];
        } else {
            return fail_usage("too many files");
        }
    }
    if (count == 0) {
        return fail_usage("report needs at least one file");
    }
    struct bench_diag diag = {{0}};
    if (bench_report(files, count, plots, stdout, &diag) != STROM_OK) {
        fprintf(stderr, "strom-bench: %s\n", diag.text);
        return 2;
    }
    return 0;
}

/* Binds 127.0.0.1:0 and prints the port the kernel chose. */
static int cmd_free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = 1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0) {
        printf("%u\n", ntohs(sa.sin_port));
        rc = 0;
    } else {
        perror("strom-bench: free-port");
    }
    if (fd >= 0) {
        close(fd);
    }
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        return fail_usage("no command");
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[1], "run") == 0) {
        return cmd_run(argc, argv);
    }
    if (strcmp(argv[1], "list") == 0) {
        return cmd_list(argc, argv);
    }
    if (strcmp(argv[1], "report") == 0) {
        return cmd_report(argc, argv);
    }
    if (strcmp(argv[1], "free-port") == 0 && argc == 2) {
        return cmd_free_port();
    }
    if (strcmp(argv[1], "systems") == 0 && argc == 2) {
        for (uint32_t i = 0; i < bench_driver_count; i++) {
            printf("%s\n", bench_drivers[i]->system);
        }
        return 0;
    }
    return fail_usage("unknown command");
}
