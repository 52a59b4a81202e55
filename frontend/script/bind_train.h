// What the training bindings (bind_nn.cpp, bind_optim.cpp, bind_data.cpp, bind_autograd.cpp) share: argument
// helpers, native classes and the modules they make. Layers, optimizers, schedules and loaders are instances of
// native classes whose methods are C++ built-ins (ClassObj::native binds them to the instance).
#pragma once
#include "frontend/script/bind_tensor.h"
#include <fmt/format.h>
#include <map>

namespace patgrad::script {

inline Value builtin(const char* name, BuiltinFn f, Value self = {}) {
  return Value(ObjRef(new BuiltinObj(name, f, std::move(self))));
}
inline Value wrap(Tensor t) { return make_tensor(std::move(t)); }
inline Tensor tensor_arg(Interp& in, const Value& v, const char* what) { return to_tensor(in, v, nullptr, what); }
inline std::optional<Tensor> optional_tensor(Interp& in, const Bound& b, size_t i, const char* what) {
  if (!b.has(i) || b[i].is_none()) return std::nullopt;
  return tensor_arg(in, b[i], what);
}
inline double float_or(const Bound& b, size_t i, double dflt, const char* what) {
  return b.has(i) ? to_float(b[i], what) : dflt;
}
inline int64_t int_or(const Bound& b, size_t i, int64_t dflt, const char* what) {
  return b.has(i) ? to_int(b[i], what) : dflt;
}
inline bool bool_or(Interp& in, const Bound& b, size_t i, bool dflt) { return b.has(i) ? truthy(in, b[i]) : dflt; }
// an int for both spatial axes, or a tuple (h, w)
inline Shape pair_or(Interp& in, const Bound& b, size_t i, Shape dflt, const char* what) {
  if (!b.has(i) || b[i].is_none()) return dflt;
  return to_axes(in, b[i], what);
}

// The native object behind a method's self: a TypeError if it is another kind (type(layer).__call__(other, x)).
template <typename T>
T& native(const Value& v, const char* kind) {
  T* p = v.is(Type::Instance) ? dynamic_cast<T*>(&v.as<InstanceObj>()) : nullptr;
  if (!p) raise("TypeError", fmt::format("expected a {} object, got {}", kind, type_name(v)));
  return *p;
}

// The class of a kind of native object, with its methods (built-ins that take the instance first).
inline llvm::IntrusiveRefCntPtr<ClassObj>
class_named(const std::string& name, std::initializer_list<std::pair<const char*, BuiltinFn>> methods) {
  static std::map<std::string, llvm::IntrusiveRefCntPtr<ClassObj>> classes;
  auto& c = classes[name];
  if (!c) {
    c = new ClassObj();
    c->name = name;
    c->native = true;
    for (auto& [n, f] : methods) c->attrs.set(n, builtin(n, f));
  }
  return c;
}

inline Value module_with(Interp& in, const char* name, llvm::ArrayRef<std::pair<const char*, BuiltinFn>> fns) {
  EnvRef env = in.new_module_env(name);
  for (auto& [n, f] : fns) env->vars.set(n, builtin(n, f));
  return Value(ObjRef(new ModuleObj(name, env)));
}

// The modules and functions of the training API (see each file)
Value nn_module(Interp& in);
Value optim_module(Interp& in);
Value datasets_module(Interp& in);
void add_state_functions(Env& patgrad);       // get_parameters, get_state_dict, state_dict, load_state_dict
void add_safetensors_functions(Env& patgrad); // safe_load, safe_save
void add_jit_function(Env& patgrad);          // jit

} // namespace patgrad::script
