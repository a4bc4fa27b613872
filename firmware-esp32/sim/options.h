// Command line of robohead-fw-sim (see `robohead-fw-sim --help` and INTERFACES.md).
#ifndef ROBOHEAD_SIM_OPTIONS_H
#define ROBOHEAD_SIM_OPTIONS_H

#include <cstdint>
#include <optional>
#include <string>

namespace rhsim {

struct SimOptions {
  bool pty = false;    // serve on a new pseudo-terminal, print "PTY <path>" on stdout
  bool stdio = false;  // serve on stdin/stdout instead
  std::optional<unsigned> channels;
  std::optional<uint32_t> rate_hz;
  std::optional<unsigned> samples_per_frame;
  uint64_t seed = 1234;
  std::string emg_csv;
  std::string script;
  std::string pwm_log;
  std::optional<uint32_t> timeout_ms;
  std::optional<uint32_t> schema_hash;
  uint32_t baud = 0;        // 0: from params; the link's byte rate is limited to baud/10
  double duration_s = 0.0;  // 0: run until SIGINT/SIGTERM
  bool help = false;
};

// Parses argv; returns false with a message naming the option on error.
bool parse_options(int argc, const char* const* argv, SimOptions* out, std::string* error);

const char* usage();

}  // namespace rhsim

#endif  // ROBOHEAD_SIM_OPTIONS_H
