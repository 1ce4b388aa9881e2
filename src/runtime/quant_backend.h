// runtime/quant_backend.h: the runtime's side of quant/model_runner.h: graphs run by
// Sessions, constants folded by the runtime's evaluator.
#pragma once

#include "quant/model_runner.h"
#include "runtime/session.h"

namespace lowp::runtime {

quant::ModelBackend quant_backend(SessionOptions options);

}  // namespace lowp::runtime
