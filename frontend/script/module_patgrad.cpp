// The `patgrad` module: Tensor (its constructor and creation functions), the dtypes, and module-level functions.
#include "frontend/script/bind_train.h"
#include <fmt/format.h>

namespace patgrad::script {

namespace {

DType dtype_or(const Bound& b, size_t i, DType dflt) {
  return b.has(i) && !b[i].is_none() ? to_dtype(b[i], "dtype") : dflt;
}

// f(*shape, dtype=): zeros, ones, empty, rand, randn
template <Tensor (*F)(const Shape&, DType)>
Value shaped(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("tensor creation", args, {"*", "dtype="});
  return wrap(F(to_shape(in, b.rest, "size"), dtype_or(b, 1, DType::f32)));
}

Tensor zeros(const Shape& s, DType d) { return Tensor::zeros(s, d); }
Tensor ones(const Shape& s, DType d) { return Tensor::ones(s, d); }
Tensor empty(const Shape& s, DType d) { return Tensor::empty(s, d); }
Tensor rand(const Shape& s, DType d) { return Tensor::rand(s, d); }
Tensor randn(const Shape& s, DType d) { return Tensor::randn(s, d); }

std::vector<Tensor> tensors_of(Interp& in, const Value& v, const char* what) {
  std::vector<Tensor> out;
  for (const Value& x : in.iterate(v)) out.push_back(to_tensor(in, x, nullptr, what));
  return out;
}

const std::pair<const char*, BuiltinFn> statics[] = {
    {"zeros", shaped<zeros>},
    {"ones", shaped<ones>},
    {"empty", shaped<empty>},
    {"rand", shaped<rand>},
    {"randn", shaped<randn>},
    {"full",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("full", args, {"shape", "fill_value", "dtype="});
       DType d = dtype_or(b, 2, b[1].is(Type::Float) ? DType::f32 : b[1].is(Type::Bool) ? DType::bool_ : DType::i32);
       return wrap(Tensor::full(to_shape(in, {b[0]}, "size"), to_float(b[1], "fill_value"), d));
     }},
    {"arange",
     [](Interp&, const Value&, CallArgs& args) {
       Bound b = bind("arange", args, {"start", "stop=", "step=", "dtype="});
       double start = 0, stop, step = b.has(2) ? to_float(b[2], "step") : 1;
       if (b.has(1) && !b[1].is_none())
         start = to_float(b[0], "start"), stop = to_float(b[1], "stop");
       else
         stop = to_float(b[0], "stop");
       bool any_float =
           b[0].is(Type::Float) || (b.has(1) && b[1].is(Type::Float)) || (b.has(2) && b[2].is(Type::Float));
       if (step == 0) raise("ValueError", "arange() step must not be zero");
       return wrap(Tensor::arange(start, stop, step, dtype_or(b, 3, any_float ? DType::f32 : DType::i32)));
     }},
    {"linspace",
     [](Interp&, const Value&, CallArgs& args) {
       Bound b = bind("linspace", args, {"start", "stop", "steps", "dtype="});
       return wrap(Tensor::linspace(to_float(b[0], "start"), to_float(b[1], "stop"), to_int(b[2], "steps"),
                                    dtype_or(b, 3, DType::f32)));
     }},
    {"eye",
     [](Interp&, const Value&, CallArgs& args) {
       Bound b = bind("eye", args, {"n", "m=", "dtype="});
       return wrap(Tensor::eye(to_int(b[0], "n"), b.has(1) && !b[1].is_none() ? to_int(b[1], "m") : -1,
                               dtype_or(b, 2, DType::f32)));
     }},
    {"uniform",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("uniform", args, {"*", "low=", "high=", "dtype="});
       return wrap(Tensor::uniform(to_shape(in, b.rest, "size"), b.has(1) ? to_float(b[1], "low") : 0,
                                   b.has(2) ? to_float(b[2], "high") : 1, dtype_or(b, 3, DType::f32)));
     }},
    {"randint",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("randint", args, {"*", "low=", "high=", "dtype="});
       if (!b.has(2)) raise("TypeError", "randint() missing required keyword argument 'high'");
       return wrap(Tensor::randint(to_shape(in, b.rest, "size"), b.has(1) ? to_int(b[1], "low") : 0,
                                   to_int(b[2], "high"), dtype_or(b, 3, DType::i32)));
     }},
    {"zeros_like",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("zeros_like", args, {"tensor", "dtype="});
       std::optional<DType> d;
       if (b.has(1) && !b[1].is_none()) d = to_dtype(b[1], "dtype");
       return wrap(Tensor::zeros_like(to_tensor(in, b[0], nullptr, "tensor"), d));
     }},
    {"ones_like",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("ones_like", args, {"tensor", "dtype="});
       std::optional<DType> d;
       if (b.has(1) && !b[1].is_none()) d = to_dtype(b[1], "dtype");
       return wrap(Tensor::ones_like(to_tensor(in, b[0], nullptr, "tensor"), d));
     }},
    {"full_like",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("full_like", args, {"tensor", "fill_value", "dtype="});
       std::optional<DType> d;
       if (b.has(2) && !b[2].is_none()) d = to_dtype(b[2], "dtype");
       return wrap(Tensor::full_like(to_tensor(in, b[0], nullptr, "tensor"), to_float(b[1], "fill_value"), d));
     }},
    {"manual_seed",
     [](Interp&, const Value&, CallArgs& args) {
       int64_t seed = to_int(bind("manual_seed", args, {"seed"})[0], "seed");
       Tensor::manual_seed(uint64_t(seed));
       return Value();
     }},
    {"cat",
     [](Interp& in, const Value&, CallArgs& args) {
       for (auto& [k, v] : args.kw)
         if (k == "dim") k = "axis";
       Bound b = bind("cat", args, {"tensors", "axis="});
       return wrap(Tensor::cat(tensors_of(in, b[0], "cat() item"), b.has(1) ? to_int(b[1], "axis") : 0));
     }},
    {"stack",
     [](Interp& in, const Value&, CallArgs& args) {
       for (auto& [k, v] : args.kw)
         if (k == "dim") k = "axis";
       Bound b = bind("stack", args, {"tensors", "axis="});
       return wrap(Tensor::stack(tensors_of(in, b[0], "stack() item"), b.has(1) ? to_int(b[1], "axis") : 0));
     }},
    {"einsum",
     [](Interp& in, const Value&, CallArgs& args) {
       Bound b = bind("einsum", args, {"spec", "a", "b"});
       return wrap(
           Tensor::einsum(to_str(b[0], "spec"), to_tensor(in, b[1], nullptr, "a"), to_tensor(in, b[2], nullptr, "b")));
     }},
};

Value tensor_ctor(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("Tensor", args, {"data", "dtype="});
  std::optional<DType> d;
  if (b.has(1) && !b[1].is_none()) d = to_dtype(b[1], "dtype");
  return wrap(tensor_from_data(in, b[0], d));
}

} // namespace

Value patgrad_module(Interp& in) {
  EnvRef env = in.new_module_env("patgrad");
  auto* type = new BuiltinTypeObj("Tensor", Type::Tensor, tensor_ctor);
  Value tensor_type{ObjRef(type)};
  for (auto& [name, fn] : statics) {
    Value f{ObjRef(new BuiltinObj(name, fn))};
    type->attrs.set(name, f);
    env->vars.set(name, f);
  }
  env->vars.set("Tensor", tensor_type);
  env->vars.set("tensor", tensor_type);
  static const std::pair<const char*, DType> dtypes[] = {
      {"float32", DType::f32}, {"float16", DType::f16}, {"bfloat16", DType::bf16}, {"float64", DType::f64},
      {"half", DType::f16},    {"double", DType::f64},  {"int8", DType::i8},       {"int16", DType::i16},
      {"int32", DType::i32},   {"int64", DType::i64},   {"uint8", DType::u8},      {"uint16", DType::u16},
      {"uint32", DType::u32},  {"uint64", DType::u64},  {"bool", DType::bool_}};
  for (auto& [name, d] : dtypes) env->vars.set(name, Value(ObjRef(new DTypeObj(d))));
  env->vars.set("nn", nn_module(in));
  env->vars.set("optim", optim_module(in));
  env->vars.set("datasets", datasets_module(in));
  add_state_functions(*env);
  add_safetensors_functions(*env);
  add_jit_function(*env);
  return Value(ObjRef(new ModuleObj("patgrad", env)));
}

} // namespace patgrad::script
