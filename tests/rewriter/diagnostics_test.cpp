// Bad pattern files: each gets its message at its file:line:col, and nothing crashes the checker.
#include "rewriter/rewriter.h"
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <random>

using namespace patgrad::rewriter;

namespace {

std::string errors_of(const std::string& text) {
  auto lib = load_text("bad.pat", "include \"prelude.pat\";\n" + text, false);
  if (lib) return "";
  return llvm::toString(lib.takeError());
}

struct Case {
  const char* text; // line 1 of bad.pat is the include; this text starts on line 2
  const char* where;
  const char* message;
};

const Case cases[] = {
    {"group g { [r] x + 0 x; }", "bad.pat:2:21", "syntax error, unexpected name, expecting"},
    {"group g { [r] FOO(x) => x; }", "bad.pat:2:15", "unknown op or op set 'FOO'"},
    {"group g { [r] x<intz> + 0 => x; }", "bad.pat:2:17", "unknown dtype or dtype class 'intz'"},
    {"group g { [r] x<ints> + 0 if y > 0 => x; }", "bad.pat:2:30", "unknown capture 'y'"},
    {"group g { [r] x<ints> + 0 => y; }", "bad.pat:2:30", "capture 'y' is not bound by the pattern"},
    {"group g { [r] x<ints> + y => x; }", "bad.pat:2:12", "capture 'y' is bound but never used"},
    {"group g { [r] ADD(x, y, z) => x; }", "bad.pat:2:15", "ADD takes 2 sources, not 3"},
    {"group g extends nope { }", "bad.pat:2:17", "unknown group 'nope'"},
    {"pass p = nope;", "bad.pat:2:10", "unknown group 'nope'"},
    {"group g { [r] x<ints> + 0 => cpp::nope(x); }", "bad.pat:2:30", "unknown hook 'nope'"},
    {"hook nope(x);", "bad.pat:2:6", "hook 'nope' is not registered in C++"},
    {"hook fold_unary(a, b);", "bad.pat:2:6", "hook 'fold_unary' takes 1 arguments in C++, not 2"},
    {"group g { [r] x<ints> < y => x; }", "bad.pat:2:30", "the result's dtype {i8, i16, i32, i64, u8, u16, u32, u64, index} differs"},
    {"group g {\n[a] x<ints> + _ => x;\n[b] x<ints> + 0 => x; }", "bad.pat:4:2", "rule 'b' can never fire: rule 'a'"},
    {"group g {\n[a] x<ints> + 1 => x;\n[a] x<ints> + 2 => x; }", "bad.pat:4:2", "rule 'a' is declared twice"},
    {"group g {\n[a] x<ints> + 1 if x > 0 => x;\n[b] x<ints> + 1 if x > 0 => x; }", "bad.pat:4:2", "rule 'b' duplicates rule 'a'"},
    {"include \"missing.pat\";", "bad.pat:2:1", "cannot read included file 'patterns/missing.pat'"},
    {"render r { [a] ADD(x, y) => \"{self} = add {x}, {z}\"; }", "bad.pat:2:48", "unknown placeholder '{z}'"},
    {"render r { [a] ADD(x, y) => \"{self} = add {x}, {y\"; }", "bad.pat:2:48", "unclosed '{' in template"},
    {"group g { [r] x<ints> + 0 => \"oops; }", "bad.pat:2:30", "unterminated string"},
    {"group g { [r] x<ints> + 0 => x $ ; }", "bad.pat:2:32", "unexpected character '$'"},
    {"group g { [r] x<ints> + 99999999999999999999 => x; }", "bad.pat:2:25", "integer literal out of range"},
    {"group g { [r, fast] x<ints> + 0 => x; }", "bad.pat:2:15", "unknown rule option 'fast'"},
    {"group g { x<ints> + 0 => x; }", "bad.pat:2:11", "a rule needs a name"},
    {"pass p = symbolic_x;\ngroup g { [r] x<ints> + 0 => x; }\npass q = g (order=sideways);", "bad.pat:4:13",
     "bad pass option 'order=sideways'"},
    {"group g { [r] x<ints> + 0 if x.foo > 0 => x; }", "bad.pat:2:32", "unknown field 'foo'"},
    {"group g { [r] x<ints> + 0 if frob(x) => x; }", "bad.pat:2:30", "unknown builtin 'frob'"},
    {"group g { [r] x<ints> + 0 if is_pow2(x, x) => x; }", "bad.pat:2:30", "is_pow2 takes 1 argument, not 2"},
    {"group g { [r] x<ints> + 0 => \"x\"; }", "bad.pat:2:30", "a string result belongs in a render group"},
    {"render r { [a] ADD(x, y) => x + y; }", "bad.pat:2:31", "a render rule's result is a text template"},
    {"group g { [r] SINK(..., x) => x; }", "bad.pat:2:20", "'...' must be the last source of a node"},
    {"group g { [r] (x<ints> && 0) => x; }", "bad.pat:2:24", "'&&' is a guard operator; it cannot appear in a pattern"},
    {"group g { [r] x<ints> + 0 => CAST(x); }", "bad.pat:2:30", "CAST needs its dtype"},
    {"group g { [r] x<ints> + 0 => {ADD, MUL}(x, x); }", "bad.pat:2:30", "a result builds one op, not a set of ops"},
    {"group g { }\ngroup g { }", "bad.pat:3:7", "group 'g' is declared twice"},
    {"opset S = {ADD, FROB};", "bad.pat:2:17", "unknown op 'FROB'"},
    {"render r { }\npass p = r;", "bad.pat:3:10", "'r' is a render group; a pass runs rewrite groups"},
    {"typemap llvm { f33 = \"float\"; }", "bad.pat:2:16", "unknown dtype 'f33'"},
    {"extend nope { }", "bad.pat:2:8", "unknown group 'nope'"},
    {"group g { [r] x => x; }", "bad.pat:2:15", "a pattern's root must be an op"},
    {"group g { [r] ADD<bool>(x, y) => x + y; }", "bad.pat:2:15", "no dtype satisfies this pattern's constraints"},
    {"group g { [r] -x => x; }", "bad.pat:2:15", "unary operators cannot appear in a pattern"},
    {"group g { [r] x<ints> + 0 => choose(x, x); }", "bad.pat:2:30", "choose takes 3 arguments, not 2"},
    // pipeline declarations
    {"group g { }\npass p = g (before=nope);", "bad.pat:3:13", "unknown stage 'nope': before= names a pass declared earlier"},
    {"group g { }\npass p = g (after=q);\npass q = g;", "bad.pat:3:13", "unknown stage 'q': after= names a pass declared"},
    {"group g { }\npass a = g;\npass p = g (before=a, after=a);", "bad.pat:4:23", "pass 'p' goes either before or after one stage, not both"},
    {"pass p = native (order=pre);", "bad.pat:2:18", "option 'order' is for rule passes: a native pass runs C++"},
    {"pass p = native;\npass p = native;", "bad.pat:3:6", "pass 'p' is declared twice"},
    {"pass p = native (target=gpu);", "bad.pat:2:18", "unknown target 'gpu': declare it with `target gpu (render=GROUP);`"},
    {"render r { }\ntarget cpu (render=r);\ntarget cpu;", "bad.pat:4:8", "target 'cpu' is declared twice"},
    {"group g { }\ntarget cpu (render=g);", "bad.pat:3:20", "'g' is a rewrite group; render= names a render group"},
    {"target cpu (render=nope);", "bad.pat:2:20", "unknown group 'nope'"},
    {"group g { }\npass p = g, native;", "bad.pat:3:13", "syntax error, unexpected native"},
    // where bindings
    {"group g { [r] x<index> + 0 => x where x = x + 1; }", "bad.pat:2:39", "binding 'x' has the name of a capture"},
    {"group g { [r] x<index> + 0 => a where a = b + x, b = x + 1; }", "bad.pat:2:43", "binding 'b' is used before it is defined"},
    {"group g { [r] x<index> + 0 => a where a = a + x; }", "bad.pat:2:43", "binding 'a' is used before it is defined"},
    {"group g { [r] x<index> + 0 => x where a = x + 1; }", "bad.pat:2:39", "binding 'a' is never used"},
    {"group g { [r] x<index> + 0 if a > 0 => a where a = x + 1; }", "bad.pat:2:31", "the guard runs before the where bindings: it cannot use 'a'"},
    {"group g { [r] x<index> + 0 => a where a = x + 1, a = x + 2; }", "bad.pat:2:50", "binding 'a' is defined twice"},
    {"group g { [r] x<index> + 0 => a + x where a = 1; }", "bad.pat:2:47", "a bound constant needs its dtype"},
    {"render r { [a] ADD(x, y) => \"{x} {y}\" where z = x; }", "bad.pat:2:45", "a render rule has no where bindings"},
    // fresh(), source lists, args, lowest(), integer lists
    {"group g { [r] x<index> + 0 if fresh(c) > 0 => x; }", "bad.pat:2:31", "fresh() numbers what a result builds"},
    {"group g { [r] SINK(x<index>) => SINK(RANGE<index>[fresh(1)](x)); }", "bad.pat:2:51", "fresh takes the name of a counter"},
    {"group g { [r] SINK(x) => ranges(x); }", "bad.pat:2:26", "ranges() is a list of nodes: splice it"},
    {"group g { [r] SINK(x, ...rs) => SINK(...without(...rs, ranges(x))); }", "bad.pat:2:49", "a list argument is written without '...'"},
    {"group g { [r] SINK(x) => SINK(...ranges(y)); }", "bad.pat:2:41", "capture 'y' is not bound by the pattern"},
    {"group g { [r] SINK(x) => SINK(...frob(x)); }", "bad.pat:2:34", "expected a list of nodes"},
    {"group g { [r] SINK(x, ...rs) => SINK(...without(rs, (x, 1))); }", "bad.pat:2:57", "a list of nodes holds captures and ...lists"},
    {"group g { [r] SINK(x) => SINK(...ranges(x, x)); }", "bad.pat:2:34", "ranges takes 1 argument, not 2"},
    {"group g { [r] SINK(...ranges(x)) => SINK(); }", "bad.pat:2:20", "a pattern captures its sources with ...name"},
    {"group g { [r] REDUCE_AXIS[(y, 1)](x) => x; }", "bad.pat:2:28", "an arg tuple in a pattern holds integers and op names"},
    {"group g { [r] REDUCE_AXIS[x.shape](x) => x; }", "bad.pat:2:29", "an arg in a pattern must be a literal, an op name, a tuple"},
    {"group g { [r] SINK(x) => SINK(CONST<f32>[lowest(x)]); }", "bad.pat:2:49", "lowest takes a dtype"},
    {"group g { [r] SINK(x) if is_pow2(x.shape) => SINK(); }", "bad.pat:2:36", "argument 1 of is_pow2 is a number, not a list"},
    {"group g { [r] SINK(x) if inverse(1) == x.shape => SINK(); }", "bad.pat:2:34", "argument 1 of inverse is a list, not a number"},
    {"group g { [r] SINK(x) => (x, x); }", "bad.pat:2:26", "a tuple is an arg: write it inside a node's [...]"},
    // list comprehensions, folds and the index builtins
    {"group g { [r] SINK(...rs) => SINK(...[i for i, j in rs]); }", "bad.pat:2:38", "2 names for 1 lists"},
    {"group g { [r] SINK(x, ...rs) => SINK(...[x for x in rs]); }", "bad.pat:2:48", "'x' is already a name of this rule"},
    {"group g { [r] SINK(x, ...rs) => SINK(...[x for i in rs]); }", "bad.pat:2:48", "binding 'i' is never used"},
    {"group g { [r] SINK(x) if trips(1) > 0 => x; }", "bad.pat:2:26", "trips takes a captured RANGE or list of RANGEs"},
    {"group g { [r] SINK(x) if trips(y) > 0 => x; }", "bad.pat:2:32", "'y' is not a captured node or list"},
    {"group g { [r] SINK(...rs) => SINK(flatten(rs)); }", "bad.pat:2:35", "flatten takes 2 arguments, not 1"},
    {"group g { [r] SINK(x) => SINK(frob(x)); }", "bad.pat:2:31", "unknown result function 'frob'"},
    {"group g { [r] SINK(x) => SINK(var(x, 0, 1)); }", "bad.pat:2:35", "var takes a name first"},
    {"group g { [r] SINK(x) => fresh_ranges(x.shape); }", "bad.pat:2:26", "fresh_ranges() is a list of nodes: splice it"},
    {"group g { [r] SINK(x, ...rs) => SINK(...pick(rs, x.shape == x.shape)); }", "bad.pat:2:58", "pick takes an integer list here, not a comparison"},
    {"group g { [r] SINK(x) if at(1, 0) > 0 => x; }", "bad.pat:2:29", "argument 1 of at is a list, not a number"},
    {"group g { [r] SINK(x) if at(x.shape, x.shape) > 0 => x; }", "bad.pat:2:40", "argument 2 of at is a number, not a list"},
    {"group g { [r] SINK(x) => SINK(INDEX<nope>(x, true)); }", "bad.pat:2:37", "a result needs one dtype, a dtype variable of the pattern or a capture"},
    {"group g { [r] SINK(x) => SINK(...rs) where x = fresh_ranges(x.shape), rs = fresh_ranges(x.shape); }", "bad.pat:2:44", "'x' is already a name of this rule"},
    {"group g { [r] PERMUTE(x) => PERMUTE[(1, x.shape)](x); }", "bad.pat:2:43", "a list inside a tuple is spread: write ...l"},
    {"group g { [r] PERMUTE(x) => PERMUTE[(1, ...)](x); }", "bad.pat:2:41", "'...' in a tuple spreads a list"},
};

} // namespace

TEST_CASE("every kind of bad pattern file gets its file:line:col and message", "[diagnostics]") {
  for (const Case& c : cases) {
    INFO(c.text);
    std::string errors = errors_of(c.text);
    INFO(errors);
    CHECK(errors.find(std::string(c.where) + ": error: " + c.message) != std::string::npos);
  }
  CHECK(std::size(cases) >= 25);
}

TEST_CASE("a diagnostic shows the source line and a caret under the column", "[diagnostics]") {
  std::string errors = errors_of("group g { [r] FOO(x) => x; }");
  CHECK(errors.find("bad.pat:2:15: error: unknown op or op set 'FOO'\n  group g { [r] FOO(x) => x; }\n"
                    "                ^") != std::string::npos);
}

TEST_CASE("checking goes on after an error and reports every one", "[diagnostics]") {
  std::string errors = errors_of("group g {\n[a] FOO(x) => x;\n[b] x<intz> + 0 => x;\n[c] x<ints> + 0 => y;\n}");
  CHECK(errors.find("bad.pat:3:5: error: unknown op") != std::string::npos);
  CHECK(errors.find("bad.pat:4:7: error: unknown dtype") != std::string::npos);
  CHECK(errors.find("bad.pat:5:20: error: capture 'y' is not bound") != std::string::npos);
  CHECK(errors.find("3 errors") != std::string::npos);
}

TEST_CASE("an include cycle names every file in it", "[diagnostics]") {
  auto dir = std::filesystem::temp_directory_path() / "patgrad_include_cycle";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "a.pat") << "include \"b.pat\";\n";
  std::ofstream(dir / "b.pat") << "\ninclude \"a.pat\";\n";
  auto lib = load(LoadOptions{.builtin = false, .files = {(dir / "a.pat").string()}, .use_env = false});
  REQUIRE(!lib);
  std::string errors = llvm::toString(lib.takeError());
  INFO(errors);
  CHECK(errors.find((dir / "b.pat").string() + ":2:1: error: include cycle: " + (dir / "a.pat").string() +
                    " includes " + (dir / "b.pat").string() + " includes " + (dir / "a.pat").string()) !=
        std::string::npos);
}

TEST_CASE("no mutation of a real pattern file crashes the checker", "[diagnostics]") {
  std::string base = "include \"prelude.pat\";\nhook fold_unary(root);\ngroup g {\n"
                     "  [a] op:BINARY(a:CONST, b:CONST) if defined(op, a, b) => CONST[eval(op, a, b)];\n"
                     "  [b] (x<index> // c1:CONST) // c2:CONST if c1 > 0 && c2 > 0 => x // CONST[c1 * c2];\n"
                     "  [c] r:{UNARY, CAST}(CONST) => cpp::fold_unary(r);\n"
                     "  [d] WHERE(c, a, _) if c.vmin == 1 => a;\n}\n"
                     "render llvm { [e] ADD<f32>(a, b) => \"{self} = fadd {ty} {a}, {b}\"; }\n"
                     "typemap llvm { f32 = \"float\"; }\npass p = g (order=pre, limit=10);\n";
  {
    auto lib = load_text("base.pat", base, false);
    bool good = bool(lib);
    INFO((good ? std::string() : llvm::toString(lib.takeError())));
    REQUIRE(good);
  }
  std::mt19937 rng(1);
  const std::string alphabet = "()[]{}<>:;,.=+-*/%!&|^~\"#_ axXc01ADDCONST\n";
  for (int i = 0; i < 3000; i++) {
    std::string s = base;
    for (int k = 0, n = 1 + rng() % 4; k < n; k++) {
      size_t at = rng() % s.size();
      switch (rng() % 3) {
      case 0: s.erase(at, 1 + rng() % 3); break;
      case 1: s.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      default: s[at] = alphabet[rng() % alphabet.size()];
      }
    }
    auto lib = load_text("mutant.pat", s, false);
    if (!lib) CHECK(llvm::toString(lib.takeError()).find("mutant.pat:") != std::string::npos);
  }
}

TEST_CASE("binary garbage gives at most 50 errors and a count of the rest and no raw control bytes", "[diagnostics]") {
  std::mt19937 rng(7);
  std::string garbage;
  for (int i = 0; i < 20000; i++) garbage += char(rng() % 256);
  auto lib = load_text("garbage.pat", garbage, false);
  REQUIRE(!lib);
  std::string errors = llvm::toString(lib.takeError());
  size_t shown = 0;
  for (size_t at = 0; (at = errors.find("garbage.pat:", at)) != std::string::npos; at++) shown++;
  CHECK(shown == 51); // 50 errors, then "garbage.pat: ... and N more errors"
  CHECK(errors.find("garbage.pat: ... and ") != std::string::npos);
  for (char c : errors) {
    INFO(int(c));
    bool prints = c == '\n' || c == '\t' || (uint8_t(c) >= 0x20 && c != 0x7f);
    CHECK(prints);
  }
}

TEST_CASE("a byte that does not print is escaped in the message and the line under an aligned caret", "[diagnostics]") {
  std::string errors = errors_of("group g { [r] x<ints> + 0 => x \x01 ; }");
  CHECK(errors.find("bad.pat:2:32: error: unexpected character '\\x01'\n"
                    "  group g { [r] x<ints> + 0 => x \\x01 ; }\n"
                    "                                 ^") != std::string::npos);
  // a UTF-8 character prints as itself and takes one column; a broken one is escaped
  errors = errors_of("# \xc3\xa9\xc3\ngroup g { [r] FOO(x) => x; }");
  CHECK(errors.find("  group g { [r] FOO(x) => x; }") != std::string::npos);
  errors = errors_of("group g { [r] \xc3\xa9 FOO(x) => x; }");
  CHECK(errors.find("\n  group g { [r] \xc3\xa9 FOO(x) => x; }\n                  ^") != std::string::npos);
}

TEST_CASE("expressions nested deeper than the parser allows are errors and not stack overflows", "[diagnostics]") {
  auto repeat = [](const std::string& s, int n) {
    std::string out;
    for (int i = 0; i < n; i++) out += s;
    return out;
  };
  const int n = 100000;
  const std::pair<std::string, const char*> deep[] = {
      {"group g { [r] " + repeat("NEG(", n) + "x" + repeat(")", n) + " => x; }", "expression nested too deeply"},
      {"group g { [r] " + repeat("(", n) + "x<ints>" + repeat(")", n) + " + 0 => x; }", "expression nested too deeply"},
      {"group g { [r] x<ints> + 0 => " + repeat("-", n) + "x; }", "expression nested too deeply"},
      {"group g { [r] x<ints> + 0 if " + repeat("!", n) + "x => x; }", "expression nested too deeply"},
      {"group g { [r] x<ints>" + repeat(" + x", n) + " => x; }", "expression nested deeper than 256 levels"},
      {"group g { [r] x<ints> + 0 => x" + repeat(".vmin", n) + "; }", "expression nested deeper than 256 levels"},
  };
  for (auto& [text, message] : deep) {
    INFO(text.substr(0, 40));
    std::string errors = errors_of(text);
    INFO(errors.substr(0, 1000));
    CHECK(errors.find("bad.pat:2:") != std::string::npos);
    CHECK(errors.find(message) != std::string::npos);
  }
  // at the limits, a rule still loads
  std::string ok = "group g { [r] " + repeat("NEG(", 200) + "x" + repeat(")", 200) + " => x; }";
  CHECK(errors_of(ok).find("nested") == std::string::npos);
}
