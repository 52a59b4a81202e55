// dtypes: scalar element types. index is the type of tensor indices and shapes: an unbounded integer, evaluated as
// checked 64-bit where overflow is reported instead of wrapped. void is the dtype of SINK and other non-values.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace patgrad::uops {

// DTYPE(name, spelling, bits, kind); kind: B bool, S signed, U unsigned, F float, I index, V void.
#define PATGRAD_DTYPES(DTYPE)                                                                                          \
  DTYPE(bool_, "bool", 1, B)                                                                                           \
  DTYPE(i8, "i8", 8, S) DTYPE(i16, "i16", 16, S) DTYPE(i32, "i32", 32, S) DTYPE(i64, "i64", 64, S)                     \
  DTYPE(u8, "u8", 8, U) DTYPE(u16, "u16", 16, U) DTYPE(u32, "u32", 32, U) DTYPE(u64, "u64", 64, U)                     \
  DTYPE(f16, "f16", 16, F) DTYPE(bf16, "bf16", 16, F) DTYPE(f32, "f32", 32, F) DTYPE(f64, "f64", 64, F)                \
  DTYPE(index, "index", 64, I) DTYPE(void_, "void", 0, V)

enum class DType : uint8_t {
#define PATGRAD_DTYPE_ENUM(name, spelling, bits, kind) name,
  PATGRAD_DTYPES(PATGRAD_DTYPE_ENUM)
#undef PATGRAD_DTYPE_ENUM
};
constexpr int num_dtypes = int(DType::void_) + 1;

// A set of dtypes, one bit each; the pattern language's dtype classes are these.
using DTypeSet = uint32_t;
constexpr DTypeSet bit(DType d) { return DTypeSet(1) << int(d); }

std::string_view name(DType d);
std::optional<DType> parse_dtype(std::string_view spelling);
int bits(DType d);
bool is_bool(DType d);
bool is_int(DType d);      // fixed-width integers and index, not bool
bool is_signed(DType d);   // signed fixed-width integers and index
bool is_unsigned(DType d); // unsigned fixed-width integers
bool is_float(DType d);
bool is_fixed_int(DType d); // fixed-width integers: they wrap

// classes: the operand classes of the op table
constexpr DTypeSet BOOL = bit(DType::bool_);
constexpr DTypeSet SINTS = bit(DType::i8) | bit(DType::i16) | bit(DType::i32) | bit(DType::i64);
constexpr DTypeSet UINTS = bit(DType::u8) | bit(DType::u16) | bit(DType::u32) | bit(DType::u64);
constexpr DTypeSet INT = SINTS | UINTS | bit(DType::index);
constexpr DTypeSet FLOAT = bit(DType::f16) | bit(DType::bf16) | bit(DType::f32) | bit(DType::f64);
constexpr DTypeSet ALL = BOOL | INT | FLOAT;

// Smallest and largest value of an integer or bool dtype (index: the 64-bit range it is checked against).
__int128 dtype_min(DType d);
__int128 dtype_max(DType d);

} // namespace patgrad::uops
