// The one place that formats a source position: `file:line:col: error: message`, the line, a caret under the column.
#include "rewriter/ast.h"
#include <fmt/format.h>

namespace patgrad::rewriter {
namespace {

std::string source_line(const Loc& loc) {
  if (!loc.file || loc.line < 1) return "";
  std::string_view text = loc.file->text;
  size_t start = 0;
  for (int l = 1; l < loc.line && start != std::string_view::npos; l++) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) start++;
  }
  if (start == std::string_view::npos || start > text.size()) return "";
  size_t end = text.find('\n', start);
  std::string line(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
  std::string caret;
  for (int i = 0; i + 1 < loc.col && i < int(line.size()); i++) caret += line[i] == '\t' ? '\t' : ' ';
  return fmt::format("\n  {}\n  {}^", line, caret);
}

} // namespace

std::string Loc::str() const {
  return fmt::format("{}:{}:{}", file ? file->name : std::string("<input>"), line, col);
}

void Diagnostics::error(const Loc& loc, const std::string& message) {
  errors++;
  messages.push_back(fmt::format("{}: error: {}{}", loc.str(), message, source_line(loc)));
}

void Diagnostics::note(const Loc& loc, const std::string& message) {
  messages.push_back(fmt::format("{}: note: {}{}", loc.str(), message, source_line(loc)));
}

} // namespace patgrad::rewriter
