// Pipeline declarations: native stages, passes placed before or after another stage, passes for one target, and
// target declarations with their render group.
#include "rewriter/rewriter.h"
#include "tests/rewriter/library.h"
#include <catch2/catch.hpp>

using namespace patgrad::rewriter;

namespace {

// with a group g for passes to run
std::unique_ptr<Library> lib_of(const std::string& text) {
  return patgrad::testing::lib_of("group g { [add0] x<index> + 0 => x; }\n" + text);
}

std::string order(const Library& lib) {
  std::string out;
  for (auto& p : lib.passes) out += (out.empty() ? "" : " ") + p->name;
  return out;
}

} // namespace

TEST_CASE("a native pass is a named stage with no groups", "[pipeline]") {
  auto lib = lib_of("pass a = g;\npass linearize = native (stage=kernel);\npass b = g (stage=tensor);");
  CHECK(order(*lib) == "a linearize b");
  const Pass* n = lib->pass("linearize");
  REQUIRE(n);
  CHECK(n->native);
  CHECK(n->groups.empty());
  CHECK(n->stage == "kernel");
  CHECK(lib->pass("b")->stage == "tensor");
  CHECK(!lib->pass("a")->native);
}

TEST_CASE("before= and after= put a pass next to an earlier stage, in the order written", "[pipeline]") {
  auto lib = lib_of("pass a = g;\npass b = g;\npass c = g;\n"
                    "pass after_a = g (after=a);\npass before_a = g (before=a);\npass after_c = native (after=c);\n"
                    "pass after_a2 = g (after=a);");
  // each goes just next to its stage: a later after=a lands between a and the earlier one
  CHECK(order(*lib) == "before_a a after_a2 after_a b c after_c");
}

TEST_CASE("a user file loaded after the built-ins adds a pass between two built-in stages", "[pipeline]") {
  auto lib = load_text("mine.pat", "pass mine = symbolic (before=lower);", true);
  bool good = bool(lib);
  INFO((good ? std::string() : llvm::toString(lib.takeError())));
  REQUIRE(good);
  std::vector<std::string> names;
  for (auto& p : (*lib)->passes) names.push_back(p->name);
  auto at = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) - names.begin(); };
  CHECK(at("mine") + 1 == at("lower"));
  CHECK(at("sym") < at("mine"));
}

TEST_CASE("target= limits a pass to one declared target; a target names its render group", "[pipeline]") {
  auto lib =
      lib_of("render llvm { [ll_add] ADD(a, b) => \"{self} = add {a}, {b}\"; }\n"
             "pass everywhere = g;\npass cpu_only = g (target=CPU);\npass interp_only = native (target=interp);\n"
             "target CPU (render=llvm);\ntarget interp;");
  CHECK(lib->pass("everywhere")->target.empty());
  CHECK(lib->pass("cpu_only")->target == "CPU");
  CHECK(lib->pass("interp_only")->target == "interp");
  REQUIRE(lib->targets.size() == 2);
  CHECK(lib->targets.at("CPU") == lib->group("llvm"));
  CHECK(lib->targets.at("interp") == nullptr);
}

TEST_CASE("a target may name its render group above the group; a stage may be called render", "[pipeline]") {
  auto lib = lib_of("target CPU (render=llvm);\nrender llvm { [ll_add] ADD(a, b) => \"{self} = add {a}, {b}\"; }\n"
                    "pass render = native;\npass before_render = g (before=render);");
  CHECK(lib->targets.at("CPU") == lib->group("llvm"));
  CHECK(order(*lib) == "before_render render");
}
