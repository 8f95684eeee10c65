#ifndef COMETMQ_COMMON_THREAD_COUNT_H_
#define COMETMQ_COMMON_THREAD_COUNT_H_

#include <filesystem>

namespace cometmq {

// Threads of this process right now (Linux: /proc/self/task), for tests
// that check an object leaves no thread of its own running.
inline int ThreadCount() {
  int n = 0;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/self/task")) {
    (void)task;
    ++n;
  }
  return n;
}

}  // namespace cometmq

#endif  // COMETMQ_COMMON_THREAD_COUNT_H_
