#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"

namespace stitch::cli {
namespace {

namespace fs = std::filesystem;

// The Google Benchmark binary for `suite`: beside this executable in the build tree
// (build/bench/stitch_bench_<suite>) or installed next to it.
fs::path find_bench_binary(const std::string& suite) {
  const fs::path self = fs::read_symlink("/proc/self/exe");
  const std::string name = "stitch_bench_" + suite;
  for (const fs::path& candidate :
       {self.parent_path() / "bench" / name, self.parent_path() / name}) {
    if (fs::exists(candidate)) return candidate;
  }
  fail("benchmark binary '{}' not found beside {} (build with -DSTITCH_BUILD_BENCH=ON)", name,
       self.string());
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto* bench = app.add_subcommand("bench", "run a benchmark suite (Google Benchmark)");
  auto suite = std::make_shared<std::string>();
  auto extra = std::make_shared<std::vector<std::string>>();
  bench
      ->add_option("suite", *suite,
                   "which suite: env, data, train, infer, stream, online, matmul, model, lm")
      ->required()
      ->check(CLI::IsMember(
          {"env", "data", "train", "infer", "stream", "online", "matmul", "model", "lm"}));
  bench->add_option("args", *extra, "arguments passed to Google Benchmark, after --");
  bench->callback([suite, extra] {
    setup_runtime(/*warn_about_blas=*/true);
    const fs::path binary = find_bench_binary(*suite);
    std::vector<std::string> argv_strings = {binary.string()};
    argv_strings.insert(argv_strings.end(), extra->begin(), extra->end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    std::fflush(stdout);
    execv(binary.c_str(), argv.data());
    fail("cannot run {}: {}", binary.string(), std::strerror(errno));
  });
}

}  // namespace stitch::cli
