// Reverse-mode autograd: the derivative of each op is a rule of patterns/gradient.pat (the `grad` pass), applied to
// GRAD(node, g) from the loss back to the inputs; gradients that meet at a node add up.
#pragma once
#include "frontend/tensor.h"

namespace patgrad {

// d(loss)/d(target) for each target, as lazy tensors (zeros where loss does not depend on a target). loss must have
// one element unless seed (loss's shape) gives d(something)/d(loss). Float tensors only carry gradients.
std::vector<Tensor> gradients(const Tensor& loss, const std::vector<Tensor>& targets, const Tensor* seed = nullptr);

// A function whose inputs' gradients come from C++ rather than from its value's graph: conv2d's input gradient is a
// transposed convolution, where the derivative of its window view would sum overlapping windows through a buffer
// kh * kw times the input's size. A Backward gets the function's parameters, its inputs and g = d(loss)/d(value), and
// returns one gradient per input (nullopt where none flows).
using Backward = std::vector<std::optional<Tensor>> (*)(llvm::ArrayRef<int64_t> params, llvm::ArrayRef<Tensor> inputs,
                                                        const Tensor& g);
int64_t register_function(std::string name, Backward backward); // the function's number; once per name
// value, computed from inputs, as a FUNCTION node: autograd asks the function for the inputs' gradients instead of
// differentiating value. Without gradients (Tensor::NoGrad, or no float input) it is value itself.
Tensor function(int64_t fn, llvm::ArrayRef<int64_t> params, const Tensor& value, llvm::ArrayRef<Tensor> inputs);

} // namespace patgrad
