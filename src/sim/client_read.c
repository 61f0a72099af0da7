/*
 * client_read.c: simulated subscribers, readers and verifiers (see client.h).
 *
 * A read in flight has a request id; every deliver of it must continue exactly where the last one
 * stopped (r.next), after skipping what lies before `from` in the first batch (a batch is never
 * cut). A subscriber keeps r.next across broken connections and opens its read again from there,
 * so over its whole life it must see every offset of its stream from its start once, in order.
 * At the sync level, every offset delivered must lie below the stream's durable watermark in the
 * node's registry when it arrives (it only grows while the node lives), and must never be lost.
 */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "node/registry.h"
#include "sim/client_internal.h"

static void read_open(struct cl *cl, uint64_t from, uint64_t to, bool follow, bool sync,
                      uint8_t ack) {
    struct sim_clients *c = cl->all;
    struct cl_read *r = &cl->r;
    r->ack = ack;
    const char *path = sim_model_path(c->m, cl->stream);
    r->rid = cl->next_rid++;
    r->from = from;
    r->to = to;
    r->follow = follow;
    r->sync = sync;
    r->consumed = 0;
    if (cl->kind != CL_SUBSCRIBER || r->next == UINT64_MAX) {
        r->next = from;
    }
    struct proto_read q = {.path = path,
                           .path_len = (uint32_t)strlen(path),
                           .from = from,
                           .to = to,
                           .follow = follow,
                           .ack = ack,
                           .sync = sync,
                           .credit_bytes = c->wl.credit_bytes};
    c->stats.reads++;
    sim_trace(c->w, "client.read", cl->index, from, sync);
    cl_send_frame(cl, PROTO_READ, r->rid, &q);
}

/* 0 or 1 (both level 1 on one node); draws only when the seed has level 0 at all. */
static uint8_t read_level(struct sim_clients *c) {
    return c->wl.ack0_p > 0 && rng_chance(sim_rng(c->w), c->wl.ack0_p) ? 0 : 1;
}

/* A reader's next read: a random stream, level and range. */
static void reader_open(struct cl *cl) {
    struct sim_clients *c = cl->all;
    struct rng *rng = sim_rng(c->w);
    cl->stream = (uint32_t)rng_below(rng, c->wl.streams);
    uint64_t len = sim_model_len(c->m, cl->stream);
    uint64_t pick = rng_below(rng, 4);
    uint64_t from = pick == 0 ? 0 : pick == 3 ? UINT64_MAX : rng_below(rng, len + 2);
    uint64_t to =
        from != UINT64_MAX && rng_chance(rng, 0.5) ? from + 1 + rng_below(rng, 64) : UINT64_MAX;
    bool sync = rng_chance(rng, c->wl.read_sync_p);
    uint8_t ack = c->wl.ack_over_p > 0 && rng_chance(rng, c->wl.ack_over_p)
                      ? (uint8_t)rng_range(rng, 2, UINT8_MAX)
                      : read_level(c);
    read_open(cl, from, to, false, sync, ack);
}

static void subscriber_open(struct cl *cl) {
    struct sim_clients *c = cl->all;
    struct cl_read *r = &cl->r;
    if (r->next == UINT64_MAX) {
        struct rng *rng = sim_rng(c->w);
        uint64_t len = sim_model_len(c->m, cl->stream);
        uint64_t pick = rng_below(rng, 3);
        r->next = pick == 0 ? 0 : pick == 1 ? rng_below(rng, len + 1) : len;
    }
    read_open(cl, r->next, UINT64_MAX, true, r->sync, read_level(c));
}

void cl_read_ready(struct cl *cl) {
    if (cl->r.rid != 0) {
        return;
    }
    if (cl->kind == CL_SUBSCRIBER) {
        subscriber_open(cl);
    } else if (cl->kind == CL_READER) {
        reader_open(cl);
    } else {
        cl->r.attempts++;
        read_open(cl, 0, UINT64_MAX, false, true, read_level(cl->all));
    }
}

void cl_read_broken(struct cl *cl) {
    cl->r.rid = 0;
}

void cl_read_timer(struct cl *cl) {
    if (cl->state == CL_READY && cl->r.rid == 0 && !cl->r.done) {
        cl_read_ready(cl);
    }
}

static void read_later(struct cl *cl, uint64_t delay_ns) {
    cl_schedule_read(cl, delay_ns);
}

/* --- deliveries ---------------------------------------------------------------------------------
 */

/* The deliver's stream id names our path in the node's registry; returns its record or NULL. */
static const struct node_stream *deliver_stream(struct cl *cl, uint64_t stream_id) {
    struct sim_clients *c = cl->all;
    const struct node_shm *shm = simnode_shm(c->node);
    if (!shm || stream_id >= registry_count(&shm->registry)) {
        return NULL;
    }
    size_t len = 0;
    const char *path = registry_path(&shm->registry, stream_id, &len);
    const char *want = sim_model_path(c->m, cl->stream);
    if (len != strlen(want) || memcmp(path, want, len) != 0) {
        sim_model_fail(c->m, SIM_CHECK_SUBSCRIBER, cl->stream, 0, 0, sim_now_ns(c->w),
                       "a read of %s got a deliver of stream id %llu, which is %.*s", want,
                       (unsigned long long)stream_id, (int)len, path);
        return NULL;
    }
    return registry_stream(&shm->registry, stream_id);
}

/* One delivered message at offset: its place in the read, its bytes, its watermark. */
static void deliver_one(struct cl *cl, uint64_t offset, const struct proto_msg *msg,
                        const struct node_stream *st, uint64_t ts_ns) {
    struct sim_clients *c = cl->all;
    struct cl_read *r = &cl->r;
    uint64_t now = sim_now_ns(c->w);
    if (r->next == UINT64_MAX) {
        r->next = offset;
    }
    if (offset != r->next) {
        sim_model_fail(c->m, SIM_CHECK_SUBSCRIBER, cl->stream, r->next, offset, now,
                       "client %u (%s read from %llu) expected offset %llu and got %llu", cl->index,
                       r->sync ? "sync" : "ack-1", (unsigned long long)r->from,
                       (unsigned long long)r->next, (unsigned long long)offset);
        return;
    }
    struct sim_msg_id id;
    if (!cl_payload_parse(&c->wl, msg->payload, msg->payload_len, &id)) {
        sim_model_fail(c->m, SIM_CHECK_OFFSETS, cl->stream, offset, offset, now,
                       "offset %llu was delivered with bytes no producer sent (%u bytes)",
                       (unsigned long long)offset, msg->payload_len);
        return;
    }
    uint64_t durable = st ? __atomic_load_n(&st->durable_next, __ATOMIC_ACQUIRE) : UINT64_MAX;
    if (r->sync && offset >= durable) {
        sim_model_fail(c->m, SIM_CHECK_SUBSCRIBER, cl->stream, offset, offset, now,
                       "client %u read offset %llu at the sync level while the durable "
                       "watermark is %llu",
                       cl->index, (unsigned long long)offset, (unsigned long long)durable);
        return;
    }
    sim_model_observe(c->m, cl->stream, offset, &id, ts_ns, r->sync, now);
    r->next++;
    c->stats.delivered++;
}

void cl_read_deliver(struct cl *cl, const struct proto_frame *f) {
    struct sim_clients *c = cl->all;
    struct cl_read *r = &cl->r;
    const struct proto_deliver *d = &f->body.deliver;
    if (f->header.request_id != r->rid || r->rid == 0) {
        sim_model_fail(c->m, SIM_CHECK_PROTOCOL, cl->stream, d->base_offset, d->base_offset,
                       sim_now_ns(c->w),
                       "client %u got a deliver for request %llu; its read is %llu", cl->index,
                       (unsigned long long)f->header.request_id, (unsigned long long)r->rid);
        return;
    }
    if (r->ack > 1) {
        sim_model_fail(
            c->m, SIM_CHECK_PROTOCOL, cl->stream, d->base_offset, d->base_offset, sim_now_ns(c->w),
            "a read at ack level %u got a deliver; one node must refuse a level above 1", r->ack);
        return;
    }
    const struct node_stream *st = deliver_stream(cl, d->stream_id);
    struct proto_msgs_iter it;
    proto_msgs_begin(&it, d->messages, d->messages_len, d->count);
    for (uint32_t i = 0; i < d->count && !sim_model_failed(c->m); i++) {
        struct proto_msg msg;
        strom_err err = proto_msgs_next(&it, &msg);
        strom_assert(err == STROM_OK); /* the frame decoder checked the set */
        uint64_t offset = d->base_offset + i;
        if ((r->from != UINT64_MAX && offset < r->from) || offset >= r->to) {
            continue; /* the batch is not cut: its ends may lie outside the range */
        }
        deliver_one(cl, offset, &msg, st, d->ts_ns);
    }
    r->last_ts_ns = d->ts_ns;
    r->consumed += d->messages_len;
    if (r->consumed * 2 >= c->wl.credit_bytes) {
        struct proto_credit cr = {.bytes = r->consumed};
        r->consumed = 0;
        cl_send_frame(cl, PROTO_CREDIT, r->rid, &cr);
    }
}

/* --- ends ----------------------------------------------------------------------------------------
 */

static void verifier_end(struct cl *cl, uint32_t error) {
    struct sim_clients *c = cl->all;
    struct cl_read *r = &cl->r;
    uint64_t now = sim_now_ns(c->w);
    if (error == STROM_ERR_NO_STREAM && cl_registry_stream(c, cl->stream) == NULL) {
        error = 0; /* nobody created it: it ends at 0 */
        r->next = 0;
    }
    if (error != 0) {
        if (r->attempts >= 5) {
            sim_model_fail(c->m, SIM_CHECK_LIVENESS, cl->stream, 0, 0, now,
                           "the final read of %s failed %u times, last with %s",
                           sim_model_path(c->m, cl->stream), r->attempts, strom_errname(error));
            return;
        }
        read_later(cl, SIM_READ_RETRY_NS);
        return;
    }
    const struct node_stream *st = cl_registry_stream(c, cl->stream);
    uint64_t next = st ? __atomic_load_n(&st->next_offset, __ATOMIC_ACQUIRE) : 0;
    uint64_t end = r->next;
    if (end != next) {
        sim_model_fail(c->m, SIM_CHECK_OFFSETS, cl->stream, end, next, now,
                       "the final read of %s at the sync level ended at %llu; the stream's next "
                       "offset is %llu",
                       sim_model_path(c->m, cl->stream), (unsigned long long)end,
                       (unsigned long long)next);
        return;
    }
    sim_model_final(c->m, cl->stream, end, now);
    r->end_seen = end;
    r->done = true;
}

/* A read that ends CORRUPT well after the faults stopped (no read flips a bit any more) met
 * damage in a file: data the node stored is gone. Below the durable watermark that is a lost
 * acknowledged message. true if it failed the run. */
static bool read_damaged(struct cl *cl, uint32_t error, uint64_t now) {
    struct sim_clients *c = cl->all;
    const struct cl_read *r = &cl->r;
    if (error != STROM_ERR_CORRUPT || !c->quiet || now - c->quiet_ns < SIM_DAMAGE_GRACE_NS) {
        return false;
    }
    const struct node_stream *st = cl_registry_stream(c, cl->stream);
    uint64_t durable = st ? __atomic_load_n(&st->durable_next, __ATOMIC_ACQUIRE) : 0;
    uint64_t at = r->next == UINT64_MAX ? r->from : r->next;
    sim_model_fail(c->m, at < durable ? SIM_CHECK_LOST_ACK : SIM_CHECK_OFFSETS, cl->stream, at, at,
                   now,
                   "client %u's read of %s from %llu ended CORRUPT %.1f ms after faults stopped: "
                   "the file holds damage (durable watermark %llu)",
                   cl->index, sim_model_path(c->m, cl->stream), (unsigned long long)at,
                   (double)(now - c->quiet_ns) / 1e6, (unsigned long long)durable);
    return true;
}

static void read_ended(struct cl *cl, uint32_t error, bool has_next, uint64_t next_offset) {
    struct sim_clients *c = cl->all;
    struct cl_read *r = &cl->r;
    uint64_t now = sim_now_ns(c->w);
    sim_trace(c->w, "client.read_end", cl->index, error, r->next);
    r->rid = 0;
    if (read_damaged(cl, error, now)) {
        return;
    }
    if (cl->kind == CL_VERIFIER) {
        verifier_end(cl, error);
    } else if (cl->kind == CL_SUBSCRIBER) {
        if (error == 0) {
            sim_model_fail(c->m, SIM_CHECK_PROTOCOL, cl->stream, r->next, r->next, now,
                           "a following read without an end ended without an error");
            return;
        }
        read_later(cl, SIM_READ_RETRY_NS);
    } else if (r->ack > 1) {
        if (error == 0) {
            sim_model_fail(c->m, SIM_CHECK_PROTOCOL, cl->stream, r->from, r->from, now,
                           "a read at ack level %u ended without an error; one node must refuse "
                           "a level above 1 with UNSUPPORTED",
                           r->ack);
            return;
        }
        c->stats.over_refused += error == STROM_ERR_UNSUPPORTED;
        read_later(cl, 1 + rng_below(sim_rng(c->w), 2 * c->wl.read_gap_ns));
    } else {
        if (error == 0 && has_next && r->to == UINT64_MAX && r->next != UINT64_MAX &&
            next_offset != r->next) {
            sim_model_fail(c->m, SIM_CHECK_SUBSCRIBER, cl->stream, r->next, next_offset, now,
                           "a read ended with next offset %llu after delivering up to %llu",
                           (unsigned long long)next_offset, (unsigned long long)r->next);
            return;
        }
        read_later(cl, 1 + rng_below(sim_rng(c->w), 2 * c->wl.read_gap_ns));
    }
}

void cl_read_end(struct cl *cl, const struct proto_frame *f) {
    struct sim_clients *c = cl->all;
    const struct proto_read_end *e = &f->body.read_end;
    if (f->header.request_id != cl->r.rid || cl->r.rid == 0) {
        sim_model_fail(c->m, SIM_CHECK_PROTOCOL, cl->stream, 0, 0, sim_now_ns(c->w),
                       "client %u got a read_end for request %llu; its read is %llu", cl->index,
                       (unsigned long long)f->header.request_id, (unsigned long long)cl->r.rid);
        return;
    }
    read_ended(cl, e->error, true, e->next_offset);
}

void cl_read_error(struct cl *cl, uint64_t rid, uint32_t code) {
    if (rid != cl->r.rid || rid == 0) {
        return;
    }
    read_ended(cl, code ? code : STROM_ERR_PROTOCOL, false, 0);
}

/* --- settling and node crashes -------------------------------------------------------------------
 */

bool cl_read_settled(struct cl *cl, char *why, size_t why_bytes) {
    struct sim_clients *c = cl->all;
    const struct cl_read *r = &cl->r;
    const struct node_stream *st = cl_registry_stream(c, cl->stream);
    uint64_t mark = 0;
    if (st) {
        mark = r->sync ? __atomic_load_n(&st->durable_next, __ATOMIC_ACQUIRE)
                       : __atomic_load_n(&st->next_offset, __ATOMIC_ACQUIRE);
    }
    if (r->next == UINT64_MAX || r->next < mark) {
        snprintf(why, why_bytes, "subscriber %u (%s, %s) is at %llu, the watermark at %llu",
                 cl->index, sim_model_path(c->m, cl->stream), r->sync ? "sync" : "ack-1",
                 (unsigned long long)r->next, (unsigned long long)mark);
        return false;
    }
    return true;
}

void cl_read_node_recovered(struct cl *cl, const uint64_t *next) {
    struct sim_clients *c = cl->all;
    struct cl_read *r = &cl->r;
    uint64_t back = next[cl->stream];
    if (r->next == UINT64_MAX || r->next <= back) {
        return;
    }
    if (r->sync) {
        sim_model_fail(c->m, SIM_CHECK_SUBSCRIBER, cl->stream, back, r->next - 1, sim_now_ns(c->w),
                       "subscriber %u read offsets up to %llu at the sync level; the node came "
                       "back with %llu",
                       cl->index, (unsigned long long)(r->next - 1), (unsigned long long)back);
        return;
    }
    r->next = back; /* what it read there at ack 1 was taken back by the crash */
}
