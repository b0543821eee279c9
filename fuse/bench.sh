#!/usr/bin/env bash
# FUSE benchmarks: the Hoard mount (cache hot), go-fuse's loopback file
# system and the raw disk, in one run on the same disk, with Hoard's ratios
# to both. Go workloads (sequential 1 MiB write/read, 4 KiB random
# read/write, small-file create/stat/unlink) and the same through fio.
#
#   fuse/bench.sh                         # 256 MiB file, 10,000 small files
#   HOARD_BENCH_SIZE=$((1<<30)) fuse/bench.sh   # the 1 GiB of the issue
#
# Needs root, /dev/fuse and fio (apt-get install fio).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v fio >/dev/null; then
	echo "fio is missing: apt-get install fio" >&2
	exit 1
fi
go test -run '^$' -bench 'FUSE' -benchtime 1x -timeout 60m ./fuse 2>&1 | tee fuse-bench.out | scripts/benchtable
