#include "io/mmap_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "io/error.h"

namespace whale {
namespace {

constexpr size_t kHugePage = size_t(2) << 20;

// Reads the whole file into fresh anonymous memory on huge pages.
const uint8_t* ReadIntoRam(int fd, const std::string& path, size_t size, size_t* mapped) {
  const size_t len = (size + kHugePage - 1) / kHugePage * kHugePage;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw Error(path + ": cannot allocate " + std::to_string(size) + " bytes: " + std::strerror(errno));
  ::madvise(p, len, MADV_HUGEPAGE);  // advisory: a kernel without THP still works
  auto* dst = static_cast<uint8_t*>(p);
  // Several readers: first touches of fresh memory (page clearing, and in a
  // VM the host backing it) cost more than the copy, and run in parallel.
  constexpr size_t kChunk = size_t(64) << 20;
  const unsigned readers = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::string failure;
  auto read_chunks = [&] {
    for (size_t off; (off = next.fetch_add(kChunk)) < size;) {
      const size_t end = std::min(size, off + kChunk);
      while (off < end) {
        const ssize_t n = ::pread(fd, dst + off, end - off, off_t(off));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
          std::lock_guard<std::mutex> lock(mu);
          failure = "read failed at byte " + std::to_string(off) + ": " +
                    (n < 0 ? std::strerror(errno) : "file shrank while reading");
          next = size;
          return;
        }
        off += size_t(n);
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < readers; ++i) threads.emplace_back(read_chunks);
  read_chunks();
  for (auto& t : threads) t.join();
  if (!failure.empty()) {
    ::munmap(p, len);
    throw Error(path + ": " + failure);
  }
  ::mprotect(p, len, PROT_READ);  // weights are never written
  *mapped = len;
  return dst;
}

}  // namespace

size_t MemAvailableBytes() {
  std::ifstream f("/proc/meminfo");
  std::string key, unit;
  size_t kib = 0;
  while (f >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

Residency ParseResidency(const std::string& s) {
  if (s == "mmap") return Residency::kMap;
  if (s == "ram") return Residency::kRam;
  if (s == "auto") return Residency::kAuto;
  throw Error("--mmap: expected auto, mmap or ram, got \"" + s + "\"");
}

MappedFile::MappedFile(const std::string& path, Residency residency) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file");
  }
  size_ = size_t(st.st_size);
  const size_t avail = MemAvailableBytes();
  if (residency == Residency::kAuto) residency = avail > size_ + (size_t(1) << 30) ? Residency::kRam : Residency::kMap;
  if (residency == Residency::kRam && avail > 0 && size_ > avail) {  // an error, not the OOM killer
    ::close(fd);
    char buf[160];
    std::snprintf(buf, sizeof buf, ": %.2f GiB does not fit in the %.2f GiB of available memory; use --mmap mmap",
                  double(size_) / double(1 << 30), double(avail) / double(1 << 30));
    throw Error(path + buf);
  }
  try {
    if (size_ > 0 && residency == Residency::kRam) {
      data_ = ReadIntoRam(fd, path, size_, &mapped_);
      in_ram_ = true;
    } else if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) throw Error(path + ": mmap failed: " + std::strerror(errno));
      data_ = static_cast<const uint8_t*>(p);
      mapped_ = size_;
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), mapped_);
}

}  // namespace whale
