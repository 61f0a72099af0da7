/*
 * integ_append.c: one append of one message at the byte level, with the producer id, sequence
 * and header flags the caller chooses (a retry can be sent with PROTO_FLAG_RETRY as libstrom sends
 * it after a reconnect), and its answer printed as one ssim line:
 *
 *   integ_append --server HOST:PORT --path P --producer N --seq N [--retry] [--payload TEXT]
 *   -> integ.append  error:NAME  base:B  count:C
 *
 * The append waits for sync. Exits 0 when an answer came (whatever its error), 1 when none did
 * (connection refused or closed, or 30 s without an answer), 2 on a usage error. For the
 * idempotence checks of tests/integ/client_idem.sh.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "proto/frame.h"

enum { FRAME_BYTES_MAX = 1 << 16, ANSWER_WAIT_S = 30 };

struct args {
    const char *server, *path, *payload;
    uint64_t producer, seq;
    bool retry;
};

static bool send_all(int fd, const uint8_t *buf, size_t len) {
    for (size_t put = 0; put < len;) {
        ssize_t n = send(fd, buf + put, len - put, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        put += (size_t)n;
    }
    return true;
}

static bool recv_all(int fd, uint8_t *buf, size_t len) {
    for (size_t got = 0; got < len;) {
        ssize_t n = recv(fd, buf + got, len - got, 0);
        if (n <= 0) {
            return false;
        }
        got += (size_t)n;
    }
    return true;
}

/* The next frame into *f (views into buf): false when the connection closed or sent garbage. */
static bool recv_frame(int fd, uint8_t *buf, struct strom_arena *arena, struct proto_frame *f) {
    struct proto_header h;
    if (!recv_all(fd, buf, PROTO_HEADER_BYTES) ||
        proto_header_read(buf, PROTO_HEADER_BYTES, FRAME_BYTES_MAX, &h) != STROM_OK ||
        !recv_all(fd, buf + PROTO_HEADER_BYTES, h.frame_bytes - PROTO_HEADER_BYTES)) {
        return false;
    }
    strom_arena_reset(arena);
    return proto_frame_decode(buf, h.frame_bytes, FRAME_BYTES_MAX, arena, f) == STROM_OK;
}

static int connect_to(const char *server) {
    char host[64];
    const char *colon = strrchr(server, ':');
    if (colon == NULL || (size_t)(colon - server) >= sizeof host) {
        return -1;
    }
    memcpy(host, server, (size_t)(colon - server));
    host[colon - server] = '\0';
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {ANSWER_WAIT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Hello, then the append; prints its answer. */
static int run(const struct args *a) {
    static uint8_t buf[FRAME_BYTES_MAX];
    static _Alignas(STROM_ARENA_ALIGN) uint8_t arena_bytes[PROTO_LIST_ANSWER_ARENA_BYTES_MAX];
    struct strom_arena arena;
    strom_arena_init(&arena, arena_bytes, sizeof arena_bytes);
    int fd = connect_to(a->server);
    if (fd < 0) {
        fprintf(stderr, "integ_append: cannot connect to %s\n", a->server);
        return 1;
    }
    struct proto_hello h = {PROTO_VERSION, PROTO_VERSION, "integ_append", 12};
    struct proto_frame f;
    size_t len = 0;
    bool ok = proto_frame_encode(buf, sizeof buf, PROTO_HELLO, 0, &h, &len) == STROM_OK &&
              send_all(fd, buf, len) && recv_frame(fd, buf, &arena, &f) &&
              f.header.type == PROTO_HELLO_ANSWER;
    uint8_t set[4096];
    size_t set_len = 0;
    struct proto_msg m = {.payload = (const uint8_t *)a->payload,
                          .payload_len = (uint32_t)strlen(a->payload)};
    ok = ok && proto_msg_encode(&m, set, sizeof set, &set_len) == STROM_OK;
    struct proto_append ap = {0, a->path, (uint32_t)strlen(a->path), 1, true, a->producer, a->seq,
                              1, set,     (uint32_t)set_len};
    ok = ok && proto_frame_encode(buf, sizeof buf, PROTO_APPEND, 7, &ap, &len) == STROM_OK;
    if (ok && a->retry) {
        buf[PROTO_HEADER_FLAGS_AT] |= PROTO_FLAG_RETRY;
    }
    ok = ok && send_all(fd, buf, len);
    while (ok && recv_frame(fd, buf, &arena, &f)) {
        if (f.header.request_id != 7) {
            continue;
        }
        uint32_t err = f.header.type == PROTO_APPEND_ANSWER ? f.body.append_answer.error
                       : f.header.type == PROTO_ERROR       ? f.body.error.code
                                                            : STROM_ERR_PROTOCOL;
        const struct proto_append_answer *an = &f.body.append_answer;
        printf("integ.append  error:%s  base:%llu  count:%u\n",
               err ? strom_errname((strom_err)err) : "OK",
               f.header.type == PROTO_APPEND_ANSWER ? (unsigned long long)an->base_offset : 0ULL,
               f.header.type == PROTO_APPEND_ANSWER ? an->count : 0);
        close(fd);
        return 0;
    }
    fprintf(stderr, "integ_append: no answer from %s\n", a->server);
    close(fd);
    return 1;
}

int main(int argc, char **argv) {
    struct args a = {.payload = "integ_append"};
    bool have_producer = false, have_seq = false;
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--retry") == 0) {
            a.retry = true;
        } else if (has_value && strcmp(argv[i], "--server") == 0) {
            a.server = argv[++i];
        } else if (has_value && strcmp(argv[i], "--path") == 0) {
            a.path = argv[++i];
        } else if (has_value && strcmp(argv[i], "--payload") == 0) {
            a.payload = argv[++i];
        } else if (has_value && strcmp(argv[i], "--producer") == 0) {
            a.producer = strtoull(argv[++i], NULL, 10);
            have_producer = true;
        } else if (has_value && strcmp(argv[i], "--seq") == 0) {
            a.seq = strtoull(argv[++i], NULL, 10);
            have_seq = true;
        } else {
            a.server = NULL;
            break;
        }
    }
    if (a.server == NULL || a.path == NULL || !have_producer || !have_seq ||
        strlen(a.payload) > 1024) {
        fprintf(stderr, "usage: integ_append --server HOST:PORT --path P --producer N --seq N "
                        "[--retry] [--payload TEXT (at most 1024 bytes)]\n");
        return 2;
    }
    return run(&a);
}
