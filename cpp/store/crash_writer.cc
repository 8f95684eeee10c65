// Child process of crash_test: appends to a SYNC_FLUSH store from several
// threads and prints `ACK <queue> <queue_offset> <seq>` for every append the
// store acknowledged, until it is killed. Usage: crash_writer STORE_DIR
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cpp/store/message_store.h"
#include "cpp/store/store_test_util.h"

namespace cometmq::store {
namespace {

constexpr int kThreads = 4;

int Run(const std::string& dir) {
  StoreConfig config = SmallStoreConfig(dir);
  config.flushDiskType = "SYNC_FLUSH";
  config.mappedFileSizeCommitLog = 256 * 1024;
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
      for (int64_t seq = 0;; ++seq) {
        std::string body = absl::StrCat("q", t, "-seq", seq, "-");
        body.resize(64 + static_cast<size_t>(seq % 700), 'x');
        PutResult r = (*store)->PutSync({MakeMessage("Crash", t, body)});
        if (!r.ok()) {
          std::fprintf(stderr, "put failed: %s\n", r.error.c_str());
          continue;
        }
        absl::MutexLock lock(&out_mu);
        std::printf("ACK %d %lld %lld\n", t,
                    static_cast<long long>(r.queue_offset),
                    static_cast<long long>(seq));
        std::fflush(stdout);
      }
    });
  }
  for (auto& th : threads) th.join();
  return 0;
}

}  // namespace
}  // namespace cometmq::store

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: crash_writer STORE_DIR\n");
    return 2;
  }
  return cometmq::store::Run(argv[1]);
}
