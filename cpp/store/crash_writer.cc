// Child process of crash_test: appends to a store from several threads and
// prints `ACK <queue> <queue_offset> <seq>` for every message the store
// acknowledged, until it is killed.
// Usage: crash_writer STORE_DIR [FLUSH_DISK_TYPE SEGMENT_SIZE MAX_BODY]
// With the optional arguments, appends are batches of one to three messages
// with bodies up to MAX_BODY bytes (each thread's sequence numbers stay
// consecutive).
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cpp/store/message_store.h"
#include "cpp/store/store_test_util.h"

namespace cometmq::store {
namespace {

constexpr int kThreads = 4;

int Run(const std::string& dir, const std::string& flush_type,
        int64_t segment_size, int64_t max_body) {
  StoreConfig config = SmallStoreConfig(dir);
  config.flushDiskType = flush_type;
  config.mappedFileSizeCommitLog = segment_size;
  const bool batches = max_body > 0;
  if (batches) config.maxMessageSize = static_cast<int32_t>(max_body);
  absl::StatusOr<std::unique_ptr<MessageStore>> store =
      MessageStore::Open(config);
  if (!store.ok()) {
    std::fprintf(stderr, "open failed: %s\n",
                 store.status().ToString().c_str());
    return 1;
  }
  absl::Mutex out_mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int64_t seq = 0;;) {
        const int count = batches ? 1 + static_cast<int>(seq % 3) : 1;
        std::vector<MessageToStore> messages;
        for (int i = 0; i < count; ++i) {
          std::string body = absl::StrCat("q", t, "-seq", seq + i, "-");
          size_t size = 64 + static_cast<size_t>((seq + i) % 700);
          if (batches && (seq + i) % 5 == 0) {
            size = static_cast<size_t>(max_body - (seq + i) % 3);
          }
          body.resize(size, 'x');
          messages.push_back(MakeMessage("Crash", t, body));
        }
        PutResult r = (*store)->PutSync(std::move(messages));
        if (!r.ok()) {
          std::fprintf(stderr, "put failed: %s\n", r.error.c_str());
          continue;
        }
        absl::MutexLock lock(&out_mu);
        for (int i = 0; i < count; ++i) {
          std::printf("ACK %d %lld %lld\n", t,
                      static_cast<long long>(r.queue_offset + i),
                      static_cast<long long>(seq + i));
        }
        std::fflush(stdout);
        seq += count;
      }
    });
  }
  for (auto& th : threads) th.join();
  return 0;
}

}  // namespace
}  // namespace cometmq::store

int main(int argc, char** argv) {
  if (argc != 2 && argc != 5) {
    std::fprintf(stderr,
                 "usage: crash_writer STORE_DIR [FLUSH_DISK_TYPE "
                 "SEGMENT_SIZE MAX_BODY]\n");
    return 2;
  }
  if (argc == 2) {
    return cometmq::store::Run(argv[1], "SYNC_FLUSH", 256 * 1024, 0);
  }
  return cometmq::store::Run(argv[1], argv[2], std::atoll(argv[3]),
                             std::atoll(argv[4]));
}
