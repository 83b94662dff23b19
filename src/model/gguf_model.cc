#include "io/error.h"
#include "model/model.h"

namespace whale {

std::unique_ptr<Model> LoadGgufModel(const std::string& path, bool with_mtp) {
  throw Error(path + ": GGUF models are not supported yet");
}

}  // namespace whale
