// Loading: the built-in files, then the user's folders and files; includes resolved once each with cycle detection;
// declarations resolved in order (a name is declared before it is used); groups flattened through `extends` once
// every file is in, so that `extend G { ... }` in a later file reaches every group built on G.
#include "rewriter/internal.h"
#include "rewriter/patterns.h"
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <llvm/Support/MemoryBuffer.h>

namespace patgrad::rewriter {
namespace {

namespace fs = std::filesystem;

struct GroupDecl {
  Group* group;
  std::vector<Group*> extends;
  std::vector<Rule*> own;
};

struct Loader {
  Library& lib;
  Diagnostics diags;
  Scope scope;
  std::vector<GroupDecl> decls;
  llvm::StringMap<bool> loaded;    // path -> done (false: being loaded, for cycles)
  std::vector<std::string> stack;  // include chain
  std::vector<std::pair<const Pass*, Loc>> pass_targets; // target=NAME options, checked once every file is in
  struct TargetRender {
    std::string target, group;
    Loc loc;
  };
  std::vector<TargetRender> target_renders; // render=GROUP of target declarations, resolved once every file is in

  GroupDecl* decl(const Group* g) {
    for (GroupDecl& d : decls)
      if (d.group == g) return &d;
    return nullptr;
  }

  // Reads a built-in (by name) or a file on disk.
  std::optional<std::string> read(const std::string& path) {
    if (path.starts_with("patterns/"))
      for (const EmbeddedFile& f : embedded_patterns())
        if ("patterns/" + f.name == path) return f.text;
    auto buf = llvm::MemoryBuffer::getFile(path);
    if (!buf) return std::nullopt;
    return (*buf)->getBuffer().str();
  }

  void load_file(const std::string& path, const Loc* from) {
    auto it = loaded.find(path);
    if (it != loaded.end()) {
      if (!it->second) {
        std::string chain;
        for (const std::string& s : stack) chain += s + " includes ";
        diags.error(*from, fmt::format("include cycle: {}{}", chain, path));
      }
      return;
    }
    auto text = read(path);
    if (!text) {
      if (from) diags.error(*from, fmt::format("cannot read included file '{}'", path));
      else diags.error(Loc{}, fmt::format("cannot read pattern file '{}'", path));
      return;
    }
    loaded[path] = false;
    stack.push_back(path);
    lib.files.push_back(std::make_unique<SourceFile>(SourceFile{path, std::move(*text)}));
    const SourceFile* src = lib.files.back().get();
    AstFile ast;
    ast.source = src;
    parse(*src, ast, diags);
    for (const AstItem& item : ast.items) declare(item, path);
    stack.pop_back();
    loaded[path] = true;
  }

  std::string resolve_include(const std::string& name, const std::string& from) {
    std::string sibling = (fs::path(from).parent_path() / name).lexically_normal().string();
    if (sibling.starts_with("patterns/") || fs::exists(sibling)) {
      if (!sibling.starts_with("patterns/") || read(sibling)) return sibling;
    }
    return "patterns/" + name; // a built-in, from anywhere
  }

  bool fresh(const std::string& what, const std::string& name, bool exists, const Loc& loc) {
    if (exists) diags.error(loc, fmt::format("{} '{}' is declared twice", what, name));
    return !exists;
  }

  void declare(const AstItem& item, const std::string& path) {
    switch (item.kind) {
    case AstItem::INCLUDE: load_file(resolve_include(item.name, path), &item.loc); break;
    case AstItem::OPSET: {
      OpMask m;
      for (auto& [n, loc] : item.names) {
        if (auto op = uops::parse_op(n)) m.set(int(*op));
        else if (auto it = scope.opsets.find(n); it != scope.opsets.end()) m |= it->second;
        else diags.error(loc, fmt::format("unknown op '{}'", n));
      }
      if (fresh("op set", item.name, scope.opsets.count(item.name), item.loc)) scope.opsets[item.name] = m;
      break;
    }
    case AstItem::DTYPES: {
      DTypeSet s = 0;
      for (auto& [n, loc] : item.names) {
        if (auto d = uops::parse_dtype(n)) s |= uops::bit(*d);
        else if (auto it = scope.dtype_classes.find(n); it != scope.dtype_classes.end()) s |= it->second;
        else diags.error(loc, fmt::format("unknown dtype '{}'", n));
      }
      if (uops::parse_dtype(item.name)) diags.error(item.loc, fmt::format("'{}' is a dtype; a class needs another name", item.name));
      else if (fresh("dtype class", item.name, scope.dtype_classes.count(item.name), item.loc)) scope.dtype_classes[item.name] = s;
      break;
    }
    case AstItem::HOOK: declare_hook(item); break;
    case AstItem::GROUP: case AstItem::RENDER: declare_group(item); break;
    case AstItem::EXTEND: {
      auto it = scope.groups.find(item.name);
      if (it == scope.groups.end()) {
        diags.error(item.loc, fmt::format("unknown group '{}'", item.name));
        break;
      }
      add_rules(*decl(it->second), item.rules);
      break;
    }
    case AstItem::TYPEMAP: {
      auto& map = lib.typemaps[item.name];
      for (auto& [key, text] : item.typemap) {
        if (auto d = uops::parse_dtype(key.key)) map[*d] = text;
        else diags.error(key.loc, fmt::format("unknown dtype '{}'", key.key));
      }
      break;
    }
    case AstItem::PASS: declare_pass(item); break;
    case AstItem::TARGET: declare_target(item); break;
    }
  }

  void declare_hook(const AstItem& item) {
    int index = -1;
    for (size_t i = 0; i < hooks().size(); i++)
      if (hooks()[i].name == item.name) index = int(i);
    if (index < 0)
      diags.error(item.loc, fmt::format("hook '{}' is not registered in C++: its component calls "
                                        "rewriter::register_hook before the library loads", item.name));
    else if (hooks()[index].arity != int(item.names.size()))
      diags.error(item.loc, fmt::format("hook '{}' takes {} arguments in C++, not {}", item.name, hooks()[index].arity,
                                        item.names.size()));
    else if (fresh("hook", item.name, scope.hooks.count(item.name), item.loc)) scope.hooks[item.name] = {index, item.loc};
  }

  void declare_group(const AstItem& item) {
    if (!fresh("group", item.name, scope.groups.count(item.name), item.loc)) return;
    lib.groups.push_back(std::make_unique<Group>(Group{item.name, item.loc, item.kind == AstItem::RENDER, {}}));
    Group* g = lib.groups.back().get();
    scope.groups[item.name] = g;
    GroupDecl d{g, {}, {}};
    for (auto& [n, loc] : item.names) {
      auto it = scope.groups.find(n);
      if (it == scope.groups.end() || it->second == g) diags.error(loc, fmt::format("unknown group '{}'", n));
      else if (it->second->render != g->render) diags.error(loc, fmt::format("group '{}' mixes rewrite and render rules", n));
      else d.extends.push_back(it->second);
    }
    decls.push_back(std::move(d));
    add_rules(decls.back(), item.rules);
  }

  void add_rules(GroupDecl& d, const std::vector<AstRule>& rules) {
    for (const AstRule& ast : rules) {
      auto rule = check_rule(ast, d.group->render, scope, diags);
      if (!rule) continue;
      if (auto it = scope.rules.find(rule->name); it != scope.rules.end()) {
        diags.error(rule->loc, fmt::format("rule '{}' is declared twice", rule->name));
        diags.note(it->second->loc, "first declared here");
        continue;
      }
      std::string text = canonical_text(ast);
      if (auto it = scope.rule_texts.find(text); it != scope.rule_texts.end()) {
        diags.error(rule->loc, fmt::format("rule '{}' duplicates rule '{}'", rule->name, it->second));
        diags.note(scope.rules[it->second]->loc, "which is here");
        continue;
      }
      scope.rule_texts[text] = rule->name;
      scope.rules[rule->name] = rule.get();
      d.own.push_back(rule.get());
      lib.rules.push_back(std::move(rule));
    }
  }

  void declare_pass(const AstItem& item) {
    auto pass = std::make_unique<Pass>();
    pass->name = item.name;
    pass->loc = item.loc;
    pass->native = item.native;
    for (auto& [n, loc] : item.names) {
      auto it = scope.groups.find(n);
      if (it == scope.groups.end()) diags.error(loc, fmt::format("unknown group '{}'", n));
      else if (it->second->render) diags.error(loc, fmt::format("'{}' is a render group; a pass runs rewrite groups", n));
      else pass->groups.push_back(it->second);
    }
    const AstOption *place = nullptr, *target = nullptr; // before= or after=; target=
    for (const AstOption& o : item.options) {
      bool traversal = o.key == "order" || o.key == "fixpoint" || o.key == "once" || o.key == "limit";
      if (traversal && pass->native)
        diags.error(o.loc, fmt::format("option '{}' is for rule passes: a native pass runs C++, not rules", o.key));
      else if (o.key == "order" && (o.value == "post" || o.value == "pre" || o.value == "walk"))
        pass->order = o.value == "post" ? Order::POST : o.value == "pre" ? Order::PRE : Order::WALK;
      else if (o.key == "fixpoint" && o.value.empty()) pass->fixpoint = true;
      else if (o.key == "once" && o.value.empty()) pass->fixpoint = false;
      else if (o.key == "stage" && (o.value == "kernel" || o.value == "tensor" || o.value == "optimize"))
        pass->stage = o.value;
      else if (o.key == "limit" && !o.value.empty() && o.value[0] != '-' && std::isdigit(o.value[0]))
        pass->limit = std::stoull(o.value);
      else if ((o.key == "before" || o.key == "after") && !o.value.empty()) {
        if (place) diags.error(o.loc, fmt::format("pass '{}' goes either before or after one stage, not both", item.name));
        else place = &o;
      } else if (o.key == "target" && !o.value.empty()) pass->target = o.value, target = &o;
      else diags.error(o.loc, fmt::format("bad pass option '{}{}{}': expected order=post|pre|walk, fixpoint, once, limit=N, "
                                          "stage=kernel|tensor|optimize, before=PASS, after=PASS or target=NAME",
                                          o.key, o.value.empty() ? "" : "=", o.value));
    }
    auto named = [&](const std::string& name) {
      return std::find_if(lib.passes.begin(), lib.passes.end(), [&](auto& p) { return p->name == name; });
    };
    if (named(item.name) != lib.passes.end()) {
      diags.error(item.loc, fmt::format("pass '{}' is declared twice", item.name));
      return;
    }
    // before=/after= let a later file (a user's) put a pass between two stages declared earlier
    auto at = lib.passes.end();
    if (place && (at = named(place->value)) == lib.passes.end())
      diags.error(place->loc, fmt::format("unknown stage '{}': {}= names a pass declared earlier", place->value, place->key));
    else if (place && place->key == "after") ++at;
    if (target) pass_targets.push_back({pass.get(), target->loc}); // targets may be declared later: checked in finish
    lib.passes.insert(at, std::move(pass));
  }

  // The render group is looked up in finish(), so that a target file can name it above the group's rules.
  void declare_target(const AstItem& item) {
    if (!fresh("target", item.name, lib.targets.count(item.name), item.loc)) return;
    lib.targets[item.name] = nullptr;
    for (auto& [group, loc] : item.names) target_renders.push_back({item.name, group, loc});
  }

  // Checks the passes' targets and the targets' render groups; flattens groups (extended groups' rules first, then the group's own) and reports
  // shadowed rules.
  void finish() {
    for (const TargetRender& t : target_renders) {
      auto it = scope.groups.find(t.group);
      if (it == scope.groups.end()) diags.error(t.loc, fmt::format("unknown group '{}'", t.group));
      else if (!it->second->render)
        diags.error(t.loc, fmt::format("'{}' is a rewrite group; render= names a render group", t.group));
      else lib.targets[t.target] = it->second;
    }
    for (auto& [pass, loc] : pass_targets)
      if (!lib.targets.count(pass->target))
        diags.error(loc, fmt::format("unknown target '{}': declare it with `target {} (render=GROUP);`", pass->target,
                                     pass->target));
    for (GroupDecl& d : decls) {
      for (Group* base : d.extends) d.group->rules.insert(d.group->rules.end(), base->rules.begin(), base->rules.end());
      d.group->rules.insert(d.group->rules.end(), d.own.begin(), d.own.end());
      for (size_t j = 0; j < d.own.size(); j++) {
        const Rule* later = d.own[j];
        for (const Rule* earlier : d.group->rules) {
          if (earlier == later) break;
          if (d.group->render ? false : shadows(*earlier, *later)) {
            diags.error(later->loc, fmt::format("rule '{}' can never fire: rule '{}' matches everything it matches and has no guard",
                                                later->name, earlier->name));
            diags.note(earlier->loc, fmt::format("rule '{}' is here", earlier->name));
            break;
          }
        }
      }
    }
  }
};

llvm::Error to_error(const Diagnostics& d) {
  std::string all;
  for (const std::string& m : d.messages) all += m + "\n";
  all += fmt::format("{} error{}", d.errors, d.errors == 1 ? "" : "s");
  return llvm::createStringError(llvm::inconvertibleErrorCode(), all);
}

void load_builtin(Loader& l) {
  std::vector<std::string> names;
  for (const EmbeddedFile& f : embedded_patterns()) names.push_back("patterns/" + f.name);
  std::sort(names.begin(), names.end());
  // pipeline.pat declares the passes, which need every group: it comes last.
  std::stable_partition(names.begin(), names.end(), [](auto& n) { return n != "patterns/pipeline.pat"; });
  for (const std::string& n : names) l.load_file(n, nullptr);
}

std::vector<std::string> pat_files(const std::string& dir, Diagnostics& diags) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".pat") out.push_back(e.path().string());
  if (ec) diags.error(Loc{}, fmt::format("cannot read pattern folder '{}': {}", dir, ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace

const Group* Library::group(std::string_view name) const {
  for (auto& g : groups)
    if (g->name == name) return g.get();
  return nullptr;
}
const Pass* Library::pass(std::string_view name) const {
  for (auto& p : passes)
    if (p->name == name) return p.get();
  return nullptr;
}
Rule* Library::rule(std::string_view name) const {
  for (auto& r : rules)
    if (r->name == name) return r.get();
  return nullptr;
}

llvm::Expected<std::unique_ptr<Library>> load(const LoadOptions& opts) {
  register_symbolic_hooks();
  auto lib = std::make_unique<Library>();
  Loader l{*lib};
  if (opts.builtin) load_builtin(l);
  std::vector<std::string> dirs = opts.dirs;
  if (const char* env = std::getenv("PATGRAD_PATTERNS"); env && opts.use_env) {
    std::string_view s = env;
    for (size_t start = 0; start <= s.size();) {
      size_t end = std::min(s.find(':', start), s.size());
      if (end > start) dirs.emplace_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  for (const std::string& d : dirs)
    for (const std::string& f : pat_files(d, l.diags)) l.load_file(f, nullptr);
  for (const std::string& f : opts.files) l.load_file(f, nullptr);
  l.finish();
  if (l.diags.errors) return to_error(l.diags);
  return lib;
}

llvm::Expected<std::unique_ptr<Library>> load_text(std::string name, std::string text, bool with_builtin) {
  register_symbolic_hooks();
  auto lib = std::make_unique<Library>();
  Loader l{*lib};
  if (with_builtin) load_builtin(l);
  l.loaded[name] = false;
  lib->files.push_back(std::make_unique<SourceFile>(SourceFile{name, std::move(text)}));
  AstFile ast;
  ast.source = lib->files.back().get();
  parse(*ast.source, ast, l.diags);
  l.stack.push_back(name);
  for (const AstItem& item : ast.items) l.declare(item, name);
  l.loaded[name] = true;
  l.finish();
  if (l.diags.errors) return to_error(l.diags);
  return lib;
}

const Library& builtin_library() {
  static std::unique_ptr<Library> lib = [] {
    auto l = load(LoadOptions{});
    if (!l) {
      fmt::print(stderr, "{}\n", llvm::toString(l.takeError()));
      std::exit(1);
    }
    return std::move(*l);
  }();
  return *lib;
}

} // namespace patgrad::rewriter
