// Reverse-mode autograd over tensor graphs, and the Tensor API on top of it: leaves that require grad are found by
// their nodes in the loss's graph (a registry of live leaves), their gradients accumulate in .grad().
#include "frontend/autograd.h"
#include "frontend/tensor_internal.h"
#include "rewriter/rewriter.h"
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/DenseSet.h>

namespace patgrad {

using uops::Node;
using uops::Op;
using uops::UOp;

namespace {

struct Function {
  std::string name;
  Backward backward;
};

std::vector<Function>& functions() {
  static std::vector<Function> table; // only appended to: FUNCTION nodes keep indices into it
  return table;
}

// The gradients of a FUNCTION's sources: none for its value, its function's for the inputs.
std::vector<UOp> function_gradients(const UOp& n, const UOp& g, const runtime::Target* dev) {
  const uops::Ints& arg = std::get<uops::Ints>(n->arg);
  const Function& f = functions().at(size_t(arg[0]));
  std::vector<Tensor> inputs;
  for (const UOp& s : llvm::ArrayRef(n->src).drop_front()) inputs.push_back(Tensor(s, dev));
  std::vector<std::optional<Tensor>> d = f.backward(llvm::ArrayRef(arg).drop_front(), inputs, Tensor(g, dev));
  if (d.size() != inputs.size())
    throw TensorError(fmt::format("gradients: {} gave {} gradients for {} inputs", f.name, d.size(), inputs.size()));
  std::vector<UOp> out{UOp::make(Op::NOGRAD, DType::void_, {})};
  for (size_t i = 0; i < d.size(); i++) {
    if (d[i] && (d[i]->shape() != inputs[i].shape() || d[i]->dtype() != inputs[i].dtype()))
      throw TensorError(fmt::format("gradients: {}'s gradient of input {} is {} {}, not {} {}", f.name, i,
                                    detail::shape_str(d[i]->shape()), uops::name(d[i]->dtype()),
                                    detail::shape_str(inputs[i].shape()), uops::name(inputs[i].dtype())));
    out.push_back(d[i] ? d[i]->uop() : out[0]);
  }
  return out;
}

} // namespace

int64_t register_function(std::string name, Backward backward) {
  for (size_t i = 0; i < functions().size(); i++)
    if (functions()[i].name == name) return int64_t(i);
  functions().push_back({std::move(name), backward});
  return int64_t(functions().size() - 1);
}

Tensor function(int64_t fn, llvm::ArrayRef<int64_t> params, const Tensor& value, llvm::ArrayRef<Tensor> inputs) {
  if (!detail::grad_enabled() || llvm::none_of(inputs, [](const Tensor& t) { return uops::is_float(t.dtype()); }))
    return value;
  std::vector<UOp> src{value.uop()};
  for (const Tensor& t : inputs) src.push_back(t.uop());
  uops::Ints arg{fn};
  arg.insert(arg.end(), params.begin(), params.end());
  return Tensor::make(Op::FUNCTION, value.dtype(), src, std::move(arg), value.device(),
                      functions().at(size_t(fn)).name.c_str());
}

std::vector<Tensor> gradients(const Tensor& loss, const std::vector<Tensor>& targets, const Tensor* seed) {
  if (!seed && loss.numel() != 1)
    throw TensorError(fmt::format("gradients: loss has {} elements; a non-scalar needs a seed", loss.numel()));
  if (seed && seed->shape() != loss.shape()) throw TensorError("gradients: the seed's shape differs from the loss's");
  if (!uops::is_float(loss.dtype())) throw TensorError("gradients: loss is not a float tensor");
  const rewriter::Pass* pass = rewriter::builtin_library().pass("grad");
  if (!pass) throw TensorError("gradients: the pattern library has no `grad` pass");

  std::vector<UOp> order = uops::toposort({loss.uop()});
  // only nodes with a target among their inputs need a gradient
  llvm::DenseSet<const Node*> wanted, needed;
  for (const Tensor& t : targets) wanted.insert(t.uop().get());
  for (const UOp& n : order) {
    bool need = wanted.count(n.get());
    for (const UOp& s : n->src) need |= needed.count(s.get()) > 0;
    if (need) needed.insert(n.get());
  }
  llvm::DenseMap<const Node*, UOp> grads;
  grads[loss.uop().get()] = seed ? seed->uop() : Tensor::full(loss.shape(), 1, loss.dtype()).uop();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const UOp& n = *it;
    auto g = grads.find(n.get());
    if (g == grads.end() || n->src.empty() || !uops::is_float(n->dtype)) continue;
    bool any = false;
    for (const UOp& s : n->src) any |= needed.count(s.get()) > 0;
    if (!any) continue;
    std::vector<UOp> d;
    if (n->op == Op::FUNCTION)
      d = function_gradients(n, g->second, loss.device());
    else {
      auto r = rewriter::rewrite_node(UOp::make(Op::GRAD, DType::void_, {n, g->second}), *pass);
      if (!r) throw TensorError(llvm::toString(r.takeError()));
      if (!*r || (**r)->op != Op::TUPLE || (**r)->src.size() != n->src.size())
        throw TensorError(fmt::format("gradients: no gradient rule for {}", uops::op_info(n->op).name));
      d.assign((**r)->src.begin(), (**r)->src.end());
    }
    for (size_t i = 0; i < n->src.size(); i++) {
      const UOp& s = n->src[i];
      if (d[i]->op == Op::NOGRAD || !needed.count(s.get())) continue;
      auto [slot, fresh] = grads.try_emplace(s.get(), d[i]);
      if (!fresh) slot->second = UOp::alu(Op::ADD, {slot->second, d[i]});
    }
  }
  std::vector<Tensor> out;
  for (const Tensor& t : targets) {
    auto g = grads.find(t.uop().get());
    out.push_back(g == grads.end() ? Tensor::zeros(t.shape(), t.dtype()).to(t.device())
                                   : Tensor(g->second, t.device()));
  }
  return out;
}

namespace {

thread_local int no_grad_depth = 0;

// Live leaves that require grad. Raw pointers: a leaf leaves the set in its destructor.
llvm::DenseSet<detail::TensorImpl*>& leaves() {
  static llvm::DenseSet<detail::TensorImpl*> set;
  return set;
}

} // namespace

bool detail::grad_enabled() { return no_grad_depth == 0; }
Tensor::NoGrad::NoGrad() { no_grad_depth++; }
Tensor::NoGrad::~NoGrad() { no_grad_depth--; }

detail::TensorImpl::~TensorImpl() {
  if (requires_grad) leaves().erase(this);
}

Tensor& Tensor::requires_grad_(bool on) {
  if (on && !uops::is_float(dtype()))
    throw TensorError(
        fmt::format("requires_grad_: only float tensors carry gradients, this one is {}", uops::name(dtype())));
  if (on) realize();
  impl_->requires_grad = on;
  if (on)
    leaves().insert(impl_.get());
  else
    leaves().erase(impl_.get());
  return *this;
}

bool Tensor::requires_grad() const {
  if (impl_->requires_grad) return true;
  if (leaves().empty()) return false;
  llvm::DenseSet<const Node*> nodes; // a DETACH hides its sources
  for (const UOp& n : uops::toposort({uop()}, [](const Node* n) { return n->op == Op::DETACH; })) nodes.insert(n.get());
  for (detail::TensorImpl* l : leaves())
    if (nodes.count(l->uop.get())) return true;
  return false;
}

std::optional<Tensor> Tensor::grad() const {
  if (!impl_->grad) return std::nullopt;
  return Tensor(impl_->grad);
}

void Tensor::set_grad(std::optional<Tensor> g) {
  if (g && g->shape() != shape())
    throw TensorError(fmt::format("set_grad: the gradient {} does not match the tensor {}",
                                  detail::shape_str(g->shape()), detail::shape_str(shape())));
  impl_->grad = g ? g->impl_ : nullptr;
}

Tensor Tensor::detach() const { return Tensor(UOp::make(Op::DETACH, dtype(), {uop()}), device()); }

void Tensor::backward(const std::optional<Tensor>& seed) {
  if (!seed && numel() != 1)
    throw TensorError(fmt::format("backward: the tensor {} has {} elements; backward() of a non-scalar needs a seed "
                                  "(the gradient of something with respect to it, of its shape)",
                                  detail::shape_str(shape()), numel()));
  llvm::DenseSet<const Node*> nodes;
  for (const UOp& n : uops::toposort({uop()}, [](const Node* n) { return n->op == Op::DETACH; })) nodes.insert(n.get());
  std::vector<Tensor> targets;
  for (detail::TensorImpl* l : leaves())
    if (nodes.count(l->uop.get())) targets.push_back(Tensor(l->shared_from_this()));
  if (targets.empty())
    throw TensorError("backward: the tensor does not depend on any tensor that requires grad (call requires_grad_() "
                      "on the parameters first)");
  std::vector<Tensor> g = gradients(*this, targets, seed ? &*seed : nullptr);
  for (size_t i = 0; i < targets.size(); i++) {
    std::optional<Tensor> old = targets[i].grad();
    targets[i].impl_->grad = (old ? *old + g[i] : g[i]).impl_;
  }
}

} // namespace patgrad
