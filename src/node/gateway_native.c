/*
 * gateway_native.c: the native protocol (docs/protocol.md) in a gateway: frames in, requests to
 * the sequencer, answers out. Decoding is src/proto/frame.c's, which checks every length against
 * its limit before anything is used; a frame that breaks the protocol gets an error frame and
 * the connection closes (nobody else notices).
 */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "base/ssim.h"
#include "io/io.h"
#include "node/gateway.h"
#include "node/path.h"
#include "proto/frame.h"

#define NATIVE_SMALL_BYTES 512 /* room asked for a small answer */

/* Encodes a frame into c's output; false when there is no room now. */
static bool native_send(struct gateway *gw, struct gw_conn *c, enum proto_type type,
                        uint64_t request_id, const void *body, uint32_t room, bool for_answer) {
    if (!gw_out_reserve(gw, c, room, for_answer)) {
        return false;
    }
    size_t len = 0;
    strom_err err = proto_frame_encode(c->out + c->out_len, c->out_cap - c->out_len, type,
                                       request_id, body, &len);
    strom_assert(err == STROM_OK && len <= room);
    gw_out_commit(gw, c, (uint32_t)len);
    return true;
}

/* An error frame: for a request (the connection stays) or for the connection (id 0, closes). */
static bool native_error_frame(struct gateway *gw, struct gw_conn *c, uint64_t request_id,
                               strom_err err, const char *text, bool closing) {
    struct proto_error e = {
        .code = (uint32_t)err, .text = text, .text_len = (uint32_t)strlen(text)};
    strom_assert(e.text_len <= PROTO_ERROR_TEXT_BYTES_MAX);
    return native_send(gw, c, PROTO_ERROR, request_id, &e, NATIVE_SMALL_BYTES, closing);
}

static bool native_error(struct gateway *gw, struct gw_conn *c, uint64_t request_id, strom_err err,
                         const char *text) {
    return native_error_frame(gw, c, request_id, err, text, false);
}

/* A protocol violation: the error, then the connection closes. The error may use the room kept
 * for answers: a closing connection gets no more answers. */
static void native_violation(struct gateway *gw, struct gw_conn *c, uint64_t request_id,
                             strom_err err, const char *text) {
    (void)native_error_frame(gw, c, request_id, err, text, true);
    gw_conn_fail(gw, c);
}

static bool native_append_answer(struct gateway *gw, struct gw_conn *c, uint64_t request_id,
                                 strom_err err) {
    struct proto_append_answer a = {.error = (uint32_t)err};
    return native_send(gw, c, PROTO_APPEND_ANSWER, request_id, &a, NATIVE_SMALL_BYTES, false);
}

static bool native_read_end(struct gateway *gw, struct gw_conn *c, uint64_t request_id,
                            strom_err err, uint64_t next) {
    struct proto_read_end e = {.error = (uint32_t)err, .next_offset = next};
    return native_send(gw, c, PROTO_READ_END, request_id, &e, NATIVE_SMALL_BYTES, false);
}

static bool native_hello(struct gateway *gw, struct gw_conn *c, const struct proto_frame *f) {
    const struct proto_hello *h = &f->body.hello;
    if (h->version_min > PROTO_VERSION || h->version_max < PROTO_VERSION) {
        native_violation(gw, c, f->header.request_id, STROM_ERR_UNSUPPORTED_VERSION,
                         "this node speaks protocol version 1 only");
        return true;
    }
    const struct node_config *cfg = gw->config;
    struct proto_hello_answer a = {.version = PROTO_VERSION,
                                   .node_name = cfg->name,
                                   .node_name_len = (uint32_t)strlen(cfg->name),
                                   .frame_bytes_max = cfg->frame_bytes_max,
                                   .inflight_max = cfg->inflight_max,
                                   .reads_max = cfg->reads_max,
                                   .idempotence_window = cfg->idempotence_window};
    if (!native_send(gw, c, PROTO_HELLO_ANSWER, f->header.request_id, &a, NATIVE_SMALL_BYTES,
                     false)) {
        return false;
    }
    c->hello_done = true;
    return true;
}

/* Sends a request to the sequencer (gw_request_submit); an error is answered at once. */
static bool native_request(struct gateway *gw, struct gw_conn *c, uint16_t type,
                           const struct node_request *req, const char *path, const uint8_t *msgs,
                           uint64_t client_request, bool sync) {
    uint16_t frame_type = type == NODE_ENTRY_APPEND ? PROTO_APPEND : PROTO_CREATE;
    strom_err err =
        gw_request_submit(gw, c, type, req, path, msgs, client_request, frame_type, sync);
    if (err == STROM_ERR_AGAIN) {
        return false;
    }
    return err == STROM_OK || native_append_answer(gw, c, client_request, err);
}

static bool native_path_bad(const struct proto_append *a) {
    return (a->path_len == 0 && a->stream_id == 0) ||
           (a->path_len > 0 && path_check(a->path, a->path_len));
}

/* The request entry's header for append a of a frame with header h. */
static struct node_request native_append_request(const struct proto_header *h,
                                                 const struct proto_append *a) {
    return (struct node_request){.stream_id = a->path_len ? 0 : a->stream_id,
                                 .producer_id = a->producer_id,
                                 .sequence = a->sequence,
                                 .span = 1,
                                 .count = a->count,
                                 .messages_bytes = a->messages_len,
                                 .path_len = (uint16_t)a->path_len,
                                 .ack = 1,
                                 .flags = (a->sync ? NODE_FLAG_SYNC : 0) |
                                          (h->flags & PROTO_FLAG_RETRY ? NODE_FLAG_RETRY : 0)};
}

static bool native_append(struct gateway *gw, struct gw_conn *c, const struct proto_frame *f) {
    const struct proto_append *a = &f->body.append;
    uint64_t rid = f->header.request_id;
    if (c->inflight >= gw->config->inflight_max) {
        return native_error(gw, c, rid, STROM_ERR_LIMIT, "too many requests in flight");
    }
    if (a->ack > 1) {
        return native_append_answer(gw, c, rid, STROM_ERR_UNSUPPORTED); /* one node */
    }
    if (native_path_bad(a)) {
        return native_append_answer(gw, c, rid, STROM_ERR_INVALID_PATH);
    }
    struct node_request req = native_append_request(&f->header, a);
    bool done = native_request(gw, c, NODE_ENTRY_APPEND, &req, a->path, a->messages, rid, a->sync);
    gw->counters->appends += done ? 1 : 0;
    return done;
}

static bool native_create(struct gateway *gw, struct gw_conn *c, const struct proto_frame *f) {
    const struct proto_create *q = &f->body.create;
    uint64_t rid = f->header.request_id;
    if (c->inflight >= gw->config->inflight_max) {
        return native_error(gw, c, rid, STROM_ERR_LIMIT, "too many requests in flight");
    }
    if (path_check(q->path, q->path_len)) {
        struct proto_create_answer ans = {.error = STROM_ERR_INVALID_PATH};
        return native_send(gw, c, PROTO_CREATE_ANSWER, rid, &ans, NATIVE_SMALL_BYTES, false);
    }
    struct node_request req = {
        .path_len = (uint16_t)q->path_len, .ack = 1, .flags = NODE_FLAG_SYNC};
    return native_request(gw, c, NODE_ENTRY_CREATE, &req, q->path, NULL, rid, true);
}

/* The stream a read names, or NO_STREAM. */
static strom_err native_stream(struct gateway *gw, uint64_t id, const char *path, uint32_t path_len,
                               uint64_t *id_out) {
    if (path_len > 0) {
        return registry_find(&gw->registry, path, path_len, id_out) ? STROM_OK
                                                                    : STROM_ERR_NO_STREAM;
    }
    *id_out = id;
    return id < registry_count(&gw->registry) ? STROM_OK : STROM_ERR_NO_STREAM;
}

static bool native_read(struct gateway *gw, struct gw_conn *c, const struct proto_frame *f) {
    const struct proto_read *q = &f->body.read;
    uint64_t rid = f->header.request_id;
    uint64_t id = 0;
    strom_err err = STROM_OK;
    if (c->reads >= gw->config->reads_max) {
        err = STROM_ERR_LIMIT;
    } else if (q->ack > 1) {
        err = STROM_ERR_UNSUPPORTED;
    } else {
        err = native_stream(gw, q->stream_id, q->path, q->path_len, &id);
    }
    if (!err && !gw_out_reserve(gw, c, NATIVE_SMALL_BYTES, false)) {
        return false; /* room for the read_end at least */
    }
    if (!err) {
        err = gw_read_open(gw, c, rid, id, q->from, q->to, q->follow, q->sync, q->credit_bytes);
    }
    if (err) {
        return native_read_end(gw, c, rid, err, 0);
    }
    gw->counters->reads++;
    return true;
}

/* One stream_info of a list answer. */
static struct proto_stream_info native_list_one(struct gateway *gw, uint64_t id) {
    size_t path_len = 0;
    const char *path = registry_path(&gw->registry, id, &path_len);
    const struct node_stream *st = registry_stream(&gw->registry, id);
    return (struct proto_stream_info){.path = path,
                                      .path_len = (uint32_t)path_len,
                                      .stream_id = id,
                                      .first = __atomic_load_n(&st->first_offset, __ATOMIC_ACQUIRE),
                                      .next = __atomic_load_n(&st->next_offset, __ATOMIC_ACQUIRE),
                                      .durable =
                                          __atomic_load_n(&st->durable_next, __ATOMIC_ACQUIRE),
                                      .bytes = __atomic_load_n(&st->bytes, __ATOMIC_ACQUIRE)};
}

static bool native_list(struct gateway *gw, struct gw_conn *c, const struct proto_frame *f) {
    const struct proto_list *q = &f->body.list;
    struct proto_list_answer a = {0};
    if (q->count_max == 0 || q->count_max > PROTO_LIST_STREAMS_MAX) {
        a.error = STROM_ERR_INVALID_ARGUMENT;
        return native_send(gw, c, PROTO_LIST_ANSWER, f->header.request_id, &a, NATIVE_SMALL_BYTES,
                           false);
    }
    /* The answer's stream array lives in the scratch buffer (malloc'd: aligned for it; of
     * frame_bytes_max + 4096 bytes, gateway.c). */
    struct proto_stream_info *streams = (struct proto_stream_info *)(void *)gw->scratch;
    size_t array_max = ((size_t)gw->config->frame_bytes_max + 4096) / sizeof streams[0];
    uint64_t count = registry_count(&gw->registry);
    size_t used = PROTO_LIST_ANSWER_ENCODED_BYTES_MIN;
    size_t cap = gw->config->frame_bytes_max - 64;
    for (uint64_t id = q->after_id + 1; id < count; id++) {
        size_t path_len = 0;
        const char *path = registry_path(&gw->registry, id, &path_len);
        if (path_len < q->prefix_len || memcmp(path, q->prefix, q->prefix_len) != 0) {
            continue;
        }
        size_t len = PROTO_STREAM_INFO_ENCODED_BYTES_MIN + path_len;
        if (a.streams_count == q->count_max || a.streams_count == array_max || used + len > cap) {
            a.more = true;
            break;
        }
        streams[a.streams_count++] = native_list_one(gw, id);
        used += len;
    }
    a.streams = streams;
    return native_send(gw, c, PROTO_LIST_ANSWER, f->header.request_id, &a,
                       (uint32_t)used + NATIVE_SMALL_BYTES, false);
}

/* The node's counters as ssim lines into buf; returns the bytes written. */
static size_t native_stat_text(struct gateway *gw, char *buf, size_t cap) {
    const struct node_header *h = gw->shm->header;
    struct strom_ssim_writer w;
    strom_ssim_writer_init(&w, buf, cap);
    strom_ssim_write_type(&w, "strom.stat.node");
    strom_ssim_write_u64(&w, "pid", h->supervisor.pid);
    strom_ssim_write_u64(&w, "restarts", h->supervisor.restarts);
    strom_ssim_write_u64(&w, "streams", registry_count(&gw->registry));
    (void)strom_ssim_writer_end(&w);
    /* /sys/cmd (id 0), which list never gives (after_id 0 starts after it): strom streams
     * prints this line first, as a stream of the node. */
    struct proto_stream_info sys = native_list_one(gw, 0);
    strom_ssim_write_type(&w, "strom.stat.stream");
    strom_ssim_write_bytes(&w, "path", sys.path, sys.path_len);
    strom_ssim_write_u64(&w, "id", sys.stream_id);
    strom_ssim_write_u64(&w, "first", sys.first);
    strom_ssim_write_u64(&w, "next", sys.next);
    strom_ssim_write_u64(&w, "durable", sys.durable);
    strom_ssim_write_u64(&w, "bytes", sys.bytes);
    (void)strom_ssim_writer_end(&w);
    const struct node_sequencer_counters *s = &h->sequencer;
    strom_ssim_write_type(&w, "strom.stat.sequencer");
    strom_ssim_write_u64(&w, "pid", s->pid);
    strom_ssim_write_u64(&w, "starts", s->starts);
    strom_ssim_write_u64(&w, "requests", s->requests);
    strom_ssim_write_u64(&w, "batches", s->batches);
    strom_ssim_write_u64(&w, "messages", s->messages);
    strom_ssim_write_u64(&w, "message_bytes", s->message_bytes);
    strom_ssim_write_u64(&w, "duplicates", s->duplicates);
    strom_ssim_write_u64(&w, "rejected", s->rejected);
    strom_ssim_write_u64(&w, "creates", s->creates);
    strom_ssim_write_u64(&w, "log_full_waits", s->log_full_waits);
    (void)strom_ssim_writer_end(&w);
    for (uint32_t k = 0; k < h->commits; k++) {
        const struct node_commit_counters *m = &h->commits_c[k];
        strom_ssim_write_type(&w, "strom.stat.commit");
        strom_ssim_write_u64(&w, "id", k);
        strom_ssim_write_u64(&w, "pid", m->pid);
        strom_ssim_write_u64(&w, "starts", m->starts);
        strom_ssim_write_u64(&w, "batches", m->batches);
        strom_ssim_write_u64(&w, "message_bytes", m->message_bytes);
        strom_ssim_write_u64(&w, "syncs", m->syncs);
        strom_ssim_write_u64(&w, "sync_ns_avg", m->syncs ? m->sync_ns_total / m->syncs : 0);
        strom_ssim_write_u64(&w, "sync_ns_max", m->sync_ns_max);
        strom_ssim_write_u64(&w, "durable_position", m->durable_position);
        strom_ssim_write_u64(&w, "direct_writes", m->direct_writes);
        strom_ssim_write_u64(&w, "write_mode_switches", m->write_mode_switches);
        strom_ssim_write_u64(&w, "lazy_syncs", m->lazy_syncs);
        (void)strom_ssim_writer_end(&w);
    }
    for (uint32_t g = 0; g < h->gateways; g++) {
        const struct node_gateway_counters *m = &h->gateways_c[g];
        strom_ssim_write_type(&w, "strom.stat.gateway");
        strom_ssim_write_u64(&w, "id", g);
        strom_ssim_write_u64(&w, "pid", m->pid);
        strom_ssim_write_u64(&w, "starts", m->starts);
        strom_ssim_write_u64(&w, "conns", m->connections);
        strom_ssim_write_u64(&w, "accepted", m->accepted);
        strom_ssim_write_u64(&w, "refused", m->refused);
        strom_ssim_write_u64(&w, "frames_in", m->frames_in);
        strom_ssim_write_u64(&w, "frames_out", m->frames_out);
        strom_ssim_write_u64(&w, "appends", m->appends);
        strom_ssim_write_u64(&w, "direct_appends", m->direct_appends);
        strom_ssim_write_u64(&w, "reads", m->reads);
        strom_ssim_write_u64(&w, "errors", m->errors);
        strom_ssim_write_u64(&w, "lapped", m->lapped);
        strom_ssim_write_u64(&w, "spins", m->spins);
        strom_ssim_write_u64(&w, "spin_hits", m->spin_hits);
        strom_ssim_write_u64(&w, "spin_hit_ns", m->spin_hit_ns);
        (void)strom_ssim_writer_end(&w);
    }
    return w.bytes_used;
}

static bool native_stat(struct gateway *gw, struct gw_conn *c, const struct proto_frame *f) {
    size_t cap = gw->config->frame_bytes_max - 64;
    cap = cap < PROTO_STAT_TEXT_BYTES_MAX ? cap : PROTO_STAT_TEXT_BYTES_MAX;
    size_t len = native_stat_text(gw, (char *)gw->scratch, cap);
    struct proto_stat_answer a = {.text = (const char *)gw->scratch, .text_len = (uint32_t)len};
    return native_send(gw, c, PROTO_STAT_ANSWER, f->header.request_id, &a,
                       (uint32_t)len + NATIVE_SMALL_BYTES, false);
}

/* Handles one decoded frame; false when it must wait for room (it is handled again later). */
static bool native_frame(struct gateway *gw, struct gw_conn *c, const struct proto_frame *f) {
    uint64_t rid = f->header.request_id;
    if (!c->hello_done && f->header.type != PROTO_HELLO) {
        native_violation(gw, c, rid, STROM_ERR_PROTOCOL, "send hello first");
        return true;
    }
    switch (f->header.type) {
    case PROTO_HELLO:
        if (c->hello_done) {
            native_violation(gw, c, rid, STROM_ERR_PROTOCOL, "hello twice");
            return true;
        }
        return native_hello(gw, c, f);
    case PROTO_APPEND:
        return native_append(gw, c, f);
    case PROTO_READ:
        return native_read(gw, c, f);
    case PROTO_CREDIT:
        gw_read_credit(gw, c, rid, f->body.credit.bytes);
        return true;
    case PROTO_CANCEL:
        gw_read_cancel(gw, c, rid);
        return true;
    case PROTO_CREATE:
        return native_create(gw, c, f);
    case PROTO_LIST:
        return native_list(gw, c, f);
    case PROTO_STAT:
        return native_stat(gw, c, f);
    case PROTO_PING: {
        struct proto_pong pong = {.value = f->body.ping.value};
        return native_send(gw, c, PROTO_PONG, rid, &pong, NATIVE_SMALL_BYTES, false);
    }
    default:
        native_violation(gw, c, rid, STROM_ERR_PROTOCOL, "not a request a client may send");
        return true;
    }
}

/* Whether a frame is an append large enough for recv_direct: after one, the gateway receives
 * only the heads of frames into the connection's buffer (GW_RECV_HEAD_BYTES). */
static bool native_large_append(const struct proto_header *h) {
    return h->type == PROTO_APPEND && h->frame_bytes >= GW_RECV_HEAD_BYTES + GW_DIRECT_MIN_BYTES;
}

static void native_malformed(struct gateway *gw, struct gw_conn *c, uint64_t request_id,
                             strom_err err) {
    native_violation(gw, c, request_id, err,
                     err == STROM_ERR_TOO_LARGE ? "frame or field above its limit"
                                                : "malformed frame");
}

static uint32_t native_input(struct gateway *gw, struct gw_conn *c) {
    static struct proto_frame f; /* one gateway per process */
    uint32_t used = 0;
    while (c->state == GW_CONN_OPEN && c->in_len - used >= PROTO_HEADER_BYTES) {
        const uint8_t *frame = c->in + used;
        struct proto_header h;
        strom_err err = proto_header_read(frame, c->in_len - used, gw->config->frame_bytes_max, &h);
        if (err == STROM_OK && h.frame_bytes > c->in_len - used) {
            break; /* the rest has not arrived yet */
        }
        if (err == STROM_OK) {
            err = proto_frame_decode(frame, h.frame_bytes, gw->config->frame_bytes_max, NULL, &f);
        }
        if (err) {
            native_malformed(gw, c, h.request_id, err);
            return c->in_len;
        }
        if (!native_frame(gw, c, &f)) {
            c->read_blocked = true;
            break;
        }
        used += h.frame_bytes;
        gw->counters->frames_in++;
        c->in_heads = native_large_append(&h);
    }
    return c->state == GW_CONN_OPEN ? used : c->in_len;
}

/* Whether the append begun in c->in may take the direct way: its head is there, it would be
 * taken as it is (no error answer), and at least GW_DIRECT_MIN_BYTES of it are still to come. */
static bool native_direct_fits(struct gateway *gw, struct gw_conn *c, struct proto_header *h,
                               struct proto_append *a) {
    return c->hello_done && c->inflight < gw->config->inflight_max &&
           proto_append_head_decode(c->in, c->in_len, gw->config->frame_bytes_max, h, a) ==
               STROM_OK &&
           h->frame_bytes <= c->in_cap && h->frame_bytes >= c->in_len + GW_DIRECT_MIN_BYTES &&
           a->ack <= 1 && !native_path_bad(a);
}

/* recv_direct: an append whose head is in c->in and whose rest (at least GW_DIRECT_MIN_BYTES)
 * is still in the socket is received straight into its request entry, claimed first: the
 * message set's bytes are copied once (by the kernel) instead of twice. When the socket holds
 * less than the rest, what came goes back to c->in and the claim is dropped (the frame then
 * completes the usual way). The set is checked in the entry before it is published. */
static enum gw_direct native_recv_direct(struct gateway *gw, struct gw_conn *c) {
    struct proto_header h;
    struct proto_append a;
    if (!native_direct_fits(gw, c, &h, &a)) {
        return GW_DIRECT_NONE;
    }
    struct node_request req = native_append_request(&h, &a);
    uint8_t *set = NULL;
    if (gw_request_claim(gw, c, &req, a.path, &set) != STROM_OK) {
        return GW_DIRECT_NONE; /* the usual way meets the same and waits or answers */
    }
    size_t have = c->in_len - (size_t)(a.messages - c->in);
    size_t rest = h.frame_bytes - c->in_len;
    memcpy(set, a.messages, have);
    size_t got = 0;
    strom_err err = io_sock_recv(gw->io, c->fd, set + have, rest, &got);
    enum gw_direct d = GW_DIRECT_TAKEN;
    if (err) {
        d = err == STROM_ERR_AGAIN ? GW_DIRECT_EMPTY : GW_DIRECT_CLOSED;
    } else if (got < rest) {
        memcpy(c->in + c->in_len, set + have, got);
        c->in_len += (uint32_t)got;
        d = GW_DIRECT_EMPTY;
    } else if ((err = proto_msgs_check(set, a.messages_len, a.count)) != STROM_OK) {
        native_malformed(gw, c, h.request_id, err);
        c->in_len = 0;
    } else {
        gw_request_publish(gw, c, NODE_ENTRY_APPEND, h.request_id, PROTO_APPEND, a.sync);
        gw->counters->appends++;
        gw->counters->frames_in++;
        gw->counters->direct_appends++;
        c->in_len = 0;
        c->in_heads = true;
    }
    return d;
}

static void native_answer(struct gateway *gw, struct gw_conn *c, const struct gw_pending *p,
                          const struct node_batch *b) {
    strom_assert(c->out_reserved >= GW_ANSWER_BYTES);
    c->out_reserved -= GW_ANSWER_BYTES;
    bool sent;
    if (p->frame_type == PROTO_APPEND) {
        struct proto_append_answer a = {.error = b->error,
                                        .stream_id = b->stream_id,
                                        .base_offset = b->base_offset,
                                        .count = b->count,
                                        .ts_ns = b->timestamp_ns};
        sent =
            native_send(gw, c, PROTO_APPEND_ANSWER, p->client_request, &a, GW_ANSWER_BYTES, true);
    } else {
        struct proto_create_answer a = {.error = b->error,
                                        .stream_id = b->stream_id,
                                        .created = (b->flags & NODE_FLAG_CREATED) != 0};
        sent =
            native_send(gw, c, PROTO_CREATE_ANSWER, p->client_request, &a, GW_ANSWER_BYTES, true);
    }
    strom_assert(sent); /* the room was reserved when the request was taken */
}

static void native_open(struct gateway *gw, struct gw_conn *c) {
    (void)gw;
    (void)c; /* the client speaks first (hello) */
}

const struct gw_protocol gw_native_protocol = {
    .name = "native",
    .on_input = native_input,
    .on_answer = native_answer,
    .on_open = native_open,
    .recv_direct = native_recv_direct,
};
