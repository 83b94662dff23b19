// GGUF writer: header first (every key and tensor declared up front, so
// offsets are known), then tensor data streamed in declaration order, each
// tensor padded to the alignment as ggml's writer does.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "io/error.h"
#include "io/gguf.h"

namespace whale {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF"
constexpr size_t kMaxDims = 4;

size_t ScalarSize(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    default: return 8;
  }
}

}  // namespace


GgufWriter::GgufWriter(std::string path, uint64_t alignment) : path_(std::move(path)), alignment_(alignment) {
  if (alignment_ == 0 || (alignment_ & (alignment_ - 1))) throw std::logic_error("GgufWriter: bad alignment");
}

GgufWriter::~GgufWriter() {
  if (f_) std::fclose(f_);
}

void GgufWriter::Fail(const std::string& why) { throw Error(path_ + ": " + why); }

void GgufWriter::Add(const std::string& key, GgufValue v) {
  if (header_written_) throw std::logic_error("GgufWriter::Add after WriteHeader");
  for (auto& [k, old] : kv_)
    if (k == key) {
      old = std::move(v);
      return;
    }
  kv_.emplace_back(key, std::move(v));
}

size_t GgufWriter::AddTensor(const std::string& name, std::vector<int64_t> ne, uint32_t ggml_type) {
  if (header_written_) throw std::logic_error("GgufWriter::AddTensor after WriteHeader");
  if (names_.count(name)) throw std::logic_error("GgufWriter: duplicate tensor " + name);
  auto bi = GgmlBlockInfo(ggml_type);
  if (!bi || ne.empty() || ne.size() > kMaxDims || ne[0] % bi->block_elems)
    throw std::logic_error("GgufWriter: bad shape or type for tensor " + name);
  GgufTensorInfo t;
  t.name = name;
  t.ne = std::move(ne);
  t.ggml_type = ggml_type;
  t.nbytes = uint64_t(t.numel() / bi->block_elems * bi->block_bytes);
  uint64_t off = 0;
  if (!infos_.empty()) {
    const GgufTensorInfo& p = infos_.back();
    off = (p.offset + p.nbytes + alignment_ - 1) / alignment_ * alignment_;
  }
  t.offset = off;
  names_[name] = infos_.size();
  infos_.push_back(std::move(t));
  return infos_.size() - 1;
}

void GgufWriter::Put(const void* p, size_t n) {
  if (n && std::fwrite(p, 1, n, f_) != n) Fail("write failed");
  pos_ += n;
}

void GgufWriter::PutString(const std::string& s) {
  const uint64_t n = s.size();
  Put(&n, 8);
  Put(s.data(), s.size());
}

void GgufWriter::PutValue(const GgufValue& v, bool with_type) {
  if (with_type) {
    const uint32_t t = uint32_t(v.type);
    Put(&t, 4);
  }
  auto put_int = [&](GgufType t, int64_t x) {
    switch (ScalarSize(t)) {
      case 1: { const uint8_t b = uint8_t(x); Put(&b, 1); break; }
      case 2: { const uint16_t b = uint16_t(x); Put(&b, 2); break; }
      case 4: { const uint32_t b = uint32_t(x); Put(&b, 4); break; }
      default: Put(&x, 8);
    }
  };
  auto put_float = [&](GgufType t, double x) {
    if (t == GgufType::kF32) {
      const float f = float(x);
      Put(&f, 4);
    } else {
      Put(&x, 8);
    }
  };
  switch (v.type) {
    case GgufType::kString: PutString(v.s); return;
    case GgufType::kArray: {
      const uint32_t et = uint32_t(v.elem_type);
      Put(&et, 4);
      const uint64_t n = v.array_size();
      Put(&n, 8);
      for (const auto& s : v.strings) PutString(s);
      for (auto x : v.ints) put_int(v.elem_type, x);
      for (auto x : v.floats) put_float(v.elem_type, x);
      return;
    }
    case GgufType::kF32: case GgufType::kF64: put_float(v.type, v.f); return;
    default: put_int(v.type, v.i);
  }
}

void GgufWriter::Pad() {
  static const uint8_t kZeros[256] = {};
  uint64_t n = (alignment_ - pos_ % alignment_) % alignment_;
  while (n) {
    const uint64_t k = std::min<uint64_t>(n, sizeof(kZeros));
    Put(kZeros, size_t(k));
    n -= k;
  }
}

void GgufWriter::WriteHeader() {
  if (header_written_) throw std::logic_error("GgufWriter::WriteHeader twice");
  if (alignment_ != 32) Add("general.alignment", GgufValue::U32(uint32_t(alignment_)));
  f_ = std::fopen(path_.c_str(), "wb");
  if (!f_) Fail("cannot open for writing");
  header_written_ = true;
  const uint32_t magic = kMagic, version = 3;
  const int64_t n_tensors = int64_t(infos_.size()), n_kv = int64_t(kv_.size());
  Put(&magic, 4);
  Put(&version, 4);
  Put(&n_tensors, 8);
  Put(&n_kv, 8);
  for (const auto& [k, v] : kv_) {
    PutString(k);
    PutValue(v, true);
  }
  for (const auto& t : infos_) {
    PutString(t.name);
    const uint32_t nd = uint32_t(t.ne.size());
    Put(&nd, 4);
    for (auto d : t.ne) Put(&d, 8);
    Put(&t.ggml_type, 4);
    Put(&t.offset, 8);
  }
  Pad();
  cur_ = 0;
  cur_written_ = 0;
}

void GgufWriter::Append(const void* bytes, size_t n) {
  if (!header_written_ || finished_) throw std::logic_error("GgufWriter::Append outside WriteHeader..Finish");
  const uint8_t* p = static_cast<const uint8_t*>(bytes);
  while (n) {
    if (cur_ >= infos_.size()) throw std::logic_error("GgufWriter::Append: more data than declared tensors");
    const uint64_t room = infos_[cur_].nbytes - cur_written_;
    const size_t k = size_t(std::min<uint64_t>(room, n));
    Put(p, k);
    p += k;
    n -= k;
    cur_written_ += k;
    if (cur_written_ == infos_[cur_].nbytes) {
      Pad();
      ++cur_;
      cur_written_ = 0;
    }
  }
  // Zero-byte tensors complete as soon as they become current.
  while (cur_ < infos_.size() && infos_[cur_].nbytes == 0) ++cur_;
}

void GgufWriter::Finish() {
  if (!header_written_) WriteHeader();
  while (cur_ < infos_.size() && infos_[cur_].nbytes == 0) ++cur_;
  if (cur_ != infos_.size())
    throw std::logic_error("GgufWriter::Finish: tensor " + infos_[cur_].name + " is incomplete");
  finished_ = true;
  if (std::fclose(f_) != 0) {
    f_ = nullptr;
    Fail("write failed on close");
  }
  f_ = nullptr;
}

}  // namespace whale
