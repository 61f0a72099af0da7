/*
 * integ_slow.c: slow subscribers cost bounded memory and do not slow anyone else.
 *
 *   integ_slow --server HOST:PORT --gateway-pid PID [--count N] [--rate-mb-s R]
 *              [--rss-growth-max-mib M]
 *
 * Two slow subscribers of one stream: a libstrom pull subscription with 64 KiB of credit that
 * takes nothing, and a raw connection that asks for 1 GiB of credit and never reads its socket.
 * Meanwhile a producer appends count messages of 1 KiB (ack 1) at R MB/s (20) and a fast
 * subscriber follows.
 * Checks: the producer's every append is acknowledged, the fast subscriber gets every message in
 * order, the gateway's resident memory grows by less than M MiB (so it does not hold the stream
 * for the stalled readers), and afterwards the libstrom slow subscriber still gets every message,
 * in order, from where it stood. Exit 1 with the reason when a check fails.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proto/frame.h"
#include "strom.h"

enum { MSG_BYTES = 1024, BATCH = 64 };

struct slow {
    const char *server;
    long gateway_pid;
    uint64_t count;
    uint64_t growth_max_mib;
    uint64_t rate_mb_s; /* the producer's pace: a healthy node keeps up with it */
    bool no_stalled;    /* --stalled 0: without the raw reader (to tell the two apart) */
    bool no_lazy;       /* --lazy 0: without the libstrom slow subscriber */
    uint64_t acked, fast_seen;
    bool fast_in_order;
};

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000 + (uint64_t)t.tv_nsec;
}

static uint64_t now_s(void) {
    return now_ns() / 1000000000;
}

/* VmRSS of a process in KiB, 0 when unknown. */
static uint64_t rss_kib(long pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    uint64_t kib = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtoull(line + 6, NULL, 10);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kib;
}

static strom_client *open_client(const char *server) {
    struct strom_options o;
    strom_options_init(&o);
    o.server = server;
    o.client_name = "integ_slow";
    strom_client *c = NULL;
    return strom_open(&o, &c) == STROM_OK ? c : NULL;
}

/* The stalled raw reader: hello, then a follow read with 1 GiB of credit; never reads. */
static int stalled_reader(const char *server, const char *path) {
    char host[64];
    snprintf(host, sizeof host, "%s", server);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        return -1;
    }
    uint8_t buf[512];
    size_t len = 0;
    struct proto_hello h = {PROTO_VERSION, PROTO_VERSION, "stalled", 7};
    proto_frame_encode(buf, sizeof buf, PROTO_HELLO, 0, &h, &len);
    send(fd, buf, len, MSG_NOSIGNAL);
    struct proto_read r = {.path = path,
                           .path_len = (uint32_t)strlen(path),
                           .to = UINT64_MAX,
                           .follow = true,
                           .ack = 1,
                           .credit_bytes = UINT64_C(1) << 30};
    proto_frame_encode(buf, sizeof buf, PROTO_READ, 1, &r, &len);
    send(fd, buf, len, MSG_NOSIGNAL);
    return fd;
}

static void on_ack(void *arg, const struct strom_append_result *r) {
    struct slow *s = arg;
    s->acked += r->err == STROM_OK ? r->count : 0;
}

static void on_fast(void *arg, strom_sub *sub, const struct strom_msg *m, strom_err err) {
    (void)sub;
    (void)err;
    struct slow *s = arg;
    if (m != NULL) {
        s->fast_in_order = s->fast_in_order && m->offset == s->fast_seen;
        s->fast_seen++;
    }
}

/* Produces count messages while stepping the fast subscriber; bounded by 120 s. */
static bool produce(struct slow *s, strom_client *p, strom_client *fast, const char *path) {
    static uint8_t payload[MSG_BYTES];
    struct strom_msg msgs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        msgs[i] = (struct strom_msg){.payload = payload, .payload_bytes = MSG_BYTES};
    }
    uint64_t queued = 0;
    uint64_t deadline = now_s() + 120;
    uint64_t t0 = now_ns();
    while ((s->acked < s->count || s->fast_seen < s->count) && now_s() < deadline) {
        uint64_t allowed = (now_ns() - t0) * s->rate_mb_s / 1000 / MSG_BYTES; /* msgs so far */
        while (queued < s->count && queued < allowed) {
            uint32_t n = s->count - queued < BATCH ? (uint32_t)(s->count - queued) : BATCH;
            if (strom_append_async(p, path, msgs, n, 1 | STROM_NO_SYNC, on_ack, s) != STROM_OK) {
                break;
            }
            queued += n;
        }
        strom_step(p, 1000000);
        strom_step(fast, 0);
    }
    return s->acked == s->count && s->fast_seen == s->count && s->fast_in_order;
}

int main(int argc, char **argv) {
    struct slow s = {.count = 80000, .growth_max_mib = 48, .rate_mb_s = 20, .fast_in_order = true};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--server") == 0) {
            s.server = argv[i + 1];
        } else if (strcmp(argv[i], "--gateway-pid") == 0) {
            s.gateway_pid = atol(argv[i + 1]);
        } else if (strcmp(argv[i], "--count") == 0) {
            s.count = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--stalled") == 0) {
            s.no_stalled = strcmp(argv[i + 1], "0") == 0;
        } else if (strcmp(argv[i], "--lazy") == 0) {
            s.no_lazy = strcmp(argv[i + 1], "0") == 0;
        } else if (strcmp(argv[i], "--rate-mb-s") == 0) {
            s.rate_mb_s = strtoull(argv[i + 1], NULL, 10);
        } else if (strcmp(argv[i], "--rss-growth-max-mib") == 0) {
            s.growth_max_mib = strtoull(argv[i + 1], NULL, 10);
        }
    }
    const char *path = "/slow/s";
    strom_client *p = s.server ? open_client(s.server) : NULL;
    strom_client *fast = s.server ? open_client(s.server) : NULL;
    strom_client *lazy = s.server ? open_client(s.server) : NULL;
    if (p == NULL || fast == NULL || lazy == NULL || s.gateway_pid <= 0 ||
        strom_create(p, path, NULL, NULL) != STROM_OK) {
        fprintf(stderr, "usage: integ_slow --server HOST:PORT --gateway-pid PID (and a node)\n");
        return 2;
    }
    struct strom_read_options ro;
    strom_read_options_init(&ro);
    ro.follow = true;
    ro.ack = 1 | STROM_NO_SYNC;
    ro.credit_bytes = 64 * 1024;
    strom_sub *lazy_sub = NULL, *fast_sub = NULL;
    if (!s.no_lazy) {
        strom_subscribe(lazy, path, &ro, NULL, NULL, &lazy_sub);
        strom_step(lazy, 100000000);
    }
    int stalled = s.no_stalled ? -1 : stalled_reader(s.server, path);
    ro.credit_bytes = 1 << 20;
    strom_subscribe(fast, path, &ro, on_fast, &s, &fast_sub);
    strom_ping(fast, NULL);
    uint64_t rss0 = rss_kib(s.gateway_pid);
    bool produced = produce(&s, p, fast, path);
    uint64_t rss1 = rss_kib(s.gateway_pid);
    printf("integ_slow  acked:%llu  fast:%llu  in_order:%d  gateway_rss_kib:%llu->%llu\n",
           (unsigned long long)s.acked, (unsigned long long)s.fast_seen, s.fast_in_order,
           (unsigned long long)rss0, (unsigned long long)rss1);
    bool ok = produced && rss1 < rss0 + s.growth_max_mib * 1024;
    uint64_t lazy_seen = 0;
    struct strom_msg m;
    while (ok && !s.no_lazy && lazy_seen < s.count &&
           strom_sub_next(lazy, lazy_sub, &m, UINT64_C(20000000000)) == STROM_OK) {
        ok = m.offset == lazy_seen++;
    }
    ok = ok && (s.no_lazy || lazy_seen == s.count);
    printf("integ_slow  lazy_subscriber:%llu  ok:%s\n", (unsigned long long)lazy_seen,
           ok ? "true" : "false");
    if (stalled >= 0) {
        close(stalled);
    }
    strom_close(p);
    strom_close(fast);
    strom_close(lazy);
    return ok ? 0 : 1;
}
