#!/usr/bin/env bash
# Builds what bench/gpu/run.sh needs on the GPU machine (which has no dotnet and no network) into .gpu-bin/ (git-ignored):
# the GPU benchmark as one self-contained linux-x64 executable (InvariantGlobalization, compressed: under 64 MiB) and the
# Tiny Shakespeare corpus beside it. Then carry .gpu-bin to the GPU machine and run bench/gpu/run.sh OUTDIR there.
# Usage: bench/gpu/build.sh        (set MLNETGPT_BUILD_LOCK=/tmp/mlnetgpt-build.lock to build under that lock)
# Data: $MLNETGPT_DATA, ../shared/data/tinyshakespeare.txt or the download cache (mlnetgpt data fetch).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu-bin
lock=()
[ -n "${MLNETGPT_BUILD_LOCK:-}" ] && lock=(flock "$MLNETGPT_BUILD_LOCK")

rm -rf "$out"
"${lock[@]}" dotnet publish bench/MLNetGpt.GpuBench -c Release -r linux-x64 --self-contained \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:InvariantGlobalization=true \
  -p:DebugType=none -o "$out" --nologo -v quiet
rm -f "$out"/*.pdb "$out"/*.xml

corpus=""
for c in "${MLNETGPT_DATA:-}" ../shared/data/tinyshakespeare.txt "${XDG_CACHE_HOME:-$HOME/.cache}/mlnetgpt/tinyshakespeare.txt"; do
  if [ -n "$c" ] && [ -f "$c" ]; then corpus="$c"; break; fi
done
[ -n "$corpus" ] || { echo "build.sh: no Tiny Shakespeare corpus found (set MLNETGPT_DATA)" >&2; exit 1; }
cp "$corpus" "$out/tinyshakespeare.txt"

size=$(du -sb "$out" | cut -f1)
echo "built $out: $(ls "$out" | tr '\n' ' ')($((size / 1048576)) MiB)"
[ "$size" -lt $((64 * 1048576)) ] || { echo "build.sh: $out is over 64 MiB" >&2; exit 1; }
