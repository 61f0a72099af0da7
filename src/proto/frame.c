/*
 * frame.c: frames of the native protocol (see frame.h and docs/protocol.md).
 *
 * Reading goes through a cursor (struct rd) that fails sticky: once a read would pass the end,
 * every later read yields zeros and the decode reports PROTOCOL. Writing goes through a cursor
 * (struct wr) that fails sticky on overflow. Both are little-endian.
 */
#include "proto/frame.h"

#include <string.h>

#include "base/assert.h"

/* --- little-endian cursors ------------------------------------------------------------------ */

struct rd {
    const uint8_t *p;
    size_t left;
    bool bad;     /* read past the end */
    bool too_big; /* a length over its limit */
};

static void rd_take(struct rd *r, void *out, size_t n) {
    if (r->bad || r->left < n) {
        r->bad = true;
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
}

static uint64_t rd_uint(struct rd *r, size_t n) {
    uint8_t b[8];
    rd_take(r, b, n);
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) {
        v = v << 8 | b[i - 1];
    }
    return v;
}

static uint8_t rd_u8(struct rd *r) {
    return (uint8_t)rd_uint(r, 1);
}
static uint16_t rd_u16(struct rd *r) {
    return (uint16_t)rd_uint(r, 2);
}
static uint32_t rd_u32(struct rd *r) {
    return (uint32_t)rd_uint(r, 4);
}
static uint64_t rd_u64(struct rd *r) {
    return rd_uint(r, 8);
}

static bool rd_bool(struct rd *r) {
    uint8_t v = rd_u8(r);
    if (v > 1) {
        r->bad = true;
    }
    return v == 1;
}

/* A u32 length then that many bytes, at most max. */
static struct proto_bytes rd_bytes(struct rd *r, uint32_t max) {
    struct proto_bytes b = {NULL, 0};
    uint32_t len = rd_u32(r);
    if (r->bad) {
        return b;
    }
    if (len > max) {
        r->too_big = true;
        r->bad = true;
        return b;
    }
    if (r->left < len) {
        r->bad = true;
        return b;
    }
    b.ptr = r->p;
    b.len = len;
    r->p += len;
    r->left -= len;
    return b;
}

struct wr {
    uint8_t *p;
    size_t left;
    bool overflow;
};

static void wr_put(struct wr *w, const void *src, size_t n) {
    if (w->overflow || w->left < n) {
        w->overflow = true;
        return;
    }
    if (n > 0) {
        memcpy(w->p, src, n);
    }
    w->p += n;
    w->left -= n;
}

static void wr_uint(struct wr *w, uint64_t v, size_t n) {
    uint8_t b[8];
    for (size_t i = 0; i < n; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
    wr_put(w, b, n);
}

static void wr_bytes(struct wr *w, struct proto_bytes b) {
    wr_uint(w, b.len, 4);
    wr_put(w, b.ptr, b.len);
}

/* --- header ---------------------------------------------------------------------------------- */

strom_err proto_header_read(const uint8_t *buf, size_t len, uint32_t frame_bytes_max,
                            struct proto_header *h) {
    strom_assert(frame_bytes_max >= PROTO_HEADER_BYTES);
    if (len < PROTO_HEADER_BYTES) {
        return STROM_ERR_TRUNCATED;
    }
    struct rd r = {.p = buf, .left = PROTO_HEADER_BYTES};
    h->frame_bytes = rd_u32(&r);
    h->type = rd_u16(&r);
    h->flags = rd_u16(&r);
    h->request_id = rd_u64(&r);
    strom_assert(!r.bad);
    if (h->frame_bytes > frame_bytes_max) {
        return STROM_ERR_TOO_LARGE;
    }
    if (h->frame_bytes < PROTO_HEADER_BYTES || h->flags != 0 || h->type == 0 ||
        h->type >= PROTO_TYPE_COUNT_) {
        return STROM_ERR_PROTOCOL;
    }
    return STROM_OK;
}

void proto_header_write(uint8_t *buf, const struct proto_header *h) {
    struct wr w = {.p = buf, .left = PROTO_HEADER_BYTES};
    wr_uint(&w, h->frame_bytes, 4);
    wr_uint(&w, h->type, 2);
    wr_uint(&w, h->flags, 2);
    wr_uint(&w, h->request_id, 8);
    strom_assert(!w.overflow);
}

/* --- message sets ---------------------------------------------------------------------------- */

/* Reads one header record (name, value) from r. */
static void rd_msg_header(struct rd *r, struct proto_msg_header *h) {
    h->name = rd_bytes(r, PROTO_HEADER_NAME_BYTES_MAX);
    h->value = rd_bytes(r, PROTO_HEADER_VALUE_BYTES_MAX);
}

/* Reads one message; the headers are walked to find where they end. */
static void rd_msg(struct rd *r, struct proto_msg *m) {
    m->client_ts_ns = rd_u64(r);
    m->key = rd_bytes(r, PROTO_KEY_BYTES_MAX);
    m->header_count = rd_u32(r);
    if (m->header_count > PROTO_HEADERS_MAX) {
        r->too_big = true;
        r->bad = true;
    }
    const uint8_t *start = r->p;
    for (uint32_t i = 0; i < m->header_count && !r->bad; i++) {
        struct proto_msg_header h;
        rd_msg_header(r, &h);
    }
    m->headers_raw.ptr = start;
    m->headers_raw.len = r->bad ? 0 : (uint32_t)(r->p - start);
    m->payload = rd_bytes(r, PROTO_FRAME_BYTES_MAX);
}

void proto_msgs_begin(struct proto_msgs_iter *it, struct proto_bytes set, uint32_t count) {
    it->pos = set.ptr;
    it->bytes_left = set.len;
    it->count_left = count;
}

strom_err proto_msgs_next(struct proto_msgs_iter *it, struct proto_msg *m) {
    if (it->count_left == 0) {
        return STROM_ERR_END;
    }
    struct rd r = {.p = it->pos, .left = it->bytes_left};
    rd_msg(&r, m);
    if (r.bad) {
        return r.too_big ? STROM_ERR_TOO_LARGE : STROM_ERR_PROTOCOL;
    }
    it->pos = r.p;
    it->bytes_left = r.left;
    it->count_left--;
    return STROM_OK;
}

strom_err proto_msgs_check(struct proto_bytes set, uint32_t count) {
    if (count == 0 || count > PROTO_MSGS_PER_BATCH_MAX) {
        return count == 0 ? STROM_ERR_PROTOCOL : STROM_ERR_TOO_LARGE;
    }
    struct proto_msgs_iter it;
    proto_msgs_begin(&it, set, count);
    struct proto_msg m;
    strom_err err;
    while ((err = proto_msgs_next(&it, &m)) == STROM_OK) {
    }
    if (err != STROM_ERR_END) {
        return err;
    }
    return it.bytes_left == 0 ? STROM_OK : STROM_ERR_PROTOCOL;
}

strom_err proto_msg_header_at(const struct proto_msg *m, uint32_t index,
                              struct proto_msg_header *h) {
    strom_assert(index < m->header_count);
    struct rd r = {.p = m->headers_raw.ptr, .left = m->headers_raw.len};
    for (uint32_t i = 0; i <= index; i++) {
        rd_msg_header(&r, h);
    }
    return r.bad ? STROM_ERR_PROTOCOL : STROM_OK;
}

size_t proto_msg_bytes(uint32_t key_bytes, uint32_t header_count, const uint32_t *name_bytes,
                       const uint32_t *value_bytes, uint32_t payload_bytes) {
    size_t n = 8 + 4 + (size_t)key_bytes + 4 + 4 + (size_t)payload_bytes;
    for (uint32_t i = 0; i < header_count; i++) {
        n += 8 + (size_t)name_bytes[i] + value_bytes[i];
    }
    return n;
}

strom_err proto_msg_encode(uint8_t *buf, size_t cap, uint64_t client_ts_ns, struct proto_bytes key,
                           const struct proto_msg_header *headers, uint32_t header_count,
                           struct proto_bytes payload, size_t *len_out) {
    if (key.len > PROTO_KEY_BYTES_MAX || header_count > PROTO_HEADERS_MAX ||
        payload.len > PROTO_FRAME_BYTES_MAX) {
        return STROM_ERR_TOO_LARGE;
    }
    for (uint32_t i = 0; i < header_count; i++) {
        if (headers[i].name.len > PROTO_HEADER_NAME_BYTES_MAX ||
            headers[i].value.len > PROTO_HEADER_VALUE_BYTES_MAX) {
            return STROM_ERR_TOO_LARGE;
        }
    }
    struct wr w = {.p = buf, .left = cap};
    wr_uint(&w, client_ts_ns, 8);
    wr_bytes(&w, key);
    wr_uint(&w, header_count, 4);
    for (uint32_t i = 0; i < header_count; i++) {
        wr_bytes(&w, headers[i].name);
        wr_bytes(&w, headers[i].value);
    }
    wr_bytes(&w, payload);
    if (w.overflow) {
        return STROM_ERR_OVERFLOW;
    }
    *len_out = cap - w.left;
    return STROM_OK;
}

/* --- bodies ---------------------------------------------------------------------------------- */

static void rd_stream_info(struct rd *r, struct proto_stream_info *s) {
    s->path = rd_bytes(r, PROTO_PATH_BYTES_MAX);
    s->stream_id = rd_u64(r);
    s->first = rd_u64(r);
    s->next = rd_u64(r);
    s->durable = rd_u64(r);
    s->bytes = rd_u64(r);
}

static void rd_list_answer(struct rd *r, struct proto_list_answer *a) {
    a->error = rd_u32(r);
    a->stream_count = rd_u32(r);
    if (a->stream_count > PROTO_LIST_STREAMS_MAX) {
        r->too_big = true;
        r->bad = true;
        return;
    }
    const uint8_t *start = r->p;
    for (uint32_t i = 0; i < a->stream_count && !r->bad; i++) {
        struct proto_stream_info s;
        rd_stream_info(r, &s);
    }
    a->streams.ptr = start;
    a->streams.len = r->bad ? 0 : (uint32_t)(r->p - start);
    a->more = rd_bool(r);
}

strom_err proto_list_answer_stream(const struct proto_list_answer *a, uint32_t index,
                                   struct proto_stream_info *s) {
    strom_assert(index < a->stream_count);
    struct rd r = {.p = a->streams.ptr, .left = a->streams.len};
    for (uint32_t i = 0; i <= index; i++) {
        rd_stream_info(&r, s);
    }
    return r.bad ? STROM_ERR_PROTOCOL : STROM_OK;
}

/* Decodes the requests (client -> node). */
static void rd_request(struct rd *r, struct proto_frame *f) {
    switch (f->header.type) {
    case PROTO_HELLO:
        f->body.hello.version_min = rd_u16(r);
        f->body.hello.version_max = rd_u16(r);
        f->body.hello.client_name = rd_bytes(r, PROTO_NAME_BYTES_MAX);
        break;
    case PROTO_APPEND: {
        struct proto_append *a = &f->body.append;
        a->stream_id = rd_u64(r);
        a->path = rd_bytes(r, PROTO_PATH_BYTES_MAX);
        a->ack = rd_u8(r);
        a->sync = rd_bool(r);
        a->producer_id = rd_u64(r);
        a->sequence = rd_u64(r);
        a->count = rd_u32(r);
        a->messages = rd_bytes(r, PROTO_FRAME_BYTES_MAX);
        break;
    }
    case PROTO_READ: {
        struct proto_read *q = &f->body.read;
        q->stream_id = rd_u64(r);
        q->path = rd_bytes(r, PROTO_PATH_BYTES_MAX);
        q->from = rd_u64(r);
        q->to = rd_u64(r);
        q->follow = rd_bool(r);
        q->ack = rd_u8(r);
        q->sync = rd_bool(r);
        q->credit_bytes = rd_u64(r);
        break;
    }
    case PROTO_CREDIT:
        f->body.credit.bytes = rd_u64(r);
        break;
    case PROTO_CREATE:
        f->body.create.path = rd_bytes(r, PROTO_PATH_BYTES_MAX);
        break;
    case PROTO_LIST:
        f->body.list.prefix = rd_bytes(r, PROTO_PATH_BYTES_MAX);
        f->body.list.after_id = rd_u64(r);
        f->body.list.count_max = rd_u32(r);
        break;
    case PROTO_PING:
        f->body.ping.value = rd_u64(r);
        break;
    default: /* cancel, stat: empty bodies */
        break;
    }
}

/* Decodes the answers (node -> client). */
static void rd_answer(struct rd *r, struct proto_frame *f) {
    switch (f->header.type) {
    case PROTO_HELLO_ANSWER: {
        struct proto_hello_answer *a = &f->body.hello_answer;
        a->version = rd_u16(r);
        a->node_name = rd_bytes(r, PROTO_NAME_BYTES_MAX);
        a->frame_bytes_max = rd_u32(r);
        a->inflight_max = rd_u32(r);
        a->reads_max = rd_u32(r);
        a->idempotence_window = rd_u32(r);
        break;
    }
    case PROTO_ERROR:
        f->body.error.code = rd_u32(r);
        f->body.error.text = rd_bytes(r, PROTO_ERROR_TEXT_BYTES_MAX);
        break;
    case PROTO_APPEND_ANSWER: {
        struct proto_append_answer *a = &f->body.append_answer;
        a->error = rd_u32(r);
        a->stream_id = rd_u64(r);
        a->base_offset = rd_u64(r);
        a->count = rd_u32(r);
        a->ts_ns = rd_u64(r);
        break;
    }
    case PROTO_DELIVER: {
        struct proto_deliver *d = &f->body.deliver;
        d->stream_id = rd_u64(r);
        d->base_offset = rd_u64(r);
        d->count = rd_u32(r);
        d->ts_ns = rd_u64(r);
        d->messages = rd_bytes(r, PROTO_FRAME_BYTES_MAX);
        break;
    }
    case PROTO_READ_END:
        f->body.read_end.error = rd_u32(r);
        f->body.read_end.next_offset = rd_u64(r);
        break;
    case PROTO_CREATE_ANSWER:
        f->body.create_answer.error = rd_u32(r);
        f->body.create_answer.stream_id = rd_u64(r);
        f->body.create_answer.created = rd_bool(r);
        break;
    case PROTO_LIST_ANSWER:
        rd_list_answer(r, &f->body.list_answer);
        break;
    case PROTO_STAT_ANSWER:
        f->body.stat_answer.error = rd_u32(r);
        f->body.stat_answer.text = rd_bytes(r, PROTO_STAT_TEXT_BYTES_MAX);
        break;
    case PROTO_PONG:
        f->body.ping.value = rd_u64(r);
        break;
    default:
        rd_request(r, f);
        break;
    }
}

strom_err proto_frame_decode(const uint8_t *buf, size_t len, uint32_t frame_bytes_max,
                             struct proto_frame *f) {
    memset(f, 0, sizeof *f);
    strom_err err = proto_header_read(buf, len, frame_bytes_max, &f->header);
    if (err) {
        return err;
    }
    if (f->header.frame_bytes != len) {
        return STROM_ERR_PROTOCOL;
    }
    struct rd r = {.p = buf + PROTO_HEADER_BYTES, .left = len - PROTO_HEADER_BYTES};
    rd_answer(&r, f);
    if (r.bad || r.left != 0) {
        return r.too_big ? STROM_ERR_TOO_LARGE : STROM_ERR_PROTOCOL;
    }
    if (f->header.type == PROTO_APPEND) {
        err = proto_msgs_check(f->body.append.messages, f->body.append.count);
    } else if (f->header.type == PROTO_DELIVER) {
        err = proto_msgs_check(f->body.deliver.messages, f->body.deliver.count);
    }
    return err;
}

/* Writes the body of a request (client -> node). */
static void wr_request(struct wr *w, enum proto_type type, const void *body) {
    switch (type) {
    case PROTO_HELLO: {
        const struct proto_hello *h = body;
        wr_uint(w, h->version_min, 2);
        wr_uint(w, h->version_max, 2);
        wr_bytes(w, h->client_name);
        break;
    }
    case PROTO_APPEND: {
        const struct proto_append *a = body;
        wr_uint(w, a->stream_id, 8);
        wr_bytes(w, a->path);
        wr_uint(w, a->ack, 1);
        wr_uint(w, a->sync, 1);
        wr_uint(w, a->producer_id, 8);
        wr_uint(w, a->sequence, 8);
        wr_uint(w, a->count, 4);
        wr_bytes(w, a->messages);
        break;
    }
    case PROTO_READ: {
        const struct proto_read *q = body;
        wr_uint(w, q->stream_id, 8);
        wr_bytes(w, q->path);
        wr_uint(w, q->from, 8);
        wr_uint(w, q->to, 8);
        wr_uint(w, q->follow, 1);
        wr_uint(w, q->ack, 1);
        wr_uint(w, q->sync, 1);
        wr_uint(w, q->credit_bytes, 8);
        break;
    }
    case PROTO_CREDIT:
        wr_uint(w, ((const struct proto_credit *)body)->bytes, 8);
        break;
    case PROTO_CREATE:
        wr_bytes(w, ((const struct proto_create *)body)->path);
        break;
    case PROTO_LIST: {
        const struct proto_list *l = body;
        wr_bytes(w, l->prefix);
        wr_uint(w, l->after_id, 8);
        wr_uint(w, l->count_max, 4);
        break;
    }
    case PROTO_PING:
    case PROTO_PONG:
        wr_uint(w, ((const struct proto_ping *)body)->value, 8);
        break;
    default: /* cancel, stat */
        break;
    }
}

static void wr_stream_info(struct wr *w, const struct proto_stream_info *s) {
    wr_bytes(w, s->path);
    wr_uint(w, s->stream_id, 8);
    wr_uint(w, s->first, 8);
    wr_uint(w, s->next, 8);
    wr_uint(w, s->durable, 8);
    wr_uint(w, s->bytes, 8);
}

/* Writes the body of an answer (node -> client). */
static void wr_answer(struct wr *w, enum proto_type type, const void *body) {
    switch (type) {
    case PROTO_HELLO_ANSWER: {
        const struct proto_hello_answer *a = body;
        wr_uint(w, a->version, 2);
        wr_bytes(w, a->node_name);
        wr_uint(w, a->frame_bytes_max, 4);
        wr_uint(w, a->inflight_max, 4);
        wr_uint(w, a->reads_max, 4);
        wr_uint(w, a->idempotence_window, 4);
        break;
    }
    case PROTO_ERROR:
        wr_uint(w, ((const struct proto_error *)body)->code, 4);
        wr_bytes(w, ((const struct proto_error *)body)->text);
        break;
    case PROTO_APPEND_ANSWER: {
        const struct proto_append_answer *a = body;
        wr_uint(w, a->error, 4);
        wr_uint(w, a->stream_id, 8);
        wr_uint(w, a->base_offset, 8);
        wr_uint(w, a->count, 4);
        wr_uint(w, a->ts_ns, 8);
        break;
    }
    case PROTO_DELIVER: {
        const struct proto_deliver *d = body;
        wr_uint(w, d->stream_id, 8);
        wr_uint(w, d->base_offset, 8);
        wr_uint(w, d->count, 4);
        wr_uint(w, d->ts_ns, 8);
        wr_bytes(w, d->messages);
        break;
    }
    case PROTO_READ_END:
        wr_uint(w, ((const struct proto_read_end *)body)->error, 4);
        wr_uint(w, ((const struct proto_read_end *)body)->next_offset, 8);
        break;
    case PROTO_CREATE_ANSWER: {
        const struct proto_create_answer *a = body;
        wr_uint(w, a->error, 4);
        wr_uint(w, a->stream_id, 8);
        wr_uint(w, a->created, 1);
        break;
    }
    case PROTO_LIST_ANSWER: {
        const struct proto_list_answer *a = body;
        wr_uint(w, a->error, 4);
        wr_uint(w, a->stream_count, 4);
        wr_put(w, a->streams.ptr, a->streams.len);
        wr_uint(w, a->more, 1);
        break;
    }
    case PROTO_STAT_ANSWER:
        wr_uint(w, ((const struct proto_stat_answer *)body)->error, 4);
        wr_bytes(w, ((const struct proto_stat_answer *)body)->text);
        break;
    default:
        wr_request(w, type, body);
        break;
    }
}

strom_err proto_frame_encode(uint8_t *buf, size_t cap, enum proto_type type, uint64_t request_id,
                             const void *body, size_t *len_out) {
    strom_assert(type > 0 && type < PROTO_TYPE_COUNT_);
    strom_assert(body != NULL || type == PROTO_CANCEL || type == PROTO_STAT);
    if (cap < PROTO_HEADER_BYTES) {
        return STROM_ERR_OVERFLOW;
    }
    struct wr w = {.p = buf + PROTO_HEADER_BYTES, .left = cap - PROTO_HEADER_BYTES};
    wr_answer(&w, type, body);
    if (w.overflow) {
        return STROM_ERR_OVERFLOW;
    }
    size_t len = cap - w.left;
    if (len > PROTO_FRAME_BYTES_MAX) {
        return STROM_ERR_TOO_LARGE;
    }
    struct proto_header h = {
        .frame_bytes = (uint32_t)len, .type = (uint16_t)type, .request_id = request_id};
    proto_header_write(buf, &h);
    *len_out = len;
    return STROM_OK;
}

strom_err proto_stream_info_encode(uint8_t *buf, size_t cap, const struct proto_stream_info *s,
                                   size_t *len_out) {
    if (s->path.len > PROTO_PATH_BYTES_MAX) {
        return STROM_ERR_TOO_LARGE;
    }
    struct wr w = {.p = buf, .left = cap};
    wr_stream_info(&w, s);
    if (w.overflow) {
        return STROM_ERR_OVERFLOW;
    }
    *len_out = cap - w.left;
    return STROM_OK;
}

size_t proto_append_frame_bytes(size_t path_bytes, size_t set_bytes) {
    return PROTO_HEADER_BYTES + 8 + 4 + path_bytes + 1 + 1 + 8 + 8 + 4 + 4 + set_bytes;
}

size_t proto_deliver_frame_bytes(size_t set_bytes) {
    return PROTO_HEADER_BYTES + 8 + 8 + 4 + 8 + 4 + set_bytes;
}

/* --- names and paths ------------------------------------------------------------------------- */

static bool path_byte_ok(char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

strom_err proto_path_check(const char *path, size_t len) {
    if (len < 2 || len > PROTO_PATH_BYTES_MAX || path[0] != '/' || path[len - 1] == '/') {
        return STROM_ERR_INVALID_PATH;
    }
    for (size_t i = 1; i < len; i++) {
        bool ok = path[i] == '/' ? path[i - 1] != '/' : path_byte_ok(path[i]);
        if (!ok) {
            return STROM_ERR_INVALID_PATH;
        }
    }
    return STROM_OK;
}

const char *proto_type_name(uint16_t type) {
    static const char *const names[PROTO_TYPE_COUNT_] = {
        [PROTO_HELLO] = "hello",
        [PROTO_HELLO_ANSWER] = "hello_answer",
        [PROTO_ERROR] = "error",
        [PROTO_APPEND] = "append",
        [PROTO_APPEND_ANSWER] = "append_answer",
        [PROTO_READ] = "read",
        [PROTO_DELIVER] = "deliver",
        [PROTO_READ_END] = "read_end",
        [PROTO_CREDIT] = "credit",
        [PROTO_CANCEL] = "cancel",
        [PROTO_CREATE] = "create",
        [PROTO_CREATE_ANSWER] = "create_answer",
        [PROTO_LIST] = "list",
        [PROTO_LIST_ANSWER] = "list_answer",
        [PROTO_STAT] = "stat",
        [PROTO_STAT_ANSWER] = "stat_answer",
        [PROTO_PING] = "ping",
        [PROTO_PONG] = "pong",
    };
    return type > 0 && type < PROTO_TYPE_COUNT_ ? names[type] : "unknown";
}
