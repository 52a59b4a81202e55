// optim for scripts: SGD, Adam, AdamW and the learning-rate schedules, as native objects. An optimizer's lr
// attribute is its learning rate: a script may set it, a schedule's step updates it.
#include "frontend/optim.h"
#include "frontend/script/bind_train.h"

namespace patgrad::script {
namespace {

struct OptimObj : InstanceObj {
  std::shared_ptr<optim::Optimizer> opt;
  OptimObj(llvm::IntrusiveRefCntPtr<ClassObj> c) : InstanceObj(std::move(c)) {}
  // Setting lr sets the learning rate at once (a captured step replayed next reads it from its buffer).
  void attribute_set(llvm::StringRef name, const Value& v) override {
    if (name != "lr") return;
    if (!v.is_number()) raise("TypeError", fmt::format("an optimizer's lr is a number, not {}", type_name(v)));
    try {
      opt->set_lr(v.as_float());
    } catch (const TensorError& e) {
      raise("ValueError", e.what());
    }
  }
};
struct SchedObj : InstanceObj {
  std::unique_ptr<optim::LRScheduler> sched;
  Value opt;
  SchedObj(llvm::IntrusiveRefCntPtr<ClassObj> c) : InstanceObj(std::move(c)) {}
};

OptimObj& optim_of(const Value& self) { return native<OptimObj>(self, "optimizer"); }

std::vector<Tensor> params_arg(Interp& in, const Value& v) {
  std::vector<Tensor> ps;
  for (const Value& x : in.iterate(v)) ps.push_back(tensor_arg(in, x, "params item"));
  if (ps.empty()) raise("ValueError", "optimizer got an empty parameter list");
  return ps;
}

Value optim_zero_grad(Interp&, const Value&, CallArgs& args) {
  Bound b = bind("zero_grad", args, {"self"});
  optim_of(b[0]).opt->zero_grad();
  return Value();
}

Value optim_step(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("step", args, {"self"});
  optim_of(b[0]).opt->step();
  return Value();
}

Value make_optim(const char* kind, std::shared_ptr<optim::Optimizer> opt) {
  auto* o = new OptimObj(class_named(kind, {{"zero_grad", optim_zero_grad}, {"step", optim_step}}));
  Value v{ObjRef(o)};
  o->opt = std::move(opt);
  o->attrs.set("lr", Value::real(o->opt->lr()));
  return v;
}

Value sgd(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("SGD", args, {"params", "lr=", "momentum=", "dampening=", "weight_decay=", "nesterov="});
  optim::SGDOptions o{.momentum = float_or(b, 2, 0, "momentum"),
                      .dampening = float_or(b, 3, 0, "dampening"),
                      .weight_decay = float_or(b, 4, 0, "weight_decay"),
                      .nesterov = bool_or(in, b, 5, false)};
  return make_optim("SGD", std::make_shared<optim::SGD>(params_arg(in, b[0]), float_or(b, 1, 1e-3, "lr"), o));
}

template <typename Opt>
Value adam(Interp& in, CallArgs& args, const char* kind) {
  Bound b = bind(kind, args, {"params", "lr=", "betas=", "eps=", "weight_decay=", "amsgrad="});
  optim::AdamOptions o;
  if (b.has(2)) {
    std::vector<Value> betas = in.iterate(b[2]);
    if (betas.size() != 2) raise("ValueError", fmt::format("{}: betas must be two numbers", kind));
    o.beta1 = to_float(betas[0], "betas[0]"), o.beta2 = to_float(betas[1], "betas[1]");
  }
  o.eps = float_or(b, 3, 1e-8, "eps");
  if (b.has(4)) o.weight_decay = to_float(b[4], "weight_decay");
  o.amsgrad = bool_or(in, b, 5, false);
  return make_optim(kind, std::make_shared<Opt>(params_arg(in, b[0]), float_or(b, 1, 1e-3, "lr"), o));
}

OptimObj& optimizer_arg(const Value& v, const char* what) {
  if (!v.is(Type::Instance) || !dynamic_cast<OptimObj*>(&v.as<InstanceObj>()))
    raise("TypeError",
          fmt::format("{}: optimizer must be an optim.SGD, optim.Adam or optim.AdamW, not {}", what, type_name(v)));
  return optim_of(v);
}

Value schedule_step(Interp& in, const Value&, CallArgs& args) {
  Bound b = bind("step", args, {"self"});
  auto& s = native<SchedObj>(b[0], "learning-rate schedule");
  OptimObj& o = optim_of(s.opt);
  s.sched->step();
  o.attrs.set("lr", Value::real(o.opt->lr()));
  return Value();
}

Value make_schedule(const char* kind, const Value& opt, std::unique_ptr<optim::LRScheduler> s) {
  auto* o = new SchedObj(class_named(kind, {{"step", schedule_step}}));
  Value v{ObjRef(o)};
  o->sched = std::move(s);
  o->opt = opt;
  return v;
}

} // namespace

Value optim_module(Interp& in) {
  static const std::pair<const char*, BuiltinFn> optims[] = {
      {"SGD", sgd},
      {"Adam", [](Interp& in, const Value&, CallArgs& a) { return adam<optim::Adam>(in, a, "Adam"); }},
      {"AdamW", [](Interp& in, const Value&, CallArgs& a) { return adam<optim::AdamW>(in, a, "AdamW"); }},
      {"StepLR",
       [](Interp& in, const Value&, CallArgs& args) {
         Bound b = bind("StepLR", args, {"optimizer", "step_size", "gamma="});
         auto& o = optimizer_arg(b[0], "StepLR");
         return make_schedule(
             "StepLR", b[0],
             std::make_unique<optim::StepLR>(*o.opt, to_int(b[1], "step_size"), float_or(b, 2, 0.1, "gamma")));
       }},
      {"CosineAnnealingLR",
       [](Interp& in, const Value&, CallArgs& args) {
         Bound b = bind("CosineAnnealingLR", args, {"optimizer", "T_max", "eta_min="});
         auto& o = optimizer_arg(b[0], "CosineAnnealingLR");
         return make_schedule(
             "CosineAnnealingLR", b[0],
             std::make_unique<optim::CosineAnnealingLR>(*o.opt, to_int(b[1], "T_max"), float_or(b, 2, 0, "eta_min")));
       }},
      {"LinearLR",
       [](Interp& in, const Value&, CallArgs& args) {
         Bound b = bind("LinearLR", args, {"optimizer", "start_factor=", "end_factor=", "total_iters="});
         auto& o = optimizer_arg(b[0], "LinearLR");
         return make_schedule("LinearLR", b[0],
                              std::make_unique<optim::LinearLR>(*o.opt, float_or(b, 1, 1.0 / 3, "start_factor"),
                                                                float_or(b, 2, 1, "end_factor"),
                                                                int_or(b, 3, 5, "total_iters")));
       }},
  };
  return module_with(in, "patgrad.optim", optims);
}

} // namespace patgrad::script
