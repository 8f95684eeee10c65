#include "cpp/broker/ha/ha_slave.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cpp/common/crc32.h"
#include "cpp/common/message_record.h"
#include "spdlog/spdlog.h"

namespace cometmq::broker {
namespace {

// Bytes before the slave's end whose CRC the master compares with its own.
constexpr int64_t kTailCheckBytes = 4096;

}  // namespace

HaSlave::HaSlave(HaSlaveOptions options, store::MessageStore* store)
    : options_(std::move(options)), store_(store) {}

HaSlave::~HaSlave() { Stop(); }

void HaSlave::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void HaSlave::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  client_.Shutdown();  // ends the request in flight
  if (thread_.joinable()) thread_.join();
}

ReplicationStatus HaSlave::Status() const {
  absl::MutexLock lock(&mu_);
  ReplicationStatus out = status_;
  out.offset = store_->MaxPhysicalOffset();
  return out;
}

bool HaSlave::Pause(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  return !stopping_;
}

void HaSlave::SetError(std::string error) {
  absl::MutexLock lock(&mu_);
  if (error != status_.last_error) {
    spdlog::warn("replication from master {}: {}", status_.master_ha_addr,
                 error);
  }
  status_.connected = false;
  status_.last_error = std::move(error);
}

void HaSlave::Loop() {
  pthread_setname_np(pthread_self(), "ha-slave");
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    std::string master = options_.master_ha_addr();
    if (master.empty()) {
      if (options_.on_no_master) options_.on_no_master();
      SetError("the master's HA address is not known yet");
      if (!Pause(options_.retry_interval)) return;
      continue;
    }
    {
      absl::MutexLock lock(&mu_);
      status_.master_ha_addr = master;
    }
    if (!TransferOnce(master) && !Pause(options_.retry_interval)) return;
  }
}

proto::HaTransferRequest HaSlave::MakeRequest() const {
  proto::HaTransferRequest req;
  const int64_t offset = store_->MaxPhysicalOffset();
  const int64_t segment = store_->config().mappedFileSizeCommitLog;
  req.set_offset(offset);
  req.set_max_bytes(options_.batch_bytes);
  req.set_segment_size(segment);
  req.set_broker_name(options_.broker_name);
  req.set_broker_id(options_.broker_id);
  req.set_slave_addr(options_.slave_addr);
  req.set_wait_millis(absl::ToInt64Milliseconds(options_.idle_wait));
  // The last written bytes: before the end, or at a segment boundary before
  // the previous segment's closing blank (its padding is never written, so
  // comparing it would prove nothing).
  const int64_t tail_end = store_->commit_log().WrittenEndBefore(offset);
  if (tail_end > 0) {
    const int64_t in_segment = tail_end - (tail_end - 1) / segment * segment;
    const int64_t tail = std::min(kTailCheckBytes, in_segment);
    store::RecordSlice slice;
    if (store_->commit_log().Read(tail_end - tail, static_cast<int32_t>(tail),
                                  &slice)) {
      req.set_tail_length(static_cast<int32_t>(tail));
      req.set_tail_crc(Crc32(slice.bytes()));
      if (tail_end != offset) req.set_tail_end(tail_end);
    }
  }
  return req;
}

bool HaSlave::TransferOnce(const std::string& master) {
  remoting::Command request = remoting::MakeRequest(proto::HA_TRANSFER);
  *request.header.mutable_ha_transfer() = MakeRequest();
  absl::StatusOr<remoting::Command> response = client_.InvokeSync(
      master, std::move(request), options_.idle_wait + absl::Seconds(5));
  if (!response.ok()) {
    SetError(
        absl::StrCat("cannot reach the master: ", response.status().message()));
    return false;
  }
  if (response->header.status() != proto::SUCCESS) {
    SetError(absl::StrCat("the master refused replication: ",
                          response->header.remark()));
    return false;
  }
  const proto::HaTransferResponse& out =
      response->header.ha_transfer_response();
  {
    absl::MutexLock lock(&mu_);
    if (!status_.connected) {
      spdlog::info("replicating from master {} at offset {}", master,
                   out.offset());
    }
    status_.connected = true;
    status_.last_error.clear();
    status_.master_max_offset = out.master_max_offset();
  }
  if (response->body.empty()) return true;
  absl::StatusOr<int64_t> end =
      store_->AppendReplica(out.offset(), response->body);
  if (!end.ok()) {
    SetError(absl::StrCat("cannot append the master's bytes at ", out.offset(),
                          ": ", end.status().message()));
    return false;
  }
  return true;
}

}  // namespace cometmq::broker
