/*
 * simnode.c: a strom node in a simulated world (see simnode.h).
 *
 * A periodic timer is the supervisor's loop: it starts the node when it is down and due, moves
 * through the start phases as the counters page reports roles ready, and forks (spawns) roles
 * whose back-off ran out. Exits arrive through simnode_on_exit; a role's record holds the process
 * it runs as, so an exit of a process from before a node crash is recognized and ignored.
 *
 * Each role runs on a root struct of its own (commit_run and friends), allocated here once and
 * reused by every restart of that role, as a forked child reuses its static root.
 */
#include "sim/simnode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "node/commit.h"
#include "node/gateway.h"
#include "node/sequencer.h"
#include "store/store.h"

enum simnode_phase {
    PHASE_DOWN = 0,
    PHASE_COMMITS,   /* commits started; waiting until they are ready */
    PHASE_SEQUENCER, /* sequencer started; waiting until it is ready */
    PHASE_GATEWAYS,  /* gateways started */
};

struct simnode_role {
    struct simnode *node;
    enum node_role role;
    uint32_t index;
    struct sim_proc *proc; /* running process, NULL when none */
    uint64_t restart_at_ns;
    uint64_t backoff_ns;
    void *root; /* struct commit, sequencer or gateway */
};

struct simnode {
    struct sim_world *w;
    uint32_t wnode;
    struct io_memfs *fs;
    struct node_config config;
    struct node_shm shm;
    enum simnode_phase phase;
    bool up;
    uint64_t start_at_ns; /* when down: start then (UINT64_MAX: stay down) */
    uint32_t generation;
    uint32_t role_count;
    struct simnode_role roles[SIMNODE_ROLES_MAX]; /* commits, sequencer, gateways */
    simnode_hook_fn hook;
    void *hook_arg;
    struct simnode_stats stats;
};

static void node_step(struct sim_world *w, void *arg, uint64_t data);

strom_err simnode_create(struct sim_world *w, const struct node_config *c, uint64_t disk_seed,
                         struct simnode **out) {
    struct simnode *n = calloc(1, sizeof *n);
    if (!n || io_memfs_create(disk_seed, &n->fs) != STROM_OK) {
        free(n);
        return STROM_ERR_NO_MEMORY;
    }
    n->w = w;
    n->config = *c;
    snprintf(n->config.data_dir, sizeof n->config.data_dir, "%s", SIMNODE_DATA_DIR);
    struct io disk;
    io_memfs_io(n->fs, &disk);
    strom_err err = disk.vt->dir_create(&disk, SIMNODE_DATA_DIR);
    strom_assert(err == STROM_OK);
    n->wnode = sim_node_add(w, &disk);
    uint32_t k = 0;
    for (uint32_t i = 0; i < c->commits; i++) {
        n->roles[k++] = (struct simnode_role){
            .role = NODE_ROLE_COMMIT, .index = i, .root = calloc(1, sizeof(struct commit))};
    }
    n->roles[k++] = (struct simnode_role){.role = NODE_ROLE_SEQUENCER,
                                          .root = calloc(1, sizeof(struct sequencer))};
    for (uint32_t i = 0; i < c->gateways; i++) {
        n->roles[k++] = (struct simnode_role){
            .role = NODE_ROLE_GATEWAY, .index = i, .root = calloc(1, sizeof(struct gateway))};
    }
    n->role_count = k;
    for (uint32_t i = 0; i < k; i++) {
        n->roles[i].node = n;
        n->roles[i].backoff_ns = SIMNODE_BACKOFF_MIN_NS;
        strom_assert(n->roles[i].root != NULL);
    }
    n->start_at_ns = UINT64_MAX;
    sim_timer_at(w, sim_now_ns(w) + SIMNODE_STEP_NS, node_step, n, 0);
    *out = n;
    return STROM_OK;
}

void simnode_destroy(struct simnode *n) {
    if (!n) {
        return;
    }
    for (uint32_t i = 0; i < n->role_count; i++) {
        free(n->roles[i].root);
    }
    io_memfs_destroy(n->fs);
    free(n);
}

void simnode_set_hook(struct simnode *n, simnode_hook_fn fn, void *arg) {
    n->hook = fn;
    n->hook_arg = arg;
}

/* --- roles ------------------------------------------------------------------------------------ */

/* What a forked child does (supervisor.c, child_run), then the role's loop. */
static int role_main(struct io *io, void *arg) {
    struct simnode_role *r = arg;
    struct simnode *n = r->node;
    io_signal_catch(io, IO_SIGNAL_TERM);
    io_signal_ignore(io, IO_SIGNAL_INT);
    io_signal_ignore(io, IO_SIGNAL_PIPE);
    switch (r->role) {
    case NODE_ROLE_COMMIT:
        return commit_run(r->root, io, &n->config, &n->shm, r->index);
    case NODE_ROLE_SEQUENCER:
        return sequencer_run(r->root, io, &n->config, &n->shm, r->index);
    case NODE_ROLE_GATEWAY:
        return gateway_run(r->root, io, &n->config, &n->shm, r->index);
    }
    strom_unreachable();
}

static void role_start(struct simnode *n, struct simnode_role *r) {
    strom_assert(r->proc == NULL && n->up);
    char name[SIM_NAME_BYTES];
    snprintf(name, sizeof name, "%s%u.%u", node_role_name(r->role), r->index, n->generation);
    r->proc = sim_proc_spawn(n->w, n->wnode, name, role_main, r);
    r->restart_at_ns = 0;
    n->stats.role_starts++;
}

/* The counters page says the role's current process is ready. */
static bool role_ready(const struct simnode *n, const struct simnode_role *r) {
    const struct node_header *h = n->shm.header;
    const uint64_t *pid = &h->sequencer.pid;
    const uint64_t *ready = &h->sequencer.ready;
    if (r->role == NODE_ROLE_COMMIT) {
        pid = &h->commits_c[r->index].pid;
        ready = &h->commits_c[r->index].ready;
    } else if (r->role == NODE_ROLE_GATEWAY) {
        pid = &h->gateways_c[r->index].pid;
        ready = &h->gateways_c[r->index].ready;
    }
    return r->proc && sim_proc_alive(r->proc) &&
           __atomic_load_n(pid, __ATOMIC_ACQUIRE) == (uint64_t)sim_proc_pid(r->proc) &&
           __atomic_load_n(ready, __ATOMIC_ACQUIRE) == 1;
}

static bool group_ready(const struct simnode *n, enum node_role role) {
    for (uint32_t i = 0; i < n->role_count; i++) {
        if (n->roles[i].role == role && !role_ready(n, &n->roles[i])) {
            return false;
        }
    }
    return true;
}

static void group_start(struct simnode *n, enum node_role role) {
    for (uint32_t i = 0; i < n->role_count; i++) {
        if (n->roles[i].role == role && n->roles[i].proc == NULL) {
            role_start(n, &n->roles[i]);
        }
    }
}

void simnode_on_exit(struct simnode *n, struct sim_proc *p, bool crashed, int code) {
    for (uint32_t i = 0; i < n->role_count; i++) {
        struct simnode_role *r = &n->roles[i];
        if (r->proc != p) {
            continue;
        }
        r->proc = NULL;
        uint64_t now = sim_now_ns(n->w);
        r->restart_at_ns = now + r->backoff_ns;
        r->backoff_ns =
            r->backoff_ns * 2 > SIMNODE_BACKOFF_MAX_NS ? SIMNODE_BACKOFF_MAX_NS : r->backoff_ns * 2;
        n->stats.role_exits += crashed ? 0 : 1;
        sim_trace(n->w, "role.exit", r->role, r->index, (uint64_t)(int64_t)code);
        return;
    }
}

/* --- the supervisor's loop ----------------------------------------------------------------------
 */

static void node_start_now(struct simnode *n) {
    struct io *io = sim_node_io(n->w, n->wnode);
    strom_err err = node_shm_create(&n->shm, io, &n->config);
    strom_assert(err == STROM_OK); /* the config was checked; memory is plain */
    n->up = true;
    n->generation++;
    n->stats.node_starts++;
    n->phase = PHASE_COMMITS;
    for (uint32_t i = 0; i < n->role_count; i++) {
        n->roles[i].backoff_ns = SIMNODE_BACKOFF_MIN_NS;
        n->roles[i].restart_at_ns = 0;
    }
    sim_trace(n->w, "node.start", n->wnode, n->generation, 0);
    group_start(n, NODE_ROLE_COMMIT);
}

static void node_phases(struct simnode *n) {
    if (n->phase == PHASE_COMMITS && group_ready(n, NODE_ROLE_COMMIT)) {
        n->phase = PHASE_SEQUENCER;
        group_start(n, NODE_ROLE_SEQUENCER);
    } else if (n->phase == PHASE_SEQUENCER && group_ready(n, NODE_ROLE_SEQUENCER)) {
        n->phase = PHASE_GATEWAYS;
        if (n->hook) {
            n->hook(n->hook_arg, n, SIMNODE_RECOVERED);
        }
        group_start(n, NODE_ROLE_GATEWAY);
    }
}

/* Restarts roles whose back-off ran out, once the start has reached their group. */
static void node_restarts(struct simnode *n, uint64_t now) {
    for (uint32_t i = 0; i < n->role_count; i++) {
        struct simnode_role *r = &n->roles[i];
        bool started = r->role == NODE_ROLE_COMMIT ||
                       (r->role == NODE_ROLE_SEQUENCER && n->phase >= PHASE_SEQUENCER) ||
                       (r->role == NODE_ROLE_GATEWAY && n->phase >= PHASE_GATEWAYS);
        if (started && r->proc == NULL && r->restart_at_ns != 0 && r->restart_at_ns <= now) {
            role_start(n, r);
        }
    }
}

static void node_step(struct sim_world *w, void *arg, uint64_t data) {
    struct simnode *n = arg;
    (void)data;
    uint64_t now = sim_now_ns(w);
    if (!n->up && n->start_at_ns <= now) {
        n->start_at_ns = UINT64_MAX;
        node_start_now(n);
    }
    if (n->up) {
        node_restarts(n, now);
        node_phases(n);
    }
    sim_timer_at(w, now + SIMNODE_STEP_NS, node_step, n, 0);
}

void simnode_start(struct simnode *n) {
    strom_assert(!n->up);
    n->start_at_ns = sim_now_ns(n->w);
}

/* --- faults ----------------------------------------------------------------------------------- */

void simnode_crash_role(struct simnode *n, uint32_t slot, uint64_t after_calls) {
    strom_assert(slot < n->role_count);
    struct simnode_role *r = &n->roles[slot];
    if (!r->proc || !sim_proc_alive(r->proc)) {
        return;
    }
    n->stats.role_crashes++;
    sim_trace(n->w, "role.crash", r->role, r->index, after_calls);
    if (after_calls == 0) {
        sim_proc_kill(n->w, r->proc);
    } else {
        sim_proc_crash_after_calls(r->proc, after_calls);
    }
}

uint32_t simnode_role_count(const struct simnode *n) {
    return n->role_count;
}

void simnode_role_of(const struct simnode *n, uint32_t slot, enum node_role *role,
                     uint32_t *index) {
    strom_assert(slot < n->role_count);
    *role = n->roles[slot].role;
    *index = n->roles[slot].index;
}

void simnode_crash(struct simnode *n, enum io_memfs_crash_mode mode) {
    if (!n->up) {
        return;
    }
    if (n->hook) {
        n->hook(n->hook_arg, n, SIMNODE_BEFORE_CRASH);
    }
    sim_trace(n->w, "node.crash.mode", n->wnode, (uint64_t)mode, n->generation);
    for (uint32_t i = 0; i < n->role_count; i++) {
        n->roles[i].proc = NULL; /* their exits, reported later, are of a node gone */
    }
    sim_node_crash(n->w, n->wnode);
    io_memfs_crash(n->fs, mode);
    memset(&n->shm, 0, sizeof n->shm);
    n->up = false;
    n->phase = PHASE_DOWN;
    n->stats.node_crashes++;
    n->start_at_ns = sim_now_ns(n->w) + SIMNODE_RESTART_NS;
}

/* --- queries ------------------------------------------------------------------------------------
 */

bool simnode_ready(const struct simnode *n) {
    if (!n->up || n->phase != PHASE_GATEWAYS) {
        return false;
    }
    for (uint32_t i = 0; i < n->role_count; i++) {
        if (!role_ready(n, &n->roles[i])) {
            return false;
        }
    }
    return true;
}

bool simnode_up(const struct simnode *n) {
    return n->up;
}

const struct node_shm *simnode_shm(const struct simnode *n) {
    return n->up ? &n->shm : NULL;
}

const struct node_config *simnode_config(const struct simnode *n) {
    return &n->config;
}

struct io_memfs *simnode_disk(struct simnode *n) {
    return n->fs;
}

uint32_t simnode_world_node(const struct simnode *n) {
    return n->wnode;
}

uint32_t simnode_generation(const struct simnode *n) {
    return n->generation;
}

void simnode_get_stats(const struct simnode *n, struct simnode_stats *out) {
    *out = n->stats;
}

void simnode_disk_report(struct simnode *n, void *file) {
    FILE *f = file;
    struct io disk;
    io_memfs_io(n->fs, &disk);
    for (uint32_t c = 0; c < n->config.commits; c++) {
        char dir[NODE_DIR_BYTES_MAX + 32];
        commit_dir(&n->config, c, dir, sizeof dir);
        struct store_options o;
        store_options_default(&o);
        o.read_only = true;
        o.create = false;
        o.batch_bytes_max = n->config.frame_bytes_max + 4096;
        struct store *st = NULL;
        strom_err err = store_open(&disk, dir, &o, &st);
        if (err) {
            fprintf(f, "sim.store  commit:%u  open:%s\n", c, strom_errname(err));
            continue;
        }
        struct store_stats ss;
        store_get_stats(st, &ss);
        fprintf(f,
                "sim.store  commit:%u  streams:%llu  end:%llu  checkpoint:%llu  replayed:%llu  "
                "cut_pos:%llu  cut_bytes:%llu  damaged:%llu  first_damage:%llu  ignored:%llu\n",
                c, (unsigned long long)ss.streams, (unsigned long long)store_end_pos(st),
                (unsigned long long)ss.open_checkpoint_pos,
                (unsigned long long)ss.open_replayed_records, (unsigned long long)ss.open_cut_pos,
                (unsigned long long)ss.open_cut_bytes, (unsigned long long)ss.open_damaged_ranges,
                (unsigned long long)ss.open_first_damage_pos,
                (unsigned long long)ss.open_ignored_records);
        store_close(st);
    }
}
