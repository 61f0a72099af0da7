/*
 * io_linux.c: the production io (see io.h), a thin layer over Linux syscalls.
 *
 * Each call retries EINTR and maps errno onto strom_err. Nothing here keeps state but two things:
 * the table of caught-signal flags (a signal handler can reach nothing but a global, and it only
 * ever sets a volatile sig_atomic_t there), and the io_uring of the asynchronous fdatasyncs,
 * made at the first io_file_datasync_start of a process and kept in ctx (struct linux_ctx, owned
 * by the process that made it: a child forked afterwards makes its own).
 */
#include "io/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
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
    if (flags & IO_OPEN_DIRECT) {
        oflags |= O_DIRECT;
    }
    int fd;
    do {
        fd = open(path, oflags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno == EINVAL && (flags & IO_OPEN_DIRECT)) {
        return STROM_ERR_UNSUPPORTED; /* a file system without O_DIRECT */
    }
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

static strom_err linux_file_pwritev(struct io *io, int fd, const struct io_iov *iov,
                                    uint32_t iov_count, uint64_t off) {
    (void)io;
    strom_assert(iov_count <= IO_IOV_MAX);
    struct iovec v[IO_IOV_MAX];
    for (uint32_t i = 0; i < iov_count; i++) {
        v[i].iov_base = (void *)iov[i].base;
        v[i].iov_len = iov[i].len;
    }
    uint32_t first = 0;
    while (first < iov_count) {
        ssize_t n = pwritev(fd, v + first, (int)(iov_count - first), (off_t)off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? strom_err_from_errno(errno) : STROM_ERR_IO;
        }
        off += (uint64_t)n;
        /* Skip what was written: whole pieces, then into the next one. */
        while (first < iov_count && (size_t)n >= v[first].iov_len) {
            n -= (ssize_t)v[first].iov_len;
            first++;
        }
        if (first < iov_count) {
            v[first].iov_base = (char *)v[first].iov_base + n;
            v[first].iov_len -= (size_t)n;
        }
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

static uint64_t clock_ns(clockid_t clock);

/* The io_uring of the asynchronous syncs (see the top of the file). */
struct linux_ctx {
    struct io_uring ring;
    pid_t pid;         /* the process that made the ring */
    uint32_t inflight; /* syncs started and not yet collected */
    bool usable;       /* false: io_uring could not be set up; syncs run at once */
};

/* The calling process's ring, made on first use; NULL when there is no memory. */
static struct linux_ctx *linux_ctx_get(struct io *io) {
    struct linux_ctx *x = io->ctx;
    if (x != NULL && x->pid == getpid()) {
        return x;
    }
    /* None yet, or the parent's (inherited by fork): a ring of our own. The parent's stays
     * mapped; the child never touches it. */
    x = calloc(1, sizeof *x); /* once per process */
    if (x == NULL) {
        return NULL;
    }
    x->pid = getpid();
    x->usable = io_uring_queue_init(IO_SYNCS_MAX, &x->ring, 0) == 0;
    io->ctx = x;
    return x;
}

/* Submits the one prepared entry; counts it in flight. */
static strom_err linux_submit_one(struct linux_ctx *x) {
    int rc;
    do {
        rc = io_uring_submit(&x->ring);
    } while (rc == -EINTR);
    if (rc != 1) {
        return rc < 0 ? strom_err_from_errno(-rc) : STROM_ERR_IO;
    }
    x->inflight++;
    return STROM_OK;
}

static strom_err linux_file_datasync_start(struct io *io, int fd, struct io_sync *s) {
    struct linux_ctx *x = linux_ctx_get(io);
    if (x == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    if (!x->usable) {
        return io_sync_run_now(io, fd, s); /* a kernel or sandbox without io_uring */
    }
    struct io_uring_sqe *sqe = x->inflight < IO_SYNCS_MAX ? io_uring_get_sqe(&x->ring) : NULL;
    if (sqe == NULL) {
        return STROM_ERR_LIMIT;
    }
    *s = (struct io_sync){.fd = fd};
    io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data(sqe, s);
    return linux_submit_one(x);
}

/* Starts a write on the ring (file_pwrite_start), or writes at once without io_uring. */
static strom_err linux_file_pwrite_start(struct io *io, int fd, const void *buf, size_t len,
                                         uint64_t off, struct io_sync *s) {
    struct linux_ctx *x = linux_ctx_get(io);
    if (x == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    if (!x->usable) {
        return io_write_run_now(io, fd, buf, len, off, s);
    }
    struct io_uring_sqe *sqe = x->inflight < IO_SYNCS_MAX ? io_uring_get_sqe(&x->ring) : NULL;
    if (sqe == NULL || len == 0 || len > (size_t)INT32_MAX) {
        return sqe == NULL ? STROM_ERR_LIMIT : STROM_ERR_INVALID_ARGUMENT;
    }
    *s = (struct io_sync){.fd = fd, .write_bytes = len};
    io_uring_prep_write(sqe, fd, buf, (unsigned)len, off);
    io_uring_sqe_set_data(sqe, s);
    return linux_submit_one(x);
}

/* Marks the sync or write of every finished completion done. */
static void linux_syncs_collect(struct linux_ctx *x) {
    struct io_uring_cqe *cqe = NULL;
    while (io_uring_peek_cqe(&x->ring, &cqe) == 0 && cqe != NULL) {
        struct io_sync *done = io_uring_cqe_get_data(cqe);
        bool whole = (size_t)cqe->res == done->write_bytes; /* a sync answers 0 */
        done->result =
            cqe->res < 0 ? strom_err_from_errno(-cqe->res) : (whole ? STROM_OK : STROM_ERR_IO);
        done->done = true;
        io_uring_cqe_seen(&x->ring, cqe);
        strom_assert(x->inflight > 0);
        x->inflight--;
        cqe = NULL;
    }
}

static strom_err linux_file_datasync_wait(struct io *io, struct io_sync *s, uint64_t timeout_ns) {
    struct linux_ctx *x = io->ctx;
    strom_assert(x != NULL && x->usable); /* s was started here */
    linux_syncs_collect(x);
    uint64_t now = timeout_ns > 0 ? clock_ns(CLOCK_MONOTONIC) : 0;
    uint64_t deadline = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
    strom_err err = STROM_OK;
    while (!s->done && !err && now < deadline) {
        uint64_t left = deadline - now;
        struct __kernel_timespec ts = {.tv_sec = (long long)(left / 1000000000u),
                                       .tv_nsec = (long long)(left % 1000000000u)};
        struct io_uring_cqe *cqe = NULL;
        int rc = io_uring_wait_cqe_timeout(&x->ring, &cqe, &ts);
        if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN) {
            err = strom_err_from_errno(-rc);
        }
        linux_syncs_collect(x);
        now = clock_ns(CLOCK_MONOTONIC);
    }
    return err;
}

static strom_err linux_file_datasync_notify(struct io *io, int event) {
    struct linux_ctx *x = linux_ctx_get(io);
    if (x == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    if (!x->usable) {
        return STROM_ERR_UNSUPPORTED; /* syncs run at once (linux_file_datasync_start) */
    }
    int rc = io_uring_register_eventfd(&x->ring, event);
    return rc == 0 ? STROM_OK : (rc == -EINVAL ? STROM_ERR_UNSUPPORTED : strom_err_from_errno(-rc));
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
        rc = fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
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

/* --- Network ---------------------------------------------------------------------------------- */

/* Fills *addr from a numeric host or "localhost"; false when host is neither. */
static bool net_address(const char *host, uint16_t port, struct sockaddr_storage *addr,
                        socklen_t *addr_len) {
    memset(addr, 0, sizeof *addr);
    struct sockaddr_in *v4 = (struct sockaddr_in *)addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)addr;
    if (strcmp(host, "localhost") == 0) {
        host = "127.0.0.1";
    }
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *addr_len = sizeof *v4;
        return true;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *addr_len = sizeof *v6;
        return true;
    }
    return false;
}

static strom_err net_set_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof value) == 0 ? STROM_OK
                                                                  : strom_err_from_errno(errno);
}

static strom_err linux_tcp_listen(struct io *io, const char *host, uint16_t port, uint32_t backlog,
                                  int *fd_out, uint16_t *port_out) {
    (void)io;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (!net_address(host, port, &addr, &addr_len) || backlog == 0) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return strom_err_from_errno(errno);
    }
    strom_err err = net_set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (!err) {
        err = net_set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    }
    if (!err && bind(fd, (struct sockaddr *)&addr, addr_len) != 0) {
        err = errno == EADDRINUSE ? STROM_ERR_EXISTS : strom_err_from_errno(errno);
    }
    if (!err && listen(fd, (int)(backlog > 65535 ? 65535 : backlog)) != 0) {
        err = strom_err_from_errno(errno);
    }
    addr_len = sizeof addr;
    if (!err && getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        err = strom_err_from_errno(errno);
    }
    if (err) {
        close(fd);
        return err;
    }
    *port_out = ntohs(addr.ss_family == AF_INET ? ((struct sockaddr_in *)&addr)->sin_port
                                                : ((struct sockaddr_in6 *)&addr)->sin6_port);
    *fd_out = fd;
    return STROM_OK;
}

static strom_err linux_tcp_probe(struct io *io, const char *host, uint16_t port,
                                 uint16_t *port_out) {
    (void)io;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (!net_address(host, port, &addr, &addr_len)) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return strom_err_from_errno(errno);
    }
    /* SO_REUSEADDR only: a port in TIME_WAIT is free, a bound one (with or without
     * SO_REUSEPORT) is not. */
    strom_err err = net_set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (!err && bind(fd, (struct sockaddr *)&addr, addr_len) != 0) {
        err = errno == EADDRINUSE ? STROM_ERR_EXISTS : strom_err_from_errno(errno);
    }
    addr_len = sizeof addr;
    if (!err && getsockname(fd, (struct sockaddr *)&addr, &addr_len) != 0) {
        err = strom_err_from_errno(errno);
    }
    if (!err) {
        *port_out = ntohs(addr.ss_family == AF_INET ? ((struct sockaddr_in *)&addr)->sin_port
                                                    : ((struct sockaddr_in6 *)&addr)->sin6_port);
    }
    close(fd);
    return err;
}

static strom_err linux_tcp_accept(struct io *io, int listen_fd, int *fd_out) {
    (void)io;
    int fd;
    do {
        fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        /* A connection reset before accept is not an error of the listener: try again. */
        bool again = errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED;
        return again ? STROM_ERR_AGAIN : strom_err_from_errno(errno);
    }
    (void)net_set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    *fd_out = fd;
    return STROM_OK;
}

static strom_err linux_fd_wait(struct io *io, int fd, uint32_t events, uint64_t timeout_ns,
                               uint32_t *ready_out);

static strom_err linux_tcp_connect(struct io *io, const char *host, uint16_t port,
                                   uint64_t timeout_ns, int *fd_out) {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (!net_address(host, port, &addr, &addr_len)) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return strom_err_from_errno(errno);
    }
    strom_err err = STROM_OK;
    if (connect(fd, (struct sockaddr *)&addr, addr_len) != 0) {
        uint32_t ready = 0;
        err = errno == EINPROGRESS ? linux_fd_wait(io, fd, IO_POLL_OUT, timeout_ns, &ready)
                                   : STROM_ERR_NOT_CONNECTED;
        int so_error = 0;
        socklen_t so_len = sizeof so_error;
        if (!err && ready == 0) {
            err = STROM_ERR_TIMEOUT;
        } else if (!err && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0 ||
                            so_error != 0)) {
            err = STROM_ERR_NOT_CONNECTED;
        }
    }
    if (!err) {
        err = net_set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1);
    }
    if (err) {
        close(fd);
        return err;
    }
    *fd_out = fd;
    return STROM_OK;
}

static strom_err linux_sock_recv(struct io *io, int fd, void *buf, size_t len, size_t *got) {
    (void)io;
    strom_assert(len > 0);
    ssize_t n;
    do {
        n = recv(fd, buf, len, 0);
    } while (n < 0 && errno == EINTR);
    *got = n > 0 ? (size_t)n : 0;
    if (n > 0) {
        return STROM_OK;
    }
    if (n == 0) {
        return STROM_ERR_CLOSED;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK ? STROM_ERR_AGAIN : strom_err_from_errno(errno);
}

static strom_err linux_sock_send(struct io *io, int fd, const struct io_iov *iov,
                                 uint32_t iov_count, size_t *sent) {
    (void)io;
    strom_assert(iov_count > 0 && iov_count <= IO_IOV_MAX);
    struct iovec vec[IO_IOV_MAX];
    for (uint32_t i = 0; i < iov_count; i++) {
        vec[i].iov_base = (void *)iov[i].base;
        vec[i].iov_len = iov[i].len;
    }
    struct msghdr msg = {.msg_iov = vec, .msg_iovlen = iov_count};
    ssize_t n;
    do {
        n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    *sent = n > 0 ? (size_t)n : 0;
    if (n >= 0) {
        return STROM_OK;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK ? STROM_ERR_AGAIN : strom_err_from_errno(errno);
}

static strom_err linux_sock_close(struct io *io, int fd) {
    (void)io;
    return close(fd) == 0 ? STROM_OK : strom_err_from_errno(errno);
}

/* Milliseconds for poll(2), rounded up so that a short wait never becomes a busy loop. */
static int timeout_ms(uint64_t timeout_ns) {
    if (timeout_ns == IO_TIMEOUT_INFINITE) {
        return -1;
    }
    uint64_t ms = (timeout_ns + 999999u) / 1000000u;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static uint32_t bits_from_poll(short revents) {
    uint32_t bits = 0;
    bits |= (revents & POLLIN) ? IO_POLL_IN : 0;
    bits |= (revents & POLLOUT) ? IO_POLL_OUT : 0;
    bits |= (revents & (POLLERR | POLLHUP | POLLNVAL)) ? IO_POLL_ERR : 0;
    return bits;
}

static strom_err linux_fd_wait(struct io *io, int fd, uint32_t events, uint64_t timeout_ns,
                               uint32_t *ready_out) {
    (void)io;
    struct pollfd pfd = {.fd = fd, .events = 0};
    pfd.events |= (events & IO_POLL_IN) ? POLLIN : 0;
    pfd.events |= (events & IO_POLL_OUT) ? POLLOUT : 0;
    int rc = poll(&pfd, 1, timeout_ms(timeout_ns));
    *ready_out = rc > 0 ? bits_from_poll(pfd.revents) : 0;
    return rc >= 0 || errno == EINTR ? STROM_OK : strom_err_from_errno(errno);
}

/* --- Poller (epoll, level-triggered) ------------------------------------------------------- */

static strom_err linux_poller_create(struct io *io, int *poller_out) {
    (void)io;
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) {
        return strom_err_from_errno(errno);
    }
    *poller_out = fd;
    return STROM_OK;
}

static strom_err linux_poller_control(struct io *io, int poller, enum io_poll_op op, int fd,
                                      uint32_t events, uint64_t token) {
    (void)io;
    struct epoll_event ev = {.events = 0, .data.u64 = token};
    ev.events |= (events & IO_POLL_IN) ? EPOLLIN : 0;
    ev.events |= (events & IO_POLL_OUT) ? EPOLLOUT : 0;
    int eop = op == IO_POLL_ADD ? EPOLL_CTL_ADD : op == IO_POLL_MODIFY ? EPOLL_CTL_MOD : 0;
    eop = op == IO_POLL_REMOVE ? EPOLL_CTL_DEL : eop;
    strom_assert(eop != 0);
    return epoll_ctl(poller, eop, fd, &ev) == 0 ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_poller_wait(struct io *io, int poller, struct io_poll_event *events,
                                   uint32_t events_max, uint64_t timeout_ns, uint32_t *count_out) {
    (void)io;
    enum { batch_max = 256 };
    struct epoll_event evs[batch_max];
    strom_assert(events_max > 0);
    int want = events_max < batch_max ? (int)events_max : batch_max;
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
                          .tv_nsec = (long)(timeout_ns % 1000000000u)};
    /* epoll_pwait2 takes a nanosecond timeout; a gateway's timers are finer than 1 ms. */
    int n = epoll_pwait2(poller, evs, want, timeout_ns == IO_TIMEOUT_INFINITE ? NULL : &ts, NULL);
    if (n < 0 && errno == ENOSYS) {
        n = epoll_wait(poller, evs, want, timeout_ms(timeout_ns));
    }
    if (n < 0) {
        *count_out = 0;
        return errno == EINTR ? STROM_OK : strom_err_from_errno(errno);
    }
    for (int i = 0; i < n; i++) {
        uint32_t bits = 0;
        bits |= (evs[i].events & EPOLLIN) ? IO_POLL_IN : 0;
        bits |= (evs[i].events & EPOLLOUT) ? IO_POLL_OUT : 0;
        bits |= (evs[i].events & (EPOLLERR | EPOLLHUP)) ? IO_POLL_ERR : 0;
        events[i] = (struct io_poll_event){.token = evs[i].data.u64, .events = bits};
    }
    *count_out = (uint32_t)n;
    return STROM_OK;
}

static strom_err linux_poller_close(struct io *io, int poller) {
    (void)io;
    return close(poller) == 0 ? STROM_OK : strom_err_from_errno(errno);
}

/* --- Events (eventfd) ------------------------------------------------------------------------ */

static strom_err linux_event_create(struct io *io, int *fd_out) {
    (void)io;
    /* Close-on-exec is harmless: children inherit the event by fork, and strom never execs. */
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        return strom_err_from_errno(errno);
    }
    *fd_out = fd;
    return STROM_OK;
}

static strom_err linux_event_signal(struct io *io, int fd) {
    (void)io;
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(fd, &one, sizeof one);
    } while (n < 0 && errno == EINTR);
    /* EAGAIN: the counter is at its maximum, so the event is signalled anyway. */
    return n == sizeof one || errno == EAGAIN ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_event_drain(struct io *io, int fd) {
    (void)io;
    uint64_t value;
    ssize_t n;
    do {
        n = read(fd, &value, sizeof value);
    } while (n < 0 && errno == EINTR);
    return n == sizeof value || errno == EAGAIN ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_event_close(struct io *io, int fd) {
    (void)io;
    return close(fd) == 0 ? STROM_OK : strom_err_from_errno(errno);
}

/* --- Processes and signals ---------------------------------------------------------------------
 */

/* The OS number of each enum io_signal. */
static const int signal_numbers[IO_SIGNAL_COUNT_] = {
    [IO_SIGNAL_TERM] = SIGTERM, [IO_SIGNAL_INT] = SIGINT,   [IO_SIGNAL_CHLD] = SIGCHLD,
    [IO_SIGNAL_HUP] = SIGHUP,   [IO_SIGNAL_KILL] = SIGKILL, [IO_SIGNAL_PIPE] = SIGPIPE,
};

/* Set by the handler, cleared by linux_signal_take; indexed by enum io_signal. */
static volatile sig_atomic_t signal_caught[IO_SIGNAL_COUNT_];

static void signal_handler(int signum) {
    for (int i = 0; i < IO_SIGNAL_COUNT_; i++) {
        if (signal_numbers[i] == signum) {
            signal_caught[i] = 1;
        }
    }
}

static strom_err signal_set(enum io_signal sig, void (*handler)(int)) {
    strom_assert(sig >= 0 && sig < IO_SIGNAL_COUNT_ && sig != IO_SIGNAL_KILL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking wait returns so the loop sees the flag */
    return sigaction(signal_numbers[sig], &sa, NULL) == 0 ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_signal_catch(struct io *io, enum io_signal sig) {
    (void)io;
    return signal_set(sig, signal_handler);
}

static strom_err linux_signal_ignore(struct io *io, enum io_signal sig) {
    (void)io;
    return signal_set(sig, SIG_IGN);
}

static strom_err linux_signal_default(struct io *io, enum io_signal sig) {
    (void)io;
    strom_err err = signal_set(sig, SIG_DFL);
    signal_caught[sig] = 0;
    return err;
}

static bool linux_signal_take(struct io *io, enum io_signal sig) {
    (void)io;
    strom_assert(sig >= 0 && sig < IO_SIGNAL_COUNT_);
    bool caught = signal_caught[sig] != 0;
    if (caught) {
        signal_caught[sig] = 0;
    }
    return caught;
}

/* The signals are blocked across the fork so that the child starts with clear flags (those it
 * inherits are its parent's) and still sees a signal sent to it at once: that one waits, blocked,
 * until the flags are clear, then the inherited handler sets the child's flag. (A supervisor
 * that stops right after starting a child sent its SIGTERM before the child cleared its flags,
 * and the child ran on until it was killed.) */
static strom_err linux_proc_fork(struct io *io, int32_t *pid_out) {
    (void)io;
    sigset_t all;
    sigset_t old;
    sigemptyset(&all);
    for (int i = 0; i < IO_SIGNAL_COUNT_; i++) {
        if (i != IO_SIGNAL_KILL) {
            sigaddset(&all, signal_numbers[i]);
        }
    }
    int blocked = sigprocmask(SIG_BLOCK, &all, &old);
    strom_assert(blocked == 0); /* fails only for a bad argument */
    pid_t pid = fork();
    int fork_errno = errno;
    if (pid == 0) {
        for (int i = 0; i < IO_SIGNAL_COUNT_; i++) {
            signal_caught[i] = 0;
        }
    }
    int restored = sigprocmask(SIG_SETMASK, &old, NULL);
    strom_assert(restored == 0);
    if (pid < 0) {
        return strom_err_from_errno(fork_errno);
    }
    *pid_out = (int32_t)pid;
    return STROM_OK;
}

static strom_err linux_proc_reap(struct io *io, struct io_exit *exit_out) {
    (void)io;
    int status = 0;
    pid_t pid;
    do {
        pid = waitpid(-1, &status, WNOHANG);
    } while (pid < 0 && errno == EINTR);
    if (pid == 0) {
        return STROM_ERR_AGAIN;
    }
    if (pid < 0) {
        return errno == ECHILD ? STROM_ERR_NOT_FOUND : strom_err_from_errno(errno);
    }
    exit_out->pid = (int32_t)pid;
    exit_out->signalled = WIFSIGNALED(status);
    exit_out->code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    exit_out->signal_number = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return STROM_OK;
}

static strom_err linux_proc_kill(struct io *io, int32_t pid, enum io_signal sig) {
    (void)io;
    strom_assert(pid > 0 && sig >= 0 && sig < IO_SIGNAL_COUNT_);
    if (kill((pid_t)pid, signal_numbers[sig]) == 0) {
        return STROM_OK;
    }
    return errno == ESRCH ? STROM_ERR_NOT_FOUND : strom_err_from_errno(errno);
}

static void linux_proc_exit(struct io *io, int code) {
    (void)io;
    _exit(code);
}

static strom_err linux_proc_set_cpu(struct io *io, uint32_t cpu) {
    (void)io;
    if (cpu >= CPU_SETSIZE) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0 ? STROM_OK : STROM_ERR_INVALID_ARGUMENT;
}

static int32_t linux_proc_id(struct io *io) {
    (void)io;
    return (int32_t)getpid();
}

static strom_err linux_proc_die_with_parent(struct io *io, enum io_signal sig) {
    (void)io;
    strom_assert(sig >= 0 && sig < IO_SIGNAL_COUNT_);
    pid_t parent = getppid();
    if (prctl(PR_SET_PDEATHSIG, signal_numbers[sig]) != 0) {
        return strom_err_from_errno(errno);
    }
    /* The parent may have died before prctl took effect: then we were re-parented. */
    return getppid() != parent || parent == 1 ? STROM_ERR_NOT_FOUND : STROM_OK;
}

static void linux_sleep_ns(struct io *io, uint64_t timeout_ns) {
    (void)io;
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
                          .tv_nsec = (long)(timeout_ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

static strom_err linux_file_lock(struct io *io, int fd) {
    (void)io;
    int rc;
    do {
        rc = flock(fd, LOCK_EX | LOCK_NB);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0 && errno == EWOULDBLOCK) {
        return STROM_ERR_EXISTS;
    }
    return rc == 0 ? STROM_OK : strom_err_from_errno(errno);
}

static void linux_log_write(struct io *io, const char *text, size_t len) {
    (void)io;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(STDERR_FILENO, text + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break; /* nowhere to report a failing log; the line is dropped */
        }
        done += (size_t)n;
    }
}

static strom_err linux_shm_create(struct io *io, const char *name, size_t bytes, void **addr_out) {
    (void)io;
    if (bytes == 0 || bytes > IO_SHM_BYTES_MAX || name == NULL || strlen(name) > 63) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    /* memfd rather than MAP_ANONYMOUS only for the name it shows in /proc/<pid>/maps. The fd is
     * closed once mapped: the mapping keeps the memory, and fork shares the mapping. */
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) {
        return strom_err_from_errno(errno);
    }
    strom_err err = STROM_OK;
    if (ftruncate(fd, (off_t)bytes) != 0) {
        err = errno == EFBIG || errno == EINVAL ? STROM_ERR_INVALID_ARGUMENT : STROM_ERR_NO_MEMORY;
    }
    void *addr = MAP_FAILED;
    if (err == STROM_OK) {
        /* No MAP_POPULATE: prefaulting the default regions (188 MB + 256 MiB + 128 MiB) took
         * about 2 s of every start under load, and a stop asked meanwhile waited for it. Pages
         * come on first touch, or earlier from io_shm_prefault, which the supervisor calls on
         * the rings once the node is ready (docs/node.md, "Shared memory"). */
        addr = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (addr == MAP_FAILED) {
            err = errno == ENOMEM ? STROM_ERR_NO_MEMORY : strom_err_from_errno(errno);
        }
    }
    close(fd);
    if (err == STROM_OK) {
        *addr_out = addr;
    }
    return err;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 (uapi asm-generic/mman-common.h) */
#endif

static strom_err linux_shm_prefault(struct io *io, void *addr, size_t bytes) {
    (void)io;
    strom_assert(((uintptr_t)addr & 4095u) == 0);
    if (madvise(addr, bytes, MADV_POPULATE_WRITE) == 0) {
        return STROM_OK;
    }
    return errno == EINVAL ? STROM_ERR_UNSUPPORTED
                           : (errno == ENOMEM ? STROM_ERR_NO_MEMORY : strom_err_from_errno(errno));
}

static strom_err linux_shm_unmap(struct io *io, void *addr, size_t bytes) {
    (void)io;
    return munmap(addr, bytes) == 0 ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_file_writeback(struct io *io, int fd, uint64_t off, uint64_t len,
                                      bool wait) {
    (void)io;
    unsigned int flags = SYNC_FILE_RANGE_WRITE;
    if (wait) {
        flags |= SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WAIT_AFTER;
    }
    int rc;
    do {
        rc = sync_file_range(fd, (off_t)off, (off_t)len, flags);
    } while (rc < 0 && errno == EINTR);
    return rc == 0 ? STROM_OK : strom_err_from_errno(errno);
}

static strom_err linux_file_cache_drop(struct io *io, int fd, uint64_t off, uint64_t len) {
    (void)io;
    int rc = posix_fadvise(fd, (off_t)off, (off_t)len, POSIX_FADV_DONTNEED); /* returns errno */
    return rc == 0 ? STROM_OK : strom_err_from_errno(rc);
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
    .tcp_listen = linux_tcp_listen,
    .tcp_accept = linux_tcp_accept,
    .tcp_connect = linux_tcp_connect,
    .sock_recv = linux_sock_recv,
    .sock_send = linux_sock_send,
    .sock_close = linux_sock_close,
    .fd_wait = linux_fd_wait,
    .poller_create = linux_poller_create,
    .poller_control = linux_poller_control,
    .poller_wait = linux_poller_wait,
    .poller_close = linux_poller_close,
    .event_create = linux_event_create,
    .event_signal = linux_event_signal,
    .event_drain = linux_event_drain,
    .event_close = linux_event_close,
    .proc_fork = linux_proc_fork,
    .proc_reap = linux_proc_reap,
    .proc_kill = linux_proc_kill,
    .proc_exit = linux_proc_exit,
    .proc_id = linux_proc_id,
    .proc_die_with_parent = linux_proc_die_with_parent,
    .signal_catch = linux_signal_catch,
    .signal_ignore = linux_signal_ignore,
    .signal_default = linux_signal_default,
    .signal_take = linux_signal_take,
    .sleep_ns = linux_sleep_ns,
    .log_write = linux_log_write,
    .file_lock = linux_file_lock,
    .tcp_probe = linux_tcp_probe,
    .shm_create = linux_shm_create,
    .shm_unmap = linux_shm_unmap,
    .file_pwritev = linux_file_pwritev,
    .file_datasync_start = linux_file_datasync_start,
    .file_datasync_wait = linux_file_datasync_wait,
    .file_datasync_notify = linux_file_datasync_notify,
    .file_writeback = linux_file_writeback,
    .file_cache_drop = linux_file_cache_drop,
    .proc_set_cpu = linux_proc_set_cpu,
    .file_pwrite_start = linux_file_pwrite_start,
    .shm_prefault = linux_shm_prefault,
};

void io_linux_init(struct io *io) {
    io->vt = &linux_vtable;
    io->ctx = NULL;
}
