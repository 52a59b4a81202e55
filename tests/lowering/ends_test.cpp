// The ends pass (patterns/ends.pat: one END per range, closing from the inside out) and merge_ends
// (lowering/merge_ends.cpp: ENDs over the same ranges as one END of a GROUP, nested levels from the inside out,
// never two ENDs of which one depends on the other).
#include "tests/lowering/kernel_graphs.h"

using namespace patgrad;
using namespace patgrad::testing;

TEST_CASE("ends: END(x, a, b, c) becomes END(END(END(x, c), b), a)", "[lowering][ends]") {
  UOp a = range(0, 2), b = range(1, 3), c = range(2, 4), out = global(0);
  UOp x = store(out, add(add(mul(a, idx(12)), mul(b, idx(4))), c), f32(1));
  CHECK(run_pass("ends", sink({end(x, {a, b, c})})) == sink({end(end(end(x, {c}), {b}), {a})}));
  CHECK(run_pass("ends", sink({end(x, {a, b})})) == sink({end(end(x, {b}), {a})}));
  // an END of one range is left as it is
  UOp one = sink({end(store(out, a, f32(1)), {a})});
  CHECK(run_pass("ends", one) == one);
}

TEST_CASE("ends: the ENDs inside an effect are split too", "[lowering][ends]") {
  UOp a = range(0, 2), b = range(1, 3), c = range(2, 4), out = global(0);
  UOp x = store(out, add(add(mul(a, idx(12)), mul(b, idx(4))), c), f32(1));
  UOp inner = end(x, {b, c});
  CHECK(run_pass("ends", sink({end(inner, {a})})) == sink({end(end(end(x, {c}), {b}), {a})}));
}

namespace {

// k accumulated sums of in[i*4 + j] * w[m] over j, for m in 0..k-1, stored at out[i*k + m]: an upcast kernel after the
// reduce pass, with one END over the reduce range per copy.
struct Upcast {
  UOp r0 = range(0, 3), r1 = range(1, 4);
  std::vector<UOp> updates, ends;
  UOp ast;
  explicit Upcast(int k) {
    UOp out = global(0), in = global(1), w = global(2);
    UOp x = load(in, add(mul(r0, idx(4)), r1));
    std::vector<UOp> stores;
    for (int m = 0; m < k; m++) {
      UOp a = acc(DType::f32, m);
      UOp update = assign(a, add(after(a, {assign(a, f32(0), {r0}), r1}), mul(x, load(w, idx(m)))));
      updates.push_back(update);
      ends.push_back(end(update, {r1}));
      stores.push_back(store(out, add(mul(r0, idx(k)), idx(m)), after(a, {ends.back()})));
    }
    ast = sink({end(UOp::make(Op::GROUP, DType::void_, stores), {r0})});
  }
};

} // namespace

TEST_CASE("merge_ends: ENDs over the same ranges become one END of a GROUP of their effects",
          "[lowering][merge_ends]") {
  Upcast u(3);
  REQUIRE(nodes_of(u.ast, Op::END).size() == 4);
  UOp got = expect_ok(lowering::merge_ends(u.ast));
  INFO(uops::sexpr(got));
  UOp one = end(UOp::make(Op::GROUP, DType::void_, u.updates), {u.r1});
  std::vector<UOp> ends = nodes_of(got, Op::END);
  REQUIRE(ends.size() == 2); // the merged one and the output loop's
  CHECK(llvm::is_contained(ends, one));
  // every read of a result now waits for the merged END
  std::vector<UOp> reads;
  for (const UOp& n : nodes_of(got, Op::AFTER))
    if (n->src.size() == 2 && n->src[1]->op == Op::END) reads.push_back(n);
  REQUIRE(reads.size() == 3);
  for (const UOp& r : reads) CHECK(r->src[1] == one);
  // and the kernel still linearizes, with one loop over r1
  std::vector<UOp> program = expect_ok(lowering::linearize(got));
  CHECK(llvm::count(program, u.r1) == 1);
}

TEST_CASE("merge_ends: a single END, or ENDs over different ranges, are left apart", "[lowering][merge_ends]") {
  Upcast single(1);
  CHECK(expect_ok(lowering::merge_ends(single.ast)) == single.ast);
  // two independent loops, r1 and r2, each with its own effect
  UOp r1 = range(1, 4), r2 = range(2, 4), out = global(0);
  UOp ast = sink({end(store(out, r1, f32(1)), {r1}), end(store(out, add(r2, idx(4)), f32(2)), {r2})});
  CHECK(expect_ok(lowering::merge_ends(ast)) == ast);
  // the same ranges in another order are another list: END(x, a, b) and END(y, b, a) are not merged
  UOp a = range(0, 2), b = range(1, 2);
  UOp crossed = sink({end(store(out, add(mul(a, idx(2)), b), f32(1)), {a, b}),
                      end(store(global(1), add(mul(a, idx(2)), b), f32(1)), {b, a})});
  CHECK(expect_ok(lowering::merge_ends(crossed)) == crossed);
}

TEST_CASE("merge_ends: nested levels merge from the inside out", "[lowering][merge_ends]") {
  // two copies of a tree of sums: sum_i (sum_j in[i*4+j] * w[m]), inner over r2 inside outer over r1
  UOp r1 = range(1, 3), r2 = range(2, 4), out = global(0), in = global(1), w = global(2);
  UOp x = load(in, add(mul(r1, idx(4)), r2));
  std::vector<UOp> inner_updates;
  auto build = [&](auto&& inner_end_of) { // each copy's outer update, reading its inner result after inner_end_of(m)
    std::vector<UOp> outer_updates;
    for (int m = 0; m < 2; m++) {
      UOp in_acc = acc(DType::f32, 2 * m), out_acc = acc(DType::f32, 2 * m + 1);
      UOp inner_result = after(in_acc, {inner_end_of(m)});
      UOp outer_update = assign(out_acc, add(after(out_acc, {assign(out_acc, f32(0)), r1}), inner_result));
      outer_updates.push_back(outer_update);
    }
    return outer_updates;
  };
  for (int m = 0; m < 2; m++) {
    UOp in_acc = acc(DType::f32, 2 * m);
    inner_updates.push_back(
        assign(in_acc, add(after(in_acc, {assign(in_acc, f32(0), {r1}), r2}), mul(x, load(w, idx(m))))));
  }
  auto separate = build([&](int m) { return end(inner_updates[m], {r2}); });
  std::vector<UOp> outputs;
  for (int m = 0; m < 2; m++)
    outputs.push_back(store(out, idx(m), after(acc(DType::f32, 2 * m + 1), {end(separate[m], {r1})})));
  UOp ast = sink(outputs);
  REQUIRE(nodes_of(ast, Op::END).size() == 4);

  UOp got = expect_ok(lowering::merge_ends(ast));
  INFO(uops::sexpr(got));
  // the inner ENDs become one; then the outer ENDs, whose effects now hold that one, become one too
  UOp inner = end(UOp::make(Op::GROUP, DType::void_, inner_updates), {r2});
  auto merged_outer_updates = build([&](int) { return inner; });
  UOp outer = end(UOp::make(Op::GROUP, DType::void_, merged_outer_updates), {r1});
  std::vector<UOp> want_outputs;
  for (int m = 0; m < 2; m++) want_outputs.push_back(store(out, idx(m), after(acc(DType::f32, 2 * m + 1), {outer})));
  CHECK(got == sink(want_outputs));
  CHECK(nodes_of(got, Op::END).size() == 2);
  std::vector<UOp> program = expect_ok(lowering::linearize(got));
  CHECK(llvm::count(program, r1) == 1);
  CHECK(llvm::count(program, r2) == 1);
}

TEST_CASE("merge_ends: ENDs over the same range where one depends on the other are not merged",
          "[lowering][merge_ends]") {
  // a second loop over r1 reads what the first computed: merging would make a cycle, so both stay, and linearize
  // then reports the range closed twice (the contract of both stages)
  UOp r1 = range(1, 4), out = global(0), in = global(1);
  UOp a = acc(DType::f32, 0);
  UOp first = end(assign(a, add(after(a, {assign(a, f32(0)), r1}), load(in, r1))), {r1});
  UOp second = end(store(out, r1, after(a, {first})), {r1});
  UOp ast = sink({second});
  CHECK(expect_ok(lowering::merge_ends(ast)) == ast);
  std::string err = expect_error(lowering::linearize(ast));
  CHECK(err.find("a RANGE is closed twice") != std::string::npos);
}
