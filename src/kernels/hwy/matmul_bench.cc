// Matrix-vector (decode) speed per weight type as GB/s of weights streamed,
// beside the read and memcpy bandwidth measured in the same run; and prefill
// (n = 128) speed as GFLOP/s. Weights cycle through a pool of copies larger
// than the last-level cache, so every matvec reads DRAM as decode does.
//   ./build/whale_bench --benchmark_filter='Read|Memcpy|MatVec' --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "kernels/hwy/matmul.h"
#include "kernels/ops.h"
#include "kernels/quant.h"

namespace whale {
namespace {

constexpr int64_t kPoolBytes = int64_t(512) << 20;  // about 2x the 260 MiB L3 this VM reports

ThreadPool& Pool(int threads) {
  static std::map<int, std::unique_ptr<ThreadPool>> pools;
  auto& p = pools[threads];
  if (!p) p = std::make_unique<ThreadPool>(threads);
  return *p;
}

// One matrix of `dtype` (valid values), copied until kPoolBytes is filled.
struct WeightPool {
  std::vector<uint8_t> bytes;
  std::vector<float> scale;
  std::vector<WeightView> views;
};

WeightPool& Weights(DType dtype, int64_t rows, int64_t cols) {
  static std::map<std::tuple<int, int64_t, int64_t>, std::unique_ptr<WeightPool>> cache;
  auto& wp = cache[{int(dtype), rows, cols}];
  if (wp) return *wp;
  cache.clear();  // one pool resident at a time
  auto& fresh = cache[{int(dtype), rows, cols}];
  fresh = std::make_unique<WeightPool>();
  WeightPool& p = *fresh;
  const int64_t rb = RowBytes(dtype, cols), mat = rows * rb;
  std::vector<uint8_t> one(mat);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = normal(rng);
    uint8_t* out = one.data() + r * rb;
    if (dtype == DType::kF8E4M3) {
      for (int64_t c = 0; c < cols; ++c) out[c] = uint8_t(rng() & 0x7e);  // no NaN
    } else if (dtype == DType::kF32) {
      std::memcpy(out, row.data(), 4 * cols);
    } else {
      QuantizeRow(dtype, row.data(), out, cols);
    }
  }
  if (dtype == DType::kF8E4M3) p.scale.assign(((rows + 127) / 128) * ((cols + 127) / 128), 1e-2f);
  const int64_t copies = std::max<int64_t>(1, kPoolBytes / mat);
  p.bytes.resize(copies * mat);
  for (int64_t i = 0; i < copies; ++i) {
    std::memcpy(p.bytes.data() + i * mat, one.data(), mat);
    WeightView v{dtype, rows, cols, p.bytes.data() + i * mat};
    if (dtype == DType::kF8E4M3) v.scale = p.scale.data(), v.scale_block = 128;
    p.views.push_back(v);
  }
  return p;
}

// GB/s of one SIMD sum pass over kPoolBytes, split over the pool.
void BM_Read(benchmark::State& state) {
  ThreadPool& pool = Pool(int(state.range(0)));
  static std::vector<float> buf(kPoolBytes / 4, 1.0f);
  const int64_t n = int64_t(buf.size());
  double sink = 0;
  for (auto _ : state) {
    std::vector<double> part(pool.size());
    pool.ParallelFor(n, [&](int64_t b, int64_t e) { part[b * pool.size() / n] = SumFloatsHwy(buf.data() + b, e - b); });
    for (double s : part) sink += s;
  }
  benchmark::DoNotOptimize(sink);
  state.counters["GB/s"] = benchmark::Counter(double(n) * 4 * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Read)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// memcpy of kPoolBytes/2 (STREAM convention: bytes read + bytes written).
void BM_Memcpy(benchmark::State& state) {
  ThreadPool& pool = Pool(int(state.range(0)));
  static std::vector<uint8_t> src(kPoolBytes / 2, 1), dst(kPoolBytes / 2, 0);
  const int64_t n = int64_t(src.size());
  for (auto _ : state) {
    pool.ParallelFor(n, [&](int64_t b, int64_t e) { std::memcpy(dst.data() + b, src.data() + b, e - b); });
    benchmark::ClobberMemory();
  }
  state.counters["GB/s"] = benchmark::Counter(double(n) * 2 * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Memcpy)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// y[rows] = W·x for a V2-Lite-sized matrix (2048 x 2048; an expert is 1408 x 2048).
template <DType kType, bool kRef = false>
void BM_MatVec(benchmark::State& state) {
  ThreadPool& pool = Pool(int(state.range(0)));
  const int64_t rows = 2048, cols = 2048;
  WeightPool& wp = Weights(kType, rows, cols);
  std::vector<float> x(cols, 0.5f), y(rows);
  size_t i = 0;
  for (auto _ : state) {
    const WeightView& w = wp.views[i++ % wp.views.size()];
    if (kRef) MatMulRef(x.data(), 1, w, y.data(), &pool);
    else MatMul(x.data(), 1, w, y.data(), &pool);
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = double(rows * RowBytes(kType, cols));
  state.counters["GB/s"] = benchmark::Counter(bytes * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MatVec<DType::kF32>)->Name("MatVec/f32")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatVec<DType::kBF16>)->Name("MatVec/bf16")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatVec<DType::kF16>)->Name("MatVec/f16")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatVec<DType::kF8E4M3>)->Name("MatVec/f8_e4m3")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatVec<DType::kQ8_0>)->Name("MatVec/q8_0")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatVec<DType::kQ4_K>)->Name("MatVec/q4_k")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatVec<DType::kQ6_K>)->Name("MatVec/q6_k")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatVec<DType::kQ8_0, true>)->Name("MatVecRef/q8_0")->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MatVec<DType::kBF16, true>)->Name("MatVecRef/bf16")->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);

// Prefill-shaped product: 128 tokens through a 2048 x 2048 matrix.
template <DType kType>
void BM_MatMul(benchmark::State& state) {
  ThreadPool& pool = Pool(int(state.range(0)));
  const int64_t rows = 2048, cols = 2048, n = 128;
  WeightPool& wp = Weights(kType, rows, cols);
  std::vector<float> x(n * cols), y(n * rows);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto& v : x) v = normal(rng);
  size_t i = 0;
  for (auto _ : state) {
    MatMul(x.data(), n, wp.views[i++ % wp.views.size()], y.data(), &pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * double(rows * cols * n) * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MatMul<DType::kBF16>)->Name("MatMul128/bf16")->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MatMul<DType::kF8E4M3>)->Name("MatMul128/f8_e4m3")->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MatMul<DType::kQ8_0>)->Name("MatMul128/q8_0")->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MatMul<DType::kQ4_K>)->Name("MatMul128/q4_k")->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace whale
