/*
 * run.h: one simulation run from a seed: a node, its clients, faults and the checks.
 *
 * The seed decides everything (swarm testing): the node's configuration (gateways, commits, fsync
 * policy, window, ring sizes), the workload (producers, subscribers, readers, streams, batch
 * sizes, sync share, duplicated and reordered retries), the latencies, and which faults happen at
 * what rates (role crashes, node crashes with each disk crash mode, connection resets and drops, a
 * full disk, failed fdatasyncs and pwrites, bit flips on read). Some seeds get few faults, some
 * many.
 *
 * Phases: faults for `ticks` microseconds of simulated time (1 tick = 1 us); then faults stop
 * (the disk has room again, crashed processes come back) and producers make no new batches; the
 * run must then settle within SIM_SETTLE_NS: every append answered, every subscriber at its
 * watermark, everything durable (check 5, liveness); then a final read of every stream is checked
 * against the model. The first violation stops the run.
 */
#ifndef STROM_SIM_RUN_H
#define STROM_SIM_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/check.h"
#include "sim/sim.h"

#define SIM_TICK_NS       1000u
#define SIM_TICKS_DEFAULT 1000000u     /* one simulated second of faults */
#define SIM_SETTLE_NS     20000000000u /* 20 s of simulated time to settle */
#define SIM_SLICE_RUN_NS  1000000u     /* the run looks at the checks every 1 ms */
#define SIM_SPIN_LIMIT_NS 100000u      /* 100 us of preemptions in a row (2 M io calls unblocked) */

/* Process exit codes of strom-sim, one per kind of result. */
enum sim_result {
    SIM_RESULT_PASS = 0,
    SIM_RESULT_USAGE = 1,       /* bad arguments or setup */
    SIM_RESULT_CRASH = 2,       /* a process (role code or the simulator) crashed: an assertion */
    SIM_RESULT_CORRECTNESS = 3, /* a check of check.h other than liveness failed */
    SIM_RESULT_LIVENESS = 4,    /* the run did not settle once faults stopped */
};

struct sim_options {
    uint64_t seed;
    uint64_t ticks;    /* faulty phase, in ticks of SIM_TICK_NS */
    bool verbose;      /* every log line of every process to stderr */
    bool trace;        /* and every trace event */
    bool quiet_faults; /* no faults at all (a baseline) */
    /* Called once the world exists (the tool keeps it for its crash handler). */
    void (*on_world)(struct sim_world *w, void *arg);
    void *on_world_arg;
};

/* What a run did and found. */
struct sim_report {
    enum sim_result result;
    struct sim_violation violation; /* when CORRECTNESS or LIVENESS */
    uint64_t seed;
    uint64_t sim_ns;
    uint64_t wall_ns;
    uint64_t trace_hash;
    uint64_t trace_events;
    uint64_t batches_acked;
    uint64_t messages_acked;
    uint64_t delivered;
    uint64_t retries;
    uint64_t probes;
    uint64_t node_crashes;
    uint64_t role_crashes;
    uint64_t conn_resets;
    uint64_t conn_drops;   /* connections whose segments were dropped for a while */
    uint64_t over_refused; /* appends and reads above ack level 1, refused as they must be */
    uint64_t disk_full;
    uint64_t sync_failures;
    uint64_t write_failures;
    uint64_t async_writes; /* the commits' O_DIRECT writes that did not wait */
    uint64_t spin_ns_max;  /* longest run of a process without blocking */
    char params[768];      /* the swarm's draw, as ssim fields */
};

/* Runs one seed; fills *rep and returns its result. */
enum sim_result sim_run_seed(const struct sim_options *o, struct sim_report *rep);

/* Prints rep as ssim lines (sim.result or sim.fail, then sim.params). */
void sim_report_print(FILE *f, const struct sim_report *rep);

#endif
