// io/atomic_file.h: the one way lowp writes an output file.
//
// Every output (.npy arrays, ONNX models, reports) goes through here, so that a crash, a
// kill or a full disk never leaves a half-written file under the destination's name and
// never damages a file that was there before (docs/design.md "Files a user touches",
// BAD_INPUTS.md 19). The bytes go to a fresh temporary file in the destination's own
// directory (a rename is atomic only within one file system), created with O_EXCL and
// mode 0644 (less the process umask), flushed with fsync, then renamed over the
// destination; the directory is fsynced afterwards so the rename itself survives a power
// cut. On any failure the temporary file is removed and a lowp::Error names the
// destination, the step that failed and the system's errno text.
//
// An existing symlink at the destination is refused: the caller asked to write a file
// there, and silently replacing a link (or, with a naive open(), writing through it to
// wherever it points) is what BAD_INPUTS.md 19 forbids. rename() itself never follows a
// link, so a link swapped in after the check is replaced, not written through.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <span>

namespace lowp {

// Receives the next chunk of the file's bytes; may be called any number of times.
using ByteSink = std::function<void(std::span<const std::byte>)>;

// Writes `bytes` as the whole content of `path`, atomically.
void write_file_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes);

// Streaming variant: `produce` is called once and pushes the content, in order, into the
// sink it is given, so a large file need not be assembled in memory first. If `produce`
// throws, the temporary file is removed, the destination is left as it was, and the
// exception propagates unchanged.
void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(const ByteSink&)>& produce);

}  // namespace lowp
