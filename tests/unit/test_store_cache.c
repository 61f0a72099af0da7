/*
 * test_store_cache.c: the store's page-cache options (store_options.writeback_bytes, cache_bytes):
 * the write-back is started behind the writes, pages are dropped only far behind the end and only
 * after a waited write-back, nothing changes in what reads or a crash find, a failed write-back
 * fails the store as a failed fdatasync does (the Linux io: test_store.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/format.h"
#include "store_model.h"

enum {
    CACHE_WRITEBACK_BYTES = 64 << 10,
    CACHE_BYTES = 256 << 10,
    CACHE_APPENDS = 6000, /* about 9 MB of records: two drop steps (4 MiB) past the window */
};

struct cache_fx {
    struct io_memfs *fs;
    struct io io;
    struct store_options o;
    struct store *s;
    struct model *m;
    struct rng r;
};

static void cache_open(struct cache_fx *f) {
    strom_err err = store_open(&f->io, "data", &f->o, &f->s);
    cr_assert_eq(err, STROM_OK, "open: %s", strom_errname(err));
}

static void cache_setup(struct cache_fx *f, uint64_t seed, uint64_t writeback, uint64_t cache) {
    cr_assert_eq(io_memfs_create(seed, &f->fs), STROM_OK);
    io_memfs_io(f->fs, &f->io);
    model_options(&f->o);
    f->o.checkpoint_bytes = 1 << 20;
    f->o.writeback_bytes = writeback;
    f->o.cache_bytes = cache;
    f->m = model_new(8, 11);
    rng_init(&f->r, seed);
    cache_open(f);
}

static void cache_done(struct cache_fx *f) {
    if (f->s != NULL) {
        cr_assert_eq(store_close(f->s), STROM_OK);
    }
    free(f->m);
    io_memfs_destroy(f->fs);
}

/* Appends count random batches (a sync every 100); after each, no drop reached into the last
 * CACHE_BYTES of what the store wrote. */
static void cache_append(struct cache_fx *f, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        model_append_random(f->m, f->s, &f->r, 8, 5, MODEL_PAYLOAD_MAX);
        if (i % 100 == 99) {
            cr_assert_eq(store_sync(f->s, NULL), STROM_OK);
        }
        struct io_memfs_stats st;
        io_memfs_get_stats(f->fs, &st);
        cr_assert(st.cache_drop_end == 0 || st.cache_drop_end + CACHE_BYTES <= store_end_pos(f->s),
                  "dropped %llu with the end at %llu", (unsigned long long)st.cache_drop_end,
                  (unsigned long long)store_end_pos(f->s));
    }
}

/* Write-back started every writeback_bytes, pages dropped behind the window after a waited
 * write-back each; reads, a reopen and a process crash find every batch. */
Test(store_cache, drops_only_behind_the_window) {
    struct cache_fx f;
    cache_setup(&f, 3, CACHE_WRITEBACK_BYTES, CACHE_BYTES);
    cache_append(&f, CACHE_APPENDS);
    struct io_memfs_stats st;
    io_memfs_get_stats(f.fs, &st);
    uint64_t end = store_end_pos(f.s);
    cr_assert_gt(end, (8u << 20) + CACHE_BYTES, "the run writes past two drop steps");
    cr_assert_geq(st.writebacks, (end - (8u << 20)) / CACHE_WRITEBACK_BYTES / 2,
                  "%llu write-backs started", (unsigned long long)st.writebacks);
    cr_assert_geq(st.cache_drops, 2);
    cr_assert_eq(st.writeback_waits, st.cache_drops, "each drop waits for its write-back first");
    cr_assert_gt(st.cache_drop_end, 4u << 20);
    model_check_all(f.m, f.s);
    /* kill -9: what was written (page cache) survives, whether dropped or not. */
    store_discard(f.s);
    io_memfs_crash(f.fs, IO_MEMFS_CRASH_KEEP);
    cache_open(&f);
    model_check_all(f.m, f.s);
    cache_done(&f);
}

/* Off by default: the store neither starts write-back nor drops pages. */
Test(store_cache, off_by_default) {
    struct cache_fx f;
    cache_setup(&f, 4, 0, 0);
    cache_append(&f, 3000);
    struct io_memfs_stats st;
    io_memfs_get_stats(f.fs, &st);
    cr_assert_eq(st.writebacks + st.writeback_waits + st.cache_drops, 0);
    cr_assert_eq(store_close(f.s), STROM_OK);
    f.s = NULL;
    f.o.cache_bytes = 100; /* less than a page */
    cr_assert_eq(store_open(&f.io, "data", &f.o, &f.s), STROM_ERR_INVALID_ARGUMENT);
    f.s = NULL;
    cache_done(&f);
}

/* Direct writes bypass the page cache: the options do nothing there. */
Test(store_cache, not_with_direct_writes) {
    struct cache_fx f;
    cr_assert_eq(io_memfs_create(5, &f.fs), STROM_OK);
    io_memfs_io(f.fs, &f.io);
    model_options(&f.o);
    f.o.direct_writes = true;
    f.o.size_ahead_bytes = 8192;
    f.o.writeback_bytes = CACHE_WRITEBACK_BYTES;
    f.o.cache_bytes = CACHE_BYTES;
    f.m = model_new(8, 11);
    rng_init(&f.r, 5);
    cache_open(&f);
    cr_assert(store_direct_writes(f.s));
    cache_append(&f, CACHE_APPENDS);
    struct io_memfs_stats st;
    io_memfs_get_stats(f.fs, &st);
    cr_assert_eq(st.cache_drops, 0);
    model_check_all(f.m, f.s);
    cache_done(&f);
}

/*
 * A write-back whose wait fails (the kernel reports the error once, maybe to that call and not to
 * the next fdatasync): the store fails as after a failed fdatasync and stays failed, and after a
 * power loss every batch that a successful sync covered is there.
 */
Test(store_cache, failed_writeback_fails_the_store) {
    struct cache_fx f;
    cache_setup(&f, 6, CACHE_WRITEBACK_BYTES, CACHE_BYTES);
    io_memfs_fail_writeback(f.fs, 1);
    strom_err err = STROM_OK;
    struct model *synced = model_copy(f.m);
    for (uint32_t i = 0; i < 4 * CACHE_APPENDS && err == STROM_OK; i++) {
        err = model_try_append(f.m, f.s, (uint32_t)rng_below(&f.r, 8), 1, 2000, NULL);
        if (err == STROM_OK && i % 50 == 49) {
            err = store_sync(f.s, NULL);
        }
        if (err == STROM_OK && i % 50 == 49) {
            memcpy(synced, f.m, sizeof *synced);
        }
    }
    cr_assert_eq(err, STROM_ERR_STORE_FAILED, "%s", strom_errname(err));
    cr_assert_eq(store_sync(f.s, NULL), STROM_ERR_STORE_FAILED, "a failed store stays failed");
    store_discard(f.s);
    io_memfs_crash(f.fs, IO_MEMFS_CRASH_DROP);
    cache_open(&f);
    static uint8_t buf[MODEL_PAYLOAD_MAX + 128];
    uint32_t checked = 0;
    for (uint32_t si = 0; si < synced->stream_count; si++) {
        const struct model_stream *ms = &synced->streams[si];
        struct store_cursor c;
        store_cursor_init(&c, ms->id, 0);
        for (uint32_t bi = 0; bi < ms->batch_count; bi++, checked++) {
            struct store_batch b;
            cr_assert_eq(store_cursor_next(f.s, &c, &b, buf, sizeof buf), STROM_OK);
            model_check_batch(ms, bi, &b, buf);
        }
    }
    cr_assert_gt(checked, 1000, "the failure came after many synced batches");
    free(synced);
    cache_done(&f);
}
