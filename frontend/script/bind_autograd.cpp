// Autograd on script tensors: the attributes grad and requires_grad, and the methods backward, requires_grad_,
// detach, assign and realize.
#include "frontend/script/bind_train.h"

namespace patgrad::script {

std::optional<Value> training_tensor_attr(Interp&, const Value& self, llvm::StringRef name) {
  const Tensor& t = self.as<TensorObj>().t;
  if (name == "grad") {
    std::optional<Tensor> g = t.grad();
    return g ? wrap(*g) : Value();
  }
  if (name == "requires_grad") return Value::boolean(t.requires_grad());
  static const std::pair<const char*, BuiltinFn> methods[] = {
      {"backward",
       [](Interp& in, const Value& self, CallArgs& args) {
         Bound b = bind("backward", args, {"gradient="});
         Tensor t = self.as<TensorObj>().t;
         t.backward(b.has(0) && !b[0].is_none() ? std::optional<Tensor>(tensor_arg(in, b[0], "gradient"))
                                                : std::nullopt);
         return Value();
       }},
      {"requires_grad_",
       [](Interp& in, const Value& self, CallArgs& args) {
         Bound b = bind("requires_grad_", args, {"requires_grad="});
         Tensor t = self.as<TensorObj>().t;
         t.requires_grad_(bool_or(in, b, 0, true));
         return self;
       }},
      {"detach",
       [](Interp&, const Value& self, CallArgs& args) {
         bind("detach", args, {});
         return wrap(self.as<TensorObj>().t.detach());
       }},
      {"assign",
       [](Interp& in, const Value& self, CallArgs& args) {
         Bound b = bind("assign", args, {"value"});
         Tensor t = self.as<TensorObj>().t;
         t.assign(to_tensor(in, b[0], &t, "value"));
         return self;
       }},
      {"realize",
       [](Interp&, const Value& self, CallArgs& args) {
         bind("realize", args, {});
         Tensor t = self.as<TensorObj>().t;
         t.realize();
         return self;
       }},
  };
  for (auto& [n, fn] : methods)
    if (name == n) return builtin(n, fn, self);
  return std::nullopt;
}

} // namespace patgrad::script
