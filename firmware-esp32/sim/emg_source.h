// Where robohead-fw-sim's ADC readings come from: a seeded synthetic sEMG generator driven by a
// per-channel activation script, or a replay of a session's emg.csv (raw counts, looping).
//
// A source produces one value per channel per OUTPUT sample (at the device's sampling rate);
// the POSIX platform turns it into `oversample` conversions with a little ADC noise (synthetic)
// or exact copies (replay, so the averaged samples equal the CSV's counts).
#ifndef ROBOHEAD_SIM_EMG_SOURCE_H
#define ROBOHEAD_SIM_EMG_SOURCE_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rhsim {

// xorshift64* with a Box-Muller normal: small, seeded, the same on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();  // (0, 1)
  double normal();

 private:
  uint64_t s_;
  bool have_spare_ = false;
  double spare_ = 0.0;
};

// Piecewise-linear activation keyframes, looping with the period of the last keyframe.
//
// Script format: one keyframe per line, `t_seconds a0 a1 ... a(N-1)` with activations in
// [0, 1] (missing channels are 0); blank lines and text after '#' are ignored; times strictly
// increase; the script repeats after its last time (a single keyframe holds forever).
struct ActivationScript {
  std::vector<double> times;
  std::vector<std::vector<double>> values;  // [keyframe][channel]
  double activation(double t_s, size_t channel) const;
};

// Parses a script; on error returns false and names the file and line in *error.
bool parse_activation_script(const std::string& text, const std::string& name, size_t channels,
                             ActivationScript* out, std::string* error);

// Built-in default: each channel in turn contracts for 0.6 s, 1 s apart.
ActivationScript default_activation_script(size_t channels);

struct CsvRecording {
  std::vector<std::string> channel_names;
  std::vector<uint16_t> counts;  // sample-major, channels interleaved
  size_t rows = 0;
  double rate_hz = 0.0;          // from the median device_time_us step (0 if < 2 rows)
};

// Reads a session emg.csv (header `device_time_us,sequence,<channel>...`, integer rows; a last
// line without newline is ignored as a recording cut short). Returns false with a message naming
// the file, line and column on any malformed value.
bool read_emg_csv(const std::string& path, CsvRecording* out, std::string* error);

class EmgSource {
 public:
  virtual ~EmgSource() = default;
  // Fills values[0..channels) for output sample k (k-th sample since the ADC started).
  virtual void sample(uint64_t k, uint16_t* values) = 0;
  // Raw ADC noise (counts RMS) added to each conversion; 0 for exact replay.
  virtual double conversion_noise() const = 0;
};

// Resting noise plus activation-scaled Gaussian sEMG around mid-scale.
std::unique_ptr<EmgSource> make_synthetic_source(ActivationScript script, size_t channels,
                                                 uint32_t rate_hz, unsigned adc_bits,
                                                 uint64_t seed);
std::unique_ptr<EmgSource> make_replay_source(CsvRecording recording);

}  // namespace rhsim

#endif  // ROBOHEAD_SIM_EMG_SOURCE_H
