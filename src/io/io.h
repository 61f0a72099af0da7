/*
 * io.h: the one door from strom's role code to the operating system.
 *
 * Role code (sequencer, gateway, commit, supervisor) and the libraries they run (store, ring)
 * never call a syscall, read a clock or draw entropy except through a struct io. The production
 * implementation (io_linux.c) calls Linux; the simulator supplies another that runs many roles in
 * one process under simulated time and injects faults (torn writes, lost unsynced data, ENOSPC,
 * failed fdatasync, bit flips on read).
 *
 * Every call returns a strom_err: STROM_OK, or an operating error (STROM_ERR_NO_SPACE, _IO,
 * _NOT_FOUND, ...). File descriptors are small non-negative integers owned by the io instance.
 *
 * The table grows by appending members; each member is documented where it is declared.
 */
#ifndef STROM_IO_IO_H
#define STROM_IO_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct io;

/* Flags of io_file_open. */
enum io_open_flags {
    IO_OPEN_READ = 1u << 0,   /* read only */
    IO_OPEN_WRITE = 1u << 1,  /* read and write */
    IO_OPEN_CREATE = 1u << 2, /* create when missing (mode 0644) */
    IO_OPEN_EXCL = 1u << 3,   /* with CREATE: fail with STROM_ERR_EXISTS when present */
    /* with WRITE: writes bypass the page cache (Linux O_DIRECT): each pwrite's buffer address,
     * length and offset are multiples of IO_DIRECT_ALIGN (else INVALID_ARGUMENT); UNSUPPORTED
     * where the file system refuses it */
    IO_OPEN_DIRECT = 1u << 4,
};

/* The alignment of IO_OPEN_DIRECT writes (the logical block size of common disks, and the page). */
#define IO_DIRECT_ALIGN 4096u

/* Readiness bits of a poller registration and of a poller event. */
enum io_poll_bits {
    IO_POLL_IN = 1u << 0,  /* readable (data, a pending connection, a signalled event) */
    IO_POLL_OUT = 1u << 1, /* writable */
    IO_POLL_ERR = 1u << 2, /* error or hang-up; reported whether asked for or not */
};

/* Operations of io_poller_control. */
enum io_poll_op {
    IO_POLL_ADD = 1,    /* register fd with events and token */
    IO_POLL_MODIFY = 2, /* change the events and token of a registered fd */
    IO_POLL_REMOVE = 3, /* unregister fd (events and token ignored) */
};

/* One ready descriptor returned by io_poller_wait: the token it was registered with. */
struct io_poll_event {
    uint64_t token;  /* the caller's token from IO_POLL_ADD/MODIFY */
    uint32_t events; /* enum io_poll_bits that are ready */
};

/* A piece of a gathered send: len bytes at base. */
struct io_iov {
    const void *base;
    size_t len;
};

/* An asynchronous fdatasync (io_file_datasync_start): the caller owns it and keeps it in place,
 * untouched, until done; io_file_datasync_wait sets done and result. */
struct io_sync {
    int fd;
    bool done;          /* the sync finished (result holds its outcome) */
    strom_err result;   /* once done: STROM_OK, or the error file_datasync would have returned */
    size_t write_bytes; /* io_file_pwrite_start: the bytes the write must write; 0: a sync */
};

/* The most pieces one io_sock_send takes (IOV_MAX is 1024 on Linux; we stay well below). */
#define IO_IOV_MAX 64

/* The largest region io_shm_create makes (64 GiB): a bound, not a target. */
#define IO_SHM_BYTES_MAX ((size_t)1 << 36)

/* The most asynchronous fdatasyncs one io has in flight. */
#define IO_SYNCS_MAX 8

/* A poller or socket wait without a deadline. */
#define IO_TIMEOUT_INFINITE UINT64_MAX

/* Signals a process may catch, raise or send. Numbered by io, not by the OS. */
enum io_signal {
    IO_SIGNAL_TERM = 0, /* polite stop request */
    IO_SIGNAL_INT = 1,  /* interactive stop (Ctrl-C) */
    IO_SIGNAL_CHLD = 2, /* a child changed state */
    IO_SIGNAL_HUP = 3,  /* hang-up; reserved for a config reload */
    IO_SIGNAL_KILL = 4, /* cannot be caught; only for io_proc_kill */
    IO_SIGNAL_PIPE = 5, /* write to a closed pipe; io_signal_ignore it */
    IO_SIGNAL_COUNT_
};

/* How a child process ended, from io_proc_reap. */
struct io_exit {
    int32_t pid;           /* the child */
    bool signalled;        /* true: killed by a signal (signal_number), false: exited (code) */
    int32_t code;          /* exit code, when !signalled */
    int32_t signal_number; /* the OS signal number, when signalled (for logs only) */
};

/* Called once per directory entry by io_dir_list; a non-OK return stops the listing. */
typedef strom_err (*io_dir_entry_fn)(void *arg, const char *name);

struct io_vtable {
    /* Files. Paths are NUL-terminated and at most 4095 bytes. */
    strom_err (*file_open)(struct io *io, const char *path, uint32_t flags, int *fd_out);
    strom_err (*file_close)(struct io *io, int fd);
    /* Reads up to len bytes at off; *got < len only at the end of the file. */
    strom_err (*file_pread)(struct io *io, int fd, void *buf, size_t len, uint64_t off,
                            size_t *got);
    /* Writes all len bytes at off, or returns an error (a partial write is an error). */
    strom_err (*file_pwrite)(struct io *io, int fd, const void *buf, size_t len, uint64_t off);
    /* fdatasync. A failure is final for the file's unsynced data (see docs/storage.md). */
    strom_err (*file_datasync)(struct io *io, int fd);
    strom_err (*file_size)(struct io *io, int fd, uint64_t *size_out);
    strom_err (*file_truncate)(struct io *io, int fd, uint64_t size);
    /* Reserves [off, off+len) so later writes there cannot fail with ENOSPC; the file's size
     * does not change (FALLOC_FL_KEEP_SIZE). */
    strom_err (*file_allocate)(struct io *io, int fd, uint64_t off, uint64_t len);
    /* Gives [off, off+len) back to the file system; reads there return zeros afterwards. */
    strom_err (*file_punch)(struct io *io, int fd, uint64_t off, uint64_t len);

    /* Paths and directories. */
    strom_err (*path_unlink)(struct io *io, const char *path);
    strom_err (*path_rename)(struct io *io, const char *from, const char *to);
    strom_err (*path_exists)(struct io *io, const char *path, bool *exists_out, bool *is_dir_out);
    /* Creates one directory level; STROM_OK when it already exists as a directory. */
    strom_err (*dir_create)(struct io *io, const char *path);
    /* fsync of a directory, so that a create or rename in it is durable. */
    strom_err (*dir_sync)(struct io *io, const char *path);
    /* Calls fn for each entry but "." and ".." in unspecified order. */
    strom_err (*dir_list)(struct io *io, const char *path, io_dir_entry_fn fn, void *arg);

    /* Clocks, in nanoseconds. Monotonic never goes back; realtime is since the Unix epoch. */
    uint64_t (*clock_monotonic_ns)(struct io *io);
    uint64_t (*clock_realtime_ns)(struct io *io);

    /* Wake-ups on a 32-bit word in shared memory (Linux futex semantics). wait returns when *addr
     * differs from expected, when woken, or after timeout_ns (0: no timeout), whichever is first;
     * spurious returns are allowed. wake wakes up to count waiters. */
    strom_err (*futex_wait)(struct io *io, uint32_t *addr, uint32_t expected, uint64_t timeout_ns);
    strom_err (*futex_wake)(struct io *io, uint32_t *addr, uint32_t count);

    /* Fills buf with len bytes of entropy (seeds; never used where a run must be replayable). */
    strom_err (*entropy)(struct io *io, void *buf, size_t len);
    /* --- Network: TCP over IPv4 or IPv6 (appended by the node) ------------------------------
     * host is a numeric address ("127.0.0.1", "::1") or "localhost". Every socket io returns is
     * non-blocking and close-on-exec; connected sockets have TCP_NODELAY set. */
    /* Listens on host:port (port 0: any free port) with SO_REUSEADDR and SO_REUSEPORT, so that
     * several processes share one port and the kernel spreads connections between them.
     * *port_out gets the bound port. Errors: INVALID_ARGUMENT (bad host), EXISTS (port taken). */
    strom_err (*tcp_listen)(struct io *io, const char *host, uint16_t port, uint32_t backlog,
                            int *fd_out, uint16_t *port_out);
    /* Accepts one pending connection; AGAIN when none is pending. */
    strom_err (*tcp_accept)(struct io *io, int listen_fd, int *fd_out);
    /* Connects to host:port, waiting at most timeout_ns. Errors: NOT_CONNECTED (refused or
     * unreachable), TIMEOUT, INVALID_ARGUMENT (bad host). */
    strom_err (*tcp_connect)(struct io *io, const char *host, uint16_t port, uint64_t timeout_ns,
                             int *fd_out);
    /* Receives up to len bytes. *got > 0 with OK; AGAIN when nothing is there; CLOSED when the
     * peer closed (or reset) the connection. */
    strom_err (*sock_recv)(struct io *io, int fd, void *buf, size_t len, size_t *got);
    /* Sends the iov_count pieces (at most IO_IOV_MAX) in order, as much as the socket takes now
     * (MSG_NOSIGNAL: a closed peer is CLOSED, never SIGPIPE). *sent may be less than the total;
     * AGAIN when nothing could be sent. */
    strom_err (*sock_send)(struct io *io, int fd, const struct io_iov *iov, uint32_t iov_count,
                           size_t *sent);
    strom_err (*sock_close)(struct io *io, int fd);
    /* Waits until fd is ready for any of events (enum io_poll_bits) or timeout_ns passes;
     * *ready_out gets the ready bits (0 on timeout). For blocking clients without a poller. */
    strom_err (*fd_wait)(struct io *io, int fd, uint32_t events, uint64_t timeout_ns,
                         uint32_t *ready_out);

    /* --- Poller: level-triggered readiness of many descriptors (epoll) ---------------------- */
    strom_err (*poller_create)(struct io *io, int *poller_out);
    strom_err (*poller_control)(struct io *io, int poller, enum io_poll_op op, int fd,
                                uint32_t events, uint64_t token);
    /* Waits up to timeout_ns (0: do not wait; IO_TIMEOUT_INFINITE: no deadline) for ready
     * descriptors and stores at most events_max of them; *count_out may be 0 (timeout or a
     * caught signal). */
    strom_err (*poller_wait)(struct io *io, int poller, struct io_poll_event *events,
                             uint32_t events_max, uint64_t timeout_ns, uint32_t *count_out);
    strom_err (*poller_close)(struct io *io, int poller);

    /* --- Events: wake-ups a poller can wait for (eventfd) -----------------------------------
     * An event is readable (IO_POLL_IN) from a signal until it is drained. Created before a
     * fork, the same event is shared by parent and children: one process signals, another
     * waits for it in its poller. */
    strom_err (*event_create)(struct io *io, int *fd_out);
    strom_err (*event_signal)(struct io *io, int fd);
    /* Clears the event; OK whether it was signalled or not. */
    strom_err (*event_drain)(struct io *io, int fd);
    strom_err (*event_close)(struct io *io, int fd);

    /* --- Processes and signals --------------------------------------------------------------- */
    /* Forks; *pid_out is 0 in the child and the child's id in the parent. The child keeps the
     * parent's signal handlers and starts with every caught-signal flag clear; a signal sent to it
     * right after the fork is not lost. */
    strom_err (*proc_fork)(struct io *io, int32_t *pid_out);
    /* Collects one ended child without waiting: OK with *exit_out filled, AGAIN when children
     * run but none has ended, NOT_FOUND when there are no children. */
    strom_err (*proc_reap)(struct io *io, struct io_exit *exit_out);
    strom_err (*proc_kill)(struct io *io, int32_t pid, enum io_signal sig);
    /* Ends the calling process at once with code (no atexit handlers, no stdio flush); does not
     * return in the production io. */
    void (*proc_exit)(struct io *io, int code);
    int32_t (*proc_id)(struct io *io);
    /* Makes the calling process get sig when its parent dies; NOT_FOUND when the parent is
     * already gone (the caller should exit). Children of a node call it so that a killed
     * supervisor leaves no process behind. */
    strom_err (*proc_die_with_parent)(struct io *io, enum io_signal sig);
    /* Installs a handler that only sets a flag for sig (no SA_RESTART, so a blocking wait
     * returns early); io_signal_take reads and clears the flag. */
    strom_err (*signal_catch)(struct io *io, enum io_signal sig);
    strom_err (*signal_ignore)(struct io *io, enum io_signal sig);
    strom_err (*signal_default)(struct io *io, enum io_signal sig);
    bool (*signal_take)(struct io *io, enum io_signal sig);
    /* Sleeps timeout_ns (a caught signal may end it early). */
    void (*sleep_ns)(struct io *io, uint64_t timeout_ns);
    /* Writes one log line (text, len bytes, ending in '\n') to the process's log (stderr) in one
     * write, so lines of concurrent processes do not interleave. */
    void (*log_write)(struct io *io, const char *text, size_t len);
    /* Takes an exclusive advisory lock on the open file fd without waiting (flock); it holds
     * until fd is closed by every process that shares it. Errors: EXISTS (another holds it). */
    strom_err (*file_lock)(struct io *io, int fd);
    /* Binds host:port without SO_REUSEPORT and closes at once: EXISTS when any socket holds the
     * port (also one with SO_REUSEPORT: another node), INVALID_ARGUMENT for a bad host.
     * *port_out gets the port (a free one when port is 0). */
    strom_err (*tcp_probe)(struct io *io, const char *host, uint16_t port, uint16_t *port_out);

    /* --- Shared memory (appended by the ring) ------------------------------------------------
     * A region of bytes > 0 (rounded up to whole pages), zero-filled, readable and writable,
     * shared with every child forked after its creation at the same address. The supervisor
     * creates the rings' regions before it forks, so a restarted child finds them as they were.
     * name (at most 63 bytes) only labels the region in /proc/<pid>/maps. Errors:
     * INVALID_ARGUMENT (bytes 0 or above IO_SHM_BYTES_MAX, bad name), NO_MEMORY. */
    strom_err (*shm_create)(struct io *io, const char *name, size_t bytes, void **addr_out);
    /* Unmaps a region from the calling process only (others keep their mapping). */
    strom_err (*shm_unmap)(struct io *io, void *addr, size_t bytes);

    /* --- Files, gathered (appended by the store) ---------------------------------------------
     * Writes the iov_count pieces (at most IO_IOV_MAX) one after another at off, all of them, or
     * returns an error (a partial write is an error: what reached the file is unspecified). */
    strom_err (*file_pwritev)(struct io *io, int fd, const struct io_iov *iov, uint32_t iov_count,
                              uint64_t off);

    /* --- Files, asynchronous sync (appended by the commit) ------------------------------------
     * Starts an fdatasync of fd that runs while the caller goes on (Linux: io_uring's
     * IORING_OP_FSYNC with IORING_FSYNC_DATASYNC, run by the kernel's own workers). It covers
     * every write to fd that returned before the call, as file_datasync would; *s is set up here
     * and must stay in place until io_file_datasync_wait reports it done. Several may be in
     * flight (at most IO_SYNCS_MAX); they may finish in any order. An implementation may run the
     * sync at once and return it done. Errors (nothing started): LIMIT (IO_SYNCS_MAX in flight),
     * NO_MEMORY, IO. */
    strom_err (*file_datasync_start)(struct io *io, int fd, struct io_sync *s);
    /* Waits up to timeout_ns (0: do not wait) until s is done, collecting on the way every other
     * started sync that finishes (their done and result are set too). STROM_OK also when the
     * time ran out (s->done says which); errors only for a wait that failed (IO). */
    strom_err (*file_datasync_wait)(struct io *io, struct io_sync *s, uint64_t timeout_ns);
    /* From now on, every asynchronous sync of the calling process that finishes also signals
     * event (an io_event_create event), so that a process can wait in one io_fd_wait for a sync
     * and for other news (the commit: its node log entries; Linux: io_uring_register_eventfd).
     * Errors: UNSUPPORTED (syncs never finish asynchronously here, or cannot signal; NULL in the
     * table means the same), NO_MEMORY, IO. */
    strom_err (*file_datasync_notify)(struct io *io, int event);

    /* --- Files, page cache (appended by the store) --------------------------------------------
     * Starts the write-back of the dirty pages of [off, off+len) of fd (Linux:
     * sync_file_range(SYNC_FILE_RANGE_WRITE)); with wait, also waits until every page of the range
     * that was dirty or being written when the call began is written (SYNC_FILE_RANGE_WAIT_BEFORE |
     * WRITE | WAIT_AFTER). Neither makes anything durable (no metadata, no cache flush: only
     * file_datasync does). A failure is final as for file_datasync: the kernel reports a
     * write-back error once per descriptor, and this call may be the one that took it. Errors:
     * IO, INVALID_ARGUMENT. */
    strom_err (*file_writeback)(struct io *io, int fd, uint64_t off, uint64_t len, bool wait);
    /* Asks the kernel to drop the clean cached pages of [off, off+len) of fd
     * (posix_fadvise(POSIX_FADV_DONTNEED)); what the file holds does not change, a later read
     * reads it from the disk. A hint: pages still dirty or being written stay. Errors:
     * INVALID_ARGUMENT. */
    strom_err (*file_cache_drop)(struct io *io, int fd, uint64_t off, uint64_t len);

    /* --- Processes, placement (appended by the node) -------------------------------------------
     * Runs the calling process on CPU cpu only, from now on (Linux: sched_setaffinity; the node's
     * --pin-cpu). Errors: INVALID_ARGUMENT (no such CPU, or not one this process may use),
     * UNSUPPORTED (NULL in the table means the same). */
    strom_err (*proc_set_cpu)(struct io *io, uint32_t cpu);

    /* --- Files, asynchronous writes (appended by the store) ------------------------------------
     * Starts a write of len bytes of buf at off and returns without waiting (Linux: an io_uring
     * write, meant for an O_DIRECT descriptor, whose write blocks until the disk has the data).
     * s tracks it as it does an asynchronous sync (the same ring and limit, IO_SYNCS_MAX in
     * flight in all): io_file_datasync_wait waits for it and sets done and result, STROM_OK only
     * when all len bytes were written (a partial write is IO). buf stays untouched and s in place
     * until done. An implementation may write at once and return s done (io_write_run_now).
     * Errors (nothing started): LIMIT, NO_MEMORY, IO. */
    strom_err (*file_pwrite_start)(struct io *io, int fd, const void *buf, size_t len, uint64_t off,
                                   struct io_sync *s);

    /* --- Shared memory, prefault (appended by the node) --------------------------------------
     * Makes the pages of [addr, addr+bytes) of a region from shm_create present and writable
     * without changing a byte (Linux: madvise(MADV_POPULATE_WRITE), 5.14+), so that a process of
     * the region that touches one later takes no page allocation on its path. addr is a page
     * boundary. Safe while other processes read and write the region. Errors: UNSUPPORTED (an
     * older kernel; NULL in the table means the same), NO_MEMORY. */
    strom_err (*shm_prefault)(struct io *io, void *addr, size_t bytes);
};

/* An io instance: its table and its implementation's state. */
struct io {
    const struct io_vtable *vt; /* the implementation's table */
    void *ctx;                  /* implementation state, owned by the implementation */
};

/* The production implementation: Linux syscalls. ctx is unused. */
void io_linux_init(struct io *io);

/* Thin wrappers so that call sites read as plain calls. */
static inline strom_err io_file_open(struct io *io, const char *path, uint32_t flags, int *fd) {
    return io->vt->file_open(io, path, flags, fd);
}
static inline strom_err io_file_close(struct io *io, int fd) {
    return io->vt->file_close(io, fd);
}
static inline strom_err io_file_pread(struct io *io, int fd, void *buf, size_t len, uint64_t off,
                                      size_t *got) {
    return io->vt->file_pread(io, fd, buf, len, off, got);
}
static inline strom_err io_file_pwrite(struct io *io, int fd, const void *buf, size_t len,
                                       uint64_t off) {
    return io->vt->file_pwrite(io, fd, buf, len, off);
}
static inline strom_err io_file_datasync(struct io *io, int fd) {
    return io->vt->file_datasync(io, fd);
}
static inline strom_err io_file_size(struct io *io, int fd, uint64_t *size) {
    return io->vt->file_size(io, fd, size);
}
static inline strom_err io_file_truncate(struct io *io, int fd, uint64_t size) {
    return io->vt->file_truncate(io, fd, size);
}
static inline strom_err io_file_allocate(struct io *io, int fd, uint64_t off, uint64_t len) {
    return io->vt->file_allocate(io, fd, off, len);
}
static inline strom_err io_file_punch(struct io *io, int fd, uint64_t off, uint64_t len) {
    return io->vt->file_punch(io, fd, off, len);
}
static inline strom_err io_path_unlink(struct io *io, const char *path) {
    return io->vt->path_unlink(io, path);
}
static inline strom_err io_path_rename(struct io *io, const char *from, const char *to) {
    return io->vt->path_rename(io, from, to);
}
static inline strom_err io_path_exists(struct io *io, const char *path, bool *exists,
                                       bool *is_dir) {
    return io->vt->path_exists(io, path, exists, is_dir);
}
static inline strom_err io_dir_create(struct io *io, const char *path) {
    return io->vt->dir_create(io, path);
}
static inline strom_err io_dir_sync(struct io *io, const char *path) {
    return io->vt->dir_sync(io, path);
}
static inline strom_err io_dir_list(struct io *io, const char *path, io_dir_entry_fn fn,
                                    void *arg) {
    return io->vt->dir_list(io, path, fn, arg);
}
static inline uint64_t io_clock_monotonic_ns(struct io *io) {
    return io->vt->clock_monotonic_ns(io);
}
static inline uint64_t io_clock_realtime_ns(struct io *io) {
    return io->vt->clock_realtime_ns(io);
}
static inline strom_err io_futex_wait(struct io *io, uint32_t *addr, uint32_t expected,
                                      uint64_t timeout_ns) {
    return io->vt->futex_wait(io, addr, expected, timeout_ns);
}
static inline strom_err io_futex_wake(struct io *io, uint32_t *addr, uint32_t count) {
    return io->vt->futex_wake(io, addr, count);
}
static inline strom_err io_entropy(struct io *io, void *buf, size_t len) {
    return io->vt->entropy(io, buf, len);
}

static inline strom_err io_tcp_listen(struct io *io, const char *host, uint16_t port,
                                      uint32_t backlog, int *fd, uint16_t *port_out) {
    return io->vt->tcp_listen(io, host, port, backlog, fd, port_out);
}
static inline strom_err io_tcp_accept(struct io *io, int listen_fd, int *fd) {
    return io->vt->tcp_accept(io, listen_fd, fd);
}
static inline strom_err io_tcp_connect(struct io *io, const char *host, uint16_t port,
                                       uint64_t timeout_ns, int *fd) {
    return io->vt->tcp_connect(io, host, port, timeout_ns, fd);
}
static inline strom_err io_sock_recv(struct io *io, int fd, void *buf, size_t len, size_t *got) {
    return io->vt->sock_recv(io, fd, buf, len, got);
}
static inline strom_err io_sock_send(struct io *io, int fd, const struct io_iov *iov,
                                     uint32_t iov_count, size_t *sent) {
    return io->vt->sock_send(io, fd, iov, iov_count, sent);
}
static inline strom_err io_sock_close(struct io *io, int fd) {
    return io->vt->sock_close(io, fd);
}
static inline strom_err io_fd_wait(struct io *io, int fd, uint32_t events, uint64_t timeout_ns,
                                   uint32_t *ready) {
    return io->vt->fd_wait(io, fd, events, timeout_ns, ready);
}
static inline strom_err io_poller_create(struct io *io, int *poller) {
    return io->vt->poller_create(io, poller);
}
static inline strom_err io_poller_control(struct io *io, int poller, enum io_poll_op op, int fd,
                                          uint32_t events, uint64_t token) {
    return io->vt->poller_control(io, poller, op, fd, events, token);
}
static inline strom_err io_poller_wait(struct io *io, int poller, struct io_poll_event *events,
                                       uint32_t events_max, uint64_t timeout_ns, uint32_t *count) {
    return io->vt->poller_wait(io, poller, events, events_max, timeout_ns, count);
}
static inline strom_err io_poller_close(struct io *io, int poller) {
    return io->vt->poller_close(io, poller);
}
static inline strom_err io_event_create(struct io *io, int *fd) {
    return io->vt->event_create(io, fd);
}
static inline strom_err io_event_signal(struct io *io, int fd) {
    return io->vt->event_signal(io, fd);
}
static inline strom_err io_event_drain(struct io *io, int fd) {
    return io->vt->event_drain(io, fd);
}
static inline strom_err io_event_close(struct io *io, int fd) {
    return io->vt->event_close(io, fd);
}
static inline strom_err io_proc_fork(struct io *io, int32_t *pid) {
    return io->vt->proc_fork(io, pid);
}
static inline strom_err io_proc_reap(struct io *io, struct io_exit *exit_out) {
    return io->vt->proc_reap(io, exit_out);
}
static inline strom_err io_proc_kill(struct io *io, int32_t pid, enum io_signal sig) {
    return io->vt->proc_kill(io, pid, sig);
}
static inline void io_proc_exit(struct io *io, int code) {
    io->vt->proc_exit(io, code);
}
static inline int32_t io_proc_id(struct io *io) {
    return io->vt->proc_id(io);
}
static inline strom_err io_proc_die_with_parent(struct io *io, enum io_signal sig) {
    return io->vt->proc_die_with_parent(io, sig);
}
static inline strom_err io_signal_catch(struct io *io, enum io_signal sig) {
    return io->vt->signal_catch(io, sig);
}
static inline strom_err io_signal_ignore(struct io *io, enum io_signal sig) {
    return io->vt->signal_ignore(io, sig);
}
static inline strom_err io_signal_default(struct io *io, enum io_signal sig) {
    return io->vt->signal_default(io, sig);
}
static inline bool io_signal_take(struct io *io, enum io_signal sig) {
    return io->vt->signal_take(io, sig);
}
static inline void io_sleep_ns(struct io *io, uint64_t timeout_ns) {
    io->vt->sleep_ns(io, timeout_ns);
}
static inline void io_log_write(struct io *io, const char *text, size_t len) {
    io->vt->log_write(io, text, len);
}
static inline strom_err io_file_lock(struct io *io, int fd) {
    return io->vt->file_lock(io, fd);
}
static inline strom_err io_tcp_probe(struct io *io, const char *host, uint16_t port,
                                     uint16_t *port_out) {
    return io->vt->tcp_probe(io, host, port, port_out);
}
static inline strom_err io_shm_create(struct io *io, const char *name, size_t bytes, void **addr) {
    return io->vt->shm_create(io, name, bytes, addr);
}
static inline strom_err io_shm_unmap(struct io *io, void *addr, size_t bytes) {
    return io->vt->shm_unmap(io, addr, bytes);
}
static inline strom_err io_file_pwritev(struct io *io, int fd, const struct io_iov *iov,
                                        uint32_t iov_count, uint64_t off) {
    return io->vt->file_pwritev(io, fd, iov, iov_count, off);
}
/* For an implementation without asynchronous syncs: file_datasync_start that syncs at once and
 * returns s done, and the file_datasync_wait that goes with it (s is always done). */
static inline strom_err io_sync_run_now(struct io *io, int fd, struct io_sync *s) {
    *s = (struct io_sync){.fd = fd, .done = true, .result = io->vt->file_datasync(io, fd)};
    return STROM_OK;
}
static inline strom_err io_sync_wait_done(struct io *io, struct io_sync *s, uint64_t timeout_ns) {
    (void)io;
    (void)s;
    (void)timeout_ns;
    return STROM_OK;
}
/* For an implementation without asynchronous writes: file_pwrite_start that writes at once
 * (file_pwrite) and returns s done. */
static inline strom_err io_write_run_now(struct io *io, int fd, const void *buf, size_t len,
                                         uint64_t off, struct io_sync *s) {
    *s = (struct io_sync){.fd = fd,
                          .done = true,
                          .result = io->vt->file_pwrite(io, fd, buf, len, off),
                          .write_bytes = len};
    return STROM_OK;
}
/* ... and its file_datasync_notify: its syncs never finish later, so nothing to signal. */
static inline strom_err io_sync_notify_unsupported(struct io *io, int event) {
    (void)io;
    (void)event;
    return STROM_ERR_UNSUPPORTED;
}
static inline strom_err io_file_datasync_start(struct io *io, int fd, struct io_sync *s) {
    return io->vt->file_datasync_start(io, fd, s);
}
static inline strom_err io_file_datasync_wait(struct io *io, struct io_sync *s,
                                              uint64_t timeout_ns) {
    return s->done ? STROM_OK : io->vt->file_datasync_wait(io, s, timeout_ns);
}
static inline strom_err io_file_datasync_notify(struct io *io, int event) {
    return io->vt->file_datasync_notify != NULL ? io->vt->file_datasync_notify(io, event)
                                                : STROM_ERR_UNSUPPORTED;
}
static inline strom_err io_file_writeback(struct io *io, int fd, uint64_t off, uint64_t len,
                                          bool wait) {
    return io->vt->file_writeback(io, fd, off, len, wait);
}
static inline strom_err io_file_pwrite_start(struct io *io, int fd, const void *buf, size_t len,
                                             uint64_t off, struct io_sync *s) {
    return io->vt->file_pwrite_start(io, fd, buf, len, off, s);
}
static inline strom_err io_file_cache_drop(struct io *io, int fd, uint64_t off, uint64_t len) {
    return io->vt->file_cache_drop(io, fd, off, len);
}
static inline strom_err io_proc_set_cpu(struct io *io, uint32_t cpu) {
    return io->vt->proc_set_cpu != NULL ? io->vt->proc_set_cpu(io, cpu) : STROM_ERR_UNSUPPORTED;
}
static inline strom_err io_shm_prefault(struct io *io, void *addr, size_t bytes) {
    return io->vt->shm_prefault != NULL ? io->vt->shm_prefault(io, addr, bytes)
                                        : STROM_ERR_UNSUPPORTED;
}

#endif
