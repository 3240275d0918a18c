// A world model's open-loop evaluation (`stitch model eval`, model/model_run.h) as one table and
// one chart, for the model run's own files and for `stitch report`'s "World models" section.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stitch {

// One horizon of the evaluation.
struct HorizonError {
  int horizon = 0;
  int64_t starts = 0;       // open-loop rollouts that reached this horizon
  double state_mse = 0;     // mean over starts and state dimensions of (predicted - real)^2
  double constant_mse = 0;  // the same for "no change": the start state itself
  double reward_mse = 0;    // the reward of the horizon's step, predicted against real
};

// The markdown table: horizon, rollouts, both state errors and their ratio, the reward error.
std::string model_eval_table(const std::vector<HorizonError>& rows);
// An SVG chart of log10 state MSE against the horizon, the model's and no change's.
std::string model_eval_chart(const std::vector<HorizonError>& rows, const std::string& title);

}  // namespace stitch
