#include <fmt/format.h>

#include <filesystem>

#include "cli/commands.h"
#include "core/error.h"
#include "suite/suite.h"

namespace stitch::cli {
namespace {

// The suite's manifest wherever stitch runs from: ./suite/manifest.json, then beside the binary
// (a build directory inside the repository: ../suite; an installation: ../share/stitch/suite).
std::string find_manifest(const std::string& given) {
  namespace fs = std::filesystem;
  if (given != "suite/manifest.json" || fs::exists(given)) return given;
  const fs::path exe = fs::read_symlink("/proc/self/exe").parent_path();
  for (const fs::path& candidate :
       {exe.parent_path() / "suite" / "manifest.json",
        exe.parent_path() / "share" / "stitch" / "suite" / "manifest.json"}) {
    if (fs::exists(candidate)) return candidate.string();
  }
  fail("suite/manifest.json: not found here, nor beside {} (give --manifest FILE)", exe.string());
}

}  // namespace

void add_suite_commands(CLI::App& app) {
  auto* suite = app.add_subcommand("suite", "the stitch benchmark datasets (docs/suite.md)");
  suite->require_subcommand(1);
  {
    auto o = std::make_shared<SuiteBuildOptions>();
    auto* cmd = suite->add_subcommand(
        "build", "regenerate the suite's datasets from its behaviour policies");
    cmd->add_option("--manifest", o->manifest,
                    "suite manifest (default: suite/manifest.json here, or the one beside the "
                    "stitch binary)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--data-dir", o->data_dir, "where the datasets go");
    cmd->add_option("--env", o->env, "only this env's datasets");
    cmd->add_option("--size", o->size, "transitions per dataset (default: the manifest's per env)")
        ->check(CLI::PositiveNumber);
    cmd->add_flag("--force", o->force, "rebuild files that are up to date");
    cmd->callback([o] {
      setup_runtime(false);
      o->manifest = find_manifest(o->manifest);
      for (const SuiteBuildEntry& e : build_suite(*o)) {
        fmt::print("{:<32} {:>9} transitions  {}  sha256 {}\n", e.name, e.transitions,
                   e.skipped ? "up to date" : "built     ", e.sha256.substr(0, 16));
      }
    });
  }
  {
    auto manifest = std::make_shared<std::string>("suite/manifest.json");
    auto data_dir = std::make_shared<std::string>("data");
    auto* cmd = suite->add_subcommand(
        "list", "every suite dataset: transitions, episodes, mean return, normalised score");
    cmd->add_option("--manifest", *manifest, "suite manifest")->check(CLI::ExistingFile);
    cmd->add_option("--data-dir", *data_dir, "where the datasets are");
    cmd->callback([manifest, data_dir] {
      setup_runtime(false);
      fmt::print("{:<32} {:>12} {:>9} {:>12} {:>11}\n", "dataset", "transitions", "episodes",
                 "mean return", "normalised");
      for (const SuiteListEntry& e : list_suite(find_manifest(*manifest), *data_dir)) {
        if (!e.built) {
          fmt::print("{:<32} {:>12}\n", e.name, "not built");
          continue;
        }
        fmt::print("{:<32} {:>12} {:>9} {:>12.2f} {:>11}\n", e.name, e.transitions, e.episodes,
                   e.mean_return, e.normalized ? fmt::format("{:.1f}", *e.normalized) : "-");
      }
    });
  }
}

}  // namespace stitch::cli
