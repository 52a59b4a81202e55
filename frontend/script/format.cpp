// Python's repr, str and format specs.
#include "frontend/script/format.h"
#include "frontend/script/bind_tensor.h"
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <llvm/ADT/SmallPtrSet.h>

namespace patgrad::script {

std::string float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (x == 0) return std::signbit(x) ? "-0.0" : "0.0";
  // shortest round-trip digits, then Python's layout: fixed when 1e-4 <= |x| < 1e16, else d.ddde+XX
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::scientific);
  std::string_view s(buf, size_t(end - buf));
  bool neg = s[0] == '-';
  if (neg) s.remove_prefix(1);
  size_t e = s.find('e');
  std::string digits;
  for (char c : s.substr(0, e))
    if (c != '.') digits += c;
  int exp = std::atoi(std::string(s.substr(e + 1)).c_str());
  int decpt = exp + 1; // x = 0.digits * 10^decpt
  std::string out = neg ? "-" : "";
  if (decpt > 16 || decpt < -3) {
    out += digits[0];
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{:02d}", exp < 0 ? '-' : '+', std::abs(exp));
  } else if (decpt <= 0) {
    out += "0." + std::string(size_t(-decpt), '0') + digits;
  } else if (size_t(decpt) >= digits.size()) {
    out += digits + std::string(size_t(decpt) - digits.size(), '0') + ".0";
  } else {
    out += digits.substr(0, size_t(decpt)) + "." + digits.substr(size_t(decpt));
  }
  return out;
}

std::string str_repr(std::string_view s) {
  char q = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos ? '"' : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    if (c == q || c == '\\')
      out += '\\', out += char(c);
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f)
      out += fmt::format("\\x{:02x}", c);
    else
      out += char(c);
  }
  return out + q;
}

namespace {

std::string seq_repr(Interp& in, const std::vector<Value>& items, char open, char close, bool tuple) {
  std::string out(1, open);
  for (size_t i = 0; i < items.size(); i++) out += (i ? ", " : "") + in.repr(items[i]);
  if (tuple && items.size() == 1) out += ',';
  return out + close;
}

// Containers that contain themselves print as [...], as in Python; nesting deeper than the recursion limit is a
// RecursionError.
struct ReprGuard {
  static llvm::SmallPtrSet<const Object*, 8>& active() {
    thread_local llvm::SmallPtrSet<const Object*, 8> set;
    return set;
  }
  DepthGuard depth;
  const Object* obj;
  bool cycle;
  ReprGuard(Interp& in, const Object* o) : depth(in, "while getting the repr of an object"), obj(o) {
    cycle = !active().insert(o).second;
  }
  ~ReprGuard() {
    if (!cycle) active().erase(obj);
  }
};

} // namespace

std::string Interp::repr(const Value& v) {
  switch (v.type()) {
  case Type::None: return "None";
  case Type::Bool: return v.as_int() ? "True" : "False";
  case Type::Int: return std::to_string(v.as_int());
  case Type::Float: return float_repr(v.as_float());
  case Type::Str: return str_repr(v.as<StrObj>().s);
  case Type::List:
  case Type::Tuple: {
    ReprGuard g(*this, v.obj());
    if (g.cycle) return v.is(Type::List) ? "[...]" : "(...)";
    if (const char* view = v.as<ListObj>().view)
      return std::string(view) + "(" + seq_repr(*this, v.as<ListObj>().items, '[', ']', false) + ")";
    return v.is(Type::List) ? seq_repr(*this, v.as<ListObj>().items, '[', ']', false)
                            : seq_repr(*this, v.as<ListObj>().items, '(', ')', true);
  }
  case Type::Dict: {
    ReprGuard g(*this, v.obj());
    if (g.cycle) return "{...}";
    std::string out = "{";
    bool first = true;
    for (auto& [k, x] : v.as<DictObj>().entries) out += (first ? "" : ", ") + repr(k) + ": " + repr(x), first = false;
    return out + "}";
  }
  case Type::Function: return "<function " + v.as<FunctionObj>().name + ">";
  case Type::Builtin: {
    auto& b = v.as<BuiltinObj>();
    if (b.self.is_none()) return std::string("<built-in function ") + b.name + ">";
    return std::string("<built-in method ") + b.name + " of " + type_name(b.self) + " object>";
  }
  case Type::BoundMethod: {
    auto& m = v.as<BoundMethodObj>();
    std::string name = m.fn.is(Type::Function) ? m.fn.as<FunctionObj>().name : repr(m.fn);
    return "<bound method " + name + " of " + repr(m.self) + ">";
  }
  case Type::Class: return "<class '" + v.as<ClassObj>().name + "'>";
  case Type::Instance: {
    if (auto r = try_getattr(v, "__repr__")) {
      CallArgs none;
      Value s = call(*r, none);
      if (!s.is(Type::Str)) raise("TypeError", "__repr__ returned non-string (type " + std::string(type_name(s)) + ")");
      return s.as<StrObj>().s;
    }
    return "<" + v.as<InstanceObj>().cls->name + " object>";
  }
  case Type::Module: return "<module '" + v.as<ModuleObj>().name + "'>";
  case Type::Range: {
    auto& r = v.as<RangeObj>();
    return fmt::format("range({}, {}{})", r.start, r.stop, r.step == 1 ? "" : fmt::format(", {}", r.step));
  }
  case Type::Tensor: return v.as<TensorObj>().t.str();
  case Type::DType: return "patgrad." + dtype_name(v.as<DTypeObj>().d);
  case Type::BuiltinType: return std::string("<class '") + v.as<BuiltinTypeObj>().name + "'>";
  case Type::Slice: {
    auto& s = v.as<SliceObj>();
    return "slice(" + repr(s.lo) + ", " + repr(s.hi) + ", " + repr(s.step) + ")";
  }
  case Type::Super: return "<super object>";
  }
  return "?";
}

std::string Interp::str(const Value& v) {
  if (v.is(Type::Str)) return v.as<StrObj>().s;
  if (v.is(Type::Instance))
    if (auto s = try_getattr(v, "__str__")) {
      CallArgs none;
      Value r = call(*s, none);
      if (!r.is(Type::Str)) raise("TypeError", "__str__ returned non-string (type " + std::string(type_name(r)) + ")");
      return r.as<StrObj>().s;
    }
  return repr(v);
}

namespace {

struct Spec {
  char fill = ' ', align = 0, sign = '-', type = 0, grouping = 0;
  bool alt = false;
  int width = -1, precision = -1;
};

Spec parse_spec(std::string_view s) {
  Spec sp;
  size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (s.size() >= 2 && is_align(s[1]))
    sp.fill = s[0], sp.align = s[1], i = 2;
  else if (!s.empty() && is_align(s[0]))
    sp.align = s[0], i = 1;
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) sp.sign = s[i++];
  if (i < s.size() && s[i] == '#') sp.alt = true, i++;
  if (i < s.size() && s[i] == '0') {
    if (!sp.align) sp.fill = '0', sp.align = '=';
    i++;
  }
  auto number = [&] {
    int n = 0;
    size_t start = i;
    while (i < s.size() && std::isdigit((unsigned char)s[i])) {
      if (n > 100000) raise("ValueError", "too many decimal digits in format string");
      n = n * 10 + (s[i++] - '0');
    }
    return i == start ? -1 : n;
  };
  sp.width = number();
  if (i < s.size() && (s[i] == ',' || s[i] == '_')) sp.grouping = s[i++];
  if (i < s.size() && s[i] == '.') {
    i++;
    sp.precision = number();
    if (sp.precision < 0) raise("ValueError", "format specifier missing precision");
  }
  if (i < s.size()) sp.type = s[i++];
  if (i != s.size()) raise("ValueError", "invalid format specifier '" + std::string(s) + "'");
  return sp;
}

std::string group_digits(const std::string& digits, char sep) {
  size_t dot = digits.find_first_not_of("0123456789");
  std::string head = digits.substr(0, dot), tail = dot == std::string::npos ? "" : digits.substr(dot);
  std::string out;
  for (size_t i = 0; i < head.size(); i++) {
    if (i && (head.size() - i) % 3 == 0) out += sep;
    out += head[i];
  }
  return out + tail;
}

std::string pad(const Spec& sp, std::string sign, std::string body, char default_align) {
  size_t len = sign.size() + body.size();
  if (sp.width < 0 || len >= size_t(sp.width)) return sign + body;
  size_t n = size_t(sp.width) - len;
  char align = sp.align ? sp.align : default_align;
  std::string f(n, sp.fill);
  if (align == '<') return sign + body + f;
  if (align == '>') return f + sign + body;
  if (align == '=') return sign + f + body;
  return std::string(n / 2, sp.fill) + sign + body + std::string(n - n / 2, sp.fill);
}

std::string format_float(const Spec& sp, double x) {
  std::string sign = std::signbit(x) && !std::isnan(x) ? "-" : sp.sign == '+' ? "+" : sp.sign == ' ' ? " " : "";
  double a = std::fabs(x);
  int prec = sp.precision < 0 ? 6 : sp.precision;
  std::string body;
  char t = sp.type;
  if (!std::isfinite(a))
    body = std::isnan(a) ? "nan" : "inf";
  else if (t == 'f' || t == 'F')
    body = fmt::format("{:.{}f}", a, prec);
  else if (t == 'e' || t == 'E')
    body = fmt::format("{:.{}e}", a, prec);
  else if (t == '%')
    body = fmt::format("{:.{}f}", a * 100, prec);
  else if (t == 'g' || t == 'G')
    body = sp.alt ? fmt::format("{:#.{}g}", a, prec == 0 ? 1 : prec) : fmt::format("{:.{}g}", a, prec == 0 ? 1 : prec);
  else if (sp.precision < 0)
    body = float_repr(a);
  else {
    // no type with a precision: 'g', but a fixed-point result keeps a digit after the point
    body = fmt::format("{:.{}g}", a, prec == 0 ? 1 : prec);
    if (body.find_first_of(".en") == std::string::npos) body += ".0";
  }
  if (t == 'E' || t == 'G' || t == 'F')
    for (char& c : body) c = char(std::toupper((unsigned char)c));
  if (t == '%') body += '%';
  if (sp.grouping && std::isfinite(a)) body = group_digits(body, sp.grouping);
  return pad(sp, sign, body, '>');
}

std::string format_int(const Spec& sp, int64_t v) {
  std::string sign = v < 0 ? "-" : sp.sign == '+' ? "+" : sp.sign == ' ' ? " " : "";
  uint64_t a = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
  std::string body;
  switch (sp.type) {
  case 'x': body = (sp.alt ? "0x" : "") + fmt::format("{:x}", a); break;
  case 'X': body = (sp.alt ? "0X" : "") + fmt::format("{:X}", a); break;
  case 'o': body = (sp.alt ? "0o" : "") + fmt::format("{:o}", a); break;
  case 'b': body = (sp.alt ? "0b" : "") + fmt::format("{:b}", a); break;
  case 'c': return pad(sp, "", std::string(1, char(v)), '<');
  case 0:
  case 'd':
  case 'n': body = std::to_string(a); break;
  default: raise("ValueError", fmt::format("Unknown format code '{}' for object of type 'int'", sp.type));
  }
  if (sp.grouping) body = group_digits(body, sp.grouping);
  return pad(sp, sign, body, '>');
}

} // namespace

std::string format_value(Interp& in, const Value& v, std::string_view spec) {
  if (v.is(Type::Instance) || v.is(Type::Tensor)) {
    if (!spec.empty()) {
      if (v.is(Type::Tensor) && v.as<TensorObj>().t.numel() == 1)
        return format_value(in, tensor_item(v.as<TensorObj>().t), spec);
      raise("TypeError", std::string("unsupported format string passed to ") + type_name(v) + ".__format__");
    }
    return in.str(v);
  }
  Spec sp = parse_spec(spec);
  if (v.is(Type::Float) ||
      (v.is_int_like() && sp.type && std::string_view("eEfFgG%").find(sp.type) != std::string_view::npos))
    return format_float(sp, v.as_float());
  if (v.is_int_like() && !(v.is(Type::Bool) && !sp.type)) return format_int(sp, v.as_int());
  if (sp.type && sp.type != 's')
    raise("ValueError", fmt::format("Unknown format code '{}' for object of type '{}'", sp.type, type_name(v)));
  if (sp.sign != '-') raise("ValueError", "Sign not allowed in string format specifier");
  std::string s = in.str(v);
  if (sp.precision >= 0 && size_t(sp.precision) < s.size()) s.resize(size_t(sp.precision));
  return pad(sp, "", s, '<');
}

} // namespace patgrad::script
