/*
 * io_memfs.c: files in memory with injected faults (see io_memfs.h).
 *
 * Each file keeps its current image (cur), its disk image (disk) and the log of operations since
 * the last successful fdatasync. Invariant: replaying the log in order onto disk gives cur, except
 * where a failed fdatasync dropped log entries (then cur holds data the disk never will). A
 * successful fdatasync replays the log onto disk; a crash replays only what its mode lets survive
 * and makes the result both images. Space is counted in blocks of the current image.
 *
 * An asynchronous write (file_pwrite_start) stays in writes, untouched, until its
 * file_datasync_wait: only then does it read the caller's buffer and change the file (so a caller
 * that reads, syncs or reuses the buffer before waiting sees the old bytes, and a sync started
 * before the wait does not cover it). Closing its descriptor (a process that died, a crash)
 * drops it: it never happened, as a write lost before it reached the disk.
 *
 * Allocation happens when files grow and when operations are logged: this is test and simulator
 * infrastructure, not a hot path.
 */
#include "io/io_memfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/rng.h"

enum memfs_op_kind {
    MEMFS_OP_WRITE = 1,    /* bytes [off, off + len) written with data */
    MEMFS_OP_TRUNCATE = 2, /* size set to off */
    MEMFS_OP_PUNCH = 3,    /* bytes [off, off + len) zeroed (within the size) */
};

/* One logged operation. */
struct memfs_op {
    uint8_t kind;  /* enum memfs_op_kind */
    uint64_t off;  /* first byte, or the new size for TRUNCATE */
    uint64_t len;  /* bytes; 0 for TRUNCATE */
    uint8_t *data; /* WRITE: a private copy of the bytes */
};

/* A growable byte image. */
struct memfs_image {
    uint8_t *bytes;
    uint64_t size; /* bytes in the file */
    uint64_t cap;  /* bytes allocated at bytes */
};

struct memfs_file {
    bool used;        /* the slot holds a file or directory */
    bool is_dir;      /* a directory: no images */
    bool unlinked;    /* removed from the namespace, alive while a descriptor is open */
    uint32_t fd_refs; /* open descriptors */
    char path[IO_MEMFS_PATH_BYTES_MAX];
    struct memfs_image cur;  /* what pread sees */
    struct memfs_image disk; /* what survives a crash before the log */
    uint8_t *blocks;         /* per block of the file: 1 when it holds space */
    uint64_t block_cap;      /* entries at blocks */
    struct memfs_op *ops;    /* the log since the last successful fdatasync */
    uint32_t op_count;
    uint32_t op_cap;
};

struct memfs_fd {
    bool used;
    bool writable;
    bool direct;   /* IO_OPEN_DIRECT: writes must be aligned */
    uint32_t file; /* index in files */
};

/* An asynchronous write started and not yet waited for (used: the slot holds one). */
struct memfs_write {
    bool used;
    int fd;
    const void *buf; /* the caller's, read at the wait */
    size_t len;
    uint64_t off;
    struct io_sync *s;
};

struct io_memfs {
    struct rng rng;
    struct memfs_write writes[IO_SYNCS_MAX];
    uint64_t capacity_bytes;
    uint64_t used_blocks;
    uint32_t fail_datasync_count;
    uint32_t fail_pwrite_count;
    uint32_t fail_writeback_count;
    bool direct_refused; /* opens with IO_OPEN_DIRECT fail with UNSUPPORTED */
    double read_flip_p;
    uint64_t mono_ns;
    uint64_t real_ns;
    struct io_memfs_stats stats;
    struct memfs_file files[IO_MEMFS_FILES_MAX];
    struct memfs_fd fds[IO_MEMFS_FDS_MAX];
};

static struct io_memfs *fs_of(struct io *io) {
    strom_assert(io != NULL && io->ctx != NULL);
    return io->ctx;
}

/* --- images, blocks and the log ----------------------------------------------------------- */

static strom_err image_reserve(struct memfs_image *im, uint64_t bytes) {
    if (bytes <= im->cap) {
        return STROM_OK;
    }
    if (bytes > (UINT64_C(1) << 40)) {
        return STROM_ERR_TOO_LARGE;
    }
    uint64_t cap = im->cap ? im->cap : 4096;
    while (cap < bytes) {
        cap *= 2;
    }
    uint8_t *grown = realloc(im->bytes, cap);
    if (grown == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    memset(grown + im->cap, 0, cap - im->cap);
    im->bytes = grown;
    im->cap = cap;
    return STROM_OK;
}

/* Sets the size; bytes past the old size read as zeros. */
static strom_err image_resize(struct memfs_image *im, uint64_t size) {
    strom_err err = image_reserve(im, size);
    if (err) {
        return err;
    }
    if (size > im->size) {
        memset(im->bytes + im->size, 0, size - im->size);
    } else if (size < im->size) {
        memset(im->bytes + size, 0, im->size - size);
    }
    im->size = size;
    return STROM_OK;
}

static strom_err image_write(struct memfs_image *im, uint64_t off, const uint8_t *data,
                             uint64_t len) {
    if (off + len > im->size) {
        strom_err err = image_resize(im, off + len);
        if (err) {
            return err;
        }
    }
    memcpy(im->bytes + off, data, len);
    return STROM_OK;
}

static void image_zero(struct memfs_image *im, uint64_t off, uint64_t len) {
    if (off >= im->size) {
        return;
    }
    uint64_t end = off + len < im->size ? off + len : im->size;
    memset(im->bytes + off, 0, end - off);
}

static strom_err blocks_reserve(struct memfs_file *f, uint64_t blocks) {
    if (blocks <= f->block_cap) {
        return STROM_OK;
    }
    uint64_t cap = f->block_cap ? f->block_cap : 64;
    while (cap < blocks) {
        cap *= 2;
    }
    uint8_t *grown = realloc(f->blocks, cap);
    if (grown == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    memset(grown + f->block_cap, 0, cap - f->block_cap);
    f->blocks = grown;
    f->block_cap = cap;
    return STROM_OK;
}

/* Blocks of [off, off + len) that hold no space yet. */
static uint64_t blocks_missing(const struct memfs_file *f, uint64_t off, uint64_t len) {
    if (len == 0) {
        return 0;
    }
    uint64_t missing = 0;
    for (uint64_t b = off / IO_MEMFS_BLOCK_BYTES; b <= (off + len - 1) / IO_MEMFS_BLOCK_BYTES;
         b++) {
        missing += (b >= f->block_cap || f->blocks[b] == 0) ? 1 : 0;
    }
    return missing;
}

/* Takes space for [off, off + len), failing with NO_SPACE past the capacity. */
static strom_err blocks_take(struct io_memfs *fs, struct memfs_file *f, uint64_t off,
                             uint64_t len) {
    uint64_t missing = blocks_missing(f, off, len);
    if (missing == 0) {
        return STROM_OK;
    }
    uint64_t after = (fs->used_blocks + missing) * IO_MEMFS_BLOCK_BYTES;
    if (after > fs->capacity_bytes) {
        return STROM_ERR_NO_SPACE;
    }
    strom_err err = blocks_reserve(f, (off + len - 1) / IO_MEMFS_BLOCK_BYTES + 1);
    if (err) {
        return err;
    }
    for (uint64_t b = off / IO_MEMFS_BLOCK_BYTES; b <= (off + len - 1) / IO_MEMFS_BLOCK_BYTES;
         b++) {
        fs->used_blocks += f->blocks[b] ? 0 : 1;
        f->blocks[b] = 1;
    }
    return STROM_OK;
}

/* Gives back the blocks wholly inside [off, end). */
static void blocks_release(struct io_memfs *fs, struct memfs_file *f, uint64_t off, uint64_t end) {
    uint64_t first = (off + IO_MEMFS_BLOCK_BYTES - 1) / IO_MEMFS_BLOCK_BYTES;
    uint64_t last = end / IO_MEMFS_BLOCK_BYTES; /* exclusive */
    for (uint64_t b = first; b < last && b < f->block_cap; b++) {
        strom_assert(fs->used_blocks >= f->blocks[b]);
        fs->used_blocks -= f->blocks[b];
        f->blocks[b] = 0;
    }
}

static void log_clear(struct memfs_file *f) {
    for (uint32_t i = 0; i < f->op_count; i++) {
        free(f->ops[i].data);
    }
    f->op_count = 0;
}

static strom_err log_add(struct memfs_file *f, uint8_t kind, uint64_t off, const void *data,
                         uint64_t len) {
    if (f->op_count == f->op_cap) {
        uint32_t cap = f->op_cap ? f->op_cap * 2 : 64;
        struct memfs_op *grown = realloc(f->ops, cap * sizeof *grown);
        if (grown == NULL) {
            return STROM_ERR_NO_MEMORY;
        }
        f->ops = grown;
        f->op_cap = cap;
    }
    uint8_t *copy = NULL;
    if (kind == MEMFS_OP_WRITE && len > 0) {
        copy = malloc(len);
        if (copy == NULL) {
            return STROM_ERR_NO_MEMORY;
        }
        memcpy(copy, data, len);
    }
    f->ops[f->op_count++] = (struct memfs_op){.kind = kind, .off = off, .len = len, .data = copy};
    return STROM_OK;
}

/* Applies sectors [first, first + count) of the op's own sectors (numbered from the one holding
 * op->off) to im. */
static strom_err op_apply_sectors(struct memfs_image *im, const struct memfs_op *op, uint64_t first,
                                  uint64_t count) {
    uint64_t base = op->off / IO_MEMFS_SECTOR_BYTES;
    uint64_t lo = (base + first) * IO_MEMFS_SECTOR_BYTES;
    uint64_t hi = (base + first + count) * IO_MEMFS_SECTOR_BYTES;
    lo = lo < op->off ? op->off : lo;
    hi = hi > op->off + op->len ? op->off + op->len : hi;
    if (lo >= hi) {
        return STROM_OK;
    }
    return image_write(im, lo, op->data + (lo - op->off), hi - lo);
}

static uint64_t op_sectors(const struct memfs_op *op) {
    if (op->len == 0) {
        return 0;
    }
    return (op->off + op->len - 1) / IO_MEMFS_SECTOR_BYTES - op->off / IO_MEMFS_SECTOR_BYTES + 1;
}

/* Applies a whole op to im. */
static strom_err op_apply(struct memfs_image *im, const struct memfs_op *op) {
    switch (op->kind) {
    case MEMFS_OP_WRITE:
        return op->len ? image_write(im, op->off, op->data, op->len) : STROM_OK;
    case MEMFS_OP_TRUNCATE:
        return image_resize(im, op->off);
    case MEMFS_OP_PUNCH:
        image_zero(im, op->off, op->len);
        return STROM_OK;
    default:
        strom_unreachable();
    }
}

/* --- files and descriptors ------------------------------------------------------------------ */

static int file_find(const struct io_memfs *fs, const char *path) {
    for (int i = 0; i < IO_MEMFS_FILES_MAX; i++) {
        if (fs->files[i].used && !fs->files[i].unlinked && strcmp(fs->files[i].path, path) == 0) {
            return i;
        }
    }
    return -1;
}

static void file_free(struct io_memfs *fs, struct memfs_file *f) {
    if (f->block_cap) {
        blocks_release(fs, f, 0, f->block_cap * IO_MEMFS_BLOCK_BYTES);
    }
    log_clear(f);
    free(f->ops);
    free(f->cur.bytes);
    free(f->disk.bytes);
    free(f->blocks);
    memset(f, 0, sizeof *f);
}

/* Whether path's parent exists as a directory (a path without '/' lives at the top). */
static bool parent_exists(const struct io_memfs *fs, const char *path) {
    const char *slash = strrchr(path, '/');
    if (slash == NULL || slash == path) {
        return true;
    }
    char parent[IO_MEMFS_PATH_BYTES_MAX];
    size_t len = (size_t)(slash - path);
    memcpy(parent, path, len);
    parent[len] = '\0';
    int i = file_find(fs, parent);
    return i >= 0 && fs->files[i].is_dir;
}

static strom_err path_check(const char *path) {
    size_t len = strlen(path);
    return (len == 0 || len >= IO_MEMFS_PATH_BYTES_MAX) ? STROM_ERR_INVALID_ARGUMENT : STROM_OK;
}

static strom_err entry_create(struct io_memfs *fs, const char *path, bool is_dir, int *index_out) {
    if (!parent_exists(fs, path)) {
        return STROM_ERR_NOT_FOUND;
    }
    for (int i = 0; i < IO_MEMFS_FILES_MAX; i++) {
        if (!fs->files[i].used) {
            struct memfs_file *f = &fs->files[i];
            memset(f, 0, sizeof *f);
            f->used = true;
            f->is_dir = is_dir;
            snprintf(f->path, sizeof f->path, "%s", path);
            *index_out = i;
            return STROM_OK;
        }
    }
    return STROM_ERR_LIMIT;
}

static struct memfs_file *fd_file(struct io_memfs *fs, int fd, bool want_write) {
    int slot = fd - IO_MEMFS_FD_FIRST;
    if (slot < 0 || slot >= IO_MEMFS_FDS_MAX || !fs->fds[slot].used) {
        return NULL;
    }
    if (want_write && !fs->fds[slot].writable) {
        return NULL;
    }
    return &fs->files[fs->fds[slot].file];
}

static strom_err memfs_file_open(struct io *io, const char *path, uint32_t flags, int *fd_out) {
    struct io_memfs *fs = fs_of(io);
    strom_err err = path_check(path);
    if (err) {
        return err;
    }
    int index = file_find(fs, path);
    if (index >= 0 && (flags & IO_OPEN_CREATE) && (flags & IO_OPEN_EXCL)) {
        return STROM_ERR_EXISTS;
    }
    if (index >= 0 && fs->files[index].is_dir) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    if ((flags & IO_OPEN_DIRECT) && fs->direct_refused) {
        return STROM_ERR_UNSUPPORTED;
    }
    int slot = -1;
    for (int i = 0; i < IO_MEMFS_FDS_MAX && slot < 0; i++) {
        slot = fs->fds[i].used ? -1 : i;
    }
    if (slot < 0) {
        return STROM_ERR_LIMIT;
    }
    if (index < 0) {
        if (!(flags & IO_OPEN_CREATE)) {
            return STROM_ERR_NOT_FOUND;
        }
        err = entry_create(fs, path, false, &index);
        if (err) {
            return err;
        }
    }
    fs->files[index].fd_refs++;
    fs->fds[slot] = (struct memfs_fd){.used = true,
                                      .writable = (flags & IO_OPEN_WRITE) != 0,
                                      .direct = (flags & IO_OPEN_DIRECT) != 0,
                                      .file = (uint32_t)index};
    *fd_out = slot + IO_MEMFS_FD_FIRST;
    return STROM_OK;
}

/* Forgets the asynchronous writes through fd (its close): they never reach the file. */
static void writes_drop(struct io_memfs *fs, int fd) {
    for (int i = 0; i < IO_SYNCS_MAX; i++) {
        if (fs->writes[i].used && fs->writes[i].fd == fd) {
            fs->writes[i].used = false;
            fs->stats.pwrites_dropped++;
        }
    }
}

static strom_err memfs_file_close(struct io *io, int fd) {
    struct io_memfs *fs = fs_of(io);
    struct memfs_file *f = fd_file(fs, fd, false);
    if (f == NULL) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    fs->fds[fd - IO_MEMFS_FD_FIRST].used = false;
    writes_drop(fs, fd);
    strom_assert(f->fd_refs > 0);
    f->fd_refs--;
    if (f->unlinked && f->fd_refs == 0) {
        file_free(fs, f);
    }
    return STROM_OK;
}

static strom_err memfs_file_pread(struct io *io, int fd, void *buf, size_t len, uint64_t off,
                                  size_t *got) {
    struct io_memfs *fs = fs_of(io);
    struct memfs_file *f = fd_file(fs, fd, false);
    *got = 0;
    if (f == NULL) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    fs->stats.preads++;
    if (off >= f->cur.size || len == 0) {
        return STROM_OK;
    }
    size_t n = (size_t)(f->cur.size - off < len ? f->cur.size - off : len);
    memcpy(buf, f->cur.bytes + off, n);
    if (fs->read_flip_p > 0 && rng_chance(&fs->rng, fs->read_flip_p)) {
        uint64_t bit = rng_below(&fs->rng, (uint64_t)n * 8);
        ((uint8_t *)buf)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        fs->stats.flips++;
    }
    *got = n;
    return STROM_OK;
}

static strom_err memfs_file_pwrite(struct io *io, int fd, const void *buf, size_t len,
                                   uint64_t off) {
    struct io_memfs *fs = fs_of(io);
    struct memfs_file *f = fd_file(fs, fd, true);
    if (f == NULL) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    if (fs->fds[fd - IO_MEMFS_FD_FIRST].direct &&
        ((uintptr_t)buf % IO_DIRECT_ALIGN != 0 || len % IO_DIRECT_ALIGN != 0 ||
         off % IO_DIRECT_ALIGN != 0)) {
        return STROM_ERR_INVALID_ARGUMENT; /* as O_DIRECT's EINVAL */
    }
    fs->stats.pwrites++;
    if (fs->fail_pwrite_count > 0) {
        fs->fail_pwrite_count--;
        return STROM_ERR_IO;
    }
    if (len == 0) {
        return STROM_OK;
    }
    strom_err err = blocks_take(fs, f, off, len);
    if (err == STROM_OK) {
        err = log_add(f, MEMFS_OP_WRITE, off, buf, len);
    }
    if (err == STROM_OK) {
        err = image_write(&f->cur, off, buf, len);
    }
    return err;
}

static strom_err memfs_file_pwritev(struct io *io, int fd, const struct io_iov *iov,
                                    uint32_t iov_count, uint64_t off) {
    strom_assert(iov_count <= IO_IOV_MAX);
    strom_err err = STROM_OK;
    for (uint32_t i = 0; i < iov_count && err == STROM_OK; i++) {
        err = iov[i].len ? memfs_file_pwrite(io, fd, iov[i].base, iov[i].len, off) : STROM_OK;
        off += iov[i].len;
    }
    return err;
}

/* file_pwrite_start: recorded; the write happens at its file_datasync_wait (file comment). */
static strom_err memfs_file_pwrite_start(struct io *io, int fd, const void *buf, size_t len,
                                         uint64_t off, struct io_sync *s) {
    struct io_memfs *fs = fs_of(io);
    if (fd_file(fs, fd, true) == NULL || len == 0) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    int slot = 0;
    while (slot < IO_SYNCS_MAX && fs->writes[slot].used) {
        slot++;
    }
    if (slot == IO_SYNCS_MAX) {
        return STROM_ERR_LIMIT;
    }
    *s = (struct io_sync){.fd = fd, .write_bytes = len};
    fs->writes[slot] =
        (struct memfs_write){.used = true, .fd = fd, .buf = buf, .len = len, .off = off, .s = s};
    fs->stats.pwrites_started++;
    return STROM_OK;
}

/* file_datasync_wait: a write started here happens now (file_pwrite, with its faults); a sync
 * was done when it started; a write a crash dropped fails with IO (nothing of it is in the
 * file). */
static strom_err memfs_file_datasync_wait(struct io *io, struct io_sync *s, uint64_t timeout_ns) {
    struct io_memfs *fs = fs_of(io);
    for (int i = 0; i < IO_SYNCS_MAX && !s->done; i++) {
        struct memfs_write w = fs->writes[i];
        if (w.used && w.s == s) {
            fs->writes[i].used = false;
            s->result = memfs_file_pwrite(io, w.fd, w.buf, w.len, w.off);
            s->done = true;
        }
    }
    if (!s->done) {
        strom_assert(s->write_bytes > 0); /* a sync is done when it starts */
        s->result = STROM_ERR_IO;
        s->done = true;
    }
    return io_sync_wait_done(io, s, timeout_ns);
}

static strom_err memfs_file_datasync(struct io *io, int fd) {
    struct io_memfs *fs = fs_of(io);
    struct memfs_file *f = fd_file(fs, fd, false);
    if (f == NULL) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    fs->stats.datasyncs++;
    strom_err err = STROM_OK;
    if (fs->fail_datasync_count > 0) {
        /* The kernel reports the error once and marks the pages clean: the logged changes never
         * reach the disk, yet stay visible in the page cache. */
        fs->fail_datasync_count--;
        fs->stats.datasyncs_failed++;
        err = STROM_ERR_IO;
    } else {
        for (uint32_t i = 0; i < f->op_count && err == STROM_OK; i++) {
            err = op_apply(&f->disk, &f->ops[i]);
        }
    }
    log_clear(f);
    return err;
}

/* sync_file_range: nothing becomes durable (the disk image stays as it is). An injected failure
 * has the kernel's write-back error semantics, as a failed fdatasync: reported once, the pages
 * marked clean, so the logged changes never reach the disk. */
static strom_err memfs_file_writeback(struct io *io, int fd, uint64_t off, uint64_t len,
                                      bool wait) {
    struct io_memfs *fs = fs_of(io);
    struct memfs_file *f = fd_file(fs, fd, false);
    if (f == NULL || off + len < off) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    fs->stats.writebacks += wait ? 0 : 1;
    fs->stats.writeback_waits += wait ? 1 : 0;
    strom_err err = STROM_OK;
    if (wait && fs->fail_writeback_count > 0) {
        fs->fail_writeback_count--;
        log_clear(f);
        err = STROM_ERR_IO;
    }
    return err;
}

/* posix_fadvise(DONTNEED): the model has no page cache apart from the image a reader sees, which
 * stays; the calls are counted, and the highest end dropped kept, for tests. */
static strom_err memfs_file_cache_drop(struct io *io, int fd, uint64_t off, uint64_t len) {
    struct io_memfs *fs = fs_of(io);
    struct memfs_file *f = fd_file(fs, fd, false);
    if (f == NULL || off + len < off) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    fs->stats.cache_drops++;
    fs->stats.cache_drop_end =
        off + len > fs->stats.cache_drop_end ? off + len : fs->stats.cache_drop_end;
    return STROM_OK;
}

static strom_err memfs_file_size(struct io *io, int fd, uint64_t *size_out) {
    struct memfs_file *f = fd_file(fs_of(io), fd, false);
    if (f == NULL) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    *size_out = f->cur.size;
    return STROM_OK;
}

static strom_err memfs_file_truncate(struct io *io, int fd, uint64_t size) {
    struct io_memfs *fs = fs_of(io);
    struct memfs_file *f = fd_file(fs, fd, true);
    if (f == NULL) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    strom_err err = log_add(f, MEMFS_OP_TRUNCATE, size, NULL, 0);
    if (err == STROM_OK) {
        err = image_resize(&f->cur, size);
    }
    if (err == STROM_OK && f->block_cap) {
        blocks_release(fs, f, size, f->block_cap * IO_MEMFS_BLOCK_BYTES);
    }
    return err;
}

static strom_err memfs_file_allocate(struct io *io, int fd, uint64_t off, uint64_t len) {
    struct io_memfs *fs = fs_of(io);
    struct memfs_file *f = fd_file(fs, fd, true);
    if (f == NULL || len == 0) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    return blocks_take(fs, f, off, len);
}

static strom_err memfs_file_punch(struct io *io, int fd, uint64_t off, uint64_t len) {
    struct io_memfs *fs = fs_of(io);
    struct memfs_file *f = fd_file(fs, fd, true);
    if (f == NULL || len == 0) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    strom_err err = log_add(f, MEMFS_OP_PUNCH, off, NULL, len);
    if (err == STROM_OK) {
        image_zero(&f->cur, off, len);
        blocks_release(fs, f, off, off + len);
    }
    return err;
}

/* --- paths and directories ------------------------------------------------------------------ */

static strom_err memfs_path_unlink(struct io *io, const char *path) {
    struct io_memfs *fs = fs_of(io);
    int i = file_find(fs, path);
    if (i < 0) {
        return STROM_ERR_NOT_FOUND;
    }
    struct memfs_file *f = &fs->files[i];
    if (f->is_dir) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    f->unlinked = true;
    if (f->fd_refs == 0) {
        file_free(fs, f);
    }
    return STROM_OK;
}

static strom_err memfs_path_rename(struct io *io, const char *from, const char *to) {
    struct io_memfs *fs = fs_of(io);
    if (path_check(to) != STROM_OK) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    int i = file_find(fs, from);
    if (i < 0) {
        return STROM_ERR_NOT_FOUND;
    }
    if (fs->files[i].is_dir || !parent_exists(fs, to)) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    int j = file_find(fs, to);
    if (j >= 0 && j != i) {
        if (fs->files[j].is_dir) {
            return STROM_ERR_INVALID_ARGUMENT;
        }
        memfs_path_unlink(io, to);
    }
    snprintf(fs->files[i].path, sizeof fs->files[i].path, "%s", to);
    return STROM_OK;
}

/* "." names the top directory, which always exists. */
static bool is_top(const char *path) {
    return strcmp(path, ".") == 0;
}

static strom_err memfs_path_exists(struct io *io, const char *path, bool *exists_out,
                                   bool *is_dir_out) {
    struct io_memfs *fs = fs_of(io);
    int i = file_find(fs, path);
    *exists_out = i >= 0 || is_top(path);
    *is_dir_out = (i >= 0 && fs->files[i].is_dir) || is_top(path);
    return STROM_OK;
}

static strom_err memfs_dir_create(struct io *io, const char *path) {
    struct io_memfs *fs = fs_of(io);
    strom_err err = path_check(path);
    if (err) {
        return err;
    }
    int i = file_find(fs, path);
    if (i >= 0) {
        return fs->files[i].is_dir ? STROM_OK : STROM_ERR_EXISTS;
    }
    return entry_create(fs, path, true, &i);
}

static strom_err memfs_dir_sync(struct io *io, const char *path) {
    struct io_memfs *fs = fs_of(io);
    int i = file_find(fs, path);
    return ((i >= 0 && fs->files[i].is_dir) || is_top(path)) ? STROM_OK : STROM_ERR_NOT_FOUND;
}

static strom_err memfs_dir_list(struct io *io, const char *path, io_dir_entry_fn fn, void *arg) {
    struct io_memfs *fs = fs_of(io);
    int d = file_find(fs, path);
    bool top = is_top(path);
    if (!top && (d < 0 || !fs->files[d].is_dir)) {
        return STROM_ERR_NOT_FOUND;
    }
    size_t plen = top ? 0 : strlen(path);
    strom_err err = STROM_OK;
    for (int i = 0; i < IO_MEMFS_FILES_MAX && err == STROM_OK; i++) {
        const struct memfs_file *f = &fs->files[i];
        if (!f->used || f->unlinked ||
            (!top && (strncmp(f->path, path, plen) != 0 || f->path[plen] != '/'))) {
            continue;
        }
        const char *name = f->path + (top ? 0 : plen + 1);
        if (strchr(name, '/') == NULL) {
            err = fn(arg, name);
        }
    }
    return err;
}

/* --- clocks, wake-ups, entropy, log --------------------------------------------------------- */

static uint64_t memfs_clock_monotonic_ns(struct io *io) {
    return fs_of(io)->mono_ns;
}

static uint64_t memfs_clock_realtime_ns(struct io *io) {
    return fs_of(io)->real_ns;
}

static strom_err memfs_futex_wait(struct io *io, uint32_t *addr, uint32_t expected,
                                  uint64_t timeout_ns) {
    (void)io;
    (void)addr;
    (void)expected;
    (void)timeout_ns;
    return STROM_OK; /* a spurious return: nobody else runs to wake us */
}

static strom_err memfs_futex_wake(struct io *io, uint32_t *addr, uint32_t count) {
    (void)io;
    (void)addr;
    (void)count;
    return STROM_OK;
}

static strom_err memfs_entropy(struct io *io, void *buf, size_t len) {
    rng_fill(&fs_of(io)->rng, buf, len);
    return STROM_OK;
}

static void memfs_sleep_ns(struct io *io, uint64_t timeout_ns) {
    io_memfs_advance_ns(fs_of(io), timeout_ns);
}

static void memfs_log_write(struct io *io, const char *text, size_t len) {
    (void)io;
    fwrite(text, 1, len, stderr);
}

static const struct io_vtable memfs_vtable = {
    .file_open = memfs_file_open,
    .file_close = memfs_file_close,
    .file_pread = memfs_file_pread,
    .file_pwrite = memfs_file_pwrite,
    .file_datasync = memfs_file_datasync,
    .file_size = memfs_file_size,
    .file_truncate = memfs_file_truncate,
    .file_allocate = memfs_file_allocate,
    .file_punch = memfs_file_punch,
    .path_unlink = memfs_path_unlink,
    .path_rename = memfs_path_rename,
    .path_exists = memfs_path_exists,
    .dir_create = memfs_dir_create,
    .dir_sync = memfs_dir_sync,
    .dir_list = memfs_dir_list,
    .clock_monotonic_ns = memfs_clock_monotonic_ns,
    .clock_realtime_ns = memfs_clock_realtime_ns,
    .futex_wait = memfs_futex_wait,
    .futex_wake = memfs_futex_wake,
    .entropy = memfs_entropy,
    .sleep_ns = memfs_sleep_ns,
    .log_write = memfs_log_write,
    .file_pwritev = memfs_file_pwritev,
    .file_datasync_start = io_sync_run_now, /* at once: the model has no time for it to take */
    .file_datasync_wait = memfs_file_datasync_wait,
    .file_datasync_notify = io_sync_notify_unsupported,
    .file_writeback = memfs_file_writeback,
    .file_cache_drop = memfs_file_cache_drop,
    .file_pwrite_start = memfs_file_pwrite_start, /* at its wait (file comment) */
};

/* --- the public side ------------------------------------------------------------------------ */

strom_err io_memfs_create(uint64_t seed, struct io_memfs **out) {
    struct io_memfs *fs = calloc(1, sizeof *fs);
    if (fs == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    rng_init(&fs->rng, seed);
    fs->capacity_bytes = UINT64_MAX;
    fs->mono_ns = UINT64_C(1000000000);
    fs->real_ns = UINT64_C(1700000000000000000);
    *out = fs;
    return STROM_OK;
}

void io_memfs_destroy(struct io_memfs *fs) {
    if (fs == NULL) {
        return;
    }
    for (int i = 0; i < IO_MEMFS_FILES_MAX; i++) {
        if (fs->files[i].used) {
            file_free(fs, &fs->files[i]);
        }
    }
    free(fs);
}

void io_memfs_io(struct io_memfs *fs, struct io *io) {
    io->vt = &memfs_vtable;
    io->ctx = fs;
}

void io_memfs_set_capacity(struct io_memfs *fs, uint64_t capacity_bytes) {
    fs->capacity_bytes = capacity_bytes;
}

uint64_t io_memfs_used_bytes(const struct io_memfs *fs) {
    return fs->used_blocks * IO_MEMFS_BLOCK_BYTES;
}

void io_memfs_fail_datasync(struct io_memfs *fs, uint32_t count) {
    fs->fail_datasync_count = count;
}

void io_memfs_refuse_direct(struct io_memfs *fs, bool refuse) {
    fs->direct_refused = refuse;
}

void io_memfs_fail_pwrite(struct io_memfs *fs, uint32_t count) {
    fs->fail_pwrite_count = count;
}

void io_memfs_fail_writeback(struct io_memfs *fs, uint32_t count) {
    fs->fail_writeback_count = count;
}

void io_memfs_set_read_flip(struct io_memfs *fs, double p) {
    strom_assert(p >= 0 && p <= 1);
    fs->read_flip_p = p;
}

void io_memfs_advance_ns(struct io_memfs *fs, uint64_t ns) {
    fs->mono_ns += ns;
    fs->real_ns += ns;
}

/* Rebuilds f from its disk image and the surviving part of its log. */
static strom_err file_crash(struct io_memfs *fs, struct memfs_file *f,
                            enum io_memfs_crash_mode mode) {
    struct memfs_image im = {0};
    strom_err err = image_resize(&im, f->disk.size);
    if (err == STROM_OK && f->disk.size) {
        memcpy(im.bytes, f->disk.bytes, f->disk.size);
    }
    /* PREFIX: ops before cut survive whole, op cut keeps its first torn_sectors sectors. */
    uint32_t cut = f->op_count ? (uint32_t)rng_below(&fs->rng, f->op_count + 1) : 0;
    for (uint32_t i = 0; i < f->op_count && err == STROM_OK; i++) {
        const struct memfs_op *op = &f->ops[i];
        uint64_t sectors = op_sectors(op);
        if (mode == IO_MEMFS_CRASH_KEEP || (mode == IO_MEMFS_CRASH_PREFIX && i < cut)) {
            err = op_apply(&im, op);
        } else if (mode == IO_MEMFS_CRASH_PREFIX && i == cut && op->kind == MEMFS_OP_WRITE) {
            err = op_apply_sectors(&im, op, 0, rng_below(&fs->rng, sectors + 1));
        } else if (mode == IO_MEMFS_CRASH_SECTORS && op->kind == MEMFS_OP_WRITE) {
            for (uint64_t s = 0; s < sectors && err == STROM_OK; s++) {
                err = rng_chance(&fs->rng, 0.5) ? op_apply_sectors(&im, op, s, 1) : STROM_OK;
            }
        } else if (mode == IO_MEMFS_CRASH_SECTORS && rng_chance(&fs->rng, 0.5)) {
            err = op_apply(&im, op);
        }
    }
    if (err) {
        free(im.bytes);
        return err;
    }
    log_clear(f);
    free(f->cur.bytes);
    free(f->disk.bytes);
    f->cur = im;
    f->disk = (struct memfs_image){0};
    err = image_resize(&f->disk, im.size);
    if (err == STROM_OK && im.size) {
        memcpy(f->disk.bytes, im.bytes, im.size);
    }
    /* Space: whatever lies past the new size is given back. */
    if (f->block_cap) {
        blocks_release(fs, f,
                       (im.size + IO_MEMFS_BLOCK_BYTES - 1) / IO_MEMFS_BLOCK_BYTES *
                           IO_MEMFS_BLOCK_BYTES,
                       f->block_cap * IO_MEMFS_BLOCK_BYTES);
    }
    return err;
}

void io_memfs_crash(struct io_memfs *fs, enum io_memfs_crash_mode mode) {
    for (int i = 0; i < IO_MEMFS_FDS_MAX; i++) {
        fs->fds[i].used = false;
    }
    for (int i = 0; i < IO_SYNCS_MAX; i++) {
        fs->stats.pwrites_dropped += fs->writes[i].used; /* lost with the power */
        fs->writes[i].used = false;
    }
    for (int i = 0; i < IO_MEMFS_FILES_MAX; i++) {
        struct memfs_file *f = &fs->files[i];
        if (!f->used) {
            continue;
        }
        f->fd_refs = 0;
        if (f->unlinked) {
            file_free(fs, f);
        } else if (!f->is_dir) {
            strom_err err = file_crash(fs, f, mode);
            strom_assert(err == STROM_OK); /* only allocation can fail here */
        }
    }
}

static struct memfs_file *file_by_path(struct io_memfs *fs, const char *path) {
    int i = file_find(fs, path);
    return (i < 0 || fs->files[i].is_dir) ? NULL : &fs->files[i];
}

strom_err io_memfs_file_read(struct io_memfs *fs, const char *path, uint64_t off, void *buf,
                             size_t len, size_t *got) {
    struct memfs_file *f = file_by_path(fs, path);
    *got = 0;
    if (f == NULL) {
        return STROM_ERR_NOT_FOUND;
    }
    if (off < f->cur.size) {
        *got = (size_t)(f->cur.size - off < len ? f->cur.size - off : len);
        memcpy(buf, f->cur.bytes + off, *got);
    }
    return STROM_OK;
}

strom_err io_memfs_file_write(struct io_memfs *fs, const char *path, uint64_t off, const void *buf,
                              size_t len) {
    struct memfs_file *f = file_by_path(fs, path);
    if (f == NULL) {
        return STROM_ERR_NOT_FOUND;
    }
    strom_err err = image_write(&f->cur, off, buf, len);
    if (err == STROM_OK) {
        err = image_write(&f->disk, off, buf, len);
    }
    return err;
}

strom_err io_memfs_file_flip(struct io_memfs *fs, const char *path, uint64_t off, uint8_t bit) {
    struct memfs_file *f = file_by_path(fs, path);
    if (f == NULL) {
        return STROM_ERR_NOT_FOUND;
    }
    if (off >= f->cur.size || bit >= 8) {
        return STROM_ERR_OUT_OF_RANGE;
    }
    f->cur.bytes[off] ^= (uint8_t)(1u << bit);
    if (off < f->disk.size) {
        f->disk.bytes[off] ^= (uint8_t)(1u << bit);
    }
    return STROM_OK;
}

strom_err io_memfs_file_size(struct io_memfs *fs, const char *path, uint64_t *size_out) {
    struct memfs_file *f = file_by_path(fs, path);
    if (f == NULL) {
        return STROM_ERR_NOT_FOUND;
    }
    *size_out = f->cur.size;
    return STROM_OK;
}

strom_err io_memfs_file_set_size(struct io_memfs *fs, const char *path, uint64_t size) {
    struct memfs_file *f = file_by_path(fs, path);
    if (f == NULL) {
        return STROM_ERR_NOT_FOUND;
    }
    strom_err err = image_resize(&f->cur, size);
    if (err == STROM_OK) {
        err = image_resize(&f->disk, size);
    }
    return err;
}

void io_memfs_get_stats(const struct io_memfs *fs, struct io_memfs_stats *out) {
    *out = fs->stats;
}
