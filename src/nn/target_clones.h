// STITCH_TARGET_CLONES: build a loop kernel for x86-64-v3 (AVX2, FMA) and a baseline, picked
// once at load time by an ifunc resolver (GCC's target_clones), so one binary runs everywhere.
//
// Off under ThreadSanitizer: the resolver runs during relocation, before the TSan runtime is up,
// and GCC 12 instruments it, which crashes every TSan binary at start-up (seen in
// `make test-tsan`). Off for clang and other targets, which lack or spell it differently.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define STITCH_TARGET_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define STITCH_TARGET_CLONES
#endif
