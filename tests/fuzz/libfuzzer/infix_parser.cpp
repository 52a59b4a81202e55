// libFuzzer target: the infix expression parser of `patgrad rewrite` (uops::parse_infix) on arbitrary bytes. Every
// input must give a node whose printed text reads back to a fixed point, or a located error (line:col, the line and
// a caret) with no byte that does not print; crashes, hangs and undefined behavior are bugs.
#include "uops/infix.h"
#include <cstddef>
#include <cstdint>

namespace {

const patgrad::uops::VarBounds bounds = {{"a", {0, 10}}, {"b", {-5, 5}}, {"n", {INT64_MIN, INT64_MAX}}};

bool prints(char c) { return c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f); }

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto u = patgrad::uops::parse_infix(text, bounds);
  if (!u) {
    std::string error = llvm::toString(u.takeError());
    if (error.empty() || error[0] < '1' || error[0] > '9' || error.find(": error: ") == std::string::npos ||
        error.back() != '^')
      __builtin_trap(); // an error says where and why, then shows the place
    for (char c : error)
      if (!prints(c)) __builtin_trap();
    return 0;
  }
  // infix() spells x+y*-1 as x-y, which reads back as SUB: after one round trip the text is a fixed point
  std::string printed = patgrad::uops::infix(*u);
  auto back = patgrad::uops::parse_infix(printed, bounds);
  if (!back) __builtin_trap();
  std::string again = patgrad::uops::infix(*back);
  auto twice = patgrad::uops::parse_infix(again, bounds);
  if (!twice || patgrad::uops::infix(*twice) != again) __builtin_trap();
  return 0;
}
