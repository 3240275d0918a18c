// stitch report: summary values, the charts' content, determinism, and the SVG helpers.
#include "track/report.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/error.h"
#include "testing/run_command.h"
#include "track/svg.h"

namespace stitch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A run directory as the trainers leave it, with evaluations at steps 100, 200, 300 whose
// normalised scores end at `final_score`.
void make_run(const fs::path& dir, const std::string& algo, const std::string& dataset,
              uint64_t seed, double final_score, bool normalized = true) {
  fs::create_directories(dir);
  std::ofstream(dir / "config.json") << json{
      {"algo", algo},
      {"env", "hopper-v4"},
      {"dataset", "/d/" + dataset},
      {"seed", seed},
      {"steps", 300}}.dump();
  std::ofstream metrics(dir / "metrics.jsonl"), eval(dir / "eval.jsonl");
  for (int k = 1; k <= 3; ++k) {
    metrics << json{{"step", 100 * k}, {"wall_s", 1.0 * k}}.dump() << "\n";
    const double score = final_score * k / 3.0;
    json line{{"step", 100 * k}, {"mean", 10 * score}, {"returns", {10 * score}}};
    if (normalized) line["normalized"] = score;
    if (normalized) line["d4rl_normalized"] = 0.9 * score;  // other references, other scale
    eval << line.dump() << "\n";
  }
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::path(::testing::TempDir()) / fmt::format("stitch_report_{}_{}", name, getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Report, GroupsRunsAndWritesEveryChart) {
  const fs::path dir = fresh_dir("all");
  const double iql[] = {40, 60, 80, 50, 70}, bc[] = {20, 30, 25};
  for (int s = 0; s < 5; ++s)
    make_run(dir / "runs" / fmt::format("iql-s{}", s), "iql", "hopper-medium.hdf5", s, iql[s]);
  for (int s = 0; s < 3; ++s)
    make_run(dir / "runs" / fmt::format("bc-s{}", s), "bc", "hopper-medium.hdf5", s, bc[s]);
  make_run(dir / "runs" / "iql-other", "iql", "hopper-expert.hdf5", 0, 95);
  const auto runs = find_runs((dir / "runs").string());
  ASSERT_EQ(runs.size(), 9u);

  const auto groups = summarize_runs(runs, {.replicates = 500});
  ASSERT_EQ(groups.size(), 3u);
  const ReportGroup* medium = nullptr;
  for (const auto& g : groups) {
    if (g.algo == "iql" && g.dataset == "hopper-medium.hdf5") medium = &g;
  }
  ASSERT_NE(medium, nullptr);
  EXPECT_EQ(medium->scores.size(), 5u);
  EXPECT_TRUE(medium->normalized);
  EXPECT_DOUBLE_EQ(medium->mean.point, 60.0);
  EXPECT_DOUBLE_EQ(medium->median.point, 60.0);
  EXPECT_DOUBLE_EQ(medium->iqm.point, 60.0);  // 5 scores: drop one each end -> mean(50, 60, 70)
  EXPECT_DOUBLE_EQ(medium->optimality_gap.point, 40.0);  // mean(100 - x)
  EXPECT_LE(medium->mean.low, 60.0);
  EXPECT_GE(medium->mean.high, 60.0);
  EXPECT_GE(medium->mean.low, 40.0);

  const fs::path out = dir / "report";
  const auto written =
      write_report(runs, out.string(), {.replicates = 500, .title = "test <report>"});
  ASSERT_FALSE(written.empty());
  EXPECT_EQ(fs::path(written.back()).filename(), "index.html");
  for (const char* f :
       {"summary.csv", "summary.md", "index.html", "aggregates.svg", "profiles.svg",
        "curves-hopper-medium-hopper-v4.svg", "curves-hopper-expert-hopper-v4.svg"}) {
    EXPECT_TRUE(fs::exists(out / f)) << f;
  }
  const std::string html = testing::read_file((out / "index.html").string());
  EXPECT_EQ(count(html, "<svg "), 4);  // two curve charts, the aggregates, the profiles
  EXPECT_EQ(count(html, "</svg>"), 4);
  EXPECT_NE(html.find("test &lt;report&gt;"), std::string::npos);  // the title is escaped
  EXPECT_EQ(html.find("http://"),
            html.find("http://www.w3.org/2000/svg"));  // nothing from the network
  EXPECT_EQ(html.find("<script"), std::string::npos);
  // The aggregate plot compares algorithms over the datasets they all have (all scores are
  // normalised): IQL's hopper-expert run is left out, since BC has no run there.
  const std::string agg = testing::read_file((out / "aggregates.svg").string());
  EXPECT_EQ(agg.find("iql (2 datasets)"), std::string::npos);
  EXPECT_NE(agg.find(">iql<"), std::string::npos);
  EXPECT_NE(agg.find(">bc<"), std::string::npos);
  EXPECT_NE(html.find("over the datasets all algorithms share: hopper-medium"), std::string::npos);
  EXPECT_NE(agg.find("Optimality gap"), std::string::npos);
  // Its numbers as a table: IQL pooled over hopper-medium only (5 runs: IQM of 40..80 = 60).
  const std::string agg_md = testing::read_file((out / "aggregates.md").string());
  EXPECT_NE(agg_md.find("| iql | 5 | 60.0 ["), std::string::npos) << agg_md;
  EXPECT_NE(agg_md.find("| bc | 3 | 25.0 ["), std::string::npos) << agg_md;  // median of 20,30,25
  EXPECT_NE(agg_md.find("|---|---|---|---|---|---|\n"), std::string::npos) << agg_md;
  // The medium curve has a band (a polygon) for both algorithms: each has several seeds.
  const std::string curve =
      testing::read_file((out / "curves-hopper-medium-hopper-v4.svg").string());
  EXPECT_EQ(count(curve, "<polygon"), 2);
  EXPECT_EQ(count(curve, "<polyline"), 2);
  const std::string csv = testing::read_file((out / "summary.csv").string());
  EXPECT_NE(csv.find("iql,hopper-medium.hdf5,hopper-v4,normalised,5,60,"), std::string::npos)
      << csv;
  // D4RL's normalisation beside the suite's (mean 0.9 * 60), and the wall time per run.
  const size_t iql_line = csv.find("iql,hopper-medium.hdf5");
  const std::string line = csv.substr(iql_line, csv.find('\n', iql_line) - iql_line);
  EXPECT_NE(line.find(",54,"), std::string::npos) << line;
  EXPECT_EQ(line.substr(line.size() - 6), ",3.0,0") << line;  // no unfinished run
  EXPECT_NE(testing::read_file((out / "summary.md").string()).find("| 3s |"), std::string::npos);

  // Deterministic: the same runs and options give the same bytes.
  const fs::path again = dir / "again";
  write_report(runs, again.string(), {.replicates = 500, .title = "test <report>"});
  for (const char* f : {"index.html", "aggregates.svg", "profiles.svg", "summary.csv"}) {
    EXPECT_EQ(testing::read_file((out / f).string()), testing::read_file((again / f).string()))
        << f;
  }
  fs::remove_all(dir);
}

TEST(Report, CountsRunsThatHaveNotReachedTheirPlannedSteps) {
  const fs::path dir = fresh_dir("unfinished");
  make_run(dir / "cql-s0", "cql", "hopper-medium.hdf5", 0, 30);
  make_run(dir / "cql-s1", "cql", "hopper-medium.hdf5", 1, 40);
  // The second run plans 600 steps and has logged 300: its last evaluation is not final.
  json c = json::parse(testing::read_file((dir / "cql-s1" / "config.json").string()));
  c["steps"] = 600;
  std::ofstream(dir / "cql-s1" / "config.json") << c.dump();
  const auto runs = find_runs(dir.string());
  const auto groups = summarize_runs(runs, {.replicates = 100});
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].scores.size(), 2u);
  EXPECT_EQ(groups[0].unfinished, 1);
  write_summary(groups, (dir / "out").string());
  EXPECT_NE(testing::read_file((dir / "out" / "summary.md").string()).find("| 2 (1 unfinished) |"),
            std::string::npos);
  const std::string csv = testing::read_file((dir / "out" / "summary.csv").string());
  EXPECT_EQ(csv.substr(csv.size() - 3), ",1\n") << csv;
  fs::remove_all(dir);
}

// Model runs (`stitch model eval`'s model_eval.json, in the run or in a model-based run's model/)
// get a table and a chart; a report of model runs alone works; a damaged file is left out.
TEST(Report, ShowsModelEvaluations) {
  const fs::path dir = fresh_dir("models");
  make_run(dir / "runs" / "mopo-s0", "mopo", "hopper-medium.hdf5", 0, 50);
  auto write_eval = [](const fs::path& run, double scale) {
    fs::create_directories(run);
    std::ofstream(run / "config.json") << json{{"kind", "model"}, {"env", "hopper-v4"}}.dump();
    json horizons = json::array();
    for (int h = 1; h <= 3; ++h)
      horizons.push_back({{"horizon", h},
                          {"rollouts", 100 - h},
                          {"state_mse", scale * h},
                          {"constant_mse", 10.0 * h},
                          {"reward_mse", 0.5}});
    std::ofstream(run / "model_eval.json")
        << json{{"dataset", "d.hdf5"}, {"horizons", horizons}}.dump();
  };
  write_eval(dir / "runs" / "mopo-s0" / "model", 0.25);
  write_eval(dir / "models" / "m1", 1.0);
  fs::create_directories(dir / "models" / "bad");
  std::ofstream(dir / "models" / "bad" / "config.json") << "{\"kind\": \"model\"}";
  std::ofstream(dir / "models" / "bad" / "model_eval.json")
      << "{\"horizons\": [{\"horizon\": \"x\"}]}";

  const auto runs = find_runs((dir / "runs").string());
  write_report(runs, (dir / "r1").string(), {.replicates = 100});
  const std::string html = testing::read_file((dir / "r1" / "index.html").string());
  EXPECT_NE(html.find("World models"), std::string::npos);
  EXPECT_NE(html.find("<td>1</td><td>99</td><td>0.25</td><td>10</td><td>0.025</td>"),
            std::string::npos)
      << html;
  EXPECT_NE(testing::read_file((dir / "r1" / "models.md").string()).find("| 3 | 97 | 0.75 | 30 |"),
            std::string::npos);

  // Model runs only (one of them damaged): the page has the good one's table and chart.
  const auto models = find_runs((dir / "models").string());
  ASSERT_EQ(models.size(), 2u);
  write_report(models, (dir / "r2").string(), {.replicates = 100});
  const std::string page = testing::read_file((dir / "r2" / "index.html").string());
  EXPECT_NE(page.find("<td>2</td><td>98</td><td>2</td><td>20</td><td>0.1</td>"), std::string::npos);
  EXPECT_EQ(page.find("models/bad</h3>"), std::string::npos);
  EXPECT_EQ(count(page, "<svg "), 1);
  fs::remove_all(dir);
}

TEST(Report, RawReturnsAreNotPooledAcrossTasks) {
  const fs::path dir = fresh_dir("raw");
  make_run(dir / "a", "iql", "pend.hdf5", 0, -30, false);
  make_run(dir / "b", "iql", "pend.hdf5", 1, -20, false);
  make_run(dir / "c", "iql", "other.hdf5", 0, -10, false);
  write_report(find_runs(dir.string()), (dir / "out").string(), {.replicates = 200});
  const std::string agg = testing::read_file((dir / "out" / "aggregates.svg").string());
  EXPECT_NE(agg.find("iql on pend.hdf5"), std::string::npos);
  EXPECT_NE(agg.find("iql on other.hdf5"), std::string::npos);
  EXPECT_EQ(agg.find("Optimality gap"), std::string::npos);  // no target for raw returns
  fs::remove_all(dir);
}

// Fine-tuning runs (config key `from`): the summary's fine-tuning table gives the score before the
// first env step, the dip (the worst in the first 10% of env steps) and after, means over seeds.
TEST(Report, FinetuningRunsShowBeforeDipAndAfter) {
  const fs::path dir = fresh_dir("finetune");
  for (uint64_t s = 0; s < 2; ++s) {
    const fs::path run = dir / fmt::format("ft-s{}", s);
    fs::create_directories(run);
    std::ofstream(run / "config.json") << json{
        {"algo", "calql"},
        {"env", "hopper-v4"},
        {"dataset", "/d/hopper-medium.hdf5"},
        {"from", "/pre/checkpoints/latest.pt"},
        {"seed", s},
        {"steps", 1000}}.dump();
    std::ofstream eval(run / "eval.jsonl");
    // before 50 / 60, dip at step 100 (40 / 30), 20 at step 500 is past the first 10%
    const double before = 50.0 + 10.0 * s, dip = 40.0 - 10.0 * s;
    for (const auto& [step, score] : std::vector<std::pair<int, double>>{
             {0, before}, {50, before - 1}, {100, dip}, {500, 20.0}, {1000, 80.0}}) {
      eval << json{{"step", step}, {"mean", 10 * score}, {"normalized", score}}.dump() << "\n";
    }
  }
  write_report(find_runs(dir.string()), (dir / "out").string(), {.replicates = 200});
  const std::string md = testing::read_file((dir / "out" / "summary.md").string());
  EXPECT_NE(md.find("## Fine-tuning"), std::string::npos) << md;
  EXPECT_NE(md.find("| calql | hopper-medium.hdf5 | hopper-v4 | normalised | 2 | 55.0 ["),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| 35.0 ["), std::string::npos) << md;  // the dip
  EXPECT_NE(md.find("| 100 | 80.0 ["), std::string::npos) << md;
  const std::string html = testing::read_file((dir / "out" / "index.html").string());
  EXPECT_NE(html.find("<h2>Fine-tuning</h2>"), std::string::npos);
  fs::remove_all(dir);
}

// `stitch lm` runs: no algo in their configs; rl and offline runs name their SFT start by a path
// that may be relative to the directory beside them.
TEST(Report, TokenPolicyRunsAreScoredByAccuracy) {
  const fs::path dir = fresh_dir("lm");
  auto write = [&](const std::string& name, const json& config, double accuracy) {
    fs::create_directories(dir / name);
    std::ofstream(dir / name / "config.json") << config.dump();
    std::ofstream(dir / name / "eval.jsonl")
        << json{{"step", 0}, {"accuracy", 0.1}, {"problems", 200}}.dump() << "\n"
        << json{{"step", 100}, {"accuracy", accuracy}, {"problems", 200}}.dump() << "\n";
    std::ofstream(dir / name / "metrics.jsonl")
        << json{{"step", 100}, {"loss", 0.5}, {"wall_s", 30.0}}.dump() << "\n";
  };
  for (int s = 0; s < 2; ++s) {
    const std::string sft = fmt::format("sft-{}", s);
    write(sft, {{"task", "addition"}, {"difficulty", 3}, {"steps", 100}, {"seed", s}}, 0.2);
    write(fmt::format("grpo-{}", s),
          {{"method", "grpo"}, {"from", sft}, {"steps", 100}, {"seed", s}}, 0.3 + 0.1 * s);
    write(fmt::format("alol-{}", s),
          {{"method", "alol"}, {"from", sft}, {"data", "log.jsonl"}, {"steps", 100}, {"seed", s}},
          0.25);
  }
  // Variants that change what a method learns from are groups of their own.
  write("grpo-shuffled", {{"method", "grpo"}, {"from", "sft-0"}, {"shuffle_rewards", true}}, 0.1);
  write("grpo-one", {{"method", "grpo"}, {"from", "sft-0"}, {"train_prompts", 1}}, 0.1);
  // An accuracy outside [0, 1] is no evaluation.
  std::ofstream(dir / "grpo-one" / "eval.jsonl", std::ios::app)
      << json{{"step", 200}, {"accuracy", 1e308}}.dump() << "\n";
  auto runs = find_runs(dir.string());
  ASSERT_EQ(runs.size(), 8u);
  EXPECT_EQ(runs[4].algo, "grpo+1-prompts");
  EXPECT_EQ(runs[4].evaluations.size(), 2u);
  EXPECT_EQ(runs[5].algo, "grpo+shuffled");
  runs.erase(runs.begin() + 4, runs.begin() + 6);
  const auto groups = summarize_runs(runs, {.replicates = 200});
  ASSERT_EQ(groups.size(), 3u);
  for (const ReportGroup& g : groups) {
    EXPECT_TRUE(g.accuracy);
    EXPECT_EQ(g.dataset, "addition-d3");
    EXPECT_EQ(g.env, "lm");
  }
  EXPECT_EQ(groups[0].algo, "grpo");
  EXPECT_NEAR(groups[0].mean.point, 35.0, 1e-9);
  EXPECT_EQ(groups[1].algo, "offline-alol");
  EXPECT_EQ(groups[2].algo, "sft-100");
  EXPECT_FALSE(groups[0].finetune());  // the SFT start is its own group
  write_report(runs, (dir / "out").string(), {.replicates = 200});
  const std::string md = testing::read_file((dir / "out" / "summary.md").string());
  EXPECT_NE(md.find("| grpo | addition-d3 | lm | accuracy % | 2 | 35.0 ["), std::string::npos)
      << md;
  const std::string html = testing::read_file((dir / "out" / "index.html").string());
  EXPECT_NE(html.find("held-out accuracy (%)"), std::string::npos);
  EXPECT_NE(html.find("30.0% (accuracy)"), std::string::npos);
  fs::remove_all(dir);
}

TEST(Report, NoEvaluationIsAnError) { EXPECT_THROW(summarize_runs({}), Error); }

TEST(Svg, NiceTicks) {
  EXPECT_EQ(svg::nice_ticks(0, 100, 5), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_EQ(svg::nice_ticks(-3, 7, 5), (std::vector<double>{-2, 0, 2, 4, 6}));
  const auto t = svg::nice_ticks(0.013, 0.042, 3);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_NEAR(t[0], 0.02, 1e-12);
  EXPECT_NEAR(t[2], 0.04, 1e-12);
  EXPECT_EQ(svg::escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
}

TEST(Svg, LineChartPlacesPointsOnTheAxes) {
  // x in [0, 10], y in [0, 100]: the frame spans x 72..490 px (640 - 72 - 150 wide), y 34..328.
  const std::string s = svg::line_chart({{.label = "a", .x = {0, 10}, .y = {0, 100}}},
                                        {.title = "t", .x_label = "x", .y_label = "y"});
  EXPECT_NE(s.find("points=\"72.0,328.0 490.0,34.0 \""), std::string::npos) << s;
  EXPECT_NE(s.find(">a</text>"), std::string::npos);
}

}  // namespace
}  // namespace stitch
