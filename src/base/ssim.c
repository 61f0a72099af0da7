/*
 * ssim.c: the ssim reader and writer (format in ssim.h and docs/ssim.md).
 *
 * The parser is one pass over the line with a byte-class table. It keeps two invariants: every
 * index it reads is below len (checked before each read), and every byte it writes to scratch is
 * below scratch_bytes (checked before each write). Values without escapes are views into the line,
 * so the common case copies nothing.
 */
#include "base/ssim.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"

_Static_assert(STROM_SSIM_LINE_BYTES_MAX < UINT32_MAX / 2, "columns and lengths fit in uint32_t");
_Static_assert(STROM_SSIM_FIELDS_MAX >= 1 && STROM_SSIM_NAME_BYTES_MAX >= 1, "positive limits");

/* Byte classes: a bit set per byte. */
enum {
    SSIM_BARE = 1u << 0,  /* may appear in a bare value: [A-Za-z0-9_;&*^%$@.!:,+/-] */
    SSIM_NAME = 1u << 1,  /* may appear in a type tag or key: [A-Za-z0-9_.-] */
    SSIM_BLANK = 1u << 2, /* separates fields: space, tab */
};

/*
 * The class of every byte. Bare: [A-Za-z0-9_;&*^%$@.!:,+/-]; name: [A-Za-z0-9_.-]; blank: space
 * and tab. Written out so that it is a constant; test_ssim.c checks it against those lists.
 */
static const uint8_t ssim_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    4, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 3, 3, 1, /* 0x20 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 1, 1, 0, 0, 0, 0, /* 0x30 */
    1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x40 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 1, 3, /* 0x50 */
    0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x60 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, /* 0x70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xa0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xb0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xc0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xd0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xe0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xf0 */
};

/* --- parsing --------------------------------------------------------------------------------- */

/* The state of one strom_ssim_parse call. */
struct ssim_parse {
    const uint8_t *line;
    size_t len;
    size_t pos;
    const uint8_t *cls;
    char *scratch;
    size_t scratch_bytes;
    size_t scratch_used;
    struct strom_ssim_error *err;
};

static strom_err parse_fail(struct ssim_parse *p, size_t pos, const char *reason, strom_err code) {
    if (p->err) {
        p->err->column = (uint32_t)(pos + 1);
        p->err->reason = reason;
    }
    return code;
}

static void skip_blanks(struct ssim_parse *p) {
    while (p->pos < p->len && (p->cls[p->line[p->pos]] & SSIM_BLANK)) {
        p->pos++;
    }
}

/* Scans a name (type tag or key) at p->pos; its length, 0 when none starts there. */
static size_t scan_name(struct ssim_parse *p) {
    size_t start = p->pos;
    while (p->pos < p->len && (p->cls[p->line[p->pos]] & SSIM_NAME)) {
        p->pos++;
    }
    return p->pos - start;
}

/* Decodes the escape whose backslash is at p->pos into *byte and moves past it; open is where the
 * quote opened (an escape cut by the end of the line is an unterminated quote). */
static strom_err parse_escape(struct ssim_parse *p, size_t open, uint8_t *byte) {
    size_t at = p->pos;
    if (at + 1 >= p->len) {
        return parse_fail(p, open, "unterminated quote", STROM_ERR_PARSE);
    }
    uint8_t c = p->line[at + 1];
    switch (c) {
    case '"':
    case '\'':
    case '\\':
        *byte = c;
        break;
    case 'n':
        *byte = '\n';
        break;
    case 't':
        *byte = '\t';
        break;
    case 'r':
        *byte = '\r';
        break;
    default: {
        unsigned v = 0;
        for (size_t i = 1; i <= 3; i++) {
            uint8_t d = at + i < p->len ? p->line[at + i] : 0;
            if (d < '0' || d > '7') {
                return parse_fail(p, at, "bad escape", STROM_ERR_PARSE);
            }
            v = v * 8 + (unsigned)(d - '0');
        }
        if (v > 255) {
            return parse_fail(p, at, "bad escape", STROM_ERR_PARSE);
        }
        *byte = (uint8_t)v;
        p->pos += 2; /* the other two of the four bytes \ooo */
        break;
    }
    }
    p->pos += 2;
    return STROM_OK;
}

/* Parses a quoted value whose opening quote is at p->pos into field. */
static strom_err parse_quoted(struct ssim_parse *p, struct strom_ssim_field *field) {
    uint8_t quote = p->line[p->pos];
    size_t open = p->pos;
    size_t start = open + 1;
    size_t at = start;
    while (at < p->len && p->line[at] != quote && p->line[at] != '\\' && p->line[at] != '\n') {
        at++;
    }
    if (at < p->len && p->line[at] == quote) { /* no escape: a view into the line */
        field->value = (const char *)p->line + start;
        field->value_len = (uint32_t)(at - start);
        p->pos = at + 1;
        return STROM_OK;
    }
    /* Escapes: copy what precedes the first one, then unescape byte by byte into scratch. */
    size_t out = p->scratch_used;
    if (p->scratch_bytes - out < at - start) {
        return parse_fail(p, open, "scratch buffer too small for the values", STROM_ERR_LIMIT);
    }
    memcpy(p->scratch + out, p->line + start, at - start);
    out += at - start;
    p->pos = at;
    for (;;) {
        if (p->pos >= p->len || p->line[p->pos] == '\n') {
            return parse_fail(p, open, "unterminated quote", STROM_ERR_PARSE);
        }
        uint8_t c = p->line[p->pos];
        if (c == quote) {
            break;
        }
        if (c == '\\') {
            strom_err e = parse_escape(p, open, &c);
            if (e) {
                return e;
            }
        } else {
            p->pos++;
        }
        if (out >= p->scratch_bytes) {
            return parse_fail(p, open, "scratch buffer too small for the values", STROM_ERR_LIMIT);
        }
        p->scratch[out++] = (char)c;
    }
    field->value = p->scratch + p->scratch_used;
    field->value_len = (uint32_t)(out - p->scratch_used);
    p->scratch_used = out;
    p->pos++; /* the closing quote */
    return STROM_OK;
}

/* Parses a bare value at p->pos (possibly empty) into field. */
static strom_err parse_bare(struct ssim_parse *p, struct strom_ssim_field *field) {
    size_t start = p->pos;
    while (p->pos < p->len && (p->cls[p->line[p->pos]] & SSIM_BARE)) {
        p->pos++;
    }
    if (p->pos < p->len && !(p->cls[p->line[p->pos]] & SSIM_BLANK)) {
        return parse_fail(p, p->pos, "character must be quoted", STROM_ERR_PARSE);
    }
    field->value = (const char *)p->line + start;
    field->value_len = (uint32_t)(p->pos - start);
    return STROM_OK;
}

static bool field_key_is(const struct strom_ssim_field *f, const char *key, size_t key_len) {
    return f->key_len == key_len && memcmp(f->key, key, key_len) == 0;
}

/* Parses one key:value at p->pos (not blank, not the end) into the record's next field. */
static strom_err parse_field(struct ssim_parse *p, struct strom_ssim_record *rec) {
    size_t key_at = p->pos;
    size_t key_len = scan_name(p);
    if (key_len == 0) {
        return parse_fail(p, key_at, "key expected", STROM_ERR_PARSE);
    }
    if (key_len > STROM_SSIM_NAME_BYTES_MAX) {
        return parse_fail(p, key_at, "key too long", STROM_ERR_PARSE);
    }
    if (p->pos >= p->len || (p->cls[p->line[p->pos]] & SSIM_BLANK)) {
        return parse_fail(p, p->pos, "':' expected after the key", STROM_ERR_PARSE);
    }
    if (p->line[p->pos] != ':') {
        return parse_fail(p, p->pos, "bad character in key", STROM_ERR_PARSE);
    }
    if (rec->field_count == STROM_SSIM_FIELDS_MAX) {
        return parse_fail(p, key_at, "too many fields", STROM_ERR_PARSE);
    }
    const char *key = (const char *)p->line + key_at;
    for (uint32_t i = 0; i < rec->field_count; i++) {
        if (field_key_is(&rec->fields[i], key, key_len)) {
            return parse_fail(p, key_at, "duplicate key", STROM_ERR_PARSE);
        }
    }
    p->pos++; /* ':' */
    struct strom_ssim_field *f = &rec->fields[rec->field_count];
    f->key = key;
    f->key_len = (uint32_t)key_len;
    f->column = (uint32_t)(key_at + 1);
    f->value_column = (uint32_t)(p->pos + 1);
    strom_err e;
    if (p->pos < p->len && (p->line[p->pos] == '"' || p->line[p->pos] == '\'')) {
        e = parse_quoted(p, f);
        if (!e && p->pos < p->len && !(p->cls[p->line[p->pos]] & SSIM_BLANK)) {
            e = parse_fail(p, p->pos, "space expected after the closing quote", STROM_ERR_PARSE);
        }
    } else {
        e = parse_bare(p, f);
    }
    if (!e) {
        rec->field_count++;
    }
    return e;
}

/* Parses the type tag at p->pos (not blank, not the end). */
static strom_err parse_type(struct ssim_parse *p, struct strom_ssim_record *rec) {
    size_t at = p->pos;
    size_t n = scan_name(p);
    if (n == 0) {
        return parse_fail(p, at, "type tag expected", STROM_ERR_PARSE);
    }
    if (n > STROM_SSIM_NAME_BYTES_MAX) {
        return parse_fail(p, at, "type tag too long", STROM_ERR_PARSE);
    }
    if (p->pos < p->len && !(p->cls[p->line[p->pos]] & SSIM_BLANK)) {
        return parse_fail(p, p->pos,
                          p->line[p->pos] == ':' ? "type tag expected before the key"
                                                 : "bad character in type tag",
                          STROM_ERR_PARSE);
    }
    rec->type = (const char *)p->line + at;
    rec->type_len = (uint32_t)n;
    return STROM_OK;
}

strom_err strom_ssim_parse(struct strom_ssim_record *rec, const char *line, size_t len,
                           char *scratch, size_t scratch_bytes, struct strom_ssim_error *err) {
    strom_assert(rec != NULL && (line != NULL || len == 0));
    strom_assert(scratch != NULL || scratch_bytes == 0);
    rec->type = NULL;
    rec->type_len = 0;
    rec->field_count = 0;
    rec->line = 0;
    rec->scratch_bytes_used = 0;
    if (err) {
        err->line = 0;
        err->column = 0;
        err->reason = "";
    }
    struct ssim_parse p = {
        .line = (const uint8_t *)line,
        .len = len,
        .cls = ssim_class,
        .scratch = scratch,
        .scratch_bytes = scratch_bytes,
        .err = err,
    };
    if (len > STROM_SSIM_LINE_BYTES_MAX) {
        return parse_fail(&p, STROM_SSIM_LINE_BYTES_MAX, "line too long", STROM_ERR_PARSE);
    }
    if (p.len > 0 && p.line[p.len - 1] == '\r') {
        p.len--;
    }
    skip_blanks(&p);
    if (p.pos == p.len || p.line[p.pos] == '#') {
        return STROM_ERR_EMPTY;
    }
    strom_err e = parse_type(&p, rec);
    while (!e) {
        skip_blanks(&p);
        if (p.pos == p.len) {
            break;
        }
        e = parse_field(&p, rec);
    }
    if (e) {
        rec->type_len = 0;
        rec->field_count = 0;
    }
    rec->scratch_bytes_used = (uint32_t)p.scratch_used;
    strom_assert(p.scratch_used <= scratch_bytes);
    return e;
}

bool strom_ssim_is(const struct strom_ssim_record *rec, const char *type) {
    size_t n = strlen(type);
    return rec->type_len == n && memcmp(rec->type, type, n) == 0;
}

const struct strom_ssim_field *strom_ssim_find(const struct strom_ssim_record *rec,
                                               const char *key) {
    size_t n = strlen(key);
    for (uint32_t i = 0; i < rec->field_count; i++) {
        if (field_key_is(&rec->fields[i], key, n)) {
            return &rec->fields[i];
        }
    }
    return NULL;
}

/* --- typed getters --------------------------------------------------------------------------- */

strom_err strom_ssim_fail(const struct strom_ssim_record *rec, uint32_t column, const char *reason,
                          strom_err code, struct strom_ssim_error *err) {
    strom_assert(code != STROM_OK && reason != NULL);
    if (err) {
        err->line = rec->line;
        err->column = column;
        err->reason = reason;
    }
    return code;
}

strom_err strom_ssim_fail_at(const struct strom_ssim_record *rec, uint32_t column,
                             const char *reason, struct strom_ssim_error *err) {
    return strom_ssim_fail(rec, column, reason, STROM_ERR_PARSE, err);
}

/* Decimal digits to a u64; false when empty, not all digits or above 2^64-1. */
static bool digits_u64(const char *s, size_t n, uint64_t *out) {
    uint64_t v = 0;
    if (n == 0 || n > 20) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

strom_err strom_ssim_field_u64(const struct strom_ssim_record *rec,
                               const struct strom_ssim_field *field, uint64_t *out,
                               struct strom_ssim_error *err) {
    if (!digits_u64(field->value, field->value_len, out)) {
        return strom_ssim_fail(rec, field->value_column, "unsigned integer expected",
                               STROM_ERR_PARSE, err);
    }
    return STROM_OK;
}

strom_err strom_ssim_field_i64(const struct strom_ssim_record *rec,
                               const struct strom_ssim_field *field, int64_t *out,
                               struct strom_ssim_error *err) {
    bool negative = field->value_len > 0 && field->value[0] == '-';
    size_t skip = negative ? 1 : 0;
    uint64_t magnitude;
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (!digits_u64(field->value + skip, field->value_len - skip, &magnitude) ||
        magnitude > limit) {
        return strom_ssim_fail(rec, field->value_column, "signed integer expected", STROM_ERR_PARSE,
                               err);
    }
    /* -(2^63) has no positive counterpart: negate in unsigned arithmetic. */
    *out = negative ? (int64_t)(0 - magnitude) : (int64_t)magnitude;
    return STROM_OK;
}

strom_err strom_ssim_field_bool(const struct strom_ssim_record *rec,
                                const struct strom_ssim_field *field, bool *out,
                                struct strom_ssim_error *err) {
    const char *v = field->value;
    uint32_t n = field->value_len;
    if ((n == 4 && memcmp(v, "true", 4) == 0) || (n == 1 && v[0] == '1')) {
        *out = true;
    } else if ((n == 5 && memcmp(v, "false", 5) == 0) || (n == 1 && v[0] == '0')) {
        *out = false;
    } else {
        return strom_ssim_fail(rec, field->value_column, "true or false expected", STROM_ERR_PARSE,
                               err);
    }
    return STROM_OK;
}

bool strom_ssim_key_is(const struct strom_ssim_field *field, const char *key) {
    size_t n = strlen(key);
    return field_key_is(field, key, n);
}

strom_err strom_ssim_field_uint(const struct strom_ssim_record *rec,
                                const struct strom_ssim_field *field, uint64_t max, uint64_t *out,
                                struct strom_ssim_error *err) {
    strom_err e = strom_ssim_field_u64(rec, field, out, err);
    if (!e && *out > max) {
        e = strom_ssim_fail(rec, field->value_column, "number above its maximum",
                            STROM_ERR_TOO_LARGE, err);
    }
    return e;
}

strom_err strom_ssim_field_max(const struct strom_ssim_record *rec,
                               const struct strom_ssim_field *field, uint64_t max,
                               struct strom_ssim_error *err) {
    if (field->value_len > max) {
        return strom_ssim_fail(rec, field->value_column, "value longer than its maximum",
                               STROM_ERR_TOO_LARGE, err);
    }
    return STROM_OK;
}

strom_err strom_ssim_field_size(const struct strom_ssim_record *rec,
                                const struct strom_ssim_field *field, uint64_t size,
                                struct strom_ssim_error *err) {
    if (field->value_len != size) {
        return strom_ssim_fail(rec, field->value_column, "value of the wrong size", STROM_ERR_PARSE,
                               err);
    }
    return STROM_OK;
}

/* The field named key, or NOT_FOUND with err filled. */
static strom_err find_or_fail(const struct strom_ssim_record *rec, const char *key,
                              const struct strom_ssim_field **field, struct strom_ssim_error *err) {
    *field = strom_ssim_find(rec, key);
    if (*field == NULL) {
        return strom_ssim_fail(rec, 0, "missing key", STROM_ERR_NOT_FOUND, err);
    }
    return STROM_OK;
}

strom_err strom_ssim_get_u64(const struct strom_ssim_record *rec, const char *key, uint64_t *out,
                             struct strom_ssim_error *err) {
    const struct strom_ssim_field *f;
    strom_err e = find_or_fail(rec, key, &f, err);
    return e ? e : strom_ssim_field_u64(rec, f, out, err);
}

strom_err strom_ssim_get_i64(const struct strom_ssim_record *rec, const char *key, int64_t *out,
                             struct strom_ssim_error *err) {
    const struct strom_ssim_field *f;
    strom_err e = find_or_fail(rec, key, &f, err);
    return e ? e : strom_ssim_field_i64(rec, f, out, err);
}

strom_err strom_ssim_get_bool(const struct strom_ssim_record *rec, const char *key, bool *out,
                              struct strom_ssim_error *err) {
    const struct strom_ssim_field *f;
    strom_err e = find_or_fail(rec, key, &f, err);
    return e ? e : strom_ssim_field_bool(rec, f, out, err);
}

strom_err strom_ssim_get_str(const struct strom_ssim_record *rec, const char *key, const char **out,
                             uint32_t *out_len, struct strom_ssim_error *err) {
    const struct strom_ssim_field *f;
    strom_err e = find_or_fail(rec, key, &f, err);
    if (!e) {
        *out = f->value;
        *out_len = f->value_len;
    }
    return e;
}

void strom_ssim_error_format(const struct strom_ssim_error *err, char *buf, size_t bytes_max) {
    if (bytes_max == 0) {
        return;
    }
    if (err->line > 0 && err->column > 0) {
        snprintf(buf, bytes_max, "line %u, column %u: %s", err->line, err->column, err->reason);
    } else if (err->line > 0) {
        snprintf(buf, bytes_max, "line %u: %s", err->line, err->reason);
    } else if (err->column > 0) {
        snprintf(buf, bytes_max, "column %u: %s", err->column, err->reason);
    } else {
        snprintf(buf, bytes_max, "%s", err->reason);
    }
}

/* --- the multi-line reader ------------------------------------------------------------------- */

void strom_ssim_reader_init(struct strom_ssim_reader *r, const char *text, size_t len) {
    strom_assert(text != NULL || len == 0);
    r->text = text;
    r->len = len;
    r->pos = 0;
    r->line = 0;
}

strom_err strom_ssim_reader_next(struct strom_ssim_reader *r, struct strom_ssim_record *rec,
                                 char *scratch, size_t scratch_bytes,
                                 struct strom_ssim_error *err) {
    strom_assert(r->pos <= r->len);
    strom_err e = STROM_ERR_END;
    while (r->pos < r->len) {
        const char *line = r->text + r->pos;
        const char *nl = memchr(line, '\n', r->len - r->pos);
        size_t n = nl ? (size_t)(nl - line) : r->len - r->pos;
        r->pos += nl ? n + 1 : n;
        r->line++;
        e = strom_ssim_parse(rec, line, n, scratch, scratch_bytes, err);
        rec->line = r->line;
        if (err) {
            err->line = r->line;
        }
        if (e != STROM_ERR_EMPTY) {
            break;
        }
        e = STROM_ERR_END;
    }
    return e;
}

strom_err strom_ssim_reader_next_in(struct strom_ssim_reader *r, struct strom_ssim_record *rec,
                                    struct strom_arena *arena, struct strom_ssim_error *err) {
    size_t scratch_bytes;
    char *scratch = strom_arena_rest(arena, &scratch_bytes);
    strom_err e = strom_ssim_reader_next(r, rec, scratch, scratch_bytes, err);
    if (e == STROM_OK) {
        void *kept = strom_arena_alloc(arena, rec->scratch_bytes_used, 1);
        strom_assert(kept == scratch || rec->scratch_bytes_used == 0);
    } else if (e == STROM_ERR_END) {
        rec->line = r->line;
        e = strom_ssim_fail(rec, 0, "line expected: the text ends inside a record", STROM_ERR_PARSE,
                            err);
    }
    return e;
}

/* --- writing --------------------------------------------------------------------------------- */

void strom_ssim_writer_init(struct strom_ssim_writer *w, char *buf, size_t bytes_max) {
    strom_assert(buf != NULL || bytes_max == 0);
    w->buf = buf;
    w->bytes_max = bytes_max;
    w->bytes_used = 0;
    w->line_start = 0;
    w->overflow = false;
    w->in_line = false;
}

/* Room for n more bytes at the end of the line, or NULL (and the overflow flag) when none. */
static char *writer_reserve(struct strom_ssim_writer *w, size_t n) {
    if (w->overflow || w->bytes_max - w->bytes_used < n) {
        w->overflow = true;
        return NULL;
    }
    char *at = w->buf + w->bytes_used;
    w->bytes_used += n;
    return at;
}

static void writer_put(struct strom_ssim_writer *w, const void *bytes, size_t n) {
    char *at = writer_reserve(w, n);
    if (at) {
        memcpy(at, bytes, n);
    }
}

static void assert_name(const char *name) {
    const uint8_t *cls = ssim_class;
    size_t n = strlen(name);
    strom_assert(n >= 1 && n <= STROM_SSIM_NAME_BYTES_MAX);
    for (size_t i = 0; i < n; i++) {
        strom_assert(cls[(uint8_t)name[i]] & SSIM_NAME);
    }
}

void strom_ssim_write_type(struct strom_ssim_writer *w, const char *type) {
    strom_assert(!w->in_line);
    assert_name(type);
    w->in_line = true;
    w->line_start = w->bytes_used;
    w->overflow = false;
    writer_put(w, type, strlen(type));
}

/* Bytes that byte c takes inside quotes q. */
static size_t quoted_bytes(uint8_t c, uint8_t q) {
    if (c == q || c == '\\' || c == '\n' || c == '\t' || c == '\r') {
        return 2;
    }
    return (c < 32 || c > 126) ? 4 : 1;
}

void strom_ssim_write_value(struct strom_ssim_writer *w, const void *value, size_t len) {
    strom_assert(value != NULL || len == 0);
    const uint8_t *v = value;
    const uint8_t *cls = ssim_class;
    size_t dq = 0;
    size_t sq = 0;
    bool bare = len > 0;
    for (size_t i = 0; i < len; i++) {
        bare = bare && (cls[v[i]] & SSIM_BARE);
        dq += v[i] == '"';
        sq += v[i] == '\'';
    }
    if (bare) {
        writer_put(w, v, len);
        return;
    }
    uint8_t q = dq > sq ? '\'' : '"';
    size_t n = 2;
    for (size_t i = 0; i < len; i++) {
        n += quoted_bytes(v[i], q);
    }
    char *out = writer_reserve(w, n);
    if (out == NULL) {
        return;
    }
    *out++ = (char)q;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = v[i];
        size_t k = quoted_bytes(c, q);
        if (k == 1) {
            *out++ = (char)c;
        } else if (k == 4) {
            *out++ = '\\';
            *out++ = (char)('0' + (c >> 6));
            *out++ = (char)('0' + ((c >> 3) & 7));
            *out++ = (char)('0' + (c & 7));
        } else {
            *out++ = '\\';
            *out++ = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : (char)c;
        }
    }
    *out++ = (char)q;
    strom_assert(out == w->buf + w->bytes_used);
}

/* Appends the separator and "key:". */
static void write_key(struct strom_ssim_writer *w, const char *key) {
    strom_assert(w->in_line);
    assert_name(key);
    size_t n = strlen(key);
    char *at = writer_reserve(w, n + 3);
    if (at) {
        at[0] = ' ';
        at[1] = ' ';
        memcpy(at + 2, key, n);
        at[n + 2] = ':';
    }
}

void strom_ssim_write_bytes(struct strom_ssim_writer *w, const char *key, const void *value,
                            size_t len) {
    write_key(w, key);
    strom_ssim_write_value(w, value, len);
}

void strom_ssim_write_str(struct strom_ssim_writer *w, const char *key, const char *value) {
    strom_ssim_write_bytes(w, key, value, strlen(value));
}

void strom_ssim_write_u64(struct strom_ssim_writer *w, const char *key, uint64_t value) {
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - 1 - n] = (char)('0' + value % 10);
        value /= 10;
        n++;
    } while (value > 0);
    write_key(w, key);
    writer_put(w, digits + sizeof digits - n, n);
}

void strom_ssim_write_i64(struct strom_ssim_writer *w, const char *key, int64_t value) {
    if (value >= 0) {
        strom_ssim_write_u64(w, key, (uint64_t)value);
        return;
    }
    char digits[20];
    size_t n = 0;
    uint64_t magnitude = 0 - (uint64_t)value; /* INT64_MIN has no positive int64_t */
    do {
        digits[sizeof digits - 1 - n] = (char)('0' + magnitude % 10);
        magnitude /= 10;
        n++;
    } while (magnitude > 0);
    write_key(w, key);
    writer_put(w, "-", 1);
    writer_put(w, digits + sizeof digits - n, n);
}

void strom_ssim_write_bool(struct strom_ssim_writer *w, const char *key, bool value) {
    write_key(w, key);
    writer_put(w, value ? "true" : "false", value ? 4 : 5);
}

strom_err strom_ssim_writer_end(struct strom_ssim_writer *w) {
    strom_assert(w->in_line);
    writer_put(w, "\n", 1);
    strom_err e = STROM_OK;
    if (w->overflow) {
        w->bytes_used = w->line_start;
        e = STROM_ERR_OVERFLOW;
    }
    w->overflow = false;
    w->in_line = false;
    w->line_start = w->bytes_used;
    return e;
}

size_t strom_ssim_writer_mark(const struct strom_ssim_writer *w) {
    strom_assert(!w->in_line);
    return w->bytes_used;
}

void strom_ssim_writer_rollback(struct strom_ssim_writer *w, size_t mark) {
    strom_assert(!w->in_line && mark <= w->bytes_used);
    w->bytes_used = mark;
    w->line_start = mark;
    w->overflow = false;
}
