"""Print the CMAKE_ARGS for a llama-cpp-python build that runs on this machine's CPU.

llama.cpp's default native build enables AMX on CPUs that report it and then crashes in
its AMX matrix kernel during decode. On x86-64 we build for the instruction sets the CPU
reports, with AMX off; on other architectures the upstream defaults are kept.
With --cuda the build also offloads to NVIDIA GPUs (needs CUDA's compiler, nvcc).
"""

import os
import platform
import sys


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cmake_args(cuda: bool = False) -> str:
    args = ["-DLLAVA_BUILD=OFF"] + (["-DGGML_CUDA=ON"] if cuda else [])
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return " ".join(args)
    flags = cpu_flags()
    if not flags:  # no /proc/cpuinfo (macOS): keep native, which has no AMX there
        return " ".join(args)
    wanted = {
        "GGML_AVX": "avx",
        "GGML_AVX2": "avx2",
        "GGML_FMA": "fma",
        "GGML_F16C": "f16c",
        "GGML_AVX512": "avx512f",
        "GGML_AVX512_VBMI": "avx512vbmi",
        "GGML_AVX512_VNNI": "avx512_vnni",
        "GGML_AVX512_BF16": "avx512_bf16",
    }
    args.append("-DGGML_NATIVE=OFF")
    args += [f"-D{opt}={'ON' if flag in flags else 'OFF'}" for opt, flag in wanted.items()]
    args += ["-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"]
    return " ".join(args)


if __name__ == "__main__":
    print(os.environ.get("CMAKE_ARGS") or cmake_args(cuda="--cuda" in sys.argv[1:]))
