// Files written whole or not at all, for checkpoints (frontend/safetensors.cpp) and the kernel cache
// (runtime/disk_cache.cpp): a reader sees the old file or the complete new one, never part of one, and a crash, even a
// power loss, leaves one of the two.
#pragma once
#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/raw_ostream.h>

namespace patgrad::runtime {

// Writes path through a temporary file of its own beside it (PATH.tmp-XXXXXXXX, hex digits), which it syncs to disk,
// renames over path and then syncs the directory. Writers of one path at once each write their own temporary: the
// last rename wins, so path always holds one writer's complete file, and each writer that reports success did write
// a complete file there. First removes temporaries of path left by killed writers (remove_stale_temporaries).
// Errors (write's own, or one naming the file and the system's reason) leave path as it was and no temporary; path
// must be a regular file if it exists.
llvm::Error write_file_atomically(llvm::StringRef path, llvm::function_ref<llvm::Error(llvm::raw_ostream&)> write);

// Whether a file name (no directory) is one of write_file_atomically's temporaries.
bool is_temporary_name(llvm::StringRef name);

// Removes the temporaries in dir whose name starts with prefix ("" for all) that no writer holds any more. A writer
// holds a lock (flock) on its temporary until it is renamed, and the lock dies with the writer's process, so an
// unlocked temporary more than a minute old (younger ones may be between their creation and their lock) was left by a
// killed writer. Best effort: a temporary that cannot be removed is left for the next time.
void remove_stale_temporaries(llvm::StringRef dir, llvm::StringRef prefix);

} // namespace patgrad::runtime
