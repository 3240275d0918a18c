// The fused path's matrix products (nn/fused_mlp.h), in fp32 or bf16, chosen at run time.
//
// fp32: OpenBLAS's sgemm, as always. bf16 (mixed precision, as on accelerators): both operands
// are rounded to bfloat16 (round to nearest even) as they enter the product, which runs in
// oneDNN's bf16 matmul (AMX tiles on Sapphire Rapids, vdpbf16ps on AVX-512 BF16 cores, a
// reference kernel elsewhere) with fp32 accumulation and an fp32 result; the parameters, their
// gradients, Adam's state and the targets stay fp32. oneDNN because Debian's OpenBLAS is built
// without sbgemm, and at these shapes oneDNN's AMX kernel runs 256x256x256 at about 8x one
// thread's sgemm (docs: README "Training speed"). Each call runs on the calling thread alone
// (the fused updates split their work into single-threaded tasks), so results are the same for
// any thread count, and reproducible on the same machine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stitch::nn::fused {

enum class Precision { kFp32, kBf16 };

// The precision of every later product, process-wide (the trainer sets it from the config key
// `precision` before it builds the algorithm). Starts as fp32.
void set_matmul_precision(Precision precision);
Precision matmul_precision();
const char* precision_name(Precision precision);

// The instruction set oneDNN uses here ("avx512_core_amx", "avx512_core_bf16", "avx2", ...), and
// whether it runs bf16 products in hardware (AMX or AVX-512 BF16).
std::string matmul_isa();
bool cpu_has_bf16_matmul();

// The same product in fp32 through OpenBLAS whatever the precision setting (the fp32 path, so
// that a forward and its backward always agree).
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// c[m, n] = op(a) op(b) + beta c, row-major as cblas_sgemm (op: transpose when trans_*), with
// beta 0 or 1, in the current precision.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// bfloat16 rounding (nearest even; NaN stays NaN) of n floats, kept in float (the values the
// bf16 product sees): for tests and error estimates.
void round_to_bf16(const float* x, float* out, int64_t n);

// A bf16 copy of a rows x cols row-major block, packed (leading dimension cols): an operand
// cast once and used in several products (a layer's input in its forward and weight-gradient
// products, its weight in forward and input-gradient ones).
struct Bf16Block {
  std::vector<uint16_t> bits;
  int64_t rows = 0, cols = 0;
};
void to_bf16(const float* x, int64_t rows, int64_t cols, int64_t ld, Bf16Block& out);

// c[m, n] = op(a) op(b) + beta c in bf16 with fp32 accumulation: a stored [m, k] (or [k, m]
// with trans_a), b stored [k, n] (or [n, k] with trans_b). beta 0 or 1.
void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const Bf16Block& a,
               const Bf16Block& b, float beta, float* c, int64_t ldc);

// A layer's forward as one bf16 product: c[m, n] = a op(b) + bias (added to every row), then a
// ReLU (max(x, 0)) when relu; a stored [m, k], b [k, n] (or [n, k] with trans_b, a torch Linear's
// weight), bias [n] fp32. oneDNN applies the bias and the ReLU as it writes c (the product's
// epilogue) instead of a pre-fill of c and a pass of its own: the same values as gemm_bf16 with
// beta 1 on c pre-filled with the bias, then a ReLU (tested), at less cost (the README's bf16
// table). As the fp32 path's ReLU, this one maps NaN to 0 (the losses' checks catch NaN).
void gemm_bf16_bias(bool trans_b, int64_t m, int64_t n, int64_t k, const Bf16Block& a,
                    const Bf16Block& b, const float* bias, bool relu, float* c, int64_t ldc);

}  // namespace stitch::nn::fused
