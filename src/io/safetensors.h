// safetensors: 8-byte little-endian header length, JSON header, raw data.
// Every header claim is checked against the file before a view is handed out.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/mmap_file.h"
#include "kernels/dtype.h"

namespace whale {

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
  std::string file;  // where it came from, for error messages

  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
};

// Parses a dtype name as safetensors spells it; throws Error naming `where`.
DType ParseSafetensorsDType(const std::string& s, const std::string& where);

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path, Residency residency = Residency::kMap);  // throws Error

  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const TensorView* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return file_->path(); }
  size_t file_size() const { return file_->size(); }
  bool in_ram() const { return file_->in_ram(); }

 private:
  std::unique_ptr<MappedFile> file_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Writes F32/I64/I32 tensors (used by `whale logits` and tests).
struct OwnedTensor {
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
void WriteSafetensors(const std::string& path, const std::map<std::string, OwnedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace whale
