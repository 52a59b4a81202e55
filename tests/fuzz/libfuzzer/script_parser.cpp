// libFuzzer target: the script lexer and parser (f-strings included) on arbitrary bytes. Every input must give a
// tree or a located syntax error; crashes, hangs, leaks and undefined behavior are bugs.
#include "frontend/script/ast.h"
#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  patgrad::script::SyntaxError err;
  auto mod = patgrad::script::parse_module("fuzz.pg", std::string(reinterpret_cast<const char*>(data), size), err);
  if (!mod && (err.loc.line < 1 || err.message.empty())) __builtin_trap(); // an error must say where and why
  return 0;
}
