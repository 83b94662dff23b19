// Compiles the vendored cpp-httplib implementation into whalecore (see
// third_party/cpp-httplib/README.md); its warnings are not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#include "serve/third_party/cpp-httplib/httplib.cpp"
#pragma GCC diagnostic pop
