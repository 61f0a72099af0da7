/* wire.c: Kafka primitive types, bounded reader and writer, arena (see wire.h). */
#include "kafka/wire.h"

#include <string.h>

#include "base/assert.h"

struct kafka_str kafka_str_c(const char *s) {
    strom_assert(s != NULL);
    size_t n = strlen(s);
    strom_assert(n <= INT32_MAX);
    return (struct kafka_str){.ptr = s, .len = (int32_t)n};
}

bool kafka_str_eq(struct kafka_str a, const char *s) {
    strom_assert(s != NULL);
    size_t n = strlen(s);
    return a.len >= 0 && (size_t)a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

struct kafka_bytes kafka_bytes_of(const void *p, size_t len) {
    strom_assert(len <= INT32_MAX);
    strom_assert(p != NULL || len == 0);
    return (struct kafka_bytes){.ptr = p, .len = (int32_t)len};
}

uint16_t kafka_load_be16(const uint8_t *p) {
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

uint32_t kafka_load_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t kafka_load_be64(const uint8_t *p) {
    return (uint64_t)kafka_load_be32(p) << 32 | kafka_load_be32(p + 4);
}

void kafka_store_be16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void kafka_store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void kafka_store_be64(uint8_t *p, uint64_t v) {
    kafka_store_be32(p, (uint32_t)(v >> 32));
    kafka_store_be32(p + 4, (uint32_t)v);
}

/* --- reader ----------------------------------------------------------------------------------- */

void kafka_reader_init(struct kafka_reader *r, const void *buf, size_t len) {
    strom_assert(r != NULL);
    strom_assert(buf != NULL || len == 0);
    *r = (struct kafka_reader){.buf = buf, .len = len};
}

size_t kafka_reader_left(const struct kafka_reader *r) {
    strom_assert(r->pos <= r->len);
    return r->len - r->pos;
}

void kafka_reader_fail(struct kafka_reader *r, strom_err err) {
    strom_assert(err != STROM_OK);
    if (r->err == STROM_OK) {
        r->err = err;
    }
}

const uint8_t *kafka_read_raw(struct kafka_reader *r, size_t n) {
    if (r->err != STROM_OK) {
        return NULL;
    }
    if (n > kafka_reader_left(r)) {
        kafka_reader_fail(r, STROM_ERR_TRUNCATED);
        return NULL;
    }
    const uint8_t *p = r->buf + r->pos;
    r->pos += n;
    return p;
}

int8_t kafka_read_i8(struct kafka_reader *r) {
    const uint8_t *p = kafka_read_raw(r, 1);
    return p ? (int8_t)p[0] : 0;
}

int16_t kafka_read_i16(struct kafka_reader *r) {
    const uint8_t *p = kafka_read_raw(r, 2);
    return p ? (int16_t)kafka_load_be16(p) : 0;
}

int32_t kafka_read_i32(struct kafka_reader *r) {
    const uint8_t *p = kafka_read_raw(r, 4);
    return p ? (int32_t)kafka_load_be32(p) : 0;
}

uint32_t kafka_read_u32(struct kafka_reader *r) {
    const uint8_t *p = kafka_read_raw(r, 4);
    return p ? kafka_load_be32(p) : 0;
}

int64_t kafka_read_i64(struct kafka_reader *r) {
    const uint8_t *p = kafka_read_raw(r, 8);
    return p ? (int64_t)kafka_load_be64(p) : 0;
}

bool kafka_read_bool(struct kafka_reader *r) {
    return kafka_read_i8(r) != 0;
}

/* Reads a base-128 varint of at most bytes_max bytes whose value fits in bits_max bits. */
static uint64_t read_varint_raw(struct kafka_reader *r, unsigned bytes_max, unsigned bits_max) {
    uint64_t value = 0;
    for (unsigned i = 0; i < bytes_max; i++) {
        const uint8_t *p = kafka_read_raw(r, 1);
        if (p == NULL) {
            return 0;
        }
        unsigned shift = 7 * i;
        uint64_t part = (uint64_t)(p[0] & 0x7f);
        if (shift + 7 > bits_max && (part >> (bits_max - shift)) != 0) {
            kafka_reader_fail(r, STROM_ERR_PROTOCOL);
            return 0;
        }
        value |= part << shift;
        if ((p[0] & 0x80) == 0) {
            return value;
        }
    }
    kafka_reader_fail(r, STROM_ERR_PROTOCOL);
    return 0;
}

uint32_t kafka_read_uvarint(struct kafka_reader *r) {
    return (uint32_t)read_varint_raw(r, KAFKA_UVARINT_BYTES_MAX, 32);
}

int32_t kafka_read_varint(struct kafka_reader *r) {
    uint32_t u = (uint32_t)read_varint_raw(r, KAFKA_UVARINT_BYTES_MAX, 32);
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t kafka_read_varlong(struct kafka_reader *r) {
    uint64_t u = read_varint_raw(r, KAFKA_VARLONG_BYTES_MAX, 64);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

void kafka_read_uuid(struct kafka_reader *r, struct kafka_uuid *out) {
    const uint8_t *p = kafka_read_raw(r, sizeof out->bytes);
    if (p != NULL) {
        memcpy(out->bytes, p, sizeof out->bytes);
    } else {
        memset(out->bytes, 0, sizeof out->bytes);
    }
}

/* Reads a length field: returns the length, -1 for null, or -2 after an error. */
static int64_t read_length(struct kafka_reader *r, bool compact, bool wide) {
    int64_t n;
    if (compact) {
        n = (int64_t)kafka_read_uvarint(r) - 1;
    } else {
        n = wide ? kafka_read_i32(r) : kafka_read_i16(r);
    }
    if (r->err != STROM_OK) {
        return -2;
    }
    if (n < -1) {
        kafka_reader_fail(r, STROM_ERR_PROTOCOL);
        return -2;
    }
    return n;
}

/* Checks a length read by read_length against nullability, a maximum and the bytes left. */
static bool length_ok(struct kafka_reader *r, int64_t n, bool nullable, uint64_t max) {
    if (n == -2) {
        return false;
    }
    if (n == -1 && !nullable) {
        kafka_reader_fail(r, STROM_ERR_PROTOCOL);
        return false;
    }
    if (n > (int64_t)max) {
        kafka_reader_fail(r, STROM_ERR_TOO_LARGE);
        return false;
    }
    if (n > (int64_t)kafka_reader_left(r)) {
        kafka_reader_fail(r, STROM_ERR_TRUNCATED);
        return false;
    }
    return true;
}

void kafka_read_string(struct kafka_reader *r, bool compact, bool nullable, struct kafka_str *out) {
    *out = (struct kafka_str){.ptr = NULL, .len = -1};
    int64_t n = read_length(r, compact, false);
    if (!length_ok(r, n, nullable, KAFKA_STRING_BYTES_MAX)) {
        return;
    }
    if (n >= 0) {
        out->ptr = (const char *)kafka_read_raw(r, (size_t)n);
        out->len = (int32_t)n;
    }
}

void kafka_read_bytes(struct kafka_reader *r, bool compact, bool nullable, size_t bytes_max,
                      struct kafka_bytes *out) {
    *out = (struct kafka_bytes){.ptr = NULL, .len = -1};
    int64_t n = read_length(r, compact, true);
    if (bytes_max > INT32_MAX) {
        bytes_max = INT32_MAX;
    }
    if (!length_ok(r, n, nullable, bytes_max)) {
        return;
    }
    if (n >= 0) {
        out->ptr = kafka_read_raw(r, (size_t)n);
        out->len = (int32_t)n;
    }
}

int32_t kafka_read_array_len(struct kafka_reader *r, bool compact, bool nullable,
                             size_t elem_min_bytes, int32_t count_max) {
    strom_assert(elem_min_bytes >= 1);
    strom_assert(count_max >= 0);
    int64_t n = read_length(r, compact, true);
    if (n == -2) {
        return 0;
    }
    if (n == -1 && !nullable) {
        kafka_reader_fail(r, STROM_ERR_PROTOCOL);
        return 0;
    }
    if (n > count_max) {
        kafka_reader_fail(r, STROM_ERR_TOO_LARGE);
        return 0;
    }
    if (n > 0 && (uint64_t)n * elem_min_bytes > kafka_reader_left(r)) {
        kafka_reader_fail(r, STROM_ERR_TRUNCATED);
        return 0;
    }
    return (int32_t)n;
}

void kafka_read_tagged_fields(struct kafka_reader *r) {
    uint32_t count = kafka_read_uvarint(r);
    if (count > KAFKA_TAGGED_FIELDS_MAX) {
        kafka_reader_fail(r, STROM_ERR_TOO_LARGE);
        return;
    }
    for (uint32_t i = 0; i < count && r->err == STROM_OK; i++) {
        (void)kafka_read_uvarint(r); /* the tag: no tagged field is known here */
        uint32_t size = kafka_read_uvarint(r);
        (void)kafka_read_raw(r, size);
    }
}

/* --- writer ----------------------------------------------------------------------------------- */

void kafka_writer_init(struct kafka_writer *w, void *buf, size_t cap) {
    strom_assert(w != NULL);
    strom_assert(buf != NULL || cap == 0);
    *w = (struct kafka_writer){.buf = buf, .cap = cap};
}

void kafka_writer_fail(struct kafka_writer *w, strom_err err) {
    strom_assert(err != STROM_OK);
    if (w->err == STROM_OK) {
        w->err = err;
    }
}

/* Returns room for n bytes at the end of the output, or NULL (and OVERFLOW). */
static uint8_t *writer_room(struct kafka_writer *w, size_t n) {
    strom_assert(w->pos <= w->cap);
    if (w->err != STROM_OK) {
        return NULL;
    }
    if (n > w->cap - w->pos) {
        kafka_writer_fail(w, STROM_ERR_OVERFLOW);
        return NULL;
    }
    uint8_t *p = w->buf + w->pos;
    w->pos += n;
    return p;
}

void kafka_write_raw(struct kafka_writer *w, const void *p, size_t n) {
    strom_assert(p != NULL || n == 0);
    uint8_t *dst = writer_room(w, n);
    if (dst != NULL && n > 0) {
        memcpy(dst, p, n);
    }
}

void kafka_write_i8(struct kafka_writer *w, int8_t v) {
    uint8_t *p = writer_room(w, 1);
    if (p != NULL) {
        p[0] = (uint8_t)v;
    }
}

void kafka_write_i16(struct kafka_writer *w, int16_t v) {
    uint8_t *p = writer_room(w, 2);
    if (p != NULL) {
        kafka_store_be16(p, (uint16_t)v);
    }
}

void kafka_write_i32(struct kafka_writer *w, int32_t v) {
    uint8_t *p = writer_room(w, 4);
    if (p != NULL) {
        kafka_store_be32(p, (uint32_t)v);
    }
}

void kafka_write_u32(struct kafka_writer *w, uint32_t v) {
    kafka_write_i32(w, (int32_t)v);
}

void kafka_write_i64(struct kafka_writer *w, int64_t v) {
    uint8_t *p = writer_room(w, 8);
    if (p != NULL) {
        kafka_store_be64(p, (uint64_t)v);
    }
}

void kafka_write_bool(struct kafka_writer *w, bool v) {
    kafka_write_i8(w, v ? 1 : 0);
}

static void write_varint_raw(struct kafka_writer *w, uint64_t v) {
    uint8_t tmp[KAFKA_VARLONG_BYTES_MAX];
    size_t n = 0;
    while (v >= 0x80) {
        tmp[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    tmp[n++] = (uint8_t)v;
    strom_assert(n <= sizeof tmp);
    kafka_write_raw(w, tmp, n);
}

void kafka_write_uvarint(struct kafka_writer *w, uint32_t v) {
    write_varint_raw(w, v);
}

void kafka_write_varint(struct kafka_writer *w, int32_t v) {
    write_varint_raw(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void kafka_write_varlong(struct kafka_writer *w, int64_t v) {
    write_varint_raw(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

size_t kafka_uvarint_bytes(uint32_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t kafka_varint_bytes(int32_t v) {
    return kafka_uvarint_bytes(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

size_t kafka_varlong_bytes(int64_t v) {
    uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 1;
    while (u >= 0x80) {
        u >>= 7;
        n++;
    }
    return n;
}

void kafka_write_uuid(struct kafka_writer *w, const struct kafka_uuid *v) {
    kafka_write_raw(w, v->bytes, sizeof v->bytes);
}

/* Writes a length (or -1 for null) in the plain or compact form. */
static void write_length(struct kafka_writer *w, bool compact, bool wide, int32_t n) {
    strom_assert(n >= -1);
    if (compact) {
        kafka_write_uvarint(w, (uint32_t)(n + 1));
    } else if (wide) {
        kafka_write_i32(w, n);
    } else {
        kafka_write_i16(w, (int16_t)n);
    }
}

void kafka_write_string(struct kafka_writer *w, bool compact, bool nullable, struct kafka_str s) {
    if (s.len < 0 && !nullable) {
        kafka_writer_fail(w, STROM_ERR_PROTOCOL);
        return;
    }
    if (s.len > KAFKA_STRING_BYTES_MAX) {
        kafka_writer_fail(w, STROM_ERR_TOO_LARGE);
        return;
    }
    int32_t n = s.len < 0 ? -1 : s.len;
    write_length(w, compact, false, n);
    if (n > 0) {
        kafka_write_raw(w, s.ptr, (size_t)n);
    }
}

void kafka_write_bytes(struct kafka_writer *w, bool compact, bool nullable, struct kafka_bytes b) {
    if (b.len < 0 && !nullable) {
        kafka_writer_fail(w, STROM_ERR_PROTOCOL);
        return;
    }
    int32_t n = b.len < 0 ? -1 : b.len;
    write_length(w, compact, true, n);
    if (n > 0) {
        kafka_write_raw(w, b.ptr, (size_t)n);
    }
}

void kafka_write_array_len(struct kafka_writer *w, bool compact, bool nullable, int32_t count) {
    if (count < 0 && !nullable) {
        kafka_writer_fail(w, STROM_ERR_PROTOCOL);
        return;
    }
    write_length(w, compact, true, count < 0 ? -1 : count);
}

void kafka_write_tagged_fields_empty(struct kafka_writer *w) {
    kafka_write_uvarint(w, 0);
}

size_t kafka_writer_reserve_i32(struct kafka_writer *w) {
    size_t at = w->pos;
    kafka_write_i32(w, 0);
    return at;
}

void kafka_writer_patch_i32(struct kafka_writer *w, size_t at, int32_t v) {
    if (w->err != STROM_OK) {
        return;
    }
    strom_assert(at + 4 <= w->pos);
    kafka_store_be32(w->buf + at, (uint32_t)v);
}

/* --- arena ------------------------------------------------------------------------------------ */

void kafka_arena_init(struct kafka_arena *a, void *base, size_t cap) {
    strom_assert(a != NULL);
    strom_assert(base != NULL || cap == 0);
    *a = (struct kafka_arena){.base = base, .cap = cap};
}

void kafka_arena_reset(struct kafka_arena *a) {
    a->used = 0;
}

void *kafka_arena_alloc(struct kafka_arena *a, size_t bytes) {
    strom_assert(a->used <= a->cap);
    size_t rounded = (bytes + 7) & ~(size_t)7;
    if (rounded < bytes || rounded > a->cap - a->used) {
        return NULL;
    }
    /* base may be any caller buffer: align the handed-out pointer, not just the offset. */
    uintptr_t start = (uintptr_t)(a->base + a->used);
    size_t pad = (size_t)((8 - (start & 7)) & 7);
    if (pad > a->cap - a->used - rounded) {
        return NULL;
    }
    uint8_t *p = a->base + a->used + pad;
    a->used += pad + rounded;
    memset(p, 0, bytes);
    return p;
}
