/*
 * client.c: simulated clients (see client.h): connections, frames, payloads and producers.
 *
 * A client is driven by two things only: its socket's notify callback (bytes or room arrived, or
 * the connection broke) and its timers (connect again, make a batch, open a read). Frames are
 * encoded into the client's output buffer and sent as far as the connection takes them; input is
 * cut into whole frames, decoded with the protocol's own decoder and handed to the kind's code.
 *
 * A producer keeps every batch it made, by sequence. It sends batches in order from send_next,
 * at most depth in flight. An answer with offsets acknowledges one; an error or a broken
 * connection makes it send again every batch not answered, from the oldest, once nothing is in
 * flight (after an error, the batches behind it come back OUT_OF_ORDER_SEQUENCE: only applied
 * batches use up sequences). It never sends a batch more than depth sequences past the oldest
 * unanswered one (answers at different ack levels overtake each other); because depth is at most
 * the window, every retry is inside the window: it is applied once, or answered with the first
 * offsets.
 */
#include "sim/client_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "node/registry.h"

enum cl_timer_kind {
    T_CONNECT = 1,
    T_BATCH = 2,
    T_READ = 3,
};

static void cl_timer(struct sim_world *w, void *arg, uint64_t kind);
static void cl_broken(struct cl *cl);

/* --- payloads ----------------------------------------------------------------------------------
 */

static uint64_t id_hash(const struct sim_msg_id *id) {
    uint64_t z = ((uint64_t)id->producer << 48) ^ (id->sequence << 16) ^ id->index;
    z += UINT64_C(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Writes "<tag><v in decimal>." at p (at most 22 bytes); returns the byte after it. By hand, not
 * snprintf: every payload is made at its append and again at each delivery (to compare), and
 * snprintf was about a tenth of the simulator's time. */
static uint8_t *put_field(uint8_t *p, char tag, uint64_t v) {
    uint8_t digits[20];
    uint32_t n = 0;
    do {
        digits[n++] = (uint8_t)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    *p++ = (uint8_t)tag;
    while (n > 0) {
        *p++ = digits[--n];
    }
    *p++ = '.';
    return p;
}

/* 'a' + b % 26 for each byte value b (a table: the division per byte was most of cl_payload's
 * time). */
static const char filler_letters[] =
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
    "abcdefghijklmnopqrstuv";
_Static_assert(sizeof filler_letters == 257, "one letter per byte value");

uint32_t cl_payload(const struct sim_workload *wl, const struct sim_msg_id *id, uint8_t *buf) {
    uint64_t h = id_hash(id);
    uint32_t len = wl->payload_min + (uint32_t)(h % (wl->payload_max - wl->payload_min + 1));
    uint8_t *end = put_field(buf, 'P', id->producer);
    end = put_field(end, 'S', id->sequence);
    end = put_field(end, 'M', id->index);
    uint32_t n = (uint32_t)(end - buf);
    strom_assert(n < SIM_PAYLOAD_BYTES_MAX);
    len = len < n ? n : len;
    uint64_t x = h;
    for (uint32_t i = n; i < len; i += 8) {
        x = x * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
        for (uint32_t k = 0; k < 8 && i + k < len; k++) {
            buf[i + k] = (uint8_t)filler_letters[(x >> (8 * k)) & 0xffu];
        }
    }
    return len;
}

/* Reads "<tag><digits>." at *p; false when the bytes are not that. */
static bool parse_field(const uint8_t **p, const uint8_t *end, char tag, uint64_t *out) {
    const uint8_t *q = *p;
    if (q >= end || *q != (uint8_t)tag) {
        return false;
    }
    q++;
    uint64_t v = 0;
    const uint8_t *digits = q;
    while (q < end && *q >= '0' && *q <= '9' && q - digits < 12) {
        v = v * 10 + (uint64_t)(*q - '0');
        q++;
    }
    if (q == digits || q >= end || *q != '.') {
        return false;
    }
    *p = q + 1;
    *out = v;
    return true;
}

bool cl_payload_parse(const struct sim_workload *wl, const uint8_t *p, uint32_t len,
                      struct sim_msg_id *id) {
    const uint8_t *q = p;
    const uint8_t *end = p + len;
    uint64_t producer = 0, sequence = 0, index = 0;
    if (!parse_field(&q, end, 'P', &producer) || !parse_field(&q, end, 'S', &sequence) ||
        !parse_field(&q, end, 'M', &index) || producer >= MODEL_PRODUCERS_MAX ||
        sequence >= (UINT64_C(1) << 32) || index >= (1u << 16)) {
        return false;
    }
    *id = (struct sim_msg_id){
        .producer = (uint32_t)producer, .sequence = sequence, .index = (uint32_t)index};
    uint8_t want[SIM_PAYLOAD_BYTES_MAX];
    uint32_t want_len = cl_payload(wl, id, want);
    return want_len == len && memcmp(want, p, len) == 0;
}

/* --- registry (white-box facts about the node) --------------------------------------------------
 */

const struct node_stream *cl_registry_stream(struct sim_clients *c, uint32_t stream) {
    const struct node_shm *shm = simnode_shm(c->node);
    if (!shm) {
        return NULL;
    }
    const char *path = sim_model_path(c->m, stream);
    uint64_t id = 0;
    if (!registry_find(&shm->registry, path, strlen(path), &id)) {
        return NULL;
    }
    return registry_stream(&shm->registry, id);
}

/* --- connections -------------------------------------------------------------------------------
 */

static void cl_flush(struct cl *cl) {
    struct sim_world *w = cl->all->w;
    uint32_t done = 0;
    while (cl->fd >= 0 && done < cl->out_len) {
        size_t sent = 0;
        strom_err err = sim_client_send(w, cl->fd, cl->out + done, cl->out_len - done, &sent);
        if (err == STROM_ERR_AGAIN) {
            break;
        }
        if (err) {
            cl_broken(cl);
            return;
        }
        done += (uint32_t)sent;
    }
    memmove(cl->out, cl->out + done, cl->out_len - done);
    cl->out_len -= done;
}

void cl_send_frame(struct cl *cl, enum proto_type type, uint64_t rid, const void *body) {
    strom_assert(cl->fd >= 0);
    size_t len = 0;
    strom_err err = proto_frame_encode(cl->out + cl->out_len, SIM_CLIENT_BUF_BYTES - cl->out_len,
                                       type, rid, body, &len);
    strom_assert(err == STROM_OK); /* the buffer holds what a client ever has in flight */
    cl->out_len += (uint32_t)len;
    cl_flush(cl);
}

static void cl_schedule(struct cl *cl, uint64_t delay_ns, enum cl_timer_kind kind) {
    struct sim_world *w = cl->all->w;
    sim_timer_at(w, sim_now_ns(w) + delay_ns, cl_timer, cl, kind);
}

void cl_schedule_read(struct cl *cl, uint64_t delay_ns) {
    cl_schedule(cl, delay_ns, T_READ);
}

static void cl_connect_later(struct cl *cl) {
    if (cl->connect_pending || cl->state == CL_IDLE) {
        return;
    }
    cl->connect_pending = true;
    cl_schedule(cl, cl->backoff_ns, T_CONNECT);
    cl->backoff_ns =
        cl->backoff_ns * 2 > SIM_RECONNECT_MAX_NS ? SIM_RECONNECT_MAX_NS : cl->backoff_ns * 2;
}

static void producer_broken(struct cl *cl);

static void cl_broken(struct cl *cl) {
    struct sim_world *w = cl->all->w;
    if (cl->fd >= 0) {
        sim_client_close(w, cl->fd);
    }
    sim_trace(w, "client.broken", cl->index, cl->state, 0);
    cl->fd = -1;
    cl->state = CL_DOWN;
    cl->in_len = 0;
    cl->out_len = 0;
    if (cl->kind == CL_PRODUCER) {
        producer_broken(cl);
    } else {
        cl_read_broken(cl);
    }
    cl_connect_later(cl);
}

static void cl_notify(struct sim_world *w, void *arg, int fd);

static void cl_connect(struct cl *cl) {
    struct sim_clients *c = cl->all;
    cl->connect_pending = false;
    if (cl->state != CL_DOWN) {
        return;
    }
    int fd = -1;
    strom_err err =
        sim_client_connect(c->w, simnode_world_node(c->node), c->port, cl_notify, cl, &fd);
    if (err) {
        cl_connect_later(cl);
        return;
    }
    c->stats.connects++;
    cl->fd = fd;
    cl->state = CL_HELLO;
    char name[32];
    snprintf(name, sizeof name, "sim-client-%u", cl->index);
    struct proto_hello h = {.version_min = PROTO_VERSION,
                            .version_max = PROTO_VERSION,
                            .client_name = name,
                            .client_name_len = (uint32_t)strlen(name)};
    cl_send_frame(cl, PROTO_HELLO, cl->next_rid++, &h);
}

/* --- producers ---------------------------------------------------------------------------------
 */

static void producer_send(struct cl *cl, uint64_t seq, uint64_t rid, uint8_t ack) {
    struct sim_clients *c = cl->all;
    struct cl_producer *p = &cl->p;
    const struct cl_batch *b = &p->batches[seq];
    static uint8_t set[PROTO_FRAME_BYTES_MAX];
    size_t set_len = 0;
    for (uint32_t i = 0; i < b->count; i++) {
        struct sim_msg_id id = {.producer = p->model_index, .sequence = seq, .index = i};
        uint32_t plen = cl_payload(&c->wl, &id, c->payload);
        size_t mlen = 0;
        struct proto_msg m = {.payload = c->payload, .payload_len = plen};
        strom_err err = proto_msg_encode(&m, set + set_len, sizeof set - set_len, &mlen);
        strom_assert(err == STROM_OK);
        set_len += mlen;
    }
    const char *path = sim_model_path(c->m, cl->stream);
    struct proto_append a = {.path = path,
                             .path_len = (uint32_t)strlen(path),
                             .ack = ack,
                             .sync = b->sync != 0,
                             .producer_id = p->producer_id,
                             .sequence = seq,
                             .count = b->count,
                             .messages = set,
                             .messages_len = (uint32_t)set_len};
    cl_send_frame(cl, PROTO_APPEND, rid, &a);
    c->stats.sends++;
    sim_trace(c->w, "client.append", cl->index, seq, rid);
}

/* Sends batches from send_next while there is room in flight. */
static void producer_pump(struct cl *cl) {
    struct cl_producer *p = &cl->p;
    if (cl->state != CL_READY || p->rewind || p->probe_rid || p->create_rid) {
        return;
    }
    /* Nothing beyond depth batches past the oldest unanswered one: answers of different ack
     * levels come in any order, and a retry of that oldest batch must still find it in the
     * window of the last W (>= depth) batches. */
    while (p->send_next < p->acked_below + p->depth && p->send_next < p->count) {
        struct cl_batch *b = &p->batches[p->send_next];
        if (b->state == B_NEW) {
            b->rid = cl->next_rid++;
            b->state = B_INFLIGHT;
            cl->all->stats.retries += b->sends > 0;
            b->sends++;
            p->inflight++;
            producer_send(cl, p->send_next, b->rid, b->ack);
            if (cl->state != CL_READY) {
                return; /* the send broke the connection */
            }
        }
        p->send_next++;
    }
}

/* A reconnected producer sends its pending batches in a shuffled order (a reordered retry); the
 * sequencer refuses the out-of-order ones and the rewind sends them again in order. */
static void producer_send_shuffled(struct cl *cl) {
    struct cl_producer *p = &cl->p;
    struct rng *rng = sim_rng(cl->all->w);
    uint64_t pending[SIM_QUEUED_MAX];
    uint32_t n = 0;
    for (uint64_t s = p->acked_below; s < p->count && s < p->acked_below + p->depth; s++) {
        if (p->batches[s].state == B_NEW) {
            pending[n++] = s;
        }
    }
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = (uint32_t)rng_below(rng, i);
        uint64_t t = pending[i - 1];
        pending[i - 1] = pending[j];
        pending[j] = t;
    }
    for (uint32_t i = 0; i < n && cl->state == CL_READY; i++) {
        struct cl_batch *b = &p->batches[pending[i]];
        b->rid = cl->next_rid++;
        b->state = B_INFLIGHT;
        cl->all->stats.retries += b->sends > 0;
        b->sends++;
        p->inflight++;
        producer_send(cl, pending[i], b->rid, b->ack);
    }
    p->send_next = p->acked_below + p->depth < p->count ? p->acked_below + p->depth : p->count;
    p->rewind = true;
}

static void producer_ready(struct cl *cl) {
    struct sim_clients *c = cl->all;
    struct cl_producer *p = &cl->p;
    p->inflight = 0;
    p->rewind = false;
    p->send_next = p->acked_below;
    if (p->want_create) {
        const char *path = sim_model_path(c->m, cl->stream);
        struct proto_create cr = {.path = path, .path_len = (uint32_t)strlen(path)};
        p->create_rid = cl->next_rid++;
        cl_send_frame(cl, PROTO_CREATE, p->create_rid, &cr);
        return;
    }
    /* Only once W batches first sent since the last node crash (or since the start) are
     * answered: the sequencer then knows the pair and its window is an ordinary one. A pair it
     * does not know starts its window with whatever sequence comes first, and a window rebuilt
     * at a node start applies a batch past a gap (producers.h); either way an older batch sent
     * after it is refused as too old, though never applied (strom-sim seed 1111: the first
     * batches of a producer were lost with a gateway and its retry came reordered). The node
     * cannot tell such a pair from one it forgot; a producer must send its first batches in
     * order (docs/simulation.md, Limits). */
    uint32_t pending = 0;
    for (uint64_t s = p->acked_below; s < p->count; s++) {
        pending += p->batches[s].state == B_NEW && p->batches[s].sends > 0;
    }
    if (pending >= 2 && p->acked_below >= p->floor + c->wl.window &&
        rng_chance(sim_rng(c->w), c->wl.reorder_p)) {
        producer_send_shuffled(cl);
        return;
    }
    producer_pump(cl);
}

static void producer_broken(struct cl *cl) {
    struct cl_producer *p = &cl->p;
    for (uint64_t s = p->acked_below; s < p->count; s++) {
        if (p->batches[s].state == B_INFLIGHT) {
            p->batches[s].state = B_NEW;
        }
    }
    p->inflight = 0;
    p->probe_rid = 0;
    p->create_rid = 0;
    p->rewind = false;
}

static void producer_make_batch(struct cl *cl) {
    struct sim_clients *c = cl->all;
    struct cl_producer *p = &cl->p;
    struct rng *rng = sim_rng(c->w);
    if (c->quiet) {
        return;
    }
    if (p->count - p->acked_below < SIM_QUEUED_MAX) {
        if (p->count == p->cap) {
            p->cap = p->cap ? p->cap * 2 : 1024;
            p->batches = realloc(p->batches, p->cap * sizeof *p->batches);
            strom_assert(p->batches != NULL);
        }
        p->batches[p->count] =
            (struct cl_batch){.count = 1 + (uint32_t)rng_below(rng, c->wl.batch_msgs_max),
                              .sync = rng_chance(rng, c->wl.sync_p),
                              .ack = 1,
                              .state = B_NEW};
        if (c->wl.ack0_p > 0 && rng_chance(rng, c->wl.ack0_p)) {
            p->batches[p->count].ack = 0; /* no draw when the seed has none: runs as before */
        }
        p->count++;
        c->stats.batches_made++;
        producer_pump(cl);
    }
    cl_schedule(cl, 1 + rng_below(rng, 2 * c->wl.batch_gap_ns), T_BATCH);
}

/* After an answer with nothing in flight: sometimes send an answered batch again. Inside the
 * window it must get the first offsets; outside, a refusal. Only batches first sent since the last
 * node crash count (the windows do not survive one). */
static void producer_maybe_probe(struct cl *cl) {
    struct sim_clients *c = cl->all;
    struct cl_producer *p = &cl->p;
    struct rng *rng = sim_rng(c->w);
    uint64_t n = p->acked_below;
    uint64_t w = c->wl.window;
    if (p->inflight || p->rewind || p->probe_rid || n <= p->floor ||
        !rng_chance(rng, c->wl.probe_p)) {
        return;
    }
    /* The node may have applied batches past the answered ones: sent on a connection that broke,
     * they can still come out of a gateway's request ring (strom-sim seed 2101). Its window ends
     * at most at the newest batch ever sent, and at least at the last answered one. */
    uint64_t hi = n - 1;
    for (uint64_t s = n; s < p->count; s++) {
        hi = p->batches[s].sends > 0 ? s : hi;
    }
    uint64_t inside_lo = hi + 1 - p->floor > w ? hi + 1 - w : p->floor;
    uint64_t outside_hi = n - p->floor > w ? n - w : p->floor; /* below it: surely outside */
    bool inside_ok = inside_lo <= n - 1;
    bool outside_ok = outside_hi > p->floor;
    if (!inside_ok && !outside_ok) {
        return;
    }
    bool inside = inside_ok && (!outside_ok || rng_chance(rng, 0.5));
    uint64_t seq =
        inside ? rng_range(rng, inside_lo, n - 1) : rng_range(rng, p->floor, outside_hi - 1);
    if (p->batches[seq].state != B_ACKED) {
        return;
    }
    p->probe_rid = cl->next_rid++;
    p->probe_seq = seq;
    p->probe_inside = inside;
    /* Only when the seed draws levels above 1: no draw otherwise, so such seeds run as before. */
    p->probe_ack = c->wl.ack_over_p > 0 && rng_chance(rng, c->wl.ack_over_p)
                       ? (uint8_t)rng_range(rng, 2, UINT8_MAX)
                       : p->batches[seq].ack;
    sim_trace(c->w, "client.probe", cl->index, seq, inside | (uint64_t)p->probe_ack << 1);
    producer_send(cl, seq, p->probe_rid, p->probe_ack);
}

static void producer_probe_answer(struct cl *cl, uint32_t error, uint64_t base, uint32_t count) {
    struct sim_clients *c = cl->all;
    struct cl_producer *p = &cl->p;
    const struct cl_batch *b = &p->batches[p->probe_seq];
    uint64_t now = sim_now_ns(c->w);
    if (p->probe_ack > 1) {
        c->stats.over_refused += error == STROM_ERR_UNSUPPORTED;
        if (error != STROM_ERR_UNSUPPORTED) {
            sim_model_fail(c->m, SIM_CHECK_PROTOCOL, cl->stream, b->base, base, now,
                           "P%u/S%llu sent again at ack level %u got %s (offsets %llu+%u); one "
                           "node must refuse a level above 1 with UNSUPPORTED",
                           p->model_index, (unsigned long long)p->probe_seq, p->probe_ack,
                           strom_errname(error), (unsigned long long)base, count);
        }
    } else if (p->probe_inside) {
        c->stats.probes_inside++;
        if (error != 0 || base != b->base || count != b->count) {
            sim_model_fail(c->m, SIM_CHECK_IDEMPOTENCE, cl->stream, b->base, base, now,
                           "a retry of P%u/S%llu inside the window (W %u, last %llu) got error "
                           "%s, offsets %llu+%u; the first answer was %llu+%u",
                           p->model_index, (unsigned long long)p->probe_seq, c->wl.window,
                           (unsigned long long)(p->acked_below - 1), strom_errname(error),
                           (unsigned long long)base, count, (unsigned long long)b->base, b->count);
        }
    } else {
        c->stats.probes_outside++;
        if (error != STROM_ERR_SEQUENCE_TOO_OLD) {
            sim_model_fail(c->m, SIM_CHECK_IDEMPOTENCE, cl->stream, b->base, base, now,
                           "a retry of P%u/S%llu outside the window (W %u, last %llu) got %s "
                           "(offsets %llu+%u), not SEQUENCE_TOO_OLD",
                           p->model_index, (unsigned long long)p->probe_seq, c->wl.window,
                           (unsigned long long)(p->acked_below - 1), strom_errname(error),
                           (unsigned long long)base, count);
        }
    }
    p->probe_rid = 0;
}

/* The offsets of an answered batch go to the model. */
static void producer_acked(struct cl *cl, uint64_t seq, uint64_t base, uint64_t ts_ns) {
    struct sim_clients *c = cl->all;
    struct cl_producer *p = &cl->p;
    struct cl_batch *b = &p->batches[seq];
    b->state = B_ACKED;
    b->base = base;
    b->ts_ns = ts_ns;
    c->stats.batches_acked++;
    c->stats.messages_acked += b->count;
    for (uint32_t i = 0; i < b->count; i++) {
        struct sim_msg_id id = {.producer = p->model_index, .sequence = seq, .index = i};
        sim_model_observe(c->m, cl->stream, base + i, &id, ts_ns, b->sync != 0, sim_now_ns(c->w));
    }
    while (p->acked_below < p->count && p->batches[p->acked_below].state >= B_ACKED) {
        p->acked_below++;
    }
}

/* Errors a well-formed append can get on a single node; anything else is a protocol failure. */
static bool append_error_expected(uint32_t error) {
    switch (error) {
    case STROM_ERR_PROTOCOL:
    case STROM_ERR_TOO_LARGE:
    case STROM_ERR_INVALID_PATH:
    case STROM_ERR_INVALID_ARGUMENT:
    case STROM_ERR_UNSUPPORTED:
    case STROM_ERR_NO_STREAM:
    case STROM_ERR_UNSUPPORTED_VERSION:
        return false;
    default:
        return true;
    }
}

static void producer_batch_answer(struct cl *cl, struct cl_batch *b, uint64_t seq, uint32_t error,
                                  uint64_t base, uint32_t count, uint64_t ts_ns) {
    struct sim_clients *c = cl->all;
    struct cl_producer *p = &cl->p;
    uint64_t now = sim_now_ns(c->w);
    sim_trace(c->w, "client.answer", cl->index, seq, error);
    p->inflight--;
    if (error == 0 && count != b->count) {
        sim_model_fail(c->m, SIM_CHECK_PROTOCOL, cl->stream, base, base, now,
                       "P%u/S%llu of %u messages answered with count %u", p->model_index,
                       (unsigned long long)seq, b->count, count);
    } else if (error == 0) {
        producer_acked(cl, seq, base, ts_ns);
    } else if (error == STROM_ERR_SEQUENCE_TOO_OLD) {
        b->state = B_DONE;
        /* Made before the last node crash: the windows started empty, so a batch behind it
         * (sent first by a reordered retry) may have started the new window: refused is then
         * what the node promises (and nobody was told the batch was appended). */
        bool tolerated = seq < p->floor;
        if (!tolerated) {
            sim_model_fail(c->m, SIM_CHECK_IDEMPOTENCE, cl->stream, 0, 0, now,
                           "P%u/S%llu (send %u, depth %u, W %u) was refused as older than the "
                           "window: a retry inside the window must get its first offsets",
                           p->model_index, (unsigned long long)seq, b->sends, p->depth,
                           c->wl.window);
        }
        while (p->acked_below < p->count && p->batches[p->acked_below].state >= B_ACKED) {
            p->acked_below++;
        }
    } else if (!append_error_expected(error)) {
        sim_model_fail(c->m, SIM_CHECK_PROTOCOL, cl->stream, 0, 0, now,
                       "P%u/S%llu: a well-formed append got %s", p->model_index,
                       (unsigned long long)seq, strom_errname(error));
    } else {
        c->stats.errors++;
        b->state = B_NEW;
        p->rewind = true;
    }
    if (p->inflight == 0 && p->rewind) {
        p->rewind = false;
        p->send_next = p->acked_below;
    }
}

static void producer_answer(struct cl *cl, uint64_t rid, uint32_t error, uint64_t base,
                            uint32_t count, uint64_t ts_ns) {
    struct sim_clients *c = cl->all;
    struct cl_producer *p = &cl->p;
    if (rid == p->create_rid && rid != 0) {
        p->create_rid = 0;
        p->want_create = error != 0;
        c->stats.creates += error == 0;
    } else if (rid == p->probe_rid && rid != 0) {
        producer_probe_answer(cl, error, base, count);
    } else {
        uint64_t seq = p->acked_below;
        while (seq < p->count &&
               !(p->batches[seq].state == B_INFLIGHT && p->batches[seq].rid == rid)) {
            seq++;
        }
        if (seq == p->count) {
            sim_model_fail(c->m, SIM_CHECK_PROTOCOL, cl->stream, 0, 0, sim_now_ns(c->w),
                           "producer %u got an answer to request %llu, which it has not in "
                           "flight",
                           p->model_index, (unsigned long long)rid);
            return;
        }
        producer_batch_answer(cl, &p->batches[seq], seq, error, base, count, ts_ns);
    }
    producer_maybe_probe(cl);
    producer_pump(cl);
}

/* --- frames in ---------------------------------------------------------------------------------
 */

static void cl_frame(struct cl *cl, const struct proto_frame *f) {
    struct sim_clients *c = cl->all;
    uint64_t rid = f->header.request_id;
    switch (f->header.type) {
    case PROTO_HELLO_ANSWER:
        cl->state = CL_READY;
        cl->backoff_ns = SIM_RECONNECT_MIN_NS;
        if (cl->kind == CL_PRODUCER) {
            producer_ready(cl);
        } else {
            cl_read_ready(cl);
        }
        return;
    case PROTO_APPEND_ANSWER: {
        const struct proto_append_answer *a = &f->body.append_answer;
        producer_answer(cl, rid, a->error, a->base_offset, a->count, a->ts_ns);
        return;
    }
    case PROTO_CREATE_ANSWER:
        producer_answer(cl, rid, f->body.create_answer.error, 0, 0, 0);
        return;
    case PROTO_ERROR:
        if (rid == 0) {
            cl_broken(cl); /* for the connection: it closes */
        } else if (cl->kind == CL_PRODUCER) {
            producer_answer(cl, rid, f->body.error.code, 0, 0, 0);
        } else {
            cl_read_error(cl, rid, f->body.error.code);
        }
        return;
    case PROTO_DELIVER:
        cl_read_deliver(cl, f);
        return;
    case PROTO_READ_END:
        cl_read_end(cl, f);
        return;
    default:
        sim_model_fail(c->m, SIM_CHECK_PROTOCOL, cl->stream, 0, 0, sim_now_ns(c->w),
                       "client %u got an unexpected %s frame", cl->index,
                       proto_type_name(f->header.type));
    }
}

/* Cuts whole frames off the input and handles them; false when the connection broke. */
static bool cl_parse(struct cl *cl) {
    struct sim_clients *c = cl->all;
    uint32_t used = 0;
    while (cl->state != CL_DOWN && cl->in_len - used >= PROTO_HEADER_BYTES) {
        struct proto_header h;
        strom_err err = proto_header_read(cl->in + used, cl->in_len - used, c->frame_bytes_max, &h);
        if (err == STROM_OK && h.frame_bytes > cl->in_len - used) {
            break;
        }
        struct proto_frame f;
        if (err == STROM_OK) {
            err = proto_frame_decode(cl->in + used, h.frame_bytes, c->frame_bytes_max, NULL, &f);
        }
        if (err) {
            sim_model_fail(c->m, SIM_CHECK_PROTOCOL, cl->stream, 0, 0, sim_now_ns(c->w),
                           "client %u got a frame that does not decode: %s", cl->index,
                           strom_errname(err));
            return false;
        }
        cl_frame(cl, &f);
        used += h.frame_bytes;
    }
    if (cl->state == CL_DOWN) {
        return false;
    }
    memmove(cl->in, cl->in + used, cl->in_len - used);
    cl->in_len -= used;
    return true;
}

static void cl_notify(struct sim_world *w, void *arg, int fd) {
    struct cl *cl = arg;
    if (fd != cl->fd || cl->state == CL_DOWN) {
        return; /* a connection given up already */
    }
    for (;;) {
        size_t got = 0;
        strom_err err = SIM_CLIENT_BUF_BYTES > cl->in_len
                            ? sim_client_recv(w, fd, cl->in + cl->in_len,
                                              SIM_CLIENT_BUF_BYTES - cl->in_len, &got)
                            : STROM_ERR_AGAIN;
        if (err == STROM_ERR_AGAIN) {
            break;
        }
        if (err) {
            cl_broken(cl);
            return;
        }
        cl->in_len += (uint32_t)got;
        if (!cl_parse(cl)) {
            if (cl->state != CL_DOWN) {
                cl_broken(cl);
            }
            return;
        }
    }
    cl_flush(cl);
}

/* --- timers, the set of clients ----------------------------------------------------------------
 */

static void cl_timer(struct sim_world *w, void *arg, uint64_t kind) {
    struct cl *cl = arg;
    (void)w;
    if (kind == T_CONNECT) {
        cl_connect(cl);
    } else if (kind == T_BATCH) {
        producer_make_batch(cl);
    } else {
        cl_read_timer(cl);
    }
}

static void cl_init(struct sim_clients *c, enum cl_kind kind, uint32_t stream) {
    strom_assert(c->count < SIM_CLIENTS_MAX);
    struct cl *cl = &c->cls[c->count];
    *cl = (struct cl){.all = c,
                      .index = c->count,
                      .kind = kind,
                      .stream = stream,
                      .fd = -1,
                      .backoff_ns = SIM_RECONNECT_MIN_NS,
                      .next_rid = 1};
    cl->in = malloc(SIM_CLIENT_BUF_BYTES);
    cl->out = malloc(SIM_CLIENT_BUF_BYTES);
    strom_assert(cl->in && cl->out);
    c->count++;
}

strom_err sim_clients_create(struct sim_world *w, struct simnode *node, struct sim_model *m,
                             const struct sim_workload *wl, struct sim_clients **out) {
    strom_assert(wl->producers >= 1 && wl->producers <= MODEL_PRODUCERS_MAX);
    strom_assert(wl->depth_max >= 1 && wl->depth_max <= wl->window);
    strom_assert(wl->payload_min <= wl->payload_max && wl->payload_max <= SIM_PAYLOAD_BYTES_MAX);
    strom_assert(wl->producers + wl->subscribers + wl->readers + wl->streams <= SIM_CLIENTS_MAX);
    struct sim_clients *c = calloc(1, sizeof *c);
    if (!c) {
        return STROM_ERR_NO_MEMORY;
    }
    const struct node_config *cfg = simnode_config(node);
    *c = (struct sim_clients){.w = w,
                              .node = node,
                              .m = m,
                              .wl = *wl,
                              .port = cfg->listen.port,
                              .frame_bytes_max = cfg->frame_bytes_max};
    struct rng *rng = sim_rng(w);
    for (uint32_t s = 0; s < wl->streams; s++) {
        char path[32];
        snprintf(path, sizeof path, "/sim/s%u", s);
        sim_model_stream(m, path);
    }
    for (uint32_t i = 0; i < wl->producers; i++) {
        cl_init(c, CL_PRODUCER, (uint32_t)rng_below(rng, wl->streams));
        struct cl_producer *p = &c->cls[c->count - 1].p;
        p->model_index = i;
        p->producer_id = 1000 + i;
        p->depth = 1 + (uint32_t)rng_below(rng, wl->depth_max);
        p->want_create = rng_chance(rng, wl->create_p);
    }
    for (uint32_t i = 0; i < wl->subscribers; i++) {
        cl_init(c, CL_SUBSCRIBER, (uint32_t)rng_below(rng, wl->streams));
        c->cls[c->count - 1].r.next = UINT64_MAX;
        c->cls[c->count - 1].r.sync = rng_chance(rng, wl->read_sync_p);
    }
    for (uint32_t i = 0; i < wl->readers; i++) {
        cl_init(c, CL_READER, 0);
    }
    for (uint32_t s = 0; s < wl->streams; s++) {
        cl_init(c, CL_VERIFIER, s);
        c->cls[c->count - 1].state = CL_IDLE;
    }
    *out = c;
    return STROM_OK;
}

void sim_clients_destroy(struct sim_clients *c) {
    if (!c) {
        return;
    }
    for (uint32_t i = 0; i < c->count; i++) {
        free(c->cls[i].in);
        free(c->cls[i].out);
        free(c->cls[i].p.batches);
    }
    free(c);
}

void sim_clients_start(struct sim_clients *c) {
    for (uint32_t i = 0; i < c->count; i++) {
        struct cl *cl = &c->cls[i];
        if (cl->kind == CL_VERIFIER) {
            continue;
        }
        cl_connect_later(cl);
        if (cl->kind == CL_PRODUCER) {
            cl_schedule(cl, 1 + rng_below(sim_rng(c->w), c->wl.batch_gap_ns), T_BATCH);
        }
    }
}

void sim_clients_quiet(struct sim_clients *c) {
    c->quiet = true;
    c->quiet_ns = sim_now_ns(c->w);
}

void sim_clients_node_crash(struct sim_clients *c) {
    for (uint32_t i = 0; i < c->count; i++) {
        struct cl_producer *p = &c->cls[i].p;
        if (c->cls[i].kind != CL_PRODUCER) {
            continue;
        }
        for (uint64_t s = p->acked_below; s < p->count; s++) {
            if (p->batches[s].sends > 0 && p->batches[s].state != B_ACKED) {
                sim_model_tolerate(c->m, p->model_index, s);
            }
        }
        p->floor = p->count;
    }
}

void sim_clients_node_recovered(struct sim_clients *c, const uint64_t *next) {
    for (uint32_t i = 0; i < c->count; i++) {
        if (c->cls[i].kind == CL_SUBSCRIBER) {
            cl_read_node_recovered(&c->cls[i], next);
        }
    }
}

bool sim_clients_settled(struct sim_clients *c, char *why, size_t why_bytes) {
    for (uint32_t i = 0; i < c->count; i++) {
        struct cl *cl = &c->cls[i];
        const struct cl_producer *p = &cl->p;
        if (cl->kind == CL_PRODUCER &&
            (p->acked_below < p->count || p->inflight || p->probe_rid || p->want_create)) {
            snprintf(why, why_bytes,
                     "producer %u (client %u, %s): %llu of %llu batches answered, %u in flight, "
                     "state %d",
                     p->model_index, cl->index, sim_model_path(c->m, cl->stream),
                     (unsigned long long)p->acked_below, (unsigned long long)p->count, p->inflight,
                     cl->state);
            return false;
        }
        if (cl->kind == CL_SUBSCRIBER && !cl_read_settled(cl, why, why_bytes)) {
            return false;
        }
    }
    return true;
}

void sim_clients_verify(struct sim_clients *c) {
    c->verifying = true;
    for (uint32_t i = 0; i < c->count; i++) {
        struct cl *cl = &c->cls[i];
        if (cl->kind == CL_VERIFIER) {
            cl->state = CL_DOWN;
            cl_connect_later(cl);
        }
    }
}

bool sim_clients_verified(struct sim_clients *c, char *why, size_t why_bytes) {
    for (uint32_t i = 0; i < c->count; i++) {
        const struct cl *cl = &c->cls[i];
        if (cl->kind == CL_VERIFIER && !cl->r.done) {
            snprintf(why, why_bytes, "the final read of %s (%u attempts) did not end",
                     sim_model_path(c->m, cl->stream), cl->r.attempts);
            return false;
        }
    }
    return true;
}

void sim_clients_get_stats(const struct sim_clients *c, struct sim_client_stats *out) {
    *out = c->stats;
}
