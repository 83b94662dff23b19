#include <stdexcept>
#include <string>

#include "kernels/quant.h"

namespace whale {

void DequantizeRow(DType t, const uint8_t* src, float* dst, int64_t n) {
  throw std::logic_error("DequantizeRow: " + std::string(DTypeName(t)) + " not implemented yet");
}

}  // namespace whale
