#!/bin/sh
# LOG_COMPILER for every test: a fixed environment, then the test itself.
# check runs each test case in a forked child (CK_FORK=yes), so a test may
# choose its own synthetic topology with uslab_init() or USLAB_TOPOLOGY.
CK_FORK=yes
CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120}
CK_VERBOSITY=${CK_VERBOSITY:-normal}
export CK_FORK CK_DEFAULT_TIMEOUT CK_VERBOSITY
# Sanitizer builds: liburcu is not instrumented (tests/tsan.supp); leaks are
# errors; abort on the first report.
TSAN_OPTIONS="suppressions=${top_srcdir:-.}/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
ASAN_OPTIONS="detect_leaks=1 abort_on_error=1 ${ASAN_OPTIONS:-}"
UBSAN_OPTIONS="print_stacktrace=1 halt_on_error=1 ${UBSAN_OPTIONS:-}"
export TSAN_OPTIONS ASAN_OPTIONS UBSAN_OPTIONS
unset USLAB_TOPOLOGY USLAB_NOMERGE USLAB_DEBUG USLAB_FAIL USLAB_NOALIENCACHE \
	USLAB_RSEQ USLAB_NUMA_POLICY USLAB_VALGRIND USLAB_STATS USLAB_STATS_MS USLAB_MALLOC_MAX \
	USLAB_DECAY_MS USLAB_PURGE USLAB_ADAPTIVE_ARRAYS
# Tests count objects in arrays and free slabs between calls: the periodic
# reaper would move them at random moments. Suites that test the reaper and
# the decay turn it on themselves (uslab_reaper_start, USLAB_REAP_MS).
USLAB_REAP_MS=0
export USLAB_REAP_MS
exec "$@"
