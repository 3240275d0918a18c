#include <fmt/format.h>

#include <optional>

#include "algo/attack.h"
#include "cli/commands.h"
#include "core/error.h"
#include "data/corrupt.h"
#include "data/csv_import.h"
#include "data/io.h"
#include "data/stats.h"
#include "data/transform.h"

namespace stitch::cli {
namespace {

struct WriteArgs {
  std::string layout = "d4rl";
  int gzip = 0;
  bool force = false;
  SaveOptions options() const {
    return {.layout = parse_layout(layout), .gzip_level = gzip, .force = force};
  }
};

void add_write_options(CLI::App* cmd, WriteArgs& args) {
  cmd->add_option("--layout", args.layout,
                  "output layout: d4rl (one HDF5 file) or minari (a directory)")
      ->check(CLI::IsMember({"d4rl", "minari"}));
  cmd->add_option("--compress", args.gzip, "gzip level 1-9 (0: none)")->check(CLI::Range(0, 9));
  cmd->add_flag("--force", args.force, "replace OUT if it exists");
}

void print_written(const Dataset& d, const std::string& out) {
  fmt::print("wrote {}: {} transitions, {} episodes\n", out, d.size(), d.episodes.size());
}

}  // namespace

void add_dataset_commands(CLI::App& app) {
  auto* dataset = app.add_subcommand("dataset", "inspect, check, convert and combine datasets");
  dataset->require_subcommand(1);

  {  // info
    struct Args {
      std::string path, reference;
      bool json = false, strict = false;
      std::optional<double> ref_min, ref_max;
      int bins = 8;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = dataset->add_subcommand(
        "info", "summarise a dataset: returns, ranges, TQ, SACo, anomalies");
    cmd->add_option("file", args->path, "D4RL file, Minari directory or Minari HDF5 file")
        ->required();
    cmd->add_flag("--json", args->json, "print JSON instead of text");
    cmd->add_flag("--strict", args->strict,
                  "treat anomalies (out-of-bounds actions, unended episodes) as errors");
    cmd->add_option("--ref-min", args->ref_min, "random-policy reference return (for TQ)");
    cmd->add_option("--ref-max", args->ref_max, "expert reference return (for TQ)");
    cmd->add_option("--reference", args->reference, "reference dataset for SACo");
    cmd->add_option("--bins", args->bins, "SACo grid bins per dimension")
        ->check(CLI::Range(1, 1000));
    cmd->callback([args] {
      setup_runtime(false);
      LoadReport report;
      const Dataset d = load_dataset(args->path, {.strict = args->strict}, &report);
      std::optional<Dataset> reference;
      if (!args->reference.empty()) reference = load_dataset(args->reference);
      StatsOptions options{.ref_min = args->ref_min,
                           .ref_max = args->ref_max,
                           .reference = reference ? &*reference : nullptr,
                           .saco_bins = args->bins};
      const DatasetStats stats = compute_stats(d, report, options);
      fmt::print("{}", args->json ? format_stats_json(stats, args->path) + "\n"
                                  : format_stats_text(stats, args->path));
    });
  }
  {  // convert
    struct Args : WriteArgs {
      std::string in, out;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = dataset->add_subcommand("convert", "convert between the D4RL and Minari layouts");
    cmd->add_option("in", args->in, "input dataset")->required();
    cmd->add_option("out", args->out, "output path")->required();
    add_write_options(cmd, *args);
    cmd->callback([args] {
      setup_runtime(false);
      const Dataset d = load_dataset(args->in);
      save_dataset(d, args->out, args->options());
      print_written(d, args->out);
    });
  }
  {  // corrupt
    struct Args : WriteArgs {
      std::string in, out, target, kind = "random", attack;
      CorruptOptions corrupt;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = dataset->add_subcommand(
        "corrupt", "corrupt a fraction of the rows as RIQL does (robustness experiments)");
    cmd->add_option("in", args->in, "input dataset")->required();
    cmd->add_option("out", args->out, "output path")->required();
    cmd->add_option("--target", args->target, "obs, actions, rewards or dynamics")->required();
    cmd->add_option("--kind", args->kind,
                    "random, or adversarial (rewards: -scale r; obs, actions, dynamics: against "
                    "the critics of --attack)")
        ->capture_default_str();
    cmd->add_option("--attack", args->attack,
                    "adversarial obs, actions, dynamics: the trained agent to attack (a checkpoint "
                    "or run directory; RIQL attacks EDAC)");
    cmd->add_option("--rate", args->corrupt.rate, "fraction of rows corrupted, in [0, 1]")
        ->capture_default_str();
    cmd->add_option("--scale", args->corrupt.scale, "corruption scale (epsilon)")
        ->capture_default_str();
    cmd->add_option("--seed", args->corrupt.seed, "seed of the rows and the noise")
        ->capture_default_str();
    add_write_options(cmd, *args);
    cmd->callback([args] {
      setup_runtime(false);
      CorruptOptions o = args->corrupt;
      o.target = parse_corrupt_target(args->target);
      o.kind = parse_corrupt_kind(args->kind);
      if (!args->attack.empty() &&
          (o.kind != CorruptKind::kAdversarial || o.target == CorruptTarget::kRewards)) {
        fail("--attack: only with --kind adversarial and --target obs, actions or dynamics");
      }
      LoadReport report;
      Dataset d = load_dataset(args->in, {}, &report);
      std::optional<AdversarialAttack> attack;
      if (!args->attack.empty()) attack = q_attack(args->attack);
      const int64_t rows =
          corrupt_dataset(d, o, !report.derived_next_observations, attack ? &*attack : nullptr);
      save_dataset(d, args->out, args->options());
      fmt::print("corrupted {} of {} rows ({}, {}, rate {}, scale {}, seed {})\n", rows, d.size(),
                 corrupt_target_name(o.target), args->kind, o.rate, o.scale, o.seed);
      print_written(d, args->out);
    });
  }
  {  // slice
    struct Args : WriteArgs {
      std::string in, out, episodes;
      std::optional<double> top;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = dataset->add_subcommand(
        "slice", "keep some episodes: a range, or the top fraction by return");
    cmd->add_option("in", args->in, "input dataset")->required();
    cmd->add_option("out", args->out, "output path")->required();
    auto* range =
        cmd->add_option("--episodes", args->episodes, "episode range FIRST:LAST (LAST excluded)");
    auto* top = cmd->add_option("--top", args->top,
                                "keep the top fraction of episodes by return, e.g. 0.1");
    range->excludes(top);
    add_write_options(cmd, *args);
    cmd->callback([args] {
      setup_runtime(false);
      const Dataset d = load_dataset(args->in);
      Dataset out;
      if (args->top) {
        out = top_return_fraction(d, *args->top);
      } else if (!args->episodes.empty()) {
        const size_t colon = args->episodes.find(':');
        if (colon == std::string::npos)
          fail("--episodes '{}': expected FIRST:LAST", args->episodes);
        try {
          const std::string a = args->episodes.substr(0, colon),
                            b = args->episodes.substr(colon + 1);
          out = slice_episodes(d, a.empty() ? 0 : std::stoll(a),
                               b.empty() ? static_cast<int64_t>(d.episodes.size()) : std::stoll(b));
        } catch (const std::logic_error&) {
          fail("--episodes '{}': expected FIRST:LAST with integers", args->episodes);
        }
      } else {
        fail("slice needs --episodes FIRST:LAST or --top FRACTION");
      }
      save_dataset(out, args->out, args->options());
      print_written(out, args->out);
    });
  }
  {  // merge
    struct Args : WriteArgs {
      std::vector<std::string> inputs;
      std::string out;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = dataset->add_subcommand("merge", "concatenate datasets (e.g. medium + expert)");
    cmd->add_option("inputs", args->inputs, "input datasets")->required()->expected(1, -1);
    cmd->add_option("--out,-o", args->out, "output path")->required();
    add_write_options(cmd, *args);
    cmd->callback([args] {
      setup_runtime(false);
      std::vector<Dataset> parts;
      for (const auto& p : args->inputs) parts.push_back(load_dataset(p));
      const Dataset out = merge_datasets(parts, args->inputs);
      save_dataset(out, args->out, args->options());
      print_written(out, args->out);
    });
  }
  {  // import-csv
    struct Args : WriteArgs {
      std::string csv, spec, out;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = dataset->add_subcommand("import-csv",
                                        "build a dataset from a CSV log and a JSON column spec");
    cmd->add_option("csv", args->csv, "CSV file, one transition per row, with a header")
        ->required();
    cmd->add_option("out", args->out, "output path")->required();
    cmd->add_option("--spec", args->spec, "JSON spec naming the columns (see docs/datasets.md)")
        ->required();
    add_write_options(cmd, *args);
    cmd->callback([args] {
      setup_runtime(false);
      const Dataset d = import_csv(args->csv, args->spec);
      LoadReport report;
      validate_dataset(d, args->csv, {}, report);
      save_dataset(d, args->out, args->options());
      print_written(d, args->out);
    });
  }
}

}  // namespace stitch::cli
