#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <map>

#include "io/error.h"

namespace whale {
namespace {

std::vector<float> Logits() { return {1.0f, 3.0f, 2.0f, 0.5f, 2.9f, -1.0f}; }

TEST(Sampler, GreedyPicksArgmax) {
  SamplingParams p;
  p.temperature = 0;
  Sampler s(p, 6);
  auto l = Logits();
  EXPECT_EQ(s.Sample(l.data()), 1);
}

TEST(Sampler, SeedIsReproducible) {
  SamplingParams p;
  p.seed = 42;
  Sampler a(p, 6), b(p, 6);
  for (int i = 0; i < 50; ++i) {
    auto l1 = Logits(), l2 = Logits();
    EXPECT_EQ(a.Sample(l1.data()), b.Sample(l2.data()));
  }
}

TEST(Sampler, TopKOneIsGreedy) {
  SamplingParams p;
  p.top_k = 1;
  p.seed = 1;
  Sampler s(p, 6);
  for (int i = 0; i < 20; ++i) {
    auto l = Logits();
    EXPECT_EQ(s.Sample(l.data()), 1);
  }
}

TEST(Sampler, TopPKeepsNucleusOnly) {
  // Probabilities ~ {0.05, 0.37, 0.14, 0.03, 0.34, 0.01}: top_p 0.5 keeps tokens 1 and 4.
  SamplingParams p;
  p.top_p = 0.5f;
  p.seed = 7;
  Sampler s(p, 6);
  std::map<int, int> seen;
  for (int i = 0; i < 400; ++i) {
    auto l = Logits();
    ++seen[s.Sample(l.data())];
  }
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_GT(seen[1], 100);
  EXPECT_GT(seen[4], 100);
}

TEST(Sampler, MinPDropsUnlikely) {
  SamplingParams p;
  p.min_p = 0.5f;  // keeps p >= 0.5 * p_max: tokens 1, 2 (e^-1 = 0.37 < 0.5 drops 2), 4
  p.seed = 3;
  Sampler s(p, 6);
  for (int i = 0; i < 300; ++i) {
    auto l = Logits();
    const int t = s.Sample(l.data());
    EXPECT_TRUE(t == 1 || t == 4) << t;
  }
}

TEST(Sampler, TemperatureSpreadsChoices) {
  SamplingParams p;
  p.temperature = 5.0f;
  p.seed = 11;
  Sampler s(p, 6);
  std::map<int, int> seen;
  for (int i = 0; i < 600; ++i) {
    auto l = Logits();
    ++seen[s.Sample(l.data())];
  }
  EXPECT_EQ(seen.size(), 6u);
}

TEST(Sampler, PenaltiesDiscourageRepeats) {
  SamplingParams p;
  p.temperature = 0;
  p.presence_penalty = 2.0f;  // 3 - 2 = 1 < 2.9: the second pick moves to token 4
  Sampler s(p, 6);
  auto l = Logits();
  EXPECT_EQ(s.Sample(l.data()), 1);
  l = Logits();
  EXPECT_EQ(s.Sample(l.data()), 4);

  SamplingParams r;
  r.temperature = 0;
  r.repetition_penalty = 2.0f;
  Sampler rs(r, 6);
  const int32_t prompt[] = {1};
  rs.AddPrompt(prompt);  // 3 / 2 = 1.5 < 2.9
  l = Logits();
  EXPECT_EQ(rs.Sample(l.data()), 4);

  SamplingParams f;
  f.temperature = 0;
  f.frequency_penalty = 0.06f;  // grows per repeat: 3 - 0.06k drops below 2.9 after 2 picks
  Sampler fs(f, 6);
  std::vector<int> picks;
  for (int i = 0; i < 4; ++i) {
    l = Logits();
    picks.push_back(fs.Sample(l.data()));
  }
  EXPECT_EQ(picks, (std::vector<int>{1, 1, 4, 1}));
}

TEST(Sampler, ValidateNamesTheParameter) {
  SamplingParams p;
  p.top_p = 0;
  try {
    p.Validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("top_p"), std::string::npos);
  }
  p = {};
  p.temperature = -1;
  EXPECT_THROW(p.Validate(), Error);
}

}  // namespace
}  // namespace whale
