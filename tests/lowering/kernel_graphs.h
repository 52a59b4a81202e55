// Small hand-built kernel graphs for the tests of the lowering stages and the renderers: helpers that build the kernel
// ops as the scheduler does (RANGE(n)[number], DEFINE_GLOBAL<t>[param], LOAD, STORE, REDUCE[op], END, SINK), and the
// passes of the built-in library run one at a time.
#pragma once
#include "lowering/lowering.h"
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace patgrad::testing {

using uops::DType;
using uops::Op;
using uops::UOp;

inline UOp idx(int64_t v) { return UOp::constant(DType::index, v); }
inline UOp f32(double v) { return UOp::constant(DType::f32, uops::float_value(DType::f32, v)); }
inline UOp i32(int64_t v) { return UOp::constant(DType::i32, v); }
inline UOp range(int64_t number, int64_t size) { return UOp::make(Op::RANGE, DType::index, {idx(size)}, number); }
inline UOp global(int64_t param, DType dtype = DType::f32) { return UOp::make(Op::DEFINE_GLOBAL, dtype, {}, param); }
inline UOp load(const UOp& g, const UOp& i) { return UOp::make(Op::LOAD, g->dtype, {g, i}); }
inline UOp store(const UOp& g, const UOp& i, const UOp& v) { return UOp::make(Op::STORE, DType::void_, {g, i, v}); }
inline UOp add(const UOp& a, const UOp& b) { return UOp::alu(Op::ADD, {a, b}); }
inline UOp mul(const UOp& a, const UOp& b) { return UOp::alu(Op::MUL, {a, b}); }
inline UOp with_ranges(Op op, DType dtype, UOp first, std::vector<UOp> ranges, uops::Arg arg = {}) {
  ranges.insert(ranges.begin(), std::move(first));
  return UOp::make(op, dtype, ranges, std::move(arg));
}
inline UOp reduce(Op op, const UOp& x, std::vector<UOp> ranges) {
  return with_ranges(Op::REDUCE, x->dtype, x, std::move(ranges), int64_t(op));
}
inline UOp end(const UOp& x, std::vector<UOp> ranges) {
  return with_ranges(Op::END, DType::void_, x, std::move(ranges));
}
inline UOp sink(std::vector<UOp> src) { return UOp::make(Op::SINK, DType::void_, src); }
inline UOp acc(DType dtype, int64_t number) { return UOp::make(Op::DEFINE_ACC, dtype, {}, number); }
inline UOp assign(const UOp& a, const UOp& v, std::vector<UOp> after = {}) {
  after.insert(after.begin(), v);
  return with_ranges(Op::ASSIGN, DType::void_, a, std::move(after));
}
inline UOp after(const UOp& a, std::vector<UOp> deps) { return with_ranges(Op::AFTER, a->dtype, a, std::move(deps)); }
inline int64_t number(const UOp& u) { return std::get<int64_t>(u->arg); }

inline std::string message(llvm::Error e) { return e ? llvm::toString(std::move(e)) : ""; }

template <class T>
T expect_ok(llvm::Expected<T> v) {
  std::string err = v ? "" : llvm::toString(v.takeError());
  INFO(err);
  REQUIRE(err == "");
  return std::move(*v);
}

template <class T>
std::string expect_error(llvm::Expected<T> v) {
  REQUIRE(!v);
  return llvm::toString(v.takeError());
}

// One pass of the built-in library (patterns/pipeline.pat) over a graph.
inline UOp run_pass(const std::string& name, const UOp& root) {
  const rewriter::Pass* pass = rewriter::builtin_library().pass(name);
  REQUIRE(pass);
  return expect_ok(rewriter::graph_rewrite(root, *pass));
}

// Every node reachable from root with this op.
inline std::vector<UOp> nodes_of(const UOp& root, Op op) {
  std::vector<UOp> out;
  for (const UOp& n : uops::toposort({root}))
    if (n->op == op) out.push_back(n);
  return out;
}

} // namespace patgrad::testing
