// The infix syntax of `patgrad rewrite`: Python's expression syntax over index and bool values. infix() in uop.h
// prints it; parse_infix reads it back.
//   integers (index), names (DEFINE_VAR), true, false, ( ), unary -, max(a,b), min(a,b), where(c,a,b), the binary
//   operators of the op table (ops.def) but / (there are no float literals), and > and >= (CMPLT and CMPLE with the
//   operands swapped).
//   a<b<c chains as in Python: (a<b)&(b<c). -5 is a negative literal; -x is x*-1.
// parse_infix(infix(u)) == u for every node parse_infix can build, except that infix spells x+y*-1 and x+-c as x-y and
// x-c, which read back as SUB (the same value wherever both are defined); the printed text is then a fixed point.
#pragma once
#include "uops/uop.h"
#include <llvm/Support/Error.h>
#include <map>
#include <string>
#include <string_view>

namespace patgrad::uops {

// Binding strength of the operators, loosest first, as in Python.
enum class Prec : uint8_t { CMP, BOR, BXOR, BAND, SHIFT, SUM, PRODUCT, UNARY, ATOM };
inline Prec tighter(Prec p) { return Prec(int(p) + 1); }
Prec infix_prec(Op op); // ATOM for an op without an infix operator

// Name -> inclusive bounds of the DEFINE_VARs; a name not listed spans the whole int64 range.
using VarBounds = std::map<std::string, std::pair<int64_t, int64_t>, std::less<>>;

// Errors read `1:5: error: expected ')' after arguments of max, found '+'`, then the line and a caret under the column.
llvm::Expected<UOp> parse_infix(std::string_view text, const VarBounds& bounds);

} // namespace patgrad::uops
