// linearize (lowering/linearize.cpp): the kernel as an ordered list. Guarantees checked on hand-built kernels: every
// node after its sources; between a RANGE and its END exactly the nodes that depend on that range (so what does not
// depend on a loop is outside it); source-less nodes first. Expects: no REDUCE, each RANGE closed by exactly one END
// of that range alone, loops that nest; anything else is an error naming the problem, not a wrong program.
#include "tests/lowering/kernel_graphs.h"
#include <llvm/ADT/DenseSet.h>

using namespace patgrad;
using namespace patgrad::testing;

namespace {

ptrdiff_t at(const std::vector<UOp>& program, const UOp& u) {
  auto it = std::find(program.begin(), program.end(), u);
  REQUIRE(it != program.end());
  return it - program.begin();
}

// Whether n depends on range r through anything but an END that closes r.
bool depends_on(const UOp& n, const UOp& r, llvm::DenseMap<const uops::Node*, bool>& memo) {
  if (n == r) return true;
  if (auto it = memo.find(n.get()); it != memo.end()) return it->second;
  bool d = false;
  if (!(n->op == Op::END && llvm::is_contained(llvm::drop_begin(n->src), r)))
    for (const UOp& s : n->src) d = d || depends_on(s, r, memo);
  memo[n.get()] = d;
  return d;
}

// The contract's guarantees, for any program linearize returns for ast.
void check_contract(const UOp& ast, const std::vector<UOp>& program) {
  INFO(uops::sexpr(ast));
  // every node of the graph but the SINK, once
  std::vector<UOp> all = uops::toposort({ast});
  CHECK(program.size() + 1 == all.size());
  llvm::DenseSet<const uops::Node*> seen;
  for (const UOp& n : program) {
    CHECK(n->op != Op::SINK);
    CHECK(seen.insert(n.get()).second);
  }
  // each node after its sources
  for (size_t i = 0; i < program.size(); i++)
    for (const UOp& s : program[i]->src) {
      INFO(uops::sexpr(program[i]) << " uses " << uops::sexpr(s));
      CHECK(at(program, s) < ptrdiff_t(i));
    }
  // source-less nodes (no RANGE has none) first
  size_t leaves = 0;
  while (leaves < program.size() && program[leaves]->src.empty()) leaves++;
  for (size_t i = leaves; i < program.size(); i++) CHECK(!program[i]->src.empty());
  // between each RANGE and its END exactly the nodes that depend on the range
  auto end_of = [&](const UOp& r) {
    ptrdiff_t close = -1;
    for (size_t j = 0; j < program.size(); j++)
      if (program[j]->op == Op::END && program[j]->src[1] == r) close = ptrdiff_t(j);
    REQUIRE(close >= 0);
    return close;
  };
  // (a node of an inner loop sits inside the outer one too: the loops nested in r are those whose END depends on r or
  // on a loop nested in r; an inner loop is a unit, its RANGE belongs where its END does)
  std::vector<UOp> ranges;
  for (const UOp& n : program)
    if (n->op == Op::RANGE) ranges.push_back(n);
  llvm::DenseMap<const uops::Node*, llvm::DenseMap<const uops::Node*, bool>> memo; // range -> node -> depends
  auto depends = [&](const UOp& n, const UOp& r) { return depends_on(n, r, memo[r.get()]); };
  for (const UOp& r : ranges) {
    ptrdiff_t open = at(program, r), close = end_of(r);
    REQUIRE(close > open);
    std::vector<UOp> nested{r};
    for (bool grew = true; grew;) {
      grew = false;
      for (const UOp& q : ranges)
        if (!llvm::is_contained(nested, q) &&
            llvm::any_of(nested, [&](const UOp& s) { return depends(program[end_of(q)], s); })) {
          nested.push_back(q);
          grew = true;
        }
    }
    for (size_t j = 0; j < program.size(); j++) {
      bool inside = ptrdiff_t(j) > open && ptrdiff_t(j) < close;
      const UOp& n = program[j]->op == Op::RANGE ? program[end_of(program[j])] : program[j];
      bool dep =
          ptrdiff_t(j) != close && program[j] != r && llvm::any_of(nested, [&](const UOp& s) { return depends(n, s); });
      INFO("loop " << uops::sexpr(r) << ", node " << uops::sexpr(program[j]));
      CHECK(inside == dep);
    }
  }
}

} // namespace

TEST_CASE("linearize: a sum in an output loop, with loop-invariant code outside the inner loop",
          "[lowering][linearize]") {
  // out[i] = sum_j in[i*4 + j] * w[j]
  UOp r0 = range(0, 3), r1 = range(1, 4), out = global(0), in = global(1), w = global(2);
  UOp row = mul(r0, idx(4)); // depends on the outer range only
  UOp x = mul(load(in, add(row, r1)), load(w, r1));
  UOp ast = run_pass("ends", run_pass("reduce", sink({end(store(out, r0, reduce(Op::ADD, x, {r1})), {r0})})));
  std::vector<UOp> program = expect_ok(lowering::linearize(ast));
  check_contract(ast, program);
  // the row offset is computed once per outer trip: inside r0, before the inner loop opens
  CHECK(at(program, r0) < at(program, row));
  CHECK(at(program, row) < at(program, r1));
  // the parameters, the accumulator and the constants come first
  for (const UOp& leaf : {out, in, w, acc(DType::f32, 0), f32(0), idx(4)}) CHECK(at(program, leaf) < at(program, r0));
}

TEST_CASE("linearize: a load that does not depend on the inner loop is hoisted out of it", "[lowering][linearize]") {
  // out[i] = sum_j in[i] * w[j]: in[i] is loaded once per i, not once per (i, j)
  UOp r0 = range(0, 3), r1 = range(1, 4), out = global(0), in = global(1), w = global(2);
  UOp li = load(in, r0);
  UOp ast = run_pass(
      "ends", run_pass("reduce", sink({end(store(out, r0, reduce(Op::ADD, mul(li, load(w, r1)), {r1})), {r0})})));
  std::vector<UOp> program = expect_ok(lowering::linearize(ast));
  check_contract(ast, program);
  CHECK(at(program, li) < at(program, r1));
  CHECK(at(program, r0) < at(program, li));
}

TEST_CASE("linearize: a nest of three loops, a tree of sums and sibling loops", "[lowering][linearize]") {
  UOp r0 = range(0, 2), r1 = range(1, 3), r2 = range(2, 4), r3 = range(3, 5), out = global(0), in = global(1);
  SECTION("three output loops") {
    UOp i = add(add(mul(r0, idx(12)), mul(r1, idx(4))), r2);
    UOp ast = run_pass("ends", sink({end(store(out, i, load(in, i)), {r0, r1, r2})}));
    std::vector<UOp> program = expect_ok(lowering::linearize(ast));
    check_contract(ast, program);
    CHECK(at(program, r0) < at(program, r1));
    CHECK(at(program, r1) < at(program, r2));
  }
  SECTION("a tree of sums in an output loop") {
    UOp x = load(in, add(add(mul(r0, idx(12)), mul(r1, idx(4))), r2));
    UOp ast = run_pass(
        "ends", run_pass("reduce", sink({end(store(out, r0, reduce(Op::ADD, reduce(Op::ADD, x, {r2}), {r1})), {r0})})));
    check_contract(ast, expect_ok(lowering::linearize(ast)));
  }
  SECTION("two sibling loops in one output loop") {
    // out[i] = sum_j in[i*4+j] + max_k in[i*5+k]: two inner loops one after the other
    UOp a = load(in, add(mul(r0, idx(4)), r2)), b = load(in, add(mul(r0, idx(5)), r3));
    UOp ast = run_pass(
        "ends",
        run_pass("reduce", sink({end(store(out, r0, add(reduce(Op::ADD, a, {r2}), reduce(Op::MAX, b, {r3}))), {r0})})));
    std::vector<UOp> program = expect_ok(lowering::linearize(ast));
    check_contract(ast, program);
  }
  SECTION("a thread range") {
    UOp t = UOp::make(Op::RANGE, DType::index, {idx(2), UOp::var("start", 0, 2), UOp::var("end", 0, 2)}, int64_t(0));
    UOp i = add(mul(t, idx(3)), r1);
    UOp ast = sink({end(end(store(out, i, load(in, i)), {r1}), {t})});
    std::vector<UOp> program = expect_ok(lowering::linearize(ast));
    check_contract(ast, program);
    CHECK(at(program, UOp::var("start", 0, 2)) < at(program, t));
  }
}

TEST_CASE("linearize: a kernel without loops is its nodes in dependency order", "[lowering][linearize]") {
  UOp out = global(0), in = global(1);
  UOp ast = sink({store(out, idx(0), add(load(in, idx(1)), f32(2)))});
  std::vector<UOp> program = expect_ok(lowering::linearize(ast));
  check_contract(ast, program);
  CHECK(program.back()->op == Op::STORE);
}

TEST_CASE("linearize: a malformed graph is an error that says what is wrong", "[lowering][linearize]") {
  UOp r0 = range(0, 3), r1 = range(1, 4), r2 = range(2, 5), out = global(0), in = global(1);
  auto error_of = [](const UOp& ast) { return expect_error(lowering::linearize(ast)); };
  SECTION("a REDUCE left") {
    std::string err = error_of(sink({store(out, idx(0), reduce(Op::ADD, load(in, r1), {r1}))}));
    CHECK(err.find("linearize: a REDUCE is left") != std::string::npos);
    CHECK(err.find("REDUCE") != std::string::npos);
  }
  SECTION("a RANGE never closed") {
    std::string err = error_of(sink({store(out, r0, load(in, r0))}));
    CHECK(err.find("a RANGE is never closed") != std::string::npos);
    CHECK(err.find(uops::sexpr(r0)) != std::string::npos);
  }
  SECTION("a RANGE closed twice") {
    std::string err = error_of(sink({end(store(out, r0, f32(1)), {r0}), end(store(in, r0, f32(2)), {r0})}));
    CHECK(err.find("a RANGE is closed twice") != std::string::npos);
  }
  SECTION("an END of two ranges (before the ends pass)") {
    UOp i = add(mul(r0, idx(4)), r1);
    std::string err = error_of(sink({end(store(out, i, load(in, i)), {r0, r1})}));
    CHECK(err.find("an END closes one range here") != std::string::npos);
  }
  SECTION("loops that do not nest") {
    // r1's END is inside both r0 and r2 (its effect uses all three), but r0 and r2 are each closed outside the other
    UOp inner = end(store(out, add(add(r0, r1), r2), f32(1)), {r1});
    std::string err = error_of(sink({inner, end(store(in, r0, f32(2)), {r0}), end(store(in, r2, f32(3)), {r2})}));
    CHECK(err.find("loops that do not nest") != std::string::npos);
  }
  SECTION("loops that enclose each other") {
    // one effect under both r1 and r2, closed by each END alone: r1 inside r2 and r2 inside r1
    UOp s = store(out, add(r1, r2), f32(1));
    std::string err = error_of(sink({end(s, {r1}), end(s, {r2})}));
    CHECK(err.find("loops that enclose each other") != std::string::npos);
  }
  SECTION("an order with a cycle") {
    // The node graph cannot have a cycle (nodes are immutable and interned: a node's sources exist before it), but the
    // order of loops can: a store inside loop r0 needs what loop r1 computed after r0, and r1 reads r0's result.
    // r0 -> (AFTER of r0's END) -> r1 -> (AFTER of r1's END) -> a store in r0.
    UOp a0 = acc(DType::f32, 0), a1 = acc(DType::f32, 1);
    UOp e0 = end(store(out, r0, f32(1)), {r0});
    UOp e1 = end(store(in, r1, after(a0, {e0})), {r1});
    UOp late = store(global(2), r0, after(a1, {e1}));
    std::string err = error_of(sink({e0, e1, late}));
    CHECK(err.find("the graph's order has a cycle") != std::string::npos);
  }
}
