// The engine against a plain one-sequence loop on a fixture model: batching,
// chunked prefill, prefix reuse and stopping must not change any token.
#include "runtime/engine.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "model/model.h"

namespace whale {
namespace {

using namespace std::chrono_literals;

// Token i reads "<i>", so the text says exactly which tokens came out.
struct TagText : TokenText {
  std::string Decode(std::span<const int32_t> ids) const override {
    std::string s;
    for (int32_t i : ids) s += "<" + std::to_string(i) + ">";
    return s;
  }
};

const Model& Fixture() {
  static auto m = LoadModel(std::string(WHALE_SHARED_DIR) + "/fixtures/v2-lite", false);
  return *m;
}

std::vector<int32_t> Prompt(int n, int salt) {
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back(int32_t((i * 37 + salt * 101 + 5) % 1500 + 2));
  return p;
}

// Reference: one sequence, whole prompt at once, then one token at a time.
std::string Greedy(const std::vector<int32_t>& prompt, int n) {
  const Model& m = Fixture();
  Transformer tf(m, &DefaultPool());
  LatentCache cache(m.config, tf.cache_layers(), 1, 128);
  const int64_t V = m.config.vocab_size;
  std::vector<int32_t> seq(prompt.size(), 0), pos(prompt.size());
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = int32_t(i);
  std::vector<float> logits(prompt.size() * V);
  tf.Forward({prompt, seq, pos}, cache, logits.data());
  const float* last = &logits[(prompt.size() - 1) * V];
  std::string out;
  int32_t p = int32_t(prompt.size());
  for (int k = 0; k < n; ++k) {
    int32_t t = int32_t(std::max_element(last, last + V) - last);
    out += "<" + std::to_string(t) + ">";
    const int32_t tok[] = {t}, s0[] = {0}, ps[] = {p++};
    tf.Forward({tok, s0, ps}, cache, logits.data());
    last = logits.data();
  }
  return out;
}

struct Result {
  std::string text;
  GenerateEvent final;
};

Result Drain(Job& job) {
  Result r;
  GenerateEvent ev;
  while (true) {
    EXPECT_TRUE(job.Next(&ev, 30s)) << "engine stalled";
    r.text += ev.text;
    if (ev.done) break;
  }
  r.final = ev;
  return r;
}

GenerateRequest Req(std::vector<int32_t> prompt, int max_tokens) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.sampling.temperature = 0;
  r.max_tokens = max_tokens;
  r.ignore_eos = true;
  return r;
}

TEST(Engine, MatchesSingleSequenceGreedy) {
  TagText tt;
  Engine e(Fixture(), tt, {.slots = 2, .max_len = 128, .max_batch_tokens = 8}, &DefaultPool());
  auto p = Prompt(21, 1);  // 21 > 8: prefill takes three chunks
  Result r = Drain(*e.Submit(Req(p, 10)));
  EXPECT_EQ(r.text, Greedy(p, 10));
  EXPECT_EQ(r.final.finish, FinishReason::kLength);
  EXPECT_EQ(r.final.prompt_tokens, 21);
  EXPECT_EQ(r.final.completion_tokens, 10);
}

TEST(Engine, ConcurrentRequestsDoNotDisturbEachOther) {
  TagText tt;
  Engine e(Fixture(), tt, {.slots = 3, .max_len = 128, .max_batch_tokens = 16}, &DefaultPool());
  std::vector<std::shared_ptr<Job>> jobs;
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 5; ++i) {  // 5 requests, 3 slots: two wait and join mid-stream
    prompts.push_back(Prompt(5 + 7 * i, i + 2));
    jobs.push_back(e.Submit(Req(prompts.back(), 6 + i)));
    std::this_thread::sleep_for(2ms);
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Drain(*jobs[i]).text, Greedy(prompts[i], 6 + i)) << i;
  EXPECT_GT(e.stats().steps, 0);
}

TEST(Engine, NextTurnReusesThePrefix) {
  TagText tt;
  Engine e(Fixture(), tt, {.slots = 2, .max_len = 128, .max_batch_tokens = 32}, &DefaultPool());
  auto first = Prompt(20, 3);
  Result a = Drain(*e.Submit(Req(first, 4)));
  EXPECT_EQ(a.final.cached_tokens, 0);
  auto second = first;
  for (int32_t t : Prompt(6, 9)) second.push_back(t);
  Result b = Drain(*e.Submit(Req(second, 5)));
  EXPECT_EQ(b.final.cached_tokens, 20);
  EXPECT_EQ(b.text, Greedy(second, 5));
  // The same prompt again: everything but the last token comes from the cache.
  Result c = Drain(*e.Submit(Req(second, 5)));
  EXPECT_EQ(c.final.cached_tokens, 25);
  EXPECT_EQ(c.text, b.text);
}

TEST(Engine, StopStringSpanningTokens) {
  TagText tt;
  Engine e(Fixture(), tt, {.slots = 1, .max_len = 128, .max_batch_tokens = 32}, &DefaultPool());
  auto p = Prompt(9, 4);
  const std::string full = Greedy(p, 8);
  // The end of token 3's text and the start of token 4's.
  size_t cut = 0;
  for (int k = 0; k < 3; ++k) cut = full.find('>', cut) + 1;
  const size_t next = full.find('>', cut) + 1;
  auto req = Req(p, 8);
  req.stop = {full.substr(next - 2, 4)};  // "N><M" style, spanning two tokens
  Result r = Drain(*e.Submit(req));
  EXPECT_EQ(r.final.finish, FinishReason::kStop);
  EXPECT_EQ(r.text, full.substr(0, next - 2));
}

TEST(Engine, SeededSamplingIsReproducible) {
  TagText tt;
  Engine e(Fixture(), tt, {.slots = 2, .max_len = 128, .max_batch_tokens = 32}, &DefaultPool());
  auto req = Req(Prompt(7, 5), 12);
  req.sampling.temperature = 1.0f;
  req.sampling.top_p = 0.95f;
  req.sampling.seed = 1234;
  auto j1 = e.Submit(req);
  auto j2 = e.Submit(req);  // decoded side by side in one batch
  EXPECT_EQ(Drain(*j1).text, Drain(*j2).text);
}

TEST(Engine, RefusesWhatCannotRun) {
  TagText tt;
  Engine e(Fixture(), tt, {.slots = 1, .max_len = 16, .max_batch_tokens = 8, .max_queue = 1}, &DefaultPool());
  EXPECT_THROW(e.Submit(Req(Prompt(16, 1), 1)), ContextError);
  EXPECT_THROW(e.Submit(Req({}, 1)), Error);
  EXPECT_THROW(e.Submit(Req({5000}, 1)), Error);
  // Generation stops at the end of the context.
  Result r = Drain(*e.Submit(Req(Prompt(10, 1), 100)));
  EXPECT_EQ(r.final.finish, FinishReason::kLength);
  EXPECT_EQ(r.final.completion_tokens, 7);  // positions 10..15 fed, plus the last sample
}

TEST(Engine, CancelFreesTheSlotAndQueueLimits) {
  TagText tt;
  Engine e(Fixture(), tt, {.slots = 1, .max_len = 4096, .max_batch_tokens = 8, .max_queue = 1}, &DefaultPool());
  auto long_job = e.Submit(Req(Prompt(5, 1), 100000));
  GenerateEvent ev;
  ASSERT_TRUE(long_job->Next(&ev, 30s));  // running
  auto waiting = e.Submit(Req(Prompt(5, 2), 3));
  EXPECT_THROW(e.Submit(Req(Prompt(5, 3), 3)), QueueFullError);
  long_job->Cancel();
  Result r = Drain(*long_job);
  EXPECT_EQ(r.final.finish, FinishReason::kCancelled);
  EXPECT_EQ(Drain(*waiting).final.finish, FinishReason::kLength);
}

TEST(Engine, ShutdownCancelsInFlight) {
  TagText tt;
  auto e = std::make_unique<Engine>(Fixture(), tt, EngineOptions{.slots = 1, .max_len = 128, .max_batch_tokens = 8},
                                    &DefaultPool());
  auto a = e->Submit(Req(Prompt(5, 1), 100000));
  auto b = e->Submit(Req(Prompt(5, 2), 100000));
  e->Shutdown();
  EXPECT_EQ(Drain(*a).final.finish, FinishReason::kCancelled);
  EXPECT_EQ(Drain(*b).final.finish, FinishReason::kCancelled);
  EXPECT_THROW(e->Submit(Req(Prompt(5, 3), 1)), Error);
}

}  // namespace
}  // namespace whale
