// The reference fuzz_tensors compares patgrad with: host arrays and plain loops, with each dtype's semantics stated
// here rather than taken from patgrad (integers wrap at their width, floats round to nearest even in their format,
// numpy's promotion, the Tensor API's documented conversions).
//
// Each float element carries a drift bound: how far a correct implementation may be from the reference. It is 0 while
// every step is correctly rounded in a fixed order, and the element must then match bit for bit (the sign of zero
// included; NaN matches any NaN). The order of a float sum or product (2n eps sum |x|), a transcendental function (a
// few ulps) and earlier drift make it grow. An op gives nothing where it is undefined (a float to integer cast out of
// range) or where its result would hinge on the drift (trunc, a comparison or a cast to an integer near a boundary, an
// overflow or a NaN of a drifting value, the sign of a zero sum): the fuzzer does not generate it there.
#pragma once
#include "frontend/tensor.h"
#include <optional>

namespace patgrad::tensor_fuzz {

using Wide = __int128;

// An element: integers and bool in i, floats in f with their drift bound err.
struct Elem {
  Wide i = 0;
  double f = 0, err = 0;
};
using MaybeElem = std::optional<Elem>; // nothing: undefined, or the result would hinge on drift
struct Array {
  DType dtype;
  Shape shape;
  std::vector<Elem> v; // row-major
};

// ---- dtypes
Wide min_of(DType d);
Wide max_of(DType d);
Wide wrap(DType d, Wide v);              // to the dtype's width (bool: v != 0)
double round_to(DType d, long double x); // to nearest even in a float dtype's format, overflowing to infinity
DType promote(DType a, DType b);         // of two operands: numpy's rules
Elem constant(DType d, double x);        // x in dtype d, as Tensor::full converts it
uint64_t to_bits(DType d, const Elem& e);
Elem from_bits(DType d, uint64_t bits);

// ---- elements, in the operands' dtype d
MaybeElem cast(DType to, DType from, const Elem& a);
MaybeElem ref_neg(DType d, const Elem& a);
MaybeElem ref_exp2(DType d, const Elem& a);
MaybeElem ref_log2(DType d, const Elem& a);
MaybeElem ref_sqrt(DType d, const Elem& a);
MaybeElem ref_sin(DType d, const Elem& a);
MaybeElem ref_reciprocal(DType d, const Elem& a);
MaybeElem ref_trunc(DType d, const Elem& a);
enum class Arith { ADD, SUB, MUL, DIV, MAX, MIN };
MaybeElem arith(Arith op, DType d, const Elem& a, const Elem& b);
enum class Cmp { LT, EQ, NE };
MaybeElem compare(Cmp op, DType d, const Elem& a, const Elem& b); // bool

// ---- shapes
int64_t numel(const Shape& s);
std::optional<Shape> broadcast_shape(const Shape& a, const Shape& b);
Shape unravel(int64_t k, const Shape& s); // flat position to index
int64_t ravel(const Shape& idx, const Shape& s);

// ---- arrays

// out[idx] = a[where(idx)], or fill where it returns nothing
template <typename F>
Array gather(const Array& a, const Shape& shape, F where, Elem fill = {}) {
  Array r{a.dtype, shape, {}};
  for (int64_t k = 0; k < numel(shape); k++) {
    std::optional<Shape> from = where(unravel(k, shape));
    r.v.push_back(from ? a.v[size_t(ravel(*from, a.shape))] : fill);
  }
  return r;
}
Array broadcast_to(const Array& a, const Shape& shape);

// Each output element from the operands' elements (f(vector of Elem)), broadcast together; nothing if any element is
// nothing. The shapes must broadcast.
template <typename F>
std::optional<Array> elementwise(std::vector<Array> xs, DType out, F f) {
  Shape shape;
  for (const Array& x : xs) shape = *broadcast_shape(shape, x.shape);
  for (Array& x : xs) x = broadcast_to(x, shape);
  Array r{out, shape, {}};
  std::vector<Elem> args(xs.size());
  for (size_t k = 0; k < size_t(numel(shape)); k++) {
    for (size_t j = 0; j < xs.size(); j++) args[j] = xs[j].v[k];
    MaybeElem e = f(args);
    if (!e) return std::nullopt;
    r.v.push_back(*e);
  }
  return r;
}

std::optional<Array> cast_array(const Array& a, DType to);

// The Tensor API's ops on arrays: operands broadcast and promote; ARITH ops are not defined on bool, FLOAT ops turn
// integers and bool into f32 first, CMP ops give bool.
enum class Domain { ARITH, FLOAT, ANY, CMP };
using ElemOp = MaybeElem (*)(DType d, const Elem& a, const Elem& b);
std::optional<Array> binary_ref(Domain domain, ElemOp ref, Array a, Array b);
std::optional<Array> where_ref(const Array& cond, const Array& a, const Array& b);
std::optional<Array> bitcast_ref(const Array& a, DType to);
// sum (ADD), prod (MUL) and max (MAX) over axes (none: all of them)
std::optional<Array> reduce_ref(Arith op, const Array& x, const Shape& axes, bool keepdim);
// a Python-style scalar next to a tensor of dtype t: its dtype, and it as a 0-d array
DType scalar_dtype(DType t, double c);
Array scalar_array(DType d, double c);

} // namespace patgrad::tensor_fuzz
