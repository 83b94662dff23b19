// The synthetic SFT task: multi-digit addition, subtraction and
// multiplication (by one digit) asked in words, answered R1-style with the
// column-by-column work inside <think>…</think> and the result after it.
// Problems are split by a hash into training and held-out sets, so the
// reported accuracy is on problems the model never saw.
#pragma once
#include <cstdint>
#include <random>
#include <string>

namespace whale {

struct ArithProblem {
  int64_t a = 0, b = 0;
  char op = '+';  // + - *
  int64_t result() const { return op == '+' ? a + b : op == '-' ? a - b : a * b; }
  std::string Question() const;   // "What is 308+94?"
  std::string Reasoning() const;  // the column work, without the think tags
  std::string Answer() const;     // "308+94=402"
};

// Draws a problem from the training (held_out = false) or held-out split.
ArithProblem DrawProblem(std::mt19937_64& rng, bool held_out);

// The chat text: prompt (up to and including R1's "<｜Assistant｜><think>\n"
// generation prompt) and the response the model should produce.
std::string ArithPrompt(const ArithProblem& p);
std::string ArithResponse(const ArithProblem& p);

// True when the text after the last </think> contains the right result as
// its last number.
bool ArithCorrect(const ArithProblem& p, const std::string& generated);

}  // namespace whale
