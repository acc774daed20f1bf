"""The benchmarks behind `seal bench` and BENCHMARKS.md, beside the engine: they drive the
engine as the app and the CLI do, and the engine never imports them.

    generation.py   tokens/s of the app's generator, raw llama.cpp and transformers
    cycle.py        `seal bench cycle`: one passage cycle and scoring scale-up
    speed.py        `seal bench speed`: adapted generation, swap, padding, memory
    busy.py         `seal bench speed --busy N`: the same figures beside busy programs
    cl.py           `seal bench ki` and `seal bench forget`: SEAL's conditions, forgetting
"""
