#include "tokenizer/stream_decoder.h"

#include "tokenizer/utf8.h"

namespace whale {

std::string StreamDecoder::Push(int32_t id) {
  if (skip_special_ && tok_->IsSpecial(id)) return "";
  pending_ += tok_->TokenBytes(id);
  size_t n = Utf8StablePrefix(pending_);
  std::string out = Utf8Lossy(std::string_view(pending_).substr(0, n));
  pending_.erase(0, n);
  return out;
}

std::string StreamDecoder::Flush() {
  std::string out = Utf8Lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace whale
