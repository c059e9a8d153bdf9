#!/bin/sh
# tests/stress/test-stress-short.sh - make check's bounded run of
# stress-hotplug: 400 transitions or 8 seconds, whichever comes first.
# Run by tests/run-test.sh, which exports top_builddir.
exec "${top_builddir:-.}/tests/stress/stress-hotplug" --transitions 400 --seconds 8 "$@"
