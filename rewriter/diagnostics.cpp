// The one place that formats a source position: `file:line:col: error: message`, the line, a caret under the column.
#include "rewriter/ast.h"
#include <fmt/format.h>
#include <llvm/Support/ConvertUTF.h>

namespace patgrad::rewriter {
namespace {

// Appends the UTF-8 character or the byte at text[i] as it can be shown: a character that does not print or a byte
// that starts no character as \xNN. Returns the bytes consumed; width gets the columns it takes.
size_t append_printable(std::string& out, std::string_view text, size_t i, int& width) {
  auto c = static_cast<unsigned char>(text[i]);
  if (c == '\t' || (c >= 0x20 && c < 0x7f)) {
    out += char(c), width = 1;
    return 1;
  }
  unsigned n = c >= 0x80 ? llvm::getNumBytesForUTF8(c) : 0;
  auto* p = reinterpret_cast<const llvm::UTF8*>(text.data() + i);
  if (n > 1 && i + n <= text.size() && llvm::isLegalUTF8Sequence(p, p + n)) {
    out.append(text.substr(i, n)), width = 1;
    return n;
  }
  out += fmt::format("\\x{:02x}", c), width = 4;
  return 1;
}

std::string printable(std::string_view text) {
  std::string out;
  int width;
  for (size_t i = 0; i < text.size();) i += append_printable(out, text, i, width);
  return out;
}

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
  std::string_view line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  std::string shown, caret; // columns count bytes: the caret goes under the character holding byte col
  for (size_t i = 0; i < line.size();) {
    int width;
    size_t n = append_printable(shown, line, i, width);
    if (int(i + n) < loc.col) caret.append(size_t(width), line[i] == '\t' ? '\t' : ' ');
    i += n;
  }
  return fmt::format("\n  {}\n  {}^", shown, caret);
}

std::string format(const Loc& loc, const char* kind, const std::string& message) {
  if (!loc.file && loc.line == 0) return fmt::format("{}: {}", kind, printable(message)); // not about a place
  return fmt::format("{}: {}: {}{}", loc.str(), kind, printable(message), source_line(loc));
}

} // namespace

std::string Loc::str() const {
  return fmt::format("{}:{}:{}", file ? file->name : std::string("<input>"), line, col);
}

void Diagnostics::error(const Loc& loc, const std::string& message) {
  errors++;
  FileCount& count = per_file_[loc.file];
  dropped_ = ++count.errors > max_per_file;
  if (!dropped_) {
    messages.push_back(format(loc, "error", message));
    return;
  }
  if (count.errors == max_per_file + 1) count.summary = messages.size(), messages.emplace_back();
  int more = count.errors - max_per_file;
  messages[count.summary] =
      fmt::format("{}: ... and {} more error{}", loc.file ? loc.file->name : "patgrad", more, more == 1 ? "" : "s");
}

void Diagnostics::note(const Loc& loc, const std::string& message) {
  if (!dropped_) messages.push_back(format(loc, "note", message));
}

} // namespace patgrad::rewriter
