/*
 * test_node_inproc.c: a whole node in one process (commit, sequencer and gateway driven turn by
 * turn over the real shared memory, store and loopback sockets) spoken to with raw frames: the
 * gateway's protocol handling, limits, malformed input, answers at each ack level, reads.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "node/commit.h"
#include "node/gateway.h"
#include "node/msgset.h"
#include "node/sequencer.h"
#include "node/shm.h"
#include "proto/frame.h"
#include "store/store.h"

static struct io io;
static struct node_config cfg;
static struct node_shm shm;
static struct commit commit;
static struct sequencer seq;
static struct gateway gw;
static char dir[64];
static bool commit_held;             /* pump leaves the commit out: nothing becomes durable */
static uint64_t commit_now_ns;       /* the clock pump gives the commit; 0: the monotonic clock */
static enum node_fsync fsync_policy; /* the node's --fsync (setup: the default) */
static bool send_unpumped;           /* send_bytes leaves the node alone (no pump) */

static void start(uint32_t connections_max, uint32_t inflight_max) {
    io_linux_init(&io);
    snprintf(dir, sizeof dir, "/tmp/strom-inproc-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    node_config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", dir);
    cfg.listen.port = 0;
    cfg.kafka.enabled = false; /* the native protocol only */
    cfg.streams_max = 1024;
    cfg.paths_bytes = 65536;
    cfg.producers_max = 256;
    cfg.frame_bytes_max = 1u << 20;
    cfg.log_bytes = 8u << 20;
    cfg.request_bytes = 8u << 20;
    cfg.connections_max = connections_max;
    cfg.inflight_max = inflight_max;
    cfg.reads_max = 4;
    cfg.fsync = fsync_policy ? fsync_policy : cfg.fsync;
    char msg[256];
    cr_assert_eq(node_config_check(&cfg, msg, sizeof msg), STROM_OK, "%s", msg);
    cr_assert_eq(node_shm_create(&shm, &io, &cfg), STROM_OK);
    cr_assert_eq(commit_open(&commit, &io, &cfg, &shm, 0), STROM_OK);
    cr_assert_eq(sequencer_open(&seq, &io, &cfg, &shm), STROM_OK);
    cr_assert_eq(sequencer_rebuild(&seq), STROM_OK);
    sequencer_recover(&seq);
    cr_assert_eq(gateway_open(&gw, &io, &cfg, &shm, 0), STROM_OK);
}

static void setup(void) {
    send_unpumped = false;
    commit_held = false;
    commit_now_ns = 0;
    fsync_policy = 0;
    start(8, 16);
}

static void teardown(void) {
    commit_close(&commit);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(inproc, .init = setup, .fini = teardown);

/* Every role takes turns: the gateway, the sequencer, the commit (unless commit_held). */
static void pump(int rounds) {
    for (int i = 0; i < rounds; i++) {
        gateway_turn(&gw, 0);
        sequencer_turn(&seq, io_clock_realtime_ns(&io));
        uint32_t read = 0;
        if (!commit_held) {
            uint64_t now = commit_now_ns ? commit_now_ns : io_clock_monotonic_ns(&io);
            cr_assert_eq(commit_turn(&commit, now, &read), STROM_OK);
        }
        /* A sync the turn started runs in the kernel: a round includes its end. */
        while (commit.sync_count > 0) {
            cr_assert_eq(commit_wait_sync(&commit, 1000000000u), STROM_OK);
        }
        gateway_turn(&gw, 0);
    }
}

static int connect_client(void) {
    int fd = -1;
    cr_assert_eq(io_tcp_connect(&io, "127.0.0.1", (uint16_t)shm.header->gateways_c[0].port,
                                1000000000u, &fd),
                 STROM_OK);
    pump(1);
    return fd;
}

static void send_bytes(int fd, const void *buf, size_t len) {
    size_t done = 0;
    while (done < len) {
        struct io_iov iov = {(const uint8_t *)buf + done, len - done};
        size_t sent = 0;
        strom_err err = io_sock_send(&io, fd, &iov, 1, &sent);
        cr_assert(err == STROM_OK || err == STROM_ERR_AGAIN);
        done += sent;
        if (!send_unpumped) {
            pump(1);
        }
    }
}

static void send_frame(int fd, enum proto_type type, uint64_t id, const void *body) {
    static uint8_t buf[2u << 20];
    size_t len = 0;
    cr_assert_eq(proto_frame_encode(buf, sizeof buf, type, id, body, &len), STROM_OK);
    send_bytes(fd, buf, len);
}

/* Receives one frame (pumping the node meanwhile); false when the connection closed. */
static bool recv_frame(int fd, struct proto_frame *f) {
    static uint8_t buf[2u << 20];
    static size_t have[1024];
    static size_t taken[1024]; /* buf[taken..have) is not yet returned */
    static _Alignas(STROM_ARENA_ALIGN) uint8_t arena_bytes[PROTO_LIST_ANSWER_ARENA_BYTES_MAX];
    struct strom_arena arena;
    strom_arena_init(&arena, arena_bytes, sizeof arena_bytes);
    size_t *len = &have[fd % 1024];
    size_t *head = &taken[fd % 1024];
    for (int round = 0; round < 2000; round++) {
        struct proto_header h;
        const uint8_t *at = buf + *head;
        size_t ready = *len - *head;
        if (ready >= PROTO_HEADER_BYTES && proto_header_read(at, ready, 2u << 20, &h) == STROM_OK &&
            h.frame_bytes <= ready) {
            static uint8_t frame[2u << 20];
            memcpy(frame, at, h.frame_bytes);
            *head += h.frame_bytes;
            cr_assert_eq(proto_frame_decode(frame, h.frame_bytes, 2u << 20, &arena, f), STROM_OK);
            return true;
        }
        /* Moved to the front once per receive, not once per frame: a megabyte of small answers
         * would otherwise be moved once for each of them. */
        memmove(buf, at, ready);
        *len = ready;
        *head = 0;
        size_t got = 0;
        strom_err err = io_sock_recv(&io, fd, buf + *len, sizeof buf - *len, &got);
        if (err == STROM_ERR_CLOSED) {
            return false;
        }
        cr_assert(err == STROM_OK || err == STROM_ERR_AGAIN, "recv: %s", strom_errname(err));
        *len += got;
        if (got == 0) {
            pump(1);
        }
    }
    cr_assert_fail("no frame within 2000 rounds");
    return false;
}

static void hello(int fd) {
    static const char name[] = "test";
    struct proto_hello h = {
        .version_min = 1, .version_max = 1, .client_name = name, .client_name_len = 4};
    send_frame(fd, PROTO_HELLO, 1, &h);
    struct proto_frame f;
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_HELLO_ANSWER);
    cr_assert_eq(f.body.hello_answer.version, 1);
    cr_assert_eq(f.body.hello_answer.inflight_max, cfg.inflight_max);
    cr_assert_eq(f.body.hello_answer.idempotence_window, 5);
}

/* An append of count messages "m<i>" to path. */
static void append(int fd, uint64_t id, const char *path, uint32_t count, bool sync,
                   uint64_t producer, uint64_t sequence) {
    static uint8_t set[65536];
    size_t bytes = 0;
    for (uint32_t i = 0; i < count; i++) {
        char p[16];
        int n = snprintf(p, sizeof p, "m%u", i);
        bytes += msgset_write_one(set + bytes, sizeof set - bytes, p, (uint32_t)n);
    }
    struct proto_append a = {.path = path,
                             .path_len = (uint32_t)strlen(path),
                             .ack = 1,
                             .sync = sync,
                             .producer_id = producer,
                             .sequence = sequence,
                             .count = count,
                             .messages = set,
                             .messages_len = (uint32_t)bytes};
    send_frame(fd, PROTO_APPEND, id, &a);
}

static struct proto_append_answer expect_append_answer(int fd, uint64_t id) {
    struct proto_frame f;
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_APPEND_ANSWER, "type %u", f.header.type);
    cr_assert_eq(f.header.request_id, id);
    return f.body.append_answer;
}

Test(inproc, append_at_ack_1_and_sync) {
    int fd = connect_client();
    hello(fd);
    append(fd, 10, "/a", 3, false, 0, 0);
    struct proto_append_answer a = expect_append_answer(fd, 10);
    cr_assert_eq(a.error, 0);
    cr_assert_eq(a.base_offset, 0);
    cr_assert_eq(a.count, 3);
    cr_assert_eq(a.stream_id, 1);
    append(fd, 11, "/a", 2, true, 0, 0);
    a = expect_append_answer(fd, 11);
    cr_assert_eq(a.base_offset, 3);
    /* A sync answer comes only after the commit made it durable. */
    cr_assert_geq(registry_stream(&shm.registry, 1)->durable_next, 5);
}

Test(inproc, pipelined_appends_and_idempotent_retries) {
    int fd = connect_client();
    hello(fd);
    for (uint64_t k = 0; k < 10; k++) {
        append(fd, 100 + k, "/p", 1, k % 2, 42, k);
    }
    for (uint64_t k = 0; k < 10; k++) {
        struct proto_frame f;
        cr_assert(recv_frame(fd, &f));
        cr_assert_eq(f.header.type, PROTO_APPEND_ANSWER);
        cr_assert_eq(f.body.append_answer.error, 0);
        cr_assert_eq(f.body.append_answer.base_offset, f.header.request_id - 100);
    }
    append(fd, 200, "/p", 1, true, 42, 8); /* a retry */
    struct proto_append_answer a = expect_append_answer(fd, 200);
    cr_assert_eq(a.error, 0);
    cr_assert_eq(a.base_offset, 8);
    append(fd, 201, "/p", 1, true, 42, 12); /* a gap */
    cr_assert_eq(expect_append_answer(fd, 201).error, STROM_ERR_OUT_OF_ORDER_SEQUENCE);
    append(fd, 202, "/p", 1, true, 42, 2); /* too old */
    cr_assert_eq(expect_append_answer(fd, 202).error, STROM_ERR_SEQUENCE_TOO_OLD);
    cr_assert_eq(registry_stream(&shm.registry, 1)->next_offset, 10);
}

Test(inproc, bad_paths_and_ack_levels_get_answers_not_closes) {
    int fd = connect_client();
    hello(fd);
    append(fd, 1, "/a//b", 1, false, 0, 0);
    cr_assert_eq(expect_append_answer(fd, 1).error, STROM_ERR_INVALID_PATH);
    append(fd, 2, "/sys/x", 1, false, 0, 0);
    cr_assert_eq(expect_append_answer(fd, 2).error, STROM_ERR_INVALID_PATH);
    append(fd, 3, "/ok", 1, false, 0, 0);
    cr_assert_eq(expect_append_answer(fd, 3).error, 0);
}

Test(inproc, a_request_before_hello_closes_with_an_error) {
    int fd = connect_client();
    append(fd, 5, "/a", 1, false, 0, 0);
    struct proto_frame f;
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_ERROR);
    cr_assert_eq(f.body.error.code, STROM_ERR_PROTOCOL);
    cr_assert(!recv_frame(fd, &f), "the connection closes");
}

Test(inproc, malformed_and_oversized_frames_close_only_their_connection) {
    int good = connect_client();
    hello(good);
    int bad = connect_client();
    hello(bad);
    uint8_t junk[32] = {32, 0, 0, 0, 99, 0, 0, 0}; /* frame_bytes 32, type 99 */
    send_bytes(bad, junk, sizeof junk);
    struct proto_frame f;
    cr_assert(recv_frame(bad, &f));
    cr_assert_eq(f.header.type, PROTO_ERROR);
    cr_assert_eq(f.body.error.code, STROM_ERR_PROTOCOL);
    cr_assert(!recv_frame(bad, &f));

    int big = connect_client();
    hello(big);
    uint8_t huge[16] = {0};
    uint32_t n = (2u << 20);
    memcpy(huge, &n, 4);
    huge[4] = PROTO_APPEND;
    send_bytes(big, huge, sizeof huge);
    cr_assert(recv_frame(big, &f));
    cr_assert_eq(f.header.type, PROTO_ERROR);
    cr_assert_eq(f.body.error.code, STROM_ERR_TOO_LARGE);
    cr_assert(!recv_frame(big, &f));

    append(good, 7, "/still", 1, false, 0, 0);
    cr_assert_eq(expect_append_answer(good, 7).error, 0, "others do not notice");
}

Test(inproc, a_large_frame_takes_a_big_buffer) {
    int fd = connect_client();
    hello(fd);
    static uint8_t set[900000];
    static char payload[899000];
    memset(payload, 'z', sizeof payload);
    size_t bytes = msgset_write_one(set, sizeof set, payload, sizeof payload);
    struct proto_append a = {.path = "/big",
                             .path_len = 4,
                             .ack = 1,
                             .sync = true,
                             .count = 1,
                             .messages = set,
                             .messages_len = (uint32_t)bytes};
    send_frame(fd, PROTO_APPEND, 9, &a);
    struct proto_append_answer r = expect_append_answer(fd, 9);
    cr_assert_eq(r.error, 0);
    struct proto_read q = {.path = "/big",
                           .path_len = 4,
                           .from = 0,
                           .to = UINT64_MAX,
                           .ack = 1,
                           .sync = true,
                           .credit_bytes = 1};
    send_frame(fd, PROTO_READ, 10, &q);
    struct proto_frame f;
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_DELIVER);
    cr_assert_eq(f.body.deliver.messages_len, bytes);
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_READ_END);
}

/* An append frame of count messages of 1,000 bytes each (byte j of message i: i + j + seed) to
 * path, in buf; its length. The set is at *set_out. */
static size_t large_append_frame(uint8_t *buf, size_t cap, uint64_t id, const char *path,
                                 uint32_t count, uint8_t seed, const uint8_t **set_out) {
    static uint8_t set[1 << 17];
    size_t bytes = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t payload[1000];
        for (uint32_t j = 0; j < sizeof payload; j++) {
            payload[j] = (uint8_t)(i + j + seed);
        }
        bytes += msgset_write_one(set + bytes, sizeof set - bytes, payload, sizeof payload);
    }
    struct proto_append a = {.path = path,
                             .path_len = (uint32_t)strlen(path),
                             .ack = 1,
                             .count = count,
                             .messages = set,
                             .messages_len = (uint32_t)bytes};
    size_t len = 0;
    cr_assert_eq(proto_frame_encode(buf, cap, PROTO_APPEND, id, &a, &len), STROM_OK);
    *set_out = buf + len - bytes;
    return len;
}

/* Reads path's batch at offset from at ack 1 and checks its message set is set[0, len). */
static void expect_batch(int fd, uint64_t id, const char *path, uint64_t from, const uint8_t *set,
                         size_t len) {
    struct proto_read q = {.path = path,
                           .path_len = (uint32_t)strlen(path),
                           .from = from,
                           .to = from + 1,
                           .ack = 1,
                           .credit_bytes = 1u << 20};
    send_frame(fd, PROTO_READ, id, &q);
    struct proto_frame f;
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_DELIVER, "type %u", f.header.type);
    cr_assert_eq(f.body.deliver.base_offset, from);
    cr_assert_eq(f.body.deliver.messages_len, len);
    cr_assert_eq(memcmp(f.body.deliver.messages, set, len), 0, "the bytes sent");
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_READ_END);
}

/* A large append whose rest is still to come is received straight into its request entry (the
 * gateway's direct_appends counts it); once one came, the next is too even when it arrives
 * whole (the gateway then receives only frame heads into the connection's buffer); small ones
 * take the usual way. Every batch reads back as sent. */
Test(inproc, large_appends_are_received_straight_into_the_request_ring) {
    int fd = connect_client();
    hello(fd);
    static uint8_t frame[3][1 << 17];
    const uint8_t *set[3];
    size_t len[3];
    for (int k = 0; k < 3; k++) {
        len[k] = large_append_frame(frame[k], sizeof frame[k], k < 2 ? 20 + (uint64_t)k : 23,
                                    "/direct", 60, (uint8_t)k, &set[k]);
    }
    const struct node_gateway_counters *gc = &shm.header->gateways_c[0];
    cr_assert_eq(gc->direct_appends, 0);
    send_bytes(fd, frame[0], 200); /* the head and a little of the set */
    pump(2);
    send_bytes(fd, frame[0] + 200, len[0] - 200);
    cr_assert_eq(expect_append_answer(fd, 20).base_offset, 0);
    cr_assert_eq(gc->direct_appends, 1);
    send_bytes(fd, frame[1], len[1]);
    cr_assert_eq(expect_append_answer(fd, 21).base_offset, 60);
    cr_assert_eq(gc->direct_appends, 2);
    append(fd, 22, "/direct", 3, false, 0, 0);
    cr_assert_eq(expect_append_answer(fd, 22).base_offset, 120);
    cr_assert_eq(gc->direct_appends, 2, "a small append the usual way");
    /* The rest in two parts: the first is less than the rest, so it goes back to the
     * connection's buffer and the claim is dropped; the second completes the frame directly. */
    send_bytes(fd, frame[2], 200);
    pump(2);
    send_bytes(fd, frame[2] + 200, 30000);
    pump(2);
    cr_assert_eq(gc->direct_appends, 2);
    send_bytes(fd, frame[2] + 30200, len[2] - 30200);
    cr_assert_eq(expect_append_answer(fd, 23).base_offset, 123);
    cr_assert_eq(gc->direct_appends, 3);
    expect_batch(fd, 30, "/direct", 0, set[0], len[0] - (size_t)(set[0] - frame[0]));
    expect_batch(fd, 31, "/direct", 60, set[1], len[1] - (size_t)(set[1] - frame[1]));
    expect_batch(fd, 32, "/direct", 123, set[2], len[2] - (size_t)(set[2] - frame[2]));
}

/* A large append whose set turns out malformed once it is all in the entry closes its
 * connection with an error and publishes nothing; another connection goes on. */
Test(inproc, a_direct_append_with_a_malformed_set_closes_only_its_connection) {
    int good = connect_client();
    hello(good);
    int bad = connect_client();
    hello(bad);
    static uint8_t frame[1 << 17];
    const uint8_t *set = NULL;
    size_t len = large_append_frame(frame, sizeof frame, 40, "/bad", 60, 0, &set);
    frame[len - 1000 - 4] = 0xff; /* the last message's payload length: past the set's end */
    send_bytes(bad, frame, 200);
    pump(2);
    send_bytes(bad, frame + 200, len - 200);
    struct proto_frame f;
    cr_assert(recv_frame(bad, &f));
    cr_assert_eq(f.header.type, PROTO_ERROR);
    cr_assert_eq(f.body.error.code, STROM_ERR_PROTOCOL);
    cr_assert(!recv_frame(bad, &f));
    cr_assert_eq(shm.header->gateways_c[0].direct_appends, 0);
    append(good, 41, "/bad", 1, false, 0, 0);
    cr_assert_eq(expect_append_answer(good, 41).base_offset, 0, "nothing was published");
}

Test(inproc, the_inflight_limit_answers_limit, .init = NULL) {
    start(8, 2);
    int fd = connect_client();
    hello(fd);
    /* Three appends in one send: the third finds two in flight. */
    static uint8_t buf[4096];
    size_t at = 0;
    for (uint64_t k = 0; k < 3; k++) {
        uint8_t set[64];
        size_t sb = msgset_write_one(set, sizeof set, "x", 1);
        struct proto_append a = {.path = "/f",
                                 .path_len = 2,
                                 .ack = 1,
                                 .sync = true,
                                 .count = 1,
                                 .messages = set,
                                 .messages_len = (uint32_t)sb};
        size_t len = 0;
        cr_assert_eq(proto_frame_encode(buf + at, sizeof buf - at, PROTO_APPEND, k, &a, &len),
                     STROM_OK);
        at += len;
    }
    struct io_iov iov = {buf, at};
    size_t sent = 0;
    cr_assert_eq(io_sock_send(&io, fd, &iov, 1, &sent), STROM_OK);
    cr_assert_eq(sent, at);
    gateway_turn(&gw, 100000000u); /* the gateway reads all three before the sequencer runs */
    int answers = 0, limits = 0;
    for (int i = 0; i < 3; i++) {
        struct proto_frame f;
        cr_assert(recv_frame(fd, &f));
        answers += f.header.type == PROTO_APPEND_ANSWER;
        limits += f.header.type == PROTO_ERROR && f.body.error.code == STROM_ERR_LIMIT;
    }
    cr_assert_eq(answers, 2);
    cr_assert_eq(limits, 1);
}

Test(inproc, the_connection_limit_refuses_with_an_error, .init = NULL) {
    start(2, 16);
    int a = connect_client();
    int b = connect_client();
    int c = connect_client();
    struct proto_frame f;
    cr_assert(recv_frame(c, &f));
    cr_assert_eq(f.header.type, PROTO_ERROR);
    cr_assert_eq(f.body.error.code, STROM_ERR_LIMIT);
    cr_assert(!recv_frame(c, &f));
    hello(a);
    hello(b);
    cr_assert_eq(shm.header->gateways_c[0].refused, 1);
}

Test(inproc, reads_catch_up_then_follow_with_credit) {
    int fd = connect_client();
    hello(fd);
    for (uint64_t k = 0; k < 5; k++) {
        append(fd, k, "/r", 2, true, 0, 0);
        expect_append_answer(fd, k);
    }
    /* Follow from 3 at sync with credit for two batches (44 bytes of message set each). */
    struct proto_read q = {.path = "/r",
                           .path_len = 2,
                           .from = 3,
                           .to = UINT64_MAX,
                           .follow = true,
                           .ack = 1,
                           .sync = true,
                           .credit_bytes = 50};
    send_frame(fd, PROTO_READ, 50, &q);
    struct proto_frame f;
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_DELIVER);
    cr_assert_eq(f.body.deliver.base_offset, 2, "the batch holding offset 3");
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.body.deliver.base_offset, 4);
    pump(20);
    /* Credit spent: nothing more until credit comes. */
    struct proto_credit cr = {.bytes = 1000};
    send_frame(fd, PROTO_CREDIT, 50, &cr);
    for (uint64_t off = 6; off < 10; off += 2) {
        cr_assert(recv_frame(fd, &f));
        cr_assert_eq(f.header.type, PROTO_DELIVER);
        cr_assert_eq(f.body.deliver.base_offset, off);
    }
    /* Live: a new append is delivered once it is durable. */
    append(fd, 60, "/r", 1, false, 0, 0);
    int delivered = 0, answered = 0;
    for (int i = 0; i < 2; i++) {
        cr_assert(recv_frame(fd, &f));
        answered += f.header.type == PROTO_APPEND_ANSWER;
        delivered += f.header.type == PROTO_DELIVER && f.body.deliver.base_offset == 10;
    }
    cr_assert_eq(answered, 1);
    cr_assert_eq(delivered, 1);
    send_frame(fd, PROTO_CANCEL, 50, NULL);
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_READ_END);
    cr_assert_eq(f.body.read_end.error, 0);
    cr_assert_eq(f.body.read_end.next_offset, 11);
}

Test(inproc, a_read_without_follow_stops_at_the_end_it_found) {
    int fd = connect_client();
    hello(fd);
    append(fd, 1, "/n", 3, true, 0, 0);
    expect_append_answer(fd, 1);
    struct proto_read q = {.path = "/n",
                           .path_len = 2,
                           .from = 0,
                           .to = UINT64_MAX,
                           .ack = 1,
                           .sync = false,
                           .credit_bytes = 1 << 20};
    send_frame(fd, PROTO_READ, 2, &q);
    struct proto_frame f;
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_DELIVER);
    cr_assert_eq(f.body.deliver.count, 3);
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_READ_END);
    cr_assert_eq(f.body.read_end.next_offset, 3);
    struct proto_read missing = {
        .path = "/none", .path_len = 5, .to = UINT64_MAX, .ack = 1, .credit_bytes = 100};
    send_frame(fd, PROTO_READ, 3, &missing);
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_READ_END);
    cr_assert_eq(f.body.read_end.error, STROM_ERR_NO_STREAM);
}

Test(inproc, create_list_stat_ping) {
    int fd = connect_client();
    hello(fd);
    struct proto_create c = {.path = "/x/y", .path_len = 4};
    send_frame(fd, PROTO_CREATE, 1, &c);
    struct proto_frame f;
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_CREATE_ANSWER);
    cr_assert_eq(f.body.create_answer.error, 0);
    cr_assert(f.body.create_answer.created);
    cr_assert_eq(f.body.create_answer.stream_id, 1);
    send_frame(fd, PROTO_CREATE, 2, &c);
    cr_assert(recv_frame(fd, &f));
    cr_assert(!f.body.create_answer.created);
    struct proto_list l = {.prefix = "/x", .prefix_len = 2, .count_max = 10};
    send_frame(fd, PROTO_LIST, 3, &l);
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_LIST_ANSWER);
    cr_assert_eq(f.body.list_answer.streams_count, 1);
    const struct proto_stream_info *info = &f.body.list_answer.streams[0];
    cr_assert_eq(info->path_len, 4);
    cr_assert(memcmp(info->path, "/x/y", 4) == 0);
    send_frame(fd, PROTO_STAT, 4, NULL);
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_STAT_ANSWER);
    cr_assert(memmem(f.body.stat_answer.text, f.body.stat_answer.text_len, "strom.stat.sequencer",
                     20) != NULL);
    struct proto_ping p = {.value = 77};
    send_frame(fd, PROTO_PING, 5, &p);
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_PONG);
    cr_assert_eq(f.body.ping.value, 77);
}

Test(inproc, a_client_that_does_not_read_is_held_back) {
    int fd = connect_client();
    hello(fd);
    /* Pipeline stat requests (each answer about a kilobyte) and never read an answer: the
     * gateway fills this connection's output and the socket buffers, then stops reading it (TCP
     * backpressure) instead of buffering without bound. */
    uint8_t frame[PROTO_HEADER_BYTES];
    struct proto_header h = {.frame_bytes = PROTO_HEADER_BYTES, .type = PROTO_STAT};
    proto_header_write(frame, &h);
    static uint8_t buf[PROTO_HEADER_BYTES * 1024];
    for (int i = 0; i < 1024; i++) {
        memcpy(buf + i * PROTO_HEADER_BYTES, frame, PROTO_HEADER_BYTES);
    }
    uint64_t sent_bytes = 0;
    int again = 0;
    for (int round = 0; round < 100000 && again < 50; round++) {
        struct io_iov iov = {buf, sizeof buf};
        size_t sent = 0;
        strom_err err = io_sock_send(&io, fd, &iov, 1, &sent);
        cr_assert(err == STROM_OK || err == STROM_ERR_AGAIN);
        sent_bytes += sent;
        again += err == STROM_ERR_AGAIN ? 1 : 0;
        pump(1);
    }
    cr_assert_eq(again, 50, "the client's sends stopped going through");
    const struct gw_conn *c = &gw.conns[0];
    cr_assert(c->read_blocked, "the gateway stopped reading the connection");
    cr_assert_leq(c->out_len, c->out_cap);
    cr_assert_eq(c->out_big, -1, "no large buffer taken");
    cr_assert_eq(sent_bytes % PROTO_HEADER_BYTES, 0);
    /* Reading the answers lets every request through. */
    uint64_t answered = 0;
    struct proto_frame f;
    while (answered < sent_bytes / PROTO_HEADER_BYTES && recv_frame(fd, &f)) {
        cr_assert_eq(f.header.type, PROTO_STAT_ANSWER);
        answered++;
    }
    cr_assert_eq(answered, sent_bytes / PROTO_HEADER_BYTES);
}

/* The whole node stops and starts again on the same data directory with new shared memory. */
static void restart_node(void) {
    pump(5);
    cr_assert_eq(commit_flush(&commit, io_clock_monotonic_ns(&io)), STROM_OK);
    cr_assert_eq(commit_close(&commit), STROM_OK);
    cr_assert_eq(node_shm_create(&shm, &io, &cfg), STROM_OK);
    cr_assert_eq(commit_open(&commit, &io, &cfg, &shm, 0), STROM_OK);
    cr_assert_eq(sequencer_open(&seq, &io, &cfg, &shm), STROM_OK);
    cr_assert_eq(sequencer_rebuild(&seq), STROM_OK);
    sequencer_recover(&seq);
    cr_assert_eq(gateway_open(&gw, &io, &cfg, &shm, 0), STROM_OK);
}

Test(inproc, a_restarted_node_keeps_streams_offsets_windows_and_timestamps) {
    int fd = connect_client();
    hello(fd);
    for (uint64_t k = 0; k < 4; k++) {
        append(fd, k, "/w", 3, true, 9, k);
        expect_append_answer(fd, k);
    }
    append(fd, 10, "/v", 1, true, 0, 0);
    struct proto_append_answer last = expect_append_answer(fd, 10);
    uint64_t ts_w = registry_stream(&shm.registry, 1)->last_timestamp_ns;
    restart_node();
    uint64_t id = 0;
    cr_assert(registry_find(&shm.registry, "/w", 2, &id));
    cr_assert_eq(id, 1);
    cr_assert(registry_find(&shm.registry, "/v", 2, &id));
    cr_assert_eq(id, 2);
    cr_assert_eq(registry_stream(&shm.registry, 1)->next_offset, 12);
    cr_assert_eq(registry_stream(&shm.registry, 1)->last_timestamp_ns, ts_w);
    cr_assert_eq(registry_stream(&shm.registry, 2)->last_timestamp_ns, last.ts_ns);
    fd = connect_client();
    hello(fd);
    append(fd, 20, "/w", 3, true, 9, 3); /* a retry of the last batch */
    struct proto_append_answer a = expect_append_answer(fd, 20);
    cr_assert_eq(a.error, 0);
    cr_assert_eq(a.base_offset, 9, "answered from the window rebuilt from the store");
    append(fd, 21, "/w", 3, true, 9, 4);
    cr_assert_eq(expect_append_answer(fd, 21).base_offset, 12);
    append(fd, 22, "/new", 1, true, 0, 0);
    cr_assert_eq(expect_append_answer(fd, 22).stream_id, 3, "ids go on after the last one");
}

/* Reads /m from 0 without follow and checks that it holds batches of 2 messages up to next. */
static void read_all_m(int fd, uint64_t id, uint64_t next) {
    struct proto_read q = {.path = "/m",
                           .path_len = 2,
                           .to = UINT64_MAX,
                           .ack = 1,
                           .sync = true,
                           .credit_bytes = 1 << 20};
    send_frame(fd, PROTO_READ, id, &q);
    struct proto_frame f;
    for (uint64_t off = 0; off < next; off += 2) {
        cr_assert(recv_frame(fd, &f));
        cr_assert_eq(f.header.type, PROTO_DELIVER);
        cr_assert_eq(f.body.deliver.base_offset, off);
        cr_assert_eq(f.body.deliver.count, 2);
    }
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_READ_END);
    cr_assert_eq(f.body.read_end.next_offset, next);
}

/* fsync never: the commit writes with O_DIRECT while no read is open on its streams, through the
 * page cache while one is and for a while after (the gateway's file_readers); the batches written
 * either way read back, from the file while the node runs and after a restart. */
Test(inproc, the_commit_writes_direct_while_nobody_reads, .init = NULL) {
    commit_held = false;
    fsync_policy = NODE_FSYNC_NEVER;
    start(8, 16);
    int fd = connect_client();
    hello(fd);
    for (uint64_t k = 0; k < 3; k++) {
        append(fd, k, "/m", 2, false, 0, 0);
        expect_append_answer(fd, k);
    }
    pump(3);
    cr_assert(store_direct_writes(commit.store));
    cr_assert_eq(shm.header->commits_c[0].direct_writes, 1);
    struct proto_read q = {.path = "/m",
                           .path_len = 2,
                           .from = 6,
                           .to = UINT64_MAX,
                           .follow = true,
                           .ack = 1,
                           .credit_bytes = 1 << 20};
    send_frame(fd, PROTO_READ, 10, &q);
    pump(2);
    cr_assert_eq(shm.header->gateways_c[0].file_readers, 1);
    cr_assert(!store_direct_writes(commit.store), "a read is open: the page cache");
    cr_assert_eq(shm.header->commits_c[0].direct_writes, 0);
    for (uint64_t k = 3; k < 5; k++) {
        append(fd, k, "/m", 2, false, 0, 0);
    }
    int delivered = 0, answered = 0;
    for (int i = 0; i < 4; i++) {
        struct proto_frame f;
        cr_assert(recv_frame(fd, &f));
        answered += f.header.type == PROTO_APPEND_ANSWER;
        delivered += f.header.type == PROTO_DELIVER;
    }
    cr_assert_eq(answered, 2);
    cr_assert_eq(delivered, 2);
    send_frame(fd, PROTO_CANCEL, 10, NULL);
    struct proto_frame f;
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_READ_END);
    pump(2);
    cr_assert(!store_direct_writes(commit.store), "still read a moment ago");
    gw.file_read_until_ns[0] = 0; /* as if GW_FILE_READ_HOLD_NS had passed */
    pump(2);
    cr_assert_eq(shm.header->gateways_c[0].file_readers, 0);
    cr_assert(store_direct_writes(commit.store));
    cr_assert_eq(shm.header->commits_c[0].write_mode_switches, 2);
    for (uint64_t k = 5; k < 7; k++) {
        append(fd, k, "/m", 2, false, 0, 0);
        expect_append_answer(fd, k);
    }
    cr_assert_eq(commit_flush(&commit, io_clock_monotonic_ns(&io)), STROM_OK);
    read_all_m(fd, 11, 14); /* from the file, as the gateway's store reads it */
    restart_node();
    fd = connect_client();
    hello(fd);
    read_all_m(fd, 12, 14);
}

/* Turns of the gateway and the sequencer only: nothing becomes durable. */
static void pump_without_commit(int rounds) {
    for (int i = 0; i < rounds; i++) {
        gateway_turn(&gw, 0);
        sequencer_turn(&seq, io_clock_realtime_ns(&io));
        gateway_turn(&gw, 0);
    }
}

/* A new connection that said hello and created stream /d (request 1, answered). */
static int connect_and_create_d(void) {
    int fd = connect_client();
    hello(fd);
    struct proto_create c = {.path = "/d", .path_len = 2};
    send_frame(fd, PROTO_CREATE, 1, &c);
    struct proto_frame f;
    cr_assert(recv_frame(fd, &f));
    return fd;
}

/* Sends request id: a sync read of /d that follows from offset 0. */
static void send_sync_follow_d(int fd, uint64_t id) {
    struct proto_read q = {.path = "/d",
                           .path_len = 2,
                           .from = 0,
                           .to = UINT64_MAX,
                           .follow = true,
                           .ack = 1,
                           .sync = true,
                           .credit_bytes = 1 << 20};
    send_frame(fd, PROTO_READ, id, &q);
}

Test(inproc, a_sync_reader_sees_nothing_before_it_is_durable) {
    int fd = connect_and_create_d();
    struct proto_frame f;
    send_sync_follow_d(fd, 2);
    pump(5);
    /* An ack-1 append: answered without the commit; the sync reader must wait for it. */
    static uint8_t buf[4096];
    uint8_t set[64];
    size_t sb = msgset_write_one(set, sizeof set, "x", 1);
    struct proto_append a = {.path = "/d",
                             .path_len = 2,
                             .ack = 1,
                             .sync = false,
                             .count = 1,
                             .messages = set,
                             .messages_len = (uint32_t)sb};
    size_t len = 0;
    cr_assert_eq(proto_frame_encode(buf, sizeof buf, PROTO_APPEND, 3, &a, &len), STROM_OK);
    struct io_iov iov = {buf, len};
    size_t sent = 0;
    cr_assert_eq(io_sock_send(&io, fd, &iov, 1, &sent), STROM_OK);
    uint32_t ready = 0;
    io_fd_wait(&io, fd, IO_POLL_IN, 0, &ready);
    for (int i = 0; i < 50; i++) {
        pump_without_commit(1);
    }
    size_t got = 0;
    uint8_t in[4096];
    strom_err err = STROM_ERR_AGAIN;
    for (int i = 0; i < 100 && got < 48; i++) {
        size_t g = 0;
        err = io_sock_recv(&io, fd, in + got, sizeof in - got, &g);
        got += g;
        pump_without_commit(1);
    }
    cr_assert_eq(got, 48, "exactly the append answer (48 bytes), no deliver");
    struct proto_header h;
    cr_assert_eq(proto_header_read(in, got, 1 << 20, &h), STROM_OK);
    cr_assert_eq(h.type, PROTO_APPEND_ANSWER);
    (void)err;
    pump(5); /* the commit runs: now the deliver comes */
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_DELIVER);
    cr_assert_eq(f.body.deliver.base_offset, 0);
}

/* A gateway process that starts while batches are published but not yet durable: a sync read that
 * follows from the durable watermark gets them once the commit syncs them. Its sync cursor starts
 * at the oldest node log entry not yet durable, not at the tail (strom-sim seed 1244: a sync
 * subscriber waited for ever for batches published before its gateway started again). */
Test(inproc, a_restarted_gateway_gives_sync_readers_what_was_published_before_it) {
    int fd = connect_and_create_d();
    struct proto_frame f;
    pump(5);
    commit_held = true;
    append(fd, 2, "/d", 3, false, 0, 0);
    cr_assert_eq(expect_append_answer(fd, 2).base_offset, 0, "answered at ack 1");
    cr_assert_eq(registry_stream(&shm.registry, 1)->durable_next, 0);
    cr_assert_eq(gateway_open(&gw, &io, &cfg, &shm, 0), STROM_OK); /* the gateway starts again */
    fd = connect_client();
    hello(fd);
    send_sync_follow_d(fd, 3);
    pump(5); /* at the watermark: the read follows the sync cursor */
    commit_held = false;
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_DELIVER);
    cr_assert_eq(f.body.deliver.base_offset, 0);
    cr_assert_eq(f.body.deliver.count, 3);
}

/* The durable offset of stream 1 (/d) the commit published. */
static uint64_t durable_next_d(void) {
    return __atomic_load_n(&registry_stream(&shm.registry, 1)->durable_next, __ATOMIC_ACQUIRE);
}

/* Whether the commit's event was signalled (and drains it). */
static bool commit_event_signalled(void) {
    uint32_t ready = 0;
    io_fd_wait(&io, shm.commit_events[0], IO_POLL_IN, 0, &ready);
    if (ready & IO_POLL_IN) {
        io_event_drain(&io, shm.commit_events[0]);
    }
    return (ready & IO_POLL_IN) != 0;
}

/* fsync always, ack 1 and nobody waiting for a durable position: the commit syncs the group
 * COMMIT_LAZY_SYNC_NS after its first batch (the commit's clock is held still here), not at once;
 * a sync append and a /sys/cmd record (the create) are synced at once. */
Test(inproc, ack_1_batches_nobody_waits_for_are_synced_lazily) {
    int fd = connect_and_create_d();
    pump(3);
    commit_now_ns = io_clock_monotonic_ns(&io);
    append(fd, 2, "/d", 3, false, 0, 0);
    cr_assert_eq(expect_append_answer(fd, 2).base_offset, 0, "answered at ack 1");
    pump(5);
    cr_assert_eq(durable_next_d(), 0, "a lazy group waits for its bound");
    cr_assert_eq(shm.header->commits_c[0].lazy_syncs, 0);
    commit_now_ns += COMMIT_LAZY_SYNC_NS - 1;
    pump(3);
    cr_assert_eq(durable_next_d(), 0);
    commit_now_ns += 1;
    pump(3);
    cr_assert_eq(durable_next_d(), 3, "synced at the bound");
    cr_assert_eq(shm.header->commits_c[0].lazy_syncs, 1);
    append(fd, 3, "/d", 2, false, 0, 0);
    expect_append_answer(fd, 3);
    pump(3);
    cr_assert_eq(durable_next_d(), 3);
    append(fd, 4, "/d", 1, true, 0, 0); /* a sync append: its group is synced at once */
    cr_assert_eq(expect_append_answer(fd, 4).base_offset, 5);
    cr_assert_eq(durable_next_d(), 6);
    cr_assert_eq(shm.header->commits_c[0].lazy_syncs, 1, "the clock stood still");
}

/* A sync subscriber makes the gateway want durable positions (durable_wanted): it wakes a commit
 * that sleeps lazily, and the commit syncs ack-1 batches at once while it is there. */
Test(inproc, a_sync_subscriber_makes_the_commit_sync_at_once) {
    int fd = connect_and_create_d();
    pump(3);
    commit_now_ns = io_clock_monotonic_ns(&io);
    cr_assert_eq(shm.header->gateways_c[0].durable_wanted, 0);
    __atomic_store_n(&shm.header->commits_c[0].lazy, 1, __ATOMIC_SEQ_CST); /* as it sleeps */
    (void)commit_event_signalled();
    send_sync_follow_d(fd, 2);
    commit_held = true;
    pump(2);
    cr_assert_eq(shm.header->gateways_c[0].durable_wanted, 1);
    cr_assert(commit_event_signalled(), "the gateway woke the commit");
    cr_assert_eq(shm.header->commits_c[0].lazy, 1, "the commit alone clears its flag");
    __atomic_store_n(&shm.header->commits_c[0].lazy, 0, __ATOMIC_SEQ_CST); /* as it wakes */
    commit_held = false;
    append(fd, 3, "/d", 2, false, 0, 0);
    pump(3);
    cr_assert_eq(durable_next_d(), 2, "synced without waiting for the lazy bound");
    int delivered = 0;
    for (int i = 0; i < 2; i++) {
        struct proto_frame f;
        cr_assert(recv_frame(fd, &f));
        delivered += f.header.type == PROTO_DELIVER;
    }
    cr_assert_eq(delivered, 1);
    cr_assert_eq(shm.header->commits_c[0].lazy_syncs, 0);
}

/* The sequencer wakes a lazily sleeping commit when it publishes a sync batch, and only then. */
Test(inproc, a_sync_batch_wakes_a_lazy_commit) {
    int fd = connect_and_create_d();
    pump(3);
    (void)commit_event_signalled();
    commit_held = true;
    __atomic_store_n(&shm.header->commits_c[0].lazy, 1, __ATOMIC_SEQ_CST);
    append(fd, 2, "/d", 1, false, 0, 0);
    expect_append_answer(fd, 2);
    cr_assert_eq(shm.header->commits_c[0].lazy, 1, "an ack-1 batch leaves it asleep");
    cr_assert(!commit_event_signalled());
    append(fd, 3, "/d", 1, true, 0, 0);
    pump(2);
    cr_assert(commit_event_signalled(), "a sync batch wakes it");
    cr_assert_eq(shm.header->commits_c[0].lazy, 1, "the sequencer only reads the flag");
    append(fd, 4, "/d", 1, true, 0, 0);
    pump(2);
    cr_assert(commit_event_signalled(), "a second sync batch before the commit woke signals too");
    __atomic_store_n(&shm.header->commits_c[0].lazy, 0, __ATOMIC_SEQ_CST); /* as it wakes */
    append(fd, 5, "/d", 1, true, 0, 0);
    pump(2);
    cr_assert(!commit_event_signalled(), "an awake commit is not signalled");
    commit_held = false;
    cr_assert_eq(expect_append_answer(fd, 3).base_offset, 1);
}

/* --- the wait for an ack-1 answer by polling (gw_spin) --------------------------------------- */

static struct io_vtable spin_vt; /* the Linux io with the clock below */
static const struct io_vtable *linux_vt;
static bool spin_sequencer_armed; /* the next clock read runs a sequencer turn (once) */

/* The gateway's clock, read while it polls: runs the sequencer there once when armed, as a
 * sequencer on the other core would answer while the gateway polls. */
static uint64_t spin_clock(struct io *x) {
    if (spin_sequencer_armed) {
        spin_sequencer_armed = false;
        sequencer_turn(&seq, io_clock_realtime_ns(x));
    }
    return linux_vt->clock_monotonic_ns(x);
}

/* A connection that said hello and created /d, then the io above for every role. */
static int spin_setup(void) {
    int fd = connect_and_create_d();
    pump(5);
    linux_vt = io.vt;
    spin_vt = *io.vt;
    spin_vt.clock_monotonic_ns = spin_clock;
    spin_sequencer_armed = false;
    io.vt = &spin_vt;
    return fd;
}

/* Sends an ack-1 append of one message to /d; the gateway posts it and the sequencer has not run.
 */
static void post_ack_1(int fd, uint64_t id) {
    send_unpumped = true;
    append(fd, id, "/d", 1, false, 0, 0);
    send_unpumped = false;
    gateway_turn(&gw, 0);
    cr_assert_eq(gw.pending.len, 1, "the request waits for the sequencer");
}

Test(inproc, the_gateway_polls_for_an_ack_1_answer_before_it_sleeps) {
    int fd = spin_setup();
    post_ack_1(fd, 2);
    spin_sequencer_armed = true; /* the sequencer answers while the gateway polls */
    cr_assert_eq(gateway_next_timeout(&gw), 0, "the answer came: no sleep");
    cr_assert(!spin_sequencer_armed);
    cr_assert_eq(gw.counters->spins, 1);
    cr_assert_eq(gw.counters->spin_hits, 1);
    gateway_turn(&gw, 0); /* reads the node log, sends the answer */
    cr_assert_eq(gw.pending.len, 0);
    struct proto_append_answer a = expect_append_answer(fd, 2);
    cr_assert_eq(a.error, 0);
    cr_assert_eq(a.count, 1);
    /* strom stat counts them. */
    send_frame(fd, PROTO_STAT, 3, NULL);
    struct proto_frame f;
    cr_assert(recv_frame(fd, &f));
    cr_assert_eq(f.header.type, PROTO_STAT_ANSWER);
    const char *t = f.body.stat_answer.text;
    size_t n = f.body.stat_answer.text_len;
    cr_assert(memmem(t, n, " spins:1 ", 9) != NULL, "%.*s", (int)n, t);
    cr_assert(memmem(t, n, "spin_hits:1", 11) != NULL);
    io.vt = linux_vt;
}

/* A poll that sees nothing makes the next sleeps skip polling, 1, 3, 7 ... of them. */
Test(inproc, a_poll_that_sees_no_answer_makes_the_next_ones_skip) {
    int fd = spin_setup();
    uint64_t spins_seen[5];
    for (uint64_t i = 0; i < 5; i++) {
        post_ack_1(fd, 2 + i);
        cr_assert_gt(gateway_next_timeout(&gw), 0, "no answer: the gateway sleeps");
        spins_seen[i] = gw.counters->spins;
        pump(1);
        cr_assert_eq(expect_append_answer(fd, 2 + i).error, 0);
    }
    /* Misses at the 1st and 2nd sleeps, then 1 skipped, a miss, then 3 skipped. */
    cr_assert_eq(spins_seen[0], 1);
    cr_assert_eq(spins_seen[1], 2);
    cr_assert_eq(spins_seen[2], 2);
    cr_assert_eq(spins_seen[3], 3);
    cr_assert_eq(spins_seen[4], 3);
    cr_assert_eq(gw.counters->spin_hits, 0);
    io.vt = linux_vt;
}

/* No polling for a sync append: its answer waits for a disk anyway. */
Test(inproc, no_polling_for_a_sync_append) {
    int fd = spin_setup();
    send_unpumped = true;
    append(fd, 3, "/d", 1, true, 0, 0);
    send_unpumped = false;
    gateway_turn(&gw, 0);
    cr_assert_eq(gw.pending.len, 1);
    spin_sequencer_armed = true;
    (void)gateway_next_timeout(&gw);
    cr_assert(spin_sequencer_armed, "no polling for a sync append");
    cr_assert_eq(gw.counters->spins, 0);
    spin_sequencer_armed = false;
    pump(2);
    cr_assert_eq(expect_append_answer(fd, 3).error, 0);
    io.vt = linux_vt;
}
