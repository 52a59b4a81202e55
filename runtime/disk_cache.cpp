// Compiled objects on disk, one file per cache key, so a kernel compiles once per machine. Several processes may share
// the directory: entries are written whole (write_file_atomically), and each records its whole key and a checksum,
// so a torn, truncated or foreign file, or one copied or renamed under another key's name, is detected (and then
// recompiled and replaced by the caller), never loaded. The directory is kept under a size limit by removing the least
// recently used entries: a read marks an entry used by its modification time.
//
// Entry layout (little-endian): "PGCPUOB2", u64 xxh3 of everything after it, the key's 32-byte digest, u64 length of
// the target, the target, zeros up to a multiple of 16 bytes (the object parser refuses a misaligned object), the
// object file.
#include "runtime/atomic_file.h"
#include "runtime/cpu_internal.h"
#include "runtime/cpu_jit.h"
#include <algorithm>
#include <fcntl.h>
#include <llvm/ADT/StringExtras.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/BLAKE3.h>
#include <llvm/Support/Endian.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/Process.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Support/xxhash.h>
#include <sys/stat.h>

namespace patgrad::runtime {
namespace {

constexpr llvm::StringLiteral magic = "PGCPUOB2";
constexpr llvm::StringLiteral entry_extension = ".pgobj";
constexpr size_t digest_size = std::tuple_size_v<decltype(CacheKey::digest)>;
constexpr size_t header_size = 8 + 8 + digest_size + 8; // before the target

std::string entry_path(llvm::StringRef dir, const CacheKey& key) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, key.name() + entry_extension);
  return std::string(path);
}

size_t object_offset(uint64_t target_size) { return llvm::alignTo(header_size + target_size, 16); }

llvm::StringRef as_text(llvm::ArrayRef<uint8_t> bytes) { return llvm::toStringRef(bytes); }

// The object inside a whole entry if the entry is intact and records key, else nothing.
std::optional<llvm::StringRef> unpack(llvm::StringRef entry, const CacheKey& key) {
  if (entry.size() < header_size || !entry.starts_with(magic)) return std::nullopt;
  llvm::StringRef checked = entry.drop_front(16);
  if (llvm::xxh3_64bits(checked) != llvm::support::endian::read64le(entry.data() + 8)) return std::nullopt;
  llvm::StringRef digest = checked.take_front(digest_size);
  uint64_t target_size = llvm::support::endian::read64le(checked.data() + digest_size);
  llvm::StringRef rest = checked.drop_front(digest_size + 8);
  if (target_size > rest.size() || object_offset(target_size) > entry.size()) return std::nullopt;
  if (digest != as_text(key.digest) || rest.take_front(target_size) != key.target) return std::nullopt;
  return entry.drop_front(object_offset(target_size));
}

bool is_object_file(llvm::StringRef object) {
  auto parsed = llvm::object::ObjectFile::createObjectFile(llvm::MemoryBufferRef(object, "cache entry"));
  if (parsed) return true;
  // Why the bytes are not an object does not matter: the caller counts the entry as corrupt and recompiles.
  llvm::consumeError(parsed.takeError());
  return false;
}

struct DiskEntry {
  std::string path;
  uint64_t bytes;
  llvm::sys::TimePoint<> used;
};

// The entries in dir (not the temporaries, nor files that are not ours).
std::vector<DiskEntry> list_entries(llvm::StringRef dir) {
  std::vector<DiskEntry> entries;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec)) {
    if (!llvm::StringRef(it->path()).ends_with(entry_extension)) continue;
    llvm::sys::fs::file_status status;
    if (llvm::sys::fs::status(it->path(), status) || status.type() != llvm::sys::fs::file_type::regular_file) continue;
    entries.push_back({it->path(), status.getSize(), status.getLastModificationTime()});
  }
  return entries;
}

} // namespace

uint64_t megabytes_from_env(const char* name, uint64_t default_mb) {
  std::optional<std::string> text = llvm::sys::Process::GetEnv(name);
  uint64_t mb = default_mb;
  if (text && !text->empty() && llvm::StringRef(*text).getAsInteger(10, mb)) {
    llvm::errs() << "patgrad: warning: " << name << "='" << *text << "' is not a number of megabytes; using "
                 << default_mb << "\n";
    mb = default_mb;
  }
  return std::min<uint64_t>(mb, uint64_t(1) << 40) << 20; // no overflow: a million terabytes is no limit either
}

std::string CacheKey::name() const { return llvm::toHex(llvm::ArrayRef(digest).take_front(16), /*LowerCase=*/true); }

CacheKey cache_key(llvm::StringRef ir, llvm::StringRef target_id) {
  llvm::BLAKE3 hasher;
  hasher.update(target_id);
  hasher.update(llvm::StringRef("\0", 1)); // so that no (target, ir) pair can collide with a shifted split
  hasher.update(ir);
  return {hasher.final(), target_id.str()};
}

CacheEntry read_cache_entry(llvm::StringRef dir, const CacheKey& key) {
  std::string path = entry_path(dir, key);
  auto file = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!file) {
    // Any other failure (a directory in the way, no permission) leaves an entry we cannot use: recompile and try to
    // replace it.
    bool missing = file.getError() == std::errc::no_such_file_or_directory;
    return {missing ? CacheEntry::MISSING : CacheEntry::CORRUPT, nullptr};
  }
  auto object = unpack((*file)->getBuffer(), key);
  if (!object || !is_object_file(*object)) return {CacheEntry::CORRUPT, nullptr};
  // Marking it used only keeps it from trimming a little longer: failing to is harmless.
  (void)::utimensat(AT_FDCWD, path.c_str(), nullptr, 0); // both times to now
  return {CacheEntry::FOUND, llvm::MemoryBuffer::getMemBufferCopy(*object, (*file)->getBufferIdentifier())};
}

llvm::Error write_cache_entry(llvm::StringRef dir, const CacheKey& key, llvm::StringRef object) {
  char target_size[8];
  llvm::support::endian::write64le(target_size, key.target.size());
  std::string checked(as_text(key.digest));
  checked.append(target_size, 8);
  checked += key.target;
  checked.resize(object_offset(key.target.size()) - 16, '\0'); // the padding
  checked += object;
  char checksum[8];
  llvm::support::endian::write64le(checksum, llvm::xxh3_64bits(checked));
  return write_file_atomically(entry_path(dir, key), [&](llvm::raw_ostream& out) {
    out << magic << llvm::StringRef(checksum, 8) << checked;
    return llvm::Error::success();
  });
}

uint64_t cache_entry_size(const CacheKey& key, uint64_t object_size) {
  return object_offset(key.target.size()) + object_size;
}

uint64_t trim_disk_cache(llvm::StringRef dir, uint64_t max_bytes) {
  remove_stale_temporaries(dir, "");
  std::vector<DiskEntry> entries = list_entries(dir);
  uint64_t total = 0;
  for (const DiskEntry& e : entries) total += e.bytes;
  if (total <= max_bytes) return total;
  std::sort(entries.begin(), entries.end(), [](const DiskEntry& a, const DiskEntry& b) { return a.used < b.used; });
  for (const DiskEntry& e : entries) {
    if (total <= max_bytes / 4 * 3) break;
    // another process may have removed it already; either way it is gone
    llvm::sys::fs::remove(e.path);
    total -= e.bytes;
  }
  return total;
}

uint64_t disk_cache_limit() { return megabytes_from_env("PATGRAD_CACHE_MB", 256); }
uint64_t memory_cache_limit() { return megabytes_from_env("PATGRAD_MEMORY_CACHE_MB", 64); }

DiskCacheUsage disk_cache_usage(llvm::StringRef dir) {
  DiskCacheUsage usage;
  for (const DiskEntry& e : list_entries(dir)) usage.entries++, usage.bytes += e.bytes;
  return usage;
}

llvm::Expected<DiskCacheUsage> clear_disk_cache(llvm::StringRef dir) {
  DiskCacheUsage removed;
  for (const DiskEntry& e : list_entries(dir)) {
    if (std::error_code ec = llvm::sys::fs::remove(e.path))
      return llvm::createStringError(llvm::inconvertibleErrorCode(), "cannot remove " + e.path + ": " + ec.message());
    removed.entries++, removed.bytes += e.bytes;
  }
  remove_stale_temporaries(dir, "");
  return removed;
}

} // namespace patgrad::runtime
