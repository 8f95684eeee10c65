// Kills a SYNC_FLUSH writer process with SIGKILL at random moments, reopens
// its store each time and checks that every append the writer saw
// acknowledged is there, intact, at its queue offset, and that no partial
// record is ever served.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "cpp/store/message_store.h"
#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::store {
namespace {

constexpr int kRounds = 20;

std::string WriterPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/",
                      workspace ? workspace : "cometmq",
                      "/cpp/store/crash_writer");
}

struct Ack {
  int queue;
  int64_t queue_offset;
  int64_t seq;
};

// Runs the writer until it has acknowledged `kill_after` appends, kills it
// with SIGKILL and returns every acknowledgement it printed.
std::vector<Ack> RunAndKill(const std::string& dir, int kill_after,
                            const std::vector<std::string>& extra_args) {
  int out[2];
  EXPECT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    std::string path = WriterPath();
    std::vector<char*> argv = {path.data(), const_cast<char*>(dir.c_str())};
    for (const std::string& a : extra_args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  FILE* in = ::fdopen(out[0], "r");
  std::vector<Ack> acks;
  char line[256];
  bool killed = false;
  while (std::fgets(line, sizeof(line), in) != nullptr) {
    Ack a;
    long long offset, seq;
    if (std::sscanf(line, "ACK %d %lld %lld", &a.queue, &offset, &seq) == 3 &&
        line[std::strlen(line) - 1] == '\n') {
      a.queue_offset = offset;
      a.seq = seq;
      acks.push_back(a);
    }
    if (!killed && static_cast<int>(acks.size()) >= kill_after) {
      ::kill(pid, SIGKILL);
      killed = true;  // keep reading what it printed before it died
    }
  }
  std::fclose(in);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status)) << "writer exited on its own: " << status;
  return acks;
}

// The body crash_writer sends as `seq` of `queue`.
std::string ExpectedBody(int queue, int64_t seq, int64_t max_body) {
  std::string body = absl::StrCat("q", queue, "-seq", seq, "-");
  size_t size = 64 + static_cast<size_t>(seq % 700);
  if (max_body > 0 && seq % 5 == 0) {
    size = static_cast<size_t>(max_body - seq % 3);
  }
  body.resize(size, 'x');
  return body;
}

// Kills the writer kRounds times; after each kill, reopens the store and
// checks every acknowledged message.
void KillAndCheck(const std::string& dir, const std::string& flush_type,
                  int64_t segment_size, int64_t max_body) {
  std::vector<std::string> extra_args;
  if (max_body > 0) {
    extra_args = {flush_type, std::to_string(segment_size),
                  std::to_string(max_body)};
  }
  std::mt19937 rng(12345);
  // What each queue offset must hold, over all rounds: acknowledged appends.
  std::map<std::pair<int, int64_t>, std::string> acknowledged;
  int64_t total_acks = 0;
  for (int round = 0; round < kRounds; ++round) {
    int kill_after = 1 + static_cast<int>(rng() % 1000);
    std::vector<Ack> acks = RunAndKill(dir, kill_after, extra_args);
    ASSERT_GE(static_cast<int>(acks.size()), kill_after) << "round " << round;
    total_acks += static_cast<int64_t>(acks.size());

    StoreConfig config = SmallStoreConfig(dir);
    config.flushDiskType = flush_type;
    config.mappedFileSizeCommitLog = segment_size;
    if (max_body > 0) config.maxMessageSize = static_cast<int32_t>(max_body);
    auto store = *MessageStore::Open(config);
    ASSERT_TRUE(store->recovered_from_crash());
    store->WaitDispatched();
    // Offsets are only reused for appends that were never acknowledged, so
    // this round's acks replace nothing acknowledged before.
    for (const Ack& a : acks) {
      auto key = std::make_pair(a.queue, a.queue_offset);
      ASSERT_FALSE(acknowledged.contains(key))
          << "offset acknowledged twice: queue " << a.queue << " offset "
          << a.queue_offset;
      acknowledged[key] = ExpectedBody(a.queue, a.seq, max_body);
    }
    const absl::flat_hash_set<int64_t> any;
    for (const auto& [key, body] : acknowledged) {
      GetResult r = store->Get("Crash", key.first, key.second, 1, 1 << 20, any);
      ASSERT_EQ(r.status, GetStatus::kFound)
          << "lost acknowledged append: queue " << key.first << " offset "
          << key.second << " round " << round;
      RecordView v;
      ASSERT_EQ(DecodeRecord(r.messages[0].data, r.messages[0].size, true, &v),
                DecodeResult::kRecord);
      ASSERT_EQ(v.body, body);
    }
    // Everything the store serves decodes with a valid CRC, acked or not.
    for (int q = 0; q < 4; ++q) {
      int64_t offset = 0;
      while (true) {
        GetResult r = store->Get("Crash", q, offset, 64, 1 << 20, any);
        if (r.status != GetStatus::kFound) break;
        for (const RecordSlice& s : r.messages) {
          RecordView v;
          ASSERT_EQ(DecodeRecord(s.data, s.size, true, &v),
                    DecodeResult::kRecord);
        }
        offset = r.next_begin_offset;
      }
    }
    // Unacknowledged records that survived keep their offsets; record them
    // so a later round cannot silently reuse them either.
    for (int q = 0; q < 4; ++q) {
      int64_t max = store->MaxOffsetInQueue("Crash", q);
      for (int64_t o = 0; o < max; ++o) {
        auto key = std::make_pair(q, o);
        if (acknowledged.contains(key)) continue;
        GetResult r = store->Get("Crash", q, o, 1, 1 << 20, any);
        ASSERT_EQ(r.status, GetStatus::kFound);
        RecordView v;
        ASSERT_EQ(
            DecodeRecord(r.messages[0].data, r.messages[0].size, true, &v),
            DecodeResult::kRecord);
        acknowledged[key] = std::string(v.body);
      }
    }
    store->Shutdown();
    // The writer reopens after a crash each round, so leave the marker.
    std::FILE* abort_marker = std::fopen(config.AbortPath().c_str(), "w");
    if (abort_marker != nullptr) std::fclose(abort_marker);
  }
  std::printf(
      "crash test (%s): %d SIGKILLs, %lld acknowledged appends "
      "checked\n",
      flush_type.c_str(), kRounds, static_cast<long long>(total_acks));
}

TEST(CrashTest, AcknowledgedAppendsSurviveSigkill) {
  KillAndCheck(MakeTempDir("crash"), "SYNC_FLUSH", 256 * 1024, 0);
}

// ASYNC_FLUSH acknowledges once the bytes are in the page cache, which a
// killed process leaves behind: those appends must survive too. Tiny
// segments and bodies close to maxMessageSize make batches roll segments
// often, and close them with blanks of every size.
TEST(CrashTest, AsyncFlushAppendsSurviveSigkillAcrossTinySegments) {
  KillAndCheck(MakeTempDir("crash-async"), "ASYNC_FLUSH", 16 * 1024, 5 * 1024);
}

}  // namespace
}  // namespace cometmq::store
