// The web chat page (web/index.html), compiled into the binary at build time so whale serve
// needs no files at run time and fetches nothing from elsewhere.
#pragma once
#include <string_view>

namespace whale::serve {

std::string_view WebPage();

}  // namespace whale::serve
