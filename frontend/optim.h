// Optimizers with PyTorch's update formulas and defaults, and learning-rate schedules. A step builds each
// parameter's update from its gradient, assigns it (and the optimizer's state), then realizes everything in one
// schedule, so the forward and backward work the gradients share is done once.
#pragma once
#include "frontend/tensor.h"
#include <optional>

namespace patgrad::optim {

class Optimizer {
public:
  Optimizer(std::vector<Tensor> params, double lr);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  void zero_grad(); // every parameter's gradient becomes empty
  // Updates each parameter that has a gradient (the others are left alone, as PyTorch does) and realizes the
  // parameters, the state and the gradients.
  void step();

  // The learning rate goes into the kernels as data, not as a constant, so changing it recompiles nothing; set_lr
  // writes the buffer they read in place, so a captured step (jit.h) replayed after it uses the new rate too.
  double lr() const { return lr_; }
  void set_lr(double lr);
  int64_t steps() const { return steps_; }
  const std::vector<Tensor>& params() const { return params_; }

protected:
  // Assigns parameter i its new value from its gradient g; lr is the learning rate as a 0-d tensor of p's dtype.
  virtual void update(size_t i, Tensor& p, const Tensor& g, const Tensor& lr) = 0;
  // Called once a step before the updates: what changes per step, not per parameter (Adam's bias corrections).
  virtual void begin_step() {}
  // Every tensor the optimizer assigns besides the parameters, so a step realizes them too.
  virtual std::vector<Tensor> state() const = 0;

private:
  std::vector<Tensor> params_;
  double lr_;
  Tensor lr_data_; // f64[], the learning rate the kernels read
  int64_t steps_ = 0;
};

struct SGDOptions {
  double momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false;
};
// g = grad + weight_decay * p; with momentum, buf = g on the first step and momentum * buf + (1 - dampening) * g
// after, and g = buf (nesterov: g + momentum * buf); p -= lr * g.
class SGD : public Optimizer {
public:
  SGD(std::vector<Tensor> params, double lr, SGDOptions opts = {});

private:
  void update(size_t i, Tensor& p, const Tensor& g, const Tensor& lr) override;
  std::vector<Tensor> state() const override;
  SGDOptions opts_;
  std::vector<std::optional<Tensor>> buf_;
};

struct AdamOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  std::optional<double> weight_decay; // unset: PyTorch's defaults, 0 for Adam and 1e-2 for AdamW
  bool amsgrad = false;
};
// m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2 (amsgrad: the running maximum of v divides instead),
// p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). Adam's weight decay adds weight_decay * p to g first;
// AdamW's multiplies p by 1 - lr * weight_decay first (decoupled).
class Adam : public Optimizer {
public:
  Adam(std::vector<Tensor> params, double lr = 1e-3, AdamOptions opts = {});

protected:
  Adam(std::vector<Tensor> params, double lr, AdamOptions opts, bool decoupled);

private:
  void update(size_t i, Tensor& p, const Tensor& g, const Tensor& lr) override;
  void begin_step() override;
  std::vector<Tensor> state() const override;
  AdamOptions opts_;
  bool decoupled_;
  double weight_decay_;
  std::vector<Tensor> m_, v_, vmax_;
  // b1^t and b2^t (f64[]), multiplied on the device each step: the bias corrections are state, not host values,
  // so every step runs the same kernels over the same kinds of buffers and a captured step replays them
  Tensor beta1_power_, beta2_power_;
};

class AdamW : public Adam {
public:
  AdamW(std::vector<Tensor> params, double lr = 1e-3, AdamOptions opts = {});
};

// ---- learning-rate schedules: each step() moves the optimizer's lr to the next epoch's value (PyTorch's closed
// forms of its schedulers, from the lr the optimizer had when the schedule was made).
class LRScheduler {
public:
  explicit LRScheduler(Optimizer& opt);
  virtual ~LRScheduler() = default;
  void step();
  int64_t epoch() const { return epoch_; }
  double base_lr() const { return base_lr_; }

protected:
  virtual double lr_at(int64_t epoch) const = 0;

private:
  Optimizer& opt_;
  double base_lr_;
  int64_t epoch_ = 0;
};

// base * gamma^(epoch / step_size)
class StepLR : public LRScheduler {
public:
  StepLR(Optimizer& opt, int64_t step_size, double gamma = 0.1);

private:
  double lr_at(int64_t epoch) const override;
  int64_t step_size_;
  double gamma_;
};

// eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2
class CosineAnnealingLR : public LRScheduler {
public:
  CosineAnnealingLR(Optimizer& opt, int64_t t_max, double eta_min = 0);

private:
  double lr_at(int64_t epoch) const override;
  int64_t t_max_;
  double eta_min_;
};

// base * factor, the factor going linearly from start_factor to end_factor over total_iters epochs, then staying:
// a linear warmup with the defaults' end_factor 1.
class LinearLR : public LRScheduler {
public:
  LinearLR(Optimizer& opt, double start_factor = 1.0 / 3, double end_factor = 1, int64_t total_iters = 5);

private:
  double lr_at(int64_t epoch) const override;
  double start_, end_;
  int64_t total_;
};

} // namespace patgrad::optim
