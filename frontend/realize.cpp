// Realization: tensors to buffers through the scheduler and a target. Nodes realized on the way remember their
// buffers while they live (the node is "watched": its release drops the entry), so that realizing a graph that shares
// them (loss.item() after an optimizer step that computed the forward pass) loads them instead of computing again.
#include "frontend/jit.h"
#include "frontend/tensor_internal.h"
#include "lowering/lowering.h"
#include "runtime/profile.h"
#include <chrono>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/MapVector.h>

namespace patgrad {

using uops::Node;
using uops::Op;
using uops::UOp;

namespace {

// node -> the BUFFER holding its value. Never destroyed: its entries release buffers, which must not happen after
// the runtime's buffer table is gone at exit.
llvm::DenseMap<const Node*, UOp>& remembered() {
  static auto* table = [] {
    uops::set_watch_release_hook([](const Node* n) { remembered().erase(n); });
    return new llvm::DenseMap<const Node*, UOp>();
  }();
  return *table;
}

std::vector<std::weak_ptr<detail::TensorImpl>>& pending() {
  static std::vector<std::weak_ptr<detail::TensorImpl>> assigned;
  return assigned;
}

runtime::RunStats totals;

bool is_buffer_view(const UOp& u) {
  return u->op == Op::BUFFER || (u->op == Op::RESHAPE && u->src[0]->op == Op::BUFFER);
}

} // namespace

void Tensor::realize_group(const runtime::Target* dev, llvm::ArrayRef<std::shared_ptr<detail::TensorImpl>> impls) {
  std::vector<UOp> roots;
  for (const auto& i : impls) roots.push_back(i->uop);
  auto known = [](const Node* n) {
    auto it = remembered().find(n);
    return it == remembered().end() ? UOp() : it->second;
  };
  auto start = std::chrono::steady_clock::now();
  auto new_buffer = [](DType dtype, int64_t size) {
    return detail::new_buffer(dtype, size, runtime::Fill::any, "realize"); // each kernel writes all of its output
  };
  lowering::Schedule s = lowering::schedule(roots, new_buffer, known);
  auto scheduled = std::chrono::steady_clock::now();
  totals.schedule_ms += std::chrono::duration<double, std::milli>(scheduled - start).count();
  runtime::profile_span("schedule", fmt::format("{} kernels", s.kernels.size()), start, scheduled);
  if (auto e = runtime::run(s, *dev, &totals)) throw TensorError(llvm::toString(std::move(e)));
  // A kernel without inputs computes a constant (zeros, arange): its node lives on in the kernel cache's AST, so
  // remembering it would hand its buffer to every later tensor of that constant (a parameter's zeros to a running
  // mean), and hold the buffer as long as the cache does. Recomputing it costs what loading it would.
  for (const lowering::Kernel& k : s.kernels) {
    if (k.buffers.size() == 1) continue;
    k.node->watched = true;
    remembered()[k.node.get()] = k.buffers[0];
  }
  // A result that gradients can still flow through keeps its graph (the buffer is remembered for its node); the
  // rest become their buffers, which drops the graphs behind them (an optimizer's chain of updates).
  for (size_t i = 0; i < impls.size(); i++) {
    if (!impls[i]->requires_grad && Tensor(impls[i]).requires_grad()) continue;
    const UOp& buf = s.outputs[i];
    impls[i]->uop =
        UOp::make(Op::RESHAPE, buf->dtype, {buf}, uops::Ints(impls[i]->shape.begin(), impls[i]->shape.end()));
  }
}

void Tensor::realize_all(const std::vector<Tensor>& tensors) {
  std::vector<std::shared_ptr<detail::TensorImpl>> todo;
  for (const Tensor& t : tensors) todo.push_back(t.impl_);
  for (const auto& w : pending())
    if (auto p = w.lock()) todo.push_back(p);
  pending().clear();
  llvm::MapVector<const runtime::Target*, std::vector<std::shared_ptr<detail::TensorImpl>>> by_device;
  for (auto& i : todo)
    if (!is_buffer_view(i->uop)) {
      auto& group = by_device[i->device];
      if (std::find(group.begin(), group.end(), i) == group.end()) group.push_back(i);
    }
  for (auto& [dev, impls] : by_device) realize_group(dev, impls);
}

const runtime::RunStats& Tensor::run_stats() { return totals; }

runtime::RunStats& detail::run_totals() { return totals; }

Tensor& Tensor::realize() {
  realize_all({*this});
  return *this;
}

UOp Tensor::buffer() const {
  Tensor t = *this;
  t.realize();
  if (t.uop()->op == Op::BUFFER) return t.uop();
  if (is_buffer_view(t.uop())) return t.uop()->src[0];
  return remembered().at(t.uop().get());
}

Tensor& Tensor::assign(const Tensor& value) {
  if (value.shape() != shape() || value.dtype() != dtype())
    throw TensorError(fmt::format("assign: the value {} {} does not match the tensor {} {}",
                                  detail::shape_str(value.shape()), uops::name(value.dtype()),
                                  detail::shape_str(shape()), uops::name(dtype())));
  if (value.is(*this)) return *this;
  detail::note_assign(*impl_);
  impl_->uop = value.uop();
  if (!is_buffer_view(impl_->uop)) pending().push_back(impl_);
  return *this;
}

} // namespace patgrad
