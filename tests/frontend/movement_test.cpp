// Movement ops (reshape, permute, expand, pad, shrink, flip, transpose, flatten, squeeze, unsqueeze, repeat, cat,
// stack, split, chunk) against naive index maps over host doubles, on both devices, every dtype, shapes with size-1
// and zero-size axes, and non-contiguous inputs. Movement only moves values, so every check is exact (tolerance 0):
// the inputs are values each dtype holds exactly.
#include "lowering/lowering.h"
#include "tests/frontend/check.h"
#include <functional>

using namespace patgrad;
using testing::check_close;

namespace {

using Values = std::vector<double>;
const DType all_dtypes[] = {DType::bool_, DType::i8,  DType::i16, DType::i32,  DType::i64, DType::u8, DType::u16,
                            DType::u32,   DType::u64, DType::f16, DType::bf16, DType::f32, DType::f64};

// testing::tensor_of, but bf16 comes from f32 (exact for these values): the CPU JIT cannot convert f64 to bf16 yet
// (the fptrunc needs __truncdfbf2, which the process does not have).
Tensor input(const Values& v, const Shape& s, DType d, const runtime::Target* dev) {
  Tensor t = Tensor::from_vector(v, s).cast(d == DType::bf16 ? DType::f32 : d).cast(d);
  return t.realize().to(dev);
}

int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

// A host array, row-major: the reference side of every check.
struct Host {
  Shape shape;
  Values v;
  double at(const Shape& idx) const {
    int64_t flat = 0;
    for (size_t i = 0; i < shape.size(); i++) flat = flat * shape[i] + idx[i];
    return v[size_t(flat)];
  }
};

// out[idx] = f(idx) for every index of shape.
Host build(const Shape& shape, const std::function<double(const Shape&)>& f) {
  Host h{shape, Values(size_t(numel(shape)))};
  Shape idx(shape.size(), 0);
  for (size_t k = 0; k < h.v.size(); k++) {
    h.v[k] = f(idx);
    for (size_t i = shape.size(); i-- > 0;)
      if (++idx[i] < shape[i])
        break;
      else
        idx[i] = 0;
  }
  return h;
}

// Values every dtype holds exactly: 0/1 for bool, [0, 9] unsigned, [-9, 9] signed, multiples of 1/8 for floats.
Host random_host(std::mt19937_64& rng, const Shape& shape, DType d) {
  return build(shape, [&](const Shape&) {
    if (uops::is_bool(d)) return double(rng() % 2);
    if (uops::is_unsigned(d)) return double(rng() % 10);
    if (uops::is_float(d)) return double(int64_t(rng() % 33) - 16) / 8;
    return double(int64_t(rng() % 19) - 9);
  });
}

// Dimensions from {0, 1, 2, 3, 4}, zero rarely.
Shape random_shape(std::mt19937_64& rng, size_t ndim) {
  Shape s(ndim);
  for (int64_t& d : s) d = rng() % 8 == 0 ? 0 : int64_t(1 + rng() % 4);
  return s;
}

// The host values as a tensor that is not contiguous: stored with its axes reversed and each one flipped, then
// permuted and flipped back.
Tensor strided(const Host& h, DType d, const runtime::Target* dev) {
  size_t n = h.shape.size();
  Shape rev(h.shape.rbegin(), h.shape.rend()), order, all;
  Host stored = build(rev, [&](const Shape& i) {
    Shape src(n);
    for (size_t k = 0; k < n; k++) src[n - 1 - k] = h.shape[n - 1 - k] - 1 - i[k];
    return h.at(src);
  });
  for (size_t k = 0; k < n; k++) order.push_back(int64_t(n - 1 - k)), all.push_back(int64_t(k));
  return input(stored.v, rev, d, dev).permute(order).flip(all);
}

using patgrad::testing::kernels;

template <typename F>
void check_error(F&& f, const std::string& fragment) {
  INFO("expected an error containing: " << fragment);
  try {
    f();
    FAIL("no error");
  } catch (const TensorError& e) {
    CHECK_THAT(e.what(), Catch::Contains(fragment));
  }
}

} // namespace

TEST_CASE("reshape, permute, expand, pad, shrink and flip move values as index maps do", "[shape]") {
  std::mt19937_64 rng(1);
  for (auto dev : testing::complete_targets())
    for (DType d : all_dtypes) {
      INFO(dev->name << " " << uops::name(d));
      Shape s = random_shape(rng, 3);
      if (int(d) % 2) s[1] = 1; // every other dtype: a size-1 middle axis
      Host h = random_host(rng, s, d);
      Tensor t = strided(h, d, dev);
      check_close(t.reshape({-1}), {numel(s)}, h.v, 0);
      check_close(t.reshape({s[2], s[1], s[0]}).reshape(s), s, h.v, 0);
      if (numel(s)) check_close(t.reshape({s[2], -1, s[0]}), {s[2], s[1], s[0]}, h.v, 0);
      Shape p{s[2], s[0], s[1]};
      check_close(t.permute({-1, 0, 1}), p, build(p, [&](const Shape& i) { return h.at({i[1], i[2], i[0]}); }).v, 0);
      Shape e{2, s[0], 3, s[2]};
      if (s[1] > 0)
        check_close(t.shrink({{0, s[0]}, {0, 1}, {0, s[2]}}).expand({2, -1, 3, -1}), e,
                    build(e,
                          [&](const Shape& i) {
                            return h.at({i[1], 0, i[3]});
                          })
                        .v,
                    0);
      Shape padded{s[0] + 1, s[1], s[2] + 3};
      double fill = uops::is_bool(d) ? 1 : 7;
      check_close(t.pad({{1, 0}, {0, 0}, {2, 1}}, fill), padded,
                  build(padded,
                        [&](const Shape& i) {
                          bool in = i[0] >= 1 && i[2] >= 2 && i[2] < s[2] + 2;
                          return in ? h.at({i[0] - 1, i[1], i[2] - 2}) : fill;
                        })
                      .v,
                  0);
      Shape shrunk{s[0], s[1], std::max<int64_t>(s[2] - 1, 0)};
      check_close(t.shrink({{0, s[0]}, {0, s[1]}, {s[2] ? 1 : 0, s[2]}}), shrunk,
                  build(shrunk,
                        [&](const Shape& i) {
                          return h.at({i[0], i[1], i[2] + 1});
                        })
                      .v,
                  0);
      check_close(t.flip({0, -1}), s,
                  build(s,
                        [&](const Shape& i) {
                          return h.at({s[0] - 1 - i[0], i[1], s[2] - 1 - i[2]});
                        })
                      .v,
                  0);
    }
}

TEST_CASE("transpose, flatten, squeeze and unsqueeze rearrange axes as index maps do", "[shape]") {
  std::mt19937_64 rng(2);
  for (auto dev : testing::complete_targets())
    for (DType d : all_dtypes) {
      INFO(dev->name << " " << uops::name(d));
      Shape s = random_shape(rng, 4);
      s[1] = 1;
      Host h = random_host(rng, s, d);
      Tensor t = strided(h, d, dev);
      Shape tr{s[0], s[1], s[3], s[2]};
      check_close(t.transpose(), tr, build(tr, [&](const Shape& i) { return h.at({i[0], i[1], i[3], i[2]}); }).v, 0);
      Shape tr03{s[3], s[1], s[2], s[0]};
      check_close(t.transpose(0, -1), tr03,
                  build(tr03,
                        [&](const Shape& i) {
                          return h.at({i[3], i[1], i[2], i[0]});
                        })
                      .v,
                  0);
      check_close(t.flatten(), {numel(s)}, h.v, 0);
      check_close(t.flatten(1, 2), {s[0], s[2], s[3]}, h.v, 0);
      check_close(t.flatten(-1), s, h.v, 0);
      check_close(t.squeeze(1), {s[0], s[2], s[3]}, h.v, 0);
      Shape no_ones;
      for (int64_t x : s)
        if (x != 1) no_ones.push_back(x);
      check_close(t.squeeze(), no_ones, h.v, 0);
      check_close(t.unsqueeze(0), {1, s[0], s[1], s[2], s[3]}, h.v, 0);
      check_close(t.unsqueeze(-1), {s[0], s[1], s[2], s[3], 1}, h.v, 0);
      check_close(t.unsqueeze(2), {s[0], s[1], 1, s[2], s[3]}, h.v, 0);
      double three = uops::is_bool(d) ? 1 : 3;
      Tensor scalar = input({three}, {}, d, dev);
      check_close(scalar.flatten(), {1}, {three}, 0);
      check_close(scalar.unsqueeze(0).squeeze(0).squeeze().transpose(0, -1), {}, {three}, 0);
    }
}

TEST_CASE("repeat tiles each axis and adds leading axes", "[shape]") {
  std::mt19937_64 rng(3);
  for (auto dev : testing::complete_targets())
    for (DType d : all_dtypes) {
      INFO(dev->name << " " << uops::name(d));
      Shape s = random_shape(rng, 2);
      Host h = random_host(rng, s, d);
      Tensor t = strided(h, d, dev);
      Shape out{2, s[0] * 3, s[1]};
      check_close(t.repeat({2, 3, 1}), out, build(out, [&](const Shape& i) { return h.at({i[1] % s[0], i[2]}); }).v, 0);
      check_close(t.repeat({0, 2}), {0, s[1] * 2}, {}, 0);
      check_close(t.repeat({1, 1}), s, h.v, 0);
    }
}

TEST_CASE("cat and stack join along an axis, bit-exactly for every dtype, in one kernel", "[shape]") {
  std::mt19937_64 rng(4);
  for (auto dev : testing::complete_targets())
    for (DType d : all_dtypes)
      for (int64_t axis : {1, -1}) {
        INFO(dev->name << " " << uops::name(d) << " axis " << axis);
        Shape s = random_shape(rng, 3);
        int64_t a = axis < 0 ? axis + 3 : axis;
        std::vector<Host> hosts;
        std::vector<Tensor> tensors;
        for (int64_t len : {int64_t(2), int64_t(0), int64_t(3)}) {
          Shape piece = s;
          piece[a] = len;
          hosts.push_back(random_host(rng, piece, d));
          tensors.push_back(tensors.empty() ? strided(hosts.back(), d, dev) : input(hosts.back().v, piece, d, dev));
        }
        Shape out = s;
        out[a] = 5;
        Tensor joined = Tensor::cat(tensors, axis);
        CHECK(joined.dtype() == d);
        CHECK(kernels(joined) == 1);
        check_close(joined, out,
                    build(out,
                          [&](Shape i) {
                            const Host& h = i[a] < 2 ? hosts[0] : hosts[2];
                            i[a] -= i[a] < 2 ? 0 : 2;
                            return h.at(i);
                          })
                        .v,
                    0);
        int64_t sa = axis < 0 ? 3 : axis; // where the new axis goes
        Shape st = s;
        st.insert(st.begin() + sa, 2);
        Host first = random_host(rng, s, d), second = random_host(rng, s, d);
        check_close(Tensor::stack({input(first.v, s, d, dev), strided(second, d, dev)}, axis), st,
                    build(st,
                          [&](Shape i) {
                            int64_t which = i[sa];
                            i.erase(i.begin() + sa);
                            return which ? second.at(i) : first.at(i);
                          })
                        .v,
                    0);
      }
  // negative zero and NaN survive (an add of values would turn -0 into +0); dtypes promote as add does
  for (auto dev : testing::complete_targets()) {
    Tensor z = Tensor::from_vector<float>({-0.0f, NAN}).to(dev);
    std::vector<float> got = Tensor::cat({z, z}).to_vector<float>();
    CHECK((std::signbit(got[0]) && std::signbit(got[2]) && std::isnan(got[1]) && std::isnan(got[3])));
    Tensor mixed = Tensor::cat({Tensor::from_vector<int8_t>({-3}).to(dev), Tensor::from_vector<float>({0.5f}).to(dev),
                                Tensor::from_vector<bool>({true}).to(dev)});
    CHECK(mixed.dtype() == DType::f32);
    check_close(mixed, {3}, {-3, 0.5, 1}, 0);
  }
}

TEST_CASE("split and chunk cut an axis into pieces as PyTorch does", "[shape]") {
  std::mt19937_64 rng(5);
  for (auto dev : testing::complete_targets())
    for (DType d : {DType::bool_, DType::u8, DType::i64, DType::bf16, DType::f32}) {
      INFO(dev->name << " " << uops::name(d));
      Shape s{3, 7};
      Host h = random_host(rng, s, d);
      Tensor t = strided(h, d, dev);
      auto piece = [&](int64_t from, int64_t len) {
        return build({3, len}, [&](const Shape& i) { return h.at({i[0], i[1] + from}); }).v;
      };
      std::vector<Tensor> by_size = t.split(3, 1);
      REQUIRE(by_size.size() == 3);
      check_close(by_size[0], {3, 3}, piece(0, 3), 0);
      check_close(by_size[1], {3, 3}, piece(3, 3), 0);
      check_close(by_size[2], {3, 1}, piece(6, 1), 0);
      std::vector<Tensor> by_sizes = t.split(Shape{2, 0, 5}, -1);
      REQUIRE(by_sizes.size() == 3);
      check_close(by_sizes[0], {3, 2}, piece(0, 2), 0);
      check_close(by_sizes[1], {3, 0}, {}, 0);
      check_close(by_sizes[2], {3, 5}, piece(2, 5), 0);
      std::vector<Tensor> chunks = t.chunk(3, 1); // ceil(7 / 3) = 3 each: 3, 3, 1
      REQUIRE(chunks.size() == 3);
      check_close(chunks[2], {3, 1}, piece(6, 1), 0);
      CHECK(t.chunk(6, 1).size() == 4); // pieces of 2: PyTorch gives fewer than asked
      CHECK(t.chunk(1, 0)[0].shape() == Shape{3, 7});
      Tensor empty = input({}, {0, 2}, d, dev);
      CHECK(empty.split(2).size() == 1);
      CHECK(empty.chunk(3).size() == 3);
      CHECK(empty.chunk(3)[2].shape() == Shape{0, 2});
    }
}

TEST_CASE("movement ops fuse: slicing, joining and tiling run as one kernel", "[shape]") {
  Tensor t = Tensor::arange(24).reshape({2, 3, 4});
  CHECK(kernels(t.transpose().flatten().unsqueeze(0).repeat({2, 1})) == 1);
  CHECK(kernels(Tensor::stack({t, t.flip({0}), t.transpose(0, 1).transpose(0, 1)}, 1)) == 1);
  CHECK(kernels(t.split(Shape{1, 2}, 1)[1].transpose(0, 1)) == 1);
}

TEST_CASE("movement ops reject bad sizes, axes and padding with the op's name", "[shape]") {
  Tensor t = Tensor::zeros({2, 3});
  Tensor s = Tensor::zeros({});
  check_error([&] { t.reshape({4, -1}); }, "reshape: cannot reshape (2,3) to (4,-1)");
  check_error([&] { t.reshape({7}); }, "reshape: cannot reshape (2,3) to (7,)");
  check_error([&] { t.reshape({-1, -1}); }, "reshape: more than one -1");
  check_error([&] { t.reshape({-2, -3}); }, "reshape: negative size in (-2,-3)");
  check_error([&] { t.permute({0}); }, "permute: (0,) does not order the 2 axes of (2,3)");
  check_error([&] { t.permute({0, 0}); }, "permute: axis 0 appears twice");
  check_error([&] { t.permute({0, 2}); }, "permute: axis 2 is out of range for (2,3)");
  check_error([&] { t.expand({4, 3}); }, "expand: cannot expand (2,3) to (4,3)");
  check_error([&] { t.expand({3}); }, "expand: cannot expand (2,3) to fewer axes (3,)");
  check_error([&] { t.reshape({2, 3, 1}).expand({2, 3, -5}); }, "expand: cannot expand (2,3,1) to (2,3,-5)");
  check_error([&] { t.pad({{0, 1}}); }, "pad: 1 (before, after) pairs for (2,3)");
  check_error([&] { t.pad({{0, 1}, {-1, 0}}); }, "pad: negative padding (-1, 0) for (2,3)");
  check_error([&] { t.shrink({{0, 2}, {2, 4}}); }, "shrink: range [2, 4) does not fit axis 1 of (2,3)");
  check_error([&] { t.shrink({{1, 0}, {0, 3}}); }, "shrink: range [1, 0) does not fit axis 0 of (2,3)");
  check_error([&] { t.flip({-3}); }, "flip: axis -3 is out of range for (2,3)");
  check_error([&] { t.flip({1, -1}); }, "flip: axis 1 appears twice");
  check_error([&] { t.transpose(0, 2); }, "transpose: axis 2 is out of range for (2,3)");
  check_error([&] { t.flatten(1, 0); }, "flatten: start axis 1 comes after end axis 0");
  check_error([&] { t.squeeze(1); }, "squeeze: axis 1 of (2,3) has size 3, not 1");
  check_error([&] { t.unsqueeze(3); }, "unsqueeze: axis 3 is out of range for (2,3) (from -3 to 2)");
  check_error([&] { t.repeat({2}); }, "repeat: (2,) has fewer repeats than the axes of (2,3)");
  check_error([&] { t.repeat({1, -1}); }, "repeat: negative repeat in (1,-1)");
  check_error([&] { Tensor::cat({}); }, "cat: no tensors");
  check_error([&] { Tensor::cat({t, Tensor::zeros({3, 3})}, 1); }, "cat: cannot join (2,3) and (3,3) along axis 1");
  check_error([&] { Tensor::cat({t, Tensor::zeros({2})}); }, "cat: cannot join (2,3) and (2,) along axis 0");
  check_error([&] { Tensor::cat({s, s}); }, "cat: cannot join () and () along axis 0");
  check_error([&] { Tensor::cat({t}, 2); }, "cat: axis 2 is out of range for (2,3)");
  check_error([&] { Tensor::stack({t, Tensor::zeros({3, 2})}); }, "stack: shapes (2,3) and (3,2) differ");
  check_error([&] { Tensor::stack({t}, 3); }, "stack: axis 3 is out of range for (2,3) (from -3 to 2)");
  check_error([&] { t.split(0, 1); }, "split: size 0 is not positive");
  check_error([&] { t.split(Shape{1, 1}, 1); }, "split: sizes (1,1) do not add up to axis 1 of (2,3)");
  check_error([&] { t.split(Shape{4, -1}, 1); }, "split: negative size in (4,-1)");
  check_error([&] { s.split(1); }, "split: cannot split a scalar");
  check_error([&] { t.chunk(0); }, "chunk: 0 pieces is not positive");
}
