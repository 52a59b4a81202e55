// A library from pattern text for the rewriter's tests: the prelude, then the text, without the built-in files. A
// load error fails the test with its diagnostics.
#pragma once
#include "rewriter/rewriter.h"
#include <catch2/catch.hpp>

namespace patgrad::testing {

inline std::unique_ptr<rewriter::Library> lib_of(const std::string& text) {
  auto lib = rewriter::load_text("test.pat", "include \"prelude.pat\";\n" + text, false);
  bool good = bool(lib);
  INFO((good ? std::string() : llvm::toString(lib.takeError())));
  REQUIRE(good);
  return std::move(*lib);
}

} // namespace patgrad::testing
