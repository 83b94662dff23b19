// Incremental detokenization for generation: text comes out as ids arrive,
// never splitting a UTF-8 character, and all pieces plus Flush() concatenate
// to exactly Tokenizer::Decode of all the ids.
#pragma once
#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace whale {

class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool skip_special_tokens = false)
      : tok_(&tok), skip_special_(skip_special_tokens) {}

  // Text made complete by `id`; often empty while a character is open.
  std::string Push(int32_t id);
  // Whatever is held (an unfinished character becomes U+FFFD).
  std::string Flush();

 private:
  const Tokenizer* tok_;
  bool skip_special_;
  std::string pending_;  // bytes of an open character, at most 3
};

}  // namespace whale
