// Script values at their limits: containers nested deeper than the stack allows are freed without recursion.
// (Printing, comparing and hashing them are cases in cases/limits.txt.)
#include "frontend/script/interp.h"
#include <catch2/catch.hpp>
#include <llvm/Support/thread.h>

using namespace patgrad::script;

namespace {

// Runs f on a thread with a 256 KiB stack: freeing what f builds recursively, one frame per level, would overflow it.
template <typename F>
void on_small_stack(F&& f) {
  llvm::thread t(std::optional<unsigned>(256u << 10), std::forward<F>(f));
  t.join();
}

constexpr int deep = 200000;

} // namespace

TEST_CASE("lists tuples and dicts nested 200000 deep are freed without recursion", "[script]") {
  bool done = false;
  on_small_stack([&] {
    Value list = make_list({}), tuple = make_tuple({});
    Value dict(ObjRef(new DictObj()));
    for (int i = 0; i < deep; i++) {
      list = make_list({list, make_str("x")});
      tuple = make_tuple({tuple});
      auto* d = new DictObj();
      d->set(Value::integer(i), dict);
      dict = Value(ObjRef(d));
    }
    list = tuple = dict = Value();
    done = true;
  });
  CHECK(done);
}

TEST_CASE("a chain of 200000 instances each holding the next is freed without recursion", "[script]") {
  bool done = false;
  on_small_stack([&] {
    llvm::IntrusiveRefCntPtr<ClassObj> node(new ClassObj());
    node->name = "Node";
    Value head;
    for (int i = 0; i < deep; i++) {
      auto* n = new InstanceObj(node);
      n->attrs.set("next", head);
      head = Value(ObjRef(n));
    }
    head = Value();
    done = true;
  });
  CHECK(done);
}

TEST_CASE("a list held twice by each level is freed once and without recursion", "[script]") {
  bool done = false;
  on_small_stack([&] {
    Value x = make_list({});
    for (int i = 0; i < deep; i++) x = make_list({x, x});
    x = Value();
    done = true;
  });
  CHECK(done);
}
