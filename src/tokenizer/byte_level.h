// GPT-2's byte-level alphabet: every byte has a printable stand-in character,
// so vocabularies and merges are written as text. whale works on raw bytes
// internally and converts only at load (vocab, merges) and in tests.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace whale {

// The stand-in code point for byte b (printable bytes map to themselves).
uint32_t ByteToAlphabet(uint8_t b);

// Text in the byte alphabet -> raw bytes. When a character is outside the
// alphabet the whole token is taken as its own UTF-8 bytes, exactly as the
// reference ByteLevel decoder does per token; *all_mapped tells which.
std::string AlphabetToBytes(std::string_view token, bool* all_mapped = nullptr);

// Raw bytes -> text in the byte alphabet.
std::string BytesToAlphabet(std::string_view bytes);

}  // namespace whale
