// Stop strings over streamed text: a stop string may span any number of
// tokens, so text that could be the start of one is held back until it is
// known either to complete a stop string or not to.
#pragma once
#include <string>
#include <vector>

namespace whale {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops);

  // Adds generated text. Returns the text now safe to emit; sets *stopped
  // when a stop string completed (the returned text then ends just before it,
  // and the stop string itself is never emitted).
  std::string Push(const std::string& text, bool* stopped);
  // End of generation for another reason: everything held is plain text.
  std::string Flush();

 private:
  std::vector<std::string> stops_;
  std::string held_;
};

}  // namespace whale
