#include "cpp/broker/broker_test_util.h"

#include "absl/strings/str_cat.h"
#include "cpp/store/store_test_util.h"
#include "gtest/gtest.h"

namespace cometmq::broker {

std::unique_ptr<namesrv::NameServer> StartLoopbackNameServer() {
  namesrv::NamesrvConfig config;
  config.bindAddress = "127.0.0.1";
  config.listenPort = 0;
  auto server = std::make_unique<namesrv::NameServer>(config);
  if (!server->Start().ok()) return nullptr;
  return server;
}

BrokerConfig LoopbackBrokerConfig(const namesrv::NameServer& namesrv,
                                  const std::string& tag) {
  BrokerConfig config;
  config.brokerIP1 = "127.0.0.1";
  config.bindAddress = "127.0.0.1";
  config.listenPort = 0;
  config.namesrvAddr = absl::StrCat("127.0.0.1:", namesrv.port());
  config.store = store::SmallStoreConfig(store::MakeTempDir(tag));
  config.logDir = config.store.storePathRootDir + "/logs";
  return config;
}

std::vector<RecordView> DecodeRecords(absl::string_view body) {
  std::vector<RecordView> out;
  size_t pos = 0;
  while (pos < body.size()) {
    RecordView view;
    if (DecodeRecord(body.data() + pos, static_cast<int64_t>(body.size() - pos),
                     /*check_crc=*/true, &view) != DecodeResult::kRecord) {
      ADD_FAILURE() << "bad record at byte " << pos << " of a pull answer";
      break;
    }
    out.push_back(view);
    pos += static_cast<size_t>(view.total_size);
  }
  return out;
}

}  // namespace cometmq::broker
