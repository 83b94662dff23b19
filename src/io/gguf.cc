// GGUF reader and writer. The reader walks the header with a bounds-checked
// cursor; no count is trusted until the bytes it implies are known to exist.
#include "io/gguf.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "io/error.h"

namespace whale {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF"
constexpr int kMaxDims = 4;              // GGML_MAX_DIMS

size_t ScalarSize(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    case GgufType::kU64: case GgufType::kI64: case GgufType::kF64: return 8;
    default: return 0;
  }
}

bool IsIntType(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kU16: case GgufType::kI16: case GgufType::kU32:
    case GgufType::kI32: case GgufType::kU64: case GgufType::kI64: case GgufType::kBool:
      return true;
    default:
      return false;
  }
}

// Reads little-endian values from [p, end), naming `where` on failure.
class Cursor {
 public:
  Cursor(const uint8_t* base, size_t size, const std::string& path) : base_(base), size_(size), path_(path) {}

  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }
  [[noreturn]] void Fail(const std::string& where, const std::string& why) const {
    throw Error(path_ + ": " + where + ": " + why);
  }
  void Need(size_t n, const std::string& where) const {
    if (n > left())
      Fail(where, "truncated (needs " + std::to_string(n) + " bytes at byte " + std::to_string(pos_) + ", file has " +
                      std::to_string(size_) + ")");
  }
  template <typename T>
  T Read(const std::string& where) {
    Need(sizeof(T), where);
    T v;
    std::memcpy(&v, base_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string String(const std::string& where) {
    const uint64_t n = Read<uint64_t>(where);
    if (n > left())
      Fail(where, "string length " + std::to_string(n) + " runs past the end of the file");
    std::string s(reinterpret_cast<const char*>(base_ + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }

 private:
  const uint8_t* base_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& path_;
};

int64_t ReadScalarInt(Cursor& c, GgufType t, const std::string& where) {
  switch (t) {
    case GgufType::kU8: return c.Read<uint8_t>(where);
    case GgufType::kI8: return c.Read<int8_t>(where);
    case GgufType::kU16: return c.Read<uint16_t>(where);
    case GgufType::kI16: return c.Read<int16_t>(where);
    case GgufType::kU32: return c.Read<uint32_t>(where);
    case GgufType::kI32: return c.Read<int32_t>(where);
    case GgufType::kU64: return int64_t(c.Read<uint64_t>(where));
    case GgufType::kI64: return c.Read<int64_t>(where);
    case GgufType::kBool: {
      const uint8_t b = c.Read<uint8_t>(where);
      if (b > 1) c.Fail(where, "bool value " + std::to_string(b) + " is neither 0 nor 1");
      return b;
    }
    default: c.Fail(where, "not an integer type");
  }
}

double ReadScalarFloat(Cursor& c, GgufType t, const std::string& where) {
  if (t == GgufType::kF32) return c.Read<float>(where);
  return c.Read<double>(where);
}

GgufType ReadType(Cursor& c, const std::string& where) {
  const uint32_t t = c.Read<uint32_t>(where);
  if (t > uint32_t(GgufType::kF64)) c.Fail(where, "unknown value type " + std::to_string(t));
  return GgufType(t);
}

GgufValue ReadValue(Cursor& c, GgufType t, const std::string& where) {
  GgufValue v;
  v.type = t;
  if (t == GgufType::kString) {
    v.s = c.String(where);
  } else if (t == GgufType::kArray) {
    v.elem_type = ReadType(c, where);
    if (v.elem_type == GgufType::kArray) c.Fail(where, "nested arrays are not supported");
    const uint64_t n = c.Read<uint64_t>(where);
    // Every element needs at least its fixed size (a string its 8-byte length).
    const size_t min = v.elem_type == GgufType::kString ? 8 : ScalarSize(v.elem_type);
    if (n > c.left() / min)
      c.Fail(where, "array of " + std::to_string(n) + " elements runs past the end of the file");
    if (v.elem_type == GgufType::kString) {
      v.strings.reserve(n);
      for (uint64_t k = 0; k < n; ++k) v.strings.push_back(c.String(where));
    } else if (IsIntType(v.elem_type)) {
      v.ints.reserve(n);
      for (uint64_t k = 0; k < n; ++k) v.ints.push_back(ReadScalarInt(c, v.elem_type, where));
    } else {
      v.floats.reserve(n);
      for (uint64_t k = 0; k < n; ++k) v.floats.push_back(ReadScalarFloat(c, v.elem_type, where));
    }
  } else if (IsIntType(t)) {
    v.i = ReadScalarInt(c, t, where);
  } else {
    v.f = ReadScalarFloat(c, t, where);
  }
  return v;
}

// Block size and bytes per ggml type (ggml.c type_traits).
struct GgmlTypeRow {
  uint32_t id;
  const char* name;
  int64_t block_elems, block_bytes;
};
constexpr GgmlTypeRow kGgmlTypes[] = {
    {0, "F32", 1, 4},        {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},     {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},     {7, "Q5_1", 32, 24},      {8, "Q8_0", 32, 34},     {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84},   {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},  {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},  {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},  {20, "IQ4_NL", 32, 18},  {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},  {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},        {25, "I16", 1, 2},
    {26, "I32", 1, 4},       {27, "I64", 1, 8},        {28, "F64", 1, 8},       {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},      {34, "TQ1_0", 256, 54},   {35, "TQ2_0", 256, 66},  {39, "MXFP4", 32, 17},
};

const GgmlTypeRow* FindGgmlType(uint32_t id) {
  for (const auto& r : kGgmlTypes)
    if (r.id == id) return &r;
  return nullptr;
}

// a·b, or nullopt when it overflows `limit`.
std::optional<uint64_t> MulBounded(uint64_t a, uint64_t b, uint64_t limit) {
  if (a != 0 && b > limit / a) return std::nullopt;
  return a * b;
}

}  // namespace

const char* GgufTypeName(GgufType t) {
  static const char* kNames[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                 "bool", "str", "array", "u64", "i64", "f64"};
  const uint32_t i = uint32_t(t);
  return i < 13 ? kNames[i] : "?";
}

bool GgufValue::is_int() const { return IsIntType(type); }
bool GgufValue::is_float() const { return type == GgufType::kF32 || type == GgufType::kF64; }
uint64_t GgufValue::array_size() const { return ints.size() + floats.size() + strings.size(); }

GgufValue GgufValue::Str(std::string v) {
  GgufValue r;
  r.type = GgufType::kString;
  r.s = std::move(v);
  return r;
}
GgufValue GgufValue::U32(uint32_t v) {
  GgufValue r;
  r.type = GgufType::kU32;
  r.i = v;
  return r;
}
GgufValue GgufValue::I32(int32_t v) {
  GgufValue r;
  r.type = GgufType::kI32;
  r.i = v;
  return r;
}
GgufValue GgufValue::U64(uint64_t v) {
  GgufValue r;
  r.type = GgufType::kU64;
  r.i = int64_t(v);
  return r;
}
GgufValue GgufValue::F32(float v) {
  GgufValue r;
  r.type = GgufType::kF32;
  r.f = v;
  return r;
}
GgufValue GgufValue::Bool(bool v) {
  GgufValue r;
  r.type = GgufType::kBool;
  r.i = v;
  return r;
}
GgufValue GgufValue::StrArray(std::vector<std::string> v) {
  GgufValue r;
  r.type = GgufType::kArray;
  r.elem_type = GgufType::kString;
  r.strings = std::move(v);
  return r;
}
GgufValue GgufValue::I32Array(std::vector<int32_t> v) {
  GgufValue r;
  r.type = GgufType::kArray;
  r.elem_type = GgufType::kI32;
  r.ints.assign(v.begin(), v.end());
  return r;
}
GgufValue GgufValue::F32Array(std::vector<float> v) {
  GgufValue r;
  r.type = GgufType::kArray;
  r.elem_type = GgufType::kF32;
  r.floats.assign(v.begin(), v.end());
  return r;
}

std::optional<BlockInfo> GgmlBlockInfo(uint32_t ggml_type) {
  const GgmlTypeRow* r = FindGgmlType(ggml_type);
  if (!r) return std::nullopt;
  return BlockInfo{r->block_elems, r->block_bytes};
}

std::string GgmlTypeName(uint32_t ggml_type) {
  const GgmlTypeRow* r = FindGgmlType(ggml_type);
  return r ? r->name : "type " + std::to_string(ggml_type);
}

std::optional<DType> DTypeFromGgml(uint32_t t) {
  switch (t) {
    case kGgmlF32: return DType::kF32;
    case kGgmlF16: return DType::kF16;
    case kGgmlBF16: return DType::kBF16;
    case kGgmlQ8_0: return DType::kQ8_0;
    case kGgmlQ4_K: return DType::kQ4_K;
    case kGgmlQ5_0: return DType::kQ5_0;
    case kGgmlQ6_K: return DType::kQ6_K;
    default: return std::nullopt;
  }
}

uint32_t GgmlFromDType(DType t) {
  switch (t) {
    case DType::kF32: return kGgmlF32;
    case DType::kF16: return kGgmlF16;
    case DType::kBF16: return kGgmlBF16;
    case DType::kQ8_0: return kGgmlQ8_0;
    case DType::kQ4_K: return kGgmlQ4_K;
    case DType::kQ5_0: return kGgmlQ5_0;
    case DType::kQ6_K: return kGgmlQ6_K;
    default: throw std::logic_error("GgmlFromDType: " + std::string(DTypeName(t)) + " has no GGUF type");
  }
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (auto d : ne) n *= d;
  return n;
}

// ------------------------------------------------------------------ reader

GgufFile::GgufFile(const std::string& path, Residency residency)
    : file_(std::make_shared<MappedFile>(path, residency)) {
  Parse();
}

void GgufFile::Parse() {
  const std::string& p = file_->path();
  Cursor c(file_->data(), file_->size(), p);
  const uint32_t magic = c.Read<uint32_t>("header");
  if (magic != kMagic) c.Fail("header", "not a GGUF file (bad magic)");
  version_ = c.Read<uint32_t>("header");
  if (version_ != 2 && version_ != 3)
    c.Fail("header", "GGUF version " + std::to_string(version_) + " is not supported (2 or 3)");
  const int64_t n_tensors = c.Read<int64_t>("header");
  const int64_t n_kv = c.Read<int64_t>("header");
  // A key needs >= 12 bytes (length + type), a tensor info >= 24.
  if (n_kv < 0 || uint64_t(n_kv) > c.left() / 12)
    c.Fail("header", "key count " + std::to_string(n_kv) + " is impossible for a file this size");
  if (n_tensors < 0 || uint64_t(n_tensors) > c.left() / 24)
    c.Fail("header", "tensor count " + std::to_string(n_tensors) + " is impossible for a file this size");

  for (int64_t k = 0; k < n_kv; ++k) {
    const std::string at = "key " + std::to_string(k) + " of " + std::to_string(n_kv);
    std::string key = c.String(at);
    const std::string where = at + " (" + key + ")";
    const GgufType t = ReadType(c, where);
    GgufValue v = ReadValue(c, t, where);
    if (kv_index_.count(key)) c.Fail(where, "duplicate key");
    kv_index_[key] = kv_.size();
    kv_.emplace_back(std::move(key), std::move(v));
  }
  if (const GgufValue* a = Find("general.alignment")) {
    if (a->type != GgufType::kU32) c.Fail("key general.alignment", std::string("has type ") + GgufTypeName(a->type) + ", expected u32");
    if (a->i == 0 || (a->i & (a->i - 1))) c.Fail("key general.alignment", "value " + std::to_string(a->i) + " is not a power of two");
    alignment_ = uint64_t(a->i);
  }

  tensors_.reserve(size_t(n_tensors));
  for (int64_t k = 0; k < n_tensors; ++k) {
    const std::string at = "tensor " + std::to_string(k) + " of " + std::to_string(n_tensors);
    GgufTensorInfo t;
    t.name = c.String(at);
    const std::string where = at + " (" + t.name + ")";
    const uint32_t n_dims = c.Read<uint32_t>(where);
    if (n_dims > kMaxDims) c.Fail(where, std::to_string(n_dims) + " dimensions (at most 4)");
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const int64_t ne = c.Read<int64_t>(where);
      if (ne < 0) c.Fail(where, "negative dimension " + std::to_string(ne));
      auto m = MulBounded(numel, uint64_t(ne), uint64_t(std::numeric_limits<int64_t>::max()));
      if (!m) c.Fail(where, "element count overflows");
      numel = *m;
      t.ne.push_back(ne);
    }
    t.ggml_type = c.Read<uint32_t>(where);
    const GgmlTypeRow* ty = FindGgmlType(t.ggml_type);
    if (!ty) c.Fail(where, "unknown ggml type " + std::to_string(t.ggml_type));
    const int64_t ne0 = t.ne.empty() ? 1 : t.ne[0];
    if (ne0 % ty->block_elems)
      c.Fail(where, "row length " + std::to_string(ne0) + " is not a multiple of the " + ty->name + " block (" +
                        std::to_string(ty->block_elems) + ")");
    auto bytes = MulBounded(numel / uint64_t(ty->block_elems), uint64_t(ty->block_bytes), uint64_t(1) << 62);
    if (!bytes) c.Fail(where, "byte size overflows");
    t.nbytes = *bytes;
    t.offset = c.Read<uint64_t>(where);
    if (t.offset % alignment_)
      c.Fail(where, "data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                        std::to_string(alignment_));
    if (tensor_index_.count(t.name)) c.Fail(where, "duplicate tensor name");
    tensor_index_[t.name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t hdr_end = c.pos();
  data_offset_ = (hdr_end + alignment_ - 1) / alignment_ * alignment_;
  const uint64_t size = file_->size();
  if (data_offset_ > size && !tensors_.empty())
    c.Fail("header", "data section would start at byte " + std::to_string(data_offset_) + ", past the end of the file");
  const uint64_t data_size = data_offset_ <= size ? size - data_offset_ : 0;
  std::vector<std::pair<uint64_t, size_t>> order;
  for (size_t k = 0; k < tensors_.size(); ++k) {
    GgufTensorInfo& t = tensors_[k];
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      c.Fail("tensor " + std::to_string(k) + " of " + std::to_string(tensors_.size()) + " (" + t.name + ")",
             "data [" + std::to_string(t.offset) + ", +" + std::to_string(t.nbytes) +
                 ") ends past the end of the file (data section is " + std::to_string(data_size) + " bytes)");
    t.data = file_->data() + data_offset_ + t.offset;
    if (t.nbytes) order.push_back({t.offset, k});
  }
  std::sort(order.begin(), order.end());
  for (size_t k = 1; k < order.size(); ++k) {
    const GgufTensorInfo& prev = tensors_[order[k - 1].second];
    const GgufTensorInfo& cur = tensors_[order[k].second];
    if (cur.offset < prev.offset + prev.nbytes)
      c.Fail("tensor " + cur.name, "data overlaps tensor " + prev.name);
  }
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

std::optional<int64_t> GgufFile::GetInt(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return std::nullopt;
  if (!v->is_int() || v->type == GgufType::kBool)
    throw Error(path() + ": key " + key + " has type " + GgufTypeName(v->type) + ", expected an integer");
  return v->i;
}

std::optional<double> GgufFile::GetFloat(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return std::nullopt;
  if (v->is_float()) return v->f;
  if (v->is_int() && v->type != GgufType::kBool) return double(v->i);
  throw Error(path() + ": key " + key + " has type " + GgufTypeName(v->type) + ", expected a number");
}

std::optional<bool> GgufFile::GetBool(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::kBool)
    throw Error(path() + ": key " + key + " has type " + GgufTypeName(v->type) + ", expected bool");
  return v->i != 0;
}

std::optional<std::string> GgufFile::GetString(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufType::kString)
    throw Error(path() + ": key " + key + " has type " + GgufTypeName(v->type) + ", expected str");
  return v->s;
}

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

// ------------------------------------------------------------------ split

GgufSplit::GgufSplit(const std::string& path, Residency residency) {
  // gguf-split names parts "%s-%05d-of-%05d.gguf".
  const std::string tail = "-00001-of-00000.gguf";
  std::vector<std::string> paths = {path};
  if (path.size() > tail.size()) {
    const std::string t = path.substr(path.size() - tail.size());
    auto digits = [&](size_t a, size_t n) {
      for (size_t i = a; i < a + n; ++i)
        if (t[i] < '0' || t[i] > '9') return false;
      return true;
    };
    if (t[0] == '-' && digits(1, 5) && t.compare(6, 4, "-of-") == 0 && digits(10, 5) && t.compare(15, 5, ".gguf") == 0) {
      const int count = std::stoi(t.substr(10, 5));
      const std::string stem = path.substr(0, path.size() - tail.size());
      if (count < 1) throw Error(path + ": split file name says 0 parts");
      paths.clear();
      for (int i = 1; i <= count; ++i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "-%05d-of-%05d.gguf", i, count);
        paths.push_back(stem + buf);
      }
    }
  }
  for (size_t i = 0; i < paths.size(); ++i) {
    parts_.push_back(std::make_shared<GgufFile>(paths[i], residency));
    const GgufFile& f = *parts_.back();
    if (paths.size() > 1) {
      const auto no = f.GetInt("split.no"), count = f.GetInt("split.count");
      if (!no || !count || *no != int64_t(i) || *count != int64_t(paths.size()))
        throw Error(f.path() + ": split.no / split.count do not say part " + std::to_string(i) + " of " +
                    std::to_string(paths.size()));
    }
    for (const auto& t : f.tensors()) {
      if (index_.count(t.name))
        throw Error(f.path() + ": tensor " + t.name + " is also in " + parts_[index_[t.name].first]->path());
      index_[t.name] = {i, &t};
    }
  }
}

const GgufTensorInfo* GgufSplit::FindTensor(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : it->second.second;
}

const GgufFile& GgufSplit::PartOf(const std::string& tensor) const {
  auto it = index_.find(tensor);
  return it == index_.end() ? meta() : *parts_[it->second.first];
}

std::vector<const GgufTensorInfo*> GgufSplit::tensors() const {
  std::vector<const GgufTensorInfo*> out;
  for (const auto& p : parts_)
    for (const auto& t : p->tensors()) out.push_back(&t);
  return out;
}

}  // namespace whale
