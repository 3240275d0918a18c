#include "deploy/gaussian_from_torch.h"

#include "core/error.h"

namespace stitch {

GaussianPolicy::Shape gaussian_shape(const nn::TanhGaussianPolicyImpl& actor, int64_t obs_dim,
                                     int64_t act_dim) {
  if (actor.log_std_scale().defined())
    fail("the actor's affine log-std (CORL's CQL networks) has no torch-free GaussianPolicy");
  GaussianPolicy::Shape s{.obs_dim = obs_dim,
                          .act_dim = act_dim,
                          .max_action = static_cast<float>(actor.max_action()),
                          .log_std_min = static_cast<float>(actor.log_std_min()),
                          .log_std_max = static_cast<float>(actor.log_std_max())};
  for (const auto& [w, b] : actor.trunk_layers()) s.hidden.push_back(w.size(0));
  return s;
}

void append_gaussian_parameters(const nn::TanhGaussianPolicyImpl& actor, std::vector<float>& out) {
  auto add = [&out](const torch::Tensor& t) {
    const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
    out.insert(out.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  for (const auto& [w, b] : actor.trunk_layers()) {
    add(w);
    add(b);
  }
  for (const auto& [w, b] : {actor.mean_head(), actor.log_std_head()}) {
    add(w);
    add(b);
  }
}

}  // namespace stitch
