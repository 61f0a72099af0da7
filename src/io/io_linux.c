/*
 * io_linux.c: the production io (see io.h), a thin layer over Linux syscalls.
 *
 * Each call retries EINTR and maps errno onto strom_err. Nothing here keeps state: ctx is NULL.
 */
#include "io/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/assert.h"

static strom_err linux_file_open(struct io *io, const char *path, uint32_t flags, int *fd_out) {
    (void)io;
    int oflags = O_CLOEXEC;
    oflags |= (flags & IO_OPEN_WRITE) ? O_RDWR : O_RDONLY;
    if (flags & IO_OPEN_CREATE) {
        oflags |= O_CREAT;
    }
    if (flags & IO_OPEN_EXCL) {
        oflags |= O_EXCL;
    }
    int fd;
    do {
        fd = open(path, oflags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        return strom_err_from_errno(errno);
    }
    *fd_out = fd;
    return STROM_OK;
}

static strom_err linux_file_close(struct io *io, int fd) {
    (void)io;
    /* close is not retried on EINTR: on Linux the descriptor is gone either way. */
    return close(fd) == 0 ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_file_pread(struct io *io, int fd, void *buf, size_t len, uint64_t off,
                                  size_t *got) {
    (void)io;
    size_t done = 0;
    strom_err err = STROM_OK;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            err = strom_err_from_errno(errno);
            break;
        }
        if (n == 0) {
            break;
        }
        done += (size_t)n;
    }
    *got = done;
    return err;
}

static strom_err linux_file_pwrite(struct io *io, int fd, const void *buf, size_t len,
                                   uint64_t off) {
    (void)io;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? strom_err_from_errno(errno) : STROM_ERR_IO;
        }
        done += (size_t)n;
    }
    return STROM_OK;
}

static strom_err linux_file_datasync(struct io *io, int fd) {
    (void)io;
    int rc;
    do {
        rc = fdatasync(fd);
    } while (rc < 0 && errno == EINTR);
    return rc == 0 ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_file_size(struct io *io, int fd, uint64_t *size_out) {
    (void)io;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        return strom_err_from_errno(errno);
    }
    *size_out = (uint64_t)st.st_size;
    return STROM_OK;
}

static strom_err linux_file_truncate(struct io *io, int fd, uint64_t size) {
    (void)io;
    int rc;
    do {
        rc = ftruncate(fd, (off_t)size);
    } while (rc < 0 && errno == EINTR);
    return rc == 0 ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_file_allocate(struct io *io, int fd, uint64_t off, uint64_t len) {
    (void)io;
    int rc;
    do {
        rc = fallocate(fd, 0, (off_t)off, (off_t)len);
    } while (rc < 0 && errno == EINTR);
    return rc == 0 ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_file_punch(struct io *io, int fd, uint64_t off, uint64_t len) {
    (void)io;
    int rc;
    do {
        rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno == EOPNOTSUPP) {
        return STROM_ERR_UNSUPPORTED;
    }
    return rc == 0 ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_path_unlink(struct io *io, const char *path) {
    (void)io;
    return unlink(path) == 0 ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_path_rename(struct io *io, const char *from, const char *to) {
    (void)io;
    return rename(from, to) == 0 ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_path_exists(struct io *io, const char *path, bool *exists_out,
                                   bool *is_dir_out) {
    (void)io;
    struct stat st;
    strom_err err = STROM_OK;
    bool exists = false;
    bool is_dir = false;
    if (stat(path, &st) == 0) {
        exists = true;
        is_dir = S_ISDIR(st.st_mode);
    } else if (errno != ENOENT && errno != ENOTDIR) {
        err = strom_err_from_errno(errno);
    }
    *exists_out = exists;
    *is_dir_out = is_dir;
    return err;
}

static strom_err linux_dir_create(struct io *io, const char *path) {
    (void)io;
    if (mkdir(path, 0755) == 0) {
        return STROM_OK;
    }
    struct stat st;
    if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        return STROM_OK;
    }
    return strom_err_from_errno(errno);
}

static strom_err linux_dir_sync(struct io *io, const char *path) {
    (void)io;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return strom_err_from_errno(errno);
    }
    strom_err err = fsync(fd) == 0 ? STROM_OK : strom_err_from_errno(errno);
    close(fd);
    return err;
}

static strom_err linux_dir_list(struct io *io, const char *path, io_dir_entry_fn fn, void *arg) {
    (void)io;
    DIR *dir = opendir(path);
    if (dir == NULL) {
        return strom_err_from_errno(errno);
    }
    strom_err err = STROM_OK;
    struct dirent *entry;
    while (err == STROM_OK && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) {
            continue;
        }
        err = fn(arg, entry->d_name);
    }
    closedir(dir);
    return err;
}

static uint64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    int rc = clock_gettime(clock, &ts);
    strom_assert(rc == 0);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t linux_clock_monotonic_ns(struct io *io) {
    (void)io;
    return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t linux_clock_realtime_ns(struct io *io) {
    (void)io;
    return clock_ns(CLOCK_REALTIME);
}

static strom_err linux_futex_wait(struct io *io, uint32_t *addr, uint32_t expected,
                                  uint64_t timeout_ns) {
    (void)io;
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
                          .tv_nsec = (long)(timeout_ns % 1000000000u)};
    /* FUTEX_WAIT without FUTEX_PRIVATE_FLAG: the word may live in memory shared between
     * processes. */
    long rc = syscall(SYS_futex, addr, FUTEX_WAIT, expected, timeout_ns ? &ts : NULL, NULL, 0);
    if (rc == 0 || errno == EAGAIN || errno == EINTR) {
        return STROM_OK;
    }
    return errno == ETIMEDOUT ? STROM_ERR_TIMEOUT : strom_err_from_errno(errno);
}

static strom_err linux_futex_wake(struct io *io, uint32_t *addr, uint32_t count) {
    (void)io;
    long rc = syscall(SYS_futex, addr, FUTEX_WAKE, count, NULL, NULL, 0);
    return rc >= 0 ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_entropy(struct io *io, void *buf, size_t len) {
    (void)io;
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom((char *)buf + done, len - done, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return strom_err_from_errno(errno);
        }
        done += (size_t)n;
    }
    return STROM_OK;
}

static const struct io_vtable linux_vtable = {
    .file_open = linux_file_open,
    .file_close = linux_file_close,
    .file_pread = linux_file_pread,
    .file_pwrite = linux_file_pwrite,
    .file_datasync = linux_file_datasync,
    .file_size = linux_file_size,
    .file_truncate = linux_file_truncate,
    .file_allocate = linux_file_allocate,
    .file_punch = linux_file_punch,
    .path_unlink = linux_path_unlink,
    .path_rename = linux_path_rename,
    .path_exists = linux_path_exists,
    .dir_create = linux_dir_create,
    .dir_sync = linux_dir_sync,
    .dir_list = linux_dir_list,
    .clock_monotonic_ns = linux_clock_monotonic_ns,
    .clock_realtime_ns = linux_clock_realtime_ns,
    .futex_wait = linux_futex_wait,
    .futex_wake = linux_futex_wake,
    .entropy = linux_entropy,
};

void io_linux_init(struct io *io) {
    io->vt = &linux_vtable;
    io->ctx = NULL;
}
