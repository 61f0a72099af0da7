/*
 * sim_net.c: the simulator's descriptors (see sim.h): TCP listeners and connections, pollers
 * (level-triggered, like epoll) and events (like eventfd).
 *
 * A descriptor is SIM_FD_BASE + its slot in w->objs. A connection has two pipes, one per
 * direction; a send copies bytes into the writer's pipe and schedules their arrival after the
 * network delay, never before bytes sent earlier (TCP keeps order); until then the reader does
 * not see them. A new connection reaches its listener's backlog after one delay too.
 *
 * Readiness changes (arrival, space freed, a close, a reset, an event signalled) go through
 * sim_obj_changed, which wakes the processes waiting on the descriptor, directly (fd_wait) or
 * through a poller that holds it, and schedules the notify callback of a client's socket. A woken
 * process looks again: a wake-up is a hint, not a promise (as with futexes).
 *
 * A process's death resets its sockets (the peer sees CLOSED at once, in-flight bytes lost), as a
 * killed process's or a crashed machine's connections are reset by the peer's next segment.
 */
#include "sim/sim_internal.h"

#include <stdlib.h>
#include <string.h>

#include "base/assert.h"

#define SIM_EPHEMERAL_PORT_FIRST 40000u

strom_err sim_net_init(struct sim_world *w) {
    w->objs = calloc(SIM_OBJS_MAX, sizeof *w->objs);
    w->conns = calloc(SIM_CONNS_MAX, sizeof *w->conns);
    if (!w->objs || !w->conns) {
        free(w->objs);
        free(w->conns);
        return STROM_ERR_NO_MEMORY;
    }
    return STROM_OK;
}

static void conn_free(struct sim_world *w, struct sim_conn *c) {
    free(c->dir[0].buf);
    free(c->dir[1].buf);
    uint64_t gen = c->gen;
    memset(c, 0, sizeof *c);
    c->gen = gen + 1;
    w->conn_count--;
}

void sim_net_free(struct sim_world *w) {
    for (uint32_t i = 0; w->objs && i < SIM_OBJS_MAX; i++) {
        free(w->objs[i].regs);
    }
    for (uint32_t i = 0; w->conns && i < SIM_CONNS_MAX; i++) {
        if (w->conns[i].used) {
            conn_free(w, &w->conns[i]);
        }
    }
    free(w->objs);
    free(w->conns);
}

struct sim_obj *sim_obj_get(struct sim_world *w, int fd) {
    if (fd < SIM_FD_BASE || fd >= SIM_FD_BASE + SIM_OBJS_MAX) {
        return NULL;
    }
    struct sim_obj *o = &w->objs[fd - SIM_FD_BASE];
    return o->kind == SIM_OBJ_FREE ? NULL : o;
}

static int obj_alloc(struct sim_world *w, enum sim_obj_kind kind, uint32_t node, int32_t owner) {
    for (uint32_t k = 0; k < SIM_OBJS_MAX; k++) {
        uint32_t i = (w->obj_next + k) % SIM_OBJS_MAX;
        struct sim_obj *o = &w->objs[i];
        if (o->kind == SIM_OBJ_FREE) {
            uint64_t gen = o->gen;
            memset(o, 0, sizeof *o);
            o->gen = gen + 1;
            o->kind = kind;
            o->node = node;
            o->owner = owner;
            w->obj_next = (i + 1) % SIM_OBJS_MAX;
            return SIM_FD_BASE + (int)i;
        }
    }
    return -1;
}

static int32_t owner_of(const struct sim_proc *p) {
    return p->state == SIM_PROC_SUPERVISOR ? -1 : (int32_t)p->index;
}

/* --- readiness ------------------------------------------------------------------------------ */

static uint32_t socket_ready(const struct sim_world *w, const struct sim_obj *o) {
    const struct sim_conn *c = &w->conns[o->conn];
    if (c->reset) {
        return IO_POLL_IN | IO_POLL_OUT | IO_POLL_ERR;
    }
    const struct sim_pipe *in = &c->dir[1 - o->side];
    const struct sim_pipe *out = &c->dir[o->side];
    uint32_t bits = 0;
    if (in->visible > in->read || (in->fin && in->visible == in->written)) {
        bits |= IO_POLL_IN;
    }
    bool peer_gone = c->accepted && c->fd[1 - o->side] < 0;
    if (peer_gone || out->written - out->read < SIM_PIPE_BYTES) {
        bits |= IO_POLL_OUT;
    }
    return bits;
}

uint32_t sim_obj_ready(struct sim_world *w, int fd) {
    struct sim_obj *o = sim_obj_get(w, fd);
    if (!o) {
        return IO_POLL_ERR;
    }
    switch (o->kind) {
    case SIM_OBJ_LISTENER:
        return o->backlog_count > 0 ? IO_POLL_IN : 0;
    case SIM_OBJ_SOCKET:
        return socket_ready(w, o);
    case SIM_OBJ_POLLER:
        return sim_net_poller_ready(w, fd, NULL, 0) > 0 ? IO_POLL_IN : 0;
    case SIM_OBJ_EVENT:
        return (o->signalled ? IO_POLL_IN : 0) | IO_POLL_OUT;
    case SIM_OBJ_FREE:
        break;
    }
    return IO_POLL_ERR;
}

static bool poller_holds(const struct sim_obj *poller, int fd) {
    for (uint32_t i = 0; i < poller->reg_count; i++) {
        if (poller->regs[i].fd == fd) {
            return true;
        }
    }
    return false;
}

static void notify_fire(struct sim_world *w, void *arg, uint64_t data) {
    struct sim_obj *o = arg;
    int fd = SIM_FD_BASE + (int)(o - w->objs);
    if (o->kind == SIM_OBJ_SOCKET && o->gen == data && o->notify) {
        o->notify(w, o->notify_arg, fd);
    }
}

void sim_obj_changed(struct sim_world *w, int fd) {
    struct sim_obj *o = sim_obj_get(w, fd);
    if (!o) {
        return;
    }
    if (o->notify) {
        sim_timer_at(w, w->now_ns, notify_fire, o, o->gen);
        return;
    }
    for (uint32_t i = 0; i < w->proc_hi; i++) {
        struct sim_proc *p = &w->procs[i];
        if (p->state != SIM_PROC_BLOCKED || p->node != o->node) {
            continue;
        }
        if (p->wait == SIM_WAIT_FD && p->wait_fd == fd) {
            sim_wake(w, p);
        } else if (p->wait == SIM_WAIT_POLLER) {
            struct sim_obj *poller = sim_obj_get(w, p->wait_fd);
            if (poller && poller_holds(poller, fd)) {
                sim_wake(w, p);
            }
        }
    }
}

/* --- connections ---------------------------------------------------------------------------- */

static void conn_reset(struct sim_world *w, struct sim_conn *c) {
    if (c->reset) {
        return;
    }
    c->reset = true;
    w->stats.resets++;
    sim_trace(w, "conn.reset", (uint64_t)(c - w->conns), (uint64_t)c->fd[0], (uint64_t)c->fd[1]);
    for (int s = 0; s < 2; s++) {
        if (c->fd[s] >= 0) {
            sim_obj_changed(w, c->fd[s]);
        }
    }
}

/* Frees c when neither end holds a descriptor any more and no listener still holds it. */
static void conn_maybe_free(struct sim_world *w, struct sim_conn *c) {
    if (c->fd[0] < 0 && c->fd[1] < 0 && c->listener_fd < 0) {
        conn_free(w, c);
    }
}

static void arrive(struct sim_world *w, void *arg, uint64_t data) {
    struct sim_conn *c = arg;
    uint64_t gen = data >> 40;
    uint32_t side = (uint32_t)(data >> 39) & 1u;
    uint64_t end = data & ((UINT64_C(1) << 39) - 1);
    if (!c->used || (c->gen & 0xffffffu) != gen || c->reset) {
        return;
    }
    if (w->now_ns < c->stall_until_ns) {
        /* Dropped: TCP sends the segment again, and it arrives once the path carries packets. */
        sim_timer_at(w, c->stall_until_ns, arrive, c, data);
        return;
    }
    struct sim_pipe *pp = &c->dir[side];
    if (end > pp->visible) {
        pp->visible = end;
    }
    if (c->fd[1 - side] >= 0) {
        sim_obj_changed(w, c->fd[1 - side]);
    }
}

static uint64_t net_delay(struct sim_world *w) {
    const struct sim_latency *l = &w->latency;
    return l->net_delay_min_ns + rng_below(&w->rng, l->net_delay_max_ns - l->net_delay_min_ns + 1);
}

/* The listener's backlog takes c after the connect's delay; a gone listener refuses it. */
static void syn_arrive(struct sim_world *w, void *arg, uint64_t gen) {
    struct sim_conn *c = arg;
    if (!c->used || c->gen != gen) {
        return;
    }
    struct sim_obj *l = sim_obj_get(w, c->listener_fd);
    if (c->reset || !l || l->kind != SIM_OBJ_LISTENER || l->backlog_count >= l->backlog_max) {
        c->listener_fd = -1;
        conn_reset(w, c);
        conn_maybe_free(w, c);
        return;
    }
    l->backlog[(l->backlog_head + l->backlog_count) % SIM_BACKLOG_MAX] = (uint32_t)(c - w->conns);
    l->backlog_count++;
    sim_obj_changed(w, c->listener_fd);
}

static struct sim_conn *conn_alloc(struct sim_world *w) {
    for (uint32_t k = 0; k < SIM_CONNS_MAX; k++) {
        uint32_t i = (w->conn_next + k) % SIM_CONNS_MAX;
        struct sim_conn *c = &w->conns[i];
        if (!c->used) {
            c->dir[0].buf = malloc(SIM_PIPE_BYTES);
            c->dir[1].buf = malloc(SIM_PIPE_BYTES);
            strom_assert(c->dir[0].buf && c->dir[1].buf);
            c->used = true;
            c->fd[0] = c->fd[1] = c->listener_fd = -1;
            w->conn_next = (i + 1) % SIM_CONNS_MAX;
            w->conn_count++;
            return c;
        }
    }
    return NULL;
}

/* A listener of node:port picked at random among those that share the port; -1 if none. */
static int listener_find(struct sim_world *w, uint32_t node, uint16_t port) {
    int found[SIM_PROCS_MAX];
    uint32_t n = 0;
    for (uint32_t i = 0; i < SIM_OBJS_MAX && n < SIM_PROCS_MAX; i++) {
        struct sim_obj *o = &w->objs[i];
        if (o->kind == SIM_OBJ_LISTENER && o->node == node && o->port == port) {
            found[n++] = SIM_FD_BASE + (int)i;
        }
    }
    return n == 0 ? -1 : found[n == 1 ? 0 : rng_below(&w->rng, n)];
}

strom_err sim_net_connect(struct sim_world *w, uint32_t from_node, int32_t owner, uint32_t node,
                          uint16_t port, int *fd_out) {
    int lfd = listener_find(w, node, port);
    if (lfd < 0) {
        sim_trace(w, "conn.refused", node, port, 0);
        return STROM_ERR_NOT_CONNECTED;
    }
    struct sim_conn *c = conn_alloc(w);
    int fd = c ? obj_alloc(w, SIM_OBJ_SOCKET, from_node, owner) : -1;
    if (fd < 0) {
        if (c) {
            conn_free(w, c);
        }
        return STROM_ERR_LIMIT;
    }
    struct sim_obj *o = sim_obj_get(w, fd);
    o->conn = (uint32_t)(c - w->conns);
    o->side = 0;
    c->fd[0] = fd;
    c->listener_fd = lfd;
    w->stats.conns++;
    sim_trace(w, "conn.open", o->conn, (uint64_t)fd, (uint64_t)lfd);
    sim_timer_at(w, w->now_ns + net_delay(w), syn_arrive, c, c->gen);
    *fd_out = fd;
    return STROM_OK;
}

strom_err sim_net_listen(struct sim_world *w, struct sim_proc *p, uint16_t port, uint32_t backlog,
                         int *fd_out, uint16_t *port_out) {
    if (port == 0) {
        for (port = SIM_EPHEMERAL_PORT_FIRST; listener_find(w, p->node, port) >= 0; port++) {
        }
    }
    int fd = obj_alloc(w, SIM_OBJ_LISTENER, p->node, owner_of(p));
    if (fd < 0) {
        return STROM_ERR_LIMIT;
    }
    struct sim_obj *o = sim_obj_get(w, fd);
    o->port = port;
    o->backlog_max = backlog == 0 || backlog > SIM_BACKLOG_MAX ? SIM_BACKLOG_MAX : backlog;
    sim_trace(w, "net.listen", p->node, port, (uint64_t)fd);
    *fd_out = fd;
    if (port_out) {
        *port_out = port;
    }
    return STROM_OK;
}

strom_err sim_net_probe(struct sim_world *w, uint32_t node, uint16_t port, uint16_t *port_out) {
    if (port == 0) {
        for (port = SIM_EPHEMERAL_PORT_FIRST; listener_find(w, node, port) >= 0; port++) {
        }
    }
    if (port_out) {
        *port_out = port;
    }
    return listener_find(w, node, port) >= 0 ? STROM_ERR_EXISTS : STROM_OK;
}

strom_err sim_net_accept(struct sim_world *w, struct sim_proc *p, int lfd, int *fd_out) {
    struct sim_obj *l = sim_obj_get(w, lfd);
    if (!l || l->kind != SIM_OBJ_LISTENER) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    if (l->backlog_count == 0) {
        return STROM_ERR_AGAIN;
    }
    int fd = obj_alloc(w, SIM_OBJ_SOCKET, p->node, owner_of(p));
    if (fd < 0) {
        return STROM_ERR_LIMIT;
    }
    l = sim_obj_get(w, lfd); /* the table did not move, but keep the view fresh */
    uint32_t ci = l->backlog[l->backlog_head];
    l->backlog_head = (l->backlog_head + 1) % SIM_BACKLOG_MAX;
    l->backlog_count--;
    struct sim_conn *c = &w->conns[ci];
    struct sim_obj *o = sim_obj_get(w, fd);
    o->conn = ci;
    o->side = 1;
    c->fd[1] = fd;
    c->accepted = true;
    c->listener_fd = -1;
    sim_trace(w, "conn.accept", ci, (uint64_t)fd, (uint64_t)lfd);
    *fd_out = fd;
    return STROM_OK;
}

static struct sim_obj *socket_get(struct sim_world *w, int fd) {
    struct sim_obj *o = sim_obj_get(w, fd);
    return o && o->kind == SIM_OBJ_SOCKET ? o : NULL;
}

strom_err sim_net_recv(struct sim_world *w, int fd, void *buf, size_t len, size_t *got) {
    struct sim_obj *o = socket_get(w, fd);
    *got = 0;
    if (!o) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    struct sim_conn *c = &w->conns[o->conn];
    struct sim_pipe *in = &c->dir[1 - o->side];
    if (c->reset) {
        return STROM_ERR_CLOSED;
    }
    uint64_t avail = in->visible - in->read;
    if (avail == 0) {
        return in->fin && in->visible == in->written ? STROM_ERR_CLOSED : STROM_ERR_AGAIN;
    }
    size_t n = avail < len ? (size_t)avail : len;
    for (size_t done = 0; done < n;) {
        size_t at = (size_t)((in->read + done) % SIM_PIPE_BYTES);
        size_t run = SIM_PIPE_BYTES - at < n - done ? SIM_PIPE_BYTES - at : n - done;
        memcpy((uint8_t *)buf + done, in->buf + at, run);
        done += run;
    }
    in->read += n;
    *got = n;
    if (c->fd[1 - o->side] >= 0) {
        sim_obj_changed(w, c->fd[1 - o->side]); /* the writer has room again */
    }
    return STROM_OK;
}

strom_err sim_net_send(struct sim_world *w, int fd, const struct io_iov *iov, uint32_t n,
                       size_t *sent) {
    struct sim_obj *o = socket_get(w, fd);
    *sent = 0;
    if (!o) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    struct sim_conn *c = &w->conns[o->conn];
    struct sim_pipe *out = &c->dir[o->side];
    if (c->reset || (c->accepted && c->fd[1 - o->side] < 0) || out->fin) {
        return STROM_ERR_CLOSED;
    }
    uint64_t room = SIM_PIPE_BYTES - (out->written - out->read);
    uint64_t done = 0;
    for (uint32_t i = 0; i < n && done < room; i++) {
        const uint8_t *src = iov[i].base;
        size_t take = iov[i].len < room - done ? iov[i].len : (size_t)(room - done);
        for (size_t k = 0; k < take;) {
            size_t at = (size_t)((out->written + done + k) % SIM_PIPE_BYTES);
            size_t run = SIM_PIPE_BYTES - at < take - k ? SIM_PIPE_BYTES - at : take - k;
            memcpy(out->buf + at, src + k, run);
            k += run;
        }
        done += take;
    }
    if (done == 0) {
        return STROM_ERR_AGAIN;
    }
    out->written += done;
    uint64_t at_ns = w->now_ns + net_delay(w);
    at_ns = at_ns < out->last_arrive_ns ? out->last_arrive_ns : at_ns;
    out->last_arrive_ns = at_ns;
    strom_assert(out->written < (UINT64_C(1) << 39));
    sim_timer_at(w, at_ns, arrive, c,
                 ((c->gen & 0xffffffu) << 40) | ((uint64_t)o->side << 39) | out->written);
    w->stats.bytes_sent += done;
    *sent = (size_t)done;
    return STROM_OK;
}

static void socket_close(struct sim_world *w, struct sim_obj *o, bool reset) {
    struct sim_conn *c = &w->conns[o->conn];
    int peer = c->fd[1 - o->side];
    c->fd[o->side] = -1;
    c->dir[o->side].fin = true;
    if (reset) {
        conn_reset(w, c);
    } else if (peer >= 0) {
        sim_obj_changed(w, peer);
    }
    conn_maybe_free(w, c);
}

static void listener_close(struct sim_world *w, struct sim_obj *o) {
    while (o->backlog_count > 0) {
        struct sim_conn *c = &w->conns[o->backlog[o->backlog_head]];
        o->backlog_head = (o->backlog_head + 1) % SIM_BACKLOG_MAX;
        o->backlog_count--;
        c->listener_fd = -1;
        conn_reset(w, c);
        conn_maybe_free(w, c);
    }
}

/* Drops fd from every poller of node (epoll forgets a closed descriptor). */
static void pollers_forget(struct sim_world *w, uint32_t node, int fd) {
    for (uint32_t i = 0; i < SIM_OBJS_MAX; i++) {
        struct sim_obj *p = &w->objs[i];
        if (p->kind != SIM_OBJ_POLLER || p->node != node) {
            continue;
        }
        for (uint32_t r = 0; r < p->reg_count; r++) {
            if (p->regs[r].fd == fd) {
                p->regs[r] = p->regs[--p->reg_count];
                break;
            }
        }
    }
}

static void obj_close(struct sim_world *w, int fd, bool reset) {
    struct sim_obj *o = sim_obj_get(w, fd);
    strom_assert(o != NULL);
    sim_trace(w, "fd.close", (uint64_t)fd, o->kind, reset);
    if (o->kind == SIM_OBJ_SOCKET) {
        socket_close(w, o, reset);
    } else if (o->kind == SIM_OBJ_LISTENER) {
        listener_close(w, o);
    } else if (o->kind == SIM_OBJ_POLLER) {
        free(o->regs);
        o->regs = NULL;
    }
    uint32_t node = o->node;
    bool was_poller = o->kind == SIM_OBJ_POLLER;
    o->kind = SIM_OBJ_FREE;
    o->notify = NULL;
    if (!was_poller && node < SIM_NODES_MAX) {
        pollers_forget(w, node, fd);
    }
}

strom_err sim_net_close(struct sim_world *w, int fd) {
    if (!sim_obj_get(w, fd)) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    obj_close(w, fd, false);
    return STROM_OK;
}

void sim_net_close_owned(struct sim_world *w, uint32_t node, int32_t owner) {
    for (uint32_t i = 0; i < SIM_OBJS_MAX; i++) {
        struct sim_obj *o = &w->objs[i];
        if (o->kind != SIM_OBJ_FREE && o->node == node && (owner == -2 || o->owner == owner)) {
            obj_close(w, SIM_FD_BASE + (int)i, true);
        }
    }
}

/* --- pollers ---------------------------------------------------------------------------------- */

strom_err sim_net_poller_create(struct sim_world *w, struct sim_proc *p, int *fd_out) {
    int fd = obj_alloc(w, SIM_OBJ_POLLER, p->node, owner_of(p));
    if (fd < 0) {
        return STROM_ERR_LIMIT;
    }
    struct sim_obj *o = sim_obj_get(w, fd);
    o->regs = calloc(SIM_POLL_REGS_MAX, sizeof *o->regs);
    strom_assert(o->regs != NULL);
    *fd_out = fd;
    return STROM_OK;
}

strom_err sim_net_poller_control(struct sim_world *w, int poller, enum io_poll_op op, int fd,
                                 uint32_t events, uint64_t token) {
    struct sim_obj *o = sim_obj_get(w, poller);
    if (!o || o->kind != SIM_OBJ_POLLER || !sim_obj_get(w, fd)) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    uint32_t r = 0;
    while (r < o->reg_count && o->regs[r].fd != fd) {
        r++;
    }
    bool found = r < o->reg_count;
    if (op == IO_POLL_ADD) {
        if (found) {
            return STROM_ERR_EXISTS;
        }
        if (o->reg_count >= SIM_POLL_REGS_MAX) {
            return STROM_ERR_LIMIT;
        }
        o->regs[o->reg_count++] = (struct sim_poll_reg){.fd = fd, .events = events, .token = token};
    } else if (!found) {
        return STROM_ERR_NOT_FOUND;
    } else if (op == IO_POLL_MODIFY) {
        o->regs[r].events = events;
        o->regs[r].token = token;
    } else {
        o->regs[r] = o->regs[--o->reg_count];
    }
    return STROM_OK;
}

uint32_t sim_net_poller_ready(struct sim_world *w, int poller, struct io_poll_event *events,
                              uint32_t max) {
    struct sim_obj *o = sim_obj_get(w, poller);
    strom_assert(o && o->kind == SIM_OBJ_POLLER);
    uint32_t n = 0;
    uint32_t start = o->reg_count > 1 && events ? (uint32_t)rng_below(&w->rng, o->reg_count) : 0;
    for (uint32_t k = 0; k < o->reg_count; k++) {
        const struct sim_poll_reg *r = &o->regs[(start + k) % o->reg_count];
        uint32_t bits = sim_obj_ready(w, r->fd) & (r->events | IO_POLL_ERR);
        if (bits == 0) {
            continue;
        }
        if (!events) {
            return 1;
        }
        if (n == max) {
            break;
        }
        events[n++] = (struct io_poll_event){.token = r->token, .events = bits};
    }
    return n;
}

/* --- events ----------------------------------------------------------------------------------- */

strom_err sim_net_event_create(struct sim_world *w, struct sim_proc *p, int *fd_out) {
    int fd = obj_alloc(w, SIM_OBJ_EVENT, p->node, owner_of(p));
    if (fd < 0) {
        return STROM_ERR_LIMIT;
    }
    *fd_out = fd;
    return STROM_OK;
}

strom_err sim_net_event_signal(struct sim_world *w, int fd) {
    struct sim_obj *o = sim_obj_get(w, fd);
    if (!o || o->kind != SIM_OBJ_EVENT) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    o->signalled = true;
    sim_obj_changed(w, fd);
    return STROM_OK;
}

strom_err sim_net_event_drain(struct sim_world *w, int fd) {
    struct sim_obj *o = sim_obj_get(w, fd);
    if (!o || o->kind != SIM_OBJ_EVENT) {
        return STROM_ERR_INVALID_ARGUMENT;
    }
    o->signalled = false;
    return STROM_OK;
}

/* --- driver-level clients --------------------------------------------------------------------- */

strom_err sim_client_connect(struct sim_world *w, uint32_t node, uint16_t port,
                             sim_notify_fn notify, void *arg, int *fd_out) {
    strom_assert(w->current == NULL && notify != NULL);
    strom_err err = sim_net_connect(w, SIM_NODES_MAX, -1, node, port, fd_out);
    if (!err) {
        struct sim_obj *o = sim_obj_get(w, *fd_out);
        o->notify = notify;
        o->notify_arg = arg;
    }
    return err;
}

strom_err sim_client_send(struct sim_world *w, int fd, const void *buf, size_t len, size_t *sent) {
    struct io_iov iov = {.base = buf, .len = len};
    return sim_net_send(w, fd, &iov, 1, sent);
}

strom_err sim_client_recv(struct sim_world *w, int fd, void *buf, size_t len, size_t *got) {
    return sim_net_recv(w, fd, buf, len, got);
}

void sim_client_close(struct sim_world *w, int fd) {
    if (sim_obj_get(w, fd)) {
        obj_close(w, fd, false);
    }
}

void sim_conn_reset(struct sim_world *w, int fd) {
    struct sim_obj *o = socket_get(w, fd);
    if (o) {
        conn_reset(w, &w->conns[o->conn]);
    }
}

bool sim_conn_reset_random(struct sim_world *w) {
    if (w->conn_count == 0) {
        return false;
    }
    uint32_t pick = (uint32_t)rng_below(&w->rng, w->conn_count);
    for (uint32_t i = 0; i < SIM_CONNS_MAX; i++) {
        struct sim_conn *c = &w->conns[i];
        if (c->used && pick-- == 0) {
            conn_reset(w, c);
            return true;
        }
    }
    return false;
}

/* The end of a drop that TCP gives up on: the connection times out (both ends see CLOSED). */
static void drop_timeout(struct sim_world *w, void *arg, uint64_t gen) {
    struct sim_conn *c = arg;
    if (c->used && c->gen == gen) {
        conn_reset(w, c);
    }
}

bool sim_conn_drop_random(struct sim_world *w, uint64_t drop_ns, bool then_reset) {
    strom_assert(drop_ns > 0);
    if (w->conn_count == 0) {
        return false;
    }
    uint32_t pick = (uint32_t)rng_below(&w->rng, w->conn_count);
    struct sim_conn *c = NULL;
    for (uint32_t i = 0; i < SIM_CONNS_MAX && !c; i++) {
        if (w->conns[i].used && pick-- == 0) {
            c = &w->conns[i];
        }
    }
    strom_assert(c != NULL);
    uint64_t until = w->now_ns + drop_ns;
    c->stall_until_ns = until > c->stall_until_ns ? until : c->stall_until_ns;
    w->stats.drops++;
    sim_trace(w, "conn.drop", (uint64_t)(c - w->conns), drop_ns, then_reset);
    if (then_reset) {
        sim_timer_at(w, until, drop_timeout, c, c->gen);
    }
    return true;
}

uint32_t sim_conn_count(const struct sim_world *w) {
    return w->conn_count;
}
