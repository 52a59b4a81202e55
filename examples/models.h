// The Fashion-MNIST models of examples/fashion_mnist.cpp, shared with bench/bench_cnn_step.cpp, and tinygrad's MNIST
// example model (bench/bench_mnist_step.cpp); the tests lower their training steps
// (tests/lowering/inner_loops_test.cpp).
#pragma once
#include "frontend/nn.h"

namespace patgrad::examples {

// 784 -> 256 -> 128 -> 10 with ReLU
struct Mlp : nn::Module {
  nn::Linear l1{784, 256}, l2{256, 128}, l3{128, 10};
  Mlp() { register_module("l1", l1), register_module("l2", l2), register_module("l3", l3); }
  Tensor operator()(const Tensor& x) { return l3(l2(l1(x.flatten(1)).relu()).relu()); }
};

// two conv + pool blocks, then linear layers: (N,1,28,28) -> 16x14x14 -> 32x7x7 -> 128 -> 10; batch norm after each
// convolution lets Adam take larger steps
struct Cnn : nn::Module {
  nn::Conv2d c1{1, 16, {3, 3}, {.padding = {1}}}, c2{16, 32, {3, 3}, {.padding = {1}}};
  nn::BatchNorm2d n1{16}, n2{32};
  nn::Linear fc1{32 * 7 * 7, 128}, fc2{128, 10};
  Cnn() {
    register_module("c1", c1), register_module("n1", n1), register_module("c2", c2), register_module("n2", n2);
    register_module("fc1", fc1), register_module("fc2", fc2);
  }
  Tensor operator()(const Tensor& x) {
    Tensor h = n1(c1(x)).relu().max_pool2d({2, 2});
    h = n2(c2(h)).relu().max_pool2d({2, 2});
    return fc2(fc1(h.flatten(1)).relu());
  }
};

// tinygrad's MNIST example: conv 1->32 5x5, conv 32->32 5x5, batch norm, max pool, conv 32->64 3x3, conv 64->64 3x3,
// batch norm, max pool, linear 576->10 (ReLU after each conv); about 55 GFLOP a training step at batch 512
struct MnistNet : nn::Module {
  nn::Conv2d c1{1, 32, {5, 5}}, c2{32, 32, {5, 5}}, c3{32, 64, {3, 3}}, c4{64, 64, {3, 3}};
  nn::BatchNorm2d n1{32}, n2{64};
  nn::Linear fc{576, 10};
  MnistNet() {
    register_module("c1", c1), register_module("c2", c2), register_module("n1", n1);
    register_module("c3", c3), register_module("c4", c4), register_module("n2", n2), register_module("fc", fc);
  }
  Tensor operator()(const Tensor& x) {
    Tensor h = n1(c2(c1(x).relu()).relu()).max_pool2d({2, 2});
    h = n2(c4(c3(h).relu()).relu()).max_pool2d({2, 2});
    return fc(h.flatten(1));
  }
};

} // namespace patgrad::examples
