// GGUF v2/v3 (llama.cpp's model container): a checked reader over a
// memory-mapped file and a streaming writer. Layout and pitfalls:
// shared/fixtures/GGUF.md section 1. Every count, size and offset read from a
// file is validated before use; bad input throws Error naming the file and
// the key or tensor at fault.
#pragma once
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/mmap_file.h"
#include "kernels/dtype.h"

namespace whale {

enum class GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
const char* GgufTypeName(GgufType t);

// One metadata value. Integers (and bools) live in `i` (u64 bit-cast),
// floats in `f`; arrays hold their elements in ints/floats/strings by
// elem_type. Nested arrays are rejected, as ggml does.
struct GgufValue {
  GgufType type = GgufType::kU8;
  GgufType elem_type = GgufType::kU8;  // arrays only
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;

  bool is_int() const;    // any integer type or bool
  bool is_float() const;  // f32 / f64
  uint64_t array_size() const;

  static GgufValue Str(std::string v);
  static GgufValue U32(uint32_t v);
  static GgufValue I32(int32_t v);
  static GgufValue U64(uint64_t v);
  static GgufValue F32(float v);
  static GgufValue Bool(bool v);
  static GgufValue StrArray(std::vector<std::string> v);
  static GgufValue I32Array(std::vector<int32_t> v);
  static GgufValue F32Array(std::vector<float> v);
};

// ggml tensor types (ggml.h enum ggml_type); only the ones whale names.
enum GgmlType : uint32_t {
  kGgmlF32 = 0, kGgmlF16 = 1, kGgmlQ4_0 = 2, kGgmlQ4_1 = 3, kGgmlQ5_0 = 6, kGgmlQ5_1 = 7,
  kGgmlQ8_0 = 8, kGgmlQ4_K = 12, kGgmlQ5_K = 13, kGgmlQ6_K = 14, kGgmlBF16 = 30,
};
// Block size and bytes of any ggml type; nullopt for unknown codes.
std::optional<BlockInfo> GgmlBlockInfo(uint32_t ggml_type);
std::string GgmlTypeName(uint32_t ggml_type);
// whale's DType for a ggml type it can compute with; nullopt otherwise.
std::optional<DType> DTypeFromGgml(uint32_t ggml_type);
uint32_t GgmlFromDType(DType t);  // throws std::logic_error for non-GGUF types

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // ggml order: ne[0] is contiguous (reverse of torch)
  uint32_t ggml_type = 0;
  uint64_t offset = 0;      // relative to the data section
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;
  int64_t numel() const;
};

class GgufFile {
 public:
  explicit GgufFile(const std::string& path, Residency residency = Residency::kMap);  // throws Error

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  size_t file_size() const { return file_->size(); }
  bool in_ram() const { return file_->in_ram(); }

  // Keys in file order.
  const std::vector<std::pair<std::string, GgufValue>>& kv() const { return kv_; }
  const GgufValue* Find(const std::string& key) const;
  // Typed getters: nullopt when the key is absent, Error when it has the wrong type.
  std::optional<int64_t> GetInt(const std::string& key) const;
  std::optional<double> GetFloat(const std::string& key) const;  // ints accepted too
  std::optional<bool> GetBool(const std::string& key) const;
  std::optional<std::string> GetString(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(const std::string& name) const;

 private:
  void Parse();
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;

 public:
  // Keeps the mapping alive for views handed out (TensorStore::keepalive).
  std::shared_ptr<MappedFile> mapping() const { return file_; }
};

// A model in one GGUF file, or split by llama.cpp's gguf-split into parts
// NAME-00001-of-0000N.gguf (each a complete GGUF; the first holds the
// metadata, every part has split.no / split.count). Opening any part opens
// them all; tensors are found across parts, and a name in two parts is an
// error.
class GgufSplit {
 public:
  explicit GgufSplit(const std::string& path, Residency residency = Residency::kMap);  // throws Error

  const GgufFile& meta() const { return *parts_.front(); }
  const std::string& path() const { return meta().path(); }
  const std::vector<std::shared_ptr<GgufFile>>& parts() const { return parts_; }
  const GgufTensorInfo* FindTensor(const std::string& name) const;
  const GgufFile& PartOf(const std::string& tensor) const;  // for messages
  size_t num_tensors() const { return index_.size(); }
  std::vector<const GgufTensorInfo*> tensors() const;  // part by part, file order

 private:
  std::vector<std::shared_ptr<GgufFile>> parts_;
  std::map<std::string, std::pair<size_t, const GgufTensorInfo*>> index_;
};

// Streaming writer: declare every key and tensor first, then WriteHeader(),
// then feed each tensor's bytes in declaration order (in as many pieces as
// convenient), then Finish(). Only one tensor piece is ever in memory.
class GgufWriter {
 public:
  explicit GgufWriter(std::string path, uint64_t alignment = 32);
  ~GgufWriter();
  GgufWriter(const GgufWriter&) = delete;
  GgufWriter& operator=(const GgufWriter&) = delete;

  void Add(const std::string& key, GgufValue v);
  // ne in ggml order. Returns the tensor's index.
  size_t AddTensor(const std::string& name, std::vector<int64_t> ne, uint32_t ggml_type);
  void WriteHeader();
  void Append(const void* bytes, size_t n);  // data of the current tensor
  void Finish();

  uint64_t tensor_nbytes(size_t i) const { return infos_[i].nbytes; }
  size_t num_tensors() const { return infos_.size(); }

 private:
  void Put(const void* p, size_t n);
  void PutString(const std::string& s);
  void PutValue(const GgufValue& v, bool with_type);
  void Pad();
  [[noreturn]] void Fail(const std::string& why);

  std::string path_;
  uint64_t alignment_;
  std::FILE* f_ = nullptr;
  uint64_t pos_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<GgufTensorInfo> infos_;
  std::map<std::string, size_t> names_;
  bool header_written_ = false, finished_ = false;
  size_t cur_ = 0;          // tensor being written
  uint64_t cur_written_ = 0;
};

}  // namespace whale
