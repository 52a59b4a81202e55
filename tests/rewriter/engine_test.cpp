// The rewrite engine: traversal orders, fixed points, limits, cycles, tracing, statistics, disabling rules, user
// pattern files, hooks and render templates.
#include "rewriter/rewriter.h"
#include "tests/rewriter/library.h"
#include "uops/infix.h"
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace patgrad;
using namespace patgrad::rewriter;
using uops::Op;
using uops::UOp;

namespace {

using testing::lib_of;

UOp parse(const std::string& text) {
  auto e = uops::parse_infix(text, {{"v", {0, 100}}});
  REQUIRE(bool(e));
  return *e;
}

std::string rewrite(const Library& lib, const std::string& pass, const std::string& text) {
  auto r = graph_rewrite(parse(text), *lib.pass(pass));
  bool good = bool(r);
  INFO((good ? std::string() : llvm::toString(r.takeError())));
  REQUIRE(good);
  return uops::infix(*r);
}

std::string failure(const Library& lib, const std::string& pass, const UOp& root) {
  auto r = graph_rewrite(root, *lib.pass(pass));
  REQUIRE(!r);
  return llvm::toString(r.takeError());
}

} // namespace

TEST_CASE("post-order rewrites to a fixed point, walk rewrites each node once", "[engine]") {
  auto lib = lib_of("group g { [inc] x<index> + c:CONST if c < 5 => x + CONST[c + 1]; }\n"
                    "pass post = g;\npass walk = g (order=walk);\npass pre = g (order=pre);");
  CHECK(rewrite(*lib, "post", "v+1") == "v+5");
  CHECK(rewrite(*lib, "walk", "v+1") == "v+2");
  CHECK(rewrite(*lib, "pre", "v+1") == "v+5");
  CHECK(rewrite(*lib, "walk", "max(v+1,v+3)") == "max(v+2,v+4)");
}

TEST_CASE("pre-order sees a node before its sources are rewritten", "[engine]") {
  // outer first: (v+0)*0 becomes 0 before v+0 is looked at, so only one rule fires in pre-order
  auto lib = lib_of("group g { [mul0] _x<index> * 0 => 0; [add0] x<index> + 0 => x; }\n"
                    "pass pre = g (order=pre);\npass post = g;");
  std::vector<Firing> pre, post;
  REQUIRE(bool(graph_rewrite(parse("(v+0)*0"), *lib->pass("pre"), {&pre})));
  REQUIRE(bool(graph_rewrite(parse("(v+0)*0"), *lib->pass("post"), {&post})));
  REQUIRE(pre.size() == 1);
  CHECK(pre[0].rule->name == "mul0");
  REQUIRE(post.size() == 2);
  CHECK(post[0].rule->name == "add0");
}

TEST_CASE("a chain of a million nodes rewrites without a stack overflow", "[engine]") {
  auto lib = lib_of("group g { [add0] x<index> + 0 => x; }\npass p = g (limit=2000000);");
  UOp v = UOp::var("v", 0, 10), zero = UOp::constant(uops::DType::index, 0), chain = v;
  for (int i = 0; i < 1'000'000; i++) chain = UOp::alu(Op::ADD, {chain, zero});
  auto r = graph_rewrite(chain, *lib->pass("p"));
  REQUIRE(bool(r));
  CHECK(*r == v);
}

TEST_CASE("a rewrite cycle is reported with the rules that took part", "[engine]") {
  auto lib = lib_of("group g { [one_to_two] x<index> + 1 => x + 2; [two_to_one] x<index> + 2 => x + 1; }\npass p = g;");
  std::string err = failure(*lib, "p", parse("v+1"));
  CHECK(err.find("pass 'p' found a rewrite cycle") != std::string::npos);
  CHECK(err.find("one_to_two") != std::string::npos);
  CHECK(err.find("two_to_one") != std::string::npos);
}

TEST_CASE("a pass stops at its limit with an error naming the rules", "[engine]") {
  auto lib = lib_of("group g { [count_down] x<index> + c:CONST if c > 1 => (x + 1) + CONST[c - 1]; }\n"
                    "pass p = g (limit=10);\npass q = g;");
  std::string err = failure(*lib, "p", parse("v+1000"));
  CHECK(err.find("pass 'p' stopped after 10 rewrites (limit=10)") != std::string::npos);
  CHECK(err.find("count_down") != std::string::npos);
  CHECK(bool(graph_rewrite(parse("v+1000"), *lib->pass("q")))); // the default limit lets it finish
}

TEST_CASE("trace records every firing with its rule, before and after", "[engine]") {
  auto lib = lib_of("group g { [add0] x<index> + 0 => x; [mul1] x<index> * 1 => x; }\npass p = g;");
  std::vector<Firing> trace;
  auto r = graph_rewrite(parse("(v*1)+0"), *lib->pass("p"), {&trace});
  REQUIRE(bool(r));
  REQUIRE(trace.size() == 2);
  CHECK(trace[0].rule->name == "mul1");
  CHECK(uops::infix(trace[0].before) == "v*1");
  CHECK(uops::infix(trace[0].after) == "v");
  CHECK(trace[1].rule->name == "add0");
  CHECK(trace[1].rule->loc.str() == "test.pat:2:12");
}

TEST_CASE("statistics count attempts and hits; a disabled rule does not fire", "[engine]") {
  auto lib = lib_of("group g { [add0] x<index> + 0 => x; }\npass p = g;");
  Rule* add0 = lib->rule("add0");
  REQUIRE(rewrite(*lib, "p", "(v+0)+0") == "v");
  CHECK(add0->hits == 2);
  CHECK(add0->attempts >= 2);
  add0->disabled = true;
  CHECK(rewrite(*lib, "p", "(v+0)+0") == "v+0+0");
}

TEST_CASE("commutative ops match in both orders from one rule", "[engine]") {
  auto lib = lib_of("group g { [add0] x<index> + 0 => x; }\npass p = g;");
  Rule* add0 = lib->rule("add0");
  UOp v = UOp::var("v", 0, 10), zero = UOp::constant(uops::DType::index, 0);
  CHECK(apply_rule(*add0, UOp::alu(Op::ADD, {zero, v})) == v);
  CHECK(apply_rule(*add0, UOp::alu(Op::ADD, {v, zero})) == v);
  CHECK(!apply_rule(*add0, UOp::alu(Op::SUB, {zero, v})));
}

TEST_CASE("a captured op rebuilds with its own dtype, or another one written after it", "[engine]") {
  auto lib = lib_of("group g {\n"
                    "  [same]  op:{ADD, MUL}(a<f16>, b) => op(b, a);\n"
                    "  [wider] op:{ADD, MUL}(a<bf16>, b) => CAST<bf16>(op<f32>(CAST<f32>(a), CAST<f32>(b)));\n"
                    "}\npass p = g;");
  using uops::DType;
  UOp h = UOp::var("h", 0, 10), x = UOp::make(Op::CAST, DType::f16, {h}), y = UOp::make(Op::CAST, DType::bf16, {h});
  UOp xx = UOp::alu(Op::ADD, {x, x});
  CHECK(apply_rule(*lib->rule("same"), UOp::alu(Op::MUL, {x, xx})) == UOp::alu(Op::MUL, {xx, x}));
  std::optional<UOp> wide = apply_rule(*lib->rule("wider"), UOp::alu(Op::MUL, {y, y}));
  REQUIRE(wide);
  CHECK((*wide)->op == Op::CAST);
  CHECK((*wide)->dtype == DType::bf16);
  CHECK((*wide)->src[0]->op == Op::MUL);
  CHECK((*wide)->src[0]->dtype == DType::f32);
  // the dtype after a captured op is checked like any result's
  auto bad = rewriter::load_text("bad.pat",
                                 "include \"prelude.pat\";\ngroup g { [r] op:ADD(a, b) => op<nodtype>(a, b); }", false);
  REQUIRE(!bad);
  CHECK_THAT(llvm::toString(bad.takeError()), Catch::Contains("not 'nodtype'"));
}

TEST_CASE("a back-reference matches only the same node", "[engine]") {
  auto lib = lib_of("group g { [sub_self] x<index> - x => 0; }\npass p = g;");
  CHECK(rewrite(*lib, "p", "v-v") == "0");
  CHECK(rewrite(*lib, "p", "v-(v+0)") == "v-(v+0)");
}

TEST_CASE("a hook folds what the guard language cannot", "[engine]") {
  auto lib =
      lib_of("hook fold_unary(root);\ngroup g { [fold] r:{CAST, BITCAST}(CONST) => cpp::fold_unary(r); }\npass p = g;");
  UOp c = UOp::constant(uops::DType::f32, uops::float_value(uops::DType::f32, -2.75));
  auto r = graph_rewrite(UOp::make(Op::CAST, uops::DType::i32, {c}), *lib->pass("p"));
  REQUIRE(bool(r));
  CHECK((*r)->op == Op::CONST);
  CHECK((*r)->value().i == -2);
  auto bits = graph_rewrite(UOp::make(Op::BITCAST, uops::DType::u32, {c}), *lib->pass("p"));
  REQUIRE(bool(bits));
  CHECK(uint32_t((*bits)->value().i) == 0xc0300000u);
}

TEST_CASE("render rules instantiate their templates", "[engine]") {
  auto lib = lib_of("render llvm {\n"
                    "  [fadd] ADD<f32>(a, b) => \"{self} = fadd {ty} {a}, {b}\";\n"
                    "  [slt] CMPLT(a<sints>, b) => \"{self} = icmp slt {ty(a)} {a}, {b} ; {{literal}}\";\n"
                    "}\ntypemap llvm { f32 = \"float\"; i32 = \"i32\"; }");
  const Group* g = lib->group("llvm");
  REQUIRE(g);
  auto name_of = [](const UOp& u) {
    return u->op == Op::CONST ? uops::format_value(u->dtype, u->value())
                              : "%" + std::string(u->op == Op::DEFINE_VAR ? std::get<uops::Var>(u->arg).name : "r");
  };
  UOp x = UOp::var("x", 0, 9, uops::DType::i32), one = UOp::constant(uops::DType::i32, 1);
  CHECK(render(*lib, *g, UOp::alu(Op::CMPLT, {x, one}), name_of) == "%r = icmp slt i32 %x, 1 ; {literal}");
  UOp f = UOp::constant(uops::DType::f32, uops::float_value(uops::DType::f32, 1.5));
  CHECK(render(*lib, *g, UOp::alu(Op::ADD, {f, f}), name_of) == "%r = fadd float 1.5, 1.5");
  UOp h = UOp::constant(uops::DType::f64, uops::float_value(uops::DType::f64, 1.5));
  CHECK(!render(*lib, *g, UOp::alu(Op::ADD, {h, h}), name_of)); // no rule for f64
}

TEST_CASE("a user pattern folder takes effect without a rebuild", "[engine]") {
  auto dir = std::filesystem::temp_directory_path() / "patgrad_user_patterns";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "mine.pat") << "# a user rule: modulo a power of two as a mask, for non-negative values\n"
                                     "extend symbolic { [user_mod_to_and] x<index> % 8 if x.vmin >= 0 => x & 7; }\n";
  auto lib = load(LoadOptions{.dirs = {dir.string()}, .use_env = false});
  bool good = bool(lib);
  INFO((good ? std::string() : llvm::toString(lib.takeError())));
  REQUIRE(good);
  std::vector<Firing> trace;
  auto r = graph_rewrite(parse("v%8"), *(*lib)->pass("sym"), {&trace});
  REQUIRE(bool(r));
  CHECK(uops::infix(*r) == "v&7");
  REQUIRE(trace.size() == 1);
  CHECK(trace[0].rule->name == "user_mod_to_and");
  auto builtin = simplify(parse("v%8")); // the built-in library is untouched
  REQUIRE(bool(builtin));
  CHECK(uops::infix(*builtin) == "v%8");
}

TEST_CASE("a component registers its own hooks before a library that declares them loads", "[engine]") {
  auto twice = +[](llvm::ArrayRef<UOp> a) -> std::optional<UOp> { return UOp::alu(Op::ADD, {a[0], a[0]}); };
  std::string text = "hook test_twice(x);\ngroup g { [twice] x<index> * 2 => cpp::test_twice(x); }\npass p = g;";
  auto before = load_text("test.pat", "include \"prelude.pat\";\n" + text, false);
  REQUIRE(!before);
  CHECK(llvm::toString(before.takeError()).find("test.pat:2:6: error: hook 'test_twice' is not registered in C++") !=
        std::string::npos);
  register_hook("test_twice", 1, twice);
  register_hook("test_twice", 1, twice); // again: nothing changes
  auto lib = lib_of(text);
  CHECK(rewrite(*lib, "p", "v*2") == "v+v");
}
