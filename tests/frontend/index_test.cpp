// Slicing and gather against naive references over host doubles, on both devices, every dtype, shapes with size-1
// and zero-size axes, and non-contiguous inputs. Both only move values, so every check is exact (tolerance 0): the
// inputs are values each dtype holds exactly.
#include "lowering/lowering.h"
#include "tests/frontend/check.h"
#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <optional>

using namespace patgrad;
using testing::check_close;
using Slice = Tensor::Slice;

namespace {

using Values = std::vector<double>;
using Bound = std::optional<int64_t>;
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

// The values stored flipped on every axis and flipped back: a non-contiguous tensor.
Tensor flipped(const Host& h, DType d, const runtime::Target* dev) {
  Shape all;
  for (size_t k = 0; k < h.shape.size(); k++) all.push_back(int64_t(k));
  Host stored = build(h.shape, [&](const Shape& i) {
    Shape src(i.size());
    for (size_t k = 0; k < i.size(); k++) src[k] = h.shape[k] - 1 - i[k];
    return h.at(src);
  });
  return input(stored.v, h.shape, d, dev).flip(all);
}

// The positions Python's a[start:stop:step] takes from an axis of n, walked as CPython's slice adjustment does.
std::vector<int64_t> python_positions(int64_t n, Bound start, Bound stop, int64_t step) {
  std::vector<int64_t> out;
  if (step > 0) {
    int64_t lo = !start ? 0 : *start < 0 ? std::max<int64_t>(*start + n, 0) : std::min(*start, n);
    int64_t hi = !stop ? n : *stop < 0 ? std::max<int64_t>(*stop + n, 0) : std::min(*stop, n);
    for (int64_t i = lo; i < hi; i += step) out.push_back(i);
  } else {
    int64_t hi = !start ? n - 1 : *start < 0 ? std::max<int64_t>(*start + n, -1) : std::min(*start, n - 1);
    int64_t lo = !stop ? -1 : *stop < 0 ? std::max<int64_t>(*stop + n, -1) : std::min(*stop, n - 1);
    for (int64_t i = hi; i > lo; i += step) out.push_back(i);
  }
  return out;
}

Bound random_bound(std::mt19937_64& rng, int64_t n) {
  if (rng() % 4 == 0) return std::nullopt;
  return int64_t(rng() % uint64_t(2 * n + 5)) - n - 2; // [-n-2, n+2]: in range and clamped from both sides
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

TEST_CASE("slice takes the positions Python takes", "[shape]") {
  struct Case {
    Bound start, stop;
    int64_t step;
    Values expected; // list(range(5))[start:stop:step], as printed by python3
  };
  const Case cases[] = {
      {1, -1, 1, {1, 2, 3}},         {{}, {}, -2, {4, 2, 0}}, {-100, 100, 3, {0, 3}}, {3, 1, -1, {3, 2}},
      {10, -10, -3, {4, 1}},         {-2, {}, 1, {3, 4}},     {{}, -7, 1, {}},        {4, {}, -1, {4, 3, 2, 1, 0}},
      {{}, {}, -1, {4, 3, 2, 1, 0}}, {-1, -6, -2, {4, 2, 0}}, {2, 2, 1, {}},          {0, 5, 7, {0}},
  };
  for (auto dev : testing::complete_targets())
    for (const Case& c : cases) {
      INFO(dev->name << " [" << c.start.value_or(999) << ":" << c.stop.value_or(999) << ":" << c.step << "]");
      Tensor t = input({0, 1, 2, 3, 4}, {5}, DType::i32, dev);
      check_close(t.slice({Slice(c.start, c.stop, c.step)}), {int64_t(c.expected.size())}, c.expected, 0);
    }
  for (auto dev : testing::complete_targets()) {
    Tensor t = input({0, 1, 2, 3, 4, 5}, {2, 3}, DType::f32, dev);
    check_close(t.slice({Slice::index(-1)}), {3}, {3, 4, 5}, 0);
    check_close(t.slice({Slice(), Slice::index(0)}), {2}, {0, 3}, 0);
    check_close(t.slice({Slice::index(1), Slice::index(-3)}), {}, {3}, 0);
    check_close(t.slice({}), {2, 3}, {0, 1, 2, 3, 4, 5}, 0);
    check_close(t.slice({Slice({}, {}, INT64_MIN), Slice(1, {}, INT64_MAX)}), {1, 1}, {4}, 0); // [::MIN, 1::MAX]
    check_close(input({7}, {}, DType::f32, dev).slice({}), {}, {7}, 0);
  }
}

TEST_CASE("slice matches Python on random slices of every dtype, including empty and non-contiguous inputs",
          "[shape]") {
  std::mt19937_64 rng(11);
  for (auto dev : testing::complete_targets())
    for (DType d : all_dtypes)
      for (int rep = 0; rep < 3; rep++) {
        Shape s{int64_t(rng() % 5), int64_t(1 + rng() % 4), int64_t(rng() % 7)};
        Host h = random_host(rng, s, d);
        std::vector<Slice> slices;
        std::vector<std::vector<int64_t>> taken;
        std::vector<bool> dropped;
        std::string text;
        for (size_t i = 0; i < 3; i++) {
          if (s[i] > 0 && rng() % 5 == 0) {
            int64_t at = int64_t(rng() % uint64_t(2 * s[i])) - s[i];
            slices.push_back(Slice::index(at));
            taken.push_back({at < 0 ? at + s[i] : at});
            dropped.push_back(true);
            text += std::to_string(at) + ",";
            continue;
          }
          Bound start = random_bound(rng, s[i]), stop = random_bound(rng, s[i]);
          int64_t step = int64_t(1 + rng() % 3) * (rng() % 2 ? 1 : -1);
          slices.push_back(Slice(start, stop, step));
          taken.push_back(python_positions(s[i], start, stop, step));
          dropped.push_back(false);
          text +=
              fmt::format("{}:{}:{},", start ? std::to_string(*start) : "", stop ? std::to_string(*stop) : "", step);
        }
        INFO(dev->name << " " << uops::name(d) << " shape " << s[0] << "x" << s[1] << "x" << s[2] << " [" << text
                       << "]");
        Shape full{int64_t(taken[0].size()), int64_t(taken[1].size()), int64_t(taken[2].size())}, out;
        for (size_t i = 0; i < 3; i++)
          if (!dropped[i]) out.push_back(full[i]);
        Host expected = build(full, [&](const Shape& i) {
          return h.at({taken[0][i[0]], taken[1][i[1]], taken[2][i[2]]});
        });
        Tensor sliced = flipped(h, d, dev).slice(slices);
        CHECK(kernels(sliced) == 1);
        check_close(sliced, out, expected.v, 0);
      }
}

TEST_CASE("gather picks along an axis as PyTorch does; a lazy index out of range gives 0", "[shape]") {
  std::mt19937_64 rng(12);
  for (auto dev : testing::complete_targets())
    for (DType d : all_dtypes)
      for (int64_t axis : {0, -1}) {
        Shape s{int64_t(1 + rng() % 3), int64_t(rng() % 4), int64_t(1 + rng() % 4)};
        int64_t a = axis < 0 ? axis + 3 : axis;
        Shape is{int64_t(rng() % (s[0] + 1)), int64_t(rng() % (s[1] + 1)), int64_t(rng() % (s[2] + 1))};
        is[a] = int64_t(rng() % 5); // along the axis the index may be longer than the input
        INFO(dev->name << " " << uops::name(d) << " axis " << axis << " input " << s[0] << "x" << s[1] << "x" << s[2]
                       << " index " << is[0] << "x" << is[1] << "x" << is[2]);
        Host h = random_host(rng, s, d);
        // mostly in range; -1 and the axis size are out of range
        Host idx = build(is, [&](const Shape&) { return double(int64_t(rng() % uint64_t(s[a] + 2)) - 1); });
        Host expected = build(is, [&](Shape i) {
          int64_t j = int64_t(idx.at(i));
          if (j < 0 || j >= s[a]) return 0.0;
          i[a] = j;
          return h.at(i);
        });
        DType index_dtype = rng() % 2 ? DType::i64 : DType::i32;
        Tensor index = flipped(idx, index_dtype, dev); // a view of host data: its values are checked
        bool outside = std::any_of(idx.v.begin(), idx.v.end(), [&](double j) { return j < 0 || j >= s[a]; });
        if (outside) {
          CHECK_THROWS_WITH(flipped(h, d, dev).gather(axis, index), Catch::Contains("out of range for dimension"));
          index = index + 0; // lazy: not computed to be checked
        }
        Tensor out = flipped(h, d, dev).gather(axis, index);
        CHECK(out.dtype() == d);
        check_close(out, is, expected.v, 0);
      }
  for (auto dev :
       testing::complete_targets()) { // bits are moved, not added: -0 and NaN survive; a u8 index and a scalar work
    Tensor t = Tensor::from_vector<float>({-0.0f, NAN, 2}).to(dev);
    std::vector<float> got = t.gather(0, Tensor::from_vector<uint8_t>({0, 1, 2, 0})).to_vector<float>();
    CHECK((std::signbit(got[0]) && std::isnan(got[1]) && got[2] == 2 && std::signbit(got[3])));
    check_close(input({5}, {}, DType::i16, dev).gather(0, input({0}, {}, DType::i64, dev)), {}, {5}, 0);
  }
}

TEST_CASE("slice and gather reject bad indices with the op's name", "[shape]") {
  Tensor t = Tensor::zeros({2, 3});
  Tensor i = Tensor::zeros({2, 2}, DType::i64);
  check_error([&] { t.slice({Slice(), Slice(), Slice()}); }, "slice: 3 slices for (2,3)");
  check_error([&] { t.slice({Slice::index(2)}); }, "slice: index 2 is out of range for axis 0 of (2,3)");
  check_error([&] { t.slice({Slice(), Slice::index(-4)}); }, "slice: index -4 is out of range for axis 1 of (2,3)");
  check_error([&] { t.slice({Slice(), Slice(0, 2, 0)}); }, "slice: step is zero on axis 1");
  Slice no_position;
  no_position.is_index = true;
  check_error([&] { t.slice({no_position}); }, "slice: the index on axis 0 has no position");
  check_error([&] { t.gather(0, Tensor::zeros({2, 2})); }, "gather: index is f32, not an integer dtype");
  check_error([&] { t.gather(0, Tensor::zeros({2, 2}, DType::bool_)); }, "gather: index is bool, not an integer dtype");
  check_error([&] { t.gather(0, Tensor::zeros({2}, DType::i64)); },
              "gather: index (2,) and input (2,3) differ in axes");
  check_error(
      [&] {
        t.gather(0, Tensor::zeros({1, 4}, DType::i64));
      },
      "gather: index (1,4) is larger than input (2,3) on axis 1");
  check_error([&] { t.gather(2, i); }, "gather: axis 2 is out of range for (2,3)");
  check_error([&] { t.gather(-3, i); }, "gather: axis -3 is out of range for (2,3)");
}
