// A user's pattern file changes the code patgrad generates, with no rebuild: a file in a folder, loaded at run time,
// adds a pass that rewrites x * 2 as x + x. The kernel of a tensor program lowered with that library has no multiply
// left in its LLVM IR, and INTERP, running the rewritten program, still computes 2x.
#include "frontend/tensor.h"
#include "renderers/renderers.h"
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace patgrad;

namespace {

std::string message(llvm::Error e) { return e ? llvm::toString(std::move(e)) : ""; }

struct Lowered {
  std::vector<uops::UOp> program;
  std::string ir;
  std::vector<rewriter::Firing> firings;
};

Lowered lower_with(const lowering::Kernel& k, const rewriter::Library& lib) {
  Lowered out;
  auto ast = lowering::lower(k.ast, lib, {&out.firings});
  REQUIRE(message(ast.takeError()) == "");
  out.program = lowering::linearize(*ast);
  auto ir = renderers::render_llvm(out.program, k.name, lib);
  REQUIRE(message(ir.takeError()) == "");
  out.ir = *ir;
  return out;
}

} // namespace

TEST_CASE("a user pattern file adds a pass that changes the generated code without a rebuild", "[observability]") {
  auto dir = std::filesystem::temp_directory_path() / "patgrad_user_rule_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "strength.pat") << "# x * 2 as x + x: exact for floats too (the same value, rounded once)\n"
                                         "group user_strength { [user_mul2_to_add] x<f32> * 2.0 => x + x; }\n"
                                         "pass strength = user_strength (order=post, fixpoint);\n";
  auto lib = rewriter::load(rewriter::LoadOptions{.dirs = {dir.string()}, .use_env = false});
  REQUIRE(message(lib.takeError()) == "");

  Tensor x = Tensor::from_vector<float>({1.5f, -2, 0.25f, 3, -0.0f}, {5}).realize();
  lowering::Schedule s = lowering::schedule({(x * 2.0).uop()}, runtime::new_buffer);
  REQUIRE(s.kernels.size() == 1);
  const lowering::Kernel& k = s.kernels[0];

  Lowered builtin = lower_with(k, rewriter::builtin_library());
  CHECK(builtin.ir.find("fmul float") != std::string::npos);
  Lowered user = lower_with(k, **lib);
  INFO(user.ir);
  CHECK(user.ir.find("fmul") == std::string::npos);
  CHECK(user.ir.find("fadd float") != std::string::npos);
  size_t fired = 0;
  for (const rewriter::Firing& f : user.firings) fired += f.rule->name == "user_mul2_to_add";
  CHECK(fired == 1);

  std::vector<runtime::Buffer*> bufs;
  for (const uops::UOp& b : k.buffers) bufs.push_back(&runtime::buffer(b));
  REQUIRE(message(runtime::interpret(user.program, bufs)) == "");
  const float* out = static_cast<const float*>(bufs[0]->data);
  CHECK(std::vector<float>(out, out + 5) == std::vector<float>{3, -4, 0.5f, 6, -0.0f});
  CHECK(std::signbit(out[4])); // -0 + -0 is -0, as -0 * 2
}
