// UTF-8 helpers shared by the pre-tokenizer, the decoder and the stream
// decoder. Everything here accepts arbitrary bytes: invalid input is never UB.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace whale {

// Length of the valid UTF-8 character starting at s[i], or 0 when the bytes
// there are not one (invalid, overlong, surrogate or truncated).
size_t Utf8CharLen(std::string_view s, size_t i);

// Bytes -> valid UTF-8, each maximal invalid subpart replaced by one U+FFFD:
// the same output as Rust's String::from_utf8_lossy, which the reference
// decoder uses.
std::string Utf8Lossy(std::string_view bytes);

// Length of the longest prefix of s after which no further bytes can change
// Utf8Lossy's output: it excludes only a trailing, so far valid, incomplete
// character.
size_t Utf8StablePrefix(std::string_view s);

// Appends the UTF-8 encoding of code point cp.
void AppendUtf8(std::string& out, uint32_t cp);

// Number of code points (each invalid byte counts as one).
size_t Utf8CountChars(std::string_view s);

}  // namespace whale
