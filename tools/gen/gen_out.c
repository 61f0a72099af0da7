/*
 * gen_out.c: the text buffer generated files are written into, and a small formatter that lays
 * out comments, declarations, calls and #define blocks the way clang-format with the project's
 * .clang-format does (column limit 100, 4-space indent, parameters bin-packed and aligned after
 * the opening parenthesis). Generated files are formatted when written, so the generator does not
 * depend on clang-format being installed; tests/integ/gen_format.sh checks that clang-format
 * would leave src/gen/ unchanged.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "gen.h"

enum { column_limit = 100, continuation_indent = 4 };

void gen_out_init(struct gen_out *o, char *buf, size_t cap) {
    strom_assert(buf != NULL && cap > 0);
    o->buf = buf;
    o->len = 0;
    o->cap = cap;
    o->overflow = false;
    o->buf[0] = '\0';
}

static void out_vprintf(struct gen_out *o, const char *fmt, va_list ap) {
    if (o->overflow) {
        return;
    }
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    if (n < 0 || (size_t)n >= o->cap - o->len) {
        o->overflow = true;
        o->buf[o->len] = '\0';
        return;
    }
    o->len += (size_t)n;
}

void gen_out_printf(struct gen_out *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    out_vprintf(o, fmt, ap);
    va_end(ap);
}

void gen_out_line(struct gen_out *o, int indent, const char *fmt, ...) {
    va_list ap;
    gen_out_printf(o, "%*s", indent, "");
    va_start(ap, fmt);
    out_vprintf(o, fmt, ap);
    va_end(ap);
    gen_out_printf(o, "\n");
}

/* The next word of text at *at (spaces skipped); a star followed by a slash gets a space between
 * them, so that schema text cannot end the comment it is written into. */
static size_t next_word(const char **at, char *word, size_t word_bytes) {
    const char *s = *at;
    while (*s == ' ' || *s == '\n' || *s == '\t') {
        s++;
    }
    size_t n = 0;
    while (*s && *s != ' ' && *s != '\n' && *s != '\t' && n + 1 < word_bytes) {
        if (*s == '/' && n > 0 && word[n - 1] == '*') {
            word[n++] = ' '; /* "*\/" inside a comment would close it */
        }
        word[n++] = *s++;
    }
    word[n] = '\0';
    *at = s;
    return n;
}

/* Writes text as lines `indent * words` no longer than the column limit. */
static void wrap_lines(struct gen_out *o, int indent, const char *text) {
    char word[GEN_COMMENT_BYTES_MAX + 2];
    char line[GEN_COMMENT_BYTES_MAX + 2] = "";
    size_t width = column_limit - (size_t)indent - 3; /* " * " */
    const char *at = text;
    while (next_word(&at, word, sizeof word) > 0) {
        size_t used = strlen(line);
        if (used > 0 && used + 1 + strlen(word) > width) {
            gen_out_line(o, indent, " * %s", line);
            line[0] = '\0';
            used = 0;
        }
        size_t word_len = strlen(word);
        strom_assert(used + 1 + word_len < sizeof line); /* a line stays under the limit */
        if (used > 0) {
            line[used++] = ' ';
        }
        memcpy(line + used, word, word_len + 1);
    }
    if (line[0]) {
        gen_out_line(o, indent, " * %s", line);
    }
}

void gen_out_wrapped(struct gen_out *o, const char *text) {
    wrap_lines(o, 0, text);
}

void gen_out_comment(struct gen_out *o, int indent, const char *text) {
    char word[GEN_COMMENT_BYTES_MAX + 2];
    size_t one_line = 0;
    const char *at = text;
    for (size_t n; (n = next_word(&at, word, sizeof word)) > 0;) {
        one_line += n + 1;
    }
    if ((size_t)indent + 2 + one_line + 3 <= column_limit) { /* opener, " word" each, closer */
        at = text;
        gen_out_printf(o, "%*s/*", indent, "");
        while (next_word(&at, word, sizeof word) > 0) {
            gen_out_printf(o, " %s", word);
        }
        gen_out_printf(o, " */\n");
        return;
    }
    gen_out_line(o, indent, "/*");
    wrap_lines(o, indent, text);
    gen_out_line(o, indent, " */");
}

/* Lines of a bin-packed argument list, the first starting at column first_col and the others at
 * col; the last argument is followed by tail. 0 when an argument does not fit. When out is not
 * NULL the lines are written (the first without indentation, the caller wrote what precedes). */
static int pack_args(struct gen_out *out, size_t first_col, size_t col, const char *const *args,
                     int count, const char *tail) {
    size_t at = first_col;
    int lines = 1;
    for (int i = 0; i < count; i++) {
        size_t need = strlen(args[i]) + (i + 1 < count ? 1 : strlen(tail));
        size_t sep = i > 0 ? 1 : 0;
        if (i > 0 && at + sep + need > column_limit) {
            if (out) {
                gen_out_printf(out, "\n%*s", (int)col, "");
            }
            at = col;
            sep = 0;
            lines++;
        }
        if (at + sep + need > column_limit) {
            return 0;
        }
        if (out) {
            gen_out_printf(out, "%s%s%s", sep ? " " : "", args[i], i + 1 < count ? "," : tail);
        }
        at += sep + need;
    }
    if (out) {
        gen_out_printf(out, "\n");
    }
    return lines;
}

/*
 * The layouts clang-format chooses, found by comparing with it on thousands of random lengths
 * (the shapes strom-gen emits): with the arguments aligned after the parenthesis (A), with the
 * return type on its own line and then A (R, declarations whose return type is not a keyword), or
 * with a break after the parenthesis and the arguments one continuation deeper (P). A declaration
 * takes A when it fits; else R when it fits in at most one line more than P; else P. A call takes
 * A when it fits in at most one line more than P, else P.
 */
static bool write_layout(struct gen_out *o, int indent, const char *ret, const char *name,
                         const char *const *args, int count, const char *tail,
                         size_t paren_indent) {
    const char *space = ret && ret[strlen(ret) - 1] != '*' ? " " : "";
    size_t head = (size_t)indent + (ret ? strlen(ret) + strlen(space) : 0) + strlen(name) + 1;
    size_t bare = (size_t)indent + strlen(name) + 1;
    int aligned = pack_args(NULL, head, head, args, count, tail);
    int own = ret ? pack_args(NULL, bare, bare, args, count, tail) : 0;
    int paren = pack_args(NULL, paren_indent, paren_indent, args, count, tail);
    bool keyword_ret = ret && (strcmp(ret, "bool") == 0 || strcmp(ret, "void") == 0);
    if (aligned > 0 && (ret != NULL || paren == 0 || aligned <= paren + 1)) {
        gen_out_printf(o, "%*s%s%s%s(", indent, "", ret ? ret : "", ret ? space : "", name);
        pack_args(o, head, head, args, count, tail);
    } else if (own > 0 && !keyword_ret && (paren == 0 || own <= paren + 1)) {
        gen_out_printf(o, "%*s%s\n%*s%s(", indent, "", ret, indent, "", name);
        pack_args(o, bare, bare, args, count, tail);
    } else if (paren > 0) {
        gen_out_printf(o, "%*s%s%s%s(\n%*s", indent, "", ret ? ret : "", ret ? space : "", name,
                       (int)paren_indent, "");
        pack_args(o, paren_indent, paren_indent, args, count, tail);
    } else {
        return false;
    }
    return true;
}

void gen_out_decl(struct gen_out *o, const char *ret, const char *name, const char *const *args,
                  int count, const char *tail) {
    char closing[8];
    snprintf(closing, sizeof closing, ")%s", tail);
    if (!write_layout(o, 0, ret, name, args, count, closing, continuation_indent)) {
        o->overflow = true; /* an argument longer than a line: names are bounded (gen.h) */
    }
}

void gen_out_call(struct gen_out *o, int indent, const char *head, const char *const *args,
                  int count, const char *tail) {
    /* Inside "if (", a break after the call's parenthesis is two continuations deep. */
    size_t deeper = strncmp(head, "if (", 4) == 0 ? 2 : 1;
    size_t paren_indent = (size_t)indent + deeper * continuation_indent;
    if (!write_layout(o, indent, NULL, head, args, count, tail, paren_indent)) {
        o->overflow = true;
    }
}

void gen_out_if_greater(struct gen_out *o, int indent, const char *lhs, const char *rhs) {
    if ((size_t)indent + strlen("if () {") + strlen(lhs) + 3 + strlen(rhs) <= column_limit) {
        gen_out_line(o, indent, "if (%s > %s) {", lhs, rhs);
        return;
    }
    gen_out_line(o, indent, "if (%s >", lhs);
    gen_out_line(o, indent + 4, "%s) {", rhs);
}

void gen_out_defines(struct gen_out *o, const char *const *names, const char *const *values,
                     const char *const *fallbacks, int count) {
    size_t width = 0;
    for (int i = 0; i < count; i++) {
        size_t n = strlen(names[i]);
        width = n > width ? n : width;
    }
    for (int i = 0; i < count; i++) {
        /* "#define " name, padding, " " value: keep it within the column limit. */
        bool fits = 8 + width + 1 + strlen(values[i]) <= column_limit;
        const char *value =
            fits || fallbacks == NULL || fallbacks[i] == NULL ? values[i] : fallbacks[i];
        gen_out_printf(o, "#define %-*s %s\n", (int)width, names[i], value);
    }
}

size_t gen_out_longest_line(const struct gen_out *o) {
    size_t longest = 0;
    size_t start = 0;
    for (size_t i = 0; i < o->len; i++) {
        if (o->buf[i] == '\n') {
            longest = i - start > longest ? i - start : longest;
            start = i + 1;
        }
    }
    return longest;
}
