/* test_store.c: the store against an in-memory model: random appends, reads, syncs, reopens;
 * the offset rules; the read path's pread counts; checkpoints; many streams; the Linux io. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/format.h"
#include "store_model.h"

struct fx {
    struct io_memfs *fs;
    struct io io;
    struct store_options o;
    struct store *s;
};

static void fx_open(struct fx *f) {
    strom_err err = store_open(&f->io, "data", &f->o, &f->s);
    cr_assert_eq(err, STROM_OK, "open: %s", strom_errname(err));
}

/* A fresh in-memory file system and the model's options; the store is not open yet. */
static void fx_setup(struct fx *f, uint64_t seed) {
    cr_assert_eq(io_memfs_create(seed, &f->fs), STROM_OK);
    io_memfs_io(f->fs, &f->io);
    model_options(&f->o);
}

static void fx_init(struct fx *f, uint64_t seed) {
    fx_setup(f, seed);
    fx_open(f);
}

static void fx_close(struct fx *f) {
    cr_assert_eq(store_close(f->s), STROM_OK);
    f->s = NULL;
}

static void fx_done(struct fx *f) {
    if (f->s) {
        fx_close(f);
    }
    io_memfs_destroy(f->fs);
}

/* A random point read: the batch holding a random offset of a random stream. */
static void random_read(struct model *m, struct store *s, struct rng *r) {
    struct model_stream *ms = &m->streams[rng_below(r, m->stream_count)];
    if (ms->batch_count == 0) {
        return;
    }
    uint64_t offset = rng_below(r, ms->next_offset);
    uint32_t bi = model_find(ms, offset);
    static uint8_t buf[MODEL_PAYLOAD_MAX];
    struct store_cursor c;
    struct store_batch b;
    store_cursor_init(&c, ms->id, offset);
    strom_err err = store_cursor_next(s, &c, &b, buf, sizeof buf);
    cr_assert_eq(err, STROM_OK, "read %llu@%llu: %s", (unsigned long long)ms->id,
                 (unsigned long long)offset, strom_errname(err));
    model_check_batch(ms, bi, &b, buf);
    cr_assert_eq(c.offset, b.base_offset + b.message_count);
}

/* Switches the store between O_DIRECT and buffered writes (store_set_direct_writes). */
static void switch_direct(struct store *s) {
    bool on = !store_direct_writes(s);
    cr_assert_eq(store_set_direct_writes(s, on), STROM_OK);
    cr_assert_eq(store_direct_writes(s), on);
}

/* size_ahead: store_options.size_ahead_bytes (0: off), direct: direct_writes, set before the
 * first open; switching: the writes switch between O_DIRECT and the page cache now and then. */
static void model_run_opts(uint64_t seed, uint32_t ops, uint64_t size_ahead, bool direct,
                           bool switching) {
    struct fx f;
    fx_setup(&f, seed);
    f.o.size_ahead_bytes = size_ahead;
    f.o.direct_writes = direct;
    if (switching) {
        f.o.writeback_bytes = 16 << 10; /* the page-cache options apply while buffered */
        f.o.cache_bytes = 32 << 10;
    }
    fx_open(&f);
    cr_assert_eq(store_direct_writes(f.s), direct);
    struct rng r;
    rng_init(&r, seed);
    struct model *m = model_new(40, 0x9E3779B97F4A7C15u);
    for (uint32_t op = 0; op < ops; op++) {
        if (switching && rng_chance(&r, 0.03)) {
            switch_direct(f.s);
        }
        uint64_t dice = rng_below(&r, 1000);
        if (dice < 700) {
            model_append_random(m, f.s, &r, m->stream_count, 50, MODEL_PAYLOAD_MAX);
        } else if (dice < 930) {
            random_read(m, f.s, &r);
        } else if (dice < 980) {
            cr_assert_eq(store_sync(f.s, NULL), STROM_OK);
        } else if (dice < 990) {
            fx_close(&f);
            fx_open(&f);
        } else {
            /* kill -9: unsynced writes in the page cache survive, the write buffer does not.
             * The model keeps what the reopened store holds: a cut of the log. */
            uint64_t written = store_durable_pos(f.s);
            store_discard(f.s);
            io_memfs_crash(f.fs, IO_MEMFS_CRASH_KEEP);
            fx_open(&f);
            struct store_stats st;
            store_get_stats(f.s, &st);
            cr_assert_geq(st.open_cut_pos, written);
            model_cut(m, st.open_cut_pos);
        }
    }
    model_check_all(m, f.s);
    fx_close(&f);
    fx_open(&f);
    model_check_all(m, f.s);
    struct store_stats st;
    store_get_stats(f.s, &st);
    cr_assert_eq(st.open_replayed_records, 0, "a clean close leaves nothing to replay");
    free(m);
    fx_done(&f);
}

static void model_run_ahead(uint64_t seed, uint32_t ops, uint64_t size_ahead) {
    model_run_opts(seed, ops, size_ahead, false, false);
}

static void model_run(uint64_t seed, uint32_t ops) {
    model_run_ahead(seed, ops, 0);
}

/* O_DIRECT writes (the memfs refuses unaligned ones, as Linux does): the partial last block is
 * written again with each group, crashes and reopens lose no synced batch. */
Test(store, model_direct_writes) {
    for (uint64_t seed = 50; seed < 54; seed++) {
        model_run_opts(seed, 2000, 8192 * (seed - 49), true, false);
    }
}

/* O_DIRECT and buffered writes by turns (the commit under fsync interval and never): what either
 * mode wrote reads back, across switches, reopens and crashes. */
Test(store, model_direct_switches) {
    for (uint64_t seed = 60; seed < 64; seed++) {
        model_run_opts(seed, 2000, 8192 * (seed - 59), true, true);
    }
}

/* A store without O_DIRECT cannot switch to it; a read-only one neither. */
Test(store, direct_switch_needs_direct_writes) {
    struct fx f;
    fx_init(&f, 53);
    cr_assert_eq(store_set_direct_writes(f.s, true), STROM_ERR_UNSUPPORTED);
    cr_assert(!store_direct_writes(f.s));
    fx_done(&f);
    fx_setup(&f, 54);
    io_memfs_refuse_direct(f.fs, true);
    f.o.direct_writes = true;
    f.o.size_ahead_bytes = 8192;
    fx_open(&f);
    cr_assert_eq(store_set_direct_writes(f.s, true), STROM_ERR_UNSUPPORTED);
    cr_assert_eq(store_set_direct_writes(f.s, false), STROM_ERR_UNSUPPORTED);
    cr_assert(!store_direct_writes(f.s));
    fx_done(&f);
}

/* Direct writes need a size kept ahead (for the zeros after the end) and a buffer of two blocks. */
Test(store, direct_writes_options_checked) {
    struct fx f;
    fx_setup(&f, 51);
    f.o.direct_writes = true;
    cr_assert_eq(store_open(&f.io, "data", &f.o, &f.s), STROM_ERR_INVALID_ARGUMENT);
    f.o.size_ahead_bytes = 8192;
    f.o.write_buffer_bytes = IO_DIRECT_ALIGN; /* the block kept and a record need two */
    cr_assert_eq(store_open(&f.io, "data", &f.o, &f.s), STROM_ERR_INVALID_ARGUMENT);
    f.s = NULL;
    fx_done(&f);
}

/* A file system that refuses O_DIRECT: the store writes buffered and says so. */
Test(store, direct_writes_refused_fall_back) {
    struct fx f;
    fx_setup(&f, 52);
    io_memfs_refuse_direct(f.fs, true);
    f.o.direct_writes = true;
    f.o.size_ahead_bytes = 8192;
    fx_open(&f);
    cr_assert(!store_direct_writes(f.s));
    struct model *m = model_new(3, 5);
    struct rng r;
    rng_init(&r, 52);
    for (int i = 0; i < 300; i++) {
        model_append_random(m, f.s, &r, 3, 5, 2000);
    }
    fx_close(&f);
    fx_open(&f);
    model_check_all(m, f.s);
    free(m);
    fx_done(&f);
}

Test(store, model_seed_1) {
    model_run(1, 4000);
}

/* The file's size kept ahead of its end (zeros): crashes leave a zero tail that the reopen cuts,
 * and every synced batch is still there. */
Test(store, model_size_ahead) {
    for (uint64_t seed = 40; seed < 44; seed++) {
        model_run_ahead(seed, 2000, 8192 * (seed - 39));
    }
}

static uint64_t fx_file_size(struct fx *f) {
    int fd = -1;
    uint64_t size = 0;
    cr_assert_eq(io_file_open(&f->io, "data", IO_OPEN_READ, &fd), STROM_OK);
    cr_assert_eq(io_file_size(&f->io, fd, &size), STROM_OK);
    cr_assert_eq(io_file_close(&f->io, fd), STROM_OK);
    return size;
}

/* With size_ahead_bytes the file's size runs ahead of the store's end while it is open (so that
 * appends do not change it), by at most that much, and a clean close cuts it back to the end. */
Test(store, size_ahead_runs_ahead_and_close_cuts) {
    struct fx f;
    fx_setup(&f, 5);
    f.o.size_ahead_bytes = 16384;
    fx_open(&f);
    struct model *m = model_new(3, 5);
    struct rng r;
    rng_init(&r, 5);
    for (int i = 0; i < 200; i++) {
        model_append_random(m, f.s, &r, 3, 4, 300);
        cr_assert_eq(store_sync(f.s, NULL), STROM_OK);
        uint64_t end = store_end_pos(f.s);
        uint64_t size = fx_file_size(&f);
        cr_assert(size > end && size <= end + 16384 + 4096, "size %llu end %llu",
                  (unsigned long long)size, (unsigned long long)end);
    }
    uint64_t end = store_end_pos(f.s);
    fx_close(&f);
    cr_assert_geq(fx_file_size(&f), end);
    cr_assert_leq(fx_file_size(&f), end + 4096, "the close writes a checkpoint, then cuts");
    fx_open(&f);
    model_check_all(m, f.s);
    struct store_stats st;
    store_get_stats(f.s, &st);
    cr_assert_eq(st.open_replayed_records, 0, "a clean close leaves nothing to replay");
    free(m);
    fx_done(&f);
}

/* An invalid size_ahead_bytes (below a page) is refused. */
Test(store, size_ahead_below_a_page_refused) {
    struct fx f;
    fx_setup(&f, 6);
    f.o.size_ahead_bytes = 100;
    cr_assert_eq(store_open(&f.io, "data", &f.o, &f.s), STROM_ERR_INVALID_ARGUMENT);
    f.s = NULL;
    fx_done(&f);
}

Test(store, model_seed_2) {
    model_run(2, 4000);
}

Test(store, model_seed_3) {
    model_run(3, 4000);
}

/* More seeds, shorter runs; STROM_STORE_SOAK=N runs N times as many. */
Test(store, model_more_seeds) {
    const char *env = getenv("STROM_STORE_SOAK");
    uint64_t times = env ? strtoull(env, NULL, 10) : 1;
    for (uint64_t seed = 100; seed < 100 + 4 * (times ? times : 1); seed++) {
        model_run(seed, 1500);
    }
}

Test(store, empty_store_and_offset_rules) {
    struct fx f;
    fx_init(&f, 9);
    struct store_stream_info info;
    cr_assert_eq(store_stream_info(f.s, 7, &info), STROM_ERR_NO_STREAM);
    uint8_t p[8] = {1, 2, 3};
    struct store_append a = {
        .stream_id = 7, .base_offset = 1, .message_count = 1, .payload = p, .payload_bytes = 3};
    cr_assert_eq(store_append(f.s, &a, NULL), STROM_ERR_GAP, "a new stream starts at 0");
    cr_assert_eq(store_stream_info(f.s, 7, &info), STROM_ERR_NO_STREAM);
    a.base_offset = 0;
    a.message_count = 5;
    cr_assert_eq(store_append(f.s, &a, NULL), STROM_OK);
    cr_assert_eq(store_append(f.s, &a, NULL), STROM_ERR_GAP, "no overlap");
    a.base_offset = 6;
    cr_assert_eq(store_append(f.s, &a, NULL), STROM_ERR_GAP, "no gap");
    a.base_offset = 5;
    a.message_count = 0;
    cr_assert_eq(store_append(f.s, &a, NULL), STROM_ERR_INVALID_ARGUMENT);
    a.message_count = 1;
    a.payload_bytes = f.o.batch_bytes_max + 1;
    cr_assert_eq(store_append(f.s, &a, NULL), STROM_ERR_TOO_LARGE);
    a.payload_bytes = 0;
    a.payload = NULL;
    cr_assert_eq(store_append(f.s, &a, NULL), STROM_OK, "an empty payload is fine");
    cr_assert_eq(store_stream_info(f.s, 7, &info), STROM_OK);
    cr_assert_eq(info.next_offset, 6);
    cr_assert_eq(info.first_offset, 0);
    cr_assert_eq(info.batch_count, 2);
    /* Reads around the ends. */
    struct store_cursor c;
    struct store_batch b;
    uint8_t buf[16];
    store_cursor_init(&c, 7, 6);
    cr_assert_eq(store_cursor_next(f.s, &c, &b, buf, sizeof buf), STROM_ERR_END);
    store_cursor_init(&c, 7, 3);
    cr_assert_eq(store_cursor_next(f.s, &c, &b, buf, 1), STROM_ERR_OVERFLOW);
    cr_assert_eq(b.payload_bytes, 3);
    cr_assert_eq(c.offset, 3, "an overflow does not move the cursor");
    cr_assert_eq(store_cursor_next(f.s, &c, &b, buf, sizeof buf), STROM_OK);
    cr_assert_eq(b.base_offset, 0);
    cr_assert_eq(memcmp(buf, p, 3), 0);
    store_cursor_init(&c, 8, 0);
    cr_assert_eq(store_cursor_next(f.s, &c, &b, buf, sizeof buf), STROM_ERR_NO_STREAM);
    fx_done(&f);
}

static strom_err count_stream(void *arg, const struct store_stream_info *info) {
    (void)info;
    (*(uint64_t *)arg)++;
    return STROM_OK;
}

/* Many streams: the table grows, the trie splits deep, a listing finds them all. */
Test(store, many_streams_list_and_reopen) {
    struct fx f;
    fx_init(&f, 10);
    enum { N = 20000 };
    uint8_t p[4] = {9, 9, 9, 9};
    for (uint64_t i = 0; i < N; i++) {
        uint64_t id = (i & 1) ? i * 0x100000001ull : i << 40; /* patterns that share prefixes */
        struct store_append a = {
            .stream_id = id, .message_count = 1, .payload = p, .payload_bytes = 4};
        cr_assert_eq(store_append(f.s, &a, NULL), STROM_OK);
    }
    uint64_t listed = 0;
    cr_assert_eq(store_streams_list(f.s, count_stream, &listed), STROM_OK);
    cr_assert_eq(listed, N);
    fx_close(&f);
    fx_open(&f);
    listed = 0;
    cr_assert_eq(store_streams_list(f.s, count_stream, &listed), STROM_OK);
    cr_assert_eq(listed, N);
    struct store_stats st;
    store_get_stats(f.s, &st);
    cr_assert_eq(st.streams, N);
    for (uint64_t i = 0; i < N; i += 997) {
        uint64_t id = (i & 1) ? i * 0x100000001ull : i << 40;
        struct store_stream_info info;
        cr_assert_eq(store_stream_info(f.s, id, &info), STROM_OK);
        cr_assert_eq(info.next_offset, 1);
        struct store_append a = {.stream_id = id,
                                 .base_offset = 1,
                                 .message_count = 1,
                                 .payload = p,
                                 .payload_bytes = 4};
        cr_assert_eq(store_append(f.s, &a, NULL), STROM_OK);
    }
    fx_done(&f);
}

/* A point read costs at most 1 + ceil(log_F(batches)) preads once the data is on disk. */
Test(store, preads_per_point_read) {
    struct fx f;
    fx_setup(&f, 11);
    f.o.index_fanout = 8;
    fx_open(&f);
    struct model *m = model_new(1, 1);
    enum { BATCHES = 3000 };
    for (uint32_t i = 0; i < BATCHES; i++) {
        model_append(m, f.s, 0, 3, 40);
    }
    fx_close(&f);
    fx_open(&f);
    /* The stream's state comes into memory on first use (a walk down the trie of roots). */
    struct store_stream_info info;
    cr_assert_eq(store_stream_info(f.s, m->streams[0].id, &info), STROM_OK);
    /* ceil(log_8(3000)) = 4 */
    struct rng r;
    rng_init(&r, 5);
    static uint8_t buf[4096];
    uint64_t worst = 0;
    for (int i = 0; i < 500; i++) {
        struct store_stats before, after;
        uint64_t offset = rng_below(&r, m->streams[0].next_offset);
        struct store_cursor c;
        struct store_batch b;
        store_cursor_init(&c, m->streams[0].id, offset);
        store_get_stats(f.s, &before);
        cr_assert_eq(store_cursor_next(f.s, &c, &b, buf, sizeof buf), STROM_OK);
        store_get_stats(f.s, &after);
        model_check_batch(&m->streams[0], model_find(&m->streams[0], offset), &b, buf);
        uint64_t preads = after.preads - before.preads;
        worst = preads > worst ? preads : worst;
    }
    cr_assert_leq(worst, 1 + 4, "worst point read took %llu preads", (unsigned long long)worst);
    /* Reading on: one pread per batch plus one per F batches, about. */
    struct store_stats before, after;
    store_get_stats(f.s, &before);
    model_check_stream_range(f.s, &m->streams[0], 0, BATCHES);
    store_get_stats(f.s, &after);
    cr_assert_leq(after.preads - before.preads, BATCHES + BATCHES / 8 * 5 / 4 + 16, "%llu",
                  (unsigned long long)(after.preads - before.preads));
    free(m);
    fx_done(&f);
}

Test(store, checkpoint_by_time_and_bytes) {
    struct fx f;
    fx_setup(&f, 12);
    f.o.checkpoint_bytes = 1 << 20;
    f.o.checkpoint_interval_ns = 1000000;
    fx_open(&f);
    struct model *m = model_new(3, 1);
    struct store_stats st;
    model_append(m, f.s, 0, 1, 100);
    cr_assert_eq(store_sync(f.s, NULL), STROM_OK);
    store_get_stats(f.s, &st);
    cr_assert_eq(st.checkpoints, 0, "neither due yet");
    io_memfs_advance_ns(f.fs, 2000000);
    model_append(m, f.s, 1, 1, 100);
    cr_assert_eq(store_sync(f.s, NULL), STROM_OK);
    store_get_stats(f.s, &st);
    cr_assert_eq(st.checkpoints, 1, "the interval passed");
    for (int i = 0; i < 600; i++) {
        model_append(m, f.s, 2, 1, 2000); /* 1.2 MiB, never synced by the caller */
    }
    store_get_stats(f.s, &st);
    cr_assert_eq(st.checkpoints, 2, "bytes alone force a sync and a checkpoint");
    cr_assert_geq(store_durable_pos(f.s), 1 << 20);
    model_check_all(m, f.s);
    free(m);
    fx_done(&f);
}

Test(store, read_only_store_follows_the_writer) {
    struct fx f;
    fx_init(&f, 13);
    struct model *m = model_new(5, 3);
    for (int i = 0; i < 200; i++) {
        model_append(m, f.s, (uint32_t)(i % 5), 2, 300);
    }
    uint64_t durable = 0;
    cr_assert_eq(store_sync(f.s, &durable), STROM_OK);
    struct store_options ro = f.o;
    ro.read_only = true;
    struct store *r = NULL;
    cr_assert_eq(store_open(&f.io, "data", &ro, &r), STROM_OK);
    model_check_all(m, r);
    uint8_t p[4] = {0};
    struct store_append a = {.stream_id = 1, .message_count = 1, .payload = p, .payload_bytes = 4};
    cr_assert_eq(store_append(r, &a, NULL), STROM_ERR_UNSUPPORTED);
    /* The writer goes on, through checkpoints; the reader sees only what it refreshed to. */
    struct model *before = malloc(sizeof *before);
    memcpy(before, m, sizeof *m);
    for (int i = 0; i < 300; i++) {
        model_append(m, f.s, (uint32_t)(i % 5), 1, 500);
    }
    model_check_all(before, r);
    cr_assert_eq(store_sync(f.s, &durable), STROM_OK);
    cr_assert_eq(store_refresh(r, durable), STROM_OK);
    model_check_all(m, r);
    cr_assert_eq(store_durable_pos(r), durable);
    /* A reclaim by the writer reaches the reader with its next refresh. */
    uint64_t cutoff = m->streams[0].batches[50].pos;
    cr_assert_eq(store_reclaim(f.s, cutoff), STROM_OK);
    cr_assert_eq(store_sync(f.s, &durable), STROM_OK);
    cr_assert_eq(store_refresh(r, durable), STROM_OK);
    cr_assert_eq(store_reclaim_pos(r), cutoff);
    struct store_stream_info info;
    cr_assert_eq(store_stream_info(r, m->streams[0].id, &info), STROM_OK);
    cr_assert_eq(info.first_offset, m->streams[0].batches[50].base_offset);
    model_check_stream_range(r, &m->streams[0], 50, m->streams[0].batch_count);
    struct store_cursor c;
    struct store_batch b;
    static uint8_t buf[MODEL_PAYLOAD_MAX];
    store_cursor_init(&c, m->streams[0].id, m->streams[0].batches[49].base_offset);
    cr_assert_eq(store_cursor_next(r, &c, &b, buf, sizeof buf), STROM_ERR_OUT_OF_RANGE);
    cr_assert_eq(store_close(r), STROM_OK);
    free(before);
    free(m);
    fx_done(&f);
}

/* Closes s, removes its file and its temporary directory dir, frees its model m. */
static void linux_store_done(struct store *s, const char *dir, struct model *m) {
    cr_assert_eq(store_close(s), STROM_OK);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DATA_FILE_NAME);
    cr_assert_eq(unlink(path), 0);
    cr_assert_eq(rmdir(dir), 0);
    free(m);
}

/* Makes the temporary directory dir (a mkdtemp template), sets up *io as the Linux io and opens
 * a store there with o. */
static struct store *linux_store_begin(char *dir, struct io *io, const struct store_options *o) {
    cr_assert(mkdtemp(dir) != NULL);
    io_linux_init(io);
    struct store *s = NULL;
    cr_assert_eq(store_open(io, dir, o, &s), STROM_OK);
    return s;
}

/* The same model run on the Linux io, in a temporary directory (fallocate, punch, fdatasync). */
Test(store, linux_io_model_and_reclaim) {
    char dir[] = "/tmp/strom-store-test-XXXXXX";
    struct io io;
    struct store_options o;
    model_options(&o);
    o.reserve_bytes = 256 << 10;
    struct store *s = linux_store_begin(dir, &io, &o);
    struct model *m = model_new(10, 7);
    struct rng r;
    rng_init(&r, 21);
    for (int i = 0; i < 3000; i++) {
        model_append_random(m, s, &r, 10, 9, 2500);
        if (i % 100 == 0) {
            cr_assert_eq(store_sync(s, NULL), STROM_OK);
        }
    }
    cr_assert_eq(store_close(s), STROM_OK);
    cr_assert_eq(store_open(&io, dir, &o, &s), STROM_OK);
    model_check_all(m, s);
    uint64_t cutoff = m->streams[3].batches[m->streams[3].batch_count / 2].pos;
    cr_assert_eq(store_reclaim(s, cutoff), STROM_OK);
    for (uint32_t i = 0; i < m->stream_count; i++) {
        struct model_stream *ms = &m->streams[i];
        uint32_t first = 0;
        while (first < ms->batch_count && ms->batches[first].pos < cutoff) {
            first++;
        }
        model_check_stream_range(s, ms, first, ms->batch_count);
    }
    linux_store_done(s, dir, m);
}

/* Large payloads skip the write buffer (one gathered write with what it holds): they, and the
 * small records around them, come back whole, after a reopen and after a crash. */
static void large_batches_run(bool direct) {
    struct fx f;
    fx_setup(&f, 14);
    f.o.direct_writes = direct;
    f.o.size_ahead_bytes = direct ? 8192 : 0;
    fx_open(&f);
    enum { BIG = 300 << 10 };
    uint8_t *big = malloc(BIG);
    uint8_t *back = malloc(BIG);
    struct rng r;
    rng_init(&r, 14);
    rng_fill(&r, big, BIG);
    struct model *m = model_new(2, 1);
    uint64_t next_big = 0;
    for (int i = 0; i < 12; i++) {
        model_append(m, f.s, 0, 1, 500); /* small records stay buffered before the big one */
        uint32_t len = BIG - (uint32_t)i * 1000;
        struct store_append a = {.stream_id = 999,
                                 .base_offset = next_big,
                                 .message_count = 2,
                                 .payload = big + i,
                                 .payload_bytes = len - (uint32_t)i};
        cr_assert_eq(store_append(f.s, &a, NULL), STROM_OK);
        next_big += 2;
    }
    cr_assert_eq(store_sync(f.s, NULL), STROM_OK);
    for (int pass = 0; pass < 2; pass++) {
        model_check_all(m, f.s);
        struct store_cursor c;
        struct store_batch b;
        store_cursor_init(&c, 999, 0);
        for (int i = 0; i < 12; i++) {
            cr_assert_eq(store_cursor_next(f.s, &c, &b, back, BIG), STROM_OK);
            cr_assert_eq(b.payload_bytes, BIG - (uint32_t)i * 1000 - (uint32_t)i);
            cr_assert_eq(memcmp(back, big + i, b.payload_bytes), 0, "big batch %d", i);
        }
        cr_assert_eq(store_cursor_next(f.s, &c, &b, back, BIG), STROM_ERR_END);
        store_discard(f.s);
        io_memfs_crash(f.fs, IO_MEMFS_CRASH_DROP);
        fx_open(&f);
    }
    /* Appends after the reopen: with direct writes, the partial block the open read back. */
    model_append(m, f.s, 0, 1, 700);
    cr_assert_eq(store_sync(f.s, NULL), STROM_OK);
    fx_close(&f);
    fx_open(&f);
    model_check_all(m, f.s);
    free(m);
    free(big);
    free(back);
    fx_done(&f);
}

Test(store, large_batches_gathered_write) {
    large_batches_run(false);
}

/* The same with O_DIRECT: records larger than the buffer's room go out buffered, and the partial
 * block after them is kept from what was written. */
Test(store, large_batches_direct_writes) {
    large_batches_run(true);
}

/* O_DIRECT on the Linux io, in a temporary directory dir (a mkdtemp template): synced groups, a
 * crash of the process (store_discard) and reopens keep every synced batch. switching: the writes
 * switch between O_DIRECT and the page cache now and then. */
static void linux_direct_run(char *dir, bool switching) {
    struct io io;
    struct store_options o;
    model_options(&o);
    o.direct_writes = true;
    o.size_ahead_bytes = 64 << 10;
    if (switching) {
        o.writeback_bytes = 64 << 10;
        o.cache_bytes = 128 << 10;
    }
    struct store *s = linux_store_begin(dir, &io, &o);
    struct model *m = model_new(6, 9);
    struct rng r;
    rng_init(&r, 23);
    uint32_t switches = 0;
    for (int i = 0; i < 2000; i++) {
        model_append_random(m, s, &r, 6, 9, 2500);
        if (switching && rng_chance(&r, 0.02)) {
            switch_direct(s);
            switches++;
        }
        if (i % 97 == 0) {
            cr_assert_eq(store_sync(s, NULL), STROM_OK);
        }
    }
    cr_assert(!switching || switches > 10);
    cr_assert_eq(store_sync(s, NULL), STROM_OK);
    uint64_t durable = store_durable_pos(s);
    struct store_stats st;
    store_get_stats(s, &st);
    cr_assert_gt(st.pwrites_async, 10, "full buffers went out while the next one filled");
    store_discard(s);
    cr_assert_eq(store_open(&io, dir, &o, &s), STROM_OK);
    model_check_all(m, s);
    store_get_stats(s, &st);
    cr_assert_geq(st.open_cut_pos, durable);
    for (int i = 0; i < 500; i++) {
        model_append_random(m, s, &r, 6, 9, 2500);
    }
    cr_assert_eq(store_close(s), STROM_OK);
    cr_assert_eq(store_open(&io, dir, &o, &s), STROM_OK);
    model_check_all(m, s);
    linux_store_done(s, dir, m);
}

Test(store, linux_direct_writes) {
    char dir[] = "/tmp/strom-store-test-XXXXXX";
    linux_direct_run(dir, false);
}

/* O_DIRECT and buffered writes by turns on the Linux io (the page cache and the disk both hold
 * parts of the file, and each O_DIRECT write of the partial last block may meet a page that a
 * buffered write left): everything reads back, after a process crash and reopens too. */
Test(store, linux_direct_switches) {
    char dir[] = "/tmp/strom-store-switch-XXXXXX";
    linux_direct_run(dir, true);
}

/* The page-cache options on the Linux io (sync_file_range, posix_fadvise; the in-memory io:
 * test_store_cache.c): every batch reads back, before and after a process crash and a reopen. */
Test(store, linux_writeback_and_cache_drops) {
    char dir[] = "/tmp/strom-store-cache-XXXXXX";
    struct io io;
    struct store_options o;
    model_options(&o);
    o.checkpoint_bytes = 1 << 20;
    o.writeback_bytes = 64 << 10;
    o.cache_bytes = 256 << 10;
    struct store *s = linux_store_begin(dir, &io, &o);
    struct model *m = model_new(8, 13);
    struct rng r;
    rng_init(&r, 7);
    for (uint32_t i = 0; i < 6000; i++) {
        model_append_random(m, s, &r, 8, 5, MODEL_PAYLOAD_MAX);
        if (i % 500 == 0) {
            cr_assert_eq(store_sync(s, NULL), STROM_OK);
        }
    }
    cr_assert_gt(store_end_pos(s), (8u << 20) + o.cache_bytes, "two drop steps past the window");
    model_check_all(m, s);
    cr_assert_eq(store_sync(s, NULL), STROM_OK);
    store_discard(s);
    cr_assert_eq(store_open(&io, dir, &o, &s), STROM_OK);
    model_check_all(m, s);
    linux_store_done(s, dir, m);
}

/* A directory holds the store's file; a path ending in '/' creates the directory. */
Test(store, directory_paths) {
    struct io_memfs *fs = NULL;
    cr_assert_eq(io_memfs_create(15, &fs), STROM_OK);
    struct io io;
    io_memfs_io(fs, &io);
    struct store_options o;
    model_options(&o);
    struct store *s = NULL;
    cr_assert_eq(store_open(&io, "commit-0/", &o, &s), STROM_OK);
    uint8_t p[3] = {1, 2, 3};
    struct store_append a = {.stream_id = 5, .message_count = 1, .payload = p, .payload_bytes = 3};
    cr_assert_eq(store_append(s, &a, NULL), STROM_OK);
    cr_assert_eq(store_close(s), STROM_OK);
    uint64_t size = 0;
    cr_assert_eq(io_memfs_file_size(fs, "commit-0/" STORE_DATA_FILE_NAME, &size), STROM_OK);
    cr_assert_gt(size, STORE_DATA_START);
    cr_assert_eq(store_open(&io, "commit-0", &o, &s), STROM_OK, "the directory without '/'");
    struct store_stream_info info;
    cr_assert_eq(store_stream_info(s, 5, &info), STROM_OK);
    cr_assert_eq(info.next_offset, 1);
    cr_assert_eq(store_close(s), STROM_OK);
    o.create = false;
    cr_assert_eq(store_open(&io, "other/", &o, &s), STROM_ERR_NOT_FOUND);
    io_memfs_destroy(fs);
}

/* Pipelined syncs on the Linux io (io_uring): two in flight while appends go on, a third refused,
 * durable only as far as what was collected covers, everything there after a reopen; a store
 * discarded with syncs in flight waits for them. */
Test(store, linux_pipelined_syncs) {
    char dir[] = "/tmp/strom-store-sync-XXXXXX";
    cr_assert(mkdtemp(dir) != NULL);
    struct io io;
    io_linux_init(&io);
    struct store_options o;
    model_options(&o);
    struct store *s = NULL;
    cr_assert_eq(store_open(&io, dir, &o, &s), STROM_OK);
    struct model *m = model_new(4, 3);
    struct rng r;
    rng_init(&r, 5);
    uint64_t covers[3] = {0};
    uint32_t limited = 0;
    for (int round = 0; round < 50; round++) {
        uint64_t before = store_durable_pos(s);
        for (int k = 0; k < 2; k++) {
            model_append_random(m, s, &r, 4, 5, 3000);
            uint64_t end = store_end_pos(s);
            cr_assert_eq(store_sync_start(s, &covers[k]), STROM_OK);
            cr_assert_geq(covers[k], end, "it covers every append before it");
        }
        cr_assert_leq(store_syncs_inflight(s), 2);
        model_append_random(m, s, &r, 4, 5, 3000);
        if (store_syncs_inflight(s) == 2) {
            /* Refused, or a checkpoint was due: then it synced everything at once. */
            strom_err err = store_sync_start(s, &covers[2]);
            cr_assert(err == STROM_ERR_LIMIT || (err == STROM_OK && store_syncs_inflight(s) == 0),
                      "%s", strom_errname(err));
            limited += err == STROM_ERR_LIMIT;
        }
        cr_assert_geq(store_durable_pos(s), before);
        uint64_t durable = 0;
        do {
            cr_assert_eq(store_sync_collect(s, IO_TIMEOUT_INFINITE, &durable), STROM_OK);
        } while (store_syncs_inflight(s) > 0);
        cr_assert_geq(durable, covers[1]);
    }
    cr_assert_gt(limited, 10, "two syncs were in flight at once: %u", limited);
    cr_assert_eq(store_sync_start(s, &covers[0]), STROM_OK);
    store_discard(s); /* waits for the sync in flight */
    cr_assert_eq(store_open(&io, dir, &o, &s), STROM_OK);
    model_check_all(m, s);
    linux_store_done(s, dir, m);
}

/* The Linux pwritev loop: pieces of every size, written and read back through a real file. */
Test(store, linux_pwritev) {
    char path[] = "/tmp/strom-pwritev-XXXXXX";
    int tmp = mkstemp(path);
    cr_assert_geq(tmp, 0);
    close(tmp);
    struct io io;
    io_linux_init(&io);
    int fd = -1;
    cr_assert_eq(io_file_open(&io, path, IO_OPEN_WRITE, &fd), STROM_OK);
    static uint8_t big[3 << 20];
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i * 31 + (i >> 12));
    }
    struct io_iov iov[IO_IOV_MAX];
    size_t at = 0;
    for (uint32_t i = 0; i < IO_IOV_MAX; i++) {
        size_t len = (i % 3 == 0) ? 0 : (i % 3 == 1) ? 17 * i : 40000 + i;
        iov[i] = (struct io_iov){big + at, len};
        at += len;
    }
    cr_assert_eq(io_file_pwritev(&io, fd, iov, IO_IOV_MAX, 4096), STROM_OK);
    static uint8_t back[3 << 20];
    size_t got = 0;
    cr_assert_eq(io_file_pread(&io, fd, back, at, 4096, &got), STROM_OK);
    cr_assert_eq(got, at);
    cr_assert_eq(memcmp(back, big, at), 0);
    cr_assert_eq(io_file_close(&io, fd), STROM_OK);
    unlink(path);
}
