// MOBILE's uncertainty statistic (mobile.cpp), for its test.
#pragma once

#include <cstdint>

namespace stitch {

// values [samples, members, rows]: the Bellman target's next-state value at each member's
// sampled next states. Writes u [rows]: per row, the standard deviation over members (unbiased,
// as torch.std; members >= 2) of the mean over samples. Returns the mean of u.
double bellman_disagreement(const float* values, int64_t samples, int64_t members, int64_t rows,
                            float* u);

}  // namespace stitch
