/*
 * ssim.h: reading and writing ssim, strom's one text format (config, /sys/cmd, CLI output, logs).
 *
 * A line is one record: a type tag, then key:value fields separated by one or more spaces or
 * tabs. docs/ssim.md gives the grammar; in short:
 *   - type tags and keys are 1..STROM_SSIM_NAME_BYTES_MAX bytes of [A-Za-z0-9_.-];
 *   - a value is written bare when it is non-empty and every byte is in
 *     [A-Za-z0-9_;&*^%$@.!:,+/-]; otherwise it is quoted with " (or with ' when the value holds
 *     more " than '), and inside the quotes \ escapes the quote characters, \, \n, \t, \r, and
 *     every other byte below 32 or above 126 as \ooo (three octal digits);
 *   - a line whose first non-blank byte is # is a comment; blank lines are ignored;
 *   - keys are unique within a line and may come in any order.
 *
 * Reading never allocates. A parsed record holds views: the type, the keys and bare values point
 * into the line; a quoted value points into the line when it has no escape, else into the caller's
 * scratch buffer where it was unescaped. The views live as long as the line and the scratch.
 * Malformed text gives STROM_ERR_PARSE with a 1-based line and column and a short constant reason;
 * the parser never reads outside the line it was given.
 *
 * Writing appends to a caller's bounded buffer. Running out of room sets a sticky overflow flag;
 * strom_ssim_writer_end() then reports STROM_ERR_OVERFLOW and takes the unfinished line back out,
 * so the buffer only ever holds whole lines.
 */
#ifndef STROM_BASE_SSIM_H
#define STROM_BASE_SSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"

/* Longest accepted line, without its '\n': room for a 16 MiB payload escaped as \ooo. */
#define STROM_SSIM_LINE_BYTES_MAX (64u * 1024 * 1024)
/* Most fields (key:value pairs) in one record. */
#define STROM_SSIM_FIELDS_MAX 64
/* Longest type tag or key. */
#define STROM_SSIM_NAME_BYTES_MAX 128

/* Where and why a text failed to parse. line is 0 when the text was not read by line. */
struct strom_ssim_error {
    uint32_t line;      /* 1-based line number, 0 when unknown */
    uint32_t column;    /* 1-based byte column within the line, 0 when not tied to a byte */
    const char *reason; /* short constant text, e.g. "unterminated quote" */
};

/* One key:value pair of a record: views, see the file comment. */
struct strom_ssim_field {
    const char *key;
    const char *value;
    uint32_t key_len;
    uint32_t value_len;
    uint32_t column; /* 1-based column of the key, for error messages */
    uint32_t value_column;
};

/* One parsed line. */
struct strom_ssim_record {
    const char *type; /* the type tag, e.g. "strom.append" */
    uint32_t type_len;
    uint32_t field_count;
    uint32_t line;               /* line number when read through a reader, else 0 */
    uint32_t scratch_bytes_used; /* bytes of the scratch buffer the values occupy */
    struct strom_ssim_field fields[STROM_SSIM_FIELDS_MAX];
};

/*
 * Parses one line (len bytes, no '\n'; a trailing '\r' is ignored) into rec. Unescaped values go
 * into scratch (scratch_bytes; at most len bytes are ever needed). Returns:
 *   STROM_OK          rec holds the record;
 *   STROM_ERR_EMPTY   the line is blank or a comment (rec->type_len is 0);
 *   STROM_ERR_PARSE   malformed line, *err says where and why (a line over
 *                     STROM_SSIM_LINE_BYTES_MAX, more than STROM_SSIM_FIELDS_MAX fields, a
 *                     duplicate key, an unterminated quote, a bad escape, a missing ':' ...);
 *   STROM_ERR_LIMIT   the unescaped values do not fit in scratch (*err points at the value).
 * err may be NULL.
 */
strom_err strom_ssim_parse(struct strom_ssim_record *rec, const char *line, size_t len,
                           char *scratch, size_t scratch_bytes, struct strom_ssim_error *err);

/* True when rec's type tag is the NUL-terminated type. */
bool strom_ssim_is(const struct strom_ssim_record *rec, const char *type);

/* The field with the NUL-terminated key, or NULL when rec has none. */
const struct strom_ssim_field *strom_ssim_find(const struct strom_ssim_record *rec,
                                               const char *key);

/*
 * Typed getters of the field named key. STROM_ERR_NOT_FOUND when the key is absent (err->reason
 * "missing key", column 0); STROM_ERR_PARSE when the value is not of the type (u64: decimal digits
 * up to 2^64-1; i64: optional '-' then decimal digits within int64_t; bool: true, false, 1 or 0),
 * with err->column at the value. The str getter returns a view (not NUL-terminated).
 * err may be NULL; err->line is rec->line.
 */
strom_err strom_ssim_get_u64(const struct strom_ssim_record *rec, const char *key, uint64_t *out,
                             struct strom_ssim_error *err);
strom_err strom_ssim_get_i64(const struct strom_ssim_record *rec, const char *key, int64_t *out,
                             struct strom_ssim_error *err);
strom_err strom_ssim_get_bool(const struct strom_ssim_record *rec, const char *key, bool *out,
                              struct strom_ssim_error *err);
strom_err strom_ssim_get_str(const struct strom_ssim_record *rec, const char *key, const char **out,
                             uint32_t *out_len, struct strom_ssim_error *err);

/* The same conversions on a field already found (generated parsers walk the fields in order). */
strom_err strom_ssim_field_u64(const struct strom_ssim_record *rec,
                               const struct strom_ssim_field *field, uint64_t *out,
                               struct strom_ssim_error *err);
strom_err strom_ssim_field_i64(const struct strom_ssim_record *rec,
                               const struct strom_ssim_field *field, int64_t *out,
                               struct strom_ssim_error *err);
strom_err strom_ssim_field_bool(const struct strom_ssim_record *rec,
                                const struct strom_ssim_field *field, bool *out,
                                struct strom_ssim_error *err);

/* True when field's key is the NUL-terminated key. */
bool strom_ssim_key_is(const struct strom_ssim_field *field, const char *key);

/*
 * Checks for generated parsers, each with err->column at the value:
 *   _uint: an unsigned integer (as _u64) of at most max, else STROM_ERR_TOO_LARGE
 *          "number above its maximum";
 *   _max:  a value of at most max bytes, else STROM_ERR_TOO_LARGE "value longer than its maximum";
 *   _size: a value of exactly size bytes, else STROM_ERR_PARSE "value of the wrong size".
 */
strom_err strom_ssim_field_uint(const struct strom_ssim_record *rec,
                                const struct strom_ssim_field *field, uint64_t max, uint64_t *out,
                                struct strom_ssim_error *err);
strom_err strom_ssim_field_max(const struct strom_ssim_record *rec,
                               const struct strom_ssim_field *field, uint64_t max,
                               struct strom_ssim_error *err);
strom_err strom_ssim_field_size(const struct strom_ssim_record *rec,
                                const struct strom_ssim_field *field, uint64_t size,
                                struct strom_ssim_error *err);

/* Fills err (when not NULL) with rec's line, column and reason; returns code. For callers that
 * find a semantic problem in a field (a value above its maximum, an unknown key). */
strom_err strom_ssim_fail(const struct strom_ssim_record *rec, uint32_t column, const char *reason,
                          strom_err code, struct strom_ssim_error *err);

/* strom_ssim_fail with STROM_ERR_PARSE. */
strom_err strom_ssim_fail_at(const struct strom_ssim_record *rec, uint32_t column,
                             const char *reason, struct strom_ssim_error *err);

/* "line 3, column 17: unterminated quote" into buf (always NUL-terminated when bytes_max > 0). */
void strom_ssim_error_format(const struct strom_ssim_error *err, char *buf, size_t bytes_max);

/*
 * A reader of many lines held in memory (a config file, a /sys/cmd snapshot). It counts lines
 * from 1, skips blank and comment lines, and splits on '\n' (a final line without '\n' counts).
 */
struct strom_ssim_reader {
    const char *text;
    size_t len;
    size_t pos;    /* offset of the next unread line */
    uint32_t line; /* number of the last line returned, 0 before the first */
};

void strom_ssim_reader_init(struct strom_ssim_reader *r, const char *text, size_t len);

/*
 * Parses the next record into rec, scratch as in strom_ssim_parse. Returns STROM_OK, STROM_ERR_END
 * after the last line, or the error of strom_ssim_parse with err->line set; after an error the
 * reader has moved past the bad line, so a caller may go on to report every bad line.
 */
strom_err strom_ssim_reader_next(struct strom_ssim_reader *r, struct strom_ssim_record *rec,
                                 char *scratch, size_t scratch_bytes, struct strom_ssim_error *err);

/*
 * Reads the next record like strom_ssim_reader_next, with the free tail of arena as its scratch,
 * and keeps the scratch bytes the values use allocated in the arena, so the views stay valid while
 * later lines are read (the generated parsers read a record's child lines this way). The end of
 * the text is STROM_ERR_PARSE "line expected: the text ends inside a record" here, because the
 * caller expects a line.
 */
strom_err strom_ssim_reader_next_in(struct strom_ssim_reader *r, struct strom_ssim_record *rec,
                                    struct strom_arena *arena, struct strom_ssim_error *err);

/* A writer of whole lines into buf[0, bytes_max). */
struct strom_ssim_writer {
    char *buf;
    size_t bytes_max;
    size_t bytes_used; /* bytes of whole lines, plus the line being written */
    size_t line_start; /* where the line being written starts */
    bool overflow;     /* sticky: a write did not fit since the line started */
    bool in_line;      /* a type tag was written and the line is not ended yet */
};

void strom_ssim_writer_init(struct strom_ssim_writer *w, char *buf, size_t bytes_max);

/* Starts a line with the type tag (NUL-terminated, 1..STROM_SSIM_NAME_BYTES_MAX bytes of
 * [A-Za-z0-9_.-]; anything else is a programmer error and asserts). */
void strom_ssim_write_type(struct strom_ssim_writer *w, const char *type);

/* Appends key:value to the line (key as the type tag). Values are quoted as the format says. */
void strom_ssim_write_bytes(struct strom_ssim_writer *w, const char *key, const void *value,
                            size_t len);
void strom_ssim_write_str(struct strom_ssim_writer *w, const char *key, const char *value);
void strom_ssim_write_u64(struct strom_ssim_writer *w, const char *key, uint64_t value);
void strom_ssim_write_i64(struct strom_ssim_writer *w, const char *key, int64_t value);
void strom_ssim_write_bool(struct strom_ssim_writer *w, const char *key, bool value);

/*
 * Ends the line with '\n'. STROM_OK, or STROM_ERR_OVERFLOW when some part of the line did not
 * fit: the line is then removed (bytes_used is back where the line started) and the flag cleared.
 */
strom_err strom_ssim_writer_end(struct strom_ssim_writer *w);

/* Where the writer is between lines, to take several lines back with _rollback (a record with
 * child lines that did not all fit). Asserts that no line is being written. */
size_t strom_ssim_writer_mark(const struct strom_ssim_writer *w);
void strom_ssim_writer_rollback(struct strom_ssim_writer *w, size_t mark);

/* Appends one value as the format writes it (bare or quoted), for callers that build lines
 * themselves; len bytes of value. */
void strom_ssim_write_value(struct strom_ssim_writer *w, const void *value, size_t len);

#endif
