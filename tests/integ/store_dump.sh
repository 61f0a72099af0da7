#!/usr/bin/env bash
# store_dump.sh: `strom dump` prints every record of a store file and `strom dump --verify`
# passes a sound file, passes one with a reclaimed front, and fails with the position of a
# damaged record.
set -euo pipefail
cd "$(dirname "$0")/../.."
strom=build/strom
fill=build/test/integ/store_fill
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

out=$("$fill" "$dir/a.store" 7 600)
pos=$(echo "$out" | sed -n 's/.*pos:\([0-9]*\).*/\1/p')
"$strom" dump "$dir/a.store" >"$dir/dump.txt"
batches=$(grep -c '^store.record  type:batch ' "$dir/dump.txt")
[ "$batches" -eq 600 ] || { echo "dump shows $batches batches, want 600"; exit 1; }
for t in index stream trie checkpoint; do
  grep -q "^store.record  type:$t " "$dir/dump.txt" || { echo "no $t record in the dump"; exit 1; }
done
head -1 "$dir/dump.txt" | grep -q '^store.file  version:1  fanout:4 ' || { echo "bad file line"; exit 1; }
"$strom" dump --verify "$dir/a.store" | tail -1 | grep -q 'problems:0' || { echo "verify failed a sound file"; exit 1; }

# A reclaimed front: holes and cut records before the reclaim position are not problems.
"$fill" "$dir/b.store" 5 600 reclaim >/dev/null
"$strom" dump --verify "$dir/b.store" >"$dir/b.txt" || { echo "verify failed a reclaimed file"; tail -5 "$dir/b.txt"; exit 1; }
grep -q '^store.hole ' "$dir/b.txt" || { echo "no hole after reclaim"; exit 1; }

# Damage one batch's payload: verify names its position and fails.
printf '\xff' | dd of="$dir/a.store" bs=1 seek=$((pos + 200)) conv=notrunc status=none
if "$strom" dump --verify "$dir/a.store" >"$dir/bad.txt"; then
  echo "verify passed a damaged file"; exit 1
fi
grep -q "^store.bad  pos:$pos " "$dir/bad.txt" || { echo "no store.bad line at $pos"; grep store.bad "$dir/bad.txt" | head; exit 1; }

# Not a store file, and usage errors.
head -c 10000 /dev/urandom >"$dir/junk"
if "$strom" dump "$dir/junk" 2>/dev/null; then echo "dump accepted junk"; exit 1; fi
# A directory or a missing file: the error says where a node keeps its store files.
for bad in "$dir" "$dir/missing"; do
  "$strom" dump "$bad" 2>"$dir/err" && { echo "dump accepted $bad"; exit 1; }
  grep -q 'commit-N/strom.store' "$dir/err" || { echo "dump $bad said: $(cat "$dir/err")"; exit 1; }
done
set +e
"$strom" dump >/dev/null 2>&1; [ $? -eq 2 ] || { echo "usage error is not exit 2"; exit 1; }
set -e
echo "store_dump: ok ($batches batches)"
