#include "train/arithmetic.h"

#include <algorithm>
#include <cctype>

#include "train/chat_template.h"

namespace whale {
namespace {

std::string Digits(int64_t v, size_t width) {
  std::string s = std::to_string(v);
  return std::string(width > s.size() ? width - s.size() : 0, '0') + s;
}

// Column addition, least significant digit first.
std::string AddSteps(int64_t a, int64_t b) {
  const size_t w = std::max(std::to_string(a).size(), std::to_string(b).size());
  const std::string x = Digits(a, w), y = Digits(b, w);
  std::string s = "Line up the digits: " + x + " and " + y + ".\n";
  int carry = 0;
  for (size_t i = 0; i < w; ++i) {
    const int da = x[w - 1 - i] - '0', db = y[w - 1 - i] - '0', sum = da + db + carry;
    s += std::to_string(da) + "+" + std::to_string(db) + "+" + std::to_string(carry) + "=" + std::to_string(sum) +
         ", write " + std::to_string(sum % 10) + ", carry " + std::to_string(sum / 10) + ".\n";
    carry = sum / 10;
  }
  if (carry) s += "Write the last carry 1.\n";
  return s;
}

// Column subtraction of a >= b, with borrows.
std::string SubSteps(int64_t a, int64_t b) {
  const size_t w = std::to_string(a).size();
  const std::string x = Digits(a, w), y = Digits(b, w);
  std::string s = "Line up the digits: " + x + " and " + y + ".\n";
  int borrow = 0;
  for (size_t i = 0; i < w; ++i) {
    const int da = x[w - 1 - i] - '0', db = y[w - 1 - i] - '0';
    int d = da - db - borrow;
    s += std::to_string(da) + "-" + std::to_string(db) + "-" + std::to_string(borrow);
    if (d < 0) {
      d += 10;
      s += " is negative, borrow: " + std::to_string(d) + ", write " + std::to_string(d) + ", borrow 1.\n";
      borrow = 1;
    } else {
      s += "=" + std::to_string(d) + ", write " + std::to_string(d) + ", borrow 0.\n";
      borrow = 0;
    }
  }
  return s;
}

// Multiplication by one digit, least significant digit first.
std::string MulSteps(int64_t a, int64_t b) {
  const std::string x = std::to_string(a);
  std::string s;
  int carry = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const int da = x[x.size() - 1 - i] - '0', p = da * int(b) + carry;
    s += std::to_string(da) + "*" + std::to_string(b) + "+" + std::to_string(carry) + "=" + std::to_string(p) +
         ", write " + std::to_string(p % 10) + ", carry " + std::to_string(p / 10) + ".\n";
    carry = p / 10;
  }
  if (carry) s += "Write the last carry " + std::to_string(carry) + ".\n";
  return s;
}

uint64_t Hash(const ArithProblem& p) {
  uint64_t h = uint64_t(p.a) * 1000003u ^ uint64_t(p.b) * 998244353u ^ uint64_t(p.op) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 32);
}

int64_t Uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}

}  // namespace

std::string ArithProblem::Question() const {
  return "What is " + std::to_string(a) + std::string(1, op) + std::to_string(b) + "?";
}

std::string ArithProblem::Answer() const {
  return std::to_string(a) + std::string(1, op) + std::to_string(b) + "=" + std::to_string(result());
}

std::string ArithProblem::Reasoning() const {
  if (op == '+') return AddSteps(a, b) + "The digits from the left give " + std::to_string(result()) + ".";
  if (op == '*') return MulSteps(a, b) + "The digits from the left give " + std::to_string(result()) + ".";
  if (a >= b) return SubSteps(a, b) + "The digits from the left give " + std::to_string(result()) + ".";
  return std::to_string(a) + " is smaller than " + std::to_string(b) + ", so compute " + std::to_string(b) + "-" +
         std::to_string(a) + " and make it negative.\n" + SubSteps(b, a) + "The digits from the left give " +
         std::to_string(b - a) + ", so the result is " + std::to_string(result()) + ".";
}

ArithProblem DrawProblem(std::mt19937_64& rng, bool held_out) {
  for (;;) {
    ArithProblem p;
    const int kind = int(Uniform(rng, 0, 2));
    p.op = "+-*"[kind];
    auto number = [&](int max_digits) {
      const int d = int(Uniform(rng, 1, max_digits));
      int64_t lo = 1;
      for (int i = 1; i < d; ++i) lo *= 10;
      return Uniform(rng, d == 1 ? 0 : lo, lo * 10 - 1);
    };
    p.a = number(3);
    p.b = p.op == '*' ? Uniform(rng, 2, 9) : number(3);
    if ((Hash(p) % 10 == 0) == held_out) return p;
  }
}

std::string ArithPrompt(const ArithProblem& p) {
  return std::string(kBosToken) + kUserToken + p.Question() + kAssistantToken + "<think>\n";
}

std::string ArithResponse(const ArithProblem& p) {
  return p.Reasoning() + "\n</think>\n\n" + p.Answer() + kEosToken;
}

bool ArithCorrect(const ArithProblem& p, const std::string& generated) {
  const size_t think = generated.rfind("</think>");
  if (think == std::string::npos) return false;
  std::string tail = generated.substr(think + 8);
  // The last (possibly negative) integer in the answer.
  std::string last;
  for (size_t i = 0; i < tail.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(tail[i]))) continue;
    size_t j = i;
    while (j < tail.size() && std::isdigit(static_cast<unsigned char>(tail[j]))) ++j;
    last = (i > 0 && tail[i - 1] == '-' && (i < 2 || !std::isdigit(static_cast<unsigned char>(tail[i - 2])))
                ? "-" : "") + tail.substr(i, j - i);
    i = j;
  }
  return !last.empty() && last == std::to_string(p.result());
}

}  // namespace whale
