#include "serve/web_page.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace whale::serve {
namespace {

TEST(WebPage, EmbeddedCopyMatchesSource) {
  std::ifstream f(std::string(WHALE_SOURCE_DIR) + "/src/serve/web/index.html", std::ios::binary);
  ASSERT_TRUE(f) << "index.html not found";
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_TRUE(WebPage() == ss.str());
}

TEST(WebPage, FetchesNothingFromOutside) {
  const std::string_view page = WebPage();
  // The only URLs are the ones a link renderer checks for.
  EXPECT_EQ(page.find("src=\"http"), std::string_view::npos);
  EXPECT_EQ(page.find("href=\"http"), std::string_view::npos);
  EXPECT_EQ(page.find("src=\"//"), std::string_view::npos);
  for (const char* must : {"id=\"input\"", "id=\"stop\"", "id=\"system\"", "id=\"temperature\"", "id=\"max-tokens\"",
                           "reasoning_content", "details"})
    EXPECT_NE(page.find(must), std::string_view::npos) << must;
}

}  // namespace
}  // namespace whale::serve
