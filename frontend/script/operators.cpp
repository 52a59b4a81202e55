// Operators with Python's semantics: 64-bit ints that raise OverflowError instead of wrapping, floor division and
// modulo with the divisor's sign, true division to float, chained comparisons, identity and membership.
#include "frontend/script/interp.h"
#include <cmath>
#include <fmt/format.h>

namespace patgrad::script {

namespace {

const char* symbol(BinOp op) {
  static const char* names[] = {"+", "-", "*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^"};
  return names[int(op)];
}

const char* dunder(BinOp op) {
  static const char* names[] = {"__add__", "__sub__", "__mul__",    "__truediv__", "__floordiv__",
                                "__mod__", "__pow__", "__matmul__", "__lshift__",  "__rshift__",
                                "__and__", "__or__",  "__xor__"};
  return names[int(op)];
}

[[noreturn]] void overflow() { raise("OverflowError", "integer overflow: the result does not fit in 64 bits"); }

// a op b, or OverflowError; op is one of the __builtin_*_overflow functions
template <typename Op>
int64_t checked(Op op, int64_t a, int64_t b) {
  int64_t r;
  if (op(a, b, &r)) overflow();
  return r;
}
constexpr auto add_ovf = [](int64_t a, int64_t b, int64_t* r) { return __builtin_add_overflow(a, b, r); };
constexpr auto sub_ovf = [](int64_t a, int64_t b, int64_t* r) { return __builtin_sub_overflow(a, b, r); };
constexpr auto mul_ovf = [](int64_t a, int64_t b, int64_t* r) { return __builtin_mul_overflow(a, b, r); };

Value int_binary(BinOp op, int64_t a, int64_t b) {
  switch (op) {
  case BinOp::Add: return Value::integer(checked(add_ovf, a, b));
  case BinOp::Sub: return Value::integer(checked(sub_ovf, a, b));
  case BinOp::Mul: return Value::integer(checked(mul_ovf, a, b));
  case BinOp::Div:
    if (b == 0) raise("ZeroDivisionError", "division by zero");
    return Value::real(double(a) / double(b));
  case BinOp::FloorDiv:
  case BinOp::Mod: {
    if (b == 0)
      raise("ZeroDivisionError", op == BinOp::Mod ? "integer modulo by zero" : "integer division or modulo by zero");
    if (a == INT64_MIN && b == -1) {
      if (op == BinOp::Mod) return Value::integer(0);
      overflow();
    }
    int64_t q = a / b, m = a % b;
    if (m != 0 && ((m < 0) != (b < 0))) q--, m += b;
    return Value::integer(op == BinOp::Mod ? m : q);
  }
  case BinOp::Pow: {
    if (b < 0) {
      if (a == 0) raise("ZeroDivisionError", "0.0 cannot be raised to a negative power");
      return Value::real(std::pow(double(a), double(b)));
    }
    int64_t result = 1, base = a;
    for (int64_t e = b; e > 0; e >>= 1) {
      if (e & 1) result = checked(mul_ovf, result, base);
      if (e > 1) base = checked(mul_ovf, base, base);
    }
    return Value::integer(result);
  }
  case BinOp::LShift:
    if (b < 0) raise("ValueError", "negative shift count");
    if (a == 0) return Value::integer(0);
    if (b >= 63 || (a > 0 ? a > (INT64_MAX >> b) : a < (INT64_MIN >> b))) overflow();
    return Value::integer(int64_t(uint64_t(a) << b));
  case BinOp::RShift:
    if (b < 0) raise("ValueError", "negative shift count");
    return Value::integer(b >= 64 ? (a < 0 ? -1 : 0) : a >> b);
  case BinOp::BitAnd: return Value::integer(a & b);
  case BinOp::BitOr: return Value::integer(a | b);
  case BinOp::BitXor: return Value::integer(a ^ b);
  case BinOp::MatMul: break;
  }
  raise("TypeError", "unsupported operand type(s) for @: 'int' and 'int'");
}

Value float_binary(BinOp op, double a, double b, const char* ta, const char* tb) {
  switch (op) {
  case BinOp::Add: return Value::real(a + b);
  case BinOp::Sub: return Value::real(a - b);
  case BinOp::Mul: return Value::real(a * b);
  case BinOp::Div:
    if (b == 0) raise("ZeroDivisionError", "float division by zero");
    return Value::real(a / b);
  case BinOp::FloorDiv:
  case BinOp::Mod: {
    if (b == 0) raise("ZeroDivisionError", op == BinOp::Mod ? "float modulo" : "float floor division by zero");
    // Python's float_divmod
    double mod = std::fmod(a, b), div = (a - mod) / b;
    if (mod != 0) {
      if ((b < 0) != (mod < 0)) mod += b, div -= 1;
    } else
      mod = std::copysign(0.0, b);
    double floordiv = 0;
    if (div != 0) {
      floordiv = std::floor(div);
      if (div - floordiv > 0.5) floordiv += 1;
    } else
      floordiv = std::copysign(0.0, a / b);
    return Value::real(op == BinOp::Mod ? mod : floordiv);
  }
  case BinOp::Pow:
    if (a == 0 && b < 0) raise("ZeroDivisionError", "0.0 cannot be raised to a negative power");
    if (a < 0 && b != std::floor(b) && std::isfinite(b))
      raise("ValueError", "a negative number cannot be raised to a fractional power");
    return Value::real(std::pow(a, b));
  default: break;
  }
  raise("TypeError", fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", symbol(op), ta, tb));
}

Value repeat(const Value& seq, int64_t n) {
  if (seq.is(Type::Str)) {
    const std::string& s = seq.as<StrObj>().s;
    if (n <= 0 || s.empty()) return make_str("");
    if (uint64_t(n) * s.size() > (1u << 30)) raise("MemoryError", "repeated string is too large");
    std::string out;
    for (int64_t i = 0; i < n; i++) out += s;
    return make_str(std::move(out));
  }
  const auto& items = seq.as<ListObj>().items;
  std::vector<Value> out;
  if (n > 0 && !items.empty()) {
    if (uint64_t(n) * items.size() > (1u << 28)) raise("MemoryError", "repeated sequence is too large");
    for (int64_t i = 0; i < n; i++) out.insert(out.end(), items.begin(), items.end());
  }
  return seq.is(Type::List) ? make_list(std::move(out)) : make_tuple(std::move(out));
}

int order(Interp& in, const Value& a, const Value& b, const char* op);

// Items of containers compare equal when they are the same object, without calling ==, as in Python: a list that
// holds itself equals itself.
bool same_or_equal(Interp& in, const Value& a, const Value& b) {
  return (a.obj() && a.obj() == b.obj()) || in.equal(a, b);
}

int seq_order(Interp& in, const std::vector<Value>& x, const std::vector<Value>& y, const char* op) {
  DepthGuard guard(in, "in comparison");
  for (size_t i = 0; i < x.size() && i < y.size(); i++)
    if (!same_or_equal(in, x[i], y[i])) return order(in, x[i], y[i], op);
  return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
}

// -1, 0 or 1; NaN compares as unordered: 2 (every ordering comparison false)
int order(Interp& in, const Value& a, const Value& b, const char* op) {
  if (a.is_number() && b.is_number()) {
    if (a.is(Type::Float) || b.is(Type::Float)) {
      double x = a.as_float(), y = b.as_float();
      return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
    }
    return a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
  }
  if (a.is(Type::Str) && b.is(Type::Str)) {
    int c = a.as<StrObj>().s.compare(b.as<StrObj>().s);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if ((a.is(Type::List) && b.is(Type::List)) || (a.is(Type::Tuple) && b.is(Type::Tuple)))
    return seq_order(in, a.as<ListObj>().items, b.as<ListObj>().items, op);
  raise("TypeError",
        fmt::format("'{}' not supported between instances of '{}' and '{}'", op, type_name(a), type_name(b)));
}

} // namespace

Value Interp::binary(BinOp op, const Value& a, const Value& b) {
  if (a.is(Type::Tensor) || b.is(Type::Tensor))
    if (auto r = tensor_binary(*this, op, a, b)) return *r;
  if (a.is_int_like() && b.is_int_like()) {
    if (a.is(Type::Bool) && b.is(Type::Bool) && (op == BinOp::BitAnd || op == BinOp::BitOr || op == BinOp::BitXor))
      return Value::boolean(int_binary(op, a.as_int(), b.as_int()).as_int() != 0);
    return int_binary(op, a.as_int(), b.as_int());
  }
  if (a.is_number() && b.is_number()) return float_binary(op, a.as_float(), b.as_float(), type_name(a), type_name(b));
  if (op == BinOp::Add && a.type() == b.type()) {
    if (a.is(Type::Str)) return make_str(a.as<StrObj>().s + b.as<StrObj>().s);
    if (a.is(Type::List) || a.is(Type::Tuple)) {
      std::vector<Value> out = a.as<ListObj>().items;
      out.insert(out.end(), b.as<ListObj>().items.begin(), b.as<ListObj>().items.end());
      return a.is(Type::List) ? make_list(std::move(out)) : make_tuple(std::move(out));
    }
  }
  if (op == BinOp::Mul) {
    bool seq_a = a.is(Type::Str) || a.is(Type::List) || a.is(Type::Tuple);
    bool seq_b = b.is(Type::Str) || b.is(Type::List) || b.is(Type::Tuple);
    if (seq_a && b.is_int_like()) return repeat(a, b.as_int());
    if (seq_b && a.is_int_like()) return repeat(b, a.as_int());
  }
  if (a.is(Type::Instance))
    if (auto f = try_getattr(a, dunder(op))) return call0(*f, b);
  if (b.is(Type::Instance))
    if (auto f = try_getattr(b, std::string("__r") + (dunder(op) + 2))) return call0(*f, a);
  raise("TypeError",
        fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", symbol(op), type_name(a), type_name(b)));
}

Value Interp::unary(UnOp op, const Value& a) {
  if (a.is(Type::Tensor)) return tensor_unary(*this, op, a.as<TensorObj>().t);
  if (a.is_int_like()) {
    int64_t v = a.as_int();
    if (op == UnOp::Neg) {
      if (v == INT64_MIN) overflow();
      return Value::integer(-v);
    }
    if (op == UnOp::Invert) return Value::integer(~v);
    return Value::integer(v);
  }
  if (a.is(Type::Float) && op != UnOp::Invert) return Value::real(op == UnOp::Neg ? -a.as_float() : a.as_float());
  if (a.is(Type::Instance) && op == UnOp::Neg)
    if (auto f = try_getattr(a, "__neg__")) {
      CallArgs none;
      return call(*f, none);
    }
  const char* sym = op == UnOp::Neg ? "-" : op == UnOp::Pos ? "+" : "~";
  raise("TypeError", fmt::format("bad operand type for unary {}: '{}'", sym, type_name(a)));
}

bool Interp::equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is(Type::Float) || b.is(Type::Float)) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
  case Type::None: return true;
  case Type::Str: return a.as<StrObj>().s == b.as<StrObj>().s;
  case Type::List:
  case Type::Tuple: {
    DepthGuard guard(*this, "in comparison");
    auto &x = a.as<ListObj>().items, &y = b.as<ListObj>().items;
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); i++)
      if (!same_or_equal(*this, x[i], y[i])) return false;
    return true;
  }
  case Type::Dict: {
    DepthGuard guard(*this, "in comparison");
    auto &x = a.as<DictObj>(), &y = b.as<DictObj>();
    if (x.entries.size() != y.entries.size()) return false;
    for (auto& [k, v] : x.entries) {
      Value* w = y.find(k);
      if (!w || !same_or_equal(*this, v, *w)) return false;
    }
    return true;
  }
  case Type::DType: return a.as<DTypeObj>().d == b.as<DTypeObj>().d;
  case Type::Range: {
    auto &x = a.as<RangeObj>(), &y = b.as<RangeObj>();
    return x.size() == y.size() && (x.size() == 0 || (x.start == y.start && (x.size() == 1 || x.step == y.step)));
  }
  case Type::Instance:
    if (auto f = try_getattr(a, "__eq__")) return truthy(*this, call0(*f, b));
    return a.obj() == b.obj();
  default: return a.obj() == b.obj();
  }
}

bool Interp::less(const Value& a, const Value& b) { return order(*this, a, b, "<") == -1; }

bool Interp::contains(const Value& c, const Value& item) {
  switch (c.type()) {
  case Type::Str:
    if (!item.is(Type::Str))
      raise("TypeError", fmt::format("'in <string>' requires string as left operand, not {}", type_name(item)));
    return c.as<StrObj>().s.find(item.as<StrObj>().s) != std::string::npos;
  case Type::Dict: return c.as<DictObj>().find(item) != nullptr;
  case Type::Range: {
    auto& r = c.as<RangeObj>();
    if (!item.is_int_like()) return false;
    int64_t v = item.as_int();
    if (r.step > 0 ? (v < r.start || v >= r.stop) : (v > r.start || v <= r.stop)) return false;
    return (__int128(v) - r.start) % r.step == 0;
  }
  default:
    for (const Value& x : iterate(c))
      if (same_or_equal(*this, x, item)) return true;
    return false;
  }
}

Value Interp::compare(CmpOp op, const Value& a, const Value& b) {
  if (a.is(Type::Tensor) || b.is(Type::Tensor))
    if (auto r = tensor_compare(*this, op, a, b)) return *r;
  switch (op) {
  case CmpOp::Eq: return Value::boolean(equal(a, b));
  case CmpOp::Ne: return Value::boolean(!equal(a, b));
  case CmpOp::Lt: return Value::boolean(order(*this, a, b, "<") == -1);
  case CmpOp::Le: {
    int o = order(*this, a, b, "<=");
    return Value::boolean(o == -1 || o == 0);
  }
  case CmpOp::Gt: return Value::boolean(order(*this, a, b, ">") == 1);
  case CmpOp::Ge: {
    int o = order(*this, a, b, ">=");
    return Value::boolean(o == 1 || o == 0);
  }
  case CmpOp::In: return Value::boolean(contains(b, a));
  case CmpOp::NotIn: return Value::boolean(!contains(b, a));
  case CmpOp::Is:
  case CmpOp::IsNot: {
    bool same = a.type() == b.type() && (a.obj()             ? a.obj() == b.obj()
                                         : a.is(Type::Float) ? a.as_float() == b.as_float()
                                                             : a.as_int() == b.as_int());
    if (a.is(Type::DType) && b.is(Type::DType)) same = a.as<DTypeObj>().d == b.as<DTypeObj>().d;
    return Value::boolean(op == CmpOp::Is ? same : !same);
  }
  }
  return Value();
}

} // namespace patgrad::script
