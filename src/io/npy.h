// io/npy.h: NumPy .npy arrays in and out, the array format of the lowp CLI.
//
// `lowp run --input x=in.npy`, calibration sets and the outputs of run and compare are .npy
// files, so this is a loader of untrusted input (BAD_INPUTS.md 1, 7-10, 37) and a writer
// that must never leave half a file (19).
//
// Format (numpy/lib/format.py): the magic "\x93NUMPY", a major and minor version byte, the
// header length (uint16 little-endian in version 1.0, uint32 in 2.0 and 3.0), the header,
// then the raw C-order element bytes. The header is a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces and ended by '\n'. Version 3.0 only allows UTF-8 in the header.
//
// Reading accepts versions 1.0, 2.0 and 3.0, and parses the dict itself rather than
// evaluating it: exactly the keys descr, fortran_order and shape, each once, in any order,
// single or double quotes, optional trailing commas, any whitespace, and the 'L' suffix of
// Python 2 integers. Everything else is one lowp::Error naming the file and the rule.
// The header is capped at kMaxNpyHeaderBytes before it is read; the data must be exactly
// shape x itemsize bytes (shorter and longer are both errors), and that is checked against
// the file size before the tensor is allocated, so a small file cannot ask for a huge
// allocation.
//
// dtypes: '<f4' float32, '<f2' float16, '|i1' int8, '|u1' uint8, '<i4' int32, '<i8' int64
// (one-byte types in any byte-order spelling). Big-endian data and fortran_order True are
// refused with an explanation. Shape () is a scalar of one element.
//
// Writing produces what numpy.save produces for the same array, byte for byte (version 1.0,
// or 2.0 if the header exceeds 65535 bytes; 64-byte aligned data), through
// write_file_atomically. Tensors of dtypes numpy has no equivalent for (bfloat16, float8,
// int4) are refused rather than written under a misleading descr.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace lowp {

inline constexpr std::size_t kMaxNpyHeaderBytes = std::size_t{1} << 20;

// Reads a .npy file. Errors name the path.
Tensor read_npy(const std::filesystem::path& path);

// Parses .npy bytes held in memory; `name_for_errors` stands for the file in messages.
Tensor parse_npy(std::span<const std::byte> bytes, std::string_view name_for_errors);

// The header of a .npy file, checked like read_npy checks it (the data must be exactly
// the size the shape implies), without reading the data.
struct NpyHeader {
  DType dtype;
  Shape shape;
  std::size_t data_offset = 0;
};
NpyHeader read_npy_header(const std::filesystem::path& path);
// Rows [first, first + count) along axis 0 of a .npy file whose header is `header`: for
// streaming a large file a batch at a time (calibration sets). Errors name the path.
Tensor read_npy_rows(const std::filesystem::path& path, const NpyHeader& header, std::size_t first, std::size_t count);

// Writes `tensor` to `path` atomically (temporary file, fsync, rename).
void write_npy(const std::filesystem::path& path, const Tensor& tensor);

// The bytes write_npy would write.
std::vector<std::byte> serialize_npy(const Tensor& tensor);

}  // namespace lowp
