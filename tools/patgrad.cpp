// The patgrad command: run scripts, check pattern files, simplify expressions, list rules and passes.
#include "frontend/script/script.h"
#include "rewriter/rewriter.h"
#include "runtime/cpu_jit.h"
#include "runtime/search.h"
#include "uops/infix.h"
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <iostream>

namespace {

using namespace patgrad;

constexpr const char* usage = R"(usage: patgrad [--patterns DIR]... [--disable-rule NAME]... COMMAND ...
       patgrad run [--beam N] FILE [ARG]...
       patgrad

commands:
  run [--beam N] FILE [ARG]...
                       run a script (.pg); ARGs are its sys.argv[1:]; exit 1 on an error. --beam N (as BEAM=N)
                       searches each new kernel's opts on the device, keeping N plans a round; the winners are
                       stored beside the kernel cache, so a second run searches nothing
  (none)               an interactive prompt: statements run as they are typed, expression values print
  check FILE...        check pattern files (with the built-in ones); print every error; exit 1 on errors
  rewrite [--pass NAME] [--trace] [--stats] [--var NAME=LO..HI]... EXPR
                       simplify an infix index expression: the result on the first line, its range on the
                       second (range: LO..HI); with - as EXPR, one expression per line from standard input
  rules [FILE]         list groups and rules with their location and domain; with FILE (- for standard input),
                       simplify each line of it first and show per-rule attempts and hits
  passes [--target T]  list the pipeline's stages in order: each rule pass with its groups and options, each
                       native (C++) stage, and the target each one is limited to; with --target, only the
                       stages that target T runs, after its render group
  cache [--clear]      the kernel cache's directory, entry count and size; --clear removes every entry
  search-log [FILE]    summarize the search log (BEAM; default: search/log.jsonl in the cache directory): per
                       search, the plans measured, the heuristic's time and the best, plans over 2x the best

options:
  --patterns DIR       also load every .pat file in DIR (as does PATGRAD_PATTERNS=DIR1:DIR2)
  --disable-rule NAME  do not apply rule NAME
  --help               this text

The pipeline (patterns/pipeline.pat; `patgrad passes` prints it): grad on tensor graphs; schedule into kernels; per
kernel index (tensor graph to loops and index arithmetic), sym, optimize and opts (chosen, then done by rules),
resym, lower, reduce (REDUCE to accumulators), merge_ends, ends, then the target's stages (CPU: threads,
lower_cpu), linearize and render (the target's render rules). Rule passes are .pat groups; native stages are C++.
A --patterns file can add a pass anywhere: `pass mine = my_group (after=sym);`. docs/ARCHITECTURE.md has the rest.

The infix syntax is Python's: integers, names, true, false, ( ), unary -, + - * // % < <= > >= == != & | ^ << >>,
max(a,b), min(a,b), where(c,a,b); // and % round toward negative infinity. A name without --var spans int64.
)";

int fail(const std::string& message) {
  fmt::print(stderr, "patgrad: {}\n", message);
  return 1;
}

struct Options {
  rewriter::LoadOptions load;
  std::vector<std::string> disabled;
  std::vector<std::string> args; // the command and its arguments
};

// Pulls `--flag VALUE` (or `--flag=VALUE`) out of args; false if the flag is there without a value.
bool take_values(std::vector<std::string>& args, std::string_view flag, std::vector<std::string>& out) {
  for (size_t i = 0; i < args.size();) {
    if (args[i] == flag) {
      if (i + 1 >= args.size()) return false;
      out.push_back(args[i + 1]);
      args.erase(args.begin() + i, args.begin() + i + 2);
    } else if (args[i].starts_with(std::string(flag) + "=")) {
      out.push_back(args[i].substr(flag.size() + 1));
      args.erase(args.begin() + i);
    } else
      i++;
  }
  return true;
}

bool take_flag(std::vector<std::string>& args, std::string_view flag) {
  auto it = std::find(args.begin(), args.end(), flag);
  if (it == args.end()) return false;
  args.erase(it);
  return true;
}

llvm::Expected<std::unique_ptr<rewriter::Library>> load(const Options& o) {
  auto lib = rewriter::load(o.load);
  if (!lib) return lib.takeError();
  for (const std::string& name : o.disabled) {
    rewriter::Rule* r = (*lib)->rule(name);
    if (!r)
      return llvm::createStringError(llvm::inconvertibleErrorCode(), "no rule named '%s' to disable", name.c_str());
    r->disabled = true;
  }
  return lib;
}

std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string range_of(const uops::UOp& u) {
  if (!uops::is_int(u->dtype) && !uops::is_bool(u->dtype)) return "range: none";
  if (uops::is_bool(u->dtype))
    return fmt::format("range: {}..{}", u->vmin ? "true" : "false", u->vmax ? "true" : "false");
  return fmt::format("range: {}..{}", uops::format_wide(u->vmin), uops::format_wide(u->vmax));
}

int cmd_check(const Options& o) {
  if (o.args.size() < 2) return fail("check needs at least one file");
  rewriter::LoadOptions lo = o.load;
  lo.files.insert(lo.files.end(), o.args.begin() + 1, o.args.end());
  auto lib = rewriter::load(lo);
  if (!lib) {
    fmt::print(stderr, "{}\n", llvm::toString(lib.takeError()));
    return 1;
  }
  fmt::print("ok: {} rules in {} groups, {} passes\n", (*lib)->rules.size(), (*lib)->groups.size(),
             (*lib)->passes.size());
  return 0;
}

int cmd_rewrite(Options o) {
  std::vector<std::string> passes, vars;
  if (!take_values(o.args, "--pass", passes) || !take_values(o.args, "--var", vars))
    return fail("--pass and --var need a value");
  bool trace = take_flag(o.args, "--trace"), stats = take_flag(o.args, "--stats");
  if (o.args.size() != 2) return fail("rewrite takes one expression (or - for standard input); see patgrad --help");
  uops::VarBounds bounds;
  for (const std::string& v : vars) {
    size_t eq = v.find('='), dots = v.find("..");
    std::optional<int64_t> lo, hi;
    if (eq != std::string::npos && dots != std::string::npos && dots > eq) {
      lo = parse_int(std::string_view(v).substr(eq + 1, dots - eq - 1));
      hi = parse_int(std::string_view(v).substr(dots + 2));
    }
    if (!lo || !hi || eq == 0) return fail(fmt::format("bad --var '{}': expected NAME=LO..HI, such as a=0..10", v));
    if (*lo > *hi) return fail(fmt::format("bad --var '{}': the lower bound is above the upper one", v));
    bounds[v.substr(0, eq)] = {*lo, *hi};
  }
  auto lib = load(o);
  if (!lib) return fail(llvm::toString(lib.takeError()));
  const rewriter::Pass* pass = (*lib)->pass(passes.empty() ? "sym" : passes.back());
  if (!pass)
    return fail(fmt::format("no pass named '{}'; patgrad passes lists them", passes.empty() ? "sym" : passes.back()));
  auto run = [&](std::string_view text, bool batch) -> bool {
    auto e = uops::parse_infix(text, bounds);
    if (!e) {
      fmt::print(stderr, "{}\n", llvm::toString(e.takeError()));
      return false;
    }
    std::vector<rewriter::Firing> firings;
    auto r = rewriter::graph_rewrite(*e, *pass, {trace ? &firings : nullptr, stats});
    if (!r) {
      fmt::print(stderr, "patgrad: {}\n", llvm::toString(r.takeError()));
      return false;
    }
    fmt::print("{}\n", uops::infix(*r));
    if (!batch) fmt::print("{}\n", range_of(*r));
    for (const rewriter::Firing& f : firings)
      fmt::print("  {} ({}): {} => {}\n", f.rule->name, f.rule->loc.str(), uops::infix(f.before), uops::infix(f.after));
    return true;
  };
  bool ok = true;
  if (o.args[1] == "-") {
    for (std::string line; std::getline(std::cin, line);)
      if (line.find_first_not_of(" \t\r") != std::string::npos) ok &= run(line, true);
  } else
    ok = run(o.args[1], false);
  if (stats)
    for (auto& r : (*lib)->rules)
      if (r->attempts)
        fmt::print(stderr, "{:<22} {:>9} attempts {:>8} hits {:>10.3f} ms\n", r->name, r->attempts, r->hits,
                   r->nanos / 1e6);
  return ok ? 0 : 1;
}

int cmd_rules(const Options& o) {
  auto lib = load(o);
  if (!lib) return fail(llvm::toString(lib.takeError()));
  if (o.args.size() > 2) return fail("rules takes at most one file");
  if (o.args.size() == 2) {
    const rewriter::Pass* sym = (*lib)->pass("sym");
    std::istream* in = &std::cin;
    std::ifstream file;
    if (o.args[1] != "-") {
      file.open(o.args[1]);
      // a directory opens and reads as empty: refuse it by name
      int error = std::filesystem::is_directory(o.args[1]) ? EISDIR : file ? 0 : errno;
      if (error) return fail(fmt::format("cannot read '{}': {}", o.args[1], std::strerror(error)));
      in = &file;
    }
    for (std::string line; std::getline(*in, line);) {
      auto e = uops::parse_infix(line, {});
      if (!e) return fail(llvm::toString(e.takeError()));
      auto r = rewriter::graph_rewrite(*e, *sym);
      if (!r) return fail(llvm::toString(r.takeError()));
    }
  }
  for (auto& g : (*lib)->groups) {
    fmt::print("{} {} ({}, {} rules)\n", g->render ? "render" : "group", g->name, g->loc.str(), g->rules.size());
    for (const rewriter::Rule* r : g->rules)
      fmt::print("  {:<22} {:<36} {:<13} attempts {:>7} hits {:>7}{}\n", r->name, r->loc.str(),
                 rewriter::domain_name(r->domain), r->attempts, r->hits, r->disabled ? " (disabled)" : "");
  }
  return 0;
}

// A stage as pipeline.pat declares it: `native` or its groups, then the options that differ from the defaults.
std::string describe(const rewriter::Pass& p) {
  std::vector<std::string> opts;
  std::string what = "native";
  if (!p.native) {
    what.clear();
    for (const rewriter::Group* g : p.groups) what += (what.empty() ? "" : ", ") + g->name;
    const char* order = p.order == rewriter::Order::POST ? "post" : p.order == rewriter::Order::PRE ? "pre" : "walk";
    opts.push_back(fmt::format("order={}", order));
    if (p.order != rewriter::Order::WALK) opts.push_back(p.fixpoint ? "fixpoint" : "once");
    opts.push_back(fmt::format("limit={}", p.limit));
  }
  if (p.stage != "kernel") opts.push_back("stage=" + p.stage);
  if (!p.target.empty()) opts.push_back("target=" + p.target);
  return opts.empty() ? what : fmt::format("{} ({})", what, fmt::join(opts, ", "));
}

int cmd_passes(Options o) {
  std::vector<std::string> target;
  if (!take_values(o.args, "--target", target)) return fail("--target needs a value");
  if (o.args.size() != 1) return fail("passes takes no argument but --target");
  auto lib = load(o);
  if (!lib) return fail(llvm::toString(lib.takeError()));
  if (!target.empty()) {
    auto t = (*lib)->targets.find(target.back());
    if (t == (*lib)->targets.end()) {
      std::vector<std::string> known;
      for (const auto& [name, render] : (*lib)->targets) known.push_back(name);
      return fail(fmt::format("unknown target '{}': expected one of {}", target.back(), fmt::join(known, ", ")));
    }
    fmt::print("target {}: {}\n", t->first, t->second ? "render=" + t->second->name : "renders nothing");
  }
  std::vector<std::pair<const rewriter::Pass*, std::string>> stages;
  size_t width = 0;
  for (auto& p : (*lib)->passes)
    if (target.empty() || p->target.empty() || p->target == target.back()) {
      stages.emplace_back(p.get(), describe(*p));
      width = std::max(width, stages.back().second.size());
    }
  for (const auto& [p, what] : stages) fmt::print("{:<12} = {:<{}}  {}\n", p->name, what, width, p->loc.str());
  return 0;
}

int cmd_cache(Options o) {
  bool clear = take_flag(o.args, "--clear");
  if (o.args.size() != 1) return fail("cache takes no argument but --clear");
  std::string dir = runtime::default_cache_dir();
  if (dir.empty()) return fail("no kernel cache directory: set PATGRAD_CACHE_DIR, XDG_CACHE_HOME or HOME");
  auto mb = [](uint64_t bytes) { return double(bytes) / (1 << 20); };
  if (clear) {
    auto removed = runtime::clear_disk_cache(dir);
    if (!removed) return fail(llvm::toString(removed.takeError()));
    fmt::print("removed {} entries ({:.1f} MB) from {}\n", removed->entries, mb(removed->bytes), dir);
    return 0;
  }
  runtime::DiskCacheUsage usage = runtime::disk_cache_usage(dir);
  fmt::print("{}\n{} entries, {:.1f} MB (limit {:.0f} MB: PATGRAD_CACHE_MB)\n", dir, usage.entries, mb(usage.bytes),
             mb(runtime::disk_cache_limit()));
  return 0;
}

int cmd_search_log(Options o) {
  if (o.args.size() > 2) return fail("search-log takes at most a log file");
  std::string path = o.args.size() == 2 ? o.args[1] : runtime::search_log_path();
  if (path.empty()) return fail("no kernel cache directory: set PATGRAD_CACHE_DIR, XDG_CACHE_HOME or HOME");
  auto summary = runtime::summarize_search_log(path);
  if (!summary) return fail(llvm::toString(summary.takeError()));
  fmt::print("{}", *summary);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  Options o;
  o.args.assign(argv + 1, argv + argc);
  if (argc == 1) {
    script::repl(std::cin, std::cout, true);
    return 0;
  }
  // a script's own arguments are not the command's options
  if (o.args[0] == "run") {
    size_t file = 1;
    if (o.args.size() > 1 && o.args[1] == "--beam") { // BEAM=N for this run: search each kernel's opts (search.cpp)
      int beam = -1;
      if (o.args.size() < 3 || llvm::StringRef(o.args[2]).getAsInteger(10, beam) || beam < 0)
        return fail("--beam needs a number of plans, 0 or more: patgrad run --beam 2 FILE");
      setenv("BEAM", o.args[2].c_str(), 1);
      file = 3;
    }
    if (o.args.size() <= file) return fail("run needs a script file: patgrad run [--beam N] FILE [ARG]...");
    return script::run_file(o.args[file], std::vector<std::string>(o.args.begin() + file + 1, o.args.end()));
  }
  if (take_flag(o.args, "--help") || take_flag(o.args, "-h")) {
    fmt::print("{}", usage);
    return 0;
  }
  if (!take_values(o.args, "--patterns", o.load.dirs) || !take_values(o.args, "--disable-rule", o.disabled))
    return fail("--patterns and --disable-rule need a value");
  if (o.args.empty()) return fail("no command; see patgrad --help");
  const std::string& cmd = o.args[0];
  if (cmd == "check") return cmd_check(o);
  if (cmd == "rewrite") return cmd_rewrite(o);
  if (cmd == "rules") return cmd_rules(o);
  if (cmd == "passes") return cmd_passes(o);
  if (cmd == "cache") return cmd_cache(o);
  if (cmd == "search-log") return cmd_search_log(o);
  return fail(fmt::format("unknown command '{}'; see patgrad --help", cmd));
}
