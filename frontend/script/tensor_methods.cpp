// Tensor methods and properties in scripts: t.sum(axis=1, keepdim=True), t.reshape(2, -1), t.shape, t.tolist(), ...
#include "frontend/script/bind_tensor.h"
#include <fmt/format.h>

namespace patgrad::script {

namespace {

const Tensor& self_t(const Value& v) { return v.as<TensorObj>().t; }
Value wrap(Tensor t) { return make_tensor(std::move(t)); }

using Unary = Tensor (Tensor::*)() const;
struct UnaryMethod {
  const char* name;
  Unary fn;
};
constexpr UnaryMethod unary_methods[] = {{"exp2", &Tensor::exp2},
                                         {"log2", &Tensor::log2},
                                         {"sqrt", &Tensor::sqrt},
                                         {"sin", &Tensor::sin},
                                         {"reciprocal", &Tensor::reciprocal},
                                         {"trunc", &Tensor::trunc},
                                         {"exp", &Tensor::exp},
                                         {"log", &Tensor::log},
                                         {"rsqrt", &Tensor::rsqrt},
                                         {"cos", &Tensor::cos},
                                         {"tan", &Tensor::tan},
                                         {"tanh", &Tensor::tanh},
                                         {"sigmoid", &Tensor::sigmoid},
                                         {"relu", &Tensor::relu},
                                         {"gelu", &Tensor::gelu},
                                         {"silu", &Tensor::silu},
                                         {"abs", &Tensor::abs},
                                         {"sign", &Tensor::sign},
                                         {"floor", &Tensor::floor},
                                         {"ceil", &Tensor::ceil},
                                         {"round", &Tensor::round},
                                         {"logical_not", &Tensor::logical_not},
                                         {"neg", &Tensor::neg},
                                         {"contiguous", &Tensor::contiguous}};

template <size_t I>
Value call_unary(Interp&, const Value& self, CallArgs& args) {
  bind(unary_methods[I].name, args, {});
  return wrap((self_t(self).*unary_methods[I].fn)());
}

using BinaryFn = Tensor (Tensor::*)(const Tensor&) const;
struct BinaryMethod {
  const char* name;
  BinaryFn fn;
};
constexpr BinaryMethod binary_methods[] = {{"add", &Tensor::add},
                                           {"sub", &Tensor::sub},
                                           {"mul", &Tensor::mul},
                                           {"div", &Tensor::div},
                                           {"maximum", &Tensor::maximum},
                                           {"minimum", &Tensor::minimum},
                                           {"lt", &Tensor::lt},
                                           {"eq", &Tensor::eq},
                                           {"ne", &Tensor::ne},
                                           {"le", &Tensor::le},
                                           {"gt", &Tensor::gt},
                                           {"ge", &Tensor::ge},
                                           {"logical_and", &Tensor::logical_and},
                                           {"logical_or", &Tensor::logical_or},
                                           {"logical_xor", &Tensor::logical_xor},
                                           {"bitwise_and", &Tensor::bitwise_and},
                                           {"bitwise_or", &Tensor::bitwise_or},
                                           {"bitwise_xor", &Tensor::bitwise_xor},
                                           {"idiv", &Tensor::idiv},
                                           {"mod", &Tensor::mod},
                                           {"matmul", &Tensor::matmul},
                                           {"dot", &Tensor::dot}};

template <size_t I>
Value call_binary(Interp& in, const Value& self, CallArgs& args) {
  Bound b = bind(binary_methods[I].name, args, {"other"});
  return wrap((self_t(self).*binary_methods[I].fn)(to_tensor(in, b[0], &self_t(self), "other")));
}

using Reduce = Tensor (Tensor::*)(const Shape&, bool) const;
struct ReduceMethod {
  const char* name;
  Reduce fn;
};
constexpr ReduceMethod reduce_methods[] = {
    {"sum", &Tensor::sum},   {"max", &Tensor::max}, {"min", &Tensor::min}, {"prod", &Tensor::prod},
    {"mean", &Tensor::mean}, {"any", &Tensor::any}, {"all", &Tensor::all}, {"logsumexp", &Tensor::logsumexp}};

// axis= (or dim=), keepdim=; the axis may also be positional
Value reduce_args(Interp& in, const char* name, CallArgs& args, Shape& axes) {
  for (auto& [k, v] : args.kw)
    if (k == "dim") k = "axis";
  Bound b = bind(name, args, {"axis=", "keepdim="});
  axes = b.has(0) ? to_axes(in, b[0], "axis") : Shape{};
  return b.has(1) ? b[1] : Value::boolean(false);
}

template <size_t I>
Value call_reduce(Interp& in, const Value& self, CallArgs& args) {
  Shape axes;
  bool keep = truthy(in, reduce_args(in, reduce_methods[I].name, args, axes));
  return wrap((self_t(self).*reduce_methods[I].fn)(axes, keep));
}

Value var_std(Interp& in, const Value& self, CallArgs& args, bool is_std) {
  for (auto& [k, v] : args.kw)
    if (k == "dim") k = "axis";
  Bound b = bind(is_std ? "std" : "var", args, {"axis=", "keepdim=", "correction="});
  Shape axes = b.has(0) ? to_axes(in, b[0], "axis") : Shape{};
  bool keep = b.has(1) && truthy(in, b[1]);
  double c = b.has(2) ? to_float(b[2], "correction") : 1;
  return wrap(is_std ? self_t(self).std(axes, keep, c) : self_t(self).var(axes, keep, c));
}

Value arg_extreme(Interp& in, const Value& self, CallArgs& args, bool is_max) {
  for (auto& [k, v] : args.kw)
    if (k == "dim") k = "axis";
  Bound b = bind(is_max ? "argmax" : "argmin", args, {"axis=", "keepdim="});
  const Tensor& t = self_t(self);
  if (!b.has(0) || b[0].is_none()) return wrap(is_max ? t.argmax() : t.argmin());
  bool keep = b.has(1) && truthy(in, b[1]);
  int64_t axis = to_int(b[0], "axis");
  return wrap(is_max ? t.argmax(axis, keep) : t.argmin(axis, keep));
}

Shape pair_arg(Interp& in, const Value& v, const char* what) { return to_axes(in, v, what); }

Value conv(Interp& in, const Value& self, CallArgs& args, bool transpose) {
  Bound b = transpose ? bind("conv_transpose2d", args,
                             {"weight", "bias=", "stride=", "padding=", "output_padding=", "dilation=", "groups="})
                      : bind("conv2d", args, {"weight", "bias=", "stride=", "padding=", "dilation=", "groups="});
  auto shape_or = [&](size_t i, int64_t dflt) {
    return b.has(i) ? pair_arg(in, b[i], "conv2d argument") : Shape{dflt};
  };
  std::optional<Tensor> bias;
  if (b.has(1) && !b[1].is_none()) bias = to_tensor(in, b[1], nullptr, "bias");
  Tensor w = to_tensor(in, b[0], nullptr, "weight");
  if (transpose)
    return wrap(self_t(self).conv_transpose2d(w, bias, shape_or(2, 1), shape_or(3, 0), shape_or(4, 0), shape_or(5, 1),
                                              b.has(6) ? to_int(b[6], "groups") : 1));
  return wrap(self_t(self).conv2d(w, bias, shape_or(2, 1), shape_or(3, 0), shape_or(4, 1),
                                  b.has(5) ? to_int(b[5], "groups") : 1));
}

Value pool(Interp& in, const Value& self, CallArgs& args, bool is_max) {
  Bound b = is_max ? bind("max_pool2d", args, {"kernel_size", "stride=", "padding=", "dilation="})
                   : bind("avg_pool2d", args, {"kernel_size", "stride=", "padding=", "count_include_pad="});
  Shape kernel = pair_arg(in, b[0], "kernel_size");
  Shape stride = b.has(1) && !b[1].is_none() ? pair_arg(in, b[1], "stride") : Shape{};
  Shape padding = b.has(2) ? pair_arg(in, b[2], "padding") : Shape{0};
  if (is_max)
    return wrap(self_t(self).max_pool2d(kernel, stride, padding, b.has(3) ? pair_arg(in, b[3], "dilation") : Shape{1}));
  auto count = b.has(3) && !truthy(in, b[3]) ? Tensor::PadCount::exclude : Tensor::PadCount::include;
  return wrap(self_t(self).avg_pool2d(kernel, stride, padding, count));
}

std::vector<Value> list_of(std::vector<Tensor> ts) {
  std::vector<Value> out;
  for (Tensor& t : ts) out.push_back(wrap(std::move(t)));
  return out;
}

const std::pair<const char*, BuiltinFn> other_methods[] = {
    {"reshape", [](Interp& in, const Value& self, CallArgs& args) {
       return wrap(self_t(self).reshape(to_shape(in, bind("reshape", args, {"*"}).rest, "reshape() size")));
     }},
    {"view", [](Interp& in, const Value& self, CallArgs& args) {
       return wrap(self_t(self).reshape(to_shape(in, bind("view", args, {"*"}).rest, "view() size")));
     }},
    {"permute", [](Interp& in, const Value& self, CallArgs& args) {
       return wrap(self_t(self).permute(to_shape(in, bind("permute", args, {"*"}).rest, "permute() axis")));
     }},
    {"expand", [](Interp& in, const Value& self, CallArgs& args) {
       return wrap(self_t(self).expand(to_shape(in, bind("expand", args, {"*"}).rest, "expand() size")));
     }},
    {"repeat", [](Interp& in, const Value& self, CallArgs& args) {
       return wrap(self_t(self).repeat(to_shape(in, bind("repeat", args, {"*"}).rest, "repeat() count")));
     }},
    {"flip", [](Interp& in, const Value& self, CallArgs& args) {
       return wrap(self_t(self).flip(to_shape(in, bind("flip", args, {"*"}).rest, "flip() axis")));
     }},
    {"transpose", [](Interp&, const Value& self, CallArgs& args) {
       Bound b = bind("transpose", args, {"dim0=", "dim1="});
       return wrap(self_t(self).transpose(b.has(0) ? to_int(b[0], "dim0") : -2, b.has(1) ? to_int(b[1], "dim1") : -1));
     }},
    {"flatten", [](Interp&, const Value& self, CallArgs& args) {
       Bound b = bind("flatten", args, {"start_dim=", "end_dim="});
       return wrap(self_t(self).flatten(b.has(0) ? to_int(b[0], "start_dim") : 0, b.has(1) ? to_int(b[1], "end_dim") : -1));
     }},
    {"squeeze", [](Interp&, const Value& self, CallArgs& args) {
       for (auto& [k, v] : args.kw)
         if (k == "dim") k = "axis";
       Bound b = bind("squeeze", args, {"axis="});
       if (!b.has(0) || b[0].is_none()) return wrap(self_t(self).squeeze());
       return wrap(self_t(self).squeeze(to_int(b[0], "axis")));
     }},
    {"unsqueeze", [](Interp&, const Value& self, CallArgs& args) {
       for (auto& [k, v] : args.kw)
         if (k == "dim") k = "axis";
       return wrap(self_t(self).unsqueeze(to_int(bind("unsqueeze", args, {"axis"})[0], "axis")));
     }},
    {"pad", [](Interp& in, const Value& self, CallArgs& args) {
       Bound b = bind("pad", args, {"padding", "value="});
       std::vector<std::pair<int64_t, int64_t>> pads;
       for (const Value& p : in.iterate(b[0])) {
         Shape pair = to_shape(in, {p}, "pad() amount");
         if (pair.size() != 2) raise("ValueError", "pad() takes one (before, after) pair per axis");
         pads.emplace_back(pair[0], pair[1]);
       }
       return wrap(self_t(self).pad(pads, b.has(1) ? to_float(b[1], "value") : 0));
     }},
    {"shrink", [](Interp& in, const Value& self, CallArgs& args) {
       std::vector<std::pair<int64_t, int64_t>> ranges;
       for (const Value& p : in.iterate(bind("shrink", args, {"ranges"})[0])) {
         Shape pair = to_shape(in, {p}, "shrink() bound");
         if (pair.size() != 2) raise("ValueError", "shrink() takes one (start, stop) pair per axis");
         ranges.emplace_back(pair[0], pair[1]);
       }
       return wrap(self_t(self).shrink(ranges));
     }},
    {"split", [](Interp& in, const Value& self, CallArgs& args) {
       for (auto& [k, v] : args.kw)
         if (k == "dim") k = "axis";
       Bound b = bind("split", args, {"sizes", "axis="});
       int64_t axis = b.has(1) ? to_int(b[1], "axis") : 0;
       if (b[0].is_int_like()) return make_list(list_of(self_t(self).split(b[0].as_int(), axis)));
       return make_list(list_of(self_t(self).split(to_shape(in, {b[0]}, "split() size"), axis)));
     }},
    {"chunk", [](Interp&, const Value& self, CallArgs& args) {
       for (auto& [k, v] : args.kw)
         if (k == "dim") k = "axis";
       Bound b = bind("chunk", args, {"chunks", "axis="});
       return make_list(list_of(self_t(self).chunk(to_int(b[0], "chunks"), b.has(1) ? to_int(b[1], "axis") : 0)));
     }},
    {"gather", [](Interp& in, const Value& self, CallArgs& args) {
       for (auto& [k, v] : args.kw)
         if (k == "dim") k = "axis";
       Bound b = bind("gather", args, {"axis", "index"});
       return wrap(self_t(self).gather(to_int(b[0], "axis"), to_tensor(in, b[1], nullptr, "index")));
     }},
    {"where", [](Interp& in, const Value& self, CallArgs& args) {
       Bound b = bind("where", args, {"x", "y"});
       const Tensor* like = b[0].is(Type::Tensor) ? &self_t(b[0]) : b[1].is(Type::Tensor) ? &self_t(b[1]) : nullptr;
       Tensor fallback = like ? *like : Tensor::full({}, 0, b[0].is(Type::Float) || b[1].is(Type::Float) ? DType::f32 : DType::i32);
       return wrap(self_t(self).where(to_tensor(in, b[0], &fallback, "x"), to_tensor(in, b[1], &fallback, "y")));
     }},
    {"pow", [](Interp& in, const Value& self, CallArgs& args) {
       Value e = bind("pow", args, {"exponent"})[0];
       if (e.is_number()) return wrap(pow_scalar(self_t(self), e));
       return wrap(self_t(self).pow(to_tensor(in, e, &self_t(self), "exponent")));
     }},
    {"clip", [](Interp&, const Value& self, CallArgs& args) {
       Bound b = bind("clip", args, {"min", "max"});
       return wrap(self_t(self).clip(to_float(b[0], "min"), to_float(b[1], "max")));
     }},
    {"clamp", [](Interp&, const Value& self, CallArgs& args) {
       Bound b = bind("clamp", args, {"min", "max"});
       return wrap(self_t(self).clip(to_float(b[0], "min"), to_float(b[1], "max")));
     }},
    {"leaky_relu", [](Interp&, const Value& self, CallArgs& args) {
       Bound b = bind("leaky_relu", args, {"negative_slope="});
       return wrap(self_t(self).leaky_relu(b.has(0) ? to_float(b[0], "negative_slope") : 0.01));
     }},
    {"softplus", [](Interp&, const Value& self, CallArgs& args) {
       Bound b = bind("softplus", args, {"beta="});
       return wrap(self_t(self).softplus(b.has(0) ? to_float(b[0], "beta") : 1));
     }},
    {"softmax", [](Interp&, const Value& self, CallArgs& args) {
       for (auto& [k, v] : args.kw)
         if (k == "dim") k = "axis";
       Bound b = bind("softmax", args, {"axis="});
       return wrap(self_t(self).softmax(b.has(0) ? to_int(b[0], "axis") : -1));
     }},
    {"log_softmax", [](Interp&, const Value& self, CallArgs& args) {
       for (auto& [k, v] : args.kw)
         if (k == "dim") k = "axis";
       Bound b = bind("log_softmax", args, {"axis="});
       return wrap(self_t(self).log_softmax(b.has(0) ? to_int(b[0], "axis") : -1));
     }},
    {"cumsum", [](Interp&, const Value& self, CallArgs& args) {
       for (auto& [k, v] : args.kw)
         if (k == "dim") k = "axis";
       return wrap(self_t(self).cumsum(to_int(bind("cumsum", args, {"axis"})[0], "axis")));
     }},
    {"var", [](Interp& in, const Value& self, CallArgs& args) { return var_std(in, self, args, false); }},
    {"std", [](Interp& in, const Value& self, CallArgs& args) { return var_std(in, self, args, true); }},
    {"argmax", [](Interp& in, const Value& self, CallArgs& args) { return arg_extreme(in, self, args, true); }},
    {"argmin", [](Interp& in, const Value& self, CallArgs& args) { return arg_extreme(in, self, args, false); }},
    {"conv2d", [](Interp& in, const Value& self, CallArgs& args) { return conv(in, self, args, false); }},
    {"conv_transpose2d", [](Interp& in, const Value& self, CallArgs& args) { return conv(in, self, args, true); }},
    {"max_pool2d", [](Interp& in, const Value& self, CallArgs& args) { return pool(in, self, args, true); }},
    {"avg_pool2d", [](Interp& in, const Value& self, CallArgs& args) { return pool(in, self, args, false); }},
    {"cast", [](Interp&, const Value& self, CallArgs& args) {
       return wrap(self_t(self).cast(to_dtype(bind("cast", args, {"dtype"})[0], "dtype")));
     }},
    {"bitcast", [](Interp&, const Value& self, CallArgs& args) {
       return wrap(self_t(self).bitcast(to_dtype(bind("bitcast", args, {"dtype"})[0], "dtype")));
     }},
    {"float", [](Interp&, const Value& self, CallArgs& args) { bind("float", args, {}); return wrap(self_t(self).cast(DType::f32)); }},
    {"half", [](Interp&, const Value& self, CallArgs& args) { bind("half", args, {}); return wrap(self_t(self).cast(DType::f16)); }},
    {"int", [](Interp&, const Value& self, CallArgs& args) { bind("int", args, {}); return wrap(self_t(self).cast(DType::i32)); }},
    {"long", [](Interp&, const Value& self, CallArgs& args) { bind("long", args, {}); return wrap(self_t(self).cast(DType::i64)); }},
    {"bool", [](Interp&, const Value& self, CallArgs& args) { bind("bool", args, {}); return wrap(self_t(self).cast(DType::bool_)); }},
    {"tolist", [](Interp&, const Value& self, CallArgs& args) { bind("tolist", args, {}); return tensor_tolist(self_t(self)); }},
    {"item", [](Interp&, const Value& self, CallArgs& args) { bind("item", args, {}); return tensor_item(self_t(self)); }},
    {"numel", [](Interp&, const Value& self, CallArgs& args) { bind("numel", args, {}); return Value::integer(self_t(self).numel()); }},
    {"dim", [](Interp&, const Value& self, CallArgs& args) { bind("dim", args, {}); return Value::integer(self_t(self).ndim()); }},
    {"size", [](Interp&, const Value& self, CallArgs& args) {
       Bound b = bind("size", args, {"dim="});
       const Tensor& t = self_t(self);
       if (b.has(0)) return Value::integer(t.shape()[size_t(t.axis(to_int(b[0], "dim")))]);
       std::vector<Value> dims;
       for (int64_t d : t.shape()) dims.push_back(Value::integer(d));
       return make_tuple(std::move(dims));
     }},
    {"realize", [](Interp&, const Value& self, CallArgs& args) {
       bind("realize", args, {});
       self.as<TensorObj>().t.realize();
       return self;
     }},
    {"to", [](Interp&, const Value& self, CallArgs& args) {
       Value d = bind("to", args, {"device_or_dtype"})[0];
       if (d.is(Type::DType)) return wrap(self_t(self).cast(d.as<DTypeObj>().d));
       std::string name = to_str(d, "device");
       for (char& c : name) c = char(std::toupper((unsigned char)c));
       auto target = runtime::find_target(name);
       if (!target) raise("ValueError", llvm::toString(target.takeError()));
       return wrap(self_t(self).to(*target));
     }},
};

using MethodList = std::vector<std::pair<const char*, BuiltinFn>>;

template <size_t... I>
void add_unary(MethodList& out, std::index_sequence<I...>) {
  (out.emplace_back(unary_methods[I].name, &call_unary<I>), ...);
}
template <size_t... I>
void add_binary(MethodList& out, std::index_sequence<I...>) {
  (out.emplace_back(binary_methods[I].name, &call_binary<I>), ...);
}
template <size_t... I>
void add_reduce(MethodList& out, std::index_sequence<I...>) {
  (out.emplace_back(reduce_methods[I].name, &call_reduce<I>), ...);
}

MethodList all_methods() {
  MethodList out;
  add_unary(out, std::make_index_sequence<std::size(unary_methods)>());
  add_binary(out, std::make_index_sequence<std::size(binary_methods)>());
  add_reduce(out, std::make_index_sequence<std::size(reduce_methods)>());
  for (auto& m : other_methods) out.push_back(m);
  return out;
}

} // namespace

std::optional<Value> tensor_attr(Interp& in, const Value& self, llvm::StringRef name) {
  const Tensor& t = self_t(self);
  if (name == "shape") {
    std::vector<Value> dims;
    for (int64_t d : t.shape()) dims.push_back(Value::integer(d));
    return make_tuple(std::move(dims));
  }
  if (name == "dtype") return Value(ObjRef(new DTypeObj(t.dtype())));
  if (name == "ndim") return Value::integer(t.ndim());
  if (name == "device") return make_str(t.device()->name);
  if (name == "T") {
    if (t.ndim() < 2) return self;
    Shape order;
    for (int64_t i = t.ndim() - 1; i >= 0; i--) order.push_back(i);
    return wrap(t.permute(order));
  }
  static const std::vector<std::pair<const char*, BuiltinFn>> methods = all_methods();
  for (auto& [n, fn] : methods)
    if (name == n) return Value(ObjRef(new BuiltinObj(n, fn, self)));
  return training_tensor_attr(in, self, name);
}

} // namespace patgrad::script
