/*
 * gen.h: strom-gen, the schema code generator: its model of the schema and its passes.
 *
 * strom-gen reads the schema files (schema/NAME.ssim; the language is docs/schema.md), checks it,
 * and writes one C header and source per schema file into the output folder: structs, binary
 * encoders and decoders, ssim printers and parsers. The passes: gen_load    reads every schema file
 * into struct gen (gen_load.c), then gen_resolve checks names and references and derives sizes
 * (gen_load.c); gen_emit_h, gen_emit_c write a file's header and source (gen_emit_h.c,
 * gen_emit_c.c) through the formatter of gen_out.c.
 *
 * Everything is bounded by the GEN_* maxima below; a schema beyond them is an error, not a crash.
 * The model is one struct gen, allocated once by main.
 */
#ifndef STROM_TOOLS_GEN_H
#define STROM_TOOLS_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define GEN_FILES_MAX              64
#define GEN_RECORDS_MAX            512
#define GEN_CONSTS_MAX             512
#define GEN_FIELDS_MAX             64 /* per record: one bit each in the ssim parser's seen mask */
#define GEN_PATH_BYTES_MAX         512
#define GEN_NAME_BYTES_MAX         32 /* a record or constant name: "strom.stream_created" */
#define GEN_FIELD_NAME_BYTES_MAX   24 /* a field name: "request_id" */
#define GEN_COMMENT_BYTES_MAX      2048
#define GEN_COMMENT_WORD_BYTES_MAX 60 /* so that every comment wraps within 100 columns */
#define GEN_DEFAULT_BYTES_MAX      24 /* printable ASCII without " and \\ */
#define GEN_ERROR_BYTES_MAX        1024
#define GEN_SCHEMA_BYTES_MAX       (4u << 20) /* one schema file */
#define GEN_OUTPUT_BYTES_MAX       (8u << 20) /* one generated file */

enum gen_type {
    GEN_U8,
    GEN_U16,
    GEN_U32,
    GEN_U64,
    GEN_I64,
    GEN_BOOL,
    GEN_FIXED,  /* exactly size bytes, stored in the struct */
    GEN_BYTES,  /* a u32 length, then that many bytes (at most max); a view when decoded */
    GEN_STRING, /* as bytes, with a char view */
    GEN_ARRAY,  /* a u32 count, then that many records of type of (at most max) */
};

/* A number given in the schema either literally or by the name of a gen.const. */
struct gen_number {
    char text[GEN_NAME_BYTES_MAX + 1]; /* as written: "64" or "gentest.tags_max"; "" when absent */
    uint64_t value;                    /* after gen_resolve */
    int const_index;                   /* the gen.const it names, or -1 for a literal */
};

struct gen_field {
    char name[GEN_FIELD_NAME_BYTES_MAX + 1];
    enum gen_type type;
    struct gen_number max;  /* bytes, string, array */
    struct gen_number size; /* fixed */
    char of_name[GEN_NAME_BYTES_MAX + 1];
    int of;           /* array: index of the element record, after gen_resolve */
    bool has_default; /* the ssim parser fills the default when the key is absent */
    char default_text[GEN_DEFAULT_BYTES_MAX + 1];
    uint32_t default_len;
    uint64_t default_uint; /* u8..u64 and bool (0/1) */
    int64_t default_int;   /* i64 */
    char comment[GEN_COMMENT_BYTES_MAX + 1];
    uint32_t line; /* of its gen.field line */
};

struct gen_record {
    char name[GEN_NAME_BYTES_MAX + 1];  /* "gentest.outer" */
    char cname[GEN_NAME_BYTES_MAX + 1]; /* "gentest_outer": struct tag and function prefix */
    char upper[GEN_NAME_BYTES_MAX + 1]; /* "GENTEST_OUTER": macro prefix */
    bool has_id;
    uint64_t id;
    char comment[GEN_COMMENT_BYTES_MAX + 1];
    int file;
    uint32_t line;
    uint32_t field_count;
    struct gen_field fields[GEN_FIELDS_MAX];
    /* Derived by gen_resolve. */
    bool has_arrays;            /* a field is an array: decoders and parsers take an arena */
    bool fixed_size;            /* no bytes, string or array field: the encoding has one size */
    uint64_t encoded_bytes_min; /* bytes of the encoding with every length and count 0 */
};

struct gen_const {
    char name[GEN_NAME_BYTES_MAX + 1];  /* "gentest.tags_max" */
    char upper[GEN_NAME_BYTES_MAX + 1]; /* "GENTEST_TAGS_MAX" */
    uint64_t value;
    char comment[GEN_COMMENT_BYTES_MAX + 1];
    int file;
    uint32_t line;
};

struct gen_file {
    char path[GEN_PATH_BYTES_MAX + 1]; /* as given on the command line */
    char stem[GEN_NAME_BYTES_MAX + 1]; /* "gentest" from schema/gentest.ssim */
    char comment[GEN_COMMENT_BYTES_MAX + 1];
};

struct gen {
    uint32_t file_count;
    uint32_t record_count;
    uint32_t const_count;
    struct gen_file files[GEN_FILES_MAX];
    struct gen_record records[GEN_RECORDS_MAX];
    struct gen_const consts[GEN_CONSTS_MAX];
    char error[GEN_ERROR_BYTES_MAX]; /* "schema/x.ssim:3:9: unknown field type u31" */
};

/* A generated file being written: text in buf[0, len); overflow past cap is sticky. */
struct gen_out {
    char *buf;
    size_t len;
    size_t cap;
    bool overflow;
};

/* Reads the schema file at path (its text, len bytes) into g. STROM_ERR_PARSE with g->error. */
strom_err gen_load(struct gen *g, const char *path, const char *text, size_t len);

/* Resolves references across all loaded files and derives sizes. STROM_ERR_PARSE, g->error. */
strom_err gen_resolve(struct gen *g);

/* Writes file's header / source into out. */
void gen_emit_h(const struct gen *g, int file, struct gen_out *out);
void gen_emit_c(const struct gen *g, int file, struct gen_out *out);

/* --- the formatter (gen_out.c) --- */

void gen_out_init(struct gen_out *o, char *buf, size_t cap);
/* Appends formatted text as it is. */
void gen_out_printf(struct gen_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends one line: indent spaces, the formatted text, '\n'. */
void gen_out_line(struct gen_out *o, int indent, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A comment of free text, wrapped to the column limit: one line or a block. */
void gen_out_comment(struct gen_out *o, int indent, const char *text);
/* A declaration or definition head `ret name(args)tail` (tail ";" or " {") at column 0, laid
 * out as clang-format lays it out (the rules are in gen_out.c). */
void gen_out_decl(struct gen_out *o, const char *ret, const char *name, const char *const *args,
                  int count, const char *tail);
/* A call `head(args` then tail (");" or ")) {") at indent; head may start with "e = " or
 * "if (!"; laid out as clang-format lays it out. */
void gen_out_call(struct gen_out *o, int indent, const char *head, const char *const *args,
                  int count, const char *tail);
/* `if (lhs > rhs) {`, broken after the operator when it does not fit. */
void gen_out_if_greater(struct gen_out *o, int indent, const char *lhs, const char *rhs);
/* A block of #define name value lines, values aligned as clang-format aligns them; a line that
 * would pass the column limit uses fallbacks[i] (a number instead of a constant's name). */
void gen_out_defines(struct gen_out *o, const char *const *names, const char *const *values,
                     const char *const *fallbacks, int count);
/* Bytes of the longest line in o (the column limit is 100). */
size_t gen_out_longest_line(const struct gen_out *o);

/* Names shared by the emitters (gen_emit_h.c). */
/* The macro of a field's maximum or size: GENTEST_OUTER_NAME_BYTES_MAX, _ITEMS_COUNT_MAX,
 * _DIGEST_BYTES; "" for fields without one. */
void gen_field_macro(const struct gen_record *r, const struct gen_field *f, char *out,
                     size_t out_bytes);
/* The macro of a record's encoded size: _ENCODED_BYTES when fixed, else _ENCODED_BYTES_MIN. */
void gen_size_macro(const struct gen_record *r, char *out, size_t out_bytes);
/* Bytes of struct r on an LP64 machine (the generated code asserts it is not exceeded). */
uint64_t gen_struct_bytes(const struct gen_record *r);
/* Bytes of arena a decode of r may take at most (0 without arrays). */
uint64_t gen_arena_bytes(const struct gen *g, const struct gen_record *r);

/* A public function of every record: return type and name suffix ("check", "encode"...). */
struct gen_function {
    const char *ret;
    const char *suffix;
};
extern const struct gen_function gen_functions[];
extern const int gen_function_count;
/* The parameters of function fn of r into args (at most 8), using storage; returns the count. */
int gen_args(const struct gen_record *r, const char *fn, const char **args,
             char storage[2][GEN_NAME_BYTES_MAX + 32]);
/* `ret R_suffix(args)tail` laid out by gen_out_call. */
void gen_emit_head(struct gen_out *o, const char *ret, const struct gen_record *r,
                   const char *suffix, const char *const *args, int arg_count, const char *tail);
/* Free text as the lines " * ..." of a block comment at column 0. */
void gen_out_wrapped(struct gen_out *o, const char *text);

/* The C name of a type's scalar ("uint32_t"), NULL for the others. */
const char *gen_scalar_ctype(enum gen_type t);
/* Bytes of a fixed-size field's encoding (0 for bytes, string, array: their prefix is 4). */
uint64_t gen_field_fixed_bytes(const struct gen_field *f);

#endif
