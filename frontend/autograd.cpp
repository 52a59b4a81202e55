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
    auto r = rewriter::rewrite_node(UOp::make(Op::GRAD, DType::void_, {n, g->second}), *pass);
    if (!r) throw TensorError(llvm::toString(r.takeError()));
    if (!*r || (**r)->op != Op::TUPLE || (**r)->src.size() != n->src.size())
      throw TensorError(fmt::format("gradients: no gradient rule for {}", uops::op_info(n->op).name));
    for (size_t i = 0; i < n->src.size(); i++) {
      const UOp& s = n->src[i];
      const UOp& d = (**r)->src[i];
      if (d->op == Op::NOGRAD || !needed.count(s.get())) continue;
      auto [slot, fresh] = grads.try_emplace(s.get(), d);
      if (!fresh) slot->second = UOp::alu(Op::ADD, {slot->second, d});
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
