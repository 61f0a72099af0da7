/*
 * gateway_kafka.c: the Kafka protocol in a gateway: its state, the connections' input (framing,
 * decoding, the FIFO of pipelined requests, parking), the answers from the node log, and the
 * turn (parked requests, timers). See kgw.h for the rules of order and parking; the requests are
 * handled in kgw_data.c, kgw_admin.c and kgw_group.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "io/io.h"
#include "node/kgw.h"
#include "node/shm.h"

/* --- state ------------------------------------------------------------------------------------ */

strom_err kgw_open(struct gateway *gw) {
    const struct node_config *cfg = gw->config;
    struct kgw *k = calloc(1, sizeof *k);
    if (k == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    gw->kafka = k;
    k->conns = calloc(cfg->connections_max, sizeof *k->conns);
    k->arena_mem = malloc(KGW_DECODE_BYTES + KGW_RESPONSE_BYTES);
    k->reserve_bytes =
        cfg->frame_bytes_max / 4 < KGW_RESPONSE_HINT ? cfg->frame_bytes_max / 4 : KGW_RESPONSE_HINT;
    k->fetch_cap = cfg->frame_bytes_max - k->reserve_bytes;
    k->fetch_buf = malloc(k->fetch_cap);
    k->build.records = calloc(KCONV_BUILD_RECORDS_MAX, sizeof *k->build.records);
    k->build.headers = calloc(KCONV_BUILD_HEADERS_MAX, sizeof *k->build.headers);
    k->parked = calloc(cfg->connections_max, sizeof *k->parked);
    k->record_cap = cfg->frame_bytes_max / 2;
    k->record_buf = malloc(k->record_cap);
    k->fold_scratch = malloc(KGROUP_SCRATCH_BYTES);
    if (!k->conns || !k->arena_mem || !k->fetch_buf || !k->build.records || !k->build.headers ||
        !k->parked || !k->record_buf || !k->fold_scratch) {
        return STROM_ERR_NO_MEMORY; /* the gateway exits; its memory goes with it */
    }
    kafka_arena_init(&k->arena, k->arena_mem, KGW_DECODE_BYTES);
    kafka_arena_init(&k->answer, k->arena_mem + KGW_DECODE_BYTES, KGW_RESPONSE_BYTES);
    /* A stored batch must fit a request ring entry and, later, a Fetch response. */
    k->limits = kafka_batch_limits_default();
    uint32_t room =
        k->fetch_cap < cfg->frame_bytes_max - 1024 ? k->fetch_cap : cfg->frame_bytes_max - 1024;
    k->limits.batch_bytes_max = k->limits.batch_bytes_max < room ? k->limits.batch_bytes_max : room;
    bool wildcard = strcmp(cfg->kafka.host, "0.0.0.0") == 0 || strcmp(cfg->kafka.host, "::") == 0;
    snprintf(k->host, sizeof k->host, "%s", wildcard ? "127.0.0.1" : cfg->kafka.host);
    /* Refs of group records: the gateway in the top byte, then a start time that a restarted
     * gateway has passed, then a count. */
    k->ref_next = ((uint64_t)(gw->index + 1) << 56) |
                  ((io_clock_realtime_ns(gw->io) / 1000u) & ((1ull << 56) - 1));
    return kgw_groups_open(gw);
}

struct kgw_conn *kgw_conn_of(struct gateway *gw, const struct gw_conn *c) {
    strom_assert(gw->kafka != NULL && c->index < gw->config->connections_max);
    return &gw->kafka->conns[c->index];
}

void *kgw_alloc(struct gateway *gw, size_t count, size_t elem) {
    void *p = kafka_arena_alloc(&gw->kafka->answer, count * elem + 1);
    strom_assert(p != NULL); /* responses are bounded by their requests (kgw.h) */
    return p;
}

size_t kgw_alloc_left(const struct gateway *gw) {
    const struct kafka_arena *a = &gw->kafka->answer;
    return a->cap - a->used;
}

/* --- output ----------------------------------------------------------------------------------- */

bool kgw_send(struct gateway *gw, struct gw_conn *c, const struct kafka_response *resp) {
    uint32_t most = gw->config->frame_bytes_max;
    uint32_t ask = KGW_RESPONSE_HINT < most ? KGW_RESPONSE_HINT : most;
    for (;;) {
        if (!gw_out_reserve(gw, c, ask, false)) {
            return false;
        }
        size_t len = 0;
        size_t cap = c->out_cap - c->out_len - c->out_reserved;
        strom_err err = kafka_response_encode(resp, c->out + c->out_len, cap, &len);
        if (err == STROM_OK) {
            gw_out_commit(gw, c, (uint32_t)len);
            return true;
        }
        strom_assert(err == STROM_ERR_OVERFLOW); /* responses are built from valid values */
        if (ask == most) {
            gw_conn_fail(gw, c); /* larger than any frame this node sends: give up on c */
            return true;
        }
        ask = ask * 4 < most ? ask * 4 : most;
    }
}

/* --- parking ---------------------------------------------------------------------------------- */

bool kgw_parked(const struct gateway *gw) {
    return gw->kafka != NULL && gw->kafka->parked_len > 0;
}

static void parked_list_add(struct gateway *gw, struct gw_conn *c, struct kgw_conn *kc) {
    if (!kc->listed) {
        kc->listed = true;
        gw->kafka->parked[gw->kafka->parked_len++] = c->index;
        strom_assert(gw->kafka->parked_len <= gw->config->connections_max);
    }
}

void kgw_park(struct gateway *gw, struct gw_conn *c, const struct kafka_request_header *h,
              enum kgw_wait wait, uint64_t deadline_ns) {
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    if (!kgw_park_is(kc, h)) {
        kc->park = (struct kgw_park){.correlation_id = h->correlation_id, .api_key = h->api_key};
    }
    kc->park.wait = wait;
    kc->park.deadline_ns = deadline_ns;
    c->read_blocked = true;
    c->parked = true;
    if (wait == KGW_WAIT_FETCH || wait == KGW_WAIT_GROUP) {
        parked_list_add(gw, c, kc);
    }
}

bool kgw_park_is(const struct kgw_conn *kc, const struct kafka_request_header *h) {
    return kc->park.wait != KGW_WAIT_NONE && kc->park.correlation_id == h->correlation_id &&
           kc->park.api_key == h->api_key;
}

void kgw_wake(struct gateway *gw, struct gw_conn *c) {
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    kc->park.deadline_ns = 0; /* resumed at the next turn */
    parked_list_add(gw, c, kc);
}

/* The head request is done with: forget its park. */
static void park_clear(struct gateway *gw, struct kgw_conn *kc) {
    if (kc->park.wait == KGW_WAIT_GROUP) {
        kgw_group_unwait(gw, kc);
    }
    kc->park.wait = KGW_WAIT_NONE;
}

/* Waits for the FIFO (or for input room) without a timer: an answer resumes the connection. */
static void park_fifo(struct gw_conn *c) {
    c->read_blocked = true;
    c->parked = true;
}

strom_err kgw_submit(struct gateway *gw, struct gw_conn *c, uint16_t type,
                     const struct node_request *req, const char *path, const void *msgs,
                     uint64_t client_request, enum kgw_tag tag, bool sync) {
    if (c->inflight >= gw->config->inflight_max) {
        return STROM_ERR_AGAIN;
    }
    return gw_request_submit(gw, c, type, req, path, msgs, client_request, (uint16_t)tag, sync);
}

/* --- the FIFO of pipelined requests ----------------------------------------------------------- */

static bool pipelined(int16_t api_key) {
    return api_key == KAFKA_API_PRODUCE || api_key == KAFKA_API_CREATE_TOPICS;
}

static struct kgw_inflight *fifo_at(struct kgw_conn *kc, uint32_t i) {
    strom_assert(i < kc->fifo_len);
    return &kc->fifo[(kc->fifo_head + i) % KGW_INFLIGHT_MAX];
}

/* Decodes the frame of total bytes at in into q (the arena is reset). */
static strom_err frame_decode(struct gateway *gw, const uint8_t *in, uint32_t total,
                              struct kafka_request *q) {
    kafka_arena_reset(&gw->kafka->arena);
    kafka_arena_reset(&gw->kafka->answer);
    return kafka_request_decode(in + KAFKA_FRAME_PREFIX_BYTES, total - KAFKA_FRAME_PREFIX_BYTES,
                                &gw->kafka->arena, q);
}

/* Sends what is left of entry f's sub-requests: of its request q when given, else of its frame
 * at in. AGAIN: no room now. */
static strom_err fifo_submit(struct gateway *gw, struct gw_conn *c, struct kgw_inflight *f,
                             const uint8_t *in, const struct kafka_request *q) {
    struct kafka_request again;
    if (q == NULL) {
        strom_err err = frame_decode(gw, in, f->frame_bytes, &again);
        strom_assert(err == STROM_OK); /* it decoded when it arrived */
        q = &again;
    }
    strom_err err = f->api_key == KAFKA_API_PRODUCE ? kgw_produce_submit(gw, c, f, q)
                                                    : kgw_create_submit(gw, c, f, q);
    if (err == STROM_OK) {
        f->submitting = false;
        f->responded = f->no_response;
    }
    return err;
}

/* Writes the responses of the complete entries at the head, in order (the FIFO starts at
 * c->in + base). false: no output room now. */
static bool fifo_respond(struct gateway *gw, struct gw_conn *c, struct kgw_conn *kc,
                         uint32_t base) {
    struct kafka_request q;
    uint32_t pos = base;
    for (uint32_t i = 0; i < kc->fifo_len; i++) {
        struct kgw_inflight *f = fifo_at(kc, i);
        if (!f->responded) {
            if (f->submitting || f->units_left > 0) {
                return true;
            }
            strom_err err = frame_decode(gw, c->in + pos, f->frame_bytes, &q);
            strom_assert(err == STROM_OK);
            bool sent = f->api_key == KAFKA_API_PRODUCE ? kgw_produce_respond(gw, c, f, &q)
                                                        : kgw_create_respond(gw, c, f, &q);
            if (!sent) {
                return false;
            }
            f->responded = true;
        }
        pos += f->frame_bytes;
    }
    return true;
}

/* Pops the responded entries at the head; returns their bytes (consumed input). */
static uint32_t fifo_pop(struct kgw_conn *kc) {
    uint32_t bytes = 0;
    while (kc->fifo_len > 0 && fifo_at(kc, 0)->responded) {
        struct kgw_inflight *f = fifo_at(kc, 0);
        bytes += f->frame_bytes;
        kc->parsed_bytes -= f->frame_bytes;
        kc->results_free = f->results_start + f->units;
        kc->fifo_head = (kc->fifo_head + 1) % KGW_INFLIGHT_MAX;
        kc->fifo_len--;
    }
    return bytes;
}

/* Takes the pipelined request q (total bytes at in) into the FIFO and sends its sub-requests.
 * KGW_PARKED when there is no room for it yet. */
static enum kgw_done fifo_push(struct gateway *gw, struct gw_conn *c, struct kgw_conn *kc,
                               const struct kafka_request *q, uint32_t total, const uint8_t *in) {
    bool produce = q->header.api_key == KAFKA_API_PRODUCE;
    uint32_t units = produce ? kgw_produce_units(q) : kgw_create_units(q);
    bool no_response = produce && q->body.produce.acks == 0;
    uint64_t busy = kc->results_next - kc->results_free;
    if (units > KGW_RESULTS_MAX && kc->fifo_len > 0) {
        park_fifo(c); /* alone, it is answered with an error for every unit */
        return KGW_PARKED;
    }
    if (units <= KGW_RESULTS_MAX && busy + units > KGW_RESULTS_MAX) {
        park_fifo(c);
        return KGW_PARKED;
    }
    struct kgw_inflight *f = &kc->fifo[(kc->fifo_head + kc->fifo_len) % KGW_INFLIGHT_MAX];
    *f = (struct kgw_inflight){.frame_bytes = total,
                               .results_start = kc->results_next,
                               .units = units <= KGW_RESULTS_MAX ? units : 0,
                               .api_key = q->header.api_key,
                               .submitting = true,
                               .no_response = no_response};
    f->units_left = f->units;
    for (uint32_t u = 0; u < f->units; u++) {
        kc->results[(f->results_start + u) % KGW_RESULTS_MAX] =
            (struct kgw_result){.base_offset = -1, .submitting = true};
    }
    kc->results_next += f->units;
    kc->fifo_len++;
    kc->parsed_bytes += total;
    if (fifo_submit(gw, c, f, in, q) == STROM_ERR_AGAIN) {
        c->read_blocked = true; /* the rest is sent at the next input turn */
    }
    return KGW_DONE;
}

/* --- input ------------------------------------------------------------------------------------ */

static uint32_t kafka_frame_bytes(const uint8_t *in, uint32_t len) {
    if (len < KAFKA_FRAME_PREFIX_BYTES) {
        return 0;
    }
    uint32_t size = kafka_load_be32(in);
    return size > UINT32_MAX - KAFKA_FRAME_PREFIX_BYTES ? UINT32_MAX
                                                        : size + KAFKA_FRAME_PREFIX_BYTES;
}

static enum kgw_done dispatch(struct gateway *gw, struct gw_conn *c,
                              const struct kafka_request *q) {
    switch (q->header.api_key) {
    case KAFKA_API_API_VERSIONS:
        return kgw_api_versions(gw, c, q);
    case KAFKA_API_METADATA:
        return kgw_metadata(gw, c, q);
    case KAFKA_API_FETCH:
        return kgw_fetch(gw, c, q);
    case KAFKA_API_LIST_OFFSETS:
        return kgw_list_offsets(gw, c, q);
    case KAFKA_API_FIND_COORDINATOR:
        return kgw_find_coordinator(gw, c, q);
    case KAFKA_API_DELETE_TOPICS:
        return kgw_delete_topics(gw, c, q);
    case KAFKA_API_DESCRIBE_CONFIGS:
        return kgw_describe_configs(gw, c, q);
    case KAFKA_API_INIT_PRODUCER_ID:
        return kgw_init_producer_id(gw, c, q);
    default:
        return kgw_group_request(gw, c, q); /* JoinGroup .. OffsetFetch */
    }
}

/* A request that failed to decode: ApiVersions above the range gets the list (KIP-511);
 * anything else closes the connection. */
static enum kgw_done decode_failed(struct gateway *gw, struct gw_conn *c,
                                   const struct kafka_request *q, strom_err err) {
    if (err != STROM_ERR_UNSUPPORTED_VERSION || q->header.api_key != KAFKA_API_API_VERSIONS) {
        return KGW_CLOSE;
    }
    if (!gw_out_reserve(gw, c, KGW_RESPONSE_HINT, false)) {
        return KGW_ROOM;
    }
    size_t len = 0;
    size_t cap = c->out_cap - c->out_len - c->out_reserved;
    err = kafka_api_versions_fallback(q->header.correlation_id, c->out + c->out_len, cap, &len);
    strom_assert(err == STROM_OK);
    gw_out_commit(gw, c, (uint32_t)len);
    return KGW_DONE;
}

/* Handles the frame of total bytes at c->in + pos. */
static enum kgw_done frame_handle(struct gateway *gw, struct gw_conn *c, struct kgw_conn *kc,
                                  uint32_t pos, uint32_t total) {
    struct kafka_request q;
    int16_t api = (int16_t)kafka_load_be16(c->in + pos + KAFKA_FRAME_PREFIX_BYTES);
    if ((pipelined(api) && kc->fifo_len == KGW_INFLIGHT_MAX) ||
        (!pipelined(api) && kc->fifo_len > 0)) {
        park_fifo(c); /* behind the pipelined requests: in order */
        return KGW_PARKED;
    }
    strom_err err = frame_decode(gw, c->in + pos, total, &q);
    if (err) {
        return decode_failed(gw, c, &q, err);
    }
    gw->counters->frames_in++;
    if (pipelined(api)) {
        return fifo_push(gw, c, kc, &q, total, c->in + pos);
    }
    enum kgw_done done = dispatch(gw, c, &q);
    if (done == KGW_DONE || done == KGW_CLOSE) {
        park_clear(gw, kc);
    }
    return done;
}

static uint32_t kafka_input(struct gateway *gw, struct gw_conn *c) {
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    c->parked = false;
    if (!fifo_respond(gw, c, kc, 0)) {
        c->read_blocked = true;
        return 0;
    }
    uint32_t used = fifo_pop(kc);
    if (kc->fifo_len > 0 && fifo_at(kc, kc->fifo_len - 1)->submitting) {
        struct kgw_inflight *tail = fifo_at(kc, kc->fifo_len - 1);
        const uint8_t *in = c->in + used + kc->parsed_bytes - tail->frame_bytes;
        if (fifo_submit(gw, c, tail, in, NULL) == STROM_ERR_AGAIN) {
            c->read_blocked = true;
            return used;
        }
    }
    while (c->state == GW_CONN_OPEN && !c->read_blocked) {
        uint32_t pos = used + kc->parsed_bytes;
        uint32_t frame = 0;
        /* a frame and its size prefix fit a big input buffer (frame_bytes_max) */
        strom_err err =
            kafka_frame_peek(c->in + pos, c->in_len - pos,
                             gw->config->frame_bytes_max - KAFKA_FRAME_PREFIX_BYTES, &frame);
        if (err == STROM_ERR_AGAIN) {
            if (kc->fifo_len > 0 && c->in_len == c->in_cap) {
                park_fifo(c); /* the input is full of requests in flight: wait for answers */
            }
            break;
        }
        enum kgw_done done = err ? KGW_CLOSE : frame_handle(gw, c, kc, pos, frame + 4);
        if (done == KGW_CLOSE) {
            gw_conn_fail(gw, c);
            return c->in_len;
        }
        if (done == KGW_ROOM) {
            c->read_blocked = true;
        }
        if (done != KGW_DONE) {
            break;
        }
        if (!pipelined((int16_t)kafka_load_be16(c->in + pos + KAFKA_FRAME_PREFIX_BYTES))) {
            used += frame + 4;
        } else if (!fifo_respond(gw, c, kc, used)) {
            c->read_blocked = true;
        } else {
            used += fifo_pop(kc); /* an entry complete at once (errors only, acks=0) */
        }
    }
    return used;
}

/* --- answers from the node log ---------------------------------------------------------------- */

/* The FIFO entry holding result sequence number seq. */
static struct kgw_inflight *fifo_of_result(struct kgw_conn *kc, uint64_t seq) {
    for (uint32_t i = 0; i < kc->fifo_len; i++) {
        struct kgw_inflight *f = fifo_at(kc, i);
        if (seq >= f->results_start && seq < f->results_start + f->units) {
            return f;
        }
    }
    return NULL;
}

static int16_t answer_error(const struct node_batch *b) {
    if (b->error == STROM_ERR_AGAIN) {
        return KAFKA_ERR_REQUEST_TIMED_OUT; /* this gateway lost track (lapped): retry */
    }
    if (b->error == STROM_ERR_EXISTS) {
        return KAFKA_ERR_TOPIC_ALREADY_EXISTS;
    }
    return kafka_error_from_strom((strom_err)b->error);
}

static void answer_unit(struct gateway *gw, struct gw_conn *c, uint64_t seq,
                        const struct node_batch *b) {
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    struct kgw_inflight *f = fifo_of_result(kc, seq);
    strom_assert(f != NULL); /* results live until their entry is answered */
    struct kgw_result *r = &kc->results[seq % KGW_RESULTS_MAX];
    strom_assert(r->pending > 0);
    r->pending--;
    if (b->error != STROM_OK && r->error == KAFKA_ERR_NONE) {
        r->error = answer_error(b);
    } else if (b->error == STROM_OK && r->base_offset < 0) {
        r->base_offset = (int64_t)b->base_offset;
    }
    r->created |= (b->flags & NODE_FLAG_CREATED) != 0;
    if (r->pending == 0 && !r->submitting) {
        f->units_left--;
    }
    if (!fifo_respond(gw, c, kc, 0)) {
        c->read_blocked = true; /* no room: the input turn writes it */
    }
}

static void kafka_answer(struct gateway *gw, struct gw_conn *c, const struct gw_pending *p,
                         const struct node_batch *b) {
    strom_assert(c->out_reserved >= GW_ANSWER_BYTES);
    c->out_reserved -= GW_ANSWER_BYTES;
    if (p->frame_type == KGW_TAG_UNIT) {
        answer_unit(gw, c, p->client_request, b);
    } else if (p->frame_type == KGW_TAG_GROUP) {
        kgw_group_answer(gw, c, p->client_request, b);
    }
}

/* --- open, close, the turn -------------------------------------------------------------------- */

static void kafka_open(struct gateway *gw, struct gw_conn *c) {
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    kc->generation = c->generation;
    kc->fifo_head = 0;
    kc->fifo_len = 0;
    kc->parsed_bytes = 0;
    kc->results_next = 0;
    kc->results_free = 0;
    kc->park = (struct kgw_park){0};
}

static void kafka_close(struct gateway *gw, struct gw_conn *c) {
    struct kgw_conn *kc = kgw_conn_of(gw, c);
    park_clear(gw, kc);
    kc->fifo_len = 0;
}

/* True (once) when a commit's durable position moved since the last look. */
static bool durable_moved(struct gateway *gw) {
    const struct node_header *h = gw->shm->header;
    bool moved = false;
    for (uint32_t k = 0; k < gw->config->commits; k++) {
        uint64_t d = __atomic_load_n(&h->commits_c[k].durable_position, __ATOMIC_ACQUIRE);
        moved |= d != gw->kafka->durable_seen[k];
        gw->kafka->durable_seen[k] = d;
    }
    return moved;
}

/* True when a stream a parked Fetch watches has a new high watermark. */
static bool fetch_moved(const struct gateway *gw, const struct kgw_park *p) {
    bool moved = p->watch_all;
    for (uint32_t i = 0; i < p->watch_count && !moved; i++) {
        const struct node_stream *st = registry_stream(&gw->registry, p->watch_id[i]);
        moved = __atomic_load_n(&st->durable_next, __ATOMIC_ACQUIRE) != p->watch_hw[i];
    }
    return moved;
}

/* Drops connections that no longer wait from the parked list; returns its length. */
static uint32_t parked_compact(struct gateway *gw) {
    struct kgw *k = gw->kafka;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < k->parked_len; i++) {
        const struct gw_conn *c = &gw->conns[k->parked[i]];
        struct kgw_conn *kc = &k->conns[k->parked[i]];
        bool waits = c->state == GW_CONN_OPEN && kc->generation == c->generation &&
                     (kc->park.wait == KGW_WAIT_FETCH || kc->park.wait == KGW_WAIT_GROUP);
        if (waits) {
            k->parked[kept++] = k->parked[i];
        } else {
            kc->listed = false;
        }
    }
    k->parked_len = kept;
    return kept;
}

static uint64_t kafka_turn(struct gateway *gw) {
    struct kgw *k = gw->kafka;
    bool moved = durable_moved(gw);
    uint64_t wait = kgw_groups_turn(gw);
    uint32_t n = parked_compact(gw);
    for (uint32_t i = 0; i < n; i++) {
        struct gw_conn *c = &gw->conns[k->parked[i]];
        struct kgw_conn *kc = &k->conns[k->parked[i]];
        bool due = gw->now_ns >= kc->park.deadline_ns ||
                   (kc->park.wait == KGW_WAIT_FETCH && moved && fetch_moved(gw, &kc->park));
        if (due && c->parked) {
            gw_conn_resume(gw, c);
        } else if (kc->park.deadline_ns != UINT64_MAX) {
            uint64_t left =
                kc->park.deadline_ns > gw->now_ns ? kc->park.deadline_ns - gw->now_ns : 0;
            wait = left < wait ? left : wait;
        }
    }
    return wait;
}

static void kafka_on_log(struct gateway *gw, const struct ring_entry *e, bool sync_cursor) {
    if (sync_cursor) {
        kgw_groups_on_log(gw, e);
    }
}

const struct gw_protocol gw_kafka_protocol = {
    .name = "kafka",
    .on_input = kafka_input,
    .on_answer = kafka_answer,
    .on_open = kafka_open,
    .on_close = kafka_close,
    .frame_bytes = kafka_frame_bytes,
    .on_turn = kafka_turn,
    .on_log = kafka_on_log,
};
