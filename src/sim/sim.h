/*
 * sim.h: the deterministic simulator's world: simulated time, processes, sockets, wake-ups and
 * disks, all in one thread and all driven by one seed.
 *
 * A world holds nodes (machines) and processes. A process runs a role's real main function
 * (sequencer_main, commit_main, gateway_main: the object files `strom node` links) on a fiber of
 * its own, with a struct io (io_sim.c) whose calls never reach the operating system: clocks read
 * the simulated time; a call that would block (poller_wait, futex_wait, fd_wait, sleep_ns, a
 * disk operation with latency) switches back to the scheduler, which runs another process or
 * moves time forward to the next timer. So a role runs exactly as it does under Linux, only its
 * blocking points become scheduling points, and the order of everything is a function of the
 * seed: the scheduler picks among runnable processes with the world's rng.
 *
 * Crashes: a process dies at any io call (sim_proc_crash_after_calls) or while blocked
 * (sim_proc_kill); its sockets are reset, its pollers and files closed; its shared memory stays
 * (that belongs to the node). A node crash (sim_node_crash) kills every process of the node,
 * resets its connections and frees its shared memory; what its disk keeps is the disk's business
 * (io_memfs_crash, called by the driver).
 *
 * Sockets: TCP connections between any two processes, or between a driver-level client (no
 * fiber, sim_client_* calls) and a process. Bytes arrive in order after a delay drawn per send
 * from [net_delay_min_ns, net_delay_max_ns], never before the bytes sent earlier on the same
 * connection (TCP never reorders). A reset (sim_conn_reset) drops what is in flight and makes both
 * ends see CLOSED. A drop (sim_conn_drop_random) loses a connection's segments for a while: they
 * arrive late (retransmitted), or the connection times out. Reordering and duplication are the
 * client's business (retries over new connections). Each direction buffers at most SIM_PIPE_BYTES:
 * a full pipe is backpressure.
 *
 * Every decision is logged into a trace whose 64-bit hash identifies the run: the same seed and
 * driver give the same hash (make test compares two runs).
 *
 * Bounds: SIM_PROCS_MAX processes, SIM_NODES_MAX nodes, SIM_OBJS_MAX descriptors (sockets,
 * listeners, pollers, events), SIM_CONNS_MAX connections, SIM_TIMERS_MAX timers; reaching one is a
 * broken invariant of the driver (an assertion), not an operating error.
 */
#ifndef STROM_SIM_SIM_H
#define STROM_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/rng.h"
#include "io/io.h"

#define SIM_PROCS_MAX       64
#define SIM_NODES_MAX       8
#define SIM_OBJS_MAX        4096
#define SIM_CONNS_MAX       2048
#define SIM_TIMERS_MAX      (1u << 16)
#define SIM_FD_BASE         1024 /* socket, poller and event descriptors start here (files: below) */
#define SIM_STACK_BYTES     (1u << 20)
#define SIM_SHM_REGIONS_MAX 64
#define SIM_PROC_FILES_MAX  64
#define SIM_PIPE_BYTES      (64u << 10) /* one direction of a connection */
#define SIM_BACKLOG_MAX     128         /* pending connections of one listener */
#define SIM_TRACE_KEEP      256         /* last trace events kept for a failure report */
#define SIM_LOG_KEEP        64          /* last log lines kept for a failure report */
#define SIM_LOG_LINE_BYTES  256
#define SIM_SLICE_CALLS     20000 /* io calls without blocking before a process is preempted */
#define SIM_SLICE_NS        1000  /* simulated time a preempted process waits */
#define SIM_NAME_BYTES      32

/* The simulated realtime clock starts here (2025-01-01T00:00:00Z) plus the monotonic time. */
#define SIM_REALTIME_BASE_NS UINT64_C(1735689600000000000)

struct sim_world;
struct sim_proc;

/* A process's main: what a forked child would run. Its return value is the exit code. */
typedef int (*sim_proc_main)(struct io *io, void *arg);

/* A timer callback, run by the scheduler (never inside a process). */
typedef void (*sim_timer_fn)(struct sim_world *w, void *arg, uint64_t data);

/* Called when a process ends: crashed (killed by the simulator) or exited with code. */
typedef void (*sim_exit_fn)(struct sim_world *w, void *arg, struct sim_proc *p, bool crashed,
                            int code);

/* Latencies the io adds; the driver draws them per seed (swarm testing). All in ns. */
struct sim_latency {
    uint64_t net_delay_min_ns; /* one-way delay of a send */
    uint64_t net_delay_max_ns;
    uint64_t disk_write_ns_max; /* pwrite, truncate, allocate, punch: uniform in [0, max] */
    uint64_t disk_read_ns_max;  /* pread */
    uint64_t disk_sync_ns_min;  /* fdatasync, dir_sync: uniform in [min, max] */
    uint64_t disk_sync_ns_max;
};

/* Counters of a run. */
struct sim_stats {
    uint64_t switches;     /* fiber switches into processes */
    uint64_t io_calls;     /* io calls made by processes */
    uint64_t timers;       /* timers fired */
    uint64_t preemptions;  /* processes preempted after SIM_SLICE_CALLS */
    uint64_t crashes;      /* processes killed */
    uint64_t node_crashes; /* nodes crashed */
    uint64_t conns;        /* connections made */
    uint64_t resets;       /* connections reset */
    uint64_t drops;        /* connections whose segments were dropped for a while */
    uint64_t bytes_sent;   /* bytes accepted by sends */
    uint64_t spin_ns_max;  /* longest simulated time a process ran without blocking (preempted
                              again and again: it spins) */
    uint64_t async_writes; /* asynchronous disk writes started (file_pwrite_start) */
};

/* --- world ------------------------------------------------------------------------------------ */

/* Creates a world whose every choice follows seed. Errors: NO_MEMORY. */
strom_err sim_world_create(uint64_t seed, struct sim_world **out);

/* Frees the world: every process's stack, connection, shared memory region. */
void sim_world_destroy(struct sim_world *w);

/* The world's generator (scheduling and the driver's own draws share it, in program order). */
struct rng *sim_rng(struct sim_world *w);

/* Simulated monotonic time, ns since the world began. */
uint64_t sim_now_ns(const struct sim_world *w);

void sim_set_latency(struct sim_world *w, const struct sim_latency *lat);
void sim_set_exit_callback(struct sim_world *w, sim_exit_fn fn, void *arg);
void sim_get_stats(const struct sim_world *w, struct sim_stats *out);
/* The name of the process that spun longest (stats.spin_ns_max), "" when none did. */
const char *sim_spin_name(const struct sim_world *w);

/* Runs fn(w, arg, data) at at_ns (not before now; same-time timers run in the order made). */
void sim_timer_at(struct sim_world *w, uint64_t at_ns, sim_timer_fn fn, void *arg, uint64_t data);

/* Runs processes and timers until no process can run and the next timer is after until_ns; then
 * time is until_ns. Returns at once when sim_stop was called (by a timer or callback). */
void sim_run(struct sim_world *w, uint64_t until_ns);

/* Makes sim_run return after the current timer or process switch. */
void sim_stop(struct sim_world *w);
bool sim_stopped(const struct sim_world *w);

/* --- trace ------------------------------------------------------------------------------------ */

/* Mixes an event into the trace hash and keeps it for sim_trace_dump. what is a constant string. */
void sim_trace(struct sim_world *w, const char *what, uint64_t a, uint64_t b, uint64_t c);

/* The hash of every event so far. */
uint64_t sim_trace_hash(const struct sim_world *w);

/* Events traced so far. */
uint64_t sim_trace_count(const struct sim_world *w);

/* Prints the last SIM_TRACE_KEEP events and SIM_LOG_KEEP log lines to f (a FILE *). */
void sim_trace_dump(const struct sim_world *w, void *f);

/* Echo every log line of every process (with time and process name) to stderr; with
 * trace_echo, every trace event too. */
void sim_set_verbose(struct sim_world *w, bool verbose, bool trace_echo);

/* --- nodes ------------------------------------------------------------------------------------ */

/* Adds a node whose files go to disk (an io of which only the file, path and directory members
 * are used: io_memfs); disk may be NULL (no files). Returns the node's number. */
uint32_t sim_node_add(struct sim_world *w, const struct io *disk);

/* The io of the node itself (its supervisor): shared memory and events made with it belong to the
 * node and survive the crash of any process; it may not block. */
struct io *sim_node_io(struct sim_world *w, uint32_t node);

/* Kills every process of node, resets its connections, closes its descriptors, frees its shared
 * memory. The node stays (restart it by making shared memory and processes again). */
void sim_node_crash(struct sim_world *w, uint32_t node);

/* --- processes -------------------------------------------------------------------------------- */

/* Starts a process on node running main(io, arg); it runs when the scheduler picks it. */
struct sim_proc *sim_proc_spawn(struct sim_world *w, uint32_t node, const char *name,
                                sim_proc_main main, void *arg);

/* Kills p now (it must not be the running process: use sim_proc_crash_after_calls for that). */
void sim_proc_kill(struct sim_world *w, struct sim_proc *p);

/* Makes p die inside its calls-th io call from now (1: the next one), mid-turn. */
void sim_proc_crash_after_calls(struct sim_proc *p, uint64_t calls);

/* Sets the flag of sig for p (io_signal_take reads it) and wakes p if it is blocked. */
void sim_proc_signal(struct sim_world *w, struct sim_proc *p, enum io_signal sig);

bool sim_proc_alive(const struct sim_proc *p);
const char *sim_proc_name(const struct sim_proc *p);
int32_t sim_proc_pid(const struct sim_proc *p);
struct io *sim_proc_io(struct sim_proc *p);
/* The process whose fiber runs now, NULL in the scheduler (timers, the driver). */
struct sim_proc *sim_current(struct sim_world *w);

/* --- driver-level clients (no fiber: never block) --------------------------------------------- */

/* Called when a client's socket may have become readable or writable (data, space, close). */
typedef void (*sim_notify_fn)(struct sim_world *w, void *arg, int fd);

/* Opens a connection from outside every node to the process listening on node:port (one of them
 * at random when several share the port). The connection exists at once; the listener sees it
 * after the network delay. notify is called (from a timer) whenever the socket may be ready.
 * Errors: NOT_CONNECTED (nobody listens: refused), LIMIT (connection table full). */
strom_err sim_client_connect(struct sim_world *w, uint32_t node, uint16_t port,
                             sim_notify_fn notify, void *arg, int *fd_out);

/* Like io_sock_send, io_sock_recv and io_sock_close (same results). */
strom_err sim_client_send(struct sim_world *w, int fd, const void *buf, size_t len, size_t *sent);
strom_err sim_client_recv(struct sim_world *w, int fd, void *buf, size_t len, size_t *got);
void sim_client_close(struct sim_world *w, int fd);

/* Resets the connection of fd (either end): what is in flight is lost, both ends see CLOSED. */
void sim_conn_reset(struct sim_world *w, int fd);

/* Resets a connection picked at random among the open ones; false when there is none. */
bool sim_conn_reset_random(struct sim_world *w);

/* Drops every segment of a connection picked at random among the open ones for drop_ns (> 0):
 * what is sent meanwhile, and what was on its way, arrives once the drop ends (TCP sends it
 * again; order kept), or, with then_reset, never: the connection times out then and both ends see
 * CLOSED. Sends go on into the pipe until it is full (backpressure). False when there is none. */
bool sim_conn_drop_random(struct sim_world *w, uint64_t drop_ns, bool then_reset);

/* Number of open connections. */
uint32_t sim_conn_count(const struct sim_world *w);

#endif
