// Dataset loading and minibatch sampling at D4RL-locomotion scale.
// Run: `stitch bench data` or build/bench/stitch_bench_data.
//
// A synthetic D4RL-layout file of 1,000,000 transitions (obs 17, act 6, with next_observations,
// uncompressed; about 168 MB) is written once to $TMPDIR (default /tmp) and reused.
//  - LoadD4rl/guard:1: stitch's default load (the file is first read in a forked child, so that
//    a libhdf5 crash on a corrupt file becomes an error), then the full load (read, flag
//    checks, NaN/inf scan, episode index). guard:0: without the child.
//  - RawHdf5Read: the same columns read with the HDF5 C API alone into preallocated buffers,
//    the bound for any HDF5 reader; bytes_per_second is the raw read rate.
//  - Sample256: one minibatch of 256 rows gathered from the loaded dataset (larger than cache).
#include <benchmark/benchmark.h>
#include <hdf5.h>

#include <cstdlib>
#include <filesystem>

#include "bench_main.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "data/io.h"
#include "data/sampler.h"

namespace stitch {
namespace {

constexpr int64_t kRows = 1'000'000, kObs = 17, kAct = 6;

std::string bench_file() {
  const char* tmp = std::getenv("TMPDIR");
  const std::string path =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/stitch_bench_d4rl_1m.hdf5";
  if (!std::filesystem::exists(path)) {
    Dataset d;
    d.obs_dim = kObs;
    d.act_dim = kAct;
    Rng rng(0);
    d.observations.resize(kRows * kObs);
    for (float& x : d.observations) x = static_cast<float>(rng.normal());
    d.actions.resize(kRows * kAct);
    for (float& x : d.actions) x = static_cast<float>(rng.uniform(-1, 1));
    d.rewards.resize(kRows);
    for (float& x : d.rewards) x = static_cast<float>(rng.uniform());
    d.terminals.assign(kRows, 0);
    d.timeouts.assign(kRows, 0);
    for (int64_t i = 999; i < kRows; i += 1000) d.timeouts[i] = 1;  // 1000-step episodes
    d.next_observations = d.observations;
    d.has_next.assign(kRows, 1);
    d.index_episodes();
    save_dataset(d, path, {.force = true});
  }
  return path;
}

void BM_LoadD4rl(benchmark::State& state) {
  const std::string path = bench_file();
  const bool guard = state.range(0) != 0;
  for (auto _ : state) {
    Dataset d = load_dataset(path, {.crash_guard = guard});
    benchmark::DoNotOptimize(d.observations.data());
  }
  const int64_t bytes = kRows * (2 * kObs + kAct + 1) * 4 + 2 * kRows;
  state.SetBytesProcessed(state.iterations() * bytes);
}

void BM_RawHdf5Read(benchmark::State& state) {
  const std::string path = bench_file();
  std::vector<float> obs(kRows * kObs), next(kRows * kObs), act(kRows * kAct), rew(kRows);
  std::vector<int8_t> term(kRows), tout(kRows);
  int64_t bytes = 0;
  for (auto _ : state) {
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    auto read = [&](const char* name, hid_t type, void* buffer) {
      const hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
      const hid_t file_type = H5Dget_type(d);
      const hid_t mem = type >= 0 ? type : H5Tget_native_type(file_type, H5T_DIR_ASCEND);
      H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer);
      if (type < 0) H5Tclose(mem);
      H5Tclose(file_type);
      H5Dclose(d);
    };
    read("observations", H5T_NATIVE_FLOAT, obs.data());
    read("next_observations", H5T_NATIVE_FLOAT, next.data());
    read("actions", H5T_NATIVE_FLOAT, act.data());
    read("rewards", H5T_NATIVE_FLOAT, rew.data());
    read("terminals", -1, term.data());
    read("timeouts", -1, tout.data());
    H5Fclose(f);
    benchmark::DoNotOptimize(obs.data());
    bytes += kRows * (2 * kObs + kAct + 1) * 4 + 2 * kRows;
  }
  state.SetBytesProcessed(bytes);
}

void BM_Sample256(benchmark::State& state) {
  static const Dataset data = load_dataset(bench_file());
  Sampler sampler(data, {.batch_size = 256, .seed = 1});
  Batch batch = sampler.make_batch();
  for (auto _ : state) {
    sampler.sample(batch);
    benchmark::DoNotOptimize(batch.observations.data());
  }
  state.SetItemsProcessed(state.iterations() * 256);
}

BENCHMARK(BM_RawHdf5Read)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_LoadD4rl)
    ->ArgName("guard")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Sample256)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace stitch

int main(int argc, char** argv) { return stitch::run_benchmarks(argc, argv); }
