// One exception type for every bad input: its message is the one-line error
// the user sees, naming the file, tensor, field or parameter at fault.
#pragma once
#include <stdexcept>
#include <string>

namespace whale {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace whale
