#!/usr/bin/env bash
# gen_schema.sh: strom-gen beyond the gentest schema the unit tests use.
#   1. The committed src/gen/ is exactly what clang-format (the project's .clang-format) writes.
#   2. Schemas with names at their length limits and arrays of records from another schema file
#      (tests/integ/gen/stress_*.ssim) give code that clang-format leaves unchanged and that
#      compiles with gcc and clang under the project's warnings.
#   3. Every kind of schema error exits 1 with "file:line[:column]: message" and writes nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

gen=build/strom-gen
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags=(-std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
  -Wmissing-prototypes -Wpointer-arith -Wvla)

clang-format --dry-run --Werror src/gen/*.[ch]
echo "gen_schema: src/gen is formatted"

mkdir -p "$tmp/out/gen"
"$gen" --out "$tmp/out/gen" tests/integ/gen/stress_base.ssim tests/integ/gen/stress_more.ssim
cp .clang-format "$tmp/out/gen/"
clang-format --dry-run --Werror "$tmp"/out/gen/*.[ch]
for cc in gcc clang; do
  for f in "$tmp"/out/gen/*.c; do
    "$cc" "${flags[@]}" -Isrc -I"$tmp/out" -c "$f" -o "$tmp/x.o"
  done
done
echo "gen_schema: long names and arrays across files: formatted, compile with gcc and clang"

cases=0
# expect_error MESSAGE LINE...: a schema of those lines must fail with MESSAGE.
expect_error() {
  local want=$1
  shift
  printf '%s\n' "$@" >"$tmp/bad.ssim"
  rm -rf "$tmp/bad"
  if "$gen" --out "$tmp/bad" "$tmp/bad.ssim" 2>"$tmp/err"; then
    echo "gen_schema: accepted a bad schema ($want):"
    printf '  %s\n' "$@"
    exit 1
  fi
  if ! grep -qF -- "$want" "$tmp/err"; then
    echo "gen_schema: wanted '$want', got: $(cat "$tmp/err")"
    exit 1
  fi
  if [ -e "$tmp/bad" ]; then
    echo "gen_schema: wrote output for a bad schema ($want)"
    exit 1
  fi
  cases=$((cases + 1))
}

r='gen.record name:a.r'
f='gen.field record:a.r'
expect_error 'bad.ssim:1:17: unterminated quote' 'gen.record name:"a.r'
expect_error 'bad.ssim:1:1: unknown record type gen.recrd' 'gen.recrd name:a.r'
expect_error 'bad.ssim:1:21: unknown key colour for gen.record' "$r colour:red"
expect_error 'A.r is not a name like space.name' 'gen.record name:A.r'
expect_error 'ar is not a name like space.name' 'gen.record name:ar'
expect_error 'name is longer than 32 bytes' 'gen.record name:a.abcdefghijklmnopqrstuvwxyz01234'
expect_error 'gen.record needs name' 'gen.record id:1'
expect_error 'no gen.record a.r before this line in this file' "$f name:x type:u8"
expect_error 'unknown field type u31' "$r" "$f name:x type:u31"
expect_error 'field name int is not a C identifier' "$r" "$f name:int type:u8"
expect_error 'field name X is not a C identifier' "$r" "$f name:X type:u8"
expect_error 'name is longer than 24 bytes' "$r" "$f name:abcdefghijklmnopqrstuvwxy type:u8"
expect_error 'gen.field needs type' "$r" "$f name:x"
expect_error 'a.r.x: needs max' "$r" "$f name:x type:bytes"
expect_error 'a.r.x: takes no max' "$r" "$f name:x type:u8 max:3"
expect_error 'a.r.x: needs size' "$r" "$f name:x type:fixed"
expect_error 'a.r.x: takes no size' "$r" "$f name:x type:string max:3 size:3"
expect_error 'a.r.x: needs of' "$r" "$f name:x type:array max:3"
expect_error 'a.r.x: takes no of' "$r" "$f name:x type:u32 of:a.r"
expect_error 'a.r.x: of:a.q names no gen.record' "$r" "$f name:x type:array of:a.q max:3"
expect_error 'a.r.x: max must be from 1 to 2147483647' "$r" "$f name:x type:bytes max:0"
expect_error 'a.r.x: max must be from 1 to 2147483647' "$r" "$f name:x type:bytes max:2147483648"
expect_error 'a.r.x: size must be from 1 to 65536' "$r" "$f name:x type:fixed size:65537"
expect_error 'a.r.x: max:a.none names no gen.const' "$r" "$f name:x type:bytes max:a.none"
expect_error 'a.r.x: a second field of that name' "$r" "$f name:x type:u8" "$f name:x type:u16"
expect_error 'collides with the member x_len of field x' "$r" "$f name:x type:bytes max:3" \
  "$f name:x_len type:u32"
expect_error 'a second record named a.r' "$r" "$f name:x type:u8" "$r"
expect_error 'record a.q has the id of a.r' "$r id:3" "$f name:x type:u8" 'gen.record name:a.q id:3' \
  'gen.field record:a.q name:x type:u8'
expect_error 'records nest in a cycle' "$r" 'gen.record name:a.q' "$f name:x type:array of:a.q max:2" \
  'gen.field record:a.q name:y type:array of:a.r max:2'
expect_error 'records nest in a cycle' "$r" "$f name:me type:array of:a.r max:2"
expect_error 'record a.r has no gen.field' "$r"
expect_error 'a.r.x: default 256 does not fit' "$r" "$f name:x type:u8 default:256"
expect_error 'a.r.x: default of a bool is true or false' "$r" "$f name:x type:bool default:yes"
expect_error 'a.r.x: default -x is not an i64' "$r" "$f name:x type:i64 default:-x"
expect_error 'a.r.x: fixed and array fields take no default' "$r" "$f name:x type:fixed size:2 default:ab"
expect_error 'a.r.x: default is longer than max' "$r" "$f name:x type:string max:2 default:abc"
expect_error "a.r.x: a default is printable ASCII without" "$r" "$f name:x type:string max:9 default:'a\"b'"
expect_error 'a comment is printable ASCII in words of at most 60 bytes' \
  "$r comment:$(printf 'w%.0s' $(seq 61))"
expect_error 'gen.schema name other differs from the file' 'gen.schema name:other'
expect_error 'constant a.r_max would collide with the macros of record a.r' 'gen.const name:a.r_max value:1' \
  "$r" "$f name:x type:u8"
expect_error 'a second constant named a.k' 'gen.const name:a.k value:1' 'gen.const name:a.k value:2'
expect_error 'value must be an unsigned integer' 'gen.const name:a.k value:-1'
many=("$r")
for i in $(seq 0 64); do many+=("$f name:f$i type:u8"); done
expect_error 'a.r has more than 64 fields' "${many[@]}"
echo "gen_schema: $cases bad schemas rejected with their messages"
