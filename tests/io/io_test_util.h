// tests/io/io_test_util.h: helpers shared by the io tests: a scratch directory that cleans
// up after itself, whole-file reads and writes, and an expectation that a call throws a
// lowp::Error whose message contains a given phrase.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace lowp::testing {

class TempDir {
 public:
  // In `base`, the system's temporary folder by default.
  explicit TempDir(const std::filesystem::path& base = std::filesystem::temp_directory_path()) {
    std::string pattern = (base / "lowp_io_test.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

  // The names of the entries in the directory, to check that no temporary file is left.
  std::set<std::string> entries() const {
    std::set<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path_)) {
      names.insert(entry.path().filename().string());
    }
    return names;
  }

 private:
  std::filesystem::path path_;
};

inline std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  for (std::size_t i = 0; i < chars.size(); ++i) bytes[i] = static_cast<std::byte>(chars[i]);
  return bytes;
}

inline void write_bytes(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline std::vector<std::byte> to_bytes(std::string_view text) {
  std::vector<std::byte> bytes(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) bytes[i] = static_cast<std::byte>(text[i]);
  return bytes;
}

// The message of the lowp::Error that `call` throws, or a test failure if it throws none.
template <class F>
std::string error_message(F&& call) {
  try {
    call();
  } catch (const lowp::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a lowp::Error, none was thrown";
  return {};
}

}  // namespace lowp::testing

// EXPECT_ERROR_CONTAINS(statement, phrase): the statement throws lowp::Error and the message
// contains the phrase.
#define EXPECT_ERROR_CONTAINS(statement, phrase)                                            \
  do {                                                                                      \
    std::string lowp_message_ = ::lowp::testing::error_message([&] { (void)(statement); }); \
    EXPECT_NE(lowp_message_.find(phrase), std::string::npos)                                \
        << "message: " << lowp_message_ << "\nexpected to contain: " << (phrase);           \
  } while (false)
