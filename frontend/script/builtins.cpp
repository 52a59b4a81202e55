// The built-in functions and types: print, len, range, int, str, sorted, isinstance, ...
#include "frontend/script/format.h"
#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <ostream>

namespace patgrad::script {

namespace {

Value none_or(const Bound& b, size_t i) { return b.has(i) ? b[i] : Value(); }

int64_t length(Interp& in, const Value& v) {
  switch (v.type()) {
  case Type::Str: return char_count(v.as<StrObj>().s);
  case Type::List:
  case Type::Tuple: return int64_t(v.as<ListObj>().items.size());
  case Type::Dict: return int64_t(v.as<DictObj>().entries.size());
  case Type::Range: return v.as<RangeObj>().size();
  case Type::Tensor: {
    const Tensor& t = v.as<TensorObj>().t;
    if (t.ndim() == 0) raise("TypeError", "len() of a 0-d tensor");
    return t.shape()[0];
  }
  case Type::Instance:
    if (auto f = in.try_getattr(v, "__len__")) {
      CallArgs none;
      return to_int(in.call(*f, none), "__len__()");
    }
    break;
  default: break;
  }
  raise("TypeError", fmt::format("object of type '{}' has no len()", type_name(v)));
}

Value print(Interp& in, const Value&, CallArgs& args) {
  std::string sep = " ", end = "\n";
  for (auto& [k, v] : args.kw) {
    if (k != "sep" && k != "end" && k != "flush")
      raise("TypeError", "print() got an unexpected keyword argument '" + k + "'");
    if (k == "flush" || v.is_none()) continue;
    (k == "sep" ? sep : end) = to_str(v, (k + " of print()").c_str());
  }
  std::string line;
  for (size_t i = 0; i < args.pos.size(); i++) line += (i ? sep : "") + in.str(args.pos[i]);
  in.out << line << end;
  in.out.flush();
  return Value();
}

Value range(Interp&, const Value&, CallArgs& args) {
  Bound b = bind("range", args, {"start", "stop=", "step="});
  int64_t start = 0, stop, step = 1;
  if (!b.has(1))
    stop = to_int(b[0], "range() argument");
  else
    start = to_int(b[0], "range() argument"), stop = to_int(b[1], "range() argument");
  if (b.has(2)) step = to_int(b[2], "range() argument");
  if (step == 0) raise("ValueError", "range() arg 3 must not be zero");
  return Value(ObjRef(new RangeObj(start, stop, step)));
}

Value enumerate(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("enumerate", args, {"iterable", "start="});
  int64_t i = b.has(1) ? to_int(b[1], "start") : 0;
  std::vector<Value> out;
  for (Value& v : in.iterate(b[0])) out.push_back(make_tuple({Value::integer(i++), std::move(v)}));
  return make_list(std::move(out));
}

Value zip(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("zip", args, {"*"});
  std::vector<std::vector<Value>> seqs;
  size_t n = SIZE_MAX;
  for (const Value& v : b.rest) seqs.push_back(in.iterate(v)), n = std::min(n, seqs.back().size());
  std::vector<Value> out;
  for (size_t i = 0; !seqs.empty() && i < n; i++) {
    std::vector<Value> t;
    for (auto& s : seqs) t.push_back(s[i]);
    out.push_back(make_tuple(std::move(t)));
  }
  return make_list(std::move(out));
}

// min and max: of one iterable or of several arguments, with key= and default=
Value extreme(Interp& in, CallArgs& args, const char* name, bool want_max) {
  Value key, dflt;
  bool has_default = false;
  for (auto& [k, v] : args.kw) {
    if (k == "key")
      key = v;
    else if (k == "default")
      dflt = v, has_default = true;
    else
      raise("TypeError", fmt::format("{}() got an unexpected keyword argument '{}'", name, k));
  }
  if (args.pos.empty()) raise("TypeError", fmt::format("{} expected at least 1 argument, got 0", name));
  std::vector<Value> items =
      args.pos.size() == 1 ? in.iterate(args.pos[0]) : std::vector<Value>(args.pos.begin(), args.pos.end());
  if (items.empty()) {
    if (has_default) return dflt;
    raise("ValueError", fmt::format("{}() iterable argument is empty", name));
  }
  Value best = items[0], best_key = key.is_none() ? best : in.call0(key, best);
  for (size_t i = 1; i < items.size(); i++) {
    Value k = key.is_none() ? items[i] : in.call0(key, items[i]);
    if (want_max ? in.less(best_key, k) : in.less(k, best_key)) best = items[i], best_key = k;
  }
  return best;
}

Value sum(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("sum", args, {"iterable", "start="});
  Value total = b.has(1) ? b[1] : Value::integer(0);
  if (total.is(Type::Str)) raise("TypeError", "sum() can't sum strings [use ''.join(seq) instead]");
  for (const Value& v : in.iterate(b[0])) total = in.binary(BinOp::Add, total, v);
  return total;
}

Value abs_(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("abs", args, {"x"});
  const Value& x = b[0];
  if (x.is(Type::Float)) return Value::real(std::fabs(x.as_float()));
  if (x.is_int_like()) return x.as_int() < 0 ? in.unary(UnOp::Neg, x) : Value::integer(x.as_int());
  if (x.is(Type::Tensor)) return make_tensor(x.as<TensorObj>().t.abs());
  raise("TypeError", fmt::format("bad operand type for abs(): '{}'", type_name(x)));
}

Value round_(Interp&, const Value&, CallArgs& args) {
  Bound b = bind("round", args, {"number", "ndigits="});
  const Value& x = b[0];
  bool digits = b.has(1) && !b[1].is_none();
  if (x.is_int_like()) {
    if (!digits || to_int(b[1], "ndigits") >= 0) return Value::integer(x.as_int());
    // to a multiple of 10^-ndigits, half to even, in 128 bits: 10^19 does not fit in 64, and past 10^38 every
    // int64 rounds to 0
    __int128 p = 1;
    for (int64_t i = 0; i < -b[1].as_int() && i < 38; i++) p *= 10;
    __int128 q = x.as_int() / p, r = x.as_int() % p;
    if (r < 0) q--, r += p;
    if (2 * r > p || (2 * r == p && (q & 1))) q++;
    __int128 rounded = q * p;
    if (rounded > INT64_MAX || rounded < INT64_MIN) raise("OverflowError", "rounded value does not fit in 64 bits");
    return Value::integer(int64_t(rounded));
  }
  double v = to_float(x, "round() argument");
  if (!digits) {
    if (std::isnan(v)) raise("ValueError", "cannot convert float NaN to integer");
    if (std::isinf(v)) raise("OverflowError", "cannot convert float infinity to integer");
    double r = std::nearbyint(v); // half to even under the default rounding mode, as Python
    if (std::fabs(r) >= 9.2e18) raise("OverflowError", "rounded value does not fit in 64 bits");
    return Value::integer(int64_t(r));
  }
  int64_t n = to_int(b[1], "ndigits");
  // Python's bounds (float_round): past 323 digits every double is exact, and 10^309 exceeds every double, so it
  // rounds to a signed zero
  if (!std::isfinite(v) || n > 323) return Value::real(v);
  if (n < -308) return Value::real(0.0 * v);
  double rounded;
  if (n < 0) {
    double p = std::pow(10.0, double(-n));
    rounded = std::nearbyint(v / p) * p;
  } else { // Python rounds the exact decimal value: print it with n digits, half to even, and read it back
    rounded = std::strtod(fmt::format("{:.{}f}", v, n).c_str(), nullptr);
  }
  if (std::isinf(rounded)) raise("OverflowError", "rounded value too large to represent");
  return Value::real(rounded);
}

bool is_instance(Interp& in, const Value& v, const Value& t) {
  if (t.is(Type::Tuple)) {
    DepthGuard guard(in, "in __instancecheck__");
    for (const Value& x : t.as<ListObj>().items)
      if (is_instance(in, v, x)) return true;
    return false;
  }
  if (t.is(Type::Class)) {
    if (!v.is(Type::Instance)) return false;
    for (ClassObj* c = v.as<InstanceObj>().cls.get(); c; c = c->base.get())
      if (c == &t.as<ClassObj>()) return true;
    return false;
  }
  if (t.is(Type::BuiltinType)) {
    Type want = t.as<BuiltinTypeObj>().instances;
    return v.type() == want || (want == Type::Int && v.is(Type::Bool)) ||
           (want == Type::Function && (v.is(Type::Builtin) || v.is(Type::BoundMethod)));
  }
  raise("TypeError", "isinstance() arg 2 must be a type or tuple of types");
}

Value sorted(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("sorted", args, {"iterable", "key=", "reverse="});
  std::vector<Value> items = in.iterate(b[0]);
  Value key = none_or(b, 1);
  bool reverse = b.has(2) && truthy(in, b[2]);
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& v : items) keyed.emplace_back(key.is_none() ? v : in.call0(key, v), v);
  // stable, and reverse keeps equal items in order, as Python's
  std::stable_sort(keyed.begin(), keyed.end(),
                   [&](auto& x, auto& y) { return reverse ? in.less(y.first, x.first) : in.less(x.first, y.first); });
  std::vector<Value> out;
  for (auto& [k, v] : keyed) out.push_back(std::move(v));
  return make_list(std::move(out));
}

Value super_(Interp& in, const Value&, CallArgs& args) {
  bind("super", args, {});
  for (auto it = in.frames.rbegin(); it != in.frames.rend(); ++it)
    if (it->fn && it->fn->owner) return Value(ObjRef(new SuperObj(it->fn->owner->base.get(), it->self)));
  raise("RuntimeError", "super(): no enclosing method");
}

// ---- types: calling one converts or constructs

// Python's int(text, base) for base 0 or 2..36: spaces around, a sign, a 0x/0o/0b prefix where base is 0 or matches
// it, single underscores between digits. Base 0 takes the base from the prefix and refuses leading zeros ("010").
int64_t parse_int(std::string_view text, int base) {
  auto invalid = [&] {
    raise("ValueError", fmt::format("invalid literal for int() with base {}: {}", base, str_repr(text)));
  };
  std::string_view s = text;
  while (!s.empty() && std::isspace((unsigned char)s.front())) s.remove_prefix(1);
  while (!s.empty() && std::isspace((unsigned char)s.back())) s.remove_suffix(1);
  bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  int radix = base == 0 ? 10 : base;
  bool prefixed = false; // after a prefix, an underscore may come before the first digit: 0x_1f
  if (s.size() >= 2 && s[0] == '0') {
    char p = char(std::tolower((unsigned char)s[1]));
    int prefix_radix = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    if (prefix_radix && (base == 0 || base == prefix_radix)) radix = prefix_radix, prefixed = true, s.remove_prefix(2);
  }
  if (base == 0 && !prefixed && s.find_first_not_of("0_") != std::string_view::npos && s.starts_with('0')) invalid();
  unsigned __int128 v = 0, limit = uint64_t(INT64_MAX) + (negative ? 1 : 0);
  bool digit_before = prefixed, any = false;
  for (char c : s) {
    if (c == '_') {
      if (!digit_before) invalid(); // at the start, after another underscore
      digit_before = false;
      continue;
    }
    int d = std::isdigit((unsigned char)c) ? c - '0' : std::isalpha((unsigned char)c) ? std::tolower(c) - 'a' + 10 : 99;
    if (d >= radix) invalid();
    v = std::min<unsigned __int128>(v * unsigned(radix) + unsigned(d), limit + 1); // saturates: no wraparound
    digit_before = any = true;
  }
  if (!any || !digit_before) invalid(); // no digits, or a final underscore
  if (v > limit) raise("OverflowError", "int too large for 64 bits");
  return negative ? int64_t(-v) : int64_t(v);
}
Value int_ctor(Interp&, const Value&, CallArgs& args) {
  Bound b = bind("int", args, {"x=", "base="});
  if (!b.has(0)) return Value::integer(0);
  const Value& x = b[0];
  if (b.has(1) && !x.is(Type::Str)) raise("TypeError", "int() can't convert non-string with explicit base");
  if (x.is_int_like()) return Value::integer(x.as_int());
  if (x.is(Type::Float)) {
    double f = x.as_float();
    if (std::isnan(f)) raise("ValueError", "cannot convert float NaN to integer");
    if (!(std::fabs(f) < 9.2233720368547758e18))
      raise("OverflowError", "cannot convert float " + float_repr(f) + " to integer");
    return Value::integer(int64_t(f));
  }
  if (x.is(Type::Str)) {
    int64_t base = b.has(1) ? to_int(b[1], "base") : 10;
    if (base != 0 && (base < 2 || base > 36)) raise("ValueError", "int() base must be >= 2 and <= 36, or 0");
    return Value::integer(parse_int(x.as<StrObj>().s, int(base)));
  }
  if (x.is(Type::Tensor)) return Value::integer(int64_t(x.as<TensorObj>().t.item()));
  raise("TypeError", fmt::format("int() argument must be a string or a number, not '{}'", type_name(x)));
}

Value float_ctor(Interp&, const Value&, CallArgs& args) {
  Bound b = bind("float", args, {"x="});
  if (!b.has(0)) return Value::real(0);
  const Value& x = b[0];
  if (x.is_number()) return Value::real(x.as_float());
  if (x.is(Type::Tensor)) return Value::real(x.as<TensorObj>().t.item());
  if (x.is(Type::Str)) {
    std::string s = x.as<StrObj>().s;
    s.erase(0, s.find_first_not_of(" \t\n"));
    s.erase(s.find_last_not_of(" \t\n") + 1);
    std::string lower = s;
    for (char& c : lower) c = char(std::tolower((unsigned char)c));
    std::string_view l = lower;
    bool neg = l.starts_with("-");
    if (neg || l.starts_with("+")) l.remove_prefix(1);
    if (l == "inf" || l == "infinity") return Value::real(neg ? -INFINITY : INFINITY);
    if (l == "nan") return Value::real(NAN);
    char* end = nullptr;
    double v = s.empty() || std::isalpha((unsigned char)l.empty() ? 0 : l[0]) ? 0 : std::strtod(s.c_str(), &end);
    if (s.empty() || !end || *end)
      raise("ValueError", "could not convert string to float: " + str_repr(x.as<StrObj>().s));
    return Value::real(v);
  }
  raise("TypeError", fmt::format("float() argument must be a string or a number, not '{}'", type_name(x)));
}

Value str_ctor(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("str", args, {"object="});
  return make_str(b.has(0) ? in.str(b[0]) : "");
}

Value bool_ctor(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("bool", args, {"x="});
  return Value::boolean(b.has(0) && truthy(in, b[0]));
}

Value list_ctor(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("list", args, {"iterable="});
  return make_list(b.has(0) ? in.iterate(b[0]) : std::vector<Value>{});
}

Value tuple_ctor(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("tuple", args, {"iterable="});
  return make_tuple(b.has(0) ? in.iterate(b[0]) : std::vector<Value>{});
}

Value dict_ctor(Interp& in, const Value&, CallArgs& args) {
  CallArgs positional; // keyword arguments are entries
  positional.pos = args.pos;
  Bound b = bind("dict", positional, {"iterable="});
  auto* d = new DictObj();
  Value out{ObjRef(d)};
  if (b.has(0)) {
    if (b[0].is(Type::Dict))
      for (auto& [k, v] : b[0].as<DictObj>().entries) d->set(k, v);
    else
      for (const Value& item : in.iterate(b[0])) {
        std::vector<Value> kv = in.iterate(item);
        if (kv.size() != 2)
          raise("ValueError",
                fmt::format("dictionary update sequence element has length {}; 2 is required", kv.size()));
        d->set(kv[0], kv[1]);
      }
  }
  for (auto& [k, v] : args.kw) d->set(make_str(k), v);
  return out;
}

Value type_ctor(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("type", args, {"object"});
  const Value& v = b[0];
  if (v.is(Type::Instance)) return Value(ObjRef(v.as<InstanceObj>().cls));
  static const char* names[] = {
      "NoneType", "bool", "int", "float",  "str",   "list",   "tuple", "dict", "function", "builtin_function_or_method",
      "method",   "type", "",    "module", "range", "Tensor", "dtype", "type", "slice",    "super"};
  std::string name = names[int(v.type())];
  if (Value* t = in.builtins->vars.find(name)) return *t;
  if (name == "Tensor")
    if (auto m = builtin_module(in, "patgrad"))
      if (auto t = in.try_getattr(*m, "Tensor")) return *t;
  return Value(ObjRef(new BuiltinTypeObj(names[int(v.type())], v.type(), nullptr)));
}

Value no_ctor(Interp&, const Value& self, CallArgs&) {
  raise("TypeError", fmt::format("cannot create '{}' instances", self.as<BuiltinTypeObj>().name));
}

} // namespace

void install_builtins(Interp& in, Env& env) {
  auto fn = [&](const char* name, BuiltinFn f) { env.vars.set(name, Value(ObjRef(new BuiltinObj(name, f)))); };
  auto type = [&](const char* name, Type t, BuiltinFn f) {
    env.vars.set(name, Value(ObjRef(new BuiltinTypeObj(name, t, f))));
  };
  type("int", Type::Int, int_ctor);
  type("float", Type::Float, float_ctor);
  type("str", Type::Str, str_ctor);
  type("bool", Type::Bool, bool_ctor);
  type("list", Type::List, list_ctor);
  type("tuple", Type::Tuple, tuple_ctor);
  type("dict", Type::Dict, dict_ctor);
  type("range", Type::Range, range);
  type("type", Type::Class, type_ctor);
  type("NoneType", Type::None, no_ctor);
  type("function", Type::Function, no_ctor);
  type("slice", Type::Slice, [](Interp&, const Value&, CallArgs& args) {
    Bound b = bind("slice", args, {"start", "stop=", "step="});
    if (!b.has(1)) return Value(ObjRef(new SliceObj(Value(), b[0], Value())));
    return Value(ObjRef(new SliceObj(b[0], b[1], none_or(b, 2))));
  });
  fn("print", print);
  fn("len", [](Interp& in, const Value&, CallArgs& args) {
    return Value::integer(length(in, bind("len", args, {"obj"})[0]));
  });
  fn("enumerate", enumerate);
  fn("zip", zip);
  fn("min", [](Interp& in, const Value&, CallArgs& args) { return extreme(in, args, "min", false); });
  fn("max", [](Interp& in, const Value&, CallArgs& args) { return extreme(in, args, "max", true); });
  fn("sum", sum);
  fn("abs", abs_);
  fn("round", round_);
  fn("sorted", sorted);
  fn("super", super_);
  fn("reversed", [](Interp& in, const Value&, CallArgs& args) {
    std::vector<Value> items = in.iterate(bind("reversed", args, {"sequence"})[0]);
    std::reverse(items.begin(), items.end());
    return make_list(std::move(items));
  });
  fn("isinstance", [](Interp& in, const Value&, CallArgs& args) {
    Bound b = bind("isinstance", args, {"obj", "class_or_tuple"});
    return Value::boolean(is_instance(in, b[0], b[1]));
  });
  fn("getattr", [](Interp& in, const Value&, CallArgs& args) {
    Bound b = bind("getattr", args, {"object", "name", "default="});
    const std::string& name = to_str(b[1], "attribute name");
    if (b.has(2)) return in.try_getattr(b[0], name).value_or(b[2]);
    return in.getattr(b[0], name);
  });
  fn("setattr", [](Interp& in, const Value&, CallArgs& args) {
    Bound b = bind("setattr", args, {"object", "name", "value"});
    in.setattr(b[0], to_str(b[1], "attribute name"), b[2]);
    return Value();
  });
  fn("hasattr", [](Interp& in, const Value&, CallArgs& args) {
    Bound b = bind("hasattr", args, {"object", "name"});
    return Value::boolean(in.try_getattr(b[0], to_str(b[1], "attribute name")).has_value());
  });
  fn("repr",
     [](Interp& in, const Value&, CallArgs& args) { return make_str(in.repr(bind("repr", args, {"obj"})[0])); });
  fn("callable", [](Interp& in, const Value&, CallArgs& args) {
    Value v = bind("callable", args, {"obj"})[0];
    bool c = v.is(Type::Function) || v.is(Type::Builtin) || v.is(Type::BoundMethod) || v.is(Type::Class) ||
             v.is(Type::BuiltinType) || (v.is(Type::Instance) && in.try_getattr(v, "__call__"));
    return Value::boolean(c);
  });
  fn("any", [](Interp& in, const Value&, CallArgs& args) {
    for (const Value& v : in.iterate(bind("any", args, {"iterable"})[0]))
      if (truthy(in, v)) return Value::boolean(true);
    return Value::boolean(false);
  });
  fn("all", [](Interp& in, const Value&, CallArgs& args) {
    for (const Value& v : in.iterate(bind("all", args, {"iterable"})[0]))
      if (!truthy(in, v)) return Value::boolean(false);
    return Value::boolean(true);
  });
  fn("map", [](Interp& in, const Value&, CallArgs& args) {
    Bound b = bind("map", args, {"function", "iterable"});
    std::vector<Value> out;
    for (Value& v : in.iterate(b[1])) out.push_back(in.call0(b[0], std::move(v)));
    return make_list(std::move(out));
  });
  fn("filter", [](Interp& in, const Value&, CallArgs& args) {
    Bound b = bind("filter", args, {"function", "iterable"});
    std::vector<Value> out;
    for (Value& v : in.iterate(b[1]))
      if (truthy(in, b[0].is_none() ? v : in.call0(b[0], v))) out.push_back(std::move(v));
    return make_list(std::move(out));
  });
  fn("divmod", [](Interp& in, const Value&, CallArgs& args) {
    Bound b = bind("divmod", args, {"a", "b"});
    return make_tuple({in.binary(BinOp::FloorDiv, b[0], b[1]), in.binary(BinOp::Mod, b[0], b[1])});
  });
  fn("pow", [](Interp& in, const Value&, CallArgs& args) {
    Bound b = bind("pow", args, {"base", "exp"});
    return in.binary(BinOp::Pow, b[0], b[1]);
  });
  fn("chr", [](Interp&, const Value&, CallArgs& args) {
    int64_t c = to_int(bind("chr", args, {"i"})[0], "chr() argument");
    if (c < 0 || c > 0x10FFFF) raise("ValueError", "chr() arg not in range(0x110000)");
    std::string out;
    if (c < 0x80)
      out += char(c);
    else if (c < 0x800)
      out += char(0xC0 | (c >> 6)), out += char(0x80 | (c & 0x3F));
    else if (c < 0x10000)
      out += char(0xE0 | (c >> 12)), out += char(0x80 | ((c >> 6) & 0x3F)), out += char(0x80 | (c & 0x3F));
    else
      out += char(0xF0 | (c >> 18)), out += char(0x80 | ((c >> 12) & 0x3F)), out += char(0x80 | ((c >> 6) & 0x3F)),
          out += char(0x80 | (c & 0x3F));
    return make_str(out);
  });
  fn("ord", [](Interp& in, const Value&, CallArgs& args) {
    Value s = bind("ord", args, {"c"})[0];
    std::vector<Value> chars = in.iterate(Value(make_str(to_str(s, "ord() argument"))));
    if (chars.size() != 1)
      raise("TypeError", fmt::format("ord() expected a character, but string of length {} found", chars.size()));
    const std::string& c = chars[0].as<StrObj>().s;
    uint32_t cp = (unsigned char)c[0];
    if (c.size() > 1) {
      cp &= 0xFF >> (c.size() + 1);
      for (size_t i = 1; i < c.size(); i++) cp = cp << 6 | (c[i] & 0x3F);
    }
    return Value::integer(cp);
  });
  fn("hash", [](Interp&, const Value&, CallArgs& args) {
    Value v = bind("hash", args, {"obj"})[0];
    DictObj probe; // raises for unhashable values
    probe.find(v);
    return Value::integer(int64_t(ValueHash()(v) >> 1));
  });
  fn("id", [](Interp&, const Value&, CallArgs& args) {
    Value v = bind("id", args, {"obj"})[0];
    return Value::integer(v.obj() ? int64_t(reinterpret_cast<uintptr_t>(v.obj()) >> 1) : int64_t(ValueHash()(v) >> 1));
  });
}

} // namespace patgrad::script
