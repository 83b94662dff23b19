#include "io/mmap_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "io/error.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

TEST(MappedFile, RamAndMapHoldTheSameBytes) {
  const fs::path p = fs::path(WHALE_BINARY_DIR) / "mmap_test_small.bin";
  std::string bytes(3 << 20, '\0');  // over one huge page, not a multiple of it
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = char(i * 2654435761u >> 13);
  std::ofstream(p, std::ios::binary) << bytes;
  MappedFile mapped(p.string(), Residency::kMap), ram(p.string(), Residency::kRam);
  EXPECT_FALSE(mapped.in_ram());
  EXPECT_TRUE(ram.in_ram());
  ASSERT_EQ(ram.size(), bytes.size());
  EXPECT_EQ(std::memcmp(ram.data(), bytes.data(), bytes.size()), 0);
  EXPECT_EQ(std::memcmp(mapped.data(), bytes.data(), bytes.size()), 0);
  EXPECT_TRUE(MappedFile(p.string(), Residency::kAuto).in_ram());  // 3 MB fits
  EXPECT_THROW(ParseResidency("hugepages"), Error);
}

// A (sparse) file larger than the available memory: kAuto maps it, kRam is a
// one-line error naming the file, not the OOM killer.
TEST(MappedFile, TooLargeForRamIsAnErrorOrMapped) {
  const size_t avail = MemAvailableBytes();
  if (avail == 0) GTEST_SKIP() << "no MemAvailable in /proc/meminfo";
  const fs::path p = fs::path(WHALE_BINARY_DIR) / "mmap_test_sparse.bin";
  { std::ofstream(p, std::ios::binary); }
  fs::resize_file(p, avail + (size_t(2) << 30));
  EXPECT_FALSE(MappedFile(p.string(), Residency::kAuto).in_ram());
  try {
    MappedFile f(p.string(), Residency::kRam);
    ADD_FAILURE() << "read a file larger than available memory into RAM";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not fit"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << e.what();
  }
  fs::remove(p);
}

}  // namespace
}  // namespace whale
