#include "track/checkpoint.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/hash.h"
#include "core/json_read.h"
#include "track/durable.h"
#include "track/run_files.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Minibatch checkpoints: "stitch-checkpoint-v2 <sha256 of the archive> <its size>\n", then the
// libtorch archive.
constexpr const char* kMagic = "stitch-checkpoint-v2";
constexpr const char* kStreamMagic = "stitch-stream-checkpoint-v1\n";

torch::Tensor rng_state_tensor(const Rng::State& s) {
  std::vector<int64_t> words;
  for (uint64_t w : s.s) words.push_back(static_cast<int64_t>(w));
  int64_t cached;
  std::memcpy(&cached, &s.cached_normal, sizeof(cached));
  words.push_back(s.has_cached_normal ? 1 : 0);
  words.push_back(cached);
  return torch::tensor(words, torch::kInt64);
}

// A tensor entry of `archive`, checked for dtype and element count.
torch::Tensor read_tensor(torch::serialize::InputArchive& archive, const std::string& path,
                          const char* key, torch::ScalarType dtype, int64_t numel) {
  torch::Tensor t;
  if (!archive.try_read(key, t)) fail("{}: checkpoint has no '{}'", path, key);
  if (t.scalar_type() != dtype || t.numel() != numel || !t.is_contiguous()) {
    fail("{}: checkpoint entry '{}' has {} {} values, expected {} {}", path, key, t.numel(),
         c10::toString(t.scalar_type()), numel, c10::toString(dtype));
  }
  return t;
}

double read_finite(torch::serialize::InputArchive& archive, const std::string& path,
                   const char* key) {
  const double v = read_tensor(archive, path, key, torch::kFloat64, 1).item<double>();
  if (!std::isfinite(v)) fail("{}: checkpoint entry '{}' is {}", path, key, v);
  return v;
}

std::vector<float> read_floats(torch::serialize::InputArchive& archive, const std::string& path,
                               const char* key, int64_t numel) {
  const torch::Tensor t = read_tensor(archive, path, key, torch::kFloat32, numel);
  std::vector<float> out(t.data_ptr<float>(), t.data_ptr<float>() + numel);
  for (float v : out) {
    if (!std::isfinite(v)) fail("{}: checkpoint entry '{}' holds {}", path, key, v);
  }
  return out;
}

}  // namespace

void save_checkpoint(const fs::path& path, const CheckpointContents& c,
                     const std::function<void(torch::serialize::OutputArchive&)>& write_algorithm) {
  torch::serialize::OutputArchive archive;
  if (c.online) {
    archive.write("online_state",
                  torch::tensor({c.online->env_step, c.online->cuts}, torch::kInt64));
    archive.write("online_credit", torch::tensor(c.online->credit, torch::kFloat64));
  }
  write_algorithm(archive);
  archive.write("sampler_rng", rng_state_tensor(c.sampler_rng));
  const Normalizers& n = c.normalizers;
  archive.write("normalize", torch::tensor(n.observations ? 1 : 0));
  if (n.observations) {
    archive.write("obs_mean", torch::tensor(n.obs.mean));
    archive.write("obs_std", torch::tensor(n.obs.std));
  }
  archive.write("reward_scale", torch::tensor(n.reward_scale, torch::kFloat64));
  archive.write("dims", torch::tensor({c.obs_dim, c.act_dim}, torch::kInt64));
  archive.write("max_action", torch::tensor(c.max_action, torch::kFloat64));
  archive.write("config", c10::IValue(c.config_json));
  std::ostringstream zip;
  try {
    archive.save_to(zip);
  } catch (const c10::Error& e) {
    fail("{}: cannot write the checkpoint: {}", path.string(), e.what_without_backtrace());
  }
  const std::string bytes = zip.str();
  write_file_atomic(path,
                    fmt::format("{} {} {}\n", kMagic, sha256_hex(bytes), bytes.size()) + bytes);
}

Checkpoint::Checkpoint(const std::string& path)
    : path_(path), archive_(std::make_unique<torch::serialize::InputArchive>()) {
  if (!fs::is_regular_file(path)) fail("{}: no such checkpoint", path);
  // The archive is handed to libtorch only when its bytes are the ones stitch wrote: libtorch's
  // TorchScript importer, which parses the archive's code/ entries, segfaults on some damaged
  // ones (found by the fuzzer, and not always: a guard process that survived did not prove the
  // next read would).
  const std::string text = read_file_text(path);
  const size_t eol = text.find('\n');
  const std::string header = text.substr(0, std::min(eol, size_t{200}));
  char hash[65] = {};
  unsigned long long size = 0;
  if (header.rfind(std::string(kMagic) + " ", 0) != 0 ||
      std::sscanf(header.c_str() + std::strlen(kMagic), " %64[0-9a-f] %llu", hash, &size) != 2) {
    fail(
        "{}: not a stitch checkpoint (no '{}' header: another version of stitch, or another "
        "file)",
        path, kMagic);
  }
  const std::string zip = text.substr(eol + 1);
  if (zip.size() != size) {
    fail("{}: damaged checkpoint: the header promises {} bytes, the file holds {}", path, size,
         zip.size());
  }
  if (sha256_hex(zip) != hash) {
    fail("{}: damaged checkpoint: its bytes do not match the sha256 in its header", path);
  }
  try {
    std::istringstream in(zip);
    archive_->load_from(in);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception&) {
    fail("{}: not a stitch checkpoint (cannot be read by libtorch)", path);
  }
  torch::serialize::InputArchive& a = *archive_;
  try {
    CheckpointContents& c = contents_;
    c10::IValue config;
    if (!a.try_read("config", config) || !config.isString()) {
      fail("{}: checkpoint has no 'config'", path);
    }
    c.config_json = config.toStringRef();
    const torch::Tensor dims = read_tensor(a, path, "dims", torch::kInt64, 2);
    c.obs_dim = dims[0].item<int64_t>();
    c.act_dim = dims[1].item<int64_t>();
    constexpr int64_t kMaxDim = 1 << 20;
    if (c.obs_dim < 1 || c.obs_dim > kMaxDim || c.act_dim < 1 || c.act_dim > kMaxDim) {
      fail("{}: checkpoint dims {}/{} are out of range", path, c.obs_dim, c.act_dim);
    }
    c.max_action = read_finite(a, path, "max_action");
    if (!(c.max_action > 0)) fail("{}: checkpoint max_action {} is not > 0", path, c.max_action);

    const torch::Tensor rng = read_tensor(a, path, "sampler_rng", torch::kInt64, 6);
    const auto* w = rng.data_ptr<int64_t>();
    for (int i = 0; i < 4; ++i) c.sampler_rng.s[i] = static_cast<uint64_t>(w[i]);
    if ((c.sampler_rng.s[0] | c.sampler_rng.s[1] | c.sampler_rng.s[2] | c.sampler_rng.s[3]) == 0) {
      fail("{}: checkpoint entry 'sampler_rng' is all zero (not a valid generator state)", path);
    }
    c.sampler_rng.has_cached_normal = w[4] != 0;
    std::memcpy(&c.sampler_rng.cached_normal, &w[5], sizeof(double));

    Normalizers& n = c.normalizers;
    torch::Tensor flag;  // an integer of libtorch's default width
    if (!a.try_read("normalize", flag) || flag.numel() != 1) {
      fail("{}: checkpoint has no 'normalize' flag", path);
    }
    n.observations = flag.item<int64_t>() != 0;
    if (n.observations) {
      n.obs.mean = read_floats(a, path, "obs_mean", c.obs_dim);
      n.obs.std = read_floats(a, path, "obs_std", c.obs_dim);
      for (float s : n.obs.std) {
        if (!(s > 0)) fail("{}: checkpoint entry 'obs_std' holds {}", path, s);
      }
    }
    n.reward_scale = read_finite(a, path, "reward_scale");

    torch::Tensor state;
    if (a.try_read("online_state", state)) {
      state = read_tensor(a, path, "online_state", torch::kInt64, 2);
      OnlineLoopState o{.env_step = state[0].item<int64_t>(), .cuts = state[1].item<int64_t>()};
      o.credit = read_finite(a, path, "online_credit");
      if (o.env_step < 0 || o.cuts < 0 || o.credit < 0) {
        fail("{}: checkpoint's online loop state (step {}, cuts {}, credit {}) is out of range",
             path, o.env_step, o.cuts, o.credit);
      }
      c.online = o;
    }
  } catch (const c10::Error& e) {
    fail("{}: damaged checkpoint: {}", path, e.what_without_backtrace());
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    fail("{}: damaged checkpoint: {}", path, first_line(e.what()));
  }
}

Checkpoint::~Checkpoint() = default;
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;

void Checkpoint::read_algorithm(const std::function<void(torch::serialize::InputArchive&)>& read) {
  try {
    read(*archive_);
  } catch (const Error& e) {
    fail("{}: {}", path_, e.what());
  } catch (const c10::Error& e) {
    fail("{}: damaged checkpoint: {}", path_, e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    fail("{}: damaged checkpoint: {}", path_, first_line(e.what()));
  }
}

void save_stream_checkpoint(const fs::path& path, const json& state) {
  const std::vector<uint8_t> bytes = json::to_cbor(state);
  write_file_atomic(path, std::string(kStreamMagic) + std::string(bytes.begin(), bytes.end()));
}

json load_stream_checkpoint(const std::string& path) {
  if (!fs::exists(path)) fail("{}: no such checkpoint", path);
  const std::string text = read_file_text(path);
  const std::string magic(kStreamMagic);
  if (text.compare(0, magic.size(), magic) != 0) fail("{}: not a streaming checkpoint", path);
  json state = parse_cbor(std::string_view(text).substr(magic.size()), path);
  if (state.is_discarded() || !state.is_object()) fail("{}: corrupt streaming checkpoint", path);
  return state;
}

bool is_stream_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(std::char_traits<char>::length(kStreamMagic), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  return in && head == kStreamMagic;
}

}  // namespace stitch
