// Neural-network building blocks in PyTorch's shapes and defaults: a Module base with named parameters and buffers,
// the common layers (nn_layers.cpp) and the losses and other functions (nn_functional.cpp).
#pragma once
#include "frontend/safetensors.h"
#include "frontend/tensor.h"
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace patgrad::nn {

// Parameters, buffers and child modules, each under a name, in registration order. A module's state_dict is its own
// parameters, then its own buffers, then each child's state under "child.", as PyTorch orders it. Modules are not
// copied or moved: children are registered by address. Copies of a Tensor share it, so a layer's members and the
// registry are the same tensors.
class Module {
public:
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  NamedTensors named_parameters() const; // recursively, "child.weight"
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  const std::vector<std::pair<std::string, Module*>>& children() const { return children_; }

  void train(bool on = true); // this module and every child
  void eval() { train(false); }
  bool is_training() const { return training_; }

  NamedTensors state_dict() const;
  // Assigns each tensor to the parameter or buffer of its name (every copy sees the new value) and realizes them.
  // Strict: names missing from state or not in the module are errors; a shape or dtype mismatch always is. Nothing
  // is assigned unless every check passes.
  void load_state_dict(const NamedTensors& state, bool strict = true);

protected:
  // A parameter becomes a leaf that requires grad.
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <typename M>
  M& register_module(const std::string& name, M& m) {
    add_child(name, &m);
    return m;
  }

private:
  void add_child(const std::string& name, Module* m);
  void check_name(const std::string& name) const;
  void collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const;
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, Module*>> children_;
  bool training_ = true;
};

// Every parameter of a module and its children (tinygrad's nn.state.get_parameters).
std::vector<Tensor> get_parameters(const Module& m);

// ---- layers (nn_layers.cpp). Weights are made in `dtype`; initialisation as PyTorch's (in its own order of draws
// from Tensor's global seed, not PyTorch's values).

// y = x W^T + b; W (out, in) and b from U(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5))
struct Linear : Module {
  Tensor weight;
  std::optional<Tensor> bias;
  Linear(int64_t in_features, int64_t out_features, bool has_bias = true, DType dtype = DType::f32);
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

// stride, padding, dilation: one value or (h, w), as Tensor::conv2d takes them
struct Conv2dOptions {
  Shape stride = {1}, padding = {0}, dilation = {1};
  int64_t groups = 1;
  bool bias = true;
  DType dtype = DType::f32;
};
// weight (out, in / groups, kh, kw) and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in / groups * kh * kw
struct Conv2d : Module {
  Tensor weight;
  std::optional<Tensor> bias;
  Conv2dOptions opts;
  Conv2d(int64_t in_channels, int64_t out_channels, Shape kernel, Conv2dOptions opts = {});
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

struct ConvTranspose2dOptions {
  Shape stride = {1}, padding = {0}, output_padding = {0}, dilation = {1};
  int64_t groups = 1;
  bool bias = true;
  DType dtype = DType::f32;
};
// weight (in, out / groups, kh, kw); fan_in = out / groups * kh * kw, as PyTorch computes it from weight's axis 1
struct ConvTranspose2d : Module {
  Tensor weight;
  std::optional<Tensor> bias;
  ConvTranspose2dOptions opts;
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, Shape kernel, ConvTranspose2dOptions opts = {});
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

struct BatchNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = true;
  bool track_running_stats = true;
  DType dtype = DType::f32;
};
// Normalizes each channel (axis 1) over the batch and the other axes. Training: the batch's mean and biased variance
// normalize, and running_mean and running_var move by momentum toward the batch's mean and unbiased variance
// (assigned, so they change when the step realizes); eval: the running statistics normalize.
struct BatchNorm : Module {
  std::optional<Tensor> weight, bias;                                   // ones, zeros; with affine
  std::optional<Tensor> running_mean, running_var, num_batches_tracked; // zeros, ones, 0 (i64)
  BatchNormOptions opts;
  BatchNorm(int64_t num_features, BatchNormOptions opts = {});
  Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

protected:
  int64_t features_;
  // the input ranks this kind accepts
  virtual bool accepts_rank(int64_t r) const { return r >= 2; }
  virtual const char* kind() const { return "BatchNorm"; }
};
struct BatchNorm1d : BatchNorm { // (N, C) or (N, C, L)
  using BatchNorm::BatchNorm;

protected:
  bool accepts_rank(int64_t r) const override { return r == 2 || r == 3; }
  const char* kind() const override { return "BatchNorm1d"; }
};
struct BatchNorm2d : BatchNorm { // (N, C, H, W)
  using BatchNorm::BatchNorm;

protected:
  bool accepts_rank(int64_t r) const override { return r == 4; }
  const char* kind() const override { return "BatchNorm2d"; }
};

// Normalizes over the last axes (normalized_shape), biased variance; weight ones and bias zeros of that shape.
struct LayerNorm : Module {
  std::optional<Tensor> weight, bias;
  Shape normalized_shape;
  double eps;
  LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true, bool has_bias = true,
            DType dtype = DType::f32);
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

// x / sqrt(mean(x^2) + eps) * weight over the last axes; eps defaults to the machine epsilon of x's dtype.
struct RMSNorm : Module {
  std::optional<Tensor> weight;
  Shape normalized_shape;
  std::optional<double> eps;
  RMSNorm(Shape normalized_shape, std::optional<double> eps = std::nullopt, bool elementwise_affine = true,
          DType dtype = DType::f32);
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

// Channels (axis 1) in num_groups groups, each normalized over its channels and the other axes; per-channel affine.
struct GroupNorm : Module {
  std::optional<Tensor> weight, bias;
  int64_t num_groups, num_channels;
  double eps;
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true, DType dtype = DType::f32);
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

// Rows of weight (num, dim) from N(0, 1), picked by an integer index tensor: out has index's shape plus (dim,).
// An index outside [0, num) is an error when the index is host data (a realized buffer); in a lazy index it gives a
// row of zeros, unless PATGRAD_CHECK=1 (detail::check_indices in frontend/tensor_internal.h).
struct Embedding : Module {
  Tensor weight;
  Embedding(int64_t num_embeddings, int64_t embedding_dim, DType dtype = DType::f32);
  Tensor forward(const Tensor& index) const;
  Tensor operator()(const Tensor& index) const { return forward(index); }
};

// Zeroes each element with probability p and scales the rest by 1 / (1 - p), in training mode only.
struct Dropout : Module {
  double p;
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }
};

// Layers applied in order, each the child named by its position, as PyTorch's nn.Sequential: a parameterless step
// (an activation) takes a position too, so Linear, relu, Linear have state "0.weight", "0.bias", "2.weight", ...
// and load PyTorch's checkpoints of the same model.
class Sequential : public Module {
public:
  // Makes a layer inside the container (modules do not move) and returns it.
  template <typename M, typename... Args>
  M& add(Args&&... args) {
    auto m = std::make_unique<M>(std::forward<Args>(args)...);
    M& ref = *m;
    register_module(std::to_string(steps_.size()), ref);
    steps_.push_back([&ref](const Tensor& x) { return ref.forward(x); });
    owned_.push_back(std::move(m));
    return ref;
  }
  Sequential& add(std::function<Tensor(const Tensor&)> step) {
    steps_.push_back(std::move(step));
    return *this;
  }
  Tensor forward(const Tensor& x) const;
  Tensor operator()(const Tensor& x) const { return forward(x); }

private:
  std::vector<std::function<Tensor(const Tensor&)>> steps_;
  std::vector<std::unique_ptr<Module>> owned_;
};

// ---- functional (nn_functional.cpp): PyTorch's torch.nn.functional, by its names and defaults
namespace functional {

enum class Reduction { mean, sum, none };

// Class-index targets: input (N, C, d1, ...) or (C,), target (N, d1, ...) or () of an integer dtype. Targets equal to
// ignore_index add nothing and do not count in the mean. label_smoothing mixes the one-hot target with the uniform
// distribution over the classes. A target outside [0, C) (other than ignore_index) is an error when the target is
// host data (a realized buffer, as a DataLoader's batches are); in a lazy target it contributes only its smoothing
// term and counts in the mean, unless PATGRAD_CHECK=1 (detail::check_indices). A float target of input's shape holds
// class probabilities instead (ignore_index does not apply; the mean is over the samples).
struct CrossEntropyOptions {
  Reduction reduction = Reduction::mean;
  int64_t ignore_index = -100;
  double label_smoothing = 0;
};
Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyOptions& opts = {});
// input holds log-probabilities (N, C, ...) or (C,); targets as cross_entropy's (a lazy out-of-range one adds 0)
Tensor nll_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean,
                int64_t ignore_index = -100);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
// input holds probabilities; each log is clamped to >= -100, as PyTorch's
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
// the stable form: max(x, 0) - x * y + log(1 + exp(-|x|)); pos_weight scales the positive term (broadcast on C)
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        Reduction reduction = Reduction::mean,
                                        const std::optional<Tensor>& pos_weight = std::nullopt);

// i64 (..., num_classes): 1 where the class is the index; num_classes < 0 reads the largest index from the data. An
// index outside [0, num_classes) is an error when the index is host data; in a lazy index it gives a row of zeros,
// unless PATGRAD_CHECK=1.
Tensor one_hot(const Tensor& index, int64_t num_classes = -1);

// softmax(q k^T * scale + mask) v over q (..., L, E), k (..., S, E), v (..., S, Ev); scale defaults to 1/sqrt(E).
// A bool attn_mask keeps where true (false is -inf), a float one is added; both broadcast to (..., L, S). is_causal
// keeps the lower triangle (position i sees keys 0..i) and excludes attn_mask. dropout_p drops attention weights.
struct AttentionOptions {
  std::optional<Tensor> attn_mask;
  double dropout_p = 0;
  bool is_causal = false;
  std::optional<double> scale;
};
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const AttentionOptions& opts = {});

Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);
inline Tensor max_pool2d(const Tensor& x, const Shape& kernel, const Shape& stride = {}, const Shape& padding = {0},
                         const Shape& dilation = {1}) {
  return x.max_pool2d(kernel, stride, padding, dilation);
}
inline Tensor avg_pool2d(const Tensor& x, const Shape& kernel, const Shape& stride = {}, const Shape& padding = {0},
                         Tensor::PadCount pad_count = Tensor::PadCount::include) {
  return x.avg_pool2d(kernel, stride, padding, pad_count);
}

// The normalizations behind the layers, weight and bias optional.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const std::optional<Tensor>& weight = std::nullopt,
                  const std::optional<Tensor>& bias = std::nullopt, double eps = 1e-5);
Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const std::optional<Tensor>& weight = std::nullopt,
                std::optional<double> eps = std::nullopt);
Tensor group_norm(const Tensor& x, int64_t num_groups, const std::optional<Tensor>& weight = std::nullopt,
                  const std::optional<Tensor>& bias = std::nullopt, double eps = 1e-5);

} // namespace functional

} // namespace patgrad::nn
