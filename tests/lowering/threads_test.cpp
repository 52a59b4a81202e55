// The threads pass (thread_loop in patterns/target_cpu.pat): the outermost output loop becomes RANGE(n, start, end), keeping its bound and
// loop number, with DEFINE_VARs start and end in [0, n]; the other loops, and a kernel without loops, are left alone.
#include "tests/lowering/kernel_graphs.h"

using namespace patgrad;
using namespace patgrad::testing;

namespace {

std::vector<UOp> three_source_ranges(const UOp& ast) {
  std::vector<UOp> out;
  for (const UOp& r : nodes_of(ast, Op::RANGE))
    if (r->src.size() == 3) out.push_back(r);
  return out;
}

} // namespace

TEST_CASE("threads: the outermost output range becomes a thread range over [start, end)", "[lowering][threads]") {
  // out[i*5 + j] = in[i*5 + j] + i, after the ends pass: END(END(store, r1), r0)
  UOp r0 = range(0, 6), r1 = range(1, 5), out = global(0), in = global(1);
  auto body = [&](const UOp& i) {
    UOp at = add(mul(i, idx(5)), r1);
    return store(out, at, add(load(in, at), UOp::make(Op::CAST, DType::f32, {i})));
  };
  UOp ast = sink({end(end(body(r0), {r1}), {r0})});
  UOp got = run_pass("threads", ast);
  INFO(uops::sexpr(got));
  UOp start = UOp::var("start", 0, 6), stop = UOp::var("end", 0, 6);
  UOp thread = UOp::make(Op::RANGE, DType::index, {idx(6), start, stop}, int64_t(0));
  // every use of r0 (the index, the value, the END) is the thread range now, and nothing else changed
  CHECK(got == sink({end(end(body(thread), {r1}), {thread})}));
  CHECK(three_source_ranges(got) == std::vector<UOp>{thread});
  std::vector<UOp> vars = nodes_of(got, Op::DEFINE_VAR);
  REQUIRE(vars.size() == 2);
  for (const UOp& v : vars) {
    const auto& var = std::get<uops::Var>(v->arg);
    CHECK((var.name == "start" || var.name == "end"));
    CHECK(var.min == 0);
    CHECK(var.max == 6);
  }
  // a thread kernel still linearizes: the thread range is one loop like the others
  std::vector<UOp> program = expect_ok(lowering::linearize(got));
  CHECK(llvm::count(program, thread) == 1);
  CHECK(!llvm::is_contained(program, r0));
}

TEST_CASE("threads: the inner loop of a reduction is not split, the output loop is", "[lowering][threads]") {
  UOp r0 = range(0, 4), r1 = range(1, 3), out = global(0), in = global(1);
  UOp reduced =
      run_pass("reduce", sink({end(store(out, r0, reduce(Op::ADD, load(in, add(mul(r0, idx(3)), r1)), {r1})), {r0})}));
  UOp got = run_pass("threads", reduced);
  std::vector<UOp> split = three_source_ranges(got);
  REQUIRE(split.size() == 1);
  CHECK(number(split[0]) == 0);
  CHECK(split[0]->src[0] == idx(4));
  CHECK(llvm::is_contained(nodes_of(got, Op::RANGE), r1));
}

TEST_CASE("threads: a kernel without loops is unchanged", "[lowering][threads]") {
  UOp out = global(0), in = global(1);
  UOp scalar = sink({store(out, idx(0), add(load(in, idx(0)), f32(1)))});
  CHECK(run_pass("threads", scalar) == scalar);
  // a loop-invariant reduction into a scalar output: a loop, but no output loop to split
  UOp r1 = range(1, 8);
  UOp summed = run_pass("reduce", sink({store(out, idx(0), reduce(Op::ADD, load(in, r1), {r1}))}));
  CHECK(run_pass("threads", summed) == summed);
  CHECK(three_source_ranges(summed).empty());
}
