// The gradients of movement ops are rules on integer lists (gradient.pat): the node each builds, for one example
// each. gradcheck (tests/frontend/autograd_test.cpp) checks their values.
#include "rewriter/rewriter.h"
#include <catch2/catch.hpp>

using namespace patgrad;
using namespace patgrad::rewriter;
using uops::DType;
using uops::Ints;
using uops::Op;
using uops::UOp;

namespace {

UOp move(Op op, const UOp& x, Ints arg) { return UOp::make(op, x->dtype, {x}, std::move(arg)); }

// The gradient the `grad` pass gives the one source of node, for an incoming gradient g.
UOp grad_of(const UOp& node, const UOp& g) {
  auto r = rewrite_node(UOp::make(Op::GRAD, DType::void_, {node, g}), *builtin_library().pass("grad"));
  REQUIRE(bool(r));
  REQUIRE(r->has_value());
  REQUIRE((**r)->op == Op::TUPLE);
  return (**r)->src[0];
}

} // namespace

TEST_CASE("movement gradients map g back onto the source's shape", "[gradient]") {
  UOp buf = UOp::make(Op::BUFFER, DType::f32, {}, Ints{0, 24}),
      gbuf = UOp::make(Op::BUFFER, DType::f32, {}, Ints{1, 1000});
  UOp x = move(Op::RESHAPE, buf, {2, 3, 4});
  auto g_like = [&](const UOp& node) {
    return move(Op::RESHAPE, move(Op::SHRINK, gbuf, {0, uops::prod(node->shape)}),
                Ints(node->shape.begin(), node->shape.end()));
  };
  UOp pad = move(Op::PAD, x, {1, 2, 0, 0, 3, 1}), g = g_like(pad);
  CHECK(grad_of(pad, g) == move(Op::SHRINK, g, {1, 3, 0, 3, 3, 7}));
  UOp shrink = move(Op::SHRINK, x, {1, 2, 0, 3, 1, 3});
  g = g_like(shrink);
  CHECK(grad_of(shrink, g) == move(Op::PAD, g, {1, 0, 0, 0, 1, 1}));
  UOp permute = move(Op::PERMUTE, x, {2, 0, 1});
  g = g_like(permute);
  CHECK(grad_of(permute, g) == move(Op::PERMUTE, g, {1, 2, 0}));
  UOp expand = move(Op::EXPAND, move(Op::RESHAPE, x, {2, 1, 3, 1, 4}), {2, 5, 3, 6, 4});
  g = g_like(expand);
  CHECK(grad_of(expand, g) == move(Op::REDUCE_AXIS, g, {int64_t(Op::ADD), 1, 3}));
  UOp same = move(Op::EXPAND, x, {2, 3, 4});
  CHECK(grad_of(same, x) == x); // nothing expanded: g itself
  UOp sum = move(Op::REDUCE_AXIS, x, {int64_t(Op::ADD), 1});
  g = g_like(sum);
  CHECK(grad_of(sum, g) == move(Op::EXPAND, g, {2, 3, 4}));
}
