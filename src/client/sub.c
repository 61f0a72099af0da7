/*
 * sub.c: subscriptions and reads of a client: the read request, deliveries in callback or pull
 * mode, credit, the end of a read, and resuming after a reconnect from the next offset not yet
 * delivered.
 *
 * Invariants: a subscription is in c->subs[slot] from strom_subscribe to strom_sub_close;
 * next_offset only grows; a message is handed to the application once, in offset order (a
 * deliver that repeats offsets after a reconnect is skipped up to next_offset).
 *
 * Pull mode keeps the deliveries it received as copies in the subscription's queue, each as a
 * 32-byte record head (stream id, base offset, ts, count, set bytes) and the message set; the
 * credit bounds the queue to credit_bytes plus one frame. queue_head is the start of the deliver
 * being consumed (cur), which stays in the queue, moved with it, until it is done.
 */
#include "client/client.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

enum { SUB_QUEUE_HEAD_BYTES = 32 };

static strom_sub *sub_lookup(strom_client *c, uint64_t read_id) {
    uint32_t slot = (uint32_t)(read_id & 0xffffffffu);
    if ((read_id & CLIENT_READ_ID_BIT) == 0 || slot >= CLIENT_SUBS_MAX) {
        return NULL;
    }
    strom_sub *sub = c->subs[slot];
    return sub != NULL && sub->read_id == read_id ? sub : NULL;
}

void strom_read_options_init(struct strom_read_options *ro) {
    *ro = (struct strom_read_options){.from = 0, .to = STROM_OFFSET_END};
}

/* Bytes delivered to the subscription and not yet consumed (pull mode). */
static uint64_t sub_queued(const strom_sub *sub) {
    return sub->queue_tail - sub->queue_head;
}

/* Sends the read for sub on the current connection; false when the send buffer is full. */
static bool sub_send_read(strom_client *c, strom_sub *sub) {
    size_t len = strlen(sub->path);
    uint64_t queued = sub_queued(sub);
    uint64_t credit = sub->ro.credit_bytes > queued ? sub->ro.credit_bytes - queued : 0;
    struct proto_read body = {
        .path = sub->path,
        .path_len = (uint32_t)len,
        .from = sub->next_offset,
        .to = sub->ro.to,
        .follow = sub->ro.follow,
        .ack = (uint8_t)((sub->ro.ack & 0xffu) == 0 ? 1 : sub->ro.ack & 0xffu),
        .sync = (sub->ro.ack & STROM_NO_SYNC) == 0,
        .credit_bytes = credit,
    };
    size_t need = PROTO_HEADER_BYTES + 8 + 4 + len + 8 + 8 + 3 + 8;
    if (!client_out_reserve(c, need)) {
        return false;
    }
    size_t got = 0;
    strom_err err = proto_frame_encode(c->out + (c->out_tail - c->out_base), need, PROTO_READ,
                                       sub->read_id, &body, &got);
    strom_assert(err == STROM_OK && got == need);
    c->out_tail += got;
    sub->open = true;
    sub->credit_unsent = 0;
    return true;
}

/* Queues a frame without an answer (credit, cancel) for sub; false when there is no room. */
static bool sub_send_plain(strom_client *c, strom_sub *sub, enum proto_type type, uint64_t bytes) {
    struct proto_credit body = {.bytes = bytes};
    size_t need = PROTO_HEADER_BYTES + (type == PROTO_CREDIT ? 8 : 0);
    if (c->state != CLIENT_READY || !client_out_reserve(c, need)) {
        return false;
    }
    size_t got = 0;
    strom_err err = proto_frame_encode(c->out + (c->out_tail - c->out_base), need, type,
                                       sub->read_id, type == PROTO_CREDIT ? &body : NULL, &got);
    strom_assert(err == STROM_OK);
    c->out_tail += got;
    return true;
}

strom_err strom_subscribe(strom_client *c, const char *path, const struct strom_read_options *ro,
                          strom_sub_fn fn, void *arg, strom_sub **out) {
    struct strom_read_options defaults;
    strom_read_options_init(&defaults);
    defaults.credit_bytes = c->opt.credit_bytes;
    if (ro == NULL) {
        ro = &defaults;
    }
    size_t len = strlen(path);
    strom_err err = proto_path_check(path, len);
    if (err) {
        return err;
    }
    if ((ro->ack & ~(0xffu | STROM_NO_SYNC)) != 0 || ro->from > ro->to || out == NULL) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    uint32_t slot = 0;
    while (slot < CLIENT_SUBS_MAX && c->subs[slot] != NULL) {
        slot++;
    }
    if (slot == CLIENT_SUBS_MAX) {
        return STROM_ERR_LIMIT;
    }
    strom_sub *sub = calloc(1, sizeof *sub);
    if (sub == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    c->sub_generation[slot]++;
    *sub = (strom_sub){
        .client = c, .slot = slot, .ro = *ro, .fn = fn, .arg = arg, .next_offset = ro->from};
    sub->read_id = CLIENT_READ_ID_BIT | (uint64_t)c->sub_generation[slot] << 32 | slot;
    if (sub->ro.credit_bytes == 0) {
        sub->ro.credit_bytes = c->opt.credit_bytes;
    }
    memcpy(sub->path, path, len + 1);
    c->subs[slot] = sub;
    if (slot >= c->subs_high) {
        c->subs_high = slot + 1;
    }
    client_want_connection(c);
    if (c->state != CLIENT_READY || !sub_send_read(c, sub)) {
        c->resume_needed = true; /* sub_resume sends it later */
    }
    *out = sub;
    return STROM_OK;
}

void sub_resume(strom_client *c) {
    /* Every step calls this: without the flag, a client with thousands of subscriptions would
     * look at each of them on every step (the 100,000-stream benchmark's client did). */
    if (!c->resume_needed) {
        return;
    }
    c->resume_needed = false;
    for (uint32_t i = 0; i < c->subs_high; i++) {
        strom_sub *sub = c->subs[i];
        if (sub != NULL && !sub->open && !sub->ended && !sub->closing) {
            if (!sub_send_read(c, sub)) {
                c->resume_needed = true;
                return;
            }
        }
    }
}

void sub_connection_lost(strom_client *c) {
    c->resume_needed = true;
    for (uint32_t i = 0; i < c->subs_high; i++) {
        if (c->subs[i] != NULL) {
            c->subs[i]->open = false;
        }
    }
}

/* Frees sub's slot and memory. */
static void sub_release(strom_client *c, strom_sub *sub) {
    strom_assert(c->subs[sub->slot] == sub);
    c->subs[sub->slot] = NULL;
    free(sub->queue);
    free(sub);
}

/* Ends sub with err and tells a callback subscription. */
static void sub_finish(strom_client *c, strom_sub *sub, strom_err err) {
    sub->ended = true;
    sub->open = false;
    sub->end_err = err;
    if (sub->fn != NULL && !sub->closing) {
        c->dispatching = sub;
        sub->fn(sub->arg, sub, NULL, err);
        c->dispatching = NULL;
        if (sub->closing) {
            sub_release(c, sub);
        }
    }
}

void sub_fail_all(strom_client *c, strom_err err) {
    for (uint32_t i = 0; i < c->subs_high; i++) {
        strom_sub *sub = c->subs[i];
        if (sub != NULL && !sub->ended) {
            sub_finish(c, sub, err);
        }
    }
}

void sub_end(strom_client *c, const struct proto_frame *f) {
    strom_sub *sub = sub_lookup(c, f->header.request_id);
    if (sub == NULL || sub->ended) {
        return; /* closed by the application meanwhile */
    }
    strom_err err;
    if (f->header.type == PROTO_READ_END) {
        err = (strom_err)f->body.read_end.error;
        if (err == STROM_OK && f->body.read_end.next_offset > sub->next_offset &&
            sub_queued(sub) == 0) {
            sub->next_offset = f->body.read_end.next_offset;
        }
    } else {
        err = f->body.error.code != 0 ? (strom_err)f->body.error.code : STROM_ERR_PROTOCOL;
    }
    sub_finish(c, sub, err);
}

/* Fills m from a message of a deliver; headers go to the headers array given. */
static void sub_fill_msg(struct strom_msg *m, const struct proto_msg *pm,
                         struct strom_header *headers, uint64_t stream_id, uint64_t offset,
                         uint64_t ts_ns) {
    for (uint32_t h = 0; h < pm->headers_count; h++) {
        const struct proto_msg_header *ph = &pm->headers[h];
        headers[h] = (struct strom_header){ph->name, ph->name_len, ph->value, ph->value_len};
    }
    *m = (struct strom_msg){
        .payload = pm->payload,
        .payload_bytes = pm->payload_len,
        .key = pm->key,
        .key_bytes = pm->key_len,
        .headers = pm->headers_count > 0 ? headers : NULL,
        .header_count = pm->headers_count,
        .client_ts_ns = pm->client_ts_ns,
        .stream_id = stream_id,
        .offset = offset,
        .ts_ns = ts_ns,
    };
}

/* Counts bytes the application consumed, for the next credit. */
static void sub_consumed(strom_client *c, strom_sub *sub, uint64_t bytes) {
    sub->credit_unsent += (int64_t)bytes;
    if ((uint64_t)sub->credit_unsent * 2 >= sub->ro.credit_bytes) {
        c->credit_dirty = true;
    }
}

/* Callback mode: hands the messages of a deliver to the application. */
static void sub_deliver_callbacks(strom_client *c, strom_sub *sub, const struct proto_deliver *d) {
    proto_msgs_begin(&c->deliver_iter, d->messages, d->messages_len, d->count);
    struct proto_msg pm;
    c->dispatching = sub;
    if (sub->next_offset == STROM_OFFSET_END) {
        /* Opened at the end: the node starts the read at the stream's end when it arrives, so
         * the first deliver says where that was. */
        sub->next_offset = d->base_offset;
    }
    for (uint64_t off = d->base_offset;
         !sub->closing && proto_msgs_next(&c->deliver_iter, &pm) == STROM_OK; off++) {
        if (off < sub->next_offset || off >= sub->ro.to) {
            continue;
        }
        struct strom_msg m;
        sub_fill_msg(&m, &pm, c->headers, d->stream_id, off, d->ts_ns);
        sub->next_offset = off + 1;
        sub->fn(sub->arg, sub, &m, STROM_OK);
    }
    c->dispatching = NULL;
    if (sub->closing) {
        sub_release(c, sub);
        return;
    }
    sub_consumed(c, sub, d->messages_len);
}

/* Pull mode: copies a deliver into the subscription's queue. */
static void sub_deliver_queue(strom_client *c, strom_sub *sub, const struct proto_deliver *d) {
    size_t need = SUB_QUEUE_HEAD_BYTES + d->messages_len;
    /* The deliver being consumed (at queue_head) moves with the queue: keep its cursor's place. */
    size_t at = sub->cur_valid ? (size_t)(sub->cur.cur.at - sub->queue) : 0;
    size_t end = sub->cur_valid ? (size_t)(sub->cur.cur.end - sub->queue) : 0;
    size_t shift = 0;
    if (sub->queue_head > 0 && sub->queue_tail + need > sub->queue_cap) {
        shift = sub->queue_head;
        memmove(sub->queue, sub->queue + shift, sub->queue_tail - shift);
        sub->queue_tail -= shift;
        sub->queue_head = 0;
    }
    if (sub->queue_tail + need > sub->queue_cap) {
        size_t cap = sub->queue_tail + need;
        cap = cap < 2 * sub->queue_cap ? 2 * sub->queue_cap : cap;
        uint8_t *q = realloc(sub->queue, cap);
        if (q == NULL) {
            /* Cannot hold it: end the subscription rather than lose messages silently. */
            sub_send_plain(c, sub, PROTO_CANCEL, 0);
            sub_finish(c, sub, STROM_ERR_NO_MEMORY);
            return;
        }
        sub->queue = q;
        sub->queue_cap = cap;
    }
    if (sub->cur_valid) {
        sub->cur.cur.at = sub->queue + at - shift;
        sub->cur.cur.end = sub->queue + end - shift;
    }
    uint8_t *p = sub->queue + sub->queue_tail;
    uint64_t head[4] = {d->stream_id, d->base_offset, d->ts_ns,
                        (uint64_t)d->count << 32 | d->messages_len};
    memcpy(p, head, sizeof head);
    memcpy(p + SUB_QUEUE_HEAD_BYTES, d->messages, d->messages_len);
    sub->queue_tail += need;
}

void sub_deliver(strom_client *c, const struct proto_frame *f) {
    strom_sub *sub = sub_lookup(c, f->header.request_id);
    if (sub == NULL || sub->ended || sub->closing) {
        return; /* closed meanwhile: the cancel is on its way */
    }
    if (sub->fn != NULL) {
        sub_deliver_callbacks(c, sub, &f->body.deliver);
    } else {
        sub_deliver_queue(c, sub, &f->body.deliver);
    }
}

void sub_flush_credit(strom_client *c) {
    if (!c->credit_dirty) {
        return;
    }
    c->credit_dirty = false;
    for (uint32_t i = 0; i < c->subs_high; i++) {
        strom_sub *sub = c->subs[i];
        if (sub == NULL || !sub->open || (uint64_t)sub->credit_unsent * 2 < sub->ro.credit_bytes) {
            continue;
        }
        if (sub_send_plain(c, sub, PROTO_CREDIT, (uint64_t)sub->credit_unsent)) {
            sub->credit_unsent = 0;
        } else {
            c->credit_dirty = true;
        }
    }
}

/* Pull mode: loads the next queued deliver into sub->cur. */
static bool sub_load_next(strom_client *c, strom_sub *sub) {
    if (sub->cur_valid) {
        sub_consumed(c, sub, sub->cur_bytes);
        sub->queue_head += SUB_QUEUE_HEAD_BYTES + sub->cur_bytes;
        sub->cur_valid = false;
    }
    if (sub->queue_head == sub->queue_tail) {
        sub->queue_head = 0;
        sub->queue_tail = 0;
        return false;
    }
    uint64_t head[4];
    memcpy(head, sub->queue + sub->queue_head, sizeof head);
    sub->cur_stream = head[0];
    sub->cur_base = head[1];
    sub->cur_ts = head[2];
    uint32_t count = (uint32_t)(head[3] >> 32);
    sub->cur_bytes = (uint32_t)head[3];
    proto_msgs_begin(&sub->cur, sub->queue + sub->queue_head + SUB_QUEUE_HEAD_BYTES, sub->cur_bytes,
                     count);
    sub->cur_index = 0;
    sub->cur_valid = true; /* queue_head stays at it until it is consumed */
    return true;
}

/* Pull mode: the next message already received, if any. */
static bool sub_take(strom_client *c, strom_sub *sub, struct strom_msg *msg) {
    for (;;) {
        struct proto_msg pm;
        if (sub->cur_valid && sub->next_offset == STROM_OFFSET_END) {
            sub->next_offset = sub->cur_base; /* opened at the end: see sub_deliver_callbacks */
        }
        if (sub->cur_valid && proto_msgs_next(&sub->cur, &pm) == STROM_OK) {
            uint64_t off = sub->cur_base + sub->cur_index++;
            if (off < sub->next_offset || off >= sub->ro.to) {
                continue;
            }
            sub_fill_msg(msg, &pm, sub->headers, sub->cur_stream, off, sub->cur_ts);
            sub->next_offset = off + 1;
            return true;
        }
        if (!sub_load_next(c, sub)) {
            return false;
        }
    }
}

strom_err strom_sub_next(strom_client *c, strom_sub *sub, struct strom_msg *msg,
                         uint64_t timeout_ns) {
    strom_assert(sub->fn == NULL && sub->client == c);
    uint64_t start = client_now_ns(c);
    for (;;) {
        if (sub_take(c, sub, msg)) {
            return STROM_OK;
        }
        if (sub->ended) {
            return sub->end_err == STROM_OK ? STROM_ERR_END : sub->end_err;
        }
        uint64_t spent = client_now_ns(c) - start;
        if (spent >= timeout_ns) {
            return STROM_ERR_TIMEOUT;
        }
        strom_err err = strom_step(c, timeout_ns - spent);
        if (err && !sub->ended && sub->queue_head == sub->queue_tail) {
            return err;
        }
    }
}

uint64_t strom_sub_next_offset(const strom_sub *sub) {
    return sub->next_offset;
}

void strom_sub_close(strom_client *c, strom_sub *sub) {
    if (sub == NULL || sub->closing) {
        return;
    }
    strom_assert(sub->client == c && c->subs[sub->slot] == sub);
    if (sub->open && !sub->ended) {
        sub_send_plain(c, sub, PROTO_CANCEL, 0); /* if it does not fit, the node's read ends
                                                    with the connection */
    }
    sub->closing = true;
    if (c->dispatching != sub) {
        sub_release(c, sub);
    }
}

void sub_free_all(strom_client *c) {
    for (uint32_t i = 0; i < c->subs_high; i++) {
        if (c->subs[i] != NULL) {
            sub_release(c, c->subs[i]);
        }
    }
}

/* A read that stops at the current end: subscribe, step until it ends, close. */
strom_err strom_read(strom_client *c, const char *path, const struct strom_read_options *ro,
                     strom_sub_fn fn, void *arg, uint64_t *next_out) {
    struct strom_read_options r;
    strom_read_options_init(&r);
    r.credit_bytes = c->opt.credit_bytes;
    if (ro != NULL) {
        r = *ro;
    }
    r.follow = false;
    if (fn == NULL) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    strom_sub *sub = NULL;
    strom_err err = strom_subscribe(c, path, &r, fn, arg, &sub);
    /* The timeout bounds a wait without progress, not the whole read. */
    uint64_t deadline = client_now_ns(c) + c->opt.request_timeout_ns;
    uint64_t seen = r.from;
    while (err == STROM_OK && !sub->ended) {
        uint64_t now = client_now_ns(c);
        if (sub->next_offset != seen) {
            seen = sub->next_offset;
            deadline = now + c->opt.request_timeout_ns;
        }
        if (now >= deadline) {
            err = STROM_ERR_TIMEOUT;
            break;
        }
        err = strom_step(c, deadline - now);
    }
    if (sub != NULL) {
        if (err == STROM_OK) {
            err = sub->end_err;
        }
        if (next_out != NULL) {
            *next_out = sub->next_offset;
        }
        strom_sub_close(c, sub);
    }
    return err;
}
