/* test_store_faults.c: the store after crashes, torn tails, corruption, a full disk and a failed
 * fdatasync, each checked against the model: every synced batch present, nothing partial,
 * nothing corrupt ever returned as data. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/format.h"
#include "store_model.h"

static const char *const PATH = "data";

/* STROM_STORE_SOAK=N runs N times the seeds (a longer soak than make test's). */
static uint64_t seeds(uint64_t n) {
    const char *env = getenv("STROM_STORE_SOAK");
    uint64_t times = env ? strtoull(env, NULL, 10) : 1;
    return n * (times ? times : 1);
}

struct fsx {
    struct io_memfs *fs;
    struct io io;
};

static void fsx_init(struct fsx *x, uint64_t seed) {
    cr_assert_eq(io_memfs_create(seed, &x->fs), STROM_OK);
    io_memfs_io(x->fs, &x->io);
}

static struct store *open_ok(struct fsx *x, const struct store_options *o) {
    struct store *s = NULL;
    strom_err err = store_open(&x->io, PATH, o, &s);
    cr_assert_eq(err, STROM_OK, "open: %s (pos %llu)", strom_errname(err),
                 (unsigned long long)(s ? store_error_pos(s) : 0));
    return s;
}

/* The bytes of the store file. */
static uint8_t *file_bytes(struct io_memfs *fs, uint64_t *size) {
    cr_assert_eq(io_memfs_file_size(fs, PATH, size), STROM_OK);
    uint8_t *b = malloc(*size ? *size : 1);
    size_t got = 0;
    cr_assert_eq(io_memfs_file_read(fs, PATH, 0, b, *size, &got), STROM_OK);
    cr_assert_eq(got, *size);
    return b;
}

/* A fresh memfs whose store file is bytes [0, len) plus junk_len random bytes. */
static void plant_file(struct fsx *x, uint64_t seed, const uint8_t *bytes, uint64_t len,
                       uint32_t junk_len) {
    fsx_init(x, seed);
    int fd = -1;
    cr_assert_eq(io_file_open(&x->io, PATH, IO_OPEN_WRITE | IO_OPEN_CREATE, &fd), STROM_OK);
    cr_assert_eq(io_file_close(&x->io, fd), STROM_OK);
    cr_assert_eq(io_memfs_file_write(x->fs, PATH, 0, bytes, len), STROM_OK);
    if (junk_len) {
        uint8_t junk[4096];
        struct rng r;
        rng_init(&r, seed);
        rng_fill(&r, junk, junk_len);
        cr_assert_eq(io_memfs_file_write(x->fs, PATH, len, junk, junk_len), STROM_OK);
    }
}

/* The positions where records start, from the file's first record to its end. */
static uint32_t record_starts(const uint8_t *b, uint64_t size, uint64_t *starts, uint32_t max) {
    uint32_t n = 0;
    uint64_t pos = STORE_DATA_START;
    while (pos + STORE_HEADER_BYTES <= size && n < max) {
        uint32_t body = store_get_u32(b + pos + 8);
        starts[n++] = pos;
        pos += store_record_span(body);
    }
    cr_assert_eq(pos, size, "the file is whole records");
    return n;
}

/* Builds a small file of several streams with syncs and checkpoints; *m gets its model. */
static uint8_t *build_file(uint64_t seed, struct model **m_out, uint64_t *size,
                           struct store_options *o) {
    struct fsx x;
    fsx_init(&x, seed);
    model_options(o);
    o->checkpoint_bytes = 8 << 10;
    struct store *s = open_ok(&x, o);
    struct model *m = model_new(6, 11);
    struct rng r;
    rng_init(&r, seed);
    for (int i = 0; i < 160; i++) {
        model_append_random(m, s, &r, 6, 4, 700);
        if (i % 9 == 0) {
            cr_assert_eq(store_sync(s, NULL), STROM_OK);
        }
    }
    cr_assert_eq(store_sync(s, NULL), STROM_OK);
    uint8_t *b = file_bytes(x.fs, size);
    store_discard(s);
    io_memfs_destroy(x.fs);
    *m_out = m;
    return b;
}

/* Opens the file cut at c (plus junk) and checks it holds exactly the batches that end by c. */
static void check_cut(const uint8_t *b, const struct model *full, const struct store_options *o,
                      uint64_t c, uint32_t junk, uint64_t seed, bool append_after) {
    struct fsx x;
    plant_file(&x, seed, b, c, junk);
    struct model *m = malloc(sizeof *m);
    memcpy(m, full, sizeof *m);
    model_cut(m, c);
    struct store *s = open_ok(&x, o);
    model_check_all(m, s);
    if (append_after) {
        for (uint32_t i = 0; i < m->stream_count; i++) {
            model_append(m, s, i, 1, 100);
        }
        cr_assert_eq(store_close(s), STROM_OK);
        s = open_ok(&x, o);
        model_check_all(m, s);
    }
    cr_assert_eq(store_close(s), STROM_OK);
    io_memfs_destroy(x.fs);
    free(m);
}

Test(store_crash, cut_at_every_record_boundary) {
    struct model *m = NULL;
    uint64_t size = 0;
    struct store_options o;
    uint8_t *b = build_file(31, &m, &size, &o);
    static uint64_t starts[4096];
    uint32_t n = record_starts(b, size, starts, 4096);
    cr_assert_gt(n, 100);
    for (uint32_t i = 0; i < n; i++) {
        check_cut(b, m, &o, starts[i], 0, i, i % 16 == 0);
    }
    check_cut(b, m, &o, size, 0, 7, true);
    free(m);
    free(b);
}

Test(store_crash, cut_and_tear_at_random_bytes) {
    struct model *m = NULL;
    uint64_t size = 0;
    struct store_options o;
    uint8_t *b = build_file(32, &m, &size, &o);
    struct rng r;
    rng_init(&r, 32);
    for (uint64_t i = 0; i < seeds(300); i++) {
        uint64_t c = rng_range(&r, STORE_DATA_START, size);
        uint32_t junk = (i % 2) ? (uint32_t)rng_range(&r, 1, 4096) : 0;
        check_cut(b, m, &o, c, junk, (uint64_t)i, i % 25 == 0);
    }
    free(m);
    free(b);
}

/* Power loss in the middle of a workload, again and again: after each crash the store holds
 * exactly a cut of the log that keeps every synced batch. switching: the writes switch between
 * O_DIRECT and the page cache now and then (store_set_direct_writes). */
static void crash_cycles_opts(uint64_t seed, enum io_memfs_crash_mode mode, bool direct,
                              bool switching) {
    struct fsx x;
    fsx_init(&x, seed);
    struct store_options o;
    model_options(&o);
    if (direct) {
        /* O_DIRECT writes, with the zeros written ahead of small groups (docs/storage.md) */
        o.direct_writes = true;
        o.size_ahead_bytes = 256 << 10;
    }
    struct store *s = open_ok(&x, &o);
    cr_assert_eq(store_direct_writes(s), direct);
    struct model *m = model_new(8, 5);
    struct rng r;
    rng_init(&r, seed);
    for (int cycle = 0; cycle < 6; cycle++) {
        uint64_t durable = store_durable_pos(s);
        int ops = (int)rng_range(&r, 20, 120);
        for (int i = 0; i < ops; i++) {
            model_append_random(m, s, &r, 8, 3, 1500);
            if (switching && rng_chance(&r, 0.1)) {
                bool on = !store_direct_writes(s);
                cr_assert_eq(store_set_direct_writes(s, on), STROM_OK);
            }
            if (rng_chance(&r, 0.1)) {
                cr_assert_eq(store_sync(s, &durable), STROM_OK);
            }
        }
        store_discard(s);
        io_memfs_crash(x.fs, mode);
        s = open_ok(&x, &o);
        struct store_stats st;
        store_get_stats(s, &st);
        cr_assert_geq(st.open_cut_pos, durable, "a synced record was lost");
        cr_assert_eq(st.open_damaged_ranges, 0);
        model_cut(m, st.open_cut_pos);
        model_check_all(m, s);
    }
    cr_assert_eq(store_close(s), STROM_OK);
    free(m);
    io_memfs_destroy(x.fs);
}

static void crash_cycles(uint64_t seed, enum io_memfs_crash_mode mode) {
    crash_cycles_opts(seed, mode, false, false);
}

Test(store_crash, power_loss_drop) {
    for (uint64_t seed = 0; seed < seeds(8); seed++) {
        crash_cycles(seed, IO_MEMFS_CRASH_DROP);
    }
}

Test(store_crash, power_loss_torn_prefix) {
    for (uint64_t seed = 0; seed < seeds(20); seed++) {
        crash_cycles(100000 + seed, IO_MEMFS_CRASH_PREFIX);
    }
}

Test(store_crash, power_loss_reordered_sectors) {
    for (uint64_t seed = 0; seed < seeds(20); seed++) {
        crash_cycles(200000 + seed, IO_MEMFS_CRASH_SECTORS);
    }
}

/* The same with O_DIRECT writes: a crash between a group's write (with the zeros after it) and
 * its sync, or with the write torn, loses no synced batch. */
Test(store_crash, power_loss_direct_writes) {
    for (uint64_t seed = 0; seed < seeds(12); seed++) {
        crash_cycles_opts(300000 + seed, IO_MEMFS_CRASH_PREFIX, true, false);
        crash_cycles_opts(400000 + seed, IO_MEMFS_CRASH_SECTORS, true, false);
        crash_cycles_opts(500000 + seed, IO_MEMFS_CRASH_DROP, true, false);
    }
}

/* The same with the writes switching between O_DIRECT and the page cache (the commit under fsync
 * interval and never): a crash before, at or after a switch loses no synced batch. */
Test(store_crash, power_loss_direct_switches) {
    for (uint64_t seed = 0; seed < seeds(12); seed++) {
        crash_cycles_opts(600000 + seed, IO_MEMFS_CRASH_PREFIX, true, true);
        crash_cycles_opts(700000 + seed, IO_MEMFS_CRASH_SECTORS, true, true);
        crash_cycles_opts(800000 + seed, IO_MEMFS_CRASH_DROP, true, true);
    }
}

/* --- corruption ------------------------------------------------------------------------------ */

/* A file with every record type; returns the store (closed) and the record starts. */
struct corrupt_case {
    struct fsx x;
    struct store_options o;
    struct model *m;
    uint8_t *bytes;
    uint64_t size;
    uint64_t starts[4096];
    uint32_t n;
};

static void corrupt_case_build(struct corrupt_case *k, uint64_t seed, bool close_at_end) {
    fsx_init(&k->x, seed);
    model_options(&k->o);
    struct store *s = open_ok(&k->x, &k->o);
    k->m = model_new(4, 3);
    for (int i = 0; i < 120; i++) {
        model_append(k->m, s, (uint32_t)(i % 4), 2, 200 + (uint32_t)i);
        if (i % 10 == 9) {
            cr_assert_eq(store_sync(s, NULL), STROM_OK);
        }
    }
    if (close_at_end) {
        cr_assert_eq(store_close(s), STROM_OK);
    } else {
        cr_assert_eq(store_sync(s, NULL), STROM_OK);
        store_discard(s);
        io_memfs_crash(k->x.fs, IO_MEMFS_CRASH_KEEP);
    }
    k->bytes = file_bytes(k->x.fs, &k->size);
    k->n = record_starts(k->bytes, k->size, k->starts, 4096);
}

static void corrupt_case_done(struct corrupt_case *k) {
    free(k->m);
    free(k->bytes);
    io_memfs_destroy(k->x.fs);
}

/* The i-th record (from the end when from_end) of the given type. */
static uint64_t find_record(const struct corrupt_case *k, uint8_t type, uint32_t i, bool from_end) {
    uint32_t seen = 0;
    for (uint32_t j = 0; j < k->n; j++) {
        uint32_t at = from_end ? k->n - 1 - j : j;
        if (k->bytes[k->starts[at] + 4] == type && seen++ == i) {
            return k->starts[at];
        }
    }
    cr_assert_fail("no record of type %u number %u", type, i);
    return 0;
}

/* Reads every batch of every stream: each is either correct or CORRUPT naming bad_pos. Returns
 * how many reads failed. */
static uint32_t read_all_expect(struct store *s, const struct model *m, uint64_t bad_lo,
                                uint64_t bad_hi) {
    static uint8_t buf[MODEL_PAYLOAD_MAX];
    uint32_t failed = 0;
    for (uint32_t i = 0; i < m->stream_count; i++) {
        const struct model_stream *ms = &m->streams[i];
        for (uint32_t bi = 0; bi < ms->batch_count; bi++) {
            struct store_cursor c;
            struct store_batch b;
            store_cursor_init(&c, ms->id, ms->batches[bi].base_offset);
            strom_err err = store_cursor_next(s, &c, &b, buf, sizeof buf);
            if (err == STROM_OK) {
                model_check_batch(ms, bi, &b, buf);
                continue;
            }
            cr_assert_eq(err, STROM_ERR_CORRUPT, "%s", strom_errname(err));
            cr_assert(c.error_pos >= bad_lo && c.error_pos <= bad_hi,
                      "error names %llu, the damage is in [%llu, %llu]",
                      (unsigned long long)c.error_pos, (unsigned long long)bad_lo,
                      (unsigned long long)bad_hi);
            failed++;
        }
    }
    return failed;
}

Test(store_corrupt, bit_flip_in_a_batch) {
    struct corrupt_case k;
    corrupt_case_build(&k, 41, true);
    uint64_t pos = find_record(&k, STORE_REC_BATCH, 17, false);
    cr_assert_eq(io_memfs_file_flip(k.x.fs, PATH, pos + 100, 3), STROM_OK);
    struct store *s = open_ok(&k.x, &k.o);
    cr_assert_eq(read_all_expect(s, k.m, pos, pos), 1, "exactly the damaged batch fails");
    cr_assert_eq(store_close(s), STROM_OK);
    corrupt_case_done(&k);
}

Test(store_corrupt, bit_flip_in_an_index_record) {
    struct corrupt_case k;
    corrupt_case_build(&k, 42, true);
    uint64_t pos = find_record(&k, STORE_REC_INDEX, 2, false);
    cr_assert_eq(io_memfs_file_flip(k.x.fs, PATH, pos + 50, 0), STROM_OK);
    struct store *s = open_ok(&k.x, &k.o);
    uint32_t failed = read_all_expect(s, k.m, pos, pos);
    cr_assert_geq(failed, 4, "the batches under it cannot be found (F = 4)");
    cr_assert_leq(failed, 4 * 4);
    cr_assert_eq(store_close(s), STROM_OK);
    corrupt_case_done(&k);
}

Test(store_corrupt, bit_flip_in_the_last_checkpoint) {
    struct corrupt_case k;
    corrupt_case_build(&k, 43, true);
    uint64_t pos = find_record(&k, STORE_REC_CHECKPOINT, 0, true);
    cr_assert_eq(io_memfs_file_flip(k.x.fs, PATH, pos + 40, 5), STROM_OK);
    struct store *s = open_ok(&k.x, &k.o);
    struct store_stats st;
    store_get_stats(s, &st);
    cr_assert_lt(st.open_checkpoint_pos, pos, "it fell back to an earlier checkpoint");
    cr_assert_eq(read_all_expect(s, k.m, 0, 0), 0, "and lost nothing");
    model_check_all(k.m, s);
    cr_assert_eq(store_close(s), STROM_OK);
    corrupt_case_done(&k);
}

/* A damaged checkpoint with synced data after it: the data after it is not a torn tail. */
Test(store_corrupt, bit_flip_in_a_checkpoint_before_synced_data) {
    struct corrupt_case k;
    corrupt_case_build(&k, 44, false);
    uint64_t pos = find_record(&k, STORE_REC_CHECKPOINT, 0, true);
    cr_assert_eq(io_memfs_file_flip(k.x.fs, PATH, pos + 8, 1), STROM_OK);
    struct store *s = open_ok(&k.x, &k.o);
    struct store_stats st;
    store_get_stats(s, &st);
    model_check_all(k.m, s);
    cr_assert_eq(st.open_cut_bytes, 0);
    cr_assert_eq(store_close(s), STROM_OK);
    corrupt_case_done(&k);
}

/* A damaged batch in the replayed part of the file, followed by synced batches of the same
 * stream: the stream keeps its offsets, the damaged one reads as CORRUPT, the rest is there. */
Test(store_corrupt, bit_flip_in_a_replayed_batch) {
    struct corrupt_case k;
    corrupt_case_build(&k, 45, false);
    /* A batch after the last checkpoint, followed by more of its stream. */
    uint64_t ckpt = find_record(&k, STORE_REC_CHECKPOINT, 0, true);
    uint64_t pos = 0;
    for (uint32_t j = 0; j < k.n && pos == 0; j++) {
        pos = (k.starts[j] > ckpt && k.bytes[k.starts[j] + 4] == STORE_REC_BATCH) ? k.starts[j] : 0;
    }
    cr_assert_neq(pos, 0);
    cr_assert_eq(io_memfs_file_flip(k.x.fs, PATH, pos + 90, 6), STROM_OK);
    struct store *s = open_ok(&k.x, &k.o);
    struct store_stats st;
    store_get_stats(s, &st);
    cr_assert_eq(st.open_damaged_ranges, 1);
    cr_assert_eq(st.open_first_damage_pos, pos);
    cr_assert_eq(read_all_expect(s, k.m, pos, pos), 1);
    for (uint32_t i = 0; i < k.m->stream_count; i++) {
        struct store_stream_info info;
        cr_assert_eq(store_stream_info(s, k.m->streams[i].id, &info), STROM_OK);
        if (k.m->streams[i].batches[k.m->streams[i].batch_count - 1].pos > pos) {
            cr_assert_eq(info.next_offset, k.m->streams[i].next_offset);
        }
    }
    cr_assert_eq(store_close(s), STROM_OK);
    corrupt_case_done(&k);
}

Test(store_corrupt, bit_flip_in_stream_roots_and_trie) {
    for (int which = 0; which < 2; which++) {
        struct corrupt_case k;
        corrupt_case_build(&k, 46 + (uint64_t)which, true);
        uint8_t type = which ? STORE_REC_TRIE : STORE_REC_STREAM;
        uint64_t pos = find_record(&k, type, 0, true);
        cr_assert_eq(io_memfs_file_flip(k.x.fs, PATH, pos + 35, 2), STROM_OK);
        /* The last checkpoint covers it: open falls back to the one before and replays. */
        struct store *s = open_ok(&k.x, &k.o);
        model_check_all(k.m, s);
        cr_assert_eq(store_close(s), STROM_OK);
        corrupt_case_done(&k);
    }
}

/* Builds a case whose last checkpoint still uses an older STREAM record of stream 0: reopens,
 * appends to streams 1..3 only and closes (the close's checkpoint keeps stream 0's root). Returns
 * the position of that root: the latest STREAM record of stream 0 before the case's own last
 * checkpoint (damaging one of the last checkpoint's records would only make it invalid as a
 * whole). */
static uint64_t old_root_case_build(struct corrupt_case *k, uint64_t seed) {
    corrupt_case_build(k, seed, true);
    uint64_t last = find_record(k, STORE_REC_CHECKPOINT, 0, true);
    struct store *s = open_ok(&k->x, &k->o);
    for (uint32_t i = 1; i < 4; i++) {
        model_append(k->m, s, i, 1, 10);
    }
    cr_assert_eq(store_close(s), STROM_OK);
    uint64_t root0 = 0;
    for (uint32_t j = 0; j < k->n; j++) {
        uint64_t p = k->starts[j];
        if (p < last && k->bytes[p + 4] == STORE_REC_STREAM &&
            store_get_u64(k->bytes + p + STORE_HEADER_BYTES) == k->m->streams[0].id) {
            root0 = p;
        }
    }
    cr_assert_neq(root0, 0);
    return root0;
}

/* A damaged stream root that the last valid checkpoint needs: that stream reports CORRUPT,
 * the others are fine. */
Test(store_corrupt, damaged_root_of_one_stream) {
    struct corrupt_case k;
    uint64_t root0 = old_root_case_build(&k, 48);
    struct fsx *x = &k.x;
    cr_assert_eq(io_memfs_file_flip(x->fs, PATH, root0 + 60, 7), STROM_OK);
    struct store *s = open_ok(x, &k.o);
    struct store_stream_info info;
    cr_assert_eq(store_stream_info(s, k.m->streams[0].id, &info), STROM_ERR_CORRUPT);
    cr_assert_eq(store_error_pos(s), root0);
    for (uint32_t i = 1; i < 4; i++) {
        model_check_stream_range(s, &k.m->streams[i], 0, k.m->streams[i].batch_count);
    }
    struct store_append a = {.stream_id = k.m->streams[0].id, .base_offset = 0, .message_count = 1};
    cr_assert_eq(store_append(s, &a, NULL), STROM_ERR_CORRUPT, "no append on unknown state");
    cr_assert_eq(store_close(s), STROM_OK);
    corrupt_case_done(&k);
}

/* The root of stream 0 (kept by the last checkpoint) is damaged, and a batch of stream 0 follows
 * that checkpoint: replay cannot know where the stream stood, so the open fails rather than drop
 * the batch. Once the damage is gone (a read error that passed), the open gives every batch. */
Test(store_corrupt, damaged_root_that_replay_needs) {
    struct corrupt_case k;
    uint64_t root0 = old_root_case_build(&k, 50);
    struct fsx *x = &k.x;
    struct store *s = open_ok(x, &k.o);
    model_append(k.m, s, 0, 2, 30); /* after the last checkpoint: replayed at the next open */
    cr_assert_eq(store_sync(s, NULL), STROM_OK);
    store_discard(s);
    io_memfs_crash(x->fs, IO_MEMFS_CRASH_KEEP);
    cr_assert_eq(io_memfs_file_flip(x->fs, PATH, root0 + 60, 7), STROM_OK);
    s = NULL;
    cr_assert_eq(store_open(&x->io, PATH, &k.o, &s), STROM_ERR_CORRUPT);
    cr_assert_eq(io_memfs_file_flip(x->fs, PATH, root0 + 60, 7), STROM_OK); /* flipped back */
    s = open_ok(x, &k.o);
    model_check_all(k.m, s);
    cr_assert_eq(store_close(s), STROM_OK);
    corrupt_case_done(&k);
}

/* Transient bit flips on read: every read is right or CORRUPT, never wrong. */
Test(store_corrupt, flips_on_read_are_never_served) {
    struct corrupt_case k;
    corrupt_case_build(&k, 49, true);
    io_memfs_set_read_flip(k.x.fs, 0.3);
    struct store *s = NULL;
    strom_err err = STROM_ERR_IO;
    for (int t = 0; t < 50 && err != STROM_OK; t++) {
        err = store_open(&k.x.io, PATH, &k.o, &s);
    }
    cr_assert_eq(err, STROM_OK);
    uint32_t failed = 0;
    for (int round = 0; round < 5; round++) {
        failed += read_all_expect(s, k.m, 0, UINT64_MAX);
    }
    struct io_memfs_stats fst;
    io_memfs_get_stats(k.x.fs, &fst);
    cr_assert_gt(fst.flips, 100);
    cr_assert_gt(failed, 0);
    io_memfs_set_read_flip(k.x.fs, 0);
    model_check_all(k.m, s);
    cr_assert_eq(store_close(s), STROM_OK);
    corrupt_case_done(&k);
}

/* --- full disk, failed fdatasync ----------------------------------------------------------------
 */

static void enospc_run(uint64_t reserve_bytes) {
    struct fsx x;
    fsx_init(&x, 51);
    struct store_options o;
    model_options(&o);
    o.reserve_bytes = reserve_bytes;
    struct store *s = open_ok(&x, &o);
    struct model *m = model_new(3, 2);
    for (int i = 0; i < 50; i++) {
        model_append(m, s, (uint32_t)(i % 3), 1, 1000);
    }
    uint64_t durable = 0;
    cr_assert_eq(store_sync(s, &durable), STROM_OK);
    io_memfs_set_capacity(x.fs, io_memfs_used_bytes(x.fs) + 64 * 1024);
    /* Append until the disk is full. */
    strom_err err = STROM_OK;
    int ok_after = 0;
    for (int i = 0; i < 1000 && err == STROM_OK; i++) {
        err = model_try_append(m, s, (uint32_t)(i % 3), 1, 1000, NULL);
        ok_after += err == STROM_OK ? 1 : 0;
        if (err == STROM_OK && i % 7 == 0) {
            err = store_sync(s, NULL);
        }
    }
    cr_assert_eq(err, STROM_ERR_NO_SPACE, "%s", strom_errname(err));
    cr_assert_gt(ok_after, 10);
    /* Still readable, nothing lost, no state change from the failed call. */
    model_check_all(m, s);
    cr_assert(store_sync(s, NULL) == STROM_ERR_NO_SPACE || reserve_bytes > 0);
    /* Space comes back: appends and syncs work again. */
    io_memfs_set_capacity(x.fs, UINT64_MAX);
    for (int i = 0; i < 30; i++) {
        model_append(m, s, (uint32_t)(i % 3), 1, 500);
    }
    cr_assert_eq(store_sync(s, NULL), STROM_OK);
    store_discard(s);
    io_memfs_crash(x.fs, IO_MEMFS_CRASH_DROP);
    s = open_ok(&x, &o);
    model_check_all(m, s);
    cr_assert_eq(store_close(s), STROM_OK);
    free(m);
    io_memfs_destroy(x.fs);
}

Test(store_faults, enospc_with_reserved_space) {
    enospc_run(16 << 10);
}

Test(store_faults, enospc_without_reserved_space) {
    enospc_run(0);
}

/* After a failed sync and a close: a crash that drops what was not synced, then a reopen holds
 * exactly the batches of synced. Frees both models and the file system. */
static void crash_then_check(struct fsx *x, const struct store_options *o, struct model *synced,
                             struct model *m) {
    io_memfs_crash(x->fs, IO_MEMFS_CRASH_DROP);
    struct store *s = open_ok(x, o);
    model_check_all(synced, s);
    cr_assert_eq(store_close(s), STROM_OK);
    free(synced);
    free(m);
    io_memfs_destroy(x->fs);
}

/* A store on a fresh memfs (seed) holding 40 batches of 300 bytes in 3 streams, in model *m,
 * none of them synced yet: the start of the failed-sync tests. */
static struct store *store_with_40(struct fsx *x, uint64_t seed, struct store_options *o,
                                   struct model **m) {
    fsx_init(x, seed);
    model_options(o);
    struct store *s = open_ok(x, o);
    *m = model_new(3, 2);
    for (int i = 0; i < 40; i++) {
        model_append(*m, s, (uint32_t)(i % 3), 1, 300);
    }
    return s;
}

Test(store_faults, failed_fdatasync_is_final) {
    struct fsx x;
    struct store_options o;
    struct model *m = NULL;
    struct store *s = store_with_40(&x, 52, &o, &m);
    uint64_t durable = 0;
    cr_assert_eq(store_sync(s, &durable), STROM_OK);
    struct model *synced = model_copy(m);
    for (int i = 0; i < 10; i++) {
        model_append(m, s, (uint32_t)(i % 3), 1, 300);
    }
    io_memfs_fail_datasync(x.fs, 1);
    cr_assert_eq(store_sync(s, NULL), STROM_ERR_STORE_FAILED);
    uint8_t p[4] = {0};
    struct store_append a = {.stream_id = m->streams[0].id,
                             .base_offset = m->streams[0].next_offset,
                             .message_count = 1,
                             .payload = p,
                             .payload_bytes = 4};
    cr_assert_eq(store_append(s, &a, NULL), STROM_ERR_STORE_FAILED);
    cr_assert_eq(store_sync(s, NULL), STROM_ERR_STORE_FAILED, "no retry of fsync");
    cr_assert_eq(store_reclaim(s, STORE_DATA_START), STROM_ERR_STORE_FAILED);
    cr_assert_eq(store_durable_pos(s), durable);
    model_check_all(m, s); /* reads go on */
    cr_assert_eq(store_close(s), STROM_OK);
    crash_then_check(&x, &o, synced, m); /* the failed batches never hit the disk */
}

/* Two pipelined syncs where the first fails and the second succeeds (the kernel reports an error
 * to one fsync only): the durable position never moves past the failure, the store fails for
 * good, and after a crash exactly what was synced before is there. */
/* An O_DIRECT write of a full buffer goes out while the next one fills (log_flush_full); when it
 * fails, the store fails at the next wait: the sync after it refuses, nothing past the last
 * sync is called durable, and a crash keeps every synced batch. */
Test(store_faults, failed_async_write_is_final) {
    struct fsx x;
    fsx_init(&x, 61);
    struct store_options o;
    model_options(&o);
    o.direct_writes = true;
    o.size_ahead_bytes = 64 << 10;
    struct store *s = open_ok(&x, &o);
    struct model *m = model_new(3, 2);
    for (int i = 0; i < 40; i++) {
        model_append(m, s, (uint32_t)(i % 3), 1, 300);
    }
    uint64_t durable = 0;
    cr_assert_eq(store_sync(s, &durable), STROM_OK);
    struct model *synced = model_copy(m);
    struct store_stats st;
    store_get_stats(s, &st);
    uint64_t started = st.pwrites_async;
    io_memfs_fail_pwrite(x.fs, 1);
    for (int i = 0; i < 200 && st.pwrites_async == started; i++) {
        model_append(m, s, (uint32_t)(i % 3), 1, 300); /* the append that starts it succeeds */
        store_get_stats(s, &st);
    }
    cr_assert_eq(st.pwrites_async, started + 1, "a full buffer went out without waiting");
    cr_assert_eq(store_sync(s, NULL), STROM_ERR_STORE_FAILED);
    cr_assert_eq(store_durable_pos(s), durable);
    cr_assert_eq(store_sync(s, NULL), STROM_ERR_STORE_FAILED, "final");
    store_discard(s);
    crash_then_check(&x, &o, synced, m);
}

Test(store_faults, failed_pipelined_sync_is_final) {
    struct fsx x;
    struct store_options o;
    struct model *m = NULL;
    struct store *s = store_with_40(&x, 53, &o, &m);
    uint64_t covers = 0;
    uint64_t durable = 0;
    cr_assert_eq(store_sync_start(s, &covers), STROM_OK);
    cr_assert_eq(store_sync_collect(s, IO_TIMEOUT_INFINITE, &durable), STROM_OK);
    cr_assert_eq(durable, covers);
    struct model *synced = model_copy(m);
    model_append(m, s, 0, 1, 300);
    io_memfs_fail_datasync(x.fs, 1);
    cr_assert_eq(store_sync_start(s, &covers), STROM_OK); /* the memfs runs it at once: fails */
    model_append(m, s, 1, 1, 300);
    cr_assert_eq(store_sync_start(s, &covers), STROM_OK); /* succeeds */
    cr_assert_eq(store_syncs_inflight(s), 2);
    uint64_t after = 0;
    cr_assert_eq(store_sync_collect(s, 0, &after), STROM_ERR_STORE_FAILED);
    cr_assert_eq(after, durable, "a later success does not cover an earlier failure");
    cr_assert_eq(store_syncs_inflight(s), 0);
    cr_assert_eq(store_sync_start(s, &covers), STROM_ERR_STORE_FAILED, "no retry of fsync");
    cr_assert_eq(store_sync(s, NULL), STROM_ERR_STORE_FAILED);
    cr_assert_eq(store_close(s), STROM_OK);
    crash_then_check(&x, &o, synced, m);
}

/* --- reclaim --------------------------------------------------------------------------------- */

Test(store_reclaim, drops_before_a_position_and_frees_space) {
    struct fsx x;
    fsx_init(&x, 61);
    struct store_options o;
    model_options(&o);
    struct store *s = open_ok(&x, &o);
    struct model *m = model_new(5, 9);
    struct rng r;
    rng_init(&r, 61);
    for (int i = 0; i < 800; i++) {
        model_append_random(m, s, &r, 4, 5, 2000);
    }
    /* Stream 4 gets one batch at the start only: all of it goes. */
    cr_assert_eq(store_sync(s, NULL), STROM_OK);
    uint64_t used_before = io_memfs_used_bytes(x.fs);
    for (int round = 1; round <= 3; round++) {
        uint64_t cutoff =
            m->streams[0].batches[m->streams[0].batch_count * (uint32_t)round / 4].pos;
        cr_assert_eq(store_reclaim(s, cutoff), STROM_OK);
        cr_assert_eq(store_reclaim_pos(s), cutoff);
        for (int reopen = 0; reopen < 2; reopen++) {
            for (uint32_t i = 0; i < m->stream_count; i++) {
                struct model_stream *ms = &m->streams[i];
                uint32_t first = 0;
                while (first < ms->batch_count && ms->batches[first].pos < cutoff) {
                    first++;
                }
                struct store_stream_info info;
                if (ms->batch_count == 0) {
                    continue;
                }
                cr_assert_eq(store_stream_info(s, ms->id, &info), STROM_OK);
                uint64_t want =
                    first < ms->batch_count ? ms->batches[first].base_offset : ms->next_offset;
                cr_assert_eq(info.first_offset, want, "stream %u round %d", i, round);
                cr_assert_eq(info.next_offset, ms->next_offset);
                model_check_stream_range(s, ms, first, ms->batch_count);
                if (first > 0) {
                    static uint8_t buf[MODEL_PAYLOAD_MAX];
                    struct store_cursor c;
                    struct store_batch b;
                    store_cursor_init(&c, ms->id, ms->batches[first - 1].base_offset);
                    cr_assert_eq(store_cursor_next(s, &c, &b, buf, sizeof buf),
                                 STROM_ERR_OUT_OF_RANGE);
                }
            }
            cr_assert_eq(store_close(s), STROM_OK);
            s = open_ok(&x, &o);
        }
    }
    cr_assert_lt(io_memfs_used_bytes(x.fs), used_before * 2 / 3, "holes were punched");
    /* Reclaim everything: streams keep their next offsets and go on from there. */
    cr_assert_eq(store_sync(s, NULL), STROM_OK);
    cr_assert_eq(store_reclaim(s, store_durable_pos(s)), STROM_OK);
    for (uint32_t i = 0; i < 4; i++) {
        struct store_stream_info info;
        cr_assert_eq(store_stream_info(s, m->streams[i].id, &info), STROM_OK);
        cr_assert_eq(info.first_offset, m->streams[i].next_offset);
        uint32_t before = m->streams[i].batch_count;
        model_append(m, s, i, 2, 100);
        model_check_stream_range(s, &m->streams[i], before, m->streams[i].batch_count);
    }
    cr_assert_eq(store_reclaim(s, store_end_pos(s)), STROM_ERR_INVALID_ARGUMENT,
                 "not past the durable position");
    cr_assert_eq(store_close(s), STROM_OK);
    free(m);
    io_memfs_destroy(x.fs);
}
