/* gateway.c: the gateway's loop, connections, and the node log cursors (see gateway.h). */
#include "node/gateway.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "io/io.h"
#include "node/log.h"
#include "node/nodelog.h"
#include "node/supervisor.h"
#include "proto/frame.h"
#include "store/store.h"

#define GW_EXIT_FATAL      3 /* the supervisor does not restart a gateway that cannot listen */
#define GW_ACCEPT_TURN_MAX 64
#define GW_RECV_TURN_MAX   16

/* --- queues ---------------------------------------------------------------------------------- */

static bool queue_init(struct gw_queue *q, uint32_t cap) {
    strom_assert((cap & (cap - 1)) == 0);
    q->items = calloc(cap, sizeof *q->items);
    q->cap = cap;
    q->head = 0;
    q->len = 0;
    return q->items != NULL;
}

static bool queue_push(struct gw_queue *q, const struct gw_pending *p) {
    if (q->len == q->cap) {
        return false;
    }
    q->items[(q->head + q->len) & (q->cap - 1)] = *p;
    q->len++;
    return true;
}

static struct gw_pending *queue_front(struct gw_queue *q) {
    return q->len ? &q->items[q->head] : NULL;
}

static void queue_pop(struct gw_queue *q) {
    strom_assert(q->len > 0);
    q->head = (q->head + 1) & (q->cap - 1);
    q->len--;
}

static uint32_t sync_wait_total(const struct gateway *gw) {
    uint32_t n = 0;
    for (uint32_t c = 0; c < gw->config->commits; c++) {
        n += gw->sync_wait[c].len;
    }
    return n;
}

bool gw_pending_push(struct gateway *gw, const struct gw_pending *p) {
    /* Everything in flight (waiting for the sequencer or for a disk) fits in GW_PENDING_MAX, so
     * a sync queue can never overflow. */
    if (gw->pending.len + sync_wait_total(gw) >= GW_PENDING_MAX) {
        return false;
    }
    bool ok = queue_push(&gw->pending, p);
    strom_assert(ok);
    return ok;
}

strom_err gw_request_claim(struct gateway *gw, struct gw_conn *c, const struct node_request *req,
                           const char *path, uint8_t **msgs_out) {
    if (!gw_out_reserve(gw, c, GW_ANSWER_BYTES, false) ||
        gw->pending.len + sync_wait_total(gw) >= GW_PENDING_MAX) {
        return STROM_ERR_AGAIN;
    }
    strom_err err = nodelog_request_claim(&gw->requests, req, path, msgs_out);
    if (err == STROM_ERR_AGAIN) {
        gw->requests_full = true; /* the sequencer is behind: stop reading (backpressure) */
    }
    return err;
}

void gw_request_publish(struct gateway *gw, struct gw_conn *c, uint16_t type,
                        uint64_t client_request, uint16_t frame_type, bool sync) {
    uint64_t id = 0;
    ring_publish(&gw->requests, type, &id);
    struct gw_pending p = {.request_id = id,
                           .client_request = client_request,
                           .conn = c->index,
                           .conn_generation = c->generation,
                           .frame_type = frame_type,
                           .sync = sync};
    bool pushed = gw_pending_push(gw, &p);
    strom_assert(pushed); /* room checked by gw_request_claim */
    c->inflight++;
    c->out_reserved += GW_ANSWER_BYTES;
}

strom_err gw_request_submit(struct gateway *gw, struct gw_conn *c, uint16_t type,
                            const struct node_request *req, const char *path, const void *msgs,
                            uint64_t client_request, uint16_t frame_type, bool sync) {
    strom_assert(type == NODE_ENTRY_APPEND || type == NODE_ENTRY_CREATE);
    uint8_t *dst = NULL;
    strom_err err = gw_request_claim(gw, c, req, path, &dst);
    if (err == STROM_OK) {
        if (req->messages_bytes > 0) {
            memcpy(dst, msgs, req->messages_bytes);
        }
        gw_request_publish(gw, c, type, client_request, frame_type, sync);
    }
    return err;
}

/* --- connections ----------------------------------------------------------------------------- */

struct gw_conn *gw_conn_get(struct gateway *gw, uint32_t index, uint32_t generation) {
    strom_assert(index < gw->config->connections_max);
    struct gw_conn *c = &gw->conns[index];
    return c->state != GW_CONN_FREE && c->generation == generation ? c : NULL;
}

static uint64_t conn_token(const struct gw_conn *c) {
    return ((uint64_t)c->generation << 32) | c->index;
}

/* Registers the events c wants now: input unless blocked or closing, output when queued. */
static void conn_poll(struct gateway *gw, struct gw_conn *c, bool want_out) {
    uint32_t events = (c->state == GW_CONN_OPEN && !c->read_blocked) ? IO_POLL_IN : 0;
    events |= want_out ? IO_POLL_OUT : 0;
    c->polled_out = want_out;
    (void)io_poller_control(gw->io, gw->poller, IO_POLL_MODIFY, c->fd, events, conn_token(c));
}

static int big_take(struct gateway *gw) {
    for (int i = 0; i < GW_BIG_BUFFERS; i++) {
        if (!gw->big_used[i]) {
            gw->big_used[i] = true;
            return i;
        }
    }
    return -1;
}

static void big_give(struct gateway *gw, int i) {
    strom_assert(i >= 0 && i < GW_BIG_BUFFERS && gw->big_used[i]);
    gw->big_used[i] = false;
}

static void conn_close(struct gateway *gw, struct gw_conn *c) {
    strom_assert(c->state != GW_CONN_FREE);
    if (c->proto->on_close != NULL) {
        c->proto->on_close(gw, c);
    }
    gw_reads_close_conn(gw, c);
    (void)io_poller_control(gw->io, gw->poller, IO_POLL_REMOVE, c->fd, 0, 0);
    (void)io_sock_close(gw->io, c->fd);
    if (c->in_big >= 0) {
        big_give(gw, c->in_big);
    }
    if (c->out_big >= 0) {
        big_give(gw, c->out_big);
    }
    c->state = GW_CONN_FREE;
    c->fd = -1;
    c->generation++;
    c->next_free = gw->conn_free;
    gw->conn_free = c->index;
    __atomic_store_n(&gw->counters->connections, gw->counters->connections - 1, __ATOMIC_RELAXED);
}

static void conn_open(struct gateway *gw, int fd, const struct gw_protocol *proto) {
    uint32_t i = gw->conn_free;
    strom_assert(i != UINT32_MAX);
    struct gw_conn *c = &gw->conns[i];
    gw->conn_free = c->next_free;
    uint32_t generation = c->generation;
    uint8_t *own_in = c->own_in;
    uint8_t *own_out = c->own_out;
    *c = (struct gw_conn){.fd = fd,
                          .generation = generation,
                          .index = i,
                          .next_free = UINT32_MAX,
                          .state = GW_CONN_OPEN,
                          .proto = proto,
                          .in = own_in,
                          .in_cap = GW_CONN_IN_BYTES,
                          .in_big = -1,
                          .out = own_out,
                          .out_cap = GW_CONN_OUT_BYTES,
                          .out_big = -1,
                          .read_head = UINT32_MAX,
                          .own_in = own_in,
                          .own_out = own_out};
    if (io_poller_control(gw->io, gw->poller, IO_POLL_ADD, fd, IO_POLL_IN, conn_token(c))) {
        c->state = GW_CONN_CLOSING; /* closed below on the next flush */
    }
    gw->counters->accepted++;
    __atomic_store_n(&gw->counters->connections, gw->counters->connections + 1, __ATOMIC_RELAXED);
    proto->on_open(gw, c);
}

/* A connection over the limit: one error frame, best effort, and close. */
static void conn_refuse(struct gateway *gw, int fd) {
    static const char text[] = "connection limit of this gateway reached; try again later";
    struct proto_error e = {.code = STROM_ERR_LIMIT, .text = text, .text_len = sizeof text - 1};
    uint8_t frame[PROTO_HEADER_BYTES + 8 + sizeof text];
    size_t len = 0;
    if (proto_frame_encode(frame, sizeof frame, PROTO_ERROR, 0, &e, &len) == STROM_OK) {
        struct io_iov iov = {frame, len};
        size_t sent;
        (void)io_sock_send(gw->io, fd, &iov, 1, &sent);
    }
    (void)io_sock_close(gw->io, fd);
    gw->counters->refused++;
}

static void listener_accept(struct gateway *gw, const struct gw_listener *l) {
    for (int i = 0; i < GW_ACCEPT_TURN_MAX && !gw->stopping; i++) {
        int fd = -1;
        if (io_tcp_accept(gw->io, l->fd, &fd) != STROM_OK) {
            break;
        }
        if (gw->conn_free == UINT32_MAX) {
            conn_refuse(gw, fd);
        } else {
            conn_open(gw, fd, l->proto);
        }
    }
}

void gw_conn_fail(struct gateway *gw, struct gw_conn *c) {
    (void)gw;
    if (c->state == GW_CONN_OPEN) {
        c->state = GW_CONN_CLOSING;
        c->closing_ns = gw->now_ns;
        gw->counters->errors++;
    }
}

/* --- output ---------------------------------------------------------------------------------- */

static void out_list_add(struct gateway *gw, struct gw_conn *c) {
    if (!c->out_listed) {
        c->out_listed = true;
        gw->out_list[gw->out_list_len++] = c->index;
    }
}

bool gw_out_reserve(struct gateway *gw, struct gw_conn *c, uint32_t bytes, bool for_answer) {
    bytes += for_answer ? 0 : c->out_reserved;
    if (c->out_cap - c->out_len >= bytes) {
        return true;
    }
    if (c->out_sent > 0) {
        memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
        c->out_len -= c->out_sent;
        c->out_sent = 0;
    }
    if (c->out_cap - c->out_len >= bytes) {
        return true;
    }
    /* A big buffer only for a frame that can never fit the own one; others wait for room. */
    uint64_t big_bytes = (uint64_t)gw->config->frame_bytes_max + 4096;
    if (c->out_big >= 0 || bytes <= GW_CONN_OUT_BYTES || c->out_len + (uint64_t)bytes > big_bytes) {
        return false;
    }
    int b = big_take(gw);
    if (b < 0) {
        return false;
    }
    memcpy(gw->big[b], c->out, c->out_len);
    c->out = gw->big[b];
    c->out_cap = (uint32_t)big_bytes;
    c->out_big = b;
    return true;
}

void gw_out_commit(struct gateway *gw, struct gw_conn *c, uint32_t bytes) {
    strom_assert(c->out_len + bytes <= c->out_cap);
    c->out_len += bytes;
    gw->counters->frames_out++;
    out_list_add(gw, c);
}

/* Sends what c has queued. */
static void conn_flush(struct gateway *gw, struct gw_conn *c) {
    while (c->out_sent < c->out_len) {
        struct io_iov iov = {c->out + c->out_sent, c->out_len - c->out_sent};
        size_t sent = 0;
        strom_err err = io_sock_send(gw->io, c->fd, &iov, 1, &sent);
        if (err == STROM_ERR_AGAIN || (err == STROM_OK && sent == 0)) {
            if (!c->polled_out) {
                conn_poll(gw, c, true);
            }
            return;
        }
        if (err) {
            conn_close(gw, c);
            return;
        }
        c->out_sent += (uint32_t)sent;
    }
    c->out_len = 0;
    c->out_sent = 0;
    if (c->out_big >= 0) {
        big_give(gw, c->out_big);
        c->out = c->own_out;
        c->out_cap = GW_CONN_OUT_BYTES;
        c->out_big = -1;
    }
    if (c->polled_out) {
        conn_poll(gw, c, false);
    }
    if (c->state == GW_CONN_CLOSING) {
        conn_close(gw, c);
    }
}

static void flush_all(struct gateway *gw) {
    uint32_t n = gw->out_list_len;
    gw->out_list_len = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct gw_conn *c = &gw->conns[gw->out_list[i]];
        c->out_listed = false;
        if (c->state != GW_CONN_FREE) {
            conn_flush(gw, c);
        }
    }
}

/* --- input ----------------------------------------------------------------------------------- */

/* Moves unparsed input to a big buffer when the frame at its start is larger than the own one,
 * and back when it fits again. false: no big buffer free now. */
static bool conn_input_room(struct gateway *gw, struct gw_conn *c) {
    uint32_t need = 0;
    if (c->proto->frame_bytes != NULL) {
        need = c->proto->frame_bytes(c->in, c->in_len);
    } else if (c->in_len >= 4) {
        memcpy(&need, c->in, 4); /* frame_bytes, little-endian (checked by the protocol) */
    }
    if (need > c->in_cap && c->in_big < 0 && need <= gw->config->frame_bytes_max) {
        int b = big_take(gw);
        if (b < 0) {
            return false;
        }
        memcpy(gw->big[b], c->in, c->in_len);
        c->in = gw->big[b];
        c->in_cap = gw->config->frame_bytes_max + 4096;
        c->in_big = b;
    } else if (c->in_big >= 0 && need <= GW_CONN_IN_BYTES && c->in_len <= GW_CONN_IN_BYTES) {
        memcpy(c->own_in, c->in, c->in_len);
        big_give(gw, c->in_big);
        c->in = c->own_in;
        c->in_cap = GW_CONN_IN_BYTES;
        c->in_big = -1;
    }
    return true;
}

/* Parses what c holds; leaves the unparsed rest at the start of its buffer. */
static void conn_parse(struct gateway *gw, struct gw_conn *c) {
    bool was_blocked = c->read_blocked;
    c->read_blocked = false;
    uint32_t used = c->state == GW_CONN_OPEN ? c->proto->on_input(gw, c) : c->in_len;
    strom_assert(used <= c->in_len);
    if (used > 0) {
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
    }
    if (c->state == GW_CONN_OPEN && !conn_input_room(gw, c)) {
        c->read_blocked = true;
    }
    if (c->read_blocked && !c->in_dirty && !c->parked) {
        c->in_dirty = true;
        gw->in_list[gw->in_list_len++] = c->index;
    }
    if (was_blocked != c->read_blocked && c->state == GW_CONN_OPEN) {
        conn_poll(gw, c, c->polled_out);
    }
}

static void conn_read(struct gateway *gw, struct gw_conn *c) {
    for (int i = 0; i < GW_RECV_TURN_MAX && c->state == GW_CONN_OPEN && !c->read_blocked; i++) {
        if (c->in_len == c->in_cap) {
            conn_parse(gw, c);
            if (c->in_len == c->in_cap || c->read_blocked) {
                break;
            }
        }
        enum gw_direct d =
            c->proto->recv_direct != NULL ? c->proto->recv_direct(gw, c) : GW_DIRECT_NONE;
        if (d == GW_DIRECT_CLOSED) {
            conn_close(gw, c);
            return;
        }
        if (d == GW_DIRECT_EMPTY) {
            break;
        }
        if (d == GW_DIRECT_TAKEN) {
            continue;
        }
        size_t got = 0;
        size_t room = c->in_cap - c->in_len;
        if (c->in_heads && c->in_len == 0 && room > GW_RECV_HEAD_BYTES) {
            room = GW_RECV_HEAD_BYTES; /* a frame's head: recv_direct takes the rest */
        }
        strom_err err = io_sock_recv(gw->io, c->fd, c->in + c->in_len, room, &got);
        if (err == STROM_ERR_AGAIN) {
            break;
        }
        if (err) {
            conn_close(gw, c);
            return;
        }
        c->in_len += (uint32_t)got;
        conn_parse(gw, c);
        if (got < room) {
            break; /* the socket is empty: no second call to hear AGAIN (the poller is level) */
        }
    }
}

void gw_conn_resume(struct gateway *gw, struct gw_conn *c) {
    if (c->state == GW_CONN_OPEN && c->read_blocked) {
        conn_parse(gw, c);
    }
}

/* Connections that stopped for lack of room try again. */
static void retry_blocked(struct gateway *gw) {
    uint32_t n = gw->in_list_len;
    gw->in_list_len = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct gw_conn *c = &gw->conns[gw->in_list[i]];
        c->in_dirty = false;
        if (c->state == GW_CONN_OPEN && c->read_blocked) {
            conn_parse(gw, c);
            if (!c->read_blocked) {
                conn_read(gw, c); /* the socket may hold more */
            }
        }
    }
}

/* --- the node log ---------------------------------------------------------------------------- */

/* A batch entry passed a cursor: the protocols that watch the node log see it. */
static void protocols_log(struct gateway *gw, const struct ring_entry *e, bool sync_cursor) {
    for (uint32_t i = 0; i < gw->listener_count; i++) {
        const struct gw_protocol *p = gw->listeners[i].proto;
        if (p->on_log != NULL) {
            p->on_log(gw, e, sync_cursor);
        }
    }
}

/* The protocols' timers and resumptions; the earliest next timer. */
static void protocols_turn(struct gateway *gw) {
    uint64_t wait = UINT64_MAX;
    for (uint32_t i = 0; i < gw->listener_count; i++) {
        const struct gw_protocol *p = gw->listeners[i].proto;
        uint64_t w = p->on_turn != NULL ? p->on_turn(gw) : UINT64_MAX;
        wait = w < wait ? w : wait;
    }
    gw->proto_wait_ns = wait;
}

/* An answer reached its ack level: write it. */
static void answer_send(struct gateway *gw, const struct gw_pending *p) {
    struct gw_conn *c = gw_conn_get(gw, p->conn, p->conn_generation);
    if (c == NULL) {
        return; /* the connection closed meanwhile */
    }
    strom_assert(c->inflight > 0 && c->out_reserved >= GW_ANSWER_BYTES);
    c->inflight--;
    if (c->state != GW_CONN_OPEN) {
        c->out_reserved -= GW_ANSWER_BYTES; /* closing after an error: no more answers */
        return;
    }
    c->proto->on_answer(gw, c, p, &p->entry);
    if (c->read_blocked) {
        conn_parse(gw, c); /* a request may have waited for inflight room */
    }
}

/* The node log holds the outcome of our request at position. */
static void answer_arrived(struct gateway *gw, const struct node_batch *b, uint64_t position) {
    struct gw_pending *p = queue_front(&gw->pending);
    if (p == NULL || p->request_id != b->request_id) {
        /* A request of an earlier gateway process, or one failed when this cursor was lapped. */
        strom_assert(p == NULL || p->request_id > b->request_id);
        return;
    }
    struct gw_pending done = *p;
    queue_pop(&gw->pending);
    done.entry = *b;
    done.log_position = position;
    bool ok = b->error == STROM_OK;
    if (ok && done.sync) {
        uint64_t stream =
            b->flags & NODE_FLAG_CREATED || done.frame_type == PROTO_CREATE ? 0 : b->stream_id;
        uint32_t k = node_commit_of(stream, gw->config->commits);
        bool pushed = queue_push(&gw->sync_wait[k], &done);
        strom_assert(pushed); /* bounded by gw_pending_push */
        return;
    }
    answer_send(gw, &done);
}

/* This gateway fell behind the node log: answers in the lost part are lost, so every request
 * still pending is failed with AGAIN (the client retries; an idempotent retry is safe). */
static void head_lapped(struct gateway *gw) {
    gw->counters->lapped++;
    while (gw->pending.len > 0) {
        struct gw_pending p = *queue_front(&gw->pending);
        queue_pop(&gw->pending);
        p.entry = (struct node_batch){.error = STROM_ERR_AGAIN, .stream_id = 0};
        answer_send(gw, &p);
    }
    ring_reader_rejoin(&gw->log_head);
    gw_reads_lapped(gw, false);
}

static bool log_head_turn(struct gateway *gw) {
    for (uint32_t n = 0; n < GW_LOG_TURN_MAX; n++) {
        struct ring_entry e;
        strom_err err = ring_read(&gw->log_head, &e);
        if (err == STROM_ERR_AGAIN) {
            return false;
        }
        struct node_batch b;
        if (err == STROM_OK) {
            memcpy(&b, e.body, sizeof b);
            err = ring_reader_check(&gw->log_head, &e);
        }
        if (err) {
            strom_assert(err == STROM_ERR_OUT_OF_RANGE);
            head_lapped(gw);
            return true;
        }
        /* Deliveries first: their connections are flushed before the producer's answer, so a
         * subscriber does not wait for the answer's send. */
        if (e.type == NODE_ENTRY_BATCH) {
            gw_reads_live(gw, &e, false);
            protocols_log(gw, &e, false);
        }
        if (b.gateway == gw->index) {
            answer_arrived(gw, &b, e.position);
        }
    }
    return true;
}

/* Where the sync cursor starts (a new gateway process) or starts again (lapped): the oldest
 * node log position that some commit has not published durable yet (its durable_position),
 * never past the tail. Entries before it are durable, and a sync read finds them in the stores
 * (catch-up); entries after it may not be, and a sync read that went live at its watermark
 * waits for the cursor to pass them. Starting at the tail would skip entries published but not
 * yet durable, and such a read would never get them (strom-sim seed 1244). The commits are
 * mandatory readers that release only what they synced, so every entry from here on is still
 * in the ring. */
static uint64_t sync_cursor_start(const struct gateway *gw) {
    const struct node_header *h = gw->shm->header;
    uint64_t start = ring_tail(&gw->log_sync.ring);
    for (uint32_t k = 0; k < gw->config->commits; k++) {
        uint64_t durable = __atomic_load_n(&h->commits_c[k].durable_position, __ATOMIC_ACQUIRE);
        start = durable < start ? durable : start;
    }
    return start;
}

/* The sync cursor follows the head once entries are durable, for sync subscribers. */
static bool log_sync_turn(struct gateway *gw) {
    const struct node_header *h = gw->shm->header;
    for (uint32_t n = 0; n < GW_LOG_TURN_MAX; n++) {
        struct ring_entry e;
        strom_err err = ring_read(&gw->log_sync, &e);
        if (err == STROM_ERR_AGAIN) {
            return false;
        }
        struct node_batch b;
        if (err == STROM_OK) {
            memcpy(&b, e.body, sizeof b);
            err = ring_reader_check(&gw->log_sync, &e);
        }
        if (err) {
            gw->log_sync.cursor = sync_cursor_start(gw);
            gw_reads_lapped(gw, true);
            return true;
        }
        if (e.type != NODE_ENTRY_BATCH) {
            continue;
        }
        uint32_t k = node_commit_of(b.stream_id, gw->config->commits);
        if (__atomic_load_n(&h->commits_c[k].durable_position, __ATOMIC_ACQUIRE) <= e.position) {
            gw->log_sync.cursor = e.position; /* not on disk yet: look again later */
            return false;
        }
        gw_reads_live(gw, &e, true);
        protocols_log(gw, &e, true);
    }
    return true;
}

/* Answers whose entries are now durable. */
static void sync_wait_turn(struct gateway *gw) {
    const struct node_header *h = gw->shm->header;
    for (uint32_t k = 0; k < gw->config->commits; k++) {
        uint64_t durable = __atomic_load_n(&h->commits_c[k].durable_position, __ATOMIC_ACQUIRE);
        gw->durable_seen[k] = durable;
        struct gw_pending *p;
        while ((p = queue_front(&gw->sync_wait[k])) != NULL && p->log_position < durable) {
            struct gw_pending done = *p;
            queue_pop(&gw->sync_wait[k]);
            answer_send(gw, &done);
        }
    }
}

/* --- the turn -------------------------------------------------------------------------------- */

static void handle_event(struct gateway *gw, const struct io_poll_event *ev) {
    if (ev->token == GW_TOKEN_EVENT) {
        (void)io_event_drain(gw->io, gw->event);
        return;
    }
    if (ev->token & GW_TOKEN_LISTENER) {
        listener_accept(gw, &gw->listeners[ev->token & 0xff]);
        return;
    }
    struct gw_conn *c = gw_conn_get(gw, (uint32_t)ev->token, (uint32_t)(ev->token >> 32));
    if (c == NULL) {
        return;
    }
    if (ev->events & IO_POLL_IN) {
        conn_read(gw, c);
    } else if (ev->events & IO_POLL_ERR) {
        conn_close(gw, c);
        return;
    }
    if (c->state != GW_CONN_FREE && (ev->events & IO_POLL_OUT)) {
        out_list_add(gw, c);
    }
}

/* true when a durable position moved since sync_wait_turn last looked. */
static bool durable_moved(const struct gateway *gw) {
    const struct node_header *h = gw->shm->header;
    for (uint32_t k = 0; k < gw->config->commits; k++) {
        if (__atomic_load_n(&h->commits_c[k].durable_position, __ATOMIC_SEQ_CST) !=
            gw->durable_seen[k]) {
            return true;
        }
    }
    return false;
}

/* Whether something here waits for a durable position: sync answers, the sync cursor behind the
 * head (sync subscribers), catch-up reads waiting for a commit, or the Kafka protocol (its
 * fetches wait for high watermarks). */
static bool gw_waits_durable(const struct gateway *gw) {
    return sync_wait_total(gw) > 0 || gw->catchup_waiting || gw->kafka != NULL ||
           (gw->live_sync_reads > 0 && gw->log_sync.cursor < gw->log_head.cursor);
}

/* Publishes durable_wanted (shm.h): sync answers, catch-up reads waiting for a commit, live sync
 * subscribers (even caught up: their next message waits for the commit) and parked Kafka requests
 * (an idle Kafka listener counts for the doorbell, not here). When it turns 1, the commits that
 * sleep lazily are woken (node_commits_wake), so that they sync what they hold now. */
static void gw_durable_wanted_publish(struct gateway *gw) {
    bool waits =
        sync_wait_total(gw) > 0 || gw->catchup_waiting || gw->live_sync_reads > 0 || kgw_parked(gw);
    uint32_t wanted = waits ? 1 : 0;
    uint32_t *word = &gw->counters->durable_wanted;
    if (wanted != __atomic_load_n(word, __ATOMIC_RELAXED)) {
        __atomic_store_n(word, wanted, __ATOMIC_SEQ_CST);
        if (wanted) {
            node_commits_wake(gw->shm, gw->io, gw->config->commits);
        }
    }
}

/* Asks to be woken (doorbell, node log, request ring room) and says whether to sleep at all. */
static bool gw_arm(struct gateway *gw) {
    /* The doorbell only when something here waits for a durable position. Otherwise every sync
     * of a commit (up to a thousand a second with fsync:always) woke this process for nothing. */
    bool doorbell = gw_waits_durable(gw);
    bool ready = false;
    if (doorbell) {
        __atomic_store_n(&gw->counters->armed, 1, __ATOMIC_SEQ_CST);
        ready = durable_moved(gw);
    }
    ready = ring_reader_arm(&gw->log_head) || ready;
    if (gw->requests_full) {
        ready |= ring_writer_arm(&gw->requests, 4096);
    }
    return !ready;
}

/* Closes connections that have waited in CLOSING for GW_CLOSING_NS (their peer does not read
 * the error frame). Once per GW_SWEEP_NS. */
static void sweep_closing(struct gateway *gw) {
    if (gw->now_ns - gw->swept_ns < GW_SWEEP_NS) {
        return;
    }
    gw->swept_ns = gw->now_ns;
    for (uint32_t i = 0; i < gw->config->connections_max; i++) {
        struct gw_conn *c = &gw->conns[i];
        if (c->state == GW_CONN_CLOSING && gw->now_ns - c->closing_ns >= GW_CLOSING_NS) {
            conn_close(gw, c);
        }
    }
}

void gateway_turn(struct gateway *gw, uint64_t timeout_ns) {
    struct io_poll_event evs[GW_EVENTS_MAX];
    uint32_t count = 0;
    (void)io_poller_wait(gw->io, gw->poller, evs, GW_EVENTS_MAX, timeout_ns, &count);
    __atomic_store_n(&gw->counters->armed, 0, __ATOMIC_RELAXED);
    gw->now_ns = io_clock_monotonic_ns(gw->io);
    for (uint32_t i = 0; i < count; i++) {
        handle_event(gw, &evs[i]);
    }
    /* Output first, so that connections that waited for output room find it; then the node
     * log (answers free room in the pending table); then whoever waited for room; then output
     * again. A connection that waits is retried here on every turn, and every turn has a
     * cause that may have made room (a writable socket, an answer, the request ring). */
    flush_all(gw);
    log_head_turn(gw);
    log_sync_turn(gw); /* deliveries before answers, as in log_head_turn */
    sync_wait_turn(gw);
    gw_reads_catchup(gw);
    gw_file_readers_publish(gw);
    gw_durable_wanted_publish(gw);
    gw->requests_full = false;
    retry_blocked(gw);
    protocols_turn(gw);
    flush_all(gw);
    sweep_closing(gw);
}

/*
 * Polls the node log before the gateway sleeps, when the oldest request it waits for is at ack 1:
 * the sequencer answers within microseconds once it runs, and a gateway asleep meanwhile pays a
 * wake-up between the answer and its delivery (on an idle VM a halted vCPU takes about 50 us to
 * wake: docs/node.md, "Latency"). A poll that saw nothing makes the next ones skip, more after
 * each miss: then the sequencer waits for a core, and polling only takes one from it. true: the
 * node log moved (do not sleep).
 */
static bool gw_spin(struct gateway *gw) {
    const struct gw_pending *p = queue_front(&gw->pending);
    if (p == NULL || p->sync || gw->stopping) {
        return false;
    }
    bool news = false;
    if (gw->spin_skip > 0) {
        gw->spin_skip--;
    } else {
        uint64_t start = io_clock_monotonic_ns(gw->io);
        uint64_t took = 0;
        for (uint32_t i = 0; i < GW_SPIN_POLLS_MAX && !news && took < GW_SPIN_NS; i++) {
            news = ring_tail(&gw->log_head.ring) > gw->log_head.cursor;
            took = io_clock_monotonic_ns(gw->io) - start;
        }
        gw->counters->spins++;
        if (news) {
            gw->counters->spin_hits++;
            gw->counters->spin_hit_ns += took;
            gw->spin_backoff = 0;
        } else {
            gw->spin_skip = gw->spin_backoff;
            gw->spin_backoff = gw->spin_backoff * 2 + 1;
            gw->spin_backoff =
                gw->spin_backoff < GW_SPIN_SKIP_MAX ? gw->spin_backoff : GW_SPIN_SKIP_MAX;
        }
    }
    strom_assert(gw->spin_skip <= GW_SPIN_SKIP_MAX && gw->spin_backoff <= GW_SPIN_SKIP_MAX);
    return news;
}

uint64_t gateway_next_timeout(struct gateway *gw) {
    if (ring_tail(&gw->log_head.ring) > gw->log_head.cursor || gw->catchup_more) {
        return 0;
    }
    uint64_t wait = gw->catchup_waiting ? GW_CATCHUP_RETRY_NS : GW_IDLE_WAIT_NS;
    wait = gw->proto_wait_ns < wait ? gw->proto_wait_ns : wait;
    return wait == 0 || gw_spin(gw) || !gw_arm(gw) ? 0 : wait;
}

/* --- setup and the process ------------------------------------------------------------------- */

static strom_err gw_listen(struct gateway *gw, const struct node_endpoint *ep,
                           const struct gw_protocol *proto) {
    struct gw_listener *l = &gw->listeners[gw->listener_count];
    strom_err err = io_tcp_listen(gw->io, ep->host, ep->port, 1024, &l->fd, &l->port);
    if (!err) {
        err = io_poller_control(gw->io, gw->poller, IO_POLL_ADD, l->fd, IO_POLL_IN,
                                GW_TOKEN_LISTENER | gw->listener_count);
    }
    if (!err) {
        l->proto = proto;
        gw->listener_count++;
    }
    return err;
}

static strom_err gw_alloc(struct gateway *gw) {
    const struct node_config *c = gw->config;
    uint32_t n = c->connections_max;
    gw->conns = calloc(n, sizeof *gw->conns);
    gw->out_list = calloc(n, sizeof *gw->out_list);
    gw->in_list = calloc(n, sizeof *gw->in_list);
    uint8_t *bufs = malloc((size_t)n * (GW_CONN_IN_BYTES + GW_CONN_OUT_BYTES));
    gw->scratch = malloc((size_t)c->frame_bytes_max + 4096);
    gw->kafka_scratch = malloc((size_t)c->frame_bytes_max);
    bool ok = gw->conns && gw->out_list && gw->in_list && bufs && gw->scratch && gw->kafka_scratch;
    for (int i = 0; ok && i < GW_BIG_BUFFERS; i++) {
        gw->big[i] = malloc((size_t)c->frame_bytes_max + 4096);
        ok = gw->big[i] != NULL;
    }
    ok = ok && queue_init(&gw->pending, GW_PENDING_MAX);
    for (uint32_t k = 0; ok && k < c->commits; k++) {
        ok = queue_init(&gw->sync_wait[k], GW_PENDING_MAX);
    }
    if (!ok) {
        return STROM_ERR_NO_MEMORY;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct gw_conn *conn = &gw->conns[i];
        conn->fd = -1;
        conn->index = i;
        conn->own_in = bufs + (size_t)i * (GW_CONN_IN_BYTES + GW_CONN_OUT_BYTES);
        conn->own_out = conn->own_in + GW_CONN_IN_BYTES;
        conn->next_free = i + 1 < n ? i + 1 : UINT32_MAX;
    }
    gw->conn_free = 0;
    gw_reads_init(gw);
    return gw->reads ? STROM_OK : STROM_ERR_NO_MEMORY;
}

strom_err gateway_open(struct gateway *gw, struct io *io, const struct node_config *c,
                       const struct node_shm *shm, uint32_t index) {
    memset(gw, 0, sizeof *gw);
    gw->io = io;
    gw->config = c;
    gw->shm = shm;
    gw->index = index;
    gw->counters = &shm->header->gateways_c[index];
    gw->registry = shm->registry;
    gw->event = shm->gateway_events[index];
    gw->now_ns = io_clock_monotonic_ns(io);
    gw->proto_wait_ns = UINT64_MAX;
    strom_err err = gw_alloc(gw);
    if (!err) {
        err = io_poller_create(io, &gw->poller);
    }
    if (!err) {
        err = io_poller_control(io, gw->poller, IO_POLL_ADD, gw->event, IO_POLL_IN, GW_TOKEN_EVENT);
    }
    if (!err) {
        err = ring_writer_open(&gw->requests, shm->request_regions[index], shm->request_bytes, io);
    }
    if (!err) {
        ring_writer_set_wake_fd(&gw->requests, NODE_REQUEST_SLOT_SEQUENCER, shm->sequencer_event);
        err = ring_reader_open(&gw->log_head, shm->log_region, shm->log_bytes, io,
                               NODE_LOG_SLOT_GATEWAY(index));
    }
    if (!err) {
        /* Entries from before this process are not ours to answer or deliver. */
        ring_reader_rejoin(&gw->log_head);
        gw->log_sync = gw->log_head;
        gw->log_sync.cursor = sync_cursor_start(gw);
        err = gw_listen(gw, &c->listen, &gw_native_protocol);
    }
    if (!err && c->kafka.enabled) {
        err = kgw_open(gw);
        err = err ? err : gw_listen(gw, &c->kafka, &gw_kafka_protocol);
    }
    if (!err) {
        gw->counters->port = gw->listeners[0].port;
        gw->counters->kafka_port = c->kafka.enabled ? gw->listeners[1].port : 0;
    }
    return err;
}

static void gw_log(struct gateway *gw, const char *type, strom_err err) {
    struct node_log line;
    node_log_begin(&line, gw->io, type, "gateway");
    strom_ssim_write_u64(&line.w, "index", gw->index);
    strom_ssim_write_u64(&line.w, "port", gw->counters->port);
    if (err) {
        strom_ssim_write_str(&line.w, "error", strom_errname(err));
        strom_ssim_write_str(&line.w, "text", strom_strerror(err));
    }
    node_log_end(&line, gw->io);
}

/* At a stop: no new connections or requests; pending answers get GW_STOP_DRAIN_NS. */
static bool gw_stop_step(struct gateway *gw) {
    if (!gw->stopping) {
        gw->stopping = true;
        gw->stop_ns = gw->now_ns;
        for (uint32_t i = 0; i < gw->listener_count; i++) {
            (void)io_poller_control(gw->io, gw->poller, IO_POLL_REMOVE, gw->listeners[i].fd, 0, 0);
            (void)io_sock_close(gw->io, gw->listeners[i].fd);
        }
    }
    bool waiting = gw->pending.len > 0 || sync_wait_total(gw) > 0;
    return !waiting || gw->now_ns - gw->stop_ns >= GW_STOP_DRAIN_NS;
}

int gateway_run(struct gateway *gw, struct io *io, const struct node_config *c,
                const struct node_shm *shm, uint32_t index) {
    struct node_gateway_counters *k = &shm->header->gateways_c[index];
    __atomic_store_n(&k->ready, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&k->pid, (uint64_t)io_proc_id(io), __ATOMIC_RELEASE);
    k->starts++;
    k->connections = 0;
    strom_err err = gateway_open(gw, io, c, shm, index);
    if (err) {
        gw->io = io;
        gw->index = index;
        gw->counters = k;
        gw_log(gw, "strom.node.error", err);
        return err == STROM_ERR_EXISTS || err == STROM_ERR_INVALID_ARGUMENT ? GW_EXIT_FATAL : 1;
    }
    __atomic_store_n(&k->ready, 1, __ATOMIC_RELEASE);
    gw_log(gw, "strom.node.gateway_ready", STROM_OK);
    uint64_t timeout = 0;
    for (;;) {
        gateway_turn(gw, timeout);
        if ((gw->stopping || io_signal_take(io, IO_SIGNAL_TERM)) && gw_stop_step(gw)) {
            break;
        }
        timeout = gw->stopping ? 1000000u : gateway_next_timeout(gw);
    }
    for (uint32_t i = 0; i < c->connections_max; i++) {
        if (gw->conns[i].state != GW_CONN_FREE) {
            conn_flush(gw, &gw->conns[i]);
            if (gw->conns[i].state != GW_CONN_FREE) {
                conn_close(gw, &gw->conns[i]);
            }
        }
    }
    gw_log(gw, "strom.node.gateway_stopped", STROM_OK);
    return 0;
}

int gateway_main(struct io *io, const struct node_config *c, const struct node_shm *shm,
                 uint32_t index) {
    static struct gateway gw; /* one per process */
    return gateway_run(&gw, io, c, shm, index);
}
