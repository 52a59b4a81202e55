// The script language: run a .pg file, run source text, or read statements interactively. Errors print as
// `file:line:col: Kind: message`, the source line with a caret, and the script's traceback.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace patgrad::script {

// Runs the file with sys.argv = [path, args...]; the exit code: 0, or 1 after printing an error to stderr.
int run_file(const std::string& path, const std::vector<std::string>& args);
// Runs source text as file `name`: its output to out, an error report to err. The exit code as run_file's.
int run_source(const std::string& name, const std::string& source, std::ostream& out, std::ostream& err);
// The interactive prompt: statements from in, expression values and errors to out; returns at end of input.
void repl(std::istream& in, std::ostream& out, bool prompts);

} // namespace patgrad::script
