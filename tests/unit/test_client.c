/*
 * test_client.c: libstrom against the fake node (fake_node.h): the blocking calls, pipelined
 * appends with dense offsets, subscriptions in callback and pull mode with credit, reads to the
 * end, and reconnects that retry appends without applying any twice.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_node.h"
#include "io/io.h"
#include "strom.h"

static pid_t node_pid;
static char server[64];

static strom_client *start(const struct fake_node_config *cfg) {
    uint16_t port = 0;
    node_pid = fake_node_start(cfg, &port);
    snprintf(server, sizeof server, "127.0.0.1:%u", port);
    struct strom_options o;
    strom_options_init(&o);
    o.server = server;
    o.request_timeout_ns = UINT64_C(20000000000);
    strom_client *c = NULL;
    cr_assert_eq(strom_open(&o, &c), STROM_OK);
    return c;
}

static void stop(strom_client *c) {
    strom_close(c);
    fake_node_stop(node_pid);
}

static struct strom_msg text_msg(const char *s) {
    return (struct strom_msg){.payload = s, .payload_bytes = (uint32_t)strlen(s)};
}

Test(client, blocking_calls) {
    strom_client *c = start(&(struct fake_node_config){0});
    struct strom_server_info info;
    strom_server_info(c, &info);
    cr_assert_str_eq(info.node_name, "fake");
    cr_assert_eq(info.idempotence_window, 5);
    cr_assert_eq(strom_ping(c, NULL), STROM_OK);
    uint64_t id = 0;
    bool created = false;
    cr_assert_eq(strom_create(c, "/a/b", &id, &created), STROM_OK);
    cr_assert(created);
    cr_assert_eq(strom_create(c, "/a/b", &id, &created), STROM_OK);
    cr_assert_not(created);
    cr_assert_eq(strom_create(c, "/a//b", NULL, NULL), STROM_ERR_INVALID_PATH);
    struct strom_msg m[2] = {text_msg("one"), text_msg("two")};
    struct strom_append_result r;
    cr_assert_eq(strom_append(c, "/a/b", m, 2, STROM_ACK_DEFAULT, &r), STROM_OK);
    cr_assert_eq(r.base_offset, 0);
    cr_assert_eq(r.count, 2);
    cr_assert_eq(r.stream_id, id);
    cr_assert_eq(strom_append(c, "/a/b", m, 1, 1 | STROM_NO_SYNC, &r), STROM_OK);
    cr_assert_eq(r.base_offset, 2);
    cr_assert_eq(strom_append(c, "/a/b", m, 0, 0, &r), STROM_ERR_INVALID_ARGUMENT);
    char text[256];
    size_t len = 0;
    cr_assert_eq(strom_stat(c, text, sizeof text, &len), STROM_OK);
    cr_assert(strstr(text, "strom.stat.fake") != NULL, "%s", text);
    cr_assert_eq(strom_stat(c, text, 8, &len), STROM_ERR_OVERFLOW);
    stop(c);
}

struct counted {
    uint32_t answers;
    uint32_t errors;
    uint64_t next_base; /* the offset the next answer must start at */
    uint32_t sent;      /* batches queued */
    bool dense;
};

static void on_append(void *arg, const struct strom_append_result *r) {
    struct counted *k = arg;
    k->answers++;
    if (r->err) {
        k->errors++;
        return;
    }
    k->dense = k->dense && r->base_offset == k->next_base;
    k->next_base = r->base_offset + r->count;
}

/* Appends n batches of one message each, pipelined: the payloads are the decimal numbers from
 * k->sent on (which is the offset each gets in a fresh stream). */
static void append_many(strom_client *c, const char *path, uint32_t n, struct counted *k) {
    char buf[32];
    for (uint32_t i = k->sent; i < k->sent + n; i++) {
        snprintf(buf, sizeof buf, "%u", i);
        struct strom_msg m = text_msg(buf);
        strom_err err;
        while ((err = strom_append_async(c, path, &m, 1, 0, on_append, k)) == STROM_ERR_AGAIN) {
            cr_assert_eq(strom_step(c, 100000000), STROM_OK);
        }
        cr_assert_eq(err, STROM_OK);
    }
    k->sent += n;
    cr_assert_eq(strom_drain(c, UINT64_C(20000000000)), STROM_OK);
}

Test(client, pipelined_appends_are_dense_and_in_order) {
    strom_client *c = start(&(struct fake_node_config){0});
    struct counted k = {.dense = true};
    append_many(c, "/p", 5000, &k);
    cr_assert_eq(k.answers, 5000);
    cr_assert_eq(k.errors, 0);
    cr_assert(k.dense);
    cr_assert_eq(strom_inflight(c), 0);
    stop(c);
}

struct seen {
    uint64_t count;
    uint64_t next; /* the offset the next message must have */
    bool in_order;
    bool payload_ok; /* payload == decimal offset */
    bool ended;
    strom_err end_err;
    uint64_t stop_after; /* close the subscription from its callback after this many */
};

static void on_msg(void *arg, strom_sub *sub, const struct strom_msg *m, strom_err err) {
    struct seen *s = arg;
    if (m == NULL) {
        s->ended = true;
        s->end_err = err;
        return;
    }
    char want[32];
    snprintf(want, sizeof want, "%llu", (unsigned long long)m->offset);
    s->payload_ok = s->payload_ok && m->payload_bytes == strlen(want) &&
                    memcmp(m->payload, want, m->payload_bytes) == 0;
    s->in_order = s->in_order && m->offset == s->next;
    s->next = m->offset + 1;
    s->count++;
    (void)sub;
}

Test(client, read_to_the_end_and_from_the_middle) {
    strom_client *c = start(&(struct fake_node_config){0});
    struct counted k = {.dense = true};
    append_many(c, "/r", 1000, &k);
    struct seen s = {.in_order = true, .payload_ok = true};
    uint64_t next = 0;
    cr_assert_eq(strom_read(c, "/r", NULL, on_msg, &s, &next), STROM_OK);
    cr_assert_eq(s.count, 1000);
    cr_assert(s.in_order && s.payload_ok && s.ended);
    cr_assert_eq(next, 1000);
    struct strom_read_options ro;
    strom_read_options_init(&ro);
    ro.from = 990;
    ro.to = 995;
    s = (struct seen){.next = 990, .in_order = true, .payload_ok = true};
    cr_assert_eq(strom_read(c, "/r", &ro, on_msg, &s, &next), STROM_OK);
    cr_assert_eq(s.count, 5);
    cr_assert(s.in_order && s.payload_ok);
    s = (struct seen){.in_order = true, .payload_ok = true};
    cr_assert_eq(strom_read(c, "/nope", NULL, on_msg, &s, NULL), STROM_ERR_NO_STREAM);
    cr_assert_eq(s.end_err, STROM_ERR_NO_STREAM);
    stop(c);
}

Test(client, follow_with_small_credit_in_both_modes) {
    strom_client *c = start(&(struct fake_node_config){0});
    struct strom_read_options ro;
    strom_read_options_init(&ro);
    ro.follow = true;
    ro.credit_bytes = 64; /* a few messages at a time: credit must be granted again and again */
    struct seen s = {.in_order = true, .payload_ok = true};
    struct counted k = {.dense = true};
    append_many(c, "/f", 1, &k); /* the stream exists before the subscriptions */
    strom_sub *cb = NULL;
    strom_sub *pull = NULL;
    cr_assert_eq(strom_subscribe(c, "/f", &ro, on_msg, &s, &cb), STROM_OK);
    cr_assert_eq(strom_subscribe(c, "/f", &ro, NULL, NULL, &pull), STROM_OK);
    append_many(c, "/f", 999, &k);
    for (int i = 0; i < 1000 && s.count < 1000; i++) {
        strom_step(c, 10000000);
    }
    cr_assert_eq(s.count, 1000);
    cr_assert(s.in_order && s.payload_ok);
    for (uint64_t want = 0; want < 1000; want++) {
        struct strom_msg m;
        cr_assert_eq(strom_sub_next(c, pull, &m, UINT64_C(5000000000)), STROM_OK, "at %llu",
                     (unsigned long long)want);
        cr_assert_eq(m.offset, want);
    }
    struct strom_msg m;
    cr_assert_eq(strom_sub_next(c, pull, &m, 10000000), STROM_ERR_TIMEOUT);
    cr_assert_eq(strom_sub_next_offset(pull), 1000);
    strom_sub_close(c, cb);
    strom_sub_close(c, pull);
    cr_assert_eq(strom_ping(c, NULL), STROM_OK);
    stop(c);
}

Test(client, a_subscription_from_the_end_gets_only_new_messages_in_both_modes) {
    strom_client *c = start(&(struct fake_node_config){0});
    struct counted k = {.dense = true};
    append_many(c, "/e", 10, &k); /* before the subscriptions: not theirs */
    struct strom_read_options ro;
    strom_read_options_init(&ro);
    ro.from = STROM_OFFSET_END;
    ro.follow = true;
    struct seen s = {.next = 10, .in_order = true, .payload_ok = true};
    strom_sub *cb = NULL;
    strom_sub *pull = NULL;
    cr_assert_eq(strom_subscribe(c, "/e", &ro, on_msg, &s, &cb), STROM_OK);
    cr_assert_eq(strom_subscribe(c, "/e", &ro, NULL, NULL, &pull), STROM_OK);
    cr_assert_eq(strom_ping(c, NULL), STROM_OK); /* both reads are open at the node */
    append_many(c, "/e", 5, &k);
    for (int i = 0; i < 1000 && s.count < 5; i++) {
        strom_step(c, 10000000);
    }
    cr_assert_eq(s.count, 5, "the callback saw the new messages only");
    cr_assert(s.in_order && s.payload_ok);
    for (uint64_t want = 10; want < 15; want++) {
        struct strom_msg m;
        cr_assert_eq(strom_sub_next(c, pull, &m, UINT64_C(5000000000)), STROM_OK);
        cr_assert_eq(m.offset, want);
    }
    strom_sub_close(c, cb);
    strom_sub_close(c, pull);
    stop(c);
}

/* The fake node closes the connection after applying every 7th append without answering it:
 * libstrom reconnects and retries, and the node answers the retry with the first offsets. */
Test(client, reconnect_retries_appends_once) {
    strom_client *c = start(&(struct fake_node_config){.drop_after_append = 7, .drop_every = 7});
    struct counted k = {.dense = true};
    append_many(c, "/retry", 300, &k);
    cr_assert_eq(k.answers, 300);
    cr_assert_eq(k.errors, 0);
    cr_assert(k.dense, "every batch answered once, offsets dense");
    struct seen s = {.in_order = true, .payload_ok = true};
    cr_assert_eq(strom_read(c, "/retry", NULL, on_msg, &s, NULL), STROM_OK);
    cr_assert_eq(s.count, 300, "no batch applied twice");
    cr_assert(s.payload_ok && s.in_order);
    stop(c);
}

/* An append sent again after a reconnect is marked retry: a node that forgot its producer
 * refuses it (it may have been applied) instead of applying it twice; the next append works. */
Test(client, a_retry_is_marked_and_a_forgotten_one_is_not_applied_twice) {
    strom_client *c =
        start(&(struct fake_node_config){.drop_after_append = 1, .forget_producers = true});
    struct strom_msg m = text_msg("once");
    struct strom_append_result r;
    cr_assert_eq(strom_append(c, "/forgot", &m, 1, STROM_ACK_DEFAULT, &r),
                 STROM_ERR_SEQUENCE_TOO_OLD, "the retry was not refused");
    cr_assert_eq(strom_append(c, "/forgot", &m, 1, STROM_ACK_DEFAULT, &r), STROM_OK);
    cr_assert_eq(r.base_offset, 1, "the first copy is there once, the refused retry is not");
    stop(c);
}

Test(client, subscription_resumes_after_a_reconnect) {
    strom_client *c = start(&(struct fake_node_config){.drop_after_append = 50, .drop_every = 50});
    struct strom_read_options ro;
    strom_read_options_init(&ro);
    ro.follow = true;
    struct counted k = {.dense = true};
    append_many(c, "/s", 1, &k);
    struct seen s = {.in_order = true, .payload_ok = true};
    strom_sub *sub = NULL;
    cr_assert_eq(strom_subscribe(c, "/s", &ro, on_msg, &s, &sub), STROM_OK);
    append_many(c, "/s", 299, &k);
    for (int i = 0; i < 1000 && s.count < 300; i++) {
        strom_step(c, 10000000);
    }
    cr_assert_eq(s.count, 300);
    cr_assert(s.in_order && s.payload_ok, "each offset once, in order, across reconnects");
    strom_sub_close(c, sub);
    stop(c);
}

static void on_stream(void *arg, const struct strom_stream_info *info) {
    uint32_t *n = arg;
    char want[32];
    snprintf(want, sizeof want, "/l/%u", *n);
    cr_assert_str_eq(info->path, want);
    (*n)++;
}

Test(client, list_pages_through_every_stream) {
    strom_client *c = start(&(struct fake_node_config){.list_page_max = 7});
    for (uint32_t i = 0; i < 30; i++) {
        char path[32];
        snprintf(path, sizeof path, "/l/%u", i);
        cr_assert_eq(strom_create(c, path, NULL, NULL), STROM_OK);
    }
    cr_assert_eq(strom_create(c, "/other", NULL, NULL), STROM_OK);
    uint32_t n = 0;
    cr_assert_eq(strom_list(c, "/l/", on_stream, &n), STROM_OK);
    cr_assert_eq(n, 30);
    stop(c);
}

Test(client, gives_up_when_the_node_is_gone) {
    uint16_t port = 0;
    node_pid = fake_node_start(&(struct fake_node_config){0}, &port);
    snprintf(server, sizeof server, "127.0.0.1:%u", port);
    struct strom_options o;
    strom_options_init(&o);
    o.server = server;
    o.reconnect_timeout_ns = 200000000;
    strom_client *c = NULL;
    cr_assert_eq(strom_open(&o, &c), STROM_OK);
    fake_node_stop(node_pid);
    struct strom_msg m = text_msg("x");
    struct strom_append_result r;
    cr_assert_eq(strom_append(c, "/g", &m, 1, 0, &r), STROM_ERR_NOT_CONNECTED);
    strom_close(c);
    o.server = "127.0.0.1:notaport";
    cr_assert_eq(strom_open(&o, &c), STROM_ERR_INVALID_ARGUMENT);
    o.server = server;
    cr_assert_eq(strom_open(&o, &c), STROM_ERR_NOT_CONNECTED);
}

/* A server on 127.0.0.1 that is no strom node: it accepts one connection, sends banner (NULL:
 * nothing), then reads what comes until the client closes (until_close) or until it has some
 * bytes, and exits (at most 30 s: alarm). Returns its pid; *port gets its port. */
static pid_t fake_server_start(const char *banner, bool until_close, uint16_t *port) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    cr_assert(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 4) == 0 &&
              getsockname(lfd, (struct sockaddr *)&a, &alen) == 0);
    *port = ntohs(a.sin_port);
    pid_t pid = fork();
    if (pid != 0) {
        close(lfd);
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(30);
    int fd = accept(lfd, NULL, NULL);
    if (banner != NULL && write(fd, banner, strlen(banner)) < 0) {
        _exit(1);
    }
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0 && until_close) {
    }
    _exit(0);
}

/* strom_open says what answered when it is not a strom node (strom's CLI turns this into "pass
 * the node's native port"), instead of NOT_CONNECTED as if nothing listened there. */
Test(client, open_says_when_no_strom_node_answers) {
    const char *banners[] = {"SSH-2.0-OpenSSH_9.6\r\n", NULL};
    const strom_err want[] = {STROM_ERR_PROTOCOL, STROM_ERR_CLOSED};
    for (int i = 0; i < 2; i++) {
        uint16_t port = 0;
        pid_t pid = fake_server_start(banners[i], banners[i] != NULL, &port);
        snprintf(server, sizeof server, "127.0.0.1:%u", port);
        struct strom_options o;
        strom_options_init(&o);
        o.server = server;
        strom_client *c = NULL;
        cr_assert_eq(strom_open(&o, &c), want[i], "banner %d", i);
        cr_assert_null(c);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* The Linux io with fd_wait wrapped to record the longest wait asked for. */
struct waits_io {
    struct io io; /* first: the client calls through it */
    struct io_vtable vt;
    const struct io_vtable *linux_vt;
    uint64_t wait_max_ns;
};

static strom_err waits_fd_wait(struct io *io, int fd, uint32_t events, uint64_t timeout_ns,
                               uint32_t *ready) {
    struct waits_io *w = (struct waits_io *)io;
    w->wait_max_ns = timeout_ns > w->wait_max_ns ? timeout_ns : w->wait_max_ns;
    return w->linux_vt->fd_wait(io, fd, events, timeout_ns, ready);
}

/* A listener that accepts and never answers: strom_open ends with TIMEOUT after the hello's
 * connect_timeout_ns, and never waits for the (much longer) request timeout. */
Test(client, open_gives_up_on_a_silent_listener_after_the_connect_timeout) {
    struct waits_io w = {0};
    io_linux_init(&w.io);
    w.linux_vt = w.io.vt;
    w.vt = *w.io.vt;
    w.vt.fd_wait = waits_fd_wait;
    w.io.vt = &w.vt;
    uint16_t port = 0;
    pid_t pid = fake_server_start(NULL, true, &port);
    snprintf(server, sizeof server, "127.0.0.1:%u", port);
    struct strom_options o;
    strom_options_init(&o);
    o.server = server;
    o.connect_timeout_ns = 200000000;
    o.request_timeout_ns = UINT64_C(5000000000);
    o.io = &w.io;
    strom_client *c = NULL;
    cr_assert_eq(strom_open(&o, &c), STROM_ERR_TIMEOUT);
    cr_assert_null(c);
    cr_assert(w.wait_max_ns > 0 && w.wait_max_ns <= o.connect_timeout_ns, "longest wait %lu ns",
              (unsigned long)w.wait_max_ns);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}
