#include "options.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace rhsim {

namespace {

bool parse_u64(const char* s, int base, uint64_t* v) {
  if (!s || !*s || *s == '-') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long x = std::strtoull(s, &end, base);
  if (errno || *end != '\0') return false;
  *v = x;
  return true;
}

}  // namespace

const char* usage() {
  return "usage: robohead-fw-sim (--pty | --stdio) [options]\n"
         "  The firmware core (firmware-esp32/lib) on a POSIX platform, in real time.\n"
         "  --pty                 open a pseudo-terminal; prints 'PTY /dev/pts/N' on stdout\n"
         "  --stdio               speak the protocol on stdin/stdout\n"
         "  --channels N          sEMG channels (default: params.yaml channels)\n"
         "  --rate HZ             samples per second per channel (default: params.yaml)\n"
         "  --samples-per-frame N samples per EmgFrame (default: params.yaml)\n"
         "  --seed S              seed of the synthetic sEMG (default 1234)\n"
         "  --emg-csv PATH        replay raw counts of a session emg.csv, looping\n"
         "  --script PATH         per-channel activation keyframes: 't_s a0 a1 ...' per line\n"
         "  --pwm-log PATH        CSV of every servo tick: device_time_us,servo0_us,servo1_us,\n"
         "                        servo2_us,latency_us (latency when a command carried\n"
         "                        window_end_device_time_us)\n"
         "  --timeout-ms MS       fail-safe command timeout (default: params.yaml)\n"
         "  --schema-hash HEX     pretend to have this schema hash (to test a mismatch)\n"
         "  --baud B              limit the link to B/10 bytes per second (default 921600)\n"
         "  --duration S          stop after S seconds (default: run until SIGINT/SIGTERM)\n";
}

bool parse_options(int argc, const char* const* argv, SimOptions* o, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char** v) {
      if (i + 1 >= argc) {
        *error = a + " needs a value";
        return false;
      }
      *v = argv[++i];
      return true;
    };
    auto number = [&](uint64_t lo, uint64_t hi, uint64_t* out, int base = 10) {
      const char* v = nullptr;
      if (!value(&v)) return false;
      if (!parse_u64(v, base, out) || *out < lo || *out > hi) {
        *error = a + ": '" + v + "' is not an integer in " + std::to_string(lo) + ".." +
                 std::to_string(hi);
        return false;
      }
      return true;
    };
    uint64_t n = 0;
    const char* v = nullptr;
    if (a == "--pty") {
      o->pty = true;
    } else if (a == "--stdio") {
      o->stdio = true;
    } else if (a == "--help" || a == "-h") {
      o->help = true;
    } else if (a == "--channels") {
      if (!number(1, 8, &n)) return false;
      o->channels = static_cast<unsigned>(n);
    } else if (a == "--rate") {
      if (!number(1, 100000, &n)) return false;
      o->rate_hz = static_cast<uint32_t>(n);
    } else if (a == "--samples-per-frame") {
      if (!number(1, 32, &n)) return false;
      o->samples_per_frame = static_cast<unsigned>(n);
    } else if (a == "--seed") {
      if (!number(0, UINT64_MAX, &n)) return false;
      o->seed = n;
    } else if (a == "--timeout-ms") {
      if (!number(1, 3600000, &n)) return false;
      o->timeout_ms = static_cast<uint32_t>(n);
    } else if (a == "--schema-hash") {
      if (!value(&v)) return false;
      const char* hex = (std::strncmp(v, "0x", 2) == 0 || std::strncmp(v, "0X", 2) == 0) ? v + 2 : v;
      if (!parse_u64(hex, 16, &n) || n > 0xFFFFFFFFull) {
        *error = a + ": '" + v + "' is not a 32-bit hex number";
        return false;
      }
      o->schema_hash = static_cast<uint32_t>(n);
    } else if (a == "--baud") {
      if (!number(0, 100000000, &n)) return false;
      o->baud = static_cast<uint32_t>(n);
    } else if (a == "--duration") {
      if (!value(&v)) return false;
      char* end = nullptr;
      o->duration_s = std::strtod(v, &end);
      if (end == v || *end != '\0' || o->duration_s < 0) {
        *error = a + ": '" + v + "' is not a non-negative number of seconds";
        return false;
      }
    } else if (a == "--emg-csv") {
      if (!value(&v)) return false;
      o->emg_csv = v;
    } else if (a == "--script") {
      if (!value(&v)) return false;
      o->script = v;
    } else if (a == "--pwm-log") {
      if (!value(&v)) return false;
      o->pwm_log = v;
    } else {
      *error = "unknown option '" + a + "'";
      return false;
    }
  }
  if (o->help) return true;
  if (o->pty == o->stdio) {
    *error = "choose exactly one of --pty and --stdio";
    return false;
  }
  if (!o->emg_csv.empty() && !o->script.empty()) {
    *error = "--emg-csv and --script exclude each other";
    return false;
  }
  return true;
}

}  // namespace rhsim
