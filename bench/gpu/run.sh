#!/usr/bin/env bash
# The GPU checks of issue 15 on the GPU machine (NVIDIA driver, CUDA 13 with cuBLAS, PyTorch; no dotnet, no network), from
# a checkout with .gpu-bin/ built by bench/gpu/build.sh. Writes JSON lines into OUTDIR:
#   env.jsonl       the machine: nvidia-smi, driver, libraries found
#   parity.jsonl    CudaBackend vs CpuBackend on a small GPT: logits, loss, every gradient, 5 AdamW steps (FP32 and TF32)
#   train.jsonl     training throughput, memory and sampling speed, MLNetGpt beside train_ref.py --device cuda (TF32 on
#                   both sides): GPT-2 124M (L12 C768 T1024 B4), lecture (L6 C384 T256 B64), nanogpt-cpu
#   lecture-5000.jsonl  the lecture config's 5000 iterations, a line per evaluation (every 500: 200 batches of train and
#                   val), then the summary (acceptance: val loss <= 1.50 within 5 minutes)
# Usage: bench/gpu/run.sh OUTDIR [--stages "parity gpt2 lecture nanogpt"] [--budget SECONDS] [--quick] [--cpu-accelerator]
#   --stages: which checks, in order (default: parity gpt2 lecture nanogpt, about 5 minutes; lecture-5000 is the long
#   run, at most 5 minutes if it meets its target). --budget (default 300): the whole run's deadline; each check gets its own time limit
#   cut to what is left, and a check that cannot start with 20 s left is skipped (said in the output). A GPU that cannot
#   be used (parity exit code 2) ends the run at once. --quick: fewer steps (a smoke run); --cpu-accelerator: the .NET
#   side on ILGPU's CPU accelerator (no GPU needed; for checking this script), without PyTorch.
# With the device tool (15 minutes a session, the machine's start included; warm for 30 s after a call): run
# `bench/gpu/run.sh $OUT` (timeout_s 330, carry .gpu-bin), then at once `bench/gpu/run.sh $OUT --stages lecture-5000
# --budget 330` (timeout_s 360): about 13 minutes in all. When the first call shows the GPU path broken, give the
# machine back, fix, and spend what is left on one more first call.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${1:?usage: bench/gpu/run.sh OUTDIR [--stages LIST] [--budget SECONDS] [--quick] [--cpu-accelerator]}"
shift
stages="parity gpt2 lecture nanogpt"; budget=300; quick=0; cpuacc=()
while [ $# -gt 0 ]; do
  case "$1" in
    --stages) stages="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    --lecture-5000) stages="lecture-5000"; shift ;;
    --quick) quick=1; shift ;;
    --cpu-accelerator) cpuacc=(--cpu-accelerator); shift ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
# The CPU accelerator emulates every GPU thread: only the small checks finish there, in minutes, with longer limits.
slow=1
if [ ${#cpuacc[@]} -gt 0 ]; then
  slow=5
  [ "$stages" = "parity gpt2 lecture nanogpt" ] && stages="parity nanogpt"
fi
for st in $stages; do
  case "$st" in parity|gpt2|lecture|nanogpt|lecture-5000) ;; *) echo "run.sh: unknown stage $st" >&2; exit 2 ;; esac
done
mkdir -p "$out"
bin=.gpu-bin/MLNetGpt.GpuBench
data=.gpu-bin/tinyshakespeare.txt
[ -x "$bin" ] || { echo "run.sh: $bin missing: run bench/gpu/build.sh first (and carry .gpu-bin)" >&2; exit 1; }
export MLNETGPT_DATA="$data" DOTNET_CLI_TELEMETRY_OPTOUT=1 PYTHONUNBUFFERED=1
# ILGPU JIT-compiles the kernels to PTX through the driver; cuBLAS is found on the loader path or, failing that, in the CUDA
# toolkit or PyTorch's nvidia-* wheels: point MLNETGPT_CUBLAS at the first libcublas.so.13/.12 found, to be sure.
if [ -z "${MLNETGPT_CUBLAS:-}" ]; then
  cublas=$(ldconfig -p 2>/dev/null | awk '/libcublas\.so\.1[23] /{print $NF; exit}')
  [ -z "$cublas" ] && cublas=$(python3 - <<'PY' 2>/dev/null
import glob, os, site, sys
roots = site.getsitepackages() + [site.getusersitepackages()] + sys.path
for r in roots:
    for pat in ("nvidia/cu13/lib/libcublas.so.13", "nvidia/cublas/lib/libcublas.so.1[23]", "nvidia/cu12/lib/libcublas.so.12"):
        hits = sorted(glob.glob(os.path.join(r, pat)))
        if hits:
            print(hits[0]); sys.exit(0)
PY
)
  [ -z "$cublas" ] && cublas=$(ls /usr/local/cuda/lib64/libcublas.so.1[23] 2>/dev/null | head -n 1)
  if [ -n "$cublas" ]; then
    export MLNETGPT_CUBLAS="$cublas"
    export LD_LIBRARY_PATH="$(dirname "$cublas")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" # its libcublasLt beside it
  fi
fi

# ILGPU loads the driver as libcuda.so; where only libcuda.so.1 is on the loader path, give it that name too (the backend
# also resolves it itself).
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so '; then
  cuda1=$(ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 /{print $NF; exit}')
  if [ -n "$cuda1" ]; then
    mkdir -p /tmp/mlnetgpt-cuda && ln -sf "$cuda1" /tmp/mlnetgpt-cuda/libcuda.so
    export LD_LIBRARY_PATH="/tmp/mlnetgpt-cuda${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi

t0=$(date +%s)
elapsed() { echo $(( $(date +%s) - t0 )); }
clean() { tr -d '"\\' | tr '\n\t' '  '; } # a value fit for a JSON string
smi=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -n 1 | clean)
torchv=$(python3 -c 'import torch;print(torch.__version__, torch.version.cuda)' 2>&1 | tail -n 1 | clean)
echo "{\"check\":\"env\",\"nvidia_smi\":\"$smi\",\"cublas\":\"${MLNETGPT_CUBLAS:-}\",\"torch\":\"$torchv\"}" > "$out/env.jsonl"
cat "$out/env.jsonl"

# limit NAME SECONDS: prints the time limit for the next check (its own, cut to what is left of the budget), or nothing
# (and says so) when under 20 s are left
limit() {
  local left=$(( budget - $(elapsed) ))
  if [ "$left" -lt 20 ]; then echo "== $1: skipped, ${left}s of the ${budget}s budget left" >&2; return 1; fi
  local own=$(( $2 * slow ))
  echo $(( own < left ? own : left ))
}

# ours/torch CONFIG WARMUP ITERS SAMPLE LIMIT: one training throughput run of each side into train.jsonl
ours() {
  local t; t=$(limit "$1: MLNetGpt" "$5") || return 0
  echo "== $1: MLNetGpt, limit ${t}s ($(elapsed)s)"
  timeout "$t" "$bin" train --config "$1" --warmup "$2" --iters "$3" --sample-tokens "$4" --data "$data" "${cpuacc[@]}" \
    | tee -a "$out/train.jsonl"
}
torch() {
  [ ${#cpuacc[@]} -gt 0 ] && return 0
  local t; t=$(limit "$1: PyTorch" "$5") || return 0
  echo "== $1: PyTorch, limit ${t}s ($(elapsed)s)"
  timeout "$t" python3 bench/pytorch/train_ref.py --config "$1" --device cuda --warmup "$2" --iters "$3" --eval-iters 0 \
    --sample-tokens "$4" --data "$data" | tee -a "$out/train.jsonl"
}

small=0
{ [ "$quick" = 1 ] || [ ${#cpuacc[@]} -gt 0 ]; } && small=1
touch "$out/train.jsonl"
for st in $stages; do
  case "$st" in
    parity)
      t=$(limit parity 150) || continue
      echo "== parity, limit ${t}s ($(elapsed)s)"
      timeout "$t" "$bin" parity "${cpuacc[@]}" | tee "$out/parity.jsonl"
      rc=${PIPESTATUS[0]}
      echo "parity exit code: $rc"
      if [ "$rc" = 2 ]; then echo "the GPU cannot be used (see parity.jsonl): stopping" >&2; break; fi ;;
    gpt2)
      if [ "$small" = 1 ]; then ours gpt2 1 2 5 150; torch gpt2 1 2 5 120
      else ours gpt2 3 15 20 150; torch gpt2 3 15 20 120; fi ;;
    lecture)
      if [ "$small" = 1 ]; then ours lecture 1 2 20 90; torch lecture 1 3 20 60
      else ours lecture 5 50 200 90; torch lecture 5 50 200 90; fi ;;
    nanogpt)
      if [ "$small" = 1 ]; then ours nanogpt-cpu 1 2 20 60; torch nanogpt-cpu 2 5 20 60
      else ours nanogpt-cpu 10 200 200 60; torch nanogpt-cpu 10 200 200 60; fi ;;
    lecture-5000)
      iters=5000; [ "$small" = 1 ] && iters=20
      t=$(limit lecture-5000 360) || continue
      echo "== lecture, $iters iterations, val loss every $((iters / 10)), limit ${t}s ($(elapsed)s)"
      timeout "$t" "$bin" train --config lecture --warmup 0 --iters "$iters" --eval-iters "$([ "$small" = 1 ] && echo 2 || echo 200)" \
        --eval-interval $((iters / 10)) --data "$data" "${cpuacc[@]}" | tee "$out/lecture-5000.jsonl" ;;
  esac
done
echo "done in $(elapsed)s; results in $out"
