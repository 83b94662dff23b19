// A compiled PCRE2 pattern (UTF + UCP, JIT when available) that lists the
// non-overlapping matches in a piece of text. Invalid UTF-8 in the subject is
// allowed and never matches (PCRE2_MATCH_INVALID_UTF), so such bytes end up
// in the unmatched stretches.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace whale {

class Regex {
 public:
  // `pattern` is PCRE2 syntax; throws Error with PCRE2's message.
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends [begin, end) byte offsets of every non-empty match in text, left
  // to right. After an empty match the search resumes one character later,
  // as Oniguruma's find_iter does.
  void FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

 private:
  void* code_;  // pcre2_code_8*
};

}  // namespace whale
