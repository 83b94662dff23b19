#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/error.h"

namespace whale {

DType ParseSafetensorsDType(const std::string& s, const std::string& where) {
  static const std::map<std::string, DType> kNames = {
      {"F32", DType::kF32},   {"F16", DType::kF16},       {"BF16", DType::kBF16},
      {"F8_E4M3", DType::kF8E4M3}, {"I8", DType::kI8},    {"I16", DType::kI16},
      {"I32", DType::kI32},   {"I64", DType::kI64},       {"U8", DType::kU8},
      {"F64", DType::kF64},   {"BOOL", DType::kBool},
      // Not in the safetensors spec: GGUF block formats, written by `whale quantize`
      // into folders; blocks run along the last dimension, as in GGUF.
      {"Q8_0", DType::kQ8_0}, {"Q4_K", DType::kQ4_K},     {"Q5_0", DType::kQ5_0},
      {"Q6_K", DType::kQ6_K},
  };
  auto it = kNames.find(s);
  if (it == kNames.end()) throw Error(where + ": unsupported dtype \"" + s + "\"");
  return it->second;
}

SafetensorsFile::SafetensorsFile(const std::string& path, Residency residency)
    : file_(std::make_unique<MappedFile>(path, residency)) {
  const uint8_t* base = file_->data();
  const size_t size = file_->size();
  if (size < 8) throw Error(path + ": truncated safetensors file (" + std::to_string(size) + " bytes)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, base, 8);  // little-endian hosts only (x86-64, arm64)
  if (header_len > size - 8)
    throw Error(path + ": safetensors header length " + std::to_string(header_len) +
                " runs past the end of the file (" + std::to_string(size) + " bytes)");
  const char* hdr = reinterpret_cast<const char*>(base + 8);
  nlohmann::json j = nlohmann::json::parse(hdr, hdr + header_len, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(path + ": safetensors header is not a valid JSON object");

  const uint8_t* data = base + 8 + header_len;
  const size_t data_size = size - 8 - header_len;
  std::vector<std::pair<size_t, size_t>> ranges;
  std::vector<std::string> range_names;
  for (auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) throw Error(path + ": __metadata__ is not an object");
      for (auto& [k, mv] : v.items())
        if (mv.is_string()) metadata_[k] = mv.get<std::string>();
      continue;
    }
    const std::string where = path + ": tensor " + name;
    if (!v.is_object() || !v.contains("dtype") || !v["dtype"].is_string() || !v.contains("shape") ||
        !v["shape"].is_array() || !v.contains("data_offsets") || !v["data_offsets"].is_array() ||
        v["data_offsets"].size() != 2)
      throw Error(where + ": header entry needs dtype, shape and data_offsets [begin, end]");
    TensorView t;
    t.name = name;
    t.file = path;
    t.dtype = ParseSafetensorsDType(v["dtype"].get<std::string>(), where);
    uint64_t numel = 1;
    for (auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw Error(where + ": shape has a non-integer or negative dimension");
      const uint64_t dim = d.get<uint64_t>();
      if (dim > (uint64_t(1) << 40) || (dim && numel > (uint64_t(1) << 50) / dim))
        throw Error(where + ": shape too large");
      numel *= dim;
      t.shape.push_back(int64_t(dim));
    }
    auto& off = v["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw Error(where + ": data_offsets must be non-negative integers");
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > data_size)
      throw Error(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                  ") lie outside the data section (" + std::to_string(data_size) + " bytes)");
    const BlockInfo bi = GetBlockInfo(t.dtype);
    if (bi.block_elems > 1 && (t.shape.empty() || t.shape.back() % bi.block_elems != 0))
      throw Error(where + ": last dimension is not a multiple of " + std::string(DTypeName(t.dtype)) +
                  "'s block of " + std::to_string(bi.block_elems));
    const uint64_t want = numel / uint64_t(bi.block_elems) * uint64_t(bi.block_bytes);
    if (end - begin != want)
      throw Error(where + ": byte size " + std::to_string(end - begin) + " does not match shape x dtype (" +
                  std::to_string(want) + ")");
    t.data = data + begin;
    t.nbytes = end - begin;
    if (t.nbytes) {
      ranges.push_back({begin, end});
    }
    tensors_.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second)
      throw Error(path + ": tensors overlap in the data section at byte " + std::to_string(ranges[i].first));
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

void WriteSafetensors(const std::string& path, const std::map<std::string, OwnedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::json h = nlohmann::json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t off = 0;
  for (auto& [name, t] : tensors) {
    h[name] = {{"dtype", std::string(DTypeName(t.dtype))},
               {"shape", t.shape},
               {"data_offsets", {off, off + t.bytes.size()}}};
    off += t.bytes.size();
  }
  std::string hs = h.dump();
  while (hs.size() % 8) hs.push_back(' ');
  std::ofstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open for writing");
  uint64_t n = hs.size();
  f.write(reinterpret_cast<const char*>(&n), 8);
  f.write(hs.data(), hs.size());
  for (auto& [name, t] : tensors) f.write(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
  if (!f) throw Error(path + ": write failed");
}

}  // namespace whale
