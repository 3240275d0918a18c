// The token policy: a decoder-only transformer (libtorch) over the character tokenizer's
// vocabulary (lm/tokenizer.h), in the GPT-2 layout (Radford et al. 2019): learned token and
// position embeddings, pre-LayerNorm blocks x += attn(LN(x)); x += mlp(LN(x)) with causal
// multi-head self-attention and a 4x GELU MLP, a final LayerNorm and a linear head to the
// vocabulary. Sizes from ~0.1M to ~10M parameters (width 64-384, 2-6 layers).
//
// Sampling runs with a key/value cache: each new token attends to the cached keys and values of
// the tokens before it, so a sequence of T tokens costs T single-token steps, not T forwards of
// growing length. The log-probabilities it reports for the sampled tokens equal those of a full
// forward over the whole sequence (tested), which the RL methods rely on.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace stitch::lm {

struct TransformerConfig {
  int64_t vocab = 24;
  int64_t context = 64;  // the longest sequence (prompt and completion)
  int64_t width = 128;   // embedding width; heads x head width
  int64_t layers = 2;
  int64_t heads = 4;
};

struct SampleOptions {
  int64_t max_new_tokens = 16;
  double temperature = 1.0;  // 0: greedy
  double top_p = 1.0;        // nucleus sampling: the smallest set of tokens with this mass
  int64_t eos = 2;           // a row stops after sampling it; its later tokens are `pad`
  int64_t pad = 0;
  // false: every new token recomputes the whole sequence (no key/value cache). The same tokens
  // and log-probabilities up to rounding; there to measure what the cache saves.
  bool kv_cache = true;
};

struct Samples {
  torch::Tensor tokens;  // [B, P + new] int64: the prompts, then what was sampled
  // [B, new] log pi(token) of each sampled token (0 after the end), under the policy itself
  // (temperature 1, the whole vocabulary), not the tempered or nucleus distribution drawn from.
  torch::Tensor log_probs;
  torch::Tensor mask;  // [B, new] 1 for sampled tokens up to and including eos, else 0
};

class TokenPolicyImpl : public torch::nn::Module {
 public:
  explicit TokenPolicyImpl(const TransformerConfig& config);

  // Logits [B, T, vocab] of the next token at every position of tokens [B, T] (int64, T <=
  // context).
  torch::Tensor forward(const torch::Tensor& tokens);
  // The final LayerNorm's output [B, T, width] at every position: what the head reads.
  torch::Tensor hidden(const torch::Tensor& tokens);
  // log pi(tokens[:, t] | tokens[:, <t]) for t = 1..T-1: [B, T-1].
  torch::Tensor token_log_probs(const torch::Tensor& tokens);
  // token_log_probs and the hidden states their tokens were drawn from, [B, T-1, width]: the
  // state before each token, which a value head reads (lm rl's PPO).
  std::pair<torch::Tensor, torch::Tensor> token_log_probs_and_hidden(const torch::Tensor& tokens);
  // Continues prompts [B, P] (int64, one length: e.g. a GRPO group of one prompt) with the key /
  // value cache; draws from `generator`. Without gradients.
  Samples sample(const torch::Tensor& prompts, const SampleOptions& options,
                 torch::Generator generator);

  const TransformerConfig& config() const { return config_; }
  int64_t parameter_count() const;

 private:
  struct Block {
    torch::nn::LayerNorm ln1{nullptr}, ln2{nullptr};
    torch::nn::Linear qkv{nullptr}, proj{nullptr}, fc{nullptr}, out{nullptr};
  };
  // x [B, T, width] at positions start..start+T-1 through every block; with caches (one K and V
  // [B, heads, t, head width] per layer), attends to the cached tokens too and appends to them.
  torch::Tensor blocks(torch::Tensor x, std::vector<torch::Tensor>* keys,
                       std::vector<torch::Tensor>* values);
  torch::Tensor embed(const torch::Tensor& tokens, int64_t start);

  TransformerConfig config_;
  torch::nn::Embedding token_{nullptr}, position_{nullptr};
  std::vector<Block> blocks_;
  torch::nn::LayerNorm final_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(TokenPolicy);

}  // namespace stitch::lm
