# cmake -DIN=file -DOUT=file.cc -DFUNC=ns::Name -P embed_text.cmake
# Writes a .cc defining `std::string_view FUNC()` that returns IN's bytes, so a
# file (the web page) is compiled into the binary and edited as itself.
file(READ "${IN}" content)
string(FIND "${content}" ")WHALE_EMBED\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )WHALE_EMBED\"")
endif()
string(REGEX REPLACE "::[^:]*$" "" ns "${FUNC}")
string(REGEX REPLACE "^.*::" "" name "${FUNC}")
file(WRITE "${OUT}.tmp" "// Generated at build time from ${IN}; edit that file.
#include <string_view>
namespace ${ns} {
std::string_view ${name}() {
  static constexpr char kText[] = R\"WHALE_EMBED(${content})WHALE_EMBED\";
  return {kText, sizeof(kText) - 1};
}
}  // namespace ${ns}
")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
