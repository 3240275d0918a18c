#include "nn/matmul.h"

#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "nn/target_clones.h"

namespace stitch::nn::fused {
namespace {

std::atomic<Precision> g_precision{Precision::kFp32};

// float -> bfloat16 bits, round to nearest even; NaN -> a quiet NaN.
STITCH_TARGET_CLONES
void to_bf16_portable(const float* __restrict x, uint16_t* __restrict out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], sizeof(bits));
    const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    out[i] = (bits & 0x7FFFFFFFu) > 0x7F800000u ? static_cast<uint16_t>(0x7FC0u)
                                                : static_cast<uint16_t>(rounded);
  }
}

// The same with AVX-512 BF16's vcvtneps2bf16 (round to nearest even; it also treats denormal
// inputs as zero), 16 values an instruction.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void to_bf16_avx512(
    const float* __restrict x, uint16_t* __restrict out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), reinterpret_cast<const __m256i&>(h));
  }
  if (i < n) {
    const auto mask = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mask, x + i));
    _mm256_mask_storeu_epi16(out + i, mask, reinterpret_cast<const __m256i&>(h));
  }
}

// The CPU's conversion where it has one: bf16 products on this machine always round the same way.
void to_bf16(const float* x, uint16_t* out, int64_t n) {
  static const bool native = __builtin_cpu_supports("avx512bf16");
  if (native) {
    to_bf16_avx512(x, out, n);
  } else {
    to_bf16_portable(x, out, n);
  }
}

using dnnl::memory;

// One thread's oneDNN state: engine, stream, and a primitive (with its memory objects, whose
// data handles are set per call) for each shape seen.
struct Bf16Context {
  struct Product {
    dnnl::matmul primitive;
    memory a, b, c, bias;
    // The execute() arguments, built once: they share the memory objects above, whose data
    // handles each call rebinds (no allocation per product).
    std::unordered_map<int, memory> args;
  };
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  // What the product does as it writes c: nothing (c = ab), add to c (beta 1), or add a bias
  // [n] to every row, then maybe a ReLU (a layer's forward in one call).
  enum class Epilogue { kNone, kSum, kBias, kBiasRelu };
  std::map<std::tuple<int64_t, int64_t, int64_t, bool, bool, Epilogue, int64_t>, Product> products;
  Bf16Block a16, b16;

  Bf16Context() {
    omp_set_num_threads(1);  // this thread's products run on it alone (the tasks split the work)
  }

  Product& product(bool ta, bool tb, int64_t m, int64_t n, int64_t k, Epilogue epilogue,
                   int64_t ldc) {
    const auto key = std::make_tuple(m, n, k, ta, tb, epilogue, ldc);
    auto it = products.find(key);
    if (it != products.end()) return it->second;
    // Packed operands: a is [m, k] (or [k, m] stored, read transposed), b is [k, n] (or [n, k]).
    const memory::dims a_strides = ta ? memory::dims{1, m} : memory::dims{k, 1};
    const memory::dims b_strides = tb ? memory::dims{1, k} : memory::dims{n, 1};
    const memory::desc ad({m, k}, memory::data_type::bf16, a_strides);
    const memory::desc bd({k, n}, memory::data_type::bf16, b_strides);
    const memory::desc cd({m, n}, memory::data_type::f32, memory::dims{ldc, 1});
    const memory::desc biasd({1, n}, memory::data_type::f32, memory::dims{n, 1});
    const bool with_bias = epilogue == Epilogue::kBias || epilogue == Epilogue::kBiasRelu;
    dnnl::primitive_attr attr;
    if (epilogue == Epilogue::kSum || epilogue == Epilogue::kBiasRelu) {
      dnnl::post_ops ops;
      if (epilogue == Epilogue::kSum) {
        ops.append_sum(1.0f);
      } else {
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
      }
      attr.set_post_ops(ops);
    }
    const dnnl::matmul::primitive_desc pd(
        with_bias ? dnnl::matmul::desc(ad, bd, biasd, cd) : dnnl::matmul::desc(ad, bd, cd), attr,
        engine);
    Product p{dnnl::matmul(pd),
              memory(ad, engine, DNNL_MEMORY_NONE),
              memory(bd, engine, DNNL_MEMORY_NONE),
              memory(cd, engine, DNNL_MEMORY_NONE),
              memory(biasd, engine, DNNL_MEMORY_NONE),
              {}};
    p.args = {{DNNL_ARG_SRC, p.a}, {DNNL_ARG_WEIGHTS, p.b}, {DNNL_ARG_DST, p.c}};
    if (with_bias) p.args.emplace(DNNL_ARG_BIAS, p.bias);
    return products.emplace(key, std::move(p)).first->second;
  }

  // One call of a product on these operands (bias: only for the epilogues that add one).
  void run(Product& p, const Bf16Block& a, const Bf16Block& b, const float* bias, float* c) {
    p.a.set_data_handle(const_cast<uint16_t*>(a.bits.data()));
    p.b.set_data_handle(const_cast<uint16_t*>(b.bits.data()));
    if (bias != nullptr) p.bias.set_data_handle(const_cast<float*>(bias));
    p.c.set_data_handle(c);
    p.primitive.execute(stream, p.args);
    stream.wait();
  }
};

Bf16Context& context() {
  static thread_local Bf16Context ctx;
  return ctx;
}

}  // namespace

void to_bf16(const float* x, int64_t rows, int64_t cols, int64_t ld, Bf16Block& out) {
  out.rows = rows;
  out.cols = cols;
  out.bits.resize(static_cast<size_t>(rows * cols));
  if (ld == cols) {
    to_bf16(x, out.bits.data(), rows * cols);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) to_bf16(x + r * ld, out.bits.data() + r * cols, cols);
}

void gemm_bf16(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const Bf16Block& a,
               const Bf16Block& b, float beta, float* c, int64_t ldc) {
  STITCH_CHECK(a.rows == (ta ? k : m) && a.cols == (ta ? m : k) && b.rows == (tb ? n : k) &&
                   b.cols == (tb ? k : n),
               "fused::gemm_bf16: operands of another shape");
  STITCH_CHECK(beta == 0.0f || beta == 1.0f, "fused::gemm_bf16: beta must be 0 or 1");
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == 0.0f) {
      for (int64_t r = 0; r < m; ++r) std::fill_n(c + r * ldc, n, 0.0f);
    }
    return;
  }
  Bf16Context& ctx = context();
  auto& p =
      ctx.product(ta, tb, m, n, k,
                  beta != 0.0f ? Bf16Context::Epilogue::kSum : Bf16Context::Epilogue::kNone, ldc);
  ctx.run(p, a, b, nullptr, c);
}

void gemm_bf16_bias(bool tb, int64_t m, int64_t n, int64_t k, const Bf16Block& a,
                    const Bf16Block& b, const float* bias, bool relu, float* c, int64_t ldc) {
  STITCH_CHECK(a.rows == m && a.cols == k && b.rows == (tb ? n : k) && b.cols == (tb ? k : n),
               "fused::gemm_bf16_bias: operands of another shape");
  if (m == 0 || n == 0) return;
  STITCH_CHECK(k > 0, "fused::gemm_bf16_bias: an empty inner dimension");
  Bf16Context& ctx = context();
  auto& p =
      ctx.product(false, tb, m, n, k,
                  relu ? Bf16Context::Epilogue::kBiasRelu : Bf16Context::Epilogue::kBias, ldc);
  ctx.run(p, a, b, bias, c);
}

void set_matmul_precision(Precision precision) { g_precision.store(precision); }
Precision matmul_precision() { return g_precision.load(); }
const char* precision_name(Precision precision) {
  return precision == Precision::kBf16 ? "bf16" : "fp32";
}

std::string matmul_isa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx:
      return "avx512_core_amx";
    case dnnl::cpu_isa::avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core:
      return "avx512_core";
    case dnnl::cpu_isa::avx2_vnni:
      return "avx2_vnni";
    case dnnl::cpu_isa::avx2:
      return "avx2";
    default:
      return "other";
  }
}

bool cpu_has_bf16_matmul() {
  const auto isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_amx || isa == dnnl::cpu_isa::avx512_core_bf16;
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  STITCH_CHECK(beta == 0.0f || beta == 1.0f, "fused::gemm: beta must be 0 or 1");
  if (m == 0 || n == 0) return;
  if (g_precision.load(std::memory_order_relaxed) == Precision::kBf16 && k > 0) {
    Bf16Context& ctx = context();
    to_bf16(a, trans_a ? k : m, trans_a ? m : k, lda, ctx.a16);
    to_bf16(b, trans_b ? n : k, trans_b ? k : n, ldb, ctx.b16);
    gemm_bf16(trans_a, trans_b, m, n, k, ctx.a16, ctx.b16, beta, c, ldc);
    return;
  }
  sgemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), 1.0f, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta,
              c, static_cast<int>(ldc));
}

void round_to_bf16(const float* x, float* out, int64_t n) {
  std::vector<uint16_t> bits(static_cast<size_t>(n));
  to_bf16(x, bits.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t v = static_cast<uint32_t>(bits[i]) << 16;
    std::memcpy(&out[i], &v, sizeof(v));
  }
}

}  // namespace stitch::nn::fused
