/*
 * sim_internal.h: the simulator's structs, shared by sim.c (world, scheduler, fibers, trace),
 * sim_net.c (descriptors: sockets, listeners, pollers, events) and io_sim.c (the io table).
 * Nothing outside src/sim/ includes it.
 *
 * Ownership: sim.c writes the world's scheduling fields and every process's state and wait
 * fields; sim_net.c writes objects and connections; io_sim.c writes a process's file table and
 * call counters and the nodes' shared memory lists.
 */
#ifndef STROM_SIM_SIM_INTERNAL_H
#define STROM_SIM_SIM_INTERNAL_H

#include <setjmp.h>
#include <ucontext.h>

#include "sim/sim.h"

enum sim_proc_state {
    SIM_PROC_FREE = 0,  /* slot unused */
    SIM_PROC_RUNNABLE,  /* waits for the scheduler */
    SIM_PROC_RUNNING,   /* its fiber runs now */
    SIM_PROC_BLOCKED,   /* waits for a wake-up or its deadline */
    SIM_PROC_DEAD,      /* ended; the slot is freed by the scheduler */
    SIM_PROC_SUPERVISOR /* a node's own io: no fiber, never blocks */
};

/* What a blocked process waits for. */
enum sim_wait {
    SIM_WAIT_NONE = 0,
    SIM_WAIT_SLEEP,  /* its deadline only */
    SIM_WAIT_FUTEX,  /* futex_wake on futex_addr */
    SIM_WAIT_POLLER, /* readiness of a descriptor registered in poller wait_fd */
    SIM_WAIT_FD,     /* readiness wait_events of descriptor wait_fd */
};

struct sim_proc {
    struct io io; /* handed to the role; ctx points back here */
    struct sim_world *world;
    uint32_t index; /* in world->procs */
    int32_t pid;
    uint32_t node;
    enum sim_proc_state state;
    char name[SIM_NAME_BYTES];
    sim_proc_main main;
    void *arg;
    /* Fiber (sim.c). */
    ucontext_t ctx; /* its first entry (and every switch under AddressSanitizer) */
    jmp_buf jb;     /* where it resumes (sim.c, SIM_FAST_SWITCH) */
    bool started;   /* entered once */
    void *stack;
    size_t stack_bytes;
    void *asan_fake_stack;
    /* Waiting (sim.c). */
    enum sim_wait wait;
    uint64_t wait_gen;       /* bumped at every block and wake: stale deadline timers are ignored */
    bool timed_out;          /* the last block ended at its deadline */
    uint32_t *futex_addr;    /* SIM_WAIT_FUTEX */
    int wait_fd;             /* SIM_WAIT_POLLER, SIM_WAIT_FD */
    uint32_t wait_events;    /* SIM_WAIT_FD */
    uint32_t signals;        /* bit per enum io_signal, set by sim_proc_signal */
    uint32_t signals_caught; /* bit per signal the process catches */
    uint32_t signals_ignored; /* bit per signal the process ignores */
    /* io accounting (io_sim.c). */
    uint32_t calls_in_slice;
    uint64_t spin_since_ns;        /* first preemption of a run without blocking; 0: not spinning */
    bool preempting;               /* the block under way is a preemption */
    uint64_t crash_after_calls;    /* 0: none; the call that brings it to 0 crashes */
    int files[SIM_PROC_FILES_MAX]; /* the disk's descriptors it has open */
    uint32_t file_count;
};

struct sim_region {
    void *addr;
    size_t bytes;
};

struct sim_node {
    bool used;
    struct io disk;         /* file members used; vt NULL: no disk */
    struct sim_proc *super; /* the node's own io (SIM_PROC_SUPERVISOR) */
    struct sim_region regions[SIM_SHM_REGIONS_MAX];
    uint32_t region_count;
};

struct sim_timer {
    uint64_t at_ns;
    uint64_t seq; /* order among timers of the same time */
    sim_timer_fn fn;
    void *arg;
    uint64_t data;
};

enum sim_obj_kind {
    SIM_OBJ_FREE = 0,
    SIM_OBJ_LISTENER,
    SIM_OBJ_SOCKET,
    SIM_OBJ_POLLER,
    SIM_OBJ_EVENT,
};

struct sim_poll_reg {
    int fd;
    uint32_t events;
    uint64_t token;
};

#define SIM_POLL_REGS_MAX 2048

/* One descriptor. */
struct sim_obj {
    enum sim_obj_kind kind;
    uint32_t node; /* the node it belongs to; SIM_NODES_MAX: a driver-level client */
    int32_t owner; /* process index that made it; -1 for the node's own and for clients */
    uint64_t gen;  /* bumped at every reuse of the slot */
    /* listener */
    uint16_t port;
    uint32_t backlog[SIM_BACKLOG_MAX]; /* connections waiting for accept, by index */
    uint32_t backlog_head, backlog_count, backlog_max;
    /* socket */
    uint32_t conn; /* connection index */
    uint32_t side; /* 0: the end that connected, 1: the accepted end */
    sim_notify_fn notify;
    void *notify_arg;
    /* poller */
    struct sim_poll_reg *regs;
    uint32_t reg_count;
    /* event */
    bool signalled;
};

/* One direction of a connection: bytes [read, written) are in the buffer; those below visible
 * have arrived. */
#define SIM_SEGS_MAX 256
struct sim_pipe {
    uint8_t *buf; /* SIM_PIPE_BYTES, a ring indexed by byte count */
    uint64_t written;
    uint64_t visible;
    uint64_t read;
    uint64_t last_arrive_ns; /* arrival of the newest segment: later ones never arrive earlier */
    bool fin;                /* the writer closed: after the last byte, the reader sees CLOSED */
};

struct sim_conn {
    bool used;
    bool reset;              /* both ends see CLOSED; nothing more arrives */
    bool accepted;           /* the listener handed out side 1 */
    uint64_t gen;            /* bumped at every reuse: stale arrival timers are ignored */
    uint64_t stall_until_ns; /* segments are being dropped: nothing arrives before this time */
    int fd[2];               /* descriptors of the two ends, -1 when closed or not yet accepted */
    int listener_fd;         /* where side 1 waits until accepted (-1 after) */
    struct sim_pipe dir[2];  /* dir[s]: bytes written by side s */
};

struct sim_trace_event {
    uint64_t now_ns;
    const char *what;
    uint64_t a, b, c;
    int32_t pid;
};

struct sim_world {
    uint64_t seed;
    struct rng rng;
    uint64_t now_ns;
    int32_t next_pid;
    bool stopped;
    bool verbose;
    bool trace_echo; /* every trace event to stderr as it happens */
    struct sim_latency latency;
    struct sim_stats stats;
    sim_exit_fn on_exit;
    void *on_exit_arg;
    /* Scheduler (sim.c). */
    struct sim_proc procs[SIM_PROCS_MAX];
    struct sim_proc *current;
    ucontext_t sched_ctx;
    jmp_buf sched_jb;
    uint32_t proc_hi;               /* slots at or above it were never used */
    char spin_name[SIM_NAME_BYTES]; /* the process of stats.spin_ns_max */
    const void *sched_stack_bottom; /* for AddressSanitizer's fiber switches */
    size_t sched_stack_bytes;
    void *sched_fake_stack;
    struct sim_timer *heap; /* SIM_TIMERS_MAX, a binary min-heap on (at_ns, seq) */
    uint32_t heap_count;
    uint64_t timer_seq;
    struct sim_proc *dead_pending; /* a process that died on its own fiber: freed after switch */
    /* Nodes (io_sim.c). */
    struct sim_node nodes[SIM_NODES_MAX];
    uint32_t node_count;
    /* Descriptors and connections (sim_net.c). */
    struct sim_obj *objs;
    uint32_t obj_next; /* where the search for a free slot starts */
    struct sim_conn *conns;
    uint32_t conn_next;
    uint32_t conn_count;
    /* Trace (sim.c). */
    uint64_t trace_hash;
    uint64_t trace_count;
    struct sim_trace_event trace[SIM_TRACE_KEEP];
    char log[SIM_LOG_KEEP][SIM_LOG_LINE_BYTES];
    uint64_t log_count;
};

/* --- sim.c --- */
/* Blocks the running process p (state BLOCKED, wait already set) until sim_wake or deadline_ns
 * (UINT64_MAX: none); returns true when it was woken, false at the deadline. */
bool sim_block(struct sim_world *w, struct sim_proc *p, uint64_t deadline_ns);
/* Makes a blocked p runnable (no effect otherwise). */
void sim_wake(struct sim_world *w, struct sim_proc *p);
/* Ends the process p: crashed (killed) or exited with code. When p is the running process this
 * does not return. */
void sim_proc_end(struct sim_world *w, struct sim_proc *p, bool crashed, int code);
/* Logs one line of a process (io_log_write). */
void sim_log_line(struct sim_world *w, const struct sim_proc *p, const char *text, size_t len);

/* --- sim_net.c --- */
strom_err sim_net_init(struct sim_world *w);
void sim_net_free(struct sim_world *w);
/* The object of fd, NULL when fd names none. */
struct sim_obj *sim_obj_get(struct sim_world *w, int fd);
/* Readiness bits (enum io_poll_bits) of fd now. */
uint32_t sim_obj_ready(struct sim_world *w, int fd);
/* Wakes every process that waits on a poller or fd that fd's readiness may have changed for, and
 * schedules the notify callback of a client socket. */
void sim_obj_changed(struct sim_world *w, int fd);
/* Closes every descriptor owned by process index owner (-2: every one of node). */
void sim_net_close_owned(struct sim_world *w, uint32_t node, int32_t owner);
/* Descriptor operations behind the io table; p is the caller. */
strom_err sim_net_listen(struct sim_world *w, struct sim_proc *p, uint16_t port, uint32_t backlog,
                         int *fd_out, uint16_t *port_out);
/* EXISTS when a listener of node holds port; port 0: *port_out gets a free one. */
strom_err sim_net_probe(struct sim_world *w, uint32_t node, uint16_t port, uint16_t *port_out);
strom_err sim_net_accept(struct sim_world *w, struct sim_proc *p, int lfd, int *fd_out);
strom_err sim_net_connect(struct sim_world *w, uint32_t from_node, int32_t owner, uint32_t node,
                          uint16_t port, int *fd_out);
strom_err sim_net_recv(struct sim_world *w, int fd, void *buf, size_t len, size_t *got);
strom_err sim_net_send(struct sim_world *w, int fd, const struct io_iov *iov, uint32_t n,
                       size_t *sent);
strom_err sim_net_close(struct sim_world *w, int fd);
strom_err sim_net_poller_create(struct sim_world *w, struct sim_proc *p, int *fd_out);
strom_err sim_net_poller_control(struct sim_world *w, int poller, enum io_poll_op op, int fd,
                                 uint32_t events, uint64_t token);
/* Stores ready registrations of poller into events (at most max); returns the count. */
uint32_t sim_net_poller_ready(struct sim_world *w, int poller, struct io_poll_event *events,
                              uint32_t max);
strom_err sim_net_event_create(struct sim_world *w, struct sim_proc *p, int *fd_out);
strom_err sim_net_event_signal(struct sim_world *w, int fd);
strom_err sim_net_event_drain(struct sim_world *w, int fd);

/* --- io_sim.c --- */
void sim_proc_io_init(struct sim_proc *p);
/* Closes the disk descriptors p holds (its death). */
void sim_proc_files_close(struct sim_proc *p);
/* Frees a node's shared memory regions. */
void sim_node_regions_free(struct sim_node *n);

#endif
