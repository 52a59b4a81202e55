// libFuzzer target: the pattern language (rewriter::load_text: lexer, parser and checker) on arbitrary bytes,
// without the built-in files so that each input is checked on its own. Errors are fine; crashes are bugs.
#include "rewriter/rewriter.h"
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto lib = patgrad::rewriter::load_text("fuzz.pat", std::string(reinterpret_cast<const char*>(data), size), false);
  if (!lib) llvm::consumeError(lib.takeError());
  return 0;
}
