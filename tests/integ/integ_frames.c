/*
 * integ_frames.c: the native protocol at the byte level against a running node: malformed frames
 * (every way a header or body can be wrong), the limits (frame bytes, requests in flight, reads,
 * connections), idempotent retries at the edges of the window, credit, and errors that leave the
 * connection open. Each case prints "ok: NAME" or "FAIL: NAME: why"; exit 1 when any failed.
 *
 *   integ_frames --server HOST:PORT --frame-bytes-max N --inflight-max N --reads-max N
 *                --connections-max N --window W
 * (the limits the node was started with; docs/protocol.md says what each must do).
 * With "append" first it sends one append instead (see append_mode), for client_idem.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "proto/frame.h"

#define S(s) (s), (uint32_t)strlen(s)

enum { RECV_BYTES_MAX = 4 << 20, CONNS_MAX = 4096 };

struct cfg {
    char host[64];
    uint16_t port;
    uint32_t frame_bytes_max, inflight_max, reads_max, connections_max, window;
};

static struct cfg cfg;
static uint8_t rbuf[RECV_BYTES_MAX];
static int failures;

static bool check(bool ok, const char *name, const char *why) {
    if (!ok) {
        printf("FAIL: %s: %s\n", name, why);
        failures++;
    }
    return ok;
}

static int conn_raw(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(cfg.port)};
    inet_pton(AF_INET, cfg.host, &a.sin_addr);
    struct timeval tv = {10, 0};
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const void *buf, size_t len) {
    for (size_t put = 0; put < len;) {
        ssize_t n = send(fd, (const char *)buf + put, len - put, MSG_NOSIGNAL);
        if (n <= 0) {
            return false;
        }
        put += (size_t)n;
    }
    return true;
}

static bool send_frame(int fd, enum proto_type type, uint64_t id, const void *body) {
    static uint8_t buf[2 << 20];
    size_t len = 0;
    return proto_frame_encode(buf, sizeof buf, type, id, body, &len) == STROM_OK &&
           send_all(fd, buf, len);
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

/* The next frame into *f (views into a static buffer, valid until the next call): 1, or 0 when
 * the connection closed (or 10 s passed), -1 when the node sent something malformed. */
static int recv_frame(int fd, struct proto_frame *f) {
    if (!recv_all(fd, rbuf, PROTO_HEADER_BYTES)) {
        return 0;
    }
    struct proto_header h;
    if (proto_header_read(rbuf, PROTO_HEADER_BYTES, RECV_BYTES_MAX, &h) != STROM_OK) {
        return -1;
    }
    if (!recv_all(fd, rbuf + PROTO_HEADER_BYTES, h.frame_bytes - PROTO_HEADER_BYTES)) {
        return 0;
    }
    static _Alignas(STROM_ARENA_ALIGN) uint8_t arena_bytes[PROTO_LIST_ANSWER_ARENA_BYTES_MAX];
    struct strom_arena arena;
    strom_arena_init(&arena, arena_bytes, sizeof arena_bytes);
    return proto_frame_decode(rbuf, h.frame_bytes, RECV_BYTES_MAX, &arena, f) == STROM_OK ? 1 : -1;
}

/* A connection that has said hello. */
static int conn_hello(void) {
    int fd = conn_raw();
    struct proto_hello h = {PROTO_VERSION, PROTO_VERSION, S("integ_frames")};
    struct proto_frame f;
    if (fd < 0 || !send_frame(fd, PROTO_HELLO, 0, &h) || recv_frame(fd, &f) != 1 ||
        f.header.type != PROTO_HELLO_ANSWER) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

/* The connection answers a ping (it is open and in step). Skips frames of other requests. */
static bool alive(int fd) {
    struct proto_ping p = {77};
    if (!send_frame(fd, PROTO_PING, 999999, &p)) {
        return false;
    }
    struct proto_frame f;
    for (int i = 0; i < 100000; i++) {
        if (recv_frame(fd, &f) != 1) {
            return false;
        }
        if (f.header.type == PROTO_PONG) {
            return f.header.request_id == 999999 && f.body.ping.value == 77;
        }
    }
    return false;
}

/* After a violation: an error frame (with code when not 0), then the node closes. */
static void expect_error_close(const char *name, int fd, uint32_t code, uint64_t id) {
    struct proto_frame f;
    int r = recv_frame(fd, &f);
    char why[160];
    snprintf(why, sizeof why, "wanted an error frame (code %u, id %llu), got %s %s code %u id %llu",
             code, (unsigned long long)id, r == 1 ? "frame" : "no frame",
             r == 1 ? proto_type_name(f.header.type) : "", r == 1 ? f.body.error.code : 0,
             r == 1 ? (unsigned long long)f.header.request_id : 0ULL);
    bool ok = check(r == 1 && f.header.type == PROTO_ERROR &&
                        (code == 0 || f.body.error.code == code) && f.header.request_id == id,
                    name, why) &&
              check(recv_frame(fd, &f) == 0, name, "the connection stayed open");
    if (ok) {
        printf("ok: %s\n", name);
    }
    close(fd);
}

/* Sends raw bytes on a fresh connection (after hello unless before_hello). */
static int conn_send_raw(const void *bytes, size_t len, bool after_hello) {
    int fd = after_hello ? conn_hello() : conn_raw();
    if (fd >= 0) {
        send_all(fd, bytes, len);
    }
    return fd;
}

static void header_bytes(uint8_t *out, uint32_t frame_bytes, uint16_t type, uint16_t flags,
                         uint64_t id) {
    struct proto_header h = {frame_bytes, type, flags, id};
    proto_header_write(out, &h);
}

/* --- malformed frames: an error, then the connection closes ------------------------------------
 */

static void case_malformed(void) {
    uint8_t b[64] = {0};
    struct proto_ping p = {1};
    size_t len = 0;

    proto_frame_encode(b, sizeof b, PROTO_PING, 5, &p, &len);
    expect_error_close("request before hello", conn_send_raw(b, len, false), STROM_ERR_PROTOCOL, 5);

    header_bytes(b, 8, PROTO_PING, 0, 6);
    expect_error_close("frame_bytes below 16", conn_send_raw(b, 16, true), 0, 6);

    header_bytes(b, cfg.frame_bytes_max + 1, PROTO_APPEND, 0, 7);
    expect_error_close("frame_bytes above the maximum", conn_send_raw(b, 16, true),
                       STROM_ERR_TOO_LARGE, 7);

    header_bytes(b, 16, 99, 0, 8);
    expect_error_close("unknown type", conn_send_raw(b, 16, true), 0, 8);

    header_bytes(b, 24, PROTO_PING, 1, 9);
    expect_error_close("non-zero flags", conn_send_raw(b, 24, true), 0, 9);

    proto_frame_encode(b, sizeof b, PROTO_PING, 10, &p, &len);
    header_bytes(b, (uint32_t)len + 4, PROTO_PING, 0, 10);
    expect_error_close("bytes after the body", conn_send_raw(b, len + 4, true), STROM_ERR_PROTOCOL,
                       10);

    header_bytes(b, 16 + 4, PROTO_CREATE, 0, 11); /* a path length, then nothing */
    b[16] = 200;
    expect_error_close("a length past the frame's end", conn_send_raw(b, 20, true),
                       STROM_ERR_PROTOCOL, 11);

    header_bytes(b, 16 + 4 + 300, PROTO_CREATE, 0, 12);
    b[16] = 0x2c; /* 300 */
    b[17] = 0x01;
    uint8_t big[16 + 4 + 300] = {0};
    memcpy(big, b, 20);
    memset(big + 20, 'a', 300);
    big[20] = '/';
    expect_error_close("a path over 255 bytes", conn_send_raw(big, sizeof big, true), 0, 12);

    header_bytes(b, 16 + 4, PROTO_CREDIT, 0, 13); /* a credit's u64 in a 4-byte body */
    expect_error_close("a body shorter than its record", conn_send_raw(b, 16 + 4, true), 0, 13);

    struct proto_hello future = {PROTO_VERSION + 1, PROTO_VERSION + 5, S("from the future")};
    proto_frame_encode(b, sizeof b, PROTO_HELLO, 0, &future, &len);
    expect_error_close("no common protocol version", conn_send_raw(b, len, false),
                       STROM_ERR_UNSUPPORTED_VERSION, 0);

    struct proto_hello again = {PROTO_VERSION, PROTO_VERSION, S("again")};
    proto_frame_encode(b, sizeof b, PROTO_HELLO, 14, &again, &len);
    expect_error_close("a second hello", conn_send_raw(b, len, true), STROM_ERR_PROTOCOL, 14);

    header_bytes(b, 16 + 3, PROTO_STAT, 0, 15); /* stat has an empty body */
    expect_error_close("a body where none belongs", conn_send_raw(b, 16 + 3, true),
                       STROM_ERR_PROTOCOL, 15);

    header_bytes(b, 16, PROTO_PONG, 0, 16); /* a frame only the node sends */
    expect_error_close("a node-to-client frame from the client", conn_send_raw(b, 16, true),
                       STROM_ERR_PROTOCOL, 16);

    header_bytes(b, 24, PROTO_PING, PROTO_FLAG_RETRY, 17); /* retry is for appends only */
    expect_error_close("the retry flag on a ping", conn_send_raw(b, 24, true), STROM_ERR_PROTOCOL,
                       17);
}

static void case_bad_sets(void) {
    uint8_t set[256];
    size_t len = 0;
    struct proto_msg one = {.payload = (const uint8_t *)"one", .payload_len = 3};
    proto_msg_encode(&one, set, sizeof set, &len);
    struct proto_append a = {0, S("/fr/set"), 1, false, 0, 0, 2, set, (uint32_t)len};
    int fd = conn_hello();
    send_frame(fd, PROTO_APPEND, 20, &a);
    expect_error_close("a message set with fewer messages than its count", fd, 0, 20);

    a.count = 0;
    fd = conn_hello();
    send_frame(fd, PROTO_APPEND, 21, &a);
    expect_error_close("an append of 0 messages", fd, 0, 21);

    a.count = 65536 + 1;
    fd = conn_hello();
    send_frame(fd, PROTO_APPEND, 23, &a);
    expect_error_close("an append of more than 65,536 messages", fd, STROM_ERR_TOO_LARGE, 23);

    struct proto_read r = {0, S("/fr/set"), 0, UINT64_MAX, true, 1, true, 1024};
    fd = conn_hello();
    static uint8_t b[256];
    size_t flen = 0;
    proto_frame_encode(b, sizeof b, PROTO_READ, 22, &r, &flen);
    b[flen - 8 - 1 - 1 - 1] = 2; /* follow: a bool that is 2 */
    send_all(fd, b, flen);
    expect_error_close("a bool that is neither 0 nor 1", fd, 0, 22);
}

/* --- errors that keep the connection -----------------------------------------------------------
 */

/* An append of one message "payload" (with sync when asked, marked a retry when asked) and its
 * answer (skipping other frames). */
static bool append_one_as(int fd, const char *path, uint64_t producer, uint64_t seq, uint64_t id,
                          bool sync, bool retry, struct proto_append_answer *out,
                          uint32_t *error_code) {
    uint8_t set[128];
    static uint8_t frame[1024];
    size_t len = 0, flen = 0;
    struct proto_msg one = {.payload = (const uint8_t *)"payload", .payload_len = 7};
    proto_msg_encode(&one, set, sizeof set, &len);
    struct proto_append a = {0, S(path), 1, sync, producer, seq, 1, set, (uint32_t)len};
    if (proto_frame_encode(frame, sizeof frame, PROTO_APPEND, id, &a, &flen) != STROM_OK) {
        return false;
    }
    frame[PROTO_HEADER_FLAGS_AT] |= retry ? PROTO_FLAG_RETRY : 0;
    if (!send_all(fd, frame, flen)) {
        return false;
    }
    struct proto_frame f;
    while (recv_frame(fd, &f) == 1) {
        if (f.header.request_id != id) {
            continue;
        }
        *error_code = f.header.type == PROTO_ERROR           ? f.body.error.code
                      : f.header.type == PROTO_APPEND_ANSWER ? f.body.append_answer.error
                                                             : 9999;
        if (f.header.type == PROTO_APPEND_ANSWER) {
            *out = f.body.append_answer;
        }
        return true;
    }
    return false;
}

static bool append_one(int fd, const char *path, uint64_t producer, uint64_t seq, uint64_t id,
                       struct proto_append_answer *out, uint32_t *error_code) {
    return append_one_as(fd, path, producer, seq, id, false, false, out, error_code);
}

static void case_soft_errors(void) {
    int fd = conn_hello();
    struct proto_append_answer ans;
    uint32_t code = 0;
    bool ok =
        check(append_one(fd, "no-slash", 0, 0, 30, &ans, &code), "invalid path", "no answer") &&
        check(code == STROM_ERR_INVALID_PATH, "invalid path", "not INVALID_PATH") &&
        check(alive(fd), "invalid path", "the connection did not stay open");
    struct proto_read r = {0, S("/fr/none"), 0, UINT64_MAX, false, 1, true, 1024};
    send_frame(fd, PROTO_READ, 31, &r);
    struct proto_frame f;
    int got = recv_frame(fd, &f);
    uint32_t err = got != 1                          ? 0
                   : f.header.type == PROTO_READ_END ? f.body.read_end.error
                   : f.header.type == PROTO_ERROR    ? f.body.error.code
                                                     : 0;
    ok = check(got == 1 && f.header.request_id == 31 && err == STROM_ERR_NO_STREAM,
               "read of a missing stream", "no NO_STREAM end") &&
         check(alive(fd), "read of a missing stream", "the connection did not stay open") && ok;
    if (ok) {
        printf("ok: errors that keep the connection open\n");
    }
    close(fd);
}

/* Retries inside the window get the first offsets; a gap and a sequence older than the window
 * are refused; nothing is applied twice. */
static void case_idempotence(void) {
    int fd = conn_hello();
    const char *path = "/fr/idem";
    uint64_t producer = 0x5eed0001;
    struct proto_append_answer a0, a1, r0, x;
    uint32_t c0 = 1, c1 = 1, cr = 1, cg = 1, cx = 1;
    append_one(fd, path, producer, 0, 40, &a0, &c0);
    append_one(fd, path, producer, 1, 41, &a1, &c1);
    append_one(fd, path, producer, 0, 42, &r0, &cr);
    bool ok = check(c0 == 0 && c1 == 0 && cr == 0, "idempotence", "an append failed") &&
              check(a1.base_offset == a0.base_offset + 1, "idempotence", "offsets not dense") &&
              check(r0.base_offset == a0.base_offset && r0.count == 1, "idempotence",
                    "a retry inside the window did not get its first offset");
    append_one(fd, path, producer, 3, 43, &x, &cg);
    ok = check(cg == STROM_ERR_OUT_OF_ORDER_SEQUENCE, "idempotence",
               "a gap was not OUT_OF_ORDER_SEQUENCE") &&
         ok;
    for (uint64_t s = 2; s < 2 + cfg.window + 1; s++) {
        append_one(fd, path, producer, s, 44 + s, &x, &cx);
        ok = check(cx == 0, "idempotence", "an append in sequence failed") && ok;
    }
    append_one(fd, path, producer, 0, 90, &x, &cx);
    ok = check(cx == STROM_ERR_SEQUENCE_TOO_OLD, "idempotence",
               "a sequence older than the window was not SEQUENCE_TOO_OLD") &&
         ok;
    /* Whatever was refused or retried left no trace: one more append lands right after. */
    append_one(fd, path, 0, 0, 91, &x, &cx);
    ok = check(cx == 0 && x.base_offset == a0.base_offset + 2 + cfg.window + 1, "idempotence",
               "a retry or a refused append took an offset") &&
         ok;
    if (ok) {
        printf("ok: idempotent retries, gaps and the window\n");
    }
    close(fd);
}

/* --- limits ------------------------------------------------------------------------------------
 */

/* More appends in flight than inflight_max, in one write: every one is answered, some with LIMIT,
 * and the connection stays open. */
static void case_inflight(void) {
    int fd = conn_hello();
    uint32_t n = 4 * cfg.inflight_max + 8;
    static uint8_t frames[1 << 20];
    size_t at = 0;
    uint8_t set[64];
    size_t slen = 0;
    struct proto_msg one = {.payload = (const uint8_t *)"x", .payload_len = 1};
    proto_msg_encode(&one, set, sizeof set, &slen);
    for (uint32_t i = 0; i < n; i++) {
        struct proto_append a = {0, S("/fr/inflight"), 1, true, 0, 0, 1, set, (uint32_t)slen};
        size_t len = 0;
        proto_frame_encode(frames + at, sizeof frames - at, PROTO_APPEND, 100 + i, &a, &len);
        at += len;
    }
    send_all(fd, frames, at);
    uint32_t answered = 0, limited = 0, other = 0;
    struct proto_frame f;
    while (answered < n && recv_frame(fd, &f) == 1) {
        uint32_t code =
            f.header.type == PROTO_ERROR ? f.body.error.code : f.body.append_answer.error;
        answered++;
        limited += code == STROM_ERR_LIMIT;
        other += code != STROM_ERR_LIMIT && code != 0;
    }
    char why[128];
    snprintf(why, sizeof why, "%u of %u answered, %u LIMIT, %u other errors", answered, n, limited,
             other);
    if (check(answered == n && limited > 0 && other == 0, "requests in flight", why) &&
        check(alive(fd), "requests in flight", "the connection did not stay open")) {
        printf("ok: requests in flight above inflight_max get LIMIT (%s)\n", why);
    }
    close(fd);
}

/* One read more than reads_max: that one ends with LIMIT, the others go on. */
static void case_reads(void) {
    int fd = conn_hello();
    struct proto_append_answer x;
    uint32_t code = 0;
    append_one(fd, "/fr/reads", 0, 0, 200, &x, &code);
    for (uint32_t i = 0; i <= cfg.reads_max; i++) {
        struct proto_read r = {0, S("/fr/reads"), 0, UINT64_MAX, true, 1, false, 1 << 20};
        send_frame(fd, PROTO_READ, 300 + i, &r);
    }
    uint32_t limited = 0, delivers = 0;
    struct proto_frame f;
    while (limited + delivers < cfg.reads_max + 1 && recv_frame(fd, &f) == 1) {
        uint32_t err = f.header.type == PROTO_ERROR      ? f.body.error.code
                       : f.header.type == PROTO_READ_END ? f.body.read_end.error
                                                         : 0;
        limited += err == STROM_ERR_LIMIT;
        delivers += f.header.type == PROTO_DELIVER;
    }
    char why[96];
    snprintf(why, sizeof why, "%u LIMIT, %u delivers of %u reads", limited, delivers,
             cfg.reads_max + 1);
    if (check(limited == 1 && delivers == cfg.reads_max, "reads", why) &&
        check(alive(fd), "reads", "the connection did not stay open")) {
        printf("ok: a read above reads_max gets LIMIT, the others deliver\n");
    }
    close(fd);
}

/* connections_max connections are served; the next one gets LIMIT and is closed. */
static void case_connections(void) {
    static int fds[CONNS_MAX];
    uint32_t open = 0;
    while (open < cfg.connections_max && open < CONNS_MAX) {
        fds[open] = conn_hello();
        if (fds[open] < 0) {
            break;
        }
        open++;
    }
    char why[96];
    snprintf(why, sizeof why, "only %u of %u connections said hello", open, cfg.connections_max);
    if (check(open == cfg.connections_max, "connections", why)) {
        int extra = conn_raw();
        struct proto_hello h = {PROTO_VERSION, PROTO_VERSION, S("one too many")};
        send_frame(extra, PROTO_HELLO, 0, &h);
        expect_error_close("a connection above connections_max", extra, STROM_ERR_LIMIT, 0);
        check(alive(fds[0]), "connections", "the first connection was hurt");
    }
    for (uint32_t i = 0; i < open; i++) {
        close(fds[i]);
    }
}

/* More connections than the gateway has large buffers (8) each hold part of a frame near the
 * largest: the gateway goes on serving another connection, and each large append is answered
 * once its frame is complete. */
static void case_large_frames(void) {
    enum { CONNS = 12 };
    static uint8_t frame[2 << 20], set[2 << 20];
    uint32_t payload_len = cfg.frame_bytes_max / 10 * 8;
    static uint8_t payload[2 << 20];
    memset(payload, 'L', payload_len);
    struct proto_msg m = {.payload = payload, .payload_len = payload_len};
    size_t set_len = 0, len = 0;
    proto_msg_encode(&m, set, sizeof set, &set_len);
    struct proto_append a = {0, S("/fr/large"), 1, false, 0, 0, 1, set, (uint32_t)set_len};
    proto_frame_encode(frame, sizeof frame, PROTO_APPEND, 600, &a, &len);
    int fds[CONNS];
    size_t part = len / 3 * 2;
    for (int i = 0; i < CONNS; i++) {
        fds[i] = conn_hello();
        send_all(fds[i], frame, part);
    }
    int other = conn_hello();
    bool served = check(alive(other), "large frames", "a connection was not served meanwhile");
    close(other);
    int answered = 0;
    for (int i = 0; i < CONNS; i++) {
        send_all(fds[i], frame + part, len - part);
        struct proto_frame f;
        answered += recv_frame(fds[i], &f) == 1 && f.header.type == PROTO_APPEND_ANSWER &&
                    f.body.append_answer.error == 0;
        close(fds[i]);
    }
    char why[96];
    snprintf(why, sizeof why, "%d of %d large appends answered without error", answered, CONNS);
    if (check(answered == CONNS, "large frames", why) && served) {
        printf("ok: %d connections each in the middle of a large frame (%s)\n", CONNS, why);
    }
}

/* A read with 1 byte of credit gets one batch; granting credit brings the rest. */
static void case_credit(void) {
    int fd = conn_hello();
    struct proto_append_answer x;
    uint32_t code = 0;
    for (uint64_t i = 0; i < 10; i++) {
        append_one(fd, "/fr/credit", 0, 0, 400 + i, &x, &code);
    }
    struct proto_read r = {0, S("/fr/credit"), 0, UINT64_MAX, true, 1, false, 1};
    send_frame(fd, PROTO_READ, 500, &r);
    struct proto_frame f;
    int got = recv_frame(fd, &f);
    bool first = got == 1 && f.header.type == PROTO_DELIVER && f.body.deliver.base_offset == 0;
    if (!first) {
        printf("credit: the first frame: %s %s id %llu error %u\n", got == 1 ? "" : "none",
               got == 1 ? proto_type_name(f.header.type) : "",
               (unsigned long long)f.header.request_id,
               got == 1 && f.header.type == PROTO_READ_END ? f.body.read_end.error : 0);
    }
    struct proto_credit c = {1 << 20};
    send_frame(fd, PROTO_CREDIT, 500, &c);
    uint64_t next = first ? f.body.deliver.base_offset + f.body.deliver.count : 0;
    while (next < 10 && recv_frame(fd, &f) == 1 && f.header.type == PROTO_DELIVER) {
        next = f.body.deliver.base_offset == next ? next + f.body.deliver.count : UINT64_MAX;
    }
    send_frame(fd, PROTO_CANCEL, 500, NULL);
    bool ended =
        recv_frame(fd, &f) == 1 && f.header.type == PROTO_READ_END && f.header.request_id == 500;
    if (check(first, "credit", "no first batch on 1 byte of credit") &&
        check(next == 10, "credit", "granted credit did not bring the rest in order") &&
        check(ended, "credit", "cancel did not end the read with read_end")) {
        printf("ok: credit, and cancel ends a read\n");
    }
    close(fd);
}

/* Sets cfg.host and cfg.port from HOST:PORT; false when it is not that. */
static bool set_server(const char *server) {
    const char *colon = strrchr(server, ':');
    if (colon == NULL || (size_t)(colon - server) >= sizeof cfg.host) {
        return false;
    }
    memcpy(cfg.host, server, (size_t)(colon - server));
    cfg.host[colon - server] = '\0';
    cfg.port = (uint16_t)atoi(colon + 1);
    return true;
}

/* integ_frames append --server HOST:PORT --path P --producer N --seq N [--retry]: one append of
 * one message with sync, its answer as "integ.append  error:NAME  base:B  count:C" (exit 0), or
 * exit 1 when none came within 10 s. For tests/integ/client_idem.sh. */
static int append_mode(int argc, char **argv) {
    const char *path = NULL;
    uint64_t producer = 0, seq = UINT64_MAX;
    bool retry = false, server_ok = false;
    for (int i = 2; i < argc; i++) {
        bool value = i + 1 < argc;
        if (strcmp(argv[i], "--retry") == 0) {
            retry = true;
        } else if (value && strcmp(argv[i], "--server") == 0) {
            server_ok = set_server(argv[++i]);
        } else if (value && strcmp(argv[i], "--path") == 0) {
            path = argv[++i];
        } else if (value && strcmp(argv[i], "--producer") == 0) {
            producer = strtoull(argv[++i], NULL, 10);
        } else if (value && strcmp(argv[i], "--seq") == 0) {
            seq = strtoull(argv[++i], NULL, 10);
        } else {
            server_ok = false;
            break;
        }
    }
    if (!server_ok || path == NULL || seq == UINT64_MAX) {
        fprintf(stderr, "usage: integ_frames append --server HOST:PORT --path P --producer N "
                        "--seq N [--retry]\n");
        return 2;
    }
    int fd = conn_hello();
    struct proto_append_answer ans = {0};
    uint32_t code = 0;
    if (fd < 0 || !append_one_as(fd, path, producer, seq, 7, true, retry, &ans, &code)) {
        fprintf(stderr, "integ_frames append: no answer from %s:%u\n", cfg.host, cfg.port);
        return 1;
    }
    printf("integ.append  error:%s  base:%llu  count:%u\n",
           code ? strom_errname((strom_err)code) : "OK",
           code ? 0ULL : (unsigned long long)ans.base_offset, code ? 0 : ans.count);
    close(fd);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "append") == 0) {
        return append_mode(argc, argv);
    }
    char server[96] = "";
    for (int i = 1; i + 1 < argc; i += 2) {
        uint32_t v = (uint32_t)strtoul(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--server") == 0) {
            snprintf(server, sizeof server, "%s", argv[i + 1]);
        } else if (strcmp(argv[i], "--frame-bytes-max") == 0) {
            cfg.frame_bytes_max = v;
        } else if (strcmp(argv[i], "--inflight-max") == 0) {
            cfg.inflight_max = v;
        } else if (strcmp(argv[i], "--reads-max") == 0) {
            cfg.reads_max = v;
        } else if (strcmp(argv[i], "--connections-max") == 0) {
            cfg.connections_max = v;
        } else if (strcmp(argv[i], "--window") == 0) {
            cfg.window = v;
        }
    }
    if (!set_server(server) || !cfg.frame_bytes_max || !cfg.inflight_max || !cfg.reads_max ||
        !cfg.connections_max || !cfg.window) {
        fprintf(stderr, "usage: integ_frames --server HOST:PORT --frame-bytes-max N "
                        "--inflight-max N --reads-max N --connections-max N --window W\n"
                        "       integ_frames append --server HOST:PORT --path P --producer N "
                        "--seq N [--retry]\n");
        return 2;
    }
    int fd = conn_hello();
    if (!check(fd >= 0 && alive(fd), "hello and ping", "no hello answer or pong")) {
        return 1;
    }
    close(fd);
    printf("ok: hello and ping\n");
    case_malformed();
    case_bad_sets();
    case_soft_errors();
    case_idempotence();
    case_inflight();
    case_reads();
    case_credit();
    case_large_frames();
    case_connections();
    printf("integ_frames: %d failed\n", failures);
    return failures ? 1 : 0;
}
