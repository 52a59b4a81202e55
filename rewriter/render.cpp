// Render rules: the first rule of a render group whose pattern matches a node (found through the group's op-indexed
// matcher, as the engine finds rewrites) gives its text, with placeholders
// {self} (the node's name), {x} (a capture's name), {label(x)} (a name without its sigil, to define a block label
// derived from it), {arg} (the node's integer arg), {ty} and {ty(x)} (dtype spellings from the group's typemap).
#include "rewriter/internal.h"

namespace patgrad::rewriter {
namespace {

std::optional<std::string> instantiate(const Library& lib, const Group& group, const Rule& rule, const Bindings& b,
                                       const UOp& node, const std::function<std::string(const UOp&)>& name_of) {
  auto type_name = [&](const std::string& map, DType d) -> std::optional<std::string> {
    auto tm = lib.typemaps.find(map);
    if (tm == lib.typemaps.end()) return std::nullopt;
    auto it = tm->second.find(d);
    if (it == tm->second.end()) return std::nullopt;
    return it->second;
  };
  auto slot = [&](const std::string& n) -> const UOp* {
    for (int i = 0; i < rule.num_slots; i++)
      if (rule.slot_names[i] == n) return &b.nodes[i];
    return nullptr;
  };
  const std::string& t = rule.template_text;
  std::string out;
  for (size_t i = 0; i < t.size(); i++) {
    if ((t[i] == '{' || t[i] == '}') && i + 1 < t.size() && t[i + 1] == t[i]) {
      out += t[i++];
      continue;
    }
    if (t[i] != '{') {
      out += t[i];
      continue;
    }
    size_t end = t.find('}', i);
    std::string name = t.substr(i + 1, end - i - 1);
    i = end;
    std::string map = group.name;
    if (name.starts_with("tm:")) { // {tm:map} and {tm:map(x)}: spell the dtype with another typemap
      size_t paren = name.find('(');
      map = name.substr(3, paren == std::string::npos ? std::string::npos : paren - 3);
      name = paren == std::string::npos ? "ty" : "ty" + name.substr(paren);
    }
    std::string target = name;
    bool label = name.starts_with("label(") && name.ends_with(")");
    if (label) target = name.substr(6, name.size() - 7);
    if (target == "self" || (label && slot(target))) {
      const UOp& of = target == "self" ? node : *slot(target);
      if (!of) return std::nullopt;
      std::string n = name_of(of);
      out += label && !n.empty() && std::ispunct(static_cast<unsigned char>(n[0])) ? n.substr(1) : n;
    } else if (name == "arg") {
      auto* a = std::get_if<int64_t>(&node->arg);
      if (!a) return std::nullopt;
      out += std::to_string(*a);
    }
    else if (name == "ty" || name.starts_with("ty(")) {
      const UOp* of = name == "ty" ? &node : slot(name.substr(3, name.size() - 4));
      auto ty = of && *of ? type_name(map, (*of)->dtype) : std::nullopt;
      if (!ty) return std::nullopt; // no spelling for this dtype: the next rule may have one
      out += *ty;
    } else if (const UOp* u = slot(name); u && *u) out += name_of(*u);
    else return std::nullopt;
  }
  return out;
}

} // namespace

std::optional<std::string> render(const Library& lib, const Group& group, const UOp& node,
                                  const std::function<std::string(const UOp&)>& name_of) {
  for (const Candidate& c : matcher_of(group).by_op[int(node->op)]) {
    if (c.rule->disabled || (node->src_ops & c.needs) != c.needs) continue;
    Bindings b(*c.rule);
    if (!match(c.pattern, node, b)) continue;
    if (c.rule->guard) {
      auto g = eval_expr(*c.rule->guard, b);
      if (!g || !(g->i || g->f)) continue;
    }
    if (auto text = instantiate(lib, group, *c.rule, b, node, name_of)) return text;
  }
  return std::nullopt;
}

} // namespace patgrad::rewriter
