// fuzz_tensors' programs: a list of steps, each a Tensor API call on earlier steps' results, with the reference's
// result of each (tensor_reference.h). random_program draws one from a seed; the op tables say which calls it draws.
#pragma once
#include "tests/fuzz/tensor_reference.h"

namespace patgrad::tensor_fuzz {

// ---- the ops the generator draws from: one row each. A new elementwise op is a row here, its reference in
// tensor_reference.cpp.

struct UnaryOp {
  const char* name;
  Tensor (Tensor::*apply)() const;
  bool to_float; // integers and bool become f32 first, as the API does
  bool on_bool;
  MaybeElem (*ref)(DType d, const Elem& a);
};
inline const UnaryOp kUnary[] = {
    {"neg", &Tensor::neg, false, false, ref_neg},      {"exp2", &Tensor::exp2, true, true, ref_exp2},
    {"log2", &Tensor::log2, true, true, ref_log2},     {"sqrt", &Tensor::sqrt, true, true, ref_sqrt},
    {"sin", &Tensor::sin, true, true, ref_sin},        {"reciprocal", &Tensor::reciprocal, true, true, ref_reciprocal},
    {"trunc", &Tensor::trunc, false, true, ref_trunc},
};

struct BinaryOp {
  const char* name;
  Tensor (Tensor::*apply)(const Tensor&) const;
  Domain domain;
  ElemOp ref; // in the operands' promoted dtype
};
template <Arith op>
MaybeElem arith_ref(DType d, const Elem& a, const Elem& b) {
  return arith(op, d, a, b);
}
template <Cmp op>
MaybeElem compare_ref(DType d, const Elem& a, const Elem& b) {
  return compare(op, d, a, b);
}
inline const BinaryOp kBinary[] = {
    {"add", &Tensor::add, Domain::ARITH, arith_ref<Arith::ADD>},
    {"sub", &Tensor::sub, Domain::ARITH, arith_ref<Arith::SUB>},
    {"mul", &Tensor::mul, Domain::ARITH, arith_ref<Arith::MUL>},
    {"div", &Tensor::div, Domain::FLOAT, arith_ref<Arith::DIV>},
    {"maximum", &Tensor::maximum, Domain::ANY, arith_ref<Arith::MAX>},
    {"minimum", &Tensor::minimum, Domain::ANY, arith_ref<Arith::MIN>},
    {"lt", &Tensor::lt, Domain::CMP, compare_ref<Cmp::LT>},
    {"eq", &Tensor::eq, Domain::CMP, compare_ref<Cmp::EQ>},
    {"ne", &Tensor::ne, Domain::CMP, compare_ref<Cmp::NE>},
};

// t op c and c op t with a Python-style scalar: the free operators
struct ScalarOp {
  const char* symbol;
  int binary; // the row of kBinary it computes
  Tensor (*right)(const Tensor&, double);
  Tensor (*left)(double, const Tensor&);
};
inline const ScalarOp kScalar[] = {
    {"+", 0, [](const Tensor& t, double c) { return t + c; }, [](double c, const Tensor& t) { return c + t; }},
    {"-", 1, [](const Tensor& t, double c) { return t - c; }, [](double c, const Tensor& t) { return c - t; }},
    {"*", 2, [](const Tensor& t, double c) { return t * c; }, [](double c, const Tensor& t) { return c * t; }},
    {"/", 3, [](const Tensor& t, double c) { return t / c; }, [](double c, const Tensor& t) { return c / t; }},
};

struct ReduceOp {
  const char* name;
  Tensor (Tensor::*apply)(const Shape&, bool) const;
  Arith op;
};
inline const ReduceOp kReduce[] = {
    {"sum", &Tensor::sum, Arith::ADD}, {"max", &Tensor::max, Arith::MAX}, {"prod", &Tensor::prod, Arith::MUL}};

enum class Kind {
  DATA,
  FULL,
  ARANGE,
  UNARY,
  BINARY,
  SCALAR,
  WHERE,
  CAST,
  BITCAST,
  RESHAPE,
  PERMUTE,
  EXPAND,
  PAD,
  SHRINK,
  FLIP,
  CONTIGUOUS,
  REALIZE,
  REDUCE
};
using Pairs = std::vector<std::pair<int64_t, int64_t>>;
struct Step {
  Kind kind;
  int op = 0;               // the row of kUnary, kBinary, kScalar or kReduce
  std::vector<int> in;      // operands: earlier steps
  Shape ints;               // the argument of reshape, permute, expand, flip and reductions; arange: start, stop, step
  Pairs pairs;              // pad, shrink
  double value = 0;         // scalar ops' constant, pad's and full's value
  bool flag = false;        // reductions: keepdim; scalar ops: the constant comes first
  DType dtype = DType::f32; // leaves, cast, bitcast
  Array out;                // the reference's result; for DATA, the data
};

struct Program {
  std::vector<Step> steps;
  size_t probe; // an intermediate step to check besides the last
};
// A program of up to ten steps (and the leaves they need), every tensor small; the same seed, the same program.
Program random_program(uint64_t seed);
// The program as Tensor calls, one step a line, with the command that reproduces it.
std::string listing(const Program& p, uint64_t seed);
std::string str(const Shape& s, const char* open = "(", const char* close = ")");
std::string str(DType d, const Elem& e);

} // namespace patgrad::tensor_fuzz
