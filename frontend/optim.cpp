// Optimizers and learning-rate schedules. Values that change from step to step reach the kernels as 0-d buffers,
// so every step after the first runs the same compiled kernels: the learning rate is host data written in place,
// Adam's bias corrections are state updated by the step's kernels.
#include "frontend/optim.h"
#include "frontend/tensor_internal.h"
#include <cmath>
#include <fmt/format.h>
#include <numbers>

namespace patgrad::optim {

Optimizer::Optimizer(std::vector<Tensor> params, double lr)
    : params_(std::move(params)), lr_(lr), lr_data_(Tensor::from_vector(std::vector<double>{lr}, Shape{})) {
  if (params_.empty()) throw TensorError("optimizer: the parameter list is empty");
  for (size_t i = 0; i < params_.size(); i++) {
    if (!uops::is_float(params_[i].dtype()))
      throw TensorError(
          fmt::format("optimizer: parameter {} is {}, not a float tensor", i, uops::name(params_[i].dtype())));
    for (size_t j = 0; j < i; j++)
      if (params_[i].is(params_[j]))
        throw TensorError(fmt::format("optimizer: parameters {} and {} are the same tensor", j, i));
  }
  set_lr(lr);
}

void Optimizer::set_lr(double lr) {
  if (!(lr >= 0)) throw TensorError(fmt::format("optimizer: learning rate {} is not >= 0", lr));
  lr_ = lr;
  *static_cast<double*>(runtime::buffer(lr_data_.buffer()).data) = lr;
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.set_grad(std::nullopt);
}

void Optimizer::step() {
  steps_++;
  std::vector<Tensor> out;
  {
    Tensor::NoGrad no_grad; // an update is not part of any graph that gradients flow through
    begin_step();
    for (size_t i = 0; i < params_.size(); i++) {
      std::optional<Tensor> g = params_[i].grad();
      if (!g) continue;
      DType d = params_[i].dtype();
      update(i, params_[i], *g, d == DType::f64 ? lr_data_ : lr_data_.cast(d));
      out.push_back(*g);
    }
  }
  out.insert(out.end(), params_.begin(), params_.end());
  std::vector<Tensor> s = state();
  out.insert(out.end(), s.begin(), s.end());
  Tensor::realize_all(out);
}

SGD::SGD(std::vector<Tensor> params, double lr, SGDOptions opts)
    : Optimizer(std::move(params), lr), opts_(opts), buf_(this->params().size()) {
  if (opts.momentum < 0 || opts.weight_decay < 0)
    throw TensorError(
        fmt::format("SGD: momentum {} and weight_decay {} must be >= 0", opts.momentum, opts.weight_decay));
  if (opts.nesterov && (opts.momentum <= 0 || opts.dampening != 0))
    throw TensorError("SGD: nesterov needs a momentum and zero dampening");
}

void SGD::update(size_t i, Tensor& p, const Tensor& g, const Tensor& lr) {
  Tensor d = opts_.weight_decay != 0 ? g + p * opts_.weight_decay : g;
  if (opts_.momentum != 0) {
    std::optional<Tensor>& buf = buf_[i];
    // the first step starts the buffer at the gradient (not at zero), as PyTorch's
    if (!buf)
      buf = d.detach();
    else
      buf->assign((*buf * opts_.momentum + d * (1 - opts_.dampening)).cast(p.dtype()));
    d = opts_.nesterov ? d + *buf * opts_.momentum : *buf;
  }
  p.assign((p - d * lr).cast(p.dtype()));
}

std::vector<Tensor> SGD::state() const {
  std::vector<Tensor> out;
  for (const auto& b : buf_)
    if (b) out.push_back(*b);
  return out;
}

Adam::Adam(std::vector<Tensor> params, double lr, AdamOptions opts) : Adam(std::move(params), lr, opts, false) {}

Adam::Adam(std::vector<Tensor> params, double lr, AdamOptions opts, bool decoupled)
    : Optimizer(std::move(params), lr), opts_(opts), decoupled_(decoupled),
      weight_decay_(opts.weight_decay.value_or(decoupled ? 1e-2 : 0)),
      beta1_power_(Tensor::from_vector(std::vector<double>{1}, Shape{})),
      beta2_power_(Tensor::from_vector(std::vector<double>{1}, Shape{})) {
  const char* name = decoupled ? "AdamW" : "Adam";
  if (!(opts.beta1 >= 0 && opts.beta1 < 1 && opts.beta2 >= 0 && opts.beta2 < 1))
    throw TensorError(fmt::format("{}: betas ({}, {}) are not in [0, 1)", name, opts.beta1, opts.beta2));
  if (!(opts.eps >= 0) || !(weight_decay_ >= 0))
    throw TensorError(fmt::format("{}: eps {} and weight_decay {} must be >= 0", name, opts.eps, weight_decay_));
  for (const Tensor& p : this->params()) {
    m_.push_back(Tensor::zeros_like(p).realize());
    v_.push_back(Tensor::zeros_like(p).realize());
    if (opts.amsgrad) vmax_.push_back(Tensor::zeros_like(p).realize());
  }
}

void Adam::begin_step() {
  beta1_power_.assign(beta1_power_ * opts_.beta1);
  beta2_power_.assign(beta2_power_ * opts_.beta2);
}

void Adam::update(size_t i, Tensor& p, const Tensor& g, const Tensor& lr) {
  double b1 = opts_.beta1, b2 = opts_.beta2;
  Tensor param = p;
  Tensor grad = g;
  if (weight_decay_ != 0) {
    if (decoupled_)
      param = param * (1.0 - lr * weight_decay_);
    else
      grad = grad + param * weight_decay_;
  }
  // PyTorch's lerp for m: m + (1 - b1) * (g - m)
  Tensor m = (m_[i] + (grad - m_[i]) * (1 - b1)).cast(p.dtype());
  Tensor v = (v_[i] * b2 + grad * grad * (1 - b2)).cast(p.dtype());
  m_[i].assign(m);
  v_[i].assign(v);
  if (opts_.amsgrad) {
    vmax_[i].assign(vmax_[i].maximum(v));
    v = vmax_[i];
  }
  Tensor step_size = lr / (1 - beta1_power_).cast(p.dtype());
  Tensor denom = v.sqrt() / (1 - beta2_power_).sqrt().cast(p.dtype()) + opts_.eps;
  p.assign((param - step_size * m / denom).cast(p.dtype()));
}

std::vector<Tensor> Adam::state() const {
  std::vector<Tensor> out = m_;
  out.insert(out.end(), v_.begin(), v_.end());
  out.insert(out.end(), vmax_.begin(), vmax_.end());
  out.push_back(beta1_power_);
  out.push_back(beta2_power_);
  return out;
}

AdamW::AdamW(std::vector<Tensor> params, double lr, AdamOptions opts) : Adam(std::move(params), lr, opts, true) {}

LRScheduler::LRScheduler(Optimizer& opt) : opt_(opt), base_lr_(opt.lr()) {}

void LRScheduler::step() { opt_.set_lr(lr_at(++epoch_)); }

StepLR::StepLR(Optimizer& opt, int64_t step_size, double gamma)
    : LRScheduler(opt), step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) throw TensorError(fmt::format("StepLR: step_size {} is not positive", step_size));
}

double StepLR::lr_at(int64_t epoch) const { return base_lr() * std::pow(gamma_, double(epoch / step_size_)); }

CosineAnnealingLR::CosineAnnealingLR(Optimizer& opt, int64_t t_max, double eta_min)
    : LRScheduler(opt), t_max_(t_max), eta_min_(eta_min) {
  if (t_max < 1) throw TensorError(fmt::format("CosineAnnealingLR: T_max {} is not positive", t_max));
}

double CosineAnnealingLR::lr_at(int64_t epoch) const {
  return eta_min_ + (base_lr() - eta_min_) * (1 + std::cos(std::numbers::pi * double(epoch) / double(t_max_))) / 2;
}

LinearLR::LinearLR(Optimizer& opt, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(opt), start_(start_factor), end_(end_factor), total_(total_iters) {
  if (!(start_factor > 0 && start_factor <= 1) || !(end_factor >= 0 && end_factor <= 1) || total_iters < 1)
    throw TensorError(fmt::format("LinearLR: start_factor {} must be in (0, 1], end_factor {} in [0, 1] and "
                                  "total_iters {} positive",
                                  start_factor, end_factor, total_iters));
  opt.set_lr(lr_at(0)); // the schedule starts at base * start_factor, as PyTorch's
}

double LinearLR::lr_at(int64_t epoch) const {
  double f = start_ + (end_ - start_) * double(std::min(epoch, total_)) / double(total_);
  return base_lr() * f;
}

} // namespace patgrad::optim
