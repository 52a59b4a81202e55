// The layers: parameters made and initialised as PyTorch does, forward passes built from Tensor ops.
#include "frontend/nn.h"
#include "frontend/tensor_internal.h"
#include <cmath>
#include <fmt/format.h>

namespace patgrad::nn {

namespace F = functional;
using detail::shape_str;

namespace {

// kaiming_uniform_(a = sqrt(5)) has bound gain * sqrt(3 / fan_in) with gain sqrt(2 / (1 + a^2)): 1 / sqrt(fan_in),
// the bound PyTorch's default biases use too. A zero fan_in (an empty weight) draws nothing that matters.
Tensor fan_in_uniform(const Shape& shape, int64_t fan_in, DType dtype) {
  double bound = fan_in > 0 ? 1 / std::sqrt(double(fan_in)) : 0;
  return Tensor::uniform(shape, -bound, bound, dtype);
}

void check_float(DType dtype, const char* layer) {
  if (!uops::is_float(dtype))
    throw TensorError(fmt::format("{}: parameters are floats, not {}", layer, uops::name(dtype)));
}

// (kh, kw) from one value or two, each positive
std::pair<int64_t, int64_t> kernel_hw(const Shape& k, const char* layer) {
  if (k.size() != 1 && k.size() != 2)
    throw TensorError(fmt::format("{}: kernel_size {} is not one value or (h, w)", layer, shape_str(k)));
  int64_t kh = k[0], kw = k.size() == 2 ? k[1] : k[0];
  if (kh < 1 || kw < 1) throw TensorError(fmt::format("{}: kernel_size {} is not positive", layer, shape_str(k)));
  return {kh, kw};
}

void check_groups(int64_t in, int64_t out, int64_t groups, const char* layer) {
  if (in < 1 || out < 1) throw TensorError(fmt::format("{}: channels ({}, {}) are not positive", layer, in, out));
  if (groups < 1 || in % groups || out % groups)
    throw TensorError(
        fmt::format("{}: groups {} does not divide in_channels {} and out_channels {}", layer, groups, in, out));
}

// A per-channel parameter shaped to broadcast over axis 1 of an input of rank r.
Tensor per_channel(const Tensor& p, int64_t r) {
  Shape s(size_t(std::max<int64_t>(r, 2)), 1);
  s[1] = p.numel();
  return p.reshape(s);
}

Tensor linear_weight(int64_t in, int64_t out, DType dtype) {
  check_float(dtype, "Linear");
  if (in < 0 || out < 0) throw TensorError(fmt::format("Linear: features ({}, {}) are negative", in, out));
  return fan_in_uniform({out, in}, in, dtype);
}

// Conv2d's (out, in / groups, kh, kw) or ConvTranspose2d's (in, out / groups, kh, kw)
Tensor conv_weight(int64_t in, int64_t out, const Shape& kernel, int64_t groups, DType dtype, bool transposed) {
  const char* layer = transposed ? "ConvTranspose2d" : "Conv2d";
  check_float(dtype, layer);
  check_groups(in, out, groups, layer);
  auto [kh, kw] = kernel_hw(kernel, layer);
  Shape shape = transposed ? Shape{in, out / groups, kh, kw} : Shape{out, in / groups, kh, kw};
  return fan_in_uniform(shape, shape[1] * kh * kw, dtype);
}

// PyTorch's fan_in of a conv weight: axis 1 times the kernel's size
int64_t fan_in(const Tensor& w) { return w.shape()[1] * w.shape()[2] * w.shape()[3]; }

Tensor embedding_weight(int64_t num, int64_t dim, DType dtype) {
  check_float(dtype, "Embedding");
  if (num < 0 || dim < 0) throw TensorError(fmt::format("Embedding: sizes ({}, {}) are negative", num, dim));
  return Tensor::randn({num, dim}, dtype);
}

} // namespace

Linear::Linear(int64_t in_features, int64_t out_features, bool has_bias, DType dtype)
    : weight(register_parameter("weight", linear_weight(in_features, out_features, dtype))) {
  if (has_bias) bias = register_parameter("bias", fan_in_uniform({out_features}, in_features, dtype));
}

Tensor Linear::forward(const Tensor& x) const {
  int64_t in = weight.shape()[1];
  if (x.ndim() == 0 || x.shape().back() != in)
    throw TensorError(fmt::format("Linear({}, {}): input {} does not end in {} features", in, weight.shape()[0],
                                  shape_str(x.shape()), in));
  Tensor y = x.matmul(weight.transpose());
  return bias ? y + *bias : y;
}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, Shape kernel, Conv2dOptions o)
    : weight(register_parameter("weight", conv_weight(in_channels, out_channels, kernel, o.groups, o.dtype, false))),
      opts(std::move(o)) {
  if (opts.bias) bias = register_parameter("bias", fan_in_uniform({out_channels}, fan_in(weight), opts.dtype));
}

Tensor Conv2d::forward(const Tensor& x) const {
  return x.conv2d(weight, bias, opts.stride, opts.padding, opts.dilation, opts.groups);
}

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels, Shape kernel, ConvTranspose2dOptions o)
    : weight(register_parameter("weight", conv_weight(in_channels, out_channels, kernel, o.groups, o.dtype, true))),
      opts(std::move(o)) {
  if (opts.bias) bias = register_parameter("bias", fan_in_uniform({out_channels}, fan_in(weight), opts.dtype));
}

Tensor ConvTranspose2d::forward(const Tensor& x) const {
  return x.conv_transpose2d(weight, bias, opts.stride, opts.padding, opts.output_padding, opts.dilation, opts.groups);
}

BatchNorm::BatchNorm(int64_t num_features, BatchNormOptions o) : opts(o), features_(num_features) {
  check_float(opts.dtype, "BatchNorm");
  if (num_features < 1) throw TensorError(fmt::format("BatchNorm: num_features {} is not positive", num_features));
  if (opts.affine) {
    weight = register_parameter("weight", Tensor::ones({num_features}, opts.dtype));
    bias = register_parameter("bias", Tensor::zeros({num_features}, opts.dtype));
  }
  if (opts.track_running_stats) {
    running_mean = register_buffer("running_mean", Tensor::zeros({num_features}, opts.dtype));
    running_var = register_buffer("running_var", Tensor::ones({num_features}, opts.dtype));
    num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::i64));
  }
}

Tensor BatchNorm::forward(const Tensor& x) {
  if (!accepts_rank(x.ndim()) || x.shape()[1] != features_)
    throw TensorError(fmt::format("{}({}): input {} is not (N, {}, ...) of a rank it takes", kind(), features_,
                                  shape_str(x.shape()), features_));
  Shape axes;
  for (int64_t i = 0; i < x.ndim(); i++)
    if (i != 1) axes.push_back(i);
  int64_t n = x.numel() / features_;
  bool batch_stats = is_training() || !opts.track_running_stats;
  if (is_training() && n < 2)
    throw TensorError(fmt::format("{}: training needs more than one value per channel, input {} has {}", kind(),
                                  shape_str(x.shape()), n));
  Tensor mean = batch_stats ? x.mean(axes) : *running_mean;
  Tensor var = batch_stats ? x.var(axes, false, 0) : *running_var;
  if (is_training() && opts.track_running_stats) {
    // the running variance is the unbiased one, as PyTorch's
    double m = opts.momentum;
    Tensor unbiased = var.detach() * (double(n) / double(n - 1));
    running_mean->assign((*running_mean * (1 - m) + mean.detach() * m).cast(running_mean->dtype()));
    running_var->assign((*running_var * (1 - m) + unbiased * m).cast(running_var->dtype()));
    num_batches_tracked->assign(*num_batches_tracked + Tensor::scalar(1, DType::i64));
  }
  Tensor y = (x - per_channel(mean, x.ndim())) * (per_channel(var, x.ndim()) + opts.eps).rsqrt();
  if (weight) y = y * per_channel(*weight, x.ndim()) + per_channel(*bias, x.ndim());
  return y;
}

LayerNorm::LayerNorm(Shape shape, double eps_, bool elementwise_affine, bool has_bias, DType dtype)
    : normalized_shape(std::move(shape)), eps(eps_) {
  check_float(dtype, "LayerNorm");
  if (elementwise_affine) {
    weight = register_parameter("weight", Tensor::ones(normalized_shape, dtype));
    if (has_bias) bias = register_parameter("bias", Tensor::zeros(normalized_shape, dtype));
  }
}

Tensor LayerNorm::forward(const Tensor& x) const { return F::layer_norm(x, normalized_shape, weight, bias, eps); }

RMSNorm::RMSNorm(Shape shape, std::optional<double> eps_, bool elementwise_affine, DType dtype)
    : normalized_shape(std::move(shape)), eps(eps_) {
  check_float(dtype, "RMSNorm");
  if (elementwise_affine) weight = register_parameter("weight", Tensor::ones(normalized_shape, dtype));
}

Tensor RMSNorm::forward(const Tensor& x) const { return F::rms_norm(x, normalized_shape, weight, eps); }

GroupNorm::GroupNorm(int64_t groups, int64_t channels, double eps_, bool affine, DType dtype)
    : num_groups(groups), num_channels(channels), eps(eps_) {
  check_float(dtype, "GroupNorm");
  if (groups < 1 || channels < 1 || channels % groups)
    throw TensorError(fmt::format("GroupNorm: num_groups {} does not divide num_channels {}", groups, channels));
  if (affine) {
    weight = register_parameter("weight", Tensor::ones({channels}, dtype));
    bias = register_parameter("bias", Tensor::zeros({channels}, dtype));
  }
}

Tensor GroupNorm::forward(const Tensor& x) const {
  if (x.ndim() < 2 || x.shape()[1] != num_channels)
    throw TensorError(fmt::format("GroupNorm({}, {}): input {} is not (N, {}, ...)", num_groups, num_channels,
                                  shape_str(x.shape()), num_channels));
  return F::group_norm(x, num_groups, weight, bias, eps);
}

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, DType dtype)
    : weight(register_parameter("weight", embedding_weight(num_embeddings, embedding_dim, dtype))) {}

Tensor Embedding::forward(const Tensor& index) const {
  if (!uops::is_int(index.dtype()) || index.dtype() == DType::index)
    throw TensorError(fmt::format("Embedding: index is {}, not an integer dtype", uops::name(index.dtype())));
  int64_t num = weight.shape()[0];
  detail::check_indices(index, num, [&](const std::string& v) {
    return fmt::format("Embedding: index {} out of range for {} embeddings", v, num);
  });
  // a one-hot selection summed over the rows: where() passes the gradient to the picked row only
  Tensor rows = Tensor::arange(0, double(num), 1, DType::i64).to(index.device());
  Tensor hit = index.unsqueeze(-1).eq(rows).unsqueeze(-1); // (..., num, 1)
  return hit.where(weight, Tensor::scalar(0, weight.dtype())).sum({-2});
}

Dropout::Dropout(double p_) : p(p_) {
  if (!(p >= 0 && p <= 1)) throw TensorError(fmt::format("Dropout: p {} is not in [0, 1]", p));
}

Tensor Dropout::forward(const Tensor& x) const { return F::dropout(x, p, is_training()); }

} // namespace patgrad::nn
