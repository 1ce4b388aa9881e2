// io/idx.h: IDX files (the MNIST container) and the Fashion-MNIST data set built on them.
//
// Fashion-MNIST is the real labelled data of the seed workflow (`lowp demo`, `lowp train
// --dataset fashion-mnist`) and of the accuracy tests. It ships as four gzip-compressed IDX
// files: a big-endian magic 0x000008NN (0x08 = unsigned bytes, NN = rank), NN big-endian
// uint32 dimensions, then the bytes in row-major order.
//
// read_idx accepts the two kinds the data set uses, uint8 images (0x00000803, rank 3) and
// uint8 labels (0x00000801, rank 1), gzip-compressed or not. It is a loader of untrusted
// input (BAD_INPUTS.md 1, 8-10, 37): every dimension must be > 0, the element count is
// checked math and capped at kMaxIdxBytes before anything is allocated, and the
// decompressed data must be exactly as long as the dimensions say. A truncated or
// corrupted .gz (a short stream, a bad CRC or length in the gzip trailer) is an error, never
// a silently short tensor: the reader asks for one byte past the data, which makes zlib
// read and verify the trailer. Bytes after the end of the gzip stream itself are ignored,
// as gzip(1) ignores them.
//
// The data set's directory is /usr/share/datasets/fashion-mnist (Debian package
// dataset-fashion-mnist). The environment variable LOWP_FASHION_MNIST_DIR, when set and
// not empty, replaces that default: load_fashion_mnist() with no argument reads from it.
#pragma once

#include <cstddef>
#include <filesystem>

#include "core/tensor.h"

namespace lowp {

inline constexpr std::size_t kMaxIdxBytes = std::size_t{1} << 30;
inline constexpr char kDefaultFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

// A uint8 tensor of the file's IDX shape. Errors name the path.
Tensor read_idx(const std::filesystem::path& path);

struct Dataset {
  Tensor images;  // uint8 [n, 28, 28]
  Tensor labels;  // uint8 [n], each < 10
};

struct FashionMnist {
  Dataset train;  // 60000 examples in the real data set
  Dataset test;   // 10000
};

// $LOWP_FASHION_MNIST_DIR if set and not empty, else kDefaultFashionMnistDir.
std::filesystem::path fashion_mnist_dir();

// Reads train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz
// and t10k-labels-idx1-ubyte.gz from `dir`, and checks that images are n x 28 x 28, that
// each split has as many labels as images, and that every label is below 10. A missing
// directory or file is one error that names it and the Debian package to install.
FashionMnist load_fashion_mnist(const std::filesystem::path& dir = fashion_mnist_dir());

}  // namespace lowp
