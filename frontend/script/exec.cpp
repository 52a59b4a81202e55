// Statements, imports, and the interpreter's entry points.
#include "frontend/script/interp.h"
#include <fmt/format.h>
#include <fstream>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <ostream>
#include <sstream>

namespace patgrad::script {

void raise(const char* kind, std::string message) {
  ScriptError e;
  e.kind = kind;
  e.message = std::move(message);
  throw e;
}

ScriptError Interp::locate(ScriptError e, Loc at) {
  e.mod = cur_mod;
  e.loc = at;
  // frames[k] was called from frames[k - 1] at frames[k].call_loc; the innermost frame is at `at`
  for (size_t k = 0; k < frames.size(); k++) {
    bool last = k + 1 == frames.size();
    e.trace.push_back(TraceEntry{frames[k].mod, last ? at : frames[k + 1].call_loc, frames[k].function});
  }
  return e;
}

Interp::Interp(std::ostream& o, std::vector<std::string> args) : out(o), argv(std::move(args)) {
  builtins_env_ = new Env();
  builtins = builtins_env_.get();
  install_builtins(*this, *builtins);
}

// A module's functions keep its scope as their closure and the scope holds them: a cycle that reference counting
// cannot free. Emptying every module scope at the end of the run frees what the script made (its tensors' buffers).
Interp::~Interp() {
  for (EnvRef& env : module_envs_) env->vars.clear();
  modules.clear();
}

EnvRef Interp::new_module_env(const std::string& name) {
  EnvRef env(new Env());
  env->vars.set("__name__", make_str(name));
  module_envs_.push_back(env);
  return env;
}

AstModule& Interp::keep(std::unique_ptr<AstModule> mod) {
  kept_.push_back(std::move(mod));
  return *kept_.back();
}

void Interp::run_module(AstModule& mod, Env& env) {
  const AstModule* saved = cur_mod;
  cur_mod = &mod;
  frames.push_back(Frame{"<module>", &mod, call_loc});
  struct Pop {
    Interp& in;
    const AstModule* saved;
    ~Pop() { in.frames.pop_back(), in.cur_mod = saved; }
  } pop{*this, saved};
  Value ret;
  if (exec_block(mod.body, env, ret) != Flow::Normal)
    raise("SyntaxError", "'return', 'break' or 'continue' outside a function or loop");
}

void Interp::run_interactive(AstModule& mod, Env& env) {
  const AstModule* saved = cur_mod;
  cur_mod = &mod;
  frames.push_back(Frame{"<module>", &mod, Loc{}});
  struct Pop {
    Interp& in;
    const AstModule* saved;
    ~Pop() { in.frames.pop_back(), in.cur_mod = saved; }
  } pop{*this, saved};
  for (const Stmt* s : mod.body) {
    if (s->kind != StmtKind::Expr) {
      Value ret;
      if (exec(s, env, ret) != Flow::Normal)
        raise("SyntaxError", "'return', 'break' or 'continue' outside a function or loop");
      continue;
    }
    Value v = eval(static_cast<const ExprStmt*>(s)->value, env);
    if (!v.is_none()) out << repr(v) << "\n";
  }
}

Interp::Flow Interp::exec_block(const Block& b, Env& env, Value& ret) {
  for (const Stmt* s : b)
    if (Flow f = exec(s, env, ret); f != Flow::Normal) return f;
  return Flow::Normal;
}

Interp::Flow Interp::exec_for(const ForStmt& s, Env& env, Value& ret) {
  Value it = eval(s.iter, env);
  auto body = [&](Value v, bool& stop) {
    assign(s.target, std::move(v), env);
    Flow f = exec_block(s.body, env, ret);
    if (f == Flow::Break || f == Flow::Return) stop = true;
    return f;
  };
  bool stop = false;
  Flow f = Flow::Normal;
  if (it.is(Type::Range)) { // lazily: range(10**9) needs no list
    auto& r = it.as<RangeObj>();
    for (int64_t i = 0, n = r.size(); i < n && !stop; i++) f = body(Value::integer(r.at(i)), stop);
  } else {
    for (Value& v : iterate(it)) {
      f = body(std::move(v), stop);
      if (stop) break;
    }
  }
  if (f == Flow::Return) return f;
  if (f != Flow::Break) return exec_block(s.orelse, env, ret);
  return Flow::Normal;
}

Interp::Flow Interp::exec(const Stmt* s, Env& env, Value& ret) {
  if (++nesting > max_nesting) {
    nesting--;
    raise("RecursionError", "maximum recursion depth exceeded (statement nesting too deep)");
  }
  struct Dec {
    int& n;
    ~Dec() { n--; }
  } dec{nesting};
  try {
    switch (s->kind) {
    case StmtKind::Expr: eval(static_cast<const ExprStmt*>(s)->value, env); return Flow::Normal;
    case StmtKind::Assign: {
      auto* a = static_cast<const AssignStmt*>(s);
      Value v = eval(a->value, env);
      for (const Expr* t : a->targets) assign(t, v, env);
      return Flow::Normal;
    }
    case StmtKind::AugAssign: {
      auto* a = static_cast<const AugAssignStmt*>(s);
      auto update = [&](const Value& cur) {
        Value rhs = eval(a->value, env);
        if (a->op == BinOp::Add && cur.is(Type::List)) { // list += iterable extends in place
          auto& items = cur.as<ListObj>().items;
          for (Value& v : iterate(rhs)) items.push_back(std::move(v));
          return cur;
        }
        return binary(a->op, cur, rhs);
      };
      if (a->target->kind == ExprKind::Name) {
        assign(a->target, update(eval(a->target, env)), env);
      } else if (a->target->kind == ExprKind::Attr) {
        auto* t = static_cast<const AttrExpr*>(a->target);
        Value obj = eval(t->obj, env);
        setattr(obj, t->attr, update(getattr(obj, t->attr)));
      } else {
        auto* t = static_cast<const IndexExpr*>(a->target);
        Value obj = eval(t->obj, env), index = eval(t->index, env);
        setitem(obj, index, update(getitem(obj, index)));
      }
      return Flow::Normal;
    }
    case StmtKind::If: {
      auto* i = static_cast<const IfStmt*>(s);
      for (auto& [cond, body] : i->branches)
        if (truthy(*this, eval(cond, env))) return exec_block(body, env, ret);
      return exec_block(i->orelse, env, ret);
    }
    case StmtKind::While: {
      auto* w = static_cast<const WhileStmt*>(s);
      while (truthy(*this, eval(w->cond, env))) {
        Flow f = exec_block(w->body, env, ret);
        if (f == Flow::Break) return Flow::Normal;
        if (f == Flow::Return) return f;
      }
      return exec_block(w->orelse, env, ret);
    }
    case StmtKind::For: return exec_for(*static_cast<const ForStmt*>(s), env, ret);
    case StmtKind::Break: return Flow::Break;
    case StmtKind::Continue: return Flow::Continue;
    case StmtKind::Pass: return Flow::Normal;
    case StmtKind::Return: {
      auto* r = static_cast<const ReturnStmt*>(s);
      if (!env.parent) raise("SyntaxError", "'return' outside function");
      ret = r->value ? eval(r->value, env) : Value();
      return Flow::Return;
    }
    case StmtKind::Def: {
      auto* d = static_cast<const DefStmt*>(s);
      std::vector<Value> decorators; // evaluated before the function is made, applied innermost first (Python's order)
      for (const Expr* e : d->decorators) decorators.push_back(eval(e, env));
      Value f = make_function(d->name, d->params, env);
      f.as<FunctionObj>().body = &d->body;
      for (size_t i = decorators.size(); i-- > 0;) f = call0(decorators[i], std::move(f));
      assign_name(d->name, std::move(f), env);
      return Flow::Normal;
    }
    case StmtKind::Class: {
      auto* c = static_cast<const ClassStmt*>(s);
      assign_name(c->name, make_class(*c, env), env);
      return Flow::Normal;
    }
    case StmtKind::Import:
    case StmtKind::FromImport: exec_import(s, env); return Flow::Normal;
    case StmtKind::Assert: {
      auto* a = static_cast<const AssertStmt*>(s);
      if (!truthy(*this, eval(a->test, env))) raise("AssertionError", a->msg ? str(eval(a->msg, env)) : "");
      return Flow::Normal;
    }
    case StmtKind::Global:
      for (const std::string& n : static_cast<const GlobalStmt*>(s)->names) env.global_names.push_back(n);
      return Flow::Normal;
    case StmtKind::Del:
      for (const Expr* t : static_cast<const DelStmt*>(s)->targets) del(t, env);
      return Flow::Normal;
    }
    return Flow::Normal;
  } catch (ScriptError& err) {
    if (!err.mod) throw locate(std::move(err), s->loc);
    throw;
  } catch (const OutOfMemory& err) {
    throw locate(ScriptError{"MemoryError", err.what()}, s->loc);
  } catch (const TensorError& err) { // from an operator: calls convert their own
    throw locate(ScriptError{"TensorError", err.what()}, s->loc);
  } catch (const std::bad_alloc&) {
    throw locate(ScriptError{"MemoryError", "out of memory"}, s->loc);
  }
}

void Interp::assign_name(const std::string& name, Value v, Env& env) {
  Env* scope = &env;
  if (std::find(env.global_names.begin(), env.global_names.end(), name) != env.global_names.end()) scope = env.globals;
  scope->vars.set(name, std::move(v));
}

void Interp::del(const Expr* t, Env& env) {
  if (t->kind == ExprKind::Name) {
    const std::string& id = static_cast<const NameExpr*>(t)->id;
    Env* scope = &env;
    if (std::find(env.global_names.begin(), env.global_names.end(), id) != env.global_names.end()) scope = env.globals;
    if (!scope->vars.erase(id)) raise("NameError", "name '" + id + "' is not defined");
  } else if (t->kind == ExprKind::Attr) {
    auto* a = static_cast<const AttrExpr*>(t);
    Value obj = eval(a->obj, env);
    if (!obj.is(Type::Instance) || !obj.as<InstanceObj>().attrs.erase(a->attr))
      raise("AttributeError", fmt::format("'{}' object has no attribute '{}'", type_name(obj), a->attr));
  } else if (t->kind == ExprKind::Index) {
    auto* x = static_cast<const IndexExpr*>(t);
    Value obj = eval(x->obj, env), index = eval(x->index, env);
    if (obj.is(Type::Dict)) {
      if (!obj.as<DictObj>().erase(index)) raise("KeyError", repr(index));
    } else if (obj.is(Type::List) && index.is_int_like()) {
      auto& items = obj.as<ListObj>().items;
      int64_t i = index.as_int() < 0 ? index.as_int() + int64_t(items.size()) : index.as_int();
      if (i < 0 || i >= int64_t(items.size())) raise("IndexError", "list assignment index out of range");
      items.erase(items.begin() + i);
    } else
      raise("TypeError", fmt::format("'{}' object does not support item deletion", type_name(obj)));
  } else {
    for (const Expr* e : static_cast<const SeqExpr*>(t)->elts) del(e, env);
  }
}

Value Interp::import(const std::string& name, Loc at) {
  if (auto it = modules.find(name); it != modules.end()) return it->second;
  if (auto m = builtin_module(*this, name)) return modules[name] = *m;
  // a script file, relative to the importing file's folder
  std::string rel = name;
  std::replace(rel.begin(), rel.end(), '.', '/');
  llvm::SmallString<256> path(cur_mod && !cur_mod->path.empty() ? llvm::sys::path::parent_path(cur_mod->path)
                                                                : llvm::StringRef(base_dir));
  llvm::sys::path::append(path, rel + ".pg");
  llvm::SmallString<256> abs(path);
  llvm::sys::fs::make_absolute(abs);
  std::string key = std::string(abs);
  if (auto it = modules.find(key); it != modules.end()) return it->second;
  std::ifstream f(key, std::ios::binary);
  if (!f) raise("ImportError", fmt::format("no module named '{}' (looked for {})", name, std::string(path)));
  std::stringstream ss;
  ss << f.rdbuf();
  SyntaxError err;
  auto parsed = parse_module(std::string(path), ss.str(), err);
  if (!parsed) {
    auto holder = std::make_unique<AstModule>();
    holder->path = std::string(path);
    holder->source = ss.str();
    ScriptError e{err.kind, err.message, &keep(std::move(holder)), err.loc, {}};
    throw locate_syntax(std::move(e), at);
  }
  AstModule& mod = keep(std::move(parsed));
  EnvRef env = new_module_env(name);
  Value module(ObjRef(new ModuleObj(name, env)));
  modules[key] = module;
  call_loc = at;
  run_module(mod, *env);
  return module;
}

ScriptError Interp::locate_syntax(ScriptError e, Loc import_at) {
  // the importing frames, then the imported file's line
  ScriptError located = locate(ScriptError{}, import_at);
  e.trace = std::move(located.trace);
  e.trace.push_back(TraceEntry{e.mod, e.loc, "<module>"});
  return e;
}

void Interp::exec_import(const Stmt* s, Env& env) {
  if (s->kind == StmtKind::Import) {
    for (const ImportName& n : static_cast<const ImportStmt*>(s)->names) {
      Value m = import(n.name, n.loc);
      std::string bind = n.alias.empty() ? n.name.substr(n.name.rfind('.') + 1) : n.alias;
      assign_name(bind, m, env);
    }
    return;
  }
  auto* f = static_cast<const FromImportStmt*>(s);
  Value m = import(f->module, f->loc);
  if (f->names.empty()) {
    for (auto& [name, v] : m.as<ModuleObj>().env->vars.entries())
      if (!name.starts_with("_")) assign_name(name, v, env);
    return;
  }
  for (const ImportName& n : f->names) {
    auto v = try_getattr(m, n.name);
    if (!v) raise("ImportError", fmt::format("cannot import name '{}' from '{}'", n.name, f->module));
    assign_name(n.alias.empty() ? n.name : n.alias, *v, env);
  }
}

} // namespace patgrad::script
