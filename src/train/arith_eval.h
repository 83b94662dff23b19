// Held-out accuracy of a chat model on the arithmetic task: greedy decoding
// through the inference forward (Transformer), many problems at once.
#pragma once
#include <cstdint>
#include <string>

namespace whale {

struct ArithEvalResult {
  int64_t correct = 0, total = 0;
  int64_t by_op_correct[3] = {0, 0, 0}, by_op_total[3] = {0, 0, 0};  // + - *
  std::string example;  // one generated answer, for the report
};

ArithEvalResult EvalArithmetic(const std::string& model_dir, int64_t problems, uint64_t seed, int threads);

}  // namespace whale
