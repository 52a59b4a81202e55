// Compiled objects on disk, one file per cache key, so a kernel compiles once per machine. Several processes may share
// the directory: entries are written to a temporary file and renamed into place, and every entry carries its length
// and a checksum, so a torn, truncated or foreign file is detected (and then recompiled by the caller), never loaded.
//
// Entry layout (little-endian): "PGCPUOBJ", u64 object size, u64 xxh3 of the object, the object file.
#include "runtime/cpu_internal.h"
#include <llvm/ADT/StringExtras.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/BLAKE3.h>
#include <llvm/Support/Endian.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Support/xxhash.h>

namespace patgrad::runtime {
namespace {

constexpr llvm::StringLiteral magic = "PGCPUOBJ";
constexpr size_t header_size = 8 + 8 + 8;

std::string entry_path(llvm::StringRef dir, llvm::StringRef key) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, key + ".pgobj");
  return std::string(path);
}

// The object inside a whole entry, or nothing if the entry is damaged.
std::optional<llvm::StringRef> unpack(llvm::StringRef entry) {
  if (entry.size() < header_size || !entry.starts_with(magic)) return std::nullopt;
  uint64_t size = llvm::support::endian::read64le(entry.data() + 8);
  uint64_t checksum = llvm::support::endian::read64le(entry.data() + 16);
  llvm::StringRef object = entry.drop_front(header_size);
  if (object.size() != size || llvm::xxh3_64bits(object) != checksum) return std::nullopt;
  return object;
}

bool is_object_file(llvm::StringRef object) {
  auto parsed = llvm::object::ObjectFile::createObjectFile(llvm::MemoryBufferRef(object, "cache entry"));
  if (parsed) return true;
  // Why the bytes are not an object does not matter: the caller counts the entry as corrupt and recompiles.
  llvm::consumeError(parsed.takeError());
  return false;
}

} // namespace

std::string cache_key(llvm::StringRef ir, llvm::StringRef target_id) {
  llvm::BLAKE3 hasher;
  hasher.update(target_id);
  hasher.update(llvm::StringRef("\0", 1)); // so that no (target, ir) pair can collide with a shifted split
  hasher.update(ir);
  return llvm::toHex(hasher.final<16>(), /*LowerCase=*/true);
}

CacheEntry read_cache_entry(llvm::StringRef dir, llvm::StringRef key) {
  auto file = llvm::MemoryBuffer::getFile(entry_path(dir, key), /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!file) {
    // Any other failure (a directory in the way, no permission) leaves an entry we cannot use: recompile and try to
    // replace it.
    bool missing = file.getError() == std::errc::no_such_file_or_directory;
    return {missing ? CacheEntry::MISSING : CacheEntry::CORRUPT, nullptr};
  }
  auto object = unpack((*file)->getBuffer());
  if (!object || !is_object_file(*object)) return {CacheEntry::CORRUPT, nullptr};
  return {CacheEntry::FOUND, llvm::MemoryBuffer::getMemBufferCopy(*object, (*file)->getBufferIdentifier())};
}

llvm::Error write_cache_entry(llvm::StringRef dir, llvm::StringRef key, llvm::StringRef object) {
  char header[header_size];
  llvm::copy(magic, header);
  llvm::support::endian::write64le(header + 8, object.size());
  llvm::support::endian::write64le(header + 16, llvm::xxh3_64bits(object));
  // writeToOutput writes a temporary file beside the entry and renames it over the entry when complete.
  return llvm::writeToOutput(entry_path(dir, key), [&](llvm::raw_ostream& os) {
    os << llvm::StringRef(header, header_size) << object;
    return llvm::Error::success();
  });
}

} // namespace patgrad::runtime
