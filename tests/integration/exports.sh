#!/bin/sh
# The shared library exports exactly the functions the public headers declare
# with USLAB_API (and no internal symbol): compares `nm -D --defined-only`
# with the declarations in include/uslab/*.h.
set -eu
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
lib=$top_builddir/.libs/libuslab.so
[ -f "$lib" ] || { echo "no $lib (static-only build?)"; exit 77; }
command -v nm >/dev/null || exit 77

tmp=${TMPDIR:-/tmp}/uslab-exports.$$
trap 'rm -f "$tmp".*' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort -u > "$tmp.lib"
# Preprocess the umbrella header with USLAB_API made visible, join each
# declaration onto one line, and take the identifier before its '('.
${CC:-cc} -E -P -DUSLAB_API=USLAB_EXPORTED_API -I"$top_srcdir/include" "$top_srcdir/include/uslab.h" |
	tr '\n' ' ' | sed 's/;/;\n/g' | grep 'USLAB_EXPORTED_API' |
	sed -E 's/^[^(]*[^A-Za-z0-9_(]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*\(.*/\1/' | sort -u > "$tmp.hdr"
status=0
if ! diff -u "$tmp.hdr" "$tmp.lib" > "$tmp.diff"; then
	echo "exported symbols differ from the USLAB_API declarations (- header only, + library only):"
	cat "$tmp.diff"
	status=1
fi
echo "$(wc -l < "$tmp.lib") exported symbols, $(wc -l < "$tmp.hdr") declared"
exit $status
