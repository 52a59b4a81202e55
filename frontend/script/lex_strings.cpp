// String literals: escape sequences, f-strings split into literal text and fields (each field's expression parsed
// by a nested parser at its own position), and adjacent literals joined.
#include "frontend/script/lex_state.h"
#include <llvm/Support/ConvertUTF.h>

namespace patgrad::script {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, uint32_t cp, const LexState& st) {
  char buf[8];
  char* p = buf;
  if (cp > 0x10FFFF || !llvm::ConvertCodePointToUTF8(cp, p)) st.fail("invalid unicode escape");
  out.append(buf, p);
}

// Line and column of offset within the current token.
Loc position_in_token(const LexState& st, std::string_view text, size_t offset) {
  Loc at = st.loc();
  for (size_t i = 0; i < offset; i++) {
    if (text[i] == '\n')
      at.line++, at.col = 1;
    else if ((text[i] & 0xC0) != 0x80)
      at.col++;
  }
  return at;
}

} // namespace

std::string LexState::unescape(std::string_view body, bool raw) {
  if (raw || body.find('\\') == std::string_view::npos) return std::string(body);
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); i++) {
    if (body[i] != '\\' || i + 1 == body.size()) {
      out += body[i];
      continue;
    }
    char c = body[++i];
    auto hex = [&](int n) {
      uint32_t v = 0;
      for (int k = 0; k < n; k++) {
        int d = i + 1 < body.size() ? hex_value(body[i + 1]) : -1;
        if (d < 0) fail("truncated \\" + std::string(1, c) + " escape");
        v = v * 16 + uint32_t(d), i++;
      }
      return v;
    };
    switch (c) {
    case '\n': break;
    case 'n': out += '\n'; break;
    case 't': out += '\t'; break;
    case 'r': out += '\r'; break;
    case 'a': out += '\a'; break;
    case 'b': out += '\b'; break;
    case 'f': out += '\f'; break;
    case 'v': out += '\v'; break;
    case '\\':
    case '\'':
    case '"': out += c; break;
    case 'x': out += char(hex(2)); break;
    case 'u': append_utf8(out, hex(4), *this); break;
    case 'U': append_utf8(out, hex(8), *this); break;
    default:
      if (c >= '0' && c <= '7') {
        int v = c - '0';
        for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; k++)
          v = v * 8 + (body[++i] - '0');
        out += char(v);
      } else
        out += '\\', out += c; // unknown escapes stay, as in Python
    }
  }
  return out;
}

Expr* LexState::fstring(std::string_view text) {
  size_t start = 0;
  bool raw = false;
  while (text[start] != '"' && text[start] != '\'') raw |= (text[start] == 'r' || text[start] == 'R'), start++;
  size_t q = text.size() - start >= 6 && text[start + 1] == text[start] && text[start + 2] == text[start] ? 3 : 1;
  size_t begin = start + q, end = text.size() - q;
  auto* fs = mod.make<FStringExpr>(loc());
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) fs->parts.push_back(FStringPart{unescape(literal, raw)});
    literal.clear();
  };
  for (size_t i = begin; i < end; i++) {
    char c = text[i];
    if (c == '}') {
      if (i + 1 < end && text[i + 1] == '}')
        i++;
      else
        throw P::syntax_error(position_in_token(*this, text, i), "f-string: single '}' is not allowed");
      literal += '}';
      continue;
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    if (i + 1 < end && text[i + 1] == '{') {
      literal += '{', i++;
      continue;
    }
    flush();
    // the field: up to the matching '}' outside brackets and strings; '!' and ':' at depth 0 end the expression
    size_t e = i + 1, expr_end = std::string_view::npos;
    int brackets = 0;
    char quote = 0;
    FStringPart part;
    for (; e < end; e++) {
      char d = text[e];
      if (quote) {
        if (d == quote) quote = 0;
      } else if (d == '\'' || d == '"')
        quote = d;
      else if (d == '(' || d == '[' || d == '{')
        brackets++;
      else if ((d == ')' || d == ']' || d == '}') && brackets > 0)
        brackets--;
      else if (brackets == 0 && (d == '}' || d == ':' || (d == '!' && e + 1 < end && text[e + 1] != '=')))
        break;
    }
    expr_end = e;
    if (e < end && text[e] == '!') {
      if (e + 2 >= end || (text[e + 1] != 'r' && text[e + 1] != 's'))
        throw P::syntax_error(position_in_token(*this, text, e), "f-string: invalid conversion character");
      part.conversion = text[e + 1];
      e += 2;
    }
    if (e < end && text[e] == ':') {
      size_t s = ++e;
      while (e < end && text[e] != '}') {
        if (text[e] == '{')
          throw P::syntax_error(position_in_token(*this, text, e),
                                "f-string: nested fields in a format spec are not supported");
        e++;
      }
      part.spec = std::string(text.substr(s, e - s));
    }
    if (e >= end || text[e] != '}') throw P::syntax_error(position_in_token(*this, text, i), "f-string: expecting '}'");
    std::string_view src = text.substr(i + 1, expr_end - i - 1);
    size_t last = src.find_last_not_of(" \t");
    if (last != std::string_view::npos && src[last] == '=' &&
        (last == 0 || std::string_view("=!<>").find(src[last - 1]) == std::string_view::npos)) {
      part.debug_text = std::string(src.substr(0, last + 1)); // f"{x=}"
      if (!part.conversion && part.spec.empty()) part.conversion = 'r';
      src = src.substr(0, last);
    }
    if (src.find_first_not_of(" \t\n") == std::string_view::npos)
      throw P::syntax_error(position_in_token(*this, text, i), "f-string: empty expression not allowed");
    SyntaxError sub;
    part.expr = parse_field(mod, src, position_in_token(*this, text, i + 1), sub);
    if (!part.expr) throw P::syntax_error(sub.loc, "f-string: " + sub.message);
    fs->parts.push_back(std::move(part));
    i = e;
  }
  flush();
  return fs;
}

Expr* LexState::concat(Expr* a, Expr* b) {
  auto as_parts = [&](Expr* e) {
    if (e->kind == ExprKind::FString) return static_cast<FStringExpr*>(e)->parts;
    return std::vector<FStringPart>{FStringPart{static_cast<ConstExpr*>(e)->s}};
  };
  if (a->kind == ExprKind::Const && b->kind == ExprKind::Const) {
    static_cast<ConstExpr*>(a)->s += static_cast<ConstExpr*>(b)->s;
    return a;
  }
  auto* fs = mod.make<FStringExpr>(a->loc);
  fs->parts = as_parts(a);
  for (FStringPart& p : as_parts(b)) fs->parts.push_back(std::move(p));
  return fs;
}

std::string AstModule::line_text(int line) const {
  size_t pos = source.starts_with(utf8_bom) ? utf8_bom.size() : 0;
  for (int l = 1; l < line && pos != std::string::npos; l++) {
    pos = source.find('\n', pos);
    if (pos != std::string::npos) pos++;
  }
  if (pos == std::string::npos || pos > source.size() || line < 1) return "";
  size_t end = source.find('\n', pos);
  return source.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

} // namespace patgrad::script
