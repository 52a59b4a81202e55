// patgrad.jit for scripts: `step = patgrad.jit(fn)` or `@patgrad.jit` above a def wraps fn in a Jit (frontend/jit.h),
// whose calls run fn until its step is captured, then replay it. The tensors among the arguments (positional, then
// keyword) are what a replay takes anew; every other argument is part of what was captured, so a replayed call whose
// other arguments differ (by repr) is a ValueError. fn returns a Tensor, a tuple or list of them, or None, and so does
// every call. reset() forgets the capture.
#include "frontend/jit.h"
#include "frontend/script/bind_train.h"

namespace patgrad::script {
namespace {

struct JitObj : InstanceObj {
  Value fn;
  std::unique_ptr<Jit> jit;
  CallArgs call; // the call being run, for the function Jit calls
  // what the captured call's other arguments were, and what it returned
  std::vector<std::string> fixed;
  enum class Returns { none, tensor, tuple, list } returns = Returns::none;
  JitObj(llvm::IntrusiveRefCntPtr<ClassObj> c) : InstanceObj(std::move(c)) {}
};

// The tensors among a call's arguments, and the reprs of the rest (with their keywords).
std::pair<std::vector<Tensor>, std::vector<std::string>> split_args(Interp& in, const CallArgs& args) {
  std::pair<std::vector<Tensor>, std::vector<std::string>> out;
  auto add = [&](const std::string& key, const Value& v) {
    if (v.is(Type::Tensor))
      out.first.push_back(v.as<TensorObj>().t);
    else
      out.second.push_back(key + in.repr(v));
  };
  for (const Value& v : args.pos) add("", v);
  for (const auto& [k, v] : args.kw) add(k + "=", v);
  return out;
}

Value jit_call(Interp& in, const Value&, CallArgs& args) {
  if (args.pos.empty()) raise("TypeError", "jit.__call__() missing self");
  JitObj& j = native<JitObj>(args.pos[0], "jit");
  CallArgs call;
  call.pos.assign(args.pos.begin() + 1, args.pos.end());
  call.kw = args.kw;
  auto [tensors, fixed] = split_args(in, call);
  if (j.jit->captured() && fixed != j.fixed) {
    std::string was, now;
    for (const std::string& s : j.fixed) was += (was.empty() ? "" : ", ") + s;
    for (const std::string& s : fixed) now += (now.empty() ? "" : ", ") + s;
    raise("ValueError", fmt::format("jit: the arguments that are not tensors were ({}) when the step was captured, "
                                    "now ({}): they are part of the capture",
                                    was, now));
  }
  j.call = std::move(call);
  std::vector<Tensor> results = (*j.jit)(tensors);
  j.fixed = std::move(fixed);
  switch (j.returns) {
  case JitObj::Returns::none: return Value();
  case JitObj::Returns::tensor: return wrap(results.at(0));
  case JitObj::Returns::tuple:
  case JitObj::Returns::list: {
    std::vector<Value> items;
    for (Tensor& t : results) items.push_back(wrap(std::move(t)));
    return j.returns == JitObj::Returns::tuple ? make_tuple(std::move(items)) : make_list(std::move(items));
  }
  }
  return Value();
}

Value jit_reset(Interp&, const Value&, CallArgs& args) {
  Bound b = bind("reset", args, {"self"});
  native<JitObj>(b[0], "jit").jit->reset();
  return Value();
}

Value make_jit(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("jit", args, {"fn"});
  auto* j = new JitObj(class_named("jit", {{"__call__", jit_call}, {"reset", jit_reset}}));
  Value v{ObjRef(j)};
  j->fn = b[0];
  // The function Jit runs before the capture: the script's, on the arguments of the call being made (the tensors
  // Jit passes are those of that call).
  j->jit = std::make_unique<Jit>([&in, j](const std::vector<Tensor>&) {
    Value r = in.call(j->fn, j->call);
    std::vector<Tensor> out;
    if (r.is_none()) {
      j->returns = JitObj::Returns::none;
    } else if (r.is(Type::Tensor)) {
      j->returns = JitObj::Returns::tensor;
      out.push_back(r.as<TensorObj>().t);
    } else if (r.is(Type::Tuple) || r.is(Type::List)) {
      j->returns = r.is(Type::Tuple) ? JitObj::Returns::tuple : JitObj::Returns::list;
      for (const Value& x : in.iterate(r)) {
        if (!x.is(Type::Tensor))
          raise("TypeError", fmt::format("a jit function returns tensors, a tuple or list of them, or None; its {} "
                                         "holds a {}",
                                         type_name(r), type_name(x)));
        out.push_back(x.as<TensorObj>().t);
      }
    } else {
      raise("TypeError",
            fmt::format("a jit function returns tensors, a tuple or list of them, or None, not {}", type_name(r)));
    }
    return out;
  });
  return v;
}

} // namespace

void add_jit_function(Env& patgrad) { patgrad.vars.set("jit", builtin("jit", make_jit)); }

} // namespace patgrad::script
