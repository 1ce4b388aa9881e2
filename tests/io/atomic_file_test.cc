// tests/io/atomic_file_test.cc: write_file_atomically writes whole files or nothing, leaves
// no temporary file behind on failure, and refuses symlinks (BAD_INPUTS.md 19).
#include "io/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <stdexcept>

#include "io_test_util.h"

namespace lowp {
namespace {

using testing::read_bytes;
using testing::TempDir;
using testing::to_bytes;

TEST(AtomicFile, WritesTheBytesWithMode0644) {
  TempDir dir;
  std::filesystem::path path = dir / "out.bin";
  mode_t old_umask = ::umask(022);
  write_file_atomically(path, to_bytes("hello, lowp"));
  ::umask(old_umask);
  EXPECT_EQ(read_bytes(path), to_bytes("hello, lowp"));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"out.bin"});
}

TEST(AtomicFile, WritesAnEmptyFile) {
  TempDir dir;
  write_file_atomically(dir / "empty", std::span<const std::byte>());
  EXPECT_TRUE(std::filesystem::is_regular_file(dir / "empty"));
  EXPECT_EQ(std::filesystem::file_size(dir / "empty"), 0u);
}

TEST(AtomicFile, ReplacesAnExistingFile) {
  TempDir dir;
  std::filesystem::path path = dir / "out.bin";
  write_file_atomically(path, to_bytes("first version, longer"));
  write_file_atomically(path, to_bytes("second"));
  EXPECT_EQ(read_bytes(path), to_bytes("second"));
  EXPECT_EQ(dir.entries(), std::set<std::string>{"out.bin"});
}

TEST(AtomicFile, StreamsChunksInOrder) {
  TempDir dir;
  std::filesystem::path path = dir / "chunks";
  write_file_atomically(path, [](const ByteSink& sink) {
    sink(to_bytes("ab"));
    sink(std::span<const std::byte>());
    sink(to_bytes("cde"));
    for (int i = 0; i < 1000; ++i) sink(to_bytes("x"));
  });
  std::vector<std::byte> expected = to_bytes("abcde" + std::string(1000, 'x'));
  EXPECT_EQ(read_bytes(path), expected);
}

TEST(AtomicFile, MissingDirectoryIsAnErrorNamingThePathAndErrno) {
  TempDir dir;
  std::filesystem::path path = dir / "no-such-dir" / "out.bin";
  std::string message = testing::error_message([&] { write_file_atomically(path, to_bytes("x")); });
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  EXPECT_TRUE(dir.entries().empty());
}

struct ProducerFailed : std::runtime_error {
  ProducerFailed() : std::runtime_error("producer failed") {}
};

TEST(AtomicFile, FailingProducerLeavesOldFileAndNoTemporary) {
  TempDir dir;
  std::filesystem::path path = dir / "model.onnx";
  write_file_atomically(path, to_bytes("the old model"));
  EXPECT_THROW(write_file_atomically(path,
                                     [](const ByteSink& sink) {
                                       sink(to_bytes("half of the new"));
                                       throw ProducerFailed();
                                     }),
               ProducerFailed);
  EXPECT_EQ(read_bytes(path), to_bytes("the old model"));
  EXPECT_EQ(dir.entries(), std::set<std::string>{"model.onnx"});
}

TEST(AtomicFile, FailingProducerCreatesNothingNew) {
  TempDir dir;
  EXPECT_THROW(
      write_file_atomically(dir / "new.bin", [](const ByteSink&) { throw ProducerFailed(); }),
      ProducerFailed);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFile, RefusesASymlinkDestination) {
  TempDir dir;
  std::filesystem::path target = dir / "target";
  std::filesystem::path link = dir / "link";
  write_file_atomically(target, to_bytes("precious"));
  std::filesystem::create_symlink(target, link);
  EXPECT_ERROR_CONTAINS(write_file_atomically(link, to_bytes("overwrite")), "symbolic link");
  EXPECT_EQ(read_bytes(target), to_bytes("precious"));
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(dir.entries(), (std::set<std::string>{"link", "target"}));
}

TEST(AtomicFile, RefusesADanglingSymlinkDestination) {
  TempDir dir;
  std::filesystem::path link = dir / "link";
  std::filesystem::create_symlink(dir / "elsewhere", link);
  EXPECT_ERROR_CONTAINS(write_file_atomically(link, to_bytes("x")), link.string());
  EXPECT_FALSE(std::filesystem::exists(dir / "elsewhere"));
  EXPECT_EQ(dir.entries(), std::set<std::string>{"link"});
}

TEST(AtomicFile, RefusesADirectoryDestination) {
  TempDir dir;
  std::filesystem::create_directory(dir / "sub");
  EXPECT_ERROR_CONTAINS(write_file_atomically(dir / "sub", to_bytes("x")), "is a directory");
  EXPECT_ERROR_CONTAINS(write_file_atomically(dir.path() / "", to_bytes("x")), "not a file name");
  EXPECT_EQ(dir.entries(), std::set<std::string>{"sub"});
  EXPECT_TRUE(std::filesystem::is_empty(dir / "sub"));
}

}  // namespace
}  // namespace lowp
