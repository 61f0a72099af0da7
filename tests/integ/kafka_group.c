/*
 * kafka_group.c: librdkafka against a strom node's Kafka port: one idempotent producer sends
 * COUNT messages with acks=all to a topic of PARTITIONS partitions, then a consumer group of
 * three members reads them, and one member leaves (closes) once half of them are consumed.
 * Checks: every message was acknowledged, every message was consumed at least once (those the
 * leaving member had not committed may come twice, never none), each message's value, key and
 * partition match what was produced, and the two members left own every partition at the end.
 *
 * Usage: kafka_group BROKER TOPIC GROUP [COUNT] [PARTITIONS]
 * Prints "kafka_group: produced N consumed N distinct N duplicates N rebalances N" and exits 0
 * on success, 1 with a reason otherwise. Bounded: RUN_SECONDS_MAX in all.
 */
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MEMBERS         3
#define RUN_SECONDS_MAX 180
#define VALUE_BYTES     64
#define ERRSTR_BYTES    512
#define PARTITIONS_MAX  64
#define POLL_BATCH      1000 /* messages taken from one member in a row */

struct run {
    const char *broker, *topic, *group;
    int count, partitions;
    int delivered, failed; /* producer delivery reports */
    uint8_t *seen;         /* per message: times consumed */
    int consumed, distinct, duplicates, wrong;
    int rebalances; /* assignments and revocations seen by the members */
    bool left;      /* the third member has left */
};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void fail(const char *what, const char *why) {
    fprintf(stderr, "kafka_group: FAIL: %s: %s\n", what, why);
    exit(1);
}

static void conf_set(rd_kafka_conf_t *conf, const char *k, const char *v) {
    char err[ERRSTR_BYTES];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
        fail(k, err);
    }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    struct run *run = opaque;
    if (m->err) {
        run->failed++;
        fprintf(stderr, "kafka_group: delivery failed: %s\n", rd_kafka_err2str(m->err));
    } else {
        run->delivered++;
    }
}

static void create_topic(struct run *run, rd_kafka_t *rk) {
    char err[ERRSTR_BYTES];
    rd_kafka_NewTopic_t *t = rd_kafka_NewTopic_new(run->topic, run->partitions, 1, err, sizeof err);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &t, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    size_t n = 0;
    const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
    if (n != 1 || rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fail("CreateTopics", n == 1 ? rd_kafka_topic_result_error_string(tr[0]) : "no result");
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(t);
}

static void produce(struct run *run) {
    char err[ERRSTR_BYTES];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_set(conf, "bootstrap.servers", run->broker);
    conf_set(conf, "acks", "all");
    conf_set(conf, "enable.idempotence", "true");
    conf_set(conf, "linger.ms", "5");
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, run);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk == NULL) {
        fail("producer", err);
    }
    create_topic(run, rk);
    for (int i = 0; i < run->count; i++) {
        char key[32], value[VALUE_BYTES];
        int kl = snprintf(key, sizeof key, "key-%d", i);
        snprintf(value, sizeof value, "value-%09d-%-40s", i, "payload");
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(
                    rk, RD_KAFKA_V_TOPIC(run->topic), RD_KAFKA_V_PARTITION(i % run->partitions),
                    RD_KAFKA_V_KEY(key, (size_t)kl), RD_KAFKA_V_VALUE(value, VALUE_BYTES - 1),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 10);
        }
        if (e) {
            fail("produce", rd_kafka_err2str(e));
        }
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fail("flush", "messages left after 60 s");
    }
    rd_kafka_destroy(rk);
    if (run->delivered != run->count || run->failed != 0) {
        fail("produce", "not every message was acknowledged");
    }
}

/* Rebalances: counted; assignments taken as they come (the eager protocol). */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    struct run *run = opaque;
    run->rebalances++;
    rd_kafka_assign(rk, err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? parts : NULL);
}

static rd_kafka_t *consumer_new(struct run *run, int i) {
    char err[ERRSTR_BYTES], id[32];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    snprintf(id, sizeof id, "member-%d", i);
    conf_set(conf, "bootstrap.servers", run->broker);
    conf_set(conf, "group.id", run->group);
    conf_set(conf, "client.id", id);
    conf_set(conf, "auto.offset.reset", "earliest");
    conf_set(conf, "auto.commit.interval.ms", "200");
    conf_set(conf, "session.timeout.ms", "10000");
    conf_set(conf, "heartbeat.interval.ms", "500");
    rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    rd_kafka_conf_set_opaque(conf, run);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (rk == NULL) {
        fail("consumer", err);
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, run->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        fail("subscribe", rd_kafka_err2str(e));
    }
    return rk;
}

/* Checks one consumed message against what was produced. */
static void take(struct run *run, const rd_kafka_message_t *m) {
    int i = -1;
    char key[32];
    if (m->len == VALUE_BYTES - 1 && sscanf((const char *)m->payload, "value-%9d", &i) == 1 &&
        i >= 0 && i < run->count) {
        int kl = snprintf(key, sizeof key, "key-%d", i);
        bool ok = m->key_len == (size_t)kl && memcmp(m->key, key, (size_t)kl) == 0 &&
                  m->partition == i % run->partitions;
        run->wrong += ok ? 0 : 1;
        run->duplicates += run->seen[i] ? 1 : 0;
        run->distinct += run->seen[i] ? 0 : 1;
        run->seen[i] = run->seen[i] < 255 ? run->seen[i] + 1 : 255;
    } else {
        run->wrong++;
    }
    run->consumed++;
}

static void consume(struct run *run) {
    rd_kafka_t *rk[MEMBERS];
    bool open[MEMBERS];
    for (int i = 0; i < MEMBERS; i++) {
        rk[i] = consumer_new(run, i);
        open[i] = true;
    }
    double start = now_s();
    while (run->distinct < run->count && now_s() - start < RUN_SECONDS_MAX) {
        int got = 0;
        for (int i = 0; i < MEMBERS; i++) {
            /* Drain what each member has (at most POLL_BATCH), then wait a little if none had. */
            rd_kafka_message_t *m;
            for (int n = 0; open[i] && n < POLL_BATCH && (m = rd_kafka_consumer_poll(rk[i], 0));
                 n++) {
                if (!m->err) {
                    take(run, m);
                    got++;
                }
                rd_kafka_message_destroy(m);
            }
        }
        if (got == 0) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(rk[0], 10);
            if (m != NULL && !m->err) {
                take(run, m);
            }
            if (m != NULL) {
                rd_kafka_message_destroy(m);
            }
        }
        if (open[MEMBERS - 1] && run->distinct >= run->count / 2) {
            rd_kafka_consumer_close(rk[MEMBERS - 1]); /* commits and leaves the group */
            rd_kafka_destroy(rk[MEMBERS - 1]);
            open[MEMBERS - 1] = false;
            run->left = true;
            fprintf(stderr, "kafka_group: member %d left after %d messages\n", MEMBERS - 1,
                    run->distinct);
        }
    }
    for (int i = 0; i < MEMBERS; i++) {
        if (open[i]) {
            rd_kafka_consumer_close(rk[i]);
            rd_kafka_destroy(rk[i]);
        }
    }
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: kafka_group BROKER TOPIC GROUP [COUNT] [PARTITIONS]\n");
        return 2;
    }
    struct run run = {.broker = argv[1], .topic = argv[2], .group = argv[3]};
    run.count = argc > 4 ? atoi(argv[4]) : 100000;
    run.partitions = argc > 5 ? atoi(argv[5]) : 6;
    if (run.count < 1 || run.partitions < MEMBERS || run.partitions > PARTITIONS_MAX) {
        fail("arguments", "COUNT >= 1, PARTITIONS in [3, 64]");
    }
    run.seen = calloc((size_t)run.count, 1);
    double t0 = now_s();
    produce(&run);
    double t1 = now_s();
    consume(&run);
    double t2 = now_s();
    printf("kafka_group: produced %d consumed %d distinct %d duplicates %d wrong %d rebalances %d "
           "produce_s %.1f consume_s %.1f\n",
           run.delivered, run.consumed, run.distinct, run.duplicates, run.wrong, run.rebalances,
           t1 - t0, t2 - t1);
    if (run.distinct != run.count || run.wrong != 0 || !run.left) {
        fail("consume", "messages missing or not as produced");
    }
    free(run.seen);
    return 0;
}
