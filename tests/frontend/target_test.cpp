// Targets as the Tensor API sees them: found by name (DEV, to()), compared by identity, shown when not the default;
// a tensor moves between them without a copy and computes the same values on each.
#include "tests/frontend/check.h"
#include "tests/shell.h"

using namespace patgrad;

TEST_CASE("every target is found by its name; an unknown name is an error listing the known ones", "[target]") {
  REQUIRE(runtime::targets().size() >= 2);
  for (const runtime::Target* t : runtime::targets()) CHECK(*runtime::find_target(t->name) == t);
  auto missing = runtime::find_target("TPU");
  REQUIRE(!missing);
  CHECK(llvm::toString(missing.takeError()) == "unknown target 'TPU': expected one of CPU, INTERP, RDNA3");
  Tensor x = Tensor::from_vector<float>({1, 2});
  CHECK_THROWS_WITH(x.to("TPU"), "to: unknown target 'TPU': expected one of CPU, INTERP, RDNA3");
}

TEST_CASE("DEV picks the target of new tensors; an unknown DEV is a TensorError listing the known targets",
          "[target]") {
  {
    testing::ScopedEnv dev("DEV", "INTERP");
    CHECK(Tensor::from_vector<float>({1, 2}).device()->name == "INTERP");
  }
  {
    testing::ScopedEnv dev("DEV", nullptr);
    CHECK(Tensor::from_vector<float>({1, 2}).device()->name == "CPU");
  }
  testing::ScopedEnv dev("DEV", "NOPE");
  CHECK_THROWS_WITH(Tensor::from_vector<float>({1, 2}),
                    "DEV: unknown target 'NOPE': expected one of CPU, INTERP, RDNA3");
}

TEST_CASE("a tensor moves between targets and each computes the same values", "[target]") {
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}).realize();
  std::vector<float> want{6, 15};
  Tensor on_cpu = a.to("CPU"), on_interp = a.to("INTERP");
  CHECK(on_cpu.device() != on_interp.device());
  CHECK(on_cpu.sum({1}).device() == on_cpu.device()); // results stay where their inputs are
  CHECK(on_cpu.sum({1}).to_vector<float>() == want);
  CHECK(on_interp.sum({1}).to_vector<float>() == want);
  // computed on one target, read and computed on from the other
  Tensor doubled = (on_interp * 2.0).realize();
  CHECK((doubled.to("CPU") + 1.0).to_vector<float>() == std::vector<float>{3, 5, 7, 9, 11, 13});
  CHECK(on_interp.str().find("device=INTERP") != std::string::npos);
  CHECK(on_cpu.str().find("device=") == std::string::npos); // the default is not shown
}

TEST_CASE("tensors of one realize on different targets each run on their own", "[target]") {
  Tensor a = Tensor::from_vector<float>({1, 2, 3}).realize();
  Tensor x = a.to("CPU") * 3.0, y = a.to("INTERP") * 5.0;
  Tensor::realize_all({x, y});
  CHECK(x.to_vector<float>() == std::vector<float>{3, 6, 9});
  CHECK(y.to_vector<float>() == std::vector<float>{5, 10, 15});
  CHECK(y.device()->name == "INTERP");
}
