/*
 * io_sim.c: the simulated io (see io.h and sim.h): the table every simulated process calls.
 *
 * Every call first counts itself (io_enter): a process planned to crash at this call dies here,
 * in the middle of whatever it was doing, and a process that made SIM_SLICE_CALLS calls without
 * blocking is preempted for SIM_SLICE_NS (so a loop that polls a clock still sees time move).
 *
 * Files, paths and directories go to the node's disk (io_memfs) after a latency drawn from the
 * world's sim_latency: the process blocks first and the operation happens when it resumes, so a
 * crash during the wait means the operation never happened. An asynchronous write happens at its
 * wait, after a write's latency (io_memfs keeps it until then; a death or crash before drops it).
 * The disk descriptors a process holds are recorded so that its death closes them.
 *
 * Clocks read the simulated time. Futexes, pollers, fd_wait and sleep block the fiber (sim.c);
 * a caught signal ends a poller wait or a sleep early, as EINTR would. Processes cannot fork
 * (the driver is the supervisor and spawns them); kill reaches processes of the same node.
 * Shared memory is plain memory owned by the node, freed when the node crashes.
 */
#include "sim/sim_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/assert.h"

static struct sim_proc *proc_of(struct io *io) {
    struct sim_proc *p = io->ctx;
    strom_assert(p != NULL && p->world != NULL);
    return p;
}

/* Counts a call of p; may crash or preempt p (see the file comment). */
static struct sim_proc *io_enter(struct io *io) {
    struct sim_proc *p = proc_of(io);
    struct sim_world *w = p->world;
    w->stats.io_calls++;
    if (p->state == SIM_PROC_SUPERVISOR) {
        return p;
    }
    strom_assert(p == w->current);
    if (p->crash_after_calls > 0 && --p->crash_after_calls == 0) {
        sim_proc_end(w, p, true, 0);
    }
    if (++p->calls_in_slice > SIM_SLICE_CALLS) {
        w->stats.preemptions++;
        if (p->spin_since_ns == 0) {
            p->spin_since_ns = w->now_ns + 1;
        } else if (w->now_ns + 1 - p->spin_since_ns > w->stats.spin_ns_max) {
            w->stats.spin_ns_max = w->now_ns + 1 - p->spin_since_ns;
            memcpy(w->spin_name, p->name, sizeof w->spin_name);
        }
        p->wait = SIM_WAIT_SLEEP;
        p->preempting = true;
        sim_block(w, p, w->now_ns + SIM_SLICE_NS);
        p->preempting = false;
        p->calls_in_slice = 0;
    }
    return p;
}

/* Blocks p for a latency uniform in [lo, hi] ns (a node's own io never blocks). */
static void io_delay(struct sim_proc *p, uint64_t lo, uint64_t hi) {
    struct sim_world *w = p->world;
    if (p->state == SIM_PROC_SUPERVISOR || hi == 0) {
        return;
    }
    uint64_t ns = lo + rng_below(&w->rng, hi - lo + 1);
    if (ns > 0) {
        p->wait = SIM_WAIT_SLEEP;
        sim_block(w, p, w->now_ns + ns);
    }
}

static struct io *disk_of(struct sim_proc *p) {
    struct io *disk = &p->world->nodes[p->node].disk;
    return disk->vt ? disk : NULL;
}

/* --- files ------------------------------------------------------------------------------------ */

static strom_err sim_file_open(struct io *io, const char *path, uint32_t flags, int *fd_out) {
    struct sim_proc *p = io_enter(io);
    struct io *disk = disk_of(p);
    if (!disk) {
        return STROM_ERR_UNSUPPORTED;
    }
    strom_assert(p->file_count < SIM_PROC_FILES_MAX);
    strom_err err = disk->vt->file_open(disk, path, flags, fd_out);
    if (!err) {
        strom_assert(*fd_out < SIM_FD_BASE);
        p->files[p->file_count++] = *fd_out;
    }
    sim_trace(p->world, "file.open", flags, err, err ? 0 : (uint64_t)*fd_out);
    return err;
}

static strom_err sim_file_close(struct io *io, int fd) {
    struct sim_proc *p = io_enter(io);
    struct io *disk = disk_of(p);
    for (uint32_t i = 0; i < p->file_count; i++) {
        if (p->files[i] == fd) {
            p->files[i] = p->files[--p->file_count];
            break;
        }
    }
    return disk ? disk->vt->file_close(disk, fd) : STROM_ERR_INVALID_ARGUMENT;
}

void sim_proc_files_close(struct sim_proc *p) {
    struct io *disk = disk_of(p);
    for (uint32_t i = 0; disk && i < p->file_count; i++) {
        disk->vt->file_close(disk, p->files[i]);
    }
    p->file_count = 0;
}

static strom_err sim_file_pread(struct io *io, int fd, void *buf, size_t len, uint64_t off,
                                size_t *got) {
    struct sim_proc *p = io_enter(io);
    io_delay(p, 0, p->world->latency.disk_read_ns_max);
    struct io *disk = disk_of(p);
    strom_err err =
        disk ? disk->vt->file_pread(disk, fd, buf, len, off, got) : STROM_ERR_INVALID_ARGUMENT;
    sim_trace(p->world, "file.pread", off, len, err);
    return err;
}

static strom_err sim_file_pwrite(struct io *io, int fd, const void *buf, size_t len, uint64_t off) {
    struct sim_proc *p = io_enter(io);
    io_delay(p, 0, p->world->latency.disk_write_ns_max);
    struct io *disk = disk_of(p);
    strom_err err =
        disk ? disk->vt->file_pwrite(disk, fd, buf, len, off) : STROM_ERR_INVALID_ARGUMENT;
    sim_trace(p->world, "file.pwrite", off, len, err);
    return err;
}

static strom_err sim_file_pwritev(struct io *io, int fd, const struct io_iov *iov,
                                  uint32_t iov_count, uint64_t off) {
    struct sim_proc *p = io_enter(io);
    strom_assert(iov_count <= IO_IOV_MAX);
    io_delay(p, 0, p->world->latency.disk_write_ns_max);
    struct io *disk = disk_of(p);
    strom_err err =
        disk ? disk->vt->file_pwritev(disk, fd, iov, iov_count, off) : STROM_ERR_INVALID_ARGUMENT;
    size_t len = 0;
    for (uint32_t i = 0; i < iov_count; i++) {
        len += iov[i].len;
    }
    sim_trace(p->world, "file.pwritev", off, len, err);
    return err;
}

static strom_err sim_file_datasync(struct io *io, int fd) {
    struct sim_proc *p = io_enter(io);
    const struct sim_latency *l = &p->world->latency;
    io_delay(p, l->disk_sync_ns_min, l->disk_sync_ns_max);
    struct io *disk = disk_of(p);
    strom_err err = disk ? disk->vt->file_datasync(disk, fd) : STROM_ERR_INVALID_ARGUMENT;
    sim_trace(p->world, "file.datasync", (uint64_t)fd, err, 0);
    return err;
}

/* The disk's asynchronous write (io_memfs: it happens at its wait, so a process that dies or a
 * node that crashes before then never wrote it). */
static strom_err sim_file_pwrite_start(struct io *io, int fd, const void *buf, size_t len,
                                       uint64_t off, struct io_sync *s) {
    struct sim_proc *p = io_enter(io);
    struct io *disk = disk_of(p);
    strom_err err =
        disk ? disk->vt->file_pwrite_start(disk, fd, buf, len, off, s) : STROM_ERR_INVALID_ARGUMENT;
    p->world->stats.async_writes += err == STROM_OK;
    sim_trace(p->world, "file.pwrite_start", off, len, err);
    return err;
}

/* Waits for a sync (done when it started) or a write: the write takes a write's latency, then
 * happens on the disk. */
static strom_err sim_file_datasync_wait(struct io *io, struct io_sync *s, uint64_t timeout_ns) {
    struct sim_proc *p = io_enter(io);
    if (!s->done) {
        io_delay(p, 0, p->world->latency.disk_write_ns_max);
    }
    struct io *disk = disk_of(p);
    strom_err err =
        disk ? disk->vt->file_datasync_wait(disk, s, timeout_ns) : STROM_ERR_INVALID_ARGUMENT;
    sim_trace(p->world, "file.write_wait", s->write_bytes, s->result, err);
    return err;
}

static strom_err sim_file_writeback(struct io *io, int fd, uint64_t off, uint64_t len, bool wait) {
    struct sim_proc *p = io_enter(io);
    io_delay(p, 0, wait ? p->world->latency.disk_write_ns_max : 0);
    struct io *disk = disk_of(p);
    strom_err err =
        disk ? disk->vt->file_writeback(disk, fd, off, len, wait) : STROM_ERR_INVALID_ARGUMENT;
    sim_trace(p->world, "file.writeback", off, len, err);
    return err;
}

static strom_err sim_file_cache_drop(struct io *io, int fd, uint64_t off, uint64_t len) {
    struct sim_proc *p = io_enter(io);
    struct io *disk = disk_of(p);
    strom_err err =
        disk ? disk->vt->file_cache_drop(disk, fd, off, len) : STROM_ERR_INVALID_ARGUMENT;
    sim_trace(p->world, "file.cache_drop", off, len, err);
    return err;
}

static strom_err sim_file_size(struct io *io, int fd, uint64_t *size_out) {
    struct sim_proc *p = io_enter(io);
    struct io *disk = disk_of(p);
    return disk ? disk->vt->file_size(disk, fd, size_out) : STROM_ERR_INVALID_ARGUMENT;
}

static strom_err sim_file_truncate(struct io *io, int fd, uint64_t size) {
    struct sim_proc *p = io_enter(io);
    io_delay(p, 0, p->world->latency.disk_write_ns_max);
    struct io *disk = disk_of(p);
    strom_err err = disk ? disk->vt->file_truncate(disk, fd, size) : STROM_ERR_INVALID_ARGUMENT;
    sim_trace(p->world, "file.truncate", size, err, 0);
    return err;
}

static strom_err sim_file_allocate(struct io *io, int fd, uint64_t off, uint64_t len) {
    struct sim_proc *p = io_enter(io);
    io_delay(p, 0, p->world->latency.disk_write_ns_max);
    struct io *disk = disk_of(p);
    strom_err err = disk ? disk->vt->file_allocate(disk, fd, off, len) : STROM_ERR_INVALID_ARGUMENT;
    sim_trace(p->world, "file.allocate", off, len, err);
    return err;
}

static strom_err sim_file_punch(struct io *io, int fd, uint64_t off, uint64_t len) {
    struct sim_proc *p = io_enter(io);
    io_delay(p, 0, p->world->latency.disk_write_ns_max);
    struct io *disk = disk_of(p);
    strom_err err = disk ? disk->vt->file_punch(disk, fd, off, len) : STROM_ERR_INVALID_ARGUMENT;
    sim_trace(p->world, "file.punch", off, len, err);
    return err;
}

/* --- paths and directories -------------------------------------------------------------------- */

static strom_err sim_path_unlink(struct io *io, const char *path) {
    struct sim_proc *p = io_enter(io);
    struct io *disk = disk_of(p);
    return disk ? disk->vt->path_unlink(disk, path) : STROM_ERR_UNSUPPORTED;
}

static strom_err sim_path_rename(struct io *io, const char *from, const char *to) {
    struct sim_proc *p = io_enter(io);
    struct io *disk = disk_of(p);
    return disk ? disk->vt->path_rename(disk, from, to) : STROM_ERR_UNSUPPORTED;
}

static strom_err sim_path_exists(struct io *io, const char *path, bool *exists_out,
                                 bool *is_dir_out) {
    struct sim_proc *p = io_enter(io);
    struct io *disk = disk_of(p);
    return disk ? disk->vt->path_exists(disk, path, exists_out, is_dir_out) : STROM_ERR_UNSUPPORTED;
}

static strom_err sim_dir_create(struct io *io, const char *path) {
    struct sim_proc *p = io_enter(io);
    struct io *disk = disk_of(p);
    return disk ? disk->vt->dir_create(disk, path) : STROM_ERR_UNSUPPORTED;
}

static strom_err sim_dir_sync(struct io *io, const char *path) {
    struct sim_proc *p = io_enter(io);
    const struct sim_latency *l = &p->world->latency;
    io_delay(p, l->disk_sync_ns_min, l->disk_sync_ns_max);
    struct io *disk = disk_of(p);
    return disk ? disk->vt->dir_sync(disk, path) : STROM_ERR_UNSUPPORTED;
}

static strom_err sim_dir_list(struct io *io, const char *path, io_dir_entry_fn fn, void *arg) {
    struct sim_proc *p = io_enter(io);
    struct io *disk = disk_of(p);
    return disk ? disk->vt->dir_list(disk, path, fn, arg) : STROM_ERR_UNSUPPORTED;
}

/* --- clocks, futexes, entropy ----------------------------------------------------------------- */

static uint64_t sim_clock_monotonic_ns(struct io *io) {
    struct sim_proc *p = io_enter(io);
    return p->world->now_ns;
}

static uint64_t sim_clock_realtime_ns(struct io *io) {
    struct sim_proc *p = io_enter(io);
    return SIM_REALTIME_BASE_NS + p->world->now_ns;
}

static strom_err sim_futex_wait(struct io *io, uint32_t *addr, uint32_t expected,
                                uint64_t timeout_ns) {
    struct sim_proc *p = io_enter(io);
    struct sim_world *w = p->world;
    strom_assert(p->state != SIM_PROC_SUPERVISOR);
    if (__atomic_load_n(addr, __ATOMIC_ACQUIRE) != expected) {
        return STROM_OK;
    }
    p->wait = SIM_WAIT_FUTEX;
    p->futex_addr = addr;
    bool woken = sim_block(w, p, timeout_ns ? w->now_ns + timeout_ns : UINT64_MAX);
    return woken ? STROM_OK : STROM_ERR_TIMEOUT;
}

static strom_err sim_futex_wake(struct io *io, uint32_t *addr, uint32_t count) {
    struct sim_proc *p = io_enter(io);
    struct sim_world *w = p->world;
    for (uint32_t i = 0; i < w->proc_hi && count > 0; i++) {
        struct sim_proc *q = &w->procs[i];
        if (q->state == SIM_PROC_BLOCKED && q->wait == SIM_WAIT_FUTEX && q->futex_addr == addr &&
            q->node == p->node) {
            sim_wake(w, q);
            count--;
        }
    }
    return STROM_OK;
}

static strom_err sim_entropy(struct io *io, void *buf, size_t len) {
    struct sim_proc *p = io_enter(io);
    rng_fill(&p->world->rng, buf, len);
    return STROM_OK;
}

/* --- network ---------------------------------------------------------------------------------- */

static strom_err sim_tcp_listen(struct io *io, const char *host, uint16_t port, uint32_t backlog,
                                int *fd_out, uint16_t *port_out) {
    struct sim_proc *p = io_enter(io);
    if (!host || !*host) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    return sim_net_listen(p->world, p, port, backlog, fd_out, port_out);
}

static strom_err sim_tcp_accept(struct io *io, int listen_fd, int *fd_out) {
    struct sim_proc *p = io_enter(io);
    return sim_net_accept(p->world, p, listen_fd, fd_out);
}

/* Connects within the caller's node (a cluster maps hosts to nodes later). */
static strom_err sim_tcp_connect(struct io *io, const char *host, uint16_t port,
                                 uint64_t timeout_ns, int *fd_out) {
    struct sim_proc *p = io_enter(io);
    (void)timeout_ns;
    if (!host || !*host) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    return sim_net_connect(p->world, p->node, (int32_t)p->index, p->node, port, fd_out);
}

static strom_err sim_sock_recv(struct io *io, int fd, void *buf, size_t len, size_t *got) {
    struct sim_proc *p = io_enter(io);
    strom_assert(len > 0);
    return sim_net_recv(p->world, fd, buf, len, got);
}

static strom_err sim_sock_send(struct io *io, int fd, const struct io_iov *iov, uint32_t iov_count,
                               size_t *sent) {
    struct sim_proc *p = io_enter(io);
    strom_assert(iov_count > 0 && iov_count <= IO_IOV_MAX);
    return sim_net_send(p->world, fd, iov, iov_count, sent);
}

static strom_err sim_sock_close(struct io *io, int fd) {
    struct sim_proc *p = io_enter(io);
    return sim_net_close(p->world, fd);
}

/* True when p has a pending signal it catches (a blocking wait ends early, as with EINTR). */
static bool signal_pending(const struct sim_proc *p) {
    return (p->signals & p->signals_caught) != 0;
}

static strom_err sim_fd_wait(struct io *io, int fd, uint32_t events, uint64_t timeout_ns,
                             uint32_t *ready_out) {
    struct sim_proc *p = io_enter(io);
    struct sim_world *w = p->world;
    uint64_t deadline = timeout_ns == IO_TIMEOUT_INFINITE ? UINT64_MAX : w->now_ns + timeout_ns;
    uint32_t ready = sim_obj_ready(w, fd) & (events | IO_POLL_ERR);
    while (ready == 0 && timeout_ns > 0 && w->now_ns < deadline && !signal_pending(p)) {
        p->wait = SIM_WAIT_FD;
        p->wait_fd = fd;
        p->wait_events = events;
        if (!sim_block(w, p, deadline)) {
            break;
        }
        ready = sim_obj_ready(w, fd) & (events | IO_POLL_ERR);
    }
    *ready_out = ready;
    return STROM_OK;
}

static strom_err sim_poller_create(struct io *io, int *poller_out) {
    struct sim_proc *p = io_enter(io);
    return sim_net_poller_create(p->world, p, poller_out);
}

static strom_err sim_poller_control(struct io *io, int poller, enum io_poll_op op, int fd,
                                    uint32_t events, uint64_t token) {
    struct sim_proc *p = io_enter(io);
    return sim_net_poller_control(p->world, poller, op, fd, events, token);
}

static strom_err sim_poller_wait(struct io *io, int poller, struct io_poll_event *events,
                                 uint32_t events_max, uint64_t timeout_ns, uint32_t *count_out) {
    struct sim_proc *p = io_enter(io);
    struct sim_world *w = p->world;
    strom_assert(events_max > 0);
    if (!sim_obj_get(w, poller)) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    uint64_t deadline = timeout_ns == IO_TIMEOUT_INFINITE ? UINT64_MAX : w->now_ns + timeout_ns;
    uint32_t n = sim_net_poller_ready(w, poller, events, events_max);
    while (n == 0 && timeout_ns > 0 && w->now_ns < deadline && !signal_pending(p)) {
        p->wait = SIM_WAIT_POLLER;
        p->wait_fd = poller;
        if (!sim_block(w, p, deadline)) {
            break;
        }
        n = sim_net_poller_ready(w, poller, events, events_max);
    }
    *count_out = n;
    return STROM_OK;
}

static strom_err sim_poller_close(struct io *io, int poller) {
    struct sim_proc *p = io_enter(io);
    return sim_net_close(p->world, poller);
}

static strom_err sim_event_create(struct io *io, int *fd_out) {
    struct sim_proc *p = io_enter(io);
    return sim_net_event_create(p->world, p, fd_out);
}

static strom_err sim_event_signal(struct io *io, int fd) {
    struct sim_proc *p = io_enter(io);
    return sim_net_event_signal(p->world, fd);
}

static strom_err sim_event_drain(struct io *io, int fd) {
    struct sim_proc *p = io_enter(io);
    return sim_net_event_drain(p->world, fd);
}

static strom_err sim_event_close(struct io *io, int fd) {
    struct sim_proc *p = io_enter(io);
    return sim_net_close(p->world, fd);
}

/* --- processes and signals -------------------------------------------------------------------- */

static strom_err sim_proc_fork(struct io *io, int32_t *pid_out) {
    (void)io_enter(io);
    (void)pid_out;
    return STROM_ERR_UNSUPPORTED;
}

static strom_err sim_proc_reap(struct io *io, struct io_exit *exit_out) {
    (void)io_enter(io);
    (void)exit_out;
    return STROM_ERR_NOT_FOUND;
}

static strom_err sim_proc_kill_call(struct io *io, int32_t pid, enum io_signal sig) {
    struct sim_proc *p = io_enter(io);
    struct sim_world *w = p->world;
    for (uint32_t i = 0; i < SIM_PROCS_MAX; i++) {
        struct sim_proc *q = &w->procs[i];
        if (q->pid != pid || q->node != p->node || !sim_proc_alive(q)) {
            continue;
        }
        sim_proc_signal(w, q, sig);
        return STROM_OK;
    }
    return STROM_ERR_NOT_FOUND;
}

static void sim_proc_exit_call(struct io *io, int code) {
    struct sim_proc *p = io_enter(io);
    strom_assert(p->state != SIM_PROC_SUPERVISOR);
    sim_proc_end(p->world, p, false, code);
}

/* One simulated machine runs every process in turn: nothing to place. */
static strom_err sim_proc_set_cpu(struct io *io, uint32_t cpu) {
    (void)io;
    (void)cpu;
    return STROM_OK;
}

static int32_t sim_proc_id(struct io *io) {
    return proc_of(io)->pid;
}

static strom_err sim_proc_die_with_parent(struct io *io, enum io_signal sig) {
    (void)io_enter(io);
    (void)sig;
    return STROM_OK;
}

static strom_err sim_signal_catch(struct io *io, enum io_signal sig) {
    struct sim_proc *p = io_enter(io);
    strom_assert(sig >= 0 && sig < IO_SIGNAL_COUNT_ && sig != IO_SIGNAL_KILL);
    p->signals_caught |= 1u << sig;
    p->signals_ignored &= ~(1u << sig);
    return STROM_OK;
}

static strom_err sim_signal_ignore(struct io *io, enum io_signal sig) {
    struct sim_proc *p = io_enter(io);
    strom_assert(sig >= 0 && sig < IO_SIGNAL_COUNT_ && sig != IO_SIGNAL_KILL);
    p->signals_caught &= ~(1u << sig);
    p->signals_ignored |= 1u << sig;
    p->signals &= ~(1u << sig);
    return STROM_OK;
}

static strom_err sim_signal_default(struct io *io, enum io_signal sig) {
    struct sim_proc *p = io_enter(io);
    strom_assert(sig >= 0 && sig < IO_SIGNAL_COUNT_ && sig != IO_SIGNAL_KILL);
    p->signals_caught &= ~(1u << sig);
    p->signals_ignored &= ~(1u << sig);
    p->signals &= ~(1u << sig);
    return STROM_OK;
}

static bool sim_signal_take(struct io *io, enum io_signal sig) {
    struct sim_proc *p = io_enter(io);
    strom_assert(sig >= 0 && sig < IO_SIGNAL_COUNT_);
    bool caught = (p->signals & (1u << sig)) != 0;
    p->signals &= ~(1u << sig);
    return caught;
}

static void sim_sleep_ns(struct io *io, uint64_t timeout_ns) {
    struct sim_proc *p = io_enter(io);
    if (timeout_ns == 0 || p->state == SIM_PROC_SUPERVISOR || signal_pending(p)) {
        return;
    }
    p->wait = SIM_WAIT_SLEEP;
    sim_block(p->world, p, p->world->now_ns + timeout_ns);
}

static void sim_log_write(struct io *io, const char *text, size_t len) {
    struct sim_proc *p = io_enter(io);
    sim_log_line(p->world, p, text, len);
}

/* A lock on an open file: one process of the simulator owns a data directory at a time (the
 * driver runs one supervisor per node), so the lock is always granted. */
static strom_err sim_file_lock(struct io *io, int fd) {
    (void)io_enter(io);
    (void)fd;
    return STROM_OK;
}

/* EXISTS when a process of the caller's node listens on port; port 0 finds a free one. */
static strom_err sim_tcp_probe(struct io *io, const char *host, uint16_t port, uint16_t *port_out) {
    struct sim_proc *p = io_enter(io);
    if (!host || !*host) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    return sim_net_probe(p->world, p->node, port, port_out);
}

/* --- shared memory --------------------------------------------------------------------------- */

/* A region of the node: zero-filled anonymous memory, freed when the node crashes. */
static strom_err sim_shm_create(struct io *io, const char *name, size_t bytes, void **addr_out) {
    struct sim_proc *p = io_enter(io);
    struct sim_node *n = &p->world->nodes[p->node];
    if (bytes == 0 || bytes > IO_SHM_BYTES_MAX || name == NULL || strlen(name) > 63) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    strom_assert(n->region_count < SIM_SHM_REGIONS_MAX);
    size_t rounded = (bytes + 4095u) & ~(size_t)4095u;
    void *addr = mmap(NULL, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED) {
        return STROM_ERR_NO_MEMORY;
    }
    n->regions[n->region_count++] = (struct sim_region){.addr = addr, .bytes = rounded};
    sim_trace(p->world, "shm.create", p->node, rounded, 0);
    *addr_out = addr;
    return STROM_OK;
}

/* Unmapping from one process changes nothing in one address space: the node keeps the region
 * until it crashes (or the world ends). */
static strom_err sim_shm_unmap(struct io *io, void *addr, size_t bytes) {
    (void)io_enter(io);
    (void)addr;
    (void)bytes;
    return STROM_OK;
}

/* Nothing to do in one address space of private memory. Not counted as a call (io_enter): the
 * simulator's own driver is the supervisor and never asks for it. */
static strom_err sim_shm_prefault(struct io *io, void *addr, size_t bytes) {
    (void)io;
    (void)addr;
    (void)bytes;
    return STROM_OK;
}

static const struct io_vtable sim_vtable = {
    .file_open = sim_file_open,
    .file_close = sim_file_close,
    .file_pread = sim_file_pread,
    .file_pwrite = sim_file_pwrite,
    .file_datasync = sim_file_datasync,
    .file_size = sim_file_size,
    .file_truncate = sim_file_truncate,
    .file_allocate = sim_file_allocate,
    .file_punch = sim_file_punch,
    .path_unlink = sim_path_unlink,
    .path_rename = sim_path_rename,
    .path_exists = sim_path_exists,
    .dir_create = sim_dir_create,
    .dir_sync = sim_dir_sync,
    .dir_list = sim_dir_list,
    .clock_monotonic_ns = sim_clock_monotonic_ns,
    .clock_realtime_ns = sim_clock_realtime_ns,
    .futex_wait = sim_futex_wait,
    .futex_wake = sim_futex_wake,
    .entropy = sim_entropy,
    .tcp_listen = sim_tcp_listen,
    .tcp_accept = sim_tcp_accept,
    .tcp_connect = sim_tcp_connect,
    .sock_recv = sim_sock_recv,
    .sock_send = sim_sock_send,
    .sock_close = sim_sock_close,
    .fd_wait = sim_fd_wait,
    .poller_create = sim_poller_create,
    .poller_control = sim_poller_control,
    .poller_wait = sim_poller_wait,
    .poller_close = sim_poller_close,
    .event_create = sim_event_create,
    .event_signal = sim_event_signal,
    .event_drain = sim_event_drain,
    .event_close = sim_event_close,
    .proc_fork = sim_proc_fork,
    .proc_reap = sim_proc_reap,
    .proc_kill = sim_proc_kill_call,
    .proc_exit = sim_proc_exit_call,
    .proc_id = sim_proc_id,
    .proc_die_with_parent = sim_proc_die_with_parent,
    .signal_catch = sim_signal_catch,
    .signal_ignore = sim_signal_ignore,
    .signal_default = sim_signal_default,
    .signal_take = sim_signal_take,
    .sleep_ns = sim_sleep_ns,
    .log_write = sim_log_write,
    .file_lock = sim_file_lock,
    .tcp_probe = sim_tcp_probe,
    .shm_create = sim_shm_create,
    .shm_unmap = sim_shm_unmap,
    .file_pwritev = sim_file_pwritev,
    .file_datasync_start = io_sync_run_now, /* sim_file_datasync at once, its delay included */
    .file_datasync_wait = sim_file_datasync_wait,
    .file_datasync_notify = io_sync_notify_unsupported,
    .file_writeback = sim_file_writeback,
    .file_cache_drop = sim_file_cache_drop,
    .proc_set_cpu = sim_proc_set_cpu,
    .file_pwrite_start = sim_file_pwrite_start,
    .shm_prefault = sim_shm_prefault,
};

void sim_proc_io_init(struct sim_proc *p) {
    p->io.vt = &sim_vtable;
    p->io.ctx = p;
}

void sim_node_regions_free(struct sim_node *n) {
    for (uint32_t i = 0; i < n->region_count; i++) {
        munmap(n->regions[i].addr, n->regions[i].bytes);
    }
    n->region_count = 0;
}
