/*
 * gateway_read.c: reads and subscriptions in a gateway.
 *
 * A read delivers whole batches of one stream in offset order without gaps, never beyond the
 * watermark of its level: the stream's next offset for ack 1 (what the sequencer published),
 * its durable_next for sync (what its commit synced). It is in one of two modes:
 *   - catch-up: batches come from the stream's commit's store, opened read-only, one per turn and
 *     read, while the read has credit and output room; once it reaches the watermark it ends
 *     (without follow) or goes live;
 *   - live: it is on its stream's list and gets each batch as the gateway's cursor passes it in
 *     the node log: the head cursor for ack 1, the sync cursor (which waits for each commit's
 *     durable position) for sync.
 * A live read that misses a batch (no credit, no output room: a slow subscriber; or a lapped
 * cursor) goes back to catch-up, so it costs at most its output buffer and slows nobody. The
 * switch to live happens in the same turn as the watermark is read, and a cursor passes a batch
 * only after its offsets are below that watermark (the commit publishes durable_next before its
 * durable position), so no batch falls between the two modes. For that, a gateway's sync cursor
 * starts (and starts again after a lap) at the oldest node log entry that some commit has not
 * published durable, never at the tail: it passes every batch that was not durable yet.
 *
 * A batch a Kafka client produced (NODE_FLAG_KAFKA) holds a RecordBatch: it is delivered as a
 * native message set converted from its records (kconv.h), from the read's next offset on and in
 * pieces that fit the read's credit, so such a delivery may end inside the batch; the read then
 * takes the rest from the store.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "io/io.h"
#include "node/commit.h"
#include "node/gateway.h"
#include "node/kconv.h"
#include "proto/frame.h"
#include "store/store.h"
#ifdef STROM_SIM_PLANTS
#include "sim/plant.h"
#endif

#define READ_NONE UINT32_MAX

void gw_reads_init(struct gateway *gw) {
    uint32_t cap = gw->config->gateway_reads_max;
    gw->reads_cap = cap;
    gw->reads = calloc(cap, sizeof *gw->reads);
    gw->cursors = calloc(GW_CURSORS + 1, sizeof *gw->cursors);
    gw->scratch_cursor = gw->cursors ? &gw->cursors[GW_CURSORS] : NULL;
    gw->catchup = calloc(cap, sizeof *gw->catchup);
    gw->live_slots = 2;
    while (gw->live_slots < 2ull * cap) {
        gw->live_slots *= 2;
    }
    gw->live_keys = calloc(gw->live_slots, sizeof *gw->live_keys);
    gw->live_heads = calloc(gw->live_slots, sizeof *gw->live_heads);
    if (!gw->reads || !gw->cursors || !gw->catchup || !gw->live_keys || !gw->live_heads) {
        free(gw->reads);
        gw->reads = NULL;
        return;
    }
    for (uint32_t i = 0; i < cap; i++) {
        gw->reads[i].index = i;
        gw->reads[i].next_free = i + 1 < cap ? i + 1 : READ_NONE;
    }
    gw->read_free = 0;
    for (uint32_t i = 0; i < GW_CURSORS; i++) {
        gw->cursor_free[i] = GW_CURSORS - 1 - i;
    }
    gw->cursor_free_len = GW_CURSORS;
}

/* --- the live lists: stream id -> first live read (open addressing, linear probing) ---------- */

static uint32_t live_slot(const struct gateway *gw, uint64_t stream_id, bool *found) {
    uint32_t mask = gw->live_slots - 1;
    uint64_t z = (stream_id + 1) * 0x9e3779b97f4a7c15u;
    uint32_t i = (uint32_t)(z >> 40) & mask;
    for (uint32_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
        if (gw->live_keys[i] == 0 || gw->live_keys[i] == stream_id + 1) {
            *found = gw->live_keys[i] != 0;
            return i;
        }
    }
    strom_unreachable(); /* at most gateway_reads_max keys in twice as many slots */
}

static uint32_t live_home(const struct gateway *gw, uint64_t key) {
    return (uint32_t)((key * 0x9e3779b97f4a7c15u) >> 40) & (gw->live_slots - 1);
}

/* Removes slot i by backward-shift deletion. */
static void live_slot_delete(struct gateway *gw, uint32_t i) {
    uint32_t mask = gw->live_slots - 1;
    uint32_t hole = i;
    for (uint32_t j = (i + 1) & mask; gw->live_keys[j] != 0; j = (j + 1) & mask) {
        uint32_t home = live_home(gw, gw->live_keys[j]);
        bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!stays) {
            gw->live_keys[hole] = gw->live_keys[j];
            gw->live_heads[hole] = gw->live_heads[j];
            hole = j;
        }
    }
    gw->live_keys[hole] = 0;
}

static void read_cursor_give(struct gateway *gw, struct gw_read *r);

static void live_add(struct gateway *gw, struct gw_read *r) {
    read_cursor_give(gw, r); /* a live read needs no store cursor */
    bool found = false;
    uint32_t i = live_slot(gw, r->stream_id, &found);
    r->live_next = found ? gw->live_heads[i] : READ_NONE;
    gw->live_keys[i] = r->stream_id + 1;
    gw->live_heads[i] = r->index;
    r->mode = GW_READ_LIVE;
    gw->live_sync_reads += r->sync ? 1 : 0;
}

static void live_remove(struct gateway *gw, struct gw_read *r) {
    bool found = false;
    uint32_t i = live_slot(gw, r->stream_id, &found);
    strom_assert(found && r->mode == GW_READ_LIVE);
    uint32_t *link = &gw->live_heads[i];
    while (*link != r->index) {
        strom_assert(*link != READ_NONE);
        link = &gw->reads[*link].live_next;
    }
    *link = r->live_next;
    r->live_next = READ_NONE;
    strom_assert(!r->sync || gw->live_sync_reads > 0);
    gw->live_sync_reads -= r->sync ? 1 : 0;
    if (gw->live_heads[i] == READ_NONE) {
        live_slot_delete(gw, i);
    }
}

/* --- life of a read -------------------------------------------------------------------------- */

static void catchup_add(struct gateway *gw, struct gw_read *r) {
    r->mode = GW_READ_CATCHUP;
    r->retry_ns = 0;
    gw->catchup[gw->catchup_len++] = r->index;
}

/* Gives r's store cursor back to the pool. */
static void read_cursor_give(struct gateway *gw, struct gw_read *r) {
    if (r->cursor != READ_NONE) {
        strom_assert(gw->cursor_free_len < GW_CURSORS);
        gw->cursor_free[gw->cursor_free_len++] = r->cursor;
        r->cursor = READ_NONE;
    }
}

/* Frees r (no frame); the caller removed it from its list. */
static void read_free(struct gateway *gw, struct gw_read *r) {
    struct gw_conn *c = gw_conn_get(gw, r->conn, r->conn_generation);
    if (c != NULL) {
        strom_assert(c->reads > 0 && c->out_reserved >= GW_ANSWER_BYTES);
        c->reads--;
        c->out_reserved -= GW_ANSWER_BYTES;
        if (r->conn_prev != READ_NONE) {
            gw->reads[r->conn_prev].conn_next = r->conn_next;
        } else {
            c->read_head = r->conn_next;
        }
        if (r->conn_next != READ_NONE) {
            gw->reads[r->conn_next].conn_prev = r->conn_prev;
        }
    }
    read_cursor_give(gw, r);
    uint32_t k = node_commit_of(r->stream_id, gw->config->commits);
    strom_assert(gw->reads_of[k] > 0);
    gw->reads_of[k]--;
    r->mode = GW_READ_FREE;
    r->next_free = gw->read_free;
    gw->read_free = r->index;
}

/* Detaches r from its list (live) or marks it for removal from the catch-up list. */
static void read_detach(struct gateway *gw, struct gw_read *r) {
    if (r->mode == GW_READ_LIVE) {
        live_remove(gw, r);
    } else {
        for (uint32_t i = 0; i < gw->catchup_len; i++) {
            if (gw->catchup[i] == r->index) {
                gw->catchup[i] = gw->catchup[--gw->catchup_len];
                break;
            }
        }
    }
}

/* Ends r with a read_end frame (in the room reserved at its start). */
static void read_end(struct gateway *gw, struct gw_read *r, strom_err err) {
    struct gw_conn *c = gw_conn_get(gw, r->conn, r->conn_generation);
    if (c != NULL && c->state == GW_CONN_OPEN) {
        c->out_reserved -= GW_ANSWER_BYTES;
        struct proto_read_end e = {.error = (uint32_t)err, .next_offset = r->next};
        bool ok = gw_out_reserve(gw, c, GW_ANSWER_BYTES, true);
        strom_assert(ok);
        size_t len = 0;
        strom_err e2 = proto_frame_encode(c->out + c->out_len, c->out_cap - c->out_len,
                                          PROTO_READ_END, r->client_request, &e, &len);
        strom_assert(e2 == STROM_OK);
        gw_out_commit(gw, c, (uint32_t)len);
        c->out_reserved += GW_ANSWER_BYTES; /* read_free gives it back */
    }
    read_free(gw, r);
}

/* The watermark of r's level for its stream now. */
static uint64_t read_watermark(const struct gateway *gw, const struct gw_read *r) {
    const struct node_stream *st = registry_stream(&gw->registry, r->stream_id);
#ifdef STROM_SIM_PLANTS
    if (SIM_PLANT(DELIVER_PAST_MARK)) {
        /* planted bug: sync reads go up to the ack-1 watermark (sim/plant.h) */
        return __atomic_load_n(&st->next_offset, __ATOMIC_ACQUIRE);
    }
#endif
    return r->sync ? __atomic_load_n(&st->durable_next, __ATOMIC_ACQUIRE)
                   : __atomic_load_n(&st->next_offset, __ATOMIC_ACQUIRE);
}

strom_err gw_read_open(struct gateway *gw, struct gw_conn *c, uint64_t client_request,
                       uint64_t stream_id, uint64_t from, uint64_t to, bool follow, bool sync,
                       uint64_t credit_bytes) {
    if (gw->read_free == READ_NONE) {
        return STROM_ERR_LIMIT;
    }
    struct gw_read *r = &gw->reads[gw->read_free];
    gw->read_free = r->next_free;
    *r = (struct gw_read){.mode = GW_READ_CATCHUP,
                          .conn = c->index,
                          .conn_generation = c->generation,
                          .next_free = READ_NONE,
                          .live_next = READ_NONE,
                          .conn_next = c->read_head,
                          .conn_prev = READ_NONE,
                          .cursor = READ_NONE,
                          .index = r->index,
                          .client_request = client_request,
                          .stream_id = stream_id,
                          .to = to,
                          .credit = credit_bytes > INT64_MAX ? INT64_MAX : (int64_t)credit_bytes,
                          .follow = follow,
                          .sync = sync};
    uint64_t watermark = read_watermark(gw, r);
    const struct node_stream *st = registry_stream(&gw->registry, stream_id);
    uint64_t first = __atomic_load_n(&st->first_offset, __ATOMIC_ACQUIRE);
    r->next = from == UINT64_MAX ? watermark : (from < first ? first : from);
    if (!follow && r->to > watermark) {
        r->to = watermark; /* without follow: the end the stream has now */
    }
    if (c->read_head != READ_NONE) {
        gw->reads[c->read_head].conn_prev = r->index;
    }
    c->read_head = r->index;
    c->reads++;
    gw->reads_of[node_commit_of(stream_id, gw->config->commits)]++;
    c->out_reserved += GW_ANSWER_BYTES; /* for its read_end */
    catchup_add(gw, r);
    return STROM_OK;
}

static struct gw_read *read_find(struct gateway *gw, const struct gw_conn *c, uint64_t id) {
    for (uint32_t i = c->read_head; i != READ_NONE; i = gw->reads[i].conn_next) {
        if (gw->reads[i].client_request == id) {
            return &gw->reads[i];
        }
    }
    return NULL;
}

void gw_read_credit(struct gateway *gw, struct gw_conn *c, uint64_t client_request,
                    uint64_t bytes) {
    struct gw_read *r = read_find(gw, c, client_request);
    if (r != NULL) {
        uint64_t room = (uint64_t)(INT64_MAX - (r->credit > 0 ? r->credit : 0));
        r->credit += (int64_t)(bytes < room ? bytes : room);
        r->retry_ns = 0;
    }
}

void gw_read_cancel(struct gateway *gw, struct gw_conn *c, uint64_t client_request) {
    struct gw_read *r = read_find(gw, c, client_request);
    if (r != NULL) {
        read_detach(gw, r);
        read_end(gw, r, STROM_OK);
    }
}

void gw_reads_close_conn(struct gateway *gw, struct gw_conn *c) {
    while (c->read_head != READ_NONE) {
        struct gw_read *r = &gw->reads[c->read_head];
        read_detach(gw, r);
        read_free(gw, r);
    }
}

/* --- delivering --------------------------------------------------------------------------------
 */

/* The header and fixed fields of a deliver frame for b, with set_bytes of set, at p. */
static uint8_t *deliver_head(uint8_t *p, const struct gw_read *r, const struct node_batch *b,
                             uint32_t bytes, uint64_t base_offset, uint32_t count,
                             uint32_t set_bytes) {
    struct proto_header h = {
        .frame_bytes = bytes, .type = PROTO_DELIVER, .request_id = r->client_request};
    proto_header_write(p, &h);
    p += PROTO_HEADER_BYTES;
    memcpy(p, &b->stream_id, 8); /* little-endian hosts (nodelog.h) */
    memcpy(p + 8, &base_offset, 8);
    memcpy(p + 16, &count, 4);
    memcpy(p + 20, &b->timestamp_ns, 8);
    memcpy(p + 28, &set_bytes, 4);
    return p + 32;
}

/* A delivery written: its frame bytes, the offset after its last message, its set's bytes. */
struct deliver_out {
    uint32_t bytes; /* 0: no room now (nothing written) */
    uint64_t end;
    uint32_t set_bytes;
};

/* The deliver frame of a Kafka batch: its records from r->next on, as a native set no larger
 * than the read's credit (at least one record). */
static strom_err deliver_kafka(struct gateway *gw, struct gw_conn *c, const struct gw_read *r,
                               const struct node_batch *b, const uint8_t *msgs,
                               struct deliver_out *out) {
    struct kconv_kafka k;
    struct kconv_piece piece;
    uint64_t limit = gw->config->frame_bytes_max - PROTO_HEADER_BYTES - 64;
    uint64_t credit = r->credit > 0 ? (uint64_t)r->credit : 1;
    strom_err err = kconv_kafka_open(&k, msgs, b->messages_bytes, gw->kafka_scratch,
                                     gw->config->frame_bytes_max);
    if (!err) {
        err = kconv_kafka_measure(&k, r->next, credit < limit ? credit : limit, &piece);
    }
    if (!err && piece.set_bytes > limit) {
        err = STROM_ERR_TOO_LARGE; /* one record above the frame limit as a native message */
    }
    if (err) {
        return err == STROM_ERR_END ? STROM_ERR_CORRUPT : err; /* the batch holds r->next */
    }
    uint32_t bytes = (uint32_t)proto_deliver_frame_bytes(piece.set_bytes);
    *out =
        (struct deliver_out){.end = piece.first_offset + piece.count, .set_bytes = piece.set_bytes};
    if (gw_out_reserve(gw, c, bytes, false)) {
        uint8_t *p = deliver_head(c->out + c->out_len, r, b, bytes, piece.first_offset, piece.count,
                                  piece.set_bytes);
        if (!kconv_kafka_write(&k, &piece, p)) {
            return STROM_ERR_AGAIN; /* the ring entry changed under us: the store path retries */
        }
        out->bytes = bytes;
    }
    return STROM_OK;
}

/* Writes a deliver frame for batch b with its message set into c's output, uncommitted (out->bytes
 * 0 when there is no room now). Errors: a Kafka batch that cannot be converted (kconv.h). */
static strom_err deliver_write(struct gateway *gw, struct gw_conn *c, const struct gw_read *r,
                               const struct node_batch *b, const uint8_t *msgs,
                               struct deliver_out *out) {
    if (b->flags & NODE_FLAG_KAFKA) {
        return deliver_kafka(gw, c, r, b, msgs, out);
    }
    uint32_t bytes = (uint32_t)proto_deliver_frame_bytes(b->messages_bytes);
    *out = (struct deliver_out){.end = b->base_offset + b->count, .set_bytes = b->messages_bytes};
    if (gw_out_reserve(gw, c, bytes, false)) {
        uint8_t *p = deliver_head(c->out + c->out_len, r, b, bytes, b->base_offset, b->count,
                                  b->messages_bytes);
        memcpy(p, msgs, b->messages_bytes);
        out->bytes = bytes;
    }
    return STROM_OK;
}

/* After a delivered batch ending at end: moves r on; ends it at its `to`. true if it ended. */
static bool read_advance(struct gateway *gw, struct gw_read *r, uint64_t end, uint32_t set_bytes) {
    r->next = end;
    r->credit -= set_bytes;
    if (r->next >= r->to) {
        read_detach(gw, r);
        read_end(gw, r, STROM_OK);
        return true;
    }
    return false;
}

void gw_reads_live(struct gateway *gw, const struct ring_entry *e, bool sync_cursor) {
    struct node_batch b;
    memcpy(&b, e->body, sizeof b);
    bool found = false;
    uint32_t slot = live_slot(gw, b.stream_id, &found);
    uint32_t i = found ? gw->live_heads[slot] : READ_NONE;
    struct ring_reader *cursor = sync_cursor ? &gw->log_sync : &gw->log_head;
    while (i != READ_NONE) {
        struct gw_read *r = &gw->reads[i];
        i = r->live_next; /* r may leave the list below */
        uint64_t end = b.base_offset + b.count;
        if (r->sync != sync_cursor || end <= r->next) {
            continue;
        }
        struct gw_conn *c = gw_conn_get(gw, r->conn, r->conn_generation);
        strom_assert(c != NULL); /* reads close with their connection */
        struct deliver_out d = {0};
        strom_err err = b.base_offset <= r->next && r->credit > 0
                            ? deliver_write(gw, c, r, &b, e->body + sizeof b, &d)
                            : STROM_OK;
        if (err || d.bytes == 0 || ring_reader_check(cursor, e) != STROM_OK) {
            live_remove(gw, r); /* missed it (or cannot convert it): the store path decides */
            catchup_add(gw, r);
            continue;
        }
        gw_out_commit(gw, c, d.bytes);
        read_advance(gw, r, d.end, d.set_bytes);
    }
}

void gw_reads_lapped(struct gateway *gw, bool sync_cursor) {
    if (sync_cursor && gw->live_sync_reads == 0) {
        /* The usual case: the sync cursor, followed by nobody, fell a whole node log behind (the
         * commits release it as they sync). Not a look at every read slot (gateway_reads_max,
         * 262,144 by default) each time: that was 1-3% of the gateway's samples in tput.ack1. */
        return;
    }
    for (uint32_t i = 0; i < gw->reads_cap; i++) {
        struct gw_read *r = &gw->reads[i];
        if (r->mode == GW_READ_LIVE && r->sync == sync_cursor) {
            live_remove(gw, r);
            catchup_add(gw, r);
        }
    }
}

/* --- catch-up from the stores -------------------------------------------------------------------
 */

struct store *gw_store_of(struct gateway *gw, uint64_t stream_id) {
    uint32_t k = node_commit_of(stream_id, gw->config->commits);
    if (gw->stores[k] == NULL) {
        char dir[NODE_DIR_BYTES_MAX + 32];
        commit_dir(gw->config, k, dir, sizeof dir);
        struct store_options o;
        store_options_default(&o);
        o.read_only = true;
        o.create = false;
        o.batch_bytes_max = gw->config->frame_bytes_max + 4096;
        o.streams_max = gw->config->streams_max;
        if (store_open(gw->io, dir, &o, &gw->stores[k]) != STROM_OK) {
            gw->stores[k] = NULL;
        }
    }
    return gw->stores[k];
}

strom_err gw_store_refresh(struct gateway *gw, uint64_t stream_id, struct store *s) {
    strom_assert(s != NULL);
    uint32_t k = node_commit_of(stream_id, gw->config->commits);
    uint64_t durable =
        __atomic_load_n(&gw->shm->header->commits_c[k].file_durable_pos, __ATOMIC_ACQUIRE);
    gw->file_read_until_ns[k] = gw->now_ns + GW_FILE_READ_HOLD_NS;
    return durable == 0 ? STROM_ERR_END : store_refresh(s, durable);
}

void gw_file_readers_publish(struct gateway *gw) {
    uint32_t mask = 0;
    for (uint32_t k = 0; k < gw->config->commits; k++) {
        if (gw->reads_of[k] > 0) {
            gw->file_read_until_ns[k] = gw->now_ns + GW_FILE_READ_HOLD_NS;
        }
        mask |= gw->now_ns < gw->file_read_until_ns[k] ? 1u << k : 0;
    }
    _Static_assert(NODE_COMMITS_MAX <= 32, "a bit per commit");
    if (mask != __atomic_load_n(&gw->counters->file_readers, __ATOMIC_RELAXED)) {
        __atomic_store_n(&gw->counters->file_readers, mask, __ATOMIC_RELAXED);
    }
}

/* What one step of a catch-up read did. */
enum catchup_outcome {
    CATCHUP_DELIVERED = 0, /* a batch: it may go on at once */
    CATCHUP_WAITING = 1,   /* its data is not in the store yet: try again in a moment */
    CATCHUP_STOPPED = 2,   /* no credit or no output room (an event brings it back), or it left */
};

/* One step of a catch-up read. */
static enum catchup_outcome catchup_step(struct gateway *gw, struct gw_read *r) {
    uint64_t limit = read_watermark(gw, r);
    limit = limit < r->to ? limit : r->to;
    if (r->next >= r->to || (r->next >= limit && !r->follow)) {
        read_detach(gw, r);
        read_end(gw, r, STROM_OK);
        return CATCHUP_STOPPED;
    }
    if (r->next >= limit) {
        read_detach(gw, r);
        live_add(gw, r); /* caught up: from now on the node log brings its batches */
        return CATCHUP_STOPPED;
    }
    if (r->credit <= 0) {
        return CATCHUP_STOPPED;
    }
    if (gw->now_ns < r->retry_ns) {
        return CATCHUP_WAITING;
    }
    struct store *s = gw_store_of(gw, r->stream_id);
    if (r->cursor == READ_NONE && gw->cursor_free_len > 0) {
        r->cursor = gw->cursor_free[--gw->cursor_free_len];
        store_cursor_init(&gw->cursors[r->cursor], r->stream_id, r->next);
    }
    struct store_cursor *cur =
        r->cursor != READ_NONE ? &gw->cursors[r->cursor] : gw->scratch_cursor;
    if (cur->stream_id != r->stream_id || cur->offset != r->next) {
        store_cursor_init(cur, r->stream_id, r->next); /* a shared cursor, or moved */
    }
    struct store_batch sb;
    strom_err err = s == NULL ? STROM_ERR_END : gw_store_refresh(gw, r->stream_id, s);
    if (!err) {
        err = store_cursor_next(s, cur, &sb, gw->scratch, gw->config->frame_bytes_max + 4096);
    }
    const struct node_batch *b = (const struct node_batch *)(const void *)gw->scratch;
    if (!err &&
        (sb.payload_bytes < sizeof *b || sb.payload_bytes != sizeof *b + b->messages_bytes ||
         b->base_offset != sb.base_offset || b->count != sb.message_count)) {
        err = STROM_ERR_CORRUPT;
    }
    if (err == STROM_ERR_END || err == STROM_ERR_NO_STREAM || err == STROM_ERR_IO) {
        r->retry_ns = gw->now_ns + GW_CATCHUP_RETRY_NS; /* its commit has not written it yet */
        return CATCHUP_WAITING;
    }
    if (err == STROM_ERR_OUT_OF_RANGE) {
        struct store_stream_info info;
        r->next =
            store_stream_info(s, r->stream_id, &info) == STROM_OK ? info.first_offset : r->next;
        return CATCHUP_DELIVERED; /* moved on: look again */
    }
    struct gw_conn *c = gw_conn_get(gw, r->conn, r->conn_generation);
    strom_assert(c != NULL);
    struct deliver_out d = {0};
    err = err ? err : deliver_write(gw, c, r, b, gw->scratch + sizeof *b, &d);
    if (err) {
        read_detach(gw, r);
        read_end(gw, r, err);
        return CATCHUP_STOPPED;
    }
    if (d.bytes == 0 || d.end < sb.base_offset + sb.message_count) {
        /* no room (read it again next time), or a piece of a converted batch (the rest next) */
        store_cursor_init(cur, r->stream_id, d.bytes == 0 ? r->next : d.end);
    }
    if (d.bytes == 0) {
        return CATCHUP_STOPPED;
    }
    gw_out_commit(gw, c, d.bytes);
    bool ended = read_advance(gw, r, d.end, d.set_bytes);
    return ended ? CATCHUP_STOPPED : CATCHUP_DELIVERED;
}

bool gw_reads_catchup(struct gateway *gw) {
    uint32_t budget = GW_CATCHUP_TURN_MAX;
    bool more = false;
    bool waiting = false;
    /* Walk backwards: a read that leaves the list is swapped with the last one. */
    for (uint32_t i = gw->catchup_len; i-- > 0 && budget > 0;) {
        if (i >= gw->catchup_len) {
            continue;
        }
        struct gw_read *r = &gw->reads[gw->catchup[i]];
        enum catchup_outcome o = CATCHUP_DELIVERED;
        for (uint32_t n = 0; n < GW_CATCHUP_READ_MAX && budget > 0 && o == CATCHUP_DELIVERED;
             n++, budget--) {
            o = catchup_step(gw, r);
        }
        more |= o == CATCHUP_DELIVERED;
        waiting |= o == CATCHUP_WAITING;
    }
    gw->catchup_more = more || budget == 0;
    gw->catchup_waiting = waiting;
    return gw->catchup_more;
}
