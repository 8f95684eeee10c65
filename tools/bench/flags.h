#ifndef COMETMQ_TOOLS_BENCH_FLAGS_H_
#define COMETMQ_TOOLS_BENCH_FLAGS_H_

#include "cpp/common/config_binder.h"

namespace cometmq::bench {

// Applies `--name=value` arguments to `flags`. On a bad value or a stray
// argument prints the error and every flag with its default to stderr and
// returns false (the benchmark then exits 2).
bool ParseFlags(int argc, char** argv, const ConfigBinder& flags);

}  // namespace cometmq::bench

#endif  // COMETMQ_TOOLS_BENCH_FLAGS_H_
