#include "lm/analysis.h"

#include <torch/torch.h>

#include <algorithm>

#include "core/error.h"
#include "lm/policy_io.h"
#include "lm/tasks.h"

namespace stitch::lm {

double pass_at_k(int64_t n, int64_t c, int64_t k) {
  if (n < 1 || c < 0 || c > n || k < 1 || k > n) {
    fail("pass@k: needs 0 <= c <= n and 1 <= k <= n, got n {}, c {}, k {}", n, c, k);
  }
  if (n - c < k) return 1.0;  // every k-subset holds a correct sample
  // C(n - c, k) / C(n, k) = prod_{i = n - c + 1}^{n} (1 - k / i)
  double fail_all = 1.0;
  for (int64_t i = n - c + 1; i <= n; ++i) {
    fail_all *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
  }
  return 1.0 - fail_all;
}

PassAtKResult pass_at_k_of_run(const std::string& run_dir, const PassAtKOptions& o) {
  if (o.ks.empty()) fail("lm eval --pass-at-k: no k given");
  const int64_t largest = *std::max_element(o.ks.begin(), o.ks.end());
  const int64_t n = o.samples > 0 ? o.samples : largest;
  for (int64_t k : o.ks) {
    if (k < 1 || k > n) fail("lm eval --pass-at-k: k {} is outside 1..{} (the samples)", k, n);
  }
  if (!(o.temperature > 0.0)) fail("lm eval --pass-at-k: --temperature must be above 0");
  SftConfig c;
  TokenPolicy net = load_run_policy(run_dir, &c);
  net->eval();
  const auto task = make_task(c.task);
  const CharTokenizer tok;
  torch::NoGradGuard no_grad;
  auto gen = at::detail::createCPUGenerator(o.seed);
  const std::vector<Problem> test = test_set(*task, c.difficulty, o.problems, /*seed=*/0);
  PassAtKResult r{.task = c.task,
                  .difficulty = c.difficulty,
                  .problems = static_cast<int>(test.size()),
                  .samples = n};
  std::vector<double> sums(o.ks.size(), 0.0);
  int64_t all_correct = 0;
  constexpr int64_t kRows = 256;  // samples drawn at once
  for (const Problem& problem : test) {
    const torch::Tensor prompt = prompt_tokens(problem.prompt, tok, net->config().context);
    const int64_t p = prompt.size(1);
    int64_t correct = 0;
    for (int64_t done = 0; done < n;) {
      const int64_t rows = std::min(kRows, n - done);
      const Samples s = net->sample(prompt.expand({rows, p}).contiguous(),
                                    {.max_new_tokens = net->config().context - p,
                                     .temperature = o.temperature,
                                     .eos = CharTokenizer::kEos,
                                     .pad = CharTokenizer::kPad},
                                    gen);
      for (int64_t i = 0; i < rows; ++i) {
        correct += score_sample(*task, problem.prompt, s.tokens, i, p, tok).correct ? 1 : 0;
      }
      done += rows;
    }
    all_correct += correct;
    for (size_t j = 0; j < o.ks.size(); ++j) sums[j] += pass_at_k(n, correct, o.ks[j]);
  }
  for (size_t j = 0; j < o.ks.size(); ++j) {
    r.pass.emplace_back(o.ks[j], r.problems > 0 ? sums[j] / r.problems : 0.0);
  }
  if (r.problems > 0) r.mean_correct = static_cast<double>(all_correct) / (r.problems * n);
  return r;
}

ParameterChange changed_parameters(const std::string& run_dir, const std::string& base_run_dir,
                                   double tolerance) {
  if (!(tolerance >= 0.0)) fail("lm eval --changed-from: the tolerance must be 0 or more");
  TokenPolicy after = load_run_policy(run_dir, nullptr);
  TokenPolicy before = load_run_policy(base_run_dir, nullptr);
  const auto a = after->named_parameters(), b = before->named_parameters();
  if (a.size() != b.size()) {
    fail("lm eval --changed-from: {} and {} hold networks of different shapes", run_dir,
         base_run_dir);
  }
  ParameterChange out;
  torch::NoGradGuard no_grad;
  for (const auto& item : a) {
    const torch::Tensor* other = b.find(item.key());
    if (other == nullptr || !other->sizes().equals(item.value().sizes())) {
      fail("lm eval --changed-from: {} and {} hold networks of different shapes ({})", run_dir,
           base_run_dir, item.key());
    }
    out.parameters += item.value().numel();
    const auto moved = (item.value() - *other).abs();
    out.changed += (moved.gt(tolerance) | moved.isnan()).sum().item<int64_t>();  // NaN: changed
  }
  return out;
}

}  // namespace stitch::lm
