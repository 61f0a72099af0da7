/*
 * drv_kafka.c: the Kafka-protocol driver, on librdkafka (Debian librdkafka-dev). It points at
 * strom's Kafka port (topic T partition p is strom's stream /T/p) or at any Kafka broker.
 *
 * A run is one topic, "<prefix>", with one partition per stream: stream i is partition i. Setup
 * creates the topic (CreateTopics, replication factor 1). A producer produces each message to its
 * partition; the delivery report is its ack. acks maps the durability row onto the broker:
 * memory row acks=1 (strom: ack level 1), disk row acks=all (strom: the stream's sync level; a
 * Kafka broker syncs as its own flush settings say, so a Kafka disk row is only as durable as
 * the broker's log.flush.* settings make it). A subscriber is a consumer assigned its partitions
 * from the beginning (no group: nothing to rebalance mid-run).
 *
 * librdkafka works on threads of its own, but delivery reports and consumed messages are served
 * only when the application polls, on the application's thread. Each queue is given an eventfd
 * (rd_kafka_queue_io_event_enable) so that a poll can wait with nanosecond precision in
 * ppoll(2), then take what is there without blocking.
 *
 * Fixed-rate workloads set linger.ms=0 (send at once, as a latency-minded user would); max-rate
 * workloads keep librdkafka's default batching.
 */
#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/assert.h"
#include "harness.h"

enum {
    KAFKA_ERRSTR_BYTES = 256,
    KAFKA_TOPIC_BYTES_MAX = HARNESS_PREFIX_BYTES_MAX,
};

struct kafka_conn {
    const struct bench_plan *plan;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;         /* producer: the run's topic */
    rd_kafka_queue_t *queue;       /* the queue this connection serves (main or consumer) */
    int event_fd;                  /* written by librdkafka when the queue becomes non-empty */
    const struct bench_sink *sink; /* during a producer poll: where delivery reports go */
    struct bench_diag *diag;       /* during a producer poll */
};

static strom_err kafka_set(rd_kafka_conf_t *conf, const char *key, const char *value,
                           struct bench_diag *diag) {
    char errstr[KAFKA_ERRSTR_BYTES];
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        return bench_diag_set(diag, STROM_ERR_INVALID_ARGUMENT, "kafka %s=%s: %s", key, value,
                              errstr);
    }
    return STROM_OK;
}

/* A configuration with the broker address and the settings every role shares. */
static rd_kafka_conf_t *kafka_conf(const struct bench_plan *plan, struct bench_diag *diag) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char brokers[HARNESS_HOST_BYTES_MAX + 8];
    snprintf(brokers, sizeof brokers, "%s:%u", plan->host, plan->port);
    if (kafka_set(conf, "bootstrap.servers", brokers, diag) != STROM_OK ||
        kafka_set(conf, "client.id", "strom-bench", diag) != STROM_OK) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/* Creates rd_kafka_t of type from conf (consumed), with an eventfd on queue. */
static strom_err kafka_open(struct kafka_conn *c, rd_kafka_type_t type, rd_kafka_conf_t *conf,
                            struct bench_diag *diag) {
    char errstr[KAFKA_ERRSTR_BYTES];
    c->event_fd = -1;
    c->rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (c->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return bench_diag_set(diag, STROM_ERR_INVALID_ARGUMENT, "kafka: %s", errstr);
    }
    c->queue = type == RD_KAFKA_PRODUCER ? rd_kafka_queue_get_main(c->rk)
                                         : rd_kafka_queue_get_consumer(c->rk);
    c->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->queue == NULL || c->event_fd < 0) {
        return bench_diag_set(diag, STROM_ERR_IO, "kafka: queue or eventfd");
    }
    static const uint64_t one = 1;
    rd_kafka_queue_io_event_enable(c->queue, c->event_fd, &one, sizeof one);
    return STROM_OK;
}

static void kafka_close(void *conn) {
    struct kafka_conn *c = conn;
    if (c == NULL) {
        return;
    }
    if (c->queue != NULL) {
        rd_kafka_queue_io_event_enable(c->queue, -1, NULL, 0);
        rd_kafka_queue_destroy(c->queue);
    }
    if (c->rkt != NULL) {
        rd_kafka_topic_destroy(c->rkt);
    }
    if (c->rk != NULL) {
        /* A subscriber is assigned its partitions (no group membership, no commits), so
         * there is nothing for librdkafka's consumer close to hand back; skipping it spares
         * seconds when thousands of partitions are assigned. */
        rd_kafka_destroy_flags(c->rk, rd_kafka_type(c->rk) == RD_KAFKA_CONSUMER
                                          ? RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE
                                          : 0);
    }
    if (c->event_fd >= 0) {
        close(c->event_fd);
    }
    free(c);
}

/* Waits up to timeout_ns for the queue's eventfd and clears it. */
static void kafka_wait(struct kafka_conn *c, uint64_t timeout_ns) {
    if (rd_kafka_queue_length(c->queue) > 0) {
        return;
    }
    struct pollfd pfd = {.fd = c->event_fd, .events = POLLIN};
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
                          .tv_nsec = (long)(timeout_ns % 1000000000u)};
    if (ppoll(&pfd, 1, &ts, NULL) > 0) {
        uint64_t v;
        ssize_t got = read(c->event_fd, &v, sizeof v);
        (void)got; /* EAGAIN after a spurious wake-up is fine */
    }
}

/* Creates the run's topic with one partition per stream; an existing topic is an error (the
 * prefix is unique per run). */
static strom_err kafka_setup(const struct bench_plan *plan, struct bench_diag *diag) {
    struct kafka_conn *c = calloc(1, sizeof *c);
    rd_kafka_conf_t *conf = c ? kafka_conf(plan, diag) : NULL;
    strom_err err = conf ? kafka_open(c, RD_KAFKA_PRODUCER, conf, diag) : STROM_ERR_NO_MEMORY;
    if (err != STROM_OK) {
        kafka_close(c);
        return err;
    }
    char errstr[KAFKA_ERRSTR_BYTES];
    int timeout_ms = (int)(plan->setup_timeout_ns / 1000000u);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(plan->prefix, (int)plan->workload->stream_count,
                                                    1, errstr, sizeof errstr);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(c->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, errstr, sizeof errstr);
    rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, errstr, sizeof errstr);
    rd_kafka_queue_t *rq = rd_kafka_queue_new(c->rk);
    uint64_t t0 = bench_now_ns();
    rd_kafka_CreateTopics(c->rk, &nt, 1, ao, rq);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(rq, timeout_ms + 1000);
    const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
    if (ev == NULL) {
        err = bench_diag_set(diag, STROM_ERR_TIMEOUT, "kafka create topic: timed out");
    } else if (rd_kafka_event_error(ev) || n != 1 || rd_kafka_topic_result_error(tr[0])) {
        err =
            bench_diag_set(diag, STROM_ERR_IO, "kafka create topic with %" PRIu32 " partitions: %s",
                           plan->workload->stream_count,
                           rd_kafka_event_error(ev) ? rd_kafka_event_error_string(ev)
                           : n == 1                 ? rd_kafka_topic_result_error_string(tr[0])
                                                    : "no result");
    } else {
        bench_diag_set(diag, STROM_OK,
                       "kafka topic of %" PRIu32 " partitions in %.1f s, "
                       "librdkafka %s",
                       plan->workload->stream_count, (double)(bench_now_ns() - t0) / 1e9,
                       rd_kafka_version_str());
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(rq);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_NewTopic_destroy(nt);
    kafka_close(c);
    return err;
}

static strom_err kafka_producer_send(void *conn, uint32_t stream_index, const uint8_t *payload,
                                     uint32_t len, struct bench_diag *diag) {
    struct kafka_conn *c = conn;
    struct bench_payload_head head;
    bool ok = bench_payload_read(payload, len, &head);
    strom_assert(ok);
    if (rd_kafka_produce(c->rkt, (int32_t)stream_index, RD_KAFKA_MSG_F_COPY, (void *)payload, len,
                         NULL, 0, (void *)(uintptr_t)head.due_ns) != 0) {
        rd_kafka_resp_err_t e = rd_kafka_last_error();
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            return STROM_ERR_AGAIN;
        }
        return bench_diag_set(diag, STROM_ERR_IO, "kafka produce: %s", rd_kafka_err2str(e));
    }
    return STROM_OK;
}

static strom_err kafka_producer_poll(void *conn, uint64_t timeout_ns, const struct bench_sink *sink,
                                     struct bench_diag *diag) {
    struct kafka_conn *c = conn;
    kafka_wait(c, timeout_ns);
    c->sink = sink;
    c->diag = diag;
    rd_kafka_poll(c->rk, 0);
    c->sink = NULL;
    c->diag = NULL;
    return STROM_OK;
}

/* A delivery report, served by rd_kafka_poll on the worker's thread; the connection comes as
 * the rd_kafka_t's opaque, the message's due time as its per-message opaque. */
static void kafka_dr_msg(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    struct kafka_conn *c = opaque;
    strom_assert(c != NULL && c->sink != NULL);
    if (m->err && c->diag->text[0] == '\0') {
        bench_diag_set(c->diag, STROM_OK, "kafka delivery: %s", rd_kafka_err2str(m->err));
    }
    c->sink->on_ack(c->sink->ctx, (uint64_t)(uintptr_t)m->_private, m->err == 0, bench_now_ns());
}

static strom_err kafka_producer_open(void **conn, const struct bench_plan *plan, uint32_t index,
                                     struct bench_diag *diag) {
    (void)index;
    struct kafka_conn *c = calloc(1, sizeof *c);
    rd_kafka_conf_t *conf = c ? kafka_conf(plan, diag) : NULL;
    strom_err err = conf ? STROM_OK : STROM_ERR_NO_MEMORY;
    char window[16];
    snprintf(window, sizeof window, "%" PRIu32, plan->workload->inflight_max);
    bool disk = plan->workload->durability == BENCH_DURABILITY_DISK;
    err = err ? err : kafka_set(conf, "acks", disk ? "all" : "1", diag);
    err = err ? err : kafka_set(conf, "queue.buffering.max.messages", window, diag);
    if (plan->workload->rate_msgs_s != 0) {
        err = err ? err : kafka_set(conf, "linger.ms", "0", diag);
    }
    if (err == STROM_OK) {
        c->plan = plan;
        rd_kafka_conf_set_dr_msg_cb(conf, kafka_dr_msg);
        rd_kafka_conf_set_opaque(conf, c);
        err = kafka_open(c, RD_KAFKA_PRODUCER, conf, diag);
        conf = NULL;
    }
    if (err == STROM_OK && (c->rkt = rd_kafka_topic_new(c->rk, plan->prefix, NULL)) == NULL) {
        err = bench_diag_set(diag, STROM_ERR_IO, "kafka topic: %s",
                             rd_kafka_err2str(rd_kafka_last_error()));
    }
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    *conn = c;
    return err;
}

static strom_err kafka_subscriber_open(void **conn, const struct bench_plan *plan,
                                       const uint32_t *streams, uint32_t stream_count,
                                       struct bench_diag *diag) {
    struct kafka_conn *c = calloc(1, sizeof *c);
    rd_kafka_conf_t *conf = c ? kafka_conf(plan, diag) : NULL;
    strom_err err = conf ? STROM_OK : STROM_ERR_NO_MEMORY;
    err = err ? err : kafka_set(conf, "group.id", plan->prefix, diag);
    err = err ? err : kafka_set(conf, "enable.auto.commit", "false", diag);
    err = err ? err : kafka_set(conf, "enable.partition.eof", "false", diag);
    if (err == STROM_OK) {
        c->plan = plan;
        err = kafka_open(c, RD_KAFKA_CONSUMER, conf, diag);
        conf = NULL;
    }
    if (conf != NULL) {
        rd_kafka_conf_destroy(conf);
    }
    rd_kafka_topic_partition_list_t *parts =
        err == STROM_OK ? rd_kafka_topic_partition_list_new((int)stream_count) : NULL;
    for (uint32_t i = 0; parts != NULL && i < stream_count; i++) {
        rd_kafka_topic_partition_list_add(parts, plan->prefix, (int32_t)streams[i])->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    if (parts != NULL) {
        rd_kafka_resp_err_t e = rd_kafka_assign(c->rk, parts);
        if (e) {
            err = bench_diag_set(diag, STROM_ERR_IO, "kafka assign: %s", rd_kafka_err2str(e));
        }
        rd_kafka_topic_partition_list_destroy(parts);
    }
    *conn = c;
    return err;
}

static strom_err kafka_subscriber_poll(void *conn, uint64_t timeout_ns,
                                       const struct bench_sink *sink, struct bench_diag *diag) {
    struct kafka_conn *c = conn;
    kafka_wait(c, timeout_ns);
    uint64_t now = bench_now_ns();
    rd_kafka_message_t *m;
    strom_err err = STROM_OK;
    while (err == STROM_OK && (m = rd_kafka_consumer_poll(c->rk, 0)) != NULL) {
        if (m->err == 0) {
            sink->on_deliver(sink->ctx, m->payload, (uint32_t)m->len, now);
        } else if (diag->text[0] == '\0') {
            /* librdkafka retries by itself; the first error is kept as a note, and a
             * subscriber that stays cut off shows as undelivered messages. */
            bench_diag_set(diag, STROM_OK, "kafka consume: %s", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    return err;
}

const struct bench_driver bench_driver_kafka = {
    .system = "kafka",
    .default_port = 9092,
    .setup = kafka_setup,
    .producer_open = kafka_producer_open,
    .producer_send = kafka_producer_send,
    .producer_poll = kafka_producer_poll,
    .producer_close = kafka_close,
    .subscriber_open = kafka_subscriber_open,
    .subscriber_poll = kafka_subscriber_poll,
    .subscriber_close = kafka_close,
};
