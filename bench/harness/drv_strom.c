/*
 * drv_strom.c: the strom native driver, on libstrom (include/strom.h).
 *
 * Stream i of a run is the strom stream "/<prefix>/<i>" (the same stream the Kafka driver sees as
 * topic <prefix> partition i). Setup creates the streams by a first append of a marker message
 * each; subscribers read from offset 1. The durability row picks the ack
 * level of appends and reads: memory row 1 | STROM_NO_SYNC (published by the sequencer, not yet
 * synced), disk row the default (on disk). The producer's messages are deduplicated by no one
 * (no_idempotence), as the other drivers' are not either.
 *
 * A producer queues what the harness sends and, at its next poll, appends it: the messages
 * queued for one stream since the last poll go as one batch (strom_append_async, pipelined), as
 * librdkafka batches per partition and libnats coalesces its writes. At a fixed rate a poll
 * follows every send, so a batch holds one message and waits for nothing; at max rate batches
 * grow with the pipeline. Each message's due time is kept with its batch until the answer.
 *
 * A subscriber follows each of its streams with a callback subscription from offset 1. A
 * connection holds at most 1,024 subscriptions (libstrom's limit) and at most the node's
 * reads_max, so a subscriber of more streams opens several connections; every connection is
 * waited on with ppoll(2), whose timeout counts in nanoseconds.
 *
 * libstrom starts no thread: everything here runs on the worker's thread, in strom_step.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "harness.h"
#include "strom.h"

enum {
    STROM_DRV_PATH_BYTES_MAX = HARNESS_PREFIX_BYTES_MAX + 16, /* "/<prefix>/<i>" with the NUL */
    STROM_DRV_BATCH_MSGS_MAX = 256,                           /* messages per append */
    STROM_DRV_SUBS_PER_CLIENT = 1024,                         /* libstrom's limit per client */
    STROM_DRV_CLIENTS_MAX = 1024,                             /* connections of one subscriber */
};

struct strom_conn;

/* One append in flight: the due times of its messages. */
struct strom_batch {
    struct strom_conn *conn;
    uint32_t count;
    uint32_t next_free; /* index of the next free batch, when this one is free */
    uint64_t due_ns[STROM_DRV_BATCH_MSGS_MAX];
};

/* One message queued by producer_send, appended at the next poll. */
struct strom_pending {
    uint32_t stream_index;
    uint32_t len;
    uint64_t due_ns;
    uint8_t *payload; /* in the connection's arena */
};

struct strom_conn {
    const struct bench_plan *plan;
    uint32_t ack;           /* 1 | STROM_NO_SYNC, or STROM_ACK_DEFAULT */
    strom_client **clients; /* one for a producer, one per 1,024 streams for a subscriber */
    uint32_t client_count;
    /* producer */
    struct strom_pending *pending; /* a ring of inflight_max; entry i's payload is arena slot i */
    uint32_t pending_head;         /* oldest entry */
    uint32_t pending_count;
    uint8_t *arena;                /* inflight_max * msg_bytes */
    struct strom_batch *batches;   /* inflight_max of them (a batch holds at least a message) */
    uint32_t free_batch;           /* head of the free list; UINT32_MAX when empty */
    struct strom_msg *msgs;        /* STROM_DRV_BATCH_MSGS_MAX, to build one append */
    const struct bench_sink *sink; /* during a poll */
    struct bench_diag *diag;       /* during a poll */
    /* subscriber */
    strom_sub **subs;
    uint32_t sub_count;
    uint32_t subs_per_client; /* subscriptions on each connection */
    strom_err sub_err;        /* why the first subscription ended, or OK */
    struct pollfd *pfds;      /* client_count of them */
};

static void strom_path(char *out, const struct bench_plan *plan, uint32_t stream) {
    snprintf(out, STROM_DRV_PATH_BYTES_MAX, "/%s/%" PRIu32, plan->prefix, stream);
}

static uint32_t strom_ack(const struct bench_plan *plan) {
    return plan->workload->durability == BENCH_DURABILITY_DISK ? STROM_ACK_DEFAULT
                                                               : 1u | STROM_NO_SYNC;
}

static strom_err strom_connect(strom_client **out, const struct bench_plan *plan, uint32_t inflight,
                               struct bench_diag *diag) {
    char server[HARNESS_HOST_BYTES_MAX + 8];
    snprintf(server, sizeof server, "%s:%u", plan->host, plan->port);
    struct strom_options opt;
    strom_options_init(&opt);
    opt.server = server;
    opt.client_name = "strom-bench";
    opt.no_idempotence = true;
    opt.inflight_max = inflight;
    opt.request_timeout_ns = plan->setup_timeout_ns; /* bounds the blocking calls of setup */
    strom_err err = strom_open(&opt, out);
    if (err != STROM_OK) {
        bench_diag_set(diag, err, "strom connect %s: %s", server, strom_strerror(err));
    }
    return err;
}

static void strom_close_conn(void *conn) {
    struct strom_conn *c = conn;
    if (c == NULL) {
        return;
    }
    for (uint32_t i = 0; i < c->sub_count; i++) {
        strom_sub_close(c->clients[i / c->subs_per_client], c->subs[i]);
    }
    for (uint32_t i = 0; i < c->client_count; i++) {
        strom_close(c->clients[i]);
    }
    free(c->clients);
    free(c->pending);
    free(c->arena);
    free(c->batches);
    free(c->msgs);
    free(c->subs);
    free(c->pfds);
    free(c);
}

/* Counts the answers to setup's appends; the first error is kept. */
struct strom_setup_state {
    uint32_t answered;
    strom_err err;
};

static void strom_setup_done(void *arg, const struct strom_append_result *r) {
    struct strom_setup_state *st = arg;
    st->answered++;
    if (st->err == STROM_OK) {
        st->err = r->err;
    }
}

/*
 * Creates every stream of the run as strom's users do, by a first append (the node creates a
 * stream on its first append): one marker message per stream, pipelined, at ack 1. Subscribers
 * then read from offset 1. (strom_create is one blocking round trip per stream, too slow for
 * 100,000 of them within the setup time.) The note says how long it took.
 */
static strom_err strom_setup(const struct bench_plan *plan, struct bench_diag *diag) {
    static const char marker[] = "strom-bench: stream created by setup";
    const struct strom_msg msg = {.payload = marker, .payload_bytes = sizeof marker - 1};
    strom_client *cl = NULL;
    struct strom_setup_state st = {0};
    strom_err err = strom_connect(&cl, plan, 4096, diag);
    uint64_t t0 = bench_now_ns();
    uint32_t sent = 0, count = plan->workload->stream_count;
    while (err == STROM_OK && st.answered < count) {
        if (bench_now_ns() - t0 > plan->setup_timeout_ns) {
            err = bench_diag_set(diag, STROM_ERR_TIMEOUT,
                                 "strom created %" PRIu32 " of %" PRIu32 " streams in %.0f s",
                                 st.answered, count, (double)plan->setup_timeout_ns / 1e9);
            break;
        }
        strom_err q = STROM_OK;
        while (sent < count && q == STROM_OK) {
            char path[STROM_DRV_PATH_BYTES_MAX];
            strom_path(path, plan, sent);
            q = strom_append_async(cl, path, &msg, 1, 1u | STROM_NO_SYNC, strom_setup_done, &st);
            sent += q == STROM_OK ? 1 : 0;
        }
        err = q == STROM_OK || q == STROM_ERR_AGAIN ? strom_step(cl, 1000000) : q;
        err = err ? err : st.err;
        if (err != STROM_OK) {
            bench_diag_set(diag, err, "strom: creating stream %" PRIu32 ": %s", sent,
                           strom_strerror(err));
        }
    }
    if (err == STROM_OK) {
        struct strom_server_info info;
        strom_server_info(cl, &info);
        bench_diag_set(diag, STROM_OK,
                       "strom node %s protocol %u, %" PRIu32 " streams created in %.1f s, ack %s",
                       info.node_name, info.version, count, (double)(bench_now_ns() - t0) / 1e9,
                       strom_ack(plan) == STROM_ACK_DEFAULT ? "sync" : "1 no-sync");
    }
    strom_close(cl);
    return err;
}

static strom_err strom_producer_open(void **conn, const struct bench_plan *plan, uint32_t index,
                                     struct bench_diag *diag) {
    (void)index;
    const struct bench_workload *w = plan->workload;
    struct strom_conn *c = calloc(1, sizeof *c);
    strom_err err = STROM_OK;
    if (c == NULL || (c->clients = calloc(1, sizeof c->clients[0])) == NULL ||
        (c->pending = calloc(w->inflight_max, sizeof c->pending[0])) == NULL ||
        (c->arena = malloc((size_t)w->inflight_max * w->msg_bytes)) == NULL ||
        (c->batches = calloc(w->inflight_max, sizeof c->batches[0])) == NULL ||
        (c->msgs = calloc(STROM_DRV_BATCH_MSGS_MAX, sizeof c->msgs[0])) == NULL ||
        (c->pfds = calloc(1, sizeof c->pfds[0])) == NULL) {
        err = bench_diag_set(diag, STROM_ERR_NO_MEMORY, "strom producer");
        goto done;
    }
    c->plan = plan;
    c->ack = strom_ack(plan);
    for (uint32_t i = 0; i < w->inflight_max; i++) {
        c->batches[i].conn = c;
        c->batches[i].next_free = i + 1 < w->inflight_max ? i + 1 : UINT32_MAX;
        c->pending[i].payload = c->arena + (size_t)i * w->msg_bytes;
    }
    err = strom_connect(&c->clients[0], plan, w->inflight_max, diag);
    c->client_count = err == STROM_OK ? 1 : 0;
done:
    *conn = c;
    return err;
}

static strom_err strom_producer_send(void *conn, uint32_t stream_index, const uint8_t *payload,
                                     uint32_t len, struct bench_diag *diag) {
    (void)diag;
    struct strom_conn *c = conn;
    if (c->pending_count == c->plan->workload->inflight_max) {
        return STROM_ERR_AGAIN;
    }
    struct bench_payload_head head;
    bool ok = bench_payload_read(payload, len, &head);
    strom_assert(ok && len <= c->plan->workload->msg_bytes);
    uint32_t cap = c->plan->workload->inflight_max;
    struct strom_pending *p = &c->pending[(c->pending_head + c->pending_count++) % cap];
    p->stream_index = stream_index;
    p->len = len;
    p->due_ns = head.due_ns;
    memcpy(p->payload, payload, len);
    return STROM_OK;
}

static void strom_append_done(void *arg, const struct strom_append_result *r) {
    struct strom_batch *b = arg;
    struct strom_conn *c = b->conn;
    strom_assert(c->sink != NULL);
    uint64_t now = bench_now_ns();
    if (r->err != STROM_OK && c->diag->text[0] == '\0') {
        bench_diag_set(c->diag, STROM_OK, "strom append: %s", strom_strerror(r->err));
    }
    for (uint32_t i = 0; i < b->count; i++) {
        c->sink->on_ack(c->sink->ctx, b->due_ns[i], r->err == STROM_OK, now);
    }
    b->next_free = c->free_batch;
    c->free_batch = (uint32_t)(b - c->batches);
}

/* Appends the pending messages, one batch per run of messages to one stream (in send order).
 * Messages that the client cannot take now (AGAIN) stay pending for the next poll. */
static strom_err strom_flush(struct strom_conn *c, struct bench_diag *diag) {
    uint32_t cap = c->plan->workload->inflight_max;
    strom_err err = STROM_OK;
    while (c->pending_count > 0 && c->free_batch != UINT32_MAX) {
        uint32_t stream = c->pending[c->pending_head].stream_index;
        uint32_t n = 0;
        struct strom_batch *b = &c->batches[c->free_batch];
        while (n < c->pending_count && n < STROM_DRV_BATCH_MSGS_MAX) {
            const struct strom_pending *p = &c->pending[(c->pending_head + n) % cap];
            if (p->stream_index != stream) {
                break;
            }
            c->msgs[n] = (struct strom_msg){.payload = p->payload, .payload_bytes = p->len};
            b->due_ns[n] = p->due_ns;
            n++;
        }
        char path[STROM_DRV_PATH_BYTES_MAX];
        strom_path(path, c->plan, stream);
        err = strom_append_async(c->clients[0], path, c->msgs, n, c->ack, strom_append_done, b);
        if (err != STROM_OK) {
            break;
        }
        /* libstrom copied the messages: their arena slots are free again. */
        b->count = n;
        c->free_batch = b->next_free;
        c->pending_head = (c->pending_head + n) % cap;
        c->pending_count -= n;
    }
    if (err == STROM_ERR_AGAIN) {
        err = STROM_OK;
    } else if (err != STROM_OK) {
        bench_diag_set(diag, err, "strom append: %s", strom_strerror(err));
    }
    return err;
}

/*
 * Waits up to timeout_ns for any of the connection's clients with ppoll(2), then steps the ready
 * ones without waiting. The harness waits here rather than in strom_step's own wait, which counts
 * in whole milliseconds: a fixed-rate producer must wake up within microseconds of its next due
 * time. A disconnected client (fd -1) is stepped too, so that it reconnects.
 */
static strom_err strom_wait_step(struct strom_conn *c, uint64_t timeout_ns) {
    for (uint32_t i = 0; i < c->client_count; i++) {
        c->pfds[i] =
            (struct pollfd){.fd = strom_fd(c->clients[i]), .events = strom_events(c->clients[i])};
        uint64_t t = strom_timeout_ns(c->clients[i]);
        timeout_ns = t < timeout_ns ? t : timeout_ns;
    }
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
                          .tv_nsec = (long)(timeout_ns % 1000000000u)};
    ppoll(c->pfds, c->client_count, &ts, NULL);
    strom_err err = STROM_OK;
    for (uint32_t i = 0; i < c->client_count && err == STROM_OK; i++) {
        if (c->pfds[i].revents != 0 || c->pfds[i].fd < 0) {
            err = strom_step(c->clients[i], 0);
        }
    }
    return err;
}

static strom_err strom_producer_poll(void *conn, uint64_t timeout_ns, const struct bench_sink *sink,
                                     struct bench_diag *diag) {
    struct strom_conn *c = conn;
    c->sink = sink;
    c->diag = diag;
    strom_err err = strom_flush(c, diag);
    if (err == STROM_OK) {
        err = strom_wait_step(c, c->pending_count > 0 ? 0 : timeout_ns);
        if (err != STROM_OK) {
            bench_diag_set(diag, err, "strom: %s", strom_strerror(err));
        }
    }
    c->sink = NULL;
    return err;
}

/* A delivery, or the end of a subscription: a following subscription has no normal end, so an
 * end fails the subscriber (the streams it read would go unread). */
static void strom_sub_done(void *arg, strom_sub *sub, const struct strom_msg *msg, strom_err err) {
    (void)sub;
    struct strom_conn *c = arg;
    if (msg != NULL) {
        /* No message is sent before every subscriber is in place, so deliveries come in polls. */
        strom_assert(c->sink != NULL);
        c->sink->on_deliver(c->sink->ctx, msg->payload, msg->payload_bytes, bench_now_ns());
    } else if (c->sub_err == STROM_OK) {
        c->sub_err = err != STROM_OK ? err : STROM_ERR_END;
        bench_diag_set(c->diag, c->sub_err, "strom subscription ended: %s",
                       strom_strerror(c->sub_err));
    }
}

/* Subscriptions per connection: libstrom's limit, or the node's reads_max when lower. */
static uint32_t strom_subs_per_client(strom_client *cl) {
    struct strom_server_info info;
    strom_server_info(cl, &info);
    uint32_t n = STROM_DRV_SUBS_PER_CLIENT;
    return info.reads_max > 0 && info.reads_max < n ? info.reads_max : n;
}

/* Opens the connections a subscriber of stream_count streams needs. */
static strom_err strom_subscriber_connect(struct strom_conn *c, uint32_t stream_count,
                                          struct bench_diag *diag) {
    strom_err err = strom_connect(&c->clients[0], c->plan, 16, diag);
    c->client_count = err == STROM_OK ? 1 : 0;
    c->subs_per_client = err == STROM_OK ? strom_subs_per_client(c->clients[0]) : 1;
    uint32_t clients = (stream_count + c->subs_per_client - 1) / c->subs_per_client;
    if (err == STROM_OK && clients > STROM_DRV_CLIENTS_MAX) {
        err = bench_diag_set(diag, STROM_ERR_LIMIT,
                             "strom: %" PRIu32 " streams at %" PRIu32 " reads per connection need "
                             "more than %d connections",
                             stream_count, c->subs_per_client, STROM_DRV_CLIENTS_MAX);
    }
    for (; err == STROM_OK && c->client_count < clients; c->client_count++) {
        err = strom_connect(&c->clients[c->client_count], c->plan, 16, diag);
        if (err != STROM_OK) {
            break;
        }
    }
    return err;
}

static strom_err strom_subscriber_open(void **conn, const struct bench_plan *plan,
                                       const uint32_t *streams, uint32_t stream_count,
                                       struct bench_diag *diag) {
    struct strom_conn *c = calloc(1, sizeof *c);
    strom_err err = STROM_OK;
    if (c == NULL || (c->clients = calloc(STROM_DRV_CLIENTS_MAX, sizeof c->clients[0])) == NULL ||
        (c->subs = calloc(stream_count, sizeof c->subs[0])) == NULL ||
        (c->pfds = calloc(STROM_DRV_CLIENTS_MAX, sizeof c->pfds[0])) == NULL) {
        err = bench_diag_set(diag, STROM_ERR_NO_MEMORY, "strom subscriber");
        goto done;
    }
    c->plan = plan;
    c->ack = strom_ack(plan);
    c->diag = diag; /* a subscription may end while the pings below step the clients */
    err = strom_subscriber_connect(c, stream_count, diag);
    struct strom_read_options ro;
    strom_read_options_init(&ro);
    ro.from = 1; /* offset 0 is setup's marker */
    ro.follow = true;
    ro.ack = c->ack;
    for (; err == STROM_OK && c->sub_count < stream_count; c->sub_count++) {
        char path[STROM_DRV_PATH_BYTES_MAX];
        strom_path(path, plan, streams[c->sub_count]);
        err = strom_subscribe(c->clients[c->sub_count / c->subs_per_client], path, &ro,
                              strom_sub_done, c, &c->subs[c->sub_count]);
        if (err != STROM_OK) {
            bench_diag_set(diag, err, "strom subscribe %s: %s", path, strom_strerror(err));
            break;
        }
    }
    /* strom_subscribe only queues the read: a ping answered on each connection means the node
     * has taken every read sent before it, so the subscriptions are in place before the start,
     * as a NATS subscriber's consumers are when js_Subscribe returns. */
    for (uint32_t i = 0; err == STROM_OK && i < c->client_count; i++) {
        err = strom_ping(c->clients[i], NULL);
        if (err != STROM_OK) {
            bench_diag_set(diag, err, "strom ping after subscribing: %s", strom_strerror(err));
        }
    }
done:
    *conn = c;
    return err;
}

static strom_err strom_subscriber_poll(void *conn, uint64_t timeout_ns,
                                       const struct bench_sink *sink, struct bench_diag *diag) {
    struct strom_conn *c = conn;
    c->sink = sink;
    c->diag = diag;
    strom_err err = strom_wait_step(c, timeout_ns);
    if (err != STROM_OK) {
        bench_diag_set(diag, err, "strom: %s", strom_strerror(err));
    }
    c->sink = NULL;
    return err != STROM_OK ? err : c->sub_err;
}

const struct bench_driver bench_driver_strom = {
    .system = "strom",
    .default_port = 7420,
    .setup = strom_setup,
    .producer_open = strom_producer_open,
    .producer_send = strom_producer_send,
    .producer_poll = strom_producer_poll,
    .producer_close = strom_close_conn,
    .subscriber_open = strom_subscriber_open,
    .subscriber_poll = strom_subscriber_poll,
    .subscriber_close = strom_close_conn,
};
