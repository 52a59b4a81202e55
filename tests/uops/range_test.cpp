// Value ranges: sound on random expressions (every value eval gives a node lies in its [vmin, vmax]), and tight on a
// few shapes the rules rely on.
#include "uops/infix.h"
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <llvm/ADT/DenseMap.h>
#include <random>

using namespace patgrad::uops;

namespace {

using Wide = __int128;

// Random expressions of one integer dtype over a few DEFINE_VARs with random bounds.
struct RandomExprs {
  std::mt19937_64 rng;
  DType dtype;
  std::vector<UOp> vars;

  RandomExprs(uint64_t seed, DType d) : rng(seed), dtype(d) {
    for (int i = 0; i < 3; i++) {
      auto [lo, hi] = bounds();
      vars.push_back(UOp::var(fmt::format("v{}", i), int64_t(lo), int64_t(hi), dtype));
    }
  }

  Wide in(Wide lo, Wide hi) { // hi - lo < 2^64
    uint64_t span = uint64_t(hi - lo);
    return lo + Wide(span == UINT64_MAX ? rng() : rng() % (span + 1));
  }
  bool one_in(int n) { return rng() % unsigned(n) == 0; }

  // Bounds inside the dtype: small ones near zero or near its ends, or anywhere.
  std::pair<Wide, Wide> bounds() {
    Wide lo = dtype_min(dtype), hi = dtype_max(dtype);
    Wide a, b;
    switch (rng() % 4) {
    case 0: a = in(std::max<Wide>(lo, -20), 20), b = in(a, std::min<Wide>(hi, a + 40)); break;
    case 1: a = in(lo, hi), b = in(a, hi); break;
    case 2: a = lo, b = in(lo, std::min(hi, lo + 50)); break;
    default: a = in(std::max(lo, hi - 50), hi), b = hi; break;
    }
    return {a, b};
  }

  UOp constant() {
    const Wide small[] = {0, 1, 2, 3, -1, -2, 7, 8, 16, 31, 63, 64, 100, -128};
    if (one_in(4)) return UOp::constant(dtype, one_in(2) ? dtype_min(dtype) : dtype_max(dtype));
    if (one_in(4)) return UOp::constant(dtype, in(dtype_min(dtype), dtype_max(dtype)));
    return UOp::constant(dtype, small[rng() % std::size(small)]); // wrapped to the dtype
  }

  UOp value(int depth) {
    if (depth == 0) return one_in(3) ? constant() : vars[rng() % vars.size()];
    const Op binary[] = {Op::ADD, Op::SUB, Op::MUL, Op::IDIV, Op::MOD, Op::CDIV, Op::CMOD,
                         Op::MAX, Op::MIN, Op::AND, Op::OR,   Op::XOR, Op::SHL,  Op::SHR};
    const DType others[] = {DType::i8, DType::u8, DType::i16, DType::i32, DType::u64, DType::index};
    switch (rng() % 8) {
    case 0: return UOp::alu(Op::NEG, {value(depth - 1)});
    case 1: return UOp::alu(Op::WHERE, {boolean(depth - 1), value(depth - 1), value(depth - 1)});
    case 2: return UOp::alu(Op::MULACC, {value(depth - 1), value(depth - 1), value(depth - 1)});
    case 3: { // through another integer dtype and back, or from a bool
      if (one_in(3)) return UOp::make(Op::CAST, dtype, {boolean(depth - 1)});
      DType other = others[rng() % std::size(others)];
      return UOp::make(Op::CAST, dtype, {UOp::make(Op::CAST, other, {value(depth - 1)})});
    }
    default: return UOp::alu(binary[rng() % std::size(binary)], {value(depth - 1), value(depth - 1)});
    }
  }

  UOp boolean(int depth) {
    if (depth == 0) return UOp::constant(DType::bool_, Wide(rng() % 2));
    const Op compare[] = {Op::CMPLT, Op::CMPLE, Op::CMPEQ, Op::CMPNE};
    const Op logic[] = {Op::AND, Op::OR, Op::XOR, Op::MAX, Op::MIN};
    switch (rng() % 4) {
    case 0: return UOp::alu(logic[rng() % std::size(logic)], {boolean(depth - 1), boolean(depth - 1)});
    case 1: return UOp::make(Op::CAST, DType::bool_, {value(depth - 1)});
    default: return UOp::alu(compare[rng() % std::size(compare)], {value(depth - 1), value(depth - 1)});
    }
  }

  // A value for each var: its bounds, next to them, zero, or anywhere between.
  llvm::DenseMap<const Node*, Value> point() {
    llvm::DenseMap<const Node*, Value> at;
    for (const UOp& v : vars) {
      Wide lo = v->vmin, hi = v->vmax, x;
      switch (rng() % 6) {
      case 0: x = lo; break;
      case 1: x = hi; break;
      case 2: x = std::min(lo + 1, hi); break;
      case 3: x = std::max(hi - 1, lo); break;
      case 4: x = lo <= 0 && 0 <= hi ? 0 : lo; break;
      default: x = in(lo, hi); break;
      }
      at[v.get()] = int_value(dtype, x);
    }
    return at;
  }
};

// Evaluates u at the vars' values in `memo`; undefined (nullopt) if any operand is. Fails the test at the first node
// whose value lies outside its range.
std::optional<Value> eval_checked(const UOp& u, llvm::DenseMap<const Node*, std::optional<Value>>& memo) {
  if (auto it = memo.find(u.get()); it != memo.end()) return it->second;
  std::optional<Value> r;
  if (u->op == Op::CONST)
    r = u->value();
  else {
    llvm::SmallVector<Value, 3> args;
    for (const UOp& s : u->src)
      if (std::optional<Value> v = eval_checked(s, memo)) args.push_back(*v);
    if (args.size() == u->src.size()) {
      DType in = u->op == Op::WHERE ? u->src[1]->dtype : u->src[0]->dtype;
      r = eval(u->op, u->dtype, in, args);
    }
  }
  if (r && (as_wide(u->dtype, *r) < u->vmin || as_wide(u->dtype, *r) > u->vmax)) {
    INFO(fmt::format("{} = {} is outside [{}, {}]", sexpr(u), format_wide(as_wide(u->dtype, *r)), format_wide(u->vmin),
                     format_wide(u->vmax)));
    FAIL("range is unsound");
  }
  memo[u.get()] = r;
  return r;
}

std::pair<Wide, Wide> range_of(std::string_view text, const VarBounds& vars) {
  llvm::Expected<UOp> u = parse_infix(text, vars);
  if (!u) FAIL(llvm::toString(u.takeError()));
  return {(*u)->vmin, (*u)->vmax};
}

} // namespace

TEST_CASE("every value a random expression takes lies in its range", "[range]") {
  for (DType d : {DType::index, DType::i8, DType::u8, DType::i32}) {
    for (uint64_t seed = 0; seed < 40; seed++) {
      RandomExprs gen(seed * 16 + uint64_t(d), d);
      for (int i = 0; i < 50; i++) {
        UOp u = gen.rng() % 4 ? gen.value(1 + int(gen.rng() % 4)) : gen.boolean(1 + int(gen.rng() % 4));
        for (int p = 0; p < 24; p++) {
          llvm::DenseMap<const Node*, std::optional<Value>> memo;
          for (auto [var, value] : gen.point()) memo[var] = value;
          INFO(fmt::format("{} seed {} expression {} point {}", name(d), seed, i, p));
          eval_checked(u, memo);
        }
      }
    }
  }
}

TEST_CASE("ranges are exact for affine, modulo and division shapes", "[range]") {
  struct Case {
    const char* text;
    Wide min, max;
  };
  const VarBounds vars = {{"a", {0, 10}}, {"b", {0, 100}}, {"c", {-7, 3}}, {"d", {1, 4}}};
  const Case cases[] = {
      {"a*4+8", 8, 48},       {"b%8", 0, 7},
      {"a//4", 0, 2},         {"a-a", -10, 10},
      {"c*c", -21, 49},       {"b&7", 0, 7},
      {"max(a,5)", 5, 10},    {"min(c,a)", -7, 3},
      {"a<20", 1, 1},         {"a<0", 0, 0},
      {"a<5", 0, 1},          {"c//2", -4, 1},
      {"c%4", 0, 3},          {"a%-4", -3, 0},
      {"a%16", 0, 10},        {"(a+16)%16", 0, 10},
      {"a>>1", 0, 5},         {"where(a<20,a,100)", 0, 10},
      {"-c", -3, 7},          {"b//d", 0, 100},
      {"(a<5)&(a<20)", 0, 1}, {"x", INT64_MIN, INT64_MAX},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK(range_of(c.text, vars) == std::pair{c.min, c.max});
  }
}

TEST_CASE("a fixed-width range that could wrap is the whole dtype", "[range]") {
  UOp a = UOp::var("a", 0, 127, DType::i8), one = UOp::constant(DType::i8, 1);
  UOp sum = UOp::alu(Op::ADD, {a, one});
  CHECK((sum->vmin == -128 && sum->vmax == 127));
  UOp small = UOp::var("s", 0, 100, DType::i8);
  UOp fits = UOp::alu(Op::ADD, {small, one});
  CHECK((fits->vmin == 1 && fits->vmax == 101));
  UOp u = UOp::var("u", 0, 10, DType::u8);
  UOp diff = UOp::alu(Op::SUB, {u, UOp::constant(DType::u8, 1)});
  CHECK((diff->vmin == 0 && diff->vmax == 255));
}
