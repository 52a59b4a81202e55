// The Tensor API in scripts: Tensor(...) from nested lists, Tensor.randn(2, 3) and the other creation functions,
// operators, indexing and slicing, and methods with Python-style keyword arguments.
#include "frontend/script/bind_tensor.h"
#include <fmt/format.h>

namespace patgrad::script {

namespace {

const Tensor& t_of(const Value& v) { return v.as<TensorObj>().t; }

} // namespace

DType to_dtype(const Value& v, const char* what) {
  if (v.is(Type::DType)) return v.as<DTypeObj>().d;
  if (v.is(Type::Str))
    if (auto d = dtype_from_name(v.as<StrObj>().s)) return *d;
  if (v.is(Type::BuiltinType)) {
    std::string_view n = v.as<BuiltinTypeObj>().name;
    if (n == "float") return DType::f32;
    if (n == "int") return DType::i32;
    if (n == "bool") return DType::bool_;
  }
  raise("TypeError", fmt::format("{} must be a dtype such as patgrad.float32, not {}", what, type_name(v)));
}

std::string dtype_name(DType d) {
  switch (d) {
  case DType::bool_: return "bool";
  case DType::bf16: return "bfloat16";
  default: break;
  }
  std::string_view n = uops::name(d); // i32 -> int32, u8 -> uint8, f16 -> float16
  std::string kind = n[0] == 'i' ? "int" : n[0] == 'u' ? "uint" : "float";
  return kind + std::string(n.substr(1));
}

std::optional<DType> dtype_from_name(std::string_view n) {
  static const std::pair<const char*, DType> names[] = {
      {"float32", DType::f32}, {"float16", DType::f16}, {"bfloat16", DType::bf16}, {"float64", DType::f64},
      {"half", DType::f16},    {"float", DType::f32},   {"double", DType::f64},    {"int8", DType::i8},
      {"int16", DType::i16},   {"int32", DType::i32},   {"int64", DType::i64},     {"int", DType::i32},
      {"long", DType::i64},    {"uint8", DType::u8},    {"uint16", DType::u16},    {"uint32", DType::u32},
      {"uint64", DType::u64},  {"bool", DType::bool_}};
  for (auto& [name, d] : names)
    if (n == name) return d;
  if (auto d = uops::parse_dtype(n); d && *d != DType::index && *d != DType::void_) return d;
  return std::nullopt;
}

Shape to_shape(Interp& in, const std::vector<Value>& args, const char* what) {
  std::vector<Value> dims = args;
  if (args.size() == 1 && (args[0].is(Type::Tuple) || args[0].is(Type::List))) dims = in.iterate(args[0]);
  Shape s;
  for (const Value& d : dims) s.push_back(to_int(d, what));
  return s;
}

Shape to_axes(Interp& in, const Value& v, const char* what) {
  if (v.is_none()) return {};
  if (v.is(Type::Tuple) || v.is(Type::List)) return to_shape(in, in.iterate(v), what);
  return {to_int(v, what)};
}

Tensor scalar_like(const Tensor& t, const Value& v) {
  DType d = t.dtype();
  if (v.is(Type::Float) && !uops::is_float(d))
    d = DType::f32;
  else if (v.is(Type::Int) && uops::is_bool(d))
    d = DType::i32;
  return Tensor::full({}, v.as_float(), d).to(t.device());
}

Tensor pow_scalar(const Tensor& t, const Value& exponent) {
  return exponent.is_int_like() ? t.pow(exponent.as_int()) : t.pow(exponent.as_float());
}

Tensor to_tensor(Interp& in, const Value& v, const Tensor* like, const char* what) {
  if (v.is(Type::Tensor)) return t_of(v);
  if (v.is_number() && like) return scalar_like(*like, v);
  if (v.is_number() || v.is(Type::List) || v.is(Type::Tuple)) return tensor_from_data(in, v, std::nullopt);
  raise("TypeError", fmt::format("{} must be a Tensor or a number, not {}", what, type_name(v)));
}

Tensor tensor_from_data(Interp& in, const Value& data, std::optional<DType> dtype) {
  if (data.is(Type::Tensor)) return dtype ? t_of(data).cast(*dtype) : t_of(data);
  Shape shape;
  std::vector<Value> leaves;
  // the shape from the first path down, then every leaf with its depth checked (walk recurses once per dimension:
  // a list that holds itself would never end)
  constexpr size_t max_dims = 64; // numpy's
  for (Value v = data; v.is(Type::List) || v.is(Type::Tuple);) {
    auto& items = v.as<ListObj>().items;
    if (shape.size() == max_dims)
      raise("ValueError", fmt::format("Tensor(): lists nested more than {} deep", max_dims));
    shape.push_back(int64_t(items.size()));
    if (items.empty()) break;
    Value first = items[0];
    v = first;
  }
  std::function<void(const Value&, size_t)> walk = [&](const Value& v, size_t depth) {
    bool seq = v.is(Type::List) || v.is(Type::Tuple);
    if (depth == shape.size()) {
      if (seq || !v.is_number())
        raise("ValueError", fmt::format("Tensor(): expected a number at depth {}, found {}", depth, type_name(v)));
      leaves.push_back(v);
      return;
    }
    if (!seq || int64_t(v.as<ListObj>().items.size()) != shape[depth])
      raise("ValueError", fmt::format("Tensor(): the nested lists are not rectangular (expected {} items at depth {})",
                                      shape[depth], depth));
    for (const Value& x : v.as<ListObj>().items) walk(x, depth + 1);
  };
  walk(data, 0);
  bool any_float = false, all_bool = !leaves.empty();
  for (const Value& v : leaves) any_float |= v.is(Type::Float), all_bool &= v.is(Type::Bool);
  Tensor t = [&] {
    if (any_float) {
      std::vector<double> d;
      for (const Value& v : leaves) d.push_back(v.as_float());
      return Tensor::from_vector(d, shape).cast(dtype.value_or(DType::f32));
    }
    if (all_bool) {
      std::vector<bool> d;
      for (const Value& v : leaves) d.push_back(v.as_int() != 0);
      return Tensor::from_vector(d, shape).cast(dtype.value_or(DType::bool_));
    }
    std::vector<int64_t> d;
    for (const Value& v : leaves) d.push_back(v.as_int());
    return Tensor::from_vector(d, shape).cast(dtype.value_or(leaves.empty() ? DType::f32 : DType::i32));
  }();
  (void)in;
  return t;
}

Value tensor_item(const Tensor& t) {
  if (t.numel() != 1)
    raise("ValueError", fmt::format("a Tensor with {} elements cannot be converted to a scalar", t.numel()));
  if (uops::is_float(t.dtype())) return Value::real(t.item());
  if (uops::is_bool(t.dtype())) return Value::boolean(t.item() != 0);
  if (t.dtype() == DType::u64) return Value::integer(int64_t(t.to_vector<uint64_t>()[0]));
  return Value::integer(t.to_vector<int64_t>()[0]);
}

Value tensor_tolist(const Tensor& t) {
  std::vector<Value> flat;
  if (uops::is_float(t.dtype()))
    for (double x : t.to_vector<double>()) flat.push_back(Value::real(x));
  else if (uops::is_bool(t.dtype()))
    for (bool x : t.to_vector<bool>()) flat.push_back(Value::boolean(x));
  else
    for (int64_t x : t.to_vector<int64_t>()) flat.push_back(Value::integer(x));
  if (t.ndim() == 0) return flat[0];
  std::function<Value(size_t, size_t&)> nest = [&](size_t axis, size_t& pos) {
    std::vector<Value> out;
    for (int64_t i = 0; i < t.shape()[axis]; i++)
      out.push_back(axis + 1 == t.shape().size() ? flat[pos++] : nest(axis + 1, pos));
    return make_list(std::move(out));
  };
  size_t pos = 0;
  return nest(0, pos);
}

Value tensor_index(Interp&, const Tensor& t, const Value& index) {
  std::vector<Value> parts = index.is(Type::Tuple) ? index.as<ListObj>().items : std::vector<Value>{index};
  std::vector<Tensor::Slice> slices;
  auto bound = [](const Value& v) -> std::optional<int64_t> {
    if (v.is_none()) return std::nullopt;
    return to_int(v, "slice index");
  };
  for (const Value& p : parts) {
    if (p.is_int_like())
      slices.push_back(Tensor::Slice::index(p.as_int()));
    else if (p.is(Type::Slice)) {
      auto& s = p.as<SliceObj>();
      int64_t step = s.step.is_none() ? 1 : to_int(s.step, "slice step");
      if (step == 0) raise("ValueError", "slice step cannot be zero");
      slices.emplace_back(bound(s.lo), bound(s.hi), step);
    } else
      raise("TypeError", fmt::format("tensor indices must be integers or slices, not {}", type_name(p)));
  }
  if (int64_t(slices.size()) > t.ndim())
    raise("IndexError",
          fmt::format("too many indices for a tensor of shape {}: {} given", shape_str(t.shape()), slices.size()));
  return make_tensor(t.slice(slices));
}

std::vector<Value> tensor_rows(const Tensor& t) {
  if (t.ndim() == 0) raise("TypeError", "iteration over a 0-d tensor");
  std::vector<Value> rows;
  for (int64_t i = 0; i < t.shape()[0]; i++) rows.push_back(make_tensor(t.slice({Tensor::Slice::index(i)})));
  return rows;
}

std::string shape_str(const Shape& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); i++) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

std::optional<Value> tensor_binary(Interp& in, BinOp op, const Value& a, const Value& b) {
  bool a_t = a.is(Type::Tensor), b_t = b.is(Type::Tensor);
  if ((!a_t && !a.is_number()) || (!b_t && !b.is_number())) return std::nullopt;
  const Tensor& like = a_t ? t_of(a) : t_of(b);
  if (op == BinOp::Pow && a_t && !b_t) return make_tensor(pow_scalar(t_of(a), b));
  Tensor x = to_tensor(in, a, &like, "operand"), y = to_tensor(in, b, &like, "operand");
  switch (op) {
  case BinOp::Add: return make_tensor(x.add(y));
  case BinOp::Sub: return make_tensor(x.sub(y));
  case BinOp::Mul: return make_tensor(x.mul(y));
  case BinOp::Div: return make_tensor(x.div(y));
  case BinOp::FloorDiv:
    if (uops::is_float(x.dtype()) || uops::is_float(y.dtype())) return make_tensor(x.div(y).floor());
    return make_tensor(x.idiv(y));
  case BinOp::Mod:
    if (uops::is_float(x.dtype()) || uops::is_float(y.dtype())) {
      Tensor xf = x.cast(promote(x.dtype(), y.dtype())), yf = y.cast(promote(x.dtype(), y.dtype()));
      return make_tensor(xf.sub(xf.div(yf).floor().mul(yf)));
    }
    return make_tensor(x.mod(y));
  case BinOp::Pow: return make_tensor(x.pow(y));
  case BinOp::MatMul: return make_tensor(x.matmul(y));
  case BinOp::BitAnd: return make_tensor(x.bitwise_and(y));
  case BinOp::BitOr: return make_tensor(x.bitwise_or(y));
  case BinOp::BitXor: return make_tensor(x.bitwise_xor(y));
  default: return std::nullopt;
  }
}

std::optional<Value> tensor_compare(Interp& in, CmpOp op, const Value& a, const Value& b) {
  if (op == CmpOp::In || op == CmpOp::NotIn || op == CmpOp::Is || op == CmpOp::IsNot) return std::nullopt;
  bool a_t = a.is(Type::Tensor), b_t = b.is(Type::Tensor);
  if ((!a_t && !a.is_number()) || (!b_t && !b.is_number())) {
    if (op == CmpOp::Eq || op == CmpOp::Ne) return std::nullopt; // a tensor equals only itself
    raise("TypeError", fmt::format("comparison between {} and {} is not supported", type_name(a), type_name(b)));
  }
  const Tensor& like = a_t ? t_of(a) : t_of(b);
  Tensor x = to_tensor(in, a, &like, "operand"), y = to_tensor(in, b, &like, "operand");
  switch (op) {
  case CmpOp::Lt: return make_tensor(x.lt(y));
  case CmpOp::Le: return make_tensor(x.le(y));
  case CmpOp::Gt: return make_tensor(x.gt(y));
  case CmpOp::Ge: return make_tensor(x.ge(y));
  case CmpOp::Eq: return make_tensor(x.eq(y));
  case CmpOp::Ne: return make_tensor(x.ne(y));
  default: return std::nullopt;
  }
}

Value tensor_unary(Interp&, UnOp op, const Tensor& t) {
  switch (op) {
  case UnOp::Neg: return make_tensor(t.neg());
  case UnOp::Pos: return make_tensor(t);
  case UnOp::Invert:
    if (uops::is_bool(t.dtype())) return make_tensor(t.logical_not());
    if (uops::is_int(t.dtype())) return make_tensor(t.bitwise_xor(Tensor::full({}, -1, t.dtype()).to(t.device())));
    raise("TypeError", fmt::format("~ needs a bool or integer tensor, not {}", uops::name(t.dtype())));
  case UnOp::Not: break;
  }
  raise("TypeError", "bad unary operator for a tensor");
}

} // namespace patgrad::script
