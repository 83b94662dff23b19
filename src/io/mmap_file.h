// A model file's bytes, read-only, used in place by the tensor views.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace whale {

// Where a weight file's bytes live while the model runs.
//  kMap: memory-mapped from the page cache. A model larger than RAM still
//        runs, but decode streams weights through 4 KiB page-cache pages,
//        which on the machines measured here read at a fraction of the
//        bandwidth anonymous memory gives (README.md, "Speed on a CPU", has the figures).
//  kRam: read once into anonymous memory on 2 MiB transparent huge pages
//        (llama.cpp's --no-mmap; ik_llama.cpp's -rtr implies it). One copy:
//        RSS is the file size, the page cache may keep the file as cache.
//  kAuto: kRam when the file fits in MemAvailable with 1 GiB to spare, else kMap.
enum class Residency { kMap, kRam, kAuto };
Residency ParseResidency(const std::string& s);  // "mmap" | "ram" | "auto"; throws Error

// MemAvailable from /proc/meminfo in bytes (what kAuto compares with); 0 when unknown.
size_t MemAvailableBytes();

class MappedFile {
 public:
  explicit MappedFile(const std::string& path, Residency residency = Residency::kMap);  // throws Error
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  bool in_ram() const { return in_ram_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_ = 0;  // length passed to munmap
  bool in_ram_ = false;
};

}  // namespace whale
