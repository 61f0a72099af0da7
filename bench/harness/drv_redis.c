/*
 * drv_redis.c: the Redis Streams driver, on hiredis (Debian libhiredis-dev).
 *
 * Stream i of a run is the Redis stream key "<prefix>:<i>". A producer sends `XADD key * p
 * <payload>` pipelined on its connection; the reply (the entry id) is its ack, and replies come
 * in the order of the commands, so a FIFO of due times matches each reply to its message. A
 * subscriber keeps one blocking `XREAD BLOCK 0 COUNT n STREAMS key... id...` outstanding over
 * all its streams, and asks again from the last ids it saw as soon as an answer arrives.
 *
 * hiredis is driven without blocking: commands are formatted into the context's output buffer
 * (redisAppendCommandArgv), written with redisBufferWrite, and replies read with redisBufferRead
 * and redisGetReplyFromReader when poll(2) says the socket is ready. Everything runs on the
 * worker's own thread.
 *
 * When Redis syncs is the server's configuration (appendonly yes, appendfsync everysec or
 * always): setup checks that it matches the run's durability row and refuses to run otherwise.
 */
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/assert.h"
#include "harness.h"

enum {
    REDIS_KEY_BYTES_MAX = HARNESS_PREFIX_BYTES_MAX + 12, /* "<prefix>:<i>" with the NUL */
    REDIS_ID_BYTES_MAX = 48,                             /* "<ms>-<seq>" with the NUL */
    REDIS_XREAD_COUNT = 1024,                            /* entries per stream per XREAD answer */
    REDIS_CONNECT_TIMEOUT_MS = 5000,
};

struct redis_conn {
    redisContext *ctx;
    const struct bench_plan *plan;
    /* producer */
    uint64_t *due_fifo;  /* due times of the messages sent and not yet answered */
    uint32_t fifo_cap;   /* = the workload's inflight_max */
    uint32_t fifo_head;  /* index of the oldest */
    uint32_t fifo_count; /* entries in use */
    /* subscriber */
    uint32_t stream_count;
    char (*keys)[REDIS_KEY_BYTES_MAX]; /* key of each stream read */
    char (*ids)[REDIS_ID_BYTES_MAX];   /* last id seen per stream read ("0-0" at first) */
    const char **argv;                 /* XREAD's arguments, rebuilt per request */
    size_t *argv_len;
    bool xread_outstanding; /* an XREAD is sent and not answered */
};

static void redis_key(char *out, const struct bench_plan *plan, uint32_t stream) {
    snprintf(out, REDIS_KEY_BYTES_MAX, "%s:%" PRIu32, plan->prefix, stream);
}

/* A blocking connection for setup. */
static strom_err redis_connect_blocking(redisContext **out, const struct bench_plan *plan,
                                        struct bench_diag *diag) {
    struct timeval tv = {.tv_sec = REDIS_CONNECT_TIMEOUT_MS / 1000};
    redisContext *c = redisConnectWithTimeout(plan->host, plan->port, tv);
    if (c == NULL || c->err) {
        strom_err err = bench_diag_set(diag, STROM_ERR_NOT_CONNECTED, "redis connect %s:%u: %s",
                                       plan->host, plan->port, c ? c->errstr : "no memory");
        redisFree(c);
        return err;
    }
    *out = c;
    return STROM_OK;
}

/* A non-blocking connection for a worker: connect, then wait until the socket is writable. */
static strom_err redis_connect(redisContext **out, const struct bench_plan *plan,
                               struct bench_diag *diag) {
    redisContext *c = redisConnectNonBlock(plan->host, plan->port);
    strom_err err = STROM_OK;
    if (c == NULL || c->err) {
        err = bench_diag_set(diag, STROM_ERR_NOT_CONNECTED, "redis connect %s:%u: %s", plan->host,
                             plan->port, c ? c->errstr : "no memory");
        goto done;
    }
    struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
    int so_error = 0;
    socklen_t so_len = sizeof so_error;
    if (poll(&pfd, 1, REDIS_CONNECT_TIMEOUT_MS) != 1 ||
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0 || so_error != 0) {
        err = bench_diag_set(diag, STROM_ERR_NOT_CONNECTED, "redis connect %s:%u: %s", plan->host,
                             plan->port, so_error ? strerror(so_error) : "timed out");
    }
done:
    if (err != STROM_OK) {
        redisFree(c);
        c = NULL;
    }
    *out = c;
    return err;
}

/* CONFIG GET name into value (empty when unknown). */
static void redis_config_get(redisContext *c, const char *name, char *value, size_t value_bytes) {
    redisReply *r = redisCommand(c, "CONFIG GET %s", name);
    value[0] = '\0';
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        snprintf(value, value_bytes, "%s", r->element[1]->str);
    }
    freeReplyObject(r);
}

/* Checks that the server answers and persists as the durability row asks; the note names the
 * server's settings. Redis creates a stream on its first XADD, so there is nothing to create. */
static strom_err redis_setup(const struct bench_plan *plan, struct bench_diag *diag) {
    redisContext *c = NULL;
    strom_err err = redis_connect_blocking(&c, plan, diag);
    if (err != STROM_OK) {
        return err;
    }
    char aof[16], fsync[16], version[32] = "";
    redis_config_get(c, "appendonly", aof, sizeof aof);
    redis_config_get(c, "appendfsync", fsync, sizeof fsync);
    redisReply *r = redisCommand(c, "INFO server");
    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        const char *v = strstr(r->str, "redis_version:");
        if (v != NULL) {
            sscanf(v + strlen("redis_version:"), "%31[0-9.]", version);
        }
    }
    freeReplyObject(r);
    redisFree(c);
    const char *want = plan->workload->durability == BENCH_DURABILITY_DISK ? "always" : "everysec";
    if (strcmp(aof, "yes") != 0 || strcmp(fsync, want) != 0) {
        return bench_diag_set(diag, STROM_ERR_INVALID_ARGUMENT,
                              "redis runs appendonly %s appendfsync %s; the %s row needs "
                              "appendonly yes appendfsync %s",
                              aof, fsync, bench_durability_name(plan->workload->durability), want);
    }
    bench_diag_set(diag, STROM_OK, "redis %s appendonly %s appendfsync %s", version, aof, fsync);
    return STROM_OK;
}

static strom_err redis_producer_open(void **conn, const struct bench_plan *plan, uint32_t index,
                                     struct bench_diag *diag) {
    (void)index;
    struct redis_conn *rc = calloc(1, sizeof *rc);
    strom_err err = STROM_OK;
    if (rc == NULL ||
        (rc->due_fifo = calloc(plan->workload->inflight_max, sizeof(uint64_t))) == NULL) {
        err = bench_diag_set(diag, STROM_ERR_NO_MEMORY, "redis producer");
        goto done;
    }
    rc->plan = plan;
    rc->fifo_cap = plan->workload->inflight_max;
    err = redis_connect(&rc->ctx, plan, diag);
done:
    if (err != STROM_OK && rc != NULL) {
        free(rc->due_fifo);
        free(rc);
        rc = NULL;
    }
    *conn = rc;
    return err;
}

static strom_err redis_producer_send(void *conn, uint32_t stream_index, const uint8_t *payload,
                                     uint32_t len, struct bench_diag *diag) {
    struct redis_conn *rc = conn;
    if (rc->fifo_count == rc->fifo_cap) {
        return STROM_ERR_AGAIN;
    }
    struct bench_payload_head head;
    bool ok = bench_payload_read(payload, len, &head);
    strom_assert(ok);
    char key[REDIS_KEY_BYTES_MAX];
    redis_key(key, rc->plan, stream_index);
    const char *argv[5] = {"XADD", key, "*", "p", (const char *)payload};
    size_t argv_len[5] = {4, strlen(key), 1, 1, len};
    if (redisAppendCommandArgv(rc->ctx, 5, argv, argv_len) != REDIS_OK) {
        return bench_diag_set(diag, STROM_ERR_NO_MEMORY, "redis: %s", rc->ctx->errstr);
    }
    rc->due_fifo[(rc->fifo_head + rc->fifo_count) % rc->fifo_cap] = head.due_ns;
    rc->fifo_count++;
    return STROM_OK;
}

/* Writes what is buffered, waits up to timeout_ns for the socket, reads what arrived. */
static strom_err redis_pump(struct redis_conn *rc, uint64_t timeout_ns, struct bench_diag *diag) {
    int done = 0;
    if (redisBufferWrite(rc->ctx, &done) != REDIS_OK) {
        return bench_diag_set(diag, STROM_ERR_CLOSED, "redis write: %s", rc->ctx->errstr);
    }
    struct pollfd pfd = {.fd = rc->ctx->fd, .events = POLLIN | (done ? 0 : POLLOUT)};
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / 1000000000u),
                          .tv_nsec = (long)(timeout_ns % 1000000000u)};
    int n = ppoll(&pfd, 1, &ts, NULL);
    if (n < 0 && errno != EINTR) {
        return bench_diag_set(diag, strom_err_from_errno(errno), "redis poll: %s", strerror(errno));
    }
    if (n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
        redisBufferRead(rc->ctx) != REDIS_OK) {
        return bench_diag_set(diag, STROM_ERR_CLOSED, "redis read: %s", rc->ctx->errstr);
    }
    return STROM_OK;
}

/* The next complete reply, or NULL. */
static strom_err redis_next_reply(struct redis_conn *rc, redisReply **reply,
                                  struct bench_diag *diag) {
    void *r = NULL;
    if (redisGetReplyFromReader(rc->ctx, &r) != REDIS_OK) {
        return bench_diag_set(diag, STROM_ERR_PROTOCOL, "redis reply: %s", rc->ctx->errstr);
    }
    *reply = r;
    return STROM_OK;
}

static strom_err redis_producer_poll(void *conn, uint64_t timeout_ns, const struct bench_sink *sink,
                                     struct bench_diag *diag) {
    struct redis_conn *rc = conn;
    strom_err err = redis_pump(rc, timeout_ns, diag);
    uint64_t now = bench_now_ns();
    redisReply *r = NULL;
    while (err == STROM_OK && (err = redis_next_reply(rc, &r, diag)) == STROM_OK && r != NULL) {
        if (rc->fifo_count == 0) {
            freeReplyObject(r);
            return bench_diag_set(diag, STROM_ERR_PROTOCOL, "redis: a reply without a command");
        }
        uint64_t due = rc->due_fifo[rc->fifo_head];
        rc->fifo_head = (rc->fifo_head + 1) % rc->fifo_cap;
        rc->fifo_count--;
        if (r->type == REDIS_REPLY_ERROR && diag->text[0] == '\0') {
            bench_diag_set(diag, STROM_OK, "redis XADD: %s", r->str);
        }
        sink->on_ack(sink->ctx, due, r->type == REDIS_REPLY_STRING, now);
        freeReplyObject(r);
    }
    return err;
}

static void redis_close(void *conn) {
    struct redis_conn *rc = conn;
    if (rc == NULL) {
        return;
    }
    redisFree(rc->ctx);
    free(rc->due_fifo);
    free(rc->keys);
    free(rc->ids);
    free(rc->argv);
    free(rc->argv_len);
    free(rc);
}

static strom_err redis_subscriber_open(void **conn, const struct bench_plan *plan,
                                       const uint32_t *streams, uint32_t stream_count,
                                       struct bench_diag *diag) {
    struct redis_conn *rc = calloc(1, sizeof *rc);
    strom_err err = STROM_OK;
    size_t argc = 6 + 2 * (size_t)stream_count;
    if (rc == NULL || (rc->keys = calloc(stream_count, sizeof rc->keys[0])) == NULL ||
        (rc->ids = calloc(stream_count, sizeof rc->ids[0])) == NULL ||
        (rc->argv = calloc(argc, sizeof rc->argv[0])) == NULL ||
        (rc->argv_len = calloc(argc, sizeof rc->argv_len[0])) == NULL) {
        err = bench_diag_set(diag, STROM_ERR_NO_MEMORY, "redis subscriber");
        goto done;
    }
    rc->plan = plan;
    rc->stream_count = stream_count;
    for (uint32_t i = 0; i < stream_count; i++) {
        redis_key(rc->keys[i], plan, streams[i]);
        snprintf(rc->ids[i], sizeof rc->ids[i], "0-0");
    }
    err = redis_connect(&rc->ctx, plan, diag);
done:
    if (err != STROM_OK) {
        redis_close(rc);
        rc = NULL;
    }
    *conn = rc;
    return err;
}

/* Sends XREAD BLOCK 0 COUNT n STREAMS key... id... from the last ids seen. */
static strom_err redis_xread(struct redis_conn *rc, struct bench_diag *diag) {
    static char count[16];
    snprintf(count, sizeof count, "%d", REDIS_XREAD_COUNT);
    const char *head[6] = {"XREAD", "BLOCK", "0", "COUNT", count, "STREAMS"};
    size_t n = 0;
    for (; n < 6; n++) {
        rc->argv[n] = head[n];
        rc->argv_len[n] = strlen(head[n]);
    }
    for (uint32_t i = 0; i < rc->stream_count; i++, n++) {
        rc->argv[n] = rc->keys[i];
        rc->argv_len[n] = strlen(rc->keys[i]);
    }
    for (uint32_t i = 0; i < rc->stream_count; i++, n++) {
        rc->argv[n] = rc->ids[i];
        rc->argv_len[n] = strlen(rc->ids[i]);
    }
    if (redisAppendCommandArgv(rc->ctx, (int)n, rc->argv, rc->argv_len) != REDIS_OK) {
        return bench_diag_set(diag, STROM_ERR_NO_MEMORY, "redis: %s", rc->ctx->errstr);
    }
    rc->xread_outstanding = true;
    return STROM_OK;
}

/* The index (into rc->keys) of the stream named key: its number after the last ':' maps back
 * through the dealing rule only in order, so search by number among the keys read. */
static int64_t redis_key_slot(const struct redis_conn *rc, const char *key, size_t len) {
    const char *colon = memrchr(key, ':', len);
    if (colon == NULL) {
        return -1;
    }
    /* keys[] is in ascending stream order: binary search on the stream number. */
    uint64_t want = strtoull(colon + 1, NULL, 10);
    uint32_t lo = 0, hi = rc->stream_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint64_t have = strtoull(strrchr(rc->keys[mid], ':') + 1, NULL, 10);
        if (have == want) {
            return mid;
        }
        if (have < want) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

/* Delivers every entry of an XREAD answer and notes the last id per stream. */
static strom_err redis_xread_answer(struct redis_conn *rc, const redisReply *r, uint64_t now,
                                    const struct bench_sink *sink, struct bench_diag *diag) {
    if (r->type == REDIS_REPLY_NIL) {
        return STROM_OK;
    }
    if (r->type != REDIS_REPLY_ARRAY) {
        return bench_diag_set(diag, STROM_ERR_PROTOCOL, "redis XREAD: %s",
                              r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    }
    for (size_t s = 0; s < r->elements; s++) {
        const redisReply *sr = r->element[s];
        if (sr->type != REDIS_REPLY_ARRAY || sr->elements != 2) {
            return bench_diag_set(diag, STROM_ERR_PROTOCOL, "redis XREAD: bad stream");
        }
        int64_t slot = redis_key_slot(rc, sr->element[0]->str, sr->element[0]->len);
        if (slot < 0) {
            return bench_diag_set(diag, STROM_ERR_PROTOCOL, "redis XREAD: unknown key");
        }
        const redisReply *entries = sr->element[1];
        for (size_t e = 0; e < entries->elements; e++) {
            const redisReply *en = entries->element[e];
            if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 ||
                en->element[1]->elements != 2) {
                return bench_diag_set(diag, STROM_ERR_PROTOCOL, "redis XREAD: bad entry");
            }
            snprintf(rc->ids[slot], sizeof rc->ids[slot], "%s", en->element[0]->str);
            const redisReply *value = en->element[1]->element[1];
            sink->on_deliver(sink->ctx, (const uint8_t *)value->str, (uint32_t)value->len, now);
        }
    }
    return STROM_OK;
}

static strom_err redis_subscriber_poll(void *conn, uint64_t timeout_ns,
                                       const struct bench_sink *sink, struct bench_diag *diag) {
    struct redis_conn *rc = conn;
    strom_err err = STROM_OK;
    if (!rc->xread_outstanding) {
        err = redis_xread(rc, diag);
    }
    if (err == STROM_OK) {
        err = redis_pump(rc, timeout_ns, diag);
    }
    uint64_t now = bench_now_ns();
    redisReply *r = NULL;
    while (err == STROM_OK && (err = redis_next_reply(rc, &r, diag)) == STROM_OK && r != NULL) {
        rc->xread_outstanding = false;
        err = redis_xread_answer(rc, r, now, sink, diag);
        freeReplyObject(r);
    }
    return err;
}

const struct bench_driver bench_driver_redis = {
    .system = "redis",
    .default_port = 6379,
    .setup = redis_setup,
    .producer_open = redis_producer_open,
    .producer_send = redis_producer_send,
    .producer_poll = redis_producer_poll,
    .producer_close = redis_close,
    .subscriber_open = redis_subscriber_open,
    .subscriber_poll = redis_subscriber_poll,
    .subscriber_close = redis_close,
};
