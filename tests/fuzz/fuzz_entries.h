// One entry per reader that takes bytes from outside: the libFuzzer targets
// (tests/fuzz/<reader>_fuzz.cpp) call them, and fuzz_replay_tests replays every corpus and
// regression input through them in the normal build, so a fixed crash stays fixed.
//
// Each entry feeds the bytes to the real reader (through files in a per-process temp directory
// when the reader takes a path) and swallows only stitch::Error, the expected outcome of bad
// input. Anything else escapes: another exception type, or an Error that reports a broken
// internal check ("internal check failed: ...", core/error.h), which means the reader let bad
// input through to an invariant; under the fuzzer both abort, in the replay test they fail.
//
// Inputs whose first byte selects a file (run_dir, minari): the rest of the bytes are that file,
// the other files of the directory are valid ones written by stitch. Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace stitch::fuzz {

// An HDF5 file through load_dataset (a D4RL file, or whatever layout it turns out to hold). In
// the normal build HDF5 files are read through the crash guard every load uses; under the
// fuzzer in-process (see fuzz_entries.cpp).
void fuzz_d4rl(const uint8_t* data, size_t size);
// A Minari dataset directory through load_dataset: byte 0 even, the rest is
// data/main_data.hdf5; odd, the rest is data/metadata.json beside a valid main_data.hdf5.
void fuzz_minari(const uint8_t* data, size_t size);
// A minibatch checkpoint: Checkpoint, then load_algorithm_checkpoint (the algorithm rebuilt from
// the stored config and loaded), then export_checkpoint_policy.
void fuzz_checkpoint(const uint8_t* data, size_t size);
// A streaming checkpoint: evaluate_checkpoint with one episode on the env it was trained on.
void fuzz_stream_checkpoint(const uint8_t* data, size_t size);
// An exported policy file (DeployedPolicy::load), then one action for a zero observation.
void fuzz_policy(const uint8_t* data, size_t size);
// CSV import: the first line is the JSON spec, the rest the CSV file.
void fuzz_csv(const uint8_t* data, size_t size);
// A training config as `--config FILE` (resolve_train_config) and as a checkpoint's stored text
// (resolve_train_config_text), and as a plain config file (core/config.h apply_json_file).
void fuzz_train_config(const uint8_t* data, size_t size);
// `--set` overrides, one per line, resolved over a minimal offline config.
void fuzz_set_override(const uint8_t* data, size_t size);
// A run directory (track/runs.h read_run, find_runs): byte 0 % 4 picks config.json, meta.json,
// eval.jsonl or metrics.jsonl; the rest is that file.
void fuzz_run_dir(const uint8_t* data, size_t size);
// A suite manifest.json through list_suite (no datasets are built or present).
void fuzz_suite_manifest(const uint8_t* data, size_t size);
// A reference-returns file as STITCH_SUITE_REFERENCES names it (eval/scores.h).
void fuzz_suite_references(const uint8_t* data, size_t size);
// A sweep grid (stitch sweep GRID.json) through sweep_cells: the cells it would run.
void fuzz_sweep_grid(const uint8_t* data, size_t size);
// A log of scored completions (stitch lm log) through lm::read_sequence_log.
void fuzz_sequence_log(const uint8_t* data, size_t size);

// The message of the first Error the last entry call swallowed; "" when the input was read
// (the replay test checks that every seed is).
const std::string& last_rejection();

// The readers by name, in the order above: corpus/<name>/ and regressions/<name>/ hold inputs
// for `entry`.
// A model run's checkpoint (`stitch model train`): load_model_checkpoint, then one sampled
// transition and MOPO's uncertainty through the loaded ensemble.
void fuzz_model_checkpoint(const uint8_t* data, size_t size);
// A model evaluation (model_eval.json of `stitch model eval`) in a model run beside a valid
// config.json, read by `stitch report` (write_report over the run).
void fuzz_model_eval(const uint8_t* data, size_t size);

struct Reader {
  const char* name;
  void (*entry)(const uint8_t* data, size_t size);
};
const std::vector<Reader>& readers();

}  // namespace stitch::fuzz
