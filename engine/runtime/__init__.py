"""The model at run time: generation (llama.cpp in a child process), training, adapters."""
