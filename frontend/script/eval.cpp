// Expressions: names, literals, operators, attributes, subscripts, calls, comprehensions, lambdas and f-strings.
#include "frontend/script/format.h"
#include "frontend/script/interp.h"
#include <fmt/format.h>

namespace patgrad::script {

namespace {

// Counts nested evaluations so that a deep tree or a runaway recursion raises instead of exhausting the C++ stack.
struct NestingGuard {
  int& n;
  explicit NestingGuard(int& depth) : n(depth) {
    if (++n > Interp::max_nesting) {
      n--;
      raise("RecursionError", "maximum recursion depth exceeded (expression nesting too deep)");
    }
  }
  ~NestingGuard() { n--; }
};

template <typename T>
const T& as(const Expr* e) {
  return static_cast<const T&>(*e);
}

} // namespace

Value Interp::lookup(const NameExpr& n, Env& env) {
  for (Env* s = &env; s; s = s->parent.get()) {
    if (s->is_class && s != &env) continue; // methods do not see their class body's names
    if (Value* v = s->vars.find(n.id)) return *v;
  }
  if (Value* v = env.globals->vars.find(n.id)) return *v;
  if (Value* v = builtins->vars.find(n.id)) return *v;
  raise("NameError", "name '" + n.id + "' is not defined");
}

Value Interp::eval(const Expr* e, Env& env) {
  NestingGuard guard(nesting);
  try {
    switch (e->kind) {
    case ExprKind::Name: return lookup(as<NameExpr>(e), env);
    case ExprKind::Const: {
      auto& c = as<ConstExpr>(e);
      switch (c.type) {
      case ConstExpr::None: return Value();
      case ConstExpr::Bool: return Value::boolean(c.i != 0);
      case ConstExpr::Int: return Value::integer(c.i);
      case ConstExpr::Float: return Value::real(c.f);
      case ConstExpr::Str: return make_str(c.s);
      }
      return Value();
    }
    case ExprKind::FString: return eval_fstring(as<FStringExpr>(e), env);
    case ExprKind::List:
    case ExprKind::Tuple: {
      std::vector<Value> items;
      for (const Expr* x : as<SeqExpr>(e).elts) {
        if (x->kind == ExprKind::Starred)
          for (Value& v : iterate(eval(as<StarredExpr>(x).value, env))) items.push_back(std::move(v));
        else
          items.push_back(eval(x, env));
      }
      return e->kind == ExprKind::List ? make_list(std::move(items)) : make_tuple(std::move(items));
    }
    case ExprKind::Dict: {
      auto& d = as<DictExpr>(e);
      auto* obj = new DictObj();
      Value out{ObjRef(obj)};
      for (size_t i = 0; i < d.keys.size(); i++) {
        Value k = eval(d.keys[i], env);
        obj->set(k, eval(d.values[i], env));
      }
      return out;
    }
    case ExprKind::Attr: return getattr(eval(as<AttrExpr>(e).obj, env), as<AttrExpr>(e).attr);
    case ExprKind::Index: {
      Value obj = eval(as<IndexExpr>(e).obj, env);
      return getitem(obj, eval(as<IndexExpr>(e).index, env));
    }
    case ExprKind::Slice: {
      auto& s = as<SliceExpr>(e);
      auto opt = [&](const Expr* x) { return x ? eval(x, env) : Value(); };
      Value lo = opt(s.lo), hi = opt(s.hi);
      return Value(ObjRef(new SliceObj(lo, hi, opt(s.step))));
    }
    case ExprKind::Call: return eval_call(as<CallExpr>(e), env);
    case ExprKind::Unary: {
      auto& u = as<UnaryExpr>(e);
      Value v = eval(u.operand, env);
      if (u.op == UnOp::Not) return Value::boolean(!truthy(*this, v));
      return unary(u.op, v);
    }
    case ExprKind::Binary: {
      auto& b = as<BinaryExpr>(e);
      Value l = eval(b.lhs, env);
      return binary(b.op, l, eval(b.rhs, env));
    }
    case ExprKind::BoolOp: {
      auto& b = as<BoolOpExpr>(e);
      Value l = eval(b.lhs, env);
      if (truthy(*this, l) != b.is_and) return l; // `or` stops at a true operand, `and` at a false one
      return eval(b.rhs, env);
    }
    case ExprKind::Compare: {
      auto& c = as<CompareExpr>(e);
      Value l = eval(c.first, env), result;
      for (size_t i = 0; i < c.rest.size(); i++) {
        Value r = eval(c.rest[i].second, env);
        result = compare(c.rest[i].first, l, r);
        if (i + 1 < c.rest.size() && !truthy(*this, result)) return result; // a < b < c: bool(a < b) decides
        l = std::move(r);
      }
      return result;
    }
    case ExprKind::IfExp: {
      auto& c = as<IfExpr>(e);
      return truthy(*this, eval(c.cond, env)) ? eval(c.then, env) : eval(c.orelse, env);
    }
    case ExprKind::Lambda: {
      auto& l = as<LambdaExpr>(e);
      Value f = make_function("<lambda>", l.params, env);
      f.as<FunctionObj>().expr = l.body;
      return f;
    }
    case ExprKind::Comp: return eval_comp(as<CompExpr>(e), env);
    case ExprKind::Starred: raise("SyntaxError", "can't use starred expression here");
    }
    return Value();
  } catch (ScriptError& err) {
    if (!err.mod) throw locate(std::move(err), e->loc);
    throw;
  } catch (const OutOfMemory& err) {
    throw locate(ScriptError{"MemoryError", err.what()}, e->loc);
  } catch (const TensorError& err) { // from an operator: calls convert their own
    throw locate(ScriptError{"TensorError", err.what()}, e->loc);
  } catch (const std::bad_alloc&) {
    throw locate(ScriptError{"MemoryError", "out of memory"}, e->loc);
  }
}

Value Interp::eval_call(const CallExpr& c, Env& env) {
  Value fn = eval(c.fn, env);
  CallArgs args;
  for (const Arg& a : c.args) {
    if (a.star == 1) {
      for (Value& v : iterate(eval(a.value, env))) args.pos.push_back(std::move(v));
    } else if (a.star == 2) {
      Value d = eval(a.value, env);
      if (!d.is(Type::Dict)) raise("TypeError", std::string("argument after ** must be a dict, not ") + type_name(d));
      for (auto& [k, v] : d.as<DictObj>().entries) {
        if (!k.is(Type::Str)) raise("TypeError", "keywords must be strings");
        args.kw.emplace_back(k.as<StrObj>().s, v);
      }
    } else if (!a.keyword.empty()) {
      for (auto& [k, v] : args.kw)
        if (k == a.keyword) raise("SyntaxError", "keyword argument repeated: " + a.keyword);
      args.kw.emplace_back(a.keyword, eval(a.value, env));
    } else
      args.pos.push_back(eval(a.value, env));
  }
  call_loc = c.loc;
  return call(fn, args);
}

void Interp::comp_clauses(const CompExpr& c, size_t i, Env& env, const std::function<void()>& emit) {
  if (i == c.clauses.size()) return emit();
  const CompClause& cl = c.clauses[i];
  if (!cl.target) {
    if (truthy(*this, eval(cl.expr, env))) comp_clauses(c, i + 1, env, emit);
    return;
  }
  for (Value& v : iterate(eval(cl.expr, env))) {
    assign(cl.target, std::move(v), env);
    comp_clauses(c, i + 1, env, emit);
  }
}

Value Interp::eval_comp(const CompExpr& c, Env& env) {
  EnvRef scope(new Env());
  scope->parent = &env;
  scope->globals = env.globals;
  if (c.is_dict) {
    auto* d = new DictObj();
    Value out{ObjRef(d)};
    comp_clauses(c, 0, *scope, [&] {
      Value k = eval(c.key, *scope);
      d->set(k, eval(c.elt, *scope));
    });
    return out;
  }
  std::vector<Value> items;
  comp_clauses(c, 0, *scope, [&] { items.push_back(eval(c.elt, *scope)); });
  return make_list(std::move(items));
}

Value Interp::eval_fstring(const FStringExpr& f, Env& env) {
  std::string out;
  for (const FStringPart& p : f.parts) {
    if (!p.expr) {
      out += p.literal;
      continue;
    }
    Value v = eval(p.expr, env);
    out += p.debug_text;
    if (p.conversion == 'r')
      out += format_value(*this, make_str(repr(v)), p.spec);
    else if (p.conversion == 's')
      out += format_value(*this, make_str(str(v)), p.spec);
    else
      out += format_value(*this, v, p.spec);
  }
  return make_str(std::move(out));
}

void Interp::assign(const Expr* target, Value v, Env& env) {
  switch (target->kind) {
  case ExprKind::Name: {
    const std::string& id = as<NameExpr>(target).id;
    Env* scope = &env;
    if (std::find(env.global_names.begin(), env.global_names.end(), id) != env.global_names.end()) scope = env.globals;
    scope->vars.set(id, std::move(v));
    return;
  }
  case ExprKind::Attr: {
    Value obj = eval(as<AttrExpr>(target).obj, env);
    return setattr(obj, as<AttrExpr>(target).attr, std::move(v));
  }
  case ExprKind::Index: {
    Value obj = eval(as<IndexExpr>(target).obj, env);
    Value index = eval(as<IndexExpr>(target).index, env);
    return setitem(obj, index, std::move(v));
  }
  case ExprKind::Tuple:
  case ExprKind::List: {
    const auto& elts = as<SeqExpr>(target).elts;
    std::vector<Value> items = iterate(v);
    size_t star = elts.size();
    for (size_t i = 0; i < elts.size(); i++)
      if (elts[i]->kind == ExprKind::Starred) star = i;
    if (star == elts.size()) {
      if (items.size() > elts.size())
        raise("ValueError", fmt::format("too many values to unpack (expected {})", elts.size()));
      if (items.size() < elts.size())
        raise("ValueError",
              fmt::format("not enough values to unpack (expected {}, got {})", elts.size(), items.size()));
      for (size_t i = 0; i < elts.size(); i++) assign(elts[i], std::move(items[i]), env);
      return;
    }
    size_t after = elts.size() - star - 1;
    if (items.size() < elts.size() - 1)
      raise("ValueError",
            fmt::format("not enough values to unpack (expected at least {}, got {})", elts.size() - 1, items.size()));
    for (size_t i = 0; i < star; i++) assign(elts[i], items[i], env);
    std::vector<Value> middle(items.begin() + long(star), items.end() - long(after));
    assign(as<StarredExpr>(elts[star]).value, make_list(std::move(middle)), env);
    for (size_t i = 0; i < after; i++) assign(elts[star + 1 + i], items[items.size() - after + i], env);
    return;
  }
  default: raise("SyntaxError", "cannot assign to this expression");
  }
}

} // namespace patgrad::script
