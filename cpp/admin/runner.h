#ifndef COMETMQ_ADMIN_RUNNER_H_
#define COMETMQ_ADMIN_RUNNER_H_

#include <ostream>
#include <string>
#include <vector>

namespace cometmq::admin {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the request failed
inline constexpr int kExitUsage = 2;   // bad subcommand or option

// Runs `mqadmin ARGS...` (without the program name): usage and help, option
// parsing, the subcommand against the NameServers. Results go to `out`,
// errors and usage after a mistake to `err`. Returns the exit status.
int RunAdmin(const std::vector<std::string>& args,
             const std::string& env_namesrv, std::ostream& out,
             std::ostream& err);

}  // namespace cometmq::admin

#endif  // COMETMQ_ADMIN_RUNNER_H_
