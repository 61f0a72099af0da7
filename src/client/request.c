/*
 * request.c: the requests of a client (everything answered except reads): the table of requests
 * in flight, appends (asynchronous and blocking), create, list, stat, ping, drain.
 *
 * The table has a power-of-two number of slots, at least inflight_max; request id i lives in slot
 * i & req_mask. Ids grow by one, so a new request needs its slot free: the oldest unanswered
 * request bounds how far ids may run ahead of it.
 *
 * Idempotence: an append carries its stream's (producer id, sequence). An error answer that says
 * the batch was not applied gives the sequence back (the next append reuses it); an error that
 * leaves it in doubt moves the stream to a fresh producer id, so that a later batch is never taken
 * for a retry of one that may have been applied.
 */
#include "client/client.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

enum { LIST_PAGE_STREAMS = PROTO_LIST_STREAMS_MAX };

strom_err request_init(strom_client *c) {
    uint32_t slots = 64;
    while (slots < c->opt.inflight_max) {
        slots *= 2;
    }
    c->reqs = calloc(slots, sizeof c->reqs[0]);
    if (c->reqs == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    c->req_mask = slots - 1;
    c->next_request_id = 1;
    c->oldest_request_id = 1;
    c->inflight_max = c->opt.inflight_max;
    return STROM_OK;
}

void request_free(strom_client *c) {
    free(c->reqs);
    c->reqs = NULL;
}

static struct client_req *request_slot(strom_client *c, uint64_t id) {
    return &c->reqs[id & c->req_mask];
}

strom_err request_begin(strom_client *c, struct client_req **req_out) {
    uint64_t id = c->next_request_id;
    struct client_req *req = request_slot(c, id);
    if (c->inflight >= c->inflight_max || req->request_id != 0) {
        return STROM_ERR_AGAIN;
    }
    *req = (struct client_req){.request_id = id};
    *req_out = req;
    return STROM_OK;
}

/* Room for a frame of at most frame_bytes at the tail of the send buffer: *at_out its start.
 * On an error the request's slot is given back. */
static strom_err request_room(strom_client *c, struct client_req *req, size_t frame_bytes,
                              uint8_t **at_out) {
    strom_assert(req->request_id == c->next_request_id);
    if (frame_bytes > c->out_cap / 2 || frame_bytes > PROTO_FRAME_BYTES_MAX) {
        req->request_id = 0;
        return STROM_ERR_TOO_LARGE;
    }
    if (!client_out_reserve(c, frame_bytes)) {
        req->request_id = 0;
        return STROM_ERR_AGAIN;
    }
    *at_out = c->out + (c->out_tail - c->out_base);
    return STROM_OK;
}

/* Counts the frame of len bytes just encoded at the tail of the send buffer as req's, in
 * flight. */
static void request_sent(strom_client *c, struct client_req *req, size_t len) {
    strom_assert(len > 0 && c->out_tail - c->out_base + len <= c->out_cap);
    req->frame_pos = c->out_tail;
    req->frame_bytes = (uint32_t)len;
    c->out_tail += len;
    c->next_request_id++;
    c->inflight++;
    client_want_connection(c);
}

/* Encodes the request's frame at the tail of the send buffer and counts it in flight.
 * frame_bytes is an upper bound of the frame's length. */
static strom_err request_commit(strom_client *c, struct client_req *req, enum proto_type type,
                                const void *body, size_t frame_bytes) {
    uint8_t *at = NULL;
    strom_err err = request_room(c, req, frame_bytes, &at);
    size_t len = 0;
    if (err == STROM_OK) {
        err = proto_frame_encode(at, frame_bytes, type, req->request_id, body, &len);
        strom_assert(err != STROM_ERR_OVERFLOW);
        req->request_id = err ? 0 : req->request_id;
    }
    if (err == STROM_OK) {
        request_sent(c, req, len);
    }
    return err;
}

/* Frees the slot of an answered request and moves the oldest id past answered ones. */
static void request_finish(strom_client *c, struct client_req *req) {
    strom_assert(c->inflight > 0);
    req->request_id = 0;
    c->inflight--;
    while (c->oldest_request_id < c->next_request_id &&
           request_slot(c, c->oldest_request_id)->request_id != c->oldest_request_id) {
        c->oldest_request_id++;
    }
}

uint64_t request_keep_pos(const strom_client *c) {
    uint64_t keep = c->out_sent;
    if (c->inflight > 0) {
        const struct client_req *old = &c->reqs[c->oldest_request_id & c->req_mask];
        strom_assert(old->request_id == c->oldest_request_id);
        if (old->frame_pos < keep) {
            keep = old->frame_pos;
        }
    }
    return keep;
}

void request_rewind(strom_client *c) {
    uint64_t w = c->out_base;
    for (uint64_t id = c->oldest_request_id; id < c->next_request_id; id++) {
        struct client_req *req = request_slot(c, id);
        if (req->request_id != id) {
            continue;
        }
        strom_assert(req->frame_pos >= w);
        uint8_t *frame = c->out + (req->frame_pos - c->out_base);
        if (req->kind == CLIENT_REQ_APPEND && req->frame_pos < c->out_sent) {
            /* Sent (some of it) on the broken connection: mark it a retry, so that a node that
             * forgot its producer refuses it rather than apply it twice. */
            frame[PROTO_HEADER_FLAGS_AT] =
                (uint8_t)(frame[PROTO_HEADER_FLAGS_AT] | PROTO_FLAG_RETRY);
        }
        memmove(c->out + (w - c->out_base), frame, req->frame_bytes);
        req->frame_pos = w;
        w += req->frame_bytes;
    }
    c->out_sent = c->out_base;
    c->out_tail = w;
}

/* True for the errors that mean the node did not apply the batch (its sequence is unused). */
static bool request_not_applied(strom_err err) {
    switch (err) {
    case STROM_ERR_INVALID_ARGUMENT:
    case STROM_ERR_INVALID_PATH:
    case STROM_ERR_NO_STREAM:
    case STROM_ERR_TOO_LARGE:
    case STROM_ERR_LIMIT:
    case STROM_ERR_PROTOCOL:
    case STROM_ERR_OUT_OF_ORDER_SEQUENCE:
    case STROM_ERR_NOT_CONNECTED:
        return true;
    default:
        return false;
    }
}

/* The stream's bookkeeping after an append's answer. */
static void request_append_settle(strom_client *c, const struct client_req *req, strom_err err) {
    struct client_stream *s = req->stream;
    strom_assert(s->inflight > 0 && c->appends_inflight > 0);
    s->inflight--;
    c->appends_inflight--;
    if (err == STROM_OK || s->producer_id == 0 || s->producer_id != req->producer_id) {
        return;
    }
    if (request_not_applied(err)) {
        if (s->next_sequence > req->sequence) {
            s->next_sequence = req->sequence;
        }
    } else {
        s->producer_id = streams_new_producer_id(c);
        s->next_sequence = 0;
    }
}

/* The answer of an append (or the error that replaces it). */
static void request_on_append(strom_client *c, struct client_req *req,
                              const struct proto_frame *f) {
    struct strom_append_result r = {0};
    if (f->header.type == PROTO_APPEND_ANSWER) {
        const struct proto_append_answer *a = &f->body.append_answer;
        r = (struct strom_append_result){.err = (strom_err)a->error,
                                         .stream_id = a->stream_id,
                                         .base_offset = a->base_offset,
                                         .count = a->count,
                                         .ts_ns = a->ts_ns};
    } else {
        r.err = f->body.error.code != 0 ? (strom_err)f->body.error.code : STROM_ERR_PROTOCOL;
    }
    request_append_settle(c, req, r.err);
    strom_append_fn fn = req->fn;
    void *arg = req->arg;
    bool waited = req->waited && c->wait.request_id == req->request_id;
    request_finish(c, req);
    if (waited) {
        c->wait.append = r;
        c->wait.err = r.err;
        c->wait.done = true;
    } else if (fn != NULL) {
        fn(arg, &r);
    }
}

/* The answer of a blocking call: fills c->wait. */
static void request_on_call(strom_client *c, struct client_req *req, const struct proto_frame *f) {
    struct client_wait *w = &c->wait;
    bool mine = req->waited && w->request_id == req->request_id;
    enum client_req_kind kind = req->kind;
    uint64_t sent_ns = req->sent_ns;
    request_finish(c, req);
    if (!mine) {
        return; /* the caller timed out and left */
    }
    w->done = true;
    w->err = STROM_OK;
    if (f->header.type == PROTO_ERROR) {
        w->err = f->body.error.code != 0 ? (strom_err)f->body.error.code : STROM_ERR_PROTOCOL;
    } else if (kind == CLIENT_REQ_CREATE) {
        w->err = (strom_err)f->body.create_answer.error;
        w->stream_id = f->body.create_answer.stream_id;
        w->created = f->body.create_answer.created;
    } else if (kind == CLIENT_REQ_LIST) {
        const struct proto_list_answer *a = &f->body.list_answer;
        w->err = (strom_err)a->error;
        w->more = a->more && a->streams_count > 0;
        for (uint32_t i = 0; i < a->streams_count && w->err == STROM_OK; i++) {
            const struct proto_stream_info *s = &a->streams[i];
            char path[PROTO_PATH_BYTES_MAX + 1];
            memcpy(path, s->path, s->path_len);
            path[s->path_len] = '\0';
            struct strom_stream_info info = {path,    s->stream_id, s->first,
                                             s->next, s->durable,   s->bytes};
            w->last_id = s->stream_id;
            w->list_fn(w->list_arg, &info);
        }
    } else if (kind == CLIENT_REQ_STAT) {
        const struct proto_stat_answer *a = &f->body.stat_answer;
        w->err = (strom_err)a->error;
        size_t n = a->text_len < w->stat_bytes_max ? a->text_len : w->stat_bytes_max - 1;
        memcpy(w->stat_buf, a->text, n);
        w->stat_buf[n] = '\0';
        w->stat_len = n;
        if (w->err == STROM_OK && n < a->text_len) {
            w->err = STROM_ERR_OVERFLOW;
        }
    } else {
        w->rtt_ns = client_now_ns(c) - sent_ns;
    }
}

/* The answer type each kind expects. */
static bool request_type_fits(enum client_req_kind kind, uint16_t type) {
    static const uint16_t want[] = {
        [CLIENT_REQ_APPEND] = PROTO_APPEND_ANSWER,
        [CLIENT_REQ_CREATE] = PROTO_CREATE_ANSWER,
        [CLIENT_REQ_LIST] = PROTO_LIST_ANSWER,
        [CLIENT_REQ_STAT] = PROTO_STAT_ANSWER,
        [CLIENT_REQ_PING] = PROTO_PONG,
    };
    return type == PROTO_ERROR || type == want[kind];
}

void request_answer(strom_client *c, const struct proto_frame *f) {
    uint64_t id = f->header.request_id;
    struct client_req *req = request_slot(c, id);
    if (id == 0 || req->request_id != id || !request_type_fits(req->kind, f->header.type)) {
        /* An answer to nothing we asked: the connection is confused; start it again. */
        client_disconnect(c, STROM_ERR_PROTOCOL);
        return;
    }
    if (req->kind == CLIENT_REQ_APPEND) {
        request_on_append(c, req, f);
    } else {
        request_on_call(c, req, f);
    }
}

void request_fail_all(strom_client *c, strom_err err) {
    /* Drop every queued byte first: the callbacks below may queue new requests. */
    uint64_t last = c->next_request_id;
    for (uint64_t id = c->oldest_request_id; id < last; id++) {
        request_slot(c, id)->frame_pos = c->out_tail;
    }
    c->out_base = c->out_tail;
    c->out_sent = c->out_tail;
    struct proto_frame f = {.header = {.type = PROTO_ERROR}, .body.error = {.code = err}};
    for (uint64_t id = c->oldest_request_id; id < last; id++) {
        struct client_req *req = request_slot(c, id);
        if (req->request_id == id) {
            f.header.request_id = id;
            request_answer(c, &f);
        }
    }
}

/* --- appends ------------------------------------------------------------------------------- */

/* The message as the generated record: headers go to the array given (STROM_HEADERS_MAX). */
static struct proto_msg request_msg(const struct strom_msg *m, struct proto_msg_header *h) {
    for (uint32_t j = 0; j < m->header_count; j++) {
        h[j] = (struct proto_msg_header){.name = m->headers[j].name,
                                         .name_len = m->headers[j].name_bytes,
                                         .value = m->headers[j].value,
                                         .value_len = m->headers[j].value_bytes};
    }
    return (struct proto_msg){.client_ts_ns = m->client_ts_ns,
                              .key = m->key,
                              .key_len = m->key_bytes,
                              .headers = h,
                              .headers_count = m->header_count,
                              .payload = m->payload,
                              .payload_len = m->payload_bytes};
}

/* Checks a message against the protocol's limits; adds its encoded size to *set_bytes. */
static strom_err request_msg_size(const struct strom_msg *m, size_t *set_bytes) {
    if (m->header_count > STROM_HEADERS_MAX || (m->payload == NULL && m->payload_bytes > 0) ||
        (m->key == NULL && m->key_bytes > 0) || (m->headers == NULL && m->header_count > 0)) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    struct proto_msg_header h[STROM_HEADERS_MAX];
    struct proto_msg pm = request_msg(m, h);
    if (proto_msg_check(&pm) != STROM_OK) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    *set_bytes += proto_msg_encoded_bytes(&pm);
    return STROM_OK;
}

/* Encodes the append frame of a (its set: msgs[0, count), set_bytes long, checked by
 * request_msg_size) at the tail of the send buffer, the messages straight into the frame, and
 * counts it in flight. */
static strom_err request_commit_append(strom_client *c, struct client_req *req,
                                       const struct proto_append *a, const struct strom_msg *msgs,
                                       uint32_t count, size_t set_bytes, size_t frame_bytes) {
    uint8_t *at = NULL;
    strom_err err = request_room(c, req, frame_bytes, &at);
    uint8_t *set = NULL;
    size_t len = 0;
    if (err == STROM_OK) {
        err = proto_append_frame_begin(at, frame_bytes, req->request_id, a, set_bytes, &set, &len);
        strom_assert(err != STROM_ERR_OVERFLOW);
        req->request_id = err ? 0 : req->request_id;
    }
    if (err == STROM_OK) {
        uint8_t *end = set;
        for (uint32_t i = 0; i < count; i++) {
            struct proto_msg_header h[STROM_HEADERS_MAX];
            struct proto_msg pm = request_msg(&msgs[i], h);
            end = proto_msg_put(&pm, end);
        }
        strom_assert((size_t)(end - set) == set_bytes && (size_t)(end - at) == len);
        request_sent(c, req, len);
    }
    return err;
}

/* Queues an append; waited: a blocking call waits for it in c->wait. */
static strom_err request_append(strom_client *c, const char *path, const struct strom_msg *msgs,
                                uint32_t count, uint32_t ack, strom_append_fn fn, void *arg,
                                bool waited) {
    size_t path_len = strlen(path);
    strom_err err = proto_path_check(path, path_len);
    if (err) {
        return err;
    }
    uint32_t nodes = ack & 0xffu;
    if (count == 0 || count > STROM_MSGS_PER_BATCH_MAX || msgs == NULL ||
        (ack & ~(0xffu | STROM_NO_SYNC)) != 0) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    size_t set_bytes = 0;
    for (uint32_t i = 0; i < count && err == STROM_OK; i++) {
        err = request_msg_size(&msgs[i], &set_bytes);
    }
    size_t frame_bytes = proto_append_frame_bytes(path_len, set_bytes);
    uint32_t frame_max =
        c->server.frame_bytes_max ? c->server.frame_bytes_max : PROTO_FRAME_BYTES_MAX;
    if (err == STROM_OK && frame_bytes > frame_max) {
        err = STROM_ERR_TOO_LARGE;
    }
    struct client_stream *s = NULL;
    if (err == STROM_OK) {
        err = streams_get(c, path, path_len, &s);
    }
    uint32_t window = c->server.idempotence_window;
    if (err == STROM_OK && s->producer_id != 0 && window > 0 && s->inflight >= window) {
        err = STROM_ERR_AGAIN; /* a retry beyond the window could not be told from a new batch */
    }
    struct client_req *req = NULL;
    if (err == STROM_OK) {
        err = request_begin(c, &req);
    }
    if (err) {
        return err;
    }
    struct proto_append a = {
        .path = path,
        .path_len = (uint32_t)path_len,
        .ack = (uint8_t)(nodes == 0 ? 1 : nodes),
        .sync = (ack & STROM_NO_SYNC) == 0,
        .producer_id = s->producer_id,
        .sequence = s->producer_id != 0 ? s->next_sequence : 0,
        .count = count,
    };
    req->kind = CLIENT_REQ_APPEND;
    req->stream = s;
    req->producer_id = a.producer_id;
    req->sequence = a.sequence;
    req->fn = fn;
    req->arg = arg;
    req->waited = waited;
    uint64_t id = req->request_id;
    err = request_commit_append(c, req, &a, msgs, count, set_bytes, frame_bytes);
    if (err == STROM_OK) {
        s->inflight++;
        s->next_sequence += s->producer_id != 0 ? 1 : 0;
        c->appends_inflight++;
        if (waited) {
            c->wait = (struct client_wait){.request_id = id};
        }
    }
    return err;
}

strom_err strom_append_async(strom_client *c, const char *path, const struct strom_msg *msgs,
                             uint32_t count, uint32_t ack, strom_append_fn fn, void *arg) {
    return request_append(c, path, msgs, count, ack, fn, arg, false);
}

/* Queues with request_append, stepping while the pipeline is full (bounded by the timeout). */
static strom_err request_append_blocking(strom_client *c, const char *path,
                                         const struct strom_msg *msgs, uint32_t count,
                                         uint32_t ack) {
    uint64_t deadline = client_now_ns(c) + c->opt.request_timeout_ns;
    for (;;) {
        strom_err err = request_append(c, path, msgs, count, ack, NULL, NULL, true);
        uint64_t now = client_now_ns(c);
        if (err != STROM_ERR_AGAIN) {
            return err;
        }
        if (now >= deadline) {
            return STROM_ERR_TIMEOUT;
        }
        err = strom_step(c, deadline - now);
        if (err) {
            return err;
        }
    }
}

strom_err strom_append(strom_client *c, const char *path, const struct strom_msg *msgs,
                       uint32_t count, uint32_t ack, struct strom_append_result *result) {
    strom_err err = request_append_blocking(c, path, msgs, count, ack);
    if (err == STROM_OK) {
        err = client_wait_for(c, &c->wait.done);
    }
    if (err == STROM_OK) {
        err = c->wait.err;
        if (result != NULL) {
            *result = c->wait.append;
        }
    } else if (result != NULL) {
        *result = (struct strom_append_result){.err = err};
    }
    c->wait.request_id = 0;
    return err;
}

strom_err strom_drain(strom_client *c, uint64_t timeout_ns) {
    uint64_t start = client_now_ns(c);
    while (c->appends_inflight > 0) {
        uint64_t spent = client_now_ns(c) - start;
        if (spent >= timeout_ns) {
            return STROM_ERR_TIMEOUT;
        }
        strom_err err = strom_step(c, timeout_ns - spent);
        if (err && c->appends_inflight > 0) {
            return err;
        }
    }
    return STROM_OK;
}

uint32_t strom_inflight(const strom_client *c) {
    return c->appends_inflight;
}

/* --- blocking calls ------------------------------------------------------------------------ */

/* Sends one request of kind and waits for its answer in c->wait (set up by the caller apart
 * from request_id and done). */
static strom_err request_call(strom_client *c, enum client_req_kind kind, enum proto_type type,
                              const void *body, size_t frame_bytes) {
    struct client_req *req = NULL;
    uint64_t deadline = client_now_ns(c) + c->opt.request_timeout_ns;
    strom_err err;
    while ((err = request_begin(c, &req)) == STROM_ERR_AGAIN && client_now_ns(c) < deadline) {
        strom_step(c, deadline - client_now_ns(c));
    }
    if (err) {
        return err;
    }
    req->kind = kind;
    req->waited = true;
    req->sent_ns = client_now_ns(c);
    uint64_t id = req->request_id;
    err = request_commit(c, req, type, body, frame_bytes);
    if (err) {
        return err;
    }
    c->wait.request_id = id;
    c->wait.done = false;
    err = client_wait_for(c, &c->wait.done);
    c->wait.request_id = 0;
    return err != STROM_OK ? err : c->wait.err;
}

strom_err strom_create(strom_client *c, const char *path, uint64_t *stream_id, bool *created) {
    size_t len = strlen(path);
    strom_err err = proto_path_check(path, len);
    if (err) {
        return err;
    }
    struct proto_create body = {.path = path, .path_len = (uint32_t)len};
    c->wait = (struct client_wait){0};
    err = request_call(c, CLIENT_REQ_CREATE, PROTO_CREATE, &body, PROTO_HEADER_BYTES + 4 + len);
    if (err == STROM_OK && stream_id != NULL) {
        *stream_id = c->wait.stream_id;
    }
    if (err == STROM_OK && created != NULL) {
        *created = c->wait.created;
    }
    return err;
}

strom_err strom_list(strom_client *c, const char *prefix, strom_stream_fn fn, void *arg) {
    size_t len = prefix != NULL ? strlen(prefix) : 0;
    if (len > PROTO_PATH_BYTES_MAX || fn == NULL) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    uint64_t after = 0;
    strom_err err;
    do {
        struct proto_list body = {.prefix = prefix,
                                  .prefix_len = (uint32_t)len,
                                  .after_id = after,
                                  .count_max = LIST_PAGE_STREAMS};
        c->wait = (struct client_wait){.list_fn = fn, .list_arg = arg, .last_id = after};
        err = request_call(c, CLIENT_REQ_LIST, PROTO_LIST, &body, PROTO_HEADER_BYTES + 16 + len);
        if (err == STROM_OK && c->wait.more && c->wait.last_id <= after) {
            err = STROM_ERR_PROTOCOL; /* a node that does not move on would loop forever */
        }
        after = c->wait.last_id;
    } while (err == STROM_OK && c->wait.more);
    return err;
}

strom_err strom_stat(strom_client *c, char *buf, size_t bytes_max, size_t *len_out) {
    if (buf == NULL || bytes_max == 0) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    c->wait = (struct client_wait){.stat_buf = buf, .stat_bytes_max = bytes_max};
    buf[0] = '\0';
    strom_err err = request_call(c, CLIENT_REQ_STAT, PROTO_STAT, NULL, PROTO_HEADER_BYTES);
    if (len_out != NULL) {
        *len_out = c->wait.stat_len;
    }
    return err;
}

strom_err strom_ping(strom_client *c, uint64_t *rtt_ns) {
    struct proto_ping body = {.value = client_now_ns(c)};
    c->wait = (struct client_wait){0};
    strom_err err = request_call(c, CLIENT_REQ_PING, PROTO_PING, &body, PROTO_HEADER_BYTES + 8);
    if (err == STROM_OK && rtt_ns != NULL) {
        *rtt_ns = c->wait.rtt_ns;
    }
    return err;
}
