// The index pass (patterns/index.pat) and sym's gated loads, on kernels the schedule cuts from small tensor graphs
// (the opts: opts_test.cpp). The index pass's contract: no tensor op is left (INDEX, OUTPUT, PARAM, movement ops,
// REDUCE_AXIS); the kernel is SINK(END(STORE(DEFINE_GLOBAL 0, ...), output ranges)); every range is new and
// distinct; a PAD gates its loads; float sums over 1024 elements become trees of REDUCEs of at most 1024 trips each.
// The values themselves are checked end to end against host loops (tests/frontend/movement_test.cpp and the rest)
// and by fuzz_tensors; here it is the shape of what the rules build.
#include "frontend/tensor.h"
#include "tests/lowering/kernel_graphs.h"
#include <set>

using namespace patgrad;
using namespace patgrad::testing;

namespace {

// The one kernel that computes t (its inputs realized first), after the index pass.
struct Indexed {
  lowering::Kernel kernel;
  UOp ast;
};
Indexed indexed(Tensor t) {
  lowering::Schedule s = lowering::schedule({t.uop()}, runtime::new_buffer);
  REQUIRE(s.kernels.size() == 1);
  return {s.kernels[0], run_pass("index", s.kernels[0].ast)};
}

Tensor input(const Shape& shape, DType dtype = DType::f32) {
  std::vector<double> v(size_t(uops::prod(shape)));
  for (size_t i = 0; i < v.size(); i++) v[i] = double(i % 7);
  return Tensor::from_vector(v, shape).cast(dtype).realize();
}

int64_t trips(const UOp& reduce) {
  int64_t n = 1;
  for (size_t i = 1; i < reduce->src.size(); i++) n *= int64_t(reduce->src[i]->src[0]->value().i);
  return n;
}

// What every kernel after the index pass holds: no tensor op, a STORE to parameter 0, distinct range numbers.
void check_contract(const UOp& ast) {
  INFO(uops::sexpr(ast));
  for (Op op : {Op::INDEX, Op::OUTPUT, Op::PARAM, Op::RESHAPE, Op::PERMUTE, Op::EXPAND, Op::PAD, Op::SHRINK, Op::FLIP,
                Op::REDUCE_AXIS, Op::CONTIGUOUS, Op::DETACH})
    CHECK(nodes_of(ast, op).empty());
  REQUIRE(ast->op == Op::SINK);
  const UOp& top = ast->src[0];
  const UOp& st = top->op == Op::END ? top->src[0] : top;
  REQUIRE(st->op == Op::STORE);
  CHECK(number(st->src[0]) == 0);
  std::set<int64_t> numbers;
  for (const UOp& r : nodes_of(ast, Op::RANGE)) CHECK(numbers.insert(number(r)).second);
}

} // namespace

TEST_CASE("index: the schedule's kernel is the cone with PARAMs, numbered by position", "[lowering][index]") {
  Tensor a = input({3, 4}), b = input({4});
  lowering::Schedule s = lowering::schedule({(a + b.reshape({1, 4}).expand({3, 4})).uop()}, runtime::new_buffer);
  REQUIRE(s.kernels.size() == 1);
  const lowering::Kernel& k = s.kernels[0];
  REQUIRE(k.buffers.size() == 3);
  REQUIRE(k.ast->src[0]->op == Op::OUTPUT);
  std::vector<UOp> params = nodes_of(k.ast, Op::PARAM);
  REQUIRE(params.size() == 3);
  for (const UOp& p : params) {
    int64_t n = std::get<uops::Ints>(p->arg)[0];
    CHECK(std::get<uops::Ints>(p->arg)[1] == std::get<uops::Ints>(k.buffers[size_t(n)]->arg)[1]);
  }
  // the same work on other buffers is the same kernel
  Tensor c = input({3, 4}), d = input({4});
  lowering::Schedule s2 = lowering::schedule({(c + d.reshape({1, 4}).expand({3, 4})).uop()}, runtime::new_buffer);
  CHECK(s2.kernels[0].ast == k.ast);
  CHECK(!(s2.kernels[0].buffers[1] == k.buffers[1]));
}

TEST_CASE("index: movement ops become index arithmetic on loads", "[lowering][index]") {
  Tensor a = input({3, 4});
  for (Tensor t : {a.permute({1, 0}), a.reshape({2, 6}), a.flip({0}), a.shrink({{1, 3}, {0, 2}}),
                   a.reshape({3, 1, 4}).expand({3, 5, 4})}) {
    Indexed k = indexed(t * 2.0);
    check_contract(k.ast);
    CHECK(nodes_of(k.ast, Op::LOAD).size() == 1);
    CHECK(nodes_of(k.ast, Op::LOAD)[0]->src.size() == 2); // no gate
    CHECK(nodes_of(k.ast->src[0], Op::RANGE).size() == t.shape().size());
  }
}

TEST_CASE("index: PAD gates its loads and selects zero outside", "[lowering][index]") {
  Indexed k = indexed(input({3, 4}).pad({{1, 0}, {0, 2}}) + 1.0);
  check_contract(k.ast);
  std::vector<UOp> loads = nodes_of(k.ast, Op::LOAD);
  REQUIRE(loads.size() == 1);
  REQUIRE(loads[0]->src.size() == 3);
  CHECK(loads[0]->src[2]->dtype == DType::bool_);
  CHECK(nodes_of(k.ast, Op::WHERE).size() == 1);
}

TEST_CASE("index: a reduction is a REDUCE over new ranges; long float sums are trees", "[lowering][index]") {
  SECTION("a short sum: one REDUCE over its axis") {
    Indexed k = indexed(input({6, 8}).sum({1}));
    check_contract(k.ast);
    std::vector<UOp> reduces = nodes_of(k.ast, Op::REDUCE);
    REQUIRE(reduces.size() == 1);
    CHECK(trips(reduces[0]) == 8);
  }
  SECTION("a long float sum: levels of at most 1024, covering every element") {
    for (int64_t n : {5000, 4096, 1025}) {
      INFO(n);
      Indexed k = indexed(input({n}).sum());
      check_contract(k.ast);
      std::vector<UOp> reduces = nodes_of(k.ast, Op::REDUCE);
      REQUIRE(reduces.size() >= 2);
      int64_t covered = 1;
      for (const UOp& r : reduces) {
        CHECK(trips(r) <= 1024);
        covered *= trips(r);
      }
      CHECK(covered >= n);
      CHECK(covered < n + 1024);
    }
  }
  SECTION("a sum over several axes peels the outer ones off until the rest fit a level") {
    Indexed k = indexed(input({40, 24, 24}).sum());
    check_contract(k.ast);
    std::vector<UOp> reduces = nodes_of(k.ast, Op::REDUCE);
    REQUIRE(reduces.size() == 2);
    std::multiset<int64_t> levels{trips(reduces[0]), trips(reduces[1])};
    CHECK(levels == std::multiset<int64_t>{40, 576});
  }
  SECTION("integer sums and maxima need no tree") {
    CHECK(nodes_of(indexed(input({5000}, DType::i32).sum()).ast, Op::REDUCE).size() == 1);
    CHECK(nodes_of(indexed(input({5000}).max()).ast, Op::REDUCE).size() == 1);
  }
  SECTION("over no elements: the identity, with no loop") {
    Indexed k = indexed(input({3, 0}).sum({1}));
    check_contract(k.ast);
    CHECK(nodes_of(k.ast, Op::REDUCE).empty());
    CHECK(nodes_of(k.ast, Op::LOAD).empty());
  }
}

TEST_CASE("sym simplifies a gated load's index where its gate holds: no division is left for the edges", "[lowering]") {
  // a pooling-like reshape chain, then a pad: the source index divides a flat position that would cross into the
  // previous row or image outside the gate; inside it, every division and modulo folds away
  Tensor t = input({2, 3, 4, 4}).reshape({2, 3, 2, 2, 2, 2}).permute({0, 1, 2, 4, 3, 5}).reshape({2, 3, 4, 4});
  UOp k = run_pass("sym", indexed(t.pad({{0, 0}, {0, 0}, {2, 2}, {2, 2}})).ast);
  std::vector<UOp> loads = nodes_of(k, Op::LOAD);
  REQUIRE(loads.size() == 1);
  REQUIRE(loads[0]->src.size() == 3); // gated
  INFO(uops::sexpr(loads[0]->src[1]));
  CHECK(nodes_of(loads[0]->src[1], Op::IDIV).size() <= 2); // the 2x2 blocks' own: y // 2 and x // 2 at most
  CHECK(nodes_of(loads[0]->src[1], Op::MOD).size() <= 2);
  // and the values, against the chain worked out by hand
  std::vector<double> v(96);
  for (size_t i = 0; i < v.size(); i++) v[i] = double(i);
  Tensor x = Tensor::from_vector(v, {2, 3, 4, 4});
  Tensor p = x.reshape({2, 3, 2, 2, 2, 2})
                 .permute({0, 1, 2, 4, 3, 5})
                 .reshape({2, 3, 4, 4})
                 .pad({{0, 0}, {0, 0}, {2, 2}, {2, 2}});
  std::vector<double> got = p.to_vector<double>();
  for (int64_t n = 0; n < 6; n++)
    for (int64_t y = 0; y < 8; y++)
      for (int64_t x2 = 0; x2 < 8; x2++) {
        double want = 0;
        if (y >= 2 && y < 6 && x2 >= 2 && x2 < 6) {
          int64_t a = y - 2, b = x2 - 2; // (a, b) is the source's row (a // 2) * 2 + b // 2, column (a % 2) * 2 + b % 2
          want = double(n * 16 + ((a / 2) * 2 + b / 2) * 4 + (a % 2) * 2 + b % 2);
        }
        CHECK(got[size_t(n * 64 + y * 8 + x2)] == want);
      }
}

TEST_CASE(
    "a float sum of a million elements or more is two kernels: over 64 parts (the cores share them), then the parts",
    "[lowering]") {
  Tensor x = input({1 << 20});
  lowering::Schedule s = lowering::schedule({x.sum().uop()}, runtime::new_buffer);
  REQUIRE(s.kernels.size() == 2);
  CHECK(s.kernels[0].node->shape == uops::Shape{64, 1});
  double want = 0;
  for (int64_t i = 0; i < (1 << 20); i++) want += double(i % 7);
  CHECK(x.sum().item() == want); // small integers: every partial sum is exact
  CHECK(x.max().item() == 6);
  CHECK(lowering::schedule({x.max().uop()}, runtime::new_buffer).kernels.size() == 2);
  // integers and products stay one kernel, as does a sum over some axes
  CHECK(lowering::schedule({input({1 << 20}, DType::i32).sum().uop()}, runtime::new_buffer).kernels.size() == 1);
  CHECK(lowering::schedule({input({1024, 1024}).sum({1}).uop()}, runtime::new_buffer).kernels.size() == 1);
}
