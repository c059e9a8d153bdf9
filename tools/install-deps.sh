#!/bin/sh
# Install the Debian 12 packages uslab needs to build and test.
#   tools/install-deps.sh            build + test dependencies
#   tools/install-deps.sh --bench    also the peer allocators for make bench
#   tools/install-deps.sh --dev      also clang and its sanitizer runtimes
set -e
pkgs="build-essential autoconf automake libtool pkg-config libhwloc-dev liburcu-dev libnuma-dev check valgrind python3 git memcached python3-pymemcache libmemcached-tools"
for arg in "$@"; do
	case "$arg" in
	--bench) pkgs="$pkgs libjemalloc-dev libtcmalloc-minimal4 libmimalloc-dev valgrind" ;;
	--dev) pkgs="$pkgs clang libclang-rt-14-dev valgrind" ;;
	*) echo "usage: $0 [--bench] [--dev]" >&2; exit 2 ;;
	esac
done
if [ "$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq $pkgs >/dev/null
echo "uslab dependencies installed: $pkgs"
