/*
 * test_gen.c: the code strom-gen generates, on schema/gentest.ssim (every field type, arrays of
 * records nested two deep): seeded random round trips through the binary encoding and through
 * ssim, the exact bytes of an encoding, rejection of every length and count above its maximum and
 * of every truncation, the arena bounds, and the ssim parser's defaults and errors.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "base/rng.h"
#include "gen/gentest.h"

/* A random gentest.outer and the storage its views and arrays point into. */
struct sample {
    struct gentest_outer outer;
    struct gentest_item items[GENTEST_OUTER_ITEMS_COUNT_MAX];
    struct gentest_tag item_tags[GENTEST_OUTER_ITEMS_COUNT_MAX][GENTEST_ITEM_TAGS_COUNT_MAX];
    struct gentest_tag extra[GENTEST_OUTER_EXTRA_COUNT_MAX];
    uint8_t pool[4096];
    size_t pool_used;
};

/* A length in [0, max]: often small, sometimes the maximum. */
static uint32_t random_len(struct rng *rng, uint32_t max) {
    uint64_t roll = rng_below(rng, 8);
    if (roll == 0) {
        return max;
    }
    if (roll == 1) {
        return 0;
    }
    return (uint32_t)rng_below(rng, (max < 16 ? max : 16) + 1);
}

static const uint8_t *random_bytes(struct rng *rng, struct sample *s, uint32_t len) {
    cr_assert(s->pool_used + len <= sizeof s->pool);
    uint8_t *at = s->pool + s->pool_used;
    rng_fill(rng, at, len);
    s->pool_used += len;
    return at;
}

static void random_tag(struct rng *rng, struct sample *s, struct gentest_tag *t) {
    t->label_len = random_len(rng, GENTEST_TAG_LABEL_BYTES_MAX);
    t->label = (const char *)random_bytes(rng, s, t->label_len);
    t->weight = (uint8_t)rng_next_u64(rng);
}

static void random_sample(struct rng *rng, struct sample *s) {
    memset(s, 0, sizeof *s);
    struct gentest_outer *o = &s->outer;
    o->version = (uint16_t)rng_next_u64(rng);
    o->flags = (uint32_t)rng_next_u64(rng);
    o->small = (uint8_t)rng_next_u64(rng);
    o->on = rng_chance(rng, 0.5);
    rng_fill(rng, o->digest, sizeof o->digest);
    o->name_len = random_len(rng, GENTEST_OUTER_NAME_BYTES_MAX);
    o->name = (const char *)random_bytes(rng, s, o->name_len);
    o->items_count = random_len(rng, GENTEST_OUTER_ITEMS_COUNT_MAX);
    for (uint32_t i = 0; i < o->items_count; i++) {
        struct gentest_item *it = &s->items[i];
        it->seq = rng_next_u64(rng);
        it->delta = (int64_t)rng_next_u64(rng);
        it->payload_len = random_len(rng, GENTEST_ITEM_PAYLOAD_BYTES_MAX);
        it->payload = random_bytes(rng, s, it->payload_len);
        it->tags_count = random_len(rng, GENTEST_ITEM_TAGS_COUNT_MAX);
        for (uint32_t k = 0; k < it->tags_count; k++) {
            random_tag(rng, s, &s->item_tags[i][k]);
        }
        it->tags = s->item_tags[i];
        it->urgent = rng_chance(rng, 0.5);
    }
    o->items = s->items;
    o->blob_len = random_len(rng, GENTEST_OUTER_BLOB_BYTES_MAX);
    o->blob = random_bytes(rng, s, o->blob_len);
    o->extra_count = random_len(rng, GENTEST_OUTER_EXTRA_COUNT_MAX);
    for (uint32_t i = 0; i < o->extra_count; i++) {
        random_tag(rng, s, &s->extra[i]);
    }
    o->extra = s->extra;
    o->offset = rng_next_u64(rng);
    o->bias = (int64_t)rng_next_u64(rng);
}

static _Alignas(STROM_ARENA_ALIGN) uint8_t arena_mem[1 << 16];
static uint8_t wire[8192];
static uint8_t wire2[8192];
static char text[65536];
static struct sample sample;

Test(gen, binary_round_trip_random) {
    struct rng rng;
    rng_init(&rng, 42);
    for (int it = 0; it < 20000; it++) {
        random_sample(&rng, &sample);
        size_t n = 0;
        cr_assert_eq(gentest_outer_encode(&sample.outer, wire, sizeof wire, &n), STROM_OK);
        cr_assert_eq(n, gentest_outer_encoded_bytes(&sample.outer), "iteration %d", it);
        struct strom_arena arena;
        strom_arena_init(&arena, arena_mem, sizeof arena_mem);
        struct gentest_outer back;
        cr_assert_eq(gentest_outer_decode(&back, wire, n, &arena), STROM_OK, "iteration %d", it);
        cr_assert(gentest_outer_equal(&sample.outer, &back), "iteration %d", it);
        cr_assert_leq(arena.bytes_used, GENTEST_OUTER_ARENA_BYTES_MAX);
        /* Views point into the input: zero copy. */
        if (back.blob_len > 0) {
            cr_assert(back.blob >= wire && back.blob + back.blob_len <= wire + n);
        }
        size_t n2 = 0;
        cr_assert_eq(gentest_outer_encode(&back, wire2, sizeof wire2, &n2), STROM_OK);
        cr_assert(n2 == n && memcmp(wire, wire2, n) == 0, "iteration %d", it);
    }
}

/* Reads one gentest.outer from text with its element lines. */
static strom_err parse_text(const char *t, size_t len, struct gentest_outer *out,
                            struct strom_arena *arena, struct strom_ssim_error *err) {
    struct strom_ssim_reader r;
    struct strom_ssim_record line;
    strom_ssim_reader_init(&r, t, len);
    strom_err e = strom_ssim_reader_next_in(&r, &line, arena, err);
    if (!e) {
        e = gentest_outer_ssim_parse(out, &line, &r, arena, err);
    }
    return e;
}

Test(gen, ssim_round_trip_random) {
    struct rng rng;
    rng_init(&rng, 7);
    for (int it = 0; it < 20000; it++) {
        random_sample(&rng, &sample);
        struct strom_ssim_writer w;
        strom_ssim_writer_init(&w, text, sizeof text);
        cr_assert_eq(gentest_outer_ssim_write(&sample.outer, &w), STROM_OK);
        struct strom_arena arena;
        strom_arena_init(&arena, arena_mem, sizeof arena_mem);
        struct gentest_outer back;
        struct strom_ssim_error err;
        strom_err e = parse_text(text, w.bytes_used, &back, &arena, &err);
        cr_assert_eq(e, STROM_OK, "iteration %d: line %u column %u: %s", it, err.line, err.column,
                     err.reason);
        cr_assert(gentest_outer_equal(&sample.outer, &back), "iteration %d: %.*s", it,
                  (int)w.bytes_used, text);
        /* One line for the record, one per item, per item tag and per extra tag. */
        size_t lines = 1 + back.items_count + back.extra_count;
        for (uint32_t i = 0; i < back.items_count; i++) {
            lines += back.items[i].tags_count;
        }
        size_t newlines = 0;
        for (size_t i = 0; i < w.bytes_used; i++) {
            newlines += text[i] == '\n';
        }
        cr_assert_eq(newlines, lines, "iteration %d", it);
    }
}

Test(gen, header_round_trip_and_exact_bytes) {
    struct gentest_header h = {
        .length = 0x01020304, .type = 0x0506, .request_id = 0x0708090a0b0c0d0eull};
    static const uint8_t want[GENTEST_HEADER_ENCODED_BYTES] = {
        0x04, 0x03, 0x02, 0x01, 0x06, 0x05, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09, 0x08, 0x07};
    size_t n = 0;
    cr_assert_eq(gentest_header_encoded_bytes(&h), 14);
    cr_assert_eq(gentest_header_encode(&h, wire, sizeof wire, &n), STROM_OK);
    cr_assert(n == sizeof want && memcmp(wire, want, n) == 0);
    cr_assert_eq(gentest_header_encode(&h, wire, 13, &n), STROM_ERR_OVERFLOW);
    struct gentest_header back;
    cr_assert_eq(gentest_header_decode(&back, want, sizeof want), STROM_OK);
    cr_assert(gentest_header_equal(&h, &back));
    for (size_t cut = 0; cut < sizeof want; cut++) {
        cr_assert_eq(gentest_header_decode(&back, want, cut), STROM_ERR_TRUNCATED, "cut %zu", cut);
    }
    uint8_t longer[15] = {0};
    memcpy(longer, want, sizeof want);
    cr_assert_eq(gentest_header_decode(&back, longer, sizeof longer), STROM_ERR_CORRUPT);
    /* Reading several from one buffer with the cursor. */
    struct strom_cursor in = strom_cursor_of(longer, sizeof longer);
    cr_assert_eq(gentest_header_take(&back, &in), STROM_OK);
    cr_assert_eq(strom_cursor_left(&in), 1);
}

/* A small outer whose encoding the test spells out byte by byte (docs/schema.md's example). */
static void small_outer(struct gentest_outer *o, struct gentest_item *item,
                        struct gentest_tag *tag) {
    memset(o, 0, sizeof *o);
    *tag = (struct gentest_tag){.label = "hi", .label_len = 2, .weight = 9};
    *item = (struct gentest_item){.seq = 5,
                                  .delta = -1,
                                  .payload = (const uint8_t *)"\x00\xff",
                                  .payload_len = 2,
                                  .tags = tag,
                                  .tags_count = 1,
                                  .urgent = true};
    o->version = 1;
    o->flags = 0x80000001u;
    o->small = 7;
    o->on = true;
    memcpy(o->digest, "ABCDEFGH", 8);
    o->name = "ann";
    o->name_len = 3;
    o->items = item;
    o->items_count = 1;
    o->offset = 3;
    o->bias = -2;
}

static const uint8_t small_wire[] = {
    0x01, 0x00,                                     /* version u16 */
    0x01, 0x00, 0x00, 0x80,                         /* flags u32 */
    0x07,                                           /* small u8 */
    0x01,                                           /* on bool */
    'A',  'B',  'C',  'D',  'E',  'F',  'G',  'H',  /* digest fixed 8 */
    0x03, 0x00, 0x00, 0x00, 'a',  'n',  'n',        /* name: u32 length, bytes */
    0x01, 0x00, 0x00, 0x00,                         /* items: u32 count */
    0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /*   seq u64 */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /*   delta i64 */
    0x02, 0x00, 0x00, 0x00, 0x00, 0xff,             /*   payload */
    0x01, 0x00, 0x00, 0x00,                         /*   tags: count */
    0x02, 0x00, 0x00, 0x00, 'h',  'i',              /*     label */
    0x09,                                           /*     weight u8 */
    0x01,                                           /*   urgent bool */
    0x00, 0x00, 0x00, 0x00,                         /* blob: empty */
    0x00, 0x00, 0x00, 0x00,                         /* extra: none */
    0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* offset u64 */
    0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* bias i64 */
};

/* Where each length or count prefix of small_wire is, and its maximum. */
static const struct {
    size_t at;
    uint32_t max;
} small_prefixes[] = {
    {16, GENTEST_OUTER_NAME_BYTES_MAX},   {23, GENTEST_OUTER_ITEMS_COUNT_MAX},
    {43, GENTEST_ITEM_PAYLOAD_BYTES_MAX}, {49, GENTEST_ITEM_TAGS_COUNT_MAX},
    {53, GENTEST_TAG_LABEL_BYTES_MAX},    {61, GENTEST_OUTER_BLOB_BYTES_MAX},
    {65, GENTEST_OUTER_EXTRA_COUNT_MAX},
};

Test(gen, exact_bytes_of_an_encoding) {
    struct gentest_outer o;
    struct gentest_item item;
    struct gentest_tag tag;
    small_outer(&o, &item, &tag);
    size_t n = 0;
    cr_assert_eq(gentest_outer_encode(&o, wire, sizeof wire, &n), STROM_OK);
    cr_assert_eq(n, sizeof small_wire);
    cr_assert(memcmp(wire, small_wire, n) == 0);
    cr_assert_eq(GENTEST_OUTER_ENCODED_BYTES_MIN, 48);
}

Test(gen, every_truncation_is_rejected) {
    struct strom_arena arena;
    strom_arena_init(&arena, arena_mem, sizeof arena_mem);
    struct gentest_outer back;
    for (size_t cut = 0; cut < sizeof small_wire; cut++) {
        cr_assert_eq(gentest_outer_decode(&back, small_wire, cut, &arena), STROM_ERR_TRUNCATED,
                     "cut at %zu", cut);
        cr_assert_eq(arena.bytes_used, 0, "arena given back at cut %zu", cut);
    }
    cr_assert_eq(gentest_outer_decode(&back, small_wire, sizeof small_wire, &arena), STROM_OK);
    uint8_t longer[sizeof small_wire + 1] = {0};
    memcpy(longer, small_wire, sizeof small_wire);
    strom_arena_reset(&arena);
    cr_assert_eq(gentest_outer_decode(&back, longer, sizeof longer, &arena), STROM_ERR_CORRUPT);
}

Test(gen, every_length_and_count_above_its_maximum_is_rejected) {
    struct strom_arena arena;
    strom_arena_init(&arena, arena_mem, sizeof arena_mem);
    struct gentest_outer back;
    uint8_t patched[sizeof small_wire];
    for (size_t i = 0; i < sizeof small_prefixes / sizeof small_prefixes[0]; i++) {
        size_t at = small_prefixes[i].at;
        uint32_t values[] = {small_prefixes[i].max + 1, UINT32_MAX};
        for (size_t v = 0; v < 2; v++) {
            memcpy(patched, small_wire, sizeof patched);
            uint8_t *p = patched + at;
            strom_put_u32(p, values[v]);
            strom_arena_reset(&arena);
            cr_assert_eq(gentest_outer_decode(&back, patched, sizeof patched, &arena),
                         STROM_ERR_TOO_LARGE, "prefix at %zu = %u", at, values[v]);
            cr_assert_eq(arena.bytes_used, 0);
        }
    }
    /* A bool other than 0 or 1. */
    memcpy(patched, small_wire, sizeof patched);
    patched[7] = 2;
    cr_assert_eq(gentest_outer_decode(&back, patched, sizeof patched, &arena), STROM_ERR_CORRUPT);
}

Test(gen, encoders_reject_values_above_their_maximum) {
    struct gentest_outer o;
    struct gentest_item item;
    struct gentest_tag tag;
    char big[512] = {0};
    size_t n;
    struct strom_ssim_writer w;
    small_outer(&o, &item, &tag);
    o.name = big;
    o.name_len = GENTEST_OUTER_NAME_BYTES_MAX + 1;
    cr_assert_eq(gentest_outer_check(&o), STROM_ERR_TOO_LARGE);
    cr_assert_eq(gentest_outer_encode(&o, wire, sizeof wire, &n), STROM_ERR_TOO_LARGE);
    strom_ssim_writer_init(&w, text, sizeof text);
    cr_assert_eq(gentest_outer_ssim_write(&o, &w), STROM_ERR_TOO_LARGE);
    cr_assert_eq(w.bytes_used, 0);
    small_outer(&o, &item, &tag);
    tag.label = big;
    tag.label_len = GENTEST_TAG_LABEL_BYTES_MAX + 1; /* two levels down */
    cr_assert_eq(gentest_outer_encode(&o, wire, sizeof wire, &n), STROM_ERR_TOO_LARGE);
    small_outer(&o, &item, &tag);
    item.tags_count = GENTEST_ITEM_TAGS_COUNT_MAX + 1;
    cr_assert_eq(gentest_outer_check(&o), STROM_ERR_TOO_LARGE);
    small_outer(&o, &item, &tag);
    o.extra = &tag;
    o.extra_count = GENTEST_OUTER_EXTRA_COUNT_MAX + 1;
    cr_assert_eq(gentest_outer_check(&o), STROM_ERR_TOO_LARGE);
    small_outer(&o, &item, &tag);
    o.blob = (const uint8_t *)big;
    o.blob_len = GENTEST_OUTER_BLOB_BYTES_MAX + 1;
    cr_assert_eq(gentest_outer_check(&o), STROM_ERR_TOO_LARGE);
    small_outer(&o, &item, &tag);
    cr_assert_eq(gentest_outer_encode(&o, wire, sizeof small_wire - 1, &n), STROM_ERR_OVERFLOW);
}

Test(gen, the_arena_bound_holds_the_largest_record_and_a_short_arena_is_a_limit) {
    static struct gentest_item items[GENTEST_OUTER_ITEMS_COUNT_MAX];
    static struct gentest_tag tags[GENTEST_ITEM_TAGS_COUNT_MAX];
    struct gentest_outer o;
    struct gentest_item item;
    struct gentest_tag tag;
    small_outer(&o, &item, &tag);
    for (int k = 0; k < GENTEST_ITEM_TAGS_COUNT_MAX; k++) {
        tags[k] = tag;
    }
    for (int i = 0; i < GENTEST_OUTER_ITEMS_COUNT_MAX; i++) {
        items[i] = item;
        items[i].tags = tags;
        items[i].tags_count = GENTEST_ITEM_TAGS_COUNT_MAX;
    }
    o.items = items;
    o.items_count = GENTEST_OUTER_ITEMS_COUNT_MAX;
    o.extra = tags;
    o.extra_count = GENTEST_OUTER_EXTRA_COUNT_MAX;
    size_t n = 0;
    cr_assert_eq(gentest_outer_encode(&o, wire, sizeof wire, &n), STROM_OK);
    struct strom_arena arena;
    struct gentest_outer back;
    strom_arena_init(&arena, arena_mem, GENTEST_OUTER_ARENA_BYTES_MAX);
    cr_assert_eq(gentest_outer_decode(&back, wire, n, &arena), STROM_OK);
    cr_assert(gentest_outer_equal(&o, &back));
    size_t needed = arena.bytes_used;
    strom_arena_init(&arena, arena_mem, needed - 1);
    cr_assert_eq(gentest_outer_decode(&back, wire, n, &arena), STROM_ERR_LIMIT);
    cr_assert_eq(arena.bytes_used, 0);
}

Test(gen, ssim_form_of_a_record) {
    struct gentest_outer o;
    struct gentest_item item;
    struct gentest_tag tag;
    small_outer(&o, &item, &tag);
    struct strom_ssim_writer w;
    strom_ssim_writer_init(&w, text, sizeof text);
    cr_assert_eq(gentest_outer_ssim_write(&o, &w), STROM_OK);
    const char *want = "gentest.outer  version:1  flags:2147483649  small:7  on:true  "
                       "digest:ABCDEFGH  name:ann  items:1  blob:\"\"  extra:0  offset:3  bias:-2\n"
                       "gentest.item  seq:5  delta:-1  payload:\"\\000\\377\"  tags:1  "
                       "urgent:true\n"
                       "gentest.tag  label:hi  weight:9\n";
    cr_assert_eq(w.bytes_used, strlen(want));
    cr_assert(memcmp(text, want, w.bytes_used) == 0, "%.*s", (int)w.bytes_used, text);
    /* Too small a buffer takes every line of the record back. */
    strom_ssim_writer_init(&w, text, strlen(want) - 1);
    cr_assert_eq(gentest_outer_ssim_write(&o, &w), STROM_ERR_OVERFLOW);
    cr_assert_eq(w.bytes_used, 0);
}

/* Parses t as a gentest.outer; returns the error and fills *err. */
static strom_err parse_str(const char *t, struct gentest_outer *out, struct strom_ssim_error *err) {
    static struct strom_arena arena;
    strom_arena_init(&arena, arena_mem, sizeof arena_mem);
    return parse_text(t, strlen(t), out, &arena, err);
}

Test(gen, ssim_defaults_and_errors) {
    struct gentest_outer o;
    struct strom_ssim_error err;
    cr_assert_eq(
        parse_str("gentest.outer flags:1 small:2 digest:12345678 items:0 blob:x extra:0", &o, &err),
        STROM_OK, "%s", err.reason);
    cr_assert_eq(o.version, 1);
    cr_assert_eq(o.on, false);
    cr_assert(o.name_len == 4 && memcmp(o.name, "anon", 4) == 0);
    cr_assert_eq(o.offset, UINT64_MAX);
    cr_assert_eq(o.bias, INT64_MIN);
    static const struct {
        const char *text;
        strom_err code;
        uint32_t line;
        uint32_t column;
        const char *reason;
    } cases[] = {
        {"gentest.outer small:2 digest:12345678 items:0 blob:x extra:0", STROM_ERR_PARSE, 1, 0,
         "missing key flags"},
        {"gentest.outer flags:1 small:2 digest:1234567 items:0 blob:x extra:0", STROM_ERR_PARSE, 1,
         38, "value of the wrong size"},
        {"gentest.outer flags:1 small:256 digest:12345678 items:0 blob:x extra:0",
         STROM_ERR_TOO_LARGE, 1, 29, "number above its maximum"},
        {"gentest.outer flags:1 small:2 digest:12345678 items:6 blob:x extra:0",
         STROM_ERR_TOO_LARGE, 1, 53, "number above its maximum"},
        {"gentest.outer flags:1 small:2 digest:12345678 items:0 blob:x extra:0 name:"
         "abcdefghijklmnopqrstuvwxy",
         STROM_ERR_TOO_LARGE, 1, 75, "value longer than its maximum"},
        {"gentest.outer flags:1 small:2 digest:12345678 items:0 blob:x extra:0 color:red",
         STROM_ERR_PARSE, 1, 70, "unknown key"},
        {"gentest.outer flags:1 small:2 digest:12345678 items:0 blob:x extra:0 on:maybe",
         STROM_ERR_PARSE, 1, 73, "true or false expected"},
        {"gentest.other flags:1", STROM_ERR_PARSE, 1, 1, "gentest.outer expected"},
        {"gentest.outer flags:1 small:2 digest:12345678 items:1 blob:x extra:0", STROM_ERR_PARSE, 1,
         0, "line expected: the text ends inside a record"},
        {"gentest.outer flags:1 small:2 digest:12345678 items:1 blob:x extra:0\n"
         "gentest.tag label:x weight:1",
         STROM_ERR_PARSE, 2, 1, "gentest.item expected"},
        {"gentest.outer flags:1 small:2 digest:12345678 items:1 blob:x extra:0\n"
         "# a comment between the lines is fine\n"
         "gentest.item seq:1 delta:-1 payload:\"\" tags:1 urgent:false\n"
         "gentest.tag label:toolongforalabel weight:1",
         STROM_ERR_TOO_LARGE, 4, 19, "value longer than its maximum"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        strom_err e = parse_str(cases[i].text, &o, &err);
        cr_assert_eq(e, cases[i].code, "case %zu: %s", i, strom_errname(e));
        cr_assert_eq(err.line, cases[i].line, "case %zu: line %u", i, err.line);
        cr_assert_eq(err.column, cases[i].column, "case %zu: column %u", i, err.column);
        cr_assert_str_eq(err.reason, cases[i].reason, "case %zu", i);
    }
}

Test(gen, ssim_element_lines_are_read_in_order) {
    const char *t = "gentest.outer flags:1 small:2 digest:12345678 items:2 blob:x extra:1\n"
                    "gentest.item seq:1 delta:-1 payload:\"a\\nb\" tags:2 urgent:false\n"
                    "gentest.tag label:first weight:1\n"
                    "gentest.tag label:\"sec ond\" weight:2\n"
                    "gentest.item seq:2 delta:3 payload:\"\" tags:0 urgent:true\n"
                    "gentest.tag label:extra weight:3\n";
    struct gentest_outer o;
    struct strom_ssim_error err;
    cr_assert_eq(parse_str(t, &o, &err), STROM_OK, "line %u: %s", err.line, err.reason);
    cr_assert_eq(o.items_count, 2);
    cr_assert_eq(o.items[0].tags_count, 2);
    cr_assert(o.items[0].payload_len == 3 && memcmp(o.items[0].payload, "a\nb", 3) == 0);
    cr_assert(o.items[0].tags[1].label_len == 7 &&
              memcmp(o.items[0].tags[1].label, "sec ond", 7) == 0);
    cr_assert_eq(o.items[1].seq, 2);
    cr_assert(o.items[1].urgent);
    cr_assert_eq(o.extra_count, 1);
    cr_assert_eq(o.extra[0].weight, 3);
}
