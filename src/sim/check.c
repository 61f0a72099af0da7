/*
 * check.c: the simulator's model and its checks (see check.h).
 *
 * Per stream, three arrays indexed by offset: the value (an encoded message id, 0 when unknown),
 * whether it is durable, and its batch's timestamp. Per producer, per sequence: where its batch
 * was seen first (stream, base offset) and whether it may be applied twice. Arrays grow by
 * doubling; a run holds at most a few hundred thousand messages.
 */
#include "sim/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

struct model_stream {
    char path[MODEL_PATH_BYTES];
    uint64_t *vals; /* encoded id per offset; 0: unknown */
    uint64_t *ts;   /* batch timestamp per offset */
    uint8_t *flags; /* MODEL_DURABLE */
    uint64_t len;   /* offsets [0, len) may be known */
    uint64_t cap;
    uint64_t pre_durable; /* durable watermark at the last node crash; UINT64_MAX: none */
};

struct model_batch {
    uint64_t base;
    uint32_t stream;
    uint8_t placed;
    uint8_t tolerated;
};

struct model_producer {
    struct model_batch *batches; /* by sequence */
    uint64_t cap;
};

struct sim_model {
    struct model_stream streams[MODEL_STREAMS_MAX];
    uint32_t stream_count;
    struct model_producer producers[MODEL_PRODUCERS_MAX];
    bool failed;
    struct sim_violation violation;
};

#define MODEL_DURABLE 1u

static const char *const check_names[] = {
    [SIM_CHECK_NONE] = "none",
    [SIM_CHECK_LOST_ACK] = "lost_ack",
    [SIM_CHECK_OFFSETS] = "offsets",
    [SIM_CHECK_SUBSCRIBER] = "subscriber",
    [SIM_CHECK_IDEMPOTENCE] = "idempotence",
    [SIM_CHECK_LIVENESS] = "liveness",
    [SIM_CHECK_PROTOCOL] = "protocol",
};

const char *sim_check_name(enum sim_check check) {
    return check <= SIM_CHECK_PROTOCOL ? check_names[check] : "unknown";
}

strom_err sim_model_create(struct sim_model **out) {
    struct sim_model *m = calloc(1, sizeof *m);
    if (!m) {
        return STROM_ERR_NO_MEMORY;
    }
    *out = m;
    return STROM_OK;
}

void sim_model_destroy(struct sim_model *m) {
    if (!m) {
        return;
    }
    for (uint32_t i = 0; i < m->stream_count; i++) {
        free(m->streams[i].vals);
        free(m->streams[i].ts);
        free(m->streams[i].flags);
    }
    for (uint32_t i = 0; i < MODEL_PRODUCERS_MAX; i++) {
        free(m->producers[i].batches);
    }
    free(m);
}

uint32_t sim_model_stream(struct sim_model *m, const char *path) {
    for (uint32_t i = 0; i < m->stream_count; i++) {
        if (strcmp(m->streams[i].path, path) == 0) {
            return i;
        }
    }
    strom_assert(m->stream_count < MODEL_STREAMS_MAX && strlen(path) < MODEL_PATH_BYTES);
    struct model_stream *st = &m->streams[m->stream_count];
    snprintf(st->path, sizeof st->path, "%s", path);
    st->pre_durable = UINT64_MAX;
    return m->stream_count++;
}

const char *sim_model_path(const struct sim_model *m, uint32_t stream) {
    strom_assert(stream < m->stream_count);
    return m->streams[stream].path;
}

uint32_t sim_model_stream_count(const struct sim_model *m) {
    return m->stream_count;
}

uint64_t sim_model_len(const struct sim_model *m, uint32_t stream) {
    strom_assert(stream < m->stream_count);
    return m->streams[stream].len;
}

void sim_model_fail(struct sim_model *m, enum sim_check check, uint32_t stream, uint64_t lo,
                    uint64_t hi, uint64_t now_ns, const char *fmt, ...) {
    if (m->failed) {
        return;
    }
    m->failed = true;
    struct sim_violation *v = &m->violation;
    v->check = check;
    snprintf(v->stream, sizeof v->stream, "%s",
             stream < m->stream_count ? m->streams[stream].path : "");
    v->offset_lo = lo;
    v->offset_hi = hi;
    v->at_ns = now_ns;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->text, sizeof v->text, fmt, ap);
    va_end(ap);
}

bool sim_model_failed(const struct sim_model *m) {
    return m->failed;
}

const struct sim_violation *sim_model_violation(const struct sim_model *m) {
    return m->failed ? &m->violation : NULL;
}

/* --- ids ------------------------------------------------------------------------------------- */

static uint64_t id_encode(const struct sim_msg_id *id) {
    strom_assert(id->producer < MODEL_PRODUCERS_MAX && id->sequence < (UINT64_C(1) << 32) &&
                 id->index < (1u << 16));
    return ((uint64_t)(id->producer + 1) << 48) | (id->sequence << 16) | id->index;
}

static struct sim_msg_id id_decode(uint64_t v) {
    strom_assert(v != 0);
    return (struct sim_msg_id){.producer = (uint32_t)(v >> 48) - 1,
                               .sequence = (v >> 16) & 0xffffffffu,
                               .index = (uint32_t)(v & 0xffffu)};
}

static void grow(void **p, uint64_t old_cap, uint64_t new_cap, size_t elem) {
    void *q = realloc(*p, new_cap * elem);
    strom_assert(q != NULL);
    memset((uint8_t *)q + old_cap * elem, 0, (new_cap - old_cap) * elem);
    *p = q;
}

static void stream_reserve(struct model_stream *st, uint64_t n) {
    if (n <= st->cap) {
        return;
    }
    uint64_t cap = st->cap ? st->cap : 1024;
    while (cap < n) {
        cap *= 2;
    }
    grow((void **)&st->vals, st->cap, cap, sizeof *st->vals);
    grow((void **)&st->ts, st->cap, cap, sizeof *st->ts);
    grow((void **)&st->flags, st->cap, cap, sizeof *st->flags);
    st->cap = cap;
}

static struct model_batch *batch_of(struct sim_model *m, uint32_t producer, uint64_t sequence) {
    strom_assert(producer < MODEL_PRODUCERS_MAX);
    struct model_producer *p = &m->producers[producer];
    if (sequence >= p->cap) {
        uint64_t cap = p->cap ? p->cap : 256;
        while (cap <= sequence) {
            cap *= 2;
        }
        grow((void **)&p->batches, p->cap, cap, sizeof *p->batches);
        p->cap = cap;
    }
    return &p->batches[sequence];
}

void sim_model_tolerate(struct sim_model *m, uint32_t producer, uint64_t sequence) {
    batch_of(m, producer, sequence)->tolerated = 1;
}

bool sim_model_batch_base(const struct sim_model *m, uint32_t producer, uint64_t sequence,
                          uint32_t *stream_out, uint64_t *base_out) {
    const struct model_producer *p = &m->producers[producer];
    if (sequence >= p->cap || !p->batches[sequence].placed) {
        return false;
    }
    *stream_out = p->batches[sequence].stream;
    *base_out = p->batches[sequence].base;
    return true;
}

/* --- observations ---------------------------------------------------------------------------- */

/* Timestamps never go back along a stream: the known neighbours of offset must agree. */
static void check_ts(struct sim_model *m, uint32_t stream, uint64_t offset, uint64_t now_ns) {
    struct model_stream *st = &m->streams[stream];
    uint64_t t = st->ts[offset];
    if (offset > 0 && st->vals[offset - 1] && st->ts[offset - 1] > t) {
        sim_model_fail(m, SIM_CHECK_OFFSETS, stream, offset - 1, offset, now_ns,
                       "timestamp goes back: offset %llu has %llu, offset %llu has %llu",
                       (unsigned long long)(offset - 1), (unsigned long long)st->ts[offset - 1],
                       (unsigned long long)offset, (unsigned long long)t);
    }
    if (offset + 1 < st->len && st->vals[offset + 1] && st->ts[offset + 1] < t) {
        sim_model_fail(m, SIM_CHECK_OFFSETS, stream, offset, offset + 1, now_ns,
                       "timestamp goes back: offset %llu has %llu, offset %llu has %llu",
                       (unsigned long long)offset, (unsigned long long)t,
                       (unsigned long long)(offset + 1), (unsigned long long)st->ts[offset + 1]);
    }
}

/* The batch of id sits at one place (unless it may be applied twice). */
static void check_place(struct sim_model *m, uint32_t stream, uint64_t offset,
                        const struct sim_msg_id *id, uint64_t now_ns) {
    if (id->index > offset) {
        sim_model_fail(m, SIM_CHECK_OFFSETS, stream, offset, offset, now_ns,
                       "message %u of batch P%u/S%llu at offset %llu: its batch would start "
                       "before offset 0",
                       id->index, id->producer, (unsigned long long)id->sequence,
                       (unsigned long long)offset);
        return;
    }
    uint64_t base = offset - id->index;
    struct model_batch *b = batch_of(m, id->producer, id->sequence);
    if (!b->placed) {
        *b = (struct model_batch){
            .base = base, .stream = stream, .placed = 1, .tolerated = b->tolerated};
    } else if ((b->base != base || b->stream != stream) && !b->tolerated) {
        sim_model_fail(m, SIM_CHECK_IDEMPOTENCE, stream, b->base, base, now_ns,
                       "batch P%u/S%llu applied twice: at offset %llu of %s and at offset %llu",
                       id->producer, (unsigned long long)id->sequence, (unsigned long long)b->base,
                       m->streams[b->stream].path, (unsigned long long)base);
    }
}

void sim_model_observe(struct sim_model *m, uint32_t stream, uint64_t offset,
                       const struct sim_msg_id *id, uint64_t ts_ns, bool durable, uint64_t now_ns) {
    strom_assert(stream < m->stream_count);
    struct model_stream *st = &m->streams[stream];
    stream_reserve(st, offset + 1);
    uint64_t v = id_encode(id);
    if (st->vals[offset] != 0 && st->vals[offset] != v) {
        struct sim_msg_id old = id_decode(st->vals[offset]);
        sim_model_fail(m, SIM_CHECK_OFFSETS, stream, offset, offset, now_ns,
                       "offset %llu holds two values: P%u/S%llu/M%u%s, now P%u/S%llu/M%u",
                       (unsigned long long)offset, old.producer, (unsigned long long)old.sequence,
                       old.index, (st->flags[offset] & MODEL_DURABLE) ? " (durable)" : "",
                       id->producer, (unsigned long long)id->sequence, id->index);
        return;
    }
    st->vals[offset] = v;
    st->ts[offset] = ts_ns;
    st->flags[offset] |= durable ? MODEL_DURABLE : 0;
    st->len = offset + 1 > st->len ? offset + 1 : st->len;
    check_ts(m, stream, offset, now_ns);
    check_place(m, stream, offset, id, now_ns);
}

/* --- node crashes ---------------------------------------------------------------------------- */

void sim_model_node_crash(struct sim_model *m, const uint64_t *durable_next) {
    for (uint32_t s = 0; s < m->stream_count; s++) {
        m->streams[s].pre_durable = durable_next[s];
    }
}

/* Forgets offsets [from, len) of stream: their batches may be applied again. */
static void stream_cut(struct sim_model *m, uint32_t stream, uint64_t from) {
    struct model_stream *st = &m->streams[stream];
    for (uint64_t o = from; o < st->len; o++) {
        if (st->vals[o] == 0) {
            continue;
        }
        struct sim_msg_id id = id_decode(st->vals[o]);
        struct model_batch *b = batch_of(m, id.producer, id.sequence);
        if (b->placed && b->stream == stream && b->base == o - id.index) {
            b->placed = 0;
        }
        st->vals[o] = 0;
        st->ts[o] = 0;
        st->flags[o] = 0;
    }
    st->len = from < st->len ? from : st->len;
}

static void recovered_stream(struct sim_model *m, uint32_t s, uint64_t next, uint64_t now_ns) {
    struct model_stream *st = &m->streams[s];
    if (st->pre_durable != UINT64_MAX && next < st->pre_durable) {
        sim_model_fail(m, SIM_CHECK_LOST_ACK, s, next, st->pre_durable - 1, now_ns,
                       "the node came back with %llu offsets, but %llu were durable (published "
                       "by the commit) before the crash",
                       (unsigned long long)next, (unsigned long long)st->pre_durable);
    }
    for (uint64_t o = next; o < st->len; o++) {
        if (st->flags[o] & MODEL_DURABLE) {
            struct sim_msg_id id = id_decode(st->vals[o]);
            sim_model_fail(m, SIM_CHECK_LOST_ACK, s, next, o, now_ns,
                           "offset %llu (P%u/S%llu/M%u) was acknowledged with sync or read at "
                           "the sync level, and the node came back with %llu offsets",
                           (unsigned long long)o, id.producer, (unsigned long long)id.sequence,
                           id.index, (unsigned long long)next);
            break;
        }
    }
    if (next < st->len && st->vals[next] != 0 && id_decode(st->vals[next]).index != 0) {
        sim_model_fail(m, SIM_CHECK_LOST_ACK, s, next, next, now_ns,
                       "the node came back with %llu offsets: part of a batch was lost",
                       (unsigned long long)next);
    }
    stream_cut(m, s, next);
    st->pre_durable = UINT64_MAX;
}

void sim_model_node_recovered(struct sim_model *m, const uint64_t *next, uint64_t now_ns) {
    for (uint32_t s = 0; s < m->stream_count; s++) {
        recovered_stream(m, s, next[s], now_ns);
    }
}

void sim_model_final(struct sim_model *m, uint32_t stream, uint64_t end, uint64_t now_ns) {
    struct model_stream *st = &m->streams[stream];
    for (uint64_t o = end; o < st->len; o++) {
        if (st->vals[o] != 0) {
            struct sim_msg_id id = id_decode(st->vals[o]);
            sim_model_fail(m, SIM_CHECK_LOST_ACK, stream, end, o, now_ns,
                           "the stream ends at %llu but offset %llu held P%u/S%llu/M%u%s",
                           (unsigned long long)end, (unsigned long long)o, id.producer,
                           (unsigned long long)id.sequence, id.index,
                           (st->flags[o] & MODEL_DURABLE) ? " (durable)" : "");
            return;
        }
    }
}
