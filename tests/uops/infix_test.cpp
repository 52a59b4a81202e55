// parse_infix: operators and their ops, Python's precedence and chains, errors with their position, round trips
// through infix(), and arbitrary input that must come back as a node or an error, never a crash.
#include "uops/infix.h"
#include <catch2/catch.hpp>
#include <llvm/ADT/StringExtras.h>
#include <random>

using namespace patgrad::uops;

namespace {

const VarBounds bounds = {{"a", {0, 10}}, {"b", {-5, 5}}, {"c", {0, 100}}};

UOp parse(std::string_view text) {
  INFO("parsing " << text);
  llvm::Expected<UOp> u = parse_infix(text, bounds);
  if (!u) FAIL(llvm::toString(u.takeError()));
  return *u;
}

// The error message for text, or "" if it parses.
std::string error_of(std::string_view text, const VarBounds& vars = bounds) {
  llvm::Expected<UOp> u = parse_infix(text, vars);
  return u ? "" : llvm::toString(u.takeError());
}

// Whether infix() prints some node of u with its subtraction spelling (x+y*-1 or x+-c as x-y, x-c), which reads back
// as SUB: equal in value, not the same node.
bool prints_as_sub(const UOp& u) {
  if (u->op == Op::ADD) {
    const UOp& b = u->src[1];
    if (b->op == Op::MUL && b->src[1]->is_const() && b->src[1]->value().i == -1) return true;
    if (b->is_const() && b->value().i < 0 && b->value().i != INT64_MIN) return true;
  }
  for (const UOp& s : u->src)
    if (prints_as_sub(s)) return true;
  return false;
}

} // namespace

TEST_CASE("each operator builds the op the op table gives its spelling", "[infix]") {
  struct Case {
    const char* text;
    const char* sexpr;
  };
  const Case cases[] = {
      {"a+1", "(ADD:index (DEFINE_VAR:index a[0..10]) (CONST:index 1))"},
      {"a-b", "(SUB:index (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"a*b", "(MUL:index (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"a//b", "(IDIV:index (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"a%b", "(MOD:index (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"a&b", "(AND:index (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"a|b", "(OR:index (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"a^b", "(XOR:index (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"a<<b", "(SHL:index (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"a>>b", "(SHR:index (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"a<b", "(CMPLT:bool (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"a<=b", "(CMPLE:bool (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"a>b", "(CMPLT:bool (DEFINE_VAR:index b[-5..5]) (DEFINE_VAR:index a[0..10]))"},
      {"a>=b", "(CMPLE:bool (DEFINE_VAR:index b[-5..5]) (DEFINE_VAR:index a[0..10]))"},
      {"a==b", "(CMPEQ:bool (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"a!=b", "(CMPNE:bool (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"-a", "(MUL:index (DEFINE_VAR:index a[0..10]) (CONST:index -1))"},
      {"-5", "(CONST:index -5)"},
      {"-(5)", "(MUL:index (CONST:index 5) (CONST:index -1))"},
      {"--5", "(MUL:index (CONST:index -5) (CONST:index -1))"},
      {"-9223372036854775808", "(CONST:index -9223372036854775808)"},
      {"9223372036854775807", "(CONST:index 9223372036854775807)"},
      {"max(a,b)", "(MAX:index (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"min(a,b)", "(MIN:index (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"where(true,a,b)", "(WHERE:index (CONST:bool true) (DEFINE_VAR:index a[0..10]) (DEFINE_VAR:index b[-5..5]))"},
      {"false^true", "(XOR:bool (CONST:bool false) (CONST:bool true))"},
      {"x_1", "(DEFINE_VAR:index x_1[-9223372036854775808..9223372036854775807])"},
      {" \t( a\n+ 1 ) ", "(ADD:index (DEFINE_VAR:index a[0..10]) (CONST:index 1))"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    CHECK(sexpr(parse(c.text)) == c.sexpr);
  }
}

TEST_CASE("operators bind and associate as in Python", "[infix]") {
  const std::pair<const char*, const char*> same[] = {
      {"a+b*c", "a+(b*c)"},
      {"a*b+c", "(a*b)+c"},
      {"a-b-c", "(a-b)-c"},
      {"a//b//c", "(a//b)//c"},
      {"a%b*c", "(a%b)*c"},
      {"a+b<<c", "(a+b)<<c"},
      {"a<<b+c", "a<<(b+c)"},
      {"a<<b>>c", "(a<<b)>>c"},
      {"a&b<<c", "a&(b<<c)"},
      {"a&b|c", "(a&b)|c"},
      {"a|b&c", "a|(b&c)"},
      {"a^b&c", "a^(b&c)"},
      {"a|b^c", "a|(b^c)"},
      {"a^b|c", "(a^b)|c"},
      {"a+b==c", "(a+b)==c"},
      {"a|b<c", "(a|b)<c"},
      {"-a*b", "(-a)*b"},
      {"a*-b", "a*(-b)"},
      {"-a+b", "(-a)+b"},
      {"--a", "-(-a)"},
      {"-5*a", "(-5)*a"},
      {"a- -5", "a-(-5)"},
      {"a<-5", "a<(-5)"},
      {"max(a,b)+1", "(max(a,b))+1"},
      {"a<b<c", "(a<b)&(b<c)"},
      {"a>b>c", "(b<a)&(c<b)"},
      {"a<b<=c==a", "(a<b)&(b<=c)&(c==a)"},
      {"a<b+1<c", "(a<b+1)&(b+1<c)"},
      {"where(a<b<c,a,b)", "where((a<b)&(b<c),a,b)"},
  };
  for (auto [text, parenthesized] : same) {
    INFO(text << " vs " << parenthesized);
    CHECK(parse(text) == parse(parenthesized));
  }
}

TEST_CASE("errors give line:col, what was expected and what was found, then the line and a caret", "[infix]") {
  CHECK(error_of("true+1") == "1:5: error: invalid operands of '+': ADD is not defined on bool\ntrue+1\n    ^");
  CHECK(error_of("a +\n\tmax(a,b c)") ==
        "2:10: error: expected ')' after arguments of max, found 'c'\n\tmax(a,b c)\n\t        ^");
  // bytes that do not print are escaped in the echoed line too, and the caret stays under its column
  CHECK(error_of("a\v+ $") == "1:5: error: unexpected character '$'\na\\x0b+ $\n       ^");

  struct Case {
    const char* text;
    const char* position;
    const char* message;
  };
  const Case cases[] = {
      {"", "1:1", "expected an expression, found end of input"},
      {"a+", "1:3", "expected an expression, found end of input"},
      {"a\n+", "2:2", "expected an expression, found end of input"},
      {"a b", "1:3", "expected an operator or end of input, found 'b'"},
      {"a)", "1:2", "expected an operator or end of input, found ')'"},
      {"(a+b", "1:5", "expected ')' to close '(' at 1:1, found end of input"},
      {"()", "1:2", "expected an expression, found ')'"},
      {"max(a)", "1:6", "expected ',' after argument 1 of max, found ')'"},
      {"max(a,b,c)", "1:8", "expected ')' after arguments of max, found ','"},
      {"where(a<b,a)", "1:12", "expected ',' after argument 2 of where, found ')'"},
      {"max+1", "1:4", "expected '(' after max, found '+'"},
      {"foo(a)", "1:1", "unknown function 'foo'"},
      {"a $ b", "1:3", "unexpected character '$'"},
      {"a/b", "1:2", "unexpected character '/'"},
      {"a=b", "1:2", "unexpected character '='"},
      {"a\x01", "1:2", "unexpected character '\\x01'"},
      {"1+true", "1:2", "invalid operands of '+': ADD of index has a bool source"},
      {"-true", "1:1", "invalid operands of '-': MUL is not defined on bool"},
      {"a<b<true", "1:4", "invalid operands of '<': CMPLT compares index with bool"},
      {"a<<(b<c)", "1:2", "invalid operands of '<<': SHL of index has a bool source"},
      {"where(1,a,b)", "1:1", "invalid operands of 'where': WHERE needs a bool condition"},
      {"where(a<b,a,true)", "1:1", "invalid operands of 'where': WHERE selects between other dtypes"},
      {"9223372036854775808", "1:1", "integer literal 9223372036854775808 is outside the int64 range of index"},
      {"a+-9223372036854775809", "1:3", "integer literal -9223372036854775809 is outside the int64 range of index"},
      {"99999999999999999999999999999999999999999999999", "1:1", "is outside the int64 range of index"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    std::string error = error_of(c.text);
    CHECK_THAT(error, Catch::StartsWith(std::string(c.position) + ": error: "));
    CHECK_THAT(error, Catch::Contains(c.message));
  }
}

TEST_CASE("a variable with empty bounds is an error at its name", "[infix]") {
  CHECK_THAT(error_of("1+e", {{"e", {5, 3}}}),
             Catch::StartsWith("1:3: error: DEFINE_VAR e[5..3] holds no index value"));
}

TEST_CASE("nesting deeper than the limit is an error; long flat or unary runs parse and print back", "[infix]") {
  auto nested = [](int n) { return std::string(n, '(') + "a" + std::string(n, ')'); };
  CHECK(parse(nested(256)) == parse("a"));
  CHECK_THAT(error_of(nested(257)), Catch::StartsWith("1:257: error: expression nested deeper than 256 levels"));
  CHECK_THAT(error_of(nested(1000000)), Catch::Contains("nested deeper"));
  std::string calls;
  for (int i = 0; i < 100000; i++) calls += "max(a,";
  CHECK_THAT(error_of(calls), Catch::Contains("nested deeper"));

  // the printers walk with their own stack, so these deep chains print too
  std::string negated = std::string(100001, '-') + "a";
  CHECK(infix(parse(negated)) == negated);
  std::string sum = "1";
  for (int i = 0; i < 100000; i++) sum += "+1";
  CHECK(infix(parse(sum)) == sum);
  CHECK(sexpr(parse(sum)).size() == 15 + 100000 * std::string_view("(ADD:index  (CONST:index 1))").size());
}

TEST_CASE("infix prints the conventional spellings", "[infix]") {
  const std::pair<const char*, const char*> printed[] = {
      {"a+2", "a+2"},
      {"a*-1", "-a"},
      {"a+b*-1", "a-b"},
      {"a+-2", "a-2"},
      {"max(a, b)", "max(a,b)"},
      {"-(5)", "-(5)"},
      {"--5", "-(-5)"},
      {"a-(b-c)", "a-(b-c)"},
      {"a<b<c", "(a<b)&(b<c)"},
      {"a>b", "b<a"},
      {"-(a+b)", "-(a+b)"},
      {"a+-9223372036854775808", "a+-9223372036854775808"},
      {"(a<b)==(b<c)", "(a<b)==(b<c)"},
      {"where(a<b,a,b)", "where(a<b,a,b)"},
  };
  for (auto [text, want] : printed) {
    INFO(text);
    CHECK(infix(parse(text)) == want);
  }
}

TEST_CASE("infix reads back as the node it printed; a-b reads back as SUB", "[infix]") {
  const char* texts[] = {"a+2",
                         "a-b",
                         "-a",
                         "-5",
                         "-(5)",
                         "--5",
                         "--a",
                         "-a*b",
                         "a*-b",
                         "(a+b)*c",
                         "a-(b-c)",
                         "a//-3",
                         "a%-3",
                         "a<<2>>1",
                         "a&b|c^a",
                         "(a<b)&(b<c)",
                         "(a<b)==(b<c)",
                         "true!=false",
                         "max(a,min(b,c))",
                         "where(a<b,a,-b)",
                         "-9223372036854775808",
                         "a+-9223372036854775808",
                         "x*y",
                         "-(a+1)",
                         "(-a)*(-b)",
                         "a--b",
                         "a- -5"};
  for (const char* text : texts) {
    UOp u = parse(text);
    INFO(text << " printed " << infix(u));
    CHECK(parse(infix(u)) == u);
  }
  UOp sum = UOp::alu(Op::ADD, {parse("a"), parse("-b")});
  CHECK(infix(sum) == "a-b");
  CHECK(parse(infix(sum)) == parse("a-b"));
  CHECK(parse("a-b")->op == Op::SUB);
}

namespace {

// Random index and bool nodes of the ops parse_infix builds.
struct RandomNodes {
  std::mt19937_64 rng{7};
  int pick(int n) { return int(rng() % unsigned(n)); }

  UOp leaf_index() {
    const int64_t consts[] = {0, 1, 2, -1, -2, 7, INT64_MIN, INT64_MAX, -100};
    const char* names[] = {"a", "b", "c", "x"};
    if (pick(2)) return parse(names[pick(4)]);
    return UOp::constant(DType::index, __int128(consts[pick(9)]));
  }
  UOp index(int depth) {
    if (depth == 0) return leaf_index();
    const Op binary[] = {Op::ADD, Op::SUB, Op::MUL, Op::IDIV, Op::MOD, Op::AND,
                         Op::OR,  Op::XOR, Op::SHL, Op::SHR,  Op::MAX, Op::MIN};
    switch (pick(4)) {
    case 0: return UOp::alu(Op::MUL, {index(depth - 1), UOp::constant(DType::index, -1)});
    case 1: return UOp::alu(Op::WHERE, {boolean(depth - 1), index(depth - 1), index(depth - 1)});
    default: return UOp::alu(binary[pick(12)], {index(depth - 1), index(depth - 1)});
    }
  }
  UOp boolean(int depth) {
    if (depth == 0) return UOp::constant(DType::bool_, __int128(pick(2)));
    const Op compare[] = {Op::CMPLT, Op::CMPLE, Op::CMPEQ, Op::CMPNE};
    const Op logic[] = {Op::AND, Op::OR, Op::XOR, Op::MAX, Op::MIN, Op::CMPEQ, Op::CMPLT};
    switch (pick(3)) {
    case 0: return UOp::alu(compare[pick(4)], {index(depth - 1), index(depth - 1)});
    case 1: return UOp::alu(logic[pick(7)], {boolean(depth - 1), boolean(depth - 1)});
    default: return UOp::alu(Op::WHERE, {boolean(depth - 1), boolean(depth - 1), boolean(depth - 1)});
    }
  }
};

} // namespace

TEST_CASE("random nodes read back from their infix", "[infix]") {
  RandomNodes gen;
  for (int i = 0; i < 5000; i++) {
    UOp u = gen.pick(3) ? gen.index(1 + gen.pick(4)) : gen.boolean(1 + gen.pick(4));
    std::string text = infix(u);
    INFO(text);
    UOp back = parse(text);
    CHECK(infix(back) == text);
    if (!prints_as_sub(u)) CHECK(back == u);
  }
}

TEST_CASE("arbitrary input parses or fails with a located error, never crashes", "[infix]") {
  const char* pieces[] = {"a",  "b",    "x",   "1",     "0",    "9223372036854775808",
                          "-",  "+",    "*",   "//",    "%",    "<",
                          "<=", ">",    ">=",  "==",    "!=",   "&",
                          "|",  "^",    "<<",  ">>",    "(",    ")",
                          ",",  "max",  "min", "where", "true", "false",
                          " ",  "/",    "=",   "!",     "$",    "\n",
                          "\t", "\x80", "_"};
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200000; i++) {
    std::string text;
    int length = int(rng() % 24);
    for (int j = 0; j < length; j++) {
      if (i % 2)
        text += pieces[rng() % std::size(pieces)];
      else
        text += char(rng() % 256);
    }
    llvm::Expected<UOp> u = parse_infix(text, bounds);
    if (u) {
      std::string printed = infix(*u);
      REQUIRE(infix(parse(printed)) == printed);
    } else {
      std::string error = llvm::toString(u.takeError());
      INFO(error);
      REQUIRE(llvm::isDigit(error[0]));
      REQUIRE_THAT(error, Catch::Contains(": error: ") && Catch::EndsWith("^"));
    }
  }
}
