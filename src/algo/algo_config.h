// The interface of an algorithm's hyperparameter struct (torch-free, shared by the libtorch
// algorithms of algorithm.h and the streaming agents of streaming/agent.h).
#pragma once

namespace stitch {

class ConfigFields;

// An algorithm's hyperparameters: in-class defaults, described for --set/JSON (core/config.h).
class AlgoConfig {
 public:
  virtual ~AlgoConfig() = default;
  virtual void describe(ConfigFields& fields) = 0;
  virtual void validate() const {}
};

}  // namespace stitch
