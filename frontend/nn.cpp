// nn::Module: the registry of named parameters, buffers and children, state dicts, and Sequential.
#include "frontend/nn.h"
#include "frontend/tensor_internal.h"
#include <fmt/format.h>
#include <llvm/ADT/StringMap.h>

namespace patgrad::nn {

using detail::shape_str;

void Module::check_name(const std::string& name) const {
  if (name.empty() || name.find('.') != std::string::npos)
    throw TensorError(fmt::format("Module: '{}' is not a name (non-empty, without '.')", name));
  auto taken = [&](const auto& list) {
    for (const auto& [n, _] : list)
      if (n == name) return true;
    return false;
  };
  if (taken(params_) || taken(buffers_) || taken(children_))
    throw TensorError(fmt::format("Module: '{}' is registered twice", name));
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  check_name(name);
  if (!uops::is_float(t.dtype()))
    throw TensorError(fmt::format("Module: parameter '{}' is {}; parameters are floats", name, uops::name(t.dtype())));
  t.requires_grad_();
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_name(name);
  t.realize();
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, Module* m) {
  check_name(name);
  if (m == this) throw TensorError(fmt::format("Module: '{}' cannot be its own child", name));
  children_.emplace_back(name, m);
}

void Module::collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const {
  if (params)
    for (const auto& [n, t] : params_) out.emplace_back(prefix + n, t);
  if (buffers)
    for (const auto& [n, t] : buffers_) out.emplace_back(prefix + n, t);
  for (const auto& [n, m] : children_) m->collect(prefix + n + ".", params, buffers, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, true, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [_, t] : named_parameters()) out.push_back(t);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [_, m] : children_) m->train(on);
}

NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect("", true, true, out);
  return out;
}

void Module::load_state_dict(const NamedTensors& state, bool strict) {
  llvm::StringMap<Tensor> given;
  for (const auto& [n, t] : state)
    if (!given.try_emplace(n, t).second) throw TensorError(fmt::format("load_state_dict: '{}' appears twice", n));
  NamedTensors mine = state_dict();
  llvm::StringMap<bool> known;
  std::vector<std::string> errors, missing, unexpected;
  std::vector<std::pair<Tensor, Tensor>> moves; // (target, value)
  for (const auto& [n, t] : mine) {
    known[n] = true;
    auto it = given.find(n);
    if (it == given.end()) {
      missing.push_back(n);
      continue;
    }
    const Tensor& v = it->second;
    if (v.shape() != t.shape())
      errors.push_back(fmt::format("'{}' has shape {} in the state but {} in the module", n, shape_str(v.shape()),
                                   shape_str(t.shape())));
    else if (v.dtype() != t.dtype())
      errors.push_back(
          fmt::format("'{}' is {} in the state but {} in the module", n, uops::name(v.dtype()), uops::name(t.dtype())));
    else
      moves.emplace_back(t, v);
  }
  for (const auto& [n, _] : state)
    if (!known.count(n)) unexpected.push_back(n);
  if (strict && !missing.empty()) errors.push_back(fmt::format("missing keys: {}", fmt::join(missing, ", ")));
  if (strict && !unexpected.empty()) errors.push_back(fmt::format("unexpected keys: {}", fmt::join(unexpected, ", ")));
  if (!errors.empty()) throw TensorError(fmt::format("load_state_dict: {}", fmt::join(errors, "; ")));
  std::vector<Tensor> targets;
  for (auto& [target, value] : moves) {
    target.assign(value.to(target.device()).detach());
    targets.push_back(target);
  }
  Tensor::realize_all(targets);
}

std::vector<Tensor> get_parameters(const Module& m) { return m.parameters(); }

Tensor Sequential::forward(const Tensor& x) const {
  Tensor y = x;
  for (const auto& step : steps_) y = step(y);
  return y;
}

} // namespace patgrad::nn
