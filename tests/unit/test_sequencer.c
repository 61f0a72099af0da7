/* test_sequencer.c: the sequencer over real rings in one process: offsets, timestamps,
 * auto-create and /sys/cmd, idempotence windows, errors, restarts, a full node log. */
#include <criterion/criterion.h>
#include <string.h>

#include "io/io.h"
#include "node/msgset.h"
#include "node/nodelog.h"
#include "node/sequencer.h"
#include "node/shm.h"
#include "ring/ring.h"

static struct io io;
static struct node_config cfg;
static struct node_shm shm;
static struct sequencer seq;
static struct ring_writer gw[2];  /* the gateways' side of the request rings */
static struct ring_reader commit; /* commit 0's side of the node log */
static uint64_t now = 1000000;

static void setup_with(uint32_t gateways, uint64_t log_bytes, bool auto_create) {
    io_linux_init(&io);
    node_config_defaults(&cfg);
    cfg.gateways = gateways;
    cfg.streams_max = 1024;
    cfg.paths_bytes = 65536;
    cfg.producers_max = 256;
    cfg.frame_bytes_max = 4096;
    cfg.log_bytes = log_bytes;
    cfg.request_bytes = 1 << 20;
    cfg.auto_create = auto_create;
    char msg[256];
    cr_assert_eq(node_config_check(&cfg, msg, sizeof msg), STROM_OK, "%s", msg);
    cr_assert_eq(node_shm_create(&shm, &io, &cfg), STROM_OK);
    for (uint32_t g = 0; g < gateways; g++) {
        cr_assert_eq(ring_writer_open(&gw[g], shm.request_regions[g], shm.request_bytes, &io),
                     STROM_OK);
    }
    cr_assert_eq(
        ring_reader_open(&commit, shm.log_region, shm.log_bytes, &io, NODE_LOG_SLOT_COMMIT(0)),
        STROM_OK);
    cr_assert_eq(sequencer_open(&seq, &io, &cfg, &shm), STROM_OK);
    sequencer_recover(&seq);
}

static void setup(void) {
    setup_with(1, 1 << 20, true);
}

/* Sends an append of count one-byte messages from gateway g; returns its request id. */
static uint64_t append(uint32_t g, const char *path, uint64_t stream_id, uint32_t count,
                       uint64_t producer, uint64_t sequence) {
    static uint8_t set[4096];
    size_t bytes = 0;
    for (uint32_t i = 0; i < count; i++) {
        char c = (char)('a' + i % 26);
        bytes += msgset_write_one(set + bytes, sizeof set - bytes, &c, 1);
    }
    struct node_request req = {.stream_id = stream_id,
                               .producer_id = producer,
                               .sequence = sequence,
                               .span = 1,
                               .count = count,
                               .messages_bytes = (uint32_t)bytes,
                               .path_len = path ? (uint16_t)strlen(path) : 0,
                               .ack = 1};
    uint64_t id = 0;
    cr_assert_eq(nodelog_request_write(&gw[g], NODE_ENTRY_APPEND, &req, path, set, &id), STROM_OK);
    return id;
}

static uint64_t create(uint32_t g, const char *path) {
    struct node_request req = {.path_len = (uint16_t)strlen(path), .ack = 1};
    uint64_t id = 0;
    cr_assert_eq(nodelog_request_write(&gw[g], NODE_ENTRY_CREATE, &req, path, NULL, &id), STROM_OK);
    return id;
}

/* The next node log entry, as commit 0 sees it. */
static const struct node_batch *next_entry(uint16_t *type) {
    struct ring_entry e;
    cr_assert_eq(ring_read(&commit, &e), STROM_OK, "an entry in the node log");
    *type = e.type;
    const struct node_batch *b = (const void *)e.body;
    cr_assert_eq(e.body_bytes, sizeof *b + b->messages_bytes);
    return b;
}

static void no_more_entries(void) {
    struct ring_entry e;
    cr_assert_eq(ring_read(&commit, &e), STROM_ERR_AGAIN, "no further node log entry");
}

static uint32_t turn(void) {
    now += 1000;
    return sequencer_turn(&seq, now);
}

TestSuite(sequencer, .init = setup);

Test(sequencer, first_append_creates_the_stream_through_sys_cmd) {
    uint64_t r1 = append(0, "/a/b", 0, 3, 0, 0);
    uint64_t r2 = append(0, "/a/b", 0, 2, 0, 0);
    cr_assert_eq(turn(), 2);
    uint16_t type;
    const struct node_batch *b = next_entry(&type);
    cr_assert_eq(type, NODE_ENTRY_BATCH);
    cr_assert_eq(b->stream_id, 0, "the /sys/cmd record comes first");
    cr_assert_eq(b->gateway, NODE_GATEWAY_NONE);
    struct msgset_iter it;
    struct msgset_msg m;
    msgset_iter_init(&it, (const uint8_t *)(b + 1), b->messages_bytes, b->count);
    cr_assert_eq(msgset_next(&it, &m), STROM_OK);
    cr_assert(m.payload_len > 20 && memcmp(m.payload, "strom.stream_created", 20) == 0);
    cr_assert(memmem(m.payload, m.payload_len, "path:/a/b", 9) != NULL);

    b = next_entry(&type);
    cr_assert_eq(type, NODE_ENTRY_BATCH);
    cr_assert_eq(b->stream_id, 1);
    cr_assert_eq(b->base_offset, 0);
    cr_assert_eq(b->count, 3);
    cr_assert_eq(b->gateway, 0);
    cr_assert_eq(b->request_id, r1);
    b = next_entry(&type);
    cr_assert_eq(b->base_offset, 3, "dense offsets");
    cr_assert_eq(b->count, 2);
    cr_assert_eq(b->request_id, r2);
    no_more_entries();
    uint64_t id;
    cr_assert(registry_find(&shm.registry, "/a/b", 4, &id));
    cr_assert_eq(id, 1);
    cr_assert_eq(registry_stream(&shm.registry, 1)->next_offset, 5);
    cr_assert_eq(registry_stream(&shm.registry, 0)->next_offset, 1);
    cr_assert_eq(shm.header->sequencer.published_request[0], r2 + 1);
}

Test(sequencer, timestamps_never_decrease_within_a_stream) {
    append(0, "/t", 0, 1, 0, 0);
    sequencer_turn(&seq, 5000000);
    append(0, "/t", 0, 1, 0, 0);
    sequencer_turn(&seq, 4000000); /* the clock went back */
    append(0, "/t", 0, 1, 0, 0);
    sequencer_turn(&seq, 6000000);
    uint16_t type;
    next_entry(&type); /* the record */
    cr_assert_eq(next_entry(&type)->timestamp_ns, 5000000);
    cr_assert_eq(next_entry(&type)->timestamp_ns, 5000000);
    cr_assert_eq(next_entry(&type)->timestamp_ns, 6000000);
}

Test(sequencer, idempotent_retries_gaps_and_old_sequences) {
    for (uint64_t k = 0; k < 8; k++) {
        append(0, "/p", 0, 2, 77, k);
    }
    cr_assert_eq(turn(), 8);
    uint16_t type;
    next_entry(&type);
    for (uint64_t k = 0; k < 8; k++) {
        cr_assert_eq(next_entry(&type)->base_offset, 2 * k);
    }
    uint64_t r = append(0, "/p", 0, 2, 77, 6); /* a retry inside the window (5: 3..7) */
    append(0, "/p", 0, 2, 77, 9);              /* a gap */
    append(0, "/p", 0, 2, 77, 2);              /* older than the window */
    append(0, "/p", 0, 2, 77, 8);              /* the next one */
    append(0, "/p", 0, 2, 88, 50);             /* another producer starts anywhere */
    cr_assert_eq(turn(), 5);
    const struct node_batch *b = next_entry(&type);
    cr_assert_eq(type, NODE_ENTRY_ANSWER);
    cr_assert_eq(b->error, STROM_OK);
    cr_assert(b->flags & NODE_FLAG_DUPLICATE);
    cr_assert_eq(b->base_offset, 12);
    cr_assert_eq(b->count, 2);
    cr_assert_eq(b->request_id, r);
    b = next_entry(&type);
    cr_assert_eq(type, NODE_ENTRY_ANSWER);
    cr_assert_eq(b->error, STROM_ERR_OUT_OF_ORDER_SEQUENCE);
    b = next_entry(&type);
    cr_assert_eq(type, NODE_ENTRY_ANSWER);
    cr_assert_eq(b->error, STROM_ERR_SEQUENCE_TOO_OLD);
    b = next_entry(&type);
    cr_assert_eq(type, NODE_ENTRY_BATCH);
    cr_assert_eq(b->base_offset, 16, "the retry and the errors used no offsets");
    b = next_entry(&type);
    cr_assert_eq(type, NODE_ENTRY_BATCH);
    cr_assert_eq(b->base_offset, 18);
    cr_assert_eq(shm.header->sequencer.duplicates, 1);
}

Test(sequencer, stream_ids_sys_paths_and_unknown_streams) {
    append(0, "/x", 0, 1, 0, 0);
    append(0, NULL, 1, 1, 0, 0);  /* /x by its id */
    append(0, NULL, 0, 1, 0, 0);  /* /sys/cmd by id */
    append(0, NULL, 99, 1, 0, 0); /* no such id */
    append(0, "/sys/cmd", 0, 1, 0, 0);
    append(0, "/sys/other", 0, 1, 0, 0);
    append(0, "/bad//path", 0, 1, 0, 0);
    cr_assert_eq(turn(), 7);
    uint16_t type;
    next_entry(&type);
    cr_assert_eq(next_entry(&type)->base_offset, 0);
    const struct node_batch *b = next_entry(&type);
    cr_assert_eq(type, NODE_ENTRY_BATCH);
    cr_assert_eq(b->stream_id, 1);
    cr_assert_eq(b->base_offset, 1);
    cr_assert_eq(next_entry(&type)->error, STROM_ERR_UNSUPPORTED);
    cr_assert_eq(next_entry(&type)->error, STROM_ERR_NO_STREAM);
    cr_assert_eq(next_entry(&type)->error, STROM_ERR_UNSUPPORTED);
    cr_assert_eq(next_entry(&type)->error, STROM_ERR_INVALID_PATH);
    cr_assert_eq(next_entry(&type)->error, STROM_ERR_INVALID_PATH);
    no_more_entries();
    cr_assert_eq(registry_count(&shm.registry), 2);
}

Test(sequencer, explicit_create, .init = NULL) {
    setup_with(1, 1 << 20, false);
    append(0, "/c", 0, 1, 0, 0);
    create(0, "/c");
    create(0, "/c");
    append(0, "/c", 0, 1, 0, 0);
    cr_assert_eq(turn(), 4);
    uint16_t type;
    cr_assert_eq(next_entry(&type)->error, STROM_ERR_NO_STREAM, "auto-create is off");
    const struct node_batch *b = next_entry(&type);
    cr_assert_eq(b->stream_id, 0, "the /sys/cmd record");
    b = next_entry(&type);
    cr_assert_eq(type, NODE_ENTRY_ANSWER);
    cr_assert_eq(b->stream_id, 1);
    cr_assert(b->flags & NODE_FLAG_CREATED);
    b = next_entry(&type);
    cr_assert_eq(b->stream_id, 1);
    cr_assert(!(b->flags & NODE_FLAG_CREATED), "it existed already");
    b = next_entry(&type);
    cr_assert_eq(type, NODE_ENTRY_BATCH);
    cr_assert_eq(b->stream_id, 1);
    cr_assert_eq(b->base_offset, 0);
}

Test(sequencer, a_restarted_sequencer_skips_requests_it_published) {
    for (int i = 0; i < 10; i++) {
        append(0, "/r", 0, 1, 0, 0);
    }
    cr_assert_eq(turn(), 10);
    uint64_t tail = ring_tail(&seq.log.ring);
    /* The sequencer died after publishing and before committing its request ring position:
     * put the slot back to where it was, then start a new sequencer. */
    struct ring_reader *rr = &seq.requests[0];
    __atomic_store_n(&rr->ring.slots[NODE_REQUEST_SLOT_SEQUENCER].position, 0, __ATOMIC_SEQ_CST);
    cr_assert_eq(sequencer_open(&seq, &io, &cfg, &shm), STROM_OK);
    sequencer_recover(&seq);
    cr_assert_eq(turn(), 10, "the ten requests are read again");
    cr_assert_eq(ring_tail(&seq.log.ring), tail, "and nothing is published again");
    cr_assert_eq(shm.header->sequencer.skipped_requests, 10);
    append(0, "/r", 0, 1, 0, 0);
    cr_assert_eq(turn(), 1);
    uint16_t type;
    const struct node_batch *b = NULL;
    for (int i = 0; i < 12; i++) {
        b = next_entry(&type);
    }
    cr_assert_eq(b->base_offset, 10, "the next offset follows without a gap or a repeat");
}

Test(sequencer, a_restarted_sequencer_applies_the_last_entry_again) {
    append(0, "/l", 0, 4, 5, 0);
    cr_assert_eq(turn(), 1);
    /* The sequencer died after publishing the batch and before updating the stream and the
     * window: undo those updates by hand, then restart. */
    struct node_stream *st = registry_stream(&shm.registry, 1);
    st->next_offset = 0;
    shm.header->sequencer.published_request[0] = 0;
    cr_assert_eq(sequencer_open(&seq, &io, &cfg, &shm), STROM_OK);
    sequencer_recover(&seq);
    cr_assert_eq(st->next_offset, 4);
    cr_assert_eq(shm.header->sequencer.published_request[0], 1);
    append(0, "/l", 0, 4, 5, 0); /* the producer retries */
    cr_assert_eq(turn(), 1);
    uint16_t type;
    next_entry(&type);
    next_entry(&type);
    const struct node_batch *b = next_entry(&type);
    cr_assert_eq(type, NODE_ENTRY_ANSWER);
    cr_assert(b->flags & NODE_FLAG_DUPLICATE, "the window survived the restart");
    cr_assert_eq(b->base_offset, 0);
}

Test(sequencer, a_full_node_log_holds_requests_back_without_losing_one, .init = NULL) {
    setup_with(2, 64 * 1024, true); /* room for a few dozen entries */
    for (int i = 0; i < 300; i++) {
        append((uint32_t)(i % 2), i % 2 ? "/odd" : "/even", 0, 100, 0, 0);
    }
    uint64_t next[3] = {0, 0, 0};
    int batches = 0, full_turns = 0;
    for (int round = 0; round < 10000 && batches < 300; round++) {
        turn();
        full_turns += seq.log_full ? 1 : 0;
        struct ring_entry e;
        while (ring_read(&commit, &e) == STROM_OK) {
            const struct node_batch *b = (const void *)e.body;
            cr_assert_eq(b->base_offset, next[b->stream_id], "stream %lu dense",
                         (unsigned long)b->stream_id);
            next[b->stream_id] += b->count;
            batches += b->stream_id != 0;
        }
        cr_assert_eq(ring_reader_commit(&commit), STROM_OK);
    }
    cr_assert_eq(batches, 300);
    cr_assert_gt(full_turns, 0, "the log did fill up");
    cr_assert_eq(next[1] + next[2], 30000);
}
