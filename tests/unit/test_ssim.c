/*
 * test_ssim.c: the ssim reader and writer: the format's examples, every parse error with its
 * column, the typed getters, the multi-line reader, the writer's quoting and overflow, and a
 * seeded round trip of random records with random bytes in their values.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ssim.h"

/* splitmix64: a small seeded generator, so a failing iteration can be reproduced. */
static uint64_t next_rand(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static char scratch[4096];

static strom_err parse_str(struct strom_ssim_record *rec, const char *line,
                           struct strom_ssim_error *err) {
    return strom_ssim_parse(rec, line, strlen(line), scratch, sizeof scratch, err);
}

static void expect_value(const struct strom_ssim_record *rec, const char *key, const char *value,
                         size_t len) {
    const struct strom_ssim_field *f = strom_ssim_find(rec, key);
    cr_assert_not_null(f, "key %s", key);
    cr_assert_eq(f->value_len, len, "key %s: length %u, want %zu", key, f->value_len, len);
    cr_assert(memcmp(f->value, value, len) == 0, "key %s", key);
}

Test(ssim, parses_the_examples_of_the_format) {
    struct strom_ssim_record rec;
    struct strom_ssim_error err;
    const char *line = "strom.stream  path:/orders/47   id:12 note:\"two words\" "
                       "q:'say \"hi\"' empty:\"\" esc:\"a\\tb\\\\c\\001\\377\\\"\" bare:a:b,c";
    cr_assert_eq(parse_str(&rec, line, &err), STROM_OK, "%s at %u", err.reason, err.column);
    cr_assert(strom_ssim_is(&rec, "strom.stream"));
    cr_assert_not(strom_ssim_is(&rec, "strom.streams"));
    cr_assert_eq(rec.field_count, 7);
    expect_value(&rec, "path", "/orders/47", 10);
    expect_value(&rec, "id", "12", 2);
    expect_value(&rec, "note", "two words", 9);
    expect_value(&rec, "q", "say \"hi\"", 8);
    expect_value(&rec, "empty", "", 0);
    expect_value(&rec, "esc", "a\tb\\c\001\377\"", 8);
    expect_value(&rec, "bare", "a:b,c", 5);
    cr_assert_eq(rec.fields[1].column, 33);
    cr_assert_null(strom_ssim_find(&rec, "missing"));
    /* Only the escaped value needed the scratch buffer. */
    cr_assert_eq(rec.scratch_bytes_used, 8);
}

Test(ssim, type_alone_tabs_crlf_and_bare_empty_value) {
    struct strom_ssim_record rec;
    cr_assert_eq(parse_str(&rec, "strom.ping", NULL), STROM_OK);
    cr_assert_eq(rec.field_count, 0);
    cr_assert_eq(parse_str(&rec, "\tt\ta:1\t\tb:\r", NULL), STROM_OK);
    cr_assert_eq(rec.field_count, 2);
    expect_value(&rec, "a", "1", 1);
    expect_value(&rec, "b", "", 0);
}

Test(ssim, comments_and_blank_lines_are_empty) {
    struct strom_ssim_record rec;
    cr_assert_eq(parse_str(&rec, "", NULL), STROM_ERR_EMPTY);
    cr_assert_eq(parse_str(&rec, "   \t", NULL), STROM_ERR_EMPTY);
    cr_assert_eq(parse_str(&rec, "# a comment with \"quotes", NULL), STROM_ERR_EMPTY);
    cr_assert_eq(parse_str(&rec, "  # indented", NULL), STROM_ERR_EMPTY);
    cr_assert_eq(rec.type_len, 0);
}

struct error_case {
    const char *line;
    uint32_t column;
    const char *reason;
};

Test(ssim, every_error_has_its_column_and_reason) {
    static const struct error_case cases[] = {
        {"t k:\"abc", 5, "unterminated quote"},
        {"t k:'abc\\'", 5, "unterminated quote"},
        {"t k:\"ab\\", 5, "unterminated quote"},
        {"t k:\"a\nb\"", 5, "unterminated quote"},
        {"t k:v :v", 7, "key expected"},
        {"t k", 4, "':' expected after the key"},
        {"t k v:1", 4, "':' expected after the key"},
        {"t k=v", 4, "bad character in key"},
        {"t k:\"\\x\"", 6, "bad escape"},
        {"t k:\"\\12\"", 6, "bad escape"},
        {"t k:\"\\400\"", 6, "bad escape"},
        {"t k:\"\\8\"", 6, "bad escape"},
        {"t k:a\"b", 6, "character must be quoted"},
        {"t k:a=b", 6, "character must be quoted"},
        {"t k:\"a\"b", 8, "space expected after the closing quote"},
        {"t a:1 b:2 a:3", 11, "duplicate key"},
        {"k:v", 2, "type tag expected before the key"},
        {"t=x", 2, "bad character in type tag"},
        {"\"t\" k:v", 1, "type tag expected"},
        {"t \x01k:v", 3, "key expected"},
        {"t k:\x80", 5, "character must be quoted"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct strom_ssim_record rec;
        struct strom_ssim_error err;
        cr_assert_eq(parse_str(&rec, cases[i].line, &err), STROM_ERR_PARSE, "case %zu", i);
        cr_assert_eq(err.column, cases[i].column, "case %zu: column %u", i, err.column);
        cr_assert_str_eq(err.reason, cases[i].reason, "case %zu", i);
        cr_assert_eq(rec.type_len, 0, "case %zu", i);
    }
}

Test(ssim, names_over_the_limit) {
    char line[STROM_SSIM_NAME_BYTES_MAX + 16];
    struct strom_ssim_record rec;
    struct strom_ssim_error err;
    memset(line, 'a', STROM_SSIM_NAME_BYTES_MAX + 1);
    line[STROM_SSIM_NAME_BYTES_MAX + 1] = '\0';
    cr_assert_eq(parse_str(&rec, line, &err), STROM_ERR_PARSE);
    cr_assert_str_eq(err.reason, "type tag too long");
    cr_assert_eq(err.column, 1);
    line[STROM_SSIM_NAME_BYTES_MAX] = '\0'; /* exactly the limit: fine */
    cr_assert_eq(parse_str(&rec, line, &err), STROM_OK);
    memcpy(line, "t ", 2);
    memset(line + 2, 'k', STROM_SSIM_NAME_BYTES_MAX + 1);
    strcpy(line + 3 + STROM_SSIM_NAME_BYTES_MAX, ":1");
    cr_assert_eq(parse_str(&rec, line, &err), STROM_ERR_PARSE);
    cr_assert_str_eq(err.reason, "key too long");
    cr_assert_eq(err.column, 3);
}

Test(ssim, too_many_fields) {
    char line[STROM_SSIM_FIELDS_MAX * 8 + 16];
    size_t n = (size_t)sprintf(line, "t");
    for (int i = 0; i < STROM_SSIM_FIELDS_MAX; i++) {
        n += (size_t)sprintf(line + n, " k%d:1", i);
    }
    struct strom_ssim_record rec;
    struct strom_ssim_error err;
    cr_assert_eq(parse_str(&rec, line, &err), STROM_OK);
    cr_assert_eq(rec.field_count, STROM_SSIM_FIELDS_MAX);
    size_t column = n + 2;
    sprintf(line + n, " x:1");
    cr_assert_eq(parse_str(&rec, line, &err), STROM_ERR_PARSE);
    cr_assert_str_eq(err.reason, "too many fields");
    cr_assert_eq(err.column, column);
}

Test(ssim, line_over_the_limit) {
    size_t len = (size_t)STROM_SSIM_LINE_BYTES_MAX + 1;
    char *line = malloc(len);
    cr_assert_not_null(line);
    memset(line, 'a', len);
    struct strom_ssim_record rec;
    struct strom_ssim_error err;
    cr_assert_eq(strom_ssim_parse(&rec, line, len, scratch, sizeof scratch, &err), STROM_ERR_PARSE);
    cr_assert_str_eq(err.reason, "line too long");
    cr_assert_eq(err.column, STROM_SSIM_LINE_BYTES_MAX + 1);
    free(line);
}

Test(ssim, scratch_too_small_is_a_limit_not_a_crash) {
    const char *line = "t a:\"x\\ty\" b:\"\\001\\002\\003\"";
    char small[4];
    struct strom_ssim_record rec;
    struct strom_ssim_error err;
    cr_assert_eq(strom_ssim_parse(&rec, line, strlen(line), small, sizeof small, &err),
                 STROM_ERR_LIMIT);
    cr_assert_eq(err.column, 14);
    cr_assert_eq(strom_ssim_parse(&rec, line, strlen(line), small, 2, &err), STROM_ERR_LIMIT);
    cr_assert_eq(err.column, 5);
    char exact[6];
    cr_assert_eq(strom_ssim_parse(&rec, line, strlen(line), exact, sizeof exact, &err), STROM_OK);
    expect_value(&rec, "b", "\001\002\003", 3);
}

Test(ssim, byte_classes_match_the_format) {
    const char *bare = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                       "_;&*^%$@.!:,+/-";
    const char *name = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
    for (int c = 1; c < 256; c++) {
        char line[16];
        struct strom_ssim_record rec;
        bool is_bare = strchr(bare, c) != NULL;
        bool is_name = strchr(name, c) != NULL;
        bool is_blank = c == ' ' || c == '\t';
        int n = sprintf(line, "t k:%c", c);
        strom_err e = strom_ssim_parse(&rec, line, (size_t)n, scratch, sizeof scratch, NULL);
        bool parsed = e == STROM_OK;
        /* A blank ends the value (empty); a quote opens an unterminated one. */
        cr_assert_eq(parsed, is_bare || is_blank || c == '\r', "byte %d in a bare value", c);
        n = sprintf(line, "t%c", c);
        e = strom_ssim_parse(&rec, line, (size_t)n, scratch, sizeof scratch, NULL);
        cr_assert_eq(e == STROM_OK, is_name || is_blank || c == '\r', "byte %d in a type tag", c);
        /* The writer leaves exactly the bare bytes unquoted. */
        char out[16];
        struct strom_ssim_writer w;
        char v = (char)c;
        strom_ssim_writer_init(&w, out, sizeof out);
        strom_ssim_write_type(&w, "t");
        strom_ssim_write_bytes(&w, "k", &v, 1);
        cr_assert_eq(strom_ssim_writer_end(&w), STROM_OK);
        cr_assert_eq(w.bytes_used == strlen("t  k:x\n"), is_bare, "byte %d written", c);
    }
}

Test(ssim, typed_getters) {
    struct strom_ssim_record rec;
    struct strom_ssim_error err;
    const char *line = "t u:18446744073709551615 big:18446744073709551616 neg:-9223372036854775808 "
                       "pos:9223372036854775807 over:9223372036854775808 t:true f:0 x:yes "
                       "s:\"a b\" e: sign:+1";
    cr_assert_eq(parse_str(&rec, line, &err), STROM_OK);
    uint64_t u;
    int64_t i;
    bool b;
    cr_assert_eq(strom_ssim_get_u64(&rec, "u", &u, &err), STROM_OK);
    cr_assert_eq(u, UINT64_MAX);
    cr_assert_eq(strom_ssim_get_u64(&rec, "big", &u, &err), STROM_ERR_PARSE);
    cr_assert_eq(err.column, 30);
    cr_assert_str_eq(err.reason, "unsigned integer expected");
    cr_assert_eq(strom_ssim_get_u64(&rec, "neg", &u, &err), STROM_ERR_PARSE);
    cr_assert_eq(strom_ssim_get_u64(&rec, "e", &u, &err), STROM_ERR_PARSE);
    cr_assert_eq(strom_ssim_get_u64(&rec, "sign", &u, &err), STROM_ERR_PARSE);
    cr_assert_eq(strom_ssim_get_i64(&rec, "neg", &i, &err), STROM_OK);
    cr_assert_eq(i, INT64_MIN);
    cr_assert_eq(strom_ssim_get_i64(&rec, "pos", &i, &err), STROM_OK);
    cr_assert_eq(i, INT64_MAX);
    cr_assert_eq(strom_ssim_get_i64(&rec, "over", &i, &err), STROM_ERR_PARSE);
    cr_assert_str_eq(err.reason, "signed integer expected");
    cr_assert_eq(strom_ssim_get_bool(&rec, "t", &b, &err), STROM_OK);
    cr_assert(b);
    cr_assert_eq(strom_ssim_get_bool(&rec, "f", &b, &err), STROM_OK);
    cr_assert_not(b);
    cr_assert_eq(strom_ssim_get_bool(&rec, "x", &b, &err), STROM_ERR_PARSE);
    cr_assert_str_eq(err.reason, "true or false expected");
    const char *s;
    uint32_t n;
    cr_assert_eq(strom_ssim_get_str(&rec, "s", &s, &n, &err), STROM_OK);
    cr_assert(n == 3 && memcmp(s, "a b", 3) == 0);
    cr_assert_eq(strom_ssim_get_u64(&rec, "nope", &u, &err), STROM_ERR_NOT_FOUND);
    cr_assert_str_eq(err.reason, "missing key");
}

Test(ssim, reader_counts_lines_and_skips_comments) {
    const char *text = "# header\n"
                       "\n"
                       "a x:1\n"
                       "   \n"
                       "b y:\"broken\n"
                       "c z:3\r\n"
                       "# tail\n"
                       "d";
    struct strom_ssim_reader r;
    struct strom_ssim_record rec;
    struct strom_ssim_error err;
    strom_ssim_reader_init(&r, text, strlen(text));
    cr_assert_eq(strom_ssim_reader_next(&r, &rec, scratch, sizeof scratch, &err), STROM_OK);
    cr_assert(strom_ssim_is(&rec, "a"));
    cr_assert_eq(rec.line, 3);
    cr_assert_eq(strom_ssim_reader_next(&r, &rec, scratch, sizeof scratch, &err), STROM_ERR_PARSE);
    cr_assert_eq(err.line, 5);
    cr_assert_eq(err.column, 5);
    char msg[64];
    strom_ssim_error_format(&err, msg, sizeof msg);
    cr_assert_str_eq(msg, "line 5, column 5: unterminated quote");
    cr_assert_eq(strom_ssim_reader_next(&r, &rec, scratch, sizeof scratch, &err), STROM_OK);
    cr_assert(strom_ssim_is(&rec, "c"));
    expect_value(&rec, "z", "3", 1);
    cr_assert_eq(rec.line, 6);
    cr_assert_eq(strom_ssim_reader_next(&r, &rec, scratch, sizeof scratch, &err), STROM_OK);
    cr_assert(strom_ssim_is(&rec, "d"));
    cr_assert_eq(rec.line, 8);
    cr_assert_eq(strom_ssim_reader_next(&r, &rec, scratch, sizeof scratch, &err), STROM_ERR_END);
    cr_assert_eq(strom_ssim_reader_next(&r, &rec, scratch, sizeof scratch, &err), STROM_ERR_END);
}

Test(ssim, writer_quotes_and_escapes) {
    char buf[256];
    struct strom_ssim_writer w;
    strom_ssim_writer_init(&w, buf, sizeof buf);
    strom_ssim_write_type(&w, "strom.stream");
    strom_ssim_write_str(&w, "path", "/orders/47");
    strom_ssim_write_u64(&w, "id", 12);
    strom_ssim_write_i64(&w, "delta", INT64_MIN);
    strom_ssim_write_bool(&w, "on", true);
    strom_ssim_write_str(&w, "empty", "");
    strom_ssim_write_str(&w, "note", "say \"hi\"");
    strom_ssim_write_str(&w, "tie", "a'b\"c");
    strom_ssim_write_bytes(&w, "bin", "\t\n\r\\\0\177\200", 7);
    cr_assert_eq(strom_ssim_writer_end(&w), STROM_OK);
    const char *want = "strom.stream  path:/orders/47  id:12  delta:-9223372036854775808  on:true"
                       "  empty:\"\"  note:'say \"hi\"'  tie:\"a'b\\\"c\""
                       "  bin:\"\\t\\n\\r\\\\\\000\\177\\200\"\n";
    cr_assert_eq(w.bytes_used, strlen(want));
    cr_assert(memcmp(buf, want, w.bytes_used) == 0, "got %.*s", (int)w.bytes_used, buf);
}

Test(ssim, writer_overflow_takes_the_line_back) {
    char buf[32];
    struct strom_ssim_writer w;
    strom_ssim_writer_init(&w, buf, sizeof buf);
    strom_ssim_write_type(&w, "a");
    strom_ssim_write_u64(&w, "x", 1);
    cr_assert_eq(strom_ssim_writer_end(&w), STROM_OK);
    size_t mark = strom_ssim_writer_mark(&w);
    cr_assert_eq(mark, 7);
    strom_ssim_write_type(&w, "b");
    strom_ssim_write_str(&w, "long", "0123456789012345678901234567890123456789");
    strom_ssim_write_u64(&w, "y", 2);
    cr_assert_eq(strom_ssim_writer_end(&w), STROM_ERR_OVERFLOW);
    cr_assert_eq(w.bytes_used, 7);
    /* A line that fits exactly (25 bytes after the 7). */
    strom_ssim_write_type(&w, "c");
    strom_ssim_write_str(&w, "k", "0123456789012345678");
    cr_assert_eq(strom_ssim_writer_end(&w), STROM_OK);
    cr_assert_eq(w.bytes_used, 32);
    strom_ssim_writer_rollback(&w, mark);
    cr_assert_eq(w.bytes_used, 7);
    cr_assert(memcmp(buf, "a  x:1\n", 7) == 0);
}

/* Draws a name of 1..12 bytes of [A-Za-z0-9_.-]. */
static size_t random_name(uint64_t *rng, char *out) {
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";
    size_t n = 1 + next_rand(rng) % 12;
    for (size_t i = 0; i < n; i++) {
        out[i] = set[next_rand(rng) % (sizeof set - 1)];
    }
    out[n] = '\0';
    return n;
}

/* Draws a value: random bytes 0..255, or bytes from a small set that is often bare. */
static size_t random_value(uint64_t *rng, uint8_t *out) {
    static const char often[] = "ab:/-_ \"'\\\t";
    size_t n = next_rand(rng) % 24;
    bool any_byte = next_rand(rng) % 2;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next_rand(rng);
        out[i] = any_byte ? (uint8_t)r : (uint8_t)often[r % (sizeof often - 1)];
    }
    return n;
}

struct random_record {
    char type[16];
    uint32_t field_count;
    char keys[STROM_SSIM_FIELDS_MAX][16];
    uint8_t values[STROM_SSIM_FIELDS_MAX][24];
    size_t value_lens[STROM_SSIM_FIELDS_MAX];
};

static void random_record(uint64_t *rng, struct random_record *r) {
    random_name(rng, r->type);
    uint64_t roll = next_rand(rng) % 16;
    r->field_count = roll == 0 ? STROM_SSIM_FIELDS_MAX : (uint32_t)(next_rand(rng) % 9);
    for (uint32_t i = 0; i < r->field_count; i++) {
        bool unique;
        do {
            random_name(rng, r->keys[i]);
            unique = true;
            for (uint32_t j = 0; j < i; j++) {
                unique = unique && strcmp(r->keys[i], r->keys[j]) != 0;
            }
        } while (!unique);
        r->value_lens[i] = random_value(rng, r->values[i]);
    }
}

static void check_record(const struct random_record *want, const struct strom_ssim_record *got,
                         uint64_t iteration) {
    cr_assert(strom_ssim_is(got, want->type), "iteration %lu", (unsigned long)iteration);
    cr_assert_eq(got->field_count, want->field_count, "iteration %lu", (unsigned long)iteration);
    for (uint32_t i = 0; i < want->field_count; i++) {
        const struct strom_ssim_field *f = &got->fields[i];
        cr_assert(f->key_len == strlen(want->keys[i]) &&
                      memcmp(f->key, want->keys[i], f->key_len) == 0,
                  "iteration %lu field %u", (unsigned long)iteration, i);
        cr_assert(f->value_len == want->value_lens[i] &&
                      memcmp(f->value, want->values[i], f->value_len) == 0,
                  "iteration %lu field %u", (unsigned long)iteration, i);
    }
}

Test(ssim, random_round_trip_100k) {
    enum { ITERATIONS = 100000, LINES_PER_BATCH = 50 };
    static char text[LINES_PER_BATCH * 8192];
    static char line_scratch[8192];
    static struct random_record batch[LINES_PER_BATCH];
    uint64_t rng = 20240601;
    for (uint64_t it = 0; it < ITERATIONS; it += LINES_PER_BATCH) {
        struct strom_ssim_writer w;
        strom_ssim_writer_init(&w, text, sizeof text);
        for (int k = 0; k < LINES_PER_BATCH; k++) {
            struct random_record *r = &batch[k];
            random_record(&rng, r);
            strom_ssim_write_type(&w, r->type);
            for (uint32_t i = 0; i < r->field_count; i++) {
                strom_ssim_write_bytes(&w, r->keys[i], r->values[i], r->value_lens[i]);
            }
            cr_assert_eq(strom_ssim_writer_end(&w), STROM_OK);
        }
        /* Read the batch back as one text: the reader splits it into the same records. */
        struct strom_ssim_reader rd;
        strom_ssim_reader_init(&rd, text, w.bytes_used);
        for (int k = 0; k < LINES_PER_BATCH; k++) {
            struct strom_ssim_record rec;
            struct strom_ssim_error err;
            strom_err e =
                strom_ssim_reader_next(&rd, &rec, line_scratch, sizeof line_scratch, &err);
            cr_assert_eq(e, STROM_OK, "iteration %lu: %s at %u", (unsigned long)(it + k),
                         err.reason, err.column);
            cr_assert_eq(rec.line, (uint32_t)k + 1);
            check_record(&batch[k], &rec, it + (uint64_t)k);
        }
        struct strom_ssim_record rec;
        cr_assert_eq(strom_ssim_reader_next(&rd, &rec, line_scratch, sizeof line_scratch, NULL),
                     STROM_ERR_END);
    }
}
