#!/usr/bin/env bash
# Installs seal and everything it needs into .venv (override with SEAL_VENV).
#   --cuda  build llama.cpp for NVIDIA GPUs too (needs nvcc); torch uses a GPU whenever it sees one
#   --ray   also install Ray, to run benchmark conditions and filter trials on workers
# llama-cpp-python is built from source with flags that suit this CPU (see
# scripts/llama_cmake_args.py); the built wheel is kept per flag set, so a later install
# reuses it and a wheel built with other flags is never picked up by mistake.
set -euo pipefail
cd "$(dirname "$0")"
cuda="" extras="test"
for flag in "$@"; do
  case "$flag" in
    --cuda) cuda="--cuda" ;;
    --ray) extras="$extras,ray" ;;
    *) echo "install.sh: unknown flag $flag (use --cuda, --ray)" >&2; exit 2 ;;
  esac
done
venv="${SEAL_VENV:-.venv}"
python="${PYTHON:-python3}"

"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "seal needs Python 3.11 or newer" >&2; exit 1; }
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
py="$venv/bin/python"
pip() { "$py" -m pip --disable-pip-version-check "$@"; }

# CPU torch first: a plain "torch" requirement could pull a multi-GB CUDA build.
"$py" -c 'import torch' 2>/dev/null || pip install torch==2.13.0

cmake_args="$("$py" scripts/llama_cmake_args.py $cuda)"
key="$(printf '%s' "llama-cpp-python==0.3.36 $cmake_args $(uname -m)" | sha256sum | cut -c1-16)"
wheels="${SEAL_WHEELS:-$HOME/.cache/seal/wheels}/$key"
if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python for this CPU (about 3 to 8 minutes): $cmake_args"
  mkdir -p "$wheels"
  CMAKE_ARGS="$cmake_args" pip wheel --no-deps --no-cache-dir -w "$wheels" llama-cpp-python==0.3.36
fi
pip install --force-reinstall --no-deps "$wheels"/llama_cpp_python-*.whl
echo "llama-cpp-python built with: $cmake_args"
pip install -e ".[$extras]"  # also llama-cpp-python's own dependencies (diskcache, jinja2, ...)
"$py" -c 'import llama_cpp; print("llama.cpp build:", llama_cpp.llama_print_system_info().decode().strip())'
"$py" -c 'import llama_cpp, engine, seal_tui' && echo "seal installed in $venv"
