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
    /* Reserves [off, off+len) so later writes there cannot fail with ENOSPC. */
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

#endif
