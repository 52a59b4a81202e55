// Losses, attention, dropout and the normalizations, as compositions of Tensor ops: autograd differentiates them
// through the ops' own rules, so none needs a derivative of its own.
#include "frontend/nn.h"
#include "frontend/tensor_internal.h"
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace patgrad::nn::functional {

using detail::shape_str;

namespace {

Tensor reduce(const Tensor& loss, Reduction r) {
  switch (r) {
  case Reduction::mean: return loss.mean();
  case Reduction::sum: return loss.sum();
  default: return loss;
  }
}

void check_integer(const Tensor& t, const char* what, const char* name) {
  if (!uops::is_int(t.dtype()) || t.dtype() == DType::index)
    throw TensorError(fmt::format("{}: {} is {}, not an integer dtype", what, name, uops::name(t.dtype())));
}

void check_float(const Tensor& t, const char* what, const char* name) {
  if (!uops::is_float(t.dtype()))
    throw TensorError(fmt::format("{}: {} is {}, not a float dtype", what, name, uops::name(t.dtype())));
}

void check_same_shape(const Tensor& input, const Tensor& target, const char* what) {
  if (input.shape() != target.shape())
    throw TensorError(fmt::format("{}: input {} and target {} differ in shape", what, shape_str(input.shape()),
                                  shape_str(target.shape())));
}

// The class axis of input (N, C, ...) or (C,), after checking that target is input's shape without it and that its
// values, when known, are classes or ignore_index (detail::check_indices).
int64_t class_axis(const Tensor& input, const Tensor& target, int64_t ignore_index, const char* what) {
  check_float(input, what, "input");
  check_integer(target, what, "target");
  if (input.ndim() == 0) throw TensorError(fmt::format("{}: input is 0-d; it needs a class axis", what));
  int64_t axis = input.ndim() == 1 ? 0 : 1;
  Shape want = input.shape();
  want.erase(want.begin() + axis);
  if (target.shape() != want)
    throw TensorError(fmt::format("{}: target {} is not input {} without its class axis {}", what,
                                  shape_str(target.shape()), shape_str(input.shape()), shape_str(want)));
  int64_t classes = input.shape()[size_t(axis)];
  detail::check_indices(
      target, classes,
      [&](const std::string& v) { return fmt::format("{}: target {} out of range for {} classes", what, v, classes); },
      ignore_index);
  return axis;
}

// Whether each target picks each class: bool, input's shape.
Tensor class_hits(const Tensor& input, const Tensor& target, int64_t axis) {
  Shape s(size_t(input.ndim() - axis), 1);
  s[0] = input.shape()[size_t(axis)];
  Tensor classes = Tensor::arange(0, double(s[0]), 1, DType::i64).reshape(s).to(input.device());
  return target.unsqueeze(axis).eq(classes);
}

// -input[target] along the class axis, 0 where the target is ignored (valid is false) or out of range.
Tensor picked_nll(const Tensor& logp, const Tensor& target, const Tensor& valid, int64_t axis) {
  Tensor zero = Tensor::scalar(0, logp.dtype()).to(logp.device());
  Tensor hits = class_hits(logp, target, axis).logical_and(valid.unsqueeze(axis));
  return -hits.where(logp, zero).sum({axis});
}

// The mean over the targets that are not ignored (0/0, NaN, when all are), or the sum, or each.
Tensor reduce_counted(const Tensor& loss, const Tensor& valid, Reduction r) {
  if (r != Reduction::mean) return reduce(loss, r);
  return loss.sum() / valid.cast(loss.dtype()).sum();
}

// Machine epsilon of a float dtype: RMSNorm's default eps, as torch.finfo(dtype).eps.
double machine_epsilon(DType d) {
  switch (d) {
  case DType::f64: return std::numeric_limits<double>::epsilon();
  case DType::f16: return 0.0009765625;
  case DType::bf16: return 0.0078125;
  default: return std::numeric_limits<float>::epsilon();
  }
}

// The trailing axes normalized_shape names, after checking that x ends in it.
Shape trailing_axes(const Tensor& x, const Shape& normalized_shape, const char* what) {
  int64_t n = int64_t(normalized_shape.size());
  if (n == 0 || x.ndim() < n || !std::equal(normalized_shape.begin(), normalized_shape.end(), x.shape().end() - n))
    throw TensorError(fmt::format("{}: input {} does not end in normalized_shape {}", what, shape_str(x.shape()),
                                  shape_str(normalized_shape)));
  Shape axes;
  for (int64_t i = x.ndim() - n; i < x.ndim(); i++) axes.push_back(i);
  return axes;
}

void check_affine(const std::optional<Tensor>& p, const Shape& shape, const char* what, const char* name) {
  if (p && p->shape() != shape)
    throw TensorError(fmt::format("{}: {} {} is not of shape {}", what, name, shape_str(p->shape()), shape_str(shape)));
}

} // namespace

Tensor nll_loss(const Tensor& input, const Tensor& target, Reduction reduction, int64_t ignore_index) {
  int64_t axis = class_axis(input, target, ignore_index, "nll_loss");
  Tensor valid = target.ne(Tensor::scalar(double(ignore_index), target.dtype()).to(target.device()));
  return reduce_counted(picked_nll(input, target, valid, axis), valid, reduction);
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyOptions& opts) {
  double eps = opts.label_smoothing;
  if (!(eps >= 0 && eps <= 1))
    throw TensorError(fmt::format("cross_entropy: label_smoothing {} is not in [0, 1]", eps));
  if (uops::is_float(target.dtype()) && target.shape() == input.shape() && input.ndim() > 0) {
    // class probabilities: -sum of target * log-probability over the classes, the target smoothed toward uniform
    int64_t axis = input.ndim() == 1 ? 0 : 1, classes = input.shape()[size_t(axis)];
    Tensor t = eps > 0 ? target * (1 - eps) + eps / double(classes) : target;
    return reduce(-(t * input.log_softmax(axis)).sum({axis}), opts.reduction);
  }
  int64_t axis = class_axis(input, target, opts.ignore_index, "cross_entropy");
  Tensor logp = input.log_softmax(axis);
  Tensor valid = target.ne(Tensor::scalar(double(opts.ignore_index), target.dtype()).to(target.device()));
  Tensor loss = picked_nll(logp, target, valid, axis);
  if (eps > 0) {
    // PyTorch's: (1 - eps) * nll + eps / C * (-sum of log-probabilities), the second term 0 where ignored
    int64_t classes = input.shape()[size_t(axis)];
    Tensor smooth = valid.where(-logp.sum({axis}), Tensor::scalar(0, logp.dtype()).to(logp.device()));
    loss = loss * (1 - eps) + smooth * (eps / double(classes));
  }
  return reduce_counted(loss, valid, opts.reduction);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape(input, target, "mse_loss");
  Tensor d = input - target;
  return reduce(d * d, reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape(input, target, "l1_loss");
  return reduce((input - target).abs(), reduction);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape(input, target, "binary_cross_entropy");
  check_float(input, "binary_cross_entropy", "input");
  // the clamp keeps a probability of exactly 0 or 1 from giving inf (and 0 * inf = NaN), as PyTorch's
  Tensor log_p = input.log().maximum(Tensor::scalar(-100, input.dtype()));
  Tensor log_q = (1.0 - input).log().maximum(Tensor::scalar(-100, input.dtype()));
  return reduce(-(target * log_p + (1.0 - target) * log_q), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, Reduction reduction,
                                        const std::optional<Tensor>& pos_weight) {
  check_same_shape(input, target, "binary_cross_entropy_with_logits");
  check_float(input, "binary_cross_entropy_with_logits", "input");
  // log(1 + exp(-x)) = log(1 + exp(-|x|)) + max(-x, 0): exp never overflows
  Tensor log_sigmoid_neg = (1.0 + (-input.abs()).exp()).log() + (-input).relu();
  Tensor positive = pos_weight ? (*pos_weight - 1.0) * target + 1.0 : Tensor::scalar(1, input.dtype());
  return reduce((1.0 - target) * input + positive * log_sigmoid_neg, reduction);
}

Tensor one_hot(const Tensor& index, int64_t num_classes) {
  check_integer(index, "one_hot", "index");
  if (num_classes < 0) {
    if (index.numel() == 0) throw TensorError("one_hot: cannot infer the number of classes from an empty index");
    num_classes = int64_t(index.max().item()) + 1;
  }
  detail::check_indices(index, num_classes, [&](const std::string& v) {
    return fmt::format("one_hot: index {} out of range for {} classes", v, num_classes);
  });
  Tensor classes = Tensor::arange(0, double(num_classes), 1, DType::i64).to(index.device());
  return index.unsqueeze(-1).eq(classes).cast(DType::i64);
}

Tensor dropout(const Tensor& x, double p, bool training) {
  if (!(p >= 0 && p <= 1)) throw TensorError(fmt::format("dropout: p {} is not in [0, 1]", p));
  if (!training || p == 0) return x;
  Tensor zero = Tensor::scalar(0, x.dtype()).to(x.device());
  if (p == 1) return x * zero;
  Tensor keep = Tensor::rand(x.shape()).to(x.device()) >= p;
  return keep.where(x * (1 / (1 - p)), zero);
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opts) {
  const char* what = "scaled_dot_product_attention";
  if (q.ndim() < 2 || k.ndim() < 2 || v.ndim() < 2 || q.shape().back() != k.shape().back() ||
      k.shape()[size_t(k.ndim() - 2)] != v.shape()[size_t(v.ndim() - 2)])
    throw TensorError(fmt::format("{}: q {}, k {} and v {} are not (..., L, E), (..., S, E) and (..., S, Ev)", what,
                                  shape_str(q.shape()), shape_str(k.shape()), shape_str(v.shape())));
  if (opts.is_causal && opts.attn_mask)
    throw TensorError(fmt::format("{}: is_causal and attn_mask exclude each other", what));
  double scale = opts.scale.value_or(1 / std::sqrt(double(q.shape().back())));
  Tensor scores = q.matmul(k.transpose(-2, -1)) * scale;
  int64_t L = q.shape()[size_t(q.ndim() - 2)], S = k.shape()[size_t(k.ndim() - 2)];
  Tensor neg_inf = Tensor::scalar(-std::numeric_limits<double>::infinity(), scores.dtype()).to(scores.device());
  if (opts.is_causal) {
    // row i keeps keys 0..i: PyTorch's ones(L, S).tril()
    Tensor rows = Tensor::arange(0, double(L), 1, DType::i64).reshape({L, 1});
    Tensor cols = Tensor::arange(0, double(S), 1, DType::i64).reshape({1, S});
    scores = (rows >= cols).to(scores.device()).where(scores, neg_inf);
  } else if (opts.attn_mask) {
    const Tensor& m = *opts.attn_mask;
    if (uops::is_bool(m.dtype()))
      scores = m.where(scores, neg_inf);
    else if (uops::is_float(m.dtype()))
      scores = scores + m;
    else
      throw TensorError(fmt::format("{}: attn_mask is {}, not bool or float", what, uops::name(m.dtype())));
  }
  Tensor attn = scores.softmax(-1);
  if (opts.dropout_p > 0) attn = dropout(attn, opts.dropout_p);
  return attn.matmul(v);
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps) {
  Shape axes = trailing_axes(x, normalized_shape, "layer_norm");
  check_affine(weight, normalized_shape, "layer_norm", "weight");
  check_affine(bias, normalized_shape, "layer_norm", "bias");
  Tensor y = (x - x.mean(axes, true)) * (x.var(axes, true, 0) + eps).rsqrt();
  if (weight) y = y * *weight;
  if (bias) y = y + *bias;
  return y;
}

Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const std::optional<Tensor>& weight,
                std::optional<double> eps) {
  Shape axes = trailing_axes(x, normalized_shape, "rms_norm");
  check_affine(weight, normalized_shape, "rms_norm", "weight");
  check_float(x, "rms_norm", "input");
  Tensor y = x * ((x * x).mean(axes, true) + eps.value_or(machine_epsilon(x.dtype()))).rsqrt();
  return weight ? y * *weight : y;
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const std::optional<Tensor>& weight,
                  const std::optional<Tensor>& bias, double eps) {
  if (x.ndim() < 2 || num_groups < 1 || x.shape()[1] % num_groups)
    throw TensorError(fmt::format("group_norm: input {} is not (N, C, ...) with C divisible by num_groups {}",
                                  shape_str(x.shape()), num_groups));
  int64_t c = x.shape()[1];
  check_affine(weight, {c}, "group_norm", "weight");
  check_affine(bias, {c}, "group_norm", "bias");
  Tensor g = x.reshape({x.shape()[0], num_groups, -1});
  Tensor y = ((g - g.mean({2}, true)) * (g.var({2}, true, 0) + eps).rsqrt()).reshape(x.shape());
  Shape channel(size_t(x.ndim()), 1);
  channel[1] = c;
  if (weight) y = y * weight->reshape(channel);
  if (bias) y = y + bias->reshape(channel);
  return y;
}

} // namespace patgrad::nn::functional
