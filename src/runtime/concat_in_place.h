// runtime/concat_in_place.h: Concat without a copy, by having its inputs' producers write
// straight into its output.
//
// A Concat along the last axis of NHWC feature maps (SqueezeNet's fire modules, Inception
// blocks, DenseNet) interleaves its inputs pixel by pixel: copying them costs a read and a
// write of every element, 3% of SqueezeNet's time. When every input is read by the Concat
// alone and written by an op that can space its output rows (a convolution's GEMM writes
// with any row stride), each input becomes a view of its slice of the output: the
// producer writes its channels of every pixel in place, and the Concat does nothing. The
// values computed are the same; only where they land changes.
#pragma once

#include <cstddef>

#include "runtime/session.h"

namespace lowp::runtime {

// Makes each eligible Concat of `plan` (bound ops, slots assigned, arena not laid out yet)
// free: its inputs' slots become views of its output and its step a no-op. All or none of
// a Concat's inputs. Returns how many Concats it made free.
std::size_t place_concat_inputs(Plan& plan);

}  // namespace lowp::runtime
