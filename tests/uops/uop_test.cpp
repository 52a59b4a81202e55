// UOp: interning (equal fields, one node), lifetime (nodes go with their last handle, however deep), and the
// validation that make() applies.
#include "uops/uop.h"
#include <catch2/catch.hpp>
#include <cmath>

using namespace patgrad::uops;

TEST_CASE("nodes with equal fields are one node", "[uop]") {
  UOp a = UOp::var("a", 0, 10), one = UOp::constant(DType::index, 1);
  CHECK(UOp::var("a", 0, 10) == a);
  CHECK(UOp::var("a", 0, 10).get() == a.get());
  CHECK(UOp::alu(Op::ADD, {a, one}) == UOp::alu(Op::ADD, {a, one}));
  CHECK(UOp::make(Op::ADD, DType::index, {a, one}) == UOp::alu(Op::ADD, {a, one}));

  CHECK(UOp::var("a", 0, 11) != a);
  CHECK(UOp::var("b", 0, 10) != a);
  CHECK(UOp::var("a", 0, 10, DType::i32) != a);
  CHECK(UOp::constant(DType::i32, 1) != one);
  CHECK(UOp::alu(Op::ADD, {one, a}) != UOp::alu(Op::ADD, {a, one})); // interning is structural, not algebraic
}

TEST_CASE("float constants intern by bits: -0.0 and 0.0 differ, NaN equals NaN", "[uop]") {
  UOp zero = UOp::constant(DType::f32, Value{0, 0.0}), negative_zero = UOp::constant(DType::f32, Value{0, -0.0});
  CHECK(zero != negative_zero);
  CHECK(UOp::constant(DType::f32, Value{0, -0.0}) == negative_zero);
  UOp nan = UOp::constant(DType::f32, Value{0, std::nan("")});
  CHECK(UOp::constant(DType::f32, Value{0, std::nan("")}) == nan);
  CHECK(UOp::constant(DType::f64, Value{0, std::nan("")}) != nan);
}

TEST_CASE("a constant of an integer dtype holds the wrapped value", "[uop]") {
  CHECK(UOp::constant(DType::u8, 256 + 7) == UOp::constant(DType::u8, 7));
  CHECK(UOp::constant(DType::i8, 255)->value().i == -1);
  CHECK(UOp::constant(DType::bool_, 5) == UOp::constant(DType::bool_, 1));
}

TEST_CASE("live nodes return to the baseline after building and dropping ten 1M-deep chains", "[uop]") {
  UOp one = UOp::constant(DType::index, 1); // before the baseline: other tests' caches may hold it already
  const size_t baseline = live_uops();
  for (int chain = 0; chain < 10; chain++) {
    // a fresh var per chain, so every chain is 1M new nodes
    UOp x = UOp::var("chain" + std::to_string(chain), 0, 10);
    for (int i = 0; i < 1000000; i++) x = UOp::alu(Op::ADD, {x, one});
    REQUIRE(live_uops() == baseline + 1000001);
    CHECK(x->vmin == 1000000);
    // dropping the last handle frees the whole chain, iteratively
  }
  CHECK(live_uops() == baseline);
}

TEST_CASE("a node shared by live nodes outlives its other handles", "[uop]") {
  const size_t baseline = live_uops();
  UOp sum;
  {
    UOp a = UOp::var("a", 0, 10);
    sum = UOp::alu(Op::ADD, {a, a});
  }
  CHECK(live_uops() == baseline + 2);
  CHECK(sexpr(sum) == "(ADD:index (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index a[0..10]))");
  sum = UOp();
  CHECK(live_uops() == baseline);
}

TEST_CASE("invalid_reason describes malformed nodes and accepts well-formed ones", "[uop]") {
  UOp a = UOp::var("a", 0, 10), one = UOp::constant(DType::index, 1), yes = UOp::constant(DType::bool_, 1);
  UOp f = UOp::constant(DType::f32, Value{0, 1.0}), i = UOp::constant(DType::i32, 1);
  struct Case {
    Op op;
    DType dtype;
    std::vector<UOp> src;
    Arg arg;
    const char* reason;
  };
  const Case cases[] = {
      {Op::ADD, DType::index, {a}, {}, "ADD takes 2 sources, not 1"},
      {Op::ADD, DType::index, {a, UOp()}, {}, "ADD has a null source"},
      {Op::ADD, DType::index, {a, yes}, {}, "ADD of index has a bool source"},
      {Op::ADD, DType::bool_, {yes, yes}, {}, "ADD is not defined on bool"},
      {Op::IDIV, DType::f32, {f, f}, {}, "IDIV is not defined on f32"},
      {Op::CMPLT, DType::index, {a, one}, {}, "CMPLT produces bool, not index"},
      {Op::CMPLT, DType::bool_, {a, i}, {}, "CMPLT compares index with i32"},
      {Op::WHERE, DType::index, {a, a, one}, {}, "WHERE needs a bool condition"},
      {Op::WHERE, DType::index, {yes, a, i}, {}, "WHERE selects between other dtypes"},
      {Op::BITCAST, DType::f16, {i}, {}, "BITCAST from i32 to f16 changes the width"},
      {Op::BITCAST, DType::i64, {a}, {}, "BITCAST from index to i64 changes the width"},
      {Op::CAST, DType::void_, {a}, {}, "CAST of void"},
      {Op::CONST, DType::index, {}, {}, "CONST needs a value"},
      {Op::CONST, DType::void_, {}, Value{0, 0}, "CONST is not defined on void"},
      {Op::CONST, DType::u8, {}, Value{300, 0}, "CONST of u8 holds {i: 300, f: 0}, not a u8 value"},
      {Op::CONST, DType::i32, {}, Value{1, 0.5}, "CONST of i32 holds {i: 1, f: 0.5}, not a i32 value"},
      {Op::CONST, DType::f16, {}, Value{0, 0.1}, "CONST of f16 holds {i: 0, f: 0.1}, not a f16 value"},
      {Op::DEFINE_VAR, DType::f32, {}, Var{"x", 0, 1}, "DEFINE_VAR needs bounds"},
      {Op::DEFINE_VAR, DType::index, {}, Var{"x", 5, 3}, "DEFINE_VAR x[5..3] holds no index value"},
      {Op::DEFINE_VAR, DType::i8, {}, Var{"x", 200, 300}, "DEFINE_VAR x[200..300] holds no i8 value"},
      {Op::ADD, DType::index, {a, one}, {}, ""},
      {Op::WHERE, DType::i32, {yes, i, i}, {}, ""},
      {Op::CMPNE, DType::bool_, {f, f}, {}, ""},
      {Op::BITCAST, DType::i32, {f}, {}, ""},
      {Op::CONST, DType::f16, {}, Value{0, 0.5}, ""},
      {Op::DEFINE_VAR, DType::i8, {}, Var{"x", -1000, 1000}, ""}, // clamped to the dtype
  };
  for (const Case& c : cases) {
    INFO(op_info(c.op).name << " expecting '" << c.reason << "'");
    CHECK(invalid_reason(c.op, c.dtype, c.src, c.arg) == c.reason);
  }
}
