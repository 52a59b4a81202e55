// The reduce pass (patterns/reduce.pat): each REDUCE becomes an accumulator. Its contract, on hand-built graphs: a
// DEFINE_ACC, set to the op's identity by an ASSIGN that runs after exactly the ranges open at the REDUCE, updated
// inside the REDUCE's loops (reading it AFTER the setting and those ranges), the loops closed by one END over the
// REDUCE's ranges, and the result read AFTER that END. The expected graphs are built node for node: interning makes
// equality exact.
#include "tests/lowering/kernel_graphs.h"
#include <cmath>
#include <limits>

using namespace patgrad;
using namespace patgrad::testing;

namespace {

// The accumulator the reduce pass makes of REDUCE<t>[op](x, ranges), with `open` the ranges open at the REDUCE:
// AFTER(acc, END(ASSIGN(acc, update(AFTER(acc, init, ranges...), x)), ranges...)).
UOp expected_acc(Op op, const UOp& x, const std::vector<UOp>& ranges, const std::vector<UOp>& open, const UOp& identity,
                 int64_t acc_number) {
  UOp a = acc(x->dtype, acc_number);
  UOp init = assign(a, identity, open);
  UOp read = after(a, [&] {
    std::vector<UOp> deps{init};
    deps.insert(deps.end(), ranges.begin(), ranges.end());
    return deps;
  }());
  UOp update = UOp::alu(op, {read, x});
  return after(a, {end(assign(a, update), ranges)});
}

} // namespace

TEST_CASE("reduce: a sum inside an output loop sets its accumulator once per output trip", "[lowering][reduce]") {
  // out[i] = sum_j in[i*4 + j]
  UOp r0 = range(0, 3), r1 = range(1, 4), out = global(0), in = global(1);
  UOp x = load(in, add(mul(r0, idx(4)), r1));
  UOp ast = sink({end(store(out, r0, reduce(Op::ADD, x, {r1})), {r0})});
  UOp got = run_pass("reduce", ast);
  UOp want = sink({end(store(out, r0, expected_acc(Op::ADD, x, {r1}, {r0}, f32(0), 0)), {r0})});
  INFO(uops::sexpr(got));
  CHECK(got == want);
  CHECK(nodes_of(got, Op::REDUCE).empty());
  // the init's extra sources are exactly the output range: not the reduce range, which it must run outside of
  std::vector<UOp> inits;
  for (const UOp& n : nodes_of(got, Op::ASSIGN))
    if (n->src[1]->op == Op::CONST) inits.push_back(n);
  REQUIRE(inits.size() == 1);
  REQUIRE(inits[0]->src.size() == 3);
  CHECK(inits[0]->src[2] == r0);
}

TEST_CASE("reduce: ADD, MUL and MAX start from 0, 1 and the dtype's lowest value", "[lowering][reduce]") {
  UOp r1 = range(1, 5), in = global(1), out = global(0);
  SECTION("f32") {
    UOp x = load(in, r1);
    for (auto [op, identity] : {std::pair{Op::ADD, f32(0)}, std::pair{Op::MUL, f32(1)},
                                std::pair{Op::MAX, f32(-std::numeric_limits<double>::infinity())}}) {
      UOp got = run_pass("reduce", sink({store(out, idx(0), reduce(op, x, {r1}))}));
      INFO(uops::op_info(op).name << ": " << uops::sexpr(got));
      CHECK(got == sink({store(out, idx(0), expected_acc(op, x, {r1}, {}, identity, 0))}));
    }
  }
  SECTION("i32") {
    UOp x = load(global(1, DType::i32), r1);
    UOp o = global(0, DType::i32);
    for (auto [op, identity] : {std::pair{Op::ADD, i32(0)}, std::pair{Op::MUL, i32(1)},
                                std::pair{Op::MAX, i32(std::numeric_limits<int32_t>::min())}}) {
      UOp got = run_pass("reduce", sink({store(o, idx(0), reduce(op, x, {r1}))}));
      INFO(uops::op_info(op).name << ": " << uops::sexpr(got));
      CHECK(got == sink({store(o, idx(0), expected_acc(op, x, {r1}, {}, identity, 0))}));
    }
  }
}

TEST_CASE("reduce: a loop-invariant reduction inside an output loop is set outside every loop", "[lowering][reduce]") {
  // out[i] = sum_j in[j]: the sum does not depend on i, so its init runs after no range at all
  UOp r0 = range(0, 3), r1 = range(1, 4), out = global(0), in = global(1);
  UOp x = load(in, r1);
  UOp got = run_pass("reduce", sink({end(store(out, r0, reduce(Op::ADD, x, {r1})), {r0})}));
  CHECK(got == sink({end(store(out, r0, expected_acc(Op::ADD, x, {r1}, {}, f32(0), 0)), {r0})}));
  // and so linearize places the whole reduction before the output loop
  std::vector<UOp> program = expect_ok(lowering::linearize(run_pass("ends", got)));
  auto at = [&](const UOp& u) { return std::find(program.begin(), program.end(), u) - program.begin(); };
  CHECK(at(r1) < at(r0));
}

TEST_CASE("reduce: a reduction over several ranges ends them together, and the init has the rest",
          "[lowering][reduce]") {
  // out[i] = sum_{j,k} in[i*20 + j*5 + k]: REDUCE(x, r1, r2) inside r0
  UOp r0 = range(0, 2), r1 = range(1, 4), r2 = range(2, 5), out = global(0), in = global(1);
  UOp x = load(in, add(add(mul(r0, idx(20)), mul(r1, idx(5))), r2));
  UOp got = run_pass("reduce", sink({end(store(out, r0, reduce(Op::ADD, x, {r1, r2})), {r0})}));
  CHECK(got == sink({end(store(out, r0, expected_acc(Op::ADD, x, {r1, r2}, {r0}, f32(0), 0)), {r0})}));
}

TEST_CASE("reduce: two reductions get two accumulators", "[lowering][reduce]") {
  // out[i] = sum_j in[i*4+j] + max_j in[i*4+j]
  UOp r0 = range(0, 3), r1 = range(1, 4), out = global(0), in = global(1);
  UOp x = load(in, add(mul(r0, idx(4)), r1));
  UOp got =
      run_pass("reduce", sink({end(store(out, r0, add(reduce(Op::ADD, x, {r1}), reduce(Op::MAX, x, {r1}))), {r0})}));
  std::vector<UOp> accs = nodes_of(got, Op::DEFINE_ACC);
  REQUIRE(accs.size() == 2);
  CHECK(number(accs[0]) != number(accs[1]));
  // each is one of the two expected accumulators (the numbers in the order the pass met the REDUCEs)
  int64_t sum_number = -1;
  for (const UOp& a : accs)
    for (const UOp& n : nodes_of(got, Op::ASSIGN))
      if (n->src[0] == a && n->src[1] == f32(0)) sum_number = number(a);
  REQUIRE(sum_number >= 0);
  UOp sum = expected_acc(Op::ADD, x, {r1}, {r0}, f32(0), sum_number);
  UOp max = expected_acc(Op::MAX, x, {r1}, {r0}, f32(-std::numeric_limits<double>::infinity()), 1 - sum_number);
  CHECK(got == sink({end(store(out, r0, add(sum, max)), {r0})}));
}

TEST_CASE("reduce: a nested reduction (a tree of sums) sets the inner accumulator inside the outer loop",
          "[lowering][reduce]") {
  // out[0] = sum_i (sum_j in[i*4 + j]): the scheduler's tree of float sums
  UOp r1 = range(1, 3), r2 = range(2, 4), out = global(0), in = global(1);
  UOp x = load(in, add(mul(r1, idx(4)), r2));
  UOp got = run_pass("reduce", sink({store(out, idx(0), reduce(Op::ADD, reduce(Op::ADD, x, {r2}), {r1}))}));
  INFO(uops::sexpr(got));
  // post order: the inner REDUCE is met first
  UOp inner = expected_acc(Op::ADD, x, {r2}, {r1}, f32(0), 0);
  UOp outer = expected_acc(Op::ADD, inner, {r1}, {}, f32(0), 1);
  CHECK(got == sink({store(out, idx(0), outer)}));
  // the whole thing linearizes, with the inner init between the outer RANGE and the inner one
  std::vector<UOp> program = expect_ok(lowering::linearize(run_pass("ends", got)));
  auto at = [&](const UOp& u) { return std::find(program.begin(), program.end(), u) - program.begin(); };
  UOp inner_init = assign(acc(DType::f32, 0), f32(0), {r1});
  REQUIRE(at(inner_init) < ptrdiff_t(program.size()));
  CHECK(at(r1) < at(inner_init));
  CHECK(at(inner_init) < at(r2));
}
