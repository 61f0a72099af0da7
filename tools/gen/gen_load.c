/*
 * gen_load.c: reading schema files into struct gen, and resolving them (the language is
 * docs/schema.md).
 *
 * gen_load checks each line on its own (known record types and keys, name syntax, type names)
 * and reports the first error with file, line and column. gen_resolve then checks what needs all
 * files: references to records and constants, unique names and ids, maxima, defaults, cycles of
 * nested arrays; it derives each record's encoded minimum size and whether it has arrays.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/ssim.h"
#include "gen.h"

/* The line being loaded, for error messages. */
struct load {
    struct gen *g;
    int file;
    const struct strom_ssim_record *rec;
};

static strom_err gen_fail(struct gen *g, const char *path, uint32_t line, uint32_t column,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static strom_err gen_fail(struct gen *g, const char *path, uint32_t line, uint32_t column,
                          const char *fmt, ...) {
    char msg[GEN_ERROR_BYTES_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g->error[0] == '\0') {
        if (column > 0) {
            snprintf(g->error, sizeof g->error, "%s:%u:%u: %s", path, line, column, msg);
        } else {
            snprintf(g->error, sizeof g->error, "%s:%u: %s", path, line, msg);
        }
    }
    return STROM_ERR_PARSE;
}

static strom_err load_fail(const struct load *l, const struct strom_ssim_field *f, const char *fmt,
                           ...) __attribute__((format(printf, 3, 4)));

static strom_err load_fail(const struct load *l, const struct strom_ssim_field *f, const char *fmt,
                           ...) {
    char msg[GEN_ERROR_BYTES_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gen_fail(l->g, l->g->files[l->file].path, l->rec->line, f ? f->value_column : 1, "%s",
                    msg);
}

/* Copies a comment, whose words must be short enough to wrap within the column limit. */
static strom_err copy_comment(const struct load *l, const struct strom_ssim_field *f, char *dst,
                              size_t dst_bytes);

/* Copies f's value into dst (dst_bytes with the NUL); an error when it does not fit. */
static strom_err copy_value(const struct load *l, const struct strom_ssim_field *f, char *dst,
                            size_t dst_bytes) {
    if (f->value_len >= dst_bytes) {
        return load_fail(l, f, "%.*s is longer than %zu bytes", (int)f->key_len, f->key,
                         dst_bytes - 1);
    }
    memcpy(dst, f->value, f->value_len);
    dst[f->value_len] = '\0';
    return STROM_OK;
}

static strom_err copy_comment(const struct load *l, const struct strom_ssim_field *f, char *dst,
                              size_t dst_bytes) {
    size_t word = 0;
    for (uint32_t i = 0; i < f->value_len; i++) {
        uint8_t c = (uint8_t)f->value[i];
        word = c == ' ' ? 0 : word + 1;
        if (c < 32 || c > 126 || word > GEN_COMMENT_WORD_BYTES_MAX) {
            return load_fail(l, f, "a comment is printable ASCII in words of at most %d bytes",
                             GEN_COMMENT_WORD_BYTES_MAX);
        }
    }
    return copy_value(l, f, dst, dst_bytes);
}

/* [a-z][a-z0-9_]* */
static bool is_ident(const char *s) {
    if (!(s[0] >= 'a' && s[0] <= 'z')) {
        return false;
    }
    for (const char *c = s; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
            return false;
        }
    }
    return true;
}

/* Two or more identifiers joined by '.': "strom.stream_created". */
static bool is_dotted(const char *s) {
    char part[GEN_NAME_BYTES_MAX + 1];
    int parts = 0;
    size_t n = strlen(s);
    if (n == 0 || n > GEN_NAME_BYTES_MAX) {
        return false;
    }
    for (const char *start = s;;) {
        const char *dot = strchr(start, '.');
        size_t len = dot ? (size_t)(dot - start) : strlen(start);
        memcpy(part, start, len);
        part[len] = '\0';
        if (!is_ident(part)) {
            return false;
        }
        parts++;
        if (!dot) {
            break;
        }
        start = dot + 1;
    }
    return parts >= 2;
}

static bool is_c_keyword(const char *s) {
    static const char *const words[] = {
        "auto",    "break",  "case",     "char",    "const",         "continue",     "default",
        "do",      "double", "else",     "enum",    "extern",        "float",        "for",
        "goto",    "if",     "inline",   "int",     "long",          "register",     "restrict",
        "return",  "short",  "signed",   "sizeof",  "static",        "struct",       "switch",
        "typedef", "union",  "unsigned", "void",    "volatile",      "while",        "bool",
        "true",    "false",  "alignas",  "alignof", "static_assert", "thread_local", "asm",
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strcmp(s, words[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* "a.b_c" -> "a_b_c" (lower) or "A_B_C" (upper). */
static void c_name(const char *name, char *out, bool upper) {
    size_t i = 0;
    for (; name[i]; i++) {
        char c = name[i] == '.' ? '_' : name[i];
        out[i] = upper && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    out[i] = '\0';
}

/* Copies a dotted name (record, constant) from f into dst, checking its syntax. */
static strom_err copy_dotted(const struct load *l, const struct strom_ssim_field *f, char *dst) {
    strom_err e = copy_value(l, f, dst, GEN_NAME_BYTES_MAX + 1);
    if (!e && !is_dotted(dst)) {
        e = load_fail(l, f,
                      "%s is not a name like space.name (lower case letters, digits, '_', "
                      "separated by '.')",
                      dst);
    }
    return e;
}

/* A number or a constant's name into n (resolved later). */
static strom_err copy_number(const struct load *l, const struct strom_ssim_field *f,
                             struct gen_number *n) {
    strom_err e = copy_value(l, f, n->text, sizeof n->text);
    bool digits = n->text[0] >= '0' && n->text[0] <= '9';
    if (!e && !digits && !is_dotted(n->text)) {
        e = load_fail(l, f, "%s is neither a number nor the name of a gen.const", n->text);
    }
    n->const_index = -1;
    return e;
}

static strom_err unknown_key(const struct load *l, const struct strom_ssim_field *f) {
    return gen_fail(l->g, l->g->files[l->file].path, l->rec->line, f->column,
                    "unknown key %.*s for %.*s", (int)f->key_len, f->key, (int)l->rec->type_len,
                    l->rec->type);
}

static strom_err require(const struct load *l, bool present, const char *key) {
    if (!present) {
        return load_fail(l, NULL, "%.*s needs %s", (int)l->rec->type_len, l->rec->type, key);
    }
    return STROM_OK;
}

/* gen.schema name:<file stem> comment:"..." */
static strom_err load_schema(const struct load *l) {
    struct gen_file *file = &l->g->files[l->file];
    char name[GEN_NAME_BYTES_MAX + 1] = "";
    strom_err e = STROM_OK;
    for (uint32_t i = 0; i < l->rec->field_count && !e; i++) {
        const struct strom_ssim_field *f = &l->rec->fields[i];
        if (strom_ssim_key_is(f, "name")) {
            e = copy_value(l, f, name, sizeof name);
            if (!e && strcmp(name, file->stem) != 0) {
                e = load_fail(l, f, "gen.schema name %s differs from the file's name %s", name,
                              file->stem);
            }
        } else if (strom_ssim_key_is(f, "comment")) {
            e = copy_comment(l, f, file->comment, sizeof file->comment);
        } else {
            e = unknown_key(l, f);
        }
    }
    return e ? e : require(l, name[0] != '\0', "name");
}

/* gen.const name:space.name value:<u64> comment:"..." */
static strom_err load_const(const struct load *l) {
    struct gen *g = l->g;
    if (g->const_count == GEN_CONSTS_MAX) {
        return load_fail(l, NULL, "more than %d gen.const", GEN_CONSTS_MAX);
    }
    struct gen_const *c = &g->consts[g->const_count];
    memset(c, 0, sizeof *c);
    bool has_value = false;
    strom_err e = STROM_OK;
    for (uint32_t i = 0; i < l->rec->field_count && !e; i++) {
        const struct strom_ssim_field *f = &l->rec->fields[i];
        if (strom_ssim_key_is(f, "name")) {
            e = copy_dotted(l, f, c->name);
        } else if (strom_ssim_key_is(f, "value")) {
            e = strom_ssim_field_u64(l->rec, f, &c->value, NULL);
            e = e ? load_fail(l, f, "value must be an unsigned integer") : e;
            has_value = true;
        } else if (strom_ssim_key_is(f, "comment")) {
            e = copy_comment(l, f, c->comment, sizeof c->comment);
        } else {
            e = unknown_key(l, f);
        }
    }
    e = e ? e : require(l, c->name[0] != '\0', "name");
    e = e ? e : require(l, has_value, "value");
    if (!e) {
        c_name(c->name, c->upper, true);
        c->file = l->file;
        c->line = l->rec->line;
        g->const_count++;
    }
    return e;
}

/* gen.record name:space.name id:<u64> comment:"..." */
static strom_err load_record(const struct load *l) {
    struct gen *g = l->g;
    if (g->record_count == GEN_RECORDS_MAX) {
        return load_fail(l, NULL, "more than %d gen.record", GEN_RECORDS_MAX);
    }
    struct gen_record *r = &g->records[g->record_count];
    memset(r, 0, sizeof *r);
    strom_err e = STROM_OK;
    for (uint32_t i = 0; i < l->rec->field_count && !e; i++) {
        const struct strom_ssim_field *f = &l->rec->fields[i];
        if (strom_ssim_key_is(f, "name")) {
            e = copy_dotted(l, f, r->name);
        } else if (strom_ssim_key_is(f, "id")) {
            e = strom_ssim_field_u64(l->rec, f, &r->id, NULL);
            e = e ? load_fail(l, f, "id must be an unsigned integer") : e;
            r->has_id = true;
        } else if (strom_ssim_key_is(f, "comment")) {
            e = copy_comment(l, f, r->comment, sizeof r->comment);
        } else {
            e = unknown_key(l, f);
        }
    }
    e = e ? e : require(l, r->name[0] != '\0', "name");
    if (!e) {
        c_name(r->name, r->cname, false);
        c_name(r->name, r->upper, true);
        r->file = l->file;
        r->line = l->rec->line;
        g->record_count++;
    }
    return e;
}

static strom_err parse_type(const struct load *l, const struct strom_ssim_field *f,
                            enum gen_type *type) {
    static const struct {
        const char *name;
        enum gen_type type;
    } types[] = {
        {"u8", GEN_U8},         {"u16", GEN_U16},     {"u32", GEN_U32},     {"u64", GEN_U64},
        {"i64", GEN_I64},       {"bool", GEN_BOOL},   {"fixed", GEN_FIXED}, {"bytes", GEN_BYTES},
        {"string", GEN_STRING}, {"array", GEN_ARRAY},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (f->value_len == strlen(types[i].name) &&
            memcmp(f->value, types[i].name, f->value_len) == 0) {
            *type = types[i].type;
            return STROM_OK;
        }
    }
    return load_fail(l, f,
                     "unknown field type %.*s (u8 u16 u32 u64 i64 bool fixed bytes string array)",
                     (int)f->value_len, f->value);
}

/* The record a gen.field belongs to: declared before it, in the same file. */
static strom_err field_owner(const struct load *l, const struct strom_ssim_field *f,
                             struct gen_record **out) {
    char name[GEN_NAME_BYTES_MAX + 1];
    strom_err e = copy_dotted(l, f, name);
    for (uint32_t i = 0; i < l->g->record_count && !e; i++) {
        struct gen_record *r = &l->g->records[i];
        if (r->file == l->file && strcmp(r->name, name) == 0) {
            *out = r;
            return STROM_OK;
        }
    }
    return e ? e : load_fail(l, f, "no gen.record %s before this line in this file", name);
}

/* One key of a gen.field line into *fd (and *owner for record:). */
static strom_err load_field_key(const struct load *l, const struct strom_ssim_field *f,
                                struct gen_field *fd, struct gen_record **owner, bool *has_type) {
    strom_err e = STROM_OK;
    if (strom_ssim_key_is(f, "record")) {
        e = field_owner(l, f, owner);
    } else if (strom_ssim_key_is(f, "name")) {
        e = copy_value(l, f, fd->name, sizeof fd->name);
        if (!e && (!is_ident(fd->name) || is_c_keyword(fd->name))) {
            e = load_fail(l, f, "field name %s is not a C identifier [a-z][a-z0-9_]*", fd->name);
        }
    } else if (strom_ssim_key_is(f, "type")) {
        e = parse_type(l, f, &fd->type);
        *has_type = true;
    } else if (strom_ssim_key_is(f, "max")) {
        e = copy_number(l, f, &fd->max);
    } else if (strom_ssim_key_is(f, "size")) {
        e = copy_number(l, f, &fd->size);
    } else if (strom_ssim_key_is(f, "of")) {
        e = copy_dotted(l, f, fd->of_name);
    } else if (strom_ssim_key_is(f, "default")) {
        e = copy_value(l, f, fd->default_text, sizeof fd->default_text);
        fd->default_len = f->value_len;
        fd->has_default = true;
    } else if (strom_ssim_key_is(f, "comment")) {
        e = copy_comment(l, f, fd->comment, sizeof fd->comment);
    } else {
        e = unknown_key(l, f);
    }
    return e;
}

/* gen.field record:space.name name:ident type:<type> [max:] [size:] [of:] [default:] comment: */
static strom_err load_field(const struct load *l) {
    static struct gen_field fd; /* large: not on the stack */
    struct gen_record *owner = NULL;
    bool has_type = false;
    memset(&fd, 0, sizeof fd);
    fd.max.const_index = -1;
    fd.size.const_index = -1;
    fd.of = -1;
    strom_err e = STROM_OK;
    for (uint32_t i = 0; i < l->rec->field_count && !e; i++) {
        e = load_field_key(l, &l->rec->fields[i], &fd, &owner, &has_type);
    }
    e = e ? e : require(l, owner != NULL, "record");
    e = e ? e : require(l, fd.name[0] != '\0', "name");
    e = e ? e : require(l, has_type, "type");
    if (!e && owner->field_count == GEN_FIELDS_MAX) {
        e = load_fail(l, NULL, "%s has more than %d fields", owner->name, GEN_FIELDS_MAX);
    }
    if (!e) {
        fd.line = l->rec->line;
        owner->fields[owner->field_count++] = fd;
    }
    return e;
}

/* The stem of path: "schema/gentest.ssim" -> "gentest". */
static strom_err file_stem(struct gen *g, const char *path, char *stem) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n < 6 || strcmp(base + n - 5, ".ssim") != 0 || n - 5 > GEN_NAME_BYTES_MAX) {
        return gen_fail(g, path, 0, 0, "a schema file is named <name>.ssim");
    }
    memcpy(stem, base, n - 5);
    stem[n - 5] = '\0';
    if (!is_ident(stem)) {
        return gen_fail(g, path, 0, 0, "a schema file's name is [a-z][a-z0-9_]*.ssim");
    }
    return STROM_OK;
}

static strom_err load_line(const struct load *l) {
    const struct strom_ssim_record *rec = l->rec;
    if (strom_ssim_is(rec, "gen.schema")) {
        return load_schema(l);
    }
    if (strom_ssim_is(rec, "gen.const")) {
        return load_const(l);
    }
    if (strom_ssim_is(rec, "gen.record")) {
        return load_record(l);
    }
    if (strom_ssim_is(rec, "gen.field")) {
        return load_field(l);
    }
    return gen_fail(l->g, l->g->files[l->file].path, rec->line, 1,
                    "unknown record type %.*s (gen.schema gen.const gen.record gen.field)",
                    (int)rec->type_len, rec->type);
}

strom_err gen_load(struct gen *g, const char *path, const char *text, size_t len) {
    static struct strom_ssim_record rec;
    if (g->file_count == GEN_FILES_MAX) {
        return gen_fail(g, path, 0, 0, "more than %d schema files", GEN_FILES_MAX);
    }
    struct gen_file *file = &g->files[g->file_count];
    memset(file, 0, sizeof *file);
    if (strlen(path) > GEN_PATH_BYTES_MAX) {
        return gen_fail(g, "(path)", 0, 0, "a schema path is longer than %d bytes",
                        GEN_PATH_BYTES_MAX);
    }
    strcpy(file->path, path);
    strom_err e = file_stem(g, path, file->stem);
    for (uint32_t i = 0; i < g->file_count && !e; i++) {
        if (strcmp(g->files[i].stem, file->stem) == 0) {
            e = gen_fail(g, path, 0, 0, "a second schema file named %s", file->stem);
        }
    }
    if (e) {
        return e;
    }
    int index = (int)g->file_count++;
    char *scratch = malloc(len + 1);
    strom_assert(scratch != NULL);
    struct strom_ssim_reader r;
    struct strom_ssim_error perr;
    struct load l = {.g = g, .file = index, .rec = &rec};
    strom_ssim_reader_init(&r, text, len);
    while (!e) {
        e = strom_ssim_reader_next(&r, &rec, scratch, len + 1, &perr);
        if (e == STROM_ERR_END) {
            e = STROM_OK;
            break;
        }
        if (e) {
            e = gen_fail(g, path, perr.line, perr.column, "%s", perr.reason);
            break;
        }
        e = load_line(&l);
    }
    free(scratch);
    return e;
}

/* --- resolving ------------------------------------------------------------------------------ */

const char *gen_scalar_ctype(enum gen_type t) {
    switch (t) {
    case GEN_U8:
        return "uint8_t";
    case GEN_U16:
        return "uint16_t";
    case GEN_U32:
        return "uint32_t";
    case GEN_U64:
        return "uint64_t";
    case GEN_I64:
        return "int64_t";
    case GEN_BOOL:
        return "bool";
    default:
        return NULL;
    }
}

uint64_t gen_field_fixed_bytes(const struct gen_field *f) {
    switch (f->type) {
    case GEN_U8:
    case GEN_BOOL:
        return 1;
    case GEN_U16:
        return 2;
    case GEN_U32:
        return 4;
    case GEN_U64:
    case GEN_I64:
        return 8;
    case GEN_FIXED:
        return f->size.value;
    default:
        return 0;
    }
}

static uint64_t type_max(enum gen_type t) {
    switch (t) {
    case GEN_U8:
    case GEN_BOOL:
        return UINT8_MAX;
    case GEN_U16:
        return UINT16_MAX;
    case GEN_U32:
        return UINT32_MAX;
    default:
        return UINT64_MAX;
    }
}

static strom_err field_fail(struct gen *g, const struct gen_record *r, const struct gen_field *f,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static strom_err field_fail(struct gen *g, const struct gen_record *r, const struct gen_field *f,
                            const char *fmt, ...) {
    char msg[GEN_ERROR_BYTES_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return gen_fail(g, g->files[r->file].path, f->line, 0, "%s.%s: %s", r->name, f->name, msg);
}

/* Digits to a u64 (no sign, no spaces, no overflow). */
static bool parse_u64(const char *s, uint64_t *out) {
    uint64_t v = 0;
    if (*s == '\0') {
        return false;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) {
            return false;
        }
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* n's text to its value: a literal or a gen.const; in [1, limit]. */
static strom_err resolve_number(struct gen *g, const struct gen_record *r,
                                const struct gen_field *f, struct gen_number *n, const char *key,
                                uint64_t limit) {
    if (n->text[0] >= '0' && n->text[0] <= '9') {
        if (!parse_u64(n->text, &n->value)) {
            return field_fail(g, r, f, "%s:%s is not an unsigned integer", key, n->text);
        }
    } else {
        n->const_index = -1;
        for (uint32_t i = 0; i < g->const_count; i++) {
            if (strcmp(g->consts[i].name, n->text) == 0) {
                n->const_index = (int)i;
                n->value = g->consts[i].value;
            }
        }
        if (n->const_index < 0) {
            return field_fail(g, r, f, "%s:%s names no gen.const", key, n->text);
        }
    }
    if (n->value < 1 || n->value > limit) {
        return field_fail(g, r, f, "%s must be from 1 to %llu", key, (unsigned long long)limit);
    }
    return STROM_OK;
}

/* The default's text as the field's type. */
static strom_err resolve_default(struct gen *g, const struct gen_record *r, struct gen_field *f) {
    const char *t = f->default_text;
    switch (f->type) {
    case GEN_BOOL:
        if (strcmp(t, "true") != 0 && strcmp(t, "false") != 0) {
            return field_fail(g, r, f, "default of a bool is true or false");
        }
        f->default_uint = strcmp(t, "true") == 0;
        return STROM_OK;
    case GEN_I64: {
        uint64_t m;
        bool neg = t[0] == '-';
        if (!parse_u64(t + neg, &m) || m > (uint64_t)INT64_MAX + neg) {
            return field_fail(g, r, f, "default %s is not an i64", t);
        }
        f->default_int = neg ? (int64_t)(0 - m) : (int64_t)m;
        return STROM_OK;
    }
    case GEN_BYTES:
    case GEN_STRING:
        if (f->default_len > f->max.value) {
            return field_fail(g, r, f, "default is longer than max");
        }
        for (uint32_t i = 0; i < f->default_len; i++) {
            if ((uint8_t)t[i] < 32 || (uint8_t)t[i] > 126 || t[i] == '"' || t[i] == '\\') {
                return field_fail(g, r, f, "a default is printable ASCII without \" and \\");
            }
        }
        return STROM_OK;
    case GEN_FIXED:
    case GEN_ARRAY:
        return field_fail(g, r, f, "fixed and array fields take no default");
    default:
        if (!parse_u64(t, &f->default_uint) || f->default_uint > type_max(f->type)) {
            return field_fail(g, r, f, "default %s does not fit the field's type", t);
        }
        return STROM_OK;
    }
}

static int find_record(const struct gen *g, const char *name) {
    for (uint32_t i = 0; i < g->record_count; i++) {
        if (strcmp(g->records[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* The attributes a field's type needs and allows. */
static strom_err resolve_field(struct gen *g, struct gen_record *r, struct gen_field *f) {
    bool sized = f->type == GEN_BYTES || f->type == GEN_STRING || f->type == GEN_ARRAY;
    strom_err e = STROM_OK;
    if (sized != (f->max.text[0] != '\0')) {
        e = field_fail(g, r, f, sized ? "needs max" : "takes no max (only bytes, string, array)");
    } else if ((f->type == GEN_FIXED) != (f->size.text[0] != '\0')) {
        e = field_fail(g, r, f, f->type == GEN_FIXED ? "needs size" : "takes no size");
    } else if ((f->type == GEN_ARRAY) != (f->of_name[0] != '\0')) {
        e = field_fail(g, r, f, f->type == GEN_ARRAY ? "needs of" : "takes no of");
    }
    if (!e && sized) {
        e = resolve_number(g, r, f, &f->max, "max", INT32_MAX);
    }
    if (!e && f->type == GEN_FIXED) {
        e = resolve_number(g, r, f, &f->size, "size", 65536);
    }
    if (!e && f->type == GEN_ARRAY) {
        f->of = find_record(g, f->of_name);
        e = f->of < 0 ? field_fail(g, r, f, "of:%s names no gen.record", f->of_name) : e;
    }
    if (!e && f->has_default) {
        e = resolve_default(g, r, f);
    }
    return e;
}

/* Field names unique, and none equal to another's derived member (x_len, x_count). */
static strom_err check_field_names(struct gen *g, const struct gen_record *r) {
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        for (uint32_t j = 0; j < r->field_count; j++) {
            const struct gen_field *o = &r->fields[j];
            char derived[GEN_FIELD_NAME_BYTES_MAX + 8];
            snprintf(derived, sizeof derived, "%s%s", o->name,
                     o->type == GEN_ARRAY                            ? "_count"
                     : o->type == GEN_BYTES || o->type == GEN_STRING ? "_len"
                                                                     : "");
            if (j < i && strcmp(f->name, o->name) == 0) {
                return field_fail(g, r, f, "a second field of that name");
            }
            if (j != i && strcmp(derived, o->name) != 0 && strcmp(f->name, derived) == 0) {
                return field_fail(g, r, f, "collides with the member %s of field %s", derived,
                                  o->name);
            }
        }
    }
    return STROM_OK;
}

/* Records, constants and ids unique; constants clear of the records' macro names. */
static strom_err check_names(struct gen *g) {
    for (uint32_t i = 0; i < g->record_count; i++) {
        const struct gen_record *r = &g->records[i];
        for (uint32_t j = 0; j < i; j++) {
            const struct gen_record *o = &g->records[j];
            if (strcmp(r->name, o->name) == 0) {
                return gen_fail(g, g->files[r->file].path, r->line, 0, "a second record named %s",
                                r->name);
            }
            if (strcmp(r->cname, o->cname) == 0) {
                return gen_fail(g, g->files[r->file].path, r->line, 0,
                                "record %s has the C name of %s", r->name, o->name);
            }
            if (r->has_id && o->has_id && r->file == o->file && r->id == o->id) {
                return gen_fail(g, g->files[r->file].path, r->line, 0, "record %s has the id of %s",
                                r->name, o->name);
            }
        }
    }
    for (uint32_t i = 0; i < g->const_count; i++) {
        const struct gen_const *c = &g->consts[i];
        for (uint32_t j = 0; j < g->record_count; j++) {
            const struct gen_record *r = &g->records[j];
            size_t n = strlen(r->upper);
            if (strcmp(c->upper, r->upper) == 0 ||
                (strncmp(c->upper, r->upper, n) == 0 && c->upper[n] == '_')) {
                return gen_fail(g, g->files[c->file].path, c->line, 0,
                                "constant %s would collide with the macros of record %s", c->name,
                                r->name);
            }
        }
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(c->upper, g->consts[j].upper) == 0) {
                return gen_fail(g, g->files[c->file].path, c->line, 0, "a second constant named %s",
                                c->name);
            }
        }
    }
    return STROM_OK;
}

/* Nested arrays must end: depth-first over the of: edges, depth bounded by the record count. */
static strom_err check_cycles(struct gen *g) {
    static int stack[GEN_RECORDS_MAX + 1];
    static uint32_t next_field[GEN_RECORDS_MAX + 1];
    for (uint32_t start = 0; start < g->record_count; start++) {
        int depth = 0;
        stack[0] = (int)start;
        next_field[0] = 0;
        while (depth >= 0) {
            const struct gen_record *r = &g->records[stack[depth]];
            if (next_field[depth] == r->field_count) {
                depth--;
                continue;
            }
            const struct gen_field *f = &r->fields[next_field[depth]++];
            if (f->type != GEN_ARRAY) {
                continue;
            }
            if (f->of == (int)start || depth == (int)g->record_count) {
                return gen_fail(g, g->files[r->file].path, f->line, 0,
                                "records nest in a cycle through %s.%s", r->name, f->name);
            }
            depth++;
            stack[depth] = f->of;
            next_field[depth] = 0;
        }
    }
    return STROM_OK;
}

static void derive(struct gen_record *r) {
    r->has_arrays = false;
    r->fixed_size = true;
    r->encoded_bytes_min = 0;
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        uint64_t fixed = gen_field_fixed_bytes(f);
        r->encoded_bytes_min += fixed > 0 ? fixed : 4;
        r->has_arrays = r->has_arrays || f->type == GEN_ARRAY;
        r->fixed_size = r->fixed_size && fixed > 0;
    }
}

strom_err gen_resolve(struct gen *g) {
    strom_err e = check_names(g);
    for (uint32_t i = 0; i < g->record_count && !e; i++) {
        struct gen_record *r = &g->records[i];
        if (r->field_count == 0) {
            e = gen_fail(g, g->files[r->file].path, r->line, 0, "record %s has no gen.field",
                         r->name);
        }
        for (uint32_t j = 0; j < r->field_count && !e; j++) {
            e = resolve_field(g, r, &r->fields[j]);
        }
        e = e ? e : check_field_names(g, r);
    }
    e = e ? e : check_cycles(g);
    for (uint32_t i = 0; i < g->record_count && !e; i++) {
        derive(&g->records[i]);
    }
    return e;
}
