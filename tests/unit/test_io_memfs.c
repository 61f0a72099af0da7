/* test_io_memfs.c: the memory io keeps synced data, loses or tears unsynced data as told, counts
 * space, and fails fdatasync with Linux's semantics. */
#include <criterion/criterion.h>
#include <string.h>

#include "io/io_memfs.h"

struct fixture {
    struct io_memfs *fs;
    struct io io;
};

static void fixture_init(struct fixture *fx, uint64_t seed) {
    cr_assert_eq(io_memfs_create(seed, &fx->fs), STROM_OK);
    io_memfs_io(fx->fs, &fx->io);
}

static int open_rw(struct fixture *fx, const char *path) {
    int fd = -1;
    cr_assert_eq(io_file_open(&fx->io, path, IO_OPEN_WRITE | IO_OPEN_CREATE, &fd), STROM_OK);
    return fd;
}

static void fill(uint8_t *buf, size_t len, uint8_t seed) {
    for (size_t i = 0; i < len; i++) {
        buf[i] = (uint8_t)(seed + i * 7);
    }
}

Test(io_memfs, write_read_and_size) {
    struct fixture fx;
    fixture_init(&fx, 1);
    int fd = open_rw(&fx, "a");
    uint8_t data[1000];
    fill(data, sizeof data, 3);
    cr_assert_eq(io_file_pwrite(&fx.io, fd, data, sizeof data, 100), STROM_OK);
    uint64_t size = 0;
    cr_assert_eq(io_file_size(&fx.io, fd, &size), STROM_OK);
    cr_assert_eq(size, 1100);
    uint8_t back[1200];
    size_t got = 0;
    cr_assert_eq(io_file_pread(&fx.io, fd, back, sizeof back, 0, &got), STROM_OK);
    cr_assert_eq(got, 1100);
    for (int i = 0; i < 100; i++) {
        cr_assert_eq(back[i], 0);
    }
    cr_assert_eq(memcmp(back + 100, data, sizeof data), 0);
    cr_assert_eq(io_file_close(&fx.io, fd), STROM_OK);
    cr_assert_eq(io_file_open(&fx.io, "missing", IO_OPEN_READ, &fd), STROM_ERR_NOT_FOUND);
    cr_assert_eq(io_file_open(&fx.io, "d/x", IO_OPEN_WRITE | IO_OPEN_CREATE, &fd),
                 STROM_ERR_NOT_FOUND);
    cr_assert_eq(io_dir_create(&fx.io, "d"), STROM_OK);
    cr_assert_eq(io_file_open(&fx.io, "d/x", IO_OPEN_WRITE | IO_OPEN_CREATE, &fd), STROM_OK);
    io_memfs_destroy(fx.fs);
}

Test(io_memfs, crash_drop_keeps_only_synced) {
    struct fixture fx;
    fixture_init(&fx, 2);
    int fd = open_rw(&fx, "a");
    uint8_t one[600], two[700];
    fill(one, sizeof one, 1);
    fill(two, sizeof two, 2);
    cr_assert_eq(io_file_pwrite(&fx.io, fd, one, sizeof one, 0), STROM_OK);
    cr_assert_eq(io_file_datasync(&fx.io, fd), STROM_OK);
    cr_assert_eq(io_file_pwrite(&fx.io, fd, two, sizeof two, 600), STROM_OK);
    io_memfs_crash(fx.fs, IO_MEMFS_CRASH_DROP);
    uint64_t size = 0;
    cr_assert_eq(io_memfs_file_size(fx.fs, "a", &size), STROM_OK);
    cr_assert_eq(size, 600);
    uint8_t back[600];
    size_t got;
    cr_assert_eq(io_memfs_file_read(fx.fs, "a", 0, back, sizeof back, &got), STROM_OK);
    cr_assert_eq(memcmp(back, one, sizeof one), 0);
    /* Descriptors are gone after a crash. */
    cr_assert_eq(io_file_pwrite(&fx.io, fd, one, 1, 0), STROM_ERR_INVALID_ARGUMENT);
    io_memfs_destroy(fx.fs);
}

Test(io_memfs, crash_keep_keeps_everything) {
    struct fixture fx;
    fixture_init(&fx, 3);
    int fd = open_rw(&fx, "a");
    uint8_t one[5000];
    fill(one, sizeof one, 9);
    cr_assert_eq(io_file_pwrite(&fx.io, fd, one, sizeof one, 0), STROM_OK);
    io_memfs_crash(fx.fs, IO_MEMFS_CRASH_KEEP);
    uint8_t back[5000];
    size_t got;
    cr_assert_eq(io_memfs_file_read(fx.fs, "a", 0, back, sizeof back, &got), STROM_OK);
    cr_assert_eq(got, sizeof one);
    cr_assert_eq(memcmp(back, one, sizeof one), 0);
    io_memfs_destroy(fx.fs);
}

/* After a PREFIX crash, the file is: some whole writes in order, then a torn one cut at a sector
 * boundary, nothing else. Sequential writes make that a prefix of the data, cut at 512 bytes. */
Test(io_memfs, crash_prefix_is_a_sector_aligned_prefix) {
    bool saw_partial = false;
    for (uint64_t seed = 0; seed < 64; seed++) {
        struct fixture fx;
        fixture_init(&fx, seed);
        int fd = open_rw(&fx, "a");
        uint8_t data[8192];
        fill(data, sizeof data, (uint8_t)seed);
        for (int i = 0; i < 8; i++) {
            cr_assert_eq(io_file_pwrite(&fx.io, fd, data + i * 1024, 1024, (uint64_t)i * 1024),
                         STROM_OK);
        }
        io_memfs_crash(fx.fs, IO_MEMFS_CRASH_PREFIX);
        uint64_t size = 0;
        cr_assert_eq(io_memfs_file_size(fx.fs, "a", &size), STROM_OK);
        cr_assert_eq(size % 512, 0);
        cr_assert_leq(size, sizeof data);
        uint8_t back[8192];
        size_t got;
        cr_assert_eq(io_memfs_file_read(fx.fs, "a", 0, back, sizeof back, &got), STROM_OK);
        cr_assert_eq(memcmp(back, data, got), 0);
        saw_partial |= size % 1024 != 0;
        io_memfs_destroy(fx.fs);
    }
    cr_assert(saw_partial, "some seed tears a write in the middle");
}

Test(io_memfs, crash_sectors_is_a_mix_and_deterministic) {
    uint8_t first[4096], second[4096];
    for (int run = 0; run < 2; run++) {
        struct fixture fx;
        fixture_init(&fx, 77);
        int fd = open_rw(&fx, "a");
        uint8_t zero[4096] = {0};
        cr_assert_eq(io_file_pwrite(&fx.io, fd, zero, sizeof zero, 0), STROM_OK);
        cr_assert_eq(io_file_datasync(&fx.io, fd), STROM_OK);
        uint8_t data[4096];
        memset(data, 0xAB, sizeof data);
        cr_assert_eq(io_file_pwrite(&fx.io, fd, data, sizeof data, 0), STROM_OK);
        io_memfs_crash(fx.fs, IO_MEMFS_CRASH_SECTORS);
        size_t got;
        cr_assert_eq(io_memfs_file_read(fx.fs, "a", 0, run ? second : first, 4096, &got), STROM_OK);
        io_memfs_destroy(fx.fs);
    }
    cr_assert_eq(memcmp(first, second, sizeof first), 0, "same seed, same crash");
    int kept = 0;
    for (int s = 0; s < 8; s++) {
        uint8_t b = first[s * 512];
        cr_assert(b == 0 || b == 0xAB);
        for (int i = 1; i < 512; i++) {
            cr_assert_eq(first[s * 512 + i], b, "a sector survives whole or not at all");
        }
        kept += b == 0xAB;
    }
    cr_assert(kept > 0 && kept < 8, "with seed 77 some sectors survive and some do not");
}

Test(io_memfs, capacity_and_punch) {
    struct fixture fx;
    fixture_init(&fx, 4);
    io_memfs_set_capacity(fx.fs, 4 * IO_MEMFS_BLOCK_BYTES);
    int fd = open_rw(&fx, "a");
    uint8_t block[IO_MEMFS_BLOCK_BYTES];
    fill(block, sizeof block, 5);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(io_file_pwrite(&fx.io, fd, block, sizeof block, (uint64_t)i * sizeof block),
                     STROM_OK);
    }
    cr_assert_eq(io_memfs_used_bytes(fx.fs), 4 * IO_MEMFS_BLOCK_BYTES);
    cr_assert_eq(io_file_pwrite(&fx.io, fd, block, 1, 4 * sizeof block), STROM_ERR_NO_SPACE);
    cr_assert_eq(io_file_allocate(&fx.io, fd, 4 * sizeof block, 1), STROM_ERR_NO_SPACE);
    /* Rewriting held blocks needs no new space. */
    cr_assert_eq(io_file_pwrite(&fx.io, fd, block, 10, 5), STROM_OK);
    cr_assert_eq(io_file_punch(&fx.io, fd, 0, 2 * sizeof block), STROM_OK);
    cr_assert_eq(io_memfs_used_bytes(fx.fs), 2 * IO_MEMFS_BLOCK_BYTES);
    uint8_t back[16];
    size_t got;
    cr_assert_eq(io_file_pread(&fx.io, fd, back, sizeof back, 100, &got), STROM_OK);
    for (size_t i = 0; i < got; i++) {
        cr_assert_eq(back[i], 0);
    }
    cr_assert_eq(io_file_pwrite(&fx.io, fd, block, 1, 4 * sizeof block), STROM_OK);
    /* allocate keeps the size. */
    cr_assert_eq(io_file_allocate(&fx.io, fd, 5 * sizeof block, 10), STROM_OK);
    uint64_t size;
    cr_assert_eq(io_file_size(&fx.io, fd, &size), STROM_OK);
    cr_assert_eq(size, 4 * sizeof block + 1);
    io_memfs_destroy(fx.fs);
}

/* fsyncgate: after a failed fdatasync, a later successful one does not persist the data. */
Test(io_memfs, failed_datasync_loses_the_data_for_good) {
    struct fixture fx;
    fixture_init(&fx, 5);
    int fd = open_rw(&fx, "a");
    uint8_t data[100];
    fill(data, sizeof data, 1);
    cr_assert_eq(io_file_pwrite(&fx.io, fd, data, sizeof data, 0), STROM_OK);
    io_memfs_fail_datasync(fx.fs, 1);
    cr_assert_eq(io_file_datasync(&fx.io, fd), STROM_ERR_IO);
    cr_assert_eq(io_file_datasync(&fx.io, fd), STROM_OK);
    uint8_t back[100];
    size_t got;
    cr_assert_eq(io_file_pread(&fx.io, fd, back, sizeof back, 0, &got), STROM_OK);
    cr_assert_eq(got, 100, "the page cache still shows it");
    io_memfs_crash(fx.fs, IO_MEMFS_CRASH_KEEP);
    uint64_t size = 1;
    cr_assert_eq(io_memfs_file_size(fx.fs, "a", &size), STROM_OK);
    cr_assert_eq(size, 0, "but the disk never got it");
    io_memfs_destroy(fx.fs);
}

Test(io_memfs, pwrite_failure_and_read_flips) {
    struct fixture fx;
    fixture_init(&fx, 6);
    int fd = open_rw(&fx, "a");
    uint8_t data[64];
    fill(data, sizeof data, 1);
    io_memfs_fail_pwrite(fx.fs, 1);
    cr_assert_eq(io_file_pwrite(&fx.io, fd, data, sizeof data, 0), STROM_ERR_IO);
    uint64_t size = 1;
    cr_assert_eq(io_file_size(&fx.io, fd, &size), STROM_OK);
    cr_assert_eq(size, 0);
    cr_assert_eq(io_file_pwrite(&fx.io, fd, data, sizeof data, 0), STROM_OK);
    io_memfs_set_read_flip(fx.fs, 1.0);
    uint8_t back[64];
    size_t got;
    cr_assert_eq(io_file_pread(&fx.io, fd, back, sizeof back, 0, &got), STROM_OK);
    int diff_bits = 0;
    for (int i = 0; i < 64; i++) {
        diff_bits += __builtin_popcount(back[i] ^ data[i]);
    }
    cr_assert_eq(diff_bits, 1);
    io_memfs_set_read_flip(fx.fs, 0);
    cr_assert_eq(io_file_pread(&fx.io, fd, back, sizeof back, 0, &got), STROM_OK);
    cr_assert_eq(memcmp(back, data, sizeof data), 0, "the flip was transient");
    struct io_memfs_stats st;
    io_memfs_get_stats(fx.fs, &st);
    cr_assert_eq(st.flips, 1);
    io_memfs_destroy(fx.fs);
}

Test(io_memfs, truncate_then_crash) {
    struct fixture fx;
    fixture_init(&fx, 8);
    int fd = open_rw(&fx, "a");
    uint8_t data[3000];
    fill(data, sizeof data, 4);
    cr_assert_eq(io_file_pwrite(&fx.io, fd, data, sizeof data, 0), STROM_OK);
    cr_assert_eq(io_file_datasync(&fx.io, fd), STROM_OK);
    cr_assert_eq(io_file_truncate(&fx.io, fd, 1000), STROM_OK);
    cr_assert_eq(io_file_pwrite(&fx.io, fd, data, 10, 2000), STROM_OK);
    cr_assert_eq(io_file_datasync(&fx.io, fd), STROM_OK);
    io_memfs_crash(fx.fs, IO_MEMFS_CRASH_DROP);
    uint8_t back[2010];
    size_t got;
    cr_assert_eq(io_memfs_file_read(fx.fs, "a", 0, back, sizeof back, &got), STROM_OK);
    cr_assert_eq(got, 2010);
    cr_assert_eq(memcmp(back, data, 1000), 0);
    for (int i = 1000; i < 2000; i++) {
        cr_assert_eq(back[i], 0, "byte %d: the truncated range reads as zeros", i);
    }
    cr_assert_eq(memcmp(back + 2000, data, 10), 0);
    io_memfs_destroy(fx.fs);
}

Test(io_memfs, pwritev_writes_the_pieces_in_order) {
    struct fixture fx;
    fixture_init(&fx, 9);
    int fd = open_rw(&fx, "a");
    uint8_t a[100], b[7], c[3000];
    fill(a, sizeof a, 1);
    fill(b, sizeof b, 2);
    fill(c, sizeof c, 3);
    struct io_iov iov[4] = {{a, sizeof a}, {b, 0}, {b, sizeof b}, {c, sizeof c}};
    cr_assert_eq(io_file_pwritev(&fx.io, fd, iov, 4, 50), STROM_OK);
    uint8_t back[3200];
    size_t got = 0;
    cr_assert_eq(io_file_pread(&fx.io, fd, back, sizeof back, 50, &got), STROM_OK);
    cr_assert_eq(got, 3107);
    cr_assert_eq(memcmp(back, a, sizeof a), 0);
    cr_assert_eq(memcmp(back + 100, b, sizeof b), 0);
    cr_assert_eq(memcmp(back + 107, c, sizeof c), 0);
    io_memfs_set_capacity(fx.fs, io_memfs_used_bytes(fx.fs));
    struct io_iov more[1] = {{c, sizeof c}};
    cr_assert_eq(io_file_pwritev(&fx.io, fd, more, 1, 8192), STROM_ERR_NO_SPACE);
    io_memfs_destroy(fx.fs);
}

/* IO_OPEN_DIRECT: unaligned writes fail as O_DIRECT's do, aligned ones land; a refusing file
 * system says UNSUPPORTED. */
Test(io_memfs, direct_writes_must_be_aligned) {
    struct fixture fx;
    fixture_init(&fx, 9);
    int fd = open_rw(&fx, "a");
    int dfd = -1;
    cr_assert_eq(io_file_open(&fx.io, "a", IO_OPEN_WRITE | IO_OPEN_DIRECT, &dfd), STROM_OK);
    static _Alignas(IO_DIRECT_ALIGN) uint8_t block[2 * IO_DIRECT_ALIGN];
    fill(block, sizeof block, 5);
    cr_assert_eq(io_file_pwrite(&fx.io, dfd, block + 1, IO_DIRECT_ALIGN, 0),
                 STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(io_file_pwrite(&fx.io, dfd, block, 100, 0), STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(io_file_pwrite(&fx.io, dfd, block, IO_DIRECT_ALIGN, 512),
                 STROM_ERR_INVALID_ARGUMENT);
    cr_assert_eq(io_file_pwrite(&fx.io, dfd, block, sizeof block, IO_DIRECT_ALIGN), STROM_OK);
    cr_assert_eq(io_file_pwrite(&fx.io, fd, block, 100, 1), STROM_OK); /* not direct: any */
    uint8_t back[sizeof block];
    size_t got = 0;
    cr_assert_eq(io_file_pread(&fx.io, fd, back, sizeof back, IO_DIRECT_ALIGN, &got), STROM_OK);
    cr_assert_eq(got, sizeof block);
    cr_assert_eq(memcmp(back, block, sizeof block), 0);
    io_memfs_refuse_direct(fx.fs, true);
    int refused = -1;
    cr_assert_eq(io_file_open(&fx.io, "a", IO_OPEN_WRITE | IO_OPEN_DIRECT, &refused),
                 STROM_ERR_UNSUPPORTED);
    io_memfs_destroy(fx.fs);
}

/* An asynchronous write happens at its wait, from the buffer as it is then: before that a read
 * sees the old bytes and a sync does not cover it; a close or a crash before the wait drops it
 * (the wait then reports IO). */
Test(io_memfs, async_write_happens_at_its_wait) {
    struct fixture fx;
    fixture_init(&fx, 9);
    int fd = open_rw(&fx, "a");
    uint8_t data[512], back[512];
    fill(data, sizeof data, 5);
    struct io_sync w;
    cr_assert_eq(io_file_pwrite_start(&fx.io, fd, data, sizeof data, 0, &w), STROM_OK);
    cr_assert(!w.done);
    size_t got = 1;
    cr_assert_eq(io_file_pread(&fx.io, fd, back, sizeof back, 0, &got), STROM_OK);
    cr_assert_eq(got, 0, "nothing written before the wait");
    cr_assert_eq(io_file_datasync(&fx.io, fd), STROM_OK); /* covers nothing of it */
    data[0] ^= 0xff;                                      /* the buffer as it is at the wait */
    cr_assert_eq(io_file_datasync_wait(&fx.io, &w, IO_TIMEOUT_INFINITE), STROM_OK);
    cr_assert(w.done);
    cr_assert_eq(w.result, STROM_OK);
    cr_assert_eq(io_file_pread(&fx.io, fd, back, sizeof back, 0, &got), STROM_OK);
    cr_assert_eq(got, sizeof data);
    cr_assert_eq(memcmp(back, data, sizeof data), 0);
    /* written, not synced: a crash that drops unsynced writes leaves the file empty */
    struct io_sync lost;
    cr_assert_eq(io_file_pwrite_start(&fx.io, fd, data, sizeof data, 512, &lost), STROM_OK);
    io_memfs_crash(fx.fs, IO_MEMFS_CRASH_DROP);
    cr_assert_eq(io_file_datasync_wait(&fx.io, &lost, IO_TIMEOUT_INFINITE), STROM_OK);
    cr_assert_eq(lost.result, STROM_ERR_IO, "dropped by the crash");
    fd = open_rw(&fx, "a");
    uint64_t size = 1;
    cr_assert_eq(io_file_size(&fx.io, fd, &size), STROM_OK);
    cr_assert_eq(size, 0);
    /* a close drops a write nobody waited for */
    cr_assert_eq(io_file_pwrite_start(&fx.io, fd, data, sizeof data, 0, &w), STROM_OK);
    cr_assert_eq(io_file_close(&fx.io, fd), STROM_OK);
    struct io_memfs_stats st;
    io_memfs_get_stats(fx.fs, &st);
    cr_assert_eq(st.pwrites_started, 3);
    cr_assert_eq(st.pwrites_dropped, 2, "the crash's and the close's");
    io_memfs_destroy(fx.fs);
}
