// Test helper: the message of the stitch::Error that `fn` throws, or "<no error>".
#pragma once

#include <functional>
#include <string>

#include "core/error.h"

namespace stitch::testing {

inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace stitch::testing
