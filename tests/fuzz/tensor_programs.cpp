// Random tensor programs for fuzz_tensors: each step's arguments are drawn, then the reference computes its result;
// a step the reference refuses (undefined, or hinging on float drift) or too large for INTERP is drawn again.
#include "tests/fuzz/tensor_programs.h"
#include <fmt/format.h>
#include <numeric>
#include <random>

namespace patgrad::tensor_fuzz {
namespace {

using uops::bits;
using uops::is_bool;
using uops::is_float;

constexpr int64_t kMaxNumel = 256; // INTERP is slow: every tensor stays small
const DType kDtypes[] = {DType::bool_, DType::i8,  DType::i16, DType::i32,  DType::i64, DType::u8, DType::u16,
                         DType::u32,   DType::u64, DType::f16, DType::bf16, DType::f32, DType::f64};

struct Generator {
  std::mt19937_64 rng;
  std::vector<Step> prog;

  int64_t uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }
  bool chance(int percent) { return uniform(0, 99) < percent; }
  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
  const Array& out(int step) const { return prog[size_t(step)].out; }

  DType random_dtype() { // f32 and i32 the most, as in real programs
    int64_t r = uniform(0, 99);
    return r < 30   ? DType::f32
           : r < 45 ? DType::i32
           : r < 55 ? DType::f64
                    : kDtypes[uniform(0, std::size(kDtypes) - 1)];
  }
  Shape random_shape() {
    for (;;) {
      Shape s(size_t(uniform(0, 99) < 10 ? 0 : uniform(1, 4)));
      for (int64_t& d : s) d = chance(4) ? 0 : chance(30) ? 1 : uniform(2, 5);
      if (numel(s) <= 64) return s;
    }
  }
  // mostly small values; integers over their whole range at times (wrapping), floats over many exponents at
  // times, and in some tensors infinities, NaN and signed zeros
  Elem random_elem(DType d, bool specials) {
    if (is_bool(d)) return Elem{chance(50), 0, 0};
    if (!is_float(d))
      return chance(60) ? Elem{std::clamp<Wide>(uniform(-8, 8), min_of(d), max_of(d)), 0, 0}
                        : Elem{wrap(d, Wide(int64_t(rng()))), 0, 0};
    if (specials && chance(12))
      return Elem{0, std::array<double, 5>{0.0, -0.0, INFINITY, -INFINITY, NAN}[size_t(uniform(0, 4))], 0};
    int64_t r = uniform(0, 99);
    double x = r < 50   ? real(-4, 4)
               : r < 70 ? std::copysign(double(uniform(0, 4)), chance(50) ? 1 : -1) // -0 too
               : r < 85 ? uniform(-32, 32) / 4.0
                        : std::ldexp(real(-2, 2), int(uniform(-30, 30)));
    return Elem{0, round_to(d, x), 0};
  }
  int leaf(DType d, const Shape& shape) {
    Step s{chance(85) ? Kind::DATA : Kind::FULL};
    s.dtype = d;
    s.out = Array{d, shape, {}};
    if (s.kind == Kind::FULL) s.value = is_float(d) ? random_elem(d, false).f : double(random_elem(d, false).i);
    bool specials = chance(10);
    for (int64_t k = 0; k < numel(shape); k++)
      s.out.v.push_back(s.kind == Kind::FULL ? constant(d, s.value) : random_elem(d, specials));
    prog.push_back(s);
    return int(prog.size()) - 1;
  }
  int arange() { // Tensor::arange(start, stop, step, dtype): 1-D, from doubles cast to the dtype
    Step s{Kind::ARANGE};
    s.dtype = random_dtype();
    int64_t start = uops::is_signed(s.dtype) || is_float(s.dtype) ? uniform(-3, 3) : uniform(0, 3);
    int64_t step = std::array{1, 1, 2, 3}[uniform(0, 3)], n = uniform(0, 8);
    s.ints = {start, start + step * n, step};
    s.out = Array{s.dtype, {n}, {}};
    for (int64_t i = 0; i < n; i++) s.out.v.push_back(*cast(s.dtype, DType::f64, Elem{0, double(start + step * i), 0}));
    prog.push_back(s);
    return int(prog.size()) - 1;
  }

  // the newest step mostly (chains), an older one at times (shared subgraphs)
  int operand() { return chance(70) ? int(prog.size()) - 1 : int(uniform(0, int64_t(prog.size()) - 1)); }
  // something that broadcasts with step a: an earlier step that fits, or a new leaf of a fitting shape
  int partner(int a) {
    std::vector<int> fits;
    for (size_t i = 0; i < prog.size(); i++)
      if (broadcast_shape(out(int(i)).shape, out(a).shape)) fits.push_back(int(i));
    if (chance(40)) return fits[size_t(uniform(0, int64_t(fits.size()) - 1))];
    Shape s = out(a).shape;
    s.erase(s.begin(), s.begin() + (chance(30) ? uniform(0, int64_t(s.size())) : 0));
    for (int64_t& d : s)
      if (chance(25)) d = 1;
    if (chance(15)) s.insert(s.begin(), uniform(1, 3));
    return leaf(random_dtype(), s);
  }
  Shape random_axes(size_t nd, bool maybe_all) {
    Shape axes;
    if (nd == 0 || (maybe_all && chance(25))) return axes;
    for (size_t j = 0; j < nd; j++)
      if (chance(40)) axes.push_back(chance(30) ? int64_t(j) - int64_t(nd) : int64_t(j));
    if (axes.empty() && maybe_all) axes.push_back(uniform(0, int64_t(nd) - 1));
    return axes;
  }
  Shape reshape_target(int64_t n) { // a random factorization of n, with ones; one axis -1 at times
    Shape s;
    if (n == 0) {
      s.assign(size_t(uniform(1, 3)), 0);
      for (int64_t& d : s) d = chance(50) ? 0 : uniform(1, 3);
      s[size_t(uniform(0, int64_t(s.size()) - 1))] = 0;
      return s;
    }
    for (int64_t p = 2; n > 1; p++)
      while (n % p == 0) {
        if (s.empty() || chance(50)) s.push_back(1);
        s.back() *= p, n /= p;
      }
    while (chance(30) && s.size() < 5) s.insert(s.begin() + uniform(0, int64_t(s.size())), 1);
    std::shuffle(s.begin(), s.end(), rng);
    return s;
  }

  std::optional<Step> random_step();
  std::optional<Array> unary(Step& s, const Array& x);
  std::optional<Array> binary(Step& s);
  std::optional<Array> scalar(Step& s, const Array& x);
  std::optional<Array> where(Step& s);
  std::optional<Array> cast_to(Step& s, const Array& x);
  std::optional<Array> bitcast(Step& s, const Array& x);
  std::optional<Array> reshape(Step& s, const Array& x);
  std::optional<Array> permute(Step& s, const Array& x);
  std::optional<Array> expand(Step& s, const Array& x);
  std::optional<Array> pad(Step& s, const Array& x);
  std::optional<Array> shrink(Step& s, const Array& x);
  std::optional<Array> flip(Step& s, const Array& x);
  std::optional<Array> reduce(Step& s, const Array& x);

  void generate(int steps) {
    prog.clear();
    chance(5) ? arange() : leaf(random_dtype(), random_shape());
    for (int done = 0, tries = 0; done < steps && tries < 20 * steps; tries++) {
      size_t mark = prog.size();
      std::optional<Step> s = random_step();
      if (s && numel(s->out.shape) <= kMaxNumel)
        prog.push_back(std::move(*s)), done++;
      else
        prog.resize(mark); // and any leaf it made
    }
  }
};

std::optional<Step> Generator::random_step() {
  static const std::pair<Kind, int> weights[] = {
      {Kind::UNARY, 12},  {Kind::BINARY, 14}, {Kind::SCALAR, 6},  {Kind::WHERE, 4},      {Kind::CAST, 8},
      {Kind::BITCAST, 2}, {Kind::RESHAPE, 8}, {Kind::PERMUTE, 6}, {Kind::EXPAND, 5},     {Kind::PAD, 5},
      {Kind::SHRINK, 6},  {Kind::FLIP, 4},    {Kind::REDUCE, 10}, {Kind::CONTIGUOUS, 2}, {Kind::REALIZE, 2}};
  int64_t total = 0;
  for (auto [kind, w] : weights) total += w;
  int64_t r = uniform(0, total - 1);
  Step s{Kind::REALIZE};
  for (auto [kind, w] : weights)
    if ((r -= w) < 0) {
      s.kind = kind;
      break;
    }
  s.in = {operand()};
  for (int k = s.kind == Kind::BINARY ? 1 : s.kind == Kind::WHERE ? 2 : 0; k > 0; k--) s.in.push_back(partner(s.in[0]));
  const Array& x = out(s.in[0]); // after partner(), which may grow prog
  std::optional<Array> res;
  switch (s.kind) {
  case Kind::UNARY: res = unary(s, x); break;
  case Kind::BINARY: res = binary(s); break;
  case Kind::SCALAR: res = scalar(s, x); break;
  case Kind::WHERE: res = where(s); break;
  case Kind::CAST: res = cast_to(s, x); break;
  case Kind::BITCAST: res = bitcast(s, x); break;
  case Kind::RESHAPE: res = reshape(s, x); break;
  case Kind::PERMUTE: res = permute(s, x); break;
  case Kind::EXPAND: res = expand(s, x); break;
  case Kind::PAD: res = pad(s, x); break;
  case Kind::SHRINK: res = shrink(s, x); break;
  case Kind::FLIP: res = flip(s, x); break;
  case Kind::REDUCE: res = reduce(s, x); break;
  default: res = x; // CONTIGUOUS, REALIZE
  }
  if (!res) return std::nullopt;
  // known bug: the CPU flushes bf16 subnormal results of arithmetic to zero (LLVM computes bf16 ops in f32 and rounds
  // back with vcvtneps2bf16 where the host has it, which flushes; casts avoid it, see target_cpu.pat); INTERP keeps
  // them
  auto subnormal = [](const Elem& e) { return e.f != 0 && std::fabs(e.f) < std::ldexp(1.0, -126); };
  if (res->dtype == DType::bf16 && std::any_of(res->v.begin(), res->v.end(), subnormal)) return std::nullopt;
  s.out = std::move(*res);
  return s;
}

// ---- each kind of step: its random arguments (in s) and the reference's result, or nothing to try another

std::optional<Array> Generator::unary(Step& s, const Array& x) {
  s.op = int(uniform(0, std::size(kUnary) - 1));
  const UnaryOp& op = kUnary[s.op];
  if (is_bool(x.dtype) && !op.on_bool) return std::nullopt;
  Array a = op.to_float && !is_float(x.dtype) ? *cast_array(x, DType::f32) : x;
  return elementwise({a}, a.dtype, [&](const std::vector<Elem>& e) { return op.ref(a.dtype, e[0]); });
}

std::optional<Array> Generator::binary(Step& s) {
  if (chance(50)) std::swap(s.in[0], s.in[1]);
  s.op = int(uniform(0, std::size(kBinary) - 1));
  if (!broadcast_shape(out(s.in[0]).shape, out(s.in[1]).shape)) return std::nullopt;
  return binary_ref(kBinary[s.op].domain, kBinary[s.op].ref, out(s.in[0]), out(s.in[1]));
}

std::optional<Array> Generator::scalar(Step& s, const Array& x) {
  s.op = int(uniform(0, std::size(kScalar) - 1));
  s.flag = chance(30);
  // identities often: the simplifier's rules act there
  s.value = chance(30)   ? std::array{0.0, 1.0, -1.0}[uniform(0, 2)]
            : chance(60) ? double(uniform(-3, 3))
                         : std::array{0.5, -1.5, 2.25, 0.1}[uniform(0, 3)];
  Array c = scalar_array(scalar_dtype(x.dtype, s.value), s.value);
  const BinaryOp& op = kBinary[kScalar[s.op].binary];
  return s.flag ? binary_ref(op.domain, op.ref, c, x) : binary_ref(op.domain, op.ref, x, c);
}

std::optional<Array> Generator::where(Step& s) {
  std::optional<Shape> sh = broadcast_shape(out(s.in[1]).shape, out(s.in[2]).shape);
  if (!sh || !broadcast_shape(*sh, out(s.in[0]).shape)) return std::nullopt;
  return where_ref(out(s.in[0]), out(s.in[1]), out(s.in[2]));
}

std::optional<Array> Generator::cast_to(Step& s, const Array& x) {
  s.dtype = random_dtype();
  return cast_array(x, s.dtype);
}

std::optional<Array> Generator::bitcast(Step& s, const Array& x) {
  std::vector<DType> same;
  for (DType d : kDtypes)
    if (d != x.dtype && !is_bool(d) && !is_bool(x.dtype) && bits(d) == bits(x.dtype)) same.push_back(d);
  if (same.empty()) return std::nullopt;
  s.dtype = same[size_t(uniform(0, int64_t(same.size()) - 1))];
  return bitcast_ref(x, s.dtype);
}

std::optional<Array> Generator::reshape(Step& s, const Array& x) {
  Shape to = reshape_target(numel(x.shape));
  s.ints = to;
  if (numel(to) > 0 && !to.empty() && chance(30)) s.ints[size_t(uniform(0, int64_t(to.size()) - 1))] = -1;
  return Array{x.dtype, to, x.v};
}

std::optional<Array> Generator::permute(Step& s, const Array& x) {
  size_t nd = x.shape.size();
  Shape order(nd), to(nd);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t j = 0; j < nd; j++) to[j] = x.shape[size_t(order[j])];
  s.ints = order;
  for (int64_t& a : s.ints)
    if (chance(20)) a -= int64_t(nd);
  return gather(x, to, [&](const Shape& idx) {
    Shape from(nd);
    for (size_t j = 0; j < nd; j++) from[size_t(order[j])] = idx[j];
    return std::optional(from);
  });
}

std::optional<Array> Generator::expand(Step& s, const Array& x) {
  size_t nd = x.shape.size();
  Shape to = x.shape;
  for (int64_t& d : to)
    if (d == 1 && chance(60)) d = uniform(2, 4);
  while (chance(25) && to.size() < 5) to.insert(to.begin(), uniform(1, 3));
  s.ints = to;
  for (size_t j = 0; j < nd; j++)
    if (to[to.size() - nd + j] == x.shape[j] && chance(20)) s.ints[to.size() - nd + j] = -1; // -1 keeps a size
  return broadcast_to(x, to);
}

std::optional<Array> Generator::pad(Step& s, const Array& x) {
  size_t nd = x.shape.size();
  Shape to = x.shape;
  for (size_t j = 0; j < nd; j++) {
    s.pairs.push_back({chance(50) ? 0 : uniform(0, 2), chance(50) ? 0 : uniform(0, 2)});
    to[j] += s.pairs[j].first + s.pairs[j].second;
  }
  s.value = chance(60) ? 0 : is_bool(x.dtype) ? 1 : is_float(x.dtype) ? 1.5 : double(uniform(-2, 3));
  auto inside = [&](const Shape& idx) -> std::optional<Shape> {
    Shape from(nd);
    for (size_t j = 0; j < nd; j++) {
      from[j] = idx[j] - s.pairs[j].first;
      if (from[j] < 0 || from[j] >= x.shape[j]) return std::nullopt;
    }
    return from;
  };
  return gather(x, to, inside, constant(x.dtype, s.value));
}

std::optional<Array> Generator::shrink(Step& s, const Array& x) {
  size_t nd = x.shape.size();
  Shape to(nd);
  for (size_t j = 0; j < nd; j++) {
    int64_t b = uniform(0, x.shape[j]), e = chance(40) ? x.shape[j] : uniform(b, x.shape[j]);
    s.pairs.push_back({b, e});
    to[j] = e - b;
  }
  return gather(x, to, [&](const Shape& idx) {
    Shape from(nd);
    for (size_t j = 0; j < nd; j++) from[j] = idx[j] + s.pairs[j].first;
    return std::optional(from);
  });
}

std::optional<Array> Generator::flip(Step& s, const Array& x) {
  size_t nd = x.shape.size();
  s.ints = random_axes(nd, false);
  std::vector<bool> flipped(nd);
  for (int64_t a : s.ints) flipped[size_t(a < 0 ? a + int64_t(nd) : a)] = true;
  return gather(x, x.shape, [&](const Shape& idx) {
    Shape from = idx;
    for (size_t j = 0; j < nd; j++)
      if (flipped[j]) from[j] = x.shape[j] - 1 - idx[j];
    return std::optional(from);
  });
}

std::optional<Array> Generator::reduce(Step& s, const Array& x) {
  s.op = int(uniform(0, std::size(kReduce) - 1));
  s.ints = random_axes(x.shape.size(), true);
  s.flag = chance(50);
  return reduce_ref(kReduce[s.op].op, x, s.ints, s.flag);
}

std::string pairs_str(const Pairs& ps) {
  std::string out = "{";
  for (size_t j = 0; j < ps.size(); j++) out += fmt::format("{}{{{}, {}}}", j ? ", " : "", ps[j].first, ps[j].second);
  return out + "}";
}

// one step as the Tensor call that makes it
std::string describe(const Step& s) {
  std::string x = s.in.empty() ? "" : fmt::format("t{}", s.in[0]), d = std::string(uops::name(s.dtype));
  switch (s.kind) {
  case Kind::DATA: {
    std::string vals;
    for (size_t k = 0; k < s.out.v.size() && k < 48; k++) vals += (k ? ", " : "") + str(s.dtype, s.out.v[k]);
    return fmt::format("from_data({}, {}, {{{}{}}})", d, str(s.out.shape, "{", "}"), vals,
                       s.out.v.size() > 48 ? ", ..." : "");
  }
  case Kind::FULL: return fmt::format("Tensor::full({}, {}, {})", str(s.out.shape, "{", "}"), s.value, d);
  case Kind::ARANGE: return fmt::format("Tensor::arange({}, {}, {}, {})", s.ints[0], s.ints[1], s.ints[2], d);
  case Kind::UNARY: return fmt::format("{}.{}()", x, kUnary[s.op].name);
  case Kind::BINARY: return fmt::format("{}.{}(t{})", x, kBinary[s.op].name, s.in[1]);
  case Kind::SCALAR:
    return s.flag ? fmt::format("{} {} {}", s.value, kScalar[s.op].symbol, x)
                  : fmt::format("{} {} {}", x, kScalar[s.op].symbol, s.value);
  case Kind::WHERE: return fmt::format("{}.where(t{}, t{})", x, s.in[1], s.in[2]);
  case Kind::CAST: return fmt::format("{}.cast({})", x, d);
  case Kind::BITCAST: return fmt::format("{}.bitcast({})", x, d);
  case Kind::RESHAPE: return fmt::format("{}.reshape({})", x, str(s.ints, "{", "}"));
  case Kind::PERMUTE: return fmt::format("{}.permute({})", x, str(s.ints, "{", "}"));
  case Kind::EXPAND: return fmt::format("{}.expand({})", x, str(s.ints, "{", "}"));
  case Kind::PAD: return fmt::format("{}.pad({}, {})", x, pairs_str(s.pairs), s.value);
  case Kind::SHRINK: return fmt::format("{}.shrink({})", x, pairs_str(s.pairs));
  case Kind::FLIP: return fmt::format("{}.flip({})", x, str(s.ints, "{", "}"));
  case Kind::CONTIGUOUS: return fmt::format("{}.contiguous()", x);
  case Kind::REALIZE: return fmt::format("{}.realize()", x);
  case Kind::REDUCE:
    return fmt::format("{}.{}({}, {})", x, kReduce[s.op].name, str(s.ints, "{", "}"), s.flag ? "true" : "false");
  }
  return "";
}

} // namespace

std::string str(const Shape& s, const char* open, const char* close) {
  std::string out = open;
  for (size_t j = 0; j < s.size(); j++) out += fmt::format("{}{}", j ? ", " : "", s[j]);
  return out + close;
}
std::string str(DType d, const Elem& e) {
  if (is_float(d)) return fmt::format("{}", e.f);
  return e.i < 0 ? fmt::format("{}", int64_t(e.i)) : fmt::format("{}", uint64_t(e.i));
}

Program random_program(uint64_t seed) {
  Generator g{std::mt19937_64(seed)};
  g.generate(int(g.uniform(1, 10)));
  return Program{g.prog, size_t(g.uniform(0, int64_t(g.prog.size()) - 1))};
}

std::string listing(const Program& p, uint64_t seed) {
  std::string out = fmt::format("program (fuzz_tensors --seed {} --count 1):\n", seed);
  for (size_t k = 0; k < p.steps.size(); k++) {
    std::string line = fmt::format("  t{} = {};", k, describe(p.steps[k]));
    out += fmt::format("{:<60} // {} {}\n", line, uops::name(p.steps[k].out.dtype), str(p.steps[k].out.shape));
  }
  return out;
}

} // namespace patgrad::tensor_fuzz
