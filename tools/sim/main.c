/*
 * main.c: strom-sim, the deterministic simulator's command (docs/simulation.md).
 *
 *   strom-sim --seed N [--ticks T] [--verbose] [--trace] [--no-faults]
 *       runs one seed; prints sim.result (and sim.fail with the last events when a check fails);
 *       --verbose echoes every process's log lines, --trace every event too
 *   strom-sim --seeds A-B [--jobs J] [--ticks T] [--stop-at-first]
 *       runs seeds A..B, each in a child process, J at a time; prints one sim.result line per
 *       seed that failed and a sim.summary line; --stop-at-first starts no seed after a failure
 *   --plant NAME (only in the build with -DSTROM_SIM_PLANTS): turns a planted bug on
 *
 * Exit codes (enum sim_result): 0 every seed passed, 1 usage, 2 a crash (an assertion in role
 * code or the simulator), 3 a correctness check failed, 4 liveness; with --seeds, the kind of the
 * first failing seed.
 *
 * The crash handler is the one place that keeps state outside a root struct: a signal handler can
 * reach nothing else. It prints the trace of the world that was running and exits with code 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/plant.h"
#include "sim/run.h"

#define SIM_JOBS_MAX 64

/* The world of the running seed and its number, for the crash handler only. */
static struct sim_world *volatile crash_world;
static volatile uint64_t crash_seed;

static void crash_handler(int sig) {
    fprintf(stderr, "sim.fail  seed:%" PRIu64 "  kind:crash  signal:%d\n", crash_seed, sig);
    if (crash_world) {
        sim_trace_dump(crash_world, stderr);
    }
    fprintf(stderr, "sim.result  seed:%" PRIu64 "  result:fail\n", crash_seed);
    fflush(stderr);
    _exit(SIM_RESULT_CRASH);
}

static void keep_world(struct sim_world *w, void *arg) {
    (void)arg;
    crash_world = w;
}

static void crash_handlers_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = crash_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGABRT, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
}

static int usage(void) {
    fprintf(stderr,
            "usage: strom-sim --seed N [--ticks T] [--verbose] [--trace] [--no-faults]%s\n"
            "       strom-sim --seeds A-B [--jobs J] [--ticks T] [--stop-at-first]%s\n"
            "  a tick is %u ns of simulated time; default %u ticks of faults\n",
            SIM_PLANTS_BUILT ? " [--plant NAME]" : "", SIM_PLANTS_BUILT ? " [--plant NAME]" : "",
            SIM_TICK_NS, SIM_TICKS_DEFAULT);
    if (SIM_PLANTS_BUILT) {
        fprintf(stderr, "  plants: %s\n", sim_plant_names());
    }
    return SIM_RESULT_USAGE;
}

static bool parse_u64(const char *s, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

struct args {
    bool one;
    bool stop_at_first; /* --seeds: start no more seeds once one failed */
    uint64_t seed_lo, seed_hi;
    uint64_t jobs;
    struct sim_options opt;
};

static bool parse_args(int argc, char **argv, struct args *a) {
    *a = (struct args){.jobs = 1};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (strcmp(arg, "--seed") == 0 && val) {
            ok = parse_u64(val, &a->seed_lo);
            a->seed_hi = a->seed_lo;
            a->one = true;
            i++;
        } else if (strcmp(arg, "--seeds") == 0 && val) {
            char lo[32];
            const char *dash = strchr(val, '-');
            ok = dash && (size_t)(dash - val) < sizeof lo;
            if (ok) {
                memcpy(lo, val, (size_t)(dash - val));
                lo[dash - val] = '\0';
                ok = parse_u64(lo, &a->seed_lo) && parse_u64(dash + 1, &a->seed_hi) &&
                     a->seed_lo <= a->seed_hi;
            }
            i++;
        } else if (strcmp(arg, "--jobs") == 0 && val) {
            ok = parse_u64(val, &a->jobs) && a->jobs >= 1 && a->jobs <= SIM_JOBS_MAX;
            i++;
        } else if (strcmp(arg, "--ticks") == 0 && val) {
            ok = parse_u64(val, &a->opt.ticks) && a->opt.ticks > 0;
            i++;
        } else if (strcmp(arg, "--plant") == 0 && val && SIM_PLANTS_BUILT) {
            ok = sim_plant_enable(val);
            i++;
        } else if (strcmp(arg, "--verbose") == 0) {
            a->opt.verbose = true;
        } else if (strcmp(arg, "--trace") == 0) {
            a->opt.trace = true;
        } else if (strcmp(arg, "--stop-at-first") == 0) {
            a->stop_at_first = true;
        } else if (strcmp(arg, "--no-faults") == 0) {
            a->opt.quiet_faults = true;
        } else {
            ok = false;
        }
        if (!ok) {
            fprintf(stderr, "strom-sim: bad argument %s%s%s\n", arg, val ? " " : "",
                    val ? val : "");
            return false;
        }
    }
    return a->seed_hi >= a->seed_lo && (a->one || a->seed_hi > 0 || a->seed_lo == 0);
}

static int run_one(struct args *a) {
    struct sim_report rep;
    a->opt.seed = a->seed_lo;
    a->opt.on_world = keep_world;
    crash_seed = a->seed_lo;
    enum sim_result r = sim_run_seed(&a->opt, &rep);
    crash_world = NULL;
    sim_report_print(stdout, &rep);
    return (int)r;
}

/* --- many seeds
 * ------------------------------------------------------------------------------------ */

struct job {
    pid_t pid;
    uint64_t seed;
    int fd; /* read end: the child's report */
};

/* In the child: runs seed, writes its report to fd, exits with its result. */
static void child_run(struct args *a, uint64_t seed, int fd) {
    struct sim_report rep;
    a->opt.seed = seed;
    a->opt.on_world = keep_world;
    crash_seed = seed;
    enum sim_result r = sim_run_seed(&a->opt, &rep);
    if (r != SIM_RESULT_PASS) {
        sim_report_print(stdout, &rep);
        fflush(stdout);
    }
    ssize_t n = write(fd, &rep, sizeof rep);
    _exit(n == (ssize_t)sizeof rep ? (int)r : SIM_RESULT_USAGE);
}

struct tally {
    uint64_t seeds, passed, kinds[5];
    uint64_t first_fail;
    bool any_fail;
    int first_kind;
    uint64_t messages, batches, sim_ns, node_crashes, role_crashes;
};

static void job_reap(struct job *j, struct tally *t) {
    struct sim_report rep;
    memset(&rep, 0, sizeof rep);
    ssize_t n = read(j->fd, &rep, sizeof rep);
    close(j->fd);
    int status = 0;
    while (waitpid(j->pid, &status, 0) < 0 && errno == EINTR) {
    }
    int kind = WIFEXITED(status) ? WEXITSTATUS(status) : SIM_RESULT_CRASH;
    if (kind < 0 || kind > SIM_RESULT_LIVENESS || (kind == 0 && n != (ssize_t)sizeof rep)) {
        kind = SIM_RESULT_CRASH;
    }
    t->seeds++;
    t->kinds[kind]++;
    t->passed += kind == SIM_RESULT_PASS;
    if (kind != SIM_RESULT_PASS && (!t->any_fail || j->seed < t->first_fail)) {
        t->any_fail = true;
        t->first_fail = j->seed;
        t->first_kind = kind;
    }
    if (n == (ssize_t)sizeof rep) {
        t->messages += rep.messages_acked;
        t->batches += rep.batches_acked;
        t->sim_ns += rep.sim_ns;
        t->node_crashes += rep.node_crashes;
        t->role_crashes += rep.role_crashes;
    }
}

static int run_many(struct args *a) {
    struct job jobs[SIM_JOBS_MAX];
    uint32_t running = 0;
    struct tally t = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fflush(stdout);
    for (uint64_t seed = a->seed_lo;
         (seed <= a->seed_hi && !(a->stop_at_first && t.any_fail)) || running > 0;) {
        if (seed <= a->seed_hi && running < a->jobs && !(a->stop_at_first && t.any_fail)) {
            int fds[2];
            if (pipe(fds) != 0) {
                perror("strom-sim: pipe");
                return SIM_RESULT_USAGE;
            }
            pid_t pid = fork();
            if (pid == 0) {
                close(fds[0]);
                child_run(a, seed, fds[1]);
            }
            close(fds[1]);
            jobs[running++] = (struct job){.pid = pid, .seed = seed, .fd = fds[0]};
            seed++;
            continue;
        }
        job_reap(&jobs[0], &t); /* the oldest: seeds end roughly in order */
        memmove(&jobs[0], &jobs[1], (running - 1) * sizeof jobs[0]);
        running--;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* CPU time of the seeds' processes: on a shared machine wall time also counts waiting for a
     * core, so appends per CPU second is what one free core would do per wall second. */
    struct rusage ru;
    double cpu = 0;
    if (getrusage(RUSAGE_CHILDREN, &ru) == 0) {
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    }
    printf("sim.summary  seeds:%" PRIu64 "  passed:%" PRIu64 "  failed:%" PRIu64 "  crash:%" PRIu64
           "  correctness:%" PRIu64 "  liveness:%" PRIu64 "  first_failure:%s",
           t.seeds, t.passed, t.seeds - t.passed, t.kinds[SIM_RESULT_CRASH],
           t.kinds[SIM_RESULT_CORRECTNESS], t.kinds[SIM_RESULT_LIVENESS], t.any_fail ? "" : "none");
    if (t.any_fail) {
        printf("%" PRIu64, t.first_fail);
    }
    printf("  wall_s:%.1f  cpu_s:%.1f  sim_s:%.1f  appends:%" PRIu64 "  messages:%" PRIu64
           "  appends_per_wall_s:%.0f  appends_per_cpu_s:%.0f  node_crashes:%" PRIu64
           "  role_crashes:%" PRIu64 "\n",
           wall, cpu, (double)t.sim_ns / 1e9, t.batches, t.messages, (double)t.batches / wall,
           cpu > 0 ? (double)t.batches / cpu : 0, t.node_crashes, t.role_crashes);
    return t.any_fail ? t.first_kind : SIM_RESULT_PASS;
}

int main(int argc, char **argv) {
    struct args a;
    if (argc < 2 || !parse_args(argc, argv, &a)) {
        return usage();
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    crash_handlers_install();
    return a.one ? run_one(&a) : run_many(&a);
}
