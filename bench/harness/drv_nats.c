/*
 * drv_nats.c: the NATS JetStream driver, on the NATS C client (Debian libnats-dev).
 *
 * Stream i of a run is the JetStream stream "<prefix>-<i>" holding the one subject
 * "<prefix>.<i>", file storage, one replica: a stream per stream, as the OpenMessaging
 * Benchmark's NATS driver makes one per topic. Setup creates them (bounded by the plan's setup
 * time; where that is not enough, the run reports how far it got). A producer publishes with
 * js_PublishAsync; the JetStream ack (PubAck, sent once the server has stored the message, and
 * synced it when the server runs with `sync_interval: always`) is its ack. A subscriber reads
 * each of its streams with an ordered push consumer (no acks, flow control, from the first
 * message).
 *
 * libnats calls back on threads of its own (its reader thread for publish acks, the message
 * delivery pool for subscriptions). The callbacks only copy the event (time seen, payload
 * header, length) into a bounded queue guarded by a mutex; the worker's thread takes them in
 * poll and reports them to the sink. A full queue makes the library's thread wait, which is
 * backpressure, never a drop.
 *
 * Fixed-rate workloads ask libnats to send each publish at once (natsOptions_SetSendAsap), as
 * a latency-minded user would; max-rate workloads keep its default write buffering.
 */
#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/assert.h"
#include "harness.h"

enum {
    NATS_NAME_BYTES_MAX = HARNESS_PREFIX_BYTES_MAX + 12, /* "<prefix>-<i>" with the NUL */
    NATS_QUEUE_CAP = 65536,                              /* events between library and worker */
    NATS_API_WAIT_MS = 10000,                            /* JetStream API request timeout */
};

/* One event handed from a libnats thread to the worker. */
struct nats_event {
    uint64_t now_ns; /* when the callback ran */
    uint64_t due_ns; /* ack: the message's due time */
    uint32_t len;    /* deliver: payload bytes */
    bool is_ack;
    bool ok;                                  /* ack: stored (true) or refused */
    uint8_t head[HARNESS_PAYLOAD_HEAD_BYTES]; /* deliver: the payload's header */
};

/* Bounded queue: written by libnats threads, read by the worker; fields under mu. */
struct nats_queue {
    pthread_mutex_t mu;
    pthread_cond_t nonempty;
    pthread_cond_t nonfull;
    struct nats_event *items; /* NATS_QUEUE_CAP of them */
    uint32_t head, count;
    bool closing; /* the worker is going away: callbacks drop their event */
};

struct nats_conn {
    const struct bench_plan *plan;
    natsConnection *nc;
    jsCtx *js;
    natsSubscription **subs; /* subscriber: one per stream read */
    uint32_t sub_count;
    struct nats_queue q;
    struct nats_event *batch;     /* NATS_QUEUE_CAP: events taken out of q in one poll */
    struct bench_diag async_diag; /* first asynchronous error (under q.mu) */
};

static void nats_stream_name(char *out, const struct bench_plan *plan, uint32_t i) {
    snprintf(out, NATS_NAME_BYTES_MAX, "%s-%" PRIu32, plan->prefix, i);
}

static void nats_subject(char *out, const struct bench_plan *plan, uint32_t i) {
    snprintf(out, NATS_NAME_BYTES_MAX, "%s.%" PRIu32, plan->prefix, i);
}

static strom_err nats_fail(struct bench_diag *diag, const char *what, natsStatus s) {
    return bench_diag_set(diag, s == NATS_TIMEOUT ? STROM_ERR_TIMEOUT : STROM_ERR_IO,
                          "nats %s: %s (%s)", what, natsStatus_GetText(s), nats_GetLastError(NULL));
}

static strom_err nats_queue_init(struct nats_queue *q) {
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->nonempty, &attr);
    pthread_cond_init(&q->nonfull, &attr);
    pthread_condattr_destroy(&attr);
    q->items = calloc(NATS_QUEUE_CAP, sizeof q->items[0]);
    return q->items ? STROM_OK : STROM_ERR_NO_MEMORY;
}

/* Called on a libnats thread. */
static void nats_queue_push(struct nats_queue *q, const struct nats_event *ev) {
    pthread_mutex_lock(&q->mu);
    while (q->count == NATS_QUEUE_CAP && !q->closing) {
        pthread_cond_wait(&q->nonfull, &q->mu);
    }
    if (!q->closing) {
        q->items[(q->head + q->count) % NATS_QUEUE_CAP] = *ev;
        q->count++;
        pthread_cond_signal(&q->nonempty);
    }
    pthread_mutex_unlock(&q->mu);
}

/* Waits up to timeout_ns for events, moves them all into out; returns how many. */
static uint32_t nats_queue_take(struct nats_queue *q, uint64_t timeout_ns, struct nats_event *out) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    uint64_t ns = (uint64_t)until.tv_nsec + timeout_ns;
    until.tv_sec += (time_t)(ns / 1000000000u);
    until.tv_nsec = (long)(ns % 1000000000u);
    pthread_mutex_lock(&q->mu);
    while (q->count == 0) {
        if (pthread_cond_timedwait(&q->nonempty, &q->mu, &until) != 0) {
            break;
        }
    }
    uint32_t n = q->count;
    for (uint32_t i = 0; i < n; i++) {
        out[i] = q->items[(q->head + i) % NATS_QUEUE_CAP];
    }
    q->head = (q->head + n) % NATS_QUEUE_CAP;
    q->count = 0;
    pthread_cond_broadcast(&q->nonfull);
    pthread_mutex_unlock(&q->mu);
    return n;
}

static void nats_ack_handler(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
                             void *closure) {
    (void)js;
    struct nats_conn *c = closure;
    struct bench_payload_head head = {0};
    struct nats_event ev = {.now_ns = bench_now_ns(), .is_ack = true, .ok = pa != NULL};
    bench_payload_read((const uint8_t *)natsMsg_GetData(msg), (uint32_t)natsMsg_GetDataLength(msg),
                       &head);
    ev.due_ns = head.due_ns;
    if (pae != NULL) {
        pthread_mutex_lock(&c->q.mu);
        if (c->async_diag.text[0] == '\0') {
            bench_diag_set(&c->async_diag, STROM_OK, "nats publish: %s (%s)",
                           natsStatus_GetText(pae->Err), pae->ErrText ? pae->ErrText : "");
        }
        pthread_mutex_unlock(&c->q.mu);
    }
    nats_queue_push(&c->q, &ev);
    natsMsg_Destroy(msg);
}

static void nats_msg_handler(natsConnection *nc, natsSubscription *sub, natsMsg *msg,
                             void *closure) {
    (void)nc, (void)sub;
    struct nats_conn *c = closure;
    struct nats_event ev = {.now_ns = bench_now_ns(), .is_ack = false};
    ev.len = (uint32_t)natsMsg_GetDataLength(msg);
    memcpy(ev.head, natsMsg_GetData(msg),
           ev.len < HARNESS_PAYLOAD_HEAD_BYTES ? ev.len : HARNESS_PAYLOAD_HEAD_BYTES);
    nats_queue_push(&c->q, &ev);
    natsMsg_Destroy(msg);
}

/* Connects c->nc and c->js; a producer's context carries the async ack handler. */
static strom_err nats_connect(struct nats_conn *c, bool producer, struct bench_diag *diag) {
    natsOptions *opts = NULL;
    char url[HARNESS_HOST_BYTES_MAX + 16];
    snprintf(url, sizeof url, "nats://%s:%u", c->plan->host, c->plan->port);
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) {
        s = natsOptions_SetURL(opts, url);
    }
    if (s == NATS_OK) {
        s = natsOptions_UseGlobalMessageDelivery(opts, true);
    }
    if (s == NATS_OK && c->plan->workload->rate_msgs_s != 0) {
        s = natsOptions_SetSendAsap(opts, true);
    }
    if (s == NATS_OK) {
        s = natsConnection_Connect(&c->nc, opts);
    }
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        return nats_fail(diag, "connect", s);
    }
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = NATS_API_WAIT_MS;
    if (producer) {
        jo.PublishAsync.MaxPending = c->plan->workload->inflight_max;
        jo.PublishAsync.AckHandler = nats_ack_handler;
        jo.PublishAsync.AckHandlerClosure = c;
    }
    s = natsConnection_JetStream(&c->js, c->nc, &jo);
    return s == NATS_OK ? STROM_OK : nats_fail(diag, "jetstream context", s);
}

static void nats_close(void *conn) {
    struct nats_conn *c = conn;
    if (c == NULL) {
        return;
    }
    pthread_mutex_lock(&c->q.mu);
    c->q.closing = true;
    pthread_cond_broadcast(&c->q.nonfull);
    pthread_mutex_unlock(&c->q.mu);
    for (uint32_t i = 0; i < c->sub_count; i++) {
        natsSubscription_Destroy(c->subs[i]);
    }
    jsCtx_Destroy(c->js);
    natsConnection_Destroy(c->nc);
    /* The queue, c and its arrays stay allocated: a libnats thread may still be inside a
     * callback that holds c, and the worker process exits right after closing. */
}

static struct nats_conn *nats_conn_new(const struct bench_plan *plan, struct bench_diag *diag) {
    struct nats_conn *c = calloc(1, sizeof *c);
    if (c == NULL || nats_queue_init(&c->q) != STROM_OK ||
        (c->batch = calloc(NATS_QUEUE_CAP, sizeof c->batch[0])) == NULL) {
        bench_diag_set(diag, STROM_ERR_NO_MEMORY, "nats connection");
        return NULL;
    }
    c->plan = plan;
    return c;
}

/* Creates every stream of the run (file storage, one replica), within the setup time. */
static strom_err nats_setup(const struct bench_plan *plan, struct bench_diag *diag) {
    struct nats_conn *c = nats_conn_new(plan, diag);
    if (c == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    strom_err err = nats_connect(c, false, diag);
    uint64_t t0 = bench_now_ns();
    uint32_t made = 0;
    for (; err == STROM_OK && made < plan->workload->stream_count; made++) {
        if (bench_now_ns() - t0 > plan->setup_timeout_ns) {
            err =
                bench_diag_set(diag, STROM_ERR_TIMEOUT,
                               "nats created %" PRIu32 " of %" PRIu32 " streams in %.0f s", made,
                               plan->workload->stream_count, (double)plan->setup_timeout_ns / 1e9);
            break;
        }
        char name[NATS_NAME_BYTES_MAX], subject[NATS_NAME_BYTES_MAX];
        nats_stream_name(name, plan, made);
        nats_subject(subject, plan, made);
        const char *subjects[1] = {subject};
        jsStreamConfig cfg;
        jsStreamConfig_Init(&cfg);
        cfg.Name = name;
        cfg.Subjects = subjects;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        cfg.Replicas = 1;
        jsStreamInfo *si = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_AddStream(&si, c->js, &cfg, NULL, &jerr);
        jsStreamInfo_Destroy(si);
        if (s != NATS_OK) {
            err = nats_fail(diag, "add stream", s);
        }
    }
    if (err == STROM_OK) {
        bench_diag_set(diag, STROM_OK,
                       "nats jetstream file storage, 1 replica, %" PRIu32
                       " streams in %.1f s, libnats %s",
                       made, (double)(bench_now_ns() - t0) / 1e9, nats_GetVersion());
    }
    nats_close(c);
    return err;
}

static strom_err nats_producer_open(void **conn, const struct bench_plan *plan, uint32_t index,
                                    struct bench_diag *diag) {
    (void)index;
    struct nats_conn *c = nats_conn_new(plan, diag);
    strom_err err = c ? nats_connect(c, true, diag) : STROM_ERR_NO_MEMORY;
    *conn = c;
    return err;
}

static strom_err nats_producer_send(void *conn, uint32_t stream_index, const uint8_t *payload,
                                    uint32_t len, struct bench_diag *diag) {
    struct nats_conn *c = conn;
    char subject[NATS_NAME_BYTES_MAX];
    nats_subject(subject, c->plan, stream_index);
    natsStatus s = js_PublishAsync(c->js, subject, payload, (int)len, NULL);
    if (s == NATS_TIMEOUT) {
        return STROM_ERR_AGAIN; /* MaxPending reached and the stall wait ran out */
    }
    return s == NATS_OK ? STROM_OK : nats_fail(diag, "publish", s);
}

static strom_err nats_poll(void *conn, uint64_t timeout_ns, const struct bench_sink *sink,
                           struct bench_diag *diag) {
    (void)diag;
    struct nats_conn *c = conn;
    uint32_t n = nats_queue_take(&c->q, timeout_ns, c->batch);
    for (uint32_t i = 0; i < n; i++) {
        const struct nats_event *ev = &c->batch[i];
        if (ev->is_ack) {
            sink->on_ack(sink->ctx, ev->due_ns, ev->ok, ev->now_ns);
        } else {
            sink->on_deliver(sink->ctx, ev->head, ev->len, ev->now_ns);
        }
    }
    pthread_mutex_lock(&c->q.mu);
    if (diag->text[0] == '\0' && c->async_diag.text[0] != '\0') {
        *diag = c->async_diag;
    }
    pthread_mutex_unlock(&c->q.mu);
    return STROM_OK;
}

static strom_err nats_subscriber_open(void **conn, const struct bench_plan *plan,
                                      const uint32_t *streams, uint32_t stream_count,
                                      struct bench_diag *diag) {
    struct nats_conn *c = nats_conn_new(plan, diag);
    strom_err err = c ? nats_connect(c, false, diag) : STROM_ERR_NO_MEMORY;
    if (err == STROM_OK && (c->subs = calloc(stream_count, sizeof c->subs[0])) == NULL) {
        err = bench_diag_set(diag, STROM_ERR_NO_MEMORY, "nats subscriptions");
    }
    uint64_t t0 = bench_now_ns();
    for (uint32_t i = 0; err == STROM_OK && i < stream_count; i++) {
        if (bench_now_ns() - t0 > plan->setup_timeout_ns) {
            err = bench_diag_set(diag, STROM_ERR_TIMEOUT,
                                 "nats subscribed %" PRIu32 " of %" PRIu32 " streams in %.0f s", i,
                                 stream_count, (double)plan->setup_timeout_ns / 1e9);
            break;
        }
        char name[NATS_NAME_BYTES_MAX], subject[NATS_NAME_BYTES_MAX];
        nats_stream_name(name, plan, streams[i]);
        nats_subject(subject, plan, streams[i]);
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = name;
        so.Ordered = true;
        jsErrCode jerr = 0;
        natsStatus s =
            js_Subscribe(&c->subs[i], c->js, subject, nats_msg_handler, c, NULL, &so, &jerr);
        if (s != NATS_OK) {
            err = nats_fail(diag, "subscribe", s);
            break;
        }
        c->sub_count++;
        /* Never drop a message on the client side: the flow control of the ordered consumer
         * bounds what the server sends ahead. */
        natsSubscription_SetPendingLimits(c->subs[i], -1, -1);
    }
    *conn = c;
    return err;
}

const struct bench_driver bench_driver_nats = {
    .system = "nats",
    .default_port = 4222,
    .setup = nats_setup,
    .producer_open = nats_producer_open,
    .producer_send = nats_producer_send,
    .producer_poll = nats_poll,
    .producer_close = nats_close,
    .subscriber_open = nats_subscriber_open,
    .subscriber_poll = nats_poll,
    .subscriber_close = nats_close,
};
