/* test_store_refresh.c: a read-only store that follows its writer across a checkpoint sees the
 * streams first written after that checkpoint (a refresh adopts the checkpoint, then looks those
 * streams up in its trie, whose nodes were written since the reader last refreshed). */
#include <criterion/criterion.h>
#include <string.h>

#include "io/io.h"
#include "io/io_memfs.h"
#include "store/store.h"

static void append_one(struct store *w, uint64_t id) {
    uint8_t payload[100];
    memset(payload, (int)id, sizeof payload);
    struct store_append a = {.stream_id = id,
                             .base_offset = 0,
                             .message_count = 1,
                             .payload = payload,
                             .payload_bytes = sizeof payload};
    cr_assert_eq(store_append(w, &a, NULL), STROM_OK);
}

static strom_err read_first(struct store *r, uint64_t id) {
    static uint8_t buf[4096];
    struct store_cursor c;
    struct store_batch b;
    store_cursor_init(&c, id, 0);
    strom_err err = store_cursor_next(r, &c, &b, buf, sizeof buf);
    cr_assert(err != STROM_OK || (b.payload_bytes == 100 && buf[0] == (uint8_t)id));
    return err;
}

Test(store_refresh, streams_after_an_adopted_checkpoint) {
    struct io_memfs *fs = NULL;
    struct io io;
    cr_assert_eq(io_memfs_create(7, &fs), STROM_OK);
    io_memfs_io(fs, &io);
    struct store_options o;
    store_options_default(&o);
    struct store *w = NULL, *r = NULL;
    cr_assert_eq(store_open(&io, "data", &o, &w), STROM_OK);
    append_one(w, 1);
    cr_assert_eq(store_sync(w, NULL), STROM_OK);
    struct store_options ro = o;
    ro.read_only = true;
    ro.create = false;
    cr_assert_eq(store_open(&io, "data", &ro, &r), STROM_OK);
    cr_assert_eq(store_refresh(r, 0), STROM_OK);
    cr_assert_eq(read_first(r, 1), STROM_OK);
    append_one(w, 2);
    cr_assert_eq(store_checkpoint(w, true), STROM_OK);
    append_one(w, 3); /* first written after the checkpoint */
    cr_assert_eq(store_sync(w, NULL), STROM_OK);
    cr_assert_eq(store_refresh(r, 0), STROM_OK);
    cr_assert_eq(read_first(r, 2), STROM_OK);
    cr_assert_eq(read_first(r, 3), STROM_OK);
    struct store_stats st;
    store_get_stats(r, &st);
    cr_assert_eq(st.open_ignored_records, 0);
    cr_assert_eq(read_first(r, 4), STROM_ERR_NO_STREAM);
    cr_assert_eq(store_close(r), STROM_OK);
    cr_assert_eq(store_close(w), STROM_OK);
    io_memfs_destroy(fs);
}
