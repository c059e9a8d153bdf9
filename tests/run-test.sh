#!/bin/sh
# LOG_COMPILER for every test: a fixed environment, then the test itself.
# check runs each test case in a forked child (CK_FORK=yes), so a test may
# choose its own synthetic topology with uslab_init() or USLAB_TOPOLOGY.
CK_FORK=yes
CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-120}
CK_VERBOSITY=${CK_VERBOSITY:-normal}
export CK_FORK CK_DEFAULT_TIMEOUT CK_VERBOSITY
unset USLAB_TOPOLOGY USLAB_NOMERGE USLAB_REAP_MS USLAB_DEBUG USLAB_FAIL
exec "$@"
