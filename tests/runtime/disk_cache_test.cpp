// The kernel caches' limits and their defences: a disk entry that is damaged, swapped with another key's or made for
// another target is a miss and is recompiled; both caches stay within their byte limits; threads and processes share
// one cache directory; `patgrad cache` shows and clears it; a directory that cannot be made means no disk cache.
#include "runtime/cpu_internal.h"
#include "runtime/cpu_jit.h"
#include "runtime/lru_cache.h"
#include "tests/shell.h"
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <llvm/Support/FileSystem.h>
#include <random>
#include <sys/wait.h>
#include <thread>

using namespace patgrad::runtime;

namespace {

// A module whose one function returns value: each value is a distinct kernel.
std::string constant_kernel(int value) { return "define i64 @k() {\n  ret i64 " + std::to_string(value) + "\n}\n"; }

template <typename T>
T expect_ok(llvm::Expected<T> value) {
  if (!value) FAIL(llvm::toString(value.takeError()));
  return std::move(*value);
}

// What the program compiled from constant_kernel returns.
int64_t call(const CompiledProgram& program) {
  return reinterpret_cast<int64_t (*)()>(expect_ok(program.function("k")))();
}

using patgrad::testing::TempDir;

std::string host() { return target_id(host_target()); }
std::string entry_file(const std::string& dir, const CacheKey& key) { return dir + "/" + key.name() + ".pgobj"; }

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

using patgrad::testing::shell;

bool has_temporary(const std::string& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

} // namespace

TEST_CASE("an LRU cache evicts the least recently used values past its budget, never the newest", "[runtime][cache]") {
  LruCache<int, std::string> cache(25);
  cache.insert(1, std::make_unique<std::string>("a"), 10);
  cache.insert(2, std::make_unique<std::string>("b"), 10);
  CHECK(*cache.find(1) == "a"); // now 2 is the least recently used
  cache.insert(3, std::make_unique<std::string>("c"), 10);
  CHECK(cache.find(2) == nullptr);
  CHECK(cache.size() == 2);
  CHECK(cache.bytes() == 20);
  cache.charge(3, 30); // over budget alone: kept, and everything else goes
  CHECK(cache.find(1) == nullptr);
  CHECK(*cache.find(3) == "c");
  CHECK(cache.bytes() == 30);
}

TEST_CASE("an entry swapped with another key's, or made for another target, is a miss", "[runtime][cache]") {
  TempDir dir;
  {
    auto compiler = expect_ok(CpuCompiler::create(dir.str()));
    expect_ok(compiler->compile(constant_kernel(1)));
    expect_ok(compiler->compile(constant_kernel(2)));
  }
  // Each file under the other's name: both are intact objects, and each would run the other kernel.
  std::string one = entry_file(dir.str(), cache_key(constant_kernel(1), host()));
  std::string two = entry_file(dir.str(), cache_key(constant_kernel(2), host()));
  std::string one_bytes = read_file(one);
  write_file(one, read_file(two));
  write_file(two, one_bytes);
  {
    auto compiler = expect_ok(CpuCompiler::create(dir.str()));
    CHECK(call(*expect_ok(compiler->compile(constant_kernel(1)))) == 1);
    CHECK(call(*expect_ok(compiler->compile(constant_kernel(2)))) == 2);
    CHECK(compiler->stats().disk_rejects == 2);
    CHECK(compiler->stats().compiles == 2);
  }
  // Kernel 2's object, recorded for another target under kernel 1's digest: the file name matches, the target not.
  CacheKey foreign = cache_key(constant_kernel(1), host());
  foreign.target = "another-cpu";
  auto object = expect_ok(compile_to_object(constant_kernel(2), host_target()));
  REQUIRE(!llvm::errorToBool(write_cache_entry(dir.str(), foreign, object->getBuffer())));
  REQUIRE(entry_file(dir.str(), foreign) == one);
  auto compiler = expect_ok(CpuCompiler::create(dir.str()));
  CHECK(call(*expect_ok(compiler->compile(constant_kernel(1)))) == 1);
  CHECK(compiler->stats().disk_rejects == 1);
  // and the entry was replaced by a good one
  auto after = expect_ok(CpuCompiler::create(dir.str()));
  CHECK(call(*expect_ok(after->compile(constant_kernel(1)))) == 1);
  CHECK(after->stats().disk_hits == 1);
}

TEST_CASE("an entry of random bytes, or a truncated one, is a miss", "[runtime][cache]") {
  std::mt19937 random(7);
  for (int trial = 0; trial < 20; trial++) {
    CAPTURE(trial);
    TempDir dir;
    { expect_ok(expect_ok(CpuCompiler::create(dir.str()))->compile(constant_kernel(5))); }
    std::string path = entry_file(dir.str(), cache_key(constant_kernel(5), host()));
    std::string entry = read_file(path);
    if (trial % 2) {
      entry.resize(random() % entry.size()); // truncated anywhere
    } else {
      size_t from = random() % entry.size(); // random bytes from anywhere on, the header included
      for (size_t i = from; i < entry.size(); i++) entry[i] = char(random());
    }
    write_file(path, entry);
    auto compiler = expect_ok(CpuCompiler::create(dir.str()));
    CHECK(call(*expect_ok(compiler->compile(constant_kernel(5)))) == 5);
    CHECK(compiler->stats().disk_rejects == 1);
  }
}

TEST_CASE("the memory cache keeps objects within its byte limit", "[runtime][cache]") {
  auto tight = expect_ok(CpuCompiler::create("", disk_cache_limit(), /*memory_limit=*/1));
  for (int value : {1, 2, 1}) CHECK(call(*expect_ok(tight->compile(constant_kernel(value)))) == value);
  CHECK(tight->stats().compiles == 3); // kernel 1 was evicted by kernel 2
  auto roomy = expect_ok(CpuCompiler::create("", disk_cache_limit(), /*memory_limit=*/1 << 20));
  for (int value : {1, 2, 1}) CHECK(call(*expect_ok(roomy->compile(constant_kernel(value)))) == value);
  CHECK(roomy->stats().compiles == 2);
  CHECK(roomy->stats().memory_hits == 1);
}

TEST_CASE("the disk cache stays within its size limit, dropping the oldest entries", "[runtime][cache]") {
  TempDir dir;
  const uint64_t limit = 16 << 10;
  const int kernels = 60; // about 1 KB each
  {
    auto compiler = expect_ok(CpuCompiler::create(dir.str(), limit));
    for (int value = 0; value < kernels; value++) expect_ok(compiler->compile(constant_kernel(value)));
    CHECK(compiler->stats().disk_write_errors == 0);
  }
  DiskCacheUsage usage = disk_cache_usage(dir.str());
  CHECK(usage.bytes <= limit);
  CHECK(usage.entries < kernels);
  auto compiler = expect_ok(CpuCompiler::create(dir.str(), limit));
  CHECK(call(*expect_ok(compiler->compile(constant_kernel(kernels - 1)))) == kernels - 1);
  CHECK(compiler->stats().disk_hits == 1); // the newest entry stays
  CHECK(call(*expect_ok(compiler->compile(constant_kernel(0)))) == 0);
  CHECK(compiler->stats().compiles == 1); // the oldest went
}

TEST_CASE("a disk cache limit of zero turns the disk cache off", "[runtime][cache]") {
  TempDir dir;
  auto compiler = expect_ok(CpuCompiler::create(dir.str() + "/cache", /*disk_limit=*/0));
  CHECK(compiler->cache_dir() == "");
  CHECK(call(*expect_ok(compiler->compile(constant_kernel(3)))) == 3);
  CHECK(!llvm::sys::fs::exists(dir.str() + "/cache"));
}

TEST_CASE("a cache directory that cannot be created leaves the kernels compiling, without a disk cache",
          "[runtime][cache]") {
  TempDir dir;
  std::string file = dir.str() + "/a_file";
  write_file(file, "not a directory");
  auto compiler = expect_ok(CpuCompiler::create(file + "/cache"));
  CHECK(compiler->cache_dir() == "");
  CHECK(call(*expect_ok(compiler->compile(constant_kernel(4)))) == 4);

  // a script runs and says so once
  write_file(dir.str() + "/one.pg", "from patgrad import Tensor\nprint((Tensor.arange(5) * 3).sum().item())\n");
  std::string out;
  CHECK(shell("PATGRAD_CACHE_DIR=" + file + "/cache " PATGRAD_BINARY " run " + dir.str() + "/one.pg", &out) == 0);
  CHECK(out == "patgrad: warning: cannot create the kernel cache directory '" + file +
                   "/cache': Not a directory; kernels will not be cached on disk (set PATGRAD_CACHE_DIR to another "
                   "directory)\n30\n");
}

TEST_CASE("threads with compilers of their own share one small cache directory", "[runtime][cache]") {
  TempDir dir;
  const int threads = 4, kernels = 24;
  std::vector<std::string> failures(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      // a limit of 8 KB: entries are written, read, trimmed and replaced by the others at once
      auto compiler = CpuCompiler::create(dir.str(), 8 << 10);
      if (!compiler) return void(failures[t] = llvm::toString(compiler.takeError()));
      for (int k = 0; k < kernels; k++) {
        int value = (k + t * 5) % kernels; // each thread in its own order
        auto program = (*compiler)->compile(constant_kernel(value));
        if (!program) return void(failures[t] = llvm::toString(program.takeError()));
        auto address = (*program)->function("k");
        if (!address) return void(failures[t] = llvm::toString(address.takeError()));
        if (reinterpret_cast<int64_t (*)()>(*address)() != value) return void(failures[t] = "wrong value");
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  for (const std::string& failure : failures) CHECK(failure == "");
  CHECK(!has_temporary(dir.str()));
}

TEST_CASE("processes compiling into one cache at once all get right results", "[runtime][cache]") {
  TempDir dir;
  // each process compiles the same 30 kernels, in its own order; the sums are exact in f32
  write_file(dir.str() + "/sums.pg", R"(import sys
from patgrad import Tensor
start = int(sys.argv[1])
for i in range(30):
    n = (start + i) % 30 + 1
    s = (Tensor.arange(n) * 3 + 1).sum().item()
    assert s == 3 * n * (n - 1) // 2 + n, f"sum of {n} terms is {s}"
print("ok")
)");
  std::string run = "PATGRAD_CACHE_DIR=" + dir.str() + "/cache " PATGRAD_BINARY " run " + dir.str() + "/sums.pg ";
  for (const char* pass : {"cold", "warm"}) {
    CAPTURE(pass);
    std::string command;
    for (int i = 0; i < 4; i++) {
      std::string out = dir.str() + "/out" + std::to_string(i);
      command += "(" + run + std::to_string(i * 7) + " >" + out + " 2>&1; echo \"exit $?\" >>" + out + ") & ";
    }
    shell(command + "wait");
    for (int i = 0; i < 4; i++) CHECK(read_file(dir.str() + "/out" + std::to_string(i)) == "ok\nexit 0\n");
  }
  CHECK(disk_cache_usage(dir.str() + "/cache").entries >= 30);
  CHECK(!has_temporary(dir.str() + "/cache"));
}

TEST_CASE("patgrad cache shows the directory, its entries and size; --clear empties it", "[runtime][cache]") {
  TempDir dir;
  std::string cache = dir.str() + "/cache", env = "PATGRAD_CACHE_DIR=" + cache + " ";
  write_file(dir.str() + "/two.pg", "from patgrad import Tensor\nprint((Tensor.arange(5) * 3).sum().item())\n"
                                    "print((Tensor.arange(7) + 2).max().item())\n");
  REQUIRE(shell(env + PATGRAD_BINARY " run " + dir.str() + "/two.pg") == 0);
  DiskCacheUsage usage = disk_cache_usage(cache);
  REQUIRE(usage.entries >= 2);
  std::string out;
  CHECK(shell(env + PATGRAD_BINARY " cache", &out) == 0);
  CHECK_THAT(out, Catch::StartsWith(cache + "\n" + std::to_string(usage.entries) + " entries, "));
  out.clear();
  CHECK(shell(env + PATGRAD_BINARY " cache --clear", &out) == 0);
  CHECK_THAT(out, Catch::StartsWith("removed " + std::to_string(usage.entries) + " entries"));
  CHECK(disk_cache_usage(cache).entries == 0);
  out.clear();
  CHECK(shell(env + PATGRAD_BINARY " cache", &out) == 0);
  CHECK_THAT(out, Catch::Contains("\n0 entries, 0.0 MB"));
  CHECK(shell(env + PATGRAD_BINARY " cache --frobnicate") == 1);
}
