#include "frontend/autograd.h"
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

  std::vector<UOp> order = uops::toposort({loss.uop});
  // only nodes with a target among their inputs need a gradient
  llvm::DenseSet<const Node*> wanted, needed;
  for (const Tensor& t : targets) wanted.insert(t.uop.get());
  for (const UOp& n : order) {
    bool need = wanted.count(n.get());
    for (const UOp& s : n->src) need |= needed.count(s.get()) > 0;
    if (need) needed.insert(n.get());
  }
  llvm::DenseMap<const Node*, UOp> grads;
  grads[loss.uop.get()] = seed ? seed->uop : Tensor::full(loss.shape(), 1, loss.dtype()).uop;
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
    auto g = grads.find(t.uop.get());
    out.push_back(g == grads.end() ? Tensor::zeros(t.shape(), t.dtype()).to(t.device()) : Tensor(g->second, t.device()));
  }
  return out;
}

} // namespace patgrad
