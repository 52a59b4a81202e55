// Trains a model on Fashion-MNIST and reports, per epoch, the training loss, the test accuracy, the time and the
// images per second. `fashion_mnist mlp` (one epoch, batch 64) or `fashion_mnist cnn` (three epochs, batch 128):
//   build/examples/fashion_mnist cnn [--epochs N] [--batch B] [--lr LR] [--data DIR] [--limit N]
#include "examples/models.h"
#include "frontend/datasets.h"
#include "frontend/nn.h"
#include "frontend/optim.h"
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fmt/format.h>
#include <string>

using namespace patgrad;
namespace F = patgrad::nn::functional;

namespace {

struct Args {
  std::string model = "cnn", data = "/usr/share/datasets/fashion-mnist";
  int epochs = -1;
  int64_t batch = 0, limit = 0;
  double lr = 0;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "fashion_mnist: %s\nusage: fashion_mnist mlp|cnn [--epochs N] [--batch B] [--lr LR] "
               "[--data DIR] [--limit N]\n",
               why);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i++) {
    std::string s = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(fmt::format("{} needs a value", s).c_str());
      return argv[++i];
    };
    try {
      if (s == "mlp" || s == "cnn")
        a.model = s;
      else if (s == "--epochs")
        a.epochs = std::stoi(value());
      else if (s == "--batch")
        a.batch = std::stoll(value());
      else if (s == "--lr")
        a.lr = std::stod(value());
      else if (s == "--data")
        a.data = value();
      else if (s == "--limit")
        a.limit = std::stoll(value());
      else
        usage(fmt::format("unknown argument {}", s).c_str());
    } catch (const std::logic_error&) {
      usage(fmt::format("bad value for {}", s).c_str());
    }
  }
  if (a.epochs < 0) a.epochs = a.model == "mlp" ? 1 : 3;
  if (a.batch == 0) a.batch = a.model == "mlp" ? 64 : 128;
  if (a.lr == 0) a.lr = a.model == "mlp" ? 1e-3 : 2e-3;
  if (a.epochs < 1 || a.batch < 1) usage("epochs and batch must be at least 1");
  return a;
}

template <typename Model>
double accuracy(Model& model, const datasets::Dataset& test) {
  Tensor::NoGrad scope;
  model.eval();
  datasets::DataLoader loader({test.images, test.labels}, {.batch_size = 1000});
  int64_t correct = 0;
  for (std::vector<Tensor> b : loader) {
    Tensor x = b[0].reshape({b[0].shape()[0], 1, 28, 28});
    correct += int64_t(model(x).argmax(1).eq(b[1]).cast(DType::i32).sum().item());
  }
  model.train();
  return double(correct) / double(test.labels.numel());
}

template <typename Model>
int train(Model& model, const Args& a) {
  datasets::FashionMnistOptions opts{.dir = a.data, .format = datasets::ImageFormat::f32_normal};
  datasets::Dataset train = datasets::fashion_mnist(datasets::Split::train, opts);
  datasets::Dataset test = datasets::fashion_mnist(datasets::Split::test, opts);
  if (a.limit > 0 && a.limit < train.labels.numel())
    train = {train.images.shrink({{0, a.limit}, {0, 28}, {0, 28}}).realize(),
             train.labels.shrink({{0, a.limit}}).realize()};
  optim::Adam opt(nn::get_parameters(model), a.lr);
  datasets::DataLoader loader({train.images, train.labels}, {.batch_size = a.batch, .shuffle = true, .seed = 1});
  optim::CosineAnnealingLR schedule(opt, loader.num_batches() * a.epochs); // stepped every batch
  fmt::print(
      "{}: {} parameters, {} training images, batch {}, Adam lr {} with cosine decay\n", a.model,
      [&] {
        int64_t n = 0;
        for (const Tensor& p : nn::get_parameters(model)) n += p.numel();
        return n;
      }(),
      train.labels.numel(), a.batch, a.lr);
  double acc = 0;
  for (int epoch = 1; epoch <= a.epochs; epoch++) {
    auto start = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t steps = 0;
    for (std::vector<Tensor> b : loader) {
      Tensor x = b[0].reshape({b[0].shape()[0], 1, 28, 28});
      Tensor loss = F::cross_entropy(model(x), b[1]);
      opt.zero_grad();
      loss.backward();
      opt.step();
      schedule.step();
      loss_sum += loss.item();
      if (++steps % 100 == 0) std::fflush(stdout);
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    acc = accuracy(model, test);
    fmt::print("epoch {}: loss {:.4f}  test accuracy {:.2f}%  {:.1f} s  {:.0f} images/s\n", epoch,
               loss_sum / double(steps), 100 * acc, seconds, double(train.labels.numel()) / seconds);
    std::fflush(stdout);
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  try {
    Tensor::manual_seed(0);
    if (a.model == "mlp") {
      examples::Mlp m;
      return train(m, a);
    }
    examples::Cnn m;
    return train(m, a);
  } catch (const TensorError& e) {
    std::fprintf(stderr, "fashion_mnist: %s\n", e.what());
    return 1;
  }
}
