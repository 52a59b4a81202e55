// What kernel rules need of the pattern language: `where` bindings, fresh() counters, ranges() and without() source
// lists, op names as args, tuples of integers, lowest(t).
#include "rewriter/rewriter.h"
#include "tests/rewriter/library.h"
#include <catch2/catch.hpp>
#include <cmath>

using namespace patgrad;
using namespace patgrad::rewriter;
using uops::DType;
using uops::Op;
using uops::UOp;

namespace {

using testing::lib_of;

UOp run(const Library& lib, const std::string& pass, const UOp& root) {
  auto r = graph_rewrite(root, *lib.pass(pass));
  bool good = bool(r);
  INFO((good ? std::string() : llvm::toString(r.takeError())));
  REQUIRE(good);
  return *r;
}

UOp cst(int64_t v) { return UOp::constant(DType::index, v); }
UOp range(int64_t number, int64_t size) { return UOp::make(Op::RANGE, DType::index, {cst(size)}, number); }
UOp reduce(Op op, const UOp& x, std::vector<UOp> ranges) {
  ranges.insert(ranges.begin(), x);
  return UOp::make(Op::REDUCE, x->dtype, ranges, int64_t(op));
}
UOp sink(std::vector<UOp> src) { return UOp::make(Op::SINK, DType::void_, src); }
int64_t number(const UOp& u) { return std::get<int64_t>(u->arg); }

} // namespace

TEST_CASE("a where binding is built once per firing and later bindings use earlier ones", "[kernel_rules]") {
  auto lib = lib_of("group g { [split] SINK(x<index>) => SINK(a, a, b) "
                    "where a = RANGE<index>[fresh(r)](x), b = RANGE<index>[fresh(r)](a + 1); }\npass p = g;");
  UOp v = UOp::var("v", 1, 9), w = UOp::var("w", 1, 9);
  UOp r = run(*lib, "p", sink({sink({v}), sink({w})}));
  REQUIRE(r->src.size() == 2);
  const UOp &first = r->src[0], &second = r->src[1];
  REQUIRE(first->src.size() == 3);
  CHECK(first->src[0] == first->src[1]); // one node: a fresh() evaluated once, not once per use
  CHECK(first->src[2]->src[0]->src[0] == first->src[0]);
  // one counter per graph_rewrite call: the second firing goes on where the first stopped
  CHECK(number(first->src[0]) == 0);
  CHECK(number(first->src[2]) == 1);
  CHECK(number(second->src[0]) == 2);
  CHECK(number(second->src[2]) == 3);
  CHECK(first->src[0]->src[0] == v);
  // a new call starts again from 0: the ids depend only on the graph
  UOp again = run(*lib, "p", sink({sink({v}), sink({w})}));
  CHECK(again == r);
}

TEST_CASE("counters of different names count separately", "[kernel_rules]") {
  auto lib = lib_of("group g { [two] SINK(x<index>) => SINK(RANGE<index>[fresh(a)](x), RANGE<index>[fresh(b)](x), "
                    "RANGE<index>[fresh(a)](x)); }\npass p = g;");
  UOp r = run(*lib, "p", sink({UOp::var("v", 1, 9)}));
  REQUIRE(r->src.size() == 3);
  CHECK(number(r->src[0]) == 0);
  CHECK(number(r->src[1]) == 0);
  CHECK(number(r->src[2]) == 1);
}

TEST_CASE("ranges(x) lists the RANGEs open at x by number; a REDUCE closes its own", "[kernel_rules]") {
  auto lib = lib_of("group g {\n"
                    "  [outer] SINK(REDUCE[ADD](x, ...rs)) => SINK(...without(ranges(x), rs));\n"
                    "  [inner] SINK(REDUCE[MUL](x, r, ...rs)) => SINK(...without(ranges(x), (r, ...rs)), ...without(rs, r));\n"
                    "  [open] SINK(y<index>) => SINK(...ranges(y));\n"
                    "}\npass p = g (order=walk);");
  // numbers out of the order the walk meets them, to see the sort
  UOp ra = range(7, 4), rb = range(2, 8), rc = range(5, 3);
  UOp x = UOp::alu(Op::ADD, {rc, UOp::alu(Op::MUL, {ra, rc})});
  UOp red = reduce(Op::ADD, x, {rc});
  UOp y = UOp::alu(Op::ADD, {red, rb});
  CHECK(run(*lib, "p", sink({y})) == sink({rb, ra})); // rc is closed by the REDUCE
  CHECK(run(*lib, "p", sink({x})) == sink({rc, ra}));
  CHECK(run(*lib, "p", sink({ra})) == sink({ra})); // a RANGE is open at itself
  CHECK(run(*lib, "p", sink({cst(3)})) == sink({}));
  CHECK(run(*lib, "p", sink({red})) == sink({ra})); // ranges(x) without the REDUCE's own
  UOp max = reduce(Op::MAX, x, {rc});
  CHECK(run(*lib, "p", sink({max})) == sink({ra})); // REDUCE[ADD] does not match a MAX: [open] does, after it
  // END closes its ranges as REDUCE does
  auto ends = lib_of("group g { [open_end] SINK(e:END) => SINK(...ranges(e)); }\npass p = g (order=walk);");
  UOp end = UOp::make(Op::END, DType::void_, {sink({y}), rc, rb});
  CHECK(run(*ends, "p", sink({end})) == sink({ra}));
  // a list written out: (r, ...rs), and a capture as a list of one
  UOp mul = reduce(Op::MUL, x, {rc, ra});
  CHECK(run(*lib, "p", sink({mul})) == sink({ra}));
}

TEST_CASE("an op name as an arg pattern matches the number of that op", "[kernel_rules]") {
  auto lib = lib_of("group g { [max_of] REDUCE<t>[MAX](x, ...rs) => REDUCE<t>[ADD](x, ...rs); }\npass p = g;");
  UOp r0 = range(0, 4), x = UOp::alu(Op::MUL, {r0, cst(3)});
  CHECK(run(*lib, "p", reduce(Op::MAX, x, {r0})) == reduce(Op::ADD, x, {r0}));
  CHECK(run(*lib, "p", reduce(Op::MUL, x, {r0})) == reduce(Op::MUL, x, {r0}));
}

TEST_CASE("lowest(t) is -inf for floats, the minimum for integers and false for bool", "[kernel_rules]") {
  auto lib = lib_of("group g { [low] SINK(_x<t>) => SINK(CONST<t>[lowest(t)]); }");
  const Rule& low = *lib->rule("low");
  auto lowest = [&](DType d) {
    auto r = apply_rule(low, sink({UOp::var("v", 0, 1, DType::index)->dtype == d ? UOp::var("v", 0, 1)
                                                                                 : UOp::constant(d, uops::Value{})}));
    REQUIRE(r);
    REQUIRE((*r)->src[0]->op == Op::CONST);
    CHECK((*r)->src[0]->dtype == d);
    return (*r)->src[0]->value();
  };
  CHECK(lowest(DType::f32).f == -INFINITY);
  CHECK(lowest(DType::f16).f == -INFINITY);
  CHECK(lowest(DType::i32).i == INT32_MIN);
  CHECK(lowest(DType::i8).i == -128);
  CHECK(lowest(DType::u16).i == 0);
  CHECK(lowest(DType::index).i == INT64_MIN);
  CHECK(lowest(DType::bool_).i == 0);
}

TEST_CASE("tuples: an arg list matched by its head, built from lists and computed from shapes", "[kernel_rules]") {
  auto lib = lib_of("group g {\n"
                    "  [max_axes] REDUCE_AXIS[(MAX, ...axes)](x) => REDUCE_AXIS[(ADD, ...axes)](x);\n"
                    "  [permute_back] PERMUTE(PERMUTE[p](x)) if p.arg == inverse(p.arg) => x;\n"
                    "  [pad_shape] PAD[(0, 0, 1, 1)](x) => PAD[interleave(x.shape * 0, x.shape - 1) + 1](x);\n"
                    "  [pad_swap] n:PAD[(0, 1, ...)](x) => PAD[interleave(odds(n.arg), evens(n.arg))](x);\n"
                    "}\npass p = g;");
  UOp buf = UOp::make(Op::BUFFER, DType::f32, {}, uops::Ints{0, 24});
  UOp x = UOp::make(Op::RESHAPE, DType::f32, {buf}, uops::Ints{2, 3, 4});
  auto movement = [](Op op, const UOp& src, uops::Ints arg) { return UOp::make(op, src->dtype, {src}, arg); };
  CHECK(run(*lib, "p", movement(Op::REDUCE_AXIS, x, {int64_t(Op::MAX), 0, 2})) ==
        movement(Op::REDUCE_AXIS, x, {int64_t(Op::ADD), 0, 2}));
  // a swap is its own inverse; a rotation is not
  CHECK(run(*lib, "p", movement(Op::PERMUTE, movement(Op::PERMUTE, x, {1, 0, 2}), {0, 1, 2})) == x);
  UOp rotated = movement(Op::PERMUTE, movement(Op::PERMUTE, x, {1, 2, 0}), {0, 1, 2});
  CHECK(run(*lib, "p", rotated) == rotated);
  UOp y = movement(Op::RESHAPE, buf, {6, 4});
  // (6, 4) * 0 = (0, 0) and (6, 4) - 1 = (5, 3) interleaved, plus 1: (1, 6, 1, 4)
  CHECK(run(*lib, "p", movement(Op::PAD, y, {0, 0, 1, 1})) == movement(Op::PAD, y, {1, 6, 1, 4}));
  // (0, 1, 2, 3): odds (1, 3), evens (0, 2); then (1, 0, 3, 2) no longer matches
  CHECK(run(*lib, "p", movement(Op::PAD, y, {0, 1, 2, 3})) == movement(Op::PAD, y, {1, 0, 3, 2}));
}

TEST_CASE("accumulator rules of the kernel layer type-check", "[kernel_rules]") {
  lib_of("group acc {\n"
         "  [acc_add] REDUCE<t>[ADD](x, ...rs) => AFTER<t>(acc, END(ASSIGN(acc, AFTER<t>(acc, init, ...rs) + x), ...rs))\n"
         "      where acc = DEFINE_ACC<t>[fresh(acc)], init = ASSIGN(acc, CONST<t>[0], ...without(ranges(x), rs));\n"
         "  [acc_max] REDUCE<t>[MAX](x, ...rs) => AFTER<t>(acc, END(ASSIGN(acc, MAX(AFTER<t>(acc, init, ...rs), x)), ...rs))\n"
         "      where acc = DEFINE_ACC<t>[fresh(acc)], init = ASSIGN(acc, CONST<t>[lowest(t)], ...without(ranges(x), rs));\n"
         "}");
}
