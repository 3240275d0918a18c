// A trained tanh-Gaussian actor (nn::TanhGaussianPolicy, libtorch) as deploy/gaussian_policy.h
// reads it: its shape, and its parameters in GaussianPolicy::set_parameters' order.
#pragma once

#include <vector>

#include "deploy/gaussian_policy.h"
#include "nn/nn.h"

namespace stitch {

// Error for an actor with the affine log-std (CORL's CQL networks), which GaussianPolicy lacks.
GaussianPolicy::Shape gaussian_shape(const nn::TanhGaussianPolicyImpl& actor, int64_t obs_dim,
                                     int64_t act_dim);
// Appends every trunk layer's weight [out, in] and bias, then the mean head's, then the log-std
// head's.
void append_gaussian_parameters(const nn::TanhGaussianPolicyImpl& actor, std::vector<float>& out);

}  // namespace stitch
