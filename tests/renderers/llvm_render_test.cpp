// renderers::render with the built-in `render llvm` group (patterns/target_cpu.pat) and llvm.cpp's frame: each
// structural op renders through its rule; a node no rule covers is an error naming its op; and the IR of a small
// hand-built kernel, through the CPU's stages, compiles and computes the right values.
#include "renderers/renderers.h"
#include "runtime/cpu_jit.h"
#include "tests/lowering/kernel_graphs.h"
#include <regex>

using namespace patgrad;
using namespace patgrad::testing;

namespace {

const rewriter::Group& llvm_group() {
  const rewriter::Library& lib = rewriter::builtin_library();
  auto t = lib.targets.find("CPU");
  REQUIRE(t != lib.targets.end());
  REQUIRE(t->second);
  REQUIRE(t->second->name == "llvm");
  return *t->second;
}

std::string render(const std::vector<UOp>& program, const std::string& name = "k") {
  return expect_ok(renderers::render(program, name, rewriter::builtin_library(), llvm_group()));
}

// The body of a rendered function: the lines between "entry:" and "ret void".
std::string body(const std::vector<UOp>& program) {
  std::string text = render(program);
  size_t from = text.find("entry:\n"), to = text.find("  ret void\n");
  REQUIRE(from != std::string::npos);
  REQUIRE(to != std::string::npos);
  return text.substr(from + 7, to - from - 7);
}

bool matches(const std::string& text, const std::string& re) { return std::regex_search(text, std::regex(re)); }

} // namespace

TEST_CASE("render llvm: the function frame", "[renderers]") {
  CHECK(render({}, "E_4") == "define void @E_4(ptr noalias %bufs, i64 %start, i64 %end) {\nentry:\n  ret void\n}\n");
}

TEST_CASE("render llvm: a DEFINE_GLOBAL is its parameter's pointer, loaded from %bufs", "[renderers]") {
  CHECK(body({global(2)}) == "  %v0.p = getelementptr ptr, ptr %bufs, i64 2\n  %v0 = load ptr, ptr %v0.p\n");
}

TEST_CASE("render llvm: a RANGE opens a loop, its END closes it", "[renderers]") {
  UOp r = range(0, 8);
  std::string b = body({r, end(store(global(0), r, f32(1)), {r})});
  INFO(b);
  // preheader, head with the index's phi and test, body
  CHECK(b.find("  br label %v0.pre\nv0.pre:\n  br label %v0.head\nv0.head:\n"
               "  %v0 = phi i64 [0, %v0.pre], [%v0.next, %v0.latch]\n"
               "  %v0.c = icmp slt i64 %v0, 8\n"
               "  br i1 %v0.c, label %v0.body, label %v0.exit\nv0.body:\n") == 0);
  // the latch steps the index and goes back to the head; the exit follows
  CHECK(b.find("  br label %v0.latch\nv0.latch:\n  %v0.next = add i64 %v0, 1\n  br label %v0.head\nv0.exit:\n") !=
        std::string::npos);
}

TEST_CASE("render llvm: a thread RANGE runs over [%start, %end)", "[renderers]") {
  UOp t = UOp::make(Op::RANGE, DType::index, {idx(6), UOp::var("start", 0, 6), UOp::var("end", 0, 6)}, int64_t(0));
  std::string b = body({UOp::var("start", 0, 6), UOp::var("end", 0, 6), t});
  INFO(b);
  CHECK(b.find("%v0 = phi i64 [%start, %v0.pre], [%v0.next, %v0.latch]") != std::string::npos);
  CHECK(b.find("%v0.c = icmp slt i64 %v0, %end") != std::string::npos);
  CHECK(b.find(", 6") == std::string::npos); // the bound n is not the loop's end
}

TEST_CASE("render llvm: accumulators are allocas, set by ASSIGN, read by AFTER", "[renderers]") {
  UOp a = acc(DType::f32, 0), init = assign(a, f32(0));
  UOp read = after(a, {init});
  UOp update = assign(a, add(read, f32(1.5)));
  std::string b = body({a, init, read, UOp::alu(Op::ADD, {read, f32(1.5)}), update, after(a, {update})});
  INFO(b);
  CHECK(b.find("  %v0 = alloca float\n") == 0);
  CHECK(b.find("  store float 0x0000000000000000, ptr %v0\n") != std::string::npos);
  CHECK(matches(
      b,
      R"(  (%v\d+) = load float, ptr %v0\n  (%v\d+) = fadd float \1, 0x3FF8000000000000\n  store float \2, ptr %v0\n  %v\d+ = load float, ptr %v0\n)"));
  CHECK(body({acc(DType::i32, 3)}) == "  %v0 = alloca i32\n");
}

TEST_CASE("render llvm: LOAD and STORE address their element with getelementptr", "[renderers]") {
  UOp in = global(1, DType::i32), out = global(0, DType::f32);
  UOp x = load(in, idx(3));
  UOp y = UOp::make(Op::CAST, DType::f32, {x});
  std::string b = body({out, in, x, y, store(out, idx(5), y)});
  INFO(b);
  CHECK(matches(b, R"(  (%v\d+)\.p = getelementptr i32, ptr %v1, i64 3\n  \1 = load i32, ptr \1\.p\n)"));
  CHECK(matches(b, R"(  (%v\d+)\.p = getelementptr float, ptr %v0, i64 5\n  store float %v\d+, ptr \1\.p\n)"));
}

TEST_CASE("render llvm: a GROUP renders nothing", "[renderers]") {
  UOp out = global(0);
  UOp s1 = store(out, idx(0), f32(1)), s2 = store(out, idx(1), f32(2));
  CHECK(body({out, s1, s2, UOp::make(Op::GROUP, DType::void_, {s1, s2})}) == body({out, s1, s2}));
}

TEST_CASE("render llvm: a node no rule covers is an error naming its op", "[renderers]") {
  // the CPU's lower_llvm pass removes gated loads before rendering; the render group has no rule for one
  UOp g = global(1);
  UOp gated = UOp::make(Op::LOAD, DType::f32, {g, idx(0), UOp::alu(Op::CMPLT, {UOp::var("v", 0, 9), idx(3)})});
  auto r = renderers::render({g, gated}, "k", rewriter::builtin_library(), llvm_group());
  std::string err = expect_error(std::move(r));
  CHECK(err.find("no render llvm rule for LOAD of f32") != std::string::npos);
  // nor for a REDUCE, which the reduce pass should have turned into an accumulator
  UOp r1 = range(1, 4);
  err = expect_error(
      renderers::render({g, r1, reduce(Op::ADD, load(g, r1), {r1})}, "k", rewriter::builtin_library(), llvm_group()));
  CHECK(err.find("no render llvm rule for REDUCE") != std::string::npos);
}

TEST_CASE("render: a render group no renderer frames is an error", "[renderers]") {
  auto lib = expect_ok(rewriter::load_text(
      "other.pat", "include \"prelude.pat\";\nrender other { [o_add] ADD(a, b) => \"{self} = {a} + {b}\"; }\n", false));
  const rewriter::Group* other = lib->group("other");
  REQUIRE(other);
  std::string err = expect_error(renderers::render({}, "k", *lib, *other));
  CHECK(err.find("no renderer frames the render group 'other'") != std::string::npos);
}

TEST_CASE("render llvm: a hand-built kernel through the CPU's stages compiles and runs", "[renderers]") {
  // out[i] = max_j (in[i*4 + j] * 2) + (in[i*4] > 0 ? 1 : 0) and flag[i] = in[i*4] > 0 (a bool, a byte in memory),
  // for i < 3: a reduction, a thread loop, a GROUP of two stores and the bool rules of lower_llvm
  UOp r0 = range(0, 3), r1 = range(1, 4), out = global(0), in = global(1), flag = global(2, DType::bool_);
  UOp x = mul(load(in, add(mul(r0, idx(4)), r1)), f32(2));
  UOp positive = UOp::alu(Op::CMPLT, {f32(0), load(in, mul(r0, idx(4)))});
  UOp effects =
      UOp::make(Op::GROUP, DType::void_,
                {store(out, r0, add(reduce(Op::MAX, x, {r1}), UOp::alu(Op::WHERE, {positive, f32(1), f32(0)}))),
                 store(flag, r0, positive)});
  UOp ast = sink({end(effects, {r0})});
  UOp lowered = run_pass("lower_cpu", run_pass("threads", run_pass("ends", run_pass("reduce", ast))));
  std::vector<UOp> program = expect_ok(lowering::linearize(lowered));
  std::string ir = render(program, "hand_built");
  INFO(ir);
  auto compiler = expect_ok(runtime::CpuCompiler::create(""));
  auto compiled = expect_ok(compiler->compile(ir));
  auto fn = reinterpret_cast<void (*)(void**, int64_t, int64_t)>(expect_ok(compiled->function("hand_built")));
  std::vector<float> input{1, 5, -2, 3, -1, -7, -3, -4, 0, 0.5f, 9, -8}, output(3, -100);
  std::vector<uint8_t> flags(3, 7);
  void* bufs[] = {output.data(), input.data(), flags.data()};
  fn(bufs, 0, 1); // the thread ranges: two calls with their shares
  CHECK(output == std::vector<float>{11, -100, -100});
  fn(bufs, 1, 3);
  CHECK(output == std::vector<float>{11, -2, 18});
  CHECK(flags == std::vector<uint8_t>{1, 0, 0});
}
