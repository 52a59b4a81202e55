// Calls: binding arguments to parameters, script functions and their frames, classes and instances, and the
// boundary where C++ errors of the Tensor API become script errors.
#include "frontend/script/interp.h"
#include <fmt/format.h>

namespace patgrad::script {

namespace {

// Pops the frame and restores the current module however the call ends.
struct FrameGuard {
  Interp& in;
  const AstModule* saved;
  FrameGuard(Interp& i, Interp::Frame f) : in(i), saved(i.cur_mod) {
    in.frames.push_back(std::move(f));
    in.cur_mod = in.frames.back().mod;
  }
  ~FrameGuard() {
    in.frames.pop_back();
    in.cur_mod = saved;
  }
};

std::string plural(size_t n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

} // namespace

Value Interp::make_function(const std::string& name, const std::vector<Param>& params, Env& env) {
  auto* f = new FunctionObj();
  Value out{ObjRef(f)};
  f->name = name;
  f->params = &params;
  f->closure = &env;
  f->mod = const_cast<AstModule*>(cur_mod);
  for (const Param& p : params) f->defaults.push_back(p.default_value ? eval(p.default_value, env) : Value());
  return out;
}

namespace {

// A function made by a call and kept only in the call's own scope holds that scope as its closure while the scope
// holds it: a cycle that reference counting never frees, and with it every tensor of the call (a lambda inside a
// model's forward would keep each step's activations). When nothing else refers to the scope, empty it.
struct FreeScopeCycles {
  EnvRef& scope;
  ~FreeScopeCycles() {
    unsigned inner = 0;
    for (auto& [name, v] : scope->vars.entries())
      if (v.is(Type::Function) && v.as<FunctionObj>().closure == scope) {
        if (v.obj()->UseCount() > 1) return; // it escaped: the scope is still needed
        inner++;
      }
    if (inner > 0 && scope->UseCount() == 1 + inner) scope->vars.clear();
  }
};

} // namespace

Value Interp::call_function(FunctionObj& f, CallArgs& args, Value self) {
  if (int(frames.size()) > max_call_depth) raise("RecursionError", "maximum recursion depth exceeded");
  EnvRef local(new Env());
  FreeScopeCycles free_cycles{local};
  local->parent = f.closure;
  local->globals = f.closure->globals;
  const std::vector<Param>& params = *f.params;
  std::vector<bool> set(params.size());
  size_t npos = 0; // parameters that take positional arguments: those before *args
  int star = -1, kwstar = -1;
  for (size_t i = 0; i < params.size(); i++) {
    if (params[i].star == 1)
      star = int(i);
    else if (params[i].star == 2)
      kwstar = int(i);
    else if (star < 0)
      npos++;
  }
  std::vector<Value> rest;
  for (size_t i = 0; i < args.pos.size(); i++) {
    if (i < npos)
      local->vars.set(params[i].name, args.pos[i]), set[i] = true;
    else if (star >= 0)
      rest.push_back(args.pos[i]);
    else
      raise("TypeError", fmt::format("{}() takes {} but {} given", f.name, plural(npos, "positional argument"),
                                     args.pos.size() == 1 ? "1 was" : fmt::format("{} were", args.pos.size())));
  }
  auto* kwargs = kwstar >= 0 ? new DictObj() : nullptr;
  Value kwargs_value = kwargs ? Value(ObjRef(kwargs)) : Value();
  for (auto& [name, v] : args.kw) {
    size_t i = 0;
    while (i < params.size() && (params[i].star || params[i].name != name)) i++;
    if (i == params.size()) {
      if (!kwargs) raise("TypeError", fmt::format("{}() got an unexpected keyword argument '{}'", f.name, name));
      kwargs->set(make_str(name), v);
      continue;
    }
    if (set[i]) raise("TypeError", fmt::format("{}() got multiple values for argument '{}'", f.name, name));
    local->vars.set(name, v), set[i] = true;
  }
  std::vector<std::string> missing;
  for (size_t i = 0; i < params.size(); i++) {
    if (set[i] || params[i].star) continue;
    if (params[i].default_value)
      local->vars.set(params[i].name, f.defaults[i]);
    else
      missing.push_back("'" + params[i].name + "'");
  }
  if (!missing.empty()) {
    std::string names = missing[0];
    for (size_t i = 1; i < missing.size(); i++) names += (i + 1 == missing.size() ? " and " : ", ") + missing[i];
    raise("TypeError", fmt::format("{}() missing {}: {}", f.name, plural(missing.size(), "required argument"), names));
  }
  if (star >= 0) local->vars.set(params[size_t(star)].name, make_tuple(std::move(rest)));
  if (kwargs) local->vars.set(params[size_t(kwstar)].name, kwargs_value);

  Value first = args.pos.empty() ? Value() : args.pos[0];
  FrameGuard frame(*this, Frame{f.name, f.mod, call_loc, &f, self.is_none() ? first : self});
  if (f.expr) return eval(f.expr, *local);
  Value ret;
  exec_block(*f.body, *local, ret);
  return ret;
}

Value Interp::instantiate(ClassObj& c, CallArgs& args) {
  Value inst{ObjRef(new InstanceObj(&c))};
  if (Value* init = c.lookup("__init__")) {
    args.pos.insert(args.pos.begin(), inst);
    Value r = call(*init, args);
    if (!r.is_none()) raise("TypeError", "__init__() should return None, not '" + std::string(type_name(r)) + "'");
  } else if (!args.pos.empty() || !args.kw.empty())
    raise("TypeError", c.name + "() takes no arguments");
  return inst;
}

Value Interp::call(const Value& fn, CallArgs& args) {
  switch (fn.type()) {
  case Type::Function: return call_function(fn.as<FunctionObj>(), args, Value());
  case Type::BoundMethod: {
    auto& m = fn.as<BoundMethodObj>();
    args.pos.insert(args.pos.begin(), m.self);
    return call(m.fn, args);
  }
  case Type::Class: return instantiate(fn.as<ClassObj>(), args);
  case Type::Instance:
    if (auto c = try_getattr(fn, "__call__")) return call(*c, args);
    break;
  case Type::Builtin:
  case Type::BuiltinType:
    try {
      if (fn.is(Type::Builtin)) return fn.as<BuiltinObj>().fn(*this, fn.as<BuiltinObj>().self, args);
      return fn.as<BuiltinTypeObj>().ctor(*this, fn, args);
    } catch (const OutOfMemory& e) {
      raise("MemoryError", e.what());
    } catch (const TensorError& e) {
      raise("TensorError", e.what());
    } catch (const std::bad_alloc&) {
      raise("MemoryError", "out of memory");
    } catch (const std::length_error& e) {
      raise("MemoryError", e.what());
    }
  default: break;
  }
  raise("TypeError", fmt::format("'{}' object is not callable", type_name(fn)));
}

Value Interp::call0(const Value& fn, Value arg) {
  CallArgs args;
  args.pos.push_back(std::move(arg));
  return call(fn, args);
}

Value Interp::make_class(const ClassStmt& s, Env& env) {
  llvm::IntrusiveRefCntPtr<ClassObj> cls(new ClassObj());
  cls->name = s.name;
  if (s.base) {
    Value b = eval(s.base, env);
    if (!b.is(Type::Class))
      raise("TypeError", fmt::format("a class can only inherit from a script class, not {}",
                                     b.is(Type::BuiltinType) ? b.as<BuiltinTypeObj>().name : type_name(b)));
    cls->base = &b.as<ClassObj>();
  }
  EnvRef body(new Env());
  body->parent = &env;
  body->globals = env.globals;
  body->is_class = true;
  Value ret;
  exec_block(s.body, *body, ret);
  for (auto& [name, v] : body->vars.entries()) {
    if (v.is(Type::Function) && !v.as<FunctionObj>().owner) v.as<FunctionObj>().owner = cls.get();
    cls->attrs.set(name, v);
  }
  // the methods keep the body's scope as their closure; it is skipped when they look names up, so its names are not
  // needed, and keeping them would be a cycle (scope -> method -> scope) that is never freed
  body->vars.clear();
  return Value(ObjRef(cls));
}

Bound bind(const char* fn, const CallArgs& args, std::initializer_list<const char*> params) {
  Bound b;
  b.v.resize(params.size());
  std::vector<std::string_view> names;
  size_t required = 0, npos = 0;
  bool star = false;
  for (const char* p : params) {
    std::string_view n(p);
    if (n == "*")
      star = true;
    else {
      if (!n.ends_with("="))
        required = names.size() + 1;
      else
        n.remove_suffix(1);
      if (!star) npos++;
    }
    names.push_back(n);
  }
  for (size_t i = 0; i < args.pos.size(); i++) {
    if (i < npos)
      b.v[i] = args.pos[i];
    else if (star)
      b.rest.push_back(args.pos[i]);
    else
      raise("TypeError",
            npos == 0 ? fmt::format("{}() takes no arguments ({} given)", fn, args.pos.size())
                      : fmt::format("{}() takes at most {} ({} given)", fn, plural(npos, "argument"), args.pos.size()));
  }
  for (auto& [k, v] : args.kw) {
    auto it = std::find(names.begin(), names.end(), k);
    if (it == names.end() || *it == "*")
      raise("TypeError", fmt::format("{}() got an unexpected keyword argument '{}'", fn, k));
    size_t i = size_t(it - names.begin());
    if (b.v[i]) raise("TypeError", fmt::format("{}() got multiple values for argument '{}'", fn, k));
    b.v[i] = v;
  }
  for (size_t i = 0; i < required; i++)
    if (!b.v[i] && names[i] != "*")
      raise("TypeError", fmt::format("{}() missing required argument '{}' (pos {})", fn, names[i], i + 1));
  return b;
}

int64_t to_int(const Value& v, const char* what) {
  if (!v.is_int_like()) raise("TypeError", fmt::format("{} must be an integer, not {}", what, type_name(v)));
  return v.as_int();
}

double to_float(const Value& v, const char* what) {
  if (!v.is_number()) raise("TypeError", fmt::format("{} must be a number, not {}", what, type_name(v)));
  return v.as_float();
}

const std::string& to_str(const Value& v, const char* what) {
  if (!v.is(Type::Str)) raise("TypeError", fmt::format("{} must be a str, not {}", what, type_name(v)));
  return v.as<StrObj>().s;
}

} // namespace patgrad::script
