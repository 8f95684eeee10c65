// Benchmark of the message store's append path. For 128 B and 1 KiB bodies,
// 1 and 16 writer threads, ASYNC_FLUSH and SYNC_FLUSH, prints appends/s, MB/s
// and append latency percentiles, and first the disk's own sequential write
// and fdatasync rates, so the figures read as a fraction of the disk.
//
//   bazel run -c opt //tools/bench:store -- --seconds=5 --dir=/var/tmp/bench
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cpp/common/config_binder.h"
#include "cpp/common/lock_checking.h"
#include "cpp/store/message_store.h"
#include "spdlog/spdlog.h"
#include "tools/bench/flags.h"
#include "tools/bench/latency_recorder.h"

namespace cometmq::bench {
namespace {

struct Options {
  int32_t seconds = 5;
  std::string dir = "/var/tmp/cometmq-store-bench";
  int64_t segment_size = 1024LL * 1024 * 1024;
};

// Sequential write bandwidth (1 MiB writes, one fdatasync at the end) and
// the rate of 4 KiB write+fdatasync pairs, on the filesystem of `dir`.
void ProbeDisk(const std::string& dir) {
  std::string path = absl::StrCat(dir, "/disk-probe");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  std::string block(1 << 20, 'd');
  constexpr int kBlocks = 512;
  absl::Time start = absl::Now();
  for (int i = 0; i < kBlocks; ++i) {
    if (::write(fd, block.data(), block.size()) < 0) break;
  }
  ::fdatasync(fd);
  double seq_s = absl::ToDoubleSeconds(absl::Now() - start);
  int syncs = 0;
  start = absl::Now();
  while (absl::Now() - start < absl::Seconds(2)) {
    if (::pwrite(fd, block.data(), 4096,
                 static_cast<off_t>(syncs % 256) * 4096) < 0)
      break;
    ::fdatasync(fd);
    ++syncs;
  }
  double sync_s = absl::ToDoubleSeconds(absl::Now() - start);
  ::close(fd);
  ::unlink(path.c_str());
  std::printf("disk: sequential write %.0f MB/s, fdatasync %.0f/s (4 KiB)\n",
              kBlocks / seq_s * 1.048576, syncs / sync_s);
}

void RunCase(const Options& options, bool sync_flush, size_t body_size,
             int threads) {
  std::string dir = absl::StrCat(options.dir, "/store");
  std::filesystem::remove_all(dir);
  store::StoreConfig config;
  config.storePathRootDir = dir;
  config.mappedFileSizeCommitLog = options.segment_size;
  config.flushDiskType = sync_flush ? "SYNC_FLUSH" : "ASYNC_FLUSH";
  config.messageIndexEnable = false;
  config.maxHashSlotNum = 1000;
  config.maxIndexNum = 4000;
  auto opened = store::MessageStore::Open(config);
  if (!opened.ok()) {
    std::printf("open failed: %s\n", opened.status().ToString().c_str());
    return;
  }
  store::MessageStore& store = **opened;
  std::atomic<bool> stop{false};
  std::vector<LatencyRecorder> latencies(static_cast<size_t>(threads));
  std::atomic<int64_t> failures{0};
  std::vector<std::thread> writers;
  absl::Time start = absl::Now();
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&, t] {
      MessageToStore m;
      m.topic = "BenchTopic";
      m.queue_id = t;
      m.body.assign(body_size, 'b');
      m.properties = EncodeProperties({{"TAGS", "TagA"}});
      while (!stop.load(std::memory_order_relaxed)) {
        absl::Time begin = absl::Now();
        absl::Notification done;
        bool ok = false;
        store.Put({m}, [&](store::PutResult r) {
          ok = r.ok();
          done.Notify();
        });
        done.WaitForNotification();
        if (!ok) failures.fetch_add(1);
        latencies[t].Add(absl::ToInt64Nanoseconds(absl::Now() - begin));
      }
    });
  }
  absl::SleepFor(absl::Seconds(options.seconds));
  stop.store(true);
  for (auto& w : writers) w.join();
  double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  LatencyRecorder all;
  for (auto& l : latencies) all.Merge(l);
  double rate = static_cast<double>(all.count()) / elapsed;
  double record = static_cast<double>(RecordSize(MessageToStore{
      "BenchTopic", 0, 0, 0, 0, 0, 0, 0, 0, std::string(body_size, 'b'),
      EncodeProperties({{"TAGS", "TagA"}})}));
  std::printf(
      "%-11s body %5zu B, %2d writers: %9.0f appends/s, %7.1f MB/s, latency "
      "%s, %lld failed\n",
      sync_flush ? "SYNC_FLUSH" : "ASYNC_FLUSH", body_size, threads, rate,
      rate * record / 1e6, all.Summary().c_str(),
      static_cast<long long>(failures.load()));
  std::fflush(stdout);
  store.Shutdown();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cometmq::bench

int main(int argc, char** argv) {
  cometmq::ConfigureLockOrderChecking();
  cometmq::bench::Options options;
  cometmq::ConfigBinder flags;
  flags.Bind("seconds", &options.seconds);
  flags.Bind("dir", &options.dir);
  flags.Bind("segmentSize", &options.segment_size);
  if (!cometmq::bench::ParseFlags(argc, argv, flags)) return 2;
  spdlog::set_level(spdlog::level::warn);
  std::filesystem::create_directories(options.dir);
  cometmq::bench::ProbeDisk(options.dir);
  for (bool sync : {false, true}) {
    for (size_t body : {size_t{128}, size_t{1024}}) {
      for (int threads : {1, 16}) {
        cometmq::bench::RunCase(options, sync, body, threads);
      }
    }
  }
  return 0;
}
