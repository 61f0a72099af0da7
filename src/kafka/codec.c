/* codec.c: the two-way field visitor under every Kafka message description (see codec.h). */
#include "kafka/codec.h"

#include "base/assert.h"

void kafka_codec_init_read(struct kafka_codec *c, const void *buf, size_t len,
                           struct kafka_arena *arena) {
    strom_assert(arena != NULL);
    *c = (struct kafka_codec){.arena = arena, .writing = false};
    kafka_reader_init(&c->r, buf, len);
}

void kafka_codec_init_write(struct kafka_codec *c, void *buf, size_t cap) {
    *c = (struct kafka_codec){.writing = true};
    kafka_writer_init(&c->w, buf, cap);
}

strom_err kafka_codec_err(const struct kafka_codec *c) {
    return c->writing ? c->w.err : c->r.err;
}

void kc_i8(struct kafka_codec *c, int8_t *v) {
    if (c->writing) {
        kafka_write_i8(&c->w, *v);
    } else {
        *v = kafka_read_i8(&c->r);
    }
}

void kc_i16(struct kafka_codec *c, int16_t *v) {
    if (c->writing) {
        kafka_write_i16(&c->w, *v);
    } else {
        *v = kafka_read_i16(&c->r);
    }
}

void kc_i32(struct kafka_codec *c, int32_t *v) {
    if (c->writing) {
        kafka_write_i32(&c->w, *v);
    } else {
        *v = kafka_read_i32(&c->r);
    }
}

void kc_i64(struct kafka_codec *c, int64_t *v) {
    if (c->writing) {
        kafka_write_i64(&c->w, *v);
    } else {
        *v = kafka_read_i64(&c->r);
    }
}

void kc_bool(struct kafka_codec *c, bool *v) {
    if (c->writing) {
        kafka_write_bool(&c->w, *v);
    } else {
        *v = kafka_read_bool(&c->r);
    }
}

void kc_uuid(struct kafka_codec *c, struct kafka_uuid *v) {
    if (c->writing) {
        kafka_write_uuid(&c->w, v);
    } else {
        kafka_read_uuid(&c->r, v);
    }
}

void kc_str(struct kafka_codec *c, struct kafka_str *v, bool nullable) {
    if (c->writing) {
        kafka_write_string(&c->w, c->flexible, nullable, *v);
    } else {
        kafka_read_string(&c->r, c->flexible, nullable, v);
    }
}

void kc_bytes(struct kafka_codec *c, struct kafka_bytes *v, bool nullable, size_t bytes_max) {
    if (c->writing) {
        kafka_write_bytes(&c->w, c->flexible, nullable, *v);
    } else {
        kafka_read_bytes(&c->r, c->flexible, nullable, bytes_max, v);
    }
}

void kc_tags(struct kafka_codec *c) {
    if (!c->flexible) {
        return;
    }
    if (c->writing) {
        kafka_write_tagged_fields_empty(&c->w);
    } else {
        kafka_read_tagged_fields(&c->r);
    }
}

void *kc_array(struct kafka_codec *c, int32_t *count, void *items, size_t elem_bytes,
               size_t elem_min_bytes, int32_t count_max, bool nullable) {
    strom_assert(elem_bytes > 0);
    if (c->writing) {
        strom_assert(*count <= 0 || items != NULL);
        kafka_write_array_len(&c->w, c->flexible, nullable, *count);
        return items;
    }
    int32_t n = kafka_read_array_len(&c->r, c->flexible, nullable, elem_min_bytes, count_max);
    void *mem = NULL;
    if (n > 0) {
        mem = kafka_arena_alloc(c->arena, (size_t)n * elem_bytes);
        if (mem == NULL) {
            kafka_reader_fail(&c->r, STROM_ERR_LIMIT);
            n = 0;
        }
    }
    *count = c->r.err == STROM_OK ? n : 0;
    return c->r.err == STROM_OK ? mem : NULL;
}

void kc_i32_array(struct kafka_codec *c, int32_t **items, int32_t *count, int32_t count_max,
                  bool nullable) {
    void *p = kc_array(c, count, *items, sizeof **items, 4, count_max, nullable);
    if (!c->writing) {
        *items = p;
    }
    for (int32_t i = 0; i < *count; i++) {
        kc_i32(c, &(*items)[i]);
    }
}

void kc_i64_array(struct kafka_codec *c, int64_t **items, int32_t *count, int32_t count_max) {
    void *p = kc_array(c, count, *items, sizeof **items, 8, count_max, false);
    if (!c->writing) {
        *items = p;
    }
    for (int32_t i = 0; i < *count; i++) {
        kc_i64(c, &(*items)[i]);
    }
}

void kc_str_array(struct kafka_codec *c, struct kafka_str **items, int32_t *count,
                  int32_t count_max, bool nullable) {
    void *p = kc_array(c, count, *items, sizeof **items, 1, count_max, nullable);
    if (!c->writing) {
        *items = p;
    }
    for (int32_t i = 0; i < *count; i++) {
        kc_str(c, &(*items)[i], false);
    }
}
