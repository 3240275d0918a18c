#include "track/report.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "core/error.h"
#include "core/json_read.h"
#include "core/progress.h"
#include "track/durable.h"
#include "track/model_eval.h"
#include "track/run_files.h"
#include "track/svg.h"

namespace stitch {

namespace {

// The score column's word for a group.
const char* score_kind(const ReportGroup& g) {
  return g.accuracy ? "accuracy %" : g.normalized ? "normalised" : "return";
}

}  // namespace

std::vector<ReportGroup> summarize_runs(const std::vector<RunSummary>& runs,
                                        const ReportOptions& o) {
  std::map<std::tuple<std::string, std::string, std::string>, ReportGroup> groups;
  for (const RunSummary& r : runs) {
    if (r.evaluations.empty()) continue;  // nothing to score yet
    ReportGroup& g = groups[{r.algo, r.dataset, r.env}];
    g.algo = r.algo;
    g.dataset = r.dataset;
    g.env = r.env;
    const EvalPoint& last = r.evaluations.back();
    const bool normalized = last.normalized.has_value();
    if (!g.scores.empty() && (normalized != g.normalized || r.accuracy != g.accuracy)) {
      fail("report: runs of {} on {} mix normalised and raw scores ({})", r.algo, r.dataset, r.dir);
    }
    g.normalized = normalized;
    g.accuracy = r.accuracy;
    g.scores.push_back(normalized ? *last.normalized : last.mean);
    if (last.d4rl && g.d4rl_scores.size() + 1 == g.scores.size()) {
      g.d4rl_scores.push_back(*last.d4rl);
    } else {
      g.d4rl_scores.clear();  // only where every run has D4RL's score
    }
    g.wall_s += r.wall_s;
    g.runs.push_back(r.dir);
    if (r.status != "finished") ++g.unfinished;
    const auto ft = finetune_scores(r);
    if (ft && ft->before.normalized.has_value() == normalized &&
        g.before_scores.size() + 1 == g.scores.size()) {
      g.before_scores.push_back(normalized ? *ft->before.normalized : ft->before.mean);
      g.dip_scores.push_back(normalized ? *ft->dip.normalized : ft->dip.mean);
      g.dip_step += static_cast<double>(ft->dip.step);
    } else {
      g.before_scores.clear();  // only where every run is a fine-tuning run
      g.dip_scores.clear();
    }
  }
  if (groups.empty()) fail("report: no run with an evaluation");
  std::vector<ReportGroup> out;
  for (auto& [key, g] : groups) {
    const stats::Scores s = {g.scores};
    auto interval = [&](const stats::Aggregate& a) {
      return stats::bootstrap_interval(s, a, o.replicates, o.confidence, o.seed);
    };
    g.mean = interval(stats::mean);
    g.median = interval([](const std::vector<double>& x) { return stats::median(x); });
    g.iqm = interval([](const std::vector<double>& x) { return stats::iqm(x); });
    if (g.d4rl_scores.size() == g.scores.size()) {
      const stats::Scores d = {g.d4rl_scores};
      g.d4rl_mean = stats::bootstrap_interval(d, stats::mean, o.replicates, o.confidence, o.seed);
      g.d4rl_iqm = stats::bootstrap_interval(
          d, [](const std::vector<double>& x) { return stats::iqm(x); }, o.replicates, o.confidence,
          o.seed);
    } else {
      g.d4rl_scores.clear();
    }
    g.wall_s /= static_cast<double>(g.scores.size());
    if (g.before_scores.size() == g.scores.size()) {
      g.before = stats::bootstrap_interval({g.before_scores}, stats::mean, o.replicates,
                                           o.confidence, o.seed);
      g.dip = stats::bootstrap_interval({g.dip_scores}, stats::mean, o.replicates, o.confidence,
                                        o.seed);
      g.dip_step /= static_cast<double>(g.scores.size());
    } else {
      g.before_scores.clear();
      g.dip_scores.clear();
    }
    // The gap to 100 only means something for normalised scores.
    if (g.normalized)
      g.optimality_gap =
          interval([](const std::vector<double>& x) { return stats::optimality_gap(x); });
    out.push_back(std::move(g));
  }
  return out;
}

namespace {

// The seeds column: "3", or "3 (1 unfinished)" while runs have not reached their planned steps.
std::string seeds_cell(const ReportGroup& g) {
  return g.unfinished == 0 ? std::to_string(g.scores.size())
                           : fmt::format("{} ({} unfinished)", g.scores.size(), g.unfinished);
}

// The fine-tuning groups' scores before, at the dip and after (Markdown; empty without any).
template <typename Cell>
std::string finetune_table(const std::vector<ReportGroup>& groups, const Cell& cell) {
  std::string md;
  for (const ReportGroup& g : groups) {
    if (!g.finetune()) continue;
    if (md.empty()) {
      md = "\n## Fine-tuning\n\n| method | offline data | env | score | seeds | before [95% CI] | "
           "dip [95% CI] | dip at env step (mean) | after [95% CI] |\n"
           "|---|---|---|---|---|---|---|---|---|\n";
    }
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {:.0f} | {} |\n", g.algo,
                      g.dataset.substr(g.dataset.find(':') + 1), g.env, score_kind(g),
                      g.scores.size(), cell(g.before), cell(g.dip), g.dip_step, cell(g.mean));
  }
  if (!md.empty()) {
    md +=
        "\nBefore: the evaluation before the first online env step (the pre-trained policy). "
        "Dip: each run's worst evaluation in its first 10% of env steps. After: the last "
        "evaluation.\n";
  }
  return md;
}

}  // namespace

std::vector<std::string> write_summary(const std::vector<ReportGroup>& groups,
                                       const std::string& out_dir) {
  namespace fs = std::filesystem;
  fs::create_directories(out_dir);
  std::string csv =
      "algo,dataset,env,score,seeds,mean,mean_low,mean_high,median,median_low,median_high,iqm,iqm_"
      "low,"
      "iqm_high,optimality_gap,optimality_gap_low,optimality_gap_high,d4rl_mean,d4rl_mean_low,"
      "d4rl_mean_high,d4rl_iqm,d4rl_iqm_low,d4rl_iqm_high,wall_s,unfinished\n";
  std::string md =
      "| algo | dataset | env | score | seeds | mean [95% CI] | median [95% CI] | IQM [95% CI] | "
      "optimality gap [95% CI] | D4RL-normalised mean [95% CI] | D4RL-normalised IQM [95% CI] | "
      "wall time / run |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  auto cell = [](const stats::Interval& i) {
    return fmt::format("{:.1f} [{:.1f}, {:.1f}]", i.point, i.low, i.high);
  };
  for (const ReportGroup& g : groups) {
    const char* kind = score_kind(g);
    auto nums = [](const stats::Interval& i) {
      return fmt::format("{:.6g},{:.6g},{:.6g}", i.point, i.low, i.high);
    };
    const bool d4rl = !g.d4rl_scores.empty();
    csv +=
        fmt::format("{},{},{},{},{},{},{},{},{},{},{},{:.1f},{}\n", g.algo, g.dataset, g.env, kind,
                    g.scores.size(), nums(g.mean), nums(g.median), nums(g.iqm),
                    g.normalized ? nums(g.optimality_gap) : ",,", d4rl ? nums(g.d4rl_mean) : ",,",
                    d4rl ? nums(g.d4rl_iqm) : ",,", g.wall_s, g.unfinished);
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", g.algo,
                      g.dataset, g.env, kind, seeds_cell(g), cell(g.mean), cell(g.median),
                      cell(g.iqm), g.normalized ? cell(g.optimality_gap) : "-",
                      d4rl ? cell(g.d4rl_mean) : "-", d4rl ? cell(g.d4rl_iqm) : "-",
                      human_duration(g.wall_s));
  }
  md +=
      "\nScores are each run's last evaluation: normalised with the suite's reference returns "
      "(suite/references.json: its random and expert behaviour policies, 0 = random, 100 = expert; "
      "D4RL's definition, not D4RL's references) where the env has them, "
      "else the raw mean return. D4RL-normalised: the same returns with D4RL's reference returns "
      "(Fu et al. 2020), where D4RL has the env. Intervals: 95% percentile bootstrap over seeds "
      "(rliable, Agarwal et al. 2021). Wall time: the mean over the runs, to each run's last "
      "logged step. \"2 (1 unfinished)\": one of the two runs has not reached its planned steps, "
      "so its last evaluation is not a final score.\n";
  if (std::any_of(groups.begin(), groups.end(), [](const ReportGroup& g) { return g.accuracy; })) {
    md +=
        "\nAccuracy %: a token-policy run's (`stitch lm`) held-out accuracy in percent, greedy "
        "decoding of its task's test problems; optimality gap: 100 less it.\n";
  }
  md += finetune_table(groups, cell);
  const std::string csv_path = (fs::path(out_dir) / "summary.csv").string();
  const std::string md_path = (fs::path(out_dir) / "summary.md").string();
  write_file_atomic(csv_path, csv);
  write_file_atomic(md_path, md);
  return {csv_path, md_path};
}

namespace {

namespace fs = std::filesystem;

double score_of(const EvalPoint& e, bool normalized) { return normalized ? *e.normalized : e.mean; }

// An entry of the aggregate plot and the profiles: an algorithm over its datasets (strata), or
// one group.
struct Entry {
  std::string label;
  stats::Scores scores;  // [dataset][seed]
};

// Normalised scores pool each algorithm over the datasets that every algorithm of the report
// has (rliable's strata), so that the algorithms are compared on the same tasks; `pooled` names
// them. With no dataset in common, or raw returns, every group is its own entry.
std::vector<Entry> chart_entries(const std::vector<ReportGroup>& groups, bool all_normalized,
                                 std::string& pooled) {
  std::vector<Entry> entries;
  if (groups.empty()) return entries;
  std::map<std::string, std::set<std::string>> tasks_of;  // algo -> "dataset (env)"
  auto task = [](const ReportGroup& g) { return g.dataset + " (" + g.env + ")"; };
  for (const ReportGroup& g : groups) tasks_of[g.algo].insert(task(g));
  std::set<std::string> common = tasks_of.begin()->second;
  for (const auto& [algo, tasks] : tasks_of) {
    std::set<std::string> kept;
    std::set_intersection(common.begin(), common.end(), tasks.begin(), tasks.end(),
                          std::inserter(kept, kept.begin()));
    common = std::move(kept);
  }
  if (all_normalized && !common.empty()) {
    std::map<std::string, Entry> by_algo;
    for (const ReportGroup& g : groups) {
      if (!common.count(task(g))) continue;
      Entry& e = by_algo[g.algo];
      e.label = g.algo;
      e.scores.push_back(g.scores);
    }
    for (auto& [algo, e] : by_algo) {
      const size_t tasks = e.scores.size();
      if (tasks > 1) e.label += fmt::format(" ({} datasets)", tasks);
      entries.push_back(std::move(e));
    }
    for (const std::string& t : common) pooled += (pooled.empty() ? "" : ", ") + t;
  } else {
    for (const ReportGroup& g : groups)
      entries.push_back({g.algo + " on " + g.dataset, {g.scores}});
  }
  return entries;
}

std::string file_safe(const std::string& name) {
  std::string out;
  for (char c : fs::path(name).stem().string())
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  return out.empty() ? "online" : out;
}

std::string html_table(const std::vector<ReportGroup>& groups) {
  auto cell = [](const stats::Interval& i) {
    return fmt::format("{:.1f} <small>[{:.1f}, {:.1f}]</small>", i.point, i.low, i.high);
  };
  std::string t =
      "<table><tr><th>algo</th><th>dataset</th><th>env</th><th>score</th><th>seeds</th><th>mean</"
      "th>"
      "<th>median</th><th>IQM</th><th>optimality gap</th><th>D4RL-normalised mean</th>"
      "<th>wall time / run</th></tr>\n";
  for (const ReportGroup& g : groups) {
    t += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</"
        "td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        svg::escape(g.algo), svg::escape(g.dataset), svg::escape(g.env), score_kind(g),
        seeds_cell(g), cell(g.mean), cell(g.median), cell(g.iqm),
        g.normalized ? cell(g.optimality_gap) : "-",
        g.d4rl_scores.empty() ? "-" : cell(g.d4rl_mean), human_duration(g.wall_s));
  }
  return t + "</table>\n";
}

// A model evaluation read back from model_eval.json (model/model_run.h writes it). Nothing in the
// file is trusted: a row with a missing or non-finite number, or a file that is not such an
// object, is left out with a warning naming the file.
struct ModelEvalTable {
  std::string run_dir, dataset;
  std::vector<HorizonError> rows;
};

std::vector<ModelEvalTable> model_eval_tables(const std::vector<RunSummary>& runs) {
  std::vector<ModelEvalTable> out;
  for (const RunSummary& r : runs) {
    for (const fs::path& file :
         {fs::path(r.dir) / "model_eval.json", fs::path(r.dir) / "model" / "model_eval.json"}) {
      if (!fs::is_regular_file(file)) continue;
      const nlohmann::json j = parse_json(read_file_text(file), file.string());
      ModelEvalTable t{.run_dir = file.parent_path().string()};
      if (!j.is_object() || !j.contains("horizons") || !j["horizons"].is_array()) {
        spdlog::warn("{}: not a model evaluation; left out of the report", file.string());
        continue;
      }
      if (j.contains("dataset") && j["dataset"].is_string())
        t.dataset = j["dataset"].get<std::string>();
      for (const auto& h : j["horizons"]) {
        auto num = [&](const char* key) {
          return h.is_object() && h.contains(key) && h[key].is_number() ? h[key].get<double>()
                                                                        : std::nan("");
        };
        const double horizon = num("horizon"), rollouts = num("rollouts");
        const HorizonError row{.state_mse = num("state_mse"),
                               .constant_mse = num("constant_mse"),
                               .reward_mse = num("reward_mse")};
        // Ranges before the casts: a double beyond int64's is undefined behaviour to convert.
        if (!(horizon >= 1 && horizon <= 1e6) || !(rollouts >= 0 && rollouts <= 1e15) ||
            !std::isfinite(row.state_mse) || !std::isfinite(row.constant_mse) ||
            !std::isfinite(row.reward_mse)) {
          spdlog::warn("{}: a horizon row without finite numbers in range; left out",
                       file.string());
          continue;
        }
        t.rows.push_back(row);
        t.rows.back().horizon = static_cast<int>(horizon);
        t.rows.back().starts = static_cast<int64_t>(rollouts);
      }
      if (!t.rows.empty()) out.push_back(std::move(t));
    }
  }
  return out;
}

std::string model_eval_markdown(const ModelEvalTable& m) {
  return fmt::format("{} ({})\n\n", m.run_dir, m.dataset) + model_eval_table(m.rows);
}

// Every file of the report, written into out_dir (a fresh staging directory).
std::vector<std::string> write_report_files(const std::vector<RunSummary>& runs,
                                            const std::string& out_dir, const ReportOptions& o) {
  // World models (`stitch model eval` in a model run, or in a model-based run's model/).
  const std::vector<ModelEvalTable> models = model_eval_tables(runs);
  const bool scored = std::any_of(runs.begin(), runs.end(),
                                  [](const RunSummary& r) { return !r.evaluations.empty(); });
  if (!scored && models.empty()) fail("report: no run with an evaluation or a model evaluation");
  const std::vector<ReportGroup> groups =
      scored ? summarize_runs(runs, o) : std::vector<ReportGroup>{};
  std::vector<std::string> written = write_summary(groups, out_dir);
  // Accuracies (lm runs) and normalised returns are both 0..100, but not one quantity: a report of
  // both pools neither.
  const bool all_accuracy =
      !groups.empty() &&
      std::all_of(groups.begin(), groups.end(), [](const ReportGroup& g) { return g.accuracy; });
  const bool all_normalized = std::all_of(groups.begin(), groups.end(), [&](const ReportGroup& g) {
    return g.normalized && g.accuracy == all_accuracy;
  });
  const bool any_accuracy =
      std::any_of(groups.begin(), groups.end(), [](const ReportGroup& g) { return g.accuracy; });
  const std::string score_label = all_accuracy     ? "held-out accuracy (%)"
                                  : all_normalized ? "normalised score"
                                  : any_accuracy   ? "score"
                                                   : "mean return";
  const std::string score_plural = all_accuracy ? "held-out accuracies (%)" : score_label + "s";
  std::vector<std::pair<std::string, std::string>> charts;  // (caption, svg)
  auto save = [&](const std::string& name, const std::string& caption,
                  const std::string& svg_text) {
    const std::string path = (fs::path(out_dir) / name).string();
    write_file_atomic(path, svg_text);
    written.push_back(path);
    charts.emplace_back(caption, svg_text);
  };

  // Learning curves: one chart per task (dataset, env), one line per algorithm.
  std::set<std::string> algos;  // palette order: algorithms sorted
  for (const ReportGroup& g : groups) algos.insert(g.algo);
  std::map<std::pair<std::string, std::string>, std::vector<const ReportGroup*>> tasks;
  for (const ReportGroup& g : groups) tasks[{g.dataset, g.env}].push_back(&g);
  for (const auto& [task, members] : tasks) {
    std::vector<svg::Series> series;
    for (const std::string& algo : algos) {
      svg::Series s{.label = algo};
      const ReportGroup* g = nullptr;
      for (const ReportGroup* m : members)
        if (m->algo == algo) g = m;
      if (g != nullptr) {
        std::map<int64_t, std::vector<double>> at_step;
        for (const RunSummary& r : runs) {
          if (std::find(g->runs.begin(), g->runs.end(), r.dir) == g->runs.end()) continue;
          for (const EvalPoint& e : r.evaluations) {
            if (g->normalized == e.normalized.has_value())
              at_step[e.step].push_back(score_of(e, g->normalized));
          }
        }
        for (const auto& [step, values] : at_step) {
          const stats::Interval i =
              values.size() > 1 ? stats::bootstrap_interval({values}, stats::mean, o.replicates,
                                                            o.confidence, o.seed)
                                : stats::Interval{values[0], values[0], values[0]};
          s.x.push_back(static_cast<double>(step));
          s.y.push_back(i.point);
          s.low.push_back(i.low);
          s.high.push_back(i.high);
        }
      }
      series.push_back(std::move(s));  // empty series keep each algorithm's colour fixed
    }
    const std::string title =
        task.first == "online" ? fmt::format("{} (online)", task.second) : task.first;
    const std::string y = members.front()->accuracy     ? "held-out accuracy (%)"
                          : members.front()->normalized ? "normalised score"
                                                        : "mean return";
    save(fmt::format("curves-{}-{}.svg", file_safe(task.first), file_safe(task.second)),
         fmt::format("Learning curves on {}: mean {} over seeds, {:.0f}% bootstrap band", title, y,
                     100 * o.confidence),
         svg::line_chart(series, {.title = title, .x_label = "step", .y_label = y}));
  }

  // rliable's aggregate interval plot and the performance profiles.
  if (!groups.empty()) {
    std::string pooled;  // the datasets every algorithm has, when scores are pooled over them
    const std::vector<Entry> entries = chart_entries(groups, all_normalized, pooled);
    const std::string pooled_note =
        pooled.empty() ? "" : "; each algorithm over the datasets all algorithms share: " + pooled;
    std::vector<std::string> metrics = {"Median", "IQM", "Mean"};
    if (all_normalized) metrics.push_back("Optimality gap");
    std::vector<std::vector<svg::Estimate>> values(metrics.size());
    std::vector<std::string> labels;
    double lo = 1e300, hi = -1e300;
    for (const Entry& e : entries) {
      labels.push_back(e.label);
      const stats::Aggregate aggregates[] = {
          [](const std::vector<double>& x) { return stats::median(x); },
          [](const std::vector<double>& x) { return stats::iqm(x); }, stats::mean,
          [](const std::vector<double>& x) { return stats::optimality_gap(x); }};
      for (size_t m = 0; m < metrics.size(); ++m) {
        const stats::Interval i =
            stats::bootstrap_interval(e.scores, aggregates[m], o.replicates, o.confidence, o.seed);
        values[m].push_back({i.point, i.low, i.high});
      }
      for (const auto& task : e.scores)
        for (double v : task) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    save("aggregates.svg",
         fmt::format(
             "Aggregate {} with {:.0f}% stratified bootstrap confidence intervals (rliable){}{}",
             score_plural, 100 * o.confidence,
             all_normalized ? "; optimality gap: lower is better" : "", pooled_note),
         svg::interval_chart(metrics, labels, values, "Aggregate metrics", score_label));
    // The same numbers as a table, for papers and docs (the chart has no numbers on it).
    std::string agg_md = "| entry | runs |";
    for (const std::string& m : metrics)
      agg_md += fmt::format(" {} [{:.0f}% CI] |", m, 100 * o.confidence);
    agg_md += "\n|---|---|";
    for (size_t m = 0; m < metrics.size(); ++m) agg_md += "---|";
    agg_md += "\n";
    for (size_t k = 0; k < entries.size(); ++k) {
      size_t n = 0;
      for (const auto& task : entries[k].scores) n += task.size();
      agg_md += fmt::format("| {} | {} |", labels[k], n);
      for (const auto& v : values)
        agg_md += fmt::format(" {:.1f} [{:.1f}, {:.1f}] |", v[k].point, v[k].low, v[k].high);
      agg_md += "\n";
    }
    agg_md += fmt::format(
        "\nAggregate {} over each entry's runs (rliable, Agarwal et al. 2021): stratified "
        "bootstrap over runs within each task{}.\n",
        score_plural,
        pooled.empty() ? "" : "; each algorithm over the datasets all algorithms share: " + pooled);
    const std::string agg_path = (fs::path(out_dir) / "aggregates.md").string();
    write_file_atomic(agg_path, agg_md);
    written.push_back(agg_path);

    std::vector<double> thresholds;
    if (all_normalized) lo = std::min(lo, 0.0), hi = std::max(hi, 100.0);
    const double pad = std::max(1e-6, (hi - lo) * 0.02);
    for (int k = 0; k <= 100; ++k) thresholds.push_back(lo - pad + (hi - lo + 2 * pad) * k / 100.0);
    std::vector<svg::Series> profiles;
    for (const Entry& e : entries) {
      svg::Series s{.label = e.label, .x = thresholds};
      for (const stats::Interval& i : stats::performance_profile_intervals(
               e.scores, thresholds, o.replicates, o.confidence, o.seed)) {
        s.y.push_back(i.point);
        s.low.push_back(i.low);
        s.high.push_back(i.high);
      }
      profiles.push_back(std::move(s));
    }
    save("profiles.svg",
         fmt::format("Performance profiles: the fraction of runs whose final {} exceeds tau, with "
                     "{:.0f}% bands{}",
                     score_label, 100 * o.confidence, pooled_note),
         svg::line_chart(profiles, {.title = "Performance profiles",
                                    .x_label = score_label + " (tau)",
                                    .y_label = "fraction of runs > tau"}));
  }
  if (!models.empty()) {
    std::string md;
    for (const ModelEvalTable& m : models) {
      md += model_eval_markdown(m) + "\n";
      charts.emplace_back(
          fmt::format("Open-loop state error of the model in {} on its held-out episodes of {}",
                      m.run_dir, m.dataset),
          model_eval_chart(m.rows, "Model: " + m.run_dir));
    }
    const std::string path = (fs::path(out_dir) / "models.md").string();
    write_file_atomic(path, md);
    written.push_back(path);
  }

  // The page.
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
      "charset=\"utf-8\"><title>{0}</title>\n<style>\n"
      "body{{font-family:DejaVu "
      "Sans,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1400px}}\n"
      "table{{border-collapse:collapse;margin:8px 0 20px}} td,th{{border:1px solid "
      "#ccc;padding:4px 8px;text-align:left}}\n"
      "th{{background:#f3f3f3}} small{{color:#666}} figure{{display:inline-block;margin:8px 16px "
      "16px 0;vertical-align:top}}\n"
      "figcaption{{font-size:13px;color:#444;max-width:640px}}\n</style></head><body>\n<h1>{0}</"
      "h1>\n"
      "<p>{1} runs in {2} groups (algorithm, dataset, env). Each run's score is its last "
      "evaluation: {3}. "
      "Intervals are {4:.0f}% percentile bootstrap intervals over seeds ({5} replicates, seed {6}; "
      "rliable, Agarwal et al. 2021).</p>\n",
      svg::escape(o.title), runs.size(), groups.size(),
      all_accuracy ? "the held-out accuracy in percent (greedy decoding of the task's test "
                     "problems; <code>stitch lm</code> runs)"
      : all_normalized
          ? "the score normalised with the suite's reference returns (its random and expert "
            "behaviour policies: 0 = random, 100 = expert; eval.jsonl also holds the score "
            "against D4RL's published references where D4RL has the task)"
      : any_accuracy
          ? "the held-out accuracy in percent for <code>stitch lm</code> runs, the normalised "
            "score or else the raw mean return for the others"
          : "the raw mean return, or the normalised score where the env has reference returns",
      100 * o.confidence, o.replicates, o.seed);
  html += "<h2>Summary</h2>\n" + html_table(groups);
  if (!models.empty()) {
    html +=
        "<h2>World models</h2>\n<p>Open-loop rollouts of each model's elites (their mean "
        "prediction, driven by the recorded actions) from every row of the episodes its fit "
        "never saw, against the recorded states, beside predicting no change "
        "(<code>stitch model eval</code>).</p>\n";
    for (const ModelEvalTable& m : models) {
      html += fmt::format(
          "<h3>{}</h3>\n<table><tr><th>horizon</th><th>rollouts</th><th>state MSE, "
          "model</th><th>state MSE, no change</th><th>ratio</th><th>reward MSE, "
          "model</th></tr>\n",
          svg::escape(m.run_dir));
      for (const auto& row : m.rows) {
        html += fmt::format(
            "<tr><td>{}</td><td>{}</td><td>{:.4g}</td><td>{:.4g}</td><td>{:.3g}</td><td>{:.4g}</"
            "td></tr>\n",
            row.horizon, row.starts, row.state_mse, row.constant_mse,
            row.state_mse / row.constant_mse, row.reward_mse);
      }
      html += "</table>\n";
    }
  }
  if (std::any_of(groups.begin(), groups.end(),
                  [](const ReportGroup& g) { return g.finetune(); })) {
    html +=
        "<h2>Fine-tuning</h2>\n<p>Before: the evaluation before the first online env step (the "
        "pre-trained policy); dip: each run's worst evaluation in its first 10% of env steps; "
        "after: the last evaluation. Means over seeds with bootstrap intervals.</p>\n<table><tr>"
        "<th>method</th><th>offline data</th><th>env</th><th>seeds</th><th>before</th><th>dip</th>"
        "<th>dip at env step</th><th>after</th></tr>\n";
    for (const ReportGroup& g : groups) {
      if (!g.finetune()) continue;
      auto cell = [](const stats::Interval& i) {
        return fmt::format("{:.1f} <small>[{:.1f}, {:.1f}]</small>", i.point, i.low, i.high);
      };
      html += fmt::format(
          "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0f}</td>"
          "<td>{}</td></tr>\n",
          svg::escape(g.algo), svg::escape(g.dataset.substr(g.dataset.find(':') + 1)),
          svg::escape(g.env), g.scores.size(), cell(g.before), cell(g.dip), g.dip_step,
          cell(g.mean));
    }
    html += "</table>\n";
  }
  html += "<h2>Charts</h2>\n";
  for (const auto& [caption, svg_text] : charts) {
    html += "<figure>\n" + svg_text + "<figcaption>" + svg::escape(caption) +
            "</figcaption></figure>\n";
  }
  html +=
      "<h2>Runs</h2>\n<table><tr><th>run</th><th>algo</th><th>dataset</th><th>env</th><th>seed</"
      "th><th>status</th>"
      "<th>steps</th><th>final score</th></tr>\n";
  for (const RunSummary& r : runs) {
    std::string score = "-";
    if (!r.evaluations.empty()) {
      const EvalPoint& e = r.evaluations.back();
      score = r.accuracy     ? fmt::format("{:.1f}% (accuracy)", e.mean)
              : e.normalized ? fmt::format("{:.1f} (normalised)", *e.normalized)
                             : fmt::format("{:.1f}", e.mean);
    }
    html += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</"
        "td><td>{}</td></tr>\n",
        svg::escape(r.dir), svg::escape(r.algo), svg::escape(r.dataset), svg::escape(r.env), r.seed,
        svg::escape(r.status), r.steps, r.planned_steps, score);
  }
  html += "</table>\n<p><small>Made by <code>stitch report</code>.</small></p>\n</body></html>\n";
  const std::string index = (fs::path(out_dir) / "index.html").string();
  write_file_atomic(index, html);
  written.push_back(index);
  return written;
}

}  // namespace

std::vector<std::string> write_report(const std::vector<RunSummary>& runs,
                                      const std::string& out_dir, const ReportOptions& o) {
  // The whole report replaces the previous one at once, or not at all (track/durable.h), so a
  // report that fails half-way leaves the previous one as it was. Only a report directory (or
  // an empty one) is ever replaced.
  const fs::path out(out_dir);
  if (fs::exists(out) &&
      (!fs::is_directory(out) || (!fs::is_empty(out) && !fs::exists(out / "index.html") &&
                                  !fs::exists(out / "summary.csv")))) {
    fail("{}: exists and is not a stitch report; choose a new or empty --out directory", out_dir);
  }
  std::vector<std::string> written;
  write_atomic_with(out, [&](const fs::path& tmp) {
    fs::create_directories(tmp);
    written = write_report_files(runs, tmp.string(), o);
  });
  for (std::string& path : written) path = (out / fs::path(path).filename()).string();
  return written;
}

}  // namespace stitch
