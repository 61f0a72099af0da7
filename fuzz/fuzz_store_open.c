/*
 * fuzz_store_open.c: opens a store file made of arbitrary bytes and reads everything it claims
 * to hold; nothing may crash, hang or leak, whatever the file says.
 *
 * The first input byte picks how the rest becomes a file:
 *   even: the bytes are the whole file (seeds are real store files; mutations give damage, torn
 *         tails, garbage);
 *   odd:  a valid file header, then a sequence of records (type, level, body length, body)
 *         written with valid headers, CRCs and checkpoint node CRCs, so that recovery, the trie
 *         and the index reads meet well-formed records with hostile contents (pointers, counts,
 *         offsets).
 * The file is opened read-only and read back (the list of streams, each stream's batches, point
 * reads), then opened for writing (recovery cuts and repairs), appended to and reopened.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "io/io_memfs.h"
#include "store/format.h"
#include "store/store.h"

enum {
    FILE_BYTES_MAX = 1 << 20, /* the file the input builds */
    READS_MAX = 256,          /* batches read per stream */
    STREAMS_MAX = 64,         /* streams read */
    FILE_ID = 42,
};

static uint8_t file[FILE_BYTES_MAX];

static void put_record(uint64_t *pos, uint8_t type, uint8_t level, const uint8_t *body,
                       uint32_t len) {
    struct store_rec_header h = {.type = type,
                                 .level = type == STORE_REC_INDEX ? level : 0,
                                 .body_bytes = len,
                                 .body_crc = crc32c(0, body, len),
                                 .durable_pos = *pos};
    uint64_t span = store_record_span(len);
    if (*pos + span > FILE_BYTES_MAX) {
        return;
    }
    store_header_encode(file + *pos, &h, FILE_ID, *pos);
    memcpy(file + *pos + STORE_HEADER_BYTES, body, len);
    memset(file + *pos + STORE_HEADER_BYTES + len, 0, span - STORE_HEADER_BYTES - len);
    *pos += span;
}

/* Records from the input, with valid checksums; checkpoint node CRCs are made right too. */
static uint64_t build_structured(const uint8_t *in, size_t len) {
    uint64_t pos = STORE_DATA_START;
    uint8_t body[2048];
    size_t i = 0;
    while (i + 4 <= len) {
        uint8_t type = (uint8_t)(STORE_REC_BATCH + in[i] % 5);
        uint8_t level = in[i + 1] % 4;
        uint32_t n = (uint32_t)((in[i + 2] | (in[i + 3] << 8)) % sizeof body);
        i += 4;
        size_t take = len - i < n ? len - i : n;
        memset(body, 0, sizeof body);
        memcpy(body, in + i, take);
        i += take;
        if (type == STORE_REC_CHECKPOINT) {
            n = STORE_CHECKPOINT_BODY_BYTES;
            uint64_t nodes = store_get_u64(body + 16) % (pos + 1);
            nodes &= ~(uint64_t)7;
            nodes = nodes < STORE_DATA_START ? STORE_DATA_START : nodes;
            store_put_u64(body + 16, nodes);
            store_put_u32(body + 56, crc32c(0, file + nodes, pos - nodes));
            store_put_u32(body + 60, 4);
        }
        put_record(&pos, type, level, body, n);
    }
    return pos;
}

static strom_err read_stream(void *arg, const struct store_stream_info *info) {
    struct store *s = arg;
    static uint8_t buf[1 << 16];
    struct store_cursor c;
    struct store_batch b;
    store_cursor_init(&c, info->stream_id, info->first_offset);
    for (int i = 0; i < READS_MAX; i++) {
        strom_err err = store_cursor_next(s, &c, &b, buf, sizeof buf);
        if (err == STROM_ERR_CORRUPT || err == STROM_ERR_OVERFLOW) {
            store_cursor_init(&c, info->stream_id, c.offset + 1);
        } else if (err) {
            break;
        }
    }
    store_cursor_init(&c, info->stream_id, info->next_offset ? info->next_offset / 2 : 0);
    (void)store_cursor_next(s, &c, &b, buf, sizeof buf);
    static int listed;
    return ++listed % STREAMS_MAX == 0 ? STROM_ERR_LIMIT : STROM_OK;
}

static void exercise(struct io *io, bool read_only) {
    struct store_options o;
    store_options_default(&o);
    o.read_only = read_only;
    o.reserve_bytes = 0;
    o.write_buffer_bytes = 64 << 10;
    o.memory_bytes_max = 32 << 20;
    struct store *s = NULL;
    if (store_open(io, "f", &o, &s) != STROM_OK) {
        return;
    }
    (void)store_streams_list(s, read_stream, s);
    for (uint64_t id = 0; id < 4; id++) {
        struct store_stream_info info;
        if (store_stream_info(s, id, &info) == STROM_OK) {
            (void)read_stream(s, &info);
        }
        if (!read_only) {
            uint8_t p[16] = {1};
            struct store_append a = {
                .stream_id = id,
                .base_offset = store_stream_info(s, id, &info) == STROM_OK ? info.next_offset : 0,
                .message_count = 1,
                .payload = p,
                .payload_bytes = sizeof p};
            (void)store_append(s, &a, NULL);
        }
    }
    if (!read_only) {
        (void)store_sync(s, NULL);
        (void)store_reclaim(s, store_durable_pos(s) / 2);
    }
    (void)store_refresh(s, 0);
    (void)store_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0 || size > FILE_BYTES_MAX) {
        return 0;
    }
    uint64_t len = 0;
    if (data[0] & 1) {
        memset(file, 0, STORE_DATA_START);
        struct store_file_head fh = {.file_id = FILE_ID,
                                     .version = STORE_FORMAT_VERSION,
                                     .index_fanout = 4,
                                     .data_start = STORE_DATA_START};
        store_file_head_encode(file + STORE_HEADER_BYTES, &fh);
        struct store_rec_header h = {
            .type = STORE_REC_HEAD,
            .body_bytes = STORE_HEAD_BODY_BYTES,
            .body_crc = crc32c(0, file + STORE_HEADER_BYTES, STORE_HEAD_BODY_BYTES)};
        store_header_encode(file, &h, 0, 0);
        len = build_structured(data + 1, size - 1);
    } else {
        memcpy(file, data + 1, size - 1);
        len = size - 1;
    }
    struct io_memfs *fs = NULL;
    if (io_memfs_create(1, &fs) != STROM_OK) {
        return 0;
    }
    struct io io;
    io_memfs_io(fs, &io);
    int fd = -1;
    if (io_file_open(&io, "f", IO_OPEN_WRITE | IO_OPEN_CREATE, &fd) == STROM_OK &&
        io_file_pwrite(&io, fd, file, (size_t)len, 0) == STROM_OK &&
        io_file_datasync(&io, fd) == STROM_OK && io_file_close(&io, fd) == STROM_OK) {
        exercise(&io, true);
        exercise(&io, false);
        exercise(&io, true);
    }
    io_memfs_destroy(fs);
    return 0;
}
