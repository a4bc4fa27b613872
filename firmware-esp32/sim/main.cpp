// robohead-fw-sim: the firmware core's own loop (rhcore::Device) on a POSIX platform.
//
// It serves the robohead serial protocol on a pseudo-terminal (--pty; the path is printed as
// "PTY /dev/pts/N" on stdout) or on stdin/stdout (--stdio), feeds the core seeded synthetic
// sEMG (or replays a session's emg.csv), and writes every servo tick to a CSV. Everything
// between the platform calls is the code that runs on the ESP32.
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "emg_source.h"
#include "options.h"
#include "posix_hal.h"
#include "rhcore/config.h"
#include "rhcore/device.h"
#include "rhcore/params_gen.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int fail(const std::string& message) {
  std::fprintf(stderr, "robohead-fw-sim: %s\n", message.c_str());
  return 2;
}

bool set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  rhsim::SimOptions opt;
  std::string error;
  if (!rhsim::parse_options(argc, argv, &opt, &error)) {
    std::fprintf(stderr, "robohead-fw-sim: %s\n%s", error.c_str(), rhsim::usage());
    return 2;
  }
  if (opt.help) {
    std::fputs(rhsim::usage(), stdout);
    return 0;
  }

  // The sEMG source decides the channel count when it is a recording.
  unsigned channels = opt.channels.value_or(RH_PARAM_CHANNELS);
  uint32_t rate = opt.rate_hz.value_or(RH_PARAM_SAMPLING_RATE_HZ);
  std::unique_ptr<rhsim::EmgSource> source;
  if (!opt.emg_csv.empty()) {
    rhsim::CsvRecording rec;
    if (!rhsim::read_emg_csv(opt.emg_csv, &rec, &error)) return fail(error);
    const unsigned csv_channels = static_cast<unsigned>(rec.channel_names.size());
    if (opt.channels && *opt.channels != csv_channels) {
      return fail("--channels " + std::to_string(*opt.channels) + " but " + opt.emg_csv +
                  " has " + std::to_string(csv_channels) + " channel columns");
    }
    if (csv_channels > rhcore::kMaxChannels) return fail(opt.emg_csv + ": more than 8 channels");
    channels = csv_channels;
    if (!opt.rate_hz && rec.rate_hz > 0) rate = static_cast<uint32_t>(std::lround(rec.rate_hz));
    if (rec.rate_hz > 0 && std::fabs(rec.rate_hz - rate) > 0.01 * rate) {
      std::fprintf(stderr, "robohead-fw-sim: warning: %s was recorded at %.1f Hz, replayed at %u Hz\n",
                   opt.emg_csv.c_str(), rec.rate_hz, rate);
    }
    source = rhsim::make_replay_source(std::move(rec));
  } else {
    rhsim::ActivationScript script = rhsim::default_activation_script(channels);
    if (!opt.script.empty()) {
      std::ifstream f(opt.script);
      if (!f) return fail(opt.script + ": cannot open");
      std::stringstream text;
      text << f.rdbuf();
      if (!rhsim::parse_activation_script(text.str(), opt.script, channels, &script, &error))
        return fail(error);
    }
    source = rhsim::make_synthetic_source(std::move(script), channels, rate, RH_PARAM_ADC_BITS,
                                          opt.seed);
  }

  rhcore::DeviceConfig cfg = rhcore::default_config();
  cfg.sampling_rate_hz = rate;
  if (opt.samples_per_frame) cfg.samples_per_frame = static_cast<uint16_t>(*opt.samples_per_frame);
  if (opt.timeout_ms) cfg.command_timeout_ms = *opt.timeout_ms;
  if (opt.schema_hash) cfg.schema_hash = *opt.schema_hash;

  // The link.
  int fd_in = STDIN_FILENO, fd_out = STDOUT_FILENO, slave = -1;
  char pty_name[256] = {0};
  if (opt.pty) {
    int master = -1;
    if (openpty(&master, &slave, pty_name, nullptr, nullptr) != 0)
      return fail(std::string("openpty failed: ") + std::strerror(errno));
    // Raw from the start: no echo of our own frames, no line editing, no CR/LF mapping; the
    // settings stay with the pty when we close our slave fd. Without it open here, the master
    // sees POLLHUP whenever no client has the port open, which is how the platform knows that
    // nobody listens (reads then fail with EIO and count as no data).
    termios tio;
    tcgetattr(slave, &tio);
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    close(slave);
    slave = -1;
    fd_in = fd_out = master;
  }
  if (!set_nonblocking(fd_in) || !set_nonblocking(fd_out))
    return fail(std::string("cannot make the link non-blocking: ") + std::strerror(errno));

  FILE* pwm_log = nullptr;
  if (!opt.pwm_log.empty()) {
    pwm_log = std::fopen(opt.pwm_log.c_str(), "w");
    if (!pwm_log) return fail(opt.pwm_log + ": " + std::strerror(errno));
  }

  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  rhsim::PosixHal::Params hp;
  hp.fd_in = fd_in;
  hp.fd_out = fd_out;
  hp.channels = channels;
  hp.adc_bits = RH_PARAM_ADC_BITS;
  hp.source_rate_hz = rate;
  hp.baud = opt.baud ? opt.baud : RH_PARAM_BAUD;
  char id[24];
  std::snprintf(id, sizeof(id), "sim-%08llx", static_cast<unsigned long long>(opt.seed & 0xFFFFFFFFull));
  hp.device_id = id;
  hp.pwm_log = pwm_log;
  hp.pty_master = opt.pty;
  rhsim::PosixHal hal(hp, *source, opt.seed);

  static rhcore::Device device(hal, cfg);  // static: ~13 KiB, like the firmware's .bss
  if (!device.begin()) std::fprintf(stderr, "robohead-fw-sim: configuration fixed up (see Error)\n");
  if (opt.pty) {
    std::fprintf(stdout, "PTY %s\n", pty_name);
    std::fflush(stdout);
  }
  std::fprintf(stderr,
               "robohead-fw-sim: %u channels at %u Hz (x%u oversampling), %u samples/frame, "
               "timeout %u ms, schema 0x%08x\n",
               channels, device.sampler().rate_hz(), device.sampler().oversample(),
               device.framer().samples_per_frame(), cfg.command_timeout_ms, cfg.schema_hash);

  const uint64_t stop_at = opt.duration_s > 0 ? static_cast<uint64_t>(opt.duration_s * 1e6) : 0;
  while (!g_stop) {
    device.poll();
    if (stop_at && hal.now_us() >= stop_at) break;
    if (opt.stdio && hal.link_closed()) break;
    hal.wait(1000);
  }

  const robohead_v1_DeviceCounters c = device.counters();
  std::fprintf(stderr,
               "robohead-fw-sim: stopped after %.1f s: %llu bytes sent, %u frames received, "
               "%u dropped samples, %u ADC overflows, %u fail-safe trips, max loop gap %llu us\n",
               hal.now_us() / 1e6, static_cast<unsigned long long>(hal.bytes_sent()), c.rx_frames,
               c.dropped_samples, c.adc_overflows, c.failsafe_trips,
               static_cast<unsigned long long>(hal.max_poll_gap_us()));
  if (pwm_log) std::fclose(pwm_log);
  if (slave >= 0) close(slave);
  if (opt.pty) close(fd_in);
  return 0;
}
