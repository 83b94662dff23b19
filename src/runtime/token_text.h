// What generation needs from a tokenizer: ids -> text. Kept as an interface
// so the engine can be tested with a toy vocabulary and so runtime/ depends
// on the tokenizer only through runtime/chat_model.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace whale {

class TokenText {
 public:
  virtual ~TokenText() = default;
  // Byte-level: Decode(a) + Decode(b) == Decode(a + b) whenever a ends on a
  // UTF-8 character boundary.
  virtual std::string Decode(std::span<const int32_t> ids) const = 0;
};

// Streams text token by token without ever splitting a UTF-8 character:
// a token that ends mid-character is held until the character completes.
class Utf8Stream {
 public:
  explicit Utf8Stream(const TokenText* text) : text_(text) { pending_.reserve(8); }
  // Text that became complete with `id` (often empty for partial characters).
  std::string Push(int32_t id);
  // Whatever is held, complete or not (end of generation).
  std::string Flush();

 private:
  const TokenText* text_;
  std::vector<int32_t> pending_;
};

// Length of the longest prefix of s that does not end inside a UTF-8 character.
size_t CompleteUtf8Prefix(const std::string& s);

}  // namespace whale
