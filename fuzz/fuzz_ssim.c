/*
 * fuzz_ssim.c: the ssim reader on arbitrary bytes. Every record it accepts is written back with
 * the ssim writer and parsed again; the second parse must succeed and give the same type, keys
 * and values in the same order. The typed getters run on every field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/ssim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_same(const struct strom_ssim_record *a, const struct strom_ssim_record *b) {
    strom_assert(a->type_len == b->type_len && memcmp(a->type, b->type, a->type_len) == 0);
    strom_assert(a->field_count == b->field_count);
    for (uint32_t i = 0; i < a->field_count; i++) {
        const struct strom_ssim_field *x = &a->fields[i];
        const struct strom_ssim_field *y = &b->fields[i];
        strom_assert(x->key_len == y->key_len && memcmp(x->key, y->key, x->key_len) == 0);
        strom_assert(x->value_len == y->value_len &&
                     (x->value_len == 0 || memcmp(x->value, y->value, x->value_len) == 0));
    }
}

static void rewrite_and_compare(const struct strom_ssim_record *rec, char *out, size_t out_bytes,
                                char *scratch, size_t scratch_bytes) {
    struct strom_ssim_writer w;
    char type[STROM_SSIM_NAME_BYTES_MAX + 1];
    char key[STROM_SSIM_NAME_BYTES_MAX + 1];
    strom_ssim_writer_init(&w, out, out_bytes);
    memcpy(type, rec->type, rec->type_len);
    type[rec->type_len] = '\0';
    strom_ssim_write_type(&w, type);
    for (uint32_t i = 0; i < rec->field_count; i++) {
        const struct strom_ssim_field *f = &rec->fields[i];
        memcpy(key, f->key, f->key_len);
        key[f->key_len] = '\0';
        strom_ssim_write_bytes(&w, key, f->value, f->value_len);
        uint64_t u;
        int64_t s;
        bool b;
        (void)strom_ssim_field_u64(rec, f, &u, NULL);
        (void)strom_ssim_field_i64(rec, f, &s, NULL);
        (void)strom_ssim_field_bool(rec, f, &b, NULL);
    }
    strom_assert(strom_ssim_writer_end(&w) == STROM_OK);
    strom_assert(w.bytes_used >= 1 && out[w.bytes_used - 1] == '\n');
    struct strom_ssim_record again;
    struct strom_ssim_error err;
    strom_err e = strom_ssim_parse(&again, out, w.bytes_used - 1, scratch, scratch_bytes, &err);
    strom_assert(e == STROM_OK);
    check_same(rec, &again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A value escapes to at most 4 bytes per byte; the scratch never needs more than a line. */
    size_t out_bytes = 4 * size + 16 * STROM_SSIM_FIELDS_MAX + 64;
    char *scratch = malloc(size + 1);
    char *scratch2 = malloc(out_bytes);
    char *out = malloc(out_bytes);
    static struct strom_ssim_record rec;
    struct strom_ssim_reader r;
    struct strom_ssim_error err;
    strom_assert(scratch && scratch2 && out);
    strom_ssim_reader_init(&r, (const char *)data, size);
    for (;;) {
        strom_err e = strom_ssim_reader_next(&r, &rec, scratch, size + 1, &err);
        if (e == STROM_ERR_END) {
            break;
        }
        if (e == STROM_OK) {
            rewrite_and_compare(&rec, out, out_bytes, scratch2, out_bytes);
        } else {
            strom_assert(e == STROM_ERR_PARSE && err.column >= 1 && err.line >= 1);
        }
    }
    free(scratch);
    free(scratch2);
    free(out);
    return 0;
}
