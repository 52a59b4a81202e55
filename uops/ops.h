// The op table (ops.def) as C++, and the reference semantics every part of patgrad shares: constant folding, the
// INTERP device, the rule fuzzer and the Z3 encoder all mean what eval() computes.
#pragma once
#include "uops/dtype.h"
#include <bit>
#include <optional>
#include <span>
#include <string_view>

namespace patgrad::uops {

enum class Op : uint8_t {
#define OP(name, arity, props, infix, typing, operands) name,
#include "uops/ops.def"
#undef OP
};
constexpr int num_ops = 0
#define OP(name, arity, props, infix, typing, operands) +1
#include "uops/ops.def"
#undef OP
    ;
static_assert(num_ops <= 128, "source-op masks are 128 bits");

enum OpProps : uint8_t { COMM = 1, ASSOC = 2 };
enum class Typing : uint8_t { LEAF, SAME, CMP, SELECT, CONVERT, FREE };

struct OpInfo {
  std::string_view name;
  int arity; // -1: variadic
  uint8_t props;
  std::string_view infix; // the pattern language's operator, "" if none
  Typing typing;
  DTypeSet operands; // dtypes the op is defined on (for SELECT: the selected values)
};
const OpInfo& op_info(Op op);
std::optional<Op> parse_op(std::string_view name);
std::optional<Op> op_for_infix(std::string_view infix);
inline bool is_commutative(Op op) { return op_info(op).props & COMM; }

// A scalar of a dtype known from context: integers and bool in i (normalized to the dtype: sign- or zero-extended,
// u64 as its bit pattern), floats in f (f16, bf16 and f32 values are exactly representable as double).
struct Value {
  int64_t i = 0;
  double f = 0;
  // identical representation (interning); same_value() is the semantic comparison
  bool operator==(const Value& o) const { return i == o.i && std::bit_cast<uint64_t>(f) == std::bit_cast<uint64_t>(o.f); }
};
bool same_value(DType d, Value a, Value b); // bit-exact for floats (-0 != +0), any NaN equals any NaN
Value int_value(DType d, __int128 v);       // wraps to the dtype
Value float_value(DType d, double v);       // rounds to the dtype
__int128 as_wide(DType d, Value v);         // an integer or bool as its mathematical value

// The result of op on args whose dtype is `in` (the sources' dtype: src 1 for WHERE), producing `out`.
// nullopt: undefined (division by zero, signed MIN // -1, a shift outside [0, bits), index overflow, a float to int
// conversion out of range).
std::optional<Value> eval(Op op, DType out, DType in, std::span<const Value> args);

// Bit patterns of floats in their own width (for BITCAST and for printing).
uint64_t float_bits(DType d, double v);
double float_from_bits(DType d, uint64_t bits);

} // namespace patgrad::uops
