// For tests that reach outside the process: a shell command's exit code and output, a temporary directory, a
// directory's names, an environment variable set for one scope.
#pragma once
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <optional>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace patgrad::testing {

// Runs a shell command: its exit code (-1 if a signal ended it), its standard output and error together in out.
inline int shell(const std::string& command, std::string* out = nullptr) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;)
    if (out) out->append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The names in dir, sorted.
inline std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec))
    names.push_back(llvm::sys::path::filename(it->path()).str());
  std::sort(names.begin(), names.end());
  return names;
}

// A new empty directory, removed with everything in it at the end of the scope.
struct TempDir {
  TempDir() { REQUIRE(!llvm::sys::fs::createUniqueDirectory("patgrad-test", path)); }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }
  std::string str() const { return std::string(path); }
  llvm::SmallString<128> path;
};

// Sets (or, with nullptr, unsets) an environment variable for one scope.
class ScopedEnv {
public:
  ScopedEnv(const char* name, const char* value) : name(name) {
    if (const char* old = std::getenv(name)) saved = old;
    value ? setenv(name, value, 1) : unsetenv(name);
  }
  ~ScopedEnv() { saved ? setenv(name, saved->c_str(), 1) : unsetenv(name); }

private:
  const char* name;
  std::optional<std::string> saved;
};

} // namespace patgrad::testing
