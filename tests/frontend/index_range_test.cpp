// Index values outside their range, in every op that selects by them (gather, Embedding, one_hot, nll_loss,
// cross_entropy): an error naming the op when the index is host data, the documented result when it is lazy (without
// computing it for a check), and an error again under PATGRAD_CHECK=1.
#include "frontend/nn.h"
#include "tests/frontend/check.h"
#include "tests/shell.h"
#include <functional>
#include <memory>
#include <optional>

using namespace patgrad;
using testing::check_close;
using testing::fails;
namespace F = nn::functional;

namespace {

using patgrad::testing::ScopedEnv;

struct Case {
  std::function<Tensor(const Tensor& index)> op; // the op, given an index tensor
  std::vector<int64_t> bad;                      // index values, one of them out of range
  std::string message;
};

// Each op, with indices into a size of 4 (classes, embeddings, the gathered axis).
std::vector<Case> cases() {
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4});
  auto emb = std::make_shared<nn::Embedding>(4, 3); // modules do not copy
  return {
      {[=](const Tensor& i) { return (*emb)(i); }, {0, 7}, "Embedding: index 7 out of range for 4 embeddings"},
      {[=](const Tensor& i) { return (*emb)(i); }, {-1, 2}, "Embedding: index -1 out of range for 4 embeddings"},
      {[=](const Tensor& i) {
         return x.gather(1, i.reshape({2, 1}));
       },
       {0, 5},
       "gather: index 5 out of range for dimension 1 of size 4"},
      {[=](const Tensor& i) {
         return x.gather(-1, i.reshape({1, 2}));
       },
       {-2, 1},
       "gather: index -2 out of range for dimension 1 of size 4"},
      {[=](const Tensor& i) { return F::cross_entropy(x, i); },
       {1, 7},
       "cross_entropy: target 7 out of range for 4 classes"},
      {[=](const Tensor& i) { return F::cross_entropy(x, i, {.label_smoothing = 0.1}); },
       {4, 0},
       "cross_entropy: target 4 out of range for 4 classes"},
      {[=](const Tensor& i) { return F::nll_loss(x, i); }, {-3, 0}, "nll_loss: target -3 out of range for 4 classes"},
      {[=](const Tensor& i) { return F::one_hot(i, 4); }, {3, 4}, "one_hot: index 4 out of range for 4 classes"},
      {[=](const Tensor& i) { return F::one_hot(i); }, {-1, 2}, "one_hot: index -1 out of range for 3 classes"},
  };
}

} // namespace

TEST_CASE("an out-of-range index in host data is an error naming the op and the value", "[index]") {
  ScopedEnv off("PATGRAD_CHECK", nullptr);
  for (const Case& c : cases())
    for (DType d : {DType::i32, DType::i64, DType::i8}) {
      INFO(c.message << " in " << uops::name(d));
      std::vector<double> values(c.bad.begin(), c.bad.end());
      fails([&] { c.op(Tensor::from_vector(values).cast(d).realize()); }, c.message);
      fails([&] { c.op(Tensor::from_vector(c.bad).cast(d).realize()); }, c.message); // realized from a kernel
    }
  // unsigned values past int64 are named as they are
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4});
  fails([&] { x.gather(0, Tensor::from_vector<uint64_t>({uint64_t(1) << 63})); },
        "gather: index 9223372036854775808 out of range for dimension 0 of size 4");
  fails(
      [&] {
        F::cross_entropy(Tensor::zeros({1, 10}), Tensor::from_vector<uint8_t>({200}));
      },
      "cross_entropy: target 200 out of range for 10 classes");
}

TEST_CASE("indices in range, and ignore_index, pass the check and select as before", "[index]") {
  ScopedEnv off("PATGRAD_CHECK", nullptr);
  for (const runtime::Target* dev : testing::complete_targets()) {
    Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4}).to(dev);
    check_close(x.gather(1, Tensor::from_vector<int64_t>({3, 0}, {2, 1}).to(dev)), {2, 1}, {4, 5}, 0);
    nn::Embedding emb(4, 2);
    std::vector<float> w = emb.weight.to_vector<float>();
    check_close(emb(Tensor::from_vector<int32_t>({3, 0}).to(dev)), {2, 2}, {w[6], w[7], w[0], w[1]}, 0);
    check_close(F::one_hot(Tensor::from_vector<int32_t>({2}).to(dev), 3), {1, 3}, {0, 0, 1}, 0);
    // -100, PyTorch's default ignore_index, is no class and no error: the mean is over the other sample
    Tensor logits = Tensor::from_vector<float>({0, 0, 0, 0, 5, 1, 1, 1}, {2, 4}).to(dev);
    Tensor loss = F::cross_entropy(logits, Tensor::from_vector<int64_t>({-100, 0}).to(dev));
    check_close(loss, {}, {-(5 - std::log(std::exp(5.0) + 3 * std::exp(1.0)))}, 1e-5);
    CHECK_NOTHROW(F::nll_loss(logits, Tensor::from_vector<int64_t>({7, 1}).to(dev), F::Reduction::mean, 7));
  }
}

TEST_CASE("a lazy out-of-range index is not computed for a check and gives the documented result", "[index]") {
  ScopedEnv off("PATGRAD_CHECK", nullptr);
  for (const runtime::Target* dev : testing::complete_targets()) {
    Tensor seven = Tensor::from_vector<int32_t>({0}).to(dev) + 7; // lazy: known only when a kernel runs
    Tensor x = Tensor::from_vector<float>({1, 2, 3, 4}, {1, 4}).to(dev);
    nn::Embedding emb(4, 3);
    int64_t kernels = Tensor::run_stats().kernels;
    Tensor rows = emb(seven), picked = x.gather(1, seven.reshape({1, 1})), hot = F::one_hot(seven, 4);
    Tensor nll = F::nll_loss(x, seven), ce = F::cross_entropy(x, seven);
    CHECK(Tensor::run_stats().kernels == kernels); // building them ran nothing
    check_close(rows, {1, 3}, {0, 0, 0}, 0);       // a row of zeros
    check_close(picked, {1, 1}, {0}, 0);           // 0
    check_close(hot, {1, 4}, {0, 0, 0, 0}, 0);     // no class
    check_close(nll, {}, {0}, 0);                  // adds 0, and counts in the mean
    check_close(ce, {}, {0}, 0);
  }
}

TEST_CASE("PATGRAD_CHECK=1 computes lazy indices and checks them", "[index]") {
  ScopedEnv on("PATGRAD_CHECK", "1");
  for (const Case& c : cases()) {
    INFO(c.message);
    Tensor lazy = Tensor::from_vector(c.bad) + 0;
    fails([&] { c.op(lazy); }, c.message);
  }
  Tensor ok = Tensor::from_vector<int64_t>({1, 2}) + 1; // in range: computed, checked, and used as before
  check_close(Tensor::from_vector<float>({1, 2, 3, 4}).gather(0, ok), {2}, {3, 4}, 0);
  ScopedEnv zero("PATGRAD_CHECK", "0");
  CHECK_NOTHROW(nn::Embedding(4, 3)(Tensor::from_vector<int64_t>({9}) + 0));
}
