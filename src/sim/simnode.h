/*
 * simnode.h: one strom node inside a simulated world (sim.h): its disk, its shared memory and its
 * roles, the real commit, sequencer and gateway code (commit_run, sequencer_run, gateway_run: the
 * objects `strom node` links), each a simulated process.
 *
 * The simnode plays the supervisor (src/node/supervisor.c) with the same order: it makes the
 * shared memory (node_shm_create), starts the commits, then the sequencer once every commit says
 * ready in the counters page, then the gateways; it restarts a role that dies after a back-off
 * (SIMNODE_BACKOFF_MIN_NS doubling to SIMNODE_BACKOFF_MAX_NS: shorter than the real supervisor's,
 * so that a simulated second holds many restarts). It crashes on demand:
 *   - one role (simnode_crash_role): the process dies now or inside one of its next io calls;
 *     shared memory, rings and the disk's page cache survive it;
 *   - the whole node (simnode_crash): every process dies, the shared memory is gone, the disk
 *     keeps what io_memfs_crash's mode lets survive of the writes not yet synced; the node starts
 *     again after SIMNODE_RESTART_NS.
 *
 * Hooks tell the checker the two moments its model needs: just before a node crash (the durable
 * watermarks then are a promise) and when a started node's sequencer has recovered (the offsets
 * the node starts from are known, before any gateway listens).
 */
#ifndef STROM_SIM_SIMNODE_H
#define STROM_SIM_SIMNODE_H

#include <stdbool.h>
#include <stdint.h>

#include "io/io_memfs.h"
#include "node/config.h"
#include "node/shm.h"
#include "node/supervisor.h"
#include "sim/sim.h"

#define SIMNODE_ROLES_MAX      (1 + NODE_COMMITS_MAX + NODE_GATEWAYS_MAX)
#define SIMNODE_STEP_NS        200000u   /* the supervisor's turn: 200 us */
#define SIMNODE_BACKOFF_MIN_NS 1000000u  /* first restart of a role after 1 ms */
#define SIMNODE_BACKOFF_MAX_NS 64000000u /* at most 64 ms */
#define SIMNODE_RESTART_NS     5000000u  /* a crashed node starts again after 5 ms */
#define SIMNODE_DATA_DIR       "data"

struct simnode;

/* What happened to the node, for the checker. */
enum simnode_event {
    SIMNODE_BEFORE_CRASH = 1, /* the node is about to crash; shared memory still readable */
    SIMNODE_RECOVERED = 2,    /* a started node's sequencer is ready; no gateway listens yet */
};
typedef void (*simnode_hook_fn)(void *arg, struct simnode *n, enum simnode_event event);

struct simnode_stats {
    uint64_t node_starts;
    uint64_t node_crashes;
    uint64_t role_crashes; /* injected by simnode_crash_role */
    uint64_t role_exits;   /* roles that ended on their own (an error, an assertion aside) */
    uint64_t role_starts;
};

/* Makes a node of world w with config c (data_dir is replaced by SIMNODE_DATA_DIR) and a disk
 * whose random choices follow disk_seed. Errors: NO_MEMORY. */
strom_err simnode_create(struct sim_world *w, const struct node_config *c, uint64_t disk_seed,
                         struct simnode **out);
void simnode_destroy(struct simnode *n);

void simnode_set_hook(struct simnode *n, simnode_hook_fn fn, void *arg);

/* Starts the node (shared memory, then the commits; the rest follows as they become ready). */
void simnode_start(struct simnode *n);

/* Routes a process exit of the world to the node (call it from the world's exit callback). */
void simnode_on_exit(struct simnode *n, struct sim_proc *p, bool crashed, int code);

/* Crashes the role at slot (see simnode_role_count): at once when after_calls is 0, else inside
 * its after_calls-th io call from now. No effect on a role that is not running. */
void simnode_crash_role(struct simnode *n, uint32_t slot, uint64_t after_calls);
uint32_t simnode_role_count(const struct simnode *n);
/* The role and index of slot. */
void simnode_role_of(const struct simnode *n, uint32_t slot, enum node_role *role, uint32_t *index);

/* Crashes the whole node now; its disk keeps per mode; it starts again after SIMNODE_RESTART_NS
 * unless simnode_set_down keeps it down. */
void simnode_crash(struct simnode *n, enum io_memfs_crash_mode mode);

/* true when the node runs and every role reported ready. */
bool simnode_ready(const struct simnode *n);
/* true while the node has shared memory (between a start and a crash). */
bool simnode_up(const struct simnode *n);

/* The node's shared memory while up, else NULL. */
const struct node_shm *simnode_shm(const struct simnode *n);
const struct node_config *simnode_config(const struct simnode *n);
struct io_memfs *simnode_disk(struct simnode *n);
uint32_t simnode_world_node(const struct simnode *n);
/* Node lives started so far (1 after the first start). */
uint32_t simnode_generation(const struct simnode *n);
void simnode_get_stats(const struct simnode *n, struct simnode_stats *out);

/* Opens every commit's store read-only on the disk as it is now and prints what recovery found
 * there (a sim.store line per commit, as ssim) to f, a FILE *: for a failure report. */
void simnode_disk_report(struct simnode *n, void *f);

#endif
