/*
 * test_commit_resync.c: a restarted commit writes the unsynced tail of its store file back
 * unchanged (commit.h), even when reads return flipped bits; the commit's store writes with
 * O_DIRECT under fsync always and through the page cache, with early write-back, otherwise. The
 * store file on a simulated disk (io_memfs), the node's shared memory and events from the Linux io.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "io/io_memfs.h"
#include "node/commit.h"
#include "node/nodelog.h"
#include "node/shm.h"
#include "store/store.h"
#include "node_fixture.h"

/* Files on fs; shared memory and events from Linux (its io has no state of its own). */
static void hybrid_io(struct io_memfs *fs, struct io_vtable *vt, struct io *io) {
    struct io mem;
    struct io lin;
    io_memfs_io(fs, &mem);
    io_linux_init(&lin);
    *vt = *mem.vt;
    vt->shm_create = lin.vt->shm_create;
    vt->shm_unmap = lin.vt->shm_unmap;
    vt->event_create = lin.vt->event_create;
    vt->event_signal = lin.vt->event_signal;
    vt->event_drain = lin.vt->event_drain;
    vt->event_close = lin.vt->event_close;
    *io = (struct io){.vt = vt, .ctx = fs};
}

static void small_config(struct node_config *c) {
    node_fixture_small(c);
    snprintf(c->data_dir, sizeof c->data_dir, "data");
    c->commits = 1;
    c->gateways = 1;
    node_fixture_check(c);
}

/* Appends count batches of one message to stream 1 from offset `from`, as a commit stores them
 * (the node log entry body: struct node_batch, then the message set). */
static void append_batches(struct store *s, uint64_t from, uint32_t count) {
    uint8_t body[sizeof(struct node_batch) + 200];
    for (uint32_t i = 0; i < count; i++) {
        struct node_batch b = {.stream_id = 1,
                               .base_offset = from + i,
                               .timestamp_ns = 1000 + from + i,
                               .count = 1,
                               .messages_bytes = 200};
        memcpy(body, &b, sizeof b);
        memset(body + sizeof b, (int)(from + i), 200);
        struct store_append a = {.stream_id = 1,
                                 .base_offset = from + i,
                                 .message_count = 1,
                                 .first_ts_ns = b.timestamp_ns,
                                 .last_ts_ns = b.timestamp_ns,
                                 .payload = body,
                                 .payload_bytes = sizeof body};
        cr_assert_eq(store_append(s, &a, NULL), STROM_OK);
    }
}

static uint8_t *file_copy(struct io_memfs *fs, const char *path, uint64_t *size) {
    cr_assert_eq(io_memfs_file_size(fs, path, size), STROM_OK);
    uint8_t *b = malloc(*size);
    size_t got = 0;
    cr_assert_eq(io_memfs_file_read(fs, path, 0, b, *size, &got), STROM_OK);
    cr_assert_eq(got, *size);
    return b;
}

Test(commit_resync, a_read_with_a_flipped_bit_is_never_written_back) {
    struct io_memfs *fs = NULL;
    cr_assert_eq(io_memfs_create(7, &fs), STROM_OK);
    struct io_vtable vt;
    struct io io;
    hybrid_io(fs, &vt, &io);
    struct node_config c;
    small_config(&c);
    char dir[NODE_DIR_BYTES_MAX + 32];
    commit_dir(&c, 0, dir, sizeof dir);
    cr_assert_eq(io_dir_create(&io, "data"), STROM_OK);
    cr_assert_eq(io_dir_create(&io, dir), STROM_OK);
    /* A predecessor synced 20 batches (its last published sync), then stored 40 more. */
    struct store_options o;
    store_options_default(&o);
    struct store *s = NULL;
    cr_assert_eq(store_open(&io, dir, &o, &s), STROM_OK);
    append_batches(s, 0, 20);
    uint64_t synced = 0;
    cr_assert_eq(store_sync(s, &synced), STROM_OK);
    append_batches(s, 20, 40);
    cr_assert_eq(store_close(s), STROM_OK);
    char path[NODE_DIR_BYTES_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DATA_FILE_NAME);
    uint64_t size = 0;
    uint8_t *before = file_copy(fs, path, &size);
    cr_assert_gt(size, synced, "the tail past the last published sync is what gets rewritten");

    struct node_shm shm;
    cr_assert_eq(node_shm_create(&shm, &io, &c), STROM_OK);
    shm.header->commits_c[0].file_durable_pos = synced;
    static struct commit k;
    /* Every read flips a bit: no two reads agree, so the restart fails rather than write one. */
    io_memfs_set_read_flip(fs, 1.0);
    cr_assert_neq(commit_open(&k, &io, &c, &shm, 0), STROM_OK);
    uint64_t size_after = 0;
    uint8_t *after = file_copy(fs, path, &size_after);
    cr_assert_eq(size_after, size);
    cr_assert(memcmp(before, after, size) == 0, "the file holds what was read with a flip");
    free(after);

    /* Reads that agree: the restart goes through, and every batch reads back whole. */
    io_memfs_set_read_flip(fs, 0);
    cr_assert_eq(commit_open(&k, &io, &c, &shm, 0), STROM_OK);
    after = file_copy(fs, path, &size_after);
    cr_assert_geq(size_after, size);
    cr_assert(memcmp(before, after, size) == 0, "the tail was written back unchanged");
    cr_assert_eq(registry_stream(&shm.registry, 1)->durable_next, 60);
    cr_assert_eq(commit_close(&k), STROM_OK);
    cr_assert_eq(store_open(&io, dir, &o, &s), STROM_OK);
    struct store_cursor cur;
    store_cursor_init(&cur, 1, 0);
    uint8_t buf[4096];
    for (uint64_t i = 0; i < 60; i++) {
        struct store_batch b;
        cr_assert_eq(store_cursor_next(s, &cur, &b, buf, sizeof buf), STROM_OK, "batch %llu",
                     (unsigned long long)i);
        cr_assert_eq(b.base_offset, i);
    }
    cr_assert_eq(store_close(s), STROM_OK);
    free(after);
    free(before);
    io_memfs_destroy(fs);
}

/* The write mode (docs/node.md, "Throughput: where the time goes"): O_DIRECT while no gateway
 * reads the commit's file, under every policy; while one does (its file_readers bit), under
 * interval and never buffered writes whose write-back the store starts every
 * COMMIT_WRITEBACK_BYTES, under always O_DIRECT all the same. */
Test(commit_resync, write_mode_follows_the_fsync_policy) {
    const enum node_fsync policies[] = {NODE_FSYNC_ALWAYS, NODE_FSYNC_INTERVAL, NODE_FSYNC_NEVER};
    for (uint32_t i = 0; i < 3; i++) {
        struct io_memfs *fs = NULL;
        cr_assert_eq(io_memfs_create(8 + i, &fs), STROM_OK);
        struct io_vtable vt;
        struct io io;
        hybrid_io(fs, &vt, &io);
        struct node_config c;
        small_config(&c);
        c.fsync = policies[i];
        cr_assert_eq(io_dir_create(&io, "data"), STROM_OK);
        struct node_shm shm;
        cr_assert_eq(node_shm_create(&shm, &io, &c), STROM_OK);
        static struct commit k;
        cr_assert_eq(commit_open(&k, &io, &c, &shm, 0), STROM_OK);
        cr_assert(store_direct_writes(k.store), "policy %u: nobody reads", (unsigned)policies[i]);
        __atomic_store_n(&shm.header->gateways_c[0].file_readers, 1u, __ATOMIC_RELAXED);
        uint32_t read = 0;
        cr_assert_eq(commit_turn(&k, io_clock_monotonic_ns(&io), &read), STROM_OK);
        bool direct = policies[i] == NODE_FSYNC_ALWAYS;
        cr_assert_eq(store_direct_writes(k.store), direct, "policy %u", (unsigned)policies[i]);
        cr_assert_eq(shm.header->commits_c[0].write_mode_switches, direct ? 0 : 1);
        cr_assert_eq(shm.header->commits_c[0].direct_writes, direct);
        uint32_t count = (uint32_t)(2 * COMMIT_WRITEBACK_BYTES / 256);
        append_batches(k.store, 0, count);
        uint64_t durable = 0;
        cr_assert_eq(store_sync(k.store, &durable), STROM_OK);
        struct io_memfs_stats st;
        io_memfs_get_stats(fs, &st);
        cr_assert_eq(st.writebacks > 0, !direct, "policy %u: %llu write-backs started",
                     (unsigned)policies[i], (unsigned long long)st.writebacks);
        cr_assert_eq(commit_close(&k), STROM_OK);
        io_memfs_destroy(fs);
    }
}
