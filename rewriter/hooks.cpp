// The hook registry: C++ functions that rules call as cpp::name(...), registered by the component that owns each.
// Registration is explicit, from an init function the owner calls before a library that declares its hooks loads:
// a static initializer in a static library runs only if something else in its object file is linked.
#include "rewriter/rewriter.h"
#include <cassert>

namespace patgrad::rewriter {
namespace {

std::vector<Hook>& registry() {
  static std::vector<Hook> table; // only appended to: the checker keeps indices into it
  return table;
}

} // namespace

void register_hook(std::string name, int arity, HookFn fn) {
  for (const Hook& h : registry())
    if (h.name == name) {
      assert(h.arity == arity && h.fn == fn && "a hook name registered twice, for two functions");
      return;
    }
  registry().push_back({std::move(name), arity, fn});
}

const std::vector<Hook>& hooks() { return registry(); }

} // namespace patgrad::rewriter
