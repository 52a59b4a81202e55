// What the Tensor bindings share: conversions between script values and tensors, shapes, axes and dtypes.
#pragma once
#include "frontend/script/interp.h"

namespace patgrad::script {

DType to_dtype(const Value& v, const char* what);
std::optional<DType> dtype_from_name(std::string_view name); // float32, int64, bool, f32, ...
std::string dtype_name(DType d);                             // float32, int64, bool
// A shape given as separate ints (randn(2, 3)) or one tuple or list (randn((2, 3)))
Shape to_shape(Interp& in, const std::vector<Value>& args, const char* what);
Shape to_axes(Interp& in, const Value& v, const char* what); // None: every axis; an int; a tuple
// A Python scalar meeting a tensor takes its dtype, unless a float meets an integer tensor (f32) or an int a bool one
Tensor scalar_like(const Tensor& t, const Value& v);
Tensor to_tensor(Interp& in, const Value& v, const Tensor* like, const char* what);
// t ** a Python number: an int keeps an integer tensor's dtype, a float (even 2.0) makes it float, as in PyTorch
Tensor pow_scalar(const Tensor& t, const Value& exponent);
Tensor tensor_from_data(Interp& in, const Value& data, std::optional<DType> dtype);
Value tensor_tolist(const Tensor& t);
std::string shape_str(const Shape& s);
Value patgrad_module(Interp& in);
// bind_autograd.cpp: the autograd attributes of tensors (grad, requires_grad, backward, ...), or null
std::optional<Value> training_tensor_attr(Interp& in, const Value& self, llvm::StringRef name);

} // namespace patgrad::script
