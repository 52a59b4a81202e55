// The boundary: parse, run on a thread with a large stack, and print errors with their source line and traceback.
#include "frontend/script/script.h"
#include "frontend/script/interp.h"
#include <fmt/format.h>
#include <iostream>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/thread.h>
#include <sstream>

namespace patgrad::script {

namespace {

// Deep but legal recursion (1000 script calls) and Interp::max_nesting need more than the default 8 MiB.
constexpr unsigned stack_bytes = 512u << 20;

template <typename F>
void on_big_stack(F&& f) {
  llvm::thread t(std::optional<unsigned>(stack_bytes), std::forward<F>(f));
  t.join();
}

void print_location(std::ostream& err, const AstModule* mod, Loc loc, const std::string& head) {
  std::string path = mod ? mod->path : "<unknown>";
  err << path << ":" << loc.line << ":" << loc.col << ": " << head << "\n";
  if (!mod) return;
  std::string line = mod->line_text(loc.line);
  if (line.empty()) return;
  err << line << "\n";
  std::string caret;
  int col = 1;
  for (size_t i = 0; i < line.size() && col < loc.col; i++) {
    if ((line[i] & 0xC0) == 0x80) continue; // one caret column per UTF-8 character
    caret += line[i] == '\t' ? '\t' : ' ';
    col++;
  }
  err << caret << "^\n";
}

void report(std::ostream& err, const ScriptError& e) {
  print_location(err, e.mod, e.loc, e.message.empty() ? e.kind : e.kind + ": " + e.message);
  if (e.trace.empty()) return;
  err << "Traceback (most recent call last):\n";
  auto same = [](const TraceEntry& a, const TraceEntry& b) {
    return a.mod == b.mod && a.loc.line == b.loc.line && a.loc.col == b.loc.col && a.function == b.function;
  };
  for (size_t i = 0; i < e.trace.size();) {
    const TraceEntry& t = e.trace[i];
    size_t run = 1;
    while (i + run < e.trace.size() && same(e.trace[i + run], t)) run++;
    for (size_t k = 0; k < std::min<size_t>(run, 3); k++)
      err << "  " << (t.mod ? t.mod->path : "<unknown>") << ":" << t.loc.line << ":" << t.loc.col << ": in "
          << t.function << "\n";
    if (run > 3) err << "  [previous line repeated " << run - 3 << " more times]\n"; // as Python does
    i += run;
  }
}

int run_parsed(Interp& in, AstModule& mod, std::ostream& err) {
  EnvRef env = in.new_module_env("__main__");
  try {
    in.run_module(mod, *env);
  } catch (const ScriptError& e) {
    in.out.flush();
    report(err, e);
    return 1;
  }
  return 0;
}

int run_text(const std::string& name, const std::string& source, std::ostream& out, std::ostream& err,
             std::vector<std::string> argv) {
  int rc = 1;
  on_big_stack([&] {
    SyntaxError se;
    auto mod = parse_module(name, source, se);
    if (!mod) {
      AstModule holder;
      holder.path = name;
      holder.source = source;
      report(err, ScriptError{se.kind, se.message, &holder, se.loc, {}});
      return;
    }
    Interp in(out, std::move(argv));
    in.base_dir = std::string(llvm::sys::path::parent_path(name));
    rc = run_parsed(in, in.keep(std::move(mod)), err);
  });
  return rc;
}

// Whether some line of the entry ends with ':' (if, def, for, ...): then it runs after an empty line.
bool opens_block(const std::string& text) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    size_t end = line.find_last_not_of(" \t");
    if (end != std::string::npos && line[end] == ':') return true;
  }
  return false;
}

// A REPL entry is complete unless it opens a block or leaves a bracket or a string open.
bool needs_more(const std::string& text, const SyntaxError& e, int lines) {
  std::string_view t(text);
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.remove_suffix(1);
  if (opens_block(text) && !text.ends_with("\n\n")) return true; // a block ends with an empty line
  if (t.ends_with(":") || t.ends_with("\\")) return true;
  if (e.loc.line > lines) return true; // at end of input: an open bracket
  return e.message.find("end of file") != std::string::npos ||
         e.message.find("unterminated string") != std::string::npos;
}

} // namespace

int run_source(const std::string& name, const std::string& source, std::ostream& out, std::ostream& err) {
  return run_text(name, source, out, err, {name});
}

int run_file(const std::string& path, const std::vector<std::string>& args) {
  // a directory would read as an empty script: refuse it by name
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf = std::make_error_code(std::errc::is_a_directory);
  if (!llvm::sys::fs::is_directory(path)) buf = llvm::MemoryBuffer::getFile(path);
  if (!buf) {
    fmt::print(stderr, "patgrad: cannot open '{}': {}\n", path, buf.getError().message());
    return 1;
  }
  std::vector<std::string> argv{path};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_text(path, (*buf)->getBuffer().str(), std::cout, std::cerr, argv);
}

void repl(std::istream& input, std::ostream& out, bool prompts) {
  on_big_stack([&] {
    Interp in(out, {""});
    in.base_dir = ".";
    EnvRef env = in.new_module_env("__main__");
    std::string text, line;
    int lines = 0;
    // Runs the entry, or reports its syntax error; at the end of input an entry still waiting for more runs as it
    // is, as in Python.
    auto run_entry = [&](bool at_end) {
      SyntaxError se;
      auto mod = parse_module("<stdin>", text, se);
      if (!at_end && !mod && needs_more(text, se, lines)) return;
      if (!at_end && mod && opens_block(text) && !text.ends_with("\n\n")) return;
      if (!mod) {
        AstModule holder;
        holder.path = "<stdin>";
        holder.source = text;
        report(out, ScriptError{se.kind, se.message, &holder, se.loc, {}});
      } else {
        try {
          in.run_interactive(in.keep(std::move(mod)), *env);
        } catch (const ScriptError& e) {
          report(out, e);
        }
      }
      text.clear(), lines = 0;
    };
    while (true) {
      if (prompts) out << (lines ? "... " : ">>> ") << std::flush;
      if (!std::getline(input, line)) break;
      text += line + "\n";
      lines++;
      if (text.find_first_not_of(" \t\n") == std::string::npos)
        text.clear(), lines = 0;
      else
        run_entry(false);
    }
    if (prompts) out << "\n";
    if (lines) run_entry(true);
  });
}

} // namespace patgrad::script
