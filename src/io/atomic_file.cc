// io/atomic_file.cc: temporary file, fsync, rename (see atomic_file.h).
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include "base/error.h"

namespace lowp {
namespace {

std::string errno_text(int error) {
  return std::generic_category().message(error);
}

// Names differ by process, by call and by a random part, so two writers of the same
// destination (even in two processes) never pick the same temporary file; O_EXCL makes a
// collision an EEXIST that is retried with a new name, never a shared file. The leading dot
// keeps it out of plain `ls` and globs while it exists.
std::filesystem::path temporary_name(const std::filesystem::path& path) {
  static std::atomic<unsigned long> counter{0};
  static const unsigned long salt = std::random_device{}();
  return path.parent_path() / fmt::format(".{}.tmp.{}.{}.{}", path.filename().string(), ::getpid(),
                                          counter.fetch_add(1), salt % 1000000);
}

// Owns the temporary file until it has been renamed; removes it on every other way out.
class TemporaryFile {
 public:
  explicit TemporaryFile(const std::filesystem::path& destination) : destination_(destination) {
    constexpr int kAttempts = 100;
    for (int attempt = 0; attempt < kAttempts; ++attempt) {
      temporary_ = temporary_name(destination);
      fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd_ >= 0) return;
      if (errno != EEXIST) break;
    }
    fail("{}: cannot create temporary file {}: {}", destination_.string(), temporary_.string(),
         errno_text(errno));
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temporary_.c_str());
  }

  void write(std::span<const std::byte> bytes) {
    LOWP_CHECK(fd_ >= 0, "{}: write after the file was closed", destination_.string());
    while (!bytes.empty()) {
      ssize_t written = ::write(fd_, bytes.data(), bytes.size());
      if (written < 0) {
        if (errno == EINTR) continue;
        fail("{}: writing temporary file {} failed: {}", destination_.string(), temporary_.string(),
             errno_text(errno));
      }
      bytes = bytes.subspan(static_cast<std::size_t>(written));
    }
  }

  void commit() {
    if (::fsync(fd_) != 0) {
      fail("{}: fsync of temporary file {} failed: {}", destination_.string(), temporary_.string(),
           errno_text(errno));
    }
    int fd = fd_;
    fd_ = -1;  // close() releases the descriptor even when it reports an error
    if (::close(fd) != 0) {
      fail("{}: closing temporary file {} failed: {}", destination_.string(), temporary_.string(),
           errno_text(errno));
    }
    if (::rename(temporary_.c_str(), destination_.c_str()) != 0) {
      fail("{}: cannot rename temporary file {} over it: {}", destination_.string(),
           temporary_.string(), errno_text(errno));
    }
    committed_ = true;
    sync_directory();
  }

 private:
  // Makes the rename durable. Best effort: the new content is already in place and
  // complete, so a file system that cannot fsync a directory is not a failure to report.
  void sync_directory() {
    std::filesystem::path directory = destination_.parent_path();
    if (directory.empty()) directory = ".";
    int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)::fsync(fd);
    ::close(fd);
  }

  std::filesystem::path destination_;
  std::filesystem::path temporary_;
  int fd_ = -1;
  bool committed_ = false;
};

void check_destination(const std::filesystem::path& path) {
  std::filesystem::path name = path.filename();
  LOWP_CHECK(!name.empty() && name != "." && name != "..",
             "{}: not a file name to write (it names a directory)", path.string());
  std::error_code error;
  std::filesystem::file_status status = std::filesystem::symlink_status(path, error);
  // A status error other than "not found" (say, a directory we may not search) is left to
  // the open() of the temporary file, which reports it with its errno text.
  if (error) return;
  LOWP_CHECK(!std::filesystem::is_symlink(status),
             "{}: is a symbolic link; refusing to write through or replace it", path.string());
  LOWP_CHECK(!std::filesystem::is_directory(status), "{}: is a directory, not a file",
             path.string());
}

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  write_file_atomically(path, [bytes](const ByteSink& sink) { sink(bytes); });
}

void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(const ByteSink&)>& produce) {
  check_destination(path);
  TemporaryFile file(path);
  produce([&file](std::span<const std::byte> chunk) { file.write(chunk); });
  file.commit();
}

}  // namespace lowp
