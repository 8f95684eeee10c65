#ifndef COMETMQ_STORE_PREFAULTER_H_
#define COMETMQ_STORE_PREFAULTER_H_

#include <cstdint>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cpp/store/mapped_file_queue.h"

namespace cometmq::store {

// Keeps the pages just past the commit log's end resident and mapped, on
// its own thread ("store-prefault"), so an append copies into memory that
// is already there instead of faulting in (and zeroing) a fresh page every
// 4 KiB on the thread that answers the producer. Every `interval` it looks
// at the log's end; once that is within half a window of what is ready, it
// prefaults the next `window` bytes of the last segment. It only changes
// which pages are resident, never the file's bytes, so it needs no lock with
// the writer and adds nothing to the append path. A kernel without
// MADV_POPULATE_WRITE (before 5.14) turns it off, with one log line. For a
// log written through its mapping (ASYNC_FLUSH); a log written with pwrite
// gains nothing from mapped pages.
class Prefaulter {
 public:
  Prefaulter(MappedFileQueue* log, int64_t window, absl::Duration interval);
  ~Prefaulter();

  void Start();
  void Stop();

  // Waits until the pages up to `offset` are ready (it never prefaults past
  // the end of the last segment), or `timeout` passes; true if they are.
  bool AwaitReady(int64_t offset, absl::Duration timeout);

 private:
  void Run();
  // Prefaults from the log's end up to a window past it; false to stop.
  bool PrefaultAhead();

  MappedFileQueue* const log_;
  const int64_t window_;
  const absl::Duration interval_;
  std::thread thread_;

  absl::Mutex mu_;
  int64_t ready_ ABSL_GUARDED_BY(mu_) = 0;  // prefaulted up to here
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace cometmq::store

#endif  // COMETMQ_STORE_PREFAULTER_H_
