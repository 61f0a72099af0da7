/*
 * io_memfs.h: an io (see io.h) whose files live in memory, with faults injected on demand.
 *
 * It keeps two images of every file: what a reader sees now (the page cache) and what a crash
 * would leave (the disk). pwrite, truncate and punch change the first image and are logged; a
 * successful fdatasync copies what they changed into the second image and clears the log. A crash
 * (io_memfs_crash) closes every descriptor and rebuilds each file from its disk image and the part
 * of its log the chosen mode lets survive: none, a prefix torn at a sector, or a random subset of
 * sectors (a device that reorders writes). Every choice is drawn from a struct rng seeded at
 * creation, so a run is reproduced exactly from its seed and its sequence of calls.
 *
 * Faults: a byte capacity (pwrite and allocate fail with STROM_ERR_NO_SPACE beyond it, writing
 * nothing); failed fdatasyncs with Linux's semantics since 2018 (the error is reported once and
 * the pages are marked clean, so a later fdatasync succeeds without persisting them: they are
 * lost at the next crash), and failed write-back waits (sync_file_range) with the same; failed
 * pwrites (STROM_ERR_IO, nothing written); bit flips in what pread returns (transient) or in both
 * images (persistent). An asynchronous write (file_pwrite_start) happens only at its
 * file_datasync_wait, reading the caller's buffer then; a close of its descriptor or a crash
 * before that drops it.
 *
 * Files and directories are entries of one flat table keyed by path; a path's parent directory
 * must exist ("" for a path without '/'). Creating, renaming and unlinking are durable at once.
 * The clocks stand still unless io_memfs_advance_ns or io_sleep_ns moves them. Futexes return at
 * once (one process, nothing to wait for).
 *
 * The io from io_memfs_io fills the file (pwritev: one logged write per piece), path, directory,
 * clock, futex, entropy, sleep and log members; the network, poller, event, process, signal and
 * shared-memory members are NULL (a simulator wraps this io and supplies its own).
 * Single-threaded. Bounds: IO_MEMFS_FILES_MAX entries, IO_MEMFS_FDS_MAX open descriptors,
 * IO_MEMFS_PATH_BYTES_MAX bytes per path.
 */
#ifndef STROM_IO_IO_MEMFS_H
#define STROM_IO_IO_MEMFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "io/io.h"

enum {
    IO_MEMFS_FILES_MAX = 256,      /* files and directories in all */
    IO_MEMFS_FDS_MAX = 256,        /* descriptors open at once */
    IO_MEMFS_PATH_BYTES_MAX = 256, /* a path, with its NUL */
    IO_MEMFS_SECTOR_BYTES = 512,   /* unit of a torn write */
    IO_MEMFS_BLOCK_BYTES = 4096,   /* unit of space accounting and of punch */
    IO_MEMFS_FD_FIRST = 3,         /* descriptors are small integers from here */
};

/* What survives of the operations not yet covered by a successful fdatasync. */
enum io_memfs_crash_mode {
    IO_MEMFS_CRASH_KEEP = 0,    /* all of them (a process crash: the page cache survives) */
    IO_MEMFS_CRASH_DROP = 1,    /* none of them (power loss after a cache that never wrote) */
    IO_MEMFS_CRASH_PREFIX = 2,  /* a random prefix in issue order, the last one torn at a sector */
    IO_MEMFS_CRASH_SECTORS = 3, /* each sector of each write, and each truncate or punch, with
                                   probability 1/2 (a device that reorders and tears) */
};

/* Counters of calls, for tests and benchmarks. */
struct io_memfs_stats {
    uint64_t preads;
    uint64_t pwrites;
    uint64_t datasyncs;
    uint64_t datasyncs_failed; /* injected failures */
    uint64_t flips;            /* bits flipped in pread results */
    uint64_t writebacks;       /* file_writeback without wait */
    uint64_t writeback_waits;  /* file_writeback with wait */
    uint64_t cache_drops;      /* file_cache_drop */
    uint64_t cache_drop_end;   /* the highest off + len of a file_cache_drop (any file) */
    uint64_t pwrites_started;  /* file_pwrite_start (each also counts in pwrites at its wait) */
    uint64_t pwrites_dropped;  /* of those: dropped unwaited by a close or a crash */
};

struct io_memfs;

/* Creates an empty file system whose random choices follow seed. Errors: NO_MEMORY. */
strom_err io_memfs_create(uint64_t seed, struct io_memfs **out);

/* Frees fs and every file; descriptors still open are dropped. */
void io_memfs_destroy(struct io_memfs *fs);

/* Fills *io with the memfs table and fs as its context. */
void io_memfs_io(struct io_memfs *fs, struct io *io);

/* Space: pwrite and allocate fail with NO_SPACE when the blocks (IO_MEMFS_BLOCK_BYTES) held by
 * all files would pass capacity_bytes. UINT64_MAX (the default) is unlimited. Lowering it below
 * what is used only stops further growth. */
void io_memfs_set_capacity(struct io_memfs *fs, uint64_t capacity_bytes);

/* Bytes of blocks held by all files now. */
uint64_t io_memfs_used_bytes(const struct io_memfs *fs);

/* The next count calls of fdatasync fail with STROM_ERR_IO (fsyncgate semantics, see above). */
void io_memfs_fail_datasync(struct io_memfs *fs, uint32_t count);

/* The next count calls of pwrite fail with STROM_ERR_IO and write nothing. */
void io_memfs_fail_pwrite(struct io_memfs *fs, uint32_t count);

/* The next count calls of file_writeback with wait fail with STROM_ERR_IO, with the semantics of
 * a failed fdatasync (the logged changes are marked clean and never reach the disk). */
void io_memfs_fail_writeback(struct io_memfs *fs, uint32_t count);

/* refuse: opens with IO_OPEN_DIRECT fail with UNSUPPORTED, as on a file system without O_DIRECT
 * (false, the default: they succeed, and their writes must be aligned as on Linux). */
void io_memfs_refuse_direct(struct io_memfs *fs, bool refuse);

/* Each pread flips one random bit of what it returns with probability p in [0, 1]; the files
 * are unchanged. */
void io_memfs_set_read_flip(struct io_memfs *fs, double p);

/* Crashes: closes every descriptor, then rebuilds each file per mode (see the enum). */
void io_memfs_crash(struct io_memfs *fs, enum io_memfs_crash_mode mode);

/* Moves both clocks forward by ns. */
void io_memfs_advance_ns(struct io_memfs *fs, uint64_t ns);

/* Test access to a file by path, past any descriptor. read: the current image, *got < len only at
 * its end. write: into both images at once (as if written and synced), growing them as needed,
 * without space accounting; used to plant corruption. flip: one bit of both images. size: the
 * current size. set_size: both images cut or zero-extended to size. Errors: NOT_FOUND, and
 * OUT_OF_RANGE for flip past the end. */
strom_err io_memfs_file_read(struct io_memfs *fs, const char *path, uint64_t off, void *buf,
                             size_t len, size_t *got);
strom_err io_memfs_file_write(struct io_memfs *fs, const char *path, uint64_t off, const void *buf,
                              size_t len);
strom_err io_memfs_file_flip(struct io_memfs *fs, const char *path, uint64_t off, uint8_t bit);
strom_err io_memfs_file_size(struct io_memfs *fs, const char *path, uint64_t *size_out);
strom_err io_memfs_file_set_size(struct io_memfs *fs, const char *path, uint64_t size);

/* The call counters. */
void io_memfs_get_stats(const struct io_memfs *fs, struct io_memfs_stats *out);

#endif
