#!/usr/bin/env bash
# The GPU checks of issue 15, in one command, on the GPU machine (NVIDIA driver, CUDA 13 with cuBLAS, PyTorch; no dotnet,
# no network), from a checkout with .gpu-bin/ built by bench/gpu/build.sh. Writes JSON lines into OUTDIR:
#   env.jsonl       the machine: nvidia-smi, driver, libraries found
#   parity.jsonl    CudaBackend vs CpuBackend on a small GPT: logits, loss, every gradient, 5 AdamW steps (FP32 and TF32)
#   train.jsonl     training throughput and memory, MLNetGpt beside train_ref.py --device cuda (TF32 on both sides), for
#                   nanogpt-cpu, lecture (L6 C384 T256 B64) and GPT-2 124M (L12 C768 T1024 B4)
#   lecture-5000.jsonl  (with --lecture-5000) the lecture config's 5000 iterations with val loss every 500 (target ≤ 1.50)
# Each step has its own time limit, so the whole run stays within about 8 minutes (the lecture run adds up to 6).
# Usage: bench/gpu/run.sh OUTDIR [--lecture-5000] [--quick] [--cpu-accelerator]
#   --quick: fewer steps (a smoke run); --cpu-accelerator: run the .NET side on ILGPU's CPU accelerator (no GPU needed;
#   for checking this script) and skip PyTorch on CUDA.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${1:?usage: bench/gpu/run.sh OUTDIR [--lecture-5000] [--quick] [--cpu-accelerator]}"
shift
lecture=0; quick=0; cpuacc=()
for a in "$@"; do
  case "$a" in
    --lecture-5000) lecture=1 ;;
    --quick) quick=1 ;;
    --cpu-accelerator) cpuacc=(--cpu-accelerator) ;;
    *) echo "run.sh: unknown option $a" >&2; exit 2 ;;
  esac
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

echo "== parity ($(elapsed)s)"
timeout 150 "$bin" parity "${cpuacc[@]}" | tee "$out/parity.jsonl"
echo "parity exit code: ${PIPESTATUS[0]}"

# name, warm-up steps, timed steps (each side), PyTorch's --sample-tokens
if [ "$quick" = 1 ] || [ ${#cpuacc[@]} -gt 0 ]; then
  runs=("nanogpt-cpu 2 5 20" "lecture 1 3 20")
  [ ${#cpuacc[@]} -gt 0 ] && runs=("nanogpt-cpu 1 2 20")
else
  runs=("nanogpt-cpu 10 200 200" "lecture 5 50 200" "gpt2 3 15 20")
fi
: > "$out/train.jsonl"
for r in "${runs[@]}"; do
  set -- $r
  echo "== $1: MLNetGpt ($(elapsed)s)"
  timeout 150 "$bin" train --config "$1" --warmup "$2" --iters "$3" --data "$data" "${cpuacc[@]}" | tee -a "$out/train.jsonl"
  if [ ${#cpuacc[@]} -eq 0 ]; then
    echo "== $1: PyTorch ($(elapsed)s)"
    timeout 120 python3 bench/pytorch/train_ref.py --config "$1" --device cuda --warmup "$2" --iters "$3" --eval-iters 0 \
      --sample-tokens "$4" --data "$data" | tee -a "$out/train.jsonl"
  fi
done

if [ "$lecture" = 1 ]; then
  echo "== lecture, 5000 iterations, val loss every 500 ($(elapsed)s)"
  timeout 360 "$bin" train --config lecture --warmup 0 --iters 5000 --eval-iters 200 --eval-interval 500 --data "$data" \
    "${cpuacc[@]}" | tee "$out/lecture-5000.jsonl"
fi
echo "done in $(elapsed)s; results in $out"
