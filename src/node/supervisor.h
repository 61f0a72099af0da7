/*
 * supervisor.h: `strom node` itself: the root process of a node.
 *
 * It creates the shared memory (shm.h), forks the roles in order (commits, then the sequencer,
 * then the gateways, each group once the one before reports ready in the counters page), restarts
 * any child that dies (back-off doubling from NODE_BACKOFF_MIN_NS to NODE_BACKOFF_MAX_NS, reset
 * after a child ran NODE_BACKOFF_RESET_NS), and on SIGTERM or SIGINT stops them in the reverse
 * order: gateways (no new requests), the sequencer (after it published what the request rings
 * held), the commits (after they wrote and synced everything in the node log). A child still
 * running when stop_timeout_ms is nearly over is killed. Every event is an ssim line on stderr.
 *
 * The supervisor is a state machine over struct supervisor, driven by supervisor_step once per
 * turn with the time as input, so that a simulator can drive it; supervisor_run is the loop.
 */
#ifndef STROM_NODE_SUPERVISOR_H
#define STROM_NODE_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

#include "node/config.h"
#include "node/shm.h"

struct io;

#define NODE_BACKOFF_MIN_NS   10000000u    /* 10 ms before the first restart */
#define NODE_BACKOFF_MAX_NS   2000000000u  /* at most 2 s between restarts */
#define NODE_BACKOFF_RESET_NS 10000000000u /* a child that ran 10 s starts at the minimum again */
#define NODE_STEP_NS          5000000u     /* the supervisor turn while starting or stopping */
#define NODE_IDLE_STEP_NS     100000000u   /* ... and while running (a signal wakes it earlier) */
#define NODE_CHILDREN_MAX     (1 + NODE_COMMITS_MAX + NODE_GATEWAYS_MAX)
/* The background prefault of the rings once the node is ready: bytes of each ring per turn (a
 * stop waits for one turn: about 10 ms at the 5 us a page costs here), and the sleep between
 * turns. */
#define NODE_PREFAULT_CHUNK_BYTES (4u << 20)
#define NODE_PREFAULT_STEP_NS     1000000u

enum node_role {
    NODE_ROLE_COMMIT = 0,
    NODE_ROLE_SEQUENCER = 1,
    NODE_ROLE_GATEWAY = 2,
};

/* Phases, in order. */
enum supervisor_phase {
    SUP_START_COMMITS = 0, /* commits forked; waiting until they are ready */
    SUP_START_SEQUENCER,   /* sequencer forked; waiting until it is ready */
    SUP_START_GATEWAYS,    /* gateways forked; waiting until they listen */
    SUP_RUNNING,           /* all ready; restarting whoever dies */
    SUP_STOP_GATEWAYS,     /* TERM sent to the gateways */
    SUP_STOP_SEQUENCER,    /* TERM sent to the sequencer */
    SUP_STOP_COMMITS,      /* TERM sent to the commits */
    SUP_DONE,
};

struct node_child {
    enum node_role role;
    uint32_t index;         /* gateway or commit number; 0 for the sequencer */
    int32_t pid;            /* running process, 0 when none */
    uint64_t started_ns;    /* monotonic, when forked */
    uint64_t restart_at_ns; /* monotonic, when to fork again (pid 0, not stopping) */
    uint64_t backoff_ns;    /* the next restart delay */
    uint32_t restarts;      /* times it was restarted */
    bool exited_cleanly;    /* last exit was code 0 */
};

struct supervisor {
    struct io *io;
    struct node_config config;
    struct node_shm shm;
    struct node_child children[NODE_CHILDREN_MAX]; /* commits, the sequencer, gateways */
    uint32_t child_count;
    enum supervisor_phase phase;
    uint64_t stop_deadline_ns; /* monotonic; children still running then are killed */
    bool stop_failed;          /* a child had to be killed or exited with an error */
    bool fork_failed;          /* the last fork failed (retried with back-off) */
    int lock_fd;               /* <data>/strom.lock, locked while the node runs */
    /* Background prefault: the offset in every ring region below which its pages are present;
     * UINT64_MAX once all are (or the kernel cannot: they fault in on first touch then). */
    uint64_t prefault_offset;
};

/* Runs a node with config c until it is stopped; returns the process exit code (0: clean stop,
 * 1: an operating error at start or an unclean stop). */
int supervisor_run(struct io *io, const struct node_config *c);

/* The role's name ("commit", "sequencer", "gateway"). */
const char *node_role_name(enum node_role role);

/* What a forked child runs: its role's main loop; returns its exit code. */
typedef int (*node_role_main)(struct io *io, const struct node_config *c,
                              const struct node_shm *shm, uint32_t index);

int commit_main(struct io *io, const struct node_config *c, const struct node_shm *shm,
                uint32_t index);
int sequencer_main(struct io *io, const struct node_config *c, const struct node_shm *shm,
                   uint32_t index);
int gateway_main(struct io *io, const struct node_config *c, const struct node_shm *shm,
                 uint32_t index);

/* The same over a root struct the caller owns: X_main runs X_run on its static root (one per
 * forked process); the simulator (src/sim/) runs several roles in one process, each on its own. */
struct commit;
struct sequencer;
struct gateway;
int commit_run(struct commit *k, struct io *io, const struct node_config *c,
               const struct node_shm *shm, uint32_t index);
int sequencer_run(struct sequencer *s, struct io *io, const struct node_config *c,
                  const struct node_shm *shm, uint32_t index);
int gateway_run(struct gateway *gw, struct io *io, const struct node_config *c,
                const struct node_shm *shm, uint32_t index);

#endif
