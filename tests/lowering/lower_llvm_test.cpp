// The lower_llvm rules (patterns/target_cpu.pat, the CPU's `lower_cpu` pass): what LLVM IR does not say directly, in
// its terms. A gated LOAD reads index 0 where the gate is false and yields 0 there; a bool is a byte in memory.
#include "tests/lowering/kernel_graphs.h"

using namespace patgrad;
using namespace patgrad::testing;

namespace {

UOp gated_load(const UOp& g, const UOp& i, const UOp& gate) { return UOp::make(Op::LOAD, g->dtype, {g, i, gate}); }
UOp cast(DType d, const UOp& x) { return UOp::make(Op::CAST, d, {x}); }
UOp where(const UOp& c, const UOp& a, const UOp& b) { return UOp::alu(Op::WHERE, {c, a, b}); }

} // namespace

TEST_CASE("lower_llvm: a gated LOAD becomes WHERE(c, LOAD(g, WHERE(c, i, 0)), 0)", "[lowering][lower_llvm]") {
  UOp r0 = range(0, 8), g = global(1);
  UOp c = UOp::alu(Op::CMPLT, {r0, idx(5)}), i = add(r0, idx(3));
  UOp ast = sink({end(store(global(0), r0, gated_load(g, i, c)), {r0})});
  UOp want = sink({end(store(global(0), r0, where(c, load(g, where(c, i, idx(0))), f32(0))), {r0})});
  CHECK(run_pass("lower_cpu", ast) == want);
  SECTION("of an integer dtype") {
    UOp gi = global(1, DType::i32);
    UOp got = run_pass("lower_cpu", sink({store(global(0, DType::i32), idx(0), gated_load(gi, i, c))}));
    CHECK(got == sink({store(global(0, DType::i32), idx(0), where(c, load(gi, where(c, i, idx(0))), i32(0)))}));
  }
}

TEST_CASE("lower_llvm: a bool is loaded and stored as a byte", "[lowering][lower_llvm]") {
  UOp gb = global(1, DType::bool_), ob = global(0, DType::bool_);
  SECTION("LOAD<bool> becomes CAST<bool>(LOAD<u8>)") {
    UOp ast = sink({store(global(0), idx(0), where(load(gb, idx(2)), f32(1), f32(2)))});
    UOp byte = UOp::make(Op::LOAD, DType::u8, {gb, idx(2)});
    CHECK(run_pass("lower_cpu", ast) ==
          sink({store(global(0), idx(0), where(cast(DType::bool_, byte), f32(1), f32(2)))}));
  }
  SECTION("STORE of a bool stores CAST<u8>") {
    UOp v = UOp::alu(Op::CMPLT, {load(global(1), idx(0)), f32(0)});
    UOp got = run_pass("lower_cpu", sink({store(ob, idx(0), v)}));
    CHECK(got == sink({store(ob, idx(0), cast(DType::u8, v))}));
  }
  SECTION("a gated LOAD<bool> gets both: the select is of i1, the load of a byte") {
    UOp c = UOp::alu(Op::CMPLT, {UOp::var("v", 0, 9), idx(3)});
    UOp got = run_pass("lower_cpu", sink({store(ob, idx(0), gated_load(gb, idx(1), c))}));
    UOp byte = UOp::make(Op::LOAD, DType::u8, {gb, where(c, idx(1), idx(0))});
    UOp value = where(c, cast(DType::bool_, byte), UOp::constant(DType::bool_, 0));
    CHECK(got == sink({store(ob, idx(0), cast(DType::u8, value))}));
  }
}

TEST_CASE("lower_llvm: an ungated LOAD and a STORE of a non-bool are left alone", "[lowering][lower_llvm]") {
  UOp r0 = range(0, 4);
  UOp ast = sink({end(store(global(0, DType::u8), r0, load(global(1, DType::u8), r0)), {r0})});
  CHECK(run_pass("lower_cpu", ast) == ast);
}
