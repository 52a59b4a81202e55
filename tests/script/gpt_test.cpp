// examples/gpt.pg against the same model built with the C++ API: a small random checkpoint, the script's logits for
// a prompt (saved with safe_save) and the C++ model's must agree.
#include "frontend/nn.h"
#include "frontend/safetensors.h"
#include "frontend/script/script.h"
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>

using namespace patgrad;
namespace F = patgrad::nn::functional;

namespace {

struct Attention : nn::Module {
  nn::Linear c_attn, c_proj;
  int64_t heads;
  Attention(int64_t c, int64_t h) : c_attn(c, 3 * c), c_proj(c, c), heads(h) {
    register_module("c_attn", c_attn), register_module("c_proj", c_proj);
  }
  Tensor operator()(const Tensor& x) const {
    int64_t b = x.shape()[0], t = x.shape()[1], c = x.shape()[2];
    std::vector<Tensor> qkv = c_attn(x).split(c, 2);
    auto split_heads = [&](const Tensor& y) { return y.reshape({b, t, heads, c / heads}).transpose(1, 2); };
    Tensor y = F::scaled_dot_product_attention(split_heads(qkv[0]), split_heads(qkv[1]), split_heads(qkv[2]),
                                               {.is_causal = true});
    return c_proj(y.transpose(1, 2).reshape({b, t, c}));
  }
};

struct Mlp : nn::Module {
  nn::Linear c_fc, c_proj;
  explicit Mlp(int64_t c) : c_fc(c, 4 * c), c_proj(4 * c, c) {
    register_module("c_fc", c_fc), register_module("c_proj", c_proj);
  }
  Tensor operator()(const Tensor& x) const { return c_proj(c_fc(x).gelu()); }
};

struct Block : nn::Module {
  nn::LayerNorm ln_1, ln_2;
  Attention attn;
  Mlp mlp;
  Block(int64_t c, int64_t h) : ln_1(Shape{c}), ln_2(Shape{c}), attn(c, h), mlp(c) {
    register_module("ln_1", ln_1), register_module("attn", attn), register_module("ln_2", ln_2);
    register_module("mlp", mlp);
  }
  Tensor operator()(const Tensor& x) const {
    Tensor y = x + attn(ln_1(x));
    return y + mlp(ln_2(y));
  }
};

struct Blocks : nn::Module { // children "0", "1", ...: the script's list h
  std::vector<std::unique_ptr<Block>> blocks;
  Blocks(int64_t layers, int64_t c, int64_t heads) {
    for (int64_t i = 0; i < layers; i++) {
      blocks.push_back(std::make_unique<Block>(c, heads));
      register_module(std::to_string(i), *blocks.back());
    }
  }
};

struct Gpt : nn::Module {
  nn::Embedding wte, wpe;
  Blocks h;
  nn::LayerNorm ln_f;
  Gpt(int64_t vocab, int64_t block, int64_t layers, int64_t heads, int64_t c)
      : wte(vocab, c), wpe(block, c), h(layers, c, heads), ln_f(Shape{c}) {
    register_module("wte", wte), register_module("wpe", wpe), register_module("h", h), register_module("ln_f", ln_f);
  }
  Tensor operator()(const Tensor& idx) const {
    int64_t t = idx.shape()[1];
    Tensor x = wte(idx) + wpe(Tensor::arange(t).reshape({1, t}));
    for (const auto& b : h.blocks) x = (*b)(x);
    return ln_f(x).matmul(wte.weight.transpose());
  }
};

} // namespace

TEST_CASE("gpt.pg computes the logits of the C++ model from the same checkpoint", "[script][gpt]") {
  Tensor::manual_seed(11);
  Gpt model(50, 16, 2, 2, 32);
  // LayerNorm starts at ones and zeros: random values make the check see every parameter
  for (auto& [name, p] : model.named_parameters())
    if (name.find("ln_") != std::string::npos) p.assign((Tensor::rand(p.shape()) + 0.5).realize());
  auto dir = std::filesystem::temp_directory_path() / ("patgrad_gpt_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string ckpt = (dir / "gpt.safetensors").string(), out = (dir / "logits.safetensors").string();
  safe_save(ckpt, model.state_dict());
  std::vector<int32_t> prompt{3, 14, 15, 9, 2, 6};
  int code = script::run_file(std::string(PATGRAD_SOURCE_DIR) + "/examples/gpt.pg",
                              {ckpt, "--heads", "2", "--prompt", "3,14,15,9,2,6", "--tokens", "4", "--logits", out});
  REQUIRE(code == 0);
  NamedTensors got = safe_load(out);
  REQUIRE(got.size() == 1);
  Tensor expected = model(Tensor::from_vector(prompt, {1, 6}));
  REQUIRE(got[0].second.shape() == expected.shape());
  std::vector<float> a = got[0].second.to_vector<float>(), b = expected.to_vector<float>();
  for (size_t i = 0; i < a.size(); i++) {
    INFO("logit " << i);
    CHECK(std::fabs(a[i] - b[i]) <= 1e-4 + 1e-4 * std::fabs(b[i]));
  }
  std::filesystem::remove_all(dir);
}
