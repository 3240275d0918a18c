#include "track/model_eval.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "track/svg.h"

namespace stitch {

std::string model_eval_table(const std::vector<HorizonError>& rows) {
  std::string md =
      "| horizon | rollouts | state MSE, model | state MSE, no change | model / no change | "
      "reward MSE, model |\n|---|---|---|---|---|---|\n";
  for (const HorizonError& e : rows) {
    md += fmt::format("| {} | {} | {:.4g} | {:.4g} | {:.3g} | {:.4g} |\n", e.horizon, e.starts,
                      e.state_mse, e.constant_mse, e.state_mse / e.constant_mse, e.reward_mse);
  }
  return md;
}

std::string model_eval_chart(const std::vector<HorizonError>& rows, const std::string& title) {
  svg::Series model_line{.label = "model (elites' mean)"}, constant_line{.label = "no change"};
  for (const HorizonError& e : rows) {
    model_line.x.push_back(e.horizon);
    model_line.y.push_back(std::log10(std::max(e.state_mse, 1e-300)));
    constant_line.x.push_back(e.horizon);
    constant_line.y.push_back(std::log10(std::max(e.constant_mse, 1e-300)));
  }
  return svg::line_chart(
      {model_line, constant_line},
      {.title = title, .x_label = "horizon (steps)", .y_label = "log10 state MSE"});
}

}  // namespace stitch
