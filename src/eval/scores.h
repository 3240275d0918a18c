// Normalised scores: 100 * (return - random) / (expert - random), D4RL's definition (Fu et al.
// 2020, "D4RL: Datasets for Deep Data-Driven Reinforcement Learning", Sec. 5), against two sets
// of references, both reported wherever a score is shown:
//   - the suite's (suite/references.json, compiled in; STITCH_SUITE_REFERENCES=FILE overrides
//     it): the random policy and the expert behaviour policy of stitch's own suite, measured
//     on stitch's envs (normalized_score);
//   - D4RL's published ones for its four MuJoCo tasks (d4rl/infos.py, REF_MIN_SCORE and
//     REF_MAX_SCORE): hopper -20.272305 / 3234.3, halfcheetah -280.178953 / 12135.0, walker2d
//     1.629008 / 4592.3, ant -325.6 / 3879.7, applied to every version of those envs
//     (d4rl_normalized_score), so that a number can be set beside published tables.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace stitch {

struct ReferenceScores {
  double random = 0.0;
  double expert = 0.0;
};

// Reads reference returns ({"<env>": {"random": R, "expert": E, ...}, ...}, suite/references.json's
// format) from `text`; entries without two numbers are skipped. Error naming `origin` when the
// text is not a JSON object. What STITCH_SUITE_REFERENCES=FILE is read with (once per process).
std::map<std::string, ReferenceScores> parse_suite_references(std::string_view text,
                                                              const std::string& origin);

// The suite's reference returns of the env, when it has them.
std::optional<ReferenceScores> reference_scores(const std::string& env_id);
// 100 * (score - random) / (expert - random) with the suite's references; nullopt without.
std::optional<double> normalized_score(const std::string& env_id, double score);

// D4RL's published references for hopper, halfcheetah, walker2d and ant (any "-vN" id).
std::optional<ReferenceScores> d4rl_reference_scores(const std::string& env_id);
std::optional<double> d4rl_normalized_score(const std::string& env_id, double score);

}  // namespace stitch
