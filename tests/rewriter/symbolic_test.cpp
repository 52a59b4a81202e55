// The `sym` pass (patterns/symbolic.pat) on a table of expressions, in the manner of Halide's
// test/correctness/simplify.cpp: each input simplifies to the expected text, and each result equals its input at every
// point of the variables' ranges.
#include "rewriter/rewriter.h"
#include "uops/infix.h"
#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <functional>
#include <llvm/ADT/DenseMap.h>
#include <map>

using namespace patgrad;
using uops::UOp;

namespace {

// x and y are unbounded; the others have small ranges, c one that crosses zero.
const uops::VarBounds bounds = {{"a", {0, 10}}, {"b", {0, 7}}, {"c", {-5, 5}}};

struct Case {
  const char* input;
  const char* expected; // infix() of the simplified form
};

const Case cases[] = {
    // constant folding, with Python's floor division and modulo
    {"3+4*5", "23"},
    {"7//2", "3"},
    {"-7//2", "-4"},
    {"-7%3", "2"},
    {"7%-3", "-2"},
    {"(3<4)&(5<2)", "false"},
    {"max(3,9)-min(-2,4)", "11"},
    // identities
    {"x+0", "x"},
    {"0+x", "x"},
    {"x*1", "x"},
    {"x*0", "0"},
    {"x-x", "0"},
    {"x//1", "x"},
    {"x%1", "0"},
    {"0//x", "0"},
    {"x&-1", "x"},
    {"-(-x)", "x"},
    {"x<<0", "x"},
    // canonical order: constants right, terms in one stable order, sums and products leaning left
    {"3+a", "a+3"},
    {"b+a", "a+b"},
    {"a+b", "a+b"},
    {"c+(b+a)", "a+b+c"},
    {"b*a*c", "a*b*c"},
    {"3*(b*a)", "a*b*3"},
    // nested constants
    {"(a+3)+4", "a+7"},
    {"3+(a+4)", "a+7"},
    {"(a*2)*3", "a*6"},
    {"a-3+b-4", "a+b-7"},
    {"(a+1)*3+(b+2)*2", "a*3+b*2+7"},
    // like terms, also with other terms between them
    {"x*3+x*5", "x*8"},
    {"x+x", "x*2"},
    {"a*2+b+a*3", "a*5+b"},
    {"b+a+a", "a*2+b"},
    {"(a+b)-(b+a)", "0"},
    {"a*b-b*a", "0"},
    {"(a+1)*2-a*2", "2"},
    // floor division and modulo by constants, folded with ranges
    {"(a*4+8)//4", "a+2"},
    {"(a*8+b)//8", "a"},
    {"(a%4)+(a//4)*4", "a"},
    {"(a//4)*4+b+a%4", "a+b"},
    {"b%8", "b"},
    {"(b+8)%8", "b"},
    {"(a*4+3)//4", "a"},
    {"(a*4+3)%4", "3"},
    {"(a*6+b)//2", "a*3+b//2"},
    {"(a*6+b)%2", "b%2"},
    {"a//2//3", "a//6"},
    {"(a%4)//4", "0"},
    {"(a%12)%4", "a%4"},
    {"(a*4)%8", "a%2*4"},
    {"(a*4)//8", "a//2"},
    // a term whose coefficient divides the divisor, beside others within one multiple of it (fold_divmod)
    {"(a*8+b)//16", "a//2"},
    {"(a*8+b+8)//16", "(a+1)//2"},
    {"(a*8+b)%16", "b+a%2*8"},
    {"(a*8+b+8)%16", "b+(a+1)%2*8"},
    // negative coefficients that keep the sum in one multiple (a flipped axis): their signed remainders
    {"(a*8-b+7)//128", "0"},
    {"(x*128+a*8-b+7)//128", "x"},
    {"(x*128+a*8-b+7)%128", "a*8-b+7"},
    {"(x*2)//4", "x//2"},
    {"a//11", "0"},
    {"(a*b)//b", "a"},
    {"(x*5)%5", "0"},
    {"(x+5)%5", "x%5"},
    {"a-a//4*4", "a%4"},
    {"b+a-a//4*4", "b+a%4"},
    {"(x//4)%4*4+x%4", "x%16"},
    {"(a*6+b)//-2", "a*-3+b//-2"},
    {"(c*8+5)//-8", "-c-1"},
    // negative ranges: c is in -5..5, so c//8 is -1 or 0 and c%8 wraps around; both must stay
    {"c//8", "c//8"},
    {"c%8", "c%8"},
    {"(c+5)//11", "0"},
    {"(c+5)%11", "c+5"},
    {"(c+8)//8", "c//8+1"},
    {"(c*8+5)//8", "c"},
    {"(c*8+5)%8", "5"},
    {"(c-6)//11", "-1"},
    {"(c-6)%11", "c+5"},
    // comparisons decided by ranges, or with the constant moved to one side
    {"b<10", "true"},
    {"a<11", "true"},
    {"a<0", "false"},
    {"a>=0", "true"},
    {"c<-5", "false"},
    {"c<0", "c<0"},
    {"a==11", "false"},
    {"a!=11", "true"},
    {"c==c", "true"},
    {"a+3<10", "a<7"},
    {"a*4<10", "a<3"},
    {"a//4<2", "a<8"},
    {"5-a<2", "3<a"},
    {"a>=3", "2<a"},
    {"a+1<a+2", "true"},
    {"a<a+1", "true"},
    {"a+3<b+5", "a<b+2"},
    {"a+4==7", "a==3"},
    {"x*2==6", "x==3"},
    {"x*2==7", "false"},
    // where
    {"where(true,a,b)", "a"},
    {"where(false,a,b)", "b"},
    {"where(a<3,b,b)", "b"},
    {"where(a<11,a,b)", "a"},
    {"where(a>10,a,b)", "b"},
    {"where(a<3,true,false)", "a<3"},
    {"where(a<3,false,true)", "2<a"},
    {"where(a<3,where(a<3,a,b),c)", "where(a<3,a,c)"},
    {"where(a<b,a,b)", "min(a,b)"},
    {"where(b<3,b<1,false)", "b<1"},
    {"where(a<3,false,b<2)", "(2<a)&(b<2)"},
    // boolean algebra
    {"(a<3)&(a<3)", "a<3"},
    {"(a<3)|(a<3)", "a<3"},
    {"(a<3)^(a<3)", "false"},
    {"(a<3)&true", "a<3"},
    {"(a<3)&false", "false"},
    {"(a<3)|true", "true"},
    {"(a<3)^false", "a<3"},
    {"(a<3)^true", "2<a"},
    {"((a<3)^true)^true", "a<3"},
    {"(a<3)&((a<3)^true)", "false"},
    {"(a<3)|(a>=3)", "true"},
    {"(a<3)&(a>=3)", "false"},
    {"(a<3)&(a<5)", "a<3"},
    {"(a<3)|(a<5)", "a<5"},
    {"(a<3)&((a<3)|(b<2))", "a<3"},
    {"(a<3)!=(b<2)", "(a<3)^(b<2)"},
    {"(x==b)^true", "b!=x"},
    // max and min
    {"max(a,0)", "a"},
    {"min(a,0)", "0"},
    {"max(a,10)", "10"},
    {"min(a,10)", "a"},
    {"max(c,-5)", "c"},
    {"max(b,a+8)", "a+8"},
    {"max(a+1,a)", "a+1"},
    {"min(a+1,a)", "a"},
    {"max(max(a,3),5)", "max(a,5)"},
    {"min(a,b)+max(a,b)", "a+b"},
    // shifts by constants
    {"a<<2", "a*4"},
    {"a>>1", "a//2"},
    {"(a<<2)>>2", "a"},
    // not simplifiable: each of these would be wrong somewhere in the variables' ranges
    {"a//3*3", "a//3*3"},
    {"a%8", "a%8"},
    {"a<10", "a<10"},
    {"max(c,0)", "max(c,0)"},
    {"max(a,b)", "max(a,b)"},
    {"x//2*2", "x//2*2"},
    {"(x+1)//2", "(x+1)//2"},
};

UOp parse(std::string_view text) {
  INFO("parsing " << text);
  llvm::Expected<UOp> u = uops::parse_infix(text, bounds);
  if (!u) FAIL(llvm::toString(u.takeError()));
  return *u;
}

UOp simplified(const UOp& u) {
  llvm::Expected<UOp> r = rewriter::simplify(u);
  if (!r) FAIL(llvm::toString(r.takeError()));
  return *r;
}

using Point = std::map<std::string, int64_t>;

// The value of u at a point, as uops::eval computes each op; nullopt where some node is undefined (both branches of
// a where are computed: the graph is dataflow).
std::optional<uops::Value> evaluate(const UOp& u, const Point& at,
                                    llvm::DenseMap<const uops::Node*, std::optional<uops::Value>>& memo) {
  if (auto it = memo.find(u.get()); it != memo.end()) return it->second;
  std::optional<uops::Value> r;
  if (u->op == uops::Op::CONST)
    r = u->value();
  else if (u->op == uops::Op::DEFINE_VAR)
    r = uops::int_value(u->dtype, at.at(std::get<uops::Var>(u->arg).name));
  else {
    llvm::SmallVector<uops::Value, 3> args;
    for (const UOp& s : u->src) {
      auto v = evaluate(s, at, memo);
      if (!v) return memo[u.get()] = std::nullopt;
      args.push_back(*v);
    }
    r = uops::eval(u->op, u->dtype, u->src.back()->dtype, args);
  }
  return memo[u.get()] = r;
}

std::optional<uops::Value> evaluate(const UOp& u, const Point& at) {
  llvm::DenseMap<const uops::Node*, std::optional<uops::Value>> memo;
  return evaluate(u, at, memo);
}

void collect_vars(const UOp& u, std::map<std::string, std::vector<int64_t>>& out) {
  if (auto* v = std::get_if<uops::Var>(&u->arg)) {
    std::vector<int64_t>& values = out[v->name];
    if (!values.empty()) return;
    if (__int128(v->max) - v->min <= 64) // every point of a small range; a sample of an unbounded one
      for (int64_t i = v->min; i <= v->max; i++) values.push_back(i);
    else
      values = {-1000, -17, -9, -8, -7, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 7, 8, 9, 17, 1000};
  }
  for (const UOp& s : u->src) collect_vars(s, out);
}

// Calls f at every combination of the variables' values.
void for_each_point(const std::map<std::string, std::vector<int64_t>>& vars,
                    const std::function<void(const Point&)>& f) {
  Point at;
  std::function<void(std::map<std::string, std::vector<int64_t>>::const_iterator)> walk = [&](auto it) {
    if (it == vars.end()) return f(at);
    for (int64_t v : it->second) {
      at[it->first] = v;
      walk(std::next(it));
    }
  };
  walk(vars.begin());
}

} // namespace

TEST_CASE("symbolic simplification reaches the expected form", "[symbolic]") {
  for (const Case& c : cases) {
    INFO(c.input);
    CHECK(uops::infix(simplified(parse(c.input))) == c.expected);
  }
}

TEST_CASE("equal inputs in another order simplify to the same text", "[symbolic]") {
  CHECK(uops::infix(simplified(parse("b+a*3+c"))) == uops::infix(simplified(parse("c+a*3+b"))));
  CHECK(uops::infix(simplified(parse("(c*b)*a"))) == uops::infix(simplified(parse("a*(b*c)"))));
  CHECK(uops::infix(simplified(parse("max(b,a)+x"))) == uops::infix(simplified(parse("x+max(a,b)"))));
}

TEST_CASE("simplified forms are already simplified", "[symbolic]") {
  for (const Case& c : cases) {
    INFO(c.input);
    UOp once = simplified(parse(c.input));
    CHECK(simplified(once) == once);
  }
}

TEST_CASE("every simplified case equals its input at every point of its variables", "[symbolic]") {
  for (const Case& c : cases) {
    UOp in = parse(c.input), out = simplified(in);
    std::map<std::string, std::vector<int64_t>> vars;
    collect_vars(in, vars);
    int mismatches = 0;
    for_each_point(vars, [&](const Point& at) {
      auto before = evaluate(in, at), after = evaluate(out, at);
      if (!before) return; // undefined input: any result refines it
      if (after && uops::same_value(in->dtype, *before, *after)) return;
      if (mismatches++ == 0) {
        std::string point;
        for (auto& [name, v] : at) point += fmt::format(" {}={}", name, v);
        FAIL_CHECK(c.input << " => " << uops::infix(out) << " differs at" << point << ": "
                           << uops::format_value(in->dtype, *before) << " vs "
                           << (after ? uops::format_value(in->dtype, *after) : "undefined"));
      }
    });
  }
}
