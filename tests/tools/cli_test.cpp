// The patgrad command, run as a user runs it: output text and exit codes.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>

namespace {

struct Run {
  std::string out; // standard output and standard error together
  int code;
};

Run patgrad(const std::string& args, const std::string& env = "") {
  std::string cmd = env + " " PATGRAD_BINARY " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = pclose(p);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

} // namespace

TEST_CASE("rewrite prints the simplified expression and its range", "[cli]") {
  Run r = patgrad("rewrite --var a=0..10 '(a*4+8)//4'");
  CHECK(r.code == 0);
  CHECK(r.out == "a+2\nrange: 2..12\n");
  r = patgrad("rewrite --var a=0..9 'a < 10'");
  CHECK(r.out == "true\nrange: true..true\n");
}

TEST_CASE("rewrite --trace names each rule that fired with its location", "[cli]") {
  Run r = patgrad("rewrite --trace --var a=0..10 '(a*4+8)//4'");
  CHECK(r.code == 0);
  CHECK(r.out.starts_with("a+2\nrange: 2..12\n"));
  CHECK(r.out.find("patterns/symbolic.pat:") != std::string::npos);
  CHECK(r.out.find(" => a+2") != std::string::npos);
}

TEST_CASE("rewrite - reads one expression per line", "[cli]") {
  Run r = patgrad("rewrite --var a=0..7 --var b=0..7 -", "printf 'a%%8\\n(a*8+b)//8\\nx*3 + x*5\\n' |");
  CHECK(r.code == 0);
  CHECK(r.out == "a\na\nx*8\n");
}

TEST_CASE("bad command lines and bad expressions exit 1 with a message", "[cli]") {
  CHECK(patgrad("rewrite --var a=3 'a'").out.find("bad --var 'a=3'") != std::string::npos);
  CHECK(patgrad("rewrite --var a=5..1 'a'").code == 1);
  Run r = patgrad("rewrite '(a+'");
  CHECK(r.code == 1);
  CHECK(r.out.find("1:4: error") != std::string::npos);
  CHECK(patgrad("frobnicate").code == 1);
  CHECK(patgrad("rewrite --pass nope 'a'").out.find("no pass named 'nope'") != std::string::npos);
  CHECK(patgrad("--disable-rule nope rewrite 'a'").out.find("no rule named 'nope'") != std::string::npos);
}

TEST_CASE("--help works everywhere and exits 0", "[cli]") {
  Run r = patgrad("--help");
  CHECK(r.code == 0);
  CHECK(r.out.find("usage: patgrad") != std::string::npos);
  CHECK(patgrad("rewrite --help").code == 0);
  CHECK(patgrad("check --help").code == 0);
}

TEST_CASE("check reports errors with file:line:col and exits 1", "[cli]") {
  auto dir = std::filesystem::temp_directory_path() / "patgrad_cli_check";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "bad.pat") << "include \"prelude.pat\";\ngroup mine { [r] FOO(x) => x; }\n";
  std::ofstream(dir / "good.pat") << "include \"prelude.pat\";\ngroup mine { [r] x<index> * 2 => x + x; }\n";
  Run bad = patgrad("check " + (dir / "bad.pat").string());
  CHECK(bad.code == 1);
  CHECK(bad.out.find((dir / "bad.pat").string() + ":2:18: error: unknown op or op set 'FOO'") != std::string::npos);
  Run good = patgrad("check " + (dir / "good.pat").string());
  CHECK(good.code == 0);
  CHECK(good.out.starts_with("ok: "));
}

TEST_CASE("PATGRAD_PATTERNS and --patterns add rules without a rebuild; --disable-rule turns one off", "[cli]") {
  auto dir = std::filesystem::temp_directory_path() / "patgrad_cli_user";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "mine.pat") << "extend symbolic { [user_mod_to_and] x<index> % 8 if x.vmin >= 0 => x & 7; }\n";
  const std::string expr = " rewrite --var a=0..100 'a%8'";
  CHECK(patgrad(expr).out.starts_with("a%8\n"));
  CHECK(patgrad(expr, "PATGRAD_PATTERNS=" + dir.string()).out.starts_with("a&7\n"));
  CHECK(patgrad("--patterns " + dir.string() + expr).out.starts_with("a&7\n"));
  CHECK(patgrad("--patterns " + dir.string() + " --disable-rule user_mod_to_and" + expr).out.starts_with("a%8\n"));
}

TEST_CASE("rules lists groups and rules with locations; with input it counts hits", "[cli]") {
  Run r = patgrad("rules");
  CHECK(r.code == 0);
  CHECK(r.out.find("group symbolic (patterns/symbolic.pat:") != std::string::npos);
  CHECK(r.out.find("idiv_add_c") != std::string::npos);
  Run counted = patgrad("rules -", "echo '(a*4+8)//4' |");
  CHECK(counted.code == 0);
  CHECK(counted.out.find("hits       0") != std::string::npos);
  bool some_hit = counted.out.find("hits       1") != std::string::npos || counted.out.find("hits       2") != std::string::npos;
  CHECK(some_hit);
}

TEST_CASE("passes prints the pipeline: rule passes with their groups and options, native stages", "[cli]") {
  Run r = patgrad("passes");
  CHECK(r.code == 0);
  CHECK(r.out.find("sym          = symbolic, given_gate (order=post, fixpoint, limit=250000) ") != std::string::npos);
  CHECK(r.out.find("linearize    = native ") != std::string::npos);
  CHECK(r.out.find("schedule     = native (stage=tensor) ") != std::string::npos);
}

TEST_CASE("passes --target T omits the stages of other targets; an unknown T lists the known ones", "[cli]") {
  auto dir = std::filesystem::temp_directory_path() / "patgrad_cli_target";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "mine.pat") << "pass cpu_sym = symbolic (order=post, after=sym, target=CPU);\n";
  const std::string with = "--patterns " + dir.string() + " passes";
  Run all = patgrad(with), cpu = patgrad(with + " --target CPU"), interp = patgrad(with + " --target INTERP");
  INFO(all.out + cpu.out + interp.out);
  CHECK(all.code == 0);
  CHECK(cpu.code == 0);
  CHECK(interp.code == 0);
  CHECK(all.out.find("cpu_sym      = symbolic (order=post, fixpoint, limit=1000000, target=CPU) ") !=
        std::string::npos);
  CHECK(cpu.out.find("cpu_sym ") != std::string::npos);
  CHECK(interp.out.find("cpu_sym ") == std::string::npos);
  CHECK(interp.out.find("sym          = symbolic") != std::string::npos); // the stages every target runs stay
  CHECK(interp.out.starts_with("target INTERP: renders nothing\n"));
  Run bad = patgrad("passes --target TPU");
  CHECK(bad.code == 1);
  CHECK(bad.out.find("unknown target 'TPU': expected one of CPU, INTERP") != std::string::npos);
}

TEST_CASE("DEV names the target scripts run on; an unknown DEV is an error listing the known targets", "[cli]") {
  auto dir = std::filesystem::temp_directory_path() / "patgrad_cli_dev";
  std::filesystem::create_directories(dir);
  std::string script = (dir / "t.pg").string();
  std::ofstream(script) << "import patgrad\nprint(patgrad.Tensor([1.0, 2.0]).sum().device)\n";
  CHECK(patgrad("run " + script, "DEV=INTERP").out == "INTERP\n");
  Run bad = patgrad("run " + script, "DEV=TPU");
  CHECK(bad.code == 1);
  CHECK(bad.out.find("unknown target 'TPU': expected one of CPU, INTERP") != std::string::npos);
}

TEST_CASE("run and rules refuse a directory or a missing file with a message and exit 1", "[cli]") {
  auto dir = std::filesystem::temp_directory_path() / "patgrad_cli_dir";
  std::filesystem::create_directories(dir);
  Run run_dir = patgrad("run " + dir.string());
  CHECK(run_dir.code == 1);
  CHECK(run_dir.out == "patgrad: cannot open '" + dir.string() + "': Is a directory\n");
  Run run_missing = patgrad("run " + (dir / "missing.pg").string());
  CHECK(run_missing.code == 1);
  CHECK(run_missing.out.find("missing.pg': No such file or directory") != std::string::npos);
  Run rules_dir = patgrad("rules " + dir.string());
  CHECK(rules_dir.code == 1);
  CHECK(rules_dir.out == "patgrad: cannot read '" + dir.string() + "': Is a directory\n");
  Run rules_missing = patgrad("rules " + (dir / "missing.txt").string());
  CHECK(rules_missing.code == 1);
  CHECK(rules_missing.out.find("missing.txt': No such file or directory") != std::string::npos);
  Run check_dir = patgrad("check " + dir.string());
  CHECK(check_dir.code == 1);
  CHECK(check_dir.out.find("error: cannot read pattern file '" + dir.string() + "'") != std::string::npos);
}

TEST_CASE("check on binary garbage caps the errors and prints no control bytes", "[cli]") {
  auto path = std::filesystem::temp_directory_path() / "patgrad_cli_garbage.pat";
  std::string garbage;
  for (int i = 0; i < 30000; i++) garbage += char((i * 7919 + i / 13) % 256);
  std::ofstream(path, std::ios::binary) << garbage;
  Run r = patgrad("check " + path.string());
  CHECK(r.code == 1);
  CHECK(r.out.find(path.string() + ": ... and ") != std::string::npos);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') < 200);
  auto control = [](char c) { return (uint8_t(c) < 0x20 && c != '\n' && c != '\t') || c == 0x7f; };
  CHECK(std::none_of(r.out.begin(), r.out.end(), control));
}

TEST_CASE("a pattern file or a script nested 100000 deep is an error with its location and not a crash", "[cli]") {
  auto dir = std::filesystem::temp_directory_path() / "patgrad_cli_deep";
  std::filesystem::create_directories(dir);
  const int n = 100000;
  std::string neg, brackets, minus;
  for (int i = 0; i < n; i++) neg += "NEG(";
  std::ofstream(dir / "deep.pat") << "group g { [r] " << neg << "x" << std::string(n, ')') << " => x; }\n";
  std::ofstream(dir / "brackets.pg") << "x = " << std::string(n, '[') << std::string(n, ']') << "\n";
  std::ofstream(dir / "minus.pg") << "print(1)\nx = " << std::string(n, '-') << "1\n";
  Run pat = patgrad("check " + (dir / "deep.pat").string());
  CHECK(pat.code == 1);
  CHECK(pat.out.find((dir / "deep.pat").string() + ":1:") != std::string::npos);
  CHECK(pat.out.find("error: expression nested too deeply") != std::string::npos);
  Run script = patgrad("run " + (dir / "brackets.pg").string());
  CHECK(script.code == 1);
  CHECK(script.out.starts_with((dir / "brackets.pg").string() + ":1:205: SyntaxError: too many nested parentheses"));
  script = patgrad("run " + (dir / "minus.pg").string());
  CHECK(script.code == 1);
  CHECK(script.out.find((dir / "minus.pg").string() + ":2:") != std::string::npos);
  CHECK(script.out.find("RecursionError: maximum recursion depth exceeded") != std::string::npos);
}

TEST_CASE("the prompt runs a block left open when its input ends", "[cli]") {
  Run r = patgrad("", "printf 'if 1:\\n  print(5)' |");
  CHECK(r.code == 0);
  CHECK(r.out.ends_with("\n5\n"));
}
