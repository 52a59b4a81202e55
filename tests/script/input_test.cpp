// Script input at its limits: huge literals, a byte-order mark, REPL input that ends mid-block.
#include "frontend/script/script.h"
#include <catch2/catch.hpp>
#include <sstream>

using namespace patgrad::script;

TEST_CASE("a 20 MB string literal lexes and runs", "[script]") {
  // lexing is linear: about 1 s for 50 MB (the literal is copied a few times, never per character)
  const size_t n = 20u << 20;
  std::string source = "x = \"" + std::string(n, 'a') + "\"\nprint(len(x), x == 'a' * " + std::to_string(n) + ")\n";
  std::ostringstream out, err;
  CHECK(run_source("t.pg", source, out, err) == 0);
  CHECK(err.str() == "");
  CHECK(out.str() == std::to_string(n) + " True\n");
}

TEST_CASE("a script may start with a UTF-8 byte-order mark", "[script]") {
  std::ostringstream out, err;
  CHECK(run_source("t.pg", "\xEF\xBB\xBFx = 1 $ 2\n", out, err) == 1);
  CHECK(err.str().starts_with("t.pg:1:7: SyntaxError: invalid character '$'\nx = 1 $ 2\n      ^\n")); // as Python's
  std::ostringstream out2, err2;
  CHECK(run_source("t.pg", "\xEF\xBB\xBFprint(1)\n", out2, err2) == 0);
  CHECK(out2.str() == "1\n");
}

TEST_CASE("the REPL runs a block left open at the end of input as Python does", "[script]") {
  auto repl_of = [](const std::string& input) {
    std::istringstream in(input);
    std::ostringstream out;
    repl(in, out, false);
    return out.str();
  };
  CHECK(repl_of("if 1:\n  print(5)") == "5\n");
  CHECK(repl_of("if 1:\n  print(5)\n") == "5\n");
  CHECK(repl_of("for i in range(2):\n    print(i)\n") == "0\n1\n");
  CHECK(repl_of("x = (1,\n").find("<stdin>:2:1: SyntaxError") == 0);
}
