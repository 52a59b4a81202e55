// Observability: what DEBUG=1, 2, 4 and 5 print on stderr while a schedule runs, and what PATGRAD_RULE_STATS=1
// prints at exit. stderr is captured by pointing file descriptor 2 at a temporary file; the statistics, printed when
// the process exits, come from a child: this binary running the hidden test case at the end.
// Lowered and compiled kernels are cached per process, so each test builds a kernel no other test builds (its own
// constant) to see it lowered and compiled.
#include "frontend/tensor.h"
#include "tests/shell.h"
#include <array>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fmt/format.h>
#include <unistd.h>

using namespace patgrad;

namespace {

// While alive: the environment variable var set to value (unset if null), and stderr going to a temporary file.
class CapturedStderr {
public:
  CapturedStderr(const char* var, const char* value) : var(var) {
    std::fflush(stderr);
    fd = mkstemp(path);
    saved = dup(2);
    dup2(fd, 2);
    if (value)
      setenv(var, value, 1);
    else
      unsetenv(var);
  }
  ~CapturedStderr() {
    restore();
    close(fd);
    unlink(path);
  }
  CapturedStderr(const CapturedStderr&) = delete;
  CapturedStderr& operator=(const CapturedStderr&) = delete;

  // everything written so far; stderr is back to where it was
  std::string text() {
    restore();
    std::string out;
    std::array<char, 4096> buf;
    lseek(fd, 0, SEEK_SET);
    for (ssize_t n; (n = read(fd, buf.data(), buf.size())) > 0;) out.append(buf.data(), size_t(n));
    return out;
  }

private:
  void restore() {
    if (saved < 0) return;
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    saved = -1;
    unsetenv(var);
  }
  const char* var;
  char path[32] = "/tmp/patgrad_stderr_XXXXXX";
  int fd = -1, saved = -1;
};

// x * c summed over its last axis: one reduce kernel of 6 multiplies and 6 adds (12 flops) that loads 6 f32 and
// stores 2 (32 bytes); c makes the kernel one no other test compiles.
std::vector<float> scaled_sum(float c, std::string_view dev) {
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}).realize().to(dev);
  return (x * double(c)).sum({1}).to_vector<float>();
}

// stdout and stderr of a shell command
std::string output_of(const std::string& command) {
  std::string out;
  patgrad::testing::shell(command, &out);
  return out;
}

std::string self_path() {
  std::array<char, 4096> buf;
  ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
  REQUIRE(n > 0);
  return std::string(buf.data(), size_t(n));
}

} // namespace

TEST_CASE("DEBUG unset prints nothing", "[observability]") {
  CapturedStderr err("DEBUG", nullptr);
  CHECK(scaled_sum(1.5f, "CPU") == std::vector<float>{9, 22.5});
  CHECK(err.text().empty());
}

TEST_CASE("DEBUG=1 lists each schedule's kernels with their output and input buffers", "[observability]") {
  CapturedStderr err("DEBUG", "1");
  CHECK(scaled_sum(2.5f, "CPU") == std::vector<float>{15, 37.5});
  std::string text = err.text();
  INFO(text);
  CHECK(text.find("schedule: 1 kernels on CPU") != std::string::npos);
  CHECK(text.find(":f32[2] <- buf") != std::string::npos); // the output, then the input
  CHECK(text.find(":f32[6]") != std::string::npos);
  CHECK(text.find("GFLOP/s") == std::string::npos); // that is DEBUG=2
}

TEST_CASE("DEBUG=2 prints each kernel's time, estimated flops, bytes, GFLOP/s and GB/s", "[observability]") {
  for (std::string_view dev : {"CPU", "INTERP"}) {
    CapturedStderr err("DEBUG", "2");
    CHECK(scaled_sum(dev == "CPU" ? 3.5f : 4.5f, dev).size() == 2);
    std::string text = err.text();
    INFO(text);
    CHECK(text.find(" ms ") != std::string::npos);
    CHECK(text.find(" 12 flop ") != std::string::npos);
    CHECK(text.find(" 32 B ") != std::string::npos);
    CHECK(text.find("GFLOP/s") != std::string::npos);
    CHECK(text.find("GB/s") != std::string::npos);
  }
}

TEST_CASE("DEBUG=4 prints the LLVM IR of each kernel compiled", "[observability]") {
  CapturedStderr err("DEBUG", "4");
  CHECK(scaled_sum(5.5f, "CPU") == std::vector<float>{33, 82.5});
  std::string text = err.text();
  INFO(text);
  CHECK(text.find("define void @") != std::string::npos);
  CHECK(text.find("ret void") != std::string::npos);
  CHECK(text.find("= STORE:void") == std::string::npos); // that is DEBUG=5
}

TEST_CASE("DEBUG=5 prints the linear program of each kernel lowered", "[observability]") {
  CapturedStderr err("DEBUG", "5");
  CHECK(scaled_sum(6.5f, "INTERP") == std::vector<float>{39, 97.5});
  std::string text = err.text();
  INFO(text);
  // one node a line, sources by line number: the accumulator's update reads it back; allocations come first
  CHECK(text.find("%0 = DEFINE_") != std::string::npos);
  CHECK(text.find("= RANGE:index [0]") != std::string::npos);
  CHECK(text.find("= END:void") != std::string::npos);
  size_t acc = text.find("= DEFINE_ACC:f32 [0]");
  REQUIRE(acc != std::string::npos);
  std::string acc_line = text.substr(text.rfind('%', acc), acc - text.rfind('%', acc) - 1); // "%N"
  CHECK(text.find("= ASSIGN:void " + acc_line + " ") != std::string::npos);
  CHECK(text.find("= STORE:void") != std::string::npos);
}

TEST_CASE("a kernel is lowered once per target: again on another target, not again on the same", "[observability]") {
  CapturedStderr err("DEBUG", "5");
  CHECK(scaled_sum(8.5f, "CPU") == std::vector<float>{51, 127.5});
  CHECK(scaled_sum(8.5f, "CPU") == std::vector<float>{51, 127.5});
  CHECK(scaled_sum(8.5f, "INTERP") == std::vector<float>{51, 127.5});
  std::string text = err.text();
  INFO(text);
  size_t lowered = 0;
  for (size_t at = text.find("= STORE:void"); at != std::string::npos; at = text.find("= STORE:void", at + 1))
    lowered++;
  CHECK(lowered == 2);
}

TEST_CASE("PATGRAD_RULE_STATS=1 prints each rule's attempts, hits and time at exit", "[observability]") {
  std::string child = fmt::format("'{}' '[observability_child]'", self_path());
  std::string with = output_of("PATGRAD_RULE_STATS=1 " + child), without = output_of("PATGRAD_RULE_STATS= " + child);
  INFO(with);
  CHECK(with.find("All tests passed") != std::string::npos);
  CHECK(with.find("rule statistics of the kernel passes") != std::string::npos);
  CHECK(with.find("patterns/") != std::string::npos); // where each rule is
  CHECK(without.find("rule statistics") == std::string::npos);
}

// The child of the test above: lowers a kernel, then exits.
TEST_CASE("a kernel lowered by a child process", "[.][observability_child]") {
  CHECK(scaled_sum(7.5f, "INTERP") == std::vector<float>{45, 112.5});
}
