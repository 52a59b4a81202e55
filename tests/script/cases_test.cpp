// Every case of tests/script/cases/*.txt, run through the interpreter as file t.pg in tests/script/modules (where
// imports find their modules). A case is
//   === name
//   code
//   --- expect        the exact standard output (optional)
//   --- error         what standard error starts with: `t.pg:line:col: Kind: message`, maybe the caret lines
// Run one case with: script_tests -c 'name'
#include "frontend/script/script.h"
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace {

struct Case {
  std::string file, name, code, expect, error;
  bool has_expect = false, has_error = false;
};

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  std::vector<std::filesystem::path> files;
  for (auto& f : std::filesystem::directory_iterator(PATGRAD_SOURCE_DIR "/tests/script/cases"))
    if (f.path().extension() == ".txt") files.push_back(f.path());
  std::sort(files.begin(), files.end());
  for (auto& path : files) {
    std::ifstream in(path);
    std::string line, *block = nullptr;
    while (std::getline(in, line)) {
      if (line.starts_with("=== ")) {
        cases.push_back(Case{path.filename().string(), line.substr(4)});
        block = &cases.back().code;
      } else if (line == "--- expect" && !cases.empty()) {
        block = &cases.back().expect, cases.back().has_expect = true;
      } else if (line == "--- error" && !cases.empty()) {
        block = &cases.back().error, cases.back().has_error = true;
      } else if (block) {
        *block += line + "\n";
      }
    }
  }
  return cases;
}

} // namespace

TEST_CASE("script cases print what Python prints", "[script]") {
  std::filesystem::current_path(PATGRAD_SOURCE_DIR "/tests/script/modules");
  std::vector<Case> cases = load_cases();
  REQUIRE(cases.size() >= 190);
  int errors = 0;
  for (const Case& c : cases) {
    errors += c.has_error;
    DYNAMIC_SECTION(c.name) {
      INFO("case '" << c.name << "' in " << c.file);
      INFO("code:\n" << c.code);
      std::ostringstream out, err;
      int rc = patgrad::script::run_source("t.pg", c.code, out, err);
      if (c.has_expect) CHECK(out.str() == c.expect);
      if (c.has_error) {
        CHECK(rc == 1);
        CHECK(err.str().substr(0, c.error.size()) == c.error);
      } else {
        CHECK(err.str() == "");
        CHECK(rc == 0);
      }
    }
  }
  CHECK(errors >= 40);
}
