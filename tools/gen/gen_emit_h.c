/*
 * gen_emit_h.c: the generated header of a schema file: constants, per record its macros, struct
 * and prototypes. Also the names and sizes both emitters share.
 */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "gen.h"

void gen_field_macro(const struct gen_record *r, const struct gen_field *f, char *out,
                     size_t out_bytes) {
    char upper[GEN_FIELD_NAME_BYTES_MAX + 1];
    size_t i = 0;
    for (; f->name[i]; i++) {
        upper[i] =
            f->name[i] >= 'a' && f->name[i] <= 'z' ? (char)(f->name[i] - 'a' + 'A') : f->name[i];
    }
    upper[i] = '\0';
    const char *suffix = f->type == GEN_ARRAY                            ? "_COUNT_MAX"
                         : f->type == GEN_FIXED                          ? "_BYTES"
                         : f->type == GEN_BYTES || f->type == GEN_STRING ? "_BYTES_MAX"
                                                                         : NULL;
    if (suffix == NULL) {
        out[0] = '\0';
        return;
    }
    snprintf(out, out_bytes, "%s_%s%s", r->upper, upper, suffix);
}

void gen_size_macro(const struct gen_record *r, char *out, size_t out_bytes) {
    snprintf(out, out_bytes, "%s_ENCODED_BYTES%s", r->upper, r->fixed_size ? "" : "_MIN");
}

uint64_t gen_struct_bytes(const struct gen_record *r) {
    uint64_t at = 0;
    uint64_t align_max = 1;
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        uint64_t bytes = gen_field_fixed_bytes(f);
        uint64_t align = f->type == GEN_FIXED ? 1 : bytes;
        if (bytes == 0) { /* a pointer, then a u32 length or count */
            at = (at + 7) & ~UINT64_C(7);
            at += 8 + 4;
            align_max = 8;
            continue;
        }
        at = (at + align - 1) & ~(align - 1);
        at += bytes;
        align_max = align > align_max ? align : align_max;
    }
    return (at + align_max - 1) & ~(align_max - 1);
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b) {
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

uint64_t gen_arena_bytes(const struct gen *g, const struct gen_record *r) {
    uint64_t total = 0;
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        if (f->type != GEN_ARRAY) {
            continue;
        }
        const struct gen_record *elem = &g->records[f->of];
        /* The element array (aligned, so up to 7 bytes of padding), then what each takes. */
        total = add_sat(total, add_sat(mul_sat(f->max.value, gen_struct_bytes(elem)), 7));
        total = add_sat(total, mul_sat(f->max.value, gen_arena_bytes(g, elem)));
    }
    return total;
}

/* Includes of the headers of other schema files whose records this file's arrays hold. */
static void emit_includes(const struct gen *g, int file, struct gen_out *o) {
    bool needed[GEN_FILES_MAX] = {false};
    for (uint32_t i = 0; i < g->record_count; i++) {
        const struct gen_record *r = &g->records[i];
        for (uint32_t j = 0; r->file == file && j < r->field_count; j++) {
            const struct gen_field *f = &r->fields[j];
            if (f->type == GEN_ARRAY && g->records[f->of].file != file) {
                needed[g->records[f->of].file] = true;
            }
        }
    }
    gen_out_printf(o, "#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n");
    gen_out_printf(o, "#include \"base/arena.h\"\n#include \"base/error.h\"\n");
    gen_out_printf(o, "#include \"base/le.h\"\n#include \"base/ssim.h\"\n");
    for (uint32_t i = 0; i < g->file_count; i++) {
        if (needed[i]) {
            gen_out_printf(o, "#include \"gen/%s.h\"\n", g->files[i].stem);
        }
    }
}

static void emit_consts(const struct gen *g, int file, struct gen_out *o) {
    for (uint32_t i = 0; i < g->const_count; i++) {
        const struct gen_const *c = &g->consts[i];
        if (c->file != file) {
            continue;
        }
        char value[32];
        snprintf(value, sizeof value, "%llu", (unsigned long long)c->value);
        const char *names[] = {c->upper};
        const char *values[] = {value};
        gen_out_printf(o, "\n");
        if (c->comment[0]) {
            gen_out_comment(o, 0, c->comment);
        }
        gen_out_defines(o, names, values, NULL, 1);
    }
}

/* The record's macros: id, maxima and sizes of fields, encoded size, arena bound. */
static void emit_macros(const struct gen *g, const struct gen_record *r, struct gen_out *o) {
    enum { slots = GEN_FIELDS_MAX + 3 };
    static char names[slots][GEN_NAME_BYTES_MAX + GEN_FIELD_NAME_BYTES_MAX + 32];
    static char values[slots][GEN_NAME_BYTES_MAX + 32];
    static char numbers[slots][32];
    const char *name_of[slots];
    const char *value_of[slots];
    const char *number_of[slots];
    int n = 0;
    if (r->has_id) {
        snprintf(names[n], sizeof names[n], "%s_ID", r->upper);
        snprintf(numbers[n], sizeof numbers[n], "%llu", (unsigned long long)r->id);
        memcpy(values[n], numbers[n], sizeof numbers[n]);
        n++;
    }
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        gen_field_macro(r, f, names[n], sizeof names[n]);
        if (names[n][0] == '\0') {
            continue;
        }
        const struct gen_number *num = f->type == GEN_FIXED ? &f->size : &f->max;
        snprintf(numbers[n], sizeof numbers[n], "%llu", (unsigned long long)num->value);
        if (num->const_index >= 0) {
            snprintf(values[n++], sizeof values[0], "%s", g->consts[num->const_index].upper);
        } else {
            snprintf(values[n++], sizeof values[0], "%llu", (unsigned long long)num->value);
        }
    }
    gen_size_macro(r, names[n], sizeof names[n]);
    snprintf(numbers[n], sizeof numbers[n], "%llu", (unsigned long long)r->encoded_bytes_min);
    memcpy(values[n], numbers[n], sizeof numbers[n]);
    n++;
    if (r->has_arrays) {
        uint64_t arena = gen_arena_bytes(g, r);
        snprintf(names[n], sizeof names[n], "%s_ARENA_BYTES_MAX", r->upper);
        snprintf(numbers[n], sizeof numbers[n], "%llu%s", (unsigned long long)arena,
                 arena > UINT32_MAX ? "ull" : "");
        memcpy(values[n], numbers[n], sizeof numbers[n]);
        n++;
    }
    for (int i = 0; i < n; i++) {
        name_of[i] = names[i];
        value_of[i] = values[i];
        number_of[i] = numbers[i];
    }
    gen_out_defines(o, name_of, value_of, number_of, n);
}

/* The comment of a member: the schema's, then its bound. */
static void member_comment(const struct gen_field *f, const char *macro, struct gen_out *o) {
    char text[GEN_COMMENT_BYTES_MAX + 128];
    const char *bound = f->type == GEN_ARRAY                            ? "elements"
                        : f->type == GEN_BYTES || f->type == GEN_STRING ? "bytes"
                                                                        : NULL;
    if (bound != NULL) {
        snprintf(text, sizeof text, "%s%sAt most %s %s.", f->comment, f->comment[0] ? " " : "",
                 macro, bound);
    } else {
        snprintf(text, sizeof text, "%s", f->comment);
    }
    if (text[0]) {
        gen_out_comment(o, 4, text);
    }
}

static void emit_struct(const struct gen *g, const struct gen_record *r, struct gen_out *o) {
    gen_out_printf(o, "\nstruct %s {\n", r->cname);
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        char macro[GEN_NAME_BYTES_MAX * 2 + 32];
        gen_field_macro(r, f, macro, sizeof macro);
        member_comment(f, macro, o);
        switch (f->type) {
        case GEN_FIXED:
            /* The size's macro, or its number where the macro would pass the column limit. */
            if (4 + strlen("uint8_t [];") + strlen(f->name) + strlen(macro) <= 100) {
                gen_out_line(o, 4, "uint8_t %s[%s];", f->name, macro);
            } else {
                gen_out_line(o, 4, "uint8_t %s[%llu];", f->name, (unsigned long long)f->size.value);
            }
            break;
        case GEN_BYTES:
            gen_out_line(o, 4, "const uint8_t *%s;", f->name);
            gen_out_line(o, 4, "uint32_t %s_len;", f->name);
            break;
        case GEN_STRING:
            gen_out_line(o, 4, "const char *%s;", f->name);
            gen_out_line(o, 4, "uint32_t %s_len;", f->name);
            break;
        case GEN_ARRAY:
            gen_out_line(o, 4, "struct %s *%s;", g->records[f->of].cname, f->name);
            gen_out_line(o, 4, "uint32_t %s_count;", f->name);
            break;
        default:
            gen_out_line(o, 4, "%s %s;", gen_scalar_ctype(f->type), f->name);
            break;
        }
    }
    gen_out_printf(o, "};\n");
}

/* One prototype or definition head: ret X_suffix(args), then tail (";" or " {"). */
void gen_emit_head(struct gen_out *o, const char *ret, const struct gen_record *r,
                   const char *suffix, const char *const *args, int arg_count, const char *tail) {
    char name[GEN_NAME_BYTES_MAX + 32];
    snprintf(name, sizeof name, "%s_%s", r->cname, suffix);
    gen_out_decl(o, ret, name, args, arg_count, tail);
}

/* The argument lists of the functions of r, shared by prototypes and definitions. */
int gen_args(const struct gen_record *r, const char *fn, const char **args,
             char storage[2][GEN_NAME_BYTES_MAX + 32]) {
    int n = 0;
    snprintf(storage[0], sizeof storage[0], "const struct %s *rec", r->cname);
    snprintf(storage[1], sizeof storage[1], "struct %s *rec", r->cname);
    if (strcmp(fn, "check") == 0 || strcmp(fn, "encoded_bytes") == 0) {
        args[n++] = storage[0];
    } else if (strcmp(fn, "put") == 0) {
        args[n++] = storage[0];
        args[n++] = "uint8_t *at";
    } else if (strcmp(fn, "encode") == 0) {
        args[n++] = storage[0];
        args[n++] = "uint8_t *buf";
        args[n++] = "size_t bytes_max";
        args[n++] = "size_t *bytes_out";
    } else if (strcmp(fn, "take") == 0) {
        args[n++] = storage[1];
        args[n++] = "struct strom_cursor *in";
    } else if (strcmp(fn, "decode") == 0) {
        args[n++] = storage[1];
        args[n++] = "const uint8_t *buf";
        args[n++] = "size_t len";
    } else if (strcmp(fn, "equal") == 0) {
        snprintf(storage[0], sizeof storage[0], "const struct %s *a", r->cname);
        snprintf(storage[1], sizeof storage[1], "const struct %s *b", r->cname);
        args[n++] = storage[0];
        args[n++] = storage[1];
    } else if (strcmp(fn, "ssim_write") == 0) {
        args[n++] = storage[0];
        args[n++] = "struct strom_ssim_writer *w";
    } else {
        strom_assert(strcmp(fn, "ssim_parse") == 0);
        args[n++] = storage[1];
        args[n++] = "const struct strom_ssim_record *line";
        if (r->has_arrays) {
            args[n++] = "struct strom_ssim_reader *r";
        }
    }
    bool takes_arena =
        strcmp(fn, "take") == 0 || strcmp(fn, "decode") == 0 || strcmp(fn, "ssim_parse") == 0;
    if (takes_arena && r->has_arrays) {
        args[n++] = "struct strom_arena *arena";
    }
    if (strcmp(fn, "ssim_parse") == 0) {
        args[n++] = "struct strom_ssim_error *err";
    }
    return n;
}

/* Name and return type of every public function of a record, in the order they are emitted. */
const struct gen_function gen_functions[] = {
    {"strom_err", "check"},  {"size_t", "encoded_bytes"}, {"uint8_t *", "put"},
    {"strom_err", "encode"}, {"strom_err", "take"},       {"strom_err", "decode"},
    {"bool", "equal"},       {"strom_err", "ssim_write"}, {"strom_err", "ssim_parse"},
};
const int gen_function_count = (int)(sizeof gen_functions / sizeof gen_functions[0]);

static void emit_prototypes(const struct gen_record *r, struct gen_out *o) {
    char storage[2][GEN_NAME_BYTES_MAX + 32];
    const char *args[8];
    gen_out_printf(o, "\n");
    for (int i = 0; i < gen_function_count; i++) {
        int n = gen_args(r, gen_functions[i].suffix, args, storage);
        gen_emit_head(o, gen_functions[i].ret, r, gen_functions[i].suffix, args, n, ";");
    }
}

static const char *const header_guide =
    "For each record R: struct R (lengths and counts next to their views); R_check "
    "(STROM_ERR_TOO_LARGE when a length or count, nested ones included, is above its maximum); "
    "R_encoded_bytes (bytes of the binary encoding); R_put (writes the encoding at `at`, which "
    "has room for R_encoded_bytes bytes, of a record that passed R_check; returns the end); "
    "R_encode (checks, then writes into buf[0, bytes_max) and sets *bytes_out; "
    "STROM_ERR_TOO_LARGE, STROM_ERR_OVERFLOW); R_take (reads one record from the cursor and moves "
    "it; bytes and strings become views into the input, arrays are stored in the arena; "
    "STROM_ERR_TRUNCATED, STROM_ERR_TOO_LARGE above a maximum before anything is copied or "
    "allocated, STROM_ERR_CORRUPT for a bool other than 0 or 1, STROM_ERR_LIMIT when the arena "
    "is full); R_decode (R_take of exactly len bytes: STROM_ERR_CORRUPT when bytes remain; gives "
    "the arena back on error); R_equal (same values, views compared by content); R_ssim_write "
    "(the record's ssim line, then one line per array element, depth first; STROM_ERR_OVERFLOW "
    "takes every line of the record back out); R_ssim_parse (the record from its ssim line and, "
    "for arrays, the element lines that follow it in the reader; views point into the text or "
    "the arena). The arena parameter exists only for records with arrays; size it with "
    "R_ARENA_BYTES_MAX to decode any valid input (ssim parsing needs the text's length more). The "
    "binary encoding and the ssim form: docs/schema.md.";

void gen_emit_h(const struct gen *g, int file, struct gen_out *o) {
    const struct gen_file *f = &g->files[file];
    char guard[GEN_NAME_BYTES_MAX + 32];
    size_t i = 0;
    for (; f->stem[i]; i++) {
        guard[i] =
            f->stem[i] >= 'a' && f->stem[i] <= 'z' ? (char)(f->stem[i] - 'a' + 'A') : f->stem[i];
    }
    guard[i] = '\0';
    char intro[GEN_COMMENT_BYTES_MAX + 256];
    snprintf(intro, sizeof intro,
             "%s.h: generated by strom-gen from schema/%s.ssim; do not edit. Change the schema "
             "and run `make gen`.",
             f->stem, f->stem);
    gen_out_printf(o, "/*\n");
    gen_out_wrapped(o, intro);
    if (f->comment[0]) {
        gen_out_printf(o, " *\n");
        gen_out_wrapped(o, f->comment);
    }
    gen_out_printf(o, " *\n");
    gen_out_wrapped(o, header_guide);
    gen_out_printf(o, " */\n#ifndef STROM_GEN_%s_H\n#define STROM_GEN_%s_H\n\n", guard, guard);
    emit_includes(g, file, o);
    emit_consts(g, file, o);
    for (uint32_t r = 0; r < g->record_count; r++) {
        const struct gen_record *rec = &g->records[r];
        if (rec->file != file) {
            continue;
        }
        char title[GEN_COMMENT_BYTES_MAX + 64];
        snprintf(title, sizeof title, "%s: %s", rec->name,
                 rec->comment[0] ? rec->comment : "(no comment in the schema)");
        gen_out_printf(o, "\n");
        gen_out_comment(o, 0, title);
        emit_macros(g, rec, o);
        emit_struct(g, rec, o);
        emit_prototypes(rec, o);
    }
    gen_out_printf(o, "\n#endif\n");
}
