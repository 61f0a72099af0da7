/*
 * client.c: libstrom's connection (see client.h): open and close, the state machine
 * DOWN -> HELLO -> READY, reconnect with back-off, the send and receive buffers, and strom_step,
 * which does one round of sending, waiting, receiving and dispatching.
 *
 * Invariants: out_base <= request_keep_pos() <= out_sent <= out_tail <= out_base + out_cap;
 * in_head <= in_tail <= in_cap; fd >= 0 exactly when state != DOWN.
 */
#include "client/client.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

void strom_options_init(struct strom_options *opt) {
    *opt = (struct strom_options){
        .server = STROM_DEFAULT_SERVER,
        .client_name = "libstrom",
        .connect_timeout_ns = UINT64_C(2000000000),
        .request_timeout_ns = UINT64_C(60000000000),
        .reconnect_timeout_ns = UINT64_C(30000000000),
        .inflight_max = 4096,
        .send_buffer_bytes = UINT64_C(64) << 20,
        .credit_bytes = UINT64_C(1) << 20,
        .streams_max = UINT32_C(1) << 20,
    };
}

uint64_t client_now_ns(strom_client *c) {
    return io_clock_monotonic_ns(c->io);
}

/* Splits "HOST:PORT" (or "[V6]:PORT") into host and port. */
static strom_err client_parse_server(const char *server, char *host, size_t host_cap,
                                     uint16_t *port) {
    const char *colon = strrchr(server, ':');
    if (colon == NULL || colon == server) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    const char *h = server;
    size_t hlen = (size_t)(colon - server);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    char *end = NULL;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (hlen == 0 || hlen >= host_cap || colon[1] == '\0' || *end != '\0' || p == 0 || p > 65535) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    return STROM_OK;
}

static strom_err client_check_options(const struct strom_options *o) {
    bool ok = o->server != NULL && o->client_name != NULL && o->connect_timeout_ns > 0 &&
              o->request_timeout_ns > 0 && o->inflight_max > 0 && o->inflight_max <= (1u << 20) &&
              o->send_buffer_bytes >= 2 * (uint64_t)PROTO_FRAME_BYTES_MAX &&
              o->send_buffer_bytes <= (UINT64_C(1) << 34) && o->credit_bytes > 0 &&
              o->streams_max > 0 && o->streams_max <= (1u << 26);
    return ok ? STROM_OK : STROM_ERR_INVALID_ARGUMENT;
}

/* Allocates the buffers and tables of a new client. */
static strom_err client_alloc(strom_client *c) {
    c->out_cap = (size_t)c->opt.send_buffer_bytes;
    c->out = malloc(c->out_cap);
    c->in_cap = CLIENT_RECV_BYTES_MIN;
    c->in = malloc(c->in_cap);
    strom_arena_init(&c->arena, c->arena_bytes, sizeof c->arena_bytes);
    if (c->out == NULL || c->in == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    strom_err err = request_init(c);
    if (err == STROM_OK) {
        err = streams_init(c);
    }
    return err;
}

/* Encodes the hello frame and enters HELLO on the new descriptor fd. */
static void client_enter_hello(strom_client *c, int fd) {
    struct proto_hello hello = {
        .version_min = PROTO_VERSION,
        .version_max = PROTO_VERSION,
        .client_name = c->client_name,
        .client_name_len = (uint32_t)strlen(c->client_name),
    };
    size_t len = 0;
    strom_err err =
        proto_frame_encode(c->hello_frame, sizeof c->hello_frame, PROTO_HELLO, 0, &hello, &len);
    strom_assert(err == STROM_OK);
    c->fd = fd;
    c->state = CLIENT_HELLO;
    c->hello_bytes = (uint32_t)len;
    c->hello_sent = 0;
    c->hello_since_ns = client_now_ns(c);
    c->in_head = 0;
    c->in_tail = 0;
}

/* One connection attempt; on failure plans the next one. */
static strom_err client_connect(strom_client *c) {
    strom_assert(c->state == CLIENT_DOWN && c->fd < 0);
    int fd = -1;
    strom_err err = io_tcp_connect(c->io, c->host, c->port, c->opt.connect_timeout_ns, &fd);
    if (err == STROM_OK) {
        client_enter_hello(c, fd);
    } else {
        uint64_t now = client_now_ns(c);
        c->next_attempt_ns = now + c->backoff_ns;
        c->backoff_ns =
            c->backoff_ns * 2 > CLIENT_BACKOFF_MAX_NS ? CLIENT_BACKOFF_MAX_NS : c->backoff_ns * 2;
    }
    return err;
}

void client_disconnect(strom_client *c, strom_err why) {
    if (c->state == CLIENT_DOWN) {
        return;
    }
    if (c->state == CLIENT_HELLO) {
        c->last_error = why; /* strom_open says why its hello failed */
    }
    uint64_t now = client_now_ns(c);
    io_sock_close(c->io, c->fd);
    if (c->state == CLIENT_READY) {
        /* The first attempt right away (a restarted gateway is quick); the time to give up
         * counts from here, also across failed hellos. */
        c->down_since_ns = now;
        c->backoff_ns = CLIENT_BACKOFF_MIN_NS;
        c->next_attempt_ns = now;
    } else {
        c->next_attempt_ns = now + c->backoff_ns;
        c->backoff_ns =
            c->backoff_ns * 2 > CLIENT_BACKOFF_MAX_NS ? CLIENT_BACKOFF_MAX_NS : c->backoff_ns * 2;
    }
    c->fd = -1;
    c->state = CLIENT_DOWN;
    c->in_head = 0;
    c->in_tail = 0;
    request_rewind(c);
    sub_connection_lost(c);
}

void client_want_connection(strom_client *c) {
    if (c->given_up) {
        c->given_up = false;
        c->down_since_ns = client_now_ns(c);
        c->next_attempt_ns = c->down_since_ns;
        c->backoff_ns = CLIENT_BACKOFF_MIN_NS;
    }
}

bool client_out_reserve(strom_client *c, size_t bytes) {
    if (c->out_tail - c->out_base + bytes <= c->out_cap) {
        return true;
    }
    uint64_t keep = request_keep_pos(c);
    size_t drop = (size_t)(keep - c->out_base);
    if (drop > 0) {
        memmove(c->out, c->out + drop, (size_t)(c->out_tail - keep));
        c->out_base = keep;
    }
    return c->out_tail - c->out_base + bytes <= c->out_cap;
}

/* Sends what the state allows: the hello, or the queued frames. Errors break the connection. */
static void client_flush(strom_client *c) {
    while (c->state != CLIENT_DOWN) {
        struct io_iov iov;
        if (c->state == CLIENT_HELLO) {
            iov = (struct io_iov){c->hello_frame + c->hello_sent, c->hello_bytes - c->hello_sent};
        } else {
            iov = (struct io_iov){c->out + (c->out_sent - c->out_base),
                                  (size_t)(c->out_tail - c->out_sent)};
        }
        if (iov.len == 0) {
            return;
        }
        size_t sent = 0;
        strom_err err = io_sock_send(c->io, c->fd, &iov, 1, &sent);
        if (err == STROM_ERR_AGAIN) {
            return;
        }
        if (err) {
            client_disconnect(c, err);
            return;
        }
        if (c->state == CLIENT_HELLO) {
            c->hello_sent += (uint32_t)sent;
        } else {
            c->out_sent += sent;
        }
    }
}

/* The node's hello answer: the connection becomes READY. */
static void client_on_hello(strom_client *c, const struct proto_hello_answer *a) {
    if (a->version != PROTO_VERSION || a->frame_bytes_max < 1024) {
        client_disconnect(c, STROM_ERR_UNSUPPORTED_VERSION);
        return;
    }
    struct strom_server_info *s = &c->server;
    s->version = a->version;
    memcpy(s->node_name, a->node_name, a->node_name_len);
    s->node_name[a->node_name_len] = '\0';
    s->frame_bytes_max =
        a->frame_bytes_max < PROTO_FRAME_BYTES_MAX ? a->frame_bytes_max : PROTO_FRAME_BYTES_MAX;
    s->inflight_max = a->inflight_max;
    s->reads_max = a->reads_max;
    s->idempotence_window = a->idempotence_window;
    c->inflight_max = c->opt.inflight_max;
    if (a->inflight_max > 0 && a->inflight_max < c->inflight_max) {
        c->inflight_max = a->inflight_max;
    }
    if (c->reconnects_started) {
        c->reconnects++;
    }
    c->reconnects_started = true;
    c->state = CLIENT_READY;
    c->backoff_ns = CLIENT_BACKOFF_MIN_NS;
    sub_resume(c);
}

/* An error frame: for a request, a read, or the connection. */
static void client_on_error(strom_client *c, const struct proto_frame *f) {
    uint64_t id = f->header.request_id;
    if (id == 0) {
        c->last_error =
            f->body.error.code != 0 ? (strom_err)f->body.error.code : STROM_ERR_PROTOCOL;
        client_disconnect(c, c->last_error);
    } else if (id & CLIENT_READ_ID_BIT) {
        sub_end(c, f);
    } else {
        request_answer(c, f);
    }
}

/* Dispatches one decoded frame. */
static void client_dispatch(strom_client *c, const struct proto_frame *f) {
    uint16_t type = f->header.type;
    if (c->state == CLIENT_HELLO) {
        if (type == PROTO_HELLO_ANSWER) {
            client_on_hello(c, &f->body.hello_answer);
        } else if (type == PROTO_ERROR) {
            client_on_error(c, f);
        } else {
            client_disconnect(c, STROM_ERR_PROTOCOL);
        }
        return;
    }
    switch (type) {
    case PROTO_ERROR:
        client_on_error(c, f);
        break;
    case PROTO_DELIVER:
        sub_deliver(c, f);
        break;
    case PROTO_READ_END:
        sub_end(c, f);
        break;
    case PROTO_APPEND_ANSWER:
    case PROTO_CREATE_ANSWER:
    case PROTO_LIST_ANSWER:
    case PROTO_STAT_ANSWER:
    case PROTO_PONG:
        request_answer(c, f);
        break;
    default:
        client_disconnect(c, STROM_ERR_PROTOCOL);
        break;
    }
}

/* Makes room in the receive buffer for a frame of need bytes from in_head. */
static bool client_in_room(strom_client *c, size_t need) {
    if (c->in_head > 0 && (c->in_tail == c->in_cap || c->in_head + need > c->in_cap)) {
        memmove(c->in, c->in + c->in_head, c->in_tail - c->in_head);
        c->in_tail -= c->in_head;
        c->in_head = 0;
    }
    if (need > c->in_cap) {
        uint8_t *in = realloc(c->in, need);
        if (in == NULL) {
            return false;
        }
        c->in = in;
        c->in_cap = need;
    }
    return true;
}

/* Decodes and dispatches the whole frames in the receive buffer; returns the bytes the next
 * frame needs (a header's worth when unknown), or 0 after a protocol violation. */
static size_t client_parse(strom_client *c) {
    uint32_t max = c->state == CLIENT_READY ? c->server.frame_bytes_max : PROTO_FRAME_BYTES_MAX;
    while (c->state != CLIENT_DOWN) {
        size_t have = c->in_tail - c->in_head;
        struct proto_header h;
        strom_err err = proto_header_read(c->in + c->in_head, have, max, &h);
        if (err == STROM_ERR_TRUNCATED) {
            return PROTO_HEADER_BYTES;
        }
        if (err == STROM_OK && h.frame_bytes > have) {
            return h.frame_bytes;
        }
        struct proto_frame f;
        if (err == STROM_OK) {
            strom_arena_reset(&c->arena);
            err = proto_frame_decode(c->in + c->in_head, h.frame_bytes, max, &c->arena, &f);
        }
        if (err) {
            /* Bytes that are no strom frame before the hello answer: not a strom node there. */
            client_disconnect(c, c->state == CLIENT_HELLO ? STROM_ERR_PROTOCOL : err);
            return 0;
        }
        c->in_head += h.frame_bytes;
        client_dispatch(c, &f);
    }
    return 0;
}

/* Receives and dispatches until the socket is empty or a round's bytes are done. */
static void client_receive(strom_client *c) {
    size_t round = 0;
    size_t need = PROTO_HEADER_BYTES;
    while (c->state != CLIENT_DOWN && round < CLIENT_RECV_ROUND_BYTES_MAX) {
        if (!client_in_room(c, need)) {
            client_disconnect(c, STROM_ERR_NO_MEMORY);
            return;
        }
        size_t got = 0;
        size_t room = c->in_cap - c->in_tail;
        strom_err err = io_sock_recv(c->io, c->fd, c->in + c->in_tail, room, &got);
        if (err == STROM_ERR_AGAIN) {
            return;
        }
        if (err) {
            client_disconnect(c, err);
            return;
        }
        c->in_tail += got;
        round += got;
        need = client_parse(c);
        if (c->in_head == c->in_tail) {
            c->in_head = 0;
            c->in_tail = 0;
        }
        if (got < room) {
            return; /* the socket is empty: no second call just to hear AGAIN */
        }
    }
}

/* DOWN: gives up after reconnect_timeout_ns, or tries to connect when the back-off is over. */
static strom_err client_step_down(strom_client *c, uint64_t now, uint64_t timeout_ns) {
    if (c->given_up) {
        return STROM_ERR_NOT_CONNECTED;
    }
    if (now - c->down_since_ns > c->opt.reconnect_timeout_ns) {
        c->given_up = true;
        request_fail_all(c, STROM_ERR_NOT_CONNECTED);
        sub_fail_all(c, STROM_ERR_NOT_CONNECTED);
        return STROM_ERR_NOT_CONNECTED;
    }
    if (now < c->next_attempt_ns) {
        uint64_t wait = c->next_attempt_ns - now;
        io_sleep_ns(c->io, wait < timeout_ns ? wait : timeout_ns);
        return STROM_OK;
    }
    client_connect(c);
    return STROM_OK;
}

/* Nanoseconds left for the hello answer (state HELLO); 0 when the time is over. */
static uint64_t client_hello_left_ns(const strom_client *c, uint64_t now) {
    strom_assert(c->state == CLIENT_HELLO);
    uint64_t waited = now - c->hello_since_ns;
    return waited >= c->opt.connect_timeout_ns ? 0 : c->opt.connect_timeout_ns - waited;
}

strom_err strom_step(strom_client *c, uint64_t timeout_ns) {
    uint64_t now = client_now_ns(c);
    if (c->state == CLIENT_DOWN) {
        strom_err err = client_step_down(c, now, timeout_ns);
        if (err || c->state == CLIENT_DOWN) {
            return err;
        }
        timeout_ns = 0; /* connected: handle the hello without waiting long */
        now = client_now_ns(c);
    }
    if (c->state == CLIENT_HELLO) {
        /* The hello answer must come within connect_timeout_ns: a listener that accepts and
         * stays silent is no node, and must not hold the caller for the request timeout. */
        uint64_t left = client_hello_left_ns(c, now);
        if (left == 0) {
            client_disconnect(c, STROM_ERR_TIMEOUT);
            return STROM_OK;
        }
        timeout_ns = timeout_ns < left ? timeout_ns : left;
    }
    if (c->state == CLIENT_READY) {
        sub_resume(c);
        sub_flush_credit(c); /* what a pull subscriber consumed since the last step */
    }
    client_flush(c);
    if (c->state == CLIENT_DOWN) {
        return STROM_OK;
    }
    if (timeout_ns == 0) {
        /* A program's own loop found the socket ready (or just looks): receive at once. The
         * socket is non-blocking, so a recv costs what a poll would, and saves one call. */
        client_receive(c);
    } else {
        uint32_t events = IO_POLL_IN | ((strom_events(c) & POLLOUT) ? IO_POLL_OUT : 0);
        uint32_t ready = 0;
        strom_err err = io_fd_wait(c->io, c->fd, events, timeout_ns, &ready);
        if (err == STROM_OK && (ready & (IO_POLL_IN | IO_POLL_ERR))) {
            client_receive(c);
        }
    }
    if (c->state != CLIENT_DOWN) {
        sub_flush_credit(c);
        client_flush(c);
    }
    return STROM_OK;
}

strom_err client_wait_for(strom_client *c, const bool *flag) {
    uint64_t deadline = client_now_ns(c) + c->opt.request_timeout_ns;
    while (!*flag) {
        uint64_t now = client_now_ns(c);
        if (now >= deadline) {
            return STROM_ERR_TIMEOUT;
        }
        strom_err err = strom_step(c, deadline - now);
        if (err && !*flag) {
            return err;
        }
    }
    return STROM_OK;
}

int strom_fd(const strom_client *c) {
    return c->fd;
}

short strom_events(const strom_client *c) {
    short ev = 0;
    if (c->state == CLIENT_HELLO) {
        ev = POLLIN | (c->hello_sent < c->hello_bytes ? POLLOUT : 0);
    } else if (c->state == CLIENT_READY) {
        ev = POLLIN | (c->out_sent < c->out_tail ? POLLOUT : 0);
    }
    return ev;
}

uint64_t strom_timeout_ns(const strom_client *c) {
    uint64_t now = io_clock_monotonic_ns(c->io);
    if (c->state == CLIENT_HELLO) {
        return client_hello_left_ns(c, now); /* strom_step ends a hello that takes too long */
    }
    if (c->state != CLIENT_DOWN || c->given_up) {
        return UINT64_MAX;
    }
    return c->next_attempt_ns > now ? c->next_attempt_ns - now : 0;
}

void strom_server_info(const strom_client *c, struct strom_server_info *out) {
    *out = c->server;
}

strom_err strom_path_check(const char *path, size_t len) {
    return proto_path_check(path, len);
}

/* The first connection: no retries, the error goes to the caller. */
static strom_err client_first_connect(strom_client *c) {
    strom_err err = client_connect(c);
    if (err) {
        return err;
    }
    /* Each step waits at most until the hello's time is over, and the step after that ends the
     * hello with TIMEOUT: the loop ends within connect_timeout_ns of the connection. */
    while (c->state == CLIENT_HELLO) {
        strom_step(c, c->opt.connect_timeout_ns);
    }
    if (c->state == CLIENT_READY) {
        return STROM_OK;
    }
    return c->last_error != STROM_OK ? c->last_error : STROM_ERR_NOT_CONNECTED;
}

strom_err strom_open(const struct strom_options *opt, strom_client **out) {
    struct strom_options defaults;
    if (opt == NULL) {
        strom_options_init(&defaults);
        opt = &defaults;
    }
    strom_err err = client_check_options(opt);
    if (err) {
        return err;
    }
    strom_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return STROM_ERR_NO_MEMORY;
    }
    c->opt = *opt;
    c->fd = -1;
    c->backoff_ns = CLIENT_BACKOFF_MIN_NS;
    io_linux_init(&c->io_own);
    c->io = opt->io != NULL ? opt->io : &c->io_own;
    snprintf(c->client_name, sizeof c->client_name, "%s", opt->client_name);
    c->opt.server = NULL; /* not kept: the caller's string */
    c->opt.client_name = NULL;
    err = client_parse_server(opt->server, c->host, sizeof c->host, &c->port);
    if (err == STROM_OK) {
        err = client_alloc(c);
    }
    if (err == STROM_OK) {
        err = client_first_connect(c);
    }
    if (err) {
        strom_close(c);
        return err;
    }
    *out = c;
    return STROM_OK;
}

void strom_close(strom_client *c) {
    if (c == NULL) {
        return;
    }
    if (c->fd >= 0) {
        io_sock_close(c->io, c->fd);
    }
    sub_free_all(c);
    streams_free(c);
    request_free(c);
    free(c->in);
    free(c->out);
    free(c);
}
