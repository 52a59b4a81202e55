// The CPU compiler: hand-written IR kernels compile, run and give the right values; bad IR is an error pointing at
// the line; the memory and disk caches skip compiles, and a damaged disk entry is recompiled.
#include "runtime/cpu_jit.h"
#include "runtime/thread_pool.h"
#include "tests/shell.h"
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <llvm/Support/FileSystem.h>
#include <optional>
#include <thread>
#include <vector>

using namespace patgrad::runtime;

namespace {

// out[i] = a[i] + b[i] for i in [start, end)
constexpr const char* add_ir = R"(
define void @add(ptr noalias %out, ptr noalias %a, ptr noalias %b, i64 %start, i64 %end) {
entry:
  %empty = icmp sge i64 %start, %end
  br i1 %empty, label %exit, label %loop
loop:
  %i = phi i64 [ %start, %entry ], [ %next, %loop ]
  %pa = getelementptr inbounds float, ptr %a, i64 %i
  %pb = getelementptr inbounds float, ptr %b, i64 %i
  %x = load float, ptr %pa
  %y = load float, ptr %pb
  %sum = fadd float %x, %y
  %po = getelementptr inbounds float, ptr %out, i64 %i
  store float %sum, ptr %po
  %next = add nsw i64 %i, 1
  %done = icmp eq i64 %next, %end
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
)";
using AddFn = void (*)(float*, const float*, const float*, int64_t, int64_t);

// Two exported i64 kernels sharing an internal helper: out[i] = a[i] * 3 - i, and out[i] = -a[i].
constexpr const char* int_ir = R"(
define internal i64 @triple(i64 %x) {
  %r = mul i64 %x, 3
  ret i64 %r
}
define void @triple_minus_index(ptr noalias %out, ptr noalias %a, i64 %start, i64 %end) {
entry:
  %empty = icmp sge i64 %start, %end
  br i1 %empty, label %exit, label %loop
loop:
  %i = phi i64 [ %start, %entry ], [ %next, %loop ]
  %pa = getelementptr inbounds i64, ptr %a, i64 %i
  %x = load i64, ptr %pa
  %t = call i64 @triple(i64 %x)
  %v = sub i64 %t, %i
  %po = getelementptr inbounds i64, ptr %out, i64 %i
  store i64 %v, ptr %po
  %next = add nsw i64 %i, 1
  %done = icmp eq i64 %next, %end
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
define void @negate(ptr noalias %out, ptr noalias %a, i64 %start, i64 %end) {
entry:
  %empty = icmp sge i64 %start, %end
  br i1 %empty, label %exit, label %loop
loop:
  %i = phi i64 [ %start, %entry ], [ %next, %loop ]
  %pa = getelementptr inbounds i64, ptr %a, i64 %i
  %x = load i64, ptr %pa
  %v = sub i64 0, %x
  %po = getelementptr inbounds i64, ptr %out, i64 %i
  store i64 %v, ptr %po
  %next = add nsw i64 %i, 1
  %done = icmp eq i64 %next, %end
  br i1 %done, label %exit, label %loop
exit:
  ret void
}
)";
using IntFn = void (*)(int64_t*, const int64_t*, int64_t, int64_t);

template <typename T>
T expect_ok(llvm::Expected<T> value) {
  if (!value) FAIL(llvm::toString(value.takeError()));
  return std::move(*value);
}

template <typename Fn>
Fn kernel(const CompiledProgram& program, llvm::StringRef name) {
  return reinterpret_cast<Fn>(expect_ok(program.function(name)));
}

std::string error_text(llvm::Error err) {
  bool failed = static_cast<bool>(err);
  REQUIRE(failed);
  return llvm::toString(std::move(err));
}

using patgrad::testing::ScopedEnv;

using patgrad::testing::TempDir;

std::vector<std::filesystem::path> files_in(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  return files;
}

void check_add(const CompiledProgram& program) {
  const int64_t n = 1003; // not a multiple of any vector width: the remainder loop runs too
  std::vector<float> a(n), b(n), out(n, -1);
  for (int64_t i = 0; i < n; i++) a[i] = 0.5f * i, b[i] = 1000.0f - i;
  kernel<AddFn>(program, "add")(out.data(), a.data(), b.data(), 0, n);
  for (int64_t i = 0; i < n; i++) REQUIRE(out[i] == a[i] + b[i]);
}

} // namespace

TEST_CASE("a float kernel adds two buffers over its range", "[runtime][cpu_jit]") {
  auto compiler = expect_ok(CpuCompiler::create(""));
  auto program = expect_ok(compiler->compile(add_ir));
  check_add(*program);

  std::vector<float> a(32, 1.0f), b(32, 2.0f), out(32, -1.0f);
  kernel<AddFn>(*program, "add")(out.data(), a.data(), b.data(), 5, 17);
  for (int i = 0; i < 32; i++) REQUIRE(out[i] == (i >= 5 && i < 17 ? 3.0f : -1.0f));
}

TEST_CASE("every exported kernel of a module is callable by name", "[runtime][cpu_jit]") {
  auto compiler = expect_ok(CpuCompiler::create(""));
  auto program = expect_ok(compiler->compile(int_ir));
  const int64_t n = 257;
  std::vector<int64_t> a(n), out(n);
  for (int64_t i = 0; i < n; i++) a[i] = (i * 7919) % 1000 - 500;

  kernel<IntFn>(*program, "triple_minus_index")(out.data(), a.data(), 0, n);
  for (int64_t i = 0; i < n; i++) REQUIRE(out[i] == a[i] * 3 - i);
  kernel<IntFn>(*program, "negate")(out.data(), a.data(), 0, n);
  for (int64_t i = 0; i < n; i++) REQUIRE(out[i] == -a[i]);

  // internal functions are not entry points
  CHECK_THAT(error_text(program->function("triple").takeError()),
             Catch::Contains("no function 'triple'") && Catch::Contains("negate, triple_minus_index"));
}

TEST_CASE("programs may define the same kernel name", "[runtime][cpu_jit]") {
  auto compiler = expect_ok(CpuCompiler::create(""));
  auto constant_kernel = [](int value) { return "define i64 @k() {\n  ret i64 " + std::to_string(value) + "\n}\n"; };
  auto one = expect_ok(compiler->compile(constant_kernel(1)));
  auto two = expect_ok(compiler->compile(constant_kernel(2)));
  CHECK(kernel<int64_t (*)()>(*one, "k")() == 1);
  CHECK(kernel<int64_t (*)()>(*two, "k")() == 2);
}

TEST_CASE("bad IR is an error that says where and why", "[runtime][cpu_jit]") {
  struct Case {
    std::string ir;
    std::vector<std::string> fragments;
  };
  std::vector<Case> cases = {
      {"define void @f() {\n  ret void\n  %x = frobnicate i64 1\n}\n", {"ir:3:8: error: expected instruction opcode"}},
      {"define void @f(i64 %n) {\n  ret i32 %n\n}\n",
       {"ir:2:11: error: '%n' defined with type 'i64' but expected 'i32'"}},
      {"define void @f() {\n  call void @g()\n  ret void\n}\n", {"ir:2:13: error: use of undefined value '@g'"}},
      // parses, but %y is used before it is defined: the verifier's message
      {"define i64 @f(i64 %n) {\n  %x = add i64 %y, 1\n  %y = add i64 %n, 1\n  ret i64 %x\n}\n",
       {"invalid module", "Instruction does not dominate all uses!"}},
      // valid IR calling a function nothing defines: the linker names it
      {"declare void @no_such_function()\ndefine void @f() {\n  call void @no_such_function()\n  ret void\n}\n",
       {"cannot link the compiled program: Symbols not found: [ no_such_function ]"}},
  };
  auto compiler = expect_ok(CpuCompiler::create(""));
  for (const Case& c : cases) {
    CAPTURE(c.ir);
    std::string message = error_text(compiler->compile(c.ir).takeError());
    for (const std::string& fragment : c.fragments) CHECK_THAT(message, Catch::Contains(fragment));
  }
}

TEST_CASE("compiling the same text twice compiles once", "[runtime][cpu_jit]") {
  auto compiler = expect_ok(CpuCompiler::create(""));
  auto first = expect_ok(compiler->compile(add_ir));
  auto second = expect_ok(compiler->compile(add_ir));
  CacheStats stats = compiler->stats();
  CHECK(stats.compiles == 1);
  CHECK(stats.memory_hits == 1);
  CHECK(stats.disk_hits == 0);
  // each program owns its code: freeing one leaves the other callable
  first.reset();
  check_add(*second);
}

TEST_CASE("a second compiler finds the object on disk and compiles nothing", "[runtime][cpu_jit]") {
  TempDir dir;
  ScopedEnv env("PATGRAD_CACHE_DIR", dir.str().c_str());
  {
    auto compiler = expect_ok(CpuCompiler::create());
    CHECK(compiler->cache_dir() == dir.str());
    expect_ok(compiler->compile(add_ir));
    CHECK(compiler->stats().compiles == 1);
    CHECK(compiler->stats().disk_write_errors == 0);
  }
  REQUIRE(files_in(dir.str()).size() == 1); // the entry, and no temporary file left behind

  auto compiler = expect_ok(CpuCompiler::create());
  auto program = expect_ok(compiler->compile(add_ir));
  CacheStats stats = compiler->stats();
  CHECK(stats.compiles == 0);
  CHECK(stats.disk_hits == 1);
  CHECK(stats.disk_rejects == 0);
  check_add(*program);
}

TEST_CASE("a damaged disk entry is recompiled and replaced", "[runtime][cpu_jit]") {
  struct Damage {
    const char* name;
    std::string (*apply)(std::string entry);
  };
  const Damage damages[] = {
      {"truncated to half", [](std::string e) { return e.substr(0, e.size() / 2); }},
      {"truncated in the header", [](std::string e) { return e.substr(0, 12); }},
      {"empty", [](std::string) { return std::string(); }},
      {"one bit of the object flipped", [](std::string e) { return e.back() ^= 1, e; }},
      {"a foreign file", [](std::string e) { return std::string(e.size(), 'x'); }},
      {"trailing bytes", [](std::string e) { return e + "junk"; }},
  };
  for (const Damage& damage : damages) {
    CAPTURE(damage.name);
    TempDir dir;
    { expect_ok(expect_ok(CpuCompiler::create(dir.str()))->compile(add_ir)); }
    auto files = files_in(dir.str());
    REQUIRE(files.size() == 1);
    std::string entry(std::filesystem::file_size(files[0]), '\0');
    std::ifstream(files[0], std::ios::binary).read(entry.data(), entry.size());
    std::ofstream(files[0], std::ios::binary | std::ios::trunc) << damage.apply(entry);

    auto compiler = expect_ok(CpuCompiler::create(dir.str()));
    auto program = expect_ok(compiler->compile(add_ir));
    CHECK(compiler->stats().disk_rejects == 1);
    CHECK(compiler->stats().compiles == 1);
    check_add(*program);

    auto after_repair = expect_ok(CpuCompiler::create(dir.str()));
    expect_ok(after_repair->compile(add_ir));
    CHECK(after_repair->stats().disk_hits == 1);
  }
}

TEST_CASE("the cache directory comes from PATGRAD_CACHE_DIR, then XDG_CACHE_HOME, then HOME", "[runtime][cpu_jit]") {
  ScopedEnv home("HOME", "/home/someone");
  {
    ScopedEnv own("PATGRAD_CACHE_DIR", "/tmp/own"), xdg("XDG_CACHE_HOME", "/tmp/xdg");
    CHECK(default_cache_dir() == "/tmp/own");
  }
  {
    ScopedEnv own("PATGRAD_CACHE_DIR", ""), xdg("XDG_CACHE_HOME", "/tmp/xdg");
    CHECK(default_cache_dir() == "/tmp/xdg/patgrad");
  }
  ScopedEnv own("PATGRAD_CACHE_DIR", nullptr), xdg("XDG_CACHE_HOME", nullptr);
  CHECK(default_cache_dir() == "/home/someone/.cache/patgrad");
}

TEST_CASE("a kernel launched with parallel_for fills its whole output", "[runtime][cpu_jit]") {
  auto compiler = expect_ok(CpuCompiler::create(""));
  auto program = expect_ok(compiler->compile(add_ir));
  auto add = kernel<AddFn>(*program, "add");
  const int64_t n = 100003;
  std::vector<float> a(n), b(n), out(n, -1);
  for (int64_t i = 0; i < n; i++) a[i] = i, b[i] = 2.0f * i;
  parallel_for(n, 1024, [&](int64_t begin, int64_t end) { add(out.data(), a.data(), b.data(), begin, end); });
  for (int64_t i = 0; i < n; i++) REQUIRE(out[i] == 3.0f * i);
}

TEST_CASE("several threads may compile at once", "[runtime][cpu_jit]") {
  TempDir dir;
  auto compiler = expect_ok(CpuCompiler::create(dir.str()));
  auto constant_kernel = [](int value) { return "define i64 @k() {\n  ret i64 " + std::to_string(value) + "\n}\n"; };
  const int threads = 4, kernels = 3;
  std::vector<std::string> failures(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; t++) {
    workers.emplace_back([&, t] {
      for (int k = 0; k < kernels; k++) {
        // every thread compiles kernel 0; the others are its own
        int value = k == 0 ? 0 : t * kernels + k;
        auto program = compiler->compile(constant_kernel(value));
        if (!program) return void(failures[t] = llvm::toString(program.takeError()));
        auto address = (*program)->function("k");
        if (!address) return void(failures[t] = llvm::toString(address.takeError()));
        if (reinterpret_cast<int64_t (*)()>(*address)() != value) return void(failures[t] = "wrong value");
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  for (const std::string& failure : failures) CHECK(failure == "");
  CacheStats stats = compiler->stats();
  CHECK(stats.compiles + stats.memory_hits + stats.disk_hits == threads * kernels);
  CHECK(stats.compiles >= 1 + threads * (kernels - 1)); // kernel 0 at least once, each thread's own ones once
  CHECK(stats.disk_write_errors == 0);
}
