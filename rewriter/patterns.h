// The built-in pattern files, embedded at build time by embed.cmake.
#pragma once
#include <string>
#include <vector>

namespace patgrad::rewriter {

struct EmbeddedFile {
  std::string name, text;
};
const std::vector<EmbeddedFile>& embedded_patterns();

} // namespace patgrad::rewriter
