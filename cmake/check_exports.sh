#!/usr/bin/env bash
# check_exports.sh LIBRARY.so: the shared library exports the public API
# (cmake/libultradict.map) and nothing else: every defined dynamic symbol
# lies in a public class or function of include/ultradict/, and the entry
# points users call are there. Run by ctest (library.exports).
set -euo pipefail
lib=$1
syms=$(nm -D --defined-only -C "$lib" | cut -d' ' -f3-)
public='^(ultradict::(DB|Iterator|Options|PinnableValue|Transaction|WriteBatch|WriteLock)::|ultradict::(DestroyDB|ListDBs)(\[abi:cxx11\])?\(|ultradict::(codec|dict)_internal::|(typeinfo|typeinfo name|vtable) for ultradict::(DB|Iterator|Transaction|WriteBatch|WriteBatch::Handler|WriteLock)$)'
status=0
extra=$(grep -vE "$public" <<<"$syms" | grep -vE '^(ULTRADICT_[0-9.]+|_init|_fini)$' || true)
if [[ -n $extra ]]; then
  echo "FAIL: $lib exports symbols outside the public API:" >&2
  head -n 40 <<<"$extra" >&2
  status=1
fi
for want in 'ultradict::DB::Open(' 'ultradict::DestroyDB(' 'ultradict::ListDBs' \
            'ultradict::WriteBatch::Put(' 'ultradict::WriteBatch::Delete('; do
  grep -qF -- "$want" <<<"$syms" || { echo "FAIL: $lib does not export $want" >&2; status=1; }
done
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
[[ $soname == libultradict.so.* ]] || { echo "FAIL: SONAME '$soname'" >&2; status=1; }
[[ $status -eq 0 ]] && echo "PASS: $(wc -l <<<"$syms") public symbols, SONAME $soname"
exit $status
