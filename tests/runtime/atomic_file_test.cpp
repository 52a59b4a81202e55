// write_file_atomically: whole files or none, errors that keep the old file, writers racing on one path, and the
// temporaries of killed writers.
#include "runtime/atomic_file.h"
#include "tests/shell.h"
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <fcntl.h>
#include <fstream>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace patgrad::runtime;

namespace {

using patgrad::testing::TempDir;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

llvm::Error write_text(const std::string& path, const std::string& text) {
  return write_file_atomically(path, [&](llvm::raw_ostream& os) {
    os << text;
    return llvm::Error::success();
  });
}

using patgrad::testing::files_in;

// A file with a modification time age_seconds ago.
void make_old_file(const std::string& path, int age_seconds) {
  int fd;
  REQUIRE(!llvm::sys::fs::openFileForWrite(path, fd));
  REQUIRE(!llvm::sys::fs::setLastAccessAndModificationTime(fd, std::chrono::system_clock::now() -
                                                                   std::chrono::seconds(age_seconds)));
  ::close(fd);
}

} // namespace

TEST_CASE("a file written atomically replaces the old one whole and leaves no temporary", "[runtime][atomic_file]") {
  TempDir dir;
  std::string path = dir.str() + "/f";
  REQUIRE(!llvm::errorToBool(write_text(path, "first")));
  REQUIRE(!llvm::errorToBool(write_text(path, "second, longer")));
  CHECK(read_file(path) == "second, longer");
  CHECK(files_in(dir.str()) == std::vector<std::string>{"f"});
}

TEST_CASE("a failed atomic write is an error and leaves the old file", "[runtime][atomic_file]") {
  TempDir dir;
  std::string path = dir.str() + "/f";
  REQUIRE(!llvm::errorToBool(write_text(path, "old")));
  llvm::Error failed = write_file_atomically(path, [](llvm::raw_ostream& os) {
    os << "half of it";
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "the writer gave up");
  });
  CHECK(llvm::toString(std::move(failed)) == "the writer gave up");
  CHECK(read_file(path) == "old");
  CHECK(files_in(dir.str()) == std::vector<std::string>{"f"});

  std::string missing = dir.str() + "/no/such/dir/f";
  CHECK_THAT(llvm::toString(write_text(missing, "x")),
             Catch::Contains("cannot create a temporary file beside " + missing));
  // a FIFO (as a device) would be replaced by a file, which is never what the caller meant
  std::string fifo = dir.str() + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(llvm::toString(write_text(fifo, "x")) == "cannot write " + fifo + ": not a regular file");
  llvm::sys::fs::file_status status;
  REQUIRE(!llvm::sys::fs::status(fifo, status));
  CHECK(status.type() == llvm::sys::fs::file_type::fifo_file);
}

TEST_CASE("writers racing on one path each write whole files; readers see one of them", "[runtime][atomic_file]") {
  // With one shared PATH.tmp, two writers wrote into one file and renamed each other's half-written data.
  TempDir dir;
  std::string path = dir.str() + "/f";
  // version v: v+1 KB of the letter 'a' + v; a torn or mixed file has the wrong length or two letters
  auto version = [](int v) { return std::string(size_t(v + 1) << 10, char('a' + v)); };
  auto is_whole = [&](const std::string& text) {
    if (text.empty()) return false;
    int v = text[0] - 'a';
    return v >= 0 && v < 8 && text == version(v);
  };
  REQUIRE(!llvm::errorToBool(write_text(path, version(0))));
  std::atomic<bool> done = false;
  std::atomic<int> torn_reads = 0, failed_writes = 0;
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; w++)
    threads.emplace_back([&, w] {
      for (int i = 0; i < 50; i++)
        if (llvm::errorToBool(write_text(path, version(w * 2 + i % 2)))) failed_writes++;
    });
  for (int r = 0; r < 2; r++)
    threads.emplace_back([&] {
      while (!done)
        if (!is_whole(read_file(path))) torn_reads++;
    });
  for (int w = 0; w < 4; w++) threads[size_t(w)].join();
  done = true;
  for (size_t t = 4; t < threads.size(); t++) threads[t].join();
  CHECK(failed_writes == 0);
  CHECK(torn_reads == 0);
  CHECK(is_whole(read_file(path)));
  CHECK(files_in(dir.str()) == std::vector<std::string>{"f"});
}

TEST_CASE("a temporary is removed once no writer holds it and it is a minute old", "[runtime][atomic_file]") {
  TempDir dir;
  std::string path = dir.str() + "/f", stale = path + ".tmp-0000abcd", held = path + ".tmp-1111abcd";
  make_old_file(stale, 120);
  make_old_file(held, 120);
  int fd = ::open(held.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX) == 0);       // as a live writer holds its temporary
  make_old_file(path + ".tmp-2222abcd", 0); // young: its writer may not hold it yet
  REQUIRE(!llvm::errorToBool(write_text(path, "x")));
  CHECK(files_in(dir.str()) == std::vector<std::string>{"f", "f.tmp-1111abcd", "f.tmp-2222abcd"});
  ::close(fd); // the writer dies
  REQUIRE(!llvm::errorToBool(write_text(path, "y")));
  CHECK(files_in(dir.str()) == std::vector<std::string>{"f", "f.tmp-2222abcd"});
  CHECK(is_temporary_name("model.safetensors.tmp-0123abcd"));
  CHECK(!is_temporary_name("model.safetensors.tmp-0123abc"));
  CHECK(!is_temporary_name("model.safetensors.tmp-0123abcg"));
}
