// The arithmetic task: its worked reasoning ends in the right result, the
// checker reads answers as the model writes them, train and held-out
// problems never coincide, and a trained BPE tokenizer loads in whale's
// Tokenizer with R1's special tokens as single ids.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "tokenizer/tokenizer.h"
#include "train/arithmetic.h"
#include "train/bpe_trainer.h"
#include "train/chat_template.h"
#include "train/data.h"

namespace whale {
namespace {

TEST(ArithmeticTest, ReasoningEndsInTheResult) {
  std::mt19937_64 rng(1);
  for (int i = 0; i < 300; ++i) {
    const ArithProblem p = DrawProblem(rng, false);
    const std::string r = p.Reasoning();
    const std::string res = std::to_string(p.result());
    EXPECT_NE(r.rfind(res + "."), std::string::npos) << p.Question() << "\n" << r;
    EXPECT_TRUE(ArithCorrect(p, ArithResponse(p))) << ArithResponse(p);
  }
  ArithProblem p{94, 308, '-'};
  EXPECT_TRUE(ArithCorrect(p, "...</think>\n\n94-308=-214"));
  EXPECT_FALSE(ArithCorrect(p, "...</think>\n\n94-308=214"));
  EXPECT_FALSE(ArithCorrect(p, "no think block -214"));
}

TEST(ArithmeticTest, HeldOutIsDisjoint) {
  std::mt19937_64 a(2), b(3);
  std::set<std::string> train;
  for (int i = 0; i < 2000; ++i) train.insert(DrawProblem(a, false).Question());
  for (int i = 0; i < 300; ++i) EXPECT_EQ(train.count(DrawProblem(b, true).Question()), 0u);
}

TEST(BpeTrainerTest, LoadsInWhaleTokenizerWithSpecials) {
  const auto dir = std::filesystem::temp_directory_path() / ("whale_bpe_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream f(dir / "text.txt");
    for (int i = 0; i < 50; ++i) f << "In the beginning God created the heaven and the earth. What is 308+94?\n";
  }
  BpeOptions opt;
  opt.vocab_size = 300;
  std::ofstream(dir / "tokenizer.json") << TrainBpe({(dir / "text.txt").string()}, opt).dump();
  std::ofstream(dir / "tokenizer_config.json") << TrainedTokenizerConfig().dump();
  const Tokenizer t = Tokenizer::FromModelDir(dir.string());
  EXPECT_EQ(t.vocab_size(), 300u);
  EXPECT_EQ(t.bos_id(), 0);
  EXPECT_EQ(t.eos_id(), 1);
  const std::string text = "the heaven, 12+345";
  EXPECT_EQ(t.Decode(t.Encode(text, false)), text);
  const ArithProblem p{308, 94, '+'};
  const auto ids = t.Encode(ArithPrompt(p), false);
  ASSERT_GT(ids.size(), 4u);
  EXPECT_EQ(ids[0], 0);  // BOS
  EXPECT_EQ(ids[1], 2);  // <｜User｜>
  const auto resp = t.Encode(ArithResponse(p), false);
  EXPECT_EQ(resp.back(), 1);  // EOS
  EXPECT_NE(std::find(resp.begin(), resp.end(), 5), resp.end());  // </think>
  EXPECT_EQ(t.chat_template(), kR1ChatTemplate);

  // SFT rows train only the responses.
  const TrainBatch b = ArithmeticBatch(t, 2, 200, 7);
  int64_t trained = 0;
  for (size_t i = 0; i < b.labels.size(); ++i) {
    if (b.labels[i] >= 0) EXPECT_EQ(b.labels[i], b.next[i]);
    trained += b.labels[i] >= 0;
  }
  EXPECT_GT(trained, 50);
  EXPECT_LT(trained, int64_t(b.labels.size()));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace whale
