#ifndef COMETMQ_TOOLS_BENCH_LATENCY_RECORDER_H_
#define COMETMQ_TOOLS_BENCH_LATENCY_RECORDER_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"

namespace cometmq::bench {

// Collects latency samples in nanoseconds and reports percentiles. Not
// thread-safe: keep one per thread and Merge() them at the end.
class LatencyRecorder {
 public:
  void Add(int64_t nanos) {
    samples_.push_back(nanos);
    sorted_ = false;
  }
  void Merge(const LatencyRecorder& other) {
    samples_.insert(samples_.end(), other.samples_.begin(),
                    other.samples_.end());
    sorted_ = false;
  }
  size_t count() const { return samples_.size(); }

  // Value at quantile q in [0, 1]; sorts in place, once per new samples.
  int64_t Percentile(double q) {
    if (samples_.empty()) return 0;
    if (!sorted_) {
      std::sort(samples_.begin(), samples_.end());
      sorted_ = true;
    }
    size_t index =
        static_cast<size_t>(q * static_cast<double>(samples_.size() - 1));
    return samples_[index];
  }

  std::string Summary() {
    return absl::StrFormat(
        "p50 %.1f us, p99 %.1f us, p999 %.1f us, max %.1f us",
        Percentile(0.50) / 1e3, Percentile(0.99) / 1e3, Percentile(0.999) / 1e3,
        Percentile(1.0) / 1e3);
  }

 private:
  std::vector<int64_t> samples_;
  bool sorted_ = true;  // samples_ is in order
};

}  // namespace cometmq::bench

#endif  // COMETMQ_TOOLS_BENCH_LATENCY_RECORDER_H_
