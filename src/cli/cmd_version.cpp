#include <fmt/format.h>

#include "cli/commands.h"
#include "core/runtime.h"
#include "nn/matmul.h"

namespace stitch::cli {

void add_version_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "print versions of stitch and the libraries in use");
  cmd->callback([] {
    setup_runtime(/*warn_about_blas=*/true);
    fmt::print("{}", version_report());
    fmt::print("matmul ISA (oneDNN): {}; bf16 products in hardware: {}\n", nn::fused::matmul_isa(),
               nn::fused::cpu_has_bf16_matmul() ? "yes" : "no");
  });
}

}  // namespace stitch::cli
