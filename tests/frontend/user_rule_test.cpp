// A user's pattern file changes the code patgrad generates, with no rebuild: a file in a folder, loaded at run time,
// adds a pass between two built-in stages that rewrites x * 2 as x + x. The kernel of a tensor program lowered with
// that library has no multiply left in its LLVM IR, and INTERP, running the rewritten program, still computes 2x.
#include "frontend/tensor.h"
#include "lowering/lowering.h"
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace patgrad;

namespace {

std::string message(llvm::Error e) { return e ? llvm::toString(std::move(e)) : ""; }

struct Lowered {
  lowering::Lowered out;
  std::vector<rewriter::Firing> firings;
};

Lowered lower_with(const lowering::Kernel& k, const rewriter::Library& lib, const char* target = "CPU") {
  Lowered l;
  auto out = lowering::lower_kernel(k, target, lib, {&l.firings});
  REQUIRE(message(out.takeError()) == "");
  l.out = std::move(*out);
  return l;
}

} // namespace

TEST_CASE("a user pattern file adds a pass that changes the generated code without a rebuild", "[observability]") {
  auto dir = std::filesystem::temp_directory_path() / "patgrad_user_rule_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "strength.pat") << "# x * 2 as x + x: exact for floats too (the same value, rounded once)\n"
                                         "group user_strength { [user_mul2_to_add] x<f32> * 2.0 => x + x; }\n"
                                         "pass strength = user_strength (order=post, fixpoint, after=sym);\n";
  auto lib = rewriter::load(rewriter::LoadOptions{.dirs = {dir.string()}, .use_env = false});
  REQUIRE(message(lib.takeError()) == "");
  std::vector<std::string> stages;
  for (const auto& p : (*lib)->passes) stages.push_back(p->name);
  auto at = std::find(stages.begin(), stages.end(), "strength");
  REQUIRE(at != stages.end());
  CHECK(*(at - 1) == "sym"); // between two built-in stages
  CHECK(*(at + 1) == "optimize");

  Tensor x = Tensor::from_vector<float>({1.5f, -2, 0.25f, 3, -0.0f}, {5}).realize();
  lowering::Schedule s = lowering::schedule({(x * 2.0).uop()}, runtime::new_buffer);
  REQUIRE(s.kernels.size() == 1);
  const lowering::Kernel& k = s.kernels[0];

  Lowered builtin = lower_with(k, rewriter::builtin_library());
  CHECK(builtin.out.source.find("fmul float") != std::string::npos);
  Lowered user = lower_with(k, **lib);
  INFO(user.out.source);
  CHECK(user.out.source.find("fmul") == std::string::npos);
  CHECK(user.out.source.find("fadd float") != std::string::npos);
  size_t fired = 0;
  for (const rewriter::Firing& f : user.firings) fired += f.rule->name == "user_mul2_to_add";
  CHECK(fired == 1);

  std::vector<runtime::Buffer*> bufs;
  for (const uops::UOp& b : k.buffers) bufs.push_back(&runtime::buffer(b));
  Lowered interp = lower_with(k, **lib, "INTERP");
  CHECK(interp.out.source.empty());
  REQUIRE(message(runtime::interpret(interp.out.program, bufs)) == "");
  const float* out = static_cast<const float*>(bufs[0]->data);
  CHECK(std::vector<float>(out, out + 5) == std::vector<float>{3, -4, 0.5f, 6, -0.0f});
  CHECK(std::signbit(out[4])); // -0 + -0 is -0, as -0 * 2
}
