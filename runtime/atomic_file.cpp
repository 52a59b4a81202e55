// write_file_atomically: a unique temporary, fsync, rename, fsync of the directory. Unique names rather than one
// PATH.tmp, because two writers of PATH.tmp write into one file and rename each other's half-written data.
#include "runtime/atomic_file.h"
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <llvm/ADT/SmallString.h>
#include <llvm/ADT/StringExtras.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <sys/file.h>
#include <unistd.h>

namespace patgrad::runtime {
namespace {

constexpr llvm::StringLiteral temporary_infix = ".tmp-";
constexpr size_t temporary_digits = 8;
constexpr auto stale_after = std::chrono::minutes(1);

llvm::Error error(const llvm::Twine& message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string errno_text() { return std::error_code(errno, std::generic_category()).message(); }

// The rename is on disk only once the directory is: without this a power loss can bring back the old file, or no
// file at all where there was none.
llvm::Error sync_directory_of(llvm::StringRef path) {
  llvm::SmallString<256> dir(llvm::sys::path::parent_path(path));
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return error("cannot open directory " + dir + " to sync it: " + errno_text());
  // EINVAL: a file system that cannot sync directories (some network and FUSE ones); nothing more can be done there
  bool synced = ::fsync(fd) == 0 || errno == EINVAL;
  std::string why = synced ? "" : errno_text();
  ::close(fd);
  if (!synced) return error("cannot sync directory " + dir + ": " + why);
  return llvm::Error::success();
}

// Writes, syncs and renames the temporary open as fd; the caller closes fd and removes the temporary on failure.
llvm::Error write_and_rename(int fd, llvm::StringRef temporary, llvm::StringRef path,
                             llvm::function_ref<llvm::Error(llvm::raw_ostream&)> write) {
  llvm::raw_fd_ostream os(fd, /*shouldClose=*/false);
  llvm::Error written = write(os);
  os.flush();
  std::error_code ec = os.error();
  os.clear_error(); // raw_fd_ostream aborts at destruction on an error nobody cleared
  if (written) return written;
  if (ec) return error("cannot write " + temporary + ": " + ec.message());
  if (::fsync(fd) != 0) return error("cannot sync " + temporary + ": " + errno_text());
  if (std::error_code ec = llvm::sys::fs::rename(temporary, path))
    return error("cannot rename " + temporary + " to " + path + ": " + ec.message());
  return llvm::Error::success();
}

} // namespace

bool is_temporary_name(llvm::StringRef name) {
  size_t at = name.rfind(temporary_infix);
  if (at == llvm::StringRef::npos) return false;
  llvm::StringRef digits = name.substr(at + temporary_infix.size());
  return digits.size() == temporary_digits && llvm::all_of(digits, llvm::isHexDigit);
}

void remove_stale_temporaries(llvm::StringRef dir, llvm::StringRef prefix) {
  auto now = std::chrono::system_clock::now();
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec)) {
    llvm::StringRef name = llvm::sys::path::filename(it->path());
    if (!name.starts_with(prefix) || !is_temporary_name(name)) continue;
    llvm::sys::fs::file_status status;
    if (llvm::sys::fs::status(it->path(), status) || now - status.getLastModificationTime() < stale_after) continue;
    int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) llvm::sys::fs::remove(it->path());
    ::close(fd);
  }
}

llvm::Error write_file_atomically(llvm::StringRef path, llvm::function_ref<llvm::Error(llvm::raw_ostream&)> write) {
  // Renaming over a device or a FIFO would replace it with a file (and root may do that in /dev).
  llvm::sys::fs::file_status status;
  if (!llvm::sys::fs::status(path, status) && status.type() != llvm::sys::fs::file_type::regular_file)
    return error("cannot write " + path + ": not a regular file");
  llvm::StringRef dir = llvm::sys::path::parent_path(path);
  remove_stale_temporaries(dir.empty() ? "." : dir, llvm::sys::path::filename(path));
  int fd;
  llvm::SmallString<256> temporary;
  std::string model = (path + temporary_infix + std::string(temporary_digits, '%')).str();
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(model, fd, temporary))
    return error("cannot create a temporary file beside " + path + ": " + ec.message());
  // held until the rename, so that remove_stale_temporaries leaves this temporary alone however long the write takes
  ::flock(fd, LOCK_EX);
  llvm::Error result = write_and_rename(fd, temporary, path, write);
  if (result) llvm::sys::fs::remove(temporary);
  ::close(fd);
  if (result) return result;
  return sync_directory_of(path);
}

} // namespace patgrad::runtime
