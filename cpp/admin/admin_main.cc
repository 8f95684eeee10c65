// mqadmin: RocketMQ-style administration commands for a CometMQ cluster.

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cpp/admin/runner.h"
#include "cpp/common/lock_checking.h"

int main(int argc, char** argv) {
  cometmq::ConfigureLockOrderChecking();
  std::vector<std::string> args(argv + 1, argv + argc);
  const char* env = std::getenv("NAMESRV_ADDR");
  const int code = cometmq::admin::RunAdmin(args, env == nullptr ? "" : env,
                                            std::cout, std::cerr);
  std::cout.flush();
  return code;
}
