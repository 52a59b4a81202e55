// nn: layers and losses against naive loops written here, their gradients against finite differences in float64,
// and modules' registries and state dicts.
#include "frontend/autograd.h"
#include "frontend/nn.h"
#include "tests/frontend/gradcheck.h"
#include <functional>
#include <llvm/Support/FileSystem.h>

using namespace patgrad;
using namespace patgrad::nn;
namespace F = patgrad::nn::functional;
using patgrad::testing::check_close;
using patgrad::testing::random_values;

namespace {

// nn's checks draw from their own seed
void gradcheck(const char* what, const patgrad::testing::Fn& f, const std::vector<Shape>& shapes, double lo = -2,
               double hi = 2) {
  patgrad::testing::gradcheck(what, f, shapes, lo, hi, 1e-6, 1e-5, 7);
}

std::vector<double> to_doubles(const Tensor& t) { return t.to_vector<double>(); }

// softmax's log over a row, naively
std::vector<double> log_softmax_row(const std::vector<double>& row) {
  double m = *std::max_element(row.begin(), row.end()), s = 0;
  for (double x : row) s += std::exp(x - m);
  std::vector<double> out;
  for (double x : row) out.push_back(x - m - std::log(s));
  return out;
}

// A two-level model: its own parameter and buffer, then two children, one with a child of its own.
struct Block : Module {
  Linear fc{3, 2};
  BatchNorm1d bn{2};
  Block() {
    register_module("fc", fc);
    register_module("bn", bn);
  }
};
struct Net : Module {
  Tensor scale = register_parameter("scale", Tensor::ones({2}));
  Tensor steps = register_buffer("steps", Tensor::zeros({}, DType::i32));
  Block block;
  Linear head{2, 1, false};
  Net() {
    register_module("block", block);
    register_module("head", head);
  }
  Tensor forward(const Tensor& x) { return head(block.bn(block.fc(x)) * scale); }
};

std::vector<std::string> names(const NamedTensors& ts) {
  std::vector<std::string> out;
  for (const auto& [n, _] : ts) out.push_back(n);
  return out;
}

} // namespace

TEST_CASE("Module lists parameters, buffers and state in registration order, as PyTorch", "[layers]") {
  Net net;
  CHECK(names(net.named_parameters()) == std::vector<std::string>{"scale", "block.fc.weight", "block.fc.bias",
                                                                  "block.bn.weight", "block.bn.bias", "head.weight"});
  CHECK(names(net.named_buffers()) == std::vector<std::string>{"steps", "block.bn.running_mean", "block.bn.running_var",
                                                               "block.bn.num_batches_tracked"});
  CHECK(names(net.state_dict()) == std::vector<std::string>{"scale", "steps", "block.fc.weight", "block.fc.bias",
                                                            "block.bn.weight", "block.bn.bias", "block.bn.running_mean",
                                                            "block.bn.running_var", "block.bn.num_batches_tracked",
                                                            "head.weight"});
  std::vector<Tensor> params = get_parameters(net);
  REQUIRE(params.size() == 6);
  CHECK(params[1].is(net.block.fc.weight)); // the registry holds the layer's own tensors
  for (const Tensor& p : params) CHECK(p.requires_grad());
  CHECK(!net.steps.requires_grad());

  CHECK(net.block.bn.is_training());
  net.eval();
  CHECK(!net.is_training());
  CHECK(!net.block.bn.is_training());
  net.train();
  CHECK(net.block.fc.is_training());
}

TEST_CASE("Sequential applies its steps in order and names its layers by position, as PyTorch", "[layers]") {
  Sequential seq;
  Linear& first = seq.add<Linear>(3, 4);
  seq.add([](const Tensor& x) { return x.relu(); });
  seq.add<Linear>(4, 2, false);
  seq.add<Dropout>(0.5);
  CHECK(names(seq.state_dict()) == std::vector<std::string>{"0.weight", "0.bias", "2.weight"});
  seq.eval();
  CHECK(!first.is_training());
  Tensor x = Tensor::randn({5, 3});
  const Linear& second = static_cast<const Linear&>(*seq.children()[1].second);
  std::vector<float> want = (first(x).relu().matmul(second.weight.transpose())).to_vector<float>();
  CHECK(seq(x).to_vector<float>() == want);
}

TEST_CASE("Module refuses bad and repeated names", "[layers]") {
  struct Bad : Module {
    void add(const std::string& n) { register_parameter(n, Tensor::zeros({1})); }
    void add_int() { register_parameter("i", Tensor::zeros({1}, DType::i32)); }
  } m;
  m.add("w");
  CHECK_THROWS_WITH(m.add("w"), Catch::Contains("'w' is registered twice"));
  CHECK_THROWS_WITH(m.add("a.b"), Catch::Contains("'a.b' is not a name"));
  CHECK_THROWS_WITH(m.add(""), Catch::Contains("'' is not a name"));
  CHECK_THROWS_WITH(m.add_int(), Catch::Contains("parameter 'i' is i32; parameters are floats"));
}

TEST_CASE("load_state_dict copies a saved model's state into another, through safetensors", "[layers]") {
  Tensor::manual_seed(1);
  Net a;
  Tensor x = Tensor::randn({4, 3});
  a.forward(x).realize(); // one training step moves bn's running statistics
  a.eval();
  std::vector<double> expected = to_doubles(a.forward(x));

  llvm::SmallString<128> path;
  REQUIRE(!llvm::sys::fs::createTemporaryFile("patgrad-nn", "safetensors", path));
  safe_save(std::string(path), a.state_dict());
  Net b; // another initialisation
  b.eval();
  CHECK(to_doubles(b.forward(x)) != expected);
  Tensor weight_before = b.block.fc.weight;
  b.load_state_dict(safe_load(std::string(path)));
  llvm::sys::fs::remove(path);
  CHECK(to_doubles(b.forward(x)) == expected);
  CHECK(weight_before.to_vector<float>() == a.block.fc.weight.to_vector<float>()); // assigned in place
  CHECK(b.block.bn.num_batches_tracked->item() == 1);
}

TEST_CASE("load_state_dict names missing and unexpected keys and mismatches, and then changes nothing", "[layers]") {
  Linear l(3, 2);
  std::vector<float> before = l.weight.to_vector<float>();
  NamedTensors state = {{"weight", Tensor::zeros({2, 3})}, {"extra", Tensor::zeros({1})}};
  CHECK_THROWS_WITH(l.load_state_dict(state),
                    Catch::Contains("missing keys: bias") && Catch::Contains("unexpected keys: extra"));
  CHECK(l.weight.to_vector<float>() == before);
  l.load_state_dict(state, /*strict=*/false); // loads what matches
  CHECK(l.weight.to_vector<float>() == std::vector<float>(6, 0));
  CHECK_THROWS_WITH(l.load_state_dict({{"weight", Tensor::zeros({3, 2})}, {"bias", Tensor::zeros({2})}}),
                    Catch::Contains("'weight' has shape (3,2) in the state but (2,3) in the module"));
  CHECK_THROWS_WITH(l.load_state_dict({{"weight", Tensor::zeros({2, 3}, DType::f64)}, {"bias", Tensor::zeros({2})}}),
                    Catch::Contains("'weight' is f64 in the state but f32 in the module"));
}

TEST_CASE("Linear computes x W^T + b and initialises within PyTorch's bounds", "[layers]") {
  Tensor::manual_seed(3);
  Linear l(100, 30);
  std::vector<float> w = l.weight.to_vector<float>(), b = l.bias->to_vector<float>();
  double bound = 0.1, sum2 = 0;
  for (float v : w) {
    CHECK(std::fabs(v) <= bound);
    sum2 += double(v) * v;
  }
  for (float v : b) CHECK(std::fabs(v) <= bound);
  // uniform on [-0.1, 0.1): variance 0.01 / 3
  CHECK(sum2 / double(w.size()) == Approx(0.01 / 3).epsilon(0.05));

  Linear small(3, 2);
  std::mt19937_64 rng(1);
  std::vector<double> x = random_values(rng, 4 * 3);
  Tensor y = small(Tensor::from_vector(x, {4, 3}).cast(DType::f32));
  std::vector<float> sw = small.weight.to_vector<float>(), sb = small.bias->to_vector<float>();
  std::vector<double> expected;
  for (int i = 0; i < 4; i++)
    for (int o = 0; o < 2; o++) {
      double acc = sb[size_t(o)];
      for (int k = 0; k < 3; k++) acc += double(float(x[size_t(i * 3 + k)])) * sw[size_t(o * 3 + k)];
      expected.push_back(acc);
    }
  check_close(y, {4, 2}, expected, 1e-5);
  CHECK(Linear(3, 2, false).named_parameters().size() == 1);
  CHECK_THROWS_WITH(small(Tensor::zeros({4, 5})), Catch::Contains("Linear(3, 2): input (4,5) does not end in 3"));
}

TEST_CASE("Conv2d and ConvTranspose2d shape their weights and bounds as PyTorch", "[layers]") {
  Conv2d c(4, 6, {3, 2}, {.stride = {2}, .padding = {1}, .groups = 2});
  CHECK(c.weight.shape() == Shape{6, 2, 3, 2});
  double bound = 1 / std::sqrt(2.0 * 3 * 2);
  for (float v : c.weight.to_vector<float>()) CHECK(std::fabs(v) <= bound);
  for (float v : c.bias->to_vector<float>()) CHECK(std::fabs(v) <= bound);
  Tensor x = Tensor::randn({2, 4, 7, 5});
  Tensor y = c(x);
  CHECK(y.shape() == Shape{2, 6, 4, 3});
  check_close(y, {2, 6, 4, 3}, to_doubles(x.conv2d(c.weight, c.bias, {2}, {1}, {1}, 2)), 0);

  ConvTranspose2d t(4, 6, {3}, {.stride = {2}, .groups = 2});
  CHECK(t.weight.shape() == Shape{4, 3, 3, 3});
  double tbound = 1 / std::sqrt(3.0 * 3 * 3); // fan_in from weight's axis 1: out / groups
  for (float v : t.weight.to_vector<float>()) CHECK(std::fabs(v) <= tbound);
  CHECK(t(x).shape() == Shape{2, 6, 15, 11});
  CHECK_THROWS_WITH(Conv2d(4, 6, {3}, {.groups = 4}), Catch::Contains("groups 4 does not divide"));
  CHECK_THROWS_WITH(Conv2d(4, 6, {3, 3, 3}), Catch::Contains("kernel_size (3,3,3) is not one value or (h, w)"));
}

TEST_CASE("BatchNorm2d normalizes with batch statistics in training and running ones in eval", "[layers]") {
  const int64_t N = 3, C = 2, H = 2, W = 2;
  std::mt19937_64 rng(5);
  std::vector<double> x = random_values(rng, N * C * H * W, -3, 5);
  BatchNorm2d bn(C, {.dtype = DType::f64});
  bn.weight->assign(Tensor::from_vector<double>({2, -1}));
  bn.bias->assign(Tensor::from_vector<double>({0.5, 1}));
  Tensor xt = Tensor::from_vector(x, {N, C, H, W});
  Tensor y = bn(xt);
  std::vector<double> mean(C), var(C), expected(x.size());
  auto at = [&](int64_t n, int64_t c, int64_t i) { return size_t((n * C + c) * H * W + i); };
  for (int64_t c = 0; c < C; c++) {
    for (int64_t n = 0; n < N; n++)
      for (int64_t i = 0; i < H * W; i++) mean[size_t(c)] += x[at(n, c, i)] / double(N * H * W);
    for (int64_t n = 0; n < N; n++)
      for (int64_t i = 0; i < H * W; i++) var[size_t(c)] += std::pow(x[at(n, c, i)] - mean[size_t(c)], 2);
    var[size_t(c)] /= double(N * H * W);
  }
  double w[] = {2, -1}, b[] = {0.5, 1};
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t i = 0; i < H * W; i++)
        expected[at(n, c, i)] = (x[at(n, c, i)] - mean[size_t(c)]) / std::sqrt(var[size_t(c)] + 1e-5) * w[c] + b[c];
  check_close(y, {N, C, H, W}, expected, 1e-12, 1e-12);

  // running statistics moved by momentum 0.1 toward the batch's mean and unbiased variance
  double m = double(N * H * W);
  check_close(*bn.running_mean, {C}, {0.1 * mean[0], 0.1 * mean[1]}, 1e-12);
  check_close(*bn.running_var, {C}, {0.9 + 0.1 * var[0] * m / (m - 1), 0.9 + 0.1 * var[1] * m / (m - 1)}, 1e-12);
  CHECK(bn.num_batches_tracked->item() == 1);

  bn.eval();
  std::vector<double> rm = to_doubles(*bn.running_mean), rv = to_doubles(*bn.running_var);
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t i = 0; i < H * W; i++)
        expected[at(n, c, i)] = (x[at(n, c, i)] - rm[size_t(c)]) / std::sqrt(rv[size_t(c)] + 1e-5) * w[c] + b[c];
  check_close(bn(xt), {N, C, H, W}, expected, 1e-12, 1e-12);
  CHECK(bn.num_batches_tracked->item() == 1); // eval leaves the statistics alone

  CHECK_THROWS_WITH(bn(Tensor::zeros({3, 2}, DType::f64)), Catch::Contains("BatchNorm2d(2): input (3,2)"));
  BatchNorm1d bn1(2);
  CHECK(bn1(Tensor::randn({4, 2})).shape() == Shape{4, 2});
  CHECK(bn1(Tensor::randn({4, 2, 5})).shape() == Shape{4, 2, 5});
  CHECK_THROWS_WITH(bn1(Tensor::randn({1, 2})), Catch::Contains("more than one value per channel"));
}

TEST_CASE("LayerNorm, RMSNorm and GroupNorm match naive loops", "[layers]") {
  std::mt19937_64 rng(9);
  std::vector<double> x = random_values(rng, 2 * 4 * 3, -2, 3);
  Tensor xt = Tensor::from_vector(x, {2, 4, 3});
  auto normalize = [](std::vector<double> v, double eps, bool center) {
    double mean = 0, ms = 0;
    for (double a : v) mean += a / double(v.size());
    if (!center) mean = 0;
    for (double a : v) ms += (a - mean) * (a - mean) / double(v.size());
    for (double& a : v) a = (a - mean) / std::sqrt(ms + eps);
    return v;
  };
  // LayerNorm over the last two axes (4, 3) with an affine of that shape
  LayerNorm ln({4, 3}, 1e-5, true, true, DType::f64);
  std::vector<double> gamma = random_values(rng, 12), beta = random_values(rng, 12);
  ln.weight->assign(Tensor::from_vector(gamma, {4, 3}));
  ln.bias->assign(Tensor::from_vector(beta, {4, 3}));
  std::vector<double> expected;
  for (int n = 0; n < 2; n++) {
    auto row = normalize(std::vector<double>(x.begin() + n * 12, x.begin() + n * 12 + 12), 1e-5, true);
    for (size_t i = 0; i < 12; i++) expected.push_back(row[i] * gamma[i] + beta[i]);
  }
  check_close(ln(xt), {2, 4, 3}, expected, 1e-12, 1e-12);

  // RMSNorm over the last axis; eps defaults to f64's machine epsilon
  RMSNorm rms({3}, std::nullopt, true, DType::f64);
  expected.clear();
  for (size_t r = 0; r < 8; r++) {
    auto row = normalize(std::vector<double>(x.begin() + ptrdiff_t(r * 3), x.begin() + ptrdiff_t(r * 3 + 3)),
                         2.220446049250313e-16, false);
    expected.insert(expected.end(), row.begin(), row.end());
  }
  check_close(rms(xt), {2, 4, 3}, expected, 1e-12, 1e-12);

  // GroupNorm: 4 channels in 2 groups, each group (2 channels x 3) normalized, per-channel affine
  GroupNorm gn(2, 4, 1e-5, true, DType::f64);
  gn.weight->assign(Tensor::from_vector<double>({1, 2, 3, 4}));
  gn.bias->assign(Tensor::from_vector<double>({0, -1, 1, 0.5}));
  double gw[] = {1, 2, 3, 4}, gb[] = {0, -1, 1, 0.5};
  expected.clear();
  for (size_t n = 0; n < 2; n++)
    for (size_t g = 0; g < 2; g++) {
      size_t start = n * 12 + g * 6;
      auto group =
          normalize(std::vector<double>(x.begin() + ptrdiff_t(start), x.begin() + ptrdiff_t(start + 6)), 1e-5, true);
      for (size_t i = 0; i < 6; i++) expected.push_back(group[i] * gw[g * 2 + i / 3] + gb[g * 2 + i / 3]);
    }
  check_close(gn(xt), {2, 4, 3}, expected, 1e-12, 1e-12);

  CHECK_THROWS_WITH(ln(Tensor::zeros({2, 3, 4})),
                    Catch::Contains("input (2,3,4) does not end in normalized_shape (4,3)"));
  CHECK_THROWS_WITH(GroupNorm(3, 4), Catch::Contains("num_groups 3 does not divide num_channels 4"));
}

TEST_CASE("Embedding picks rows, and gradients of repeated indices add up", "[layers]") {
  Embedding e(5, 3, DType::f64);
  std::vector<double> w = to_doubles(e.weight);
  Tensor idx = Tensor::from_vector<int32_t>({4, 0, 4, 2}, {2, 2});
  Tensor out = e(idx);
  REQUIRE(out.shape() == Shape{2, 2, 3});
  std::vector<double> expected;
  for (int i : {4, 0, 4, 2})
    for (int j = 0; j < 3; j++) expected.push_back(w[size_t(i * 3 + j)]);
  check_close(out, {2, 2, 3}, expected, 0);
  e(idx).sum().backward();
  check_close(*e.weight.grad(), {5, 3}, {1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 2, 2, 2}, 0);
  CHECK_THROWS_WITH(e(Tensor::zeros({2})), Catch::Contains("Embedding: index is f32, not an integer dtype"));
}

TEST_CASE("Dropout zeroes about p of the elements in training, scales the rest, and is identity in eval", "[layers]") {
  Tensor::manual_seed(11);
  Dropout d(0.25);
  Tensor x = Tensor::full({100000}, 3.0);
  std::vector<float> y = d(x).to_vector<float>();
  size_t zeros = 0;
  for (float v : y) {
    if (v == 0)
      zeros++;
    else
      CHECK(v == Approx(4.0)); // 3 / (1 - 0.25)
  }
  CHECK(double(zeros) / double(y.size()) == Approx(0.25).margin(0.01));
  d.eval();
  CHECK(d(x).is(x));
  CHECK(F::dropout(x, 1.0).to_vector<float>() == std::vector<float>(100000, 0));
  CHECK_THROWS_WITH(Dropout(1.5), Catch::Contains("p 1.5 is not in [0, 1]"));
}

TEST_CASE("cross_entropy and nll_loss match PyTorch's formulas, with smoothing and ignored targets", "[layers]") {
  const int N = 4, C = 3, D = 2;
  std::mt19937_64 rng(13);
  std::vector<double> logits = random_values(rng, N * C * D, -3, 3);
  std::vector<int64_t> target = {0, 2, 1, -100, 2, 2, 0, 1}; // (N, D), one ignored
  Tensor in = Tensor::from_vector(logits, {N, C, D});
  Tensor tg = Tensor::from_vector(target, {N, D});
  for (double eps : {0.0, 0.2}) {
    INFO("label_smoothing " << eps);
    std::vector<double> each;
    double total = 0;
    int counted = 0;
    for (int n = 0; n < N; n++)
      for (int d = 0; d < D; d++) {
        std::vector<double> row;
        for (int c = 0; c < C; c++) row.push_back(logits[size_t((n * C + c) * D + d)]);
        std::vector<double> lp = log_softmax_row(row);
        int64_t t = target[size_t(n * D + d)];
        double loss = 0;
        if (t != -100) {
          double smooth = 0;
          for (double v : lp) smooth -= v / C;
          loss = (1 - eps) * -lp[size_t(t)] + eps * smooth;
          counted++;
        }
        each.push_back(loss);
        total += loss;
      }
    F::CrossEntropyOptions o{.label_smoothing = eps};
    check_close(F::cross_entropy(in, tg, o), {}, {total / counted}, 1e-12, 1e-12);
    o.reduction = F::Reduction::sum;
    check_close(F::cross_entropy(in, tg, o), {}, {total}, 1e-12, 1e-12);
    o.reduction = F::Reduction::none;
    check_close(F::cross_entropy(in, tg, o), {N, D}, each, 1e-12, 1e-12);
  }
  // class probabilities as the target: -sum(p * log_softmax), smoothed toward uniform, mean over the samples
  std::vector<double> probs = random_values(rng, N * C * D, 0, 1);
  double prob_total = 0;
  for (int n = 0; n < N; n++)
    for (int d = 0; d < D; d++) {
      std::vector<double> row;
      for (int c = 0; c < C; c++) row.push_back(logits[size_t((n * C + c) * D + d)]);
      std::vector<double> lp = log_softmax_row(row);
      for (int c = 0; c < C; c++) prob_total -= (probs[size_t((n * C + c) * D + d)] * 0.9 + 0.1 / C) * lp[size_t(c)];
    }
  check_close(F::cross_entropy(in, Tensor::from_vector(probs, {N, C, D}), {.label_smoothing = 0.1}), {},
              {prob_total / (N * D)}, 1e-12, 1e-12);
  // nll_loss of log-probabilities, one sample (C,) and a custom ignore_index
  Tensor lp = Tensor::from_vector<double>({-0.5, -1.5, -2.0});
  check_close(F::nll_loss(lp, Tensor::from_vector<int64_t>({1}).reshape({})), {}, {1.5}, 0);
  Tensor batch = Tensor::from_vector<double>({-0.1, -2, -3, -4}, {2, 2});
  check_close(F::nll_loss(batch, Tensor::from_vector<int32_t>({0, 1}), F::Reduction::mean, 1), {}, {0.1}, 1e-15);
  CHECK_THROWS_WITH(F::cross_entropy(in, Tensor::zeros({N}, DType::i64)),
                    Catch::Contains("target (4,) is not input (4,3,2) without its class axis (4,2)"));
  CHECK_THROWS_WITH(F::cross_entropy(in, tg.cast(DType::f32)), Catch::Contains("target is f32, not an integer dtype"));
}

TEST_CASE("mse, l1, binary cross entropy and its logits form match their formulas", "[layers]") {
  std::vector<double> p = {0.1, 0.7, 0.5, 0.99}, y = {0, 1, 1, 0}, x = {-30, 2, 0.3, 40}, pw = {2, 0.5};
  Tensor pt = Tensor::from_vector(p, {2, 2}), yt = Tensor::from_vector(y, {2, 2}), xt = Tensor::from_vector(x, {2, 2});
  double mse = 0, l1 = 0, bce = 0, bcel = 0, bcew = 0;
  for (size_t i = 0; i < 4; i++) {
    mse += (p[i] - y[i]) * (p[i] - y[i]) / 4;
    l1 += std::fabs(p[i] - y[i]) / 4;
    bce -= (y[i] * std::log(p[i]) + (1 - y[i]) * std::log(1 - p[i])) / 4;
    double sig = 1 / (1 + std::exp(-x[i]));
    // log(sigmoid) and log(1 - sigmoid) in a form exact for large |x|
    double log_sig = -std::log1p(std::exp(-std::fabs(x[i]))) + std::min(x[i], 0.0);
    double log_one_minus = -std::log1p(std::exp(-std::fabs(x[i]))) - std::max(x[i], 0.0);
    (void)sig;
    bcel -= (y[i] * log_sig + (1 - y[i]) * log_one_minus) / 4;
    bcew -= (pw[i % 2] * y[i] * log_sig + (1 - y[i]) * log_one_minus) / 4;
  }
  check_close(F::mse_loss(pt, yt), {}, {mse}, 1e-15);
  check_close(F::l1_loss(pt, yt, F::Reduction::sum), {}, {4 * l1}, 1e-15);
  check_close(F::binary_cross_entropy(pt, yt), {}, {bce}, 1e-14);
  check_close(F::binary_cross_entropy_with_logits(xt, yt), {}, {bcel}, 1e-14, 1e-14);
  check_close(F::binary_cross_entropy_with_logits(xt, yt, F::Reduction::mean, Tensor::from_vector(pw)), {}, {bcew},
              1e-14, 1e-14);
  // PyTorch clamps each log at -100: a certain wrong answer costs 100, not inf
  check_close(F::binary_cross_entropy(Tensor::from_vector<double>({0, 1}), Tensor::from_vector<double>({1, 0}),
                                      F::Reduction::none),
              {2}, {100, 100}, 0);
  CHECK_THROWS_WITH(F::mse_loss(pt, Tensor::zeros({4})), Catch::Contains("mse_loss: input (2,2) and target (4,)"));
}

TEST_CASE("one_hot marks each index's class", "[layers]") {
  Tensor idx = Tensor::from_vector<int32_t>({2, 0, 3});
  Tensor h = F::one_hot(idx);
  CHECK(h.shape() == Shape{3, 4});
  CHECK(h.dtype() == DType::i64);
  CHECK(h.to_vector<int64_t>() == std::vector<int64_t>{0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1});
  CHECK(F::one_hot(idx, 5).shape() == Shape{3, 5});
  CHECK_THROWS_WITH(F::one_hot(Tensor::zeros({2})), Catch::Contains("index is f32"));
}

TEST_CASE("scaled_dot_product_attention matches naive loops with causal, boolean and additive masks", "[layers]") {
  const int B = 2, L = 3, S = 4, E = 2, Ev = 3;
  std::mt19937_64 rng(17);
  std::vector<double> q = random_values(rng, B * L * E), k = random_values(rng, B * S * E),
                      v = random_values(rng, B * S * Ev), add = random_values(rng, L * S);
  std::vector<bool> keep = {true, false, true, true, false, true, true, false, true, true, true, false};
  auto naive = [&](int mode) { // 0 none, 1 causal, 2 bool mask, 3 additive mask
    std::vector<double> out;
    for (int b = 0; b < B; b++)
      for (int i = 0; i < L; i++) {
        std::vector<double> s(S);
        for (int j = 0; j < S; j++) {
          for (int e = 0; e < E; e++) s[j] += q[size_t((b * L + i) * E + e)] * k[size_t((b * S + j) * E + e)];
          s[j] /= std::sqrt(double(E));
          if (mode == 1 && j > i) s[j] = -INFINITY;
          if (mode == 2 && !keep[size_t(i * S + j)]) s[j] = -INFINITY;
          if (mode == 3) s[j] += add[size_t(i * S + j)];
        }
        double m = *std::max_element(s.begin(), s.end()), z = 0;
        for (double& a : s) z += (a = std::exp(a - m));
        for (int c = 0; c < Ev; c++) {
          double acc = 0;
          for (int j = 0; j < S; j++) acc += s[j] / z * v[size_t((b * S + j) * Ev + c)];
          out.push_back(acc);
        }
      }
    return out;
  };
  Tensor qt = Tensor::from_vector(q, {B, L, E}), kt = Tensor::from_vector(k, {B, S, E}),
         vt = Tensor::from_vector(v, {B, S, Ev});
  check_close(F::scaled_dot_product_attention(qt, kt, vt), {B, L, Ev}, naive(0), 1e-12, 1e-12);
  check_close(F::scaled_dot_product_attention(qt, kt, vt, {.is_causal = true}), {B, L, Ev}, naive(1), 1e-12, 1e-12);
  check_close(F::scaled_dot_product_attention(qt, kt, vt, {.attn_mask = Tensor::from_vector(keep, {L, S})}), {B, L, Ev},
              naive(2), 1e-12, 1e-12);
  check_close(F::scaled_dot_product_attention(qt, kt, vt, {.attn_mask = Tensor::from_vector(add, {L, S})}), {B, L, Ev},
              naive(3), 1e-12, 1e-12);
  CHECK_THROWS_WITH(F::scaled_dot_product_attention(qt, vt, vt), Catch::Contains("are not (..., L, E)"));
  CHECK_THROWS_WITH(
      F::scaled_dot_product_attention(qt, kt, vt, {.attn_mask = Tensor::from_vector(keep, {L, S}), .is_causal = true}),
      Catch::Contains("is_causal and attn_mask exclude each other"));
  // dropout on the attention weights: with p = 1 nothing is attended to; with p = 0.5 each output row is a sum of
  // some value rows, each weighted twice as much as without dropout
  check_close(F::scaled_dot_product_attention(qt, kt, vt, {.dropout_p = 1}), {B, L, Ev},
              std::vector<double>(B * L * Ev, 0), 0);
  Tensor ones_v = Tensor::ones({B, S, 1}, DType::f64);
  std::vector<double> kept = to_doubles(F::scaled_dot_product_attention(qt, kt, ones_v, {.dropout_p = 0.5}));
  std::vector<double> all = to_doubles(F::scaled_dot_product_attention(qt, kt, ones_v));
  bool some_dropped = false;
  for (size_t i = 0; i < kept.size(); i++) {
    CHECK(all[i] == Approx(1)); // attention weights sum to 1
    CHECK(kept[i] <= 2 + 1e-12);
    some_dropped |= kept[i] < 2 - 1e-12;
  }
  CHECK(some_dropped);
}

TEST_CASE("gradients of the losses and normalizations match finite differences", "[layers]") {
  Tensor target = Tensor::from_vector<int64_t>({2, 0, -100, 1});
  gradcheck("cross_entropy", [&](auto& x) { return F::cross_entropy(x[0], target, {.label_smoothing = 0.1}); },
            {{4, 3}});
  gradcheck("cross_entropy none",
            [&](auto& x) { return F::cross_entropy(x[0], target, {.reduction = F::Reduction::none}); }, {{4, 3}});
  gradcheck("cross_entropy with probabilities",
            [](auto& x) { return F::cross_entropy(x[0], x[1].softmax(1), {.label_smoothing = 0.2}); },
            {{2, 3}, {2, 3}});
  gradcheck(
      "binary_cross_entropy", [](auto& x) { return F::binary_cross_entropy(x[0], x[1]); }, {{5}, {5}}, 0.1, 0.9);
  gradcheck(
      "binary_cross_entropy_with_logits",
      [](auto& x) { return F::binary_cross_entropy_with_logits(x[0], x[1], F::Reduction::sum, x[2]); },
      {{2, 3}, {2, 3}, {3}}, -3, 3);
  gradcheck("mse_loss", [](auto& x) { return F::mse_loss(x[0], x[1]); }, {{2, 3}, {2, 3}});
  gradcheck("layer_norm", [](auto& x) { return F::layer_norm(x[0], {3}, x[1], x[2]); }, {{2, 3}, {3}, {3}});
  gradcheck("rms_norm", [](auto& x) { return F::rms_norm(x[0], {4}, x[1]); }, {{2, 4}, {4}});
  gradcheck("group_norm", [](auto& x) { return F::group_norm(x[0], 2, x[1], x[2]); }, {{2, 4, 2}, {4}, {4}});
  gradcheck("batch_norm",
            [](auto& x) {
              BatchNorm1d bn(3, {.track_running_stats = false, .dtype = DType::f64});
              return bn(x[0]);
            },
            {{4, 3}});
  gradcheck("attention", [](auto& x) { return F::scaled_dot_product_attention(x[0], x[1], x[2], {.is_causal = true}); },
            {{1, 2, 2}, {1, 3, 2}, {1, 3, 2}});
}
