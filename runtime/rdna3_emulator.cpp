// The RDNA3 wave32 emulator: decoding through LLVM's AMDGPU disassembler into a per-run cache, opcode tables keyed by
// LLVM's instruction names (the encoding suffixes stripped, so v_add_f32's e32, e64 and VOPD forms share one row),
// the scoreboard and hazard checks, and the workgroup scheduler. See the header for what it checks and why.
#include "runtime/rdna3_emulator.h"
#include <array>
#include <bit>
#include <cmath>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/StringMap.h>
#include <llvm/MC/MCAsmInfo.h>
#include <llvm/MC/MCContext.h>
#include <llvm/MC/MCDisassembler/MCDisassembler.h>
#include <llvm/MC/MCInst.h>
#include <llvm/MC/MCInstPrinter.h>
#include <llvm/MC/MCInstrInfo.h>
#include <llvm/MC/MCRegisterInfo.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/MCTargetOptions.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/raw_ostream.h>
#include <memory>

namespace patgrad::runtime::rdna3 {

namespace {

using u64 = uint64_t;

constexpr int wave_size = 32;
// The scalar operand space of the encoding: SGPRs 0-105, then special registers.
constexpr unsigned vcc_lo = 106, null_sgpr = 124, m0 = 125, exec_lo = 126, scalar_registers = 128;
// LLVM 19's AMDGPU operand types (SIDefines.h, not an installed header): a source's neg/abs modifier operand, and
// the 32-bit constant of v_fmaak/v_fmamk, which is a source although it has no register class.
constexpr uint8_t operand_input_mods = 54, operand_kimm32 = 41;
constexpr int64_t mod_neg = 1, mod_abs = 2;

llvm::Error error(std::string message) { return llvm::createStringError(llvm::inconvertibleErrorCode(), message); }

// ---- Lane semantics -------------------------------------------------------------------------------------------

float f32(u64 x) { return std::bit_cast<float>(uint32_t(x)); }
double f64(u64 x) { return std::bit_cast<double>(x); }
_Float16 f16(u64 x) { return std::bit_cast<_Float16>(uint16_t(x)); }
u64 bits(float x) { return std::bit_cast<uint32_t>(x); }
u64 bits(double x) { return std::bit_cast<u64>(x); }
u64 bits(_Float16 x) { return std::bit_cast<uint16_t>(x); }
int32_t i32(u64 x) { return int32_t(uint32_t(x)); }
uint32_t u32(u64 x) { return uint32_t(x); }
u64 sext(u64 x, int width) { return u64(int64_t(x << (64 - width)) >> (64 - width)); }

// v_cvt_i32_f32 and friends saturate and turn NaN into 0, where C++'s conversion is undefined.
template <class I>
u64 convert(double x) {
  if (std::isnan(x)) return 0;
  x = std::trunc(x);
  if (x <= double(std::numeric_limits<I>::min())) return u64(std::numeric_limits<I>::min()) & 0xffffffff;
  if (x >= double(std::numeric_limits<I>::max())) return u64(std::numeric_limits<I>::max()) & 0xffffffff;
  return u64(I(x)) & 0xffffffff;
}

u64 bfe(u64 a, u64 offset, u64 width, bool sign) {
  offset &= 31, width &= 31;
  if (width == 0) return 0;
  u64 field = (u32(a) >> offset) & ((u64(1) << width) - 1);
  return (sign ? sext(field, int(width)) : field) & 0xffffffff;
}

// v_cmp_class_f32: bit 0 signaling NaN, 1 quiet NaN, 2 -inf, 3 -normal, 4 -denormal, 5 -0, then 6-9 the same for +.
u64 float_class(u64 a, u64 mask) {
  float x = f32(a);
  bool negative = std::signbit(x);
  int bit = 0;
  switch (std::fpclassify(x)) {
  case FP_NAN: bit = (u32(a) & 0x400000) ? 1 : 0; break;
  case FP_INFINITE: bit = negative ? 2 : 9; break;
  case FP_NORMAL: bit = negative ? 3 : 8; break;
  case FP_SUBNORMAL: bit = negative ? 4 : 7; break;
  default: bit = negative ? 5 : 6; break;
  }
  return (mask >> bit) & 1;
}

enum class Type : uint8_t { B32, F16, F32, F64 }; // what neg/abs modifiers flip: the sign bit of this type

enum class Shape : uint8_t {
  Plain,         // d = f(a, b, c)
  Compare,       // lane bit of vcc_lo (e32) or an SGPR (e64) = f(a, b); inactive lanes get 0
  CompareExec,   // v_cmpx: exec = the compare's mask
  Select,        // d = f(a, b, lane bit of the mask source: the last source, vcc_lo when implicit)
  CarryOut,      // bit 32 of f(a, b) is the lane's carry, to vcc_lo or an SGPR
  CarryInOut,    // the same with a carry in, read as Select reads its mask
  MadU64,        // v_mad_u64_u32: 64-bit d = a * b + c, and the carry out of 64 bits
  MadI64,        // v_mad_i64_i32: the same signed, and the overflow
  ReadFirstLane, // an SGPR = a in the first active lane
};

using LaneFn = u64 (*)(u64 a, u64 b, u64 c);

struct ValuOp {
  Shape shape;
  Type type;
  uint8_t arity; // sources, as a VOPD half lists them
  bool trans;    // runs on the transcendental unit: its result has the VALUTransUseHazard
  LaneFn fn;
};

enum class Pred : uint8_t { F, LT, EQ, LE, GT, LG, GE, O, U, NGE, NLG, NGT, NLE, NEQ, NLT, T };

template <class T>
T as(u64 x) {
  if constexpr (std::is_same_v<T, float>)
    return f32(x);
  else if constexpr (std::is_same_v<T, double>)
    return f64(x);
  else if constexpr (std::is_same_v<T, _Float16>)
    return f16(x);
  else
    return T(x);
}

template <class T, Pred P>
u64 compare(u64 a, u64 b, u64) {
  T x = as<T>(a), y = as<T>(b);
  bool lt = x<y, eq = x == y, gt = x> y, unordered = !(x == x) || !(y == y);
  switch (P) {
  case Pred::F: return 0;
  case Pred::LT: return lt;
  case Pred::EQ: return eq;
  case Pred::LE: return lt || eq;
  case Pred::GT: return gt;
  case Pred::LG: return lt || gt;
  case Pred::GE: return gt || eq;
  case Pred::O: return !unordered;
  case Pred::U: return unordered;
  case Pred::NGE: return !(gt || eq);
  case Pred::NLG: return !(lt || gt);
  case Pred::NGT: return !gt;
  case Pred::NLE: return !(lt || eq);
  case Pred::NEQ: return !eq;
  case Pred::NLT: return !lt;
  case Pred::T: return 1;
  }
  return 0;
}

// Every v_cmp and v_cmpx of type T, named as LLVM names them (integers spell LG as NE).
template <class T>
void add_compares(llvm::StringMap<ValuOp>& ops, llvm::StringRef type_name, Type type) {
  bool is_float = std::is_floating_point_v<T> || std::is_same_v<T, _Float16>;
  std::pair<const char*, LaneFn> preds[] = {
      {"F", compare<T, Pred::F>},     {"LT", compare<T, Pred::LT>},   {"EQ", compare<T, Pred::EQ>},
      {"LE", compare<T, Pred::LE>},   {"GT", compare<T, Pred::GT>},   {is_float ? "LG" : "NE", compare<T, Pred::LG>},
      {"GE", compare<T, Pred::GE>},   {"T", compare<T, Pred::T>},     {"O", compare<T, Pred::O>},
      {"U", compare<T, Pred::U>},     {"NGE", compare<T, Pred::NGE>}, {"NLG", compare<T, Pred::NLG>},
      {"NGT", compare<T, Pred::NGT>}, {"NLE", compare<T, Pred::NLE>}, {"NEQ", compare<T, Pred::NEQ>},
      {"NLT", compare<T, Pred::NLT>}};
  for (auto [pred, fn] : llvm::ArrayRef(preds).take_front(is_float ? 16 : 8)) {
    ops[fmt::format("V_CMP_{}_{}", pred, type_name)] = {Shape::Compare, type, 2, false, fn};
    ops[fmt::format("V_CMPX_{}_{}", pred, type_name)] = {Shape::CompareExec, type, 2, false, fn};
  }
}

// The vector ALU, by LLVM's name without its encoding suffixes. Results are raw bits; the destination's width
// (one VGPR or a pair) decides how many are written.
const llvm::StringMap<ValuOp>& valu_ops() {
  static const llvm::StringMap<ValuOp> ops = [] {
    using S = Shape;
    using T = Type;
    llvm::StringMap<ValuOp> m = {
        // f32
        {"V_ADD_F32", {S::Plain, T::F32, 2, false, [](u64 a, u64 b, u64) { return bits(f32(a) + f32(b)); }}},
        {"V_SUB_F32", {S::Plain, T::F32, 2, false, [](u64 a, u64 b, u64) { return bits(f32(a) - f32(b)); }}},
        {"V_SUBREV_F32", {S::Plain, T::F32, 2, false, [](u64 a, u64 b, u64) { return bits(f32(b) - f32(a)); }}},
        {"V_MUL_F32", {S::Plain, T::F32, 2, false, [](u64 a, u64 b, u64) { return bits(f32(a) * f32(b)); }}},
        {"V_MIN_F32", {S::Plain, T::F32, 2, false, [](u64 a, u64 b, u64) { return bits(std::fmin(f32(a), f32(b))); }}},
        {"V_MAX_F32", {S::Plain, T::F32, 2, false, [](u64 a, u64 b, u64) { return bits(std::fmax(f32(a), f32(b))); }}},
        {"V_FMA_F32",
         {S::Plain, T::F32, 3, false, [](u64 a, u64 b, u64 c) { return bits(std::fma(f32(a), f32(b), f32(c))); }}},
        // the special cases of a quotient q of n / d, as a division's last step: NaN, 0 / 0, inf / inf, x / 0,
        // inf / x, x / inf and 0 / x by the ISA's pseudocode; otherwise q with the quotient's sign
        {"V_DIV_FIXUP_F32",
         {S::Plain, T::F32, 3, false,
          [](u64 q, u64 d, u64 n) {
            float fq = f32(q), fd = f32(d), fn = f32(n);
            bool negative = std::signbit(fd) != std::signbit(fn);
            if (std::isnan(fn)) return bits(std::numeric_limits<float>::quiet_NaN());
            if (std::isnan(fd)) return bits(std::numeric_limits<float>::quiet_NaN());
            if ((fd == 0 && fn == 0) || (std::isinf(fd) && std::isinf(fn)))
              return bits(std::numeric_limits<float>::quiet_NaN());
            if (fd == 0 || std::isinf(fn)) return bits(negative ? -INFINITY : INFINITY);
            if (std::isinf(fd) || fn == 0) return bits(negative ? -0.0f : 0.0f);
            return bits(negative ? -std::fabs(fq) : std::fabs(fq));
          }}},
        {"V_LDEXP_F32",
         {S::Plain, T::F32, 2, false, [](u64 a, u64 b, u64) { return bits(std::ldexp(f32(a), i32(b))); }}},
        {"V_FLOOR_F32", {S::Plain, T::F32, 1, false, [](u64 a, u64, u64) { return bits(std::floor(f32(a))); }}},
        {"V_CEIL_F32", {S::Plain, T::F32, 1, false, [](u64 a, u64, u64) { return bits(std::ceil(f32(a))); }}},
        {"V_TRUNC_F32", {S::Plain, T::F32, 1, false, [](u64 a, u64, u64) { return bits(std::trunc(f32(a))); }}},
        {"V_RNDNE_F32", {S::Plain, T::F32, 1, false, [](u64 a, u64, u64) { return bits(std::nearbyint(f32(a))); }}},
        {"V_FRACT_F32",
         {S::Plain, T::F32, 1, false, [](u64 a, u64, u64) { return bits(f32(a) - std::floor(f32(a))); }}},
        // The transcendental unit: about 1 ulp on hardware, the C library's correctly rounded results here.
        {"V_EXP_F32", {S::Plain, T::F32, 1, true, [](u64 a, u64, u64) { return bits(std::exp2(f32(a))); }}},
        {"V_LOG_F32", {S::Plain, T::F32, 1, true, [](u64 a, u64, u64) { return bits(std::log2(f32(a))); }}},
        {"V_RCP_F32", {S::Plain, T::F32, 1, true, [](u64 a, u64, u64) { return bits(1.0f / f32(a)); }}},
        {"V_RSQ_F32", {S::Plain, T::F32, 1, true, [](u64 a, u64, u64) { return bits(1.0f / std::sqrt(f32(a))); }}},
        {"V_SQRT_F32", {S::Plain, T::F32, 1, true, [](u64 a, u64, u64) { return bits(std::sqrt(f32(a))); }}},
        {"V_SIN_F32", // the input is in revolutions
         {S::Plain, T::F32, 1, true, [](u64 a, u64, u64) { return bits(float(std::sin(f32(a) * 2 * M_PI))); }}},
        {"V_COS_F32",
         {S::Plain, T::F32, 1, true, [](u64 a, u64, u64) { return bits(float(std::cos(f32(a) * 2 * M_PI))); }}},
        // conversions
        {"V_CVT_F32_I32", {S::Plain, T::B32, 1, false, [](u64 a, u64, u64) { return bits(float(i32(a))); }}},
        {"V_CVT_F32_U32", {S::Plain, T::B32, 1, false, [](u64 a, u64, u64) { return bits(float(u32(a))); }}},
        {"V_CVT_I32_F32", {S::Plain, T::F32, 1, false, [](u64 a, u64, u64) { return convert<int32_t>(f32(a)); }}},
        {"V_CVT_U32_F32", {S::Plain, T::F32, 1, false, [](u64 a, u64, u64) { return convert<uint32_t>(f32(a)); }}},
        {"V_CVT_F16_F32", {S::Plain, T::F32, 1, false, [](u64 a, u64, u64) { return bits(_Float16(f32(a))); }}},
        {"V_CVT_F32_F16", {S::Plain, T::F16, 1, false, [](u64 a, u64, u64) { return bits(float(f16(a))); }}},
        {"V_CVT_F64_F32", {S::Plain, T::F32, 1, false, [](u64 a, u64, u64) { return bits(double(f32(a))); }}},
        {"V_CVT_F32_F64", {S::Plain, T::F64, 1, false, [](u64 a, u64, u64) { return bits(float(f64(a))); }}},
        {"V_CVT_F64_I32", {S::Plain, T::B32, 1, false, [](u64 a, u64, u64) { return bits(double(i32(a))); }}},
        {"V_CVT_F64_U32", {S::Plain, T::B32, 1, false, [](u64 a, u64, u64) { return bits(double(u32(a))); }}},
        {"V_CVT_U32_F64", {S::Plain, T::F64, 1, false, [](u64 a, u64, u64) {
           double x = f64(a);
           return u64(std::isnan(x) || x <= 0 ? 0u : x >= UINT32_MAX ? UINT32_MAX : u32(x));
         }}},
        // f64 reciprocal and square root: exact here; hardware's are approximations that the renderer refines
        {"V_RCP_F64", {S::Plain, T::F64, 1, false, [](u64 a, u64, u64) { return bits(1.0 / f64(a)); }}},
        {"V_SQRT_F64", {S::Plain, T::F64, 1, false, [](u64 a, u64, u64) { return bits(std::sqrt(f64(a))); }}},
        {"V_DIV_FIXUP_F64",
         {S::Plain, T::F64, 3, false,
          [](u64 q, u64 d, u64 n) {
            double fq = f64(q), fd = f64(d), fn = f64(n);
            bool negative = std::signbit(fd) != std::signbit(fn);
            if (std::isnan(fn) || std::isnan(fd) || (fd == 0 && fn == 0) || (std::isinf(fd) && std::isinf(fn)))
              return bits(std::numeric_limits<double>::quiet_NaN());
            if (fd == 0 || std::isinf(fn)) return bits(negative ? -INFINITY : double(INFINITY));
            if (std::isinf(fd) || fn == 0) return bits(negative ? -0.0 : 0.0);
            return bits(negative ? -std::fabs(fq) : std::fabs(fq));
          }}},
        {"V_TRUNC_F64", {S::Plain, T::F64, 1, false, [](u64 a, u64, u64) { return bits(std::trunc(f64(a))); }}},
        {"V_FLOOR_F64", {S::Plain, T::F64, 1, false, [](u64 a, u64, u64) { return bits(std::floor(f64(a))); }}},
        {"V_LDEXP_F64",
         {S::Plain, T::F64, 2, false, [](u64 a, u64 b, u64) { return bits(std::ldexp(f64(a), i32(b))); }}},
        // f64 to i32: truncated, saturated, NaN to 0
        {"V_CVT_I32_F64",
         {S::Plain, T::F64, 1, false,
          [](u64 a, u64, u64) {
            double x = f64(a);
            return u64(u32(std::isnan(x) ? 0 : x <= INT32_MIN ? INT32_MIN : x >= INT32_MAX ? INT32_MAX : int32_t(x)));
          }}},
        // f16 (the fake16 forms: a half in the low 16 bits, the high bits cleared)
        {"V_ADD_F16", {S::Plain, T::F16, 2, false, [](u64 a, u64 b, u64) { return bits(_Float16(f16(a) + f16(b))); }}},
        {"V_SUB_F16", {S::Plain, T::F16, 2, false, [](u64 a, u64 b, u64) { return bits(_Float16(f16(a) - f16(b))); }}},
        {"V_MUL_F16", {S::Plain, T::F16, 2, false, [](u64 a, u64 b, u64) { return bits(_Float16(f16(a) * f16(b))); }}},
        {"V_MAX_F16",
         {S::Plain, T::F16, 2, false,
          [](u64 a, u64 b, u64) { return bits(_Float16(std::fmax(float(f16(a)), float(f16(b))))); }}},
        {"V_MIN_F16",
         {S::Plain, T::F16, 2, false,
          [](u64 a, u64 b, u64) { return bits(_Float16(std::fmin(float(f16(a)), float(f16(b))))); }}},
        {"V_FMA_F16",
         {S::Plain, T::F16, 3, false,
          [](u64 a, u64 b,
             u64 c) { return bits(_Float16(std::fma(double(f16(a)), double(f16(b)), double(f16(c))))); }}},
        // f64
        {"V_ADD_F64", {S::Plain, T::F64, 2, false, [](u64 a, u64 b, u64) { return bits(f64(a) + f64(b)); }}},
        {"V_MUL_F64", {S::Plain, T::F64, 2, false, [](u64 a, u64 b, u64) { return bits(f64(a) * f64(b)); }}},
        {"V_FMA_F64",
         {S::Plain, T::F64, 3, false, [](u64 a, u64 b, u64 c) { return bits(std::fma(f64(a), f64(b), f64(c))); }}},
        // integers
        {"V_MOV_B32", {S::Plain, T::F32, 1, false, [](u64 a, u64, u64) { return a; }}},
        {"V_ADD_NC_U32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(a + b)); }}},
        {"V_SUB_NC_U32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(a - b)); }}},
        {"V_SUBREV_NC_U32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(b - a)); }}},
        {"V_ADD3_U32", {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return u64(u32(a + b + c)); }}},
        {"V_XAD_U32", {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return u64(u32((a ^ b) + c)); }}},
        {"V_MUL_LO_U32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(a * b)); }}},
        {"V_MUL_HI_U32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return (u64(u32(a)) * u32(b)) >> 32; }}},
        {"V_MUL_HI_I32",
         {S::Plain, T::B32, 2, false,
          [](u64 a, u64 b, u64) { return u64(u32(u64(int64_t(i32(a)) * int64_t(i32(b))) >> 32)); }}},
        {"V_MUL_U32_U24",
         {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32((a & 0xffffff) * (b & 0xffffff))); }}},
        {"V_MUL_I32_I24",
         {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(sext(a, 24) * sext(b, 24))); }}},
        {"V_MAD_U32_U24",
         {S::Plain, T::B32, 3, false,
          [](u64 a, u64 b, u64 c) { return u64(u32((a & 0xffffff) * (b & 0xffffff) + c)); }}},
        {"V_MAD_I32_I24",
         {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return u64(u32(sext(a, 24) * sext(b, 24) + c)); }}},
        {"V_LSHLREV_B32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(b << (a & 31))); }}},
        {"V_LSHRREV_B32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(b) >> (a & 31)); }}},
        // 16-bit shifts (LLVM uses them on values it knows fit): the low half, the high half cleared
        {"V_LSHLREV_B16", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(uint16_t(b << (a & 15))); }}},
        {"V_LSHRREV_B16", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(uint16_t(b) >> (a & 15)); }}},
        {"V_ASHRREV_I32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(i32(b) >> (a & 31))); }}},
        {"V_LSHLREV_B64", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return b << (a & 63); }}},
        {"V_LSHRREV_B64", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return b >> (a & 63); }}},
        {"V_ASHRREV_I64", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(int64_t(b) >> (a & 63)); }}},
        {"V_LSHL_ADD_U32",
         {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return u64(u32((a << (b & 31)) + c)); }}},
        {"V_ADD_LSHL_U32",
         {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return u64(u32((a + b) << (c & 31))); }}},
        {"V_LSHL_OR_B32",
         {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return u64(u32((a << (b & 31)) | c)); }}},
        {"V_AND_OR_B32", {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return u64(u32((a & b) | c)); }}},
        {"V_OR3_B32", {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return u64(u32(a | b | c)); }}},
        {"V_XOR3_B32", {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return u64(u32(a ^ b ^ c)); }}},
        {"V_AND_B32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(a & b)); }}},
        {"V_OR_B32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(a | b)); }}},
        {"V_XOR_B32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(a ^ b)); }}},
        {"V_XNOR_B32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(~(a ^ b))); }}},
        {"V_NOT_B32", {S::Plain, T::B32, 1, false, [](u64 a, u64, u64) { return u64(u32(~a)); }}},
        {"V_BFE_U32", {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return bfe(a, b, c, false); }}},
        {"V_BFE_I32", {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return bfe(a, b, c, true); }}},
        {"V_BFI_B32", {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return u64(u32((a & b) | (~a & c))); }}},
        {"V_ALIGNBIT_B32",
         {S::Plain, T::B32, 3, false, [](u64 a, u64 b, u64 c) { return u64(u32(((a << 32) | u32(b)) >> (c & 31))); }}},
        {"V_MIN_I32",
         {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(std::min(i32(a), i32(b)))); }}},
        {"V_MAX_I32",
         {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(std::max(i32(a), i32(b)))); }}},
        {"V_CLZ_I32_U32", // leading zeros; -1 for 0
         {S::Plain, T::B32, 1, false, [](u64 a, u64, u64) { return u64(u32(a) ? u32(__builtin_clz(u32(a))) : ~0u); }}},
        {"V_MIN_U32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(std::min(u32(a), u32(b))); }}},
        {"V_MAX_U32", {S::Plain, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(std::max(u32(a), u32(b))); }}},
        // shapes with masks and carries
        {"V_CNDMASK_B32", {S::Select, T::F32, 2, false, [](u64 a, u64 b, u64 c) { return c ? b : a; }}},
        {"V_CMP_CLASS_F32", {S::Compare, T::F32, 2, false, [](u64 a, u64 b, u64) { return float_class(a, b); }}},
        {"V_CMPX_CLASS_F32", {S::CompareExec, T::F32, 2, false, [](u64 a, u64 b, u64) { return float_class(a, b); }}},
        {"V_ADD_CO_U32", {S::CarryOut, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(a)) + u32(b); }}},
        {"V_SUB_CO_U32", {S::CarryOut, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(a)) - u32(b); }}},
        {"V_SUBREV_CO_U32", {S::CarryOut, T::B32, 2, false, [](u64 a, u64 b, u64) { return u64(u32(b)) - u32(a); }}},
        {"V_ADD_CO_CI_U32",
         {S::CarryInOut, T::B32, 2, false, [](u64 a, u64 b, u64 c) { return u64(u32(a)) + u32(b) + c; }}},
        {"V_SUB_CO_CI_U32",
         {S::CarryInOut, T::B32, 2, false, [](u64 a, u64 b, u64 c) { return u64(u32(a)) - u32(b) - c; }}},
        {"V_SUBREV_CO_CI_U32",
         {S::CarryInOut, T::B32, 2, false, [](u64 a, u64 b, u64 c) { return u64(u32(b)) - u32(a) - c; }}},
        {"V_MAD_U64_U32", {S::MadU64, T::B32, 3, false, nullptr}},
        {"V_MAD_I64_I32", {S::MadI64, T::B32, 3, false, nullptr}},
        {"V_READFIRSTLANE_B32", {S::ReadFirstLane, T::B32, 1, false, nullptr}},
    };
    // fmac reads its destination as a third source, which LLVM's MCInst lists; fmaak and fmamk have their constant
    // among the sources in the order the product reads them
    m["V_FMAC_F32"] = m["V_FMAAK_F32"] = m["V_FMAMK_F32"] = m["V_FMA_F32"];
    m["V_FMAC_F16"] = m["V_FMAAK_F16"] = m["V_FMAMK_F16"] = m["V_FMA_F16"];
    m["V_MAX_NUM_F32"] = m["V_MAX_F32"]; // the VOPD spellings
    m["V_MIN_NUM_F32"] = m["V_MIN_F32"];
    add_compares<float>(m, "F32", Type::F32);
    add_compares<_Float16>(m, "F16", Type::F16);
    add_compares<double>(m, "F64", Type::F64);
    add_compares<int32_t>(m, "I32", Type::B32);
    add_compares<uint32_t>(m, "U32", Type::B32);
    add_compares<int64_t>(m, "I64", Type::B32);
    add_compares<u64>(m, "U64", Type::B32);
    return m;
  }();
  return ops;
}

// The scalar ALU: d and the new SCC (-1: unchanged) from the sources and the old SCC.
struct SaluResult {
  u64 d;
  int scc;
};
using SaluFn = SaluResult (*)(u64 a, u64 b, bool scc);
enum class SaluShape : uint8_t { Plain, Compare, SaveExec };
struct SaluOp {
  SaluShape shape;
  SaluFn fn; // SaveExec: the new exec from (a, old exec)
};

int nonzero(u64 x) { return x != 0; }

const llvm::StringMap<SaluOp>& salu_ops() {
  static const llvm::StringMap<SaluOp> ops = [] {
    using S = SaluShape;
    llvm::StringMap<SaluOp> m = {
        {"S_MOV_B32", {S::Plain, [](u64 a, u64, bool) { return SaluResult{a, -1}; }}},
        {"S_MOV_B64", {S::Plain, [](u64 a, u64, bool) { return SaluResult{a, -1}; }}},
        {"S_MOVK_I32", {S::Plain, [](u64 a, u64, bool) { return SaluResult{a, -1}; }}},
        {"S_CSELECT_B32", {S::Plain, [](u64 a, u64 b, bool scc) { return SaluResult{scc ? a : b, -1}; }}},
        {"S_CSELECT_B64", {S::Plain, [](u64 a, u64 b, bool scc) { return SaluResult{scc ? a : b, -1}; }}},
        {"S_ADD_U32", {S::Plain, [](u64 a, u64 b, bool) { u64 s = u64(u32(a)) + u32(b); return SaluResult{s, int(s >> 32)}; }}},
        {"S_ADDC_U32",
         {S::Plain, [](u64 a, u64 b, bool scc) { u64 s = u64(u32(a)) + u32(b) + scc; return SaluResult{s, int(s >> 32)}; }}},
        {"S_SUB_U32", {S::Plain, [](u64 a, u64 b, bool) { return SaluResult{u64(u32(a - b)), u32(b) > u32(a)}; }}},
        {"S_SUBB_U32",
         {S::Plain,
          [](u64 a, u64 b, bool scc) { return SaluResult{u64(u32(a - b - scc)), u64(u32(b)) + scc > u32(a)}; }}},
        {"S_ADD_I32",
         {S::Plain,
          [](u64 a, u64 b, bool) { int64_t s = int64_t(i32(a)) + i32(b); return SaluResult{u64(u32(s)), s != int32_t(s)}; }}},
        {"S_ADDK_I32",
         {S::Plain,
          [](u64 a, u64 b, bool) { int64_t s = int64_t(i32(a)) + i32(b); return SaluResult{u64(u32(s)), s != int32_t(s)}; }}},
        {"S_SUB_I32",
         {S::Plain,
          [](u64 a, u64 b, bool) { int64_t s = int64_t(i32(a)) - i32(b); return SaluResult{u64(u32(s)), s != int32_t(s)}; }}},
        {"S_MUL_I32", {S::Plain, [](u64 a, u64 b, bool) { return SaluResult{u64(u32(a * b)), -1}; }}},
        {"S_MULK_I32", {S::Plain, [](u64 a, u64 b, bool) { return SaluResult{u64(u32(a * b)), -1}; }}},
        {"S_MUL_HI_U32", {S::Plain, [](u64 a, u64 b, bool) { return SaluResult{(u64(u32(a)) * u32(b)) >> 32, -1}; }}},
        {"S_MUL_HI_I32",
         {S::Plain,
          [](u64 a, u64 b, bool) { return SaluResult{u64(u32(u64(int64_t(i32(a)) * i32(b)) >> 32)), -1}; }}},
        {"S_AND_B32", {S::Plain, [](u64 a, u64 b, bool) { u64 d = u32(a & b); return SaluResult{d, nonzero(d)}; }}},
        {"S_OR_B32", {S::Plain, [](u64 a, u64 b, bool) { u64 d = u32(a | b); return SaluResult{d, nonzero(d)}; }}},
        {"S_XOR_B32", {S::Plain, [](u64 a, u64 b, bool) { u64 d = u32(a ^ b); return SaluResult{d, nonzero(d)}; }}},
        {"S_ANDN2_B32", {S::Plain, [](u64 a, u64 b, bool) { u64 d = u32(a & ~b); return SaluResult{d, nonzero(d)}; }}},
        {"S_ORN2_B32", {S::Plain, [](u64 a, u64 b, bool) { u64 d = u32(a | ~b); return SaluResult{d, nonzero(d)}; }}},
        {"S_NAND_B32", {S::Plain, [](u64 a, u64 b, bool) { u64 d = u32(~(a & b)); return SaluResult{d, nonzero(d)}; }}},
        {"S_NOR_B32", {S::Plain, [](u64 a, u64 b, bool) { u64 d = u32(~(a | b)); return SaluResult{d, nonzero(d)}; }}},
        {"S_XNOR_B32", {S::Plain, [](u64 a, u64 b, bool) { u64 d = u32(~(a ^ b)); return SaluResult{d, nonzero(d)}; }}},
        {"S_NOT_B32", {S::Plain, [](u64 a, u64, bool) { u64 d = u32(~a); return SaluResult{d, nonzero(d)}; }}},
        {"S_AND_B64", {S::Plain, [](u64 a, u64 b, bool) { return SaluResult{a & b, nonzero(a & b)}; }}},
        {"S_OR_B64", {S::Plain, [](u64 a, u64 b, bool) { return SaluResult{a | b, nonzero(a | b)}; }}},
        {"S_XOR_B64", {S::Plain, [](u64 a, u64 b, bool) { return SaluResult{a ^ b, nonzero(a ^ b)}; }}},
        {"S_ANDN2_B64", {S::Plain, [](u64 a, u64 b, bool) { return SaluResult{a & ~b, nonzero(a & ~b)}; }}},
        {"S_NOT_B64", {S::Plain, [](u64 a, u64, bool) { return SaluResult{~a, nonzero(~a)}; }}},
        {"S_LSHL_B32", {S::Plain, [](u64 a, u64 b, bool) { u64 d = u32(a << (b & 31)); return SaluResult{d, nonzero(d)}; }}},
        {"S_LSHR_B32", {S::Plain, [](u64 a, u64 b, bool) { u64 d = u32(a) >> (b & 31); return SaluResult{d, nonzero(d)}; }}},
        {"S_ASHR_I32",
         {S::Plain, [](u64 a, u64 b, bool) { u64 d = u32(i32(a) >> (b & 31)); return SaluResult{d, nonzero(d)}; }}},
        {"S_LSHL_B64", {S::Plain, [](u64 a, u64 b, bool) { u64 d = a << (b & 63); return SaluResult{d, nonzero(d)}; }}},
        {"S_LSHR_B64", {S::Plain, [](u64 a, u64 b, bool) { u64 d = a >> (b & 63); return SaluResult{d, nonzero(d)}; }}},
        {"S_ASHR_I64",
         {S::Plain, [](u64 a, u64 b, bool) { u64 d = u64(int64_t(a) >> (b & 63)); return SaluResult{d, nonzero(d)}; }}},
        {"S_LSHL1_ADD_U32", {S::Plain, [](u64 a, u64 b, bool) { u64 s = (u64(u32(a)) << 1) + u32(b); return SaluResult{u32(s), s >> 32 != 0}; }}},
        {"S_LSHL2_ADD_U32", {S::Plain, [](u64 a, u64 b, bool) { u64 s = (u64(u32(a)) << 2) + u32(b); return SaluResult{u32(s), s >> 32 != 0}; }}},
        {"S_LSHL3_ADD_U32", {S::Plain, [](u64 a, u64 b, bool) { u64 s = (u64(u32(a)) << 3) + u32(b); return SaluResult{u32(s), s >> 32 != 0}; }}},
        {"S_LSHL4_ADD_U32", {S::Plain, [](u64 a, u64 b, bool) { u64 s = (u64(u32(a)) << 4) + u32(b); return SaluResult{u32(s), s >> 32 != 0}; }}},
        {"S_MIN_I32", {S::Plain, [](u64 a, u64 b, bool) { bool lt = i32(a) < i32(b); return SaluResult{lt ? a : b, lt}; }}},
        {"S_MAX_I32", {S::Plain, [](u64 a, u64 b, bool) { bool gt = i32(a) > i32(b); return SaluResult{gt ? a : b, gt}; }}},
        {"S_MIN_U32", {S::Plain, [](u64 a, u64 b, bool) { bool lt = u32(a) < u32(b); return SaluResult{lt ? a : b, lt}; }}},
        {"S_MAX_U32", {S::Plain, [](u64 a, u64 b, bool) { bool gt = u32(a) > u32(b); return SaluResult{gt ? a : b, gt}; }}},
        {"S_BFE_U32", {S::Plain, [](u64 a, u64 b, bool) { u64 d = bfe(a, b, b >> 16, false); return SaluResult{d, nonzero(d)}; }}},
        {"S_BFE_I32", {S::Plain, [](u64 a, u64 b, bool) { u64 d = bfe(a, b, b >> 16, true); return SaluResult{d, nonzero(d)}; }}},
        {"S_BFM_B32", {S::Plain, [](u64 a, u64 b, bool) { return SaluResult{u32(((u64(1) << (a & 31)) - 1) << (b & 31)), -1}; }}},
        {"S_ABS_I32", {S::Plain, [](u64 a, u64, bool) { u64 d = u32(std::abs(int64_t(i32(a)))); return SaluResult{d, nonzero(d)}; }}},
        {"S_SEXT_I32_I8", {S::Plain, [](u64 a, u64, bool) { return SaluResult{u32(sext(a, 8)), -1}; }}},
        {"S_SEXT_I32_I16", {S::Plain, [](u64 a, u64, bool) { return SaluResult{u32(sext(a, 16)), -1}; }}},
        {"S_BCNT1_I32_B32", {S::Plain, [](u64 a, u64, bool) { u64 d = std::popcount(u32(a)); return SaluResult{d, nonzero(d)}; }}},
        {"S_PACK_LL_B32_B16", {S::Plain, [](u64 a, u64 b, bool) { return SaluResult{(a & 0xffff) | ((b & 0xffff) << 16), -1}; }}},
        {"S_PACK_LH_B32_B16", {S::Plain, [](u64 a, u64 b, bool) { return SaluResult{(a & 0xffff) | (b & 0xffff0000), -1}; }}},
        {"S_PACK_HH_B32_B16", {S::Plain, [](u64 a, u64 b, bool) { return SaluResult{((a >> 16) & 0xffff) | (b & 0xffff0000), -1}; }}},
        {"S_BITCMP0_B32", {S::Compare, [](u64 a, u64 b, bool) { return SaluResult{0, !((a >> (b & 31)) & 1)}; }}},
        {"S_BITCMP1_B32", {S::Compare, [](u64 a, u64 b, bool) { return SaluResult{0, int((a >> (b & 31)) & 1)}; }}},
        {"S_CMP_EQ_U64", {S::Compare, [](u64 a, u64 b, bool) { return SaluResult{0, a == b}; }}},
        {"S_CMP_LG_U64", {S::Compare, [](u64 a, u64 b, bool) { return SaluResult{0, a != b}; }}},
        {"S_AND_SAVEEXEC_B32", {S::SaveExec, [](u64 a, u64 exec, bool) { return SaluResult{u32(a & exec), 0}; }}},
        {"S_OR_SAVEEXEC_B32", {S::SaveExec, [](u64 a, u64 exec, bool) { return SaluResult{u32(a | exec), 0}; }}},
        {"S_XOR_SAVEEXEC_B32", {S::SaveExec, [](u64 a, u64 exec, bool) { return SaluResult{u32(a ^ exec), 0}; }}},
        // LLVM's names: ANDN2 is s_and_not1 (a & ~exec), ANDN1 is s_and_not0 (~a & exec)
        {"S_ANDN2_SAVEEXEC_B32", {S::SaveExec, [](u64 a, u64 exec, bool) { return SaluResult{u32(a & ~exec), 0}; }}},
        {"S_ANDN1_SAVEEXEC_B32", {S::SaveExec, [](u64 a, u64 exec, bool) { return SaluResult{u32(~a & exec), 0}; }}},
        {"S_ORN2_SAVEEXEC_B32", {S::SaveExec, [](u64 a, u64 exec, bool) { return SaluResult{u32(a | ~exec), 0}; }}},
        {"S_ORN1_SAVEEXEC_B32", {S::SaveExec, [](u64 a, u64 exec, bool) { return SaluResult{u32(~a | exec), 0}; }}},
    };
    // s_cmp and s_cmpk (the SOPK form's 16-bit constant is the second source)
    using Cmp = SaluFn;
    std::pair<const char*, std::pair<Cmp, Cmp>> compares[] = {
        {"EQ",
         {[](u64 a, u64 b, bool) {
            return SaluResult{0, i32(a) == i32(b)};
          },
          [](u64 a, u64 b, bool) {
            return SaluResult{0, u32(a) == u32(b)};
          }}},
        {"LG",
         {[](u64 a, u64 b, bool) {
            return SaluResult{0, i32(a) != i32(b)};
          },
          [](u64 a, u64 b, bool) {
            return SaluResult{0, u32(a) != u32(b)};
          }}},
        {"GT",
         {[](u64 a, u64 b, bool) {
            return SaluResult{0, i32(a) > i32(b)};
          },
          [](u64 a, u64 b, bool) {
            return SaluResult{0, u32(a) > u32(b)};
          }}},
        {"GE",
         {[](u64 a, u64 b, bool) {
            return SaluResult{0, i32(a) >= i32(b)};
          },
          [](u64 a, u64 b, bool) {
            return SaluResult{0, u32(a) >= u32(b)};
          }}},
        {"LT",
         {[](u64 a, u64 b, bool) {
            return SaluResult{0, i32(a) < i32(b)};
          },
          [](u64 a, u64 b, bool) {
            return SaluResult{0, u32(a) < u32(b)};
          }}},
        {"LE",
         {[](u64 a, u64 b, bool) {
            return SaluResult{0, i32(a) <= i32(b)};
          },
          [](u64 a, u64 b, bool) {
            return SaluResult{0, u32(a) <= u32(b)};
          }}},
    };
    for (auto [pred, fns] : compares)
      for (const char* form : {"CMP", "CMPK"}) {
        m[fmt::format("S_{}_{}_I32", form, pred)] = {SaluShape::Compare, fns.first};
        m[fmt::format("S_{}_{}_U32", form, pred)] = {SaluShape::Compare, fns.second};
      }
    return m;
  }();
  return ops;
}

// ---- Decoded instructions -------------------------------------------------------------------------------------

struct Operand {
  enum Kind : uint8_t { Sgpr, Vgpr, Imm, Scc } kind = Imm;
  uint8_t count = 1;  // registers: 1, or 2 for a 64-bit pair, up to 16 for loads
  uint16_t index = 0; // registers: the first one; SGPRs in the encoding's space (vcc_lo is 106)
  uint8_t mods = 0;   // neg/abs
  int64_t imm = 0;
};

enum class Unit : uint8_t { Salu, Valu, Vopd, Smem, GlobalLoad, GlobalStore, LdsLoad, LdsStore, Control };
enum class Control : uint8_t {
  Nop,
  End,
  Branch,
  Scc0,
  Scc1,
  Vccz,
  Vccnz,
  Execz,
  Execnz,
  Waitcnt,
  Vmcnt,
  Lgkmcnt,
  Vscnt,
  Depctr,
  Barrier
};

const llvm::StringMap<Control>& control_ops() {
  static const llvm::StringMap<Control> ops = {
      {"S_NOP", Control::Nop},
      {"S_CLAUSE", Control::Nop},
      {"S_DELAY_ALU", Control::Nop}, // scheduling hints: no effect on results
      {"S_SENDMSG", Control::Nop},   // only MSG_DEALLOC_VGPRS in kernels, which frees VGPRs early
      {"S_SETPRIO", Control::Nop},
      {"S_SET_INST_PREFETCH_DISTANCE", Control::Nop},
      {"S_DENORM_MODE", Control::Nop},  // LLVM's fdiv turns f32 denormals on around its steps; they are always on here
      {"BUFFER_GL0_INV", Control::Nop}, // cache invalidation: host memory has no caches to invalidate
      {"BUFFER_GL1_INV", Control::Nop},
      {"S_ENDPGM", Control::End},
      {"S_BRANCH", Control::Branch},
      {"S_CBRANCH_SCC0", Control::Scc0},
      {"S_CBRANCH_SCC1", Control::Scc1},
      {"S_CBRANCH_VCCZ", Control::Vccz},
      {"S_CBRANCH_VCCNZ", Control::Vccnz},
      {"S_CBRANCH_EXECZ", Control::Execz},
      {"S_CBRANCH_EXECNZ", Control::Execnz},
      {"S_WAITCNT", Control::Waitcnt},
      {"S_WAITCNT_VMCNT", Control::Vmcnt},
      {"S_WAITCNT_LGKMCNT", Control::Lgkmcnt},
      {"S_WAITCNT_VSCNT", Control::Vscnt},
      {"S_WAITCNT_DEPCTR", Control::Depctr},
      {"S_BARRIER", Control::Barrier},
  };
  return ops;
}

// Memory instructions: bytes per element, whether a narrow load sign-extends, and the two-address DS forms.
struct MemOp {
  Unit unit;
  uint8_t bytes;
  bool sign = false;
  bool two = false;
};

const llvm::StringMap<MemOp>& memory_ops() {
  static const llvm::StringMap<MemOp> ops = [] {
    llvm::StringMap<MemOp> m;
    for (auto [suffix, bytes] : {std::pair{"DWORD", 4}, {"DWORDX2", 8}, {"DWORDX3", 12}, {"DWORDX4", 16}}) {
      m[std::string("GLOBAL_LOAD_") + suffix] = {Unit::GlobalLoad, uint8_t(bytes)};
      m[std::string("GLOBAL_STORE_") + suffix] = {Unit::GlobalStore, uint8_t(bytes)};
    }
    m["GLOBAL_LOAD_UBYTE"] = {Unit::GlobalLoad, 1};
    m["GLOBAL_LOAD_SBYTE"] = {Unit::GlobalLoad, 1, true};
    m["GLOBAL_LOAD_USHORT"] = {Unit::GlobalLoad, 2};
    m["GLOBAL_LOAD_SSHORT"] = {Unit::GlobalLoad, 2, true};
    m["GLOBAL_STORE_BYTE"] = {Unit::GlobalStore, 1};
    m["GLOBAL_STORE_SHORT"] = {Unit::GlobalStore, 2};
    for (int bytes : {4, 8, 12, 16}) {
      m[fmt::format("DS_READ_B{}", bytes * 8)] = {Unit::LdsLoad, uint8_t(bytes)};
      m[fmt::format("DS_WRITE_B{}", bytes * 8)] = {Unit::LdsStore, uint8_t(bytes)};
    }
    for (int bytes : {4, 8}) {
      m[fmt::format("DS_READ2_B{}", bytes * 8)] = {Unit::LdsLoad, uint8_t(bytes), false, true};
      m[fmt::format("DS_WRITE2_B{}", bytes * 8)] = {Unit::LdsStore, uint8_t(bytes), false, true};
    }
    m["DS_READ_U8"] = {Unit::LdsLoad, 1};
    m["DS_READ_I8"] = {Unit::LdsLoad, 1, true};
    m["DS_READ_U16"] = {Unit::LdsLoad, 2};
    m["DS_READ_I16"] = {Unit::LdsLoad, 2, true};
    m["DS_WRITE_B8"] = {Unit::LdsStore, 1};
    m["DS_WRITE_B16"] = {Unit::LdsStore, 2};
    return m;
  }();
  return ops;
}

struct Inst {
  llvm::MCInst mc; // kept for messages
  uint64_t pc = 0;
  uint32_t size = 0;
  Unit unit = Unit::Control;
  Control control = Control::Nop;
  const ValuOp* valu = nullptr;
  const ValuOp* valu_y = nullptr; // VOPD: the second half
  const SaluOp* salu = nullptr;
  MemOp mem{};
  bool saddr = false;    // GLOBAL: the saddr + 32-bit vaddr form
  bool smem_imm = false; // SMEM: has an immediate offset
  llvm::SmallVector<Operand, 2> dst;
  llvm::SmallVector<Operand, 4> src;
  llvm::SmallVector<int64_t, 4> imm; // immediates that are not sources: offsets, cache policy, clamp, simm16
};

// LLVM's instruction name less its encoding suffixes: V_ADD_F32_e32_gfx11 and V_ADD_F32_e64_gfx11 are V_ADD_F32.
std::string base_name(llvm::StringRef name) {
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (llvm::StringRef suffix : {"_gfx11", "_e32", "_e64", "_fake16", "_t16", "_SADDR", "_vi"})
      if (name.consume_back(suffix)) stripped = true;
  }
  return name.str();
}

// SOPK: the 16-bit constant is the last source, sign-extended except for the unsigned compares.
bool is_sopk(llvm::StringRef name) {
  return name == "S_MOVK_I32" || name == "S_ADDK_I32" || name == "S_MULK_I32" || name.starts_with("S_CMPK_");
}

// The disassembler and the per-run decode cache: each instruction is decoded the first time it runs.
class Decoder {
public:
  explicit Decoder(const CodeObject& kernel) : kernel(kernel), cache(kernel.code.size() / 4) {
    const llvm::Target& target = amdgpu_target();
    registers.reset(target.createMCRegInfo(triple));
    asm_info.reset(target.createMCAsmInfo(*registers, triple, llvm::MCTargetOptions()));
    subtarget.reset(target.createMCSubtargetInfo(triple, cpu, "+wavefrontsize32"));
    instructions.reset(target.createMCInstrInfo());
    context = std::make_unique<llvm::MCContext>(llvm::Triple(triple), asm_info.get(), registers.get(), subtarget.get());
    disassembler.reset(target.createMCDisassembler(*subtarget, *context));
    printer.reset(target.createMCInstPrinter(llvm::Triple(triple), 0, *asm_info, *instructions, *registers));
  }

  llvm::Expected<const Inst*> at(uint64_t pc) {
    if (pc % 4 != 0 || pc / 4 >= cache.size())
      return error(
          fmt::format("program counter 0x{:x} is outside the kernel's {} bytes of code", pc, kernel.code.size()));
    std::unique_ptr<Inst>& slot = cache[pc / 4];
    if (!slot) {
      llvm::Expected<std::unique_ptr<Inst>> inst = decode(pc);
      if (!inst) return inst.takeError();
      slot = std::move(*inst);
    }
    return slot.get();
  }

  // "v_add_f32_e32 v1, v1, v2 at 0x28", for messages
  std::string describe(const Inst& inst) const {
    std::string text;
    llvm::raw_string_ostream stream(text);
    printer->printInst(&inst.mc, inst.pc, "", *subtarget, stream);
    return fmt::format("'{}' at 0x{:x}", llvm::StringRef(text).trim(), inst.pc);
  }

private:
  llvm::Expected<std::unique_ptr<Inst>> decode(uint64_t pc);
  llvm::Expected<Operand> register_operand(unsigned reg);
  llvm::Error classify(Inst& inst, llvm::StringRef name);

  const CodeObject& kernel;
  std::vector<std::unique_ptr<Inst>> cache;
  llvm::DenseMap<unsigned, Operand> register_cache;
  std::unique_ptr<llvm::MCRegisterInfo> registers;
  std::unique_ptr<llvm::MCAsmInfo> asm_info;
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget;
  std::unique_ptr<llvm::MCInstrInfo> instructions;
  std::unique_ptr<llvm::MCContext> context;
  std::unique_ptr<llvm::MCDisassembler> disassembler;
  std::unique_ptr<llvm::MCInstPrinter> printer;
};

// A register from its LLVM name: SGPR4_SGPR5 is s[4:5], VGPR1 is v1, VCC_LO, EXEC_LO, M0, SGPR_NULL, SCC.
llvm::Expected<Operand> Decoder::register_operand(unsigned reg) {
  if (auto it = register_cache.find(reg); it != register_cache.end()) return it->second;
  llvm::StringRef name = registers->getName(reg);
  Operand op;
  op.kind = Operand::Sgpr;
  if (name.starts_with("SGPR_NULL"))
    op.index = null_sgpr, op.count = name.contains("64") ? 2 : 1;
  else if (name == "VCC_LO" || name == "VCC")
    op.index = vcc_lo, op.count = name == "VCC" ? 2 : 1;
  else if (name == "EXEC_LO" || name == "EXEC")
    op.index = exec_lo, op.count = name == "EXEC" ? 2 : 1;
  else if (name.starts_with("M0"))
    op.index = m0;
  else if (name == "SCC")
    op.kind = Operand::Scc;
  else {
    llvm::SmallVector<llvm::StringRef, 16> parts;
    name.split(parts, '_');
    op.kind = name.starts_with("VGPR") ? Operand::Vgpr : Operand::Sgpr;
    llvm::StringRef prefix = op.kind == Operand::Vgpr ? "VGPR" : "SGPR";
    unsigned first = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      unsigned index = 0;
      if (!parts[i].consume_front(prefix) || parts[i].getAsInteger(10, index) || (i > 0 && index != first + i))
        return error(fmt::format("register {} is not modelled", name));
      if (i == 0) first = index;
    }
    op.index = uint16_t(first), op.count = uint8_t(parts.size());
    if (op.kind == Operand::Sgpr && first + parts.size() > vcc_lo)
      return error(fmt::format("register {} is not modelled", name));
  }
  register_cache[reg] = op;
  return op;
}

llvm::Expected<std::unique_ptr<Inst>> Decoder::decode(uint64_t pc) {
  auto inst = std::make_unique<Inst>();
  inst->pc = pc;
  uint64_t size = 0;
  llvm::ArrayRef<uint8_t> bytes = llvm::ArrayRef(kernel.code).drop_front(pc);
  if (disassembler->getInstruction(inst->mc, size, bytes, pc, llvm::nulls()) != llvm::MCDisassembler::Success)
    return error(fmt::format("cannot decode the instruction at 0x{:x}", pc));
  inst->size = uint32_t(size);
  const llvm::MCInstrDesc& desc = instructions->get(inst->mc.getOpcode());
  uint8_t mods = 0;
  for (unsigned i = 0; i < inst->mc.getNumOperands(); ++i) {
    const llvm::MCOperand& mc = inst->mc.getOperand(i);
    const llvm::MCOperandInfo* info = i < desc.getNumOperands() ? &desc.operands()[i] : nullptr;
    if (info && info->OperandType == operand_input_mods) {
      mods = uint8_t(mc.getImm());
      continue;
    }
    Operand op;
    if (mc.isReg()) {
      llvm::Expected<Operand> reg = register_operand(mc.getReg());
      if (!reg) return error(fmt::format("{}: {}", describe(*inst), llvm::toString(reg.takeError())));
      op = *reg;
    } else if (mc.isImm() && info && (info->RegClass != -1 || info->OperandType == operand_kimm32)) {
      op.imm = mc.getImm();
    } else if (mc.isImm() && i >= desc.getNumDefs()) {
      inst->imm.push_back(mc.getImm());
      continue;
    } else {
      return error(fmt::format("{} has an operand the emulator does not model", describe(*inst)));
    }
    op.mods = mods, mods = 0;
    if (i < desc.getNumDefs())
      inst->dst.push_back(op);
    else
      inst->src.push_back(op);
  }
  if (llvm::Error e = classify(*inst, instructions->getName(inst->mc.getOpcode()))) return e;
  return inst;
}

// Which unit runs the instruction and with which table row; the implicit vcc_lo and exec operands made explicit.
llvm::Error Decoder::classify(Inst& inst, llvm::StringRef llvm_name) {
  std::string name = base_name(llvm_name);
  auto unsupported = [&] { return error(fmt::format("unsupported instruction {}", describe(inst))); };
  inst.saddr = llvm_name.contains("_SADDR");
  Operand vcc{Operand::Sgpr, 1, vcc_lo};
  if (auto it = control_ops().find(name); it != control_ops().end()) {
    inst.unit = Unit::Control, inst.control = it->second;
  } else if (auto it = memory_ops().find(name); it != memory_ops().end()) {
    inst.unit = it->second.unit, inst.mem = it->second;
  } else if (llvm::StringRef(name).starts_with("S_LOAD_B")) {
    inst.unit = Unit::Smem, inst.smem_imm = llvm::StringRef(name).ends_with("IMM");
  } else if (auto it = salu_ops().find(name); it != salu_ops().end()) {
    inst.unit = Unit::Salu, inst.salu = &it->second;
    if (is_sopk(name) && !inst.imm.empty())
      inst.src.push_back(
          {Operand::Imm, 1, 0, 0,
           llvm::StringRef(name).ends_with("U32") ? inst.imm[0] & 0xffff : int64_t(sext(inst.imm[0], 16))});
  } else if (llvm::StringRef rest = name; rest.consume_front("V_DUAL_")) {
    auto [x, y] = rest.split("_X_");
    auto ox = valu_ops().find(base_name("V_" + x.str())), oy = valu_ops().find(base_name("V_" + y.str()));
    if (ox == valu_ops().end() || oy == valu_ops().end() || inst.dst.size() != 2 ||
        inst.src.size() != size_t(ox->second.arity + oy->second.arity))
      return unsupported();
    inst.unit = Unit::Vopd, inst.valu = &ox->second, inst.valu_y = &oy->second;
  } else if (auto it = valu_ops().find(name); it != valu_ops().end()) {
    inst.unit = Unit::Valu, inst.valu = &it->second;
    Shape shape = it->second.shape;
    if ((shape == Shape::Select || shape == Shape::CarryInOut) && inst.src.size() == 2) inst.src.push_back(vcc);
    bool carry = shape == Shape::CarryOut || shape == Shape::CarryInOut;
    if ((shape == Shape::Compare && inst.dst.empty()) || (carry && inst.dst.size() == 1)) inst.dst.push_back(vcc);
    if (shape == Shape::CompareExec) inst.dst.assign(1, Operand{Operand::Sgpr, 1, exec_lo});
    // clamp and omod (the trailing immediates of VOP3) would change results: refuse rather than ignore them
    if (inst.src.size() > 3 || llvm::any_of(inst.imm, [](int64_t v) { return v != 0; })) return unsupported();
  } else {
    return unsupported();
  }
  return llvm::Error::success();
}

// ---- Waves ----------------------------------------------------------------------------------------------------

enum class Counter : uint8_t { None, Vm, Smem, Lds };

// An outstanding load's destination register: which counter covers it, its place in that counter's order, and the
// load, for the message.
struct Pending {
  Counter counter = Counter::None;
  uint32_t seq = 0;
  const Inst* load = nullptr;
};

using Lanes = std::array<uint32_t, wave_size>;

struct Wave {
  std::array<uint32_t, scalar_registers> sgpr{};
  bool scc = false;
  std::vector<Lanes> vgpr;
  uint64_t pc = 0;
  bool done = false, at_barrier = false;
  unsigned index = 0; // in its workgroup, for messages
  Dim3 group;
  // the scoreboard
  std::array<Pending, scalar_registers> sgpr_pending{};
  std::vector<Pending> vgpr_pending;
  uint32_t vm_issued = 0, lds_issued = 0;
  // VALUTransUseHazard: for each VGPR a trans op wrote, the VALU and trans counts just after it
  std::vector<const Inst*> trans_writer;
  std::vector<std::pair<uint64_t, uint64_t>> trans_at;
  uint64_t valu_count = 0, trans_count = 0;

  uint32_t exec() const { return sgpr[exec_lo]; }
};

const char* counter_name(Counter c) {
  switch (c) {
  case Counter::Vm: return "vmcnt";
  case Counter::Smem:
  case Counter::Lds: return "lgkmcnt";
  case Counter::None: break;
  }
  return "";
}

std::string register_name(Operand::Kind kind, unsigned index) {
  if (kind == Operand::Vgpr) return fmt::format("v{}", index);
  if (index == vcc_lo) return "vcc_lo";
  if (index == exec_lo) return "exec_lo";
  if (index == m0) return "m0";
  return fmt::format("s{}", index);
}

// Everything one run shares: the kernel, its decoded code, memory, the counters and the instruction budget.
class Machine {
public:
  Machine(const CodeObject& kernel, const Launch& launch) : kernel(kernel), launch(launch), decoder(kernel) {}
  llvm::Expected<Counters> run();

private:
  llvm::Error run_workgroup(uint32_t x, uint32_t y, uint32_t z);
  llvm::Error init_wave(Wave& wave, unsigned index, uint32_t x, uint32_t y, uint32_t z);
  llvm::Error run_wave(Wave& wave);
  llvm::Error step(Wave& wave, const Inst& inst);
  llvm::Error salu(Wave& wave, const Inst& inst);
  llvm::Error valu(Wave& wave, const Inst& inst, const ValuOp& op, llvm::ArrayRef<Operand> dst,
                   llvm::ArrayRef<Operand> src, llvm::SmallVectorImpl<std::pair<Operand, Lanes>>& writes);
  llvm::Error vector_alu(Wave& wave, const Inst& inst);
  llvm::Error smem(Wave& wave, const Inst& inst);
  llvm::Error global(Wave& wave, const Inst& inst);
  llvm::Error lds_access(Wave& wave, const Inst& inst);
  llvm::Error control(Wave& wave, const Inst& inst);

  llvm::Error check_reads(const Wave& wave, const Inst& inst, llvm::ArrayRef<Operand> reads) const;
  llvm::Error check_writes(const Wave& wave, const Inst& inst, llvm::ArrayRef<Operand> writes,
                           Counter in_order = Counter::None) const;
  void mark_pending(Wave& wave, const Inst& inst, const Operand& dst, Counter counter, uint32_t seq);
  void wait(Wave& wave, Counter counter, unsigned count);
  llvm::Expected<uint8_t*> host(const Wave& wave, const Inst& inst, uint64_t address, size_t bytes, int lane);

  u64 read(const Wave& wave, const Operand& op, int lane, Type type = Type::B32) const;
  void write(Wave& wave, const Operand& op, int lane, u64 value);

  const CodeObject& kernel;
  const Launch& launch;
  Decoder decoder;
  Counters counters;
  llvm::SmallVector<Buffer, 8> memory; // the caller's buffers and our copy of the kernargs
  std::vector<uint8_t> lds;
};

u64 Machine::read(const Wave& wave, const Operand& op, int lane, Type type) const {
  u64 value = 0;
  switch (op.kind) {
  case Operand::Imm: value = u64(op.imm); break;
  case Operand::Scc: value = wave.scc; break;
  case Operand::Sgpr:
    value = op.index == null_sgpr ? 0 : wave.sgpr[op.index];
    if (op.count > 1 && op.index != null_sgpr) value |= u64(wave.sgpr[op.index + 1]) << 32;
    break;
  case Operand::Vgpr:
    value = wave.vgpr[op.index][lane];
    if (op.count > 1) value |= u64(wave.vgpr[op.index + 1][lane]) << 32;
    break;
  }
  if (op.mods) {
    int sign = type == Type::F16 ? 15 : type == Type::F64 ? 63 : 31;
    if (op.mods & mod_abs) value &= ~(u64(1) << sign);
    if (op.mods & mod_neg) value ^= u64(1) << sign;
  }
  return value;
}

void Machine::write(Wave& wave, const Operand& op, int lane, u64 value) {
  for (unsigned i = 0; i < op.count && i < 2; ++i, value >>= 32) {
    if (op.kind == Operand::Vgpr)
      wave.vgpr[op.index + i][lane] = uint32_t(value);
    else if (op.kind == Operand::Sgpr && op.index != null_sgpr)
      wave.sgpr[op.index + i] = uint32_t(value);
  }
}

// ---- The scoreboard -------------------------------------------------------------------------------------------

llvm::Error Machine::check_reads(const Wave& wave, const Inst& inst, llvm::ArrayRef<Operand> reads) const {
  for (const Operand& op : reads) {
    if (op.kind != Operand::Sgpr && op.kind != Operand::Vgpr) continue;
    if (op.kind == Operand::Vgpr && op.index + op.count > wave.vgpr.size())
      return error(fmt::format("{} uses v{} but the kernel descriptor allocates {} VGPRs", decoder.describe(inst),
                               op.index + op.count - 1, wave.vgpr.size()));
    for (unsigned r = op.index; r < op.index + op.count; ++r) {
      const Pending& p = op.kind == Operand::Vgpr ? wave.vgpr_pending[r] : wave.sgpr_pending[r];
      if (p.counter != Counter::None)
        return error(fmt::format("{} read at 0x{:x} before s_waitcnt {}: loaded by {}", register_name(op.kind, r),
                                 inst.pc, counter_name(p.counter), decoder.describe(*p.load)));
    }
    if (op.kind != Operand::Vgpr || (inst.unit != Unit::Valu && inst.unit != Unit::Vopd)) continue;
    for (unsigned r = op.index; r < op.index + op.count; ++r) {
      auto [valu_after, trans_after] = wave.trans_at[r];
      if (wave.trans_writer[r] && wave.valu_count - valu_after < 5 && wave.trans_count == trans_after)
        return error(fmt::format("v{} read by {} {} VALUs after {} wrote it: needs s_waitcnt_depctr 0xfff "
                                 "(VALUTransUseHazard)",
                                 r, decoder.describe(inst), wave.valu_count - valu_after,
                                 decoder.describe(*wave.trans_writer[r])));
    }
  }
  return llvm::Error::success();
}

// A write to a register an outstanding load will still write is lost when the load lands, unless the write is a
// load that lands after it (`in_order`).
llvm::Error Machine::check_writes(const Wave& wave, const Inst& inst, llvm::ArrayRef<Operand> writes,
                                  Counter in_order) const {
  for (const Operand& op : writes) {
    if (op.kind == Operand::Vgpr && op.index + op.count > wave.vgpr.size())
      return error(fmt::format("{} writes v{} but the kernel descriptor allocates {} VGPRs", decoder.describe(inst),
                               op.index + op.count - 1, wave.vgpr.size()));
    if (op.kind != Operand::Sgpr && op.kind != Operand::Vgpr) continue;
    for (unsigned r = op.index; r < op.index + op.count; ++r) {
      const Pending& p = op.kind == Operand::Vgpr ? wave.vgpr_pending[r] : wave.sgpr_pending[r];
      if (p.counter != Counter::None && p.counter != in_order)
        return error(fmt::format("{} written at 0x{:x} before s_waitcnt {}: the load by {} may land after it",
                                 register_name(op.kind, r), inst.pc, counter_name(p.counter),
                                 decoder.describe(*p.load)));
    }
  }
  return llvm::Error::success();
}

void Machine::mark_pending(Wave& wave, const Inst& inst, const Operand& dst, Counter counter, uint32_t seq) {
  for (unsigned r = dst.index; r < dst.index + dst.count; ++r)
    (dst.kind == Operand::Vgpr ? wave.vgpr_pending[r] : wave.sgpr_pending[r]) = {counter, seq, &inst};
}

// Vector loads return in order, so vmcnt(n) retires all but the newest n. LDS loads do too, among themselves, but
// SMEM loads share lgkmcnt and return in any order: only lgkmcnt(0) retires them.
void Machine::wait(Wave& wave, Counter counter, unsigned count) {
  auto retire = [&](Pending& p) {
    bool done = false;
    if (counter == Counter::Vm)
      done = p.counter == Counter::Vm && p.seq + count <= wave.vm_issued;
    else if (counter == Counter::Lds)
      done =
          (p.counter == Counter::Smem && count == 0) || (p.counter == Counter::Lds && p.seq + count <= wave.lds_issued);
    if (done) p = Pending{};
  };
  for (Pending& p : wave.sgpr_pending) retire(p);
  for (Pending& p : wave.vgpr_pending) retire(p);
}

// ---- Execution ------------------------------------------------------------------------------------------------

llvm::Error Machine::salu(Wave& wave, const Inst& inst) {
  if (inst.src.empty()) return error(fmt::format("unsupported instruction {}", decoder.describe(inst)));
  if (llvm::Error e = check_reads(wave, inst, inst.src)) return e;
  if (llvm::Error e = check_writes(wave, inst, inst.dst)) return e;
  u64 a = read(wave, inst.src[0], 0), b = inst.src.size() > 1 ? read(wave, inst.src[1], 0) : 0;
  const SaluOp& op = *inst.salu;
  if (op.shape == SaluShape::SaveExec) {
    u64 saved = wave.exec();
    wave.sgpr[exec_lo] = uint32_t(op.fn(a, saved, wave.scc).d);
    wave.scc = wave.exec() != 0;
    write(wave, inst.dst[0], 0, saved);
    return llvm::Error::success();
  }
  SaluResult r = op.fn(a, b, wave.scc);
  if (op.shape == SaluShape::Plain) write(wave, inst.dst[0], 0, r.d);
  if (r.scc >= 0) wave.scc = r.scc != 0;
  return llvm::Error::success();
}

// One VALU op over the active lanes. Results go to `writes` rather than to the registers, so that a VOPD's two
// halves both read their sources before either writes.
llvm::Error Machine::valu(Wave& wave, const Inst& inst, const ValuOp& op, llvm::ArrayRef<Operand> dst,
                          llvm::ArrayRef<Operand> src, llvm::SmallVectorImpl<std::pair<Operand, Lanes>>& writes) {
  if (dst.empty()) return error(fmt::format("unsupported instruction {}", decoder.describe(inst)));
  uint32_t exec = wave.exec();
  Lanes result{}, high{};
  auto operand = [&](size_t i, int lane) { return i < src.size() ? read(wave, src[i], lane, op.type) : 0; };
  auto mask_bit = [&](int lane) { return (read(wave, src.back(), 0) >> lane) & 1; };
  if (op.shape == Shape::ReadFirstLane) {
    int lane = exec ? std::countr_zero(exec) : 0;
    writes.push_back({dst[0], Lanes{uint32_t(operand(0, lane))}});
    return llvm::Error::success();
  }
  uint32_t bits_out = 0;
  for (int lane = 0; lane < wave_size; ++lane) {
    if (!((exec >> lane) & 1)) continue;
    u64 a = operand(0, lane), b = operand(1, lane), c = operand(2, lane), r = 0;
    switch (op.shape) {
    case Shape::Plain: r = op.fn(a, b, c); break;
    case Shape::Compare:
    case Shape::CompareExec: bits_out |= uint32_t(op.fn(a, b, 0) & 1) << lane; continue;
    case Shape::Select: r = op.fn(a, b, mask_bit(lane)); break;
    case Shape::CarryOut: r = op.fn(a, b, 0), bits_out |= uint32_t((r >> 32) & 1) << lane; break;
    case Shape::CarryInOut: r = op.fn(a, b, mask_bit(lane)), bits_out |= uint32_t((r >> 32) & 1) << lane; break;
    case Shape::MadU64: {
      unsigned __int128 sum = (unsigned __int128)(u64(u32(a)) * u32(b)) + c;
      r = u64(sum), bits_out |= uint32_t(sum >> 64 != 0) << lane;
      break;
    }
    case Shape::MadI64: {
      __int128 sum = __int128(int64_t(i32(a)) * i32(b)) + int64_t(c);
      r = u64(sum), bits_out |= uint32_t(sum != __int128(int64_t(r))) << lane;
      break;
    }
    case Shape::ReadFirstLane: break;
    }
    result[lane] = uint32_t(r), high[lane] = uint32_t(r >> 32);
  }
  bool to_mask = op.shape == Shape::Compare || op.shape == Shape::CompareExec;
  if (!to_mask) {
    // keep inactive lanes: start from the registers' current values
    for (unsigned i = 0; i < std::min<unsigned>(dst[0].count, 2); ++i) {
      Lanes& out = i == 0 ? result : high;
      for (int lane = 0; lane < wave_size; ++lane)
        if (!((exec >> lane) & 1)) out[lane] = uint32_t(read(wave, dst[0], lane) >> (32 * i));
    }
    if (op.type == Type::F16) // fake16: a half result clears the high bits
      for (uint32_t& v : result) v &= 0xffff;
    Operand lo = dst[0];
    lo.count = 1;
    writes.push_back({lo, result});
    if (dst[0].count > 1) {
      Operand hi = dst[0];
      hi.index += 1, hi.count = 1;
      writes.push_back({hi, high});
    }
  }
  if (to_mask || op.shape == Shape::CarryOut || op.shape == Shape::CarryInOut || op.shape == Shape::MadU64 ||
      op.shape == Shape::MadI64) {
    const Operand& m = to_mask ? dst[0] : dst[1];
    writes.push_back({m, Lanes{bits_out}});
  }
  return llvm::Error::success();
}

// VALU and VOPD: the scoreboard and hazard checks, the op(s), then every write.
llvm::Error Machine::vector_alu(Wave& wave, const Inst& inst) {
  if (llvm::Error e = check_reads(wave, inst, inst.src)) return e;
  if (llvm::Error e = check_writes(wave, inst, inst.dst)) return e;
  llvm::SmallVector<std::pair<Operand, Lanes>, 4> writes;
  if (inst.unit == Unit::Vopd) {
    llvm::ArrayRef<Operand> src = inst.src;
    size_t nx = inst.valu->arity;
    llvm::SmallVector<Operand, 4> src_x(src.take_front(nx)), src_y(src.drop_front(nx));
    Operand vcc{Operand::Sgpr, 1, vcc_lo};
    if (inst.valu->shape == Shape::Select) src_x.push_back(vcc);
    if (inst.valu_y->shape == Shape::Select) src_y.push_back(vcc);
    if (llvm::Error e = valu(wave, inst, *inst.valu, llvm::ArrayRef(inst.dst).take_front(1), src_x, writes)) return e;
    if (llvm::Error e = valu(wave, inst, *inst.valu_y, llvm::ArrayRef(inst.dst).drop_front(1), src_y, writes)) return e;
  } else if (llvm::Error e = valu(wave, inst, *inst.valu, inst.dst, inst.src, writes)) {
    return e;
  }
  bool trans = inst.valu->trans || (inst.valu_y && inst.valu_y->trans);
  ++wave.valu_count;
  wave.trans_count += trans;
  for (auto& [op, lanes] : writes) {
    if (op.kind == Operand::Vgpr) {
      wave.vgpr[op.index] = lanes;
      wave.trans_writer[op.index] = trans ? &inst : nullptr;
      wave.trans_at[op.index] = {wave.valu_count, wave.trans_count};
    } else {
      write(wave, op, 0, lanes[0]);
    }
  }
  return llvm::Error::success();
}

llvm::Expected<uint8_t*> Machine::host(const Wave& wave, const Inst& inst, uint64_t address, size_t bytes, int lane) {
  for (const Buffer& b : memory) {
    uint64_t begin = reinterpret_cast<uint64_t>(b.data);
    if (address >= begin && address + bytes <= begin + b.bytes) return reinterpret_cast<uint8_t*>(address);
  }
  return error(fmt::format("{} accesses {} bytes at 0x{:x} (workgroup ({}, {}, {}), wave {}, lane {}), outside every "
                           "registered buffer",
                           decoder.describe(inst), bytes, address, wave.group.x, wave.group.y, wave.group.z, wave.index,
                           lane));
}

// s_load: sbase + the SGPR offset + the immediate (21 bits, signed).
llvm::Error Machine::smem(Wave& wave, const Inst& inst) {
  if (inst.dst.empty() || inst.src.empty() || inst.dst[0].kind != Operand::Sgpr)
    return error(fmt::format("unsupported instruction {}", decoder.describe(inst)));
  if (llvm::Error e = check_reads(wave, inst, inst.src)) return e;
  if (llvm::Error e = check_writes(wave, inst, inst.dst)) return e;
  u64 address = read(wave, inst.src[0], 0);
  if (inst.src.size() > 1) address += u32(read(wave, inst.src[1], 0));
  if (inst.smem_imm && !inst.imm.empty()) address += sext(u64(inst.imm[0]), 21);
  const Operand& dst = inst.dst[0];
  llvm::Expected<uint8_t*> p = host(wave, inst, address, dst.count * 4, 0);
  if (!p) return p.takeError();
  std::memcpy(&wave.sgpr[dst.index], *p, dst.count * 4);
  mark_pending(wave, inst, dst, Counter::Smem, 0);
  return llvm::Error::success();
}

// global_load/store: a 64-bit vaddr, or saddr + a 32-bit vaddr; plus a 13-bit signed offset.
llvm::Error Machine::global(Wave& wave, const Inst& inst) {
  bool load = inst.unit == Unit::GlobalLoad;
  size_t need = (load ? 1 : 2) + inst.saddr;
  if (inst.src.size() != need || inst.imm.empty() || (load && inst.dst.size() != 1))
    return error(fmt::format("unsupported instruction {}", decoder.describe(inst)));
  if (llvm::Error e = check_reads(wave, inst, inst.src)) return e;
  // a vector load may overwrite a register an older vector load still writes: they land in order
  if (llvm::Error e = check_writes(wave, inst, inst.dst, Counter::Vm)) return e;
  const Operand& vaddr = inst.src[load && inst.saddr ? 1 : 0];
  const Operand* saddr = inst.saddr ? &inst.src[load ? 0 : 2] : nullptr;
  int64_t offset = int64_t(sext(u64(inst.imm[0]), 13));
  uint32_t exec = wave.exec();
  for (int lane = 0; lane < wave_size; ++lane) {
    if (!((exec >> lane) & 1)) continue;
    u64 address = saddr ? read(wave, *saddr, 0) + u32(read(wave, vaddr, lane)) : read(wave, vaddr, lane);
    address += offset;
    llvm::Expected<uint8_t*> p = host(wave, inst, address, inst.mem.bytes, lane);
    if (!p) return p.takeError();
    if (load) {
      uint32_t words[4] = {};
      std::memcpy(words, *p, inst.mem.bytes);
      if (inst.mem.bytes < 4 && inst.mem.sign) words[0] = uint32_t(sext(words[0], inst.mem.bytes * 8));
      for (unsigned i = 0; i < inst.dst[0].count && i < 4; ++i) wave.vgpr[inst.dst[0].index + i][lane] = words[i];
    } else {
      const Operand& data = inst.src[1];
      uint32_t words[4] = {};
      for (unsigned i = 0; i < data.count && i < 4; ++i) words[i] = wave.vgpr[data.index + i][lane];
      std::memcpy(*p, words, inst.mem.bytes);
    }
  }
  if (load) mark_pending(wave, inst, inst.dst[0], Counter::Vm, ++wave.vm_issued);
  return llvm::Error::success();
}

// ds_load/ds_store: a per-workgroup LDS of the descriptor's size; the address is a VGPR plus a 16-bit offset (two
// 8-bit offsets in elements for the 2addr forms).
llvm::Error Machine::lds_access(Wave& wave, const Inst& inst) {
  bool load = inst.unit == Unit::LdsLoad;
  size_t datas = load ? 0 : (inst.mem.two ? 2 : 1);
  size_t offsets = inst.mem.two ? 2 : 1;
  if (inst.src.size() != 1 + datas || inst.imm.size() < offsets || (load && inst.dst.size() != 1))
    return error(fmt::format("unsupported instruction {}", decoder.describe(inst)));
  if (llvm::Error e = check_reads(wave, inst, inst.src)) return e;
  if (load)
    if (llvm::Error e = check_writes(wave, inst, inst.dst)) return e;
  uint32_t exec = wave.exec();
  unsigned words = std::max(1, inst.mem.bytes / 4);
  for (int lane = 0; lane < wave_size; ++lane) {
    if (!((exec >> lane) & 1)) continue;
    uint32_t base = u32(read(wave, inst.src[0], lane));
    for (size_t k = 0; k < offsets; ++k) {
      uint64_t address = base + (inst.mem.two ? inst.imm[k] * inst.mem.bytes : inst.imm[0]);
      if (address + inst.mem.bytes > lds.size())
        return error(fmt::format("{} accesses LDS at 0x{:x} (lane {}), past the kernel's {} bytes of LDS",
                                 decoder.describe(inst), address, lane, lds.size()));
      uint32_t value[4] = {};
      if (load) {
        std::memcpy(value, &lds[address], inst.mem.bytes);
        if (inst.mem.bytes < 4 && inst.mem.sign) value[0] = uint32_t(sext(value[0], inst.mem.bytes * 8));
        for (unsigned i = 0; i < words; ++i) wave.vgpr[inst.dst[0].index + k * words + i][lane] = value[i];
      } else {
        const Operand& data = inst.src[1 + k];
        for (unsigned i = 0; i < data.count && i < 4; ++i) value[i] = wave.vgpr[data.index + i][lane];
        std::memcpy(&lds[address], value, inst.mem.bytes);
      }
    }
  }
  if (load) mark_pending(wave, inst, inst.dst[0], Counter::Lds, ++wave.lds_issued);
  return llvm::Error::success();
}

llvm::Error Machine::control(Wave& wave, const Inst& inst) {
  int64_t simm16 = inst.imm.empty() ? 0 : inst.imm[0];
  auto branch_if = [&](bool taken) {
    if (taken) wave.pc = inst.pc + 4 + sext(u64(simm16), 16) * 4;
  };
  switch (inst.control) {
  case Control::Nop: break;
  case Control::End: wave.done = true; break;
  case Control::Branch: branch_if(true); break;
  case Control::Scc0: branch_if(!wave.scc); break;
  case Control::Scc1: branch_if(wave.scc); break;
  case Control::Vccz: branch_if(wave.sgpr[vcc_lo] == 0); break;
  case Control::Vccnz: branch_if(wave.sgpr[vcc_lo] != 0); break;
  case Control::Execz: branch_if(wave.exec() == 0); break;
  case Control::Execnz: branch_if(wave.exec() != 0); break;
  case Control::Waitcnt: // gfx11 simm16: vmcnt[15:10], lgkmcnt[9:4], expcnt[2:0]
    wait(wave, Counter::Vm, unsigned(simm16 >> 10) & 0x3f);
    wait(wave, Counter::Lds, unsigned(simm16 >> 4) & 0x3f);
    break;
  case Control::Vmcnt:
  case Control::Lgkmcnt: // the SOPK forms: the count is the SGPR (null here) plus the constant
    if (!inst.src.empty() && !(inst.src[0].kind == Operand::Sgpr && inst.src[0].index == null_sgpr))
      return error(fmt::format("unsupported instruction {}: only null as the count register", decoder.describe(inst)));
    wait(wave, inst.control == Control::Vmcnt ? Counter::Vm : Counter::Lds, unsigned(simm16 & 0xffff));
    break;
  case Control::Vscnt: break; // stores: their data is read at issue here, and nothing reads memory back early
  case Control::Depctr:
    if (((simm16 >> 12) & 0xf) == 0) // va_vdst = 0: every VALU result has landed
      std::fill(wave.trans_writer.begin(), wave.trans_writer.end(), nullptr);
    break;
  case Control::Barrier: wave.at_barrier = true; break;
  }
  return llvm::Error::success();
}

llvm::Error Machine::step(Wave& wave, const Inst& inst) {
  switch (inst.unit) {
  case Unit::Salu: ++counters.salu; return salu(wave, inst);
  case Unit::Valu:
  case Unit::Vopd: ++counters.valu; return vector_alu(wave, inst);
  case Unit::Smem: ++counters.smem; return smem(wave, inst);
  case Unit::GlobalLoad:
  case Unit::GlobalStore: ++counters.vmem; return global(wave, inst);
  case Unit::LdsLoad:
  case Unit::LdsStore: ++counters.lds; return lds_access(wave, inst);
  case Unit::Control: ++counters.control; return control(wave, inst);
  }
  return llvm::Error::success();
}

// Runs the wave until it ends or reaches a barrier.
llvm::Error Machine::run_wave(Wave& wave) {
  while (!wave.done && !wave.at_barrier) {
    if (counters.total() >= launch.instruction_limit)
      return error(fmt::format("kernel {} ran past {} instructions", kernel.name, launch.instruction_limit));
    llvm::Expected<const Inst*> inst = decoder.at(wave.pc);
    if (!inst) return inst.takeError();
    wave.pc += (*inst)->size;
    if (llvm::Error e = step(wave, **inst)) return e;
  }
  return llvm::Error::success();
}

// The state hardware sets up: user SGPRs (only the kernarg pointer is supported), then the enabled workgroup ids
// at user_sgpr_count, v0 = the packed workitem id, exec = the wave's live lanes.
llvm::Error Machine::init_wave(Wave& wave, unsigned index, uint32_t x, uint32_t y, uint32_t z) {
  constexpr uint16_t kernarg_ptr = 1 << 3, wave32 = 1 << 10, other_user_sgprs = 0x77;
  if (!(kernel.properties & wave32))
    return error(fmt::format("kernel {} is wave64; the emulator runs wave32 only", kernel.name));
  if (kernel.properties & other_user_sgprs)
    return error(fmt::format("kernel {} enables user SGPRs other than the kernarg pointer (properties 0x{:x}): give "
                             "it the amdgpu-no-* attributes",
                             kernel.name, kernel.properties));
  if ((kernel.rsrc2 & 1) || (kernel.rsrc2 & (1 << 10)) || kernel.private_size)
    return error(
        fmt::format("kernel {} uses scratch or the workgroup info SGPR, which the emulator lacks", kernel.name));
  wave.index = index, wave.group = {x, y, z};
  if (kernel.properties & kernarg_ptr) {
    auto address = reinterpret_cast<uint64_t>(memory.back().data);
    wave.sgpr[0] = uint32_t(address), wave.sgpr[1] = uint32_t(address >> 32);
  }
  unsigned s = kernel.user_sgpr_count;
  for (auto [bit, id] : {std::pair{7, x}, {8, y}, {9, z}})
    if (kernel.rsrc2 & (1u << bit)) wave.sgpr[s++] = id;
  Dim3 b = launch.block;
  uint32_t threads = b.x * b.y * b.z;
  wave.vgpr.assign(std::max(kernel.vgpr_count, 1u), Lanes{});
  wave.vgpr_pending.assign(wave.vgpr.size(), Pending{});
  wave.trans_writer.assign(wave.vgpr.size(), nullptr);
  wave.trans_at.assign(wave.vgpr.size(), {0, 0});
  for (int lane = 0; lane < wave_size; ++lane) {
    uint32_t flat = index * wave_size + lane;
    if (flat >= threads) continue;
    wave.sgpr[exec_lo] |= 1u << lane;
    wave.vgpr[0][lane] = (flat % b.x) | ((flat / b.x % b.y) << 10) | ((flat / (b.x * b.y)) << 20);
  }
  return llvm::Error::success();
}

// A workgroup's waves run in turn, each up to its next barrier; when every live wave waits there, all go on.
llvm::Error Machine::run_workgroup(uint32_t x, uint32_t y, uint32_t z) {
  Dim3 b = launch.block;
  unsigned waves = (b.x * b.y * b.z + wave_size - 1) / wave_size;
  std::vector<Wave> group(waves);
  for (unsigned i = 0; i < waves; ++i)
    if (llvm::Error e = init_wave(group[i], i, x, y, z)) return e;
  std::fill(lds.begin(), lds.end(), 0);
  while (true) {
    for (Wave& wave : group)
      if (llvm::Error e = run_wave(wave)) return e;
    if (llvm::all_of(group, [](const Wave& w) { return w.done; })) return llvm::Error::success();
    for (Wave& wave : group) wave.at_barrier = false;
  }
}

llvm::Expected<Counters> Machine::run() {
  Dim3 b = launch.block, g = launch.grid;
  if (b.x == 0 || b.y == 0 || b.z == 0 || b.x * b.y * b.z > 1024 || b.x >= 1024 || b.y >= 1024 || b.z >= 1024)
    return error(fmt::format("workgroup size {}x{}x{} is not in 1..1024 workitems", b.x, b.y, b.z));
  if (launch.kernargs.size() < kernel.kernarg_size)
    return error(fmt::format("kernel {} takes {} bytes of arguments, got {}", kernel.name, kernel.kernarg_size,
                             launch.kernargs.size()));
  std::vector<uint8_t> kernargs(launch.kernargs.begin(), launch.kernargs.end());
  memory.append(launch.buffers.begin(), launch.buffers.end());
  memory.push_back({kernargs.data(), kernargs.size()}); // last: init_wave reads it from there
  lds.assign(kernel.lds_size, 0);
  for (uint32_t z = 0; z < g.z; ++z)
    for (uint32_t y = 0; y < g.y; ++y)
      for (uint32_t x = 0; x < g.x; ++x)
        if (llvm::Error e = run_workgroup(x, y, z)) return e;
  return counters;
}

} // namespace

llvm::Expected<Counters> run(const CodeObject& kernel, const Launch& launch) {
  Machine machine(kernel, launch);
  return machine.run();
}

} // namespace patgrad::runtime::rdna3
