// Reverse-mode autograd: the derivative of each op is a rule of patterns/gradient.pat (the `grad` pass), applied to
// GRAD(node, g) from the loss back to the inputs; gradients that meet at a node add up.
#pragma once
#include "frontend/tensor.h"

namespace patgrad {

// d(loss)/d(target) for each target, as lazy tensors (zeros where loss does not depend on a target). loss must have
// one element unless seed (loss's shape) gives d(something)/d(loss). Float tensors only carry gradients.
std::vector<Tensor> gradients(const Tensor& loss, const std::vector<Tensor>& targets, const Tensor* seed = nullptr);

} // namespace patgrad
