// kernels/activation.cc: names of the epilogue activations (kernels/activation.h).
#include "kernels/activation.h"

namespace lowp {

const char* activation_name(Activation act) {
  switch (act) {
    case Activation::none:
      return "none";
    case Activation::relu:
      return "relu";
    case Activation::clamp:
      return "clamp";
    case Activation::gelu:
      return "gelu";
    case Activation::silu:
      return "silu";
  }
  return "?";
}

}  // namespace lowp
