/*
 * fake_node.c: a stand-in strom node for libstrom's unit tests (see fake_node.h).
 *
 * One process, poll(2) over the listener and the connections, blocking writes (the client under
 * test always reads while it waits). Streams live in memory as lists of batches. Test code: it
 * uses the OS directly and aborts on what it does not expect.
 */
#include "fake_node.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/frame.h"

enum { FN_CONNS = 64, FN_SUBS = 256, FN_STREAMS = 4096, FN_PRODUCERS = 64, FN_W_MAX = 64 };

struct fn_batch {
    uint64_t base;
    uint32_t count;
    uint64_t ts;
    uint8_t *set;
    uint32_t len;
};

struct fn_window {
    uint64_t producer;
    uint64_t last_seq;
    uint64_t seq[FN_W_MAX], base[FN_W_MAX], ts[FN_W_MAX];
    uint32_t count[FN_W_MAX];
};

struct fn_stream {
    char path[PROTO_PATH_BYTES_MAX + 1];
    uint64_t id;
    uint64_t next;
    uint64_t bytes;
    struct fn_batch *batches;
    uint32_t nbatches, cap;
    struct fn_window producers[FN_PRODUCERS];
    uint32_t nproducers;
};

struct fn_conn {
    int fd; /* -1: free */
    uint8_t *in;
    size_t len, cap;
};

struct fn_sub {
    int conn; /* -1: free */
    uint64_t id;
    struct fn_stream *s;
    uint64_t next, to, end;
    bool follow;
    int64_t credit;
};

struct fn {
    struct fake_node_config cfg;
    int lfd;
    struct fn_conn conns[FN_CONNS];
    struct fn_sub subs[FN_SUBS];
    struct fn_stream *streams[FN_STREAMS];
    uint32_t nstreams;
    uint32_t appends_seen;
    uint64_t ts;
};

static void fn_send(struct fn *n, int ci, enum proto_type type, uint64_t id, const void *body,
                    size_t extra) {
    size_t cap = 4096 + extra;
    uint8_t *buf = malloc(cap);
    size_t len = 0;
    if (proto_frame_encode(buf, cap, type, id, body, &len) != STROM_OK) {
        abort();
    }
    for (size_t off = 0; off < len && n->conns[ci].fd >= 0;) {
        ssize_t w = send(n->conns[ci].fd, buf + off, len - off, MSG_NOSIGNAL);
        if (w <= 0) {
            break; /* the reader notices the close */
        }
        off += (size_t)w;
    }
    free(buf);
}

static void fn_close(struct fn *n, int ci) {
    close(n->conns[ci].fd);
    n->conns[ci].fd = -1;
    n->conns[ci].len = 0;
    for (int i = 0; i < FN_SUBS; i++) {
        if (n->subs[i].conn == ci) {
            n->subs[i].conn = -1;
        }
    }
}

static struct fn_stream *fn_find(struct fn *n, const char *path, uint32_t path_len, bool create) {
    for (uint32_t i = 0; i < n->nstreams; i++) {
        if (strlen(n->streams[i]->path) == path_len &&
            memcmp(n->streams[i]->path, path, path_len) == 0) {
            return n->streams[i];
        }
    }
    if (!create || n->nstreams == FN_STREAMS) {
        return NULL;
    }
    struct fn_stream *s = calloc(1, sizeof *s);
    memcpy(s->path, path, path_len);
    s->id = n->nstreams + 1;
    n->streams[n->nstreams++] = s;
    return s;
}

static void fn_end(struct fn *n, struct fn_sub *sub, strom_err err) {
    struct proto_read_end e = {err, sub->next};
    fn_send(n, sub->conn, PROTO_READ_END, sub->id, &e, 0);
    sub->conn = -1;
}

/* Sends what sub may get now. */
static void fn_pump(struct fn *n, struct fn_sub *sub) {
    struct fn_stream *s = sub->s;
    while (sub->conn >= 0) {
        if (sub->next >= sub->to || (!sub->follow && sub->next >= sub->end)) {
            fn_end(n, sub, STROM_OK);
            return;
        }
        if (sub->credit <= 0 || sub->next >= s->next) {
            return;
        }
        uint32_t lo = 0; /* binary search: the first batch that ends after sub->next */
        uint32_t hi = s->nbatches;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (s->batches[mid].base + s->batches[mid].count <= sub->next) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        uint32_t b = lo;
        struct fn_batch *bt = &s->batches[b];
        struct proto_deliver d = {s->id, bt->base, bt->count, bt->ts, bt->set, bt->len};
        fn_send(n, sub->conn, PROTO_DELIVER, sub->id, &d, bt->len);
        sub->next = bt->base + bt->count;
        sub->credit -= bt->len;
    }
}

/* The idempotence check: 0 apply, 1 duplicate (*w, *slot), else an error. */
static int fn_window(struct fn *n, struct fn_stream *s, uint64_t p, uint64_t seq,
                     struct fn_window **wout, uint32_t *slot) {
    uint32_t W = n->cfg.window;
    struct fn_window *w = NULL;
    for (uint32_t i = 0; i < s->nproducers; i++) {
        if (s->producers[i].producer == p) {
            w = &s->producers[i];
        }
    }
    if (w == NULL) {
        if (seq != 0) {
            return STROM_ERR_OUT_OF_ORDER_SEQUENCE;
        }
        w = &s->producers[s->nproducers++ % FN_PRODUCERS];
        *w = (struct fn_window){.producer = p, .last_seq = UINT64_MAX};
        *wout = w;
        return 0;
    }
    *wout = w;
    if (seq == w->last_seq + 1) {
        return 0;
    }
    if (seq > w->last_seq + 1) {
        return STROM_ERR_OUT_OF_ORDER_SEQUENCE;
    }
    if (w->last_seq - seq >= W) {
        return STROM_ERR_SEQUENCE_TOO_OLD;
    }
    *slot = (uint32_t)(seq % W);
    return 1;
}

static void fn_append(struct fn *n, int ci, uint64_t id, const struct proto_append *a, bool retry) {
    struct proto_append_answer ans = {0};
    struct fn_stream *s = proto_path_check(a->path, a->path_len) == STROM_OK
                              ? fn_find(n, a->path, a->path_len, true)
                              : NULL;
    struct fn_window *w = NULL;
    uint32_t slot = 0;
    int verdict = s == NULL ? STROM_ERR_INVALID_PATH
                  : retry && a->producer_id && n->cfg.forget_producers
                      ? STROM_ERR_SEQUENCE_TOO_OLD /* a forgotten producer's retry */
                  : a->producer_id ? fn_window(n, s, a->producer_id, a->sequence, &w, &slot)
                                   : 0;
    if (verdict == 1) {
        ans = (struct proto_append_answer){0, s->id, w->base[slot], w->count[slot], w->ts[slot]};
    } else if (verdict != 0) {
        ans.error = (uint32_t)verdict;
    } else {
        if (s->nbatches == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 64;
            s->batches = realloc(s->batches, s->cap * sizeof s->batches[0]);
        }
        struct fn_batch *b = &s->batches[s->nbatches++];
        *b = (struct fn_batch){s->next, a->count, ++n->ts, malloc(a->messages_len + 1),
                               a->messages_len};
        memcpy(b->set, a->messages, a->messages_len);
        s->next += a->count;
        s->bytes += a->messages_len;
        if (w != NULL) {
            w->last_seq = a->sequence;
            uint32_t k = (uint32_t)(a->sequence % n->cfg.window);
            w->seq[k] = a->sequence;
            w->base[k] = b->base;
            w->count[k] = b->count;
            w->ts[k] = b->ts;
        }
        ans = (struct proto_append_answer){0, s->id, b->base, b->count, b->ts};
        for (int i = 0; i < FN_SUBS; i++) {
            if (n->subs[i].conn >= 0 && n->subs[i].s == s) {
                fn_pump(n, &n->subs[i]);
            }
        }
    }
    n->appends_seen++;
    uint32_t d = n->cfg.drop_after_append;
    if (d != 0 && (n->appends_seen == d || (n->cfg.drop_every && n->appends_seen > d &&
                                            (n->appends_seen - d) % n->cfg.drop_every == 0))) {
        fn_close(n, ci);
        return;
    }
    fn_send(n, ci, PROTO_APPEND_ANSWER, id, &ans, 0);
}

static void fn_read(struct fn *n, int ci, uint64_t id, const struct proto_read *r) {
    struct fn_stream *s = fn_find(n, r->path, r->path_len, false);
    struct fn_sub *sub = NULL;
    for (int i = 0; i < FN_SUBS && sub == NULL; i++) {
        sub = n->subs[i].conn < 0 ? &n->subs[i] : NULL;
    }
    if (s == NULL || sub == NULL) {
        struct proto_read_end e = {s == NULL ? STROM_ERR_NO_STREAM : STROM_ERR_LIMIT, r->from};
        fn_send(n, ci, PROTO_READ_END, id, &e, 0);
        return;
    }
    *sub = (struct fn_sub){ci,    id,      s,         r->from == UINT64_MAX ? s->next : r->from,
                           r->to, s->next, r->follow, (int64_t)r->credit_bytes};
    fn_pump(n, sub);
}

static void fn_list(struct fn *n, int ci, uint64_t id, const struct proto_list *l) {
    static struct proto_stream_info infos[PROTO_LIST_STREAMS_MAX];
    uint32_t page = n->cfg.list_page_max < l->count_max ? n->cfg.list_page_max : l->count_max;
    struct proto_list_answer a = {0, infos, 0, false};
    size_t bytes = 0;
    for (uint32_t i = 0; i < n->nstreams; i++) {
        struct fn_stream *s = n->streams[i];
        if (s->id <= l->after_id || strncmp(s->path, l->prefix, l->prefix_len)) {
            continue;
        }
        if (a.streams_count == page) {
            a.more = true;
            break;
        }
        infos[a.streams_count++] = (struct proto_stream_info){
            s->path, (uint32_t)strlen(s->path), s->id, 0, s->next, s->next, s->bytes};
        bytes += PROTO_STREAM_INFO_ENCODED_BYTES_MIN + strlen(s->path);
    }
    fn_send(n, ci, PROTO_LIST_ANSWER, id, &a, bytes);
}

static void fn_frame(struct fn *n, int ci, const struct proto_frame *f) {
    uint64_t id = f->header.request_id;
    switch (f->header.type) {
    case PROTO_HELLO: {
        struct proto_hello_answer a = {
            1, "fake", 4, PROTO_FRAME_BYTES_MAX, n->cfg.inflight_max, 64, n->cfg.window};
        fn_send(n, ci, PROTO_HELLO_ANSWER, id, &a, 0);
        break;
    }
    case PROTO_APPEND:
        fn_append(n, ci, id, &f->body.append, (f->header.flags & PROTO_FLAG_RETRY) != 0);
        break;
    case PROTO_READ:
        fn_read(n, ci, id, &f->body.read);
        break;
    case PROTO_CREDIT:
    case PROTO_CANCEL:
        for (int i = 0; i < FN_SUBS; i++) {
            struct fn_sub *sub = &n->subs[i];
            if (sub->conn == ci && sub->id == id) {
                sub->credit += (int64_t)f->body.credit.bytes;
                f->header.type == PROTO_CANCEL ? fn_end(n, sub, STROM_OK) : fn_pump(n, sub);
            }
        }
        break;
    case PROTO_CREATE: {
        uint32_t before = n->nstreams;
        struct fn_stream *s = fn_find(n, f->body.create.path, f->body.create.path_len, true);
        struct proto_create_answer a = {0, s->id, n->nstreams > before};
        fn_send(n, ci, PROTO_CREATE_ANSWER, id, &a, 0);
        break;
    }
    case PROTO_LIST:
        fn_list(n, ci, id, &f->body.list);
        break;
    case PROTO_STAT: {
        char text[128];
        snprintf(text, sizeof text, "strom.stat.fake  streams:%u  appends:%u\n", n->nstreams,
                 n->appends_seen);
        struct proto_stat_answer a = {0, text, (uint32_t)strlen(text)};
        fn_send(n, ci, PROTO_STAT_ANSWER, id, &a, 0);
        break;
    }
    case PROTO_PING: {
        struct proto_pong pong = {f->body.ping.value};
        fn_send(n, ci, PROTO_PONG, id, &pong, 0);
        break;
    }
    default:
        fn_close(n, ci);
        break;
    }
}

/* Reads what a connection has and handles its whole frames. */
static void fn_receive(struct fn *n, int ci) {
    struct fn_conn *c = &n->conns[ci];
    if (c->cap - c->len < 65536) {
        c->cap = c->cap * 2 + 65536;
        c->in = realloc(c->in, c->cap);
    }
    ssize_t r = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
    if (r <= 0) {
        fn_close(n, ci);
        return;
    }
    c->len += (size_t)r;
    size_t at = 0;
    while (n->conns[ci].fd >= 0) {
        struct proto_header h;
        strom_err err = proto_header_read(c->in + at, c->len - at, PROTO_FRAME_BYTES_MAX, &h);
        if (err == STROM_ERR_TRUNCATED || (err == STROM_OK && h.frame_bytes > c->len - at)) {
            break;
        }
        struct proto_frame f;
        if (err || proto_frame_decode(c->in + at, h.frame_bytes, PROTO_FRAME_BYTES_MAX, NULL, &f)) {
            fn_close(n, ci);
            return;
        }
        at += h.frame_bytes;
        fn_frame(n, ci, &f);
    }
    if (n->conns[ci].fd >= 0) {
        memmove(c->in, c->in + at, c->len - at);
        c->len -= at;
    }
}

static void fn_accept(struct fn *n) {
    int fd = accept(n->lfd, NULL, NULL);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int i = 0; i < FN_CONNS; i++) {
        if (n->conns[i].fd < 0) {
            n->conns[i].fd = fd;
            return;
        }
    }
    close(fd);
}

static void fn_serve(struct fn *n) {
    for (;;) {
        struct pollfd p[FN_CONNS + 1];
        int map[FN_CONNS + 1];
        int np = 0;
        p[np] = (struct pollfd){.fd = n->lfd, .events = POLLIN};
        map[np++] = -1;
        for (int i = 0; i < FN_CONNS; i++) {
            if (n->conns[i].fd >= 0) {
                p[np] = (struct pollfd){.fd = n->conns[i].fd, .events = POLLIN};
                map[np++] = i;
            }
        }
        if (poll(p, (nfds_t)np, -1) < 0) {
            continue;
        }
        for (int i = 0; i < np; i++) {
            if (p[i].revents == 0) {
                continue;
            }
            if (map[i] < 0) {
                fn_accept(n);
            } else if (n->conns[map[i]].fd == p[i].fd) {
                fn_receive(n, map[i]);
            }
        }
    }
}

pid_t fake_node_start(const struct fake_node_config *cfg, uint16_t *port) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 64) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) != 0) {
        abort();
    }
    *port = ntohs(a.sin_port);
    pid_t pid = fork();
    if (pid != 0) {
        close(lfd);
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    static struct fn n;
    n.cfg = *cfg;
    n.cfg.window = n.cfg.window ? n.cfg.window : 5;
    n.cfg.inflight_max = n.cfg.inflight_max ? n.cfg.inflight_max : 64;
    n.cfg.list_page_max = n.cfg.list_page_max ? n.cfg.list_page_max : PROTO_LIST_STREAMS_MAX;
    n.lfd = lfd;
    for (int i = 0; i < FN_CONNS; i++) {
        n.conns[i].fd = -1;
    }
    for (int i = 0; i < FN_SUBS; i++) {
        n.subs[i].conn = -1;
    }
    fn_serve(&n);
    _exit(0);
}

void fake_node_stop(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
