/*
 * gen_emit_c.c: the generated source of a schema file: per record its checker, binary encoder
 * and decoder, comparison, ssim printer and parser (what each does: the guide in gen_emit_h.c and
 * docs/schema.md).
 *
 * The decoder checks the bytes left once per run of fixed-size fields: a run ends where a length
 * or count prefix has been read, and the next check covers the bytes that length announces plus
 * the next run. Every length and count is compared with its maximum right after it is read,
 * before anything depends on it.
 */
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "gen.h"

static const char *put_fn(enum gen_type t) {
    switch (t) {
    case GEN_U8:
    case GEN_BOOL:
        return "strom_put_u8";
    case GEN_U16:
        return "strom_put_u16";
    case GEN_U32:
        return "strom_put_u32";
    default:
        return "strom_put_u64";
    }
}

static const char *take_fn(enum gen_type t) {
    switch (t) {
    case GEN_U8:
    case GEN_BOOL:
        return "strom_take_u8";
    case GEN_U16:
        return "strom_take_u16";
    case GEN_U32:
        return "strom_take_u32";
    default:
        return "strom_take_u64";
    }
}

static bool is_view(const struct gen_field *f) {
    return f->type == GEN_BYTES || f->type == GEN_STRING;
}

/* "_len" or "_count": the member next to a view or array. */
static const char *len_member(const struct gen_field *f) {
    return f->type == GEN_ARRAY ? "_count" : "_len";
}

static void head(struct gen_out *o, const struct gen_record *r, const char *ret, const char *fn) {
    char storage[2][GEN_NAME_BYTES_MAX + 32];
    const char *args[8];
    int n = gen_args(r, fn, args, storage);
    gen_out_printf(o, "\n");
    gen_emit_head(o, ret, r, fn, args, n, " {");
}

/* The head of a static helper: a comment, then `static strom_err name(args) {`. */
static void helper_head(struct gen_out *o, const char *comment, const char *name,
                        const char *const *args, int count) {
    gen_out_printf(o, "\n");
    gen_out_comment(o, 0, comment);
    gen_out_decl(o, "static strom_err", name, args, count, " {");
}

/* if (cond) { return value; } */
static void emit_return_if(struct gen_out *o, int indent, const char *cond, const char *value) {
    gen_out_line(o, indent, "if (%s) {", cond);
    gen_out_line(o, indent + 4, "return %s;", value);
    gen_out_line(o, indent, "}");
}

/* `e = name(args);` or `name(args);` laid out by gen_out_call; args separated by '|'. */
static void emit_call(struct gen_out *o, int indent, const char *head, const char *args_text,
                      const char *tail) {
    char buf[1024];
    const char *args[12];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", args_text);
    for (char *at = buf; n < 12;) {
        args[n++] = at;
        char *bar = strchr(at, '|');
        if (bar == NULL) {
            break;
        }
        *bar = '\0';
        at = bar + 1;
    }
    gen_out_call(o, indent, head, args, n, tail);
}

static void emit_end(struct gen_out *o) {
    gen_out_printf(o, "}\n");
}

/* --- checking and sizes ---------------------------------------------------------------------- */

static bool has_sized(const struct gen_record *r) {
    for (uint32_t i = 0; i < r->field_count; i++) {
        if (is_view(&r->fields[i]) || r->fields[i].type == GEN_ARRAY) {
            return true;
        }
    }
    return false;
}

static void emit_check(const struct gen *g, const struct gen_record *r, struct gen_out *o) {
    head(o, r, "strom_err", "check");
    if (!has_sized(r)) {
        gen_out_line(o, 4, "(void)rec;");
        gen_out_line(o, 4, "return STROM_OK;");
        emit_end(o);
        return;
    }
    bool arrays = r->has_arrays;
    if (arrays) {
        gen_out_line(o, 4, "strom_err e = STROM_OK;");
    }
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        if (!is_view(f) && f->type != GEN_ARRAY) {
            continue;
        }
        char macro[GEN_NAME_BYTES_MAX * 2 + 32];
        char lhs[GEN_FIELD_NAME_BYTES_MAX + 16];
        gen_field_macro(r, f, macro, sizeof macro);
        snprintf(lhs, sizeof lhs, "rec->%s%s", f->name, len_member(f));
        gen_out_line(o, 4, "strom_assert(rec->%s != NULL || %s == 0);", f->name, lhs);
        gen_out_if_greater(o, 4, lhs, macro);
        gen_out_line(o, 8, "return STROM_ERR_TOO_LARGE;");
        gen_out_line(o, 4, "}");
        if (f->type == GEN_ARRAY) {
            char call[GEN_NAME_BYTES_MAX + 32];
            char arg[GEN_FIELD_NAME_BYTES_MAX + 16];
            snprintf(call, sizeof call, "e = %s_check", g->records[f->of].cname);
            snprintf(arg, sizeof arg, "&rec->%s[i]", f->name);
            gen_out_line(o, 4, "for (uint32_t i = 0; i < rec->%s_count && !e; i++) {", f->name);
            emit_call(o, 8, call, arg, ");");
            gen_out_line(o, 4, "}");
        }
    }
    gen_out_line(o, 4, "return %s;", arrays ? "e" : "STROM_OK");
    emit_end(o);
}

static void emit_encoded_bytes(const struct gen *g, const struct gen_record *r, struct gen_out *o) {
    char size[GEN_NAME_BYTES_MAX + 32];
    gen_size_macro(r, size, sizeof size);
    head(o, r, "size_t", "encoded_bytes");
    if (r->fixed_size) {
        gen_out_line(o, 4, "(void)rec;");
        gen_out_line(o, 4, "return %s;", size);
        emit_end(o);
        return;
    }
    gen_out_line(o, 4, "size_t bytes = %s;", size);
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        if (is_view(f)) {
            gen_out_line(o, 4, "bytes += rec->%s_len;", f->name);
        } else if (f->type == GEN_ARRAY) {
            char call[GEN_NAME_BYTES_MAX + 32];
            char arg[GEN_FIELD_NAME_BYTES_MAX + 16];
            snprintf(call, sizeof call, "bytes += %s_encoded_bytes", g->records[f->of].cname);
            snprintf(arg, sizeof arg, "&rec->%s[i]", f->name);
            gen_out_line(o, 4, "for (uint32_t i = 0; i < rec->%s_count; i++) {", f->name);
            emit_call(o, 8, call, arg, ");");
            gen_out_line(o, 4, "}");
        }
    }
    gen_out_line(o, 4, "return bytes;");
    emit_end(o);
}

/* --- encoding ------------------------------------------------------------------------------- */

static void emit_put(const struct gen *g, const struct gen_record *r, struct gen_out *o) {
    head(o, r, "uint8_t *", "put");
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        const char *n = f->name;
        switch (f->type) {
        case GEN_BOOL:
            gen_out_line(o, 4, "at = strom_put_u8(at, rec->%s ? 1 : 0);", n);
            break;
        case GEN_I64:
            gen_out_line(o, 4, "at = strom_put_u64(at, (uint64_t)rec->%s);", n);
            break;
        case GEN_FIXED:
            gen_out_line(o, 4, "at = strom_put_bytes(at, rec->%s, sizeof rec->%s);", n, n);
            break;
        case GEN_BYTES:
        case GEN_STRING:
            gen_out_line(o, 4, "at = strom_put_u32(at, rec->%s_len);", n);
            gen_out_line(o, 4, "at = strom_put_bytes(at, rec->%s, rec->%s_len);", n, n);
            break;
        case GEN_ARRAY: {
            char call[GEN_NAME_BYTES_MAX + 32];
            char args[GEN_FIELD_NAME_BYTES_MAX + 16];
            snprintf(call, sizeof call, "at = %s_put", g->records[f->of].cname);
            snprintf(args, sizeof args, "&rec->%s[i]|at", n);
            gen_out_line(o, 4, "at = strom_put_u32(at, rec->%s_count);", n);
            gen_out_line(o, 4, "for (uint32_t i = 0; i < rec->%s_count; i++) {", n);
            emit_call(o, 8, call, args, ");");
            gen_out_line(o, 4, "}");
            break;
        }
        default:
            gen_out_line(o, 4, "at = %s(at, rec->%s);", put_fn(f->type), n);
            break;
        }
    }
    gen_out_line(o, 4, "return at;");
    emit_end(o);
}

static void emit_encode(const struct gen_record *r, struct gen_out *o) {
    head(o, r, "strom_err", "encode");
    gen_out_line(o, 4, "strom_err e = %s_check(rec);", r->cname);
    emit_return_if(o, 4, "e", "e");
    gen_out_line(o, 4, "size_t bytes = %s_encoded_bytes(rec);", r->cname);
    emit_return_if(o, 4, "bytes > bytes_max", "STROM_ERR_OVERFLOW");
    gen_out_line(o, 4, "uint8_t *end = %s_put(rec, buf);", r->cname);
    gen_out_line(o, 4, "strom_assert(end == buf + bytes);");
    gen_out_line(o, 4, "*bytes_out = bytes;");
    gen_out_line(o, 4, "return STROM_OK;");
    emit_end(o);
}

/* --- decoding ------------------------------------------------------------------------------- */

static void emit_take_array(const struct gen *g, const struct gen_record *r,
                            const struct gen_field *f, struct gen_out *o) {
    const struct gen_record *elem = &g->records[f->of];
    char name[GEN_NAME_BYTES_MAX + GEN_FIELD_NAME_BYTES_MAX + 16];
    char rec_arg[GEN_NAME_BYTES_MAX + 32];
    char size[GEN_NAME_BYTES_MAX + 32];
    char comment[GEN_NAME_BYTES_MAX * 2 + 256];
    snprintf(name, sizeof name, "%s_take_%s", r->cname, f->name);
    snprintf(rec_arg, sizeof rec_arg, "struct %s *rec", r->cname);
    gen_size_macro(elem, size, sizeof size);
    snprintf(comment, sizeof comment,
             "%s.%s: the rec->%s_count elements, stored in the arena. Each takes at least "
             "%s bytes, so a count the bytes left cannot hold is rejected before the arena is "
             "touched.",
             r->name, f->name, f->name, size);
    const char *args[] = {rec_arg, "struct strom_cursor *in", "struct strom_arena *arena"};
    helper_head(o, comment, name, args, 3);
    gen_out_line(o, 4, "size_t elem_bytes_min = %s;", size);
    gen_out_line(o, 4, "if (rec->%s_count > strom_cursor_left(in) / elem_bytes_min) {", f->name);
    gen_out_line(o, 8, "return STROM_ERR_TRUNCATED;");
    gen_out_line(o, 4, "}");
    char text[GEN_FIELD_NAME_BYTES_MAX * 2 + 64];
    snprintf(text, sizeof text, "arena|rec->%s|rec->%s_count", f->name, f->name);
    emit_call(o, 4, "STROM_ARENA_ARRAY", text, ");");
    snprintf(text, sizeof text, "rec->%s == NULL && rec->%s_count > 0", f->name, f->name);
    emit_return_if(o, 4, text, "STROM_ERR_LIMIT");
    gen_out_line(o, 4, "strom_err e = STROM_OK;");
    gen_out_line(o, 4, "for (uint32_t i = 0; i < rec->%s_count && !e; i++) {", f->name);
    char call[GEN_NAME_BYTES_MAX + 32];
    snprintf(call, sizeof call, "e = %s_take", elem->cname);
    snprintf(text, sizeof text, "&rec->%s[i]|in%s", f->name, elem->has_arrays ? "|arena" : "");
    emit_call(o, 8, call, text, ");");
    gen_out_line(o, 4, "}");
    gen_out_line(o, 4, "return e;");
    emit_end(o);
}

/* The check of the bytes left at a run's start: the bytes of view (read before the run, or NULL)
 * plus run_bytes; then the view itself. */
static void emit_left_check(struct gen_out *o, const struct gen_field *view, uint64_t run_bytes) {
    char cond[GEN_FIELD_NAME_BYTES_MAX + 96];
    if (view != NULL && run_bytes > 0) {
        snprintf(cond, sizeof cond, "strom_cursor_left(in) < (size_t)rec->%s_len + %llu",
                 view->name, (unsigned long long)run_bytes);
    } else if (view != NULL) {
        snprintf(cond, sizeof cond, "strom_cursor_left(in) < rec->%s_len", view->name);
    } else if (run_bytes > 0) {
        snprintf(cond, sizeof cond, "strom_cursor_left(in) < %llu", (unsigned long long)run_bytes);
    } else {
        return;
    }
    emit_return_if(o, 4, cond, "STROM_ERR_TRUNCATED");
    if (view != NULL) {
        gen_out_line(o, 4, "strom_take_%s(in, &rec->%s, rec->%s_len);",
                     view->type == GEN_STRING ? "str" : "view", view->name, view->name);
    }
}

/* Reads field f, whose bytes (or prefix) the last check covered. */
static void emit_take_field(const struct gen_record *r, const struct gen_field *f,
                            struct gen_out *o) {
    char macro[GEN_NAME_BYTES_MAX * 2 + 32];
    char text[GEN_NAME_BYTES_MAX * 3 + 64];
    const char *n = f->name;
    gen_field_macro(r, f, macro, sizeof macro);
    switch (f->type) {
    case GEN_BOOL:
        gen_out_line(o, 4, "uint8_t %s_byte = strom_take_u8(in);", n);
        snprintf(text, sizeof text, "%s_byte > 1", n);
        emit_return_if(o, 4, text, "STROM_ERR_CORRUPT");
        gen_out_line(o, 4, "rec->%s = %s_byte == 1;", n, n);
        break;
    case GEN_I64:
        gen_out_line(o, 4, "rec->%s = (int64_t)strom_take_u64(in);", n);
        break;
    case GEN_FIXED:
        gen_out_line(o, 4, "strom_take_copy(in, rec->%s, sizeof rec->%s);", n, n);
        break;
    case GEN_BYTES:
    case GEN_STRING:
    case GEN_ARRAY:
        snprintf(text, sizeof text, "in|&rec->%s%s|%s", n, len_member(f), macro);
        emit_call(o, 4, "e = strom_take_len", text, ");");
        emit_return_if(o, 4, "e", "e");
        break;
    default:
        gen_out_line(o, 4, "rec->%s = %s(in);", n, take_fn(f->type));
        break;
    }
}

static void emit_take(const struct gen *g, const struct gen_record *r, struct gen_out *o) {
    for (uint32_t i = 0; i < r->field_count; i++) {
        if (r->fields[i].type == GEN_ARRAY) {
            emit_take_array(g, r, &r->fields[i], o);
        }
    }
    head(o, r, "strom_err", "take");
    if (has_sized(r)) {
        gen_out_line(o, 4, "strom_err e = STROM_OK;");
    }
    const struct gen_field *view = NULL; /* its length is read, not yet its bytes */
    uint32_t i = 0;
    while (i < r->field_count) {
        /* A run: fixed-size fields up to and including the next length or count prefix. */
        uint64_t run = 0;
        uint32_t end = i;
        while (end < r->field_count) {
            uint64_t fixed = gen_field_fixed_bytes(&r->fields[end]);
            run += fixed > 0 ? fixed : 4;
            end++;
            if (fixed == 0) {
                break;
            }
        }
        emit_left_check(o, view, run);
        view = NULL;
        for (; i < end; i++) {
            const struct gen_field *f = &r->fields[i];
            emit_take_field(r, f, o);
            if (is_view(f)) {
                view = f;
            } else if (f->type == GEN_ARRAY) {
                char call[GEN_NAME_BYTES_MAX + GEN_FIELD_NAME_BYTES_MAX + 16];
                snprintf(call, sizeof call, "e = %s_take_%s", r->cname, f->name);
                emit_call(o, 4, call, "rec|in|arena", ");");
                emit_return_if(o, 4, "e", "e");
            }
        }
    }
    emit_left_check(o, view, 0);
    gen_out_line(o, 4, "return STROM_OK;");
    emit_end(o);
}

static void emit_decode(const struct gen_record *r, struct gen_out *o) {
    head(o, r, "strom_err", "decode");
    gen_out_line(o, 4, "struct strom_cursor in = strom_cursor_of(buf, len);");
    if (r->has_arrays) {
        gen_out_line(o, 4, "size_t mark = strom_arena_mark(arena);");
    }
    gen_out_line(o, 4, "strom_err e = %s_take(rec, &in%s);", r->cname,
                 r->has_arrays ? ", arena" : "");
    gen_out_line(o, 4, "if (!e && strom_cursor_left(&in) > 0) {");
    gen_out_line(o, 8, "e = STROM_ERR_CORRUPT; /* bytes after the record */");
    gen_out_line(o, 4, "}");
    if (r->has_arrays) {
        gen_out_line(o, 4, "if (e) {");
        gen_out_line(o, 8, "strom_arena_rollback(arena, mark);");
        gen_out_line(o, 4, "}");
    }
    gen_out_line(o, 4, "return e;");
    emit_end(o);
}

/* --- comparing ------------------------------------------------------------------------------ */

/* if (!call(args)) { return false; } */
static void emit_false_unless(struct gen_out *o, int indent, const char *fn, const char *args) {
    char head_text[GEN_NAME_BYTES_MAX + 32];
    snprintf(head_text, sizeof head_text, "if (!%s", fn);
    emit_call(o, indent, head_text, args, ")) {");
    gen_out_line(o, indent + 4, "return false;");
    gen_out_line(o, indent, "}");
}

static void emit_equal(const struct gen *g, const struct gen_record *r, struct gen_out *o) {
    head(o, r, "bool", "equal");
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        const char *n = f->name;
        char text[GEN_NAME_BYTES_MAX * 4 + 128];
        switch (f->type) {
        case GEN_FIXED:
            snprintf(text, sizeof text, "a->%s|sizeof a->%s|b->%s|sizeof b->%s", n, n, n, n);
            emit_false_unless(o, 4, "strom_bytes_equal", text);
            break;
        case GEN_BYTES:
        case GEN_STRING:
            snprintf(text, sizeof text, "a->%s|a->%s_len|b->%s|b->%s_len", n, n, n, n);
            emit_false_unless(o, 4, "strom_bytes_equal", text);
            break;
        case GEN_ARRAY: {
            char fn[GEN_NAME_BYTES_MAX + 16];
            snprintf(text, sizeof text, "a->%s_count != b->%s_count", n, n);
            emit_return_if(o, 4, text, "false");
            gen_out_line(o, 4, "for (uint32_t i = 0; i < a->%s_count; i++) {", n);
            snprintf(fn, sizeof fn, "%s_equal", g->records[f->of].cname);
            snprintf(text, sizeof text, "&a->%s[i]|&b->%s[i]", n, n);
            emit_false_unless(o, 8, fn, text);
            gen_out_line(o, 4, "}");
            break;
        }
        default:
            snprintf(text, sizeof text, "a->%s != b->%s", n, n);
            emit_return_if(o, 4, text, "false");
            break;
        }
    }
    gen_out_line(o, 4, "return true;");
    emit_end(o);
}

/* --- ssim ----------------------------------------------------------------------------------- */

static void emit_ssim_write(const struct gen *g, const struct gen_record *r, struct gen_out *o) {
    head(o, r, "strom_err", "ssim_write");
    gen_out_line(o, 4, "strom_err e = %s_check(rec);", r->cname);
    emit_return_if(o, 4, "e", "e");
    if (r->has_arrays) {
        gen_out_line(o, 4, "size_t mark = strom_ssim_writer_mark(w);");
    }
    gen_out_line(o, 4, "strom_ssim_write_type(w, \"%s\");", r->name);
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        const char *n = f->name;
        char text[GEN_FIELD_NAME_BYTES_MAX * 4 + 64];
        const char *fn = "strom_ssim_write_u64";
        switch (f->type) {
        case GEN_BOOL:
            fn = "strom_ssim_write_bool";
            snprintf(text, sizeof text, "w|\"%s\"|rec->%s", n, n);
            break;
        case GEN_I64:
            fn = "strom_ssim_write_i64";
            snprintf(text, sizeof text, "w|\"%s\"|rec->%s", n, n);
            break;
        case GEN_FIXED:
            fn = "strom_ssim_write_bytes";
            snprintf(text, sizeof text, "w|\"%s\"|rec->%s|sizeof rec->%s", n, n, n);
            break;
        case GEN_BYTES:
        case GEN_STRING:
            fn = "strom_ssim_write_bytes";
            snprintf(text, sizeof text, "w|\"%s\"|rec->%s|rec->%s_len", n, n, n);
            break;
        case GEN_ARRAY:
            snprintf(text, sizeof text, "w|\"%s\"|rec->%s_count", n, n);
            break;
        default:
            snprintf(text, sizeof text, "w|\"%s\"|rec->%s", n, n);
            break;
        }
        emit_call(o, 4, fn, text, ");");
    }
    if (!r->has_arrays) {
        gen_out_line(o, 4, "return strom_ssim_writer_end(w);");
        emit_end(o);
        return;
    }
    gen_out_line(o, 4, "e = strom_ssim_writer_end(w);");
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        if (f->type == GEN_ARRAY) {
            char call[GEN_NAME_BYTES_MAX + 32];
            char text[GEN_FIELD_NAME_BYTES_MAX + 16];
            snprintf(call, sizeof call, "e = %s_ssim_write", g->records[f->of].cname);
            snprintf(text, sizeof text, "&rec->%s[i]|w", f->name);
            gen_out_line(o, 4, "for (uint32_t i = 0; i < rec->%s_count && !e; i++) {", f->name);
            emit_call(o, 8, call, text, ");");
            gen_out_line(o, 4, "}");
        }
    }
    gen_out_line(o, 4, "if (e) {");
    gen_out_line(o, 8, "strom_ssim_writer_rollback(w, mark);");
    gen_out_line(o, 4, "}");
    gen_out_line(o, 4, "return e;");
    emit_end(o);
}

static const char *uint_max(enum gen_type t) {
    switch (t) {
    case GEN_U8:
        return "UINT8_MAX";
    case GEN_U16:
        return "UINT16_MAX";
    case GEN_U32:
        return "UINT32_MAX";
    default:
        return "UINT64_MAX";
    }
}

/* One branch of the key dispatch: the value of field index into rec. */
static void emit_ssim_branch(const struct gen_record *r, uint32_t index, struct gen_out *o) {
    const struct gen_field *f = &r->fields[index];
    const char *n = f->name;
    char macro[GEN_NAME_BYTES_MAX * 2 + 32];
    char text[GEN_NAME_BYTES_MAX * 2 + 64];
    gen_field_macro(r, f, macro, sizeof macro);
    gen_out_line(o, 4, "%sif (strom_ssim_key_is(f, \"%s\")) {", index > 0 ? "} else " : "", n);
    switch (f->type) {
    case GEN_BOOL:
        gen_out_line(o, 8, "e = strom_ssim_field_bool(line, f, &rec->%s, err);", n);
        break;
    case GEN_I64:
        gen_out_line(o, 8, "e = strom_ssim_field_i64(line, f, &rec->%s, err);", n);
        break;
    case GEN_FIXED:
        gen_out_line(o, 8, "e = strom_ssim_field_size(line, f, sizeof rec->%s, err);", n);
        gen_out_line(o, 8, "if (!e) {");
        gen_out_line(o, 12, "memcpy(rec->%s, f->value, sizeof rec->%s);", n, n);
        gen_out_line(o, 8, "}");
        break;
    case GEN_BYTES:
    case GEN_STRING:
        snprintf(text, sizeof text, "line|f|%s|err", macro);
        emit_call(o, 8, "e = strom_ssim_field_max", text, ");");
        gen_out_line(o, 8, "rec->%s = %sf->value;", n,
                     f->type == GEN_BYTES ? "(const uint8_t *)" : "");
        gen_out_line(o, 8, "rec->%s_len = f->value_len;", n);
        break;
    case GEN_ARRAY:
        snprintf(text, sizeof text, "line|f|%s|&v|err", macro);
        emit_call(o, 8, "e = strom_ssim_field_uint", text, ");");
        gen_out_line(o, 8, "rec->%s_count = (uint32_t)v;", n);
        break;
    default:
        gen_out_line(o, 8, "e = strom_ssim_field_uint(line, f, %s, &v, err);", uint_max(f->type));
        gen_out_line(o, 8, "rec->%s = (%s)v;", n, gen_scalar_ctype(f->type));
        break;
    }
    gen_out_line(o, 8, "*seen |= UINT64_C(1) << %u;", index);
}

static bool needs_uint(const struct gen_record *r) {
    for (uint32_t i = 0; i < r->field_count; i++) {
        enum gen_type t = r->fields[i].type;
        if (t == GEN_U8 || t == GEN_U16 || t == GEN_U32 || t == GEN_U64 || t == GEN_ARRAY) {
            return true;
        }
    }
    return false;
}

static void emit_ssim_field(const struct gen_record *r, struct gen_out *o) {
    char name[GEN_NAME_BYTES_MAX + 32];
    char rec_arg[GEN_NAME_BYTES_MAX + 32];
    char comment[GEN_NAME_BYTES_MAX + 128];
    snprintf(name, sizeof name, "%s_ssim_field", r->cname);
    snprintf(rec_arg, sizeof rec_arg, "struct %s *rec", r->cname);
    snprintf(comment, sizeof comment,
             "%s: one key:value of its ssim line into rec; sets the field's bit in *seen.",
             r->name);
    const char *args[] = {rec_arg, "const struct strom_ssim_record *line",
                          "const struct strom_ssim_field *f", "uint64_t *seen",
                          "struct strom_ssim_error *err"};
    helper_head(o, comment, name, args, 5);
    if (needs_uint(r)) {
        gen_out_line(o, 4, "uint64_t v = 0;");
    }
    gen_out_line(o, 4, "strom_err e = STROM_OK;");
    for (uint32_t i = 0; i < r->field_count; i++) {
        emit_ssim_branch(r, i, o);
    }
    gen_out_line(o, 4, "} else {");
    gen_out_line(o, 8, "e = strom_ssim_fail_at(line, f->column, \"unknown key\", err);");
    gen_out_line(o, 4, "}");
    gen_out_line(o, 4, "return e;");
    emit_end(o);
}

/* The default of f as a C expression: "18446744073709551615ull", "true", "\"anon\"". */
static void default_value(const struct gen_field *f, char *out, size_t out_bytes) {
    if (is_view(f)) {
        snprintf(out, out_bytes, "%s\"%s\"", f->type == GEN_BYTES ? "(const uint8_t *)" : "",
                 f->default_text);
    } else if (f->type == GEN_BOOL) {
        snprintf(out, out_bytes, "%s", f->default_uint ? "true" : "false");
    } else if (f->type == GEN_I64 && f->default_int == INT64_MIN) {
        snprintf(out, out_bytes, "INT64_MIN");
    } else if (f->type == GEN_I64) {
        snprintf(out, out_bytes, "%lld", (long long)f->default_int);
    } else {
        snprintf(out, out_bytes, "%llu%s", (unsigned long long)f->default_uint,
                 f->default_uint > UINT32_MAX ? "ull" : "u");
    }
}

/* Keys absent from the line: their default, or an error naming the first one missing. */
static void emit_ssim_absent(const struct gen_record *r, struct gen_out *o) {
    char name[GEN_NAME_BYTES_MAX + 32];
    char rec_arg[GEN_NAME_BYTES_MAX + 32];
    char comment[GEN_NAME_BYTES_MAX + 128];
    snprintf(name, sizeof name, "%s_ssim_absent", r->cname);
    snprintf(rec_arg, sizeof rec_arg, "struct %s *rec", r->cname);
    snprintf(comment, sizeof comment,
             "%s: the fields whose keys the line lacks (no bit in seen) get their default, or "
             "are an error.",
             r->name);
    const char *args[] = {rec_arg, "const struct strom_ssim_record *line", "uint64_t seen",
                          "struct strom_ssim_error *err"};
    helper_head(o, comment, name, args, 4);
    bool uses_rec = false;
    bool required = false;
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        required = required || !f->has_default;
        gen_out_line(o, 4, "if (!(seen & (UINT64_C(1) << %u))) {", i);
        if (!f->has_default) {
            char text[GEN_FIELD_NAME_BYTES_MAX + 64];
            snprintf(text, sizeof text, "line|0|\"missing key %s\"|err", f->name);
            emit_call(o, 8, "return strom_ssim_fail_at", text, ");");
        } else {
            char value[GEN_DEFAULT_BYTES_MAX + 64];
            default_value(f, value, sizeof value);
            gen_out_line(o, 8, "rec->%s = %s;", f->name, value);
            if (is_view(f)) {
                gen_out_line(o, 8, "rec->%s_len = %u;", f->name, f->default_len);
            }
            uses_rec = true;
        }
        gen_out_line(o, 4, "}");
    }
    if (!uses_rec) {
        gen_out_line(o, 4, "(void)rec;");
    }
    if (!required) {
        gen_out_line(o, 4, "(void)line;");
        gen_out_line(o, 4, "(void)err;");
    }
    gen_out_line(o, 4, "return STROM_OK;");
    emit_end(o);
}

/* The element lines of array field f, after the record's line. */
static void emit_ssim_array(const struct gen *g, const struct gen_record *r,
                            const struct gen_field *f, struct gen_out *o) {
    const struct gen_record *elem = &g->records[f->of];
    char name[GEN_NAME_BYTES_MAX + GEN_FIELD_NAME_BYTES_MAX + 16];
    char rec_arg[GEN_NAME_BYTES_MAX + 32];
    char comment[GEN_NAME_BYTES_MAX * 2 + 128];
    char text[GEN_FIELD_NAME_BYTES_MAX * 2 + 64];
    char call[GEN_NAME_BYTES_MAX + 32];
    snprintf(name, sizeof name, "%s_ssim_%s", r->cname, f->name);
    snprintf(rec_arg, sizeof rec_arg, "struct %s *rec", r->cname);
    snprintf(comment, sizeof comment,
             "%s.%s: the rec->%s_count %s lines that follow the record's line, each with its "
             "own element lines.",
             r->name, f->name, f->name, elem->name);
    const char *args[] = {rec_arg, "const struct strom_ssim_record *line",
                          "struct strom_ssim_reader *r", "struct strom_arena *arena",
                          "struct strom_ssim_error *err"};
    helper_head(o, comment, name, args, 5);
    snprintf(text, sizeof text, "arena|rec->%s|rec->%s_count", f->name, f->name);
    emit_call(o, 4, "STROM_ARENA_ARRAY", text, ");");
    gen_out_line(o, 4, "if (rec->%s == NULL && rec->%s_count > 0) {", f->name, f->name);
    emit_call(o, 8, "return strom_ssim_fail",
              "line|0|\"arena too small for the array\"|STROM_ERR_LIMIT|err", ");");
    gen_out_line(o, 4, "}");
    gen_out_line(o, 4, "strom_err e = STROM_OK;");
    gen_out_line(o, 4, "for (uint32_t i = 0; i < rec->%s_count && !e; i++) {", f->name);
    gen_out_line(o, 8, "struct strom_ssim_record child;");
    gen_out_line(o, 8, "e = strom_ssim_reader_next_in(r, &child, arena, err);");
    gen_out_line(o, 8, "if (!e) {");
    snprintf(call, sizeof call, "e = %s_ssim_parse", elem->cname);
    snprintf(text, sizeof text, "&rec->%s[i]|&child%s|err", f->name,
             elem->has_arrays ? "|r|arena" : "");
    emit_call(o, 12, call, text, ");");
    gen_out_line(o, 8, "}");
    gen_out_line(o, 4, "}");
    gen_out_line(o, 4, "return e;");
    emit_end(o);
}

static void emit_ssim_parse(const struct gen *g, const struct gen_record *r, struct gen_out *o) {
    emit_ssim_field(r, o);
    emit_ssim_absent(r, o);
    for (uint32_t i = 0; i < r->field_count; i++) {
        if (r->fields[i].type == GEN_ARRAY) {
            emit_ssim_array(g, r, &r->fields[i], o);
        }
    }
    head(o, r, "strom_err", "ssim_parse");
    char text[GEN_NAME_BYTES_MAX + GEN_FIELD_NAME_BYTES_MAX + 64];
    gen_out_line(o, 4, "if (!strom_ssim_is(line, \"%s\")) {", r->name);
    snprintf(text, sizeof text, "line|1|\"%s expected\"|err", r->name);
    emit_call(o, 8, "return strom_ssim_fail_at", text, ");");
    gen_out_line(o, 4, "}");
    gen_out_line(o, 4, "uint64_t seen = 0;");
    gen_out_line(o, 4, "strom_err e = STROM_OK;");
    gen_out_line(o, 4, "for (uint32_t i = 0; i < line->field_count && !e; i++) {");
    char call[GEN_NAME_BYTES_MAX + GEN_FIELD_NAME_BYTES_MAX + 16];
    snprintf(call, sizeof call, "e = %s_ssim_field", r->cname);
    emit_call(o, 8, call, "rec|line|&line->fields[i]|&seen|err", ");");
    gen_out_line(o, 4, "}");
    gen_out_line(o, 4, "if (!e) {");
    snprintf(call, sizeof call, "e = %s_ssim_absent", r->cname);
    emit_call(o, 8, call, "rec|line|seen|err", ");");
    gen_out_line(o, 4, "}");
    for (uint32_t i = 0; i < r->field_count; i++) {
        const struct gen_field *f = &r->fields[i];
        if (f->type == GEN_ARRAY) {
            gen_out_line(o, 4, "if (!e) {");
            snprintf(call, sizeof call, "e = %s_ssim_%s", r->cname, f->name);
            emit_call(o, 8, call, "rec|line|r|arena|err", ");");
            gen_out_line(o, 4, "}");
        }
    }
    gen_out_line(o, 4, "return e;");
    emit_end(o);
}

static void emit_layout_assert(const struct gen_record *r, struct gen_out *o) {
    char cond[GEN_NAME_BYTES_MAX + 64];
    snprintf(cond, sizeof cond, "sizeof(struct %s) <= %llu|\"the size its arena bound assumes\"",
             r->cname, (unsigned long long)gen_struct_bytes(r));
    gen_out_printf(o, "\n");
    emit_call(o, 0, "_Static_assert", cond, ");");
}

void gen_emit_c(const struct gen *g, int file, struct gen_out *o) {
    const struct gen_file *f = &g->files[file];
    char intro[GEN_NAME_BYTES_MAX * 2 + 256];
    snprintf(intro, sizeof intro,
             "%s.c: generated by strom-gen from schema/%s.ssim; do not edit. Change the schema "
             "and run `make gen`. What each function does: %s.h.",
             f->stem, f->stem, f->stem);
    gen_out_printf(o, "/*\n");
    gen_out_wrapped(o, intro);
    gen_out_printf(o, " */\n#include \"gen/%s.h\"\n\n#include <string.h>\n\n", f->stem);
    gen_out_printf(o, "#include \"base/assert.h\"\n");
    for (uint32_t i = 0; i < g->record_count; i++) {
        const struct gen_record *r = &g->records[i];
        if (r->file != file) {
            continue;
        }
        char title[GEN_NAME_BYTES_MAX + 120];
        snprintf(title, sizeof title, "/* --- %s ", r->name);
        size_t n = strlen(title);
        memset(title + n, '-', 97 - n);
        snprintf(title + 97, sizeof title - 97, " */");
        gen_out_printf(o, "\n%s\n", title);
        emit_layout_assert(r, o);
        emit_check(g, r, o);
        emit_encoded_bytes(g, r, o);
        emit_put(g, r, o);
        emit_encode(r, o);
        emit_take(g, r, o);
        emit_decode(r, o);
        emit_equal(g, r, o);
        emit_ssim_write(g, r, o);
        emit_ssim_parse(g, r, o);
    }
}
